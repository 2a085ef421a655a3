//! Given a valid fixture of each fact kind, when one field is broken, then
//! exactly that field's path is reported: as an original fact and inside a
//! correction.

use chrono::{DateTime, TimeZone, Utc};
use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::*;
use prost_types::Timestamp;

use super::snake_case;

mod land;
use crate::kinds::kind_name;
use crate::{Body, Submission};

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

const PROJECT_CODE: &str = "2017-230113-48-01-012345";
const CREDIT_CODE: &str = "91350100M000100Y43";
const EVENT_ID: &str = "01890a5d-ac96-774b-bcce-b302099a8057";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap()
}

/// 2024-05-`day` at `hour`:00 UTC.
fn may(day: u32, hour: u32) -> Option<Timestamp> {
    Some(Timestamp { seconds: Utc.with_ymd_and_hms(2024, 5, day, hour, 0, 0).unwrap().timestamp(), nanos: 0 })
}

fn date(year: i32, month: i32, day: i32) -> Option<CalendarDate> {
    Some(CalendarDate { year, month, day })
}

fn dates(start: (i32, i32, i32), end: (i32, i32, i32)) -> Option<DateRange> {
    Some(DateRange { start: date(start.0, start.1, start.2), end: date(end.0, end.1, end.2) })
}

fn org(name: &str) -> Organization {
    Organization { name: name.into(), unified_social_credit_code: CREDIT_CODE.into(), role: 0 }
}

fn some_org(name: &str) -> Option<Organization> {
    Some(org(name))
}

fn person() -> Person {
    Person {
        name: "张三".into(),
        id_number: "11010519491231002X".into(),
        phone: "0451-86000000".into(),
        role: "项目经理".into(),
        certificate_number: "黑1232018201812345".into(),
        employer: "某某建设集团有限公司".into(),
    }
}

fn documents(kind: DocumentType) -> Vec<DocumentRef> {
    vec![DocumentRef {
        title: "哈尔滨市某某道路工程施工招标公告".into(),
        r#type: kind as i32,
        url: "https://ggzy.harbin.gov.cn/notice/1.pdf".into(),
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        published_at: may(1, 1),
    }]
}

fn candidate(rank: i32) -> Candidate {
    Candidate {
        rank,
        bidder: some_org("某某建设集团有限公司"),
        bid_price_fen: 1_000_000_000 + i64::from(rank),
        score: "92.35".into(),
        project_manager: Some(person()),
    }
}

fn with<T>(mut value: T, change: impl FnOnce(&mut T)) -> T {
    change(&mut value);
    value
}

// ---------------------------------------------------------------------------
// One valid fixture per fact kind
// ---------------------------------------------------------------------------

fn project_approved() -> ProjectApproved {
    ProjectApproved {
        approval_kind: ApprovalKind::Examination as i32,
        approving_authority: some_org("哈尔滨市发展和改革委员会"),
        approval_document_number: "哈发改审批〔2017〕123号".into(),
        project_name: "双城区新兴大街改造工程".into(),
        project_type: ProjectType::Construction as i32,
        industry: "市政道路".into(),
        owner: some_org("哈尔滨市双城区交通运输局"),
        region_code: "230113".into(),
        location: Some(Location {
            region_code: "230113".into(),
            address: "双城区新兴大街".into(),
            latitude: "45.3830120".into(),
            longitude: "126.3121500".into(),
        }),
        total_investment_fen: 10_000_000_000,
        funding_sources: vec![FundingSource::LocalBudget as i32, FundingSource::SpecialBonds as i32],
        funding_description: String::new(),
        planned_period: dates((2017, 5, 1), (2018, 10, 31)),
        scope_description: "道路全长 3.2 公里".into(),
        documents: documents(DocumentType::ApprovalDocument),
    }
}

fn ppp_details_disclosed() -> PppDetailsDisclosed {
    PppDetailsDisclosed {
        operating_model: PppOperatingModel::Bot as i32,
        operating_model_description: String::new(),
        cooperation_period_months: 240,
        payment_mechanism: PppPaymentMechanism::ViabilityGap as i32,
        value_for_money_conclusion: AppraisalConclusion::Passed as i32,
        value_for_money_summary: "定性评价通过".into(),
        fiscal_affordability_conclusion: AppraisalConclusion::Passed as i32,
        fiscal_affordability_summary: "占一般公共预算支出比例 6.2%".into(),
        general_budget_share_bp: 620,
        government_equity_share_bp: 1000,
        documents: documents(DocumentType::VfmReport),
    }
}

fn project_suspended() -> ProjectSuspended {
    ProjectSuspended {
        reason: "资金未落实".into(),
        decided_by: some_org("哈尔滨市发展和改革委员会"),
        documents: vec![],
    }
}

fn project_resumed() -> ProjectResumed {
    ProjectResumed { reason: "资金已落实".into(), decided_by: None, documents: vec![] }
}

fn project_cancelled() -> ProjectCancelled {
    ProjectCancelled {
        reason: "规划调整".into(), decided_by: some_org("哈尔滨市人民政府"), documents: vec![]
    }
}

fn lot(code: &str) -> Lot {
    Lot {
        lot_code: code.into(),
        name: format!("施工{code}标段"),
        ceiling_price_fen: Some(2_000_000_000),
        estimated_value_fen: 1_900_000_000,
        description: String::new(),
        planned_contract_period: dates((2024, 7, 1), (2025, 6, 30)),
    }
}

fn tender_announced() -> TenderAnnounced {
    TenderAnnounced {
        tender_code: "HEB-2024-001".into(),
        name: "双城区新兴大街改造工程施工".into(),
        method: ProcurementMethod::Open as i32,
        lots: vec![lot("A1"), lot("A2")],
        tender_documents_issued_at: may(1, 1),
        document_sale_period: Some(Period { start: may(1, 1), end: may(8, 1) }),
        bid_deadline: may(22, 1),
        bid_opening_at: may(22, 1),
        bid_opening_place: "哈尔滨市公共资源交易中心第三开标室".into(),
        qualification_mode: QualificationMode::PostQualification as i32,
        prequalification_deadline: None,
        bid_security_fen: 20_000_000,
        unified_deal_code: "A23011300001202405001".into(),
        retender_of: String::new(),
        invited_bidders: vec![],
        tenderee: some_org("哈尔滨市双城区交通运输局"),
        tender_agent: None,
        category: ProcurementCategory::Works as i32,
        documents: documents(DocumentType::Notice),
    }
}

fn invited_tender() -> TenderAnnounced {
    TenderAnnounced {
        method: ProcurementMethod::Invited as i32,
        invited_bidders: vec![org("甲公司"), org("乙公司"), org("丙公司")],
        ..tender_announced()
    }
}

fn tender_amended() -> TenderAmended {
    TenderAmended {
        tender_code: "HEB-2024-001".into(),
        lot_codes: vec!["A1".into(), "A2".into()],
        kind: AmendmentKind::Modification as i32,
        affects_bid_preparation: true,
        new_bid_deadline: may(29, 1),
        new_bid_opening_at: None,
        summary: "工程量清单第 3 项修改".into(),
        documents: documents(DocumentType::Clarification),
    }
}

fn tender_suspended() -> TenderSuspended {
    TenderSuspended {
        tender_code: "HEB-2024-001".into(),
        lot_codes: vec![],
        reason: "因投诉暂停".into(),
        documents: vec![],
    }
}

fn tender_resumed() -> TenderResumed {
    TenderResumed {
        tender_code: "HEB-2024-001".into(),
        lot_codes: vec!["A1".into()],
        reason: "投诉已处理".into(),
        new_bid_deadline: may(30, 1),
        documents: vec![],
    }
}

fn tender_cancelled() -> TenderCancelled {
    TenderCancelled {
        tender_code: "HEB-2024-001".into(),
        lot_codes: vec![],
        reason: "项目调整".into(),
        documents: vec![],
    }
}

fn bid(name: &str, price_fen: i64) -> Bid {
    Bid {
        bidder: some_org(name), price_fen, submitted_at: may(22, 0), consortium_members: vec![org("联合体成员公司")]
    }
}

