//! A PPP project that needs land: the lawful lifecycle with land
//! expropriation, resettlement and the start of operation.
//!
//! [`expropriation_lifecycle`] is [`ppp_lifecycle`] (whose EIA approval
//! comes before the works start) with, after the PPP details, the
//! expropriation of collective land for the treatment plant: pre-announced,
//! assessed, a plan open 32 days with a hearing, approved, compensation of
//! every category paid, per-household results published, relocation after
//! the payments; and, after the completion acceptance, the start of
//! operation under the PPP project agreement. Every step respects the law,
//! so it raises no compliance flag either.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gongkai_proto::v1 as pb;

use crate::{PppLifecycle, Request, doc, org, ppp_lifecycle, ts};

/// The expropriation code of the lifecycle's land.
pub const EXPROPRIATION_CODE: &str = "ZD-2024-01";

/// A valid 18-character resident identity card number made from `seed`
/// (division 230113, born 1965-03-12, check character verified).
pub fn resident_id(seed: u32) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECKS: &[u8; 11] = b"10X98765432";
    let body = format!("23011319650312{:03}", seed % 1000);
    let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{body}{}", CHECKS[(sum % 11) as usize] as char)
}

/// The EIA report of the treatment plant approved at `approved_at`.
pub fn eia_approved(approved_at: DateTime<Utc>) -> pb::EnvironmentalImpactApproved {
    pb::EnvironmentalImpactApproved {
        approving_authority: Some(org("哈尔滨市生态环境局", 410)),
        document_number: "哈环审〔2024〕15号".into(),
        approved_at: Some(ts(approved_at)),
        document_kind: pb::EiaDocumentKind::Report as i32,
        conclusion: "同意项目建设，落实施工期扬尘、噪声防治和尾水达标排放措施".into(),
        documents: vec![doc("环境影响报告书批复", pb::DocumentType::EnvironmentalImpact, approved_at)],
    }
}

/// The households whose compensation the lifecycle publishes.
fn households() -> Vec<pb::HouseholdCompensation> {
    use pb::CompensationCategory::{AttachmentsAndCrops, Houses, Land, Resettlement};
    let amounts = |list: &[(pb::CompensationCategory, i64)]| {
        list.iter()
            .map(|(category, fen)| pb::CompensationAmount { category: *category as i32, amount_fen: *fen })
            .collect()
    };
    [
        ("H001", "王建国", amounts(&[(Land, 42_000_000), (Resettlement, 18_000_000), (Houses, 65_000_000)])),
        (
            "H002",
            "李秀英",
            amounts(&[(Land, 38_000_000), (Resettlement, 16_000_000), (AttachmentsAndCrops, 2_500_000)]),
        ),
        ("H003", "张志强", amounts(&[(Land, 40_000_000), (Resettlement, 17_000_000), (Houses, 58_000_000)])),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (number, name, amounts))| pb::HouseholdCompensation {
        household_number: number.into(),
        head: Some(pb::Person {
            name: name.into(),
            id_number: resident_id(i as u32 + 1),
            phone: format!("1390451000{i}"),
            role: "户主".into(),
            ..Default::default()
        }),
        amounts,
        resettlement: "货币补偿".into(),
    })
    .collect()
}

