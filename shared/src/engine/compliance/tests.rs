//! Scenario tests of the compliance engine: DST edges, state rules, holidays,
//! refuse and clip modes, the run-time guard.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::*;

fn tz(name: &str) -> Tz {
    parse_zone(name).expect("test zone")
}

fn w(start: &str, end: &str) -> DayWindow {
    DayWindow::parse(start, end).expect("test window")
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("test date")
}

fn state(code: &str) -> StateCode {
    StateCode::parse(code).expect("test state")
}

fn area(zone: &str, st: Option<&str>) -> RecipientArea {
    RecipientArea::parse(zone, st).expect("test area")
}

fn schedule(zone: &str, days: &[(Day, &str, &str)]) -> WeeklySchedule {
    WeeklySchedule::new(
        tz(zone),
        days.iter()
            .map(|&(d, s, e)| (d, w(s, e)))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn every_day(zone: &str, start: &str, end: &str) -> WeeklySchedule {
    WeeklySchedule::new(
        tz(zone),
        Day::ALL.iter().map(|&d| (d, w(start, end))).collect(),
    )
}

fn year_2027() -> CheckPeriod {
    CheckPeriod::year_from(ymd(2027, 1, 1)).expect("period")
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("test instant")
}

#[test]
fn new_york_window_shifted_one_hour_is_lawful_for_chicago_across_both_dst_transitions() {
    // 09:00-22:00 New York is 08:00-21:00 Chicago all year: both zones move together.
    let sched = every_day("America/New_York", "09:00", "22:00");
    let verdict = check_schedule(
        &sched,
        &[area("America/Chicago", None)],
        year_2027(),
        ViolationMode::Refuse,
    );
    assert!(verdict.is_lawful(), "{verdict:?}");
    // And around the transition days themselves (2027-03-14 and 2027-11-07).
    for first in [ymd(2027, 3, 10), ymd(2027, 11, 3)] {
        let period = CheckPeriod::new(first, first + chrono::Days::new(9)).expect("period");
        assert!(check_schedule(
            &sched,
            &[area("America/Chicago", None)],
            period,
            ViolationMode::Refuse
        )
        .is_lawful());
    }
}

#[test]
fn new_york_08_to_21_is_not_lawful_for_chicago_08_00_new_york_is_07_00_chicago() {
    let sched = schedule("America/New_York", &[(Day::Monday, "08:00", "21:00")]);
    let verdict = check_schedule(
        &sched,
        &[area("America/Chicago", None)],
        year_2027(),
        ViolationMode::Refuse,
    );
    let v = verdict.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].rule, RuleId::Federal);
    assert_eq!(v[0].lawful, Some(w("09:00", "22:00")));
    assert_eq!(v[0].occurrences, 52);
}

#[test]
fn window_starting_08_00_new_york_violates_for_los_angeles() {
    let sched = schedule("America/New_York", &[(Day::Monday, "08:00", "21:00")]);
    let verdict = check_schedule(
        &sched,
        &[area("America/Los_Angeles", None)],
        year_2027(),
        ViolationMode::Refuse,
    );
    let v = verdict.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].day, Day::Monday);
    assert_eq!(v[0].recipient_zone, tz("America/Los_Angeles"));
    assert_eq!(v[0].rule, RuleId::Federal);
    assert_eq!(v[0].requested, w("08:00", "21:00"));
    // 08:00 in LA is 11:00 in New York; LA's 21:00 is New York's midnight (shown 23:59).
    assert_eq!(v[0].lawful, Some(w("11:00", "23:59")));
    assert_eq!(v[0].source, FEDERAL_HOURS_SOURCE);
    // The run-time guard agrees: 08:00 EST is 05:00 PST.
    let err = is_lawful_to_dial(utc(2027, 1, 4, 13, 0), tz("America/Los_Angeles"), None)
        .expect_err("05:00 local");
    assert_eq!(err.rule, RuleId::Federal);
    assert_eq!(err.local_time.format("%H:%M").to_string(), "05:00");
    assert_eq!(err.lawful_local, Some(w("08:00", "21:00")));
}

