//! The Lambda events the demo sends: campaign-api's HTTP API request for a
//! config, and the EventBridge schedules of the tuner and the checker.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// `PUT /campaigns/{skillId}/config` with `body`, as API Gateway (HTTP
/// API, IAM-signed by a demo operator) hands it to campaign-api at `time`.
pub fn config_event(skill_id: i64, body: &Value, time: DateTime<Utc>) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "PUT /campaigns/{skillId}/config",
        "rawPath": format!("/campaigns/{skill_id}/config"),
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "pathParameters": {"skillId": skill_id.to_string()},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "local",
            "authorizer": {"iam": {"accessKey": "AKIALOCAL", "accountId": "123456789012", "callerId": "AIDALOCAL",
                "userArn": "arn:aws:iam::123456789012:user/demo-operator", "userId": "AIDALOCAL"}},
            "http": {"method": "PUT", "path": format!("/campaigns/{skill_id}/config"), "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1", "userAgent": "demo"},
            "requestId": format!("demo-config-{skill_id}"),
            "routeKey": "PUT /campaigns/{skillId}/config",
            "stage": "$default",
            "time": time.to_rfc3339(),
            "timeEpoch": time.timestamp_millis()
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    })
}

/// The capacity tuner's every-5-minutes schedule firing at `time`.
pub fn tick_event(time: DateTime<Utc>) -> Value {
    scheduled_event(
        time,
        &format!("demo-tick-{}", time.timestamp()),
        "capacity-tuner-every-5-min",
    )
}

/// The failover checker's every-minute schedule firing at `time`.
pub fn check_event(time: DateTime<Utc>) -> Value {
    scheduled_event(
        time,
        &format!("demo-check-{}", time.timestamp()),
        "failover-checker-every-minute",
    )
}

/// An EventBridge `Scheduled Event` of `rule` at `time`.
fn scheduled_event(time: DateTime<Utc>, id: &str, rule: &str) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{rule}")],
        "detail": {}
    })
}
