//! Signed `contact.completed` webhooks for the calls the simulator completes.
//!
//! While a webhook is configured and enabled, every contact a skill completes
//! during a clock advance becomes a `contact.completed` event
//! (docs/cxone-api.md, "Webhook events into the bundle"):
//! `eventId = "sim-<skillId>-<contactId>"` (unique and stable: the same contact
//! always gets the same id), `occurredAt` = the simulated completion time,
//! `skillId`, and `data = {contactId, outcome, talkSeconds, wrapSeconds}`.
//! Events wait in an outbox in completion order.
//!
//! **When posting happens.** `POST /admin/clock/advance` first moves the world
//! to its target, then, before it answers, posts every batch that is due: a
//! full batch (`batchSize` events), or the rest of the outbox once its oldest
//! event is `maxBatchDelaySeconds` (simulated) old. Each batch is one
//! `{"events": [...]}` body (at most 500 events and 256 KiB; a batch that would
//! be larger is split) signed with `X-Signature: t=<T>,v1=<hex>` where `T` is
//! the **simulated** time of posting (the clock after the advance), so a
//! receiver that checks `t` against its request time must use the same
//! simulated clock. Advances are serialised, so the caller of an advance sees
//! the world and its deliveries consistent when the answer arrives.
//!
//! **At least once.** A batch answered with a non-2xx status, or not answered
//! within `timeoutMs`, is retried (same body, fresh signature) up to
//! `maxAttempts` times with a short real-time back-off; if it still fails, it
//! and every later batch stay at the head of the outbox and are tried again at
//! the next advance. The fault `webhookDuplicate` re-posts the next `count`
//! batches once more after they succeeded, to exercise de-duplication.
//!
//! **Switching.** The scenario's `webhook` block configures it at start;
//! `PUT /admin/webhook` replaces the configuration at run time, and
//! `DELETE /admin/webhook` removes it and discards the outbox. While disabled
//! (`"enabled": false`), completed contacts are not queued and nothing is
//! posted; queued events wait until it is enabled again.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::webhook::signature::signature_header;

use crate::model::ContactRecord;

/// Most events in one body (webhook-ingest's limit, docs/cxone-api.md).
pub const MAX_BATCH_EVENTS: usize = 500;
/// Largest body, in bytes (webhook-ingest's limit, docs/cxone-api.md).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Most events the outbox holds; beyond this the oldest are dropped (and counted).
pub const MAX_QUEUED_EVENTS: usize = 1_000_000;
/// Longest real-time back-off between two attempts of one batch.
const MAX_BACKOFF: Duration = Duration::from_millis(1_000);

/// Where and how to post events (scenario `webhook` block and `PUT /admin/webhook`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfig {
    /// The receiver's URL (`http` or `https`), e.g. `http://127.0.0.1:PORT/webhooks/cxone`.
    pub url: String,
    /// The HMAC secret the signature uses.
    pub secret: String,
    /// Whether events are queued and posted (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Events per batch, 1..=500 (default 100).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long (simulated seconds) a partial batch may wait for more events
    /// before it is posted anyway (default 0: everything is posted at each advance).
    #[serde(default)]
    pub max_batch_delay_seconds: u64,
    /// HTTP attempts per batch and advance, 1..=20 (default 5).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// Real-time limit of one HTTP attempt, milliseconds, 1..=60000 (default 5000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Only these skills' contacts are posted (default: every skill).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_ids: Option<Vec<i64>>,
    /// Only contacts with these outcomes are posted (default: every outcome),
    /// e.g. `["success", "failure", "abandoned"]`, the ones a success rate uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}
fn default_batch_size() -> usize {
    100
}
fn default_attempts() -> u32 {
    5
}
fn default_timeout_ms() -> u64 {
    5_000
}