#[test]
fn window_lawful_in_new_york_but_not_in_los_angeles() {
    let sched = schedule("America/New_York", &[(Day::Tuesday, "09:00", "20:00")]);
    let ny_only = check_schedule(
        &sched,
        &[area("America/New_York", None)],
        year_2027(),
        ViolationMode::Refuse,
    );
    assert!(ny_only.is_lawful());
    let both = check_schedule(
        &sched,
        &[
            area("America/New_York", None),
            area("America/Los_Angeles", None),
        ],
        year_2027(),
        ViolationMode::Refuse,
    );
    let v = both.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].recipient_zone, tz("America/Los_Angeles"));
    assert_eq!(v[0].lawful, Some(w("11:00", "23:59")));
}

#[test]
fn arizona_against_denver_differs_between_summer_and_winter() {
    // Denver 08:00-21:00; Phoenix keeps MST all year.
    let sched = schedule("America/Denver", &[(Day::Monday, "08:00", "21:00")]);
    let phoenix = [area("America/Phoenix", None)];
    let verdict = check_schedule(&sched, &phoenix, year_2027(), ViolationMode::Refuse);
    let v = verdict.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    // Only while Denver is on daylight time: 08:00 MDT is 07:00 in Phoenix.
    assert_eq!(
        (v[0].first_date, v[0].last_date),
        (ymd(2027, 3, 15), ymd(2027, 11, 1))
    );
    assert_eq!(v[0].occurrences, 34);
    // Lawful on every Monday: winter 08:00-21:00 ∩ summer 09:00-22:00.
    assert_eq!(v[0].lawful, Some(w("09:00", "21:00")));

    // A winter-only period sees no violation.
    let winter = CheckPeriod::new(ymd(2027, 11, 8), ymd(2028, 3, 1)).expect("period");
    assert!(check_schedule(&sched, &phoenix, winter, ViolationMode::Refuse).is_lawful());

    // The guard: 08:30 Denver on a summer Monday is 07:30 in Phoenix.
    let summer = utc(2027, 7, 12, 14, 30);
    assert_eq!(
        is_lawful_to_dial(summer, tz("America/Phoenix"), None).map_err(|e| e.rule),
        Err(RuleId::Federal)
    );
    assert_eq!(
        is_lawful_to_dial(summer, tz("America/Denver"), None),
        Ok(())
    );
    let winter_instant = utc(2027, 1, 11, 15, 30);
    assert_eq!(
        is_lawful_to_dial(winter_instant, tz("America/Phoenix"), None),
        Ok(())
    );
}

#[test]
fn guard_follows_dst_in_new_york() {
    let ny = tz("America/New_York");
    // Saturday before spring forward: 13:00 UTC is 08:00 EST.
    assert_eq!(is_lawful_to_dial(utc(2027, 3, 13, 13, 0), ny, None), Ok(()));
    assert!(is_lawful_to_dial(utc(2027, 3, 13, 12, 59), ny, None).is_err());
    // Sunday of spring forward: 12:00 UTC is 08:00 EDT.
    assert_eq!(is_lawful_to_dial(utc(2027, 3, 14, 12, 0), ny, None), Ok(()));
    assert!(is_lawful_to_dial(utc(2027, 3, 14, 11, 59), ny, None).is_err());
    // Sunday of fall back: 01:00 UTC Monday is 20:00 EST Sunday (lawful), 02:00 UTC is 21:00.
    assert_eq!(is_lawful_to_dial(utc(2027, 11, 8, 1, 59), ny, None), Ok(()));
    assert!(is_lawful_to_dial(utc(2027, 11, 8, 2, 0), ny, None).is_err());
}

#[test]
fn whole_day_window_on_transition_days_is_clipped_to_local_hours() {
    for first in [ymd(2027, 3, 8), ymd(2027, 11, 1)] {
        let period = CheckPeriod::new(first, first + chrono::Days::new(6)).expect("period");
        let sched = schedule("America/New_York", &[(Day::Sunday, "00:00", "23:59")]);
        let verdict = check_schedule(
            &sched,
            &[area("America/New_York", None)],
            period,
            ViolationMode::Clip,
        );
        let ScheduleVerdict::Clipped(c) = verdict else {
            panic!("expected clip: {verdict:?}")
        };
        assert_eq!(
            c.schedule.days.get(&Day::Sunday),
            Some(&w("08:00", "21:00"))
        );
        assert_eq!(
            c.clipped[0].removed,
            vec![w("00:00", "08:00"), w("21:00", "23:59")]
        );
    }
}

