//! Given and when: a step (a fact or a correction, at its business time),
//! the recorded history `given(&[..])` builds, and `.when(step)`, which
//! decides one more.

use gongkai_domain::{Body, ComplianceFlag, ProjectState, Submission, decide};
use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{
    AwardAnnounced, AwardCancelled, AwardNoticeIssued, BidsEvaluated, BidsOpened, CandidatesPublicized,
    ComplaintDecided, ComplaintFiled, CompletionAccepted, ContractSigned, ContractVaried, DisclosureCorrected,
    EventEnvelope, Fact, FinalAccountsSettled, MilestoneReached, ObjectionRaised, PaymentMade,
    PerformanceIssueRecorded, PppDetailsDisclosed, PrequalificationCompleted, ProjectApproved, ProjectCancelled,
    ProjectResumed, ProjectSuspended, TenderAmended, TenderAnnounced, TenderCancelled, TenderFailed, TenderResumed,
    TenderSuspended,
};
use gongkai_proto::v1::{
    CompensationPaid, CompensationPlanPublished, EnvironmentalImpactApproved, ExpropriationDecided,
    ExpropriationPreAnnounced, HouseholdCompensationPublished, RelocationRecorded, SocialStabilityRiskAssessed,
};
use prost_types::Timestamp;

use super::then::Outcome;
use super::{PROJECT, day, e};

/// One submission: a fact or a correction, and its business time.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    body: Option<Body>,
    at: Option<Timestamp>,
}

impl Step {
    /// The same step at business time `at`.
    pub(crate) fn at(mut self, at: Timestamp) -> Self {
        self.at = Some(at);
        self
    }

    fn occurred_at(&self) -> Timestamp {
        let natural = match &self.body {
            Some(Body::Fact(Fact { kind: Some(kind) })) => natural_time(kind),
            _ => None,
        };
        self.at.or(natural).unwrap_or_else(|| day(0))
    }

    fn submission(&self, seq: usize) -> Submission {
        Submission {
            request_id: format!("req-{seq}"),
            project_code: PROJECT.to_owned(),
            occurred_at: Some(self.occurred_at()),
            body: self.body.clone(),
        }
    }
}

/// A fact message that converts into `Fact.kind`.
pub(crate) trait IntoKind {
    fn into_kind(self) -> Kind;
}

macro_rules! into_kind {
    ($($message:ident),* $(,)?) => {$(
        impl IntoKind for $message {
            fn into_kind(self) -> Kind {
                Kind::$message(self)
            }
        }
    )*};
}

into_kind!(
    ProjectApproved,
    PppDetailsDisclosed,
    ProjectSuspended,
    ProjectResumed,
    ProjectCancelled,
    ExpropriationPreAnnounced,
    CompensationPlanPublished,
    SocialStabilityRiskAssessed,
    ExpropriationDecided,
    CompensationPaid,
    HouseholdCompensationPublished,
    RelocationRecorded,
    EnvironmentalImpactApproved,
    TenderAnnounced,
    TenderAmended,
    TenderSuspended,
    TenderResumed,
    TenderCancelled,
    BidsOpened,
    PrequalificationCompleted,
    BidsEvaluated,
    CandidatesPublicized,
    ObjectionRaised,
    ComplaintFiled,
    ComplaintDecided,
    AwardAnnounced,
    AwardNoticeIssued,
    AwardCancelled,
    TenderFailed,
    ContractSigned,
    ContractVaried,
    MilestoneReached,
    PaymentMade,
    PerformanceIssueRecorded,
    CompletionAccepted,
    FinalAccountsSettled,
);

impl<T: IntoKind> From<T> for Step {
    fn from(fact: T) -> Self {
        Step { body: Some(Body::Fact(Fact { kind: Some(fact.into_kind()) })), at: None }
    }
}

/// `fact` submitted with business time `at`.
pub(crate) fn on(at: Timestamp, fact: impl Into<Step>) -> Step {
    fact.into().at(at)
}

/// A correction of event `supersedes` by `replacement`.
pub(crate) fn correct(supersedes: &str, replacement: impl IntoKind) -> Step {
    Step {
        body: Some(Body::Correction(DisclosureCorrected {
            supersedes_event_id: supersedes.to_owned(),
            reason: "原公告信息有误".to_owned(),
            replacement: Some(Fact { kind: Some(replacement.into_kind()) }),
            replacement_occurred_at: None,
        })),
        at: Some(day(100)),
    }
}

