//! The pcap export read back with a pcap reader library and checked frame by frame against the
//! trace (addresses, ports, payload bytes, TCP sequence numbers, checksums, step comments), and
//! `testbed verify --pcap` / `--sip -` run as a user would, on an exported capture.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::pcapng::PcapNgReader;
use pcap_file::pcapng::blocks::Block;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use proto::trace::{Body, Message, Proto, Transport};
use testbed::render::pcap::pcap;
use testbed::run::{Run, execute};
use testbed::world::Description;
use testbed::{node, scenarios};

const JCARD: &str = "https://id.enterprise.example/jcards/q-branch.json";

fn run(name: &str) -> Run {
    let variants = scenarios::select(name);
    assert_eq!(variants.len(), 1, "{name}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = runtime.block_on(execute(&variants[0], 1));
    assert!(run.passed(), "{name} failed: {:?}", run.error);
    run
}

fn start_time() -> i64 {
    Description::load().unwrap().start_time().unwrap()
}

/// One enhanced packet block: time, IPv4 packet, comment.
struct Frame {
    time: Duration,
    data: Vec<u8>,
    comment: Option<String>,
}

fn frames(bytes: &[u8]) -> Vec<Frame> {
    let mut reader = PcapNgReader::new(bytes).unwrap();
    let mut out = Vec::new();
    while let Some(block) = reader.next_block() {
        if let Block::EnhancedPacket(epb) = block.unwrap() {
            let comment = epb.options.iter().find_map(|o| match o {
                EnhancedPacketOption::Comment(c) => Some(c.to_string()),
                _ => None,
            });
            out.push(Frame {
                time: epb.timestamp,
                data: epb.data.into_owned(),
                comment,
            });
        }
    }
    out
}

/// The messages a capture must hold, read from the trace independently of the exporter: each
/// send (or a receive whose send is not recorded), data channels left out, DNS where its
/// wire bytes are known.
fn expected(run: &Run) -> Vec<(usize, &Message)> {
    let sent: Vec<u64> = run
        .trace
        .iter()
        .filter_map(|r| match &r.body {
            Body::Sent { msg, .. } => Some(*msg),
            _ => None,
        })
        .collect();
    run.trace
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.body {
            Body::Sent { message, .. } => Some((i, message)),
            Body::Received { msg, message, .. } if !sent.contains(msg) => Some((i, message)),
            _ => None,
        })
        .filter(|(_, m)| m.proto != Proto::Dc && (m.proto != Proto::Dns || m.wire.is_some()))
        .collect()
}

fn addr(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)
}

#[test]
fn every_message_of_a_run_is_one_packet_with_its_wire_bytes() {
    let run = run("2:single");
    let start = start_time();
    let bytes = pcap(&run, start).unwrap();
    let frames = frames(&bytes);
    let want = expected(&run);
    assert!(want.iter().any(|(_, m)| m.proto == Proto::Dns));
    assert!(want.iter().any(|(_, m)| m.proto == Proto::Http));

    // Next sequence number per direction, learnt from the handshakes.
    let mut next: HashMap<(SocketAddr, SocketAddr), u32> = HashMap::new();
    let mut frame = frames.iter().peekable();
    let mut last_time = Duration::ZERO;
    let mut step_comments = HashMap::new();
    for (record, m) in &want {
        let mut payload = Vec::new();
        let mut comment = None;
        while payload.len() < m.bytes().len() || payload.is_empty() {
            let f = frame
                .next()
                .unwrap_or_else(|| panic!("no frame left for {}", m.summary));
            assert!(f.time >= last_time, "timestamps go back at {}", m.summary);
            last_time = f.time;
            let p = SlicedPacket::from_ip(&f.data).unwrap();
            let Some(NetSlice::Ipv4(ip)) = &p.net else {
                panic!("not IPv4")
            };
            let h = ip.header();
            assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
            let (src, dst) = (h.source(), h.destination());
            assert_eq!(src, [127, 0, 0, 1]);
            assert_eq!(dst, [127, 0, 0, 1]);
            match (&p.transport, m.transport) {
                (Some(TransportSlice::Udp(u)), Transport::Udp) => {
                    assert_eq!(addr(src, u.source_port()), m.src, "{}", m.summary);
                    assert_eq!(addr(dst, u.destination_port()), m.dst, "{}", m.summary);
                    assert_eq!(
                        u.to_header()
                            .calc_checksum_ipv4_raw(src, dst, u.payload())
                            .unwrap(),
                        u.checksum()
                    );
                    payload.extend_from_slice(u.payload());
                    comment = f.comment.clone();
                }
                (Some(TransportSlice::Tcp(t)), Transport::Tcp | Transport::Tls) => {
                    let (s, d) = (addr(src, t.source_port()), addr(dst, t.destination_port()));
                    assert_eq!(
                        t.calc_checksum_ipv4(src, dst).unwrap(),
                        t.checksum(),
                        "{}",
                        m.summary
                    );
                    if t.syn() {
                        assert!(t.payload().is_empty());
                        next.insert((s, d), t.sequence_number().wrapping_add(1));
                        continue;
                    }
                    if t.payload().is_empty() {
                        continue; // the handshake's last ACK
                    }
                    assert_eq!((s, d), (m.src, m.dst), "{}", m.summary);
                    let seq = next.get(&(s, d)).copied().expect("data before a handshake");
                    assert_eq!(t.sequence_number(), seq, "{}", m.summary);
                    let ack = next.get(&(d, s)).copied().expect("no SYN-ACK");
                    assert!(t.ack() && t.acknowledgment_number() == ack, "{}", m.summary);
                    next.insert((s, d), seq.wrapping_add(t.payload().len() as u32));
                    payload.extend_from_slice(t.payload());
                    comment = f.comment.clone();
                }
                (other, _) => panic!("{}: carried as {other:?}", m.summary),
            }
            if m.bytes().is_empty() {
                break;
            }
        }
        assert_eq!(payload, m.bytes(), "payload of {}", m.summary);
        step_comments.insert(*record, comment);
    }
    assert!(frame.next().is_none(), "frames beyond the trace's messages");

    let first = frames.first().unwrap().time;
    let start = Duration::from_secs(start as u64);
    assert!(first >= start && first < start + Duration::from_secs(60));

    // The INVITE of step 1 (UE-A → P-CSCF) says so; a message of no step has no TR comment.
    let step1 = run.steps.iter().find(|s| s.step == "1").unwrap().records()[0];
    let comment = step_comments[&step1].clone().unwrap();
    assert!(
        comment.starts_with("TR 33.790 Figure 6.2.2.3-1 step 1 ·") && comment.contains("ue-a"),
        "{comment}"
    );
    let stepped: Vec<usize> = run.steps.iter().flat_map(|s| s.records()).collect();
    let dns = want.iter().find(|(_, m)| m.proto == Proto::Dns).unwrap().0;
    assert!(!stepped.contains(&dns));
    assert!(!step_comments[&dns].clone().unwrap().contains("TR 33.790"));
}

