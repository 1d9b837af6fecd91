//! The `X-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...]`.
//!
//! The HMAC key is a webhook secret and the message is `"<t>.<raw body>"`,
//! where `<t>` is the timestamp exactly as it appears in the header. Several
//! `v1=` entries may appear (the sender signs with an old and a new secret
//! while a rotation is under way), and several secrets may be configured
//! (the bundle accepts an old and a new one); any `v1` that matches any
//! secret passes. Comparison is constant-time (`hmac`'s `verify_slice`).
//!
//! Everything here is pure: the request time is an argument, never the clock.
//! Errors never carry a secret or a signature value, so they can be logged.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header's name.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// How far `t` may be from the request time, in either direction (replay guard).
pub const TOLERANCE_SECS: i64 = 300;
/// Longest header accepted (a forger cannot make us parse megabytes).
pub const MAX_HEADER_LEN: usize = 2048;
/// Most `v1=` entries accepted (bounds the HMACs a forger can make us compute).
pub const MAX_SIGNATURES: usize = 8;
/// Length of a SHA-256 HMAC in bytes.
const MAC_LEN: usize = 32;

/// Why a request's signature was refused. The answer to the caller is the same
/// generic 401 for all of them; the variant is only logged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `X-Signature` header.
    #[error("signature header missing")]
    Missing,
    /// The header does not have the `t=...,v1=...` shape.
    #[error("signature header malformed: {0}")]
    Malformed(&'static str),
    /// `t` is more than the tolerance away from the request time.
    #[error("signature timestamp outside tolerance: {skew_secs} s from request time")]
    Stale {
        /// `t` minus the request time, in seconds (negative: in the past).
        skew_secs: i64,
    },
    /// The request carries no usable time to check `t` against.
    #[error("request time unavailable")]
    NoRequestTime,
    /// No secret is configured.
    #[error("no webhook secret configured")]
    NoSecrets,
    /// No `v1` matched any configured secret.
    #[error("no signature matched ({signatures} v1 value(s), {secrets} secret(s))")]
    NoMatch {
        /// How many well-formed `v1` values the header carried.
        signatures: usize,
        /// How many secrets were tried.
        secrets: usize,
    },
}

/// A parsed `X-Signature` header.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// `t` as it appears in the header (the signed message uses this text).
    timestamp_text: String,
    /// `t`, in Unix seconds.
    timestamp: i64,
    /// The well-formed `v1` values, decoded.
    signatures: Vec<[u8; MAC_LEN]>,
}

impl std::fmt::Debug for SignatureHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Signatures are not secrets, but they are not for logs either.
        f.debug_struct("SignatureHeader")
            .field("timestamp", &self.timestamp)
            .field("signatures", &self.signatures.len())
            .finish()
    }
}

