//! Typed CXone records, spelled as CXone spells them (see `docs/cxone-api.md`).
//!
//! Readers tolerate unknown fields, numbers and booleans sent as strings,
//! and durations as `HH:MM:SS[.fff]` or seconds.

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::de;

/// `GET /skills/{skillId}/activity` → `skillActivity[0]`: live staffing of a skill.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillActivity {
    /// The skill.
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub skill_id: Option<i64>,
    /// Agents available for a contact.
    #[serde(
        default,
        rename = "agentsAvailable",
        deserialize_with = "de::u32_lenient"
    )]
    pub agents_available: u32,
    /// Agents on a contact.
    #[serde(
        default,
        rename = "agentsWorking",
        deserialize_with = "de::u32_lenient"
    )]
    pub agents_working: u32,
    /// Agents in after-contact work.
    #[serde(default, rename = "agentsACW", deserialize_with = "de::u32_lenient")]
    pub agents_acw: u32,
    /// Agents idle.
    #[serde(default, rename = "agentsIdle", deserialize_with = "de::u32_lenient")]
    pub agents_idle: u32,
    /// Agents logged in.
    #[serde(
        default,
        rename = "agentsLoggedIn",
        deserialize_with = "de::u32_lenient"
    )]
    pub agents_logged_in: u32,
    /// Agents unavailable.
    #[serde(
        default,
        rename = "agentsUnavailable",
        deserialize_with = "de::u32_lenient"
    )]
    pub agents_unavailable: u32,
    /// Contacts in queue.
    #[serde(default, deserialize_with = "de::u32_lenient")]
    pub queue_count: u32,
    /// Whether the skill is outbound.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub is_outbound: bool,
    /// Whether the skill is active.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub is_active: bool,
    /// CXone's clock when the figures were taken.
    #[serde(default, deserialize_with = "de::opt_datetime_lenient")]
    pub server_time: Option<DateTime<Utc>>,
}

impl SkillActivity {
    /// Staffed agents S = available + working (ACW and unavailable agents
    /// are not staffed; see docs/cxone-api.md, "Dialler semantics").
    pub fn staffed(&self) -> u32 {
        self.agents_available.saturating_add(self.agents_working)
    }
}

/// `GET /agents/states` → one of `agentStates[]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentState {
    /// The agent.
    #[serde(deserialize_with = "de::i64_lenient")]
    pub agent_id: i64,
    /// `Available`, `Unavailable`, `OutboundContact`, `Dialer`, `LoggedIn`, `LoggedOut`, ...
    #[serde(default, deserialize_with = "de::opt_string_lenient")]
    pub agent_state_name: Option<String>,
    /// In after-contact work.
    #[serde(default, rename = "isACW", deserialize_with = "de::bool_lenient")]
    pub is_acw: bool,
    /// On an outbound contact.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub is_outbound: bool,
    /// Current skill, if any.
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub skill_id: Option<i64>,
    /// Team.
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub team_id: Option<i64>,
    /// When the state last changed.
    #[serde(default, deserialize_with = "de::opt_datetime_lenient")]
    pub last_update_time: Option<DateTime<Utc>>,
}

/// `GET /skills/{skillId}/summary` → `skillSummaries[0]`: results over a period.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillSummary {
    /// The skill.
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub skill_id: Option<i64>,
    /// All dial attempts.
    #[serde(default, deserialize_with = "de::u64_lenient")]
    pub dials: u64,
    /// Live answers connected to an agent.
    #[serde(default, deserialize_with = "de::u64_lenient")]
    pub connects: u64,
    /// Live answers abandoned.
    #[serde(default, deserialize_with = "de::u64_lenient")]
    pub abandon_count: u64,
    /// CXone's abandonment rate, percent.
    #[serde(default, deserialize_with = "de::opt_f64_lenient")]
    pub abandon_rate: Option<f64>,
    /// Right-party connects.
    #[serde(default, deserialize_with = "de::u64_lenient")]
    pub right_party_connects: u64,
    /// Average handle time of connects, seconds.
    #[serde(
        default,
        rename = "connectsAHT",
        deserialize_with = "de::opt_duration_lenient"
    )]
    pub connects_aht: Option<f64>,
    /// Average talk time, seconds.
    #[serde(default, deserialize_with = "de::opt_duration_lenient")]
    pub average_talk_time: Option<f64>,
    /// Average wrap (ACW) time, seconds.
    #[serde(default, deserialize_with = "de::opt_duration_lenient")]
    pub average_wrap_time: Option<f64>,
}

