//! The webhook body: one event, or `{"events": [...]}` with 1 to 500 events
//! (docs/cxone-api.md, "Webhook events into the bundle"), parsed and validated.
//!
//! Pure: bytes in, typed events or a list of field problems out. Problems
//! name the event's index and the field (`data.outcome` for fields inside
//! `data`), never echo more of the input than the field's name.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

/// Largest body accepted, in bytes (after any base64 decoding).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Most events in one body.
pub const MAX_EVENTS: usize = 500;
/// Longest `eventId` (and `type`, `contactId`), in characters.
pub const MAX_ID_CHARS: usize = 128;
/// Largest number of seconds accepted in a duration field.
pub const MAX_SECONDS: f64 = 1e9;
/// Largest count accepted in a metrics field.
pub const MAX_COUNT: u64 = 1_000_000_000_000;
/// Most problems listed in a 400's details.
pub const MAX_PROBLEMS: usize = 100;

/// The event types the bundle understands.
pub const CONTACT_COMPLETED: &str = "contact.completed";
/// A skill started or stopped dialling.
pub const SKILL_STATE: &str = "skill.state";
/// Interval statistics of a skill.
pub const SKILL_METRICS: &str = "skill.metrics";

/// How a contact ended (`contact.completed`'s `data.outcome`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// The contact reached its goal.
    Success,
    /// A live conversation that did not reach the goal.
    Failure,
    /// A live answer not connected to an agent within 2 s.
    Abandoned,
    /// Nobody answered.
    NoAnswer,
    /// An answering machine answered.
    Machine,
    /// The line was busy.
    Busy,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 6] = [
        Outcome::Success,
        Outcome::Failure,
        Outcome::Abandoned,
        Outcome::NoAnswer,
        Outcome::Machine,
        Outcome::Busy,
    ];

    /// The wire spelling (also the counter attribute's name).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Abandoned => "abandoned",
            Outcome::NoAnswer => "no_answer",
            Outcome::Machine => "machine",
            Outcome::Busy => "busy",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// `contact.completed`'s data.
#[derive(Clone, Debug, PartialEq)]
pub struct ContactCompleted {
    /// CXone contact id (a string, or an integer rendered as one).
    pub contact_id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Talk time, seconds.
    pub talk_seconds: f64,
    /// After-call work, seconds.
    pub wrap_seconds: f64,
    /// The number dialled, E.164 (`data.phoneNumber`, optional): counted
    /// per number for the states that cap calls per 24 hours.
    pub phone_number: Option<String>,
}

/// Whether `s` is an E.164 number: `+`, a non-zero digit, 7 to 14 more digits.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// `skill.metrics`' data.
#[derive(Clone, Debug, PartialEq)]
pub struct SkillMetrics {
    /// Length of the interval reported, seconds (positive).
    pub interval_seconds: f64,
    /// Dials in the interval.
    pub dials: u64,
    /// Live answers connected to an agent.
    pub connects: u64,
    /// Live answers abandoned.
    pub abandons: u64,
    /// Successful contacts.
    pub successes: u64,
    /// Failed contacts.
    pub failures: u64,
}

/// What an event says, by type.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// `contact.completed`.
    ContactCompleted(ContactCompleted),
    /// `skill.state`.
    SkillState {
        /// Whether the skill is dialling now.
        running: bool,
    },
    /// `skill.metrics`.
    SkillMetrics(SkillMetrics),
    /// A type the bundle does not know: stored and counted as `other`.
    Other,
}

/// One validated event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Unique id chosen by the sender (1 to 128 characters); the dedupe key.
    pub event_id: String,
    /// The `type` as sent.
    pub event_type: String,
    /// When it happened (normalised to UTC).
    pub occurred_at: DateTime<Utc>,
    /// The campaign (CXone skill id, positive).
    pub skill_id: i64,
    /// The typed content.
    pub kind: EventKind,
    /// The event object as received (stored with the dedupe record).
    pub raw: Map<String, Value>,
}

impl Event {
    /// The UTC minute of `occurred_at`, `YYYY-MM-DDTHH:MM` (the counter bucket).
    pub fn minute(&self) -> String {
        minute_key(self.occurred_at)
    }

