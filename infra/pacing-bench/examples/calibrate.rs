//! Calibration of the engine's prediction against the model's truth.
//!
//! `cargo run --release -p pacing-bench --example calibrate -- TEXT POLICY`
//! runs the benchmark scenarios whose name contains TEXT under POLICY
//! (`engine` or a fixed ratio such as `1.5`) and, at every tuner tick,
//! compares the engine's prediction for the ratio then in force (the
//! chosen one under the engine) with the abandons and live answers of the
//! next 10 minutes.
//!
//! With `--unseen COUNT,SEED,MAX_AGENTS` the scenarios are the `unseen`
//! example's days (the same draw) instead of the benchmark grid.
//!
//! With `--trace` it prints every tick: `oracle5` is the truth for the state
//! (the benchmark's own dialler, cloned and reseeded 200 times, run 5
//! minutes at the ratio in force: mean, 90th percentile and maximum of
//! abandons),
//! then the engine's live-answer-rate and talk estimates beside the
//! scenario's true values, then staffing, the ratio, the engine's
//! prediction (over its 10-minute horizon) and the period so far.

use clap::Parser;
use pacing_bench::{grid, run_observed, unseen_scenarios, Policy, Scenario, Tick};
use shared::engine::pacing;

/// Calibration of the engine's prediction against the model's truth.
#[derive(Parser, Debug)]
#[command(
    name = "calibrate",
    about = "Compares the engine's predictions with what followed, tick by tick (Markdown on stdout).",
    args_override_self = true
)]
struct Args {
    /// Only the scenarios whose name contains TEXT (all when empty).
    #[arg(value_name = "TEXT", default_value = "")]
    only: String,
    /// `engine`, or a fixed ratio of at least 1.0 such as `1.5`.
    #[arg(value_name = "POLICY", default_value = "engine", value_parser = parse_policy)]
    policy: Policy,
    /// Print every tick: the state's truth (`oracle5`), the engine's
    /// estimates beside the true values, staffing, the ratio, the
    /// prediction and the period so far.
    #[arg(long)]
    trace: bool,
    /// The `unseen` example's days (the same draw) instead of the benchmark grid.
    #[arg(long, value_name = "COUNT,SEED,MAX_AGENTS", value_parser = parse_unseen)]
    unseen: Option<UnseenDraw>,
}

/// The `unseen` example's arguments: COUNT,SEED,MAX_AGENTS.
#[derive(Clone, Copy, Debug)]
struct UnseenDraw {
    count: u32,
    seed: u64,
    max_agents: u32,
}

/// `engine` or a ratio of at least 1.0.
fn parse_policy(r: &str) -> Result<Policy, String> {
    if r == "engine" {
        return Ok(Policy::Engine);
    }
    match r.parse::<f64>() {
        Ok(ratio) if ratio.is_finite() && ratio >= 1.0 => Ok(Policy::Fixed(ratio)),
        _ => Err(format!(
            "POLICY must be `engine` or a ratio of at least 1.0, not {r:?}"
        )),
    }
}

/// `COUNT,SEED,MAX_AGENTS`, e.g. `100,11,25`.
fn parse_unseen(v: &str) -> Result<UnseenDraw, String> {
    let spec: Vec<u64> = v.split(',').filter_map(|x| x.parse().ok()).collect();
    let [count, seed, max_agents] = spec[..] else {
        return Err("--unseen needs COUNT,SEED,MAX_AGENTS (e.g. 100,11,25)".into());
    };
    let (Ok(count), Ok(max_agents)) = (u32::try_from(count), u32::try_from(max_agents)) else {
        return Err("--unseen COUNT and MAX_AGENTS must fit in 32 bits".into());
    };
    Ok(UnseenDraw {
        count,
        seed,
        max_agents,
    })
}

/// (period abandons, period live, predicted abandons, predicted live, ratio) at a tick.
type TickRow = (u64, u64, f64, f64, f64);

