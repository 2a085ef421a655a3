//! How promptly a fact reached the public: when it was made public, its
//! delay after it happened, whether that delay is within its window, and the
//! median of many delays. The one definition the project page ("3 天后公开"),
//! the public promptness pages and the supervisors' timeliness report share.
//!
//! # Made public at
//!
//! A fact is made public when its event is recorded (`recorded_at`, the
//! bus time the event store gives it). The projector renders every event
//! into the public timeline in the transaction that folds it in: the
//! disclosure policy withholds *fields* of an entry until an embargo lifts
//! (the bidders until the bids are opened, the committee until the award),
//! never the entry itself. An embargo lifting re-renders the entry (an
//! `updated` row of the public change feed) but the fact was public before:
//! what lifts is a detail of it. So the public timeline's own `recorded_at`
//! is when its fact was made public, and anyone can check it from the
//! public data (it is in the entry's `public_event`, whose hash the chain
//! covers).
//!
//! # Delay
//!
//! * For the window: the elapsed seconds from `occurred_at` to made public,
//!   compared with the fact kind's deadline
//!   ([`crate::disclosure::deadline_of_type`]): within it when at most the
//!   deadline (a fact made public before it happened, such as a scheduled
//!   opening, is within it).
//! * For people: Beijing calendar days from the day it happened to the day it
//!   was made public ([`Lag`]): "当天公开", "3 天后公开", or ahead of the
//!   fact when recorded before it happened.
//! * For the aggregates: those calendar days, at least 0, in
//!   [`DELAY_BUCKETS`].
//!
//! # What counts as a disclosure
//!
//! Every public timeline entry of a recognised fact, once. A correction
//! (an entry superseding another) is not a second disclosure: the fact was
//! disclosed by the entry it corrects, which still counts as it was made
//! public. Entries that carry no recognised fact, or lack either time, do
//! not count.
//!
//! Timestamps are taken as given, whatever their range: every sum saturates,
//! nothing converts to a calendar type that could overflow.

use gongkai_proto::v1::TimelineEntry;
use prost::Message;
use prost_types::Timestamp;

use crate::clock::DAY;
use crate::disclosure::deadline_of_type;

/// Beijing time's offset from UTC, seconds.
const BEIJING_OFFSET: i64 = 8 * 3600;

/// The `source` of an encoded `PublicEvent`, read without decoding the
/// rest (prost skips the other fields without allocating): a rebuild asks
/// it of every public entry.
#[derive(Clone, PartialEq, prost::Message)]
struct SourceOnly {
    /// `PublicEvent.source`, by its tag.
    #[prost(string, tag = "3")]
    source: String,
}

/// Lower bounds, in days, of the delay buckets the public aggregates count:
/// each day of the first week, then wider spans up to a year or more.
pub const DELAY_BUCKETS: [i64; 15] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 31, 61, 91, 181, 366];

/// When a public timeline entry's fact was made public: its `recorded_at`
/// (see the module docs).
pub fn made_public_at(entry: &TimelineEntry) -> Option<Timestamp> {
    entry.recorded_at
}

/// Seconds from `occurred` to `public`: negative when made public before it
/// happened. Saturates at the `i64` bounds.
pub fn delay_seconds(occurred: &Timestamp, public: &Timestamp) -> i64 {
    public.seconds.saturating_sub(occurred.seconds)
}

/// Whether a fact of CloudEvents type `fact_type` made public `delay`
/// seconds after it happened was within its window.
pub fn within_window(fact_type: &str, delay: i64) -> bool {
    delay <= deadline_of_type(fact_type)
}

/// The Beijing calendar day of an instant, as days since 1970-01-01.
fn beijing_day_number(at: &Timestamp) -> i64 {
    at.seconds.saturating_add(BEIJING_OFFSET).div_euclid(DAY)
}

/// How a fact's publication followed it, in Beijing calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lag {
    /// Made public before it happened (a scheduled fact), `days` calendar
    /// days before (0: earlier the same day).
    Ahead {
        /// Calendar days before.
        days: u64,
    },
    /// Made public the day it happened.
    SameDay,
    /// Made public `days` calendar days after it happened (at least 1).
    Later {
        /// Calendar days after.
        days: u64,
    },
}