fn bids_opened() -> BidsOpened {
    BidsOpened {
        tender_code: "HEB-2024-001".into(),
        lot_code: "A1".into(),
        opened_at: may(22, 1),
        place: "电子开标（不见面开标）".into(),
        bids: vec![bid("甲公司", 1_950_000_000), bid("乙公司", 1_960_000_000), bid("丙公司", 1_970_000_000)],
        documents: documents(DocumentType::BidOpeningRecord),
    }
}

fn prequalification_completed() -> PrequalificationCompleted {
    PrequalificationCompleted {
        tender_code: "HEB-2024-001".into(),
        lot_codes: vec![],
        application_period: Some(Period { start: may(1, 1), end: may(8, 1) }),
        qualified_applicants: vec![org("甲公司"), org("乙公司")],
        disqualified_applicants: vec![DisqualifiedApplicant {
            applicant: some_org("丁公司"),
            reason: "资质等级不足".into(),
        }],
        documents: vec![],
    }
}

fn bids_evaluated() -> BidsEvaluated {
    BidsEvaluated {
        tender_code: "HEB-2024-001".into(),
        lot_code: "A1".into(),
        completed_at: may(23, 8),
        candidates: vec![candidate(1), candidate(2), candidate(3)],
        committee_members: vec![Person {
            name: "李四".into(), role: "评标委员会主任".into(), ..Person::default()
        }],
        valid_bid_count: 3,
        rejected_bids: vec![RejectedBid {
            bidder: some_org("戊公司"), reason: "未按要求提交投标保证金".into()
        }],
        evaluation_method: EvaluationMethod::Comprehensive as i32,
        documents: documents(DocumentType::EvaluationReport),
    }
}

fn candidates_publicized() -> CandidatesPublicized {
    CandidatesPublicized {
        tender_code: "HEB-2024-001".into(),
        lot_code: "A1".into(),
        publicity_period: Some(Period { start: may(24, 1), end: may(27, 1) }),
        candidates: vec![candidate(1)],
        documents: documents(DocumentType::Publicity),
    }
}

fn objection_raised() -> ObjectionRaised {
    ObjectionRaised {
        tender_code: "HEB-2024-001".into(),
        lot_code: "A1".into(),
        objector: some_org("乙公司"),
        received_at: may(25, 2),
        subject: "对第一中标候选人业绩的异议".into(),
        answered_at: may(27, 2),
        answer: "经核查，业绩属实".into(),
        stage: ObjectionStage::EvaluationResult as i32,
        documents: vec![],
    }
}

fn complaint_filed() -> ComplaintFiled {
    ComplaintFiled {
        tender_code: "HEB-2024-001".into(),
        lot_code: String::new(),
        complainant: some_org("乙公司"),
        authority: some_org("哈尔滨市住房和城乡建设局"),
        received_at: may(28, 2),
        subject: "对异议答复不服".into(),
        details: "详见投诉书".into(),
        objection_event_id: EVENT_ID.into(),
        documents: vec![],
    }
}

fn complaint_decided() -> ComplaintDecided {
    ComplaintDecided {
        complaint_event_id: EVENT_ID.into(),
        decided_at: may(30, 2),
        outcome: ComplaintOutcome::Dismissed as i32,
        decision_summary: "投诉缺乏事实根据，驳回".into(),
        documents: documents(DocumentType::ComplaintDecision),
    }
}

fn award_announced() -> AwardAnnounced {
    AwardAnnounced {
        tender_code: "HEB-2024-001".into(),
        lot_code: "A1".into(),
        winner: some_org("甲公司"),
        award_price_fen: 1_950_000_000,
        announced_at: may(28, 1),
        not_first_ranked_reason: String::new(),
        documents: documents(DocumentType::AwardNotice),
    }
}

fn award_notice_issued() -> AwardNoticeIssued {
    AwardNoticeIssued {
        tender_code: "HEB-2024-001".into(),
        lot_code: "A1".into(),
        winner: some_org("甲公司"),
        issued_at: may(29, 1),
        documents: vec![],
    }
}

fn award_cancelled() -> AwardCancelled {
    AwardCancelled {
        tender_code: "HEB-2024-001".into(),
        lot_code: "A1".into(),
        reason: "投诉成立".into(),
        complaint_event_id: String::new(),
        documents: vec![],
    }
}

fn tender_failed() -> TenderFailed {
    TenderFailed {
        tender_code: "HEB-2024-001".into(),
        lot_code: "A2".into(),
        reason: TenderFailureReason::FewerThanThreeBids as i32,
        reason_text: String::new(),
        documents: vec![],
    }
}

fn contract_signed() -> ContractSigned {
    ContractSigned {
        contract_code: "HT-2024-001".into(),
        tender_code: "HEB-2024-001".into(),
        lot_codes: vec!["A1".into()],
        buyer: some_org("哈尔滨市双城区交通运输局"),
        suppliers: vec![org("甲公司")],
        price_fen: 1_950_000_000,
        contract_period: dates((2024, 7, 1), (2025, 6, 30)),
        signed_at: may(31, 2),
        is_ppp_project_agreement: false,
        title: "施工合同".into(),
        documents: documents(DocumentType::Contract),
    }
}

fn contract_varied() -> ContractVaried {
    ContractVaried {
        contract_code: "HT-2024-001".into(),
        variation_number: "BG-01".into(),
        changes_price: true,
        changes_time: true,
        changes_scope: false,
        price_change_fen: -10_000_000,
        new_end_date: date(2025, 8, 31),
        scope_change: String::new(),
        reason: "地下管线迁改".into(),
        approved_by: some_org("哈尔滨市双城区交通运输局"),
        documents: documents(DocumentType::VariationOrder),
    }
}

fn milestone_reached() -> MilestoneReached {
    MilestoneReached {
        contract_code: "HT-2024-001".into(),
        milestone_code: "M01".into(),
        milestone_name: "开工".into(),
        planned_date: date(2024, 7, 1),
        reached_at: may(31, 3),
        progress_bp: 0,
        kind: MilestoneKind::Commencement as i32,
        documents: vec![],
    }
}

fn payment_made() -> PaymentMade {
    PaymentMade {
        contract_code: "HT-2024-001".into(),
        payment_number: "ZF-01".into(),
        amount_fen: 195_000_000,
        paid_at: may(31, 4),
        payee: some_org("甲公司"),
        milestone_code: "M01".into(),
        kind: PaymentKind::Advance as i32,
        documents: vec![],
    }
}

fn performance_issue_recorded() -> PerformanceIssueRecorded {
    PerformanceIssueRecorded {
        contract_code: "HT-2024-001".into(),
        kind: PerformanceIssueKind::Delay as i32,
        occurred_at: may(31, 5),
        description: "主体结构施工延误".into(),
        penalty_fen: Some(500_000),
        delay_days: Some(12),
        documents: vec![],
    }
}

fn completion_accepted() -> CompletionAccepted {
    CompletionAccepted {
        contract_codes: vec!["HT-2024-001".into()],
        accepted_at: may(31, 6),
        actual_completion_date: date(2024, 5, 30),
        result: AcceptanceResult::Passed as i32,
        participants: vec![Organization {
            role: PartyRole::Owner as i32, ..org("哈尔滨市双城区交通运输局")
        }],
        remarks: String::new(),
        documents: documents(DocumentType::AcceptanceReport),
    }
}

fn contract_settled() -> ContractSettled {
    ContractSettled {
        contract_code: "HT-2024-001".into(),
        settled_value_fen: 9_700_000_000,
        settled_at: may(31, 7),
        reviewed_by: some_org("黑龙江正信工程造价咨询有限公司"),
        documents: documents(DocumentType::Settlement),
    }
}

fn final_accounts_settled() -> FinalAccountsSettled {
    FinalAccountsSettled {
        final_cost_fen: 9_800_000_000,
        settled_at: may(31, 7),
        actual_end_date: date(2024, 5, 30),
        final_scope: "道路全长 3.2 公里".into(),
        audited_by: some_org("哈尔滨市审计局"),
        documents: documents(DocumentType::FinalAccounts),
    }
}

