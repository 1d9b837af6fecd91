//! The simulated campaigns: how a day moves ([`Profile`]), one campaign's
//! day and seeds ([`Scenario`]), the benchmark's grid ([`grid`]) and the
//! draws outside it ([`unseen_scenarios`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shared::engine::dialer::{CallModel, Dist};
use shared::engine::pacing::predict::mix;

use crate::{PERIOD_DAYS, WINDOW_CLOSE_S};

/// How staffing and the answer rate move over the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Constant all day.
    Flat,
    /// Staffing falls to 60 % over lunch (12:00-14:00, 30-minute ramps).
    MiddayDip,
    /// The answer rate rises through the day, from 0.7x at 08:00 to 1.5x at 21:00.
    EveningRise,
    /// At 13:00 staffing steps down to 60 % and the answer rate up by half.
    StepAt13,
}

impl Profile {
    /// Short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            Profile::Flat => "flat",
            Profile::MiddayDip => "midday dip",
            Profile::EveningRise => "evening rise",
            Profile::StepAt13 => "step 13:00",
        }
    }

    /// (staffing factor, answer-rate factor) at `clock` seconds after midnight.
    pub fn factors(&self, clock: u32) -> (f64, f64) {
        let h = f64::from(clock) / 3600.0;
        match self {
            Profile::Flat => (1.0, 1.0),
            Profile::MiddayDip => {
                let dip = if !(12.0..14.0).contains(&h) {
                    0.0
                } else if h < 12.5 {
                    (h - 12.0) / 0.5
                } else if h < 13.5 {
                    1.0
                } else {
                    (14.0 - h) / 0.5
                };
                (1.0 - 0.4 * dip, 1.0)
            }
            Profile::EveningRise => (1.0, 0.7 + 0.8 * ((h - 8.0) / 13.0).clamp(0.0, 1.0)),
            Profile::StepAt13 => {
                if h < 13.0 {
                    (1.0, 1.0)
                } else {
                    (0.6, 1.5)
                }
            }
        }
    }
}

/// One simulated campaign: its day and its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Name for tables.
    pub name: String,
    /// Agents logged in at the profile's peak.
    pub agents: u32,
    /// Live-answer probability per dial at profile factor 1.
    pub live_rate: f64,
    /// Mean talk time (log-normal, CV [`TALK_CV`]), seconds.
    pub talk_mean: f64,
    /// Wrap times are uniform between these, seconds.
    pub wrap: (f64, f64),
    /// Ring limit (`maximumRingingDuration`), seconds (at least 15).
    pub ring_limit: f64,
    /// How the day moves.
    pub profile: Profile,
    /// Days simulated back to back (the 30-day period when 30).
    pub days: u32,
    /// When the calling window closes, seconds after midnight (normally
    /// [`WINDOW_CLOSE_S`]; shorter days keep debug-build tests quick).
    pub window_close_s: u32,
    /// Seeds: each is an independent run of the scenario.
    pub seeds: Vec<u64>,
}

/// Coefficient of variation of talk times.
pub const TALK_CV: f64 = 1.0;
/// Mean ring time (log-normal), seconds.
pub const RING_MEAN: f64 = 9.0;
/// Coefficient of variation of ring times.
pub const RING_CV: f64 = 0.6;
/// Share of dials answered by a machine.
pub const MACHINE_RATE: f64 = 0.18;
/// Share of dials that are busy.
pub const BUSY_RATE: f64 = 0.05;
/// Day-to-day and within-day drift of the answer rate (log scale, sd).
pub const ANSWER_DRIFT_SD: f64 = 0.10;
/// Drift of staffing around the profile (log scale, sd).
pub const STAFF_DRIFT_SD: f64 = 0.05;
/// Mean reversion time of both drifts, minutes.
pub const DRIFT_REVERSION_MIN: f64 = 45.0;

impl Scenario {
    /// The call model at answer-rate factor 1.
    pub fn call_model(&self) -> CallModel {
        CallModel {
            live_answer_rate: self.live_rate,
            machine_rate: MACHINE_RATE,
            busy_rate: BUSY_RATE,
            ring: Dist::LogNormal {
                mean: RING_MEAN,
                cv: RING_CV,
            },
            talk: Dist::LogNormal {
                mean: self.talk_mean,
                cv: TALK_CV,
            },
            wrap: Dist::Uniform {
                min: self.wrap.0,
                max: self.wrap.1,
            },
            ring_limit_s: self
                .ring_limit
                .max(shared::engine::dialer::MIN_RING_LIMIT_S),
            success_rate: 0.3,
        }
    }
}

