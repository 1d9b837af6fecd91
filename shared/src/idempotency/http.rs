//! The idempotency protocol for HTTP routes: the `Idempotency-Key` header,
//! the request fingerprint, and stored responses replayed to duplicates.
//!
//! Independent of the Lambda crates: a function hands over the header's
//! bytes, the route, its path parameters and the raw body, and turns the
//! [`HttpResponse`] it gets back into its own response type (adding
//! [`HttpResponse::headers`]).
//!
//! What a request with a key gets:
//! - the key missing, empty, longer than [`MAX_KEY_LEN`] or not printable
//!   ASCII: 400 naming the header ([`IdempotencyKey::parse`]);
//! - first time: the handler runs under an `INPROGRESS` claim that expires at
//!   the invocation deadline. Its response is stored (`COMPLETED`) when it is
//!   a 2xx or a deterministic refusal (400, 404, 413, 422: the same request
//!   would be refused again); otherwise (5xx, 409, 429, ...) the claim is
//!   deleted so that a retry runs;
//! - a duplicate (same key, same fingerprint) after completion: the stored
//!   status and body, with `Idempotent-Replayed: true`;
//! - a duplicate while the first is still running: 409;
//! - the same key with another fingerprint: 422;
//! - a record past its expiry: runs again (checked in code);
//! - the idempotency table failing: 503, so that the caller retries.
//!
//! Records are scoped per function ([`IdempotencyKey::record_id`]), so two
//! functions sharing the table never see each other's keys.

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tracing::{error, warn};

use super::{payload_hash, unix_now_ms, Claim, IdempotencyStore};
use crate::api_error::ApiError;
use crate::deadline::Deadline;

/// The request header that carries the key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// The response header set (to `true`) on replayed responses.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// Longest key accepted, in characters.
pub const MAX_KEY_LEN: usize = 128;

/// A validated `Idempotency-Key`: 1 to [`MAX_KEY_LEN`] printable ASCII
/// characters (space to `~`), not all blank.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Validates the header's raw value (`None` when the header is absent);
    /// refusals are 400s that name the header.
    pub fn parse(value: Option<&[u8]>) -> Result<Self, ApiError> {
        let Some(bytes) = value else {
            return Err(ApiError::bad_request(format!(
                "the {IDEMPOTENCY_KEY_HEADER} header is required: send a unique key \
                 (1 to {MAX_KEY_LEN} printable ASCII characters) per intended change"
            ))
            .with_details(vec![header_problem("missing")]));
        };
        let problem = if bytes.iter().all(u8::is_ascii_whitespace) {
            Some("empty")
        } else if bytes.len() > MAX_KEY_LEN {
            Some("longer than 128 characters")
        } else if !bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
            Some("not printable ASCII")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ApiError::bad_request(format!(
                "the {IDEMPOTENCY_KEY_HEADER} header must be 1 to {MAX_KEY_LEN} printable \
                 ASCII characters ({problem})"
            ))
            .with_details(vec![header_problem(problem)]));
        }
        // Every byte is in 0x20..=0x7e, so this is valid UTF-8.
        Ok(Self(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the record in the idempotency table: `{scope}#{key}`, where
    /// the scope is the function's name.
    pub fn record_id(&self, scope: &str) -> String {
        format!("{scope}#{}", self.0)
    }
}

fn header_problem(problem: &str) -> Value {
    json!({"header": IDEMPOTENCY_KEY_HEADER, "problem": problem})
}

/// Whether a response with `status` is stored for duplicates: 2xx, and the
/// deterministic refusals 400, 404, 413 and 422. Everything else (409, 429,
/// 5xx, ...) may go differently next time, so the claim is released instead.
pub fn is_storable_status(status: u16) -> bool {
    (200..300).contains(&status) || matches!(status, 400 | 404 | 413 | 422)
}

/// An HTTP answer with a JSON body, as stored in and replayed from the table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    /// HTTP status.
    pub status_code: u16,
    /// The JSON body, as text.
    pub body: String,
    /// Whether this is a stored response replayed to a duplicate (not stored).
    #[serde(skip)]
    pub replayed: bool,
}

impl HttpResponse {
    /// A fresh response with a JSON body.
    pub fn json(status_code: u16, body: &Value) -> Self {
        Self {
            status_code,
            body: body.to_string(),
            replayed: false,
        }
    }

    /// The response for an error.
    pub fn error(error: &ApiError) -> Self {
        Self {
            status_code: error.status,
            body: error.body(),
            replayed: false,
        }
    }

