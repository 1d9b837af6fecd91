//! The append-only audit trail a compliance officer relies on.
//!
//! One item per decision or change, written with a conditional put so that
//! nothing is ever overwritten: the sort key is the decision time, the
//! request id and the action, so a replayed request finds its record already
//! there instead of writing a second one. Never holds secrets.
//!
//! A record's `details.items` list (the chunks of consent evidence and
//! rejected rows a contact upload writes, up to about 300 KB each) is stored
//! as one string attribute, `details.itemsJson`, holding its JSON: as a
//! nested list of maps every attribute name of every entry would be stored
//! again (a larger item, more capacity), and reading such an item back is
//! slow (moto took 5 s for 800 entries). [`AuditRecord::from_item`] restores
//! `items`, so readers see the record as it was written.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{campaign_pk, is_condition_failure, StoreError};

/// The condition of every audit write: the record is new (never overwritten).
const APPEND_CONDITION: &str = "attribute_not_exists(pk)";

/// One audited decision or change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The campaign (CXone skill id).
    pub skill_id: i64,
    /// When the decision was made (the triggering event's time).
    pub at: DateTime<Utc>,
    /// Who: the function name or the IAM principal.
    pub actor: String,
    /// What: a dotted action name, e.g. `pacing.tune`, `config.put`.
    pub action: String,
    /// The state before.
    pub before: Value,
    /// The state after.
    pub after: Value,
    /// Why, in words.
    pub why: String,
    /// Outcome: `written`, `unchanged`, `held`, `skipped`, `failed`, ...
    pub outcome: String,
    /// The Lambda request id (or event id) that made it.
    pub request_id: String,
    /// Inputs, predictions and other facts behind the decision.
    #[serde(default)]
    pub details: Value,
}

/// The attribute of `details` that holds the JSON of its `items` list.
const ITEMS_JSON: &str = "itemsJson";

impl AuditRecord {
    /// The record of a DynamoDB item (its `pk` and `sk` are ignored), with a
    /// `details.itemsJson` string restored to the `details.items` list.
    pub fn from_item(item: HashMap<String, AttributeValue>) -> Result<Self, serde_dynamo::Error> {
        let mut record: AuditRecord = serde_dynamo::from_item(item)?;
        if let Value::Object(details) = &mut record.details {
            if let Some(Value::String(json)) = details.remove(ITEMS_JSON) {
                let items = serde_json::from_str(&json)
                    .map_err(<serde_dynamo::Error as serde::de::Error>::custom)?;
                details.insert("items".into(), items);
            }
        }
        Ok(record)
    }

    /// The DynamoDB attributes of the record (without `pk` and `sk`), with
    /// a `details.items` list stored as the string `details.itemsJson`.
    pub fn to_item(&self) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
        match &self.details {
            Value::Object(details) if details.get("items").is_some_and(Value::is_array) => {
                let mut details = details.clone();
                if let Some(items) = details.remove("items") {
                    details.insert(ITEMS_JSON.into(), Value::String(items.to_string()));
                }
                let stored = AuditRecord {
                    details: Value::Object(details),
                    ..self.clone()
                };
                serde_dynamo::to_item(&stored)
            }
            _ => serde_dynamo::to_item(self),
        }
    }

    /// The sort key: time first (ISO 8601, sortable), then request and action.
    pub fn sort_key(&self) -> String {
        format!(
            "{}#{}#{}",
            self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            self.request_id,
            self.action
        )
    }
}

/// Whether an append wrote a new record or found it already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// A new record was written.
    New,
    /// The same decision was already recorded (a replay); nothing was written.
    AlreadyRecorded,
}

/// One page of the audit trail, newest first.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Records, newest first.
    pub records: Vec<AuditRecord>,
    /// Opaque cursor for the next page, if any.
    pub next: Option<String>,
}

/// DynamoDB calls [`AuditStore::page`] makes at most for one page.
pub const MAX_QUERY_CALLS: usize = 10;
/// Items a filtered [`AuditStore::page`] reads per DynamoDB call.
const FILTERED_BATCH: usize = 250;

