//! `PUT /campaigns/{skillId}/schedule` end to end: API Gateway events into the
//! handler (and once into the binary), the CXone simulator for the tenant, DNC
//! and the writes, moto for idempotency, leases and audit.

use std::time::Duration;

use cxone_sim::Scenario;
use e2e_tests::{http_event, TestStack};
use lambda_http::Body;
use schedule_deployer::{Deployer, AUDIT_ACTION, FUNCTION_NAME, ROUTE};
use serde_json::{json, Value};
use shared::deadline::Deadline;
use shared::idempotency::http::{request_hash, HttpIdempotency, IdempotencyKey};
use shared::idempotency::{unix_now_ms, Claim, IdempotencyStore};

/// Friday 2026-11-20 15:00 UTC (10:00 in New York): the request time.
const T0: i64 = 1_795_186_800_000;
const PRINCIPAL: &str = "arn:aws:iam::123456789012:user/ops-lead";

struct Answer {
    status: u16,
    body: Value,
    replayed: bool,
}

fn event(skill: &str, key: Option<&str>, body: &str) -> Value {
    let mut event = http_event(
        "PUT",
        "/campaigns/{skillId}/schedule",
        &format!("/campaigns/{skill}/schedule"),
        Some(skill),
        Some(body),
        T0,
    );
    if let Some(key) = key {
        event["headers"]["idempotency-key"] = json!(key);
    }
    event
}

async fn call(deployer: &Deployer, skill: &str, key: Option<&str>, body: &str) -> Answer {
    call_within(deployer, skill, key, body, Duration::from_secs(20)).await
}

async fn call_within(
    deployer: &Deployer,
    skill: &str,
    key: Option<&str>,
    body: &str,
    budget: Duration,
) -> Answer {
    let request = lambda_http::request::from_str(&event(skill, key, body).to_string())
        .expect("valid API Gateway event");
    let response = deployer.handle(request, Deadline::after(budget)).await;
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok())
        == Some("true");
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    Answer {
        status: response.status().as_u16(),
        body,
        replayed,
    }
}

fn key() -> String {
    e2e_tests::unique("key")
}

/// A schedule body: `days` windows in `tz`, recipients, states, mode.
fn schedule(
    tz: &str,
    days: &[(&str, &str, &str)],
    zones: &[&str],
    states: Option<&[&str]>,
    mode: Option<&str>,
) -> String {
    let days: serde_json::Map<String, Value> = days
        .iter()
        .map(|(d, s, e)| ((*d).to_owned(), json!({"start": s, "end": e})))
        .collect();
    let mut body = json!({"timeZone": tz, "days": days, "recipientTimeZones": zones});
    if let Some(states) = states {
        body["recipientStates"] = json!(states);
    }
    if let Some(mode) = mode {
        body["onViolation"] = json!(mode);
    }
    body.to_string()
}

const WEEKDAYS: [&str; 5] = ["monday", "tuesday", "wednesday", "thursday", "friday"];

fn weekdays(
    start: &'static str,
    end: &'static str,
) -> Vec<(&'static str, &'static str, &'static str)> {
    WEEKDAYS.iter().map(|d| (*d, start, end)).collect()
}

/// CXone writes the simulator received, by settings path suffix.
async fn puts(stack: &TestStack, suffix: &str) -> usize {
    stack
        .sim
        .admin()
        .requests()
        .await
        .expect("request log")
        .iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with(suffix))
        .count()
}

async fn writes(stack: &TestStack) -> (usize, usize) {
    (
        puts(stack, "/schedule-settings").await,
        puts(stack, "/time-zones").await,
    )
}

fn zone<'a>(zones: &'a Value, name: &str) -> &'a Value {
    zones
        .as_array()
        .and_then(|zs| {
            zs.iter()
                .find(|z| z["name"] == name || z["standardName"] == name)
        })
        .unwrap_or_else(|| panic!("no zone {name} in {zones}"))
}

