//! JSON shapes that cross interfaces between network functions of different crates (NF crates
//! never depend on each other, so what they exchange lives here). STIR shapes are in `stir::ms`.

/// The Sh-like interface between an IMS AS and the HSS (ARCHITECTURE.md, "Interfaces"). Not TS 29.328 Sh; a JSON
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
        /// The public user identity (`sip:+12025551000@ims.example`).
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
        /// Solution 1 (§6.1.2): the 3P ID information provisioned for this IMPU, held in the
        /// HSS itself…
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub id_info: Option<IdInfo>,
        /// …or as a URI to the repository holding it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub id_info_url: Option<String>,
        /// Solution 3 (§6.3.2): the RCD URL(s) associated with this IMPU…
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub rcd_urls: Vec<String>,
        /// …and the concrete RCD the HSS fetched in advance (§6.3.2 step 4a NOTE).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub rcd: Option<ConcreteRcd>,
        /// Solution 4 option A (§6.4.2.1 step 0a): a designated IMPU the NEF provisioned for a
        /// third party, with the realm of its authorization server…
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub authz_realm: Option<String>,
        /// …and the 3P ID it stands for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub id3p: Option<String>,
    }

    /// What the HSS returns of what it holds, where the TR leaves the choice to deployment
    /// (Editor's Notes in §6.1.1 and §6.3.2: "pointer or actual data").
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Storage {
        /// The data itself (3P ID information, concrete RCD).
        #[default]
        Data,
        /// A URL to it (3P ID information repository, RCD URL).
        Pointer,
    }

    /// The prefix of [`id_info_path`].
    pub const ID_INFO_PREFIX: &str = "/sh/v1/3pid-info/";

    /// `GET /sh/v1/3pid-info/{tn}`: solution 1's 3P ID information (§6.1.2 steps 3 and 5).
    pub fn id_info_path(tn_digits: &str) -> String {
        format!("{ID_INFO_PREFIX}{tn_digits}")
    }

    /// `GET /sh/v1/rcd/{tn}`: solution 3's RCD or RCD URL (§6.3.2 step 4a).
    pub fn rcd_path(tn_digits: &str) -> String {
        format!("/sh/v1/rcd/{tn_digits}")
    }

    /// `GET /sh/v1/auth/{impi}`: the SIP Digest credential of a private user identity, served
    /// to the operator's S-CSCF only (the testbed's Cx multimedia-auth answer, TS 29.228 §6.3).
    pub fn auth_path(impi: &str) -> String {
        format!("/sh/v1/auth/{impi}")
    }

    /// The answer to [`auth_path`]: H(A1) for RFC 7616 Digest with SHA-256 (RFC 8760); the
    /// password itself never leaves the HSS.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct DigestCredential {
        /// The private user identity (`+12025551000@ims.mnc001.mcc001.3gppnetwork.org`).
        pub impi: String,
        /// The public user identities it may register: its own first, then any designated IMPU
        /// provisioned for it.
        pub impus: Vec<String>,
        /// The Digest realm: the home network's domain.
        pub realm: String,
        /// The Digest algorithm (`SHA-256`).
        pub algorithm: String,
        /// hex(SHA-256(impi ":" realm ":" password)).
        pub ha1: String,
    }

    /// 3P ID information (solution 1): the third-party identity presented for an IMPU.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct IdInfo {
        /// The third-party identity (`sip:q@qbranch.example`).
        pub id: String,
        /// The name the callee is shown.
        pub name: String,
    }

    /// The answer to [`id_info_path`]: the information, or the URI to fetch it from.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct IdInfoAnswer {
        /// The information itself ([`Storage::Data`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub info: Option<IdInfo>,
        /// Where to fetch it ([`Storage::Pointer`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
    }

    /// Concrete RCD (solution 3): caller name, job title, organisation, location.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ConcreteRcd {
        /// The caller's name (RFC 9795 `nam`; the jCard's `fn`).
        pub nam: String,
        /// Organisation (jCard `org`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub org: Option<String>,
        /// Job title (jCard `title`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub title: Option<String>,
        /// Location (the locality of the jCard's `adr`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub locality: Option<String>,
    }

    impl ConcreteRcd {
        /// The same data as a jCard (RFC 7095), to sign inline as `jcd` (RFC 9795 §6.1).
        pub fn jcard(&self) -> serde_json::Value {
            let mut props = vec![
                serde_json::json!(["version", {}, "text", "4.0"]),
                serde_json::json!(["fn", {}, "text", self.nam]),
            ];
            if let Some(org) = &self.org {
                props.push(serde_json::json!(["org", {}, "text", org]));
            }
            if let Some(title) = &self.title {
                props.push(serde_json::json!(["title", {}, "text", title]));
            }
            if let Some(locality) = &self.locality {
                props.push(serde_json::json!([
                    "adr",
                    {},
                    "text",
                    ["", "", "", locality, "", "", ""]
                ]));
            }
            serde_json::json!(["vcard", props])
        }
    }

    /// The answer to [`rcd_path`]: RCD URL(s) or concrete RCD, per the HSS's [`Storage`].
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RcdAnswer {
        /// The RCD URL(s) ([`Storage::Pointer`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub urls: Vec<String>,
        /// The concrete RCD ([`Storage::Data`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub rcd: Option<ConcreteRcd>,
    }

    /// `GET /sh/v1/avatars/{impu}`: solution 7's avatar entitlements of a subscriber (TR 33.790
    /// §6.7.2.1 step 3: "the IMS AS validates with HSS … if the UE is authorized to use the
    /// Avatar-id for the application based on subscription data"). The IMPU goes in as it is
    /// (`sip:+12025551000@ims.example`: `:`, `+` and `@` are path characters, RFC 3986 §3.3).
    pub fn avatars_path(impu: &str) -> String {
        format!("/sh/v1/avatars/{impu}")
    }

    /// One avatar a subscriber may use, with one application.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AvatarEntitlement {
        /// The Avatar-id (`qbranch-agent`).
        pub avatar_id: String,
        /// The application it may be used with (`avatar-call`).
        pub app_id: String,
    }

    /// The answer to [`avatars_path`]: every avatar entitlement of the subscriber (none is an
    /// empty list; an unknown subscriber is a 404).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AvatarEntitlements {
        /// The subscriber's public user identity.
        pub impu: String,
        /// What it may use.
        pub entitlements: Vec<AvatarEntitlement>,
    }

    impl AvatarEntitlements {
        /// Whether the subscriber may use avatar `avatar_id` with application `app_id`.
        pub fn allows(&self, avatar_id: &str, app_id: &str) -> bool {
            self.entitlements
                .iter()
                .any(|e| e.avatar_id == avatar_id && e.app_id == app_id)
        }
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

    /// `GET /3pid/v1/subscribers/{tn}`: the 3P ID information of one IMS identity, as a
    /// repository for solution 1 (`sh::IdInfo`).
    pub fn id_info_path(tn_digits: &str) -> String {
        format!("/3pid/v1/subscribers/{tn_digits}")
    }

    /// One RCD record (RFC 9795 `rcd` members and the call reason).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RcdRecord {
        /// The 3P ID data this record answers to (what a UE or PBX may name in its INVITE).
        pub id: String,
        /// Display name (RFC 9795 §5.1.1 `nam`).
        pub nam: String,
        /// jCard URL (RFC 9795 §5.1.3 `jcl`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub jcl: Option<String>,
        /// Icon URL (RFC 9795 §5.1.4 `icn`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub icn: Option<String>,
        /// Call reason (RFC 9795 §6.2 `crn`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub crn: Option<String>,
        /// Used when the INVITE names no 3P ID data (§6.2.2.1 NOTE 3).
        #[serde(default)]
        pub default: bool,
    }

    /// The records for one IMS identity.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RcdRecords {
        /// The IMS identity's telephone number (`+12025551000`).
        pub tn: String,
        /// Its records, in the order the server holds them.
        pub records: Vec<RcdRecord>,
    }
}

