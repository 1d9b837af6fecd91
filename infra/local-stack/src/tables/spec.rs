//! The table specifications, read from the template with serde.
//!
//! The template is deserialized into typed structs (`Template`, `Resource`,
//! `TableProperties`, ...). Only the table properties the local stack uses
//! are fields; every other property (`SSESpecification`,
//! `DeletionProtectionEnabled`, `Tags`, ...) is ignored, whatever it holds,
//! so CloudFormation short tags (`!Ref`, `!If`, `!Sub`, `!GetAtt`, ...) parse
//! anywhere. The fields the local stack uses deserialize into [`Field`],
//! which keeps an intrinsic function apart from a literal, so that the
//! validation can say which property needs a literal value.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::error::StackError;

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

/// The part of a template the local stack reads.
#[derive(Deserialize)]
struct Template {
    #[serde(rename = "Resources")]
    resources: Option<BTreeMap<String, Resource>>,
}

/// A resource; its properties are only deserialized for tables.
#[derive(Deserialize)]
struct Resource {
    #[serde(rename = "Type", default)]
    kind: Field<String>,
    #[serde(rename = "Properties")]
    properties: Option<Value>,
}

/// The properties of an `AWS::DynamoDB::Table` that the local stack uses.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableProperties {
    billing_mode: Option<Field<String>>,
    attribute_definitions: Option<Field<Vec<RawAttribute>>>,
    key_schema: Option<Field<Vec<RawKey>>>,
    global_secondary_indexes: Option<Field<Vec<RawIndex>>>,
    local_secondary_indexes: Option<Field<Vec<RawIndex>>>,
    time_to_live_specification: Option<RawTtl>,
    stream_specification: Option<RawStream>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAttribute {
    attribute_name: Option<Field<String>>,
    attribute_type: Option<Field<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawKey {
    attribute_name: Option<Field<String>>,
    key_type: Option<Field<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawIndex {
    index_name: Option<Field<String>>,
    key_schema: Option<Field<Vec<RawKey>>>,
    projection: Option<RawProjection>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawProjection {
    projection_type: Option<Field<String>>,
    non_key_attributes: Option<Field<Vec<Field<String>>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawTtl {
    attribute_name: Option<Field<String>>,
    enabled: Option<Field<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawStream {
    stream_view_type: Option<Field<String>>,
}

/// A template value the local stack needs literally: the value, an
/// intrinsic function (short tag `!Ref` or long form `{Ref: ...}`,
/// `{Fn::If: ...}`), or something of the wrong shape.
enum Field<T> {
    Literal(T),
    Intrinsic(String),
    /// Not of the expected shape; the serde error, when there is one.
    Invalid(Option<String>),
}

impl<T> Default for Field<T> {
    fn default() -> Self {
        Field::Invalid(None)
    }
}

/// How a value of the template reads as a `T`.
trait FromTemplate: Sized {
    fn from_template(v: Value) -> Field<Self>;
}

impl FromTemplate for String {
    /// A scalar written literally in the template (booleans and numbers as
    /// their text).
    fn from_template(v: Value) -> Field<Self> {
        match v {
            Value::String(s) => Field::Literal(s),
            Value::Bool(b) => Field::Literal(b.to_string()),
            Value::Number(n) => Field::Literal(n.to_string()),
            other => Field::Invalid(None).or_intrinsic(&other),
        }
    }
}

impl<T: DeserializeOwned> FromTemplate for Vec<T> {
    fn from_template(v: Value) -> Field<Self> {
        match v {
            Value::Sequence(_) => match serde_yaml_ng::from_value(v) {
                Ok(list) => Field::Literal(list),
                Err(e) => Field::Invalid(Some(e.to_string())),
            },
            Value::Tagged(t) => Field::Intrinsic(t.tag.to_string()),
            _ => Field::Invalid(None),
        }
    }
}

impl<T> Field<T> {
    /// `self`, unless `v` is an intrinsic function (short or long form).
    fn or_intrinsic(self, v: &Value) -> Self {
        match v {
            Value::Tagged(t) => Field::Intrinsic(t.tag.to_string()),
            Value::Mapping(m) if m.len() == 1 => {
                let key = m.keys().next().and_then(Value::as_str).unwrap_or("");
                if key == "Ref" || key.starts_with("Fn::") {
                    Field::Intrinsic(key.to_owned())
                } else {
                    self
                }
            }
            _ => self,
        }
    }
}

impl<'de, T: FromTemplate> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(T::from_template)
    }
}

impl Field<String> {
    /// The literal scalar, else why not.
    fn literal(self, ctx: &str) -> Result<String, String> {
        match self {
            Field::Literal(s) => Ok(s),
            Field::Intrinsic(tag) => Err(intrinsic(ctx, &tag)),
            Field::Invalid(_) => Err(format!("{ctx}: expected a scalar")),
        }
    }
}

impl<T> Field<Vec<T>> {
    /// The literal list, else why not.
    fn list(self, ctx: &str) -> Result<Vec<T>, String> {
        match self {
            Field::Literal(l) => Ok(l),
            Field::Intrinsic(tag) => Err(intrinsic(ctx, &tag)),
            Field::Invalid(None) => Err(format!("{ctx}: expected a list")),
            Field::Invalid(Some(e)) => Err(format!("{ctx}: {e}")),
        }
    }
}

fn intrinsic(ctx: &str, tag: &str) -> String {
    format!("{ctx}: uses the intrinsic function {tag}; the local stack needs a literal value here")
}

/// A required literal scalar.
fn required(v: Option<Field<String>>, ctx: &str) -> Result<String, String> {
    v.ok_or_else(|| format!("{ctx}: missing"))?.literal(ctx)
}

/// A required literal scalar among `allowed`.
fn one_of(v: Option<Field<String>>, ctx: &str, allowed: &[&str]) -> Result<String, String> {
    let s = required(v, ctx)?;
    if allowed.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(format!("{ctx}: {s} is not one of {}", allowed.join(", ")))
    }
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
    let doc: Template =
        serde_yaml_ng::from_str(template).map_err(|e| format!("not valid YAML: {e}"))?;
    let resources = doc.resources.ok_or("no Resources mapping")?;
    let mut out = BTreeMap::new();
    for (id, resource) in resources {
        if !matches!(&resource.kind, Field::Literal(t) if t == "AWS::DynamoDB::Table") {
            continue;
        }
        let props = resource
            .properties
            .ok_or_else(|| format!("{id}: no Properties"))?;
        let props: TableProperties =
            serde_yaml_ng::from_value(props).map_err(|e| format!("{id}.Properties: {e}"))?;
        let spec = table_spec(&id, props)?;
        out.insert(id, spec);
    }
    Ok(out)
}

fn table_spec(id: &str, props: TableProperties) -> Result<TableSpec, String> {
    let ctx = |field: &str| format!("{id}.Properties.{field}");

    let billing_mode = match props.billing_mode {
        None => {
            return Err(format!(
                "{}: missing (the bundle's tables are PAY_PER_REQUEST)",
                ctx("BillingMode")
            ))
        }
        Some(v) => v.literal(&ctx("BillingMode"))?,
    };
    if billing_mode != "PAY_PER_REQUEST" {
        return Err(format!(
            "{} is {billing_mode}; only PAY_PER_REQUEST tables are supported",
            ctx("BillingMode")
        ));
    }

    let c = ctx("AttributeDefinitions");
    let attribute_definitions = props
        .attribute_definitions
        .ok_or_else(|| format!("{c}: missing"))?
        .list(&c)?
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let c = format!("{c}[{i}]");
            Ok(AttributeSpec {
                name: required(a.attribute_name, &format!("{c}.AttributeName"))?,
                attribute_type: one_of(
                    a.attribute_type,
                    &format!("{c}.AttributeType"),
                    &["S", "N", "B"],
                )?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;

    let key_schema = key_schema(props.key_schema, &ctx("KeySchema"))?;

    let indexes =
        |field: &str, v: Option<Field<Vec<RawIndex>>>| -> Result<Vec<IndexSpec>, String> {
            let Some(v) = v else {
                return Ok(Vec::new());
            };
            v.list(&ctx(field))?
                .into_iter()
                .enumerate()
                .map(|(i, ix)| index_spec(ix, &format!("{}[{i}]", ctx(field))))
                .collect()
        };
    let global_secondary_indexes =
        indexes("GlobalSecondaryIndexes", props.global_secondary_indexes)?;
    let local_secondary_indexes = indexes("LocalSecondaryIndexes", props.local_secondary_indexes)?;

    let ttl_attribute = match props.time_to_live_specification {
        None => None,
        Some(t) => {
            let c = ctx("TimeToLiveSpecification");
            let enabled = match t.enabled {
                Some(v) => matches!(
                    v.literal(&format!("{c}.Enabled"))?.as_str(),
                    "true" | "True"
                ),
                None => false,
            };
            if enabled {
                Some(required(t.attribute_name, &format!("{c}.AttributeName"))?)
            } else {
                None
            }
        }
    };

    let stream_view_type = match props.stream_specification {
        None => None,
        Some(s) => Some(required(
            s.stream_view_type,
            &format!("{}.StreamViewType", ctx("StreamSpecification")),
        )?),
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

fn index_spec(ix: RawIndex, ctx: &str) -> Result<IndexSpec, String> {
    let projection = ix
        .projection
        .ok_or_else(|| format!("{ctx}.Projection: missing"))?;
    let projection_type = match projection.projection_type {
        None => "KEYS_ONLY".to_owned(),
        Some(v) => one_of(
            Some(v),
            &format!("{ctx}.Projection.ProjectionType"),
            &["ALL", "KEYS_ONLY", "INCLUDE"],
        )?,
    };
    let c = format!("{ctx}.Projection.NonKeyAttributes");
    let non_key_attributes = match projection.non_key_attributes {
        None => Vec::new(),
        Some(v) => v
            .list(&c)?
            .into_iter()
            .map(|a| a.literal(&c))
            .collect::<Result<_, _>>()?,
    };
    Ok(IndexSpec {
        name: required(ix.index_name, &format!("{ctx}.IndexName"))?,
        key_schema: key_schema(ix.key_schema, &format!("{ctx}.KeySchema"))?,
        projection_type,
        non_key_attributes,
    })
}

fn key_schema(v: Option<Field<Vec<RawKey>>>, ctx: &str) -> Result<Vec<KeySpec>, String> {
    let keys = v
        .ok_or_else(|| format!("{ctx}: missing"))?
        .list(ctx)?
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let c = format!("{ctx}[{i}]");
            Ok(KeySpec {
                name: required(k.attribute_name, &format!("{c}.AttributeName"))?,
                key_type: one_of(k.key_type, &format!("{c}.KeyType"), &["HASH", "RANGE"])?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{AUDIT_TABLE_ID, IDEMPOTENCY_TABLE_ID, STATE_TABLE_ID};

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
    fn tolerates_intrinsics_in_properties_it_does_not_use() {
        let t = TEMPLATE.replace(
            "      Tags:\n",
            "      DeletionProtectionEnabled: !If [C, true, false]\n      SSESpecification:\n        SSEEnabled: !If [C, true, !Ref AWS::NoValue]\n        KMSMasterKeyId: !If [C, !GetAtt K.Arn, !Ref AWS::NoValue]\n      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: !Ref P}\n      Tags:\n",
        );
        assert_ne!(t, TEMPLATE);
        let specs = parse_table_specs(&t).unwrap();
        assert_eq!(specs, parse_table_specs(TEMPLATE).unwrap());
        let long = TEMPLATE.replace(
            "BillingMode: PAY_PER_REQUEST",
            "BillingMode: {\"Fn::If\": [C, A, B]}",
        );
        let err = parse_table_specs(&long).unwrap_err();
        assert!(
            err.contains("T.Properties.BillingMode: uses the intrinsic function Fn::If"),
            "{err}"
        );
    }
}
