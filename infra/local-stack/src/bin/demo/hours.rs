//! Local hours: the hour an instant falls in, and the event store's minute
//! keys as instants.

use chrono::{DateTime, Duration as ChronoDuration, Timelike, Utc};
use chrono_tz::Tz;

/// The local hour that `t` falls in, as a UTC instant.
pub fn hour_of(t: DateTime<Utc>, zone: &Tz) -> DateTime<Utc> {
    let local = t.with_timezone(zone);
    t - ChronoDuration::minutes(i64::from(local.minute()))
        - ChronoDuration::seconds(i64::from(local.second()))
        - ChronoDuration::nanoseconds(i64::from(local.nanosecond()))
}

/// The minute key `YYYY-MM-DDTHH:MM` of the event store as a UTC time.
pub fn minute_time(key: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(&format!("{key}:00"), "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|n| n.and_utc())
}
