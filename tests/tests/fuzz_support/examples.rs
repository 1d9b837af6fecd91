//! Valid examples of every body and event the fuzz tests mutate.

use serde_json::{json, Value};

use super::base64;

/// The skill of the webhook examples.
pub const WEBHOOK_SKILL: i64 = 4242;

/// A `contact.completed` webhook event with id `id`.
pub fn completed(id: &str) -> Value {
    json!({"eventId": id, "type": "contact.completed", "occurredAt": "2026-03-03T14:59:01Z",
           "skillId": WEBHOOK_SKILL, "data": {"contactId": "c-1", "outcome": "success",
           "talkSeconds": 120, "wrapSeconds": 15.5, "phoneNumber": "+16175550123"}})
}

/// Webhook bodies: one event of each type, and a batch.
pub fn webhook() -> Vec<Value> {
    let state = json!({"eventId": "s-1", "type": "skill.state",
        "occurredAt": "2026-03-03T14:59:00.123+02:00", "skillId": WEBHOOK_SKILL,
        "data": {"running": true}});
    let metrics = json!({"eventId": "m-1", "type": "skill.metrics",
        "occurredAt": "2026-03-03T14:59:00Z", "skillId": WEBHOOK_SKILL,
        "data": {"intervalSeconds": 60, "dials": 10, "connects": 4, "abandons": 0,
                 "successes": 2, "failures": 1}});
    let other = json!({"eventId": "o-1", "type": "agent.sneezed",
        "occurredAt": "2026-03-03T14:59:00Z", "skillId": WEBHOOK_SKILL,
        "data": {"anything": [1, 2]}});
    vec![
        completed("e-1"),
        state.clone(),
        metrics.clone(),
        json!({"events": [completed("e-2"), state, metrics, other.clone()]}),
        other,
    ]
}

/// Campaign configs: with a failover, minimal, and with every optional field.
pub fn config() -> Vec<Value> {
    vec![
        json!({"enabled": true, "timeZone": "America/New_York",
               "recipientTimeZones": ["America/New_York", "America/Chicago"],
               "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0},
               "failover": {"backupSkillId": 4242, "threshold": 0.15, "windowMinutes": 30,
                            "minSamples": 50, "autoFailback": false}}),
        json!({"enabled": false, "timeZone": "UTC", "recipientTimeZones": ["America/Denver"],
               "pacing": {"targetAbandonPct": 1, "minRatio": 1, "maxRatio": 1}}),
        json!({"enabled": true, "timeZone": "America/Los_Angeles",
               "recipientTimeZones": ["America/Los_Angeles"], "recipientStates": ["CA", "FL"],
               "pacing": {"targetAbandonPct": 3, "minRatio": 1.2, "maxRatio": 10,
                          "minRingSeconds": 20},
               "overrideHoldMinutes": 1440, "firstDialDate": "2026-01-15",
               "failover": {"backupSkillId": 9, "autoFailback": true}}),
    ]
}

/// Schedules: state rules (FL, NY), clip, and Hawaii with Puerto Rico.
pub fn schedule() -> Vec<Value> {
    vec![
        json!({"timeZone": "America/New_York",
               "days": {"monday": {"start": "09:00", "end": "20:00"},
                        "tuesday": {"start": "09:00", "end": "20:30"},
                        "saturday": {"start": "10:00", "end": "17:00"}},
               "recipientTimeZones": ["America/New_York", "America/Chicago"],
               "recipientStates": ["FL", "NY"], "onViolation": "refuse"}),
        json!({"timeZone": "America/Chicago",
               "days": {"wednesday": {"start": "08:00", "end": "21:00"}},
               "recipientTimeZones": ["America/Chicago"], "onViolation": "clip"}),
        json!({"timeZone": "Pacific/Honolulu",
               "days": {"sunday": {"start": "12:00", "end": "17:00"},
                        "friday": {"start": "09:00", "end": "18:00"}},
               "recipientTimeZones": ["Pacific/Honolulu", "America/Puerto_Rico"],
               "recipientStates": ["HI"]}),
    ]
}

/// Pacing changes.
pub fn pacing() -> Vec<Value> {
    vec![
        json!({"maximumRatio": 2.0}),
        json!({"abandonRateThreshold": 2.5, "maximumRingingDuration": 20}),
        json!({"maximumRatio": 1.0, "abandonRateThreshold": 3, "maximumRingingDuration": 15}),
    ]
}

