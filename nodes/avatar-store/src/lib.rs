//! The avatar provider's stores (3GPP TR 33.790 key issue #2), outside the operators' networks:
//!
//! - [`bar`]: the BAR (base avatar repository) of solution #5 (§6.5.2 steps 5–7), which answers
//!   the MF a base avatar model once the UE's avatar token verifies with the avatar owner's UE
//!   certificate, for the Avatar ID and the session requested.
//! - [`dac`]: the DAC (digital asset container) of solution #6 (§6.6.2 steps 5–6), which answers
//!   the XR AS the avatar object once the UE-A attestation verifies with the owner's UE
//!   certificate and names that XR AS: as is (network-centric rendering) or protected end to
//!   end for the rendering UE (UE-A or UE-B centric).
//!
//! Both hold the same configuration ([`Owners`]: the avatars, each owner's UE certificate and the
//! UE CA) and refuse the same typed way ([`Refusal`]: a [`proto::trace::Reason`] in the trace and
//! a `Problem` on the wire). The token, attestation and protection logic is the `avatar` crate's;
//! this crate decides (pure `decide` modules) and drives HTTPS over `kit`.
#![warn(missing_docs)]

pub mod bar;
pub mod dac;
pub mod owners;
pub mod refusal;

#[cfg(test)]
mod testing;

pub use bar::BarConfig;
pub use dac::DacConfig;
pub use owners::{OwnerKeys, Owners};
pub use refusal::{Refusal, TargetFault};
