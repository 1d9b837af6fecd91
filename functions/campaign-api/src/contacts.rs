//! `POST /campaigns/{skillId}/contacts`: consent-checked contact intake,
//! under a required `Idempotency-Key`, and
//! `GET /campaigns/{skillId}/contacts/uploads/{uploadId}`: where an upload
//! stands.
//!
//! The body ([`crate::contact_rows`]: JSON or CSV, up to 100,000 contacts
//! and 10 MB) is screened ([`crate::screening`]: consent, number, duplicates,
//! the campaign's recipients, state bans today; then
//! [`crate::contact_checks`]: calls per 24 hours, DNC lists), the evidence
//! and rejections are appended to the audit trail, and the accepted
//! contacts are loaded into CXone ([`crate::contact_load`]).
//!
//! Up to [`INLINE_LIMIT`] contacts this happens within the request, which
//! answers 200 with counts per reason, the rejected rows (at most
//! [`MAX_INLINE_REJECTIONS`], else where they are in the audit trail) and
//! the job id. Larger uploads are checked by the `contact-intake` function
//! ([`crate::contact_queue`]): the request answers 202 with the upload id and
//! its status route, which answers the same body once the upload completes.
//!
//! The upload's progress is kept per key in the state table: a retry with the
//! same key (after a 502, 503 or 429) uploads exactly the contacts accepted
//! the first time (read back from their evidence), never one that was
//! rejected, reuses the list and polls a job still running; a job CXone
//! cancelled is uploaded again.

use chrono::{DateTime, Utc};
use lambda_http::{Body, Response};
use serde_json::{json, Value};
use tracing::{info, warn};

use schedule_deployer::to_lambda;
use shared::api_error::ApiError;
use shared::deadline::Deadline;
use shared::engine::compliance::{parse_zone, StateCode};
use shared::idempotency::http::{request_hash, HttpIdempotency, HttpResponse, IdempotencyKey};
use shared::idempotency::unix_now_ms;
use shared::store::audit::AuditRecord;
use shared::store::intake::{
    key_id, IntakeStore, UploadMode, UploadRecord, UploadStatus, EVIDENCE_ACTION, REJECTED_ACTION,
};

use crate::api::{json_response, storage_error, Api};
use crate::contact_checks::{count_by_reason, record_evidence, EvidenceTarget};
use crate::contact_load::LoadOutcome;
use crate::contact_rows::{self, ContactRow, Format};
use crate::routes::{ApiRequest, FUNCTION_NAME};
use crate::screening::{screen, CampaignArea};

/// The route key, for the request fingerprint.
pub const ROUTE: &str = "POST /campaigns/{skillId}/contacts";
/// Uploads with more contacts than this are queued (202) when the intake
/// queue is configured: the DNC search of this many takes about 6 s.
pub const INLINE_LIMIT: usize = 2_000;
/// Rejected rows listed in the answer at most; beyond, the answer points at
/// the audit records that hold them all.
pub const MAX_INLINE_REJECTIONS: usize = 500;
/// The audit action of an upload's outcome.
pub const AUDIT_ACTION: &str = "contacts.upload";

impl Api {
    /// `POST /campaigns/{skillId}/contacts` under the required `Idempotency-Key`.
    pub(crate) async fn upload_contacts(
        &self,
        request: &ApiRequest,
        deadline: &Deadline,
    ) -> Result<Response<Body>, ApiError> {
        let key = IdempotencyKey::parse(request.envelope.idempotency_key.as_deref())?;
        let skill = request.skill_id.to_string();
        let hash = request_hash(ROUTE, &[("skillId", skill.as_str())], request.body());
        let response = HttpIdempotency::new(self.idempotency.clone(), FUNCTION_NAME)
            .execute(&key, &hash, deadline, unix_now_ms(), || async {
                match self.contacts_once(request, &key, &hash, deadline).await {
                    Ok((status, body)) => HttpResponse::json(status, &body),
                    Err(e) => HttpResponse::error(&e),
                }
            })
            .await;
        Ok(to_lambda(&response))
    }

