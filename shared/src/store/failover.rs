//! The failover state machine's record, one per campaign, in the state table.
//!
//! # Item
//! `pk = CAMPAIGN#<skillId>`, `sk = FAILOVER`, attributes as in
//! [`FailoverRecord`] (camelCase): `state`, `step`, `version`,
//! `backupSkillId`, `since`, `owner`, `ownerDeadlineMs`, `streakSince`,
//! `streakLastAt`, `evidence`, `updatedAt`, `updatedBy`. No item means
//! [`FailoverState::Primary`] at version 0.
//!
//! # States
//! ```text
//!   primary --(rate low, confirmed)--> failing_over[stop_requested]
//!   failing_over[stop_requested] --(primary stopped)--> failing_over[stop_done]
//!   failing_over[stop_done] --(backup started)--> on_backup
//!   on_backup --(operator, or auto failback)--> failing_back[stop_requested]
//!   failing_back[stop_requested] --(backup stopped)--> failing_back[stop_done]
//!   failing_back[stop_done] --(primary started)--> primary
//! ```
//! `failing_over` and `failing_back` are *owned*: `owner` (a request id) may
//! act until `ownerDeadlineMs` (its invocation deadline, Unix ms, wall
//! clock); after that, anyone may take the record over and finish the
//! transition (stopping and starting a skill are harmless to repeat).
//!
//! # Compare-and-swap
//! Every write is [`FailoverStore::replace`]: a put conditioned on the state
//! *and* version read before (or on the item's absence at version 0), and
//! writing version + 1. Two writers that read the same record can never both
//! succeed, which is what makes a transition happen exactly once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{campaign_pk, is_condition_failure, StoreError};

/// Sort key of the failover record.
pub const FAILOVER_SK: &str = "FAILOVER";

/// Where a campaign is in the failover state machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailoverState {
    /// The campaign dials on its own (primary) skill.
    #[default]
    Primary,
    /// Moving to the backup: stop the primary, then start the backup.
    FailingOver,
    /// The backup skill dials instead of the primary.
    OnBackup,
    /// Moving back: stop the backup, then start the primary.
    FailingBack,
}

impl FailoverState {
    /// The stored spelling (`primary`, `failing_over`, `on_backup`, `failing_back`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailoverState::Primary => "primary",
            FailoverState::FailingOver => "failing_over",
            FailoverState::OnBackup => "on_backup",
            FailoverState::FailingBack => "failing_back",
        }
    }

    /// Whether the state is a transition in progress (owned, resumable).
    pub fn is_transition(self) -> bool {
        matches!(
            self,
            FailoverState::FailingOver | FailoverState::FailingBack
        )
    }
}

impl std::fmt::Display for FailoverState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Progress inside a transition: the skill being left (the primary when
/// failing over, the backup when failing back) has been asked to stop, or
/// has stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionStep {
    /// The transition began; the skill being left may or may not be stopped yet.
    StopRequested,
    /// The skill being left is stopped; the other one is to be started.
    StopDone,
}

/// The numbers behind a decision (kept with the record and in the audit).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// The skill whose counters were read.
    pub skill_id: i64,
    /// success / (success + failure + abandoned); absent without samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// success + failure + abandoned.
    pub samples: u64,
    /// Successful contacts.
    pub success: u64,
    /// Failed contacts.
    pub failure: u64,
    /// Abandoned contacts.
    pub abandoned: u64,
    /// Window start (inclusive minute).
    pub window_from: DateTime<Utc>,
    /// Window end (the event's time, exclusive).
    pub window_to: DateTime<Utc>,
    /// The configured window, minutes.
    pub window_minutes: u32,
    /// The configured threshold (fail over below it).
    pub threshold: f64,
    /// The level the rate must reach for an automatic failback.
    pub recovery_level: f64,
    /// The configured minimum sample count.
    pub min_samples: u32,
}

/// One campaign's failover record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverRecord {
    /// The campaign (its primary CXone skill).
    pub skill_id: i64,
    /// The state.
    pub state: FailoverState,
    /// Progress inside `failing_over` / `failing_back`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<TransitionStep>,
    /// Incremented by every write (0: no item yet).
    pub version: u64,
    /// The backup skill the transition uses (fixed when failing over, so a
    /// config change while on backup never strands the skill that runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_skill_id: Option<i64>,
    /// When the current state was entered (event time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Request id allowed to act on a transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Until when (Unix ms, wall clock) the owner may act; after it, anyone may resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_deadline_ms: Option<u64>,
    /// Hysteresis: since when (event time) the condition that would leave the
    /// current state has held on every check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streak_since: Option<DateTime<Utc>>,
    /// Hysteresis: the last check (event time) at which it held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streak_last_at: Option<DateTime<Utc>>,
    /// The numbers behind the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// When the record was last written (event time or operator request time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Who last wrote it (function name or IAM principal).
    #[serde(default)]
    pub updated_by: String,
}

