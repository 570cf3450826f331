//! The IBCF (TS 23.228 §4.14, TS 24.229 §5.10): where an IMS network meets others. Requests
//! from the enterprise's SIP trunk enter the network at the S-CSCF's originating services;
//! requests for another operator's domain leave over the NNI to that operator's IBCF; requests
//! arriving over the NNI for our domain go to our S-CSCF.
//!
//! For the threat of TR 33.790 §5.1.2 ("the ID's transfer between IMS networks may be
//! manipulated by intermediary network entities"), an egress IBCF can be switched into an
//! attacker that rewrites the INVITE on its way out ([`Tamper`]); it says what it did in the
//! trace (choice `threat-nni`).

use std::collections::BTreeMap;
use std::sync::Arc;

use kit::Error;
use kit::node::Ctx;
use kit::sip::{Endpoint, Incoming};
use kit::sipnode::{self, SipNode};
use proto::sip::proxy::prepare_forward;
use proto::sip::{Method, Request, Timers};
use proto::sipmsg::{self, NameAddr};
use proto::trace::Note;
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
    pub tamper: Option<Tamper>,
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

/// Applies a manipulation to an outgoing INVITE; returns what was done (pure).
pub fn tamper(invite: &mut Request, how: &Tamper) -> Option<String> {
    match how {
        Tamper::RcdName(name) => {
            let mut changed = false;
            let identities: Vec<String> = sipmsg::values(&invite.headers, "Identity")
                .into_iter()
                .map(str::to_owned)
                .collect();
            let mut out = Vec::new();
            for value in identities {
                // Any PASSporT with `rcd` claims: the `rcd` type, or `shaken` carrying them.
                let rewritten = IdentityHeader::parse(&value).ok().and_then(|mut h| {
                    let mut parts = h.jws.split('.');
                    let (head, payload, sig) = (parts.next()?, parts.next()?, parts.next()?);
                    let mut claims: serde_json::Value = serde_json::from_slice(
                        &stir::jose::b64u_decode(payload, stir::Part::Payload).ok()?,
                    )
                    .ok()?;
                    claims
                        .get_mut("rcd")?
                        .as_object_mut()?
                        .insert("nam".into(), name.clone().into());
                    let payload = stir::jose::b64u(&stir::jose::canonical_json(&claims).ok()?);
                    h.jws = format!("{head}.{payload}.{sig}");
                    Some(h.to_header())
                });
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
                pai.display = Some(name.clone());
                sipmsg::set(&mut invite.headers, "P-Asserted-Identity", pai.render());
                changed = true;
            }
            changed.then(|| format!("rewrote the RCD name to {name:?} in the rcd PASSporT (signature kept) and in P-Asserted-Identity"))
        }
        Tamper::CallerTn(tn) => {
            let mut changed = false;
            for header in ["P-Asserted-Identity", "From"] {
                if let Some(mut n) =
                    sipmsg::first(&invite.headers, header).and_then(NameAddr::parse)
                    && let Some(old) = n.tn()
                {
                    n.uri = n.uri.replacen(&old, tn, 1);
                    sipmsg::set(&mut invite.headers, header, n.render());
                    changed = true;
                }
            }
            changed.then(|| {
                format!("replaced the caller's number with {tn} in P-Asserted-Identity and From")
            })
        }
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
    let note = |label: String| ctx.note(Some(incoming.trace_id()), Note::Action { label });
    match &next {
        Next::TrunkToScscf => {
            sipmsg::set_routes(
                &mut fwd.headers,
                &[format!("sip:{};lr;orig", config.scscf_host)],
            );
            note(
                "request from the enterprise SIP trunk: into the S-CSCF's originating services"
                    .into(),
            );
        }
        Next::Nni(peer) => {
            sipmsg::set_routes(&mut fwd.headers, &[format!("sip:{peer};lr")]);
            note(format!("egress over the NNI to {peer}"));
            if let Some(how) = &config.tamper
                && let Some(done) = tamper(&mut fwd, how)
            {
                note(format!(
                    "THREAT (TR 33.790 §5.1.2, ID manipulated between networks): {done}"
                ));
            }
        }
        Next::ToScscf => {
            sipmsg::set_routes(&mut fwd.headers, &[format!("sip:{};lr", config.scscf_host)]);
            note("ingress from the NNI: to the S-CSCF".into());
        }
        Next::Onward => {}
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

    #[test]
    fn routing() {
        let c = IbcfConfig {
            domain: "ims.a".into(),
            scscf_host: "scscf.ims.a".into(),
            peers: [("ims.b".to_owned(), "ibcf.ims.b".to_owned())].into(),
            trunk_domains: vec!["enterprise.example".into()],
            tamper: None,
            timers: Timers::default(),
        };
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
}
