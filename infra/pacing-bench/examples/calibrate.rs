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

use pacing_bench::{grid, run_observed, unseen_scenarios, Policy};
use shared::engine::pacing;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only = args.first().cloned().unwrap_or_default();
    let policy = match args.get(1).map(String::as_str) {
        None | Some("engine") => Policy::Engine,
        Some(r) => match r.parse::<f64>() {
            Ok(ratio) if ratio.is_finite() && ratio >= 1.0 => Policy::Fixed(ratio),
            _ => {
                eprintln!(
                    "calibrate: POLICY must be `engine` or a ratio of at least 1.0, not {r:?}"
                );
                std::process::exit(2);
            }
        },
    };
    let trace = args.iter().any(|a| a == "--trace");
    println!("| scenario | seed | ticks | predicted ab | realized ab | predicted live | realized live | ratio mean |");
    println!("|---|---|---|---|---|---|---|---|");
    // `--unseen COUNT,SEED,MAX_AGENTS`: the `unseen` example's days instead of the grid.
    let pool = match args.iter().position(|a| a == "--unseen") {
        Some(i) => {
            let spec: Vec<u64> = args
                .get(i + 1)
                .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
                .unwrap_or_default();
            let [count, seed, max_agents] = spec[..] else {
                eprintln!("calibrate: --unseen needs COUNT,SEED,MAX_AGENTS (e.g. 100,11,25)");
                std::process::exit(2);
            };
            let (Ok(count), Ok(max_agents)) = (u32::try_from(count), u32::try_from(max_agents))
            else {
                eprintln!("calibrate: --unseen COUNT and MAX_AGENTS must fit in 32 bits");
                std::process::exit(2);
            };
            unseen_scenarios(count, seed, max_agents)
        }
        None => grid(3, false),
    };
    for sc in pool.into_iter().filter(|s| s.name.contains(&only)) {
        for &seed in &sc.seeds {
            // (period abandons, period live, predicted abandons, predicted live, ratio) per tick.
            let mut ticks: Vec<(u64, u64, f64, f64, f64)> = Vec::new();
            run_observed(&sc, policy, seed, &mut |t| {
                let (pa, pl, r) = match (policy, t.decision) {
                    (Policy::Engine, Some(d)) => match &d.prediction {
                        Some(p) => (p.chosen.abandons, p.chosen.live_answers, d.maximum_ratio),
                        None => (f64::NAN, f64::NAN, d.maximum_ratio),
                    },
                    (Policy::Fixed(r), _) => {
                        let c = pacing::predict_ratio(&t.inputs, r);
                        (c.abandons, c.live_answers, r)
                    }
                    _ => (f64::NAN, f64::NAN, 1.0),
                };
                if trace {
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
                ticks.push((t.ctx.period.abandons, t.ctx.period.live_answers, pa, pl, r));
            });
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
    }
}
