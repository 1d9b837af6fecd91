//! A local Lambda Runtime API and function processes running under it.
//!
//! [`RuntimeApi`] serves the four routes of the Runtime API
//! (`/2018-06-01/runtime/...`) on `127.0.0.1:0`; [`RuntimeApi::invoke`]
//! queues an event and waits for the function's answer. [`FunctionProcess`]
//! starts a function binary (built with `lambda_runtime`) against its own
//! emulator, the way Lambda starts `bootstrap` in a sandbox, and invokes it.
//!
//! Semantics follow Lambda where it matters to the bundle: one invocation at
//! a time per process, `Lambda-Runtime-Deadline-Ms` = the moment the caller
//! gives up, an invocation that times out gets its sandbox killed, and the
//! next invocation after a crash, an init error or a timeout starts a fresh
//! process (a cold start).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::StackError;

/// Largest synchronous response Lambda returns (6 MB).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// Account id used in the emulator's function ARNs.
pub const LOCAL_ACCOUNT_ID: &str = "123456789012";

const LOG_CAPACITY: usize = 20_000;

/// Why an invocation produced no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The handler returned an error (`POST .../invocation/{id}/error`).
    #[error("function error {error_type}: {error_message}")]
    Function {
        error_type: String,
        error_message: String,
    },
    /// The runtime reported an initialisation error (`POST .../init/error`).
    #[error("init error {error_type}: {error_message}")]
    Init {
        error_type: String,
        error_message: String,
    },
    /// No answer before the deadline (the process is then killed).
    #[error("invocation timed out after {0:?}")]
    Timeout(Duration),
    /// The function process ended before answering.
    #[error("function process exited ({status}) before answering; last output:\n{last_output}")]
    ProcessExited { status: String, last_output: String },
    /// The response was not JSON (or was larger than Lambda allows).
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// The function process could not be started.
    #[error("could not start the function: {0}")]
    Spawn(String),
}

enum Outcome {
    Response(Bytes),
    Error {
        error_type: String,
        error_message: String,
    },
}

struct Pending {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    trace_id: String,
    reply: oneshot::Sender<Outcome>,
}

/// The invocations of one sandbox generation. A new generation gets a new
/// queue, so a dead process's pending `next` request can never take work.
struct Queue {
    tx: mpsc::UnboundedSender<Pending>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
}

impl Queue {
    fn new() -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        Arc::new(Self {
            tx,
            rx: tokio::sync::Mutex::new(rx),
        })
    }
}

struct Shared {
    function_arn: String,
    queue: Mutex<Arc<Queue>>,
    inflight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: watch::Sender<Option<(String, String)>>,
    next_polls: watch::Sender<u64>,
}

