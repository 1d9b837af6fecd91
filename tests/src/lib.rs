//! Test support shared by the end-to-end tests: a fresh, isolated stack per test.
//!
//! Every test gets its own CXone simulator (in-process, on a free loopback
//! port) and its own tables and secret in the shared moto server (unique
//! names), so tests run in parallel without seeing each other. Moto is
//! started by `make test` (`infra/with-stack.sh`); without it these helpers
//! fail with a message saying so, rather than letting a test pass vacuously.

pub mod queue;

use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::SdkConfig;
use cxone_sim::{Scenario, SimHandle};
use local_stack::TableNames;
use serde_json::{json, Value};
use shared::campaign_config::CampaignConfig;
use shared::config::Config;
use shared::wiring::Deps;

/// The repository's `template.yaml`.
pub const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");

/// The moto endpoint; panics with instructions when the stack is not up.
pub fn endpoint() -> String {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "AWS_ENDPOINT_URL is not set: these tests need the local stack. Run `make test` \
             (or `bash infra/stack.sh up && source infra/.stack/env` first)."
        ),
    }
}

/// Sends the code's log lines (`info` and above, or `RUST_LOG`) to the test
/// harness, which shows them with a failing test's output. Once per process;
/// a later call does nothing.
pub fn show_logs_on_failure() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A name unique to this process and call, for tables and secrets.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// The tests' webhook signing secret (at least 32 bytes, as webhook-ingest requires).
pub const WEBHOOK_SECRET: &str = "whsec-test-1-0123456789abcdef0123456789";

/// The webhook signing secret's JSON ([`WEBHOOK_SECRET`]).
pub fn webhook_secret_json() -> Value {
    json!({ "webhookSecrets": [WEBHOOK_SECRET] })
}

/// The CXone secret's JSON for a scenario's credentials (the webhook signing
/// secret is a secret of its own: [`webhook_secret_json`]).
pub fn secret_json(scenario: &Scenario, api_endpoint: Option<&str>) -> Value {
    let c = &scenario.credentials;
    let mut secret = json!({
        "accessKeyId": c.access_key_id,
        "accessKeySecret": c.access_key_secret,
        "clientId": c.client_id,
        "clientSecret": c.client_secret,
    });
    if let Some(endpoint) = api_endpoint {
        secret["apiEndpoint"] = json!(endpoint);
    }
    secret
}

/// One test's private stack.
pub struct TestStack {
    /// The CXone simulator.
    pub sim: SimHandle,
    /// AWS SDK configuration pointing at moto.
    pub sdk: SdkConfig,
    /// DynamoDB client.
    pub dynamo: aws_sdk_dynamodb::Client,
    /// This test's tables.
    pub tables: TableNames,
    /// This test's CXone secret name.
    pub secret_id: String,
    /// This test's webhook signing secret name (only webhook-ingest reads it).
    pub webhook_secret_id: String,
    /// The bundle configuration a function would read from its environment.
    pub config: Config,
}

impl TestStack {
    /// Starts a simulator for `scenario` and creates tables and the secret.
    pub async fn start(scenario: Scenario) -> TestStack {
        let sdk = local_stack::aws::local_sdk_config(&endpoint());
        let dynamo = local_stack::aws::dynamodb(&sdk);
        let prefix = unique("t");
        let tables = TableNames::with_prefix(&prefix);
        local_stack::create_tables(&dynamo, TEMPLATE, &tables)
            .await
            .expect("create tables in moto");
        let secret_id = format!("{prefix}/cxone");
        let secret = secret_json(&scenario, None);
        local_stack::put_secret(
            &local_stack::aws::secretsmanager(&sdk),
            &secret_id,
            &secret.to_string(),
        )
        .await
        .expect("create secret in moto");
        let webhook_secret_id = format!("{prefix}/webhook");
        local_stack::put_secret(
            &local_stack::aws::secretsmanager(&sdk),
            &webhook_secret_id,
            &webhook_secret_json().to_string(),
        )
        .await
        .expect("create webhook secret in moto");
        let sim = cxone_sim::spawn(scenario)
            .await
            .expect("start CXone simulator");
        let config = Config {
            cxone_secret_id: secret_id.clone(),
            audit_table: tables.audit.clone(),
            state_table: tables.state.clone(),
            idempotency_table: tables.idempotency.clone(),
            cxone_api_version: shared::config::DEFAULT_API_VERSION.into(),
            cxone_issuer: sim.base_url(),
            cxone_calls_per_second: None,
            task_queue_url: None,
        };
        TestStack {
            sim,
            sdk,
            dynamo,
            tables,
            secret_id,
            webhook_secret_id,
            config,
        }
    }

