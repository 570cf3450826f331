//! The threats of TR 33.790 clause 5 (5.1.2, 5.2.2 and 5.3.2), one entry each, in the project's
//! words. A variant's [`crate::solution::Threat`] names the entries it demonstrates
//! ([`ThreatId`]); `testbed coverage` lists, for each entry, the variants that do.
//!
//! Numbering: the TR lists the threats of a clause without numbers; `5.1.2-1` is the first of
//! 5.1.2, and so on. The second threat of 5.3.2 (a malicious AF manipulating an ongoing data
//! channel) names two aims, interrupting the communication and pushing unwanted services; the
//! catalogue splits it into `5.3.2-2a` and `5.3.2-2b`, since different variants show each.

use serde::Serialize;

use crate::solution::{KI1, KI2, KI3, KeyIssue};

/// A threat of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ThreatId {
    /// 5.1.2-1: a UE calls with another's third-party ID or a made-up one.
    ForgedId,
    /// 5.1.2-2: a UE calls with a third-party ID it held once but holds no longer.
    FormerId,
    /// 5.1.2-3: a node between the IMS networks alters the ID on its way.
    IdInTransit,
    /// 5.2.2-1: a UE uses another UE's Avatar-ID, or a made-up one, to pass as that UE.
    ForgedAvatarId,
    /// 5.2.2-2: a node between the IMS networks alters the Avatar-ID on its way.
    AvatarIdInTransit,
    /// 5.2.2-3: a node on the way alters the avatar metadata.
    MetadataInTransit,
    /// 5.2.2-4: a node on the way alters the avatar media.
    MediaInTransit,
    /// 5.2.2-5: avatar objects serve to pass as another caller.
    AvatarImpersonation,
    /// 5.3.2-1: a third-party AS it should not reach learns who calls whom, or DC events.
    Disclosure,
    /// 5.3.2-2a: a malicious AF updates or ends an ongoing DC to cut the communication.
    Interruption,
    /// 5.3.2-2b: a malicious AF pushes services the user did not ask for over a DC.
    UnwantedServices,
}

/// One threat of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Which threat.
    pub id: ThreatId,
    /// Its label: the clause and its place in the clause's list (`5.1.2-1`).
    pub label: &'static str,
    /// The clause that lists it (`5.1.2`).
    pub clause: &'static str,
    /// The key issue the clause belongs to.
    pub key_issue: KeyIssue,
    /// The threat, in the project's words.
    pub text: &'static str,
}

/// Every threat of clauses 5.1.2, 5.2.2 and 5.3.2, in the TR's order.
pub const CATALOGUE: &[Entry] = &[
    Entry {
        id: ThreatId::ForgedId,
        label: "5.1.2-1",
        clause: "5.1.2",
        key_issue: KI1,
        text: "a malicious UE places calls under third-party IDs that are someone else's or made up",
    },
    Entry {
        id: ThreatId::FormerId,
        label: "5.1.2-2",
        clause: "5.1.2",
        key_issue: KI1,
        text: "a UE keeps calling under a third-party ID it no longer holds (a former employee's company ID)",
    },
    Entry {
        id: ThreatId::IdInTransit,
        label: "5.1.2-3",
        clause: "5.1.2",
        key_issue: KI1,
        text: "a node between the IMS networks alters the ID on its way, so the callee is shown a wrong one",
    },
    Entry {
        id: ThreatId::ForgedAvatarId,
        label: "5.2.2-1",
        clause: "5.2.2",
        key_issue: KI2,
        text: "a malicious UE starts an avatar call with another UE's Avatar-ID, or a made-up one, to pass as someone else",
    },
    Entry {
        id: ThreatId::AvatarIdInTransit,
        label: "5.2.2-2",
        clause: "5.2.2",
        key_issue: KI2,
        text: "a node between the IMS networks alters the Avatar-ID on its way",
    },
    Entry {
        id: ThreatId::MetadataInTransit,
        label: "5.2.2-3",
        clause: "5.2.2",
        key_issue: KI2,
        text: "a node on the way alters the avatar metadata",
    },
    Entry {
        id: ThreatId::MediaInTransit,
        label: "5.2.2-4",
        clause: "5.2.2",
        key_issue: KI2,
        text: "a node on the way alters the avatar media",
    },
    Entry {
        id: ThreatId::AvatarImpersonation,
        label: "5.2.2-5",
        clause: "5.2.2",
        key_issue: KI2,
        text: "someone obtains or uses avatar objects to pass as another caller",
    },
    Entry {
        id: ThreatId::Disclosure,
        label: "5.3.2-1",
        clause: "5.3.2",
        key_issue: KI3,
        text: "an untrusted third-party AS learns private data: who calls whom, data channel events",
    },
    Entry {
        id: ThreatId::Interruption,
        label: "5.3.2-2a",
        clause: "5.3.2",
        key_issue: KI3,
        text: "a malicious AF updates or ends an ongoing data channel to cut the communication (denial of service)",
    },
    Entry {
        id: ThreatId::UnwantedServices,
        label: "5.3.2-2b",
        clause: "5.3.2",
        key_issue: KI3,
        text: "a malicious AF uses a data channel to push services the user did not ask for (an application download)",
    },
];

