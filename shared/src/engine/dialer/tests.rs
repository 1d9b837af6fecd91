//! Unit tests of the dialler model.

use super::*;

fn model(live: f64) -> CallModel {
    CallModel {
        live_answer_rate: live,
        ..CallModel::default()
    }
}

/// Drives a model through a busy staffing pattern: log-ins, log-outs and
/// pauses changing every 30 s, checking the progressive invariant.
fn busy_day(seed: u64, ratio: f64, check_invariant: bool) -> IntervalStats {
    let mut d = Dialer::new(model(0.3), seed);
    d.set_max_ratio(ratio);
    let mut total = IntervalStats::default();
    let mut staff_rng = ChaCha8Rng::seed_from_u64(seed ^ 0xABCD);
    for step in 0..240u32 {
        let n = staff_rng.random_range(3..30u32);
        d.set_logged_in(n);
        d.set_paused(staff_rng.random_range(0..=n / 3));
        if step % 17 == 0 {
            d.set_dialling(step % 34 != 0);
        }
        for k in 1..=30u32 {
            total.add(&d.advance_to(f64::from(step * 30 + k)));
            if check_invariant {
                let s = d.snapshot();
                assert!(
                    s.ringing + s.waiting <= s.available,
                    "invariant broken at {s:?}"
                );
            }
        }
    }
    total
}

#[test]
fn ratio_one_never_abandons() {
    for seed in [1, 2, 3, 42, 1234, 99_999] {
        let s = busy_day(seed, 1.0, true);
        assert!(s.dials > 500, "seed {seed}: only {} dials", s.dials);
        assert!(s.connects > 50, "seed {seed}: only {} connects", s.connects);
        assert_eq!(
            s.abandons, 0,
            "seed {seed}: progressive dialling abandoned calls"
        );
        assert_eq!(s.live_answers, s.connects, "seed {seed}");
    }
}

#[test]
fn higher_ratio_gives_more_utilisation_and_abandons() {
    let run = |ratio: f64| {
        let mut total = IntervalStats::default();
        for seed in 0..4 {
            let mut d = Dialer::new(model(0.2), seed);
            d.set_logged_in(20);
            d.set_max_ratio(ratio);
            total.add(&d.advance_to(3600.0));
        }
        total
    };
    let low = run(1.0);
    let high = run(3.0);
    assert_eq!(low.abandons, 0);
    assert!(high.abandons > 0);
    assert!(
        high.utilisation() > low.utilisation() + 0.05,
        "{} vs {}",
        high.utilisation(),
        low.utilisation()
    );
    assert!(high.dials > low.dials);
}

#[test]
fn same_seed_same_result() {
    let a = busy_day(7, 2.0, false);
    let b = busy_day(7, 2.0, false);
    let c = busy_day(8, 2.0, false);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn agent_seconds_add_up() {
    let s = busy_day(5, 2.0, false);
    let sum = s.idle_agent_seconds + s.talk_seconds + s.wrap_seconds + s.unavailable_agent_seconds;
    assert!((s.logged_in_agent_seconds - sum).abs() < 1e-6 * s.logged_in_agent_seconds.max(1.0));
    let staffed = s.idle_agent_seconds + s.talk_seconds;
    assert!((s.staffed_agent_seconds - staffed).abs() < 1e-6 * staffed.max(1.0));

    // Constant staffing: logged-in agent-seconds are exactly agents x time.
    let mut d = Dialer::new(model(0.25), 11);
    d.set_dialling(false);
    d.set_logged_in(12);
    d.set_paused(2);
    d.set_max_ratio(1.8);
    d.set_dialling(true);
    let mut total = IntervalStats::default();
    for minute in 1..=30 {
        total.add(&d.advance_to(f64::from(minute) * 60.0));
    }
    assert!((total.logged_in_agent_seconds - 12.0 * 1800.0).abs() < 1e-6);
    assert!((total.unavailable_agent_seconds - 2.0 * 1800.0).abs() < 1e-6);
}

#[test]
fn records_cover_every_dial_once_calls_drain() {
    let mut d = Dialer::new(model(0.3), 3);
    d.set_record_calls(true);
    d.set_logged_in(10);
    d.set_max_ratio(2.0);
    let mut total = d.advance_to(1800.0);
    d.set_dialling(false);
    total.add(&d.advance_to(1800.0 + 4.0 * 3600.0));
    let recs = d.drain_completed();
    assert_eq!(recs.len() as u64, total.dials);
    let mut ids: Vec<u64> = recs.iter().map(|r| r.contact_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), recs.len());
    let count = |o: CallOutcome| recs.iter().filter(|r| r.outcome == o).count() as u64;
    assert_eq!(count(CallOutcome::Abandoned), total.abandons);
    assert_eq!(
        count(CallOutcome::Success) + count(CallOutcome::Failure),
        total.connects
    );
    assert_eq!(total.connects + total.abandons, total.live_answers);
    let s = d.snapshot();
    assert_eq!((s.ringing, s.waiting, s.working, s.acw), (0, 0, 0, 0));
    assert_eq!(s.available, 10);
}