fn valid_kinds() -> Vec<Kind> {
    vec![
        Kind::ProjectApproved(project_approved()),
        Kind::PppDetailsDisclosed(ppp_details_disclosed()),
        Kind::ProjectSuspended(project_suspended()),
        Kind::ProjectResumed(project_resumed()),
        Kind::ProjectCancelled(project_cancelled()),
        Kind::TenderAnnounced(tender_announced()),
        Kind::TenderAnnounced(invited_tender()),
        Kind::TenderAmended(tender_amended()),
        Kind::TenderSuspended(tender_suspended()),
        Kind::TenderResumed(tender_resumed()),
        Kind::TenderCancelled(tender_cancelled()),
        Kind::BidsOpened(bids_opened()),
        Kind::PrequalificationCompleted(prequalification_completed()),
        Kind::BidsEvaluated(bids_evaluated()),
        Kind::CandidatesPublicized(candidates_publicized()),
        Kind::ObjectionRaised(objection_raised()),
        Kind::ComplaintFiled(complaint_filed()),
        Kind::ComplaintDecided(complaint_decided()),
        Kind::AwardAnnounced(award_announced()),
        Kind::AwardNoticeIssued(award_notice_issued()),
        Kind::AwardCancelled(award_cancelled()),
        Kind::TenderFailed(tender_failed()),
        Kind::ContractSigned(contract_signed()),
        Kind::ContractVaried(contract_varied()),
        Kind::MilestoneReached(milestone_reached()),
        Kind::PaymentMade(payment_made()),
        Kind::PerformanceIssueRecorded(performance_issue_recorded()),
        Kind::CompletionAccepted(completion_accepted()),
        Kind::ContractSettled(contract_settled()),
        Kind::FinalAccountsSettled(final_accounts_settled()),
    ]
    .into_iter()
    .chain(land::valid_kinds())
    .collect()
}

// ---------------------------------------------------------------------------
// Submissions
// ---------------------------------------------------------------------------

fn fact(kind: Kind) -> Submission {
    Submission {
        request_id: "req-2024-0001".into(),
        project_code: PROJECT_CODE.into(),
        occurred_at: may(31, 8),
        body: Some(Body::Fact(Fact { kind: Some(kind) })),
    }
}

fn correction(kind: Kind) -> Submission {
    Submission {
        body: Some(Body::Correction(DisclosureCorrected {
            supersedes_event_id: EVENT_ID.into(),
            reason: "原披露录入错误".into(),
            replacement: Some(Fact { kind: Some(kind) }),
            replacement_occurred_at: may(30, 8),
        })),
        ..fact(Kind::ProjectResumed(project_resumed()))
    }
}

/// The reported paths, in report order.
fn paths(submission: &Submission) -> Vec<String> {
    super::submission(submission, now()).into_iter().map(|violation| violation.field).collect()
}

/// Asserts that `submission` is reported at exactly `expected`, once each.
fn assert_paths(submission: &Submission, expected: &[&str], label: &str) {
    let violations = super::submission(submission, now());
    let mut actual: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    actual.sort_unstable();
    let mut wanted = expected.to_vec();
    wanted.sort_unstable();
    assert_eq!(actual, wanted, "{label}: {violations:#?}");
    assert!(violations.iter().all(|v| !v.description.trim().is_empty()), "{label}: every violation says why");
}

/// A fixture of kind `wrap`, changed by `change`, expected at `path`.
fn case<T>(fixture: T, wrap: fn(T) -> Kind, change: impl FnOnce(&mut T), path: &'static str) -> (Kind, &'static str) {
    (wrap(with(fixture, change)), path)
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn every_valid_fixture_passes_as_a_fact_and_as_a_correction() {
    for kind in valid_kinds() {
        let name = kind_name(&kind);
        assert_eq!(paths(&fact(kind.clone())), Vec::<String>::new(), "{name} as a fact");
        assert_eq!(paths(&correction(kind)), Vec::<String>::new(), "{name} as a replacement");
    }
}

#[test]
fn kind_names_become_oneof_field_names() {
    assert_eq!(snake_case("TenderAnnounced"), "tender_announced");
    assert_eq!(snake_case("PppDetailsDisclosed"), "ppp_details_disclosed");
}

#[test]
fn the_fixtures_cover_every_fact_kind() {
    let mut names: Vec<&str> = valid_kinds().iter().map(kind_name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), crate::kinds::every_kind().len());
}

