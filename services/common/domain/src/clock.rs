//! Time as the domain sees it.
//!
//! The current time is a value: services take a [`Clock`] so that tests can
//! move time (deadlines, embargoes, "公示期还剩 2 天") without waiting.
//! Every date and time shown to people is in Beijing time ([`beijing()`]):
//! the projects, the laws and the readers are in China, whatever the
//! server's zone; a calendar day is a Beijing day.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use prost_types::Timestamp;

/// The current time, injectable for tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Beijing time, UTC+08:00 (China has no daylight saving time).
pub const fn beijing() -> FixedOffset {
    match FixedOffset::east_opt(8 * 3600) {
        Some(offset) => offset,
        None => panic!("UTC+08:00 is a valid offset"),
    }
}

/// An instant in Beijing time, to the second (the nanoseconds are dropped);
/// `None` when it is out of chrono's range.
pub fn in_beijing(ts: &Timestamp) -> Option<DateTime<FixedOffset>> {
    DateTime::from_timestamp(ts.seconds, 0).map(|utc| utc.with_timezone(&beijing()))
}

/// An instant as a pair that orders as time does: `(seconds, nanos)`.
pub fn moment(ts: &Timestamp) -> (i64, i32) {
    (ts.seconds, ts.nanos)
}

/// The calendar day of an instant in Beijing time; `None` when unset or out
/// of range.
pub fn beijing_day(ts: Option<&Timestamp>) -> Option<NaiveDate> {
    in_beijing(ts?).map(|at| at.date_naive())
}

/// A protobuf timestamp as a UTC instant; the epoch when unset or out of
/// range (a negative `nanos` counts as 0).
pub fn utc_or_epoch(ts: Option<&Timestamp>) -> DateTime<Utc> {
    ts.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// Whole days from `from` to `to`: the floor of the elapsed seconds divided
/// by 86 400 (19 days 23 hours is 19 days; negative when `to` is earlier).
/// The one measure of a legal period between two instants, for the rules and
/// for the texts that state them.
pub fn whole_days(from: &Timestamp, to: &Timestamp) -> i64 {
    to.seconds.saturating_sub(from.seconds).div_euclid(DAY)
}

/// A year as chrono's `%Y` writes it: four digits from 0 to 9999 ("0987"),
/// signed beyond ("+12345", "-0001"). Written by hand because the texts of
/// every entry show dates, and parsing a format string for each was a tenth
/// of a rebuild's rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Year(pub i32);

impl std::fmt::Display for Year {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if (0..=9999).contains(&self.0) { write!(f, "{:04}", self.0) } else { write!(f, "{:+05}", self.0) }
    }
}

/// A month's English abbreviation, as chrono's `%b` writes it ("Jan");
/// empty for a number that names no month.
pub fn month_abbreviation(month: u32) -> &'static str {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    month.checked_sub(1).and_then(|at| MONTHS.get(at as usize)).copied().unwrap_or_default()
}

/// A UTC instant as a protobuf timestamp.
pub fn timestamp(time: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: time.timestamp(), nanos: time.timestamp_subsec_nanos() as i32 }
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;

    #[test]
    fn years_and_months_are_written_as_chrono_writes_them() {
        for year in [-262_143, -10_000, -9999, -1, 0, 1, 999, 1000, 2024, 9999, 10_000, 262_142] {
            let date = NaiveDate::from_ymd_opt(year, 1, 1).expect("in chrono's range");
            assert_eq!(Year(date.year()).to_string(), date.format("%Y").to_string(), "year {year}");
        }
        for month in 1..=12 {
            let date = NaiveDate::from_ymd_opt(2024, month, 1).expect("a month");
            assert_eq!(month_abbreviation(month), date.format("%b").to_string());
        }
        assert_eq!(month_abbreviation(0), "");
        assert_eq!(month_abbreviation(13), "");
    }

    #[test]
    fn beijing_is_eight_hours_ahead_of_utc() {
        assert_eq!(beijing().local_minus_utc(), 8 * 3600);
        let at = in_beijing(&Timestamp { seconds: 0, nanos: 999 }).expect("in range");
        assert_eq!(at.to_rfc3339(), "1970-01-01T08:00:00+08:00");
    }

    #[test]
    fn timestamps_round_trip() {
        let ts = Timestamp { seconds: 1_709_254_800, nanos: 123_456_789 };
        assert_eq!(timestamp(utc_or_epoch(Some(&ts))), ts);
        assert_eq!(utc_or_epoch(None), DateTime::UNIX_EPOCH);
        assert_eq!(utc_or_epoch(Some(&Timestamp { seconds: 5, nanos: -1 })).timestamp_subsec_nanos(), 0);
    }
}
