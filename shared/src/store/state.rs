//! The state table: campaign configs, write leases, and what the bundle last
//! wrote to each CXone field.
//!
//! Items (all under `pk = CAMPAIGN#<skillId>`):
//! - `sk = CONFIG`: the campaign config, with `kind = "config"` so the sparse
//!   GSI `kind-index` lists every configured campaign without a scan;
//! - `sk = LEASE`: a per-campaign write lease (conditional put, expires at
//!   the holder's invocation deadline) so two writers never interleave;
//! - `sk = FIELDS`: per CXone field, the value the bundle last wrote and any
//!   hold placed because a person changed it;
//! - `sk = GUARD`: whether the window guard stopped the skill, and why;
//! - `sk = SCHEDULE`: the recipients the last deployed schedule covers;
//! - `sk = PAUSE`: whether an operator paused the campaign, who, when, why.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{campaign_pk, is_condition_failure, StoreError};
use crate::campaign_config::{CampaignConfig, CampaignLife};

/// Name of the sparse index over config items.
pub const KIND_INDEX: &str = "kind-index";

/// A stored campaign config with its bookkeeping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredConfig {
    /// The campaign (CXone skill id).
    pub skill_id: i64,
    /// The validated config.
    pub config: CampaignConfig,
    /// Incremented on every write (optimistic concurrency).
    pub version: u64,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
    /// Who last wrote it.
    pub updated_by: String,
    /// When the campaign's config was first written (kept by every later
    /// write); `None` for a config first written before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

impl StoredConfig {
    /// What a write of `config` over `previous` (the config read before,
    /// `None` for the first) stores: the next version, `created_at` kept
    /// (`at` for the first write).
    pub fn next(
        skill_id: i64,
        config: &CampaignConfig,
        previous: Option<&StoredConfig>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Self {
        StoredConfig {
            skill_id,
            config: config.clone(),
            version: previous.map_or(1, |p| p.version + 1),
            updated_at: at,
            updated_by: actor.to_owned(),
            created_at: match previous {
                None => Some(at),
                Some(p) => p.created_at,
            },
        }
    }

    /// The version this write replaces (`None`: the config must not exist yet).
    fn replaces(&self) -> Option<u64> {
        self.version.checked_sub(1).filter(|v| *v > 0)
    }
}

impl StoredConfig {
    /// When the config was first written (its `createdAt`, else its last write).
    pub fn first_written(&self) -> DateTime<Utc> {
        self.created_at.unwrap_or(self.updated_at)
    }

    /// Where the campaign is in its life at `now` (see [`CampaignLife`]).
    pub fn life(&self, now: DateTime<Utc>) -> CampaignLife {
        CampaignLife::of(&self.config, self.first_written(), now)
    }
}

/// A held per-campaign write lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The campaign.
    pub skill_id: i64,
    /// Who holds it (a request id).
    pub owner: String,
    /// Unix ms after which it is free again.
    pub expires_at_ms: u64,
}

/// Why a lease could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another writer holds it.
    #[error("campaign {skill_id} is being written by {owner} until {expires_at_ms} ms")]
    Held {
        /// The campaign.
        skill_id: i64,
        /// The current holder.
        owner: String,
        /// When the holder's lease runs out (Unix ms).
        expires_at_ms: u64,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the bundle knows about one CXone field it manages.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldRecord {
    /// The value the bundle last wrote (and read back).
    #[serde(default)]
    pub last_written: Option<Value>,
    /// When it wrote it.
    #[serde(default)]
    pub written_at: Option<DateTime<Utc>>,
    /// Until when the field is left alone because a person changed it.
    #[serde(default)]
    pub held_until: Option<DateTime<Utc>>,
    /// The value the person set (as first seen).
    #[serde(default)]
    pub override_value: Option<Value>,
    /// The value the bundle is about to write, recorded *before* the write:
    /// if the write reaches CXone but its confirmation is lost (a timeout,
    /// a crash, a failed store), the next run recognises this value in
    /// CXone as the bundle's own, not as a person's edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended: Option<Value>,
}

/// What the window guard remembers about a campaign.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardRecord {
    /// When the guard stopped the skill (None: the guard has not stopped it).
    #[serde(default)]
    pub stopped_at: Option<DateTime<Utc>>,
    /// Why it stopped it.
    #[serde(default)]
    pub reason: Option<String>,
}

