//! The pacing engine's decision for one campaign (`engine::pacing::decide`),
//! at 5, 50 and 200 staffed agents: estimates, the replicated simulation of
//! every candidate ratio, the search and the step. One core, pure, seeded.
//!
//! `cargo bench -p shared --bench pacing`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use shared::engine::pacing::{decide, PacingMode};

mod common;

fn decision(c: &mut Criterion) {
    let mut group = c.benchmark_group("pacing/decide");
    // A decision takes milliseconds: fewer, longer samples.
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    for agents in [5u32, 50, 200] {
        let inputs = common::pacing_inputs(agents);
        let probe = decide(&inputs);
        let evaluated = probe
            .prediction
            .as_ref()
            .map_or(0, |p| p.candidates_evaluated);
        // The bench is meant to time the simulation, not a fallback.
        assert!(
            evaluated > 0,
            "{agents} agents: the engine fell back without simulating ({})",
            probe.reason
        );
        eprintln!(
            "pacing/decide/{agents}: {:?} ratio {:.2}, {evaluated} candidates, {} replications",
            probe.mode,
            probe.maximum_ratio,
            probe.prediction.as_ref().map_or(0, |p| p.replications)
        );
        if agents >= 50 {
            assert_eq!(probe.mode, PacingMode::Predictive, "{}", probe.reason);
        }
        group.bench_with_input(BenchmarkId::from_parameter(agents), &inputs, |b, i| {
            b.iter(|| decide(black_box(i)))
        });
    }
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
