//! The five ingestion services over real sockets, each behaviour run against
//! SQLite and the real PostgreSQL with one generic test body.

use std::time::Instant;

use gongkai_domain::hash::verify_chain;
use gongkai_load::Clients;
use gongkai_proto::v1 as pb;
use gongkai_scenarios::{Request, facts, ppp_lifecycle, ts};
use gongkai_store::{EventCounts, PoolOptions, Store};
use gongkai_testkit::GongkaiProcess;
// The other scenarios name the backend from here, beside `Ingestion`.
pub(crate) use gongkai_testkit::store::Backend;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{channel, gongkai_binary, start_gongkai};

/// Credentials of the test configuration: token, id, role, regions.
pub(crate) const HARBIN_TOKEN: &str = "harbin-trading-center-token";
const QIQIHAR_TOKEN: &str = "qiqihar-trading-center-token";
pub(crate) const SUPERVISOR_TOKEN: &str = "heilongjiang-supervisor-token";

/// gongkai serving the five ingestion targets on a fresh database.
pub(crate) struct Ingestion {
    _dir: tempfile::TempDir,
    pub(crate) process: GongkaiProcess,
    /// The database URL.
    pub(crate) storage: String,
    /// The configuration file (credentials).
    pub(crate) config: String,
    /// The same database, read directly by the test.
    pub(crate) store: Store,
    /// Clients authenticated as the Harbin trading center (regions 2301).
    pub(crate) harbin: Clients,
}

fn credential(id: &str, token: &str, role: &str, regions: &str) -> String {
    let hash = hex::encode(gongkai_grpc::auth::token_sha256(token));
    format!(
        "[[auth.credentials]]\nid = \"{id}\"\ntoken_sha256 = \"{hash}\"\nrole = \"{role}\"\nregions = [{regions}]\n"
    )
}

impl Ingestion {
    pub(crate) async fn start(backend: Backend) -> Self {
        Self::start_with(backend, "projects,tenders,review,awards,contracts", &[]).await
    }

    /// gongkai serving `targets` on a fresh database, with `extra_env`.
    pub(crate) async fn start_with(backend: Backend, targets: &str, extra_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = backend.fresh_url(dir.path()).await;
        let config = dir.path().join("gongkai.toml");
        let credentials = [
            credential("hrb-ggzy", HARBIN_TOKEN, "submitter", "\"2301\""),
            credential("qqhr-ggzy", QIQIHAR_TOKEN, "submitter", "\"2302\""),
            credential("hlj-supervisor", SUPERVISOR_TOKEN, "supervisor", "\"23\""),
        ];
        std::fs::write(&config, credentials.join("\n")).expect("config written");
        let config = config.to_str().expect("utf-8 path").to_owned();
        let mut env = vec![("GONGKAI_STORAGE__URL", storage.as_str()), ("GONGKAI_GRPC__LISTEN", "127.0.0.1:0")];
        env.extend_from_slice(extra_env);

        let migrated = tokio::process::Command::new(gongkai_binary())
            .args(["migrate", "--config", &config])
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .status()
            .await
            .expect("gongkai migrate runs");
        assert!(migrated.success(), "migrations apply");
        let process = start_gongkai(&["serve", "--target", targets, "--config", &config], &env).await;
        let store = Store::connect(&storage, &PoolOptions::default()).await.expect("test reads the store");
        let harbin = Clients::new(channel(process.endpoint("grpc")).await, HARBIN_TOKEN);
        Self { _dir: dir, process, storage, config, store, harbin }
    }

    /// Sends SIGTERM and returns how the process exited.
    pub(crate) async fn terminate(self) -> std::process::ExitStatus {
        self.process.terminate(std::time::Duration::from_secs(30)).await
    }

    pub(crate) async fn counts(&self) -> EventCounts {
        self.store.events().event_counts().await.expect("counts")
    }

    /// Sends every request, asserting each is accepted; returns the receipts.
    pub(crate) async fn submit_all(&self, requests: Vec<Request>) -> Vec<pb::Receipt> {
        let mut receipts = Vec::new();
        for (index, request) in requests.into_iter().enumerate() {
            let label = format!("{request:?}").chars().take(80).collect::<String>();
            let receipt = self
                .harbin
                .send(request)
                .await
                .unwrap_or_else(|status| panic!("request {index} ({label}…) refused: {status:?}"));
            receipts.push(receipt);
        }
        receipts
    }
}

/// The ErrorInfo reason of a status.
pub(crate) fn reason(status: &tonic::Status) -> String {
    status.get_details_error_info().map(|info| info.reason).unwrap_or_default()
}

/// The BadRequest field paths of a status.
pub(crate) fn bad_fields(status: &tonic::Status) -> Vec<String> {
    let mut fields: Vec<String> = status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    fields.sort();
    fields
}

fn approval(lifecycle: &gongkai_scenarios::PppLifecycle) -> pb::RecordApprovalRequest {
    match &lifecycle.requests[0] {
        Request::RecordApproval(request) => request.clone(),
        other => panic!("the lifecycle starts with its approval, not {other:?}"),
    }
}

