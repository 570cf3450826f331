//! The IBCF (TS 23.228 §4.14, TS 24.229 §5.10): where an IMS network meets others. Requests
//! from the enterprise's SIP trunk enter the network at the S-CSCF's originating services;
//! requests for another operator's domain leave over the NNI to that operator's IBCF; requests
//! arriving over the NNI for our domain go to our S-CSCF.
//!
//! The trunk ([`Trunk`], in `trunk`) is identified by mutual TLS (TR 33.790 §6.2.2.2 NOTE 2,
//! TS 23.228 Annex S.2.2): the IBCF listens for it on a TLS listener of its own, and a request
//! is the trunk's only when it came there with the trunk's client certificate
//! ([`Act::IdentifyTrunk`]). Anything else claiming to be the trunk is refused with 403. For
//! the identified trunk the IBCF removes what the PBX may not write, asserts the number it
//! claims and names the trunk in P-Served-User, for the IMS AS's attestation.
//!
//! For the threat of TR 33.790 §5.1.2 ("the ID's transfer between IMS networks may be
//! manipulated by intermediary network entities"), an egress IBCF can be switched into an
//! attacker that rewrites the INVITE on its way out ([`Tamper`], in `tamper`); it says what it
//! did in the trace (choice `threat-nni`) as a `Tamper` action. Its routing decisions are
//! `Route` actions.
#![warn(missing_docs)]

mod tamper;
mod trunk;

use std::collections::BTreeMap;
use std::sync::Arc;

use kit::Error;
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming, TlsConfig};
use kit::sipnode::{self, SipNode};
use proto::sip::proxy::prepare_forward;
use proto::sip::{Method, Request, Response, Timers};
use proto::sipmsg;
use proto::trace::{Act, Note};

pub use tamper::{Tamper, tamper, tamper_answer};
pub use trunk::{Trunk, TrunkCheck};

/// IBCF settings.
#[derive(Debug, Clone)]
pub struct IbcfConfig {
    /// Our home domain.
    pub domain: String,
    /// Our S-CSCF.
    pub scscf_host: String,
    /// Other operators' domains → their IBCF.
    pub peers: BTreeMap<String, String>,
    /// The enterprise's SIP trunk, when this IBCF serves one: it then listens for it over TLS
    /// ([`Endpoint::tls_addr`]; publish it in DNS with `kit::dns::Entry::with_sips`).
    pub trunk: Option<Trunk>,
    /// The NNI attacker, when the threat is switched on (egress only).
    pub tamper: Option<Tamper>,
    /// The NNI attacker on the answers to the INVITEs that came in over the NNI (solution 8:
    /// the callee's signed 200 on its way back), when the threat is switched on.
    pub answer_tamper: Option<Tamper>,
    /// SIP timers (RFC 3261 §17).
    pub timers: Timers,
}

/// Where a request goes (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// From the identified trunk: into our S-CSCF's originating services.
    TrunkToScscf,
    /// Out over the NNI to this peer IBCF.
    Nni(String),
    /// Arrived over the NNI for our domain: to our S-CSCF.
    ToScscf,
    /// Follow the route set / Request-URI.
    Onward,
}

impl IbcfConfig {
    /// Where an initial INVITE goes (pure): from the identified trunk (`from_trunk`, see
    /// [`IbcfConfig::trunk_check`]) into the S-CSCF's originating services; for our domain to
    /// the S-CSCF; for a peer's domain over the NNI. Anything else, or anything routed beyond
    /// this IBCF, follows its route set.
    pub fn next(&self, request: &Request, me: &str, from_trunk: bool) -> Next {
        let routes = sipmsg::route_uris(&request.headers);
        let beyond_me = routes.iter().filter(|r| sipmsg::uri_host(r) != me).count();
        if beyond_me > 0 || request.method != Method::Invite {
            return Next::Onward;
        }
        if from_trunk {
            return Next::TrunkToScscf;
        }
        let target = request.uri.to_string();
        let domain = sipmsg::uri_host(&target).to_ascii_lowercase();
        if domain == self.domain {
            return Next::ToScscf;
        }
        self.peers
            .get(&domain)
            .map_or(Next::Onward, |peer| Next::Nni(peer.clone()))
    }

    /// How a request stands toward this IBCF's trunk (pure; see [`Trunk::check`]): not the
    /// trunk's when the IBCF serves none.
    pub fn trunk_check(&self, incoming: &Incoming) -> TrunkCheck {
        match &self.trunk {
            Some(trunk) if !incoming.is_ack() => trunk.check(
                incoming.request(),
                incoming.transport(),
                incoming.peer_identity().as_deref(),
            ),
            _ => TrunkCheck::NotTrunk,
        }
    }

