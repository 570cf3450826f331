//! The key issue #2 solutions (avatars, §6.5 and §6.6) present no third-party identity: the
//! originating AS asserts and signs the caller's own number only (SHAKEN `shaken` PASSporT), as
//! any operator does, and the terminating AS verifies it. Nothing here is a key issue #1 step.

use std::sync::Arc;

use kit::http::BoxFuture;
use proto::sip::Request;

use super::{Flow, Origination};
use crate::io::Io;

/// The caller's own number, nothing more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CallerNumber;

/// No third-party identity: the caller's own number is asserted and signed (the avatar
/// solutions' operators).
pub fn caller_number() -> Arc<dyn Flow> {
    Arc::new(CallerNumber)
}

impl Flow for CallerNumber {
    fn present<'a>(
        &'a self,
        _io: &'a Io<'a>,
        _invite: &'a mut Request,
        _caller_tn: &'a str,
    ) -> BoxFuture<'a, Origination> {
        Box::pin(std::future::ready(Origination::Nothing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presents_nothing_and_records_no_choice() {
        let flow = caller_number();
        assert_eq!(flow.signing_choice(), None);
        assert_eq!(format!("{flow:?}"), "CallerNumber");
    }
}
