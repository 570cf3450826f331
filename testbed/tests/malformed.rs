//! Malformed SIP against every SIP-facing network function of the solution-2 chain — both
//! P-CSCFs, S-CSCFs, IMS ASs and IBCFs, and both UEs — over UDP and over TCP (issue 16 part 1).
//! Every case gets the RFC 3261 answer (400 with a reason phrase naming the fault, 416, 420,
//! 482, 483, 513) or, where no answer is possible, is dropped and counted in the endpoint's
//! [`kit::sip::Refusals`]; right after each case a call goes through the whole chain (UE-A →
//! … → UE-B, answered, hung up), which shows the network function kept serving.
//!
//! The cases are built here; the RFC 4475 torture messages that apply are in
//! `fixtures/sip/rfc4475/` (with their source) and run the same way.
//!
//! "Ordinary" means the answer a well-formed request gets from that network function (a UE
//! answers OPTIONS 200; the proxies refuse requests from outside their trust domain or
//! registered flows with 403): the fault is not one the RFC refuses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use kit::sip::{Endpoint, Refusals};
use testbed::world::World;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};

/// The SIP network functions and user agents of the chain, and whether each is a proxy.
const TARGETS: [(&str, Role); 10] = [
    ("pcscf-o", Role::Proxy),
    ("scscf-o", Role::Proxy),
    ("as-o", Role::Proxy),
    ("ibcf-o", Role::Proxy),
    ("ibcf-t", Role::Proxy),
    ("scscf-t", Role::Proxy),
    ("as-t", Role::Proxy),
    ("pcscf-t", Role::Proxy),
    ("ue-a", Role::Ua),
    ("ue-b", Role::Ua),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Proxy,
    Ua,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// What a case must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// This status, its reason phrase containing the text.
    Answer(u16, &'static str),
    /// No answer; the endpoint counts it as unanswerable.
    Dropped,
    /// The answer a well-formed request gets there.
    Ordinary,
    /// On a stream: [`Expect::Ordinary`], then bytes of a next message that never completes,
    /// dropped and counted when the connection ends.
    OrdinaryThenCut,
    /// Not run on this transport or role (the reason is in the case).
    Skip,
}

/// Where a case is sent and what it may use.
struct Target {
    id: &'static str,
    role: Role,
    addr: SocketAddr,
    host: String,
}

/// Bytes of one message; `n` makes its Call-ID and branch unique.
struct Msg<'a> {
    target: &'a Target,
    local: SocketAddr,
    n: u64,
    transport: Transport,
}

impl Msg<'_> {
    fn via(&self) -> String {
        let t = match self.transport {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        };
        format!(
            "Via: SIP/2.0/{t} {};branch={}\r\n",
            self.local,
            self.branch()
        )
    }

    fn call_id(&self) -> String {
        format!("malformed-{:06}@tester", self.n)
    }

    /// The top Via's branch: unique per sending, so it finds the answer (an answer to a request
    /// without Call-ID has none either).
    fn branch(&self) -> String {
        format!("z9hG4bKmal{:06}", self.n)
    }

    /// A request: `method` to `uri`, the mandatory headers but those in `omit`, `extra`
    /// headers, `body` with its Content-Length (unless `length` says otherwise).
    fn request(
        &self,
        method: &str,
        uri: &str,
        omit: &[&str],
        extra: &str,
        body: &str,
        length: Option<&str>,
    ) -> Vec<u8> {
        let mut text = format!("{method} {uri} SIP/2.0\r\n");
        let has = |h: &str| !omit.contains(&h);
        if has("Via") {
            text += &self.via();
        }
        if has("Max-Forwards") {
            text += "Max-Forwards: 70\r\n";
        }
        if has("From") {
            text += "From: <sip:tester@tester.test>;tag=t1\r\n";
        }
        if has("To") {
            text += &format!("To: <sip:probe@{}>\r\n", self.target.host);
        }
        if has("Call-ID") {
            text += &format!("Call-ID: {}\r\n", self.call_id());
        }
        if has("CSeq") {
            text += &format!("CSeq: 1 {method}\r\n");
        }
        text += extra;
        let length = length.map_or_else(|| body.len().to_string(), str::to_owned);
        text += &format!("Content-Length: {length}\r\n\r\n{body}");
        text.into_bytes()
    }

    fn options(&self, extra: &str) -> Vec<u8> {
        let uri = format!("sip:probe@{}", self.target.host);
        self.request("OPTIONS", &uri, &[], extra, "", None)
    }
}

