//! The CXone client (`shared::cxone`) against the project's CXone simulator:
//! discovery, tokens, retries, deadlines, paging, item errors and the typed
//! operations.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use cxone_sim::{Fault, FaultKind, RequestLog, Scenario, SimHandle};
use secrecy::SecretString;
use shared::cxone::{ClientSettings, CxoneClient, CxoneError, GeneralSettingsPatch, NewSkill};
use shared::deadline::Deadline;
use shared::secret::{BundleSecret, SecretError, SecretSource, StaticSecret};
use std::future::Future;
use std::pin::Pin;

const API: &str = "/inContactAPI/services/v30.0/";

fn bundle_secret(access_key_secret: &str, api_endpoint: Option<String>) -> BundleSecret {
    BundleSecret {
        access_key_id: "test-ak".into(),
        access_key_secret: SecretString::from(access_key_secret.to_owned()),
        client_id: "test-client".into(),
        client_secret: SecretString::from("test-client-secret".to_owned()),
        // No tenantId: the client must read it from the id_token.
        tenant_id: None,
        api_endpoint,
    }
}

fn secret(api_endpoint: Option<String>) -> Arc<dyn SecretSource> {
    Arc::new(StaticSecret(Arc::new(bundle_secret(
        "test-aks",
        api_endpoint,
    ))))
}

/// Test settings: short backoff so the suite stays quick.
fn settings(sim: &SimHandle) -> ClientSettings {
    ClientSettings::new(sim.base_url(), "v30.0")
        .with_request_timeout(Duration::from_secs(2))
        .with_retry_backoff(vec![Duration::from_millis(200), Duration::from_millis(400)])
}

fn client(sim: &SimHandle) -> CxoneClient {
    CxoneClient::new(settings(sim), secret(None)).expect("client")
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(20))
}

async fn start(scenario: Scenario) -> SimHandle {
    cxone_sim::spawn(scenario).await.expect("simulator")
}

fn fault(kind: FaultKind, count: u32, path_contains: Option<&str>) -> Fault {
    Fault {
        kind,
        count: Some(count),
        path_contains: path_contains.map(str::to_owned),
        method: None,
    }
}

async fn requests(sim: &SimHandle) -> Vec<RequestLog> {
    sim.admin().requests().await.expect("request log")
}

fn matching<'a>(log: &'a [RequestLog], method: &str, path_end: &str) -> Vec<&'a RequestLog> {
    log.iter()
        .filter(|r| r.method == method && r.path.ends_with(path_end))
        .collect()
}

fn token_requests(log: &[RequestLog]) -> usize {
    log.iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/token"))
        .count()
}

#[tokio::test]
async fn discovers_authenticates_and_finds_the_api_host() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let activity = cx
        .skill_activity(1001, &deadline())
        .await
        .expect("activity");
    assert!(
        activity.agents_logged_in > 0 || activity.staffed() > 0,
        "{activity:?}"
    );

    let log = requests(&sim).await;
    let paths: Vec<String> = log
        .iter()
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    assert_eq!(
        matching(&log, "GET", "/.well-known/openid-configuration").len(),
        1,
        "{paths:#?}"
    );
    assert_eq!(token_requests(&log), 1, "{paths:#?}");
    let cfg = matching(&log, "GET", "/.well-known/cxone-configuration");
    assert_eq!(cfg.len(), 1, "{paths:#?}");
    assert!(cfg[0].query.contains("tenantId=tenant-test"), "{paths:#?}");
    let calls = matching(&log, "GET", "/skills/1001/activity");
    assert_eq!(calls.len(), 1, "{paths:#?}");
    assert!(calls[0].path.starts_with(API), "{paths:#?}");
    assert_eq!(cx.retries(), 0);
}

#[tokio::test]
async fn api_endpoint_in_the_secret_skips_cxone_configuration() {
    let sim = start(Scenario::small_test()).await;
    let endpoint = format!("{}/", sim.base_url());
    let cx = CxoneClient::new(settings(&sim), secret(Some(endpoint))).expect("client");
    cx.skill(1001, &deadline()).await.expect("skill");
    let log = requests(&sim).await;
    assert!(matching(&log, "GET", "/.well-known/cxone-configuration").is_empty());
    assert_eq!(matching(&log, "GET", "/skills/1001").len(), 1);
}