/// A correction whose replacement happened at `at` (business time).
pub(crate) fn correct_at(supersedes: &str, replacement: impl IntoKind, at: Timestamp) -> Step {
    let mut step = correct(supersedes, replacement);
    if let Some(Body::Correction(correction)) = &mut step.body {
        correction.replacement_occurred_at = Some(at);
    }
    step
}

/// A submission with nothing in it.
pub(crate) fn empty_step() -> Step {
    Step { body: None, at: None }
}

/// The business time a fact states itself, if any.
fn natural_time(kind: &Kind) -> Option<Timestamp> {
    match kind {
        Kind::TenderAnnounced(f) => f.tender_documents_issued_at,
        Kind::BidsOpened(f) => f.opened_at,
        Kind::PrequalificationCompleted(f) => f.application_period.and_then(|p| p.end),
        Kind::BidsEvaluated(f) => f.completed_at,
        Kind::CandidatesPublicized(f) => f.publicity_period.and_then(|p| p.start),
        Kind::ObjectionRaised(f) => f.received_at,
        Kind::ComplaintFiled(f) => f.received_at,
        Kind::ComplaintDecided(f) => f.decided_at,
        Kind::AwardAnnounced(f) => f.announced_at,
        Kind::AwardNoticeIssued(f) => f.issued_at,
        Kind::ContractSigned(f) => f.signed_at,
        Kind::MilestoneReached(f) => f.reached_at,
        Kind::PaymentMade(f) => f.paid_at,
        Kind::PerformanceIssueRecorded(f) => f.occurred_at,
        Kind::CompletionAccepted(f) => f.accepted_at,
        Kind::FinalAccountsSettled(f) => f.settled_at,
        Kind::ExpropriationPreAnnounced(f) => f.announced_at,
        Kind::CompensationPlanPublished(f) => f.comment_period.and_then(|p| p.start),
        Kind::SocialStabilityRiskAssessed(f) => f.completed_at,
        Kind::ExpropriationDecided(f) => f.announced_at,
        Kind::CompensationPaid(f) => f.paid_at,
        Kind::HouseholdCompensationPublished(f) => f.published_at,
        Kind::RelocationRecorded(f) => f.started_at,
        Kind::EnvironmentalImpactApproved(f) => f.approved_at,
        _ => None,
    }
}

/// A recorded history.
#[derive(Debug, Clone, Default)]
pub(crate) struct Given {
    events: Vec<EventEnvelope>,
}

/// Records `steps` in order, each of which must be accepted.
pub(crate) fn given(steps: &[Step]) -> Given {
    steps.iter().cloned().fold(Given::default(), Given::and)
}

impl Given {
    /// Records one more step, which must be accepted.
    pub(crate) fn and(mut self, step: impl Into<Step>) -> Self {
        let step = step.into();
        let seq = self.events.len() + 1;
        let flags = decide(&self.state(), &step.submission(seq), &e(seq))
            .unwrap_or_else(|rejection| panic!("given step {seq} was refused: {rejection}"));
        self.events.push(EventEnvelope {
            event_id: e(seq),
            subject: PROJECT.to_owned(),
            project_seq: seq as u64,
            occurred_at: Some(step.occurred_at()),
            flags,
            body: step.body,
            ..Default::default()
        });
        self
    }

    /// Records one more step without deciding it: an event an older version
    /// of the rules accepted.
    pub(crate) fn and_recorded_earlier(mut self, step: impl Into<Step>) -> Self {
        let step = step.into();
        let seq = self.events.len() + 1;
        self.events.push(EventEnvelope {
            event_id: e(seq),
            subject: PROJECT.to_owned(),
            project_seq: seq as u64,
            occurred_at: Some(step.occurred_at()),
            body: step.body,
            ..Default::default()
        });
        self
    }

    /// Decides one more step, recorded as the next event id.
    pub(crate) fn when(&self, step: impl Into<Step>) -> Outcome {
        let step = step.into();
        let seq = self.events.len() + 1;
        Outcome { result: decide(&self.state(), &step.submission(seq), &e(seq)), event_id: e(seq) }
    }

    /// The state folded from the recorded events.
    pub(crate) fn state(&self) -> ProjectState {
        ProjectState::from_events(&self.events)
    }

    /// The recorded events.
    pub(crate) fn events(&self) -> &[EventEnvelope] {
        &self.events
    }

    /// Every flag raised while recording the history.
    pub(crate) fn flags_raised(&self) -> Vec<&ComplianceFlag> {
        self.events.iter().flat_map(|event| &event.flags).collect()
    }
}
