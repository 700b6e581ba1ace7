//! INTERNALDATE utilities: imaplib's `Internaldate2tuple` and
//! `Time2Internaldate` (RFC 3501 §9 `date-time`:
//! `"DD-Mon-YYYY HH:MM:SS +ZZZZ"`).
//!
//! The core reads no clock and no time-zone database: where imaplib uses
//! the local time zone, the zone is passed in (`imaplib` passes
//! `chrono::Local`, read from the system there).

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// Parses a `date-time` value, with or without its double quotes; a
/// one-digit day may be padded with a space or not.
pub fn parse_internaldate(s: &[u8]) -> Option<DateTime<FixedOffset>> {
    let s = s.strip_prefix(b"\"").unwrap_or(s);
    let s = s.strip_suffix(b"\"").unwrap_or(s);
    let s = s.strip_prefix(b" ").unwrap_or(s);
    if let Some(date) = parse_usual_layout(s) {
        return date;
    }
    let mut parts = s.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let date = parts.next()?;
    let time = parts.next()?;
    let zone = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let mut d = date.split(|&b| b == b'-');
    let day = digits(d.next()?)?;
    let mon_name = d.next()?;
    let month = MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(mon_name))? as u32
        + 1;
    let year = digits(d.next()?)?;
    if d.next().is_some() {
        return None;
    }
    let mut t = time.split(|&b| b == b':');
    let (h, m, sec) = (digits(t.next()?)?, digits(t.next()?)?, digits(t.next()?)?);
    if t.next().is_some() || zone.len() != 5 {
        return None;
    }
    let sign = match zone[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let zh = digits(&zone[1..3])? as i32;
    let zm = digits(&zone[3..5])? as i32;
    let offset = FixedOffset::east_opt(sign * (zh * 3600 + zm * 60))?;
    let naive = NaiveDate::from_ymd_opt(year as i32, month, day)?.and_hms_opt(h, m, sec)?;
    offset.from_local_datetime(&naive).single()
}

/// The usual layout, `DD-Mon-YYYY HH:MM:SS +ZZZZ` (or a one-digit day),
/// read at fixed positions. `None` if `s` is laid out otherwise (the
/// general reader then decides); otherwise what the general reader gives.
fn parse_usual_layout(s: &[u8]) -> Option<Option<DateTime<FixedOffset>>> {
    let day_len = s.len().checked_sub(24).filter(|&n| n == 1 || n == 2)?;
    let (day, t) = s.split_at(day_len);
    let t: &[u8; 24] = t.try_into().ok()?;
    if t[0] != b'-'
        || t[4] != b'-'
        || t[9] != b' '
        || t[12] != b':'
        || t[15] != b':'
        || t[18] != b' '
    {
        return None;
    }
    let sign = match t[19] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    // Every digit position at once: a byte minus '0' is a digit exactly
    // when it is at most 9 (wrapping).
    const DIGITS: [usize; 14] = [5, 6, 7, 8, 10, 11, 13, 14, 16, 17, 20, 21, 22, 23];
    let mut d = [0u32; 24];
    let mut bad = 0u8;
    for i in DIGITS {
        let v = t[i].wrapping_sub(b'0');
        bad |= u8::from(v > 9);
        d[i] = u32::from(v);
    }
    let mut day_value = 0u32;
    for &b in day {
        let v = b.wrapping_sub(b'0');
        bad |= u8::from(v > 9);
        day_value = day_value * 10 + u32::from(v);
    }
    if bad != 0 {
        return None;
    }
    let two = |i: usize| d[i] * 10 + d[i + 1];
    let year = two(5) * 100 + two(7);
    let (h, m, sec) = (two(10), two(13), two(16));
    let (zh, zm) = (two(20) as i32, two(22) as i32);
    // The month name without case: ASCII letters with bit 5 set.
    let key = [t[1] | 0x20, t[2] | 0x20, t[3] | 0x20];
    let month = match &key {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => 0,
    };
    // A byte with bit 5 set is a lowercase letter only if it was that
    // letter in either case.
    if month == 0 {
        return Some(None);
    }
    let date = FixedOffset::east_opt(sign * (zh * 3600 + zm * 60)).and_then(|offset| {
        let naive =
            NaiveDate::from_ymd_opt(year as i32, month, day_value)?.and_hms_opt(h, m, sec)?;
        offset.from_local_datetime(&naive).single()
    });
    Some(date)
}

/// imaplib's `Internaldate2tuple` with the zone given: finds
/// `INTERNALDATE "..."` in a FETCH response and returns it in `zone`
/// (imaplib's is the local zone); `None` if absent or invalid.
pub fn internaldate_to_tuple_in<Tz: TimeZone>(resp: &[u8], zone: &Tz) -> Option<DateTime<Tz>> {
    internaldate_from_response(resp).map(|dt| dt.with_timezone(zone))
}