impl WebhookConfig {
    /// A configuration with the defaults for everything but `url` and `secret`.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> WebhookConfig {
        WebhookConfig {
            url: url.into(),
            secret: secret.into(),
            enabled: true,
            batch_size: default_batch_size(),
            max_batch_delay_seconds: 0,
            max_attempts: default_attempts(),
            timeout_ms: default_timeout_ms(),
            skill_ids: None,
            outcomes: None,
        }
    }

    /// Checks the URL, the secret and the bounds.
    pub fn validate(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.url).map_err(|e| format!("webhook url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("webhook url must be http or https".into());
        }
        if self.secret.is_empty() {
            return Err("webhook secret must not be empty".into());
        }
        if !(1..=MAX_BATCH_EVENTS).contains(&self.batch_size) {
            return Err(format!(
                "webhook batchSize must be within 1..={MAX_BATCH_EVENTS}"
            ));
        }
        if self.max_batch_delay_seconds > 31 * 24 * 3600 {
            return Err("webhook maxBatchDelaySeconds must be at most 31 days".into());
        }
        if !(1..=20).contains(&self.max_attempts) {
            return Err("webhook maxAttempts must be within 1..=20".into());
        }
        if !(1..=60_000).contains(&self.timeout_ms) {
            return Err("webhook timeoutMs must be within 1..=60000".into());
        }
        const KNOWN: [&str; 6] = [
            "success",
            "failure",
            "abandoned",
            "no_answer",
            "machine",
            "busy",
        ];
        if let Some(o) = self
            .outcomes
            .iter()
            .flatten()
            .find(|o| !KNOWN.contains(&o.as_str()))
        {
            return Err(format!("webhook outcomes: unknown outcome {o:?}"));
        }
        Ok(())
    }

    /// Whether contacts of `skill_id` are posted.
    pub fn covers(&self, skill_id: i64) -> bool {
        self.skill_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&skill_id))
    }

    /// The configuration as `GET /admin/webhook` shows it (the secret redacted).
    pub fn redacted(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        if let Some(o) = v.as_object_mut() {
            o.insert("secret".into(), Value::String("***".into()));
        }
        v
    }
}

/// Delivery counters since the simulator started (`GET /admin/webhook`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookStats {
    /// Events put in the outbox.
    pub events_queued: u64,
    /// Events dropped because the outbox was full or the webhook was deleted.
    pub events_discarded: u64,
    /// Batches delivered (2xx), not counting re-posts.
    pub batches_delivered: u64,
    /// Events in delivered batches, not counting re-posts.
    pub events_delivered: u64,
    /// HTTP requests made (every attempt and re-post).
    pub requests: u64,
    /// Attempts after a batch's first (retries after a non-2xx or a timeout).
    pub retries: u64,
    /// Attempts answered non-2xx or not answered in time.
    pub failed_attempts: u64,
    /// Batches that used up their attempts and went back to the outbox.
    pub batches_requeued: u64,
    /// Batches posted a second time by the `webhookDuplicate` fault.
    pub batches_reposted: u64,
    /// Sum of `accepted` in the receiver's answers (when it reports one).
    pub accepted_reported: u64,
    /// Sum of `duplicates` in the receiver's answers (when it reports one).
    pub duplicates_reported: u64,
    /// Status of the last answer (0: none yet or no answer).
    pub last_status: u16,
    /// The last failure, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// One queued event.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// Simulated completion time (drives `maxBatchDelaySeconds`).
    pub occurred_at: DateTime<Utc>,
    /// The event object.
    pub event: Value,
}

impl PendingEvent {
    /// The `contact.completed` event of a completed contact.
    pub fn of_contact(c: &ContactRecord) -> PendingEvent {
        PendingEvent {
            occurred_at: c.occurred_at,
            event: json!({
                "eventId": event_id(c.skill_id, c.contact_id),
                "type": "contact.completed",
                "occurredAt": c.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "skillId": c.skill_id,
                "data": {
                    "contactId": c.contact_id.to_string(),
                    "outcome": c.outcome,
                    "talkSeconds": round3(c.talk_seconds),
                    "wrapSeconds": round3(c.wrap_seconds),
                }
            }),
        }
    }
}

