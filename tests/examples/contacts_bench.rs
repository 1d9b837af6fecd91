//! Measures contact intake as deployed, against the local stack (CXone
//! simulator in process, moto for DynamoDB and the FIFO intake queue):
//! `POST /campaigns/{skillId}/contacts` with the operator API's 29 s limit,
//! then, for a queued upload (202), the `contact-intake` handler invoked as
//! Lambda's SQS event source would, with its 300 s limit, until the upload
//! completes. Prints a Markdown table: contacts, body size, the request's
//! status and seconds, worker invocations, seconds until completed,
//! accepted and rejected, DNC searches per second.
//!
//! ```sh
//! bash infra/with-stack.sh cargo run --release -p e2e-tests --example contacts_bench -- 1000 10000 100000
//! ```
//! The result of the last run is in `docs/contacts-benchmark.md`.

use std::time::{Duration, Instant};

use campaign_api::Api;
use cxone_sim::Scenario;
use e2e_tests::queue::Queue;
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
    // Warnings (a failed step's cause) to stderr; the table to stdout.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .init();
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    println!(
        "| contacts | body (MB) | answer | request s | worker runs | of which retried | s to completed | accepted | rejected | DNC searches/s |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
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
        let queue = Queue::create(&stack).await;
        let api = Api::new(&stack.deps()).with_intake_queue(Some(queue.intake()));
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
        // campaign-api's time limit in template.yaml.
        let response = api
            .handle(request, Deadline::after(Duration::from_secs(29)))
            .await;
        let request_seconds = started.elapsed().as_secs_f64();
        let status = response.status().as_u16();
        let mut answer: serde_json::Value = match response.body() {
            lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap_or_default(),
            _ => serde_json::Value::Null,
        };
        assert!(status == 200 || status == 202, "{status} {answer}");
        let mut runs = 0;
        let mut retried = 0;
        if status == 202 {
            let upload_id = answer["uploadId"].as_str().expect("upload id").to_owned();
            loop {
                // contact-intake's time limit in template.yaml.
                let (handled, response) = queue.work(&api, Duration::from_secs(300)).await;
                if !response.batch_item_failures.is_empty() {
                    // As deployed: the step is retried (here at once, not a
                    // minute later); the cause is logged on stderr.
                    retried += 1;
                    assert!(
                        retried <= 5,
                        "five failed steps: the message would go to the DLQ"
                    );
                    queue.expire_delays().await;
                }
                if handled == 0 {
                    break;
                }
                runs += handled;
            }
            let intake = api.intake_store();
            let (_, record) = intake
                .find_upload(1001, &upload_id)
                .await
                .expect("read")
                .expect("record");
            answer = campaign_api::contacts::answer(1001, &record, Vec::new());
            assert_eq!(answer["status"], "completed", "{answer}");
        }
        let seconds = started.elapsed().as_secs_f64();
        let searched = answer["accepted"].as_f64().unwrap_or(0.0)
            + answer["rejectedByReason"]["dnc_listed"]
                .as_f64()
                .unwrap_or(0.0);
        println!(
            "| {n} | {:.2} | {status} | {request_seconds:.1} | {runs} | {retried} | {seconds:.1} | {} | {} | {:.0} |",
            body.len() as f64 / 1_048_576.0,
            answer["accepted"],
            answer["rejected"],
            searched / seconds
        );
    }
}
