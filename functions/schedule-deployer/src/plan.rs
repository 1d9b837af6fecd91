//! What to write into CXone for a lawful weekly schedule (pure: no I/O, no clock).
//!
//! Two settings carry a schedule in CXone:
//! - `schedule-settings`: one window per weekday in the skill's zone. CXone
//!   refuses the write unless all seven days are active with a non-empty
//!   window, so a day off cannot be written as "off". The bundle writes it as
//!   a **one-minute placeholder** at a campaign-zone minute at which every
//!   recipient zone's window (below) is closed on every date of the checked
//!   period, so CXone itself dials nobody then; the tuner's window guard keeps
//!   those days dark as well. When no such minute exists (recipients spread
//!   over zones so far apart that one of them is always open), the schedule is
//!   refused with [`PlanError::NoDarkMinute`] rather than written unsafely.
//! - `time-zones`: per recipient zone (CXone's zone names, from the compliance
//!   engine's table) a local window with `overrideTime` set: the lawful window
//!   in that zone ([`cxone_zone_window`]: federal hours and the hours of every
//!   listed state in that zone, on the dialled days) intersected with the
//!   campaign's own windows as seen from that zone (their hull over every date
//!   of the period, so daylight-saving shifts between the two zones never cut
//!   lawful campaign time). Several IANA zones with one CXone name get the
//!   intersection of their windows.
//!
//! Day-level bans (Sundays and holidays in some states) cannot be expressed in
//! either setting: the check refuses or clips Sunday windows, and holiday
//! blackouts are reported for the window guard.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

use shared::cxone::{DaySchedule, ScheduleSettings, TimeZoneWindow};
use shared::engine::compliance::{
    cxone_zone_for, cxone_zone_window, CheckPeriod, Day, DayWindow, HhMm, RecipientArea,
    WeeklySchedule,
};

/// Minutes in a day.
const DAY_MINUTES: u16 = 24 * 60;

/// Why a lawful schedule cannot be written to CXone safely (HTTP 422).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A recipient zone has no CXone zone name.
    #[error("recipient zone {0} has no CXone time-zone name")]
    NoCxoneZone(String),
    /// No day has a window left to dial.
    #[error("no day has a lawful window left to dial")]
    NothingToDial,
    /// A day off cannot be written: CXone refuses days off (every day must be
    /// active with a window), and no minute of that day is closed in every
    /// recipient zone, so a placeholder window would let CXone dial.
    #[error(
        "{day} is a day off, but CXone's schedule settings cannot switch a day off (it refuses \
         the write unless all seven days are active with a window), and no minute of {day} is \
         outside every recipient zone's calling window, so no harmless placeholder exists; \
         give {day} a window or split the recipients over campaigns with nearer zones"
    )]
    NoDarkMinute {
        /// The day off.
        day: Day,
    },
}

/// A day off and the placeholder CXone gets for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayOff {
    /// The day.
    pub day: Day,
    /// The one-minute window written to CXone (campaign zone), closed in every
    /// recipient zone's window.
    pub cxone_placeholder: DayWindow,
}

/// The window written for one CXone time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZonePlan {
    /// CXone's name for the zone (`standardName`).
    pub cxone_name: &'static str,
    /// The IANA zones behind it.
    #[serde(serialize_with = "serialize_zones")]
    pub iana_zones: Vec<Tz>,
    /// The recipient-local window written; `None`: calls to the zone are off.
    pub window: Option<DayWindow>,
    /// The lawful recipient-local window before the campaign's windows narrowed it.
    pub lawful: Option<DayWindow>,
}

fn serialize_zones<S: Serializer>(zones: &[Tz], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(zones.iter().map(|z| z.name()))
}

impl ZonePlan {
    /// The CXone setting for this zone.
    pub fn to_cxone(&self) -> TimeZoneWindow {
        let (start, end) = match self.window.or(self.lawful) {
            Some(w) => (w.start().to_string(), w.end().to_string()),
            None => ("08:00".to_owned(), "21:00".to_owned()),
        };
        TimeZoneWindow {
            standard_name: self.cxone_name.to_owned(),
            start_time: Some(start),
            end_time: Some(end),
            time_zone_active_to_call: self.window.is_some(),
            override_time: true,
        }
    }
}

/// Everything written to CXone for one schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentPlan {
    /// The lawful schedule in effect (campaign zone).
    pub schedule: WeeklySchedule,
    /// The days off and their CXone placeholders.
    pub days_off: Vec<DayOff>,
    /// Per CXone zone, the window written.
    pub zones: Vec<ZonePlan>,
}

