//! How the CXone client behaves: where it goes, how long it waits, how it retries.

use std::time::Duration;

use rand::Rng;

use crate::config::Config;

/// Default per-attempt timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on an honoured `Retry-After`.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Page size used for `top` when paging (CXone's maximum).
pub const PAGE_SIZE: u32 = 100;
/// Relative jitter applied to backoff waits (plus or minus this fraction).
pub const BACKOFF_JITTER: f64 = 0.2;
/// Time that must remain before the deadline after a wait for a retry to be
/// worth starting.
pub const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(100);
/// Longest the client refreshes a token before it expires.
pub const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Settings of a [`CxoneClient`](super::CxoneClient).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSettings {
    /// The OpenID issuer, e.g. `https://cxone.niceincontact.com` (no trailing `/`).
    pub issuer: String,
    /// The API version path segment, e.g. `v30.0`.
    pub api_version: String,
    /// Timeout of one HTTP attempt (further bounded by the deadline). Default 10 s.
    pub request_timeout: Duration,
    /// Waits before each retry; its length is the number of retries. Default
    /// `[2 s, 6 s]` (docs/cxone-api.md, "Errors and retries"), each jittered by
    /// plus or minus [`BACKOFF_JITTER`].
    pub retry_backoff: Vec<Duration>,
    /// Longest `Retry-After` honoured; a longer one is waited for this long.
    pub max_retry_after: Duration,
}

impl ClientSettings {
    /// Settings for `issuer` and `api_version` with the default timeout and backoff.
    pub fn new(issuer: impl Into<String>, api_version: impl Into<String>) -> Self {
        let issuer: String = issuer.into();
        Self {
            issuer: issuer.trim().trim_end_matches('/').to_owned(),
            api_version: api_version.into().trim().trim_matches('/').to_owned(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry_backoff: vec![Duration::from_secs(2), Duration::from_secs(6)],
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
        }
    }

    /// Settings from the bundle's configuration (`CXONE_ISSUER`, `CXONE_API_VERSION`).
    pub fn from_config(config: &Config) -> Self {
        Self::new(
            config.cxone_issuer.clone(),
            config.cxone_api_version.clone(),
        )
    }

    /// The same settings with another per-attempt timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The same settings with other retry waits (their count is the number of retries).
    pub fn with_retry_backoff(mut self, backoff: Vec<Duration>) -> Self {
        self.retry_backoff = backoff;
        self
    }

    /// The same settings with another cap on `Retry-After`.
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// The wait before retry number `retry` (0-based) when CXone gave no
    /// `Retry-After`: the configured step, jittered by plus or minus
    /// [`BACKOFF_JITTER`]. `None` once the retries are used up.
    pub fn backoff(&self, retry: usize, rng: &mut impl Rng) -> Option<Duration> {
        let base = *self.retry_backoff.get(retry)?;
        let factor = rng.random_range((1.0 - BACKOFF_JITTER)..=(1.0 + BACKOFF_JITTER));
        Some(base.mul_f64(factor))
    }

    /// The wait when CXone sent `Retry-After: retry_after`: at least that long
    /// (capped at `max_retry_after`) plus up to 10 % (at most 250 ms) of jitter
    /// so that concurrent callers do not come back in step.
    pub fn retry_after_wait(&self, retry_after: Duration, rng: &mut impl Rng) -> Duration {
        let base = retry_after.min(self.max_retry_after);
        let spread = base.mul_f64(0.1).min(Duration::from_millis(250));
        let extra = if spread.is_zero() {
            Duration::ZERO
        } else {
            spread.mul_f64(rng.random_range(0.0..=1.0))
        };
        base + extra
    }
}

/// How long before `expires_in` runs out a token is refreshed: 10 % of its
/// lifetime, at most [`MAX_REFRESH_MARGIN`].
pub fn refresh_margin(lifetime: Duration) -> Duration {
    lifetime.mul_f64(0.1).min(MAX_REFRESH_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn defaults_follow_the_contract() {
        let s = ClientSettings::new("https://cxone.niceincontact.com/", "v30.0");
        assert_eq!(s.issuer, "https://cxone.niceincontact.com");
        assert_eq!(s.request_timeout, Duration::from_secs(10));
        assert_eq!(
            s.retry_backoff,
            vec![Duration::from_secs(2), Duration::from_secs(6)]
        );
    }

    #[test]
    fn backoff_stays_within_jitter_bounds() {
        let s = ClientSettings::new("http://x", "v30.0");
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let first = s.backoff(0, &mut rng).unwrap();
            assert!(
                first >= Duration::from_millis(1600) && first <= Duration::from_millis(2400),
                "{first:?}"
            );
            let second = s.backoff(1, &mut rng).unwrap();
            assert!(
                second >= Duration::from_millis(4800) && second <= Duration::from_millis(7200),
                "{second:?}"
            );
        }
        assert!(s.backoff(2, &mut rng).is_none());
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let s =
            ClientSettings::new("http://x", "v30.0").with_max_retry_after(Duration::from_secs(5));
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..200 {
            let w = s.retry_after_wait(Duration::from_secs(1), &mut rng);
            assert!(
                w >= Duration::from_secs(1) && w <= Duration::from_millis(1100),
                "{w:?}"
            );
            let capped = s.retry_after_wait(Duration::from_secs(600), &mut rng);
            assert!(
                capped >= Duration::from_secs(5) && capped <= Duration::from_millis(5250),
                "{capped:?}"
            );
        }
        assert_eq!(s.retry_after_wait(Duration::ZERO, &mut rng), Duration::ZERO);
    }

    #[test]
    fn refresh_margin_is_small_of_10_percent_and_5_minutes() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(20)),
            Duration::from_secs(2)
        );
    }
}
