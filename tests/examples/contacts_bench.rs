//! Measures `POST /campaigns/{skillId}/contacts` against the local stack
//! (CXone simulator in process, moto for DynamoDB) and prints a Markdown
//! table: contacts, body size, accepted and rejected, wall time, DNC
//! searches per second.
//!
//! ```sh
//! bash infra/with-stack.sh cargo run --release -p e2e-tests --example contacts_bench -- 1000 10000 100000
//! ```
//! The result of the last run is in `docs/contacts-benchmark.md`.

use std::time::{Duration, Instant};

use campaign_api::Api;
use cxone_sim::Scenario;
use e2e_tests::{http_event, TestStack};
use serde_json::json;
use shared::campaign_config::CampaignConfig;
use shared::deadline::Deadline;

/// Tuesday 2026-03-03 10:00 in New York.
const AT: &str = "2026-03-03T15:00:00Z";

/// A CSV of `n` contacts: 1 in 50 on the DNC list, 1 in 100 without consent,
/// 1 in 20 in Florida, the rest in New York.
fn csv(n: usize) -> (String, Vec<String>) {
    let mut out = String::from(
        "externalId,phoneNumber,consentType,consentSource,consentAt,relationshipDate,state,timeZone\n",
    );
    let mut dnc = Vec::new();
    for i in 0..n {
        let area = if i % 20 == 0 { "305" } else { "617" };
        let phone = format!("{area}{}{:06}", 2 + (i / 1_000_000) % 8, i % 1_000_000);
        if i % 50 == 7 {
            dnc.push(phone.clone());
        }
        let consent = if i % 100 == 3 { "" } else { "express_written" };
        let state = if area == "305" { "FL" } else { "NY" };
        out.push_str(&format!(
            "C{i},{phone},{consent},\"web form, v2\",2026-01-10T12:00:00Z,,{state},\n"
        ));
    }
    (out, dnc)
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    println!("| contacts | body (MB) | accepted | rejected | seconds | DNC searches/s |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for n in sizes {
        let (body, dnc) = csv(n);
        let mut scenario = Scenario::small_test();
        scenario.start = AT.parse().expect("time");
        scenario.dnc_groups[0].phone_numbers.extend(dnc);
        let stack = TestStack::start(scenario).await;
        let config = json!({"enabled": false, "timeZone": "America/New_York",
            "recipientTimeZones": ["America/New_York"], "recipientStates": ["FL"],
            "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}});
        let config = CampaignConfig::parse(config.to_string().as_bytes(), 1001).expect("config");
        stack
            .deps()
            .state()
            .put_config(1001, &config, None, "bench", AT.parse().expect("time"))
            .await
            .expect("store")
            .expect("new");
        let api = Api::new(&stack.deps());
        let time: chrono::DateTime<chrono::Utc> = AT.parse().expect("time");
        let mut event = http_event(
            "POST",
            "/campaigns/{skillId}/contacts",
            "/campaigns/1001/contacts",
            Some("1001"),
            Some(&body),
            time.timestamp_millis(),
        );
        event["headers"]["content-type"] = json!("text/csv");
        event["headers"]["idempotency-key"] = json!(format!("bench-{n}"));
        let request = lambda_http::request::from_str(&event.to_string()).expect("event");
        let started = Instant::now();
        // The function's time limit in template.yaml is the Lambda maximum, 900 s.
        let response = api
            .handle(request, Deadline::after(Duration::from_secs(900)))
            .await;
        let seconds = started.elapsed().as_secs_f64();
        let answer: serde_json::Value = match response.body() {
            lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap_or_default(),
            _ => serde_json::Value::Null,
        };
        assert_eq!(response.status().as_u16(), 200, "{answer}");
        let searched = answer["accepted"].as_f64().unwrap_or(0.0)
            + answer["rejectedByReason"]["dnc_listed"]
                .as_f64()
                .unwrap_or(0.0);
        println!(
            "| {n} | {:.2} | {} | {} | {seconds:.1} | {:.0} |",
            body.len() as f64 / 1_048_576.0,
            answer["accepted"],
            answer["rejected"],
            searched / seconds
        );
    }
}
