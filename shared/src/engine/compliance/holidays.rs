//! Holiday calendars, computed per year from the rule language of the rules table.
//!
//! A calendar entry in `state_rules.json` looks like
//! `{"name": "Memorial Day", "date": {"last_weekday": {"month": 5, "weekday": "monday"}}}`.
//! Date rules: `fixed {month, day}`, `nth_weekday {month, weekday, n}` (n = 1..4),
//! `last_weekday {month, weekday}`, `easter {offset_days}` (Western Easter;
//! Good Friday is -2, Mardi Gras -47). Observance (`observed`): `none` (default),
//! `nearest_weekday` (Saturday → Friday before, Sunday → Monday after, as for
//! federal holidays), `sunday_to_monday`, or `preceding_monday_or_next_if_weekend`
//! (Tuesday-Friday → Monday before, weekend → Monday after). `since` is the first year a holiday exists.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::rules::{self, HolidayCalendar};
use super::states::StateCode;
use super::time::Day;
use super::ComplianceError;

/// Id of the federal holiday calendar in the rules table.
pub const FEDERAL_CALENDAR: &str = "US-FEDERAL";

/// One holiday in one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Holiday {
    /// Its name as the statute gives it.
    pub name: &'static str,
    /// The calendar (rules-table id) it belongs to, e.g. `"LA"` or `"US-FEDERAL"`.
    pub calendar: &'static str,
    /// The date the holiday falls on.
    pub date: NaiveDate,
    /// The date it is observed (kept) on; equal to `date` unless moved off a weekend.
    /// Calls are treated as banned on both.
    pub observed: NaiveDate,
    /// Whether this entry was checked against its legal source.
    pub verified: bool,
}

impl Holiday {
    /// Whether `date` is the holiday itself or its observed day.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.date == date || self.observed == date
    }
}

/// How a holiday's date is found in a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum DateRule {
    /// The same month and day every year.
    Fixed {
        /// Month, 1-12.
        month: u32,
        /// Day of the month.
        day: u32,
    },
    /// The `n`th given weekday of the month (n = 1..4).
    NthWeekday {
        /// Month, 1-12.
        month: u32,
        /// The weekday.
        weekday: Day,
        /// Which one, 1-4.
        n: u32,
    },
    /// The last given weekday of the month.
    LastWeekday {
        /// Month, 1-12.
        month: u32,
        /// The weekday.
        weekday: Day,
    },
    /// A number of days from Western (Gregorian) Easter Sunday.
    Easter {
        /// Days after Easter (negative: before).
        offset_days: i32,
    },
}

/// When a holiday falling on a weekend is observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Observance {
    /// Never moved.
    #[default]
    None,
    /// Saturday → the Friday before, Sunday → the Monday after.
    NearestWeekday,
    /// Sunday → the Monday after; Saturday not moved.
    SundayToMonday,
    /// Tuesday to Friday → the Monday before; Saturday and Sunday → the Monday after
    /// (Utah's Juneteenth).
    PrecedingMondayOrNextIfWeekend,
}

/// One rule of a calendar.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HolidayRule {
    pub(crate) name: String,
    pub(crate) date: DateRule,
    #[serde(default)]
    pub(crate) observed: Observance,
    #[serde(default)]
    pub(crate) since: Option<i32>,
    #[serde(default = "default_true")]
    pub(crate) verified: bool,
    #[serde(default)]
    #[allow(dead_code)] // documentation carried in the data
    pub(crate) notes: Option<String>,
}

fn default_true() -> bool {
    true
}

