//! Plain-language titles and summaries of every fact kind, Chinese first,
//! with the amounts, parties, people and documents an entry shows.
//!
//! Everything here works on the fact it is given: for the public view that is
//! the redacted copy from `policy`, so nothing withheld can appear. `withheld`
//! only lets the text say that something is not yet public, never what.
//!
//! One submodule per lifecycle domain, as in `gongkai_domain`'s `decide`
//! (`project`, `land`, `tender`, `review`, `award`, `contract`), holds the
//! rendering of that domain's fact kinds, one function per kind; [`fact`] only
//! dispatches. What the domains share is here: the [`Rendered`] result, the
//! `Out` accumulator, legal clocks, tender and lot names as the project knows
//! them, and `trim_stop`. The project is read only through a [`Lookup`],
//! which notes what each entry read (see `lookup`).

mod award;
mod contract;
mod land;
mod project;
mod review;
mod tender;

use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{DocumentRef, LabeledAmount, LegalClock, Organization, PartyRole, Person};
use prost_types::Timestamp;

use super::lookup::Lookup;

/// What one fact renders to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rendered {
    pub(crate) title_zh: String,
    pub(crate) title_en: String,
    pub(crate) summary_zh: String,
    pub(crate) summary_en: String,
    pub(crate) amounts: Vec<LabeledAmount>,
    pub(crate) parties: Vec<Organization>,
    pub(crate) people: Vec<Person>,
    pub(crate) documents: Vec<DocumentRef>,
    pub(crate) tender_code: String,
    pub(crate) lot_codes: Vec<String>,
    pub(crate) clocks: Vec<LegalClock>,
}

/// Accumulates one entry's text and attachments.
struct Out<'a> {
    rendered: Rendered,
    zh: Vec<String>,
    en: Vec<String>,
    withheld: &'a [String],
}

impl Out<'_> {
    fn title(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.rendered.title_zh = zh.into();
        self.rendered.title_en = en.into();
    }

    /// One sentence in each language (the Chinese ends with "。", the English with ".").
    fn say(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.zh.push(zh.into());
        self.en.push(en.into());
    }

    fn amount(&mut self, zh: impl Into<String>, en: impl Into<String>, fen: i64, lot_code: &str) {
        self.rendered.amounts.push(LabeledAmount {
            label_zh: zh.into(),
            label_en: en.into(),
            amount_fen: fen,
            lot_code: lot_code.to_owned(),
        });
    }

    /// Names `org` as a party, with `role` unless it states its own.
    fn party(&mut self, org: Option<&Organization>, role: PartyRole) {
        let Some(org) = org else { return };
        let mut org = org.clone();
        if org.role == PartyRole::Unspecified as i32 {
            org.role = role as i32;
        }
        if !self.rendered.parties.contains(&org) {
            self.rendered.parties.push(org);
        }
    }

    fn parties<'o>(&mut self, orgs: impl IntoIterator<Item = &'o Organization>, role: PartyRole) {
        for org in orgs {
            self.party(Some(org), role);
        }
    }

    fn person(&mut self, person: Option<&Person>) {
        if let Some(person) = person {
            self.rendered.people.push(person.clone());
        }
    }

    fn withheld(&self, path: &str) -> bool {
        self.withheld.iter().any(|p| p == path)
    }

    fn scope(&mut self, tender_code: &str, lot_codes: &[String]) {
        self.rendered.tender_code = tender_code.to_owned();
        self.rendered.lot_codes = lot_codes.to_vec();
    }

    fn finish(mut self, documents: &[DocumentRef]) -> Rendered {
        self.rendered.summary_zh = self.zh.concat();
        self.rendered.summary_en = self.en.join(" ");
        self.rendered.documents = documents.to_vec();
        self.rendered
    }
}

