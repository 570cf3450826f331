//! Criterion micro-benchmarks of the protocol core's hot paths: parsing and serialising a
//! realistic INVITE (two Identity headers, `shaken` and `rcd`, and an SDP offer with a data
//! channel section and its dcmap lines), and the SDP offer/answer (parse the offer, answer each
//! data channel section, render, parse the answer). `cargo bench -p proto`; the numbers are in
//! BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::net::SocketAddr;

use criterion::{Criterion, criterion_group, criterion_main};
use proto::sdp::{Application, Candidate, DcMap, Media, Session, Setup};
use proto::sip::{Request, encode_request};

fn offer_sdp() -> String {
    let mut s = Session::with_audio("ue-a.ims.mnc001.mcc001.3gppnetwork.org", 4_242_424_242);
    s.media.push(Media::Application(Application {
        port: 40000,
        mid: "1".into(),
        ice_ufrag: "a1b2c3d4".into(),
        ice_pwd: "0123456789abcdef01234567".into(),
        candidates: vec![Candidate::host(SocketAddr::from(([127, 0, 0, 1], 40000)))],
        fingerprint: (
            "sha-256".into(),
            "3A:96:6D:57:B2:C2:C7:61:A0:46:3E:1C:97:39:D3:F7:0A:88:A0:B1:EC:03:FB:10:A5:5D:3A:37:AB:DD:02:AA".into(),
        ),
        setup: Setup::Actpass,
        sctp_port: 5000,
        max_message_size: 65536,
        dcmaps: vec![
            DcMap::reliable(0, "bootstrap", "http"),
            DcMap {
                max_retr: Some(3),
                ordered: false,
                priority: Some(256),
                ..DcMap::reliable(1000, "avatar", "")
            },
        ],
        dcsa: vec![(1000, "accept-types:application/json".into())],
    }));
    s.render()
}

const SHAKEN: &str = "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9zdGktY3IuaW1zLm1uYzAwMS5tY2MwMDEuM2dwcG5ldHdvcmsub3JnL2NlcnRzL3N0aS1zcC0xMDAxLnBlbSJ9.eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMjE1NTU1MTAwMSJdfSwiaWF0IjoxNzcyNDQyMDAwLCJvcmlnIjp7InRuIjoiMTIwMjU1NTEwMDAifSwib3JpZ2lkIjoiMGU5YzJiMWEtNWQzZi00YzFlLTlhN2ItMmY2ZDhlNGMxYTAwIn0.MEUCIQDd7cVZ3c0P2m8bqkq9aJ4pGqk7HcD1Xq2W3r4s5t6u7v8w9x0y1z2A3B4C5D6E7F8G9H0I1J2K3L4M5N6O";
const RCD: &str = "eyJhbGciOiJFUzI1NiIsInBwdCI6InJjZCIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9zdGktY3IuaW1zLm1uYzAwMS5tY2MwMDEuM2dwcG5ldHdvcmsub3JnL2NlcnRzL3N0aS1zcC0xMDAxLnBlbSJ9.eyJkZXN0Ijp7InRuIjpbIjEyMTU1NTUxMDAxIl19LCJpYXQiOjE3NzI0NDIwMDAsIm9yaWciOnsidG4iOiIxMjAyNTU1MTAwMCJ9LCJyY2QiOnsibmFtIjoiQWxpY2UgTGlkZGVsbCJ9LCJyY2RpIjp7Ii9uYW0iOiJzaGEyNTYtM2E0YjVjNmQ3ZThmOWEwYjFjMmQzZTRmNWE2YjdjOGQ5ZTBmMWEyYjNjNGQ1ZTZmN2E4YjljMGQxZTJmM2E0YiJ9fQ.Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFy";

fn invite() -> String {
    let sdp = offer_sdp();
    let info = "<https://sti-cr.ims.mnc001.mcc001.3gppnetwork.org/certs/sti-sp-1001.pem>";
    format!(
        "INVITE sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-as-o-7f3a9c;received=127.0.0.1\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-scscf-o-19be2d\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-pcscf-o-a4410c\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5080;rport=5080;branch=z9hG4bK-ue-a-0c1d2e\r\n\
         Max-Forwards: 66\r\n\
         Record-Route: <sip:as.ims.mnc001.mcc001.3gppnetwork.org;lr>\r\n\
         Record-Route: <sip:scscf.ims.mnc001.mcc001.3gppnetwork.org;lr>\r\n\
         Route: <sip:ibcf.ims.mnc001.mcc001.3gppnetwork.org;lr>\r\n\
         From: \"Alice Liddell\" <sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org;user=phone>;tag=ue-a-5e6f\r\n\
         To: <sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org;user=phone>\r\n\
         Call-ID: 7d1c0a5e2b9f4e3a@ue-a.ims.mnc001.mcc001.3gppnetwork.org\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:ue-a@127.0.0.1:5080>\r\n\
         P-Asserted-Identity: <sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org;user=phone>\r\n\
         P-Asserted-Identity: <tel:+12025551000>\r\n\
         Date: Mon, 02 Mar 2026 09:00:00 GMT\r\n\
         Identity: {SHAKEN};info={info};alg=ES256;ppt=\"shaken\"\r\n\
         Identity: {RCD};info={info};alg=ES256;ppt=\"rcd\"\r\n\
         Call-Info: <https://rcd.example/alice.jcard>;purpose=jcard;call-reason=\"Tea party\"\r\n\
         Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE\r\n\
         Supported: timer, 100rel\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// The answer a callee makes to `offer`: each data channel section accepted with its own ICE
/// credentials, DTLS role active, the offered channels kept; audio as offered.
fn answer(offer: &Session) -> Session {
    let mut answer = Session::with_audio("ue-b.ims.mnc002.mcc001.3gppnetwork.org", 17);
    for app in offer.applications() {
        answer.media.push(Media::Application(Application {
            port: 41000,
            ice_ufrag: "e5f6a7b8".into(),
            ice_pwd: "fedcba9876543210fedcba98".into(),
            candidates: vec![Candidate::host(SocketAddr::from(([127, 0, 0, 1], 41000)))],
            setup: Setup::Active,
            ..app.clone()
        }));
    }
    answer
}

fn sip_benches(c: &mut Criterion) {
    let text = invite();
    let request = Request::try_from(text.as_str()).expect("the INVITE parses");
    assert_eq!(
        request
            .headers
            .iter()
            .filter(|h| h.to_string().starts_with("Identity"))
            .count(),
        2
    );
    c.bench_function("INVITE parse (2 Identity, SDP with dcmap)", |b| {
        b.iter(|| black_box(Request::try_from(black_box(text.as_str())).is_ok()))
    });
    c.bench_function("INVITE serialise", |b| {
        b.iter(|| black_box(encode_request(black_box(&request)).len()))
    });
}

fn sdp_benches(c: &mut Criterion) {
    let offer_text = offer_sdp();
    c.bench_function("SDP parse (audio + data channel section)", |b| {
        b.iter(|| black_box(Session::parse(black_box(&offer_text)).is_ok()))
    });
    c.bench_function(
        "SDP offer/answer (parse offer, answer, render, parse answer)",
        |b| {
            b.iter(|| {
                let offer = Session::parse(black_box(&offer_text)).unwrap();
                let text = answer(&offer).render();
                black_box(Session::parse(&text).unwrap())
            })
        },
    );
}

criterion_group!(benches, sip_benches, sdp_benches);
criterion_main!(benches);