#[tokio::test]
async fn a_lawful_schedule_is_written_read_back_and_audited() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let deployer = Deployer::new(&deps);
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York", "America/Los_Angeles"],
        None,
        None,
    );
    let answer = call(&deployer, "1001", Some(&key()), &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(!answer.replayed);
    let b = &answer.body;
    assert_eq!(b["outcome"], "written");
    assert_eq!(
        b["schedule"]["monday"],
        json!({"start": "11:00", "end": "20:00"})
    );
    assert_eq!(
        b["daysOff"],
        json!([
            {"day": "saturday", "cxonePlaceholder": {"start": "00:00", "end": "00:01"}},
            {"day": "sunday", "cxonePlaceholder": {"start": "00:00", "end": "00:01"}}
        ])
    );
    assert_eq!(b["checkedPeriod"]["first"], "2026-11-20");

    // The simulator holds exactly that: all seven days active (CXone's rule),
    // days off as the one-minute placeholder, per-zone windows.
    let state = stack.sim.admin().skill_state(1001).await.expect("state");
    let s = &state["scheduleSettings"];
    assert_eq!(s["isScheduled"], true);
    assert_eq!(s["mondayStartTime"], "11:00");
    assert_eq!(s["fridayEndTime"], "20:00");
    assert_eq!(s["sundayIsActive"], true);
    assert_eq!(s["sundayStartTime"], "00:00");
    assert_eq!(s["sundayEndTime"], "00:01");
    let eastern = zone(&state["timeZones"], "Eastern Standard Time");
    assert_eq!(
        (eastern["startTime"].as_str(), eastern["endTime"].as_str()),
        (Some("11:00"), Some("20:00"))
    );
    let pacific = zone(&state["timeZones"], "Pacific Standard Time");
    assert_eq!(
        (pacific["startTime"].as_str(), pacific["endTime"].as_str()),
        (Some("08:00"), Some("17:00"))
    );
    assert_eq!(pacific["timeZoneActiveToCall"], true);
    assert_eq!(pacific["overrideTime"], true);
    assert_eq!(b["cxone"]["scheduleSettings"]["mondayStartTime"], "11:00");

    // The window guard learns which recipients the schedule covers.
    let deployed = deps
        .state()
        .get_deployed_schedule(1001)
        .await
        .expect("state")
        .expect("recorded");
    assert!(
        deployed
            .recipient_time_zones
            .contains(&"America/Los_Angeles".to_owned()),
        "{deployed:?}"
    );
    assert_eq!(deployed.deployed_at.map(|t| t.timestamp_millis()), Some(T0));

    let audit = deps.audit().all_for(1001).await.expect("audit");
    assert_eq!(audit.len(), 1);
    let record = &audit[0];
    assert_eq!(record.action, AUDIT_ACTION);
    assert_eq!(record.actor, PRINCIPAL);
    assert_eq!(record.outcome, "written");
    assert_eq!(record.at.timestamp_millis(), T0);
    assert_eq!(
        record.before["scheduleSettings"]["mondayStartTime"],
        "08:00"
    );
    assert_eq!(record.after["scheduleSettings"]["mondayStartTime"], "11:00");
    assert_eq!(record.details["requested"]["timeZone"], "America/New_York");
    assert_eq!(writes(&stack).await, (1, 1));
}

#[tokio::test]
async fn the_sample_event_body_is_lawful_and_deploys() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deployer = Deployer::new(&stack.deps());
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/events/schedule-deployer.json"
        ))
        .expect("sample event"),
    )
    .expect("JSON");
    let body = sample["body"].as_str().expect("body");
    let answer = call(&deployer, "1001", Some(&key()), body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["schedule"]["saturday"]["start"], "12:00");
}

#[tokio::test]
async fn a_window_lawful_in_new_york_but_not_los_angeles_is_refused_with_every_violation() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let deployer = Deployer::new(&deps);
    let body = schedule(
        "America/New_York",
        &weekdays("09:00", "20:00"),
        &["America/New_York", "America/Los_Angeles"],
        None,
        None,
    );
    let answer = call(&deployer, "1001", Some(&key()), &body).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.body["error"], "unprocessable");
    let details = answer.body["details"].as_array().expect("details");
    assert_eq!(details.len(), 5, "one per weekday: {details:?}");
    for (detail, day) in details.iter().zip(WEEKDAYS) {
        assert_eq!(detail["day"], day);
        assert_eq!(detail["recipientZone"], "America/Los_Angeles");
        assert_eq!(detail["state"], Value::Null);
        assert_eq!(detail["rule"], "federal-hours");
        assert_eq!(
            detail["requested"],
            json!({"start": "09:00", "end": "20:00"})
        );
        assert_eq!(detail["lawful"]["start"], "11:00");
        assert!(detail["source"]
            .as_str()
            .unwrap_or_default()
            .contains("64.1200"));
        assert!(detail["message"]
            .as_str()
            .unwrap_or_default()
            .contains("America/Los_Angeles"));
    }
    // Refused: nothing written, nothing audited.
    assert_eq!(writes(&stack).await, (0, 0));
    assert!(deps.audit().all_for(1001).await.expect("audit").is_empty());
}

