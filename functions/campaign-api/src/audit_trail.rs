//! `GET /campaigns/{skillId}/audit?from&to&kind&limit&cursor`: the audit
//! trail of one campaign, newest first, paged with an opaque cursor.
//!
//! - `from`, `to`: RFC 3339 times, `from <= at < to`. Without them, the 24 h
//!   up to and including the request time; with `from` alone, up to the
//!   request time; with `to` alone, the 24 h before `to`. `from` after `to`,
//!   or a range over [`MAX_RANGE_DAYS`] days, is 400.
//! - `kind`: only actions starting with it (`pacing.tune`, `guard.`, ...).
//! - `limit`: records per page, 1..=[`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]).
//! - `cursor`: a previous answer's `nextCursor`: base64url of
//!   `{"s": skillId, "k": sortKey}`, refused (400) for another campaign or
//!   outside `from`/`to`.
//!
//! The answer is `{"skillId", "items": [audit records], "nextCursor"}`
//! (`nextCursor` null on the last page). A campaign without a config is 404.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use shared::api_error::ApiError;
use shared::store::audit::{time_key, AuditQuery};

use crate::api::{json_response, storage_error, Api};
use crate::routes::ApiRequest;

/// Records per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest `limit`.
pub const MAX_LIMIT: usize = 200;
/// The widest `from`..`to` range, in days.
pub const MAX_RANGE_DAYS: i64 = 366;
/// The longest `kind` accepted.
const MAX_KIND_LEN: usize = 64;

/// The audit route's parameters, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditParams {
    /// The earliest time (inclusive).
    pub from: DateTime<Utc>,
    /// The latest time (exclusive).
    pub to: DateTime<Utc>,
    /// The action prefix, if any.
    pub kind: Option<String>,
    /// Records per page.
    pub limit: usize,
    /// The sort key to continue after (from the cursor).
    pub after: Option<String>,
}

/// What a cursor holds: the campaign and the sort key to continue after.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Cursor {
    /// The campaign, so a cursor cannot be replayed against another one.
    s: i64,
    /// The sort key of the last record returned.
    k: String,
}

/// A 400 about query parameter `name`, naming it in the details.
fn param_error(name: &str, message: String) -> ApiError {
    let detail = json!({"field": name, "problem": message});
    ApiError::bad_request(message).with_details(vec![detail])
}

