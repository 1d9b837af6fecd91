//! The checker's decisions, pure: counts, config, the stored record and the
//! event's time in; what to do out. No I/O, no clock.
//!
//! # Hysteresis (why noise cannot flap a campaign)
//! - **Failing over** needs the rate *below* `threshold` with at least
//!   `minSamples` outcomes on every check for [`CONFIRM`] (2 minutes of event
//!   time, i.e. three consecutive one-minute ticks). Any check that is not low
//!   (rate at or above the threshold, or too few samples) resets the streak; so
//!   does a gap of more than [`MAX_CHECK_GAP`] between checks (missed ticks
//!   prove nothing). The streak is measured in event time, so ten concurrent
//!   invocations of the same tick count as one check, not ten.
//! - **Failing back automatically** (only with `autoFailback`) needs a higher
//!   level than the trigger, [`recovery_level`] = `threshold` +
//!   [`RECOVERY_MARGIN`] (a dead band), after a cool-down of `windowMinutes`
//!   on the backup, computed **only from the primary's events that occurred
//!   after the failover** (at least `minSamples` of them), and confirmed the
//!   same way for [`CONFIRM`].
//!
//! # Why automatic failback needs fresh primary data
//! The primary skill is stopped while on backup, so its window empties: the
//! bundle has no evidence the primary would do better now, and the backup
//! doing badly too says nothing about the primary. Flipping back on a timer
//! would be a flap. So the bundle never fails back by itself without fresh
//! primary results: in practice an operator trials the primary (starts it in
//! CXone, or routes a test batch to it), its contacts are posted as events,
//! and once they show recovery the checker finishes the failback (stops the
//! backup, confirms the primary started). Otherwise an operator fails back
//! through [`crate::FailoverChecker::failback`].

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use shared::store::failover::FailoverRecord;
use shared::webhook::Counts;

/// How long (event time) a condition must hold on every check before it acts.
pub const CONFIRM: TimeDelta = TimeDelta::minutes(2);
/// A longer gap between two checks breaks a streak.
pub const MAX_CHECK_GAP: TimeDelta = TimeDelta::minutes(5);
/// The dead band between the failover trigger and the automatic-failback level.
pub const RECOVERY_MARGIN: f64 = 0.05;

/// The success rate the primary must reach again before an automatic failback.
pub fn recovery_level(threshold: f64) -> f64 {
    (threshold + RECOVERY_MARGIN).min(1.0)
}

/// What the counters of one window say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fewer outcomes than `minSamples`: no conclusion either way.
    InsufficientSamples,
    /// Enough outcomes, rate below the threshold.
    Low,
    /// Enough outcomes, rate at or above the threshold but below the recovery level.
    Middling,
    /// Enough outcomes, rate at or above the recovery level.
    Recovered,
}

/// Classifies a window's counts.
pub fn verdict(counts: &Counts, threshold: f64, min_samples: u32) -> Verdict {
    let samples = counts.samples();
    match counts.success_rate() {
        Some(rate) if samples >= u64::from(min_samples) => {
            if rate < threshold {
                Verdict::Low
            } else if rate >= recovery_level(threshold) {
                Verdict::Recovered
            } else {
                Verdict::Middling
            }
        }
        _ => Verdict::InsufficientSamples,
    }
}

/// A hysteresis streak: since when a condition has held, and when it was last seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Streak {
    /// First check of the streak (event time).
    pub since: Option<DateTime<Utc>>,
    /// Latest check of the streak (event time).
    pub last_at: Option<DateTime<Utc>>,
}

impl Streak {
    /// The streak stored in `record`.
    pub fn of(record: &FailoverRecord) -> Self {
        Self {
            since: record.streak_since,
            last_at: record.streak_last_at,
        }
    }

    /// The streak after one check at `time` where the condition held (`holds`) or not.
    pub fn advance(self, holds: bool, time: DateTime<Utc>) -> Self {
        if !holds {
            return Self::default();
        }
        match (self.since, self.last_at) {
            (Some(since), Some(last)) if time >= last && time - last <= MAX_CHECK_GAP => Self {
                since: Some(since),
                last_at: Some(time),
            },
            _ => Self {
                since: Some(time),
                last_at: Some(time),
            },
        }
    }

