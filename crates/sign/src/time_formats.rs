//! The two timestamp formats signed requests carry.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// `X-Sdk-Date`: `YYYYMMDDTHHMMSSZ` (UTC) → Unix seconds.
pub fn parse_sdk_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) { part.parse().ok() } else { None }
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(num(6..8)?).ok()?).ok()?;
    let time = Time::from_hms(u8::try_from(num(9..11)?).ok()?, u8::try_from(num(11..13)?).ok()?, u8::try_from(num(13..15)?).ok()?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp())
}

/// Unix seconds → `YYYYMMDDTHHMMSSZ`.
pub fn format_sdk_date(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// An HTTP date as Tencent's `X-Date` carries it (RFC 1123:
/// `Mon, 19 Mar 2018 12:08:40 GMT`) → Unix seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let mut parts = s.split_ascii_whitespace();
    let _weekday = parts.next()?.strip_suffix(',')?;
    let day: u8 = parts.next()?.parse().ok()?;
    let month = match parts.next()?.to_ascii_lowercase().as_str() {
        "jan" => Month::January,
        "feb" => Month::February,
        "mar" => Month::March,
        "apr" => Month::April,
        "may" => Month::May,
        "jun" => Month::June,
        "jul" => Month::July,
        "aug" => Month::August,
        "sep" => Month::September,
        "oct" => Month::October,
        "nov" => Month::November,
        "dec" => Month::December,
        _ => return None,
    };
    let year: i32 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let (h, m, sec): (u8, u8, u8) = (hms.next()?.parse().ok()?, hms.next()?.parse().ok()?, hms.next()?.parse().ok()?);
    if hms.next().is_some() || !matches!(parts.next(), Some("GMT" | "UTC")) || parts.next().is_some() {
        return None;
    }
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(h, m, sec).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp())
}

/// Unix seconds → RFC 1123 (`Mon, 19 Mar 2018 12:08:40 GMT`).
pub fn format_http_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[usize::from(t.weekday().number_days_from_monday())],
        t.day(),
        MONTHS[usize::from(u8::from(t.month()) - 1)],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_dates() {
        assert_eq!(parse_sdk_date("20240101T000000Z"), Some(1_704_067_200));
        assert_eq!(format_sdk_date(1_704_067_200), "20240101T000000Z");
        for bad in ["", "20240101T000000", "20241301T000000Z", "20240230T000000Z", "20240101T250000Z", "2024010AT000000Z", "+0240101T000000Z"] {
            assert_eq!(parse_sdk_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates() {
        assert_eq!(parse_http_date("Mon, 19 Mar 2018 12:08:40 GMT"), Some(1_521_461_320));
        assert_eq!(format_http_date(1_521_461_320), "Mon, 19 Mar 2018 12:08:40 GMT");
        assert_eq!(format_http_date(1_704_067_200), "Mon, 01 Jan 2024 00:00:00 GMT");
        assert_eq!(parse_http_date(&format_http_date(1_709_251_199)), Some(1_709_251_199));
        for bad in ["", "Mon 19 Mar 2018 12:08:40 GMT", "Mon, 19 Foo 2018 12:08:40 GMT", "Mon, 19 Mar 2018 12:08 GMT", "Mon, 19 Mar 2018 12:08:40 CET"] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }
}
