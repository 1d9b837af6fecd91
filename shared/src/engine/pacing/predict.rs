//! Predicting the next interval by simulation with the dialler model.
//!
//! Each candidate ratio is run through the same [`Dialer`] the CXone
//! simulator uses, warm-started from the current staffing with the lines of
//! the ratio in force already in flight, then switched at once to the
//! candidate ratio for the horizon, so raising the ratio shows its burst of
//! new dials. Every abandon from the first second counts: when the agents
//! are all busy, the calls already ringing are where the next abandons come
//! from. Replications differ in their seed *and* in
//! their parameters, which are drawn from the estimates' posteriors, so
//! parameter uncertainty shows up in the prediction. Replication `i` uses the
//! same seed and parameters for every candidate (common random numbers), so
//! candidates are compared on the same luck.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::estimate::{Estimates, BUSY_RATE, MACHINE_RATE, RING_CV, RING_MEAN_S, TALK_CV, WRAP_CV};
use crate::engine::dialer::{CallModel, Dialer, Dist, IntervalStats, LinePolicy, WarmState};

/// The measured horizon, seconds: two tuner periods. The decision holds for
/// one, but predicting further leans less on the snapshot it starts from.
/// It starts at the warm start: an earlier version ran 20 s at the ratio in
/// force first and discarded them (from when the warm start dialled every
/// line at one instant), which dropped the abandons of the calls already
/// ringing when every agent is busy. On a 24-agent day at 3 % answers
/// (`calibrate '24 ag, 3.1 % ans, 459 s' engine --trace --unseen 300,14,25`)
/// the engine, with all 19 staffed agents talking and 11 lines ringing,
/// predicted 0.4 abandons for ten minutes; replays of the exact state gave
/// 4.5 for five, and 10 happened. Over 400 small-team days (`--unseen
/// 200,12,25`) realized abandons after the engine's choices ran 11 % above
/// its predictions before, 4 % after (with the period-rate weighing of the
/// same change).
pub const HORIZON_S: f64 = 600.0;

/// One candidate ratio's predicted interval (means over replications).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateResult {
    /// The candidate `maximumRatio`.
    pub ratio: f64,
    /// Lines it means at the current staffing (`round(ratio * staffed)`).
    pub lines: u32,
    /// Predicted live answers in the interval.
    pub live_answers: f64,
    /// Predicted abandons in the interval.
    pub abandons: f64,
    /// An unlucky interval's abandons: the 90th percentile over replications.
    #[serde(default)]
    pub abandons_upper: f64,
    /// Abandons the budget allows for those live answers.
    pub allowed_abandons: f64,
    /// Predicted talk time / staffed time.
    pub utilisation: f64,
    /// Predicted talk time / logged-in time.
    pub talk_share: f64,
}

impl CandidateResult {
    /// Predicted abandons per live answer, percent.
    pub fn abandon_pct(&self) -> f64 {
        if self.live_answers > 0.0 {
            100.0 * self.abandons / self.live_answers
        } else {
            0.0
        }
    }
}

/// A replication's parameters, drawn once and reused for every candidate.
#[derive(Clone, Copy, Debug)]
pub(super) struct Replication {
    seed: u64,
    model: CallModel,
}

/// SplitMix64 step: a well-mixed 64-bit value from two.
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A mean drawn around `mean` with the standard error of `weight` calls of
/// coefficient of variation `cv` (log-normal, so it stays positive).
fn jitter_mean<R: Rng>(rng: &mut R, mean: f64, cv: f64, weight: f64) -> f64 {
    let se = cv / weight.max(1.0).sqrt();
    let z: f64 = rng.sample(StandardNormal);
    mean * (se * z - se * se / 2.0).exp()
}

/// How far the live-answer rate of the next interval may stray from the
/// rate measured over the recent window (log scale, standard deviation):
/// answer rates drift by the hour, and near the point where answers
/// outrun the agents a small rise turns a few abandons into dozens, so the
/// prediction must see that spread, not only the measuring error.
pub const ANSWER_RATE_DRIFT: f64 = 0.10;