/// The land requests, before the tender (`t0` is the tender notice).
fn land_requests(project_code: &str, request_prefix: &str, t0: DateTime<Utc>) -> Vec<Request> {
    let day = Duration::days(1);
    let city = org("哈尔滨市人民政府", 2);
    let code = EXPROPRIATION_CODE.to_owned();
    let mut n = 0;
    let mut next_id = || {
        n += 1;
        format!("{request_prefix}-land-{n}")
    };
    let mut requests = Vec::new();
    macro_rules! push {
        ($variant:ident, $request:ident, $at:expr, $fact:expr) => {
            requests.push(Request::$variant(pb::$request {
                request_id: next_id(),
                project_code: project_code.to_owned(),
                occurred_at: Some(ts($at)),
                fact: Some($fact),
            }))
        };
    }
    push!(
        PreAnnounceExpropriation,
        PreAnnounceExpropriationRequest,
        t0 - day * 58,
        pb::ExpropriationPreAnnounced {
            expropriation_code: code.clone(),
            announced_by: Some(city.clone()),
            announced_at: Some(ts(t0 - day * 58)),
            scope_description: "双城区新兴街道新兴村一组、二组".into(),
            land_area_m2: 86_000,
            purpose: "建设双城区污水处理厂（公共基础设施）".into(),
            documents: vec![doc("征收土地预公告", pb::DocumentType::ExpropriationNotice, t0 - day * 58)],
        }
    );
    push!(
        RecordRiskAssessment,
        RecordRiskAssessmentRequest,
        t0 - day * 52,
        pb::SocialStabilityRiskAssessed {
            expropriation_code: code.clone(),
            assessed_by: Some(org("哈尔滨市双城区人民政府", 3)),
            completed_at: Some(ts(t0 - day * 52)),
            risk_level: pb::SocialRiskLevel::Low as i32,
            conclusion: "群众支持率高，风险等级为低风险，可以实施".into(),
            documents: vec![doc("社会稳定风险评估报告", pb::DocumentType::SocialRiskAssessment, t0 - day * 52)],
        }
    );
    push!(
        PublishCompensationPlan,
        PublishCompensationPlanRequest,
        t0 - day * 50,
        pb::CompensationPlanPublished {
            expropriation_code: code.clone(),
            kind: pb::ExpropriationKind::CollectiveLand as i32,
            title: "双城区污水处理厂项目征地补偿安置方案".into(),
            summary: "按区片综合地价补偿，货币安置，被征地农民纳入社会保障".into(),
            comment_period: Some(pb::Period { start: Some(ts(t0 - day * 50)), end: Some(ts(t0 - day * 18)) }),
            hearing_held: true,
            hearing_at: Some(ts(t0 - day * 30)),
            compensation_budget_fen: 1_200_000_000,
            published_by: Some(city.clone()),
            documents: vec![doc("征地补偿安置方案", pb::DocumentType::CompensationPlan, t0 - day * 50)],
        }
    );
    push!(
        RecordExpropriationDecision,
        RecordExpropriationDecisionRequest,
        t0 - day * 11,
        pb::ExpropriationDecided {
            expropriation_code: code.clone(),
            kind: pb::ExpropriationKind::CollectiveLand as i32,
            decided_by: Some(org("黑龙江省人民政府", 4)),
            document_number: "黑政土〔2024〕56号".into(),
            decided_at: Some(ts(t0 - day * 12)),
            announced_at: Some(ts(t0 - day * 11)),
            scope_description: "新兴村一组、二组集体土地".into(),
            land_area_m2: 86_000,
            households: 3,
            remedies: "对征收决定不服的，可自公告之日起六十日内申请行政复议".into(),
            documents: vec![doc("征收土地公告", pb::DocumentType::ExpropriationNotice, t0 - day * 11)],
        }
    );
    let categories = [
        (pb::CompensationCategory::Land, 120_000_000),
        (pb::CompensationCategory::Resettlement, 51_000_000),
        (pb::CompensationCategory::Houses, 123_000_000),
        (pb::CompensationCategory::AttachmentsAndCrops, 2_500_000),
        (pb::CompensationCategory::SocialSecurity, 30_000_000),
    ];
    for (i, (category, amount_fen)) in categories.into_iter().enumerate() {
        push!(
            RecordCompensationPayment,
            RecordCompensationPaymentRequest,
            t0 - day * 8,
            pb::CompensationPaid {
                expropriation_code: code.clone(),
                payment_number: format!("BC-{}", i + 1),
                category: category as i32,
                amount_fen,
                paid_at: Some(ts(t0 - day * 8)),
                households: 3,
                payee: (category == pb::CompensationCategory::Land).then(|| org("新兴村股份经济合作社", 5)),
                documents: Vec::new(),
            }
        );
    }
    push!(
        PublishHouseholdCompensation,
        PublishHouseholdCompensationRequest,
        t0 - day * 6,
        pb::HouseholdCompensationPublished {
            expropriation_code: code.clone(),
            published_at: Some(ts(t0 - day * 6)),
            households: households(),
            household_count: 0,
            category_totals: Vec::new(),
            documents: vec![doc("分户补偿情况公示表", pb::DocumentType::CompensationPlan, t0 - day * 6)],
        }
    );
    push!(
        RecordRelocation,
        RecordRelocationRequest,
        t0 - day * 4,
        pb::RelocationRecorded {
            expropriation_code: code,
            kind: pb::RelocationKind::Relocation as i32,
            started_at: Some(ts(t0 - day * 4)),
            households: 3,
            scope_description: "新兴村一组三户住户搬迁".into(),
            carried_out_by: Some(org("哈尔滨市双城区征地事务所", 6)),
            documents: Vec::new(),
        }
    );
    requests
}

