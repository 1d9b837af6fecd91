//! Fuzzing of every parser that sees outside input, called directly (no
//! AWS, no local stack; docs/fuzzing.md): the webhook body and its
//! `X-Signature` header, the campaign config, the schedule, the pacing
//! change, the contact bodies (JSON and CSV) and their screening, the
//! provisioning body, the routing of API Gateway v2 events, and
//! webhook-ingest's whole handler (whose storage is never reached by a
//! bad request; a good one finds it unreachable and must answer 503).
//!
//! Properties, for every input: no panic; an accepted input satisfies the
//! parser's own invariants; a rejection is a 4xx with the error object
//! `{"error", "message", "details"}` whose details name the field at fault
//! (and, when one field was mutated in a valid example, that field or one
//! above or below it). `FUZZ_CASES` sets the cases per parser, `FUZZ_SEED`
//! the seed (fixed by default).

mod fuzz_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use fuzz_support::{
    base64, check_rejection, examples, fuzz, gateway_input, json_body, nasty_string, related,
    text_op, Fuzzed, Tally, TextOp,
};
use lambda_http::{Body, RequestExt};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use secrecy::SecretString;
use serde_json::{json, Value};

use campaign_api::contact_rows::{self, Format, COLUMNS};
use campaign_api::pacing::PacingChange;
use campaign_api::provisioning_request;
use campaign_api::screening::{screen, CampaignArea};
use schedule_deployer::request::ScheduleRequest;
use shared::api_error::ApiError;
use shared::campaign_config::{CampaignConfig, CampaignLife, ConfigRejection};
use shared::engine::compliance::{parse_zone, StateCode};
use shared::secret::{StaticSecret, WebhookSecrets};
use shared::store::events::EventStore;
use shared::store::state::StoredConfig;
use shared::webhook::event::{MAX_ID_CHARS, MAX_PROBLEMS};
use shared::webhook::signature::MAX_SIGNATURES;
use shared::webhook::{
    parse_body, sign, signature_header, BodyError, SignatureError, SignatureHeader, MAX_BODY_BYTES,
    MAX_EVENTS,
};
use webhook_ingest::WebhookIngest;

/// The request time of every input: a fixed Tuesday afternoon in New York.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, 15, 0, 0).unwrap()
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

/// Checks an [`ApiError`] as its HTTP answer; the fields it names.
fn check_api_error(e: &ApiError, input: &Fuzzed) -> Result<Vec<String>, TestCaseError> {
    let fields = check_rejection(e.status, &e.body()).map_err(fail)?;
    check_related(e.status, &fields, input)?;
    Ok(fields)
}