/// The MF/MRF's control interface (TS 23.228 Annex AC in outline): the IMS AS hands the MF a
/// data channel `m=application` section the UE offered toward the network (the bootstrap
/// channel, or an application channel to the MF) and gets the MF's answer for it.
pub mod mf {
    use serde::{Deserialize, Serialize};

    /// `POST /mf/v1/anchor`.
    pub const ANCHOR_PATH: &str = "/mf/v1/anchor";

    /// The SIP-facing mid of a UE's bootstrap data channel section.
    pub const BOOTSTRAP_MID: &str = "bdc";

    /// SIP-facing mids of person-to-application channel sections start with this.
    pub const P2A_MID_PREFIX: &str = "p2a";

    /// The SIP-facing mid of an application data channel (ADC) a DC AF had the network
    /// establish toward both parties of a call (TR 33.790 §6.9.2.2 step 5).
    pub const ADC_MID: &str = "adc";

    /// The SCTP stream of the one channel of such an ADC.
    pub const ADC_STREAM: u16 = 1200;

    /// Whether a section with this mid is for the UE's own network (the MF), not the far end.
    pub fn for_network(mid: &str) -> bool {
        mid == BOOTSTRAP_MID || mid.starts_with(P2A_MID_PREFIX)
    }

    /// Terminate this section at the MF.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AnchorRequest {
        /// The served user's telephone number (`+12025551000`).
        pub tn: String,
        /// The call's Call-ID (what [`ReleaseRequest`] names later).
        pub call_id: String,
        /// An SDP session holding the one offered `m=application` section.
        pub offer: String,
        /// The Avatar-id the IMS AS had signed for this application channel (solution 7 step
        /// 3); absent otherwise, so other anchoring requests read as before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub avatar: Option<crate::wire::avatar::SignedAvatarId>,
    }

    /// `POST /mf/v1/release`: the call ended (BYE); the MF closes what it terminated for it.
    pub const RELEASE_PATH: &str = "/mf/v1/release";

    /// Release every association of a call.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ReleaseRequest {
        /// The ended call's Call-ID.
        pub call_id: String,
        /// Release only the associations of this SIP-facing mid (a data channel removed from
        /// an ongoing call); absent: every association of the call (the call ended).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mid: Option<String>,
    }

    /// The MF's answer.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AnchorResponse {
        /// An SDP session holding the one answered `m=application` section.
        pub answer: String,
    }

    /// `POST /mf/v1/offer`: an IMS AS asks its MF to offer the callee a section: the terminating
    /// AS the callee's own network's BDC (mid [`BOOTSTRAP_MID`]), the originating AS of an
    /// avatar call the avatar media channel ([`OfferSection::AvatarMedia`]).
    pub const OFFER_PATH: &str = "/mf/v1/offer";

    /// Offer the callee a data channel section: its own network's bootstrap channel, or the
    /// caller's network's avatar media channel ([`OfferSection`]).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct OfferRequest {
        /// The callee's number (whose application list the MF serves).
        pub tn: String,
        /// The call's Call-ID.
        pub call_id: String,
        /// Which section to offer; absent on the wire for the bootstrap channel, so bootstrap
        /// offers read as before.
        #[serde(default, skip_serializing_if = "OfferSection::is_bootstrap")]
        pub section: OfferSection,
        /// The DC application of an [`OfferSection::Application`] section; absent otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub app: Option<String>,
    }

    /// The kind of section an MF offers the callee.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum OfferSection {
        /// The callee's own network's bootstrap data channel (mid [`BOOTSTRAP_MID`]).
        #[default]
        Bootstrap,
        /// The caller's network's avatar media channel (mid
        /// [`crate::wire::avatar::AVATAR_MEDIA_MID`]): rendered avatar frames and protected
        /// avatar objects from the caller's MF to the callee.
        AvatarMedia,
        /// An application data channel (mid [`ADC_MID`]) of one DC application, offered to
        /// a party of an ongoing call at a DC AF's request (TR 33.790 §6.9.2.2 step 5).
        Application,
    }

    impl OfferSection {
        /// Whether this is the bootstrap channel (the default, left off the wire).
        pub fn is_bootstrap(&self) -> bool {
            *self == OfferSection::Bootstrap
        }

        /// The SIP-facing mid of the offered section.
        pub fn mid(self) -> &'static str {
            match self {
                OfferSection::Bootstrap => BOOTSTRAP_MID,
                OfferSection::AvatarMedia => crate::wire::avatar::AVATAR_MEDIA_MID,
                OfferSection::Application => ADC_MID,
            }
        }
    }

    /// The MF's offer.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct OfferResponse {
        /// An SDP session holding the one offered `m=application` section.
        pub offer: String,
    }

    /// `POST /mf/v1/complete`: the callee's answer to the MF's offer (from its 2xx).
    pub const COMPLETE_PATH: &str = "/mf/v1/complete";

    /// The callee's answer to the MF's offer.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct CompleteRequest {
        /// The call's Call-ID (as in the [`OfferRequest`]).
        pub call_id: String,
        /// An SDP session holding the one answered `m=application` section.
        pub answer: String,
        /// Whose offer it answers (the party's number), when both parties of one call have an
        /// offer for the same mid; absent: the call's only offer for the mid.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub tn: Option<String>,
    }
}