#[tokio::test]
async fn clip_mode_writes_the_lawful_intersection_and_lists_what_was_cut() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deployer = Deployer::new(&stack.deps());
    let mut days = weekdays("09:00", "20:00");
    days.push(("saturday", "07:00", "22:00"));
    let body = schedule(
        "America/New_York",
        &days,
        &["America/New_York", "America/Los_Angeles"],
        None,
        Some("clip"),
    );
    let answer = call(&deployer, "1001", Some(&key()), &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let b = &answer.body;
    assert_eq!(b["outcome"], "clipped");
    assert_eq!(
        b["schedule"]["monday"],
        json!({"start": "11:00", "end": "20:00"})
    );
    // 07:00-22:00 ET against 08:00-21:00 in both zones: 11:00-21:00 ET.
    assert_eq!(
        b["schedule"]["saturday"],
        json!({"start": "11:00", "end": "21:00"})
    );
    let monday = b["clipped"]
        .as_array()
        .and_then(|c| c.iter().find(|d| d["day"] == "monday"))
        .expect("monday clipped");
    assert_eq!(monday["kept"], json!({"start": "11:00", "end": "20:00"}));
    assert_eq!(
        monday["removed"],
        json!([{"start": "09:00", "end": "11:00"}])
    );
    assert!(!b["violations"].as_array().expect("violations").is_empty());
    let state = stack.sim.admin().skill_state(1001).await.expect("state");
    assert_eq!(state["scheduleSettings"]["mondayStartTime"], "11:00");
    assert_eq!(state["scheduleSettings"]["saturdayEndTime"], "21:00");
    let pacific = zone(&state["timeZones"], "Pacific Standard Time");
    assert_eq!(pacific["startTime"], "08:00");
    assert_eq!(pacific["endTime"], "18:00");
}

#[tokio::test]
async fn florida_stops_at_20_00() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deployer = Deployer::new(&stack.deps());
    let body = schedule(
        "America/New_York",
        &weekdays("09:00", "20:30"),
        &["America/New_York"],
        Some(&["FL"]),
        None,
    );
    let answer = call(&deployer, "1001", Some(&key()), &body).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let details = answer.body["details"].as_array().expect("details");
    let florida: Vec<&Value> = details.iter().filter(|d| d["state"] == "FL").collect();
    assert_eq!(florida.len(), 5, "{details:?}");
    for d in &florida {
        assert_eq!(d["rule"], "state-hours:FL");
        assert_eq!(d["recipientZone"], "America/New_York");
        assert_eq!(d["lawful"], json!({"start": "08:00", "end": "20:00"}));
        assert!(!d["source"].as_str().unwrap_or_default().is_empty());
    }
    // Federal hours allow 20:30 in New York: no federal violation is listed.
    assert!(
        details.iter().all(|d| d["rule"] != "federal-hours"),
        "{details:?}"
    );

    // Clipped, Florida's zone window ends at 20:00 too.
    let clip = body.replacen('{', "{\"onViolation\":\"clip\",", 1);
    let answer = call(&deployer, "1001", Some(&key()), &clip).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["schedule"]["friday"]["end"], "20:00");
    let state = stack.sim.admin().skill_state(1001).await.expect("state");
    assert_eq!(
        zone(&state["timeZones"], "Eastern Standard Time")["endTime"],
        "20:00"
    );
}