/// One broken field per row; the path is the one reported.
fn broken_fields() -> Vec<(Kind, &'static str)> {
    use Kind as K;
    let long_name = "公".repeat(257);
    let long_text = "公".repeat(8001);
    let bad_credit = "91350100M000100Y44";
    vec![
        // ProjectApproved
        case(project_approved(), K::ProjectApproved, |f| f.approval_kind = 0, "fact.approval_kind"),
        case(project_approved(), K::ProjectApproved, |f| f.approval_kind = 99, "fact.approval_kind"),
        case(project_approved(), K::ProjectApproved, |f| f.approving_authority = None, "fact.approving_authority"),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.approving_authority.as_mut().unwrap().name = " ".into(),
            "fact.approving_authority.name",
        ),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.approval_document_number.clear(),
            "fact.approval_document_number",
        ),
        case(project_approved(), K::ProjectApproved, |f| f.project_name = long_name.clone(), "fact.project_name"),
        case(project_approved(), K::ProjectApproved, |f| f.project_type = 0, "fact.project_type"),
        case(project_approved(), K::ProjectApproved, |f| f.industry = "\t".into(), "fact.industry"),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.owner.as_mut().unwrap().unified_social_credit_code = bad_credit.into(),
            "fact.owner.unified_social_credit_code",
        ),
        case(project_approved(), K::ProjectApproved, |f| f.owner.as_mut().unwrap().role = 42, "fact.owner.role"),
        case(project_approved(), K::ProjectApproved, |f| f.region_code = "230102".into(), "fact.region_code"),
        case(project_approved(), K::ProjectApproved, |f| f.region_code = "2301".into(), "fact.region_code"),
        case(project_approved(), K::ProjectApproved, |f| f.region_code.clear(), "fact.region_code"),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.location.as_mut().unwrap().region_code.clear(),
            "fact.location.region_code",
        ),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.location.as_mut().unwrap().latitude.clear(),
            "fact.location.latitude",
        ),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.location.as_mut().unwrap().longitude = "200".into(),
            "fact.location.longitude",
        ),
        case(project_approved(), K::ProjectApproved, |f| f.total_investment_fen = 0, "fact.total_investment_fen"),
        case(project_approved(), K::ProjectApproved, |f| f.funding_sources.clear(), "fact.funding_sources"),
        case(project_approved(), K::ProjectApproved, |f| f.funding_sources[0] = 0, "fact.funding_sources[0]"),
        case(project_approved(), K::ProjectApproved, |f| f.funding_sources[1] = 77, "fact.funding_sources[1]"),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.funding_sources.push(FundingSource::LocalBudget as i32),
            "fact.funding_sources[2]",
        ),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.funding_sources.push(FundingSource::Other as i32),
            "fact.funding_description",
        ),
        case(project_approved(), K::ProjectApproved, |f| f.planned_period = None, "fact.planned_period"),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.planned_period = dates((2018, 1, 1), (2017, 12, 31)),
            "fact.planned_period.end",
        ),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.planned_period = dates((2023, 2, 29), (2024, 1, 1)),
            "fact.planned_period.start",
        ),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.planned_period.as_mut().unwrap().end = None,
            "fact.planned_period.end",
        ),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.scope_description = long_text.clone(),
            "fact.scope_description",
        ),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.documents[0].sha256 = f.documents[0].sha256.to_uppercase(),
            "fact.documents[0].sha256",
        ),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.documents[0].url = "ftp://ggzy.harbin.gov.cn/1.pdf".into(),
            "fact.documents[0].url",
        ),
        case(project_approved(), K::ProjectApproved, |f| f.documents[0].r#type = 0, "fact.documents[0].type"),
        case(project_approved(), K::ProjectApproved, |f| f.documents[0].title.clear(), "fact.documents[0].title"),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.documents[0].published_at = None,
            "fact.documents[0].published_at",
        ),
        case(
            project_approved(),
            K::ProjectApproved,
            |f| f.documents = vec![f.documents[0].clone(); 101],
            "fact.documents",
        ),
        // PppDetailsDisclosed
        case(ppp_details_disclosed(), K::PppDetailsDisclosed, |f| f.operating_model = 0, "fact.operating_model"),
        case(
            ppp_details_disclosed(),
            K::PppDetailsDisclosed,
            |f| f.operating_model = PppOperatingModel::Other as i32,
            "fact.operating_model_description",
        ),
        case(
            ppp_details_disclosed(),
            K::PppDetailsDisclosed,
            |f| f.cooperation_period_months = 0,
            "fact.cooperation_period_months",
        ),
        case(ppp_details_disclosed(), K::PppDetailsDisclosed, |f| f.payment_mechanism = 0, "fact.payment_mechanism"),
        case(
            ppp_details_disclosed(),
            K::PppDetailsDisclosed,
            |f| f.value_for_money_conclusion = 5,
            "fact.value_for_money_conclusion",
        ),
        case(
            ppp_details_disclosed(),
            K::PppDetailsDisclosed,
            |f| f.value_for_money_summary.clear(),
            "fact.value_for_money_summary",
        ),
        case(
            ppp_details_disclosed(),
            K::PppDetailsDisclosed,
            |f| f.fiscal_affordability_conclusion = 0,
            "fact.fiscal_affordability_conclusion",
        ),
        case(
            ppp_details_disclosed(),
            K::PppDetailsDisclosed,
            |f| f.fiscal_affordability_summary.clear(),
            "fact.fiscal_affordability_summary",
        ),
        case(
            ppp_details_disclosed(),
            K::PppDetailsDisclosed,
            |f| f.general_budget_share_bp = 10_001,
            "fact.general_budget_share_bp",
        ),
        case(
            ppp_details_disclosed(),
            K::PppDetailsDisclosed,
            |f| f.government_equity_share_bp = -1,
            "fact.government_equity_share_bp",
        ),
        // ProjectSuspended, ProjectResumed, ProjectCancelled
        case(project_suspended(), K::ProjectSuspended, |f| f.reason.clear(), "fact.reason"),
        case(
            project_suspended(),
            K::ProjectSuspended,
            |f| f.decided_by.as_mut().unwrap().name.clear(),
            "fact.decided_by.name",
        ),
        case(project_resumed(), K::ProjectResumed, |f| f.reason = long_text.clone(), "fact.reason"),
        case(
            project_cancelled(),
            K::ProjectCancelled,
            |f| f.decided_by.as_mut().unwrap().unified_social_credit_code = "123".into(),
            "fact.decided_by.unified_social_credit_code",
        ),
        // TenderAnnounced
        case(tender_announced(), K::TenderAnnounced, |f| f.tender_code = " HEB".into(), "fact.tender_code"),
        case(tender_announced(), K::TenderAnnounced, |f| f.tender_code = "T".repeat(65), "fact.tender_code"),
        case(tender_announced(), K::TenderAnnounced, |f| f.name.clear(), "fact.name"),
        case(tender_announced(), K::TenderAnnounced, |f| f.method = 0, "fact.method"),
        case(tender_announced(), K::TenderAnnounced, |f| f.lots.clear(), "fact.lots"),
        case(tender_announced(), K::TenderAnnounced, |f| f.lots[1].lot_code = "A1".into(), "fact.lots[1].lot_code"),
        case(tender_announced(), K::TenderAnnounced, |f| f.lots[0].lot_code.clear(), "fact.lots[0].lot_code"),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.lots[1].ceiling_price_fen = Some(-1),
            "fact.lots[1].ceiling_price_fen",
        ),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.lots[0].ceiling_price_fen = Some(0),
            "fact.lots[0].ceiling_price_fen",
        ),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.lots[0].estimated_value_fen = -1,
            "fact.lots[0].estimated_value_fen",
        ),
        case(tender_announced(), K::TenderAnnounced, |f| f.lots[0].name.clear(), "fact.lots[0].name"),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.lots[0].planned_contract_period = dates((2025, 1, 1), (2024, 12, 31)),
            "fact.lots[0].planned_contract_period.end",
        ),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.tender_documents_issued_at = None,
            "fact.tender_documents_issued_at",
        ),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.tender_documents_issued_at.as_mut().unwrap().nanos = -1,
            "fact.tender_documents_issued_at",
        ),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.document_sale_period = Some(Period { start: may(8, 1), end: may(1, 1) }),
            "fact.document_sale_period.end",
        ),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.document_sale_period.as_mut().unwrap().start = None,
            "fact.document_sale_period.start",
        ),
        case(tender_announced(), K::TenderAnnounced, |f| f.document_sale_period = None, "fact.document_sale_period"),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.bid_deadline = Some(Timestamp { seconds: 4_133_980_800, nanos: 0 }),
            "fact.bid_deadline",
        ),
        case(tender_announced(), K::TenderAnnounced, |f| f.bid_opening_at = None, "fact.bid_opening_at"),
        case(tender_announced(), K::TenderAnnounced, |f| f.bid_opening_place.clear(), "fact.bid_opening_place"),
        case(tender_announced(), K::TenderAnnounced, |f| f.qualification_mode = 0, "fact.qualification_mode"),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.qualification_mode = QualificationMode::Prequalification as i32,
            "fact.prequalification_deadline",
        ),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.prequalification_deadline = may(10, 1),
            "fact.prequalification_deadline",
        ),
        case(tender_announced(), K::TenderAnnounced, |f| f.bid_security_fen = -1, "fact.bid_security_fen"),
        case(tender_announced(), K::TenderAnnounced, |f| f.unified_deal_code.clear(), "fact.unified_deal_code"),
        case(tender_announced(), K::TenderAnnounced, |f| f.retender_of = "HEB\n2023".into(), "fact.retender_of"),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.invited_bidders = vec![org("甲公司")],
            "fact.invited_bidders",
        ),
        case(invited_tender(), K::TenderAnnounced, |f| f.invited_bidders.truncate(2), "fact.invited_bidders"),
        case(
            invited_tender(),
            K::TenderAnnounced,
            |f| f.invited_bidders[1].name.clear(),
            "fact.invited_bidders[1].name",
        ),
        case(tender_announced(), K::TenderAnnounced, |f| f.tenderee = None, "fact.tenderee"),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| {
                f.tender_agent =
                    Some(Organization { unified_social_credit_code: bad_credit.into(), ..org("代理公司") })
            },
            "fact.tender_agent.unified_social_credit_code",
        ),
        case(tender_announced(), K::TenderAnnounced, |f| f.category = 9, "fact.category"),
        // TenderAmended
        case(tender_amended(), K::TenderAmended, |f| f.tender_code.clear(), "fact.tender_code"),
        case(tender_amended(), K::TenderAmended, |f| f.lot_codes[1] = "A1".into(), "fact.lot_codes[1]"),
        case(tender_amended(), K::TenderAmended, |f| f.kind = 0, "fact.kind"),
        case(
            tender_amended(),
            K::TenderAmended,
            |f| f.new_bid_deadline.as_mut().unwrap().nanos = 1_000_000_000,
            "fact.new_bid_deadline",
        ),
        case(tender_amended(), K::TenderAmended, |f| f.summary.clear(), "fact.summary"),
        // TenderSuspended, TenderResumed, TenderCancelled
        case(tender_suspended(), K::TenderSuspended, |f| f.reason.clear(), "fact.reason"),
        case(tender_suspended(), K::TenderSuspended, |f| f.lot_codes = vec![String::new()], "fact.lot_codes[0]"),
        case(
            tender_resumed(),
            K::TenderResumed,
            |f| f.new_bid_deadline = Some(Timestamp { seconds: 1, nanos: 0 }),
            "fact.new_bid_deadline",
        ),
        case(tender_cancelled(), K::TenderCancelled, |f| f.tender_code = "HEB\u{7}".into(), "fact.tender_code"),
        // BidsOpened
        case(bids_opened(), K::BidsOpened, |f| f.lot_code.clear(), "fact.lot_code"),
        case(bids_opened(), K::BidsOpened, |f| f.opened_at = None, "fact.opened_at"),
        case(bids_opened(), K::BidsOpened, |f| f.place.clear(), "fact.place"),
        case(bids_opened(), K::BidsOpened, |f| f.bids[0].bidder = None, "fact.bids[0].bidder"),
        case(bids_opened(), K::BidsOpened, |f| f.bids[1].price_fen = -1, "fact.bids[1].price_fen"),
        case(bids_opened(), K::BidsOpened, |f| f.bids[2].submitted_at = None, "fact.bids[2].submitted_at"),
        case(
            bids_opened(),
            K::BidsOpened,
            |f| f.bids[0].consortium_members[0].name.clear(),
            "fact.bids[0].consortium_members[0].name",
        ),
        // PrequalificationCompleted
        case(
            prequalification_completed(),
            K::PrequalificationCompleted,
            |f| f.application_period = None,
            "fact.application_period",
        ),
        case(
            prequalification_completed(),
            K::PrequalificationCompleted,
            |f| f.qualified_applicants[1].unified_social_credit_code = bad_credit.into(),
            "fact.qualified_applicants[1].unified_social_credit_code",
        ),
        case(
            prequalification_completed(),
            K::PrequalificationCompleted,
            |f| f.disqualified_applicants[0].reason.clear(),
            "fact.disqualified_applicants[0].reason",
        ),
        case(
            prequalification_completed(),
            K::PrequalificationCompleted,
            |f| f.disqualified_applicants[0].applicant = None,
            "fact.disqualified_applicants[0].applicant",
        ),
        // BidsEvaluated
        case(bids_evaluated(), K::BidsEvaluated, |f| f.completed_at = None, "fact.completed_at"),
        case(bids_evaluated(), K::BidsEvaluated, |f| f.candidates.push(candidate(3)), "fact.candidates"),
        case(bids_evaluated(), K::BidsEvaluated, |f| f.candidates[1].rank = 1, "fact.candidates[1].rank"),
        case(bids_evaluated(), K::BidsEvaluated, |f| f.candidates[0].rank = 4, "fact.candidates[0].rank"),
        case(
            bids_evaluated(),
            K::BidsEvaluated,
            |f| f.candidates[0].bid_price_fen = -1,
            "fact.candidates[0].bid_price_fen",
        ),
        case(bids_evaluated(), K::BidsEvaluated, |f| f.candidates[0].bidder = None, "fact.candidates[0].bidder"),
        case(bids_evaluated(), K::BidsEvaluated, |f| f.candidates[2].score = "九十".into(), "fact.candidates[2].score"),
        case(
            bids_evaluated(),
            K::BidsEvaluated,
            |f| f.candidates[0].project_manager.as_mut().unwrap().id_number = "110105194912310021".into(),
            "fact.candidates[0].project_manager.id_number",
        ),
        case(
            bids_evaluated(),
            K::BidsEvaluated,
            |f| f.candidates[0].project_manager.as_mut().unwrap().phone = "12345".into(),
            "fact.candidates[0].project_manager.phone",
        ),
        case(
            bids_evaluated(),
            K::BidsEvaluated,
            |f| f.candidates[0].project_manager.as_mut().unwrap().name.clear(),
            "fact.candidates[0].project_manager.name",
        ),
        case(
            bids_evaluated(),
            K::BidsEvaluated,
            |f| f.committee_members[0].name.clear(),
            "fact.committee_members[0].name",
        ),
        case(
            bids_evaluated(),
            K::BidsEvaluated,
            |f| f.committee_members[0].id_number = "11010519491231002x".into(),
            "fact.committee_members[0].id_number",
        ),
        case(bids_evaluated(), K::BidsEvaluated, |f| f.valid_bid_count = -1, "fact.valid_bid_count"),
        case(bids_evaluated(), K::BidsEvaluated, |f| f.rejected_bids[0].reason.clear(), "fact.rejected_bids[0].reason"),
        case(bids_evaluated(), K::BidsEvaluated, |f| f.evaluation_method = 7, "fact.evaluation_method"),
        // CandidatesPublicized
        case(candidates_publicized(), K::CandidatesPublicized, |f| f.candidates.clear(), "fact.candidates"),
        case(
            candidates_publicized(),
            K::CandidatesPublicized,
            |f| f.publicity_period.as_mut().unwrap().end = None,
            "fact.publicity_period.end",
        ),
        case(candidates_publicized(), K::CandidatesPublicized, |f| f.tender_code.clear(), "fact.tender_code"),
        // ObjectionRaised
        case(objection_raised(), K::ObjectionRaised, |f| f.subject.clear(), "fact.subject"),
        case(objection_raised(), K::ObjectionRaised, |f| f.received_at = None, "fact.received_at"),
        case(objection_raised(), K::ObjectionRaised, |f| f.answered_at = None, "fact.answered_at"),
        case(objection_raised(), K::ObjectionRaised, |f| f.stage = 9, "fact.stage"),
        case(objection_raised(), K::ObjectionRaised, |f| f.lot_code = " A1".into(), "fact.lot_code"),
        case(
            objection_raised(),
            K::ObjectionRaised,
            |f| f.objector.as_mut().unwrap().name.clear(),
            "fact.objector.name",
        ),
        // ComplaintFiled
        case(complaint_filed(), K::ComplaintFiled, |f| f.authority = None, "fact.authority"),
        case(complaint_filed(), K::ComplaintFiled, |f| f.subject = long_name.clone(), "fact.subject"),
        case(complaint_filed(), K::ComplaintFiled, |f| f.details = long_text.clone(), "fact.details"),
        case(
            complaint_filed(),
            K::ComplaintFiled,
            |f| f.objection_event_id = "not-a-uuid".into(),
            "fact.objection_event_id",
        ),
        // ComplaintDecided
        case(complaint_decided(), K::ComplaintDecided, |f| f.complaint_event_id.clear(), "fact.complaint_event_id"),
        case(
            complaint_decided(),
            K::ComplaintDecided,
            |f| f.complaint_event_id = EVENT_ID.to_uppercase(),
            "fact.complaint_event_id",
        ),
        case(complaint_decided(), K::ComplaintDecided, |f| f.decided_at = None, "fact.decided_at"),
        case(complaint_decided(), K::ComplaintDecided, |f| f.outcome = 0, "fact.outcome"),
        case(complaint_decided(), K::ComplaintDecided, |f| f.decision_summary.clear(), "fact.decision_summary"),
        // AwardAnnounced, AwardNoticeIssued, AwardCancelled, TenderFailed
        case(award_announced(), K::AwardAnnounced, |f| f.winner = None, "fact.winner"),
        case(award_announced(), K::AwardAnnounced, |f| f.award_price_fen = -1, "fact.award_price_fen"),
        case(award_announced(), K::AwardAnnounced, |f| f.announced_at = None, "fact.announced_at"),
        case(
            award_announced(),
            K::AwardAnnounced,
            |f| f.not_first_ranked_reason = long_text.clone(),
            "fact.not_first_ranked_reason",
        ),
        case(award_notice_issued(), K::AwardNoticeIssued, |f| f.winner = None, "fact.winner"),
        case(award_notice_issued(), K::AwardNoticeIssued, |f| f.issued_at = None, "fact.issued_at"),
        case(award_cancelled(), K::AwardCancelled, |f| f.reason.clear(), "fact.reason"),
        case(
            award_cancelled(),
            K::AwardCancelled,
            |f| f.complaint_event_id = "01890a5d-ac96-474b-bcce-b302099a8057".into(),
            "fact.complaint_event_id",
        ),
        case(tender_failed(), K::TenderFailed, |f| f.reason = 0, "fact.reason"),
        case(tender_failed(), K::TenderFailed, |f| f.reason = TenderFailureReason::Other as i32, "fact.reason_text"),
        // ContractSigned
        case(contract_signed(), K::ContractSigned, |f| f.contract_code.clear(), "fact.contract_code"),
        case(contract_signed(), K::ContractSigned, |f| f.lot_codes.clear(), "fact.lot_codes"),
        case(contract_signed(), K::ContractSigned, |f| f.buyer = None, "fact.buyer"),
        case(contract_signed(), K::ContractSigned, |f| f.suppliers.clear(), "fact.suppliers"),
        case(contract_signed(), K::ContractSigned, |f| f.price_fen = -1, "fact.price_fen"),
        case(contract_signed(), K::ContractSigned, |f| f.contract_period = None, "fact.contract_period"),
        case(contract_signed(), K::ContractSigned, |f| f.signed_at = None, "fact.signed_at"),
        case(contract_signed(), K::ContractSigned, |f| f.title = long_name.clone(), "fact.title"),
        // ContractVaried
        case(
            contract_varied(),
            K::ContractVaried,
            |f| {
                f.changes_price = false;
                f.changes_time = false;
                f.price_change_fen = 0;
                f.new_end_date = None;
            },
            "fact.changes_scope",
        ),
        case(contract_varied(), K::ContractVaried, |f| f.changes_price = false, "fact.price_change_fen"),
        case(contract_varied(), K::ContractVaried, |f| f.new_end_date = None, "fact.new_end_date"),
        case(contract_varied(), K::ContractVaried, |f| f.changes_time = false, "fact.new_end_date"),
        case(contract_varied(), K::ContractVaried, |f| f.new_end_date = date(2025, 2, 30), "fact.new_end_date"),
        case(contract_varied(), K::ContractVaried, |f| f.changes_scope = true, "fact.scope_change"),
        case(contract_varied(), K::ContractVaried, |f| f.reason.clear(), "fact.reason"),
        case(contract_varied(), K::ContractVaried, |f| f.approved_by = None, "fact.approved_by"),
        case(contract_varied(), K::ContractVaried, |f| f.variation_number.clear(), "fact.variation_number"),
        // MilestoneReached
        case(milestone_reached(), K::MilestoneReached, |f| f.milestone_code.clear(), "fact.milestone_code"),
        case(milestone_reached(), K::MilestoneReached, |f| f.milestone_name.clear(), "fact.milestone_name"),
        case(milestone_reached(), K::MilestoneReached, |f| f.planned_date = date(2024, 13, 1), "fact.planned_date"),
        case(milestone_reached(), K::MilestoneReached, |f| f.reached_at = None, "fact.reached_at"),
        case(milestone_reached(), K::MilestoneReached, |f| f.progress_bp = 10_001, "fact.progress_bp"),
        case(milestone_reached(), K::MilestoneReached, |f| f.kind = 99, "fact.kind"),
        // PaymentMade
        case(payment_made(), K::PaymentMade, |f| f.payment_number.clear(), "fact.payment_number"),
        case(payment_made(), K::PaymentMade, |f| f.amount_fen = 0, "fact.amount_fen"),
        case(payment_made(), K::PaymentMade, |f| f.paid_at = None, "fact.paid_at"),
        case(payment_made(), K::PaymentMade, |f| f.payee = None, "fact.payee"),
        case(payment_made(), K::PaymentMade, |f| f.milestone_code = "M01 ".into(), "fact.milestone_code"),
        case(payment_made(), K::PaymentMade, |f| f.kind = 99, "fact.kind"),
        // PerformanceIssueRecorded
        case(performance_issue_recorded(), K::PerformanceIssueRecorded, |f| f.kind = 0, "fact.kind"),
        case(performance_issue_recorded(), K::PerformanceIssueRecorded, |f| f.occurred_at = None, "fact.occurred_at"),
        case(performance_issue_recorded(), K::PerformanceIssueRecorded, |f| f.description.clear(), "fact.description"),
        case(
            performance_issue_recorded(),
            K::PerformanceIssueRecorded,
            |f| f.penalty_fen = Some(0),
            "fact.penalty_fen",
        ),
        case(performance_issue_recorded(), K::PerformanceIssueRecorded, |f| f.delay_days = Some(-1), "fact.delay_days"),
        // CompletionAccepted
        case(completion_accepted(), K::CompletionAccepted, |f| f.contract_codes.clear(), "fact.contract_codes"),
        case(completion_accepted(), K::CompletionAccepted, |f| f.accepted_at = None, "fact.accepted_at"),
        case(
            completion_accepted(),
            K::CompletionAccepted,
            |f| f.actual_completion_date = None,
            "fact.actual_completion_date",
        ),
        case(completion_accepted(), K::CompletionAccepted, |f| f.result = 0, "fact.result"),
        case(
            completion_accepted(),
            K::CompletionAccepted,
            |f| f.result = AcceptanceResult::PassedWithRemarks as i32,
            "fact.remarks",
        ),
        case(
            completion_accepted(),
            K::CompletionAccepted,
            |f| f.participants[0].name.clear(),
            "fact.participants[0].name",
        ),
        // ContractSettled
        case(contract_settled(), K::ContractSettled, |f| f.contract_code.clear(), "fact.contract_code"),
        case(contract_settled(), K::ContractSettled, |f| f.settled_value_fen = -1, "fact.settled_value_fen"),
        case(contract_settled(), K::ContractSettled, |f| f.settled_value_fen = i64::MAX, "fact.settled_value_fen"),
        case(contract_settled(), K::ContractSettled, |f| f.settled_at = None, "fact.settled_at"),
        case(
            contract_settled(),
            K::ContractSettled,
            |f| f.reviewed_by.as_mut().expect("an org").name = "\u{b}".into(),
            "fact.reviewed_by.name",
        ),
        // FinalAccountsSettled
        case(final_accounts_settled(), K::FinalAccountsSettled, |f| f.final_cost_fen = -1, "fact.final_cost_fen"),
        case(final_accounts_settled(), K::FinalAccountsSettled, |f| f.settled_at = None, "fact.settled_at"),
        case(
            final_accounts_settled(),
            K::FinalAccountsSettled,
            |f| f.actual_end_date = date(2023, 2, 29),
            "fact.actual_end_date",
        ),
        case(final_accounts_settled(), K::FinalAccountsSettled, |f| f.final_scope.clear(), "fact.final_scope"),
        case(final_accounts_settled(), K::FinalAccountsSettled, |f| f.audited_by = None, "fact.audited_by"),
        // One fact's own times that cannot all be true.
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| {
                f.bid_deadline = may(1, 0);
                f.document_sale_period = Some(Period { start: may(1, 0), end: may(1, 0) });
            },
            "fact.bid_deadline",
        ),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| {
                f.tender_documents_issued_at = may(9, 1);
                f.document_sale_period = Some(Period { start: may(9, 1), end: may(16, 1) });
                f.bid_opening_at = may(8, 1);
            },
            "fact.bid_opening_at",
        ),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| f.document_sale_period = Some(Period { start: may(1, 1), end: may(23, 1) }),
            "fact.document_sale_period.end",
        ),
        case(
            tender_announced(),
            K::TenderAnnounced,
            // 2024-04-30 UTC is still April 30 in Beijing: a day before the issue.
            |f| {
                f.document_sale_period = Some(Period {
                    start: may(1, 0).map(|t| Timestamp { seconds: t.seconds - 86_400, ..t }),
                    end: may(8, 1),
                })
            },
            "fact.document_sale_period.start",
        ),
        case(
            tender_announced(),
            K::TenderAnnounced,
            |f| {
                f.qualification_mode = QualificationMode::Prequalification as i32;
                f.prequalification_deadline = may(23, 1);
            },
            "fact.prequalification_deadline",
        ),
        case(bids_opened(), K::BidsOpened, |f| f.bids[1].submitted_at = may(22, 2), "fact.bids[1].submitted_at"),
        case(objection_raised(), K::ObjectionRaised, |f| f.answered_at = may(24, 2), "fact.answered_at"),
        case(
            contract_signed(),
            K::ContractSigned,
            |f| f.contract_period = dates((2024, 1, 1), (2024, 5, 30)),
            "fact.contract_period.end",
        ),
        case(
            completion_accepted(),
            K::CompletionAccepted,
            |f| f.actual_completion_date = date(2024, 6, 1),
            "fact.actual_completion_date",
        ),
        case(
            final_accounts_settled(),
            K::FinalAccountsSettled,
            |f| f.actual_end_date = date(2024, 6, 1),
            "fact.actual_end_date",
        ),
    ]
    .into_iter()
    .chain(land::broken_fields())
    .collect()
}

