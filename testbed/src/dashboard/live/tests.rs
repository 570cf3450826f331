//! The attached dashboard's state: dialogs from SIP sends, messages from outside the world,
//! a call's records, and the keys.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use kit::tap::Tap;
use proto::trace::{Act, Message, Note, Transport};

use super::*;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn sip(src: u16, dst: u16, first_line: &str, call_id: &str, cseq: &str) -> Message {
    let raw = format!(
        "{first_line}\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:+1202@a>;tag=1\r\n\
         To: <sip:+1215@b>\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n"
    );
    Message::sip(Transport::Udp, addr(src), addr(dst), first_line.into(), raw)
}

/// A call from outside the world (port 9000, not registered) through the P-CSCF (5060) to
/// UE-B (5070), an HTTP exchange of the P-CSCF in the middle, a second call after it.
fn trace() -> Tap {
    let tap = Tap::new();
    tap.register(Transport::Udp, addr(5060), "pcscf");
    tap.register(Transport::Udp, addr(5070), "ue-b");
    tap.register(Transport::Tcp, addr(8443), "hss");
    let hop = |src, dst, from: &str, to: &str, m: Message| {
        let m = Message {
            src: addr(src),
            dst: addr(dst),
            ..m
        };
        if from != OUTSIDE {
            tap.sent(from, m.clone());
        }
        tap.received(to, m);
    };
    let invite = sip(0, 0, "INVITE sip:+1215@b SIP/2.0", "c1", "1 INVITE");
    hop(9000, 5060, OUTSIDE, "pcscf", invite.clone());
    let get = Message::http(
        Transport::Tcp,
        addr(40000),
        addr(8443),
        "GET /sh".into(),
        "GET /sh HTTP/1.1\r\n\r\n".into(),
        &[b"GET /sh"],
    );
    hop(40000, 8443, "pcscf", "hss", get);
    let msg = tap.sent(
        "pcscf",
        Message {
            src: addr(5060),
            dst: addr(5070),
            ..invite.clone()
        },
    );
    tap.received(
        "ue-b",
        Message {
            src: addr(5060),
            dst: addr(5070),
            ..invite
        },
    );
    tap.note(
        "ue-b",
        Some(msg),
        Note::done(Act::Route, "about the INVITE"),
    );
    for status in ["180 Ringing", "200 OK"] {
        let r = sip(0, 0, &format!("SIP/2.0 {status}"), "c1", "1 INVITE");
        hop(5070, 5060, "ue-b", "pcscf", r.clone());
        hop(5060, 9000, "pcscf", OUTSIDE, r);
    }
    let bye = sip(0, 0, "BYE sip:+1215@b SIP/2.0", "c1", "2 BYE");
    hop(9000, 5060, OUTSIDE, "pcscf", bye.clone());
    hop(5060, 5070, "pcscf", "ue-b", bye);
    let ok = sip(0, 0, "SIP/2.0 200 OK", "c1", "2 BYE");
    hop(5070, 5060, "ue-b", "pcscf", ok.clone());
    tap.note("pcscf", None, Note::done(Act::Route, "after the call"));
    let second = sip(0, 0, "INVITE sip:+1215@b SIP/2.0", "c2", "1 INVITE");
    hop(5060, 5070, "pcscf", "ue-b", second);
    tap
}

#[test]
fn messages_from_outside_get_a_send_and_unknown_peers_a_name() {
    let tap = trace();
    let records = complete(&tap.records());
    let first = &records[0];
    let Body::Sent { to, message, .. } = &first.body else {
        panic!("a send first: {first:?}");
    };
    assert_eq!(first.node, OUTSIDE);
    assert_eq!(to.as_deref(), Some("pcscf"));
    assert!(message.summary.starts_with("INVITE"));
    // The 200 relayed to the outside caller is sent to "outside", not "?".
    assert!(records.iter().any(|r| matches!(&r.body,
        Body::Sent { to: Some(t), message, .. } if t == OUTSIDE && message.summary == "SIP/2.0 200 OK")));
    // Two outside requests (INVITE, BYE) gained a send each.
    assert_eq!(records.len(), tap.len() + 2);
}

#[test]
fn dialogs_by_call_id_with_caller_callee_and_final_status() {
    let records = complete(&trace().records());
    let calls = calls(&records);
    assert_eq!(calls.len(), 2, "{calls:?}");
    let c1 = &calls[0];
    assert_eq!(
        (
            c1.call_id.as_str(),
            c1.method.as_str(),
            c1.caller.as_str(),
            c1.callee.as_str()
        ),
        ("c1", "INVITE", "+1202", "+1215")
    );
    // The 200 to the BYE does not count as the call's status; the 200 to the INVITE does.
    assert_eq!(c1.status, Some(200));
    assert!(c1.ended);
    assert_eq!(c1.line(), "+1202→+1215 200 ended");
    assert_eq!(calls[1].status, None);
    assert_eq!(calls[1].line(), "+1202→+1215 …");
}

