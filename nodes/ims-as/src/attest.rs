//! Attestation from how the caller was identified (ATIS-1000074 §5.2.3 levels, as the IMS
//! trust domain of RFC 3325 knows them): the originating IMS AS decides, before anything is
//! signed, how much the operator vouches for the number it signs.
//!
//! - **A** (full): the P-CSCF asserted a registered UE's own identity on the flow it registered
//!   on; or the IBCF identified the enterprise trunk by its TLS certificate and the number is in
//!   the range assigned to that trunk.
//! - **B** (partial): the trunk is identified, but the number is outside its range.
//! - **C** (gateway): no identity asserted inside the trust domain — a gateway or an unknown
//!   origin; the number signed is the one in From, vouched for by no one.
//!
//! The P-Served-User (RFC 5502) the trunk IBCF adds is what tells a trunk call from a UE call; it
//! is consumed here and does not leave the network.

use proto::sip::Request;
use proto::sipmsg::{self, NameAddr};
use stir::Attest;

/// A trunk of an enterprise and the numbers assigned to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trunk {
    /// How the IBCF names it in P-Served-User (`sip:pbx.enterprise.example`).
    pub served_user: String,
    /// Number prefixes (E.164 with `+`) assigned to it.
    pub ranges: Vec<String>,
}

impl Trunk {
    /// Whether `tn` is in one of its ranges.
    pub fn covers(&self, tn: &str) -> bool {
        let tn = format!("+{}", proto::tn::digits(tn));
        self.ranges.iter().any(|r| tn.starts_with(r.as_str()))
    }
}

/// Why the caller got its attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// A registered UE's own identity, asserted by the P-CSCF.
    RegisteredUe,
    /// The identified trunk, the number in its range.
    TrunkInRange(String),
    /// The identified trunk, the number outside its range.
    TrunkOutOfRange(String),
    /// A P-Served-User naming no trunk this operator serves.
    UnknownTrunk(String),
    /// No identity asserted by the trust domain.
    Unasserted,
}

/// The attestation and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// The level signed into `attest`.
    pub level: Attest,
    /// How the caller was identified.
    pub basis: Basis,
}

impl Attestation {
    /// The trace's words for it.
    pub fn label(&self, tn: &str) -> String {
        let level = self.level;
        match &self.basis {
            Basis::RegisteredUe => format!(
                "attestation {level}: {tn} is the registered UE's own identity, asserted by the P-CSCF on its flow"
            ),
            Basis::TrunkInRange(t) => format!(
                "attestation {level}: the trunk {t} was identified by its TLS certificate and {tn} is in its range"
            ),
            Basis::TrunkOutOfRange(t) => format!(
                "attestation {level}: the trunk {t} was identified by its TLS certificate, but {tn} is outside its range"
            ),
            Basis::UnknownTrunk(t) => format!(
                "attestation {level}: {t} is no trunk this operator serves; {tn} is vouched for by no one"
            ),
            Basis::Unasserted => format!(
                "attestation {level}: no identity asserted inside the trust domain (a gateway or unknown origin); {tn} is taken from From"
            ),
        }
    }
}

/// Who the trust domain says is served, and how: the P-Served-User's URI when it is for the
/// originating session case.
fn served_user(invite: &Request) -> Option<String> {
    let value = sipmsg::first(&invite.headers, "P-Served-User")?;
    let addr = NameAddr::parse(value)?;
    let originating = addr
        .params
        .split(';')
        .any(|p| p.trim().eq_ignore_ascii_case("sescase=orig"));
    originating.then_some(addr.uri)
}

/// Decides the attestation of an originating INVITE whose caller number is `tn`. Pure.
pub fn decide(invite: &Request, tn: &str, trunks: &[Trunk]) -> Attestation {
    let asserted = sipmsg::first(&invite.headers, "P-Asserted-Identity").is_some();
    let (level, basis) = match (asserted, served_user(invite)) {
        (false, _) => (Attest::C, Basis::Unasserted),
        (true, None) => (Attest::A, Basis::RegisteredUe),
        (true, Some(user)) => match trunks.iter().find(|t| t.served_user == user) {
            Some(t) if t.covers(tn) => (Attest::A, Basis::TrunkInRange(user)),
            Some(_) => (Attest::B, Basis::TrunkOutOfRange(user)),
            None => (Attest::C, Basis::UnknownTrunk(user)),
        },
    };
    Attestation { level, basis }
}

/// Removes what only this network's trust domain may read (P-Served-User) before the INVITE
/// goes on.
pub fn consume(invite: &mut Request) {
    sipmsg::remove(&mut invite.headers, "P-Served-User");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn invite(extra: &str) -> Request {
        let text = format!(
            "INVITE sip:+12155551001@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:+12025552001@a>;tag=1\r\nTo: <sip:+12155551001@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).unwrap()
    }

    fn trunks() -> Vec<Trunk> {
        vec![Trunk {
            served_user: "sip:pbx.enterprise.example".into(),
            ranges: vec!["+120255520".into()],
        }]
    }

    #[test]
    fn levels_follow_how_the_caller_was_identified() {
        let pai = "P-Asserted-Identity: <sip:+12025552001@a>\r\n";
        let trunk = "P-Served-User: <sip:pbx.enterprise.example>;sescase=orig\r\n";
        let ue = decide(&invite(pai), "+12025551000", &trunks());
        assert_eq!((ue.level, ue.basis), (Attest::A, Basis::RegisteredUe));
        let t = decide(&invite(&format!("{pai}{trunk}")), "+12025552001", &trunks());
        assert_eq!(t.level, Attest::A);
        let out = decide(&invite(&format!("{pai}{trunk}")), "+12025559999", &trunks());
        assert_eq!(
            (out.level, out.basis),
            (
                Attest::B,
                Basis::TrunkOutOfRange("sip:pbx.enterprise.example".into())
            )
        );
        let unknown = "P-Served-User: <sip:other.example>;sescase=orig\r\n";
        let u = decide(
            &invite(&format!("{pai}{unknown}")),
            "+12025552001",
            &trunks(),
        );
        assert_eq!(u.level, Attest::C);
        let none = decide(&invite(""), "+12025552001", &trunks());
        assert_eq!((none.level, &none.basis), (Attest::C, &Basis::Unasserted));
        assert!(
            none.label("+12025552001")
                .starts_with("attestation C: no identity asserted")
        );
        // A terminating session case does not make a trunk call.
        let term = "P-Served-User: <sip:pbx.enterprise.example>;sescase=term\r\n";
        let t = decide(&invite(&format!("{pai}{term}")), "+12025552001", &trunks());
        assert_eq!(t.basis, Basis::RegisteredUe);
    }

    #[test]
    fn the_served_user_does_not_leave_the_network() {
        let mut i = invite("P-Served-User: <sip:pbx.enterprise.example>;sescase=orig\r\n");
        consume(&mut i);
        assert!(sipmsg::first(&i.headers, "P-Served-User").is_none());
    }
}
