//! The registrar's outstanding nonces (RFC 7616 §3.3 and §5.4, RFC 3261 §22.4): each issued
//! for one challenge, good for one answer only, valid for a bounded time, and at most a bounded
//! number outstanding (the oldest forgotten first, so a flood of REGISTERs cannot grow it).
//! Pure: time is passed in.

use std::collections::VecDeque;

/// How long a nonce may be answered, in seconds.
pub const LIFETIME: i64 = 60;

/// How many nonces may be outstanding at once.
pub const CAPACITY: usize = 1024;

#[derive(Debug, Clone)]
struct Entry<T> {
    nonce: String,
    at: i64,
    value: T,
}

/// Outstanding nonces, each with what it was issued for.
#[derive(Debug, Clone)]
pub struct Nonces<T> {
    capacity: usize,
    lifetime: i64,
    issued: VecDeque<Entry<T>>,
}

impl<T> Default for Nonces<T> {
    fn default() -> Self {
        Self::new(CAPACITY, LIFETIME)
    }
}

impl<T> Nonces<T> {
    /// At most `capacity` outstanding, each answerable for `lifetime` seconds.
    pub fn new(capacity: usize, lifetime: i64) -> Self {
        Nonces {
            capacity: capacity.max(1),
            lifetime,
            issued: VecDeque::new(),
        }
    }

    fn expired(&self, at: i64, now: i64) -> bool {
        now < at || now - at > self.lifetime
    }

    /// Records `nonce`, issued at `now` for `value`; forgets expired nonces, and the oldest when
    /// full.
    pub fn issue(&mut self, nonce: String, value: T, now: i64) {
        let lifetime = self.lifetime;
        self.issued
            .retain(|e| !(now < e.at || now - e.at > lifetime));
        while self.issued.len() >= self.capacity {
            self.issued.pop_front();
        }
        self.issued.push_back(Entry {
            nonce,
            at: now,
            value,
        });
    }

    /// What `nonce` was issued for, if it is outstanding and not expired at `now`; either way
    /// it cannot be answered again.
    pub fn take(&mut self, nonce: &str, now: i64) -> Option<T> {
        let i = self.issued.iter().position(|e| e.nonce == nonce)?;
        let entry = self.issued.remove(i)?;
        (!self.expired(entry.at, now)).then_some(entry.value)
    }

    /// How many are outstanding (expired ones included until the next issue).
    pub fn len(&self) -> usize {
        self.issued.len()
    }

    /// Whether none is outstanding.
    pub fn is_empty(&self) -> bool {
        self.issued.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_bounded_and_expiring() {
        let mut n = Nonces::new(2, 60);
        n.issue("a".into(), 1, 100);
        assert_eq!(n.take("a", 130), Some(1));
        assert_eq!(n.take("a", 130), None, "used");
        assert_eq!(n.take("unknown", 130), None);

        n.issue("b".into(), 2, 100);
        assert_eq!(n.take("b", 161), None, "expired");
        n.issue("c".into(), 3, 100);
        assert_eq!(n.take("c", 99), None, "from the future");

        n.issue("d".into(), 4, 200);
        n.issue("e".into(), 5, 200);
        n.issue("f".into(), 6, 200);
        assert_eq!(n.len(), 2);
        assert_eq!(n.take("d", 200), None, "the oldest forgotten");
        assert_eq!((n.take("e", 260), n.take("f", 260)), (Some(5), Some(6)));
        assert!(n.is_empty());
    }

    #[test]
    fn expired_nonces_forgotten_on_issue() {
        let mut n = Nonces::new(10, 60);
        n.issue("a".into(), (), 0);
        n.issue("b".into(), (), 100);
        assert_eq!(n.len(), 1);
    }
}
