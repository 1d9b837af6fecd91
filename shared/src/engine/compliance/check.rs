//! Checking weekly schedules (deploy time) and single instants (run time).
//!
//! How a schedule is checked: for every date of the period whose weekday has a
//! window, and every recipient area, each applicable rule's lawful set is
//! computed in the campaign's wall-clock minutes of that date. The set can only
//! change where a rule boundary of the recipient's local day (window start or
//! end, midnight) lands, or where the campaign zone's own clock jumps
//! (daylight-saving transitions); those minutes are found exactly and the rule is
//! evaluated once per piece between them. Offsets are therefore taken on the
//! date itself, so a window that is lawful in winter and not in summer is caught.
//!
//! Wall-clock times the campaign zone skips (spring forward) cannot be dialled
//! and never count as a violation; times it repeats (fall back) must be lawful
//! at both instants.

mod evaluate;
mod walk;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize, Serializer};

use super::holidays::Holiday;
use super::rules::{state_rule, StateRule};
use super::states::StateCode;
use super::time::{serialize_tz, Day, DayWindow, MinuteSet, WeeklySchedule, DAY_MINUTES};
use super::{ComplianceError, FEDERAL_HOURS_SOURCE, FEDERAL_WINDOW};
use evaluate::{applied_rules, Applied, Evaluator};
use walk::{clip, distinct, walk_period, weekly_violations, Plans};

/// Longest period [`check_schedule`] accepts, in days.
pub const MAX_CHECK_DAYS: u32 = 800;

/// Whom a campaign calls: a time zone and, when known, the state (state rules
/// apply only when it is given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipientArea {
    /// The called parties' zone.
    #[serde(serialize_with = "serialize_tz")]
    pub zone: Tz,
    /// The called parties' state, if known.
    pub state: Option<StateCode>,
}

impl RecipientArea {
    /// An area in `zone`, optionally in `state`.
    pub fn new(zone: Tz, state: Option<StateCode>) -> Self {
        Self { zone, state }
    }

    /// Parse an IANA zone name and an optional state code.
    pub fn parse(zone: &str, state: Option<&str>) -> Result<Self, ComplianceError> {
        Ok(Self {
            zone: super::parse_zone(zone)?,
            state: state.map(StateCode::parse).transpose()?,
        })
    }
}

/// The recipient areas of a request that lists zones and states separately (as the
/// schedule request's `recipientTimeZones` and `recipientStates` do).
///
/// Every zone is checked without a state (recipients in states with no stricter
/// rules); every state is paired with those of its zones ([`StateCode::zones`])
/// that are listed, or with all of its zones if none is listed (the recipients
/// must be somewhere in their state). Zones outside the chrono-tz database
/// cannot occur: the state table is tested to name real zones.
pub fn recipient_areas(zones: &[Tz], states: &[StateCode]) -> Vec<RecipientArea> {
    let mut areas: Vec<RecipientArea> =
        zones.iter().map(|&z| RecipientArea::new(z, None)).collect();
    for &state in states {
        let own: Vec<Tz> = state
            .zones()
            .iter()
            .filter_map(|name| name.parse::<Tz>().ok())
            .collect();
        let listed: Vec<Tz> = own.iter().copied().filter(|z| zones.contains(z)).collect();
        let chosen = if listed.is_empty() { own } else { listed };
        areas.extend(
            chosen
                .into_iter()
                .map(|z| RecipientArea::new(z, Some(state))),
        );
    }
    areas.sort_by(|a, b| (a.zone.name(), a.state).cmp(&(b.zone.name(), b.state)));
    areas.dedup();
    areas
}