#[test]
fn times_in_their_only_possible_order_pass_at_their_bounds() {
    // Deadline and opening at the very moment of issue, sale on the day of
    // issue until the deadline, completion on the day of acceptance.
    let tender = with(tender_announced(), |f| {
        f.bid_deadline = may(1, 1);
        f.bid_opening_at = may(1, 1);
        f.document_sale_period = Some(Period { start: may(1, 0), end: may(1, 1) });
    });
    let accepted = with(completion_accepted(), |f| f.actual_completion_date = date(2024, 5, 31));
    let signed = with(contract_signed(), |f| f.contract_period = dates((2024, 1, 1), (2024, 5, 31)));
    for kind in [Kind::TenderAnnounced(tender), Kind::CompletionAccepted(accepted), Kind::ContractSigned(signed)] {
        assert_eq!(paths(&fact(kind.clone())), Vec::<String>::new(), "{}", kind_name(&kind));
    }
}

#[test]
fn a_broken_field_is_reported_at_its_path_once() {
    for (kind, path) in broken_fields() {
        assert_paths(&fact(kind), &[path], path);
    }
}

#[test]
fn a_broken_replacement_field_is_reported_under_the_replacement_kind() {
    for (kind, path) in broken_fields() {
        let nested = format!("fact.replacement.{}.{}", snake_case(kind_name(&kind)), &path["fact.".len()..]);
        assert_paths(&correction(kind), &[&nested], &nested);
    }
}

