//! The invocation deadline: every retry, wait and lease in the bundle is bounded by it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    fn epoch_deadline_in_the_past_is_expired() {
        assert!(Deadline::from_epoch_ms(1_000).expired());
    }
}
