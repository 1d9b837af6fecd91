//! One tick's context and what the tick reports per campaign: the lowest
//! module of the crate ([`crate::tuner`] and [`crate::pace`] use it; it uses
//! neither).

use std::sync::atomic::{AtomicU32, Ordering};

use serde::Serialize;
use serde_json::{json, Value};

use shared::invocation::{Invocation, Tick};
use shared::store::audit::{AuditRecord, AuditStore};
use shared::store::state::StoredConfig;

/// The function's name, as actor in audit records and metrics.
pub const FUNCTION_NAME: &str = "capacity-tuner";

/// What the tick did for one campaign.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignReport {
    /// The campaign (its primary skill).
    pub skill_id: i64,
    /// The skill that dials for it now: the primary, or the backup while
    /// failed over (absent when not known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialling_skill_id: Option<i64>,
    /// `written`, `unchanged`, `held`, `skipped`, `stopped`, `paused`,
    /// `in_transition`, `on_backup` (the backup is a campaign of its own,
    /// tuned as such), `failed`.
    pub outcome: String,
    /// The decided ratio, when a decision was made.
    pub maximum_ratio: Option<f64>,
    /// Fields written and confirmed.
    pub fields_written: usize,
    /// Fields left alone because a person changed them.
    pub overrides: usize,
    /// The skill's ring time is under the legal minimum and could not be
    /// raised (a person's hold): it dials progressively until fixed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub non_compliant: bool,
    /// Error or reason, when not decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl CampaignReport {
    /// A report with nothing decided.
    pub fn new(
        skill_id: i64,
        dialling: Option<i64>,
        outcome: &str,
        message: Option<String>,
    ) -> Self {
        Self {
            skill_id,
            dialling_skill_id: dialling,
            outcome: outcome.into(),
            maximum_ratio: None,
            fields_written: 0,
            overrides: 0,
            non_compliant: false,
            message,
        }
    }
}

/// One tick's context: the event, the invocation, where its audit records
/// go, and how many could not be written.
pub(crate) struct Run<'a> {
    /// The scheduled event.
    pub tick: &'a Tick,
    /// The invocation (its deadline bounds leases).
    pub invocation: &'a Invocation,
    /// Where the tick's audit records go.
    pub audit: &'a AuditStore,
    /// Audit records that could not be written (a metric and an alarm).
    pub audit_failures: AtomicU32,
}

impl<'a> Run<'a> {
    /// The context of one tick of `invocation`, auditing into `audit`.
    pub(crate) fn new(tick: &'a Tick, invocation: &'a Invocation, audit: &'a AuditStore) -> Self {
        Self {
            tick,
            invocation,
            audit,
            audit_failures: AtomicU32::new(0),
        }
    }

    /// Appends an audit record; a failure is logged and counted (the
    /// `AuditFailures` metric has an alarm), never silent.
    pub(crate) async fn append_audit(&self, record: &AuditRecord) -> bool {
        match self.audit.append(record).await {
            Ok(_) => true,
            Err(e) => {
                self.audit_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, action = %record.action, "could not write audit record");
                false
            }
        }
    }

    /// Appends the tick's record of a campaign settled without a pacing
    /// decision (`pacing.tune` with `outcome`, `why` and `details`).
    pub(crate) async fn audit_simple(
        &self,
        stored: &StoredConfig,
        outcome: &str,
        why: &str,
        details: Value,
    ) {
        let record = AuditRecord {
            skill_id: stored.skill_id,
            at: self.tick.time,
            actor: FUNCTION_NAME.into(),
            action: "pacing.tune".into(),
            before: Value::Null,
            after: Value::Null,
            why: why.into(),
            outcome: outcome.into(),
            request_id: self.invocation.request_id.clone(),
            details: json!({"eventId": self.tick.event_id, "extra": details}),
        };
        self.append_audit(&record).await;
    }
}
