//! DynamoDB tables created from the template's own definitions.
//!
//! Every `AWS::DynamoDB::Table` resource of `template.yaml` is read
//! (attribute definitions, key schema, global and local secondary indexes,
//! billing mode, stream and time to live), so the local tables are the
//! deployed ones under other names. CloudFormation short tags (`!Ref`,
//! `!Sub`, `!GetAtt`, ...) anywhere in the template parse; only the table
//! properties the local stack uses must be literal. The template is read
//! with serde-derived structs (see `spec`).

mod spec;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
pub use spec::{load_table_specs, parse_table_specs, AttributeSpec, IndexSpec, KeySpec, TableSpec};

use crate::error::StackError;

/// Logical id of the audit table in the template.
pub const AUDIT_TABLE_ID: &str = "AuditTable";
/// Logical id of the state table in the template.
pub const STATE_TABLE_ID: &str = "StateTable";
/// Logical id of the idempotency table in the template.
pub const IDEMPOTENCY_TABLE_ID: &str = "IdempotencyTable";

/// Physical names of the bundle's tables (CloudFormation generates them in
/// AWS; locally they are chosen, usually with a per-test prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableNames {
    /// Name for the `AuditTable` resource (`AUDIT_TABLE`).
    pub audit: String,
    /// Name for the `StateTable` resource (`STATE_TABLE`).
    pub state: String,
    /// Name for the `IdempotencyTable` resource (`IDEMPOTENCY_TABLE`).
    pub idempotency: String,
}

impl TableNames {
    /// `{prefix}-audit`, `{prefix}-state`, `{prefix}-idempotency`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            audit: format!("{prefix}-audit"),
            state: format!("{prefix}-state"),
            idempotency: format!("{prefix}-idempotency"),
        }
    }

    /// From `AUDIT_TABLE`, `STATE_TABLE` and `IDEMPOTENCY_TABLE`.
    pub fn from_env() -> Result<Self, StackError> {
        let get = |k: &str| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| k.to_owned())
        };
        match (
            get("AUDIT_TABLE"),
            get("STATE_TABLE"),
            get("IDEMPOTENCY_TABLE"),
        ) {
            (Ok(audit), Ok(state), Ok(idempotency)) => Ok(Self {
                audit,
                state,
                idempotency,
            }),
            (a, s, i) => {
                let missing: Vec<String> = [a, s, i].into_iter().filter_map(Result::err).collect();
                Err(StackError::Config(format!(
                    "missing environment variable(s): {}",
                    missing.join(", ")
                )))
            }
        }
    }

    /// `(logical id, physical name)` of each table.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            (AUDIT_TABLE_ID, self.audit.as_str()),
            (STATE_TABLE_ID, self.state.as_str()),
            (IDEMPOTENCY_TABLE_ID, self.idempotency.as_str()),
        ]
    }

    /// The physical name for a logical id of the template, if it is one of
    /// the bundle's tables.
    pub fn for_logical_id(&self, logical_id: &str) -> Option<&str> {
        self.pairs()
            .into_iter()
            .find(|(id, _)| *id == logical_id)
            .map(|(_, name)| name)
    }

    /// The environment the functions read: `AUDIT_TABLE`, `STATE_TABLE`,
    /// `IDEMPOTENCY_TABLE`.
    pub fn env_vars(&self) -> [(&'static str, String); 3] {
        [
            ("AUDIT_TABLE", self.audit.clone()),
            ("STATE_TABLE", self.state.clone()),
            ("IDEMPOTENCY_TABLE", self.idempotency.clone()),
        ]
    }
}

/// What [`ensure_tables`] did for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOutcome {
    pub logical_id: String,
    pub table_name: String,
    /// False when the table already existed (with the template's keys).
    pub created: bool,
    pub ttl_attribute: Option<String>,
}

/// Creates the bundle's three tables (`AuditTable`, `StateTable`,
/// `IdempotencyTable`) from the template, under the given names. Idempotent:
/// an existing table with the template's key schema is accepted (its TTL is
/// still switched on). Tables are created concurrently.
pub async fn create_tables(
    client: &Client,
    template_path: impl AsRef<Path>,
    names: &TableNames,
) -> Result<(), StackError> {
    ensure_tables(client, template_path.as_ref(), names)
        .await
        .map(|_| ())
}

