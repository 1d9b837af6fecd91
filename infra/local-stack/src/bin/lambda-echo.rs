//! A diagnostic Lambda function for the Runtime API emulator, built on
//! `lambda_runtime` like the bundle's functions.
//!
//! The event decides what it does:
//! - `{"fail": "message"}`: returns an error (`errorType` `EchoError`);
//! - `{"sleepMs": N}`: waits N ms, then answers;
//! - `{"exit": CODE}`: exits the process without answering;
//! - `{"panic": "message"}`: panics in the handler;
//! - anything else: answers `{"event", "requestId", "deadlineMs",
//!   "functionArn", "traceId", "env"}`.
//!
//! With `LAMBDA_ECHO_INIT_ERROR=message` it reports an init error to
//! `/runtime/init/error` and exits, as a runtime does when its set-up fails.

use std::time::Duration;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::{json, Value};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, ctx) = event.into_parts();
    if let Some(message) = payload.get("fail").and_then(Value::as_str) {
        return Err(Diagnostic {
            error_type: "EchoError".into(),
            error_message: message.to_owned(),
        });
    }
    if let Some(code) = payload.get("exit").and_then(Value::as_i64) {
        std::process::exit(code as i32);
    }
    if let Some(message) = payload.get("panic").and_then(Value::as_str) {
        panic!("{message}");
    }
    if let Some(ms) = payload.get("sleepMs").and_then(Value::as_u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let env: serde_json::Map<String, Value> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("AWS_LAMBDA_") || k.starts_with("ECHO_") || k == "_X_AMZN_TRACE_ID"
        })
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Ok(json!({
        "event": payload,
        "requestId": ctx.request_id,
        "deadlineMs": ctx.deadline,
        "functionArn": ctx.invoked_function_arn,
        "traceId": ctx.xray_trace_id,
        "env": env,
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    if let Ok(message) = std::env::var("LAMBDA_ECHO_INIT_ERROR") {
        let api = std::env::var("AWS_LAMBDA_RUNTIME_API")?;
        reqwest::Client::new()
            .post(format!("http://{api}/2018-06-01/runtime/init/error"))
            .header(
                "Lambda-Runtime-Function-Error-Type",
                "Runtime.EchoInitError",
            )
            .json(&json!({"errorType": "Runtime.EchoInitError", "errorMessage": message}))
            .send()
            .await?;
        std::process::exit(1);
    }
    eprintln!("lambda-echo: starting");
    lambda_runtime::run(service_fn(handler)).await
}
