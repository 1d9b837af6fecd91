//! The window guard: what CXone's static settings cannot say, enforced at run time.
//!
//! CXone's schedule settings cannot express days off (its PUT refuses them),
//! state rules, Sundays or holidays; its time-zone windows are per zone, not
//! per state. So on every tick the tuner asks [`decide`]. A running skill is
//! stopped when
//! - its recipients are *all* outside their lawful window right now, or
//! - *any* recipient area is under a whole-day ban (a state's Sunday or
//!   holiday ban): CXone cannot leave one state's people out of a list on a
//!   given date, so the only lawful choice is not to dial the list that day.
//!
//! Hour rules that differ between areas are left to CXone's per-zone windows,
//! which the schedule deployer writes as the intersection over each zone's
//! states. A skill the guard stopped is started again once some recipients
//! are lawful, no area is banned for the day, and the campaign's own window
//! is open. A skill stopped by someone else is never started by the guard.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::compliance::{
    is_lawful_to_dial, Day, DayWindow, DialViolation, HhMm, RecipientArea, RuleId,
};

/// The campaign's own calling window per weekday, in its time zone.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignWindows {
    /// The campaign's zone.
    pub zone: Tz,
    /// Monday first; `None` means no dialling that day.
    pub days: [Option<DayWindow>; 7],
    /// Whether the schedule applies at all (CXone's `isScheduled`); when
    /// false the campaign's own window is always open.
    pub scheduled: bool,
}

impl CampaignWindows {
    /// Whether the campaign's own window is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        if !self.scheduled {
            return true;
        }
        let local = at.with_timezone(&self.zone);
        let day = local.weekday().num_days_from_monday() as usize;
        let time = HhMm::parse(&local.format("%H:%M").to_string());
        match (self.days.get(day).copied().flatten(), time) {
            (Some(window), Ok(time)) => window.contains(time),
            _ => false,
        }
    }
}

/// What the guard wants done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardAction {
    /// Leave the skill as it is.
    Nothing,
    /// Stop the running skill: nobody may be called now.
    Stop,
    /// Start the skill the guard stopped: calling is lawful again.
    Start,
}

/// The guard's answer with its reasons.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardDecision {
    /// What to do.
    pub action: GuardAction,
    /// Whether at least one recipient area may be called now.
    pub lawful_now: bool,
    /// Why, in words for the audit trail.
    pub reason: String,
    /// The rules that forbid calling each recipient area now.
    pub violations: Vec<DialViolation>,
}

/// Decides at `at` for a skill that is `running`, which the guard stopped
/// earlier if `stopped_by_guard`. With no recipient areas, the campaign's own
/// zone is the recipients' zone.
pub fn decide(
    at: DateTime<Utc>,
    recipients: &[RecipientArea],
    windows: &CampaignWindows,
    running: bool,
    stopped_by_guard: bool,
) -> GuardDecision {
    let own = [RecipientArea::new(windows.zone, None)];
    let areas = if recipients.is_empty() {
        &own[..]
    } else {
        recipients
    };
    let violations: Vec<DialViolation> = areas
        .iter()
        .filter_map(|area| is_lawful_to_dial(at, area.zone, area.state).err())
        .collect();
    let lawful_now = violations.len() < areas.len();
    let banned_today: Vec<&DialViolation> = violations
        .iter()
        .filter(|v| matches!(v.rule, RuleId::StateNoSunday(_) | RuleId::StateHoliday(_)))
        .collect();
    let (action, reason) = if running && !lawful_now {
        (
            GuardAction::Stop,
            format!(
                "every recipient area is outside its lawful calling window ({} area(s))",
                areas.len()
            ),
        )
    } else if running && !banned_today.is_empty() {
        let v = banned_today[0];
        (
            GuardAction::Stop,
            format!(
                "no calls today to recipients in {} ({}{}); CXone cannot leave them out of the list",
                v.state.map(|s| s.as_str()).unwrap_or("?"),
                v.rule,
                v.holiday.map(|h| format!(": {h}")).unwrap_or_default()
            ),
        )
    } else if !running
        && stopped_by_guard
        && lawful_now
        && banned_today.is_empty()
        && windows.is_open(at)
    {
        (
            GuardAction::Start,
            "calling is lawful again and the campaign's own window is open".to_owned(),
        )
    } else if !running && stopped_by_guard {
        (
            GuardAction::Nothing,
            "stopped by the guard; waiting for a lawful, open window".to_owned(),
        )
    } else {
        (GuardAction::Nothing, "within the law".to_owned())
    };
    GuardDecision {
        action,
        lawful_now,
        reason,
        violations,
    }
}

