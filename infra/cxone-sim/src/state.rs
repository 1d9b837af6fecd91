//! The simulated tenant: clock, skills with their dialler and agents,
//! ground truth, tokens, faults and the request log.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::Serialize;
use serde_json::{json, Map, Value};
use shared::engine::dialer::{CallModel, Dialer, Snapshot};

use crate::model::{
    ContactRecord, Fault, FaultKind, RequestLog, Truth, TruthCounters, TruthInterval,
};
use crate::scenario::{DncGroupScenario, Profile, Scenario, SkillScenario};
use crate::settings;
use crate::webhook::{Batch, Webhook, WebhookConfig};

/// Completed contacts kept per skill; beyond this the oldest half is dropped.
pub const MAX_CONTACTS_PER_SKILL: usize = 1_000_000;

/// Longest single clock advance (simulated), to bound work per request.
pub const MAX_ADVANCE_SECONDS: i64 = 31 * 24 * 3600;

/// An agent's reported state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AgentState {
    /// Not logged in.
    LoggedOut,
    /// Available for a call.
    Available,
    /// Talking on an outbound call.
    Working,
    /// After-call work.
    Acw,
    /// Paused.
    Unavailable,
}

/// One agent of a skill's roster.
#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    /// Agent id.
    pub agent_id: i64,
    /// Team id.
    pub team_id: i64,
    /// Current state.
    pub state: AgentState,
    /// When the state last changed (simulated time).
    pub last_update: DateTime<Utc>,
}

/// A skill's run-time state.
#[derive(Debug)]
pub struct SkillRt {
    /// The scenario entry (profiles and call model).
    pub sc: SkillScenario,
    /// Whether the skill is running (dialling when inside its window).
    pub running: bool,
    /// Current general settings (flat).
    pub general: Map<String, Value>,
    /// Current schedule settings (flat).
    pub schedule: Map<String, Value>,
    /// Current time-zone windows (zone under `name`).
    pub time_zones: Vec<Value>,
    /// The dialler model.
    pub dialer: Dialer,
    /// Agent roster.
    pub agents: Vec<Agent>,
    /// Ground truth per minute (key: minute start, Unix seconds).
    pub truth: BTreeMap<i64, (TruthCounters, f64)>,
    /// Completed contacts in completion order.
    pub contacts: Vec<ContactRecord>,
    drift_rng: ChaCha8Rng,
    /// Log-multipliers (agents, live-answer rate) of the drift.
    drift_x: (f64, f64),
    drift_minute: Option<i64>,
}

impl SkillRt {
    /// Current `maximumRatio`.
    pub fn ratio(&self) -> f64 {
        self.general
            .get("maximumRatio")
            .and_then(Value::as_f64)
            .unwrap_or(1.0)
    }

    /// Current dialler counts.
    pub fn snapshot(&self) -> Snapshot {
        self.dialer.snapshot()
    }

    /// The skill as `GET /skills/{id}` shows it.
    pub fn skill_json(&self) -> Value {
        let mut v = json!({
            "skillId": self.sc.skill_id,
            "skillName": self.sc.skill_name,
            "mediaTypeId": 4,
            "mediaTypeName": "Phone Call",
            "isActive": self.sc.is_active,
            "isOutbound": self.sc.is_outbound,
            "outboundStrategy": self.sc.outbound_strategy,
            "campaignId": self.sc.campaign_id,
        });
        if self.running {
            if let Some(o) = v.as_object_mut() {
                o.insert("isRunning".into(), Value::Bool(true));
            }
        }
        v
    }
}

/// A calling list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallList {
    /// List id.
    pub list_id: i64,
    /// Name.
    pub list_name: String,
    /// Rows uploaded so far.
    pub rows: u64,
    /// The data rows (CSV lines without the header) of every completed upload, in order.
    pub uploaded_rows: Vec<String>,
}

/// An upload job.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadJob {
    /// Job id.
    pub job_id: String,
    /// List id.
    pub list_id: i64,
    /// Skill the list was uploaded for.
    pub skill_id: i64,
    /// Simulated completion time.
    pub completed: DateTime<Utc>,
    /// Whether the job ended cancelled (an `uploadJobFails` fault).
    pub failed: bool,
}

struct ActiveFault {
    fault: Fault,
    remaining: u32,
    reads: u32,
}

