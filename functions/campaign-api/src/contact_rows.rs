//! The body of `POST /campaigns/{skillId}/contacts`, parsed without I/O:
//! JSON (`{"contacts": [{...}]}`) or CSV (`Content-Type: text/csv`, a header
//! row, optionally a UTF-8 byte-order mark, quoted fields as RFC 4180).
//!
//! Columns (JSON fields of the same names; every value a string):
//!
//! | column | required | meaning |
//! | --- | --- | --- |
//! | `externalId` | yes | the caller's id of the contact (1 to 100 characters) |
//! | `phoneNumber` | yes | a US number in any common format; E.164 out |
//! | `consentType` | yes | `express_written` or `ebr` |
//! | `consentSource` | yes | where the consent was given (form, contract, ...) |
//! | `consentAt` | yes | when: RFC 3339 or `YYYY-MM-DD` |
//! | `relationshipDate` | for `ebr` | the last transaction (`YYYY-MM-DD`) |
//! | `state` | one of the two | the recipient's US state (`FL`) |
//! | `timeZone` | one of the two | the recipient's IANA zone |
//!
//! A header without a required column, an unknown column, more than
//! [`MAX_CONTACTS`] rows, or JSON of another shape is a 400 (413 for too
//! many rows); a row whose values are wrong is rejected on its own later
//! (reason `invalid_row`), the others go on.

use serde::{Deserialize, Serialize};
use serde_json::json;

use shared::api_error::ApiError;

/// Most contacts one request may carry.
pub const MAX_CONTACTS: usize = 100_000;
/// The CSV columns, in the order a template file has them.
pub const COLUMNS: [&str; 8] = [
    "externalId",
    "phoneNumber",
    "consentType",
    "consentSource",
    "consentAt",
    "relationshipDate",
    "state",
    "timeZone",
];
/// The columns a CSV header must have.
pub const REQUIRED_COLUMNS: [&str; 5] = [
    "externalId",
    "phoneNumber",
    "consentType",
    "consentSource",
    "consentAt",
];

/// One contact as sent (every field as text; empty is absent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactRow {
    /// Position in the upload: 1 for the first contact.
    #[serde(skip)]
    pub row: usize,
    /// `externalId`.
    #[serde(default)]
    pub external_id: Option<String>,
    /// `phoneNumber`.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// `consentType`.
    #[serde(default)]
    pub consent_type: Option<String>,
    /// `consentSource`.
    #[serde(default)]
    pub consent_source: Option<String>,
    /// `consentAt`.
    #[serde(default)]
    pub consent_at: Option<String>,
    /// `relationshipDate`.
    #[serde(default)]
    pub relationship_date: Option<String>,
    /// `state`.
    #[serde(default)]
    pub state: Option<String>,
    /// `timeZone`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// A problem found while reading the row (wrong number of CSV fields).
    #[serde(skip)]
    pub malformed: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBody {
    contacts: Vec<ContactRow>,
}

/// Whether the body is CSV (`text/csv`) or JSON (anything else that is JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/json` (or no type).
    Json,
    /// `text/csv`.
    Csv,
}

impl Format {
    /// The format a `Content-Type` media type names: 400 for one that is
    /// neither JSON nor CSV.
    pub fn of(content_type: Option<&str>) -> Result<Self, ApiError> {
        match content_type {
            None | Some("application/json") => Ok(Format::Json),
            Some("text/csv") | Some("application/csv") => Ok(Format::Csv),
            Some(other) => Err(ApiError::bad_request(format!(
                "Content-Type {other} is not supported: send application/json or text/csv"
            ))
            .with_details(vec![json!({"header": "Content-Type",
                "problem": "send application/json or text/csv"})])),
        }
    }
}

fn too_many(n: usize) -> ApiError {
    let mut e = ApiError::too_large(crate::routes::MAX_CONTACTS_BODY_BYTES);
    e.message = format!("{n} contacts in one request; at most {MAX_CONTACTS} are accepted");
    e.details = vec![json!({"field": "contacts", "problem": e.message})];
    e
}

/// A 400 for a CSV that cannot be read, naming the body.
fn unreadable_csv(what: &str, e: &csv::Error) -> ApiError {
    ApiError::bad_request(format!("{what}: {e}"))
        .with_details(vec![json!({"field": "body", "problem": e.to_string()})])
}

