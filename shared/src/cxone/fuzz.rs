//! Fuzzing of the readers of CXone's answers (docs/fuzzing.md): valid
//! answers of every call the client makes, mutated (fields dropped,
//! repeated, retyped, numbers and durations as odd strings, huge values),
//! plus any JSON and any bytes, fed to what turns an answer into types —
//! the models' lenient deserializers (`model.rs`, `de.rs`), the schedule's
//! flat form, paging (`PageInfo`, `skip_from_link`), per-item failures of a
//! 200 (`check_item_errors`), error answers (`ErrorBody`, `api_error`),
//! `Retry-After`, durations and the id token's tenant. No HTTP.
//!
//! Properties: no panic on any answer; what is read keeps its invariants
//! (counts never negative, durations finite and non-negative, rates
//! within 0..1, a flat schedule that reads back as itself, an error text
//! cut to its limit). `FUZZ_CASES` and `FUZZ_SEED` as in the other fuzz
//! tests.

#[path = "../../../tests/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use fuzz_support::{base64, fuzz, json_body, nasty_string, Fuzzed};

use super::client::{api_error, check_item_errors, skip_from_link, PageInfo};
use super::transport::{error_message, parse_body, parse_retry_after, ErrorBody, RawResponse};
use super::{
    parse_duration_seconds, tenant_id_from_jwt, AgentState, CxoneError, DncGroup, GeneralSettings,
    ScheduleSettings, ScrubbedSkill, Skill, SkillActivity, SkillSummary, TimeZoneWindow, UploadJob,
};

/// The longest error text kept (`transport::MAX_MESSAGE_CHARS`), plus the ellipsis.
const MAX_TEXT_CHARS: usize = 501;

/// The answer's body as the transport reads it (`parse_body`): JSON, an
/// empty body as `null`; anything else is a decode error.
fn answer(input: &Fuzzed) -> Option<Value> {
    let text = std::str::from_utf8(&input.bytes).ok()?;
    parse_body("fuzz", text).ok()
}

/// What `ops.rs` reads a record from: the first element of the array under
/// `key`, at the top level or under `resultSet` (`first_of`).
fn first_of(value: &Value, key: &str) -> Option<Value> {
    value
        .get(key)
        .or_else(|| value.get("resultSet").and_then(|r| r.get(key)))
        .and_then(Value::as_array)
        .and_then(|l| l.first())
        .cloned()
}

/// A record as `ops.rs` decodes it (`decode`: `serde_json::from_value`).
fn decode<T: DeserializeOwned>(value: Value) -> Option<T> {
    serde_json::from_value(value).ok()
}

fn count_ok(x: Option<f64>) -> bool {
    x.is_none_or(|x| x.is_finite() && x >= 0.0)
}

fn check_summary(s: &SkillSummary) -> Result<(), TestCaseError> {
    prop_assert!(s.live_answers() >= s.connects.max(s.abandon_count));
    if let Some(r) = s.abandon_ratio() {
        prop_assert!((0.0..=1.0).contains(&r), "ratio {r}");
    }
    for d in [s.connects_aht, s.average_talk_time, s.average_wrap_time] {
        prop_assert!(count_ok(d), "duration {d:?}");
    }
    prop_assert!(s.abandon_rate.is_none_or(f64::is_finite));
    Ok(())
}

