//! Builders of the projects domain: approval (construction or PPP), PPP
//! details, suspension, resumption, cancellation.

use gongkai_proto::v1::{
    AppraisalConclusion, ApprovalKind, DateRange, FundingSource, PppDetailsDisclosed, PppOperatingModel,
    PppPaymentMechanism, ProjectApproved, ProjectCancelled, ProjectResumed, ProjectSuspended, ProjectType,
};

use super::{INVESTMENT, authority, date};

/// A construction project approved on day 0; planned 2024-03-01..2026-12-31.
pub(crate) fn approved() -> ProjectApproved {
    ProjectApproved {
        approval_kind: ApprovalKind::Examination as i32,
        approving_authority: Some(authority("哈尔滨市发展和改革委员会")),
        approval_document_number: "哈发改审批〔2024〕12号".to_owned(),
        project_name: "双城区新兴大街道路改造工程".to_owned(),
        project_type: ProjectType::Construction as i32,
        industry: "市政道路".to_owned(),
        owner: Some(authority("哈尔滨市双城区住房和城乡建设局")),
        region_code: "230113".to_owned(),
        location: None,
        total_investment_fen: INVESTMENT,
        funding_sources: vec![FundingSource::LocalBudget as i32],
        funding_description: String::new(),
        planned_period: Some(DateRange { start: Some(date(2024, 3, 1)), end: Some(date(2026, 12, 31)) }),
        scope_description: "道路改造 3.2 公里及配套管网".to_owned(),
        documents: Vec::new(),
    }
}

/// The same project approved as a PPP project.
pub(crate) fn ppp_approved() -> ProjectApproved {
    ProjectApproved { project_type: ProjectType::Ppp as i32, ..approved() }
}

pub(crate) fn ppp_details() -> PppDetailsDisclosed {
    PppDetailsDisclosed {
        operating_model: PppOperatingModel::Bot as i32,
        operating_model_description: String::new(),
        cooperation_period_months: 240,
        payment_mechanism: PppPaymentMechanism::ViabilityGap as i32,
        value_for_money_conclusion: AppraisalConclusion::Passed as i32,
        value_for_money_summary: "定性评价通过".to_owned(),
        fiscal_affordability_conclusion: AppraisalConclusion::Passed as i32,
        fiscal_affordability_summary: "占一般公共预算支出比例 4.2%".to_owned(),
        general_budget_share_bp: 420,
        government_equity_share_bp: 2000,
        documents: Vec::new(),
    }
}

pub(crate) fn project_suspended() -> ProjectSuspended {
    ProjectSuspended { reason: "资金未到位".to_owned(), decided_by: None, documents: Vec::new() }
}

pub(crate) fn project_resumed() -> ProjectResumed {
    ProjectResumed { reason: "资金已落实".to_owned(), decided_by: None, documents: Vec::new() }
}

pub(crate) fn project_cancelled() -> ProjectCancelled {
    ProjectCancelled { reason: "规划调整".to_owned(), decided_by: None, documents: Vec::new() }
}