/// The opaque cursor of `skill_id`'s page that ended at sort key `key`.
pub fn encode_cursor(skill_id: i64, key: &str) -> String {
    let json = serde_json::to_vec(&Cursor {
        s: skill_id,
        k: key.to_owned(),
    })
    .unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The sort key inside `cursor`, when it is one of `skill_id`'s; else a 400
/// naming `cursor`.
pub fn decode_cursor(skill_id: i64, cursor: &str) -> Result<String, ApiError> {
    let bad = |why: &str| param_error("cursor", format!("cursor: {why}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|e| bad(&format!("not a cursor this API issued ({e})")))?;
    let decoded: Cursor = serde_json::from_slice(&bytes)
        .map_err(|e| bad(&format!("not a cursor this API issued ({e})")))?;
    if decoded.s != skill_id {
        return Err(bad("it belongs to another campaign"));
    }
    if decoded.k.is_empty() {
        return Err(bad("it is empty"));
    }
    Ok(decoded.k)
}

/// An RFC 3339 time from parameter `name` (a `+` of the offset that arrived
/// as a space, unescaped, is taken as `+`); else a 400 naming it.
fn parse_time(name: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .or_else(|e| match raw.contains(' ') {
            true => DateTime::parse_from_rfc3339(&raw.replace(' ', "+")),
            false => Err(e),
        })
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            param_error(
                name,
                format!(
                    "{name}: {raw:?} is not an RFC 3339 time such as 2026-03-10T09:00:00-05:00 ({e})"
                ),
            )
        })
}

impl AuditParams {
    /// Reads and checks the parameters of `skill_id`'s request at `now`;
    /// `query` gives a parameter's first value. Every error is a 400 naming
    /// the parameter.
    pub fn parse<'a>(
        skill_id: i64,
        now: DateTime<Utc>,
        query: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, ApiError> {
        let from = query("from").map(|v| parse_time("from", v)).transpose()?;
        let to = query("to").map(|v| parse_time("to", v)).transpose()?;
        // Up to and including the request time.
        let to = to.unwrap_or(now + Duration::milliseconds(1));
        let from = from.unwrap_or(to - Duration::hours(24));
        if from > to {
            return Err(param_error(
                "from",
                format!("from: {} is after to ({})", time_key(from), time_key(to)),
            ));
        }
        if to - from > Duration::days(MAX_RANGE_DAYS) {
            return Err(param_error(
                "from",
                format!(
                    "from, to: the range is over {MAX_RANGE_DAYS} days; page through shorter ranges"
                ),
            ));
        }
        let kind = match query("kind").map(str::trim) {
            None | Some("") => None,
            Some(k) if k.len() > MAX_KIND_LEN => {
                return Err(param_error(
                    "kind",
                    format!("kind: longer than {MAX_KIND_LEN} characters"),
                ))
            }
            Some(k)
                if !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) =>
            {
                return Err(param_error(
                    "kind",
                    format!("kind: {k:?} is not an action prefix such as pacing.tune or guard."),
                ))
            }
            Some(k) => Some(k.to_owned()),
        };
        let limit = match query("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    param_error(
                        "limit",
                        format!("limit: {raw:?} is not a whole number from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let after = match query("cursor") {
            None | Some("") => None,
            Some(raw) => {
                let key = decode_cursor(skill_id, raw)?;
                // The key's time must lie inside this query's range.
                let inside =
                    key.as_str() >= time_key(from).as_str() && key.as_str() < time_key(to).as_str();
                if !inside {
                    return Err(param_error(
                        "cursor",
                        "cursor: it is outside the from/to range of this query".into(),
                    ));
                }
                Some(key)
            }
        };
        Ok(Self {
            from,
            to,
            kind,
            limit,
            after,
        })
    }
}

impl Api {
    /// The audit trail of a campaign, newest first, one page.
    pub(crate) async fn audit_trail(
        &self,
        request: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let skill_id = request.skill_id;
        let params = AuditParams::parse(skill_id, request.time, |name| request.query(name))?;
        self.state
            .get_config(skill_id)
            .await
            .map_err(|e| storage_error("read the campaign config", &e))?
            .ok_or_else(|| ApiError::not_found(format!("campaign {skill_id} has no config")))?;
        let page = self
            .audit
            .page(&AuditQuery {
                skill_id,
                from: params.from,
                to: params.to,
                action_prefix: params.kind.as_deref(),
                limit: params.limit,
                after: params.after.as_deref(),
            })
            .await
            .map_err(|e| storage_error("read the audit trail", &e))?;
        let next = page.next.map(|key| encode_cursor(skill_id, &key));
        Ok(json_response(
            200,
            &json!({"skillId": skill_id, "items": page.records, "nextCursor": next}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-10T15:00:00Z".parse().unwrap()
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<AuditParams, ApiError> {
        AuditParams::parse(1001, now(), |name| {
            pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
        })
    }

    fn message(r: Result<AuditParams, ApiError>) -> String {
        let e = r.unwrap_err();
        assert_eq!(e.status, 400, "{}", e.message);
        e.message
    }

    #[test]
    fn defaults_are_the_last_day_fifty_records() {
        let p = parse(&[]).unwrap();
        assert_eq!(p.to, now() + Duration::milliseconds(1));
        assert_eq!(p.from, p.to - Duration::hours(24));
        assert_eq!((p.kind, p.limit, p.after), (None, DEFAULT_LIMIT, None));
        let only_to = parse(&[("to", "2026-03-01T00:00:00Z")]).unwrap();
        assert_eq!(
            only_to.from,
            "2026-02-28T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn times_with_offsets_and_a_plus_that_became_a_space() {
        let p = parse(&[
            ("from", "2026-03-10T00:00:00-05:00"),
            ("to", "2026-03-10T12:00:00 01:00"),
            ("kind", "guard."),
            ("limit", "200"),
        ])
        .unwrap();
        assert_eq!(
            p.from,
            "2026-03-10T05:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            p.to,
            "2026-03-10T11:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(p.kind.as_deref(), Some("guard."));
        assert_eq!(p.limit, 200);
    }

    #[test]
    fn each_bad_parameter_is_named() {
        assert!(message(parse(&[("from", "yesterday")])).starts_with("from:"));
        assert!(message(parse(&[("to", "2026-13-01T00:00:00Z")])).starts_with("to:"));
        assert!(message(parse(&[
            ("from", "2026-03-10T00:00:00Z"),
            ("to", "2026-03-09T00:00:00Z")
        ]))
        .contains("after to"));
        assert!(message(parse(&[
            ("from", "2025-01-01T00:00:00Z"),
            ("to", "2026-03-09T00:00:00Z")
        ]))
        .contains("366 days"));
        for bad in ["0", "201", "-1", "ten", "1.5"] {
            assert!(
                message(parse(&[("limit", bad)])).starts_with("limit:"),
                "{bad}"
            );
        }
        let long = "a".repeat(65);
        for bad in ["pacing tune", "a/b", "x\"y", long.as_str()] {
            assert!(
                message(parse(&[("kind", bad)])).starts_with("kind:"),
                "{bad}"
            );
        }
        assert!(message(parse(&[("cursor", "!!!")])).starts_with("cursor:"));
        let not_json = URL_SAFE_NO_PAD.encode(b"not json");
        assert!(message(parse(&[("cursor", &not_json)])).starts_with("cursor:"));
    }

    #[test]
    fn cursors_round_trip_and_stay_with_their_campaign_and_range() {
        let key = "2026-03-10T14:55:00.000Z#evt-1#pacing.tune";
        let cursor = encode_cursor(1001, key);
        assert!(cursor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(decode_cursor(1001, &cursor).unwrap(), key);
        assert_eq!(parse(&[("cursor", &cursor)]).unwrap().after.unwrap(), key);
        let other = decode_cursor(1002, &cursor).unwrap_err();
        assert!(other.message.contains("another campaign"));
        let outside = parse(&[
            ("cursor", &cursor),
            ("from", "2026-03-01T00:00:00Z"),
            ("to", "2026-03-02T00:00:00Z"),
        ]);
        assert!(message(outside).contains("outside"));
    }
}
