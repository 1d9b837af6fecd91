//! The simulated tenant: clock, skills with their dialler and agents,
//! ground truth, tokens, faults and the request log.
//!
//! [`SimState`] is defined here with its construction and read-outs; its
//! other methods live by concern: `clock` (advancing the simulated clock
//! and keeping rosters in line), `faults` (injected faults), `tokens`
//! (access and refresh tokens) and `lists` (calling lists and upload
//! jobs). `skill` holds a skill's run-time state.

mod clock;
mod faults;
mod lists;
mod skill;
mod tokens;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::model::{ContactRecord, RequestLog, Truth, TruthCounters, TruthInterval};
use crate::scenario::{DncGroupScenario, Profile, Scenario, SkillScenario};
use crate::webhook::Webhook;

pub use lists::{CallList, UploadJob};
pub use skill::{Agent, AgentState, SkillRt};

use faults::ActiveFault;

/// Completed contacts kept per skill; beyond this the oldest half is dropped.
pub const MAX_CONTACTS_PER_SKILL: usize = 1_000_000;

/// Longest single clock advance (simulated), to bound work per request.
pub const MAX_ADVANCE_SECONDS: i64 = 31 * 24 * 3600;

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
        // Each skill gets its own stream, derived from the scenario seed and the skill id.
        let seed = self.seed ^ (sc.skill_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rt = SkillRt::new(sc, seed)?;
        let roster = rt.sc.agents.max_value().round().clamp(0.0, 100_000.0) as usize;
        let team_id = rt.team_id();
        rt.agents = (0..roster).map(|_| self.new_agent(team_id)).collect();
        let t0 = self.model_time(self.now);
        rt.dialer.advance_to(t0);
        self.configure(&mut rt);
        self.skills.insert(rt.sc.skill_id, rt);
        Ok(())
    }

    /// A new agent of `team_id` with the next agent id, logged out now.
    fn new_agent(&mut self, team_id: i64) -> Agent {
        let agent = Agent {
            agent_id: self.next_agent_id,
            team_id,
            state: AgentState::LoggedOut,
            last_update: self.now,
        };
        self.next_agent_id += 1;
        agent
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

    /// Seconds from the scenario's start to `t`: the dialler's clock.
    fn model_time(&self, t: DateTime<Utc>) -> f64 {
        (t - self.start).num_milliseconds() as f64 / 1000.0
    }

    /// Local wall time in the tenant's zone.
    pub fn local(&self, t: DateTime<Utc>) -> DateTime<Tz> {
        t.with_timezone(&self.tz)
    }

    /// Local time of day now.
    pub fn local_time(&self) -> NaiveTime {
        let l = self.local(self.now);
        NaiveTime::from_hms_opt(l.hour(), l.minute(), l.second()).unwrap_or_default()
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
}