#[test]
fn logouts_take_idle_agents_first_and_talkers_after_their_call() {
    let m = CallModel {
        machine_rate: 0.0,
        busy_rate: 0.0,
        ring: Dist::Fixed { value: 5.0 },
        talk: Dist::Fixed { value: 100.0 },
        wrap: Dist::Fixed { value: 10.0 },
        ..model(1.0)
    };
    let mut d = Dialer::new(m, 1);
    d.set_target_lines(4);
    d.set_logged_in(10);
    d.advance_to(50.0);
    let s = d.snapshot();
    assert_eq!(s.working, 4);
    d.set_dialling(false);
    d.set_logged_in(2);
    let s = d.snapshot();
    assert_eq!(
        s.logged_in, 4,
        "idle agents leave at once, talkers stay: {s:?}"
    );
    assert_eq!(s.working, 4);
    d.advance_to(500.0);
    let s = d.snapshot();
    assert_eq!(s.logged_in, 2);
    assert_eq!(s.available, 2);
}

#[test]
fn absurd_requests_are_capped() {
    let mut d = Dialer::new(model(0.2), 1);
    d.set_logged_in(u32::MAX);
    d.set_paused(u32::MAX);
    assert_eq!(d.snapshot().logged_in, MAX_AGENTS);
    d.set_paused(0);
    d.set_target_lines(u32::MAX);
    assert_eq!(d.snapshot().lines, MAX_LINES);
    d.set_max_ratio(f64::INFINITY);
    assert_eq!(d.snapshot().lines, MAX_LINES);
}

#[test]
fn fixed_lines_policy_keeps_lines() {
    let mut d = Dialer::new(model(0.1), 9);
    d.set_logged_in(5);
    d.set_target_lines(12);
    for t in 1..100 {
        d.advance_to(f64::from(t) * 7.0);
        assert_eq!(d.snapshot().lines, 12);
    }
    assert_eq!(cxone_target_lines(1.5, 3), 5);
    assert_eq!(cxone_target_lines(1.0, 0), 0);
    assert_eq!(cxone_target_lines(f64::NAN, 4), 0);
}

#[test]
fn warm_start_and_validation() {
    let m = CallModel::default();
    assert!(m.validate().is_ok());
    assert!(CallModel {
        live_answer_rate: 0.9,
        machine_rate: 0.2,
        ..m
    }
    .validate()
    .is_err());
    assert!(CallModel {
        talk: Dist::Fixed { value: -1.0 },
        ..m
    }
    .validate()
    .is_err());
    let warm = WarmState {
        logged_in: 200,
        paused: 10,
        working: 150,
        acw: 20,
    };
    let mut d = Dialer::warm_start(m, 4, warm, LinePolicy::Ratio { ratio: 2.0 });
    let s = d.snapshot();
    assert_eq!(
        (s.logged_in, s.unavailable, s.working, s.acw),
        (200, 10, 150, 20)
    );
    assert_eq!(s.lines, cxone_target_lines(2.0, s.staffed));
    let stats = d.advance_to(300.0);
    assert!(stats.connects > 100);
}

#[test]
fn dist_samples_are_sane() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let d = Dist::LogNormal {
        mean: 100.0,
        cv: 0.5,
    };
    let n = 20_000;
    let mean = (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / f64::from(n);
    assert!((mean - 100.0).abs() < 3.0, "{mean}");
    let u = Dist::Uniform { min: 5.0, max: 6.0 };
    assert!((0..100)
        .map(|_| u.sample(&mut rng))
        .all(|v| (5.0..=6.0).contains(&v)));
    assert_eq!(Dist::Fixed { value: 3.0 }.sample(&mut rng), 3.0);
    let j: Dist = serde_json::from_str(r#"{"kind":"logNormal","mean":120,"cv":0.6}"#).unwrap();
    assert_eq!(
        j,
        Dist::LogNormal {
            mean: 120.0,
            cv: 0.6
        }
    );
}