    /// Whether the condition has held for [`CONFIRM`] at `time`.
    pub fn confirmed(&self, time: DateTime<Utc>) -> bool {
        self.since.is_some_and(|since| time - since >= CONFIRM)
    }
}

/// What to do with a campaign on its primary skill.
#[derive(Clone, Debug, PartialEq)]
pub enum PrimaryDecision {
    /// The event is older than the latest check: ignore it.
    Stale,
    /// Stay on the primary; store `streak` if `changed`.
    Stay {
        /// The streak after this check.
        streak: Streak,
        /// Whether it differs from the stored one.
        changed: bool,
    },
    /// Low for long enough: fail over now.
    FailOver {
        /// The streak that confirmed it.
        streak: Streak,
    },
}

/// Decides for a campaign in `primary`.
pub fn decide_primary(
    record: &FailoverRecord,
    verdict: Verdict,
    time: DateTime<Utc>,
) -> PrimaryDecision {
    let stored = Streak::of(record);
    if stored.last_at.is_some_and(|last| time < last) {
        return PrimaryDecision::Stale;
    }
    let streak = stored.advance(verdict == Verdict::Low, time);
    if verdict == Verdict::Low && streak.confirmed(time) {
        PrimaryDecision::FailOver { streak }
    } else {
        PrimaryDecision::Stay {
            streak,
            changed: streak != stored,
        }
    }
}

/// What to do with a campaign on its backup skill.
#[derive(Clone, Debug, PartialEq)]
pub enum BackupDecision {
    /// The event is older than the latest check: ignore it.
    Stale,
    /// Stay on the backup; store `streak` if `changed`. `reason` says why.
    Stay {
        /// The streak after this check.
        streak: Streak,
        /// Whether it differs from the stored one.
        changed: bool,
        /// Why the campaign stays on the backup.
        reason: String,
    },
    /// The primary's fresh results recovered for long enough: fail back.
    FailBack {
        /// The streak that confirmed it.
        streak: Streak,
    },
}