impl SkillSummary {
    /// Live answers = `connects + abandonCount`.
    pub fn live_answers(&self) -> u64 {
        self.connects.saturating_add(self.abandon_count)
    }

    /// Abandoned / live answers (0..=1), `None` without live answers.
    pub fn abandon_ratio(&self) -> Option<f64> {
        let live = self.live_answers();
        (live > 0).then(|| self.abandon_count as f64 / live as f64)
    }
}

/// `GET /skills/{skillId}/parameters/general-settings` (flat): the dialler's
/// pacing knobs. Known fields are typed; every other field is kept in
/// `other` so nothing is lost.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneralSettings {
    /// Lines per staffed agent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_f64_lenient"
    )]
    pub maximum_ratio: Option<f64>,
    /// Target abandonment, percent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_f64_lenient"
    )]
    pub abandon_rate_threshold: Option<f64>,
    /// Abandonment cutoff.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_f64_lenient"
    )]
    pub abandon_rate_cutoff: Option<f64>,
    /// Concurrent calls per agent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_f64_lenient"
    )]
    pub max_concurrent_calls_per_agent: Option<f64>,
    /// Aggressiveness (a string in this call).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string_lenient"
    )]
    pub aggressiveness: Option<String>,
    /// Ring time before giving up, seconds (at least 15 by law).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u32_lenient"
    )]
    pub maximum_ringing_duration: Option<u32>,
    /// Percentage of agents before overdial.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_f64_lenient"
    )]
    pub percentage_of_agents_before_overdial: Option<f64>,
    /// Longest wait for an agent, seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_f64_lenient"
    )]
    pub max_wait_time_seconds: Option<f64>,
    /// Every other field, as CXone sent it.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl GeneralSettings {
    /// The whole flat object, CXone field names as keys: the typed fields
    /// (as JSON numbers, `aggressiveness` as a string) merged over `other`.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = self.other.clone();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        };
        put("maximumRatio", self.maximum_ratio.map(Value::from));
        put(
            "abandonRateThreshold",
            self.abandon_rate_threshold.map(Value::from),
        );
        put(
            "abandonRateCutoff",
            self.abandon_rate_cutoff.map(Value::from),
        );
        put(
            "maxConcurrentCallsPerAgent",
            self.max_concurrent_calls_per_agent.map(Value::from),
        );
        put(
            "aggressiveness",
            self.aggressiveness.clone().map(Value::from),
        );
        put(
            "maximumRingingDuration",
            self.maximum_ringing_duration.map(Value::from),
        );
        put(
            "percentageOfAgentsBeforeOverdial",
            self.percentage_of_agents_before_overdial.map(Value::from),
        );
        put(
            "maxWaitTimeSeconds",
            self.max_wait_time_seconds.map(Value::from),
        );
        map
    }
}

/// A change of general settings: only the fields set are sent
/// (`PUT {"generalSettings": {...}}`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneralSettingsPatch {
    /// Lines per staffed agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_ratio: Option<f64>,
    /// Target abandonment, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandon_rate_threshold: Option<f64>,
    /// Abandonment cutoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandon_rate_cutoff: Option<f64>,
    /// Concurrent calls per agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_calls_per_agent: Option<f64>,
    /// Aggressiveness (a string in this call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggressiveness: Option<String>,
    /// Ring time, seconds (at least 15 by law; not checked here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_ringing_duration: Option<u32>,
    /// Percentage of agents before overdial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_of_agents_before_overdial: Option<f64>,
    /// Longest wait for an agent, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_time_seconds: Option<f64>,
    /// Other fields to set, by CXone name.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl GeneralSettingsPatch {
    /// Whether the patch sets nothing.
    pub fn is_empty(&self) -> bool {
        self.maximum_ratio.is_none()
            && self.abandon_rate_threshold.is_none()
            && self.abandon_rate_cutoff.is_none()
            && self.max_concurrent_calls_per_agent.is_none()
            && self.aggressiveness.is_none()
            && self.maximum_ringing_duration.is_none()
            && self.percentage_of_agents_before_overdial.is_none()
            && self.max_wait_time_seconds.is_none()
            && self.other.is_empty()
    }
}

