//! `POST /campaigns/{skillId}/contacts`: consent-checked contact intake,
//! under a required `Idempotency-Key`.
//!
//! The body ([`crate::contact_rows`]: JSON or CSV, up to 100,000 contacts
//! and 10 MB) is screened ([`crate::screening`]: consent, number, duplicates,
//! the campaign's recipients, state bans today), then each contact of a
//! state that caps calls per 24 hours is counted against the webhook's
//! per-number attempt counters, then every remaining number is searched in
//! CXone's DNC lists ([`DNC_CONCURRENCY`] at a time, at most
//! [`DNC_PER_SECOND`] a second; CXone's 429 and its `Retry-After` are
//! honoured by the client's retries). The accepted contacts' consent
//! evidence and the rejected rows are appended to the audit trail in chunks
//! (`contacts.evidence.NNNN`, `contacts.rejected.NNNN`) before anything is
//! uploaded; then a calling list is created, the accepted contacts uploaded
//! as base64 CSV for the skill, and the job polled to completion.
//!
//! The upload's progress is kept per key in the state table: a retry with the
//! same key (after a 502, 503 or 429) uploads exactly the contacts accepted
//! the first time (read back from their evidence), never one that was
//! rejected, reuses the list and polls a job still running; a job CXone
//! cancelled is uploaded again. The answer is 200 with counts per reason,
//! the rejected rows (at most [`MAX_INLINE_REJECTIONS`], else where they
//! are in the audit trail) and the job id.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use lambda_http::{Body, Response};
use serde_json::{json, Value};
use tracing::{info, warn};

use schedule_deployer::to_lambda;
use shared::api_error::ApiError;
use shared::cxone::{CallListUpload, CxoneError, DestinationMapping, NewCallList};
use shared::deadline::Deadline;
use shared::engine::compliance::{cxone_zone_name, parse_zone, StateCode};
use shared::idempotency::http::{request_hash, HttpIdempotency, HttpResponse, IdempotencyKey};
use shared::idempotency::unix_now_ms;
use shared::store::audit::AuditRecord;
use shared::store::intake::{key_id, IntakeStore, UploadRecord, EVIDENCE_ACTION, REJECTED_ACTION};

use crate::api::{cxone_error, storage_error, Api};
use crate::contact_rows::{self, Format};
use crate::routes::{ApiRequest, FUNCTION_NAME};
use crate::screening::{
    attempts_rejection, dnc_rejection, screen, CampaignArea, Candidate, Rejection,
};

/// The route key, for the request fingerprint.
pub const ROUTE: &str = "POST /campaigns/{skillId}/contacts";
/// DNC searches in flight at once.
pub const DNC_CONCURRENCY: usize = 16;
/// DNC searches started per second at most.
pub const DNC_PER_SECOND: u32 = 400;
/// Per-number attempt reads in flight at once.
pub const ATTEMPT_READS: usize = 16;
/// Rejected rows listed in the answer at most; beyond, the answer points at
/// the audit records that hold them all.
pub const MAX_INLINE_REJECTIONS: usize = 500;
/// Pause between two polls of the upload job.
pub const JOB_POLL: Duration = Duration::from_millis(500);
/// The audit action of an upload's outcome.
pub const AUDIT_ACTION: &str = "contacts.upload";

/// Spaces the start of calls to at most `per_second`.
struct Pacer {
    next: tokio::sync::Mutex<tokio::time::Instant>,
    gap: Duration,
}

