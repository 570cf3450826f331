//! The call session control functions of an IMS operator (TS 23.228, TS 24.229), as far as the
//! TR 33.790 flows need them: the P-CSCF ([`pcscf`]) and the S-CSCF ([`scscf`]). Both are
//! stateful proxies on `kit::sip`; the S-CSCF is also the registrar.

pub mod pcscf;
pub mod scscf;