    /// The event as stored: the object as received (JSON).
    pub fn raw_json(&self) -> String {
        serde_json::to_string(&self.raw).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// `YYYY-MM-DDTHH:MM` of `at` (UTC); sorts as time does for years 0000-9999.
pub fn minute_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M").to_string()
}

/// One thing wrong with one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// The event's position in the body (0 for a single event).
    pub index: usize,
    /// The field (`data.outcome` for fields inside `data`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

/// Why a body was refused (a 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON at all.
    Json(String),
    /// JSON, but not an event or an `{"events": [...]}` envelope.
    Shape {
        /// The offending field (`events`, or `body`).
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// One or more events are invalid (at most [`MAX_PROBLEMS`] listed).
    Events(Vec<FieldProblem>),
}

impl BodyError {
    /// A one-line message naming the (first) field and event index.
    pub fn message(&self) -> String {
        match self {
            BodyError::Json(reason) => format!("body is not valid JSON: {reason}"),
            BodyError::Shape { field, problem } => format!("field `{field}` {problem}"),
            BodyError::Events(problems) => match problems.first() {
                Some(p) => {
                    let more = problems.len() - 1;
                    let tail = if more > 0 {
                        format!(" (and {more} more problem(s))")
                    } else {
                        String::new()
                    };
                    format!("event {}: field `{}` {}{tail}", p.index, p.field, p.problem)
                }
                None => "invalid event".to_owned(),
            },
        }
    }

    /// Itemised problems for the error body's `details`.
    pub fn details(&self) -> Vec<Value> {
        match self {
            BodyError::Json(reason) => vec![json!({"field": "body", "problem": reason})],
            BodyError::Shape { field, problem } => {
                vec![json!({"field": field, "problem": problem})]
            }
            BodyError::Events(problems) => problems
                .iter()
                .map(|p| json!({"index": p.index, "field": p.field, "problem": p.problem}))
                .collect(),
        }
    }
}

/// Parses and validates a body (the size limit is the caller's, checked first).
pub fn parse_body(body: &[u8]) -> Result<Vec<Event>, BodyError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        BodyError::Json(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(top) = value else {
        return Err(BodyError::Shape {
            field: "body",
            problem: "must be an event object or {\"events\": [...]}".to_owned(),
        });
    };
    let items: Vec<Value> = if top.contains_key("events") {
        let mut top = top;
        match top.remove("events") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(BodyError::Shape {
                    field: "events",
                    problem: "must be an array of events".to_owned(),
                })
            }
        }
    } else {
        vec![Value::Object(top)]
    };
    if items.is_empty() || items.len() > MAX_EVENTS {
        return Err(BodyError::Shape {
            field: "events",
            problem: format!("must hold 1 to {MAX_EVENTS} events, not {}", items.len()),
        });
    }
    let mut events = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match parse_event(index, item) {
            Ok(event) => events.push(event),
            Err(mut p) => {
                let room = MAX_PROBLEMS.saturating_sub(problems.len());
                p.truncate(room);
                problems.extend(p);
            }
        }
    }
    if problems.is_empty() {
        Ok(events)
    } else {
        Err(BodyError::Events(problems))
    }
}

/// Collects problems of one event.
struct Checker {
    index: usize,
    problems: Vec<FieldProblem>,
}

impl Checker {
    fn problem(&mut self, field: &str, problem: impl Into<String>) {
        self.problems.push(FieldProblem {
            index: self.index,
            field: field.to_owned(),
            problem: problem.into(),
        });
    }

    fn get<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        name: &str,
        field: &str,
    ) -> Option<&'a Value> {
        match obj.get(name) {
            None | Some(Value::Null) => {
                self.problem(field, "is required");
                None
            }
            Some(v) => Some(v),
        }
    }

    fn string(&mut self, obj: &Map<String, Value>, name: &str, field: &str) -> Option<String> {
        match self.get(obj, name, field)? {
            Value::String(s) => {
                let chars = s.chars().count();
                if chars == 0 || chars > MAX_ID_CHARS {
                    self.problem(field, format!("must be 1 to {MAX_ID_CHARS} characters"));
                    None
                } else {
                    Some(s.clone())
                }
            }
            _ => {
                self.problem(field, "must be a string");
                None
            }
        }
    }

    fn seconds(
        &mut self,
        obj: &Map<String, Value>,
        name: &str,
        field: &str,
        positive: bool,
    ) -> Option<f64> {
        let v = self.get(obj, name, field)?;
        match v.as_f64() {
            Some(x)
                if x.is_finite()
                    && x <= MAX_SECONDS
                    && (if positive { x > 0.0 } else { x >= 0.0 }) =>
            {
                Some(x)
            }
            _ => {
                let low = if positive {
                    "greater than 0"
                } else {
                    "at least 0"
                };
                self.problem(
                    field,
                    format!("must be a number {low} and at most {MAX_SECONDS}"),
                );
                None
            }
        }
    }

    fn count(&mut self, obj: &Map<String, Value>, name: &str, field: &str) -> Option<u64> {
        let v = self.get(obj, name, field)?;
        match v.as_u64() {
            Some(n) if n <= MAX_COUNT => Some(n),
            _ => {
                self.problem(field, format!("must be an integer from 0 to {MAX_COUNT}"));
                None
            }
        }
    }
}