#[test]
fn florida_ends_at_20_00() {
    let sched = schedule("America/New_York", &[(Day::Wednesday, "08:00", "21:00")]);
    let verdict = check_schedule(
        &sched,
        &[area("America/New_York", Some("FL"))],
        year_2027(),
        ViolationMode::Refuse,
    );
    let v = verdict.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].rule, RuleId::StateHours(state("FL")));
    assert_eq!(v[0].state, Some(state("FL")));
    assert_eq!(v[0].lawful, Some(w("08:00", "20:00")));
    assert!(v[0].source.contains("501.616"));
    // Guard: 19:59 EDT lawful, 20:00 not.
    let ny = tz("America/New_York");
    assert_eq!(
        is_lawful_to_dial(utc(2027, 6, 2, 23, 59), ny, Some(state("FL"))),
        Ok(())
    );
    let err = is_lawful_to_dial(utc(2027, 6, 3, 0, 0), ny, Some(state("FL"))).expect_err("20:00");
    assert_eq!(err.rule, RuleId::StateHours(state("FL")));
    assert_eq!(err.lawful_local, Some(w("08:00", "20:00")));
    assert_eq!(
        state_rule(state("FL")).and_then(StateRule::max_calls_per_24h),
        Some(3)
    );
}

#[test]
fn no_sunday_calls_in_alabama() {
    let sched = schedule(
        "America/Chicago",
        &[
            (Day::Saturday, "09:00", "19:00"),
            (Day::Sunday, "12:00", "18:00"),
        ],
    );
    let al = [area("America/Chicago", Some("AL"))];
    let refused = check_schedule(&sched, &al, year_2027(), ViolationMode::Refuse);
    let v = refused.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        (v[0].day, v[0].rule, v[0].lawful),
        (Day::Sunday, RuleId::StateNoSunday(state("AL")), None)
    );

    let ScheduleVerdict::Clipped(c) = check_schedule(&sched, &al, year_2027(), ViolationMode::Clip)
    else {
        panic!("expected clip")
    };
    assert_eq!(c.days_removed, vec![Day::Sunday]);
    assert_eq!(
        c.schedule.days.get(&Day::Saturday),
        Some(&w("09:00", "19:00"))
    );
    assert!(!c.schedule.days.contains_key(&Day::Sunday));
    assert_eq!(
        c.clipped,
        vec![ClippedDay {
            day: Day::Sunday,
            requested: w("12:00", "18:00"),
            kept: None,
            removed: vec![w("12:00", "18:00")]
        }]
    );

    // Guard on a Sunday afternoon in Alabama.
    let err = is_lawful_to_dial(
        utc(2027, 3, 7, 21, 0),
        tz("America/Chicago"),
        Some(state("AL")),
    )
    .expect_err("Sunday");
    assert_eq!(err.rule, RuleId::StateNoSunday(state("AL")));
    assert_eq!(err.lawful_local, None);
    assert_eq!(
        lawful_local_window(ymd(2027, 3, 7), Some(state("AL"))),
        None
    );
    assert_eq!(
        lawful_local_window(ymd(2027, 3, 8), Some(state("AL"))),
        Some(w("08:00", "20:00"))
    );
}