/// One day of a skill's calling schedule (times `"HH:MM"`, 24-hour, in the
/// skill's time zone).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySchedule {
    /// Whether the skill dials that day.
    pub is_active: bool,
    /// `"HH:MM"` start.
    pub start_time: Option<String>,
    /// `"HH:MM"` end.
    pub end_time: Option<String>,
}

/// `GET/PUT /skills/{skillId}/parameters/schedule-settings` (flat on the
/// wire: `isScheduled`, `sundayStartTime`, `sundayEndTime`, `sundayIsActive`, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScheduleSettings {
    /// Whether the schedule applies.
    pub is_scheduled: bool,
    /// Days, Monday first (index with [`Weekday::num_days_from_monday`]).
    pub days: [DaySchedule; 7],
    /// Fields read that are not modelled (not written back).
    pub other: Map<String, Value>,
}

const DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl ScheduleSettings {
    /// The schedule of `day`.
    pub fn day(&self, day: Weekday) -> &DaySchedule {
        &self.days[day.num_days_from_monday() as usize]
    }

    /// The schedule of `day`, to change it.
    pub fn day_mut(&mut self, day: Weekday) -> &mut DaySchedule {
        &mut self.days[day.num_days_from_monday() as usize]
    }

    /// Whether CXone will accept this schedule on a PUT: all 7 days active
    /// with non-empty windows (live CXone refuses anything else with
    /// `InvalidParameter`).
    pub fn cxone_accepts(&self) -> bool {
        self.days.iter().all(|d| {
            d.is_active
                && d.start_time
                    .as_deref()
                    .is_some_and(|s| !s.trim().is_empty())
                && d.end_time.as_deref().is_some_and(|s| !s.trim().is_empty())
        })
    }

    /// The flat wire form (`isScheduled` and the 21 day fields; `other` is not written).
    pub fn to_wire(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("isScheduled".into(), Value::Bool(self.is_scheduled));
        for (name, day) in DAY_NAMES.iter().zip(self.days.iter()) {
            map.insert(format!("{name}IsActive"), Value::Bool(day.is_active));
            if let Some(start) = &day.start_time {
                map.insert(format!("{name}StartTime"), Value::String(start.clone()));
            }
            if let Some(end) = &day.end_time {
                map.insert(format!("{name}EndTime"), Value::String(end.clone()));
            }
        }
        map
    }

    /// Reads the flat wire form; unknown fields go to `other`.
    pub fn from_wire(mut map: Map<String, Value>) -> Self {
        let mut settings = ScheduleSettings {
            is_scheduled: map
                .remove("isScheduled")
                .and_then(|v| de::value_as_bool(&v))
                .unwrap_or(false),
            ..Default::default()
        };
        for (name, day) in DAY_NAMES.iter().zip(settings.days.iter_mut()) {
            day.is_active = map
                .remove(&format!("{name}IsActive"))
                .and_then(|v| de::value_as_bool(&v))
                .unwrap_or(false);
            day.start_time = map
                .remove(&format!("{name}StartTime"))
                .and_then(|v| de::value_as_string(&v))
                .filter(|s| !s.is_empty());
            day.end_time = map
                .remove(&format!("{name}EndTime"))
                .and_then(|v| de::value_as_string(&v))
                .filter(|s| !s.is_empty());
        }
        settings.other = map;
        settings
    }
}

impl Serialize for ScheduleSettings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ScheduleSettings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        Ok(Self::from_wire(map))
    }
}

/// A calling window for one recipient time zone
/// (`/skills/{skillId}/parameters/time-zones`). Read from `name`, written as
/// `standardName`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeZoneWindow {
    /// The zone's standard name, as CXone names it.
    #[serde(
        rename(serialize = "standardName", deserialize = "name"),
        alias = "standardName"
    )]
    pub standard_name: String,
    /// Local start `"HH:MM"`.
    #[serde(default, deserialize_with = "de::opt_string_lenient")]
    pub start_time: Option<String>,
    /// Local end `"HH:MM"`.
    #[serde(default, deserialize_with = "de::opt_string_lenient")]
    pub end_time: Option<String>,
    /// Whether calls to this zone are allowed.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub time_zone_active_to_call: bool,
    /// Whether these times override the skill's schedule.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub override_time: bool,
}

