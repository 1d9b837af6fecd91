//! What the fuzz tests share (docs/fuzzing.md): the run's configuration
//! (`FUZZ_CASES`, `FUZZ_SEED`), generators that mutate valid examples
//! rather than throw random bytes, and the check of a rejection's shape.
//!
//! Included with `mod fuzz_support;` by `tests/tests/fuzz_*.rs`, and with a
//! `#[path]` by `shared/src/cxone/fuzz.rs`, so it needs nothing but
//! `proptest` and `serde_json`. Not every includer uses every item.
#![allow(dead_code)]

use std::fmt;
use std::time::Instant;

pub mod examples;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{Map, Value};

/// The seed of every run unless `FUZZ_SEED` says otherwise: the run in
/// `cargo test` is the same on every machine and every day.
pub const DEFAULT_SEED: u64 = 0x5EED_0017_2026;

/// Cases per parser: `FUZZ_CASES` when set, else `default`.
pub fn cases(default: u32) -> u32 {
    match std::env::var("FUZZ_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("FUZZ_CASES must be a whole number, got {v:?}")),
        Err(_) => default,
    }
}

/// The seed: `FUZZ_SEED` (a number, or `random` for a fresh one, printed),
/// else [`DEFAULT_SEED`].
pub fn seed() -> u64 {
    match std::env::var("FUZZ_SEED").as_deref().map(str::trim) {
        Err(_) | Ok("") => DEFAULT_SEED,
        Ok("random") => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1);
            nanos ^ u64::from(std::process::id()).rotate_left(32)
        }
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("FUZZ_SEED must be a number or `random`, got {v:?}")),
    }
}

/// The runner's configuration: the cases, the fixed seed, and no failure
/// persistence (nothing is written into the repository; a failure prints
/// its seed and its minimal input instead).
pub fn config(default_cases: u32) -> Config {
    Config {
        cases: cases(default_cases),
        rng_seed: RngSeed::Fixed(seed()),
        failure_persistence: None,
        max_shrink_iters: 4096,
        max_global_rejects: u32::MAX,
        ..Config::default()
    }
}

/// Runs `test` on `default_cases` inputs (or `FUZZ_CASES`) drawn from
/// `strategy`, prints what ran and how long it took, and fails the test
/// with the seed and the minimal failing input when a property breaks
/// (a panic inside `test` is a failure too).
pub fn fuzz<S: Strategy>(
    name: &str,
    default_cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = config(default_cases);
    let cases = config.cases;
    let seed = match config.rng_seed {
        RngSeed::Fixed(s) => s,
        RngSeed::Random => 0,
    };
    let mut runner = TestRunner::new(config);
    let start = Instant::now();
    let result = runner.run(&strategy, test);
    eprintln!(
        "fuzz {name}: {cases} cases, seed {seed}, {:.2} s",
        start.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("fuzz {name} failed (FUZZ_SEED={seed}): {e}");
    }
}

/// Counts of what happened to the inputs (accepted, the statuses of
/// rejections, ...), printed after a run so that its figures show that the
/// generators reach both sides of each parser.
#[derive(Default)]
pub struct Tally(std::sync::Mutex<std::collections::BTreeMap<String, usize>>);

impl Tally {
    /// Counts one input under `outcome`.
    pub fn add(&self, outcome: impl Into<String>) {
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry(outcome.into()).or_default() += 1;
        }
    }

    /// Prints the counts, after the run of `name`.
    pub fn print(&self, name: &str) {
        if let Ok(counts) = self.0.lock() {
            let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            eprintln!("fuzz {name}: {}", parts.join(", "));
        }
    }
}

// ---------------------------------------------------------------------------
// Values that break parsers.