#[tokio::test]
async fn sundays_in_alabama_are_refused_or_clipped_and_holidays_reported() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deployer = Deployer::new(&stack.deps());
    let mut days = weekdays("10:00", "18:00");
    days.push(("sunday", "12:00", "17:00"));
    let refuse = schedule(
        "America/Chicago",
        &days,
        &["America/Chicago"],
        Some(&["AL"]),
        None,
    );
    let answer = call(&deployer, "1001", Some(&key()), &refuse).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let details = answer.body["details"].as_array().expect("details");
    assert_eq!(details.len(), 1, "{details:?}");
    assert_eq!(details[0]["day"], "sunday");
    assert_eq!(details[0]["state"], "AL");
    assert_eq!(details[0]["rule"], "state-no-sunday:AL");
    assert_eq!(details[0]["lawful"], Value::Null);
    assert!(details[0]["source"]
        .as_str()
        .unwrap_or_default()
        .contains("Ala."));
    assert_eq!(writes(&stack).await, (0, 0));

    let clip = schedule(
        "America/Chicago",
        &days,
        &["America/Chicago"],
        Some(&["AL"]),
        Some("clip"),
    );
    let answer = call(&deployer, "1001", Some(&key()), &clip).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let b = &answer.body;
    assert_eq!(b["daysRemoved"], json!(["sunday"]));
    assert!(b["schedule"].get("sunday").is_none(), "{b}");
    let off: Vec<&str> = b["daysOff"]
        .as_array()
        .expect("daysOff")
        .iter()
        .filter_map(|d| d["day"].as_str())
        .collect();
    assert_eq!(off, vec!["saturday", "sunday"]);
    // Alabama's weekday holidays in the coming year are left to the window guard.
    let blackouts = b["blackoutDates"].as_array().expect("blackouts");
    assert!(
        blackouts.iter().any(|h| h["holiday"] == "Christmas Day"
            || h["holiday"]
                .as_str()
                .is_some_and(|n| n.contains("Christmas"))),
        "{blackouts:?}"
    );
    assert!(blackouts.iter().all(|h| h["rule"] == "state-holiday:AL"));
    // The Sunday placeholder is a minute at which Central time is closed.
    let state = stack.sim.admin().skill_state(1001).await.expect("state");
    assert_eq!(state["scheduleSettings"]["sundayStartTime"], "00:00");
    assert_eq!(state["scheduleSettings"]["sundayEndTime"], "00:01");
    let central = zone(&state["timeZones"], "Central Standard Time");
    assert_eq!(
        (central["startTime"].as_str(), central["endTime"].as_str()),
        (Some("10:00"), Some("18:00"))
    );
}

#[tokio::test]
async fn daylight_saving_between_new_york_and_phoenix_is_checked_on_every_date() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deployer = Deployer::new(&stack.deps());
    // 10:00 New York is 08:00 in Phoenix in winter but 07:00 once New York
    // springs forward (2027-03-14) and until it falls back (2027-11-07).
    let body = schedule(
        "America/New_York",
        &weekdays("10:00", "19:00"),
        &["America/Phoenix"],
        None,
        None,
    );
    let answer = call(&deployer, "1001", Some(&key()), &body).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let details = answer.body["details"].as_array().expect("details");
    assert_eq!(details.len(), 5, "{details:?}");
    let monday = &details[0];
    assert_eq!(monday["day"], "monday");
    assert_eq!(monday["recipientZone"], "America/Phoenix");
    assert_eq!(monday["rule"], "federal-hours");
    assert_eq!(monday["firstDate"], "2027-03-15");
    assert_eq!(monday["lastDate"], "2027-11-01");
    assert_eq!(monday["lawful"]["start"], "11:00");
    let friday = &details[4];
    assert_eq!(friday["firstDate"], "2027-03-19");
    assert_eq!(friday["lastDate"], "2027-11-05");

    // An hour later it is lawful all year; Phoenix's CXone window covers both seasons.
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "19:00"),
        &["America/Phoenix"],
        None,
        None,
    );
    let answer = call(&deployer, "1001", Some(&key()), &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let state = stack.sim.admin().skill_state(1001).await.expect("state");
    let mountain = zone(&state["timeZones"], "US Mountain Standard Time");
    assert_eq!(
        (mountain["startTime"].as_str(), mountain["endTime"].as_str()),
        (Some("08:00"), Some("17:00"))
    );
}

#[tokio::test]
async fn a_skill_without_dnc_scrubbing_is_refused() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deployer = Deployer::new(&stack.deps());
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    // 1002 exists and is Personal Connection, but no DNC group scrubs it.
    let answer = call(&deployer, "1002", Some(&key()), &body).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("do-not-call"),
        "{}",
        answer.body
    );
    assert_eq!(answer.body["details"][0]["rule"], "dnc-protection");
    assert_eq!(writes(&stack).await, (0, 0));
}

#[tokio::test]
async fn an_inactive_dnc_group_does_not_protect() {
    let mut scenario = Scenario::small_test();
    scenario.dnc_groups[0].is_active = false;
    let stack = TestStack::start(scenario).await;
    let deployer = Deployer::new(&stack.deps());
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    let answer = call(&deployer, "1001", Some(&key()), &body).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.body["details"][0]["rule"], "dnc-protection");
    assert_eq!(writes(&stack).await, (0, 0));
}

