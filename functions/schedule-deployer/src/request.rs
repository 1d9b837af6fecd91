//! The schedule request body, parsed strictly (docs/architecture.md,
//! "Schedule deployer").
//!
//! ```json
//! {"timeZone": "America/New_York",
//!  "days": {"monday": {"start": "09:00", "end": "20:30"}, "tuesday": {...}},
//!  "recipientTimeZones": ["America/New_York", "America/Los_Angeles"],
//!  "recipientStates": ["FL", "NY"], "onViolation": "refuse"}
//! ```
//!
//! Shape problems are 400 ([`RequestRejection::Shape`]), each naming its field
//! with a JSON path such as `days.monday.start`: malformed JSON, unknown or
//! missing fields, wrong types, times that are not strict 24-hour `"HH:MM"`
//! (`"25:00"`, `"9am"`, `"9:00"`), a start not before its end, day names other
//! than `monday`..`sunday`, names that are not IANA time zones, unknown state
//! codes. A recipient zone that is a real IANA zone but has no CXone time-zone
//! name (e.g. `Europe/Paris`) is understood but cannot be served: 422
//! ([`RequestRejection::Unsupported`]).

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Map, Value};

use shared::api_error::field_name;
use shared::engine::compliance::{
    cxone_zone_for, parse_zone, Day, DayWindow, HhMm, StateCode, ViolationMode, WeeklySchedule,
};

/// Most recipient time zones a request may list.
pub const MAX_RECIPIENT_ZONES: usize = 64;
/// Most recipient states a request may list.
pub const MAX_RECIPIENT_STATES: usize = 64;

const FIELDS: [&str; 5] = [
    "timeZone",
    "days",
    "recipientTimeZones",
    "recipientStates",
    "onViolation",
];

/// One problem with one field of the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The field, as a JSON path (`days.monday.start`, `recipientStates[1]`).
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl FieldProblem {
    fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Why a request body was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestRejection {
    /// The body is not a well-formed schedule request (HTTP 400).
    #[error("the schedule request is malformed: {}", summary(.0))]
    Shape(Vec<FieldProblem>),
    /// Well formed, but names something the bundle cannot serve (HTTP 422).
    #[error("the schedule request cannot be served: {}", summary(.0))]
    Unsupported(Vec<FieldProblem>),
}

impl RequestRejection {
    /// Every problem.
    pub fn problems(&self) -> &[FieldProblem] {
        match self {
            RequestRejection::Shape(p) | RequestRejection::Unsupported(p) => p,
        }
    }
}

/// The path of `key` inside `parent` (`days.monday`); a blank key is
/// quoted (`days.""`), so the path names something.
fn member(parent: &str, key: &str) -> String {
    format!("{parent}.{}", field_name(key))
}

fn summary(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.problem))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A parsed, well-formed schedule request (not yet checked against the law).
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleRequest {
    /// The requested weekly windows, in the campaign's zone (`timeZone`).
    pub schedule: WeeklySchedule,
    /// The recipients' zones, deduplicated, in the order given.
    pub recipient_zones: Vec<Tz>,
    /// The recipients' states, deduplicated, in the order given (may be empty).
    pub recipient_states: Vec<StateCode>,
    /// Refuse (default) or clip an unlawful schedule.
    pub on_violation: ViolationMode,
}

impl ScheduleRequest {
    /// Parses and validates the shape of a request body. Never panics.
    pub fn parse(body: &[u8]) -> Result<Self, RequestRejection> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(RequestRejection::Shape(vec![FieldProblem::new(
                "body",
                "a JSON schedule request is required",
            )]));
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            RequestRejection::Shape(vec![FieldProblem::new(
                "body",
                format!("not valid JSON: {e}"),
            )])
        })?;
        let Value::Object(object) = value else {
            return Err(RequestRejection::Shape(vec![FieldProblem::new(
                "body",
                "must be a JSON object",
            )]));
        };
        Parser::default().parse(&object)
    }
}

