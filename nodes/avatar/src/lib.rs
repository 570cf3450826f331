//! Avatar communication (3GPP TR 33.790 key issue #2) as pure functions: what the UE, the MF,
//! the BAR, the XR AS and the DAC compute, with no socket, no clock and no randomness of its own
//! (time and random bytes are passed in).
//!
//! - Solution #5 (§6.5.2): the avatar token a UE signs over the Avatar ID and the session, and
//!   the BAR's verification of it against the owner's UE certificate ([`token`], [`keys`]).
//! - Solution #6 (§6.6.2): the UE-A attestation of table 6.6.2.4-1 and the DAC's verification of
//!   it ([`attestation`]); the avatar object protected end to end for the rendering UE with
//!   ephemeral ECDH on P-256, HKDF-SHA256 and AES-256-GCM ([`e2e`]).
//! - Solution #8 (§6.8.2 step 21): the proof a UE signs to fetch the other party's avatar object
//!   from its AOS ([`aos_request`]).
//! - Solution #7 (§6.7.2.1): the UE token the UE signs over its IMPU and the XR AS
//!   ([`ue_token`]), the OAuth 2.0 access token the NEF grants the XR AS ([`access_token`]), the
//!   avatar metadata the DAC signs ([`metadata`]), the messages between them ([`wire`]), and the
//!   certificates they are checked with ([`cert`], [`ue_certs`]).
//! - All: the avatars of the world (`fixtures/avatars/`, [`assets`]) and the renderer that turns
//!   a base avatar model and facial points into a frame of Braille characters ([`render`]).
//!
//! It is not a network function: the nodes that use it (UE, MF, XR AS, BAR, DAC) do the I/O and
//! write the trace; this crate gives them decisions, [`Error`]s with a typed
//! [`proto::trace::Reason`] ([`Error::reason`]) and ready-made trace notes.
#![warn(missing_docs)]

pub mod access_token;
pub mod aos_request;
pub mod assets;
pub mod attestation;
pub mod cert;
pub mod e2e;
pub mod error;
mod jws;
pub mod keys;
pub mod metadata;
pub mod render;
pub mod token;
pub mod ue_certs;
pub mod ue_token;
pub mod wire;
mod x5t;

#[cfg(test)]
mod testing;

pub use assets::{Avatar, Catalogue};
pub use error::{Error, FixtureFault, JwkFault};