/// An operator's pause of a campaign. A paused campaign stays paused: the
/// tuner leaves it alone, the window guard never restarts it, and a
/// failover or failback starts no skill for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PauseRecord {
    /// Whether the campaign is paused.
    pub paused: bool,
    /// When it was last paused or resumed (the request's time).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// Who paused or resumed it (IAM principal or signed-in person).
    #[serde(default)]
    pub by: Option<String>,
    /// Why, as the operator said.
    #[serde(default)]
    pub reason: Option<String>,
}

/// What the schedule deployer last deployed: the recipients it was checked for.
///
/// The window guard adds these areas to the config's, so that state rules
/// (Sundays, holidays, earlier evening hours) of a deployed schedule are
/// enforced at run time even where CXone's settings cannot express them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedSchedule {
    /// IANA zones of the recipients.
    pub recipient_time_zones: Vec<String>,
    /// US state codes of the recipients.
    #[serde(default)]
    pub recipient_states: Vec<String>,
    /// When it was deployed (the request's time).
    pub deployed_at: Option<DateTime<Utc>>,
}

/// Per-field records for one campaign, by CXone field name.
pub type FieldRecords = BTreeMap<String, FieldRecord>;

/// The state table.
#[derive(Clone, Debug)]
pub struct StateStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn key(skill_id: i64, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(campaign_pk(skill_id))),
        ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

impl StateStore {
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

