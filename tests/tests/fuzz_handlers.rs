//! Fuzzing of the HTTP handlers that need storage, end to end
//! (docs/fuzzing.md): campaign-api's `Api::handle` and the schedule
//! deployer's `Deployer::handle`, fed API Gateway v2 events mutated from
//! valid ones of every route (path, method, headers, query string, path
//! parameters, request context, body, base64), plus any JSON and any
//! bytes, against the local stack (moto and a CXone simulator, tables of
//! their own, as the other tests in this directory).
//!
//! Properties, for every event lambda_http turns into a request: no
//! panic; never a 5xx (the stack is healthy, so a 5xx could only come from
//! the input); every 4xx is the error object and, for 400, 401, 405, 413
//! and 422, names the field at fault. `FUZZ_CASES` sets the cases,
//! `FUZZ_SEED` the seed (fixed by default).

mod fuzz_support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use campaign_api::Api;
use cxone_sim::Scenario;
use e2e_tests::{config_body, TestStack};
use fuzz_support::examples::{self, CLIENT_PARTS, IDEMPOTENCY_KEY, REQUEST_ID};
use fuzz_support::{check_rejection, fuzz, gateway_input, Tally};
use lambda_http::{Body, Response};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use schedule_deployer::Deployer;
use shared::deadline::Deadline;

/// The request time: a Tuesday afternoon in New York, inside every
/// example's calling window.
const T0_MS: i64 = 1_772_550_000_000;
/// The campaign every example is for (`Scenario::small_test`'s outbound
/// Personal Connection skill).
const SKILL: i64 = 1001;

/// `small_test` with 1002 scrubbed by the DNC group too.
fn scenario() -> Scenario {
    let mut scenario = Scenario::small_test();
    scenario.dnc_groups[0].scrubbed_skills.push(1002);
    scenario
}

/// The event's text with the examples' `Idempotency-Key` and request id
/// replaced by ones of its own, as each request has (a mutation that
/// removed or changed them reaches the handler as it is).
fn with_own_key(bytes: &[u8]) -> Vec<u8> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return bytes.to_vec();
    };
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    text.replace(IDEMPOTENCY_KEY, &format!("fuzz-{n:08}"))
        .replace(REQUEST_ID, &format!("{REQUEST_ID}-{n:08}"))
        .into_bytes()
}

/// The request lambda_http makes of the event (`None` when it refuses it
/// or panics on it: such an event never reaches a handler; see
/// `fuzz_parsers.rs`, `gateway_request`).
fn request(bytes: &[u8]) -> Option<lambda_http::Request> {
    std::panic::catch_unwind(|| lambda_http::request::from_reader(bytes))
        .ok()?
        .ok()
}

fn body_text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// Checks one answer: below 500, and a 4xx is a well-formed rejection.
fn check_answer(response: &Response<Body>, tally: &Tally) -> Result<(), TestCaseError> {
    let status = response.status().as_u16();
    let text = body_text(response);
    tally.add(status.to_string());
    prop_assert!(status < 500, "{status}: {text}");
    if status >= 400 {
        check_rejection(status, &text).map_err(TestCaseError::fail)?;
    }
    Ok(())
}

/// Whether the answer says storage failed (a 503 `storage_unavailable`).
fn storage_failed(response: &Response<Body>) -> bool {
    response.status() == 503 && body_text(response).contains("storage_unavailable")
}

/// Sends the request `send` makes (a new key and request id each time); on
/// a storage failure, looks at whether storage answers at all (`healthy`):
/// when it does not, the answer is the environment's (a loaded local moto
/// can take longer than the SDK's 15 s per attempt), counted and not
/// judged (`None`); when it does, the request is sent once more and that
/// answer is judged.
fn send_judged(
    runtime: &tokio::runtime::Runtime,
    tally: &Tally,
    send: impl Fn() -> Option<Response<Body>>,
    healthy: impl std::future::Future<Output = bool>,
) -> Option<Response<Body>> {
    let response = send()?;
    if !storage_failed(&response) {
        return Some(response);
    }
    if !runtime.block_on(healthy) {
        tally.add("503 storage unavailable (environment, not judged)");
        return None;
    }
    send()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn fuzz_campaign_api_handler() {
    let runtime = runtime();
    let stack = runtime.block_on(TestStack::start(scenario()));
    let api = Api::new(&stack.deps());
    // A config for the campaign, so that the routes that need one get past it.
    let put = examples::gateway_event(
        "PUT",
        "/campaigns/{skillId}/config",
        "/campaigns/1001/config",
        Some(&config_body(Some(1002))),
        T0_MS,
    );
    let mut written = None;
    for _ in 0..3 {
        let request = request(&with_own_key(put.to_string().as_bytes())).expect("event");
        let answer =
            runtime.block_on(api.handle(request, Deadline::after(Duration::from_secs(30))));
        let done = answer.status() == 200;
        written = Some(answer);
        if done {
            break;
        }
    }
    let written = written.expect("an answer");
    assert_eq!(written.status(), 200, "{}", body_text(&written));

    let tally = Tally::default();
    fuzz(
        "campaign-api handler",
        100,
        gateway_input(examples::gateway_routes(SKILL, T0_MS), CLIENT_PARTS),
        |input| {
            let send = || {
                let request = request(&with_own_key(&input.bytes()))?;
                let deadline = Deadline::after(Duration::from_secs(30));
                Some(runtime.block_on(api.handle(request, deadline)))
            };
            let healthy = async { api.state.get_config(SKILL).await.is_ok() };
            match send_judged(&runtime, &tally, send, healthy) {
                Some(response) => check_answer(&response, &tally),
                None => Ok(()),
            }
        },
    );
    tally.print("campaign-api handler");
}

#[test]
fn fuzz_schedule_deployer_handler() {
    let runtime = runtime();
    let stack = runtime.block_on(TestStack::start(scenario()));
    let deployer = Deployer::new(&stack.deps());
    let event = examples::gateway_event(
        "PUT",
        "/campaigns/{skillId}/schedule",
        "/campaigns/1001/schedule",
        Some(&examples::schedule()[0].to_string()),
        T0_MS,
    );
    let routes = vec![(event, examples::schedule())];
    let tally = Tally::default();
    fuzz(
        "schedule-deployer handler",
        60,
        gateway_input(routes, CLIENT_PARTS),
        |input| {
            let send = || {
                let request = request(&with_own_key(&input.bytes()))?;
                let deadline = Deadline::after(Duration::from_secs(30));
                Some(runtime.block_on(deployer.handle(request, deadline)))
            };
            let healthy = async { deployer.state.get_config(SKILL).await.is_ok() };
            match send_judged(&runtime, &tally, send, healthy) {
                Some(response) => check_answer(&response, &tally),
                None => Ok(()),
            }
        },
    );
    tally.print("schedule-deployer handler");
}
