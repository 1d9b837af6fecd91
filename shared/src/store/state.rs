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
//! - `sk = SCHEDULE`: the recipients the last deployed schedule covers.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{campaign_pk, is_condition_failure, StoreError};
use crate::campaign_config::CampaignConfig;

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

    /// Writes a config; `expected_version` is the version read before (None: must not exist).
    ///
    /// Returns the stored config, or `Ok(None)` when someone else wrote in between.
    pub async fn put_config(
        &self,
        skill_id: i64,
        config: &CampaignConfig,
        expected_version: Option<u64>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<StoredConfig>, StoreError> {
        let stored = StoredConfig {
            skill_id,
            config: config.clone(),
            version: expected_version.map_or(1, |v| v + 1),
            updated_at: at,
            updated_by: actor.to_owned(),
        };
        let body =
            serde_json::to_string(&stored).map_err(|e| StoreError::corrupt(&self.table, e))?;
        let mut item = key(skill_id, "CONFIG");
        item.insert("kind".into(), AttributeValue::S("config".into()));
        item.insert("body".into(), AttributeValue::S(body));
        item.insert(
            "version".into(),
            AttributeValue::N(stored.version.to_string()),
        );
        item.insert("enabled".into(), AttributeValue::Bool(config.enabled));
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        request = match expected_version {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(v) => request
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        match request.send().await {
            Ok(_) => Ok(Some(stored)),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(StoreError::dynamo("PutItem", &self.table, e)),
        }
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
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(skill_id, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", &self.table, e))?;
        match out
            .item
            .as_ref()
            .and_then(|i| i.get("body"))
            .and_then(|v| v.as_s().ok())
        {
            Some(body) => serde_json::from_str(body)
                .map(Some)
                .map_err(|e| StoreError::corrupt(&self.table, e)),
            None => Ok(None),
        }
    }

    async fn put_body<T: Serialize>(
        &self,
        skill_id: i64,
        sk: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(value).map_err(|e| StoreError::corrupt(&self.table, e))?;
        let mut item = key(skill_id, sk);
        item.insert("body".into(), AttributeValue::S(body));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("PutItem", &self.table, e))?;
        Ok(())
    }
}
