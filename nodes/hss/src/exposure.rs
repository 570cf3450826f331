//! The DC exposure policy and the subscribers' consent (TR 33.790 §6.9.2.1 and §6.9.2.2
//! step 2: "NEF retrieves authorization policies locally or from HSS/UDM"; here always from
//! the HSS/UDM), loaded from `fixtures/dc-exposure.toml` ([`Policy`]) and served to the NEF only:
//! `GET HSS_POLICY_PATH?af={host}&impu={impu}` (percent-encoded) answers a
//! [`PolicyAnswer`]: the AF's entry (none when the policy does not know it) and the subscriber's
//! consent ([`Consent::none`] without an entry). The NEF decides; the HSS/UDM only holds.

use std::fmt;

use kit::http::Response;
use kit::node::json_response;
use kit::{Error, fixtures};
use proto::trace::Reason;
use proto::wire::exposure::{AfPolicy, Consent, HSS_POLICY_PATH, PolicyAnswer};
use serde::Deserialize;

use crate::avatars::percent_decode;

/// The fixture's file name under `fixtures/`.
pub const FIXTURE: &str = "dc-exposure.toml";

/// The whole DC exposure policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The AFs the policy knows, by host.
    #[serde(default)]
    pub af: Vec<AfPolicy>,
    /// Per-subscriber consent.
    #[serde(default)]
    pub consent: Vec<Consent>,
}

impl Policy {
    /// The policy in a TOML text.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::Fixture {
            path: FIXTURE.into(),
            detail: e.to_string(),
        })
    }

    /// The committed `fixtures/dc-exposure.toml`.
    pub fn load() -> Result<Self, Error> {
        Self::from_toml(&String::from_utf8_lossy(&fixtures::read(FIXTURE)?))
    }

    /// The AF with this host (DNS names compare case-insensitively).
    pub fn af(&self, host: &str) -> Option<&AfPolicy> {
        self.af.iter().find(|a| a.host.eq_ignore_ascii_case(host))
    }

    /// The consent of this subscriber; [`Consent::none`] when it has no entry.
    pub fn consent(&self, impu: &str) -> Consent {
        self.consent
            .iter()
            .find(|c| c.impu == impu)
            .cloned()
            .unwrap_or_else(|| Consent::none(impu))
    }

    /// What the NEF is told for `query`.
    pub fn answer(&self, query: &Query) -> PolicyAnswer {
        PolicyAnswer {
            af: self.af(&query.af).cloned(),
            consent: self.consent(&query.impu),
        }
    }
}

/// What the NEF asks: the AF's host and the subscriber's IMPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The AF (the DNS name of its client certificate).
    pub af: String,
    /// The subscriber.
    pub impu: String,
}

impl Query {
    /// The query of a request target `HSS_POLICY_PATH?af=…&impu=…`: each parameter once,
    /// percent-decoded (`+` is kept: IMPUs hold it), in any order; unknown parameters ignored.
    pub fn parse(target: &str) -> Result<Self, Refusal> {
        let (_, query) = target.split_once('?').unwrap_or((target, ""));
        let (mut af, mut impu) = (None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (slot, key) = match name {
                "af" => (&mut af, "af"),
                "impu" => (&mut impu, "impu"),
                _ => continue,
            };
            let value = percent_decode(value).ok_or(Refusal::BadEscape(pair.to_owned()))?;
            if slot.replace(value).is_some() {
                return Err(Refusal::Repeated(key));
            }
        }
        let af = af.filter(|v| !v.is_empty()).ok_or(Refusal::Missing("af"))?;
        let impu = impu
            .filter(|v| !v.is_empty())
            .ok_or(Refusal::Missing("impu"))?;
        Ok(Self { af, impu })
    }

    /// The request target the NEF asks with.
    pub fn target(&self) -> String {
        use proto::wire::avatar::pct;
        format!(
            "{HSS_POLICY_PATH}?af={}&impu={}",
            pct(&self.af),
            pct(&self.impu)
        )
    }
}

