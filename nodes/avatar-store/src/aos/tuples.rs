//! The calls' tuples (TR 33.790 §6.8.2 steps 2, 12 and 21): when the IMS AS looks a subscriber's
//! avatar up for a call and names the other party, the AOS "maintains a tuple ... for the
//! purposes of authorization when the caller/callee attempts to access the callee/caller avatar
//! in a later stage", and counts the fetches against its local policy (once or repeatedly).
//!
//! A plain state machine without I/O: the driver holds it behind a lock, so that the check and
//! the count of one fetch are one step.

use crate::Refusal;
use crate::aos::records::Policy;

/// One call's authorisation for the other party to fetch a subscriber's avatar object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuple {
    /// The call's Call-ID.
    pub call_id: String,
    /// The subscriber whose avatar it is (its IMPU).
    pub owner_impu: String,
    /// The other party of the call (its IMPU): who may fetch.
    pub peer_impu: String,
    /// The avatar.
    pub avatar_id: String,
    /// How often the peer may fetch it.
    pub policy: Policy,
    /// How often the peer has fetched it.
    pub fetches: u32,
}

/// The tuples an AOS keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tuples {
    tuples: Vec<Tuple>,
}

impl Tuples {
    /// Registers `tuple`. A tuple of the same call, avatar and peer already there is kept with
    /// its count: a repeated lookup (a retransmission, a re-INVITE) grants no further fetches.
    pub fn register(&mut self, tuple: Tuple) {
        let same = |t: &Tuple| {
            t.call_id == tuple.call_id
                && t.avatar_id == tuple.avatar_id
                && t.peer_impu == tuple.peer_impu
        };
        if !self.tuples.iter().any(same) {
            self.tuples.push(tuple);
        }
    }

    /// A fetch of `avatar_id` in call `call_id` by `sub` (step 21): the tuple that lets `sub`
    /// fetch it must exist ([`Refusal::NoTuple`], NotAuthorised), and under [`Policy::Once`] must
    /// not have been fetched ([`Refusal::FetchUsed`], Replayed). The fetch is counted; the
    /// answer is the tuple after the count.
    pub fn fetch(&mut self, call_id: &str, avatar_id: &str, sub: &str) -> Result<Tuple, Refusal> {
        let tuple = self
            .tuples
            .iter_mut()
            .find(|t| t.call_id == call_id && t.avatar_id == avatar_id && t.peer_impu == sub)
            .ok_or_else(|| Refusal::NoTuple {
                sub: sub.to_owned(),
                call_id: call_id.to_owned(),
                avatar_id: avatar_id.to_owned(),
            })?;
        if tuple.policy == Policy::Once && tuple.fetches >= 1 {
            return Err(Refusal::FetchUsed {
                avatar_id: avatar_id.to_owned(),
            });
        }
        tuple.fetches += 1;
        Ok(tuple.clone())
    }

    /// Every tuple, in the order registered.
    pub fn all(&self) -> &[Tuple] {
        &self.tuples
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proto::trace::Reason;

    const A: &str = "sip:+12025551000@ims.mnc001.mcc001.3gppnetwork.org";
    const B: &str = "sip:+12155551001@ims.mnc002.mcc001.3gppnetwork.org";
    const M: &str = "sip:+12025551666@ims.mnc001.mcc001.3gppnetwork.org";

    fn tuple(policy: Policy) -> Tuple {
        Tuple {
            call_id: "c1".into(),
            owner_impu: A.into(),
            peer_impu: B.into(),
            avatar_id: "qbranch-agent".into(),
            policy,
            fetches: 0,
        }
    }

    #[test]
    fn once_allows_one_fetch_then_replayed() {
        let mut t = Tuples::default();
        t.register(tuple(Policy::Once));
        assert_eq!(t.fetch("c1", "qbranch-agent", B).unwrap().fetches, 1);
        let e = t.fetch("c1", "qbranch-agent", B).unwrap_err();
        assert_eq!((e.reason(), e.status()), (Reason::Replayed, 403));
        // A repeated lookup does not reset the count.
        t.register(tuple(Policy::Once));
        assert_eq!(t.all().len(), 1);
        assert!(t.fetch("c1", "qbranch-agent", B).is_err());
    }

    #[test]
    fn repeat_allows_every_fetch_and_counts_them() {
        let mut t = Tuples::default();
        t.register(tuple(Policy::Repeat));
        for n in 1..=3 {
            assert_eq!(t.fetch("c1", "qbranch-agent", B).unwrap().fetches, n);
        }
    }

    #[test]
    fn only_the_peer_of_that_call_and_avatar_may_fetch() {
        let mut t = Tuples::default();
        t.register(tuple(Policy::Repeat));
        for (call, avatar, sub) in [
            ("c1", "qbranch-agent", M),
            ("c1", "qbranch-agent", A),
            ("c2", "qbranch-agent", B),
            ("c1", "qbranch-cat", B),
        ] {
            let e = t.fetch(call, avatar, sub).unwrap_err();
            assert!(matches!(e, Refusal::NoTuple { .. }), "{e}");
            assert_eq!(e.reason(), Reason::NotAuthorised);
        }
        assert_eq!(t.all()[0].fetches, 0, "a refused fetch is not counted");
    }
}
