//! DynamoDB tables created from the template's own definitions.
//!
//! Every `AWS::DynamoDB::Table` resource of `template.yaml` is read
//! (attribute definitions, key schema, global and local secondary indexes,
//! billing mode, stream and time to live), so the local tables are the
//! deployed ones under other names. CloudFormation short tags (`!Ref`,
//! `!Sub`, `!GetAtt`, ...) anywhere in the template parse; only the table
//! properties the local stack uses must be literal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use serde_yaml_ng::Value;

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

/// An attribute definition (`AttributeType` is `S`, `N` or `B`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeSpec {
    pub name: String,
    pub attribute_type: String,
}

/// A key schema element (`KeyType` is `HASH` or `RANGE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub name: String,
    pub key_type: String,
}

/// A global or local secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub key_schema: Vec<KeySpec>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection_type: String,
    pub non_key_attributes: Vec<String>,
}

/// One `AWS::DynamoDB::Table` resource of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub logical_id: String,
    pub attribute_definitions: Vec<AttributeSpec>,
    pub key_schema: Vec<KeySpec>,
    pub global_secondary_indexes: Vec<IndexSpec>,
    pub local_secondary_indexes: Vec<IndexSpec>,
    /// Always `PAY_PER_REQUEST` (the template's tables are on-demand).
    pub billing_mode: String,
    /// The TTL attribute when `TimeToLiveSpecification.Enabled` is true.
    pub ttl_attribute: Option<String>,
    /// `StreamSpecification.StreamViewType`, when the table has a stream.
    pub stream_view_type: Option<String>,
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

/// Reads every `AWS::DynamoDB::Table` resource of a template file, by
/// logical id.
pub fn load_table_specs(template_path: &Path) -> Result<BTreeMap<String, TableSpec>, StackError> {
    let text = std::fs::read_to_string(template_path).map_err(|source| StackError::Io {
        path: template_path.to_owned(),
        source,
    })?;
    parse_table_specs(&text).map_err(|message| StackError::Template {
        path: template_path.to_owned(),
        message,
    })
}

/// Reads every `AWS::DynamoDB::Table` resource of a template's text.
pub fn parse_table_specs(template: &str) -> Result<BTreeMap<String, TableSpec>, String> {
    let doc: Value =
        serde_yaml_ng::from_str(template).map_err(|e| format!("not valid YAML: {e}"))?;
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or("no Resources mapping")?;
    let mut out = BTreeMap::new();
    for (id, resource) in resources {
        let id = id
            .as_str()
            .ok_or("a resource's logical id is not a string")?;
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::DynamoDB::Table") {
            continue;
        }
        let props = resource
            .get("Properties")
            .ok_or_else(|| format!("{id}: no Properties"))?;
        out.insert(id.to_owned(), table_spec(id, props)?);
    }
    Ok(out)
}

