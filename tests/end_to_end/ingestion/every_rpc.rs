//! Every RPC the lawful lifecycle does not use, in a plausible order; the
//! same submissions feed the open-data exports test.

use gongkai_domain::hash::verify_chain;
use gongkai_proto::v1 as pb;
use gongkai_scenarios::{Request, expropriation_lifecycle, facts, ppp_lifecycle, ts};
use tonic::Code;

use gongkai_load::Clients;
use gongkai_store::Store;

use super::{Backend, Ingestion, approval, reason, submit_all};

/// Builds a request of `variant` for `project` at `at`.
macro_rules! req {
    ($variant:ident, $message:ident, $project:expr, $id:expr, $at:expr, $fact:expr) => {
        Request::$variant(pb::$message {
            request_id: $id.into(),
            project_code: $project.into(),
            occurred_at: Some(ts($at)),
            fact: Some($fact),
        })
    };
}

/// The RPCs the lawful lifecycle does not use: suspension, resumption and
/// cancellation, prequalification, objections and complaints, award
/// cancellation, failed tender and re-tender, performance issues, the land
/// facts, and a correction through each of the five services.
pub(crate) async fn every_other_rpc_is_accepted_in_a_plausible_order(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    submit_every_other_rpc(&gongkai.harbin, &gongkai.store).await;
}

/// The projects [`submit_every_other_rpc`] writes.
pub(crate) struct EveryRpc {
    /// The lawful PPP lifecycle, then a performance issue and a correction.
    pub(crate) lifecycle: String,
    /// The construction project with everything else.
    pub(crate) other: String,
    /// The PPP project with land expropriation, resettlement and operation.
    pub(crate) land: String,
}

