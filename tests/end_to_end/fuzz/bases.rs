//! The valid requests the cases start from: one project at each step of
//! the lawful PPP lifecycle (its next request), a request of every other
//! ingestion method, and supervision requests with every filter set and
//! real page tokens.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::supervision_service_client::SupervisionServiceClient;
use gongkai_scenarios::{Request, expropriation_lifecycle, facts, org, ppp_lifecycle, ts};
use prost::Message;
use tonic::transport::Channel;

use super::{STEPS, WATCH_EVENTS};
use crate::ingestion::{Ingestion, SUPERVISOR_TOKEN};

fn correct_path(domain: pb::Domain) -> &'static str {
    match domain {
        pb::Domain::Projects => "/gongkai.v1.ProjectService/CorrectDisclosure",
        pb::Domain::Tenders => "/gongkai.v1.TenderService/CorrectDisclosure",
        pb::Domain::Review => "/gongkai.v1.QualificationReviewService/CorrectDisclosure",
        pb::Domain::Awards => "/gongkai.v1.AwardService/CorrectDisclosure",
        pb::Domain::Contracts | pb::Domain::Unspecified => "/gongkai.v1.ContractService/CorrectDisclosure",
    }
}

/// The method and the encoded message of a lifecycle request.
fn encoded(request: &Request) -> (&'static str, Vec<u8>) {
    macro_rules! paths {
        ($($variant:ident => $path:literal),* $(,)?) => {
            match request {
                $(Request::$variant(m) => ($path, m.encode_to_vec()),)*
                Request::CorrectDisclosure(domain, m) => (correct_path(*domain), m.encode_to_vec()),
            }
        };
    }
    paths!(
        RecordApproval => "/gongkai.v1.ProjectService/RecordApproval",
        DisclosePppDetails => "/gongkai.v1.ProjectService/DisclosePppDetails",
        SuspendProject => "/gongkai.v1.ProjectService/SuspendProject",
        ResumeProject => "/gongkai.v1.ProjectService/ResumeProject",
        CancelProject => "/gongkai.v1.ProjectService/CancelProject",
        PreAnnounceExpropriation => "/gongkai.v1.ProjectService/PreAnnounceExpropriation",
        PublishCompensationPlan => "/gongkai.v1.ProjectService/PublishCompensationPlan",
        RecordRiskAssessment => "/gongkai.v1.ProjectService/RecordRiskAssessment",
        RecordExpropriationDecision => "/gongkai.v1.ProjectService/RecordExpropriationDecision",
        RecordCompensationPayment => "/gongkai.v1.ProjectService/RecordCompensationPayment",
        PublishHouseholdCompensation => "/gongkai.v1.ProjectService/PublishHouseholdCompensation",
        RecordRelocation => "/gongkai.v1.ProjectService/RecordRelocation",
        RecordEnvironmentalApproval => "/gongkai.v1.ProjectService/RecordEnvironmentalApproval",
        AnnounceTender => "/gongkai.v1.TenderService/AnnounceTender",
        AmendTender => "/gongkai.v1.TenderService/AmendTender",
        SuspendTender => "/gongkai.v1.TenderService/SuspendTender",
        ResumeTender => "/gongkai.v1.TenderService/ResumeTender",
        CancelTender => "/gongkai.v1.TenderService/CancelTender",
        RecordBidOpening => "/gongkai.v1.TenderService/RecordBidOpening",
        RecordPrequalification => "/gongkai.v1.QualificationReviewService/RecordPrequalification",
        RecordEvaluation => "/gongkai.v1.QualificationReviewService/RecordEvaluation",
        PublicizeCandidates => "/gongkai.v1.QualificationReviewService/PublicizeCandidates",
        RecordObjection => "/gongkai.v1.QualificationReviewService/RecordObjection",
        RecordComplaint => "/gongkai.v1.QualificationReviewService/RecordComplaint",
        RecordComplaintDecision => "/gongkai.v1.QualificationReviewService/RecordComplaintDecision",
        AnnounceAward => "/gongkai.v1.AwardService/AnnounceAward",
        IssueAwardNotice => "/gongkai.v1.AwardService/IssueAwardNotice",
        CancelAward => "/gongkai.v1.AwardService/CancelAward",
        RecordFailedTender => "/gongkai.v1.AwardService/RecordFailedTender",
        SignContract => "/gongkai.v1.ContractService/SignContract",
        VaryContract => "/gongkai.v1.ContractService/VaryContract",
        RecordMilestone => "/gongkai.v1.ContractService/RecordMilestone",
        RecordPayment => "/gongkai.v1.ContractService/RecordPayment",
        RecordPerformanceIssue => "/gongkai.v1.ContractService/RecordPerformanceIssue",
        AcceptCompletion => "/gongkai.v1.ContractService/AcceptCompletion",
        SettleContract => "/gongkai.v1.ContractService/SettleContract",
        SettleFinalAccounts => "/gongkai.v1.ContractService/SettleFinalAccounts",
    )
}

