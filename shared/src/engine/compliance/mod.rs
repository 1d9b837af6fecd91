//! Calling-hour and abandonment law, data-driven and pure.
//!
//! Every function here takes the instant or the dates it reasons about; nothing
//! reads the clock, the network or the disk. The only data source is the rules
//! table `state_rules.json`, embedded in the binary at build time.
//!
//! What the module knows:
//! - the federal calling-hours rule ([`FEDERAL_WINDOW`], 47 CFR § 64.1200(c)(1)):
//!   08:00 to 21:00 in the called party's local time;
//! - stricter state rules ([`state_rule`], [`state_rules`]): hours by kind of day,
//!   Sunday bans, state-holiday bans, calls per 24 hours, each with its legal
//!   source and whether that source was verified;
//! - holiday calendars computed per year from a small rule language
//!   ([`holidays`]): fixed dates with weekend observance, nth or last weekday of a
//!   month, Easter-relative days;
//! - time-zone arithmetic with `chrono-tz` (daylight-saving transitions included)
//!   and the IANA → CXone zone-name table ([`cxone_zone_name`]);
//! - the FTC Telemarketing Sales Rule limits on ring time and abandonment
//!   ([`ring_time_ok`], [`abandonment_target_ok`]).
//!
//! The two entry points the functions call:
//! - [`check_schedule`]: the schedule deployer validates (refuse) or clips a
//!   weekly calling schedule against every recipient zone and state, on every
//!   date of a period, so that daylight-saving offset changes are seen;
//! - [`is_lawful_to_dial`]: the tuner's window guard asks, at the triggering
//!   event's instant, whether a recipient may be called now.
//!
//! Times of day are half-open: a window `08:00`-`21:00` allows 08:00:00 up to,
//! but not including, 21:00:00.

mod check;
mod holidays;
mod rules;
mod states;
mod time;
mod zones;

#[cfg(test)]
mod tests;

pub use check::{
    check_schedule, cxone_zone_window, dial_violations, is_lawful_to_dial, lawful_local_window,
    recipient_areas, CheckPeriod, ClippedDay, ClippedSchedule, DialViolation, RecipientArea,
    RuleId, ScheduleVerdict, Violation, ViolationMode, MAX_CHECK_DAYS,
};
pub use holidays::{
    federal_holidays, holiday_on, holidays, state_holidays, Holiday, FEDERAL_CALENDAR,
};
pub use rules::{state_rule, state_rules, DayHours, StateRule};
pub use states::StateCode;
pub use time::{Day, DayWindow, HhMm, WeeklySchedule};
pub use zones::{cxone_zone_for, cxone_zone_name, parse_zone, CXONE_ZONES};

/// The federal calling window in the called party's local time: 08:00 to 21:00.
///
/// Source: [`FEDERAL_HOURS_SOURCE`].
pub const FEDERAL_WINDOW: DayWindow = DayWindow::from_minutes_const(8 * 60, 21 * 60);

/// Legal source of [`FEDERAL_WINDOW`].
pub const FEDERAL_HOURS_SOURCE: &str =
    "47 CFR § 64.1200(c)(1) (FCC rules under the TCPA, 47 U.S.C. § 227); same hours in the FTC TSR, 16 CFR § 310.4(c)";

/// Minimum time an unanswered call must ring before the dialler gives up, in seconds.
///
/// Source: [`RING_TIME_SOURCE`].
pub const MIN_RING_SECONDS: u32 = 15;

/// Legal source of [`MIN_RING_SECONDS`].
pub const RING_TIME_SOURCE: &str =
    "16 CFR § 310.4(b)(4)(ii) (FTC Telemarketing Sales Rule safe harbor: ring at least 15 seconds or four rings)";

/// Highest lawful abandonment rate, in percent of calls answered by a live person,
/// per calling campaign per 30-day period.
///
/// Source: [`ABANDONMENT_SOURCE`].
pub const MAX_ABANDONMENT_PCT: f64 = 3.0;

/// Length of the period over which [`MAX_ABANDONMENT_PCT`] is measured, in days.
pub const ABANDONMENT_PERIOD_DAYS: u32 = 30;

/// A call answered by a live person and not connected to an agent within this many
/// seconds of the completed greeting counts as abandoned (the "2-second rule").
///
/// Source: 16 CFR § 310.4(b)(1)(iv) and (b)(4)(iii).
pub const ABANDONMENT_CONNECT_SECONDS: u32 = 2;

/// Legal source of [`MAX_ABANDONMENT_PCT`] and [`ABANDONMENT_PERIOD_DAYS`].
pub const ABANDONMENT_SOURCE: &str =
    "16 CFR § 310.4(b)(4)(i) (FTC Telemarketing Sales Rule safe harbor: at most 3 % of calls answered by a person, per campaign, per 30-day period); also 47 CFR § 64.1200(a)(7)";

/// Whether a ring time (seconds before an unanswered call is dropped) is lawful:
/// at least [`MIN_RING_SECONDS`].
pub fn ring_time_ok(seconds: u32) -> bool {
    seconds >= MIN_RING_SECONDS
}

/// Whether an abandonment-rate target, in percent, is lawful: a finite number in
/// `0.0..=`[`MAX_ABANDONMENT_PCT`]. NaN, infinities and negative values are refused.
pub fn abandonment_target_ok(pct: f64) -> bool {
    pct.is_finite() && (0.0..=MAX_ABANDONMENT_PCT).contains(&pct)
}

/// Everything that can go wrong when parsing compliance inputs or the rules table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComplianceError {
    /// A time of day that is not strict 24-hour `"HH:MM"` (00:00 to 23:59).
    #[error("invalid time of day {input:?}: {reason}")]
    InvalidTime {
        /// The text that was given.
        input: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A window whose start is not strictly before its end.
    #[error("invalid window {start}-{end}: the start must be before the end")]
    InvalidWindow {
        /// The requested start.
        start: HhMm,
        /// The requested end.
        end: HhMm,
    },
    /// A time-zone name that is not an IANA zone.
    #[error("unknown time zone {0:?}: expected an IANA name such as \"America/New_York\"")]
    UnknownTimeZone(String),
    /// An IANA zone that has no entry in the CXone zone-name table.
    #[error("time zone {0:?} has no CXone time-zone name in the table")]
    NoCxoneZone(String),
    /// A state code that is not a US state, the District of Columbia or a territory.
    #[error("unknown US state or territory code {0:?}")]
    UnknownState(String),
    /// A day name that is not one of `monday` .. `sunday`.
    #[error("unknown day {0:?}: expected monday .. sunday")]
    UnknownDay(String),
    /// A date range that is empty, reversed or too long.
    #[error("invalid check period {first}..={last}: {reason}")]
    InvalidPeriod {
        /// The first date.
        first: chrono::NaiveDate,
        /// The last date.
        last: chrono::NaiveDate,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A holiday calendar id that the rules table does not define.
    #[error("unknown holiday calendar {0:?}")]
    UnknownHolidayCalendar(String),
    /// The embedded rules table is malformed (a build defect, caught by a unit test).
    #[error("compliance rules table is invalid: {0}")]
    RulesData(String),
}
