//! Records of the campaign API's intake routes: campaign provisioning and
//! contact uploads, each resumable under its `Idempotency-Key`.
//!
//! # Items
//! State table:
//! - `pk = PROVISION#<key id>`, `sk = PROVISION`: a [`ProvisioningRecord`],
//!   the steps of `POST /campaigns` done so far for one key (JSON in `body`).
//! - `pk = CAMPAIGN#<skillId>`, `sk = UPLOAD#<key id>`: an [`UploadRecord`],
//!   how far one contact upload got (screened, list created, uploaded, job
//!   finished).
//! - `pk = CAMPAIGN#<skillId>`, `sk = UPLOADROWS#<key id>#NNNN`: the rows of
//!   a queued upload still to be checked against the per-number attempts and
//!   the DNC lists (JSON in `body`), one item per slice, deleted when the
//!   upload completes (and expired by TTL after [`PENDING_ROWS_TTL_DAYS`]
//!   days in any case: they hold personal data).
//!
//! Audit table: the evidence of an upload, as ordinary audit records of the
//! campaign (`pk = CAMPAIGN#<skillId>`) at the screening time, whose request
//! id is the upload's id and whose action is `contacts.evidence.NNNN` (the
//! accepted contacts with their consent) or `contacts.rejected.NNNN` (the
//! rejected rows with their reasons): chunks of at most [`CHUNK_BYTES`] of
//! JSON, well under DynamoDB's 400 KB item limit. Their sort keys are
//! deterministic, so writing a chunk twice keeps the first.
//!
//! The key id is the SHA-256 of the key (hex): keys are caller-chosen text.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::audit::{time_key, AuditRecord, AuditStore};
use super::{campaign_pk, StoreError};

/// Largest JSON payload of one evidence or rejection chunk, in bytes.
pub const CHUNK_BYTES: usize = 200 * 1024;
/// The action prefix of an upload's accepted-contact evidence chunks.
pub const EVIDENCE_ACTION: &str = "contacts.evidence";
/// The action prefix of an upload's rejected-row chunks.
pub const REJECTED_ACTION: &str = "contacts.rejected";

/// The id of a caller's key in item keys: SHA-256, hex.
pub fn key_id(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// What `POST /campaigns` has done for one `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningRecord {
    /// The request's fingerprint: the same key with another body is refused.
    pub request_hash: String,
    /// The new skill's unique name (how it is found again).
    pub skill_name: String,
    /// The new skill's id, once known.
    pub skill_id: Option<i64>,
    /// The steps done, in order (`skill`, `generalSettings`, `dncGroup`,
    /// `schedule`, `config`).
    pub steps_done: Vec<String>,
    /// When the first attempt started.
    pub started_at: DateTime<Utc>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
    /// The last failure, if the last attempt failed.
    #[serde(default)]
    pub last_error: Option<String>,
    /// What the finished steps answered (settings written, schedule, config).
    #[serde(default)]
    pub results: BTreeMap<String, Value>,
}

impl ProvisioningRecord {
    /// Whether `step` is done.
    pub fn done(&self, step: &str) -> bool {
        self.steps_done.iter().any(|s| s == step)
    }
}

/// Days after which the pending rows of a queued upload expire.
pub const PENDING_ROWS_TTL_DAYS: i64 = 14;

/// How an upload is processed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UploadMode {
    /// Within the request (small uploads).
    #[default]
    Inline,
    /// Accepted with 202 and continued by the intake queue's worker.
    Queued,
}

/// Where an upload stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UploadStatus {
    /// Rows are being checked (attempts, DNC lists), slice by slice.
    #[default]
    Screening,
    /// Every row is checked; the calling list is being created and loaded.
    Loading,
    /// The job completed (or there was nothing to load).
    Completed,
}

/// The recipients an upload was screened for, kept so that every slice of a
/// queued upload is judged against the same area.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AreaSnapshot {
    /// IANA zone names.
    pub zones: Vec<String>,
    /// Two-letter state codes.
    pub states: Vec<String>,
}

