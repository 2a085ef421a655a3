//! Builders of the contracts domain: signing, variations, milestones,
//! payments, performance issues, completion acceptance, final accounts.

use gongkai_proto::v1::{
    AcceptanceResult, CalendarDate, CompletionAccepted, ContractSigned, ContractVaried, DateRange,
    FinalAccountsSettled, MilestoneReached, PaymentMade, PerformanceIssueKind, PerformanceIssueRecorded,
};

use super::{authority, date, day, lot_codes, org};

/// A contract signed day 50 with `suppliers` at `price_fen`, period
/// 2024-05-01..2025-12-31.
pub(crate) fn contract(code: &str, tender: &str, lots: &[&str], suppliers: &[u32], price_fen: i64) -> ContractSigned {
    ContractSigned {
        contract_code: code.to_owned(),
        tender_code: tender.to_owned(),
        lot_codes: lot_codes(lots),
        buyer: Some(authority("哈尔滨市双城区住房和城乡建设局")),
        suppliers: suppliers.iter().map(|n| org(*n)).collect(),
        price_fen,
        contract_period: Some(DateRange { start: Some(date(2024, 5, 1)), end: Some(date(2025, 12, 31)) }),
        signed_at: Some(day(50)),
        is_ppp_project_agreement: false,
        title: format!("{code} 施工合同"),
        documents: Vec::new(),
    }
}

/// A price variation.
pub(crate) fn varied(contract: &str, number: &str, price_change_fen: i64) -> ContractVaried {
    ContractVaried {
        contract_code: contract.to_owned(),
        variation_number: number.to_owned(),
        changes_price: true,
        changes_time: false,
        changes_scope: false,
        price_change_fen,
        new_end_date: None,
        scope_change: String::new(),
        reason: "设计变更".to_owned(),
        approved_by: Some(authority("哈尔滨市双城区住房和城乡建设局")),
        documents: Vec::new(),
    }
}

/// A time variation moving the end date.
pub(crate) fn extended(contract: &str, number: &str, new_end: CalendarDate) -> ContractVaried {
    ContractVaried {
        changes_price: false,
        changes_time: true,
        price_change_fen: 0,
        new_end_date: Some(new_end),
        ..varied(contract, number, 0)
    }
}

pub(crate) fn milestone(contract: &str, code: &str, on: i64) -> MilestoneReached {
    MilestoneReached {
        contract_code: contract.to_owned(),
        milestone_code: code.to_owned(),
        milestone_name: format!("节点 {code}"),
        planned_date: None,
        reached_at: Some(day(on)),
        progress_bp: 0,
        kind: 0,
        documents: Vec::new(),
    }
}

pub(crate) fn payment(contract: &str, number: &str, amount_fen: i64, milestone: &str) -> PaymentMade {
    PaymentMade {
        contract_code: contract.to_owned(),
        payment_number: number.to_owned(),
        amount_fen,
        paid_at: Some(day(200)),
        payee: Some(org(1)),
        milestone_code: milestone.to_owned(),
        kind: 0,
        documents: Vec::new(),
    }
}

pub(crate) fn issue(contract: &str) -> PerformanceIssueRecorded {
    PerformanceIssueRecorded {
        contract_code: contract.to_owned(),
        kind: PerformanceIssueKind::Delay as i32,
        occurred_at: Some(day(300)),
        description: "雨季停工".to_owned(),
        penalty_fen: None,
        delay_days: Some(12),
        documents: Vec::new(),
    }
}

/// A passed acceptance on 2025-12-20.
pub(crate) fn accepted(contracts: &[&str]) -> CompletionAccepted {
    CompletionAccepted {
        contract_codes: lot_codes(contracts),
        accepted_at: Some(day(660)),
        actual_completion_date: Some(date(2025, 12, 20)),
        result: AcceptanceResult::Passed as i32,
        participants: Vec::new(),
        remarks: String::new(),
        documents: Vec::new(),
    }
}

/// Final accounts at `final_cost_fen`, project ended 2025-12-31.
pub(crate) fn settled(final_cost_fen: i64) -> FinalAccountsSettled {
    FinalAccountsSettled {
        final_cost_fen,
        settled_at: Some(day(750)),
        actual_end_date: Some(date(2025, 12, 31)),
        final_scope: "道路改造 3.2 公里及配套管网".to_owned(),
        audited_by: Some(authority("哈尔滨市审计局")),
        documents: Vec::new(),
    }
}
