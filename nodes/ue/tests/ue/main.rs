//! The agent over real sockets on 127.0.0.1 (one test binary): [`authz`], TR 33.790 solution #4
//! from the UE's side; [`channels`], data channels between two agents and what each notes;
//! [`trunk`], the IP-PBX on its mutual-TLS trunk.

mod authz;
mod channels;
mod trunk;
