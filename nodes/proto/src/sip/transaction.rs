//! RFC 3261 §17 transactions without I/O, with the `Accepted` states of RFC 6026 §7.
//!
//! A transaction is a state machine: [`Client::handle`] and [`Server::handle`] take the time
//! and what happened (a response arrived, the TU answered, time passed) and return what to do
//! (send, deliver to the TU, start a CANCEL, forget the transaction); [`Client::next_wake`] and
//! [`Server::next_wake`] say when the machine next needs the time. Nothing here sleeps, reads a
//! clock or opens a socket: `kit::sip` runs one short loop per transaction that feeds the
//! machine and carries out its outputs, and the tests below drive the timers as tables of
//! explicit instants. This module also holds how requests and responses find their transaction
//! (§17.1.3, §17.2.3) and the ACK a client sends for a 3xx–6xx (§17.1.1.3).
//!
//! Timers (RFC 3261 table 4; RFC 6026 adds L and M):
//!
//! | timer | machine | what | value |
//! |---|---|---|---|
//! | A | client INVITE, UDP | retransmit the INVITE | T1, doubling |
//! | B | client INVITE | no response: local 408 | 64×T1 |
//! | C | client INVITE | only provisionals: CANCEL and 408 (§16.6 step 11) | [`Timers::timer_c`](super::Timers) |
//! | D | client INVITE | absorb retransmitted 3xx–6xx | 64×T1 UDP (≥ 32 s in the RFC), 0 TCP |
//! | E | client non-INVITE, UDP | retransmit the request | T1, doubling to T2 (T2 once proceeding) |
//! | F | client non-INVITE | no final response: local 408 | 64×T1 |
//! | G | server INVITE, UDP | retransmit the 3xx–6xx | T1, doubling to T2 |
//! | H | server INVITE | no ACK for the 3xx–6xx | 64×T1 |
//! | I | server INVITE | absorb retransmitted ACKs | T4 UDP, 0 TCP |
//! | J | server non-INVITE | absorb retransmitted requests | 64×T1 UDP, 0 TCP |
//! | K | client non-INVITE | absorb retransmitted finals | T4 UDP, 0 TCP |
//! | L | server INVITE | Accepted: relay retransmitted 2xx | 64×T1 |
//! | M | client INVITE | Accepted: deliver further 2xx | 64×T1 |
//!
//! A UAS's own 2xx is retransmitted by the server machine (T1 doubling to T2, §13.3.1.4) until
//! its ACK arrives; a proxy's relayed 2xx is not (§16.7 step 10). A server transaction also ends
//! when the TU never answers: the wait is bounded by Timer C plus 64×T1 for an INVITE (renewed
//! by each provisional) and by 2×64×T1 otherwise.

mod client;
mod server;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

pub use client::{Client, ClientInput, ClientOutput, ClientState};
pub use server::{RespondError, Server, ServerInput, ServerOutput, ServerState};

use rsipstack::sip::{Header, HeadersExt as _, Host, Method, Request, Response, Version, typed};

use super::wire;

fn magic_branch(via: &typed::Via) -> Option<&str> {
    via.branch()
        .map(|b| b.value())
        .filter(|b| b.starts_with("z9hG4bK"))
}

/// Server transaction key (§17.2.3): branch, sent-by, method (ACK matches INVITE); for an
/// RFC 2543 request without the magic cookie, the identifying headers instead.
pub fn server_key(request: &Request) -> Option<String> {
    let method = match request.method {
        Method::Ack => Method::Invite,
        m => m,
    };
    server_key_as(request, method)
}

/// [`server_key`] as if the request had `method` (a CANCEL finds its INVITE, §9.2).
pub fn server_key_as(request: &Request, method: Method) -> Option<String> {
    let via = wire::top_via(request).ok()?;
    if let Some(branch) = magic_branch(&via) {
        return Some(format!("{branch} {} {method}", via.uri.host_with_port));
    }
    let from_tag = request
        .from_header()
        .ok()
        .and_then(|f| f.tag().ok().flatten())
        .map(|t| t.value().to_owned())
        .unwrap_or_default();
    let call_id = request.call_id_header().ok()?.value().to_owned();
    let seq = request.cseq_header().ok()?.seq().ok()?;
    Some(format!(
        "2543 {} {from_tag} {call_id} {seq} {via} {method}",
        request.uri
    ))
}

/// Client transaction key (§17.1.3): the branch and the method the transaction was created for.
pub fn client_key(branch: &str, method: Method) -> String {
    format!("{branch} {method}")
}

/// Client transaction key of a response (§17.1.3: top Via branch and CSeq method); the top
/// Via must be ours (§18.1.2).
pub fn response_key(response: &Response, host: &str) -> Result<String, String> {
    let via = wire::top_via(response).map_err(|e| format!("top Via unusable: {e}"))?;
    let ours =
        matches!(&via.uri.host_with_port.host, Host::Domain(d) if d.0.eq_ignore_ascii_case(host));
    if !ours {
        return Err(format!(
            "top Via sent-by {} is not this endpoint",
            via.uri.host_with_port
        ));
    }
    let branch = via
        .branch()
        .ok_or("top Via has no branch")?
        .value()
        .to_owned();
    let method = response
        .cseq_header()
        .map_err(|_| "missing CSeq header".to_owned())?
        .method()
        .map_err(|_| "malformed CSeq header".to_owned())?;
    for (present, name) in [
        (response.call_id_header().is_ok(), "Call-ID"),
        (response.from_header().is_ok(), "From"),
        (response.to_header().is_ok(), "To"),
    ] {
        if !present {
            return Err(format!("missing {name} header"));
        }
    }
    Ok(client_key(&branch, method))
}

/// `now + d`, saturating far in the future instead of overflowing.
pub fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(u64::from(u32::MAX))))
        .unwrap_or(now)
}

/// (Call-ID, CSeq number): how the ACK of a 2xx finds the transaction retransmitting it.
pub fn ack_key(request: &Request) -> Option<(String, u32)> {
    Some((
        request.call_id_header().ok()?.value().to_owned(),
        request.cseq_header().ok()?.seq().ok()?,
    ))
}

/// The ACK of a 3xx–6xx (§17.1.1.3): the INVITE's Request-URI, top Via, Route, From, Call-ID
/// and CSeq number, the response's To.
pub fn ack_for_failure(invite: &Request, response: &Response) -> Request {
    let mut headers = Vec::new();
    if let Ok(via) = invite.top_via_header() {
        headers.push(Header::Via(via));
    }
    for header in invite.headers.iter() {
        if matches!(header, Header::Route(_)) {
            headers.push(header.clone());
        }
    }
    headers.push(Header::MaxForwards(70.into()));
    for header in invite.headers.iter() {
        if matches!(header, Header::From(_) | Header::CallId(_)) {
            headers.push(header.clone());
        }
    }
    if let Ok(to) = response.to_header() {
        headers.push(Header::To(to.clone()));
    }
    let seq = invite.cseq_header().and_then(|c| c.seq()).unwrap_or(0);
    headers.push(
        typed::CSeq {
            seq,
            method: Method::Ack,
        }
        .into(),
    );
    headers.push(Header::ContentLength(0.into()));
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        version: Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    }
}