    /// The webhook signing secret as webhook-ingest reads it (from moto).
    pub fn webhook_secrets(
        &self,
    ) -> std::sync::Arc<dyn shared::secret::SecretSource<shared::secret::WebhookSecrets>> {
        std::sync::Arc::new(shared::secret::SecretsManagerSource::webhook(
            local_stack::aws::secretsmanager(&self.sdk),
            self.webhook_secret_id.clone(),
            shared::secret::DEFAULT_SECRET_TTL,
        ))
    }

    /// The clients a function builds at cold start, for this stack.
    pub fn deps(&self) -> Deps {
        Deps::build(self.config.clone(), &self.sdk).expect("build deps")
    }

    /// Stores `body` (a campaign config as the API takes it) for `skill_id`,
    /// as the operator `test` would have on 2026-03-01; panics when the body
    /// is not a valid config or the config cannot be stored.
    pub async fn put_config(&self, skill_id: i64, body: &str) {
        let config = CampaignConfig::parse(body.as_bytes(), skill_id).expect("a valid config");
        let at = "2026-03-01T00:00:00Z".parse().expect("a time");
        self.deps()
            .state()
            .put_config(skill_id, &config, None, "test", at)
            .await
            .expect("the config stored")
            .expect("no config stored before");
    }

    /// Environment variables for running a function binary against this stack.
    pub fn function_env(&self) -> Vec<(String, String)> {
        let endpoint = endpoint();
        vec![
            ("CXONE_SECRET_ID".into(), self.secret_id.clone()),
            ("WEBHOOK_SECRET_ID".into(), self.webhook_secret_id.clone()),
            ("AUDIT_TABLE".into(), self.tables.audit.clone()),
            ("STATE_TABLE".into(), self.tables.state.clone()),
            ("IDEMPOTENCY_TABLE".into(), self.tables.idempotency.clone()),
            ("CXONE_ISSUER".into(), self.config.cxone_issuer.clone()),
            ("AWS_ENDPOINT_URL".into(), endpoint),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("RUST_LOG".into(), "warn".into()),
        ]
    }
}

/// An EventBridge scheduled event at `time` with id `id`.
pub fn scheduled_event(id: &str, time: chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/capacity-tuner"],
        "detail": {}
    })
}

/// An API Gateway HTTP API (payload 2.0) event.
pub fn http_event(
    method: &str,
    route: &str,
    path: &str,
    skill_id: Option<&str>,
    body: Option<&str>,
    time_ms: i64,
) -> Value {
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {route}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "api.example.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api123",
            "authorizer": {"iam": {
                "accessKey": "AKIA...", "accountId": "123456789012", "callerId": "AIDA...",
                "principalOrgId": null, "userArn": "arn:aws:iam::123456789012:user/ops-lead", "userId": "AIDA..."
            }},
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"},
            "requestId": unique("req"),
            "routeKey": format!("{method} {route}"),
            "stage": "$default",
            "time": "22/Nov/2026:10:00:00 +0000",
            "timeEpoch": time_ms
        },
        "isBase64Encoded": false
    });
    if let Some(id) = skill_id {
        event["pathParameters"] = json!({"skillId": id});
    }
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    event
}

/// Path of a workspace binary (built by `cargo build --workspace`).
pub fn binary(name: &str) -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (`make test` does)",
        path.display()
    );
    path
}

/// A valid campaign config body.
pub fn config_body(backup: Option<i64>) -> String {
    let mut config = json!({
        "enabled": true,
        "timeZone": "America/New_York",
        "recipientTimeZones": ["America/New_York", "America/Chicago"],
        "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}
    });
    if let Some(backup) = backup {
        config["failover"] = json!({"backupSkillId": backup, "threshold": 0.15,
            "windowMinutes": 30, "minSamples": 50, "autoFailback": false});
    }
    config.to_string()
}
