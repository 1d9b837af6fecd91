//! Large contact uploads, continued outside the HTTP request.
//!
//! API Gateway gives a request 30 s, and the DNC search is one CXone call
//! per number (about 330 a second), so an upload of more than
//! [`crate::contacts::INLINE_LIMIT`] contacts is *queued*:
//!
//! 1. the request applies the rules that need no I/O to every row (consent,
//!    number, duplicates within the upload, recipients, state bans now),
//!    records their rejections in the audit trail, stores the remaining rows
//!    in slices of at most [`SLICE_BYTES`] in the state table, writes the
//!    upload record and sends one [`ContinueUpload`] message to the intake
//!    queue; it answers 202 with the upload's status route;
//! 2. the `contact-intake` function takes the message and checks slice after
//!    slice (attempts per 24 hours, DNC lists), appending each slice's
//!    consent evidence and rejections to the audit trail and its progress to
//!    the upload record (the checkpoint); near its time limit it sends the
//!    next message and stops;
//! 3. when every slice is checked it loads the accepted contacts (read back
//!    from their evidence, so exactly those are uploaded), deletes the stored
//!    rows and audits the outcome.
//!
//! The queue is FIFO with the upload id as message group, so one upload is
//! worked on by one invocation at a time; every step is repeatable (evidence
//! chunks keep their first write, counts are read back from them, the list
//! and job ids are saved before the next step). A step that fails (CXone
//! down or throttled past the client's retries, storage unavailable) is
//! recorded in the upload record's `lastError` and retried a minute later;
//! after the queue's receive limit the message goes to the dead-letter
//! queue, which is alarmed.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tracing::{error, info, warn};

use shared::api_error::ApiError;
use shared::deadline::Deadline;
use shared::engine::compliance::{parse_zone, StateCode};
use shared::store::intake::{
    chunk_by_size, AreaSnapshot, IntakeStore, UploadMode, UploadRecord, UploadStatus,
    EVIDENCE_ACTION, REJECTED_ACTION,
};

use crate::api::{storage_error, Api};
use crate::contact_checks::{count_json_by_reason, record_evidence, EvidenceTarget};
use crate::contact_load::LoadOutcome;
use crate::contact_rows::ContactRow;
use crate::routes::ApiRequest;
use crate::screening::{check_row, screen, CampaignArea};

/// The environment variable naming the intake queue's URL.
pub const QUEUE_URL_VAR: &str = "CONTACT_INTAKE_QUEUE_URL";
/// Largest JSON of one slice of stored rows (about 1,000 contacts).
pub const SLICE_BYTES: usize = 200 * 1024;
/// Time a slice needs at most (its DNC searches and records) to be started.
pub const SLICE_BUDGET: Duration = Duration::from_secs(15);
/// When a failed step is tried again.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);

/// The message that asks the worker to continue an upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContinueUpload {
    /// The campaign.
    pub skill_id: i64,
    /// The id of the upload's `Idempotency-Key` (its record's key).
    pub key_id: String,
}

/// A queue operation that failed.
#[derive(Debug, thiserror::Error)]
#[error("SQS {operation} failed: {message}")]
pub struct QueueError {
    operation: &'static str,
    message: String,
}

/// The intake queue (SQS; FIFO when its URL ends in `.fifo`).
#[derive(Clone, Debug)]
pub struct IntakeQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl IntakeQueue {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// The queue named by [`QUEUE_URL_VAR`], if set (built once per cold start).
    pub async fn from_env() -> Option<Self> {
        let url = std::env::var(QUEUE_URL_VAR)
            .ok()
            .filter(|u| !u.trim().is_empty())?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Some(Self::new(aws_sdk_sqs::Client::new(&sdk), url))
    }

    fn fifo(&self) -> bool {
        self.url.ends_with(".fifo")
    }

    /// Sends `message`; `dedup` names this step (FIFO de-duplication).
    pub async fn send(
        &self,
        message: &ContinueUpload,
        group: &str,
        dedup: &str,
    ) -> Result<(), QueueError> {
        let body = serde_json::to_string(message).map_err(|e| QueueError {
            operation: "SendMessage",
            message: e.to_string(),
        })?;
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body);
        if self.fifo() {
            request = request
                .message_group_id(group)
                .message_deduplication_id(dedup);
        }
        request.send().await.map_err(|e| QueueError {
            operation: "SendMessage",
            message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
        })?;
        Ok(())
    }

    /// Makes a message that failed visible again after `after`.
    pub async fn retry_in(&self, receipt_handle: &str, after: Duration) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(after.as_secs()).unwrap_or(60))
            .send()
            .await
            .map_err(|e| QueueError {
                operation: "ChangeMessageVisibility",
                message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
            })?;
        Ok(())
    }
}

/// What one worker run left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The upload is complete (or unknown): nothing more to do.
    Done,
    /// More to do: send the next message.
    More,
}

