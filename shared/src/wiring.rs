//! Clients built once per cold start and shared by every invocation.

use std::sync::Arc;

use crate::config::{Config, ConfigError};
use crate::cxone::{ClientSettings, CxoneClient, CxoneError};
use crate::idempotency::IdempotencyStore;
use crate::secret::{SecretSource, SecretsManagerSource, DEFAULT_SECRET_TTL};
use crate::store::audit::AuditStore;
use crate::store::rate_budget::RateBudget;
use crate::store::state::StateStore;

/// The name of the shared CXone call budget in the state table.
pub const CXONE_BUDGET: &str = "cxone";

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The environment is incomplete.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The CXone client could not be built.
    #[error("CXone client: {0}")]
    Cxone(#[source] Box<CxoneError>),
}

/// Everything a function needs, built once per cold start.
#[derive(Clone)]
pub struct Deps {
    /// Settings from the environment.
    pub config: Config,
    /// DynamoDB client.
    pub dynamo: aws_sdk_dynamodb::Client,
    /// The bundle's secret, cached.
    pub secrets: Arc<dyn SecretSource>,
    /// The CXone client (token cached across warm invocations).
    pub cxone: Arc<CxoneClient>,
    /// The AWS SDK configuration the clients were built from.
    pub sdk: aws_config::SdkConfig,
}

impl Deps {
    /// Reads the environment and builds the AWS and CXone clients.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::build(config, &sdk)
    }

    /// Builds the clients from `config` and an AWS SDK configuration.
    pub fn build(config: Config, sdk: &aws_config::SdkConfig) -> Result<Self, StartupError> {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        let secrets: Arc<dyn SecretSource> = Arc::new(SecretsManagerSource::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            config.cxone_secret_id.clone(),
            DEFAULT_SECRET_TTL,
        ));
        let settings = ClientSettings::new(
            config.cxone_issuer.clone(),
            config.cxone_api_version.clone(),
        );
        let mut client = CxoneClient::new(settings, secrets.clone())
            .map_err(|e| StartupError::Cxone(Box::new(e)))?;
        if let Some(per_second) = config.cxone_calls_per_second {
            client = client.with_rate_budget(Arc::new(RateBudget::new(
                dynamo.clone(),
                config.state_table.clone(),
                CXONE_BUDGET,
                per_second,
            )));
        }
        let cxone = Arc::new(client);
        Ok(Self {
            config,
            dynamo,
            secrets,
            cxone,
            sdk: sdk.clone(),
        })
    }

    /// The state store.
    pub fn state(&self) -> StateStore {
        StateStore::new(self.dynamo.clone(), self.config.state_table.clone())
    }

    /// The audit store.
    pub fn audit(&self) -> AuditStore {
        AuditStore::new(self.dynamo.clone(), self.config.audit_table.clone())
    }

    /// The function's task queue (`TASK_QUEUE_URL`), when it fans out.
    #[cfg(feature = "fanout")]
    pub fn task_queue(&self) -> Option<crate::fanout::queue::TaskQueue> {
        let url = self.config.task_queue_url.as_ref()?;
        Some(crate::fanout::queue::TaskQueue::new(
            aws_sdk_sqs::Client::new(&self.sdk),
            url.clone(),
        ))
    }

    /// The idempotency store.
    pub fn idempotency(&self) -> IdempotencyStore {
        IdempotencyStore::new(self.dynamo.clone(), self.config.idempotency_table.clone())
    }
}