fn table_spec(id: &str, props: &Value) -> Result<TableSpec, String> {
    let ctx = |field: &str| format!("{id}.Properties.{field}");

    let billing_mode = match props.get("BillingMode") {
        None => {
            return Err(format!(
                "{}: missing (the bundle's tables are PAY_PER_REQUEST)",
                ctx("BillingMode")
            ))
        }
        Some(v) => literal(v, &ctx("BillingMode"))?,
    };
    if billing_mode != "PAY_PER_REQUEST" {
        return Err(format!(
            "{} is {billing_mode}; only PAY_PER_REQUEST tables are supported",
            ctx("BillingMode")
        ));
    }

    let attribute_definitions = list(props, "AttributeDefinitions", id)?
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let c = format!("{}[{i}]", ctx("AttributeDefinitions"));
            Ok(AttributeSpec {
                name: required(a, "AttributeName", &c)?,
                attribute_type: one_of(a, "AttributeType", &c, &["S", "N", "B"])?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;

    let key_schema = key_schema(
        props
            .get("KeySchema")
            .ok_or_else(|| format!("{}: missing", ctx("KeySchema")))?,
        &ctx("KeySchema"),
    )?;

    let indexes = |field: &str| -> Result<Vec<IndexSpec>, String> {
        let Some(v) = props.get(field) else {
            return Ok(Vec::new());
        };
        seq(v, &ctx(field))?
            .iter()
            .enumerate()
            .map(|(i, ix)| index_spec(ix, &format!("{}[{i}]", ctx(field))))
            .collect()
    };
    let global_secondary_indexes = indexes("GlobalSecondaryIndexes")?;
    let local_secondary_indexes = indexes("LocalSecondaryIndexes")?;

    let ttl_attribute = match props.get("TimeToLiveSpecification") {
        None => None,
        Some(t) => {
            let c = ctx("TimeToLiveSpecification");
            let enabled = match t.get("Enabled") {
                Some(Value::Bool(b)) => *b,
                Some(v) => matches!(
                    literal(v, &format!("{c}.Enabled"))?.as_str(),
                    "true" | "True"
                ),
                None => false,
            };
            if enabled {
                Some(required(t, "AttributeName", &c)?)
            } else {
                None
            }
        }
    };

    let stream_view_type = match props.get("StreamSpecification") {
        None => None,
        Some(s) => Some(required(s, "StreamViewType", &ctx("StreamSpecification"))?),
    };

    // Every key attribute must be defined, and every definition used.
    let mut used: Vec<&str> = key_schema.iter().map(|k| k.name.as_str()).collect();
    for ix in global_secondary_indexes
        .iter()
        .chain(&local_secondary_indexes)
    {
        used.extend(ix.key_schema.iter().map(|k| k.name.as_str()));
    }
    for name in &used {
        if !attribute_definitions.iter().any(|a| a.name == *name) {
            return Err(format!(
                "{id}: key attribute {name} is not in AttributeDefinitions"
            ));
        }
    }
    for a in &attribute_definitions {
        if !used.contains(&a.name.as_str()) {
            return Err(format!(
                "{id}: AttributeDefinitions lists {} but no key uses it (DynamoDB refuses that)",
                a.name
            ));
        }
    }

    Ok(TableSpec {
        logical_id: id.to_owned(),
        attribute_definitions,
        key_schema,
        global_secondary_indexes,
        local_secondary_indexes,
        billing_mode,
        ttl_attribute,
        stream_view_type,
    })
}

fn index_spec(ix: &Value, ctx: &str) -> Result<IndexSpec, String> {
    let projection = ix
        .get("Projection")
        .ok_or_else(|| format!("{ctx}.Projection: missing"))?;
    let projection_type = match projection.get("ProjectionType") {
        None => "KEYS_ONLY".to_owned(),
        Some(_) => one_of(
            projection,
            "ProjectionType",
            &format!("{ctx}.Projection"),
            &["ALL", "KEYS_ONLY", "INCLUDE"],
        )?,
    };
    let non_key_attributes = match projection.get("NonKeyAttributes") {
        None => Vec::new(),
        Some(v) => seq(v, &format!("{ctx}.Projection.NonKeyAttributes"))?
            .iter()
            .map(|a| literal(a, &format!("{ctx}.Projection.NonKeyAttributes")))
            .collect::<Result<_, _>>()?,
    };
    Ok(IndexSpec {
        name: required(ix, "IndexName", ctx)?,
        key_schema: key_schema(
            ix.get("KeySchema")
                .ok_or_else(|| format!("{ctx}.KeySchema: missing"))?,
            &format!("{ctx}.KeySchema"),
        )?,
        projection_type,
        non_key_attributes,
    })
}

fn key_schema(v: &Value, ctx: &str) -> Result<Vec<KeySpec>, String> {
    let keys = seq(v, ctx)?
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let c = format!("{ctx}[{i}]");
            Ok(KeySpec {
                name: required(k, "AttributeName", &c)?,
                key_type: one_of(k, "KeyType", &c, &["HASH", "RANGE"])?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    match keys.as_slice() {
        [h] if h.key_type == "HASH" => Ok(keys),
        [h, r] if h.key_type == "HASH" && r.key_type == "RANGE" => Ok(keys),
        _ => Err(format!(
            "{ctx}: must be one HASH key, optionally followed by one RANGE key"
        )),
    }
}

fn list<'a>(props: &'a Value, field: &str, id: &str) -> Result<&'a Vec<Value>, String> {
    let ctx = format!("{id}.Properties.{field}");
    seq(
        props.get(field).ok_or_else(|| format!("{ctx}: missing"))?,
        &ctx,
    )
}

fn seq<'a>(v: &'a Value, ctx: &str) -> Result<&'a Vec<Value>, String> {
    match v {
        Value::Sequence(s) => Ok(s),
        Value::Tagged(t) => Err(intrinsic(ctx, &t.tag.to_string())),
        _ => Err(format!("{ctx}: expected a list")),
    }
}

fn required(v: &Value, field: &str, ctx: &str) -> Result<String, String> {
    let c = format!("{ctx}.{field}");
    literal(v.get(field).ok_or_else(|| format!("{c}: missing"))?, &c)
}

fn one_of(v: &Value, field: &str, ctx: &str, allowed: &[&str]) -> Result<String, String> {
    let s = required(v, field, ctx)?;
    if allowed.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(format!(
            "{ctx}.{field}: {s} is not one of {}",
            allowed.join(", ")
        ))
    }
}