#[test]
fn louisiana_holidays_are_blacked_out_not_refused() {
    let sched = schedule(
        "America/Chicago",
        &[
            (Day::Tuesday, "09:00", "19:00"),
            (Day::Friday, "09:00", "19:00"),
        ],
    );
    let la = [area("America/Chicago", Some("LA"))];
    let verdict = check_schedule(&sched, &la, year_2027(), ViolationMode::Refuse);
    assert!(verdict.is_lawful(), "{verdict:?}");
    let blackouts = verdict.blackouts();
    let mardi_gras = blackouts
        .iter()
        .find(|b| b.first_date == ymd(2027, 2, 9))
        .expect("Mardi Gras blackout");
    assert_eq!(mardi_gras.holiday, Some("Mardi Gras"));
    assert_eq!(mardi_gras.rule, RuleId::StateHoliday(state("LA")));
    assert_eq!(mardi_gras.day, Day::Tuesday);
    // Christmas 2027 is a Saturday, observed (and blacked out) on Friday 24 December.
    let christmas = blackouts
        .iter()
        .find(|b| b.first_date == ymd(2027, 12, 24))
        .expect("Christmas observed");
    assert_eq!(christmas.holiday, Some("Christmas Day"));
    // Good Friday 2027-03-26.
    assert!(blackouts
        .iter()
        .any(|b| b.first_date == ymd(2027, 3, 26) && b.holiday == Some("Good Friday")));

    // Guard on Mardi Gras at noon.
    let err = is_lawful_to_dial(
        utc(2027, 2, 9, 18, 0),
        tz("America/Chicago"),
        Some(state("LA")),
    )
    .expect_err("Mardi Gras");
    assert_eq!(err.rule, RuleId::StateHoliday(state("LA")));
    assert_eq!(err.holiday, Some("Mardi Gras"));
    assert_eq!(
        lawful_local_window(ymd(2027, 2, 9), Some(state("LA"))),
        None
    );
    // The day after is an ordinary Wednesday.
    assert_eq!(
        is_lawful_to_dial(
            utc(2027, 2, 10, 18, 0),
            tz("America/Chicago"),
            Some(state("LA"))
        ),
        Ok(())
    );
}

#[test]
fn federal_holiday_on_saturday_is_observed_friday_and_banned_for_holiday_states() {
    // 2026-07-04 is a Saturday: the federal holiday is kept on Friday 3 July.
    let july4 = federal_holidays(2026)
        .into_iter()
        .find(|h| h.name == "Independence Day")
        .expect("July 4");
    assert_eq!(
        (july4.date, july4.observed),
        (ymd(2026, 7, 4), ymd(2026, 7, 3))
    );
    // Alabama keeps it the same way; both days are dark for Alabama recipients.
    let chicago = tz("America/Chicago");
    let friday_noon = utc(2026, 7, 3, 17, 0);
    let err =
        is_lawful_to_dial(friday_noon, chicago, Some(state("AL"))).expect_err("observed holiday");
    assert_eq!(
        (err.rule, err.holiday),
        (RuleId::StateHoliday(state("AL")), Some("Independence Day"))
    );
    assert!(is_lawful_to_dial(utc(2026, 7, 4, 17, 0), chicago, Some(state("AL"))).is_err());
    // Federal law itself has no holiday ban.
    assert_eq!(is_lawful_to_dial(friday_noon, chicago, None), Ok(()));
}

#[test]
fn texas_sunday_starts_at_noon() {
    let sched = schedule("America/Chicago", &[(Day::Sunday, "10:00", "18:00")]);
    let verdict = check_schedule(
        &sched,
        &[area("America/Chicago", Some("TX"))],
        year_2027(),
        ViolationMode::Refuse,
    );
    let v = verdict.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        (v[0].rule, v[0].lawful),
        (RuleId::StateHours(state("TX")), Some(w("12:00", "21:00")))
    );
}

#[test]
fn clip_mode_keeps_the_intersection_over_recipients() {
    let sched = schedule(
        "America/New_York",
        &[
            (Day::Monday, "07:00", "22:00"),
            (Day::Tuesday, "12:00", "19:00"),
        ],
    );
    let recipients = [
        area("America/New_York", Some("FL")),
        area("America/Los_Angeles", None),
    ];
    let verdict = check_schedule(&sched, &recipients, year_2027(), ViolationMode::Clip);
    let ScheduleVerdict::Clipped(c) = verdict else {
        panic!("expected clip: {verdict:?}")
    };
    // Florida (NY zone): 08:00-20:00; Los Angeles: 11:00-24:00 New York time.
    assert_eq!(
        c.schedule.days.get(&Day::Monday),
        Some(&w("11:00", "20:00"))
    );
    // Tuesday was already lawful and is kept as asked.
    assert_eq!(
        c.schedule.days.get(&Day::Tuesday),
        Some(&w("12:00", "19:00"))
    );
    assert_eq!(c.clipped.len(), 1);
    assert_eq!(c.clipped[0].day, Day::Monday);
    assert_eq!(c.clipped[0].kept, Some(w("11:00", "20:00")));
    assert_eq!(
        c.clipped[0].removed,
        vec![w("07:00", "11:00"), w("20:00", "22:00")]
    );
    assert!(c.days_removed.is_empty());
    assert_eq!(c.schedule.time_zone, tz("America/New_York"));
    // The clipped schedule is itself lawful.
    assert!(
        check_schedule(&c.schedule, &recipients, year_2027(), ViolationMode::Refuse).is_lawful()
    );
}