/// One malformed-input case.
struct Case {
    name: &'static str,
    build: fn(&Msg<'_>) -> Vec<u8>,
    proxy: Expect,
    ua: Expect,
    /// Over TCP, when it differs (framing decides there).
    tcp: Option<Expect>,
}

fn uri(m: &Msg<'_>) -> String {
    format!("sip:probe@{}", m.target.host)
}

fn cases() -> Vec<Case> {
    use Expect::*;
    let both = |name, build, e| Case {
        name,
        build,
        proxy: e,
        ua: e,
        tcp: None,
    };
    vec![
        both("control: well-formed OPTIONS", |m| m.options(""), Ordinary),
        Case {
            name: "garbage bytes",
            build: |_| {
                (0u8..=255)
                    .cycle()
                    .take(700)
                    .map(|b| b.wrapping_mul(37) | 1)
                    .collect()
            },
            proxy: Dropped,
            ua: Dropped,
            tcp: Some(Dropped),
        },
        Case {
            name: "truncated in the headers",
            build: |m| {
                let full = m.options("");
                let cut = String::from_utf8(full).unwrap();
                let at = cut.find("Call-ID").unwrap();
                cut.as_bytes()[..at + 10].to_vec()
            },
            proxy: Answer(400, "Bad Request"),
            ua: Answer(400, "Bad Request"),
            // The stream ends inside a message: nothing to answer.
            tcp: Some(Dropped),
        },
        both(
            "Via missing",
            |m| m.request("OPTIONS", &uri(m), &["Via"], "", "", None),
            Dropped,
        ),
        both(
            "From missing",
            |m| m.request("OPTIONS", &uri(m), &["From"], "", "", None),
            Answer(400, "From"),
        ),
        both(
            "To missing",
            |m| m.request("OPTIONS", &uri(m), &["To"], "", "", None),
            Answer(400, "To"),
        ),
        both(
            "Call-ID missing",
            |m| m.request("OPTIONS", &uri(m), &["Call-ID"], "", "", None),
            Answer(400, "Call-ID"),
        ),
        both(
            "CSeq missing",
            |m| m.request("OPTIONS", &uri(m), &["CSeq"], "", "", None),
            Answer(400, "CSeq"),
        ),
        // §8.1.1.6 asks a UAC for it, but §16.3 step 3 passes a request without it.
        both(
            "Max-Forwards missing",
            |m| m.request("OPTIONS", &uri(m), &["Max-Forwards"], "", "", None),
            Ordinary,
        ),
        Case {
            name: "Content-Length larger than the body",
            build: |m| m.request("OPTIONS", &uri(m), &[], "", "abc", Some("40")),
            proxy: Answer(400, "Content-Length"),
            ua: Answer(400, "Content-Length"),
            // On a stream it frames the message: it never completes.
            tcp: Some(Dropped),
        },
        Case {
            name: "Content-Length smaller than the body",
            // §18.3: over UDP the bytes past the body are discarded.
            build: |m| {
                let extra = "Content-Type: text/plain\r\n";
                m.request("OPTIONS", &uri(m), &[], extra, "abcdef", Some("3"))
            },
            proxy: Ordinary,
            ua: Ordinary,
            // On a stream the rest starts the next message, which never completes: dropped
            // and counted when the connection ends.
            tcp: Some(OrdinaryThenCut),
        },
        both(
            "Content-Length negative",
            |m| m.request("OPTIONS", &uri(m), &[], "", "", Some("-5")),
            Answer(400, "Content-Length"),
        ),
        both(
            "header over 16 KiB",
            |m| {
                let big = format!("Subject: {}\r\n", "x".repeat(20_000));
                m.options(&big)
            },
            Answer(513, "Message Too Large"),
        ),
        Case {
            name: "body over 64 KiB",
            build: |m| {
                let extra = "Content-Type: text/plain\r\n";
                let mut head = m.request("OPTIONS", &uri(m), &[], extra, "", Some("100000"));
                head.extend(std::iter::repeat_n(b'y', 1_000));
                head
            },
            // A datagram cannot hold it: the case is a stream's.
            proxy: Skip,
            ua: Skip,
            tcp: Some(Answer(513, "Message Too Large")),
        },
        both(
            "Request-URI without a host",
            |m| m.request("OPTIONS", "sip:", &[], "", "", None),
            Answer(400, "Bad Request"),
        ),
        both(
            "unknown URI scheme",
            |m| m.request("OPTIONS", "mailto:probe@tester.test", &[], "", "", None),
            Answer(416, "Unsupported URI Scheme"),
        ),
        both(
            "bad %-escape in the Request-URI",
            |m| {
                let uri = format!("sip:pr%zzobe@{}", m.target.host);
                m.request("OPTIONS", &uri, &[], "", "", None)
            },
            Answer(400, "escape"),
        ),
        both(
            "bad %-escape at the end of the user",
            |m| {
                let uri = format!("sip:probe%4@{}", m.target.host);
                m.request("OPTIONS", &uri, &[], "", "", None)
            },
            Answer(400, "escape"),
        ),
        both(
            "two From headers",
            |m| m.options("From: <sip:other@tester.test>;tag=t2\r\n"),
            Answer(400, "more than one From"),
        ),
        both(
            "two Call-ID headers",
            |m| m.options("Call-ID: another@tester\r\n"),
            Answer(400, "more than one Call-ID"),
        ),
        both(
            "two CSeq headers",
            |m| m.options("CSeq: 2 OPTIONS\r\n"),
            Answer(400, "more than one CSeq"),
        ),
        both(
            "two Max-Forwards headers",
            |m| m.options("Max-Forwards: 69\r\n"),
            Answer(400, "more than one Max-Forwards"),
        ),
        both(
            "CSeq method not the request's",
            |m| {
                let text = String::from_utf8(m.options("")).unwrap();
                text.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE")
                    .into_bytes()
            },
            Answer(400, "CSeq method"),
        ),
        both(
            "Max-Forwards not a number",
            |m| {
                let text = String::from_utf8(m.options("")).unwrap();
                text.replace("Max-Forwards: 70", "Max-Forwards: lots")
                    .into_bytes()
            },
            Answer(400, "Max-Forwards"),
        ),
        Case {
            name: "Max-Forwards 0",
            build: |m| {
                let text = String::from_utf8(m.options("")).unwrap();
                text.replace("Max-Forwards: 70", "Max-Forwards: 0")
                    .into_bytes()
            },
            proxy: Answer(483, "Too Many Hops"),
            // §16.3 is a proxy's check: the UAS answers the request.
            ua: Ordinary,
            tcp: None,
        },
        Case {
            name: "Proxy-Require an unknown extension",
            build: |m| m.options("Proxy-Require: frobnicate\r\n"),
            proxy: Answer(420, "frobnicate"),
            ua: Ordinary,
            tcp: None,
        },
        Case {
            name: "Require an unknown extension",
            build: |m| m.options("Require: frobnicate\r\n"),
            // A proxy does not look at Require (§16.3); a UAS does (§8.2.2.3).
            proxy: Ordinary,
            ua: Answer(420, "frobnicate"),
            tcp: None,
        },
        both(
            "SIP/3.0",
            |m| {
                let text = String::from_utf8(m.options("")).unwrap();
                text.replacen("SIP/2.0\r\n", "SIP/3.0\r\n", 1).into_bytes()
            },
            Answer(505, "Version"),
        ),
        // An extension method: the SIP stack knows the RFC methods only (a stated limit).
        both(
            "unknown method",
            |m| m.request("FROBNICATE", &uri(m), &[], "", "", None),
            Answer(501, "Not Implemented"),
        ),
        Case {
            name: "a method the UE does not take",
            build: |m| m.request("SUBSCRIBE", &uri(m), &[], "Event: presence\r\n", "", None),
            proxy: Ordinary,
            ua: Answer(405, "Method Not Allowed"),
            tcp: None,
        },
    ]
}

/// Reads SIP responses from a datagram socket or a stream until a final one with `call_id`,
/// within `bound`.
enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream, Vec<u8>),
}

