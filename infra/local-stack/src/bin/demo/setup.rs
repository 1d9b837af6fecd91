//! Setting the day up: the scenario, fresh tables and the secret, the
//! function processes, the fronts (the dashboard's, the webhooks'), the
//! failover checker, and every campaign's config through campaign-api.

use std::path::PathBuf;
use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use cxone_sim::{AdminClient, Scenario, WebhookConfig};
use local_stack::apigw::{ApiClock, ApiGateway, CAMPAIGN_API_ROUTES};
use local_stack::{FunctionProcess, TableNames};
use serde_json::{json, Value};
use shared::idempotency::IdempotencyStore;

use crate::args::Args;
use crate::events::config_event;
use crate::fanout::FannedOut;
use crate::{
    INVOKE_TIMEOUT, TASK_WORKERS, WEBHOOK_BATCH, WEBHOOK_OFF, WEBHOOK_ON, WEBHOOK_OUTCOMES,
    WEBHOOK_SECRET,
};

/// The local stack the day runs on: the scenario, the simulator, the demo's
/// tables and the functions every day needs.
pub struct Stack {
    /// The scenario the simulator runs.
    pub scenario: Scenario,
    /// The scenario's time zone.
    pub zone: Tz,
    /// The local AWS endpoint (moto).
    pub endpoint: String,
    /// The simulator's address (`CXONE_ISSUER`).
    pub issuer: String,
    /// The simulator's admin API.
    pub admin: AdminClient,
    /// A plain HTTP client, for the simulator's clock.
    pub http: reqwest::Client,
    /// The local DynamoDB.
    pub dynamo: aws_sdk_dynamodb::Client,
    /// The prefix of the demo's fresh tables and secret.
    pub prefix: String,
    /// The demo's fresh tables.
    pub tables: TableNames,
    /// The environment every function runs with.
    pub function_env: Vec<(String, String)>,
    /// campaign-api under the Runtime API emulator.
    pub api: Arc<FunctionProcess>,
    /// capacity-tuner under the Runtime API emulator, fanned out through
    /// its task queue.
    pub tuner: FannedOut,
    /// The local SQS (the task queues).
    pub sqs: aws_sdk_sqs::Client,
    /// The simulator's time when the day starts.
    pub start: DateTime<Utc>,
    /// The scenario's skills, in its order.
    pub skills: Vec<i64>,
    /// (primary, backup) of every campaign whose config names a failover.
    pub failover_pairs: Vec<(i64, i64)>,
}

/// The fronts and optional functions of the day.
pub struct DayServices {
    /// The request clock of the fronts, kept equal to the simulator's.
    pub clock: ApiClock,
    /// campaign-api behind the dashboard's front (`--serve`).
    pub dashboard: Option<ApiGateway>,
    /// webhook-ingest behind the webhooks' front (unless `--no-webhook`).
    pub gateway: Option<ApiGateway>,
    /// The simulator's webhook settings (unless `--no-webhook`).
    pub webhook: Option<WebhookConfig>,
    /// failover-checker (fanned out), when a campaign has a failover and it is built.
    pub checker: Option<FannedOut>,
}

/// A variable of the local stack's environment, required.
fn env(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{name} is not set: run `make demo` (it starts the local stack)"))
}

/// The debug build of a function binary (under `CARGO_TARGET_DIR`, or
/// `target`), which must exist.
fn binary(name: &str) -> Result<PathBuf, String> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = PathBuf::from(target).join("debug").join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: `make demo` builds it",
            path.display()
        ))
    }
}

/// Starts the function `name` under the Runtime API emulator.
pub(crate) async fn spawn(name: &str, env: &[(String, String)]) -> Result<FunctionProcess, String> {
    FunctionProcess::spawn(binary(name)?, env.to_vec())
        .await
        .map_err(|e| e.to_string())
}