/// Adds a legal clock ending at `ends_at`, when set.
fn clock(out: &mut Out<'_>, kind: &str, (label_zh, label_en): (&str, &str), ends_at: Option<Timestamp>, lot: &str) {
    if let Some(ends_at) = ends_at {
        out.rendered.clocks.push(LegalClock {
            kind: kind.to_owned(),
            label_zh: label_zh.to_owned(),
            label_en: label_en.to_owned(),
            ends_at: Some(ends_at),
            lot_code: lot.to_owned(),
        });
    }
}

/// Renders `kind`; `withheld` lists the paths the policy cleared from it.
pub(crate) fn fact(kind: &Kind, project: &Lookup<'_>, withheld: &[String]) -> Rendered {
    let out = Out { rendered: Rendered::default(), zh: Vec::new(), en: Vec::new(), withheld };
    match kind {
        Kind::ProjectApproved(f) => project::approved(out, f),
        Kind::PppDetailsDisclosed(f) => project::ppp_details(out, f),
        Kind::ProjectSuspended(f) => project::suspended(out, f),
        Kind::ProjectResumed(f) => project::resumed(out, f),
        Kind::ProjectCancelled(f) => project::cancelled(out, f),
        Kind::ExpropriationPreAnnounced(f) => land::pre_announced(out, f),
        Kind::CompensationPlanPublished(f) => land::plan(out, f),
        Kind::SocialStabilityRiskAssessed(f) => land::assessed(out, f),
        Kind::ExpropriationDecided(f) => land::decided(out, f),
        Kind::CompensationPaid(f) => land::paid(out, f),
        Kind::HouseholdCompensationPublished(f) => land::household_results(out, f),
        Kind::RelocationRecorded(f) => land::relocation(out, f),
        Kind::EnvironmentalImpactApproved(f) => land::eia_approved(out, f),
        Kind::TenderAnnounced(f) => tender::announced(out, f),
        Kind::TenderAmended(f) => tender::amended(out, project, f),
        Kind::TenderSuspended(f) => tender::suspended(out, project, f),
        Kind::TenderResumed(f) => tender::resumed(out, project, f),
        Kind::TenderCancelled(f) => tender::cancelled(out, project, f),
        Kind::BidsOpened(f) => tender::bids_opened(out, project, f),
        Kind::PrequalificationCompleted(f) => review::prequalification(out, project, f),
        Kind::BidsEvaluated(f) => review::evaluated(out, project, f),
        Kind::CandidatesPublicized(f) => review::publicized(out, project, f),
        Kind::ObjectionRaised(f) => review::objection(out, project, f),
        Kind::ComplaintFiled(f) => review::complaint(out, project, f),
        Kind::ComplaintDecided(f) => review::complaint_decided(out, project, f),
        Kind::AwardAnnounced(f) => award::announced(out, project, f),
        Kind::AwardNoticeIssued(f) => award::notice(out, project, f),
        Kind::AwardCancelled(f) => award::cancelled(out, project, f),
        Kind::TenderFailed(f) => award::failed(out, project, f),
        Kind::ContractSigned(f) => contract::signed(out, project, f),
        Kind::ContractVaried(f) => contract::varied(out, project, f),
        Kind::MilestoneReached(f) => contract::milestone(out, project, f),
        Kind::PaymentMade(f) => contract::payment(out, project, f),
        Kind::PerformanceIssueRecorded(f) => contract::performance_issue(out, project, f),
        Kind::CompletionAccepted(f) => contract::completion(out, f),
        Kind::FinalAccountsSettled(f) => contract::final_accounts(out, project, f),
        Kind::ContractSettled(f) => contract::settled(out, project, f),
    }
}

/// "A1标段（一标段：污水处理厂）", or "A1标段" when the lot is unknown.
fn lot_label_zh(project: &Lookup<'_>, tender_code: &str, lot_code: &str) -> String {
    match project.lot_name(tender_code, lot_code) {
        Some(name) => format!("{lot_code}标段（{name}）"),
        None => format!("{lot_code}标段"),
    }
}

/// Text without a trailing full stop, so that a sentence can end it.
fn trim_stop(text: &str) -> &str {
    text.trim_end().trim_end_matches(['。', '.', '；', ';'])
}
