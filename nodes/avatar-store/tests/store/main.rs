//! The BAR, the DAC and the AOS over real HTTPS on loopback with the fixture PKI: a good request answered
//! 200, refusals answered with their typed `Problem`, and the notes each store writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aos;
mod bar;
mod dac;
mod metadata;

use std::sync::Arc;

use kit::http::{Client, Response};
use kit::node::{Ctx, HostTable};
use kit::tap::Tap;
use proto::clock::Clock;
use proto::trace::{Act, Body, Note, Outcome, Reason};
use proto::wire::avatar::Problem;

/// The scenario clock.
const NOW: i64 = 1_772_442_000;
/// The world's seed.
const SEED: u64 = 7;
const MF: &str = "mf.ims.mnc001.mcc001.3gppnetwork.org";
const XR_AS: &str = "xr-as.ims.mnc001.mcc001.3gppnetwork.org";
const XR_AS_T: &str = "xr-as.ims.mnc002.mcc001.3gppnetwork.org";
const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const CALL: &str = "call-1@ue-a.ims.mnc001.mcc001.3gppnetwork.org";

/// A world of hosts on loopback sharing one trace.
struct World {
    tap: Tap,
    hosts: Arc<HostTable>,
}

impl World {
    fn new() -> Self {
        Self {
            tap: Tap::new(),
            hosts: Arc::new(HostTable::default()),
        }
    }

    fn ctx(&self, id: &str, host: &str) -> Ctx {
        self.hosts.ctx(id, host, &self.tap, Clock::Fixed(NOW), SEED)
    }

    /// An HTTPS client of `host`, presenting its TLS certificate.
    fn client(&self, id: &str, host: &str) -> Client {
        self.ctx(id, host).https_client(true).unwrap()
    }

    /// A client that presents no certificate.
    fn anonymous(&self) -> Client {
        self.ctx("x", "x.invalid").https_client(false).unwrap()
    }

    /// What `node` noted, with the message each note is about.
    fn notes(&self, node: &str) -> Vec<(Option<u64>, Note)> {
        self.tap
            .records()
            .into_iter()
            .filter(|r| r.node == node)
            .filter_map(|r| match r.body {
                Body::Note { msg, note } => Some((msg, note)),
                _ => None,
            })
            .collect()
    }

    /// The actions `node` noted, in order.
    fn actions(&self, node: &str) -> Vec<(Act, Outcome)> {
        self.notes(node)
            .iter()
            .filter_map(|(_, n)| n.action())
            .collect()
    }
}

/// The typed problem of a refusal, after checking its status.
fn problem(r: &Response, status: u16) -> Problem {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).unwrap()
}

/// A UE's signing key from the fixtures.
fn ue_key(ue: &str) -> p256::ecdsa::SigningKey {
    let path = kit::fixtures::dir().join(format!("pki/ue/{ue}.key.pem"));
    avatar::keys::signing_key_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The refused outcome for `reason`.
fn refused(reason: Reason) -> Outcome {
    Outcome::Refused(reason)
}
