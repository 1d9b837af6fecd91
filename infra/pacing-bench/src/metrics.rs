//! What a run measured ([`Metrics`]) and how it is summed over runs.

use shared::engine::dialer::IntervalStats;
use shared::engine::pacing::Results;

/// What one run (a scenario, a policy, a seed) measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Agent-seconds and counters inside the calling window.
    pub window: IntervalStats,
    /// Live answers, including calls that finished after the window.
    pub live_answers: u64,
    /// Abandons, including calls that finished after the window.
    pub abandons: u64,
    /// Highest single-day abandonment, percent.
    pub worst_day_pct: f64,
    /// Dials placed outside the calling window (must be 0).
    pub outside_window_dials: u64,
    /// Wall-clock milliseconds of each engine decision.
    pub decision_ms: Vec<f64>,
    /// Sum of the engine's predicted abandons over intervals it predicted.
    pub predicted_abandons: f64,
    /// Abandons that happened in those intervals.
    pub realized_abandons: u64,
    /// The fixed ratio used (hindsight-best runs).
    pub ratio: Option<f64>,
    /// Runs aggregated.
    pub runs: u32,
    /// Highest per-run abandonment over the aggregated runs, percent.
    pub worst_run_pct: f64,
}

impl Metrics {
    /// Adds another run.
    pub fn add(&mut self, o: &Metrics) {
        self.window.add(&o.window);
        self.live_answers += o.live_answers;
        self.abandons += o.abandons;
        self.worst_day_pct = self.worst_day_pct.max(o.worst_day_pct);
        self.outside_window_dials += o.outside_window_dials;
        self.predicted_abandons += o.predicted_abandons;
        self.realized_abandons += o.realized_abandons;
        self.decision_ms.extend_from_slice(&o.decision_ms);
        self.runs += o.runs.max(1);
        self.worst_run_pct = self.worst_run_pct.max(o.abandon_pct());
        self.ratio = match (self.ratio, o.ratio) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// Abandoned share of live answers over the run(s), percent.
    pub fn abandon_pct(&self) -> f64 {
        if self.live_answers > 0 {
            100.0 * self.abandons as f64 / self.live_answers as f64
        } else {
            0.0
        }
    }

    /// Talk time / logged-in time, percent.
    pub fn talk_util(&self) -> f64 {
        pct(
            self.window.talk_seconds,
            self.window.logged_in_agent_seconds,
        )
    }

    /// (Talk + wrap) / logged-in time, percent.
    pub fn handle_util(&self) -> f64 {
        pct(
            self.window.talk_seconds + self.window.wrap_seconds,
            self.window.logged_in_agent_seconds,
        )
    }

    /// Idle agent-seconds per connected call.
    pub fn idle_per_call(&self) -> f64 {
        if self.window.connects > 0 {
            self.window.idle_agent_seconds / self.window.connects as f64
        } else {
            0.0
        }
    }

    /// Dials per live answer.
    pub fn dials_per_live(&self) -> f64 {
        if self.window.live_answers > 0 {
            self.window.dials as f64 / self.window.live_answers as f64
        } else {
            0.0
        }
    }

    /// Largest decision time, ms.
    pub fn max_decision_ms(&self) -> f64 {
        self.decision_ms.iter().copied().fold(0.0, f64::max)
    }

    /// 99th percentile decision time, ms.
    pub fn p99_decision_ms(&self) -> f64 {
        let mut v = self.decision_ms.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => 0.0,
            n => v[((n as f64) * 0.99).ceil() as usize - 1],
        }
    }
}

/// `a` as a percentage of `b` (0 when `b` is 0).
fn pct(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        100.0 * a / b
    } else {
        0.0
    }
}

/// The engine's `Results` (dials, connects, abandons, mean handled talk
/// and wrap) of the stats of an interval.
pub(crate) fn results_of(s: &IntervalStats) -> Results {
    let handled = s.successes + s.failures;
    let mean = |x: f64| if handled > 0 { x / handled as f64 } else { 0.0 };
    Results {
        dials: s.dials,
        connects: s.connects,
        abandons: s.abandons,
        mean_talk_seconds: mean(s.handled_talk_seconds),
        mean_wrap_seconds: mean(s.handled_wrap_seconds),
    }
}
