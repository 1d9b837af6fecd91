//! Signed event intake (`POST /webhooks/cxone`; docs/cxone-api.md, "Webhook
//! events into the bundle").
//!
//! - [`signature`]: the `X-Signature` header, parsed and checked (pure);
//! - [`event`]: the body, parsed and validated (pure);
//! - [`counts`]: what each event adds to its per-minute counter, and window sums;
//! - [`verifier`]: signature check against the bundle's secret, with a
//!   rate-limited re-read of the secret when nothing matches (rotation).
//!
//! Storage (dedupe and counters, exactly once) is [`crate::store::events`].

pub mod counts;
pub mod event;
pub mod signature;
pub mod verifier;

pub use counts::Counts;
pub use event::{parse_body, BodyError, Event, EventKind, Outcome, MAX_BODY_BYTES, MAX_EVENTS};
pub use signature::{
    sign, signature_header, SignatureError, SignatureHeader, SIGNATURE_HEADER, TOLERANCE_SECS,
};
pub use verifier::{Verified, VerifyError, WebhookVerifier, DEFAULT_MIN_REFRESH_INTERVAL};
