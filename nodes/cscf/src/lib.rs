//! The call session control functions of an IMS operator (TS 23.228, TS 24.229), as far as the
//! TR 33.790 flows need them: the P-CSCF ([`pcscf`]) and the S-CSCF ([`scscf`]). Both are
//! stateful proxies on `kit::sip`; the S-CSCF is also the registrar.
//!
//! Together they keep the operator's trust domain (RFC 3325): registration is authenticated
//! with SIP Digest (RFC 3261 §22.4, RFC 7616/8760 SHA-256) against the credential the HSS holds;
//! the P-CSCF binds each registered identity to the flow it registered on and asserts it only
//! on requests arriving there, after removing what a UE may not write; the S-CSCF honours its
//! routing markers only on requests from the nodes of its trust domain.
//!
//! In the trace: the P-CSCF notes `BindFlow`, `StripUntrusted`, `AssertIdentity` and
//! `RefuseRequest`; the S-CSCF `ChallengeUser`, `RegisterUser`, `RefuseRequest` and its routing
//! decisions worth showing (`Route`: to the IMS AS, out through the IBCF).
#![warn(missing_docs)]

pub mod pcscf;
pub mod scscf;

use kit::tap::Layer;
use proto::sip::SipTransport;

/// The address-book layer of a SIP transport (TLS runs over TCP).
fn layer(transport: SipTransport) -> Layer {
    match transport {
        SipTransport::Udp => Layer::Udp,
        _ => Layer::Tcp,
    }
}
