//! Times of day, day windows, days of the week and the weekly schedule.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::Weekday;
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ComplianceError;

/// Minutes in a day; internal minute intervals may end here (midnight at the end of the day).
pub(crate) const DAY_MINUTES: u16 = 24 * 60;

/// A time of day, parsed strictly from 24-hour `"HH:MM"`: `00:00` to `23:59`.
///
/// `"24:00"`, `"9:00"`, `"9am"`, `"25:00"`, `""` and anything with spaces or
/// seconds are refused. As the end of a window it is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HhMm(u16);

impl HhMm {
    /// The time `hour:minute`; `hour` must be `0..=23` and `minute` `0..=59`.
    pub fn new(hour: u8, minute: u8) -> Result<Self, ComplianceError> {
        if hour > 23 {
            return Err(ComplianceError::InvalidTime {
                input: format!("{hour:02}:{minute:02}"),
                reason: "hour must be 00 to 23",
            });
        }
        if minute > 59 {
            return Err(ComplianceError::InvalidTime {
                input: format!("{hour:02}:{minute:02}"),
                reason: "minute must be 00 to 59",
            });
        }
        Ok(Self(u16::from(hour) * 60 + u16::from(minute)))
    }

    /// Build from minutes since midnight at compile time; callers guarantee `< 1440`.
    pub(crate) const fn from_minutes_const(minutes: u16) -> Self {
        Self(minutes)
    }

    /// The time `minutes` after midnight, if that is before 24:00.
    pub(crate) fn from_minutes(minutes: u16) -> Option<Self> {
        (minutes < DAY_MINUTES).then_some(Self(minutes))
    }

    /// Parse strict 24-hour `"HH:MM"`.
    pub fn parse(input: &str) -> Result<Self, ComplianceError> {
        let bad = |reason: &'static str| ComplianceError::InvalidTime {
            input: input.to_owned(),
            reason,
        };
        let b = input.as_bytes();
        if b.len() != 5 || b[2] != b':' {
            return Err(bad("expected 24-hour HH:MM, e.g. 08:00"));
        }
        let digit = |c: u8| c.is_ascii_digit().then(|| u16::from(c - b'0'));
        let (Some(h1), Some(h2), Some(m1), Some(m2)) =
            (digit(b[0]), digit(b[1]), digit(b[3]), digit(b[4]))
        else {
            return Err(bad("expected 24-hour HH:MM, e.g. 08:00"));
        };
        let (hour, minute) = (h1 * 10 + h2, m1 * 10 + m2);
        if hour > 23 {
            return Err(bad("hour must be 00 to 23"));
        }
        if minute > 59 {
            return Err(bad("minute must be 00 to 59"));
        }
        Ok(Self(hour * 60 + minute))
    }

    /// The hour, `0..=23`.
    pub fn hour(self) -> u8 {
        // < 1440 / 60 = 24, so the narrowing cannot lose anything.
        (self.0 / 60) as u8
    }

    /// The minute, `0..=59`.
    pub fn minute(self) -> u8 {
        (self.0 % 60) as u8
    }

    /// Minutes since midnight, `0..1440`.
    pub fn minutes_since_midnight(self) -> u16 {
        self.0
    }
}

impl fmt::Display for HhMm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

impl FromStr for HhMm {
    type Err = ComplianceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for HhMm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HhMm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A window within one day, `start` inclusive to `end` exclusive, with `start < end`.
///
/// Serialised as `{"start": "HH:MM", "end": "HH:MM"}`; deserialising checks both
/// times and the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DayWindow {
    start: HhMm,
    end: HhMm,
}

impl DayWindow {
    /// A window from `start` to `end`; refused unless `start < end`.
    pub fn new(start: HhMm, end: HhMm) -> Result<Self, ComplianceError> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(ComplianceError::InvalidWindow { start, end })
        }
    }

    /// Parse both ends from `"HH:MM"` and check the order.
    pub fn parse(start: &str, end: &str) -> Result<Self, ComplianceError> {
        Self::new(HhMm::parse(start)?, HhMm::parse(end)?)
    }

    /// Build at compile time; callers guarantee `start < end < 1440`.
    pub(crate) const fn from_minutes_const(start: u16, end: u16) -> Self {
        Self {
            start: HhMm::from_minutes_const(start),
            end: HhMm::from_minutes_const(end),
        }
    }

    /// The window for the half-open minute span `[start, end)`; an end at 24:00 is
    /// pulled back to 23:59 (one minute lost, never gained). `None` when empty.
    pub(crate) fn from_span(start: u16, end: u16) -> Option<Self> {
        let end = end.min(DAY_MINUTES - 1);
        let start = HhMm::from_minutes(start)?;
        let end = HhMm::from_minutes(end)?;
        Self::new(start, end).ok()
    }

    /// The first minute of the window.
    pub fn start(self) -> HhMm {
        self.start
    }

    /// The end of the window (exclusive).
    pub fn end(self) -> HhMm {
        self.end
    }

    /// The window as a half-open minute span.
    pub(crate) fn span(self) -> (u16, u16) {
        (self.start.0, self.end.0)
    }

    /// Whether `time` falls inside the window.
    pub fn contains(self, time: HhMm) -> bool {
        self.start <= time && time < self.end
    }
}

