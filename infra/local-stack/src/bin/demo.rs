//! `make demo`: a simulated contact-centre day through the real functions.
//!
//! Needs the local stack (`infra/with-stack.sh --scenario FILE` starts moto
//! and the CXone simulator and exports their addresses). It creates fresh
//! tables and the secret, configures every campaign of the scenario through
//! the real `campaign-api` binary, then drives the day in 5-minute ticks: the
//! simulator's clock advances, and the real `capacity-tuner` binary is invoked
//! under the Lambda Runtime API emulator with an EventBridge event at that
//! time. It prints an hourly table per campaign from the simulator's ground
//! truth and the tuner's decisions, and the audit trail's size.
//!
//! Events flow as in production: the real `webhook-ingest` binary runs behind
//! a local API Gateway ([`local_stack::apigw`]) whose request clock is kept
//! equal to the simulator's, and the simulator posts signed
//! `contact.completed` batches to it during every clock advance (a few
//! batches are posted twice, to show de-duplication). The hourly tables show
//! the events the intake counted next to the tuner's decisions.
//!
//! Campaigns whose scenario entry under `autopilot.configs` names a
//! `failover` get it through campaign-api; the real `failover-checker` binary
//! is invoked every simulated minute (`--checker-every N` to thin it out), and
//! the demo prints when the failover happened, with the rate and samples that
//! caused it, and checks against the simulator that it happened exactly once.
//! Without a built `failover-checker` the day still runs and says so.
//!
//! With `--serve`, campaign-api also runs behind a second local front with
//! every route of the template (the operator routes, the dashboard's `/ui`
//! routes with a fixed local identity, the page and its assets) on the
//! simulated clock: the dashboard's address is printed at the start and
//! after the day, and the front and the functions keep serving until Ctrl-C.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;
use cxone_sim::{AdminClient, Fault, Scenario, TruthCounters, WebhookConfig};
use local_stack::apigw::{ApiClock, ApiGateway, CAMPAIGN_API_ROUTES};
use local_stack::{FunctionProcess, TableNames};
use serde_json::{json, Value};
use shared::store::audit::AuditStore;
use shared::store::events::{Counts, EventStore};

const TICK_MINUTES: i64 = 5;
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);
/// The secret `make demo` puts in `webhookSecrets` and the simulator signs with.
const WEBHOOK_SECRET: &str = "demo-webhook-secret";
/// Events per webhook batch.
const WEBHOOK_BATCH: usize = 250;
/// Local time at which webhooks are switched on, and off. The local
/// DynamoDB (moto) copies the whole table for every item of a transaction,
/// so the intake slows down as the table grows: the demo posts the events of
/// the failover campaigns' live conversations during these hours only.
const WEBHOOK_ON: (u32, u32) = (12, 0);
/// See [`WEBHOOK_ON`].
const WEBHOOK_OFF: (u32, u32) = (16, 0);
/// The outcomes posted (the ones a success rate uses).
const WEBHOOK_OUTCOMES: [&str; 3] = ["success", "failure", "abandoned"];
/// Local time at which a few batches are posted twice (de-duplication shown).
const DUPLICATE_AT: (u32, u32) = (13, 30);
/// How many batches are posted twice then.
const DUPLICATE_BATCHES: u32 = 3;

struct Args {
    scenario: PathBuf,
    hours: i64,
    person_edit_at: Option<u32>,
    webhook: bool,
    checker_every: i64,
    serve: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        scenario: PathBuf::from("infra/scenarios/demo-day.json"),
        hours: 13,
        person_edit_at: Some(13),
        webhook: true,
        checker_every: 1,
        serve: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--scenario" => args.scenario = it.next().ok_or("--scenario needs a file")?.into(),
            "--hours" => {
                args.hours = it
                    .next()
                    .and_then(|h| h.parse().ok())
                    .filter(|h| (1..=24).contains(h))
                    .ok_or("--hours needs 1..=24")?
            }
            "--no-person-edit" => args.person_edit_at = None,
            "--no-webhook" => args.webhook = false,
            "--serve" => args.serve = true,
            "--checker-every" => {
                args.checker_every = it
                    .next()
                    .and_then(|h| h.parse().ok())
                    .filter(|m| (1..=TICK_MINUTES).contains(m))
                    .ok_or("--checker-every needs 1..=5 (simulated minutes)")?
            }
            "-h" | "--help" => {
                println!(
                    "usage: demo [--scenario FILE] [--hours N] [--no-person-edit] [--no-webhook] \
                     [--checker-every MINUTES] [--serve]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{name} is not set: run `make demo` (it starts the local stack)"))
}

