//! The abandonment budget of one interval, with the young campaign's
//! stricter rules (no slack spent above the effective target, a wider tail test).

use super::*;

/// The abandonment budget of one interval.
#[derive(Clone, Copy, Debug)]
pub(super) struct Budget {
    /// Effective target as a fraction.
    pub(super) tau: f64,
    /// Unspent (positive) or overspent (negative) abandons of the period.
    pub(super) slack: f64,
    /// The campaign's target as a fraction (where the budget is spent).
    pub(super) target: f64,
    /// Abandons the period can still take before its rate reaches the
    /// target, with no more live answers: `target x L - A`.
    pub(super) headroom: f64,
    /// A young campaign ([`PacingInputs::is_young`]): the period may end
    /// tonight, so no unspent slack is spent above the effective target
    /// ([`YOUNG_SLACK_SPEND`]) and the tail test is [`YOUNG_TAIL_FACTOR`].
    pub(super) young: bool,
}

impl Budget {
    /// Abandons allowed for `live` predicted live answers over the horizon.
    /// The allowed rate is the effective target corrected by the slack
    /// spread over the live answers of the next [`SLACK_INTERVALS`] tuner
    /// periods (an overspend over [`REPAY_INTERVALS`]) at the predicted
    /// pace, so the period is back on target by then; the rate stays within
    /// 0 and (1 + [`SLACK_SPEND`]) times the effective target.
    pub(super) fn allowed(&self, live: f64) -> f64 {
        let per_period = live * TUNER_PERIOD_S / predict::HORIZON_S;
        let periods = if self.slack >= 0.0 {
            SLACK_INTERVALS
        } else {
            REPAY_INTERVALS
        };
        let rate = self.tau + self.slack / (per_period * periods).max(1.0);
        let spend = if self.young {
            YOUNG_SLACK_SPEND
        } else {
            SLACK_SPEND
        };
        rate.clamp(0.0, (1.0 + spend) * self.tau) * live
    }

    /// Whether a candidate fits: its mean abandons within the allowance,
    /// and an unlucky interval (the upper quantile) still short of spending
    /// the budget, so one bad interval early in a period (when a handful of
    /// abandons moves the rate) does not force hours of progressive dialling.
    pub(super) fn fits(&self, c: &CandidateResult) -> bool {
        let tail = if self.young {
            YOUNG_TAIL_FACTOR
        } else {
            TAIL_FACTOR
        };
        c.abandons <= c.allowed_abandons
            && tail * c.abandons_upper <= self.headroom + self.target * c.live_answers
    }

    /// The budget of the inputs' period: the campaign's target
    /// ([`target_pct`]) and the effective target after the margin (the
    /// larger of [`SAFETY_MARGIN`] and [`RESERVE_ABANDONS`]; 0 when the
    /// reserve is all the target allows).
    pub(super) fn for_inputs(inputs: &PacingInputs) -> Budget {
        let target = target_pct(inputs) / 100.0;
        let live = inputs.period.live_answers() as f64;
        let margin = (SAFETY_MARGIN * target).max(RESERVE_ABANDONS / live.max(1.0));
        let tau = (target - margin).max(0.0);
        let abandons = inputs.period.abandons as f64;
        Budget {
            tau,
            slack: tau * live - abandons,
            target,
            headroom: target * live - abandons,
            young: inputs.is_young(),
        }
    }
}

/// The campaign's target abandonment in percent, within 0 and the legal
/// 3 % (a non-finite target counts as 0: nothing may be abandoned).
pub(super) fn target_pct(inputs: &PacingInputs) -> f64 {
    if inputs.target_abandon_pct.is_finite() {
        inputs.target_abandon_pct.clamp(0.0, LEGAL_MAX_ABANDON_PCT)
    } else {
        0.0
    }
}
