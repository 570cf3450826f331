//! The JSON shapes of the NEF's DC exposure API (TR 33.790 §6.9.2), shared with the HSS/UDM,
//! the DCSF, the IMS AS and the AFs: [`proto::wire::exposure`].

pub use proto::wire::exposure::*;
