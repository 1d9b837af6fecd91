//! [`AdminClient`]: a typed client of the simulator's admin API.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::model::{ContactRecord, Fault, RequestLog, Truth};
use crate::webhook::{WebhookConfig, WebhookStats};
use crate::SimError;

/// Typed wrapper over `/admin/...`.
#[derive(Debug, Clone)]
pub struct AdminClient {
    base: String,
    http: reqwest::Client,
}

impl AdminClient {
    /// A client for the simulator at `base_url` (`http://127.0.0.1:PORT`).
    pub fn new(base_url: impl Into<String>) -> AdminClient {
        AdminClient {
            base: base_url.into().trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, SimError> {
        let resp = req
            .send()
            .await
            .map_err(|e| SimError::Admin(e.to_string()))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| SimError::Admin(e.to_string()))?;
        if !status.is_success() {
            return Err(SimError::Admin(format!("{status}: {text}")));
        }
        serde_json::from_str(&text)
            .map_err(|e| SimError::Admin(format!("unexpected answer {text}: {e}")))
    }

    fn url(&self, p: &str) -> String {
        format!("{}/admin{p}", self.base)
    }

    fn now_of(v: &Value) -> Result<DateTime<Utc>, SimError> {
        v.get("now")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
            .ok_or_else(|| SimError::Admin(format!("no now in {v}")))
    }

    /// The simulated time now.
    pub async fn clock(&self) -> Result<DateTime<Utc>, SimError> {
        let v: Value = self.send(self.http.get(self.url("/clock"))).await?;
        Self::now_of(&v)
    }

    /// Advances the clock by `seconds`; returns the new time.
    pub async fn advance_seconds(&self, seconds: f64) -> Result<DateTime<Utc>, SimError> {
        let v: Value = self
            .send(
                self.http
                    .post(self.url("/clock/advance"))
                    .json(&json!({"seconds": seconds})),
            )
            .await?;
        Self::now_of(&v)
    }

    /// Advances the clock to `to`; returns the new time.
    pub async fn advance_to(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, SimError> {
        let v: Value = self
            .send(
                self.http
                    .post(self.url("/clock/advance"))
                    .json(&json!({"to": to.to_rfc3339()})),
            )
            .await?;
        Self::now_of(&v)
    }

    /// Ground truth of a skill for minutes starting in `[from, to)`.
    pub async fn truth(
        &self,
        skill_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Truth, SimError> {
        let q = [
            ("skillId", skill_id.to_string()),
            ("from", from.to_rfc3339()),
            ("to", to.to_rfc3339()),
        ];
        self.send(self.http.get(self.url("/truth")).query(&q)).await
    }

    /// Completed contacts of a skill with `occurredAt` in `[from, to)`.
    pub async fn contacts(
        &self,
        skill_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ContactRecord>, SimError> {
        #[derive(serde::Deserialize)]
        struct C {
            contacts: Vec<ContactRecord>,
        }
        let q = [
            ("skillId", skill_id.to_string()),
            ("from", from.to_rfc3339()),
            ("to", to.to_rfc3339()),
        ];
        let c: C = self
            .send(self.http.get(self.url("/contacts")).query(&q))
            .await?;
        Ok(c.contacts)
    }

    /// Replaces the fault list.
    pub async fn set_faults(&self, faults: Vec<Fault>) -> Result<(), SimError> {
        let _: Value = self
            .send(
                self.http
                    .put(self.url("/faults"))
                    .json(&json!({"faults": faults})),
            )
            .await?;
        Ok(())
    }

    /// Clears every fault.
    pub async fn clear_faults(&self) -> Result<(), SimError> {
        let _: Value = self.send(self.http.delete(self.url("/faults"))).await?;
        Ok(())
    }

    /// Every calling list with the data rows of its completed uploads
    /// (`[{listId, listName, rows, uploadedRows}]`).
    pub async fn lists(&self) -> Result<Vec<Value>, SimError> {
        #[derive(serde::Deserialize)]
        struct L {
            lists: Vec<Value>,
        }
        let l: L = self.send(self.http.get(self.url("/lists"))).await?;
        Ok(l.lists)
    }

    /// Every non-admin request so far, in order.
    pub async fn requests(&self) -> Result<Vec<RequestLog>, SimError> {
        #[derive(serde::Deserialize)]
        struct R {
            requests: Vec<RequestLog>,
        }
        let r: R = self.send(self.http.get(self.url("/requests"))).await?;
        Ok(r.requests)
    }

    /// Clears the request log.
    pub async fn clear_requests(&self) -> Result<(), SimError> {
        let _: Value = self.send(self.http.delete(self.url("/requests"))).await?;
        Ok(())
    }

    /// A skill's whole internal state.
    pub async fn skill_state(&self, skill_id: i64) -> Result<Value, SimError> {
        self.send(self.http.get(self.url(&format!("/skills/{skill_id}"))))
            .await
    }

    /// Sets (replaces) the webhook configuration; returns its status.
    pub async fn set_webhook(&self, config: &WebhookConfig) -> Result<WebhookStatus, SimError> {
        self.send(self.http.put(self.url("/webhook")).json(config))
            .await
    }

    /// Removes the webhook and discards its queued events.
    pub async fn clear_webhook(&self) -> Result<WebhookStatus, SimError> {
        self.send(self.http.delete(self.url("/webhook"))).await
    }

    /// The webhook's configuration (secret redacted), outbox size and counters.
    pub async fn webhook(&self) -> Result<WebhookStatus, SimError> {
        self.send(self.http.get(self.url("/webhook"))).await
    }

    /// Posts every queued event now, whatever its age.
    pub async fn flush_webhook(&self) -> Result<WebhookStatus, SimError> {
        self.send(self.http.post(self.url("/webhook/flush"))).await
    }
}

/// `GET /admin/webhook`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookStatus {
    /// Whether a configuration is set.
    pub configured: bool,
    /// Whether it is enabled.
    pub enabled: bool,
    /// The configuration with the secret redacted.
    #[serde(default)]
    pub config: Option<Value>,
    /// Events waiting in the outbox.
    pub queued: usize,
    /// Delivery counters since start.
    pub stats: WebhookStats,
}