#[tokio::test]
async fn an_unknown_skill_is_404() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deployer = Deployer::new(&stack.deps());
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    let answer = call(&deployer, "4040", Some(&key()), &body).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert_eq!(answer.body["error"], "not_found");
}

#[tokio::test]
async fn malformed_requests_are_400_naming_the_field() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let deployer = Deployer::new(&deps);
    let good = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    let cases: Vec<(String, &str)> = vec![
        (good.replace("\"11:00\"", "\"25:00\""), "days.monday.start"),
        (good.replace("\"11:00\"", "\"9am\""), "days.monday.start"),
        (good.replace("\"20:00\"", "\"10:00\""), "days.monday"),
        (good.replace("\"20:00\"", "\"11:00\""), "days.monday"),
        (good.replacen('{', "{\"colour\": \"blue\", ", 1), "colour"),
        (good.replace("monday", "mondays"), "days.mondays"),
        (
            schedule(
                "America/New_York",
                &weekdays("11:00", "20:00"),
                &["Mars/Base"],
                None,
                None,
            ),
            "recipientTimeZones[0]",
        ),
        (
            schedule(
                "Moon/Tranquility",
                &weekdays("11:00", "20:00"),
                &["America/New_York"],
                None,
                None,
            ),
            "timeZone",
        ),
        (
            good.replacen('{', "{\"onViolation\": \"shrug\", ", 1),
            "onViolation",
        ),
        (
            good.replacen('{', "{\"recipientStates\": [\"ZZ\"], ", 1),
            "recipientStates[0]",
        ),
        ("{\"timeZone\": ".to_owned(), "body"),
        ("[]".to_owned(), "body"),
        ("".to_owned(), "body"),
        ("null".to_owned(), "body"),
    ];
    for (body, field) in &cases {
        let answer = call(&deployer, "1001", Some(&key()), body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        assert_eq!(answer.body["error"], "bad_request");
        let fields: Vec<&str> = answer.body["details"]
            .as_array()
            .map(|d| d.iter().filter_map(|p| p["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            fields.contains(field),
            "{body}: {field} not in {}",
            answer.body
        );
    }
    let paris = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["Europe/Paris"],
        None,
        None,
    );
    let answer = call(&deployer, "1001", Some(&key()), &paris).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.body["details"][0]["field"], "recipientTimeZones[0]");

    // The key itself: required, 1-128 printable ASCII; the error names the header.
    for bad in [None, Some(String::new()), Some("k".repeat(129))] {
        let answer = call(&deployer, "1001", bad.as_deref(), &good).await;
        assert_eq!(answer.status, 400, "{bad:?}: {}", answer.body);
        assert!(answer.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Idempotency-Key"));
    }
    let answer = call(&deployer, "abc", Some(&key()), &good).await;
    assert_eq!(answer.status, 400);
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(70 * 1024));
    let answer = call(&deployer, "1001", Some(&key()), &huge).await;
    assert_eq!(answer.status, 413);
    assert_eq!(writes(&stack).await, (0, 0));
    assert!(deps.audit().all_for(1001).await.expect("audit").is_empty());
}

#[tokio::test]
async fn a_replay_returns_the_stored_answer_and_writes_nothing() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deployer = Deployer::new(&stack.deps());
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    let k = key();
    let first = call(&deployer, "1001", Some(&k), &body).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(!first.replayed);
    // Same request, fields in another order and other whitespace: a duplicate.
    let parsed: Value = serde_json::from_str(&body).expect("json");
    let reordered = format!(
        "{{ \"timeZone\": \"America/New_York\",\n  \"recipientTimeZones\": [\"America/New_York\"],\n  \"days\": {} }}",
        serde_json::to_string_pretty(&parsed["days"]).expect("json")
    );
    assert_ne!(reordered, body);
    let second = call(&deployer, "1001", Some(&k), &reordered).await;
    assert_eq!(second.status, 200);
    assert!(second.replayed);
    assert_eq!(second.body, first.body);
    assert_eq!(writes(&stack).await, (1, 1));

    // A stored refusal (422) replays too.
    let unlawful = schedule(
        "America/New_York",
        &weekdays("07:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    let k2 = key();
    let refused = call(&deployer, "1001", Some(&k2), &unlawful).await;
    assert_eq!(refused.status, 422);
    let again = call(&deployer, "1001", Some(&k2), &unlawful).await;
    assert_eq!((again.status, again.replayed), (422, true));
    assert_eq!(again.body, refused.body);
}

#[tokio::test]
async fn an_in_flight_duplicate_is_409_and_a_reused_key_with_another_body_422() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let deployer = Deployer::new(&deps);
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    let k = key();
    let id = IdempotencyKey::parse(Some(k.as_bytes()))
        .expect("key")
        .record_id(FUNCTION_NAME);
    let hash = request_hash(ROUTE, &[("skillId", "1001")], body.as_bytes());
    let claim = deps
        .idempotency()
        .claim(
            &id,
            &hash,
            &Deadline::after(Duration::from_secs(60)),
            unix_now_ms(),
        )
        .await
        .expect("claim");
    assert_eq!(claim, Claim::Acquired);
    let answer = call(&deployer, "1001", Some(&k), &body).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.body["error"], "conflict");
    assert_eq!(writes(&stack).await, (0, 0));

    let k = key();
    let first = call(&deployer, "1001", Some(&k), &body).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let other = body.replace("20:00", "19:00");
    let answer = call(&deployer, "1001", Some(&k), &other).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(answer.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Idempotency-Key"));
    // Same body for another campaign is another request too.
    let answer = call(&deployer, "1002", Some(&k), &body).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(writes(&stack).await, (1, 1));
}