#[tokio::test]
async fn one_token_serves_many_calls() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let d = deadline();
    cx.skill_activity(1001, &d).await.expect("activity");
    cx.skill(1001, &d).await.expect("skill");
    cx.general_settings(1001, &d).await.expect("settings");
    // a clone shares the cache
    cx.clone()
        .skill_activity(1001, &d)
        .await
        .expect("activity again");
    let log = requests(&sim).await;
    assert_eq!(token_requests(&log), 1);
    assert_eq!(
        matching(&log, "GET", "/.well-known/openid-configuration").len(),
        1
    );
    assert_eq!(
        matching(&log, "GET", "/.well-known/cxone-configuration").len(),
        1
    );
}

#[tokio::test]
async fn token_is_renewed_before_it_expires() {
    let mut scenario = Scenario::small_test();
    scenario.token_lifetime_seconds = 3; // refreshed 0.3 s before expiry
    let sim = start(scenario).await;
    let cx = client(&sim);
    let d = deadline();
    cx.skill_activity(1001, &d).await.expect("first call");
    tokio::time::sleep(Duration::from_millis(2_800)).await;
    // inside the refresh margin, still before expiry: renewed without a 401
    cx.skill_activity(1001, &d)
        .await
        .expect("call after refresh");
    let log = requests(&sim).await;
    assert_eq!(token_requests(&log), 2);
    assert!(log.iter().all(|r| r.status != 401), "{log:#?}");
    // the refreshed token works for later calls and is not renewed again yet
    cx.skill(1001, &d).await.expect("third call");
    assert_eq!(token_requests(&requests(&sim).await), 2);
}

#[tokio::test]
async fn a_failed_refresh_falls_back_to_the_password_grant() {
    let mut scenario = Scenario::small_test();
    scenario.token_lifetime_seconds = 3;
    let sim = start(scenario).await;
    let cx = client(&sim);
    let d = deadline();
    cx.skill_activity(1001, &d).await.expect("first call");
    tokio::time::sleep(Duration::from_millis(2_800)).await;
    // Revoke every token (refresh tokens too) behind the client's back: an
    // `unauthorized` fault hit by a request that is not the client's.
    sim.admin()
        .set_faults(vec![fault(FaultKind::Unauthorized, 1, Some("/dnc-groups"))])
        .await
        .expect("faults");
    let revoked = reqwest::Client::new()
        .get(format!("{}{API}dnc-groups", sim.base_url()))
        .send()
        .await
        .expect("revoking request");
    assert_eq!(revoked.status().as_u16(), 401);
    sim.admin().clear_requests().await.expect("clear");
    cx.skill_activity(1001, &d)
        .await
        .expect("call after refresh fallback");
    let log = requests(&sim).await;
    let tokens: Vec<u16> = log
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/token"))
        .map(|r| r.status)
        .collect();
    // refresh grant refused, password grant accepted; the API call itself never saw a 401
    assert_eq!(tokens, vec![400, 200], "{log:#?}");
    assert_eq!(
        matching(&log, "GET", "/skills/1001/activity")
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        vec![200]
    );
}

#[tokio::test]
async fn concurrent_calls_share_one_token() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let d = deadline();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let cx = cx.clone();
            tokio::spawn(async move { cx.skill_activity(1001, &d).await })
        })
        .collect();
    for call in calls {
        call.await.expect("task").expect("activity");
    }
    let log = requests(&sim).await;
    assert_eq!(token_requests(&log), 1);
    assert_eq!(
        matching(&log, "GET", "/.well-known/cxone-configuration").len(),
        1
    );
    assert_eq!(matching(&log, "GET", "/skills/1001/activity").len(), 8);
}

#[tokio::test]
async fn a_401_gets_one_new_token_and_one_retry() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let d = deadline();
    cx.skill_activity(1001, &d).await.expect("warm up");
    sim.admin().clear_requests().await.expect("clear");
    sim.admin()
        .set_faults(vec![fault(FaultKind::Unauthorized, 1, Some("/activity"))])
        .await
        .expect("faults");
    cx.skill_activity(1001, &d)
        .await
        .expect("activity after re-auth");
    let log = requests(&sim).await;
    let calls = matching(&log, "GET", "/skills/1001/activity");
    assert_eq!(
        calls.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![401, 200]
    );
    assert_eq!(token_requests(&log), 1);
    assert_eq!(cx.retries(), 1);
}

