//! `pacing-bench`: runs the pacing benchmark and writes its report.
//!
//! ```sh
//! cargo run --release -p pacing-bench -- --out docs/pacing-benchmark.md
//! ```
//! Options: `--out PATH` (Markdown report; the plot goes next to it as
//! `.svg`), `--seeds N` (runs per scenario, default 3), `--threads N`
//! (default 1, so decision times are not inflated by the benchmark's own
//! threads; 2 halves the run time), `--no-30-day` (skip the 30-day runs),
//! `--only TEXT` (only scenarios whose name contains TEXT).
//! Everything but the decision times and the date is deterministic.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;

use pacing_bench::{grid, report, run_parallel, run_scenario, ScenarioResult};

/// How the benchmark works (written into the report).
const METHOD: &str = "## Method

Every policy drives the same discrete-event dialler model the CXone simulator runs
(`shared::engine::dialer`: lines = round(ratio x (available + working)), a live answer
not connected within 2 s is abandoned). A day is 08:00-21:00 (the calling window;
dialling is switched off outside it and every dial outside it is counted), stepped one
second at a time, then 30 minutes for calls in progress to finish.

- **Scenarios**: peak agents 5, 10, 20, 50, 100, 200, each with every day profile
  (flat; midday dip to 60 % staffing 12:00-14:00; answer rate rising from 0.7x to 1.5x
  through the day; at 13:00 staffing down to 60 % and answer rate up by half). Answer rate
  (5 / 15 / 30 %), talk mean (90 / 180 / 300 s, log-normal, CV 1), wrap (uniform within
  10-30 s) and ring limit (15 / 20 / 25 s) rotate so that each staffing level meets every
  answer rate and talk time: a fractional design, since the full factorial (216 days per
  seed, each needing a grid search for the hindsight ratio) would not run in minutes.
  Ring time is log-normal, mean 9 s, CV 0.6, a ring reaching the limit is a no-answer;
  18 % of dials reach a machine, 5 % are busy. Agents pause 5-10 % of the time (per seed);
  staffing drifts around the profile (sd 5 %) and the answer rate drifts (sd 10 %), both
  mean-reverting over 45 minutes, so no two days are alike. Two scenarios are also run
  as a 30-day period (one seed each). Each day scenario runs with every seed; all
  policies see the same staffing, pauses and drift for a seed.
- **Policies**: progressive (ratio 1.0); fixed 1.2, 1.5, 2.0; the hindsight-best fixed
  ratio (1.00-3.00 in 0.05 steps on the same day and seed, the highest utilisation whose
  period abandonment is at most 3 %); the tutorials' rule (every 5 minutes, lines =
  floor(0.8 x Available agents)); ViciDial ADAPT_TAPERED and ADAPT_AVERAGE as the issue
  describes them (15 s cycle, 1 s samples, dial level 1-3, drop limit 3 %, latest time
  21:00, intensity 0, lines topped up every second to round(L x (ready + talking)));
  and the engine, called every 5 minutes with what the capacity tuner gives it (staffing
  snapshot, the last 15 minutes and the period's results, the ratio in force, target
  3 %, bounds 1.0-3.0, the ring limit, a seed from the time, and the campaign's age:
  every run is a new campaign, so a one-day scenario is its first day and a 30-day run
  its first 30 days, young throughout, as the law sees them), its answer written only
  when it differs from the ratio in force by the tuner's hysteresis step (0.05) or is
  a fall to progressive (1.0).
- **Metrics**: talk / logged-in and talk+wrap / logged-in time; period abandonment
  (abandons / live answers over the day, or over the 30 days), the worst seed and the
  worst single day; idle agent-seconds per connected call; dials per live answer; dials
  outside the window.
";