/// Everything the simulator holds, behind one mutex.
pub struct SimState {
    /// Base URL, set once bound.
    pub base_url: String,
    /// Scenario credentials.
    pub creds: crate::scenario::Credentials,
    /// Access-token lifetime.
    pub token_lifetime: Duration,
    /// The tenant's zone.
    pub tz: Tz,
    start: DateTime<Utc>,
    /// Simulated now.
    pub now: DateTime<Utc>,
    /// Skills by id.
    pub skills: BTreeMap<i64, SkillRt>,
    /// DNC groups.
    pub dnc_groups: Vec<DncGroupScenario>,
    access_tokens: HashMap<String, Instant>,
    refresh_tokens: HashSet<String>,
    faults: Vec<ActiveFault>,
    /// Request log (non-admin).
    pub requests: Vec<RequestLog>,
    /// Real time the simulator started.
    pub started: Instant,
    /// Calling lists.
    pub lists: BTreeMap<i64, CallList>,
    /// Upload jobs.
    pub jobs: BTreeMap<String, UploadJob>,
    next_list_id: i64,
    next_agent_id: i64,
    seed: u64,
    /// The `contact.completed` webhook: configuration, outbox, counters.
    pub webhook: Webhook,
}

fn call_model(sc: &SkillScenario) -> CallModel {
    CallModel {
        live_answer_rate: 0.0,
        machine_rate: sc.machine_rate,
        busy_rate: sc.busy_rate,
        ring: sc.ring,
        talk: sc.talk,
        wrap: sc.wrap,
        ring_limit_s: 20.0,
        success_rate: sc.success_rate.value_at(NaiveTime::MIN).clamp(0.0, 1.0),
    }
}

