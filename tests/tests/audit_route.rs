//! `GET /campaigns/{skillId}/audit` end to end: API Gateway events into
//! campaign-api, moto as DynamoDB. Paging with the cursor, the kind filter,
//! every 400 and the 404 of an unknown campaign.

use std::collections::BTreeSet;
use std::time::Duration;

use campaign_api::Api;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use cxone_sim::Scenario;
use e2e_tests::{http_event, TestStack};
use lambda_http::Body;
use serde_json::{json, Value};
use shared::deadline::Deadline;
use shared::store::audit::AuditRecord;

/// The request time of every call (Tuesday 10:00 in New York).
const NOW: &str = "2026-03-03T15:00:00Z";

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// 12 records over the morning: a tuning decision every 10 minutes from
/// 08:10 local (13:10Z) and a guard and a failover record among them.
async fn seed(stack: &TestStack) -> Vec<AuditRecord> {
    stack.put_config(1001, &e2e_tests::config_body(None)).await;
    let audit = stack.deps().audit();
    let mut records = Vec::new();
    for i in 0..12 {
        let action = match i {
            3 => "guard.stop",
            7 => "failover.start",
            _ => "pacing.tune",
        };
        let record = AuditRecord {
            skill_id: 1001,
            at: at("2026-03-03T13:10:00Z") + ChronoDuration::minutes(10 * i),
            actor: "capacity-tuner".into(),
            action: action.into(),
            before: json!({"maximumRatio": 1.0}),
            after: json!({"maximumRatio": 1.2}),
            why: format!("record {i}"),
            outcome: "written".into(),
            request_id: format!("evt-{i}"),
            details: json!({"decision": {"maximumRatio": 1.2}}),
        };
        audit.append(&record).await.unwrap();
        records.push(record);
    }
    // Another campaign's record never shows.
    let mut other = records[0].clone();
    other.skill_id = 1002;
    audit.append(&other).await.unwrap();
    records.reverse(); // newest first, as the route answers
    records
}

async fn get(api: &Api, path: &str, query: &str) -> (u16, Value) {
    let mut event = http_event("GET", path, path, None, None, at(NOW).timestamp_millis());
    event["rawQueryString"] = json!(query);
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = api
        .handle(request, Deadline::after(Duration::from_secs(20)))
        .await;
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    (response.status().as_u16(), body)
}

fn why(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["why"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pages_newest_first_through_the_cursor() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let seeded = seed(&stack).await;
    let api = Api::new(&stack.deps());
    let all: Vec<String> = seeded.iter().map(|r| r.why.clone()).collect();

    // Defaults: the last 24 h, up to 50.
    let (status, body) = get(&api, "/campaigns/1001/audit", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["skillId"], 1001);
    assert_eq!(why(&body["items"]), all);
    assert_eq!(body["nextCursor"], Value::Null);
    let first = &body["items"][0];
    assert_eq!(first["skillId"], 1001);
    assert_eq!(first["action"], "pacing.tune");
    assert_eq!(first["details"]["decision"]["maximumRatio"], 1.2);

    // Pages of 5: 5 + 5 + 2, no record twice, same order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=5&cursor={c}"),
            None => "limit=5".into(),
        };
        let (status, body) = get(&api, "/campaigns/1001/audit", &query).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(why(&body["items"]));
        pages += 1;
        match body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, all);

    // The dashboard's route answers the same.
    let (status, body) = get(&api, "/ui/campaigns/1001/audit", "limit=2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(why(&body["items"]), all[..2].to_vec());

    // A cursor of 1001 is refused for 1002.
    let cursor = body["nextCursor"].as_str().unwrap().to_owned();
    let (status, body) = get(&api, "/campaigns/1002/audit", &format!("cursor={cursor}")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("cursor:"));
}

#[tokio::test]
async fn kind_and_time_range_filter() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let seeded = seed(&stack).await;
    let api = Api::new(&stack.deps());

    let (status, body) = get(&api, "/campaigns/1001/audit", "kind=pacing.tune").await;
    assert_eq!(status, 200, "{body}");
    let actions: BTreeSet<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, BTreeSet::from(["pacing.tune"]));
    assert_eq!(body["items"].as_array().unwrap().len(), 10);

    // A prefix, paged one by one: the filter holds across pages.
    let (_, body) = get(&api, "/campaigns/1001/audit", "kind=guard.&limit=1").await;
    assert_eq!(why(&body["items"]), vec!["record 3"]);
    let c = body["nextCursor"].as_str().map(str::to_owned);
    if let Some(c) = c {
        let (_, body) = get(
            &api,
            "/campaigns/1001/audit",
            &format!("kind=guard.&limit=1&cursor={c}"),
        )
        .await;
        assert_eq!(body["items"], json!([]));
        assert_eq!(body["nextCursor"], Value::Null);
    }
    let (_, body) = get(&api, "/campaigns/1001/audit", "kind=failover.").await;
    assert_eq!(why(&body["items"]), vec!["record 7"]);

    // from <= at < to, with an offset (the `+` sent encoded).
    let (status, body) = get(
        &api,
        "/campaigns/1001/audit",
        "from=2026-03-03T08:30:00-05:00&to=2026-03-03T14%3A00%3A00%2B00%3A00",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let expected: Vec<String> = seeded
        .iter()
        .filter(|r| r.at >= at("2026-03-03T13:30:00Z") && r.at < at("2026-03-03T14:00:00Z"))
        .map(|r| r.why.clone())
        .collect();
    assert_eq!(expected.len(), 3);
    assert_eq!(why(&body["items"]), expected);

    // A day long before: nothing.
    let (_, body) = get(
        &api,
        "/campaigns/1001/audit",
        "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
    )
    .await;
    assert_eq!(body["items"], json!([]));
}

#[tokio::test]
async fn bad_parameters_are_400_naming_them_and_unknown_campaigns_404() {
    let stack = TestStack::start(Scenario::small_test()).await;
    seed(&stack).await;
    let api = Api::new(&stack.deps());
    for (query, param) in [
        ("from=yesterday", "from"),
        ("to=2026-03-03", "to"),
        ("from=2026-03-03T12:00:00Z&to=2026-03-03T11:00:00Z", "from"),
        (
            "from=2025-01-01T00:00:00Z&to=2026-03-03T00:00:00Z",
            "from, to",
        ),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=many", "limit"),
        ("kind=pacing%20tune", "kind"),
        ("cursor=not-a-cursor", "cursor"),
        (
            "cursor=eyJzIjoxMDAxLCJrIjoiMjAyMC0wMS0wMVQwMDowMDowMC4wMDBaI3gjeSJ9",
            "cursor",
        ),
    ] {
        let (status, body) = get(&api, "/campaigns/1001/audit", query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"], "bad_request", "{query}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{param}:")),
            "{query}: {message}"
        );
    }
    let (status, body) = get(&api, "/campaigns/4242/audit", "").await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = get(&api, "/campaigns/abc/audit", "").await;
    assert_eq!(status, 400);
}
