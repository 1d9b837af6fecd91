//! The pacing policies under test ([`Policy`]) and what each does every
//! second of a run: hold a ratio, follow the tutorials' rule, run
//! ViciDial's adaptive modes, or call the engine every 5 minutes with the
//! inputs the capacity tuner gives it ([`engine_inputs`]).

use std::time::Instant;

use shared::engine::dialer::Dialer;
use shared::engine::pacing::{self, predict::mix, PacingInputs, Staffing};
use shared::safe_write::Desired;

use crate::metrics::results_of;
use crate::vicidial::{ViciDial, ViciMode};
use crate::{Ctx, Metrics, GRID_MAX, LEGAL_PCT, RECENT_MINUTES, TUNER_PERIOD_S, WINDOW_OPEN_S};

/// A pacing policy under test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Policy {
    /// CXone `maximumRatio` held all day.
    Fixed(f64),
    /// Every 5 minutes, lines = floor(0.8 x agents Available).
    Tutorial,
    /// ViciDial's adaptive dialling.
    ViciDial(ViciMode),
    /// This project's engine, every 5 minutes, as the tuner calls it.
    Engine,
}

impl Policy {
    /// Name for tables.
    pub fn name(&self) -> String {
        match self {
            Policy::Fixed(r) if *r == 1.0 => "progressive".into(),
            Policy::Fixed(r) => format!("fixed {r:.2}"),
            Policy::Tutorial => "tutorial 0.8xAvail".into(),
            Policy::ViciDial(ViciMode::Tapered) => "ViciDial TAPERED".into(),
            Policy::ViciDial(ViciMode::Average) => "ViciDial AVERAGE".into(),
            Policy::Engine => "engine".into(),
        }
    }
}

/// A policy's running state.
pub(crate) enum Controller {
    Fixed,
    Tutorial,
    Vici(ViciDial),
    Engine(EngineState),
}

/// The engine policy's running state.
pub(crate) struct EngineState {
    ratio: f64,
    target_pct: f64,
    /// Predicted abandons of the interval under way and the period's abandons when it began.
    pending: Option<(f64, u64)>,
}

impl Controller {
    /// The controller of `policy`, with the dialler set up for it.
    pub(crate) fn new(policy: Policy, d: &mut Dialer) -> Controller {
        match policy {
            Policy::Fixed(r) => {
                d.set_max_ratio(r);
                Controller::Fixed
            }
            Policy::Tutorial => {
                d.set_target_lines(0);
                Controller::Tutorial
            }
            Policy::ViciDial(mode) => Controller::Vici(ViciDial::new(mode)),
            Policy::Engine => {
                d.set_max_ratio(1.0);
                Controller::Engine(EngineState {
                    ratio: 1.0,
                    target_pct: LEGAL_PCT,
                    pending: None,
                })
            }
        }
    }
}

/// The inputs the capacity tuner would give the engine now: staffing
/// snapshot, the last 15 minutes and the period's results, the ratio in
/// force (for a ratio policy), target 3 %, bounds 1.0-[`GRID_MAX`], the ring
/// limit, a seed from the time and the campaign's age
/// ([`campaign_age_days`]).
pub fn engine_inputs(d: &Dialer, ctx: &Ctx<'_>, seed: u64) -> PacingInputs {
    let s = d.snapshot();
    let current_ratio = match d.policy() {
        shared::engine::dialer::LinePolicy::Ratio { ratio } => ratio,
        shared::engine::dialer::LinePolicy::Fixed { .. } => 1.0,
    };
    PacingInputs {
        staffing: Staffing {
            available: s.available,
            working: s.working,
            acw: s.acw,
            logged_in: s.logged_in,
        },
        recent: results_of(ctx.recent),
        period: results_of(ctx.period),
        // What the tuner passes: the window it asks CXone for, even when
        // the calling window opened inside it.
        recent_seconds: (RECENT_MINUTES * 60) as f64,
        current_ratio,
        target_abandon_pct: LEGAL_PCT,
        min_ratio: 1.0,
        max_ratio: GRID_MAX,
        ring_limit_seconds: d.model().ring_limit_s,
        seed: mix(seed, u64::from(ctx.day) * 86_400 + u64::from(ctx.clock)),
        campaign_age_days: Some(campaign_age_days(ctx)),
    }
}

