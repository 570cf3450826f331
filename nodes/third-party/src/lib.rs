//! The third party (an enterprise) of TR 33.790 key issue #1: its 3P ID server ([`id_server`]),
//! its 3P authorization server of solution #4 ([`authz`]) and, when the SIP transport lands, its
//! IP-PBX.
#![warn(missing_docs)]

pub mod authz;
pub mod id_server;