#[test]
fn every_fact_kind_has_a_broken_field_case() {
    let mut names: Vec<&str> = broken_fields().iter().map(|(kind, _)| kind_name(kind)).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), crate::kinds::every_kind().len());
}

#[test]
fn several_bad_fields_are_all_reported_once_each() {
    let mut tender = tender_announced();
    tender.tender_code = format!(" {}\u{7}", "T".repeat(70)); // three problems, one violation
    tender.lots[1].ceiling_price_fen = Some(-5);
    tender.lots[1].lot_code = "A1".into();
    tender.document_sale_period.as_mut().unwrap().end = may(1, 0);
    tender.tenderee.as_mut().unwrap().name.clear();
    tender.documents[0].sha256 = "abc".into();
    tender.documents[0].url = "www.example.cn".into();
    let submission = Submission {
        request_id: "请求-1".into(),
        project_code: "2017-23011-48-01-012345".into(),
        occurred_at: Some(Timestamp { seconds: now().timestamp() + 301, nanos: 0 }),
        ..fact(Kind::TenderAnnounced(tender))
    };
    assert_paths(
        &submission,
        &[
            "request_id",
            "project_code",
            "occurred_at",
            "fact.tender_code",
            "fact.lots[1].lot_code",
            "fact.lots[1].ceiling_price_fen",
            "fact.document_sale_period.end",
            "fact.tenderee.name",
            "fact.documents[0].url",
            "fact.documents[0].sha256",
        ],
        "multi-error tender",
    );
}

