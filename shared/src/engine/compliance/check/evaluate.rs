//! Evaluating the rules on one date or instant: the rules applied to a
//! recipient, their lawful minutes with holiday lists cached, and the
//! campaign clock's daylight-saving gaps and repeats.

use super::*;

/// A rule as applied to one recipient.
#[derive(Debug, Clone, Copy)]
pub(super) enum Applied {
    Holiday(&'static StateRule),
    NoSunday(&'static StateRule),
    Hours(&'static StateRule),
    Federal,
}

impl Applied {
    pub(super) fn id(self) -> RuleId {
        match self {
            Applied::Holiday(r) => RuleId::StateHoliday(r.state()),
            Applied::NoSunday(r) => RuleId::StateNoSunday(r.state()),
            Applied::Hours(r) => RuleId::StateHours(r.state()),
            Applied::Federal => RuleId::Federal,
        }
    }

    pub(super) fn source(self) -> &'static str {
        match self {
            Applied::Holiday(r) | Applied::NoSunday(r) | Applied::Hours(r) => r.source(),
            Applied::Federal => FEDERAL_HOURS_SOURCE,
        }
    }
}

/// The rules for a recipient, day-level bans first.
pub(super) fn applied_rules(state: Option<StateCode>) -> Vec<Applied> {
    let mut rules = Vec::with_capacity(4);
    if let Some(row) = state.and_then(state_rule) {
        if row.no_state_holidays() {
            rules.push(Applied::Holiday(row));
        }
        if row.no_sundays() {
            rules.push(Applied::NoSunday(row));
        }
        rules.push(Applied::Hours(row));
    }
    rules.push(Applied::Federal);
    rules
}

/// Rule evaluation with holiday lists cached per calendar and year.
#[derive(Default)]
pub(super) struct Evaluator {
    pub(super) holidays: HashMap<(&'static str, i32), Vec<Holiday>>,
}

impl Evaluator {
    pub(super) fn holiday(&mut self, rule: &'static StateRule, date: NaiveDate) -> Option<Holiday> {
        let (id, calendar) = rule.holiday_calendar()?;
        let year = date.year();
        (year - 1..=year + 1).find_map(|y| {
            self.holidays
                .entry((id, y))
                .or_insert_with(|| calendar.holidays_in(id, y))
                .iter()
                .find(|h| h.covers(date))
                .copied()
        })
    }

    /// The recipient-local minute span `rule` allows on `date`; `None` if none.
    pub(super) fn local_span(&mut self, rule: Applied, date: NaiveDate) -> Option<(u16, u16)> {
        match rule {
            Applied::Federal => Some(FEDERAL_WINDOW.span()),
            Applied::Hours(r) => Some(r.hours().for_day(Day::from(date.weekday())).span()),
            Applied::NoSunday(_) => (date.weekday() != Weekday::Sun).then_some((0, DAY_MINUTES)),
            Applied::Holiday(r) => self.holiday(r, date).is_none().then_some((0, DAY_MINUTES)),
        }
    }

    pub(super) fn allows(&mut self, rule: Applied, local: NaiveDateTime) -> bool {
        let minute = floor_minute(local.time());
        self.local_span(rule, local.date())
            .is_some_and(|(s, e)| s <= minute && minute < e)
    }

    /// Per rule, the campaign wall-clock minutes of `date` the rule allows for `recipient`.
    pub(super) fn day_sets(
        &mut self,
        campaign: Tz,
        date: NaiveDate,
        recipient: &RecipientArea,
        rules: &[Applied],
    ) -> Vec<MinuteSet> {
        let mut points = BTreeSet::from([0u16]);

        // Where the campaign's own clock jumps on this date.
        let kind_at = |m: u16| at_minute(date, m).map(|l| clock_kind(campaign, l));
        let (first, last) = (kind_at(0), kind_at(DAY_MINUTES - 1));
        if first != last {
            let mut prev = first;
            for m in 1..DAY_MINUTES {
                let k = kind_at(m);
                if k != prev {
                    points.insert(m);
                }
                prev = k;
            }
        }

        // Where a boundary of the recipient's local days lands on this date.
        for shift in -2i64..=2 {
            let Some(day) = shift_date(date, shift) else {
                continue;
            };
            let mut bounds = vec![0u16];
            for &rule in rules {
                if let Some((s, e)) = self.local_span(rule, day) {
                    bounds.extend([s, e]);
                }
            }
            for bound in bounds {
                let Some(local) = at_minute(day, bound) else {
                    continue;
                };
                for instant in boundary_instants(recipient.zone, local) {
                    let wall = instant.with_timezone(&campaign).naive_local();
                    if wall.date() == date {
                        let m = ceil_minute(wall.time());
                        if m > 0 && m < DAY_MINUTES {
                            points.insert(m);
                        }
                    }
                }
            }
        }

        let points: Vec<u16> = points.into_iter().collect();
        let mut sets = vec![MinuteSet::empty(); rules.len()];
        for (i, &start) in points.iter().enumerate() {
            let end = points.get(i + 1).copied().unwrap_or(DAY_MINUTES);
            let locals: Vec<NaiveDateTime> = at_minute(date, start)
                .map(|l| instants(campaign, l))
                .unwrap_or_default()
                .iter()
                .map(|t| t.with_timezone(&recipient.zone).naive_local())
                .collect();
            for (set, &rule) in sets.iter_mut().zip(rules) {
                if locals.iter().all(|&l| self.allows(rule, l)) {
                    set.push(start, end);
                }
            }
        }
        sets
    }

    /// The holiday behind a blackout: the one on the recipient's local date at the
    /// first banned minute of the window.
    pub(super) fn blackout_holiday(
        &mut self,
        rule: &'static StateRule,
        campaign: Tz,
        recipient: Tz,
        date: NaiveDate,
        allowed: &MinuteSet,
        window: DayWindow,
    ) -> Option<&'static str> {
        let (ws, we) = window.span();
        let banned = allowed.complement_within(ws, we);
        let &(minute, _) = banned.spans().first()?;
        let local = at_minute(date, minute)?;
        instants(campaign, local)
            .iter()
            .find_map(|t| self.holiday(rule, t.with_timezone(&recipient).date_naive()))
            .map(|h| h.name)
    }
}

/// The shape of the local clock at a wall time: one instant (with its UTC offset),
/// two (fall back), or none (spring forward).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClockKind {
    Single(i32),
    Ambiguous(i32, i32),
    Gap,
}

pub(super) fn clock_kind(tz: Tz, local: NaiveDateTime) -> ClockKind {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => ClockKind::Single(t.offset().fix().local_minus_utc()),
        LocalResult::Ambiguous(a, b) => ClockKind::Ambiguous(
            a.offset().fix().local_minus_utc(),
            b.offset().fix().local_minus_utc(),
        ),
        LocalResult::None => ClockKind::Gap,
    }
}