/// One contact with express written consent.
pub fn contact(id: &str, phone: &str, state: &str) -> Value {
    json!({"externalId": id, "phoneNumber": phone, "consentType": "express_written",
           "consentSource": "web form", "consentAt": "2026-01-01T10:00:00Z", "state": state,
           "timeZone": "America/New_York"})
}

/// Contact uploads (JSON): one contact, and three with an `ebr` one.
pub fn contacts() -> Vec<Value> {
    let ebr = json!({"externalId": "B-1", "phoneNumber": "6172531001", "consentType": "ebr",
        "consentSource": "store", "consentAt": "2025-12-01", "relationshipDate": "2025-11-30",
        "state": "MA"});
    vec![
        json!({"contacts": [contact("A-1", "(617) 253-1000", "MA")]}),
        json!({"contacts": [contact("A-1", "+1 617 253 1000", "MA"),
                            contact("A-2", "305-555-0123", "FL"), ebr]}),
    ]
}

/// A contact upload as CSV.
pub const CONTACTS_CSV: &str =
    "externalId,phoneNumber,consentType,consentSource,consentAt,state\r\n\
    A-1,(617) 253-1000,express_written,\"web form, \"\"signup\"\"\",2026-01-01,MA\r\n";

/// Provisioning requests (`POST /campaigns`).
pub fn provisioning() -> Vec<Value> {
    vec![
        json!({"skillName": "Renewals East 2026-11", "campaignId": 501,
               "callerId": "+16175550123", "dncGroupId": 7001,
               "schedule": {"timeZone": "America/New_York",
                            "days": {"monday": {"start": "09:00", "end": "20:00"},
                                     "tuesday": {"start": "09:00", "end": "20:00"}},
                            "recipientTimeZones": ["America/New_York"],
                            "recipientStates": ["FL"], "onViolation": "refuse"},
               "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0,
                          "minRingSeconds": 15},
               "overrideHoldMinutes": 60}),
        json!({"skillName": "West (b)", "callerId": "(213) 555-0100", "dncGroupId": 7001,
               "schedule": {"timeZone": "America/Los_Angeles",
                            "days": {"friday": {"start": "10:00", "end": "18:00"}},
                            "recipientTimeZones": ["America/Los_Angeles"]},
               "pacing": {"targetAbandonPct": 1, "minRatio": 1, "maxRatio": 2}}),
    ]
}

/// The `Idempotency-Key` every gateway example sends; the handler tests
/// replace it with a key of their own per request.
pub const IDEMPOTENCY_KEY: &str = "fuzz-key-0000";

/// The parts of an API Gateway event that come from the client (and the
/// request time), where most mutations of events land.
pub const CLIENT_PARTS: &[&str] = &[
    "rawPath",
    "rawQueryString",
    "queryStringParameters",
    "headers",
    "cookies",
    "pathParameters",
    "body",
    "isBase64Encoded",
    "requestContext.http.method",
    "requestContext.http.path",
    "requestContext.authorizer.jwt",
    "requestContext.timeEpoch",
];

/// The request id every gateway example carries; the handler tests give
/// each request one of its own, as API Gateway does.
pub const REQUEST_ID: &str = "fuzz-request";

/// An API Gateway HTTP API (payload 2.0) event, shaped as
/// `tests/src/lib.rs`'s `http_event` shapes them (IAM principal, request
/// time), with an `Idempotency-Key`.
pub fn gateway_event(
    method: &str,
    route: &str,
    path: &str,
    body: Option<&str>,
    time_ms: i64,
) -> Value {
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {route}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "api.example.com",
                    "idempotency-key": IDEMPOTENCY_KEY},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api123",
            "authorizer": {"iam": {
                "accessKey": "AKIA...", "accountId": "123456789012", "callerId": "AIDA...",
                "principalOrgId": null, "userArn": "arn:aws:iam::123456789012:user/ops-lead",
                "userId": "AIDA..."
            }},
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "fuzz"},
            "requestId": REQUEST_ID,
            "routeKey": format!("{method} {route}"),
            "stage": "$default",
            "time": "03/Mar/2026:15:00:00 +0000",
            "timeEpoch": time_ms
        },
        "isBase64Encoded": false
    });
    if route.contains("{skillId}") {
        let skill = path
            .trim_start_matches("/ui")
            .split('/')
            .nth(2)
            .unwrap_or_default();
        event["pathParameters"] = json!({"skillId": skill});
    }
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    event
}

