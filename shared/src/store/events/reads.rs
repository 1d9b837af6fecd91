//! Reads of what the webhook path stored: one event as received, and a
//! campaign's per-minute counters (per minute or summed over a window).

use super::*;

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
    /// `[from, to)`, by minute (`YYYY-MM-DDTHH:MM`), oldest first. Minutes
    /// without events are absent.
    pub async fn minute_counts(
        &self,
        skill_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, Counts)>, StoreError> {
        if to <= from {
            return Ok(Vec::new());
        }
        let first = counter_sk(&minute_key(from));
        // The last minute starting before `to`.
        let last = counter_sk(&minute_key(to - TimeDelta::nanoseconds(1)));
        let mut minutes = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
                .expression_attribute_values(":pk", s(campaign_pk(skill_id)))
                .expression_attribute_values(":first", s(&first))
                .expression_attribute_values(":last", s(&last))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", &self.table, e))?;
            for item in out.items() {
                let sk = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                let minute = sk.strip_prefix("COUNTS#").unwrap_or(&sk).to_owned();
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
                                format!(
                                    "counter {sk} of campaign {skill_id}: {field} is not a number"
                                ),
                            ));
                        }
                    }
                }
                minutes.push((minute, counts));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(minutes)
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
