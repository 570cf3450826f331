//! `testbed bench ms`: load on the Ms reference point (TS 24.229 Annex V.2) over real HTTPS on
//! loopback. A solution-2 world is started; `concurrency` workers, each on its own kept-alive
//! TLS connection presenting the IMS AS's client certificate, send signing requests to the
//! STI-AS and verification requests to the STI-VS for `duration` each. The STI-VS does its whole
//! job every time: the PASSporT's checks, the certificate chain behind `x5u` (fetched once over
//! HTTPS, then from its HTTP cache, and its validation from the validated-chain cache while the
//! chain is valid), the CRL check the same way, and the signature.
//!
//! With `--peer secsipidx`, the same load generator, concurrency and duration then drive
//! secsipidx (Debian's `secsipidx`, the STIR/SHAKEN signer/verifier used with Kamailio) in its
//! HTTPS server mode, started with the same STI-SP key: `/v1/sign-csv` and `/v1/check`. It is
//! given the public key (`-fpubkey`), so it does no certificate work at all; its tokens' `iat`
//! is the real clock, which its `-expire 3600` accepts. The ratio is ours ÷ peer, from one run.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kit::http::{Client, Request, StaticResolver};
use serde::Serialize;

use super::progress::Progress;
use super::stats::Summary;
use crate::node::{AS_O, AS_T, STI_AS_O, STI_VS_T};
use crate::world::World;

/// The operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Signing only.
    Sign,
    /// Verification only.
    Verify,
    /// Both, one after the other.
    Both,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct MsArgs {
    /// Which operations.
    pub op: Op,
    /// Workers, each with its own connection.
    pub concurrency: usize,
    /// How long each operation is driven.
    pub duration: Duration,
    /// Also drive secsipidx.
    pub peer: bool,
    /// Seed of the world.
    pub seed: u64,
}

/// One operation against one server.
#[derive(Debug, Clone, Serialize)]
pub struct OpReport {
    /// `testbed` or `secsipidx`.
    pub server: &'static str,
    /// `sign` or `verify`.
    pub op: &'static str,
    /// The URL driven.
    pub url: String,
    /// Requests answered as expected.
    pub ok: u64,
    /// Requests that were not, by reason.
    pub errors: BTreeMap<String, u64>,
    /// Successful requests per second.
    pub requests_per_s: f64,
    /// Latency of successful requests.
    pub latency: Option<Summary>,
}

/// What `bench ms` reports.
#[derive(Debug, Clone, Serialize)]
pub struct MsReport {
    /// Workers (connections).
    pub concurrency: usize,
    /// Seconds per operation.
    pub duration_s: f64,
    /// Every operation run.
    pub runs: Vec<OpReport>,
    /// testbed ÷ secsipidx requests/s, per operation, when the peer ran.
    pub ratio: BTreeMap<&'static str, f64>,
    /// What the peer does and does not do, for the reader of the ratio.
    pub peer_note: Option<String>,
}

/// A target: a client, the URL and body to post, and how to tell a good answer.
struct Target {
    client: Client,
    url: String,
    content_type: &'static str,
    body: Bytes,
    expect: fn(&[u8]) -> Result<(), String>,
}

impl Target {
    /// The POST the target is driven with.
    fn request(&self) -> Request {
        Request {
            method: "POST".into(),
            target: self.url.clone(),
            headers: vec![("content-type".into(), self.content_type.into())],
            body: self.body.clone(),
        }
    }
}

fn expect_signed(body: &[u8]) -> Result<(), String> {
    let parsed: stir::ms::SigningResponseBody =
        serde_json::from_slice(body).map_err(|e| format!("signing response: {e}"))?;
    if parsed.signing_response.identity_header.contains(";info=") {
        Ok(())
    } else {
        Err("signing response without an Identity header".into())
    }
}

fn expect_passed(body: &[u8]) -> Result<(), String> {
    let parsed: stir::ms::VerificationResponseBody =
        serde_json::from_slice(body).map_err(|e| format!("verification response: {e}"))?;
    let verstat = parsed.verification_response.verstat_value;
    if verstat == "TN-Validation-Passed" {
        Ok(())
    } else {
        Err(format!("verstat {verstat}"))
    }
}