/// The earliest time an automatic failback may happen: a full window after going on backup.
pub fn cool_down_end(on_backup_since: DateTime<Utc>, window_minutes: u32) -> DateTime<Utc> {
    on_backup_since
        .checked_add_signed(TimeDelta::minutes(i64::from(window_minutes)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Decides for a campaign in `on_backup`, from the verdict on the primary's
/// events since the failover.
pub fn decide_backup(
    record: &FailoverRecord,
    auto_failback: bool,
    window_minutes: u32,
    verdict: Verdict,
    time: DateTime<Utc>,
) -> BackupDecision {
    let stored = Streak::of(record);
    if !auto_failback {
        return BackupDecision::Stay {
            streak: stored,
            changed: false,
            reason: "on backup; automatic failback is off: an operator fails back".into(),
        };
    }
    if stored.last_at.is_some_and(|last| time < last) {
        return BackupDecision::Stale;
    }
    let since = record.since.unwrap_or(time);
    let cooled = time >= cool_down_end(since, window_minutes);
    let holds = cooled && verdict == Verdict::Recovered;
    let streak = stored.advance(holds, time);
    if holds && streak.confirmed(time) {
        return BackupDecision::FailBack { streak };
    }
    let reason = if !cooled {
        format!(
            "on backup; cool-down until {} before any automatic failback",
            cool_down_end(since, window_minutes).to_rfc3339()
        )
    } else {
        match verdict {
            Verdict::InsufficientSamples => {
                "on backup; not enough fresh primary results since the failover to fail back".into()
            }
            Verdict::Low | Verdict::Middling => {
                "on backup; the primary's fresh results are below the recovery level".into()
            }
            Verdict::Recovered => "on backup; the primary's recovery is being confirmed".into(),
        }
    };
    BackupDecision::Stay {
        changed: streak != stored,
        streak,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::store::failover::FailoverState;

    fn t(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000) + TimeDelta::minutes(minute)
    }

    fn counts(success: u64, failure: u64, abandoned: u64) -> Counts {
        Counts {
            success,
            failure,
            abandoned,
            ..Counts::default()
        }
    }

    fn with(record: &FailoverRecord, streak: Streak) -> FailoverRecord {
        let mut r = record.clone();
        r.streak_since = streak.since;
        r.streak_last_at = streak.last_at;
        r
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            verdict(&counts(0, 0, 0), 0.15, 50),
            Verdict::InsufficientSamples
        );
        assert_eq!(
            verdict(&counts(1, 40, 8), 0.15, 50),
            Verdict::InsufficientSamples
        );
        assert_eq!(verdict(&counts(5, 40, 5), 0.15, 50), Verdict::Low);
        assert_eq!(verdict(&counts(8, 40, 2), 0.15, 50), Verdict::Middling);
        assert_eq!(verdict(&counts(10, 40, 0), 0.15, 50), Verdict::Recovered);
        assert_eq!(recovery_level(0.99), 1.0);
    }

    #[test]
    fn fails_over_only_after_three_consecutive_low_ticks() {
        let mut r = FailoverRecord::initial(1);
        for minute in 0..2 {
            match decide_primary(&r, Verdict::Low, t(minute)) {
                PrimaryDecision::Stay { streak, changed } => {
                    assert!(changed);
                    r = with(&r, streak);
                }
                other => panic!("minute {minute}: {other:?}"),
            }
        }
        assert!(matches!(
            decide_primary(&r, Verdict::Low, t(2)),
            PrimaryDecision::FailOver { .. }
        ));
        // The same tick seen twice (concurrent invocations) is not a third check.
        let once = with(
            &FailoverRecord::initial(1),
            Streak {
                since: Some(t(0)),
                last_at: Some(t(0)),
            },
        );
        assert!(matches!(
            decide_primary(&once, Verdict::Low, t(0)),
            PrimaryDecision::Stay { changed: false, .. }
        ));
    }

    #[test]
    fn one_good_tick_or_a_gap_resets_the_streak() {
        let r = with(
            &FailoverRecord::initial(1),
            Streak {
                since: Some(t(0)),
                last_at: Some(t(1)),
            },
        );
        match decide_primary(&r, Verdict::Middling, t(2)) {
            PrimaryDecision::Stay { streak, changed } => {
                assert!(changed);
                assert_eq!(streak, Streak::default());
            }
            other => panic!("{other:?}"),
        }
        match decide_primary(&r, Verdict::InsufficientSamples, t(2)) {
            PrimaryDecision::Stay { streak, .. } => assert_eq!(streak, Streak::default()),
            other => panic!("{other:?}"),
        }
        match decide_primary(&r, Verdict::Low, t(10)) {
            PrimaryDecision::Stay { streak, .. } => assert_eq!(streak.since, Some(t(10))),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decide_primary(&r, Verdict::Low, t(0)),
            PrimaryDecision::Stale
        );
    }

    #[test]
    fn automatic_failback_needs_the_switch_a_cool_down_and_recovery() {
        let mut r = FailoverRecord::initial(1);
        r.state = FailoverState::OnBackup;
        r.since = Some(t(0));
        assert!(matches!(
            decide_backup(&r, false, 30, Verdict::Recovered, t(100)),
            BackupDecision::Stay { changed: false, .. }
        ));
        // Within the cool-down: nothing, whatever the numbers.
        assert!(matches!(
            decide_backup(&r, true, 30, Verdict::Recovered, t(29)),
            BackupDecision::Stay { changed: false, .. }
        ));
        // After it: confirmed over three ticks.
        let mut rec = r.clone();
        for minute in 30..32 {
            match decide_backup(&rec, true, 30, Verdict::Recovered, t(minute)) {
                BackupDecision::Stay {
                    streak,
                    changed: true,
                    ..
                } => rec = with(&rec, streak),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            decide_backup(&rec, true, 30, Verdict::Recovered, t(32)),
            BackupDecision::FailBack { .. }
        ));
        // A middling tick (inside the dead band) resets it.
        assert!(matches!(
            decide_backup(&rec, true, 30, Verdict::Middling, t(32)),
            BackupDecision::Stay { changed: true, .. }
        ));
        assert!(matches!(
            decide_backup(&rec, true, 30, Verdict::InsufficientSamples, t(32)),
            BackupDecision::Stay { changed: true, .. }
        ));
    }
}