impl DateRule {
    /// Check the rule can produce a date in every year.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let month_ok = |m: u32| (1..=12).contains(&m);
        match *self {
            DateRule::Fixed { month, day } => {
                // 2001 is not a leap year: 29 February is refused (it does not exist every year).
                NaiveDate::from_ymd_opt(2001, month, day)
                    .map(|_| ())
                    .ok_or_else(|| format!("fixed date {month}-{day} does not exist every year"))
            }
            DateRule::NthWeekday { month, n, .. } => {
                if !month_ok(month) {
                    Err(format!("month {month} out of range"))
                } else if !(1..=4).contains(&n) {
                    Err(format!("n = {n} out of range 1..4"))
                } else {
                    Ok(())
                }
            }
            DateRule::LastWeekday { month, .. } => {
                if month_ok(month) {
                    Ok(())
                } else {
                    Err(format!("month {month} out of range"))
                }
            }
            DateRule::Easter { offset_days } => {
                if offset_days.abs() <= 180 {
                    Ok(())
                } else {
                    Err(format!(
                        "easter offset {offset_days} out of range -180..180"
                    ))
                }
            }
        }
    }

    /// The date in `year`, if it exists (it always does for validated rules in chrono's range).
    pub(crate) fn date_in(&self, year: i32) -> Option<NaiveDate> {
        match *self {
            DateRule::Fixed { month, day } => NaiveDate::from_ymd_opt(year, month, day),
            DateRule::NthWeekday { month, weekday, n } => {
                let first = NaiveDate::from_ymd_opt(year, month, 1)?;
                let ahead = days_until(first.weekday(), weekday.weekday());
                let date = first.checked_add_days(Days::new(u64::from(ahead + 7 * (n - 1))))?;
                (date.month() == month).then_some(date)
            }
            DateRule::LastWeekday { month, weekday } => {
                let next_first = if month == 12 {
                    NaiveDate::from_ymd_opt(year + 1, 1, 1)?
                } else {
                    NaiveDate::from_ymd_opt(year, month + 1, 1)?
                };
                let last = next_first.pred_opt()?;
                let back = days_until(weekday.weekday(), last.weekday());
                last.checked_sub_days(Days::new(u64::from(back)))
            }
            DateRule::Easter { offset_days } => {
                let easter = easter_sunday(year)?;
                let magnitude = Days::new(u64::from(offset_days.unsigned_abs()));
                if offset_days >= 0 {
                    easter.checked_add_days(magnitude)
                } else {
                    easter.checked_sub_days(magnitude)
                }
            }
        }
    }
}

/// Days from weekday `from` forward to weekday `to` (0..6).
fn days_until(from: Weekday, to: Weekday) -> u32 {
    (to.num_days_from_monday() + 7 - from.num_days_from_monday()) % 7
}

/// Western Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher).
pub(crate) fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

impl Observance {
    fn apply(self, date: NaiveDate) -> NaiveDate {
        let moved = match (self, date.weekday()) {
            (Observance::NearestWeekday, Weekday::Sat) => date.pred_opt(),
            (Observance::NearestWeekday | Observance::SundayToMonday, Weekday::Sun) => {
                date.succ_opt()
            }
            (Observance::PrecedingMondayOrNextIfWeekend, Weekday::Sat) => {
                date.checked_add_days(Days::new(2))
            }
            (Observance::PrecedingMondayOrNextIfWeekend, Weekday::Sun) => date.succ_opt(),
            (Observance::PrecedingMondayOrNextIfWeekend, day) => {
                date.checked_sub_days(Days::new(u64::from(day.num_days_from_monday())))
            }
            _ => None,
        };
        moved.unwrap_or(date)
    }
}

impl HolidayCalendar {
    /// The holidays whose own date falls in `year` (an observed day may fall in the
    /// year before, e.g. New Year's Day on a Saturday is kept on 31 December).
    pub(crate) fn holidays_in(&'static self, id: &'static str, year: i32) -> Vec<Holiday> {
        self.holidays
            .iter()
            .filter(|rule| rule.since.is_none_or(|since| year >= since))
            .filter_map(|rule| {
                let date = rule.date.date_in(year)?;
                Some(Holiday {
                    name: rule.name.as_str(),
                    calendar: id,
                    date,
                    observed: rule.observed.apply(date),
                    verified: self.verified && rule.verified,
                })
            })
            .collect()
    }

    /// The holiday on `date` (its own date or its observed day), if any.
    pub(crate) fn holiday_on(&'static self, id: &'static str, date: NaiveDate) -> Option<Holiday> {
        let year = date.year();
        (year - 1..=year + 1)
            .flat_map(|y| self.holidays_in(id, y))
            .find(|h| h.covers(date))
    }
}