impl SignatureHeader {
    /// Parses the header's value.
    ///
    /// Entries are comma-separated `key=value` pairs, surrounding spaces
    /// ignored. Exactly one `t` (ASCII digits, at most 12 of them) is
    /// required, and at least one `v1` that is 64 hex digits; `v1` values of
    /// another shape and entries with other keys (future schemes) are
    /// ignored. At most [`MAX_SIGNATURES`] `v1` entries.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        if value.len() > MAX_HEADER_LEN {
            return Err(SignatureError::Malformed("header too long"));
        }
        let mut timestamp: Option<(String, i64)> = None;
        let mut signatures = Vec::new();
        let mut v1_entries = 0usize;
        for part in value.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let Some((key, val)) = part.split_once('=') else {
                return Err(SignatureError::Malformed("entry without '='"));
            };
            match key.trim() {
                "t" => {
                    if timestamp.is_some() {
                        return Err(SignatureError::Malformed("more than one t"));
                    }
                    let val = val.trim();
                    if val.is_empty() || val.len() > 12 || !val.bytes().all(|b| b.is_ascii_digit())
                    {
                        return Err(SignatureError::Malformed("t is not a Unix time in seconds"));
                    }
                    let t: i64 = val.parse().map_err(|_| {
                        SignatureError::Malformed("t is not a Unix time in seconds")
                    })?;
                    timestamp = Some((val.to_owned(), t));
                }
                "v1" => {
                    v1_entries += 1;
                    if v1_entries > MAX_SIGNATURES {
                        return Err(SignatureError::Malformed("too many v1 entries"));
                    }
                    let mut mac = [0u8; MAC_LEN];
                    if hex::decode_to_slice(val.trim(), &mut mac).is_ok() {
                        signatures.push(mac);
                    }
                }
                _ => {}
            }
        }
        let Some((timestamp_text, timestamp)) = timestamp else {
            return Err(SignatureError::Malformed("no t"));
        };
        if signatures.is_empty() {
            return Err(SignatureError::Malformed("no well-formed v1"));
        }
        Ok(Self {
            timestamp_text,
            timestamp,
            signatures,
        })
    }

    /// `t`, in Unix seconds.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// How many well-formed `v1` values the header carries.
    pub fn signature_count(&self) -> usize {
        self.signatures.len()
    }

    /// Refuses a `t` more than [`TOLERANCE_SECS`] from `request_time_ms` (Unix ms).
    pub fn check_time(&self, request_time_ms: i64) -> Result<(), SignatureError> {
        if request_time_ms <= 0 {
            return Err(SignatureError::NoRequestTime);
        }
        let skew_ms = (self.timestamp as i128) * 1000 - request_time_ms as i128;
        if skew_ms.abs() > (TOLERANCE_SECS as i128) * 1000 {
            return Err(SignatureError::Stale {
                skew_secs: (skew_ms / 1000).clamp(i64::MIN as i128, i64::MAX as i128) as i64,
            });
        }
        Ok(())
    }

    /// Whether any `v1` is the HMAC of `"<t>.<body>"` under any of `secrets`
    /// (constant-time comparisons; every pair is tried, no early exit on a
    /// near miss).
    pub fn matches(&self, body: &[u8], secrets: &[SecretString]) -> Result<(), SignatureError> {
        if secrets.is_empty() {
            return Err(SignatureError::NoSecrets);
        }
        let mut matched = false;
        for secret in secrets {
            let Ok(mut mac) = HmacSha256::new_from_slice(secret.expose_secret().as_bytes()) else {
                continue;
            };
            mac.update(self.timestamp_text.as_bytes());
            mac.update(b".");
            mac.update(body);
            for candidate in &self.signatures {
                // verify_slice consumes the Mac; clone the keyed state per candidate.
                if mac.clone().verify_slice(candidate).is_ok() {
                    matched = true;
                }
            }
        }
        if matched {
            Ok(())
        } else {
            Err(SignatureError::NoMatch {
                signatures: self.signatures.len(),
                secrets: secrets.len(),
            })
        }
    }

    /// [`check_time`](Self::check_time), then [`matches`](Self::matches).
    pub fn verify(
        &self,
        body: &[u8],
        secrets: &[SecretString],
        request_time_ms: i64,
    ) -> Result<(), SignatureError> {
        self.check_time(request_time_ms)?;
        self.matches(body, secrets)
    }
}

