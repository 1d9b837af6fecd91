//! The operator API's error body: `{"error": code, "message": text, "details": [...]}`.
//!
//! One type for every HTTP function so codes and statuses stay consistent
//! (docs/architecture.md, "Operator API and dashboard").
//!
//! A server-side failure (500, 502, 503) never carries internals (ARNs, SDK
//! or CXone messages, table names): its message says in words what failed,
//! and the body carries `requestId`, the id that the log line with the
//! detail carries too ([`stamp_request_id`] adds it at each function's
//! response boundary).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

/// An error answer of an HTTP function.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApiError {
    /// HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// Stable machine-readable code.
    pub error: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Itemised problems (fields, violations), possibly empty.
    pub details: Vec<Value>,
    /// The request's id (the one its log lines carry), on server-side failures.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    fn new(status: u16, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            message: message.into(),
            details: Vec::new(),
            request_id: None,
        }
    }

    /// Adds the request's id (the one the log lines carry).
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Adds itemised details.
    pub fn with_details(mut self, details: Vec<Value>) -> Self {
        self.details = details;
        self
    }

    /// 400: bad JSON, missing or unknown fields, bad path parameters.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }
    /// 401: not authenticated (the webhook's `X-Signature` missing or
    /// wrong). One answer whatever failed: the detail names the header,
    /// never which check it failed.
    pub fn unauthorized() -> Self {
        Self::new(401, "unauthorized", "authentication failed").with_details(vec![json!({
            "header": "X-Signature",
            "problem": "missing, malformed, outside the time tolerance or not matching",
        })])
    }
    /// 404: unknown campaign or route.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }
    /// 405: route exists, method does not (the detail names `method`).
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        let message = message.into();
        let detail = json!({"field": "method", "problem": message});
        Self::new(405, "method_not_allowed", message).with_details(vec![detail])
    }
    /// 409: a request with the same idempotency key is still in progress.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, "conflict", message)
    }
    /// 413: body too large (the detail names `body`).
    pub fn too_large(limit_bytes: usize) -> Self {
        let message = format!("body exceeds {limit_bytes} bytes");
        let detail = json!({"field": "body", "problem": message});
        Self::new(413, "payload_too_large", message).with_details(vec![detail])
    }
    /// 422: understood but refused (law, limits, reused key with another body).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, "unprocessable", message)
    }
    /// 429: throttled.
    pub fn throttled(message: impl Into<String>) -> Self {
        Self::new(429, "throttled", message)
    }
    /// 502: CXone failed.
    pub fn bad_gateway(message: impl Into<String>) -> Self {
        Self::new(502, "cxone_failed", message)
    }
    /// 503: storage failed; the caller should retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "storage_unavailable", message)
    }
    /// 500: never carries internals.
    pub fn internal() -> Self {
        Self::new(
            500,
            "internal",
            "internal error; see logs with the request id",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"error":"internal","message":"internal error","details":[]}"#.to_owned()
        })
    }
}

/// Whether `status` is a server-side failure whose body must carry `requestId`.
pub fn is_server_failure(status: u16) -> bool {
    status >= 500
}

/// The body of a server-side failure (`status` 500 or above) with
/// `"requestId": request_id` added, when `body` is an error object without
/// one; `None` when nothing needs changing. Each HTTP function applies it to
/// every answer, so whichever path built the error, the caller gets the id
/// that the log lines carry.
pub fn stamp_request_id(status: u16, body: &str, request_id: &str) -> Option<String> {
    if !is_server_failure(status) {
        return None;
    }
    let mut value: Value = serde_json::from_str(body).ok()?;
    let object = value.as_object_mut()?;
    if !object.contains_key("error") || object.contains_key("requestId") {
        return None;
    }
    object.insert("requestId".into(), Value::String(request_id.to_owned()));
    Some(value.to_string())
}

/// Parses the `{skillId}` path parameter: a positive integer, else a 400 naming it.
pub fn parse_skill_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::bad_request(format!("skillId must be a positive integer, got {raw:?}"))
            .with_details(vec![
                json!({"field": "skillId", "problem": "must be a positive integer"}),
            ])
    })
}

/// Where a JSON body departs from the shape its route reads, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShapeProblem {
    /// The field at fault, as a JSON path (`pacing.minRatio`,
    /// `contacts[3].state`); `body` when the bytes are not JSON or the body
    /// as a whole has the wrong type.
    pub field: String,
    /// What is wrong (serde's words, with the line and column).
    pub problem: String,
}

impl ShapeProblem {
    /// The problem as an error detail, `{"field", "problem"}`.
    pub fn detail(&self) -> Value {
        json!({"field": self.field, "problem": self.problem})
    }
}

impl std::fmt::Display for ShapeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Reads a JSON body as `T` (as `serde_json::from_slice` does); a body of
/// another shape is a [`ShapeProblem`] naming the field at fault: where a
/// value has the wrong type, or the field missing, unknown or repeated.
pub fn from_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ShapeProblem> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = path_text(e.path());
        shape_problem(&path, e.into_inner())
    })?;
    de.end().map_err(|e| shape_problem("", e))?;
    Ok(value)
}