/// The campaign's age at `ctx`, as the tuner would see it: every run is a
/// campaign that first dialled when the window opened on its first day, so
/// a one-day scenario is day 1 (age 0 to 0.54) and a 30-day run's day `d`
/// (from 0) is age `d` and a fraction.
pub fn campaign_age_days(ctx: &Ctx<'_>) -> f64 {
    f64::from(ctx.day) + f64::from(ctx.clock.saturating_sub(WINDOW_OPEN_S)) / 86_400.0
}

/// Lets the policy act for one second; returns the engine's decision on a tick.
pub(crate) fn control(
    ctl: &mut Controller,
    d: &mut Dialer,
    ctx: &Ctx<'_>,
    seed: u64,
    m: &mut Metrics,
) -> Option<pacing::PacingDecision> {
    let since_open = ctx.clock - WINDOW_OPEN_S;
    match ctl {
        Controller::Fixed => None,
        Controller::Tutorial => {
            if since_open % TUNER_PERIOD_S == 0 {
                let avail = d.snapshot().available;
                d.set_target_lines((0.8 * f64::from(avail)).floor() as u32);
            }
            None
        }
        Controller::Vici(v) => {
            v.second(d, ctx);
            None
        }
        Controller::Engine(engine) => {
            if since_open % TUNER_PERIOD_S == 0 {
                return Some(engine.tick(d, ctx, seed, m));
            }
            None
        }
    }
}

impl EngineState {
    /// One tuner tick: the engine decides, the tuner's safe writer applies
    /// the ratio when it is worth writing, and the prediction for the ratio
    /// in force is kept for calibration.
    fn tick(
        &mut self,
        d: &mut Dialer,
        ctx: &Ctx<'_>,
        seed: u64,
        m: &mut Metrics,
    ) -> pacing::PacingDecision {
        let mut inputs = engine_inputs(d, ctx, seed);
        inputs.current_ratio = self.ratio;
        inputs.target_abandon_pct = self.target_pct;
        let t0 = Instant::now();
        let decision = pacing::decide(&inputs);
        m.decision_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        if let Some((predicted, at)) = self.pending.take() {
            m.predicted_abandons += predicted;
            m.realized_abandons += ctx.period.abandons - at;
        }
        // The tuner's safe writer skips changes below the hysteresis
        // step, except a move to progressive dialling (1.0).
        if Desired::maximum_ratio(decision.maximum_ratio).worth_writing(self.ratio) {
            self.ratio = decision.maximum_ratio;
            d.set_max_ratio(self.ratio);
        }
        // Calibration: what the engine predicted for the ratio in force.
        if let Some(p) = &decision.prediction {
            if (p.chosen.ratio - self.ratio).abs() < 1e-9 {
                self.pending = Some((p.chosen.abandons, ctx.period.abandons));
            }
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PERIOD_DAYS, WINDOW_CLOSE_S};
    use shared::engine::dialer::IntervalStats;

    #[test]
    fn every_run_is_a_new_campaign_whose_age_counts_from_its_first_dial() {
        let stats = IntervalStats::default();
        let age = |day, clock| {
            campaign_age_days(&Ctx {
                clock,
                day,
                recent: &stats,
                period: &stats,
                today: &stats,
                last_minute: (0, 0),
            })
        };
        assert_eq!(age(0, WINDOW_OPEN_S), 0.0);
        // Day 1 at 20:00: half a day old, young.
        assert!((age(0, 20 * 3600) - 0.5).abs() < 1e-12);
        // Day 30 of a 30-day run, at 08:00: 29 days, still young.
        assert_eq!(age(PERIOD_DAYS - 1, WINDOW_OPEN_S), 29.0);
        assert!(age(PERIOD_DAYS - 1, WINDOW_CLOSE_S) < pacing::MATURE_AGE_DAYS);
    }
}