    /// `GET /campaigns/{skillId}/contacts/uploads/{uploadId}`.
    pub(crate) async fn upload_status(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let skill = request.skill_id;
        let upload_id = request
            .envelope
            .segments()
            .last()
            .map(|s| (*s).to_owned())
            .unwrap_or_default();
        let intake = self.intake_store();
        let (_, record) = intake
            .find_upload(skill, &upload_id)
            .await
            .map_err(|e| storage_error("read the upload record", &e))?
            .ok_or_else(|| {
                ApiError::not_found(format!("campaign {skill} has no upload {upload_id}"))
            })?;
        let inline = self.inline_rejections(&intake, skill, &record).await?;
        Ok(json_response(200, &answer(skill, &record, inline)))
    }

    /// The upload under `key`: screened and loaded within the request (200),
    /// or queued for the `contact-intake` function (202).
    async fn contacts_once(
        &self,
        request: &ApiRequest,
        key: &IdempotencyKey,
        hash: &str,
        deadline: &Deadline,
    ) -> Result<(u16, Value), ApiError> {
        let format = Format::of(request.content_type.as_deref())?;
        let rows = contact_rows::parse(request.body(), format)?;
        let skill = request.skill_id;
        let area = self.campaign_area(skill).await?;
        let intake = self.intake_store();
        let id = key_id(key.as_str());
        let mut record = self.upload_record(&intake, skill, &id, hash).await?;
        let queued = record.mode == UploadMode::Queued
            || (record.screened_at.is_none()
                && rows.len() > INLINE_LIMIT
                && self.intake_queue.is_some());
        if queued {
            self.accept_queued(request, &intake, &id, &mut record, &rows, &area)
                .await?;
            return Ok((202, answer(skill, &record, Vec::new())));
        }
        let body = self
            .upload_inline(request, &intake, &id, &mut record, &rows, &area, deadline)
            .await?;
        Ok((200, body))
    }

    /// The record of the upload under key id `id`, or a new one (422 when the
    /// key was used for other contacts).
    async fn upload_record(
        &self,
        intake: &IntakeStore,
        skill: i64,
        id: &str,
        hash: &str,
    ) -> Result<UploadRecord, ApiError> {
        match intake
            .get_upload(skill, id)
            .await
            .map_err(|e| storage_error("read the upload record", &e))?
        {
            Some(r) if r.request_hash != hash => Err(ApiError::unprocessable(
                "this Idempotency-Key uploaded other contacts; use a new key",
            )
            .with_details(vec![json!({"header": "Idempotency-Key",
                "problem": "reused with a different request"})])),
            Some(r) => Ok(r),
            None => Ok(UploadRecord {
                request_hash: hash.to_owned(),
                upload_id: format!("upload-{}", &id[..16]),
                ..UploadRecord::default()
            }),
        }
    }

    /// Screens, records and loads within the request.
    #[allow(clippy::too_many_arguments)]
    async fn upload_inline(
        &self,
        request: &ApiRequest,
        intake: &IntakeStore,
        id: &str,
        record: &mut UploadRecord,
        rows: &[ContactRow],
        area: &CampaignArea,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let skill = request.skill_id;
        let cxone_deadline = deadline.for_cxone();
        let (accepted, inline) = match record.screened_at {
            Some(at) => {
                // A retry: exactly the contacts accepted the first time.
                let accepted = intake
                    .read_chunks(skill, at, &record.upload_id, EVIDENCE_ACTION)
                    .await
                    .map_err(|e| storage_error("read the accepted contacts back", &e))?;
                (
                    accepted,
                    self.inline_rejections(intake, skill, record).await?,
                )
            }
            None => {
                let (candidates, rejections) = screen(rows, area, request.time);
                let screened = self
                    .check_candidates(candidates, rejections, request.time, &cxone_deadline)
                    .await?;
                let groups = self.dnc_groups_searched().await?;
                let rejected = screened.rejections_json();
                let target = EvidenceTarget {
                    skill_id: skill,
                    at: request.time,
                    actor: &request.actor,
                    upload_id: &record.upload_id,
                    dnc_groups: &groups,
                    part: String::new(),
                };
                let counts =
                    record_evidence(intake, &target, &screened.accepted, &rejected).await?;
                record.screened_at = Some(request.time);
                record.received = rows.len();
                record.accepted = screened.accepted.len();
                record.rejected_by_reason = count_by_reason(&screened.rejections);
                record.evidence_chunks = counts.evidence;
                record.rejected_chunks = counts.rejected;
                record.dnc_groups = groups;
                record.completed = screened.accepted.is_empty();
                record.requested_by = Some(request.actor.clone());
                intake
                    .put_upload(skill, id, record)
                    .await
                    .map_err(|e| storage_error("record the screened upload", &e))?;
                let inline = if rejected.len() <= MAX_INLINE_REJECTIONS {
                    rejected
                } else {
                    Vec::new()
                };
                (screened.accepted, inline)
            }
        };
        if !accepted.is_empty() && !record.completed {
            let outcome = self
                .load(skill, intake, id, record, &accepted, &cxone_deadline)
                .await?;
            if outcome == LoadOutcome::StillRunning {
                return Err(ApiError::bad_gateway(format!(
                    "upload job {} is still running at the time limit; retry with the same \
                     Idempotency-Key to wait for it (nothing is uploaded twice)",
                    record.job_id.clone().unwrap_or_default()
                ))
                .with_details(vec![
                    json!({"listId": record.list_id, "jobId": record.job_id}),
                ]));
            }
        }
        record.status = UploadStatus::Completed;
        let body = answer(skill, record, inline);
        self.audit_upload_outcome(
            skill,
            request.time,
            &request.actor,
            &request.request_id,
            record,
            &body,
        )
        .await;
        Ok(body)
    }

