//! Outcomes, each measured against its own baseline, never mixed into one
//! figure:
//!
//! - a contract against its signing (CoST IDS contract-level indicators):
//!   合同价款变化, its settled value (else its price in force) minus its signed
//!   price, and its time variation, its actual completion date (else its end
//!   date in force) minus its signed end date. Known from signing on, final
//!   once the contract is accepted and settled, whatever the project's final
//!   accounts say or whether they exist;
//! - the project against its approval: 投资节余/超支, the final cost minus the
//!   approved total investment, and the actual end date minus the approved
//!   planned end, once the final accounts are settled.

use gongkai_proto::v1::CalendarDate;

use super::ProjectState;
use super::model::{Completion, Contract};
use crate::decide::time::{days_between_dates, share_bp};

/// One contract's outcome against its signing.
#[derive(Debug, Clone, Copy)]
pub struct ContractOutcome<'s> {
    /// The contract.
    pub contract: &'s Contract,
    /// The latest passed completion acceptance covering it.
    pub acceptance: Option<&'s Completion>,
    /// Settled value, else the price in force, fen.
    pub final_price_fen: i64,
    /// 合同价款变化: `final_price_fen` minus the signed price, fen.
    pub price_change_fen: i64,
    /// `price_change_fen` in basis points of the signed price; `None` when
    /// the signed price is 0.
    pub price_change_bp: Option<i64>,
    /// Actual completion date of `acceptance`.
    pub actual_completion_date: Option<CalendarDate>,
    /// Actual completion date (else the end date in force) minus the signed
    /// end date, days; `None` without a signed end date.
    pub time_variation_days: Option<i64>,
}

/// The project's outcome against its approval, once final accounts settle.
#[derive(Debug, Clone, Copy)]
pub struct InvestmentOutcome {
    /// Final cost, fen.
    pub final_cost_fen: i64,
    /// 投资节余/超支: final cost minus the approved total investment, fen;
    /// negative = saving (节余).
    pub variance_fen: i64,
    /// `variance_fen` in basis points of the approved investment; `None`
    /// when that is 0.
    pub variance_bp: Option<i64>,
    /// Actual end date minus the approved planned end date, days; `None`
    /// when either is unknown.
    pub end_date_variance_days: Option<i64>,
}

impl ProjectState {
    /// The latest passed completion acceptance covering `contract_code`.
    pub fn accepted_completion(&self, contract_code: &str) -> Option<&Completion> {
        self.completions()
            .iter()
            .rev()
            .find(|completion| completion.passed() && completion.contract_codes.iter().any(|c| c == contract_code))
    }

    /// The outcome of `contract`, a contract of this project.
    pub fn contract_outcome<'s>(&'s self, contract: &'s Contract) -> ContractOutcome<'s> {
        let acceptance = self.accepted_completion(&contract.contract_code);
        let final_price_fen =
            contract.settlement.as_ref().map_or(contract.current_price_fen, |settlement| settlement.settled_value_fen);
        // Both within 0..=the bound (the fold keeps them there, and a state
        // with a bound fault is never rendered): the difference cannot overflow.
        let price_change_fen = final_price_fen - contract.price_fen;
        let actual_completion_date = acceptance.and_then(|completion| completion.actual_completion_date);
        let signed_end = contract.period.and_then(|period| period.end);
        let time_variation_days = signed_end.and_then(|signed_end| {
            let end = actual_completion_date.or(contract.end_date)?;
            days_between_dates(&signed_end, &end)
        });
        ContractOutcome {
            contract,
            acceptance,
            final_price_fen,
            price_change_fen,
            price_change_bp: share_bp(price_change_fen, contract.price_fen),
            actual_completion_date,
            time_variation_days,
        }
    }

    /// Every contract's outcome, by contract code.
    pub fn contract_outcomes(&self) -> impl Iterator<Item = ContractOutcome<'_>> {
        self.contracts().values().map(|contract| self.contract_outcome(contract))
    }

    /// The sum over the contracts of their settled values (else prices in
    /// force); `None` when it leaves the money bound.
    pub fn final_contract_total(&self) -> Option<i64> {
        crate::money::checked_sum(self.contract_outcomes().map(|outcome| outcome.final_price_fen))
    }

    /// The project's outcome against its approval; `None` until the final
    /// accounts are settled.
    pub fn investment_outcome(&self) -> Option<InvestmentOutcome> {
        let accounts = self.final_accounts()?;
        let approval = self.approval().map(|approval| &approval.fact);
        let investment = approval.map_or(0, |approval| approval.total_investment_fen);
        let planned_end = approval.and_then(|approval| approval.planned_period.and_then(|period| period.end));
        // Both within 0..=the bound: the difference cannot overflow.
        let variance_fen = accounts.final_cost_fen - investment;
        Some(InvestmentOutcome {
            final_cost_fen: accounts.final_cost_fen,
            variance_fen,
            variance_bp: share_bp(variance_fen, investment),
            end_date_variance_days: planned_end
                .zip(accounts.actual_end_date)
                .and_then(|(planned, actual)| days_between_dates(&planned, &actual)),
        })
    }
}
