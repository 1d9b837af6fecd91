//! ViciDial's adaptive dial level (ADAPT_TAPERED and ADAPT_AVERAGE),
//! re-implemented from the pacing issue's description, on its native cycle.
//!
//! Every second it samples `ready` (idle agents), `waiting` (answered calls
//! waiting for an agent) and `total` (logged-in agents), keeping the last 15
//! samples. Every 15 seconds it moves the dial level `L`:
//! `diff = mean(ready) - mean(waiting)`, `t = diff + dl_diff_target (0)`,
//! `m = t / mean(total)` (0 if either is 0), with intensity `I = 0`,
//! `m' = m >= 0 ? m (1 + I) : m |I - 1|`, `L = clamp(L (1 + m'), 1, 3)`;
//! then, if more than 20 calls came in the last minute and over 50 % of them
//! dropped, `L = L / 2`; if more than 50 calls came today and today's drop
//! rate is above 3 %: AVERAGE halves `L`, TAPERED sets `L = 1` after the
//! latest time (21:00) and otherwise `L = L x min(1, (HHMM_latest -
//! HHMM_now) / 1000)` (HHMM as integers, as ViciDial computes it); `L >= 1`
//! always. Between updates, every second, the dialler tops lines up to
//! `round(L x (ready + talking agents))` ("dials placed = round(L x (ready +
//! talking)) - calls in progress").
//!
//! "Calls" and "drops" are live answers and abandons (ViciDial's drop rate is
//! drops per answered call by default).

use std::collections::VecDeque;

use shared::engine::dialer::Dialer;

use crate::Ctx;

/// Which adaptive mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViciMode {
    /// ADAPT_TAPERED: over the drop limit, taper toward the latest time.
    Tapered,
    /// ADAPT_AVERAGE: over the drop limit, halve the level.
    Average,
}

/// Samples kept.
pub const SAMPLES: usize = 15;
/// Seconds between level updates.
pub const CYCLE_S: u32 = 15;
/// Highest dial level (`adaptive_maximum_level`).
pub const MAX_LEVEL: f64 = 3.0;
/// Drop-rate limit, percent (`adaptive_dropped_percentage`).
pub const DROP_LIMIT_PCT: f64 = 3.0;
/// Latest time, HHMM (`adaptive_latest_server_time`).
pub const LATEST_HHMM: i64 = 2100;
/// `adaptive_dl_diff_target`.
pub const DL_DIFF_TARGET: f64 = 0.0;
/// `adaptive_intensity`, percent.
pub const INTENSITY: f64 = 0.0;

/// The controller's state.
#[derive(Clone, Debug)]
pub struct ViciDial {
    mode: ViciMode,
    level: f64,
    samples: VecDeque<(f64, f64, f64)>,
}

impl ViciDial {
    /// A controller at dial level 1.
    pub fn new(mode: ViciMode) -> ViciDial {
        ViciDial {
            mode,
            level: 1.0,
            samples: VecDeque::with_capacity(SAMPLES + 1),
        }
    }

    /// The current dial level.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// One second of the dialler: sample, maybe update the level, top lines up.
    pub fn second(&mut self, d: &mut Dialer, ctx: &Ctx<'_>) {
        let s = d.snapshot();
        self.samples.push_back((
            f64::from(s.available),
            f64::from(s.waiting),
            f64::from(s.logged_in),
        ));
        if self.samples.len() > SAMPLES {
            self.samples.pop_front();
        }
        if (ctx.clock - crate::WINDOW_OPEN_S) % CYCLE_S == CYCLE_S - 1 {
            self.update(ctx);
        }
        let lines = (self.level * f64::from(s.available + s.working)).round();
        d.set_target_lines(if lines > 0.0 { lines as u32 } else { 0 });
    }

    fn update(&mut self, ctx: &Ctx<'_>) {
        let n = self.samples.len().max(1) as f64;
        let (ready, waiting, total) = self
            .samples
            .iter()
            .fold((0.0, 0.0, 0.0), |a, s| (a.0 + s.0, a.1 + s.1, a.2 + s.2));
        let (ready, waiting, total) = (ready / n, waiting / n, total / n);
        let t = ready - waiting + DL_DIFF_TARGET;
        let m = if t == 0.0 || total == 0.0 {
            0.0
        } else {
            t / total
        };
        let i = INTENSITY / 100.0;
        let m2 = if m >= 0.0 {
            m * (1.0 + i)
        } else {
            m * (i - 1.0).abs()
        };
        self.level = (self.level * (1.0 + m2)).clamp(1.0, MAX_LEVEL);
        let (calls, drops) = ctx.last_minute;
        if calls > 20 && (drops as f64) / (calls as f64) > 0.5 {
            self.level /= 2.0;
        }
        let today_calls = ctx.today.connects + ctx.today.abandons;
        let today_pct = if today_calls > 0 {
            100.0 * ctx.today.abandons as f64 / today_calls as f64
        } else {
            0.0
        };
        if today_calls > 50 && today_pct > DROP_LIMIT_PCT {
            match self.mode {
                ViciMode::Average => self.level /= 2.0,
                ViciMode::Tapered => {
                    let hhmm = i64::from(ctx.clock / 3600) * 100 + i64::from(ctx.clock % 3600 / 60);
                    if hhmm >= LATEST_HHMM {
                        self.level = 1.0;
                    } else {
                        let f = ((LATEST_HHMM - hhmm) as f64 / 1000.0).min(1.0);
                        self.level *= f;
                    }
                }
            }
        }
        self.level = self.level.max(1.0);
    }
}
