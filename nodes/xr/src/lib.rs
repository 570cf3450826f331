//! IMS data channel network functions (TS 23.228 Annex AC in outline, TS 26.114 §6.2.10):
//! [`mf`], the MF/MRF, a WebRTC endpoint that terminates the data channel sections the IMS AS
//! hands it (a UE's bootstrap channel, application channels to the network) and serves HTTP on
//! the bootstrap channel; [`dcsf`], the DCSF, which holds each subscriber's data channel
//! application list (`fixtures/dc-apps.toml`) and gives it to the MF over HTTPS.

#![warn(missing_docs)]

pub mod dcsf;
pub mod mf;
