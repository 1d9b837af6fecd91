//! Which uploaded contacts may be called, and why not: the pure rules of
//! the contact intake (no I/O; the handler adds the per-number call counts
//! and the DNC search answers).
//!
//! A contact is rejected, with one reason code, when (checked in this order):
//!
//! | code | when |
//! | --- | --- |
//! | `invalid_row` | a row that cannot be read: no `externalId`, a field too long, wrong number of CSV fields, no `state` nor `timeZone`, an unknown state or zone |
//! | `invalid_number` | not a valid, dialable US number (parsed with `phonenumber`, libphonenumber's metadata): other countries, toll-free, premium and other non-geographic types, extensions |
//! | `duplicate` | the same number (E.164) or `externalId` earlier in the upload (the first is kept) |
//! | `consent_missing` | no consent type, source or time stamp, an unknown type, a time stamp in the future, `ebr` without its `relationshipDate` |
//! | `consent_expired` | `ebr` whose last transaction is more than 18 months before today (16 CFR § 310.2(q)) |
//! | `consent_insufficient` | `ebr` for a number that may be a mobile: predictive dialling of a mobile needs express written consent (47 CFR § 64.1200(a)(2)); libphonenumber cannot tell US mobiles from landlines, so every US number counts as a possible mobile |
//! | `outside_campaign_area` | the contact's zone is not one of the campaign's recipient zones, or its state has stricter rules and is not one of its recipient states: its calling windows were never checked for it |
//! | `state_forbids_today` | the contact's state bans every call on its local date today (a Sunday or state-holiday ban) |
//! | `attempts_exhausted` | its state caps calls per 24 hours (FL, MD, OK: 3) and that many calls to the number completed in the last 24 hours |
//! | `dnc_listed` | CXone's DNC search finds the number on a do-not-call list |

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use phonenumber::{country, Mode, Type};
use serde::Serialize;
use serde_json::{json, Value};

use shared::engine::compliance::{lawful_local_window, parse_zone, state_rule, StateCode};

/// How long an established business relationship lasts after the last
/// transaction, in months (16 CFR § 310.2(q)(1)).
pub const EBR_MONTHS: u32 = 18;
/// Longest `externalId`, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 100;
/// Longest consent source, in characters.
pub const MAX_SOURCE_CHARS: usize = 500;
/// Legal source of the mobile consent rule.
pub const MOBILE_CONSENT_SOURCE: &str =
    "47 CFR § 64.1200(a)(2) (TCPA: prior express written consent for telemarketing calls to wireless numbers with an autodialer)";
/// Legal source of the EBR expiry.
pub const EBR_SOURCE: &str =
    "16 CFR § 310.2(q)(1) (FTC TSR: 18 months after the last purchase or transaction)";

use crate::contact_rows::ContactRow;

/// Why a contact was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The row cannot be read.
    InvalidRow,
    /// Not a valid, dialable US number.
    InvalidNumber,
    /// The number or external id came earlier in the upload.
    Duplicate,
    /// No (complete) consent record.
    ConsentMissing,
    /// An established business relationship that ended.
    ConsentExpired,
    /// Consent that does not cover predictive dialling of the number.
    ConsentInsufficient,
    /// Outside the recipients the campaign's schedule was checked for.
    OutsideCampaignArea,
    /// The recipient's state bans calls today.
    StateForbidsToday,
    /// Called as often as the state allows in the last 24 hours.
    AttemptsExhausted,
    /// On a do-not-call list.
    DncListed,
}

impl Reason {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::InvalidRow => "invalid_row",
            Reason::InvalidNumber => "invalid_number",
            Reason::Duplicate => "duplicate",
            Reason::ConsentMissing => "consent_missing",
            Reason::ConsentExpired => "consent_expired",
            Reason::ConsentInsufficient => "consent_insufficient",
            Reason::OutsideCampaignArea => "outside_campaign_area",
            Reason::StateForbidsToday => "state_forbids_today",
            Reason::AttemptsExhausted => "attempts_exhausted",
            Reason::DncListed => "dnc_listed",
        }
    }
}