#[tokio::test]
async fn repeated_401_is_not_retried_forever() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    sim.admin()
        .set_faults(vec![fault(FaultKind::Unauthorized, 5, Some("/activity"))])
        .await
        .expect("faults");
    let err = cx
        .skill_activity(1001, &deadline())
        .await
        .expect_err("401 twice");
    assert!(
        matches!(err, CxoneError::Api { status: 401, .. }),
        "{err:?}"
    );
    let log = requests(&sim).await;
    assert_eq!(matching(&log, "GET", "/skills/1001/activity").len(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    sim.admin()
        .set_faults(vec![fault(
            FaultKind::RateLimit {
                retry_after_seconds: Some(1),
            },
            1,
            Some("/activity"),
        )])
        .await
        .expect("faults");
    cx.skill_activity(1001, &deadline())
        .await
        .expect("activity after 429");
    let log = requests(&sim).await;
    let calls = matching(&log, "GET", "/skills/1001/activity");
    assert_eq!(
        calls.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
    let gap = calls[1].at_ms - calls[0].at_ms;
    assert!(gap >= 1_000, "waited only {gap} ms despite Retry-After: 1");
    assert_eq!(cx.retries(), 1);
}

#[tokio::test]
async fn rate_limit_without_retry_after_backs_off() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    sim.admin()
        .set_faults(vec![fault(
            FaultKind::RateLimit {
                retry_after_seconds: None,
            },
            2,
            Some("/activity"),
        )])
        .await
        .expect("faults");
    cx.skill_activity(1001, &deadline())
        .await
        .expect("activity after two 429s");
    let log = requests(&sim).await;
    let calls = matching(&log, "GET", "/skills/1001/activity");
    assert_eq!(
        calls.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 429, 200]
    );
    // backoff 200 ms then 400 ms, each jittered by at most 20 %
    let first = calls[1].at_ms - calls[0].at_ms;
    let second = calls[2].at_ms - calls[1].at_ms;
    assert!(first >= 160, "first wait {first} ms");
    assert!(second >= 320, "second wait {second} ms");
    assert_eq!(cx.retries(), 2);
}

