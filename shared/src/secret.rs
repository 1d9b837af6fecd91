//! The bundle's secrets: the CXone credentials ([`BundleSecret`], read by
//! every function that calls CXone) and the webhook signing secrets
//! ([`WebhookSecrets`], a secret of their own that only webhook-ingest reads).
//!
//! Both are JSON in Secrets Manager (docs/architecture.md, "Environment and
//! secret"), cached with a TTL across warm invocations, and re-read on demand
//! (CXone rejects the credentials, or no webhook signature matches: a
//! rotation). Fields a rotation tool adds are ignored. Secret values never
//! appear in `Debug` output or logs: they are [`SecretString`]s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
pub use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use thiserror::Error;
use tokio::sync::Mutex;

/// How long a read secret is trusted before it is read again.
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(300);

/// The CXone secret's JSON, parsed. Unknown fields (a rotation tool's
/// bookkeeping, or a `webhookSecrets` left from before the webhook secret
/// had a secret of its own) are ignored.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
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
            .finish()
    }
}

/// A secret's JSON that [`SecretsManagerSource`] can parse.
pub trait ParseSecret: Sized + Send + Sync + 'static {
    /// Parses (and checks) the secret's JSON; the error never quotes the input.
    fn parse_secret(text: &str) -> Result<Self, SecretError>;
}

/// serde's error without any of the input: only the category and position.
fn malformed(e: &serde_json::Error) -> SecretError {
    SecretError::Malformed {
        reason: format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ),
    }
}

impl BundleSecret {
    /// Parses the secret's JSON; the error never quotes the input.
    pub fn from_json(text: &str) -> Result<Self, SecretError> {
        serde_json::from_str(text).map_err(|e| malformed(&e))
    }
}

impl ParseSecret for BundleSecret {
    fn parse_secret(text: &str) -> Result<Self, SecretError> {
        Self::from_json(text)
    }
}

/// Least length, in bytes, of a webhook signing secret (HMAC-SHA256 keys
/// shorter than the hash add nothing but guessability).
pub const MIN_WEBHOOK_SECRET_BYTES: usize = 32;

/// The webhook signing secret's JSON: `{"webhookSecrets": ["...", ...]}`,
/// one or more HMAC keys for `X-Signature` (several during a rotation), each
/// at least [`MIN_WEBHOOK_SECRET_BYTES`] bytes. A secret of its own, that
/// only webhook-ingest may read. Unknown fields are ignored.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecrets {
    /// HMAC secrets for `X-Signature` on webhooks (several during rotation).
    pub webhook_secrets: Vec<SecretString>,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field(
                "webhook_secrets",
                &format!("[{} redacted]", self.webhook_secrets.len()),
            )
            .finish()
    }
}

impl WebhookSecrets {
    /// Parses and checks the secret's JSON: at least one secret, none
    /// empty or shorter than [`MIN_WEBHOOK_SECRET_BYTES`]. Errors name the
    /// position and length, never a value.
    pub fn from_json(text: &str) -> Result<Self, SecretError> {
        let parsed: Self = serde_json::from_str(text).map_err(|e| malformed(&e))?;
        parsed.check()?;
        Ok(parsed)
    }

    /// The checks of [`from_json`](Self::from_json) on secrets built otherwise.
    pub fn check(&self) -> Result<(), SecretError> {
        if self.webhook_secrets.is_empty() {
            return Err(SecretError::Malformed {
                reason: "webhookSecrets is empty: at least one signing secret is required".into(),
            });
        }
        for (i, secret) in self.webhook_secrets.iter().enumerate() {
            let len = secret.expose_secret().len();
            if len < MIN_WEBHOOK_SECRET_BYTES {
                return Err(SecretError::Malformed {
                    reason: format!(
                        "webhookSecrets[{i}] is {len} bytes long; at least \
                         {MIN_WEBHOOK_SECRET_BYTES} are required"
                    ),
                });
            }
        }
        Ok(())
    }
}

impl ParseSecret for WebhookSecrets {
    fn parse_secret(text: &str) -> Result<Self, SecretError> {
        Self::from_json(text)
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

/// Where a function gets a secret: the CXone credentials ([`BundleSecret`],
/// the default) or the webhook signing secrets ([`WebhookSecrets`]).
#[async_trait]
pub trait SecretSource<T: Send + Sync + 'static = BundleSecret>: Send + Sync {
    /// The current secret, from the cache while it is fresh.
    async fn current(&self) -> Result<Arc<T>, SecretError>;
    /// Reads the secret again, bypassing the cache (CXone rejected the
    /// credentials, or no webhook signature matched).
    async fn refresh(&self) -> Result<Arc<T>, SecretError>;
}

/// A fixed secret, for tests and tools.
#[derive(Clone, Debug)]
pub struct StaticSecret<T = BundleSecret>(pub Arc<T>);

#[async_trait]
impl<T: Send + Sync + 'static> SecretSource<T> for StaticSecret<T> {
    async fn current(&self) -> Result<Arc<T>, SecretError> {
        Ok(self.0.clone())
    }
    async fn refresh(&self) -> Result<Arc<T>, SecretError> {
        Ok(self.0.clone())
    }
}

