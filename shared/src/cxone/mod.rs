//! The NICE CXone REST client (see `docs/cxone-api.md`).
//!
//! - Authentication: OpenID discovery of the token endpoint, password grant
//!   with HTTP Basic client credentials, refresh ahead of expiry with a
//!   password-grant fallback, API host discovery through
//!   `cxone-configuration` (skipped when the secret sets `apiEndpoint`), and
//!   one re-read of the secret when CXone refuses the credentials (rotation).
//! - Every API call goes to `{api_endpoint}/inContactAPI/services/{version}/...`
//!   with a bearer token and `Accept: application/json`, a per-attempt
//!   timeout bounded by the invocation [`Deadline`](crate::deadline::Deadline),
//!   retries with jittered backoff on 429, 502, 503, 504, timeouts and
//!   connection errors (honouring `Retry-After`), never past the deadline,
//!   and one re-authentication on a 401.
//! - Not retried: other 4xx, and 500 (CXone's 500s are usually a request it
//!   cannot process, and a write that failed with 500 may have been applied;
//!   docs/cxone-api.md, "Errors and retries", lists only 502-504 as
//!   transient). Creations (skills, lists, uploads) are retried only when
//!   CXone surely did not act (429, 503, connection refused).
//! - 200 answers with per-item failures become [`CxoneError::ItemErrors`];
//!   lists are followed page by page to the end.
//!
//! Tokens and secrets never appear in `Debug` output, errors or logs.

mod auth;
mod client;
mod de;
mod error;
#[cfg(test)]
mod fuzz;
mod model;
mod ops;
mod settings;
#[cfg(test)]
mod tests;
mod transport;

pub use auth::tenant_id_from_jwt;
pub use client::CxoneClient;
pub use de::parse_duration_seconds;
pub use error::{BoxError, CxoneError, ItemError};
pub use model::{
    AgentState, CallListUpload, DaySchedule, DestinationMapping, DncGroup, GeneralSettings,
    GeneralSettingsPatch, NewCallList, NewSkill, ScheduleSettings, ScrubbedSkill, Skill,
    SkillActivity, SkillSummary, TimeZoneWindow, UploadJob,
};
pub use settings::{
    refresh_margin, ClientSettings, BACKOFF_JITTER, DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_REQUEST_TIMEOUT, MAX_REFRESH_MARGIN, MIN_ATTEMPT_TIME, PAGE_SIZE,
};