#[tokio::test]
async fn a_cxone_failure_releases_the_key_so_a_retry_succeeds() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let deployer = Deployer::new(&deps);
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    stack
        .sim
        .admin()
        .set_faults(vec![serde_json::from_value(json!({
            "kind": "serverError", "status": 500, "count": 1, "pathContains": "time-zones"
        }))
        .expect("fault")])
        .await
        .expect("faults");
    let k = key();
    let failed = call(&deployer, "1001", Some(&k), &body).await;
    assert_eq!(failed.status, 502, "{}", failed.body);
    assert_eq!(failed.body["error"], "cxone_failed");
    let retry = call(&deployer, "1001", Some(&k), &body).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert!(!retry.replayed);
    let state = stack.sim.admin().skill_state(1001).await.expect("state");
    assert_eq!(state["scheduleSettings"]["mondayStartTime"], "11:00");
    let audit = deps.audit().all_for(1001).await.expect("audit");
    assert_eq!(audit.iter().filter(|r| r.outcome == "written").count(), 1);

    // Storage down: 503, and no CXone write.
    let mut broken = stack.config.clone();
    broken.idempotency_table = "missing-table".into();
    let broken = shared::wiring::Deps::build(broken, &stack.sdk).expect("deps");
    let before = writes(&stack).await;
    let answer = call(&Deployer::new(&broken), "1001", Some(&key()), &body).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(!answer.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("missing-table"));
    assert_eq!(writes(&stack).await, before);
}

#[tokio::test]
async fn an_expired_record_runs_again() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let deployer = Deployer::new(&deps);
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    let k = key();
    let id = IdempotencyKey::parse(Some(k.as_bytes()))
        .expect("key")
        .record_id(FUNCTION_NAME);
    let hash = request_hash(ROUTE, &[("skillId", "1001")], body.as_bytes());
    // A completed record from two days ago (expired after one hour).
    let old = unix_now_ms() - 2 * 86_400_000;
    let store = deps.idempotency();
    let claim = store
        .claim(&id, &hash, &Deadline::from_epoch_ms(old + 30_000), old)
        .await
        .expect("claim");
    assert_eq!(claim, Claim::Acquired);
    store
        .complete(
            &id,
            &json!({"statusCode": 200, "body": "{\"stale\":true}"}),
            old,
        )
        .await
        .expect("complete");
    let answer = call(&deployer, "1001", Some(&k), &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(!answer.replayed, "an expired record must not be replayed");
    assert_eq!(answer.body["skillId"], 1001);
    assert_eq!(writes(&stack).await, (1, 1));

    // With a store whose records last one second, a duplicate two seconds later runs again.
    let mut short = Deployer::new(&deps);
    short.idempotency = HttpIdempotency::new(
        IdempotencyStore::new(stack.dynamo.clone(), stack.tables.idempotency.clone())
            .with_expires_after(Duration::from_secs(1)),
        FUNCTION_NAME,
    );
    let k = key();
    assert_eq!(call(&short, "1001", Some(&k), &body).await.status, 200);
    assert!(call(&short, "1001", Some(&k), &body).await.replayed);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let again = call(&short, "1001", Some(&k), &body).await;
    assert_eq!(again.status, 200);
    assert!(!again.replayed);
    assert_eq!(writes(&stack).await, (3, 3));
}