#[test]
fn a_call_keeps_its_messages_what_happened_between_and_notes_about_them() {
    let records = complete(&trace().records());
    let calls = calls(&records);
    let c1 = of_call(&records, &calls[0]);
    let summaries: Vec<String> = c1
        .iter()
        .filter_map(|r| r.message().map(|m| m.summary.clone()))
        .collect();
    assert!(summaries.iter().any(|s| s == "GET /sh"), "{summaries:?}");
    assert!(!summaries.iter().any(|s| s.contains("c2")));
    assert_eq!(
        summaries.iter().filter(|s| s.starts_with("INVITE")).count(),
        4,
        "outside→pcscf and pcscf→ue-b, each sent and received"
    );
    // The note about the INVITE is kept; the note after the call is not.
    let notes: Vec<&Record> = c1
        .iter()
        .filter(|r| matches!(r.body, Body::Note { .. }))
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].node, "ue-b");
    let c2 = of_call(&records, &calls[1]);
    assert_eq!(c2.len(), 2);
}

fn live() -> Live {
    let tap = trace();
    let mut live = Live::new("127.0.0.1:1", Theme::Default);
    live.update([
        Update::World(crate::live::World {
            solution: 2,
            title: "t".into(),
            ports: tap.ports(),
        }),
        Update::Records(tap.records()),
    ]);
    live
}

#[test]
fn following_keeps_the_newest_row_selected() {
    let mut live = live();
    let rows = live.app.visible().len();
    assert!(rows > 5);
    assert_eq!(live.app.selected, rows - 1);
    // Moving up stops following; new rows then leave the selection where it was.
    live.key(Input::Up);
    assert!(!live.follow);
    let at = live.app.selected;
    let m = sip(5060, 5070, "OPTIONS sip:b SIP/2.0", "c3", "1 OPTIONS");
    let tap = Tap::new();
    tap.sent("pcscf", m);
    let mut late = tap.records();
    late[0].lamport = 10_000;
    live.update([Update::Records(late.clone())]);
    assert_eq!(live.app.selected, at);
    // `f` follows again: the newest row.
    live.key(Input::Char('f'));
    assert!(live.follow);
    assert_eq!(live.app.selected, live.app.visible().len() - 1);
    let newest = live.app.selected_entry().unwrap();
    assert!(
        live.app.view().unwrap().entries[newest]
            .summary
            .starts_with("OPTIONS")
    );
}

#[test]
fn arrows_pick_a_call_and_all_comes_back_with_a() {
    let mut live = live();
    let all = live.app.view().unwrap().entries.len();
    live.key(Input::Right);
    assert_eq!(live.selected_call().unwrap().call_id, "c1");
    let c1 = live.app.view().unwrap().entries.len();
    assert!(c1 < all);
    live.key(Input::Right);
    assert_eq!(live.selected_call().unwrap().call_id, "c2");
    live.key(Input::Right);
    assert!(live.selected_call().is_none(), "wraps to all");
    live.key(Input::Left);
    assert_eq!(live.selected_call().unwrap().call_id, "c2");
    live.key(Input::Char('a'));
    assert!(live.selected_call().is_none());
    assert_eq!(live.app.view().unwrap().entries.len(), all);
}

#[test]
fn tab_skips_the_step_tab_and_q_quits() {
    let mut live = live();
    let mut seen = Vec::new();
    for _ in 0..4 {
        live.key(Input::Tab);
        seen.push(live.app.tab);
    }
    assert!(!seen.contains(&Tab::Step), "{seen:?}");
    assert!(seen.contains(&Tab::Checks));
    // Run and export keys of the offline dashboard do nothing here.
    live.key(Input::Char('r'));
    assert!(live.app.running.is_none());
    live.key(Input::Char('?'));
    assert!(live.help);
    live.key(Input::Char('x'));
    assert!(!live.help && !live.quit());
    live.key(Input::Char('q'));
    assert!(live.quit());
}

#[test]
fn a_lost_connection_is_kept_until_an_answer_and_a_reset_starts_over() {
    let mut live = live();
    live.update([Update::Lost {
        reason: "refused".into(),
        retries: 3,
    }]);
    assert_eq!(
        live.link,
        Link::Lost {
            reason: "refused".into(),
            retries: 3
        }
    );
    assert!(!live.records().is_empty(), "what was read stays");
    live.update([Update::Records(Vec::new())]);
    assert_eq!(live.link, Link::Up);
    live.key(Input::Right);
    live.update([Update::Reset("restarted".into())]);
    assert!(live.records().is_empty() && live.calls.is_empty());
    assert!(live.selected_call().is_none());
    assert!(live.app.status.contains("restarted"));
}
