//! Creates the bundle's tables (from the template) and the CXone secret in
//! the local stack.
//!
//! ```text
//! stack-init [--template template.yaml] [--prefix P]
//!            [--secret-file FILE | --secret-json JSON] [--secret-id ID]
//!            [--allow-non-local]
//! ```
//! Environment: `AWS_ENDPOINT_URL` (required unless `--allow-non-local`),
//! `AUDIT_TABLE`, `STATE_TABLE`, `IDEMPOTENCY_TABLE` (unless `--prefix P`,
//! which names them `P-audit`, `P-state`, `P-idempotency`),
//! `CXONE_SECRET_ID` (unless `--secret-id`), plus the SDK's usual variables.

use std::path::PathBuf;
use std::process::ExitCode;

use local_stack::secret::upsert_secret;
use local_stack::tables::{ensure_tables, TableNames};
use local_stack::{aws, StackError};

const USAGE: &str = "usage: stack-init [--template template.yaml] [--prefix P] \
[--secret-file FILE | --secret-json JSON] [--secret-id ID] [--allow-non-local]";

struct Args {
    template: PathBuf,
    prefix: Option<String>,
    secret: Option<String>,
    secret_id: Option<String>,
    allow_non_local: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        template: PathBuf::from("template.yaml"),
        prefix: None,
        secret: None,
        secret_id: None,
        allow_non_local: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--template" => args.template = PathBuf::from(value("--template")?),
            "--prefix" => args.prefix = Some(value("--prefix")?),
            "--secret-file" => {
                let path = value("--secret-file")?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {path}: {e}"))?;
                args.secret = Some(text);
            }
            "--secret-json" => args.secret = Some(value("--secret-json")?),
            "--secret-id" => args.secret_id = Some(value("--secret-id")?),
            "--allow-non-local" => args.allow_non_local = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(args)
}

async fn run(args: Args) -> Result<(), StackError> {
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

    if let Some(json) = &args.secret {
        let id = args
            .secret_id
            .clone()
            .or_else(|| {
                std::env::var("CXONE_SECRET_ID")
                    .ok()
                    .filter(|v| !v.is_empty())
            })
            .ok_or_else(|| {
                StackError::Config(
                    "a secret was given but no CXONE_SECRET_ID or --secret-id".into(),
                )
            })?;
        let sm = aws::secretsmanager(&config);
        let o = upsert_secret(&sm, &id, json).await?;
        let what = if o.created {
            "created"
        } else {
            "updated (new version)"
        };
        println!("secret {}: {what}, arn {}", o.name, o.arn);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("stack-init: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stack-init: error: {e}");
            ExitCode::FAILURE
        }
    }
}
