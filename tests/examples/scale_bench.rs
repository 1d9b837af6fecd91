//! The scale benchmark of the fanned-out tuner (docs/scale.md): for each
//! fleet size, that many campaigns on the CXone simulator with every API
//! call answered 150 ms late, one scheduled tick dispatched to a task queue
//! in moto and worked as the deployed event source mapping works it
//! (batches of 10, at most 8 invocations at once, every CXone call under
//! the shared budget). Prints a Markdown table (tick wall time, the slowest
//! campaign's decision age, CXone calls per second at peak against the
//! budget, DynamoDB reads and writes, Lambda time and the cost per month)
//! and writes a plot.
//!
//! ```sh
//! bash infra/with-stack.sh cargo run --release -p e2e-tests --example scale_bench -- \
//!     --budget 150 --out /tmp/scale.md --plot docs/scale.svg 1 10 100 1000
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::AttributeValue;
use capacity_tuner::Tuner;
use cxone_sim::{Fault, Scenario};
use e2e_tests::{config_body, scheduled_event, unique, TestStack};
use futures::stream::{self, StreamExt};
use local_stack::event_source::{EventSource, TaskQueues};
use serde_json::json;
use shared::cxone::{ClientSettings, CxoneClient};
use shared::deadline::Deadline;
use shared::fanout::queue::TaskQueue;
use shared::idempotency::unix_now_ms;
use shared::invocation::Invocation;
use shared::store::rate_budget::RateBudget;
use shared::wiring::CXONE_BUDGET;

/// CXone latency per call, as a real tenant answers.
const LATENCY_MS: u64 = 150;
/// The event source mapping's batch size and maximum concurrency (template.yaml).
const BATCH: i32 = 10;
const CONCURRENCY: usize = 8;
/// The tuner's memory (template.yaml), GB.
const MEMORY_GB: f64 = 1769.0 / 1024.0;
/// Ticks a month (every 5 minutes, 30 days).
const TICKS_PER_MONTH: f64 = 8640.0;
/// us-east-1 list prices used for the cost (USD): Lambda arm64 per GB-s and
/// per request, SQS per request, DynamoDB on-demand per write and read
/// request unit.
const LAMBDA_GB_S: f64 = 0.000_013_333_4;
const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
const SQS_REQUEST: f64 = 0.40 / 1e6;
const DYNAMO_WRITE: f64 = 0.625 / 1e6;
const DYNAMO_READ: f64 = 0.125 / 1e6;

/// DynamoDB calls by operation, counted as the SDK sends them.
#[derive(Debug, Default)]
struct Ops(Mutex<BTreeMap<String, u64>>);

impl Ops {
    fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[derive(Debug)]
struct CountOps(Arc<Ops>);

impl Intercept for CountOps {
    fn name(&self) -> &'static str {
        "CountOps"
    }
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?")
            .rsplit('.')
            .next()
            .unwrap_or("?")
            .to_owned();
        *self.0 .0.lock().unwrap().entry(target).or_default() += 1;
        Ok(())
    }
}

/// The small scenario's skill 1001, `n` times, as 10001, 10002, ...
fn fleet(n: usize) -> (Scenario, Vec<i64>) {
    let mut s = Scenario::small_test();
    let template = s.skills[0].clone();
    s.skills.clear();
    s.dnc_groups.clear();
    let ids: Vec<i64> = (1..=n as i64).map(|i| 10_000 + i).collect();
    for &id in &ids {
        let mut skill = template.clone();
        skill.skill_id = id;
        s.skills.push(skill);
    }
    (s, ids)
}

/// One fleet size's figures.
struct Row {
    campaigns: usize,
    decided: usize,
    failed: usize,
    dispatch_s: f64,
    wall_s: f64,
    slowest_age_s: f64,
    median_age_s: f64,
    cxone_calls: usize,
    peak_per_s: u64,
    budget_peak: u64,
    writes: u64,
    reads: u64,
    batches: usize,
    lambda_s: f64,
    sqs_requests: u64,
}

