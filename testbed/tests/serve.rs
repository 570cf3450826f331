//! `testbed serve` driven from outside, as a real SIP client would: the built binary is
//! started, its printed addresses parsed, and a SIP client written here over plain
//! `std::net` sockets (not the project's SIP stack) registers as UE-A (MD5 Digest: it sends no
//! Authorization first, like baresip), calls UE-B through both networks, ACKs and hangs up; a
//! second socket registers as UE-B (SHA-256 Digest, naming its IMPI first as IMS UEs do),
//! takes over UE-B's calls, and receives the world's UE-A's call (asked for with
//! `POST /serve/v1/calls`) with Identity and verstat. SIGINT then stops the world: exit 0,
//! every port free.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ORIG: &str = "ims.mnc001.mcc001.3gppnetwork.org";
const TERM: &str = "ims.mnc002.mcc001.3gppnetwork.org";
const UE_A: &str = "+12025551000";
const UE_B: &str = "+12155551001";

/// Bound on any one SIP read.
const READ: Duration = Duration::from_secs(5);

/// The served world: the child process, and what it printed.
struct Served {
    child: Child,
    lines: Vec<String>,
}

impl Served {
    fn start() -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_testbed"))
            .args(["serve", "--control", "127.0.0.1:0", "--seed", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no `ready` line within 60 s: {lines:#?}"));
            let ready = line.starts_with("ready:");
            lines.push(line);
            if ready {
                break;
            }
        }
        // Keep draining so the child never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        Served { child, lines }
    }

    /// The address on the line starting with `prefix` (the first `127.0.0.1:…` word).
    fn addr(&self, prefix: &str) -> SocketAddr {
        let line = self
            .lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?}"));
        line.split_whitespace()
            .map(|w| w.trim_start_matches("http://"))
            .find_map(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn md5(text: &str) -> String {
    use md5::Digest as _;
    hex(&md5::Md5::digest(text.as_bytes()))
}

fn sha256(text: &str) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(text.as_bytes()))
}

/// A SIP message as text: start line, headers (name lowercase, in order), body.
#[derive(Debug, Clone)]
struct Msg {
    start: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Msg {
    fn parse(text: &str) -> Msg {
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let mut lines = head.split("\r\n");
        let start = lines.next().unwrap_or_default().to_owned();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Msg {
            start,
            headers,
            body: body.to_owned(),
        }
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn get(&self, name: &str) -> &str {
        self.all(name).first().copied().unwrap_or_default()
    }

    fn status(&self) -> u16 {
        self.start
            .strip_prefix("SIP/2.0 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    fn cseq_method(&self) -> &str {
        self.get("cseq")
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
    }
}

/// An auth-param of a `Digest …` value.
fn param(value: &str, name: &str) -> String {
    let at = value
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("no {name} in {value}"));
    let rest = &value[at + name.len() + 1..];
    match rest.strip_prefix('"') {
        Some(q) => q.split('"').next().unwrap_or_default().to_owned(),
        None => rest.split([',', ' ']).next().unwrap_or_default().to_owned(),
    }
}

/// A client on one UDP socket (and a TCP listener on the same port for large requests).
struct Client {
    udp: UdpSocket,
    tcp: TcpListener,
    port: u16,
    pcscf: SocketAddr,
    tn: &'static str,
    domain: &'static str,
    tag: String,
}

impl Client {
    fn new(pcscf: SocketAddr, tn: &'static str, domain: &'static str) -> Client {
        for _ in 0..20 {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
                udp.set_read_timeout(Some(READ)).unwrap();
                return Client {
                    udp,
                    tcp,
                    port,
                    pcscf,
                    tn,
                    domain,
                    tag: format!("t{port}"),
                };
            }
        }
        panic!("no port free for both UDP and TCP");
    }

    fn impu(&self) -> String {
        format!("sip:{}@{}", self.tn, self.domain)
    }

    fn impi(&self) -> String {
        format!("{}@{}", self.tn, self.domain)
    }

    fn contact(&self) -> String {
        format!("<sip:{}@127.0.0.1:{}>", self.tn, self.port)
    }

    fn via(&self, branch: &str) -> String {
        format!(
            "SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bK{branch};rport",
            self.port
        )
    }

    fn send(&self, text: &str) {
        self.udp.send_to(text.as_bytes(), self.pcscf).unwrap();
    }

    /// The next SIP message on the UDP socket (bounded).
    fn recv(&self) -> Msg {
        let mut buf = vec![0u8; 65535];
        let (n, _) = self
            .udp
            .recv_from(&mut buf)
            .expect("no SIP message within the read bound");
        Msg::parse(&String::from_utf8_lossy(&buf[..n]))
    }

    /// The next final response to `method`, skipping provisional ones and retransmissions of
    /// other transactions; returns the provisional codes seen too.
    fn final_to(&self, method: &str) -> (Msg, Vec<u16>) {
        let mut provisional = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let m = self.recv();
            if m.cseq_method() != method || m.status() == 0 {
                continue;
            }
            if m.status() < 200 {
                provisional.push(m.status());
            } else {
                return (m, provisional);
            }
        }
        panic!("no final response to {method}");
    }