#[tokio::test]
async fn rate_limit_that_persists_fails_after_the_retries() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    sim.admin()
        .set_faults(vec![fault(
            FaultKind::RateLimit {
                retry_after_seconds: None,
            },
            10,
            Some("/activity"),
        )])
        .await
        .expect("faults");
    let err = cx
        .skill_activity(1001, &deadline())
        .await
        .expect_err("still throttled");
    assert!(
        matches!(err, CxoneError::RateLimited { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn service_unavailable_is_retried() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    sim.admin()
        .set_faults(vec![fault(
            FaultKind::ServerError { status: 503 },
            2,
            Some("/activity"),
        )])
        .await
        .expect("faults");
    cx.skill_activity(1001, &deadline())
        .await
        .expect("activity after 503s");
    let log = requests(&sim).await;
    let statuses: Vec<u16> = matching(&log, "GET", "/skills/1001/activity")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![503, 503, 200]);
}

#[tokio::test]
async fn internal_server_error_is_not_retried() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    sim.admin()
        .set_faults(vec![fault(
            FaultKind::ServerError { status: 500 },
            1,
            Some("/activity"),
        )])
        .await
        .expect("faults");
    let err = cx.skill_activity(1001, &deadline()).await.expect_err("500");
    assert!(
        matches!(err, CxoneError::Api { status: 500, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let log = requests(&sim).await;
    assert_eq!(matching(&log, "GET", "/skills/1001/activity").len(), 1);
    assert_eq!(cx.retries(), 0);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let d = deadline();
    // 404: unknown skill
    let err = cx.skill(999_999, &d).await.expect_err("unknown skill");
    assert!(err.is_not_found(), "{err:?}");
    // 400: CXone refuses a schedule without all seven days
    let mut schedule = cx.schedule_settings(1001, &d).await.expect("schedule");
    schedule.day_mut(chrono::Weekday::Sun).is_active = false;
    let err = cx
        .update_schedule_settings(1001, &schedule, &d)
        .await
        .expect_err("refused");
    assert!(matches!(err, CxoneError::ScheduleRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("InvalidParameter"), "{err}");
    let log = requests(&sim).await;
    assert_eq!(matching(&log, "GET", "/skills/999999").len(), 1);
    assert_eq!(matching(&log, "PUT", "/schedule-settings").len(), 1);
    assert_eq!(cx.retries(), 0);
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let sim = start(Scenario::small_test()).await;
    let cx = CxoneClient::new(
        settings(&sim).with_request_timeout(Duration::from_millis(500)),
        secret(None),
    )
    .expect("client");
    let d = deadline();
    cx.skill_activity(1001, &d).await.expect("warm up");
    sim.admin()
        .set_faults(vec![fault(
            FaultKind::Slow { delay_ms: 4_000 },
            1,
            Some("/activity"),
        )])
        .await
        .expect("faults");
    let started = Instant::now();
    cx.skill_activity(1001, &d)
        .await
        .expect("activity after a timeout");
    // gave up on the slow answer after 0.5 s instead of waiting 4 s for it
    assert!(
        started.elapsed() < Duration::from_millis(3_000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(cx.retries(), 1);
    // (the simulator logs a request when it answers, so the abandoned slow
    // attempt may be missing from its log; the warm-up and the retry are there)
    let log = requests(&sim).await;
    assert!(
        matching(&log, "GET", "/skills/1001/activity").len() >= 2,
        "{log:#?}"
    );
}

#[tokio::test]
async fn the_deadline_bounds_retries() {
    let sim = start(Scenario::small_test()).await;
    // production backoff: 2 s then 6 s
    let cx = CxoneClient::new(ClientSettings::new(sim.base_url(), "v30.0"), secret(None))
        .expect("client");
    cx.skill_activity(1001, &deadline()).await.expect("warm up");
    sim.admin()
        .set_faults(vec![fault(
            FaultKind::ServerError { status: 503 },
            100,
            Some("/activity"),
        )])
        .await
        .expect("faults");
    let budget = Duration::from_secs(3);
    let d = Deadline::after(budget);
    let started = Instant::now();
    let err = cx.skill_activity(1001, &d).await.expect_err("deadline");
    let elapsed = started.elapsed();
    match &err {
        CxoneError::DeadlineExceeded {
            last_cause: Some(cause),
            ..
        } => {
            assert!(
                matches!(**cause, CxoneError::Unavailable { status: 503, .. }),
                "{cause:?}"
            );
        }
        other => panic!("expected DeadlineExceeded, got {other:?}"),
    }
    assert!(err.to_string().contains("503"), "{err}");
    assert!(elapsed < budget, "took {elapsed:?}, past the deadline");
    // one wait of about 2 s fits, the 6 s one does not: it gives up at once
    // instead of sitting out the rest of the budget
    assert!(elapsed < Duration::from_millis(2_900), "took {elapsed:?}");
    let log = requests(&sim).await;
    assert_eq!(
        matching(&log, "GET", "/skills/1001/activity")
            .iter()
            .filter(|r| r.status == 503)
            .count(),
        2
    );
}

#[tokio::test]
async fn an_expired_deadline_makes_no_request() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let err = cx
        .skill_activity(1001, &Deadline::after(Duration::ZERO))
        .await
        .expect_err("no time");
    assert!(
        matches!(err, CxoneError::DeadlineExceeded { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn agent_states_follow_every_page() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let states = cx
        .agent_states(None, &deadline())
        .await
        .expect("agent states");
    assert_eq!(states.len(), 120);
    let mut ids: Vec<i64> = states.iter().map(|s| s.agent_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 120, "duplicate agents across pages");
    let log = requests(&sim).await;
    let pages = matching(&log, "GET", "/agents/states");
    assert_eq!(pages.len(), 2, "{pages:#?}");
    assert!(pages.iter().all(|p| p.query.contains("top=100")));
    assert!(pages[1].query.contains("skip=100"), "{pages:#?}");

    // updatedSince is passed through; nothing changed after a future time
    let future = Utc
        .with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
        .single()
        .expect("time");
    assert!(cx
        .agent_states(Some(future), &deadline())
        .await
        .expect("states")
        .is_empty());
    let log = requests(&sim).await;
    assert!(
        log.iter().any(|r| r
            .query
            .contains("updatedSince=2030-01-01T00%3A00%3A00.000Z")),
        "{log:#?}"
    );
}

#[tokio::test]
async fn item_errors_in_a_200_are_errors() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    sim.admin()
        .set_faults(vec![fault(FaultKind::ItemErrors, 1, None)])
        .await
        .expect("faults");
    let err = cx
        .create_skill(
            &NewSkill::personal_connection("Item Error Skill"),
            &deadline(),
        )
        .await
        .expect_err("item errors");
    match &err {
        CxoneError::ItemErrors { count, errors, .. } => {
            assert!(*count >= 1);
            assert!(!errors.is_empty());
        }
        other => panic!("expected ItemErrors, got {other:?}"),
    }
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn created_skills_are_found_by_name() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let d = deadline();
    let mut new = NewSkill::personal_connection("Autopilot Created");
    new.campaign_id = Some(501);
    let skill = cx
        .create_skill_and_find(&new, &d)
        .await
        .expect("create and find");
    assert_eq!(skill.skill_name, "Autopilot Created");
    assert!(skill.is_outbound);
    assert_eq!(
        skill.outbound_strategy.as_deref(),
        Some("Personal Connection")
    );
    let again = cx.skill(skill.skill_id, &d).await.expect("skill");
    assert_eq!(again.skill_id, skill.skill_id);
}

#[tokio::test]
async fn summary_parses() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let start_time = Utc
        .with_ymd_and_hms(2026, 3, 3, 15, 0, 0)
        .single()
        .expect("time");
    sim.admin().advance_seconds(1_800.0).await.expect("advance");
    let end_time = start_time + chrono::Duration::seconds(1_800);
    let summary = cx
        .skill_summary(1001, start_time, end_time, &deadline())
        .await
        .expect("summary");
    assert!(summary.dials > 0, "{summary:?}");
    assert!(summary.dials >= summary.live_answers(), "{summary:?}");
    assert_eq!(
        summary.live_answers(),
        summary.connects + summary.abandon_count
    );
    if summary.connects > 0 {
        assert!(
            summary.average_talk_time.is_some_and(|t| t > 0.0),
            "{summary:?}"
        );
    }
}

#[tokio::test]
async fn general_settings_round_trip() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let d = deadline();
    let before = cx.general_settings(1001, &d).await.expect("read");
    assert_eq!(before.maximum_ratio, Some(1.0));
    let patch = GeneralSettingsPatch {
        maximum_ratio: Some(1.8),
        abandon_rate_threshold: Some(2.5),
        ..Default::default()
    };
    cx.update_general_settings(1001, &patch, &d)
        .await
        .expect("write");
    let after = cx.general_settings(1001, &d).await.expect("read back");
    assert_eq!(after.maximum_ratio, Some(1.8));
    assert_eq!(after.abandon_rate_threshold, Some(2.5));
    // untouched fields, typed or not, are unchanged
    assert_eq!(
        after.maximum_ringing_duration,
        before.maximum_ringing_duration
    );
    assert_eq!(after.aggressiveness, before.aggressiveness);
    assert_eq!(after.other, before.other);
    // the same through field names, as the safe writer uses it
    let mut fields = serde_json::Map::new();
    fields.insert("maximumRatio".into(), serde_json::json!(1.2));
    cx.update_general_settings_fields(1001, &fields, &d)
        .await
        .expect("write by name");
    let map = cx.general_settings(1001, &d).await.expect("read").to_map();
    assert_eq!(map.get("maximumRatio"), Some(&serde_json::json!(1.2)));
    assert_eq!(
        map.get("abandonRateThreshold"),
        Some(&serde_json::json!(2.5))
    );
    // an empty patch sends nothing
    sim.admin().clear_requests().await.expect("clear");
    cx.update_general_settings(1001, &GeneralSettingsPatch::default(), &d)
        .await
        .expect("noop");
    assert!(matching(&requests(&sim).await, "PUT", "/general-settings").is_empty());
}

#[tokio::test]
async fn schedule_and_time_zones_round_trip() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let d = deadline();
    let mut schedule = cx.schedule_settings(1001, &d).await.expect("schedule");
    for day in [
        chrono::Weekday::Mon,
        chrono::Weekday::Tue,
        chrono::Weekday::Wed,
        chrono::Weekday::Thu,
        chrono::Weekday::Fri,
        chrono::Weekday::Sat,
        chrono::Weekday::Sun,
    ] {
        let w = schedule.day_mut(day);
        w.is_active = true;
        w.start_time = Some("09:00".into());
        w.end_time = Some("20:00".into());
    }
    schedule.is_scheduled = true;
    assert!(schedule.cxone_accepts());
    cx.update_schedule_settings(1001, &schedule, &d)
        .await
        .expect("write schedule");
    let back = cx.schedule_settings(1001, &d).await.expect("read schedule");
    assert_eq!(
        back.day(chrono::Weekday::Sun).end_time.as_deref(),
        Some("20:00")
    );

    let zones = vec![shared::cxone::TimeZoneWindow {
        standard_name: "Eastern Standard Time".into(),
        start_time: Some("08:00".into()),
        end_time: Some("21:00".into()),
        time_zone_active_to_call: true,
        override_time: true,
    }];
    cx.update_time_zones(1001, &zones, &d)
        .await
        .expect("write zones");
    let read = cx.time_zones(1001, &d).await.expect("read zones");
    assert!(
        read.iter()
            .any(|z| z.standard_name == "Eastern Standard Time"
                && z.end_time.as_deref() == Some("21:00")),
        "{read:?}"
    );
}

#[tokio::test]
async fn lifecycle_and_dnc() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let d = deadline();
    assert!(cx.skill(1001, &d).await.expect("skill").is_running);
    cx.stop_skill(1001, false, &d).await.expect("stop");
    cx.stop_skill(1001, false, &d)
        .await
        .expect("stop again is harmless");
    assert!(!cx.skill(1001, &d).await.expect("skill").is_running);
    cx.start_skill(1001, &d).await.expect("start");
    assert!(cx.skill(1001, &d).await.expect("skill").is_running);

    let groups = cx.dnc_groups(&d).await.expect("groups");
    assert!(
        groups
            .iter()
            .any(|g| g.dnc_group_id == 7001 && g.is_effective()),
        "{groups:?}"
    );
    let scrubbed = cx.dnc_scrubbed_skills(7001, &d).await.expect("scrubbed");
    assert!(scrubbed.iter().any(|s| s.skill_id == 1001));
    assert!(cx.is_dnc_protected(1001, &d).await.expect("protected"));
    assert!(!cx.is_dnc_protected(1002, &d).await.expect("not protected"));
    assert!(!cx
        .dnc_search("6175550100", &d)
        .await
        .expect("search")
        .is_empty());
    assert!(cx
        .dnc_search("6175550199", &d)
        .await
        .expect("search")
        .is_empty());
    let found = cx.find_skills("Paging", &d).await.expect("find");
    assert!(found.iter().any(|s| s.skill_id == 1002), "{found:?}");
}

#[tokio::test]
async fn call_list_upload() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    let d = deadline();
    let list_id = cx
        .create_call_list(
            &shared::cxone::NewCallList {
                list_name: "autopilot-test".into(),
                external_id_column: "id".into(),
                time_zone_column: Some("tz".into()),
                state_column: Some("state".into()),
                other_columns: vec![],
                destination_mappings: vec![shared::cxone::DestinationMapping {
                    field_name: "PhoneNumber".into(),
                    field_value: "phone".into(),
                }],
            },
            &d,
        )
        .await
        .expect("list");
    let job_id = cx
        .upload_call_list(
            list_id,
            &shared::cxone::CallListUpload {
                csv: b"id,phone,tz,state\n1,6175550111,America/New_York,MA\n".to_vec(),
                file_name: "contacts.csv".into(),
                skill_id: 1001,
                default_time_zone: Some("America/New_York".into()),
                force_overwrite: true,
                expiration_date: None,
                start_skill: false,
                send_email: false,
            },
            &d,
        )
        .await
        .expect("upload");
    let job = cx.call_list_job(&job_id, &d).await.expect("job");
    assert_eq!(job.list_id, Some(list_id));
}

/// A secret source whose cached secret is stale (rotated away) until it is re-read.
struct RotatingSecret {
    refreshed: AtomicUsize,
}

type SecretFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Arc<BundleSecret>, SecretError>> + Send + 'a>>;

impl RotatingSecret {
    fn read(&self) -> Arc<BundleSecret> {
        let key = if self.refreshed.load(Ordering::SeqCst) > 0 {
            "test-aks"
        } else {
            "stale-key"
        };
        Arc::new(bundle_secret(key, None))
    }
}

// `SecretSource` is an `async_trait` trait; this crate does not depend on the
// macro, so the desugared form is written out.
impl SecretSource for RotatingSecret {
    fn current<'life0, 'async_trait>(&'life0 self) -> SecretFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let secret = self.read();
        Box::pin(async move { Ok(secret) })
    }

    fn refresh<'life0, 'async_trait>(&'life0 self) -> SecretFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.refreshed.fetch_add(1, Ordering::SeqCst);
        let secret = self.read();
        Box::pin(async move { Ok(secret) })
    }
}

#[tokio::test]
async fn refused_credentials_make_the_secret_be_read_again() {
    let sim = start(Scenario::small_test()).await;
    let source = Arc::new(RotatingSecret {
        refreshed: AtomicUsize::new(0),
    });
    let cx = CxoneClient::new(settings(&sim), source.clone()).expect("client");
    cx.skill_activity(1001, &deadline())
        .await
        .expect("activity with the rotated secret");
    assert_eq!(source.refreshed.load(Ordering::SeqCst), 1);
    assert_eq!(token_requests(&requests(&sim).await), 2);
}

#[tokio::test]
async fn refused_credentials_after_rotation_are_an_auth_error() {
    let sim = start(Scenario::small_test()).await;
    let cx = CxoneClient::new(
        settings(&sim),
        Arc::new(StaticSecret(Arc::new(bundle_secret("wrong-key", None)))),
    )
    .expect("client");
    let err = cx
        .skill_activity(1001, &deadline())
        .await
        .expect_err("bad credentials");
    assert!(matches!(err, CxoneError::Auth { .. }), "{err:?}");
    assert!(!err.to_string().contains("wrong-key"), "{err}");
    assert!(!format!("{err:?}").contains("wrong-key"));
    assert!(!format!("{cx:?}").contains("test-client-secret"));
    assert_eq!(token_requests(&requests(&sim).await), 2);
}

#[tokio::test]
async fn token_endpoint_fault_is_survived_by_rereading_the_secret() {
    let sim = start(Scenario::small_test()).await;
    let cx = client(&sim);
    sim.admin()
        .set_faults(vec![fault(FaultKind::TokenError, 1, None)])
        .await
        .expect("faults");
    cx.skill_activity(1001, &deadline())
        .await
        .expect("second token attempt works");
    assert_eq!(token_requests(&requests(&sim).await), 2);
}

#[tokio::test]
async fn an_unknown_tenant_is_a_discovery_error() {
    let sim = start(Scenario::small_test()).await;
    let mut bad = bundle_secret("test-aks", None);
    bad.tenant_id = Some("no-such-tenant".into());
    let cx =
        CxoneClient::new(settings(&sim), Arc::new(StaticSecret(Arc::new(bad)))).expect("client");
    let d = deadline();
    let err = cx
        .skill_activity(1001, &d)
        .await
        .expect_err("unknown tenant");
    assert!(
        matches!(
            err,
            CxoneError::Discovery {
                document: "cxone-configuration",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    // the token is kept: a second call only retries the host discovery
    let _ = cx
        .skill_activity(1001, &d)
        .await
        .expect_err("still unknown");
    let log = requests(&sim).await;
    assert_eq!(token_requests(&log), 1);
    let cfg = matching(&log, "GET", "/.well-known/cxone-configuration");
    assert_eq!(cfg.len(), 2);
    assert!(cfg[0].query.contains("tenantId=no-such-tenant"));
}

#[tokio::test]
async fn discovery_is_retried_on_throttling() {
    let sim = start(Scenario::small_test()).await;
    sim.admin()
        .set_faults(vec![fault(
            FaultKind::RateLimit {
                retry_after_seconds: None,
            },
            1,
            Some("/.well-known/openid-configuration"),
        )])
        .await
        .expect("faults");
    let cx = client(&sim);
    cx.skill_activity(1001, &deadline())
        .await
        .expect("activity");
    let log = requests(&sim).await;
    let statuses: Vec<u16> = matching(&log, "GET", "/.well-known/openid-configuration")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![429, 200]);
    assert_eq!(cx.retries(), 1);
}
