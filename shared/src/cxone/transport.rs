//! One HTTP exchange with CXone: retries on throttling, outages and
//! timeouts, bounded by the invocation deadline, and the reading of
//! answers (bodies, error bodies, `Retry-After`).
//!
//! The lowest layer of the client: [`super::auth`] (tokens, discovery) and
//! [`super::client`] (API calls, paging) both send through [`Transport`],
//! and it uses neither of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::Value;
use tracing::{debug, warn};

use super::de::value_as_string;
use super::error::CxoneError;
use super::settings::{ClientSettings, MIN_ATTEMPT_TIME};
use crate::deadline::Deadline;
use crate::store::rate_budget::{BudgetError, RateBudget};

/// Longest error text kept from a CXone answer.
const MAX_MESSAGE_CHARS: usize = 500;

/// Which failures a request may be retried on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryPolicy {
    /// Reads, PUTs of settings, start/stop: retried on 429, 502, 503, 504,
    /// timeouts and connection errors.
    Idempotent,
    /// Creations (skills, lists, uploads): retried only when CXone surely did
    /// not act: 429, 503 and failures to connect. A timeout, 502 or 504 may
    /// hide a request that was applied, so it is reported, not repeated.
    NotIdempotent,
}

/// A CXone answer that the retry loop hands back (anything not retried).
#[derive(Debug)]
pub(crate) struct RawResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// The body as text.
    pub body: String,
}

/// The HTTP side of the client: its settings, the connection pool and the
/// count of retries.
pub(crate) struct Transport {
    /// The settings the client runs with.
    pub(crate) settings: ClientSettings,
    /// The connection pool (shared across warm invocations).
    pub(crate) http: reqwest::Client,
    retries: AtomicU64,
    /// The calls per second shared with every other invocation, when set.
    pub(crate) budget: OnceLock<Arc<RateBudget>>,
}

impl Transport {
    /// A transport over `http` with `settings`.
    pub(crate) fn new(settings: ClientSettings, http: reqwest::Client) -> Self {
        Self {
            settings,
            http,
            retries: AtomicU64::new(0),
            budget: OnceLock::new(),
        }
    }

    /// Retries performed since the transport was built.
    pub(crate) fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Counts one retry (a backoff retry or a re-authentication).
    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// One HTTP exchange with retries on throttling, outages and timeouts,
    /// bounded by `deadline`. `build` makes the request for a given
    /// per-attempt timeout. Any answer that is not retried (including 4xx)
    /// is returned for the caller to interpret.
    ///
    /// Per attempt: the time left bounds the attempt's timeout; the answer
    /// or the transport error is judged ([`Attempt`]); a retryable failure
    /// waits the backoff ([`Transport::backoff`]) when the deadline leaves
    /// room for another attempt.
    pub(crate) async fn execute<F>(
        &self,
        label: &str,
        policy: RetryPolicy,
        deadline: &Deadline,
        build: F,
    ) -> Result<RawResponse, CxoneError>
    where
        F: Fn(Duration) -> reqwest::RequestBuilder,
    {
        let mut number: u32 = 0;
        let mut last_cause: Option<CxoneError> = None;
        loop {
            number += 1;
            let remaining = deadline.remaining();
            if remaining.is_zero() {
                return Err(deadline_exceeded(label, last_cause));
            }
            let attempt = Attempt {
                label,
                policy,
                number,
                timeout: remaining.min(self.settings.request_timeout),
                limited_by_deadline: remaining < self.settings.request_timeout,
            };
            // Boxed: keeps the futures of every CXone call shallow.
            Box::pin(self.admit(label, deadline)).await?;
            let failure = match send(&build, attempt.timeout).await {
                Ok((raw, retry_after)) => attempt.judge_answer(raw, retry_after),
                Err(err) => attempt.judge_error(err),
            };
            let failure = match failure {
                Judged::Done(result) => return result,
                Judged::Retry(failure) => failure,
            };
            if failure.status == Some(429) {
                Box::pin(self.record_throttling(failure.retry_after)).await;
            }
            let Some(wait) = self.backoff(number, failure.retry_after) else {
                return Err(failure.cause);
            };
            if !deadline.allows(wait, MIN_ATTEMPT_TIME) {
                debug!(
                    path = label,
                    wait_ms = wait.as_millis() as u64,
                    "no time left for another CXone attempt"
                );
                return Err(deadline_exceeded(label, Some(failure.cause)));
            }
            warn!(
                path = label,
                status = failure.status.unwrap_or(0),
                attempt = number,
                wait_ms = wait.as_millis() as u64,
                cause = %failure.cause,
                "CXone call failed; retrying"
            );
            self.count_retry();
            tokio::time::sleep(wait).await;
            last_cause = Some(failure.cause);
        }
    }

