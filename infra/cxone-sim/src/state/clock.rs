//! The simulated clock: each step of at most a minute sets every skill's
//! staffing and answer rate from its profiles and settings, runs its
//! dialler, records ground truth and completed contacts, and queues them
//! for the webhook; rosters then follow the diallers' counts.

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc};
use serde_json::Value;

use super::{AgentState, SimState, SkillRt, MAX_ADVANCE_SECONDS, MAX_CONTACTS_PER_SKILL};
use crate::model::{ContactRecord, TruthCounters};
use crate::settings;

/// One step of the clock: `[now, end)` within the UTC minute starting at
/// `minute` (Unix seconds).
struct Step {
    /// Start of the minute, Unix seconds (the ground-truth key).
    minute: i64,
    /// Where the step ends, in the dialler's clock.
    t_end: f64,
    /// Whether the minute is outside the legal calling hours (08:00-21:00
    /// local).
    outside_legal_hours: bool,
}

impl SimState {
    /// Sets a skill's dialler from its profiles (with drift) and settings
    /// at the current simulated time.
    pub(super) fn configure(&self, rt: &mut SkillRt) {
        rt.update_drift(self.now);
        let (agents_drift, live_drift) = rt.drift_factors();
        let local = self.local(self.now);
        let t = local.time();
        let agents = rt.sc.agents.value_at(t) * agents_drift;
        let logged_in = agents.round().clamp(0.0, 100_000.0) as u32;
        let paused = (rt.sc.paused_fraction * f64::from(logged_in))
            .round()
            .clamp(0.0, f64::from(logged_in)) as u32;
        let live = (rt.sc.live_answer_rate.value_at(t) * live_drift).clamp(0.0, 1.0);
        let success = rt.sc.success_rate.value_at(t).clamp(0.0, 1.0);
        let m = rt.dialer.model_mut();
        m.live_answer_rate = live;
        m.success_rate = success;
        let rest = rt.sc.machine_rate + rt.sc.busy_rate;
        let scale = if live + rest > 1.0 && rest > 0.0 {
            (1.0 - live) / rest
        } else {
            1.0
        };
        m.machine_rate = rt.sc.machine_rate * scale;
        m.busy_rate = rt.sc.busy_rate * scale;
        let ring_limit = rt
            .general
            .get("maximumRingingDuration")
            .and_then(Value::as_f64)
            .unwrap_or(20.0);
        let dialling = rt.running && settings::schedule_allows(&rt.schedule, local.weekday(), t);
        let ratio = rt.ratio();
        let d = &mut rt.dialer;
        d.set_dialling(false);
        d.set_ring_limit(ring_limit);
        d.set_logged_in(logged_in);
        d.set_paused(paused);
        d.set_max_ratio(ratio);
        d.set_dialling(dialling);
    }

    /// Advances the simulated clock to `target`, minute by minute.
    pub fn advance_to(&mut self, target: DateTime<Utc>) -> Result<(), String> {
        if target < self.now {
            return Err("the clock cannot move backwards".into());
        }
        if (target - self.now).num_seconds() > MAX_ADVANCE_SECONDS {
            return Err(format!("at most {MAX_ADVANCE_SECONDS} seconds per advance"));
        }
        let mut skills = std::mem::take(&mut self.skills);
        let mut completed: Vec<ContactRecord> = Vec::new();
        while self.now < target {
            let (step, step_end) = self.next_step(target);
            for rt in skills.values_mut() {
                self.step_skill(rt, &step, &mut completed);
            }
            self.now = step_end;
            for c in completed.drain(..) {
                self.webhook.push_contact(&c);
            }
        }
        self.skills = skills;
        self.reconcile_agents();
        Ok(())
    }

