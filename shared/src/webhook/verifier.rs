//! Checks a webhook request's signature against the webhook signing secret
//! ([`WebhookSecrets`], a secret of its own).
//!
//! Order: header present and well-formed, `t` within [`TOLERANCE_SECS`] of
//! the request time, then the HMACs against the cached secret's
//! `webhookSecrets`. When nothing matches, the secret may have been rotated
//! since it was cached, so it is re-read once ([`SecretSource::refresh`]) and
//! the HMACs tried again. That re-read is rate-limited (at most one per
//! `min_refresh_interval`, default 60 s, per warm instance) so that a forger
//! cannot turn every forged request into a Secrets Manager call; a genuine
//! sender caught inside that interval gets a 401, retries, and passes once the
//! interval is over (or once the cache's own TTL expires).
//!
//! [`TOLERANCE_SECS`]: super::signature::TOLERANCE_SECS

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::secret::{SecretError, SecretSource, WebhookSecrets};

use super::signature::{SignatureError, SignatureHeader};

/// Least time between two forced re-reads of the secret.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Why a request was not verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The signature is missing, malformed, stale or wrong: answer 401.
    #[error("signature rejected: {0}")]
    Rejected(#[from] SignatureError),
    /// The secret could not be read at all: answer 503 (the sender retries).
    #[error("webhook secret unavailable: {0}")]
    SecretUnavailable(#[source] SecretError),
}

/// How a request passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Whether the secret had to be re-read first (a rotation was picked up).
    pub after_refresh: bool,
}

/// The signature check with the secret source and the re-read rate limit.
pub struct WebhookVerifier {
    source: Arc<dyn SecretSource<WebhookSecrets>>,
    min_refresh_interval: Duration,
    last_refresh: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("min_refresh_interval", &self.min_refresh_interval)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    /// A verifier reading secrets from `source`, re-reading at most once per
    /// `min_refresh_interval` when nothing matches.
    pub fn new(
        source: Arc<dyn SecretSource<WebhookSecrets>>,
        min_refresh_interval: Duration,
    ) -> Self {
        Self {
            source,
            min_refresh_interval,
            last_refresh: Mutex::new(None),
        }
    }