/// `pacing.minRatio`, `contacts[3].state`; an empty key as `""`.
fn path_text(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        let name = match segment {
            Segment::Seq { index } => {
                out.push_str(&format!("[{index}]"));
                continue;
            }
            Segment::Map { key } => key.as_str(),
            Segment::Enum { variant } => variant.as_str(),
            Segment::Unknown => "?",
        };
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&field_name(name));
    }
    out
}

/// A field's name as a rejection names it: as sent, or quoted as a JSON
/// string (`""`, `" "`) when it is blank, so that the name shows.
pub fn field_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name.trim().is_empty() {
        std::borrow::Cow::Owned(Value::String(name.to_owned()).to_string())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

fn shape_problem(path: &str, e: serde_json::Error) -> ShapeProblem {
    let problem = e.to_string();
    // Every body the bundle reads is an object: one sent as an array (which
    // serde reads into a struct by position) is wrong as a whole.
    let at_root = path.is_empty() || path.starts_with('[');
    // serde names a missing or repeated field in its message, and the path
    // is that of the object it belongs to (an unknown field's path ends
    // with the field already).
    let named = ["missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| problem.strip_prefix(prefix)?.split_once('`'))
        .map(|(name, _)| name)
        .filter(|name| !name.is_empty());
    let field = match (e.is_data(), named) {
        (false, _) => "body".to_owned(),
        (true, Some(name)) if at_root => name.to_owned(),
        (true, Some(name)) => format!("{path}.{name}"),
        (true, None) if at_root => "body".to_owned(),
        (true, None) => path.to_owned(),
    };
    ShapeProblem { field, problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_ids_are_positive_integers() {
        assert_eq!(parse_skill_id("4101"), Ok(4101));
        for bad in ["", "0", "-5", "abc", "1.5", "99999999999999999999"] {
            assert_eq!(parse_skill_id(bad).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn shape_problems_name_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            n: u32,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Outer {
            inner: Inner,
            list: Vec<Inner>,
        }
        let field = |body: &str| from_json::<Outer>(body.as_bytes()).unwrap_err().field;
        assert_eq!(field(r#"{"inner": {"n": "1"}, "list": []}"#), "inner.n");
        assert_eq!(
            field(r#"{"inner": {"n": 1}, "list": [{"n": 1}, {"n": -1}]}"#),
            "list[1].n"
        );
        assert_eq!(field(r#"{"inner": {}, "list": []}"#), "inner.n");
        assert_eq!(
            field(r#"{"inner": {"n": 1, "x": 2}, "list": []}"#),
            "inner.x"
        );
        assert_eq!(
            field(r#"{"inner": {"n": 1}, "inner": {"n": 1}, "list": []}"#),
            "inner"
        );
        assert_eq!(
            field(r#"{"inner": {"n": 1, "n": 1}, "list": []}"#),
            "inner.n"
        );
        assert_eq!(field(r#"{"inner": {"n": 1}, "list": [], "": 1}"#), r#""""#);
        assert_eq!(
            field(r#"{"inner": {"n": 1, "": 1}, "list": []}"#),
            r#"inner."""#
        );
        assert_eq!(
            field(r#"{"inner": {"n": 1, " ": 1}, "list": []}"#),
            r#"inner." ""#
        );
        assert_eq!(field(r#"{"list": []}"#), "inner");
        assert_eq!(field(r#"{"inner": {"n": 1}, "list": [] }x"#), "body");
        assert_eq!(field("[1]"), "body");
        assert_eq!(field("{"), "body");
        assert_eq!(field(""), "body");
        let p = from_json::<Outer>(br#"{"inner": 5, "list": []}"#).unwrap_err();
        assert_eq!(p.detail()["field"], "inner");
        assert!(p.to_string().starts_with("inner: invalid type"), "{p}");
    }

    #[test]
    fn body_has_the_three_fields() {
        let e = ApiError::unprocessable("no").with_details(vec![serde_json::json!({"field": "x"})]);
        let v: Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["error"], "unprocessable");
        assert_eq!(v["message"], "no");
        assert_eq!(v["details"][0]["field"], "x");
        assert!(v.get("status").is_none());
        assert!(v.get("requestId").is_none());
    }

    #[test]
    fn server_failures_get_the_request_id() {
        let body = ApiError::unavailable("could not read the campaign config; retry").body();
        let stamped = stamp_request_id(503, &body, "req-1").unwrap();
        let v: Value = serde_json::from_str(&stamped).unwrap();
        assert_eq!(v["requestId"], "req-1");
        assert_eq!(v["error"], "storage_unavailable");
        // Already stamped, client errors, and non-error bodies are left alone.
        assert!(stamp_request_id(503, &stamped, "req-2").is_none());
        let bad = ApiError::bad_request("no").body();
        assert!(stamp_request_id(400, &bad, "req-1").is_none());
        assert!(stamp_request_id(502, "<html>", "req-1").is_none());
        let e = ApiError::internal().with_request_id("req-3");
        let v: Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["requestId"], "req-3");
    }
}