impl Conn {
    async fn open(transport: Transport, to: SocketAddr) -> Conn {
        match transport {
            Transport::Udp => {
                let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                s.connect(to).await.unwrap();
                Conn::Udp(s)
            }
            Transport::Tcp => Conn::Tcp(TcpStream::connect(to).await.unwrap(), Vec::new()),
        }
    }

    fn local(&self) -> SocketAddr {
        match self {
            Conn::Udp(s) => s.local_addr().unwrap(),
            Conn::Tcp(s, _) => s.local_addr().unwrap(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        match self {
            Conn::Udp(s) => {
                s.send(bytes).await.unwrap();
            }
            Conn::Tcp(s, _) => s.write_all(bytes).await.unwrap(),
        }
    }

    /// Ends the sending side of a stream (the peer reads end of stream).
    async fn finish(&mut self) {
        if let Conn::Tcp(s, _) = self {
            let _ = s.shutdown().await;
        }
    }

    /// The next response that holds `marker` (its branch) at or past `min` (100 skips
    /// provisional ones), or `None` when the bound passes or the stream ends first.
    async fn response(&mut self, marker: &str, min: u16, bound: Duration) -> Option<(u16, String)> {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let bytes = match self {
                Conn::Udp(s) => {
                    let mut buf = vec![0u8; 65_536];
                    let n = tokio::time::timeout_at(deadline, s.recv(&mut buf))
                        .await
                        .ok()?
                        .ok()?;
                    buf.truncate(n);
                    buf
                }
                Conn::Tcp(s, pending) => loop {
                    if let proto::sip::wire::Frame::Message(m) =
                        proto::sip::wire::take_frame(pending)
                    {
                        break m;
                    }
                    let mut chunk = vec![0u8; 16 * 1024];
                    let n = tokio::time::timeout_at(deadline, s.read(&mut chunk))
                        .await
                        .ok()?
                        .ok()?;
                    if n == 0 {
                        return None;
                    }
                    pending.extend_from_slice(&chunk[..n]);
                },
            };
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let mut parts = text.splitn(3, ' ');
            let (Some("SIP/2.0"), Some(code)) = (parts.next(), parts.next()) else {
                continue;
            };
            let code: u16 = code.parse().ok()?;
            let phrase = parts.next().unwrap_or_default();
            let phrase = phrase.lines().next().unwrap_or_default().to_owned();
            if code >= min && text.contains(marker) {
                return Some((code, phrase));
            }
        }
    }
}

/// One call through the chain: answered, then hung up with 200.
async fn call_goes_through(world: &World) {
    let a = world.ue("ue-a").unwrap();
    let call = tokio::time::timeout(
        Duration::from_secs(15),
        a.call(testbed::run::bench::CALLEE, None),
    )
    .await
    .expect("the call is bounded")
    .expect("INVITE sent");
    assert_eq!(call.code, 200, "the call after a malformed case");
    let bye = tokio::time::timeout(Duration::from_secs(15), a.hang_up(&call))
        .await
        .expect("BYE is bounded")
        .expect("BYE sent");
    assert_eq!(bye, 200);
}

fn endpoint<'w>(world: &'w World, id: &str) -> &'w Endpoint {
    world
        .sip_endpoint(id)
        .unwrap_or_else(|| panic!("no SIP endpoint {id}"))
}