#[derive(Default)]
struct Parser {
    shape: Vec<FieldProblem>,
    unsupported: Vec<FieldProblem>,
}

impl Parser {
    fn bad(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.shape.push(FieldProblem::new(field, problem));
    }

    fn parse(mut self, object: &Map<String, Value>) -> Result<ScheduleRequest, RequestRejection> {
        for key in object.keys() {
            if !FIELDS.contains(&key.as_str()) {
                // A blank key is quoted, so the problem names something.
                self.bad(
                    field_name(key),
                    format!("unknown field; expected {}", FIELDS.join(", ")),
                );
            }
        }
        let time_zone = self.time_zone(object.get("timeZone"));
        let days = self.days(object.get("days"));
        let recipient_zones = self.recipient_zones(object.get("recipientTimeZones"));
        let recipient_states = self.recipient_states(object.get("recipientStates"));
        let on_violation = self.on_violation(object.get("onViolation"));
        if !self.shape.is_empty() {
            return Err(RequestRejection::Shape(self.shape));
        }
        if !self.unsupported.is_empty() {
            return Err(RequestRejection::Unsupported(self.unsupported));
        }
        match (time_zone, days) {
            (Some(time_zone), Some(days)) => Ok(ScheduleRequest {
                schedule: WeeklySchedule::new(time_zone, days),
                recipient_zones,
                recipient_states,
                on_violation,
            }),
            // Unreachable in practice: a missing part always records a problem.
            _ => Err(RequestRejection::Shape(vec![FieldProblem::new(
                "body",
                "timeZone and days are required",
            )])),
        }
    }

    fn time_zone(&mut self, value: Option<&Value>) -> Option<Tz> {
        match value {
            None | Some(Value::Null) => {
                self.bad(
                    "timeZone",
                    "required: the IANA zone the windows are in, e.g. \"America/New_York\"",
                );
                None
            }
            Some(Value::String(name)) => match parse_zone(name) {
                Ok(tz) => Some(tz),
                Err(e) => {
                    self.bad("timeZone", e.to_string());
                    None
                }
            },
            Some(_) => {
                self.bad("timeZone", "must be a string (an IANA zone name)");
                None
            }
        }
    }

    fn days(&mut self, value: Option<&Value>) -> Option<BTreeMap<Day, DayWindow>> {
        let object = match value {
            None | Some(Value::Null) => {
                self.bad("days", "required: a window per calling day, e.g. {\"monday\": {\"start\": \"09:00\", \"end\": \"20:00\"}}");
                return None;
            }
            Some(Value::Object(object)) => object,
            Some(_) => {
                self.bad("days", "must be an object keyed by day name");
                return None;
            }
        };
        if object.is_empty() {
            self.bad("days", "must give a window for at least one day");
            return None;
        }
        let mut days = BTreeMap::new();
        for (name, window) in object {
            let field = member("days", name);
            let Some(day) = Day::ALL.into_iter().find(|d| d.name() == name) else {
                self.bad(field, "unknown day; expected monday, tuesday, wednesday, thursday, friday, saturday or sunday");
                continue;
            };
            if let Some(window) = self.window(&field, window) {
                days.insert(day, window);
            }
        }
        Some(days)
    }

    fn window(&mut self, field: &str, value: &Value) -> Option<DayWindow> {
        let Value::Object(object) = value else {
            self.bad(
                field,
                "must be an object {\"start\": \"HH:MM\", \"end\": \"HH:MM\"}",
            );
            return None;
        };
        for key in object.keys() {
            if key != "start" && key != "end" {
                self.bad(member(field, key), "unknown field; expected start, end");
            }
        }
        let start = self.time(&format!("{field}.start"), object.get("start"));
        let end = self.time(&format!("{field}.end"), object.get("end"));
        let (start, end) = (start?, end?);
        match DayWindow::new(start, end) {
            Ok(window) => Some(window),
            Err(_) => {
                self.bad(
                    field,
                    format!(
                        "start {start} must be before end {end} (windows cannot cross midnight)"
                    ),
                );
                None
            }
        }
    }

