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
    call_within(api, method, skill, body, Duration::from_secs(20)).await
}

async fn call_within(
    api: &Api,
    method: &str,
    skill: &str,
    body: Option<&str>,
    budget: Duration,
) -> (u16, Value) {
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
    let response = api.handle(request, Deadline::after(budget)).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

/// `small_test` with 1002 (outbound Personal Connection) scrubbed by the DNC
/// group too, so that it is a lawful backup for 1001.
fn protected_backup() -> Scenario {
    let mut scenario = Scenario::small_test();
    scenario.dnc_groups[0].scrubbed_skills.push(1002);
    scenario
}

#[tokio::test]
async fn put_then_get_config_is_stored_and_audited() {
    let stack = TestStack::start(protected_backup()).await;
    let deps = stack.deps();
    let api = Api::new(&deps);
    let (status, body) = call(&api, "PUT", "1001", Some(&config_body(Some(1002)))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 1);
    assert_eq!(body["config"]["pacing"]["maxRatio"], 3.0);
    assert_eq!(body["updatedBy"], "arn:aws:iam::123456789012:user/ops-lead");

    assert_eq!(body["config"]["pacing"]["minRingSeconds"], 15);
    assert_eq!(body["createdAt"], "2026-11-18T11:06:40Z");
    let (status, got) = call(&api, "GET", "1001", None).await;
    assert_eq!(status, 200);
    assert_eq!(got["config"], body["config"]);

    // A second PUT bumps the version and the audit trail keeps both, with before/after.
    let changed = config_body(None).replace("3.0", "2.0");
    let (status, body) = call(&api, "PUT", "1001", Some(&changed)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    assert_eq!(body["createdAt"], "2026-11-18T11:06:40Z", "kept: {body}");
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

    let short_ring =
        config_body(None).replace("\"maxRatio\":3.0", "\"maxRatio\":3.0,\"minRingSeconds\":10");
    assert_ne!(short_ring, config_body(None));
    let (status, body) = call(&api, "PUT", "1001", Some(&short_ring)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"][0]["field"], "pacing.minRingSeconds");
    assert!(body["details"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("310.4(b)(4)(ii)"));

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

/// The 422 body's detail for the backup field.
fn backup_detail(body: &Value) -> &Value {
    body["details"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["field"] == "failover.backupSkillId"))
        .unwrap_or_else(|| panic!("no failover.backupSkillId detail in {body}"))
}

#[tokio::test]
async fn a_backup_without_dnc_scrubbing_is_refused() {
    // In small_test, 1002 is outbound Personal Connection but no DNC group scrubs it.
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let api = Api::new(&deps);
    let (status, body) = call(&api, "PUT", "1001", Some(&config_body(Some(1002)))).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "unprocessable");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("failover.backupSkillId"), "{body}");
    assert!(message.contains("do-not-call"), "{body}");
    assert_eq!(backup_detail(&body)["rule"], "dnc-protection");
    assert!(deps.state().get_config(1001).await.unwrap().is_none());
    assert!(deps.audit().all_for(1001).await.unwrap().is_empty());

    // A removed group does not protect either.
    let mut scenario = protected_backup();
    scenario.dnc_groups[0].is_removed = true;
    let stack = TestStack::start(scenario).await;
    let (status, body) = call(
        &Api::new(&stack.deps()),
        "PUT",
        "1001",
        Some(&config_body(Some(1002))),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(backup_detail(&body)["rule"], "dnc-protection");
}

#[tokio::test]
async fn a_backup_that_is_not_personal_connection_is_refused() {
    let mut scenario = protected_backup();
    scenario.skills[1].outbound_strategy = "Progressive".into();
    let stack = TestStack::start(scenario).await;
    let deps = stack.deps();
    let api = Api::new(&deps);
    let (status, body) = call(&api, "PUT", "1001", Some(&config_body(Some(1002)))).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not an outbound Personal Connection"),
        "{body}"
    );
    let detail = backup_detail(&body);
    assert_eq!(detail["rule"], "personal-connection");
    assert_eq!(detail["outboundStrategy"], "Progressive");
    assert!(deps.state().get_config(1001).await.unwrap().is_none());

    // An unknown backup stays a 422 naming the field.
    let (status, body) = call(&api, "PUT", "1001", Some(&config_body(Some(4040)))).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(backup_detail(&body)["problem"], "no such skill");
}

#[tokio::test]
async fn a_protected_personal_connection_backup_is_accepted() {
    let stack = TestStack::start(protected_backup()).await;
    let deps = stack.deps();
    let (status, body) = call(
        &Api::new(&deps),
        "PUT",
        "1001",
        Some(&config_body(Some(1002))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["config"]["failover"]["backupSkillId"], 1002);
}

#[tokio::test]
async fn a_config_write_and_its_audit_record_are_one_transaction() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let api = Api::new(&deps);
    let (status, body) = call(&api, "PUT", "1001", Some(&config_body(None))).await;
    assert_eq!(status, 200, "{body}");
    let stored = deps.state().get_config(1001).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    let audit = deps.audit().all_for(1001).await.unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, campaign_api::AUDIT_ACTION);
    assert_eq!(audit[0].details["version"], 1);

    // The audit table failing: 503, and the config is not written without its record.
    let mut broken = stack.config.clone();
    broken.audit_table = "missing-table".into();
    let broken = shared::wiring::Deps::build(broken, &stack.sdk).unwrap();
    let changed = config_body(None).replace("3.0", "2.0");
    let (status, body) = call(&Api::new(&broken), "PUT", "1001", Some(&changed)).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        !body["message"].as_str().unwrap().contains("missing-table"),
        "no internals: {body}"
    );
    let kept = deps.state().get_config(1001).await.unwrap().unwrap();
    assert_eq!(
        kept, stored,
        "the config must not change without its audit record"
    );
    assert_eq!(deps.audit().all_for(1001).await.unwrap().len(), 1);
}

#[tokio::test]
async fn cxone_calls_keep_the_record_reserve_of_the_deadline() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let api = Api::new(&deps);
    // Less than RECORD_RESERVE (3 s) left: CXone gets no time at all, so the
    // DynamoDB writes never start late.
    let (status, body) = call_within(
        &api,
        "PUT",
        "1001",
        Some(&config_body(None)),
        Duration::from_millis(2_500),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("deadline"),
        "{body}"
    );
    assert!(deps.state().get_config(1001).await.unwrap().is_none());
    let calls = stack.sim.admin().requests().await.unwrap();
    assert!(
        calls.iter().all(|r| !r.path.contains("/skills/")),
        "{calls:?}"
    );
}
