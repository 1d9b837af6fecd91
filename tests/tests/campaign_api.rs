//! `GET`/`PUT /campaigns/{skillId}/config` end to end: API Gateway events in,
//! the simulator for skill checks, moto for storage and audit.

use campaign_api::Api;
use cxone_sim::Scenario;
use e2e_tests::{config_body, http_event, TestStack};
use lambda_http::Body;
use serde_json::{json, Value};
use shared::deadline::Deadline;
use std::time::Duration;

const T0: i64 = 1_795_000_000_000;

async fn call(api: &Api, method: &str, skill: &str, body: Option<&str>) -> (u16, Value) {
    let event = http_event(
        method,
        "/campaigns/{skillId}/config",
        &format!("/campaigns/{skill}/config"),
        Some(skill),
        body,
        T0,
    );
    let request =
        lambda_http::request::from_str(&event.to_string()).expect("valid API Gateway event");
    let response = api
        .handle(request, Deadline::after(Duration::from_secs(20)))
        .await;
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

#[tokio::test]
async fn put_then_get_config_is_stored_and_audited() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let api = Api::new(&deps);
    let (status, body) = call(&api, "PUT", "1001", Some(&config_body(Some(1002)))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 1);
    assert_eq!(body["config"]["pacing"]["maxRatio"], 3.0);
    assert_eq!(body["updatedBy"], "arn:aws:iam::123456789012:user/ops-lead");

    let (status, got) = call(&api, "GET", "1001", None).await;
    assert_eq!(status, 200);
    assert_eq!(got["config"], body["config"]);

    // A second PUT bumps the version and the audit trail keeps both, with before/after.
    let changed = config_body(None).replace("3.0", "2.0");
    let (status, body) = call(&api, "PUT", "1001", Some(&changed)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    let audit = deps.audit().all_for(1001).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].action, "config.put");
    assert_eq!(audit[0].actor, "arn:aws:iam::123456789012:user/ops-lead");
    assert_eq!(audit[0].before["pacing"]["maxRatio"], 3.0);
    assert_eq!(audit[0].after["pacing"]["maxRatio"], 2.0);
    assert_eq!(audit[1].before, Value::Null);
}

#[tokio::test]
async fn bad_inputs_get_clear_errors_and_correct_statuses() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let api = Api::new(&deps);

    let unknown = config_body(None).replacen('{', r#"{"colour": "blue", "#, 1);
    let (status, body) = call(&api, "PUT", "1001", Some(&unknown)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "bad_request");
    assert!(
        body["message"].as_str().unwrap().contains("colour"),
        "{body}"
    );

    let missing =
        json!({"enabled": true, "timeZone": "UTC", "recipientTimeZones": ["UTC"]}).to_string();
    let (status, body) = call(&api, "PUT", "1001", Some(&missing)).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("pacing"),
        "{body}"
    );

    let (status, _) = call(&api, "PUT", "1001", Some("{\"enabled\": tru")).await;
    assert_eq!(status, 400);
    let (status, _) = call(&api, "PUT", "1001", None).await;
    assert_eq!(status, 400);

    let unlawful = config_body(None).replace("2.5", "3.5");
    let (status, body) = call(&api, "PUT", "1001", Some(&unlawful)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"][0]["field"], "pacing.targetAbandonPct");
    assert!(body["details"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("legal limit"));

    let (status, body) = call(&api, "PUT", "4040", Some(&config_body(None))).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(&api, "PUT", "1001", Some(&config_body(Some(4040)))).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = call(&api, "GET", "1002", None).await;
    assert_eq!(status, 404);
    let (status, body) = call(&api, "GET", "abc", None).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = call(&api, "GET", "-5", None).await;
    assert_eq!(status, 400);
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(70 * 1024));
    let (status, _) = call(&api, "PUT", "1001", Some(&huge)).await;
    assert_eq!(status, 413);

    // Nothing refused was stored or audited.
    assert!(deps.state().get_config(1001).await.unwrap().is_none());
    assert!(deps.audit().all_for(1001).await.unwrap().is_empty());
}

#[tokio::test]
async fn cxone_outage_is_a_502_and_storage_outage_a_503() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let api = Api::new(&deps);
    stack
        .sim
        .admin()
        .set_faults(vec![serde_json::from_value(
            json!({"kind": "serverError", "status": 500, "count": 20}),
        )
        .unwrap()])
        .await
        .unwrap();
    let (status, body) = call(&api, "PUT", "1001", Some(&config_body(None))).await;
    assert_eq!(status, 502, "{body}");
    stack.sim.admin().clear_faults().await.unwrap();

    let mut broken = stack.config.clone();
    broken.state_table = "missing-table".into();
    let broken = shared::wiring::Deps::build(broken, &stack.sdk).unwrap();
    let (status, body) = call(&Api::new(&broken), "PUT", "1001", Some(&config_body(None))).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        !body["message"].as_str().unwrap().contains("missing-table"),
        "no internals: {body}"
    );
}

#[tokio::test]
async fn the_binary_serves_api_gateway_events_under_the_runtime_api() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let function = local_stack::FunctionProcess::spawn(
        e2e_tests::binary("campaign-api"),
        stack.function_env(),
    )
    .await
    .expect("start campaign-api");
    let event = http_event(
        "PUT",
        "/campaigns/{skillId}/config",
        "/campaigns/1001/config",
        Some("1001"),
        Some(&config_body(None)),
        T0,
    );
    let response = function
        .invoke(event, Duration::from_secs(30))
        .await
        .expect("invoke");
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["skillId"], 1001);
    // Garbage in: an error answer, and the function keeps serving.
    let response = function
        .invoke(json!({"what": "ever"}), Duration::from_secs(30))
        .await;
    assert!(
        response.is_err() || response.as_ref().unwrap()["statusCode"] != 200,
        "{response:?}"
    );
    let event = http_event(
        "GET",
        "/campaigns/{skillId}/config",
        "/campaigns/1001/config",
        Some("1001"),
        None,
        T0,
    );
    let response = function
        .invoke(event, Duration::from_secs(30))
        .await
        .expect("still serving");
    assert_eq!(response["statusCode"], 200, "{response}");
}
