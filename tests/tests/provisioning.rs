//! `POST /campaigns` end to end: API Gateway events into campaign-api, the
//! CXone simulator for the skill, its settings, the DNC group and the
//! schedule, moto for the provisioning record, idempotency, config and audit.

use std::time::Duration;

use campaign_api::Api;
use cxone_sim::{Fault, Scenario};
use e2e_tests::{http_event, TestStack};
use lambda_http::Body;
use serde_json::{json, Value};
use shared::deadline::Deadline;

/// Tuesday 2026-03-03 10:00 in New York.
const OPEN: &str = "2026-03-03T15:00:00Z";

struct Answer {
    status: u16,
    body: Value,
    replayed: bool,
}

fn scenario() -> Scenario {
    let mut s = Scenario::small_test();
    s.start = OPEN.parse().unwrap();
    let mut inactive = s.dnc_groups[0].clone();
    inactive.dnc_group_id = 7002;
    inactive.dnc_group_name = "Old list".into();
    inactive.is_active = false;
    inactive.scrubbed_skills.clear();
    s.dnc_groups.push(inactive);
    s
}

fn request(name: &str) -> Value {
    json!({
        "skillName": name, "campaignId": 501, "callerId": "(617) 253-1000", "dncGroupId": 7001,
        "schedule": {"timeZone": "America/New_York",
                     "days": {"monday": {"start": "09:00", "end": "20:00"},
                              "tuesday": {"start": "09:00", "end": "20:00"}},
                     "recipientTimeZones": ["America/New_York"], "recipientStates": ["FL"]},
        "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}
    })
}

async fn post(api: &Api, body: &Value, key: Option<&str>) -> Answer {
    let time: chrono::DateTime<chrono::Utc> = OPEN.parse().unwrap();
    let text = body.to_string();
    let mut event = http_event(
        "POST",
        "/campaigns",
        "/campaigns",
        None,
        Some(&text),
        time.timestamp_millis(),
    );
    if let Some(key) = key {
        event["headers"]["idempotency-key"] = json!(key);
    }
    let request = lambda_http::request::from_str(&event.to_string()).expect("event");
    let response = api
        .handle(request, Deadline::after(Duration::from_secs(30)))
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

async fn skills_named(stack: &TestStack, name: &str) -> Vec<i64> {
    let deadline = Deadline::after(Duration::from_secs(10));
    stack
        .deps()
        .cxone
        .find_skills(name, &deadline)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.skill_name == name)
        .map(|s| s.skill_id)
        .collect()
}

async fn actions(stack: &TestStack, skill: i64) -> Vec<String> {
    stack
        .deps()
        .audit()
        .all_for(skill)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect()
}

#[tokio::test]
async fn provisions_a_disabled_campaign_with_lawful_settings_dnc_and_schedule() {
    let stack = TestStack::start(scenario()).await;
    let api = Api::new(&stack.deps());
    let answer = post(&api, &request("Renewals East"), Some("prov-1")).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let skill = answer.body["skillId"].as_i64().unwrap();
    assert_eq!(answer.body["stepsPending"], json!([]));
    assert_eq!(
        answer.body["stepsDone"],
        json!(["skill", "generalSettings", "dncGroup", "schedule", "config"])
    );

    let state = stack.sim.admin().skill_state(skill).await.unwrap();
    let general = &state["generalSettings"];
    assert_eq!(general["maximumRatio"].as_f64(), Some(1.0), "{state}");
    assert_eq!(general["abandonRateThreshold"].as_f64(), Some(2.5));
    assert_eq!(general["maximumRingingDuration"].as_f64(), Some(15.0));
    let deadline = Deadline::after(Duration::from_secs(10));
    let cxone = stack.deps().cxone.clone();
    assert!(cxone.is_dnc_protected(skill, &deadline).await.unwrap());
    let schedule = cxone.schedule_settings(skill, &deadline).await.unwrap();
    assert!(schedule.is_scheduled);

    let stored = stack
        .deps()
        .state()
        .get_config(skill)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored.config.enabled,
        "disabled until the operator enables it"
    );
    assert_eq!(stored.config.first_dial_date, None);
    assert_eq!(stored.config.recipient_states, vec!["FL"]);

    let done = actions(&stack, skill).await;
    for action in [
        "campaign.provision.skill",
        "campaign.provision.settings",
        "campaign.provision.dnc",
        "schedule.put",
        "config.put",
        "campaign.provision",
    ] {
        assert!(done.iter().any(|a| a == action), "{action} not in {done:?}");
    }

    let replay = post(&api, &request("Renewals East"), Some("prov-1")).await;
    assert_eq!(replay.status, 201);
    assert!(replay.replayed);
    assert_eq!(replay.body, answer.body);
    assert_eq!(skills_named(&stack, "Renewals East").await, vec![skill]);
}

