//! The shared messages of common.proto and the shapes every fact uses:
//! required fields, money, basis points, enums, lists, instants, periods,
//! dates, organizations, people, places and document references.

use chrono::NaiveDate;
use gongkai_proto::v1::{
    CalendarDate, DateRange, DocumentRef, DocumentType, Location, Organization, PartyRole, Period, Person,
};
use prost_types::Timestamp;

use super::Checker;
use super::formats::{self, DOCUMENTS_MAX, LIST_MAX, NAME_MAX, Outcome};
use crate::clock::moment;

/// Whether a field must be set. An optional message equal to its default
/// (all fields empty) counts as unset: some clients always send sub-messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Presence {
    /// Must be set (non-empty text, non-zero enum, present message).
    Required,
    /// Validated only when set.
    Optional,
}

use Presence::{Optional, Required};

const EMPTY: &str = "不能为空";

/// An optional message, unless it is all defaults.
fn given<T: Default + PartialEq>(value: Option<&T>) -> Option<&T> {
    value.filter(|value| **value != T::default())
}

impl Checker<'_> {
    /// `value` when set; reports `field` as missing when it is required and unset.
    pub(super) fn present<'v, T: Default + PartialEq>(
        &mut self,
        field: &str,
        value: Option<&'v T>,
        presence: Presence,
    ) -> Option<&'v T> {
        match presence {
            Required if value.is_none() => {
                self.check(field, Err(EMPTY.into()));
                None
            }
            Required => value,
            Optional => given(value),
        }
    }

    /// Text of at most `max` characters; non-blank when required.
    pub(super) fn text(&mut self, field: &str, value: &str, max: usize, presence: Presence) {
        let outcome = match presence {
            Required => formats::required_text(value, max),
            Optional => formats::optional_text(value, max),
        };
        self.check(field, outcome);
    }

    /// A trading-center code (tender, lot, contract, milestone, ...); an
    /// optional one only when non-empty.
    pub(super) fn code(&mut self, field: &str, value: &str, presence: Presence) {
        if presence == Required || !value.is_empty() {
            self.check(field, formats::code(value));
        }
    }

    /// An event id (UUIDv7); an optional one only when non-empty.
    pub(super) fn event_id(&mut self, field: &str, value: &str, presence: Presence) {
        if presence == Required && value.is_empty() {
            self.check(field, Err(EMPTY.into()));
        } else if !value.is_empty() {
            self.check(field, formats::event_id(value));
        }
    }

    /// An amount in fen, `0..=AMOUNT_MAX_FEN`.
    pub(super) fn fen(&mut self, field: &str, value: i64) {
        if value < 0 {
            self.check(field, Err("不得为负数".into()));
        } else {
            self.check(field, amount_bound(value));
        }
    }

    /// An amount in fen that must be > 0 (investment, payment, penalty,
    /// ceiling price), at most `AMOUNT_MAX_FEN`.
    pub(super) fn positive_fen(&mut self, field: &str, value: i64) {
        if value <= 0 {
            self.check(field, Err("必须大于 0".into()));
        } else {
            self.check(field, amount_bound(value));
        }
    }

    /// A signed change in fen, within ±`AMOUNT_MAX_FEN`.
    pub(super) fn signed_fen(&mut self, field: &str, value: i64) {
        self.check(field, amount_bound(value));
    }

    /// A count that must be in `1..=max` (months, days).
    pub(super) fn positive(&mut self, field: &str, value: i64, max: i64) {
        if value <= 0 {
            self.check(field, Err("必须大于 0".into()));
        } else if value > max {
            self.check(field, Err(format!("不得超过 {max}")));
        }
    }

    /// A count or measure that must be in `0..=max` (0 = not stated).
    pub(super) fn at_most(&mut self, field: &str, value: i64, max: i64) {
        if !(0..=max).contains(&value) {
            self.check(field, Err(format!("应在 0 至 {max} 之间")));
        }
    }

    /// A share in basis points, 0..=10000.
    pub(super) fn basis_points(&mut self, field: &str, value: i32) {
        if !(0..=10_000).contains(&value) {
            self.check(field, Err("基点数应在 0 至 10000 之间".into()));
        }
    }

    /// An enum value: known to this version of the contract and, when
    /// required, not UNSPECIFIED (0).
    pub(super) fn enumeration<E: TryFrom<i32>>(&mut self, field: &str, value: i32, presence: Presence) {
        self.check(field, enum_value::<E>(value, presence));
    }

    /// The entry count of a repeated field, `min..=max`. Returns whether the
    /// entries are worth checking one by one (not when there are too many).
    pub(super) fn count(&mut self, field: &str, len: usize, min: usize, max: usize) -> bool {
        if len > max {
            self.check(field, Err(format!("最多 {max} 项，实有 {len} 项")));
            return false;
        }
        if len < min {
            self.check(field, Err(format!("至少需要 {min} 项")));
        }
        true
    }

    /// A list of codes referring to lots or contracts: `min..=1000` entries,
    /// each a code, no duplicates.
    pub(super) fn codes(&mut self, field: &str, values: &[String], min: usize) {
        if !self.count(field, values.len(), min, LIST_MAX) {
            return;
        }
        for (i, value) in values.iter().enumerate() {
            let outcome = formats::code(value).and_then(|()| duplicate_of(&values[..i], value, field));
            self.item(field, i).fail_on(outcome);
        }
    }

    /// Reports this checker's own field when `outcome` names a problem.
    pub(super) fn fail_on(&mut self, outcome: Outcome) {
        if let Err(description) = outcome {
            self.fail(description);
        }
    }

    /// An instant; returns it when set and valid.
    pub(super) fn instant<'v>(
        &mut self,
        field: &str,
        value: Option<&'v Timestamp>,
        presence: Presence,
    ) -> Option<&'v Timestamp> {
        let value = self.present(field, value, presence)?;
        let outcome = formats::instant(value);
        let valid = outcome.is_ok();
        self.check(field, outcome);
        valid.then_some(value)
    }

    /// A required window between two instants: both ends set and valid, the
    /// end not before the start. Returns its ends when they are.
    pub(super) fn period<'v>(
        &mut self,
        field: &str,
        value: Option<&'v Period>,
    ) -> Option<(&'v Timestamp, &'v Timestamp)> {
        let period = self.present(field, value, Required)?;
        let mut c = self.at(field);
        let start = c.instant("start", period.start.as_ref(), Required);
        let end = c.instant("end", period.end.as_ref(), Required);
        let (start, end) = (start?, end?);
        if moment(end) < moment(start) {
            c.check("end", Err("结束时间不得早于开始时间".into()));
            return None;
        }
        Some((start, end))
    }

    /// Reports `field` when `value` comes before `bound`, the time `what`
    /// names (both when set and valid): one fact's own times that cannot all
    /// be true. Instants compare as [`moment`]s, days as Beijing days.
    pub(super) fn not_before<T: PartialOrd>(&mut self, field: &str, value: Option<T>, bound: Option<T>, what: &str) {
        if let (Some(value), Some(bound)) = (value, bound)
            && value < bound
        {
            self.check(field, Err(format!("不得早于{what}")));
        }
    }

    /// Reports `field` when `value` comes after `bound` (see [`Self::not_before`]).
    pub(super) fn not_after<T: PartialOrd>(&mut self, field: &str, value: Option<T>, bound: Option<T>, what: &str) {
        if let (Some(value), Some(bound)) = (value, bound)
            && value > bound
        {
            self.check(field, Err(format!("不得晚于{what}")));
        }
    }

    /// A calendar date; returns it when set and valid.
    pub(super) fn date(&mut self, field: &str, value: Option<&CalendarDate>, presence: Presence) -> Option<NaiveDate> {
        let value = self.present(field, value, presence)?;
        let date = formats::calendar_date(value);
        self.check(field, date.as_ref().map(|_| ()).map_err(String::clone));
        date.ok()
    }

    /// A span of calendar days: both ends valid, the end not before the
    /// start. Returns its ends when they are.
    pub(super) fn date_range(
        &mut self,
        field: &str,
        value: Option<&DateRange>,
        presence: Presence,
    ) -> Option<(NaiveDate, NaiveDate)> {
        let range = self.present(field, value, presence)?;
        let mut c = self.at(field);
        let start = c.date("start", range.start.as_ref(), Required);
        let end = c.date("end", range.end.as_ref(), Required);
        let (start, end) = (start?, end?);
        if end < start {
            c.check("end", Err("结束日期不得早于开始日期".into()));
            return None;
        }
        Some((start, end))
    }

    /// An organization: a name, a valid credit code when it has one, a known role.
    pub(super) fn organization(&mut self, field: &str, value: Option<&Organization>, presence: Presence) {
        let Some(organization) = self.present(field, value, presence) else { return };
        self.at(field).organization_fields(organization);
    }

    /// Entry `index` of a list of organizations.
    pub(super) fn organization_item(&mut self, field: &str, index: usize, organization: &Organization) {
        self.item(field, index).organization_fields(organization);
    }

    fn organization_fields(&mut self, organization: &Organization) {
        self.text("name", &organization.name, NAME_MAX, Required);
        if !organization.unified_social_credit_code.is_empty() {
            self.check("unified_social_credit_code", formats::credit_code(&organization.unified_social_credit_code));
        }
        self.enumeration::<PartyRole>("role", organization.role, Optional);
    }

    /// A list of organizations, `min..=1000` entries.
    pub(super) fn organizations(&mut self, field: &str, values: &[Organization], min: usize) {
        if self.count(field, values.len(), min, LIST_MAX) {
            for (i, organization) in values.iter().enumerate() {
                self.organization_item(field, i, organization);
            }
        }
    }

    /// A natural person: a name; ID number and phone in their formats when given.
    pub(super) fn person(&mut self, field: &str, value: Option<&Person>, presence: Presence) {
        let Some(person) = self.present(field, value, presence) else { return };
        self.at(field).person_fields(person);
    }

    /// A list of people, at most 1000.
    pub(super) fn people(&mut self, field: &str, values: &[Person]) {
        if self.count(field, values.len(), 0, LIST_MAX) {
            for (i, person) in values.iter().enumerate() {
                self.item(field, i).person_fields(person);
            }
        }
    }

    fn person_fields(&mut self, person: &Person) {
        self.text("name", &person.name, NAME_MAX, Required);
        if !person.id_number.is_empty() {
            self.check("id_number", formats::id_number(&person.id_number));
        }
        if !person.phone.is_empty() {
            self.check("phone", formats::phone(&person.phone));
        }
        self.text("role", &person.role, NAME_MAX, Optional);
        self.text("certificate_number", &person.certificate_number, NAME_MAX, Optional);
        self.text("employer", &person.employer, NAME_MAX, Optional);
    }

    /// A place: a region code, an address, coordinates set together.
    pub(super) fn location(&mut self, field: &str, value: Option<&Location>, presence: Presence) {
        let Some(location) = self.present(field, value, presence) else { return };
        let mut c = self.at(field);
        c.check("region_code", region_code(&location.region_code));
        c.text("address", &location.address, NAME_MAX, Optional);
        for (name, value, other, limit) in [
            ("latitude", &location.latitude, &location.longitude, 90),
            ("longitude", &location.longitude, &location.latitude, 180),
        ] {
            if !value.is_empty() {
                c.check(name, formats::degrees(value, limit));
            } else if !other.is_empty() {
                c.check(name, Err("经度和纬度须同时填写".into()));
            }
        }
    }

    /// The documents of a fact: at most 100, each a complete reference.
    pub(super) fn documents(&mut self, values: &[DocumentRef]) {
        const FIELD: &str = "documents";
        if !self.count(FIELD, values.len(), 0, DOCUMENTS_MAX) {
            return;
        }
        for (i, document) in values.iter().enumerate() {
            let mut c = self.item(FIELD, i);
            c.text("title", &document.title, NAME_MAX, Required);
            c.enumeration::<DocumentType>("type", document.r#type, Required);
            c.check("url", formats::url(&document.url));
            c.check("sha256", formats::sha256(&document.sha256));
            c.instant("published_at", document.published_at.as_ref(), Required);
        }
    }
}

