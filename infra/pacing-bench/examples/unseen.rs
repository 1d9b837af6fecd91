//! The engine on days the benchmark grid never shows it.
//!
//! `cargo run --release -p pacing-bench --example unseen -- [COUNT] [SEED] [MAX_AGENTS]`
//! draws COUNT (default 40) one-day scenarios from wide ranges (agents
//! 6-MAX_AGENTS, default 250; small teams are where one line is a big step,
//! so `100 11 25` checks them on their own; answer rate 2-45 % log-uniform, talk 45-600 s, wrap, ring limit
//! 15-30 s, any day profile), runs the engine and progressive dialling on
//! two seeds each, and prints one row per scenario and a summary: how many
//! ended above 3 % (must be none) and how many fell below progressive.
//! The draw is seeded (SEED, default 1), so a run can be repeated.
//!
//! A one-day scenario is a new campaign's first day (the engine is told its
//! age, 0 to 0.54 days): the law's period is the campaign's whole life, and
//! it may end that evening, so the day itself must end at or below 3 %; a
//! burst late in the day has no time left to be repaid. Every run that ends
//! such a day above 3 % is also run as the campaign's first 30 days (same
//! seed, the same day repeated with fresh draws).

use clap::Parser;
use pacing_bench::{run, run_parallel, unseen_scenarios, Policy, Scenario, LEGAL_PCT, PERIOD_DAYS};

/// Runs the engine and progressive dialling on one-day scenarios drawn
/// outside the benchmark's grid and prints a Markdown table.
#[derive(Parser, Debug)]
#[command(
    name = "unseen",
    about = "The engine on days the benchmark grid never shows it (Markdown on stdout)."
)]
struct Args {
    /// One-day scenarios to draw.
    #[arg(value_name = "COUNT", default_value_t = 40)]
    count: u32,
    /// The draw's seed (the same seed gives the same days).
    #[arg(value_name = "SEED", default_value_t = 1)]
    seed: u64,
    /// Largest team drawn (agents 6 to MAX_AGENTS).
    #[arg(value_name = "MAX_AGENTS", default_value_t = 250)]
    max_agents: u32,
}

fn main() {
    let Args {
        count,
        seed,
        max_agents,
    } = Args::parse();
    let scenarios: Vec<Scenario> = unseen_scenarios(count, seed, max_agents);
    let rows = run_rows(&scenarios);
    print_header(count, seed, max_agents);
    print_table(&scenarios, &rows);
    print_above(&scenarios, &rows);
}

/// One scenario's row: (index, worst seed's abandonment %, engine talk
/// share %, progressive's, (one-day %, 30-day %) of every run above 3 %).
type Row = (usize, f64, f64, f64, Vec<(f64, f64)>);

/// Runs the engine and progressive dialling on every seed of every
/// scenario, on as many threads as the machine has; each run of the
/// engine above 3 % is run again as the campaign's first 30 days.
fn run_rows(scenarios: &[Scenario]) -> Vec<Row> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let order: Vec<usize> = (0..scenarios.len()).collect();
    run_parallel(scenarios.len(), &order, threads, |i| {
        let sc = &scenarios[i];
        let seeds = sc.seeds.len() as f64;
        let (mut worst, mut eng, mut prog) = (0.0f64, 0.0, 0.0);
        let mut over = Vec::new();
        for &seed in &sc.seeds {
            let e = run(sc, Policy::Engine, seed);
            let p = run(sc, Policy::Fixed(1.0), seed);
            worst = worst.max(e.abandon_pct());
            eng += e.talk_util() / seeds;
            prog += p.talk_util() / seeds;
            if e.abandon_pct() > LEGAL_PCT {
                let period = Scenario {
                    days: PERIOD_DAYS,
                    ..sc.clone()
                };
                over.push((
                    e.abandon_pct(),
                    run(&period, Policy::Engine, seed).abandon_pct(),
                ));
            }
        }
        (i, worst, eng, prog, over)
    })
    .into_iter()
    .flatten()
    .collect()
}

/// The title, how the file was made and what the days are.
fn print_header(count: u32, seed: u64, max_agents: u32) {
    println!("# The engine on unseen days\n");
    let (extra, file) = if max_agents == 250 {
        (String::new(), "pacing-unseen".to_owned())
    } else {
        (
            format!(" {max_agents}"),
            format!("pacing-unseen-small-{seed}"),
        )
    };
    println!(
        "Made by `cargo run --release -p pacing-bench --example unseen -- {count} {seed}{extra} > docs/{file}.md`.\n"
    );
    println!(
        "One-day scenarios drawn at random from wide ranges (none of them is in the benchmark's grid), \
         two seeds each; the engine is called every 5 minutes as the tuner calls it (target 3 %). \
         Each day is a new campaign's first day (campaign age 0 to 0.54 days): its whole life is \
         the law's period and may end that evening, so the day must end at or below 3 %.\n"
    );
    println!("| scenario | engine worst seed abandonment % | engine talk / logged-in % | progressive % |");
    println!("|---|---|---|---|");
}

/// One line per scenario and the summary: how many ended above 3 % and
/// how many fell below progressive.
fn print_table(scenarios: &[Scenario], rows: &[Row]) {
    let (mut over, mut below) = (0, 0);
    let (mut eng_sum, mut prog_sum) = (0.0, 0.0);
    for (i, worst, eng, prog, _) in rows {
        over += usize::from(*worst > LEGAL_PCT);
        below += usize::from(eng + 0.05 < *prog);
        eng_sum += eng;
        prog_sum += prog;
        println!(
            "| {} | {worst:.2}{} | {eng:.1} | {prog:.1} |",
            scenarios[*i].name,
            if *worst > LEGAL_PCT { " ✗" } else { "" }
        );
    }
    let n = rows.len().max(1) as f64;
    println!(
        "\n**{} scenarios x 2 seeds: {over} above 3 %, {below} below progressive** (below: more than 0.05 points of talk share). \
         Mean talk / logged-in: engine {:.2} %, progressive {:.2} %.",
        rows.len(),
        eng_sum / n,
        prog_sum / n
    );
}

/// The runs above 3 % as a first day, beside the same scenario and seed as
/// the campaign's first 30 days (nothing when there are none).
fn print_above(scenarios: &[Scenario], rows: &[Row]) {
    let above: Vec<_> = rows
        .iter()
        .flat_map(|(i, .., runs)| runs.iter().map(move |r| (*i, *r)))
        .collect();
    if !above.is_empty() {
        println!(
            "\nThe runs above 3 % as a campaign's first day, and the same scenario and seed as its first {PERIOD_DAYS} days:\n"
        );
        println!("| scenario | first day % | first {PERIOD_DAYS} days % |");
        println!("|---|---|---|");
        for (i, (day, period)) in above {
            println!(
                "| {} | {day:.2} | {period:.2}{} |",
                scenarios[i].name,
                if period > LEGAL_PCT { " ✗" } else { "" }
            );
        }
    }
}