/// Strings that have broken parsers before: empty and blank, BOMs and
/// control characters, NaN-ish and huge numbers as text, right-to-left and
/// combining marks, look-alike digits, quotes and separators, dates and
/// times just outside their ranges, zone and state names nearly right, and
/// long strings (over the 128- and 500-character limits, over 64 KiB).
pub fn nasty_string() -> impl Strategy<Value = String> {
    const FIXED: &[&str] = &[
        "",
        " ",
        "\t\r\n",
        "\u{feff}",
        "\u{feff}1001",
        "\u{0}",
        "null",
        "true",
        "NaN",
        "-NaN",
        "nan",
        "Infinity",
        "-inf",
        "1e309",
        "-1e309",
        "-0",
        "0x1F",
        "1_000",
        "99999999999999999999",
        "-9223372036854775809",
        "18446744073709551616",
        "\u{661}\u{662}\u{663}",
        "\u{ff11}\u{ff10}\u{ff10}\u{ff11}",
        "\u{1d7d8}\u{1d7d9}",
        "\u{202e}abc",
        "Z\u{301}\u{302}\u{303}",
        "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467}",
        "\u{130}stanbul",
        "stra\u{df}e",
        "\"",
        "\"quoted\"",
        "a,b",
        "a\"b\"\"c",
        "a\r\nb",
        "'; DROP TABLE x; --",
        "%00%ff",
        "../../etc/passwd",
        "9:00",
        "09:00",
        "24:00",
        "23:60",
        "00:00",
        "23:59",
        "21:00",
        "08:00",
        "2026-02-30",
        "2026-13-01",
        "2026-03-03",
        "2026-03-03T10:00:00Z",
        "2026-03-03T10:00:00",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59+14:00",
        "2025-03-04T12:34:56.123456789-23:59",
        "America/New_York",
        "America/New_York ",
        "america/new_york",
        "America/Chicago",
        "Pacific/Honolulu",
        "America/Puerto_Rico",
        "Europe/Paris",
        "UTC",
        "Etc/GMT+12",
        "EST5EDT",
        "Mars/Olympus",
        "FL",
        "fl",
        "NY",
        "PR",
        "XX",
        "express_written",
        "ebr",
        "EBR",
        "refuse",
        "clip",
        "monday",
        "Monday",
        "success",
        "no_answer",
        "contact.completed",
        "skill.state",
        "skill.metrics",
        "(617) 253-1000",
        "+16172531000",
        "+1 617 253 1000 ext. 5",
        "+442071838750",
        "1-800-555-0199",
        "+1",
        "+0123456789",
        "6172531000",
        "00:01:30.5",
        "1:2:3:4",
        "t=1,v1=00",
    ];
    prop_oneof![
        6 => proptest::sample::select(FIXED).prop_map(str::to_owned),
        2 => any::<String>(),
        2 => "[ -~]{0,40}",
        1 => (1usize..4, proptest::sample::select(&[129usize, 501, 1025][..]))
            .prop_map(|(w, n)| ["a", "\u{e9}", "\u{1f600}", "\u{feff}"][w].repeat(n)),
        1 => Just("x".repeat(70 * 1024)),
    ]
}

/// Numbers at and beyond the edges: zero and negative zero, the integer
/// limits, the largest and smallest doubles, fractions where whole numbers
/// are expected, and any finite double or integer.
pub fn nasty_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => proptest::sample::select(&[
            0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, 3.0, 3.000_000_1, 10.0, 10.5, 14.0, 15.0, 15.5,
            120.0, 121.0, 1440.0, 1441.0, 1e9, 1e15, 9_007_199_254_740_993.0, 1e20, 1e308,
            -1e308, 5e-324, f64::EPSILON,
        ][..])
        .prop_map(Value::from),
        2 => proptest::sample::select(&[
            0i64, 1, -1, 4, 5, 9, 10, 49, 50, 500, 501, 1001, 1002, 4101, 4242, 7001,
            2_147_483_647, 4_294_967_295, 4_294_967_296, i64::MAX, i64::MIN,
        ][..])
        .prop_map(Value::from),
        1 => Just(Value::from(u64::MAX)),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter_map("finite", |x| x.is_finite().then(|| Value::from(x))),
    ]
}

/// Any JSON value, at most a few levels deep.
pub fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        nasty_number(),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(key_name(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value to put where a valid one was: a nasty leaf, an empty or nested
/// container, or any JSON value.
pub fn nasty_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => Just(Value::Null),
        2 => any::<bool>().prop_map(Value::Bool),
        5 => nasty_number(),
        6 => nasty_string().prop_map(Value::String),
        1 => Just(Value::Array(Vec::new())),
        1 => Just(Value::Object(Map::new())),
        1 => Just(serde_json::json!([[[[[]]]]])),
        2 => arb_json(),
    ]
}

