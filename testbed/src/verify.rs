//! `testbed verify`: decode an Identity header, show its PASSporT, verify it, and say what a
//! verification service would answer. It enforces the STI-VS's certificate rules: chain to the
//! trust anchors, validity, keyUsage digitalSignature, a TNAuthList covering `orig`, and the
//! issuer's CRL (`--crl FILE`, else fetched from the certificate's distribution point), and
//! the STI-VS's request rules: an exact repeat of an Identity value counts once, a second
//! `shaken` PASSporT fails the caller (438), and `--x5u-host` limits where x5u is fetched from.
//!
//! Three inputs: an Identity header value (the facts from `--from`, `--to`, `--date`); a whole
//! SIP request (`--sip`), whose Identity headers and facts are read as the terminating IMS AS
//! reads them; or a capture (`--pcap`, pcap or pcapng), where every INVITE carrying Identity is
//! verified, at its packet's time unless `--now` says otherwise. For a SIP request the RCD
//! content (`jcl`, `icn`, the Call-Info `rcd-jcard` URL) is fetched over HTTPS unless
//! `--content` gives it, and an RCD whose content cannot be checked fails the request.

mod capture;
mod message;

use std::collections::HashMap;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kit::http::{Client, StaticResolver};
use kit::x5u::X5uFetcher;
use kit::{fixtures, tls};
use stir::rcd::Fetched;
use stir::verify::{self, Context, StaticFetcher};
use stir::{
    CertFetcher, FetchError, IdentityHeader, Party, Policy, Revocation, SipFacts, TrustAnchors, ms,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Identity header value (a leading "Identity:" is ignored); several may be separated
    /// by commas. "-" reads it from standard input.
    #[arg(required_unless_present_any = ["sip", "pcap"], conflicts_with_all = ["sip", "pcap"])]
    identity: Option<String>,
    /// A whole SIP request (file, or "-" for standard input): its Identity headers, the caller
    /// (P-Asserted-Identity, else From), the callee (Request-URI, else To), Date and Call-Info.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["pcap", "from", "to", "date"])]
    sip: Option<String>,
    /// A capture (pcap or pcapng): verifies every INVITE in it that carries Identity, SIP over
    /// UDP and over TCP (reassembled); `--now` defaults to each packet's time.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "to", "date"])]
    pcap: Option<PathBuf>,
    /// Read the certificate chain (PEM, end-entity first) from this file instead of fetching x5u.
    #[arg(long, value_name = "PEM")]
    cert: Option<PathBuf>,
    /// Read the issuer's CRL (DER or PEM) from this file instead of fetching it from the
    /// certificate's CRL distribution point.
    #[arg(long, value_name = "CRL")]
    crl: Option<PathBuf>,
    /// Trust anchor certificates (PEM); repeatable. Default: the fixture STI-CA.
    #[arg(long = "trust-anchor", value_name = "PEM")]
    trust_anchors: Vec<PathBuf>,
    /// CA certificates (PEM) trusted for the HTTPS fetch of x5u. Default: the fixture TLS CA.
    #[arg(long, value_name = "PEM")]
    tls_ca: Option<PathBuf>,
    /// Fetch x5u chains only from this host (an STI-CR the verifier knows); repeatable. An x5u
    /// elsewhere is answered 436 without being resolved or fetched. Default: any host.
    #[arg(long = "x5u-host", value_name = "HOST")]
    x5u_hosts: Vec<String>,
    /// Connect to ADDR:PORT for HOST when fetching x5u (like curl's --resolve); repeatable.
    #[arg(long, value_name = "HOST=ADDR:PORT")]
    resolve: Vec<String>,
    /// Verification time: "now", seconds since the epoch, or RFC 3339 (2026-03-02T09:00:00Z).
    /// Default: now (for --pcap, the time of the packet carrying the INVITE).
    #[arg(long)]
    now: Option<String>,
    /// Largest accepted distance of iat from now and from --date, in seconds.
    #[arg(long, default_value_t = 60)]
    freshness: i64,
    /// The caller as SIP carries it (P-Asserted-Identity or From): a tel:/sip: URI or a number.
    #[arg(long)]
    from: Option<String>,
    /// The callee as SIP carries it (To or Request-URI).
    #[arg(long)]
    to: Option<String>,
    /// The SIP Date header (same forms as --now).
    #[arg(long)]
    date: Option<String>,
    /// URI=FILE: the content behind an RCD URI (jCard, icon), for the rcdi digest check.
    #[arg(long, value_name = "URI=FILE")]
    content: Vec<String>,
    /// Bound on the x5u and CRL fetches, milliseconds.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
    /// Print the Ms verificationResponse and the checks as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Files where given (`--cert`, `--crl`), HTTPS for the rest.
#[derive(Debug)]
struct Fetcher {
    files: StaticFetcher,
    https: X5uFetcher,
    /// `--x5u-host`, also for a chain read from a file.
    hosts: Option<Vec<String>>,
}

impl CertFetcher for Fetcher {
    async fn fetch(&self, x5u: &str) -> Result<Vec<u8>, FetchError> {
        if x5u.starts_with("https://") {
            kit::x5u::allowed(x5u, self.hosts.as_deref())?;
        }
        match &self.files.fallback {
            Some(_) => self.files.fetch(x5u).await,
            None => self.https.fetch(x5u).await,
        }
    }

    async fn fetch_crl(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        match &self.files.crl_fallback {
            Some(_) => self.files.fetch_crl(url).await,
            None => self.https.fetch_crl(url).await,
        }
    }
}

fn party(text: &str) -> Party {
    if text.contains(':') {
        Party::from_uri(text)
    } else {
        Party::Tn(text.to_owned())
    }
}

/// The Identity header value: the argument, or standard input for `-`; a leading
/// `Identity:` is dropped.
fn identity_value(args: &Args) -> anyhow::Result<String> {
    let identity = args.identity.clone().unwrap_or_default();
    let mut value = if identity == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        identity
    };
    if let Some((name, rest)) = value.split_once(':')
        && name.trim().eq_ignore_ascii_case("identity")
    {
        value = rest.to_owned();
    }
    Ok(value)
}

