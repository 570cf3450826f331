//! A call's dialog as an IMS AS on its path sees it, and the requests the AS sends in it on its
//! own (TR 33.790 §6.7.2.1 steps 5 and 6: re-INVITEs anchoring a party's media at the MF, as a
//! B2BUA or third-party call controller would, RFC 3725). Pure: the dialog is read from the
//! initial INVITE as the AS forwarded it and the 2xx that answered it; the requests are built as
//! text and parsed.
//!
//! The route from the AS to either party comes from the 2xx's Record-Route (RFC 3261 §12.1):
//! the entries above the AS's own lead to the callee (nearest first, so reversed), those below it
//! to the caller. A request the AS sends toward the callee takes a CSeq number in the caller's
//! sequence; the caller's later requests are then renumbered by the AS ([`Shifts`]), so each
//! party sees one increasing sequence.

use std::collections::BTreeMap;

use proto::sip::{Request, Response};
use proto::sipmsg::{self, NameAddr};

/// Which party a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Toward {
    /// The caller (UE-A).
    Caller,
    /// The callee (UE-B).
    Callee,
}

/// A call's dialog, as the AS saw it established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// The Call-ID.
    pub call_id: String,
    /// The From of the INVITE (the caller, with its tag).
    pub from: String,
    /// The To of the 2xx (the callee, with its tag).
    pub to: String,
    /// The caller as asserted in the INVITE (P-Asserted-Identity), if it was.
    pub asserted: Option<String>,
    /// The caller's tag.
    pub caller_tag: String,
    /// The callee's tag.
    pub callee_tag: String,
    /// The caller's Contact URI.
    pub caller_contact: String,
    /// The callee's Contact URI.
    pub callee_contact: String,
    /// The Route set from the AS to the callee, first hop first.
    pub to_callee: Vec<String>,
    /// The Route set from the AS to the caller, first hop first.
    pub to_caller: Vec<String>,
}

/// The URI inside a header value (`<sip:x;lr>` → `sip:x;lr`).
fn uri_of(value: &str) -> Option<String> {
    NameAddr::parse(value).map(|n| n.uri)
}

/// The `tag` parameter of a From/To value.
fn tag_of(value: &str) -> Option<String> {
    value
        .split(';')
        .skip(1)
        .find_map(|p| p.trim().strip_prefix("tag="))
        .map(|t| t.trim().to_owned())
}

impl Dialog {
    /// The dialog of `invite` (as this AS forwarded it) answered by `ok`, for the AS at `host`:
    /// `None` when a header it needs is missing or the AS is not on the Record-Route.
    pub fn of(invite: &Request, ok: &Response, host: &str) -> Option<Dialog> {
        let from = sipmsg::first(&invite.headers, "From")?.to_owned();
        let to = sipmsg::first(&ok.headers, "To")?.to_owned();
        let routes: Vec<String> = sipmsg::values(&ok.headers, "Record-Route")
            .into_iter()
            .flat_map(sipmsg::split_list)
            .filter_map(uri_of)
            .collect();
        let me = routes
            .iter()
            .position(|r| sipmsg::uri_host(r).eq_ignore_ascii_case(host))?;
        Some(Dialog {
            call_id: sipmsg::first(&invite.headers, "Call-ID")?.to_owned(),
            caller_tag: tag_of(&from)?,
            callee_tag: tag_of(&to)?,
            asserted: sipmsg::first(&invite.headers, "P-Asserted-Identity").map(str::to_owned),
            from,
            to,
            caller_contact: sipmsg::first(&invite.headers, "Contact").and_then(uri_of)?,
            callee_contact: sipmsg::first(&ok.headers, "Contact").and_then(uri_of)?,
            to_callee: routes[..me].iter().rev().cloned().collect(),
            to_caller: routes[me + 1..].to_vec(),
        })
    }

    /// Which party a request in the dialog comes from, by its From tag.
    pub fn sender(&self, request: &Request) -> Option<Toward> {
        let tag = sipmsg::first(&request.headers, "From").and_then(tag_of)?;
        if tag == self.caller_tag {
            Some(Toward::Caller)
        } else if tag == self.callee_tag {
            Some(Toward::Callee)
        } else {
            None
        }
    }