/// One event of the body: the envelope's fields, then `data` as the type
/// says. Every problem is collected (not only the first), in field order.
fn parse_event(index: usize, item: Value) -> Result<Event, Vec<FieldProblem>> {
    let mut c = Checker {
        index,
        problems: Vec::new(),
    };
    let Value::Object(obj) = item else {
        c.problem("event", "must be an object");
        return Err(c.problems);
    };
    let event_id = c.string(&obj, "eventId", "eventId");
    let event_type = c.string(&obj, "type", "type");
    let occurred_at = c.occurred_at(&obj);
    let skill_id = c.skill_id(&obj);
    let data = c.data(&obj);
    let kind = match (event_type.as_deref(), data) {
        (Some(CONTACT_COMPLETED), Some(d)) => c.contact_completed(d),
        (Some(SKILL_STATE), Some(d)) => c.skill_state(d),
        (Some(SKILL_METRICS), Some(d)) => c.skill_metrics(d),
        (Some(_), Some(_)) => Some(EventKind::Other),
        _ => None,
    };
    match (event_id, event_type, occurred_at, skill_id, kind) {
        (Some(event_id), Some(event_type), Some(occurred_at), Some(skill_id), Some(kind))
            if c.problems.is_empty() =>
        {
            Ok(Event {
                event_id,
                event_type,
                occurred_at,
                skill_id,
                kind,
                raw: obj,
            })
        }
        _ => {
            if c.problems.is_empty() {
                c.problem("event", "is invalid");
            }
            Err(c.problems)
        }
    }
}

/// The wording of a bad `data.outcome`.
const OUTCOME_PROBLEM: &str =
    "must be one of success, failure, abandoned, no_answer, machine, busy";

