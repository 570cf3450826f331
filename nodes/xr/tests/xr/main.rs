//! Integration tests of the `xr` crate, one binary: solution 9 at the DCSF and the MF
//! ([`exposure`]), the MF's avatar media channel ([`mf`]),
//! the Avatar ID and rendering relays between the XR AS, the DCSF, the MF and a stand-in DAC
//! ([`relay`]), and solution 7's UE token relay and signed avatar metadata with a real NEF and
//! a real DAC ([`metadata`]), each over HTTPS with mutual TLS on loopback.

mod exposure;
mod metadata;
mod mf;
mod relay;