    /// The note a trunk check is worth: the trunk identified, or a claim refused (pure).
    pub fn trunk_note(&self, check: &TrunkCheck) -> Option<Note> {
        let host = self.trunk.as_ref().map_or("", |t| t.host.as_str());
        match check {
            TrunkCheck::NotTrunk => None,
            TrunkCheck::Identified => Some(Note::done(
                Act::IdentifyTrunk,
                format!("the trunk {host}, by its TLS client certificate"),
            )),
            TrunkCheck::Refused { reason, why } => Some(Note::refused(
                Act::IdentifyTrunk,
                *reason,
                format!("a request claiming to be the trunk {host} refused with 403: {why}"),
            )),
        }
    }
}

impl IbcfConfig {
    /// Carries a routing decision out on the request to forward (its route set, and the NNI
    /// attacker's change on egress when switched on) and returns the notes it is worth: `Route`
    /// for trunk ingress, NNI egress and NNI ingress; `Tamper` for the attacker's change (pure).
    pub fn route(&self, next: &Next, fwd: &mut Request) -> Vec<Note> {
        let mut notes = Vec::new();
        match next {
            Next::TrunkToScscf => {
                sipmsg::set_routes(
                    &mut fwd.headers,
                    &[format!("sip:{};lr;orig", self.scscf_host)],
                );
                notes.push(Note::done(
                    Act::Route,
                    "request from the enterprise SIP trunk: into the S-CSCF's originating services",
                ));
            }
            Next::Nni(peer) => {
                sipmsg::set_routes(&mut fwd.headers, &[format!("sip:{peer};lr")]);
                notes.push(Note::done(
                    Act::Route,
                    format!("egress over the NNI to {peer}"),
                ));
                if let Some(how) = &self.tamper
                    && let Some(done) = tamper(fwd, how)
                {
                    notes.push(Note::done(
                        Act::Tamper,
                        format!("THREAT ({}): {done}", how.threat()),
                    ));
                }
            }
            Next::ToScscf => {
                sipmsg::set_routes(&mut fwd.headers, &[format!("sip:{};lr", self.scscf_host)]);
                notes.push(Note::done(
                    Act::Route,
                    "ingress from the NNI: to the S-CSCF",
                ));
            }
            Next::Onward => {}
        }
        notes
    }
}

async fn handle(ep: Endpoint, mut incoming: Incoming, ctx: Ctx, config: Arc<IbcfConfig>) {
    if !sipnode::forwardable(&mut incoming).await {
        return;
    }
    let id = Some(incoming.trace_id());
    let check = config.trunk_check(&incoming);
    if let Some(note) = config.trunk_note(&check) {
        ctx.note(id, note);
    }
    if matches!(check, TrunkCheck::Refused { .. }) {
        sipnode::refuse(&mut incoming, 403, "Forbidden").await;
        return;
    }
    let request = incoming.request().clone();
    let initial = request.method == Method::Invite && !incoming.is_ack();
    let next = if initial {
        config.next(&request, ep.host(), check == TrunkCheck::Identified)
    } else {
        Next::Onward
    };
    let branch = ep.next_branch();
    let mut fwd = match prepare_forward(
        &request,
        ep.host(),
        ep.local_addr(),
        incoming.transport(),
        &branch,
        initial,
    ) {
        Ok(f) => f,
        Err(answer) => {
            let _ = incoming.respond(answer).await;
            return;
        }
    };
    if let (TrunkCheck::Identified, Some(trunk)) = (&check, &config.trunk) {
        for note in trunk.assert_identity(&mut fwd) {
            ctx.note(id, note);
        }
    }
    for note in config.route(&next, &mut fwd) {
        ctx.note(id, note);
    }
    if let (Next::ToScscf, Some(how)) = (&next, &config.answer_tamper) {
        let mut editor = AnswerTamper {
            ctx: ctx.clone(),
            msg: id,
            how: how.clone(),
        };
        sipnode::forward_edited(&ep, &mut incoming, fwd, Some(&mut editor)).await;
        return;
    }
    sipnode::forward(&ep, &mut incoming, fwd).await;
}

/// The NNI attacker on the answers going back over the NNI ([`IbcfConfig::answer_tamper`]).
struct AnswerTamper {
    ctx: Ctx,
    msg: Option<u64>,
    how: Tamper,
}

impl sipnode::EditResponse for AnswerTamper {
    fn edit(&mut self, mut response: Response) -> kit::http::BoxFuture<'_, Response> {
        if (200..300).contains(&response.status_code.code())
            && let Some(done) = tamper_answer(&mut response, &self.how)
        {
            let label = format!("THREAT ({}): {done}", self.how.threat());
            self.ctx.note(self.msg, Note::done(Act::Tamper, label));
        }
        Box::pin(std::future::ready(response))
    }
}

