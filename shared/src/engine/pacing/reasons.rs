//! Why the engine chose what it chose, in words for the audit trail: the
//! fallbacks to progressive dialling and the reason for a predicted ratio.

use super::*;

/// Step 1 of the module doc: why the engine dials progressively without
/// predicting (too few agents, the budget spent, too little data, nothing
/// beyond the reserve), or `None` when it predicts.
pub(super) fn fallback(inputs: &PacingInputs, budget: &Budget, target: f64) -> Option<String> {
    let staffed = inputs.staffing.staffed();
    let on_campaign = staffed.saturating_add(inputs.staffing.acw);
    if on_campaign < MIN_STAFFED_AGENTS {
        return Some(format!(
            "{on_campaign} agents available, talking or wrapping up (< {MIN_STAFFED_AGENTS}): progressive dialling"
        ));
    }
    if inputs.period.abandons > 0 && budget.headroom <= 0.0 {
        return Some(format!(
            "30-day abandonment {:.2} % has reached the {target:.2} % target: budget spent, progressive dialling",
            inputs.period.abandon_pct(),
        ));
    }
    let recent_live = inputs.recent.live_answers();
    if recent_live < MIN_LIVE_ANSWERS && inputs.period.live_answers() < MIN_PERIOD_LIVE_ANSWERS {
        return Some(format!(
            "{recent_live} live answers in the recent window (< {MIN_LIVE_ANSWERS}) and {} in the period (< {MIN_PERIOD_LIVE_ANSWERS}): too little data, progressive dialling",
            inputs.period.live_answers()
        ));
    }
    if budget.tau <= 0.0 {
        return Some(format!(
            "a {target:.2} % target on the period's {} live answers ({} abandoned) leaves nothing beyond the {RESERVE_ABANDONS:.0} abandon kept in reserve: progressive dialling",
            inputs.period.live_answers(),
            inputs.period.abandons,
        ));
    }
    None
}

/// Why the engine dials progressively when even the lowest allowed ratio
/// `lo` (predicted as `first`) does not fit the budget.
pub(super) fn nothing_fits(lo: f64, first: &CandidateResult) -> String {
    format!(
        "even the lowest allowed ratio {lo:.2} is predicted to abandon {:.1} of {:.0} live answers (budget {:.1}): progressive dialling",
        first.abandons, first.live_answers, first.allowed_abandons
    )
}

/// The audit trail's reason for a predicted choice: the chosen ratio's
/// prediction against progressive dialling's, the period and the estimates
/// (and the young campaign's rules when they apply).
pub(super) fn predicted_reason(
    inputs: &PacingInputs,
    budget: &Budget,
    prediction: &Prediction,
    urgent: bool,
) -> String {
    let best = &prediction.chosen;
    let base = &prediction.progressive;
    let est = &prediction.estimates;
    let reason = format!(
        "{}predicted {:.1} % utilisation and {:.2} % abandonment ({:.1} of {:.0} live answers; budget {:.1}) at ratio {:.2} vs {:.1} % utilisation progressive; 30-day {:.2} % of effective target {:.2} %; live-answer rate {:.1} %, talk {:.0} s, wrap {:.0} s",
        if urgent {
            "the ratio in force overspends: straight down; "
        } else {
            ""
        },
        100.0 * best.utilisation,
        best.abandon_pct(),
        best.abandons,
        best.live_answers,
        best.allowed_abandons,
        best.ratio,
        100.0 * base.utilisation,
        inputs.period.abandon_pct(),
        100.0 * budget.tau,
        100.0 * est.live_answer_rate,
        est.mean_talk_seconds,
        est.mean_wrap_seconds,
    );
    match inputs.campaign_age_days {
        Some(age) if budget.young => format!(
            "{reason}; young campaign ({age:.1} days): no slack spent above the effective target, tail test x{YOUNG_TAIL_FACTOR:.0}"
        ),
        _ => reason,
    }
}