/// Every record of the calls the client reads, each a valid answer.
fn answers() -> Vec<Value> {
    vec![
        json!({"skillActivity": [{"skillId": "1001", "agentsAvailable": "3", "agentsWorking": 4,
            "agentsACW": 1, "agentsIdle": 0, "agentsLoggedIn": 9, "agentsUnavailable": "1",
            "queueCount": 0, "isOutbound": "True", "isActive": true,
            "serverTime": "2026-03-03T15:00:00.000Z"}]}),
        json!({"resultSet": {"skillSummaries": [{"skillId": 1001, "dials": "200", "connects": 40,
            "abandonCount": "1", "abandonRate": "2.44", "rightPartyConnects": 30,
            "connectsAHT": "00:03:05.500", "averageTalkTime": "150",
            "averageWrapTime": "00:00:20"}]}}),
        json!({"maximumRatio": "2.5", "abandonRateThreshold": 3, "aggressiveness": 5,
            "maximumRingingDuration": 20, "loadFresh": true, "maxWaitTimeSeconds": "2"}),
        json!({"generalSettings": {"maximumRatio": 1.0, "abandonRateCutoff": null,
            "maxConcurrentCallsPerAgent": "1.5", "percentageOfAgentsBeforeOverdial": 80}}),
        json!({"isScheduled": true, "mondayIsActive": true, "mondayStartTime": "09:00",
            "mondayEndTime": "20:30", "sundayIsActive": "false", "sundayStartTime": "",
            "tuesdayIsActive": 1, "tuesdayStartTime": 900, "extra": 1}),
        json!({"timeZones": [{"name": "Eastern Standard Time", "startTime": "08:00",
            "endTime": "21:00", "timeZoneActiveToCall": true, "overrideTime": "true"},
            {"standardName": "Pacific Standard Time", "startTime": null}]}),
        json!({"skillId": "1001", "skillName": "Renewals", "isActive": "true",
            "isOutbound": true, "outboundStrategy": "Personal Connection", "isRunning": "0",
            "campaignId": 501, "mediaTypeId": "4"}),
        json!({"skills": [{"skillId": 1002, "skillName": 7}], "totalRecords": "1",
            "_links": {"next": "https://api/skills?skip=100&top=100"}}),
        json!({"dncGroups": [{"dncGroupId": "7001", "dncGroupName": "Main", "isActive": true,
            "isRemoved": "false", "validRecords": "120"}], "totalRecords": 1}),
        json!({"resultSet": {"scrubbedSkills": [{"skillId": 1001, "skillName": "Renewals"}],
            "_links": {"next": "/dnc-groups/7001/scrubbed-skills?Skip=50"}}}),
        json!({"uploadJobs": [{"jobId": 99, "listId": "5", "isComplete": "true",
            "isCancelled": false, "completedDate": "2026-03-03T15:00:00Z"}]}),
        json!({"agentStates": [{"agentId": "17", "agentStateName": "Available", "isACW": false,
            "isOutbound": "true", "skillId": 1001, "teamId": null,
            "lastUpdateTime": "2026-03-03T14:59:00"}]}),
        json!({"errorCount": 1, "uploadResults": [{"success": "false", "error": "Duplicate"},
            {"success": true}]}),
        json!({"error": "InvalidParameter", "error_description": "the schedule is invalid",
            "code": "400", "correlationId": "abc-123"}),
    ]
}

/// Reads an answer as every call would, checking what comes out.
fn check_answer(input: &Fuzzed) -> Result<(), TestCaseError> {
    let Some(value) = answer(input) else {
        return Ok(());
    };
    if let Some(a) = first_of(&value, "skillActivity").and_then(decode::<SkillActivity>) {
        prop_assert!(a.staffed() >= a.agents_available.max(a.agents_working));
    }
    if let Some(s) = first_of(&value, "skillSummaries").and_then(decode::<SkillSummary>) {
        check_summary(&s)?;
    }
    // Settings: flat, or wrapped (as `general_settings` tolerates).
    let flat = match value.get("generalSettings") {
        Some(inner @ Value::Object(_)) => inner.clone(),
        _ => value.clone(),
    };
    if let Some(g) = decode::<GeneralSettings>(flat) {
        let map = g.to_map();
        for (k, v) in [
            ("maximumRatio", g.maximum_ratio),
            ("abandonRateThreshold", g.abandon_rate_threshold),
        ] {
            prop_assert!(v.is_none_or(f64::is_finite), "{k} {v:?}");
            prop_assert_eq!(map.get(k).and_then(Value::as_f64), v);
        }
    }
    let schedule = match &value {
        Value::Object(map) => ScheduleSettings::from_wire(map.clone()),
        _ => ScheduleSettings::default(),
    };
    let again = ScheduleSettings::from_wire(schedule.to_wire());
    prop_assert_eq!(&again.days, &schedule.days);
    prop_assert_eq!(again.is_scheduled, schedule.is_scheduled);
    let _ = schedule.cxone_accepts();
    for item in value
        .get("timeZones")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let _ = decode::<TimeZoneWindow>(item);
    }
    let skill = if value.get("skillId").is_some() {
        Some(value.clone())
    } else if let Some(inner @ Value::Object(_)) = value.get("skill") {
        Some(inner.clone())
    } else {
        first_of(&value, "skills")
    };
    let _ = skill.and_then(decode::<Skill>);
    for key in ["dncGroups", "scrubbedSkills", "agentStates", "uploadJobs"] {
        let page = PageInfo::read(&value, key);
        let link_skip = page.next.as_deref().and_then(skip_from_link);
        let _ = (page.total, link_skip);
        for item in page.items {
            match key {
                "dncGroups" => {
                    let _ = decode::<DncGroup>(item).map(|g| g.is_effective());
                }
                "scrubbedSkills" => {
                    let _ = decode::<ScrubbedSkill>(item);
                }
                "agentStates" => {
                    let _ = decode::<AgentState>(item);
                }
                _ => {
                    let _ = decode::<UploadJob>(item);
                }
            }
        }
    }
    match check_item_errors("fuzz", &value) {
        Ok(()) => {}
        Err(CxoneError::ItemErrors { count, errors, .. }) => {
            prop_assert!(!errors.is_empty() && count >= errors.len() as u64);
            for e in &errors {
                prop_assert!(e.error.chars().count() <= MAX_TEXT_CHARS);
            }
        }
        Err(other) => prop_assert!(false, "not an item error: {other}"),
    }
    Ok(())
}