/// The envelope's fields and each event type's `data`.
impl Checker {
    /// `occurredAt`: an RFC 3339 time string.
    fn occurred_at(&mut self, obj: &Map<String, Value>) -> Option<DateTime<Utc>> {
        match self.get(obj, "occurredAt", "occurredAt") {
            Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(_) => {
                    self.problem("occurredAt", "must be an RFC 3339 time");
                    None
                }
            },
            Some(_) => {
                self.problem("occurredAt", "must be an RFC 3339 time string");
                None
            }
            None => None,
        }
    }

    /// `skillId`: a positive integer.
    fn skill_id(&mut self, obj: &Map<String, Value>) -> Option<i64> {
        match self.get(obj, "skillId", "skillId") {
            Some(v) => match v.as_i64() {
                Some(n) if n > 0 => Some(n),
                _ => {
                    self.problem("skillId", "must be a positive integer");
                    None
                }
            },
            None => None,
        }
    }

    /// `data`: an object.
    fn data<'a>(&mut self, obj: &'a Map<String, Value>) -> Option<&'a Map<String, Value>> {
        match self.get(obj, "data", "data") {
            Some(Value::Object(d)) => Some(d),
            Some(_) => {
                self.problem("data", "must be an object");
                None
            }
            None => None,
        }
    }

    /// `contact.completed`'s data: contact id, outcome, talk and wrap
    /// seconds, and an optional E.164 phone number.
    fn contact_completed(&mut self, d: &Map<String, Value>) -> Option<EventKind> {
        let contact_id = self.contact_id(d);
        let outcome = self.outcome(d);
        let talk = self.seconds(d, "talkSeconds", "data.talkSeconds", false);
        let wrap = self.seconds(d, "wrapSeconds", "data.wrapSeconds", false);
        let phone = self.phone_number(d);
        match (contact_id, outcome, talk, wrap, phone) {
            (
                Some(contact_id),
                Some(outcome),
                Some(talk_seconds),
                Some(wrap_seconds),
                Ok(phone_number),
            ) => Some(EventKind::ContactCompleted(ContactCompleted {
                contact_id,
                outcome,
                talk_seconds,
                wrap_seconds,
                phone_number,
            })),
            _ => None,
        }
    }

    /// `data.contactId`: a string of 1 to [`MAX_ID_CHARS`] characters or a
    /// non-negative integer (kept as its decimal text).
    fn contact_id(&mut self, d: &Map<String, Value>) -> Option<String> {
        match self.get(d, "contactId", "data.contactId") {
            Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= MAX_ID_CHARS => {
                Some(s.clone())
            }
            Some(Value::Number(n)) if n.as_u64().is_some() => Some(n.to_string()),
            Some(_) => {
                self.problem(
                    "data.contactId",
                    format!("must be a string of 1 to {MAX_ID_CHARS} characters or a non-negative integer"),
                );
                None
            }
            None => None,
        }
    }

    /// `data.outcome`: one of the [`Outcome`] spellings.
    fn outcome(&mut self, d: &Map<String, Value>) -> Option<Outcome> {
        match self.get(d, "outcome", "data.outcome") {
            Some(Value::String(s)) => Outcome::parse(s).or_else(|| {
                self.problem("data.outcome", OUTCOME_PROBLEM);
                None
            }),
            Some(_) => {
                self.problem("data.outcome", OUTCOME_PROBLEM);
                None
            }
            None => None,
        }
    }

    /// `data.phoneNumber`: absent, `null` or an E.164 number (`Err` when
    /// present and not one).
    fn phone_number(&mut self, d: &Map<String, Value>) -> Result<Option<String>, ()> {
        match d.get("phoneNumber") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(p)) if is_e164(p) => Ok(Some(p.clone())),
            Some(_) => {
                self.problem(
                    "data.phoneNumber",
                    "must be an E.164 number such as \"+16175550123\"",
                );
                Err(())
            }
        }
    }

    /// `skill.state`'s data: `running`, true or false.
    fn skill_state(&mut self, d: &Map<String, Value>) -> Option<EventKind> {
        match self.get(d, "running", "data.running") {
            Some(Value::Bool(running)) => Some(EventKind::SkillState { running: *running }),
            Some(_) => {
                self.problem("data.running", "must be true or false");
                None
            }
            None => None,
        }
    }

    /// `skill.metrics`'s data: a positive interval and five counts.
    fn skill_metrics(&mut self, d: &Map<String, Value>) -> Option<EventKind> {
        let interval = self.seconds(d, "intervalSeconds", "data.intervalSeconds", true);
        let dials = self.count(d, "dials", "data.dials");
        let connects = self.count(d, "connects", "data.connects");
        let abandons = self.count(d, "abandons", "data.abandons");
        let successes = self.count(d, "successes", "data.successes");
        let failures = self.count(d, "failures", "data.failures");
        match (interval, dials, connects, abandons, successes, failures) {
            (
                Some(interval_seconds),
                Some(dials),
                Some(connects),
                Some(abandons),
                Some(successes),
                Some(failures),
            ) => Some(EventKind::SkillMetrics(SkillMetrics {
                interval_seconds,
                dials,
                connects,
                abandons,
                successes,
                failures,
            })),
            _ => None,
        }
    }
}

