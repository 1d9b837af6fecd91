//! The simulated day: minute by minute, the faults and webhook switches of
//! the hour, the tuner every 5 minutes, the failover checker every
//! `--checker-every` minutes, then the simulator's clock (and the fronts')
//! one minute on, with the webhook batches it posted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as ChronoDuration, Timelike, Utc};
use chrono_tz::Tz;
use cxone_sim::{Fault, WebhookConfig};
use serde_json::{json, Value};

use crate::args::Args;
use crate::events::{check_event, tick_event};
use crate::fanout::FannedOut;
use crate::hours::hour_of;
use crate::setup::{DayServices, Stack};
use crate::{DUPLICATE_AT, DUPLICATE_BATCHES, TICK_MINUTES, WEBHOOK_OFF, WEBHOOK_ON};

/// The tuner's decisions for one campaign in one local hour.
#[derive(Default)]
pub struct HourRow {
    /// The last `maximumRatio` the tuner reported that hour.
    pub ratio_last: Option<f64>,
    /// Fields the tuner wrote.
    pub writes: usize,
    /// Changes a person made that the tuner respected.
    pub holds: usize,
}

/// Webhook traffic of one local hour, from the simulator's advance answers.
#[derive(Default)]
pub struct WebhookHour {
    /// Batches posted.
    pub batches: u64,
    /// Events posted.
    pub events: u64,
    /// Events the intake accepted.
    pub accepted: u64,
    /// Events the intake had already counted.
    pub duplicates: u64,
}

/// A failover the checker reported.
pub struct FailoverSeen {
    /// When the checker failed the campaign over.
    pub at: DateTime<Utc>,
    /// The primary skill.
    pub primary: i64,
    /// The backup skill started.
    pub backup: Option<i64>,
    /// The success rate that caused it.
    pub rate: Option<f64>,
    /// The samples the rate was taken over.
    pub samples: u64,
    /// The window the rate was taken over, minutes.
    pub window_minutes: u64,
    /// The config's threshold.
    pub threshold: f64,
    /// The config's minimum samples.
    pub min_samples: u64,
}

/// What the day loop saw, for the report.
#[derive(Default)]
pub struct DayLog {
    /// The tuner's decisions per (skill, local hour).
    pub rows: BTreeMap<(i64, DateTime<Utc>), HourRow>,
    /// Webhook traffic per local hour.
    pub webhook_hours: BTreeMap<DateTime<Utc>, WebhookHour>,
    /// When webhooks were switched on.
    pub webhook_on: Option<DateTime<Utc>>,
    /// When webhooks were switched off.
    pub webhook_off: Option<DateTime<Utc>>,
    /// The failovers the checker reported.
    pub failovers: Vec<FailoverSeen>,
    /// Campaign failures the checker reported.
    pub checker_failures: usize,
    /// failover-checker invocations.
    pub checks: usize,
    /// The last event the checker got (null when it never ran).
    pub last_check: Value,
    /// Notes printed after the report.
    pub notes: Vec<String>,
    /// capacity-tuner invocations.
    pub ticks: usize,
    /// Real time in the tuner, the checker, and clock advances (with their
    /// webhook deliveries).
    pub spent: (Duration, Duration, Duration),
    /// Real time of the whole day loop, seconds.
    pub day_wall: f64,
    /// The last event the tuner got.
    pub last_event: Value,
    /// Tasks the functions left for redelivery (storage failures, poison).
    pub task_failures: usize,
    /// Tasks the ticks dispatched (tuner and checker).
    pub tasks: usize,
    /// Batches the local event source mappings invoked the functions with.
    pub task_batches: usize,
}

/// Runs the day from the stack's start to `end`, one simulated minute at a time.
pub async fn run_day(
    stack: &Stack,
    services: &mut DayServices,
    args: &Args,
    end: DateTime<Utc>,
) -> Result<DayLog, String> {
    let mut log = DayLog::default();
    let mut now = stack.start;
    let wall = Instant::now();
    while now < end {
        let minutes_in = (now - stack.start).num_minutes();
        if minutes_in % TICK_MINUTES == 0 {
            set_faults(stack, services.webhook.as_mut(), args, now, &mut log).await?;
            tuner_tick(stack, now, &mut log).await?;
        }
        if let Some(checker) = &services.checker {
            if minutes_in % args.checker_every == 0 {
                checker_tick(checker, now, &stack.zone, &mut log).await?;
            }
        }
        now += ChronoDuration::minutes(1);
        // The gateway's request time follows the simulator, which signs at its own time.
        services.clock.set(now);
        let t0 = Instant::now();
        let (_, summary) = advance(&stack.http, &stack.issuer, now).await?;
        log.spent.2 += t0.elapsed();
        if summary.is_object() {
            let hour = hour_of(now - ChronoDuration::seconds(1), &stack.zone);
            count_webhooks(&mut log, &summary, hour);
        }
    }
    log.day_wall = wall.elapsed().as_secs_f64();
    Ok(log)
}

