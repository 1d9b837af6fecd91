//! The state rules table, embedded from `state_rules.json` and parsed once.
//!
//! Format (all keys required unless marked optional; unknown keys are refused):
//! ```json
//! {
//!   "version": 1, "reviewed": "YYYY-MM-DD",
//!   "holiday_calendars": {
//!     "<ID>": {"name", "source", "verified": bool, "omitted": "what is left out",
//!              "holidays": [{"name", "date": <date rule>, "observed"?, "since"?, "verified"?, "notes"?}]}
//!   },
//!   "states": [{
//!     "state": "FL", "name": "Florida",
//!     "hours": {"default": {"start": "08:00", "end": "20:00"}, "saturday"?: {..}, "sunday"?: {..}},
//!     "no_sundays": bool, "no_state_holidays": bool, "holiday_calendar"?: "<ID>",
//!     "max_calls_per_24h": 3 | null, "source": "statute", "verified": bool, "notes": "..."
//!   }]
//! }
//! ```
//! Date rules are described in the `holidays` module. Times are local to the
//! called party; windows are half-open.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::holidays::{HolidayRule, FEDERAL_CALENDAR};
use super::states::StateCode;
use super::time::{Day, DayWindow};
use super::ComplianceError;

/// The rules table as shipped in the crate.
const EMBEDDED: &str = include_str!("state_rules.json");

/// Parsed once; a unit test (`embedded_table_parses`) guarantees this cannot panic.
static TABLE: LazyLock<RulesTable> = LazyLock::new(|| {
    RulesTable::parse(EMBEDDED).unwrap_or_else(|e| {
        panic!("embedded compliance rules table state_rules.json is invalid (build defect): {e}")
    })
});

/// The whole table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RulesTable {
    #[allow(dead_code)] // format version, checked in parse
    version: u32,
    #[allow(dead_code)] // documentation carried in the data
    reviewed: String,
    holiday_calendars: BTreeMap<String, HolidayCalendar>,
    states: Vec<StateRule>,
}

/// A holiday calendar of the table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HolidayCalendar {
    #[allow(dead_code)] // documentation carried in the data
    pub(crate) name: String,
    pub(crate) source: String,
    pub(crate) verified: bool,
    pub(crate) holidays: Vec<HolidayRule>,
    #[allow(dead_code)] // documentation carried in the data
    pub(crate) omitted: String,
}

/// Calling hours of a state by kind of day, in the called party's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayHours {
    default: DayWindow,
    #[serde(default)]
    saturday: Option<DayWindow>,
    #[serde(default)]
    sunday: Option<DayWindow>,
}

impl DayHours {
    /// The window that applies on `day` (Saturday and Sunday fall back to the default).
    pub fn for_day(&self, day: Day) -> DayWindow {
        match day {
            Day::Saturday => self.saturday.unwrap_or(self.default),
            Day::Sunday => self.sunday.unwrap_or(self.default),
            _ => self.default,
        }
    }
}

/// One row of the table: a state's rules stricter than the federal ones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateRule {
    state: StateCode,
    name: String,
    hours: DayHours,
    no_sundays: bool,
    no_state_holidays: bool,
    #[serde(default)]
    holiday_calendar: Option<String>,
    max_calls_per_24h: Option<u32>,
    source: String,
    verified: bool,
    notes: String,
}

impl StateRule {
    /// The state.
    pub fn state(&self) -> StateCode {
        self.state
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Calling hours by kind of day.
    pub fn hours(&self) -> DayHours {
        self.hours
    }

    /// Whether calls are banned on Sundays.
    pub fn no_sundays(&self) -> bool {
        self.no_sundays
    }

    /// Whether calls are banned on state holidays.
    pub fn no_state_holidays(&self) -> bool {
        self.no_state_holidays
    }

    /// At most this many calls to a person per 24 hours on the same subject, if limited.
    pub fn max_calls_per_24h(&self) -> Option<u32> {
        self.max_calls_per_24h
    }

    /// The legal source (statute or regulation).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the source was checked against the text (or a reliable secondary source).
    /// Unverified rows are enforced all the same: they only ever restrict calling.
    pub fn verified(&self) -> bool {
        self.verified
    }

    /// Notes: what the rule says, caveats, what could not be verified.
    pub fn notes(&self) -> &str {
        &self.notes
    }

    /// The holiday calendar (id and calendar) the state's holiday ban uses.
    pub(crate) fn holiday_calendar(&self) -> Option<(&'static str, &'static HolidayCalendar)> {
        self.holiday_calendar.as_deref().and_then(calendar)
    }

    /// The legal source of the holiday list, if the state bans holiday calls.
    pub fn holiday_source(&self) -> Option<&'static str> {
        self.holiday_calendar().map(|(_, c)| c.source.as_str())
    }
}

