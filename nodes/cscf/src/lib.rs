//! The call session control functions of an IMS operator (TS 23.228, TS 24.229), as far as the
//! TR 33.790 flows need them: the P-CSCF ([`pcscf`]) and the S-CSCF ([`scscf`]). Both are
//! stateful proxies on `kit::sip`; the S-CSCF is also the registrar.
//!
//! In the trace, the P-CSCF notes the identity it asserts (`AssertIdentity`) and the S-CSCF
//! its routing decisions worth showing (`Route`: to the IMS AS, out through the IBCF).
#![warn(missing_docs)]

pub mod pcscf;
pub mod scscf;