/// The campaign config the demo writes for a skill: the default, with the
/// scenario's `autopilot.configs["<skillId>"]` keys over it.
pub fn campaign_config(scenario: &Scenario, skill_id: i64) -> Value {
    let mut body = json!({
        "enabled": true,
        "timeZone": scenario.time_zone,
        "recipientTimeZones": [scenario.time_zone],
        "pacing": {"targetAbandonPct": 2.5, "minRatio": 1.0, "maxRatio": 3.0}
    });
    let extra = scenario
        .autopilot
        .as_ref()
        .and_then(|a| a.get("configs"))
        .and_then(|c| c.get(skill_id.to_string()))
        .and_then(Value::as_object);
    if let (Some(extra), Some(base)) = (extra, body.as_object_mut()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    body
}

impl Stack {
    /// Loads the scenario, creates fresh tables and the secret, starts
    /// campaign-api and the tuner, and reads the simulator's clock.
    pub async fn start(args: &Args) -> Result<Stack, String> {
        let scenario = Scenario::from_file(&args.scenario).map_err(|e| e.to_string())?;
        let zone: Tz = scenario
            .time_zone
            .parse()
            .map_err(|_| format!("scenario time zone {:?} is unknown", scenario.time_zone))?;
        let endpoint = env("AWS_ENDPOINT_URL")?;
        let issuer = env("CXONE_ISSUER")?;
        let admin = AdminClient::new(issuer.clone());
        let http = reqwest::Client::new();
        let sdk = local_stack::aws::local_sdk_config(&endpoint);
        let dynamo = local_stack::aws::dynamodb(&sdk);

        let prefix = format!("demo-{}", Utc::now().timestamp());
        let tables = TableNames::with_prefix(&prefix);
        let secret_id =
            create_tables_and_secret(&sdk, &dynamo, &tables, &prefix, &scenario).await?;
        let function_env = function_env(&tables, &secret_id, &issuer);
        let api = Arc::new(spawn("campaign-api", &function_env).await?);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let tuner = FannedOut::start(
            "capacity-tuner",
            &function_env,
            &sqs,
            &prefix,
            TASK_WORKERS,
            IdempotencyStore::new(dynamo.clone(), tables.idempotency.clone()),
        )
        .await?;

        let start = admin.clock().await.map_err(|e| e.to_string())?;
        let skills: Vec<i64> = scenario.skills.iter().map(|s| s.skill_id).collect();
        let failover_pairs: Vec<(i64, i64)> = scenario
            .skills
            .iter()
            .filter_map(|s| {
                campaign_config(&scenario, s.skill_id)["failover"]["backupSkillId"]
                    .as_i64()
                    .map(|b| (s.skill_id, b))
            })
            .collect();
        Ok(Stack {
            scenario,
            zone,
            endpoint,
            issuer,
            admin,
            http,
            dynamo,
            prefix,
            tables,
            function_env,
            api,
            tuner,
            sqs,
            start,
            skills,
            failover_pairs,
        })
    }

    /// The day's title line and where it runs.
    pub fn print_header(&self, args: &Args) {
        println!(
            "Outbound autopilot: a simulated day ({})",
            args.scenario.display()
        );
        println!(
            "  simulator {}, moto {}, tables {}-*, day starts {} {}",
            self.issuer,
            self.endpoint,
            self.prefix,
            self.start
                .with_timezone(&self.zone)
                .format("%a %Y-%m-%d %H:%M"),
            self.scenario.time_zone
        );
        println!(
            "  fan-out: each tick dispatches one task per campaign to an SQS queue in moto; \
             a local event source mapping hands them back in batches of {} to {} processes",
            self.tuner.source.batch_size,
            self.tuner.workers.len()
        );
    }
}

/// Creates the demo's tables from the template, the CXone secret (the
/// scenario's credentials) and the webhook signing secret (`{prefix}/webhook`,
/// which only webhook-ingest is given); returns the CXone secret's id.
async fn create_tables_and_secret(
    sdk: &SdkConfig,
    dynamo: &aws_sdk_dynamodb::Client,
    tables: &TableNames,
    prefix: &str,
    scenario: &Scenario,
) -> Result<String, String> {
    local_stack::create_tables(dynamo, "template.yaml", tables)
        .await
        .map_err(|e| e.to_string())?;
    let secret_id = format!("{prefix}/cxone");
    let c = &scenario.credentials;
    let secret = json!({"accessKeyId": c.access_key_id, "accessKeySecret": c.access_key_secret,
        "clientId": c.client_id, "clientSecret": c.client_secret});
    local_stack::put_secret(
        &local_stack::aws::secretsmanager(sdk),
        &secret_id,
        &secret.to_string(),
    )
    .await
    .map_err(|e| e.to_string())?;
    local_stack::put_secret(
        &local_stack::aws::secretsmanager(sdk),
        &webhook_secret_id(prefix),
        &json!({ "webhookSecrets": [WEBHOOK_SECRET] }).to_string(),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(secret_id)
}

/// The webhook signing secret's id for the demo's `prefix`.
fn webhook_secret_id(prefix: &str) -> String {
    format!("{prefix}/webhook")
}

/// The functions' environment: the tables, the secret, the simulator, and
/// warnings only in their logs.
fn function_env(tables: &TableNames, secret_id: &str, issuer: &str) -> Vec<(String, String)> {
    let mut function_env: Vec<(String, String)> = tables
        .env_vars()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    function_env.extend([
        ("CXONE_SECRET_ID".to_owned(), secret_id.to_owned()),
        ("CXONE_ISSUER".to_owned(), issuer.to_owned()),
        ("RUST_LOG".to_owned(), "warn".to_owned()),
    ]);
    function_env
}

impl DayServices {
    /// Starts the dashboard's front (`--serve`), the webhook path (unless
    /// `--no-webhook`) and the failover checker (when a campaign has a
    /// failover), printing what runs where.
    pub async fn start(stack: &Stack, args: &Args) -> Result<DayServices, String> {
        // The webhook path: simulator -> local API Gateway (simulated clock) -> webhook-ingest.
        let clock = ApiClock::settable(stack.start);
        let dashboard = match args.serve {
            true => Some(start_dashboard(stack, &clock).await?),
            false => None,
        };
        let (gateway, webhook) = match args.webhook() {
            true => {
                let (gw, cfg) = start_webhooks(stack, &clock).await?;
                (Some(gw), Some(cfg))
            }
            false => (None, None),
        };
        let checker = start_checker(stack, args).await?;
        Ok(DayServices {
            clock,
            dashboard,
            gateway,
            webhook,
            checker,
        })
    }
}

/// The dashboard: campaign-api behind its own front on the same clock.
async fn start_dashboard(stack: &Stack, clock: &ApiClock) -> Result<ApiGateway, String> {
    let front = ApiGateway::builder()
        .routes(CAMPAIGN_API_ROUTES, &stack.api)
        .map_err(|e| e.to_string())?
        .local_jwt("/ui/")
        .clock(clock.clone())
        .start()
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "  dashboard: {}/dashboard (local: no sign-in, acting as {})",
        front.base_url(),
        local_stack::apigw::LOCAL_SUPERVISOR
    );
    Ok(front)
}

/// webhook-ingest behind a local API Gateway, and the simulator's webhook
/// settings pointing at it (switched off until [`WEBHOOK_ON`]; the
/// failover campaigns' skills only, when there are any).
async fn start_webhooks(
    stack: &Stack,
    clock: &ApiClock,
) -> Result<(ApiGateway, WebhookConfig), String> {
    // webhook-ingest alone is given the webhook signing secret.
    let mut env = stack.function_env.clone();
    env.push((
        "WEBHOOK_SECRET_ID".to_owned(),
        webhook_secret_id(&stack.prefix),
    ));
    let ingest = spawn("webhook-ingest", &env).await?;
    let gw = ApiGateway::builder()
        .route("POST /webhooks/cxone", Arc::new(ingest))
        .map_err(|e| e.to_string())?
        .clock(clock.clone())
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let mut cfg = WebhookConfig::new(format!("{}/webhooks/cxone", gw.base_url()), WEBHOOK_SECRET);
    cfg.batch_size = WEBHOOK_BATCH;
    cfg.timeout_ms = 30_000;
    cfg.enabled = false;
    cfg.outcomes = Some(WEBHOOK_OUTCOMES.iter().map(|o| (*o).to_owned()).collect());
    let covered: Vec<i64> = stack
        .failover_pairs
        .iter()
        .flat_map(|(p, b)| [*p, *b])
        .collect();
    if !covered.is_empty() {
        cfg.skill_ids = Some(covered.clone());
    }
    stack
        .admin
        .set_webhook(&cfg)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "  webhooks: simulator -> {}/webhooks/cxone (local API Gateway on the simulated clock) -> webhook-ingest,",
        gw.base_url()
    );
    println!(
        "    signed with the demo secret, batches of up to {WEBHOOK_BATCH}; {} outcomes of {} from {:02}:{:02} to {:02}:{:02}",
        WEBHOOK_OUTCOMES.join("/"),
        if covered.is_empty() {
            "every skill".to_owned()
        } else {
            covered.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        },
        WEBHOOK_ON.0,
        WEBHOOK_ON.1,
        WEBHOOK_OFF.0,
        WEBHOOK_OFF.1
    );
    Ok((gw, cfg))
}