impl ThreatId {
    /// Its catalogue entry.
    pub fn entry(self) -> &'static Entry {
        // Every id has exactly one entry (tested); the first entry is a harmless fallback the
        // compiler needs, never reached.
        CATALOGUE
            .iter()
            .find(|e| e.id == self)
            .unwrap_or(&CATALOGUE[0])
    }

    /// Its label (`5.1.2-1`).
    pub fn label(self) -> &'static str {
        self.entry().label
    }
}

impl std::fmt::Display for ThreatId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_the_trs_threats_once_each_in_order() {
        let labels: Vec<&str> = CATALOGUE.iter().map(|e| e.label).collect();
        assert_eq!(
            labels,
            [
                "5.1.2-1", "5.1.2-2", "5.1.2-3", "5.2.2-1", "5.2.2-2", "5.2.2-3", "5.2.2-4",
                "5.2.2-5", "5.3.2-1", "5.3.2-2a", "5.3.2-2b"
            ]
        );
        for (n, e) in CATALOGUE.iter().enumerate() {
            assert_eq!(e.id.entry(), e, "{}", e.label);
            assert!(e.label.starts_with(e.clause), "{}", e.label);
            assert_eq!(
                e.clause,
                format!("5.{}.2", e.key_issue.number),
                "{}",
                e.label
            );
            assert!(
                CATALOGUE[..n].iter().all(|o| o.id != e.id),
                "{} twice",
                e.label
            );
        }
    }

    #[test]
    fn every_variant_threat_names_catalogue_threats_of_its_own_clause() {
        for v in crate::scenarios::all() {
            let Some(t) = v.threat else { continue };
            for id in t.ids {
                assert_eq!(id.entry().clause, t.clause, "{}: {id}", v.name());
                let ki = v.solution().map(|s| s.key_issue);
                assert_eq!(Some(id.entry().key_issue), ki, "{}: {id}", v.name());
            }
        }
    }

    /// The variants whose threat is switched on but that demonstrate none of the TR's threats as
    /// the TR states them (a changed source rather than an intermediary, a check without an
    /// attacker, a credential the signer itself misuses). Pinned, so that a new one is a
    /// decision.
    #[test]
    fn variants_that_demonstrate_no_catalogue_threat_are_the_known_ones() {
        let unmapped: Vec<String> = crate::scenarios::all()
            .into_iter()
            .filter(|v| v.threat.is_some_and(|t| t.ids.is_empty()))
            .map(|v| v.name())
            .collect();
        assert_eq!(
            unmapped,
            [
                "2:tn-not-covered",
                "2:revoked-cert",
                "3:jcard-changed",
                "4:authenticate",
                "7:metadata-expired",
                "8:caller-not-authorised",
                "8:second-fetch-once"
            ]
        );
    }
}
