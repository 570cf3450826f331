//! The P-CSCF's edge of the trust domain (RFC 3325, TS 24.229 §5.2.6.3, TS 33.203 §7): which
//! flow a registered public identity is bound to, where a request comes from (a registered
//! flow, the S-CSCF, or no one the P-CSCF answers for), and what a UE's request may not carry
//! into the network. Pure.
//!
//! A flow is the (transport, source address and port) a REGISTER arrived on; for TCP the
//! source is the connection's. The testbed uses it instead of IPsec security associations:
//! a request is from a registered UE only if it arrives on the flow that UE registered on. A
//! UE whose large requests go over TCP (RFC 3261 §18.1.1) opens that connection from another
//! port than its UDP one; as TS 33.203's SA pair protects both UDP and TCP of the same UE, a
//! flow whose source the world's address book names as the same UE as the registered flow's
//! counts as that UE's (the address book stands in for the network's knowledge of who owns an
//! address; it names only sockets their owner bound).

use std::fmt;
use std::net::SocketAddr;

use kit::tap::Layer;
use proto::sip::{Method, Request};
use proto::sipmsg;

/// Where a request arrived from: transport and source address (for TCP, the connection's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    /// UDP, or TCP (TLS included).
    pub layer: Layer,
    /// The source address and port.
    pub addr: SocketAddr,
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = match self.layer {
            Layer::Udp => "UDP",
            Layer::Tcp => "TCP",
        };
        write!(f, "{t} {}", self.addr)
    }
}

/// A registered public identity, bound to the flow it registered on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The public user identity registered (To of the REGISTER).
    pub impu: String,
    /// The Service-Route the S-CSCF returned in the 200 (RFC 3608), top first.
    pub service_route: Vec<String>,
    /// The node the world's address book names as the flow's owner, if any.
    pub owner: Option<String>,
}

/// Registered flows, most recent last.
#[derive(Debug, Default)]
pub struct Bindings(Vec<(Flow, Bound)>);

impl Bindings {
    /// Binds `bound` to `flow` (a re-registration on the flow replaces what it had).
    pub fn bind(&mut self, flow: Flow, bound: Bound) {
        self.0.retain(|(f, _)| *f != flow);
        self.0.push((flow, bound));
    }

    /// What is bound to `flow`; else, what was bound last to a flow of `owner` (the same UE's
    /// other transport).
    pub fn lookup(&self, flow: Flow, owner: Option<&str>) -> Option<&Bound> {
        self.0
            .iter()
            .rev()
            .find(|(f, _)| *f == flow)
            .or_else(|| {
                let owner = owner?;
                self.0
                    .iter()
                    .rev()
                    .find(|(_, b)| b.owner.as_deref() == Some(owner))
            })
            .map(|(_, b)| b)
    }

    /// How many flows are bound.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where a request comes from, as far as the P-CSCF is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A REGISTER: onward to the S-CSCF, from any flow.
    Register,
    /// A registered UE, on its flow.
    Ue(Bound),
    /// The operator's core: its S-CSCF, or a node on a dialog's Record-Route path (the IMS AS
    /// that anchors data channels) — requests toward UEs.
    Core,
    /// Neither: refused (403).
    Unknown,
}

/// Where a request with `method` comes from: `bound` is what its flow is bound to, `from` the
/// node the address book names as its source, `core` the operator's nodes that send toward
/// UEs. Pure.
pub fn origin(
    method: Method,
    bound: Option<&Bound>,
    from: Option<&str>,
    core: &[String],
) -> Origin {
    match (method, bound) {
        (Method::Register, _) => Origin::Register,
        (_, Some(b)) => Origin::Ue(b.clone()),
        _ if from.is_some_and(|f| core.iter().any(|c| c == f)) => Origin::Core,
        _ => Origin::Unknown,
    }
}

/// The routing markers only the trust domain writes (TS 24.229 §5.4.3.3; the testbed's S-CSCF
/// markers).
const MARKERS: [&str; 3] = ["orig", "orig-as", "term-as"];