    /// Whether it is stored for duplicates ([`is_storable_status`]).
    pub fn is_storable(&self) -> bool {
        is_storable_status(self.status_code)
    }

    /// The headers to send: `Content-Type: application/json`, and
    /// `Idempotent-Replayed: true` on a replay.
    pub fn headers(&self) -> Vec<(&'static str, &'static str)> {
        let mut headers = vec![("Content-Type", "application/json")];
        if self.replayed {
            headers.push((REPLAYED_HEADER, "true"));
        }
        headers
    }
}

/// What a request is, for telling a duplicate from a reused key: the route
/// (e.g. `PUT /campaigns/{skillId}/schedule`), the path parameters and the body
/// as canonical JSON (keys sorted, whitespace dropped). A body that is not JSON
/// is represented by the SHA-256 of its bytes.
pub fn request_fingerprint(route: &str, path_params: &[(&str, &str)], body: &[u8]) -> Value {
    let params: Map<String, Value> = path_params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect();
    let body = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => canonical(value),
            Err(_) => json!({"nonJsonSha256": hex::encode(Sha256::digest(body))}),
        }
    };
    canonical(json!({"route": route, "pathParameters": params, "body": body}))
}

/// The payload hash of [`request_fingerprint`] (what the record's `validation` holds).
pub fn request_hash(route: &str, path_params: &[(&str, &str)], body: &[u8]) -> String {
    payload_hash(&request_fingerprint(route, path_params, body))
}

/// `value` with every object's keys in sorted order, whatever serde_json's map type.
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// The idempotency layer of one function's HTTP routes.
#[derive(Clone, Debug)]
pub struct HttpIdempotency {
    store: IdempotencyStore,
    scope: String,
}