/// A field name to add: a real field of the bundle's bodies (so known
/// fields turn up in the wrong place), the same with another case or
/// spacing, or anything.
pub fn key_name() -> impl Strategy<Value = String> {
    const KEYS: &[&str] = &[
        "enabled",
        "timeZone",
        "recipientTimeZones",
        "recipientStates",
        "pacing",
        "failover",
        "targetAbandonPct",
        "minRatio",
        "maxRatio",
        "minRingSeconds",
        "overrideHoldMinutes",
        "firstDialDate",
        "days",
        "start",
        "end",
        "onViolation",
        "maximumRatio",
        "abandonRateThreshold",
        "maximumRingingDuration",
        "aggressiveness",
        "contacts",
        "externalId",
        "phoneNumber",
        "consentType",
        "consentAt",
        "events",
        "eventId",
        "type",
        "data",
        "skillId",
        "reason",
        "colour",
        "Enabled",
        "enabled ",
        "",
        "__proto__",
        "\u{feff}enabled",
        "resultSet",
        "totalRecords",
        "_links",
        "errorCount",
        "uploadResults",
        "success",
    ];
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-zA-Z_]{1,12}",
        1 => any::<String>(),
    ]
}

// ---------------------------------------------------------------------------
// Mutations of valid examples.

/// One step of a path into a JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// An object's field.
    Key(String),
    /// An array's element.
    Index(usize),
}

/// A path as the bundle's error details spell it: `pacing.maxRatio`,
/// `recipientTimeZones[1]`, `events[2].data.outcome` (`body` for the root).
pub fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                // Blank names quoted, as `shared::api_error::field_name` does.
                if k.trim().is_empty() {
                    out.push_str(&Value::String(k.clone()).to_string());
                } else {
                    out.push_str(k);
                }
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        "body".to_owned()
    } else {
        out
    }
}

