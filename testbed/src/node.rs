//! The world's node ids, as `fixtures/world.toml` names them and as the trace records them. The
//! scenarios, the judge and the orchestrator name nodes through these constants only.

/// The harness itself: records it writes carry this name, never an NF's, and never match a step.
pub const TESTBED: &str = "testbed";
/// The world's authoritative DNS server.
pub const DNS: &str = "dns";

/// UE-A, the enterprise employee (`+12025551000`).
pub const UE_A: &str = "ue-a";
/// UE-B, the callee (`+12155551001`).
pub const UE_B: &str = "ue-b";
/// UE-M, a malicious subscriber of the originating operator.
pub const UE_M: &str = "ue-m";
/// UE-X, an ex-employee of the enterprise.
pub const UE_X: &str = "ue-x";
/// The enterprise's IP-PBX on its SIP trunk.
pub const PBX: &str = "pbx";

/// Originating P-CSCF.
pub const PCSCF_O: &str = "pcscf-o";
/// Originating S-CSCF.
pub const SCSCF_O: &str = "scscf-o";
/// Originating IMS AS.
pub const AS_O: &str = "as-o";
/// Originating IBCF (trunk and NNI egress).
pub const IBCF_O: &str = "ibcf-o";
/// Originating HSS.
pub const HSS_O: &str = "hss-o";
/// Originating STI-AS (signing server).
pub const STI_AS_O: &str = "sti-as-o";
/// The originating operator's STI-CR (certificate repository).
pub const STI_CR_O: &str = "sti-cr-o";
/// The originating operator's NEF.
pub const NEF_O: &str = "nef-o";
/// The originating operator's DCSF.
pub const DCSF_O: &str = "dcsf-o";
/// The originating operator's MF.
pub const MF_O: &str = "mf-o";

/// Terminating IBCF (NNI ingress).
pub const IBCF_T: &str = "ibcf-t";
/// Terminating S-CSCF.
pub const SCSCF_T: &str = "scscf-t";
/// Terminating IMS AS.
pub const AS_T: &str = "as-t";
/// Terminating P-CSCF.
pub const PCSCF_T: &str = "pcscf-t";
/// Terminating HSS.
pub const HSS_T: &str = "hss-t";
/// Terminating STI-VS (verification server).
pub const STI_VS_T: &str = "sti-vs-t";
/// Terminating STI-AS: signs the callee's answer (solution 8).
pub const STI_AS_T: &str = "sti-as-t";
/// The terminating operator's STI-CR.
pub const STI_CR_T: &str = "sti-cr-t";
/// Originating STI-VS: verifies the callee's signed answer (solution 8).
pub const STI_VS_O: &str = "sti-vs-o";
/// The originating operator's AOS (avatar object server, solution 8).
pub const AOS_O: &str = "aos-o";
/// The terminating operator's AOS.
pub const AOS_T: &str = "aos-t";
/// The terminating operator's MF.
pub const MF_T: &str = "mf-t";

/// The STI-CA's repository (`certs.sti.example`): its CRL.
pub const STI_REPO: &str = "sti-repo";

/// The enterprise's 3P ID server (RCD, jCards, 3P ID repository).
pub const ID3P: &str = "id3p";
/// The enterprise's 3P authorization server (solution 4).
pub const AUTHZ3P: &str = "authz3p";

/// The originating operator's XR application server (solutions 5 and 6).
pub const XR_AS_O: &str = "xr-as-o";
/// The terminating operator's XR application server (named by an attestation meant for it).
pub const XR_AS_T: &str = "xr-as-t";
/// The avatar provider's base avatar repository (solution 5).
pub const BAR: &str = "bar";
/// The avatar provider's digital asset container (solution 6).
pub const DAC: &str = "dac";

/// Solution 9's DC AS/AF of the originating operator: trusted, owner of `avatar-call`.
pub const DC_AS_O: &str = "dc-as-o";
/// Solution 9's third-party DC AS/AF (the avatar provider's): untrusted, notifications
/// anonymised, owner of `screen-share`.
pub const DC_AS_3P: &str = "dc-as";
/// Solution 9's whiteboard DC AS/AF: trusted, owner of `whiteboard` only, subscribes to nothing.
pub const DC_AS_WB: &str = "dc-as-wb";
/// Solution 9's rogue AF: its certificate comes from the rogue CA (not in world.toml: it has no
/// certificate of the world's CA and serves nothing).
pub const DC_AS_ROGUE: &str = "dc-as-rogue";
/// The host the rogue AF's certificate names.
pub const DC_AS_ROGUE_HOST: &str = "rogue-af.avatars.example";
