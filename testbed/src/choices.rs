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
    clause: "(outside the figures; TS 33.203 Annex N, RFC 3261 §22, RFC 8760)",
    question: "How UEs authenticate when they register (the TR's flows assume a registered UE; IMS AKA needs a USIM/ISIM).",
    answer: "SIP Digest as TS 33.203 Annex N allows for IMS: the S-CSCF answers a first REGISTER with 401 and a SHA-256 challenge (qop=auth, a nonce from its seeded stream, answerable once within 60 s, at most 1024 outstanding), fetching the subscriber's credential from its HSS over the Sh-like interface (GET /sh/v1/auth/{impi}, mutual TLS, served only to the operator's S-CSCF); the UE answers with its IMPI and password (fixtures/subscribers.toml). A wrong answer is 403, an unknown user 403. REGISTER travels through the P-CSCF (Path) and the 200 returns Service-Route.",
};

/// `trust-flow-binding`.
pub const TRUST_FLOW_BINDING: Choice = Choice {
    id: "trust-flow-binding",
    clause: "(outside the figures; TS 33.203 §7, RFC 3325)",
    question: "What binds a registered identity to the UE that registered it (TS 33.203 uses IPsec security associations, or TLS, set up during IMS AKA).",
    answer: "The P-CSCF binds each IMPU it sees registered (200 to REGISTER) to the flow it came on: transport, source address and port for UDP, the connection for TCP and TLS. Only requests arriving on that flow are asserted as that IMPU; anything else except REGISTER is answered 403. No IPsec: on loopback, the kernel's source address stands in for the security association, which an attacker on the same host could still spoof; the testbed's attackers do not.",
};

/// `trust-domain`.
pub const TRUST_DOMAIN: Choice = Choice {
    id: "trust-domain",
    clause: "(outside the figures; RFC 3325 §2.3, TS 24.229 §4.4)",
    question: "How the IMS core knows which requests come from inside its trust domain.",
    answer: "By source address, from the world's address book: every node binds its own port and the book maps address and transport to the node (Ctx::who, exact). The P-CSCF removes P-Asserted-Identity, P-Served-User, Route and `orig` markers a UE wrote and asserts the flow's IMPU. The S-CSCF treats a request as originating only from its own P-CSCF, IMS AS or IBCF, refuses an `orig` marker from anyone else with 403, and strips P-Asserted-Identity from a request it does not trust. The trunk is identified by its TLS certificate (choice trust-trunk-tls), not by address.",
};

/// `trust-trunk-tls`.
pub const TRUST_TRUNK_TLS: Choice = Choice {
    id: "trust-trunk-tls",
    clause: "6.2.2.2 NOTE 2 (the trunk is to be secured); RFC 3261 §26.2, RFC 5922",
    question: "How the IBCF knows an INVITE comes from the enterprise's IP-PBX.",
    answer: "The PBX reaches the IBCF by SIP over TLS 1.2 and presents its fixture certificate (pbx.enterprise.example). The IBCF requests a client certificate on its TLS listener (optional, so that a peer without one is shown refused rather than dropped) and identifies the trunk only by the verified certificate's DNS name: another certificate, none, or plain SIP claiming the enterprise is refused with 403. For the identified trunk it turns the PBX's P-Preferred-Identity into P-Asserted-Identity and adds P-Served-User naming the trunk; what the PBX wrote as P-Asserted-Identity is removed.",
};

/// `trust-attestation`.
pub const ATTESTATION: Choice = Choice {
    id: "trust-attestation",
    clause: "6.2.2.2 step 4, 6.2.2.3 step 3 (the operator signs the caller's number); ATIS-1000074 §5.2.3",
    question: "Which attestation the originating network signs, and on what basis.",
    answer: "The originating IMS AS decides from how the trust domain identified the caller and notes the reason with the level: A for a registered UE's own identity asserted by the P-CSCF, or for an identified trunk's number inside the range fixtures/world.toml assigns it; B for an identified trunk's number outside that range; C when nothing in the trust domain asserted the caller (a gateway or an unknown origin). P-Served-User tells a trunk call from a UE call and is removed before the request leaves the network.",
};

/// `ms-client-auth`.
pub const MS_CLIENT_AUTH: Choice = Choice {
    id: "ms-client-auth",
    clause: "4.2, 6.2.2.1 NOTE 2 (Ms security)",
    question: "Who may ask the STI-AS to sign or the STI-VS to verify, and what the STI-AS takes from the request.",
    answer: "Ms is mutual TLS: the STI-AS and STI-VS accept only the client certificates the world authorises (the operator's own IMS AS) and answer any other valid certificate with 403; a client without one fails the handshake. The STI-AS sets `iat` from its own clock and computes `rcdi` itself over the content it fetches from each URI in `rcd` (the jCard); a requester's `iat` or `rcdi` is ignored.",
};