/// The fact of a lifecycle request, as a correction's replacement.
fn fact_of(request: &Request) -> Option<(pb::Domain, pb::fact::Kind)> {
    use pb::fact::Kind;
    Some(match request {
        Request::RecordApproval(m) => (pb::Domain::Projects, Kind::ProjectApproved(m.fact.clone()?)),
        Request::AmendTender(m) => (pb::Domain::Tenders, Kind::TenderAmended(m.fact.clone()?)),
        Request::RecordEvaluation(m) => (pb::Domain::Review, Kind::BidsEvaluated(m.fact.clone()?)),
        Request::AnnounceAward(m) => (pb::Domain::Awards, Kind::AwardAnnounced(m.fact.clone()?)),
        Request::RecordMilestone(m) => (pb::Domain::Contracts, Kind::MilestoneReached(m.fact.clone()?)),
        _ => return None,
    })
}

pub(super) fn project_code(k: usize) -> String {
    format!("2024-230113-77-01-{:06}", 970_000 + k)
}

/// Valid (or nearly valid) requests to start mutations from, per method.
#[derive(Debug, Default)]
pub(super) struct Bases {
    pub(super) by_method: BTreeMap<&'static str, Vec<Vec<u8>>>,
}

impl Bases {
    fn add(&mut self, path: &'static str, bytes: Vec<u8>) {
        self.by_method.entry(path).or_default().push(bytes);
    }

    fn request(&mut self, request: &Request) {
        let (path, bytes) = encoded(request);
        self.add(path, bytes);
    }
}