impl HttpIdempotency {
    /// The layer over `store`, with records scoped to `scope` (the function's name).
    pub fn new(store: IdempotencyStore, scope: impl Into<String>) -> Self {
        Self {
            store,
            scope: scope.into(),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &IdempotencyStore {
        &self.store
    }

    /// The scope records are kept under.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Runs `handler` at most once per key and request hash (see the module
    /// documentation for every outcome). `now_ms` is the wall clock in Unix ms:
    /// record expiry is about real time. Never fails: storage problems are
    /// answered with 503.
    ///
    /// The key is claimed; a claim held by another request, or taken by a
    /// different request, is refused; a completed one is replayed; an
    /// acquired one runs `handler` and keeps its response ([`Self::keep`]).
    pub async fn execute<F, Fut>(
        &self,
        key: &IdempotencyKey,
        hash: &str,
        deadline: &Deadline,
        now_ms: u64,
        handler: F,
    ) -> HttpResponse
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = HttpResponse>,
    {
        let id = key.record_id(&self.scope);
        let claim = match self.store.claim(&id, hash, deadline, now_ms).await {
            Ok(claim) => claim,
            Err(e) => {
                warn!(error = %e, "idempotency claim failed");
                return HttpResponse::error(&ApiError::unavailable(
                    "could not record the idempotency key; retry with the same key",
                ));
            }
        };
        match claim {
            Claim::InProgress => in_progress(),
            Claim::PayloadMismatch => payload_mismatch(),
            Claim::Completed(stored) => replay(stored),
            Claim::Acquired => {
                let response = handler().await;
                self.keep(&id, &response, now_ms).await;
                response
            }
        }
    }

    /// Completes the claim `id` with a storable `response` (replayed to
    /// retries), or releases it (a retry runs again).
    async fn keep(&self, id: &str, response: &HttpResponse, now_ms: u64) {
        if response.is_storable() {
            let done_ms = now_ms.max(unix_now_ms());
            let stored = serde_json::to_value(response).unwrap_or(Value::Null);
            if let Err(e) = self.store.complete(id, &stored, done_ms).await {
                // The work is done; let a retry redo it rather than wait for
                // the claim to expire (every write of the bundle is repeatable).
                error!(error = %e, "could not store the idempotent response");
                self.release(id).await;
            }
        } else {
            self.release(id).await;
        }
    }

    /// Deletes the claim `id` so that a retry runs again; a failure is logged
    /// (the claim then expires at the invocation deadline).
    async fn release(&self, id: &str) {
        if let Err(e) = self.store.release(id).await {
            error!(error = %e, "could not release the idempotency claim; it expires at the invocation deadline");
        }
    }
}

/// 409: another request with the same key is still running.
fn in_progress() -> HttpResponse {
    HttpResponse::error(&ApiError::conflict(format!(
        "a request with this {IDEMPOTENCY_KEY_HEADER} is still in progress; \
         retry later with the same key"
    )))
}

/// 422: the key was used for a different request.
fn payload_mismatch() -> HttpResponse {
    HttpResponse::error(
        &ApiError::unprocessable(format!(
            "this {IDEMPOTENCY_KEY_HEADER} was already used for a different request; \
             use a new key for a new change"
        ))
        .with_details(vec![header_problem("reused with a different request")]),
    )
}

/// The stored response of a completed request, marked as replayed (503
/// when it cannot be read).
fn replay(stored: Value) -> HttpResponse {
    match serde_json::from_value::<HttpResponse>(stored) {
        Ok(mut response) => {
            response.replayed = true;
            response
        }
        Err(e) => {
            error!(error = %e, "stored idempotent response is corrupt");
            HttpResponse::error(&ApiError::unavailable(
                "the stored response for this idempotency key could not be read; retry",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated_and_name_the_header() {
        assert_eq!(
            IdempotencyKey::parse(Some(b"abc-123")).map(|k| k.as_str().to_owned()),
            Ok("abc-123".to_owned())
        );
        assert!(IdempotencyKey::parse(Some(&[b'k'; 128])).is_ok());
        for bad in [
            None,
            Some(&b""[..]),
            Some(&b"   "[..]),
            Some(&[b'k'; 129][..]),
            Some(&b"caf\xc3\xa9"[..]),
            Some(&b"tab\there"[..]),
            Some(&b"nl\n"[..]),
        ] {
            let e = IdempotencyKey::parse(bad).expect_err("refused");
            assert_eq!(e.status, 400);
            assert!(e.message.contains(IDEMPOTENCY_KEY_HEADER), "{}", e.message);
        }
        let key = IdempotencyKey::parse(Some(b"k1")).expect("valid");
        assert_eq!(key.record_id("schedule-deployer"), "schedule-deployer#k1");
    }

    #[test]
    fn storable_statuses() {
        for s in [200, 201, 204, 400, 404, 413, 422] {
            assert!(is_storable_status(s), "{s}");
        }
        for s in [401, 403, 409, 429, 500, 502, 503, 504] {
            assert!(!is_storable_status(s), "{s}");
        }
    }

    #[test]
    fn fingerprint_is_canonical_and_covers_route_params_and_body() {
        let route = "PUT /campaigns/{skillId}/schedule";
        let a = request_hash(route, &[("skillId", "1")], br#"{"a": 1, "b": [1, 2]}"#);
        let b = request_hash(route, &[("skillId", "1")], br#"{"b":[1,2],"a":1}"#);
        assert_eq!(a, b);
        assert_ne!(
            a,
            request_hash(route, &[("skillId", "2")], br#"{"a":1,"b":[1,2]}"#)
        );
        assert_ne!(
            a,
            request_hash(
                "PUT /campaigns/{skillId}/config",
                &[("skillId", "1")],
                br#"{"a":1,"b":[1,2]}"#
            )
        );
        assert_ne!(
            a,
            request_hash(route, &[("skillId", "1")], br#"{"a":1,"b":[2,1]}"#)
        );
        let junk = request_hash(route, &[("skillId", "1")], b"{not json");
        assert_eq!(junk, request_hash(route, &[("skillId", "1")], b"{not json"));
        assert_ne!(junk, request_hash(route, &[("skillId", "1")], b"{not jsoN"));
        assert_ne!(junk, request_hash(route, &[("skillId", "1")], b""));
    }

    #[test]
    fn responses_round_trip_without_the_replay_flag() {
        let fresh = HttpResponse::json(200, &json!({"ok": true}));
        assert_eq!(fresh.headers(), vec![("Content-Type", "application/json")]);
        let stored = serde_json::to_value(&fresh).expect("serialises");
        assert_eq!(stored["statusCode"], 200);
        let mut replay: HttpResponse = serde_json::from_value(stored).expect("deserialises");
        assert!(!replay.replayed);
        replay.replayed = true;
        assert!(replay.headers().contains(&(REPLAYED_HEADER, "true")));
        assert_eq!(replay.body, fresh.body);
        let err = HttpResponse::error(&ApiError::conflict("busy"));
        assert_eq!(err.status_code, 409);
        assert!(!err.is_storable());
    }
}