/// Submits the PPP lifecycle and then every RPC it does not use through
/// `clients` (a submitter for region 2301), asserting each step against
/// `store`; shared by the ingestion test, the open-data exports test and the
/// site's link check.
pub(crate) async fn submit_every_other_rpc(clients: &Clients, store: &Store) -> EveryRpc {
    use chrono::{Duration, TimeZone, Utc};
    use gongkai_scenarios::{doc, org};

    // The lawful lifecycle, for its contract.
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000007", "life");
    let lifecycle_receipts = submit_all(clients, lifecycle.requests.clone()).await;
    // The land RPCs, in the lifecycle of a project that needs land.
    let land = expropriation_lifecycle("2024-230113-77-01-000009", "land");
    let land_receipts = submit_all(clients, land.requests.clone()).await;
    assert!(land_receipts.iter().all(|receipt| receipt.flags.is_empty()), "the land lifecycle is lawful");

    let p = "2024-230102-48-01-000008";
    let t = Utc.with_ymd_and_hms(2024, 6, 3, 1, 0, 0).single().expect("time");
    let day = Duration::days(1);
    let bidders = [org("甲建设有限公司", 501), org("乙建设有限公司", 502)];
    let mut p2_approval = approval(&ppp_lifecycle(p, "p2"));
    p2_approval.request_id = "p2-approval".into();
    let fact = p2_approval.fact.as_mut().expect("fact");
    fact.project_type = pb::ProjectType::Construction as i32;
    fact.region_code = "230102".into();
    fact.location = None;
    let h = clients;
    let send = |request: Request| async move { h.send(request).await };

    send(Request::RecordApproval(p2_approval)).await.expect("approval");
    let lot = |code: &str| pb::Lot {
        lot_code: code.into(),
        name: "道路改造工程".into(),
        ceiling_price_fen: Some(1_000_000_000),
        estimated_value_fen: 900_000_000,
        description: "道路改造".into(),
        planned_contract_period: None,
    };
    let tender = |code: &str, retender_of: &str| pb::TenderAnnounced {
        tender_code: code.into(),
        name: "道路改造工程施工招标".into(),
        method: pb::ProcurementMethod::Open as i32,
        lots: vec![lot("C1")],
        tender_documents_issued_at: Some(ts(t)),
        document_sale_period: Some(pb::Period { start: Some(ts(t)), end: Some(ts(t + day * 6)) }),
        bid_deadline: Some(ts(t + day * 30)),
        bid_opening_at: Some(ts(t + day * 30)),
        bid_opening_place: "开标室1".into(),
        qualification_mode: pb::QualificationMode::Prequalification as i32,
        prequalification_deadline: Some(ts(t + day * 8)),
        bid_security_fen: 0,
        unified_deal_code: format!("{code}-JY"),
        retender_of: retender_of.into(),
        invited_bidders: Vec::new(),
        tenderee: Some(org("哈尔滨市道路工程管理处", 510)),
        tender_agent: None,
        category: pb::ProcurementCategory::Works as i32,
        documents: vec![doc("招标公告", pb::DocumentType::Notice, t)],
    };
    send(req!(AnnounceTender, AnnounceTenderRequest, p, "p2-t2", t, tender("T2", ""))).await.expect("tender T2");
    send(req!(
        RecordPrequalification,
        RecordPrequalificationRequest,
        p,
        "p2-pq",
        t + day * 9,
        facts::prequalification_completed("T2", &["C1"], t, bidders.to_vec())
    ))
    .await
    .expect("prequalification");
    let suspended =
        send(req!(SuspendTender, SuspendTenderRequest, p, "p2-susp", t + day * 10, facts::tender_suspended("T2", &[])))
            .await
            .expect("tender suspended");
    let objection = send(req!(
        RecordObjection,
        RecordObjectionRequest,
        p,
        "p2-obj",
        t + day * 10,
        pb::ObjectionRaised {
            subject: "资格预审结果异议".into(),
            ..facts::objection_raised("T2", "C1", bidders[1].clone(), t + day * 10)
        }
    ))
    .await
    .expect("objection");
    let complaint = send(req!(
        RecordComplaint,
        RecordComplaintRequest,
        p,
        "p2-cmp",
        t + day * 13,
        facts::complaint_filed("T2", "C1", bidders[1].clone(), t + day * 13, &objection.event_id)
    ))
    .await
    .expect("complaint");
    send(req!(
        RecordComplaintDecision,
        RecordComplaintDecisionRequest,
        p,
        "p2-dec",
        t + day * 20,
        facts::complaint_decided(&complaint.event_id, t + day * 20)
    ))
    .await
    .expect("complaint decision");
    send(req!(
        ResumeTender,
        ResumeTenderRequest,
        p,
        "p2-res",
        t + day * 21,
        pb::TenderResumed { reason: "投诉处理完毕".into(), ..facts::tender_resumed("T2", t + day * 45) }
    ))
    .await
    .expect("tender resumed");
    let opened = send(req!(
        RecordBidOpening,
        RecordBidOpeningRequest,
        p,
        "p2-open",
        t + day * 45,
        pb::BidsOpened {
            tender_code: "T2".into(),
            lot_code: "C1".into(),
            opened_at: Some(ts(t + day * 45)),
            place: "开标室1".into(),
            bids: bidders
                .iter()
                .enumerate()
                .map(|(i, b)| pb::Bid {
                    bidder: Some(b.clone()),
                    price_fen: 800_000_000 + i as i64 * 1_000_000,
                    submitted_at: Some(ts(t + day * 44)),
                    consortium_members: Vec::new(),
                })
                .collect(),
            documents: Vec::new(),
        }
    ))
    .await
    .expect("bid opening");
    assert!(opened.flags.is_empty(), "two distinct bids raise nothing yet: {:?}", opened.flags);
    let candidates: Vec<pb::Candidate> = bidders
        .iter()
        .enumerate()
        .map(|(i, b)| pb::Candidate {
            rank: i as i32 + 1,
            bidder: Some(b.clone()),
            bid_price_fen: 800_000_000 + i as i64 * 1_000_000,
            score: "90".into(),
            project_manager: None,
        })
        .collect();
    let evaluated = send(req!(
        RecordEvaluation,
        RecordEvaluationRequest,
        p,
        "p2-eval",
        t + day * 46,
        pb::BidsEvaluated {
            tender_code: "T2".into(),
            lot_code: "C1".into(),
            completed_at: Some(ts(t + day * 46)),
            candidates: candidates.clone(),
            committee_members: Vec::new(),
            valid_bid_count: 2,
            rejected_bids: Vec::new(),
            evaluation_method: pb::EvaluationMethod::LowestEvaluatedPrice as i32,
            documents: Vec::new(),
        }
    ))
    .await
    .expect("evaluation");
    assert!(evaluated.flags.iter().any(|f| f.rule == "TBL-28-FEWER-THAN-3-BIDS"), "{:?}", evaluated.flags);
    send(req!(
        PublicizeCandidates,
        PublicizeCandidatesRequest,
        p,
        "p2-pub",
        t + day * 47,
        pb::CandidatesPublicized {
            tender_code: "T2".into(),
            lot_code: "C1".into(),
            publicity_period: Some(pb::Period { start: Some(ts(t + day * 47)), end: Some(ts(t + day * 50)) }),
            candidates,
            documents: Vec::new(),
        }
    ))
    .await
    .expect("publicity");
    send(req!(
        AnnounceAward,
        AnnounceAwardRequest,
        p,
        "p2-award",
        t + day * 51,
        pb::AwardAnnounced {
            tender_code: "T2".into(),
            lot_code: "C1".into(),
            winner: Some(bidders[0].clone()),
            award_price_fen: 800_000_000,
            announced_at: Some(ts(t + day * 51)),
            not_first_ranked_reason: String::new(),
            documents: Vec::new(),
        }
    ))
    .await
    .expect("award");
    send(req!(CancelAward, CancelAwardRequest, p, "p2-cancel-award", t + day * 55, facts::award_cancelled("T2", "C1")))
        .await
        .expect("award cancelled");
    let failed = send(req!(
        RecordFailedTender,
        RecordFailedTenderRequest,
        p,
        "p2-failed",
        t + day * 56,
        facts::tender_failed("T2", "C1")
    ))
    .await
    .expect("failed tender");
    let mut retender = tender("T3", "T2");
    retender.qualification_mode = pb::QualificationMode::PostQualification as i32;
    retender.prequalification_deadline = None;
    send(req!(AnnounceTender, AnnounceTenderRequest, p, "p2-t3", t + day * 60, retender)).await.expect("re-tender");
    send(req!(CancelTender, CancelTenderRequest, p, "p2-cancel-t3", t + day * 61, facts::tender_cancelled("T3", &[])))
        .await
        .expect("tender cancelled");

    // One correction through each service.
    let correct = |domain: pb::Domain, id: &str, supersedes: &str, replacement: pb::fact::Kind| {
        Request::CorrectDisclosure(
            domain,
            pb::CorrectDisclosureRequest {
                request_id: id.into(),
                project_code: p.into(),
                occurred_at: Some(ts(t + day * 70)),
                fact: Some(pb::DisclosureCorrected {
                    supersedes_event_id: supersedes.into(),
                    reason: "原公告存在笔误".into(),
                    replacement: Some(pb::Fact { kind: Some(replacement) }),
                    replacement_occurred_at: None,
                }),
            },
        )
    };
    let receipt = send(correct(
        pb::Domain::Tenders,
        "p2-fix-susp",
        &suspended.event_id,
        pb::fact::Kind::TenderSuspended(pb::TenderSuspended {
            reason: "收到异议，依法暂停招标活动".into(),
            ..facts::tender_suspended("T2", &[])
        }),
    ))
    .await
    .expect("tender correction");
    assert_eq!(receipt.project_seq, 17, "the correction is a new event");
    send(correct(
        pb::Domain::Review,
        "p2-fix-obj",
        &objection.event_id,
        pb::fact::Kind::ObjectionRaised(pb::ObjectionRaised {
            subject: "对资格预审结果的异议".into(),
            ..facts::objection_raised("T2", "C1", bidders[1].clone(), t + day * 10)
        }),
    ))
    .await
    .expect("review correction");
    let corrected_failure = pb::fact::Kind::TenderFailed(pb::TenderFailed {
        reason_text: "合格投标人不足三家".into(),
        ..facts::tender_failed("T2", "C1")
    });
    // A correction sent to a service that does not own the fact.
    let status = send(correct(pb::Domain::Projects, "p2-fix-wrong", &failed.event_id, corrected_failure.clone()))
        .await
        .expect_err("wrong service");
    assert_eq!((status.code(), reason(&status)), (Code::FailedPrecondition, "EVENT_OTHER_DOMAIN".to_owned()));
    send(correct(pb::Domain::Awards, "p2-fix-failed", &failed.event_id, corrected_failure))
        .await
        .expect("awards correction");

    send(req!(SuspendProject, SuspendProjectRequest, p, "p2-psusp", t + day * 80, facts::project_suspended()))
        .await
        .expect("project suspended");
    send(req!(ResumeProject, ResumeProjectRequest, p, "p2-pres", t + day * 90, facts::project_resumed()))
        .await
        .expect("project resumed");
    let approval_event = store.events().load_stream(p).await.expect("stream")[0].event_id.clone();
    let mut corrected = approval(&ppp_lifecycle(p, "p2")).fact.expect("fact");
    corrected.project_type = pb::ProjectType::Construction as i32;
    corrected.region_code = "230102".into();
    corrected.location = None;
    corrected.project_name = "道路改造工程（更正）".into();
    send(correct(pb::Domain::Projects, "p2-fix-approval", &approval_event, pb::fact::Kind::ProjectApproved(corrected)))
        .await
        .expect("projects correction");
    send(req!(CancelProject, CancelProjectRequest, p, "p2-pcancel", t + day * 100, facts::project_cancelled()))
        .await
        .expect("project cancelled");
    let events = store.events().load_stream(p).await.expect("stream");
    assert_eq!(events.len(), 23);
    assert_eq!(verify_chain(&events), None);

    // The lifecycle project: a performance issue and a contracts correction.
    let q = &lifecycle.project_code;
    let later = Utc.with_ymd_and_hms(2025, 1, 10, 2, 0, 0).single().expect("time");
    send(req!(
        RecordPerformanceIssue,
        RecordPerformanceIssueRequest,
        q.as_str(),
        "life-issue",
        later,
        facts::performance_issue_recorded("HT-A1", later)
    ))
    .await
    .expect("performance issue");
    let (index, milestone) = lifecycle
        .requests
        .iter()
        .enumerate()
        .find_map(|(i, r)| match r {
            Request::RecordMilestone(m) => Some((i, m.fact.clone().expect("fact"))),
            _ => None,
        })
        .expect("a milestone");
    let mut fixed = milestone;
    fixed.milestone_name = "开工（更正）".into();
    let receipt = h
        .send(Request::CorrectDisclosure(
            pb::Domain::Contracts,
            pb::CorrectDisclosureRequest {
                request_id: "life-fix-milestone".into(),
                project_code: q.clone(),
                occurred_at: Some(ts(later)),
                fact: Some(pb::DisclosureCorrected {
                    supersedes_event_id: lifecycle_receipts[index].event_id.clone(),
                    reason: "里程碑名称笔误".into(),
                    replacement: Some(pb::Fact { kind: Some(pb::fact::Kind::MilestoneReached(fixed)) }),
                    replacement_occurred_at: None,
                }),
            },
        ))
        .await
        .expect("contracts correction");
    assert_eq!(receipt.project_seq, lifecycle_receipts.len() as u64 + 2);
    EveryRpc { lifecycle: q.clone(), other: p.to_owned(), land: land.project_code }
}
