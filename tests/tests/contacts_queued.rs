//! Large contact uploads end to end: `POST /campaigns/{skillId}/contacts`
//! above the inline limit answers 202, the rows wait in the state table, a
//! FIFO queue in moto carries the steps, and the `contact-intake` handler
//! (driven here as Lambda's SQS event source would: receive, invoke, delete
//! what succeeded) checks slice after slice against the CXone simulator and
//! loads the accepted contacts once.

use std::time::Duration;

use campaign_api::contacts::INLINE_LIMIT;
use campaign_api::Api;
use cxone_sim::{Fault, Scenario};
use e2e_tests::queue::Queue;
use e2e_tests::{http_event, TestStack};
use lambda_http::Body;
use serde_json::{json, Value};
use shared::deadline::Deadline;
use shared::store::intake::key_id;

/// Tuesday 2026-03-03 10:00 in New York.
const TUESDAY: &str = "2026-03-03T15:00:00Z";
/// On the simulator's DNC list.
const DNC_NUMBER: &str = "+16172531099";

async fn setup() -> (TestStack, Api, Queue) {
    e2e_tests::show_logs_on_failure();
    let mut scenario = Scenario::small_test();
    scenario.start = TUESDAY.parse().unwrap();
    scenario.dnc_groups[0]
        .phone_numbers
        .push("6172531099".into());
    let stack = TestStack::start(scenario).await;
    let body = json!({
        "enabled": false, "timeZone": "America/New_York",
        "recipientTimeZones": ["America/New_York"], "recipientStates": ["NY"],
        "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}
    });
    stack.put_config(1001, &body.to_string()).await;
    let queue = Queue::create(&stack).await;
    let api = Api::new(&stack.deps()).with_intake_queue(Some(queue.intake()));
    (stack, api, queue)
}

/// `n` contacts with consent, numbers 617-253-0000 upwards (one of them on
/// the DNC list), plus a duplicate and a row without consent at the end.
fn csv_of(n: usize) -> String {
    let mut csv =
        String::from("\u{feff}externalId,phoneNumber,consentType,consentSource,consentAt,state\n");
    for i in 0..n {
        csv.push_str(&format!(
            "Q{i},+1617253{i:04},express_written,\"web form, 2026\",2026-01-10T12:00:00Z,NY\n"
        ));
    }
    csv.push_str("DUP,+16172530000,express_written,web,2026-01-10T12:00:00Z,NY\n");
    csv.push_str("NOC,+16172539999,,web,2026-01-10T12:00:00Z,NY\n");
    csv
}

async fn call(
    api: &Api,
    method: &str,
    route: &str,
    path: &str,
    body: Option<&str>,
    key: Option<&str>,
) -> (u16, Value, bool) {
    let time: chrono::DateTime<chrono::Utc> = TUESDAY.parse().unwrap();
    let mut event = http_event(
        method,
        route,
        path,
        Some("1001"),
        body,
        time.timestamp_millis(),
    );
    event["headers"]["content-type"] = json!("text/csv");
    if let Some(key) = key {
        event["headers"]["idempotency-key"] = json!(key);
    }
    let request = lambda_http::request::from_str(&event.to_string()).expect("event");
    let response = api
        .handle(request, Deadline::after(Duration::from_secs(25)))
        .await;
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(json!({"text": t})),
        _ => Value::Null,
    };
    (status, body, replayed)
}

async fn post(api: &Api, csv: &str, key: &str) -> (u16, Value, bool) {
    call(
        api,
        "POST",
        "/campaigns/{skillId}/contacts",
        "/campaigns/1001/contacts",
        Some(csv),
        Some(key),
    )
    .await
}

async fn status(api: &Api, upload_id: &str) -> (u16, Value) {
    let path = format!("/campaigns/1001/contacts/uploads/{upload_id}");
    let (status, body, _) = call(
        api,
        "GET",
        "/campaigns/{skillId}/contacts/uploads/{uploadId}",
        &path,
        None,
        None,
    )
    .await;
    (status, body)
}