/// An event of every operator route for campaign `skill` (and of the
/// schedule deployer's), at `time_ms`: through IAM and through the
/// dashboard's `/ui` (JWT), with a query string, CSV and base64 bodies.
pub fn gateway(skill: i64, time_ms: i64) -> Vec<Value> {
    let at = |method: &str, route: &str, body: Option<String>| {
        let path = route
            .replace("{skillId}", &skill.to_string())
            .replace("{uploadId}", "upload-0123456789abcdef");
        gateway_event(method, route, &path, body.as_deref(), time_ms)
    };
    let mut audit = at("GET", "/campaigns/{skillId}/audit", None);
    audit["rawQueryString"] = json!("from=2026-03-02T00:00:00Z&limit=5&kind=pacing.");
    audit["queryStringParameters"] =
        json!({"from": "2026-03-02T00:00:00Z", "limit": "5", "kind": "pacing."});
    let mut dry_run = at(
        "PUT",
        "/campaigns/{skillId}/pacing",
        Some(pacing()[0].to_string()),
    );
    dry_run["rawQueryString"] = json!("dryRun=true");
    let mut ui = at(
        "POST",
        "/ui/campaigns/{skillId}/resume",
        Some(r#"{"reason": "fuzz"}"#.into()),
    );
    ui["requestContext"]["authorizer"] =
        json!({"jwt": {"claims": {"email": "ops@example.com"}, "scopes": null}});
    let mut csv = at(
        "POST",
        "/campaigns/{skillId}/contacts",
        Some(CONTACTS_CSV.into()),
    );
    csv["headers"]["content-type"] = json!("text/csv; charset=utf-8");
    let mut binary = at("PUT", "/campaigns/{skillId}/config", None);
    binary["body"] = json!(base64(config()[1].to_string().as_bytes()));
    binary["isBase64Encoded"] = json!(true);
    vec![
        at("GET", "/campaigns", None),
        at("GET", "/campaigns/{skillId}/health", None),
        at("GET", "/campaigns/{skillId}/config", None),
        at(
            "PUT",
            "/campaigns/{skillId}/config",
            Some(config()[1].to_string()),
        ),
        at(
            "PUT",
            "/campaigns/{skillId}/config",
            Some(config()[0].to_string()),
        ),
        at(
            "POST",
            "/campaigns/{skillId}/pause",
            Some(r#"{"reason": "fuzz"}"#.into()),
        ),
        at(
            "POST",
            "/campaigns/{skillId}/failback",
            Some(r#"{"reason": "fuzz"}"#.into()),
        ),
        at(
            "PUT",
            "/campaigns/{skillId}/pacing",
            Some(pacing()[1].to_string()),
        ),
        dry_run,
        at(
            "PUT",
            "/campaigns/{skillId}/schedule",
            Some(schedule()[1].to_string()),
        ),
        at("POST", "/campaigns", Some(provisioning()[1].to_string())),
        at(
            "POST",
            "/campaigns/{skillId}/contacts",
            Some(contacts()[0].to_string()),
        ),
        at(
            "GET",
            "/campaigns/{skillId}/contacts/uploads/{uploadId}",
            None,
        ),
        audit,
        ui,
        csv,
        binary,
        at("GET", "/", None),
    ]
}

/// Every route's event for campaign `skill` at `time_ms` ([`gateway`]),
/// with the bodies the route takes (none for a CSV upload, whose fuzzing
/// is `fuzz_parsers.rs`'s).
pub fn gateway_routes(skill: i64, time_ms: i64) -> Vec<(Value, Vec<Value>)> {
    let reason = vec![json!({"reason": "fuzz"})];
    gateway(skill, time_ms)
        .into_iter()
        .map(|event| {
            let route = event["routeKey"].as_str().unwrap_or_default().to_owned();
            let csv = event["headers"]["content-type"]
                .as_str()
                .is_some_and(|t| t.starts_with("text/csv"));
            let bodies = match route.as_str() {
                _ if csv => Vec::new(),
                "PUT /campaigns/{skillId}/config" => config(),
                "PUT /campaigns/{skillId}/pacing" => pacing(),
                "POST /campaigns" => provisioning(),
                "POST /campaigns/{skillId}/contacts" => contacts(),
                "PUT /campaigns/{skillId}/schedule" => schedule(),
                r if r.starts_with("POST ") => reason.clone(),
                _ => Vec::new(),
            };
            (event, bodies)
        })
        .collect()
}