    /// A request of `method` the AS sends in the dialog to `to`, with CSeq `cseq`, the extra
    /// `headers` and the SDP `body` (none when empty). Its Contact is the other party's (the AS
    /// speaks for it). `None` if it does not parse.
    pub fn request(
        &self,
        to: Toward,
        method: &str,
        cseq: u32,
        headers: &[(&str, String)],
        body: &str,
    ) -> Option<Request> {
        let (uri, routes, from, to_header, contact) = match to {
            Toward::Callee => (
                &self.callee_contact,
                &self.to_callee,
                &self.from,
                &self.to,
                &self.caller_contact,
            ),
            Toward::Caller => (
                &self.caller_contact,
                &self.to_caller,
                &self.to,
                &self.from,
                &self.callee_contact,
            ),
        };
        let mut text = format!(
            "{method} {uri} SIP/2.0\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to_header}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\n",
            self.call_id
        );
        for r in routes {
            text.push_str(&format!("Route: <{r}>\r\n"));
        }
        if method == "INVITE" {
            text.push_str(&format!("Contact: <{contact}>\r\n"));
        }
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            text.push_str("Content-Type: application/sdp\r\n");
        }
        text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        Request::try_from(text.as_str()).ok()
    }
}

/// The CSeq renumbering of requests a party sends after the AS sent one in its sequence: per
/// (Call-ID, sender), the number to add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shifts(BTreeMap<(String, Toward), u32>);

impl Shifts {
    /// The AS took one number of `sender`'s sequence in call `call_id`.
    pub fn took(&mut self, call_id: &str, sender: Toward) {
        *self.0.entry((call_id.to_owned(), sender)).or_default() += 1;
    }

    /// The number to add to `sender`'s requests in `call_id`.
    pub fn of(&self, call_id: &str, sender: Toward) -> u32 {
        self.0
            .get(&(call_id.to_owned(), sender))
            .copied()
            .unwrap_or(0)
    }

    /// Forgets a call.
    pub fn forget(&mut self, call_id: &str) {
        self.0.retain(|(c, _), _| c != call_id);
    }
}