/// What [`AuditStore::page`] reads: one campaign's records with
/// `from <= at < to`, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditQuery<'a> {
    /// The campaign.
    pub skill_id: i64,
    /// The earliest time (inclusive).
    pub from: DateTime<Utc>,
    /// The latest time (exclusive).
    pub to: DateTime<Utc>,
    /// Only actions that start with this (e.g. `pacing.tune`, `guard.`).
    pub action_prefix: Option<&'a str>,
    /// Records per page (at least 1).
    pub limit: usize,
    /// The sort key to continue after (a previous page's `next`).
    pub after: Option<&'a str>,
}

/// The sort-key prefix of a time (ISO 8601 in milliseconds, sortable).
pub fn time_key(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The audit table.
#[derive(Clone, Debug)]
pub struct AuditStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl AuditStore {
    /// A store on `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DynamoDB item of `record` (its attributes plus `pk` and `sk`).
    fn item(&self, record: &AuditRecord) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let mut item = record
            .to_item()
            .map_err(|e| StoreError::corrupt(&self.table, e))?;
        item.insert("pk".into(), AttributeValue::S(campaign_pk(record.skill_id)));
        item.insert("sk".into(), AttributeValue::S(record.sort_key()));
        Ok(item)
    }

    /// The conditional put that [`AuditStore::append`] sends, as a
    /// `TransactWriteItems` element: the same item and the same
    /// never-overwrite condition, so that a record can be written in one
    /// transaction with the change it describes.
    pub fn put_request(&self, record: &AuditRecord) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.item(record)?))
            .condition_expression(APPEND_CONDITION)
            .build()
            .map_err(|e| StoreError::Dynamo {
                operation: "TransactWriteItems",
                table: self.table.clone(),
                message: format!("could not build the audit put: {e}"),
            })
    }

    /// Appends `record`; never overwrites an existing one.
    pub async fn append(&self, record: &AuditRecord) -> Result<Appended, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item(record)?))
            .condition_expression(APPEND_CONDITION)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Appended::New),
            Err(e) if is_condition_failure(&e) => Ok(Appended::AlreadyRecorded),
            Err(e) => Err(StoreError::dynamo("PutItem", &self.table, e)),
        }
    }

    /// Records for `skill_id` with `from <= at < to`, newest first, `limit` per page.
    pub async fn query(
        &self,
        skill_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<AuditPage, StoreError> {
        let from_key = from.to_rfc3339_opts(SecondsFormat::Millis, true);
        let to_key = to.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(campaign_pk(skill_id)))
            .expression_attribute_values(":from", AttributeValue::S(from_key))
            // '#' sorts below digits, so "to" itself (with any suffix) is excluded.
            .expression_attribute_values(":to", AttributeValue::S(to_key))
            .scan_index_forward(false)
            .limit(limit.clamp(1, 1000));
        if let Some(cursor) = cursor {
            request = request
                .exclusive_start_key("pk", AttributeValue::S(campaign_pk(skill_id)))
                .exclusive_start_key("sk", AttributeValue::S(cursor.to_owned()));
        }
        let out = request
            .send()
            .await
            .map_err(|e| StoreError::dynamo("Query", &self.table, e))?;
        let records = out
            .items()
            .iter()
            .map(|item| AuditRecord::from_item(item.clone()))
            .collect::<Result<Vec<AuditRecord>, _>>()
            .map_err(|e| StoreError::corrupt(&self.table, e))?;
        let next = out
            .last_evaluated_key()
            .and_then(|k| k.get("sk"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        Ok(AuditPage { records, next })
    }

    /// One page of [`AuditQuery`]: records newest first, at most
    /// `query.limit`, only those whose action starts with
    /// `query.action_prefix` when one is given, continuing after the sort
    /// key `query.after`. `next` is the sort key to continue after when
    /// more records may follow (a filtered query reads at most
    /// [`MAX_QUERY_CALLS`] DynamoDB pages per call, so a sparse filter can
    /// answer a short page with a `next`).
    pub async fn page(&self, query: &AuditQuery<'_>) -> Result<AuditPage, StoreError> {
        let limit = query.limit.max(1);
        let pk = campaign_pk(query.skill_id);
        let mut start_after = query.after.map(str::to_owned);
        let mut records: Vec<AuditRecord> = Vec::with_capacity(limit.min(256));
        for _ in 0..MAX_QUERY_CALLS {
            // Unfiltered, one more than needed tells whether a next page exists.
            let batch = match query.action_prefix {
                Some(_) => FILTERED_BATCH,
                None => limit - records.len() + 1,
            };
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":from", AttributeValue::S(time_key(query.from)))
                // '#' sorts below digits, so "to" itself (with any suffix) is excluded.
                .expression_attribute_values(":to", AttributeValue::S(time_key(query.to)))
                .scan_index_forward(false)
                .limit(i32::try_from(batch).unwrap_or(i32::MAX));
            if let Some(prefix) = query.action_prefix {
                request = request
                    .filter_expression("begins_with(#action, :prefix)")
                    .expression_attribute_names("#action", "action")
                    .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()));
            }
            if let Some(after) = &start_after {
                request = request
                    .exclusive_start_key("pk", AttributeValue::S(pk.clone()))
                    .exclusive_start_key("sk", AttributeValue::S(after.clone()));
            }
            let out = request
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", &self.table, e))?;
            for item in out.items() {
                if records.len() == limit {
                    // A record beyond the page: continue after the last one kept.
                    let next = records.last().map(AuditRecord::sort_key);
                    return Ok(AuditPage { records, next });
                }
                let record = AuditRecord::from_item(item.clone())
                    .map_err(|e| StoreError::corrupt(&self.table, e))?;
                records.push(record);
            }
            let evaluated = out
                .last_evaluated_key()
                .and_then(|k| k.get("sk"))
                .and_then(|v| v.as_s().ok())
                .cloned();
            match evaluated {
                None => {
                    return Ok(AuditPage {
                        records,
                        next: None,
                    })
                }
                Some(key) if records.len() == limit => {
                    return Ok(AuditPage {
                        records,
                        next: Some(key),
                    })
                }
                Some(key) => start_after = Some(key),
            }
        }
        Ok(AuditPage {
            records,
            next: start_after,
        })
    }

    /// Every record for `skill_id`, newest first (for tests and tools).
    pub async fn all_for(&self, skill_id: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let mut records = Vec::new();
        let mut cursor: Option<String> = None;
        // Fixed four-digit years keep the keys in lexical order.
        let from = DateTime::<Utc>::UNIX_EPOCH;
        let to = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| StoreError::corrupt(&self.table, e))?;
        loop {
            let page = self
                .query(skill_id, from, to, 500, cursor.as_deref())
                .await?;
            records.extend(page.records);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(records),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(details: Value) -> AuditRecord {
        AuditRecord {
            skill_id: 1001,
            at: "2026-03-03T15:00:00Z".parse().unwrap(),
            actor: "test".into(),
            action: "contacts.evidence.0001".into(),
            before: Value::Null,
            after: json!({"accepted": 2}),
            why: "evidence".into(),
            outcome: "written".into(),
            request_id: "req-1".into(),
            details,
        }
    }

    #[test]
    fn an_items_list_is_stored_as_one_string_and_read_back_as_a_list() {
        let items = json!([{"phoneNumber": "+16175550100", "consent": {"type": "ewc"}},
                           {"phoneNumber": "+16175550101"}]);
        let written = record(json!({"chunk": 1, "chunks": 1, "items": items}));
        let item = written.to_item().unwrap();
        let AttributeValue::M(details) = &item["details"] else {
            panic!("details is a map: {item:?}")
        };
        assert!(!details.contains_key("items"));
        let stored = details[ITEMS_JSON].as_s().unwrap();
        assert_eq!(serde_json::from_str::<Value>(stored).unwrap(), items);
        assert_eq!(AuditRecord::from_item(item).unwrap(), written);
    }

    #[test]
    fn details_without_a_list_of_items_are_stored_as_they_are() {
        for details in [json!({"items": 3}), json!({"ratio": 1.5}), Value::Null] {
            let written = record(details);
            let item = written.to_item().unwrap();
            assert_eq!(item, serde_dynamo::to_item(&written).unwrap());
            assert_eq!(AuditRecord::from_item(item).unwrap(), written);
        }
    }
}