#[test]
fn descriptions_name_the_problem() {
    let cases = [
        (case(contract_signed(), Kind::ContractSigned, |f| f.price_fen = -1, ""), "不得为负数"),
        (
            case(
                tender_announced(),
                Kind::TenderAnnounced,
                |f| f.document_sale_period = Some(Period { start: may(8, 1), end: may(1, 1) }),
                "",
            ),
            "结束时间不得早于开始时间",
        ),
        (
            case(project_approved(), Kind::ProjectApproved, |f| f.documents[0].sha256.clear(), ""),
            "应为 64 位小写十六进制 SHA-256",
        ),
        (case(project_approved(), Kind::ProjectApproved, |f| f.project_name = "公".repeat(257), ""), "超过 256 个字符"),
        (
            case(project_approved(), Kind::ProjectApproved, |f| f.region_code = "230102".into(), ""),
            "应位于项目代码的行政区划 230113 之内",
        ),
    ];
    for ((kind, _), expected) in cases {
        let violations = super::submission(&fact(kind), now());
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].description, expected);
    }
}

#[test]
fn request_fields_are_checked() {
    let base = || fact(Kind::ProjectResumed(project_resumed()));
    let at = |seconds, nanos| Some(Timestamp { seconds, nanos });
    let five_minutes_ahead = now().timestamp() + 300;
    let cases: Vec<(Submission, &[&str])> = vec![
        (Submission { request_id: String::new(), ..base() }, &["request_id"]),
        (Submission { request_id: "r".repeat(129), ..base() }, &["request_id"]),
        (Submission { request_id: "r\n1".into(), ..base() }, &["request_id"]),
        (Submission { project_code: String::new(), ..base() }, &["project_code"]),
        (Submission { project_code: "2017-990113-48-01-012345".into(), ..base() }, &["project_code"]),
        (Submission { occurred_at: None, ..base() }, &["occurred_at"]),
        (Submission { occurred_at: at(five_minutes_ahead, 0), ..base() }, &[]),
        (Submission { occurred_at: at(five_minutes_ahead, 1), ..base() }, &["occurred_at"]),
        (Submission { occurred_at: at(five_minutes_ahead, -1), ..base() }, &["occurred_at"]),
        (Submission { occurred_at: at(0, 0), ..base() }, &["occurred_at"]),
        (Submission { body: None, ..base() }, &["fact"]),
        (Submission { body: Some(Body::Fact(Fact { kind: None })), ..base() }, &["fact"]),
    ];
    for (submission, expected) in cases {
        assert_paths(&submission, expected, &format!("{submission:?}"));
    }
}

#[test]
fn correction_fields_are_checked() {
    let base = || correction(Kind::AwardCancelled(award_cancelled()));
    let change = |change: fn(&mut DisclosureCorrected)| {
        with(base(), |s| match s.body.as_mut() {
            Some(Body::Correction(c)) => change(c),
            _ => unreachable!("a correction"),
        })
    };
    let cases: Vec<(Submission, &[&str])> = vec![
        (change(|c| c.supersedes_event_id.clear()), &["fact.supersedes_event_id"]),
        (change(|c| c.supersedes_event_id = "12345".into()), &["fact.supersedes_event_id"]),
        (change(|c| c.reason = " ".into()), &["fact.reason"]),
        (change(|c| c.replacement = None), &["fact.replacement"]),
        (change(|c| c.replacement = Some(Fact { kind: None })), &["fact.replacement"]),
        (change(|c| c.replacement_occurred_at = None), &[]),
        (
            change(|c| c.replacement_occurred_at = Some(Timestamp { seconds: 4_000_000_000, nanos: 0 })),
            &["fact.replacement_occurred_at"],
        ),
    ];
    for (submission, expected) in cases {
        assert_paths(&submission, expected, &format!("{submission:?}"));
    }
}

#[test]
fn approval_region_lies_within_the_project_code_region() {
    let cases = [
        ("2017-230113-48-01-012345", "230113", true),
        ("2017-230113-48-01-012345", "230112", false),
        ("2017-230100-48-01-012345", "230113", true),
        ("2017-230100-48-01-012345", "230100", true),
        ("2017-230100-48-01-012345", "230201", false),
        ("2017-230000-48-01-012345", "230201", true),
        ("2017-230000-48-01-012345", "220201", false),
    ];
    for (project_code, region_code, inside) in cases {
        let approval = ProjectApproved { region_code: region_code.into(), ..project_approved() };
        let submission = Submission { project_code: project_code.into(), ..fact(Kind::ProjectApproved(approval)) };
        let expected: &[&str] = if inside { &[] } else { &["fact.region_code"] };
        assert_paths(&submission, expected, &format!("{project_code} / {region_code}"));
    }
}

#[test]
fn optional_fields_may_be_left_out() {
    let foreign = Organization { name: "Foreign Builders Ltd".into(), ..Organization::default() };
    let passport = Person { name: "John Smith".into(), id_number: "E12345678".into(), ..Person::default() };
    let kinds = [
        Kind::ProjectApproved(ProjectApproved { location: None, documents: vec![], ..project_approved() }),
        Kind::ProjectSuspended(ProjectSuspended { decided_by: Some(Organization::default()), ..project_suspended() }),
        Kind::TenderAnnounced(TenderAnnounced {
            lots: vec![Lot { ceiling_price_fen: None, planned_contract_period: None, ..lot("A1") }],
            category: 0,
            tender_agent: Some(foreign.clone()),
            ..tender_announced()
        }),
        Kind::BidsOpened(BidsOpened { bids: vec![], ..bids_opened() }),
        Kind::BidsEvaluated(BidsEvaluated {
            candidates: vec![Candidate { score: String::new(), project_manager: Some(passport), ..candidate(1) }],
            ..bids_evaluated()
        }),
        Kind::ObjectionRaised(ObjectionRaised {
            lot_code: String::new(),
            objector: None,
            answered_at: None,
            answer: String::new(),
            stage: 0,
            ..objection_raised()
        }),
        Kind::AwardAnnounced(AwardAnnounced { winner: Some(foreign), ..award_announced() }),
        Kind::MilestoneReached(MilestoneReached { planned_date: None, kind: 0, ..milestone_reached() }),
        Kind::PerformanceIssueRecorded(PerformanceIssueRecorded {
            penalty_fen: None,
            delay_days: None,
            ..performance_issue_recorded()
        }),
        Kind::CompletionAccepted(CompletionAccepted {
            result: AcceptanceResult::Failed as i32,
            remarks: "路面平整度不合格，需整改".into(),
            ..completion_accepted()
        }),
    ];
    for kind in kinds {
        let name = kind_name(&kind);
        assert_paths(&fact(kind), &[], name);
    }
}