/// A Lambda Runtime API emulator on `127.0.0.1` (ephemeral port). The server
/// stops when this value is dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("addr", &self.addr)
            .field("function_arn", &self.shared.function_arn)
            .finish()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    /// Starts an emulator for a function named `function_name` (used in the
    /// `Lambda-Runtime-Invoked-Function-Arn` header).
    pub async fn start(function_name: &str) -> Result<Self, StackError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| {
                StackError::Runtime(format!("cannot bind the Runtime API emulator: {e}"))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| StackError::Runtime(format!("Runtime API emulator address: {e}")))?;
        let shared = Arc::new(Shared {
            function_arn: format!(
                "arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT_ID}:function:{function_name}"
            ),
            queue: Mutex::new(Queue::new()),
            inflight: Mutex::new(HashMap::new()),
            init_error: watch::channel(None).0,
            next_polls: watch::channel(0).0,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .layer(DefaultBodyLimit::max(MAX_RESPONSE_BYTES * 2))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "Runtime API emulator stopped");
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// The socket address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API` (`127.0.0.1:PORT`).
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// The ARN sent as `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn function_arn(&self) -> &str {
        &self.shared.function_arn
    }

    /// How many times a runtime has asked for the next invocation.
    pub fn next_polls(&self) -> u64 {
        *self.shared.next_polls.borrow()
    }

    /// Waits until a runtime is polling for work (its initialisation is
    /// done), or for an init error.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), InvokeError> {
        let mut polls = self.shared.next_polls.subscribe();
        let mut init = self.shared.init_error.subscribe();
        let ready = async {
            tokio::select! {
                r = polls.wait_for(|n| *n > 0) => { let _ = r; Ok(()) }
                r = init.wait_for(Option::is_some) => match r.ok().and_then(|v| v.clone()) {
                    Some((error_type, error_message)) => Err(InvokeError::Init { error_type, error_message }),
                    None => Ok(()),
                },
            }
        };
        tokio::time::timeout(timeout, ready)
            .await
            .map_err(|_| InvokeError::Timeout(timeout))?
    }

    /// The init error the runtime reported, if any.
    pub fn init_error(&self) -> Option<(String, String)> {
        self.shared.init_error.borrow().clone()
    }

    /// Starts a new sandbox generation: forgets a reported init error and the
    /// poll count, and opens a new invocation queue, so that a `next` request
    /// still pending from a dead process can never take new work.
    pub fn reset(&self) {
        *lock(&self.shared.queue) = Queue::new();
        self.shared.init_error.send_replace(None);
        self.shared.next_polls.send_replace(0);
    }

    /// Queues a JSON event and waits for the function's JSON answer, at most
    /// `timeout` (which also sets the deadline the function sees).
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Result<Value, InvokeError> {
        let payload =
            serde_json::to_vec(&event).map_err(|e| InvokeError::InvalidResponse(e.to_string()))?;
        let body = self.invoke_bytes(payload, timeout).await?;
        serde_json::from_slice(&body).map_err(|e| {
            let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            InvokeError::InvalidResponse(format!("not JSON ({e}): {shown}"))
        })
    }

    /// As [`RuntimeApi::invoke`] with a raw payload and answer.
    pub async fn invoke_bytes(
        &self,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Bytes, InvokeError> {
        if let Some((error_type, error_message)) = self.init_error() {
            return Err(InvokeError::Init {
                error_type,
                error_message,
            });
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let deadline_ms = unix_ms() + u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX / 2);
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            request_id: request_id.clone(),
            payload: Bytes::from(payload),
            deadline_ms,
            trace_id: trace_id(),
            reply,
        };
        let queue = lock(&self.shared.queue).clone();
        queue
            .tx
            .send(pending)
            .map_err(|_| InvokeError::Spawn("the Runtime API emulator is stopped".into()))?;

        let mut init = self.shared.init_error.subscribe();
        let result = tokio::select! {
            biased;
            outcome = answer => match outcome {
                Ok(Outcome::Response(body)) => Ok(body),
                Ok(Outcome::Error { error_type, error_message }) => Err(InvokeError::Function { error_type, error_message }),
                Err(_) => Err(InvokeError::Spawn("the Runtime API emulator stopped".into())),
            },
            r = init.wait_for(Option::is_some) => {
                let (error_type, error_message) = r.ok().and_then(|v| v.clone()).unwrap_or_default();
                Err(InvokeError::Init { error_type, error_message })
            }
            _ = tokio::time::sleep(timeout) => Err(InvokeError::Timeout(timeout)),
        };
        if result.is_err() {
            lock(&self.shared.inflight).remove(&request_id);
        }
        result
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn trace_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    let secs = unix_ms() / 1000;
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        &id[..24],
        &parent[..16]
    )
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "errorType": error_type, "errorMessage": message }).to_string(),
    )
        .into_response()
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    s.next_polls.send_modify(|n| *n += 1);
    let queue = lock(&s.queue).clone();
    let mut rx = queue.rx.lock().await;
    loop {
        let Some(p) = rx.recv().await else {
            return runtime_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "emulator stopped",
            );
        };
        if p.reply.is_closed() {
            // The caller gave up before the function asked: skip it.
            continue;
        }
        lock(&s.inflight).insert(p.request_id.clone(), p.reply);
        let mut headers = HeaderMap::new();
        let hv =
            |v: &str| HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static(""));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("Lambda-Runtime-Aws-Request-Id", hv(&p.request_id));
        headers.insert("Lambda-Runtime-Deadline-Ms", hv(&p.deadline_ms.to_string()));
        headers.insert("Lambda-Runtime-Invoked-Function-Arn", hv(&s.function_arn));
        headers.insert("Lambda-Runtime-Trace-Id", hv(&p.trace_id));
        return (StatusCode::OK, headers, p.payload).into_response();
    }
}

async fn response(
    State(s): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let Some(reply) = lock(&s.inflight).remove(&id) else {
        return runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "unknown or finished request id",
        );
    };
    if body.len() > MAX_RESPONSE_BYTES {
        let _ = reply.send(Outcome::Error {
            error_type: "Function.ResponseSizeTooLarge".into(),
            error_message: format!(
                "response of {} bytes exceeds the {MAX_RESPONSE_BYTES}-byte limit",
                body.len()
            ),
        });
        return runtime_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "response too large",
        );
    }
    let _ = reply.send(Outcome::Response(body));
    accepted()
}

fn error_body(headers: &HeaderMap, body: &Bytes) -> (String, String) {
    let header_type = headers
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => (
            v.get("errorType")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(header_type)
                .unwrap_or_else(|| "Unknown".into()),
            v.get("errorMessage")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
        Err(_) => (
            header_type.unwrap_or_else(|| "Unknown".into()),
            String::from_utf8_lossy(body).into_owned(),
        ),
    }
}

async fn invocation_error(
    State(s): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(reply) = lock(&s.inflight).remove(&id) else {
        return runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "unknown or finished request id",
        );
    };
    let (error_type, error_message) = error_body(&headers, &body);
    let _ = reply.send(Outcome::Error {
        error_type,
        error_message,
    });
    accepted()
}

async fn init_error(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let (error_type, error_message) = error_body(&headers, &body);
    tracing::warn!(%error_type, %error_message, "function reported an init error");
    s.init_error.send_replace(Some((error_type, error_message)));
    accepted()
}

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