impl Pacer {
    fn new(per_second: u32) -> Self {
        Self {
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
            gap: Duration::from_secs(1) / per_second.max(1),
        }
    }

    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.gap;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// What screening decided.
struct Screened {
    accepted: Vec<Value>,
    rejections: Vec<Rejection>,
}

fn throttled_or_failed(what: &str, e: &CxoneError) -> ApiError {
    let mut error = cxone_error(what, e);
    error.message = format!(
        "{}; nothing was uploaded; retry with the same Idempotency-Key",
        error.message
    );
    error
}

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
                    Ok(body) => HttpResponse::json(200, &body),
                    Err(e) => HttpResponse::error(&e),
                }
            })
            .await;
        Ok(to_lambda(&response))
    }

    async fn contacts_once(
        &self,
        request: &ApiRequest,
        key: &IdempotencyKey,
        hash: &str,
        deadline: &Deadline,
    ) -> Result<Value, ApiError> {
        let format = Format::of(request.content_type.as_deref())?;
        let rows = contact_rows::parse(request.body(), format)?;
        let skill = request.skill_id;
        let area = self.campaign_area(skill).await?;
        let intake = self.intake_store();
        let id = key_id(key.as_str());
        let mut record = match intake
            .get_upload(skill, &id)
            .await
            .map_err(|e| storage_error("read the upload record", &e))?
        {
            Some(r) if r.request_hash != hash => {
                return Err(ApiError::unprocessable(
                    "this Idempotency-Key uploaded other contacts; use a new key",
                ))
            }
            Some(r) => r,
            None => UploadRecord {
                request_hash: hash.to_owned(),
                upload_id: format!("upload-{}", &id[..16]),
                ..UploadRecord::default()
            },
        };
        let cxone_deadline = deadline.for_cxone();
        let (accepted, inline) = match record.screened_at {
            Some(at) => {
                // A retry: exactly the contacts accepted the first time.
                let accepted = intake
                    .read_chunks(skill, at, &record.upload_id, EVIDENCE_ACTION)
                    .await
                    .map_err(|e| storage_error("read the accepted contacts back", &e))?;
                let rejected: usize = record.rejected_by_reason.values().sum();
                let inline = if rejected <= MAX_INLINE_REJECTIONS {
                    intake
                        .read_chunks(skill, at, &record.upload_id, REJECTED_ACTION)
                        .await
                        .map_err(|e| storage_error("read the rejected rows back", &e))?
                } else {
                    Vec::new()
                };
                (accepted, inline)
            }
            None => {
                let screened = self
                    .screen_all(&rows, &area, request, &cxone_deadline)
                    .await?;
                self.record_screening(request, &intake, &id, &mut record, rows.len(), &screened)
                    .await?;
                let inline = if screened.rejections.len() <= MAX_INLINE_REJECTIONS {
                    screened.rejections.iter().map(|r| json!(r)).collect()
                } else {
                    Vec::new()
                };
                (screened.accepted, inline)
            }
        };
        if !accepted.is_empty() && !record.completed {
            self.load(
                request,
                &intake,
                &id,
                &mut record,
                &accepted,
                &cxone_deadline,
            )
            .await?;
        }
        let body = answer(skill, &record, inline);
        let summary = AuditRecord {
            skill_id: skill,
            at: request.time,
            actor: request.actor.clone(),
            action: AUDIT_ACTION.into(),
            before: Value::Null,
            after: json!({"listId": record.list_id, "jobId": record.job_id, "accepted": record.accepted}),
            why: format!(
                "{} contact(s) uploaded with consent evidence, {} rejected",
                record.accepted,
                record.rejected_by_reason.values().sum::<usize>()
            ),
            outcome: "written".into(),
            request_id: request.request_id.clone(),
            details: body.clone(),
        };
        if let Err(e) = self.audit.append(&summary).await {
            warn!(error = %e, "could not audit the upload's outcome");
        }
        info!(accepted = record.accepted, "contacts uploaded");
        Ok(body)
    }

    /// The intake records and evidence chunks, on this API's tables.
    pub(crate) fn intake_store(&self) -> IntakeStore {
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

    /// Every rule: the pure ones, the per-number attempts, the DNC lists.
    async fn screen_all(
        &self,
        rows: &[contact_rows::ContactRow],
        area: &CampaignArea,
        request: &ApiRequest,
        deadline: &Deadline,
    ) -> Result<Screened, ApiError> {
        let (candidates, mut rejections) = screen(rows, area, request.time);
        let now = request.time;
        let counted: Vec<Result<Candidate, ApiError>> = stream::iter(candidates)
            .map(|mut c| async move {
                if c.cap_per_24h.is_some() {
                    let n = self
                        .events
                        .attempts_last_24h(&c.number.e164, now)
                        .await
                        .map_err(|e| storage_error("read the calls made to a number", &e))?;
                    c.attempts_24h = Some(n);
                }
                Ok(c)
            })
            .buffered(ATTEMPT_READS)
            .collect()
            .await;
        let mut to_search = Vec::with_capacity(counted.len());
        for c in counted {
            let c = c?;
            match c.attempts_24h.and_then(|n| attempts_rejection(&c, n)) {
                Some(r) => rejections.push(r),
                None => to_search.push(c),
            }
        }
        let pacer = Arc::new(Pacer::new(DNC_PER_SECOND));
        let searched: Vec<Result<(Candidate, Vec<Value>), ApiError>> = stream::iter(to_search)
            .map(|c| {
                let pacer = pacer.clone();
                async move {
                    pacer.wait().await;
                    let hits = self
                        .cxone
                        .dnc_search(&c.number.e164, deadline)
                        .await
                        .map_err(|e| throttled_or_failed("searching the DNC lists", &e))?;
                    Ok((c, hits))
                }
            })
            .buffered(DNC_CONCURRENCY)
            .collect()
            .await;
        let mut accepted = Vec::new();
        for result in searched {
            let (c, hits) = result?;
            match dnc_rejection(&c, &hits) {
                Some(r) => rejections.push(r),
                None => accepted.push(c.evidence()),
            }
        }
        rejections.sort_by_key(|r| r.row);
        Ok(Screened {
            accepted,
            rejections,
        })
    }

    /// The evidence and rejections in the audit trail, then the record.
    async fn record_screening(
        &self,
        request: &ApiRequest,
        intake: &IntakeStore,
        id: &str,
        record: &mut UploadRecord,
        received: usize,
        screened: &Screened,
    ) -> Result<(), ApiError> {
        let groups = self
            .cxone
            .dnc_groups(&Deadline::after(Duration::from_secs(10)))
            .await
            .map(|g| {
                g.into_iter()
                    .filter(|g| g.is_effective())
                    .map(
                        |g| json!({"dncGroupId": g.dnc_group_id, "dncGroupName": g.dnc_group_name}),
                    )
                    .collect::<Vec<_>>()
            })
            .map_err(|e| throttled_or_failed("reading the DNC groups searched", &e))?;
        let mut by_reason = BTreeMap::new();
        for r in &screened.rejections {
            *by_reason
                .entry(r.reason.code().to_owned())
                .or_insert(0usize) += 1;
        }
        let template = AuditRecord {
            skill_id: request.skill_id,
            at: request.time,
            actor: request.actor.clone(),
            action: String::new(),
            before: Value::Null,
            after: Value::Null,
            why: "contacts screened for upload: consent, number, duplicates, recipients, state \
                  bans, calls per 24 h, DNC lists"
                .into(),
            outcome: "accepted".into(),
            request_id: record.upload_id.clone(),
            details: json!({
                "uploadId": record.upload_id,
                "checkedAt": request.time,
                "dncGroups": groups,
                "dncSearch": "POST dnc-groups/search per number, every list of the business unit",
                "attemptsFrom": "contact.completed webhook events per phoneNumber, last 24 hours",
            }),
        };
        let evidence_chunks = intake
            .write_chunks(&template, EVIDENCE_ACTION, &screened.accepted)
            .await
            .map_err(|e| storage_error("record the consent evidence", &e))?;
        let mut rejected_template = template.clone();
        rejected_template.outcome = "rejected".into();
        rejected_template.why = "contacts rejected, each with its reason".into();
        let rejected: Vec<Value> = screened.rejections.iter().map(|r| json!(r)).collect();
        let rejected_chunks = intake
            .write_chunks(&rejected_template, REJECTED_ACTION, &rejected)
            .await
            .map_err(|e| storage_error("record the rejected rows", &e))?;
        record.screened_at = Some(request.time);
        record.received = received;
        record.accepted = screened.accepted.len();
        record.rejected_by_reason = by_reason;
        record.evidence_chunks = evidence_chunks;
        record.rejected_chunks = rejected_chunks;
        record.dnc_groups = groups;
        record.completed = screened.accepted.is_empty();
        intake
            .put_upload(request.skill_id, id, record)
            .await
            .map_err(|e| storage_error("record the screened upload", &e))
    }

    /// Creates the list, uploads the accepted contacts and polls the job.
    async fn load(
        &self,
        request: &ApiRequest,
        intake: &IntakeStore,
        id: &str,
        record: &mut UploadRecord,
        accepted: &[Value],
        deadline: &Deadline,
    ) -> Result<(), ApiError> {
        let skill = request.skill_id;
        let save = |record: &UploadRecord| {
            let record = record.clone();
            async move {
                intake
                    .put_upload(skill, id, &record)
                    .await
                    .map_err(|e| storage_error("record the upload's progress", &e))
            }
        };
        let list_id = match record.list_id {
            Some(list) => list,
            None => {
                let list = NewCallList {
                    list_name: format!("autopilot-{skill}-{}", record.upload_id),
                    external_id_column: "externalId".into(),
                    time_zone_column: Some("timeZone".into()),
                    state_column: Some("state".into()),
                    other_columns: Vec::new(),
                    destination_mappings: vec![DestinationMapping {
                        field_name: "PhoneNumber".into(),
                        field_value: "phoneNumber".into(),
                    }],
                };
                let list_id = self
                    .cxone
                    .create_call_list(&list, deadline)
                    .await
                    .map_err(|e| cxone_error("creating the calling list", &e))?;
                record.list_id = Some(list_id);
                save(record).await?;
                list_id
            }
        };
        let job_id = match record.job_id.clone() {
            Some(job) => job,
            None => {
                let upload = CallListUpload {
                    csv: call_list_csv(accepted)?,
                    file_name: format!("{}.csv", record.upload_id),
                    skill_id: skill,
                    default_time_zone: None,
                    force_overwrite: false,
                    expiration_date: None,
                    start_skill: false,
                    send_email: false,
                };
                let job = self
                    .cxone
                    .upload_call_list(list_id, &upload, deadline)
                    .await
                    .map_err(|e| cxone_error("uploading the calling list", &e))?;
                record.job_id = Some(job.clone());
                save(record).await?;
                job
            }
        };
        loop {
            let job = self
                .cxone
                .call_list_job(&job_id, deadline)
                .await
                .map_err(|e| cxone_error("reading the upload job", &e))?;
            if job.is_complete {
                record.completed = true;
                return save(record).await;
            }
            if job.is_cancelled {
                record.failed_jobs.push(job_id.clone());
                record.job_id = None;
                save(record).await?;
                return Err(ApiError::bad_gateway(format!(
                    "CXone cancelled upload job {job_id} of calling list {list_id}: no contact \
                     was loaded; retry with the same Idempotency-Key to upload the same accepted \
                     contacts again"
                ))
                .with_details(vec![json!({"listId": list_id, "jobId": job_id,
                                           "accepted": record.accepted,
                                           "rejectedByReason": record.rejected_by_reason})]));
            }
            if !deadline.allows(JOB_POLL, Duration::from_secs(1)) {
                return Err(ApiError::bad_gateway(format!(
                    "upload job {job_id} is still running at the time limit; retry with the \
                     same Idempotency-Key to wait for it (nothing is uploaded twice)"
                ))
                .with_details(vec![json!({"listId": list_id, "jobId": job_id})]));
            }
            tokio::time::sleep(JOB_POLL).await;
        }
    }
}

