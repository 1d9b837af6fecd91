//! What a handler knows about the invocation it serves, and the scheduled
//! EventBridge event that starts the periodic functions.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::deadline::Deadline;

/// The longest EventBridge event id accepted.
pub const MAX_EVENT_ID_CHARS: usize = 256;

/// The invocation's identity and time budget, independent of the Lambda crates.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The Lambda request id (every log line and audit record carries it).
    pub request_id: String,
    /// When the invocation must have answered.
    pub deadline: Deadline,
}

impl Invocation {
    /// An invocation with this id and deadline.
    pub fn new(request_id: impl Into<String>, deadline: Deadline) -> Self {
        Self {
            request_id: request_id.into(),
            deadline,
        }
    }

    /// The time budget Lambda gives an invocation, from its context
    /// (`request_id`, `deadline` in Unix ms).
    pub fn from_lambda(request_id: &str, deadline_epoch_ms: u64) -> Self {
        Self::new(request_id, Deadline::from_epoch_ms(deadline_epoch_ms))
    }
}

/// A scheduled event that cannot be used, and why (naming the field).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadEvent(pub String);

/// The parts of an EventBridge scheduled event the periodic functions use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tick {
    /// EventBridge event id (the idempotency key).
    pub event_id: String,
    /// The event's time: every decision is made as of this moment.
    pub time: DateTime<Utc>,
}

impl Tick {
    /// Parses an EventBridge scheduled event, naming what is missing or wrong.
    pub fn from_event(event: &Value) -> Result<Self, BadEvent> {
        let bad = |m: String| Err(BadEvent(m));
        if !event.is_object() {
            return bad("the event is not a JSON object".into());
        }
        let event_id = match event.get("id") {
            None | Some(Value::Null) => return bad("missing field `id`".into()),
            Some(Value::String(s))
                if !s.trim().is_empty() && s.chars().count() <= MAX_EVENT_ID_CHARS =>
            {
                s.clone()
            }
            Some(_) => {
                return bad(format!(
                "field `id` must be a non-empty string of at most {MAX_EVENT_ID_CHARS} characters"
            ))
            }
        };
        let time = match event.get("time") {
            None | Some(Value::Null) => return bad("missing field `time`".into()),
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
                .map_err(|e| BadEvent(format!("field `time` is not RFC 3339: {e}")))?
                .with_timezone(&Utc),
            Some(_) => return bad("field `time` must be an RFC 3339 string".into()),
        };
        Ok(Self { event_id, time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scheduled_events_are_parsed_strictly() {
        for (bad, needle) in [
            (json!(null), "JSON object"),
            (json!([1]), "JSON object"),
            (json!({"time": "2026-01-01T00:00:00Z"}), "`id`"),
            (json!({"id": 7, "time": "2026-01-01T00:00:00Z"}), "`id`"),
            (json!({"id": " ", "time": "2026-01-01T00:00:00Z"}), "`id`"),
            (
                json!({"id": "x".repeat(300), "time": "2026-01-01T00:00:00Z"}),
                "`id`",
            ),
            (json!({"id": "a"}), "`time`"),
            (json!({"id": "a", "time": 17}), "`time`"),
            (json!({"id": "a", "time": "yesterday"}), "`time`"),
        ] {
            let err = Tick::from_event(&bad).unwrap_err();
            assert!(err.to_string().contains(needle), "{bad}: {err}");
        }
        let tick =
            Tick::from_event(&json!({"id": "a", "time": "2026-03-10T14:05:00+01:00"})).unwrap();
        assert_eq!(tick.time.to_rfc3339(), "2026-03-10T13:05:00+00:00");
    }
}