impl DeploymentPlan {
    /// The `schedule-settings` to write: the schedule's windows, and the
    /// placeholders on days off, every day active (CXone's requirement).
    pub fn schedule_settings(&self) -> ScheduleSettings {
        let mut settings = ScheduleSettings {
            is_scheduled: true,
            ..Default::default()
        };
        for day in Day::ALL {
            let window = self.schedule.days.get(&day).copied().or_else(|| {
                self.days_off
                    .iter()
                    .find(|d| d.day == day)
                    .map(|d| d.cxone_placeholder)
            });
            if let Some(window) = window {
                *settings.day_mut(day.weekday()) = DaySchedule {
                    is_active: true,
                    start_time: Some(window.start().to_string()),
                    end_time: Some(window.end().to_string()),
                };
            }
        }
        settings
    }

    /// The `time-zones` settings to write.
    pub fn time_zone_settings(&self) -> Vec<TimeZoneWindow> {
        self.zones.iter().map(ZonePlan::to_cxone).collect()
    }
}

/// Plans the CXone settings of a lawful `schedule` for `areas` over `period`.
pub fn plan(
    schedule: &WeeklySchedule,
    areas: &[RecipientArea],
    period: CheckPeriod,
) -> Result<DeploymentPlan, PlanError> {
    if schedule.days.is_empty() {
        return Err(PlanError::NothingToDial);
    }
    let dialled: Vec<Day> = schedule.days.keys().copied().collect();
    let mut zones: Vec<Tz> = areas.iter().map(|a| a.zone).collect();
    if zones.is_empty() {
        zones.push(schedule.time_zone);
    }
    zones.sort_by_key(|z| z.name());
    zones.dedup();

    let mut by_name: BTreeMap<&'static str, ZonePlan> = BTreeMap::new();
    for zone in zones {
        let name = cxone_zone_for(zone).map_err(|_| PlanError::NoCxoneZone(zone.name().into()))?;
        let lawful = cxone_zone_window(zone, areas, &dialled);
        let window = lawful.and_then(|l| {
            let (hs, he) = campaign_hull(schedule, zone, period)?;
            intersect(l, hs, he)
        });
        let entry = by_name.entry(name).or_insert(ZonePlan {
            cxone_name: name,
            iana_zones: Vec::new(),
            window,
            lawful,
        });
        if !entry.iana_zones.is_empty() {
            entry.window = both(entry.window, window);
            entry.lawful = both(entry.lawful, lawful);
        }
        entry.iana_zones.push(zone);
    }
    let zones: Vec<ZonePlan> = by_name.into_values().collect();

    let mut days_off = Vec::new();
    for day in Day::ALL {
        if schedule.days.contains_key(&day) {
            continue;
        }
        let minute = (0..DAY_MINUTES)
            .find(|&m| dark_everywhere(schedule.time_zone, day, m, &zones, period))
            .ok_or(PlanError::NoDarkMinute { day })?;
        let placeholder = window_of(minute, minute + 1).ok_or(PlanError::NoDarkMinute { day })?;
        days_off.push(DayOff {
            day,
            cxone_placeholder: placeholder,
        });
    }
    Ok(DeploymentPlan {
        schedule: schedule.clone(),
        days_off,
        zones,
    })
}

fn both(a: Option<DayWindow>, b: Option<DayWindow>) -> Option<DayWindow> {
    let b = b?;
    let a = a?;
    let (s, e) = (
        minutes(a.start()).max(minutes(b.start())),
        minutes(a.end()).min(minutes(b.end())),
    );
    window_of(s, e)
}

fn intersect(window: DayWindow, start: u16, end: u16) -> Option<DayWindow> {
    let s = minutes(window.start()).max(start);
    let e = minutes(window.end()).min(end);
    window_of(s, e)
}

fn minutes(t: HhMm) -> u16 {
    t.minutes_since_midnight()
}

/// The window `[start, end)` in minutes; an end at midnight becomes 23:59.
fn window_of(start: u16, end: u16) -> Option<DayWindow> {
    let end = end.min(DAY_MINUTES - 1);
    let hhmm = |m: u16| HhMm::new(u8::try_from(m / 60).ok()?, u8::try_from(m % 60).ok()?).ok();
    DayWindow::new(hhmm(start)?, hhmm(end)?).ok()
}

/// Every instant showing `local` in `tz`; a wall time skipped by a
/// daylight-saving jump maps to the first instant after the gap.
fn instants(tz: Tz, local: NaiveDateTime) -> Vec<DateTime<Tz>> {
    for shift in 0..=180 {
        let Some(wall) = local.checked_add_signed(TimeDelta::minutes(shift)) else {
            return Vec::new();
        };
        match tz.from_local_datetime(&wall) {
            LocalResult::Single(t) => return vec![t],
            LocalResult::Ambiguous(a, b) => return vec![a, b],
            LocalResult::None => continue,
        }
    }
    Vec::new()
}

