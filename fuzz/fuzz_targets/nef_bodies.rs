//! The NEF's request bodies (nodes/nef) as its HTTPS server reads them, and the pure decisions
//! it takes on them with the fixture configuration (fixtures/nef.toml) and the DC exposure policy
//! of fixtures/dc-exposure.toml. The first byte picks what the rest is:
//!
//! - `0` (mod 8): an `AllocationRequest` (POST /3gpp-3pid/v1/allocations);
//! - `1`: an `AuthorizeRequest` (POST /3gpp-3pid/v1/authorize);
//! - `2`: a `SubscribeRequest` (POST /3gpp-dc-exposure/v1/subscriptions);
//! - `3`: a `ControlRequest` (POST /3gpp-dc-exposure/v1/control);
//! - `4`: a `Notification` (POST /nef/v1/dc-notifications/{id});
//! - `5`: a token request form (POST /nef/v1/dc-exposure/oauth2/token and /nef/v1/oauth2/token);
//! - `6`: a bearer token for the DC exposure APIs, or `<header JSON>\n<claims JSON>` signed with
//!   the NEF's key;
//! - `7`: raw bytes as a client certificate (DER).
//!
//! Properties: nothing panics; each JSON body that parses serialises to JSON that parses back
//! to an equal body; a `notifyUri` accepted for an AF is an `https` URI that the NEF's
//! HTTP client (hyper's URI) sends to that AF's host; an
//! anonymised notification names neither party by IMPU; an accepted bearer token is bound to
//! the presenting certificate and grants the scope asked for.
#![no_main]

use std::fmt::Debug;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use nef::exposure::grant;
use nef::exposure::token::{self, Scope};
use nef::exposure::{self as exposure, AfPolicy, Consent};
use nef::oauth::decide as oauth;
use nef::{NefConfig, Table};
use p256::ecdsa::SigningKey;
use proto::wire::authz::{AllocationRequest, AuthorizeRequest};
use proto::wire::exposure::{ControlRequest, Notification, SubscribeRequest};
use serde::Serialize;
use serde::de::DeserializeOwned;
use stir::jose;
use testbed_fuzz::{NOW, der, pki, signing_key};

struct World {
    config: NefConfig,
    afs: Vec<AfPolicy>,
    consent: Consent,
    nef_key: SigningKey,
    nef_cert: Vec<u8>,
    dc_as_cert: Vec<u8>,
    xr_as_cert: Vec<u8>,
}

