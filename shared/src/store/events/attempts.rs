//! Per-number attempt counts: how often a number was called, read from the
//! `PHONE#<e164>` counters the webhook path writes (see the parent module).

use super::*;

impl EventStore {
    /// Calls to `e164` recorded from `contact.completed` events that
    /// occurred in the minutes overlapping `[from, to)` (strongly consistent).
    /// Counted per minute, so an attempt up to a minute before `from` may be
    /// included: the count errs on the side of the cap.
    pub async fn attempts_between(
        &self,
        e164: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if to <= from {
            return Ok(0);
        }
        let first = attempts_sk(&minute_key(from));
        let last = attempts_sk(&minute_key(to - TimeDelta::nanoseconds(1)));
        let items = self
            .items_between(phone_pk(e164), &first, &last, Some("attempts"))
            .await?;
        let mut total = 0u64;
        for item in &items {
            let count = item
                .get("attempts")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| {
                    StoreError::corrupt(&self.table, format!("attempts of {e164} is not a count"))
                })?;
            total += count;
        }
        Ok(total)
    }

    /// Calls to `e164` over the 24 hours before `at` (see
    /// [`EventStore::attempts_between`]).
    pub async fn attempts_last_24h(
        &self,
        e164: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.attempts_between(
            e164,
            at - TimeDelta::hours(24),
            at + TimeDelta::nanoseconds(1),
        )
        .await
    }
}