/// Submits project `k`'s first `k` lifecycle steps (so that step `k` is
/// the lawful next one), for `k` in 0..=29; returns the requests to fuzz.
pub(super) async fn prepare(gongkai: &Ingestion) -> Bases {
    let mut bases = Bases::default();
    let mut full_receipts = Vec::new();
    for k in 0..=STEPS {
        let lifecycle = ppp_lifecycle(&project_code(k), &format!("fz{k}"));
        let receipts = gongkai.submit_all(lifecycle.requests[..k].to_vec()).await;
        if let Some(next) = lifecycle.requests.get(k) {
            bases.request(next);
        }
        if k == STEPS {
            full_receipts = receipts;
        }
    }
    let full = ppp_lifecycle(&project_code(STEPS), &format!("fz{STEPS}"));
    let t = Utc.with_ymd_and_hms(2024, 3, 27, 1, 0, 0).single().expect("time");
    let tendering = project_code(4);
    let awarded = project_code(9);
    let signed = project_code(16);
    let tender_code = full.tender_code.clone();
    let bidder = org("黑龙江省建工集团有限责任公司", 200);
    macro_rules! req {
        ($variant:ident, $message:ident, $project:expr, $fact:expr) => {
            bases.request(&Request::$variant(pb::$message {
                request_id: "fuzz-base".into(),
                project_code: $project.clone(),
                occurred_at: Some(ts(t)),
                fact: Some($fact),
            }))
        };
    }
    req!(SuspendProject, SuspendProjectRequest, tendering, facts::project_suspended());
    req!(ResumeProject, ResumeProjectRequest, tendering, facts::project_resumed());
    req!(CancelProject, CancelProjectRequest, project_code(3), facts::project_cancelled());
    req!(SuspendTender, SuspendTenderRequest, tendering, facts::tender_suspended(&tender_code, &["A1"]));
    req!(
        ResumeTender,
        ResumeTenderRequest,
        tendering,
        facts::tender_resumed(&tender_code, t + chrono::Duration::days(30))
    );
    req!(CancelTender, CancelTenderRequest, tendering, facts::tender_cancelled(&tender_code, &["B1"]));
    req!(
        RecordPrequalification,
        RecordPrequalificationRequest,
        tendering,
        pb::PrequalificationCompleted {
            disqualified_applicants: vec![pb::DisqualifiedApplicant {
                applicant: Some(org("龙建路桥股份有限公司", 202)),
                reason: "资质等级不符合要求".into(),
            }],
            ..facts::prequalification_completed(
                &tender_code,
                &["A1"],
                t,
                vec![bidder.clone(), org("中建八局第一建设有限公司", 201)],
            )
        }
    );
    req!(
        RecordObjection,
        RecordObjectionRequest,
        tendering,
        facts::objection_raised(&tender_code, "A1", bidder.clone(), t)
    );
    let uuid = "01900000-0000-7000-8000-000000000000".to_owned();
    req!(
        RecordComplaint,
        RecordComplaintRequest,
        tendering,
        facts::complaint_filed(&tender_code, "A1", bidder, t, &uuid)
    );
    req!(RecordComplaintDecision, RecordComplaintDecisionRequest, tendering, facts::complaint_decided(&uuid, t));
    req!(CancelAward, CancelAwardRequest, awarded, facts::award_cancelled(&tender_code, "A1"));
    req!(RecordFailedTender, RecordFailedTenderRequest, awarded, facts::tender_failed(&tender_code, "B1"));
    req!(RecordPerformanceIssue, RecordPerformanceIssueRequest, signed, facts::performance_issue_recorded("HT-A1", t));
    // The land facts, on a project whose expropriation is pre-announced (so
    // that its payments and household results are lawful next steps).
    let land = expropriation_lifecycle(&project_code(STEPS + 1), "fz-land");
    let opened = land.requests.iter().position(|r| matches!(r, Request::PreAnnounceExpropriation(_)));
    let opened = opened.expect("the lifecycle pre-announces its land") + 1;
    gongkai.submit_all(land.requests[..opened].to_vec()).await;
    for request in &land.requests[opened - 1..] {
        let (path, _) = encoded(request);
        if path.starts_with("/gongkai.v1.ProjectService/") {
            bases.request(request);
        }
    }
    // A correction through each service, of an event of its own domain.
    for (index, request) in full.requests.iter().enumerate() {
        let Some((domain, replacement)) = fact_of(request) else { continue };
        if bases.by_method.contains_key(correct_path(domain)) {
            continue;
        }
        bases.request(&Request::CorrectDisclosure(
            domain,
            pb::CorrectDisclosureRequest {
                request_id: "fuzz-base".into(),
                project_code: full.project_code.clone(),
                occurred_at: Some(ts(t)),
                fact: Some(pb::DisclosureCorrected {
                    supersedes_event_id: full_receipts[index].event_id.clone(),
                    reason: "原公告存在笔误".into(),
                    replacement: Some(pb::Fact { kind: Some(replacement) }),
                    replacement_occurred_at: None,
                }),
            },
        ));
    }
    bases
}

/// `message` as a call with the supervisor's credential.
pub(super) fn as_supervisor<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let token = format!("Bearer {SUPERVISOR_TOKEN}").parse().expect("header");
    request.metadata_mut().insert("authorization", token);
    request
}