    /// The rejected rows to list in an answer: every one when there are at
    /// most [`MAX_INLINE_REJECTIONS`] and the upload is screened, else none.
    async fn inline_rejections(
        &self,
        intake: &IntakeStore,
        skill: i64,
        record: &UploadRecord,
    ) -> Result<Vec<Value>, ApiError> {
        let rejected: usize = record.rejected_by_reason.values().sum();
        let screened = record.mode == UploadMode::Inline || record.slices_done == record.slices;
        match record.screened_at {
            Some(at) if screened && rejected <= MAX_INLINE_REJECTIONS => {
                let mut rows = intake
                    .read_chunks(skill, at, &record.upload_id, REJECTED_ACTION)
                    .await
                    .map_err(|e| storage_error("read the rejected rows back", &e))?;
                rows.sort_by_key(|r| r.get("row").and_then(Value::as_u64).unwrap_or(0));
                Ok(rows)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// Appends the upload's outcome (`contacts.upload`) to the audit trail.
    pub(crate) async fn audit_upload_outcome(
        &self,
        skill: i64,
        at: DateTime<Utc>,
        actor: &str,
        request_id: &str,
        record: &UploadRecord,
        body: &Value,
    ) {
        let summary = AuditRecord {
            skill_id: skill,
            at,
            actor: actor.to_owned(),
            action: AUDIT_ACTION.into(),
            before: Value::Null,
            after: json!({"listId": record.list_id, "jobId": record.job_id, "accepted": record.accepted}),
            why: format!(
                "{} contact(s) uploaded with consent evidence, {} rejected",
                record.accepted,
                record.rejected_by_reason.values().sum::<usize>()
            ),
            outcome: "written".into(),
            request_id: request_id.to_owned(),
            details: body.clone(),
        };
        if let Err(e) = self.audit.append(&summary).await {
            warn!(error = %e, "could not audit the upload's outcome");
        }
        info!(accepted = record.accepted, "contacts uploaded");
    }

    /// The intake records and evidence chunks, on this API's tables.
    pub fn intake_store(&self) -> IntakeStore {
        IntakeStore::new(
            self.state.client().clone(),
            self.state.table().to_owned(),
            self.audit.clone(),
        )
    }

    /// The recipients the campaign's windows were checked for: its config's
    /// and its deployed schedule's (404 when it has no config).
    async fn campaign_area(&self, skill: i64) -> Result<CampaignArea, ApiError> {
        let stored = self
            .state
            .get_config(skill)
            .await
            .map_err(|e| storage_error("read the campaign config", &e))?
            .ok_or_else(|| ApiError::not_found(format!("campaign {skill} has no config")))?;
        let deployed = self
            .state
            .get_deployed_schedule(skill)
            .await
            .map_err(|e| storage_error("read the deployed schedule", &e))?
            .unwrap_or_default();
        let mut area = CampaignArea::default();
        for zone in stored
            .config
            .recipient_time_zones
            .iter()
            .chain(&deployed.recipient_time_zones)
        {
            if let Ok(zone) = parse_zone(zone) {
                if !area.zones.contains(&zone) {
                    area.zones.push(zone);
                }
            }
        }
        for state in stored
            .config
            .recipient_states
            .iter()
            .chain(&deployed.recipient_states)
        {
            if let Ok(state) = StateCode::parse(state) {
                if !area.states.contains(&state) {
                    area.states.push(state);
                }
            }
        }
        Ok(area)
    }
}

/// The answer: counts, rejections (or where they are), list and job.
pub fn answer(skill: i64, record: &UploadRecord, inline: Vec<Value>) -> Value {
    let rejected: usize = record.rejected_by_reason.values().sum();
    let done = record.status == UploadStatus::Completed;
    let (status, job) = match record.status {
        UploadStatus::Completed if record.accepted == 0 => ("completed", "none: nothing to upload"),
        UploadStatus::Completed => ("completed", "complete"),
        UploadStatus::Loading => ("loading", "running"),
        UploadStatus::Screening => ("screening", "not started"),
    };
    let mut body = json!({
        "skillId": skill,
        "uploadId": record.upload_id,
        "status": status,
        "statusUrl": format!("/campaigns/{skill}/contacts/uploads/{}", record.upload_id),
        "received": record.received,
        "accepted": record.accepted,
        "rejected": rejected,
        "rejectedByReason": record.rejected_by_reason,
        "listId": record.list_id,
        "jobId": record.job_id,
        "job": job,
        "dncGroupsSearched": record.dnc_groups,
        "evidence": {
            "audit": format!("GET /campaigns/{skill}/audit?kind={EVIDENCE_ACTION}"),
            "at": record.screened_at, "requestId": record.upload_id,
            "records": record.evidence_chunks,
        },
    });
    if record.mode == UploadMode::Queued {
        body["checked"] = json!({"slices": record.slices, "slicesDone": record.slices_done});
        body["lastError"] = json!(record.last_error);
    }
    if !done {
        body["message"] = json!(
            "accepted for checking: counts so far; GET the statusUrl until status is completed"
        );
    }
    if rejected <= MAX_INLINE_REJECTIONS {
        body["rejections"] = Value::Array(inline);
    } else {
        body["rejections"] = json!([]);
        body["rejectionsInAudit"] = json!({
            "audit": format!("GET /campaigns/{skill}/audit?kind={REJECTED_ACTION}"),
            "at": record.screened_at, "requestId": record.upload_id,
            "records": record.rejected_chunks,
            "message": format!("{rejected} rejected rows: more than {MAX_INLINE_REJECTIONS}, so they are in the audit trail only"),
        });
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact_load::call_list_csv;

    #[test]
    fn the_call_list_csv_has_cxone_zone_names() {
        let csv = call_list_csv(&[json!({"externalId": "A,1", "phoneNumber": "+16172531000",
                                         "state": "MA", "timeZone": "America/New_York"})])
        .unwrap();
        let text = String::from_utf8(csv).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("externalId,phoneNumber,state,timeZone"));
        let row = lines.next().unwrap();
        assert!(row.starts_with("\"A,1\",+16172531000,MA,"), "{row}");
        assert!(row.ends_with("Eastern Standard Time"), "{row}");
    }

    #[test]
    fn many_rejections_point_at_the_audit() {
        let mut record = UploadRecord {
            status: UploadStatus::Completed,
            ..UploadRecord::default()
        };
        record
            .rejected_by_reason
            .insert("dnc_listed".into(), MAX_INLINE_REJECTIONS + 1);
        let body = answer(1, &record, Vec::new());
        assert!(body["rejectionsInAudit"]["records"].is_number());
        record.rejected_by_reason.insert("dnc_listed".into(), 1);
        let body = answer(1, &record, vec![json!({"row": 1})]);
        assert_eq!(body["rejections"].as_array().map(Vec::len), Some(1));
        assert!(body.get("rejectionsInAudit").is_none());
    }
}
