//! The pacing policy: chooses `maximumRatio` (and `abandonRateThreshold`) for
//! the next interval.
//!
//! **Interim policy** (the walking skeleton's; the pacing-engine issue
//! replaces [`decide`]'s body with a predictive one, keeping these types):
//! 1. Progressive dialling (ratio 1.0, which abandons nothing) when data is
//!    thin (fewer than [`MIN_LIVE_ANSWERS`] live answers in the recent
//!    interval), staffing is small (fewer than [`MIN_STAFFED_AGENTS`]), or
//!    the 30-day abandonment budget is spent (rate at or above target).
//! 2. Otherwise a step controller on the recent abandonment rate against the
//!    campaign's target: above target, step down hard (halfway to 1.0);
//!    above 80 % of target, step down by [`STEP`]; below 50 % of target and
//!    with agents idle, step up by [`STEP`]; else hold.
//! 3. Always within the configured bounds (`minRatio`..`maxRatio`), except
//!    that the progressive fallback may go below `minRatio` for safety.
//! 4. `abandonRateThreshold` is the campaign's target, so CXone's own
//!    governor backs the policy up.

use serde::{Deserialize, Serialize};

/// Fewer staffed agents than this: dial progressively.
pub const MIN_STAFFED_AGENTS: u32 = 5;
/// Fewer live answers than this in the recent interval: dial progressively.
pub const MIN_LIVE_ANSWERS: u64 = 30;
/// The interim policy's ratio step.
pub const STEP: f64 = 0.1;
/// Changes smaller than this are not written (hysteresis).
pub const HYSTERESIS: f64 = 0.05;

/// Results over a span of time, as CXone's skill summary reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Results {
    /// All dial attempts.
    pub dials: u64,
    /// Live answers connected to an agent.
    pub connects: u64,
    /// Live answers abandoned.
    pub abandons: u64,
    /// Mean talk time per connect, seconds.
    pub mean_talk_seconds: f64,
    /// Mean wrap time per connect, seconds.
    pub mean_wrap_seconds: f64,
}

impl Results {
    /// Live answers: connected plus abandoned.
    pub fn live_answers(&self) -> u64 {
        self.connects + self.abandons
    }

    /// Abandoned share of live answers, in percent (0 when none).
    pub fn abandon_pct(&self) -> f64 {
        match self.live_answers() {
            0 => 0.0,
            n => 100.0 * self.abandons as f64 / n as f64,
        }
    }
}

/// Staffing right now, as CXone's skill activity reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Staffing {
    /// Agents available for a call.
    pub available: u32,
    /// Agents on a call.
    pub working: u32,
    /// Agents in after-call work.
    pub acw: u32,
    /// Agents logged in.
    pub logged_in: u32,
}

impl Staffing {
    /// Staffed agents as the dialler counts them: available plus working.
    pub fn staffed(&self) -> u32 {
        self.available + self.working
    }
}

/// Everything the policy looks at.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PacingInputs {
    /// Staffing now.
    pub staffing: Staffing,
    /// Results over the recent interval.
    pub recent: Results,
    /// Results over the current 30-day period.
    pub period: Results,
    /// The live `maximumRatio`.
    pub current_ratio: f64,
    /// The campaign's target 30-day abandonment, percent (at most 3).
    pub target_abandon_pct: f64,
    /// Lowest ratio the campaign allows.
    pub min_ratio: f64,
    /// Highest ratio the campaign allows.
    pub max_ratio: f64,
}

/// How the ratio was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacingMode {
    /// Ratio 1.0: thin data, small staffing or budget spent.
    Progressive,
    /// Above 1.0 under the controller.
    Predictive,
}

/// The policy's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PacingDecision {
    /// `maximumRatio` for the next interval.
    pub maximum_ratio: f64,
    /// `abandonRateThreshold` (percent).
    pub abandon_rate_threshold: f64,
    /// How it was chosen.
    pub mode: PacingMode,
    /// Why, in words for the audit trail.
    pub reason: String,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Chooses pacing for the next interval (see the module doc).