/// The trust anchors: `--trust-anchor` files, else the fixture STI-CA.
fn anchors(args: &Args) -> anyhow::Result<TrustAnchors> {
    let mut anchors = TrustAnchors::default();
    if args.trust_anchors.is_empty() {
        anchors =
            TrustAnchors::from_pem(&fixtures::read(fixtures::STI_CA)?).context("fixture STI-CA")?;
    }
    for path in &args.trust_anchors {
        let pem = std::fs::read(path).with_context(|| path.display().to_string())?;
        anchors.extend(TrustAnchors::from_pem(&pem).with_context(|| path.display().to_string())?);
    }
    Ok(anchors)
}

/// Content behind RCD URIs given as `--content URI=FILE`.
fn content(args: &Args) -> anyhow::Result<Fetched> {
    let mut fetched = Fetched::new();
    for entry in &args.content {
        let (uri, file) = entry.split_once('=').context("--content wants URI=FILE")?;
        fetched.insert(
            uri.to_owned(),
            std::fs::read(file).with_context(|| file.to_owned())?,
        );
    }
    Ok(fetched)
}

/// Where certificates and CRLs come from: `--cert` and `--crl`, else HTTPS (x5u and the
/// distribution point; `--resolve` overrides).
fn fetcher(args: &Args) -> anyhow::Result<Fetcher> {
    let read = |path: &PathBuf| std::fs::read(path).with_context(|| path.display().to_string());
    let files = StaticFetcher {
        fallback: args.cert.as_ref().map(read).transpose()?,
        crl_fallback: args.crl.as_ref().map(read).transpose()?,
        ..StaticFetcher::default()
    };
    Ok(Fetcher {
        files,
        https: https_fetcher(args)?,
        hosts: (!args.x5u_hosts.is_empty()).then(|| args.x5u_hosts.clone()),
    })
}