#[tokio::test]
async fn the_binary_serves_api_gateway_events_under_the_runtime_api() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let function = local_stack::FunctionProcess::spawn(
        e2e_tests::binary("schedule-deployer"),
        stack.function_env(),
    )
    .await
    .expect("start schedule-deployer");
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    let k = key();
    let response = function
        .invoke(event("1001", Some(&k), &body), Duration::from_secs(30))
        .await
        .expect("invoke");
    assert_eq!(response["statusCode"], 200, "{response}");
    let first: Value =
        serde_json::from_str(response["body"].as_str().expect("body")).expect("json");
    assert_eq!(first["schedule"]["monday"]["start"], "11:00");

    let replay = function
        .invoke(event("1001", Some(&k), &body), Duration::from_secs(30))
        .await
        .expect("invoke");
    assert_eq!(replay["statusCode"], 200, "{replay}");
    let header = replay["headers"]
        .as_object()
        .and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("idempotent-replayed"))
        })
        .map(|(_, v)| v.clone());
    assert_eq!(header, Some(json!("true")), "{replay}");
    assert_eq!(writes(&stack).await, (1, 1));

    // Garbage in: an error answer, and the function keeps serving.
    let garbage = function
        .invoke(json!({"what": "ever"}), Duration::from_secs(30))
        .await;
    assert!(
        garbage.is_err()
            || garbage
                .as_ref()
                .map(|r| r["statusCode"] != 200)
                .unwrap_or(true),
        "{garbage:?}"
    );
    let response = function
        .invoke(event("1001", None, &body), Duration::from_secs(30))
        .await
        .expect("still serving");
    assert_eq!(response["statusCode"], 400, "{response}");
}

/// Skill 1001 with a schedule and per-zone windows of its own before the
/// request, so that a rollback has something to restore.
fn scenario_with_a_schedule(sunday_active: bool) -> Scenario {
    let mut scenario = Scenario::small_test();
    let skill = &mut scenario.skills[0];
    for (k, v) in [
        ("mondayStartTime", json!("09:30")),
        ("mondayEndTime", json!("19:00")),
        ("sundayIsActive", json!(sunday_active)),
    ] {
        skill.schedule_settings.insert(k.into(), v);
    }
    skill.time_zones = vec![
        json!({"name": "Eastern Standard Time", "startTime": "09:30", "endTime": "19:00",
               "timeZoneActiveToCall": true, "overrideTime": false}),
        json!({"name": "Central Standard Time", "startTime": "10:00", "endTime": "18:00",
               "timeZoneActiveToCall": false, "overrideTime": true}),
    ];
    scenario
}

/// The time-zones PUT fails once (500 is not retried); GETs are left alone.
async fn fail_the_time_zone_write(stack: &TestStack) {
    stack
        .sim
        .admin()
        .set_faults(vec![serde_json::from_value(json!({
            "kind": "serverError", "status": 500, "count": 1,
            "pathContains": "/parameters/time-zones", "method": "PUT"
        }))
        .expect("fault")])
        .await
        .expect("faults");
}

#[tokio::test]
async fn a_failed_time_zone_write_is_rolled_back_to_what_cxone_held_before() {
    let stack = TestStack::start(scenario_with_a_schedule(true)).await;
    let deps = stack.deps();
    let deployer = Deployer::new(&deps);
    let before = stack.sim.admin().skill_state(1001).await.expect("state");
    fail_the_time_zone_write(&stack).await;
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York", "America/Los_Angeles"],
        None,
        None,
    );
    let k = key();
    let answer = call(&deployer, "1001", Some(&k), &body).await;
    assert_eq!(answer.status, 502, "{}", answer.body);
    assert_eq!(answer.body["error"], "cxone_failed");
    let message = answer.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("time-zone settings"), "{message}");
    assert!(message.contains("rolled back"), "{message}");
    let rollback = answer.body["details"]
        .as_array()
        .and_then(|d| d.iter().find_map(|d| d.get("rollback")))
        .unwrap_or_else(|| panic!("no rollback in {}", answer.body));
    assert_eq!(rollback["rolledBack"], true, "{rollback}");
    assert_eq!(rollback["scheduleSettings"]["state"], "restored");
    assert_eq!(rollback["timeZones"]["state"], "restored");

    // CXone holds exactly what it held before: no half schedule.
    let after = stack.sim.admin().skill_state(1001).await.expect("state");
    assert_eq!(after["scheduleSettings"], before["scheduleSettings"]);
    assert_eq!(after["timeZones"], before["timeZones"]);
    // Written, then written back: two PUTs of each (one time-zones PUT failed).
    assert_eq!(writes(&stack).await, (2, 2));

    let audit = deps.audit().all_for(1001).await.expect("audit");
    assert_eq!(audit.len(), 1, "{audit:?}");
    let record = &audit[0];
    assert_eq!(record.outcome, "rolled_back");
    assert_eq!(record.details["rollback"]["rolledBack"], true);
    assert!(record.details["error"]
        .as_str()
        .unwrap_or_default()
        .contains("rolled back"));
    assert_eq!(
        record.before["scheduleSettings"]["mondayStartTime"],
        "09:30"
    );
    // Nothing was recorded for the window guard.
    assert!(deps
        .state()
        .get_deployed_schedule(1001)
        .await
        .expect("state")
        .is_none());

    // The key was released: the same request runs again and succeeds.
    let retry = call(&deployer, "1001", Some(&k), &body).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    let state = stack.sim.admin().skill_state(1001).await.expect("state");
    assert_eq!(state["scheduleSettings"]["mondayStartTime"], "11:00");
}