/// The benchmark's scenario grid.
///
/// Every agent level (5, 10, 20, 50, 100, 200) meets every day profile once;
/// answer rate (5 / 15 / 30 %), talk mean (90 / 180 / 300 s), wrap range and
/// ring limit rotate so that each agent level sees every answer rate and
/// talk time (a fractional design: the full factorial of 216 days per seed
/// would not run in minutes). Two of them are also run as 30-day periods.
/// `seeds` independent runs each.
pub fn grid(seeds: u32, with_30_day: bool) -> Vec<Scenario> {
    let agents = [5u32, 10, 20, 50, 100, 200];
    let profiles = [
        Profile::Flat,
        Profile::MiddayDip,
        Profile::EveningRise,
        Profile::StepAt13,
    ];
    let answers = [0.05, 0.15, 0.30];
    let talks = [90.0, 180.0, 300.0];
    let wraps = [(10.0, 20.0), (15.0, 25.0), (20.0, 30.0)];
    let rings = [20.0, 15.0, 25.0];
    let mut out = Vec::new();
    for (i, &a) in agents.iter().enumerate() {
        for (j, &p) in profiles.iter().enumerate() {
            let live = answers[(i + j) % 3];
            let talk = talks[(i + 2 * j + 1) % 3];
            let wrap = wraps[(i + j + 2) % 3];
            let ring = rings[j % 3];
            out.push(Scenario {
                name: format!(
                    "{a} ag, {:.0} % ans, {talk:.0} s talk, {}",
                    100.0 * live,
                    p.name()
                ),
                agents: a,
                live_rate: live,
                talk_mean: talk,
                wrap,
                ring_limit: ring,
                profile: p,
                days: 1,
                window_close_s: WINDOW_CLOSE_S,
                seeds: (0..seeds)
                    .map(|k| mix(u64::from(a) * 1000 + j as u64, u64::from(k)))
                    .collect(),
            });
        }
    }
    if with_30_day {
        for (a, live, talk, p) in [
            (20u32, 0.15, 180.0, Profile::MiddayDip),
            (50u32, 0.30, 90.0, Profile::EveningRise),
        ] {
            out.push(Scenario {
                name: format!(
                    "{PERIOD_DAYS} days: {a} ag, {:.0} % ans, {talk:.0} s talk, {}",
                    100.0 * live,
                    p.name()
                ),
                agents: a,
                live_rate: live,
                talk_mean: talk,
                wrap: (10.0, 30.0),
                ring_limit: 20.0,
                profile: p,
                days: PERIOD_DAYS,
                window_close_s: WINDOW_CLOSE_S,
                seeds: vec![mix(u64::from(a), 30)],
            });
        }
    }
    out
}

/// One-day scenarios the grid never shows, drawn from wide ranges: agents
/// 6 to `max_agents` (at least 6), live-answer rate 2-45 % log-uniform,
/// talk 45-600 s, any wrap range, ring limit 15-30 s, any day profile; two
/// seeds each. The draw is seeded, so the same arguments give the same days
/// (the `unseen` example runs them; `calibrate --unseen` traces them).
pub fn unseen_scenarios(count: u32, seed: u64, max_agents: u32) -> Vec<Scenario> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|k| {
            let agents = rng.random_range(6u32..=max_agents.max(6));
            let live_rate = (rng.random_range(0.02f64.ln()..=0.45f64.ln())).exp();
            let talk_mean = rng.random_range(45.0..=600.0);
            let wrap_lo = rng.random_range(0.0..=40.0);
            let wrap = (wrap_lo, wrap_lo + rng.random_range(5.0..=30.0));
            let ring_limit = rng.random_range(15.0..=30.0f64).round();
            let profile = [
                Profile::Flat,
                Profile::MiddayDip,
                Profile::EveningRise,
                Profile::StepAt13,
            ][rng.random_range(0..4)];
            Scenario {
                name: format!(
                    "{agents} ag, {:.1} % ans, {talk_mean:.0} s talk, {:.0}-{:.0} s wrap, ring {ring_limit:.0} s, {}",
                    100.0 * live_rate,
                    wrap.0,
                    wrap.1,
                    profile.name()
                ),
                agents,
                live_rate,
                talk_mean,
                wrap,
                ring_limit,
                profile,
                days: 1,
                window_close_s: WINDOW_CLOSE_S,
                seeds: vec![mix(u64::from(k), 0xA11), mix(u64::from(k), 0xB22)],
            }
        })
        .collect()
}