/// Every instant showing wall time `local` in `tz` (none in a gap, two in a fold).
pub(super) fn instants(tz: Tz, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
        LocalResult::Ambiguous(a, b) => vec![a.with_timezone(&Utc), b.with_timezone(&Utc)],
        LocalResult::None => Vec::new(),
    }
}

/// Like [`instants`], but a wall time in a gap maps to the first instant after it
/// (where a boundary inside a skipped hour takes effect).
pub(super) fn boundary_instants(tz: Tz, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
    let found = instants(tz, local);
    if !found.is_empty() {
        return found;
    }
    (1..=i64::from(DAY_MINUTES))
        .filter_map(|k| local.checked_add_signed(TimeDelta::try_minutes(k)?))
        .find_map(|later| instants(tz, later).first().copied())
        .into_iter()
        .collect()
}

/// `date` at `minute` past midnight; minute 1440 is the next midnight.
pub(super) fn at_minute(date: NaiveDate, minute: u16) -> Option<NaiveDateTime> {
    let (date, minute) = if minute >= DAY_MINUTES {
        (date.succ_opt()?, minute - DAY_MINUTES)
    } else {
        (date, minute)
    };
    date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)
}

pub(super) fn shift_date(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    let magnitude = Days::new(days.unsigned_abs());
    if days >= 0 {
        date.checked_add_days(magnitude)
    } else {
        date.checked_sub_days(magnitude)
    }
}

pub(super) fn floor_minute(time: NaiveTime) -> u16 {
    // hour < 24 and minute < 60: at most 1439, fits in u16.
    (time.hour() * 60 + time.minute()) as u16
}

pub(super) fn ceil_minute(time: NaiveTime) -> u16 {
    let m = floor_minute(time);
    if time.second() > 0 || time.nanosecond() > 0 {
        m + 1
    } else {
        m
    }
}
