//! Wire types of the admin API, shared by the server and [`crate::AdminClient`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared::engine::dialer::IntervalStats;

/// A fault to inject into non-admin requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// What the fault does.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many matching requests it hits (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Only requests whose path contains this string match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_contains: Option<String>,
    /// Only requests with this HTTP method (`"PUT"`, any case) match; absent: any method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// The kinds of fault (JSON `"kind"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FaultKind {
    /// 429, with `Retry-After` when `retryAfterSeconds` is given.
    #[serde(rename_all = "camelCase")]
    RateLimit {
        /// Seconds for the `Retry-After` header; absent means no header.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_seconds: Option<u64>,
    },
    /// A 500, 502, 503 or 504 answer.
    ServerError {
        /// The status (default 503).
        #[serde(default = "default_status")]
        status: u16,
    },
    /// The correct answer, `delayMs` late.
    #[serde(rename_all = "camelCase")]
    Slow {
        /// Delay in milliseconds.
        delay_ms: u64,
    },
    /// The request is carried out, then its answer is held back `delayMs`
    /// (past the client's timeout): a write that reached CXone although the
    /// caller never heard so.
    #[serde(rename_all = "camelCase")]
    AnswerLost {
        /// Delay in milliseconds after the request was carried out.
        delay_ms: u64,
    },
    /// Batch calls (`POST /skills`) answer 200 with `errorCount > 0` and a failed item.
    ItemErrors,
    /// 401 on an API call, and every token is revoked.
    Unauthorized,
    /// The token endpoint refuses (401 `invalid_client`).
    TokenError,
    /// After the `afterReads`-th GET of the skill's general settings has been
    /// answered, these fields change as if a person edited them.
    #[serde(rename_all = "camelCase")]
    PersonEdit {
        /// The skill.
        skill_id: i64,
        /// Fields to set.
        fields: Map<String, Value>,
        /// Reads to wait for (default 1).
        #[serde(default = "one")]
        after_reads: u32,
    },
    /// The next `count` webhook batches are posted twice (after the first
    /// delivery succeeded), to exercise the receiver's de-duplication.
    WebhookDuplicate,
    /// The next `count` calling-list uploads are accepted (a `jobId` is
    /// answered) but their jobs end cancelled, never complete: CXone could
    /// not load the file.
    UploadJobFails,
}

fn default_status() -> u16 {
    503
}
fn one() -> u32 {
    1
}

/// One logged non-admin request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestLog {
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string (empty when none).
    pub query: String,
    /// Status answered.
    pub status: u16,
    /// Real milliseconds since the simulator started, at arrival.
    pub at_ms: u64,
}

/// Ground-truth counters of a skill (one minute, or totals).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TruthCounters {
    /// Calls placed.
    pub dials: u64,
    /// Live answers.
    pub live_answers: u64,
    /// Live answers connected.
    pub connects: u64,
    /// Live answers abandoned.
    pub abandons: u64,
    /// Machine answers.
    pub machines: u64,
    /// Busy signals.
    pub busy: u64,
    /// No answers.
    pub no_answers: u64,
    /// Connected calls dispositioned success (at wrap end).
    pub successes: u64,
    /// Connected calls dispositioned failure (at wrap end).
    pub failures: u64,
    /// Agent-seconds talking.
    pub talk_seconds: f64,
    /// Agent-seconds in ACW.
    pub wrap_seconds: f64,
    /// Agent-seconds Available.
    pub idle_agent_seconds: f64,
    /// Agent-seconds staffed (Available or talking).
    pub staffed_agent_seconds: f64,
    /// Agent-seconds paused.
    pub unavailable_agent_seconds: f64,
    /// Agent-seconds logged in.
    pub logged_in_agent_seconds: f64,
    /// Talk seconds of calls that finished wrap.
    pub handled_talk_seconds: f64,
    /// Wrap seconds of calls that finished wrap.
    pub handled_wrap_seconds: f64,
    /// Dials placed outside 08:00-21:00 in the skill's time zone.
    pub dials_outside_legal_hours: u64,
}

impl TruthCounters {
    /// Adds dialler stats.
    pub fn add_stats(&mut self, s: &IntervalStats) {
        self.dials += s.dials;
        self.live_answers += s.live_answers;
        self.connects += s.connects;
        self.abandons += s.abandons;
        self.machines += s.machines;
        self.busy += s.busy;
        self.no_answers += s.no_answers;
        self.successes += s.successes;
        self.failures += s.failures;
        self.talk_seconds += s.talk_seconds;
        self.wrap_seconds += s.wrap_seconds;
        self.idle_agent_seconds += s.idle_agent_seconds;
        self.staffed_agent_seconds += s.staffed_agent_seconds;
        self.unavailable_agent_seconds += s.unavailable_agent_seconds;
        self.logged_in_agent_seconds += s.logged_in_agent_seconds;
        self.handled_talk_seconds += s.handled_talk_seconds;
        self.handled_wrap_seconds += s.handled_wrap_seconds;
    }

    /// Adds another set of counters.
    pub fn add(&mut self, o: &TruthCounters) {
        self.dials += o.dials;
        self.live_answers += o.live_answers;
        self.connects += o.connects;
        self.abandons += o.abandons;
        self.machines += o.machines;
        self.busy += o.busy;
        self.no_answers += o.no_answers;
        self.successes += o.successes;
        self.failures += o.failures;
        self.talk_seconds += o.talk_seconds;
        self.wrap_seconds += o.wrap_seconds;
        self.idle_agent_seconds += o.idle_agent_seconds;
        self.staffed_agent_seconds += o.staffed_agent_seconds;
        self.unavailable_agent_seconds += o.unavailable_agent_seconds;
        self.logged_in_agent_seconds += o.logged_in_agent_seconds;
        self.handled_talk_seconds += o.handled_talk_seconds;
        self.handled_wrap_seconds += o.handled_wrap_seconds;
        self.dials_outside_legal_hours += o.dials_outside_legal_hours;
    }
}

/// One simulated minute of a skill's ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TruthInterval {
    /// Minute start.
    pub start: DateTime<Utc>,
    /// Minute end.
    pub end: DateTime<Utc>,
    /// The counters.
    #[serde(flatten)]
    pub counters: TruthCounters,
    /// `maximumRatio` in force at the end of the minute.
    pub maximum_ratio: f64,
}

/// Ground truth over a range: per-minute intervals and their totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Truth {
    /// Minutes with activity or staffing, in order.
    pub intervals: Vec<TruthInterval>,
    /// Sum over the intervals.
    pub totals: TruthCounters,
}

/// One completed contact (as a later `contact.completed` webhook would carry it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactRecord {
    /// Unique contact id (`skillId * 1e9 + dial sequence`).
    pub contact_id: i64,
    /// The skill.
    pub skill_id: i64,
    /// `success`, `failure`, `abandoned`, `no_answer`, `machine` or `busy`.
    pub outcome: String,
    /// Talk seconds (0 unless connected).
    pub talk_seconds: f64,
    /// Wrap seconds (0 unless connected).
    pub wrap_seconds: f64,
    /// When the call was dialled (simulated time).
    pub dialed_at: DateTime<Utc>,
    /// When the contact completed (simulated time).
    pub occurred_at: DateTime<Utc>,
}