/// The area kept in the record, in its types.
fn area_of(snapshot: &AreaSnapshot) -> CampaignArea {
    CampaignArea {
        zones: snapshot
            .zones
            .iter()
            .filter_map(|z| parse_zone(z).ok())
            .collect(),
        states: snapshot
            .states
            .iter()
            .filter_map(|s| StateCode::parse(s).ok())
            .collect(),
    }
}

fn snapshot_of(area: &CampaignArea) -> AreaSnapshot {
    AreaSnapshot {
        zones: area.zones.iter().map(|z| z.name().to_owned()).collect(),
        states: area.states.iter().map(|s| s.as_str().to_owned()).collect(),
    }
}

/// The group and the de-duplication id of the message for the record's
/// current step.
fn step_ids(record: &UploadRecord, why: &str) -> (String, String) {
    let status = match record.status {
        UploadStatus::Screening => "screening",
        UploadStatus::Loading => "loading",
        UploadStatus::Completed => "completed",
    };
    let jobs = record.failed_jobs.len();
    (
        record.upload_id.clone(),
        format!(
            "{}-{why}-{status}-{}-{jobs}-{}",
            record.upload_id,
            record.slices_done,
            record.updated_at.map_or(0, |t| t.timestamp_millis())
        ),
    )
}

impl Api {
    /// Step 1 for a queued upload: the pure rules, the stored slices, the
    /// record, the message. A retry of the request only sends the message
    /// again.
    pub(crate) async fn accept_queued(
        &self,
        request: &ApiRequest,
        intake: &IntakeStore,
        key_id: &str,
        record: &mut UploadRecord,
        rows: &[ContactRow],
        area: &CampaignArea,
    ) -> Result<(), ApiError> {
        let queue = self
            .intake_queue
            .as_ref()
            .ok_or_else(|| ApiError::unavailable("the contact intake queue is not configured"))?;
        if record.screened_at.is_none() {
            self.store_slices(request, intake, key_id, record, rows, area)
                .await?;
        }
        let (group, dedup) = step_ids(record, "request");
        let message = ContinueUpload {
            skill_id: request.skill_id,
            key_id: key_id.to_owned(),
        };
        queue.send(&message, &group, &dedup).await.map_err(|e| {
            warn!(error = %e, "could not queue the upload");
            ApiError::unavailable(
                "could not queue the upload for checking; retry with the same Idempotency-Key",
            )
        })
    }

    async fn store_slices(
        &self,
        request: &ApiRequest,
        intake: &IntakeStore,
        key_id: &str,
        record: &mut UploadRecord,
        rows: &[ContactRow],
        area: &CampaignArea,
    ) -> Result<(), ApiError> {
        let skill = request.skill_id;
        let (candidates, rejections) = screen(rows, area, request.time);
        let groups = self.dnc_groups_searched().await?;
        let rejected: Vec<Value> = rejections.iter().map(|r| json!(r)).collect();
        let target = EvidenceTarget {
            skill_id: skill,
            at: request.time,
            actor: &request.actor,
            upload_id: &record.upload_id,
            dnc_groups: &groups,
            part: ".s0000".into(),
        };
        let counts = record_evidence(intake, &target, &[], &rejected).await?;
        let pending: Vec<Value> = candidates
            .iter()
            .map(|c| json!([c.row.row, c.row]))
            .collect();
        let slices = chunk_by_size(&pending, SLICE_BYTES);
        for (i, slice) in slices.iter().enumerate() {
            intake
                .put_pending_rows(skill, key_id, i + 1, slice, request.time)
                .await
                .map_err(|e| storage_error("store the rows to check", &e))?;
        }
        record.mode = UploadMode::Queued;
        record.status = UploadStatus::Screening;
        record.area = Some(snapshot_of(area));
        record.slices = slices.len();
        record.slices_done = 0;
        record.screened_at = Some(request.time);
        record.received = rows.len();
        record.rejected_by_reason = count_json_by_reason(&rejected);
        record.rejected_chunks = counts.rejected;
        record.dnc_groups = groups;
        record.requested_by = Some(request.actor.clone());
        record.updated_at = Some(Utc::now());
        intake
            .put_upload(skill, key_id, record)
            .await
            .map_err(|e| storage_error("record the queued upload", &e))
    }