/// As [`create_tables`], saying what was done for each table.
pub async fn ensure_tables(
    client: &Client,
    template_path: &Path,
    names: &TableNames,
) -> Result<Vec<TableOutcome>, StackError> {
    let specs = load_table_specs(template_path)?;
    let mut jobs = tokio::task::JoinSet::new();
    for (logical_id, table_name) in names.pairs() {
        let spec = specs
            .get(logical_id)
            .cloned()
            .ok_or_else(|| StackError::Template {
                path: PathBuf::from(template_path),
                message: format!("no AWS::DynamoDB::Table resource named {logical_id}"),
            })?;
        let client = client.clone();
        let table_name = table_name.to_owned();
        jobs.spawn(async move { create_table(&client, &spec, &table_name).await });
    }
    let order: Vec<&str> = names.pairs().iter().map(|(id, _)| *id).collect();
    let mut outcomes = Vec::with_capacity(order.len());
    while let Some(joined) = jobs.join_next().await {
        let outcome = joined
            .map_err(|e| StackError::Config(format!("table creation task failed: {e}")))??;
        outcomes.push(outcome);
    }
    outcomes.sort_by_key(|o| order.iter().position(|id| *id == o.logical_id));
    Ok(outcomes)
}

fn ddb_err<E>(operation: &'static str, table: &str, err: E) -> StackError
where
    E: std::error::Error,
{
    StackError::DynamoDb {
        operation,
        table: table.to_owned(),
        message: DisplayErrorContext(err).to_string(),
    }
}

fn build_err(table: &str, err: impl std::fmt::Display) -> StackError {
    StackError::DynamoDb {
        operation: "CreateTable",
        table: table.to_owned(),
        message: format!("invalid request: {err}"),
    }
}

fn key_elements(keys: &[KeySpec], table: &str) -> Result<Vec<KeySchemaElement>, StackError> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| build_err(table, e))
        })
        .collect()
}

fn projection(ix: &IndexSpec) -> Projection {
    let mut p =
        Projection::builder().projection_type(ProjectionType::from(ix.projection_type.as_str()));
    for a in &ix.non_key_attributes {
        p = p.non_key_attributes(a);
    }
    p.build()
}

/// Creates one table from its specification (idempotent), waits until it is
/// active and switches its TTL on.
pub async fn create_table(
    client: &Client,
    spec: &TableSpec,
    table_name: &str,
) -> Result<TableOutcome, StackError> {
    let mut req = client
        .create_table()
        .table_name(table_name)
        .billing_mode(BillingMode::from(spec.billing_mode.as_str()))
        .set_key_schema(Some(key_elements(&spec.key_schema, table_name)?));
    for a in &spec.attribute_definitions {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| build_err(table_name, e))?,
        );
    }
    for ix in &spec.global_secondary_indexes {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&ix.name)
                .set_key_schema(Some(key_elements(&ix.key_schema, table_name)?))
                .projection(projection(ix))
                .build()
                .map_err(|e| build_err(table_name, e))?,
        );
    }
    for ix in &spec.local_secondary_indexes {
        req = req.local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name(&ix.name)
                .set_key_schema(Some(key_elements(&ix.key_schema, table_name)?))
                .projection(projection(ix))
                .build()
                .map_err(|e| build_err(table_name, e))?,
        );
    }
    if let Some(view) = &spec.stream_view_type {
        req = req.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| build_err(table_name, e))?,
        );
    }

    let created = match req.send().await {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            false
        }
        Err(e) => return Err(ddb_err("CreateTable", table_name, e)),
    };

    wait_active(client, spec, table_name, !created).await?;

    if let Some(attr) = &spec.ttl_attribute {
        ensure_ttl(client, table_name, attr).await?;
    }

    tracing::debug!(table = table_name, logical_id = %spec.logical_id, created, "table ready");
    Ok(TableOutcome {
        logical_id: spec.logical_id.clone(),
        table_name: table_name.to_owned(),
        created,
        ttl_attribute: spec.ttl_attribute.clone(),
    })
}