/// How far one contact upload got.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadRecord {
    /// The request's fingerprint.
    pub request_hash: String,
    /// The upload's id (the request id of its evidence records).
    pub upload_id: String,
    /// When the contacts were screened (the time of their evidence records).
    pub screened_at: Option<DateTime<Utc>>,
    /// Rows received.
    pub received: usize,
    /// Contacts accepted.
    pub accepted: usize,
    /// Rejected rows per reason code.
    pub rejected_by_reason: BTreeMap<String, usize>,
    /// Evidence chunks written (`contacts.evidence.0001` ...).
    pub evidence_chunks: usize,
    /// Rejection chunks written (`contacts.rejected.0001` ...).
    pub rejected_chunks: usize,
    /// The DNC groups the numbers were searched against.
    #[serde(default)]
    pub dnc_groups: Vec<Value>,
    /// The calling list, once created.
    pub list_id: Option<i64>,
    /// The upload job in progress or finished.
    pub job_id: Option<String>,
    /// Jobs CXone cancelled (each retried with a new upload).
    #[serde(default)]
    pub failed_jobs: Vec<String>,
    /// Whether the job completed.
    pub completed: bool,
    /// How the upload is processed.
    #[serde(default)]
    pub mode: UploadMode,
    /// Where it stands.
    #[serde(default)]
    pub status: UploadStatus,
    /// The recipients it is screened for (queued uploads).
    #[serde(default)]
    pub area: Option<AreaSnapshot>,
    /// Slices of rows stored for the worker (queued uploads).
    #[serde(default)]
    pub slices: usize,
    /// Slices checked so far (queued uploads).
    #[serde(default)]
    pub slices_done: usize,
    /// The last failure the worker met (it retries), if any.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Who uploaded (the actor of the queued upload's records).
    #[serde(default)]
    pub requested_by: Option<String>,
    /// When the record last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The intake records, on the state table, and the evidence on the audit table.
