//! The lawful PPP lifecycle of one project.
//!
//! Two lots, four bidders each, one tender amendment, evaluation, publicity,
//! award and award notice per lot, a contract per lot, two variations, the
//! EIA approval before the works start, three milestones with payments,
//! completion acceptance, each contract's settlement and final accounts. Every deadline respects the law,
//! so it raises no compliance flag.

use chrono::{Duration, TimeZone, Utc};
use gongkai_proto::v1 as pb;

use crate::{Request, date, doc, org, ts};

/// The lawful PPP lifecycle of one project, in submission order.
#[derive(Debug, Clone)]
pub struct PppLifecycle {
    /// The project code.
    pub project_code: String,
    /// The tender project code.
    pub tender_code: String,
    /// The requests, in order.
    pub requests: Vec<Request>,
}

/// Builds the lifecycle of project `project_code` (in region 230113); request
/// ids are `<prefix>-<n>`.
pub fn ppp_lifecycle(project_code: &str, request_prefix: &str) -> PppLifecycle {
    let t0 = Utc.with_ymd_and_hms(2024, 3, 1, 1, 0, 0).single().expect("valid time");
    let day = Duration::days(1);
    let tender_code = format!("{}-T1", &project_code[..11]);
    let owner = org("哈尔滨市双城区城市建设投资有限公司", 100);
    let bidders: Vec<pb::Organization> = [
        "黑龙江省建工集团有限责任公司",
        "中建八局第一建设有限公司",
        "龙建路桥股份有限公司",
        "哈尔滨市政建设集团有限公司",
    ]
    .iter()
    .enumerate()
    .map(|(i, name)| org(name, 200 + i as u32))
    .collect();
    let lots = [("A1", "一标段：污水处理厂", 20_000_000_000_i64), ("B1", "二标段：配套管网", 10_000_000_000)];
    // Bid prices per lot, one per bidder, lowest first: bidder 0 wins.
    let prices = |ceiling: i64| -> Vec<i64> { (0..4).map(|i| ceiling / 100 * (90 + i)).collect() };

    let mut requests = Vec::new();
    let mut n = 0;
    let mut next_id = || {
        n += 1;
        format!("{request_prefix}-{n}")
    };
    let project = project_code.to_owned();
    macro_rules! push {
        ($variant:ident, $request:ident, $at:expr, $fact:expr) => {
            requests.push(Request::$variant(pb::$request {
                request_id: next_id(),
                project_code: project.clone(),
                occurred_at: Some(ts($at)),
                fact: Some($fact),
            }))
        };
    }

    push!(
        RecordApproval,
        RecordApprovalRequest,
        t0 - day * 60,
        pb::ProjectApproved {
            approval_kind: pb::ApprovalKind::Examination as i32,
            approving_authority: Some(org("哈尔滨市发展和改革委员会", 1)),
            approval_document_number: "哈发改审批〔2024〕12号".into(),
            project_name: "双城区污水处理及配套管网PPP项目".into(),
            project_type: pb::ProjectType::Ppp as i32,
            industry: "水利、环境和公共设施管理业".into(),
            owner: Some(owner.clone()),
            region_code: "230113".into(),
            location: Some(pb::Location {
                region_code: "230113".into(),
                address: "哈尔滨市双城区新兴街道".into(),
                latitude: "45.383".into(),
                longitude: "126.312".into(),
            }),
            total_investment_fen: 50_000_000_000,
            funding_sources: vec![pb::FundingSource::SocialCapital as i32, pb::FundingSource::LocalBudget as i32],
            funding_description: "社会资本方出资与地方财政可行性缺口补助".into(),
            planned_period: Some(pb::DateRange { start: Some(date(2024, 1, 1)), end: Some(date(2026, 12, 31)) }),
            scope_description: "新建日处理5万吨污水处理厂一座及配套管网30公里".into(),
            documents: vec![doc("项目审批决定书", pb::DocumentType::ApprovalDocument, t0 - day * 60)],
        }
    );
    push!(
        DisclosePppDetails,
        DisclosePppDetailsRequest,
        t0 - day * 30,
        pb::PppDetailsDisclosed {
            operating_model: pb::PppOperatingModel::Bot as i32,
            operating_model_description: "建设—运营—移交".into(),
            cooperation_period_months: 300,
            payment_mechanism: pb::PppPaymentMechanism::ViabilityGap as i32,
            value_for_money_conclusion: pb::AppraisalConclusion::Passed as i32,
            value_for_money_summary: "物有所值定性与定量评价均通过".into(),
            fiscal_affordability_conclusion: pb::AppraisalConclusion::Passed as i32,
            fiscal_affordability_summary: "年度支出责任占一般公共预算支出比例低于10%".into(),
            general_budget_share_bp: 420,
            government_equity_share_bp: 1000,
            documents: vec![doc("物有所值评价报告", pb::DocumentType::VfmReport, t0 - day * 30)],
        }
    );
    push!(
        AnnounceTender,
        AnnounceTenderRequest,
        t0,
        pb::TenderAnnounced {
            tender_code: tender_code.clone(),
            name: "双城区污水处理及配套管网PPP项目社会资本方采购".into(),
            method: pb::ProcurementMethod::Open as i32,
            lots: lots
                .iter()
                .map(|(code, name, ceiling)| pb::Lot {
                    lot_code: (*code).into(),
                    name: (*name).into(),
                    ceiling_price_fen: Some(*ceiling),
                    estimated_value_fen: ceiling / 100 * 95,
                    description: (*name).into(),
                    planned_contract_period: Some(pb::DateRange {
                        start: Some(date(2024, 5, 1)),
                        end: Some(date(2026, 6, 30)),
                    }),
                })
                .collect(),
            tender_documents_issued_at: Some(ts(t0)),
            document_sale_period: Some(pb::Period { start: Some(ts(t0)), end: Some(ts(t0 + day * 7)) }),
            bid_deadline: Some(ts(t0 + day * 25)),
            bid_opening_at: Some(ts(t0 + day * 25)),
            bid_opening_place: "哈尔滨市公共资源交易中心开标室3".into(),
            qualification_mode: pb::QualificationMode::PostQualification as i32,
            prequalification_deadline: None,
            bid_security_fen: 80_000_000,
            unified_deal_code: format!("{}-JY", tender_code),
            retender_of: String::new(),
            invited_bidders: Vec::new(),
            tenderee: Some(owner.clone()),
            tender_agent: Some(org("黑龙江省招标有限公司", 300)),
            category: pb::ProcurementCategory::Works as i32,
            documents: vec![
                doc("招标公告", pb::DocumentType::Notice, t0),
                doc("招标文件", pb::DocumentType::TenderDocuments, t0),
            ],
        }
    );
    push!(
        AmendTender,
        AmendTenderRequest,
        t0 + day * 5,
        pb::TenderAmended {
            tender_code: tender_code.clone(),
            lot_codes: vec!["A1".into()],
            kind: pb::AmendmentKind::Clarification as i32,
            affects_bid_preparation: true,
            new_bid_deadline: None,
            new_bid_opening_at: None,
            summary: "澄清污水处理工艺技术参数".into(),
            documents: vec![doc("澄清文件第1号", pb::DocumentType::Clarification, t0 + day * 5)],
        }
    );

    let mut award_at = t0 + day * 32;
    for (lot_code, _, ceiling) in lots {
        let lot_prices = prices(ceiling);
        push!(
            RecordBidOpening,
            RecordBidOpeningRequest,
            t0 + day * 25,
            pb::BidsOpened {
                tender_code: tender_code.clone(),
                lot_code: lot_code.into(),
                opened_at: Some(ts(t0 + day * 25)),
                place: "哈尔滨市公共资源交易中心开标室3".into(),
                bids: bidders
                    .iter()
                    .zip(&lot_prices)
                    .map(|(bidder, price)| pb::Bid {
                        bidder: Some(bidder.clone()),
                        price_fen: *price,
                        submitted_at: Some(ts(t0 + day * 24)),
                        consortium_members: Vec::new(),
                    })
                    .collect(),
                documents: vec![doc(&format!("{lot_code}开标记录"), pb::DocumentType::BidOpeningRecord, t0 + day * 25)],
            }
        );
        let candidates: Vec<pb::Candidate> = (0..3)
            .map(|i| pb::Candidate {
                rank: i as i32 + 1,
                bidder: Some(bidders[i].clone()),
                bid_price_fen: lot_prices[i],
                score: format!("{}", 95 - i * 3),
                project_manager: Some(pb::Person {
                    name: format!("项目经理{}", i + 1),
                    role: "项目经理".into(),
                    ..Default::default()
                }),
            })
            .collect();
        let evaluated_at = t0 + day * 27;
        push!(
            RecordEvaluation,
            RecordEvaluationRequest,
            evaluated_at,
            pb::BidsEvaluated {
                tender_code: tender_code.clone(),
                lot_code: lot_code.into(),
                completed_at: Some(ts(evaluated_at)),
                candidates: candidates.clone(),
                committee_members: (1..=5)
                    .map(|i| pb::Person {
                        name: format!("评标专家{i}"),
                        role: "评标委员会成员".into(),
                        ..Default::default()
                    })
                    .collect(),
                valid_bid_count: 4,
                rejected_bids: Vec::new(),
                evaluation_method: pb::EvaluationMethod::Comprehensive as i32,
                documents: vec![doc(&format!("{lot_code}评标报告"), pb::DocumentType::EvaluationReport, evaluated_at)],
            }
        );
        let publicity = pb::Period { start: Some(ts(t0 + day * 28)), end: Some(ts(t0 + day * 31)) };
        push!(
            PublicizeCandidates,
            PublicizeCandidatesRequest,
            t0 + day * 28,
            pb::CandidatesPublicized {
                tender_code: tender_code.clone(),
                lot_code: lot_code.into(),
                publicity_period: Some(publicity),
                candidates,
                documents: vec![doc(&format!("{lot_code}中标候选人公示"), pb::DocumentType::Publicity, t0 + day * 28)],
            }
        );
        push!(
            AnnounceAward,
            AnnounceAwardRequest,
            award_at,
            pb::AwardAnnounced {
                tender_code: tender_code.clone(),
                lot_code: lot_code.into(),
                winner: Some(bidders[0].clone()),
                award_price_fen: lot_prices[0],
                announced_at: Some(ts(award_at)),
                not_first_ranked_reason: String::new(),
                documents: vec![doc(&format!("{lot_code}中标结果公告"), pb::DocumentType::Notice, award_at)],
            }
        );
        push!(
            IssueAwardNotice,
            IssueAwardNoticeRequest,
            award_at + day,
            pb::AwardNoticeIssued {
                tender_code: tender_code.clone(),
                lot_code: lot_code.into(),
                winner: Some(bidders[0].clone()),
                issued_at: Some(ts(award_at + day)),
                documents: vec![doc(&format!("{lot_code}中标通知书"), pb::DocumentType::AwardNotice, award_at + day)],
            }
        );
        award_at += Duration::hours(1);
    }

    let signed_at = t0 + day * 40;
    for (index, (lot_code, _, ceiling)) in lots.iter().enumerate() {
        push!(
            SignContract,
            SignContractRequest,
            signed_at,
            pb::ContractSigned {
                contract_code: format!("HT-{lot_code}"),
                tender_code: tender_code.clone(),
                lot_codes: vec![(*lot_code).into()],
                buyer: Some(owner.clone()),
                suppliers: vec![bidders[0].clone()],
                price_fen: prices(*ceiling)[0],
                contract_period: Some(pb::DateRange { start: Some(date(2024, 5, 1)), end: Some(date(2026, 6, 30)) }),
                signed_at: Some(ts(signed_at)),
                is_ppp_project_agreement: index == 0,
                title: format!("{lot_code} PPP项目合同"),
                documents: vec![doc(&format!("HT-{lot_code}合同文本"), pb::DocumentType::Contract, signed_at)],
            }
        );
    }
    let contract_a = "HT-A1".to_owned();
    let price_a = prices(lots[0].2)[0];
    for (i, months) in [(1, 6), (2, 12)] {
        let at = signed_at + day * 30 * months;
        push!(
            VaryContract,
            VaryContractRequest,
            at,
            pb::ContractVaried {
                contract_code: contract_a.clone(),
                variation_number: format!("BG-{i}"),
                changes_price: true,
                changes_time: false,
                changes_scope: true,
                price_change_fen: price_a / 100 * 3,
                new_end_date: None,
                scope_change: format!("增加管网{i}公里"),
                reason: "地质条件变化".into(),
                approved_by: Some(owner.clone()),
                documents: vec![doc(&format!("变更令BG-{i}"), pb::DocumentType::VariationOrder, at)],
            }
        );
    }
    // The project company obtains the EIA approval before the works start.
    let eia_at = Utc.with_ymd_and_hms(2024, 4, 20, 2, 0, 0).single().expect("valid time");
    push!(RecordEnvironmentalApproval, RecordEnvironmentalApprovalRequest, eia_at, crate::land::eia_approved(eia_at));
    let milestones = [
        ("M1", "开工", pb::MilestoneKind::Commencement, date(2024, 5, 1), Utc.with_ymd_and_hms(2024, 5, 1, 2, 0, 0)),
        (
            "M2",
            "主体结构完工",
            pb::MilestoneKind::Interim,
            date(2025, 6, 30),
            Utc.with_ymd_and_hms(2025, 6, 20, 2, 0, 0),
        ),
        (
            "M3",
            "工程完工",
            pb::MilestoneKind::WorksCompleted,
            date(2026, 5, 31),
            Utc.with_ymd_and_hms(2026, 5, 25, 2, 0, 0),
        ),
    ];
    for (i, (code, name, kind, planned, reached)) in milestones.into_iter().enumerate() {
        let reached = reached.single().expect("valid time");
        push!(
            RecordMilestone,
            RecordMilestoneRequest,
            reached,
            pb::MilestoneReached {
                contract_code: contract_a.clone(),
                milestone_code: code.into(),
                milestone_name: name.into(),
                planned_date: Some(planned),
                reached_at: Some(ts(reached)),
                progress_bp: [500, 6000, 10000][i],
                kind: kind as i32,
                documents: Vec::new(),
            }
        );
        push!(
            RecordPayment,
            RecordPaymentRequest,
            reached + day * 10,
            pb::PaymentMade {
                contract_code: contract_a.clone(),
                payment_number: format!("ZF-{}", i + 1),
                amount_fen: price_a / 10,
                paid_at: Some(ts(reached + day * 10)),
                payee: Some(bidders[0].clone()),
                milestone_code: code.into(),
                kind: pb::PaymentKind::Progress as i32,
                documents: Vec::new(),
            }
        );
    }
    let accepted_at = Utc.with_ymd_and_hms(2026, 6, 10, 2, 0, 0).single().expect("valid time");
    push!(
        AcceptCompletion,
        AcceptCompletionRequest,
        accepted_at,
        pb::CompletionAccepted {
            contract_codes: vec!["HT-A1".into(), "HT-B1".into()],
            accepted_at: Some(ts(accepted_at)),
            actual_completion_date: Some(date(2026, 5, 31)),
            result: pb::AcceptanceResult::Passed as i32,
            participants: vec![owner.clone(), bidders[0].clone()],
            remarks: String::new(),
            documents: vec![doc("竣工验收报告", pb::DocumentType::AcceptanceReport, accepted_at)],
        }
    );
    // Each contract is settled after the acceptance, within its price in
    // force: HT-A1 a little under its two variations, HT-B1 under its price.
    let price_b = prices(lots[1].2)[0];
    for (contract, value, day_of_july) in
        [(&contract_a, price_a + price_a / 100 * 5, 15), (&"HT-B1".to_owned(), price_b - price_b / 200, 20)]
    {
        let at = Utc.with_ymd_and_hms(2026, 7, day_of_july, 2, 0, 0).single().expect("valid time");
        push!(
            SettleContract,
            SettleContractRequest,
            at,
            pb::ContractSettled {
                contract_code: contract.clone(),
                settled_value_fen: value,
                settled_at: Some(ts(at)),
                reviewed_by: Some(org("黑龙江正信工程造价咨询有限公司", 500)),
                documents: vec![doc(&format!("{contract}竣工结算书"), pb::DocumentType::Settlement, at)],
            }
        );
    }
    let settled_at = Utc.with_ymd_and_hms(2026, 9, 1, 2, 0, 0).single().expect("valid time");
    push!(
        SettleFinalAccounts,
        SettleFinalAccountsRequest,
        settled_at,
        pb::FinalAccountsSettled {
            final_cost_fen: 48_000_000_000,
            settled_at: Some(ts(settled_at)),
            actual_end_date: Some(date(2026, 5, 31)),
            final_scope: "污水处理厂一座，配套管网32公里".into(),
            audited_by: Some(org("哈尔滨市审计局", 400)),
            documents: vec![doc("竣工决算报告", pb::DocumentType::FinalAccounts, settled_at)],
        }
    );

    PppLifecycle { project_code: project, tender_code, requests }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_covers_every_stage() {
        let lifecycle = ppp_lifecycle("2024-230113-77-01-000001", "r");
        assert_eq!(lifecycle.requests.len(), 29);
        assert!(matches!(lifecycle.requests.first(), Some(Request::RecordApproval(_))));
        assert!(matches!(lifecycle.requests.last(), Some(Request::SettleFinalAccounts(_))));
    }
}
