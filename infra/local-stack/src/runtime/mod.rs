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

mod api;
mod process;
mod routes;

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use api::RuntimeApi;
pub use process::{FunctionConfig, FunctionProcess};

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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