/// The holidays of calendar `calendar_id` (a rules-table id such as `"US-FEDERAL"`,
/// `"AL"`, `"LA"`, `"UT"`) whose own date falls in `year`.
pub fn holidays(calendar_id: &str, year: i32) -> Result<Vec<Holiday>, ComplianceError> {
    let (id, calendar) = rules::calendar(calendar_id)
        .ok_or_else(|| ComplianceError::UnknownHolidayCalendar(calendar_id.to_owned()))?;
    Ok(calendar.holidays_in(id, year))
}

/// The US federal legal public holidays of `year` (5 U.S.C. § 6103).
pub fn federal_holidays(year: i32) -> Vec<Holiday> {
    // The table is validated to contain the federal calendar (see rules::tests).
    holidays(FEDERAL_CALENDAR, year).unwrap_or_default()
}

/// The holidays of `year` on which `state` bans calls; empty for states without a
/// holiday ban in the rules table.
pub fn state_holidays(state: StateCode, year: i32) -> Vec<Holiday> {
    rules::state_rule(state)
        .filter(|rule| rule.no_state_holidays())
        .and_then(|rule| rule.holiday_calendar())
        .map(|(id, calendar)| calendar.holidays_in(id, year))
        .unwrap_or_default()
}

/// The holiday on which `state` bans calls that covers the local `date`, if any.
pub fn holiday_on(state: StateCode, date: NaiveDate) -> Option<Holiday> {
    let rule = rules::state_rule(state).filter(|rule| rule.no_state_holidays())?;
    let (id, calendar) = rule.holiday_calendar()?;
    calendar.holiday_on(id, date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn find(list: &[Holiday], name: &str) -> Holiday {
        *list
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    #[test]
    fn easter_known_years() {
        assert_eq!(easter_sunday(2024), Some(ymd(2024, 3, 31)));
        assert_eq!(easter_sunday(2025), Some(ymd(2025, 4, 20)));
        assert_eq!(easter_sunday(2026), Some(ymd(2026, 4, 5)));
        assert_eq!(easter_sunday(2027), Some(ymd(2027, 3, 28)));
        assert_eq!(easter_sunday(2038), Some(ymd(2038, 4, 25)));
    }

    #[test]
    fn federal_holidays_2027() {
        let list = federal_holidays(2027);
        assert_eq!(list.len(), 11);
        assert_eq!(
            find(&list, "Birthday of Martin Luther King, Jr.").date,
            ymd(2027, 1, 18)
        );
        assert_eq!(find(&list, "Memorial Day").date, ymd(2027, 5, 31));
        assert_eq!(find(&list, "Labor Day").date, ymd(2027, 9, 6));
        assert_eq!(find(&list, "Thanksgiving Day").date, ymd(2027, 11, 25));
        // 2027-07-04 is a Sunday: kept on Monday 5 July.
        assert_eq!(find(&list, "Independence Day").observed, ymd(2027, 7, 5));
        // 2027-12-25 is a Saturday: kept on Friday 24 December.
        let christmas = find(&list, "Christmas Day");
        assert_eq!(
            (christmas.date, christmas.observed),
            (ymd(2027, 12, 25), ymd(2027, 12, 24))
        );
        // 2026-07-04 is a Saturday: kept on Friday 3 July.
        assert_eq!(
            find(&federal_holidays(2026), "Independence Day").observed,
            ymd(2026, 7, 3)
        );
    }

    #[test]
    fn federal_new_year_on_saturday_is_kept_in_previous_year() {
        // 2028-01-01 is a Saturday: observed Friday 2027-12-31.
        let new_year = find(&federal_holidays(2028), "New Year's Day");
        assert_eq!(new_year.observed, ymd(2027, 12, 31));
        let cal = rules::calendar(FEDERAL_CALENDAR).expect("federal calendar");
        assert_eq!(
            cal.1.holiday_on(cal.0, ymd(2027, 12, 31)).map(|h| h.name),
            Some("New Year's Day")
        );
    }

    #[test]
    fn juneteenth_only_since_2021() {
        assert!(federal_holidays(2020)
            .iter()
            .all(|h| !h.name.starts_with("Juneteenth")));
        assert!(federal_holidays(2021)
            .iter()
            .any(|h| h.name.starts_with("Juneteenth")));
    }

    #[test]
    fn louisiana_2027() {
        let la = StateCode::parse("LA").expect("LA");
        let list = state_holidays(la, 2027);
        assert_eq!(find(&list, "Mardi Gras").date, ymd(2027, 2, 9));
        assert_eq!(find(&list, "Good Friday").date, ymd(2027, 3, 26));
        assert_eq!(find(&list, "Christmas Day").observed, ymd(2027, 12, 24));
        assert_eq!(
            holiday_on(la, ymd(2027, 2, 9)).map(|h| h.name),
            Some("Mardi Gras")
        );
        assert_eq!(
            holiday_on(la, ymd(2027, 12, 24)).map(|h| h.name),
            Some("Christmas Day")
        );
        assert_eq!(holiday_on(la, ymd(2027, 2, 10)), None);
        // Huey P. Long Day (30 August) is not moved off a weekend in Louisiana.
        let huey = find(&state_holidays(la, 2026), "Huey P. Long Day");
        assert_eq!(
            (huey.date, huey.observed),
            (ymd(2026, 8, 30), ymd(2026, 8, 30))
        );
    }

    #[test]
    fn alabama_state_days() {
        let al = StateCode::parse("AL").expect("AL");
        let list = state_holidays(al, 2027);
        assert_eq!(
            find(&list, "Confederate Memorial Day").date,
            ymd(2027, 4, 26)
        );
        assert_eq!(
            find(&list, "Jefferson Davis' Birthday").date,
            ymd(2027, 6, 7)
        );
        assert!(holiday_on(al, ymd(2027, 4, 26)).is_some());
    }

    #[test]
    fn utah_pioneer_day_and_juneteenth() {
        let ut = StateCode::parse("UT").expect("UT");
        // Pioneer Day 2027 is a Saturday: kept on Friday 23 July; both days dark.
        let pioneer = find(&state_holidays(ut, 2027), "Pioneer Day");
        assert_eq!(
            (pioneer.date, pioneer.observed),
            (ymd(2027, 7, 24), ymd(2027, 7, 23))
        );
        // Juneteenth: Saturday 2027-06-19 → Monday 21; Friday 2026-06-19 → Monday 15.
        assert_eq!(
            find(&state_holidays(ut, 2027), "Juneteenth National Freedom Day").observed,
            ymd(2027, 6, 21)
        );
        assert_eq!(
            find(&state_holidays(ut, 2026), "Juneteenth National Freedom Day").observed,
            ymd(2026, 6, 15)
        );
        assert_eq!(
            holiday_on(ut, ymd(2026, 6, 15)).map(|h| h.name),
            Some("Juneteenth National Freedom Day")
        );
    }

    #[test]
    fn states_without_holiday_bans_have_no_holidays() {
        let fl = StateCode::parse("FL").expect("FL");
        assert!(state_holidays(fl, 2027).is_empty());
        assert_eq!(holiday_on(fl, ymd(2027, 12, 25)), None);
        let ny = StateCode::parse("NY").expect("NY");
        assert!(state_holidays(ny, 2027).is_empty());
    }

    #[test]
    fn unknown_calendar_is_an_error() {
        assert_eq!(
            holidays("XX", 2027),
            Err(ComplianceError::UnknownHolidayCalendar("XX".to_owned()))
        );
    }

    #[test]
    fn date_rules_reject_impossible_dates() {
        assert!(DateRule::Fixed { month: 2, day: 29 }.validate().is_err());
        assert!(DateRule::Fixed { month: 13, day: 1 }.validate().is_err());
        assert!(DateRule::NthWeekday {
            month: 1,
            weekday: Day::Monday,
            n: 5
        }
        .validate()
        .is_err());
        assert!(DateRule::LastWeekday {
            month: 0,
            weekday: Day::Monday
        }
        .validate()
        .is_err());
        assert!(DateRule::Easter { offset_days: -400 }.validate().is_err());
    }
}