#[test]
fn refuse_mode_lists_every_violation() {
    let sched = schedule(
        "America/New_York",
        &[
            (Day::Monday, "07:00", "22:00"),
            (Day::Sunday, "07:00", "22:00"),
        ],
    );
    let recipients = [
        area("America/New_York", Some("FL")),
        area("America/Los_Angeles", None),
        area("America/Chicago", Some("AL")),
    ];
    let verdict = check_schedule(&sched, &recipients, year_2027(), ViolationMode::Refuse);
    let ScheduleVerdict::Refused { violations, .. } = &verdict else {
        panic!("expected refusal: {verdict:?}")
    };
    let found: Vec<(Day, &str, Option<&str>, String)> = violations
        .iter()
        .map(|v| {
            (
                v.day,
                v.recipient_zone.name(),
                v.state.map(StateCode::as_str),
                v.rule.to_string(),
            )
        })
        .collect();
    let mut expected = Vec::new();
    for day in [Day::Monday, Day::Sunday] {
        expected.push((
            day,
            "America/Chicago",
            Some("AL"),
            "state-hours:AL".to_owned(),
        ));
        expected.push((
            day,
            "America/Chicago",
            Some("AL"),
            "federal-hours".to_owned(),
        ));
        expected.push((day, "America/Los_Angeles", None, "federal-hours".to_owned()));
        expected.push((
            day,
            "America/New_York",
            Some("FL"),
            "state-hours:FL".to_owned(),
        ));
        expected.push((
            day,
            "America/New_York",
            Some("FL"),
            "federal-hours".to_owned(),
        ));
    }
    // Sunday also breaks Alabama's Sunday ban; Sunday-night Chicago bleeds into
    // Monday 00:00-01:00 New York only, outside the Monday window.
    expected.push((
        Day::Sunday,
        "America/Chicago",
        Some("AL"),
        "state-no-sunday:AL".to_owned(),
    ));
    let sort = |v: &mut Vec<(Day, &str, Option<&str>, String)>| v.sort();
    let (mut found, mut expected) = (found, expected);
    sort(&mut found);
    sort(&mut expected);
    assert_eq!(found, expected);
    // Each names the lawful window of its own rule.
    let al_hours = violations
        .iter()
        .find(|v| v.day == Day::Monday && v.rule == RuleId::StateHours(state("AL")))
        .expect("AL hours");
    assert_eq!(al_hours.lawful, Some(w("09:00", "21:00")));
}

#[test]
fn verdict_serialises_for_the_api() {
    let sched = schedule("America/New_York", &[(Day::Monday, "08:00", "21:00")]);
    let verdict = check_schedule(
        &sched,
        &[area("America/Los_Angeles", None)],
        year_2027(),
        ViolationMode::Refuse,
    );
    let json = serde_json::to_value(&verdict).expect("serialise");
    assert_eq!(json["verdict"], "refused");
    let v = &json["violations"][0];
    assert_eq!(v["day"], "monday");
    assert_eq!(v["recipientZone"], "America/Los_Angeles");
    assert_eq!(v["rule"], "federal-hours");
    assert_eq!(v["requested"]["start"], "08:00");
    assert_eq!(v["lawful"]["start"], "11:00");
    assert_eq!(v["state"], serde_json::Value::Null);
    assert_eq!(v["firstDate"], "2027-01-04");

    let ScheduleVerdict::Clipped(c) = check_schedule(
        &sched,
        &[area("America/Los_Angeles", None)],
        year_2027(),
        ViolationMode::Clip,
    ) else {
        panic!("expected clip")
    };
    let json = serde_json::to_value(ScheduleVerdict::Clipped(c)).expect("serialise");
    assert_eq!(json["verdict"], "clipped");
    assert_eq!(json["schedule"]["timeZone"], "America/New_York");
    assert_eq!(json["schedule"]["days"]["monday"]["start"], "11:00");
}