/// A rejected row.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    /// Position in the upload (1 = first contact).
    pub row: usize,
    /// `externalId` as sent.
    pub external_id: Option<String>,
    /// The number: E.164 once parsed, else as sent.
    pub phone_number: Option<String>,
    /// The reason code.
    pub reason: Reason,
    /// The reason in words.
    pub message: String,
}

/// A parsed US number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsNumber {
    /// E.164 (`+16172531000`).
    pub e164: String,
    /// libphonenumber's type, in words (`fixed_line_or_mobile`, ...).
    pub kind: &'static str,
    /// Whether it is or may be a mobile.
    pub maybe_mobile: bool,
}

/// Parses `raw` as a valid, dialable US number, or says why not.
pub fn parse_us_number(raw: &str) -> Result<UsNumber, String> {
    let number = phonenumber::parse(Some(country::Id::US), raw)
        .map_err(|e| format!("{raw:?} is not a phone number ({e})"))?;
    if number.extension().is_some() {
        return Err(format!(
            "{raw:?} has an extension, which a dialler cannot dial"
        ));
    }
    if !phonenumber::is_valid(&number) {
        return Err(format!(
            "{raw:?} is not a valid number in the numbering plan"
        ));
    }
    match number.country().id() {
        Some(country::Id::US) => {}
        other => {
            return Err(format!(
                "{raw:?} is not a US number (country {})",
                other.map_or_else(|| "unknown".to_owned(), |c| format!("{c:?}"))
            ))
        }
    }
    let (kind, maybe_mobile) = match number.number_type(&phonenumber::metadata::DATABASE) {
        Type::FixedLine => ("fixed_line", false),
        Type::Mobile => ("mobile", true),
        Type::FixedLineOrMobile => ("fixed_line_or_mobile", true),
        other => {
            return Err(format!(
                "{raw:?} is a {other:?} number, not dialled by campaigns"
            ))
        }
    };
    Ok(UsNumber {
        e164: number.format().mode(Mode::E164).to_string(),
        kind,
        maybe_mobile,
    })
}

/// The recipients a campaign's calling windows were checked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CampaignArea {
    /// Recipient zones (config and deployed schedule).
    pub zones: Vec<Tz>,
    /// Recipient states (config and deployed schedule).
    pub states: Vec<StateCode>,
}

/// A contact that passed the checks that need no I/O.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The row as sent.
    pub row: ContactRow,
    /// The number.
    pub number: UsNumber,
    /// The recipient's state.
    pub state: Option<StateCode>,
    /// The recipient's zones (the one given, else its state's).
    pub zones: Vec<Tz>,
    /// The state's cap on calls per 24 hours, if any.
    pub cap_per_24h: Option<u32>,
    /// Calls to the number in the last 24 hours, once read.
    pub attempts_24h: Option<u64>,
    /// Until when an `ebr` consent lasts.
    pub ebr_valid_until: Option<NaiveDate>,
}

impl Candidate {
    /// The accepted contact's evidence for the audit trail: who, the consent
    /// checked, the number's type and the calls counted.
    pub fn evidence(&self) -> Value {
        json!({
            "row": self.row.row,
            "externalId": self.row.external_id,
            "phoneNumber": self.number.e164,
            "numberType": self.number.kind,
            "state": self.state.map(StateCode::as_str),
            "timeZone": self.row.time_zone,
            "consent": {
                "type": self.row.consent_type,
                "source": self.row.consent_source,
                "at": self.row.consent_at,
                "relationshipDate": self.row.relationship_date,
                "validUntil": self.ebr_valid_until,
            },
            "capPer24h": self.cap_per_24h,
            "attempts24h": self.attempts_24h,
        })
    }

