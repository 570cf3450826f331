//! The agent over real sockets on 127.0.0.1 (one test binary): [`authz`], TR 33.790 solution #4
//! from the UE's side; [`channels`], data channels between two agents and what each notes;
//! [`avatar`], the UEs' avatar steps (TR 33.790 solutions #5 and #6) over real data channels;
//! [`avatar_media`], the callee's answer to the avatar media section the caller's network
//! offers; [`reinvite`], the network's re-INVITEs in a call's dialog (TR 33.790 solution #7
//! steps 5 and 6, solution #9 §6.9.2.2 step 5); [`trunk`], the IP-PBX on its mutual-TLS trunk.

mod authz;
mod avatar;
mod avatar_media;
mod channels;
mod reinvite;
mod trunk;
