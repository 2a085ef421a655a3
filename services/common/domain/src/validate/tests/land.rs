//! The land facts' valid fixtures and broken fields, which the parent's
//! tests run with every other kind's.

use super::*;

fn pre_announced() -> ExpropriationPreAnnounced {
    ExpropriationPreAnnounced {
        expropriation_code: "ZD-2024-01".into(),
        announced_by: some_org("哈尔滨市人民政府"),
        announced_at: may(2, 1),
        scope_description: "双城区新兴村一组、二组".into(),
        land_area_m2: 120_000,
        purpose: "市政道路建设".into(),
        documents: documents(DocumentType::ExpropriationNotice),
    }
}

fn plan() -> CompensationPlanPublished {
    CompensationPlanPublished {
        expropriation_code: "ZD-2024-01".into(),
        kind: ExpropriationKind::CollectiveLand as i32,
        title: "征地补偿安置方案".into(),
        summary: "按区片综合地价补偿".into(),
        comment_period: Some(Period { start: may(3, 0), end: may(30, 0) }),
        hearing_held: true,
        hearing_at: may(20, 2),
        compensation_budget_fen: 3_000_000_000,
        published_by: some_org("哈尔滨市双城区人民政府"),
        documents: documents(DocumentType::CompensationPlan),
    }
}

fn assessed() -> SocialStabilityRiskAssessed {
    SocialStabilityRiskAssessed {
        expropriation_code: "ZD-2024-01".into(),
        assessed_by: some_org("哈尔滨市双城区人民政府"),
        completed_at: may(2, 3),
        risk_level: SocialRiskLevel::Low as i32,
        conclusion: "风险等级低".into(),
        documents: documents(DocumentType::SocialRiskAssessment),
    }
}

fn decided() -> ExpropriationDecided {
    ExpropriationDecided {
        expropriation_code: "ZD-2024-01".into(),
        kind: ExpropriationKind::CollectiveLand as i32,
        decided_by: some_org("黑龙江省人民政府"),
        document_number: "黑政土〔2024〕56号".into(),
        decided_at: may(30, 1),
        announced_at: may(30, 5),
        scope_description: "新兴村一组、二组集体土地".into(),
        land_area_m2: 120_000,
        households: 40,
        remedies: "可于六十日内申请行政复议".into(),
        documents: documents(DocumentType::ExpropriationNotice),
    }
}

fn paid() -> CompensationPaid {
    CompensationPaid {
        expropriation_code: "ZD-2024-01".into(),
        payment_number: "BC-1".into(),
        category: CompensationCategory::Land as i32,
        amount_fen: 1_000_000_000,
        paid_at: may(31, 2),
        households: 40,
        payee: some_org("新兴村股份经济合作社"),
        documents: documents(DocumentType::CompensationPlan),
    }
}

fn household(number: &str) -> HouseholdCompensation {
    HouseholdCompensation {
        household_number: number.into(),
        head: Some(person()),
        amounts: vec![
            CompensationAmount { category: CompensationCategory::Land as i32, amount_fen: 50_000_000 },
            CompensationAmount { category: CompensationCategory::Houses as i32, amount_fen: 30_000_000 },
        ],
        resettlement: "货币补偿".into(),
    }
}

fn household_results() -> HouseholdCompensationPublished {
    HouseholdCompensationPublished {
        expropriation_code: "ZD-2024-01".into(),
        published_at: may(31, 3),
        households: vec![household("H001"), household("H002")],
        household_count: 0,
        category_totals: Vec::new(),
        documents: documents(DocumentType::CompensationPlan),
    }
}

fn relocation() -> RelocationRecorded {
    RelocationRecorded {
        expropriation_code: "ZD-2024-01".into(),
        kind: RelocationKind::Demolition as i32,
        started_at: may(31, 6),
        households: 40,
        scope_description: "新兴村一组房屋拆除".into(),
        carried_out_by: some_org("哈尔滨市双城区房屋征收办公室"),
        documents: documents(DocumentType::Notice),
    }
}

fn eia_approved() -> EnvironmentalImpactApproved {
    EnvironmentalImpactApproved {
        approving_authority: some_org("哈尔滨市生态环境局"),
        document_number: "哈环审〔2024〕15号".into(),
        approved_at: may(10, 2),
        document_kind: EiaDocumentKind::Report as i32,
        conclusion: "同意项目建设".into(),
        documents: documents(DocumentType::EnvironmentalImpact),
    }
}

/// A valid fact of each land kind.
pub(super) fn valid_kinds() -> Vec<Kind> {
    vec![
        Kind::ExpropriationPreAnnounced(pre_announced()),
        Kind::CompensationPlanPublished(plan()),
        Kind::CompensationPlanPublished(with(plan(), |f| {
            f.hearing_held = false;
            f.hearing_at = None;
            f.compensation_budget_fen = 0;
        })),
        Kind::SocialStabilityRiskAssessed(assessed()),
        Kind::ExpropriationDecided(decided()),
        Kind::CompensationPaid(paid()),
        Kind::HouseholdCompensationPublished(household_results()),
        Kind::RelocationRecorded(relocation()),
        Kind::EnvironmentalImpactApproved(eia_approved()),
    ]
}

