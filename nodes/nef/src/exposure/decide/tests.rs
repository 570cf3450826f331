#![allow(clippy::unwrap_used)]
use proto::trace::Reason;

use super::*;

const IMS_AS: &str = "dc-as.ims.mnc001.mcc001.3gppnetwork.org";
const THIRD: &str = "dc-as.avatars.example";
const OTHER: &str = "dc-as.whiteboard.example";
const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const UE_B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
const UE_M: &str = "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org";
const ALL: [EventKind; 3] = [
    EventKind::DcEstablished,
    EventKind::DcTerminated,
    EventKind::AppDownloaded,
];

fn policy() -> hss::exposure::Policy {
    hss::exposure::Policy::load().unwrap()
}

fn der(host: &str) -> Vec<u8> {
    let pem = kit::fixtures::read(&format!("pki/tls/{host}.pem")).unwrap();
    avatar::cert::der_from_pem(&String::from_utf8(pem).unwrap()).unwrap()
}

fn subscription(impu: &str, events: &[EventKind]) -> SubscribeRequest {
    SubscribeRequest {
        impu: impu.into(),
        events: events.to_vec(),
        notify_uri: "https://af.example/notify".into(),
    }
}

fn ask(operation: Operation, target: Target, app_id: Option<&str>) -> ControlRequest {
    ControlRequest {
        impu: UE_A.into(),
        operation,
        target,
        dc_id: None,
        app_id: app_id.map(str::to_owned),
    }
}

#[test]
fn afs_are_identified_by_their_certificate() {
    let p = policy();
    assert_eq!(identify(Some(&der(THIRD))).unwrap(), THIRD);
    for cert in [None, Some(b"junk".to_vec())] {
        let e = identify(cert.as_deref()).unwrap_err();
        assert_eq!(
            (e.status(), e.reason()),
            (403, Reason::NotAuthorised),
            "{e}"
        );
    }
    assert_eq!(identify(None).unwrap_err(), Refusal::NoCertificate);
    let authz = identify(Some(&der("authz.enterprise.example"))).unwrap();
    let e = known(p.af(&authz).cloned(), &authz).unwrap_err();
    assert!(matches!(e, Refusal::UnknownAf { .. }), "{e}");
    assert_eq!((e.status(), e.reason()), (403, Reason::NotAuthorised));
    assert_eq!(known(p.af(THIRD).cloned(), THIRD).unwrap().host, THIRD);
}

#[test]
fn notify_uris_must_be_the_afs_own() {
    let ok = [
        "https://dc-as.avatars.example/af/v1/dc-notifications",
        "https://DC-AS.avatars.example:8443/n?x=1",
        "https://dc-as.avatars.example",
    ];
    for uri in ok {
        assert_eq!(notify_uri_of(THIRD, uri), Ok(()), "{uri}");
    }
    let refused = [
        "http://dc-as.avatars.example/n",
        "https://evil.example/n",
        "https://dc-as.avatars.example.evil.example/n",
        "https://dc-as.avatars.example@evil.example/n",
        "https://evil.example/@dc-as.avatars.example",
        "https://evil.example#@dc-as.avatars.example",
        "dc-as.avatars.example/n",
        "",
    ];
    for uri in refused {
        let e = notify_uri_of(THIRD, uri).unwrap_err();
        assert_eq!((e.status(), e.reason()), (403, Reason::Mismatch), "{uri}");
    }
}

#[test]
fn rights_come_before_ownership_and_consent_before_the_dcsf_is_asked() {
    let p = policy();
    let third = p.af(THIRD).unwrap();
    let mut req = ask(Operation::Terminate, Target::Adc, None);
    req.dc_id = Some("dc-1".into());
    // Refused by the policy without any application known.
    let e = rights(third, &p.consent(UE_A), &req).unwrap_err();
    assert_eq!(e.reason(), Reason::Policy);
    // The operator's AS may; UE-M did not consent.
    let ims = p.af(IMS_AS).unwrap();
    assert_eq!(rights(ims, &p.consent(UE_A), &req), Ok(()));
    req.impu = UE_M.into();
    let e = rights(ims, &p.consent(UE_M), &req).unwrap_err();
    assert_eq!(e.reason(), Reason::NotEntitled);
    // Ownership of the ongoing ADC's application.
    let other = p.af(OTHER).unwrap();
    let e = owned(other, &req, Some("avatar-call")).unwrap_err();
    assert!(matches!(e, Refusal::NotOwner { .. }), "{e}");
    assert_eq!(
        owned(ims, &req, Some("avatar-call")),
        Ok(Some("avatar-call".into()))
    );
    let bdc = ask(Operation::Update, Target::Bdc, None);
    assert_eq!(owned(other, &bdc, None), Ok(None));
}

