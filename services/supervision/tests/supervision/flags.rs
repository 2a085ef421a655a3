//! ListFlags and GetTimeliness: the missing-disclosure flags the deadline
//! watch raises without a submission (contract, result, publicity), as
//! flags, in search and in the project's record; and timeliness per trading
//! center.

use chrono::{DateTime, Utc};
use gongkai_proto::v1 as pb;
use gongkai_scenarios::{Request, ppp_lifecycle};
use gongkai_testkit::store::Backend;
use tonic::Code;

use crate::support::{
    Caller, HARBIN, Harness, P_AWARDED, P_PPP, P_QIQIHAR, P_SCHOOL, QIQIHAR, SUPERVISOR_A, SUPERVISOR_B,
    SUPERVISOR_PROVINCE, approval, at, search, up_to_award,
};

pub(crate) async fn the_missing_contract_flag_appears_on_day_31_without_a_submission(backend: Backend) {
    let h = Harness::start(backend).await;
    h.submit(HARBIN, &up_to_award(P_AWARDED, "award")).await;
    let mut a = h.client(SUPERVISOR_A);
    let project = a.get(P_AWARDED).await.expect("project");
    let notices: Vec<i64> = project
        .timeline
        .iter()
        .filter(|e| e.fact_type == "gongkai.v1.AwardNoticeIssued")
        .map(|e| e.occurred_at.expect("occurred").seconds)
        .collect();
    assert_eq!(notices.len(), 2, "one notice per lot");
    let first = DateTime::from_timestamp(*notices.iter().min().expect("min"), 0).expect("time");
    let last = DateTime::from_timestamp(*notices.iter().max().expect("max"), 0).expect("time");
    let missing = |flags: &pb::ListFlagsResponse| {
        flags.flags.iter().filter(|f| f.flag.as_ref().is_some_and(|f| f.rule == "GK-MISSING-CONTRACT")).count()
    };
    let rule = pb::ListFlagsRequest { rule: "GK-MISSING-CONTRACT".into(), ..Default::default() };
    h.set_now(first + chrono::Duration::days(30));
    assert_eq!(missing(&a.flags(rule.clone()).await), 0, "day 30: still in time");
    h.set_now(last + chrono::Duration::days(31));
    let flags = a.flags(rule.clone()).await;
    assert_eq!(missing(&flags), 2, "day 31: one flag per lot, no submission needed");
    // Search sees the time-driven flag too: by has_flag, by its rule, in its period.
    let due = last + chrono::Duration::days(31);
    let since = |t: DateTime<Utc>| pb::Period {
        start: Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 }),
        end: None,
    };
    let flagged = pb::SearchProjectsRequest { has_flag: true, ..search() };
    let by_rule = pb::SearchProjectsRequest { flag_rule: "GK-MISSING-CONTRACT".into(), ..search() };
    assert_eq!(a.codes(flagged.clone()).await, vec![P_AWARDED]);
    assert_eq!(a.codes(by_rule.clone()).await, vec![P_AWARDED]);
    let in_period =
        pb::SearchProjectsRequest { flag_period: Some(since(due - chrono::Duration::days(2))), ..by_rule.clone() };
    assert_eq!(a.codes(in_period).await, vec![P_AWARDED]);
    let after =
        pb::SearchProjectsRequest { flag_period: Some(since(due + chrono::Duration::days(1))), ..flagged.clone() };
    assert!(a.codes(after).await.is_empty(), "raised before that period");
    let other_rule = pb::SearchProjectsRequest { flag_rule: "GK-MISSING-RESULT".into(), ..search() };
    assert!(a.codes(other_rule).await.is_empty());
    h.set_now(first + chrono::Duration::days(30));
    assert!(a.codes(flagged.clone()).await.is_empty(), "day 30: not flagged yet");
    assert!(a.codes(by_rule).await.is_empty());
    h.set_now(due);
    let record = &flags.flags[0];
    assert_eq!(record.project_code, P_AWARDED);
    assert_eq!(record.source, HARBIN, "the trading center that owes the contract");
    assert!(record.raised_by_event_id.is_empty(), "raised by the deadline watch");
    let flag = record.flag.as_ref().expect("flag");
    assert_eq!(flag.event_ids.len(), 1, "evidence: the award notice");
    assert_eq!(flag.figures[0].limit, Some(30));
    // The flag shows in the project's record and counts for its trading center.
    assert_eq!(a.get(P_AWARDED).await.expect("project").flags.len(), 2);
    // Supervisor B sees none of it; the source filter selects it.
    assert_eq!(missing(&h.client(SUPERVISOR_B).flags(rule.clone()).await), 0);
    let other = pb::ListFlagsRequest { source: QIQIHAR.into(), ..rule.clone() };
    assert_eq!(missing(&a.flags(other).await), 0);
    // Paging through flags one at a time returns both.
    let page1 = a.flags(pb::ListFlagsRequest { page_size: 1, ..rule.clone() }).await;
    let page2 =
        a.flags(pb::ListFlagsRequest { page_size: 1, page_token: page1.next_page_token.clone(), ..rule.clone() }).await;
    assert_eq!(page1.flags.len() + page2.flags.len(), 2);
    assert_ne!(page1.flags[0].flag, page2.flags[0].flag);
    let mut timeliness = h.client(SUPERVISOR_A);
    let report = timeliness
        .client
        .get_timeliness(timeliness.request(pb::GetTimelinessRequest {
            period: Some(pb::Period { start: Some(at(2023, 1, 1)), end: Some(at(2026, 1, 1)) }),
            ..Default::default()
        }))
        .await
        .expect("timeliness")
        .into_inner();
    let harbin = report.trading_centers.iter().find(|c| c.source == HARBIN).expect("Harbin's row");
    assert_eq!(harbin.missing, 2);
    assert!(harbin.disclosures > 0 && harbin.on_time_share_bp <= 10_000);
    assert!(!report.deadlines.is_empty());
}

