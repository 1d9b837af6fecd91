//! Typed configuration, read once per cold start from the environment.

use thiserror::Error;

/// Default CXone API version (live-tested).
pub const DEFAULT_API_VERSION: &str = "v30.0";
/// Default CXone issuer (commercial tenants; government tenants use `cxone-gov`).
pub const DEFAULT_ISSUER: &str = "https://cxone.niceincontact.com";

/// A configuration problem found at start-up.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is not set or empty.
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The bundle's settings from the environment (see docs/architecture.md,
/// "Environment and secret").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `CXONE_SECRET_ID`: name or ARN of the secret in Secrets Manager.
    pub cxone_secret_id: String,
    /// `AUDIT_TABLE`.
    pub audit_table: String,
    /// `STATE_TABLE`.
    pub state_table: String,
    /// `IDEMPOTENCY_TABLE`.
    pub idempotency_table: String,
    /// `CXONE_API_VERSION`, default `v30.0`.
    pub cxone_api_version: String,
    /// `CXONE_ISSUER`, default `https://cxone.niceincontact.com`.
    pub cxone_issuer: String,
    /// `CXONE_CALLS_PER_SECOND`: the CXone calls per second that every
    /// invocation of every function shares (a budget in the state table);
    /// unset or 0: no shared budget (each call still honours CXone's 429).
    pub cxone_calls_per_second: Option<u32>,
    /// `TASK_QUEUE_URL`: the SQS queue a periodic function (tuner, failover
    /// checker) hands each campaign's work to ([`crate::fanout`]); unset:
    /// the tick works through every campaign itself.
    pub task_queue_url: Option<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let optional = |name: &str, default: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let issuer = optional("CXONE_ISSUER", DEFAULT_ISSUER);
        let parsed = url::Url::parse(&issuer).map_err(|e| ConfigError::Invalid {
            name: "CXONE_ISSUER",
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError::Invalid {
                name: "CXONE_ISSUER",
                reason: "must be an http(s) URL".into(),
            });
        }
        let calls_per_second = match lookup("CXONE_CALLS_PER_SECOND")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        {
            None => None,
            Some(v) => match v.parse::<u32>() {
                Ok(0) => None,
                Ok(n) if n <= 10_000 => Some(n),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "CXONE_CALLS_PER_SECOND",
                        reason: "must be a whole number from 0 to 10000".into(),
                    })
                }
            },
        };
        Ok(Self {
            cxone_secret_id: required("CXONE_SECRET_ID")?,
            audit_table: required("AUDIT_TABLE")?,
            state_table: required("STATE_TABLE")?,
            idempotency_table: required("IDEMPOTENCY_TABLE")?,
            cxone_api_version: optional("CXONE_API_VERSION", DEFAULT_API_VERSION),
            cxone_issuer: issuer.trim_end_matches('/').to_owned(),
            cxone_calls_per_second: calls_per_second,
            task_queue_url: lookup("TASK_QUEUE_URL")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const FULL: &[(&str, &str)] = &[
        ("CXONE_SECRET_ID", "cxone"),
        ("AUDIT_TABLE", "audit"),
        ("STATE_TABLE", "state"),
        ("IDEMPOTENCY_TABLE", "idem"),
    ];

    #[test]
    fn defaults_apply() {
        let c = Config::from_lookup(env(FULL)).unwrap();
        assert_eq!(c.cxone_api_version, "v30.0");
        assert_eq!(c.cxone_issuer, "https://cxone.niceincontact.com");
    }

    #[test]
    fn missing_variable_is_named() {
        let err = Config::from_lookup(env(&FULL[..3])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("IDEMPOTENCY_TABLE"));
        assert!(err.to_string().contains("IDEMPOTENCY_TABLE"));
    }

    #[test]
    fn the_shared_call_budget_is_optional_and_checked() {
        assert_eq!(
            Config::from_lookup(env(FULL))
                .unwrap()
                .cxone_calls_per_second,
            None
        );
        for (value, expected) in [("0", None), ("25", Some(25)), (" 7 ", Some(7))] {
            let mut pairs = FULL.to_vec();
            pairs.push(("CXONE_CALLS_PER_SECOND", value));
            let c = Config::from_lookup(env(&pairs)).unwrap();
            assert_eq!(c.cxone_calls_per_second, expected, "{value}");
        }
        for bad in ["-1", "1.5", "lots", "20000"] {
            let mut pairs = FULL.to_vec();
            pairs.push(("CXONE_CALLS_PER_SECOND", bad));
            assert!(
                matches!(
                    Config::from_lookup(env(&pairs)),
                    Err(ConfigError::Invalid {
                        name: "CXONE_CALLS_PER_SECOND",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_issuer_is_refused() {
        let mut pairs = FULL.to_vec();
        pairs.push(("CXONE_ISSUER", "not a url"));
        assert!(matches!(
            Config::from_lookup(env(&pairs)),
            Err(ConfigError::Invalid {
                name: "CXONE_ISSUER",
                ..
            })
        ));
    }
}
