//! Reads of what the webhook path stored: one event as received, and a
//! campaign's per-minute counters (per minute or summed over a window), each
//! minute the sum of its counter items (shards and the unsharded item).

use super::*;

/// An upper bound of a minute's counter items: above its unsharded key and
/// every shard, below the next minute's keys.
pub(super) fn last_counter_sk(minute: &str) -> String {
    format!("{}#~", counter_sk(minute))
}

impl EventStore {
    /// The stored event (as received) with this id, if its record exists.
    pub async fn get_event(&self, event_id: &str) -> Result<Option<Value>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(event_pk(event_id), EVENT_SK.to_owned())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", &self.table, e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let body = item
            .get("body")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError::corrupt(&self.table, "event record has no body"))?;
        serde_json::from_str(body)
            .map(Some)
            .map_err(|e| StoreError::corrupt(&self.table, e))
    }

    /// Per-minute counters of one campaign for every minute overlapping
    /// `[from, to)`, by minute (`YYYY-MM-DDTHH:MM`), oldest first, each the
    /// sum of the minute's items: its shards and its unsharded item, if any
    /// (module "Items"). One strongly consistent `Query` (one per 1 MB of
    /// items). Minutes without events are absent.
    pub async fn minute_counts(
        &self,
        skill_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, Counts)>, StoreError> {
        if to <= from {
            return Ok(Vec::new());
        }
        // From the first minute's unsharded key (the least of its items) to
        // past the last shard of the last minute starting before `to`.
        let first = counter_sk(&minute_key(from));
        let last = last_counter_sk(&minute_key(to - TimeDelta::nanoseconds(1)));
        let items = self
            .items_between(campaign_pk(skill_id), &first, &last, None)
            .await?;
        let mut minutes: BTreeMap<String, Counts> = BTreeMap::new();
        for item in &items {
            let sk = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                .unwrap_or_default();
            let Some(minute) = counter_minute(sk) else {
                continue;
            };
            let mut counts = Counts::default();
            for field in Counts::FIELDS {
                if let Some(attr) = item.get(field) {
                    let ok = attr
                        .as_n()
                        .map(|num| counts.set_field(field, num))
                        .unwrap_or(false);
                    if !ok {
                        return Err(StoreError::corrupt(
                            &self.table,
                            format!("counter {sk} of campaign {skill_id}: {field} is not a number"),
                        ));
                    }
                }
            }
            minutes.entry(minute.to_owned()).or_default().add(&counts);
        }
        Ok(minutes.into_iter().collect())
    }

    /// The sum of one campaign's counters over every minute overlapping
    /// `[from, to)` (strongly consistent). For the failover checker:
    /// `window_counts(skill, at - window, at).success_rate()`.
    pub async fn window_counts(
        &self,
        skill_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Counts, StoreError> {
        let mut total = Counts::default();
        for (_, counts) in self.minute_counts(skill_id, from, to).await? {
            total.add(&counts);
        }
        Ok(total)
    }
}
