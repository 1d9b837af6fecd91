//! The emulator: its shared state, the invocation queue of a sandbox
//! generation, and [`RuntimeApi`], which queues invocations and waits for
//! their answers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::{lock, routes, unix_ms, InvokeError, LOCAL_ACCOUNT_ID};
use crate::error::StackError;

pub(super) enum Outcome {
    Response(Bytes),
    Error {
        error_type: String,
        error_message: String,
    },
}

pub(super) struct Pending {
    pub(super) request_id: String,
    pub(super) payload: Bytes,
    pub(super) deadline_ms: u64,
    pub(super) trace_id: String,
    pub(super) reply: oneshot::Sender<Outcome>,
}

/// The invocations of one sandbox generation. A new generation gets a new
/// queue, so a dead process's pending `next` request can never take work.
pub(super) struct Queue {
    pub(super) tx: mpsc::UnboundedSender<Pending>,
    pub(super) rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
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

pub(super) struct Shared {
    pub(super) function_arn: String,
    pub(super) queue: Mutex<Arc<Queue>>,
    pub(super) inflight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    pub(super) init_error: watch::Sender<Option<(String, String)>>,
    pub(super) next_polls: watch::Sender<u64>,
}

/// A Lambda Runtime API emulator on `127.0.0.1` (ephemeral port). The server
/// stops when this value is dropped.
pub struct RuntimeApi {
    pub(super) addr: SocketAddr,
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
        let app = routes::router(shared.clone());
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
