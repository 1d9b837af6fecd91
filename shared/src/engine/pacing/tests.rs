//! Unit tests of the pacing policy.

use super::*;

pub(crate) fn inputs() -> PacingInputs {
    PacingInputs {
        staffing: Staffing {
            available: 3,
            working: 17,
            acw: 2,
            logged_in: 22,
        },
        recent: Results {
            dials: 1_500,
            connects: 225,
            abandons: 0,
            mean_talk_seconds: 180.0,
            mean_wrap_seconds: 20.0,
        },
        period: Results {
            dials: 20_000,
            connects: 3_000,
            abandons: 20,
            mean_talk_seconds: 180.0,
            mean_wrap_seconds: 20.0,
        },
        recent_seconds: 900.0,
        current_ratio: 1.2,
        target_abandon_pct: 3.0,
        min_ratio: 1.0,
        max_ratio: 3.0,
        ring_limit_seconds: 20.0,
        seed: 7,
        campaign_age_days: None,
    }
}

/// Inputs for `staffed` agents at the same shares as [`inputs`].
fn scaled(staffed: u32) -> PacingInputs {
    let mut i = inputs();
    let working = staffed * 17 / 20;
    i.staffing = Staffing {
        available: staffed - working,
        working,
        acw: staffed / 10,
        logged_in: staffed + staffed / 10,
    };
    let f = f64::from(staffed) / 20.0;
    i.recent.dials = (1_500.0 * f) as u64;
    i.recent.connects = (225.0 * f) as u64;
    // High enough that the rise limit does not flatten the comparison.
    i.current_ratio = 1.5;
    i
}

#[test]
fn a_move_is_half_way_but_never_below_the_hysteresis_step() {
    assert_eq!(smooth(1.0, 2.0), 1.5, "half-way");
    assert_eq!(smooth(2.0, 1.0), 1.5);
    // Half of 0.08 would be 1.04, which the tuner would never write.
    assert_eq!(smooth(1.0, 1.08), 1.05);
    assert_eq!(smooth(1.5, 1.42), 1.45);
    // Nearer than one step: the best itself (the tuner's hysteresis
    // then decides whether it is worth writing).
    assert_eq!(smooth(1.0, 1.03), 1.03);
    assert_eq!(smooth(1.0, 1.05), 1.05);
    assert_eq!(smooth(1.2, 1.2), 1.2);
    for (from, best) in [(1.0, 1.11), (2.3, 2.19), (1.0, 3.0), (1.07, 1.0)] {
        let next = smooth(from, best);
        let (lo, hi) = if best > from {
            (from, best)
        } else {
            (best, from)
        };
        assert!(next >= lo && next <= hi, "{from} -> {best}: {next}");
        assert!(reaches_step(from, next, HYSTERESIS) || next == best);
    }
}

/// Asserts that the engine dials progressively for `i`, saying `why`.
fn assert_progressive_because(i: &PacingInputs, why: &str) {
    let d = decide(i);
    assert_eq!((d.maximum_ratio, d.mode), (1.0, PacingMode::Progressive));
    assert!(d.reason.contains(why), "{}", d.reason);
}

#[test]
fn thin_data_small_staffing_and_spent_budget_are_progressive() {
    let mut i = inputs();
    i.recent.connects = 10;
    i.period.connects = 15;
    i.period.abandons = 0;
    assert_progressive_because(&i, "too little data");
    let mut i = inputs();
    i.staffing.working = 1;
    i.staffing.available = 2;
    i.staffing.acw = 1;
    let d = decide(&i);
    assert_eq!(d.maximum_ratio, 1.0);
    assert!(d.reason.contains("(< 5)"), "{}", d.reason);
    // Two of five wrapping up: still a team of five.
    i.staffing.acw = 2;
    assert!(!decide(&i).reason.contains("(< 5)"));
}

