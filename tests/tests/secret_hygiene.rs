//! Secret hygiene: with known secret values (the CXone client secret and
//! access key secret, a wrong access key secret, the webhook signing
//! secret), a representative flow through the real function binaries (a
//! tuner tick with its token grant, a webhook delivery with a bad and a good
//! signature, API calls that fail with 503 and 502, including a refused
//! token request) must leave none of them in any captured log line, metric
//! line, HTTP answer or audit item. Server-side failures carry a `requestId`
//! that a log line carries too, and no internals. Needs the local stack.

use std::time::Duration;

use campaign_api::Api;
use cxone_sim::Scenario;
use e2e_tests::{config_body, http_event, scheduled_event, TestStack, WEBHOOK_SECRET};
use local_stack::FunctionProcess;
use serde_json::{json, Value};
use shared::deadline::Deadline;
use shared::webhook::signature_header;

const ACCESS_KEY_SECRET: &str = "hygiene-AKS-5b1f0c9e7a2d4e6f8a1b3c5d7e9f0a2b";
const CLIENT_SECRET: &str = "hygiene-CS-9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a";
const WRONG_ACCESS_KEY_SECRET: &str = "hygiene-WRONG-AKS-0f1e2d3c4b5a69788796a5b4c3d2";

fn scenario() -> Scenario {
    let mut s = Scenario::small_test();
    s.credentials.access_key_secret = ACCESS_KEY_SECRET.into();
    s.credentials.client_secret = CLIENT_SECRET.into();
    s
}

fn secrets() -> [&'static str; 4] {
    [
        ACCESS_KEY_SECRET,
        CLIENT_SECRET,
        WRONG_ACCESS_KEY_SECRET,
        WEBHOOK_SECRET,
    ]
}

/// Fails naming the secret and where it was found (never printing the text
/// around it in full would be kinder, but a failing test must say where).
fn assert_clean(what: &str, text: &str) {
    for secret in secrets() {
        assert!(
            !text.contains(secret),
            "{what} contains a secret value ({}...): {text}",
            &secret[..12]
        );
    }
}

/// Debug logs for the bundle's crates, so that every line they can write is
/// written.
fn env_with(stack: &TestStack, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = stack.function_env();
    env.retain(|(k, _)| k != "RUST_LOG" && !overrides.iter().any(|(o, _)| o == k));
    env.push((
        "RUST_LOG".into(),
        "info,shared=debug,capacity_tuner=debug,campaign_api=debug,webhook_ingest=debug,\
         failover_checker=debug,schedule_deployer=debug"
            .into(),
    ));
    env.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

async fn configure(stack: &TestStack, skill: i64) {
    let api = Api::new(&stack.deps());
    let event = http_event(
        "PUT",
        "/campaigns/{skillId}/config",
        &format!("/campaigns/{skill}/config"),
        Some(&skill.to_string()),
        Some(&config_body(None)),
        1_795_000_000_000,
    );
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = api
        .handle(request, Deadline::after(Duration::from_secs(20)))
        .await;
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.body());
}

