//! `TIMESTAMP` columns of the hot list rows, read without chrono's format
//! parser on SQLite.
//!
//! SQLite keeps a timestamp as text (`2026-11-25 12:00:05.123456`), and
//! diesel turns it into a `NaiveDateTime` with `parse_from_str`, which
//! parses the format string again for every value: about 4 % of the
//! server's CPU on "my work" (hundreds of timestamps per page). A field
//! read `#[diesel(deserialize_as = StoredTime)]` takes the text diesel
//! writes (`%F %T` with an optional fraction) straight apart, and hands
//! anything else (another text form, a Julian day number) to diesel's own
//! reader, so every value reads exactly as before. On PostgreSQL, whose
//! timestamps arrive binary, it is diesel's reader unchanged.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

use super::db::{MultiBackend, MultiRawValue};

/// A stored timestamp; a row's `NaiveDateTime` field reads through it with
/// `#[diesel(deserialize_as = StoredTime)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct StoredTime(pub NaiveDateTime);

impl From<StoredTime> for NaiveDateTime {
    fn from(t: StoredTime) -> Self {
        t.0
    }
}

impl FromSql<Timestamp, Sqlite> for StoredTime {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if let Some(t) = parse_sqlite_text(value.read_text()) {
            return Ok(Self(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Self)
    }
}

impl FromSql<Timestamp, Pg> for StoredTime {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Self)
    }
}

impl FromSql<Timestamp, MultiBackend> for StoredTime {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1 to 9 digits, the form
/// diesel writes; `None` for any other text (the caller then asks chrono).
pub fn parse_sqlite_text(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to]
            .iter()
            .try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)?;
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            num(20, b.len())? * 10u32.pow(9 - u32::try_from(digits.len()).ok()?)
        }
        _ => return None,
    };
    // Seconds past 59 (a leap second) are refused here and go to chrono.
    let time = NaiveTime::from_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)?;
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What diesel's own SQLite reader makes of `s` (its first format).
    fn chrono_reads(s: &str) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(s, "%F %T%.f").ok()
    }

    #[test]
    fn reads_what_diesel_writes_as_chrono_does() {
        for s in [
            "2026-11-25 12:00:05",
            "2026-11-25 12:00:05.1",
            "2026-11-25 12:00:05.123456",
            "2026-11-25 12:00:05.123456789",
            "0001-01-01 00:00:00",
            "9999-12-31 23:59:59.999999999",
            "2024-02-29 23:59:59",
        ] {
            assert_eq!(parse_sqlite_text(s), chrono_reads(s), "{s}");
            assert!(parse_sqlite_text(s).is_some(), "{s}");
        }
    }

    #[test]
    fn leaves_every_other_form_to_chrono() {
        for s in [
            "",
            "2026-11-25",
            "2026-11-25T12:00:05",
            "2026-11-25 12:00",
            "2026-11-25 12:00:05Z",
            "2026-11-25 12:00:05+01:00",
            "2026-11-25 12:00:05.",
            "2026-11-25 12:00:05.1234567890",
            "2025-02-29 12:00:05",
            "2026-13-01 12:00:05",
            "2026-11-25 24:00:05",
            "2026-11-25 12:00:60",
            "2026-11-25 12:0a:05",
            "+2026-11-25 12:00:05",
            "2460640.5",
        ] {
            assert_eq!(parse_sqlite_text(s), None, "{s}");
        }
    }

    proptest! {
        /// Any time diesel writes reads back the same, and whatever the
        /// fast path takes, chrono reads the same way.
        #[test]
        fn round_trips_and_agrees_with_chrono(secs in -62_000_000_000i64..253_000_000_000i64, nanos in 0u32..1_000_000_000, s in "[0-9 :.T-]{0,32}") {
            let t = chrono::DateTime::from_timestamp(secs, nanos).map(|t| t.naive_utc());
            if let Some(t) = t.filter(|t| chrono::Datelike::year(t) >= 0 && chrono::Datelike::year(t) <= 9999) {
                let written = t.format("%F %T%.f").to_string();
                prop_assert_eq!(parse_sqlite_text(&written), Some(t));
            }
            if let Some(fast) = parse_sqlite_text(&s) {
                prop_assert_eq!(Some(fast), chrono_reads(&s));
            }
        }
    }
}