/// x5u and CRLs over HTTPS, trusting `--tls-ca` (else the fixture TLS CA).
fn https_fetcher(args: &Args) -> anyhow::Result<X5uFetcher> {
    let fetcher = X5uFetcher::new(https_client(args)?, true);
    Ok(if args.x5u_hosts.is_empty() {
        fetcher
    } else {
        fetcher.with_allowed_hosts(args.x5u_hosts.clone())
    })
}

/// An HTTPS client trusting `--tls-ca` (else the fixture TLS CA), `--resolve` applied,
/// bounded by `--timeout-ms`.
fn https_client(args: &Args) -> anyhow::Result<Client> {
    let ca = match &args.tls_ca {
        Some(path) => std::fs::read(path).with_context(|| path.display().to_string())?,
        None => fixtures::read(fixtures::TLS_CA)?,
    };
    let mut entries = HashMap::new();
    for entry in &args.resolve {
        let (host, addr) = entry
            .split_once('=')
            .context("--resolve wants HOST=ADDR:PORT")?;
        entries.insert(
            host.to_ascii_lowercase(),
            addr.parse()
                .with_context(|| format!("{addr:?} is not ADDR:PORT"))?,
        );
    }
    let resolver = StaticResolver {
        entries,
        fallback_to_system: true,
    };
    let client = Client::new(
        tls::client_config(tls::roots_from_pem(&ca)?, None)?,
        Arc::new(resolver),
    )
    .with_timeout(Duration::from_millis(args.timeout_ms));
    Ok(client)
}

/// An Identity value that does not even parse: the answer a verification service gives.
fn unparsable(args: &Args, error: stir::Error) -> anyhow::Result<ExitCode> {
    let answer = error.sip_answer();
    if args.json {
        let response = ms::VerificationResponse::new(Vec::new(), Some(&Err(error.clone())));
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "verificationResponse": response, "sip": answer, "reason": error.to_string() })
            )?
        );
    } else {
        println!(
            "Result: FAIL {answer}\n  {error}\n  verstat {}",
            error.verstat()
        );
    }
    Ok(ExitCode::FAILURE)
}

