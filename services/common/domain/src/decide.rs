//! Whether a submitted fact may follow a project's history.
//!
//! [`decide`] first applies the hard rules of the fact's kind (a refusal names
//! the rule code of [`rules`] and the conflicting state), then the soft rules,
//! each of which may raise a [`ComplianceFlag`]. A correction is decided by
//! replaying the effective history with the replacement in place
//! (see `correction`).

mod award;
mod contract;
mod correction;
pub(crate) mod flags;
mod land;
mod project;
mod review;
pub mod rules;
mod tender;
pub(crate) mod time;

use std::fmt::Display;

use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{Bid, Organization};
use prost_types::Timestamp;

use crate::state::LotState;
use crate::{Body, ComplianceFlag, ProjectState, Rejection, Submission};

/// Decides `submission` against `state`: the compliance flags it raises, or
/// the hard rule that refuses it. `event_id` is the id the new event will
/// carry (flags name it). The submission has passed validation; anything
/// still missing is refused or skips the soft rule that needs it, never panics.
pub fn decide(state: &ProjectState, submission: &Submission, event_id: &str) -> Result<Vec<ComplianceFlag>, Rejection> {
    let ctx = Ctx { state, event_id, occurred_at: submission.occurred_at, project_code: &submission.project_code };
    match &submission.body {
        Some(Body::Fact(fact)) => match &fact.kind {
            Some(kind) => {
                if let Some(fault) = state.bound_fault() {
                    return Err(record_out_of_bounds(fault));
                }
                decide_fact(&ctx, kind)
            }
            None => Err(missing_fact()),
        },
        Some(Body::Correction(correction)) => correction::decide(&ctx, correction),
        None => Err(missing_fact()),
    }
}

/// What a rule needs besides the fact: the state before it, the new event's
/// id and business time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) state: &'a ProjectState,
    pub(crate) event_id: &'a str,
    pub(crate) occurred_at: Option<Timestamp>,
    pub(crate) project_code: &'a str,
}

impl Ctx<'_> {
    /// A flag raised by the new event together with `earlier` events.
    pub(crate) fn flag(
        &self,
        rule: flags::SoftRule,
        earlier: &[&str],
        figures: Vec<gongkai_proto::v1::Figure>,
        explanation: String,
    ) -> ComplianceFlag {
        flags::raise(self.state, rule, earlier, self.event_id, figures, explanation)
    }
}