    /// Registers: a REGISTER, the 401's challenge, the answer; returns the challenge's
    /// algorithm and the final status. `named`: the first REGISTER names the IMPI.
    fn register(&self, named: bool) -> (String, u16) {
        let uri = format!("sip:{}", self.domain);
        let register = |cseq: u32, authorization: Option<String>| {
            let auth = authorization
                .map(|a| format!("Authorization: {a}\r\n"))
                .unwrap_or_default();
            format!(
                "REGISTER {uri} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: <{impu}>;tag={tag}\r\nTo: <{impu}>\r\nCall-ID: reg-{port}\r\nCSeq: {cseq} REGISTER\r\nContact: {contact}\r\nExpires: 600\r\n{auth}Content-Length: 0\r\n\r\n",
                self.via(&format!("r{cseq}{}", self.port)),
                impu = self.impu(),
                tag = self.tag,
                port = self.port,
                contact = self.contact(),
            )
        };
        let first = named.then(|| {
            format!(
                r#"Digest username="{}", realm="{}", uri="{uri}", nonce="", response="""#,
                self.impi(),
                self.domain
            )
        });
        self.send(&register(1, first));
        let (challenge, _) = self.final_to("REGISTER");
        assert_eq!(challenge.status(), 401, "{challenge:?}");
        let www = challenge.get("www-authenticate").to_owned();
        assert_eq!(challenge.all("www-authenticate").len(), 1, "{challenge:?}");
        let (realm, nonce, algorithm) = (
            param(&www, "realm"),
            param(&www, "nonce"),
            param(&www, "algorithm"),
        );
        assert_eq!(realm, self.domain);
        let h = |s: &str| match algorithm.as_str() {
            "MD5" => md5(s),
            _ => sha256(s),
        };
        let password = if self.tn == UE_A {
            "fixture-secret-ue-a"
        } else {
            "fixture-secret-ue-b"
        };
        let ha1 = h(&format!("{}:{realm}:{password}", self.impi()));
        let ha2 = h(&format!("REGISTER:{uri}"));
        let (nc, cnonce) = ("00000001", "0a4f113b");
        let response = h(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
        // Like baresip: no algorithm named for MD5 (RFC 2617's default).
        let named_algorithm = if algorithm == "MD5" {
            String::new()
        } else {
            format!(", algorithm={algorithm}")
        };
        let answer = format!(
            r#"Digest username="{}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{response}", cnonce="{cnonce}", qop=auth, nc={nc}{named_algorithm}"#,
            self.impi()
        );
        self.send(&register(2, Some(answer)));
        let (ok, _) = self.final_to("REGISTER");
        (algorithm, ok.status())
    }
}

/// A request in `dialog` (the 2xx `ok` to `invite`): Request-URI the remote target, Route the
/// Record-Route reversed (RFC 3261 §12.1.2).
fn in_dialog(client: &Client, ok: &Msg, method: &str, cseq: u32, branch: &str) -> String {
    let target = ok.get("contact").trim_start_matches('<');
    let target = target.split('>').next().unwrap_or_default();
    let mut routes: Vec<&str> = ok
        .all("record-route")
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    routes.reverse();
    let routes: String = routes.iter().map(|r| format!("Route: {r}\r\n")).collect();
    format!(
        "{method} {target} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\n{routes}From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
        client.via(branch),
        ok.get("from"),
        ok.get("to"),
        ok.get("call-id"),
    )
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// A plain HTTP/1.1 exchange with the control endpoint (bounded).
fn http(control: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&control, READ).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {control}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, body.to_owned())
}

/// Every trace record so far, through `/live/v1/trace`.
fn trace(control: SocketAddr) -> Vec<serde_json::Value> {
    let mut records = Vec::new();
    loop {
        let (status, body) = http(
            control,
            "GET",
            &format!("/live/v1/trace?from={}", records.len()),
            "",
        );
        assert_eq!(status, 200, "{body}");
        let page: serde_json::Value = serde_json::from_str(&body).unwrap();
        let batch = page["records"].as_array().cloned().unwrap_or_default();
        if batch.is_empty() {
            return records;
        }
        records.extend(batch);
    }
}

/// Whether `node` noted action `act` done.
fn noted(records: &[serde_json::Value], node: &str, act: &str) -> bool {
    records.iter().any(|r| {
        r["node"] == node
            && r["body"]["kind"] == "note"
            && r["body"]["note"]["act"] == act
            && r["body"]["note"]["outcome"]["outcome"] == "done"
    })
}

/// One SIP message from a TCP connection (framed by Content-Length).
fn read_tcp(stream: &mut TcpStream) -> Msg {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = Msg::parse(&String::from_utf8_lossy(&buf[..end]));
            let length: usize = head.get("content-length").parse().unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Msg::parse(&String::from_utf8_lossy(&buf[..end + 4 + length]));
            }
        }
        let n = stream.read(&mut chunk).expect("TCP read within the bound");
        assert!(n > 0, "connection closed mid-message");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The INVITE for `client`, over TCP (large: it carries Identity) or UDP; and the TCP stream it