/// `stir-cert-rules`.
pub const CERT_RULES: Choice = Choice {
    id: "stir-cert-rules",
    clause: "6.2.2.2 step 8 (the STI-VS verifies); RFC 8226 §9, RFC 8224 §6.2.3, RFC 5280",
    question: "Which certificate rules the STI-VS (and `testbed verify`) enforce, and what each failure answers.",
    answer: "The chain must reach the STI-CA, be within validity, and the end-entity must carry keyUsage digitalSignature and a TNAuthList. A TNAuthList with an SPC stays acceptable for any number (ATIS-1000080 issues SHAKEN certificates so); TN and range entries must cover `orig` or the PASSporT is refused 438 (not entitled). The CRL named by the certificate's distribution point is fetched over HTTPS from the STI-CA's repository (certs.sti.example); a revoked certificate is refused 438 (revoked). Chains and CRLs are cached as Cache-Control/Expires allow, at most a day (an hour without a directive), 128 entries and 2 MiB.",
};

/// `6.2-ms-two-requests`.
pub const MS_TWO_REQUESTS: Choice = Choice {
    id: "6.2-ms-two-requests",
    clause: "6.2.2.2 steps 4–6",
    question: "The Ms signing answer carries one Identity header; the flow needs the caller's number and the RCD signed.",
    answer: "The IMS AS sends two Ms signing requests: `shaken` (its attestation from how the caller was identified, choice trust-attestation) and `rcd`. The STI-AS signs each with the operator's STI-SP key.",
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

/// `avatar-video`.
pub const AVATAR_VIDEO: Choice = Choice {
    id: "avatar-video",
    clause: "6.5.2 step 8; 6.6.2.1 steps 1, 10, 11; 6.6.2.2 step 9 (\"rendered avatar media is sent as regular video media\")",
    question: "What stands in for the video of the rendered avatar, and how it reaches UE-B.",
    answer: "Frames: each rendered picture (48×48 pixels, as rows of Braille characters) in a JSON message on a data channel. From the network: the caller's IMS AS has its MF offer UE-B an `m=application` section (mid \"avm\", stream 1300 \"avatar-video\") in the INITIAL INVITE — the session's video connection of step 1 — and takes UE-B's answer out of the 200 for the MF; the MF sends rendered frames and protected objects for UE-B on it. From UE-A (UE-A centric): the peer-to-peer data channel (stream 1000). The dashboard draws the frames.",
};

/// `serve-digest-md5`.
pub const SERVE_DIGEST_MD5: Choice = Choice {
    id: "serve-digest-md5",
    clause: "(outside the figures; served worlds only: RFC 2617, RFC 3261 §22.4, RFC 8760 §2.4)",
    question: "How SIP clients that only know MD5 Digest (baresip 1.0.0 with libre 1.1.0 refuses a 401 that offers SHA-256 at all, even beside MD5) register with `testbed serve`.",
    answer: "A legacy allowance of served worlds only (world option `Setup::digest_md5`, off in every scenario): the S-CSCF challenges a REGISTER that carries no Authorization (a client that is not an IMS UE; TS 24.229 §5.1.1.2.1 has every IMS UE name its IMPI in its first REGISTER) with MD5 Digest, qop=auth, and takes an answer naming MD5 or no algorithm. The HSS derives H(A1)-MD5 from the stored password and serves it to its own S-CSCF only (GET /sh/v1/auth/{impi}?algorithm=MD5, mutual TLS). A REGISTER naming its IMPI gets the SHA-256 challenge as in scenarios. One challenge per 401 rather than RFC 8760's list in order of preference, because the list is what libre 1.1.0 rejects.",
};

/// The choices every solution may share.
pub const COMMON: &[Choice] = &[
    WORLD_IMS_ENTRY,
    WORLD_REGISTRATION,
    TRUST_FLOW_BINDING,
    TRUST_DOMAIN,
    TRUST_TRUNK_TLS,
    ATTESTATION,
    MS_CLIENT_AUTH,
    CERT_RULES,
    MS_TRANSPORT,
    MS_TWO_REQUESTS,
    TERM_DISPLAY,
    THREAT_NNI,
    DC_SDP_ANSWER,
    DC_P2P_PATH,
    DC_ICE_TIMERS,
    DC_BOOTSTRAP_ANCHOR,
    DC_P2A_REINVITE,
    AVATAR_VIDEO,
    SERVE_DIGEST_MD5,
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