/// Why the engine falls short where it does (written into the report).
const WHY: &str = "Why, as far as the runs show (`cargo run --release -p pacing-bench --example
calibrate -- '50 ag, 5 %' engine --trace` prints the engine's decisions tick by tick, with
what it predicted and what followed):

- **The hindsight ratio knows the day.** It is searched on the very day and seed it is
  scored on and lands exactly at the knee of the abandonment curve. The engine decides
  every 5 minutes from a 15-minute window and a snapshot, keeps a margin of 10 % of the
  target or one abandon of the period, whichever is more (it aims at 2.7 % or less for a
  3 % target) and must never let the period's rate reach the target (then it
  must dial progressively until the rate is back under it); the fixed ratio may cross 3 %
  in the morning and recover by the evening, since only the day's end is scored.
- **Low answer rates sit near a cliff.** With 5 % answers the best ratios are 1.3-2.6, and
  close to them the dialler is near the point where answers outrun the agents (lines are
  `round(ratio x staffed)` whether or not anyone is free): a 10 % rise of the answer rate
  there turns 3 abandons in 5 minutes into 40. These scenarios carry most of the gap. The
  engine now sees that spread (the answer rate drifts by 10 % in its replications) and an
  unlucky interval may not spend the period's budget, so it stays a little further from
  the cliff than the hindsight ratio, which only has to survive the day it was fitted to.
- **What changed since the first version** (mean gap -1.8 points, 8 of 26 scenarios): the
  engine's own choices were predicted 2-3x low because it picked the highest ratio whose
  noisy 5-replication prediction fitted (a winner's curse), then overspent, hit the
  period's target and dialled progressively for an hour. Now the ratio moves half-way to
  the predicted best each interval (the noise averages out), overspends are repaid over
  half an hour instead of ten minutes, unspent budget buys at most a 25 % higher rate, the
  budget's hard stop is guarded against an unlucky interval, the answer rate's drift is
  part of the prediction, a team of five with some wrapping up is no longer treated as
  too small, and the tuner writes a fall to 1.0 even when it is smaller than the
  hysteresis step (1.03 still abandons calls).
- **What changed next** (mean gap -0.2 points, 12 of 26 scenarios): replaying the exact
  dialler state at each tick (the `--trace` column `oracle5`) showed the engine's
  predictions 25-35 % below the state's truth on 5 % answer days and the early-morning
  overspends coming from one input: the mean talk time of the calls that *finished* in the
  last 15 minutes. While calls build up (every morning) only the short ones have finished:
  at 08:10 it read 170 s on a 300 s day, so the model freed agents almost twice as fast as
  they really came free. The talk mean is now held at or above Little's law (agents on
  calls / connects per second, one standard deviation low); the unlucky-interval test
  takes the model's 90th percentile four times over (replays show the real one at three
  to four times the mean; at three, one seed ended above 3 %); and the period's history
  counts as enough data from 20 live answers (was 100: a five-agent team at 5 % answers
  dialled progressively until 11:00). And a move is at least the tuner's hysteresis step:
  half-way from 1.00 to 1.08 is 1.04, which the tuner never wrote, so the next decision
  started from 1.00 again, all day (a 0.05 step itself could be dropped too: 1.15 - 1.10
  is 0.0499999 in floating point).
- **The hindsight ratio also fits the day's luck.** The same grid search run on a
  scenario's *other* seeds and scored on the held-out one (the section after the plot) is
  the best fixed ratio anyone could set in advance: it often breaks 3 % on the held-out
  day, and against it the engine's record is better than against the hindsight ratio
  (the targets above give both). On a five-agent, 5 %-answer day the whole day's budget
  is about 15 abandons, so a fixed ratio that landed two abandons under the limit on one
  day is as likely to land two over on the next.
- **Small periods keep one abandon in reserve.** Drawing days of 6-25 agents outside the
  grid (`cargo run --release -p pacing-bench --example unseen -- 300 14 25`, written to
  `docs/pacing-unseen-small-14.md`) found the corner where the engine was not always lawful:
  small teams at answer rates under 4 %, whose day holds a few hundred live answers and a
  budget of about ten abandons, where one unlucky five minutes late in the day abandons
  five and there is no time left to repay. The margin below the target is now at least one
  abandon of the period (it was only 10 % of the target, a third of an abandon there):
  on 500 such days (draws 11-13), 7 ended above 3 % before and 2 after, at no cost on
  this grid; draw 14 still had 3 days at 3.04-3.16 %.
- **What changed in the fourth round**: `calibrate --trace` on those three days showed two
  causes. The prediction ran 20 s at the ratio in force before the interval it measured
  and threw those seconds away (a leftover from when the warm start dialled every line at
  one instant), so when every agent was talking and lines were ringing, the abandons those
  calls were about to cause were not counted: on the 24-agent day, with 19 of 19 staffed
  agents talking and 11 lines ringing, it predicted 0.4 abandons for ten minutes where
  replays of the exact state gave 4.5 for five and 10 happened. The horizon now starts at
  the warm start. And on the ticks before the bursts the answer rate read from the last
  15 minutes was often a third to a half low (1.4 % for 3.1 %): a team of seven sees some
  20 answers in a quarter of an hour, and the engine raised the ratio exactly when luck
  made the rate look low. A period rate above the recent one now weighs as many dials as
  a 10 % drift allows (about 3 200 at 3 %); a higher recent rate still stands on its own, so a
  rising day is not held back by its morning. Draw 14 now has no day above 3 % (worst
  2.83 %) and the same mean talk share (61.5 %); draws 11-13, 1 of 500 (3.04 %); a draw
  looked at only after the change (`unseen -- 300 15 25`) none (worst 2.93 %; the engine
  before it: 3, worst 3.42 %). Over 400
  small-team days, abandons after the engine's own choices ran 11 % above its
  predictions before and 4 % after. The cost is here, on this grid: the engine now sees
  the risk of the all-busy moments the hindsight ratio rides through (mean gap +0.6 ->
  +0.5 points; with six seeds +0.52 -> +0.32). Nine days of draw 14 are below progressive
  by 0.1-0.3 points and one by 0.9 (11 agents, 17 % answers, 594 s talk, where
  progressive already keeps the team talking 77 % of the time).
- **Where it wins**, it is mostly on the step change at 13:00 and on drifting answer rates
  (evening rise): a fixed ratio must be safe for the worst hours, the engine is not.
- **Start of day and small teams** carry what is left. Each one-day scenario is a new
  campaign's first day: until the period holds some hundreds of live answers, a handful of abandons
  spends it, and the unlucky-interval test keeps the engine from spending a budget it does
  not have yet. Hour by hour on the 50-agent 5 % flat day the engine's talk share is 55-57 %
  in the first hour against 60-68 % for the hindsight ratio, then level. For a five-agent
  team one line is 0.2 of ratio and a single abandon can stop predictive dialling for half
  an hour; with 12 seeds instead of 3 the five-agent gaps stay (-2.5 and -1.8 points), so
  they are not sampling noise, while the 10-agent, 300 s talk, step-change day's -1.2
  becomes -0.2: that one was. The engine also climbs from 1.0 in steps of at most 0.5 per
  interval, so where the best ratio is the bound (100 agents, 5 %) it loses about half a
  point to a ratio that starts there. The 30-day runs, where the period builds up history
  (a new campaign's first 30 days, young throughout), are where it wins (and on large
  teams' drifting days).
- **Young campaigns** (issue 13): the law measures a campaign younger than 30 days over
  its whole life, which may end with any day, so every day of it must end lawful; the
  engine is told the campaign's age, and every run here is a new campaign (a one-day
  scenario its first day, a 30-day run its first 30 days). While young it spends no
  unspent slack above its effective target (a quiet morning's savings stay as the
  evening's reserve) and its unlucky-interval test takes the 90th percentile six times
  instead of four. Before this, a small-team draw (`300 16 25`,
  `docs/pacing-unseen-small-16.md`) had 2 of 600 first days above 3 % (3.15 % and
  3.23 %): teams of 10 and 23 at 2-3.5 % answers with long calls. On the 23-agent day, at
  19:45, every agent came to be talking while a ratio of 1.8 kept ringing 0.8 lines more
  per agent, and 10 calls were abandoned within five minutes (the engine had predicted
  0.5), more than the worst of 200 replays of that exact state, which hold staffing and
  the answer rate still (`calibrate --trace` prints the replays' mean, 90th percentile and
  maximum: 0.85, 3 and 9); the rest of the day was too short to repay it. Now that draw
  has none (worst 2.72 %) and a draw looked at only after the change (`300 17 25`,
  `docs/pacing-unseen-small-17.md`) none either (worst 2.99 %). The cost on small teams'
  first days is about 0.4 points of talk share (draw 16: 61.1 % -> 60.7 %; draw 14:
  61.5 % -> 61.1 %, worst day 2.83 % -> 2.77 %), and fewer of them fall below
  progressive (draw 16: 6 -> 5 of 300; draw 14: 9 -> 6; draw 17: 10). Tried on the way:
  keeping 5-10 abandons in reserve closed both days but made a small team's first
  morning progressive (a 10-agent day lost 12 points); a young tail factor of 8 alone
  cost 0.5 points on draw 16; no slack spending alone, 0.26 points but a day at 2.90 %.
  On this grid, where every run is a young campaign, the engine's mean talk share falls
  from 64.8 % to 64.4 % and its mean abandonment from 1.96 % to 1.63 %: holding every
  interval at or under the effective target also holds back large teams, whose headroom
  is hundreds of abandons by midday (a young campaign could spend the slack beyond a
  burst's worth of reserve; not tried yet).
- **Unseen days**: `cargo run --release -p pacing-bench --example unseen -- 100 7` draws
  100 one-day scenarios outside this grid (agents 6-250, answers 2-45 %, talk 45-600 s);
  the latest run is in `docs/pacing-unseen.md`. The small-team draws (6-25 agents) are
  the harder check; their latest results are in `docs/pacing-unseen-small-14.md`,
  `-16.md` and `-17.md`, whatever they show.
- **ViciDial**: TAPERED only tapers after 11:00 and only once today's drop rate is
  above 3 %, so it overdials hard all morning; its utilisation comes with about 20 %
  abandonment. AVERAGE halves the level whenever the day is over 3 %, then climbs
  again at up to (ready / total) per 15 s, so it oscillates around the limit and
  usually ends a little above it, with less utilisation than the engine.
- **Decision time** is measured on a shared 2-core machine while other builds run; the
  p99 is the useful number, single maxima include scheduling stalls.
";

/// Runs the pacing benchmark and writes its report.
#[derive(Parser, Debug)]
#[command(
    name = "pacing-bench",
    about = "Runs the pacing benchmark and writes its report (Markdown, plot next to it as .svg).",
    args_override_self = true
)]
struct Args {
    /// The Markdown report to write; the plot goes next to it as `.svg`.
    #[arg(long, value_name = "PATH", default_value = "docs/pacing-benchmark.md")]
    out: PathBuf,
    /// Runs per scenario (0 counts as 1).
    #[arg(long, value_name = "N", default_value_t = 3)]
    seeds: u32,
    /// Threads (1, so decision times are not inflated by the benchmark's own
    /// threads; 2 halves the run time; 0 counts as 1).
    #[arg(long, value_name = "N", default_value_t = 1)]
    threads: usize,
    /// Skip the 30-day runs.
    #[arg(long = "no-30-day")]
    no_30_day: bool,
    /// Only scenarios whose name contains TEXT.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    only: Option<String>,
}

impl Args {
    /// The command line, with at least one seed and one thread.
    fn parse_checked() -> Args {
        let mut a = Args::parse();
        a.seeds = a.seeds.max(1);
        a.threads = a.threads.max(1);
        a
    }
}

fn main() {
    let args = Args::parse_checked();
    let started = Instant::now();
    let results = run_benchmark(&args, started);
    let elapsed = started.elapsed().as_secs_f64();
    let plot = args.out.with_extension("svg");
    let md = markdown(&args, &results, &plot, elapsed);
    println!("{}", report::summary_table(&results));
    println!("{}", report::targets_markdown(&report::targets(&results)));
    if let Err(e) = std::fs::write(&args.out, &md) {
        eprintln!("writing {}: {e}", args.out.display());
        std::process::exit(1);
    }
    if let Err(e) = std::fs::write(&plot, report::svg_plot(&results)) {
        eprintln!("writing {}: {e}", plot.display());
        std::process::exit(1);
    }
    eprintln!(
        "wrote {} and {} in {elapsed:.0} s",
        args.out.display(),
        plot.display()
    );
}

/// Runs the grid's scenarios (those `--only` keeps) on `args.threads`
/// threads, biggest first, printing each one's time as it finishes.
fn run_benchmark(args: &Args, started: Instant) -> Vec<ScenarioResult> {
    let mut scenarios = grid(args.seeds, !args.no_30_day);
    if let Some(only) = &args.only {
        scenarios.retain(|s| s.name.contains(only.as_str()));
    }
    // Biggest first, so the threads finish together.
    let mut order: Vec<usize> = (0..scenarios.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(scenarios[i].agents * scenarios[i].days));
    run_parallel(scenarios.len(), &order, args.threads, |i| {
        let t = Instant::now();
        let r = run_scenario(&scenarios[i]);
        eprintln!(
            "[{:>5.0} s] {} ({:.1} s)",
            started.elapsed().as_secs_f64(),
            scenarios[i].name,
            t.elapsed().as_secs_f64()
        );
        r
    })
    .into_iter()
    .flatten()
    .collect()
}

/// The report: how it was made, the method, the targets, the shortfalls
/// and why, and every table, with the plot `plot` linked.
fn markdown(args: &Args, results: &[ScenarioResult], plot: &Path, elapsed: f64) -> String {
    let targets = report::targets(results);
    let command = std::iter::once("cargo run --release -p pacing-bench --".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let plot_name = plot
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let summary = report::summary_table(results);
    format!(
        "# Pacing benchmark\n\n\
         Made by `{command}` on {date} in {elapsed:.0} s (release build, threads: {threads}).\n\
         Everything except decision times and this line is deterministic for the seeds.\n\n\
         {METHOD}\n\
         ## Targets\n\n{targets}\n\
         ## Where the engine falls short\n\n{shortfalls}\n{WHY}\n\
         ## Utilisation / abandonment per scenario\n\n\
         Talk time as a share of logged-in time, % / abandoned share of live answers over the \
         scenario's period, % (aggregated over {seeds} seeds; ✗: some seed above 3 %). \
         The hindsight-best fixed ratio is searched per seed; (r) is the lowest of the seeds' ratios.\n\n\
         {summary}\n\
         ![utilisation against abandonment]({plot_name})\n\n\
         ## The hindsight ratio and the luck of the day\n\n\
         The hindsight-best fixed ratio is fitted to the day it is scored on, so it also \
         fits that day's luck. The same search on the scenario's *other* seeds, run on the \
         held-out one, is the best fixed ratio anyone could have set in advance for the \
         scenario (talk % / abandonment %, ✗: above 3 % on some seed).\n\n{in_advance}\n\
         ## Averages over scenarios\n\n{averages}\n\
         ## Engine decision time and calibration\n\n\
         Wall-clock time of each `decide` call (release build, on whatever else the machine was \
         doing), and the engine's predicted abandons for the interval it chose against the \
         abandons that followed. The prediction covers two tuner periods, the realized count one, \
         so a calibrated engine would show about twice as many predicted as realized.\n\n{decisions}\n\
         ## Every metric\n\n{full}",
        threads = args.threads,
        targets = report::targets_markdown(&targets),
        shortfalls = report::shortfalls(results),
        seeds = args.seeds,
        averages = report::averages_table(results),
        in_advance = report::in_advance_table(results),
        decisions = report::decision_table(results),
        full = report::full_table(results),
    )
}
