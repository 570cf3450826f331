//! The IBCF (TS 23.228 §4.14, TS 24.229 §5.10): where an IMS network meets others. Requests
//! from the enterprise's SIP trunk enter the network at the S-CSCF's originating services;
//! requests for another operator's domain leave over the NNI to that operator's IBCF; requests
//! arriving over the NNI for our domain go to our S-CSCF.
//!
//! For the threat of TR 33.790 §5.1.2 ("the ID's transfer between IMS networks may be
//! manipulated by intermediary network entities"), an egress IBCF can be switched into an
//! attacker that rewrites the INVITE on its way out ([`Tamper`]); it says what it did in the
//! trace (choice `threat-nni`) as a `Tamper` action. Its routing decisions are `Route` actions.
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;

use kit::Error;
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use kit::sipnode::{self, SipNode};
use proto::sip::proxy::prepare_forward;
use proto::sip::{Method, Request, Timers};
use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Note};
use stir::IdentityHeader;

/// A manipulation on the NNI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tamper {
    /// Rewrite the RCD name (in the `rcd` claims of every PASSporT carrying them, keeping the
    /// signature, and in the P-Asserted-Identity display name).
    RcdName(String),
    /// Replace the caller's number (P-Asserted-Identity and From) with another.
    CallerTn(String),
}

/// IBCF settings.
#[derive(Debug, Clone)]
pub struct IbcfConfig {
    /// Our home domain.
    pub domain: String,
    /// Our S-CSCF.
    pub scscf_host: String,
    /// Other operators' domains → their IBCF.
    pub peers: BTreeMap<String, String>,
    /// Domains whose requests arrive over a SIP trunk (the enterprise).
    pub trunk_domains: Vec<String>,
    /// The NNI attacker, when the threat is switched on (egress only).
    pub tamper: Option<Tamper>,
    /// SIP timers (RFC 3261 §17).
    pub timers: Timers,
}

/// Where a request goes (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// From the trunk: into our S-CSCF's originating services.
    TrunkToScscf,
    /// Out over the NNI to this peer IBCF.
    Nni(String),
    /// Arrived over the NNI for our domain: to our S-CSCF.
    ToScscf,
    /// Follow the route set / Request-URI.
    Onward,
}