/// came on, if any.
fn incoming_invite(client: &Client) -> (Msg, Option<TcpStream>) {
    client.tcp.set_nonblocking(true).unwrap();
    client
        .udp
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = vec![0u8; 65535];
    while Instant::now() < deadline {
        if let Ok((mut stream, _)) = client.tcp.accept() {
            stream.set_nonblocking(false).unwrap();
            stream.set_read_timeout(Some(READ)).unwrap();
            let m = read_tcp(&mut stream);
            if m.start.starts_with("INVITE ") {
                client.udp.set_read_timeout(Some(READ)).unwrap();
                return (m, Some(stream));
            }
        }
        if let Ok((n, _)) = client.udp.recv_from(&mut buf) {
            let m = Msg::parse(&String::from_utf8_lossy(&buf[..n]));
            if m.start.starts_with("INVITE ") {
                client.udp.set_read_timeout(Some(READ)).unwrap();
                return (m, None);
            }
        }
    }
    panic!("no INVITE for {} within 20 s", client.tn);
}

/// The 200 answering `invite` (UAS side), with our tag and an audio answer.
fn answer(client: &Client, invite: &Msg) -> String {
    let mut head = String::from("SIP/2.0 200 OK\r\n");
    for v in invite.all("via") {
        head.push_str(&format!("Via: {v}\r\n"));
    }
    for v in invite.all("record-route") {
        head.push_str(&format!("Record-Route: {v}\r\n"));
    }
    head.push_str(&format!(
        "From: {}\r\nTo: {};tag={}\r\nCall-ID: {}\r\nCSeq: {}\r\nContact: {}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        invite.get("from"),
        invite.get("to"),
        client.tag,
        invite.get("call-id"),
        invite.get("cseq"),
        client.contact(),
        SDP.len()
    ));
    head
}

fn port_free(addr: SocketAddr) -> bool {
    UdpSocket::bind(addr).is_ok() && TcpListener::bind(addr).is_ok()
}