/// The recipient-local window to write into CXone's time-zone settings for
/// `zone`: federal hours intersected with the hours of every state paired with
/// that zone in `areas`, on every one of `days` (a state's Saturday or Sunday
/// hours count only if those days are dialled). Day-level bans (Sundays,
/// holidays) are not reflected: CXone's per-zone window cannot express them and
/// the window guard enforces them. `None` if nothing is lawful on all those days.
pub fn cxone_zone_window(zone: Tz, areas: &[RecipientArea], days: &[Day]) -> Option<DayWindow> {
    let mut lawful = MinuteSet::span(FEDERAL_WINDOW.span().0, FEDERAL_WINDOW.span().1);
    for area in areas.iter().filter(|a| a.zone == zone) {
        let Some(row) = area.state.and_then(state_rule) else {
            continue;
        };
        for &day in days {
            let (s, e) = row.hours().for_day(day).span();
            lawful = lawful.intersect(&MinuteSet::span(s, e));
        }
    }
    lawful.longest_window()
}

/// The inclusive range of dates a schedule is checked on (at least a week, at most
/// [`MAX_CHECK_DAYS`]). Dates are in the campaign's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckPeriod {
    first: NaiveDate,
    last: NaiveDate,
}

impl CheckPeriod {
    /// Fewest days a period may have: every weekday must be seen.
    pub const MIN_DAYS: u32 = 7;

    /// The dates `first..=last`.
    pub fn new(first: NaiveDate, last: NaiveDate) -> Result<Self, ComplianceError> {
        let bad = |reason| ComplianceError::InvalidPeriod {
            first,
            last,
            reason,
        };
        if last < first {
            return Err(bad("the last date is before the first"));
        }
        let days = (last - first).num_days() + 1;
        if days < i64::from(Self::MIN_DAYS) {
            return Err(bad("the period must cover at least 7 days (every weekday)"));
        }
        if days > i64::from(MAX_CHECK_DAYS) {
            return Err(bad("the period is longer than 800 days"));
        }
        Ok(Self { first, last })
    }

    /// The 366 days starting on `first` (a full year whatever the leap day).
    pub fn year_from(first: NaiveDate) -> Result<Self, ComplianceError> {
        let last =
            first
                .checked_add_days(Days::new(365))
                .ok_or(ComplianceError::InvalidPeriod {
                    first,
                    last: first,
                    reason: "date out of range",
                })?;
        Self::new(first, last)
    }

    /// The first date.
    pub fn first(&self) -> NaiveDate {
        self.first
    }

    /// The last date (included).
    pub fn last(&self) -> NaiveDate {
        self.last
    }

    /// Every date of the period, in order.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> {
        let last = self.last;
        self.first.iter_days().take_while(move |d| *d <= last)
    }
}

/// What to do with a schedule that breaks a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ViolationMode {
    /// Refuse it and list every violation (the default).
    #[default]
    Refuse,
    /// Keep only the lawful part of each day.
    Clip,
}

/// Which rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    /// Federal calling hours ([`FEDERAL_WINDOW`]).
    Federal,
    /// A state's stricter calling hours.
    StateHours(StateCode),
    /// A state's ban on Sunday calls.
    StateNoSunday(StateCode),
    /// A state's ban on calls on its holidays.
    StateHoliday(StateCode),
}

impl RuleId {
    /// The state of a state rule.
    pub fn state(self) -> Option<StateCode> {
        match self {
            RuleId::Federal => None,
            RuleId::StateHours(s) | RuleId::StateNoSunday(s) | RuleId::StateHoliday(s) => Some(s),
        }
    }

    /// A stable machine name: `federal-hours`, `state-hours`, `state-no-sunday`, `state-holiday`.
    pub fn code(self) -> &'static str {
        match self {
            RuleId::Federal => "federal-hours",
            RuleId::StateHours(_) => "state-hours",
            RuleId::StateNoSunday(_) => "state-no-sunday",
            RuleId::StateHoliday(_) => "state-holiday",
        }
    }
}