/// How `public` followed `occurred`.
pub fn lag(occurred: &Timestamp, public: &Timestamp) -> Lag {
    let days = beijing_day_number(public).saturating_sub(beijing_day_number(occurred));
    let ahead = (public.seconds, public.nanos) < (occurred.seconds, occurred.nanos);
    match days {
        0 if ahead => Lag::Ahead { days: 0 },
        0 => Lag::SameDay,
        d if d < 0 => Lag::Ahead { days: d.unsigned_abs() },
        d => Lag::Later { days: d.unsigned_abs() },
    }
}

/// The delay bucket (a lower bound of [`DELAY_BUCKETS`]) of a lag: facts
/// made public ahead of time are in the first, with no delay.
pub fn delay_bucket(lag: Lag) -> i64 {
    let days = match lag {
        Lag::Ahead { .. } | Lag::SameDay => 0,
        Lag::Later { days } => i64::try_from(days).unwrap_or(i64::MAX),
    };
    DELAY_BUCKETS.iter().rev().copied().find(|bound| *bound <= days).unwrap_or(0)
}

/// The upper end of a bucket, in days (inclusive), or `None` for the last.
pub fn bucket_end(bucket: i64) -> Option<i64> {
    let at = DELAY_BUCKETS.iter().position(|bound| *bound == bucket)?;
    DELAY_BUCKETS.get(at + 1).map(|next| next - 1)
}

/// The median of values in ascending order: the one at index `len / 2`
/// (the upper one of an even count).
pub fn median<T: Copy>(sorted: &[T]) -> Option<T> {
    sorted.get(sorted.len() / 2).copied()
}

/// The [`median`] of values given as (value, how many), in ascending order
/// of value.
pub fn median_of_counts<T: Copy>(counts: &[(T, u64)]) -> Option<T> {
    let total: u64 = counts.iter().map(|(_, n)| *n).fold(0, u64::saturating_add);
    if total == 0 {
        return None;
    }
    let index = total / 2;
    let mut seen = 0_u64;
    for (value, n) in counts {
        seen = seen.saturating_add(*n);
        if seen > index {
            return Some(*value);
        }
    }
    None
}

/// The month, in Beijing time, of an instant: `2024-03`; `None` out of
/// chrono's range.
pub fn beijing_month(at: &Timestamp) -> Option<String> {
    use chrono::Datelike;
    crate::clock::in_beijing(at).map(|at| format!("{}-{:02}", crate::clock::Year(at.year()), at.month()))
}

/// One disclosure as the promptness figures count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    /// CloudEvents type of the fact, e.g. `gongkai.v1.AwardAnnounced`.
    pub fact_type: String,
    /// The trading center that submitted it (the public event's `source`).
    pub source: String,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// When it was made public.
    pub public_at: Timestamp,
}

impl Disclosure {
    /// The disclosure a public timeline entry stands for; `None` for a
    /// correction, an unrecognised fact, or an entry missing either time
    /// (see the module docs).
    pub fn of(entry: &TimelineEntry) -> Option<Self> {
        if !entry.supersedes_event_id.is_empty() || entry.fact_type.is_empty() {
            return None;
        }
        let source = SourceOnly::decode(entry.public_event.as_slice()).map(|event| event.source).unwrap_or_default();
        Some(Self {
            fact_type: entry.fact_type.clone(),
            source,
            occurred_at: entry.occurred_at?,
            public_at: made_public_at(entry)?,
        })
    }

    /// Seconds from when it happened to when it was made public.
    pub fn delay_seconds(&self) -> i64 {
        delay_seconds(&self.occurred_at, &self.public_at)
    }

    /// Whether it was made public within its kind's window.
    pub fn within_window(&self) -> bool {
        within_window(&self.fact_type, self.delay_seconds())
    }

    /// How its publication followed it, in calendar days.
    pub fn lag(&self) -> Lag {
        lag(&self.occurred_at, &self.public_at)
    }

    /// Its delay bucket.
    pub fn bucket(&self) -> i64 {
        delay_bucket(self.lag())
    }

    /// The month it was made public in (Beijing time); `None` out of range.
    pub fn month(&self) -> Option<String> {
        beijing_month(&self.public_at)
    }
}

/// The region scopes a 6-digit region code counts in: its province, its
/// prefecture and itself, as the code prefixes the project list filters by
/// (`230113` → `23`, `2301`, `230113`; `230100` → `23`, `2301`; `230000` →
/// `23`). None for anything but 6 digits.
pub fn region_prefixes(code: &str) -> Vec<&str> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    let mut prefixes = vec![&code[..2]];
    if &code[2..4] != "00" {
        prefixes.push(&code[..4]);
        if &code[4..] != "00" {
            prefixes.push(code);
        }
    } else if &code[4..] != "00" {
        prefixes.push(code);
    }
    prefixes
}