/// Waits for ACTIVE; for a table that already existed, checks that its keys
/// and indexes are the template's.
async fn wait_active(
    client: &Client,
    spec: &TableSpec,
    table_name: &str,
    existed: bool,
) -> Result<(), StackError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut pause = Duration::from_millis(50);
    loop {
        let out = client
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .map_err(|e| ddb_err("DescribeTable", table_name, e))?;
        let table = out.table.ok_or_else(|| StackError::DynamoDb {
            operation: "DescribeTable",
            table: table_name.to_owned(),
            message: "no table description in the answer".into(),
        })?;
        if existed {
            check_existing(spec, table_name, &table)?;
        }
        let gsis_active = table
            .global_secondary_indexes()
            .iter()
            .all(|g| g.index_status().is_none_or(|s| s.as_str() == "ACTIVE"));
        if table.table_status() == Some(&TableStatus::Active) && gsis_active {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StackError::DynamoDb {
                operation: "DescribeTable",
                table: table_name.to_owned(),
                message: "the table did not become ACTIVE within 120 s".into(),
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

fn check_existing(
    spec: &TableSpec,
    table_name: &str,
    table: &aws_sdk_dynamodb::types::TableDescription,
) -> Result<(), StackError> {
    let keys = |ks: &[KeySchemaElement]| -> Vec<(String, String)> {
        ks.iter()
            .map(|k| {
                (
                    k.attribute_name().to_owned(),
                    k.key_type().as_str().to_owned(),
                )
            })
            .collect()
    };
    let want = |ks: &[KeySpec]| -> Vec<(String, String)> {
        ks.iter()
            .map(|k| (k.name.clone(), k.key_type.clone()))
            .collect()
    };
    let mismatch = |what: String| {
        StackError::DynamoDb {
        operation: "CreateTable",
        table: table_name.to_owned(),
        message: format!(
            "the table already exists with a different {what} than {} in the template; delete it or restart the local stack",
            spec.logical_id
        ),
    }
    };
    if keys(table.key_schema()) != want(&spec.key_schema) {
        return Err(mismatch("key schema".into()));
    }
    for ix in &spec.global_secondary_indexes {
        let found = table
            .global_secondary_indexes()
            .iter()
            .find(|g| g.index_name() == Some(ix.name.as_str()));
        match found {
            Some(g) if keys(g.key_schema()) == want(&ix.key_schema) => {}
            _ => return Err(mismatch(format!("global secondary index {}", ix.name))),
        }
    }
    Ok(())
}

async fn ensure_ttl(client: &Client, table_name: &str, attribute: &str) -> Result<(), StackError> {
    let current = client
        .describe_time_to_live()
        .table_name(table_name)
        .send()
        .await
        .map_err(|e| ddb_err("DescribeTimeToLive", table_name, e))?;
    if let Some(d) = current.time_to_live_description() {
        let status = d.time_to_live_status();
        let enabled = matches!(
            status,
            Some(TimeToLiveStatus::Enabled) | Some(TimeToLiveStatus::Enabling)
        );
        if enabled {
            if d.attribute_name() == Some(attribute) {
                return Ok(());
            }
            return Err(StackError::DynamoDb {
                operation: "UpdateTimeToLive",
                table: table_name.to_owned(),
                message: format!(
                    "TTL is already on attribute {:?}, the template says {attribute}; delete the table or restart the local stack",
                    d.attribute_name().unwrap_or_default()
                ),
            });
        }
    }
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(attribute)
                .enabled(true)
                .build()
                .map_err(|e| build_err(table_name, e))?,
        )
        .send()
        .await
        .map_err(|e| ddb_err("UpdateTimeToLive", table_name, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = TableNames::with_prefix("t1");
        assert_eq!(n.audit, "t1-audit");
        assert_eq!(n.for_logical_id("StateTable"), Some("t1-state"));
        assert_eq!(n.for_logical_id("Nope"), None);
    }
}