/// Every path in `value`, the root first.
pub fn paths(value: &Value) -> Vec<Vec<Seg>> {
    fn walk(value: &Value, at: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
        out.push(at.clone());
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    at.push(Seg::Key(k.clone()));
                    walk(v, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    at.push(Seg::Index(i));
                    walk(v, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

fn get_mut<'a>(value: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut at = value;
    for seg in path {
        at = match (seg, at) {
            (Seg::Key(k), Value::Object(map)) => map.get_mut(k)?,
            (Seg::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(at)
}

/// The key prefix that marks a duplicate: [`to_text`] turns
/// `"\u0000dup:name"` into a second `"name"` in the JSON text, which a
/// `serde_json::Value` cannot hold.
const DUP: &str = "\u{0}dup:";

/// What a mutation does at the path it lands on.
#[derive(Clone, Debug)]
pub enum Op {
    /// Removes the field or element.
    Drop,
    /// Puts another value there.
    Replace(Value),
    /// Puts a value of another JSON type there, made from the one there
    /// (`2.5` becomes `"2.5"`, `"12"` becomes `12`, an object an array).
    Retype(u8),
    /// Sends the field twice, the copy with this value.
    Duplicate(Value),
    /// Adds a field to the object there (or to the one it is in).
    AddField(String, Value),
    /// Appends to the array there (or to the one it is in); several copies
    /// of its last element when `copies` > 1.
    Append(Value, u16),
    /// Wraps the value in an array.
    Nest,
    /// Puts a value of the same JSON type there: this number for a number,
    /// this string for a string, the other boolean, an array with an
    /// element dropped or repeated (so that values, not only shapes, go
    /// wrong).
    SameType(Value, String),
}

/// A mutation: where (an index into the value's paths, modulo their
/// number) and what.
#[derive(Clone, Debug)]
pub struct Mutation {
    /// Which path.
    pub at: u32,
    /// What to do there.
    pub op: Op,
}

/// Any mutation.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let op = prop_oneof![
        3 => Just(Op::Drop),
        5 => nasty_value().prop_map(Op::Replace),
        3 => any::<u8>().prop_map(Op::Retype),
        1 => nasty_value().prop_map(Op::Duplicate),
        2 => (key_name(), nasty_value()).prop_map(|(k, v)| Op::AddField(k, v)),
        1 => (nasty_value(), prop_oneof![4 => Just(1u16), 1 => Just(600u16)])
            .prop_map(|(v, n)| Op::Append(v, n)),
        1 => Just(Op::Nest),
        5 => (nasty_number(), nasty_string()).prop_map(|(n, s)| Op::SameType(n, s)),
    ];
    (any::<u32>(), op).prop_map(|(at, op)| Mutation { at, op })
}

fn retyped(value: &Value, variant: u8) -> Value {
    use serde_json::json;
    let v = usize::from(variant);
    match value {
        Value::Null => [json!("null"), json!(0), json!(false), json!({})][v % 4].clone(),
        Value::Bool(b) => [json!(b.to_string()), json!(u8::from(*b)), json!([b])][v % 3].clone(),
        Value::Number(n) => [
            json!(n.to_string()),
            json!(format!(" {n} ")),
            json!([n]),
            json!(n.as_f64().is_some_and(|x| x != 0.0)),
            json!({"value": n}),
        ][v % 5]
            .clone(),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && v % 2 == 0 => json!(x),
            _ => [
                json!([s]),
                json!(s.len()),
                json!(true),
                json!({ s.as_str(): s }),
            ][v % 4]
                .clone(),
        },
        Value::Array(items) => [
            json!(items.first().cloned().unwrap_or(Value::Null)),
            json!(items
                .iter()
                .enumerate()
                .map(|(i, x)| (i.to_string(), x.clone()))
                .collect::<Map<_, _>>()),
            json!(Value::Array(items.clone()).to_string()),
        ][v % 3]
            .clone(),
        Value::Object(map) => [
            json!(map.values().cloned().collect::<Vec<_>>()),
            json!(Value::Object(map.clone()).to_string()),
            json!([Value::Object(map.clone())]),
        ][v % 3]
            .clone(),
    }
}

/// Applies `m` to `value`; returns the path it changed and what it did
/// (`None` when it changed nothing, e.g. dropping the root).
pub fn apply(value: &mut Value, m: &Mutation) -> Option<(String, &'static str)> {
    apply_within(value, m, &[])
}

/// As [`apply`], at a path under one of `prefixes` (dotted, as
/// [`path_text`] writes them; any path when `prefixes` is empty).
pub fn apply_within(
    value: &mut Value,
    m: &Mutation,
    prefixes: &[&str],
) -> Option<(String, &'static str)> {
    let all: Vec<Vec<Seg>> = paths(value)
        .into_iter()
        .filter(|p| {
            prefixes.is_empty() || {
                let text = path_text(p);
                prefixes.iter().any(|prefix| {
                    text.strip_prefix(prefix).is_some_and(|rest| {
                        rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
                    })
                })
            }
        })
        .collect();
    if all.is_empty() {
        return None;
    }
    let path = all[m.at as usize % all.len()].clone();
    let (parent_path, last) = match path.split_last() {
        Some((last, parent)) => (parent.to_vec(), Some(last.clone())),
        None => (Vec::new(), None),
    };
    match &m.op {
        Op::Drop => {
            let last = last?;
            match (get_mut(value, &parent_path)?, &last) {
                (Value::Object(map), Seg::Key(k)) => {
                    map.remove(k);
                }
                (Value::Array(items), Seg::Index(i)) if *i < items.len() => {
                    items.remove(*i);
                }
                _ => return None,
            }
            Some((path_text(&path), "drop"))
        }
        Op::Replace(v) => {
            *get_mut(value, &path)? = v.clone();
            Some((path_text(&path), "replace"))
        }
        Op::Retype(variant) => {
            let at = get_mut(value, &path)?;
            *at = retyped(at, *variant);
            Some((path_text(&path), "retype"))
        }
        Op::Duplicate(v) => {
            let Some(Seg::Key(k)) = last else {
                return None;
            };
            let Value::Object(map) = get_mut(value, &parent_path)? else {
                return None;
            };
            map.insert(format!("{DUP}{k}"), v.clone());
            Some((path_text(&path), "duplicate"))
        }
        Op::AddField(k, v) => {
            let (object_path, object) = match get_mut(value, &path) {
                Some(Value::Object(_)) => (path.clone(), get_mut(value, &path)?),
                _ => (parent_path.clone(), get_mut(value, &parent_path)?),
            };
            let Value::Object(map) = object else {
                return None;
            };
            if map.contains_key(k) {
                return None;
            }
            map.insert(k.clone(), v.clone());
            let mut added = object_path;
            added.push(Seg::Key(k.clone()));
            Some((path_text(&added), "add"))
        }
        Op::Append(v, copies) => {
            let array_path = match get_mut(value, &path) {
                Some(Value::Array(_)) => path.clone(),
                _ => parent_path.clone(),
            };
            let Value::Array(items) = get_mut(value, &array_path)? else {
                return None;
            };
            if *copies > 1 {
                let last = items.last().cloned().unwrap_or_else(|| v.clone());
                items.extend(std::iter::repeat_n(last, usize::from(*copies)));
            } else {
                items.push(v.clone());
            }
            Some((path_text(&array_path), "append"))
        }
        Op::Nest => {
            let at = get_mut(value, &path)?;
            *at = Value::Array(vec![at.take()]);
            Some((path_text(&path), "nest"))
        }
        Op::SameType(number, text) => {
            let at = get_mut(value, &path)?;
            match at {
                Value::Number(_) => *at = number.clone(),
                Value::String(_) => *at = Value::String(text.clone()),
                Value::Bool(b) => *b = !*b,
                Value::Array(items) if !items.is_empty() => {
                    let i = m.at as usize % items.len();
                    if m.at % 2 == 0 {
                        items.remove(i);
                    } else {
                        let copy = items[i].clone();
                        items.push(copy);
                    }
                }
                _ => return None,
            }
            Some((path_text(&path), "same type"))
        }
    }
}

/// A change to the JSON text itself: what a `Value` cannot express.
#[derive(Clone, Debug)]
pub enum TextOp {
    /// A UTF-8 byte-order mark first.
    Bom,
    /// Pretty-printed with CRLF line ends and tabs.
    CrlfPretty,
    /// Cut after this many bytes (modulo the length).
    Truncate(u32),
    /// One byte replaced (position modulo the length).
    SetByte(u32, u8),
    /// One byte inserted.
    InsertByte(u32, u8),
    /// The first number replaced by this raw text (`NaN`, `1e400`, `-0`,
    /// `01`, `.5`, ...), or, without a number, the text put first.
    RawNumber(&'static str),
    /// Something after the document.
    Trailing(&'static str),
    /// The document inside an array.
    WrapArray,
    /// Nested arrays deeper than any parser's recursion limit.
    Deep,
}

/// Any text change.
pub fn text_op() -> impl Strategy<Value = TextOp> {
    prop_oneof![
        2 => Just(TextOp::Bom),
        2 => Just(TextOp::CrlfPretty),
        2 => any::<u32>().prop_map(TextOp::Truncate),
        2 => (any::<u32>(), any::<u8>()).prop_map(|(p, b)| TextOp::SetByte(p, b)),
        2 => (any::<u32>(), proptest::sample::select(&b"\"\\,:{}[]\x00\xff\xc3\r\n "[..]))
            .prop_map(|(p, b)| TextOp::InsertByte(p, b)),
        3 => proptest::sample::select(&[
            "NaN", "-NaN", "Infinity", "-Infinity", "1e400", "-1e400", "-0", "01", ".5", "5.",
            "1e", "0x10", "+1", "1_0", "123456789012345678901234567890", "4e-400", "null",
            "\"NaN\"", "\"\"", "[]",
        ][..])
        .prop_map(TextOp::RawNumber),
        1 => proptest::sample::select(&["", " ", "\n", "}", "]", ",", "x", "\0", "{}", "\u{feff}"][..])
            .prop_map(TextOp::Trailing),
        1 => Just(TextOp::WrapArray),
        1 => Just(TextOp::Deep),
    ]
}

/// `value` as JSON text, with duplicate-key markers turned into duplicate keys.
pub fn to_text(value: &Value) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace("\"\\u0000dup:", "\"")
}

/// Applies a text change.
pub fn apply_text(bytes: &mut Vec<u8>, op: &TextOp) {
    let at = |p: u32, len: usize| if len == 0 { 0 } else { p as usize % (len + 1) };
    match op {
        TextOp::Bom => {
            bytes.splice(0..0, *b"\xEF\xBB\xBF");
        }
        TextOp::CrlfPretty => {
            if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
                let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
                *bytes = pretty
                    .replace("\"\\u0000dup:", "\"")
                    .replace("  ", "\t")
                    .replace('\n', "\r\n")
                    .into_bytes();
            } else {
                *bytes = String::from_utf8_lossy(bytes)
                    .replace('\n', "\r\n")
                    .into_bytes();
            }
        }
        TextOp::Truncate(p) => {
            let cut = at(*p, bytes.len());
            bytes.truncate(cut);
        }
        TextOp::SetByte(p, b) => {
            if !bytes.is_empty() {
                let i = *p as usize % bytes.len();
                bytes[i] = *b;
            }
        }
        TextOp::InsertByte(p, b) => {
            let i = at(*p, bytes.len());
            bytes.insert(i, *b);
        }
        TextOp::RawNumber(raw) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let start = text.char_indices().find(|(i, c)| {
                (c.is_ascii_digit() || *c == '-')
                    && text[..*i]
                        .chars()
                        .next_back()
                        .is_some_and(|p| matches!(p, ':' | '[' | ',' | ' '))
            });
            let replaced = match start {
                Some((i, _)) => {
                    let end = text[i..]
                        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
                        .map_or(text.len(), |n| i + n);
                    format!("{}{raw}{}", &text[..i], &text[end..])
                }
                None => format!("{raw}{text}"),
            };
            *bytes = replaced.into_bytes();
        }
        TextOp::Trailing(t) => bytes.extend_from_slice(t.as_bytes()),
        TextOp::WrapArray => {
            bytes.insert(0, b'[');
            bytes.push(b']');
        }
        TextOp::Deep => {
            let mut deep = b"[".repeat(200);
            deep.extend_from_slice(bytes);
            deep.extend(b"]".repeat(200));
            *bytes = deep;
        }
    }
}

/// How a fuzzed input was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A valid example, mutated.
    Mutated,
    /// Any JSON value.
    Json,
    /// Any bytes.
    Bytes,
}

/// A fuzzed body, with what was done to make it.
#[derive(Clone)]
pub struct Fuzzed {
    /// The body.
    pub bytes: Vec<u8>,
    /// How it was made.
    pub origin: Origin,
    /// Which example it started from (mutated inputs).
    pub example: usize,
    /// The value-level mutations applied: path and kind.
    pub mutated: Vec<(String, &'static str)>,
    /// How many text changes were applied.
    pub text_ops: usize,
}

impl Fuzzed {
    /// Whether exactly one value-level mutation was made, and nothing to the
    /// text: then a shape rejection must name the field at that path (or
    /// one above or below it).
    pub fn single_mutation(&self) -> Option<&str> {
        match (
            self.origin == Origin::Mutated,
            self.text_ops,
            self.mutated.as_slice(),
        ) {
            (true, 0, [(path, _)]) => Some(path),
            _ => None,
        }
    }

    /// The body as text (lossy), for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl fmt::Debug for Fuzzed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        let shown: String = text.chars().take(3000).collect();
        f.debug_struct("Fuzzed")
            .field("origin", &self.origin)
            .field("example", &self.example)
            .field("mutated", &self.mutated)
            .field("text_ops", &self.text_ops)
            .field("len", &self.bytes.len())
            .field("body", &shown)
            .finish()
    }
}

/// Builds a mutated example (mutations under `prefixes` only, when given).
pub fn mutate(
    examples: &[Value],
    example: usize,
    mutations: &[Mutation],
    text_ops: &[TextOp],
    prefixes: &[&str],
) -> Fuzzed {
    let example = example % examples.len();
    let mut value = examples[example].clone();
    let mutated = mutations
        .iter()
        .filter_map(|m| apply_within(&mut value, m, prefixes))
        .collect();
    let mut bytes = to_text(&value).into_bytes();
    for op in text_ops {
        apply_text(&mut bytes, op);
    }
    Fuzzed {
        bytes,
        origin: Origin::Mutated,
        example,
        mutated,
        text_ops: text_ops.len(),
    }
}

/// JSON bodies: mostly `examples` mutated (one to three value mutations,
/// then a text change one time in three), some any JSON value, some any
/// bytes.
pub fn json_body(examples: Vec<Value>) -> impl Strategy<Value = Fuzzed> {
    json_body_within(examples, &[])
}

/// As [`json_body`], with the value mutations at or under `prefixes` two
/// times in three (an API Gateway event's parts that a client sends:
/// path, query, headers, body), anywhere the third time.
pub fn json_body_within(
    examples: Vec<Value>,
    prefixes: &'static [&'static str],
) -> impl Strategy<Value = Fuzzed> {
    let n = examples.len();
    let mutated = (
        0..n,
        vec(mutation(), 0..=3),
        prop_oneof![2 => Just(Vec::new()), 1 => vec(text_op(), 1..=2)],
        prop_oneof![2 => Just(prefixes), 1 => Just(&[][..])],
    )
        .prop_map(move |(example, mutations, text_ops, within)| {
            mutate(&examples, example, &mutations, &text_ops, within)
        });
    prop_oneof![
        8 => mutated,
        1 => (arb_json(), prop_oneof![2 => Just(Vec::new()), 1 => vec(text_op(), 1..=1)])
            .prop_map(|(value, ops)| {
                let mut bytes = to_text(&value).into_bytes();
                for op in &ops {
                    apply_text(&mut bytes, op);
                }
                Fuzzed { bytes, origin: Origin::Json, example: 0, mutated: Vec::new(), text_ops: ops.len() }
            }),
        1 => vec(any::<u8>(), 0..600).prop_map(|bytes| Fuzzed {
            bytes,
            origin: Origin::Bytes,
            example: 0,
            mutated: Vec::new(),
            text_ops: 0,
        }),
    ]
}

