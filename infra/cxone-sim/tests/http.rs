//! Real HTTP tests against a spawned simulator.

use base64::Engine as _;
use chrono::Duration;
use cxone_sim::{spawn, AdminClient, Fault, FaultKind, Scenario, SimHandle};
use reqwest::StatusCode;
use serde_json::{json, Value};

const V: &str = "/inContactAPI/services/v30.0";

async fn token(sim: &SimHandle) -> String {
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{}/auth/token", sim.base_url()))
        .basic_auth("test-client", Some("test-client-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", "test-ak"),
            ("password", "test-aks"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

async fn api(
    sim: &SimHandle,
    tok: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let c = reqwest::Client::new();
    let mut rb = c
        .request(method, format!("{}{V}{path}", sim.base_url()))
        .bearer_auth(tok)
        .header("Accept", "application/json");
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

async fn get(sim: &SimHandle, tok: &str, path: &str) -> (StatusCode, Value) {
    let (s, v, _) = api(sim, tok, reqwest::Method::GET, path, None).await;
    (s, v)
}

#[tokio::test]
async fn auth_flow_discovery_and_refresh() {
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let c = reqwest::Client::new();
    openid_discovery_names_the_token_endpoint(&sim, &c).await;
    bad_credentials_are_refused(&sim, &c).await;
    let t = password_grant_issues_tokens(&sim, &c).await;
    cxone_discovery_and_an_api_call(&sim, &c, &t).await;
    refresh_grant_issues_a_working_token(&sim, &c, &t).await;
    sim.shutdown().await;
}

/// The OpenID configuration names the simulator's token endpoint.
async fn openid_discovery_names_the_token_endpoint(sim: &SimHandle, c: &reqwest::Client) {
    let oc: Value = c
        .get(format!(
            "{}/.well-known/openid-configuration",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        oc["token_endpoint"],
        json!(format!("{}/auth/token", sim.base_url()))
    );
}

/// Wrong client secret -> 401, wrong access key -> 400, both with {error, errorDescription}.
async fn bad_credentials_are_refused(sim: &SimHandle, c: &reqwest::Client) {
    let r = c
        .post(format!("{}/auth/token", sim.base_url()))
        .basic_auth("test-client", Some("nope"))
        .form(&[
            ("grant_type", "password"),
            ("username", "test-ak"),
            ("password", "test-aks"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"].is_string() && e["errorDescription"].is_string());
    let r = c
        .post(format!("{}/auth/token", sim.base_url()))
        .basic_auth("test-client", Some("test-client-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", "test-ak"),
            ("password", "bad"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// The password grant answers a bearer token, a refresh token and an id
/// token naming the tenant; returns the whole answer.
async fn password_grant_issues_tokens(sim: &SimHandle, c: &reqwest::Client) -> Value {
    let r = c
        .post(format!("{}/auth/token", sim.base_url()))
        .basic_auth("test-client", Some("test-client-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", "test-ak"),
            ("password", "test-aks"),
        ])
        .send()
        .await
        .unwrap();
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    let id_token = t["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["tenantId"], "tenant-test");
    t
}

/// The tenant's discovery names the API endpoint, and the token `t` opens it.
async fn cxone_discovery_and_an_api_call(sim: &SimHandle, c: &reqwest::Client, t: &Value) {
    let cfg: Value = c
        .get(format!(
            "{}/.well-known/cxone-configuration?tenantId=tenant-test",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cfg["api_endpoint"], json!(format!("{}/", sim.base_url())));

    let (s, v) = get(sim, t["access_token"].as_str().unwrap(), "/skills/1001").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["skillName"], "Test Skill");
    assert_eq!(v["isRunning"], true);
}

/// Refresh grant: the refresh token of `t` buys an access token that works.
async fn refresh_grant_issues_a_working_token(sim: &SimHandle, c: &reqwest::Client, t: &Value) {
    let r = c
        .post(format!("{}/auth/token", sim.base_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", "test-client"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let t2: Value = r.json().await.unwrap();
    let (s, _) = get(sim, t2["access_token"].as_str().unwrap(), "/skills/1001").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn accept_and_token_are_required() {
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let tok = token(&sim).await;
    let c = reqwest::Client::new();
    let url = format!("{}{V}/skills/1001/activity", sim.base_url());
    let r = c
        .get(&url)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(&url)
        .bearer_auth("not-a-token")
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(&url)
        .bearer_auth(&tok)
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["message"], "No known way to render data");
    let (s, v) = get(&sim, &tok, "/skills/1001/activity").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["skillActivity"][0]["agentsLoggedIn"], 10);
    let (s, e) = get(&sim, &tok, "/skills/999/activity").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for k in [
        "error",
        "error_description",
        "message",
        "code",
        "correlationId",
    ] {
        assert!(e.get(k).is_some(), "missing {k} in {e}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn agent_states_page() {
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let tok = token(&sim).await;
    let (s, p1) = get(&sim, &tok, "/agents/states").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p1["totalRecords"], "120");
    assert_eq!(p1["agentStates"].as_array().unwrap().len(), 50);
    assert!(p1["lastPollTime"].is_string());
    let mut seen = p1["agentStates"].as_array().unwrap().len();
    let mut next = p1["_links"]["next"].as_str().map(str::to_string);
    let c = reqwest::Client::new();
    while let Some(url) = next {
        assert!(url.starts_with("http://127.0.0.1:"));
        let v: Value = c
            .get(&url)
            .bearer_auth(&tok)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen += v["agentStates"].as_array().unwrap().len();
        next = v["_links"]["next"].as_str().map(str::to_string);
    }
    assert_eq!(seen, 120);
    let (_, big) = get(&sim, &tok, "/agents/states?top=500").await;
    assert_eq!(big["agentStates"].as_array().unwrap().len(), 100);
    let (s, _) = get(&sim, &tok, "/agents/states?top=abc").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    sim.shutdown().await;
}

#[tokio::test]
async fn summary_after_ten_minutes() {
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let admin = sim.admin();
    let start = admin.clock().await.unwrap();
    admin.advance_seconds(600.0).await.unwrap();
    let tok = token(&sim).await;
    let end = start + Duration::minutes(10);
    let path = format!(
        "/skills/1001/summary?startDate={}&endDate={}",
        start.format("%Y-%m-%dT%H:%M:%SZ"),
        end.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let (s, v) = get(&sim, &tok, &path).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sum = &v["skillSummaries"][0];
    assert!(sum["dials"].as_u64().unwrap() > 0);
    assert!(sum["connects"].as_u64().unwrap() > 0);
    assert_eq!(sum["abandonCount"], 0, "ratio 1 abandons nothing");
    assert!(sum["connectsAHT"].as_str().unwrap().contains(':'));
    let truth = admin.truth(1001, start, end).await.unwrap();
    assert_eq!(truth.intervals.len(), 10);
    assert_eq!(truth.totals.dials, sum["dials"].as_u64().unwrap());
    assert_eq!(truth.totals.dials_outside_legal_hours, 0);
    assert!((truth.totals.logged_in_agent_seconds - 10.0 * 600.0).abs() < 1e-6);
    let contacts = admin.contacts(1001, start, end).await.unwrap();
    let ok = contacts
        .iter()
        .filter(|c| c.outcome == "success" || c.outcome == "failure")
        .count() as u64;
    assert_eq!(ok, truth.totals.successes + truth.totals.failures);
    assert!(contacts
        .iter()
        .all(|c| c.dialed_at <= c.occurred_at && c.occurred_at < end));
    sim.shutdown().await;
}

#[tokio::test]
async fn general_settings_round_trip_and_validation() {
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let tok = token(&sim).await;
    let p = "/skills/1001/parameters/general-settings";
    let (s, _, _) = api(
        &sim,
        &tok,
        reqwest::Method::PUT,
        p,
        Some(json!({"generalSettings": {"maximumRatio": 2.2, "aggressiveness": "4"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = get(&sim, &tok, p).await;
    assert_eq!(v["maximumRatio"], 2.2);
    assert_eq!(v["aggressiveness"], "4");
    assert_eq!(v["maximumRingingDuration"], 20);
    let (s, e, _) = api(
        &sim,
        &tok,
        reqwest::Method::PUT,
        p,
        Some(json!({"generalSettings": {"maximumRatio": "fast"}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "InvalidParameter");
    let (s, _, _) = api(
        &sim,
        &tok,
        reqwest::Method::PUT,
        p,
        Some(json!({"generalSettings": {"maximumRingingDuration": 4}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = api(
        &sim,
        &tok,
        reqwest::Method::PUT,
        p,
        Some(json!({"maximumRatio": 2.0})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Malformed JSON is a 400, not a crash.
    let r = reqwest::Client::new()
        .put(format!("{}{V}{p}", sim.base_url()))
        .bearer_auth(&tok)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, v) = get(&sim, &tok, p).await;
    assert_eq!(v["maximumRatio"], 2.2);
    sim.shutdown().await;
}

#[tokio::test]
async fn schedule_quirk_and_time_zones() {
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let tok = token(&sim).await;
    let p = "/skills/1001/parameters/schedule-settings";
    let (s, e, _) = api(
        &sim,
        &tok,
        reqwest::Method::PUT,
        p,
        Some(json!({"scheduleSettings": {"sundayIsActive": false}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "InvalidParameter");
    let (s, _, _) = api(
        &sim,
        &tok,
        reqwest::Method::PUT,
        p,
        Some(json!({"scheduleSettings": {"mondayStartTime": "09:00", "mondayEndTime": "20:30"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = get(&sim, &tok, p).await;
    assert_eq!(v["mondayStartTime"], "09:00");
    assert_eq!(v["sundayIsActive"], true);

    let tz = "/skills/1001/parameters/time-zones";
    let body = json!({"timeZoneSettings": [{"standardName": "Eastern Standard Time", "startTime": "08:00", "endTime": "21:00", "timeZoneActiveToCall": true, "overrideTime": false}]});
    let (s, _, _) = api(&sim, &tok, reqwest::Method::PUT, tz, Some(body)).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = get(&sim, &tok, tz).await;
    assert_eq!(v["timeZoneSettings"][0]["name"], "Eastern Standard Time");
    sim.shutdown().await;
}

#[tokio::test]
async fn skills_lifecycle_dnc_and_lists() {
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let tok = token(&sim).await;
    let (s, v, _) = api(
        &sim,
        &tok,
        reqwest::Method::POST,
        "/skills/1001/stop?force=true",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let (_, v) = get(&sim, &tok, "/skills/1001").await;
    assert!(v.get("isRunning").is_none());
    let (s, _, _) = api(
        &sim,
        &tok,
        reqwest::Method::POST,
        "/skills/1001/start",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let body = json!({"skills": [{"skillName": "New Campaign", "mediaTypeId": 4, "isOutbound": true, "outboundStrategy": "Personal Connection", "campaignId": 9}]});
    let (s, v, _) = api(&sim, &tok, reqwest::Method::POST, "/skills", Some(body)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["errorCount"], 0);
    let (_, v) = get(&sim, &tok, "/skills?searchString=new%20camp").await;
    assert_eq!(v["skills"].as_array().unwrap().len(), 1);
    assert!(v["skills"][0]["skillId"].as_i64().is_some());

    let (_, v) = get(&sim, &tok, "/dnc-groups").await;
    assert_eq!(v["resultSet"]["dncGroups"][0]["dncGroupId"], 7001);
    let (_, v) = get(&sim, &tok, "/dnc-groups/7001/scrubbed-skills").await;
    assert_eq!(v["scrubbedSkills"][0]["skillId"], 1001);
    let (_, v, _) = api(
        &sim,
        &tok,
        reqwest::Method::POST,
        "/dnc-groups/search?phoneNumber=%2B16175550100",
        None,
    )
    .await;
    assert_eq!(v["searchResults"].as_array().unwrap().len(), 1);

    let (s, v, _) = api(
        &sim,
        &tok,
        reqwest::Method::POST,
        "/lists/call-lists?listName=L1&externalIdColumn=id",
        Some(json!({"destinationMappings": [{"fieldName": "PhoneNumber", "fieldValue": "phone"}]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let list = v["listId"].as_i64().unwrap();
    let csv =
        base64::engine::general_purpose::STANDARD.encode("id,phone\n1,6175550111\n2,6175550112\n");
    let (s, v, _) = api(&sim, &tok, reqwest::Method::POST, &format!("/lists/call-lists/{list}/upload"), Some(json!({"listFile": csv, "fileName": "a.csv", "skillId": 1001, "expirationDate": "2026-12-31", "startSkill": false}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let job = v["jobId"].as_str().unwrap().to_string();
    let (_, v) = get(&sim, &tok, &format!("/lists/call-lists/jobs/{job}")).await;
    assert_eq!(v["uploadJobs"][0]["isComplete"], true);
    sim.shutdown().await;
}

#[tokio::test]
async fn every_fault_kind_is_observable() {
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let admin = sim.admin();
    let tok = token(&sim).await;
    rate_limits_answer_429(&sim, &admin, &tok).await;
    server_errors_hit_matching_paths(&sim, &admin, &tok).await;
    slow_delays_the_answer(&sim, &admin, &tok).await;
    item_errors_fail_the_first_item(&sim, &admin, &tok).await;
    unauthorized_revokes_the_token(&sim, &admin, &tok).await;
    let tok = token_error_fails_the_token_endpoint(&sim, &admin).await;
    person_edit_changes_settings_after_a_read(&sim, &admin, &tok).await;
    admin_api_is_never_faulted_nor_logged(&admin).await;
    sim.shutdown().await;
}

/// A fault of `kind`, once, on its default paths and any method.
fn fault(kind: FaultKind) -> Fault {
    Fault {
        kind,
        count: None,
        path_contains: None,
        method: None,
    }
}

/// `rateLimit`: 429, with `Retry-After` only when given; then the next call passes.
async fn rate_limits_answer_429(sim: &SimHandle, admin: &AdminClient, tok: &str) {
    admin
        .set_faults(vec![
            fault(FaultKind::RateLimit {
                retry_after_seconds: Some(1),
            }),
            fault(FaultKind::RateLimit {
                retry_after_seconds: None,
            }),
        ])
        .await
        .unwrap();
    let (s, _, h) = api(sim, tok, reqwest::Method::GET, "/skills/1001", None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h.get("retry-after").unwrap(), "1");
    let (s, _, h) = api(sim, tok, reqwest::Method::GET, "/skills/1001", None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(h.get("retry-after").is_none());
    let (s, _) = get(sim, tok, "/skills/1001").await;
    assert_eq!(s, StatusCode::OK);
}

/// `serverError` with `pathContains` and `count`: only those paths, that many times.
async fn server_errors_hit_matching_paths(sim: &SimHandle, admin: &AdminClient, tok: &str) {
    admin
        .set_faults(vec![Fault {
            kind: FaultKind::ServerError { status: 502 },
            count: Some(2),
            path_contains: Some("/activity".into()),
            method: None,
        }])
        .await
        .unwrap();
    let (s, _) = get(sim, tok, "/skills/1001").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        get(sim, tok, "/skills/1001/activity").await.0,
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        get(sim, tok, "/skills/1001/activity").await.0,
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        get(sim, tok, "/skills/1001/activity").await.0,
        StatusCode::OK
    );
}

/// `slow`: the answer comes, after the delay.
async fn slow_delays_the_answer(sim: &SimHandle, admin: &AdminClient, tok: &str) {
    admin
        .set_faults(vec![fault(FaultKind::Slow { delay_ms: 300 })])
        .await
        .unwrap();
    let t0 = std::time::Instant::now();
    assert_eq!(get(sim, tok, "/skills/1001").await.0, StatusCode::OK);
    assert!(t0.elapsed() >= std::time::Duration::from_millis(300));
}

/// `itemErrors`: `POST /skills` answers 200 with its first item failed.
async fn item_errors_fail_the_first_item(sim: &SimHandle, admin: &AdminClient, tok: &str) {
    admin
        .set_faults(vec![fault(FaultKind::ItemErrors)])
        .await
        .unwrap();
    let body = json!({"skills": [{"skillName": "X1", "mediaTypeId": 4, "isOutbound": true, "outboundStrategy": "Personal Connection"}]});
    let (s, v, _) = api(sim, tok, reqwest::Method::POST, "/skills", Some(body)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["errorCount"], 1);
    assert_eq!(v["skillsResults"][0]["success"], false);
}

/// `unauthorized`: 401 and the token stays revoked; a fresh token works.
async fn unauthorized_revokes_the_token(sim: &SimHandle, admin: &AdminClient, tok: &str) {
    admin
        .set_faults(vec![fault(FaultKind::Unauthorized)])
        .await
        .unwrap();
    assert_eq!(
        get(sim, tok, "/skills/1001").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(sim, tok, "/skills/1001").await.0,
        StatusCode::UNAUTHORIZED,
        "token was revoked"
    );
    let tok = token(sim).await;
    assert_eq!(get(sim, &tok, "/skills/1001").await.0, StatusCode::OK);
}

/// `tokenError`: the token endpoint answers 401 once; returns a fresh token.
async fn token_error_fails_the_token_endpoint(sim: &SimHandle, admin: &AdminClient) -> String {
    admin
        .set_faults(vec![fault(FaultKind::TokenError)])
        .await
        .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/auth/token", sim.base_url()))
        .basic_auth("test-client", Some("test-client-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", "test-ak"),
            ("password", "test-aks"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    token(sim).await
}

/// `personEdit`: the read that triggers the edit sees the old value, the next the new one.
async fn person_edit_changes_settings_after_a_read(
    sim: &SimHandle,
    admin: &AdminClient,
    tok: &str,
) {
    let mut fields = serde_json::Map::new();
    fields.insert("maximumRatio".into(), json!(2.2));
    admin
        .set_faults(vec![fault(FaultKind::PersonEdit {
            skill_id: 1001,
            fields,
            after_reads: 1,
        })])
        .await
        .unwrap();
    let p = "/skills/1001/parameters/general-settings";
    let (_, v) = get(sim, tok, p).await;
    assert_eq!(
        v["maximumRatio"], 1.0,
        "the read that triggers the edit sees the old value"
    );
    let (_, v) = get(sim, tok, p).await;
    assert_eq!(v["maximumRatio"], 2.2);
}

/// Faults never touch the admin API; the request log holds non-admin calls only.
async fn admin_api_is_never_faulted_nor_logged(admin: &AdminClient) {
    let log = admin.requests().await.unwrap();
    assert!(log.iter().all(|r| !r.path.starts_with("/admin")));
    assert!(log.iter().any(|r| r.status == 429));
    assert!(log
        .iter()
        .any(|r| r.status == 502 && r.path.ends_with("/activity")));
    admin.clear_requests().await.unwrap();
    assert!(admin.requests().await.unwrap().is_empty());
    let state = admin.skill_state(1001).await.unwrap();
    assert_eq!(state["generalSettings"]["maximumRatio"], 2.2);
}

#[tokio::test]
async fn same_seed_same_truth() {
    async fn run() -> cxone_sim::Truth {
        let mut sc = Scenario::small_test();
        sc.skills[0]
            .general_settings
            .insert("maximumRatio".into(), json!(2.0));
        let sim = spawn(sc).await.unwrap();
        let admin = sim.admin();
        let start = admin.clock().await.unwrap();
        admin.advance_seconds(90.5).await.unwrap();
        admin.advance_seconds(600.0).await.unwrap();
        admin
            .advance_to(start + Duration::minutes(30))
            .await
            .unwrap();
        let t = admin
            .truth(1001, start, start + Duration::minutes(30))
            .await
            .unwrap();
        sim.shutdown().await;
        t
    }
    let a = run().await;
    let b = run().await;
    assert_eq!(a, b);
    assert!(a.totals.dials > 0);
    assert!(a.intervals.iter().all(|i| i.maximum_ratio == 2.0));
}

#[tokio::test]
async fn demo_day_scenario_loads_and_runs() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/demo-day.json");
    let sc = Scenario::from_file(path).unwrap();
    let sim = spawn(sc).await.unwrap();
    let admin = sim.admin();
    let start = admin.clock().await.unwrap();
    admin.advance_seconds(4.0 * 3600.0).await.unwrap();
    let t = admin
        .truth(4101, start, start + Duration::hours(4))
        .await
        .unwrap();
    assert!(t.totals.connects > 100);
    assert_eq!(t.totals.abandons, 0);
    assert_eq!(t.totals.dials_outside_legal_hours, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn tokens_expire_in_real_time() {
    let mut sc = Scenario::small_test();
    sc.token_lifetime_seconds = 1;
    let sim = spawn(sc).await.unwrap();
    let tok = token(&sim).await;
    assert_eq!(get(&sim, &tok, "/skills/1001").await.0, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        get(&sim, &tok, "/skills/1001").await.0,
        StatusCode::UNAUTHORIZED
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn dialling_follows_running_and_schedule() {
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let admin = sim.admin();
    let tok = token(&sim).await;
    let start = admin.clock().await.unwrap(); // 10:00 New York
                                              // Stopped: no dials once stopped (calls in progress finish).
    let (s, _, _) = api(&sim, &tok, reqwest::Method::POST, "/skills/1001/stop", None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    admin.advance_seconds(600.0).await.unwrap();
    // The lines opened at the start instant (the skill was running then) land in the first minute.
    let t = admin
        .truth(
            1001,
            start + Duration::minutes(1),
            start + Duration::minutes(10),
        )
        .await
        .unwrap();
    assert_eq!(t.totals.dials, 0);
    api(
        &sim,
        &tok,
        reqwest::Method::POST,
        "/skills/1001/start",
        None,
    )
    .await;
    // Run through 21:00 local: nothing is dialled after the schedule closes.
    admin.advance_to(start + Duration::hours(12)).await.unwrap();
    let day = admin
        .truth(1001, start, start + Duration::hours(12))
        .await
        .unwrap();
    assert!(day.totals.dials > 0);
    assert_eq!(day.totals.dials_outside_legal_hours, 0);
    let late = admin
        .truth(
            1001,
            start + Duration::hours(11) + Duration::minutes(1),
            start + Duration::hours(12),
        )
        .await
        .unwrap();
    assert_eq!(
        late.totals.dials, 0,
        "21:01 onwards is outside the 08:00-21:00 schedule"
    );
    // Skill 1002 never runs.
    assert_eq!(
        admin
            .truth(1002, start, start + Duration::hours(12))
            .await
            .unwrap()
            .totals
            .dials,
        0
    );
    // Agent states changed since the last poll carry later update times.
    let (_, v) = get(&sim, &tok, "/agents/states").await;
    let poll = v["lastPollTime"].as_str().unwrap().to_string();
    let (_, none) = get(
        &sim,
        &tok,
        &format!("/agents/states?updatedSince={}", poll.replace('+', "%2B")),
    )
    .await;
    assert_eq!(none["totalRecords"], "0");
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let sim = spawn(Scenario::small_test()).await.unwrap();
    let tok = token(&sim).await;
    for (path, want) in [
        ("/skills/abc", StatusCode::BAD_REQUEST),
        ("/no-such-thing", StatusCode::NOT_FOUND),
        (
            "/skills/1001/summary?startDate=yesterday&endDate=today",
            StatusCode::BAD_REQUEST,
        ),
        ("/skills/1001/summary", StatusCode::BAD_REQUEST),
    ] {
        let (s, v) = get(&sim, &tok, path).await;
        assert_eq!(s, want, "{path}");
        assert!(v["error"].is_string(), "{path}: {v}");
    }
    let r = reqwest::Client::new()
        .get(format!(
            "{}/inContactAPI/services/latest/skills/1001",
            sim.base_url()
        ))
        .bearer_auth(&tok)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (s, v, _) = api(&sim, &tok, reqwest::Method::DELETE, "/skills/1001", None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{v}");
    let (s, _, _) = api(
        &sim,
        &tok,
        reqwest::Method::POST,
        "/skills",
        Some(json!({"skills": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{}/admin/clock/advance", sim.base_url()))
        .json(&json!({"seconds": -5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .get(format!("{}/admin/truth?skillId=424242", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c
        .post(format!("{}/auth/token", sim.base_url()))
        .body("%%%")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    sim.shutdown().await;
}
