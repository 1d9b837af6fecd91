//! `POST /campaigns/{skillId}/contacts` end to end: API Gateway events into
//! campaign-api, the CXone simulator for DNC searches and calling lists,
//! moto for the webhook's per-number counters, the upload records,
//! idempotency and the audit trail's consent evidence.

use std::time::Duration;

use campaign_api::Api;
use cxone_sim::{Fault, Scenario};
use e2e_tests::{http_event, TestStack};
use lambda_http::Body;
use serde_json::{json, Value};
use shared::deadline::Deadline;
use shared::store::events::EventStore;

/// Tuesday 2026-03-03 10:00 in New York.
const TUESDAY: &str = "2026-03-03T15:00:00Z";
/// Sunday 2026-03-08 12:00 in Chicago (Mississippi bans Sunday calls).
const SUNDAY: &str = "2026-03-08T18:00:00Z";
/// Monday 2026-03-09 00:30 in Chicago.
const MONDAY: &str = "2026-03-09T05:30:00Z";
/// On the simulator's DNC list.
const DNC_NUMBER: &str = "+16172531099";

struct Answer {
    status: u16,
    body: Value,
    replayed: bool,
}

fn scenario() -> Scenario {
    let mut s = Scenario::small_test();
    s.start = TUESDAY.parse().unwrap();
    s.dnc_groups[0].phone_numbers.push("6172531099".into());
    s
}

async fn configure(stack: &TestStack) {
    let body = json!({
        "enabled": false, "timeZone": "America/New_York",
        "recipientTimeZones": ["America/New_York", "America/Chicago"],
        "recipientStates": ["FL", "MS", "OK"],
        "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}
    });
    stack.put_config(1001, &body.to_string()).await;
}

async fn setup() -> (TestStack, Api) {
    let stack = TestStack::start(scenario()).await;
    configure(&stack).await;
    let api = Api::new(&stack.deps());
    (stack, api)
}

/// A contact with express written consent, in `state`.
fn contact(id: &str, phone: &str, state: &str) -> Value {
    json!({"externalId": id, "phoneNumber": phone, "consentType": "express_written",
           "consentSource": "web form 2026-01", "consentAt": "2026-01-10T12:00:00Z", "state": state})
}

async fn upload(api: &Api, body: &str, content_type: &str, at: &str, key: Option<&str>) -> Answer {
    let time: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
    let mut event = http_event(
        "POST",
        "/campaigns/{skillId}/contacts",
        "/campaigns/1001/contacts",
        Some("1001"),
        Some(body),
        time.timestamp_millis(),
    );
    event["headers"]["content-type"] = json!(content_type);
    if let Some(key) = key {
        event["headers"]["idempotency-key"] = json!(key);
    }
    let request = lambda_http::request::from_str(&event.to_string()).expect("event");
    let response = api
        .handle(request, Deadline::after(Duration::from_secs(60)))
        .await;
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(json!({"text": t})),
        _ => Value::Null,
    };
    Answer {
        status,
        body,
        replayed,
    }
}

async fn upload_json(api: &Api, contacts: &[Value], at: &str, key: &str) -> Answer {
    let body = json!({ "contacts": contacts }).to_string();
    upload(api, &body, "application/json", at, Some(key)).await
}

