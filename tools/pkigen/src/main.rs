//! `pkigen`: generates the testbed's fixture PKI (STIR/SHAKEN, TLS and UE certificates with
//! their keys, plus `index.toml` and `README.md`) from `fixtures/world.toml` into
//! `fixtures/pki/`. Run it with `cargo run -p pkigen -- [--world PATH] [--out DIR]` (the
//! `just fixtures` recipe); the defaults are this workspace's files, whatever the current
//! directory. Every run makes new keys.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: pkigen [--world PATH] [--out DIR]
  --world PATH  world description (default: <workspace>/fixtures/world.toml)
  --out DIR     output directory (default: <workspace>/fixtures/pki)";

fn main() -> Result<()> {
    let mut world_path = pkigen::default_world_path();
    let mut out_dir = pkigen::default_out_dir();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--world" => world_path = PathBuf::from(args.next().context("--world needs a path")?),
            "--out" => out_dir = PathBuf::from(args.next().context("--out needs a directory")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unexpected argument {other:?}\n{USAGE}"),
        }
    }

    let world = pkigen::World::load(&world_path)?;
    let fixture = pkigen::generate(&world)?;
    pkigen::write(&fixture, &out_dir)?;
    let out_dir = std::fs::canonicalize(&out_dir).unwrap_or(out_dir);
    println!(
        "pkigen: wrote {} files (+ index.toml, README.md) to {}",
        fixture.files.len(),
        out_dir.display()
    );
    Ok(())
}