#[test]
fn a_young_period_keeps_one_abandon_in_reserve() {
    let mut i = inputs();
    // 30 live answers at a 3 % target allow 0.9 abandons: all of it is
    // the reserve, so nothing is spent on predictive dialling.
    i.period.connects = 30;
    i.period.abandons = 0;
    assert_progressive_because(&i, "reserve");
    // 300 live answers: the reserve (1 of 300, 0.33 %) is the margin,
    // wider than 10 % of the target (0.3 %).
    i.period.connects = 300;
    let b = Budget::for_inputs(&i);
    assert!((b.tau - (0.03 - 1.0 / 300.0)).abs() < 1e-12, "{b:?}");
    // 3000: 10 % of the target is the wider margin again.
    i.period.connects = 3_000;
    let b = Budget::for_inputs(&i);
    assert!((b.tau - 0.027).abs() < 1e-12, "{b:?}");
    assert_ne!(decide(&i).mode, PacingMode::Progressive);
}

#[test]
fn spent_budget_means_ratio_one() {
    let mut i = inputs();
    // 91 of 3011 (3.02 %) is past the 3 % target: spent.
    i.period.connects = 2_920;
    i.period.abandons = 91;
    assert_progressive_because(&i, "budget spent");
    // A target of 0 leaves no budget at all.
    let mut i = inputs();
    i.target_abandon_pct = 0.0;
    assert_eq!(decide(&i).maximum_ratio, 1.0);
    // And a large campaign with plenty of data is no exception.
    let mut i = scaled(200);
    i.period.abandons = 200;
    i.period.connects = 3_000;
    assert_eq!(decide(&i).maximum_ratio, 1.0);
}

#[test]
fn predicts_above_one_with_budget_and_data() {
    let d = decide(&scaled(100));
    assert_eq!(d.mode, PacingMode::Predictive, "{}", d.reason);
    assert!(d.maximum_ratio > 1.0, "{}", d.reason);
    let p = d.prediction.as_ref().expect("prediction");
    assert!(p.chosen.abandons <= p.chosen.allowed_abandons);
    assert!(p.chosen.utilisation >= p.progressive.utilisation);
    assert_eq!(p.progressive.abandons, 0.0, "progressive abandons nothing");
}

#[test]
fn bounds_are_respected() {
    for (lo, hi) in [(1.0, 3.0), (1.0, 1.1), (1.3, 1.5), (2.0, 2.0)] {
        let mut i = scaled(100);
        i.min_ratio = lo;
        i.max_ratio = hi;
        let d = decide(&i);
        assert!(
            d.maximum_ratio == 1.0 || (lo..=hi).contains(&d.maximum_ratio),
            "{lo}..{hi}: {}",
            d.maximum_ratio
        );
        assert!(d.maximum_ratio <= hi);
    }
    let mut i = inputs();
    i.target_abandon_pct = 9.0;
    assert_eq!(decide(&i).abandon_rate_threshold, 3.0);
    i.target_abandon_pct = f64::NAN;
    i.max_ratio = f64::INFINITY;
    let d = decide(&i);
    assert_eq!(d.abandon_rate_threshold, 0.0);
    assert_eq!(d.maximum_ratio, 1.0);
}

#[test]
fn deterministic_for_a_seed() {
    let a = decide(&scaled(50));
    let b = decide(&scaled(50));
    assert_eq!(a, b);
    let mut other = scaled(50);
    other.seed = 8;
    let c = decide(&other);
    assert_ne!(a.prediction, c.prediction, "another seed, another sample");
}

#[test]
fn an_overspending_ratio_falls_at_once_and_others_move_half_way() {
    // 100 agents at ratio 3.0 with a 15 % answer rate: far past the cliff.
    let mut i = scaled(100);
    i.current_ratio = 3.0;
    // Half-way from 3.0 would stay at 2.0 or above: it falls further at once.
    let d = decide(&i);
    assert!(d.maximum_ratio < 2.0, "{}", d.reason);
    assert!(
        d.reason.contains("straight down") || d.mode == PacingMode::Progressive,
        "{}",
        d.reason
    );
    // From just above 1, a rise toward the best ratio that is limited by
    // the budget moves half-way (the chosen ratio itself fits).
    let mut i = scaled(100);
    i.current_ratio = 1.0;
    let d = decide(&i);
    let p = d.prediction.as_ref().expect("prediction");
    assert!(d.maximum_ratio > 1.0, "{}", d.reason);
    assert!(
        p.chosen.abandons <= p.chosen.allowed_abandons + 1e-9,
        "{}",
        d.reason
    );
}