/// Starts the IBCF; with a trunk, also its TLS listener for the trunk
/// ([`Endpoint::tls_addr`] on the returned node's endpoint).
pub async fn start(ctx: &Ctx, config: IbcfConfig) -> Result<SipNode, Error> {
    let tls = config
        .trunk
        .as_ref()
        .map(|t| TlsConfig::listener(t.client_auth))
        .unwrap_or_default();
    let ep = sipnode::bind_tls(ctx, config.timers, tls).await?;
    let (ctx, config) = (ctx.clone(), Arc::new(config));
    Ok(sipnode::serve(ep, move |ep, incoming| {
        handle(ep, incoming, ctx.clone(), config.clone())
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn invite(extra: &str) -> Request {
        let text = format!(
            "INVITE sip:+12155551001@ims.b;user=phone SIP/2.0\r\nVia: SIP/2.0/UDP scscf.ims.a:1;branch=z9hG4bK1\r\n{extra}From: \"Q\" <sip:+12025551000@ims.a;user=phone>;tag=1\r\nTo: <sip:+12155551001@ims.b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).unwrap()
    }

    fn config() -> IbcfConfig {
        IbcfConfig {
            domain: "ims.a".into(),
            scscf_host: "scscf.ims.a".into(),
            peers: [("ims.b".to_owned(), "ibcf.ims.b".to_owned())].into(),
            trunk: Some(Trunk {
                host: "pbx.enterprise.example".into(),
                domain: "enterprise.example".into(),
                client_auth: kit::node::ClientAuth::Required,
            }),
            tamper: None,
            answer_tamper: None,
            timers: Timers::default(),
        }
    }

    #[test]
    fn routing() {
        let c = config();
        assert_eq!(
            c.next(
                &invite("Route: <sip:ibcf.ims.a;lr>\r\n"),
                "ibcf.ims.a",
                false
            ),
            Next::Nni("ibcf.ims.b".into())
        );
        let trunk = Request::try_from(
            "INVITE sip:+12155551001@ims.b SIP/2.0\r\nVia: SIP/2.0/TLS pbx.enterprise.example:5;branch=z9hG4bK2\r\nFrom: <sip:+1@ims.a>;tag=1\r\nTo: <sip:+2@ims.b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        // Only the identified trunk enters at the originating services; its Via proves nothing.
        assert_eq!(c.next(&trunk, "ibcf.ims.a", true), Next::TrunkToScscf);
        assert_eq!(
            c.next(&trunk, "ibcf.ims.a", false),
            Next::Nni("ibcf.ims.b".into())
        );
    }

    #[test]
    fn trunk_notes_are_typed() {
        use proto::trace::{Outcome, Reason};
        let c = config();
        assert_eq!(c.trunk_note(&TrunkCheck::NotTrunk), None);
        let done = c.trunk_note(&TrunkCheck::Identified).unwrap();
        assert_eq!(done.action(), Some((Act::IdentifyTrunk, Outcome::Done)));
        let refused = c
            .trunk_note(&TrunkCheck::Refused {
                reason: Reason::NotAuthorised,
                why: "no certificate".into(),
            })
            .unwrap();
        assert_eq!(
            refused.action(),
            Some((Act::IdentifyTrunk, Outcome::Refused(Reason::NotAuthorised)))
        );
    }

    fn actions(notes: &[Note]) -> Vec<(Act, proto::trace::Outcome)> {
        notes.iter().filter_map(Note::action).collect()
    }

    #[test]
    fn routing_notes_and_the_nni_attacker() {
        use proto::trace::Outcome::Done;
        let mut c = config();
        let mut fwd = invite("P-Asserted-Identity: \"Q\" <sip:+12025551000@ims.a;user=phone>\r\n");
        let notes = c.route(&Next::Nni("ibcf.ims.b".into()), &mut fwd);
        assert_eq!(actions(&notes), [(Act::Route, Done)]);
        assert_eq!(sipmsg::route_uris(&fwd.headers), ["sip:ibcf.ims.b;lr"]);

        c.tamper = Some(Tamper::CallerTn("+12025551666".into()));
        let notes = c.route(&Next::Nni("ibcf.ims.b".into()), &mut fwd);
        assert_eq!(actions(&notes), [(Act::Route, Done), (Act::Tamper, Done)]);
        assert!(
            sipmsg::first(&fwd.headers, "From")
                .unwrap()
                .contains("+12025551666")
        );
        let Note::Action { label, .. } = &notes[1] else {
            panic!("{notes:?}")
        };
        assert!(label.starts_with("THREAT (TR 33.790 §5.1.2"), "{label}");

        // Only egress is tampered with; ingress and the trunk are routes.
        let mut fwd = invite("");
        let notes = c.route(&Next::ToScscf, &mut fwd);
        assert_eq!(actions(&notes), [(Act::Route, Done)]);
        assert!(
            sipmsg::first(&fwd.headers, "From")
                .unwrap()
                .contains("+12025551000")
        );
        assert_eq!(sipmsg::route_uris(&fwd.headers), ["sip:scscf.ims.a;lr"]);
        let notes = c.route(&Next::TrunkToScscf, &mut fwd);
        assert_eq!(actions(&notes), [(Act::Route, Done)]);
        assert_eq!(
            sipmsg::route_uris(&fwd.headers),
            ["sip:scscf.ims.a;lr;orig"]
        );
        assert!(c.route(&Next::Onward, &mut fwd).is_empty());
    }
}