/// `testbed verify`: decode, verify each PASSporT, print, answer.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.sip.is_some() || args.pcap.is_some() {
        return message::run(&args);
    }
    let value = identity_value(&args)?;
    let now = crate::parse_time(args.now.as_deref().unwrap_or("now"))?;
    let facts = SipFacts {
        orig: args.from.as_deref().map(party),
        dest: args.to.as_deref().map(party),
        date: args.date.as_deref().map(crate::parse_time).transpose()?,
    };
    let (anchors, fetched, fetcher) = (anchors(&args)?, content(&args)?, fetcher(&args)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let tools = Tools {
        anchors,
        fetcher,
        runtime,
    };
    let passed = verify_values(&args, &tools, &[value], &facts, now, &fetched)?.passed;
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What verifying needs besides the token and the facts, made once per command.
struct Tools {
    anchors: TrustAnchors,
    fetcher: Fetcher,
    runtime: tokio::runtime::Runtime,
}

/// What became of a set of Identity values.
struct Verdict {
    /// Every PASSporT verified.
    passed: bool,
    /// The RCD outcome of each verified token that carried RCD.
    rcd: Vec<verify::RcdOutcome>,
}

/// Verifies the Identity header `values` against `facts` at `now`, prints each PASSporT, its
/// checks and the verification service's answer (text or `--json`).
fn verify_values(
    args: &Args,
    tools: &Tools,
    values: &[String],
    facts: &SipFacts,
    now: i64,
    fetched: &Fetched,
) -> anyhow::Result<Verdict> {
    let policy = Policy {
        freshness: args.freshness,
        revocation: Revocation::Crl,
    };
    let ctx = Context {
        facts,
        now,
        fetcher: &tools.fetcher,
        anchors: &tools.anchors,
        policy: &policy,
        fetched,
    };
    let identities = match IdentityHeader::from_headers(values.iter().map(String::as_str)) {
        // An exact repeat of a header is the same PASSporT, verified once.
        Ok(ids) => ids
            .iter()
            .enumerate()
            .filter(|(i, id)| !ids[..*i].contains(id))
            .map(|(_, id)| id.clone())
            .collect::<Vec<_>>(),
        Err(error) => {
            unparsable(args, error)?;
            return Ok(Verdict {
                passed: false,
                rcd: Vec::new(),
            });
        }
    };
    let runtime = &tools.runtime;
    let mut rcd = Vec::new();
    let mut all_passed = true;
    let mut results = Vec::new();
    let mut shaken_outcome = None;
    let mut json_checks = Vec::new();
    for (i, identity) in identities.iter().enumerate() {
        let ppt = identity.ppt.clone().unwrap_or_else(|| "shaken".into());
        // A second `shaken` PASSporT is refused unverified and fails the caller's number.
        let repeated = shaken_outcome
            .is_some()
            .then(|| verify::repeated(&ppt))
            .flatten();
        let duplicate = repeated.is_some();
        let report = match repeated {
            Some(report) => report,
            None => runtime.block_on(verify::verify_report(identity, &ctx)),
        };
        all_passed &= report.outcome.is_ok();
        if let Ok(v) = &report.outcome
            && let Some(outcome) = &v.rcd
        {
            rcd.push(outcome.clone());
        }
        if !args.json {
            print_text(i + 1, identities.len(), identity, &report);
        }
        json_checks.push(serde_json::json!({ "ppt": ppt, "checks": report.checks }));
        results.push(ms::VerifyResult::from_outcome(
            &ppt,
            &identity.jws,
            &report.outcome,
        ));
        if ppt == "shaken" && (shaken_outcome.is_none() || duplicate) {
            shaken_outcome = Some(report.outcome);
        }
    }
    let response = ms::VerificationResponse::new(results, shaken_outcome.as_ref());
    if args.json {
        let body = ms::VerificationResponseBody {
            verification_response: response,
        };
        let mut out = serde_json::to_value(&body)?;
        out["checks"] = serde_json::Value::Array(json_checks);
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if identities.len() > 1 {
        println!("verstat for the caller: {}", response.verstat_value);
    }
    Ok(Verdict {
        passed: all_passed,
        rcd,
    })
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn print_text(n: usize, of: usize, identity: &IdentityHeader, report: &verify::Report) {
    println!("── Identity {n} of {of} ──────────────────────────────────────────────");
    println!("  ppt   {}", identity.ppt.as_deref().unwrap_or("(absent)"));
    println!("  alg   {}", identity.alg.as_deref().unwrap_or("(absent)"));
    println!("  info  <{}>", identity.info);
    match stir::passport::decode(&identity.jws) {
        Ok(decoded) => {
            println!("JOSE header\n{}", pretty(&decoded.header_json));
            println!("Claims\n{}", pretty(&decoded.claims_json));
        }
        Err(_) => println!("(the token does not decode; see the checks)"),
    }
    println!("Checks");
    for check in &report.checks {
        println!(
            "  {} {:<44} {}",
            if check.passed { "✔" } else { "✘" },
            check.name,
            check.detail
        );
    }
    match &report.outcome {
        Ok(v) => {
            let entries: Vec<String> = v
                .cert
                .tn_auth_list
                .iter()
                .map(ToString::to_string)
                .collect();
            print!("Result: pass — verstat {}", stir::Verstat::Passed);
            if let Some(attest) = v.attest {
                print!(", attestation {attest}");
            }
            println!(", signed by {} ({})", v.cert.subject, entries.join(", "));
            if let Some(rcd) = &v.rcd {
                let shown = if rcd.intact() {
                    "RCD may be shown"
                } else {
                    "RCD must not be shown: a digest did not match"
                };
                println!("        {shown}");
            }
        }
        Err(error) => {
            println!(
                "Result: FAIL {}\n  {error}\n  verstat {}",
                error.sip_answer(),
                error.verstat()
            );
        }
    }
}
