//! Creates the bundle's tables (from the template), the CXone secret and the
//! webhook signing secret in the local stack.
//!
//! ```text
//! stack-init [--template template.yaml] [--prefix P]
//!            [--secret-file FILE | --secret-json JSON] [--secret-id ID]
//!            [--webhook-secret-file FILE | --webhook-secret-json JSON]
//!            [--webhook-secret-id ID] [--allow-non-local]
//! ```
//! Environment: `AWS_ENDPOINT_URL` (required unless `--allow-non-local`),
//! `AUDIT_TABLE`, `STATE_TABLE`, `IDEMPOTENCY_TABLE` (unless `--prefix P`,
//! which names them `P-audit`, `P-state`, `P-idempotency`),
//! `CXONE_SECRET_ID` (unless `--secret-id`), `WEBHOOK_SECRET_ID` (unless
//! `--webhook-secret-id`), plus the SDK's usual variables. The webhook
//! secret is checked as webhook-ingest checks it at start
//! (`{"webhookSecrets": [...]}`, each at least 32 bytes).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use local_stack::secret::upsert_secret;
use local_stack::tables::{ensure_tables, TableNames};
use local_stack::{aws, StackError};

/// Creates the bundle's tables (from the template) and the CXone secret in
/// the local stack.
#[derive(Parser, Debug)]
#[command(
    name = "stack-init",
    about = "Creates the bundle's tables (from the template) and the CXone secret in the local stack.",
    after_help = "Environment: AWS_ENDPOINT_URL (required unless --allow-non-local), AUDIT_TABLE, \
                  STATE_TABLE, IDEMPOTENCY_TABLE (unless --prefix), CXONE_SECRET_ID (unless \
                  --secret-id), WEBHOOK_SECRET_ID (unless --webhook-secret-id), plus the SDK's \
                  usual variables.",
    args_override_self = true
)]
struct Args {
    /// The SAM template whose tables to create.
    #[arg(long, value_name = "FILE", default_value = "template.yaml")]
    template: PathBuf,
    /// Name the tables P-audit, P-state, P-idempotency (instead of
    /// AUDIT_TABLE, STATE_TABLE, IDEMPOTENCY_TABLE).
    #[arg(long, value_name = "P")]
    prefix: Option<String>,
    /// Put the secret read from FILE (JSON).
    #[arg(long, value_name = "FILE", overrides_with = "secret_json")]
    secret_file: Option<PathBuf>,
    /// Put this secret (JSON).
    #[arg(long, value_name = "JSON", overrides_with = "secret_file")]
    secret_json: Option<String>,
    /// The secret's id (instead of CXONE_SECRET_ID).
    #[arg(long, value_name = "ID")]
    secret_id: Option<String>,
    /// Put the webhook signing secret read from FILE (JSON {"webhookSecrets": [...]}).
    #[arg(long, value_name = "FILE", overrides_with = "webhook_secret_json")]
    webhook_secret_file: Option<PathBuf>,
    /// Put this webhook signing secret (JSON {"webhookSecrets": [...]}).
    #[arg(long, value_name = "JSON", overrides_with = "webhook_secret_file")]
    webhook_secret_json: Option<String>,
    /// The webhook signing secret's id (instead of WEBHOOK_SECRET_ID).
    #[arg(long, value_name = "ID")]
    webhook_secret_id: Option<String>,
    /// Allow running without AWS_ENDPOINT_URL, i.e. against a real AWS account.
    #[arg(long)]
    allow_non_local: bool,
}

impl Args {
    /// The secret to put, from `--secret-file` or `--secret-json` (the
    /// later one given wins).
    fn secret(&self) -> Result<Option<String>, String> {
        match (&self.secret_file, &self.secret_json) {
            (Some(path), _) => std::fs::read_to_string(path)
                .map(Some)
                .map_err(|e| format!("cannot read {}: {e}", path.display())),
            (None, json) => Ok(json.clone()),
        }
    }

    /// The webhook signing secret to put, checked as webhook-ingest checks it.
    fn webhook_secret(&self) -> Result<Option<String>, String> {
        let json = match (&self.webhook_secret_file, &self.webhook_secret_json) {
            (Some(path), _) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
            (None, Some(json)) => json.clone(),
            (None, None) => return Ok(None),
        };
        shared::secret::WebhookSecrets::from_json(&json)
            .map_err(|e| format!("the webhook signing secret is refused: {e}"))?;
        Ok(Some(json))
    }
}

async fn put(
    config: &aws_config::SdkConfig,
    what: &str,
    id: &str,
    json: &str,
) -> Result<(), StackError> {
    let sm = aws::secretsmanager(config);
    let o = upsert_secret(&sm, id, json).await?;
    let done = if o.created {
        "created"
    } else {
        "updated (new version)"
    };
    println!("{what} {}: {done}, arn {}", o.name, o.arn);
    Ok(())
}

async fn run(
    args: Args,
    secret: Option<String>,
    webhook_secret: Option<String>,
) -> Result<(), StackError> {
    let endpoint = aws::endpoint_from_env();
    let config = match &endpoint {
        Some(_) => aws::from_env().await,
        None if args.allow_non_local => aws::from_env().await,
        None => {
            return Err(StackError::Config(
                "AWS_ENDPOINT_URL is not set: refusing to create tables in a real AWS account \
                 (start the local stack with `eval \"$(infra/stack.sh up)\"`, or pass --allow-non-local)"
                    .into(),
            ))
        }
    };
    if let Some(e) = &endpoint {
        println!("endpoint {e}");
    }

    let names = match &args.prefix {
        Some(p) => TableNames::with_prefix(p),
        None => TableNames::from_env()
            .map_err(|e| StackError::Config(format!("{e} (or pass --prefix)")))?,
    };
    let ddb = aws::dynamodb(&config);
    for o in ensure_tables(&ddb, &args.template, &names).await? {
        let ttl = o
            .ttl_attribute
            .map(|a| format!(", TTL on {a}"))
            .unwrap_or_default();
        let what = if o.created {
            "created"
        } else {
            "already there"
        };
        println!("table {} = {}: {what}{ttl}", o.logical_id, o.table_name);
    }

    let id_of = |flag: &Option<String>, var: &str| {
        flag.clone()
            .or_else(|| std::env::var(var).ok().filter(|v| !v.is_empty()))
            .ok_or_else(|| {
                StackError::Config(format!(
                    "a secret was given but no {var} or its --*-id flag"
                ))
            })
    };
    if let Some(json) = &secret {
        let id = id_of(&args.secret_id, "CXONE_SECRET_ID")?;
        put(&config, "secret", &id, json).await?;
    }
    if let Some(json) = &webhook_secret {
        let id = id_of(&args.webhook_secret_id, "WEBHOOK_SECRET_ID")?;
        put(&config, "webhook secret", &id, json).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let secrets = args.secret().and_then(|s| Ok((s, args.webhook_secret()?)));
    let (secret, webhook_secret) = match secrets {
        Ok(s) => s,
        Err(e) => {
            eprintln!("stack-init: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args, secret, webhook_secret).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stack-init: error: {e}");
            ExitCode::FAILURE
        }
    }
}