/// `GET /skills/{skillId}`: a skill.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skill {
    /// The skill id (the project's campaign id).
    #[serde(deserialize_with = "de::i64_lenient")]
    pub skill_id: i64,
    /// Name.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub skill_name: String,
    /// Active.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub is_active: bool,
    /// Outbound.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub is_outbound: bool,
    /// `Personal Connection` for the project's campaigns.
    #[serde(default, deserialize_with = "de::opt_string_lenient")]
    pub outbound_strategy: Option<String>,
    /// Dialling right now (CXone sends the field only while dialling).
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub is_running: bool,
    /// CXone reporting campaign.
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub campaign_id: Option<i64>,
    /// Media type (4 = outbound phone).
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub media_type_id: Option<i64>,
}

/// A skill to create (`POST /skills`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSkill {
    /// Unique name (the new skill is found by it afterwards).
    pub skill_name: String,
    /// 4 = outbound phone.
    pub media_type_id: i64,
    /// True for the project's campaigns.
    pub is_outbound: bool,
    /// `Personal Connection`.
    pub outbound_strategy: String,
    /// CXone reporting campaign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<i64>,
    /// Caller id shown to the called party.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id_override: Option<String>,
    /// Studio script.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_id: Option<i64>,
}

impl NewSkill {
    /// A Personal Connection outbound phone skill named `skill_name`.
    pub fn personal_connection(skill_name: impl Into<String>) -> Self {
        Self {
            skill_name: skill_name.into(),
            media_type_id: 4,
            is_outbound: true,
            outbound_strategy: "Personal Connection".into(),
            campaign_id: None,
            caller_id_override: None,
            script_id: None,
        }
    }
}

/// A do-not-call group (`GET /dnc-groups`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DncGroup {
    /// Group id.
    #[serde(deserialize_with = "de::i64_lenient")]
    pub dnc_group_id: i64,
    /// Name.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub dnc_group_name: String,
    /// Active.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub is_active: bool,
    /// Removed.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub is_removed: bool,
    /// Numbers in the group.
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub valid_records: Option<i64>,
}

impl DncGroup {
    /// Active and not removed: a group that protects the skills it scrubs.
    pub fn is_effective(&self) -> bool {
        self.is_active && !self.is_removed
    }
}

/// A skill scrubbed by a DNC group.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScrubbedSkill {
    /// Skill id.
    #[serde(deserialize_with = "de::i64_lenient")]
    pub skill_id: i64,
    /// Skill name.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub skill_name: String,
}

/// A column mapping of a calling list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationMapping {
    /// CXone field, e.g. `PhoneNumber`.
    pub field_name: String,
    /// The CSV column holding it.
    pub field_value: String,
}

/// A calling list definition (`POST /lists/call-lists`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCallList {
    /// `listName`.
    pub list_name: String,
    /// `externalIdColumn`.
    pub external_id_column: String,
    /// `timeZoneColumn`.
    pub time_zone_column: Option<String>,
    /// `stateColumn`.
    pub state_column: Option<String>,
    /// Other query parameters (`firstNameColumn`, ...), by CXone name.
    pub other_columns: Vec<(String, String)>,
    /// `destinationMappings`.
    pub destination_mappings: Vec<DestinationMapping>,
}

/// A calling list upload (`POST /lists/call-lists/{listId}/upload`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallListUpload {
    /// The CSV file's content (sent base64-encoded as `listFile`).
    pub csv: Vec<u8>,
    /// `fileName`.
    pub file_name: String,
    /// `skillId`.
    pub skill_id: i64,
    /// `defaultTimeZone`.
    pub default_time_zone: Option<String>,
    /// `forceOverwrite`.
    pub force_overwrite: bool,
    /// `expirationDate` (`YYYY-MM-DD`).
    pub expiration_date: Option<NaiveDate>,
    /// `startSkill`.
    pub start_skill: bool,
    /// `sendEmail`.
    pub send_email: bool,
}

