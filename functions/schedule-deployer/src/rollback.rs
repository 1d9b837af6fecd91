//! Undoing a half-written schedule.
//!
//! A deployment is two CXone writes (`schedule-settings`, then `time-zones`)
//! and two reads back. When anything after the first write fails, CXone may
//! hold the new schedule with the old per-zone windows (or the reverse): half
//! a schedule, which neither the law check nor the operator approved. The
//! deployer then writes back what it read before the change and reads both
//! back again, so that the answer and the audit record say exactly what CXone
//! holds: everything as before ([`RollbackReport::rolled_back`]), or, per
//! part, what is left.

use serde::Serialize;
use serde_json::{json, Value};
use tracing::{info, warn};

use shared::api_error::ApiError;
use shared::cxone::{CxoneClient, CxoneError, ScheduleSettings, TimeZoneWindow};
use shared::deadline::Deadline;

/// Both parts of a skill's calling schedule in CXone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// `schedule-settings`.
    pub schedule_settings: ScheduleSettings,
    /// `time-zones` (written as `standardName`, read from `name`).
    pub time_zones: Vec<TimeZoneWindow>,
}

/// Which writes of a failed deployment may have reached CXone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Touched {
    /// None: CXone refused the first write outright, nothing changed.
    Nothing,
    /// The schedule settings (their write failed in a way that may still
    /// have applied it, e.g. a timeout or a 5xx); the zones were never sent.
    Schedule,
    /// The schedule settings were written, and the zones were sent or written.
    Both,
}

impl Touched {
    /// What a failed write of the schedule settings may have changed: nothing
    /// when CXone refused it (4xx, throttled every time, never sent), else
    /// possibly the schedule (no answer, a server error, an unreadable answer).
    pub fn by_failed_schedule_write(e: &CxoneError) -> Touched {
        let may_have_applied = match e {
            CxoneError::Api { status, .. } => *status >= 500,
            CxoneError::Unavailable { .. }
            | CxoneError::Timeout { .. }
            | CxoneError::Transport { .. }
            | CxoneError::Decode { .. }
            | CxoneError::Unexpected { .. } => true,
            CxoneError::DeadlineExceeded { last_cause, .. } => last_cause.is_some(),
            _ => false,
        };
        if may_have_applied {
            Touched::Schedule
        } else {
            Touched::Nothing
        }
    }
}

/// What one part holds after the rollback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PartState {
    /// Read back equal to what it held before the request.
    Restored,
    /// Read back equal to what this request wrote.
    New,
    /// Read back as something else (a concurrent edit, or CXone changed it).
    Other,
    /// Could not be read back.
    Unknown,
    /// Never written by this request, so left as it was.
    Untouched,
}

/// One part's outcome: its state, what it holds, and what failed on the way.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartReport {
    /// What it holds now, in short.
    pub state: PartState,
    /// What it holds, as read back (absent when not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holds: Option<Value>,
    /// Why writing the old value back failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_back_error: Option<String>,
    /// Why reading it back failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_back_error: Option<String>,
}

impl PartReport {
    fn untouched() -> Self {
        PartReport {
            state: PartState::Untouched,
            holds: None,
            write_back_error: None,
            read_back_error: None,
        }
    }

    fn is_as_before(&self) -> bool {
        matches!(self.state, PartState::Restored | PartState::Untouched)
    }

    /// The part's state in words.
    pub fn describe(&self) -> String {
        let state = match (self.state, &self.read_back_error) {
            (PartState::Restored, _) => "as before this request".to_owned(),
            (PartState::Untouched, _) => "as before this request (never written)".to_owned(),
            (PartState::New, _) => "the new settings of this request".to_owned(),
            (PartState::Other, _) => {
                "neither what it held before nor what this request wrote (see details)".to_owned()
            }
            (PartState::Unknown, Some(e)) => format!("unknown: could not be read back ({e})"),
            (PartState::Unknown, None) => "unknown: could not be read back".to_owned(),
        };
        match (&self.write_back_error, self.is_as_before()) {
            (Some(e), false) => format!("{state}; writing the old value back failed: {e}"),
            _ => state,
        }
    }
}

