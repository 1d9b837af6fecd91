//! What every operator route reads from an API Gateway HTTP API (payload 2.0)
//! request: the request time, the IAM principal, the request id, the route,
//! the path's segments, the `{skillId}` parameter and the body bytes.
//!
//! Extraction never fails; each handler decides where in its checks a missing
//! piece becomes an error (for example [`Envelope::require_time`]).

use chrono::{DateTime, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};

use crate::api_error::{parse_skill_id, ApiError};

/// The last request time accepted, in Unix ms: 9999-12-31T23:59:59.999Z.
pub const LATEST_TIME_MS: i64 = 253_402_300_799_999;

/// The request's envelope, as API Gateway and Lambda describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// `requestContext.timeEpoch`: the time every decision is made as of
    /// (`None` when absent, or outside [`LATEST_TIME_MS`]'s years 1970 to
    /// 9999, where date arithmetic in a time zone would overflow).
    pub time: Option<DateTime<Utc>>,
    /// `requestContext.authorizer.iam.userArn`, when IAM authorised the call.
    pub actor: Option<String>,
    /// Lambda's request id, else API Gateway's, else `"unknown"`.
    pub request_id: String,
    /// `routeKey`, e.g. `PUT /campaigns/{skillId}/schedule`.
    pub route_key: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The raw path.
    pub path: String,
    /// `{skillId}` from the path parameters, else the path's second segment.
    pub raw_skill_id: String,
    /// The body's bytes (empty when there is none).
    pub body: Vec<u8>,
    /// The query string's parameters, in order (`?a=1&b=2`), decoded.
    pub query: Vec<(String, String)>,
    /// The `Idempotency-Key` header's raw bytes, when sent.
    pub idempotency_key: Option<Vec<u8>>,
}

impl Envelope {
    /// Reads the envelope of `request`.
    pub fn of(request: &Request) -> Self {
        let (time, actor, context_request_id, route_key) = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => (
                Some(ctx.time_epoch)
                    .filter(|ms| (0..=LATEST_TIME_MS).contains(ms))
                    .and_then(DateTime::<Utc>::from_timestamp_millis),
                ctx.authorizer.as_ref().and_then(|a| {
                    a.iam
                        .as_ref()
                        .and_then(|iam| iam.user_arn.clone())
                        .or_else(|| {
                            // A person signed in through the JWT authorizer (the dashboard).
                            let claims = &a.jwt.as_ref()?.claims;
                            let who = claims
                                .get("email")
                                .or_else(|| claims.get("cognito:username"))
                                .or_else(|| claims.get("sub"))?;
                            Some(format!("jwt:{who}"))
                        })
                }),
                ctx.request_id.clone(),
                ctx.route_key.clone(),
            ),
            _ => (None, None, None, None),
        };
        let query = request
            .uri()
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let idempotency_key = request
            .headers()
            .get(crate::idempotency::http::IDEMPOTENCY_KEY_HEADER)
            .map(|v| v.as_bytes().to_vec());
        let path = request.raw_http_path().to_owned();
        let raw_skill_id = request
            .path_parameters_ref()
            .and_then(|p| p.first("skillId").map(str::to_owned))
            .or_else(|| path.trim_matches('/').split('/').nth(1).map(str::to_owned))
            .unwrap_or_default();
        let request_id = request
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .filter(|id| !id.is_empty())
            .or(context_request_id)
            .unwrap_or_else(|| "unknown".into());
        Self {
            time,
            actor,
            request_id,
            route_key,
            method: request.method().as_str().to_owned(),
            path,
            raw_skill_id,
            body: body_bytes(request.body()),
            query,
            idempotency_key,
        }
    }

    /// The first value of query parameter `name`, when present.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path's segments, without leading or trailing slashes.
    pub fn segments(&self) -> Vec<&str> {
        self.path.trim_matches('/').split('/').collect()
    }

    /// The request time, or a 400 saying it is missing.
    pub fn require_time(&self) -> Result<DateTime<Utc>, ApiError> {
        self.time.ok_or_else(|| {
            ApiError::bad_request("request has no requestContext.timeEpoch").with_details(vec![
                serde_json::json!({"field": "requestContext.timeEpoch", "problem": "missing or out of range"}),
            ])
        })
    }

    /// The `{skillId}` path parameter, or a 400 naming it.
    pub fn skill_id(&self) -> Result<i64, ApiError> {
        parse_skill_id(&self.raw_skill_id)
    }

    /// The IAM principal, or `fallback` (the function's name) when there is none.
    pub fn actor_or(&self, fallback: &str) -> String {
        self.actor.clone().unwrap_or_else(|| fallback.to_owned())
    }
}

/// The bytes of a request body (empty when there is none).
pub fn body_bytes(body: &Body) -> Vec<u8> {
    match body {
        Body::Text(t) => t.as_bytes().to_vec(),
        Body::Binary(b) => b.clone(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(path_params: bool) -> String {
        let params = if path_params {
            r#""pathParameters": {"skillId": "77"},"#
        } else {
            ""
        };
        format!(
            r#"{{"version": "2.0", "routeKey": "PUT /campaigns/{{skillId}}/config",
            "rawPath": "/campaigns/42/config", "rawQueryString": "", "headers": {{}}, {params}
            "requestContext": {{"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
              "authorizer": {{"iam": {{"userArn": "arn:aws:iam::1:user/ops"}}}},
              "http": {{"method": "PUT", "path": "/campaigns/42/config", "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1", "userAgent": "t"}},
              "requestId": "gw-req", "routeKey": "PUT /campaigns/{{skillId}}/config", "stage": "$default",
              "time": "x", "timeEpoch": 1795000000000}},
            "body": "{{}}", "isBase64Encoded": false}}"#
        )
    }

    #[test]
    fn reads_the_envelope() {
        let request = lambda_http::request::from_str(&event(true)).unwrap();
        let e = Envelope::of(&request);
        assert_eq!(
            e.time.map(|t| t.timestamp_millis()),
            Some(1_795_000_000_000)
        );
        assert_eq!(e.actor_or("fn"), "arn:aws:iam::1:user/ops");
        assert_eq!(e.request_id, "gw-req");
        assert_eq!(
            e.route_key.as_deref(),
            Some("PUT /campaigns/{skillId}/config")
        );
        assert_eq!(e.method, "PUT");
        assert_eq!(e.segments(), vec!["campaigns", "42", "config"]);
        assert_eq!(e.skill_id(), Ok(77), "path parameters win over the path");
        assert_eq!(e.body, b"{}");
        let e = Envelope::of(&lambda_http::request::from_str(&event(false)).unwrap());
        assert_eq!(e.skill_id(), Ok(42), "else the path's second segment");
        // A time no clock gives (where zone arithmetic would overflow) is none.
        for epoch in ["-1", "253402300800000", "9223372036854775807"] {
            let text = event(true).replace("1795000000000", epoch);
            let e = Envelope::of(&lambda_http::request::from_str(&text).unwrap());
            assert_eq!(e.time, None, "{epoch}");
            let refused = e.require_time().unwrap_err();
            assert_eq!(refused.details[0]["field"], "requestContext.timeEpoch");
        }
    }
}
