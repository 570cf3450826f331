//! The originating IMS AS's decisions for TR 33.790 key issue #1, as pure functions over the
//! INVITE: who is calling whom ([`parties`]), and — whichever solution found it — what is
//! presented and signed ([`Presented`]): the Ms signing requests ([`signing_requests`], §6.2.2.2
//! step 4) and the headers the INVITE goes on with ([`apply`], steps 5–6). Each solution's own
//! decisions live in its flow file ([`crate::flows`]).

use std::collections::BTreeMap;

use proto::sipmsg::{self, NameAddr, Request};
use proto::trace::Reason;
use proto::wire::id3p::RcdRecord;
use stir::ms::SigningRequest;
use stir::{Attest, CallInfo, Dest, Orig, Rcd};

use crate::flows::Refusal;

/// The caller's number: from the P-Asserted-Identity the P-CSCF (or trunk IBCF) asserted,
/// else from From.
pub fn caller(invite: &Request) -> Option<NameAddr> {
    sipmsg::first(&invite.headers, "P-Asserted-Identity")
        .and_then(NameAddr::parse)
        .filter(|n| n.tn().is_some())
        .or_else(|| sipmsg::first(&invite.headers, "From").and_then(NameAddr::parse))
}

/// The callee's number, from the Request-URI (else To).
pub fn callee_tn(invite: &Request) -> Option<String> {
    NameAddr::parse(&invite.uri.to_string())
        .and_then(|n| n.tn())
        .or_else(|| {
            sipmsg::first(&invite.headers, "To")
                .and_then(NameAddr::parse)
                .and_then(|n| n.tn())
        })
}

/// Who the INVITE is from and to, as key issue #1 signs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parties {
    /// The caller, as asserted (else From).
    pub caller: NameAddr,
    /// The caller's telephone number (`orig`).
    pub caller_tn: String,
    /// The callee's telephone number (`dest`).
    pub callee_tn: String,
}

impl Parties {
    /// Asserts and signs `id` instead of the caller (solution 4 option B: the authorised 3P ID),
    /// keeping the caller's number if `id` is not a telephone number.
    pub fn assert_as(&mut self, id: NameAddr) {
        if let Some(tn) = id.tn() {
            self.caller_tn = tn;
        }
        self.caller = id;
    }
}

/// The parties to sign for, or why the AS adds no identity (a caller that is not a telephone
/// number has nothing the STI-AS could sign).
pub fn parties(invite: &Request) -> Result<Parties, Refusal> {
    let missing = |label: &str| Refusal::new(Reason::MissingIdentity, label);
    let caller = caller(invite)
        .ok_or_else(|| missing("no caller identity in the INVITE: nothing to sign"))?;
    let (Some(caller_tn), Some(callee_tn)) = (caller.tn(), callee_tn(invite)) else {
        return Err(missing(
            "caller or callee is not a telephone number: nothing to sign",
        ));
    };
    Ok(Parties {
        caller,
        caller_tn,
        callee_tn,
    })
}

/// What the originating network presents for the caller, whichever solution found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Presented {
    /// RFC 9795 `rcd` claims; `nam` is the name the callee is shown.
    pub rcd: Rcd,
    /// Digests the AS computed itself over content it fetched (else the STI-AS computes them).
    pub rcdi: Option<BTreeMap<String, String>>,
    /// RFC 9795 §6.3 call reason.
    pub crn: Option<String>,
    /// Sign the `rcd` claims inside the `shaken` PASSporT (solution 1, choice `6.1-passport`)
    /// rather than as a separate `rcd` PASSporT.
    pub in_shaken: bool,
}

impl Presented {
    /// Solution 2: one of the 3P ID server's records.
    pub fn from_record(r: &RcdRecord) -> Self {
        Presented {
            rcd: Rcd {
                nam: Some(r.nam.clone()),
                jcl: r.jcl.clone(),
                icn: r.icn.clone(),
                ..Rcd::default()
            },
            rcdi: None,
            crn: r.crn.clone(),
            in_shaken: false,
        }
    }

    /// The name the callee is shown.
    pub fn name(&self) -> Option<&str> {
        self.rcd.nam.as_deref()
    }
}

/// The `fn` (formatted name) of a jCard (RFC 7095), the name a card presents.
pub fn jcard_name(jcard: &serde_json::Value) -> Option<String> {
    jcard.get(1)?.as_array()?.iter().find_map(|prop| {
        (prop.get(0)?.as_str()? == "fn")
            .then(|| prop.get(3)?.as_str().map(str::to_owned))
            .flatten()
    })
}