impl fmt::Display for DayWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

impl<'de> Deserialize<'de> for DayWindow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            start: HhMm,
            end: HhMm,
        }
        let raw = Raw::deserialize(deserializer)?;
        Self::new(raw.start, raw.end).map_err(serde::de::Error::custom)
    }
}

/// A day of the week, ordered Monday first; serialised as `"monday"` .. `"sunday"`
/// (the keys of the schedule request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl Day {
    /// All seven days, Monday first.
    pub const ALL: [Day; 7] = [
        Day::Monday,
        Day::Tuesday,
        Day::Wednesday,
        Day::Thursday,
        Day::Friday,
        Day::Saturday,
        Day::Sunday,
    ];

    /// Parse `"monday"` .. `"sunday"` (ASCII case-insensitive).
    pub fn parse(input: &str) -> Result<Self, ComplianceError> {
        Self::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(input))
            .ok_or_else(|| ComplianceError::UnknownDay(input.to_owned()))
    }

    /// The lowercase English name, as used in the schedule request.
    pub fn name(self) -> &'static str {
        match self {
            Day::Monday => "monday",
            Day::Tuesday => "tuesday",
            Day::Wednesday => "wednesday",
            Day::Thursday => "thursday",
            Day::Friday => "friday",
            Day::Saturday => "saturday",
            Day::Sunday => "sunday",
        }
    }

    /// The chrono weekday.
    pub fn weekday(self) -> Weekday {
        match self {
            Day::Monday => Weekday::Mon,
            Day::Tuesday => Weekday::Tue,
            Day::Wednesday => Weekday::Wed,
            Day::Thursday => Weekday::Thu,
            Day::Friday => Weekday::Fri,
            Day::Saturday => Weekday::Sat,
            Day::Sunday => Weekday::Sun,
        }
    }
}