#[tokio::test]
async fn a_rollback_cxone_refuses_is_a_502_saying_what_is_left() {
    // Sunday off before: CXone no longer accepts that schedule on a write,
    // so the schedule settings cannot be written back.
    let stack = TestStack::start(scenario_with_a_schedule(false)).await;
    let deps = stack.deps();
    let deployer = Deployer::new(&deps);
    let before = stack.sim.admin().skill_state(1001).await.expect("state");
    assert_eq!(before["scheduleSettings"]["sundayIsActive"], false);
    fail_the_time_zone_write(&stack).await;
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    let answer = call(&deployer, "1001", Some(&key()), &body).await;
    assert_eq!(answer.status, 502, "{}", answer.body);
    let message = answer.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Rolling the change back failed"),
        "{message}"
    );
    assert!(
        message.contains("schedule settings the new settings of this request"),
        "{message}"
    );
    assert!(message.contains("InvalidParameter"), "{message}");
    assert!(
        message.contains("time-zone settings as before this request"),
        "{message}"
    );

    // What the answer says is what CXone holds.
    let after = stack.sim.admin().skill_state(1001).await.expect("state");
    assert_eq!(after["scheduleSettings"]["mondayStartTime"], "11:00");
    assert_eq!(after["timeZones"], before["timeZones"]);

    let audit = deps.audit().all_for(1001).await.expect("audit");
    assert_eq!(audit.len(), 1, "{audit:?}");
    let record = &audit[0];
    assert_eq!(record.outcome, "rollback_failed");
    let rollback = &record.details["rollback"];
    assert_eq!(rollback["rolledBack"], false);
    assert_eq!(rollback["scheduleSettings"]["state"], "new");
    assert!(rollback["scheduleSettings"]["writeBackError"]
        .as_str()
        .is_some_and(|e| e.contains("InvalidParameter")));
    assert_eq!(
        rollback["scheduleSettings"]["holds"]["mondayStartTime"],
        "11:00"
    );
    assert_eq!(rollback["timeZones"]["state"], "restored");
}

#[tokio::test]
async fn cxone_calls_keep_the_record_reserve_of_the_deadline() {
    let stack = TestStack::start(Scenario::small_test()).await;
    let deps = stack.deps();
    let deployer = Deployer::new(&deps);
    let body = schedule(
        "America/New_York",
        &weekdays("11:00", "20:00"),
        &["America/New_York"],
        None,
        None,
    );
    // Less than RECORD_RESERVE (3 s) left: the idempotency claim (full
    // deadline) is taken, but CXone gets no time, so nothing is written late.
    let k = key();
    let answer = call_within(
        &deployer,
        "1001",
        Some(&k),
        &body,
        Duration::from_millis(2_500),
    )
    .await;
    assert_eq!(answer.status, 502, "{}", answer.body);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("deadline"),
        "{}",
        answer.body
    );
    let calls = stack.sim.admin().requests().await.expect("request log");
    assert!(
        calls.iter().all(|r| !r.path.contains("/skills/")),
        "{calls:?}"
    );
    // The claim was released: with time, the same key runs.
    let retry = call(&deployer, "1001", Some(&k), &body).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert!(!retry.replayed);
}
