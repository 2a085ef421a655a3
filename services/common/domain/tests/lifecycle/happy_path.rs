//! A compliant PPP project from approval to final accounts, with two lots:
//! every fact accepted, no flag raised.

use gongkai_domain::state::{LotStage, ProjectStatus};
use gongkai_proto::v1::{
    AmendmentKind, AwardAnnounced, AwardNoticeIssued, BidsEvaluated, BidsOpened, CandidatesPublicized,
    CompletionAccepted, ContractSigned, ContractVaried, FinalAccountsSettled, MilestoneKind, MilestoneReached,
    PaymentKind, PaymentMade, Period, ProjectType, TenderAmended,
};

use crate::support::*;

/// The lot's steps from bid opening (day 40, after the amendment) to the
/// award notice, with `bidders` bidding and the first of them winning.
fn lot_steps(lot: &str, bidders: &[u32]) -> Vec<Step> {
    let winner = bidders[0];
    vec![
        BidsOpened { opened_at: Some(day(40)), ..opened("T1", lot, bids(bidders)) }.into(),
        BidsEvaluated { completed_at: Some(day(42)), ..evaluated("T1", lot, &bidders[..3]) }.into(),
        CandidatesPublicized {
            publicity_period: Some(Period { start: Some(day(43)), end: Some(day(46)) }),
            ..publicized("T1", lot, &bidders[..3])
        }
        .into(),
        AwardAnnounced { announced_at: Some(day(47)), ..awarded("T1", lot, winner, price_of(0)) }.into(),
        AwardNoticeIssued { issued_at: Some(day(48)), ..notice("T1", lot, winner) }.into(),
    ]
}

fn ppp_lifecycle() -> Vec<Step> {
    let mut steps: Vec<Step> = vec![
        ppp_approved().into(),
        ppp_details().into(),
        tender("T1", &["A", "B"]).into(),
        // A modification 20 days before the postponed deadline.
        on(
            day(20),
            TenderAmended {
                kind: AmendmentKind::Modification as i32,
                affects_bid_preparation: true,
                new_bid_deadline: Some(day(40)),
                summary: "调整工程量清单，投标截止时间顺延至第 40 日".to_owned(),
                ..amended("T1")
            },
        ),
    ];
    steps.extend(lot_steps("A", &[1, 2, 3, 4]));
    steps.extend(lot_steps("B", &[5, 6, 7, 8]));
    let price = 2 * price_of(0);
    steps.extend([
        ContractSigned {
            signed_at: Some(day(60)),
            is_ppp_project_agreement: true,
            title: "PPP 项目合同".to_owned(),
            ..contract("C1", "T1", &["A", "B"], &[1, 5], price)
        }
        .into(),
        varied("C1", "V1", 200_000_000).into(),
        ContractVaried {
            changes_time: true,
            new_end_date: Some(date(2026, 3, 31)),
            ..varied("C1", "V2", -100_000_000)
        }
        .into(),
        // The EIA approval before works start (EIA Law art. 25).
        eia_approved(65).into(),
        MilestoneReached { kind: MilestoneKind::Commencement as i32, ..milestone("C1", "M1", 70) }.into(),
        MilestoneReached { kind: MilestoneKind::Interim as i32, progress_bp: 5000, ..milestone("C1", "M2", 300) }
            .into(),
        MilestoneReached {
            kind: MilestoneKind::WorksCompleted as i32,
            progress_bp: 10000,
            ..milestone("C1", "M3", 740)
        }
        .into(),
        PaymentMade { kind: PaymentKind::Advance as i32, ..payment("C1", "P1", 900_000_000, "") }.into(),
        payment("C1", "P2", 3_000_000_000, "M2").into(),
        PaymentMade { kind: PaymentKind::Settlement as i32, ..payment("C1", "P3", 4_000_000_000, "M3") }.into(),
        CompletionAccepted {
            accepted_at: Some(day(760)),
            actual_completion_date: Some(date(2026, 3, 20)),
            ..accepted(&["C1"])
        }
        .into(),
        FinalAccountsSettled {
            settled_at: Some(day(850)),
            actual_end_date: Some(date(2026, 6, 30)),
            ..settled(price + 100_000_000)
        }
        .into(),
    ]);
    steps
}

#[test]
fn a_compliant_ppp_lifecycle_with_two_lots_raises_no_flag() {
    let recorded = given(&ppp_lifecycle());
    assert_eq!(recorded.flags_raised(), Vec::<&gongkai_domain::ComplianceFlag>::new());
    assert_eq!(recorded.events().len(), 26);

    let state = recorded.state();
    assert_eq!(state.last_seq(), 26);
    assert!(state.exists());
    assert_eq!(state.region_code(), Some("230113"));
    assert_eq!(state.project_type(), Some(ProjectType::Ppp));
    assert_eq!(state.status(), Some(ProjectStatus::Active));
    assert!(state.ppp_details().is_some());

    let tender = state.tender("T1").expect("tender T1");
    assert_eq!(tender.amendment_event_ids, vec![e(4)]);
    for lot in tender.lots.values() {
        assert_eq!(lot.stage(), LotStage::Contracted);
        assert_eq!(lot.bid_deadline, Some(day(40)));
        assert_eq!(lot.opening.as_ref().map(|o| o.bids.len()), Some(4));
        assert_eq!(lot.award.as_ref().map(|a| a.price_fen), Some(price_of(0)));
    }

    let contract = state.contract("C1").expect("contract C1");
    assert_eq!(contract.lot_codes, vec!["A".to_owned(), "B".to_owned()]);
    assert_eq!(contract.variations.len(), 2);
    assert_eq!(contract.variation_abs_total_fen, 300_000_000);
    assert_eq!(contract.current_price_fen, 2 * price_of(0) + 100_000_000);
    assert_eq!(contract.end_date, Some(date(2026, 3, 31)));
    assert_eq!(contract.milestones.keys().collect::<Vec<_>>(), vec!["M1", "M2", "M3"]);
    assert_eq!(contract.paid_fen, 7_900_000_000);
    assert_eq!(contract.completion_event_ids, vec![e(25)]);

    assert!(state.has_passed_completion());
    assert_eq!(state.final_accounts().map(|f| f.final_cost_fen), Some(2 * price_of(0) + 100_000_000));
    assert_eq!(state.eia_approvals().len(), 1);
    assert_eq!(state.events().len(), 26);
    assert_eq!(state.history().len(), 26);
}

#[test]
fn the_lifecycle_out_of_order_is_refused() {
    use gongkai_domain::decide::rules::NOT_EVALUATED;
    let steps = ppp_lifecycle();
    // Up to lot B's bid opening (e010): its award cannot come yet.
    given(&steps[..10])
        .when(AwardAnnounced { announced_at: Some(day(47)), ..awarded("T1", "B", 5, price_of(0)) })
        .then_rejected(NOT_EVALUATED);
}