// ---------------------------------------------------------------------------
// Hostile values in every field, found by reflection over the contract
// ---------------------------------------------------------------------------

/// Every field of a fixture that `hostile` can break, with the path it must
/// be reported at: each string (set, or first entry of a list) and each
/// `_fen` amount, walked through nested and repeated messages.
fn hostile_cases(
    kind: &Kind,
    hostile: &dyn Fn(&prost_reflect::FieldDescriptor) -> Option<prost_reflect::Value>,
) -> Vec<(Kind, String)> {
    use prost::Message as _;
    use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage as _};

    let pool = DescriptorPool::decode(gongkai_proto::FILE_DESCRIPTOR_SET).expect("the contract's descriptors");
    let fact_descriptor = pool.get_message_by_name("gongkai.v1.Fact").expect("gongkai.v1.Fact");
    let fact = Fact { kind: Some(kind.clone()) };
    let dynamic = DynamicMessage::decode(fact_descriptor, fact.encode_to_vec().as_slice()).expect("a fact decodes");
    let oneof = snake_case(kind_name(kind));
    let prost_reflect::Value::Message(inner) =
        dynamic.get_field_by_name(&oneof).expect("the oneof is set").into_owned()
    else {
        panic!("{oneof} is a message")
    };

    // (path to a field, the message with that field broken)
    fn walk(
        message: &prost_reflect::DynamicMessage,
        path: &str,
        hostile: &dyn Fn(&prost_reflect::FieldDescriptor) -> Option<prost_reflect::Value>,
        out: &mut Vec<(String, prost_reflect::DynamicMessage)>,
    ) {
        use prost_reflect::{Kind as FieldKind, Value};
        for field in message.descriptor().fields() {
            if !message.has_field(&field) {
                continue;
            }
            let at = format!("{path}.{}", field.name());
            let value = message.get_field(&field).into_owned();
            match (&value, field.kind()) {
                (Value::List(items), FieldKind::Message(_)) => {
                    if let Some(Value::Message(first)) = items.first() {
                        let mut broken_items = Vec::new();
                        walk(first, &format!("{at}[0]"), hostile, &mut broken_items);
                        for (broken_path, broken) in broken_items {
                            let mut copy = message.clone();
                            let mut list = items.clone();
                            list[0] = Value::Message(broken);
                            copy.set_field(&field, Value::List(list));
                            out.push((broken_path, copy));
                        }
                    }
                }
                (Value::List(items), _) => {
                    if let (Some(_), Some(bad)) = (items.first(), hostile(&field)) {
                        let mut list = items.clone();
                        list[0] = bad;
                        let mut copy = message.clone();
                        copy.set_field(&field, Value::List(list));
                        out.push((format!("{at}[0]"), copy));
                    }
                }
                (Value::Message(inner), _) => {
                    let mut broken_inner = Vec::new();
                    walk(inner, &at, hostile, &mut broken_inner);
                    for (broken_path, broken) in broken_inner {
                        let mut copy = message.clone();
                        copy.set_field(&field, Value::Message(broken));
                        out.push((broken_path, copy));
                    }
                }
                _ => {
                    if let Some(bad) = hostile(&field) {
                        let mut copy = message.clone();
                        copy.set_field(&field, bad);
                        out.push((at, copy));
                    }
                }
            }
        }
    }

    let mut broken = Vec::new();
    walk(&inner, "fact", hostile, &mut broken);
    broken
        .into_iter()
        .map(|(path, inner)| {
            let mut whole = dynamic.clone();
            whole.set_field_by_name(&oneof, prost_reflect::Value::Message(inner));
            let fact = Fact::decode(whole.encode_to_vec().as_slice()).expect("a broken fact still decodes");
            (fact.kind.expect("the kind survives"), path)
        })
        .collect()
}

fn assert_reported(cases: Vec<(Kind, String)>, what: &str) {
    assert!(!cases.is_empty(), "{what}: some field to break");
    let mut missed = Vec::new();
    for (kind, path) in cases {
        let reported = paths(&fact(kind));
        if !reported.contains(&path) {
            missed.push(format!("{path} (reported: {reported:?})"));
        }
    }
    assert!(missed.is_empty(), "{what} passed validation in:\n{}", missed.join("\n"));
}

#[test]
fn control_characters_are_refused_in_every_text_field() {
    use prost_reflect::{Kind as FieldKind, Value};
    for bad in ["\u{0}", "名称\u{0}", "说明\u{b}文字", "\u{1b}[31m", "a\u{85}b", "\u{7f}", "\u{ffff}"] {
        let hostile = |field: &prost_reflect::FieldDescriptor| {
            matches!(field.kind(), FieldKind::String).then(|| Value::String(bad.to_owned()))
        };
        for kind in valid_kinds() {
            assert_reported(hostile_cases(&kind, &hostile), &format!("{bad:?} in {}", kind_name(&kind)));
        }
    }
}

#[test]
fn tab_and_line_breaks_stay_allowed_in_text() {
    let fact = fact(Kind::ProjectApproved(with(project_approved(), |f| {
        f.scope_description = "第一段\t说明\r\n第二段".into();
    })));
    assert_eq!(paths(&fact), Vec::<String>::new());
}

#[test]
fn required_text_that_shows_nothing_is_empty() {
    for blank in [" ", "\u{3000}", "\u{200b}", "\u{feff} \u{200d}", "\t\n"] {
        let fact = fact(Kind::ProjectApproved(with(project_approved(), |f| f.project_name = blank.into())));
        assert_eq!(paths(&fact), ["fact.project_name"], "{blank:?}");
    }
}

#[test]
fn amounts_beyond_the_bound_are_refused_in_every_money_field() {
    use prost_reflect::{Kind as FieldKind, Value};
    for bad in [i64::MIN, i64::MAX, crate::money::AMOUNT_MAX_FEN + 1, -crate::money::AMOUNT_MAX_FEN - 1] {
        let hostile = |field: &prost_reflect::FieldDescriptor| {
            let money = field.name().ends_with("_fen") && matches!(field.kind(), FieldKind::Int64 | FieldKind::Sint64);
            money.then_some(Value::I64(bad))
        };
        for kind in valid_kinds() {
            let cases = hostile_cases(&kind, &hostile);
            if !cases.is_empty() {
                assert_reported(cases, &format!("{bad} in {}", kind_name(&kind)));
            }
        }
    }
    let largest = fact(Kind::PaymentMade(with(payment_made(), |f| f.amount_fen = crate::money::AMOUNT_MAX_FEN)));
    assert_eq!(paths(&largest), Vec::<String>::new(), "the bound itself is allowed");
}

#[test]
fn the_variation_that_stopped_the_projector_is_refused_at_its_field() {
    let poison = fact(Kind::ContractVaried(with(contract_varied(), |f| {
        f.changes_price = true;
        f.price_change_fen = i64::MIN;
    })));
    assert_eq!(paths(&poison), ["fact.price_change_fen"]);
}

#[test]
fn dates_outside_the_plausible_window_are_refused() {
    for year in [1900, 1989, 2101, 9999] {
        let fact = fact(Kind::CompletionAccepted(with(completion_accepted(), |f| {
            f.actual_completion_date = date(year, 6, 1);
        })));
        assert_eq!(paths(&fact), ["fact.actual_completion_date"], "{year}");
    }
}
