//! SearchProjects: every filter, page tokens, limits on text filters, and
//! pagination that neither skips nor repeats while events arrive.

use gongkai_proto::v1 as pb;
use gongkai_scenarios::{Request, org, ppp_lifecycle};
use gongkai_testkit::store::Backend;
use tonic::Code;

use crate::support::{HARBIN, Harness, P_AWARDED, P_PPP, P_SCHOOL, QIQIHAR, SUPERVISOR_A, approval, at, load, search};

pub(crate) async fn every_filter_matches_what_it_says(backend: Backend) {
    let h = Harness::start(backend).await;
    load(&h).await;
    let mut a = h.client(SUPERVISOR_A);
    let harbin = vec![P_PPP.to_owned(), P_SCHOOL.to_owned(), P_AWARDED.to_owned()];
    let mut all = harbin.clone();
    all.sort();
    assert_eq!(a.codes(search()).await, all, "everything in the caller's regions, nothing else");
    assert_eq!(a.codes(pb::SearchProjectsRequest { region_prefix: "230102".into(), ..search() }).await, vec![P_SCHOOL]);
    let stage = |s: pb::Stage| pb::SearchProjectsRequest { stages: vec![s as i32], ..search() };
    assert_eq!(a.codes(stage(pb::Stage::Completion)).await, vec![P_PPP]);
    assert_eq!(a.codes(stage(pb::Stage::Approval)).await, vec![P_SCHOOL]);
    assert_eq!(a.codes(stage(pb::Stage::Award)).await, vec![P_AWARDED]);
    let construction = pb::SearchProjectsRequest { project_type: pb::ProjectType::Construction as i32, ..search() };
    assert_eq!(a.codes(construction).await, vec![P_SCHOOL]);
    let ppp = pb::SearchProjectsRequest { project_type: pb::ProjectType::Ppp as i32, ..search() };
    assert_eq!(
        a.codes(ppp).await,
        vec![P_PPP, P_AWARDED].into_iter().map(str::to_owned).collect::<Vec<_>>().tap_sort()
    );
    // Owner: by name substring and by exact credit code.
    assert_eq!(a.codes(pb::SearchProjectsRequest { owner: "教育局".into(), ..search() }).await, vec![P_SCHOOL]);
    let school_owner = org("道里区教育局", 500).unified_social_credit_code;
    assert_eq!(a.codes(pb::SearchProjectsRequest { owner: school_owner, ..search() }).await, vec![P_SCHOOL]);
    // Winner: bidder 0 wins every lot of the fixture.
    let winner = pb::SearchProjectsRequest { winner: "黑龙江省建工".into(), ..search() };
    let both_ppp = vec![P_PPP.to_owned(), P_AWARDED.to_owned()].tap_sort();
    assert_eq!(a.codes(winner).await, both_ppp);
    let winner_code = org("黑龙江省建工集团有限责任公司", 200).unified_social_credit_code;
    assert_eq!(a.codes(pb::SearchProjectsRequest { winner: winner_code, ..search() }).await, both_ppp);
    assert!(a.codes(pb::SearchProjectsRequest { winner: "中建八局".into(), ..search() }).await.is_empty(), "lost");
    // Amounts: investment, then contract price (only the contracted project).
    let investment =
        pb::SearchProjectsRequest { min_amount_fen: Some(2_000_000_000), max_amount_fen: None, ..search() };
    assert_eq!(a.codes(investment).await, both_ppp);
    let contract = pb::SearchProjectsRequest {
        amount_basis: pb::AmountBasis::ContractPrice as i32,
        min_amount_fen: Some(1),
        ..search()
    };
    assert_eq!(a.codes(contract).await, vec![P_PPP]);
    // Dates: the fixture's performance runs into 2025; the approvals are in January 2024.
    let late = pb::SearchProjectsRequest {
        active_period: Some(pb::Period { start: Some(at(2024, 6, 1)), end: None }),
        ..search()
    };
    assert_eq!(a.codes(late).await, vec![P_PPP]);
    let early = pb::SearchProjectsRequest {
        active_period: Some(pb::Period { start: None, end: Some(at(2024, 1, 15)) }),
        ..search()
    };
    assert_eq!(a.codes(early).await, all);
    // Free text in Chinese, without spaces: two characters suffice, the whole text must occur.
    assert_eq!(a.codes(pb::SearchProjectsRequest { text: "中学".into(), ..search() }).await, vec![P_SCHOOL]);
    assert_eq!(a.codes(pb::SearchProjectsRequest { text: "污水处理".into(), ..search() }).await, both_ppp);
    assert_eq!(a.codes(pb::SearchProjectsRequest { text: "配套管网".into(), ..search() }).await, both_ppp);
    assert!(a.codes(pb::SearchProjectsRequest { text: "中水".into(), ..search() }).await.is_empty());
    assert_eq!(a.codes(pb::SearchProjectsRequest { text: "000020".into(), ..search() }).await, vec![P_SCHOOL]);
    // Source and flags: the lawful fixture raises no soft-rule flag.
    assert_eq!(a.codes(pb::SearchProjectsRequest { source: HARBIN.into(), ..search() }).await, all);
    assert!(a.codes(pb::SearchProjectsRequest { source: QIQIHAR.into(), ..search() }).await.is_empty());
    assert!(a.codes(pb::SearchProjectsRequest { has_flag: true, ..search() }).await.is_empty());
    // A malformed filter is INVALID_ARGUMENT; a token of another query too.
    let status = a.search(pb::SearchProjectsRequest { region_prefix: "23x".into(), ..search() }).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let first = a.search(pb::SearchProjectsRequest { page_size: 1, ..search() }).await.expect("page");
    assert!(!first.next_page_token.is_empty());
    let reused =
        pb::SearchProjectsRequest {
            page_size: 1, page_token: first.next_page_token, text: "中学".into(), ..search()
        };
    assert_eq!(a.search(reused).await.unwrap_err().code(), Code::InvalidArgument);
    // A text filter longer than any name is refused, not handed to the database.
    for long in [
        pb::SearchProjectsRequest { text: "x".repeat(60_000), ..search() },
        pb::SearchProjectsRequest { owner: "公司".repeat(200), ..search() },
        pb::SearchProjectsRequest { winner: "y".repeat(257), ..search() },
    ] {
        assert_eq!(a.search(long).await.unwrap_err().code(), Code::InvalidArgument);
    }
    assert!(a.codes(pb::SearchProjectsRequest { text: "x".repeat(256), ..search() }).await.is_empty());
}

