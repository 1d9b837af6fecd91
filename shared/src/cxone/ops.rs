//! Typed CXone operations (paths relative to
//! `{api_endpoint}/inContactAPI/services/{version}`, see `docs/cxone-api.md`).

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use super::client::CxoneClient;
use super::de::{value_as_i64, value_as_string};
use super::error::CxoneError;
use super::model::{
    AgentState, CallListUpload, DncGroup, GeneralSettings, GeneralSettingsPatch, NewCallList,
    NewSkill, ScheduleSettings, ScrubbedSkill, Skill, SkillActivity, SkillSummary, TimeZoneWindow,
    UploadJob,
};
use super::transport::RetryPolicy;
use crate::deadline::Deadline;
use crate::engine::compliance::{MIN_RING_SECONDS, RING_TIME_SOURCE};

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn decode<T: DeserializeOwned>(path: &str, value: Value) -> Result<T, CxoneError> {
    serde_json::from_value(value).map_err(|source| CxoneError::Decode {
        path: path.to_owned(),
        source,
    })
}

/// The first element of the array under `key` (top level or `resultSet`).
fn first_of(path: &str, value: &Value, key: &str) -> Result<Value, CxoneError> {
    let list = value
        .get(key)
        .or_else(|| value.get("resultSet").and_then(|r| r.get(key)))
        .and_then(Value::as_array);
    match list.and_then(|l| l.first()) {
        Some(item) => Ok(item.clone()),
        None => Err(CxoneError::NotFound {
            path: path.to_owned(),
            message: format!("the answer has no {key}[0]"),
        }),
    }
}