/// Numbers the simulator loaded into any list.
async fn uploaded_numbers(stack: &TestStack) -> Vec<String> {
    let mut numbers: Vec<String> = stack
        .sim
        .admin()
        .lists()
        .await
        .unwrap()
        .iter()
        .flat_map(|l| l["uploadedRows"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| {
            r.as_str()
                .and_then(|r| r.split(',').find(|f| f.starts_with('+')).map(str::to_owned))
        })
        .collect();
    numbers.sort();
    numbers
}

/// Fails with the failures and the upload's status (its `lastError`) when
/// the worker reported the step as failed.
async fn assert_step_succeeded(
    api: &Api,
    upload_id: &str,
    response: &aws_lambda_events::event::sqs::SqsBatchResponse,
) {
    if !response.batch_item_failures.is_empty() {
        panic!(
            "the step failed: {:?}; upload: {}",
            response.batch_item_failures,
            status(api, upload_id).await.1
        );
    }
}

#[tokio::test]
async fn a_large_upload_is_queued_checked_in_slices_and_loaded_once() {
    let (stack, api, queue) = setup().await;
    let n = INLINE_LIMIT + 600;
    let csv = csv_of(n);
    let (code, accepted, _) = post(&api, &csv, "big-1").await;
    assert_eq!(code, 202, "{accepted}");
    assert_eq!(accepted["status"], "screening");
    assert_eq!(accepted["received"], n + 2);
    assert_eq!(accepted["rejectedByReason"]["duplicate"], 1);
    assert_eq!(accepted["rejectedByReason"]["consent_missing"], 1);
    let upload_id = accepted["uploadId"].as_str().unwrap().to_owned();
    assert_eq!(
        accepted["statusUrl"],
        format!("/campaigns/1001/contacts/uploads/{upload_id}")
    );
    let slices = accepted["checked"]["slices"].as_u64().unwrap();
    assert!(slices >= 2, "{accepted}");
    assert!(uploaded_numbers(&stack).await.is_empty());

    // The same request again: the stored 202, nothing queued twice.
    let (code, again, replayed) = post(&api, &csv, "big-1").await;
    assert_eq!((code, replayed), (202, true), "{again}");

    // A worker short of time checks nothing and hands on to the next message.
    let (handled, response) = queue.work(&api, Duration::from_secs(8)).await;
    assert_eq!(handled, 1);
    assert_step_succeeded(&api, &upload_id, &response).await;
    let (_, mid) = status(&api, &upload_id).await;
    assert_eq!(mid["status"], "screening");
    assert_eq!(mid["checked"]["slicesDone"], 0);

    // The next one has time for everything.
    let (handled, response) = queue.work(&api, Duration::from_secs(300)).await;
    assert_eq!(handled, 1);
    assert_step_succeeded(&api, &upload_id, &response).await;
    let (code, done) = status(&api, &upload_id).await;
    assert_eq!(code, 200, "{done}");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["checked"]["slicesDone"], slices);
    assert_eq!(done["received"], n + 2);
    assert_eq!(done["accepted"], n - 1, "all but the DNC-listed number");
    assert_eq!(done["rejected"], 3);
    assert_eq!(done["rejectedByReason"]["dnc_listed"], 1);
    let rows: Vec<i64> = done["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row"].as_i64().unwrap())
        .collect();
    assert_eq!(rows, vec![1100, n as i64 + 1, n as i64 + 2], "in row order");
    assert!(done["jobId"].is_string());

    let numbers = uploaded_numbers(&stack).await;
    assert_eq!(numbers.len(), n - 1);
    assert!(!numbers.contains(&DNC_NUMBER.to_owned()));
    assert!(!numbers.contains(&"+16172539999".to_owned()));
    assert_eq!(stack.sim.admin().lists().await.unwrap().len(), 1);

    // Nothing left to do, the stored rows are gone, and a stray message
    // (a redelivery) writes nothing.
    let (handled, _) = queue.work(&api, Duration::from_secs(60)).await;
    assert_eq!(handled, 0);
    let intake = api.intake_store();
    let id = key_id("big-1");
    assert!(intake
        .get_pending_rows(1001, &id, 1)
        .await
        .unwrap()
        .is_none());
    let message = campaign_api::contact_queue::ContinueUpload {
        skill_id: 1001,
        key_id: id.clone(),
    };
    let progress = api
        .continue_upload(&intake, &message, &Deadline::after(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(progress, campaign_api::contact_queue::Progress::Done);
    assert_eq!(uploaded_numbers(&stack).await.len(), n - 1);

    // The consent evidence of every accepted contact is in the audit trail.
    let at = TUESDAY.parse().unwrap();
    let evidence = intake
        .read_chunks(1001, at, &upload_id, "contacts.evidence")
        .await
        .unwrap();
    assert_eq!(evidence.len(), n - 1);
    let unknown = status(&api, "upload-0000000000000000").await;
    assert_eq!(unknown.0, 404);
}

#[tokio::test]
async fn a_worker_that_meets_a_cxone_outage_records_it_and_the_retry_finishes() {
    let (stack, api, queue) = setup().await;
    let n = INLINE_LIMIT + 10;
    let (code, accepted, _) = post(&api, &csv_of(n), "outage-1").await;
    assert_eq!(code, 202, "{accepted}");
    let upload_id = accepted["uploadId"].as_str().unwrap().to_owned();

    let fault: Fault = serde_json::from_value(json!({"kind": "rateLimit", "retryAfterSeconds": 0,
        "count": 100000, "pathContains": "dnc-groups/search"}))
    .unwrap();
    stack.sim.admin().set_faults(vec![fault]).await.unwrap();
    let (handled, response) = queue.work(&api, Duration::from_secs(120)).await;
    assert_eq!(handled, 1);
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "the message is retried"
    );
    let (_, failed) = status(&api, &upload_id).await;
    assert_eq!(failed["status"], "screening");
    assert!(
        failed["lastError"].as_str().unwrap().starts_with("429"),
        "{failed}"
    );
    assert!(uploaded_numbers(&stack).await.is_empty());

    // The retry delay is a minute; let it pass, with CXone back.
    stack.sim.admin().clear_faults().await.unwrap();
    queue.expire_delays().await;
    let (handled, response) = queue.work(&api, Duration::from_secs(300)).await;
    assert_eq!(handled, 1);
    assert_step_succeeded(&api, &upload_id, &response).await;
    let (_, done) = status(&api, &upload_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["lastError"].is_null());
    assert_eq!(uploaded_numbers(&stack).await.len(), n - 1);
}
