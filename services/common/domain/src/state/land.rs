//! The land part of a project's read model: its expropriations (征收), their
//! compensation, relocation and the EIA approvals, and the totals the bus
//! keeps of them.
//!
//! Every total lies within the money bound ([`crate::money`]): [`LandTotals::after`]
//! is the one place a land fact moves them, used by the fold (which records
//! a [`super::BoundFault`] and keeps the last totals when a fact would carry
//! one past the bound) and by `decide` (which refuses such a fact with
//! `AMOUNT_TOTAL_OUT_OF_BOUNDS`). Nothing here assumes a fact was validated:
//! an event an earlier, laxer version accepted folds without overflowing.

use std::collections::BTreeMap;

use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{
    CompensationAmount, CompensationCategory, ExpropriationKind, HouseholdCompensationPublished, Period,
    RelocationKind, SocialRiskLevel,
};
use prost_types::Timestamp;

use crate::money::checked_sum;

/// The compensation categories, in category order (the number of each is
/// its index + 1).
pub const CATEGORIES: [CompensationCategory; 5] = [
    CompensationCategory::Land,
    CompensationCategory::Resettlement,
    CompensationCategory::Houses,
    CompensationCategory::AttachmentsAndCrops,
    CompensationCategory::SocialSecurity,
];

/// The words for a compensation category, Chinese and English, as the
/// timeline and the site both write them.
pub fn category_words(category: CompensationCategory) -> (&'static str, &'static str) {
    match category {
        CompensationCategory::Unspecified => ("征收补偿费用", "compensation"),
        CompensationCategory::Land => ("土地补偿费", "land compensation"),
        CompensationCategory::Resettlement => ("安置补助费", "resettlement subsidy"),
        CompensationCategory::Houses => ("住宅（房屋）补偿费", "compensation for houses"),
        CompensationCategory::AttachmentsAndCrops => {
            ("地上附着物和青苗补偿费", "compensation for attachments and crops")
        }
        CompensationCategory::SocialSecurity => ("被征地农民社会保障费用", "social security of the farmers"),
    }
}

/// The index of a category in [`CATEGORIES`], when it is one of them.
pub fn category_index(category: i32) -> Option<usize> {
    CATEGORIES.iter().position(|known| *known as i32 == category)
}

/// One expropriation (征收批次/片区) of the project: every fact recorded
/// under its code, as in force.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expropriation {
    /// The expropriation code.
    pub expropriation_code: String,
    /// The ExpropriationPreAnnounced events, in order.
    pub pre_announcement_event_ids: Vec<String>,
    /// Compensation plans published, in order (the last is in force).
    pub plans: Vec<Plan>,
    /// Social stability risk assessments, in order.
    pub assessments: Vec<Assessment>,
    /// The approval or decision, once recorded.
    pub decision: Option<Decision>,
    /// Compensation payments, in order.
    pub payments: Vec<CompensationPayment>,
    /// Per-household results published, in order.
    pub household_results: Vec<HouseholdResults>,
    /// Relocations and demolitions, in order.
    pub relocations: Vec<Relocation>,
}

impl Expropriation {
    /// Whether a pre-announcement, plan, risk assessment or decision opened
    /// it (a relocation alone does not: it is recorded whatever came before).
    pub fn is_opened(&self) -> bool {
        !self.pre_announcement_event_ids.is_empty()
            || !self.plans.is_empty()
            || !self.assessments.is_empty()
            || self.decision.is_some()
    }

    /// The budget of the plan in force (the latest), fen; 0 without one.
    pub fn budget_fen(&self) -> i64 {
        self.plans.last().map_or(0, |plan| plan.budget_fen)
    }
}

/// A compensation and resettlement plan published for comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The CompensationPlanPublished event in force.
    pub event_id: String,
    /// Collective land or houses on state-owned land.
    pub kind: ExpropriationKind,
    /// The comment period.
    pub comment_period: Option<Period>,
    /// Budget the plan states, fen (0 = not stated).
    pub budget_fen: i64,
}

/// A completed social stability risk assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The SocialStabilityRiskAssessed event in force.
    pub event_id: String,
    /// When it was completed.
    pub completed_at: Option<Timestamp>,
    /// Risk level found.
    pub risk_level: SocialRiskLevel,
}

/// The approval or decision of an expropriation.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The ExpropriationDecided event in force.
    pub event_id: String,
    /// Collective land or houses on state-owned land.
    pub kind: ExpropriationKind,
    /// When it was made.
    pub decided_at: Option<Timestamp>,
    /// When it was announced.
    pub announced_at: Option<Timestamp>,
}

/// Compensation of one category paid.
#[derive(Debug, Clone, PartialEq)]
pub struct CompensationPayment {
    /// The CompensationPaid event in force.
    pub event_id: String,
    /// Payment number.
    pub payment_number: String,
    /// Category (the raw enum number).
    pub category: i32,
    /// Amount, fen.
    pub amount_fen: i64,
    /// When it was paid.
    pub paid_at: Option<Timestamp>,
    /// Households covered.
    pub households: i32,
}