/// Supervision requests with every filter set, and real page tokens once the
/// projector has caught up.
pub(super) async fn supervision_bases(bases: &mut Bases, channel: Channel) {
    let at = |y, m, d| ts(Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().expect("time"));
    let period = || Some(pb::Period { start: Some(at(2024, 1, 1)), end: Some(at(2027, 1, 1)) });
    let full = project_code(STEPS);
    let mut client = SupervisionServiceClient::new(channel);
    let search = pb::SearchProjectsRequest {
        region_prefix: "2301".into(),
        stages: vec![pb::Stage::Tendering as i32, pb::Stage::Completion as i32],
        project_type: pb::ProjectType::Ppp as i32,
        owner: "城市建设投资".into(),
        winner: gongkai_scenarios::credit_code(200),
        amount_basis: pb::AmountBasis::ContractPrice as i32,
        min_amount_fen: Some(1),
        max_amount_fen: Some(i64::MAX),
        active_period: period(),
        has_flag: true,
        flag_rule: "TBL-24-BID-PERIOD".into(),
        flag_period: period(),
        text: "污水".into(),
        source: "hrb-ggzy".into(),
        page_size: 2,
        page_token: String::new(),
    };
    bases.add("/gongkai.v1.SupervisionService/SearchProjects", search.encode_to_vec());
    // Wait for the projector to show at least two projects: a real cursor.
    let started = Instant::now();
    let first_page = pb::SearchProjectsRequest { page_size: 1, ..Default::default() };
    loop {
        let page = client
            .search_projects(as_supervisor(first_page.clone()))
            .await
            .expect("SearchProjects answers")
            .into_inner();
        if !page.next_page_token.is_empty() {
            let next = pb::SearchProjectsRequest { page_token: page.next_page_token, ..first_page.clone() };
            bases.add("/gongkai.v1.SupervisionService/SearchProjects", next.encode_to_vec());
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            println!("fuzz: no SearchProjects cursor within 30 s; fuzzing without one");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let flags = pb::ListFlagsRequest {
        rule: "GK-MISSING-PUBLICITY".into(),
        region_prefix: "230113".into(),
        source: "hrb-ggzy".into(),
        period: period(),
        project_code: project_code(5),
        page_size: 1,
        page_token: String::new(),
    };
    bases.add("/gongkai.v1.SupervisionService/ListFlags", flags.encode_to_vec());
    let first_flags = pb::ListFlagsRequest { page_size: 1, ..Default::default() };
    let page = client.list_flags(as_supervisor(first_flags.clone())).await.expect("ListFlags answers").into_inner();
    if !page.next_page_token.is_empty() {
        let next = pb::ListFlagsRequest { page_token: page.next_page_token, ..first_flags };
        bases.add("/gongkai.v1.SupervisionService/ListFlags", next.encode_to_vec());
    }
    let get = pb::GetProjectRequest { project_code: full.clone(), include_events: true };
    bases.add("/gongkai.v1.SupervisionService/GetProject", get.encode_to_vec());
    let view = pb::GetPublicViewRequest { project_code: full.clone() };
    bases.add("/gongkai.v1.SupervisionService/GetPublicView", view.encode_to_vec());
    let timeliness =
        pb::GetTimelinessRequest { period: period(), region_prefix: "2301".into(), source: "hrb-ggzy".into() };
    bases.add("/gongkai.v1.SupervisionService/GetTimeliness", timeliness.encode_to_vec());
    let verify = pb::VerifyProjectRequest { project_code: full.clone() };
    bases.add("/gongkai.v1.SupervisionService/VerifyProject", verify.encode_to_vec());
    let watch = pb::WatchEventsRequest {
        after_position: 3,
        domains: vec![pb::Domain::Tenders as i32, pb::Domain::Contracts as i32],
        region_prefix: "230113".into(),
        project_code: full.clone(),
        types: vec!["gongkai.v1.TenderAnnounced".into(), "gongkai.v1.ContractVaried".into()],
    };
    bases.add(WATCH_EVENTS, watch.encode_to_vec());
    let audit = pb::ListAuditRecordsRequest {
        period: period(),
        principal: "hlj-supervisor".into(),
        method: "/gongkai.v1.SupervisionService/GetProject".into(),
        project_code: full,
        page_size: 5,
        page_token: String::new(),
    };
    bases.add("/gongkai.v1.SupervisionService/ListAuditRecords", audit.encode_to_vec());
    bases.add("/gongkai.v1.SupervisionService/GetCheckpoint", pb::GetCheckpointRequest {}.encode_to_vec());
    let inclusion = pb::GetInclusionProofRequest {
        event_id: String::new(),
        project_code: project_code(STEPS),
        project_seq: 2,
        tree_size: 3,
    };
    bases.add("/gongkai.v1.SupervisionService/GetInclusionProof", inclusion.encode_to_vec());
    let consistency = pb::GetConsistencyProofRequest { old_size: 2, new_size: 0 };
    bases.add("/gongkai.v1.SupervisionService/GetConsistencyProof", consistency.encode_to_vec());
}
