//! Testbed choices: where the TR leaves something open (Editor's Notes, FFS, "e.g."), what this
//! testbed does. The choices shared by every solution are here; each solution file holds its
//! own ([`crate::solution::Solution::choices`]). Network functions name a choice by its id in
//! the trace when they act on it; the command line and the dashboard show the table.

use serde::Serialize;

/// One choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// Its id, as network functions name it in the trace.
    pub id: &'static str,
    /// Where the TR leaves it open.
    pub clause: &'static str,
    /// What is open, in our words.
    pub question: &'static str,
    /// What the testbed does.
    pub answer: &'static str,
}

/// `world-ims-entry`.
pub const WORLD_IMS_ENTRY: Choice = Choice {
    id: "world-ims-entry",
    clause: "6.2.2.2 step 2, 6.2.2.3 step 1",
    question: "The TR's \"originating IMS system\" is a collective (I/S-CSCF, MMTel AS, …).",
    answer: "The P-CSCF asserts the caller (P-Asserted-Identity), the S-CSCF routes to the IMS AS over ISC, and the IMS AS performs the 3P ID and STIR steps. The I-CSCF is left out: the P-CSCF and IBCF know their S-CSCF.",
};

/// `world-registration`.
pub const WORLD_REGISTRATION: Choice = Choice {
    id: "world-registration",
    clause: "(outside the figures)",
    question: "Registration and IMS AKA are not part of the solution's flow.",
    answer: "UEs REGISTER through their P-CSCF (Path) to the S-CSCF (Service-Route) without an authentication challenge; the trace shows it as supporting detail.",
};

/// `6.2-ms-two-requests`.
pub const MS_TWO_REQUESTS: Choice = Choice {
    id: "6.2-ms-two-requests",
    clause: "6.2.2.2 steps 4–6",
    question: "The Ms signing answer carries one Identity header; the flow needs the caller's number and the RCD signed.",
    answer: "The IMS AS sends two Ms signing requests: `shaken` (attestation A) and `rcd`. The STI-AS signs each with the operator's STI-SP key.",
};

/// `6.2-term-display`.
pub const TERM_DISPLAY: Choice = Choice {
    id: ims_as::choices::TERM_DISPLAY,
    clause: "6.2.2.2 step 10",
    question: "What the callee is given when the caller's number verifies but the RCD does not.",
    answer: "The terminating IMS AS adds verstat to P-Asserted-Identity and From, and removes every name the callee could show (display names, the `rcd` Identity, Call-Info rcd-jcard) unless `rcd` claims verified with intact digests (an `rcd` PASSporT, or a `shaken` one carrying them); the name shown is then the signed `nam`, whatever the header said.",
};

/// `ms-transport`.
pub const MS_TRANSPORT: Choice = Choice {
    id: "ms-transport",
    clause: "4.2, 6.2.2.1 NOTE 2",
    question: "Transport security of Ms, the Sh-like interface and the 3P ID server.",
    answer: "HTTPS (TLS 1.3) everywhere with the fixture PKI; mutual TLS to the HSS and to the 3P ID server's RCD records.",
};

/// `threat-nni`.
pub const THREAT_NNI: Choice = Choice {
    id: "threat-nni",
    clause: "5.1.2 threat 3",
    question: "Who manipulates the ID between IMS networks.",
    answer: "The originating network's egress IBCF, switched into an attacker for the variant: it rewrites the INVITE on the NNI and says so in the trace.",
};

/// `dc-sdp-answer`.
pub const DC_SDP_ANSWER: Choice = Choice {
    id: "dc-sdp-answer",
    clause: "TS 26.114 §6.2.10, RFC 8864 (issue 4 item 4)",
    question: "Where the data channel SDP answer travels, and how channels are opened.",
    answer: "The offer is in the INVITE, the answer in the 200 OK (no reliable provisional responses). Every channel is negotiated from its a=dcmap stream id and created on both sides before the offer/answer is made; no in-band DCEP. A declined section (port 0) leaves the call up without data channels.",
};

/// `dc-p2p-path`.
pub const DC_P2P_PATH: Choice = Choice {
    id: "dc-p2p-path",
    clause: "TS 23.228 Annex AC (outline); TR 33.790 avatar calls",
    question: "How application data channels between the two UEs are anchored.",
    answer: "Peer to peer: one m=application section (mid \"dc\") per call, DTLS/SCTP over ICE between the UEs' host candidates on 127.0.0.1; the CSCFs, IMS ASs and IBCFs pass the SDP through unchanged. The MF/MRF and DCSF (bootstrap channel, P2A channels) are started only in the 2:dc-bootstrap world (choices dc-bootstrap-anchor, dc-p2a-reinvite).",
};

