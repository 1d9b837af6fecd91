//! Deploy-time checking of a weekly schedule: walking every date of the
//! period for every recipient and rule, holiday blackouts, the weekly
//! violations found, and clip mode.

use super::*;

/// Each distinct recipient area with the rules applied to it.
pub(super) type Plans = Vec<(RecipientArea, Vec<Applied>)>;

/// Per schedule day, recipient (index into [`Plans`]) and weekly rule (index
/// into that recipient's rules): what the dates of that day showed.
pub(super) type Tracks = BTreeMap<(Day, usize, usize), Track>;

/// Evaluates every date of `period` whose weekday has a window, for every
/// recipient and rule: the weekly rules' lawful sets and violations go into
/// the tracks; a holiday ban that takes away part of a window is a blackout
/// of that date (the window guard's, not grounds for refusing).
pub(super) fn walk_period(
    schedule: &WeeklySchedule,
    plans: &Plans,
    period: CheckPeriod,
) -> (Tracks, Vec<Violation>) {
    let mut eval = Evaluator::default();
    let mut tracks = Tracks::new();
    let mut blackouts = Vec::new();
    for date in period.dates() {
        let day = Day::from(date.weekday());
        let Some(&window) = schedule.days.get(&day) else {
            continue;
        };
        let (ws, we) = window.span();
        for (ri, (recipient, rules)) in plans.iter().enumerate() {
            let sets = eval.day_sets(schedule.time_zone, date, recipient, rules);
            for (qi, (set, &rule)) in sets.iter().zip(rules).enumerate() {
                let violated = !set.covers(ws, we);
                if let Applied::Holiday(state_rule) = rule {
                    if violated {
                        blackouts.push(holiday_blackout(
                            &mut eval,
                            schedule.time_zone,
                            recipient,
                            state_rule,
                            date,
                            set,
                            window,
                        ));
                    }
                    continue;
                }
                let track = tracks.entry((day, ri, qi)).or_insert_with(Track::new);
                track.lawful = track.lawful.intersect(set);
                if violated {
                    track.record(date);
                }
            }
        }
    }
    (tracks, blackouts)
}

/// The blackout of `date` for `recipient`, whose state's holiday ban
/// (`state_rule`) leaves only `set` of the requested `window`.
pub(super) fn holiday_blackout(
    eval: &mut Evaluator,
    campaign: Tz,
    recipient: &RecipientArea,
    state_rule: &'static StateRule,
    date: NaiveDate,
    set: &MinuteSet,
    window: DayWindow,
) -> Violation {
    let rule = Applied::Holiday(state_rule);
    let (ws, we) = window.span();
    let holiday = eval.blackout_holiday(state_rule, campaign, recipient.zone, date, set, window);
    Violation {
        day: Day::from(date.weekday()),
        recipient_zone: recipient.zone,
        state: recipient.state,
        rule: rule.id(),
        requested: window,
        lawful: set.best_window(ws, we),
        source: rule.source(),
        first_date: date,
        last_date: date,
        occurrences: 1,
        holiday,
    }
}

/// The weekly rules' violations, one per day, recipient and rule that was
/// broken on some date, ordered by day, zone, state and rule.
pub(super) fn weekly_violations(
    schedule: &WeeklySchedule,
    plans: &Plans,
    tracks: &Tracks,
) -> Vec<Violation> {
    let mut violations: Vec<Violation> = tracks
        .iter()
        .filter_map(|(&(day, ri, qi), track)| {
            let (first, last, count) = track.violated?;
            let (recipient, rules) = plans.get(ri)?;
            let rule = *rules.get(qi)?;
            let requested = *schedule.days.get(&day)?;
            Some(Violation {
                day,
                recipient_zone: recipient.zone,
                state: recipient.state,
                rule: rule.id(),
                requested,
                lawful: track
                    .lawful
                    .best_window(requested.span().0, requested.span().1),
                source: rule.source(),
                first_date: first,
                last_date: last,
                occurrences: count,
                holiday: None,
            })
        })
        .collect();
    violations.sort_by(|a, b| {
        (a.day, a.recipient_zone.name(), a.state, a.rule).cmp(&(
            b.day,
            b.recipient_zone.name(),
            b.state,
            b.rule,
        ))
    });
    violations
}

/// Clip mode: each day cut to the longest window lawful for every
/// recipient, rule and date (a day with none is removed).
pub(super) fn clip(
    schedule: &WeeklySchedule,
    tracks: &Tracks,
    violations: Vec<Violation>,
    blackouts: Vec<Violation>,
) -> ClippedSchedule {
    let mut kept_days = BTreeMap::new();
    let mut clipped = Vec::new();
    let mut days_removed = Vec::new();
    for (&day, &window) in &schedule.days {
        let (ws, we) = window.span();
        let lawful = tracks
            .range((day, 0, 0)..=(day, usize::MAX, usize::MAX))
            .fold(MinuteSet::span(ws, we), |acc, (_, t)| {
                acc.intersect(&t.lawful)
            });
        if lawful.covers(ws, we) {
            kept_days.insert(day, window);
            continue;
        }
        let kept = lawful.longest_window();
        let kept_span = kept.map_or(MinuteSet::empty(), |k| {
            let (s, e) = k.span();
            MinuteSet::span(s, e)
        });
        let removed = kept_span
            .complement_within(ws, we)
            .spans()
            .iter()
            .filter_map(|&(s, e)| DayWindow::from_span(s, e))
            .collect();
        match kept {
            Some(k) => {
                kept_days.insert(day, k);
            }
            None => days_removed.push(day),
        }
        clipped.push(ClippedDay {
            day,
            requested: window,
            kept,
            removed,
        });
    }
    ClippedSchedule {
        schedule: WeeklySchedule::new(schedule.time_zone, kept_days),
        clipped,
        days_removed,
        violations,
        blackouts,
    }
}

/// Distinct recipient areas (the campaign's zone if none were given).
pub(super) fn distinct(campaign: Tz, recipients: &[RecipientArea]) -> Vec<RecipientArea> {
    let mut out: Vec<RecipientArea> = if recipients.is_empty() {
        vec![RecipientArea::new(campaign, None)]
    } else {
        recipients.to_vec()
    };
    out.sort_by(|a, b| (a.zone.name(), a.state).cmp(&(b.zone.name(), b.state)));
    out.dedup();
    out
}

/// Per day, recipient and rule: the lawful set common to every date, and the
/// first date, last date and count of dates it was broken.
pub(super) struct Track {
    pub(super) lawful: MinuteSet,
    pub(super) violated: Option<(NaiveDate, NaiveDate, u32)>,
}

impl Track {
    pub(super) fn new() -> Self {
        Self {
            lawful: MinuteSet::span(0, DAY_MINUTES),
            violated: None,
        }
    }

    pub(super) fn record(&mut self, date: NaiveDate) {
        self.violated = Some(match self.violated {
            None => (date, date, 1),
            Some((first, _, n)) => (first, date, n.saturating_add(1)),
        });
    }
}