#[test]
fn external_clients_register_call_and_are_called_then_ctrl_c_stops_the_world() {
    let mut served = Served::start();
    let text = served.lines.join("\n");
    assert!(text.contains("clock: system clock"), "{text}");
    for needed in [
        "password fixture-secret-ue-a",
        "sti-as-o https://",
        "--cert ",
        "/serve/v1/calls",
    ] {
        assert!(text.contains(needed), "{needed}: {text}");
    }
    let pcscf_o = served.addr("  pcscf-o ");
    let pcscf_t = served.addr("  pcscf-t ");
    let dns = served.addr("dns: ");
    let control = served.addr("control: ");

    // UE-A from outside: MD5 (no Authorization first), then a call to UE-B.
    let a = Client::new(pcscf_o, UE_A, ORIG);
    assert_eq!(a.register(false), ("MD5".to_owned(), 200));
    let invite = format!(
        "INVITE sip:{UE_B}@{TERM};user=phone SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: <{}>;tag={}\r\nTo: <sip:{UE_B}@{TERM};user=phone>\r\nCall-ID: call-{}\r\nCSeq: 1 INVITE\r\nContact: {}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
        a.via("inv1"),
        a.impu(),
        a.tag,
        a.port,
        a.contact(),
        SDP.len()
    );
    a.send(&invite);
    let (ok, provisional) = a.final_to("INVITE");
    assert_eq!(ok.status(), 200, "{ok:?}");
    assert!(provisional.contains(&180), "{provisional:?}");
    assert!(ok.get("to").contains(";tag="), "{ok:?}");
    let path = ok.all("record-route").join(",");
    for node in [
        format!("pcscf.{ORIG}"),
        format!("ibcf.{ORIG}"),
        format!("ibcf.{TERM}"),
        format!("pcscf.{TERM}"),
    ] {
        assert!(path.contains(&node), "{node} not on the path: {path}");
    }
    assert!(ok.body.contains("m=audio"), "{}", ok.body);
    a.send(&in_dialog(&a, &ok, "ACK", 1, "ack1"));
    a.send(&in_dialog(&a, &ok, "BYE", 2, "bye1"));
    let (bye, _) = a.final_to("BYE");
    assert_eq!(bye.status(), 200, "{bye:?}");
    let records = trace(control);
    assert!(
        noted(&records, "sti-as-o", "sign-passport") || noted(&records, "as-o", "sign-passport"),
        "no signing in the trace"
    );
    assert!(
        records
            .iter()
            .any(|r| r["body"]["kind"] == "note" && r["body"]["note"]["act"] == "verify-identity"),
        "no verification in the trace"
    );

    // UE-B from outside (SHA-256, named IMPI first) takes over UE-B's calls.
    let b = Client::new(pcscf_t, UE_B, TERM);
    assert_eq!(b.register(true), ("SHA-256".to_owned(), 200));
    let asked = std::thread::spawn(move || {
        http(
            control,
            "POST",
            "/serve/v1/calls",
            r#"{"from":"ue-a","to":"+12155551001","hold_seconds":1}"#,
        )
    });
    let (call, stream) = incoming_invite(&b);
    assert!(!call.all("identity").is_empty(), "no Identity: {call:?}");
    let verstat = format!("{} {}", call.get("p-asserted-identity"), call.get("from"));
    assert!(verstat.contains("verstat=TN-Validation-Passed"), "{call:?}");
    let ok = answer(&b, &call);
    match stream {
        Some(mut s) => s.write_all(ok.as_bytes()).unwrap(),
        None => b.send(&ok),
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let ack = loop {
        assert!(Instant::now() < deadline, "no ACK");
        let m = b.recv();
        if m.start.starts_with("ACK ") {
            break m;
        }
    };
    assert_eq!(ack.get("call-id"), call.get("call-id"));
    let (status, body) = asked.join().unwrap();
    assert_eq!(status, 200, "{body}");
    let outcome: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(outcome["status"], 200, "{body}");

    // Ctrl-C: exit 0 within the bound, every port free.
    let pid = served.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 15 s after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    drop((a, b));
    let mut taken = BTreeMap::new();
    for (name, addr) in [
        ("pcscf-o", pcscf_o),
        ("pcscf-t", pcscf_t),
        ("dns", dns),
        ("control", control),
    ] {
        if !port_free(addr) {
            taken.insert(name, addr);
        }
    }
    assert!(taken.is_empty(), "still bound after exit: {taken:?}");
}