    /// The `contact-intake` function: continues each queued upload named by
    /// the batch's messages; a message whose step failed is reported as a
    /// batch item failure and made visible again after [`RETRY_AFTER`].
    pub async fn handle_intake_event(
        &self,
        event: SqsEvent,
        deadline: &Deadline,
    ) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for message in event.records {
            let id = message.message_id.clone().unwrap_or_default();
            let parsed: Result<ContinueUpload, _> =
                serde_json::from_str(message.body.as_deref().unwrap_or_default());
            let outcome = match parsed {
                // Boxed: the upload's future is deep (screening, CXone, DynamoDB).
                Ok(m) => Box::pin(self.continue_and_requeue(&m, deadline)).await,
                Err(e) => {
                    error!(message_id = %id, error = %e, "intake message is not an upload step");
                    Err(ApiError::bad_request("not an upload step"))
                }
            };
            if let Err(e) = outcome {
                warn!(message_id = %id, error = %e.message, "upload step failed; retried later");
                if let (Some(queue), Some(receipt)) =
                    (&self.intake_queue, message.receipt_handle.as_deref())
                {
                    if let Err(e) = queue.retry_in(receipt, RETRY_AFTER).await {
                        warn!(error = %e, "could not delay the retry");
                    }
                }
                response.add_failure(id);
            }
        }
        response
    }

    async fn continue_and_requeue(
        &self,
        message: &ContinueUpload,
        deadline: &Deadline,
    ) -> Result<(), ApiError> {
        let intake = self.intake_store();
        match self.continue_upload(&intake, message, deadline).await {
            Ok(Progress::Done) => Ok(()),
            Ok(Progress::More) => {
                let record = intake
                    .get_upload(message.skill_id, &message.key_id)
                    .await
                    .map_err(|e| storage_error("read the upload record", &e))?
                    .unwrap_or_default();
                let (group, dedup) = step_ids(&record, "continue");
                let queue = self.intake_queue.as_ref().ok_or_else(|| {
                    ApiError::unavailable("the contact intake queue is not configured")
                })?;
                queue.send(message, &group, &dedup).await.map_err(|e| {
                    tracing::warn!(error = %e, "could not queue the upload's next step");
                    ApiError::unavailable("could not queue the upload's next step; retry")
                })
            }
            Err(e) => {
                self.note_failure(&intake, message, &e).await;
                Err(e)
            }
        }
    }

    async fn note_failure(&self, intake: &IntakeStore, message: &ContinueUpload, e: &ApiError) {
        let read = intake.get_upload(message.skill_id, &message.key_id).await;
        if let Ok(Some(mut record)) = read {
            record.last_error = Some(format!("{}: {}", e.status, e.message));
            record.updated_at = Some(Utc::now());
            if let Err(e) = intake
                .put_upload(message.skill_id, &message.key_id, &record)
                .await
            {
                warn!(error = %e, "could not record the upload's failure");
            }
        }
    }

    /// Continues one queued upload until it completes or the time is short.
    pub async fn continue_upload(
        &self,
        intake: &IntakeStore,
        message: &ContinueUpload,
        deadline: &Deadline,
    ) -> Result<Progress, ApiError> {
        let skill = message.skill_id;
        let Some(mut record) = intake
            .get_upload(skill, &message.key_id)
            .await
            .map_err(|e| storage_error("read the upload record", &e))?
        else {
            warn!(skill, "intake message for an unknown upload; dropped");
            return Ok(Progress::Done);
        };
        if record.status == UploadStatus::Completed {
            return Ok(Progress::Done);
        }
        // A slice starts only when the time left covers the budget, or twice
        // the last slice's time when CXone or storage is slow.
        let mut needed = SLICE_BUDGET;
        while record.slices_done < record.slices {
            if !deadline.allows(needed, Duration::from_secs(5)) {
                return Ok(Progress::More);
            }
            let started = std::time::Instant::now();
            self.check_slice(intake, message, &mut record, deadline)
                .await?;
            needed = SLICE_BUDGET.max(started.elapsed() * 2);
        }
        self.finish(intake, message, &mut record, deadline).await
    }

    /// Checks the next slice and saves the record with its counts.
    async fn check_slice(
        &self,
        intake: &IntakeStore,
        message: &ContinueUpload,
        record: &mut UploadRecord,
        deadline: &Deadline,
    ) -> Result<(), ApiError> {
        let skill = message.skill_id;
        let slice = record.slices_done + 1;
        let at = screened_at(record)?;
        let stored = intake
            .get_pending_rows(skill, &message.key_id, slice)
            .await
            .map_err(|e| storage_error("read the rows to check", &e))?
            .ok_or_else(|| {
                ApiError::unavailable(format!("slice {slice} of the upload is missing"))
            })?;
        let area = area_of(&record.area.clone().unwrap_or_default());
        let mut candidates = Vec::new();
        let mut rejections = Vec::new();
        for item in stored {
            let (row, mut contact): (usize, ContactRow) =
                serde_json::from_value(item).map_err(|e| {
                    tracing::warn!(error = %e, slice, "an upload slice is corrupt");
                    ApiError::unavailable(format!("slice {slice} of the upload is corrupt"))
                })?;
            contact.row = row;
            match check_row(&contact, &area, at) {
                Ok(c) => candidates.push(c),
                Err(r) => rejections.push(r),
            }
        }
        let screened = self
            .check_candidates(candidates, rejections, at, &deadline.for_cxone())
            .await?;
        let part = format!(".s{slice:04}");
        let target = EvidenceTarget {
            skill_id: skill,
            at,
            actor: record.requested_by.as_deref().unwrap_or_default(),
            upload_id: &record.upload_id,
            dnc_groups: &record.dnc_groups,
            part: part.clone(),
        };
        let counts = record_evidence(
            intake,
            &target,
            &screened.accepted,
            &screened.rejections_json(),
        )
        .await?;
        // Counted from what the audit trail holds: a slice checked twice keeps
        // its first chunks.
        let read = |action: String| {
            let upload_id = record.upload_id.clone();
            async move {
                intake
                    .read_chunks(skill, at, &upload_id, &action)
                    .await
                    .map_err(|e| storage_error("read the slice's evidence back", &e))
            }
        };
        let accepted = read(format!("{EVIDENCE_ACTION}{part}")).await?;
        let rejected = read(format!("{REJECTED_ACTION}{part}")).await?;
        record.accepted += accepted.len();
        for (reason, n) in count_json_by_reason(&rejected) {
            *record.rejected_by_reason.entry(reason).or_insert(0) += n;
        }
        record.evidence_chunks += counts.evidence;
        record.rejected_chunks += counts.rejected;
        record.slices_done = slice;
        record.last_error = None;
        record.updated_at = Some(Utc::now());
        intake
            .put_upload(skill, &message.key_id, record)
            .await
            .map_err(|e| storage_error("record the upload's progress", &e))?;
        info!(skill, slice, of = record.slices, "upload slice checked");
        Ok(())
    }

    /// Loads the accepted contacts, then completes the upload.
    async fn finish(
        &self,
        intake: &IntakeStore,
        message: &ContinueUpload,
        record: &mut UploadRecord,
        deadline: &Deadline,
    ) -> Result<Progress, ApiError> {
        let skill = message.skill_id;
        let at = screened_at(record)?;
        record.status = UploadStatus::Loading;
        let accepted = intake
            .read_chunks(skill, at, &record.upload_id, EVIDENCE_ACTION)
            .await
            .map_err(|e| storage_error("read the accepted contacts back", &e))?;
        if !accepted.is_empty() && !record.completed {
            let outcome = self
                .load(
                    skill,
                    intake,
                    &message.key_id,
                    record,
                    &accepted,
                    &deadline.for_cxone(),
                )
                .await?;
            if outcome == LoadOutcome::StillRunning {
                return Ok(Progress::More);
            }
        }
        record.completed = true;
        record.status = UploadStatus::Completed;
        record.last_error = None;
        record.updated_at = Some(Utc::now());
        intake
            .put_upload(skill, &message.key_id, record)
            .await
            .map_err(|e| storage_error("record the completed upload", &e))?;
        if let Err(e) = intake
            .delete_pending_rows(skill, &message.key_id, record.slices)
            .await
        {
            warn!(error = %e, "could not delete the checked rows (they expire by TTL)");
        }
        let actor = record.requested_by.clone().unwrap_or_default();
        let body = crate::contacts::answer(skill, record, Vec::new());
        self.audit_upload_outcome(skill, Utc::now(), &actor, &record.upload_id, record, &body)
            .await;
        Ok(Progress::Done)
    }
}

