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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;
use cxone_sim::{AdminClient, Fault, Scenario, TruthCounters};
use local_stack::{FunctionProcess, TableNames};
use serde_json::{json, Value};
use shared::store::audit::AuditStore;

const TICK_MINUTES: i64 = 5;
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);

struct Args {
    scenario: PathBuf,
    hours: i64,
    person_edit_at: Option<u32>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        scenario: PathBuf::from("infra/scenarios/demo-day.json"),
        hours: 13,
        person_edit_at: Some(13),
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
            "-h" | "--help" => {
                println!("usage: demo [--scenario FILE] [--hours N] [--no-person-edit]");
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
    json!({
        "version": "0",
        "id": format!("demo-tick-{}", time.timestamp()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/capacity-tuner-every-5-min"],
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
        "clientId": c.client_id, "clientSecret": c.client_secret, "webhookSecrets": ["demo-webhook-secret"]});
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
    let api = FunctionProcess::spawn(binary("campaign-api")?, function_env.clone())
        .await
        .map_err(|e| e.to_string())?;
    let tuner = FunctionProcess::spawn(binary("capacity-tuner")?, function_env)
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
    println!();
    println!("Configuring campaigns through campaign-api (PUT /campaigns/{{skillId}}/config):");
    let skills: Vec<i64> = scenario.skills.iter().map(|s| s.skill_id).collect();
    for skill_id in &skills {
        let body = json!({
            "enabled": true,
            "timeZone": scenario.time_zone,
            "recipientTimeZones": [scenario.time_zone],
            "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}
        });
        let response = api
            .invoke(config_event(*skill_id, &body, start), INVOKE_TIMEOUT)
            .await
            .map_err(|e| format!("campaign-api: {e}"))?;
        println!("  skill {skill_id}: HTTP {}", response["statusCode"]);
        if response["statusCode"] != 200 {
            return Err(format!(
                "config for {skill_id} refused: {}",
                response["body"]
            ));
        }
    }

    let end = start + ChronoDuration::hours(args.hours);
    let mut rows: BTreeMap<(i64, DateTime<Utc>), HourRow> = BTreeMap::new();
    let mut notes: Vec<String> = Vec::new();
    let mut now = start;
    let mut ticks = 0usize;
    let wall = std::time::Instant::now();
    let mut last_event = Value::Null;
    while now < end {
        let local = now.with_timezone(&zone);
        if args.person_edit_at == Some(local.hour()) && local.minute() == 0 {
            // A supervisor lowers the first campaign's ratio in the CXone UI
            // right between the tuner's read and its write.
            let fault: Fault =
                serde_json::from_value(json!({"kind": "personEdit", "skillId": skills[0],
                "fields": {"maximumRatio": 1.05}, "afterReads": 1}))
                .map_err(|e| e.to_string())?;
            admin
                .set_faults(vec![fault])
                .await
                .map_err(|e| e.to_string())?;
            notes.push(format!(
                "{} a supervisor sets maximumRatio 1.05 on {} in CXone between the tuner's read and write",
                local.format("%H:%M"),
                skills[0]
            ));
        }
        let event = tick_event(now);
        let report = tuner
            .invoke(event.clone(), INVOKE_TIMEOUT)
            .await
            .map_err(|e| format!("capacity-tuner at {now}: {e}"))?;
        last_event = event;
        ticks += 1;
        let hour = now
            - ChronoDuration::minutes(i64::from(local.minute()))
            - ChronoDuration::seconds(i64::from(local.second()));
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
        now += ChronoDuration::minutes(TICK_MINUTES);
        admin.advance_to(now).await.map_err(|e| e.to_string())?;
    }

    let audit = AuditStore::new(dynamo.clone(), tables.audit.clone());
    let mut audit_total = 0usize;
    for skill_id in &skills {
        let truth = admin
            .truth(*skill_id, start, end)
            .await
            .map_err(|e| e.to_string())?;
        let records = audit.all_for(*skill_id).await.map_err(|e| e.to_string())?;
        audit_total += records.len();
        let mut per_hour: BTreeMap<DateTime<Utc>, TruthCounters> = BTreeMap::new();
        let mut ratio_live: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
        for interval in &truth.intervals {
            let local = interval.start.with_timezone(&zone);
            let hour = interval.start - ChronoDuration::minutes(i64::from(local.minute()));
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
            "  {:<5} {:>7} {:>8} {:>6} {:>6} {:>6} {:>8} {:>8} {:>7} {:>7} {:>6}",
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
            "audit"
        );
        let mut day = TruthCounters::default();
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
            println!(
                "  {:<5} {:>7.1} {:>7.2}{} {:>6} {:>6} {:>6} {:>8} {:>7.2}% {:>6.1}% {:>6.1}% {:>6}",
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
                audits
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
            "  {:<5} {:>7} {:>8} {:>6} {:>6} {:>6} {:>8} {:>7.2}% {:>6.1}% {:>6.1}% {:>6}",
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
            records.len()
        );
        println!(
            "  dials outside 08:00-21:00 local: {}",
            day.dials_outside_legal_hours
        );
    }
    println!();
    println!("  agents = staffed (available + on a call), hourly mean; ratio = maximumRatio live at the hour's end;");
    println!("  * = a person's change was respected that hour; util = talk / logged-in time; busy = talk + wrap.");

    // Replaying the day's last event must change nothing.
    let before = audit_total;
    let replay = tuner
        .invoke(last_event, INVOKE_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
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
        "{ticks} ticks through the capacity-tuner binary in {:.1} s; audit records: {audit_total}; \
         replaying the last event: {} campaigns reported, {} new audit records",
        wall.elapsed().as_secs_f64(),
        replay["campaigns"].as_array().map_or(0, Vec::len),
        after - before
    );
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("demo: {e}");
        std::process::exit(1);
    }
}
