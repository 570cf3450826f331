//! Testbed choices: where the TR leaves something open (Editor's Notes, FFS, "e.g."), what this
//! testbed does. One table, shown by the command line and the dashboard; network functions name
//! a choice by its id in the trace when they act on it.

use serde::Serialize;

/// One choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub id: &'static str,
    /// Where the TR leaves it open.
    pub clause: &'static str,
    /// What is open, in our words.
    pub question: &'static str,
    /// What the testbed does.
    pub answer: &'static str,
}

/// Every choice the testbed makes.
pub const CHOICES: &[Choice] = &[
    Choice {
        id: "world-ims-entry",
        clause: "6.2.2.2 step 2, 6.2.2.3 step 1",
        question: "The TR's \"originating IMS system\" is a collective (I/S-CSCF, MMTel AS, …).",
        answer: "The P-CSCF asserts the caller (P-Asserted-Identity), the S-CSCF routes to the IMS AS over ISC, and the IMS AS performs the 3P ID and STIR steps. The I-CSCF is left out: the P-CSCF and IBCF know their S-CSCF.",
    },
    Choice {
        id: "world-registration",
        clause: "(outside the figures)",
        question: "Registration and IMS AKA are not part of the solution's flow.",
        answer: "UEs REGISTER through their P-CSCF (Path) to the S-CSCF (Service-Route) without an authentication challenge; the trace shows it as supporting detail.",
    },
    Choice {
        id: "6.1-storage",
        clause: "6.1.1 Editor's Note",
        question: "Whether the HSS stores the third party ID information itself or a pointer to it.",
        answer: "Both are provisioned per IMPU (fixtures/subscribers.toml); a world-wide storage option says which the HSS hands out. Variant 1:info runs with data, 1:uri with pointers (the enterprise's 3P ID server is the repository).",
    },
    Choice {
        id: "6.1-hss-fetch",
        clause: "6.1.2 step 4",
        question: "When and from where the HSS fetches the 3P ID information (\"if needed\").",
        answer: "Never at call time: the HSS returns what it holds, and says so in the trace. With a pointer, the IMS AS fetches (step 6) from the repository over mutual TLS.",
    },
    Choice {
        id: "6.1-passport",
        clause: "6.1.2 steps 7-8",
        question: "What the signing server signs for the third party ID information, and in which PASSporT.",
        answer: "One `shaken` PASSporT that also carries the information as RFC 9795 `rcd` claims (`nam`), so the caller's number and the 3P ID verify together: altering either fails the whole verification (TN-Validation-Failed). The 3P ID is shown as the P-Asserted-Identity display name.",
    },
    Choice {
        id: "6.3-storage",
        clause: "6.3.2 Editor's Notes",
        question: "Whether the HSS stores an RCD pointer or the RCD itself.",
        answer: "Both are provisioned for UE-A; a world-wide storage option picks what the HSS returns in step 4a: the RCD URL (3:url, 3:jcard-changed) or concrete RCD fetched in advance (3:concrete). Authorisation (step 3) is the existence of either association.",
    },
    Choice {
        id: "6.3-as-fetch",
        clause: "6.3.2 step 4b",
        question: "Whether the IMS AS fetches the RCD behind an RCD URL, and what it does with it.",
        answer: "It does: it reads the jCard's name for `nam` and computes the `rcdi` digests over exactly the bytes it fetched, passing them in the Ms request so the STI-AS signs what the AS saw (the STI-AS does not fetch again).",
    },
    Choice {
        id: "6.3-rcd-header",
        clause: "6.3.2 (\"defined by stage 3\")",
        question: "Which SIP headers carry the signed RCD.",
        answer: "An RFC 9795 `rcd` PASSporT beside the `shaken` one. An RCD URL goes in `jcl` with its `rcdi` digest and in Call-Info purpose=rcd-jcard; concrete RCD is embedded as a jCard in `jcd`, with no Call-Info. On the terminating side the STI-VS fetches the URL (step 9) to check the digest.",
    },
    Choice {
        id: "6.4-s-cscf",
        clause: "6.4.2.1 step 2 (\"e.g. S-CSCF\")",
        question: "Which originating IMS entity checks the subscription and sends the authorisation request to the NEF.",
        answer: "The originating IMS AS, on the S-CSCF's ISC path (as for the other solutions): it reads the subscription from the HSS (third_party_ids, or a designated IMPU with its server's realm) and calls the NEF over mutual TLS. The NEF selects the authorization server by realm (option B) or by the IMPU it allocated (option A).",
    },
    Choice {
        id: "6.4-token",
        clause: "6.4.2.1 option B (\"content of the token … out of scope\")",
        question: "What the option B token is and how the UE gets it (step 0b).",
        answer: "An ES256 JWT (iss, sub = the UE's IMPU, aud = the operator's domain, 3pid, iat, exp = iat + 1 h, jti) signed with the authorization server's TLS key. The UE gets it over HTTPS by signing \"impu|3pid|iat\" with its UE key, which the server checks against the UE certificate (UE CA). The server alone validates it (signature, audience, expiry, revocation, subject, 3P ID).",
    },
    Choice {
        id: "6.4-authorization-header",
        clause: "6.4.2.1 step 1",
        question: "How the INVITE's Authorization header carries the 3P ID, the realm and the token.",
        answer: "The Bearer scheme in RFC 7235 auth-param form: `Authorization: Bearer realm=\"authz.enterprise.example\", 3pid=\"tel:+12025550100\", token=\"<JWT>\"`. The UE also presents the 3P ID in From. The originating IMS AS removes the header before the INVITE leaves the network.",
    },
    Choice {
        id: "6.4-name-card",
        clause: "6.4.2.1 step 3, NOTE 2, Editor's Note (dynamic name cards FFS)",
        question: "What the enterprise name card is and how it is signed and carried.",
        answer: "A static jCard per employee, served by the authorization server at /cards/<file>; the IMS AS asserts the 3P ID in P-Asserted-Identity (display name = the card's name) and has it signed as orig with the card as an `rcd` PASSporT (nam, jcl, rcdi over the jCard), plus Call-Info purpose=rcd-jcard.",
    },
    Choice {
        id: "6.4-rejected",
        clause: "6.4.2.1 step 3 (\"optionally with a failed code\")",
        question: "What the callee sees when the authorisation is rejected.",
        answer: "The call continues with the caller's own number asserted and signed and no name card; the 3P ID the caller put in From is not the validated number, so the terminating AS marks it verstat=TN-Validation-Failed (P-Asserted-Identity keeps TN-Validation-Passed).",
    },
    Choice {
        id: "6.4-authenticate",
        clause: "6.4.2.2 (\"authentication … out of scope\")",
        question: "How the authorization server authenticates the UE instead of taking a token.",
        answer: "By challenge and response relayed through the IMS: the server answers with a nonce, the originating IMS AS answers the INVITE 401 with `WWW-Authenticate: Bearer realm, nonce`, the UE re-sends the INVITE with its ES256 signature over the nonce (UE key), and the server checks it against the UE certificate. Nonces are single-use and expire.",
    },
    Choice {
        id: "6.2-3pid-data",
        clause: "6.2.2.1 item 2, 6.2.2.2 step 1",
        question: "Where the INVITE carries the optional 3P ID data (\"e.g. the display name in From header or other header info\").",
        answer: "The display name of the From header. No display name means no 3P ID data.",
    },
    Choice {
        id: "6.2-no-3pid-data",
        clause: "6.2.2.1 NOTE 1 and NOTE 3",
        question: "What RCD to use when the INVITE names no 3P ID data.",
        answer: "The 3P ID server's record marked default for that identity; no lookup is suppressed.",
    },
    Choice {
        id: "6.2-mismatch-policy",
        clause: "6.2.2.2 NOTE 1",
        question: "Local policy when the INVITE's 3P ID data matches no record of the caller's identity.",
        answer: "No RCD is signed or presented; the call continues with the caller's number signed (shaken) only.",
    },
    Choice {
        id: "6.2-rcd-header",
        clause: "6.2.2.1 Editor's Note",
        question: "Which SIP header carries the RCD (FFS).",
        answer: "A separate RFC 9795 `rcd` PASSporT in its own Identity header (with `rcdi` over the jCard), the RCD name as the P-Asserted-Identity display name, and the jCard URL in Call-Info with purpose=rcd-jcard and call-reason (RFC 9796).",
    },
    Choice {
        id: "6.2-ms-two-requests",
        clause: "6.2.2.2 steps 4–6",
        question: "The Ms signing answer carries one Identity header; the flow needs the caller's number and the RCD signed.",
        answer: "The IMS AS sends two Ms signing requests: `shaken` (attestation A) and `rcd`. The STI-AS signs each with the operator's STI-SP key.",
    },
    Choice {
        id: "6.2-term-display",
        clause: "6.2.2.2 step 10",
        question: "What the callee is given when the caller's number verifies but the RCD does not.",
        answer: "The terminating IMS AS adds verstat to P-Asserted-Identity and From, and removes every name the callee could show (display names, the `rcd` Identity, Call-Info rcd-jcard) unless `rcd` claims verified with intact digests (an `rcd` PASSporT, or a `shaken` one carrying them); the name shown is then the signed `nam`, whatever the header said.",
    },
    Choice {
        id: "ms-transport",
        clause: "4.2, 6.2.2.1 NOTE 2",
        question: "Transport security of Ms, the Sh-like interface and the 3P ID server.",
        answer: "HTTPS (TLS 1.3) everywhere with the fixture PKI; mutual TLS to the HSS and to the 3P ID server's RCD records.",
    },
    Choice {
        id: "threat-nni",
        clause: "5.1.2 threat 3",
        question: "Who manipulates the ID between IMS networks.",
        answer: "The originating network's egress IBCF, switched into an attacker for the variant: it rewrites the INVITE on the NNI and says so in the trace.",
    },
    Choice {
        id: "dc-sdp-answer",
        clause: "TS 26.114 §6.2.10, RFC 8864 (issue 4 item 4)",
        question: "Where the data channel SDP answer travels, and how channels are opened.",
        answer: "The offer is in the INVITE, the answer in the 200 OK (no reliable provisional responses). Every channel is negotiated from its a=dcmap stream id and created on both sides before the offer/answer is made; no in-band DCEP. A declined section (port 0) leaves the call up without data channels.",
    },
    Choice {
        id: "dc-p2p-path",
        clause: "TS 23.228 Annex AC (outline); TR 33.790 avatar calls",
        question: "How application data channels between the two UEs are anchored.",
        answer: "Peer to peer: one m=application section (mid \"dc\") per call, DTLS/SCTP over ICE between the UEs' host candidates on 127.0.0.1; the CSCFs, IMS ASs and IBCFs pass the SDP through unchanged. The MF/MRF and DCSF (bootstrap channel, P2A channels) are started only in the 2:dc-bootstrap world (choices dc-bootstrap-anchor, dc-p2a-reinvite).",
    },
    Choice {
        id: "dc-ice-timers",
        clause: "DESIGN §9 (a data channel is usable within 100 ms of the 200 OK)",
        question: "ICE timer values on loopback.",
        answer: "5 ms connectivity-check interval while connecting, 40 ms STUN keepalive once connected (the agent ticks at min(200 ms, keepalive) and DTLS/SCTP wait for its ticks: first message ~48 ms after the answer, against ~208 ms with 1 s; 25 small indications a second per association, not the 5 ms flood), 1.5 s bound from the answer to open channels; ICE ufrag/pwd come from the node's seeded random stream, DTLS fingerprints are replaced by <dtls-fingerprint> in snapshots.",
    },
    Choice {
        id: "dc-bootstrap-anchor",
        clause: "TS 23.228 Annex AC (outline); TS 26.114 §6.2.10 (issue 4 item 2)",
        question: "How a UE's bootstrap data channel reaches its network's MF, and where the application list comes from.",
        answer: "Call time, in the call's SDP: the caller offers a second m=application section (mid \"bdc\", stream 0, subprotocol http) next to the peer-to-peer one. The originating IMS AS (record-routing when its network has an MF) takes every section with mid \"bdc\" or \"p2a…\" out of the INVITE, has the MF answer it over HTTPS (POST /mf/v1/anchor, mutual TLS) and puts the MF's answer back into the 200 at the offer's position. The MF serves HTTP on the channel: GET / returns the caller's DC application list, which it asks the DCSF for (GET /dcsf/v1/subscribers/{tn}/apps, fixtures/dc-apps.toml). The callee's side turns the roles round: for a call offering data channels, the terminating IMS AS (record-routing) has its MF offer the callee a bootstrap channel (POST /mf/v1/offer), appends that section to the INVITE (and, unchanged, to every re-INVITE of the call), takes the callee's answer out of the 2xx and hands it to the MF (POST /mf/v1/complete); the callee's GET / gets its own list. One DCSF (the originating operator's) serves both MFs in this world.",
    },
    Choice {
        id: "dc-p2a-reinvite",
        clause: "TS 23.228 Annex AC (outline); issue 4 item 3",
        question: "How a person-to-application channel to the MF is added to a call, and who answers it.",
        answer: "UE-A sends a re-INVITE in the dialog (Route set from the 200's Record-Route) repeating the call's sections and adding m=application mid \"p2a\" (stream 1100). The originating IMS AS anchors the new section at the MF as for the bootstrap channel and keeps its earlier MF answer for the unchanged bootstrap section; the rest of the offer goes on to UE-B, which answers with its unchanged session description. The MF's application acknowledges each message with a JSON message.",
    },
];

/// The choice with this id.
pub fn get(id: &str) -> Option<&'static Choice> {
    CHOICES.iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = CHOICES.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(get("6.2-rcd-header").is_some());
    }
}