#[test]
fn empty_recipients_mean_the_campaign_zone() {
    let sched = schedule("America/Chicago", &[(Day::Friday, "07:30", "20:00")]);
    let v = check_schedule(&sched, &[], year_2027(), ViolationMode::Refuse);
    assert_eq!(v.violations().len(), 1);
    assert_eq!(v.violations()[0].recipient_zone, tz("America/Chicago"));
}

#[test]
fn duplicate_recipients_are_reported_once() {
    let sched = schedule("America/New_York", &[(Day::Monday, "08:00", "21:00")]);
    let la = area("America/Los_Angeles", None);
    let v = check_schedule(&sched, &[la, la, la], year_2027(), ViolationMode::Refuse);
    assert_eq!(v.violations().len(), 1);
    assert_eq!(dial_violations(utc(2027, 1, 4, 13, 0), &[la, la]).len(), 1);
}

#[test]
fn hawaii_and_guam_against_new_york() {
    // Honolulu 08:00-21:00 is 13:00-02:00 (winter) or 14:00-03:00 (summer) in New York.
    let sched = schedule("America/New_York", &[(Day::Wednesday, "14:00", "23:59")]);
    let v = check_schedule(
        &sched,
        &[area("Pacific/Honolulu", None)],
        year_2027(),
        ViolationMode::Refuse,
    );
    assert!(v.is_lawful(), "{v:?}");
    // Guam is 14 or 15 hours ahead: Wednesday 18:00-21:00 NY is Thursday 08:00/09:00-11:00/12:00 Guam.
    let sched = schedule("America/New_York", &[(Day::Wednesday, "18:00", "21:00")]);
    let v = check_schedule(
        &sched,
        &[area("Pacific/Guam", None)],
        year_2027(),
        ViolationMode::Refuse,
    );
    assert!(v.is_lawful(), "{v:?}");
    let sched = schedule("America/New_York", &[(Day::Wednesday, "17:00", "21:00")]);
    let v = check_schedule(
        &sched,
        &[area("Pacific/Guam", None)],
        year_2027(),
        ViolationMode::Refuse,
    );
    // Winter: 17:00 EST = 08:00 ChST (lawful); summer: 17:00 EDT = 07:00 ChST.
    assert_eq!(v.violations().len(), 1);
    assert_eq!(v.violations()[0].lawful, Some(w("18:00", "23:59")));
}

#[test]
fn periods_and_areas_are_parsed() {
    assert!(CheckPeriod::new(ymd(2027, 1, 7), ymd(2027, 1, 1)).is_err());
    assert!(CheckPeriod::new(ymd(2027, 1, 1), ymd(2027, 1, 6)).is_err());
    assert!(CheckPeriod::new(ymd(2027, 1, 1), ymd(2027, 1, 7)).is_ok());
    assert!(CheckPeriod::new(ymd(2027, 1, 1), ymd(2029, 6, 1)).is_err());
    let year = CheckPeriod::year_from(ymd(2028, 1, 1)).expect("period");
    assert_eq!(year.dates().count(), 366);
    assert_eq!(
        RecipientArea::parse("Mars/Olympus_Mons", None),
        Err(ComplianceError::UnknownTimeZone(
            "Mars/Olympus_Mons".to_owned()
        ))
    );
    assert_eq!(
        RecipientArea::parse("America/Chicago", Some("XX")),
        Err(ComplianceError::UnknownState("XX".to_owned()))
    );
}

#[test]
fn ring_time_and_abandonment_limits() {
    assert!(ring_time_ok(15));
    assert!(ring_time_ok(30));
    assert!(!ring_time_ok(14));
    assert!(!ring_time_ok(0));
    assert!(abandonment_target_ok(3.0));
    assert!(abandonment_target_ok(2.5));
    assert!(abandonment_target_ok(0.0));
    assert!(!abandonment_target_ok(3.01));
    assert!(!abandonment_target_ok(-0.1));
    assert!(!abandonment_target_ok(f64::NAN));
    assert!(!abandonment_target_ok(f64::INFINITY));
    assert!(RING_TIME_SOURCE.contains("310.4(b)(4)(ii)"));
    assert!(ABANDONMENT_SOURCE.contains("310.4(b)(4)(i)"));
}