fn testbed() -> Command {
    Command::new(env!("CARGO_BIN_EXE_testbed"))
}

fn pki(file: &str) -> std::path::PathBuf {
    kit::fixtures::dir().join("pki").join(file)
}

#[test]
fn the_cli_verifies_every_invite_of_an_exported_capture() {
    let run = run("2:single");
    let dir = std::env::temp_dir().join(format!("testbed-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("single.pcapng");
    std::fs::write(&file, pcap(&run, start_time()).unwrap()).unwrap();
    let jcard = kit::fixtures::dir().join("enterprise/jcards/q-branch.json");
    let verify = |content: bool| {
        let mut cmd = testbed();
        cmd.args(["verify", "--pcap"])
            .arg(&file)
            .arg("--cert")
            .arg(pki("sti-sp-1001.chain.pem"))
            .arg("--crl")
            .arg(pki("sti-ica.crl.pem"));
        if content {
            cmd.arg("--content")
                .arg(format!("{JCARD}={}", jcard.display()));
        }
        cmd.output().unwrap()
    };
    let out = verify(true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    // Every INVITE from the originating AS on carries both PASSporTs, each verified.
    let invites = stdout.matches("Request: PASS").count();
    assert!(invites >= 4, "{stdout}");
    assert_eq!(
        stdout.matches("Result: pass").count(),
        2 * invites,
        "{stdout}"
    );
    assert!(stdout.contains(&format!("{invites} INVITEs with Identity")));

    // Without the jCard, the rcdi digest of /jcl cannot be checked: a failure, saying why.
    let out = verify(false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("the content of {JCARD} was not obtained")),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sip_request_with_a_tampered_identity_fails_with_438() {
    let run = run("2:single");
    let invite = run
        .trace
        .iter()
        .find_map(|r| match &r.body {
            Body::Sent {
                to: Some(to),
                message,
                ..
            } if r.node == node::SCSCF_T
                && to == node::AS_T
                && message.summary.starts_with("INVITE") =>
            {
                Some(message.raw.clone())
            }
            _ => None,
        })
        .expect("the INVITE to the terminating AS");
    let jcard = kit::fixtures::dir().join("enterprise/jcards/q-branch.json");
    let verify = |sip: &str| {
        let mut child = testbed()
            .args([
                "verify",
                "--sip",
                "-",
                "--now",
                "2026-03-02T09:00:00Z",
                "--cert",
            ])
            .arg(pki("sti-sp-1001.chain.pem"))
            .arg("--crl")
            .arg(pki("sti-ica.crl.pem"))
            .arg("--content")
            .arg(format!("{JCARD}={}", jcard.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sip.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = verify(&invite);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("Request: PASS"), "{stdout}");

    // Change one character of the first Identity's signature.
    let at = invite.find("\r\nIdentity: ").unwrap();
    let sig = at + invite[at..].find(';').unwrap() - 2;
    let mut tampered = invite.clone().into_bytes();
    tampered[sig] = if tampered[sig] == b'A' { b'B' } else { b'A' };
    let out = verify(std::str::from_utf8(&tampered).unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Result: FAIL 438") && stdout.contains("Request: FAIL"),
        "{stdout}"
    );
}