/// API Gateway events: the example mutated as a value only (API Gateway
/// always sends well-formed JSON of its own shape) at or under `prefixes`
/// three times in four, anywhere the fourth; or, one time in ten, any JSON
/// object.
pub fn event_mutations(
    examples: Vec<Value>,
    prefixes: &'static [&'static str],
) -> impl Strategy<Value = Fuzzed> {
    // Mostly what a client can send: other strings where strings are (API
    // Gateway sends every header, path and query value as a string), parts
    // left out or added; sometimes anything.
    let op = prop_oneof![
        6 => (nasty_number(), nasty_string()).prop_map(|(n, s)| Op::SameType(n, s)),
        2 => Just(Op::Drop),
        2 => (key_name(), nasty_string())
            .prop_map(|(k, v)| Op::AddField(k.to_ascii_lowercase(), Value::String(v))),
        1 => nasty_string().prop_map(|v| Op::Duplicate(Value::String(v))),
        1 => nasty_value().prop_map(Op::Replace),
        1 => any::<u8>().prop_map(Op::Retype),
    ];
    let n = examples.len();
    let mutated = (
        0..n,
        vec(
            (any::<u32>(), op).prop_map(|(at, op)| Mutation { at, op }),
            0..=3,
        ),
        prop_oneof![3 => Just(prefixes), 1 => Just(&[][..])],
    )
        .prop_map(move |(example, mutations, within)| {
            mutate(&examples, example, &mutations, &[], within)
        });
    prop_oneof![
        9 => mutated,
        1 => btree_map(key_name(), arb_json(), 0..8).prop_map(|m| Fuzzed {
            bytes: to_text(&Value::Object(m.into_iter().collect())).into_bytes(),
            origin: Origin::Json,
            example: 0,
            mutated: Vec::new(),
            text_ops: 0,
        }),
    ]
}