/// Converts a day of the week to the compliance engine's [`Day`].
pub fn day_of(at: DateTime<Utc>, zone: Tz) -> Day {
    Day::from(at.with_timezone(&zone).weekday())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::compliance::StateCode;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn windows(scheduled: bool) -> CampaignWindows {
        let w = DayWindow::parse("09:00", "20:00").ok();
        CampaignWindows {
            zone: chrono_tz::America::New_York,
            days: [w, w, w, w, w, None, None],
            scheduled,
        }
    }

    fn ny() -> Vec<RecipientArea> {
        vec![RecipientArea::new(chrono_tz::America::New_York, None)]
    }

    #[test]
    fn stops_a_running_skill_outside_every_lawful_window() {
        // 21:30 in New York on a Tuesday.
        let d = decide(
            at("2026-03-11T01:30:00Z"),
            &ny(),
            &windows(true),
            true,
            false,
        );
        assert_eq!(d.action, GuardAction::Stop);
        assert_eq!(d.violations.len(), 1);
    }

    #[test]
    fn one_lawful_area_is_enough_to_keep_dialling() {
        // 21:30 New York is 18:30 Los Angeles.
        let mut areas = ny();
        areas.push(RecipientArea::new(chrono_tz::America::Los_Angeles, None));
        let d = decide(
            at("2026-03-11T01:30:00Z"),
            &areas,
            &windows(true),
            true,
            false,
        );
        assert_eq!(d.action, GuardAction::Nothing);
        assert!(d.lawful_now);
    }

    #[test]
    fn restarts_only_what_it_stopped_and_only_inside_the_campaigns_window() {
        let morning = at("2026-03-10T13:30:00Z"); // 09:30 New York, Tuesday
        assert_eq!(
            decide(morning, &ny(), &windows(true), false, true).action,
            GuardAction::Start
        );
        assert_eq!(
            decide(morning, &ny(), &windows(true), false, false).action,
            GuardAction::Nothing
        );
        // 08:30: lawful, but the campaign's own window opens at 09:00.
        let early = at("2026-03-10T12:30:00Z");
        assert_eq!(
            decide(early, &ny(), &windows(true), false, true).action,
            GuardAction::Nothing
        );
        // Saturday: the campaign's schedule has no window.
        let saturday = at("2026-03-14T15:00:00Z");
        assert_eq!(
            decide(saturday, &ny(), &windows(true), false, true).action,
            GuardAction::Nothing
        );
        assert_eq!(
            decide(saturday, &ny(), &windows(false), false, true).action,
            GuardAction::Start
        );
    }

    #[test]
    fn state_rules_and_sundays_apply() {
        let al = vec![RecipientArea::new(
            chrono_tz::America::Chicago,
            StateCode::parse("AL").ok(),
        )];
        // Sunday noon in Alabama: no calls at all.
        let d = decide(
            at("2026-03-15T17:00:00Z"),
            &al,
            &windows(false),
            true,
            false,
        );
        assert_eq!(d.action, GuardAction::Stop);
        // Mixed recipients: New York may be called on Sunday, Alabama may not,
        // and CXone cannot leave Alabama out: stop.
        let mixed = vec![
            RecipientArea::new(chrono_tz::America::New_York, None),
            RecipientArea::new(chrono_tz::America::Chicago, StateCode::parse("AL").ok()),
        ];
        let d = decide(
            at("2026-03-15T17:00:00Z"),
            &mixed,
            &windows(false),
            true,
            false,
        );
        assert_eq!(d.action, GuardAction::Stop, "{}", d.reason);
        assert!(d.lawful_now);
        assert_eq!(
            decide(
                at("2026-03-15T17:00:00Z"),
                &mixed,
                &windows(false),
                false,
                true
            )
            .action,
            GuardAction::Nothing
        );
        // Louisiana's Mardi Gras 2027 (Tuesday 9 February).
        let la = vec![
            RecipientArea::new(chrono_tz::America::New_York, None),
            RecipientArea::new(chrono_tz::America::Chicago, StateCode::parse("LA").ok()),
        ];
        let d = decide(
            at("2027-02-09T17:00:00Z"),
            &la,
            &windows(false),
            true,
            false,
        );
        assert_eq!(d.action, GuardAction::Stop, "{}", d.reason);
        assert!(d.reason.contains("LA"), "{}", d.reason);
        let fl = vec![RecipientArea::new(
            chrono_tz::America::New_York,
            StateCode::parse("FL").ok(),
        )];
        // 20:30 on a Tuesday in Florida: past the state's 20:00.
        let d = decide(
            at("2026-03-11T00:30:00Z"),
            &fl,
            &windows(false),
            true,
            false,
        );
        assert_eq!(d.action, GuardAction::Stop);
    }
}