fn at(date: NaiveDate, minute: u16) -> Option<NaiveDateTime> {
    let (date, minute) = if minute >= DAY_MINUTES {
        (date.succ_opt()?, minute - DAY_MINUTES)
    } else {
        (date, minute)
    };
    date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)
}

/// Minutes since `day`'s local midnight of an instant in `zone`, allowing
/// 1440 for the next midnight; `None` if the instant is on another local date.
fn local_minute(t: DateTime<Tz>, zone: Tz, day: NaiveDate) -> Option<u16> {
    let local = t.with_timezone(&zone).naive_local();
    let m = u16::try_from((local - day.and_hms_opt(0, 0, 0)?).num_minutes()).ok()?;
    (m <= DAY_MINUTES).then_some(m)
}

/// The hull `[start, end)` of the campaign's windows seen from `zone`'s local
/// clock over every date of `period`; the whole day when a window crosses the
/// zone's local midnight.
fn campaign_hull(schedule: &WeeklySchedule, zone: Tz, period: CheckPeriod) -> Option<(u16, u16)> {
    let mut hull: Option<(u16, u16)> = None;
    for date in period.dates() {
        let Some(window) = schedule.days.get(&Day::from(date.weekday())) else {
            continue;
        };
        let starts = at(date, minutes(window.start()))
            .map(|l| instants(schedule.time_zone, l))
            .unwrap_or_default();
        let ends = at(date, minutes(window.end()))
            .map(|l| instants(schedule.time_zone, l))
            .unwrap_or_default();
        for (s, e) in starts.iter().zip(ends.iter().rev()) {
            let local_day = s.with_timezone(&zone).date_naive();
            let span = match (
                local_minute(*s, zone, local_day),
                local_minute(*e, zone, local_day),
            ) {
                (Some(a), Some(b)) if a < b => (a, b),
                _ => (0, DAY_MINUTES),
            };
            hull = Some(match hull {
                None => span,
                Some((a, b)) => (a.min(span.0), b.max(span.1)),
            });
        }
    }
    hull
}

