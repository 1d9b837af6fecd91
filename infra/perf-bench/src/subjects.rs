//! What each measured function is: the template's functions, the event of
//! each invocation and the answer expected, and the Python handler beside them.

use super::*;

/// A function of the template: logical id, binary and memory size.
#[derive(Clone, Debug)]
pub(crate) struct TemplateFunction {
    pub(crate) logical_id: String,
    pub(crate) binary: String,
    pub(crate) memory_mb: u64,
}

/// Every `rust-cargolambda` function of `template.yaml`, in its order.
pub(crate) fn template_functions() -> Result<Vec<TemplateFunction>, String> {
    let path = Path::new(ROOT).join("template.yaml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).map_err(|e| format!("template.yaml: {e}"))?;
    let global_memory = doc["Globals"]["Function"]["MemorySize"]
        .as_u64()
        .unwrap_or(128);
    let resources = doc["Resources"]
        .as_mapping()
        .ok_or("template.yaml has no Resources")?;
    let mut out = Vec::new();
    for (id, res) in resources {
        if res["Type"].as_str() != Some("AWS::Serverless::Function")
            || res["Metadata"]["BuildMethod"].as_str() != Some("rust-cargolambda")
        {
            continue;
        }
        let logical_id = id.as_str().unwrap_or_default().to_owned();
        let binary = res["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .ok_or_else(|| format!("{logical_id}: no BuildProperties.Binary"))?
            .to_owned();
        let memory_mb = res["Properties"]["MemorySize"]
            .as_u64()
            .unwrap_or(global_memory);
        out.push(TemplateFunction {
            logical_id,
            binary,
            memory_mb,
        });
    }
    Ok(out)
}

/// What one invocation of a function is, and how it is started.
pub(crate) struct Subject {
    pub(crate) name: String,
    pub(crate) logical_id: Option<String>,
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) memory_mb: u64,
    /// What the invocation does, for the table.
    pub(crate) what: &'static str,
    /// A fresh event for each invocation (unique ids where the function is
    /// idempotent, so that every invocation does the work).
    pub(crate) event: Box<dyn Fn(usize) -> Value + Send + Sync>,
    /// Whether an answer counts as the expected one.
    pub(crate) check: fn(&Value) -> bool,
}

/// The functions whose invocation is the Python handler's work (one
/// DynamoDB GetItem): the warm ratio compares like with like only for them.
pub(crate) fn like_python(name: &str) -> bool {
    matches!(name, "campaign-api" | "contact-intake")
}

pub(crate) fn ok_http(v: &Value) -> bool {
    v["statusCode"]
        .as_u64()
        .is_some_and(|c| (200..300).contains(&c))
}

pub(crate) fn ok_200(v: &Value) -> bool {
    v["statusCode"].as_u64() == Some(200)
}

pub(crate) fn ok_tick(v: &Value) -> bool {
    v.get("campaigns").is_some_and(Value::is_array)
}

pub(crate) fn ok_sqs(v: &Value) -> bool {
    v["batchItemFailures"]
        .as_array()
        .is_some_and(|a| a.is_empty())
}

/// The sample event of `infra/events/NAME.json`.
pub(crate) fn sample_event(name: &str) -> Value {
    let path = Path::new(ROOT)
        .join("infra/events")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// The workload of each binary the template declares. A binary without one
/// stops the run: a new function is measured, never skipped silently.
pub(crate) fn rust_subject(
    f: &TemplateFunction,
    release_dir: &Path,
    sim_now: DateTime<Utc>,
) -> Subject {
    let program = release_dir.join(&f.binary);
    let base = |what: &'static str,
                event: Box<dyn Fn(usize) -> Value + Send + Sync>,
                check: fn(&Value) -> bool| Subject {
        name: f.binary.clone(),
        logical_id: Some(f.logical_id.clone()),
        program: program.clone(),
        args: Vec::new(),
        dir: None,
        memory_mb: f.memory_mb,
        what,
        event,
        check,
    };
    match f.binary.as_str() {
        "capacity-tuner" => base(
            "scheduled tick, 1 campaign: guard + pacing (CXone reads, lease, audit)",
            Box::new(move |i| scheduled_event(&unique(&format!("tick-{i}")), sim_now)),
            ok_tick,
        ),
        "failover-checker" => base(
            "scheduled tick, 1 campaign with a failover: counters read, decision",
            Box::new(move |i| scheduled_event(&unique(&format!("check-{i}")), sim_now)),
            ok_tick,
        ),
        "campaign-api" => base(
            "GET /campaigns/{id}/config: 1 DynamoDB GetItem",
            Box::new(|_| {
                http_event(
                    "GET",
                    "/campaigns/{skillId}/config",
                    &format!("/campaigns/{SKILL}/config"),
                    Some(&SKILL.to_string()),
                    None,
                    now_ms(),
                )
            }),
            ok_200,
        ),
        "contact-intake" => base(
            "SQS record of an unknown upload: 1 DynamoDB GetItem, dropped",
            Box::new(|i| {
                let mut e = sample_event("contact-intake");
                let body = json!({"skillId": SKILL, "keyId": format!("{:064x}", i + 1)});
                e["Records"][0]["body"] = json!(body.to_string());
                e["Records"][0]["messageId"] = json!(unique("msg"));
                e
            }),
            ok_sqs,
        ),
        "schedule-deployer" => base(
            "PUT /campaigns/{id}/schedule, new Idempotency-Key: claim, CXone writes, audit",
            Box::new(|_| {
                let sample = sample_event("schedule-deployer");
                let mut e = http_event(
                    "PUT",
                    "/campaigns/{skillId}/schedule",
                    &format!("/campaigns/{SKILL}/schedule"),
                    Some(&SKILL.to_string()),
                    sample["body"].as_str(),
                    now_ms(),
                );
                e["headers"]["idempotency-key"] = json!(unique("sched"));
                e
            }),
            ok_200,
        ),
        "webhook-ingest" => base(
            "POST /webhooks/cxone, 2 new signed events: verify, parse, dedupe + counters",
            Box::new(|_| webhook_event()),
            ok_http,
        ),
        other => {
            eprintln!(
                "perf-bench: no workload for the template's binary {other:?}: add one in \
                 infra/perf-bench/src/main.rs"
            );
            std::process::exit(1)
        }
    }
}

/// A webhook delivery of two new `contact.completed` events, signed now.
pub(crate) fn webhook_event() -> Value {
    let now = Utc::now();
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let events: Vec<Value> = ["success", "abandoned"]
        .iter()
        .map(|outcome| {
            json!({
                "eventId": unique("evt"), "type": "contact.completed", "occurredAt": at,
                "skillId": SKILL,
                "data": {"contactId": unique("c"), "outcome": outcome,
                         "talkSeconds": 184, "wrapSeconds": 22.5}
            })
        })
        .collect();
    let body = json!({ "events": events }).to_string();
    let header =
        shared::webhook::signature_header(&[WEBHOOK_SECRET], now.timestamp(), body.as_bytes());
    let mut e = http_event(
        "POST",
        "/webhooks/cxone",
        "/webhooks/cxone",
        None,
        Some(&body),
        now.timestamp_millis(),
    );
    e["headers"]["x-signature"] = json!(header);
    e
}

pub(crate) fn python_subject(python: &Path) -> Subject {
    Subject {
        name: PYTHON.into(),
        logical_id: None,
        program: python.to_path_buf(),
        args: vec!["-m".into(), "awslambdaric".into(), "handler.handler".into()],
        dir: Some(Path::new(ROOT).join("infra/perf-bench/python")),
        memory_mb: 256,
        what: "Python 3 + boto3 under awslambdaric: clients and secret at init, 1 DynamoDB GetItem",
        event: Box::new(|_| {
            http_event(
                "GET",
                "/campaigns/{skillId}/config",
                &format!("/campaigns/{SKILL}/config"),
                Some(&SKILL.to_string()),
                None,
                now_ms(),
            )
        }),
        check: ok_200,
    }
}