pub(crate) async fn full_ppp_lifecycle_is_accepted_with_gapless_seqs_and_an_intact_chain(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000001", "ppp");
    let count = lifecycle.requests.len();
    let started = Instant::now();
    let receipts = gongkai.submit_all(lifecycle.requests).await;
    let elapsed = started.elapsed();
    println!(
        "{backend:?}: {count} lifecycle submissions in {} ms ({:.0}/s, one client, sequential)",
        elapsed.as_millis(),
        count as f64 / elapsed.as_secs_f64()
    );

    for (index, receipt) in receipts.iter().enumerate() {
        assert_eq!(receipt.project_seq, index as u64 + 1, "gapless seqs");
        assert!(receipt.flags.is_empty(), "a lawful lifecycle raises no flag: {:?}", receipt.flags);
        assert!(!receipt.replayed);
    }
    let events = gongkai.store.events().load_stream(&lifecycle.project_code).await.expect("stream loads");
    assert_eq!(events.len(), count);
    assert_eq!(verify_chain(&events), None, "the hash chain is intact");
    assert_eq!(events.last().map(|e| e.hash.clone()), receipts.last().map(|r| r.hash.clone()));
    let counts = gongkai.counts().await;
    assert_eq!((counts.events, counts.outbox, counts.streams), (count as u64, count as u64, 1));
}

pub(crate) async fn a_retry_returns_the_first_receipt_and_a_reused_id_is_refused(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000002", "idem");
    let request = approval(&lifecycle);
    let first = gongkai.harbin.send(Request::RecordApproval(request.clone())).await.expect("accepted");
    let before = gongkai.counts().await;

    let retry = gongkai.harbin.send(Request::RecordApproval(request.clone())).await.expect("retry answered");
    assert!(retry.replayed);
    assert_eq!(
        (retry.event_id.as_str(), retry.project_seq, retry.hash.as_str()),
        (first.event_id.as_str(), 1, first.hash.as_str())
    );
    assert_eq!(gongkai.counts().await, before, "a retry writes nothing");

    let mut different = request;
    different.fact.as_mut().expect("fact").project_name = "另一个项目".into();
    let status = gongkai.harbin.send(Request::RecordApproval(different)).await.expect_err("reuse refused");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(reason(&status), "REQUEST_ID_REUSED");
    assert_eq!(gongkai.counts().await, before, "a refused reuse writes nothing");
}

pub(crate) async fn malformed_fields_are_each_reported_and_nothing_is_written(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000003", "bad");
    let mut request = approval(&lifecycle);
    request.project_code = "2024-23011-77-01-000003".into();
    let fact = request.fact.as_mut().expect("fact");
    fact.total_investment_fen = -1;
    fact.project_name = String::new();
    fact.planned_period = Some(pb::DateRange {
        start: Some(gongkai_scenarios::date(2026, 1, 1)),
        end: Some(gongkai_scenarios::date(2025, 1, 1)),
    });
    let status = gongkai.harbin.send(Request::RecordApproval(request)).await.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = bad_fields(&status);
    for expected in ["project_code", "fact.total_investment_fen", "fact.project_name"] {
        assert!(fields.iter().any(|f| f == expected), "{expected} reported in {fields:?}");
    }
    assert!(fields.iter().any(|f| f.starts_with("fact.planned_period")), "period reported in {fields:?}");
    let mut unique = fields.clone();
    unique.dedup();
    assert_eq!(unique, fields, "one violation per field");
    assert_eq!(gongkai.counts().await, EventCounts::default(), "nothing written");
}

pub(crate) async fn a_fact_out_of_order_is_refused_with_its_rule_and_nothing_is_written(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000004", "order");
    // Approval, PPP details, tender, amendment: then evaluation before any bid opening.
    let mut requests = lifecycle.requests.into_iter();
    gongkai.submit_all(requests.by_ref().take(4).collect()).await;
    let before = gongkai.counts().await;
    let evaluation =
        requests.find(|r| matches!(r, Request::RecordEvaluation(_))).expect("the lifecycle has an evaluation");
    let status = gongkai.harbin.send(evaluation).await.expect_err("evaluation before bid opening is refused");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason(&status), "BIDS_NOT_OPENED");
    assert!(status.message().contains("BIDS_NOT_OPENED"), "the message names the rule: {}", status.message());
    assert_eq!(gongkai.counts().await, before, "a refused fact writes nothing");

    // A tender for a project nobody approved.
    let other = ppp_lifecycle("2024-230113-77-01-000099", "orphan");
    let tender = other.requests.into_iter().nth(2).expect("tender");
    let status = gongkai.harbin.send(tender).await.expect_err("unknown project");
    assert_eq!((status.code(), reason(&status)), (Code::FailedPrecondition, "PROJECT_NOT_FOUND".to_owned()));
    assert_eq!(gongkai.counts().await, before);
}

