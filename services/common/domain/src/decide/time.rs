//! Whole days, dates, shares and their Chinese rendering for flag texts.
//!
//! Durations between instants are whole days: the floor of the elapsed
//! seconds divided by 86 400 (19 days 23 hours is 19 days). Durations between
//! calendar dates are calendar days. Shares are basis points, floored.

use chrono::NaiveDate;
use gongkai_proto::v1::CalendarDate;
use prost_types::Timestamp;

use crate::clock::in_beijing;

/// Seconds from `from` to `to` (negative when `to` is earlier).
pub(crate) fn seconds_between(from: &Timestamp, to: &Timestamp) -> i64 {
    to.seconds.saturating_sub(from.seconds)
}

pub(crate) use crate::clock::whole_days;

fn naive(date: &CalendarDate) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(date.year, u32::try_from(date.month).ok()?, u32::try_from(date.day).ok()?)
}

/// Calendar days from `from` to `to`; `None` when either is not a valid date.
pub(crate) fn days_between_dates(from: &CalendarDate, to: &CalendarDate) -> Option<i64> {
    Some((naive(to)? - naive(from)?).num_days())
}

pub(crate) use crate::money::share_bp;

/// An instant in Beijing time, e.g. "2024-03-01 09:30".
pub(crate) fn instant(ts: &Timestamp) -> String {
    match in_beijing(ts) {
        Some(time) => time.format("%Y-%m-%d %H:%M").to_string(),
        None => format!("{}s", ts.seconds),
    }
}

/// A calendar date, e.g. "2024-03-01".
pub(crate) fn date(date: &CalendarDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year, date.month, date.day)
}

/// An amount in yuan, e.g. "4500000.00 元".
pub(crate) fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02} 元", abs / 100, abs % 100)
}

/// Basis points as a percentage, e.g. 9950 → "99.50%".
pub(crate) fn percent(bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let abs = bp.unsigned_abs();
    format!("{sign}{}.{:02}%", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DAY;

    fn at(seconds: i64) -> Timestamp {
        Timestamp { seconds, nanos: 0 }
    }

    #[test]
    fn whole_days_are_floored() {
        assert_eq!(whole_days(&at(0), &at(20 * DAY - 1)), 19);
        assert_eq!(whole_days(&at(0), &at(20 * DAY)), 20);
        assert_eq!(whole_days(&at(DAY), &at(0)), -1);
        assert_eq!(whole_days(&at(1), &at(0)), -1);
    }

    #[test]
    fn dates_count_calendar_days() {
        let d = |year, month, day| CalendarDate { year, month, day };
        assert_eq!(days_between_dates(&d(2024, 2, 28), &d(2024, 3, 1)), Some(2));
        assert_eq!(days_between_dates(&d(2024, 2, 30), &d(2024, 3, 1)), None);
    }

    #[test]
    fn shares_and_amounts_render() {
        assert_eq!(share_bp(99, 100), Some(9900));
        assert_eq!(share_bp(1, 0), None);
        assert_eq!(yuan(123_456), "1234.56 元");
        assert_eq!(yuan(-5), "-0.05 元");
        assert_eq!(percent(1050), "10.50%");
        assert_eq!(instant(&at(0)), "1970-01-01 08:00");
    }
}
