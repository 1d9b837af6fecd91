//! The bundle's secret: CXone credentials and webhook signing secrets.
//!
//! Stored as JSON in Secrets Manager (docs/architecture.md, "Environment and
//! secret"), cached with a TTL across warm invocations, and re-read on demand
//! when CXone rejects the credentials (rotation). Secret values never appear
//! in `Debug` output or logs: they are [`SecretString`]s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
pub use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use thiserror::Error;
use tokio::sync::Mutex;

/// How long a read secret is trusted before it is read again.
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(300);

/// The secret's JSON, parsed.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleSecret {
    /// CXone access key id (the password grant's `username`).
    pub access_key_id: String,
    /// CXone access key secret (the password grant's `password`).
    pub access_key_secret: SecretString,
    /// OAuth client id (HTTP Basic user on the token endpoint).
    pub client_id: String,
    /// OAuth client secret (HTTP Basic password on the token endpoint).
    pub client_secret: SecretString,
    /// Tenant id; when absent it is read from the `id_token`.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// API host override; when set, `cxone-configuration` discovery is skipped.
    #[serde(default)]
    pub api_endpoint: Option<String>,
    /// HMAC secrets for `X-Signature` on webhooks (several during rotation).
    #[serde(default)]
    pub webhook_secrets: Vec<SecretString>,
}

impl std::fmt::Debug for BundleSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleSecret")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[redacted]")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("tenant_id", &self.tenant_id)
            .field("api_endpoint", &self.api_endpoint)
            .field(
                "webhook_secrets",
                &format!("[{} redacted]", self.webhook_secrets.len()),
            )
            .finish()
    }
}

impl BundleSecret {
    /// Parses the secret's JSON; the error never quotes the input.
    pub fn from_json(text: &str) -> Result<Self, SecretError> {
        serde_json::from_str(text).map_err(|e| SecretError::Malformed {
            // serde's message names fields and positions, never values we could leak
            // beyond the offending token; keep only the category and position.
            reason: format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ),
        })
    }
}

/// Why the secret could not be had.
#[derive(Debug, Error)]
pub enum SecretError {
    /// Secrets Manager could not be reached or refused the read.
    #[error("could not read secret {secret_id}: {source}")]
    Unavailable {
        /// The secret's name or ARN.
        secret_id: String,
        /// The SDK's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The secret has no string value.
    #[error("secret {0} has no SecretString")]
    Empty(String),
    /// The secret's JSON does not have the expected shape.
    #[error("secret JSON is malformed: {reason}")]
    Malformed {
        /// Which part is wrong (never the value).
        reason: String,
    },
}

/// Where the client gets its credentials.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The current secret, from the cache while it is fresh.
    async fn current(&self) -> Result<Arc<BundleSecret>, SecretError>;
    /// Reads the secret again, bypassing the cache (CXone rejected the credentials).
    async fn refresh(&self) -> Result<Arc<BundleSecret>, SecretError>;
}

/// A fixed secret, for tests and tools.
#[derive(Clone, Debug)]
pub struct StaticSecret(pub Arc<BundleSecret>);

#[async_trait]
impl SecretSource for StaticSecret {
    async fn current(&self) -> Result<Arc<BundleSecret>, SecretError> {
        Ok(self.0.clone())
    }
    async fn refresh(&self) -> Result<Arc<BundleSecret>, SecretError> {
        Ok(self.0.clone())
    }
}

/// The secret from AWS Secrets Manager, cached for a TTL.
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
    cached: Mutex<Option<(Instant, Arc<BundleSecret>)>>,
}

impl SecretsManagerSource {
    /// A source reading `secret_id` with `client`, trusting a read for `ttl`.
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            ttl,
            cached: Mutex::new(None),
        }
    }

    async fn read(&self) -> Result<Arc<BundleSecret>, SecretError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| SecretError::Unavailable {
                secret_id: self.secret_id.clone(),
                source: aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                    .to_string()
                    .into(),
            })?;
        let text = out
            .secret_string()
            .ok_or_else(|| SecretError::Empty(self.secret_id.clone()))?;
        Ok(Arc::new(BundleSecret::from_json(text)?))
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn current(&self) -> Result<Arc<BundleSecret>, SecretError> {
        let mut cached = self.cached.lock().await;
        if let Some((read_at, secret)) = cached.as_ref() {
            if read_at.elapsed() < self.ttl {
                return Ok(secret.clone());
            }
        }
        let secret = self.read().await?;
        *cached = Some((Instant::now(), secret.clone()));
        Ok(secret)
    }

    async fn refresh(&self) -> Result<Arc<BundleSecret>, SecretError> {
        let mut cached = self.cached.lock().await;
        let secret = self.read().await?;
        *cached = Some((Instant::now(), secret.clone()));
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"accessKeyId":"AK","accessKeySecret":"s3cr3t-ak","clientId":"cid",
        "clientSecret":"s3cr3t-client","webhookSecrets":["whsec-1"]}"#;

    #[test]
    fn parses_and_redacts() {
        let s = BundleSecret::from_json(JSON).unwrap();
        assert_eq!(s.access_key_id, "AK");
        assert_eq!(s.webhook_secrets[0].expose_secret(), "whsec-1");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        assert!(!dbg.contains("whsec-1"), "{dbg}");
    }

    #[test]
    fn malformed_error_does_not_quote_values() {
        let err =
            BundleSecret::from_json(r#"{"accessKeyId":"AK","accessKeySecret":42}"#).unwrap_err();
        assert!(!err.to_string().contains("AK"), "{err}");
        let err = BundleSecret::from_json(r#"{"accessKeyId":"AK","bogus":"leak-me"}"#).unwrap_err();
        assert!(!err.to_string().contains("leak-me"), "{err}");
    }
}
