//! The ids of the testbed choices the IMS AS notes in the trace when it acts on them. The
//! testbed's choices table (question and answer for each) refers to these constants, so an id
//! cannot drift between the note and the table.

/// Solution 1: the 3P ID information signed inside the `shaken` PASSporT.
pub const SOL1_PASSPORT: &str = "6.1-passport";
/// Solution 2: where the INVITE carries the optional 3P ID data.
pub const SOL2_3PID_DATA: &str = "6.2-3pid-data";
/// Solution 2: no 3P ID data named, the default record is used.
pub const SOL2_NO_3PID_DATA: &str = "6.2-no-3pid-data";
/// Solution 2: 3P ID data that no record answers to.
pub const SOL2_MISMATCH_POLICY: &str = "6.2-mismatch-policy";
/// Solution 2: how the RCD travels (rcd PASSporT, display name, Call-Info).
pub const SOL2_RCD_HEADER: &str = "6.2-rcd-header";
/// Unverified RCD is removed before the callee sees it.
pub const TERM_DISPLAY: &str = "6.2-term-display";
/// Solution 3: how the RCD from the HSS travels.
pub const SOL3_RCD_HEADER: &str = "6.3-rcd-header";
/// Solution 4: the enterprise name card signed as RCD.
pub const SOL4_NAME_CARD: &str = "6.4-name-card";
/// Solution 4: the authorization server's challenge relayed as a SIP 401.
pub const SOL4_AUTHENTICATE: &str = "6.4-authenticate";
/// Solution 4: what a rejected authorisation leads to.
pub const SOL4_REJECTED: &str = "6.4-rejected";