fn binary(name: &str) -> Result<PathBuf, String> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = PathBuf::from(target).join("debug").join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: `make demo` builds it",
            path.display()
        ))
    }
}

fn config_event(skill_id: i64, body: &Value, time: DateTime<Utc>) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "PUT /campaigns/{skillId}/config",
        "rawPath": format!("/campaigns/{skill_id}/config"),
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "pathParameters": {"skillId": skill_id.to_string()},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "local",
            "authorizer": {"iam": {"accessKey": "AKIALOCAL", "accountId": "123456789012", "callerId": "AIDALOCAL",
                "userArn": "arn:aws:iam::123456789012:user/demo-operator", "userId": "AIDALOCAL"}},
            "http": {"method": "PUT", "path": format!("/campaigns/{skill_id}/config"), "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1", "userAgent": "demo"},
            "requestId": format!("demo-config-{skill_id}"),
            "routeKey": "PUT /campaigns/{skillId}/config",
            "stage": "$default",
            "time": time.to_rfc3339(),
            "timeEpoch": time.timestamp_millis()
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    })
}

fn tick_event(time: DateTime<Utc>) -> Value {
    scheduled_event(
        time,
        &format!("demo-tick-{}", time.timestamp()),
        "capacity-tuner-every-5-min",
    )
}

fn check_event(time: DateTime<Utc>) -> Value {
    scheduled_event(
        time,
        &format!("demo-check-{}", time.timestamp()),
        "failover-checker-every-minute",
    )
}

fn scheduled_event(time: DateTime<Utc>, id: &str, rule: &str) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{rule}")],
        "detail": {}
    })
}

#[derive(Default)]
struct HourRow {
    ratio_last: Option<f64>,
    writes: usize,
    holds: usize,
}

fn pct(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        100.0 * num / den
    } else {
        0.0
    }
}

/// The day's verdict on the two rules a campaign must never break: the
/// abandonment limit (the demo's 30-day period starts with the day, so the
/// day's rate is the period's) and the legal calling hours.
fn verdict(day: &TruthCounters) -> String {
    let rate = pct(day.abandons as f64, day.live_answers as f64);
    let limit = shared::engine::pacing::LEGAL_MAX_ABANDON_PCT;
    let mut broken = Vec::new();
    if rate > limit {
        broken.push(format!("abandonment {rate:.2} % is above {limit:.0} %"));
    }
    if day.dials_outside_legal_hours > 0 {
        broken.push(format!(
            "{} dials outside the legal hours",
            day.dials_outside_legal_hours
        ));
    }
    if broken.is_empty() {
        format!("lawful: abandonment {rate:.2} % <= {limit:.0} %, no dial outside the legal hours")
    } else {
        format!("NOT lawful: {}", broken.join("; "))
    }
}

/// Webhook traffic of one local hour, from the simulator's advance answers.
#[derive(Default)]
struct WebhookHour {
    batches: u64,
    events: u64,
    accepted: u64,
    duplicates: u64,
}

/// A failover the checker reported.
struct FailoverSeen {
    at: DateTime<Utc>,
    primary: i64,
    backup: Option<i64>,
    rate: Option<f64>,
    samples: u64,
    window_minutes: u64,
    threshold: f64,
    min_samples: u64,
}