    /// The DynamoDB client (for sibling stores on the same table).
    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// Reads one campaign's config.
    pub async fn get_config(&self, skill_id: i64) -> Result<Option<StoredConfig>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(skill_id, "CONFIG")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", &self.table, e))?;
        out.item.map(|item| self.decode_config(item)).transpose()
    }

    fn decode_config(
        &self,
        item: HashMap<String, AttributeValue>,
    ) -> Result<StoredConfig, StoreError> {
        let body = item
            .get("body")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError::corrupt(&self.table, "config item has no body"))?;
        serde_json::from_str(body).map_err(|e| StoreError::corrupt(&self.table, e))
    }

    /// The config item of `stored`.
    fn config_item(
        &self,
        stored: &StoredConfig,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let body =
            serde_json::to_string(stored).map_err(|e| StoreError::corrupt(&self.table, e))?;
        let mut item = key(stored.skill_id, "CONFIG");
        item.insert("kind".into(), AttributeValue::S("config".into()));
        item.insert("body".into(), AttributeValue::S(body));
        item.insert(
            "version".into(),
            AttributeValue::N(stored.version.to_string()),
        );
        item.insert(
            "enabled".into(),
            AttributeValue::Bool(stored.config.enabled),
        );
        Ok(item)
    }

    /// The optimistic-concurrency condition of writing `stored`: the version
    /// it replaces is still there (or, for version 1, no config exists).
    fn config_condition(
        stored: &StoredConfig,
    ) -> (&'static str, Option<HashMap<String, AttributeValue>>) {
        match stored.replaces() {
            None => ("attribute_not_exists(pk)", None),
            Some(v) => (
                "version = :v",
                Some(HashMap::from([(
                    ":v".to_owned(),
                    AttributeValue::N(v.to_string()),
                )])),
            ),
        }
    }

    /// Writes a config; `expected_version` is the version read before (None: must not exist).
    ///
    /// Returns the stored config, or `Ok(None)` when someone else wrote in
    /// between. A later version keeps the `created_at` of the config it
    /// replaces (read first; the version condition makes that read safe).
    pub async fn put_config(
        &self,
        skill_id: i64,
        config: &CampaignConfig,
        expected_version: Option<u64>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<StoredConfig>, StoreError> {
        let previous = match expected_version {
            None => None,
            Some(v) => match self.get_config(skill_id).await? {
                Some(current) if current.version == v => Some(current),
                // Someone else wrote in between (or deleted it): the
                // conditional put would fail the same way.
                _ => return Ok(None),
            },
        };
        let stored = StoredConfig::next(skill_id, config, previous.as_ref(), actor, at);
        let (condition, values) = Self::config_condition(&stored);
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.config_item(&stored)?))
            .condition_expression(condition)
            .set_expression_attribute_values(values);
        match request.send().await {
            Ok(_) => Ok(Some(stored)),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(StoreError::dynamo("PutItem", &self.table, e)),
        }
    }

    /// Writes `next` (made by [`StoredConfig::next`] from the config read
    /// before) and its audit record (`audit`, from
    /// [`AuditStore::put_request`](super::audit::AuditStore::put_request)) in
    /// one `TransactWriteItems`: both or neither.
    ///
    /// The config is written on the same condition as [`StateStore::put_config`]
    /// (the version it replaces is still there; for version 1, no config yet),
    /// the audit record on its own (never overwritten). Returns `Ok(None)`,
    /// with nothing written, when a condition failed (someone else wrote the
    /// config in between, or a concurrent transaction touched it); storage
    /// failures are errors, with nothing written either.
    pub async fn put_config_with_audit(
        &self,
        next: &StoredConfig,
        audit: Put,
    ) -> Result<Option<StoredConfig>, StoreError> {
        let (condition, values) = Self::config_condition(next);
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Dynamo {
            operation: "TransactWriteItems",
            table: self.table.clone(),
            message: format!("could not build the config put: {e}"),
        };
        let config_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.config_item(next)?))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(config_put).build())
            .transact_items(TransactWriteItem::builder().put(audit).build())
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Some(next.clone())),
            Err(err) => err,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(tce)) =
            err.as_service_error()
        {
            let codes: Vec<&str> = tce
                .cancellation_reasons()
                .iter()
                .filter_map(|r| r.code())
                .filter(|c| *c != "None")
                .collect();
            let lost_a_race = codes.is_empty()
                || codes
                    .iter()
                    .all(|c| matches!(*c, "ConditionalCheckFailed" | "TransactionConflict"));
            if lost_a_race {
                return Ok(None);
            }
        }
        Err(StoreError::dynamo("TransactWriteItems", &self.table, err))
    }

    /// Every configured campaign (enabled or not), through the sparse index.
    pub async fn list_configs(&self) -> Result<Vec<StoredConfig>, StoreError> {
        let mut configs = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(KIND_INDEX)
                .key_condition_expression("kind = :kind")
                .expression_attribute_values(":kind", AttributeValue::S("config".into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", &self.table, e))?;
            for item in out.items() {
                configs.push(self.decode_config(item.clone())?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        configs.sort_by_key(|c| c.skill_id);
        Ok(configs)
    }

    /// Takes the campaign's write lease for `owner` until `expires_at_ms`.
    ///
    /// Succeeds when the lease is free, expired (checked here, not by TTL), or
    /// already held by the same owner.
    pub async fn acquire_lease(
        &self,
        skill_id: i64,
        owner: &str,
        now_ms: u64,
        expires_at_ms: u64,
    ) -> Result<Lease, LeaseError> {
        let mut item = key(skill_id, "LEASE");
        item.insert("owner".into(), AttributeValue::S(owner.to_owned()));
        item.insert(
            "expiresAtMs".into(),
            AttributeValue::N(expires_at_ms.to_string()),
        );
        // Lets TTL clean up eventually; correctness never depends on it.
        item.insert(
            "ttl".into(),
            AttributeValue::N((expires_at_ms / 1000 + 3600).to_string()),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR expiresAtMs < :now OR #owner = :owner",
            )
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", AttributeValue::N(now_ms.to_string()))
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Lease {
                skill_id,
                owner: owner.to_owned(),
                expires_at_ms,
            }),
            Err(e) if is_condition_failure(&e) => {
                let current = self.read_lease(skill_id).await?;
                Err(LeaseError::Held {
                    skill_id,
                    owner: current
                        .as_ref()
                        .map(|l| l.owner.clone())
                        .unwrap_or_default(),
                    expires_at_ms: current.map_or(0, |l| l.expires_at_ms),
                })
            }
            Err(e) => Err(StoreError::dynamo("PutItem", &self.table, e).into()),
        }
    }

    async fn read_lease(&self, skill_id: i64) -> Result<Option<Lease>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(skill_id, "LEASE")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", &self.table, e))?;
        Ok(out.item.map(|item| Lease {
            skill_id,
            owner: item
                .get("owner")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default(),
            expires_at_ms: item
                .get("expiresAtMs")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        }))
    }

    /// Releases a lease this owner holds (a lease taken over by another is left alone).
    pub async fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(lease.skill_id, "LEASE")))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", AttributeValue::S(lease.owner.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(StoreError::dynamo("DeleteItem", &self.table, e)),
        }
    }

    /// The per-field records of one campaign (empty when none yet).
    pub async fn get_fields(&self, skill_id: i64) -> Result<FieldRecords, StoreError> {
        self.get_body(skill_id, "FIELDS")
            .await
            .map(Option::unwrap_or_default)
    }

    /// Replaces the per-field records (call only while holding the campaign's lease).
    pub async fn put_fields(&self, skill_id: i64, fields: &FieldRecords) -> Result<(), StoreError> {
        self.put_body(skill_id, "FIELDS", fields).await
    }

    /// The window guard's record of one campaign (default when none yet).
    pub async fn get_guard(&self, skill_id: i64) -> Result<GuardRecord, StoreError> {
        self.get_body(skill_id, "GUARD")
            .await
            .map(Option::unwrap_or_default)
    }

    /// Replaces the window guard's record (call only while holding the campaign's lease).
    pub async fn put_guard(&self, skill_id: i64, record: &GuardRecord) -> Result<(), StoreError> {
        self.put_body(skill_id, "GUARD", record).await
    }

    /// The operator's pause record of a campaign (not paused when none yet).
    pub async fn get_pause(&self, skill_id: i64) -> Result<PauseRecord, StoreError> {
        self.get_body(skill_id, "PAUSE")
            .await
            .map(Option::unwrap_or_default)
    }

    /// Replaces the pause record (call only while holding the campaign's lease).
    pub async fn put_pause(&self, skill_id: i64, record: &PauseRecord) -> Result<(), StoreError> {
        self.put_body(skill_id, "PAUSE", record).await
    }

    /// Replaces the pause record and appends its audit record (`audit`, from
    /// [`crate::store::audit::AuditStore::put_request`]) in one transaction:
    /// both or neither.
    pub async fn put_pause_with_audit(
        &self,
        skill_id: i64,
        record: &PauseRecord,
        audit: Put,
    ) -> Result<(), StoreError> {
        let body =
            serde_json::to_string(record).map_err(|e| StoreError::corrupt(&self.table, e))?;
        let mut item = key(skill_id, "PAUSE");
        item.insert("body".into(), AttributeValue::S(body));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| StoreError::Dynamo {
                operation: "TransactWriteItems",
                table: self.table.clone(),
                message: format!("could not build the pause put: {e}"),
            })?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().put(audit).build())
            .send()
            .await
            .map_err(|e| StoreError::dynamo("TransactWriteItems", &self.table, e))?;
        Ok(())
    }

    /// The schedule last deployed for a campaign, if any.
    pub async fn get_deployed_schedule(
        &self,
        skill_id: i64,
    ) -> Result<Option<DeployedSchedule>, StoreError> {
        self.get_body(skill_id, "SCHEDULE").await
    }

    /// Records the schedule just deployed (call while holding the campaign's lease).
    pub async fn put_deployed_schedule(
        &self,
        skill_id: i64,
        schedule: &DeployedSchedule,
    ) -> Result<(), StoreError> {
        self.put_body(skill_id, "SCHEDULE", schedule).await
    }

    async fn get_body<T: serde::de::DeserializeOwned>(
        &self,
        skill_id: i64,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        super::get_json_body(
            &self.client,
            &self.table,
            campaign_pk(skill_id),
            sk.to_owned(),
        )
        .await
    }

    async fn put_body<T: Serialize>(
        &self,
        skill_id: i64,
        sk: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        super::put_json_body(
            &self.client,
            &self.table,
            campaign_pk(skill_id),
            sk.to_owned(),
            value,
        )
        .await
    }
}