pub(crate) async fn callers_are_authenticated_and_scoped_to_their_regions(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000005", "auth");
    let request = Request::RecordApproval(approval(&lifecycle));

    for token in ["", "not-a-known-token"] {
        let status = gongkai.harbin.with_token(token).send(request.clone()).await.expect_err("refused");
        assert_eq!(status.code(), Code::Unauthenticated, "token {token:?}");
    }
    let status = gongkai.harbin.with_token(QIQIHAR_TOKEN).send(request.clone()).await.expect_err("other region");
    assert_eq!((status.code(), reason(&status)), (Code::PermissionDenied, "REGION_NOT_ALLOWED".to_owned()));
    let status = gongkai.harbin.with_token(SUPERVISOR_TOKEN).send(request.clone()).await.expect_err("not a submitter");
    assert_eq!((status.code(), reason(&status)), (Code::PermissionDenied, "NOT_A_SUBMITTER".to_owned()));
    assert_eq!(gongkai.counts().await, EventCounts::default(), "nothing written");

    // The project, once approved by Harbin, stays out of Qiqihar's reach.
    gongkai.harbin.send(request).await.expect("Harbin may write its own region");
    let ppp = lifecycle.requests[1].clone();
    let status = gongkai.harbin.with_token(QIQIHAR_TOKEN).send(ppp).await.expect_err("other region");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(gongkai.counts().await.events, 1);
}

pub(crate) async fn concurrent_clients_on_one_project_lose_and_duplicate_nothing(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000006", "conc");
    gongkai.submit_all(lifecycle.requests.iter().take(3).cloned().collect()).await;

    const CLIENTS: usize = 16;
    const EACH: usize = 10;
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let clients = gongkai.harbin.clone();
            let project = lifecycle.project_code.clone();
            let tender = lifecycle.tender_code.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for n in 0..EACH {
                    let request = objection(&project, &tender, &format!("conc-{client}-{n}"));
                    acknowledged.push(clients.send(request).await.expect("accepted").event_id);
                }
                acknowledged
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.expect("client task"));
    }
    println!(
        "{backend:?}: {} concurrent submissions to one project in {} ms",
        CLIENTS * EACH,
        started.elapsed().as_millis()
    );

    let events = gongkai.store.events().load_stream(&lifecycle.project_code).await.expect("stream");
    let seqs: Vec<u64> = events.iter().map(|e| e.project_seq).collect();
    assert_eq!(seqs, (1..=(3 + CLIENTS * EACH) as u64).collect::<Vec<_>>(), "gapless");
    for event_id in &acknowledged {
        assert_eq!(events.iter().filter(|e| &e.event_id == event_id).count(), 1, "{event_id} exactly once");
    }
    assert_eq!(verify_chain(&events), None);
}

/// An objection to lot A1: any number of them may follow a tender notice.
fn objection(project: &str, tender: &str, request_id: &str) -> Request {
    let at = chrono::Utc::now() - chrono::Duration::days(1);
    Request::RecordObjection(pb::RecordObjectionRequest {
        request_id: request_id.into(),
        project_code: project.into(),
        occurred_at: Some(ts(at)),
        fact: Some(pb::ObjectionRaised {
            answered_at: None,
            answer: String::new(),
            ..facts::objection_raised(tender, "A1", gongkai_scenarios::org("潜在投标人有限公司", 900), at)
        }),
    })
}

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
/// cancellation, failed tender and re-tender, performance issues, and a
/// correction through each of the five services.
pub(crate) async fn every_other_rpc_is_accepted_in_a_plausible_order(backend: Backend) {
    let gongkai = Ingestion::start(backend).await;
    submit_every_other_rpc(&gongkai).await;
}

/// The projects [`submit_every_other_rpc`] writes.
pub(crate) struct EveryRpc {
    /// The lawful PPP lifecycle, then a performance issue and a correction.
    pub(crate) lifecycle: String,
    /// The construction project with everything else.
    pub(crate) other: String,
}

/// Submits the PPP lifecycle and then every RPC it does not use, asserting
/// each step; shared by the ingestion test and the open-data exports test.
pub(crate) async fn submit_every_other_rpc(gongkai: &Ingestion) -> EveryRpc {
    use chrono::{Duration, TimeZone, Utc};
    use gongkai_scenarios::{doc, org};

    // The lawful lifecycle, for its contract.
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000007", "life");
    let lifecycle_receipts = gongkai.submit_all(lifecycle.requests.clone()).await;

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
    let h = &gongkai.harbin;
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
    let approval_event = gongkai.store.events().load_stream(p).await.expect("stream")[0].event_id.clone();
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
    let events = gongkai.store.events().load_stream(p).await.expect("stream");
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
    EveryRpc { lifecycle: q.clone(), other: p.to_owned() }
}

gongkai_testkit::on_both_stores!(
    full_ppp_lifecycle_is_accepted_with_gapless_seqs_and_an_intact_chain,
    a_retry_returns_the_first_receipt_and_a_reused_id_is_refused,
    malformed_fields_are_each_reported_and_nothing_is_written,
    a_fact_out_of_order_is_refused_with_its_rule_and_nothing_is_written,
    callers_are_authenticated_and_scoped_to_their_regions,
    concurrent_clients_on_one_project_lose_and_duplicate_nothing,
    every_other_rpc_is_accepted_in_a_plausible_order,
);