    /// The next step from now towards `target`, and where it ends: the end
    /// of the current minute or `target`, whichever is first.
    fn next_step(&self, target: DateTime<Utc>) -> (Step, DateTime<Utc>) {
        let legal_from = NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default();
        let legal_to = NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default();
        let minute = self.now.timestamp().div_euclid(60) * 60;
        let minute_end = Utc.timestamp_opt(minute + 60, 0).single().unwrap_or(target);
        let step_end = minute_end.min(target);
        let local_minute = Utc
            .timestamp_opt(minute, 0)
            .single()
            .map(|t| self.local(t).time());
        let outside = local_minute.is_some_and(|t| t < legal_from || t >= legal_to);
        let step = Step {
            minute,
            t_end: self.model_time(step_end),
            outside_legal_hours: outside,
        };
        (step, step_end)
    }

    /// Runs one skill's dialler through `step`: records the minute's truth
    /// and the contacts completed (also into `completed` when the webhook
    /// wants them).
    fn step_skill(&self, rt: &mut SkillRt, step: &Step, completed: &mut Vec<ContactRecord>) {
        self.configure(rt);
        let stats = rt.dialer.advance_to(step.t_end);
        let ratio = rt.ratio();
        let entry = rt
            .truth
            .entry(step.minute)
            .or_insert((TruthCounters::default(), ratio));
        entry.0.add_stats(&stats);
        if step.outside_legal_hours {
            entry.0.dials_outside_legal_hours += stats.dials;
        }
        entry.1 = ratio;
        let at = |t: f64| self.start + chrono::Duration::milliseconds((t * 1000.0).round() as i64);
        let skill_id = rt.sc.skill_id;
        for r in rt.dialer.drain_completed() {
            let record = ContactRecord {
                contact_id: skill_id
                    .saturating_mul(1_000_000_000)
                    .saturating_add(r.contact_id as i64),
                skill_id,
                outcome: r.outcome.as_str().to_string(),
                talk_seconds: r.talk_seconds,
                wrap_seconds: r.wrap_seconds,
                dialed_at: at(r.dialed_at),
                occurred_at: at(r.ended_at),
            };
            if self.webhook.wants(skill_id) {
                completed.push(record.clone());
            }
            rt.contacts.push(record);
        }
        if rt.contacts.len() > MAX_CONTACTS_PER_SKILL {
            rt.contacts.drain(..MAX_CONTACTS_PER_SKILL / 2);
        }
    }

    /// Brings every roster in line with its dialler's counts, changing as few
    /// agents as possible; changed agents get `last_update = now`.
    pub(super) fn reconcile_agents(&mut self) {
        let now = self.now;
        let mut skills = std::mem::take(&mut self.skills);
        for rt in skills.values_mut() {
            let want_in = rt.dialer.snapshot().logged_in as usize;
            let team_id = rt.team_id();
            while rt.agents.len() < want_in {
                let agent = self.new_agent(team_id);
                rt.agents.push(agent);
            }
            reassign_states(rt, now);
        }
        self.skills = skills;
    }
}

/// Moves surplus agents (latest in the roster first) to the states short of
/// the dialler's counts, so that each state has as many agents as it says.
fn reassign_states(rt: &mut SkillRt, now: DateTime<Utc>) {
    let s = rt.dialer.snapshot();
    let want_in = s.logged_in as usize;
    let states = [
        AgentState::Available,
        AgentState::Working,
        AgentState::Acw,
        AgentState::Unavailable,
        AgentState::LoggedOut,
    ];
    let want = [
        s.available as usize,
        s.working as usize,
        s.acw as usize,
        s.unavailable as usize,
        rt.agents.len() - want_in,
    ];
    let idx = |st: AgentState| states.iter().position(|x| *x == st).unwrap_or(4);
    let mut have = [0usize; 5];
    for a in &rt.agents {
        have[idx(a.state)] += 1;
    }
    // Free surplus agents (latest in the roster first).
    let mut freed = Vec::new();
    for a in rt.agents.iter_mut().rev() {
        let i = idx(a.state);
        if have[i] > want[i] {
            have[i] -= 1;
            freed.push(a);
        }
    }
    freed.reverse();
    let mut it = freed.into_iter();
    for (i, st) in states.iter().enumerate() {
        while have[i] < want[i] {
            let Some(a) = it.next() else { break };
            a.state = *st;
            a.last_update = now;
            have[i] += 1;
        }
    }
}
