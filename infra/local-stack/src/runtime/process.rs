//! Function processes: a binary started against its own [`RuntimeApi`],
//! like a Lambda sandbox, restarted (a cold start) after a crash, an init
//! error or a timeout.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{oneshot, watch};

use super::{lock, InvokeError, RuntimeApi, LOG_CAPACITY};
use crate::error::StackError;

/// How to run a function binary.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// The binary (for example `target/debug/capacity-tuner`).
    pub binary: PathBuf,
    /// `AWS_LAMBDA_FUNCTION_NAME`; defaults to the binary's file name.
    pub name: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (MB).
    pub memory_mb: u32,
    /// `AWS_LAMBDA_FUNCTION_VERSION`.
    pub version: String,
    /// Extra environment, applied over the inherited one (for example
    /// `AWS_ENDPOINT_URL`, the table names, `CXONE_SECRET_ID`).
    pub env: BTreeMap<String, String>,
    /// Start from an empty environment (plus `PATH`, `HOME` and `env`)
    /// instead of inheriting the caller's.
    pub clear_env: bool,
    /// Copy the function's output lines to this process's stderr as they
    /// come (also on when `LOCAL_STACK_ECHO_LOGS=1`).
    pub echo_logs: bool,
}

impl FunctionConfig {
    /// A configuration for `binary` with Lambda's usual defaults (256 MB,
    /// `$LATEST`, inherited environment).
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        let binary = binary.into();
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "function".into());
        Self {
            binary,
            name,
            memory_mb: 256,
            version: "$LATEST".into(),
            env: BTreeMap::new(),
            clear_env: false,
            echo_logs: std::env::var("LOCAL_STACK_ECHO_LOGS")
                .is_ok_and(|v| v == "1" || v == "true"),
        }
    }

    /// Sets the function name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Adds environment variables.
    pub fn envs<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }
}

struct Instance {
    pid: Option<u32>,
    killed: bool,
    exited: watch::Receiver<Option<String>>,
    kill: Option<oneshot::Sender<()>>,
}

impl Instance {
    fn has_exited(&self) -> bool {
        self.exited.borrow().is_some()
    }

    fn kill(&mut self) {
        self.killed = true;
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
    }
}

/// A function binary running under its own [`RuntimeApi`], like a Lambda
/// sandbox. The process is killed when this value is dropped.
pub struct FunctionProcess {
    api: RuntimeApi,
    config: FunctionConfig,
    instance: Mutex<Instance>,
    generations: AtomicU64,
    logs: Arc<Mutex<VecDeque<String>>>,
}

impl std::fmt::Debug for FunctionProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionProcess")
            .field("name", &self.config.name)
            .field("binary", &self.config.binary)
            .field("runtime_api", &self.api.addr)
            .field("pid", &self.pid())
            .finish()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        lock(&self.instance).kill();
    }
}

impl FunctionProcess {
    /// Starts `binary` with extra environment variables `env` (over the
    /// inherited environment) and the `AWS_LAMBDA_*` variables.
    pub async fn spawn<K, V>(
        binary: impl AsRef<Path>,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, StackError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self::start(FunctionConfig::new(binary.as_ref()).envs(env)).await
    }

    /// Starts a function from a full configuration.
    pub async fn start(config: FunctionConfig) -> Result<Self, StackError> {
        if !config.binary.is_file() {
            return Err(StackError::Runtime(format!(
                "function binary {} not found (build it with cargo build first)",
                config.binary.display()
            )));
        }
        let api = RuntimeApi::start(&config.name).await?;
        let logs = Arc::new(Mutex::new(VecDeque::new()));
        let instance = spawn_instance(&config, &api, 1, &logs).map_err(StackError::Runtime)?;
        Ok(Self {
            api,
            config,
            instance: Mutex::new(instance),
            generations: AtomicU64::new(1),
            logs,
        })
    }

    /// The emulator this function talks to.
    pub fn runtime_api(&self) -> &RuntimeApi {
        &self.api
    }

    /// The configuration the function was started with.
    pub fn config(&self) -> &FunctionConfig {
        &self.config
    }

    /// The current process id, if a process is running.
    pub fn pid(&self) -> Option<u32> {
        let inst = lock(&self.instance);
        if inst.has_exited() {
            None
        } else {
            inst.pid
        }
    }

    /// How many processes were started (1 + cold starts after crashes,
    /// init errors and timeouts).
    pub fn starts(&self) -> u64 {
        self.generations.load(Ordering::SeqCst)
    }

    /// Output lines (stdout and stderr) of every process so far.
    pub fn logs(&self) -> Vec<String> {
        lock(&self.logs).iter().cloned().collect()
    }

    /// Output lines so far, clearing the buffer.
    pub fn take_logs(&self) -> Vec<String> {
        lock(&self.logs).drain(..).collect()
    }