#[derive(Clone, Debug)]
pub struct IntakeStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    audit: AuditStore,
    audit_table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Splits `items` into chunks whose JSON is at most `max_bytes` each (an item
/// larger than that gets a chunk of its own).
pub fn chunk_by_size(items: &[Value], max_bytes: usize) -> Vec<Vec<Value>> {
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    let mut size = 2usize;
    for item in items {
        let len = item.to_string().len() + 1;
        if !current.is_empty() && size + len > max_bytes {
            chunks.push(std::mem::take(&mut current));
            size = 2;
        }
        size += len;
        current.push(item.clone());
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

impl IntakeStore {
    /// A store on the state `table`, with the evidence in `audit`.
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        audit: AuditStore,
    ) -> Self {
        let audit_table = audit.table().to_owned();
        Self {
            client,
            table: table.into(),
            audit,
            audit_table,
        }
    }

    async fn get_body<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<T>, StoreError> {
        super::get_json_body(&self.client, &self.table, pk, sk).await
    }

    async fn put_body<T: Serialize>(
        &self,
        pk: String,
        sk: String,
        value: &T,
    ) -> Result<(), StoreError> {
        super::put_json_body(&self.client, &self.table, pk, sk, value).await
    }

    /// The provisioning record of the key with id `key_id`, if any.
    pub async fn get_provisioning(
        &self,
        key_id: &str,
    ) -> Result<Option<ProvisioningRecord>, StoreError> {
        self.get_body(format!("PROVISION#{key_id}"), "PROVISION".into())
            .await
    }

    /// Replaces the provisioning record of the key with id `key_id`.
    pub async fn put_provisioning(
        &self,
        key_id: &str,
        record: &ProvisioningRecord,
    ) -> Result<(), StoreError> {
        self.put_body(format!("PROVISION#{key_id}"), "PROVISION".into(), record)
            .await
    }

    /// The record of an upload to `skill_id` under the key with id `key_id`.
    pub async fn get_upload(
        &self,
        skill_id: i64,
        key_id: &str,
    ) -> Result<Option<UploadRecord>, StoreError> {
        self.get_body(campaign_pk(skill_id), format!("UPLOAD#{key_id}"))
            .await
    }

    /// Replaces the record of an upload.
    pub async fn put_upload(
        &self,
        skill_id: i64,
        key_id: &str,
        record: &UploadRecord,
    ) -> Result<(), StoreError> {
        self.put_body(campaign_pk(skill_id), format!("UPLOAD#{key_id}"), record)
            .await
    }

    /// The record of the upload `upload_id` of `skill_id` and its key id
    /// (upload ids are `upload-` and the first 16 hex digits of the key id).
    pub async fn find_upload(
        &self,
        skill_id: i64,
        upload_id: &str,
    ) -> Result<Option<(String, UploadRecord)>, StoreError> {
        let Some(prefix) = upload_id.strip_prefix("upload-") else {
            return Ok(None);
        };
        if prefix.len() != 16 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(campaign_pk(skill_id)))
            .expression_attribute_values(":prefix", s(format!("UPLOAD#{prefix}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("Query", &self.table, e))?;
        for item in out.items() {
            let (Some(sk), Some(body)) = (
                item.get("sk").and_then(|v| v.as_s().ok()),
                item.get("body").and_then(|v| v.as_s().ok()),
            ) else {
                continue;
            };
            let key_id = sk.trim_start_matches("UPLOAD#").to_owned();
            let record: UploadRecord =
                serde_json::from_str(body).map_err(|e| StoreError::corrupt(&self.table, e))?;
            if record.upload_id == upload_id {
                return Ok(Some((key_id, record)));
            }
        }
        Ok(None)
    }

    fn pending_sk(key_id: &str, slice: usize) -> String {
        format!("UPLOADROWS#{key_id}#{slice:04}")
    }

    /// Stores slice `slice` (from 1) of a queued upload's rows, with a TTL.
    pub async fn put_pending_rows(
        &self,
        skill_id: i64,
        key_id: &str,
        slice: usize,
        rows: &[Value],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let body = Value::Array(rows.to_vec()).to_string();
        let expires = now.timestamp() + PENDING_ROWS_TTL_DAYS * 86_400;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(campaign_pk(skill_id)))
            .item("sk", s(Self::pending_sk(key_id, slice)))
            .item("body", s(body))
            .item("ttl", AttributeValue::N(expires.to_string()))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("PutItem", &self.table, e))?;
        Ok(())
    }

    /// Slice `slice` of a queued upload's rows (`None` once deleted).
    pub async fn get_pending_rows(
        &self,
        skill_id: i64,
        key_id: &str,
        slice: usize,
    ) -> Result<Option<Vec<Value>>, StoreError> {
        self.get_body(campaign_pk(skill_id), Self::pending_sk(key_id, slice))
            .await
    }

    /// Deletes the stored rows of a queued upload's slices `1..=slices`.
    pub async fn delete_pending_rows(
        &self,
        skill_id: i64,
        key_id: &str,
        slices: usize,
    ) -> Result<(), StoreError> {
        for slice in 1..=slices {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(campaign_pk(skill_id)))
                .key("sk", s(Self::pending_sk(key_id, slice)))
                .send()
                .await
                .map_err(|e| StoreError::dynamo("DeleteItem", &self.table, e))?;
        }
        Ok(())
    }

    /// Writes `items` as chunked audit records `{action_prefix}.NNNN` of
    /// `template` (same campaign, time, actor and request id; `details` gets
    /// `items`, `chunk` and `chunks` added). Returns the number of chunks. A
    /// chunk already written (a retry) is kept as it was.
    pub async fn write_chunks(
        &self,
        template: &AuditRecord,
        action_prefix: &str,
        items: &[Value],
    ) -> Result<usize, StoreError> {
        let chunks = chunk_by_size(items, CHUNK_BYTES);
        let total = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut record = template.clone();
            record.action = format!("{action_prefix}.{:04}", i + 1);
            let mut details = match &template.details {
                Value::Object(map) => map.clone(),
                _ => serde_json::Map::new(),
            };
            details.insert("chunk".into(), Value::from(i + 1));
            details.insert("chunks".into(), Value::from(total));
            details.insert("items".into(), Value::Array(chunk));
            record.details = Value::Object(details);
            self.audit.append(&record).await?;
        }
        Ok(total)
    }

    /// The items of the chunks `{action_prefix}.NNNN` written for `skill_id`
    /// at `at` by `request_id`, in order.
    pub async fn read_chunks(
        &self,
        skill_id: i64,
        at: DateTime<Utc>,
        request_id: &str,
        action_prefix: &str,
    ) -> Result<Vec<Value>, StoreError> {
        let prefix = format!("{}#{request_id}#{action_prefix}.", time_key(at));
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.audit_table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(campaign_pk(skill_id)))
                .expression_attribute_values(":prefix", s(&prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", &self.audit_table, e))?;
            for item in out.items() {
                let mut item = item.clone();
                item.remove("pk");
                item.remove("sk");
                let record = AuditRecord::from_item(item)
                    .map_err(|e| StoreError::corrupt(&self.audit_table, e))?;
                if let Some(Value::Array(chunk)) = record.details.get("items") {
                    items.extend(chunk.iter().cloned());
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chunks_stay_under_the_limit_and_keep_order() {
        let items: Vec<Value> = (0..1000)
            .map(|i| json!({"n": i, "pad": "x".repeat(50)}))
            .collect();
        let chunks = chunk_by_size(&items, 4096);
        assert!(chunks.len() > 10);
        for chunk in &chunks {
            assert!(Value::Array(chunk.clone()).to_string().len() <= 4096);
        }
        let flat: Vec<Value> = chunks.into_iter().flatten().collect();
        assert_eq!(flat, items);
        assert!(chunk_by_size(&[], 10).is_empty());
    }

    #[test]
    fn key_ids_are_hex_digests() {
        assert_eq!(key_id("k").len(), 64);
        assert_ne!(key_id("a"), key_id("b"));
    }
}