pub fn decide(inputs: &PacingInputs) -> PacingDecision {
    let target = inputs.target_abandon_pct.clamp(0.0, 3.0);
    let progressive = |reason: String| PacingDecision {
        maximum_ratio: 1.0,
        abandon_rate_threshold: target,
        mode: PacingMode::Progressive,
        reason,
    };
    let staffed = inputs.staffing.staffed();
    if staffed < MIN_STAFFED_AGENTS {
        return progressive(format!(
            "{staffed} staffed agents (< {MIN_STAFFED_AGENTS}): progressive dialling"
        ));
    }
    if inputs.period.live_answers() > 0 && inputs.period.abandon_pct() >= target {
        return progressive(format!(
            "30-day abandonment {:.2} % has reached the {target:.2} % target: progressive dialling",
            inputs.period.abandon_pct()
        ));
    }
    let recent_live = inputs.recent.live_answers();
    if recent_live < MIN_LIVE_ANSWERS {
        return progressive(format!(
            "{recent_live} live answers in the recent interval (< {MIN_LIVE_ANSWERS}): too little data, progressive dialling"
        ));
    }
    let lo = inputs.min_ratio.max(1.0);
    let hi = inputs.max_ratio.max(lo);
    let current = inputs.current_ratio.clamp(lo, hi);
    let recent_pct = inputs.recent.abandon_pct();
    let (raw, why) = if recent_pct > target {
        (
            1.0 + (current - 1.0) / 2.0,
            format!("recent abandonment {recent_pct:.2} % above target {target:.2} %: halve the overdial"),
        )
    } else if recent_pct > 0.8 * target {
        (
            current - STEP,
            format!("recent abandonment {recent_pct:.2} % near target: step down"),
        )
    } else if recent_pct < 0.5 * target && inputs.staffing.available > 0 {
        (
            current + STEP,
            format!(
                "recent abandonment {recent_pct:.2} % well under target with {} agents idle: step up",
                inputs.staffing.available
            ),
        )
    } else {
        (
            current,
            format!("recent abandonment {recent_pct:.2} % within band: hold"),
        )
    };
    let ratio = round2(raw.clamp(lo, hi));
    PacingDecision {
        maximum_ratio: ratio,
        abandon_rate_threshold: target,
        mode: if ratio > 1.0 {
            PacingMode::Predictive
        } else {
            PacingMode::Progressive
        },
        reason: why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> PacingInputs {
        PacingInputs {
            staffing: Staffing {
                available: 3,
                working: 17,
                acw: 2,
                logged_in: 22,
            },
            recent: Results {
                dials: 600,
                connects: 120,
                abandons: 0,
                mean_talk_seconds: 180.0,
                mean_wrap_seconds: 20.0,
            },
            period: Results {
                dials: 20_000,
                connects: 4_000,
                abandons: 40,
                ..Results::default()
            },
            current_ratio: 1.5,
            target_abandon_pct: 2.5,
            min_ratio: 1.0,
            max_ratio: 3.0,
        }
    }

    #[test]
    fn thin_data_small_staffing_and_spent_budget_are_progressive() {
        let mut i = inputs();
        i.recent.connects = 10;
        assert_eq!(decide(&i).maximum_ratio, 1.0);
        let mut i = inputs();
        i.staffing.working = 1;
        assert_eq!(decide(&i).maximum_ratio, 1.0);
        let mut i = inputs();
        i.period.abandons = 200; // 4.8 %
        let d = decide(&i);
        assert_eq!((d.maximum_ratio, d.mode), (1.0, PacingMode::Progressive));
    }

    #[test]
    fn steps_up_when_quiet_and_down_when_abandoning() {
        assert_eq!(decide(&inputs()).maximum_ratio, 1.6);
        let mut i = inputs();
        i.recent.abandons = 5; // 4 %
        assert_eq!(decide(&i).maximum_ratio, 1.25);
    }

    #[test]
    fn bounds_are_respected() {
        let mut i = inputs();
        i.current_ratio = 3.0;
        assert_eq!(decide(&i).maximum_ratio, 3.0);
        i.max_ratio = 2.0;
        assert_eq!(decide(&i).maximum_ratio, 2.0);
        let mut i = inputs();
        i.min_ratio = 1.4;
        i.current_ratio = 1.0;
        i.recent.abandons = 50;
        assert!(decide(&i).maximum_ratio >= 1.4);
    }

    #[test]
    fn threshold_never_exceeds_the_law() {
        let mut i = inputs();
        i.target_abandon_pct = 9.0;
        assert_eq!(decide(&i).abandon_rate_threshold, 3.0);
    }
}