impl IbcfConfig {
    /// Where an initial INVITE goes (pure): from a trunk domain (by the top Via) into the
    /// S-CSCF's originating services; for our domain to the S-CSCF; for a peer's domain over
    /// the NNI. Anything else, or anything routed beyond this IBCF, follows its route set.
    pub fn next(&self, request: &Request, me: &str) -> Next {
        let routes = sipmsg::route_uris(&request.headers);
        let beyond_me = routes.iter().filter(|r| sipmsg::uri_host(r) != me).count();
        if beyond_me > 0 || request.method != Method::Invite {
            return Next::Onward;
        }
        let via_host = sipmsg::first(&request.headers, "Via")
            .and_then(|v| v.split_whitespace().nth(1))
            .map(|sent_by| {
                sent_by
                    .split([':', ';'])
                    .next()
                    .unwrap_or(sent_by)
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if self
            .trunk_domains
            .iter()
            .any(|d| via_host.ends_with(&format!(".{d}")) || via_host == *d)
        {
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
}

/// One Identity header value with the `nam` of its `rcd` claims set to `name`, the signature
/// kept; none when it carries no `rcd` claims (or does not parse).
fn rewrite_rcd_name(value: &str, name: &str) -> Option<String> {
    let mut h = IdentityHeader::parse(value).ok()?;
    let mut parts = h.jws.split('.');
    let (head, payload, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let mut claims: serde_json::Value =
        serde_json::from_slice(&stir::jose::b64u_decode(payload, stir::Part::Payload).ok()?)
            .ok()?;
    claims
        .get_mut("rcd")?
        .as_object_mut()?
        .insert("nam".into(), name.into());
    let payload = stir::jose::b64u(&stir::jose::canonical_json(&claims).ok()?);
    h.jws = format!("{head}.{payload}.{sig}");
    Some(h.to_header())
}

/// [`Tamper::RcdName`]: the name in every PASSporT with `rcd` claims (the `rcd` type, or
/// `shaken` carrying them) and in the P-Asserted-Identity display name.
fn tamper_rcd_name(invite: &mut Request, name: &str) -> Option<String> {
    let mut changed = false;
    let identities: Vec<String> = sipmsg::values(&invite.headers, "Identity")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut out = Vec::new();
    for value in identities {
        let rewritten = rewrite_rcd_name(&value, name);
        changed |= rewritten.is_some();
        out.push(rewritten.unwrap_or(value));
    }
    sipmsg::remove(&mut invite.headers, "Identity");
    for v in out {
        sipmsg::push(&mut invite.headers, "Identity", v);
    }
    if let Some(mut pai) =
        sipmsg::first(&invite.headers, "P-Asserted-Identity").and_then(NameAddr::parse)
    {
        pai.display = Some(name.to_owned());
        sipmsg::set(&mut invite.headers, "P-Asserted-Identity", pai.render());
        changed = true;
    }
    changed.then(|| format!("rewrote the RCD name to {name:?} in the rcd PASSporT (signature kept) and in P-Asserted-Identity"))
}

/// [`Tamper::CallerTn`]: the caller's number in P-Asserted-Identity and From.
fn tamper_caller_tn(invite: &mut Request, tn: &str) -> Option<String> {
    let mut changed = false;
    for header in ["P-Asserted-Identity", "From"] {
        if let Some(mut n) = sipmsg::first(&invite.headers, header).and_then(NameAddr::parse)
            && let Some(old) = n.tn()
        {
            n.uri = n.uri.replacen(&old, tn, 1);
            sipmsg::set(&mut invite.headers, header, n.render());
            changed = true;
        }
    }
    changed
        .then(|| format!("replaced the caller's number with {tn} in P-Asserted-Identity and From"))
}

/// Applies a manipulation to an outgoing INVITE; returns what was done (pure).
pub fn tamper(invite: &mut Request, how: &Tamper) -> Option<String> {
    match how {
        Tamper::RcdName(name) => tamper_rcd_name(invite, name),
        Tamper::CallerTn(tn) => tamper_caller_tn(invite, tn),
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
                        format!(
                            "THREAT (TR 33.790 §5.1.2, ID manipulated between networks): {done}"
                        ),
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
    let request = incoming.request().clone();
    let initial = request.method == Method::Invite && !incoming.is_ack();
    let next = if initial {
        config.next(&request, ep.host())
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
    for note in config.route(&next, &mut fwd) {
        ctx.note(Some(incoming.trace_id()), note);
    }
    sipnode::forward(&ep, &mut incoming, fwd).await;
}

/// Starts the IBCF.
pub async fn start(ctx: &Ctx, config: IbcfConfig) -> Result<SipNode, Error> {
    let ep = sipnode::bind(ctx, config.timers).await?;
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

    #[test]
    fn caller_tn_tamper_rewrites_both_headers() {
        let mut r = invite("P-Asserted-Identity: \"Q\" <sip:+12025551000@ims.a;user=phone>\r\n");
        let done = tamper(&mut r, &Tamper::CallerTn("+12025551666".into())).unwrap();
        assert!(done.contains("+12025551666"));
        assert!(
            sipmsg::first(&r.headers, "From")
                .unwrap()
                .contains("+12025551666")
        );
        assert!(
            sipmsg::first(&r.headers, "P-Asserted-Identity")
                .unwrap()
                .contains("+12025551666")
        );
    }

    fn config() -> IbcfConfig {
        IbcfConfig {
            domain: "ims.a".into(),
            scscf_host: "scscf.ims.a".into(),
            peers: [("ims.b".to_owned(), "ibcf.ims.b".to_owned())].into(),
            trunk_domains: vec!["enterprise.example".into()],
            tamper: None,
            timers: Timers::default(),
        }
    }

    #[test]
    fn routing() {
        let c = config();
        assert_eq!(
            c.next(&invite("Route: <sip:ibcf.ims.a;lr>\r\n"), "ibcf.ims.a"),
            Next::Nni("ibcf.ims.b".into())
        );
        let trunk = Request::try_from(
            "INVITE sip:+12155551001@ims.b SIP/2.0\r\nVia: SIP/2.0/UDP pbx.enterprise.example:5;branch=z9hG4bK2\r\nFrom: <sip:+1@ims.a>;tag=1\r\nTo: <sip:+2@ims.b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(c.next(&trunk, "ibcf.ims.a"), Next::TrunkToScscf);
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

    #[test]
    fn rcd_name_tamper_rewrites_pai_display() {
        let mut r = invite("P-Asserted-Identity: \"Q\" <sip:+12025551000@ims.a;user=phone>\r\n");
        let done = tamper(&mut r, &Tamper::RcdName("Totally Legit Bank".into())).unwrap();
        assert!(done.contains("Totally Legit Bank"), "{done}");
        let pai =
            NameAddr::parse(sipmsg::first(&r.headers, "P-Asserted-Identity").unwrap()).unwrap();
        assert_eq!(pai.display.as_deref(), Some("Totally Legit Bank"));
        let mut bare = invite("");
        assert!(tamper(&mut bare, &Tamper::RcdName("X".into())).is_none());
    }
}
