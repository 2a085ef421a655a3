//! Builders of the land facts: pre-announcement, compensation plan, risk
//! assessment, decision, compensation paid, per-household results,
//! relocation, and the EIA approval. Expropriation `code` throughout; a
//! compliant order is: pre-announced day 1, assessed day 5, plan open for
//! comment days 6..40, decided day 45, paid day 50, published day 52,
//! relocation day 60.

use gongkai_proto::v1::{
    CompensationAmount, CompensationCategory, CompensationPaid, CompensationPlanPublished, EiaDocumentKind,
    EnvironmentalImpactApproved, ExpropriationDecided, ExpropriationKind, ExpropriationPreAnnounced,
    HouseholdCompensation, HouseholdCompensationPublished, Person, RelocationKind, RelocationRecorded, SocialRiskLevel,
    SocialStabilityRiskAssessed,
};

use super::{authority, day, period};

fn government() -> gongkai_proto::v1::Organization {
    authority("哈尔滨市人民政府")
}

pub(crate) fn pre_announced(code: &str) -> ExpropriationPreAnnounced {
    ExpropriationPreAnnounced {
        expropriation_code: code.to_owned(),
        announced_by: Some(government()),
        announced_at: Some(day(1)),
        scope_description: "双城区新兴村一组、二组".to_owned(),
        land_area_m2: 120_000,
        purpose: "市政道路建设".to_owned(),
        documents: Vec::new(),
    }
}

/// A plan open for comment from day `from` to day `to`, budget 3 000 万元.
pub(crate) fn plan(code: &str, from: i64, to: i64) -> CompensationPlanPublished {
    CompensationPlanPublished {
        expropriation_code: code.to_owned(),
        kind: ExpropriationKind::CollectiveLand as i32,
        title: "新兴大街道路工程征地补偿安置方案".to_owned(),
        summary: "按区片综合地价补偿，货币安置与社保安置相结合".to_owned(),
        comment_period: Some(period(day(from), day(to))),
        hearing_held: false,
        hearing_at: None,
        compensation_budget_fen: 3_000_000_000,
        published_by: Some(government()),
        documents: Vec::new(),
    }
}

pub(crate) fn assessed(code: &str) -> SocialStabilityRiskAssessed {
    SocialStabilityRiskAssessed {
        expropriation_code: code.to_owned(),
        assessed_by: Some(authority("哈尔滨市双城区人民政府")),
        completed_at: Some(day(5)),
        risk_level: SocialRiskLevel::Low as i32,
        conclusion: "风险等级低，可以实施".to_owned(),
        documents: Vec::new(),
    }
}

pub(crate) fn decided(code: &str) -> ExpropriationDecided {
    ExpropriationDecided {
        expropriation_code: code.to_owned(),
        kind: ExpropriationKind::CollectiveLand as i32,
        decided_by: Some(authority("黑龙江省人民政府")),
        document_number: "黑政土〔2024〕56号".to_owned(),
        decided_at: Some(day(45)),
        announced_at: Some(day(46)),
        scope_description: "新兴村一组、二组集体土地".to_owned(),
        land_area_m2: 120_000,
        households: 2,
        remedies: String::new(),
        documents: Vec::new(),
    }
}

/// `amount_fen` of `category` paid on day 50.
pub(crate) fn paid(code: &str, number: &str, category: CompensationCategory, amount_fen: i64) -> CompensationPaid {
    CompensationPaid {
        expropriation_code: code.to_owned(),
        payment_number: number.to_owned(),
        category: category as i32,
        amount_fen,
        paid_at: Some(day(50)),
        households: 2,
        payee: None,
        documents: Vec::new(),
    }
}

/// One household's amounts.
pub(crate) fn household(
    number: &str,
    name: &str,
    id_number: &str,
    amounts: &[(CompensationCategory, i64)],
) -> HouseholdCompensation {
    HouseholdCompensation {
        household_number: number.to_owned(),
        head: Some(Person { name: name.to_owned(), id_number: id_number.to_owned(), ..Person::default() }),
        amounts: amounts
            .iter()
            .map(|(category, fen)| CompensationAmount { category: *category as i32, amount_fen: *fen })
            .collect(),
        resettlement: "货币补偿".to_owned(),
    }
}

/// Two households' results published on day 52.
pub(crate) fn household_results(code: &str) -> HouseholdCompensationPublished {
    use CompensationCategory::{Houses, Land};
    HouseholdCompensationPublished {
        expropriation_code: code.to_owned(),
        published_at: Some(day(52)),
        households: vec![
            household("H001", "王一", "11010519491231002X", &[(Land, 50_000_000), (Houses, 30_000_000)]),
            household("H002", "李二", "440524188001010014", &[(Land, 40_000_000)]),
        ],
        household_count: 0,
        category_totals: Vec::new(),
        documents: Vec::new(),
    }
}

/// Relocation started on day `on`.
pub(crate) fn relocation(code: &str, on: i64) -> RelocationRecorded {
    RelocationRecorded {
        expropriation_code: code.to_owned(),
        kind: RelocationKind::Relocation as i32,
        started_at: Some(day(on)),
        households: 2,
        scope_description: "新兴村一组住户搬迁".to_owned(),
        carried_out_by: None,
        documents: Vec::new(),
    }
}

/// The EIA report approved on day `on`.
pub(crate) fn eia_approved(on: i64) -> EnvironmentalImpactApproved {
    EnvironmentalImpactApproved {
        approving_authority: Some(authority("哈尔滨市生态环境局")),
        document_number: "哈环审〔2024〕15号".to_owned(),
        approved_at: Some(day(on)),
        document_kind: EiaDocumentKind::Report as i32,
        conclusion: "同意项目建设，落实施工期扬尘和噪声防治措施".to_owned(),
        documents: Vec::new(),
    }
}