impl From<Weekday> for Day {
    fn from(w: Weekday) -> Self {
        match w {
            Weekday::Mon => Day::Monday,
            Weekday::Tue => Day::Tuesday,
            Weekday::Wed => Day::Wednesday,
            Weekday::Thu => Day::Thursday,
            Weekday::Fri => Day::Friday,
            Weekday::Sat => Day::Saturday,
            Weekday::Sun => Day::Sunday,
        }
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Day {
    type Err = ComplianceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A campaign's weekly calling schedule: one window per day, in the campaign's
/// own time zone. A day left out means no dialling that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WeeklySchedule {
    /// The zone the windows are expressed in.
    #[serde(serialize_with = "serialize_tz")]
    pub time_zone: Tz,
    /// The window of each day that has one.
    pub days: BTreeMap<Day, DayWindow>,
}

impl WeeklySchedule {
    /// A schedule in `time_zone` with the given day windows.
    pub fn new(time_zone: Tz, days: BTreeMap<Day, DayWindow>) -> Self {
        Self { time_zone, days }
    }
}

/// Serialise a zone as its IANA name.
pub(crate) fn serialize_tz<S: Serializer>(tz: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(tz.name())
}

/// A set of half-open minute spans within one day, sorted and disjoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct MinuteSet(Vec<(u16, u16)>);

impl MinuteSet {
    /// The empty set.
    pub(crate) fn empty() -> Self {
        Self(Vec::new())
    }

    /// The single span `[start, end)` (empty if `start >= end`).
    pub(crate) fn span(start: u16, end: u16) -> Self {
        if start < end {
            Self(vec![(start, end)])
        } else {
            Self::empty()
        }
    }

    /// Add `[start, end)` at the end; callers push in increasing order.
    pub(crate) fn push(&mut self, start: u16, end: u16) {
        if start >= end {
            return;
        }
        if let Some(last) = self.0.last_mut() {
            if last.1 >= start {
                last.1 = last.1.max(end);
                return;
            }
        }
        self.0.push((start, end));
    }

    /// The spans.
    pub(crate) fn spans(&self) -> &[(u16, u16)] {
        &self.0
    }

    /// Whether the set covers all of `[start, end)`.
    pub(crate) fn covers(&self, start: u16, end: u16) -> bool {
        self.0.iter().any(|&(s, e)| s <= start && end <= e)
    }

    /// The intersection with another set.
    pub(crate) fn intersect(&self, other: &MinuteSet) -> MinuteSet {
        let mut out = MinuteSet::empty();
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() && j < other.0.len() {
            let (a, b) = (self.0[i], other.0[j]);
            let (s, e) = (a.0.max(b.0), a.1.min(b.1));
            if s < e {
                out.push(s, e);
            }
            if a.1 < b.1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        out
    }

    /// The parts of `[start, end)` not in the set.
    pub(crate) fn complement_within(&self, start: u16, end: u16) -> MinuteSet {
        let mut out = MinuteSet::empty();
        let mut cursor = start;
        for &(s, e) in &self.0 {
            if e <= cursor || s >= end {
                continue;
            }
            out.push(cursor, s.max(cursor).min(end));
            cursor = cursor.max(e);
        }
        out.push(cursor, end);
        out
    }

    /// The longest span (the earliest of equals), as a window.
    pub(crate) fn longest_window(&self) -> Option<DayWindow> {
        self.best_window(0, 0)
    }

    /// The span that overlaps `[start, end)` most, then the longest, then the
    /// earliest, as a window: the lawful piece most relevant to a requested window.
    pub(crate) fn best_window(&self, start: u16, end: u16) -> Option<DayWindow> {
        let score = |(s, e): (u16, u16)| {
            let overlap = e.min(end).saturating_sub(s.max(start));
            (overlap, e - s)
        };
        let mut best: Option<(u16, u16)> = None;
        for &span in &self.0 {
            if best.is_none_or(|b| score(span) > score(b)) {
                best = Some(span);
            }
        }
        best.and_then(|(s, e)| DayWindow::from_span(s, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strict_hh_mm() {
        assert_eq!(
            HhMm::parse("00:00").map(HhMm::minutes_since_midnight),
            Ok(0)
        );
        assert_eq!(
            HhMm::parse("08:05").map(|t| t.to_string()),
            Ok("08:05".to_owned())
        );
        assert_eq!(
            HhMm::parse("23:59").map(HhMm::minutes_since_midnight),
            Ok(1439)
        );
        for bad in [
            "25:00", "24:00", "9am", "9:00", "", "09:60", "0900", " 09:00", "09:00 ", "09:00:00",
            "+9:00", "０9:00",
        ] {
            assert!(
                matches!(HhMm::parse(bad), Err(ComplianceError::InvalidTime { .. })),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn window_requires_start_before_end() {
        assert!(DayWindow::parse("09:00", "20:30").is_ok());
        assert!(matches!(
            DayWindow::parse("20:00", "20:00"),
            Err(ComplianceError::InvalidWindow { .. })
        ));
        assert!(matches!(
            DayWindow::parse("21:00", "08:00"),
            Err(ComplianceError::InvalidWindow { .. })
        ));
        assert!(matches!(
            DayWindow::parse("9:00", "20:00"),
            Err(ComplianceError::InvalidTime { .. })
        ));
    }

    #[test]
    fn window_deserialises_with_checks() {
        let ok: Result<DayWindow, _> = serde_json::from_str(r#"{"start":"09:00","end":"20:30"}"#);
        assert_eq!(ok.ok(), DayWindow::parse("09:00", "20:30").ok());
        for bad in [
            r#"{"start":"20:30","end":"09:00"}"#,
            r#"{"start":"9am","end":"20:30"}"#,
            r#"{"start":"09:00"}"#,
            r#"{"start":"09:00","end":"20:30","extra":1}"#,
        ] {
            assert!(serde_json::from_str::<DayWindow>(bad).is_err(), "{bad}");
        }
        let json = serde_json::to_string(&DayWindow::parse("09:00", "20:30").ok()).ok();
        assert_eq!(json.as_deref(), Some(r#"{"start":"09:00","end":"20:30"}"#));
    }

    #[test]
    fn days_parse_and_key_maps() {
        assert_eq!(Day::parse("Monday"), Ok(Day::Monday));
        assert!(matches!(
            Day::parse("funday"),
            Err(ComplianceError::UnknownDay(_))
        ));
        let days: Result<BTreeMap<Day, DayWindow>, _> = serde_json::from_str(
            r#"{"monday":{"start":"09:00","end":"20:30"},"sunday":{"start":"12:00","end":"18:00"}}"#,
        );
        let days = days.unwrap_or_default();
        assert_eq!(
            days.keys().copied().collect::<Vec<_>>(),
            vec![Day::Monday, Day::Sunday]
        );
        assert!(serde_json::from_str::<BTreeMap<Day, DayWindow>>(
            r#"{"funday":{"start":"09:00","end":"10:00"}}"#
        )
        .is_err());
    }

    #[test]
    fn minute_sets() {
        let a = MinuteSet::span(0, 600);
        let mut b = MinuteSet::empty();
        b.push(100, 200);
        b.push(300, 700);
        assert_eq!(a.intersect(&b).spans(), &[(100, 200), (300, 600)]);
        assert_eq!(
            b.complement_within(50, 800).spans(),
            &[(50, 100), (200, 300), (700, 800)]
        );
        assert_eq!(b.longest_window(), DayWindow::parse("05:00", "11:40").ok());
        assert!(b.covers(350, 700));
        assert!(!b.covers(150, 350));
        assert_eq!(
            DayWindow::from_span(600, 1440),
            DayWindow::parse("10:00", "23:59").ok()
        );
        assert_eq!(DayWindow::from_span(1439, 1440), None);
    }
}