fn expect_identity(body: &[u8]) -> Result<(), String> {
    if body.starts_with(b"eyJ") && body.windows(6).any(|w| w == b";info=") {
        Ok(())
    } else {
        Err(format!(
            "not an Identity header: {}",
            String::from_utf8_lossy(body)
        ))
    }
}

fn expect_ok(body: &[u8]) -> Result<(), String> {
    if body.starts_with(b"OK") {
        Ok(())
    } else {
        Err(format!("answered {}", String::from_utf8_lossy(body).trim()))
    }
}

/// Drives `target` with `concurrency` workers for `duration`.
async fn drive(
    server: &'static str,
    op: &'static str,
    target: Arc<Target>,
    concurrency: usize,
    duration: Duration,
    json: bool,
) -> OpReport {
    let began = Instant::now();
    let deadline = began + duration;
    let mut workers = tokio::task::JoinSet::new();
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    for _ in 0..concurrency.max(1) {
        let (target, done) = (target.clone(), done.clone());
        workers.spawn(async move {
            let (mut times, mut errors) = (Vec::new(), BTreeMap::<String, u64>::new());
            while Instant::now() < deadline {
                let request = target.request();
                let sent = Instant::now();
                let outcome = match target.client.send(request).await {
                    Ok(r) if r.status == 200 => (target.expect)(&r.body),
                    Ok(r) => Err(format!(
                        "HTTP {}: {}",
                        r.status,
                        String::from_utf8_lossy(&r.body).trim()
                    )),
                    Err(e) => Err(e.to_string()),
                };
                match outcome {
                    Ok(()) => {
                        times.push(sent.elapsed());
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(reason) => *errors.entry(reason).or_default() += 1,
                }
            }
            (times, errors)
        });
    }
    let mut progress = Progress::new(format!("bench ms {server} {op}"), json);
    let (mut times, mut errors) = (Vec::new(), BTreeMap::<String, u64>::new());
    loop {
        tokio::select! {
            joined = workers.join_next() => match joined {
                Some(Ok((t, e))) => {
                    times.extend(t);
                    for (reason, n) in e {
                        *errors.entry(reason).or_default() += n;
                    }
                }
                Some(Err(e)) => *errors.entry(format!("worker: {e}")).or_default() += 1,
                None => break,
            },
            () = tokio::time::sleep(Duration::from_millis(100)) => {
                let n = done.load(std::sync::atomic::Ordering::Relaxed);
                let secs = began.elapsed().as_secs_f64();
                progress.update(|| format!("{secs:.1}/{:.0} s · {n} requests · {:.0}/s", duration.as_secs_f64(), n as f64 / secs.max(1e-3)));
            }
        }
    }
    progress.finish();
    let elapsed = began.elapsed().as_secs_f64();
    OpReport {
        server,
        op,
        url: target.url.clone(),
        ok: times.len() as u64,
        errors,
        requests_per_s: times.len() as f64 / elapsed.max(1e-9),
        latency: Summary::of(&times),
    }
}

/// A client for `host` at `addr` that trusts the world's TLS CA and presents `client`'s
/// fixture certificate (the IMS AS's) when given.
fn client(host: &str, addr: SocketAddr, client_host: Option<&str>) -> anyhow::Result<Client> {
    let pki = kit::fixtures::dir().join("pki");
    let roots = kit::tls::roots_from_pem(&std::fs::read(pki.join("tls-ca.pem"))?)?;
    let identity = match client_host {
        Some(h) => Some(kit::tls::Identity::from_pem(
            &std::fs::read(pki.join(format!("tls/{h}.chain.pem")))?,
            &std::fs::read(pki.join(format!("tls/{h}.key.pem")))?,
        )?),
        None => None,
    };
    let resolver = StaticResolver {
        entries: HashMap::from([(host.to_ascii_lowercase(), addr)]),
        fallback_to_system: false,
    };
    Ok(Client::new(
        kit::tls::client_config(roots, identity)?,
        Arc::new(resolver),
    )
    .with_timeout(Duration::from_secs(5)))
}

const ORIG_TN: &str = "12025551000";
const DEST_TN: &str = "12155551001";

/// Our STI-AS and STI-VS targets in `world`.
async fn ours(world: &World) -> anyhow::Result<(Target, Target)> {
    let d = &world.description;
    let now = d.start_time()?;
    let (as_host, vs_host) = (d.host(STI_AS_O)?, d.host(STI_VS_T)?);
    let sign_body = format!(
        r#"{{"signingRequest":{{"attest":"A","orig":{{"tn":"{ORIG_TN}"}},"dest":{{"tn":["{DEST_TN}"]}},"iat":{now}}}}}"#
    );
    let signer = Target {
        client: client(as_host, world.addr(STI_AS_O)?, Some(d.host(AS_O)?))?,
        url: format!("https://{as_host}{}", stir::ms::SIGNING_PATH),
        content_type: "application/json",
        body: Bytes::from(sign_body),
        expect: expect_signed,
    };
    // One signature to verify, from the STI-AS itself.
    let response = signer.client.send(signer.request()).await?;
    anyhow::ensure!(
        response.status == 200,
        "the STI-AS answered {}",
        response.status
    );
    let signed: stir::ms::SigningResponseBody = serde_json::from_slice(&response.body)?;
    let verify_body = serde_json::to_vec(&stir::ms::VerificationRequestBody {
        verification_request: stir::ms::VerificationRequest {
            identity_header: signed.signing_response.identity_header,
            identity_headers: Vec::new(),
            from: stir::ms::MsParty {
                tn: Some(ORIG_TN.into()),
                uri: None,
            },
            to: stir::ms::MsParty {
                tn: Some(DEST_TN.into()),
                uri: None,
            },
            time: now,
            request_id: None,
        },
    })?;
    let verifier = Target {
        client: client(vs_host, world.addr(STI_VS_T)?, Some(d.host(AS_T)?))?,
        url: format!("https://{vs_host}{}", stir::ms::VERIFICATION_PATH),
        content_type: "application/json",
        body: Bytes::from(verify_body),
        expect: expect_passed,
    };
    Ok((signer, verifier))
}

/// A running secsipidx, stopped on drop.
struct Peer {
    child: std::process::Child,
    _dir: TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The STI-SP key the world's STI-AS signs with, and its public key in PEM.
fn sti_sp_key() -> anyhow::Result<(PathBuf, String)> {
    use p256::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _, LineEnding};
    let path = kit::fixtures::dir().join("pki/sti-sp-1001.key.pem");
    let secret = p256::SecretKey::from_pkcs8_pem(&std::fs::read_to_string(&path)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let public = secret
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("public key: {e}"))?;
    Ok((path, public))
}

/// Starts secsipidx over HTTPS on a free loopback port, presenting the STI-AS's TLS certificate
/// (so the same client trusts it), and waits until it answers.
async fn start_peer(tls_host: &str) -> anyhow::Result<(Peer, SocketAddr)> {
    let dir = std::env::temp_dir().join(format!("testbed-secsipidx-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let dir = TempDir(dir);
    let (key, public) = sti_sp_key()?;
    let pub_path = dir.0.join("sti-sp-1001.pub.pem");
    std::fs::write(&pub_path, public)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let tls = kit::fixtures::dir().join("pki/tls");
    let arg = |p: &Path| p.display().to_string();
    let child = std::process::Command::new("secsipidx")
        .args(["-https-srv", &addr.to_string()])
        .args([
            "-https-pubkey",
            &arg(&tls.join(format!("{tls_host}.chain.pem"))),
        ])
        .args([
            "-https-prvkey",
            &arg(&tls.join(format!("{tls_host}.key.pem"))),
        ])
        .args(["-fprvkey", &arg(&key), "-fpubkey", &arg(&pub_path)])
        .args(["-expire", "3600"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            anyhow::anyhow!("cannot start secsipidx ({e}); on Debian: apt-get install secsipidx")
        })?;
    let peer = Peer { child, _dir: dir };
    let began = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        anyhow::ensure!(
            began.elapsed() < Duration::from_secs(5),
            "secsipidx did not listen on {addr} within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((peer, addr))
}

/// The peer's targets: the same client setup (TLS to the STI-AS's name, no client certificate:
/// secsipidx does not ask for one).
async fn peer_targets(host: &str, addr: SocketAddr) -> anyhow::Result<(Target, Target)> {
    let x5u = "https://sti-cr.ims.mnc001.mcc001.3gppnetwork.org/sti-sp-1001.pem";
    let csv = format!("{ORIG_TN},{DEST_TN},A,,{x5u}");
    let signer = Target {
        client: client(host, addr, None)?,
        url: format!("https://{host}:{}/v1/sign-csv", addr.port()),
        content_type: "text/plain",
        body: Bytes::from(csv),
        expect: expect_identity,
    };
    let response = signer.client.send(signer.request()).await?;
    anyhow::ensure!(
        response.status == 200,
        "secsipidx answered {}",
        response.status
    );
    let identity = String::from_utf8_lossy(&response.body).trim().to_owned();
    let verifier = Target {
        client: client(host, addr, None)?,
        url: format!("https://{host}:{}/v1/check", addr.port()),
        content_type: "text/plain",
        body: Bytes::from(identity),
        expect: expect_ok,
    };
    Ok((signer, verifier))
}

/// Runs the Ms load (and the peer's).
pub async fn run(args: &MsArgs, json: bool) -> anyhow::Result<MsReport> {
    let world = crate::run::bench::world(args.seed, None).await?;
    world.tap.set_mode(kit::tap::TraceMode::Counters);
    let result = drive_all(&world, args, json).await;
    world.shutdown().await;
    result
}

async fn drive_all(world: &World, args: &MsArgs, json: bool) -> anyhow::Result<MsReport> {
    let ops: &[&'static str] = match args.op {
        Op::Sign => &["sign"],
        Op::Verify => &["verify"],
        Op::Both => &["sign", "verify"],
    };
    let (signer, verifier) = ours(world).await?;
    let (signer, verifier) = (Arc::new(signer), Arc::new(verifier));
    let mut runs = Vec::new();
    for op in ops {
        let target = if *op == "sign" { &signer } else { &verifier };
        runs.push(
            drive(
                "testbed",
                op,
                target.clone(),
                args.concurrency,
                args.duration,
                json,
            )
            .await,
        );
    }
    let mut ratio = BTreeMap::new();
    let mut peer_note = None;
    if args.peer {
        let host = world.description.host(STI_AS_O)?.to_owned();
        let (_peer, addr) = start_peer(&host).await?;
        let (signer, verifier) = peer_targets(&host, addr).await?;
        let (signer, verifier) = (Arc::new(signer), Arc::new(verifier));
        for op in ops {
            let target = if *op == "sign" { &signer } else { &verifier };
            let report = drive(
                "secsipidx",
                op,
                target.clone(),
                args.concurrency,
                args.duration,
                json,
            )
            .await;
            if let Some(ours) = runs.iter().find(|r| r.server == "testbed" && r.op == *op)
                && report.requests_per_s > 0.0
            {
                ratio.insert(*op, ours.requests_per_s / report.requests_per_s);
            }
            runs.push(report);
        }
        peer_note = Some(
            "secsipidx runs in its HTTPS server mode with the same STI-SP key and is given the \
             public key (-fpubkey): it fetches no x5u, validates no chain and checks no CRL, and \
             asks no client certificate; it re-reads its key files on every request. The testbed's \
             STI-VS does all of the certificate work on every request, from caches (the HTTP \
             cache of the x5u and CRL fetches, and the validated-chain cache keyed by x5u and the \
             chain's validity), with mutual TLS and Ms JSON. Same load generator, concurrency and \
             duration, one after the other in one run."
                .into(),
        );
    }
    Ok(MsReport {
        concurrency: args.concurrency,
        duration_s: args.duration.as_secs_f64(),
        runs,
        ratio,
        peer_note,
    })
}

impl MsReport {
    /// The human form.
    pub fn text(&self) -> String {
        let mut out = format!(
            "Ms over HTTPS on loopback, {} connections, {:.0} s per operation:\n",
            self.concurrency, self.duration_s
        );
        for r in &self.runs {
            let latency = r.latency.as_ref().map_or("no answer".into(), |s| {
                format!("p50 {:.2} ms · p99 {:.2} ms", s.p50_ms, s.p99_ms)
            });
            let errors: u64 = r.errors.values().sum();
            out.push_str(&format!(
                "  {:<9} {:<6} {:>8.0} requests/s · {latency} · {} ok · {errors} errors\n",
                r.server, r.op, r.requests_per_s, r.ok
            ));
            for (reason, n) in &r.errors {
                out.push_str(&format!("      ×{n}: {reason}\n"));
            }
        }
        for (op, ratio) in &self.ratio {
            out.push_str(&format!("  ratio testbed ÷ secsipidx, {op}: {ratio:.2}×\n"));
        }
        if let Some(note) = &self.peer_note {
            out.push_str(&format!("  note: {note}\n"));
        }
        out
    }
}
