//! IANA time zones and the names CXone's time-zone settings use for them.

use chrono_tz::Tz;

use super::ComplianceError;

/// The one table from IANA zone names (the API's currency) to the Windows-style
/// standard names CXone's `time-zones` skill settings use (`standardName`).
///
/// Mappings follow the Unicode CLDR `windowsZones` table for US zones. Note two
/// deliberate choices:
/// - `America/Puerto_Rico` and `America/St_Thomas` map to `SA Western Standard Time`
///   (UTC-4 all year). `Atlantic Standard Time` is Canada's Atlantic zone, which
///   observes daylight saving time, so in summer it would be an hour off for Puerto
///   Rico and the US Virgin Islands.
/// - `America/Indiana/Indianapolis` maps to `US Eastern Standard Time`, the Windows
///   zone for most of Indiana (with daylight saving since 2006).
pub const CXONE_ZONES: &[(&str, &str)] = &[
    // Eastern
    ("America/New_York", "Eastern Standard Time"),
    ("America/Detroit", "Eastern Standard Time"),
    ("America/Kentucky/Louisville", "Eastern Standard Time"),
    ("America/Kentucky/Monticello", "Eastern Standard Time"),
    ("America/Indiana/Petersburg", "Eastern Standard Time"),
    ("America/Indiana/Vincennes", "Eastern Standard Time"),
    ("America/Indiana/Winamac", "Eastern Standard Time"),
    ("America/Indiana/Indianapolis", "US Eastern Standard Time"),
    ("America/Indiana/Marengo", "US Eastern Standard Time"),
    ("America/Indiana/Vevay", "US Eastern Standard Time"),
    // Central
    ("America/Chicago", "Central Standard Time"),
    ("America/Indiana/Knox", "Central Standard Time"),
    ("America/Indiana/Tell_City", "Central Standard Time"),
    ("America/Menominee", "Central Standard Time"),
    ("America/North_Dakota/Beulah", "Central Standard Time"),
    ("America/North_Dakota/Center", "Central Standard Time"),
    ("America/North_Dakota/New_Salem", "Central Standard Time"),
    // Mountain
    ("America/Denver", "Mountain Standard Time"),
    ("America/Boise", "Mountain Standard Time"),
    ("America/Phoenix", "US Mountain Standard Time"),
    // Pacific
    ("America/Los_Angeles", "Pacific Standard Time"),
    // Alaska and Hawaii
    ("America/Anchorage", "Alaskan Standard Time"),
    ("America/Juneau", "Alaskan Standard Time"),
    ("America/Metlakatla", "Alaskan Standard Time"),
    ("America/Nome", "Alaskan Standard Time"),
    ("America/Sitka", "Alaskan Standard Time"),
    ("America/Yakutat", "Alaskan Standard Time"),
    ("America/Adak", "Aleutian Standard Time"),
    ("Pacific/Honolulu", "Hawaiian Standard Time"),
    // Territories
    ("America/Puerto_Rico", "SA Western Standard Time"),
    ("America/St_Thomas", "SA Western Standard Time"),
    ("Pacific/Guam", "West Pacific Standard Time"),
    ("Pacific/Saipan", "West Pacific Standard Time"),
    ("Pacific/Pago_Pago", "UTC-11"),
];

/// Parse an IANA time-zone name such as `"America/New_York"` (exact spelling).
pub fn parse_zone(iana: &str) -> Result<Tz, ComplianceError> {
    iana.parse::<Tz>()
        .map_err(|_| ComplianceError::UnknownTimeZone(iana.to_owned()))
}

/// The CXone zone name for an IANA zone name: [`ComplianceError::UnknownTimeZone`]
/// if it is not an IANA zone, [`ComplianceError::NoCxoneZone`] if it is one the
/// table does not map.
pub fn cxone_zone_name(iana: &str) -> Result<&'static str, ComplianceError> {
    cxone_zone_for(parse_zone(iana)?)
}

/// The CXone zone name for a parsed zone ([`ComplianceError::NoCxoneZone`] if unmapped).
pub fn cxone_zone_for(zone: Tz) -> Result<&'static str, ComplianceError> {
    CXONE_ZONES
        .iter()
        .find(|(iana, _)| *iana == zone.name())
        .map(|(_, cxone)| *cxone)
        .ok_or_else(|| ComplianceError::NoCxoneZone(zone.name().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_us_zones() {
        for (iana, cxone) in [
            ("America/New_York", "Eastern Standard Time"),
            ("America/Detroit", "Eastern Standard Time"),
            ("America/Indiana/Indianapolis", "US Eastern Standard Time"),
            ("America/Chicago", "Central Standard Time"),
            ("America/Denver", "Mountain Standard Time"),
            ("America/Boise", "Mountain Standard Time"),
            ("America/Phoenix", "US Mountain Standard Time"),
            ("America/Los_Angeles", "Pacific Standard Time"),
            ("America/Anchorage", "Alaskan Standard Time"),
            ("Pacific/Honolulu", "Hawaiian Standard Time"),
            ("America/Puerto_Rico", "SA Western Standard Time"),
            ("Pacific/Guam", "West Pacific Standard Time"),
        ] {
            assert_eq!(cxone_zone_name(iana), Ok(cxone), "{iana}");
        }
    }

    #[test]
    fn every_table_entry_is_a_real_iana_zone() {
        for (iana, _) in CXONE_ZONES {
            assert!(parse_zone(iana).is_ok(), "{iana}");
        }
    }

    #[test]
    fn unknown_zones_are_errors() {
        assert_eq!(
            cxone_zone_name("America/Springfield"),
            Err(ComplianceError::UnknownTimeZone(
                "America/Springfield".to_owned()
            ))
        );
        assert_eq!(
            parse_zone(""),
            Err(ComplianceError::UnknownTimeZone(String::new()))
        );
        assert_eq!(
            cxone_zone_name("Europe/Paris"),
            Err(ComplianceError::NoCxoneZone("Europe/Paris".to_owned()))
        );
    }
}
