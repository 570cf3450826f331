//! `pkigen`: generates the testbed's fixture PKI (STIR/SHAKEN, TLS and UE certificates with
//! their keys, the STI-ICA's CRL, plus `index.toml` and `README.md`) from `fixtures/world.toml`
//! into `fixtures/pki/`. Run it with `cargo run -p pkigen -- [--world PATH] [--out DIR]
//! [--new-keys]` (the `just fixtures` recipe); the defaults are this workspace's files, whatever
//! the current directory. A run keeps the keys already in the output directory, and every file
//! whose content is unchanged byte for byte; `--new-keys` makes every key anew.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: pkigen [--world PATH] [--out DIR] [--new-keys]
  --world PATH  world description (default: <workspace>/fixtures/world.toml)
  --out DIR     output directory (default: <workspace>/fixtures/pki)
  --new-keys    make every key anew instead of keeping those in the output directory";

fn main() -> Result<()> {
    let mut world_path = pkigen::default_world_path();
    let mut out_dir = pkigen::default_out_dir();
    let mut new_keys = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--world" => world_path = PathBuf::from(args.next().context("--world needs a path")?),
            "--out" => out_dir = PathBuf::from(args.next().context("--out needs a directory")?),
            "--new-keys" => new_keys = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unexpected argument {other:?}\n{USAGE}"),
        }
    }

    let world = pkigen::World::load(&world_path)?;
    let previous = if new_keys {
        pkigen::Previous::default()
    } else {
        pkigen::Previous::load(&out_dir)?
    };
    let fixture = pkigen::generate(&world, &previous)?;
    pkigen::write(&fixture, &out_dir)?;
    let out_dir = std::fs::canonicalize(&out_dir).unwrap_or(out_dir);
    println!(
        "pkigen: wrote {} files (+ index.toml, README.md) to {}, {}",
        fixture.files.len(),
        out_dir.display(),
        if previous.is_empty() {
            "every key new"
        } else {
            "keeping the keys and unchanged files already there"
        }
    );
    Ok(())
}
