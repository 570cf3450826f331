//! The third party (an enterprise) of TR 33.790 key issue #1: its 3P ID server ([`id_server`])
//! and, when the SIP transport lands, its IP-PBX.

pub mod id_server;