#[test]
fn lawful_local_windows() {
    assert_eq!(
        lawful_local_window(ymd(2027, 3, 8), None),
        Some(FEDERAL_WINDOW)
    );
    assert_eq!(
        lawful_local_window(ymd(2027, 3, 7), Some(state("TX"))),
        Some(w("12:00", "21:00"))
    );
    assert_eq!(
        lawful_local_window(ymd(2027, 3, 8), Some(state("UT"))),
        Some(w("08:00", "21:00"))
    );
    assert_eq!(
        lawful_local_window(ymd(2027, 7, 24), Some(state("UT"))),
        None
    ); // Pioneer Day (a Saturday)
    assert_eq!(
        lawful_local_window(ymd(2027, 3, 8), Some(state("NY"))),
        Some(FEDERAL_WINDOW)
    );
}

#[test]
fn longest_period_with_many_recipients_is_checked_quickly() {
    // 800 days x 7 days x 9 recipient areas, holiday states included; must stay cheap
    // enough to run inside an API request.
    let sched = every_day("America/New_York", "08:00", "21:00");
    let recipients = [
        area("America/New_York", Some("FL")),
        area("America/New_York", Some("MD")),
        area("America/Chicago", Some("AL")),
        area("America/Chicago", Some("LA")),
        area("America/Chicago", Some("TX")),
        area("America/Denver", Some("UT")),
        area("America/Phoenix", None),
        area("America/Los_Angeles", Some("WA")),
        area("Pacific/Honolulu", None),
    ];
    let period = CheckPeriod::new(ymd(2027, 1, 1), ymd(2029, 3, 10)).expect("period");
    let started = std::time::Instant::now();
    let verdict = check_schedule(&sched, &recipients, period, ViolationMode::Clip);
    eprintln!("heavy check: {:?}", started.elapsed());
    let ScheduleVerdict::Clipped(c) = verdict else {
        panic!("expected clip")
    };
    // Sundays are removed (Alabama, Louisiana, Utah ban them); weekdays keep the
    // intersection: Honolulu 08:00 is 14:00 New York in summer (13:00 in winter);
    // Florida and Maryland end at 20:00.
    assert_eq!(c.days_removed, vec![Day::Sunday]);
    assert_eq!(
        c.schedule.days.get(&Day::Monday),
        Some(&w("14:00", "20:00"))
    );
    assert!(!c.blackouts.is_empty());
}

#[test]
fn request_zones_and_states_become_areas() {
    let zones = [tz("America/New_York"), tz("America/Los_Angeles")];
    let areas = recipient_areas(&zones, &[state("FL"), state("NY"), state("TX")]);
    let names: Vec<(&str, Option<&str>)> = areas
        .iter()
        .map(|a| (a.zone.name(), a.state.map(StateCode::as_str)))
        .collect();
    assert_eq!(
        names,
        vec![
            // Texas has none of its zones listed: both of them are checked.
            ("America/Chicago", Some("TX")),
            ("America/Denver", Some("TX")),
            ("America/Los_Angeles", None),
            ("America/New_York", None),
            // Florida's Central panhandle is not listed, so only its Eastern part.
            ("America/New_York", Some("FL")),
            ("America/New_York", Some("NY")),
        ]
    );
    assert_eq!(recipient_areas(&zones, &[]).len(), 2);
}

#[test]
fn cxone_zone_windows() {
    let areas = recipient_areas(
        &[tz("America/New_York"), tz("America/Chicago")],
        &[state("FL"), state("TX")],
    );
    let weekdays = [
        Day::Monday,
        Day::Tuesday,
        Day::Wednesday,
        Day::Thursday,
        Day::Friday,
    ];
    assert_eq!(
        cxone_zone_window(tz("America/New_York"), &areas, &weekdays),
        Some(w("08:00", "20:00"))
    );
    // Chicago holds Florida's panhandle (08:00-20:00) and Texas (09:00-21:00).
    assert_eq!(
        cxone_zone_window(tz("America/Chicago"), &areas, &weekdays),
        Some(w("09:00", "20:00"))
    );
    assert_eq!(
        cxone_zone_window(tz("America/Chicago"), &areas, &[Day::Sunday]),
        Some(w("12:00", "20:00"))
    );
    assert_eq!(
        cxone_zone_window(tz("America/Phoenix"), &areas, &weekdays),
        Some(FEDERAL_WINDOW)
    );
}
