//! STIR/SHAKEN as pure functions: PASSporTs (RFC 8225) with the SHAKEN (RFC 8588) and Rich Call
//! Data (RFC 9795) extensions and the testbed's `avatar` extension (the signed Avatar-id of TR
//! 33.790 §6.7.2.1, [`avatar`]), the SIP Identity header (RFC 8224), Call-Info for RCD (RFC 9796),
//! SHAKEN certificate checks (RFC 8226, ATIS-1000080: TNAuthList, keyUsage, revocation by CRL),
//! the verification pipeline of a verification service,
//! and the Ms reference point's JSON shapes (3GPP TS 24.229 Annex V.2).
//!
//! This crate opens no socket and reads no clock: time and the certificate fetcher are passed in
//! ([`verify::verify`]). Every failure is one [`Error`] variant, and one pure mapping turns it
//! into the SIP answer ([`Error::sip_answer`]) and the `verstat` value ([`Error::verstat`]).
//!
//! It is not a SIP stack: header *values* are built and parsed here; headers and messages are
//! the node runtime's business.
#![warn(missing_docs)]

pub mod avatar;
pub mod cert;
mod error;
pub mod es256;
pub mod hostile;
pub mod identity;
pub mod jose;
pub mod ms;
pub mod passport;
pub mod rcd;
pub mod verify;

pub use avatar::{AvatarClaim, AvatarFault};
pub use cert::{CertInfo, ChainFault, CrlFault, EndEntity, TnEntry, TrustAnchors};
pub use error::{Error, FetchError, JsonFault, SipAnswer, Verstat};
pub use identity::IdentityHeader;
pub use jose::{JwsFault, Part};
pub use passport::{Attest, Claims, Dest, Header, Orig, Passport, Ppt};
pub use rcd::{CallInfo, DigestAlg, DigestStatus, Rcd};
pub use verify::{
    CertFetcher, Check, Context, Party, Policy, Report, Revocation, SipFacts, Verified,
};
