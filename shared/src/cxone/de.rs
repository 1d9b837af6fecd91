//! Lenient readers for CXone's loosely typed JSON.
//!
//! CXone sometimes sends numbers as strings (`"totalRecords": "120"`),
//! booleans as strings (`"success": "false"`), and durations as
//! `HH:MM:SS`, `HH:MM:SS.fff` or plain seconds. These helpers accept all of
//! those forms so that a cosmetic change on CXone's side does not stop the
//! autopilot.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Reads a number from a JSON number or a numeric string.
pub(crate) fn value_as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

/// Reads an integer from a JSON number or an integer string (`"12"`, `"12.0"`).
pub(crate) fn value_as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
                .map(|x| x as i64)
        }),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
                    .map(|x| x as i64)
            })
        }
        _ => None,
    }
}

/// Reads a boolean from a JSON boolean, `"true"`/`"false"` (any case) or `0`/`1`.
pub(crate) fn value_as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        _ => None,
    }
}

/// Reads a string; numbers are turned into their decimal text.
pub(crate) fn value_as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parses a CXone duration into seconds: `HH:MM:SS`, `HH:MM:SS.fff`, `MM:SS`
/// or plain seconds (`"12.5"`). Returns `None` for anything else.
pub fn parse_duration_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if !text.contains(':') {
        return text
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0);
    }
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 3 {
        return None;
    }
    let mut total = 0.0_f64;
    let last = parts.len() - 1;
    for (i, part) in parts.iter().enumerate() {
        let part = part.trim();
        if part.is_empty() {
            return None;
        }
        let value = if i == last {
            // seconds may carry a fraction
            part.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)?
        } else {
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse::<u64>().ok()? as f64
        };
        total = total * 60.0 + value;
    }
    Some(total)
}

/// Reads a CXone duration from a JSON string or number into seconds.
pub(crate) fn value_as_duration(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite() && *x >= 0.0),
        Value::String(s) => parse_duration_seconds(s),
        _ => None,
    }
}

/// Reads a timestamp: RFC 3339, or ISO 8601 without an offset (taken as UTC).
pub(crate) fn value_as_datetime(v: &Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

fn invalid<E: serde::de::Error>(what: &str, v: &Value) -> E {
    // Only the JSON type is named, never the value.
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    E::custom(format!("expected {what}, found {kind}"))
}

/// `deserialize_with`: a required integer (number or numeric string).
pub(crate) fn i64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    value_as_i64(&v).ok_or_else(|| invalid("an integer", &v))
}

/// `deserialize_with`: an optional integer; null, absent or unreadable is `None`.
pub(crate) fn opt_i64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(value_as_i64(&v))
}

/// `deserialize_with`: a count (non-negative integer); null or absent is 0.
pub(crate) fn u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(0);
    }
    value_as_i64(&v)
        .and_then(|i| u64::try_from(i).ok())
        .ok_or_else(|| invalid("a non-negative integer", &v))
}

/// `deserialize_with`: a count as `u32`; null or absent is 0.
pub(crate) fn u32_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(0);
    }
    value_as_i64(&v)
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| invalid("a non-negative integer", &v))
}

/// `deserialize_with`: an optional number; null or absent is `None`.
pub(crate) fn opt_f64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    value_as_f64(&v)
        .map(Some)
        .ok_or_else(|| invalid("a number", &v))
}

/// `deserialize_with`: an optional non-negative integer as `u32`.
pub(crate) fn opt_u32_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    value_as_i64(&v)
        .and_then(|i| u32::try_from(i).ok())
        .map(Some)
        .ok_or_else(|| invalid("a non-negative integer", &v))
}

/// `deserialize_with`: a boolean (also `"true"`/`"false"`); null or absent is false.
pub(crate) fn bool_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(false);
    }
    value_as_bool(&v).ok_or_else(|| invalid("a boolean", &v))
}

/// `deserialize_with`: an optional string; numbers become their text.
pub(crate) fn opt_string_lenient<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(value_as_string(&v))
}

/// `deserialize_with`: a string; null or absent is empty, numbers become their text.
pub(crate) fn string_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(value_as_string(&v).unwrap_or_default())
}

/// `deserialize_with`: an optional duration in seconds (`HH:MM:SS[.fff]` or seconds).
pub(crate) fn opt_duration_lenient<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<f64>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        _ => value_as_duration(&v)
            .map(Some)
            .ok_or_else(|| invalid("a duration (HH:MM:SS[.fff] or seconds)", &v)),
    }
}

/// `deserialize_with`: an optional timestamp; an unreadable one is `None`
/// (timestamps are informational here, never worth failing a call over).
pub(crate) fn opt_datetime_lenient<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(value_as_datetime(&v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_in_every_cxone_form() {
        assert_eq!(parse_duration_seconds("00:01:30"), Some(90.0));
        assert_eq!(parse_duration_seconds("01:00:00"), Some(3600.0));
        let f = parse_duration_seconds("00:00:12.250").unwrap();
        assert!((f - 12.25).abs() < 1e-9);
        assert_eq!(parse_duration_seconds("42"), Some(42.0));
        assert_eq!(parse_duration_seconds("42.5"), Some(42.5));
        assert_eq!(parse_duration_seconds("02:05"), Some(125.0));
        assert_eq!(parse_duration_seconds(" 00:00:07 "), Some(7.0));
        assert_eq!(parse_duration_seconds(""), None);
        assert_eq!(parse_duration_seconds("abc"), None);
        assert_eq!(parse_duration_seconds("1:2:3:4"), None);
        assert_eq!(parse_duration_seconds("aa:00:01"), None);
        assert_eq!(parse_duration_seconds("-5"), None);
        assert_eq!(value_as_duration(&json!(17)), Some(17.0));
    }

    #[test]
    fn numbers_and_booleans_as_strings() {
        assert_eq!(value_as_i64(&json!("120")), Some(120));
        assert_eq!(value_as_i64(&json!(120)), Some(120));
        assert_eq!(value_as_i64(&json!("120.0")), Some(120));
        assert_eq!(value_as_i64(&json!(12.5)), None);
        assert_eq!(value_as_i64(&json!(null)), None);
        assert_eq!(value_as_f64(&json!("2.5")), Some(2.5));
        assert_eq!(value_as_bool(&json!("False")), Some(false));
        assert_eq!(value_as_bool(&json!("true")), Some(true));
        assert_eq!(value_as_bool(&json!(1)), Some(true));
    }

    #[test]
    fn timestamps_with_and_without_offset() {
        let a = value_as_datetime(&json!("2026-01-02T03:04:05.123Z")).unwrap();
        let b = value_as_datetime(&json!("2026-01-02T03:04:05.123")).unwrap();
        assert_eq!(a, b);
        assert!(value_as_datetime(&json!("yesterday")).is_none());
    }
}