/// `uri` without any routing marker parameter; `None` when it had none.
fn unmarked(uri: &str) -> Option<String> {
    let (main, headers) = match uri.split_once('?') {
        Some((m, h)) => (m, Some(h)),
        None => (uri, None),
    };
    let mut parts = main.split(';');
    let mut kept = vec![parts.next().unwrap_or_default().to_owned()];
    let mut removed = false;
    for p in parts {
        let name = p.split('=').next().unwrap_or(p);
        if MARKERS.contains(&name) {
            removed = true;
        } else {
            kept.push(p.to_owned());
        }
    }
    let mut out = kept.join(";");
    if let Some(h) = headers {
        out.push('?');
        out.push_str(h);
    }
    removed.then_some(out)
}

/// Removes from a UE's request (as it will be forwarded, this P-CSCF's own Route entry already
/// gone) what only the trust domain may write (RFC 3325 §5, TS 24.229 §5.2.6.3.3): any
/// P-Asserted-Identity and P-Served-User; on an initial request, a route set other than
/// `service_route`, which replaces it; on a request inside a dialog (its route set is the
/// dialog's), any routing marker. Returns what was removed, for the trace; nothing when the UE
/// wrote nothing it should not have.
pub fn strip_untrusted(fwd: &mut Request, initial: bool, service_route: &[String]) -> Vec<String> {
    let mut removed = Vec::new();
    for name in ["P-Asserted-Identity", "P-Served-User"] {
        if sipmsg::remove(&mut fwd.headers, name) > 0 {
            removed.push(name.to_owned());
        }
    }
    let routes = sipmsg::route_uris(&fwd.headers);
    if initial {
        if routes != service_route {
            if !routes.is_empty() {
                removed.push(format!("Route {}", routes.join(", ")));
            }
            sipmsg::set_routes(&mut fwd.headers, service_route);
        }
        return removed;
    }
    let cleaned: Vec<Option<String>> = routes.iter().map(|r| unmarked(r)).collect();
    if cleaned.iter().any(Option::is_some) {
        let marked: Vec<&str> = routes
            .iter()
            .zip(&cleaned)
            .filter(|(_, c)| c.is_some())
            .map(|(r, _)| r.as_str())
            .collect();
        removed.push(format!("routing marker in Route {}", marked.join(", ")));
        let routes: Vec<String> = routes
            .iter()
            .zip(cleaned)
            .map(|(r, c)| c.unwrap_or_else(|| r.clone()))
            .collect();
        sipmsg::set_routes(&mut fwd.headers, &routes);
    }
    removed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn flow(port: u16) -> Flow {
        Flow {
            layer: Layer::Udp,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn bound(impu: &str, owner: &str) -> Bound {
        Bound {
            impu: impu.into(),
            service_route: vec!["sip:scscf.ims.a;lr;orig".into()],
            owner: Some(owner.into()),
        }
    }

    #[test]
    fn flows_bound_and_found() {
        let mut b = Bindings::default();
        b.bind(flow(1), bound("sip:+1@ims.a", "ue-a"));
        b.bind(flow(2), bound("sip:+2@ims.a", "ue-m"));
        assert_eq!(b.lookup(flow(1), None).unwrap().impu, "sip:+1@ims.a");
        assert_eq!(b.lookup(flow(3), None), None);
        assert_eq!(b.lookup(flow(3), Some("ue-x")), None);
        let tcp = Flow {
            layer: Layer::Tcp,
            addr: SocketAddr::from(([127, 0, 0, 1], 40000)),
        };
        assert_eq!(
            b.lookup(tcp, Some("ue-a")).unwrap().impu,
            "sip:+1@ims.a",
            "the same UE's TCP connection"
        );
        b.bind(flow(1), bound("sip:+9@ims.a", "ue-a"));
        assert_eq!(b.len(), 2);
        assert_eq!(b.lookup(flow(1), None).unwrap().impu, "sip:+9@ims.a");
    }

    #[test]
    fn origins() {
        let b = bound("sip:+1@ims.a", "ue-a");
        let core = ["scscf".to_owned(), "as".to_owned()];
        assert_eq!(
            origin(Method::Register, None, None, &core),
            Origin::Register
        );
        assert_eq!(
            origin(Method::Invite, Some(&b), None, &core),
            Origin::Ue(b.clone())
        );
        assert_eq!(
            origin(Method::Invite, None, Some("scscf"), &core),
            Origin::Core
        );
        assert_eq!(origin(Method::Ack, None, Some("as"), &core), Origin::Core);
        assert_eq!(
            origin(Method::Bye, None, Some("ue-m"), &core),
            Origin::Unknown
        );
        assert_eq!(origin(Method::Invite, None, None, &core), Origin::Unknown);
    }

    fn request(to_tag: bool, extra: &str) -> Request {
        let tag = if to_tag { ";tag=2" } else { "" };
        let text = format!(
            "INVITE sip:+2@ims.b SIP/2.0\r\nVia: SIP/2.0/UDP ue:1;branch=z9hG4bK1\r\n{extra}From: <sip:+1@ims.a>;tag=1\r\nTo: <sip:+2@ims.b>{tag}\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).unwrap()
    }

    const SERVICE_ROUTE: &str = "sip:scscf.ims.a;lr;orig";

    #[test]
    fn an_honest_initial_request_loses_nothing() {
        let mut r = request(false, &format!("Route: <{SERVICE_ROUTE}>\r\n"));
        let before = r.clone();
        assert!(strip_untrusted(&mut r, true, &[SERVICE_ROUTE.into()]).is_empty());
        assert_eq!(r, before);
    }

    #[test]
    fn what_the_ue_wrote_for_the_trust_domain_is_removed() {
        let mut r = request(
            false,
            "Route: <sip:scscf.ims.a;lr;orig>, <sip:as.ims.a;lr>\r\nP-Asserted-Identity: <sip:+1000@ims.a>\r\nP-Served-User: <sip:+1000@ims.a>\r\n",
        );
        let removed = strip_untrusted(&mut r, true, &[SERVICE_ROUTE.into()]);
        assert_eq!(
            removed,
            [
                "P-Asserted-Identity",
                "P-Served-User",
                "Route sip:scscf.ims.a;lr;orig, sip:as.ims.a;lr"
            ]
        );
        assert_eq!(sipmsg::route_uris(&r.headers), [SERVICE_ROUTE]);
        assert!(sipmsg::first(&r.headers, "P-Asserted-Identity").is_none());
        // No route at all: the Service-Route is set, nothing was removed.
        let mut r = request(false, "");
        assert!(strip_untrusted(&mut r, true, &[SERVICE_ROUTE.into()]).is_empty());
        assert_eq!(sipmsg::route_uris(&r.headers), [SERVICE_ROUTE]);
    }

    #[test]
    fn in_a_dialog_only_markers_go() {
        let dialog = "Route: <sip:scscf.ims.a;lr>, <sip:as.ims.a;lr>\r\n";
        let mut r = request(true, dialog);
        let before = r.clone();
        assert!(strip_untrusted(&mut r, false, &[SERVICE_ROUTE.into()]).is_empty());
        assert_eq!(r, before);
        let mut r = request(
            true,
            "Route: <sip:scscf.ims.a;orig;lr>, <sip:as.ims.a;lr>\r\n",
        );
        let removed = strip_untrusted(&mut r, false, &[SERVICE_ROUTE.into()]);
        assert_eq!(removed, ["routing marker in Route sip:scscf.ims.a;orig;lr"]);
        assert_eq!(
            sipmsg::route_uris(&r.headers),
            ["sip:scscf.ims.a;lr", "sip:as.ims.a;lr"]
        );
    }

    #[test]
    fn markers_removed_from_uris() {
        assert_eq!(unmarked("sip:s;lr"), None);
        assert_eq!(unmarked("sip:s;lr;orig").as_deref(), Some("sip:s;lr"));
        assert_eq!(
            unmarked("sip:s;term-as;lr;orig-as=1?x=y").as_deref(),
            Some("sip:s;lr?x=y")
        );
        assert_eq!(unmarked("sip:s;origin"), None);
    }
}
