//! AWS SDK configuration for the local stack.
//!
//! Locally, moto's server answers DynamoDB and Secrets Manager on one loopback
//! endpoint; credentials are dummies and the region is `us-east-1`.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};

/// Region used by the local stack.
pub const LOCAL_REGION: &str = "us-east-1";
/// Access key id and secret of the dummy credentials (moto accepts anything).
pub const LOCAL_CREDENTIAL: &str = "testing";

/// SDK configuration for a local endpoint (for example moto's server at
/// `http://127.0.0.1:PORT`): static dummy credentials, `us-east-1`, the given
/// endpoint for every service, standard retries and short timeouts. Nothing
/// is read from the environment or from `~/.aws`.
pub fn local_sdk_config(endpoint: &str) -> SdkConfig {
    let credentials = Credentials::new(
        LOCAL_CREDENTIAL,
        LOCAL_CREDENTIAL,
        Some(LOCAL_CREDENTIAL.to_owned()),
        None,
        "local-stack",
    );
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(LOCAL_REGION))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .endpoint_url(endpoint.trim_end_matches('/'))
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(15))
                .operation_timeout(Duration::from_secs(45))
                .build(),
        )
        .build()
}

/// SDK configuration from the standard environment and profile chain
/// (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...), exactly as
/// the functions load it in Lambda.
pub async fn from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// `AWS_ENDPOINT_URL` when set and not empty.
pub fn endpoint_from_env() -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A DynamoDB client for a configuration.
pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// A Secrets Manager client for a configuration.
pub fn secretsmanager(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}