impl SimState {
    /// Builds the state from a validated scenario.
    pub fn new(scenario: &Scenario) -> Result<SimState, crate::SimError> {
        scenario.validate()?;
        let tz: Tz = scenario.time_zone.parse().map_err(|_| {
            crate::SimError::Scenario(format!("unknown timeZone {:?}", scenario.time_zone))
        })?;
        let mut st = SimState {
            base_url: String::new(),
            creds: scenario.credentials.clone(),
            token_lifetime: Duration::from_secs(scenario.token_lifetime_seconds),
            tz,
            start: scenario.start,
            now: scenario.start,
            skills: BTreeMap::new(),
            dnc_groups: scenario.dnc_groups.clone(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashSet::new(),
            faults: Vec::new(),
            requests: Vec::new(),
            started: Instant::now(),
            lists: BTreeMap::new(),
            jobs: BTreeMap::new(),
            next_list_id: 9001,
            next_agent_id: 100_001,
            seed: scenario.seed,
            webhook: Webhook::default(),
        };
        if let Some(cfg) = &scenario.webhook {
            st.webhook.set_config(cfg.clone());
        }
        for sc in &scenario.skills {
            st.add_skill(sc.clone())?;
        }
        st.reconcile_agents();
        Ok(st)
    }

    /// Adds a skill (from the scenario or `POST /skills`).
    pub fn add_skill(&mut self, sc: SkillScenario) -> Result<(), crate::SimError> {
        let general = settings::merge_general(&settings::default_general(), &sc.general_settings)
            .map_err(crate::SimError::Scenario)?;
        let schedule =
            settings::merge_schedule(&settings::default_schedule(), &sc.schedule_settings)
                .map_err(crate::SimError::Scenario)?;
        let time_zones =
            settings::parse_time_zones(&sc.time_zones, true).map_err(crate::SimError::Scenario)?;
        // Each skill gets its own stream, derived from the scenario seed and the skill id.
        let seed = self.seed ^ (sc.skill_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut dialer = Dialer::new(call_model(&sc), seed);
        dialer.set_dialling(false);
        dialer.set_record_calls(true);
        let roster = sc.agents.max_value().round().clamp(0.0, 100_000.0) as usize;
        let team_id = sc.team_id.unwrap_or(sc.skill_id * 10);
        let mut agents = Vec::with_capacity(roster);
        for _ in 0..roster {
            agents.push(Agent {
                agent_id: self.next_agent_id,
                team_id,
                state: AgentState::LoggedOut,
                last_update: self.now,
            });
            self.next_agent_id += 1;
        }
        let mut rt = SkillRt {
            running: sc.is_running,
            general,
            schedule,
            time_zones,
            dialer,
            agents,
            truth: BTreeMap::new(),
            contacts: Vec::new(),
            drift_rng: ChaCha8Rng::seed_from_u64(seed ^ 0xD21F_7000_0000_0001),
            drift_x: (0.0, 0.0),
            drift_minute: None,
            sc,
        };
        let t0 = self.model_time(self.now);
        rt.dialer.advance_to(t0);
        self.configure(&mut rt);
        self.skills.insert(rt.sc.skill_id, rt);
        Ok(())
    }

    /// A new skill as `POST /skills` creates it: no agents, not running.
    pub fn create_skill(
        &mut self,
        name: &str,
        campaign_id: i64,
        strategy: &str,
    ) -> Result<i64, crate::SimError> {
        let id = self
            .skills
            .keys()
            .next_back()
            .map_or(1, |k| k + 1)
            .max(5000);
        let mut sc = SkillScenario::basic(id, name, 0.0, 0.2, false);
        sc.campaign_id = campaign_id;
        sc.outbound_strategy = strategy.to_string();
        sc.agents = Profile::constant(0.0);
        self.add_skill(sc)?;
        Ok(id)
    }

    fn model_time(&self, t: DateTime<Utc>) -> f64 {
        (t - self.start).num_milliseconds() as f64 / 1000.0
    }

    /// Local wall time in the tenant's zone.
    pub fn local(&self, t: DateTime<Utc>) -> DateTime<Tz> {
        t.with_timezone(&self.tz)
    }

    /// Moves the skill's drift forward to the current minute.
    fn update_drift(&self, rt: &mut SkillRt) {
        let minute = self.now.timestamp().div_euclid(60);
        let dr = rt.sc.drift;
        if dr.agents_sd <= 0.0 && dr.live_answer_sd <= 0.0 {
            return;
        }
        let last = *rt.drift_minute.get_or_insert(minute);
        let steps = (minute - last).clamp(0, 100_000);
        let decay = (-1.0 / dr.reversion_minutes).exp();
        let noise = (1.0 - decay * decay).sqrt();
        for _ in 0..steps {
            let za: f64 = rt.drift_rng.sample(StandardNormal);
            let zl: f64 = rt.drift_rng.sample(StandardNormal);
            rt.drift_x.0 = rt.drift_x.0 * decay + dr.agents_sd * noise * za;
            rt.drift_x.1 = rt.drift_x.1 * decay + dr.live_answer_sd * noise * zl;
        }
        rt.drift_minute = Some(minute);
    }

    fn configure(&self, rt: &mut SkillRt) {
        self.update_drift(rt);
        let local = self.local(self.now);
        let t = local.time();
        let agents = rt.sc.agents.value_at(t) * rt.drift_x.0.exp();
        let logged_in = agents.round().clamp(0.0, 100_000.0) as u32;
        let paused = (rt.sc.paused_fraction * f64::from(logged_in))
            .round()
            .clamp(0.0, f64::from(logged_in)) as u32;
        let live = (rt.sc.live_answer_rate.value_at(t) * rt.drift_x.1.exp()).clamp(0.0, 1.0);
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
        let legal_from = NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default();
        let legal_to = NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default();
        let mut skills = std::mem::take(&mut self.skills);
        let mut completed: Vec<ContactRecord> = Vec::new();
        while self.now < target {
            let minute = self.now.timestamp().div_euclid(60) * 60;
            let minute_end = Utc.timestamp_opt(minute + 60, 0).single().unwrap_or(target);
            let step_end = minute_end.min(target);
            let local_minute = Utc
                .timestamp_opt(minute, 0)
                .single()
                .map(|t| self.local(t).time());
            let outside = local_minute.is_some_and(|t| t < legal_from || t >= legal_to);
            let t_end = self.model_time(step_end);
            for rt in skills.values_mut() {
                self.configure(rt);
                let stats = rt.dialer.advance_to(t_end);
                let ratio = rt.ratio();
                let entry = rt
                    .truth
                    .entry(minute)
                    .or_insert((TruthCounters::default(), ratio));
                entry.0.add_stats(&stats);
                if outside {
                    entry.0.dials_outside_legal_hours += stats.dials;
                }
                entry.1 = ratio;
                let at = |t: f64| {
                    self.start + chrono::Duration::milliseconds((t * 1000.0).round() as i64)
                };
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
            self.now = step_end;
            for c in completed.drain(..) {
                self.webhook.push_contact(&c);
            }
        }
        self.skills = skills;
        self.reconcile_agents();
        Ok(())
    }

    /// Brings every roster in line with its dialler's counts, changing as few
    /// agents as possible; changed agents get `last_update = now`.
    fn reconcile_agents(&mut self) {
        let now = self.now;
        for rt in self.skills.values_mut() {
            let s = rt.dialer.snapshot();
            let want_in = s.logged_in as usize;
            while rt.agents.len() < want_in {
                rt.agents.push(Agent {
                    agent_id: self.next_agent_id,
                    team_id: rt.sc.team_id.unwrap_or(rt.sc.skill_id * 10),
                    state: AgentState::LoggedOut,
                    last_update: now,
                });
                self.next_agent_id += 1;
            }
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
    }

    /// Ground truth of a skill for minutes starting in `[from, to)`.
    pub fn truth(
        &self,
        skill_id: i64,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Option<Truth> {
        let rt = self.skills.get(&skill_id)?;
        let lo = from.map_or(i64::MIN, |f| f.timestamp());
        let hi = to.map_or(i64::MAX, |t| t.timestamp());
        let mut totals = TruthCounters::default();
        let mut intervals = Vec::new();
        for (minute, (c, ratio)) in rt.truth.range(lo..) {
            if *minute >= hi {
                break;
            }
            totals.add(c);
            let start = Utc.timestamp_opt(*minute, 0).single().unwrap_or(self.now);
            intervals.push(TruthInterval {
                start,
                end: start
                    .checked_add_signed(chrono::Duration::seconds(60))
                    .unwrap_or(start),
                counters: *c,
                maximum_ratio: *ratio,
            });
        }
        Some(Truth { intervals, totals })
    }

    /// Completed contacts of a skill with `occurredAt` in `[from, to)`.
    pub fn contacts(
        &self,
        skill_id: i64,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Option<Vec<ContactRecord>> {
        let rt = self.skills.get(&skill_id)?;
        Some(
            rt.contacts
                .iter()
                .filter(|c| {
                    from.is_none_or(|f| c.occurred_at >= f) && to.is_none_or(|t| c.occurred_at < t)
                })
                .cloned()
                .collect(),
        )
    }

    /// Everything about a skill, for test assertions.
    pub fn skill_state(&self, skill_id: i64) -> Option<Value> {
        let rt = self.skills.get(&skill_id)?;
        Some(json!({
            "skill": rt.skill_json(),
            "running": rt.running,
            "generalSettings": rt.general,
            "scheduleSettings": rt.schedule,
            "timeZones": rt.time_zones,
            "staffing": rt.snapshot(),
            "now": self.now,
        }))
    }

    // ----- tokens ---------------------------------------------------------

    /// Issues a fresh access/refresh pair.
    pub fn issue_tokens(&mut self) -> (String, String) {
        let access = uuid::Uuid::new_v4().simple().to_string();
        let refresh = uuid::Uuid::new_v4().simple().to_string();
        self.access_tokens
            .insert(access.clone(), Instant::now() + self.token_lifetime);
        self.refresh_tokens.insert(refresh.clone());
        (access, refresh)
    }

    /// Consumes a refresh token (single use).
    pub fn use_refresh_token(&mut self, t: &str) -> bool {
        self.refresh_tokens.remove(t)
    }

    /// Whether an access token is valid now (real time).
    pub fn token_valid(&mut self, t: &str) -> bool {
        let now = Instant::now();
        self.access_tokens.retain(|_, exp| *exp > now);
        self.access_tokens.contains_key(t)
    }

    /// Revokes every access and refresh token.
    pub fn revoke_all(&mut self) {
        self.access_tokens.clear();
        self.refresh_tokens.clear();
    }

    // ----- faults ---------------------------------------------------------

    /// Replaces the fault list.
    pub fn set_faults(&mut self, faults: Vec<Fault>) {
        self.faults = faults
            .into_iter()
            .map(|f| ActiveFault {
                remaining: f.count.unwrap_or(1),
                fault: f,
                reads: 0,
            })
            .filter(|f| f.remaining > 0)
            .collect();
    }

    /// Takes one hit of the first request-level fault matching `path`.
    pub fn take_request_fault(&mut self, path: &str, method: &str) -> Option<FaultKind> {
        let pos = self.faults.iter().position(|f| {
            if f.fault
                .method
                .as_ref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(method))
            {
                return false;
            }
            let default_match = match f.fault.kind {
                FaultKind::TokenError => path == "/auth/token",
                FaultKind::RateLimit { .. }
                | FaultKind::ServerError { .. }
                | FaultKind::Slow { .. }
                | FaultKind::AnswerLost { .. }
                | FaultKind::Unauthorized => path.starts_with("/inContactAPI/"),
                FaultKind::ItemErrors
                | FaultKind::PersonEdit { .. }
                | FaultKind::WebhookDuplicate
                | FaultKind::UploadJobFails => return false,
            };
            match &f.fault.path_contains {
                Some(p) => {
                    path.contains(p.as_str())
                        && (default_match || !matches!(f.fault.kind, FaultKind::TokenError))
                }
                None => default_match,
            }
        })?;
        Some(self.consume(pos))
    }

    /// Takes one hit of an `itemErrors` fault matching `path`.
    pub fn take_item_error(&mut self, path: &str) -> bool {
        let pos = self.faults.iter().position(|f| {
            matches!(f.fault.kind, FaultKind::ItemErrors)
                && f.fault
                    .path_contains
                    .as_ref()
                    .is_none_or(|p| path.contains(p.as_str()))
        });
        match pos {
            Some(p) => {
                self.consume(p);
                true
            }
            None => false,
        }
    }

    /// Takes one hit of an `uploadJobFails` fault matching `path`.
    pub fn take_job_failure(&mut self, path: &str) -> bool {
        let pos = self.faults.iter().position(|f| {
            matches!(f.fault.kind, FaultKind::UploadJobFails)
                && f.fault
                    .path_contains
                    .as_ref()
                    .is_none_or(|p| path.contains(p.as_str()))
        });
        match pos {
            Some(p) => {
                self.consume(p);
                true
            }
            None => false,
        }
    }

    fn consume(&mut self, pos: usize) -> FaultKind {
        let kind = self.faults[pos].fault.kind.clone();
        self.faults[pos].remaining = self.faults[pos].remaining.saturating_sub(1);
        if self.faults[pos].remaining == 0 {
            self.faults.remove(pos);
        }
        kind
    }

    /// Called after a GET of a skill's general settings was answered: counts
    /// the read for `personEdit` faults and applies any that are due.
    pub fn after_general_read(&mut self, skill_id: i64) {
        let mut i = 0;
        while i < self.faults.len() {
            let due = match &mut self.faults[i] {
                ActiveFault {
                    fault:
                        Fault {
                            kind:
                                FaultKind::PersonEdit {
                                    skill_id: s,
                                    after_reads,
                                    ..
                                },
                            ..
                        },
                    reads,
                    ..
                } if *s == skill_id => {
                    *reads += 1;
                    *reads >= *after_reads
                }
                _ => false,
            };
            if due {
                if let FaultKind::PersonEdit { fields, .. } = self.faults[i].fault.kind.clone() {
                    if let Some(rt) = self.skills.get_mut(&skill_id) {
                        for (k, v) in fields {
                            rt.general.insert(k, v);
                        }
                    }
                }
                self.faults[i].reads = 0;
                self.faults[i].remaining = self.faults[i].remaining.saturating_sub(1);
                if self.faults[i].remaining == 0 {
                    self.faults.remove(i);
                    continue;
                }
            }
            i += 1;
        }
    }

    // ----- webhook --------------------------------------------------------

    /// Takes the webhook batches due now (every queued event when `flush`),
    /// marking as many as the `webhookDuplicate` faults ask for to be posted
    /// twice. `None` when no webhook is enabled.
    pub fn take_webhook_batches(&mut self, flush: bool) -> Option<(WebhookConfig, Vec<Batch>)> {
        let (cfg, mut batches) = self.webhook.take_due(self.now, flush)?;
        for b in &mut batches {
            let pos = self
                .faults
                .iter()
                .position(|f| matches!(f.fault.kind, FaultKind::WebhookDuplicate));
            match pos {
                Some(p) => {
                    self.consume(p);
                    b.repost = true;
                }
                None => break,
            }
        }
        Some((cfg, batches))
    }

    // ----- lists ----------------------------------------------------------

    /// Creates a calling list.
    pub fn create_list(&mut self, name: &str) -> i64 {
        let id = self.next_list_id;
        self.next_list_id += 1;
        self.lists.insert(
            id,
            CallList {
                list_id: id,
                list_name: name.to_string(),
                rows: 0,
                uploaded_rows: Vec::new(),
            },
        );
        id
    }

    /// Records an upload job (complete immediately in simulated time, or
    /// cancelled when `failed`: then no row is added to the list).
    pub fn upload(
        &mut self,
        list_id: i64,
        skill_id: i64,
        rows: Vec<String>,
        failed: bool,
    ) -> Option<String> {
        let list = self.lists.get_mut(&list_id)?;
        if !failed {
            list.rows += rows.len() as u64;
            list.uploaded_rows.extend(rows);
        }
        let job_id = format!("job-{}-{}", list_id, self.jobs.len() + 1);
        self.jobs.insert(
            job_id.clone(),
            UploadJob {
                job_id: job_id.clone(),
                list_id,
                skill_id,
                completed: self.now,
                failed,
            },
        );
        Some(job_id)
    }

    /// Local time of day now.
    pub fn local_time(&self) -> NaiveTime {
        let l = self.local(self.now);
        NaiveTime::from_hms_opt(l.hour(), l.minute(), l.second()).unwrap_or_default()
    }
}