/// A secret from AWS Secrets Manager, parsed as `T`, cached for a TTL.
pub struct SecretsManagerSource<T = BundleSecret> {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
    cached: Mutex<Option<(Instant, Arc<T>)>>,
}

impl SecretsManagerSource<BundleSecret> {
    /// The CXone secret `secret_id`, read with `client`, trusted for `ttl`.
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        Self::of(client, secret_id, ttl)
    }
}

impl SecretsManagerSource<WebhookSecrets> {
    /// The webhook signing secret `secret_id`, read with `client`, trusted for `ttl`.
    pub fn webhook(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        Self::of(client, secret_id, ttl)
    }
}

impl<T: ParseSecret> SecretsManagerSource<T> {
    /// A source reading `secret_id` with `client` as a `T`, trusting a read for `ttl`.
    pub fn of(
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

    async fn read(&self) -> Result<Arc<T>, SecretError> {
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
        Ok(Arc::new(T::parse_secret(text)?))
    }
}

#[async_trait]
impl<T: ParseSecret> SecretSource<T> for SecretsManagerSource<T> {
    async fn current(&self) -> Result<Arc<T>, SecretError> {
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

    async fn refresh(&self) -> Result<Arc<T>, SecretError> {
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
        "clientSecret":"s3cr3t-client"}"#;
    const WHSEC: &str = "whsec-1-0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_and_redacts() {
        let s = BundleSecret::from_json(JSON).unwrap();
        assert_eq!(s.access_key_id, "AK");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        let w = WebhookSecrets::from_json(&format!(r#"{{"webhookSecrets":["{WHSEC}"]}}"#)).unwrap();
        assert_eq!(w.webhook_secrets[0].expose_secret(), WHSEC);
        let dbg = format!("{w:?}");
        assert!(!dbg.contains(WHSEC), "{dbg}");
    }

    #[test]
    fn extra_fields_are_ignored() {
        // A rotation tool's bookkeeping, and a webhookSecrets left in the CXone secret.
        let s = BundleSecret::from_json(
            r#"{"accessKeyId":"AK","accessKeySecret":"x","clientId":"c","clientSecret":"y",
                "rotatedAt":"2026-01-01","webhookSecrets":["old"]}"#,
        )
        .unwrap();
        assert_eq!(s.client_id, "c");
        let w = WebhookSecrets::from_json(&format!(
            r#"{{"webhookSecrets":["{WHSEC}"],"rotation":{{"step":"setSecret"}}}}"#
        ))
        .unwrap();
        assert_eq!(w.webhook_secrets.len(), 1);
    }

    #[test]
    fn empty_or_short_webhook_secrets_are_refused_without_quoting_them() {
        for json in [
            r#"{"webhookSecrets":[]}"#.to_owned(),
            r#"{}"#.to_owned(),
            r#"{"webhookSecrets":[""]}"#.to_owned(),
            r#"{"webhookSecrets":["short-secret-leak-me"]}"#.to_owned(),
            format!(r#"{{"webhookSecrets":["{WHSEC}","short-secret-leak-me"]}}"#),
            // 31 bytes: one short of the minimum.
            format!(r#"{{"webhookSecrets":["{}"]}}"#, "x".repeat(31)),
        ] {
            let err = WebhookSecrets::from_json(&json).unwrap_err();
            let text = err.to_string();
            assert!(!text.contains("leak-me"), "{text}");
            assert!(!text.contains(WHSEC), "{text}");
        }
        let err = WebhookSecrets::from_json(r#"{"webhookSecrets":["short-secret-leak-me"]}"#)
            .unwrap_err();
        assert!(err.to_string().contains("at least 32"), "{err}");
        let exact = format!(r#"{{"webhookSecrets":["{}"]}}"#, "x".repeat(32));
        assert!(WebhookSecrets::from_json(&exact).is_ok());
    }

    #[test]
    fn malformed_error_does_not_quote_values() {
        let err =
            BundleSecret::from_json(r#"{"accessKeyId":"AK","accessKeySecret":42}"#).unwrap_err();
        assert!(!err.to_string().contains("AK"), "{err}");
        let err = BundleSecret::from_json(r#"{"accessKeyId":"AK","bogus":"leak-me"}"#).unwrap_err();
        assert!(!err.to_string().contains("leak-me"), "{err}");
        let err = BundleSecret::from_json(r#"{"accessKeyId":"AK","clientSecret":["leak-me"]}"#)
            .unwrap_err();
        assert!(!err.to_string().contains("leak-me"), "{err}");
    }
}