/// A region code as the prefix it stands for: 2 and 4 digits as they are,
/// 6 digits without trailing `00` pairs (`230100` → `2301`); `None` for
/// anything else.
pub fn region_prefix(code: &str) -> Option<&str> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match code.len() {
        2 | 4 => Some(code),
        6 => Some(region_prefixes(code).last().copied().unwrap_or(&code[..2])),
        _ => None,
    }
}

/// A disclosure the statutory clocks expect: the rule the deadline watch
/// keeps it under and what it means, in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingRule {
    /// The rule code, `GK-MISSING-*`.
    pub code: &'static str,
    /// What is missing, in Chinese.
    pub title_zh: &'static str,
    /// What is missing, in English.
    pub title_en: &'static str,
}

/// Bids evaluated and no candidate publicity within 3 days (IR art. 54).
pub const MISSING_PUBLICITY: MissingRule = MissingRule {
    code: "GK-MISSING-PUBLICITY",
    title_zh: "评标结束后3日内未公示中标候选人",
    title_en: "No candidate publicity within 3 days of the evaluation",
};
/// Candidate publicity ended and no award result after the grace days.
pub const MISSING_RESULT: MissingRule = MissingRule {
    code: "GK-MISSING-RESULT",
    title_zh: "中标候选人公示期满后未见中标结果",
    title_en: "No award result after the candidate publicity ended",
};
/// Award notice and no contract within 30 days (TBL art. 46).
pub const MISSING_CONTRACT: MissingRule = MissingRule {
    code: "GK-MISSING-CONTRACT",
    title_zh: "中标通知发出后30日内未见合同公开",
    title_en: "No contract disclosed within 30 days of the award notice",
};