/// A list under `key` (top level or `resultSet`), empty when absent.
fn list_of(value: &Value, key: &str) -> Vec<Value> {
    value
        .get(key)
        .or_else(|| value.get("resultSet").and_then(|r| r.get(key)))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn decode_list<T: DeserializeOwned>(path: &str, items: Vec<Value>) -> Result<Vec<T>, CxoneError> {
    items.into_iter().map(|item| decode(path, item)).collect()
}

/// The schedule PUT's `InvalidParameter` refusal, as its own error.
/// Every write of general settings passes here: a `maximumRingingDuration`
/// under [`MIN_RING_SECONDS`] (FTC TSR safe harbor) is never sent, whoever
/// asks for it.
fn refuse_unlawful_settings(path: &str, settings: &Value) -> Result<(), CxoneError> {
    let ring = &settings["maximumRingingDuration"];
    let seconds = match ring {
        Value::Null => return Ok(()),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if s.is_finite() && s >= f64::from(MIN_RING_SECONDS) => Ok(()),
        _ => Err(CxoneError::Unlawful {
            path: path.to_owned(),
            message: format!(
                "maximumRingingDuration {ring} is under {MIN_RING_SECONDS} s ({RING_TIME_SOURCE})"
            ),
        }),
    }
}

fn schedule_refusal(err: CxoneError) -> CxoneError {
    match err {
        CxoneError::Api {
            status: 400..=499,
            path,
            code,
            message,
            correlation_id,
            ..
        } if code.as_deref() == Some("InvalidParameter")
            || message.contains("InvalidParameter") =>
        {
            CxoneError::ScheduleRefused {
                path,
                message,
                correlation_id,
            }
        }
        other => other,
    }
}

impl CxoneClient {
    /// `GET /skills/{skillId}/activity` → `skillActivity[0]` (staffing now).
    pub async fn skill_activity(
        &self,
        skill_id: i64,
        deadline: &Deadline,
    ) -> Result<SkillActivity, CxoneError> {
        let path = format!("skills/{skill_id}/activity");
        let value: Value = self
            .call_json(
                Method::GET,
                &path,
                &[],
                None,
                RetryPolicy::Idempotent,
                deadline,
            )
            .await?;
        decode(&path, first_of(&path, &value, "skillActivity")?)
    }

    /// `GET /agents/states` (every page): agent states, changed since
    /// `updated_since` when given. CXone's "nothing changed" answers (204,
    /// 304) give an empty list.
    pub async fn agent_states(
        &self,
        updated_since: Option<DateTime<Utc>>,
        deadline: &Deadline,
    ) -> Result<Vec<AgentState>, CxoneError> {
        let path = "agents/states";
        let mut query = Vec::new();
        if let Some(since) = updated_since {
            query.push(("updatedSince", iso(since)));
        }
        let items = self
            .get_all_pages(path, &query, "agentStates", deadline)
            .await?;
        decode_list(path, items)
    }

    /// `GET /skills/{skillId}/summary?startDate&endDate` → `skillSummaries[0]`.
    pub async fn skill_summary(
        &self,
        skill_id: i64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        deadline: &Deadline,
    ) -> Result<SkillSummary, CxoneError> {
        let path = format!("skills/{skill_id}/summary");
        let query = [("startDate", iso(start)), ("endDate", iso(end))];
        let value: Value = self
            .call_json(
                Method::GET,
                &path,
                &query,
                None,
                RetryPolicy::Idempotent,
                deadline,
            )
            .await?;
        decode(&path, first_of(&path, &value, "skillSummaries")?)
    }

    /// `GET /skills/{skillId}/parameters/general-settings` (flat).
    pub async fn general_settings(
        &self,
        skill_id: i64,
        deadline: &Deadline,
    ) -> Result<GeneralSettings, CxoneError> {
        let path = format!("skills/{skill_id}/parameters/general-settings");
        let value: Value = self
            .call_json(
                Method::GET,
                &path,
                &[],
                None,
                RetryPolicy::Idempotent,
                deadline,
            )
            .await?;
        // Tolerate a wrapped answer as well as the documented flat one.
        let value = match value.get("generalSettings") {
            Some(inner @ Value::Object(_)) => inner.clone(),
            _ => value,
        };
        decode(&path, value)
    }

    /// `PUT /skills/{skillId}/parameters/general-settings` with
    /// `{"generalSettings": {...}}` holding only the fields set in `patch`.
    /// An empty patch sends nothing.
    pub async fn update_general_settings(
        &self,
        skill_id: i64,
        patch: &GeneralSettingsPatch,
        deadline: &Deadline,
    ) -> Result<(), CxoneError> {
        if patch.is_empty() {
            return Ok(());
        }
        let path = format!("skills/{skill_id}/parameters/general-settings");
        let body = json!({ "generalSettings": patch });
        refuse_unlawful_settings(&path, &body["generalSettings"])?;
        self.call_unit(
            Method::PUT,
            &path,
            &[],
            Some(&body),
            RetryPolicy::Idempotent,
            deadline,
        )
        .await
    }

    /// Like [`CxoneClient::update_general_settings`] with the fields given
    /// by CXone name (`{"maximumRatio": 1.8}`); an empty map sends nothing.
    pub async fn update_general_settings_fields(
        &self,
        skill_id: i64,
        fields: &Map<String, Value>,
        deadline: &Deadline,
    ) -> Result<(), CxoneError> {
        if fields.is_empty() {
            return Ok(());
        }
        let path = format!("skills/{skill_id}/parameters/general-settings");
        let body = json!({ "generalSettings": fields });
        refuse_unlawful_settings(&path, &body["generalSettings"])?;
        self.call_unit(
            Method::PUT,
            &path,
            &[],
            Some(&body),
            RetryPolicy::Idempotent,
            deadline,
        )
        .await
    }

    /// `GET /skills/{skillId}/parameters/schedule-settings` (flat).
    pub async fn schedule_settings(
        &self,
        skill_id: i64,
        deadline: &Deadline,
    ) -> Result<ScheduleSettings, CxoneError> {
        let path = format!("skills/{skill_id}/parameters/schedule-settings");
        let value: Value = self
            .call_json(
                Method::GET,
                &path,
                &[],
                None,
                RetryPolicy::Idempotent,
                deadline,
            )
            .await?;
        let map = match value {
            Value::Object(mut map) => match map.remove("scheduleSettings") {
                Some(Value::Object(inner)) => inner,
                Some(other) => {
                    map.insert("scheduleSettings".into(), other);
                    map
                }
                None => map,
            },
            _ => Map::new(),
        };
        Ok(ScheduleSettings::from_wire(map))
    }

    /// `PUT /skills/{skillId}/parameters/schedule-settings` with
    /// `{"scheduleSettings": {...}}`. CXone's refusal of anything but seven
    /// active days with windows comes back as [`CxoneError::ScheduleRefused`].
    pub async fn update_schedule_settings(
        &self,
        skill_id: i64,
        settings: &ScheduleSettings,
        deadline: &Deadline,
    ) -> Result<(), CxoneError> {
        let path = format!("skills/{skill_id}/parameters/schedule-settings");
        let body = json!({ "scheduleSettings": settings.to_wire() });
        self.call_unit(
            Method::PUT,
            &path,
            &[],
            Some(&body),
            RetryPolicy::Idempotent,
            deadline,
        )
        .await
        .map_err(schedule_refusal)
    }

    /// `GET /skills/{skillId}/parameters/time-zones` → `timeZoneSettings[]`
    /// (zones read from `name`).
    pub async fn time_zones(
        &self,
        skill_id: i64,
        deadline: &Deadline,
    ) -> Result<Vec<TimeZoneWindow>, CxoneError> {
        let path = format!("skills/{skill_id}/parameters/time-zones");
        let value: Value = self
            .call_json(
                Method::GET,
                &path,
                &[],
                None,
                RetryPolicy::Idempotent,
                deadline,
            )
            .await?;
        let items = match value {
            Value::Array(items) => items,
            other => list_of(&other, "timeZoneSettings"),
        };
        decode_list(&path, items)
    }

    /// `PUT /skills/{skillId}/parameters/time-zones` with
    /// `{"timeZoneSettings": [...]}` (zones written as `standardName`).
    pub async fn update_time_zones(
        &self,
        skill_id: i64,
        windows: &[TimeZoneWindow],
        deadline: &Deadline,
    ) -> Result<(), CxoneError> {
        let path = format!("skills/{skill_id}/parameters/time-zones");
        let body = json!({ "timeZoneSettings": windows });
        self.call_unit(
            Method::PUT,
            &path,
            &[],
            Some(&body),
            RetryPolicy::Idempotent,
            deadline,
        )
        .await
    }

    /// `GET /skills/{skillId}`.
    pub async fn skill(&self, skill_id: i64, deadline: &Deadline) -> Result<Skill, CxoneError> {
        let path = format!("skills/{skill_id}");
        let value: Value = self
            .call_json(
                Method::GET,
                &path,
                &[],
                None,
                RetryPolicy::Idempotent,
                deadline,
            )
            .await?;
        // Documented flat; accept `{"skills": [..]}` and `{"skill": {..}}` too.
        let item = if value.get("skillId").is_some() {
            value
        } else if let Some(inner @ Value::Object(_)) = value.get("skill") {
            inner.clone()
        } else {
            first_of(&path, &value, "skills")?
        };
        decode(&path, item)
    }

    /// `GET /skills?searchString=` (every page): skills whose name matches `search`.
    pub async fn find_skills(
        &self,
        search: &str,
        deadline: &Deadline,
    ) -> Result<Vec<Skill>, CxoneError> {
        let path = "skills";
        let query = [("searchString", search.to_owned())];
        let items = self.get_all_pages(path, &query, "skills", deadline).await?;
        decode_list(path, items)
    }

    /// `POST /skills` with one skill; fails with [`CxoneError::ItemErrors`]
    /// when CXone reports the item failed. CXone returns no id: use
    /// [`CxoneClient::create_skill_and_find`] or [`CxoneClient::find_skills`].
    /// Not retried after a timeout (it may have been applied).
    pub async fn create_skill(
        &self,
        skill: &NewSkill,
        deadline: &Deadline,
    ) -> Result<(), CxoneError> {
        let body = json!({ "skills": [skill] });
        let value: Value = self
            .call_json(
                Method::POST,
                "skills",
                &[],
                Some(&body),
                RetryPolicy::NotIdempotent,
                deadline,
            )
            .await?;
        // call_json already checked errorCount / skillsResults[].success.
        let _ = value;
        Ok(())
    }

    /// Creates `skill` and finds it by exact name (the newest if several match).
    pub async fn create_skill_and_find(
        &self,
        skill: &NewSkill,
        deadline: &Deadline,
    ) -> Result<Skill, CxoneError> {
        self.create_skill(skill, deadline).await?;
        let found = self.find_skills(&skill.skill_name, deadline).await?;
        found
            .into_iter()
            .filter(|s| s.skill_name == skill.skill_name)
            .max_by_key(|s| s.skill_id)
            .ok_or_else(|| CxoneError::NotFound {
                path: "skills".into(),
                message: format!("created skill {:?} not found by name", skill.skill_name),
            })
    }

    /// `POST /skills/{skillId}/start` (starting a running skill is harmless).
    pub async fn start_skill(&self, skill_id: i64, deadline: &Deadline) -> Result<(), CxoneError> {
        let path = format!("skills/{skill_id}/start");
        self.call_unit(
            Method::POST,
            &path,
            &[],
            None,
            RetryPolicy::Idempotent,
            deadline,
        )
        .await
    }

    /// `POST /skills/{skillId}/stop?force=` (stopping a stopped skill is harmless).
    pub async fn stop_skill(
        &self,
        skill_id: i64,
        force: bool,
        deadline: &Deadline,
    ) -> Result<(), CxoneError> {
        let path = format!("skills/{skill_id}/stop");
        let query = [("force", force.to_string())];
        self.call_unit(
            Method::POST,
            &path,
            &query,
            None,
            RetryPolicy::Idempotent,
            deadline,
        )
        .await
    }

    /// `GET /dnc-groups` → `resultSet.dncGroups[]`.
    pub async fn dnc_groups(&self, deadline: &Deadline) -> Result<Vec<DncGroup>, CxoneError> {
        let path = "dnc-groups";
        let value: Value = self
            .call_json(
                Method::GET,
                path,
                &[],
                None,
                RetryPolicy::Idempotent,
                deadline,
            )
            .await?;
        decode_list(path, list_of(&value, "dncGroups"))
    }

    /// `GET /dnc-groups/{groupId}/scrubbed-skills` → `scrubbedSkills[]`.
    pub async fn dnc_scrubbed_skills(
        &self,
        group_id: i64,
        deadline: &Deadline,
    ) -> Result<Vec<ScrubbedSkill>, CxoneError> {
        let path = format!("dnc-groups/{group_id}/scrubbed-skills");
        let value: Value = self
            .call_json(
                Method::GET,
                &path,
                &[],
                None,
                RetryPolicy::Idempotent,
                deadline,
            )
            .await?;
        decode_list(&path, list_of(&value, "scrubbedSkills"))
    }

    /// `POST /dnc-groups/{groupId}/scrubbed-skills` with
    /// `{"skills": [{"skillId": ...}]}`: the group scrubs `skill_id`'s calls
    /// against its numbers from now on. Adding a skill the group already
    /// scrubs changes nothing, so it is retried like an idempotent write.
    pub async fn add_dnc_scrubbed_skill(
        &self,
        group_id: i64,
        skill_id: i64,
        deadline: &Deadline,
    ) -> Result<(), CxoneError> {
        let path = format!("dnc-groups/{group_id}/scrubbed-skills");
        let body = json!({ "skills": [{ "skillId": skill_id }] });
        self.call_unit(
            Method::POST,
            &path,
            &[],
            Some(&body),
            RetryPolicy::Idempotent,
            deadline,
        )
        .await
    }

    /// Whether `skill_id` is scrubbed by at least one active, non-removed DNC group.
    pub async fn is_dnc_protected(
        &self,
        skill_id: i64,
        deadline: &Deadline,
    ) -> Result<bool, CxoneError> {
        for group in self.dnc_groups(deadline).await? {
            if !group.is_effective() {
                continue;
            }
            let skills = self
                .dnc_scrubbed_skills(group.dnc_group_id, deadline)
                .await?;
            if skills.iter().any(|s| s.skill_id == skill_id) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `POST /dnc-groups/search?phoneNumber=` → `searchResults[]` (empty:
    /// the number is on no list). A read: retried like one.
    pub async fn dnc_search(
        &self,
        phone: &str,
        deadline: &Deadline,
    ) -> Result<Vec<Value>, CxoneError> {
        let path = "dnc-groups/search";
        let query = [("phoneNumber", phone.to_owned())];
        let value: Value = self
            .call_json(
                Method::POST,
                path,
                &query,
                None,
                RetryPolicy::Idempotent,
                deadline,
            )
            .await?;
        Ok(list_of(&value, "searchResults"))
    }

    /// `POST /lists/call-lists?listName&externalIdColumn&...` with the
    /// destination mappings → the new `listId`.
    pub async fn create_call_list(
        &self,
        list: &NewCallList,
        deadline: &Deadline,
    ) -> Result<i64, CxoneError> {
        let path = "lists/call-lists";
        let mut query: Vec<(&str, String)> = vec![
            ("listName", list.list_name.clone()),
            ("externalIdColumn", list.external_id_column.clone()),
        ];
        if let Some(column) = &list.time_zone_column {
            query.push(("timeZoneColumn", column.clone()));
        }
        if let Some(column) = &list.state_column {
            query.push(("stateColumn", column.clone()));
        }
        for (name, value) in &list.other_columns {
            query.push((name.as_str(), value.clone()));
        }
        let body = json!({ "destinationMappings": list.destination_mappings });
        let value: Value = self
            .call_json(
                Method::POST,
                path,
                &query,
                Some(&body),
                RetryPolicy::NotIdempotent,
                deadline,
            )
            .await?;
        value
            .get("listId")
            .or_else(|| value.get("resultSet").and_then(|r| r.get("listId")))
            .and_then(value_as_i64)
            .ok_or_else(|| CxoneError::Unexpected {
                path: path.into(),
                message: "the answer has no listId".into(),
            })
    }

    /// `POST /lists/call-lists/{listId}/upload` (CSV sent base64-encoded) → `jobId`.
    pub async fn upload_call_list(
        &self,
        list_id: i64,
        upload: &CallListUpload,
        deadline: &Deadline,
    ) -> Result<String, CxoneError> {
        let path = format!("lists/call-lists/{list_id}/upload");
        let mut body = Map::new();
        body.insert(
            "listFile".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(&upload.csv)),
        );
        body.insert("fileName".into(), json!(upload.file_name));
        body.insert("skillId".into(), json!(upload.skill_id));
        if let Some(zone) = &upload.default_time_zone {
            body.insert("defaultTimeZone".into(), json!(zone));
        }
        body.insert("forceOverwrite".into(), json!(upload.force_overwrite));
        if let Some(date) = upload.expiration_date {
            body.insert(
                "expirationDate".into(),
                json!(date.format("%Y-%m-%d").to_string()),
            );
        }
        body.insert("startSkill".into(), json!(upload.start_skill));
        body.insert("sendEmail".into(), json!(upload.send_email));
        let body = Value::Object(body);
        let value: Value = self
            .call_json(
                Method::POST,
                &path,
                &[],
                Some(&body),
                RetryPolicy::NotIdempotent,
                deadline,
            )
            .await?;
        value
            .get("jobId")
            .or_else(|| value.get("resultSet").and_then(|r| r.get("jobId")))
            .and_then(value_as_string)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CxoneError::Unexpected {
                path,
                message: "the answer has no jobId".into(),
            })
    }

    /// `GET /lists/call-lists/jobs/{jobId}` → `uploadJobs[0]`.
    pub async fn call_list_job(
        &self,
        job_id: &str,
        deadline: &Deadline,
    ) -> Result<UploadJob, CxoneError> {
        let encoded: String = url::form_urlencoded::byte_serialize(job_id.as_bytes()).collect();
        let path = format!("lists/call-lists/jobs/{encoded}");
        let value: Value = self
            .call_json(
                Method::GET,
                &path,
                &[],
                None,
                RetryPolicy::Idempotent,
                deadline,
            )
            .await?;
        decode(&path, first_of(&path, &value, "uploadJobs")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_refusal_is_recognised() {
        let api = CxoneError::Api {
            method: "PUT".into(),
            status: 400,
            path: "skills/1/parameters/schedule-settings".into(),
            code: Some("InvalidParameter".into()),
            message: "All days must be active".into(),
            correlation_id: None,
        };
        let err = schedule_refusal(api);
        assert!(matches!(err, CxoneError::ScheduleRefused { .. }));
        assert!(err.to_string().contains("all 7 days"), "{err}");
    }

    #[test]
    fn ring_times_under_15_seconds_are_never_sent() {
        for bad in [
            json!(12),
            json!("14"),
            json!(14.9),
            json!(-1),
            json!("x"),
            json!(true),
        ] {
            let err =
                refuse_unlawful_settings("p", &json!({"maximumRingingDuration": bad})).unwrap_err();
            assert!(matches!(err, CxoneError::Unlawful { .. }), "{bad}");
            assert!(err.to_string().contains("310.4(b)(4)(ii)"), "{err}");
        }
        for good in [json!(15), json!("20"), json!(30.0)] {
            assert!(
                refuse_unlawful_settings("p", &json!({"maximumRingingDuration": good})).is_ok()
            );
        }
        assert!(refuse_unlawful_settings("p", &json!({"maximumRatio": 2.0})).is_ok());
    }

    #[test]
    fn first_of_reads_top_level_and_result_set() {
        let v = json!({"resultSet": {"uploadJobs": [{"jobId": 5}]}});
        assert_eq!(first_of("p", &v, "uploadJobs").unwrap()["jobId"], json!(5));
        assert!(
            first_of("p", &json!({"skillActivity": []}), "skillActivity")
                .unwrap_err()
                .is_not_found()
        );
    }
}