/// The missing-disclosure flags of `rule` that supervisor A sees now.
async fn missing_flags(a: &mut Caller, rule: &str) -> Vec<pb::FlagRecord> {
    a.flags(pb::ListFlagsRequest { rule: rule.into(), ..Default::default() })
        .await
        .flags
        .into_iter()
        .filter(|f| f.flag.as_ref().is_some_and(|flag| flag.rule == rule))
        .collect()
}

/// The business time of the first timeline entry of `fact_type`.
fn first_of(project: &pb::GetProjectResponse, fact_type: &str) -> DateTime<Utc> {
    let entry = project.timeline.iter().find(|e| e.fact_type == fact_type).unwrap_or_else(|| panic!("{fact_type}"));
    let at = entry.occurred_at.expect("occurred");
    DateTime::from_timestamp(at.seconds, 0).expect("time")
}

pub(crate) async fn the_missing_result_flag_follows_the_publicity_and_clears_with_the_result(backend: Backend) {
    let h = Harness::start(backend).await;
    let requests = ppp_lifecycle(P_AWARDED, "award").requests;
    let publicity = requests
        .iter()
        .position(|r| matches!(r, Request::PublicizeCandidates(_)))
        .expect("the fixture publicizes candidates");
    // Lot A1 up to its candidate publicity; lot B1 not yet tendered past the announcement.
    h.submit(HARBIN, &requests[..=publicity]).await;
    let Request::PublicizeCandidates(fact) = &requests[publicity] else { unreachable!() };
    let end = fact.fact.as_ref().and_then(|f| f.publicity_period.as_ref()).and_then(|p| p.end).expect("period end");
    let ended = DateTime::from_timestamp(end.seconds, 0).expect("time");
    let mut a = h.client(SUPERVISOR_A);
    const RULE: &str = "GK-MISSING-RESULT";
    h.set_now(ended + chrono::Duration::days(15));
    assert!(missing_flags(&mut a, RULE).await.is_empty(), "15 days after the publicity: still in time");
    h.set_now(ended + chrono::Duration::days(16));
    let flags = missing_flags(&mut a, RULE).await;
    assert_eq!(flags.len(), 1, "day 16: the flag, without any submission: {flags:?}");
    let record = &flags[0];
    assert_eq!(record.project_code, P_AWARDED);
    assert_eq!(record.source, HARBIN);
    assert!(record.raised_by_event_id.is_empty(), "raised by the deadline watch");
    assert_eq!(record.raised_at.expect("raised").seconds, (ended + chrono::Duration::days(16)).timestamp());
    let flag = record.flag.as_ref().expect("flag");
    let project = a.get(P_AWARDED).await.expect("project");
    let publicity_event =
        project.events.iter().find(|e| e.r#type == "gongkai.v1.CandidatesPublicized").expect("publicity event");
    assert_eq!(flag.event_ids, vec![publicity_event.event_id.clone()], "evidence: the publicity");
    assert_eq!(flag.figures[0].limit, Some(15));
    assert_eq!(project.flags.len(), 1, "shown in the project's record");
    assert!(missing_flags(&mut h.client(SUPERVISOR_B), RULE).await.is_empty(), "outside region B");
    // The award result arrives: the expectation is gone, even though the clock is past it.
    h.submit(HARBIN, &requests[publicity + 1..=publicity + 1]).await;
    assert!(matches!(requests[publicity + 1], Request::AnnounceAward(_)));
    assert!(missing_flags(&mut a, RULE).await.is_empty(), "the result is recorded");
    assert!(a.get(P_AWARDED).await.expect("project").flags.iter().all(|f| f.flag.as_ref().expect("flag").rule != RULE));
}

pub(crate) async fn the_missing_publicity_flag_appears_3_days_after_the_evaluation(backend: Backend) {
    let h = Harness::start(backend).await;
    let requests = ppp_lifecycle(P_AWARDED, "award").requests;
    let evaluation =
        requests.iter().position(|r| matches!(r, Request::RecordEvaluation(_))).expect("the fixture evaluates bids");
    h.submit(HARBIN, &requests[..=evaluation]).await;
    let mut a = h.client(SUPERVISOR_A);
    let project = a.get(P_AWARDED).await.expect("project");
    let evaluated = first_of(&project, "gongkai.v1.BidsEvaluated");
    const RULE: &str = "GK-MISSING-PUBLICITY";
    h.set_now(evaluated + chrono::Duration::days(4) - chrono::Duration::seconds(1));
    assert!(missing_flags(&mut a, RULE).await.is_empty(), "within 3 days (the whole third day included)");
    h.set_now(evaluated + chrono::Duration::days(4));
    let flags = missing_flags(&mut a, RULE).await;
    assert_eq!(flags.len(), 1, "one lot evaluated, no publicity: {flags:?}");
    assert_eq!(flags[0].project_code, P_AWARDED);
    assert_eq!(flags[0].source, HARBIN);
    let flag = flags[0].flag.as_ref().expect("flag");
    let evaluation_event =
        project.events.iter().find(|e| e.r#type == "gongkai.v1.BidsEvaluated").expect("evaluation event");
    assert_eq!(flag.event_ids, vec![evaluation_event.event_id.clone()]);
    assert_eq!(flag.figures[0].limit, Some(3));
    // Publicity follows: the flag goes; the next expectation (the result) is not due yet.
    h.submit(HARBIN, &requests[evaluation + 1..=evaluation + 1]).await;
    assert!(missing_flags(&mut a, RULE).await.is_empty());
    assert!(missing_flags(&mut a, "GK-MISSING-RESULT").await.is_empty());
}

/// `request` with its business time replaced by `at`.
fn occurred(mut request: Request, at: DateTime<Utc>) -> Request {
    let Request::RecordApproval(ref mut inner) = request else { panic!("an approval") };
    inner.occurred_at = Some(prost_types::Timestamp { seconds: at.timestamp(), nanos: 0 });
    request
}

pub(crate) async fn timeliness_separates_a_late_trading_center_from_a_punctual_one(backend: Backend) {
    let h = Harness::start(backend).await;
    // The submit path stamps recorded_at with the real clock: an approval that
    // happened an hour ago is on time (20 days), one from January 2024 is not.
    let recent = Utc::now() - chrono::Duration::hours(1);
    let school = approval(P_SCHOOL, "school", "230102", "道里区第一中学改扩建工程", ("道里区教育局", 500));
    h.submit(HARBIN, &[school]).await; // late
    let hospital = approval(P_PPP, "hospital", "230113", "双城区人民医院门诊楼工程", ("双城区卫健局", 510));
    h.submit(HARBIN, &[occurred(hospital, recent)]).await; // on time
    let road = approval(P_QIQIHAR, "road", "230202", "齐齐哈尔市龙沙区道路改造工程", ("龙沙区住建局", 600));
    h.submit(QIQIHAR, &[occurred(road, recent)]).await; // on time
    let province = h.client(SUPERVISOR_PROVINCE);
    let period = pb::Period { start: Some(at(2023, 1, 1)), end: Some(at(2100, 1, 1)) };
    let report = |caller: &Caller, request: pb::GetTimelinessRequest| {
        let mut client = caller.client.clone();
        let request = caller.request(request);
        async move { client.get_timeliness(request).await.map(tonic::Response::into_inner) }
    };
    let all = report(&province, pb::GetTimelinessRequest { period: Some(period), ..Default::default() })
        .await
        .expect("timeliness");
    let rows: Vec<(&str, u64, u64, u32)> =
        all.trading_centers.iter().map(|c| (c.source.as_str(), c.disclosures, c.on_time, c.on_time_share_bp)).collect();
    assert_eq!(rows, vec![(HARBIN, 2, 1, 5_000), (QIQIHAR, 1, 1, 10_000)], "worst first");
    let harbin = &all.trading_centers[0];
    assert!(harbin.max_delay_seconds > 365 * 86_400, "the 2024 approval, recorded now");
    assert_eq!(harbin.missing, 0);
    assert_eq!(harbin.by_type.len(), 1);
    assert_eq!(harbin.by_type[0].r#type, "gongkai.v1.ProjectApproved");
    assert_eq!(harbin.by_type[0].on_time_share_bp, 5_000);
    let qiqihar = &all.trading_centers[1];
    assert!(qiqihar.max_delay_seconds < 86_400);
    assert!(all.deadlines.iter().any(|d| d.r#type == "*" && d.seconds == 20 * 86_400));
    // Scope and filters: region A sees Harbin alone; the source filter selects one center.
    let a = h.client(SUPERVISOR_A);
    let regional =
        report(&a, pb::GetTimelinessRequest { period: Some(period), ..Default::default() }).await.expect("timeliness");
    assert_eq!(regional.trading_centers.iter().map(|c| c.source.as_str()).collect::<Vec<_>>(), vec![HARBIN]);
    let one = report(
        &province,
        pb::GetTimelinessRequest { period: Some(period), source: QIQIHAR.into(), ..Default::default() },
    )
    .await
    .expect("timeliness");
    assert_eq!(one.trading_centers.len(), 1);
    assert_eq!(one.trading_centers[0].on_time_share_bp, 10_000);
    // Only the recent period: Harbin's 2024 approval falls out, both are punctual.
    let recent_only = pb::Period {
        start: Some(prost_types::Timestamp { seconds: (recent - chrono::Duration::days(1)).timestamp(), nanos: 0 }),
        end: Some(at(2100, 1, 1)),
    };
    let later = report(&province, pb::GetTimelinessRequest { period: Some(recent_only), ..Default::default() })
        .await
        .expect("timeliness");
    assert!(later.trading_centers.iter().all(|c| c.on_time_share_bp == 10_000 && c.disclosures == 1), "{later:?}");
    // Both ends of the period are required; another region is refused.
    let open = report(&province, pb::GetTimelinessRequest::default()).await.unwrap_err();
    assert_eq!(open.code(), Code::InvalidArgument);
    let foreign = report(
        &a,
        pb::GetTimelinessRequest { period: Some(period), region_prefix: "2302".into(), ..Default::default() },
    )
    .await
    .unwrap_err();
    assert_eq!(foreign.code(), Code::PermissionDenied);
}