/// `dc-ice-timers`.
pub const DC_ICE_TIMERS: Choice = Choice {
    id: "dc-ice-timers",
    clause: "(the testbed's budget: a data channel is usable within 100 ms of the 200 OK)",
    question: "ICE timer values on loopback.",
    answer: "5 ms connectivity-check interval while connecting, 40 ms STUN keepalive once connected (the agent ticks at min(200 ms, keepalive) and DTLS/SCTP wait for its ticks: first message ~48 ms after the answer, against ~208 ms with 1 s; 25 small indications a second per association, not the 5 ms flood), 1.5 s bound from the answer to open channels; ICE ufrag/pwd come from the node's seeded random stream, DTLS fingerprints are replaced by <dtls-fingerprint> in snapshots.",
};

/// `dc-bootstrap-anchor`.
pub const DC_BOOTSTRAP_ANCHOR: Choice = Choice {
    id: "dc-bootstrap-anchor",
    clause: "TS 23.228 Annex AC (outline); TS 26.114 §6.2.10 (issue 4 item 2)",
    question: "How a UE's bootstrap data channel reaches its network's MF, and where the application list comes from.",
    answer: "Call time, in the call's SDP: the caller offers a second m=application section (mid \"bdc\", stream 0, subprotocol http) next to the peer-to-peer one. The originating IMS AS (record-routing when its network has an MF) takes every section with mid \"bdc\" or \"p2a…\" out of the INVITE, has the MF answer it over HTTPS (POST /mf/v1/anchor, mutual TLS) and puts the MF's answer back into the 200 at the offer's position. The MF serves HTTP on the channel: GET / returns the caller's DC application list, which it asks the DCSF for (GET /dcsf/v1/subscribers/{tn}/apps, fixtures/dc-apps.toml). The callee's side turns the roles round: for a call offering data channels, the terminating IMS AS (record-routing) has its MF offer the callee a bootstrap channel (POST /mf/v1/offer), appends that section to the INVITE (and, unchanged, to every re-INVITE of the call), takes the callee's answer out of the 2xx and hands it to the MF (POST /mf/v1/complete); the callee's GET / gets its own list. One DCSF (the originating operator's) serves both MFs in this world.",
};

/// `dc-p2a-reinvite`.
pub const DC_P2A_REINVITE: Choice = Choice {
    id: "dc-p2a-reinvite",
    clause: "TS 23.228 Annex AC (outline); issue 4 item 3",
    question: "How a person-to-application channel to the MF is added to a call, and who answers it.",
    answer: "UE-A sends a re-INVITE in the dialog (Route set from the 200's Record-Route) repeating the call's sections and adding m=application mid \"p2a\" (stream 1100). The originating IMS AS anchors the new section at the MF as for the bootstrap channel and keeps its earlier MF answer for the unchanged bootstrap section; the rest of the offer goes on to UE-B, which answers with its unchanged session description. The MF's application acknowledges each message with a JSON message.",
};

/// The choices every solution may share.
pub const COMMON: &[Choice] = &[
    WORLD_IMS_ENTRY,
    WORLD_REGISTRATION,
    MS_TRANSPORT,
    MS_TWO_REQUESTS,
    TERM_DISPLAY,
    THREAT_NNI,
    DC_SDP_ANSWER,
    DC_P2P_PATH,
    DC_ICE_TIMERS,
    DC_BOOTSTRAP_ANCHOR,
    DC_P2A_REINVITE,
];

/// Every choice: the common ones, then each registered solution's.
pub fn all() -> Vec<&'static Choice> {
    COMMON
        .iter()
        .chain(
            crate::scenarios::SOLUTIONS
                .iter()
                .flat_map(|s| s.choices.iter()),
        )
        .collect()
}

/// The choice with this id.
pub fn get(id: &str) -> Option<&'static Choice> {
    all().into_iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_the_registry() {
        let mut ids: Vec<&str> = all().iter().map(|c| c.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(get("6.2-rcd-header").is_some());
        assert!(get("world-ims-entry").is_some());
    }
}
