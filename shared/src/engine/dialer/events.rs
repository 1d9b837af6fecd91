//! The event queue and the internals that place calls and apply events.

use std::cmp::Ordering;

use rand::Rng;

use super::*;

#[derive(Debug, Clone, Copy)]
pub(super) enum EventKind {
    RingEnd {
        call: u64,
        dialed_at: f64,
        outcome: RingOutcome,
    },
    AbandonCheck {
        call: u64,
        dialed_at: f64,
    },
    TalkEnd {
        call: u64,
        dialed_at: f64,
        talk: f64,
    },
    /// `counted` is false for warm-start ACW agents, which have no call behind them.
    WrapEnd {
        call: u64,
        dialed_at: f64,
        talk: f64,
        wrap: f64,
        counted: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RingOutcome {
    Live,
    Machine,
    Busy,
    NoAnswer,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Event {
    pub(super) time: f64,
    pub(super) seq: u64,
    pub(super) kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the earliest event,
    /// ties broken by scheduling order.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .total_cmp(&self.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl Dialer {
    pub(super) fn logged_in(&self) -> u32 {
        self.available + self.working + self.acw + self.unavailable
    }

    pub(super) fn staffed(&self) -> u32 {
        self.available + self.working
    }

    pub(super) fn waiting_len(&self) -> u32 {
        u32::try_from(self.waiting.len()).unwrap_or(u32::MAX)
    }

    pub(super) fn lines(&self) -> u32 {
        self.ringing + self.waiting_len() + self.working
    }

    /// Available agents not promised to a ringing or waiting call.
    pub(super) fn free_available(&self) -> u32 {
        self.available
            .saturating_sub(self.ringing + self.waiting_len())
    }

    pub(super) fn push(&mut self, delay: f64, kind: EventKind) {
        self.seq += 1;
        self.events.push(Event {
            time: self.now + delay.max(0.0),
            seq: self.seq,
            kind,
        });
    }

    pub(super) fn integrate(&mut self, t: f64) {
        let dt = t - self.now;
        if dt > 0.0 {
            let logged_in = f64::from(self.logged_in());
            let lines = f64::from(self.lines());
            let s = &mut self.stats;
            s.talk_seconds += dt * f64::from(self.working);
            s.wrap_seconds += dt * f64::from(self.acw);
            s.idle_agent_seconds += dt * f64::from(self.available);
            s.staffed_agent_seconds += dt * f64::from(self.available + self.working);
            s.unavailable_agent_seconds += dt * f64::from(self.unavailable);
            s.logged_in_agent_seconds += dt * logged_in;
            s.line_seconds += dt * lines;
            self.now = t;
        }
    }

    pub(super) fn record(&mut self, rec: CallRecord) {
        if self.record_calls {
            self.records.push(rec);
        }
    }

    /// One dial's ring time and outcome under the model.
    pub(super) fn draw_ring(&mut self) -> (f64, RingOutcome) {
        let m = self.model;
        let u: f64 = self.rng.random();
        let limit = m.ring_limit_s.max(f64::MIN_POSITIVE);
        if u < m.live_answer_rate + m.machine_rate {
            let ring = m.ring.sample(&mut self.rng);
            let kind = if u < m.live_answer_rate {
                RingOutcome::Live
            } else {
                RingOutcome::Machine
            };
            if ring >= limit {
                (limit, RingOutcome::NoAnswer)
            } else {
                (ring, kind)
            }
        } else if u < m.live_answer_rate + m.machine_rate + m.busy_rate {
            (m.ring.sample(&mut self.rng).min(limit), RingOutcome::Busy)
        } else {
            (limit, RingOutcome::NoAnswer)
        }
    }

    /// Places a call. A line already in flight (warm start) is a
    /// length-biased draw (a line seen at a random instant is more likely a
    /// long one: accepted with probability ring time / limit) with a uniform
    /// share of its ring time left, the stationary state of a line that has
    /// been redialling for a while.
    pub(super) fn dial(&mut self) {
        self.next_call += 1;
        let call = self.next_call;
        self.stats.dials += 1;
        self.ringing += 1;
        let (delay, outcome) = if self.in_flight_dials {
            let limit = self.model.ring_limit_s.max(f64::MIN_POSITIVE);
            let mut drawn = self.draw_ring();
            for _ in 1..IN_FLIGHT_DRAWS {
                if self.rng.random::<f64>() * limit < drawn.0 {
                    break;
                }
                drawn = self.draw_ring();
            }
            (drawn.0 * self.rng.random::<f64>(), drawn.1)
        } else {
            self.draw_ring()
        };
        let dialed_at = self.now;
        self.push(
            delay,
            EventKind::RingEnd {
                call,
                dialed_at,
                outcome,
            },
        );
    }

    pub(super) fn simple_end(&mut self, call: u64, dialed_at: f64, outcome: CallOutcome) {
        self.record(CallRecord {
            contact_id: call,
            outcome,
            dialed_at,
            ended_at: self.now,
            talk_seconds: 0.0,
            wrap_seconds: 0.0,
        });
    }

    pub(super) fn connect(&mut self, call: u64, dialed_at: f64) {
        self.available -= 1;
        self.working += 1;
        self.stats.connects += 1;
        let talk = self.model.talk.sample(&mut self.rng);
        self.push(
            talk,
            EventKind::TalkEnd {
                call,
                dialed_at,
                talk,
            },
        );
    }

    /// Applies one event: a ring ends, a waiting call's patience runs out,
    /// a talk ends, or a wrap-up ends.
    pub(super) fn handle(&mut self, ev: Event) {
        match ev.kind {
            EventKind::RingEnd {
                call,
                dialed_at,
                outcome,
            } => self.ring_ended(call, dialed_at, outcome),
            EventKind::AbandonCheck { call, dialed_at } => self.abandon_check(call, dialed_at),
            EventKind::TalkEnd {
                call,
                dialed_at,
                talk,
            } => self.talk_ended(call, dialed_at, talk),
            EventKind::WrapEnd {
                call,
                dialed_at,
                talk,
                wrap,
                counted,
            } => self.wrap_ended(call, dialed_at, talk, wrap, counted),
        }
    }

    /// A dial stopped ringing: a live answer is connected to an Available
    /// agent or waits (and may be abandoned); other outcomes end the call.
    pub(super) fn ring_ended(&mut self, call: u64, dialed_at: f64, outcome: RingOutcome) {
        self.ringing = self.ringing.saturating_sub(1);
        match outcome {
            RingOutcome::Live => {
                self.stats.live_answers += 1;
                if self.waiting.is_empty() && self.available > 0 {
                    self.connect(call, dialed_at);
                } else {
                    self.waiting.push_back((call, dialed_at));
                    self.push(ABANDON_AFTER_S, EventKind::AbandonCheck { call, dialed_at });
                }
            }
            RingOutcome::Machine => {
                self.stats.machines += 1;
                self.simple_end(call, dialed_at, CallOutcome::Machine);
            }
            RingOutcome::Busy => {
                self.stats.busy += 1;
                self.simple_end(call, dialed_at, CallOutcome::Busy);
            }
            RingOutcome::NoAnswer => {
                self.stats.no_answers += 1;
                self.simple_end(call, dialed_at, CallOutcome::NoAnswer);
            }
        }
    }

    /// A waiting call's patience ran out: abandoned if it still waits.
    pub(super) fn abandon_check(&mut self, call: u64, dialed_at: f64) {
        // Waiting calls are served and abandoned in FIFO order, so the
        // call is still waiting exactly when it is at the front.
        if self.waiting.front().map(|w| w.0) == Some(call) {
            self.waiting.pop_front();
            self.stats.abandons += 1;
            self.simple_end(call, dialed_at, CallOutcome::Abandoned);
        }
    }

    /// A talk ended: the agent goes into after-call work.
    pub(super) fn talk_ended(&mut self, call: u64, dialed_at: f64, talk: f64) {
        self.working = self.working.saturating_sub(1);
        self.acw += 1;
        let wrap = self.model.wrap.sample(&mut self.rng);
        self.push(
            wrap,
            EventKind::WrapEnd {
                call,
                dialed_at,
                talk,
                wrap,
                counted: true,
            },
        );
    }

    /// After-call work ended: the agent logs out, pauses or becomes
    /// Available (towards the staffing targets), and a counted call gets
    /// its disposition and record.
    pub(super) fn wrap_ended(
        &mut self,
        call: u64,
        dialed_at: f64,
        talk: f64,
        wrap: f64,
        counted: bool,
    ) {
        self.acw = self.acw.saturating_sub(1);
        // `logged_in()` no longer includes this agent.
        if self.logged_in() >= self.target_logged_in {
            // Staffing is at or above target without this agent: it logs out.
        } else if self.unavailable < self.target_paused {
            self.unavailable += 1;
        } else {
            self.available += 1;
        }
        if counted {
            let success = self.rng.random::<f64>() < self.model.success_rate;
            if success {
                self.stats.successes += 1;
            } else {
                self.stats.failures += 1;
            }
            self.stats.handled_talk_seconds += talk;
            self.stats.handled_wrap_seconds += wrap;
            self.record(CallRecord {
                contact_id: call,
                outcome: if success {
                    CallOutcome::Success
                } else {
                    CallOutcome::Failure
                },
                dialed_at,
                ended_at: self.now,
                talk_seconds: talk,
                wrap_seconds: wrap,
            });
        }
    }

    /// Brings staffing towards its targets, serves waiting calls, then dials
    /// up to the target lines.
    pub(super) fn settle(&mut self) {
        // Log-ins and log-outs.
        let logged_in = self.logged_in();
        if logged_in < self.target_logged_in {
            self.available += self.target_logged_in - logged_in;
        } else if logged_in > self.target_logged_in {
            let mut excess = logged_in - self.target_logged_in;
            let take = excess.min(self.free_available());
            self.available -= take;
            excess -= take;
            let take = excess.min(self.unavailable);
            self.unavailable -= take;
        }
        // Pauses and un-pauses.
        if self.unavailable > self.target_paused {
            let back = self.unavailable - self.target_paused;
            self.unavailable -= back;
            self.available += back;
        } else if self.unavailable < self.target_paused {
            let take = (self.target_paused - self.unavailable).min(self.free_available());
            self.available -= take;
            self.unavailable += take;
        }
        // Waiting calls take any Available agent.
        while self.available > 0 {
            let Some((call, dialed_at)) = self.waiting.pop_front() else {
                break;
            };
            self.connect(call, dialed_at);
        }
        // Dial up to the target.
        if self.dialling {
            let target = self.target_lines();
            while self.lines() < target {
                self.dial();
            }
        }
    }
}
