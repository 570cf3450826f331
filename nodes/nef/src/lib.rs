//! The originating operator's NEF in TR 33.790 solution #4 (§6.4): the one point where the
//! enterprise's 3P authorization server meets the IMS, at
//! `https://nef.ims.mnc001.mcc001.3gppnetwork.org`. Every client must present a TLS certificate
//! of the world's CA (mutual TLS); the NEF identifies it by the certificate's DNS name and serves
//! it only what that client may do.
//!
//! - `POST /3gpp-3pid/v1/allocations` — step 0a, option A. An authorised AF (the enterprise's
//!   authorization server) asks for a designated IMPU for one employee and one third-party ID;
//!   the NEF takes the next free IMPU of its pool, provisions it at the HSS
//!   (`POST /sh/v1/provisioning`) and remembers which authorization server owns it
//!   (`AllocateImpu` in the trace).
//! - `POST /3gpp-3pid/v1/authorize` — step 2. The IMS AS asks whether a caller may present a
//!   third-party ID; the NEF selects the third party's authorization server (by the realm in
//!   the request for option B, by the owner of the designated IMPU for option A), forwards the
//!   question and returns the answer (`SelectAuthzServer` in the trace).
//!
//! - `POST /nef/v1/oauth2/token` — solution #7 (§6.7.2.1 step 7). An authorised XR AS asks
//!   for an access token to the avatar metadata at the DAC with the signed Avatar-id, the UE
//!   token and the application id; the NEF verifies the signed Avatar-id with the IMS AS,
//!   the UE token with the UE certificate SIP announced, and grants an OAuth 2.0 access token
//!   (`IssueToken` in the trace; [`oauth`]).
//!
//! Solution #9 (§6.9, with an `[exposure]` section): the DC exposure APIs for DC ASs/AFs.
//! `POST /nef/v1/dc-exposure/oauth2/token` grants certificate-bound access tokens;
//! `POST /3gpp-dc-exposure/v1/subscriptions` (Figure 6.9.2.1-1) and
//! `POST /3gpp-dc-exposure/v1/control` (Figure 6.9.2.2-1) are authorised with the policy and
//! consent the HSS/UDM holds, then carried out at the DCSF, whose notifications
//! (`POST /nef/v1/dc-notifications/{id}`) the NEF passes on, anonymised as the policy says. The
//! decisions are pure ([`exposure`]); [`af`] is the AF side, a network function of its own.
//!
//! The decisions ([`identify`], [`reserve`], [`select`], [`next_free`], [`existing`]) are pure
//! functions; the refusals ([`refusal`]) map to their answers and reasons; [`start`] drives
//! them over `kit`.
#![warn(missing_docs)]

pub mod af;
mod config;
mod decide;
pub mod exposure;
pub mod oauth;
pub mod refusal;
mod server;

/// Host of the NEF in the simulated world.
pub const HOST: &str = "nef.ims.mnc001.mcc001.3gppnetwork.org";

pub use config::{AvatarTokens, ExposureConfig, NefConfig, PoolEntry};
pub use decide::{
    Record, Reservation, Selection, Table, dns_names, existing, identify, next_free, reserve,
    select,
};
pub use server::start;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proto::trace::Reason;
    use proto::wire::authz::{AuthorizeRequest, AuthorizeResponse, AuthzOption};

    #[test]
    fn wire_shapes() {
        use proto::wire::authz::token_signing_input;
        let req = AuthorizeRequest {
            impu: "sip:+1@x".into(),
            option: AuthzOption::B,
            realm: Some("authz.enterprise.example".into()),
            id3p: None,
            token: None,
            proof: None,
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"impu":"sip:+1@x","option":"B","realm":"authz.enterprise.example"}"#
        );
        let back: AuthorizeRequest =
            serde_json::from_str(r#"{"impu":"sip:+1@x","option":"A"}"#).unwrap();
        assert_eq!(back.option, AuthzOption::A);
        assert!(serde_json::from_str::<AuthorizeRequest>(r#"{"impu":"x","option":"C"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&AuthorizeResponse::denied(Reason::NoRecord, "no")).unwrap(),
            r#"{"authorized":false,"reason":"no","denial":"no-record"}"#
        );
        assert_eq!(token_signing_input("a", "b", 7), "a|b|7");
    }
}
