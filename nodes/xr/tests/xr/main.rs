//! Integration tests of the `xr` crate, one binary: the MF's avatar media channel ([`mf`]) and
//! the Avatar ID and rendering relays between the XR AS, the DCSF, the MF and a stand-in DAC
//! ([`relay`]), each over HTTPS with mutual TLS on loopback.

mod mf;
mod relay;