/// The Ms signing requests: always `shaken` for the caller's number; `rcd` too when something
/// is presented (choice `6.2-ms-two-requests`), unless it rides in the `shaken` one.
pub fn signing_requests(
    caller_tn: &str,
    callee_tn: &str,
    iat: i64,
    attest: Attest,
    presented: Option<&Presented>,
) -> Vec<SigningRequest> {
    let mut shaken = SigningRequest {
        ppt: None,
        attest: Some(attest),
        dest: Dest::tn(callee_tn),
        iat,
        orig: Orig::tn(caller_tn),
        origid: None,
        rcd: None,
        rcdi: None,
        crn: None,
        avatar: None,
        request_id: None,
    };
    match presented {
        None => vec![shaken],
        Some(p) if p.in_shaken => {
            shaken.rcd = Some(p.rcd.clone());
            shaken.rcdi.clone_from(&p.rcdi);
            shaken.crn.clone_from(&p.crn);
            vec![shaken]
        }
        Some(p) => {
            let rcd = SigningRequest {
                ppt: Some("rcd".into()),
                attest: None,
                rcd: Some(p.rcd.clone()),
                rcdi: p.rcdi.clone(),
                crn: p.crn.clone(),
                ..shaken.clone()
            };
            vec![shaken, rcd]
        }
    }
}

/// Asserts the caller (P-Asserted-Identity with the presented name), adds the Identity headers
/// and, for an RCD URL, Call-Info with the jCard URL and call reason (RFC 9796).
pub fn apply(
    invite: &mut Request,
    caller: &NameAddr,
    identities: &[String],
    presented: Option<&Presented>,
) {
    let mut pai = NameAddr {
        display: presented.and_then(|p| p.name().map(str::to_owned)),
        uri: caller.uri.clone(),
        params: String::new(),
    };
    if pai.display.is_none() {
        pai.display.clone_from(&caller.display);
    }
    sipmsg::set(&mut invite.headers, "P-Asserted-Identity", pai.render());
    for identity in identities {
        sipmsg::push(&mut invite.headers, "Identity", identity.clone());
    }
    if let Some(p) = presented
        && let Some(jcl) = p.rcd.jcl.as_deref()
    {
        let info = CallInfo::rcd_jcard(jcl, p.crn.as_deref());
        sipmsg::push(&mut invite.headers, "Call-Info", info.to_header());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(id: &str, default: bool) -> RcdRecord {
        RcdRecord {
            id: id.into(),
            nam: id.into(),
            jcl: Some(format!("https://id/{id}.json")),
            icn: None,
            crn: None,
            default,
        }
    }

    #[test]
    fn signing_requests_shaken_then_rcd() {
        let reqs = signing_requests(
            "+12025551000",
            "+12155551001",
            5,
            Attest::A,
            Some(&Presented::from_record(&record("A", true))),
        );
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].ppt, None);
        assert_eq!(reqs[0].orig.tn.as_deref(), Some("12025551000"));
        assert_eq!(reqs[1].ppt.as_deref(), Some("rcd"));
        assert_eq!(reqs[1].rcd.as_ref().unwrap().nam.as_deref(), Some("A"));
        assert_eq!(signing_requests("+1", "+2", 5, Attest::A, None).len(), 1);
        let mut inside = Presented::from_record(&record("A", true));
        inside.in_shaken = true;
        let reqs = signing_requests("+1", "+2", 5, Attest::A, Some(&inside));
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].ppt, None);
        assert_eq!(reqs[0].rcd.as_ref().unwrap().nam.as_deref(), Some("A"));
    }

    #[test]
    fn jcard_names() {
        let card: serde_json::Value = serde_json::from_str(
            r#"["vcard",[["version",{},"text","4.0"],["fn",{},"text","Q Branch"]]]"#,
        )
        .unwrap();
        assert_eq!(jcard_name(&card).as_deref(), Some("Q Branch"));
        assert_eq!(jcard_name(&serde_json::json!(["vcard", []])), None);
        assert_eq!(jcard_name(&serde_json::json!(null)), None);
    }

    fn invite(uri: &str, from: &str, pai: Option<&str>) -> Request {
        let pai = pai.map_or(String::new(), |p| format!("P-Asserted-Identity: {p}\r\n"));
        let text = format!(
            "INVITE {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP ue.test:5060;branch=z9hG4bKue1\r\n\
             {pai}\
             From: {from};tag=a1\r\n\
             To: <{uri}>\r\n\
             Call-ID: c1@ue.test\r\n\
             CSeq: 1 INVITE\r\n\
             Content-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).unwrap()
    }

    #[test]
    fn parties_from_the_asserted_identity() {
        let i = invite(
            "tel:+12155551001",
            "\"Q\" <sip:q@qbranch.example>",
            Some("<tel:+12025551000>"),
        );
        let p = parties(&i).unwrap();
        assert_eq!(p.caller_tn, "+12025551000");
        assert_eq!(p.callee_tn, "+12155551001");
        let mut p = p;
        p.assert_as(NameAddr::parse("<tel:+12025550100>").unwrap());
        assert_eq!(p.caller_tn, "+12025550100");
        assert_eq!(p.caller.uri, "tel:+12025550100");
    }

    #[test]
    fn no_telephone_number_no_identity() {
        let i = invite("sip:bob@b.test", "<tel:+12025551000>", None);
        assert_eq!(
            parties(&i).unwrap_err().reason,
            Reason::MissingIdentity,
            "a callee that is not a number"
        );
        let i = invite("tel:+12155551001", "<sip:alice@a.test>", None);
        assert_eq!(parties(&i).unwrap_err().reason, Reason::MissingIdentity);
    }
}