impl fmt::Display for RuleId {
    /// `federal-hours`, or the code and the state, e.g. `state-hours:FL`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state() {
            Some(state) => write!(f, "{}:{state}", self.code()),
            None => f.write_str(self.code()),
        }
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A schedule window that breaks a rule for some recipients.
///
/// Weekly violations are aggregated over the period: one entry per day, zone,
/// state and rule, with the dates it happens on; `lawful` is the part of that day
/// (campaign zone) that the rule allows on every one of those weekdays.
/// Holiday entries ([`RuleId::StateHoliday`]) are one per date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The schedule day (in the campaign's zone).
    pub day: Day,
    /// The recipients' zone.
    #[serde(serialize_with = "serialize_tz")]
    pub recipient_zone: Tz,
    /// The recipients' state, if given.
    pub state: Option<StateCode>,
    /// The rule broken.
    pub rule: RuleId,
    /// The requested window (campaign zone).
    pub requested: DayWindow,
    /// The longest lawful window of that day under this rule (campaign zone);
    /// `None` if the rule allows no time that day. An end at midnight shows as 23:59.
    pub lawful: Option<DayWindow>,
    /// The legal source of the rule.
    pub source: &'static str,
    /// The first date in the period it happens on.
    pub first_date: NaiveDate,
    /// The last date in the period it happens on.
    pub last_date: NaiveDate,
    /// On how many dates of the period it happens.
    pub occurrences: u32,
    /// The holiday, for holiday violations.
    pub holiday: Option<&'static str>,
}

/// One day of a clipped schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClippedDay {
    /// The day.
    pub day: Day,
    /// What was asked for.
    pub requested: DayWindow,
    /// What is kept; `None` if the whole day was removed.
    pub kept: Option<DayWindow>,
    /// The parts of the requested window that were cut.
    pub removed: Vec<DayWindow>,
}

/// The outcome of clip mode when something had to be cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClippedSchedule {
    /// The lawful schedule: per day, the lawful part for every recipient on every
    /// date of the period (the longest piece if it is not contiguous).
    pub schedule: WeeklySchedule,
    /// The days that were cut, partly or wholly.
    pub clipped: Vec<ClippedDay>,
    /// The days with no lawful time left (left out of `schedule`).
    pub days_removed: Vec<Day>,
    /// Every violation of the requested schedule.
    pub violations: Vec<Violation>,
    /// Holiday dates the run-time window guard will keep dark (see [`ScheduleVerdict`]).
    pub blackouts: Vec<Violation>,
}

/// The verdict on a weekly schedule.
///
/// `blackouts` lists the dates on which a state holiday ban takes away some of
/// a requested window. A weekly schedule (and CXone's settings) cannot express
/// dates, so these are not grounds for refusing or clipping: the window guard
/// ([`is_lawful_to_dial`]) stops dialling on those dates at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum ScheduleVerdict {
    /// Every window is lawful for every recipient on every date of the period.
    Lawful {
        /// Holiday dates the guard will keep dark.
        blackouts: Vec<Violation>,
    },
    /// Refuse mode: the schedule breaks at least one rule; every violation is listed.
    Refused {
        /// Every violation, ordered by day, zone, state and rule.
        violations: Vec<Violation>,
        /// Holiday dates the guard will keep dark.
        blackouts: Vec<Violation>,
    },
    /// Clip mode: the schedule broke at least one rule and was cut to its lawful part.
    Clipped(ClippedSchedule),
}

impl ScheduleVerdict {
    /// Whether the schedule as requested is lawful.
    pub fn is_lawful(&self) -> bool {
        matches!(self, ScheduleVerdict::Lawful { .. })
    }

    /// The violations of the requested schedule (empty when lawful).
    pub fn violations(&self) -> &[Violation] {
        match self {
            ScheduleVerdict::Lawful { .. } => &[],
            ScheduleVerdict::Refused { violations, .. } => violations,
            ScheduleVerdict::Clipped(c) => &c.violations,
        }
    }

    /// Holiday dates the window guard will keep dark.
    pub fn blackouts(&self) -> &[Violation] {
        match self {
            ScheduleVerdict::Lawful { blackouts } | ScheduleVerdict::Refused { blackouts, .. } => {
                blackouts
            }
            ScheduleVerdict::Clipped(c) => &c.blackouts,
        }
    }
}