/// Finds `INTERNALDATE "..."` in a FETCH response, keeping its offset.
pub fn internaldate_from_response(resp: &[u8]) -> Option<DateTime<FixedOffset>> {
    const KEY: &[u8] = b"INTERNALDATE \"";
    let start = resp
        .windows(KEY.len())
        .position(|w| w.eq_ignore_ascii_case(KEY))?
        + KEY.len();
    let len = resp[start..].iter().position(|&b| b == b'"')?;
    parse_internaldate(&resp[start..start + len])
}

/// Formats a date-time as a quoted INTERNALDATE.
pub fn format_internaldate<Tz: TimeZone>(dt: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let fixed = dt.fixed_offset();
    let month = MONTHS[chrono::Datelike::month0(&fixed) as usize];
    let secs = fixed.offset().local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    format!(
        "\"{}-{}-{} {} {}{:02}{:02}\"",
        fixed.format("%d"),
        month,
        fixed.format("%Y"),
        fixed.format("%H:%M:%S"),
        sign,
        abs / 3600,
        (abs % 3600) / 60
    )
}

/// What `Time2Internaldate` accepts, as imaplib does: seconds since the
/// epoch (shown in local time), a date-time with its offset, or a string
/// already in quoted INTERNALDATE form.
#[derive(Debug, Clone, PartialEq)]
pub enum DateInput {
    /// Seconds since the Unix epoch.
    Timestamp(f64),
    /// A date-time with a known offset.
    DateTime(DateTime<FixedOffset>),
    /// A string that must already be `"..."`.
    Quoted(String),
}

impl From<i64> for DateInput {
    fn from(v: i64) -> Self {
        DateInput::Timestamp(v as f64)
    }
}
impl From<f64> for DateInput {
    fn from(v: f64) -> Self {
        DateInput::Timestamp(v)
    }
}
impl<Tz: TimeZone> From<DateTime<Tz>> for DateInput {
    fn from(v: DateTime<Tz>) -> Self {
        DateInput::DateTime(v.fixed_offset())
    }
}
impl From<&str> for DateInput {
    fn from(v: &str) -> Self {
        DateInput::Quoted(v.to_string())
    }
}
impl From<String> for DateInput {
    fn from(v: String) -> Self {
        DateInput::Quoted(v)
    }
}

