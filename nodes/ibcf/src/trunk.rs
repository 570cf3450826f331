//! The enterprise's SIP trunk (TR 33.790 §6.2.2.2 NOTE 2: the trunk is secured "using mutual
//! TLS as defined in TS 23.228 Clause S.2.2"): who it is, how the IBCF tells its requests from
//! anyone claiming to be it, and what the IBCF asserts for it (RFC 3325 §9.1; RFC 5502 for
//! P-Served-User). Pure functions of the request and how it arrived; `lib.rs` carries them out.
//!
//! A request is the trunk's only when it arrived on the IBCF's TLS listener with a client
//! certificate (verified against the world's TLS CA in the handshake) whose DNS name is the
//! trunk's host. A request claims to be the trunk when it arrived on that listener, or when its
//! top Via names the enterprise's domain; a claim without that proof is refused with 403. What
//! the PBX wrote that only the trust domain may write (P-Asserted-Identity, P-Served-User) is
//! removed; the number it claims (P-Preferred-Identity, else From) is asserted, and
//! P-Served-User names the trunk, so the IMS AS knows the call came over the verified trunk.

use kit::node::ClientAuth;
use proto::sip::{Method, Request, SipTransport};
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Note, Reason};

/// The enterprise's SIP trunk, as the IBCF knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trunk {
    /// The PBX's host name: the DNS name its TLS client certificate must carry
    /// (`pbx.enterprise.example`); P-Served-User names `sip:<host>`.
    pub host: String,
    /// The enterprise's domain (`enterprise.example`): a request whose top Via names it, or a
    /// host in it, claims to come from the trunk.
    pub domain: String,
    /// How the IBCF's TLS listener treats client certificates: `Required` ends a handshake
    /// without one (the sender sees the error; the IBCF notes the refusal); `Optional` lets the
    /// client in, and the IBCF refuses its requests with 403.
    pub client_auth: ClientAuth,
}

/// How a request stands toward the trunk (a pure decision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrunkCheck {
    /// Neither from the trunk nor claiming to be.
    NotTrunk,
    /// The trunk, identified by its TLS client certificate.
    Identified,
    /// Claims to be the trunk without proving it: answered 403.
    Refused {
        /// Why, typed.
        reason: Reason,
        /// Why, for the reader.
        why: String,
    },
}