/// The hex `v1` value for `body` signed at `timestamp` with `secret` (what a
/// sender computes; used by the simulator and the tests).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A complete header value, `t=<timestamp>,v1=<sig>[,v1=<sig>...]`, with one
/// `v1` per secret.
pub fn signature_header(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&sign(secret, timestamp, body));
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_700_000_000;
    const NOW_MS: i64 = T * 1000;
    const BODY: &[u8] = br#"{"eventId":"e1"}"#;

    fn secrets(values: &[&str]) -> Vec<SecretString> {
        values
            .iter()
            .map(|v| SecretString::from(v.to_string()))
            .collect()
    }

    #[test]
    fn known_answer() {
        // HMAC-SHA256(key="whsec", "1700000000.hello"), computed independently:
        // printf '1700000000.hello' | openssl dgst -sha256 -hmac whsec
        let sig = sign("whsec", T, b"hello");
        assert_eq!(
            sig,
            "9499b343742dec164cd3d22098f598a85f645defe270c4d16d38750d1ede8514"
        );
        let header = SignatureHeader::parse(&format!("t={T},v1={sig}")).unwrap();
        assert!(header.matches(b"hello", &secrets(&["whsec"])).is_ok());
    }

    #[test]
    fn parses_and_verifies() {
        let header = SignatureHeader::parse(&signature_header(&["s1"], T, BODY)).unwrap();
        assert_eq!(header.timestamp(), T);
        assert_eq!(header.signature_count(), 1);
        assert_eq!(header.verify(BODY, &secrets(&["s1"]), NOW_MS), Ok(()));
    }

    #[test]
    fn spaces_and_unknown_keys_are_tolerated() {
        let sig = sign("s1", T, BODY);
        let header = SignatureHeader::parse(&format!(" t={T} , v0=abc, v1={sig} ,")).unwrap();
        assert_eq!(header.verify(BODY, &secrets(&["s1"]), NOW_MS), Ok(()));
        // Upper-case hex is hex too.
        let header = SignatureHeader::parse(&format!("t={T},v1={}", sig.to_uppercase())).unwrap();
        assert_eq!(header.verify(BODY, &secrets(&["s1"]), NOW_MS), Ok(()));
    }

    #[test]
    fn wrong_secret_or_body_does_not_match() {
        let header = SignatureHeader::parse(&signature_header(&["s1"], T, BODY)).unwrap();
        assert!(matches!(
            header.verify(BODY, &secrets(&["other"]), NOW_MS),
            Err(SignatureError::NoMatch {
                signatures: 1,
                secrets: 1
            })
        ));
        assert!(header
            .verify(b"{\"eventId\":\"e2\"}", &secrets(&["s1"]), NOW_MS)
            .is_err());
        assert_eq!(
            header.verify(BODY, &[], NOW_MS),
            Err(SignatureError::NoSecrets)
        );
    }

    #[test]
    fn timestamp_is_part_of_the_message() {
        // A signature made for another t does not pass with this t.
        let sig = sign("s1", T - 1, BODY);
        let header = SignatureHeader::parse(&format!("t={T},v1={sig}")).unwrap();
        assert!(header.verify(BODY, &secrets(&["s1"]), NOW_MS).is_err());
    }

    #[test]
    fn rotation_any_signature_any_secret() {
        // Two v1 values (sender signs with old and new), one secret configured.
        let header = SignatureHeader::parse(&signature_header(&["old", "new"], T, BODY)).unwrap();
        assert_eq!(header.signature_count(), 2);
        assert!(header.verify(BODY, &secrets(&["new"]), NOW_MS).is_ok());
        assert!(header.verify(BODY, &secrets(&["old"]), NOW_MS).is_ok());
        // One v1, two secrets configured.
        let header = SignatureHeader::parse(&signature_header(&["new"], T, BODY)).unwrap();
        assert!(header
            .verify(BODY, &secrets(&["old", "new"]), NOW_MS)
            .is_ok());
        assert!(header
            .verify(BODY, &secrets(&["old", "older"]), NOW_MS)
            .is_err());
    }

    #[test]
    fn time_tolerance_is_300_seconds_each_way() {
        let at = |t: i64| SignatureHeader::parse(&signature_header(&["s"], t, BODY)).unwrap();
        let s = secrets(&["s"]);
        assert!(at(T - 300).verify(BODY, &s, NOW_MS).is_ok());
        assert!(at(T + 300).verify(BODY, &s, NOW_MS).is_ok());
        assert_eq!(
            at(T - 301).verify(BODY, &s, NOW_MS),
            Err(SignatureError::Stale { skew_secs: -301 })
        );
        assert_eq!(
            at(T + 301).verify(BODY, &s, NOW_MS),
            Err(SignatureError::Stale { skew_secs: 301 })
        );
        // Sub-second request time: 300.5 s away is out.
        assert!(at(T - 300).verify(BODY, &s, NOW_MS + 500).is_err());
        assert_eq!(
            at(T).verify(BODY, &s, 0),
            Err(SignatureError::NoRequestTime)
        );
        // Extreme values do not overflow.
        assert!(at(0).verify(BODY, &s, i64::MAX).is_err());
    }

    #[test]
    fn malformed_headers() {
        let sig = sign("s", T, BODY);
        for bad in [
            String::new(),
            "garbage".to_owned(),
            format!("v1={sig}"),
            format!("t={T}"),
            format!("t={T},v1=zz"),
            format!("t={T},v1={}", &sig[..62]),
            format!("t=-5,v1={sig}"),
            format!("t=1.5,v1={sig}"),
            format!("t=,v1={sig}"),
            format!("t=9999999999999999999999,v1={sig}"),
            format!("t={T},t={T},v1={sig}"),
            format!("t={T},v1={sig},nonsense"),
            format!("t={T}{}", format!(",v1={sig}").repeat(MAX_SIGNATURES + 1)),
            format!("t={T},v1={sig},x={}", "a".repeat(MAX_HEADER_LEN)),
            "t=\u{0661}\u{0662},v1=ab".to_owned(),
        ] {
            assert!(
                matches!(
                    SignatureHeader::parse(&bad),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad:?} should be malformed"
            );
        }
        // Up to MAX_SIGNATURES is fine.
        let ok = format!("t={T}{}", format!(",v1={sig}").repeat(MAX_SIGNATURES));
        assert!(SignatureHeader::parse(&ok).is_ok());
    }

    #[test]
    fn errors_and_debug_do_not_show_signatures() {
        let sig = sign("s", T, BODY);
        let header = SignatureHeader::parse(&format!("t={T},v1={sig}")).unwrap();
        assert!(!format!("{header:?}").contains(&sig));
        let err = header.verify(BODY, &secrets(&["x"]), NOW_MS).unwrap_err();
        assert!(!err.to_string().contains(&sig));
    }
}
