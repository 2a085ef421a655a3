//! Given/when/then scaffolding and fact builders.
//!
//! `given(&[..])` records each step as an event (ids `e001`, `e002`, ...),
//! asserting that `decide` accepts it; `.when(fact)` decides one more fact
//! as event `e00N`; `.then_rejected(code)` / `.then_flags(&[..])` check the
//! outcome. Builders return compliant facts on one timeline (day 0 =
//! 2024-03-01 00:00 Beijing time), to be varied with struct update syntax.
//!
//! [`given`] holds the steps and the recorded history, [`then`] the
//! outcome's assertions; the fact builders, compliant by default, are one
//! module per lifecycle domain ([`projects`], [`land`], [`tenders`], [`review`],
//! [`awards`], [`contracts`]), and [`histories`] the common histories they make. Here:
//! the timeline, ids and organizations they share. Everything is re-exported
//! here, for `use crate::support::*`.

mod awards;
mod contracts;
mod given;
mod histories;
mod land;
mod projects;
mod review;
mod tenders;
mod then;

pub(crate) use gongkai_domain::clock::DAY;
use gongkai_domain::clock::beijing;
use gongkai_proto::v1::{CalendarDate, Organization, Period};
use prost_types::Timestamp;

pub(crate) use awards::*;
pub(crate) use contracts::*;
pub(crate) use given::*;
pub(crate) use histories::*;
pub(crate) use land::*;
pub(crate) use projects::*;
pub(crate) use review::*;
pub(crate) use tenders::*;
pub(crate) use then::*;

pub(crate) const PROJECT: &str = "2017-230113-48-01-012345";
/// 2024-03-01 00:00 in Beijing (UTC+08:00).
const DAY0: i64 = 1_709_222_400 - beijing().local_minus_utc() as i64;
/// Ceiling price of every lot: 5 000 万元.
pub(crate) const CEILING: i64 = 5_000_000_000;
/// Approved total investment: 10 亿元.
pub(crate) const INVESTMENT: i64 = 100_000_000_000;

// ---------------------------------------------------------------------------
// Time, ids, organizations.
// ---------------------------------------------------------------------------

/// Day `n` of the timeline, 00:00 Beijing time.
pub(crate) fn day(n: i64) -> Timestamp {
    Timestamp { seconds: DAY0 + n * DAY, nanos: 0 }
}

/// `ts` moved by `seconds`.
pub(crate) fn plus(ts: Timestamp, seconds: i64) -> Timestamp {
    Timestamp { seconds: ts.seconds + seconds, nanos: ts.nanos }
}

pub(crate) fn date(year: i32, month: i32, day: i32) -> CalendarDate {
    CalendarDate { year, month, day }
}

fn period(start: Timestamp, end: Timestamp) -> Period {
    Period { start: Some(start), end: Some(end) }
}

/// Id of the event at project_seq `seq`.
pub(crate) fn e(seq: usize) -> String {
    format!("e{seq:03}")
}

/// Company number `n`, with a unified social credit code.
pub(crate) fn org(n: u32) -> Organization {
    Organization {
        name: format!("哈尔滨第{n}建设工程有限公司"),
        unified_social_credit_code: format!("91230100MA1B{n:06}"),
        role: 0,
    }
}

fn authority(name: &str) -> Organization {
    Organization { name: name.to_owned(), unified_social_credit_code: "11230100000000000X".to_owned(), role: 0 }
}

fn lot_codes(lots: &[&str]) -> Vec<String> {
    lots.iter().map(|lot| (*lot).to_owned()).collect()
}