/// The host of a request's top Via (sent-by), lower-case.
fn top_via_host(request: &Request) -> String {
    sipmsg::first(&request.headers, "Via")
        .and_then(|v| v.split_whitespace().nth(1))
        .map(|sent_by| {
            sent_by
                .split([':', ';'])
                .next()
                .unwrap_or(sent_by)
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Whether the request is outside any dialog (no To tag, RFC 3261 §8.1.1.2): one that enters
/// the network, rather than one routed by a dialog's route set.
fn out_of_dialog(request: &Request) -> bool {
    let tag = sipmsg::first(&request.headers, "To")
        .and_then(NameAddr::parse)
        .is_some_and(|to| {
            to.params
                .split(';')
                .any(|p| p.trim().to_ascii_lowercase().starts_with("tag="))
        });
    !tag
}

impl Trunk {
    /// Whether `host` is the enterprise's domain or a host in it.
    fn in_domain(&self, host: &str) -> bool {
        let domain = self.domain.to_ascii_lowercase();
        host == domain || host.ends_with(&format!(".{domain}"))
    }

    /// How a request that entered here stands toward the trunk (pure). Only requests outside a
    /// dialog are judged (the ACK of a 2xx and in-dialog requests follow the route set the
    /// dialog's INVITE built). `transport` and `peer_identity` are how it arrived
    /// (`kit::sip::Incoming`).
    pub fn check(
        &self,
        request: &Request,
        transport: SipTransport,
        peer_identity: Option<&str>,
    ) -> TrunkCheck {
        if request.method == Method::Ack || !out_of_dialog(request) {
            return TrunkCheck::NotTrunk;
        }
        let over_tls = transport == SipTransport::Tls;
        let via = top_via_host(request);
        if !over_tls && !self.in_domain(&via) {
            return TrunkCheck::NotTrunk;
        }
        let host = &self.host;
        let why = match (over_tls, peer_identity) {
            (true, Some(id)) if id.eq_ignore_ascii_case(host) => return TrunkCheck::Identified,
            (true, Some(other)) => {
                format!("its TLS client certificate names {other}, not the trunk {host}")
            }
            (true, None) => {
                format!("it came over TLS without a client certificate, not as the trunk {host}")
            }
            (false, _) => format!(
                "its Via names {via} but it came over {transport}, not over the trunk's mutual TLS"
            ),
        };
        TrunkCheck::Refused {
            reason: Reason::NotAuthorised,
            why,
        }
    }

    /// The P-Served-User naming this trunk for the originating session case (RFC 5502 §6).
    pub fn served_user(&self) -> String {
        format!("<sip:{}>;sescase=orig", self.host)
    }

    /// What the IBCF does to a request from the identified trunk before it goes on (pure):
    /// removes the P-Asserted-Identity and P-Served-User the PBX wrote ([`Act::StripUntrusted`]),
    /// asserts the number the PBX claims — P-Preferred-Identity (RFC 3325 §9.2), else From — as
    /// P-Asserted-Identity in place of the P-Preferred-Identity ([`Act::AssertIdentity`];
    /// refused with [`Reason::MissingIdentity`] when neither names a number), and names the
    /// trunk in P-Served-User. Returns the notes.
    pub fn assert_identity(&self, fwd: &mut Request) -> Vec<Note> {
        let mut notes = Vec::new();
        let stripped: Vec<&str> = ["P-Asserted-Identity", "P-Served-User"]
            .into_iter()
            .filter(|h| sipmsg::remove(&mut fwd.headers, h) > 0)
            .collect();
        if !stripped.is_empty() {
            notes.push(Note::done(
                Act::StripUntrusted,
                format!(
                    "removed the {} the PBX wrote: only the trust domain asserts",
                    stripped.join(" and ")
                ),
            ));
        }
        let (claimed, source) = claimed_identity(fwd);
        let at = fwd
            .headers
            .iter()
            .position(|h| h.name().eq_ignore_ascii_case("P-Preferred-Identity"));
        sipmsg::remove(&mut fwd.headers, "P-Preferred-Identity");
        let mut added = Vec::new();
        match claimed.as_ref().and_then(|c| c.tn().map(|tn| (c, tn))) {
            Some((identity, tn)) => {
                added.push(("P-Asserted-Identity", identity.render()));
                notes.push(Note::done(
                    Act::AssertIdentity,
                    format!("asserted {tn}, the number the trunk {} claims in {source}", self.host),
                ));
            }
            None => notes.push(Note::refused(
                Act::AssertIdentity,
                Reason::MissingIdentity,
                format!("the trunk {} names no number in P-Preferred-Identity or From: nothing asserted", self.host),
            )),
        }
        added.push(("P-Served-User", self.served_user()));
        insert_at(fwd, at, &added);
        notes
    }
}

/// The identity the PBX claims, and where: its P-Preferred-Identity, else its From (header
/// parameters such as the tag dropped).
fn claimed_identity(request: &Request) -> (Option<NameAddr>, &'static str) {
    if let Some(ppi) = sipmsg::first(&request.headers, "P-Preferred-Identity") {
        let first = sipmsg::split_list(ppi).into_iter().next().unwrap_or(ppi);
        return (
            NameAddr::parse(first).map(without_params),
            "P-Preferred-Identity",
        );
    }
    let from = sipmsg::first(&request.headers, "From").and_then(NameAddr::parse);
    (from.map(without_params), "From")
}

fn without_params(mut n: NameAddr) -> NameAddr {
    n.params.clear();
    n
}

/// Inserts `headers` at `at` (where the P-Preferred-Identity was), else at the end.
fn insert_at(request: &mut Request, at: Option<usize>, headers: &[(&str, String)]) {
    let at = at
        .unwrap_or(request.headers.len())
        .min(request.headers.len());
    for (i, (name, value)) in headers.iter().enumerate() {
        request
            .headers
            .0
            .insert(at + i, sipmsg::make_header(name, value.clone()));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::trace::Outcome;

    fn trunk() -> Trunk {
        Trunk {
            host: "pbx.enterprise.example".into(),
            domain: "enterprise.example".into(),
            client_auth: ClientAuth::Required,
        }
    }

    fn request(via_host: &str, extra: &str) -> Request {
        Request::try_from(format!(
            "INVITE sip:+12155551001@ims.b SIP/2.0\r\nVia: SIP/2.0/TLS {via_host}:5;branch=z9hG4bK2\r\nFrom: \"Front Desk\" <sip:+12025552001@ims.a>;tag=1\r\nTo: <sip:+12155551001@ims.b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContact: <sip:+12025552001@127.0.0.1:5>\r\n{extra}Content-Length: 0\r\n\r\n"
        ).as_str())
        .unwrap()
    }

    fn refused(check: TrunkCheck) -> Reason {
        match check {
            TrunkCheck::Refused { reason, .. } => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_mutual_tls_with_the_trunks_certificate_identifies_it() {
        let t = trunk();
        let r = request("pbx.enterprise.example", "");
        let tls = SipTransport::Tls;
        assert_eq!(
            t.check(&r, tls, Some("PBX.enterprise.example")),
            TrunkCheck::Identified
        );
        // Another certificate, none, or no TLS at all.
        assert_eq!(
            refused(t.check(&r, tls, Some("id.enterprise.example"))),
            Reason::NotAuthorised
        );
        assert_eq!(refused(t.check(&r, tls, None)), Reason::NotAuthorised);
        let TrunkCheck::Refused { why, .. } = t.check(&r, SipTransport::Udp, None) else {
            panic!()
        };
        assert!(why.contains("over UDP"), "{why}");
        // Whatever its Via says, anything on the trunk listener claims to be the trunk.
        let elsewhere = request("somewhere.example", "");
        assert!(matches!(
            t.check(&elsewhere, tls, None),
            TrunkCheck::Refused { .. }
        ));
    }

    #[test]
    fn requests_not_claiming_the_trunk_are_not_judged() {
        let t = trunk();
        // From the core (or the NNI): another Via host, plain transport.
        let core = request("scscf.ims.a", "");
        assert_eq!(
            t.check(&core, SipTransport::Udp, None),
            TrunkCheck::NotTrunk
        );
        // In a dialog (a To tag) or an ACK: routed by the dialog's route set.
        let in_dialog = Request::try_from(
            "BYE sip:+1@127.0.0.1:5 SIP/2.0\r\nVia: SIP/2.0/UDP pbx.enterprise.example:5;branch=z9hG4bK3\r\nFrom: <sip:+2@ims.a>;tag=1\r\nTo: <sip:+1@ims.b>;tag=9\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            t.check(&in_dialog, SipTransport::Udp, None),
            TrunkCheck::NotTrunk
        );
    }

    fn actions(notes: &[Note]) -> Vec<(Act, Outcome)> {
        notes.iter().filter_map(Note::action).collect()
    }

    #[test]
    fn the_claimed_number_is_asserted_and_the_trunk_named() {
        let t = trunk();
        let mut fwd = request(
            "pbx.enterprise.example",
            "P-Preferred-Identity: \"Front Desk\" <sip:+12025552001@ims.a;user=phone>\r\nP-Asserted-Identity: <sip:+12025551000@ims.a>\r\nP-Served-User: <sip:someone.else>;sescase=orig\r\n",
        );
        let notes = t.assert_identity(&mut fwd);
        assert_eq!(
            actions(&notes),
            [
                (Act::StripUntrusted, Outcome::Done),
                (Act::AssertIdentity, Outcome::Done)
            ]
        );
        assert_eq!(
            sipmsg::values(&fwd.headers, "P-Asserted-Identity"),
            ["\"Front Desk\" <sip:+12025552001@ims.a;user=phone>"]
        );
        assert_eq!(
            sipmsg::values(&fwd.headers, "P-Served-User"),
            ["<sip:pbx.enterprise.example>;sescase=orig"]
        );
        assert!(sipmsg::first(&fwd.headers, "P-Preferred-Identity").is_none());
        // In the P-Preferred-Identity's place: after Contact, before Content-Length.
        let names: Vec<String> = fwd.headers.iter().map(|h| h.name().to_owned()).collect();
        let pai = names
            .iter()
            .position(|n| n == "P-Asserted-Identity")
            .unwrap();
        assert_eq!(names[pai - 1], "Contact");
        assert_eq!(names[pai + 1], "P-Served-User");
    }

    #[test]
    fn without_a_preferred_identity_the_from_number_is_asserted() {
        let t = trunk();
        let mut fwd = request("pbx.enterprise.example", "");
        let notes = t.assert_identity(&mut fwd);
        assert_eq!(actions(&notes), [(Act::AssertIdentity, Outcome::Done)]);
        assert_eq!(
            sipmsg::values(&fwd.headers, "P-Asserted-Identity"),
            ["\"Front Desk\" <sip:+12025552001@ims.a>"]
        );
        // No number anywhere: nothing asserted, and said so.
        let mut anonymous = Request::try_from(
            "INVITE sip:+1@ims.b SIP/2.0\r\nVia: SIP/2.0/TLS pbx.enterprise.example:5;branch=z9hG4bK2\r\nFrom: <sip:frontdesk@enterprise.example>;tag=1\r\nTo: <sip:+1@ims.b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        let notes = t.assert_identity(&mut anonymous);
        assert_eq!(
            actions(&notes),
            [(
                Act::AssertIdentity,
                Outcome::Refused(Reason::MissingIdentity)
            )]
        );
        assert!(sipmsg::first(&anonymous.headers, "P-Asserted-Identity").is_none());
        assert!(sipmsg::first(&anonymous.headers, "P-Served-User").is_some());
    }
}
