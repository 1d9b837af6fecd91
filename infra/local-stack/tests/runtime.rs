//! The Lambda Runtime API emulator, driven by hand (as a runtime would) and
//! by a real `lambda_runtime` function (`lambda-echo`). No moto needed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use local_stack::runtime::{FunctionConfig, FunctionProcess, InvokeError, RuntimeApi};
use serde_json::{json, Value};

const ECHO: &str = env!("CARGO_BIN_EXE_lambda-echo");
const T: Duration = Duration::from_secs(20);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("header {name} missing"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn hand_driven_round_trip_with_headers() {
    let api = RuntimeApi::start("my-fn").await.unwrap();
    let base = format!("http://{}/2018-06-01/runtime", api.endpoint());
    let http = reqwest::Client::new();

    let before = now_ms();
    let invoke = api.invoke(json!({"hello": "world"}), Duration::from_secs(30));
    let runtime = async {
        let next = http
            .get(format!("{base}/invocation/next"))
            .send()
            .await
            .unwrap();
        assert_eq!(next.status(), 200);
        let id = header(&next, "lambda-runtime-aws-request-id");
        let deadline: u64 = header(&next, "lambda-runtime-deadline-ms").parse().unwrap();
        assert!(
            deadline >= before + 29_000 && deadline <= now_ms() + 31_000,
            "deadline {deadline}"
        );
        assert_eq!(
            header(&next, "lambda-runtime-invoked-function-arn"),
            "arn:aws:lambda:us-east-1:123456789012:function:my-fn"
        );
        assert!(header(&next, "lambda-runtime-trace-id").starts_with("Root=1-"));
        let event: Value = next.json().await.unwrap();
        assert_eq!(event, json!({"hello": "world"}));
        let done = http
            .post(format!("{base}/invocation/{id}/response"))
            .body(r#"{"ok":true}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 202);
        // A second answer for the same id is refused.
        let again = http
            .post(format!("{base}/invocation/{id}/response"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 400);
    };
    let (answer, ()) = tokio::join!(invoke, runtime);
    assert_eq!(answer.unwrap(), json!({"ok": true}));
    assert_eq!(api.next_polls(), 1);
}

#[tokio::test]
async fn hand_driven_function_error_and_init_error() {
    let api = RuntimeApi::start("f").await.unwrap();
    let base = format!("http://{}/2018-06-01/runtime", api.endpoint());
    let http = reqwest::Client::new();
    let runtime = async {
        let next = http
            .get(format!("{base}/invocation/next"))
            .send()
            .await
            .unwrap();
        let id = header(&next, "lambda-runtime-aws-request-id");
        let r = http
            .post(format!("{base}/invocation/{id}/error"))
            .header("Lambda-Runtime-Function-Error-Type", "Unhandled")
            .body(r#"{"errorType":"BadThing","errorMessage":"it broke"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    };
    let (answer, ()) = tokio::join!(api.invoke(json!({}), T), runtime);
    assert_eq!(
        answer.unwrap_err(),
        InvokeError::Function {
            error_type: "BadThing".into(),
            error_message: "it broke".into()
        }
    );

    let r = http
        .post(format!("{base}/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
        .body(r#"{"errorType":"Runtime.InitError","errorMessage":"no config"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let err = api.invoke(json!({}), T).await.unwrap_err();
    assert!(
        matches!(&err, InvokeError::Init { error_message, .. } if error_message == "no config"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_timed_out_invocation_is_not_handed_out_later() {
    let api = RuntimeApi::start("f").await.unwrap();
    let err = api
        .invoke(json!({"n": 1}), Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err, InvokeError::Timeout(Duration::from_millis(100)));

    let base = format!("http://{}/2018-06-01/runtime", api.endpoint());
    let http = reqwest::Client::new();
    let runtime = async {
        let next = http
            .get(format!("{base}/invocation/next"))
            .send()
            .await
            .unwrap();
        let id = header(&next, "lambda-runtime-aws-request-id");
        let event: Value = next.json().await.unwrap();
        http.post(format!("{base}/invocation/{id}/response"))
            .body(event.to_string())
            .send()
            .await
            .unwrap();
    };
    let (answer, ()) = tokio::join!(api.invoke(json!({"n": 2}), T), runtime);
    assert_eq!(answer.unwrap(), json!({"n": 2}));
}

#[tokio::test]
async fn lambda_runtime_function_round_trip() {
    let f = FunctionProcess::spawn(ECHO, [("ECHO_MARK", "m1")])
        .await
        .unwrap();
    f.wait_ready(T).await.unwrap();
    let before = now_ms();
    let out = f
        .invoke(json!({"skillId": 42}), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(out["event"], json!({"skillId": 42}));
    assert_eq!(
        out["functionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:lambda-echo"
    );
    let deadline = out["deadlineMs"].as_u64().unwrap();
    assert!(
        deadline >= before + 9_000 && deadline <= now_ms() + 11_000,
        "deadline {deadline}"
    );
    assert!(!out["requestId"].as_str().unwrap().is_empty());
    assert!(out["traceId"].as_str().unwrap().starts_with("Root=1-"));
    let env = &out["env"];
    assert_eq!(env["ECHO_MARK"], "m1");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "lambda-echo");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], f.runtime_api().endpoint());
    assert!(env["AWS_LAMBDA_LOG_GROUP_NAME"]
        .as_str()
        .unwrap()
        .ends_with("/lambda-echo"));
    assert!(!env["AWS_LAMBDA_LOG_STREAM_NAME"]
        .as_str()
        .unwrap()
        .is_empty());

    // Warm: the same process answers the next invocation.
    let pid = f.pid();
    let out2 = f.invoke(json!({"again": true}), T).await.unwrap();
    assert_eq!(out2["event"], json!({"again": true}));
    assert_ne!(out2["requestId"], out["requestId"]);
    assert_eq!(f.pid(), pid);
    assert_eq!(f.starts(), 1);
    assert!(
        f.logs().iter().any(|l| l.contains("lambda-echo: starting")),
        "{:?}",
        f.logs()
    );
}

#[tokio::test]
async fn lambda_runtime_function_error() {
    let f = FunctionProcess::start(FunctionConfig::new(ECHO).name("errs"))
        .await
        .unwrap();
    let err = f.invoke(json!({"fail": "no agents"}), T).await.unwrap_err();
    assert_eq!(
        err,
        InvokeError::Function {
            error_type: "EchoError".into(),
            error_message: "no agents".into()
        }
    );
    // The function survives its own errors.
    assert_eq!(f.invoke(json!({"x": 1}), T).await.unwrap()["event"]["x"], 1);
    assert_eq!(f.starts(), 1);
    // A panic in the handler is reported as an error too.
    let err = f.invoke(json!({"panic": "boom"}), T).await.unwrap_err();
    assert!(matches!(err, InvokeError::Function { .. }), "{err:?}");
}

#[tokio::test]
async fn timeout_kills_the_sandbox_and_the_next_invoke_starts_cold() {
    let f = FunctionProcess::spawn(ECHO, Vec::<(String, String)>::new())
        .await
        .unwrap();
    f.wait_ready(T).await.unwrap();
    let err = f
        .invoke(json!({"sleepMs": 5_000}), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err, InvokeError::Timeout(Duration::from_millis(300)));
    let out = f.invoke(json!({"after": "timeout"}), T).await.unwrap();
    assert_eq!(out["event"]["after"], "timeout");
    assert_eq!(f.starts(), 2);
}

#[tokio::test]
async fn process_exit_is_reported_and_recovered() {
    let f = FunctionProcess::spawn(ECHO, Vec::<(String, String)>::new())
        .await
        .unwrap();
    let err = f.invoke(json!({"exit": 3}), T).await.unwrap_err();
    assert!(
        matches!(&err, InvokeError::ProcessExited { status, .. } if status.contains('3')),
        "{err:?}"
    );
    assert_eq!(f.invoke(json!({}), T).await.unwrap()["event"], json!({}));
    assert_eq!(f.starts(), 2);
}

#[tokio::test]
async fn init_error_is_reported() {
    let f = FunctionProcess::spawn(ECHO, [("LAMBDA_ECHO_INIT_ERROR", "secret id missing")])
        .await
        .unwrap();
    let err = f.invoke(json!({}), T).await.unwrap_err();
    assert_eq!(
        err,
        InvokeError::Init {
            error_type: "Runtime.EchoInitError".into(),
            error_message: "secret id missing".into()
        }
    );
}

#[tokio::test]
async fn a_missing_binary_is_a_clear_error() {
    let err = FunctionProcess::spawn("/nonexistent/bootstrap", Vec::<(String, String)>::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
}

#[tokio::test]
async fn dropping_the_function_kills_its_process() {
    let f = FunctionProcess::spawn(ECHO, Vec::<(String, String)>::new())
        .await
        .unwrap();
    f.wait_ready(T).await.unwrap();
    let pid = f.pid().unwrap();
    drop(f);
    let gone = async {
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            // Still there until the reaper collects it.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat.contains(") Z ") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), gone)
        .await
        .expect("process still running");
}

#[tokio::test]
async fn a_process_killed_while_waiting_for_work_is_replaced() {
    let f = FunctionProcess::spawn(ECHO, Vec::<(String, String)>::new())
        .await
        .unwrap();
    f.wait_ready(T).await.unwrap();
    let pid = f.pid();
    f.kill();
    let out = f
        .invoke(json!({"n": 1}), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(out["event"]["n"], 1);
    assert_eq!(f.starts(), 2);
    assert_ne!(f.pid(), pid);
}