/// Hard rules, then soft rules, of one fact against `ctx.state`.
pub(crate) fn decide_fact(ctx: &Ctx<'_>, kind: &Kind) -> Result<Vec<ComplianceFlag>, Rejection> {
    if let Kind::ProjectApproved(_) = kind {
        return project::approved(ctx);
    }
    project::gate(ctx, kind)?;
    match kind {
        // Decided above, before the gate (which requires an approval).
        Kind::ProjectApproved(_) => project::approved(ctx),
        Kind::PppDetailsDisclosed(_) => project::ppp_details(ctx),
        Kind::ProjectSuspended(_) | Kind::ProjectCancelled(_) => Ok(Vec::new()),
        Kind::ProjectResumed(_) => project::resumed(ctx),
        Kind::ExpropriationPreAnnounced(_) | Kind::SocialStabilityRiskAssessed(_) => Ok(Vec::new()),
        Kind::CompensationPlanPublished(fact) => land::plan(ctx, kind, fact),
        Kind::ExpropriationDecided(fact) => land::decided(ctx, fact),
        Kind::CompensationPaid(fact) => land::compensation(ctx, kind, &fact.expropriation_code),
        Kind::HouseholdCompensationPublished(fact) => land::compensation(ctx, kind, &fact.expropriation_code),
        Kind::RelocationRecorded(fact) => land::relocation(ctx, fact),
        Kind::EnvironmentalImpactApproved(fact) => land::eia_approved(ctx, fact),
        Kind::TenderAnnounced(fact) => tender::announced(ctx, fact),
        Kind::TenderAmended(fact) => tender::amended(ctx, fact),
        Kind::TenderSuspended(fact) => tender::suspended(ctx, fact),
        Kind::TenderResumed(fact) => tender::resumed(ctx, fact),
        Kind::TenderCancelled(fact) => tender::cancelled(ctx, fact),
        Kind::BidsOpened(fact) => tender::bids_opened(ctx, fact),
        Kind::PrequalificationCompleted(fact) => review::prequalification(ctx, fact),
        Kind::BidsEvaluated(fact) => review::evaluated(ctx, fact),
        Kind::CandidatesPublicized(fact) => review::publicized(ctx, fact),
        Kind::ObjectionRaised(fact) => review::objection(ctx, fact),
        Kind::ComplaintFiled(fact) => review::complaint(ctx, fact),
        Kind::ComplaintDecided(fact) => review::complaint_decided(ctx, fact),
        Kind::AwardAnnounced(fact) => award::announced(ctx, fact),
        Kind::AwardNoticeIssued(fact) => award::notice(ctx, fact),
        Kind::AwardCancelled(fact) => award::cancelled(ctx, fact),
        Kind::TenderFailed(fact) => award::failed(ctx, fact),
        Kind::ContractSigned(fact) => contract::signed(ctx, fact),
        Kind::ContractVaried(fact) => contract::varied(ctx, fact),
        Kind::MilestoneReached(fact) => {
            contract::known(ctx, &fact.contract_code).map(|_| land::commencement(ctx, fact))
        }
        Kind::PaymentMade(fact) => contract::payment(ctx, fact),
        Kind::PerformanceIssueRecorded(fact) => contract::known(ctx, &fact.contract_code).map(|_| Vec::new()),
        Kind::CompletionAccepted(fact) => contract::completion(ctx, fact),
        Kind::FinalAccountsSettled(fact) => contract::final_accounts(ctx, fact),
        Kind::ContractSettled(fact) => contract::settled(ctx, fact),
    }
}

/// A refusal by `rule`, worded in Chinese with the English after it.
pub(crate) fn reject(rule: &'static str, zh: impl Display, en: impl Display) -> Rejection {
    Rejection::new(rule, format!("{zh} ({en})"))
}

/// RECORD_OUT_OF_BOUNDS: the record holds a fact whose effect leaves the
/// money bound; nothing may follow it until a correction cures it.
pub(crate) fn record_out_of_bounds(fault: &crate::state::BoundFault) -> Rejection {
    reject(
        rules::RECORD_OUT_OF_BOUNDS,
        format!("本项目记录中的事件 {} 超出金额界限（{}），须先更正该事件", fault.event_id, fault.description),
        "the project's record holds an event whose amounts leave the bound; correct it first",
    )
    .with("event_id", fault.event_id.clone())
}

fn missing_fact() -> Rejection {
    reject(rules::FACT_MISSING, "提交中没有事实", "the submission carries no fact")
}

/// Whether two organizations are the same: by unified social credit code when
/// both have one, else by exact name.
pub(crate) fn same_org(a: &Organization, b: &Organization) -> bool {
    if !a.unified_social_credit_code.is_empty() && !b.unified_social_credit_code.is_empty() {
        a.unified_social_credit_code == b.unified_social_credit_code
    } else {
        a.name == b.name
    }
}

/// An organization for messages: its name, with its code when it has one.
pub(crate) fn org_label(org: &Organization) -> String {
    if org.unified_social_credit_code.is_empty() {
        org.name.clone()
    } else {
        format!("{}（{}）", org.name, org.unified_social_credit_code)
    }
}

/// The bid `org` made for `lot`, if it bid.
pub(crate) fn bid_of<'l>(lot: &'l LotState, org: &Organization) -> Option<&'l Bid> {
    let opening = lot.opening.as_ref()?;
    opening.bids.iter().find(|bid| bid.bidder.as_ref().is_some_and(|bidder| same_org(bidder, org)))
}
