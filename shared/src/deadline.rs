//! The invocation deadline: every retry, wait and lease in the bundle is bounded by it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time kept back from CXone at the end of every invocation: storing the
/// audit record, the idempotency result and state takes a few DynamoDB
/// round trips, which must still fit when CXone is slow. Every function
/// gives CXone [`Deadline::keeping_back`] this much of its deadline.
pub const RECORD_RESERVE: Duration = Duration::from_secs(3);

/// The moment by which the current invocation must have answered.
///
/// Holds both a monotonic instant (for waits) and the Unix epoch milliseconds
/// (for records stored in DynamoDB, such as lease and in-progress expiries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    instant: Instant,
    epoch_ms: u64,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self {
            instant: Instant::now() + budget,
            epoch_ms: now_ms + budget.as_millis() as u64,
        }
    }

    /// The deadline Lambda gives an invocation (`Lambda-Runtime-Deadline-Ms`, Unix ms).
    pub fn from_epoch_ms(epoch_ms: u64) -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let remaining = Duration::from_millis(epoch_ms.saturating_sub(now_ms));
        Self {
            instant: Instant::now() + remaining,
            epoch_ms,
        }
    }

    /// A deadline `reserve` earlier than this one (never before now): the
    /// budget handed to CXone calls, so that what must be recorded after
    /// them still fits before the invocation's own deadline.
    pub fn keeping_back(&self, reserve: Duration) -> Deadline {
        let now = Instant::now();
        let earlier = self.instant.checked_sub(reserve).unwrap_or(now);
        let instant = earlier.max(now).min(self.instant);
        let kept = self.instant.saturating_duration_since(instant);
        Deadline {
            instant,
            epoch_ms: self.epoch_ms.saturating_sub(kept.as_millis() as u64),
        }
    }

    /// The deadline for CXone calls: this one less [`RECORD_RESERVE`].
    pub fn for_cxone(&self) -> Deadline {
        self.keeping_back(RECORD_RESERVE)
    }

    /// The earlier of this deadline and `budget` from now: a slice of the
    /// invocation for one unit of work (one campaign of a tick).
    pub fn capped_after(&self, budget: Duration) -> Deadline {
        let other = Deadline::after(budget);
        if other.instant < self.instant {
            other
        } else {
            *self
        }
    }

    /// Time left before the deadline (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.instant.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.remaining().is_zero()
    }

    /// Whether `wait` still fits before the deadline, keeping `margin` in hand.
    pub fn allows(&self, wait: Duration, margin: Duration) -> bool {
        self.remaining() > wait + margin
    }

    /// The monotonic instant of the deadline.
    pub fn instant(&self) -> Instant {
        self.instant
    }

    /// The deadline as Unix epoch milliseconds.
    pub fn epoch_ms(&self) -> u64 {
        self.epoch_ms
    }

    /// The deadline as Unix epoch seconds, rounded up.
    pub fn epoch_seconds(&self) -> i64 {
        self.epoch_ms.div_ceil(1000) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_shrinks_and_expires() {
        let d = Deadline::after(Duration::from_millis(30));
        assert!(!d.expired());
        assert!(d.allows(Duration::from_millis(1), Duration::ZERO));
        assert!(!d.allows(Duration::from_secs(1), Duration::ZERO));
        std::thread::sleep(Duration::from_millis(40));
        assert!(d.expired());
    }

    #[test]
    fn keeping_back_moves_the_deadline_earlier_but_not_before_now() {
        let d = Deadline::after(Duration::from_secs(10));
        let cx = d.for_cxone();
        let gap = d.remaining() - cx.remaining();
        assert!(gap >= Duration::from_millis(2_900), "{gap:?}");
        assert!(d.epoch_ms() - cx.epoch_ms() >= 2_900);
        let short = Deadline::after(Duration::from_secs(1)).for_cxone();
        assert!(short.expired());
        let capped = d.capped_after(Duration::from_secs(2));
        assert!(capped.remaining() <= Duration::from_secs(2));
        assert_eq!(d.capped_after(Duration::from_secs(60)), d);
    }

    #[test]
    fn epoch_deadline_in_the_past_is_expired() {
        assert!(Deadline::from_epoch_ms(1_000).expired());
    }
}
