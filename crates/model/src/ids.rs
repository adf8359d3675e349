//! Identifiers and timestamps in the wire format: 32 lower-case hex digits,
//! RFC 3339 UTC with nanoseconds.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A new random 32-hex identifier.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The current time as the wire format writes it (`2018-08-15T03:41:11.0239936Z`).
pub fn now() -> String {
    format_time(OffsetDateTime::now_utc())
}

pub fn format_time(t: OffsetDateTime) -> String {
    // Formatting a UTC time as RFC 3339 cannot fail for years 0..=9999.
    t.format(&Rfc3339).unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// Parses an RFC 3339 time (`2026-12-05T08:00:00Z`, any offset).
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Microseconds since the Unix epoch.
pub fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// Now, in microseconds since the Unix epoch.
pub fn micros_now() -> i64 {
    micros(OffsetDateTime::now_utc())
}

/// A time in microseconds since the Unix epoch, as the wire format writes it.
pub fn format_micros(micros: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format_time(t)
}

/// Whether `s` looks like an identifier we generate.
pub fn is_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_and_distinct() {
        let a = new_id();
        assert!(is_id(&a));
        assert_ne!(a, new_id());
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = now();
        assert!(t.ends_with('Z'), "{t}");
        assert!(OffsetDateTime::parse(&t, &Rfc3339).is_ok());
    }
}
