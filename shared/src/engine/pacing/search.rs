//! The grid of candidate ratios, its search for the ones that fit the
//! budget, and the smoothed move toward the best of them.

use super::*;

/// Simulates candidates over one decision's replications and counts them
/// (the prediction's `candidatesEvaluated`).
pub(super) struct Evaluator<'a> {
    /// The replications every candidate is simulated over.
    pub(super) reps: &'a [predict::Replication],
    /// Staffing now (the warm start).
    pub(super) staffing: Staffing,
    /// The ratio in force (the lines already in flight).
    pub(super) current: f64,
    /// The budget candidates are held against.
    pub(super) budget: &'a Budget,
    /// Candidates simulated so far.
    pub(super) evaluated: u32,
}

impl Evaluator<'_> {
    /// Simulates `ratio` (see [`candidate`]).
    pub(super) fn simulate(&mut self, ratio: f64) -> CandidateResult {
        self.evaluated += 1;
        candidate(self.reps, self.staffing, self.current, ratio, self.budget)
    }

    /// Whether a simulated candidate fits the budget.
    pub(super) fn fits(&self, c: &CandidateResult) -> bool {
        self.budget.fits(c)
    }
}

/// The candidate ratios: `lo + i x` [`RATIO_STEP`] for `i` in `0..=steps`,
/// within the campaign's bounds (never below 1.0) and at most the rise
/// limit above the ratio in force.
pub(super) struct Grid {
    /// The lowest allowed ratio.
    pub(super) lo: f64,
    /// The highest ratio this interval may reach.
    pub(super) hi: f64,
    /// Grid steps from `lo` to `hi`.
    pub(super) steps: u32,
}

impl Grid {
    /// The grid of the inputs' bounds and the rise limit for `est`.
    pub(super) fn for_inputs(inputs: &PacingInputs, est: &Estimates) -> Grid {
        let lo = if inputs.min_ratio.is_finite() {
            round2(inputs.min_ratio.max(1.0))
        } else {
            1.0
        };
        let hi = if inputs.max_ratio.is_finite() {
            round2(inputs.max_ratio.max(lo))
        } else {
            lo
        };
        // Rises are limited per interval; falls are not.
        let hi = round2(hi.min(in_force(inputs).max(lo) + max_rise(est)).max(lo));
        let steps = ((hi - lo) / RATIO_STEP).round().max(0.0) as u32;
        Grid { lo, hi, steps }
    }

    /// The ratio at grid point `i`.
    pub(super) fn at(&self, i: u32) -> f64 {
        round2(self.lo + f64::from(i) * RATIO_STEP)
    }
}

/// What the search of the grid found.
pub(super) struct Search {
    /// Every candidate that fits, the lowest allowed ratio first.
    pub(super) fitting: Vec<CandidateResult>,
    /// Nothing up to the top of the grid failed (the budget's edge was not reached).
    pub(super) unbounded: bool,
    /// The ratio in force's prediction, when it lies on the grid.
    pub(super) at_current: Option<CandidateResult>,
}

/// Step 5's search: from the ratio in force `current`, expand upward in
/// doubling strides while candidates fit, then bisect between the highest
/// fitting and the lowest failing point. Every fitting result is kept.
/// `first` (the lowest allowed ratio) fits.
pub(super) fn search(
    eval: &mut Evaluator<'_>,
    grid: &Grid,
    current: f64,
    first: CandidateResult,
) -> Search {
    let steps = grid.steps;
    let mut fitting = vec![first];
    let (mut good, mut bad) = (0u32, steps + 1);
    let start = ((current - grid.lo) / RATIO_STEP)
        .round()
        .clamp(0.0, f64::from(steps)) as u32;
    let mut at_current =
        (start == 0 && (current - grid.lo).abs() < RATIO_STEP / 2.0).then_some(first);
    if start > 0 {
        let c = eval.simulate(grid.at(start));
        at_current = Some(c);
        if eval.fits(&c) {
            good = start;
            fitting.push(c);
        } else {
            bad = start;
        }
    }
    let mut stride = SEARCH_STRIDE;
    while bad == steps + 1 && good < steps {
        let i = (good + stride).min(steps);
        let c = eval.simulate(grid.at(i));
        if eval.fits(&c) {
            good = i;
            fitting.push(c);
            stride *= 2;
        } else {
            bad = i;
        }
    }
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        let c = eval.simulate(grid.at(mid));
        if eval.fits(&c) {
            good = mid;
            fitting.push(c);
        } else {
            bad = mid;
        }
    }
    Search {
        fitting,
        unbounded: bad == steps + 1,
        at_current,
    }
}

/// Of the candidates that fit, the one with the highest predicted
/// utilisation (the lower ratio on a tie), starting from `first`.
pub(super) fn most_utilised(
    first: CandidateResult,
    fitting: &[CandidateResult],
) -> CandidateResult {
    fitting.iter().copied().fold(first, |best, c| {
        if c.utilisation > best.utilisation + 1e-12
            || ((c.utilisation - best.utilisation).abs() <= 1e-12 && c.ratio < best.ratio)
        {
            c
        } else {
            best
        }
    })
}

/// The move decided from the ratio in force.
pub(super) struct Step {
    /// The next ratio.
    pub(super) ratio: f64,
    /// The ratio in force overspends badly: straight down, unsmoothed.
    pub(super) urgent: bool,
}

/// The next ratio on the way from the ratio in force `current` to `best`:
/// smoothed ([`smooth`]), unless that ratio is predicted to overspend
/// badly ([`URGENT_OVERSPEND`]) or no candidate reached the budget's edge.
pub(super) fn next_ratio(grid: &Grid, current: f64, best: CandidateResult, found: &Search) -> Step {
    let urgent = found.at_current.is_some_and(|c| {
        best.ratio < c.ratio && c.abandons > URGENT_OVERSPEND * c.allowed_abandons + 1.0
    });
    let from = current.clamp(grid.lo, grid.hi.max(grid.lo));
    // Smoothing averages out the noisy location of the budget's edge; when
    // no candidate reached that edge (everything up to the rise limit or the
    // bound fits), there is nothing to average.
    let ratio = if urgent || (found.unbounded && best.ratio >= from) {
        best.ratio
    } else {
        smooth(from, best.ratio).clamp(grid.lo, grid.hi)
    };
    Step { ratio, urgent }
}
