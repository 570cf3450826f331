//! `testbed sign`: make a PASSporT with an STI-SP key and print the Identity header, as an
//! STI-AS would put it in an INVITE. Deterministic: the same arguments give the same header.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey as _;
use sha2::{Digest as _, Sha256};
use stir::rcd::{self, Fetched};
use stir::{Attest, Dest, DigestAlg, IdentityHeader, Orig, Passport, Rcd};

/// Where the originating operator's STI-CR serves its certificate in the simulated world.
const DEFAULT_X5U: &str = "https://sti-cr.ims.mnc001.mcc001.3gppnetwork.org/certs/sti-sp-1001.pem";

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PptArg {
    Shaken,
    Rcd,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AttestArg {
    A,
    B,
    C,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Caller's telephone number (orig.tn).
    #[arg(long)]
    orig: String,
    /// Callee's telephone number (dest.tn).
    #[arg(long)]
    dest: String,
    #[arg(long, value_enum, default_value = "shaken")]
    ppt: PptArg,
    #[arg(long, value_enum, default_value = "a")]
    attest: AttestArg,
    /// iat: "now", seconds since the epoch, or RFC 3339.
    #[arg(long, default_value = "now")]
    iat: String,
    /// origid (UUID). Default: derived from orig, dest and iat, so output is reproducible.
    #[arg(long)]
    origid: Option<String>,
    /// Signing key (PKCS#8 PEM). Default: the originating operator's STI-SP key (SPC 1001).
    #[arg(long, value_name = "PEM")]
    key: Option<PathBuf>,
    /// Certificate URL put in x5u and the info parameter.
    #[arg(long, default_value = DEFAULT_X5U)]
    x5u: String,
    /// RCD display name (rcd.nam).
    #[arg(long)]
    nam: Option<String>,
    /// RCD jCard URL (rcd.jcl).
    #[arg(long)]
    jcl: Option<String>,
    /// RCD icon URL (rcd.icn).
    #[arg(long)]
    icn: Option<String>,
    /// Call reason (crn).
    #[arg(long)]
    crn: Option<String>,
    /// URI=FILE: the content behind an RCD URI, digested into rcdi.
    #[arg(long, value_name = "URI=FILE")]
    content: Vec<String>,
    /// Leave out rcdi.
    #[arg(long)]
    no_rcdi: bool,
}

/// A UUID-shaped id from a hash of the inputs (RFC 9562 layout, version 4 bits set).
fn derived_origid(orig: &str, dest: &str, iat: i64) -> String {
    let h = Sha256::digest(format!("{orig}|{dest}|{iat}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let iat = crate::parse_time(&args.iat)?;
    let key_pem = match &args.key {
        Some(path) => std::fs::read_to_string(path).with_context(|| path.display().to_string())?,
        None => String::from_utf8(kit::fixtures::read("pki/sti-sp-1001.key.pem")?)?,
    };
    let key =
        SigningKey::from_pkcs8_pem(&key_pem).map_err(|e| anyhow::anyhow!("signing key: {e}"))?;
    let (orig, dest) = (Orig::tn(&args.orig), Dest::tn(&args.dest));
    let passport = match args.ppt {
        PptArg::Shaken => {
            let attest = match args.attest {
                AttestArg::A => Attest::A,
                AttestArg::B => Attest::B,
                AttestArg::C => Attest::C,
            };
            let origid = args
                .origid
                .clone()
                .unwrap_or_else(|| derived_origid(&args.orig, &args.dest, iat));
            Passport::shaken(&args.x5u, attest, orig, dest, iat, &origid)
        }
        PptArg::Rcd => {
            let rcd = Rcd {
                nam: args.nam.clone(),
                jcl: args.jcl.clone(),
                icn: args.icn.clone(),
                ..Rcd::default()
            };
            let mut fetched = Fetched::new();
            for entry in &args.content {
                let (uri, file) = entry.split_once('=').context("--content wants URI=FILE")?;
                fetched.insert(
                    uri.to_owned(),
                    std::fs::read(file).with_context(|| file.to_owned())?,
                );
            }
            let rcdi = if args.no_rcdi {
                None
            } else {
                Some(rcd::compute_rcdi(&rcd, &fetched, DigestAlg::Sha256)?)
            };
            let mut p = Passport::rcd(&args.x5u, orig, dest, iat, rcd, rcdi);
            p.claims.crn = args.crn.clone();
            p
        }
    };
    let token = passport.sign(&key)?;
    let ppt = passport.header.ppt.clone().unwrap_or_default();
    println!(
        "{}",
        IdentityHeader::new(token, &args.x5u, &ppt).to_header()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origid_is_a_version_4_uuid_and_stable() {
        let id = derived_origid("+12025551000", "+12155551001", 1_772_442_000);
        assert_eq!(
            id,
            derived_origid("+12025551000", "+12155551001", 1_772_442_000)
        );
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }
}
