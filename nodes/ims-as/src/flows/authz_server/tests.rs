//! Tests of `authz_server`.
#![allow(clippy::unwrap_used)]
use super::*;
use proto::trace::Outcome;
use proto::wire::authz::NameCard;

fn subscription() -> Subscription {
    Subscription {
        impu: "sip:+12025551000@ims".into(),
        tn: "+12025551000".into(),
        third_party_ids: true,
        id_server: None,
        verification: false,
        id_info: None,
        id_info_url: None,
        rcd_urls: Vec::new(),
        rcd: None,
        authz_realm: None,
        id3p: None,
    }
}

#[test]
fn option_a_or_b_from_subscription_and_header() {
    let mut s = subscription();
    let b = authorization_request(
        Some(&s),
        Some(r#"Bearer realm="authz.example", 3pid="tel:+12025550100", token="t.o.k""#),
    )
    .unwrap();
    assert_eq!(b.option, AuthzOption::B);
    assert_eq!(b.impu, "sip:+12025551000@ims");
    assert_eq!(b.token.as_deref(), Some("t.o.k"));
    assert!(b.proof.is_none());
    let proved = authorization_request(
        Some(&s),
        Some(r#"Bearer realm="r", 3pid="tel:+1", nonce="n", proof="p""#),
    )
    .unwrap();
    assert_eq!(proved.proof.unwrap().nonce, "n");
    assert!(matches!(
        authorization_request(Some(&s), Some(r#"Digest realm="r", 3pid="x""#)),
        Err(NoRequest::Unreadable(_))
    ));
    assert!(matches!(
        authorization_request(Some(&s), Some(r#"Bearer 3pid="x""#)),
        Err(NoRequest::Unreadable(_))
    ));
    assert_eq!(
        authorization_request(Some(&s), None),
        Err(NoRequest::NothingAsked),
        "nothing asked"
    );
    assert_eq!(
        authorization_request(None, Some("Bearer realm=r, 3pid=x")),
        Err(NoRequest::NoSubscription)
    );
    assert_eq!(
        authorization_request(None, None),
        Err(NoRequest::NothingAsked)
    );
    s.third_party_ids = false;
    assert_eq!(
        authorization_request(Some(&s), Some("Bearer realm=r, 3pid=x")),
        Err(NoRequest::NotAllowed)
    );
    s.authz_realm = Some("authz.example".into());
    assert_eq!(
        authorization_request(Some(&s), None),
        Err(NoRequest::NotAllowed),
        "a designated IMPU whose subscription may not use 3P IDs"
    );
    s.third_party_ids = true;
    s.id3p = Some("tel:+12025550100".into());
    let a = authorization_request(Some(&s), None).unwrap();
    assert_eq!(a.option, AuthzOption::A);
    assert_eq!(a.id3p.as_deref(), Some("tel:+12025550100"));
}

#[test]
fn no_request_reasons() {
    assert_eq!(NoRequest::NothingAsked.refusal(), None);
    let reason = |n: NoRequest| n.refusal().unwrap().reason;
    assert_eq!(reason(NoRequest::NoSubscription), Reason::NotAuthorised);
    assert_eq!(reason(NoRequest::NotAllowed), Reason::NotAuthorised);
    assert_eq!(reason(NoRequest::Unreadable("x".into())), Reason::Malformed);
}

fn option(option: AuthzOption) -> AuthorizeRequest {
    AuthorizeRequest {
        impu: "sip:+12025551000@ims".into(),
        option,
        realm: Some("authz.example".into()),
        id3p: Some("tel:+12025550100".into()),
        token: None,
        proof: None,
    }
}

fn granted() -> AuthorizeResponse {
    AuthorizeResponse {
        authorized: true,
        reason: "ok".into(),
        denial: None,
        id3p: None,
        name_card: Some(NameCard {
            nam: "Q Branch".into(),
            jcl: "https://authz/cards/q.json".into(),
        }),
        challenge: None,
    }
}

fn refused(decision: Decision) -> (Reason, bool) {
    match decision {
        Decision::Refused { refusal, rejected } => (refusal.reason, rejected),
        other => panic!("not a refusal: {other:?}"),
    }
}

#[test]
fn a_grant_presents_the_name_card() {
    let Decision::Present {
        presented, as_id, ..
    } = decide(option(AuthzOption::B), Ok(granted()))
    else {
        panic!("presented")
    };
    assert_eq!(presented.name(), Some("Q Branch"));
    assert_eq!(
        presented.rcd.jcl.as_deref(),
        Some("https://authz/cards/q.json")
    );
    assert_eq!(as_id.unwrap().tn().as_deref(), Some("+12025550100"));
    let Decision::Present { as_id, .. } = decide(option(AuthzOption::A), Ok(granted())) else {
        panic!("presented")
    };
    assert_eq!(as_id, None, "option A is asserted as the designated IMPU");
}

#[test]
fn answers_map_to_typed_reasons() {
    let expired = AuthorizeResponse::denied(Reason::Expired, "token expired");
    assert_eq!(
        refused(decide(option(AuthzOption::B), Ok(expired))),
        (Reason::Expired, true)
    );
    let mut untyped = AuthorizeResponse::denied(Reason::Revoked, "no");
    untyped.denial = None;
    assert_eq!(
        refused(decide(option(AuthzOption::B), Ok(untyped))),
        (Reason::NotAuthorised, true)
    );
    let mut cardless = granted();
    cardless.name_card = None;
    assert_eq!(
        refused(decide(option(AuthzOption::A), Ok(cardless))),
        (Reason::Malformed, false)
    );
    let down = Error::Unconfigured { peer: "NEF" };
    assert_eq!(
        refused(decide(option(AuthzOption::A), Err(down))),
        (Reason::Unreachable, false)
    );
}

#[test]
fn a_challenge_is_relayed_with_the_realm() {
    let mut challenge = AuthorizeResponse::denied(Reason::AuthenticationRequired, "prove");
    challenge.challenge = Some("n1".into());
    assert_eq!(
        decide(option(AuthzOption::B), Ok(challenge)),
        Decision::Challenge {
            realm: "authz.example".into(),
            nonce: "n1".into()
        }
    );
}

#[test]
fn challenges_quote_their_values() {
    assert_eq!(
        bearer_challenge("authz.example", "n\"1"),
        r#"Bearer realm="authz.example", nonce="n\"1""#
    );
    let (_, p) = sipmsg::auth_params(&bearer_challenge("r", "a,\"b")).unwrap();
    assert_eq!(p["nonce"], "a,\"b");
}

#[test]
fn verification_subscription_decides_and_notes() {
    let act = Act::VerificationSubscription;
    let mut s = subscription();
    s.verification = true;
    let (v, note) = verification_subscription(Ok(Some(s.clone())));
    assert_eq!(
        (v, note.action()),
        (Verify::Ask, Some((act, Outcome::Done)))
    );
    s.verification = false;
    let not = Some((act, Outcome::Refused(Reason::NotSubscribed)));
    let (v, note) = verification_subscription(Ok(Some(s)));
    assert_eq!((v, note.action()), (Verify::Skip, not));
    let (v, note) = verification_subscription(Ok(None));
    assert_eq!((v, note.action()), (Verify::Skip, not));
    let down = Error::Unconfigured { peer: "HSS" };
    let (v, note) = verification_subscription(Err(down));
    assert_eq!(
        (v, note.action()),
        (
            Verify::Ask,
            Some((act, Outcome::Refused(Reason::Unreachable)))
        )
    );
}