    /// Waits for the call's place in the shared budget, if one is set. A
    /// budget that cannot be read lets the call through (CXone's own 429
    /// still protects the tenant); no room before the deadline is a
    /// [`CxoneError::RateLimited`] without any request sent.
    async fn admit(&self, label: &str, deadline: &Deadline) -> Result<(), CxoneError> {
        let Some(budget) = self.budget.get() else {
            return Ok(());
        };
        match budget.admit(deadline).await {
            Ok(admitted) => {
                if admitted.waited > Duration::from_millis(100) {
                    debug!(
                        path = label,
                        waited_ms = admitted.waited.as_millis() as u64,
                        "waited for the shared CXone call budget"
                    );
                }
                Ok(())
            }
            Err(BudgetError::NoTime { waited_ms }) => {
                warn!(
                    path = label,
                    waited_ms, "no CXone call budget before the deadline"
                );
                Err(CxoneError::RateLimited {
                    path: label.to_owned(),
                    attempts: 0,
                    retry_after: None,
                })
            }
            Err(BudgetError::Store(e)) => {
                warn!(path = label, error = %e, "the shared CXone call budget could not be read; calling anyway");
                Ok(())
            }
        }
    }

    /// Tells every invocation sharing the budget that CXone answered 429:
    /// they all hold back until its `Retry-After` (1 s when it gave none).
    async fn record_throttling(&self, retry_after: Option<Duration>) {
        if let Some(budget) = self.budget.get() {
            let wait = retry_after.unwrap_or(Duration::from_secs(1));
            if let Err(e) = budget.throttled(wait).await {
                warn!(error = %e, "could not record CXone's 429 in the shared budget");
            }
        }
    }

    /// The wait before retrying after attempt `number` (1-based): CXone's
    /// `Retry-After` (bounded, jittered) while retries remain, else the
    /// jittered backoff; `None` when the retries are used up.
    fn backoff(&self, number: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let retry_index = (number - 1) as usize;
        let mut rng = rand::rng();
        match retry_after {
            Some(ra) if retry_index < self.settings.retry_backoff.len() => {
                Some(self.settings.retry_after_wait(ra, &mut rng))
            }
            _ => self.settings.backoff(retry_index, &mut rng),
        }
    }
}

/// Sends the request built for `timeout` and reads its answer: status,
/// `Retry-After` and body.
async fn send<F>(
    build: &F,
    timeout: Duration,
) -> Result<(RawResponse, Option<Duration>), reqwest::Error>
where
    F: Fn(Duration) -> reqwest::RequestBuilder,
{
    let response = build(timeout).send().await?;
    let status = response.status();
    let retry_after = parse_retry_after(response.headers());
    let body = response.text().await?;
    Ok((RawResponse { status, body }, retry_after))
}

/// One attempt of an exchange, as its outcome is judged.
struct Attempt<'a> {
    /// The call's label (its path) for errors and logs.
    label: &'a str,
    /// Which failures may be retried.
    policy: RetryPolicy,
    /// The attempt's number, from 1.
    number: u32,
    /// The attempt's timeout.
    timeout: Duration,
    /// The timeout was cut short by the invocation deadline.
    limited_by_deadline: bool,
}

/// What an attempt came to.
enum Judged {
    /// Handed back to the caller as it is: an answer that is not retried,
    /// or a failure that may not be retried.
    Done(Result<RawResponse, CxoneError>),
    /// A failure that may be retried.
    Retry(Failure),
}

/// A retryable failure of one attempt.
struct Failure {
    /// What went wrong (the error if no retry follows).
    cause: CxoneError,
    /// CXone's `Retry-After`, if it sent one.
    retry_after: Option<Duration>,
    /// The HTTP status, when CXone answered.
    status: Option<u16>,
}

