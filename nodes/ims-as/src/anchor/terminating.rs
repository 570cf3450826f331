//! The terminating side: the MF offers the callee of a data channel call a bootstrap channel
//! (its own network's, mid `bdc`); the callee's answer is taken out of the 2xx and handed to the
//! MF ([`super::forward`]).

use proto::sip::Request;
use proto::wire::mf::OfferSection;

use super::Mf;
use super::offer::Offered;
use super::sdp;

impl Mf<'_> {
    /// Appends the MF's bootstrap offer for the callee to a data channel call's INVITE (asking
    /// the MF on the first INVITE, repeating the same section on re-INVITEs). `None` when no
    /// section was appended.
    pub(crate) async fn offer_bootstrap(
        &self,
        invite: &mut Request,
        callee_tn: &str,
    ) -> Option<Offered> {
        let session = sdp::wants_bootstrap(&invite.body)?;
        self.offer_section(invite, session, OfferSection::Bootstrap, callee_tn, true)
            .await
    }
}