/// What an AS keeps of the dialogs on its path: each call's [`Dialog`] (once its initial INVITE
/// was answered), the CSeq renumbering, and the last CSeq number each party used.
#[derive(Debug, Default)]
pub struct Book {
    dialogs: std::sync::Mutex<BTreeMap<String, Dialog>>,
    shifts: std::sync::Mutex<Shifts>,
    last: std::sync::Mutex<BTreeMap<(String, Toward), u32>>,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Book {
    /// Keeps the dialog of a call (the first answer wins).
    pub fn keep(&self, dialog: Dialog) {
        lock(&self.dialogs)
            .entry(dialog.call_id.clone())
            .or_insert(dialog);
    }

    /// The dialog of `call_id`, if known.
    pub fn get(&self, call_id: &str) -> Option<Dialog> {
        lock(&self.dialogs).get(call_id).cloned()
    }

    /// An in-dialog request passes from a party: its CSeq renumbered if the AS took numbers of
    /// that party's sequence; the number to take back from its responses (0: none).
    pub fn pass(&self, request: &mut Request) -> u32 {
        let call_id = sipmsg::first(&request.headers, "Call-ID")
            .unwrap_or_default()
            .to_owned();
        let Some(sender) = self.get(&call_id).and_then(|d| d.sender(request)) else {
            return 0;
        };
        let shift = lock(&self.shifts).of(&call_id, sender);
        if shift > 0 {
            shift_cseq(&mut request.headers, i64::from(shift));
        }
        if let Some(n) = cseq_number(&request.headers) {
            let mut last = lock(&self.last);
            let seen = last.entry((call_id, sender)).or_default();
            *seen = (*seen).max(n);
        }
        shift
    }

    /// The CSeq number for a request the AS sends in `call_id` in `sender`'s name: one more than
    /// the last that party used; the party's later requests are renumbered after it.
    pub fn take(&self, call_id: &str, sender: Toward) -> u32 {
        let mut last = lock(&self.last);
        let seen = last.entry((call_id.to_owned(), sender)).or_default();
        *seen += 1;
        lock(&self.shifts).took(call_id, sender);
        *seen
    }

    /// Forgets a call (it ended).
    pub fn forget(&self, call_id: &str) {
        lock(&self.dialogs).remove(call_id);
        lock(&self.shifts).forget(call_id);
        lock(&self.last).retain(|(c, _), _| c != call_id);
    }
}

/// The CSeq number of a message's headers.
pub fn cseq_number(headers: &sipmsg::Headers) -> Option<u32> {
    sipmsg::first(headers, "CSeq")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Adds `by` (which may be negative) to the CSeq number of `headers`.
pub fn shift_cseq(headers: &mut sipmsg::Headers, by: i64) {
    let Some(value) = sipmsg::first(headers, "CSeq").map(str::to_owned) else {
        return;
    };
    let mut parts = value.split_whitespace();
    let (Some(n), Some(method)) = (
        parts.next().and_then(|n| n.parse::<i64>().ok()),
        parts.next(),
    ) else {
        return;
    };
    sipmsg::set(headers, "CSeq", format!("{} {method}", n + by));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn invite() -> Request {
        Request::try_from(
            "INVITE sip:+2@ims.b SIP/2.0\r\nVia: SIP/2.0/UDP as.a;branch=z9hG4bK1\r\nFrom: <sip:+1@ims.a>;tag=ta\r\nTo: <sip:+2@ims.b>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:+1@127.0.0.1:5001>\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap()
    }

    fn ok() -> Response {
        proto::sip::Response::try_from(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP as.a;branch=z9hG4bK1\r\nRecord-Route: <sip:pcscf.b;lr>\r\nRecord-Route: <sip:scscf.b;lr>, <sip:ibcf.a;lr>\r\nRecord-Route: <sip:as.a:5070;lr>\r\nRecord-Route: <sip:scscf.a;lr>, <sip:pcscf.a;lr>\r\nFrom: <sip:+1@ims.a>;tag=ta\r\nTo: <sip:+2@ims.b>;tag=tb\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:127.0.0.1:5002>\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap()
    }

    #[test]
    fn routes_split_at_the_as_own_record_route() {
        let d = Dialog::of(&invite(), &ok(), "as.a").unwrap();
        assert_eq!(
            d.to_callee,
            ["sip:ibcf.a;lr", "sip:scscf.b;lr", "sip:pcscf.b;lr"]
        );
        assert_eq!(d.to_caller, ["sip:scscf.a;lr", "sip:pcscf.a;lr"]);
        assert_eq!((d.caller_tag.as_str(), d.callee_tag.as_str()), ("ta", "tb"));
        assert_eq!(Dialog::of(&invite(), &ok(), "elsewhere"), None);
    }

    #[test]
    fn requests_toward_each_party_swap_from_and_to() {
        let d = Dialog::of(&invite(), &ok(), "as.a").unwrap();
        let r = d
            .request(
                Toward::Caller,
                "INVITE",
                1,
                &[("P-Avatar-ID", "owl".into())],
                "v=0\r\n",
            )
            .unwrap();
        assert_eq!(r.uri.to_string(), "sip:+1@127.0.0.1:5001");
        assert!(
            sipmsg::first(&r.headers, "From")
                .unwrap()
                .contains("tag=tb")
        );
        assert!(sipmsg::first(&r.headers, "To").unwrap().contains("tag=ta"));
        assert_eq!(
            sipmsg::first(&r.headers, "Contact"),
            Some("<sip:127.0.0.1:5002>")
        );
        assert_eq!(d.sender(&r), Some(Toward::Callee));
        let to_b = d.request(Toward::Callee, "ACK", 3, &[], "").unwrap();
        assert_eq!(
            sipmsg::values(&to_b.headers, "Route"),
            ["<sip:ibcf.a;lr>", "<sip:scscf.b;lr>", "<sip:pcscf.b;lr>"]
        );
        assert_eq!(cseq_number(&to_b.headers), Some(3));
        assert_eq!(d.sender(&to_b), Some(Toward::Caller));
    }

    #[test]
    fn shifts_renumber_one_party_after_the_as_took_a_number() {
        let mut s = Shifts::default();
        assert_eq!(s.of("c1", Toward::Caller), 0);
        s.took("c1", Toward::Caller);
        assert_eq!(s.of("c1", Toward::Caller), 1);
        assert_eq!(s.of("c1", Toward::Callee), 0);
        let mut r = invite();
        shift_cseq(&mut r.headers, 1);
        assert_eq!(sipmsg::first(&r.headers, "CSeq"), Some("2 INVITE"));
        shift_cseq(&mut r.headers, -1);
        assert_eq!(cseq_number(&r.headers), Some(1));
        s.forget("c1");
        assert_eq!(s.of("c1", Toward::Caller), 0);
    }
}
