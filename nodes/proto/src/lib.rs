//! The protocol core of the testbed, without sockets and without an async runtime, in the way
//! hickory-dns separates `proto` from `net`: everything here is a function of its inputs (a
//! parsed message, the time, a seeded random stream), unit-tested without I/O. `kit` drives it
//! over real sockets.
//!
//! - [`sipmsg`]: header, URI and name-addr helpers over the SIP message model (rsipstack's
//!   fixed `rsip` parser), RFC 7235 auth-params.
//! - [`sip`]: RFC 3261 on the wire ([`sip::wire`]: encoding, framing, Via stamping), the proxy
//!   helpers of §16 ([`sip::proxy`]), the UAC dialog helpers of §12/§13 ([`sip::ua`]) and the
//!   transaction state machines of §17 ([`sip::transaction`]) with their timers.
//! - [`sdp`]: SDP with WebRTC data channels (TS 26.114, RFC 8864 dcmap, RFC 8841).
//! - [`wire`]: the JSON shapes network functions exchange (Sh-like, 3P ID server, MF, DCSF,
//!   NEF and authorization server). STIR's own shapes are in `stir::ms`.
//! - [`trace`]: the record types of the trace every transport writes and every view reads.
//! - [`clock`]: the scenario clock and per-node seeded random streams.
//! - [`tn`]: telephone number forms.
#![warn(missing_docs)]

pub mod clock;
pub mod sdp;
pub mod sip;
pub mod sipmsg;
pub mod tn;
pub mod trace;
pub mod wire;