    /// Claims the right to re-read the secret now, if the last re-read is old enough.
    fn claim_refresh(&self) -> bool {
        let Ok(mut last) = self.last_refresh.lock() else {
            return false;
        };
        let now = Instant::now();
        match *last {
            Some(at) if now.saturating_duration_since(at) < self.min_refresh_interval => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    /// Verifies `header` (the `X-Signature` value, if any) over `body` at
    /// `request_time_ms` (API Gateway's `requestContext.timeEpoch`).
    pub async fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        request_time_ms: i64,
    ) -> Result<Verified, VerifyError> {
        let header = SignatureHeader::parse(header.ok_or(SignatureError::Missing)?)?;
        header.check_time(request_time_ms)?;
        let secret = self
            .source
            .current()
            .await
            .map_err(VerifyError::SecretUnavailable)?;
        let first = match header.matches(body, &secret.webhook_secrets) {
            Ok(()) => {
                return Ok(Verified {
                    after_refresh: false,
                })
            }
            Err(e) => e,
        };
        if !self.claim_refresh() {
            return Err(first.into());
        }
        let secret = match self.source.refresh().await {
            Ok(secret) => secret,
            Err(e) => {
                tracing::warn!(error = %e, "re-reading the webhook secret failed");
                return Err(first.into());
            }
        };
        tracing::info!("webhook secret re-read after no signature matched");
        header.matches(body, &secret.webhook_secrets)?;
        Ok(Verified {
            after_refresh: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use secrecy::SecretString;

    use super::*;
    use crate::webhook::signature::signature_header;

    const T: i64 = 1_700_000_000;
    const BODY: &[u8] = b"{}";

    fn bundle(secrets: &[&str]) -> Arc<WebhookSecrets> {
        Arc::new(WebhookSecrets {
            webhook_secrets: secrets
                .iter()
                .map(|s| SecretString::from(s.to_string()))
                .collect(),
        })
    }

    /// `current()` serves the cached secret; `refresh()` reads the "stored" one.
    struct Rotating {
        cached: Mutex<Arc<WebhookSecrets>>,
        stored: Arc<WebhookSecrets>,
        refreshes: AtomicUsize,
        fail: bool,
    }

    #[async_trait]
    impl SecretSource<WebhookSecrets> for Rotating {
        async fn current(&self) -> Result<Arc<WebhookSecrets>, SecretError> {
            if self.fail {
                return Err(SecretError::Empty("test".into()));
            }
            Ok(self.cached.lock().unwrap().clone())
        }
        async fn refresh(&self) -> Result<Arc<WebhookSecrets>, SecretError> {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            *self.cached.lock().unwrap() = self.stored.clone();
            Ok(self.stored.clone())
        }
    }

    fn rotating(cached: &[&str], stored: &[&str]) -> Arc<Rotating> {
        Arc::new(Rotating {
            cached: Mutex::new(bundle(cached)),
            stored: bundle(stored),
            refreshes: AtomicUsize::new(0),
            fail: false,
        })
    }

    #[tokio::test]
    async fn passes_without_refresh() {
        let src = rotating(&["s1"], &["s1"]);
        let v = WebhookVerifier::new(src.clone(), DEFAULT_MIN_REFRESH_INTERVAL);
        let h = signature_header(&["s1"], T, BODY);
        let ok = v.verify(Some(&h), BODY, T * 1000).await.unwrap();
        assert!(!ok.after_refresh);
        assert_eq!(src.refreshes.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn rotation_is_picked_up_by_one_refresh() {
        let src = rotating(&["old"], &["new"]);
        let v = WebhookVerifier::new(src.clone(), DEFAULT_MIN_REFRESH_INTERVAL);
        let h = signature_header(&["new"], T, BODY);
        let ok = v.verify(Some(&h), BODY, T * 1000).await.unwrap();
        assert!(ok.after_refresh);
        // The cache now holds the new secret: no further refresh needed.
        let ok = v.verify(Some(&h), BODY, T * 1000).await.unwrap();
        assert!(!ok.after_refresh);
        assert_eq!(src.refreshes.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn forgeries_cannot_force_a_refresh_per_request() {
        let src = rotating(&["s1"], &["s1"]);
        let v = WebhookVerifier::new(src.clone(), DEFAULT_MIN_REFRESH_INTERVAL);
        let forged = signature_header(&["guess"], T, BODY);
        for _ in 0..50 {
            let err = v.verify(Some(&forged), BODY, T * 1000).await.unwrap_err();
            assert!(matches!(
                err,
                VerifyError::Rejected(SignatureError::NoMatch { .. })
            ));
        }
        assert_eq!(src.refreshes.load(Ordering::SeqCst), 1);
        // With no interval, each no-match may re-read.
        let v = WebhookVerifier::new(src.clone(), Duration::ZERO);
        for _ in 0..3 {
            assert!(v.verify(Some(&forged), BODY, T * 1000).await.is_err());
        }
        assert_eq!(src.refreshes.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn stale_missing_and_malformed_never_read_the_secret_again() {
        let src = rotating(&["s1"], &["s1"]);
        let v = WebhookVerifier::new(src.clone(), Duration::ZERO);
        let stale = signature_header(&["s1"], T - 301, BODY);
        assert!(matches!(
            v.verify(Some(&stale), BODY, T * 1000).await,
            Err(VerifyError::Rejected(SignatureError::Stale {
                skew_secs: -301
            }))
        ));
        assert!(matches!(
            v.verify(None, BODY, T * 1000).await,
            Err(VerifyError::Rejected(SignatureError::Missing))
        ));
        assert!(matches!(
            v.verify(Some("t=1"), BODY, T * 1000).await,
            Err(VerifyError::Rejected(SignatureError::Malformed(_)))
        ));
        assert_eq!(src.refreshes.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn unreadable_secret_is_unavailable_not_rejected() {
        let src = Arc::new(Rotating {
            cached: Mutex::new(bundle(&["s1"])),
            stored: bundle(&["s1"]),
            refreshes: AtomicUsize::new(0),
            fail: true,
        });
        let v = WebhookVerifier::new(src, DEFAULT_MIN_REFRESH_INTERVAL);
        let h = signature_header(&["s1"], T, BODY);
        assert!(matches!(
            v.verify(Some(&h), BODY, T * 1000).await,
            Err(VerifyError::SecretUnavailable(_))
        ));
    }
}