    fn reject(&self, reason: Reason, message: String) -> Rejection {
        Rejection {
            row: self.row.row,
            external_id: self.row.external_id.clone(),
            phone_number: Some(self.number.e164.clone()),
            reason,
            message,
        }
    }
}

fn reject(row: &ContactRow, phone: Option<String>, reason: Reason, message: String) -> Rejection {
    Rejection {
        row: row.row,
        external_id: row.external_id.clone(),
        phone_number: phone.or_else(|| row.phone_number.clone()),
        reason,
        message,
    }
}

/// A consent time stamp: RFC 3339, or a date (midnight UTC).
fn consent_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// Everything about one row but duplicates: the candidate, or the rejection.
pub fn check_row(
    row: &ContactRow,
    area: &CampaignArea,
    now: DateTime<Utc>,
) -> Result<Candidate, Rejection> {
    let invalid = |message: String| reject(row, None, Reason::InvalidRow, message);
    if let Some(problem) = &row.malformed {
        return Err(invalid(problem.clone()));
    }
    match &row.external_id {
        None => return Err(invalid("externalId is required".into())),
        Some(id) if id.chars().count() > MAX_EXTERNAL_ID_CHARS => {
            return Err(invalid(format!(
                "externalId is longer than {MAX_EXTERNAL_ID_CHARS} characters"
            )))
        }
        Some(_) => {}
    }
    let number = match row.phone_number.as_deref().map(parse_us_number) {
        None => {
            return Err(reject(
                row,
                None,
                Reason::InvalidNumber,
                "phoneNumber is required".into(),
            ))
        }
        Some(Err(why)) => return Err(reject(row, None, Reason::InvalidNumber, why)),
        Some(Ok(number)) => number,
    };
    let e164 = Some(number.e164.clone());
    let state = match row
        .state
        .as_deref()
        .map(|s| StateCode::parse(&s.to_ascii_uppercase()))
    {
        None => None,
        Some(Ok(state)) => Some(state),
        Some(Err(e)) => return Err(reject(row, e164, Reason::InvalidRow, e.to_string())),
    };
    let zones: Vec<Tz> = match (row.time_zone.as_deref(), state) {
        (Some(zone), _) => match parse_zone(zone) {
            Ok(zone) => vec![zone],
            Err(e) => return Err(reject(row, e164, Reason::InvalidRow, e.to_string())),
        },
        (None, Some(state)) => state
            .zones()
            .iter()
            .filter_map(|z| z.parse().ok())
            .collect(),
        (None, None) => {
            return Err(reject(
                row,
                e164,
                Reason::InvalidRow,
                "state or timeZone is required: calling hours depend on where the recipient is"
                    .into(),
            ))
        }
    };
    let mut candidate = Candidate {
        row: row.clone(),
        number,
        state,
        zones,
        cap_per_24h: state
            .and_then(state_rule)
            .and_then(|r| r.max_calls_per_24h()),
        attempts_24h: None,
        ebr_valid_until: None,
    };
    check_consent(&mut candidate, now)?;
    check_area(&candidate, area)?;
    check_today(&candidate, now)?;
    Ok(candidate)
}