/// The outcome of a rollback, stored in the audit record and the answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackReport {
    /// Whether CXone holds everything as before the request.
    pub rolled_back: bool,
    /// The schedule settings.
    pub schedule_settings: PartReport,
    /// The time-zone settings.
    pub time_zones: PartReport,
}

impl RollbackReport {
    /// The audit outcome: `rolled_back` or `rollback_failed`.
    pub fn outcome(&self) -> &'static str {
        if self.rolled_back {
            "rolled_back"
        } else {
            "rollback_failed"
        }
    }

    /// The failed deployment's error, saying what the rollback left in CXone
    /// (the status stays the original 502; the report joins the details).
    pub fn explain(&self, error: ApiError) -> ApiError {
        let message = if self.rolled_back {
            format!(
                "{}. The change was rolled back: CXone holds the schedule and time-zone settings \
                 it had before this request",
                error.message
            )
        } else {
            format!(
                "{}. Rolling the change back failed, so CXone is left with: schedule settings {}; \
                 time-zone settings {}. Check the skill in CXone before dialling or retrying",
                error.message,
                self.schedule_settings.describe(),
                self.time_zones.describe()
            )
        };
        let mut details = error.details.clone();
        details.push(json!({"rollback": self}));
        ApiError { message, ..error }.with_details(details)
    }
}

/// Writes `before` back over what a failed deployment may have changed
/// (`touched`), then reads back every part it wrote to say what CXone holds.
/// Never fails: every failure is part of the report.
pub async fn roll_back(
    cxone: &CxoneClient,
    skill_id: i64,
    before: &Snapshot,
    intended: &Snapshot,
    touched: Touched,
    deadline: &Deadline,
) -> RollbackReport {
    let mut schedule = PartReport::untouched();
    let mut zones = PartReport::untouched();
    if touched == Touched::Nothing {
        return RollbackReport {
            rolled_back: true,
            schedule_settings: schedule,
            time_zones: zones,
        };
    }
    // In the reverse order of the deployment's writes: zones, then schedule.
    if touched == Touched::Both {
        zones.write_back_error = cxone
            .update_time_zones(skill_id, &before.time_zones, deadline)
            .await
            .err()
            .map(|e| e.to_string());
    }
    schedule.write_back_error = cxone
        .update_schedule_settings(skill_id, &before.schedule_settings, deadline)
        .await
        .err()
        .map(|e| e.to_string());

    match cxone.schedule_settings(skill_id, deadline).await {
        Ok(read) => {
            schedule.state = if same_schedule(&before.schedule_settings, &read) {
                PartState::Restored
            } else if same_schedule(&intended.schedule_settings, &read) {
                PartState::New
            } else {
                PartState::Other
            };
            schedule.holds = Some(json!(read));
        }
        Err(e) => {
            schedule.state = PartState::Unknown;
            schedule.read_back_error = Some(e.to_string());
        }
    }
    if touched == Touched::Both {
        match cxone.time_zones(skill_id, deadline).await {
            Ok(read) => {
                let equal = |a: &[TimeZoneWindow]| same_zones(a, &read) && same_zones(&read, a);
                zones.state = if equal(&before.time_zones) {
                    PartState::Restored
                } else if equal(&intended.time_zones) {
                    PartState::New
                } else {
                    PartState::Other
                };
                zones.holds = Some(json!(read));
            }
            Err(e) => {
                zones.state = PartState::Unknown;
                zones.read_back_error = Some(e.to_string());
            }
        }
    }
    let report = RollbackReport {
        rolled_back: schedule.is_as_before() && zones.is_as_before(),
        schedule_settings: schedule,
        time_zones: zones,
    };
    if report.rolled_back {
        info!("half-written schedule rolled back");
    } else {
        warn!(report = ?report, "could not roll back a half-written schedule");
    }
    report
}