/// Whether campaign-zone minute `minute` of every `day` in `period` is outside
/// every active zone window.
fn dark_everywhere(
    campaign: Tz,
    day: Day,
    minute: u16,
    zones: &[ZonePlan],
    period: CheckPeriod,
) -> bool {
    period
        .dates()
        .filter(|d| Day::from(d.weekday()) == day)
        .all(|date| {
            let Some(local) = at(date, minute) else {
                return false;
            };
            let moments = instants(campaign, local);
            !moments.is_empty()
                && moments.iter().all(|t| {
                    zones.iter().all(|z| {
                        let Some(window) = z.window else {
                            return true;
                        };
                        z.iana_zones.iter().all(|&tz| {
                            let wall = t.with_timezone(&tz).naive_local();
                            let m = u16::try_from(
                                (wall - wall.date().and_hms_opt(0, 0, 0).unwrap_or(wall))
                                    .num_minutes(),
                            )
                            .unwrap_or(0);
                            !(minutes(window.start()) <= m && m < minutes(window.end()))
                        })
                    })
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America;
    use shared::engine::compliance::{recipient_areas, StateCode};

    fn w(s: &str, e: &str) -> DayWindow {
        DayWindow::parse(s, e).expect("window")
    }

    fn period() -> CheckPeriod {
        CheckPeriod::year_from(NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"))
            .expect("period")
    }

    fn weekdays(tz: Tz, window: DayWindow) -> WeeklySchedule {
        let days = [
            Day::Monday,
            Day::Tuesday,
            Day::Wednesday,
            Day::Thursday,
            Day::Friday,
        ]
        .into_iter()
        .map(|d| (d, window))
        .collect();
        WeeklySchedule::new(tz, days)
    }

    #[test]
    fn zone_windows_are_lawful_hours_narrowed_by_the_campaign() {
        let schedule = weekdays(America::New_York, w("10:00", "20:00"));
        let areas = recipient_areas(&[America::New_York, America::Los_Angeles], &[]);
        let plan = plan(&schedule, &areas, period()).expect("plan");
        let by_name: BTreeMap<&str, &ZonePlan> =
            plan.zones.iter().map(|z| (z.cxone_name, z)).collect();
        assert_eq!(
            by_name["Eastern Standard Time"].window,
            Some(w("10:00", "20:00"))
        );
        assert_eq!(
            by_name["Pacific Standard Time"].window,
            Some(w("08:00", "17:00"))
        );
        assert_eq!(
            by_name["Pacific Standard Time"].lawful,
            Some(w("08:00", "21:00"))
        );
        let cxone = plan.time_zone_settings();
        assert!(cxone
            .iter()
            .all(|z| z.override_time && z.time_zone_active_to_call));
    }

    #[test]
    fn hull_follows_daylight_saving_between_zones() {
        // Phoenix keeps standard time: 10:00-17:00 New York is 08:00-15:00 there
        // in winter and 07:00-14:00 in summer; the hull is 07:00-15:00 and its
        // lawful part 08:00-15:00.
        let schedule = weekdays(America::New_York, w("10:00", "17:00"));
        let areas = recipient_areas(&[America::Phoenix], &[]);
        let plan = plan(&schedule, &areas, period()).expect("plan");
        assert_eq!(plan.zones[0].cxone_name, "US Mountain Standard Time");
        assert_eq!(plan.zones[0].window, Some(w("08:00", "15:00")));
    }

    #[test]
    fn state_hours_narrow_their_zones() {
        let schedule = weekdays(America::New_York, w("09:00", "19:00"));
        let fl = StateCode::parse("FL").expect("FL");
        let areas = recipient_areas(&[America::New_York], &[fl]);
        let plan = plan(&schedule, &areas, period()).expect("plan");
        let eastern = plan
            .zones
            .iter()
            .find(|z| z.cxone_name == "Eastern Standard Time")
            .expect("eastern");
        assert_eq!(eastern.lawful, Some(w("08:00", "20:00")));
    }

    #[test]
    fn days_off_get_a_placeholder_dark_in_every_zone() {
        let schedule = weekdays(America::New_York, w("09:00", "20:00"));
        let areas = recipient_areas(
            &[America::New_York, America::Los_Angeles, America::Chicago],
            &[],
        );
        let plan = plan(&schedule, &areas, period()).expect("plan");
        assert_eq!(
            plan.days_off.iter().map(|d| d.day).collect::<Vec<_>>(),
            vec![Day::Saturday, Day::Sunday]
        );
        for off in &plan.days_off {
            assert_eq!(off.cxone_placeholder, w("00:00", "00:01"));
        }
        let settings = plan.schedule_settings();
        assert!(settings.cxone_accepts(), "{settings:?}");
        assert_eq!(
            settings.day(chrono::Weekday::Mon).start_time.as_deref(),
            Some("09:00")
        );
        assert_eq!(
            settings.day(chrono::Weekday::Sun).end_time.as_deref(),
            Some("00:01")
        );
    }

    #[test]
    fn the_placeholder_moves_to_a_minute_closed_everywhere_or_is_impossible() {
        // Guam seen from New York: 08:00-21:00 ET crosses Guam's midnight, so
        // Guam's window is its whole lawful day, 17:00-06:00 ET in winter and
        // 18:00-07:00 in summer: the first minute closed on every date is 07:00.
        let schedule = weekdays(America::New_York, w("08:00", "21:00"));
        let areas = recipient_areas(&[chrono_tz::Pacific::Guam], &[]);
        let plan = plan_or(&schedule, &areas).expect("plan");
        assert_eq!(plan.days_off[0].cxone_placeholder, w("07:00", "07:01"));

        // Every US zone from Guam to Pago Pago and Puerto Rico: the only UTC hour
        // closed everywhere is 11:00-12:00, which daylight saving moves across
        // New York's clock, so no single wall-clock minute is closed all year.
        let all = [
            America::Puerto_Rico,
            America::New_York,
            America::Chicago,
            America::Denver,
            America::Los_Angeles,
            America::Anchorage,
            chrono_tz::Pacific::Honolulu,
            chrono_tz::Pacific::Pago_Pago,
            chrono_tz::Pacific::Guam,
        ];
        let areas = recipient_areas(&all, &[]);
        assert!(matches!(
            plan_or(&schedule, &areas),
            Err(PlanError::NoDarkMinute { day: Day::Saturday })
        ));
    }

    fn plan_or(
        schedule: &WeeklySchedule,
        areas: &[RecipientArea],
    ) -> Result<DeploymentPlan, PlanError> {
        plan(schedule, areas, period())
    }

    #[test]
    fn an_empty_schedule_is_nothing_to_dial() {
        let schedule = WeeklySchedule::new(America::New_York, BTreeMap::new());
        let areas = recipient_areas(&[America::New_York], &[]);
        assert_eq!(
            plan(&schedule, &areas, period()),
            Err(PlanError::NothingToDial)
        );
    }
}