/// Whether `code` is the answer a legal request gets: at a UE the same as the plain OPTIONS
/// (`ordinary`); at a proxy any final answer but a refusal of the message itself (a request
/// for the proxy's own host is forwarded to itself and ends in 482 or 483 — the proxy
/// re-encodes an escaped Request-URI, so each pass differs and only Max-Forwards ends it —
/// or is refused by its policy with 403, or cannot be routed: 503).
fn ordinary_answer(role: Role, code: u16, ordinary: u16) -> bool {
    match role {
        Role::Ua => code == ordinary,
        Role::Proxy => !matches!(code, 400 | 416 | 420 | 505 | 513),
    }
}

/// Whether the endpoint took the message as well-formed: nothing counted as malformed or
/// unanswerable (a proxy forwarding a request for its own host to itself counts a loop).
fn well_formed(before: Refusals, after: Refusals) -> bool {
    after.malformed == before.malformed && after.unanswerable == before.unanswerable
}

/// Waits until the endpoint's counted refusals change from `before` (bounded), and returns them.
async fn counted(ep: &Endpoint, before: Refusals) -> Refusals {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let now = ep.refusals();
        if now != before || tokio::time::Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The benchmark world (solution 2's chain, callees answering at once), both UEs registered.
async fn start_world() -> World {
    testbed::run::bench::world_with(16, None, None)
        .await
        .unwrap()
}

async fn targets(world: &World) -> Vec<Target> {
    TARGETS
        .iter()
        .map(|&(id, role)| {
            let ep = endpoint(world, id);
            Target {
                id,
                role,
                addr: ep.local_addr(),
                host: ep.host().to_owned(),
            }
        })
        .collect()
}

/// Sends `bytes` to `target` and returns what came back: `Some` final answer, or `None`.
/// With `dropped` expected, waits for the endpoint to count it (bounded) and then only briefly
/// for an answer that should not come.
async fn exchange(
    transport: Transport,
    target: &Target,
    n: u64,
    build: fn(&Msg<'_>) -> Vec<u8>,
    dropped: Option<(&Endpoint, Refusals)>,
) -> (Option<(u16, String)>, Conn) {
    let mut conn = Conn::open(transport, target.addr).await;
    let msg = Msg {
        target,
        local: conn.local(),
        n,
        transport,
    };
    let bytes = build(&msg);
    conn.send(&bytes).await;
    let bound = match dropped {
        Some((ep, before)) => {
            // On a stream, end the sending side so a message cut short is seen as such (a
            // half-closed connection is closed by the endpoint: no answer could come back).
            conn.finish().await;
            counted(ep, before).await;
            Duration::from_millis(200)
        }
        None => Duration::from_secs(3),
    };
    let got = conn.response(&msg.branch(), 200, bound).await;
    (got, conn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sip_network_function_answers_malformed_requests_as_rfc_3261_says() {
    let world = start_world().await;
    let targets = targets(&world).await;
    let cases = cases();
    let mut n = 0u64;
    let mut failures = Vec::new();
    let mut ran = 0;
    for transport in [Transport::Udp, Transport::Tcp] {
        for target in &targets {
            n += 1;
            let ordinary = exchange(transport, target, n, |m| m.options(""), None)
                .await
                .0
                .unwrap_or_else(|| panic!("{} {transport:?}: no answer to OPTIONS", target.id))
                .0;
            for case in &cases {
                let expect = match (transport, case.tcp) {
                    (Transport::Tcp, Some(e)) => e,
                    _ => match target.role {
                        Role::Proxy => case.proxy,
                        Role::Ua => case.ua,
                    },
                };
                if expect == Expect::Skip {
                    continue;
                }
                n += 1;
                ran += 1;
                let ep = endpoint(&world, target.id);
                let before = ep.refusals();
                let watch = (expect == Expect::Dropped).then_some((ep, before));
                let (got, mut conn) = exchange(transport, target, n, case.build, watch).await;
                if expect == Expect::OrdinaryThenCut {
                    conn.finish().await;
                    counted(ep, ep.refusals()).await;
                }
                let what = format!("{} over {transport:?} to {}", case.name, target.id);
                // The endpoint counts before it answers: read at once.
                let after = ep.refusals();
                match (expect, &got) {
                    (Expect::Answer(code, phrase), Some((c, p)))
                        if *c == code && p.contains(phrase) =>
                    {
                        // 405, 420, 483 and 501 come from the network function's own rules
                        // (or the salvage of an unknown method), not the endpoint's checks.
                        let endpoint_check = !matches!(code, 405 | 420 | 483);
                        if endpoint_check && after.malformed <= before.malformed {
                            failures.push(format!("{what}: answered {c} but not counted"));
                        }
                    }
                    (Expect::Dropped, None) => {
                        if after.unanswerable <= before.unanswerable {
                            failures.push(format!("{what}: dropped but not counted"));
                        }
                    }
                    (Expect::Ordinary, Some((c, _)))
                        if ordinary_answer(target.role, *c, ordinary)
                            && well_formed(before, after) => {}
                    (Expect::OrdinaryThenCut, Some((c, _)))
                        if ordinary_answer(target.role, *c, ordinary)
                            && after.malformed == before.malformed
                            && after.unanswerable == before.unanswerable + 1 => {}
                    _ => failures.push(format!("{what}: expected {expect:?}, got {got:?}")),
                }
                call_goes_through(&world).await;
            }
        }
    }
    world.shutdown().await;
    assert!(
        failures.is_empty(),
        "{} of {ran} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// One message of `fixtures/sip/rfc4475.toml`.
#[derive(Debug, serde::Deserialize)]
struct Torture {
    name: String,
    section: String,
    proxy: String,
    ua: String,
    phrase: Option<String>,
    message: String,
}

#[derive(Debug, serde::Deserialize)]
struct TortureFile {
    case: Vec<Torture>,
}

fn torture_messages() -> Vec<Torture> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/sip/rfc4475.toml");
    let text = std::fs::read_to_string(path).unwrap();
    toml::from_str::<TortureFile>(&text).unwrap().case
}

/// The torture message with the tester's Via, the target's host and a unique Call-ID, lines
/// ending in CRLF.
fn torture_bytes(t: &Torture, target: &Target, local: SocketAddr, n: u64) -> Vec<u8> {
    t.message
        .replace("{uri-host}", &target.host)
        .replace(
            "{via}",
            &format!("Via: SIP/2.0/UDP {local};branch=z9hG4bKrfc{n:06}"),
        )
        .replace(
            "{via-2543}",
            &format!("Via: SIP/2.0/UDP {local};branch=rfc2543-{n:06}"),
        )
        .replace("{call-id}", &format!("rfc4475-{n:06}@tester"))
        .replace('\n', "\r\n")
        .into_bytes()
}

/// The RFC 4475 messages that apply, over UDP (they are datagram tests: `clerr` relies on a
/// datagram's end) to every target, a call through the chain after each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_4475_torture_messages_get_the_answers_the_rfc_gives() {
    let world = start_world().await;
    let targets = targets(&world).await;
    let messages = torture_messages();
    assert!(messages.len() >= 25, "the fixture lists {}", messages.len());
    let mut n = 10_000u64;
    let mut failures = Vec::new();
    let mut ran = 0;
    for target in &targets {
        n += 1;
        let ordinary = exchange(Transport::Udp, target, n, |m| m.options(""), None)
            .await
            .0
            .unwrap()
            .0;
        for t in &messages {
            n += 1;
            ran += 1;
            let ep = endpoint(&world, target.id);
            let before = ep.refusals();
            let mut conn = Conn::open(Transport::Udp, target.addr).await;
            conn.send(&torture_bytes(t, target, conn.local(), n)).await;
            let marker = format!("{n:06}");
            let expect = match target.role {
                Role::Proxy => &t.proxy,
                Role::Ua => &t.ua,
            };
            let bound = if expect == "dropped" {
                counted(ep, before).await;
                Duration::from_millis(200)
            } else {
                Duration::from_secs(3)
            };
            let got = conn.response(&marker, 200, bound).await;
            let what = format!("{} (RFC 4475 §{}) to {}", t.name, t.section, target.id);
            let ok = match (expect.as_str(), &got) {
                ("ordinary", Some((c, _))) => {
                    ordinary_answer(target.role, *c, ordinary) && well_formed(before, ep.refusals())
                }
                ("dropped", None) => counted(ep, before).await.unanswerable > before.unanswerable,
                (code, Some((c, p))) => {
                    code.parse::<u16>().ok() == Some(*c)
                        && t.phrase.as_deref().is_none_or(|f| p.contains(f))
                }
                _ => false,
            };
            if !ok {
                failures.push(format!("{what}: expected {expect}, got {got:?}"));
            }
            call_goes_through(&world).await;
        }
    }
    world.shutdown().await;
    assert!(
        failures.is_empty(),
        "{} of {ran} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A request that passed through a network function and comes back to it unchanged while the
/// first is still in progress (same Request-URI, tags, Call-ID, CSeq, no Route changed: a
/// loop, not a spiral) is answered `482 Loop Detected` (§16.3 step 4; §8.2.2.2 for a UAS).
/// The first is an INVITE at the proxies (its transaction waits for the ACK of its final
/// answer) and an OPTIONS at the UEs over UDP (its transaction lingers for Timer J). Over TCP
/// a UE's OPTIONS transaction ends with its answer (Timer J is 0 on a reliable transport):
/// nothing is left to detect the loop against, so that pair is not run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_comes_back_unchanged_is_answered_482() {
    let world = start_world().await;
    let targets = targets(&world).await;
    let mut failures = Vec::new();
    let mut n = 20_000u64;
    for transport in [Transport::Udp, Transport::Tcp] {
        for target in &targets {
            if target.role == Role::Ua && transport == Transport::Tcp {
                continue;
            }
            n += 1;
            let method = match target.role {
                Role::Proxy => "INVITE",
                Role::Ua => "OPTIONS",
            };
            let mut conn = Conn::open(transport, target.addr).await;
            let msg = Msg {
                target,
                local: conn.local(),
                n,
                transport,
            };
            let uri = uri(&msg);
            let first = msg.request(method, &uri, &[], "", "", None);
            conn.send(&first).await;
            // Any answer shows the first is in progress (or, for OPTIONS, answered).
            let answered = conn
                .response(&msg.call_id(), 100, Duration::from_secs(5))
                .await;
            assert!(answered.is_some(), "{}: no answer to the first", target.id);
            // The same request, back after passing through the target: its Via below ours.
            let text = String::from_utf8(first).unwrap();
            let back = text.replacen(
                &msg.via(),
                &format!(
                    "{}Via: SIP/2.0/UDP {};branch=z9hG4bKfirst{n}\r\n",
                    msg.via()
                        .replace(&msg.branch(), &format!("z9hG4bKback{n:06}")),
                    target.host
                ),
                1,
            );
            let ep = endpoint(&world, target.id);
            let before = ep.refusals();
            conn.send(back.as_bytes()).await;
            // The answer to the one that came back (its own branch: the first one's final
            // answer may come too, and may itself be a 482 when the target forwarded the first
            // to itself).
            let got = conn
                .response(&format!("back{n:06}"), 400, Duration::from_secs(5))
                .await;
            let what = format!("{method} loop over {transport:?} at {}", target.id);
            match &got {
                Some((482, p)) if p.contains("Loop Detected") => {
                    if ep.refusals().looped <= before.looped {
                        failures.push(format!("{what}: 482 not counted"));
                    }
                }
                other => failures.push(format!("{what}: expected 482, got {other:?}")),
            }
            call_goes_through(&world).await;
        }
    }
    world.shutdown().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
