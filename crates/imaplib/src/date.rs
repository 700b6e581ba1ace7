//! imaplib's `Internaldate2tuple` and `Time2Internaldate` in the local time
//! zone, which is read from the system here (the core takes the zone as an
//! argument and reads nothing).

use chrono::{DateTime, Local};
use imaplib_proto::date::{internaldate_to_tuple_in, time_to_internaldate_in, DateInput};

/// imaplib's `Internaldate2tuple`: finds `INTERNALDATE "..."` in a FETCH
/// response and returns it in the local time zone; `None` if absent or
/// invalid.
pub fn internaldate_to_tuple(resp: &[u8]) -> Option<DateTime<Local>> {
    internaldate_to_tuple_in(resp, &Local)
}

/// imaplib's `Time2Internaldate`: the quoted INTERNALDATE for `date_time`
/// (seconds since the epoch are shown in the local time zone). A string
/// must already be quoted (`"..."`), as imaplib requires; anything else is
/// an error naming the value.
pub fn time_to_internaldate(date_time: impl Into<DateInput>) -> Result<String, String> {
    time_to_internaldate_in(date_time, &Local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_zone_round_trip() {
        let s = time_to_internaldate(954642600i64).unwrap();
        let back = internaldate_to_tuple(format!("1 (INTERNALDATE {s})").as_bytes()).unwrap();
        assert_eq!(back.timestamp(), 954642600);
    }
}