impl Row {
    fn cost_month(&self) -> (f64, f64) {
        let lambda =
            self.lambda_s * MEMORY_GB * LAMBDA_GB_S + (self.batches as f64 + 1.0) * LAMBDA_REQUEST;
        let sqs = self.sqs_requests as f64 * SQS_REQUEST;
        let dynamo = self.writes as f64 * DYNAMO_WRITE + self.reads as f64 * DYNAMO_READ;
        let total = (lambda + sqs + dynamo) * TICKS_PER_MONTH;
        (total, total / self.campaigns as f64)
    }
}

async fn run(n: usize, budget: u32) -> Row {
    let (scenario, ids) = fleet(n);
    let stack = TestStack::start(scenario).await;
    let slow: Fault = serde_json::from_value(json!({"kind": "slow", "delayMs": LATENCY_MS,
        "count": 4_000_000_000u32, "pathContains": "/inContactAPI/"}))
    .unwrap();
    stack.sim.admin().set_faults(vec![slow]).await.unwrap();
    let body = config_body(None);
    stream::iter(ids.iter().copied())
        .for_each_concurrent(16, |id| {
            let (stack, body) = (&stack, &body);
            async move { stack.put_config(id, body).await }
        })
        .await;

    // The tuner as deployed: DynamoDB calls counted, CXone under the budget.
    let ops = Arc::new(Ops::default());
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&stack.sdk)
            .interceptor(CountOps(ops.clone()))
            .build(),
    );
    let mut deps = stack.deps();
    deps.dynamo = dynamo.clone();
    let settings = ClientSettings::new(
        deps.config.cxone_issuer.clone(),
        deps.config.cxone_api_version.clone(),
    );
    let cxone = CxoneClient::new(settings, deps.secrets.clone())
        .expect("CXone client")
        .with_rate_budget(Arc::new(RateBudget::new(
            dynamo.clone(),
            deps.config.state_table.clone(),
            CXONE_BUDGET,
            budget,
        )));
    deps.cxone = Arc::new(cxone);
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let queues = TaskQueues::create(&sqs, &unique("scale"), 3, Duration::from_secs(120))
        .await
        .unwrap();
    let mut tuner = Tuner::new(&deps);
    tuner.queue = Some(TaskQueue::new(sqs.clone(), queues.url.clone()));
    let tuner = Arc::new(tuner);
    let source = EventSource {
        sqs: sqs.clone(),
        queues,
        batch_size: BATCH,
        max_concurrency: CONCURRENCY,
    };
    let requests_before = stack.sim.admin().requests().await.unwrap().len();
    ops.take();

    let now = stack.sim.admin().clock().await.unwrap();
    let event = scheduled_event(&unique("tick"), now);
    let started = Instant::now();
    let dispatch = tuner
        .handle(
            &event,
            &Invocation::new("dispatch", Deadline::after(Duration::from_secs(120))),
        )
        .await
        .expect("dispatch");
    let dispatch_s = started.elapsed().as_secs_f64();
    assert_eq!(dispatch["dispatched"], n, "{dispatch}");
    let batches: Mutex<Vec<(f64, f64, usize)>> = Mutex::new(Vec::new());
    let lambda_ms = AtomicU64::new((dispatch_s * 1000.0) as u64);
    let drained = source
        .drain(
            |batch| {
                let (tuner, batches, lambda_ms) = (tuner.clone(), &batches, &lambda_ms);
                async move {
                    let t0 = Instant::now();
                    let size = batch["Records"].as_array().map_or(0, Vec::len);
                    let invocation =
                        Invocation::new(unique("batch"), Deadline::after(Duration::from_secs(120)));
                    let out = tuner.handle(&batch, &invocation).await;
                    let end = started.elapsed().as_secs_f64();
                    lambda_ms.fetch_add(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
                    batches
                        .lock()
                        .unwrap()
                        .push((end, t0.elapsed().as_secs_f64(), size));
                    out.map_err(|e| e.to_string())
                }
            },
            Duration::from_secs(1800),
        )
        .await
        .expect("drain");
    let wall_s = started.elapsed().as_secs_f64();
    let counted = ops.take();

    // Each campaign's decision is done when its batch returns.
    let mut ages: Vec<f64> = batches
        .lock()
        .unwrap()
        .iter()
        .flat_map(|(end, _, size)| std::iter::repeat_n(*end, *size))
        .collect();
    ages.sort_by(f64::total_cmp);
    let idempotency = stack.deps().idempotency();
    let (mut decided, mut failed) = (0, 0);
    for id in &ids {
        let key = format!("capacity-tuner#{}#{id}", event["id"].as_str().unwrap());
        match idempotency.stored(&key, unix_now_ms()).await.unwrap() {
            Some(report) if report["outcome"] == "failed" => failed += 1,
            Some(_) => decided += 1,
            None => failed += 1,
        }
    }

    // CXone's view: calls per second (a sliding second over the simulator's
    // log) and the budget's own per-second counts.
    let requests = stack.sim.admin().requests().await.unwrap();
    let calls: Vec<u64> = requests[requests_before..]
        .iter()
        .filter(|r| r.path.contains("/inContactAPI/"))
        .map(|r| r.at_ms)
        .collect();
    let mut peak = 0u64;
    let mut j = 0;
    for i in 0..calls.len() {
        while calls[i] - calls[j] >= 1000 {
            j += 1;
        }
        peak = peak.max((i - j + 1) as u64);
    }
    let seconds = stack
        .dynamo
        .query()
        .table_name(&deps.config.state_table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("RATE#{CXONE_BUDGET}")))
        .send()
        .await
        .unwrap();
    let budget_peak = seconds
        .items()
        .iter()
        .filter_map(|item| item.get("calls").and_then(|v| v.as_n().ok()))
        .filter_map(|n| n.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let writes: u64 = [
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactWriteItems",
        "BatchWriteItem",
    ]
    .iter()
    .map(|op| counted.get(*op).copied().unwrap_or(0))
    .sum();
    let reads: u64 = ["GetItem", "Query", "BatchGetItem", "Scan"]
        .iter()
        .map(|op| counted.get(*op).copied().unwrap_or(0))
        .sum();
    eprintln!("  {n} campaigns: DynamoDB calls {counted:?}; drain {drained:?}");
    let batches_n = drained.invocations;
    Row {
        campaigns: n,
        decided,
        failed,
        dispatch_s,
        wall_s,
        slowest_age_s: ages.last().copied().unwrap_or(0.0),
        median_age_s: ages.get(ages.len() / 2).copied().unwrap_or(0.0),
        cxone_calls: calls.len(),
        peak_per_s: peak,
        budget_peak,
        writes,
        reads,
        batches: batches_n,
        lambda_s: lambda_ms.load(Ordering::Relaxed) as f64 / 1000.0,
        // Sends (10 a call), receives and deletes (one each per batch, as
        // Lambda's poller batches them), plus empty receives.
        sqs_requests: (n as u64).div_ceil(10) + 2 * batches_n as u64,
    }
}

