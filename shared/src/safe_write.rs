//! Safe writes of CXone general settings (docs/architecture.md, "Safe writes").
//!
//! CXone has no ETag, so the bundle guards its own writes:
//! 1. the caller holds the campaign's lease ([`crate::store::state::StateStore::acquire_lease`]);
//! 2. [`plan`] compares what the caller wants with the live values and with
//!    what the bundle last wrote: a field whose live value differs from the
//!    bundle's last write was changed by a person, so it is left alone for
//!    the hold and the override is reported; changes below the hysteresis
//!    step are not written;
//! 3. [`SafeWriter::apply`] re-reads just before writing (a person may have
//!    edited in between), records the value it is about to write (so a write
//!    whose confirmation is lost is still known as the bundle's), writes only
//!    the fields that change, reads back to confirm, and records what it wrote.
//!
//! [`plan`] is pure; [`SafeWriter`] does the I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cxone::{CxoneClient, CxoneError};
use crate::deadline::Deadline;
use crate::engine::pacing;
use crate::store::state::{FieldRecord, FieldRecords, StateStore};
use crate::store::StoreError;

/// Two values closer than this are the same value.
const SAME: f64 = 1e-6;

/// A field the caller wants set, with its hysteresis step.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Desired {
    /// CXone field name, e.g. `maximumRatio`.
    pub field: String,
    /// The value wanted.
    pub value: f64,
    /// Changes smaller than this are not written.
    pub hysteresis: f64,
    /// A value written whenever it is wanted, however close the live value
    /// is: progressive dialling's ratio 1.0 abandons nothing, a ratio of
    /// 1.03 still abandons calls, so a spent budget must reach 1.0 exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub always_write: Option<f64>,
}

impl Desired {
    /// `maximumRatio` as the pacing engine wants it: changes below
    /// [`pacing::HYSTERESIS`] wait, a fall to progressive (1.0) never does.
    pub fn maximum_ratio(value: f64) -> Desired {
        Desired {
            field: "maximumRatio".into(),
            value,
            hysteresis: pacing::HYSTERESIS,
            always_write: Some(1.0),
        }
    }

    /// Whether moving the live value `current` to the wanted value is a
    /// change worth writing (it differs, by the hysteresis step or more, or
    /// it reaches the value always written).
    pub fn worth_writing(&self, current: f64) -> bool {
        !same(Some(current), Some(self.value))
            && (pacing::reaches_step(current, self.value, self.hysteresis)
                || same(self.always_write, Some(self.value)))
    }
}

/// What happened to one field.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum FieldStatus {
    /// Written and confirmed by reading back.
    Written,
    /// Already at the wanted value.
    Unchanged,
    /// The change is below the hysteresis step.
    BelowHysteresis,
    /// A person changed the field before: left alone until `until`.
    Held {
        /// End of the hold.
        until: DateTime<Utc>,
    },
    /// A person changed the field since the bundle's last write: hold starts now.
    OverrideDetected {
        /// The bundle's last write.
        last_written: f64,
        /// The live value the person set.
        live: f64,
        /// End of the hold.
        until: DateTime<Utc>,
    },
    /// A person changed the field between the bundle's read and its write.
    ChangedDuringWrite {
        /// The value first read.
        read: f64,
        /// The value re-read just before writing.
        reread: f64,
        /// End of the hold.
        until: DateTime<Utc>,
    },
    /// CXone did not keep the written value.
    NotConfirmed {
        /// What the read-back showed.
        read_back: Option<f64>,
    },
}

/// One field's before, wanted and after values, and what happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldOutcome {
    /// CXone field name.
    pub field: String,
    /// Live value before.
    pub before: Option<f64>,
    /// The value wanted.
    pub desired: f64,
    /// Live value after.
    pub after: Option<f64>,
    /// What happened.
    #[serde(flatten)]
    pub status: FieldStatus,
}

impl FieldOutcome {
    /// Whether a person's change is being respected for this field.
    pub fn is_override(&self) -> bool {
        matches!(
            self.status,
            FieldStatus::Held { .. }
                | FieldStatus::OverrideDetected { .. }
                | FieldStatus::ChangedDuringWrite { .. }
        )
    }
}