#[tokio::test]
async fn an_unlawful_schedule_is_refused_and_nothing_is_created() {
    let stack = TestStack::start(scenario()).await;
    let api = Api::new(&stack.deps());
    let mut body = request("Night Owls");
    body["schedule"]["days"]["tuesday"] = json!({"start": "07:00", "end": "22:00"});
    let answer = post(&api, &body, Some("prov-unlawful")).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(answer.body["message"]
        .as_str()
        .unwrap()
        .starts_with("schedule:"));
    assert!(!answer.body["details"].as_array().unwrap().is_empty());
    assert!(skills_named(&stack, "Night Owls").await.is_empty());

    // Other refusals before any write: an inactive DNC group, a taken name,
    // a missing key, a malformed body.
    let mut body = request("Night Owls");
    body["dncGroupId"] = json!(7002);
    let answer = post(&api, &body, Some("prov-dnc")).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.body["details"][0]["field"], "dncGroupId");
    let answer = post(&api, &request("Test Skill"), Some("prov-taken")).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.body["details"][0]["field"], "skillName");
    assert_eq!(post(&api, &request("X"), None).await.status, 400);
    assert_eq!(
        post(&api, &json!({"skillName": "X"}), Some("prov-shape"))
            .await
            .status,
        400
    );
    assert!(skills_named(&stack, "Night Owls").await.is_empty());
}

#[tokio::test]
async fn a_failure_halfway_says_what_exists_and_the_same_key_resumes_without_a_second_skill() {
    let stack = TestStack::start(scenario()).await;
    let api = Api::new(&stack.deps());
    let fault: Fault = serde_json::from_value(json!({"kind": "serverError", "status": 503,
        "count": 50, "pathContains": "dnc-groups/7001/scrubbed-skills", "method": "POST"}))
    .unwrap();
    stack.sim.admin().set_faults(vec![fault]).await.unwrap();
    let failed = post(&api, &request("Half Way"), Some("prov-half")).await;
    assert_eq!(failed.status, 502, "{}", failed.body);
    let details = &failed.body["details"][0];
    let skill = details["skillId"].as_i64().expect("the skill id is known");
    assert_eq!(details["stepsDone"], json!(["skill", "generalSettings"]));
    assert_eq!(
        details["stepsPending"],
        json!(["dncGroup", "schedule", "config"])
    );
    assert!(failed.body["message"]
        .as_str()
        .unwrap()
        .contains("same Idempotency-Key"));
    let audit = stack.deps().audit().all_for(skill).await.unwrap();
    assert!(audit
        .iter()
        .any(|r| r.action == "campaign.provision" && r.outcome == "failed"));

    stack.sim.admin().clear_faults().await.unwrap();
    let resumed = post(&api, &request("Half Way"), Some("prov-half")).await;
    assert_eq!(resumed.status, 201, "{}", resumed.body);
    assert!(!resumed.replayed);
    assert_eq!(resumed.body["skillId"].as_i64(), Some(skill));
    assert_eq!(
        skills_named(&stack, "Half Way").await,
        vec![skill],
        "no second skill"
    );
    let creations = stack
        .sim
        .admin()
        .requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/skills"))
        .count();
    assert_eq!(creations, 1);

    // The same key with another body is refused.
    let other = post(&api, &request("Another Name"), Some("prov-half")).await;
    assert_eq!(other.status, 422, "{}", other.body);
}
