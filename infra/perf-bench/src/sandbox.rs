//! One function process under its own Runtime API emulator: cold starts,
//! warm invocations, peak RSS, and the statistics of the timings.

use super::*;

/// One sandbox: a process started against its own emulator.
pub(crate) struct Sandbox {
    pub(crate) api: RuntimeApi,
    pub(crate) child: tokio::process::Child,
    pub(crate) pid: u32,
    pub(crate) spawned: Instant,
}

impl Sandbox {
    pub(crate) async fn start(
        s: &Subject,
        env: &[(String, String)],
        log: &Path,
    ) -> Result<Sandbox, String> {
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

    pub(crate) async fn invoke(&self, s: &Subject, n: usize) -> Result<Value, String> {
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
    pub(crate) fn peak_rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

#[derive(Default)]
pub(crate) struct Measured {
    pub(crate) init_ms: Vec<f64>,
    pub(crate) first_ms: Vec<f64>,
    pub(crate) warm_ms: Vec<f64>,
    pub(crate) peak_rss_kb: u64,
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A cold start: spawn with an invocation already queued (as Lambda does),
/// timing the first `next` and the first answer.
pub(crate) async fn cold_start(
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

pub(crate) async fn measure(
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

pub(crate) fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = (p * (v.len() - 1) as f64).round() as usize;
    v[rank.min(v.len() - 1)]
}

pub(crate) fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