/// Draws `n` replications' parameters from the estimates. The answer-rate
/// drift is drawn in antithetic pairs (`z`, `-z`), so a few replications
/// already see both a rising and a falling rate.
pub(super) fn replications(e: &Estimates, seed: u64, n: u32) -> Vec<Replication> {
    let beta = Beta::new(e.live_alpha.max(1e-6), e.live_beta.max(1e-6)).ok();
    let mut drift = 0.0f64;
    (0..n)
        .map(|i| {
            let rep_seed = mix(seed, u64::from(i) + 1);
            let mut rng = ChaCha8Rng::seed_from_u64(mix(rep_seed, 0x5EED));
            let measured = match &beta {
                Some(b) => b.sample(&mut rng),
                None => e.live_answer_rate,
            };
            drift = if i % 2 == 0 {
                rng.sample(StandardNormal)
            } else {
                -drift
            };
            let sd = ANSWER_RATE_DRIFT;
            let observed = (measured * (sd * drift - sd * sd / 2.0).exp()).clamp(0.0, 1.0);
            let talk = jitter_mean(&mut rng, e.mean_talk_seconds, TALK_CV, e.talk_weight);
            let wrap = jitter_mean(&mut rng, e.mean_wrap_seconds, WRAP_CV, e.wrap_weight);
            Replication {
                seed: rep_seed,
                model: call_model(observed, talk, wrap, e),
            }
        })
        .collect()
}

/// The dialler model for an observed live-answer rate per dial and means.
pub(super) fn call_model(observed_live: f64, talk: f64, wrap: f64, e: &Estimates) -> CallModel {
    let live = (observed_live / e.ring_before_limit.max(0.05)).clamp(0.0, 1.0);
    let others = MACHINE_RATE + BUSY_RATE;
    let scale = if live + others > 1.0 {
        ((1.0 - live) / others).max(0.0)
    } else {
        1.0
    };
    CallModel {
        live_answer_rate: live,
        machine_rate: MACHINE_RATE * scale,
        busy_rate: BUSY_RATE * scale,
        ring: Dist::LogNormal {
            mean: RING_MEAN_S,
            cv: RING_CV,
        },
        talk: Dist::LogNormal {
            mean: talk.max(1.0),
            cv: TALK_CV,
        },
        wrap: Dist::LogNormal {
            mean: wrap.max(0.0),
            cv: WRAP_CV,
        },
        ring_limit_s: e.ring_limit_seconds,
        success_rate: 0.0,
    }
}

/// Share of replications at or below [`CandidateResult::abandons_upper`].
pub const UPPER_QUANTILE: f64 = 0.9;

/// The [`UPPER_QUANTILE`] of per-replication abandons (0 when empty).
pub(super) fn upper_abandons(per_rep: &mut [u64]) -> f64 {
    if per_rep.is_empty() {
        return 0.0;
    }
    per_rep.sort_unstable();
    let k = ((per_rep.len() as f64) * UPPER_QUANTILE).ceil() as usize;
    per_rep[k.clamp(1, per_rep.len()) - 1] as f64
}

/// Runs one candidate ratio over every replication and returns the summed
/// stats and each replication's abandons.
/// Each run starts warm with the lines of the ratio in force (`current`) in
/// flight, then switches to `ratio` at once and measures the horizon, so
/// the burst of dials a higher ratio places is part of the prediction.
pub(super) fn simulate(
    reps: &[Replication],
    warm: WarmState,
    current: f64,
    ratio: f64,
) -> (IntervalStats, Vec<u64>) {
    let mut total = IntervalStats::default();
    let mut per_rep = Vec::with_capacity(reps.len());
    for rep in reps {
        // Agents already talking or wrapping get residual times: the warm
        // start draws a uniform fraction of a fresh sample, so a model whose
        // means are scaled by (1 + cv^2) gives residuals with the stationary
        // mean, mean * (1 + cv^2) / 2. New calls use the real model.
        let mut warm_model = rep.model;
        warm_model.talk = Dist::LogNormal {
            mean: rep.model.talk.mean() * (1.0 + TALK_CV * TALK_CV),
            cv: TALK_CV,
        };
        warm_model.wrap = Dist::LogNormal {
            mean: rep.model.wrap.mean() * (1.0 + WRAP_CV * WRAP_CV),
            cv: WRAP_CV,
        };
        let mut d = Dialer::warm_start(
            warm_model,
            rep.seed,
            warm,
            LinePolicy::Ratio { ratio: current },
        );
        d.set_model(rep.model);
        d.set_max_ratio(ratio);
        let s = d.advance_to(HORIZON_S);
        per_rep.push(s.abandons);
        total.add(&s);
    }
    (total, per_rep)
}