/// At a tuner tick: the supervisor's edit at 13:00 (unless
/// `--no-person-edit`), the webhooks switched on at [`WEBHOOK_ON`] and off
/// at [`WEBHOOK_OFF`], and duplicate batches at [`DUPLICATE_AT`], each with
/// its note.
async fn set_faults(
    stack: &Stack,
    webhook: Option<&mut WebhookConfig>,
    args: &Args,
    now: DateTime<Utc>,
    log: &mut DayLog,
) -> Result<(), String> {
    let local = now.with_timezone(&stack.zone);
    let mut faults: Vec<Value> = Vec::new();
    if args.person_edit_at() == Some(local.hour()) && local.minute() == 0 {
        // A supervisor lowers the first campaign's ratio in the CXone UI
        // right between the tuner's read and its write.
        faults.push(json!({"kind": "personEdit", "skillId": stack.skills[0],
            "fields": {"maximumRatio": 1.05}, "afterReads": 1}));
        log.notes.push(format!(
            "{} a supervisor sets maximumRatio 1.05 on {} in CXone between the tuner's read and write",
            local.format("%H:%M"),
            stack.skills[0]
        ));
    }
    if let Some(cfg) = webhook {
        let hhmm = (local.hour(), local.minute());
        if hhmm == WEBHOOK_ON && !cfg.enabled {
            log.webhook_on = Some(now);
            cfg.enabled = true;
            stack
                .admin
                .set_webhook(cfg)
                .await
                .map_err(|e| e.to_string())?;
            log.notes.push(format!(
                "{} webhooks switched on (PUT /admin/webhook)",
                local.format("%H:%M")
            ));
        } else if hhmm == WEBHOOK_OFF && cfg.enabled {
            log.webhook_off = Some(now);
            cfg.enabled = false;
            stack
                .admin
                .set_webhook(cfg)
                .await
                .map_err(|e| e.to_string())?;
            log.notes.push(format!(
                "{} webhooks switched off (PUT /admin/webhook {{\"enabled\": false}})",
                local.format("%H:%M")
            ));
        }
        if hhmm == DUPLICATE_AT {
            faults.push(json!({"kind": "webhookDuplicate", "count": DUPLICATE_BATCHES}));
            log.notes.push(format!(
                "{} the simulator posts its next {DUPLICATE_BATCHES} webhook batches twice (at-least-once delivery)",
                local.format("%H:%M")
            ));
        }
    }
    if !faults.is_empty() {
        let faults: Vec<Fault> =
            serde_json::from_value(Value::Array(faults)).map_err(|e| e.to_string())?;
        stack
            .admin
            .set_faults(faults)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Invokes capacity-tuner with the schedule's event at `now` and records
/// each campaign's ratio, writes and respected changes in its hour's row.
async fn tuner_tick(stack: &Stack, now: DateTime<Utc>, log: &mut DayLog) -> Result<(), String> {
    let local = now.with_timezone(&stack.zone);
    let event = tick_event(now);
    let t0 = Instant::now();
    let outcome = stack
        .tuner
        .tick(event.clone())
        .await
        .map_err(|e| format!("capacity-tuner at {now}: {e}"))?;
    log.spent.0 += t0.elapsed();
    log.last_event = event;
    log.ticks += 1;
    let hour = hour_of(now, &stack.zone);
    log.task_failures += outcome.failures;
    log.tasks += outcome.dispatched;
    log.task_batches += outcome.invocations;
    for campaign in &outcome.campaigns {
        let skill = campaign["skillId"].as_i64().unwrap_or_default();
        let row = log.rows.entry((skill, hour)).or_default();
        if let Some(ratio) = campaign["maximumRatio"].as_f64() {
            row.ratio_last = Some(ratio);
        }
        row.writes += campaign["fieldsWritten"].as_u64().unwrap_or(0) as usize;
        let overrides = campaign["overrides"].as_u64().unwrap_or(0) as usize;
        row.holds += overrides;
        if campaign["outcome"] == "failed" {
            log.notes.push(format!(
                "{} {skill} failed: {}",
                local.format("%H:%M"),
                campaign["message"]
            ));
        }
    }
    Ok(())
}

/// Invokes failover-checker with the schedule's event at `now` and records
/// the failovers it reports (and the first three campaign failures as notes).
async fn checker_tick(
    checker: &FannedOut,
    now: DateTime<Utc>,
    zone: &Tz,
    log: &mut DayLog,
) -> Result<(), String> {
    let local = now.with_timezone(zone);
    let event = check_event(now);
    let t0 = Instant::now();
    let outcome = checker
        .tick(event.clone())
        .await
        .map_err(|e| format!("failover-checker at {now}: {e}"))?;
    log.task_failures += outcome.failures;
    log.tasks += outcome.dispatched;
    log.task_batches += outcome.invocations;
    log.spent.1 += t0.elapsed();
    log.checks += 1;
    log.last_check = event;
    for campaign in &outcome.campaigns {
        match campaign["outcome"].as_str() {
            Some("failed_over") => {
                let ev = &campaign["evidence"];
                log.failovers.push(FailoverSeen {
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
                log.checker_failures += 1;
                if log.checker_failures <= 3 {
                    log.notes.push(format!(
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
    Ok(())
}

/// Adds an advance's webhook summary to its local hour.
fn count_webhooks(log: &mut DayLog, summary: &Value, hour: DateTime<Utc>) {
    let h = log.webhook_hours.entry(hour).or_default();
    h.batches += summary["batches"].as_u64().unwrap_or(0);
    h.events += summary["events"].as_u64().unwrap_or(0);
    h.accepted += summary["accepted"].as_u64().unwrap_or(0);
    h.duplicates += summary["duplicates"].as_u64().unwrap_or(0);
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