fn screened_at(record: &UploadRecord) -> Result<DateTime<Utc>, ApiError> {
    record
        .screened_at
        .ok_or_else(|| ApiError::unavailable("the upload record has no screening time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_event_is_an_upload_step() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/events/contact-intake.json"
        );
        let event: SqsEvent =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let body = event.records[0].body.as_deref().unwrap();
        let step: ContinueUpload = serde_json::from_str(body).unwrap();
        assert_eq!(step.skill_id, 4711);
        assert_eq!(step.key_id.len(), 64);
        assert!(serde_json::from_str::<ContinueUpload>(r#"{"skillId":1}"#).is_err());
    }

    #[test]
    fn each_step_has_its_own_deduplication_id() {
        let mut record = UploadRecord {
            upload_id: "upload-0123456789abcdef".into(),
            ..UploadRecord::default()
        };
        let (group, first) = step_ids(&record, "request");
        assert_eq!(group, "upload-0123456789abcdef");
        record.slices_done = 1;
        let (_, second) = step_ids(&record, "continue");
        assert_ne!(first, second);
        assert!(first.len() <= 128, "SQS allows 128 characters");
    }

    #[test]
    fn the_area_survives_its_snapshot() {
        let area = CampaignArea {
            zones: vec![parse_zone("America/Chicago").unwrap()],
            states: vec![StateCode::parse("FL").unwrap()],
        };
        assert_eq!(area_of(&snapshot_of(&area)), area);
    }
}