/// The campaign config the demo writes for a skill: the default, with the
/// scenario's `autopilot.configs["<skillId>"]` keys over it.
fn campaign_config(scenario: &Scenario, skill_id: i64) -> Value {
    let mut body = json!({
        "enabled": true,
        "timeZone": scenario.time_zone,
        "recipientTimeZones": [scenario.time_zone],
        "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}
    });
    let extra = scenario
        .autopilot
        .as_ref()
        .and_then(|a| a.get("configs"))
        .and_then(|c| c.get(skill_id.to_string()))
        .and_then(Value::as_object);
    if let (Some(extra), Some(base)) = (extra, body.as_object_mut()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    body
}

/// The local hour that `t` falls in, as a UTC instant.
fn hour_of(t: DateTime<Utc>, zone: &Tz) -> DateTime<Utc> {
    let local = t.with_timezone(zone);
    t - ChronoDuration::minutes(i64::from(local.minute()))
        - ChronoDuration::seconds(i64::from(local.second()))
        - ChronoDuration::nanoseconds(i64::from(local.nanosecond()))
}

/// `POST /admin/clock/advance {"to"}`: the new time and the webhook summary.
async fn advance(
    http: &reqwest::Client,
    issuer: &str,
    to: DateTime<Utc>,
) -> Result<(DateTime<Utc>, Value), String> {
    let r = http
        .post(format!("{issuer}/admin/clock/advance"))
        .json(&json!({"to": to.to_rfc3339()}))
        .send()
        .await
        .map_err(|e| format!("advance to {to}: {e}"))?;
    let status = r.status();
    let v: Value = r
        .json()
        .await
        .map_err(|e| format!("advance to {to}: {e}"))?;
    if !status.is_success() {
        return Err(format!("advance to {to}: HTTP {status}: {v}"));
    }
    let now = v["now"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| format!("advance to {to}: no time in {v}"))?;
    Ok((now, v["webhook"].clone()))
}

/// The minute key `YYYY-MM-DDTHH:MM` of the event store as a UTC time.
fn minute_time(key: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(&format!("{key}:00"), "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|n| n.and_utc())
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let scenario = Scenario::from_file(&args.scenario).map_err(|e| e.to_string())?;
    let zone: Tz = scenario
        .time_zone
        .parse()
        .map_err(|_| format!("scenario time zone {:?} is unknown", scenario.time_zone))?;
    let endpoint = env("AWS_ENDPOINT_URL")?;
    let issuer = env("CXONE_ISSUER")?;
    let admin = AdminClient::new(issuer.clone());
    let http = reqwest::Client::new();
    let sdk = local_stack::aws::local_sdk_config(&endpoint);
    let dynamo = local_stack::aws::dynamodb(&sdk);

    let prefix = format!("demo-{}", Utc::now().timestamp());
    let tables = TableNames::with_prefix(&prefix);
    local_stack::create_tables(&dynamo, "template.yaml", &tables)
        .await
        .map_err(|e| e.to_string())?;
    let secret_id = format!("{prefix}/cxone");
    let c = &scenario.credentials;
    let secret = json!({"accessKeyId": c.access_key_id, "accessKeySecret": c.access_key_secret,
        "clientId": c.client_id, "clientSecret": c.client_secret, "webhookSecrets": [WEBHOOK_SECRET]});
    local_stack::put_secret(
        &local_stack::aws::secretsmanager(&sdk),
        &secret_id,
        &secret.to_string(),
    )
    .await
    .map_err(|e| e.to_string())?;

    let mut function_env: Vec<(String, String)> = tables
        .env_vars()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    function_env.extend([
        ("CXONE_SECRET_ID".to_owned(), secret_id.clone()),
        ("CXONE_ISSUER".to_owned(), issuer.clone()),
        ("RUST_LOG".to_owned(), "warn".to_owned()),
    ]);
    let api = Arc::new(
        FunctionProcess::spawn(binary("campaign-api")?, function_env.clone())
            .await
            .map_err(|e| e.to_string())?,
    );
    let tuner = FunctionProcess::spawn(binary("capacity-tuner")?, function_env.clone())
        .await
        .map_err(|e| e.to_string())?;

    let start = admin.clock().await.map_err(|e| e.to_string())?;
    println!(
        "Outbound autopilot: a simulated day ({})",
        args.scenario.display()
    );
    println!(
        "  simulator {issuer}, moto {endpoint}, tables {prefix}-*, day starts {} {}",
        start.with_timezone(&zone).format("%a %Y-%m-%d %H:%M"),
        scenario.time_zone
    );

    let failover_pairs: Vec<(i64, i64)> = scenario
        .skills
        .iter()
        .filter_map(|s| {
            campaign_config(&scenario, s.skill_id)["failover"]["backupSkillId"]
                .as_i64()
                .map(|b| (s.skill_id, b))
        })
        .collect();
    // The webhook path: simulator -> local API Gateway (simulated clock) -> webhook-ingest.
    let clock = ApiClock::settable(start);
    // The dashboard: campaign-api behind its own front on the same clock.
    let dashboard = match args.serve {
        true => Some(
            ApiGateway::builder()
                .routes(CAMPAIGN_API_ROUTES, &api)
                .map_err(|e| e.to_string())?
                .local_jwt("/ui/")
                .clock(clock.clone())
                .start()
                .await
                .map_err(|e| e.to_string())?,
        ),
        false => None,
    };
    if let Some(front) = &dashboard {
        println!(
            "  dashboard: {}/dashboard (local: no sign-in, acting as {})",
            front.base_url(),
            local_stack::apigw::LOCAL_SUPERVISOR
        );
    }
    let mut gateway: Option<ApiGateway> = None;
    let mut webhook: Option<WebhookConfig> = None;
    if args.webhook {
        let ingest = FunctionProcess::spawn(binary("webhook-ingest")?, function_env.clone())
            .await
            .map_err(|e| e.to_string())?;
        let gw = ApiGateway::builder()
            .route("POST /webhooks/cxone", Arc::new(ingest))
            .map_err(|e| e.to_string())?
            .clock(clock.clone())
            .start()
            .await
            .map_err(|e| e.to_string())?;
        let mut cfg =
            WebhookConfig::new(format!("{}/webhooks/cxone", gw.base_url()), WEBHOOK_SECRET);
        cfg.batch_size = WEBHOOK_BATCH;
        cfg.timeout_ms = 30_000;
        cfg.enabled = false;
        cfg.outcomes = Some(WEBHOOK_OUTCOMES.iter().map(|o| (*o).to_owned()).collect());
        let covered: Vec<i64> = failover_pairs.iter().flat_map(|(p, b)| [*p, *b]).collect();
        if !covered.is_empty() {
            cfg.skill_ids = Some(covered.clone());
        }
        admin.set_webhook(&cfg).await.map_err(|e| e.to_string())?;
        println!(
            "  webhooks: simulator -> {}/webhooks/cxone (local API Gateway on the simulated clock) -> webhook-ingest,",
            gw.base_url()
        );
        println!(
            "    signed with the demo secret, batches of up to {WEBHOOK_BATCH}; {} outcomes of {} from {:02}:{:02} to {:02}:{:02}",
            WEBHOOK_OUTCOMES.join("/"),
            if covered.is_empty() {
                "every skill".to_owned()
            } else {
                covered.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            },
            WEBHOOK_ON.0,
            WEBHOOK_ON.1,
            WEBHOOK_OFF.0,
            WEBHOOK_OFF.1
        );
        gateway = Some(gw);
        webhook = Some(cfg);
    }
    let checker = match (failover_pairs.is_empty(), binary("failover-checker")) {
        (true, _) => None,
        (false, Ok(path)) => Some(
            FunctionProcess::spawn(path, function_env)
                .await
                .map_err(|e| e.to_string())?,
        ),
        (false, Err(_)) => {
            println!(
                "  failover: not available (target/debug/failover-checker is not built); the day runs without it"
            );
            None
        }
    };
    if checker.is_some() {
        println!(
            "  failover-checker every {} simulated minute(s) for {}",
            args.checker_every,
            failover_pairs
                .iter()
                .map(|(p, b)| format!("{p} (backup {b})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!();
    println!("Configuring campaigns through campaign-api (PUT /campaigns/{{skillId}}/config):");
    let skills: Vec<i64> = scenario.skills.iter().map(|s| s.skill_id).collect();
    for skill_id in &skills {
        let body = campaign_config(&scenario, *skill_id);
        let response = api
            .invoke(config_event(*skill_id, &body, start), INVOKE_TIMEOUT)
            .await
            .map_err(|e| format!("campaign-api: {e}"))?;
        let failover = match body["failover"].as_object() {
            Some(f) => format!(
                ", failover to {} below {} over {} min (at least {} samples)",
                f.get("backupSkillId").unwrap_or(&Value::Null),
                f.get("threshold").unwrap_or(&Value::Null),
                f.get("windowMinutes").unwrap_or(&Value::Null),
                f.get("minSamples").unwrap_or(&Value::Null)
            ),
            None => String::new(),
        };
        println!(
            "  skill {skill_id}: HTTP {}{failover}",
            response["statusCode"]
        );
        if response["statusCode"] != 200 {
            return Err(format!(
                "config for {skill_id} refused: {}",
                response["body"]
            ));
        }
    }

    let end = start + ChronoDuration::hours(args.hours);
    let mut rows: BTreeMap<(i64, DateTime<Utc>), HourRow> = BTreeMap::new();
    let mut webhook_hours: BTreeMap<DateTime<Utc>, WebhookHour> = BTreeMap::new();
    let (mut webhook_on, mut webhook_off): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        (None, None);
    let mut failovers: Vec<FailoverSeen> = Vec::new();
    let mut checker_failures = 0usize;
    let mut checks = 0usize;
    let mut last_check = Value::Null;
    let mut notes: Vec<String> = Vec::new();
    let mut now = start;
    let mut ticks = 0usize;
    // Real time in the tuner, the checker, and clock advances (with their webhook deliveries).
    let mut spent = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let wall = std::time::Instant::now();
    let mut last_event = Value::Null;
    while now < end {
        let local = now.with_timezone(&zone);
        let minutes_in = (now - start).num_minutes();
        if minutes_in % TICK_MINUTES == 0 {
            let mut faults: Vec<Value> = Vec::new();
            if args.person_edit_at == Some(local.hour()) && local.minute() == 0 {
                // A supervisor lowers the first campaign's ratio in the CXone UI
                // right between the tuner's read and its write.
                faults.push(json!({"kind": "personEdit", "skillId": skills[0],
                    "fields": {"maximumRatio": 1.05}, "afterReads": 1}));
                notes.push(format!(
                    "{} a supervisor sets maximumRatio 1.05 on {} in CXone between the tuner's read and write",
                    local.format("%H:%M"),
                    skills[0]
                ));
            }
            if let Some(cfg) = webhook.as_mut() {
                let hhmm = (local.hour(), local.minute());
                if hhmm == WEBHOOK_ON && !cfg.enabled {
                    webhook_on = Some(now);
                    cfg.enabled = true;
                    admin.set_webhook(cfg).await.map_err(|e| e.to_string())?;
                    notes.push(format!(
                        "{} webhooks switched on (PUT /admin/webhook)",
                        local.format("%H:%M")
                    ));
                } else if hhmm == WEBHOOK_OFF && cfg.enabled {
                    webhook_off = Some(now);
                    cfg.enabled = false;
                    admin.set_webhook(cfg).await.map_err(|e| e.to_string())?;
                    notes.push(format!(
                        "{} webhooks switched off (PUT /admin/webhook {{\"enabled\": false}})",
                        local.format("%H:%M")
                    ));
                }
                if hhmm == DUPLICATE_AT {
                    faults.push(json!({"kind": "webhookDuplicate", "count": DUPLICATE_BATCHES}));
                    notes.push(format!(
                        "{} the simulator posts its next {DUPLICATE_BATCHES} webhook batches twice (at-least-once delivery)",
                        local.format("%H:%M")
                    ));
                }
            }
            if !faults.is_empty() {
                let faults: Vec<Fault> =
                    serde_json::from_value(Value::Array(faults)).map_err(|e| e.to_string())?;
                admin.set_faults(faults).await.map_err(|e| e.to_string())?;
            }
            let event = tick_event(now);
            let t0 = std::time::Instant::now();
            let report = tuner
                .invoke(event.clone(), INVOKE_TIMEOUT)
                .await
                .map_err(|e| format!("capacity-tuner at {now}: {e}"))?;
            spent.0 += t0.elapsed();
            last_event = event;
            ticks += 1;
            let hour = hour_of(now, &zone);
            for campaign in report["campaigns"].as_array().into_iter().flatten() {
                let skill = campaign["skillId"].as_i64().unwrap_or_default();
                let row = rows.entry((skill, hour)).or_default();
                if let Some(ratio) = campaign["maximumRatio"].as_f64() {
                    row.ratio_last = Some(ratio);
                }
                row.writes += campaign["fieldsWritten"].as_u64().unwrap_or(0) as usize;
                let overrides = campaign["overrides"].as_u64().unwrap_or(0) as usize;
                row.holds += overrides;
                if campaign["outcome"] == "failed" {
                    notes.push(format!(
                        "{} {skill} failed: {}",
                        local.format("%H:%M"),
                        campaign["message"]
                    ));
                }
            }
        }
        if let Some(checker) = &checker {
            if minutes_in % args.checker_every == 0 {
                let event = check_event(now);
                let t0 = std::time::Instant::now();
                let report = checker
                    .invoke(event.clone(), INVOKE_TIMEOUT)
                    .await
                    .map_err(|e| format!("failover-checker at {now}: {e}"))?;
                spent.1 += t0.elapsed();
                checks += 1;
                last_check = event;
                for campaign in report["campaigns"].as_array().into_iter().flatten() {
                    match campaign["outcome"].as_str() {
                        Some("failed_over") => {
                            let ev = &campaign["evidence"];
                            failovers.push(FailoverSeen {
                                at: now,
                                primary: campaign["skillId"].as_i64().unwrap_or_default(),
                                backup: campaign["backupSkillId"].as_i64(),
                                rate: ev["rate"].as_f64(),
                                samples: ev["samples"].as_u64().unwrap_or(0),
                                window_minutes: ev["windowMinutes"].as_u64().unwrap_or(0),
                                threshold: ev["threshold"].as_f64().unwrap_or(f64::NAN),
                                min_samples: ev["minSamples"].as_u64().unwrap_or(0),
                            });
                        }
                        Some("failed") => {
                            checker_failures += 1;
                            if checker_failures <= 3 {
                                notes.push(format!(
                                    "{} failover-checker, campaign {}: {}",
                                    local.format("%H:%M"),
                                    campaign["skillId"],
                                    campaign["message"]
                                ));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        now += ChronoDuration::minutes(1);
        // The gateway's request time follows the simulator, which signs at its own time.
        clock.set(now);
        let t0 = std::time::Instant::now();
        let (_, summary) = advance(&http, &issuer, now).await?;
        spent.2 += t0.elapsed();
        if summary.is_object() {
            let h = webhook_hours
                .entry(hour_of(now - ChronoDuration::seconds(1), &zone))
                .or_default();
            h.batches += summary["batches"].as_u64().unwrap_or(0);
            h.events += summary["events"].as_u64().unwrap_or(0);
            h.accepted += summary["accepted"].as_u64().unwrap_or(0);
            h.duplicates += summary["duplicates"].as_u64().unwrap_or(0);
        }
    }
    let day_wall = wall.elapsed().as_secs_f64();

    let audit = AuditStore::new(dynamo.clone(), tables.audit.clone());
    let events = EventStore::new(dynamo.clone(), tables.state.clone());
    let mut audit_total = 0usize;
    let mut stored_total = Counts::default();
    for skill_id in &skills {
        let truth = admin
            .truth(*skill_id, start, end)
            .await
            .map_err(|e| e.to_string())?;
        let records = audit.all_for(*skill_id).await.map_err(|e| e.to_string())?;
        audit_total += records.len();
        let mut counted: BTreeMap<DateTime<Utc>, Counts> = BTreeMap::new();
        for (minute, counts) in events
            .minute_counts(*skill_id, start, end)
            .await
            .map_err(|e| e.to_string())?
        {
            stored_total.add(&counts);
            if let Some(t) = minute_time(&minute) {
                counted.entry(hour_of(t, &zone)).or_default().add(&counts);
            }
        }
        let mut per_hour: BTreeMap<DateTime<Utc>, TruthCounters> = BTreeMap::new();
        let mut ratio_live: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
        for interval in &truth.intervals {
            let hour = hour_of(interval.start, &zone);
            let agg = per_hour.entry(hour).or_default();
            let c = &interval.counters;
            agg.dials += c.dials;
            agg.live_answers += c.live_answers;
            agg.connects += c.connects;
            agg.abandons += c.abandons;
            agg.talk_seconds += c.talk_seconds;
            agg.wrap_seconds += c.wrap_seconds;
            agg.staffed_agent_seconds += c.staffed_agent_seconds;
            agg.logged_in_agent_seconds += c.logged_in_agent_seconds;
            agg.dials_outside_legal_hours += c.dials_outside_legal_hours;
            ratio_live.insert(hour, interval.maximum_ratio);
        }
        let name = scenario
            .skills
            .iter()
            .find(|s| s.skill_id == *skill_id)
            .map(|s| s.skill_name.clone())
            .unwrap_or_default();
        println!();
        println!(
            "Campaign {skill_id} ({name}): hour by hour ({})",
            scenario.time_zone
        );
        println!(
            "  {:<5} {:>7} {:>8} {:>6} {:>6} {:>6} {:>8} {:>8} {:>7} {:>7} {:>6} {:>7} {:>6}",
            "hour",
            "agents",
            "ratio",
            "writes",
            "dials",
            "live",
            "abandons",
            "aband %",
            "util %",
            "busy %",
            "audit",
            "events",
            "succ %"
        );
        let mut day = TruthCounters::default();
        let mut day_counted = Counts::default();
        for (hour, c) in &per_hour {
            if c.dials == 0 && c.staffed_agent_seconds < 180.0 {
                continue; // before the first agent logs in or after the last leaves
            }
            let row = rows.get(&(*skill_id, *hour));
            let audits = records
                .iter()
                .filter(|r| r.at >= *hour && r.at < *hour + ChronoDuration::hours(1))
                .count();
            let ratio = ratio_live
                .get(hour)
                .copied()
                .or(row.and_then(|r| r.ratio_last))
                .unwrap_or(f64::NAN);
            let held = row.map_or(0, |r| r.holds);
            let ev = counted.get(hour).cloned().unwrap_or_default();
            day_counted.add(&ev);
            println!(
                "  {:<5} {:>7.1} {:>7.2}{} {:>6} {:>6} {:>6} {:>8} {:>7.2}% {:>6.1}% {:>6.1}% {:>6} {:>7} {:>6}",
                hour.with_timezone(&zone).format("%H:%M"),
                c.staffed_agent_seconds / 3600.0,
                ratio,
                if held > 0 { "*" } else { " " },
                row.map_or(0, |r| r.writes),
                c.dials,
                c.live_answers,
                c.abandons,
                pct(c.abandons as f64, c.live_answers as f64),
                pct(c.talk_seconds, c.logged_in_agent_seconds),
                pct(c.talk_seconds + c.wrap_seconds, c.logged_in_agent_seconds),
                audits,
                ev.events,
                ev.success_rate()
                    .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", 100.0 * r))
            );
            day.dials += c.dials;
            day.live_answers += c.live_answers;
            day.abandons += c.abandons;
            day.talk_seconds += c.talk_seconds;
            day.wrap_seconds += c.wrap_seconds;
            day.logged_in_agent_seconds += c.logged_in_agent_seconds;
            day.dials_outside_legal_hours += c.dials_outside_legal_hours;
        }
        println!(
            "  {:<5} {:>7} {:>8} {:>6} {:>6} {:>6} {:>8} {:>7.2}% {:>6.1}% {:>6.1}% {:>6} {:>7} {:>6}",
            "day",
            "",
            "",
            rows.iter()
                .filter(|((s, _), _)| s == skill_id)
                .map(|(_, r)| r.writes)
                .sum::<usize>(),
            day.dials,
            day.live_answers,
            day.abandons,
            pct(day.abandons as f64, day.live_answers as f64),
            pct(day.talk_seconds, day.logged_in_agent_seconds),
            pct(
                day.talk_seconds + day.wrap_seconds,
                day.logged_in_agent_seconds
            ),
            records.len(),
            day_counted.events,
            day_counted
                .success_rate()
                .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", 100.0 * r))
        );
        println!(
            "  dials outside 08:00-21:00 local: {}",
            day.dials_outside_legal_hours
        );
        println!("  {}", verdict(&day));
    }
    println!();
    println!("  agents = staffed (available + on a call), hourly mean; ratio = maximumRatio live at the hour's end;");
    println!("  * = a person's change was respected that hour; util = talk / logged-in time; busy = talk + wrap;");
    println!("  events = contact.completed events counted by webhook-ingest (each once); succ = success / (success + failure + abandoned).");

    if let Some(gw) = &gateway {
        let status = admin.webhook().await.map_err(|e| e.to_string())?;
        println!();
        println!("Webhook events, hour by hour (simulator -> API Gateway -> webhook-ingest):");
        println!(
            "  {:<5} {:>8} {:>8} {:>9} {:>10}",
            "hour", "batches", "posted", "accepted", "duplicates"
        );
        let mut total = WebhookHour::default();
        for (hour, h) in &webhook_hours {
            if h.batches == 0 {
                continue;
            }
            println!(
                "  {:<5} {:>8} {:>8} {:>9} {:>10}",
                hour.with_timezone(&zone).format("%H:%M"),
                h.batches,
                h.events,
                h.accepted,
                h.duplicates
            );
            total.batches += h.batches;
            total.events += h.events;
            total.accepted += h.accepted;
            total.duplicates += h.duplicates;
        }
        println!(
            "  {:<5} {:>8} {:>8} {:>9} {:>10}",
            "day", total.batches, total.events, total.accepted, total.duplicates
        );
        // What the simulator completed while switched on, for the skills and outcomes posted.
        let mut expected = 0usize;
        if let (Some(on), Some(cfg)) = (webhook_on, webhook.as_ref()) {
            let off = webhook_off.unwrap_or(end);
            for skill_id in skills.iter().filter(|s| cfg.covers(**s)) {
                expected += admin
                    .contacts(*skill_id, on, off)
                    .await
                    .map_err(|e| e.to_string())?
                    .iter()
                    .filter(|c| WEBHOOK_OUTCOMES.contains(&c.outcome.as_str()))
                    .count();
            }
        }
        println!(
            "  contacts to post (completed while switched on): {expected}; events counted by the intake: {}{}",
            stored_total.events,
            if expected as u64 == stored_total.events {
                " (each exactly once)"
            } else {
                " (MISMATCH)"
            }
        );
        println!(
            "  re-posted batches: {}; retries: {}; still queued: {}; gateway answers 2xx/other/errors: {}/{}/{}",
            status.stats.batches_reposted,
            status.stats.retries,
            status.queued,
            gw.stats().ok.load(Ordering::Relaxed),
            gw.stats().non_2xx.load(Ordering::Relaxed),
            gw.stats().gateway_errors.load(Ordering::Relaxed),
        );
        if expected as u64 != stored_total.events {
            notes.push(format!(
                "the intake counted {} events for {expected} contacts posted",
                stored_total.events
            ));
        }
    }

    if checker.is_some() {
        println!();
        println!("Failover ({checks} failover-checker runs):");
        let requests = admin.requests().await.map_err(|e| e.to_string())?;
        for (primary, backup) in &failover_pairs {
            let backup_starts = requests
                .iter()
                .filter(|r| {
                    r.method == "POST"
                        && r.status < 300
                        && r.path.ends_with(&format!("/skills/{backup}/start"))
                })
                .count();
            let seen: Vec<&FailoverSeen> =
                failovers.iter().filter(|f| f.primary == *primary).collect();
            if seen.is_empty() {
                println!("  {primary}: no failover today (backup {backup})");
            }
            for f in &seen {
                println!(
                    "  {} {} failed over to {}: success rate {} over the last {} min from {} samples \
                     (threshold {}, at least {} samples)",
                    f.at.with_timezone(&zone).format("%H:%M"),
                    f.primary,
                    f.backup.unwrap_or(*backup),
                    f.rate
                        .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", 100.0 * r)),
                    f.window_minutes,
                    f.samples,
                    f.threshold,
                    f.min_samples
                );
            }
            let mut transitions: BTreeMap<String, usize> = BTreeMap::new();
            for r in audit.all_for(*primary).await.map_err(|e| e.to_string())? {
                if r.actor == "failover-checker" && r.action.starts_with("fail") {
                    *transitions.entry(r.action).or_default() += 1;
                }
            }
            let primary_state = admin
                .skill_state(*primary)
                .await
                .map_err(|e| e.to_string())?;
            let backup_state = admin
                .skill_state(*backup)
                .await
                .map_err(|e| e.to_string())?;
            let once = seen.len() == 1
                && backup_starts == 1
                && primary_state["running"] == false
                && backup_state["running"] == true;
            println!(
                "  {primary}: failovers reported {}, CXone started {backup} {backup_starts} time(s); at day's end {primary} running={}, \
                 {backup} running={}{}",
                seen.len(),
                primary_state["running"],
                backup_state["running"],
                if once { " -> failed over exactly once" } else { "" }
            );
            println!(
                "  {primary}: audited transitions: {}",
                if transitions.is_empty() {
                    "none".to_owned()
                } else {
                    transitions
                        .iter()
                        .map(|(a, n)| format!("{a} x{n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
        }
        if checker_failures > 0 {
            println!("  failover-checker campaign failures: {checker_failures}");
        }
    }

    // Replaying the day's last event must change nothing.
    let before = audit_total;
    let replay = tuner
        .invoke(last_event, INVOKE_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    if let (Some(checker), false) = (&checker, last_check.is_null()) {
        checker
            .invoke(last_check, INVOKE_TIMEOUT)
            .await
            .map_err(|e| format!("failover-checker replay: {e}"))?;
    }
    let mut after = 0usize;
    for skill_id in &skills {
        after += audit
            .all_for(*skill_id)
            .await
            .map_err(|e| e.to_string())?
            .len();
    }
    println!();
    for note in &notes {
        println!("  note: {note}");
    }
    println!(
        "real time: tuner {:.1} s, failover-checker {:.1} s, clock advances with webhook deliveries {:.1} s",
        spent.0.as_secs_f64(),
        spent.1.as_secs_f64(),
        spent.2.as_secs_f64()
    );
    println!(
        "{ticks} ticks through the capacity-tuner binary{} in {day_wall:.1} s; audit records: {audit_total}; \
         replaying the last events: {} campaigns reported, {} new audit records",
        if checks > 0 {
            format!(", {checks} through failover-checker")
        } else {
            String::new()
        },
        replay["campaigns"].as_array().map_or(0, Vec::len),
        after - before
    );
    if let Some(front) = dashboard {
        println!();
        println!(
            "Dashboard: {}/dashboard (the simulated day as of {}); serving until Ctrl-C",
            front.base_url(),
            end.with_timezone(&zone).format("%H:%M")
        );
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
        println!("demo: stopping the dashboard");
        front.shutdown().await;
    }
    if let Some(gw) = gateway {
        gw.shutdown().await;
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("demo: {e}");
        std::process::exit(1);
    }
}