/// `GET /lists/call-lists/jobs/{jobId}` → `uploadJobs[0]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadJob {
    /// Job id.
    #[serde(default, deserialize_with = "de::opt_string_lenient")]
    pub job_id: Option<String>,
    /// List id.
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    pub list_id: Option<i64>,
    /// Finished.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub is_complete: bool,
    /// Cancelled.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub is_cancelled: bool,
    /// When it finished.
    #[serde(default, deserialize_with = "de::opt_string_lenient")]
    pub completed_date: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_parses_strings_and_durations() {
        let s: SkillSummary = serde_json::from_value(json!({
            "skillId": "1001", "dials": "200", "connects": 40, "abandonCount": "1",
            "abandonRate": "2.44", "rightPartyConnects": 30,
            "connectsAHT": "00:03:05.500", "averageTalkTime": "150", "averageWrapTime": "00:00:20",
            "somethingNew": true
        }))
        .unwrap();
        assert_eq!(s.dials, 200);
        assert_eq!(s.live_answers(), 41);
        assert_eq!(s.connects_aht, Some(185.5));
        assert_eq!(s.average_talk_time, Some(150.0));
        assert_eq!(s.average_wrap_time, Some(20.0));
        assert_eq!(s.abandon_rate, Some(2.44));
    }

    #[test]
    fn general_settings_keep_unknown_fields() {
        let g: GeneralSettings = serde_json::from_value(json!({
            "maximumRatio": "2.5", "abandonRateThreshold": 3, "aggressiveness": 5,
            "maximumRingingDuration": 20, "loadFresh": true, "minimumRetryMinutes": 30
        }))
        .unwrap();
        assert_eq!(g.maximum_ratio, Some(2.5));
        assert_eq!(g.aggressiveness.as_deref(), Some("5"));
        assert_eq!(g.other.get("loadFresh"), Some(&json!(true)));
        assert_eq!(g.other.len(), 2);
        let back = serde_json::to_value(&g).unwrap();
        assert_eq!(back["minimumRetryMinutes"], json!(30));
        let map = g.to_map();
        assert_eq!(map.get("maximumRatio"), Some(&json!(2.5)));
        assert_eq!(map.get("aggressiveness"), Some(&json!("5")));
        assert_eq!(map.get("loadFresh"), Some(&json!(true)));
        assert_eq!(map.len(), 6);
    }

    #[test]
    fn patch_sends_only_what_is_set() {
        let p = GeneralSettingsPatch {
            maximum_ratio: Some(1.5),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"maximumRatio": 1.5})
        );
        assert!(GeneralSettingsPatch::default().is_empty());
    }

    #[test]
    fn schedule_round_trips_the_flat_form() {
        let wire = json!({
            "isScheduled": true, "mondayIsActive": true, "mondayStartTime": "09:00", "mondayEndTime": "20:30",
            "sundayIsActive": "false", "sundayStartTime": "", "extra": 1
        });
        let s: ScheduleSettings = serde_json::from_value(wire).unwrap();
        assert!(s.is_scheduled);
        assert_eq!(s.day(Weekday::Mon).start_time.as_deref(), Some("09:00"));
        assert!(!s.day(Weekday::Sun).is_active);
        assert_eq!(s.day(Weekday::Sun).start_time, None);
        assert!(!s.cxone_accepts());
        let out = serde_json::to_value(&s).unwrap();
        assert_eq!(out["mondayEndTime"], json!("20:30"));
        assert!(out.get("extra").is_none());
    }

    #[test]
    fn time_zones_read_name_and_write_standard_name() {
        let w: TimeZoneWindow = serde_json::from_value(json!({
            "name": "Eastern Standard Time", "startTime": "08:00", "endTime": "21:00",
            "timeZoneActiveToCall": true, "overrideTime": "true", "description": "x"
        }))
        .unwrap();
        assert!(w.override_time);
        let out = serde_json::to_value(&w).unwrap();
        assert_eq!(out["standardName"], json!("Eastern Standard Time"));
        assert!(out.get("name").is_none());
    }

    #[test]
    fn activity_and_agent_states_tolerate_strings() {
        let a: SkillActivity = serde_json::from_value(json!({
            "agentsAvailable": "3", "agentsWorking": 4, "agentsACW": 1, "isOutbound": "True",
            "serverTime": "2026-01-01T10:00:00.000Z", "unknown": []
        }))
        .unwrap();
        assert_eq!(a.staffed(), 7);
        assert!(a.is_outbound);
        let s: AgentState = serde_json::from_value(json!({
            "agentId": "17", "agentStateName": "Available", "isACW": false, "skillId": 1001, "teamId": null
        }))
        .unwrap();
        assert_eq!(s.agent_id, 17);
        assert_eq!(s.team_id, None);
    }
}
