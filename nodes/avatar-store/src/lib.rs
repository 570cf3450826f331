//! The stores of avatar objects (3GPP TR 33.790 key issue #2): the avatar provider's, outside
//! the operators' networks, and an operator's own:
//!
//! - [`bar`]: the BAR (base avatar repository) of solution #5 (§6.5.2 steps 5–7), which answers
//!   the MF a base avatar model once the UE's avatar token verifies with the avatar owner's UE
//!   certificate, for the Avatar ID and the session requested.
//! - [`dac`]: the DAC (digital asset container) of solution #6 (§6.6.2 steps 5–6), which answers
//!   the XR AS the avatar object once the UE-A attestation verifies with the owner's UE
//!   certificate and names that XR AS: as is (network-centric rendering) or protected end to
//!   end for the rendering UE (UE-A or UE-B centric). For solution #7 (§6.7.2.1 steps 8–9) the
//!   DAC also answers the avatar metadata, signed with its key, to a client whose OAuth 2.0
//!   access token from the NEF holds for that avatar ([`dac::metadata`]).
//! - [`aos`]: an operator's AOS (avatar object server) of solution #8 (§6.8.2 steps 2, 12 and
//!   21), which tells the operator's IMS AS whether a subscriber may use avatars and with which
//!   avatar data (registering the call's tuple), and serves the avatar object to the other
//!   party of the call once the UE's fetch proof verifies with its UE certificate
//!   ([`Directory`]) and the tuple's policy allows.
//!
//! The BAR and the DAC hold the same configuration ([`Owners`]: the avatars, each owner's UE
//! certificate and the UE CA). All three refuse the same typed way ([`Refusal`]: a
//! [`proto::trace::Reason`] in the trace and a `Problem` on the wire). The token, attestation,
//! fetch proof and protection logic is the `avatar` crate's; this crate decides (pure `decide`
//! modules) and drives HTTPS over `kit`.
#![warn(missing_docs)]

pub mod aos;
pub mod bar;
pub mod dac;
pub mod directory;
pub mod owners;
pub mod refusal;

#[cfg(test)]
mod testing;

pub use aos::AosConfig;
pub use bar::BarConfig;
pub use dac::DacConfig;
pub use directory::{Directory, UeKeys};
pub use owners::{OwnerKeys, Owners};
pub use refusal::{Refusal, TargetFault};