/// The API Gateway answer's status and JSON body.
fn answer(response: &Value) -> (u64, Value) {
    let status = response["statusCode"].as_u64().unwrap_or(0);
    let body = response["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

/// A 5xx answer: words and a `requestId` that a log line carries too; no
/// internals (table names, ARNs, SDK messages).
fn assert_server_failure(body: &Value, logs: &[String], internals: &[&str]) {
    let id = body["requestId"]
        .as_str()
        .unwrap_or_else(|| panic!("no requestId in {body}"));
    assert!(
        logs.iter().any(|l| l.contains(id)),
        "no log line carries requestId {id}: {logs:#?}"
    );
    let text = body.to_string();
    for internal in internals {
        assert!(!text.contains(internal), "{internal} in {text}");
    }
    for word in [
        "arn:aws",
        "dispatch failure",
        "ResourceNotFound",
        "service error",
    ] {
        assert!(!text.contains(word), "{word} in {text}");
    }
}

#[tokio::test]
async fn no_secret_value_reaches_logs_metrics_answers_or_the_audit_trail() {
    let stack = TestStack::start(scenario()).await;
    configure(&stack, 1001).await;
    let now = stack.sim.admin().clock().await.unwrap();
    let mut answers: Vec<String> = Vec::new();
    let mut logs: Vec<String> = Vec::new();

    // A tuner tick: discovery, the token grant (both credentials), reads, writes, audit.
    let tuner = FunctionProcess::spawn(e2e_tests::binary("capacity-tuner"), env_with(&stack, &[]))
        .await
        .expect("start capacity-tuner");
    let report = tuner
        .invoke(
            scheduled_event("hygiene-tick", now),
            Duration::from_secs(60),
        )
        .await
        .expect("tick");
    assert_eq!(report["campaigns"][0]["skillId"], 1001, "{report}");
    answers.push(report.to_string());
    logs.extend(tuner.take_logs());

    // Webhooks: a forged signature (401) and a genuine one (202).
    let ingest = FunctionProcess::spawn(e2e_tests::binary("webhook-ingest"), env_with(&stack, &[]))
        .await
        .expect("start webhook-ingest");
    let body = json!({"events": [{"eventId": "hygiene-evt-1", "type": "contact.completed",
        "occurredAt": now.to_rfc3339(), "skillId": 1001,
        "data": {"contactId": "c1", "outcome": "success", "talkSeconds": 60, "wrapSeconds": 10}}]})
    .to_string();
    for (secret, expected) in [
        ("forged-secret-0123456789abcdef012345", 401),
        (WEBHOOK_SECRET, 202),
    ] {
        let mut event = http_event(
            "POST",
            "/webhooks/cxone",
            "/webhooks/cxone",
            None,
            Some(&body),
            now.timestamp_millis(),
        );
        let signature = signature_header(&[secret], now.timestamp(), body.as_bytes());
        event["headers"]["x-signature"] = json!(signature);
        let response = ingest
            .invoke(event, Duration::from_secs(30))
            .await
            .expect("webhook");
        assert_eq!(answer(&response).0, expected, "{response}");
        answers.push(response.to_string());
    }
    logs.extend(ingest.take_logs());

    // A 503: the state table is missing.
    let missing_table = format!("{}-missing", stack.tables.state);
    let api = FunctionProcess::spawn(
        e2e_tests::binary("campaign-api"),
        env_with(&stack, &[("STATE_TABLE", &missing_table)]),
    )
    .await
    .expect("start campaign-api");
    let event = http_event(
        "GET",
        "/campaigns/{skillId}/config",
        "/campaigns/1001/config",
        Some("1001"),
        None,
        now.timestamp_millis(),
    );
    let response = api
        .invoke(event, Duration::from_secs(30))
        .await
        .expect("503");
    let (status, body) = answer(&response);
    assert_eq!(status, 503, "{response}");
    let api_logs = api.take_logs();
    assert_server_failure(&body, &api_logs, &[&missing_table, "-missing"]);
    answers.push(response.to_string());
    logs.extend(api_logs);

    // A 502: CXone refuses the token request (a wrong access key secret).
    let credentials = scenario().credentials;
    let c = &credentials;
    let wrong_secret_id = format!("{}-wrong", stack.secret_id);
    local_stack::put_secret(
        &local_stack::aws::secretsmanager(&stack.sdk),
        &wrong_secret_id,
        &json!({"accessKeyId": c.access_key_id, "accessKeySecret": WRONG_ACCESS_KEY_SECRET,
            "clientId": c.client_id, "clientSecret": CLIENT_SECRET})
        .to_string(),
    )
    .await
    .expect("wrong secret");
    let api = FunctionProcess::spawn(
        e2e_tests::binary("campaign-api"),
        env_with(&stack, &[("CXONE_SECRET_ID", &wrong_secret_id)]),
    )
    .await
    .expect("start campaign-api");
    let event = http_event(
        "GET",
        "/campaigns/{skillId}/health",
        "/campaigns/1001/health",
        Some("1001"),
        None,
        now.timestamp_millis(),
    );
    let response = api
        .invoke(event, Duration::from_secs(60))
        .await
        .expect("502");
    let (status, body) = answer(&response);
    assert_eq!(status, 502, "{response}");
    let api_logs = api.take_logs();
    assert_server_failure(&body, &api_logs, &[&wrong_secret_id]);
    answers.push(response.to_string());
    logs.extend(api_logs);

    assert!(
        logs.iter().any(|l| l.contains("\"_aws\"")),
        "the EMF metric lines were captured: {logs:#?}"
    );
    for line in &logs {
        assert_clean("a log or metric line", line);
    }
    for a in &answers {
        assert_clean("an answer", a);
    }
    // Every audit item, as stored.
    let items = stack
        .dynamo
        .scan()
        .table_name(&stack.tables.audit)
        .send()
        .await
        .expect("scan the audit table");
    let items = items.items();
    assert!(!items.is_empty(), "the tick audited its decision");
    for item in items {
        assert_clean("an audit item", &format!("{item:?}"));
    }
}

#[tokio::test]
async fn webhook_ingest_refuses_an_empty_or_short_signing_secret_at_start() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let sm = local_stack::aws::secretsmanager(&stack.sdk);
    for (name, json) in [
        ("short", json!({"webhookSecrets": ["short-leak-me-secret"]})),
        ("empty", json!({"webhookSecrets": [""]})),
        ("none", json!({"webhookSecrets": []})),
    ] {
        let id = format!("{}-{name}", stack.webhook_secret_id);
        local_stack::put_secret(&sm, &id, &json.to_string())
            .await
            .expect("put secret");
        let ingest = FunctionProcess::spawn(
            e2e_tests::binary("webhook-ingest"),
            env_with(&stack, &[("WEBHOOK_SECRET_ID", &id)]),
        )
        .await
        .expect("spawn webhook-ingest");
        assert!(
            ingest.wait_ready(Duration::from_secs(3)).await.is_err(),
            "{name}: webhook-ingest started with an unusable signing secret"
        );
        let logs = ingest.logs().join("\n");
        assert!(
            logs.contains("cannot start") && logs.contains("webhookSecrets"),
            "{name}: no clear start-up error in {logs}"
        );
        assert!(!logs.contains("short-leak-me-secret"), "{logs}");
        ingest.kill();
    }
}