/// A request to an HTTP handler: an API Gateway event (its envelope
/// mutated), and perhaps a fuzzed body of the route's own kind put in it.
#[derive(Clone, Debug)]
pub struct GatewayInput {
    /// The event.
    pub event: Fuzzed,
    /// The body to put in it, if any.
    pub body: Option<Fuzzed>,
}

impl GatewayInput {
    /// The event's text, with the body put in (as base64 when it is not
    /// text, or when the event says `isBase64Encoded`).
    pub fn bytes(&self) -> Vec<u8> {
        let Some(body) = &self.body else {
            return self.event.bytes.clone();
        };
        let Ok(mut event) = serde_json::from_slice::<Value>(&self.event.bytes) else {
            return self.event.bytes.clone();
        };
        if !event.is_object() {
            return self.event.bytes.clone();
        }
        let encoded = event["isBase64Encoded"] == Value::Bool(true);
        match std::str::from_utf8(&body.bytes) {
            Ok(text) if !encoded => event["body"] = Value::String(text.to_owned()),
            _ => {
                event["body"] = Value::String(base64(&body.bytes));
                event["isBase64Encoded"] = Value::Bool(true);
            }
        }
        event.to_string().into_bytes()
    }
}

/// Requests for each `(event, bodies)`: the event's client parts
/// (`prefixes`) mutated, and two times in three (when the route takes a
/// body) a body made by [`json_body`] from `bodies`.
pub fn gateway_input(
    routes: Vec<(Value, Vec<Value>)>,
    prefixes: &'static [&'static str],
) -> impl Strategy<Value = GatewayInput> {
    let each: Vec<BoxedStrategy<GatewayInput>> = routes
        .into_iter()
        .map(|(event, bodies)| {
            let body = if bodies.is_empty() {
                Just(None).boxed()
            } else {
                prop_oneof![1 => Just(None), 2 => json_body(bodies).prop_map(Some)].boxed()
            };
            (event_mutations(vec![event], prefixes), body)
                .prop_map(|(event, body)| GatewayInput { event, body })
                .boxed()
        })
        .collect();
    proptest::strategy::Union::new(each)
}

