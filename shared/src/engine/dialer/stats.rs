//! What the model reports: interval counters and state snapshots.

use serde::{Deserialize, Serialize};

/// Counters and time-weighted agent seconds over an interval.
///
/// Agent-second fields integrate the number of agents in a state over time, so
/// `logged_in = idle + talk + wrap + unavailable` and
/// `staffed = idle + talk` hold for every interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntervalStats {
    /// Calls placed.
    pub dials: u64,
    /// Dials answered by a person.
    pub live_answers: u64,
    /// Live answers connected to an agent.
    pub connects: u64,
    /// Live answers abandoned (no agent within two seconds).
    pub abandons: u64,
    /// Dials answered by a machine.
    pub machines: u64,
    /// Dials that were busy.
    pub busy: u64,
    /// Dials nobody answered within the ring limit.
    pub no_answers: u64,
    /// Connected calls that finished wrap with a successful disposition.
    pub successes: u64,
    /// Connected calls that finished wrap with an unsuccessful disposition.
    pub failures: u64,
    /// Talk time of the calls that finished wrap in the interval, seconds.
    pub handled_talk_seconds: f64,
    /// Wrap time of the calls that finished wrap in the interval, seconds.
    pub handled_wrap_seconds: f64,
    /// Agent-seconds spent talking.
    pub talk_seconds: f64,
    /// Agent-seconds spent in ACW.
    pub wrap_seconds: f64,
    /// Agent-seconds spent Available (idle).
    pub idle_agent_seconds: f64,
    /// Agent-seconds staffed (Available or talking).
    pub staffed_agent_seconds: f64,
    /// Agent-seconds paused (Unavailable, not ACW).
    pub unavailable_agent_seconds: f64,
    /// Agent-seconds logged in.
    pub logged_in_agent_seconds: f64,
    /// Line-seconds of calls in progress (ringing, waiting or connected).
    pub line_seconds: f64,
}

impl IntervalStats {
    /// Adds another interval's counters into this one.
    pub fn add(&mut self, o: &IntervalStats) {
        self.dials += o.dials;
        self.live_answers += o.live_answers;
        self.connects += o.connects;
        self.abandons += o.abandons;
        self.machines += o.machines;
        self.busy += o.busy;
        self.no_answers += o.no_answers;
        self.successes += o.successes;
        self.failures += o.failures;
        self.handled_talk_seconds += o.handled_talk_seconds;
        self.handled_wrap_seconds += o.handled_wrap_seconds;
        self.talk_seconds += o.talk_seconds;
        self.wrap_seconds += o.wrap_seconds;
        self.idle_agent_seconds += o.idle_agent_seconds;
        self.staffed_agent_seconds += o.staffed_agent_seconds;
        self.unavailable_agent_seconds += o.unavailable_agent_seconds;
        self.logged_in_agent_seconds += o.logged_in_agent_seconds;
        self.line_seconds += o.line_seconds;
    }

    /// Share of staffed time spent talking (0 when nobody was staffed).
    pub fn utilisation(&self) -> f64 {
        if self.staffed_agent_seconds > 0.0 {
            self.talk_seconds / self.staffed_agent_seconds
        } else {
            0.0
        }
    }

    /// Abandons per live answer that reached an outcome (`abandons / (connects + abandons)`).
    pub fn abandon_rate(&self) -> f64 {
        let live = self.connects + self.abandons;
        if live > 0 {
            self.abandons as f64 / live as f64
        } else {
            0.0
        }
    }
}

/// Current state counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Model time, seconds.
    pub time: f64,
    /// Agents logged in (available + working + acw + unavailable).
    pub logged_in: u32,
    /// Agents Available (idle).
    pub available: u32,
    /// Agents talking on a call.
    pub working: u32,
    /// Agents in after-call work.
    pub acw: u32,
    /// Agents paused (Unavailable, not ACW).
    pub unavailable: u32,
    /// Staffed agents (available + working).
    pub staffed: u32,
    /// Calls ringing.
    pub ringing: u32,
    /// Live answers waiting for an agent.
    pub waiting: u32,
    /// Lines in progress (ringing + waiting + working).
    pub lines: u32,
    /// Lines the dialler aims at now.
    pub target_lines: u32,
    /// Whether the dialler is placing calls.
    pub dialling: bool,
}
