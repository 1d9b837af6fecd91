//! Per-minute, per-campaign event counters: what one event adds, and sums
//! over a window (read by the failover checker and the health route).
//!
//! Each field is one numeric attribute of a counter item (see
//! [`crate::store::events`]); the attribute names are [`Counts::FIELDS`].

use super::event::{Event, EventKind, Outcome};

/// Counter totals (one event's contribution, one minute, or a window's sum).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Every event counted, of any type (`events`).
    pub events: u64,
    /// `contact.completed` with outcome `success`.
    pub success: u64,
    /// ... `failure`.
    pub failure: u64,
    /// ... `abandoned`.
    pub abandoned: u64,
    /// ... `no_answer`.
    pub no_answer: u64,
    /// ... `machine`.
    pub machine: u64,
    /// ... `busy`.
    pub busy: u64,
    /// Events of a type the bundle does not know (`other`).
    pub other: u64,
    /// Sum of `talkSeconds` of completed contacts (`talk_seconds`).
    pub talk_seconds: f64,
    /// Sum of `wrapSeconds` of completed contacts (`wrap_seconds`).
    pub wrap_seconds: f64,
    /// `skill.state` events with `running: true` (`s_started`).
    pub started: u64,
    /// `skill.state` events with `running: false` (`s_stopped`).
    pub stopped: u64,
    /// `skill.metrics` events (`m_reports`).
    pub metrics_reports: u64,
    /// Sum of their `intervalSeconds` (`m_interval_seconds`).
    pub metrics_interval_seconds: f64,
    /// Sum of their `dials` (`m_dials`).
    pub metrics_dials: u64,
    /// Sum of their `connects` (`m_connects`).
    pub metrics_connects: u64,
    /// Sum of their `abandons` (`m_abandons`).
    pub metrics_abandons: u64,
    /// Sum of their `successes` (`m_successes`).
    pub metrics_successes: u64,
    /// Sum of their `failures` (`m_failures`).
    pub metrics_failures: u64,
}

/// One counter value: an integer count or a (possibly fractional) sum of seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CounterValue {
    /// A count.
    Count(u64),
    /// A sum of seconds.
    Seconds(f64),
}

impl CounterValue {
    /// Whether adding it changes nothing.
    pub fn is_zero(self) -> bool {
        match self {
            CounterValue::Count(n) => n == 0,
            CounterValue::Seconds(s) => s == 0.0,
        }
    }

    /// The DynamoDB number text (never in exponent notation).
    pub fn to_number(self) -> String {
        match self {
            CounterValue::Count(n) => n.to_string(),
            CounterValue::Seconds(s) => format!("{s}"),
        }
    }
}

impl Counts {
    /// Attribute names, in the order of [`Counts::values`].
    pub const FIELDS: [&'static str; 19] = [
        "events",
        "success",
        "failure",
        "abandoned",
        "no_answer",
        "machine",
        "busy",
        "other",
        "talk_seconds",
        "wrap_seconds",
        "s_started",
        "s_stopped",
        "m_reports",
        "m_interval_seconds",
        "m_dials",
        "m_connects",
        "m_abandons",
        "m_successes",
        "m_failures",
    ];

    /// What one event adds to its minute's counter.
    pub fn of_event(event: &Event) -> Self {
        let mut c = Counts {
            events: 1,
            ..Counts::default()
        };
        match &event.kind {
            EventKind::ContactCompleted(cc) => {
                *c.outcome_mut(cc.outcome) += 1;
                c.talk_seconds = cc.talk_seconds;
                c.wrap_seconds = cc.wrap_seconds;
            }
            EventKind::SkillState { running: true } => c.started = 1,
            EventKind::SkillState { running: false } => c.stopped = 1,
            EventKind::SkillMetrics(m) => {
                c.metrics_reports = 1;
                c.metrics_interval_seconds = m.interval_seconds;
                c.metrics_dials = m.dials;
                c.metrics_connects = m.connects;
                c.metrics_abandons = m.abandons;
                c.metrics_successes = m.successes;
                c.metrics_failures = m.failures;
            }
            EventKind::Other => c.other = 1,
        }
        c
    }

