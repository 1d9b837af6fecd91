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

mod report;
mod sandbox;
mod subjects;

use report::print_report;
use sandbox::{cold_start, measure, median, percentile, Measured};
use subjects::{
    like_python, now_ms, ok_200, python_subject, rust_subject, template_functions, Subject,
};

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