#[test]
fn fuzz_cxone_answers() {
    fuzz("CXone answers", 500, json_body(answers()), |input| {
        check_answer(&input)
    });
}

/// Error answers: the body of any status, as `api_error` reads it.
#[test]
fn fuzz_cxone_error_answers() {
    let statuses = prop_oneof![
        Just(400u16),
        Just(401),
        Just(404),
        Just(409),
        Just(429),
        Just(500),
        Just(503),
        100u16..1000,
    ];
    fuzz(
        "CXone error answers",
        300,
        (json_body(answers()), statuses),
        |(input, status)| {
            let Ok(status) = StatusCode::from_u16(status) else {
                return Ok(());
            };
            let body = input.text();
            let parsed = ErrorBody::parse(&body);
            for text in [
                &parsed.error,
                &parsed.description,
                &parsed.message,
                &parsed.code,
                &parsed.correlation_id,
            ]
            .into_iter()
            .flatten()
            {
                prop_assert!(!text.is_empty() && text.chars().count() <= MAX_TEXT_CHARS);
            }
            prop_assert!(!error_message(status, &body).is_empty());
            let raw = RawResponse { status, body };
            match api_error(&Method::GET, "skills/1", &raw) {
                CxoneError::NotFound { .. } => prop_assert_eq!(status, StatusCode::NOT_FOUND),
                CxoneError::Api { status: s, .. } => prop_assert_eq!(s, status.as_u16()),
                other => prop_assert!(false, "unexpected {other}"),
            }
            Ok(())
        },
    );
}

/// Strings CXone sends for durations, links, `Retry-After` and tokens.
fn answer_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => nasty_string(),
        2 => "[0-9:. -]{0,14}",
        1 => "(https?://[a-z./]{0,12})?\\?([a-zA-Z]{0,5}=[0-9a-z%+-]{0,22}&?){0,3}",
        1 => "[0-9]{1,30}(\\.[0-9]{0,20})?",
        1 => Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
        1 => Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
    ]
}

#[test]
fn fuzz_cxone_text_fields() {
    fuzz("CXone text fields", 1000, answer_string(), |text| {
        if let Some(seconds) = parse_duration_seconds(&text) {
            prop_assert!(seconds.is_finite() && seconds >= 0.0, "{text:?}: {seconds}");
        }
        let _ = skip_from_link(&text);
        if let Ok(value) = HeaderValue::from_str(&text) {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, value);
            if let Some(wait) = parse_retry_after(&headers) {
                prop_assert!(wait.as_secs() <= 86_400, "{text:?}: {wait:?}");
            }
        }
        Ok(())
    });
}

/// Id tokens: a header, a payload of mutated claims (base64, with or
/// without padding, URL-safe or not), a signature; or any string.
#[test]
fn fuzz_cxone_id_token() {
    let claims = vec![
        json!({"tenantId": "tenant-1", "sub": "user", "exp": 1_800_000_000}),
        json!({"tenant_id": 11, "iss": "https://cxone.niceincontact.com"}),
    ];
    let token = prop_oneof![
        4 => (json_body(claims), any::<bool>(), any::<bool>()).prop_map(|(payload, url, pad)| {
            let mut p = base64(&payload.bytes);
            if url {
                p = p.replace('+', "-").replace('/', "_");
            }
            if !pad {
                p = p.trim_end_matches('=').to_owned();
            }
            format!("eyJhbGciOiJIUzI1NiJ9.{p}.c2lnbmF0dXJl")
        }),
        1 => nasty_string(),
        1 => "[A-Za-z0-9_=.-]{0,60}",
    ];
    fuzz("CXone id token", 400, token, |jwt| {
        if let Some(tenant) = tenant_id_from_jwt(&jwt) {
            prop_assert!(!tenant.is_empty() && tenant.trim() == tenant, "{tenant:?}");
        }
        Ok(())
    });
}
