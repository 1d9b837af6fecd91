//! The report after the day: every campaign hour by hour from the
//! simulator's ground truth, the tuner's decisions, the audit trail and the
//! intake's counts; the webhook traffic; the failovers; and the replay of
//! the day's last events, which must change nothing.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use cxone_sim::TruthCounters;
use local_stack::apigw::ApiGateway;
use shared::store::audit::{AuditRecord, AuditStore};
use shared::store::events::{Counts, EventStore};

use crate::day::{DayLog, FailoverSeen, WebhookHour};
use crate::fanout::TickOutcome;
use crate::hours::{hour_of, minute_time};
use crate::setup::{DayServices, Stack};
use crate::WEBHOOK_OUTCOMES;

/// `num` as a percentage of `den` (0 when `den` is 0).
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

/// "12.3%" of a success rate, "-" without one.
fn success_pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", 100.0 * r))
}

/// What the report read back: the audit records and the events the intake
/// counted over every campaign.
pub struct Totals {
    /// Audit records of every campaign.
    pub audit: usize,
    /// Events the intake counted for every campaign.
    pub stored: Counts,
}

/// One campaign's day as the stores and the simulator tell it.
struct CampaignDay {
    /// The campaign's audit trail.
    records: Vec<AuditRecord>,
    /// Events the intake counted, per local hour.
    counted: BTreeMap<DateTime<Utc>, Counts>,
    /// The simulator's ground truth, per local hour.
    per_hour: BTreeMap<DateTime<Utc>, TruthCounters>,
    /// `maximumRatio` live at each local hour's end.
    ratio_live: BTreeMap<DateTime<Utc>, f64>,
}

/// Prints every campaign's hour-by-hour table and the legend; returns the
/// audit records and the events counted over all of them.
pub async fn print_campaigns(
    stack: &Stack,
    log: &DayLog,
    audit: &AuditStore,
    end: DateTime<Utc>,
) -> Result<Totals, String> {
    let events = EventStore::new(stack.dynamo.clone(), stack.tables.state.clone());
    let mut totals = Totals {
        audit: 0,
        stored: Counts::default(),
    };
    for skill_id in &stack.skills {
        let day = fetch_campaign_day(stack, audit, &events, *skill_id, end, &mut totals).await?;
        print_campaign(stack, log, *skill_id, &day);
    }
    println!();
    println!("  agents = staffed (available + on a call), hourly mean; ratio = maximumRatio live at the hour's end;");
    println!("  * = a person's change was respected that hour; util = talk / logged-in time; busy = talk + wrap;");
    println!("  events = contact.completed events counted by webhook-ingest (each once); succ = success / (success + failure + abandoned).");
    Ok(totals)
}

