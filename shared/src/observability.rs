//! Structured JSON logs and CloudWatch embedded-metric-format (EMF) metrics.
//!
//! Logs are JSON lines through `tracing`, with the current span's fields (the
//! Lambda runtime's request id, and the `campaign` span each function opens
//! per skill) on every line. Metrics are EMF JSON lines on stdout, which
//! CloudWatch turns into metrics without any API call.

use serde_json::{json, Map, Value};

/// The CloudWatch namespace of every metric the bundle emits.
pub const METRICS_NAMESPACE: &str = "OutboundAutopilot";

/// Installs the JSON log subscriber (level from `RUST_LOG`, default `info`).
///
/// Safe to call more than once: later calls do nothing.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .flatten_event(true)
        .try_init();
}

/// A unit CloudWatch understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A plain count.
    Count,
    /// Milliseconds.
    Milliseconds,
    /// A percentage.
    Percent,
    /// No unit.
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Percent => "Percent",
            Unit::None => "None",
        }
    }
}

/// A batch of metrics sharing dimensions, printed as one EMF line.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    dimensions: Vec<(String, String)>,
    values: Vec<(String, f64, Unit)>,
}

impl Metrics {
    /// A batch with the `Function` dimension.
    pub fn for_function(function: &str) -> Self {
        Self {
            dimensions: vec![("Function".into(), function.into())],
            values: Vec::new(),
        }
    }

    /// Adds a value.
    pub fn put(&mut self, name: &str, value: f64, unit: Unit) -> &mut Self {
        self.values.push((name.to_owned(), value, unit));
        self
    }

    /// The EMF document for `timestamp_ms`.
    pub fn to_emf(&self, timestamp_ms: i64) -> Value {
        let mut doc = Map::new();
        for (k, v) in &self.dimensions {
            doc.insert(k.clone(), json!(v));
        }
        for (name, value, _) in &self.values {
            doc.insert(name.clone(), json!(value));
        }
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        let metrics: Vec<Value> = self
            .values
            .iter()
            .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": METRICS_NAMESPACE,
                    "Dimensions": [dimension_names],
                    "Metrics": metrics,
                }]
            }),
        );
        Value::Object(doc)
    }

    /// Prints the batch as one EMF line on stdout (nothing when empty).
    pub fn emit(&self, timestamp_ms: i64) {
        if !self.values.is_empty() {
            println!("{}", self.to_emf(timestamp_ms));
        }
    }
}

/// The report of a scheduled event delivered again while another invocation
/// is still processing it (EventBridge delivers at least once): nothing is
/// done, the invocation succeeds (no dead letter, no `Errors` alarm), the
/// duplicate is logged at info and counted (`DuplicateDeliveries`). The
/// other invocation's report is the event's; a later delivery replays it.
pub fn duplicate_delivery(function: &str, tick: &crate::invocation::Tick) -> Value {
    tracing::info!(
        event_id = %tick.event_id,
        "duplicate delivery: in progress elsewhere; nothing done"
    );
    let mut metrics = Metrics::for_function(function);
    metrics.put("DuplicateDeliveries", 1.0, Unit::Count);
    metrics.emit(tick.time.timestamp_millis());
    duplicate_report(tick)
}

/// What [`duplicate_delivery`] answers: the event, no campaign, and why.
pub fn duplicate_report(tick: &crate::invocation::Tick) -> Value {
    json!({
        "eventId": tick.event_id,
        "time": tick.time,
        "campaigns": [],
        "duplicate": DUPLICATE_IN_PROGRESS,
    })
}

/// The `duplicate` field of a [`duplicate_report`].
pub const DUPLICATE_IN_PROGRESS: &str = "duplicate delivery: in progress elsewhere";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_shape() {
        let mut m = Metrics::for_function("capacity-tuner");
        m.put("Decisions", 2.0, Unit::Count)
            .put("Overrides", 1.0, Unit::Count);
        let doc = m.to_emf(1_700_000_000_000);
        assert_eq!(doc["Function"], "capacity-tuner");
        assert_eq!(doc["Decisions"], 2.0);
        let cw = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], METRICS_NAMESPACE);
        assert_eq!(cw["Dimensions"][0][0], "Function");
        assert_eq!(cw["Metrics"][1]["Name"], "Overrides");
    }
}