impl RulesTable {
    /// Parse and cross-check a table.
    pub(crate) fn parse(json: &str) -> Result<Self, ComplianceError> {
        let table: RulesTable =
            serde_json::from_str(json).map_err(|e| ComplianceError::RulesData(e.to_string()))?;
        table.validate().map_err(ComplianceError::RulesData)?;
        Ok(table)
    }

    fn validate(&self) -> Result<(), String> {
        if self.version != 1 {
            return Err(format!("unsupported table version {}", self.version));
        }
        if !self.holiday_calendars.contains_key(FEDERAL_CALENDAR) {
            return Err(format!("calendar {FEDERAL_CALENDAR} is missing"));
        }
        for (id, cal) in &self.holiday_calendars {
            if cal.source.trim().is_empty() || cal.holidays.is_empty() {
                return Err(format!("calendar {id}: source and holidays are required"));
            }
            for rule in &cal.holidays {
                rule.date
                    .validate()
                    .map_err(|e| format!("calendar {id}, {}: {e}", rule.name))?;
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for row in &self.states {
            let code = row.state;
            if !seen.insert(code) {
                return Err(format!("state {code} appears twice"));
            }
            if row.source.trim().is_empty() {
                return Err(format!("state {code}: source is required"));
            }
            if row.max_calls_per_24h == Some(0) {
                return Err(format!("state {code}: max_calls_per_24h must be positive"));
            }
            match (&row.holiday_calendar, row.no_state_holidays) {
                (None, true) => {
                    return Err(format!(
                        "state {code}: no_state_holidays needs a holiday_calendar"
                    ))
                }
                (Some(id), _) if !self.holiday_calendars.contains_key(id) => {
                    return Err(format!("state {code}: unknown holiday_calendar {id}"))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The rules of `state`, if it has any stricter than the federal ones.
pub fn state_rule(state: StateCode) -> Option<&'static StateRule> {
    TABLE.states.iter().find(|row| row.state == state)
}

/// Every row of the rules table.
pub fn state_rules() -> &'static [StateRule] {
    &TABLE.states
}

/// A holiday calendar of the table by id.
pub(crate) fn calendar(id: &str) -> Option<(&'static str, &'static HolidayCalendar)> {
    TABLE
        .holiday_calendars
        .get_key_value(id)
        .map(|(k, v)| (k.as_str(), v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_parses() {
        let table = RulesTable::parse(EMBEDDED);
        assert!(table.is_ok(), "{table:?}");
        // And the lazily parsed copy is usable.
        assert!(!state_rules().is_empty());
    }

    fn rule(code: &str) -> &'static StateRule {
        state_rule(StateCode::parse(code).expect("code"))
            .unwrap_or_else(|| panic!("{code} missing"))
    }

    #[test]
    fn required_states_are_present_with_sources() {
        for code in ["FL", "OK", "MD", "AL", "LA", "TX", "MS", "UT", "WA"] {
            let row = rule(code);
            assert!(!row.source().is_empty());
            assert!(!row.notes().is_empty());
        }
        for code in ["FL", "OK", "MD"] {
            let row = rule(code);
            assert_eq!(
                row.hours().for_day(Day::Tuesday),
                DayWindow::parse("08:00", "20:00").expect("w")
            );
            assert_eq!(row.max_calls_per_24h(), Some(3));
        }
        for code in ["AL", "LA"] {
            let row = rule(code);
            assert!(row.no_sundays() && row.no_state_holidays());
            assert!(row.holiday_source().is_some());
        }
        let tx = rule("TX").hours();
        assert_eq!(
            tx.for_day(Day::Sunday),
            DayWindow::parse("12:00", "21:00").expect("w")
        );
        assert_eq!(
            tx.for_day(Day::Monday),
            DayWindow::parse("09:00", "21:00").expect("w")
        );
        assert!(!rule("TX").verified());
        assert!(state_rule(StateCode::parse("NY").expect("NY")).is_none());
    }

    #[test]
    fn malformed_tables_are_refused() {
        let cases = [
            "{}",
            r#"{"version":1,"reviewed":"x","holiday_calendars":{},"states":[]}"#,
            &EMBEDDED.replacen(r#""state": "FL""#, r#""state": "ZZ""#, 1),
            &EMBEDDED.replacen(
                r#""start": "08:00", "end": "20:00""#,
                r#""start": "20:00", "end": "08:00""#,
                1,
            ),
            &EMBEDDED.replacen(r#""holiday_calendar": "LA","#, "", 1),
            &EMBEDDED.replacen(r#""n": 3"#, r#""n": 7"#, 1),
            &EMBEDDED.replacen(
                r#""verified": true,"#,
                r#""verified": true, "surprise": 1,"#,
                1,
            ),
        ];
        for (i, json) in cases.iter().enumerate() {
            assert!(
                matches!(RulesTable::parse(json), Err(ComplianceError::RulesData(_))),
                "case {i} must be refused"
            );
        }
    }
}