const SUBSCRIBER: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let config = match NefConfig::from_toml(include_str!("../../fixtures/nef.toml")) {
        Ok(config) => config,
        Err(e) => panic!("fixtures/nef.toml: {e}"),
    };
    let afs = [
        r#"{"host":"dc-as.ims.mnc001.mcc001.3gppnetwork.org","trusted":true,"events":["dc-established","dc-terminated","app-downloaded"],"anonymise":false,"control":["establish","update","terminate","download"],"targets":["bdc","adc"],"apps":["avatar-call"]}"#,
        r#"{"host":"dc-as.avatars.example","trusted":false,"events":["dc-established","dc-terminated","app-downloaded"],"anonymise":true,"control":["establish","update"],"targets":["adc"],"apps":["screen-share"]}"#,
    ]
    .iter()
    .map(|json| match serde_json::from_str(json) {
        Ok(af) => af,
        Err(e) => panic!("AF policy: {e}"),
    })
    .collect();
    World {
        config,
        afs,
        consent: Consent {
            impu: SUBSCRIBER.into(),
            events: true,
            control: true,
        },
        nef_key: signing_key(pki::NEF_KEY),
        nef_cert: der(pki::NEF),
        dc_as_cert: der(pki::DC_AS),
        xr_as_cert: der(pki::XR_AS),
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let world = &*WORLD;
    match mode % 8 {
        0 => {
            if let Some(request) = round_trip::<AllocationRequest>(rest) {
                let mut table = Table::default();
                let realm = world.config.realm_of("authz.enterprise.example");
                let _ = nef::reserve(&mut table, &world.config.pool, &realm, &request);
                let _ = nef::reserve(&mut table, &world.config.pool, &realm, &request);
                let _ = nef::existing(&table, &realm, &request.employee_impu, &request.id3p);
            }
        }
        1 => {
            if let Some(request) = round_trip::<AuthorizeRequest>(rest) {
                let _ = nef::select(&world.config, &Table::default(), &request);
            }
        }
        2 => {
            if let Some(request) = round_trip::<SubscribeRequest>(rest) {
                for af in &world.afs {
                    let _ = exposure::subscribe(af, &world.consent, &request);
                    if exposure::notify_uri_of(&af.host, &request.notify_uri).is_ok() {
                        notify_uri_names(&af.host, &request.notify_uri);
                    }
                }
            }
        }
        3 => {
            if let Some(request) = round_trip::<ControlRequest>(rest) {
                for af in &world.afs {
                    let _ = exposure::rights(af, &world.consent, &request);
                    for adc_app in [None, Some("avatar-call"), Some("screen-share")] {
                        let _ = exposure::control(af, &world.consent, &request, adc_app);
                        let _ = exposure::owned(af, &request, adc_app);
                    }
                }
            }
        }
        4 => {
            if let Some(notification) = round_trip::<Notification>(rest) {
                for af in &world.afs {
                    let anonymised = exposure::anonymise(notification.clone(), af);
                    if af.anonymise {
                        for (before, after) in [
                            (&notification.caller, &anonymised.caller),
                            (&notification.callee, &anonymised.callee),
                        ] {
                            if let (Some(before), Some(after)) = (before, after) {
                                // An empty identity is "contained" in any string: only the
                                // prefix says anything then.
                                assert!(
                                    after.starts_with("anon-")
                                        && (before.is_empty() || !after.contains(before.as_str())),
                                    "{before:?} anonymised as {after:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
        5 => {
            let _ = grant::parse(rest);
            let _ = oauth::request(rest);
        }
        6 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let token = match text.split_once('\n') {
                    Some((header, claims)) => {
                        jose::sign_es256(&world.nef_key, header.as_bytes(), claims.as_bytes())
                    }
                    None => text.to_owned(),
                };
                bearer(world, &token);
            }
        }
        _ => {
            let _ = nef::dns_names(rest);
            let _ = exposure::identify(Some(rest));
            let _ = nef::identify(Some(rest), ["authz.enterprise.example"], "fuzz");
        }
    }
});

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(data).ok()?;
    let json = match serde_json::to_vec(&value) {
        Ok(json) => json,
        Err(e) => panic!("{value:?} does not serialise: {e}"),
    };
    let again = serde_json::from_slice::<T>(&json);
    assert_eq!(
        again.as_ref().ok(),
        Some(&value),
        "{} changes through JSON: {}",
        std::any::type_name::<T>(),
        String::from_utf8_lossy(&json)
    );
    Some(value)
}

/// An accepted `notifyUri` is one the NEF's HTTP client (kit: hyper's URI) sends to the AF's
/// own host over https, or one it cannot send at all.
fn notify_uri_names(af: &str, uri: &str) {
    let Ok(parsed) = uri.parse::<http::Uri>() else {
        return;
    };
    assert_eq!(
        parsed.scheme_str(),
        Some("https"),
        "notifyUri {uri:?} accepted for {af}"
    );
    assert!(
        parsed.host().is_some_and(|h| h.eq_ignore_ascii_case(af)),
        "notifyUri {uri:?} accepted for {af} goes to host {:?}",
        parsed.host()
    );
}

/// A bearer token as the DC exposure API validates it, for both scopes and three clients.
fn bearer(world: &World, token: &str) {
    let _ = token::note("fuzz", token);
    for scope in [Scope::Events, Scope::Control] {
        for client in [
            Some(world.dc_as_cert.as_slice()),
            Some(world.xr_as_cert.as_slice()),
            None,
        ] {
            match token::validate(token, &world.nef_cert, client, scope, NOW) {
                Ok(claims) => {
                    assert!(claims.allows(scope), "{claims:?} accepted for {scope}");
                    let presented = client.map(avatar::cert::thumbprint);
                    assert_eq!(presented.as_deref(), Some(claims.cnf.x5t_s256.as_str()));
                }
                Err(e) => {
                    let _ = (e.reason(), e.code(), e.status(), e.challenge());
                }
            }
        }
    }
}