trait TapSort {
    fn tap_sort(self) -> Self;
}

impl TapSort for Vec<String> {
    fn tap_sort(mut self) -> Self {
        self.sort();
        self
    }
}

pub(crate) async fn pagination_neither_skips_nor_repeats_while_events_arrive(backend: Backend) {
    let h = Harness::start(backend).await;
    let code = |n: u32| format!("2024-230113-48-01-{:06}", 100 + n);
    let prefix = |n: u32| format!("p{n}");
    let road = |n: u32| approval(&code(n), &prefix(n), "230113", "道外区道路维修工程", ("道外区住建局", 700));
    // The project's tender announcement: a later event, with a later business time.
    let tender = |n: u32| {
        let requests = ppp_lifecycle(&code(n), &prefix(n)).requests;
        requests.into_iter().find(|r| matches!(r, Request::AnnounceTender(_))).expect("the fixture tenders")
    };
    for n in 0..7 {
        h.submit(HARBIN, &[road(n)]).await;
    }
    let before: Vec<String> = (0..7).map(code).collect();
    let mut a = h.client(SUPERVISOR_A);
    let mut seen: Vec<String> = Vec::new();
    let mut tendered: Vec<String> = Vec::new();
    let mut token = String::new();
    let mut page = 0;
    loop {
        let response = a
            .search(pb::SearchProjectsRequest { page_size: 2, page_token: token.clone(), ..search() })
            .await
            .expect("page");
        seen.extend(response.projects.iter().map(|p| p.project_code.clone()));
        if response.next_page_token.is_empty() {
            break;
        }
        token = response.next_page_token;
        // While paging: a new project arrives; a project already returned and
        // one not returned yet each get a later event (the latter used to
        // jump ahead of the cursor and be skipped).
        page += 1;
        h.submit(HARBIN, &[road(100 + page)]).await;
        let returned = (0..7).find(|n| seen.contains(&code(*n)) && !tendered.contains(&code(*n)));
        let waiting = (0..7).find(|n| !seen.contains(&code(*n)) && !tendered.contains(&code(*n)));
        for n in returned.into_iter().chain(waiting) {
            h.submit(HARBIN, &[tender(n)]).await;
            tendered.push(code(n));
        }
    }
    assert!(tendered.iter().any(|c| c == &code(0)), "the oldest project moved while waiting: {tendered:?}");
    let newest_first: Vec<String> = before.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first, "each project exactly once, most recently registered first");
}