/// The missing-disclosure rule of a code, if it is one.
pub fn missing_rule(code: &str) -> Option<MissingRule> {
    [MISSING_PUBLICITY, MISSING_RESULT, MISSING_CONTRACT].into_iter().find(|rule| rule.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp { seconds, nanos: 0 }
    }

    /// 2024-03-26 09:00 Beijing.
    const MORNING: i64 = 1_711_414_800;

    #[test]
    fn lag_counts_beijing_calendar_days() {
        assert_eq!(lag(&at(MORNING), &at(MORNING + 3 * 3600)), Lag::SameDay);
        // 23:00 the same Beijing day, then 01:00 the next.
        assert_eq!(lag(&at(MORNING), &at(MORNING + 14 * 3600)), Lag::SameDay);
        assert_eq!(lag(&at(MORNING), &at(MORNING + 16 * 3600)), Lag::Later { days: 1 });
        assert_eq!(lag(&at(MORNING), &at(MORNING + 3 * DAY)), Lag::Later { days: 3 });
        assert_eq!(lag(&at(MORNING), &at(MORNING - 3600)), Lag::Ahead { days: 0 });
        assert_eq!(lag(&at(MORNING), &at(MORNING - 2 * DAY)), Lag::Ahead { days: 2 });
    }

    #[test]
    fn extreme_timestamps_saturate_without_panicking() {
        let (min, max) = (at(i64::MIN), at(i64::MAX));
        assert_eq!(delay_seconds(&min, &max), i64::MAX);
        assert_eq!(delay_seconds(&max, &min), i64::MIN);
        assert!(matches!(lag(&min, &max), Lag::Later { .. }));
        assert!(matches!(lag(&max, &min), Lag::Ahead { .. }));
        assert_eq!(delay_bucket(lag(&min, &max)), 366);
        assert_eq!(delay_bucket(lag(&max, &min)), 0);
        assert!(!within_window("gongkai.v1.TenderAnnounced", delay_seconds(&min, &max)));
        assert!(within_window("gongkai.v1.TenderAnnounced", delay_seconds(&max, &min)));
        assert_eq!(beijing_month(&max), None);
        assert_eq!(beijing_month(&at(MORNING)).as_deref(), Some("2024-03"));
    }

    #[test]
    fn the_window_is_the_kinds_deadline_inclusive() {
        let kind = "gongkai.v1.AwardAnnounced";
        assert!(within_window(kind, 3 * DAY));
        assert!(!within_window(kind, 3 * DAY + 1));
        assert!(within_window("gongkai.v1.ContractSigned", 7 * DAY));
        assert!(within_window(kind, -10 * DAY), "a fact made public ahead of time is within");
    }

    #[test]
    fn buckets_cover_every_delay() {
        assert_eq!(delay_bucket(Lag::SameDay), 0);
        assert_eq!(delay_bucket(Lag::Ahead { days: 9 }), 0);
        assert_eq!(delay_bucket(Lag::Later { days: 3 }), 3);
        assert_eq!(delay_bucket(Lag::Later { days: 14 }), 8);
        assert_eq!(delay_bucket(Lag::Later { days: 15 }), 15);
        assert_eq!(delay_bucket(Lag::Later { days: 365 }), 181);
        assert_eq!(delay_bucket(Lag::Later { days: u64::MAX }), 366);
        assert_eq!(bucket_end(8), Some(14));
        assert_eq!(bucket_end(3), Some(3));
        assert_eq!(bucket_end(366), None);
        assert_eq!(bucket_end(9), None);
    }

    #[test]
    fn the_median_is_the_upper_middle_value() {
        assert_eq!(median::<i64>(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[1, 2, 3]), Some(2));
        assert_eq!(median(&[1, 2, 3, 4]), Some(3));
        assert_eq!(median_of_counts::<i64>(&[]), None);
        assert_eq!(median_of_counts(&[(0, 0)]), None);
        assert_eq!(median_of_counts(&[(0, 1), (1, 1), (2, 1), (3, 1)]), Some(2));
        assert_eq!(median_of_counts(&[(0, 10), (7, 9)]), Some(0));
        assert_eq!(median_of_counts(&[(0, 9), (7, 10)]), Some(7));
        assert_eq!(median_of_counts(&[(0, u64::MAX), (1, 1)]), Some(0), "counts saturate");
    }

    #[test]
    fn a_correction_is_not_a_second_disclosure() {
        // Read from the encoded public event among its other fields.
        let source = gongkai_proto::v1::PublicEvent {
            event_id: "e1".into(),
            r#type: "gongkai.v1.AwardAnnounced".into(),
            source: "center-harbin".into(),
            subject: "2024-230113-77-01-000001".into(),
            project_seq: 9,
            occurred_at: Some(at(MORNING)),
            prev_hash: "ab".repeat(32),
            ..gongkai_proto::v1::PublicEvent::default()
        };
        let entry = TimelineEntry {
            fact_type: "gongkai.v1.AwardAnnounced".into(),
            occurred_at: Some(at(MORNING)),
            recorded_at: Some(at(MORNING + 3 * DAY + 1)),
            public_event: source.encode_to_vec(),
            ..TimelineEntry::default()
        };
        let disclosure = Disclosure::of(&entry).expect("counts");
        assert_eq!(disclosure.source, "center-harbin");
        assert_eq!(disclosure.lag(), Lag::Later { days: 3 });
        assert!(!disclosure.within_window(), "a second past three days is late");
        assert_eq!(disclosure.month().as_deref(), Some("2024-03"));
        let correction = TimelineEntry { supersedes_event_id: "earlier".into(), ..entry.clone() };
        assert_eq!(Disclosure::of(&correction), None);
        assert_eq!(Disclosure::of(&TimelineEntry { fact_type: String::new(), ..entry.clone() }), None);
        assert_eq!(Disclosure::of(&TimelineEntry { occurred_at: None, ..entry }), None);
    }

    #[test]
    fn missing_rules_are_found_by_code() {
        assert_eq!(missing_rule("GK-MISSING-RESULT"), Some(MISSING_RESULT));
        assert_eq!(missing_rule("GK-OTHER"), None);
    }

    #[test]
    fn regions_count_in_their_province_and_prefecture() {
        assert_eq!(region_prefixes("230113"), ["23", "2301", "230113"]);
        assert_eq!(region_prefixes("230100"), ["23", "2301"]);
        assert_eq!(region_prefixes("230000"), ["23"]);
        assert_eq!(region_prefixes("419001"), ["41", "4190", "419001"]);
        assert!(region_prefixes("2301").is_empty() && region_prefixes("23011x").is_empty());
        assert_eq!(region_prefix("230100"), Some("2301"));
        assert_eq!(region_prefix("2301"), Some("2301"));
        assert_eq!(region_prefix("230"), None);
        assert_eq!(region_prefix("../x"), None);
    }
}
