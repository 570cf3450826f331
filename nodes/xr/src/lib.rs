//! IMS data channel network functions (TS 23.228 Annex AC in outline, TS 26.114 §6.2.10):
//! [`mf`], the MF/MRF, a WebRTC endpoint that terminates the data channel sections the IMS AS
//! hands it (a UE's bootstrap channel, application channels to the network) and serves HTTP on
//! the bootstrap channel (for avatar calls it also renders avatars and relays the UE's requests
//! to the XR AS); [`dcsf`], the DCSF, which holds each subscriber's data channel application
//! list (`fixtures/dc-apps.toml`) and gives it to the MF over HTTPS (and passes Avatar IDs from
//! the XR AS on to the MF); [`xr_as`], the XR AS of TR 33.790 §6.5 and §6.6, which checks
//! Avatar IDs against the UEs' avatar lists and gets avatar objects from the DAC for rendering,
//! and of §6.7 (solution 7), which gets an access token from the NEF with the caller's UE token
//! and signed Avatar-id, and the signed avatar metadata from the DAC with it, for the MF to
//! render; [`trust`], the DAC certificate both pre-configure.

#![warn(missing_docs)]

pub mod dcsf;
pub mod mf;
pub mod trust;
mod upstream;
pub mod xr_as;
