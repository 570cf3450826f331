//! The RFC 3325 trust domain: a request is a registered UE's only on the flow it registered
//! on; what a UE writes for the trust domain (P-Asserted-Identity, Route) is removed and
//! replaced; an `orig` request from outside the trust domain is not treated as originating.

use proto::sipmsg::{self, NameAddr};
use proto::trace::{Act, Outcome, Reason};
use ue::Forgery;

use super::{SCSCF, UE_A, UE_M, world};

/// The asserted identity's URI of a request.
fn pai(request: &proto::sip::Request) -> Option<String> {
    sipmsg::first(&request.headers, "P-Asserted-Identity")
        .and_then(NameAddr::parse)
        .map(|n| n.uri)
}

#[tokio::test]
async fn unbound_flow_refused() {
    let w = world().await;
    assert_eq!(w.ue_a.register().await.unwrap(), 200);
    // UE-M never registered, and writes UE-A's contact: its flow is bound to no one.
    w.ue_m.forge(Forgery::Contact(format!(
        "sip:+12025551000@{}",
        w.ue_a.endpoint().local_addr()
    )));
    let call = w.ue_m.call(UE_A, None).await.unwrap();
    assert_eq!(call.code, 403);
    assert_eq!(
        w.acts("pcscf-o"),
        [
            (Act::BindFlow, Outcome::Done),
            (Act::RefuseRequest, Outcome::Refused(Reason::NotAuthorised))
        ]
    );
    assert!(w.ue_a.received().is_empty());
}

#[tokio::test]
async fn what_the_ue_wrote_is_stripped_and_replaced() {
    let w = world().await;
    assert_eq!(w.ue_a.register().await.unwrap(), 200);
    assert_eq!(w.ue_m.register().await.unwrap(), 200);
    // UE-M claims UE-A's number and routes round the S-CSCF's originating services.
    w.ue_m.forge(Forgery::AssertedIdentity(UE_A.into()));
    w.ue_m.forge(Forgery::Route(vec![
        "sip:as.ims.mnc001.mcc001.3gppnetwork.org;lr".into(),
    ]));
    let call = w.ue_m.call(UE_A, None).await.unwrap();
    assert_eq!(call.code, 200, "{:?}", call.responses);
    assert_eq!(pai(&call.invite).as_deref(), Some(UE_A), "as UE-M sent it");

    let pcscf = w.acts("pcscf-o");
    assert_eq!(
        pcscf[2..],
        [
            (Act::StripUntrusted, Outcome::Done),
            (Act::AssertIdentity, Outcome::Done)
        ]
    );
    let strip = &w.actions("pcscf-o")[2].2;
    assert!(strip.contains("P-Asserted-Identity"), "{strip}");
    assert!(strip.contains("Route sip:as.ims.mnc001"), "{strip}");
    // UE-A is offered UE-M's own identity, through the S-CSCF's originating services.
    let offered = w.ue_a.received();
    assert_eq!(offered.len(), 1);
    assert_eq!(pai(&offered[0]), Some(format!("{UE_M};user=phone")));
    let routes = w.actions("scscf-o");
    assert!(
        routes
            .iter()
            .any(|(act, _, label)| *act == Act::Route && label.contains("originating")),
        "{routes:?}"
    );
    assert_eq!(w.ue_m.hang_up(&call).await.unwrap(), 200);
}

#[tokio::test]
async fn orig_straight_to_the_s_cscf_refused() {
    let w = world().await;
    assert_eq!(w.ue_a.register().await.unwrap(), 200);
    assert_eq!(w.ue_m.register().await.unwrap(), 200);
    // UE-M goes round its P-CSCF with the Service-Route it learned (`;orig`).
    w.ue_m.forge(Forgery::NextHop(SCSCF.into()));
    w.ue_m.forge(Forgery::AssertedIdentity(UE_A.into()));
    let call = w.ue_m.call(UE_A, None).await.unwrap();
    assert_eq!(call.code, 403);
    let routes = sipmsg::route_uris(&call.invite.headers);
    assert_eq!(routes, [format!("sip:{SCSCF};lr;orig")]);
    let scscf = w.actions("scscf-o");
    let (act, outcome, label) = scscf.last().unwrap();
    assert_eq!(
        (*act, *outcome),
        (Act::RefuseRequest, Outcome::Refused(Reason::NotAuthorised))
    );
    assert!(label.contains("from ue-m"), "{label}");
    assert!(label.contains("not treated as originating"), "{label}");
    assert!(w.ue_a.received().is_empty());

    // Honest again, the same UE calls through its P-CSCF.
    w.ue_m.clear_forgeries();
    let call = w.ue_m.call(UE_A, None).await.unwrap();
    assert_eq!(call.code, 200);
    assert_eq!(w.ue_m.hang_up(&call).await.unwrap(), 200);
}

#[tokio::test]
async fn the_same_ue_over_tcp_is_on_its_flow() {
    let w = world().await;
    assert_eq!(w.ue_a.register().await.unwrap(), 200);
    assert_eq!(w.ue_m.register().await.unwrap(), 200);
    // Larger than 1300 bytes: the INVITE goes over TCP (RFC 3261 §18.1.1), from another port
    // than the UDP one UE-A registered on; the address book names UE-A as its owner.
    let display = "Q".repeat(1400);
    let call = w.ue_a.call(UE_M, Some(&display)).await.unwrap();
    assert_eq!(call.code, 200, "{:?}", call.responses);
    let over_tcp = w.tap.records().into_iter().any(|r| {
        r.node == "ue-a"
            && matches!(&r.body, proto::trace::Body::Sent { message, .. }
                if message.transport == proto::trace::Transport::Tcp
                    && message.summary.starts_with("INVITE"))
    });
    assert!(over_tcp);
    assert_eq!(
        w.acts("pcscf-o")[2..],
        [(Act::AssertIdentity, Outcome::Done)]
    );
    assert_eq!(
        pai(&w.ue_m.received()[0]),
        Some(format!("{UE_A};user=phone"))
    );
    assert_eq!(w.ue_a.hang_up(&call).await.unwrap(), 200);
}

#[tokio::test]
async fn unmarked_straight_to_the_s_cscf_loses_its_identity() {
    let w = world().await;
    assert_eq!(w.ue_a.register().await.unwrap(), 200);
    // UE-M, unregistered, sends to the S-CSCF without a marker, asserting UE-A's number: the
    // S-CSCF takes it as terminating, without the identity.
    w.ue_m.forge(Forgery::NextHop(SCSCF.into()));
    w.ue_m.forge(Forgery::AssertedIdentity(UE_A.into()));
    let call = w.ue_m.call(UE_A, None).await.unwrap();
    assert_eq!(call.code, 200, "{:?}", call.responses);
    assert_eq!(
        sipmsg::route_uris(&call.invite.headers),
        [format!("sip:{SCSCF};lr")]
    );
    let stripped = w
        .actions("scscf-o")
        .into_iter()
        .find(|(act, _, _)| *act == Act::StripUntrusted)
        .unwrap();
    assert_eq!(stripped.1, Outcome::Done);
    assert!(
        stripped.2.contains("from a request of ue-m"),
        "{}",
        stripped.2
    );
    assert_eq!(pai(&w.ue_a.received()[0]), None);
    assert_eq!(w.ue_m.hang_up(&call).await.unwrap(), 200);
}