/// Reads one campaign's ground truth, audit trail and counted events, by
/// local hour, and adds them to the totals.
async fn fetch_campaign_day(
    stack: &Stack,
    audit: &AuditStore,
    events: &EventStore,
    skill_id: i64,
    end: DateTime<Utc>,
    totals: &mut Totals,
) -> Result<CampaignDay, String> {
    let zone = &stack.zone;
    let truth = stack
        .admin
        .truth(skill_id, stack.start, end)
        .await
        .map_err(|e| e.to_string())?;
    let records = audit.all_for(skill_id).await.map_err(|e| e.to_string())?;
    totals.audit += records.len();
    let mut counted: BTreeMap<DateTime<Utc>, Counts> = BTreeMap::new();
    for (minute, counts) in events
        .minute_counts(skill_id, stack.start, end)
        .await
        .map_err(|e| e.to_string())?
    {
        totals.stored.add(&counts);
        if let Some(t) = minute_time(&minute) {
            counted.entry(hour_of(t, zone)).or_default().add(&counts);
        }
    }
    let mut per_hour: BTreeMap<DateTime<Utc>, TruthCounters> = BTreeMap::new();
    let mut ratio_live: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
    for interval in &truth.intervals {
        let hour = hour_of(interval.start, zone);
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
    Ok(CampaignDay {
        records,
        counted,
        per_hour,
        ratio_live,
    })
}

/// One campaign's table: its hours, its day, and the day's verdict.
fn print_campaign(stack: &Stack, log: &DayLog, skill_id: i64, cd: &CampaignDay) {
    let name = stack
        .scenario
        .skills
        .iter()
        .find(|s| s.skill_id == skill_id)
        .map(|s| s.skill_name.clone())
        .unwrap_or_default();
    println!();
    println!(
        "Campaign {skill_id} ({name}): hour by hour ({})",
        stack.scenario.time_zone
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
    let (day, day_counted) = print_hours(stack, log, skill_id, cd);
    println!(
        "  {:<5} {:>7} {:>8} {:>6} {:>6} {:>6} {:>8} {:>7.2}% {:>6.1}% {:>6.1}% {:>6} {:>7} {:>6}",
        "day",
        "",
        "",
        log.rows
            .iter()
            .filter(|((s, _), _)| *s == skill_id)
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
        cd.records.len(),
        day_counted.events,
        success_pct(day_counted.success_rate())
    );
    println!(
        "  dials outside 08:00-21:00 local: {}",
        day.dials_outside_legal_hours
    );
    println!("  {}", verdict(&day));
}

/// The campaign's staffed hours, one line each; returns the day's truth
/// and counted events summed over them.
fn print_hours(
    stack: &Stack,
    log: &DayLog,
    skill_id: i64,
    cd: &CampaignDay,
) -> (TruthCounters, Counts) {
    let mut day = TruthCounters::default();
    let mut day_counted = Counts::default();
    for (hour, c) in &cd.per_hour {
        if c.dials == 0 && c.staffed_agent_seconds < 180.0 {
            continue; // before the first agent logs in or after the last leaves
        }
        let row = log.rows.get(&(skill_id, *hour));
        let audits = cd
            .records
            .iter()
            .filter(|r| r.at >= *hour && r.at < *hour + ChronoDuration::hours(1))
            .count();
        let ratio = cd
            .ratio_live
            .get(hour)
            .copied()
            .or(row.and_then(|r| r.ratio_last))
            .unwrap_or(f64::NAN);
        let held = row.map_or(0, |r| r.holds);
        let ev = cd.counted.get(hour).cloned().unwrap_or_default();
        day_counted.add(&ev);
        println!(
            "  {:<5} {:>7.1} {:>7.2}{} {:>6} {:>6} {:>6} {:>8} {:>7.2}% {:>6.1}% {:>6.1}% {:>6} {:>7} {:>6}",
            hour.with_timezone(&stack.zone).format("%H:%M"),
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
            success_pct(ev.success_rate())
        );
        day.dials += c.dials;
        day.live_answers += c.live_answers;
        day.abandons += c.abandons;
        day.talk_seconds += c.talk_seconds;
        day.wrap_seconds += c.wrap_seconds;
        day.logged_in_agent_seconds += c.logged_in_agent_seconds;
        day.dials_outside_legal_hours += c.dials_outside_legal_hours;
    }
    (day, day_counted)
}

/// The webhook traffic hour by hour, checked against the contacts the
/// simulator completed while webhooks were on (a mismatch becomes a note).
pub async fn print_webhooks(
    stack: &Stack,
    services: &DayServices,
    gw: &ApiGateway,
    log: &mut DayLog,
    stored: &Counts,
    end: DateTime<Utc>,
) -> Result<(), String> {
    let status = stack.admin.webhook().await.map_err(|e| e.to_string())?;
    println!();
    println!("Webhook events, hour by hour (simulator -> API Gateway -> webhook-ingest):");
    println!(
        "  {:<5} {:>8} {:>8} {:>9} {:>10}",
        "hour", "batches", "posted", "accepted", "duplicates"
    );
    let mut total = WebhookHour::default();
    for (hour, h) in &log.webhook_hours {
        if h.batches == 0 {
            continue;
        }
        println!(
            "  {:<5} {:>8} {:>8} {:>9} {:>10}",
            hour.with_timezone(&stack.zone).format("%H:%M"),
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
    let expected = contacts_to_post(stack, services, log, end).await?;
    println!(
        "  contacts to post (completed while switched on): {expected}; events counted by the intake: {}{}",
        stored.events,
        if expected as u64 == stored.events {
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
    if expected as u64 != stored.events {
        log.notes.push(format!(
            "the intake counted {} events for {expected} contacts posted",
            stored.events
        ));
    }
    Ok(())
}

/// What the simulator completed while switched on, for the skills and
/// outcomes posted.
async fn contacts_to_post(
    stack: &Stack,
    services: &DayServices,
    log: &DayLog,
    end: DateTime<Utc>,
) -> Result<usize, String> {
    let mut expected = 0usize;
    if let (Some(on), Some(cfg)) = (log.webhook_on, services.webhook.as_ref()) {
        let off = log.webhook_off.unwrap_or(end);
        for skill_id in stack.skills.iter().filter(|s| cfg.covers(**s)) {
            expected += stack
                .admin
                .contacts(*skill_id, on, off)
                .await
                .map_err(|e| e.to_string())?
                .iter()
                .filter(|c| WEBHOOK_OUTCOMES.contains(&c.outcome.as_str()))
                .count();
        }
    }
    Ok(expected)
}

/// Every failover campaign: the failovers the checker reported, whether
/// CXone shows it failed over exactly once, and its audited transitions.
pub async fn print_failovers(
    stack: &Stack,
    log: &DayLog,
    audit: &AuditStore,
) -> Result<(), String> {
    println!();
    println!("Failover ({} failover-checker runs):", log.checks);
    let requests = stack.admin.requests().await.map_err(|e| e.to_string())?;
    for (primary, backup) in &stack.failover_pairs {
        let backup_starts = requests
            .iter()
            .filter(|r| {
                r.method == "POST"
                    && r.status < 300
                    && r.path.ends_with(&format!("/skills/{backup}/start"))
            })
            .count();
        let seen: Vec<&FailoverSeen> = log
            .failovers
            .iter()
            .filter(|f| f.primary == *primary)
            .collect();
        if seen.is_empty() {
            println!("  {primary}: no failover today (backup {backup})");
        }
        for f in &seen {
            print_failover(stack, f, *backup);
        }
        print_failover_check(stack, audit, *primary, *backup, seen.len(), backup_starts).await?;
    }
    if log.checker_failures > 0 {
        println!(
            "  failover-checker campaign failures: {}",
            log.checker_failures
        );
    }
    Ok(())
}

/// One failover the checker reported, with the rate and samples that caused it.
fn print_failover(stack: &Stack, f: &FailoverSeen, backup: i64) {
    println!(
        "  {} {} failed over to {}: success rate {} over the last {} min from {} samples \
         (threshold {}, at least {} samples)",
        f.at.with_timezone(&stack.zone).format("%H:%M"),
        f.primary,
        f.backup.unwrap_or(backup),
        success_pct(f.rate),
        f.window_minutes,
        f.samples,
        f.threshold,
        f.min_samples
    );
}

/// Whether `primary` failed over exactly once (one failover reported, the
/// backup started once, the primary stopped and the backup running at the
/// day's end), and the checker's audited transitions.
async fn print_failover_check(
    stack: &Stack,
    audit: &AuditStore,
    primary: i64,
    backup: i64,
    reported: usize,
    backup_starts: usize,
) -> Result<(), String> {
    let mut transitions: BTreeMap<String, usize> = BTreeMap::new();
    for r in audit.all_for(primary).await.map_err(|e| e.to_string())? {
        if r.actor == "failover-checker" && r.action.starts_with("fail") {
            *transitions.entry(r.action).or_default() += 1;
        }
    }
    let primary_state = stack
        .admin
        .skill_state(primary)
        .await
        .map_err(|e| e.to_string())?;
    let backup_state = stack
        .admin
        .skill_state(backup)
        .await
        .map_err(|e| e.to_string())?;
    let once = reported == 1
        && backup_starts == 1
        && primary_state["running"] == false
        && backup_state["running"] == true;
    println!(
        "  {primary}: failovers reported {}, CXone started {backup} {backup_starts} time(s); at day's end {primary} running={}, \
         {backup} running={}{}",
        reported,
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
    Ok(())
}

/// Replays the day's last tuner event (and the checker's), which must
/// change nothing; returns the tuner's answer and the audit records after.
pub async fn replay_last_events(
    stack: &Stack,
    services: &DayServices,
    log: &DayLog,
    audit: &AuditStore,
) -> Result<(TickOutcome, usize), String> {
    let replay = stack.tuner.replay(&log.last_event).await?;
    if let (Some(checker), false) = (&services.checker, log.last_check.is_null()) {
        checker
            .replay(&log.last_check)
            .await
            .map_err(|e| format!("failover-checker replay: {e}"))?;
    }
    let mut after = 0usize;
    for skill_id in &stack.skills {
        after += audit
            .all_for(*skill_id)
            .await
            .map_err(|e| e.to_string())?
            .len();
    }
    Ok((replay, after))
}

/// The notes, the real time spent, and the day's counts with the replay's outcome.
pub fn print_closing(log: &DayLog, audit_total: usize, replay: &TickOutcome, after: usize) {
    println!();
    for note in &log.notes {
        println!("  note: {note}");
    }
    println!(
        "real time: tuner {:.1} s, failover-checker {:.1} s, clock advances with webhook deliveries {:.1} s",
        log.spent.0.as_secs_f64(),
        log.spent.1.as_secs_f64(),
        log.spent.2.as_secs_f64()
    );
    println!(
        "{} ticks through the capacity-tuner binary{} in {:.1} s ({} campaign tasks in {} batches, \
         left for redelivery: {}); \
         audit records: {audit_total}; replaying the last events and their tasks: {} campaigns \
         reported, {} new audit records",
        log.ticks,
        if log.checks > 0 {
            format!(", {} through failover-checker", log.checks)
        } else {
            String::new()
        },
        log.day_wall,
        log.tasks,
        log.task_batches,
        log.task_failures,
        replay.campaigns.len(),
        after - audit_total
    );
}