fn table(rows: &[Row], budget: u32) -> String {
    let mut out = format!(
        "| campaigns | decided | failed | dispatch s | tick wall s | median decision age s | slowest decision age s | CXone calls | peak calls/s (sliding) | peak calls in a budget second | budget/s | DynamoDB writes | reads | batches | Lambda s | cost/month USD | per campaign-month USD |\n|{}\n",
        "---|".repeat(17)
    );
    for r in rows {
        let (month, per) = r.cost_month();
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {budget} | {} | {} | {} | {:.1} | {:.2} | {:.4} |\n",
            r.campaigns, r.decided, r.failed, r.dispatch_s, r.wall_s, r.median_age_s,
            r.slowest_age_s, r.cxone_calls, r.peak_per_s, r.budget_peak, r.writes, r.reads,
            r.batches, r.lambda_s, month, per
        ));
    }
    out
}

/// A log-x plot of the tick's wall time and the slowest decision age.
fn plot(rows: &[Row], budget: u32) -> String {
    let (w, h, m) = (640.0, 360.0, 60.0);
    let max_y = rows
        .iter()
        .map(|r| r.wall_s.max(r.slowest_age_s))
        .fold(60.0f64, f64::max)
        * 1.1;
    let max_x = rows.iter().map(|r| r.campaigns).max().unwrap_or(1).max(10) as f64;
    let x = |n: usize| m + (n as f64).log10() / max_x.log10() * (w - 2.0 * m);
    let y = |v: f64| h - m - v / max_y * (h - 2.0 * m);
    let line = |f: &dyn Fn(&Row) -> f64| {
        rows.iter()
            .map(|r| format!("{:.1},{:.1}", x(r.campaigns), y(f(r))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<line x1="{m}" y1="{b}" x2="{r}" y2="{b}" stroke="black"/><line x1="{m}" y1="{m}" x2="{m}" y2="{b}" stroke="black"/>
<line x1="{m}" y1="{t60:.1}" x2="{r}" y2="{t60:.1}" stroke="#c00" stroke-dasharray="4 4"/><text x="{r}" y="{t60m:.1}" text-anchor="end" fill="#c00">target: 60 s</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{wall}"/>
<polyline fill="none" stroke="#ff7f0e" stroke-width="2" stroke-dasharray="6 3" points="{age}"/>
<polyline fill="none" stroke="#888" stroke-width="2" stroke-dasharray="2 3" points="{floor}"/>
<text x="{m}" y="20">tuner tick fanned out: wall time (blue), slowest decision age (orange),</text>
<text x="{m}" y="36">the CXone budget's floor, calls / {budget} per s (grey); 150 ms per CXone call</text>
<text x="{cx}" y="{xl}" text-anchor="middle">campaigns (log scale)</text>
<text x="15" y="{cy}" transform="rotate(-90 15 {cy})" text-anchor="middle">seconds</text>
"##,
        b = h - m,
        r = w - m,
        t60 = y(60.0),
        t60m = y(60.0) - 4.0,
        wall = line(&|r| r.wall_s),
        age = line(&|r| r.slowest_age_s),
        floor = line(&|r| r.cxone_calls as f64 / f64::from(budget)),
        cx = w / 2.0,
        xl = h - 20.0,
        cy = h / 2.0,
    );
    for r in rows {
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            x(r.campaigns),
            h - m + 16.0,
            r.campaigns
        ));
    }
    for v in [0.0, max_y / 2.0, max_y] {
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.0}</text>\n",
            m - 6.0,
            y(v) + 4.0,
            v
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new("error"))
        .init();
    let mut budget = 150u32;
    let mut plot_path = None;
    let mut out_path = None;
    let mut sizes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--budget" => {
                budget = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--budget N")
            }
            "--plot" => plot_path = args.next(),
            "--out" => out_path = args.next(),
            n => sizes.push(n.parse::<usize>().expect("a fleet size")),
        }
    }
    if sizes.is_empty() {
        sizes = vec![1, 10, 100, 1000];
    }
    let mut rows = Vec::new();
    for n in sizes {
        eprintln!("scale: {n} campaigns ...");
        rows.push(run(n, budget).await);
    }
    // The functions' metric lines go to stdout, as in Lambda: the table goes
    // to stderr and, with --out, to a file.
    let table = table(&rows, budget);
    eprint!("{table}");
    if let Some(path) = out_path {
        std::fs::write(&path, &table).expect("write the table");
        eprintln!("table written to {path}");
    }
    if let Some(path) = plot_path {
        std::fs::write(&path, plot(&rows, budget)).expect("write the plot");
        eprintln!("plot written to {path}");
    }
}
