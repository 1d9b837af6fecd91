//! Inputs shared by the criterion benches (`cargo bench -p shared`).

#![allow(dead_code)] // each bench uses part of it

use shared::engine::pacing::{PacingInputs, Results, Staffing};

/// The inputs the capacity tuner would give the engine for a mature campaign
/// of `agents` staffed agents in mid-morning: most agents on calls, a 15 %
/// live-answer rate, 3 min talk and 30 s wrap, 1.2 % abandonment over the
/// last 15 minutes and the period, the ratio in force 1.5, target 3 %, bounds
/// 1.0 to 4.0, a 20 s ring limit. A fixed seed, so every run decides the same.
pub fn pacing_inputs(agents: u32) -> PacingInputs {
    let working = (agents * 7).div_ceil(10);
    let acw = (agents / 10).max(1);
    let available = agents.saturating_sub(working + acw).max(1);
    // About 4.3 calls per agent in 15 minutes at 210 s a call.
    let connects = u64::from(agents) * 43 / 10;
    // 1.2 % of live answers (none in a small team's quarter hour).
    let abandons = connects * 12 / 1000;
    let live = connects + abandons;
    let dials = live * 100 / 15;
    let recent = Results {
        dials,
        connects,
        abandons,
        mean_talk_seconds: 180.0,
        mean_wrap_seconds: 30.0,
    };
    // A 30-day period of 8-hour days, at the same rates.
    let quarters = 30 * 8 * 4;
    let period = Results {
        dials: dials * quarters,
        connects: connects * quarters,
        abandons: connects * quarters * 12 / 1000,
        mean_talk_seconds: 175.0,
        mean_wrap_seconds: 28.0,
    };
    PacingInputs {
        staffing: Staffing {
            available,
            working,
            acw,
            logged_in: available + working + acw,
        },
        recent,
        period,
        recent_seconds: 900.0,
        current_ratio: 1.5,
        target_abandon_pct: 3.0,
        min_ratio: 1.0,
        max_ratio: 4.0,
        ring_limit_seconds: 20.0,
        seed: 0x5eed_0000 + u64::from(agents),
        campaign_age_days: None,
    }
}