fn check_consent(c: &mut Candidate, now: DateTime<Utc>) -> Result<(), Rejection> {
    let missing = |c: &Candidate, what: String| c.reject(Reason::ConsentMissing, what);
    let Some(kind) = c.row.consent_type.clone() else {
        return Err(missing(c, "no consent record: consentType is empty".into()));
    };
    match c.row.consent_source.as_deref() {
        None => return Err(missing(c, "the consent record has no consentSource".into())),
        Some(s) if s.chars().count() > MAX_SOURCE_CHARS => {
            return Err(c.reject(
                Reason::InvalidRow,
                format!("consentSource is longer than {MAX_SOURCE_CHARS} characters"),
            ))
        }
        Some(_) => {}
    }
    let at = match c.row.consent_at.as_deref().map(consent_time) {
        None => {
            return Err(missing(
                c,
                "the consent record has no consentAt time stamp".into(),
            ))
        }
        Some(None) => {
            return Err(missing(
                c,
                "consentAt must be an RFC 3339 time or a YYYY-MM-DD date".into(),
            ))
        }
        Some(Some(at)) => at,
    };
    if at > now {
        return Err(missing(c, format!("consentAt {at} is in the future")));
    }
    match kind.as_str() {
        "express_written" => Ok(()),
        "ebr" => {
            let Some(raw) = c.row.relationship_date.clone() else {
                return Err(missing(
                    c,
                    "an ebr consent needs relationshipDate, the last transaction".into(),
                ));
            };
            let Ok(date) = NaiveDate::parse_from_str(&raw, "%Y-%m-%d") else {
                return Err(missing(c, "relationshipDate must be YYYY-MM-DD".into()));
            };
            let today = now.date_naive();
            if date > today {
                return Err(missing(
                    c,
                    format!("relationshipDate {date} is in the future"),
                ));
            }
            let until = date
                .checked_add_months(Months::new(EBR_MONTHS))
                .unwrap_or(NaiveDate::MAX);
            c.ebr_valid_until = Some(until);
            if today > until {
                return Err(c.reject(
                    Reason::ConsentExpired,
                    format!(
                        "the established business relationship of {date} ended on {until}, \
                         {EBR_MONTHS} months after the last transaction ({EBR_SOURCE})"
                    ),
                ));
            }
            if c.number.maybe_mobile {
                return Err(c.reject(
                    Reason::ConsentInsufficient,
                    format!(
                        "{} may be a mobile ({}): an established business relationship does not \
                         cover predictive dialling of a mobile, which needs express written \
                         consent ({MOBILE_CONSENT_SOURCE})",
                        c.number.e164, c.number.kind
                    ),
                ));
            }
            Ok(())
        }
        other => Err(missing(
            c,
            format!("consentType {other:?} is not express_written or ebr"),
        )),
    }
}