/// The CSV CXone loads: `externalId,phoneNumber,state,timeZone` (CXone's
/// zone name when the contact gave a zone).
pub fn call_list_csv(accepted: &[Value]) -> Result<Vec<u8>, ApiError> {
    let fail = |e: &dyn std::fmt::Display| {
        warn!(error = %e, "could not write the calling list");
        ApiError::internal()
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["externalId", "phoneNumber", "state", "timeZone"])
        .map_err(|e| fail(&e))?;
    for c in accepted {
        let text = |k: &str| {
            c.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let zone = c
            .get("timeZone")
            .and_then(Value::as_str)
            .and_then(|z| cxone_zone_name(z).ok())
            .unwrap_or_default();
        writer
            .write_record([
                text("externalId"),
                text("phoneNumber"),
                text("state"),
                zone.to_owned(),
            ])
            .map_err(|e| fail(&e))?;
    }
    writer.into_inner().map_err(|e| fail(&e))
}

/// The answer: counts, rejections (or where they are), list and job.
fn answer(skill: i64, record: &UploadRecord, inline: Vec<Value>) -> Value {
    let rejected: usize = record.rejected_by_reason.values().sum();
    let mut body = json!({
        "skillId": skill,
        "uploadId": record.upload_id,
        "received": record.received,
        "accepted": record.accepted,
        "rejected": rejected,
        "rejectedByReason": record.rejected_by_reason,
        "listId": record.list_id,
        "jobId": record.job_id,
        "job": if record.accepted == 0 { "none: nothing to upload" } else { "complete" },
        "dncGroupsSearched": record.dnc_groups,
        "evidence": {
            "audit": format!("GET /campaigns/{skill}/audit?kind={EVIDENCE_ACTION}"),
            "at": record.screened_at, "requestId": record.upload_id,
            "records": record.evidence_chunks,
        },
    });
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
        let mut record = UploadRecord::default();
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
