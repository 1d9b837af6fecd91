//! A small subset of the pacing benchmark, in the test suite: the engine,
//! called every 5 minutes as the capacity tuner calls it, stays lawful and
//! does not lose to progressive dialling. Short days and small staffing keep
//! it quick in a debug build; `cargo run --release -p pacing-bench` runs the
//! full benchmark (see `docs/pacing-benchmark.md`).

use pacing_bench::{run, Policy, Profile, Scenario, LEGAL_PCT, WINDOW_OPEN_S};

/// A three-hour morning (08:00-11:00) for `agents` agents.
fn morning(agents: u32, live_rate: f64, talk_mean: f64, profile: Profile) -> Scenario {
    Scenario {
        name: format!("{agents} agents, {live_rate} answer, {talk_mean} s talk"),
        agents,
        live_rate,
        talk_mean,
        wrap: (10.0, 30.0),
        ring_limit: 20.0,
        profile,
        days: 1,
        window_close_s: WINDOW_OPEN_S + 3 * 3600,
        seeds: vec![11, 12],
    }
}

#[test]
fn engine_is_lawful_and_beats_progressive() {
    for sc in [
        morning(20, 0.30, 90.0, Profile::Flat),
        morning(20, 0.15, 180.0, Profile::EveningRise),
    ] {
        for &seed in &sc.seeds {
            let engine = run(&sc, Policy::Engine, seed);
            let progressive = run(&sc, Policy::Fixed(1.0), seed);
            assert!(
                engine.window.live_answers > 100,
                "{}: too little traffic to judge ({} live answers)",
                sc.name,
                engine.window.live_answers
            );
            assert!(
                engine.abandon_pct() <= LEGAL_PCT,
                "{} seed {seed}: engine abandoned {:.2} %",
                sc.name,
                engine.abandon_pct()
            );
            assert_eq!(progressive.abandons, 0, "progressive abandons nothing");
            assert!(
                engine.talk_util() >= progressive.talk_util(),
                "{} seed {seed}: engine {:.1} % < progressive {:.1} %",
                sc.name,
                engine.talk_util(),
                progressive.talk_util()
            );
            assert_eq!(engine.outside_window_dials, 0, "no dial outside the window");
            assert!(!engine.decision_ms.is_empty(), "the engine was consulted");
        }
    }
}

#[test]
fn fixed_two_breaks_the_law_where_the_engine_does_not() {
    // The benchmark's point in miniature: a typical predictive-dialler ratio
    // abandons far more than 3 % under CXone's line rule, the engine does not.
    let sc = morning(20, 0.30, 90.0, Profile::Flat);
    let fixed = run(&sc, Policy::Fixed(2.0), sc.seeds[0]);
    let engine = run(&sc, Policy::Engine, sc.seeds[0]);
    assert!(
        fixed.abandon_pct() > LEGAL_PCT,
        "{:.2}",
        fixed.abandon_pct()
    );
    assert!(
        engine.abandon_pct() <= LEGAL_PCT,
        "{:.2}",
        engine.abandon_pct()
    );
}
