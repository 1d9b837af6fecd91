//! Loading an upload's accepted contacts into CXone: a calling list is
//! created, the contacts uploaded as base64 CSV for the skill, and the job
//! polled to completion. Each step's result is saved in the upload record
//! before the next, so a retry (or the next message of a queued upload)
//! reuses the list and polls a job still running; a job CXone cancelled is
//! uploaded again.

use std::time::Duration;

use serde_json::{json, Value};
use tracing::warn;

use shared::api_error::ApiError;
use shared::cxone::{CallListUpload, DestinationMapping, NewCallList};
use shared::deadline::Deadline;
use shared::engine::compliance::cxone_zone_name;
use shared::store::intake::{IntakeStore, UploadRecord};

use crate::api::{cxone_error, storage_error, Api};

/// Pause between two polls of the upload job.
pub const JOB_POLL: Duration = Duration::from_millis(500);

/// Whether a load stopped because the job was still running at the time
/// limit (the caller retries or continues later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadOutcome {
    /// The job completed.
    Completed,
    /// The job is still running; its id is in the record.
    StillRunning,
}

impl Api {
    /// Creates the list, uploads the accepted contacts and polls the job.
    pub(crate) async fn load(
        &self,
        skill: i64,
        intake: &IntakeStore,
        id: &str,
        record: &mut UploadRecord,
        accepted: &[Value],
        deadline: &Deadline,
    ) -> Result<LoadOutcome, ApiError> {
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
                save(record).await?;
                return Ok(LoadOutcome::Completed);
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
                return Ok(LoadOutcome::StillRunning);
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