    fn time(&mut self, field: &str, value: Option<&Value>) -> Option<HhMm> {
        match value {
            None | Some(Value::Null) => {
                self.bad(field, "required: a 24-hour time \"HH:MM\"");
                None
            }
            Some(Value::String(text)) => match HhMm::parse(text) {
                Ok(time) => Some(time),
                Err(e) => {
                    self.bad(field, e.to_string());
                    None
                }
            },
            Some(_) => {
                self.bad(field, "must be a string \"HH:MM\" (24-hour)");
                None
            }
        }
    }

    fn recipient_zones(&mut self, value: Option<&Value>) -> Vec<Tz> {
        let field = "recipientTimeZones";
        let items = match value {
            None | Some(Value::Null) => {
                self.bad(field, "required: the IANA zones of the people called");
                return Vec::new();
            }
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.bad(field, "must be an array of IANA zone names");
                return Vec::new();
            }
        };
        if items.is_empty() {
            self.bad(field, "must list at least one zone");
        }
        if items.len() > MAX_RECIPIENT_ZONES {
            self.bad(field, format!("at most {MAX_RECIPIENT_ZONES} zones"));
            return Vec::new();
        }
        let mut zones = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let field = format!("{field}[{i}]");
            let Value::String(name) = item else {
                self.bad(field, "must be a string (an IANA zone name)");
                continue;
            };
            let tz = match parse_zone(name) {
                Ok(tz) => tz,
                Err(e) => {
                    self.bad(field, e.to_string());
                    continue;
                }
            };
            if let Err(e) = cxone_zone_for(tz) {
                self.unsupported.push(FieldProblem::new(
                    field,
                    format!("{e}: the bundle dials US and territory zones only"),
                ));
                continue;
            }
            if !zones.contains(&tz) {
                zones.push(tz);
            }
        }
        zones
    }

    fn recipient_states(&mut self, value: Option<&Value>) -> Vec<StateCode> {
        let field = "recipientStates";
        let items = match value {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.bad(field, "must be an array of two-letter state codes");
                return Vec::new();
            }
        };
        if items.len() > MAX_RECIPIENT_STATES {
            self.bad(field, format!("at most {MAX_RECIPIENT_STATES} states"));
            return Vec::new();
        }
        let mut states = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let field = format!("{field}[{i}]");
            let Value::String(code) = item else {
                self.bad(field, "must be a string such as \"FL\"");
                continue;
            };
            match StateCode::parse(code) {
                Ok(state) if !states.contains(&state) => states.push(state),
                Ok(_) => {}
                Err(e) => self.bad(field, e.to_string()),
            }
        }
        states
    }

    fn on_violation(&mut self, value: Option<&Value>) -> ViolationMode {
        match value {
            None | Some(Value::Null) => ViolationMode::Refuse,
            Some(Value::String(mode)) if mode == "refuse" => ViolationMode::Refuse,
            Some(Value::String(mode)) if mode == "clip" => ViolationMode::Clip,
            Some(_) => {
                self.bad("onViolation", "must be \"refuse\" or \"clip\"");
                ViolationMode::Refuse
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<ScheduleRequest, RequestRejection> {
        ScheduleRequest::parse(body.as_bytes())
    }

    fn fields(rejection: &RequestRejection) -> Vec<&str> {
        rejection
            .problems()
            .iter()
            .map(|p| p.field.as_str())
            .collect()
    }

    #[test]
    fn parses_a_full_request() {
        let request = parse(
            r#"{"timeZone": "America/New_York",
                "days": {"monday": {"start": "09:00", "end": "20:30"}, "sunday": {"start": "12:00", "end": "18:00"}},
                "recipientTimeZones": ["America/New_York", "America/Los_Angeles", "America/New_York"],
                "recipientStates": ["FL", "ny"], "onViolation": "clip"}"#,
        )
        .expect("valid");
        assert_eq!(request.schedule.time_zone, chrono_tz::America::New_York);
        assert_eq!(
            request.schedule.days.keys().copied().collect::<Vec<_>>(),
            vec![Day::Monday, Day::Sunday]
        );
        assert_eq!(request.recipient_zones.len(), 2);
        assert_eq!(request.recipient_states.len(), 2);
        assert_eq!(request.on_violation, ViolationMode::Clip);
    }

    #[test]
    fn defaults_to_refuse_without_states() {
        let request = parse(
            r#"{"timeZone": "America/Chicago", "days": {"friday": {"start": "10:00", "end": "11:00"}},
                "recipientTimeZones": ["America/Chicago"]}"#,
        )
        .expect("valid");
        assert_eq!(request.on_violation, ViolationMode::Refuse);
        assert!(request.recipient_states.is_empty());
    }

    #[test]
    fn every_shape_problem_names_its_field() {
        let cases: &[(&str, &str)] = &[
            ("", "body"),
            ("{\"timeZone\": ", "body"),
            ("[1, 2]", "body"),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "25:00", "end": "20:00"}}, "recipientTimeZones": ["America/New_York"]}"#,
                "days.monday.start",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "9am", "end": "20:00"}}, "recipientTimeZones": ["America/New_York"]}"#,
                "days.monday.start",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "09:00", "end": "24:00"}}, "recipientTimeZones": ["America/New_York"]}"#,
                "days.monday.end",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "20:00", "end": "09:00"}}, "recipientTimeZones": ["America/New_York"]}"#,
                "days.monday",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"funday": {"start": "09:00", "end": "10:00"}}, "recipientTimeZones": ["America/New_York"]}"#,
                "days.funday",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"Monday": {"start": "09:00", "end": "10:00"}}, "recipientTimeZones": ["America/New_York"]}"#,
                "days.Monday",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "09:00", "end": "10:00", "x": 1}}, "recipientTimeZones": ["America/New_York"]}"#,
                "days.monday.x",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": 9, "end": "10:00"}}, "recipientTimeZones": ["America/New_York"]}"#,
                "days.monday.start",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {}, "recipientTimeZones": ["America/New_York"]}"#,
                "days",
            ),
            (
                r#"{"timeZone": "Mars/Olympus", "days": {"monday": {"start": "09:00", "end": "10:00"}}, "recipientTimeZones": ["America/New_York"]}"#,
                "timeZone",
            ),
            (
                r#"{"days": {"monday": {"start": "09:00", "end": "10:00"}}, "recipientTimeZones": ["America/New_York"]}"#,
                "timeZone",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "09:00", "end": "10:00"}}}"#,
                "recipientTimeZones",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "09:00", "end": "10:00"}}, "recipientTimeZones": []}"#,
                "recipientTimeZones",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "09:00", "end": "10:00"}}, "recipientTimeZones": ["Nowhere/City"]}"#,
                "recipientTimeZones[0]",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "09:00", "end": "10:00"}}, "recipientTimeZones": ["America/New_York"], "recipientStates": ["FL", "XX"]}"#,
                "recipientStates[1]",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "09:00", "end": "10:00"}}, "recipientTimeZones": ["America/New_York"], "onViolation": "ignore"}"#,
                "onViolation",
            ),
            (
                r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "09:00", "end": "10:00"}}, "recipientTimeZones": ["America/New_York"], "colour": "blue"}"#,
                "colour",
            ),
        ];
        for (body, field) in cases {
            match parse(body) {
                Err(rejection @ RequestRejection::Shape(_)) => {
                    assert!(fields(&rejection).contains(field), "{body}: {rejection}")
                }
                other => panic!("{body}: expected a 400 naming {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_zone_without_a_cxone_name_is_unsupported() {
        let rejection = parse(
            r#"{"timeZone": "America/New_York", "days": {"monday": {"start": "09:00", "end": "10:00"}},
                "recipientTimeZones": ["Europe/Paris"]}"#,
        )
        .expect_err("refused");
        assert!(matches!(rejection, RequestRejection::Unsupported(_)));
        assert_eq!(fields(&rejection), vec!["recipientTimeZones[0]"]);
    }
}