/// See [`Checker::enumeration`].
pub(super) fn enum_value<E: TryFrom<i32>>(value: i32, presence: Presence) -> Outcome {
    if E::try_from(value).is_err() {
        return Err(format!("未知的枚举值 {value}"));
    }
    if presence == Required && value == 0 {
        return Err("不能为空（未指定）".into());
    }
    Ok(())
}

/// An amount or change within ±`AMOUNT_MAX_FEN` (see [`crate::money`]).
fn amount_bound(fen: i64) -> Outcome {
    if crate::money::within_bound(fen) {
        Ok(())
    } else {
        Err(format!("金额绝对值不得超过 {} 分（10 万亿元）", crate::money::AMOUNT_MAX_FEN))
    }
}

/// A 6-digit administrative division code with a real province prefix.
pub(super) fn region_code(value: &str) -> Outcome {
    if value.is_empty() {
        return Err(EMPTY.into());
    }
    if !crate::codes::is_region_code(value) {
        return Err("应为 6 位行政区划代码（GB/T 2260）".into());
    }
    Ok(())
}

/// A problem when `value` already occurs in `earlier` (entries of `field`).
pub(super) fn duplicate_of<T: PartialEq>(earlier: &[T], value: &T, field: &str) -> Outcome {
    match earlier.iter().position(|other| other == value) {
        Some(first) => Err(format!("与 {field}[{first}] 重复")),
        None => Ok(()),
    }
}
