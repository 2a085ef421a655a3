//! The field rules of the land expropriation, resettlement and EIA facts,
//! as stated in land.proto (one function per kind, like `facts`).

use gongkai_proto::v1::{
    CompensationCategory, CompensationPaid, CompensationPlanPublished, EiaDocumentKind, EnvironmentalImpactApproved,
    ExpropriationDecided, ExpropriationKind, ExpropriationPreAnnounced, HouseholdCompensationPublished, RelocationKind,
    RelocationRecorded, SocialRiskLevel, SocialStabilityRiskAssessed,
};

use super::Checker;
use super::formats::{LIST_MAX, NAME_MAX, TEXT_MAX};
use super::values::Presence::{Optional, Required};
use super::values::{duplicate_of, enum_value};
use crate::clock::moment;

/// The largest land area a fact may state, square metres: 10^13 m², more
/// than China's whole land area (9.6 × 10^12 m²).
const MAX_AREA_M2: i64 = 10_000_000_000_000;
/// The largest number of households a fact may state.
const MAX_HOUSEHOLDS: i64 = 10_000_000;

pub(super) fn expropriation_pre_announced(c: &mut Checker<'_>, f: &ExpropriationPreAnnounced) {
    c.code("expropriation_code", &f.expropriation_code, Required);
    c.organization("announced_by", f.announced_by.as_ref(), Required);
    c.instant("announced_at", f.announced_at.as_ref(), Required);
    c.text("scope_description", &f.scope_description, TEXT_MAX, Required);
    c.at_most("land_area_m2", f.land_area_m2, MAX_AREA_M2);
    c.text("purpose", &f.purpose, TEXT_MAX, Required);
    c.documents(&f.documents);
}

pub(super) fn compensation_plan_published(c: &mut Checker<'_>, f: &CompensationPlanPublished) {
    c.code("expropriation_code", &f.expropriation_code, Required);
    c.enumeration::<ExpropriationKind>("kind", f.kind, Required);
    c.text("title", &f.title, NAME_MAX, Required);
    c.text("summary", &f.summary, TEXT_MAX, Required);
    c.period("comment_period", f.comment_period.as_ref());
    if f.hearing_held {
        c.instant("hearing_at", f.hearing_at.as_ref(), Required);
    } else if c.present("hearing_at", f.hearing_at.as_ref(), Optional).is_some() {
        c.check("hearing_at", Err("未举行听证会（hearing_held 为 false）时不应填写".into()));
    }
    c.fen("compensation_budget_fen", f.compensation_budget_fen);
    c.organization("published_by", f.published_by.as_ref(), Required);
    c.documents(&f.documents);
}

pub(super) fn social_stability_risk_assessed(c: &mut Checker<'_>, f: &SocialStabilityRiskAssessed) {
    c.code("expropriation_code", &f.expropriation_code, Required);
    c.organization("assessed_by", f.assessed_by.as_ref(), Required);
    c.instant("completed_at", f.completed_at.as_ref(), Required);
    c.enumeration::<SocialRiskLevel>("risk_level", f.risk_level, Required);
    c.text("conclusion", &f.conclusion, TEXT_MAX, Required);
    c.documents(&f.documents);
}

pub(super) fn expropriation_decided(c: &mut Checker<'_>, f: &ExpropriationDecided) {
    c.code("expropriation_code", &f.expropriation_code, Required);
    c.enumeration::<ExpropriationKind>("kind", f.kind, Required);
    c.organization("decided_by", f.decided_by.as_ref(), Required);
    c.text("document_number", &f.document_number, NAME_MAX, Required);
    let decided = c.instant("decided_at", f.decided_at.as_ref(), Required);
    let announced = c.instant("announced_at", f.announced_at.as_ref(), Required);
    c.not_before("announced_at", announced.map(moment), decided.map(moment), "批准或决定时间 (decided_at)");
    c.text("scope_description", &f.scope_description, TEXT_MAX, Required);
    c.at_most("land_area_m2", f.land_area_m2, MAX_AREA_M2);
    c.at_most("households", f.households.into(), MAX_HOUSEHOLDS);
    c.text("remedies", &f.remedies, TEXT_MAX, Optional);
    c.documents(&f.documents);
}

pub(super) fn compensation_paid(c: &mut Checker<'_>, f: &CompensationPaid) {
    c.code("expropriation_code", &f.expropriation_code, Required);
    c.code("payment_number", &f.payment_number, Required);
    c.enumeration::<CompensationCategory>("category", f.category, Required);
    c.positive_fen("amount_fen", f.amount_fen);
    c.instant("paid_at", f.paid_at.as_ref(), Required);
    c.at_most("households", f.households.into(), MAX_HOUSEHOLDS);
    c.organization("payee", f.payee.as_ref(), Optional);
    c.documents(&f.documents);
}

pub(super) fn household_compensation_published(c: &mut Checker<'_>, f: &HouseholdCompensationPublished) {
    c.code("expropriation_code", &f.expropriation_code, Required);
    c.instant("published_at", f.published_at.as_ref(), Required);
    if c.count("households", f.households.len(), 1, LIST_MAX) {
        for (i, household) in f.households.iter().enumerate() {
            let mut h = c.item("households", i);
            let numbers = f.households[..i].iter().map(|other| &other.household_number);
            let unique = match numbers.clone().position(|other| *other == household.household_number) {
                Some(first) => Err(format!("与 households[{first}].household_number 重复")),
                None => Ok(()),
            };
            h.check("household_number", super::formats::code(&household.household_number).and(unique));
            h.person("head", household.head.as_ref(), Required);
            if h.count("amounts", household.amounts.len(), 1, LIST_MAX) {
                let categories: Vec<i32> = household.amounts.iter().map(|amount| amount.category).collect();
                for (j, amount) in household.amounts.iter().enumerate() {
                    let mut a = h.item("amounts", j);
                    let category = enum_value::<CompensationCategory>(amount.category, Required)
                        .and_then(|()| duplicate_of(&categories[..j], &amount.category, "amounts"));
                    a.check("category", category);
                    a.fen("amount_fen", amount.amount_fen);
                }
            }
            h.text("resettlement", &household.resettlement, NAME_MAX, Optional);
        }
    }
    if f.household_count != 0 {
        c.check("household_count", Err("由系统计算，提交时须为 0".into()));
    }
    if !f.category_totals.is_empty() {
        c.check("category_totals", Err("由系统计算，提交时须留空".into()));
    }
    c.documents(&f.documents);
}

pub(super) fn relocation_recorded(c: &mut Checker<'_>, f: &RelocationRecorded) {
    c.code("expropriation_code", &f.expropriation_code, Required);
    c.enumeration::<RelocationKind>("kind", f.kind, Required);
    c.instant("started_at", f.started_at.as_ref(), Required);
    c.at_most("households", f.households.into(), MAX_HOUSEHOLDS);
    c.text("scope_description", &f.scope_description, TEXT_MAX, Required);
    c.organization("carried_out_by", f.carried_out_by.as_ref(), Optional);
    c.documents(&f.documents);
}

pub(super) fn environmental_impact_approved(c: &mut Checker<'_>, f: &EnvironmentalImpactApproved) {
    c.organization("approving_authority", f.approving_authority.as_ref(), Required);
    c.text("document_number", &f.document_number, NAME_MAX, Required);
    c.instant("approved_at", f.approved_at.as_ref(), Required);
    c.enumeration::<EiaDocumentKind>("document_kind", f.document_kind, Required);
    c.text("conclusion", &f.conclusion, TEXT_MAX, Required);
    c.documents(&f.documents);
}
