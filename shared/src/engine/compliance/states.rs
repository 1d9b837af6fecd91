//! US state and territory codes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ComplianceError;

/// USPS codes of the 50 states, the District of Columbia and the inhabited territories.
const CODES: [&str; 56] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP",
];

/// A two-letter USPS code of a US state, the District of Columbia or an
/// inhabited territory (PR, GU, VI, AS, MP), parsed case-insensitively and
/// held upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StateCode(&'static str);

impl StateCode {
    /// Parse a code such as `"FL"` or `"fl"`; anything else is refused.
    pub fn parse(input: &str) -> Result<Self, ComplianceError> {
        CODES
            .iter()
            .find(|c| c.eq_ignore_ascii_case(input))
            .map(|c| Self(c))
            .ok_or_else(|| ComplianceError::UnknownState(input.to_owned()))
    }

    /// The upper-case code.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The IANA zones covering the state (canonical names; several for states
    /// split between zones, e.g. Florida's panhandle is Central).
    pub fn zones(self) -> &'static [&'static str] {
        const ET: &str = "America/New_York";
        const CT: &str = "America/Chicago";
        const MT: &str = "America/Denver";
        const PT: &str = "America/Los_Angeles";
        match self.0 {
            "AK" => &[
                "America/Anchorage",
                "America/Juneau",
                "America/Sitka",
                "America/Yakutat",
                "America/Nome",
                "America/Metlakatla",
                "America/Adak",
            ],
            "AZ" => &["America/Phoenix", MT],
            "CA" => &[PT],
            "CO" | "MT" | "UT" | "WY" => &[MT],
            "FL" => &[ET, CT],
            "HI" => &["Pacific/Honolulu"],
            "ID" => &["America/Boise", PT],
            "IN" => &[
                "America/Indiana/Indianapolis",
                "America/Indiana/Knox",
                "America/Indiana/Tell_City",
                "America/Indiana/Petersburg",
                "America/Indiana/Vincennes",
                "America/Indiana/Winamac",
                "America/Indiana/Marengo",
                "America/Indiana/Vevay",
                CT,
                ET,
            ],
            "KS" | "NE" | "SD" | "TX" => &[CT, MT],
            "KY" => &[
                ET,
                "America/Kentucky/Louisville",
                "America/Kentucky/Monticello",
                CT,
            ],
            "MI" => &["America/Detroit", "America/Menominee"],
            "ND" => &[
                CT,
                "America/North_Dakota/Center",
                "America/North_Dakota/New_Salem",
                "America/North_Dakota/Beulah",
                MT,
            ],
            "NV" => &[PT, MT],
            "OR" => &[PT, "America/Boise"],
            "TN" => &[CT, ET],
            "WA" => &[PT],
            "AL" | "AR" | "IL" | "IA" | "LA" | "MN" | "MS" | "MO" | "OK" | "WI" => &[CT],
            "PR" => &["America/Puerto_Rico"],
            "VI" => &["America/St_Thomas"],
            "GU" => &["Pacific/Guam"],
            "MP" => &["Pacific/Saipan"],
            "AS" => &["Pacific/Pago_Pago"],
            // CT, DE, DC, GA, ME, MD, MA, NH, NJ, NY, NC, OH, PA, RI, SC, VT, VA, WV
            _ => &[ET],
        }
    }
}

impl fmt::Display for StateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl FromStr for StateCode {
    type Err = ComplianceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for StateCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for StateCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_real_zones() {
        for code in CODES {
            let state = StateCode::parse(code).expect("code");
            assert!(!state.zones().is_empty(), "{code}");
            for zone in state.zones() {
                assert!(zone.parse::<chrono_tz::Tz>().is_ok(), "{code}: {zone}");
            }
        }
        assert_eq!(
            StateCode::parse("NY").expect("NY").zones(),
            &["America/New_York"]
        );
        assert_eq!(
            StateCode::parse("FL").expect("FL").zones(),
            &["America/New_York", "America/Chicago"]
        );
    }

    #[test]
    fn parses_codes() {
        assert_eq!(StateCode::parse("fl").map(StateCode::as_str), Ok("FL"));
        assert_eq!(StateCode::parse("PR").map(StateCode::as_str), Ok("PR"));
        for bad in ["", "F", "FLA", "XX", "Florida", " FL"] {
            assert!(
                matches!(StateCode::parse(bad), Err(ComplianceError::UnknownState(_))),
                "{bad:?}"
            );
        }
    }
}
