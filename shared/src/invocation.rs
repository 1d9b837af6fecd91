//! What a handler knows about the invocation it serves.

use crate::deadline::Deadline;

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