// ---------------------------------------------------------------------------
// Rejections.

/// The fields a rejection's `details` name: each entry's `field`, `column`
/// (a CSV header problem) or `header` (a request header), non-empty.
pub fn named_fields(body: &Value) -> Vec<String> {
    body.get("details")
        .and_then(Value::as_array)
        .map(|details| {
            details
                .iter()
                .filter_map(|d| {
                    ["field", "column", "header"]
                        .iter()
                        .find_map(|k| d.get(*k).and_then(Value::as_str))
                })
                .filter(|f| !f.trim().is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a rejection of this status is about the request itself, so
/// that it must name the field at fault: 400, 401, 405, 413, 422. (404,
/// 409 and 429 are about what the bundle holds or is doing: no such
/// campaign, a change in progress, throttling.)
pub fn must_name_a_field(status: u16) -> bool {
    matches!(status, 400 | 401 | 405 | 413 | 422)
}

/// Checks an HTTP rejection: a 4xx whose body is the error object
/// `{"error", "message", "details": [...]}` and, when
/// [`must_name_a_field`], whose details name a field. The fields named.
pub fn check_rejection(status: u16, body: &str) -> Result<Vec<String>, String> {
    if !(400..500).contains(&status) {
        return Err(format!("status {status} is not a 4xx: {body}"));
    }
    let value: Value = serde_json::from_str(body)
        .map_err(|e| format!("{status} body is not JSON ({e}): {body}"))?;
    let shaped = value.get("error").is_some_and(Value::is_string)
        && value
            .get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.trim().is_empty())
        && value.get("details").is_some_and(Value::is_array);
    if !shaped {
        return Err(format!("{status} body is not an error object: {body}"));
    }
    let fields = named_fields(&value);
    if must_name_a_field(status) && fields.is_empty() {
        return Err(format!("{status} names no field: {body}"));
    }
    Ok(fields)
}

/// Whether a field named by a rejection and a mutated path are the same
/// place, or one lies inside the other (`pacing` and `pacing.maxRatio`).
pub fn related(field: &str, path: &str) -> bool {
    let inside = |inner: &str, outer: &str| {
        inner == outer
            || outer == "body"
            || inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    inside(field, path) || inside(path, field)
}

/// Base64 (standard alphabet, padded), for API Gateway's binary bodies.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
