//! The `webhook-ingest` Lambda binary: clients built once per cold start, the
//! handler is [`webhook_ingest::handler`].

use std::sync::Arc;

use aws_config::BehaviorVersion;
use lambda_http::{run, service_fn, Error, Request};
use shared::config::Config;
use shared::observability::init_logging;
use shared::secret::{SecretsManagerSource, DEFAULT_SECRET_TTL};
use shared::store::events::EventStore;
use webhook_ingest::{handler, WebhookIngest};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = Config::from_env()?;
    let aws = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let secrets = SecretsManagerSource::new(
        aws_sdk_secretsmanager::Client::new(&aws),
        config.cxone_secret_id.clone(),
        DEFAULT_SECRET_TTL,
    );
    let events = EventStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.state_table.clone(),
    );
    let app = Arc::new(WebhookIngest::new(Arc::new(secrets), events));
    run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { handler(&app, request).await }
    }))
    .await
}