/// Subscriptions as a table: AF, subscriber, events → granted, or refused with status and
/// reason.
#[test]
fn subscriptions() {
    let p = policy();
    let mut narrow = p.af(THIRD).unwrap().clone();
    narrow.events.remove(&EventKind::AppDownloaded);
    let ims = p.af(IMS_AS).unwrap();
    let third = p.af(THIRD).unwrap();
    type Case<'a> = (
        &'a AfPolicy,
        &'a str,
        &'a [EventKind],
        Option<(u16, Reason)>,
    );
    let cases: [Case<'_>; 7] = [
        (ims, UE_A, &ALL, None),
        (third, UE_B, &[EventKind::DcEstablished], None),
        (ims, UE_M, &ALL, Some((403, Reason::NotEntitled))),
        (ims, "sip:nobody@x", &ALL, Some((403, Reason::NotEntitled))),
        (&narrow, UE_A, &ALL, Some((403, Reason::Policy))),
        (&narrow, UE_A, &[EventKind::DcTerminated], None),
        (ims, UE_A, &[], Some((400, Reason::Malformed))),
    ];
    for (af, impu, events, want) in cases {
        let got = subscribe(af, &p.consent(impu), &subscription(impu, events));
        let label = format!("{} {impu} {events:?}", af.host);
        match (got, want) {
            (Ok(grant), None) => {
                assert_eq!(
                    (grant.af.as_str(), grant.impu.as_str()),
                    (af.host.as_str(), impu)
                );
            }
            (Err(e), Some(want)) => assert_eq!((e.status(), e.reason()), want, "{label}: {e}"),
            (got, want) => panic!("{label}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn a_subscription_grant_is_sorted_and_says_whether_anonymised() {
    let p = policy();
    let events = [
        EventKind::AppDownloaded,
        EventKind::DcEstablished,
        EventKind::AppDownloaded,
    ];
    let grant = subscribe(
        p.af(THIRD).unwrap(),
        &p.consent(UE_A),
        &subscription(UE_A, &events),
    );
    assert_eq!(
        grant.unwrap().permission,
        Permission::Events {
            events: vec![EventKind::DcEstablished, EventKind::AppDownloaded],
            anonymise: true,
        }
    );
    // Another subscriber's consent does not count.
    let e = subscribe(
        p.af(IMS_AS).unwrap(),
        &p.consent(UE_A),
        &subscription(UE_M, &ALL),
    );
    assert!(matches!(e, Err(Refusal::NoConsent { .. })), "{e:?}");
}

/// Control as a table: AF, operation, target, app named, app of the ongoing ADC →
/// granted (with the app it touches) or refused with status and reason.
#[test]
fn control_requests() {
    use Operation::*;
    use Target::*;
    type Case<'a> = (
        &'a str,
        Operation,
        Target,
        Option<&'a str>,
        Option<&'a str>,
        Result<Option<&'a str>, (u16, Reason)>,
    );
    let cases: [Case<'_>; 15] = [
        // The trusted operator AS does everything with its own application.
        (
            IMS_AS,
            Establish,
            Adc,
            Some("avatar-call"),
            None,
            Ok(Some("avatar-call")),
        ),
        (
            IMS_AS,
            Terminate,
            Adc,
            None,
            Some("avatar-call"),
            Ok(Some("avatar-call")),
        ),
        (IMS_AS, Update, Bdc, None, None, Ok(None)),
        (
            IMS_AS,
            Download,
            Bdc,
            Some("avatar-call"),
            None,
            Ok(Some("avatar-call")),
        ),
        // The untrusted AS: establish/update its own ADC only.
        (
            THIRD,
            Establish,
            Adc,
            Some("screen-share"),
            None,
            Ok(Some("screen-share")),
        ),
        (
            THIRD,
            Update,
            Adc,
            None,
            Some("screen-share"),
            Ok(Some("screen-share")),
        ),
        (
            THIRD,
            Terminate,
            Adc,
            None,
            Some("screen-share"),
            Err((403, Reason::Policy)),
        ),
        (
            THIRD,
            Download,
            Bdc,
            Some("screen-share"),
            None,
            Err((403, Reason::Policy)),
        ),
        (
            THIRD,
            Establish,
            Bdc,
            None,
            None,
            Err((403, Reason::Policy)),
        ),
        (
            THIRD,
            Update,
            Adc,
            None,
            Some("avatar-call"),
            Err((403, Reason::NotAuthorised)),
        ),
        // Another trusted AS may not touch an ADC or push an app it does not own.
        (
            OTHER,
            Terminate,
            Adc,
            None,
            Some("avatar-call"),
            Err((403, Reason::NotAuthorised)),
        ),
        (
            OTHER,
            Update,
            Adc,
            Some("whiteboard"),
            Some("avatar-call"),
            Err((403, Reason::NotAuthorised)),
        ),
        (
            OTHER,
            Download,
            Bdc,
            Some("avatar-call"),
            None,
            Err((403, Reason::NotAuthorised)),
        ),
        // Malformed: an ADC without application, a download over an ADC.
        (
            IMS_AS,
            Establish,
            Adc,
            None,
            None,
            Err((400, Reason::Malformed)),
        ),
        (
            IMS_AS,
            Download,
            Adc,
            Some("avatar-call"),
            None,
            Err((400, Reason::Malformed)),
        ),
    ];
    let p = policy();
    for (host, operation, target, app_id, adc_app, want) in cases {
        let af = p.af(host).unwrap();
        let got = control(
            af,
            &p.consent(UE_A),
            &ask(operation, target, app_id),
            adc_app,
        );
        let label = format!("{host} {operation} {target} {app_id:?} {adc_app:?}");
        match (got, want) {
            (Ok(grant), Ok(app)) => assert_eq!(
                grant.permission,
                Permission::Control {
                    operation,
                    target,
                    app: app.map(str::to_owned)
                },
                "{label}"
            ),
            (Err(e), Err(want)) => assert_eq!((e.status(), e.reason()), want, "{label}: {e}"),
            (got, want) => panic!("{label}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn control_needs_consent_after_the_policy() {
    let p = policy();
    let ims = p.af(IMS_AS).unwrap();
    let mut req = ask(Operation::Establish, Target::Adc, Some("avatar-call"));
    req.impu = UE_M.into();
    let e = control(ims, &p.consent(UE_M), &req, None).unwrap_err();
    assert_eq!(
        e,
        Refusal::NoConsent {
            impu: UE_M.into(),
            to: Consented::Control
        }
    );
    // The policy speaks first: an AF refused by it learns nothing of the subscriber's consent.
    let third = p.af(THIRD).unwrap();
    req.operation = Operation::Terminate;
    let e = control(third, &p.consent(UE_M), &req, Some("screen-share")).unwrap_err();
    assert_eq!(e.reason(), Reason::Policy);
}

fn event() -> Notification {
    Notification {
        event: EventKind::AppDownloaded,
        caller: Some(UE_A.into()),
        callee: Some(UE_B.into()),
        dc_id: Some("dc-7".into()),
        target: Some(Target::Bdc),
        app: Some(AppInfo {
            id: "screen-share".into(),
            name: Some("Screen share".into()),
            url: Some("https://mf.ims.mnc001.mcc001.3gppnetwork.org/apps/screen-share/".into()),
        }),
        at: 1_772_442_000,
    }
}

#[test]
fn notifications_are_anonymised_for_anonymising_afs_only() {
    let p = policy();
    assert_eq!(anonymise(event(), p.af(IMS_AS).unwrap()), event());
    let seen = anonymise(event(), p.af(THIRD).unwrap());
    let caller = seen.caller.clone().unwrap();
    assert_eq!(caller, pseudonym(THIRD, UE_A));
    assert!(
        caller.starts_with("anon-") && caller.len() == 5 + 16,
        "{caller}"
    );
    assert!(!caller.contains("12025551000"));
    assert_eq!(seen.callee, Some(pseudonym(THIRD, UE_B)));
    assert_eq!(
        seen.app,
        Some(AppInfo {
            id: "screen-share".into(),
            name: None,
            url: None
        })
    );
    assert_eq!(
        (seen.event, seen.dc_id.as_deref(), seen.at),
        (event().event, Some("dc-7"), event().at)
    );
    let bare = Notification {
        caller: None,
        app: None,
        ..event()
    };
    let seen = anonymise(bare, p.af(THIRD).unwrap());
    assert_eq!((seen.caller, seen.app), (None, None));
}

#[test]
fn pseudonyms_are_stable_per_af_and_differ_across_afs() {
    assert_eq!(
        pseudonym(THIRD, UE_A),
        pseudonym("DC-AS.avatars.example", UE_A)
    );
    assert_ne!(pseudonym(THIRD, UE_A), pseudonym(OTHER, UE_A));
    assert_ne!(pseudonym(THIRD, UE_A), pseudonym(THIRD, UE_B));
}
