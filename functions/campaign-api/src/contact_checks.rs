//! The checks of a contact upload that need I/O, and their record.
//!
//! After the pure rules ([`crate::screening::screen`]), each candidate of a
//! state that caps calls per 24 hours is counted against the webhook's
//! per-number attempt counters, then every remaining number is searched in
//! CXone's DNC lists ([`DNC_CONCURRENCY`] at a time, at most
//! [`DNC_PER_SECOND`] a second; CXone's 429 and its `Retry-After` are
//! honoured by the client's retries). The accepted contacts' consent
//! evidence and the rejected rows are then appended to the audit trail in
//! chunks ([`IntakeStore::write_chunks`]) before anything is uploaded.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use shared::api_error::ApiError;
use shared::cxone::CxoneError;
use shared::deadline::Deadline;
use shared::store::audit::AuditRecord;
use shared::store::intake::{IntakeStore, EVIDENCE_ACTION, REJECTED_ACTION};

use crate::api::{cxone_error, storage_error, Api};
use crate::screening::{attempts_rejection, dnc_rejection, Candidate, Rejection};

/// DNC searches in flight at once.
pub const DNC_CONCURRENCY: usize = 16;
/// DNC searches started per second at most.
pub const DNC_PER_SECOND: u32 = 400;
/// Per-number attempt reads in flight at once.
pub const ATTEMPT_READS: usize = 16;

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

/// What screening decided for a set of rows.
#[derive(Debug, Default)]
pub struct Screened {
    /// The accepted contacts' evidence ([`Candidate::evidence`]).
    pub accepted: Vec<Value>,
    /// The rejected rows, in row order.
    pub rejections: Vec<Rejection>,
}

impl Screened {
    /// The rejections as JSON.
    pub fn rejections_json(&self) -> Vec<Value> {
        self.rejections.iter().map(|r| json!(r)).collect()
    }
}

/// Where one batch of screening results goes in the audit trail.
pub struct EvidenceTarget<'a> {
    /// The campaign.
    pub skill_id: i64,
    /// The screening time (every chunk of an upload has it).
    pub at: DateTime<Utc>,
    /// Who uploaded.
    pub actor: &'a str,
    /// The upload id (the chunks' request id).
    pub upload_id: &'a str,
    /// The DNC groups searched.
    pub dnc_groups: &'a [Value],
    /// Appended to the action prefixes (`""`, or `.s0001` for a slice).
    pub part: String,
}

/// How many chunks one batch took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkCounts {
    /// `contacts.evidence...` chunks.
    pub evidence: usize,
    /// `contacts.rejected...` chunks.
    pub rejected: usize,
}

/// A CXone failure during screening, saying that nothing was uploaded.
pub fn throttled_or_failed(what: &str, e: &CxoneError) -> ApiError {
    let mut error = cxone_error(what, e);
    error.message = format!(
        "{}; nothing was uploaded; retry with the same Idempotency-Key",
        error.message
    );
    error
}

/// Rejections counted per reason code.
pub fn count_by_reason(rejections: &[Rejection]) -> BTreeMap<String, usize> {
    let mut by_reason = BTreeMap::new();
    for r in rejections {
        *by_reason
            .entry(r.reason.code().to_owned())
            .or_insert(0usize) += 1;
    }
    by_reason
}

/// Rejected rows (as JSON) counted per reason code.
pub fn count_json_by_reason(rejections: &[Value]) -> BTreeMap<String, usize> {
    let mut by_reason = BTreeMap::new();
    for r in rejections {
        let code = r.get("reason").and_then(Value::as_str).unwrap_or("unknown");
        *by_reason.entry(code.to_owned()).or_insert(0usize) += 1;
    }
    by_reason
}

impl Api {
    /// Counts capped states' attempts and searches the DNC lists for
    /// `candidates`; `rejections` (the pure rules') gain the new ones.
    pub(crate) async fn check_candidates(
        &self,
        candidates: Vec<Candidate>,
        mut rejections: Vec<Rejection>,
        now: DateTime<Utc>,
        deadline: &Deadline,
    ) -> Result<Screened, ApiError> {
        let to_search = self
            .count_attempts(candidates, now, &mut rejections)
            .await?;
        let searched = self.search_dnc(to_search, deadline).await?;
        let mut accepted = Vec::new();
        for (c, hits) in searched {
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

    /// The candidates whose state's cap on calls per 24 hours is not reached
    /// (the others join `rejections`).
    async fn count_attempts(
        &self,
        candidates: Vec<Candidate>,
        now: DateTime<Utc>,
        rejections: &mut Vec<Rejection>,
    ) -> Result<Vec<Candidate>, ApiError> {
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
        Ok(to_search)
    }

    /// Each candidate with CXone's DNC search results for its number.
    async fn search_dnc(
        &self,
        candidates: Vec<Candidate>,
        deadline: &Deadline,
    ) -> Result<Vec<(Candidate, Vec<Value>)>, ApiError> {
        let pacer = Arc::new(Pacer::new(DNC_PER_SECOND));
        let searched: Vec<Result<(Candidate, Vec<Value>), ApiError>> = stream::iter(candidates)
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
        searched.into_iter().collect()
    }

    /// The effective DNC groups the numbers are searched against.
    pub(crate) async fn dnc_groups_searched(&self) -> Result<Vec<Value>, ApiError> {
        self.cxone
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
            .map_err(|e| throttled_or_failed("reading the DNC groups searched", &e))
    }
}

/// Appends `accepted` (consent evidence) and `rejected` rows to the audit
/// trail as chunks of `target` (a chunk written before is kept as it was).
pub async fn record_evidence(
    intake: &IntakeStore,
    target: &EvidenceTarget<'_>,
    accepted: &[Value],
    rejected: &[Value],
) -> Result<ChunkCounts, ApiError> {
    let template = AuditRecord {
        skill_id: target.skill_id,
        at: target.at,
        actor: target.actor.to_owned(),
        action: String::new(),
        before: Value::Null,
        after: Value::Null,
        why: "contacts screened for upload: consent, number, duplicates, recipients, state \
              bans, calls per 24 h, DNC lists"
            .into(),
        outcome: "accepted".into(),
        request_id: target.upload_id.to_owned(),
        details: json!({
            "uploadId": target.upload_id,
            "checkedAt": target.at,
            "dncGroups": target.dnc_groups,
            "dncSearch": "POST dnc-groups/search per number, every list of the business unit",
            "attemptsFrom": "contact.completed webhook events per phoneNumber, last 24 hours",
        }),
    };
    let evidence = intake
        .write_chunks(
            &template,
            &format!("{EVIDENCE_ACTION}{}", target.part),
            accepted,
        )
        .await
        .map_err(|e| storage_error("record the consent evidence", &e))?;
    let mut rejected_template = template;
    rejected_template.outcome = "rejected".into();
    rejected_template.why = "contacts rejected, each with its reason".into();
    let rejected_chunks = intake
        .write_chunks(
            &rejected_template,
            &format!("{REJECTED_ACTION}{}", target.part),
            rejected,
        )
        .await
        .map_err(|e| storage_error("record the rejected rows", &e))?;
    Ok(ChunkCounts {
        evidence,
        rejected: rejected_chunks,
    })
}