/// The lawful PPP lifecycle of project `project_code` with its land
/// expropriation and the start of operation (see the module doc); request
/// ids are `<prefix>-<n>` and `<prefix>-land-<n>`.
pub fn expropriation_lifecycle(project_code: &str, request_prefix: &str) -> PppLifecycle {
    let mut lifecycle = ppp_lifecycle(project_code, request_prefix);
    let t0 = Utc.with_ymd_and_hms(2024, 3, 1, 1, 0, 0).single().expect("valid time");
    let after_details = lifecycle
        .requests
        .iter()
        .position(|request| matches!(request, Request::DisclosePppDetails(_)))
        .map_or(1, |index| index + 1);
    let land = land_requests(project_code, request_prefix, t0);
    lifecycle.requests.splice(after_details..after_details, land);

    let started = Utc.with_ymd_and_hms(2026, 6, 30, 0, 0, 0).single().expect("valid time");
    let operation = Request::RecordMilestone(pb::RecordMilestoneRequest {
        request_id: format!("{request_prefix}-operation"),
        project_code: project_code.to_owned(),
        occurred_at: Some(ts(started)),
        fact: Some(pb::MilestoneReached {
            contract_code: "HT-A1".into(),
            milestone_code: "M4".into(),
            milestone_name: "进入运营期".into(),
            planned_date: Some(crate::date(2026, 7, 1)),
            reached_at: Some(ts(started)),
            progress_bp: 10000,
            kind: pb::MilestoneKind::OperationStart as i32,
            documents: Vec::new(),
        }),
    });
    let before_final_accounts = lifecycle.requests.len() - 1;
    lifecycle.requests.insert(before_final_accounts, operation);
    lifecycle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_land_fact_passes_validation() {
        use gongkai_domain::{Body, Submission, validate};
        use pb::fact::Kind;
        let lifecycle = expropriation_lifecycle("2024-230113-77-01-000001", "r");
        let kinds: Vec<Kind> = lifecycle
            .requests
            .iter()
            .filter_map(|request| match request.body().1 {
                // The projects domain's facts, but the approval and the PPP details.
                Some(Body::Fact(pb::Fact { kind: Some(kind) }))
                    if gongkai_domain::kinds::domain_of(&kind) == pb::Domain::Projects
                        && !matches!(kind, Kind::ProjectApproved(_) | Kind::PppDetailsDisclosed(_)) =>
                {
                    Some(kind)
                }
                _ => None,
            })
            .collect();
        assert_eq!(kinds.len(), 12);
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().expect("valid time");
        for kind in kinds {
            let submission = Submission {
                request_id: "r-1".into(),
                project_code: lifecycle.project_code.clone(),
                occurred_at: Some(ts(now - Duration::days(1))),
                body: Some(Body::Fact(pb::Fact { kind: Some(kind.clone()) })),
            };
            let violations = validate::submission(&submission, now);
            assert!(violations.is_empty(), "{kind:?}: {violations:?}");
        }
    }

    #[test]
    fn the_land_comes_before_the_tender_and_operation_before_the_final_accounts() {
        let lifecycle = expropriation_lifecycle("2024-230113-77-01-000001", "r");
        assert_eq!(lifecycle.requests.len(), ppp_lifecycle("2024-230113-77-01-000001", "r").requests.len() + 12);
        assert!(matches!(lifecycle.requests[2], Request::PreAnnounceExpropriation(_)));
        assert!(matches!(lifecycle.requests[13], Request::AnnounceTender(_)));
        let operation = lifecycle.requests.len() - 2;
        assert!(matches!(&lifecycle.requests[operation], Request::RecordMilestone(m)
            if m.fact.as_ref().is_some_and(|f| f.kind == pb::MilestoneKind::OperationStart as i32)));
        assert!(matches!(lifecycle.requests.last(), Some(Request::SettleFinalAccounts(_))));
    }
}