#[test]
fn monotone_in_staffing() {
    let mut last = 1.0;
    let mut ratios = Vec::new();
    for staffed in [5, 10, 20, 50, 100, 200] {
        let d = decide(&scaled(staffed));
        assert!(
            d.maximum_ratio + 1e-9 >= last,
            "{staffed} agents: {} after {last} ({})",
            d.maximum_ratio,
            d.reason
        );
        last = d.maximum_ratio;
        ratios.push(last);
    }
    assert!(ratios[5] > ratios[1], "{ratios:?}");
}

#[test]
fn age_under_thirty_days_is_young() {
    let mut i = inputs();
    assert!(!i.is_young(), "no age: mature");
    for (age, young) in [
        (0.0, true),
        (0.45, true),
        (29.9, true),
        (30.0, false),
        (365.0, false),
        (-1.0, true),
        (f64::NAN, true),
    ] {
        i.campaign_age_days = Some(age);
        assert_eq!(i.is_young(), young, "age {age}");
    }
}

#[test]
fn a_young_campaign_spends_no_slack_above_the_effective_target() {
    let mut i = inputs();
    // A quiet morning: 1000 live answers, 5 abandons (slack 22).
    i.period.connects = 995;
    i.period.abandons = 5;
    let mature = Budget::for_inputs(&i);
    i.campaign_age_days = Some(0.3);
    let young = Budget::for_inputs(&i);
    assert_eq!((mature.tau, mature.slack), (young.tau, young.slack));
    let live = 50.0;
    assert!((young.allowed(live) - young.tau * live).abs() < 1e-12);
    assert!(mature.allowed(live) > young.allowed(live) + 0.1);
    assert!(mature.allowed(live) <= (1.0 + SLACK_SPEND) * mature.tau * live + 1e-12);
    // An overspend is repaid the same way, young or not.
    i.period.abandons = 29;
    let young = Budget::for_inputs(&i);
    i.campaign_age_days = None;
    let mature = Budget::for_inputs(&i);
    assert_eq!(young.allowed(live), mature.allowed(live));
}

#[test]
fn a_young_campaign_holds_its_headroom_against_a_worse_interval() {
    // Late on day 1 of a 20-agent campaign: 22 abandons of 1022 live
    // answers (2.15 %) leave 8.7 before the 3 % target. The only
    // allowed ratio, 1.25, is predicted to abandon 0.6 of 54 live
    // answers, 2 in an unlucky interval: 4 x 2 fits the 10.3 abandons
    // of headroom (with the interval's own live answers), 6 x 2 does not.
    let mut i = inputs();
    i.period.dials = 7_000;
    i.period.connects = 1_000;
    i.period.abandons = 22;
    i.min_ratio = 1.25;
    i.max_ratio = 1.25;
    let c = predict_ratio(&i, 1.25);
    assert_eq!(c.abandons_upper, 2.0, "{c:?}");
    let mature = decide(&i);
    assert_eq!(
        (mature.maximum_ratio, mature.mode),
        (1.25, PacingMode::Predictive),
        "{}",
        mature.reason
    );
    // Thirty days and older: the same numbers, the same decision.
    i.campaign_age_days = Some(30.0);
    assert_eq!(decide(&i), mature);
    // Day 1, in the evening: a burst now could not be repaid tonight.
    i.campaign_age_days = Some(0.5);
    assert_progressive_because(&i, "even the lowest allowed ratio");
    // Day 29 likewise (its life, too, may end tonight).
    i.campaign_age_days = Some(28.5);
    assert_progressive_because(&i, "even the lowest allowed ratio");
}