    /// Waits until the function is polling for work (init done).
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), InvokeError> {
        let mut exited = lock(&self.instance).exited.clone();
        tokio::select! {
            biased;
            r = self.api.wait_ready(timeout) => r,
            status = wait_exit(&mut exited) => Err(self.exit_error(status)),
        }
    }

    /// Invokes the function with a JSON event and waits for its JSON answer
    /// at most `timeout` (the deadline the function sees). Starts a fresh
    /// process first when the previous one has ended.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Result<Value, InvokeError> {
        let mut exited = self.ensure_running().await?;
        let result = tokio::select! {
            biased;
            r = self.api.invoke(event, timeout) => r,
            status = wait_exit(&mut exited) => {
                match self.api.init_error() {
                    Some((error_type, error_message)) => Err(InvokeError::Init { error_type, error_message }),
                    None => Err(self.exit_error(status)),
                }
            }
        };
        if matches!(result, Err(InvokeError::Timeout(_))) {
            // Lambda tears the sandbox down after a timeout.
            lock(&self.instance).kill();
        }
        result
    }

    /// The current process, or a fresh one when it ended, was killed or
    /// reported an init error. A killed process is reaped before the new one
    /// starts, so it cannot take the new one's invocation.
    async fn ensure_running(&self) -> Result<watch::Receiver<Option<String>>, InvokeError> {
        let mut waited = false;
        loop {
            let mut dying = {
                let mut inst = lock(&self.instance);
                let stale = inst.killed || inst.has_exited() || self.api.init_error().is_some();
                if !stale {
                    return Ok(inst.exited.clone());
                }
                if inst.has_exited() || waited {
                    self.api.reset();
                    let generation = self.generations.fetch_add(1, Ordering::SeqCst) + 1;
                    *inst = spawn_instance(&self.config, &self.api, generation, &self.logs)
                        .map_err(InvokeError::Spawn)?;
                    return Ok(inst.exited.clone());
                }
                inst.kill();
                inst.exited.clone()
            };
            let _ = tokio::time::timeout(Duration::from_secs(5), wait_exit(&mut dying)).await;
            waited = true;
        }
    }

    /// Kills the current process (the next invoke starts a new one).
    pub fn kill(&self) {
        lock(&self.instance).kill();
    }

    fn exit_error(&self, status: String) -> InvokeError {
        let logs = lock(&self.logs);
        let tail: Vec<&str> = logs.iter().rev().take(20).map(String::as_str).collect();
        let last_output = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        InvokeError::ProcessExited {
            status,
            last_output,
        }
    }
}

async fn wait_exit(exited: &mut watch::Receiver<Option<String>>) -> String {
    match exited.wait_for(Option::is_some).await {
        Ok(v) => v.clone().unwrap_or_default(),
        Err(_) => "unknown".into(),
    }
}

fn spawn_instance(
    config: &FunctionConfig,
    api: &RuntimeApi,
    generation: u64,
    logs: &Arc<Mutex<VecDeque<String>>>,
) -> Result<Instance, String> {
    let mut cmd = tokio::process::Command::new(&config.binary);
    if config.clear_env {
        cmd.env_clear();
        for k in ["PATH", "HOME"] {
            if let Ok(v) = std::env::var(k) {
                cmd.env(k, v);
            }
        }
    }
    let stream = format!(
        "{}/[{}]{}",
        chrono::Utc::now().format("%Y/%m/%d"),
        config.version,
        uuid::Uuid::new_v4().simple()
    );
    cmd.envs(&config.env)
        .env("AWS_LAMBDA_RUNTIME_API", api.endpoint())
        .env("AWS_LAMBDA_FUNCTION_NAME", &config.name)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", &config.version)
        .env("AWS_LAMBDA_LOG_STREAM_NAME", stream)
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", config.name),
        )
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", config.binary.display()))?;
    let pid = child.id();
    if let Some(out) = child.stdout.take() {
        tokio::spawn(pump(
            out,
            logs.clone(),
            config.echo_logs,
            config.name.clone(),
        ));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(pump(
            err,
            logs.clone(),
            config.echo_logs,
            config.name.clone(),
        ));
    }
    let (exit_tx, exit_rx) = watch::channel(None);
    let (kill_tx, kill_rx) = oneshot::channel::<()>();
    let name = config.name.clone();
    tokio::spawn(async move {
        let status = tokio::select! {
            s = child.wait() => s,
            _ = kill_rx => {
                let _ = child.start_kill();
                child.wait().await
            }
        };
        let status = match status {
            Ok(s) => s.to_string(),
            Err(e) => format!("wait failed: {e}"),
        };
        tracing::debug!(function = %name, generation, %status, "function process ended");
        exit_tx.send_replace(Some(status));
    });
    Ok(Instance {
        pid,
        killed: false,
        exited: exit_rx,
        kill: Some(kill_tx),
    })
}

async fn pump<R: AsyncRead + Unpin>(
    reader: R,
    logs: Arc<Mutex<VecDeque<String>>>,
    echo: bool,
    name: String,
) {
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if echo {
            eprintln!("[{name}] {line}");
        }
        tracing::trace!(function = %name, "{line}");
        let mut l = lock(&logs);
        if l.len() == LOG_CAPACITY {
            l.pop_front();
        }
        l.push_back(line);
    }
}
