//! Skill parameters: general settings, schedule settings and time-zone
//! windows, with the type checks CXone applies on writes.

use chrono::{NaiveTime, Weekday};
use serde_json::{json, Map, Value};

/// Day-name prefixes of the schedule-settings fields, Sunday first.
pub const DAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// The schedule-settings prefix of a weekday.
pub fn day_prefix(d: Weekday) -> &'static str {
    DAYS[d.num_days_from_sunday() as usize]
}

/// Parses `"HH:MM"` or `"HH:MM:SS"`.
pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .ok()
}

/// General settings of a new skill.
pub fn default_general() -> Map<String, Value> {
    let v = json!({
        "maximumRatio": 1.0,
        "abandonRateThreshold": 3.0,
        "abandonRateCutoff": 3.0,
        "maxConcurrentCallsPerAgent": 3,
        "aggressiveness": "3",
        "maximumRingingDuration": 20,
        "percentageOfAgentsBeforeOverdial": 0,
        "maxWaitTimeSeconds": 2
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Schedule settings of a new skill: scheduled, every day 08:00-21:00.
pub fn default_schedule() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("isScheduled".into(), Value::Bool(true));
    for d in DAYS {
        m.insert(format!("{d}StartTime"), json!("08:00"));
        m.insert(format!("{d}EndTime"), json!("21:00"));
        m.insert(format!("{d}IsActive"), Value::Bool(true));
    }
    m
}

fn number(v: &Value, name: &str, min: f64, max: f64) -> Result<(), String> {
    let Some(n) = v.as_f64() else {
        return Err(format!("{name} must be a number"));
    };
    if !(min..=max).contains(&n) {
        return Err(format!("{name} must be between {min} and {max}"));
    }
    Ok(())
}

fn integer(v: &Value, name: &str, min: i64, max: i64) -> Result<(), String> {
    let n = match v.as_i64() {
        Some(n) => n,
        None => match v.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => f as i64,
            _ => return Err(format!("{name} must be an integer")),
        },
    };
    if !(min..=max).contains(&n) {
        return Err(format!("{name} must be between {min} and {max}"));
    }
    Ok(())
}

/// Applies a general-settings patch over `base`, checking every field's type
/// and range; unknown fields are refused.
pub fn merge_general(
    base: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut out = base.clone();
    for (k, v) in patch {
        match k.as_str() {
            "maximumRatio" => number(v, k, 1.0, 20.0)?,
            "abandonRateThreshold" | "abandonRateCutoff" | "percentageOfAgentsBeforeOverdial" => {
                number(v, k, 0.0, 100.0)?
            }
            "maxConcurrentCallsPerAgent" => number(v, k, 1.0, 100.0)?,
            "maxWaitTimeSeconds" => number(v, k, 0.0, 3600.0)?,
            "maximumRingingDuration" => {
                integer(v, k, i64::MIN, i64::MAX)?;
                // CXone accepts ring times the law does not (the FTC's
                // 15-second floor is the caller's to keep, as on a tenant).
                integer(v, k, 5, 300)
                    .map_err(|_| format!("{k} must be at least 5 and at most 300 seconds"))?
            }
            "aggressiveness" => {
                if !v.is_string() {
                    return Err(format!("{k} must be a string"));
                }
            }
            _ => return Err(format!("unknown general setting {k}")),
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(out)
}

/// Applies a schedule-settings patch over `base`, checking types; unknown
/// fields are refused.
pub fn merge_schedule(
    base: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut out = base.clone();
    for (k, v) in patch {
        let ok_key = k == "isScheduled"
            || DAYS.iter().any(|d| {
                k.strip_prefix(d)
                    .is_some_and(|r| ["StartTime", "EndTime", "IsActive"].contains(&r))
            });
        if !ok_key {
            return Err(format!("unknown schedule setting {k}"));
        }
        if k.ends_with("IsActive") || k == "isScheduled" {
            if !v.is_boolean() {
                return Err(format!("{k} must be a boolean"));
            }
        } else {
            let ok = v
                .as_str()
                .is_some_and(|s| parse_hhmm(s).is_some() || s.is_empty());
            if !ok {
                return Err(format!("{k} must be a time \"HH:MM\""));
            }
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(out)
}

/// The live CXone quirk: a schedule write is refused unless all seven days
/// are active with non-empty windows.
pub fn schedule_quirk(s: &Map<String, Value>) -> Result<(), String> {
    for d in DAYS {
        if s.get(&format!("{d}IsActive")).and_then(Value::as_bool) != Some(true) {
            return Err(format!(
                "{d}IsActive must be true: every day must be active"
            ));
        }
        if day_window(s, d).is_none() {
            return Err(format!("{d} must have a non-empty window"));
        }
    }
    Ok(())
}

/// A day's window `(start, end)` when it is well formed and non-empty.
pub fn day_window(s: &Map<String, Value>, day: &str) -> Option<(NaiveTime, NaiveTime)> {
    let start = s
        .get(&format!("{day}StartTime"))
        .and_then(Value::as_str)
        .and_then(parse_hhmm)?;
    let end = s
        .get(&format!("{day}EndTime"))
        .and_then(Value::as_str)
        .and_then(parse_hhmm)?;
    (start < end).then_some((start, end))
}

/// Whether the schedule allows dialling at a local weekday and time.
pub fn schedule_allows(s: &Map<String, Value>, day: Weekday, t: NaiveTime) -> bool {
    if s.get("isScheduled").and_then(Value::as_bool) != Some(true) {
        return true;
    }
    let d = day_prefix(day);
    if s.get(&format!("{d}IsActive")).and_then(Value::as_bool) != Some(true) {
        return false;
    }
    day_window(s, d).is_some_and(|(a, b)| a <= t && t < b)
}

/// Checks a list of time-zone windows and returns them as stored (zone under
/// `name`). Writes name the zone `standardName`; the scenario file may use
/// either (`allow_name`).
pub fn parse_time_zones(list: &[Value], allow_name: bool) -> Result<Vec<Value>, String> {
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Some(o) = item.as_object() else {
            return Err(format!("timeZoneSettings[{i}] must be an object"));
        };
        let name = match (
            o.get("standardName"),
            allow_name.then(|| o.get("name")).flatten(),
        ) {
            (Some(Value::String(s)), _) | (None, Some(Value::String(s))) if !s.is_empty() => {
                s.clone()
            }
            _ => {
                return Err(format!(
                    "timeZoneSettings[{i}].standardName must be a non-empty string"
                ))
            }
        };
        for k in o.keys() {
            let known = [
                "standardName",
                "startTime",
                "endTime",
                "timeZoneActiveToCall",
                "overrideTime",
            ]
            .contains(&k.as_str())
                || (allow_name && k == "name");
            if !known {
                return Err(format!("timeZoneSettings[{i}]: unknown field {k}"));
            }
        }
        let time = |k: &str| -> Result<String, String> {
            match o.get(k) {
                Some(Value::String(s)) if parse_hhmm(s).is_some() => Ok(s.clone()),
                None => Ok(if k == "startTime" {
                    "08:00".into()
                } else {
                    "21:00".into()
                }),
                _ => Err(format!(
                    "timeZoneSettings[{i}].{k} must be a time \"HH:MM\""
                )),
            }
        };
        let flag = |k: &str, default: bool| -> Result<bool, String> {
            match o.get(k) {
                Some(Value::Bool(b)) => Ok(*b),
                None => Ok(default),
                _ => Err(format!("timeZoneSettings[{i}].{k} must be a boolean")),
            }
        };
        out.push(json!({
            "name": name,
            "startTime": time("startTime")?,
            "endTime": time("endTime")?,
            "timeZoneActiveToCall": flag("timeZoneActiveToCall", true)?,
            "overrideTime": flag("overrideTime", false)?,
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn general_types_and_ranges() {
        let base = default_general();
        let patch = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(merge_general(&base, &patch(json!({"maximumRatio": 2.5}))).is_ok());
        assert!(merge_general(&base, &patch(json!({"maximumRatio": "2.5"}))).is_err());
        assert!(merge_general(&base, &patch(json!({"maximumRingingDuration": 4}))).is_err());
        assert!(merge_general(&base, &patch(json!({"maximumRingingDuration": 12}))).is_ok());
        assert!(merge_general(&base, &patch(json!({"maximumRingingDuration": 15}))).is_ok());
        assert!(merge_general(&base, &patch(json!({"aggressiveness": 3}))).is_err());
        assert!(merge_general(&base, &patch(json!({"bogus": 3}))).is_err());
    }

    #[test]
    fn schedule_window_and_quirk() {
        let mut s = default_schedule();
        assert!(schedule_quirk(&s).is_ok());
        let t = |x: &str| parse_hhmm(x).unwrap_or_default();
        assert!(schedule_allows(&s, Weekday::Mon, t("08:00")));
        assert!(!schedule_allows(&s, Weekday::Mon, t("21:00")));
        s.insert("sundayIsActive".into(), Value::Bool(false));
        assert!(schedule_quirk(&s).is_err());
        assert!(!schedule_allows(&s, Weekday::Sun, t("10:00")));
    }
}