/// Every data row the simulator loaded into any list.
async fn uploaded_rows(stack: &TestStack) -> Vec<String> {
    stack
        .sim
        .admin()
        .lists()
        .await
        .unwrap()
        .iter()
        .flat_map(|l| {
            l["uploadedRows"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
        })
        .collect()
}

fn uploaded_numbers(rows: &[String]) -> Vec<String> {
    let mut numbers: Vec<String> = rows
        .iter()
        .filter_map(|r| r.split(',').find(|f| f.starts_with('+')).map(str::to_owned))
        .collect();
    numbers.sort();
    numbers
}

fn reasons(answer: &Answer) -> Vec<(i64, String)> {
    answer.body["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_i64().unwrap(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Records `n` completed calls to `phone` at `at` through the webhook store.
async fn calls(stack: &TestStack, phone: &str, n: usize, at: &str, tag: &str) {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            json!({"eventId": format!("{tag}-{i}"), "type": "contact.completed", "occurredAt": at,
                   "skillId": 1001, "data": {"contactId": format!("{tag}-{i}"), "outcome": "no_answer",
                   "talkSeconds": 0, "wrapSeconds": 0, "phoneNumber": phone}})
        })
        .collect();
    let body = json!({ "events": events }).to_string();
    let parsed = shared::webhook::event::parse_body(body.as_bytes()).unwrap();
    EventStore::new(stack.dynamo.clone(), stack.tables.state.clone())
        .record(&parsed, at.parse().unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_mixed_upload_rejects_every_reason_and_uploads_only_the_rest() {
    let (stack, api) = setup().await;
    calls(&stack, "+13055550123", 3, "2026-03-03T09:00:00Z", "fl").await;
    let mut no_id = contact("", "6172531001", "NY");
    no_id["externalId"] = Value::Null;
    let mut no_consent = contact("C5", "6172531005", "NY");
    no_consent["consentType"] = Value::Null;
    let mut expired = contact("C6", "6172531006", "NY");
    expired["consentType"] = json!("ebr");
    expired["relationshipDate"] = json!("2024-06-01");
    let mut ebr = contact("C7", "6172531007", "NY");
    ebr["consentType"] = json!("ebr");
    ebr["relationshipDate"] = json!("2026-01-01");
    let mut far = contact("C8", "6172531008", "CA");
    far["timeZone"] = json!("America/Los_Angeles");
    let contacts = vec![
        contact("C1", "(617) 253-1000", "NY"),   // 1 accepted
        no_id,                                   // 2 invalid_row
        contact("C3", "+44 20 7183 8750", "NY"), // 3 invalid_number
        contact("C4", "617.253.1000", "NY"),     // 4 duplicate of 1
        no_consent,                              // 5 consent_missing
        expired,                                 // 6 consent_expired
        ebr,                                     // 7 consent_insufficient
        far,                                     // 8 outside_campaign_area
        contact("C9", DNC_NUMBER, "NY"),         // 9 dnc_listed
        contact("C10", "+1 305 555 0123", "FL"), // 10 attempts_exhausted
        contact("C11", "+1 305 555 0124", "FL"), // 11 accepted
    ];
    let answer = upload_json(&api, &contacts, TUESDAY, "mixed-1").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["received"], 11);
    assert_eq!(answer.body["accepted"], 2);
    assert_eq!(answer.body["rejected"], 9);
    let expected: Vec<(i64, String)> = [
        (2, "invalid_row"),
        (3, "invalid_number"),
        (4, "duplicate"),
        (5, "consent_missing"),
        (6, "consent_expired"),
        (7, "consent_insufficient"),
        (8, "outside_campaign_area"),
        (9, "dnc_listed"),
        (10, "attempts_exhausted"),
    ]
    .into_iter()
    .map(|(r, s)| (r, s.to_owned()))
    .collect();
    assert_eq!(reasons(&answer), expected);
    for (code, n) in answer.body["rejectedByReason"].as_object().unwrap() {
        assert_eq!(n, 1, "{code}");
    }
    for r in answer.body["rejections"].as_array().unwrap() {
        assert!(!r["message"].as_str().unwrap().is_empty());
    }
    assert!(answer.body["jobId"].is_string());
    assert_eq!(
        uploaded_numbers(&uploaded_rows(&stack).await),
        vec!["+13055550124", "+16172531000"]
    );

    // The consent evidence of the accepted numbers is in the audit trail.
    let audit = stack.deps().audit().all_for(1001).await.unwrap();
    let evidence: Vec<&Value> = audit
        .iter()
        .filter(|r| r.action.starts_with("contacts.evidence."))
        .flat_map(|r| r.details["items"].as_array().unwrap().iter())
        .collect();
    assert_eq!(evidence.len(), 2);
    let first = evidence
        .iter()
        .find(|e| e["phoneNumber"] == "+16172531000")
        .unwrap();
    assert_eq!(first["consent"]["type"], "express_written");
    assert_eq!(first["consent"]["source"], "web form 2026-01");
    let chunk = audit
        .iter()
        .find(|r| r.action.starts_with("contacts.evidence."))
        .unwrap();
    assert_eq!(chunk.details["dncGroups"][0]["dncGroupId"], 7001);
    assert!(audit.iter().any(|r| r.action == "contacts.upload"));
    assert!(audit
        .iter()
        .any(|r| r.action.starts_with("contacts.rejected.")));
}

#[tokio::test]
async fn a_state_that_bans_calls_today_rejects_its_contacts() {
    let (stack, api) = setup().await;
    let mut chicago = contact("C2", "6172531002", "IL");
    chicago["timeZone"] = json!("America/Chicago");
    let answer = upload_json(
        &api,
        &[contact("C1", "6172531001", "MS"), chicago],
        SUNDAY,
        "sunday-1",
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        reasons(&answer),
        vec![(1, "state_forbids_today".to_owned())]
    );
    assert!(answer.body["rejections"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Sunday"));
    assert_eq!(
        uploaded_numbers(&uploaded_rows(&stack).await),
        vec!["+16172531002"]
    );
}

#[tokio::test]
async fn three_calls_in_24_hours_exhaust_florida_and_oklahoma_but_older_calls_do_not_count() {
    let (stack, api) = setup().await;
    calls(
        &stack,
        "+13055550100",
        3,
        "2026-03-02T16:00:00Z",
        "fl-recent",
    )
    .await; // 23 h before
    calls(&stack, "+13055550101", 3, "2026-03-02T14:00:00Z", "fl-old").await; // 25 h before
    calls(&stack, "+13055550102", 2, "2026-03-03T14:00:00Z", "fl-two").await;
    calls(
        &stack,
        "+14055550100",
        3,
        "2026-03-03T12:00:00Z",
        "ok-three",
    )
    .await;
    calls(&stack, "+16172531003", 5, "2026-03-03T12:00:00Z", "ny-five").await; // no cap in NY
    let answer = upload_json(
        &api,
        &[
            contact("F1", "+13055550100", "FL"),
            contact("F2", "+13055550101", "FL"),
            contact("F3", "+13055550102", "FL"),
            contact("O1", "+14055550100", "OK"),
            contact("N1", "+16172531003", "NY"),
        ],
        TUESDAY,
        "caps-1",
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        reasons(&answer),
        vec![
            (1, "attempts_exhausted".to_owned()),
            (4, "attempts_exhausted".to_owned())
        ]
    );
    assert!(answer.body["rejections"][0]["message"]
        .as_str()
        .unwrap()
        .contains("allows 3"));
    assert_eq!(
        uploaded_numbers(&uploaded_rows(&stack).await),
        vec!["+13055550101", "+13055550102", "+16172531003"]
    );
}

#[tokio::test]
async fn csv_with_a_byte_order_mark_and_quoted_fields() {
    let (stack, api) = setup().await;
    let csv = "\u{feff}externalId,phoneNumber,consentType,consentSource,consentAt,relationshipDate,state,timeZone\r\n\
               \"ACME, Inc. #1\",\"(617) 253-1000\",express_written,\"signed form \"\"B-7\"\"\",2026-01-10,,NY,\r\n\
               \"ACME, Inc. #2\",\"617-253-1099\",express_written,web,2026-01-10,,NY,America/New_York\r\n\
               plain,6172531004,,web,2026-01-10,,NY,\r\n";
    let answer = upload(&api, csv, "text/csv; charset=utf-8", TUESDAY, Some("csv-1")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["accepted"], 1);
    assert_eq!(
        reasons(&answer),
        vec![
            (2, "dnc_listed".to_owned()),
            (3, "consent_missing".to_owned())
        ]
    );
    let rows = uploaded_rows(&stack).await;
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].starts_with("\"ACME, Inc. #1\",+16172531000,NY"),
        "{rows:?}"
    );

    // A CSV without a required column is a 400.
    let bad = upload(
        &api,
        "externalId,phoneNumber\nA,6172531000\n",
        "text/csv",
        TUESDAY,
        Some("csv-2"),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}

#[tokio::test]
async fn a_replay_with_the_same_key_uploads_nothing_twice() {
    let (stack, api) = setup().await;
    let contacts = [
        contact("R1", "6172531001", "NY"),
        contact("R2", "6172531002", "NY"),
    ];
    let first = upload_json(&api, &contacts, TUESDAY, "replay-1").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = upload_json(&api, &contacts, TUESDAY, "replay-1").await;
    assert_eq!(again.status, 200);
    assert!(again.replayed);
    assert_eq!(again.body, first.body);
    assert_eq!(uploaded_rows(&stack).await.len(), 2);
    assert_eq!(stack.sim.admin().lists().await.unwrap().len(), 1);
    // The same key with other contacts is refused.
    let other = upload_json(&api, &contacts[..1], TUESDAY, "replay-1").await;
    assert_eq!(other.status, 422, "{}", other.body);
    // No key: 400.
    let body = json!({"contacts": contacts}).to_string();
    assert_eq!(
        upload(&api, &body, "application/json", TUESDAY, None)
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn a_failed_cxone_job_is_502_and_the_retry_uploads_the_same_accepted_contacts_only() {
    let (stack, api) = setup().await;
    let fault: Fault = serde_json::from_value(json!({"kind": "uploadJobFails"})).unwrap();
    stack.sim.admin().set_faults(vec![fault]).await.unwrap();
    // Sunday in Mississippi: rejected. The retry comes on Monday, when a new
    // screening would accept it: it must still never be uploaded.
    let contacts = [
        contact("J1", "6172531001", "NY"),
        contact("J2", "6172531002", "MS"),
    ];
    let failed = upload_json(&api, &contacts, SUNDAY, "job-1").await;
    assert_eq!(failed.status, 502, "{}", failed.body);
    assert!(failed.body["message"]
        .as_str()
        .unwrap()
        .contains("cancelled"));
    assert!(uploaded_rows(&stack).await.is_empty());

    let retried = upload_json(&api, &contacts, MONDAY, "job-1").await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert!(!retried.replayed);
    assert_eq!(retried.body["accepted"], 1);
    assert_eq!(
        reasons(&retried),
        vec![(2, "state_forbids_today".to_owned())]
    );
    assert_eq!(
        uploaded_numbers(&uploaded_rows(&stack).await),
        vec!["+16172531001"]
    );
    assert_eq!(
        stack.sim.admin().lists().await.unwrap().len(),
        1,
        "the list is reused"
    );
}

#[tokio::test]
async fn dnc_searches_honour_429_and_a_persistent_429_uploads_nothing() {
    let (stack, api) = setup().await;
    let fault: Fault = serde_json::from_value(json!({"kind": "rateLimit", "retryAfterSeconds": 1,
        "count": 2, "pathContains": "dnc-groups/search"}))
    .unwrap();
    stack.sim.admin().set_faults(vec![fault]).await.unwrap();
    let contacts = [
        contact("D1", "6172531001", "NY"),
        contact("D2", DNC_NUMBER, "NY"),
    ];
    let answer = upload_json(&api, &contacts, TUESDAY, "dnc-1").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(reasons(&answer), vec![(2, "dnc_listed".to_owned())]);
    let throttled = stack
        .sim
        .admin()
        .requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.path.ends_with("dnc-groups/search") && r.status == 429)
        .count();
    assert_eq!(throttled, 2);

    let fault: Fault = serde_json::from_value(json!({"kind": "rateLimit", "retryAfterSeconds": 0,
        "count": 1000, "pathContains": "dnc-groups/search"}))
    .unwrap();
    stack.sim.admin().set_faults(vec![fault]).await.unwrap();
    let rows_before = uploaded_rows(&stack).await.len();
    let contacts = [contact("E1", "6172531005", "NY")];
    let answer = upload_json(&api, &contacts, TUESDAY, "dnc-2").await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert!(answer.body["message"]
        .as_str()
        .unwrap()
        .contains("nothing was uploaded"));
    assert_eq!(uploaded_rows(&stack).await.len(), rows_before);
}

#[tokio::test]
async fn a_body_over_10_mb_is_413_and_an_unknown_campaign_404() {
    let (_stack, api) = setup().await;
    let big = "x".repeat(10 * 1024 * 1024 + 1);
    assert_eq!(
        upload(&api, &big, "text/csv", TUESDAY, Some("big"))
            .await
            .status,
        413
    );
    let time: chrono::DateTime<chrono::Utc> = TUESDAY.parse().unwrap();
    let body = json!({"contacts": [contact("U1", "6172531001", "NY")]}).to_string();
    let mut event = http_event(
        "POST",
        "/campaigns/{skillId}/contacts",
        "/campaigns/4242/contacts",
        Some("4242"),
        Some(&body),
        time.timestamp_millis(),
    );
    event["headers"]["idempotency-key"] = json!("unknown-1");
    let request = lambda_http::request::from_str(&event.to_string()).expect("event");
    let response = api
        .handle(request, Deadline::after(Duration::from_secs(20)))
        .await;
    assert_eq!(response.status().as_u16(), 404);
}