fn clean(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Parses the body in `format` into rows numbered from 1.
pub fn parse(body: &[u8], format: Format) -> Result<Vec<ContactRow>, ApiError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut rows = match format {
        Format::Json => {
            let parsed: JsonBody = shared::api_error::from_json(body).map_err(|e| {
                ApiError::bad_request(format!(
                    "the body must be {{\"contacts\": [{{\"externalId\", \"phoneNumber\", ...}}]}}: {e}"
                ))
                .with_details(vec![e.detail()])
            })?;
            if parsed.contacts.len() > MAX_CONTACTS {
                return Err(too_many(parsed.contacts.len()));
            }
            parsed.contacts
        }
        Format::Csv => parse_csv(body)?,
    };
    if rows.is_empty() {
        return Err(ApiError::bad_request("the upload holds no contacts")
            .with_details(vec![json!({"field": "contacts", "problem": "no contacts"})]));
    }
    for (i, row) in rows.iter_mut().enumerate() {
        row.row = i + 1;
        row.external_id = clean(row.external_id.take());
        row.phone_number = clean(row.phone_number.take());
        row.consent_type = clean(row.consent_type.take());
        row.consent_source = clean(row.consent_source.take());
        row.consent_at = clean(row.consent_at.take());
        row.relationship_date = clean(row.relationship_date.take());
        row.state = clean(row.state.take());
        row.time_zone = clean(row.time_zone.take());
    }
    Ok(rows)
}

fn parse_csv(body: &[u8]) -> Result<Vec<ContactRow>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| unreadable_csv("the CSV header row cannot be read", &e))?
        .clone();
    let mut positions: Vec<usize> = Vec::with_capacity(headers.len());
    let mut problems = Vec::new();
    for (i, name) in headers.iter().enumerate() {
        // A column with a blank name is quoted, so the problem names something.
        let shown = shared::api_error::field_name(name);
        match COLUMNS.iter().position(|c| *c == name) {
            Some(p) if positions.contains(&p) => {
                problems.push(json!({"column": shown, "problem": "appears twice"}))
            }
            Some(p) => positions.push(p),
            None => problems.push(json!({"column": shown, "position": i + 1,
                "problem": format!("unknown column; the columns are {}", COLUMNS.join(", "))})),
        }
    }
    for required in REQUIRED_COLUMNS {
        if !headers.iter().any(|h| h == required) {
            problems.push(json!({"column": required, "problem": "required column missing"}));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::bad_request(
            "the CSV header row must name the contact columns (see details)",
        )
        .with_details(problems));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| unreadable_csv("the CSV cannot be read", &e))?;
        if rows.len() >= MAX_CONTACTS {
            return Err(too_many(rows.len() + 1));
        }
        let mut row = ContactRow::default();
        if record.len() != headers.len() {
            row.malformed = Some(format!(
                "line {} has {} fields, the header {}",
                record.position().map_or(0, |p| p.line()),
                record.len(),
                headers.len()
            ));
        }
        for (value, &column) in record.iter().zip(positions.iter()) {
            let value = Some(value.to_owned());
            match column {
                0 => row.external_id = value,
                1 => row.phone_number = value,
                2 => row.consent_type = value,
                3 => row.consent_source = value,
                4 => row.consent_at = value,
                5 => row.relationship_date = value,
                6 => row.state = value,
                _ => row.time_zone = value,
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_bom_quotes_and_reordered_columns() {
        let csv = "\u{feff}phoneNumber,externalId,consentType,consentSource,consentAt,state\r\n\
                   \"(617) 253-1000\",\"A, 1\",express_written,\"web form \"\"signup\"\"\",2026-01-01,MA\r\n\
                   \r\n\
                   6172531001,A2,ebr,store,2026-01-02,\r\n";
        let rows = parse(csv.as_bytes(), Format::Csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].row, 1);
        assert_eq!(rows[0].external_id.as_deref(), Some("A, 1"));
        assert_eq!(rows[0].phone_number.as_deref(), Some("(617) 253-1000"));
        assert_eq!(
            rows[0].consent_source.as_deref(),
            Some("web form \"signup\"")
        );
        assert_eq!(rows[1].state, None, "empty is absent");
        assert_eq!(rows[1].row, 2);
    }

    #[test]
    fn csv_header_problems_are_400() {
        for csv in [
            "phoneNumber,externalId\n1,2\n",
            "externalId,phoneNumber,consentType,consentSource,consentAt,shoeSize\n",
        ] {
            assert_eq!(
                parse(csv.as_bytes(), Format::Csv).unwrap_err().status,
                400,
                "{csv}"
            );
        }
    }

    #[test]
    fn short_csv_rows_are_marked_not_fatal() {
        let csv = "externalId,phoneNumber,consentType,consentSource,consentAt\nA,6172531000\n";
        let rows = parse(csv.as_bytes(), Format::Csv).unwrap();
        assert!(rows[0].malformed.is_some());
    }

    #[test]
    fn json_rows_and_shape() {
        let body =
            br#"{"contacts": [{"externalId": " x ", "phoneNumber": "6172531000", "state": ""}]}"#;
        let rows = parse(body, Format::Json).unwrap();
        assert_eq!(rows[0].external_id.as_deref(), Some("x"));
        assert_eq!(rows[0].state, None);
        assert_eq!(
            parse(br#"{"contacts": [{"nope": 1}]}"#, Format::Json)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            parse(br#"{"contacts": []}"#, Format::Json)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(Format::of(Some("text/plain")).unwrap_err().status, 400);
    }
}