impl FailoverRecord {
    /// The record of a campaign that never failed over (version 0, no item).
    pub fn initial(skill_id: i64) -> Self {
        Self {
            skill_id,
            state: FailoverState::Primary,
            step: None,
            version: 0,
            backup_skill_id: None,
            since: None,
            owner: None,
            owner_deadline_ms: None,
            streak_since: None,
            streak_last_at: None,
            evidence: None,
            updated_at: None,
            updated_by: String::new(),
        }
    }

    /// Whether a transition's owner may still be acting at `now_ms` (wall
    /// clock), keeping `margin_ms` for clock skew between invocations.
    pub fn owner_alive(&self, now_ms: u64, margin_ms: u64) -> bool {
        self.owner.is_some()
            && self
                .owner_deadline_ms
                .is_some_and(|deadline| deadline.saturating_add(margin_ms) >= now_ms)
    }
}

/// The result of a compare-and-swap.
#[derive(Clone, Debug, PartialEq)]
pub enum Swap {
    /// Written: the new record (with its version).
    Written(Box<FailoverRecord>),
    /// Someone else wrote first (state or version differed): nothing written.
    Conflict,
}

/// Failover records in the state table.
#[derive(Clone, Debug)]
pub struct FailoverStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn key(skill_id: i64) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(campaign_pk(skill_id))),
        ("sk".to_owned(), AttributeValue::S(FAILOVER_SK.to_owned())),
    ])
}

impl FailoverStore {
    /// A store on the state `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The campaign's record (strongly consistent); [`FailoverRecord::initial`] when none.
    pub async fn get(&self, skill_id: i64) -> Result<FailoverRecord, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(skill_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", &self.table, e))?;
        let Some(mut item) = out.item else {
            return Ok(FailoverRecord::initial(skill_id));
        };
        item.remove("pk");
        item.remove("sk");
        let record: FailoverRecord = serde_dynamo::from_item(item).map_err(|e| {
            StoreError::corrupt(&self.table, format!("failover record of {skill_id}: {e}"))
        })?;
        if record.skill_id != skill_id {
            return Err(StoreError::corrupt(
                &self.table,
                format!(
                    "failover record under campaign {skill_id} names {}",
                    record.skill_id
                ),
            ));
        }
        Ok(record)
    }

    /// Writes `next` (its version becomes `current.version + 1`) only if the
    /// stored record still has `current`'s state and version (or, at version
    /// 0, does not exist).
    pub async fn replace(
        &self,
        current: &FailoverRecord,
        next: FailoverRecord,
    ) -> Result<Swap, StoreError> {
        let mut next = next;
        next.skill_id = current.skill_id;
        next.version = current.version.saturating_add(1);
        let mut item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(&next).map_err(|e| StoreError::corrupt(&self.table, e))?;
        item.extend(key(current.skill_id));
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        request = if current.version == 0 {
            request.condition_expression("attribute_not_exists(pk)")
        } else {
            request
                .condition_expression("#state = :state AND #version = :version")
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(
                    ":state",
                    AttributeValue::S(current.state.as_str().into()),
                )
                .expression_attribute_values(
                    ":version",
                    AttributeValue::N(current.version.to_string()),
                )
        };
        match request.send().await {
            Ok(_) => Ok(Swap::Written(Box::new(next))),
            Err(e) if is_condition_failure(&e) => Ok(Swap::Conflict),
            Err(e) => Err(StoreError::dynamo("PutItem", &self.table, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_through_an_item() {
        let mut r = FailoverRecord::initial(7);
        r.state = FailoverState::FailingOver;
        r.step = Some(TransitionStep::StopDone);
        r.version = 3;
        r.backup_skill_id = Some(8);
        r.owner = Some("req".into());
        r.owner_deadline_ms = Some(5);
        let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(&r).unwrap();
        assert_eq!(item["state"].as_s().unwrap(), "failing_over");
        assert_eq!(item["step"].as_s().unwrap(), "stop_done");
        assert_eq!(item["version"].as_n().unwrap(), "3");
        let back: FailoverRecord = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn owner_liveness() {
        let mut r = FailoverRecord::initial(1);
        assert!(!r.owner_alive(0, 0));
        r.owner = Some("a".into());
        r.owner_deadline_ms = Some(1_000);
        assert!(r.owner_alive(1_000, 0));
        assert!(r.owner_alive(1_500, 500));
        assert!(!r.owner_alive(1_501, 500));
        r.owner_deadline_ms = Some(u64::MAX);
        assert!(r.owner_alive(u64::MAX, 10));
    }
}