fn main() {
    let args = Args::parse();
    println!("| scenario | seed | ticks | predicted ab | realized ab | predicted live | realized live | ratio mean |");
    println!("|---|---|---|---|---|---|---|---|");
    let pool = match args.unseen {
        Some(u) => unseen_scenarios(u.count, u.seed, u.max_agents),
        None => grid(3, false),
    };
    for sc in pool.into_iter().filter(|s| s.name.contains(&args.only)) {
        for &seed in &sc.seeds {
            let mut ticks: Vec<TickRow> = Vec::new();
            run_observed(&sc, args.policy, seed, &mut |t| {
                let (pa, pl, r) = prediction(args.policy, t);
                if args.trace {
                    print_trace(t, r, pa, pl);
                }
                ticks.push((t.ctx.period.abandons, t.ctx.period.live_answers, pa, pl, r));
            });
            print_row(&sc, seed, &ticks);
        }
    }
}

/// What the policy's ratio in force was predicted to do at a tick:
/// (abandons, live answers, ratio); the engine's chosen prediction, or the
/// engine's prediction for the fixed ratio.
fn prediction(policy: Policy, t: &Tick<'_>) -> (f64, f64, f64) {
    match (policy, t.decision) {
        (Policy::Engine, Some(d)) => match &d.prediction {
            Some(p) => (p.chosen.abandons, p.chosen.live_answers, d.maximum_ratio),
            None => (f64::NAN, f64::NAN, d.maximum_ratio),
        },
        (Policy::Fixed(r), _) => {
            let c = pacing::predict_ratio(&t.inputs, r);
            (c.abandons, c.live_answers, r)
        }
        _ => (f64::NAN, f64::NAN, 1.0),
    }
}

/// One `--trace` line: the state's truth, the engine's estimates and the tick.
fn print_trace(t: &Tick<'_>, r: f64, pa: f64, pl: f64) {
    let s = t.dialer.snapshot();
    // The truth given the exact state: the same dialler,
    // reseeded, run 5 minutes at the ratio now in force.
    let mut oracle: Vec<u64> = (0..200u64)
        .map(|k| {
            let mut c = t.dialer.clone();
            c.reseed(k + 1);
            let t0 = c.now();
            c.advance_to(t0 + 300.0).abandons
        })
        .collect();
    oracle.sort_unstable();
    let om = oracle.iter().sum::<u64>() as f64 / oracle.len() as f64;
    print!(
        "oracle5 {:5.2} p90 {:3} max {:3} | ",
        om, oracle[179], oracle[199]
    );
    let e = pacing::estimate(&t.inputs);
    let m = t.dialer.model();
    print!(
        "live est {:.4} true {:.4} talk est {:.0} true {:.0} | ",
        e.live_answer_rate / e.ring_before_limit.max(0.05),
        m.live_answer_rate,
        e.mean_talk_seconds,
        m.talk.mean()
    );
    println!(
        "{:02}:{:02} staffed {:3} avail {:3} work {:3} ratio {:.2} pred ab {:6.2} live {:6.1} period {:.2} % ({} / {})",
        t.ctx.clock / 3600, t.ctx.clock / 60 % 60, s.staffed, s.available, s.working,
        r, pa, pl,
        100.0 * t.ctx.period.abandons as f64 / (t.ctx.period.live_answers.max(1)) as f64,
        t.ctx.period.abandons, t.ctx.period.live_answers,
    );
}

/// One seed's row: predictions at ticks with a ratio above 1.0 against the
/// abandons and live answers of the next two tuner periods.
fn print_row(sc: &Scenario, seed: u64, ticks: &[TickRow]) {
    let (mut pa, mut ra, mut pl, mut rl, mut rs, mut n) = (0.0, 0u64, 0.0, 0u64, 0.0, 0);
    for i in 0..ticks.len().saturating_sub(2) {
        let (a0, l0, p_ab, p_live, r) = ticks[i];
        if !p_ab.is_finite() || r <= 1.0 {
            continue;
        }
        let (a2, l2, ..) = ticks[i + 2];
        pa += p_ab;
        pl += p_live;
        ra += a2 - a0;
        rl += l2 - l0;
        rs += r;
        n += 1;
    }
    println!(
        "| {} | {seed:x} | {n} | {pa:.1} | {ra} | {pl:.0} | {rl} | {:.2} |",
        sc.name,
        rs / f64::from(n.max(1))
    );
}