/// Whether CXone's `read` schedule holds what was `written` (times may carry seconds).
pub(crate) fn same_schedule(written: &ScheduleSettings, read: &ScheduleSettings) -> bool {
    written.is_scheduled == read.is_scheduled
        && written.days.iter().zip(read.days.iter()).all(|(w, r)| {
            w.is_active == r.is_active
                && same_time(w.start_time.as_deref(), r.start_time.as_deref())
                && same_time(w.end_time.as_deref(), r.end_time.as_deref())
        })
}

/// CXone may echo `"09:00"` as `"09:00:00"`.
fn same_time(written: Option<&str>, read: Option<&str>) -> bool {
    match (written, read) {
        (Some(w), Some(r)) => r == w || r.strip_suffix(":00") == Some(w),
        (None, None) => true,
        _ => false,
    }
}

/// Whether every `written` zone window is in CXone's `read` list.
pub(crate) fn same_zones(written: &[TimeZoneWindow], read: &[TimeZoneWindow]) -> bool {
    written.iter().all(|w| {
        read.iter().any(|r| {
            r.standard_name == w.standard_name
                && same_time(w.start_time.as_deref(), r.start_time.as_deref())
                && same_time(w.end_time.as_deref(), r.end_time.as_deref())
                && r.time_zone_active_to_call == w.time_zone_active_to_call
                && r.override_time == w.override_time
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(state: PartState) -> PartReport {
        PartReport {
            state,
            holds: None,
            write_back_error: Some("CXone refused".into()),
            read_back_error: None,
        }
    }

    #[test]
    fn a_failed_rollback_says_what_is_left_per_part() {
        let report = RollbackReport {
            rolled_back: false,
            schedule_settings: failed(PartState::New),
            time_zones: PartReport {
                state: PartState::Restored,
                ..failed(PartState::Restored)
            },
        };
        assert_eq!(report.outcome(), "rollback_failed");
        let e = report.explain(ApiError::bad_gateway("CXone failed while writing"));
        assert_eq!(e.status, 502);
        assert!(
            e.message.contains(
                "schedule settings the new settings of this request; writing the old value \
                 back failed: CXone refused"
            ),
            "{}",
            e.message
        );
        assert!(
            e.message
                .contains("time-zone settings as before this request."),
            "{}",
            e.message
        );
        assert_eq!(e.details[0]["rollback"]["rolledBack"], false);
        assert_eq!(e.details[0]["rollback"]["scheduleSettings"]["state"], "new");
    }

    #[test]
    fn only_writes_that_may_have_applied_are_rolled_back() {
        let refused = CxoneError::ScheduleRefused {
            path: "p".into(),
            message: "m".into(),
            correlation_id: None,
        };
        assert_eq!(
            Touched::by_failed_schedule_write(&refused),
            Touched::Nothing
        );
        let lost = CxoneError::Timeout {
            path: "p".into(),
            attempts: 3,
            timeout: std::time::Duration::from_secs(10),
        };
        assert_eq!(Touched::by_failed_schedule_write(&lost), Touched::Schedule);
        let never_sent = CxoneError::DeadlineExceeded {
            path: "p".into(),
            last_cause: None,
        };
        assert_eq!(
            Touched::by_failed_schedule_write(&never_sent),
            Touched::Nothing
        );
    }

    #[test]
    fn read_back_times_may_carry_seconds() {
        assert!(same_time(Some("09:00"), Some("09:00")));
        assert!(same_time(Some("09:00"), Some("09:00:00")));
        assert!(!same_time(Some("09:00"), Some("09:30")));
        assert!(!same_time(Some("09:00"), None));
        assert!(same_time(None, None));
    }
}