/// The totals of one publication of per-household results.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdResults {
    /// The HouseholdCompensationPublished event in force.
    pub event_id: String,
    /// When it was published.
    pub published_at: Option<Timestamp>,
    /// Its totals.
    pub totals: HouseholdTotals,
}

/// A relocation or demolition.
#[derive(Debug, Clone, PartialEq)]
pub struct Relocation {
    /// The RelocationRecorded event in force.
    pub event_id: String,
    /// Relocation or demolition.
    pub kind: RelocationKind,
    /// When it started.
    pub started_at: Option<Timestamp>,
    /// Households relocated or houses demolished.
    pub households: i32,
}

/// What the public may know of one publication of per-household results:
/// how many households, and the amounts summed by category.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HouseholdTotals {
    /// Number of households.
    pub households: u32,
    /// Per category (index as in [`CATEGORIES`]): the amount and the
    /// households with an amount of it.
    pub by_category: [(i64, u32); 5],
    /// Every amount of every household, fen.
    pub total_fen: i64,
}

impl HouseholdTotals {
    /// The totals as the contract's `category_totals`: categories with an
    /// amount, in category order.
    pub fn category_totals(&self) -> Vec<CompensationAmount> {
        CATEGORIES
            .iter()
            .zip(self.by_category)
            .filter(|(_, (fen, households))| *fen != 0 || *households != 0)
            .map(|(category, (fen, _))| CompensationAmount { category: *category as i32, amount_fen: fen })
            .collect()
    }
}

/// Sets the household count and category totals of `fact` from its
/// households, as the public copy shows them (the count alone when a total
/// would leave the money bound).
pub fn set_public_totals(fact: &mut HouseholdCompensationPublished) {
    let totals = household_totals(fact).unwrap_or_else(|| HouseholdTotals {
        households: u32::try_from(fact.households.len()).unwrap_or(u32::MAX),
        ..HouseholdTotals::default()
    });
    fact.household_count = totals.households;
    fact.category_totals = totals.category_totals();
}

/// The totals of `fact`'s households; `None` when a total would leave the
/// money bound. Amounts of a category this version does not know count in
/// the total only.
pub fn household_totals(fact: &HouseholdCompensationPublished) -> Option<HouseholdTotals> {
    let mut totals = HouseholdTotals {
        households: u32::try_from(fact.households.len()).unwrap_or(u32::MAX),
        ..HouseholdTotals::default()
    };
    for household in &fact.households {
        let mut counted = [false; 5];
        for amount in &household.amounts {
            totals.total_fen = checked_sum([totals.total_fen, amount.amount_fen])?;
            if let Some(index) = category_index(amount.category) {
                let (fen, households) = &mut totals.by_category[index];
                *fen = checked_sum([*fen, amount.amount_fen])?;
                if !counted[index] {
                    counted[index] = true;
                    *households = households.saturating_add(1);
                }
            }
        }
    }
    Some(totals)
}

/// Totals over the project's expropriations, each within the money bound.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LandTotals {
    /// Over the expropriations, the budget of the plan in force of each, fen.
    pub budget_fen: i64,
    /// Compensation paid, fen.
    pub paid_fen: i64,
    /// Compensation paid per category (index as in [`CATEGORIES`]), fen.
    pub paid_by_category: [i64; 5],
    /// Published per household, every category, fen.
    pub household_fen: i64,
    /// Published per household, per category, fen.
    pub household_by_category: [i64; 5],
}

impl LandTotals {
    /// The totals once `kind` is recorded after `expropriations`; `Err`
    /// names (in Chinese) the total that would leave the money bound. A fact
    /// that moves no land total gives them unchanged.
    pub fn after(&self, expropriations: &BTreeMap<String, Expropriation>, kind: &Kind) -> Result<Self, &'static str> {
        let mut next = self.clone();
        match kind {
            Kind::CompensationPlanPublished(fact) => {
                let replaced = expropriations.get(&fact.expropriation_code).map_or(0, Expropriation::budget_fen);
                next.budget_fen = replaced
                    .checked_neg()
                    .and_then(|minus| checked_sum([self.budget_fen, minus, fact.compensation_budget_fen]))
                    .ok_or("项目征收补偿安置费用预算合计")?;
            }
            Kind::CompensationPaid(fact) => {
                next.paid_fen = checked_sum([self.paid_fen, fact.amount_fen]).ok_or("项目已支付征收补偿费用合计")?;
                if let Some(index) = category_index(fact.category) {
                    next.paid_by_category[index] = checked_sum([self.paid_by_category[index], fact.amount_fen])
                        .ok_or("项目已支付征收补偿费用分类合计")?;
                }
            }
            Kind::HouseholdCompensationPublished(fact) => {
                let totals = household_totals(fact).ok_or("本次公布的分户补偿金额合计")?;
                next.household_fen =
                    checked_sum([self.household_fen, totals.total_fen]).ok_or("项目分户补偿金额合计")?;
                for (index, (fen, _)) in totals.by_category.iter().enumerate() {
                    next.household_by_category[index] =
                        checked_sum([self.household_by_category[index], *fen]).ok_or("项目分户补偿金额分类合计")?;
                }
            }
            _ => {}
        }
        Ok(next)
    }
}