/// One broken field per row of each land kind; the path is the one reported.
pub(super) fn broken_fields() -> Vec<(Kind, &'static str)> {
    use Kind as K;
    vec![
        // ExpropriationPreAnnounced
        case(
            pre_announced(),
            K::ExpropriationPreAnnounced,
            |f| f.expropriation_code.clear(),
            "fact.expropriation_code",
        ),
        case(pre_announced(), K::ExpropriationPreAnnounced, |f| f.announced_by = None, "fact.announced_by"),
        case(pre_announced(), K::ExpropriationPreAnnounced, |f| f.announced_at = None, "fact.announced_at"),
        case(pre_announced(), K::ExpropriationPreAnnounced, |f| f.land_area_m2 = -1, "fact.land_area_m2"),
        case(pre_announced(), K::ExpropriationPreAnnounced, |f| f.purpose = " ".into(), "fact.purpose"),
        // CompensationPlanPublished
        case(plan(), K::CompensationPlanPublished, |f| f.kind = 0, "fact.kind"),
        case(plan(), K::CompensationPlanPublished, |f| f.title.clear(), "fact.title"),
        case(plan(), K::CompensationPlanPublished, |f| f.comment_period = None, "fact.comment_period"),
        case(
            plan(),
            K::CompensationPlanPublished,
            |f| f.comment_period.as_mut().unwrap().end = may(1, 0),
            "fact.comment_period.end",
        ),
        case(plan(), K::CompensationPlanPublished, |f| f.hearing_at = None, "fact.hearing_at"),
        case(plan(), K::CompensationPlanPublished, |f| f.hearing_held = false, "fact.hearing_at"),
        case(plan(), K::CompensationPlanPublished, |f| f.compensation_budget_fen = -1, "fact.compensation_budget_fen"),
        case(plan(), K::CompensationPlanPublished, |f| f.published_by = None, "fact.published_by"),
        // SocialStabilityRiskAssessed
        case(assessed(), K::SocialStabilityRiskAssessed, |f| f.risk_level = 0, "fact.risk_level"),
        case(assessed(), K::SocialStabilityRiskAssessed, |f| f.completed_at = None, "fact.completed_at"),
        case(assessed(), K::SocialStabilityRiskAssessed, |f| f.conclusion.clear(), "fact.conclusion"),
        // ExpropriationDecided
        case(decided(), K::ExpropriationDecided, |f| f.document_number.clear(), "fact.document_number"),
        case(decided(), K::ExpropriationDecided, |f| f.announced_at = may(29, 0), "fact.announced_at"),
        case(decided(), K::ExpropriationDecided, |f| f.households = -1, "fact.households"),
        case(decided(), K::ExpropriationDecided, |f| f.decided_by = None, "fact.decided_by"),
        // CompensationPaid
        case(paid(), K::CompensationPaid, |f| f.amount_fen = 0, "fact.amount_fen"),
        case(paid(), K::CompensationPaid, |f| f.category = 0, "fact.category"),
        case(paid(), K::CompensationPaid, |f| f.payment_number.clear(), "fact.payment_number"),
        case(paid(), K::CompensationPaid, |f| f.payee.as_mut().unwrap().name.clear(), "fact.payee.name"),
        // HouseholdCompensationPublished
        case(household_results(), K::HouseholdCompensationPublished, |f| f.households.clear(), "fact.households"),
        case(
            household_results(),
            K::HouseholdCompensationPublished,
            |f| f.households[1].household_number = "H001".into(),
            "fact.households[1].household_number",
        ),
        case(
            household_results(),
            K::HouseholdCompensationPublished,
            |f| f.households[0].head = None,
            "fact.households[0].head",
        ),
        case(
            household_results(),
            K::HouseholdCompensationPublished,
            |f| f.households[0].head.as_mut().unwrap().id_number = "110105194912310020".into(),
            "fact.households[0].head.id_number",
        ),
        case(
            household_results(),
            K::HouseholdCompensationPublished,
            |f| f.households[0].amounts.clear(),
            "fact.households[0].amounts",
        ),
        case(
            household_results(),
            K::HouseholdCompensationPublished,
            |f| f.households[0].amounts[1].category = CompensationCategory::Land as i32,
            "fact.households[0].amounts[1].category",
        ),
        case(
            household_results(),
            K::HouseholdCompensationPublished,
            |f| f.households[0].amounts[0].amount_fen = -1,
            "fact.households[0].amounts[0].amount_fen",
        ),
        case(household_results(), K::HouseholdCompensationPublished, |f| f.household_count = 2, "fact.household_count"),
        case(
            household_results(),
            K::HouseholdCompensationPublished,
            |f| f.category_totals = vec![CompensationAmount { category: 1, amount_fen: 1 }],
            "fact.category_totals",
        ),
        // RelocationRecorded
        case(relocation(), K::RelocationRecorded, |f| f.kind = 0, "fact.kind"),
        case(relocation(), K::RelocationRecorded, |f| f.started_at = None, "fact.started_at"),
        case(relocation(), K::RelocationRecorded, |f| f.scope_description.clear(), "fact.scope_description"),
        // EnvironmentalImpactApproved
        case(eia_approved(), K::EnvironmentalImpactApproved, |f| f.document_kind = 0, "fact.document_kind"),
        case(
            eia_approved(),
            K::EnvironmentalImpactApproved,
            |f| f.approving_authority = None,
            "fact.approving_authority",
        ),
        case(eia_approved(), K::EnvironmentalImpactApproved, |f| f.approved_at = None, "fact.approved_at"),
    ]
}