/// When one field of a valid example was mutated, a 400 names it (or a
/// field above or below it).
fn check_related(status: u16, fields: &[String], input: &Fuzzed) -> Result<(), TestCaseError> {
    if let (400, Some(path)) = (status, input.single_mutation()) {
        prop_assert!(
            fields.iter().any(|f| related(f, path)),
            "a 400 for a mutation of {path} names {fields:?}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Webhook body.

/// The event index and field a mutated path is about (`events[2].data.x`
/// is event 2's `data.x`; a single event is event 0).
fn event_field(path: &str) -> (usize, String) {
    if let Some(rest) = path.strip_prefix("events[") {
        if let Some((index, field)) = rest.split_once(']') {
            let field = field.trim_start_matches('.');
            let field = if field.is_empty() { "event" } else { field };
            return (index.parse().unwrap_or(0), field.to_owned());
        }
    }
    (0, path.to_owned())
}

fn check_webhook_body(input: &Fuzzed, tally: &Tally) -> Result<(), TestCaseError> {
    match parse_body(&input.bytes) {
        Ok(events) => {
            tally.add("accepted");
            prop_assert!((1..=MAX_EVENTS).contains(&events.len()));
            for e in &events {
                let chars = e.event_id.chars().count();
                prop_assert!(
                    (1..=MAX_ID_CHARS).contains(&chars),
                    "eventId {:?}",
                    e.event_id
                );
                prop_assert!(e.skill_id > 0);
                prop_assert!(e.minute().len() >= 16, "minute {}", e.minute());
                prop_assert!(serde_json::from_str::<Value>(&e.raw_json()).is_ok());
            }
        }
        Err(e) => {
            tally.add(match &e {
                BodyError::Json(_) => "400 not JSON",
                BodyError::Shape { .. } => "400 shape",
                BodyError::Events(_) => "400 events",
            });
            let answer = ApiError::bad_request(e.message()).with_details(e.details());
            let fields = check_rejection(answer.status, &answer.body()).map_err(fail)?;
            prop_assert!(e.details().len() <= MAX_PROBLEMS);
            if let (BodyError::Events(problems), Some(path)) = (&e, input.single_mutation()) {
                let (index, field) = event_field(path);
                let top_level = path == "events" || path == "body";
                // A changed `type` makes `data` answer for another type.
                let blamed = |p: &shared::webhook::event::FieldProblem| {
                    field == "event"
                        || related(&p.field, &field)
                        || (field == "type" && p.field.starts_with("data"))
                };
                prop_assert!(
                    top_level || problems.iter().any(|p| p.index == index && blamed(p)),
                    "a mutation of {path} gave {problems:?}"
                );
            }
            let _ = fields;
        }
    }
    Ok(())
}

#[test]
fn fuzz_webhook_body() {
    let tally = Tally::default();
    fuzz(
        "webhook body",
        500,
        json_body(examples::webhook()),
        |input| check_webhook_body(&input, &tally),
    );
    tally.print("webhook body");
}

// ---------------------------------------------------------------------------
// Webhook signature header.

const SECRET: &str = "whsec-fuzz-0123456789abcdef0123456789";
const T: i64 = 1_772_550_000;

/// A change to a header value, entry by entry.
#[derive(Clone, Debug)]
enum HeaderOp {
    DropEntry(u8),
    DuplicateEntry(u8),
    Swap(u8, u8),
    SetT(String),
    SetV1(u8, String),
    Upper,
    Spaces(u8),
    AddEntry(String),
    Insert(u32, String),
    Truncate(u32),
}

fn header_op() -> impl Strategy<Value = HeaderOp> {
    let hex = prop_oneof![
        Just(sign(SECRET, T, b"{}")),
        Just(sign("another-secret", T, b"{}")),
        Just(sign(SECRET, T, b"{}")[..62].to_owned()),
        Just(format!("{}0", sign(SECRET, T, b"{}"))),
        Just("zz".repeat(32)),
        "[0-9a-fA-F]{0,70}",
        nasty_string(),
    ];
    let t = prop_oneof![
        Just(T.to_string()),
        Just(format!("000{T}")),
        Just((T - 301).to_string()),
        Just((T + 300).to_string()),
        Just("-5".to_owned()),
        Just("9".repeat(13)),
        Just("9".repeat(30)),
        Just(format!("{T}.5")),
        Just(format!(" {T} ")),
        nasty_string(),
    ];
    prop_oneof![
        2 => any::<u8>().prop_map(HeaderOp::DropEntry),
        2 => any::<u8>().prop_map(HeaderOp::DuplicateEntry),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| HeaderOp::Swap(a, b)),
        3 => t.prop_map(HeaderOp::SetT),
        3 => (any::<u8>(), hex).prop_map(|(i, h)| HeaderOp::SetV1(i, h)),
        1 => Just(HeaderOp::Upper),
        1 => any::<u8>().prop_map(HeaderOp::Spaces),
        2 => prop_oneof![
            Just("v1=".to_owned()),
            Just("v0=abc".to_owned()),
            Just("t".to_owned()),
            Just("=".to_owned()),
            Just(String::new()),
            nasty_string(),
        ]
        .prop_map(HeaderOp::AddEntry),
        2 => (any::<u32>(), nasty_string()).prop_map(|(p, s)| HeaderOp::Insert(p, s)),
        1 => any::<u32>().prop_map(HeaderOp::Truncate),
    ]
}

fn apply_header(header: &str, op: &HeaderOp) -> String {
    let mut entries: Vec<String> = header.split(',').map(str::to_owned).collect();
    let pick = |i: u8, n: usize| usize::from(i) % n.max(1);
    match op {
        HeaderOp::DropEntry(i) => {
            if !entries.is_empty() {
                let i = pick(*i, entries.len());
                entries.remove(i);
            }
        }
        HeaderOp::DuplicateEntry(i) => {
            if !entries.is_empty() {
                let e = entries[pick(*i, entries.len())].clone();
                entries.push(e);
            }
        }
        HeaderOp::Swap(a, b) => {
            if !entries.is_empty() {
                let (a, b) = (pick(*a, entries.len()), pick(*b, entries.len()));
                entries.swap(a, b);
            }
        }
        HeaderOp::SetT(t) => {
            for e in entries
                .iter_mut()
                .filter(|e| e.trim_start().starts_with("t="))
            {
                *e = format!("t={t}");
            }
        }
        HeaderOp::SetV1(i, hex) => {
            let v1: Vec<usize> = (0..entries.len())
                .filter(|&k| entries[k].trim_start().starts_with("v1="))
                .collect();
            if !v1.is_empty() {
                let k = v1[pick(*i, v1.len())];
                entries[k] = format!("v1={hex}");
            }
        }
        HeaderOp::Upper => return header.to_uppercase(),
        HeaderOp::Spaces(i) => {
            if !entries.is_empty() {
                let k = pick(*i, entries.len());
                entries[k] = format!("  {} \t", entries[k].replace('=', " = "));
            }
        }
        HeaderOp::AddEntry(e) => entries.push(e.clone()),
        HeaderOp::Insert(p, s) => {
            let mut text = header.to_owned();
            let mut at = *p as usize % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, s);
            return text;
        }
        HeaderOp::Truncate(p) => {
            let mut at = *p as usize % (header.len() + 1);
            while !header.is_char_boundary(at) {
                at -= 1;
            }
            return header[..at].to_owned();
        }
    }
    entries.join(",")
}

/// A header for `body`: the valid one (signed at a time near `T`, with one
/// or two secrets) changed by a few operations, or any string.
fn signature_input() -> impl Strategy<Value = (String, Vec<u8>, i64)> {
    let body = prop_oneof![
        Just(b"{}".to_vec()),
        Just(examples::completed("sig").to_string().into_bytes()),
        vec(any::<u8>(), 0..64),
    ];
    let at = prop_oneof![
        4 => Just(T * 1000),
        1 => Just((T + 300) * 1000 + 1),
        1 => Just(0i64),
        1 => Just(-1i64),
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
        1 => any::<i64>(),
    ];
    let header = (
        prop_oneof![Just(T), Just(T - 300), Just(T + 301), Just(0i64)],
        prop_oneof![3 => Just(1usize), 1 => Just(2usize), 1 => Just(9usize)],
        vec(header_op(), 0..=3),
    );
    prop_oneof![
        6 => (header, body.clone(), at.clone()).prop_map(|((t, n, ops), body, at)| {
            let secrets: Vec<&str> = std::iter::once(SECRET)
                .chain(std::iter::repeat("old-secret"))
                .take(n)
                .collect();
            let mut h = signature_header(&secrets, t, &body);
            for op in &ops {
                h = apply_header(&h, op);
            }
            (h, body, at)
        }),
        1 => (any::<String>(), body.clone(), at.clone()).prop_map(|(h, b, a)| (h, b, a)),
        1 => (nasty_string(), body, at),
    ]
}

#[test]
fn fuzz_webhook_signature() {
    let secrets = vec![
        SecretString::from(SECRET.to_owned()),
        SecretString::from("second-secret-0123456789abcdef012345".to_owned()),
    ];
    let tally = Tally::default();
    fuzz(
        "webhook signature",
        800,
        signature_input(),
        |(header, body, at)| {
            let parsed = match SignatureHeader::parse(&header) {
                Ok(parsed) => parsed,
                Err(e) => {
                    tally.add("malformed");
                    prop_assert!(!e.to_string().contains(&sign(SECRET, T, &body)));
                    return Ok(());
                }
            };
            prop_assert!((1..=MAX_SIGNATURES).contains(&parsed.signature_count()));
            prop_assert!((0..1_000_000_000_000).contains(&parsed.timestamp()));
            let verdict = parsed.verify(&body, &secrets, at);
            tally.add(match &verdict {
                Ok(()) => "verified",
                Err(SignatureError::Stale { .. } | SignatureError::NoRequestTime) => "stale",
                Err(_) => "no match",
            });
            if verdict.is_ok() {
                // Only a genuine signature over this body and this t passes,
                // and only within 300 s of the request time.
                let genuine = sign(SECRET, parsed.timestamp(), &body);
                prop_assert!(
                    header.to_ascii_lowercase().contains(&genuine),
                    "{header:?} passed without the genuine signature"
                );
                let skew = i128::from(parsed.timestamp()) * 1000 - i128::from(at);
                prop_assert!(skew.abs() <= 300_000, "skew {skew} ms passed");
            } else if let Err(e) = verdict {
                prop_assert!(!e
                    .to_string()
                    .contains(&sign(SECRET, parsed.timestamp(), &body)));
            }
            Ok(())
        },
    );
    tally.print("webhook signature");
}

// ---------------------------------------------------------------------------
// Campaign config.

fn check_config(input: &Fuzzed, tally: &Tally) -> Result<(), TestCaseError> {
    match CampaignConfig::parse(&input.bytes, 4101) {
        Ok(config) => {
            tally.add("accepted");
            prop_assert!(config.problems(4101).is_empty());
            prop_assert!((15..=120).contains(&config.pacing.ring_floor_seconds()));
            let _ = config.recipient_areas();
            let _ = CampaignLife::of(&config, now(), now());
            // What is stored reads back as the same config (numbers to
            // within one unit in the last place: serde_json's default float
            // parser, without its `float_roundtrip` feature, may round a
            // 17-digit or extreme value such as 1.402111205559255e-300 to
            // the neighbouring double; docs/fuzzing.md).
            let stored = serde_json::to_value(&config).map_err(|e| fail(e.to_string()))?;
            let again: CampaignConfig = serde_json::from_str(&stored.to_string())
                .map_err(|e| fail(format!("{e}: {stored}")))?;
            let again = serde_json::to_value(&again).map_err(|e| fail(e.to_string()))?;
            prop_assert!(same_within_an_ulp(&again, &stored), "{again} != {stored}");
        }
        Err(ConfigRejection::Shape(shape)) => {
            tally.add("400 shape");
            prop_assert!(
                !shape.field.is_empty() && !shape.problem.is_empty(),
                "{shape:?}"
            );
            check_related(400, &[shape.field], input)?;
        }
        Err(ConfigRejection::Values(problems)) => {
            tally.add("422 values");
            prop_assert!(!problems.is_empty());
            for p in &problems {
                prop_assert!(!p.field.is_empty() && !p.problem.is_empty(), "{p:?}");
            }
        }
    }
    Ok(())
}

/// Whether two JSON values are equal, numbers to within one unit in the
/// last place.
fn same_within_an_ulp(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => {
                x == y || (x.signum() == y.signum() && x.to_bits().abs_diff(y.to_bits()) <= 1)
            }
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_within_an_ulp(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_within_an_ulp(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn fuzz_campaign_config() {
    let tally = Tally::default();
    fuzz(
        "campaign config",
        500,
        json_body(examples::config()),
        |input| check_config(&input, &tally),
    );
    tally.print("campaign config");
}

// ---------------------------------------------------------------------------
// Schedule.

/// Request times: the fixed one, and any the envelope lets through
/// (`requestContext.timeEpoch` from 1970 to 9999, `shared::gateway`).
fn request_time() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        6 => Just(now()),
        1 => Just(Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap()),
        1 => Just(DateTime::<Utc>::UNIX_EPOCH),
        1 => Just(DateTime::<Utc>::from_timestamp_millis(shared::gateway::LATEST_TIME_MS).unwrap()),
        1 => (0..=shared::gateway::LATEST_TIME_MS).prop_map(|ms| {
            DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_else(now)
        }),
    ]
}

#[test]
fn fuzz_schedule_body() {
    let tally = Tally::default();
    fuzz(
        "schedule body",
        200,
        (json_body(examples::schedule()), request_time()),
        |(input, time)| {
            match ScheduleRequest::parse(&input.bytes) {
                Ok(request) => {
                    prop_assert!((1..=64).contains(&request.recipient_zones.len()));
                    prop_assert!(request.recipient_states.len() <= 64);
                }
                Err(e) => {
                    prop_assert!(!e.problems().is_empty());
                    for p in e.problems() {
                        prop_assert!(!p.field.is_empty(), "{p:?}");
                    }
                }
            }
            // What the deployer answers (the law check over the year from
            // the request's date, 400 for shape, 422 for law).
            match schedule_deployer::check_request(&input.bytes, time) {
                Ok(()) => tally.add("lawful"),
                Err(e) => {
                    tally.add(format!("{} {}", e.status, e.error));
                    check_api_error(&e, &input)?;
                }
            }
            Ok(())
        },
    );
    tally.print("schedule body");
}

// ---------------------------------------------------------------------------
// Pacing change.

fn stored_config() -> StoredConfig {
    let config = CampaignConfig::parse(examples::config()[0].to_string().as_bytes(), 4101)
        .expect("valid example");
    StoredConfig::next(4101, &config, None, "fuzz", now())
}

#[test]
fn fuzz_pacing_body() {
    let stored = stored_config();
    let tally = Tally::default();
    fuzz("pacing body", 400, json_body(examples::pacing()), |input| {
        match PacingChange::parse(&input.bytes) {
            Ok(change) => {
                let problems = change.problems(&stored);
                tally.add(if problems.is_empty() {
                    "accepted"
                } else {
                    "422 values"
                });
                for p in problems {
                    prop_assert!(p["field"].as_str().is_some_and(|f| !f.is_empty()), "{p}");
                }
            }
            Err(e) => {
                tally.add(format!("{} {}", e.status, e.error));
                check_api_error(&e, &input)?;
            }
        }
        Ok(())
    });
    tally.print("pacing body");
}

// ---------------------------------------------------------------------------
// Contacts.

fn area() -> CampaignArea {
    CampaignArea {
        zones: ["America/New_York", "America/Chicago", "America/Los_Angeles"]
            .iter()
            .map(|z| parse_zone(z).unwrap())
            .collect(),
        states: ["FL", "MA", "CA"]
            .iter()
            .map(|s| StateCode::parse(s).unwrap())
            .collect(),
    }
}

/// Checks parsed rows and their screening: numbered from 1, trimmed, and
/// each either a candidate or rejected once.
fn check_rows(rows: &[contact_rows::ContactRow], tally: &Tally) -> Result<(), TestCaseError> {
    prop_assert!(!rows.is_empty());
    for (i, row) in rows.iter().enumerate() {
        prop_assert_eq!(row.row, i + 1);
        for value in [
            &row.external_id,
            &row.phone_number,
            &row.consent_type,
            &row.consent_source,
            &row.consent_at,
            &row.relationship_date,
            &row.state,
            &row.time_zone,
        ]
        .into_iter()
        .flatten()
        {
            prop_assert!(!value.is_empty() && value.trim() == value, "{value:?}");
        }
    }
    let (candidates, rejections) = screen(rows, &area(), now());
    tally.add(format!("rows {}", rows.len().min(10)));
    for r in &rejections {
        tally.add(format!("row rejected {}", r.reason.code()));
    }
    if !candidates.is_empty() {
        tally.add("row accepted");
    }
    let mut seen: Vec<usize> = candidates
        .iter()
        .map(|c| c.row.row)
        .chain(rejections.iter().map(|r| r.row))
        .collect();
    seen.sort_unstable();
    prop_assert_eq!(seen, (1..=rows.len()).collect::<Vec<_>>());
    for c in &candidates {
        prop_assert!(c.number.e164.starts_with("+1"), "{:?}", c.number);
        let _ = c.evidence();
    }
    Ok(())
}

#[test]
fn fuzz_contacts_json() {
    let tally = Tally::default();
    fuzz(
        "contacts JSON",
        300,
        json_body(examples::contacts()),
        |input| {
            match contact_rows::parse(&input.bytes, Format::Json) {
                Ok(rows) => check_rows(&rows, &tally)?,
                Err(e) => {
                    tally.add(format!("{} {}", e.status, e.error));
                    check_api_error(&e, &input)?;
                }
            }
            Ok(())
        },
    );
    tally.print("contacts JSON");
}

/// A CSV upload: a header of known, unknown, repeated and missing columns
/// in any order, rows of valid, nasty, missing and extra cells, quoted or
/// not, with LF, CRLF or CR line ends, blank lines and a BOM; then perhaps
/// a text change (truncation, a stray byte).
#[derive(Clone, Debug)]
struct CsvInput {
    header: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
    quote: u8,
    line_end: &'static str,
    bom: bool,
    blank_lines: bool,
    text_ops: Vec<TextOp>,
}

fn valid_cell(column: &str, row: usize) -> String {
    match column {
        "externalId" => format!("C-{row}"),
        "phoneNumber" => [
            "(617) 253-1000",
            "305-555-0123",
            "+1 213 555 0100",
            "6172531001",
        ][row % 4]
            .to_owned(),
        "consentType" => ["express_written", "ebr"][row % 2].to_owned(),
        "consentSource" => "web form \"signup\", page 2".to_owned(),
        "consentAt" => ["2026-01-01", "2026-01-01T10:00:00-05:00"][row % 2].to_owned(),
        "relationshipDate" => "2025-12-01".to_owned(),
        "state" => ["MA", "FL", "CA", ""][row % 4].to_owned(),
        "timeZone" => ["America/New_York", "", "America/Los_Angeles"][row % 3].to_owned(),
        _ => "x".to_owned(),
    }
}

fn csv_input() -> impl Strategy<Value = CsvInput> {
    let column = prop_oneof![
        8 => proptest::sample::select(&COLUMNS[..]).prop_map(str::to_owned),
        1 => Just("shoeSize".to_owned()),
        1 => Just("PhoneNumber".to_owned()),
        1 => Just(" externalId ".to_owned()),
        1 => nasty_string().prop_map(|s| s.chars().take(20).collect()),
    ];
    let header = prop_oneof![
        3 => Just(COLUMNS.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()),
        2 => Just(COLUMNS[..5].iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()),
        2 => Just(COLUMNS.iter().rev().map(|c| (*c).to_owned()).collect::<Vec<_>>()),
        2 => vec(column, 0..10),
    ];
    let cell = prop_oneof![
        6 => Just(None),
        2 => nasty_string().prop_map(|s| Some(s.chars().take(600).collect())),
        1 => Just(Some("\"".to_owned())),
        1 => Just(Some("a\nb".to_owned())),
    ];
    let row = (0usize..12, vec(cell, 0..10)).prop_map(|(extra, cells)| {
        let mut cells = cells;
        cells.truncate(extra.max(1));
        cells
    });
    (
        header,
        vec(row, 0..8),
        any::<u8>(),
        proptest::sample::select(&["\n", "\r\n", "\r"][..]),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![3 => Just(Vec::new()), 1 => vec(text_op(), 1..=2)],
    )
        .prop_map(
            |(header, rows, quote, line_end, bom, blank_lines, text_ops)| CsvInput {
                header,
                rows,
                quote,
                line_end,
                bom,
                blank_lines,
                text_ops,
            },
        )
}

impl CsvInput {
    fn bytes(&self) -> Vec<u8> {
        let field = |value: &str, i: usize| -> String {
            let must = value.contains([',', '"', '\n', '\r']);
            match self.quote % 4 {
                // Quoted where needed (RFC 4180).
                0 | 1 if must => format!("\"{}\"", value.replace('"', "\"\"")),
                0 | 1 => value.to_owned(),
                // Always quoted.
                2 => format!("\"{}\"", value.replace('"', "\"\"")),
                // Never quoted, or quoted without doubling (broken).
                _ if i % 2 == 0 => value.to_owned(),
                _ => format!("\"{value}\""),
            }
        };
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        let header: Vec<String> = self
            .header
            .iter()
            .enumerate()
            .map(|(i, h)| field(h, i))
            .collect();
        out.push_str(&header.join(","));
        out.push_str(self.line_end);
        for (r, row) in self.rows.iter().enumerate() {
            let n = self.header.len().max(1);
            let cells: Vec<String> = (0..n.max(row.len()))
                .filter(|&i| i < n || row.get(i).is_some_and(Option::is_some))
                .map(|i| {
                    let value = match row.get(i) {
                        Some(Some(v)) => v.clone(),
                        _ => valid_cell(self.header.get(i).map_or("", String::as_str), r),
                    };
                    field(&value, i)
                })
                .take(if row.len() == 1 && r % 3 == 2 {
                    2
                } else {
                    usize::MAX
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push_str(self.line_end);
            if self.blank_lines && r % 2 == 0 {
                out.push_str(self.line_end);
            }
        }
        let mut bytes = out.into_bytes();
        for op in &self.text_ops {
            fuzz_support::apply_text(&mut bytes, op);
        }
        bytes
    }
}

#[test]
fn fuzz_contacts_csv() {
    let tally = Tally::default();
    fuzz("contacts CSV", 200, csv_input(), |input| {
        let bytes = input.bytes();
        match contact_rows::parse(&bytes, Format::Csv) {
            Ok(rows) => check_rows(&rows, &tally)?,
            Err(e) => {
                tally.add(format!("{} {}", e.status, e.error));
                check_rejection(e.status, &e.body()).map_err(fail)?;
            }
        }
        Ok(())
    });
    tally.print("contacts CSV");
}

#[test]
fn fuzz_content_type() {
    fuzz("content type", 150, nasty_string(), |media| {
        if let Err(e) = Format::of(Some(&media)) {
            check_rejection(e.status, &e.body()).map_err(fail)?;
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------
// Provisioning.

#[test]
fn fuzz_provisioning_body() {
    let tally = Tally::default();
    fuzz(
        "provisioning body",
        200,
        json_body(examples::provisioning()),
        |input| {
            match provisioning_request::parse(&input.bytes, now()) {
                Ok(request) => {
                    tally.add("accepted");
                    prop_assert!(!request.config.enabled);
                    prop_assert!(request.config.problems(0).is_empty());
                    prop_assert!(request.caller_id.starts_with("+1"), "{}", request.caller_id);
                    let settings = provisioning_request::initial_settings(&request.config);
                    prop_assert!(settings["abandonRateThreshold"].as_f64() <= Some(3.0));
                    prop_assert!(settings["maximumRingingDuration"].as_u64() >= Some(15));
                }
                Err(e) => {
                    tally.add(format!("{} {}", e.status, e.error));
                    check_api_error(&e, &input)?;
                }
            }
            Ok(())
        },
    );
    tally.print("provisioning body");
}

// ---------------------------------------------------------------------------
// API Gateway events: routing and the envelope.

/// Events lambda_http could not turn into a request, by why.
static UNREADABLE: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// The request lambda_http makes of an event, as the runtime hands it to a
/// handler. An event it refuses (not the JSON of an API Gateway event, a
/// header value with a line break) or on which it panics never reaches a
/// handler: the runtime fails that invocation. lambda_http 1.3.2 panics in
/// `build_request_uri` (`Url::parse(..).unwrap()`) on a `rawPath` that
/// does not start with `/` or a `Host` that is not a host name; API
/// Gateway sends neither (its paths start with `/`, its host is its own).
fn gateway_request(bytes: &[u8]) -> Option<lambda_http::Request> {
    let made = std::panic::catch_unwind(|| lambda_http::request::from_reader(bytes));
    match made {
        Ok(Ok(request)) => Some(request),
        Ok(Err(_)) => {
            UNREADABLE[0].fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(_) => {
            UNREADABLE[1].fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

#[test]
fn fuzz_gateway_routing() {
    let tally = Tally::default();
    fuzz(
        "API Gateway routing",
        400,
        gateway_input(
            examples::gateway_routes(4101, now().timestamp_millis()),
            examples::CLIENT_PARTS,
        ),
        |input| {
            let Some(request) = gateway_request(&input.bytes()) else {
                return Ok(());
            };
            let _ = shared::gateway::Envelope::of(&request);
            let _ = request.query_string_parameters_ref();
            match campaign_api::parse_request(&request) {
                Ok(parsed) => tally.add(format!("routed {:?}", parsed.route)),
                Err(e) => {
                    tally.add(format!("{} {}", e.status, e.error));
                    check_rejection(e.status, &e.body()).map_err(fail)?;
                }
            }
            if let Err(e) = schedule_deployer::parse_call(&request) {
                check_rejection(e.status, &e.body()).map_err(fail)?;
            }
            Ok(())
        },
    );
    tally.print("API Gateway routing");
    eprintln!(
        "fuzz API Gateway routing: lambda_http refused {} event(s), panicked on {}",
        UNREADABLE[0].load(Ordering::Relaxed),
        UNREADABLE[1].load(Ordering::Relaxed)
    );
}

// ---------------------------------------------------------------------------
// webhook-ingest's handler, without AWS.

/// A DynamoDB client that cannot reach anything (a closed local port, no
/// retries): only a request that passes every check gets that far, and it
/// must then answer 503.
fn unreachable_dynamo() -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(Credentials::new("fuzz", "fuzz", None, None, "fuzz"))
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A webhook request: a fuzzed body, signed (mostly) or with a fuzzed
/// header, sent as text or base64, by POST or another method.
#[derive(Clone, Debug)]
struct WebhookRequest {
    body: Fuzzed,
    header: Option<String>,
    signed: bool,
    base64: bool,
    method: &'static str,
}

fn webhook_request() -> impl Strategy<Value = WebhookRequest> {
    let header = prop_oneof![
        6 => Just(None),
        1 => signature_input().prop_map(|(h, _, _)| Some(h)),
        1 => nasty_string().prop_map(Some),
    ];
    let big = prop_oneof![
        20 => Just(None),
        1 => Just(Some(MAX_BODY_BYTES + 1)),
    ];
    (
        json_body(examples::webhook()),
        header,
        prop_oneof![6 => Just(true), 1 => Just(false)],
        any::<bool>(),
        prop_oneof![12 => Just("POST"), 1 => Just("GET"), 1 => Just("PUT")],
        big,
    )
        .prop_map(|(mut body, header, signed, base64, method, big)| {
            if let Some(n) = big {
                body.bytes = vec![b' '; n];
            }
            WebhookRequest {
                signed: signed && header.is_none(),
                header,
                body,
                base64,
                method,
            }
        })
}

fn webhook_event(r: &WebhookRequest) -> String {
    let mut headers = json!({"content-type": "application/json", "host": "x.execute-api.us-east-1.amazonaws.com"});
    if r.signed {
        headers["x-signature"] = json!(signature_header(&[SECRET], T, &r.body.bytes));
    } else if let Some(h) = &r.header {
        headers["x-signature"] = json!(h);
    }
    let body = if r.base64 || std::str::from_utf8(&r.body.bytes).is_err() {
        (base64(&r.body.bytes), true)
    } else {
        (r.body.text(), false)
    };
    json!({
        "version": "2.0", "routeKey": "POST /webhooks/cxone", "rawPath": "/webhooks/cxone",
        "rawQueryString": "", "headers": headers,
        "requestContext": {"accountId": "123456789012", "apiId": "x", "domainName": "x",
            "domainPrefix": "x",
            "http": {"method": r.method, "path": "/webhooks/cxone", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "fuzz"},
            "requestId": "fuzz", "routeKey": "POST /webhooks/cxone", "stage": "$default",
            "time": "03/Mar/2026:15:00:00 +0000", "timeEpoch": T * 1000},
        "body": body.0, "isBase64Encoded": body.1
    })
    .to_string()
}

#[test]
fn fuzz_webhook_handler() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let secrets = Arc::new(StaticSecret(Arc::new(WebhookSecrets {
        webhook_secrets: vec![SecretString::from(SECRET.to_owned())],
    })));
    let app = WebhookIngest::new(secrets, EventStore::new(unreachable_dynamo(), "none"))
        .with_default_budget(std::time::Duration::from_secs(5));
    let tally = Tally::default();
    fuzz("webhook-ingest handler", 200, webhook_request(), |r| {
        // A header value with a line break is no HTTP header: API Gateway
        // never sends one, and lambda_http refuses the event.
        let Some(request) = gateway_request(webhook_event(&r).as_bytes()) else {
            return Ok(());
        };
        let response = runtime.block_on(app.handle(request));
        let status = response.status().as_u16();
        let text = match response.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            Body::Empty => String::new(),
            _ => String::new(),
        };
        tally.add(status.to_string());
        let good = r.method == "POST"
            && r.body.bytes.len() <= MAX_BODY_BYTES
            && r.signed
            && parse_body(&r.body.bytes).is_ok();
        if good {
            // Everything checked passed: only storage (unreachable) failed.
            prop_assert_eq!(status, 503, "{}", text);
            prop_assert!(text.contains("requestId"), "{}", text);
        } else {
            let fields = check_rejection(status, &text).map_err(fail)?;
            if r.signed && r.method == "POST" && r.body.bytes.len() <= MAX_BODY_BYTES {
                prop_assert_eq!(status, 400, "{}", text);
            }
            let _ = fields;
        }
        Ok(())
    });
    tally.print("webhook-ingest handler");
}