/// The DCSF's interface toward the MF (TS 23.228 Annex AC in outline): the data channel
/// applications a subscriber may use.
pub mod dcsf {
    use serde::{Deserialize, Serialize};

    /// `GET /dcsf/v1/subscribers/{tn}/apps` (tn digits only).
    pub fn path(tn_digits: &str) -> String {
        format!("/dcsf/v1/subscribers/{tn_digits}/apps")
    }

    /// `GET /dcsf/v1/subscribers/{tn}/apps/{id}`: one application downloaded (the MF asks when
    /// a UE sends `GET /apps/{id}` on its bootstrap channel; TR 33.790 §6.9's app-downloaded
    /// event).
    pub fn app_path(tn_digits: &str, app_id: &str) -> String {
        format!("/dcsf/v1/subscribers/{tn_digits}/apps/{app_id}")
    }

    /// The path a UE sends on its bootstrap channel to download application `app_id`.
    pub fn bootstrap_app_path(app_id: &str) -> String {
        format!("/apps/{app_id}")
    }

    /// One data channel application.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct App {
        /// The application's identifier.
        pub id: String,
        /// Its name, as the UE shows it.
        pub name: String,
        /// Where the UE fetches it (over the bootstrap channel).
        pub url: String,
        /// The Avatar-ids the subscriber may use with this application (TR 33.790 §6.7.2.1
        /// step 1, choice `7-avatar-id-list`: the UE downloads them with its list); empty for
        /// most applications, and then not serialised, so such lists read as before.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub avatar_ids: Vec<String>,
    }

    /// A subscriber's application list.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AppList {
        /// The subscriber's telephone number (`+12025551000`).
        pub tn: String,
        /// The applications the subscriber may use.
        pub apps: Vec<App>,
    }
}
pub mod authz;
pub mod avatar;
pub mod exposure;