/// RFC 3339 with millisecond precision, `Z` (how times are stored).
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completed(id: &str, outcome: &str) -> Value {
        json!({"eventId": id, "type": "contact.completed", "occurredAt": "2025-03-04T12:34:56Z",
               "skillId": 4242, "data": {"contactId": "c-1", "outcome": outcome,
               "talkSeconds": 120, "wrapSeconds": 15.5}})
    }

    fn parse(v: &Value) -> Result<Vec<Event>, BodyError> {
        parse_body(v.to_string().as_bytes())
    }

    fn problems(v: &Value) -> Vec<FieldProblem> {
        match parse(v) {
            Err(BodyError::Events(p)) => p,
            other => panic!("expected field problems, got {other:?}"),
        }
    }

    #[test]
    fn single_event() {
        let events = parse(&completed("e1", "no_answer")).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.event_id, "e1");
        assert_eq!(e.skill_id, 4242);
        assert_eq!(e.minute(), "2025-03-04T12:34");
        assert_eq!(
            e.kind,
            EventKind::ContactCompleted(ContactCompleted {
                contact_id: "c-1".into(),
                outcome: Outcome::NoAnswer,
                talk_seconds: 120.0,
                wrap_seconds: 15.5,
                phone_number: None,
            })
        );
        assert_eq!(e.raw["eventId"], "e1");
    }

    #[test]
    fn batch_of_every_type() {
        let body = json!({"events": [
            completed("a", "success"),
            {"eventId": "b", "type": "skill.state", "occurredAt": "2025-03-04T12:34:56.789+02:00",
             "skillId": 1, "data": {"running": false}},
            {"eventId": "c", "type": "skill.metrics", "occurredAt": "2025-03-04T12:35:00Z", "skillId": 1,
             "data": {"intervalSeconds": 60, "dials": 10, "connects": 4, "abandons": 0,
                      "successes": 2, "failures": 1}},
            {"eventId": "d", "type": "agent.sneezed", "occurredAt": "2025-03-04T12:35:00Z", "skillId": 1,
             "data": {"anything": [1, 2]}},
            {"eventId": "e", "type": "contact.completed", "occurredAt": "2025-03-04T12:35:00Z", "skillId": 1,
             "data": {"contactId": 98765, "outcome": "busy", "talkSeconds": 0, "wrapSeconds": 0}},
        ]});
        let events = parse(&body).unwrap();
        assert_eq!(events.len(), 5);
        assert_eq!(events[1].kind, EventKind::SkillState { running: false });
        // Offsets are normalised to UTC before bucketing.
        assert_eq!(events[1].minute(), "2025-03-04T10:34");
        assert!(
            matches!(&events[2].kind, EventKind::SkillMetrics(m) if m.dials == 10 && m.interval_seconds == 60.0)
        );
        assert_eq!(events[3].kind, EventKind::Other);
        assert!(
            matches!(&events[4].kind, EventKind::ContactCompleted(c) if c.contact_id == "98765")
        );
    }

    #[test]
    fn bad_json_and_shapes() {
        assert!(matches!(parse_body(b"{not json"), Err(BodyError::Json(_))));
        assert!(matches!(parse_body(b""), Err(BodyError::Json(_))));
        assert!(matches!(
            parse_body(b"[1,2]"),
            Err(BodyError::Shape { field: "body", .. })
        ));
        assert!(matches!(
            parse_body(b"42"),
            Err(BodyError::Shape { field: "body", .. })
        ));
        assert!(matches!(
            parse_body(br#"{"events": {}}"#),
            Err(BodyError::Shape {
                field: "events",
                ..
            })
        ));
        assert!(matches!(
            parse_body(br#"{"events": []}"#),
            Err(BodyError::Shape {
                field: "events",
                ..
            })
        ));
        let too_many = json!({"events": vec![completed("x", "success"); MAX_EVENTS + 1]});
        assert!(matches!(
            parse(&too_many),
            Err(BodyError::Shape {
                field: "events",
                ..
            })
        ));
        let max = json!({"events": (0..MAX_EVENTS).map(|i| completed(&format!("e{i}"), "success")).collect::<Vec<_>>()});
        assert_eq!(parse(&max).unwrap().len(), MAX_EVENTS);
        // Deep nesting is an error, not a stack overflow.
        let deep = "[".repeat(100_000);
        assert!(parse_body(deep.as_bytes()).is_err());
        // Invalid UTF-8.
        assert!(parse_body(&[b'{', 0xff, b'}']).is_err());
    }

    #[test]
    fn missing_field_is_named_with_its_index() {
        let mut bad = completed("b", "success");
        bad.as_object_mut().unwrap().remove("occurredAt");
        let body = json!({"events": [completed("a", "success"), bad]});
        let p = problems(&body);
        assert_eq!(
            p,
            vec![FieldProblem {
                index: 1,
                field: "occurredAt".into(),
                problem: "is required".into()
            }]
        );
        let err = parse(&body).unwrap_err();
        assert!(err.message().contains("event 1"), "{}", err.message());
        assert!(err.message().contains("occurredAt"), "{}", err.message());
        assert_eq!(err.details()[0]["index"], 1);
        assert_eq!(err.details()[0]["field"], "occurredAt");
    }

    #[test]
    fn invalid_fields() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"eventId": ""}), "eventId"),
            (json!({"eventId": "x".repeat(129)}), "eventId"),
            (json!({"eventId": 7}), "eventId"),
            (json!({"type": null}), "type"),
            (json!({"occurredAt": "yesterday"}), "occurredAt"),
            (json!({"occurredAt": "2025-03-04 12:34"}), "occurredAt"),
            (json!({"occurredAt": 1700000000}), "occurredAt"),
            (json!({"skillId": 0}), "skillId"),
            (json!({"skillId": -4}), "skillId"),
            (json!({"skillId": 1.5}), "skillId"),
            (json!({"skillId": "4242"}), "skillId"),
            (json!({"skillId": 18446744073709551615u64}), "skillId"),
            (json!({"data": []}), "data"),
            (
                json!({"data": {"contactId": "c", "outcome": "won", "talkSeconds": 1, "wrapSeconds": 1}}),
                "data.outcome",
            ),
            (
                json!({"data": {"contactId": "c", "outcome": "success", "talkSeconds": -1, "wrapSeconds": 1}}),
                "data.talkSeconds",
            ),
            (
                json!({"data": {"contactId": "c", "outcome": "success", "talkSeconds": 1, "wrapSeconds": "1"}}),
                "data.wrapSeconds",
            ),
            (
                json!({"data": {"contactId": "c", "outcome": "success", "talkSeconds": 1e300, "wrapSeconds": 1}}),
                "data.talkSeconds",
            ),
            (
                json!({"data": {"outcome": "success", "talkSeconds": 1, "wrapSeconds": 1}}),
                "data.contactId",
            ),
            (
                json!({"data": {"contactId": -3, "outcome": "success", "talkSeconds": 1, "wrapSeconds": 1}}),
                "data.contactId",
            ),
        ];
        for (patch, field) in cases {
            let mut event = completed("e", "success");
            for (k, v) in patch.as_object().unwrap() {
                event[k] = v.clone();
            }
            let p = problems(&event);
            assert_eq!(p[0].field, field, "{event}");
            assert_eq!(p[0].index, 0);
        }
        let state = json!({"eventId": "s", "type": "skill.state", "occurredAt": "2025-03-04T12:00:00Z",
                           "skillId": 1, "data": {"running": "yes"}});
        assert_eq!(problems(&state)[0].field, "data.running");
        let metrics = json!({"eventId": "m", "type": "skill.metrics", "occurredAt": "2025-03-04T12:00:00Z",
                             "skillId": 1, "data": {"intervalSeconds": 0, "dials": 1.5, "connects": 0,
                             "abandons": 0, "successes": 0}});
        let fields: Vec<String> = problems(&metrics).into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["data.intervalSeconds", "data.dials", "data.failures"]
        );
        // Unknown types still need the common fields.
        let other = json!({"eventId": "o", "type": "x.y", "occurredAt": "2025-03-04T12:00:00Z", "skillId": 1});
        assert_eq!(problems(&other)[0].field, "data");
        assert!(
            matches!(parse(&json!({"events": [1]})), Err(BodyError::Events(p)) if p[0].field == "event")
        );
    }

    #[test]
    fn every_problem_is_listed_up_to_a_cap() {
        let body = json!({"events": vec![json!({}); 300]});
        let p = problems(&body);
        assert_eq!(p.len(), MAX_PROBLEMS);
        assert_eq!(p[0].field, "eventId");
    }

    #[test]
    fn outcome_names_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("SUCCESS"), None);
    }

    #[test]
    fn contact_completed_may_carry_an_e164_phone_number() {
        let mut event = completed("p1", "success");
        event["data"]["phoneNumber"] = json!("+16175550123");
        let events = parse(&event).unwrap();
        assert!(matches!(&events[0].kind,
            EventKind::ContactCompleted(c) if c.phone_number.as_deref() == Some("+16175550123")));
        for bad in [
            json!("6175550123"),
            json!("+0123456789"),
            json!("+1"),
            json!(16175550123_i64),
        ] {
            event["data"]["phoneNumber"] = bad.clone();
            let p = problems(&event);
            assert!(
                p.iter().any(|p| p.field == "data.phoneNumber"),
                "{bad}: {p:?}"
            );
        }
        assert!(is_e164("+442071838750"));
        assert!(!is_e164("+1617555012a"));
    }
}