/// imaplib's `Time2Internaldate` with the zone given: the quoted
/// INTERNALDATE for `date_time`. A timestamp is shown in `zone` (imaplib's
/// is the local zone); a date-time keeps its own offset. A string must
/// already be quoted (`"..."`), as imaplib requires; anything else is an
/// error naming the value.
pub fn time_to_internaldate_in<Tz: TimeZone>(
    date_time: impl Into<DateInput>,
    zone: &Tz,
) -> Result<String, String>
where
    Tz::Offset: std::fmt::Display,
{
    match date_time.into() {
        DateInput::Timestamp(ts) => {
            if !ts.is_finite() {
                return Err(format!("date_time not of a known type: {ts}"));
            }
            let secs = ts.floor() as i64;
            let utc = DateTime::<Utc>::from_timestamp(secs, 0)
                .ok_or_else(|| format!("timestamp out of range: {ts}"))?;
            Ok(format_internaldate(&utc.with_timezone(zone)))
        }
        DateInput::DateTime(dt) => Ok(format_internaldate(&dt)),
        DateInput::Quoted(s) => {
            if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') && !s.contains(['\r', '\n']) {
                Ok(s)
            } else {
                Err(format!("date_time not of a known type: {s:?}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        let dt = parse_internaldate(b"\"17-Jul-1996 02:44:25 -0700\"").unwrap();
        assert_eq!(dt.to_rfc3339(), "1996-07-17T02:44:25-07:00");
        assert_eq!(format_internaldate(&dt), "\"17-Jul-1996 02:44:25 -0700\"");
        let dt = parse_internaldate(b" 1-Jan-2000 00:00:00 +0530").unwrap();
        assert_eq!(format_internaldate(&dt), "\"01-Jan-2000 00:00:00 +0530\"");
        assert!(parse_internaldate(b"32-Jan-2000 00:00:00 +0000").is_none());
        assert!(parse_internaldate(b"01-Foo-2000 00:00:00 +0000").is_none());
        assert!(parse_internaldate(b"01-Jan-2000 00:00 +0000").is_none());
        assert!(parse_internaldate(b"01-Jan-2000 00:00:00 0000").is_none());
    }

    #[test]
    fn usual_layout_reads_as_the_general_reader_does() {
        let general = |s: &[u8]| {
            // The general reader alone: the same text with a doubled
            // space is never in the usual layout.
            let mut spaced = s.to_vec();
            if let Some(i) = spaced.iter().position(|&b| b == b' ') {
                spaced.insert(i, b' ');
            }
            parse_internaldate(&spaced)
        };
        for s in [
            &b"17-Jul-1996 02:44:25 -0700"[..],
            b"7-Jul-1996 02:44:25 +0000",
            b"07-jUL-1996 23:59:59 +2359",
            b"31-Feb-2024 10:00:00 +0100",
            b"29-Feb-2024 10:00:00 +0100",
            b"01-Xyz-2024 10:00:00 +0100",
            b"01-Jan-2024 24:00:00 +0100",
            b"01-Jan-2024 10:60:00 +0100",
            b"01-Jan-2024 10:00:60 +0100",
            b"01-Jan-2024 10:00:00 +2400",
            b"01-Jan-2024 10:00:00 +0060",
            b"00-Jan-2024 10:00:00 +0100",
            b"01-Jan-0000 10:00:00 +0100",
            b"01-Jan-9999 23:59:59 -2359",
            b"01-J n-2024 10:00:00 +0100",
            b"01-J-n-2024 10:00:00 +0100",
            b"01-JAN-2024 10:00:00 +0100",
            b"01-De\xe3-2024 10:00:00 +0100",
            b"01-*an-2024 10:00:00 +0100",
            b"01-Jan-2024 10:00:00 +0099",
            b"01-Jan-2024 10:00:00 +2359",
            b"01-Jan-2024 10:00:00 -0000",
            b"9-Dec-2024 10:00:00 +0100",
            b"31-Apr-2024 10:00:00 +0100",
            b"29-Feb-2023 10:00:00 +0100",
            b"29-Feb-2000 10:00:00 +0100",
            b"29-Feb-1900 10:00:00 +0100",
        ] {
            assert!(parse_usual_layout(s).is_some(), "{s:?}");
            assert_eq!(parse_internaldate(s), general(s), "{s:?}");
        }
        for s in [
            &b"1a-Jan-2024 10:00:00 +0100"[..],
            b"01-Jan-2024 10:00:00 *0100",
            b"a-Jan-2024 10:00:00 +0100",
            b"01-Jan-2024 1\xb0:00:00 +0100",
            b"01-Jan-2O24 10:00:00 +0100",
            b"01-Jan-2024 10:00:00 +01:0",
            b"01-Jan-2024 10:00:00 +/100",
        ] {
            assert_eq!(parse_usual_layout(s), None);
            assert_eq!(parse_internaldate(s), None);
        }
    }

    fn zone(hours: i32) -> FixedOffset {
        FixedOffset::east_opt(hours * 3600).unwrap()
    }

    #[test]
    fn internaldate2tuple() {
        let resp = b"25 (INTERNALDATE \"02-Apr-2000 02:30:00 +0000\")";
        let local = internaldate_to_tuple_in(resp, &zone(0)).unwrap();
        assert_eq!(local.timestamp(), 954642600);
        assert!(internaldate_to_tuple_in(b"25 (UID 3)", &zone(0)).is_none());
    }

    #[test]
    fn the_zone_is_the_callers() {
        // The same instant, shown in the zone passed in: nothing here
        // depends on the machine's time zone.
        let resp = b"25 (INTERNALDATE \"02-Apr-2000 02:30:00 +0000\")";
        let tokyo = internaldate_to_tuple_in(resp, &zone(9)).unwrap();
        assert_eq!(tokyo.to_rfc3339(), "2000-04-02T11:30:00+09:00");
        let ny = internaldate_to_tuple_in(resp, &zone(-5)).unwrap();
        assert_eq!(ny.to_rfc3339(), "2000-04-01T21:30:00-05:00");
        assert_eq!(
            time_to_internaldate_in(954642600i64, &zone(9)).unwrap(),
            "\"02-Apr-2000 11:30:00 +0900\""
        );
        assert_eq!(
            time_to_internaldate_in(954642600.9f64, &zone(-5)).unwrap(),
            "\"01-Apr-2000 21:30:00 -0500\""
        );
        // A date-time keeps its own offset whatever the zone.
        let dt = DateTime::parse_from_rfc3339("2000-04-02T02:30:00+02:00").unwrap();
        assert_eq!(
            time_to_internaldate_in(dt, &zone(9)).unwrap(),
            "\"02-Apr-2000 02:30:00 +0200\""
        );
    }

    #[test]
    fn time2internaldate() {
        let dt = DateTime::parse_from_rfc3339("2000-04-02T02:30:00+02:00").unwrap();
        assert_eq!(
            time_to_internaldate_in(dt, &Utc).unwrap(),
            "\"02-Apr-2000 02:30:00 +0200\""
        );
        assert_eq!(
            time_to_internaldate_in("\"already quoted\"", &Utc).unwrap(),
            "\"already quoted\""
        );
        assert!(time_to_internaldate_in("02-Apr-2000", &Utc).is_err());
        let s = time_to_internaldate_in(954642600i64, &zone(3)).unwrap();
        assert_eq!(
            parse_internaldate(s.as_bytes()).unwrap().timestamp(),
            954642600
        );
    }
}