/// Why the HSS/UDM does not serve the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// This HSS/UDM serves no NEF.
    NoNef,
    /// The client is not the NEF (why, from its TLS certificate).
    NotTheNef(String),
    /// A parameter is missing or empty.
    Missing(&'static str),
    /// A parameter is given twice.
    Repeated(&'static str),
    /// A parameter has a broken percent-escape.
    BadEscape(String),
}

impl Refusal {
    /// Why, typed for the trace.
    pub fn reason(&self) -> Reason {
        match self {
            Refusal::NoNef | Refusal::NotTheNef(_) => Reason::NotAuthorised,
            Refusal::Missing(_) | Refusal::Repeated(_) | Refusal::BadEscape(_) => Reason::Malformed,
        }
    }

    /// The status: 403 for a client that is not the NEF, 400 for a bad query.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::NoNef | Refusal::NotTheNef(_) => 403,
            _ => 400,
        }
    }

    /// The answer on the wire.
    pub fn response(&self) -> Response {
        Response::text(self.status(), self.to_string())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoNef => f.write_str("this HSS/UDM serves the DC exposure policy to no NEF"),
            Refusal::NotTheNef(why) => write!(f, "the NEF only: {why}"),
            Refusal::Missing(name) => write!(f, "query parameter {name} missing"),
            Refusal::Repeated(name) => write!(f, "query parameter {name} given twice"),
            Refusal::BadEscape(pair) => write!(f, "broken percent-escape in {pair:?}"),
        }
    }
}

/// The answer to the NEF `nef` (none: this HSS/UDM serves no NEF) for a request from the
/// client that presented `client_certificate`, to `target`. The client is checked first: a
/// client that is not the NEF learns nothing, not even whether its query holds. Pure.
pub fn decide(
    policy: &Policy,
    nef: Option<&str>,
    client_certificate: Option<&[u8]>,
    target: &str,
) -> Result<(Query, PolicyAnswer), Refusal> {
    let nef = nef.ok_or(Refusal::NoNef)?;
    kit::tls::client_is(client_certificate, nef).map_err(Refusal::NotTheNef)?;
    let query = Query::parse(target)?;
    let answer = policy.answer(&query);
    Ok((query, answer))
}

/// The label of the served answer: which AF, what it may do, and the consent.
pub fn label(query: &Query, answer: &PolicyAnswer) -> String {
    let af = match &answer.af {
        Some(af) => format!(
            "{} ({}, {} events, anonymise {}, {} operations, owns {:?})",
            af.host,
            if af.trusted { "trusted" } else { "untrusted" },
            af.events.len(),
            af.anonymise,
            af.control.len(),
            af.apps
        ),
        None => format!("{} (not in the policy)", query.af),
    };
    let c = &answer.consent;
    format!(
        "serve the DC exposure policy of {af} and the consent of {} (events {}, control {})",
        query.impu, c.events, c.control
    )
}

