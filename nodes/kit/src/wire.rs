//! JSON shapes that cross interfaces between network functions of different crates (NF crates
//! never depend on each other, so what they exchange lives here). STIR shapes are in `stir::ms`.

/// The Sh-like interface between an IMS AS and the HSS (DESIGN §5). Not TS 29.328 Sh; a JSON
/// rendering of the subscription facts the TR's solutions read from the HSS.
pub mod sh {
    use serde::{Deserialize, Serialize};

    /// `GET /sh/v1/subscribers/{tn}` (tn in canonical form, digits only).
    pub fn path(tn_digits: &str) -> String {
        format!("/sh/v1/subscribers/{tn_digits}")
    }

    /// What the HSS holds for one public user identity.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Subscription {
        pub impu: String,
        /// Global telephone number (`+12025551000`).
        pub tn: String,
        /// Whether this subscription may use third-party identities (TR 33.790 §6.2.2.2 step 3).
        pub third_party_ids: bool,
        /// Base URL of the 3P ID server holding this user's RCD (§6.2.2.1 prerequisite 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub id_server: Option<String>,
        /// Whether the user subscribed to caller verification (terminating side).
        #[serde(default)]
        pub verification: bool,
    }
}

/// The 3P ID server's interface (TR 33.790 §6.2: RCD records per IMS identity), over HTTPS with
/// mutual TLS between operator and enterprise (§6.2.2.1 NOTE 2).
pub mod id3p {
    use serde::{Deserialize, Serialize};

    /// `GET /rcd/v1/subscribers/{tn}` (tn digits only).
    pub fn path(tn_digits: &str) -> String {
        format!("/rcd/v1/subscribers/{tn_digits}")
    }

    /// One RCD record (RFC 9795 `rcd` members and the call reason).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RcdRecord {
        /// The 3P ID data this record answers to (what a UE or PBX may name in its INVITE).
        pub id: String,
        pub nam: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub jcl: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub icn: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub crn: Option<String>,
        /// Used when the INVITE names no 3P ID data (§6.2.2.1 NOTE 3).
        #[serde(default)]
        pub default: bool,
    }

    /// The records for one IMS identity.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RcdRecords {
        pub tn: String,
        pub records: Vec<RcdRecord>,
    }
}