impl Attempt<'_> {
    /// An answer: 429 and 503 are retried, 502 and 504 only for idempotent
    /// requests; anything else is the caller's.
    fn judge_answer(&self, raw: RawResponse, retry_after: Option<Duration>) -> Judged {
        let code = raw.status.as_u16();
        let retryable = match code {
            429 | 503 => true,
            502 | 504 => self.policy == RetryPolicy::Idempotent,
            _ => false,
        };
        if !retryable {
            return Judged::Done(Ok(raw));
        }
        let cause = if code == 429 {
            CxoneError::RateLimited {
                path: self.label.to_owned(),
                attempts: self.number,
                retry_after,
            }
        } else {
            CxoneError::Unavailable {
                path: self.label.to_owned(),
                status: code,
                attempts: self.number,
                message: error_message(raw.status, &raw.body),
            }
        };
        Judged::Retry(Failure {
            cause,
            retry_after,
            status: Some(code),
        })
    }

    /// A transport error: a timeout is retried for idempotent requests (the
    /// deadline's own timeout ends the call); a failure to connect always,
    /// any other only for idempotent requests.
    fn judge_error(&self, err: reqwest::Error) -> Judged {
        let err = err.without_url();
        let cause = if err.is_timeout() {
            let cause = CxoneError::Timeout {
                path: self.label.to_owned(),
                attempts: self.number,
                timeout: self.timeout,
            };
            if self.limited_by_deadline {
                return Judged::Done(Err(deadline_exceeded(self.label, Some(cause))));
            }
            if self.policy == RetryPolicy::NotIdempotent {
                return Judged::Done(Err(cause));
            }
            cause
        } else {
            let connect = err.is_connect();
            let cause = CxoneError::Transport {
                path: self.label.to_owned(),
                source: err,
            };
            if !connect && self.policy == RetryPolicy::NotIdempotent {
                return Judged::Done(Err(cause));
            }
            cause
        };
        Judged::Retry(Failure {
            cause,
            retry_after: None,
            status: None,
        })
    }
}

/// The error for a call that ran out of time, with the last failure seen.
pub(crate) fn deadline_exceeded(label: &str, last_cause: Option<CxoneError>) -> CxoneError {
    CxoneError::DeadlineExceeded {
        path: label.to_owned(),
        last_cause: last_cause.map(Box::new),
    }
}

/// `Retry-After` as seconds (integer or decimal) or an HTTP date.
pub(crate) fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Some(Duration::from_secs_f64(seconds.min(86_400.0)));
        }
        return None;
    }
    let when = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(
        delta
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(86_400)),
    )
}

/// Parses a 2xx body as JSON (an empty body is `null`).
pub(crate) fn parse_body(path: &str, body: &str) -> Result<Value, CxoneError> {
    if body.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(body).map_err(|source| CxoneError::Decode {
        path: path.to_owned(),
        source,
    })
}

/// The fields of a CXone error body.
#[derive(Debug, Default)]
pub(crate) struct ErrorBody {
    pub error: Option<String>,
    pub description: Option<String>,
    pub message: Option<String>,
    pub code: Option<String>,
    pub correlation_id: Option<String>,
}

impl ErrorBody {
    /// Reads `{error, error_description | errorDescription, message, code,
    /// correlationId}`; a body that is not a JSON object gives an empty one.
    pub(crate) fn parse(body: &str) -> Self {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
            return Self::default();
        };
        let field = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| map.get(*n).and_then(value_as_string))
                .map(|s| truncate(s.trim()))
                .filter(|s| !s.is_empty())
        };
        Self {
            error: field(&["error"]),
            description: field(&["error_description", "errorDescription"]),
            message: field(&["message", "Message"]),
            code: field(&["code", "errorCode"]),
            correlation_id: field(&["correlationId", "correlationID", "correlation_id"]),
        }
    }
}

/// `text`, cut to [`MAX_MESSAGE_CHARS`] characters (with an ellipsis).
pub(crate) fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
        cut.push('…');
        cut
    }
}

/// A human message for an error answer: CXone's description or message,
/// else the status text.
pub(crate) fn error_message(status: StatusCode, body: &str) -> String {
    let parsed = ErrorBody::parse(body);
    parsed
        .description
        .or(parsed.message)
        .or(parsed.error)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h), None);
        assert_eq!(parse_retry_after(&HeaderMap::new()), None);
    }
}
