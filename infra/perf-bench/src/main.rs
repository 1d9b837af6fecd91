//! `make bench-perf`: every function binary of `template.yaml` under the
//! local Lambda Runtime API emulator (`local_stack::runtime::RuntimeApi`),
//! side by side in the same run with the Python stack the AWS tutorials use
//! (a boto3 handler under `awslambdaric`, `python/handler.py`), each against
//! a private local stack (moto tables and secret, a CXone simulator).
//!
//! Per function it measures, from the moment the process is spawned:
//! - init: until the runtime's first `GET .../invocation/next` (its
//!   initialisation is done), median of `--cold` fresh processes;
//! - first answer: until the answer to an invocation queued at spawn (what a
//!   cold start costs the caller), median of the same processes;
//! - warm: the median (and 90th percentile) of `--warm` invocations of one
//!   process after its first;
//! - peak RSS: `VmHWM` of `/proc/<pid>/status` after those invocations.
//!
//! The Rust functions run as host (x86_64) release builds with the
//! workspace's release profile (`cargo build --release`, done first unless
//! `--no-build`); the arm64 zip sizes are read from `.aws-sam/zips/` when
//! `make package` has made them. Must run with the local stack's environment
//! (`infra/with-stack.sh target/debug/perf-bench`).
//!
//! Usage: perf-bench [--cold N] [--warm N] [--only NAME[,NAME]] [--no-build]
//!                   [--release-dir DIR] [--python PATH]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cxone_sim::Scenario;
use e2e_tests::{config_body, http_event, scheduled_event, unique, TestStack};
use local_stack::RuntimeApi;
use serde_json::{json, Value};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The campaign every workload acts on (the simulator's skill 1001, with
/// skill 1002 as its failover backup).
const SKILL: i64 = 1001;
const BACKUP: i64 = 1002;
/// The tests' webhook signing secret (`e2e_tests::webhook_secret_json`).
const WEBHOOK_SECRET: &str = e2e_tests::WEBHOOK_SECRET;
/// Name of the Python row.
const PYTHON: &str = "python-boto3";

struct Args {
    cold: usize,
    warm: usize,
    only: Option<Vec<String>>,
    build: bool,
    release_dir: PathBuf,
    python: PathBuf,
}

fn usage() -> ! {
    eprintln!(
        "usage: perf-bench [--cold N] [--warm N] [--only NAME[,NAME]] [--no-build] \
         [--release-dir DIR] [--python PATH]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let root = Path::new(ROOT);
    let mut args = Args {
        cold: 5,
        warm: 50,
        only: None,
        build: true,
        release_dir: std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("target"))
            .join("release"),
        python: root.join(".venv/bin/python"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--cold" => args.cold = value().parse().unwrap_or_else(|_| usage()),
            "--warm" => args.warm = value().parse().unwrap_or_else(|_| usage()),
            "--only" => args.only = Some(value().split(',').map(str::to_owned).collect()),
            "--no-build" => args.build = false,
            "--release-dir" => args.release_dir = PathBuf::from(value()),
            "--python" => args.python = PathBuf::from(value()),
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    if args.cold == 0 || args.warm == 0 {
        usage()
    }
    args
}

/// A function of the template: logical id, binary and memory size.
#[derive(Clone, Debug)]
struct TemplateFunction {
    logical_id: String,
    binary: String,
    memory_mb: u64,
}

/// Every `rust-cargolambda` function of `template.yaml`, in its order.
fn template_functions() -> Result<Vec<TemplateFunction>, String> {
    let path = Path::new(ROOT).join("template.yaml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).map_err(|e| format!("template.yaml: {e}"))?;
    let global_memory = doc["Globals"]["Function"]["MemorySize"]
        .as_u64()
        .unwrap_or(128);
    let resources = doc["Resources"]
        .as_mapping()
        .ok_or("template.yaml has no Resources")?;
    let mut out = Vec::new();
    for (id, res) in resources {
        if res["Type"].as_str() != Some("AWS::Serverless::Function")
            || res["Metadata"]["BuildMethod"].as_str() != Some("rust-cargolambda")
        {
            continue;
        }
        let logical_id = id.as_str().unwrap_or_default().to_owned();
        let binary = res["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .ok_or_else(|| format!("{logical_id}: no BuildProperties.Binary"))?
            .to_owned();
        let memory_mb = res["Properties"]["MemorySize"]
            .as_u64()
            .unwrap_or(global_memory);
        out.push(TemplateFunction {
            logical_id,
            binary,
            memory_mb,
        });
    }
    Ok(out)
}

/// What one invocation of a function is, and how it is started.
struct Subject {
    name: String,
    logical_id: Option<String>,
    program: PathBuf,
    args: Vec<String>,
    dir: Option<PathBuf>,
    memory_mb: u64,
    /// What the invocation does, for the table.
    what: &'static str,
    /// A fresh event for each invocation (unique ids where the function is
    /// idempotent, so that every invocation does the work).
    event: Box<dyn Fn(usize) -> Value + Send + Sync>,
    /// Whether an answer counts as the expected one.
    check: fn(&Value) -> bool,
}

/// The functions whose invocation is the Python handler's work (one
/// DynamoDB GetItem): the warm ratio compares like with like only for them.
fn like_python(name: &str) -> bool {
    matches!(name, "campaign-api" | "contact-intake")
}

fn ok_http(v: &Value) -> bool {
    v["statusCode"]
        .as_u64()
        .is_some_and(|c| (200..300).contains(&c))
}

fn ok_200(v: &Value) -> bool {
    v["statusCode"].as_u64() == Some(200)
}

fn ok_tick(v: &Value) -> bool {
    v.get("campaigns").is_some_and(Value::is_array)
}

fn ok_sqs(v: &Value) -> bool {
    v["batchItemFailures"]
        .as_array()
        .is_some_and(|a| a.is_empty())
}

/// The sample event of `infra/events/NAME.json`.
fn sample_event(name: &str) -> Value {
    let path = Path::new(ROOT)
        .join("infra/events")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// The workload of each binary the template declares. A binary without one
/// stops the run: a new function is measured, never skipped silently.
fn rust_subject(f: &TemplateFunction, release_dir: &Path, sim_now: DateTime<Utc>) -> Subject {
    let program = release_dir.join(&f.binary);
    let base = |what: &'static str,
                event: Box<dyn Fn(usize) -> Value + Send + Sync>,
                check: fn(&Value) -> bool| Subject {
        name: f.binary.clone(),
        logical_id: Some(f.logical_id.clone()),
        program: program.clone(),
        args: Vec::new(),
        dir: None,
        memory_mb: f.memory_mb,
        what,
        event,
        check,
    };
    match f.binary.as_str() {
        "capacity-tuner" => base(
            "scheduled tick, 1 campaign: guard + pacing (CXone reads, lease, audit)",
            Box::new(move |i| scheduled_event(&unique(&format!("tick-{i}")), sim_now)),
            ok_tick,
        ),
        "failover-checker" => base(
            "scheduled tick, 1 campaign with a failover: counters read, decision",
            Box::new(move |i| scheduled_event(&unique(&format!("check-{i}")), sim_now)),
            ok_tick,
        ),
        "campaign-api" => base(
            "GET /campaigns/{id}/config: 1 DynamoDB GetItem",
            Box::new(|_| {
                http_event(
                    "GET",
                    "/campaigns/{skillId}/config",
                    &format!("/campaigns/{SKILL}/config"),
                    Some(&SKILL.to_string()),
                    None,
                    now_ms(),
                )
            }),
            ok_200,
        ),
        "contact-intake" => base(
            "SQS record of an unknown upload: 1 DynamoDB GetItem, dropped",
            Box::new(|i| {
                let mut e = sample_event("contact-intake");
                let body = json!({"skillId": SKILL, "keyId": format!("{:064x}", i + 1)});
                e["Records"][0]["body"] = json!(body.to_string());
                e["Records"][0]["messageId"] = json!(unique("msg"));
                e
            }),
            ok_sqs,
        ),
        "schedule-deployer" => base(
            "PUT /campaigns/{id}/schedule, new Idempotency-Key: claim, CXone writes, audit",
            Box::new(|_| {
                let sample = sample_event("schedule-deployer");
                let mut e = http_event(
                    "PUT",
                    "/campaigns/{skillId}/schedule",
                    &format!("/campaigns/{SKILL}/schedule"),
                    Some(&SKILL.to_string()),
                    sample["body"].as_str(),
                    now_ms(),
                );
                e["headers"]["idempotency-key"] = json!(unique("sched"));
                e
            }),
            ok_200,
        ),
        "webhook-ingest" => base(
            "POST /webhooks/cxone, 2 new signed events: verify, parse, dedupe + counters",
            Box::new(|_| webhook_event()),
            ok_http,
        ),
        other => {
            eprintln!(
                "perf-bench: no workload for the template's binary {other:?}: add one in \
                 infra/perf-bench/src/main.rs"
            );
            std::process::exit(1)
        }
    }
}

/// A webhook delivery of two new `contact.completed` events, signed now.
fn webhook_event() -> Value {
    let now = Utc::now();
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let events: Vec<Value> = ["success", "abandoned"]
        .iter()
        .map(|outcome| {
            json!({
                "eventId": unique("evt"), "type": "contact.completed", "occurredAt": at,
                "skillId": SKILL,
                "data": {"contactId": unique("c"), "outcome": outcome,
                         "talkSeconds": 184, "wrapSeconds": 22.5}
            })
        })
        .collect();
    let body = json!({ "events": events }).to_string();
    let header =
        shared::webhook::signature_header(&[WEBHOOK_SECRET], now.timestamp(), body.as_bytes());
    let mut e = http_event(
        "POST",
        "/webhooks/cxone",
        "/webhooks/cxone",
        None,
        Some(&body),
        now.timestamp_millis(),
    );
    e["headers"]["x-signature"] = json!(header);
    e
}

fn python_subject(python: &Path) -> Subject {
    Subject {
        name: PYTHON.into(),
        logical_id: None,
        program: python.to_path_buf(),
        args: vec!["-m".into(), "awslambdaric".into(), "handler.handler".into()],
        dir: Some(Path::new(ROOT).join("infra/perf-bench/python")),
        memory_mb: 256,
        what: "Python 3 + boto3 under awslambdaric: clients and secret at init, 1 DynamoDB GetItem",
        event: Box::new(|_| {
            http_event(
                "GET",
                "/campaigns/{skillId}/config",
                &format!("/campaigns/{SKILL}/config"),
                Some(&SKILL.to_string()),
                None,
                now_ms(),
            )
        }),
        check: ok_200,
    }
}

/// One sandbox: a process started against its own emulator.
struct Sandbox {
    api: RuntimeApi,
    child: tokio::process::Child,
    pid: u32,
    spawned: Instant,
}

impl Sandbox {
    async fn start(s: &Subject, env: &[(String, String)], log: &Path) -> Result<Sandbox, String> {
        let api = RuntimeApi::start(&s.name)
            .await
            .map_err(|e| e.to_string())?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = tokio::process::Command::new(&s.program);
        cmd.args(&s.args)
            .env_clear()
            .envs(env.iter().cloned())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.endpoint())
            .env("AWS_LAMBDA_FUNCTION_NAME", &s.name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", s.memory_mb.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", s.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", unique("stream"))
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        if let Some(dir) = &s.dir {
            cmd.current_dir(dir)
                .env("LAMBDA_TASK_ROOT", dir)
                .env("_HANDLER", s.args.last().cloned().unwrap_or_default());
        }
        let spawned = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", s.program.display()))?;
        let pid = child.id().ok_or("the process ended at once")?;
        Ok(Sandbox {
            api,
            child,
            pid,
            spawned,
        })
    }

    async fn invoke(&self, s: &Subject, n: usize) -> Result<Value, String> {
        let answer = self
            .api
            .invoke((s.event)(n), INVOKE_TIMEOUT)
            .await
            .map_err(|e| format!("{}: invocation {n}: {e}", s.name))?;
        if !(s.check)(&answer) {
            let shown: String = answer.to_string().chars().take(400).collect();
            return Err(format!(
                "{}: invocation {n}: unexpected answer {shown}",
                s.name
            ));
        }
        Ok(answer)
    }

    /// `VmHWM` (peak resident set) in kB.
    fn peak_rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

#[derive(Default)]
struct Measured {
    init_ms: Vec<f64>,
    first_ms: Vec<f64>,
    warm_ms: Vec<f64>,
    peak_rss_kb: u64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A cold start: spawn with an invocation already queued (as Lambda does),
/// timing the first `next` and the first answer.
async fn cold_start(
    s: &Subject,
    env: &[(String, String)],
    log: &Path,
    n: usize,
) -> Result<(Sandbox, f64, f64), String> {
    let sandbox = Sandbox::start(s, env, log).await?;
    let ready = async {
        sandbox
            .api
            .wait_ready(READY_TIMEOUT)
            .await
            .map_err(|e| format!("{}: init: {e}", s.name))?;
        Ok::<f64, String>(ms(sandbox.spawned.elapsed()))
    };
    let first = async {
        sandbox.invoke(s, n).await?;
        Ok::<f64, String>(ms(sandbox.spawned.elapsed()))
    };
    let (init, first) = tokio::join!(ready, first);
    match (init, first) {
        (Ok(i), Ok(f)) => Ok((sandbox, i, f)),
        (Err(e), _) | (_, Err(e)) => {
            sandbox.stop().await;
            Err(format!("{e} (output in {})", log.display()))
        }
    }
}

async fn measure(
    s: &Subject,
    env: &[(String, String)],
    cold: usize,
    warm: usize,
    logs: &Path,
) -> Result<Measured, String> {
    let log = logs.join(format!("{}.log", s.name));
    let _ = std::fs::remove_file(&log);
    let mut m = Measured::default();
    let mut n = 0;
    for _ in 0..cold {
        let (sandbox, init, first) = cold_start(s, env, &log, n).await?;
        n += 1;
        m.init_ms.push(init);
        m.first_ms.push(first);
        m.peak_rss_kb = m.peak_rss_kb.max(sandbox.peak_rss_kb().unwrap_or(0));
        sandbox.stop().await;
    }
    let (sandbox, _, _) = cold_start(s, env, &log, n).await?;
    n += 1;
    for _ in 0..warm {
        let t = Instant::now();
        sandbox.invoke(s, n).await?;
        m.warm_ms.push(ms(t.elapsed()));
        n += 1;
    }
    m.peak_rss_kb = m.peak_rss_kb.max(sandbox.peak_rss_kb().unwrap_or(0));
    sandbox.stop().await;
    Ok(m)
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = (p * (v.len() - 1) as f64).round() as usize;
    v[rank.min(v.len() - 1)]
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn zip_size(logical_id: Option<&str>) -> Option<u64> {
    let path = Path::new(ROOT)
        .join(".aws-sam/zips")
        .join(format!("{}.zip", logical_id?));
    std::fs::metadata(path).ok().map(|m| m.len())
}

fn build_release(binaries: &[String]) -> Result<(), String> {
    let mut cmd =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(ROOT)
        .args(["build", "--release", "--locked"]);
    for b in binaries {
        cmd.args(["--bin", b]);
    }
    eprintln!(
        "perf-bench: cargo build --release --locked --bin {}",
        binaries.join(" --bin ")
    );
    let status = cmd.status().map_err(|e| format!("cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo build --release failed ({status})"))
    }
}

/// Writes the campaign config (with its failover) through a campaign-api
/// process, as an operator would, before anything is measured.
async fn configure(api_binary: &Path, env: &[(String, String)], logs: &Path) -> Result<(), String> {
    let setup = Subject {
        name: "campaign-api-setup".into(),
        logical_id: None,
        program: api_binary.to_path_buf(),
        args: Vec::new(),
        dir: None,
        memory_mb: 256,
        what: "",
        event: Box::new(|_| {
            http_event(
                "PUT",
                "/campaigns/{skillId}/config",
                &format!("/campaigns/{SKILL}/config"),
                Some(&SKILL.to_string()),
                Some(&config_body(Some(BACKUP))),
                now_ms(),
            )
        }),
        check: ok_200,
    };
    let log = logs.join("setup.log");
    let (sandbox, _, _) = cold_start(&setup, env, &log, 0).await?;
    sandbox.stop().await;
    Ok(())
}

fn fmt_ms(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

fn fmt_mb_kb(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    if let Err(e) = run(args).await {
        eprintln!("perf-bench: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let functions = template_functions()?;
    let selected = |name: &str| {
        args.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|n| n == name))
    };
    let mut binaries: Vec<String> = functions.iter().map(|f| f.binary.clone()).collect();
    binaries.dedup();
    if args.build {
        build_release(&binaries)?;
    }
    if !args.python.exists() {
        return Err(format!(
            "{} missing: run `make setup` (awslambdaric and boto3 come from infra/requirements.txt)",
            args.python.display()
        ));
    }

    let mut scenario = Scenario::small_test();
    // The backup must be DNC-scrubbed to be named in a failover config.
    if let Some(group) = scenario.dnc_groups.first_mut() {
        group.scrubbed_skills.push(BACKUP);
    }
    let stack = TestStack::start(scenario).await;
    let sim_now = stack
        .sim
        .admin()
        .clock()
        .await
        .map_err(|e| format!("simulator clock: {e}"))?;
    let mut env = stack.function_env();
    env.retain(|(k, _)| k != "RUST_LOG");
    // As deployed (template Globals).
    env.push(("RUST_LOG".into(), "info".into()));
    env.push(("CXONE_API_VERSION".into(), "v30.0".into()));
    // Lambda sets both; boto3 reads only the second.
    env.push(("AWS_DEFAULT_REGION".into(), "us-east-1".into()));
    env.push((
        "CONTACT_INTAKE_QUEUE_URL".into(),
        format!("{}/123456789012/perf-intake.fifo", e2e_tests::endpoint()),
    ));
    let logs = std::env::temp_dir().join(format!("perf-bench-{}", std::process::id()));
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    configure(&args.release_dir.join("campaign-api"), &env, &logs).await?;

    let mut subjects: Vec<Subject> = functions
        .iter()
        .map(|f| rust_subject(f, &args.release_dir, sim_now))
        .filter(|s| selected(&s.name))
        .collect();
    for s in &subjects {
        if !s.program.is_file() {
            return Err(format!(
                "{} missing (build it: cargo build --release --bin {})",
                s.program.display(),
                s.name
            ));
        }
    }
    if selected(PYTHON) {
        subjects.push(python_subject(&args.python));
    }

    let started = Instant::now();
    let mut results: BTreeMap<String, Measured> = BTreeMap::new();
    for s in &subjects {
        eprintln!(
            "perf-bench: {} ({} cold, {} warm)",
            s.name, args.cold, args.warm
        );
        let m = measure(s, &env, args.cold, args.warm, &logs).await?;
        results.insert(s.name.clone(), m);
    }
    let _ = std::fs::remove_dir_all(&logs);

    print_report(&args, &subjects, &results, started.elapsed());
    Ok(())
}

fn print_report(
    args: &Args,
    subjects: &[Subject],
    results: &BTreeMap<String, Measured>,
    took: Duration,
) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "Measured {} on {} ({} cold starts and {} warm invocations each; load average {}; {:.0} s).",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        cpu,
        args.cold,
        args.warm,
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        took.as_secs_f64()
    );
    println!();
    println!("| function | invocation | init ms | first answer ms | warm median ms | warm p90 ms | peak RSS MB | arm64 zip MB |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for s in subjects {
        let Some(m) = results.get(&s.name) else {
            continue;
        };
        let zip = zip_size(s.logical_id.as_deref())
            .map(|b| format!("{:.2}", b as f64 / 1e6))
            .unwrap_or_else(|| {
                if s.logical_id.is_some() {
                    "-".into()
                } else {
                    "n/a".into()
                }
            });
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            s.name,
            s.what,
            fmt_ms(median(&m.init_ms)),
            fmt_ms(median(&m.first_ms)),
            fmt_ms(median(&m.warm_ms)),
            fmt_ms(percentile(&m.warm_ms, 0.9)),
            fmt_mb_kb(m.peak_rss_kb),
            zip
        );
    }
    let Some(py) = results.get(PYTHON) else {
        return;
    };
    println!();
    println!(
        "Python / Rust (how many times the Python stack's figure is the function's; warm \
         compares like with like only where the invocation is also one GetItem):"
    );
    println!();
    println!("| function | same work as the Python handler | init | first answer | warm median | peak RSS |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for s in subjects.iter().filter(|s| s.name != PYTHON) {
        let Some(m) = results.get(&s.name) else {
            continue;
        };
        let ratio = |a: f64, b: f64| format!("{:.1}x", a / b);
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            s.name,
            if like_python(&s.name) {
                "yes"
            } else {
                "no, more"
            },
            ratio(median(&py.init_ms), median(&m.init_ms)),
            ratio(median(&py.first_ms), median(&m.first_ms)),
            ratio(median(&py.warm_ms), median(&m.warm_ms)),
            ratio(py.peak_rss_kb as f64, m.peak_rss_kb as f64)
        );
    }
    println!();
    println!("Targets per function: init <= 8 ms, peak RSS <= 10 MB, arm64 zip <= 3.5 MB.");
    for s in subjects.iter().filter(|s| s.name != PYTHON) {
        let Some(m) = results.get(&s.name) else {
            continue;
        };
        let init = median(&m.init_ms);
        let rss = m.peak_rss_kb as f64 / 1024.0;
        let zip = zip_size(s.logical_id.as_deref()).map(|b| b as f64 / 1e6);
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "- {}: init {} ({} ms), peak RSS {} ({:.1} MB), zip {}",
            s.name,
            verdict(init <= 8.0),
            fmt_ms(init),
            verdict(rss <= 10.0),
            rss,
            zip.map(|z| format!("{} ({z:.2} MB)", verdict(z <= 3.5)))
                .unwrap_or_else(|| "not measured (run make package)".into())
        );
    }
}