    /// The count of contacts that ended with `outcome`.
    pub fn outcome(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Success => self.success,
            Outcome::Failure => self.failure,
            Outcome::Abandoned => self.abandoned,
            Outcome::NoAnswer => self.no_answer,
            Outcome::Machine => self.machine,
            Outcome::Busy => self.busy,
        }
    }

    fn outcome_mut(&mut self, outcome: Outcome) -> &mut u64 {
        match outcome {
            Outcome::Success => &mut self.success,
            Outcome::Failure => &mut self.failure,
            Outcome::Abandoned => &mut self.abandoned,
            Outcome::NoAnswer => &mut self.no_answer,
            Outcome::Machine => &mut self.machine,
            Outcome::Busy => &mut self.busy,
        }
    }

    /// The values, in the order of [`Counts::FIELDS`].
    pub fn values(&self) -> [CounterValue; 19] {
        use CounterValue::{Count, Seconds};
        [
            Count(self.events),
            Count(self.success),
            Count(self.failure),
            Count(self.abandoned),
            Count(self.no_answer),
            Count(self.machine),
            Count(self.busy),
            Count(self.other),
            Seconds(self.talk_seconds),
            Seconds(self.wrap_seconds),
            Count(self.started),
            Count(self.stopped),
            Count(self.metrics_reports),
            Seconds(self.metrics_interval_seconds),
            Count(self.metrics_dials),
            Count(self.metrics_connects),
            Count(self.metrics_abandons),
            Count(self.metrics_successes),
            Count(self.metrics_failures),
        ]
    }

    /// The non-zero `(attribute, value)` pairs (what an `ADD` needs).
    pub fn nonzero(&self) -> Vec<(&'static str, CounterValue)> {
        Self::FIELDS
            .into_iter()
            .zip(self.values())
            .filter(|(_, v)| !v.is_zero())
            .collect()
    }

    /// Sets one field by attribute name from a DynamoDB number's text; false
    /// when the name is unknown or the text is not a number of the field's kind.
    pub fn set_field(&mut self, name: &str, number: &str) -> bool {
        fn count(text: &str) -> Option<u64> {
            text.parse::<u64>().ok().or_else(|| {
                // Tolerate an integral number written with a fraction ("12.0").
                let f: f64 = text.parse().ok()?;
                (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64)
                    .then_some(f as u64)
            })
        }
        fn seconds(text: &str) -> Option<f64> {
            text.parse::<f64>().ok().filter(|f| f.is_finite())
        }
        let slot: &mut u64 = match name {
            "talk_seconds" | "wrap_seconds" | "m_interval_seconds" => {
                let Some(v) = seconds(number) else {
                    return false;
                };
                match name {
                    "talk_seconds" => self.talk_seconds = v,
                    "wrap_seconds" => self.wrap_seconds = v,
                    _ => self.metrics_interval_seconds = v,
                }
                return true;
            }
            "events" => &mut self.events,
            "success" => &mut self.success,
            "failure" => &mut self.failure,
            "abandoned" => &mut self.abandoned,
            "no_answer" => &mut self.no_answer,
            "machine" => &mut self.machine,
            "busy" => &mut self.busy,
            "other" => &mut self.other,
            "s_started" => &mut self.started,
            "s_stopped" => &mut self.stopped,
            "m_reports" => &mut self.metrics_reports,
            "m_dials" => &mut self.metrics_dials,
            "m_connects" => &mut self.metrics_connects,
            "m_abandons" => &mut self.metrics_abandons,
            "m_successes" => &mut self.metrics_successes,
            "m_failures" => &mut self.metrics_failures,
            _ => return false,
        };
        match count(number) {
            Some(v) => {
                *slot = v;
                true
            }
            None => false,
        }
    }

    /// Adds `other` into `self` (saturating).
    pub fn add(&mut self, other: &Counts) {
        let add = |a: &mut u64, b: u64| *a = a.saturating_add(b);
        add(&mut self.events, other.events);
        add(&mut self.success, other.success);
        add(&mut self.failure, other.failure);
        add(&mut self.abandoned, other.abandoned);
        add(&mut self.no_answer, other.no_answer);
        add(&mut self.machine, other.machine);
        add(&mut self.busy, other.busy);
        add(&mut self.other, other.other);
        self.talk_seconds += other.talk_seconds;
        self.wrap_seconds += other.wrap_seconds;
        add(&mut self.started, other.started);
        add(&mut self.stopped, other.stopped);
        add(&mut self.metrics_reports, other.metrics_reports);
        self.metrics_interval_seconds += other.metrics_interval_seconds;
        add(&mut self.metrics_dials, other.metrics_dials);
        add(&mut self.metrics_connects, other.metrics_connects);
        add(&mut self.metrics_abandons, other.metrics_abandons);
        add(&mut self.metrics_successes, other.metrics_successes);
        add(&mut self.metrics_failures, other.metrics_failures);
    }

    /// Contacts that count towards the success rate: success + failure + abandoned.
    pub fn samples(&self) -> u64 {
        self.success
            .saturating_add(self.failure)
            .saturating_add(self.abandoned)
    }

    /// success / (success + failure + abandoned); `None` when there are no samples.
    pub fn success_rate(&self) -> Option<f64> {
        let samples = self.samples();
        (samples > 0).then(|| self.success as f64 / samples as f64)
    }

    /// Contacts completed with any outcome.
    pub fn completed(&self) -> u64 {
        Outcome::ALL
            .iter()
            .fold(0u64, |acc, o| acc.saturating_add(self.outcome(*o)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::event::parse_body;

    #[test]
    fn one_event_adds_one_to_events_and_its_bucket() {
        let events = parse_body(
            br#"{"events": [
            {"eventId":"a","type":"contact.completed","occurredAt":"2025-01-01T00:00:00Z","skillId":1,
             "data":{"contactId":"c","outcome":"abandoned","talkSeconds":0,"wrapSeconds":2.5}},
            {"eventId":"b","type":"skill.metrics","occurredAt":"2025-01-01T00:00:00Z","skillId":1,
             "data":{"intervalSeconds":60,"dials":9,"connects":3,"abandons":1,"successes":2,"failures":0}},
            {"eventId":"c","type":"skill.state","occurredAt":"2025-01-01T00:00:00Z","skillId":1,"data":{"running":true}},
            {"eventId":"d","type":"mystery","occurredAt":"2025-01-01T00:00:00Z","skillId":1,"data":{}}
        ]}"#,
        )
        .unwrap();
        let c: Vec<Counts> = events.iter().map(Counts::of_event).collect();
        assert_eq!(
            c[0].nonzero(),
            vec![
                ("events", CounterValue::Count(1)),
                ("abandoned", CounterValue::Count(1)),
                ("wrap_seconds", CounterValue::Seconds(2.5)),
            ]
        );
        let names: Vec<&str> = c[1].nonzero().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "events",
                "m_reports",
                "m_interval_seconds",
                "m_dials",
                "m_connects",
                "m_abandons",
                "m_successes"
            ]
        );
        assert_eq!(c[2].started, 1);
        assert_eq!(c[3].other, 1);
        let mut total = Counts::default();
        c.iter().for_each(|x| total.add(x));
        assert_eq!(total.events, 4);
        assert_eq!(total.completed(), 1);
    }

    #[test]
    fn fields_round_trip_through_numbers() {
        let mut c = Counts::default();
        for (i, name) in Counts::FIELDS.iter().enumerate() {
            assert!(c.set_field(name, &(i + 1).to_string()), "{name}");
        }
        for (i, (name, value)) in c.nonzero().into_iter().enumerate() {
            assert_eq!(name, Counts::FIELDS[i]);
            assert_eq!(value.to_number(), (i + 1).to_string());
        }
        assert!(!c.set_field("pk", "1"));
        assert!(!c.set_field("success", "x"));
        assert!(!c.set_field("success", "-1"));
        assert!(c.set_field("talk_seconds", "0.30000000000000004"));
        assert_eq!(
            CounterValue::Seconds(1e21).to_number(),
            "1000000000000000000000"
        );
    }

    #[test]
    fn success_rate() {
        let c = Counts {
            success: 3,
            failure: 5,
            abandoned: 2,
            no_answer: 100,
            ..Counts::default()
        };
        assert_eq!(c.samples(), 10);
        assert_eq!(c.success_rate(), Some(0.3));
        assert_eq!(Counts::default().success_rate(), None);
    }
}
