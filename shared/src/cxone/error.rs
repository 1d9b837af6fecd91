//! What can go wrong when talking to CXone.

use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

use crate::secret::SecretError;

/// A boxed error used as the cause of discovery and auth failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One failed item of a batch call that CXone answered with HTTP 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemError {
    /// Position of the item in the request (and in `...Results[]`), when known.
    pub index: Option<usize>,
    /// CXone's error text for this item.
    pub error: String,
}

/// A failure of the CXone client.
///
/// No variant ever holds a token, a secret or a request body; URLs are
/// stripped from transport errors (they could hold phone numbers in the
/// query string) and the request is named by its path instead.
#[derive(Debug, Error)]
pub enum CxoneError {
    /// The client could not be built from its settings.
    #[error("CXone client settings are invalid: {message}")]
    InvalidSettings {
        /// What is wrong.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// OpenID or `cxone-configuration` discovery failed (bad answer or refusal).
    #[error("CXone discovery failed ({document}): {message}")]
    Discovery {
        /// Which document: `openid-configuration` or `cxone-configuration`.
        document: &'static str,
        /// What went wrong.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// CXone refused to issue a token (also after re-reading the secret).
    #[error("CXone authentication failed: {message}")]
    Auth {
        /// HTTP status of the token endpoint's answer, if it answered.
        status: Option<u16>,
        /// The OAuth `error` code, if any (`invalid_grant`, ...).
        error: Option<String>,
        /// What went wrong (CXone's `errorDescription` when given).
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// CXone answered an API call with an error status that is not retried.
    #[error("CXone {method} {path} failed with HTTP {status}{}: {message}{}",
        code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(),
        correlation_id.as_deref().map(|c| format!(" [correlationId {c}]")).unwrap_or_default())]
    Api {
        /// HTTP method.
        method: String,
        /// HTTP status.
        status: u16,
        /// API path relative to `/inContactAPI/services/{version}/`, without query.
        path: String,
        /// CXone's `code` or `error` field.
        code: Option<String>,
        /// CXone's `error_description` or `message` (or the status text).
        message: String,
        /// CXone's `correlationId`, for support cases.
        correlation_id: Option<String>,
    },
    /// CXone answered 404, or an answer held no record where one was required.
    #[error("CXone {path}: not found: {message}")]
    NotFound {
        /// API path.
        path: String,
        /// CXone's message, or what was missing.
        message: String,
    },
    /// CXone refused a schedule-settings write with `InvalidParameter`. Live
    /// CXone does so unless all seven days are active with non-empty windows.
    #[error(
        "CXone refused the calling schedule for {path} (InvalidParameter): {message} \
             (CXone accepts a schedule only when all 7 days are active with non-empty windows)"
    )]
    ScheduleRefused {
        /// API path.
        path: String,
        /// CXone's message.
        message: String,
        /// CXone's `correlationId`.
        correlation_id: Option<String>,
    },
    /// Still throttled (HTTP 429) after every retry.
    #[error("CXone {path}: rate limited (HTTP 429) after {attempts} attempts{}",
        retry_after.map(|d| format!(", last Retry-After {} s", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        /// API path (or discovery/token label).
        path: String,
        /// Attempts made.
        attempts: u32,
        /// The last `Retry-After`, if CXone sent one.
        retry_after: Option<Duration>,
    },
    /// Still unavailable (HTTP 502, 503 or 504) after every retry.
    #[error("CXone {path}: unavailable (HTTP {status}) after {attempts} attempts: {message}")]
    Unavailable {
        /// API path (or discovery/token label).
        path: String,
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// CXone's message or the status text.
        message: String,
    },
    /// No answer within the per-request timeout, after every retry.
    #[error("CXone {path}: no answer within {} ms after {attempts} attempts", timeout.as_millis())]
    Timeout {
        /// API path (or discovery/token label).
        path: String,
        /// Attempts made.
        attempts: u32,
        /// The per-attempt timeout.
        timeout: Duration,
    },
    /// The invocation deadline came before the call could succeed.
    #[error("CXone {path}: invocation deadline reached before the call succeeded; last cause: {}",
        last_cause.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "none (no attempt could be made)".into()))]
    DeadlineExceeded {
        /// API path (or discovery/token label).
        path: String,
        /// The failure that was being retried when time ran out.
        #[source]
        last_cause: Option<Box<CxoneError>>,
    },
    /// CXone answered 200 but reported failed items.
    #[error("CXone {path}: {count} item(s) failed: {}",
        errors.iter().map(|e| e.error.as_str()).collect::<Vec<_>>().join("; "))]
    ItemErrors {
        /// API path.
        path: String,
        /// `errorCount` (or the number of failed items).
        count: u64,
        /// The failed items.
        errors: Vec<ItemError>,
    },
    /// CXone's answer was valid JSON but not what `docs/cxone-api.md` describes
    /// (a required record missing, paging that never ends...).
    #[error("CXone {path}: unexpected answer: {message}")]
    Unexpected {
        /// API path.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// CXone's answer could not be read as the expected JSON.
    #[error("CXone {path}: unexpected answer: {source}")]
    Decode {
        /// API path (or discovery/token label).
        path: String,
        /// The JSON error (it names positions and types, not values).
        #[source]
        source: serde_json::Error,
    },
    /// The HTTP exchange itself failed (connection refused, reset, TLS...).
    #[error("CXone {path}: transport error: {source}")]
    Transport {
        /// API path (or discovery/token label).
        path: String,
        /// reqwest's error, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// The bundle's secret could not be read.
    #[error("could not read the CXone credentials: {0}")]
    Secret(#[from] SecretError),
    /// A write the client refuses to send because it would make the skill
    /// dial unlawfully (for example a ring time under 15 seconds).
    #[error("refused before sending to {path}: {message}")]
    Unlawful {
        /// The path the write was for.
        path: String,
        /// Which rule it breaks.
        message: String,
    },
}

impl CxoneError {
    /// Whether trying the same operation again later (another invocation)
    /// may succeed: throttling, outages, timeouts, transport failures and a
    /// deadline that ran out. Refusals (4xx, item errors, bad answers) are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            CxoneError::RateLimited { .. }
            | CxoneError::Unavailable { .. }
            | CxoneError::Timeout { .. }
            | CxoneError::Transport { .. }
            | CxoneError::DeadlineExceeded { .. } => true,
            CxoneError::Api { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            CxoneError::Secret(SecretError::Unavailable { .. }) => true,
            _ => false,
        }
    }

    /// The HTTP status behind this error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            CxoneError::Api { status, .. } | CxoneError::Unavailable { status, .. } => {
                Some(*status)
            }
            CxoneError::Auth { status, .. } => *status,
            CxoneError::RateLimited { .. } => Some(429),
            CxoneError::NotFound { .. } => Some(404),
            CxoneError::ScheduleRefused { .. } => Some(400),
            _ => None,
        }
    }

    /// Whether this is a 404 / missing record.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CxoneError::NotFound { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_error_names_last_cause() {
        let e = CxoneError::DeadlineExceeded {
            path: "skills/1/activity".into(),
            last_cause: Some(Box::new(CxoneError::RateLimited {
                path: "skills/1/activity".into(),
                attempts: 2,
                retry_after: Some(Duration::from_secs(5)),
            })),
        };
        let text = e.to_string();
        assert!(text.contains("deadline"), "{text}");
        assert!(text.contains("429"), "{text}");
        assert!(e.is_retryable());
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn refusals_are_not_retryable() {
        let e = CxoneError::Api {
            method: "GET".into(),
            status: 400,
            path: "skills/1".into(),
            code: Some("InvalidParameter".into()),
            message: "bad".into(),
            correlation_id: Some("c-1".into()),
        };
        assert!(!e.is_retryable());
        let text = e.to_string();
        assert!(
            text.contains("InvalidParameter") && text.contains("c-1"),
            "{text}"
        );
        let e = CxoneError::ItemErrors {
            path: "skills".into(),
            count: 1,
            errors: vec![ItemError {
                index: Some(0),
                error: "Duplicate name".into(),
            }],
        };
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("Duplicate name"));
    }
}
