//! The P-CSCF and S-CSCF over real sockets on 127.0.0.1, with the originating operator's HSS,
//! a transparent stand-in for its IMS AS and two UEs (one binary): [`registration`],
//! authenticated registration (SIP Digest against the HSS's credential); [`trust`], the RFC 3325
//! trust domain (flow binding, what a UE may not write, who may mark a request `orig`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod registration;
mod trust;

use std::sync::Arc;
use std::time::Duration;

use cscf::pcscf::PcscfConfig;
use cscf::scscf::ScscfConfig;
use kit::http::Server;
use kit::node::{Ctx, HostTable};
use kit::sipnode::{self, SipNode};
use kit::tap::Tap;
use proto::clock::Clock;
use proto::sip::Timers;
use proto::sip::proxy::prepare_forward;
use proto::trace::{Act, Body, Note, Outcome};
use ue::{Access, Ue, UeConfig};

const NOW: i64 = 1_772_442_000;
const ORIG: &str = "ims.mnc001.mcc001.3gppnetwork.org";
const PCSCF: &str = "pcscf.ims.mnc001.mcc001.3gppnetwork.org";
const SCSCF: &str = "scscf.ims.mnc001.mcc001.3gppnetwork.org";
const HSS: &str = "hss.ims.mnc001.mcc001.3gppnetwork.org";
const AS: &str = "as.ims.mnc001.mcc001.3gppnetwork.org";
const UE_A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
const UE_M: &str = "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org";

/// A long T1: no retransmissions on a busy machine.
fn timers() -> Timers {
    Timers {
        t1: Duration::from_secs(2),
        ..Timers::default()
    }
}

/// The small world: HSS, S-CSCF, P-CSCF, a stand-in IMS AS, UE-A and UE-M.
struct World {
    tap: Tap,
    hosts: Arc<HostTable>,
    ue_a: Ue,
    ue_m: Ue,
    _hss: Server,
    _nodes: Vec<SipNode>,
}

impl World {
    fn ctx(&self, id: &str, host: &str) -> Ctx {
        self.hosts.ctx(id, host, &self.tap, Clock::Fixed(NOW), 7)
    }

    /// The action notes of `node`, in order: tag, outcome, label.
    fn actions(&self, node: &str) -> Vec<(Act, Outcome, String)> {
        self.tap
            .records()
            .into_iter()
            .filter(|r| r.node == node)
            .filter_map(|r| match r.body {
                Body::Note {
                    note:
                        Note::Action {
                            act,
                            outcome,
                            label,
                        },
                    ..
                } => Some((act, outcome, label)),
                _ => None,
            })
            .collect()
    }

    /// The tags and outcomes of `node`'s action notes, in order.
    fn acts(&self, node: &str) -> Vec<(Act, Outcome)> {
        self.actions(node)
            .into_iter()
            .map(|(act, outcome, _)| (act, outcome))
            .collect()
    }
}

/// A UE of the originating operator behind the P-CSCF, with its fixture credentials.
fn ue_config(impu: &str, password: &str) -> UeConfig {
    UeConfig {
        impu: impu.into(),
        access: Access::Pcscf {
            pcscf_host: PCSCF.into(),
            domain: ORIG.into(),
        },
        timers: timers(),
        wait: Duration::from_secs(5),
        auto_answer: true,
        dc: None,
        impi: Some(impu.trim_start_matches("sip:").into()),
        password: Some(password.into()),
    }
}

/// A transparent stand-in for the IMS AS: forwards every request along its Route.
fn application_server(ep: kit::sip::Endpoint) -> SipNode {
    sipnode::serve(ep, |ep, mut incoming| async move {
        let request = incoming.request().clone();
        let branch = ep.next_branch();
        let (me, addr, transport) = (ep.host(), ep.local_addr(), incoming.transport());
        match prepare_forward(&request, me, addr, transport, &branch, false) {
            Ok(fwd) => {
                sipnode::forward(&ep, &mut incoming, fwd).await;
            }
            Err(answer) => {
                let _ = incoming.respond(answer).await;
            }
        }
    })
}

/// Starts the world: every node in the host table, nobody registered.
async fn world() -> World {
    let tap = Tap::new();
    let hosts = Arc::new(HostTable::default());
    let ctx = |id: &str, host: &str| hosts.ctx(id, host, &tap, Clock::Fixed(NOW), 7);
    let hss = hss::start(
        &ctx("hss-o", HSS),
        hss::Db::load(ORIG).unwrap(),
        hss::HssConfig {
            registrar: Some(SCSCF.into()),
            ..hss::HssConfig::default()
        },
    )
    .await
    .unwrap();
    hosts.add(HSS, hss.local_addr());
    let scscf = cscf::scscf::start(
        &ctx("scscf-o", SCSCF),
        ScscfConfig {
            domain: ORIG.into(),
            as_host: AS.into(),
            ibcf_host: "ibcf.ims.mnc001.mcc001.3gppnetwork.org".into(),
            hss_host: HSS.into(),
            trusted: vec!["pcscf-o".into(), "as-o".into(), "ibcf-o".into()],
            timers: timers(),
            digest_md5: false,
        },
    )
    .await
    .unwrap();
    hosts.add(SCSCF, scscf.endpoint.local_addr());
    let pcscf = cscf::pcscf::start(
        &ctx("pcscf-o", PCSCF),
        PcscfConfig {
            scscf_host: SCSCF.into(),
            core: vec!["scscf-o".into()],
            timers: timers(),
        },
    )
    .await
    .unwrap();
    hosts.add(PCSCF, pcscf.endpoint.local_addr());
    let ep = sipnode::bind(&ctx("as-o", AS), timers()).await.unwrap();
    hosts.add(AS, ep.local_addr());
    let app = application_server(ep);
    let ue_a = Ue::start(
        &ctx("ue-a", "ue-a.test"),
        ue_config(UE_A, "fixture-secret-ue-a"),
    )
    .await
    .unwrap();
    let ue_m = Ue::start(
        &ctx("ue-m", "ue-m.test"),
        ue_config(UE_M, "fixture-secret-ue-m"),
    )
    .await
    .unwrap();
    World {
        tap,
        hosts,
        ue_a,
        ue_m,
        _hss: hss,
        _nodes: vec![scscf, pcscf, app],
    }
}