/// 200 with the answer.
pub fn response(answer: &PolicyAnswer) -> Response {
    json_response(200, answer)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::wire::exposure::Operation;
    use std::collections::BTreeSet;

    const NEF: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";
    const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const UE_B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
    const UE_M: &str = "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org";
    const THIRD: &str = "dc-as.avatars.example";

    fn certificate(host: &str) -> Vec<u8> {
        let pem = fixtures::read(&format!("pki/tls/{host}.pem")).unwrap();
        kit::tls::certs_from_pem(&pem).unwrap().remove(0).to_vec()
    }

    #[test]
    fn the_fixture_has_four_afs_and_consent() {
        let p = Policy::load().unwrap();
        let ims = p.af("DC-AS.ims.mnc001.mcc001.3gppnetwork.org").unwrap();
        assert!(ims.trusted && !ims.anonymise && ims.owns("avatar-call"));
        assert_eq!(ims.events.len(), 3);
        assert_eq!(ims.control.len(), 4);
        let third = p.af(THIRD).unwrap();
        assert!(!third.trusted && third.anonymise && third.owns("screen-share"));
        assert_eq!(
            third.control,
            BTreeSet::from([Operation::Establish, Operation::Update])
        );
        assert!(p.af("rogue-af.avatars.example").is_some());
        let other = p.af("dc-as.whiteboard.example").unwrap();
        assert!(other.trusted && other.owns("whiteboard") && !other.owns("avatar-call"));
        assert!(p.af("authz.enterprise.example").is_none());
        for ue in [UE_A, UE_B] {
            let c = p.consent(ue);
            assert!(c.events && c.control, "{ue}");
        }
        assert_eq!(p.consent(UE_M), Consent::none(UE_M));
        assert_eq!(p.consent("sip:nobody@x"), Consent::none("sip:nobody@x"));
    }

    #[test]
    fn unknown_fields_and_words_are_refused() {
        let af = "[[af]]\nhost = \"h\"\ntrusted = true\nevents = []\nanonymise = false\n\
                  control = []\ntargets = []\napps = []\n";
        assert_eq!(Policy::from_toml(af).unwrap().af.len(), 1);
        assert!(Policy::from_toml(&format!("{af}colour = \"red\"\n")).is_err());
        let bad_event = af.replace("events = []", "events = [\"dc-hijacked\"]");
        assert!(Policy::from_toml(&bad_event).is_err());
        let bad_op = af.replace("control = []", "control = [\"delete\"]");
        assert!(Policy::from_toml(&bad_op).is_err());
        assert!(Policy::from_toml("[[consent]]\nimpu = \"x\"\nevents = true\n").is_err());
    }

    #[test]
    fn queries_round_trip_and_parse_robustly() {
        let q = Query {
            af: THIRD.into(),
            impu: UE_A.into(),
        };
        let target = q.target();
        assert_eq!(
            target,
            "/udm/v1/dc-exposure-policy?af=dc-as.avatars.example\
             &impu=sip%3A%2B12025551000%40ims.mnc001.mcc001.3gppnetwork.org"
        );
        assert_eq!(Query::parse(&target).unwrap(), q);
        // Unescaped, reordered, with an extra parameter: the same.
        let raw = format!("{HSS_POLICY_PATH}?x=1&impu={UE_A}&af={THIRD}");
        assert_eq!(Query::parse(&raw).unwrap(), q);
        let cases = [
            (HSS_POLICY_PATH.to_owned(), Refusal::Missing("af")),
            (
                format!("{HSS_POLICY_PATH}?af={THIRD}"),
                Refusal::Missing("impu"),
            ),
            (
                format!("{HSS_POLICY_PATH}?af=&impu=x"),
                Refusal::Missing("af"),
            ),
            (
                format!("{HSS_POLICY_PATH}?af&impu=x"),
                Refusal::Missing("af"),
            ),
            (
                format!("{HSS_POLICY_PATH}?af=a&af=b&impu=x"),
                Refusal::Repeated("af"),
            ),
            (
                format!("{HSS_POLICY_PATH}?af=a&impu=%zz"),
                Refusal::BadEscape("impu=%zz".into()),
            ),
            (
                format!("{HSS_POLICY_PATH}?af=a&impu=%+1"),
                Refusal::BadEscape("impu=%+1".into()),
            ),
        ];
        for (target, refusal) in cases {
            let e = Query::parse(&target).unwrap_err();
            assert_eq!(e, refusal, "{target}");
            assert_eq!((e.status(), e.reason()), (400, Reason::Malformed));
        }
    }

    #[test]
    fn only_the_nef_is_answered() {
        let p = Policy::load().unwrap();
        let target = Query {
            af: THIRD.into(),
            impu: UE_M.into(),
        }
        .target();
        let nef = certificate(NEF);
        let (q, answer) = decide(&p, Some(NEF), Some(&nef), &target).unwrap();
        assert_eq!(answer.af.as_ref().unwrap().host, THIRD);
        assert_eq!(answer.consent, Consent::none(UE_M));
        assert!(label(&q, &answer).contains("untrusted"));
        let unknown = Query {
            af: "authz.enterprise.example".into(),
            impu: UE_A.into(),
        };
        let (q, answer) = decide(&p, Some(NEF), Some(&nef), &unknown.target()).unwrap();
        assert!(answer.af.is_none() && answer.consent.events);
        assert!(label(&q, &answer).contains("not in the policy"));
        let other = certificate("hss.ims.mnc001.mcc001.3gppnetwork.org");
        for (nef_host, cert) in [
            (None, Some(&nef[..])),
            (Some(NEF), None),
            (Some(NEF), Some(&other[..])),
        ] {
            // Refused before the query is even read.
            let e = decide(&p, nef_host, cert, "junk").unwrap_err();
            assert_eq!(
                (e.status(), e.reason()),
                (403, Reason::NotAuthorised),
                "{e}"
            );
        }
        let e = decide(&p, Some(NEF), Some(&nef), HSS_POLICY_PATH).unwrap_err();
        assert_eq!(e, Refusal::Missing("af"));
    }
}