/// Why a safe write failed.
#[derive(Debug, thiserror::Error)]
pub enum SafeWriteError {
    /// CXone failed.
    #[error(transparent)]
    Cxone(#[from] CxoneError),
    /// The state table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The numeric value of `field` in a settings object.
pub fn number(settings: &Map<String, Value>, field: &str) -> Option<f64> {
    match settings.get(field)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value as CXone takes it: whole numbers as JSON integers (integer
/// fields such as `maximumRingingDuration` refuse `15.0`), others as they are.
fn wire_number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

fn same(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < SAME,
        (None, None) => true,
        _ => false,
    }
}

/// The pure first pass: which fields to write now, given live settings and records.
///
/// Updates `records` for holds that start or end; returns the outcomes for
/// fields that will not be written and the list of fields that should be.
pub fn plan(
    desired: &[Desired],
    live: &Map<String, Value>,
    records: &mut FieldRecords,
    now: DateTime<Utc>,
    hold: Duration,
) -> (Vec<FieldOutcome>, Vec<Desired>) {
    let mut settled = Vec::new();
    let mut to_write = Vec::new();
    for want in desired {
        let live_value = number(live, &want.field);
        let record = records.entry(want.field.clone()).or_default();
        let outcome = |status| FieldOutcome {
            field: want.field.clone(),
            before: live_value,
            desired: want.value,
            after: live_value,
            status,
        };
        if let Some(until) = record.held_until {
            if until > now {
                settled.push(outcome(FieldStatus::Held { until }));
                continue;
            }
            // The hold is over: the person's value becomes the baseline.
            record.held_until = None;
            record.override_value = None;
            record.last_written = live_value.map(Value::from);
            record.written_at = Some(now);
        }
        let intended = record.intended.take().and_then(|v| v.as_f64());
        if intended.is_some() && same(intended, live_value) {
            // The bundle's own write reached CXone but its confirmation was
            // lost (recorded before the write): it is the bundle's value.
            record.last_written = live_value.map(Value::from);
            record.written_at = Some(now);
        }
        let last_written = record.last_written.as_ref().and_then(Value::as_f64);
        if let (Some(written), Some(current)) = (last_written, live_value) {
            if !same(Some(written), Some(current)) {
                let until = now + hold;
                record.held_until = Some(until);
                record.override_value = Some(Value::from(current));
                settled.push(outcome(FieldStatus::OverrideDetected {
                    last_written: written,
                    live: current,
                    until,
                }));
                continue;
            }
        }
        match live_value {
            Some(current) if same(Some(current), Some(want.value)) => {
                settled.push(outcome(FieldStatus::Unchanged));
            }
            Some(current) if !want.worth_writing(current) => {
                settled.push(outcome(FieldStatus::BelowHysteresis));
            }
            _ => to_write.push(want.clone()),
        }
    }
    (settled, to_write)
}

/// Performs safe writes of general settings for one campaign.
pub struct SafeWriter<'a> {
    cxone: &'a CxoneClient,
    state: &'a StateStore,
}

impl<'a> SafeWriter<'a> {
    /// A writer using these clients.
    pub fn new(cxone: &'a CxoneClient, state: &'a StateStore) -> Self {
        Self { cxone, state }
    }

    /// Applies `desired` to `skill_id`, given the settings the decision was made on.
    ///
    /// The caller must hold the campaign's lease. In steps: [`plan`] against
    /// the field records; a re-read just before writing (`recheck`: a field
    /// a person changed meanwhile is held, not written); the write of the
    /// rest (`write`: recorded as intended first, then read back); the
    /// confirmation of each written field (`confirm`); the records stored
    /// when they changed.
    pub async fn apply(
        &self,
        skill_id: i64,
        desired: &[Desired],
        first_read: &Map<String, Value>,
        now: DateTime<Utc>,
        hold: Duration,
        deadline: &Deadline,
    ) -> Result<Vec<FieldOutcome>, SafeWriteError> {
        let mut records = self.state.get_fields(skill_id).await?;
        let before_records = records.clone();
        let (mut outcomes, candidates) = plan(desired, first_read, &mut records, now, hold);
        let mut patch = Map::new();
        if !candidates.is_empty() {
            let reread = self
                .cxone
                .general_settings(skill_id, deadline)
                .await?
                .to_map();
            let changed;
            (patch, changed) = recheck(&candidates, first_read, &reread, &mut records, now, hold);
            outcomes.extend(changed);
        }
        if !patch.is_empty() {
            let back = self.write(skill_id, &patch, &mut records, deadline).await?;
            outcomes.extend(confirm(
                &candidates,
                &patch,
                &back,
                first_read,
                &mut records,
                now,
            ));
        }
        if records != before_records {
            self.state.put_fields(skill_id, &records).await?;
        }
        outcomes.sort_by(|a, b| a.field.cmp(&b.field));
        Ok(outcomes)
    }

    /// Writes `patch`: records it as intended before writing, so that a
    /// write whose answer or confirmation is lost is still known as the
    /// bundle's, then writes and reads the settings back.
    async fn write(
        &self,
        skill_id: i64,
        patch: &Map<String, Value>,
        records: &mut FieldRecords,
        deadline: &Deadline,
    ) -> Result<Map<String, Value>, SafeWriteError> {
        for (field, value) in patch {
            records.entry(field.clone()).or_default().intended = Some(value.clone());
        }
        self.state.put_fields(skill_id, records).await?;
        self.cxone
            .update_general_settings_fields(skill_id, patch, deadline)
            .await?;
        Ok(self
            .cxone
            .general_settings(skill_id, deadline)
            .await?
            .to_map())
    }
}

/// The re-read before writing: each candidate whose live value is still
/// what the decision was made on goes into the patch; one a person changed
/// meanwhile is held from `now` for `hold` and reported
/// ([`FieldStatus::ChangedDuringWrite`]).
fn recheck(
    candidates: &[Desired],
    first_read: &Map<String, Value>,
    reread: &Map<String, Value>,
    records: &mut FieldRecords,
    now: DateTime<Utc>,
    hold: Duration,
) -> (Map<String, Value>, Vec<FieldOutcome>) {
    let mut patch = Map::new();
    let mut changed = Vec::new();
    for want in candidates {
        let read = number(first_read, &want.field);
        let again = number(reread, &want.field);
        if !same(read, again) {
            let until = now + hold;
            let record = records.entry(want.field.clone()).or_default();
            record.held_until = Some(until);
            record.override_value = again.map(Value::from);
            changed.push(FieldOutcome {
                field: want.field.clone(),
                before: read,
                desired: want.value,
                after: again,
                status: FieldStatus::ChangedDuringWrite {
                    read: read.unwrap_or(f64::NAN),
                    reread: again.unwrap_or(f64::NAN),
                    until,
                },
            });
        } else {
            patch.insert(want.field.clone(), wire_number(want.value));
        }
    }
    (patch, changed)
}

/// The outcome of each field written in `patch`, from the settings read
/// back: [`FieldStatus::Written`] (and recorded as the bundle's last write
/// at `now`) when CXone kept the value, else
/// [`FieldStatus::NotConfirmed`].
fn confirm(
    candidates: &[Desired],
    patch: &Map<String, Value>,
    back: &Map<String, Value>,
    first_read: &Map<String, Value>,
    records: &mut FieldRecords,
    now: DateTime<Utc>,
) -> Vec<FieldOutcome> {
    let mut outcomes = Vec::new();
    for want in candidates.iter().filter(|w| patch.contains_key(&w.field)) {
        let read_back = number(back, &want.field);
        let status = if same(read_back, Some(want.value)) {
            records.insert(
                want.field.clone(),
                FieldRecord {
                    last_written: Some(Value::from(want.value)),
                    written_at: Some(now),
                    held_until: None,
                    override_value: None,
                    intended: None,
                },
            );
            FieldStatus::Written
        } else {
            FieldStatus::NotConfirmed { read_back }
        };
        outcomes.push(FieldOutcome {
            field: want.field.clone(),
            before: number(first_read, &want.field),
            desired: want.value,
            after: read_back,
            status,
        });
    }
    outcomes
}

impl SafeWriter<'_> {
    /// An operator's write through the API: the fields are written whatever
    /// a person's hold or the hysteresis step says (the operator decides),
    /// through the same re-read, write, read-back and record, and are then
    /// held as the operator's for `hold`, so the tuner does not undo them.
    /// The caller must hold the campaign's lease.
    pub async fn apply_as_operator(
        &self,
        skill_id: i64,
        desired: &[Desired],
        first_read: &Map<String, Value>,
        now: DateTime<Utc>,
        hold: Duration,
        deadline: &Deadline,
    ) -> Result<Vec<FieldOutcome>, SafeWriteError> {
        let mut records = self.state.get_fields(skill_id).await?;
        let wanted: Vec<Desired> = desired
            .iter()
            .map(|want| {
                // The live value is the baseline: no person's edit to respect.
                let record = records.entry(want.field.clone()).or_default();
                record.held_until = None;
                record.override_value = None;
                record.last_written = number(first_read, &want.field).map(Value::from);
                Desired {
                    always_write: Some(want.value),
                    ..want.clone()
                }
            })
            .collect();
        self.state.put_fields(skill_id, &records).await?;
        let outcomes = self
            .apply(skill_id, &wanted, first_read, now, hold, deadline)
            .await?;
        let mut records = self.state.get_fields(skill_id).await?;
        for outcome in outcomes.iter().filter(|o| o.status == FieldStatus::Written) {
            let record = records.entry(outcome.field.clone()).or_default();
            record.held_until = Some(now + hold);
            record.override_value = Some(wire_number(outcome.desired));
        }
        self.state.put_fields(skill_id, &records).await?;
        Ok(outcomes)
    }
}

/// Field records keyed for readers that want a plain map.
pub fn records_by_field(records: &FieldRecords) -> BTreeMap<&str, &FieldRecord> {
    records.iter().map(|(k, v)| (k.as_str(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(ratio: f64) -> Map<String, Value> {
        json!({"maximumRatio": ratio, "abandonRateThreshold": 2.5})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }
    fn want(v: f64) -> Vec<Desired> {
        vec![Desired::maximum_ratio(v)]
    }
    fn t(min: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(min)
    }
    /// Plans `maximumRatio` toward `wanted` with the live ratio `live_ratio`
    /// at minute `minute`, with a 60-minute hold for a person's change.
    fn plan_at(
        wanted: f64,
        live_ratio: f64,
        records: &mut FieldRecords,
        minute: i64,
    ) -> (Vec<FieldOutcome>, Vec<Desired>) {
        plan(
            &want(wanted),
            &live(live_ratio),
            records,
            t(minute),
            Duration::minutes(60),
        )
    }

    #[test]
    fn first_write_and_hysteresis() {
        let mut records = FieldRecords::new();
        let (settled, write) = plan_at(1.5, 1.0, &mut records, 0);
        assert!(settled.is_empty());
        assert_eq!(write.len(), 1);
        let (settled, write) = plan_at(1.03, 1.0, &mut records, 0);
        assert_eq!(settled[0].status, FieldStatus::BelowHysteresis);
        assert!(write.is_empty());
        let (settled, _) = plan_at(1.0, 1.0, &mut records, 0);
        assert_eq!(settled[0].status, FieldStatus::Unchanged);
    }

    #[test]
    fn a_step_of_exactly_the_hysteresis_is_written() {
        // 1.15 - 1.10 is 0.04999999999999982 in binary floating point.
        for (from, to) in [(1.10, 1.15), (1.15, 1.10), (2.35, 2.40), (1.0, 1.05)] {
            assert!(
                Desired::maximum_ratio(to).worth_writing(from),
                "{from} -> {to}"
            );
        }
        assert!(!Desired::maximum_ratio(1.14).worth_writing(1.10));
    }

    #[test]
    fn progressive_is_written_however_small_the_step() {
        let mut records = FieldRecords::new();
        // 1.03 to 1.0 is below the 0.05 step, but 1.0 is always written:
        // 1.03 still abandons calls, 1.0 does not.
        let (settled, write) = plan_at(1.0, 1.03, &mut records, 0);
        assert!(settled.is_empty(), "{settled:?}");
        assert_eq!(write.len(), 1);
        // Other small steps still wait.
        let (settled, write) = plan_at(1.01, 1.03, &mut records, 0);
        assert_eq!(settled[0].status, FieldStatus::BelowHysteresis);
        assert!(write.is_empty());
    }

    #[test]
    fn a_write_whose_confirmation_was_lost_is_recognised_as_the_bundles() {
        let mut records = FieldRecords::new();
        records.insert(
            "maximumRatio".into(),
            FieldRecord {
                last_written: Some(json!(1.5)),
                intended: Some(json!(1.0)),
                ..FieldRecord::default()
            },
        );
        // Live 1.0 differs from the confirmed 1.5 but is what the bundle
        // recorded it was about to write: its own value, not a person's.
        let (settled, write) = plan_at(1.0, 1.0, &mut records, 5);
        assert_eq!(settled[0].status, FieldStatus::Unchanged, "{settled:?}");
        assert!(write.is_empty());
        assert_eq!(records["maximumRatio"].last_written, Some(json!(1.0)));
        assert_eq!(records["maximumRatio"].intended, None);
        // Without the intended value the same live value is a person's edit.
        let mut records = FieldRecords::new();
        records.insert(
            "maximumRatio".into(),
            FieldRecord {
                last_written: Some(json!(1.5)),
                ..FieldRecord::default()
            },
        );
        let (settled, _) = plan_at(1.0, 1.0, &mut records, 5);
        assert!(matches!(
            settled[0].status,
            FieldStatus::OverrideDetected { .. }
        ));
    }

    #[test]
    fn a_persons_change_is_held_then_adopted() {
        let mut records = FieldRecords::new();
        records.insert(
            "maximumRatio".into(),
            FieldRecord {
                last_written: Some(json!(1.5)),
                ..FieldRecord::default()
            },
        );
        // Live 2.2 differs from the bundle's 1.5: a person set it.
        let (settled, write) = plan_at(1.6, 2.2, &mut records, 0);
        assert!(write.is_empty());
        assert!(
            matches!(settled[0].status, FieldStatus::OverrideDetected { live, .. } if live == 2.2)
        );
        // Still held 30 minutes later.
        let (settled, write) = plan_at(1.6, 2.2, &mut records, 30);
        assert!(write.is_empty());
        assert!(matches!(settled[0].status, FieldStatus::Held { .. }));
        // After the hold the live value is the baseline and the bundle writes again.
        let (settled, write) = plan_at(1.6, 2.2, &mut records, 61);
        assert!(settled.is_empty(), "{settled:?}");
        assert_eq!(write[0].value, 1.6);
        assert_eq!(records["maximumRatio"].last_written, Some(json!(2.2)));
    }
}
