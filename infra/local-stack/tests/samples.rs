//! The sample events and `infra/env.json` fit the template and the event
//! types the functions deserialise. No moto needed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde_json::Value;
use serde_yaml_ng::Value as Yaml;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_json(rel: &str) -> Value {
    let path = root().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn template() -> Yaml {
    serde_yaml_ng::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap())
        .unwrap()
}

/// (logical id, binary) of every function in the template.
fn functions(t: &Yaml) -> Vec<(String, String)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(id, r)| {
            let binary = r["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{id:?}: Metadata.BuildProperties.Binary missing"));
            (id.as_str().unwrap().to_owned(), binary.to_owned())
        })
        .collect()
}

#[test]
fn scheduled_event_parses_and_has_a_time() {
    let v = read_json("infra/events/capacity-tuner.json");
    let e: EventBridgeEvent<Value> = serde_json::from_value(v).unwrap();
    assert_eq!(e.source, "aws.events");
    assert_eq!(e.detail_type, "Scheduled Event");
    assert_eq!(
        e.time.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-03-10T14:05:00+00:00")
    );
    assert!(!e.resources.unwrap_or_default().is_empty());
}

#[test]
fn http_api_events_parse_with_iam_identity_and_time() {
    for (file, method) in [
        ("infra/events/campaign-api-put-config.json", "PUT"),
        ("infra/events/campaign-api-get-config.json", "GET"),
    ] {
        let e: ApiGatewayV2httpRequest = serde_json::from_value(read_json(file)).unwrap();
        assert_eq!(e.version.as_deref(), Some("2.0"), "{file}");
        assert_eq!(
            e.route_key.as_deref(),
            Some(format!("{method} /campaigns/{{skillId}}/config").as_str())
        );
        assert_eq!(e.request_context.http.method.as_str(), method);
        assert_eq!(
            e.path_parameters.get("skillId").map(String::as_str),
            Some("4711")
        );
        assert!(
            e.request_context.time_epoch > 1_700_000_000_000,
            "{file}: timeEpoch in ms"
        );
        let iam = e
            .request_context
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .expect("iam authorizer");
        assert!(
            iam.user_arn
                .as_deref()
                .unwrap_or_default()
                .starts_with("arn:aws:sts::"),
            "{file}"
        );
        if method == "PUT" {
            let body: Value = serde_json::from_str(e.body.as_deref().unwrap()).unwrap();
            assert_eq!(body["pacing"]["targetAbandonPct"], 2.5);
            assert_eq!(body["failover"]["backupSkillId"], 4242);
            let len: usize = e.headers["content-length"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(len, e.body.as_deref().unwrap().len());
        }
    }
}

/// The routes campaign-api serves in the template: its IAM routes on the
/// operator API (SAM events) and the dashboard API's routes (page: no
/// authorizer; `/ui`: JWT), with their authorization type.
fn campaign_api_routes(t: &Yaml) -> Vec<(String, String)> {
    let events = &t["Resources"]["CampaignApiFunction"]["Properties"]["Events"];
    let mut routes: Vec<(String, String)> = events
        .as_mapping()
        .unwrap()
        .values()
        .map(|e| {
            let key = format!(
                "{} {}",
                e["Properties"]["Method"].as_str().unwrap(),
                e["Properties"]["Path"].as_str().unwrap()
            );
            (key, "AWS_IAM".to_owned())
        })
        .collect();
    for (_, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() == Some("AWS::ApiGatewayV2::Route") {
            let p = &r["Properties"];
            routes.push((
                p["RouteKey"].as_str().unwrap().to_owned(),
                p["AuthorizationType"].as_str().unwrap().to_owned(),
            ));
        }
    }
    routes
}

#[test]
fn template_routes_match_the_events_and_the_local_front() {
    let t = template();
    let routes = campaign_api_routes(&t);
    let keys: BTreeSet<&str> = routes.iter().map(|(k, _)| k.as_str()).collect();
    let files: Vec<String> = std::fs::read_dir(root().join("infra/events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with("campaign-api-"))
        .collect();
    assert!(files.len() >= 10, "{files:?}");
    for file in &files {
        let v = read_json(&format!("infra/events/{file}"));
        let e: ApiGatewayV2httpRequest = serde_json::from_value(v.clone()).unwrap();
        let route = e.route_key.clone().unwrap_or_default();
        assert!(
            keys.contains(route.as_str()),
            "{file}: {route} not routed in template.yaml"
        );
        let auth = &v["requestContext"]["authorizer"];
        if route.contains(" /ui/") {
            assert!(
                auth["jwt"]["claims"]["email"].is_string(),
                "{file}: a /ui event carries JWT claims"
            );
        } else if route.contains(" /campaigns") {
            assert!(auth["iam"]["userArn"].is_string(), "{file}: IAM identity");
        }
    }
    // Every operator route exists under /ui behind the JWT authorizer, the
    // page and its assets carry no authorizer, and the local front routes
    // exactly the template's routes.
    for (key, auth) in &routes {
        let (method, path) = key.split_once(' ').unwrap();
        match path {
            p if p.starts_with("/ui/") => assert_eq!(auth, "JWT", "{key}"),
            "/" | "/dashboard" => assert_eq!(auth, "NONE", "{key}"),
            p if p.starts_with("/dashboard/") => assert_eq!(auth, "NONE", "{key}"),
            // Scripts' routes, not the dashboard's: IAM only.
            p if p.ends_with("/config")
                || p.ends_with("/contacts")
                || p.contains("/contacts/uploads/")
                || p == "/campaigns" && method == "POST" =>
            {
                assert_eq!(auth, "AWS_IAM", "{key}")
            }
            p => {
                assert_eq!(auth, "AWS_IAM", "{key}");
                let ui = format!("{method} /ui{p}");
                assert!(keys.contains(ui.as_str()), "{ui} missing");
            }
        }
    }
    let local: BTreeSet<&str> = local_stack::apigw::CAMPAIGN_API_ROUTES
        .iter()
        .copied()
        .collect();
    assert_eq!(
        local, keys,
        "the local front routes what the template routes"
    );
}

#[test]
fn every_function_has_a_sample_event_and_env_json_entry() {
    let t = template();
    let env = read_json("infra/env.json");
    let globals: BTreeSet<String> = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    for required in [
        "CXONE_SECRET_ID",
        "AUDIT_TABLE",
        "STATE_TABLE",
        "IDEMPOTENCY_TABLE",
        "CXONE_API_VERSION",
        "CXONE_ISSUER",
        "RUST_LOG",
    ] {
        assert!(globals.contains(required), "Globals lacks {required}");
    }
    let funcs = functions(&t);
    assert!(!funcs.is_empty());
    let events: Vec<String> = std::fs::read_dir(root().join("infra/events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for (id, binary) in &funcs {
        // A function is a crate of its own, or a second binary of one
        // (`functions/<crate>/src/bin/<binary>.rs`).
        let own_crate = root()
            .join("functions")
            .join(binary)
            .join("Cargo.toml")
            .is_file();
        let second_binary = std::fs::read_dir(root().join("functions"))
            .unwrap()
            .any(|c| {
                c.unwrap()
                    .path()
                    .join("src/bin")
                    .join(format!("{binary}.rs"))
                    .is_file()
            });
        assert!(
            own_crate || second_binary,
            "{id}: no crate functions/{binary} and no functions/*/src/bin/{binary}.rs"
        );
        assert!(
            events
                .iter()
                .any(|e| e.starts_with(binary.as_str()) && e.ends_with(".json")),
            "{id}: no infra/events/{binary}*.json"
        );
        // The function's own variables, besides the globals.
        let mut declared = globals.clone();
        if let Some(own) =
            t["Resources"][id.as_str()]["Properties"]["Environment"]["Variables"].as_mapping()
        {
            declared.extend(own.keys().map(|k| k.as_str().unwrap().to_owned()));
        }
        let vars = env[id.as_str()]
            .as_object()
            .unwrap_or_else(|| panic!("infra/env.json has no entry for {id}"));
        // sam local only overrides variables the template declares.
        for k in vars.keys() {
            assert!(
                declared.contains(k),
                "infra/env.json sets {k} for {id}, which the template does not declare"
            );
        }
        for k in &declared {
            assert!(vars.contains_key(k), "infra/env.json lacks {k} for {id}");
        }
    }
    let ids: BTreeSet<&str> = funcs.iter().map(|(id, _)| id.as_str()).collect();
    for k in env.as_object().unwrap().keys() {
        assert!(
            k == "Parameters" || ids.contains(k.as_str()),
            "infra/env.json: {k} is not a function of the template"
        );
    }
}

#[test]
fn task_batch_events_are_sqs_events_of_valid_tasks() {
    for file in [
        "infra/events/capacity-tuner-tasks.json",
        "infra/events/failover-checker-tasks.json",
    ] {
        let v = read_json(file);
        let sqs: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!sqs.records.is_empty(), "{file}");
        match shared::fanout::Trigger::from_event(&v).unwrap() {
            shared::fanout::Trigger::Tasks(records) => {
                assert_eq!(records.len(), sqs.records.len(), "{file}");
                for record in records {
                    let task = record.task.unwrap_or_else(|e| panic!("{file}: {e}"));
                    assert_eq!(task.time.to_rfc3339(), "2026-03-10T14:05:00+00:00");
                }
            }
            other => panic!("{file}: read as {other:?}"),
        }
    }
}