/// A scalar written literally in the template.
fn literal(v: &Value, ctx: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Tagged(t) => Err(intrinsic(ctx, &t.tag.to_string())),
        Value::Mapping(m) if m.len() == 1 => {
            let key = m.keys().next().and_then(Value::as_str).unwrap_or("");
            if key == "Ref" || key.starts_with("Fn::") {
                Err(intrinsic(ctx, key))
            } else {
                Err(format!("{ctx}: expected a scalar"))
            }
        }
        _ => Err(format!("{ctx}: expected a scalar")),
    }
}

fn intrinsic(ctx: &str, tag: &str) -> String {
    format!("{ctx}: uses the intrinsic function {tag}; the local stack needs a literal value here")
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

    const TEMPLATE: &str = r#"
Transform: AWS::Serverless-2016-10-31
Parameters:
  P: {Type: String}
Conditions:
  C: !Equals [!Ref P, ""]
Resources:
  T:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: g, AttributeType: N}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
      GlobalSecondaryIndexes:
        - IndexName: g-index
          KeySchema: [{AttributeName: g, KeyType: HASH}]
          Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [a, b]}
      TimeToLiveSpecification: {AttributeName: exp, Enabled: true}
      Tags:
        - Key: stack
          Value: !Sub "${AWS::StackName}-x"
  F:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          T: !Ref T
          A: !GetAtt T.Arn
          S: !Select [0, !Split [",", !Ref P]]
"#;

    #[test]
    fn parses_tables_among_short_tags() {
        let specs = parse_table_specs(TEMPLATE).unwrap();
        assert_eq!(specs.len(), 1);
        let t = &specs["T"];
        assert_eq!(
            t.key_schema,
            vec![KeySpec {
                name: "pk".into(),
                key_type: "HASH".into()
            }]
        );
        assert_eq!(t.global_secondary_indexes[0].name, "g-index");
        assert_eq!(t.global_secondary_indexes[0].projection_type, "INCLUDE");
        assert_eq!(
            t.global_secondary_indexes[0].non_key_attributes,
            vec!["a", "b"]
        );
        assert_eq!(t.ttl_attribute.as_deref(), Some("exp"));
        assert_eq!(t.billing_mode, "PAY_PER_REQUEST");
    }

    #[test]
    fn refuses_intrinsics_in_key_fields() {
        let bad = TEMPLATE.replace(
            "{AttributeName: pk, KeyType: HASH}",
            "{AttributeName: !Ref P, KeyType: HASH}",
        );
        let err = parse_table_specs(&bad).unwrap_err();
        assert!(err.contains("intrinsic function !Ref"), "{err}");
    }

    #[test]
    fn refuses_provisioned_and_unused_attributes() {
        let bad = TEMPLATE.replace("PAY_PER_REQUEST", "PROVISIONED");
        assert!(parse_table_specs(&bad)
            .unwrap_err()
            .contains("PAY_PER_REQUEST"));
        let bad = TEMPLATE.replace("- {AttributeName: g, AttributeType: N}", "- {AttributeName: g, AttributeType: N}\n        - {AttributeName: z, AttributeType: S}");
        assert!(parse_table_specs(&bad)
            .unwrap_err()
            .contains("no key uses it"));
    }

    #[test]
    fn the_projects_template_defines_the_three_tables() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let specs = load_table_specs(&path).unwrap();
        for id in [AUDIT_TABLE_ID, STATE_TABLE_ID, IDEMPOTENCY_TABLE_ID] {
            let s = specs
                .get(id)
                .unwrap_or_else(|| panic!("{id} missing from template.yaml"));
            assert_eq!(s.billing_mode, "PAY_PER_REQUEST");
        }
        assert_eq!(specs[AUDIT_TABLE_ID].ttl_attribute, None);
        assert_eq!(specs[STATE_TABLE_ID].ttl_attribute.as_deref(), Some("ttl"));
        assert_eq!(
            specs[IDEMPOTENCY_TABLE_ID].ttl_attribute.as_deref(),
            Some("expiration")
        );
        let gsi = &specs[STATE_TABLE_ID].global_secondary_indexes;
        assert_eq!(gsi.len(), 1);
        assert_eq!(gsi[0].name, "kind-index");
        assert_eq!(
            gsi[0].key_schema,
            vec![
                KeySpec {
                    name: "kind".into(),
                    key_type: "HASH".into()
                },
                KeySpec {
                    name: "pk".into(),
                    key_type: "RANGE".into()
                }
            ]
        );
        assert_eq!(gsi[0].projection_type, "ALL");
    }

    #[test]
    fn names() {
        let n = TableNames::with_prefix("t1");
        assert_eq!(n.audit, "t1-audit");
        assert_eq!(n.for_logical_id("StateTable"), Some("t1-state"));
        assert_eq!(n.for_logical_id("Nope"), None);
    }
}