/// Why a call may not be placed at a given instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DialViolation {
    /// The instant asked about.
    pub at: DateTime<Utc>,
    /// The recipient's zone.
    #[serde(serialize_with = "serialize_tz")]
    pub recipient_zone: Tz,
    /// The recipient's state, if given.
    pub state: Option<StateCode>,
    /// The recipient's local wall-clock time at `at`.
    pub local_time: NaiveDateTime,
    /// The first rule broken (holiday, Sunday, state hours, federal hours, in that order).
    pub rule: RuleId,
    /// That rule's window on the recipient's local date; `None` if the whole day is banned.
    pub lawful_local: Option<DayWindow>,
    /// The legal source of the rule.
    pub source: &'static str,
    /// The holiday, for holiday violations.
    pub holiday: Option<&'static str>,
}

/// Check a weekly schedule against every recipient area on every date of `period`.
///
/// An empty `recipients` list is read as "the campaign's own zone, no state".
/// In [`ViolationMode::Refuse`] a schedule that breaks any weekly rule is
/// [`ScheduleVerdict::Refused`] with every violation; in [`ViolationMode::Clip`]
/// it is cut, per day, to the intersection over all recipients, rules and dates.
pub fn check_schedule(
    schedule: &WeeklySchedule,
    recipients: &[RecipientArea],
    period: CheckPeriod,
    mode: ViolationMode,
) -> ScheduleVerdict {
    let plans: Plans = distinct(schedule.time_zone, recipients)
        .into_iter()
        .map(|r| (r, applied_rules(r.state)))
        .collect();
    let (tracks, blackouts) = walk_period(schedule, &plans, period);
    let violations = weekly_violations(schedule, &plans, &tracks);
    if violations.is_empty() {
        return ScheduleVerdict::Lawful { blackouts };
    }
    match mode {
        ViolationMode::Refuse => ScheduleVerdict::Refused {
            violations,
            blackouts,
        },
        ViolationMode::Clip => {
            ScheduleVerdict::Clipped(clip(schedule, &tracks, violations, blackouts))
        }
    }
}

/// Whether a recipient in `recipient_zone` (and `state`, if known) may be called at
/// `at`: federal hours, the state's hours, Sunday ban and holiday ban, all on the
/// recipient's local date and time. The first rule broken is returned.
pub fn is_lawful_to_dial(
    at: DateTime<Utc>,
    recipient_zone: Tz,
    state: Option<StateCode>,
) -> Result<(), DialViolation> {
    let local = at.with_timezone(&recipient_zone).naive_local();
    let mut eval = Evaluator::default();
    for rule in applied_rules(state) {
        if eval.allows(rule, local) {
            continue;
        }
        let lawful_local = eval
            .local_span(rule, local.date())
            .and_then(|(s, e)| DayWindow::from_span(s, e));
        let holiday = match rule {
            Applied::Holiday(r) => eval.holiday(r, local.date()).map(|h| h.name),
            _ => None,
        };
        return Err(DialViolation {
            at,
            recipient_zone,
            state,
            local_time: local,
            rule: rule.id(),
            lawful_local,
            source: rule.source(),
            holiday,
        });
    }
    Ok(())
}

/// [`is_lawful_to_dial`] for each distinct recipient area: every refusal at `at`.
pub fn dial_violations(at: DateTime<Utc>, recipients: &[RecipientArea]) -> Vec<DialViolation> {
    let mut seen = Vec::new();
    recipients
        .iter()
        .filter(|r| {
            let new = !seen.contains(*r);
            if new {
                seen.push(**r);
            }
            new
        })
        .filter_map(|r| is_lawful_to_dial(at, r.zone, r.state).err())
        .collect()
}

/// The recipient-local window in which calls are lawful on local `date` for a
/// recipient in `state` (federal rule only when `None` or a state without
/// stricter rules); `None` when no call is lawful that day.
pub fn lawful_local_window(date: NaiveDate, state: Option<StateCode>) -> Option<DayWindow> {
    let mut eval = Evaluator::default();
    let mut lawful = MinuteSet::span(0, DAY_MINUTES);
    for rule in applied_rules(state) {
        let (s, e) = eval.local_span(rule, date)?;
        lawful = lawful.intersect(&MinuteSet::span(s, e));
    }
    lawful.longest_window()
}