/// failover-checker, when a campaign has a failover and the binary is
/// built (without it the day runs and says so).
async fn start_checker(stack: &Stack, args: &Args) -> Result<Option<FannedOut>, String> {
    let checker = match (stack.failover_pairs.is_empty(), binary("failover-checker")) {
        (true, _) => None,
        (false, Ok(_)) => Some(
            FannedOut::start(
                "failover-checker",
                &stack.function_env,
                &stack.sqs,
                &stack.prefix,
                TASK_WORKERS,
                IdempotencyStore::new(stack.dynamo.clone(), stack.tables.idempotency.clone()),
            )
            .await?,
        ),
        (false, Err(_)) => {
            println!(
                "  failover: not available (target/debug/failover-checker is not built); the day runs without it"
            );
            None
        }
    };
    if checker.is_some() {
        println!(
            "  failover-checker every {} simulated minute(s) for {}",
            args.checker_every,
            stack
                .failover_pairs
                .iter()
                .map(|(p, b)| format!("{p} (backup {b})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(checker)
}

/// Writes every campaign's config through campaign-api (`PUT
/// /campaigns/{skillId}/config`) and prints each answer; a refusal ends the
/// demo.
pub async fn configure_campaigns(stack: &Stack) -> Result<(), String> {
    println!();
    println!("Configuring campaigns through campaign-api (PUT /campaigns/{{skillId}}/config):");
    for skill_id in &stack.skills {
        let body = campaign_config(&stack.scenario, *skill_id);
        let response = stack
            .api
            .invoke(config_event(*skill_id, &body, stack.start), INVOKE_TIMEOUT)
            .await
            .map_err(|e| format!("campaign-api: {e}"))?;
        let failover = match body["failover"].as_object() {
            Some(f) => format!(
                ", failover to {} below {} over {} min (at least {} samples)",
                f.get("backupSkillId").unwrap_or(&Value::Null),
                f.get("threshold").unwrap_or(&Value::Null),
                f.get("windowMinutes").unwrap_or(&Value::Null),
                f.get("minSamples").unwrap_or(&Value::Null)
            ),
            None => String::new(),
        };
        println!(
            "  skill {skill_id}: HTTP {}{failover}",
            response["statusCode"]
        );
        if response["statusCode"] != 200 {
            return Err(format!(
                "config for {skill_id} refused: {}",
                response["body"]
            ));
        }
    }
    Ok(())
}