fn round3(x: f64) -> f64 {
    if x.is_finite() {
        (x.max(0.0) * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

/// The stable event id of a contact: `sim-<skillId>-<contactId>`.
pub fn event_id(skill_id: i64, contact_id: i64) -> String {
    format!("sim-{skill_id}-{contact_id}")
}

/// One body to post.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The events (put back in the outbox if the batch cannot be delivered).
    pub events: Vec<PendingEvent>,
    /// The serialised `{"events": [...]}` body.
    pub body: Vec<u8>,
    /// Whether to post it a second time after it succeeded (`webhookDuplicate`).
    pub repost: bool,
}

/// The webhook's configuration, outbox and counters (part of the simulator state).
#[derive(Debug, Default)]
pub struct Webhook {
    /// The configuration, when one is set.
    pub config: Option<WebhookConfig>,
    /// Events waiting to be posted, oldest first.
    pub outbox: VecDeque<PendingEvent>,
    /// Delivery counters.
    pub stats: WebhookStats,
}

impl Webhook {
    /// Whether completed contacts of `skill_id` are queued now.
    pub fn wants(&self, skill_id: i64) -> bool {
        self.config
            .as_ref()
            .is_some_and(|c| c.enabled && c.covers(skill_id))
    }

    /// Queues a completed contact (when enabled for its skill and outcome).
    pub fn push_contact(&mut self, c: &ContactRecord) {
        let outcome_wanted = self
            .config
            .as_ref()
            .is_some_and(|cfg| cfg.outcomes.as_ref().is_none_or(|o| o.contains(&c.outcome)));
        if !self.wants(c.skill_id) || !outcome_wanted {
            return;
        }
        self.outbox.push_back(PendingEvent::of_contact(c));
        self.stats.events_queued += 1;
        while self.outbox.len() > MAX_QUEUED_EVENTS {
            self.outbox.pop_front();
            self.stats.events_discarded += 1;
        }
    }

    /// Replaces the configuration (queued events are kept).
    pub fn set_config(&mut self, config: WebhookConfig) {
        self.config = Some(config);
    }

    /// Removes the configuration and discards the outbox; returns how many
    /// events were discarded.
    pub fn clear(&mut self) -> usize {
        self.config = None;
        let n = self.outbox.len();
        self.outbox.clear();
        self.stats.events_discarded += n as u64;
        n
    }

    /// Takes the batches due at `now` (all queued ones when `flush`), with
    /// the configuration to post them with. `None` when disabled or unset.
    pub fn take_due(
        &mut self,
        now: DateTime<Utc>,
        flush: bool,
    ) -> Option<(WebhookConfig, Vec<Batch>)> {
        let cfg = self.config.clone().filter(|c| c.enabled)?;
        let size = cfg.batch_size.clamp(1, MAX_BATCH_EVENTS);
        let delay = chrono::Duration::seconds(
            i64::try_from(cfg.max_batch_delay_seconds).unwrap_or(i64::MAX / 2_000),
        );
        let mut batches = Vec::new();
        loop {
            let n = if self.outbox.len() >= size {
                size
            } else if !self.outbox.is_empty()
                && (flush
                    || self
                        .outbox
                        .front()
                        .is_some_and(|e| e.occurred_at + delay <= now))
            {
                self.outbox.len()
            } else {
                break;
            };
            let events: Vec<PendingEvent> = self.outbox.drain(..n).collect();
            split_into(events, &mut batches);
        }
        Some((cfg, batches))
    }

    /// Puts undelivered batches back at the head of the outbox, in order.
    pub fn requeue(&mut self, batches: Vec<Batch>) {
        for b in batches.into_iter().rev() {
            for e in b.events.into_iter().rev() {
                self.outbox.push_front(e);
            }
        }
    }
}

/// Serialises `events` as one body, halving until every body fits in
/// [`MAX_BODY_BYTES`].
fn split_into(events: Vec<PendingEvent>, out: &mut Vec<Batch>) {
    if events.is_empty() {
        return;
    }
    let body = body_of(&events);
    if body.len() <= MAX_BODY_BYTES || events.len() == 1 {
        out.push(Batch {
            events,
            body,
            repost: false,
        });
        return;
    }
    let mut first = events;
    let second = first.split_off(first.len() / 2);
    split_into(first, out);
    split_into(second, out);
}

fn body_of(events: &[PendingEvent]) -> Vec<u8> {
    let list: Vec<&Value> = events.iter().map(|e| &e.event).collect();
    serde_json::to_vec(&json!({ "events": list })).unwrap_or_default()
}

/// What one delivery run did (added to [`WebhookStats`] by the caller).
#[derive(Debug, Default)]
pub struct DeliveryReport {
    /// Counters of this run.
    pub stats: WebhookStats,
    /// Batches not delivered (to requeue).
    pub undelivered: Vec<Batch>,
}

impl WebhookStats {
    /// Adds a run's counters; the last status and error are taken over when set.
    pub fn absorb(&mut self, o: &WebhookStats) {
        self.events_queued += o.events_queued;
        self.events_discarded += o.events_discarded;
        self.batches_delivered += o.batches_delivered;
        self.events_delivered += o.events_delivered;
        self.requests += o.requests;
        self.retries += o.retries;
        self.failed_attempts += o.failed_attempts;
        self.batches_requeued += o.batches_requeued;
        self.batches_reposted += o.batches_reposted;
        self.accepted_reported += o.accepted_reported;
        self.duplicates_reported += o.duplicates_reported;
        if o.requests > 0 {
            self.last_status = o.last_status;
        }
        if o.last_error.is_some() {
            self.last_error = o.last_error.clone();
        }
    }
}

/// Posts `batches` in order, each signed at simulated time `at` (Unix
/// seconds). Stops at the first batch that uses up its attempts: it and the
/// rest are returned as undelivered.
pub async fn deliver(
    http: &reqwest::Client,
    cfg: &WebhookConfig,
    batches: Vec<Batch>,
    at: i64,
) -> DeliveryReport {
    let mut report = DeliveryReport::default();
    let mut it = batches.into_iter();
    while let Some(batch) = it.next() {
        if post_with_retries(http, cfg, &batch, at, &mut report.stats).await {
            report.stats.batches_delivered += 1;
            report.stats.events_delivered += batch.events.len() as u64;
            if batch.repost {
                report.stats.batches_reposted += 1;
                // A re-post is a duplicate delivery: its outcome does not matter.
                post_with_retries(http, cfg, &batch, at, &mut report.stats).await;
            }
        } else {
            report.stats.batches_requeued += 1;
            report.undelivered.push(batch);
            report.undelivered.extend(it);
            break;
        }
    }
    report
}

async fn post_with_retries(
    http: &reqwest::Client,
    cfg: &WebhookConfig,
    batch: &Batch,
    at: i64,
    stats: &mut WebhookStats,
) -> bool {
    let attempts = cfg.max_attempts.max(1);
    for attempt in 0..attempts {
        if attempt > 0 {
            stats.retries += 1;
            let backoff = Duration::from_millis(50u64.saturating_mul(1 << attempt.min(10)));
            tokio::time::sleep(backoff.min(MAX_BACKOFF)).await;
        }
        stats.requests += 1;
        let signature = signature_header(&[cfg.secret.as_str()], at, &batch.body);
        let sent = http
            .post(&cfg.url)
            .header("content-type", "application/json")
            .header("x-signature", signature)
            .header("user-agent", "cxone-sim-webhook/1")
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .body(batch.body.clone())
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let status = resp.status();
                stats.last_status = status.as_u16();
                let text = resp.text().await.unwrap_or_default();
                if status.is_success() {
                    if let Ok(v) = serde_json::from_str::<Value>(&text) {
                        stats.accepted_reported += v["accepted"].as_u64().unwrap_or(0);
                        stats.duplicates_reported += v["duplicates"].as_u64().unwrap_or(0);
                    }
                    return true;
                }
                stats.failed_attempts += 1;
                let mut snippet: String = text.chars().take(200).collect();
                if snippet.is_empty() {
                    snippet = status.to_string();
                }
                stats.last_error = Some(format!("HTTP {}: {snippet}", status.as_u16()));
            }
            Err(e) => {
                stats.last_status = 0;
                stats.failed_attempts += 1;
                stats.last_error = Some(if e.is_timeout() {
                    format!("no answer within {} ms", cfg.timeout_ms)
                } else {
                    format!("request failed: {e}")
                });
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(skill: i64, id: i64, secs: i64) -> ContactRecord {
        let t = DateTime::<Utc>::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default();
        ContactRecord {
            contact_id: id,
            skill_id: skill,
            outcome: "success".into(),
            talk_seconds: 12.3456,
            wrap_seconds: 4.0,
            dialed_at: t,
            occurred_at: t,
        }
    }

    #[test]
    fn batches_are_due_by_size_or_age() {
        let mut w = Webhook::default();
        let mut cfg = WebhookConfig::new("http://127.0.0.1:9/x", "s");
        cfg.batch_size = 3;
        cfg.max_batch_delay_seconds = 60;
        w.set_config(cfg);
        for i in 0..7 {
            w.push_contact(&contact(1, i, i));
        }
        let now = DateTime::<Utc>::from_timestamp(1_700_000_010, 0).unwrap_or_default();
        let (_, b) = w.take_due(now, false).unwrap_or_else(|| panic!("enabled"));
        assert_eq!(b.iter().map(|b| b.events.len()).collect::<Vec<_>>(), [3, 3]);
        assert_eq!(w.outbox.len(), 1);
        let later = now + chrono::Duration::seconds(120);
        let (_, b) = w
            .take_due(later, false)
            .unwrap_or_else(|| panic!("enabled"));
        assert_eq!(b.len(), 1);
        let ev: Value = serde_json::from_slice(&b[0].body).unwrap_or_default();
        assert_eq!(ev["events"][0]["eventId"], "sim-1-6");
        assert_eq!(ev["events"][0]["data"]["talkSeconds"], 12.346);
        w.requeue(b);
        assert_eq!(w.outbox.len(), 1);
    }

    #[test]
    fn disabled_or_filtered_queues_nothing() {
        let mut w = Webhook::default();
        w.push_contact(&contact(1, 1, 0));
        assert!(w.outbox.is_empty());
        let mut cfg = WebhookConfig::new("http://127.0.0.1:9/x", "s");
        cfg.skill_ids = Some(vec![2]);
        cfg.outcomes = Some(vec!["success".into()]);
        w.set_config(cfg);
        w.push_contact(&contact(1, 1, 0));
        w.push_contact(&contact(2, 1, 0));
        let mut busy = contact(2, 2, 0);
        busy.outcome = "busy".into();
        w.push_contact(&busy);
        assert_eq!(w.outbox.len(), 1);
        assert_eq!(w.clear(), 1);
    }

    #[test]
    fn big_batches_split_under_the_byte_limit() {
        let mut events = Vec::new();
        for i in 0..500 {
            let mut e = PendingEvent::of_contact(&contact(1, i, 0));
            e.event["data"]["pad"] = Value::String("x".repeat(1_000));
            events.push(e);
        }
        let mut out = Vec::new();
        split_into(events, &mut out);
        assert!(out.len() > 1);
        assert!(out.iter().all(|b| b.body.len() <= MAX_BODY_BYTES));
        assert_eq!(out.iter().map(|b| b.events.len()).sum::<usize>(), 500);
    }

    #[test]
    fn config_validation() {
        assert!(WebhookConfig::new("http://127.0.0.1:1/w", "s")
            .validate()
            .is_ok());
        assert!(WebhookConfig::new("ftp://x/w", "s").validate().is_err());
        assert!(WebhookConfig::new("http://x/w", "").validate().is_err());
        let mut c = WebhookConfig::new("http://x/w", "s");
        c.batch_size = 501;
        assert!(c.validate().is_err());
        let mut c = WebhookConfig::new("http://x/w", "s");
        c.outcomes = Some(vec!["won".into()]);
        assert!(c.validate().is_err());
    }
}