fn check_area(c: &Candidate, area: &CampaignArea) -> Result<(), Rejection> {
    let names = |zones: &[Tz]| {
        zones
            .iter()
            .map(|z| z.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(zone) = c.zones.iter().find(|z| !area.zones.contains(z)) {
        return Err(c.reject(
            Reason::OutsideCampaignArea,
            format!(
                "{} is not one of the campaign's recipient zones ({}): its calling windows were \
                 never checked or written for it",
                zone.name(),
                names(&area.zones)
            ),
        ));
    }
    if let Some(state) = c.state {
        if state_rule(state).is_some() && !area.states.contains(&state) {
            return Err(c.reject(
                Reason::OutsideCampaignArea,
                format!(
                    "{} has stricter calling rules and is not one of the campaign's recipient \
                     states ({}): deploy a schedule that names it first",
                    state.as_str(),
                    area.states
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn check_today(c: &Candidate, now: DateTime<Utc>) -> Result<(), Rejection> {
    let Some(state) = c.state else {
        return Ok(());
    };
    for zone in &c.zones {
        let date = now.with_timezone(zone).date_naive();
        if lawful_local_window(date, Some(state)).is_none() {
            let (rule, source) = match state_rule(state) {
                Some(r) if r.no_sundays() && date.weekday() == Weekday::Sun => {
                    ("a Sunday ban", r.source().to_owned())
                }
                Some(r) => (
                    "a state-holiday ban",
                    r.holiday_source().unwrap_or(r.source()).to_owned(),
                ),
                None => ("a ban", String::new()),
            };
            return Err(c.reject(
                Reason::StateForbidsToday,
                format!(
                    "{} forbids every call today ({date}, {}, in {}): {rule} ({source})",
                    state.as_str(),
                    date.weekday(),
                    zone.name()
                ),
            ));
        }
    }
    Ok(())
}

/// Screens every row with the rules that need no I/O, as of `now`: the
/// candidates (in upload order) and the rejections.
pub fn screen(
    rows: &[ContactRow],
    area: &CampaignArea,
    now: DateTime<Utc>,
) -> (Vec<Candidate>, Vec<Rejection>) {
    let mut numbers = HashSet::new();
    let mut ids = HashSet::new();
    let mut candidates = Vec::new();
    let mut rejections = Vec::new();
    for row in rows {
        // Duplicates are judged on what parses, before any other rule: the
        // first occurrence is the contact, whatever becomes of it.
        let e164 = row
            .phone_number
            .as_deref()
            .and_then(|p| parse_us_number(p).ok())
            .map(|n| n.e164);
        let first_number = e164.as_ref().is_none_or(|n| numbers.insert(n.clone()));
        let first_id = row
            .external_id
            .as_ref()
            .is_none_or(|id| ids.insert(id.clone()));
        match check_row(row, area, now) {
            Err(r) if matches!(r.reason, Reason::InvalidRow | Reason::InvalidNumber) => {
                rejections.push(r)
            }
            _ if !first_number => rejections.push(reject(
                row,
                e164.clone(),
                Reason::Duplicate,
                format!("{} is already in this upload", e164.unwrap_or_default()),
            )),
            _ if !first_id => rejections.push(reject(
                row,
                e164,
                Reason::Duplicate,
                format!(
                    "externalId {} is already in this upload",
                    row.external_id.clone().unwrap_or_default()
                ),
            )),
            Err(r) => rejections.push(r),
            Ok(c) => candidates.push(c),
        }
    }
    (candidates, rejections)
}

/// The rejection of a candidate called `attempts` times in the last 24
/// hours, when its state's cap is reached.
pub fn attempts_rejection(c: &Candidate, attempts: u64) -> Option<Rejection> {
    let cap = c.cap_per_24h?;
    (attempts >= u64::from(cap)).then(|| {
        let source = c
            .state
            .and_then(state_rule)
            .map(|r| r.source().to_owned())
            .unwrap_or_default();
        c.reject(
            Reason::AttemptsExhausted,
            format!(
                "{} was called {attempts} time(s) in the last 24 hours; {} allows {cap} ({source})",
                c.number.e164,
                c.state.map_or("its state", StateCode::as_str)
            ),
        )
    })
}

/// The rejection of a candidate found on DNC lists (`hits`: CXone's
/// `searchResults`), if any.
pub fn dnc_rejection(c: &Candidate, hits: &[Value]) -> Option<Rejection> {
    if hits.is_empty() {
        return None;
    }
    let lists: Vec<String> = hits
        .iter()
        .map(|h| {
            h.get("dncGroupName")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| h.get("dncGroupId").map(Value::to_string))
                .unwrap_or_else(|| "a DNC list".to_owned())
        })
        .collect();
    Some(c.reject(
        Reason::DncListed,
        format!(
            "{} is on do-not-call list(s): {}",
            c.number.e164,
            lists.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: usize, phone: &str, state: &str) -> ContactRow {
        ContactRow {
            row: n,
            external_id: Some(format!("X{n}")),
            phone_number: Some(phone.into()),
            consent_type: Some("express_written".into()),
            consent_source: Some("web form".into()),
            consent_at: Some("2026-01-10T12:00:00Z".into()),
            state: Some(state.into()),
            ..ContactRow::default()
        }
    }

    fn area() -> CampaignArea {
        CampaignArea {
            zones: vec![chrono_tz::America::New_York, chrono_tz::America::Chicago],
            states: vec![
                StateCode::parse("FL").unwrap(),
                StateCode::parse("MS").unwrap(),
            ],
        }
    }

    /// Tuesday 2026-03-03 10:00 in New York.
    fn tuesday() -> DateTime<Utc> {
        "2026-03-03T15:00:00Z".parse().unwrap()
    }

    fn reason_of(r: ContactRow, now: DateTime<Utc>) -> Option<Reason> {
        let (_, rejected) = screen(&[r], &area(), now);
        rejected.first().map(|r| r.reason)
    }

    #[test]
    fn numbers_are_us_and_e164() {
        assert_eq!(
            parse_us_number("(617) 253-1000").unwrap().e164,
            "+16172531000"
        );
        assert_eq!(
            parse_us_number("+1 617 253 1000").unwrap().e164,
            "+16172531000"
        );
        for bad in [
            "12345",
            "+44 20 7183 8750",
            "800-555-0199",
            "+1 416 555 0123",
            "617-253-1000 x12",
            "hello",
        ] {
            assert!(parse_us_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_pure_reason() {
        let now = tuesday();
        assert_eq!(reason_of(row(1, "6172531000", "MA"), now), None);
        let mut r = row(1, "6172531000", "NY");
        r.external_id = None;
        assert_eq!(reason_of(r, now), Some(Reason::InvalidRow));
        assert_eq!(
            reason_of(row(1, "555", "NY"), now),
            Some(Reason::InvalidNumber)
        );
        let mut r = row(1, "6172531000", "NY");
        r.consent_type = None;
        assert_eq!(reason_of(r, now), Some(Reason::ConsentMissing));
        let mut r = row(1, "6172531000", "NY");
        r.consent_type = Some("ebr".into());
        r.relationship_date = Some("2024-01-01".into());
        assert_eq!(reason_of(r.clone(), now), Some(Reason::ConsentExpired));
        r.relationship_date = Some("2025-12-01".into());
        assert_eq!(reason_of(r, now), Some(Reason::ConsentInsufficient));
        let mut r = row(1, "6172531000", "NY");
        r.time_zone = Some("America/Los_Angeles".into());
        assert_eq!(reason_of(r, now), Some(Reason::OutsideCampaignArea));
        assert_eq!(
            reason_of(row(1, "6172531000", "LA"), now),
            Some(Reason::OutsideCampaignArea)
        );
        // Mississippi bans Sunday calls: Sunday 2026-03-08 noon in Chicago.
        let sunday: DateTime<Utc> = "2026-03-08T18:00:00Z".parse().unwrap();
        assert_eq!(
            reason_of(row(1, "6172531000", "MS"), sunday),
            Some(Reason::StateForbidsToday)
        );
        assert_eq!(reason_of(row(1, "6172531000", "MS"), now), None);
    }

    #[test]
    fn duplicates_keep_the_first() {
        let rows = [
            row(1, "6172531000", "NY"),
            row(2, "+1 (617) 253-1000", "NY"),
        ];
        let (ok, rejected) = screen(&rows, &area(), tuesday());
        assert_eq!(ok.len(), 1);
        assert_eq!(rejected[0].reason, Reason::Duplicate);
        assert_eq!(rejected[0].row, 2);
        let mut second = row(2, "6172531001", "NY");
        second.external_id = Some("X1".into());
        let (_, rejected) = screen(&[row(1, "6172531000", "NY"), second], &area(), tuesday());
        assert_eq!(rejected[0].reason, Reason::Duplicate);
    }

    #[test]
    fn caps_and_dnc() {
        let (ok, _) = screen(&[row(1, "6172531000", "FL")], &area(), tuesday());
        assert_eq!(ok[0].cap_per_24h, Some(3));
        assert!(attempts_rejection(&ok[0], 2).is_none());
        assert_eq!(
            attempts_rejection(&ok[0], 3).map(|r| r.reason),
            Some(Reason::AttemptsExhausted)
        );
        assert!(dnc_rejection(&ok[0], &[]).is_none());
        let r = dnc_rejection(
            &ok[0],
            &[json!({"dncGroupId": 7001, "dncGroupName": "Internal DNC"})],
        )
        .unwrap();
        assert!(r.message.contains("Internal DNC"));
    }
}
