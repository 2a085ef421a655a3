//! The land facts in the views: per-household data never public (canaries),
//! totals and counts by category public, the timeline's texts, the summary's
//! land figures and the operation and handover stages.

mod support;

use gongkai_projector::ProjectViews;
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::fact::Kind;
use support::{Stream, contains, day, doc, expropriation, person, public_bytes_and_debug};

fn render(events: &[pb::EventEnvelope]) -> ProjectViews {
    gongkai_projector::render(events).expect("a lifecycle within the bounds renders")
}

/// A fact of the project's stream, by kind name.
fn position(stream: &Stream, kind: &str) -> usize {
    stream
        .events
        .iter()
        .position(|e| e.r#type == format!("gongkai.v1.{kind}"))
        .unwrap_or_else(|| panic!("no {kind} in the stream"))
}

/// A household whose every restricted field is a canary; its amounts are
/// `fen` of land compensation and `fen + 1` of resettlement subsidy.
fn canary_household(n: u32, fen: i64) -> pb::HouseholdCompensation {
    pb::HouseholdCompensation {
        household_number: format!("CANARY_HH_{n}"),
        head: Some(person(
            &format!("CANARY_HEAD_{n}"),
            "户主",
            &format!("CANARY_ID_{n}"),
            &format!("CANARY_PHONE_{n}"),
        )),
        amounts: vec![
            pb::CompensationAmount { category: pb::CompensationCategory::Land as i32, amount_fen: fen },
            pb::CompensationAmount { category: pb::CompensationCategory::Resettlement as i32, amount_fen: fen + 1 },
        ],
        resettlement: format!("CANARY_RESETTLEMENT_{n}"),
    }
}

/// Per-household results with canary households and a canary list.
fn canary_results(households: Vec<pb::HouseholdCompensation>, list: &str) -> Kind {
    Kind::HouseholdCompensationPublished(pb::HouseholdCompensationPublished {
        expropriation_code: gongkai_scenarios::land::EXPROPRIATION_CODE.into(),
        published_at: Some(support::ts(day(-5))),
        households,
        household_count: 0,
        category_totals: Vec::new(),
        documents: vec![doc(list, pb::DocumentType::CompensationPlan, day(-5))],
    })
}

#[test]
fn per_household_compensation_never_reaches_the_public_view() {
    let mut stream = expropriation();
    let results = stream
        .fact(day(-5), canary_results(vec![canary_household(1, 7_771), canary_household(2, 7_773)], "CANARY_LIST_V1"));
    // A correction replaces a household: neither version is ever public.
    stream.correct(
        day(-4),
        &results,
        "户主姓名录入错误",
        canary_results(vec![canary_household(1, 7_771), canary_household(3, 7_777)], "CANARY_LIST_V2"),
    );
    let canaries: Vec<String> = ["HH", "HEAD", "ID", "PHONE", "RESETTLEMENT"]
        .iter()
        .flat_map(|what| (1..=3).map(move |n| format!("CANARY_{what}_{n}")))
        .chain(["CANARY_LIST_V1".to_owned(), "CANARY_LIST_V2".to_owned()])
        .collect();
    let per_household = [7_771, 7_772, 7_773, 7_774, 7_777, 7_778];
    let events = &stream.events;
    for n in 1..=events.len() {
        let views = render(&events[..n]);
        let (bytes, debug) = public_bytes_and_debug(&views);
        for canary in &canaries {
            assert!(!contains(&bytes, canary.as_bytes()), "{canary} in public bytes after {n} events");
            assert!(!debug.contains(canary.as_str()), "{canary} in public Debug after {n} events");
        }
        for entry in &views.public_timeline {
            assert!(entry.people.is_empty() || !entry.fact_type.ends_with("HouseholdCompensationPublished"));
            for amount in &entry.amounts {
                assert!(!per_household.contains(&amount.amount_fen), "a household's amount in {}", entry.title_zh);
            }
        }
    }
    // The public sees the count and the totals by category, and is told why.
    let views = render(events);
    let public = &views.public_timeline[events.len() - 1];
    assert!(public.details_withheld);
    assert!(public.title_zh.contains("2户"), "{}", public.title_zh);
    let totals: Vec<(&str, i64)> = public.amounts.iter().map(|a| (a.label_zh.as_str(), a.amount_fen)).collect();
    assert_eq!(totals, [("分户补偿合计：土地补偿费", 15_548), ("分户补偿合计：安置补助费", 15_550)]);
    assert!(public.summary_zh.contains("依法不在此公开"), "{}", public.summary_zh);
    let changes: Vec<&str> = public.changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(changes, ["category_totals[0].amount_fen", "category_totals[1].amount_fen"]);
    // Supervisors see every household, and what the policy kept back.
    let full = &views.full_timeline[events.len() - 1];
    let full_text = format!("{full:?}");
    for canary in ["CANARY_HEAD_3", "CANARY_ID_3", "CANARY_HH_3", "CANARY_LIST_V2"] {
        assert!(full_text.contains(canary), "{canary} missing from the full view");
    }
    assert_eq!(full.restricted_fields, ["households", "documents"]);
    assert!(format!("{:?}", views.full_timeline).contains("CANARY_ID_2"), "the superseded version, in full");
}

#[test]
fn every_land_entry_reads_naturally_in_both_languages() {
    let stream = expropriation();
    let views = render(&stream.events);
    let title = |kind: &str| views.public_timeline[position(&stream, kind)].title_zh.clone();
    assert_eq!(title("ExpropriationPreAnnounced"), "征收土地预公告（ZD-2024-01）");
    assert_eq!(title("SocialStabilityRiskAssessed"), "社会稳定风险评估（ZD-2024-01）：低风险");
    assert_eq!(title("CompensationPlanPublished"), "公布征地补偿安置方案征求意见（ZD-2024-01）");
    assert_eq!(title("ExpropriationDecided"), "征收土地批准（ZD-2024-01）");
    assert_eq!(title("CompensationPaid"), "支付征收补偿：土地补偿费120.00万元（ZD-2024-01）");
    assert_eq!(title("HouseholdCompensationPublished"), "公布分户补偿情况（ZD-2024-01）：3户");
    assert_eq!(title("RelocationRecorded"), "开始搬迁（ZD-2024-01）");
    assert_eq!(title("EnvironmentalImpactApproved"), "环评批复：哈环审〔2024〕15号");
    let plan = &views.public_timeline[position(&stream, "CompensationPlanPublished")];
    assert!(plan.summary_zh.contains("（32日）") && plan.summary_zh.contains("已于"), "{}", plan.summary_zh);
    assert_eq!(plan.title_en, "The land compensation and resettlement plan published for comment (ZD-2024-01)");
    assert_eq!(plan.clocks[0].kind, "compensation_plan_comment");
    assert_eq!(plan.amounts[0].amount_fen, 1_200_000_000);
    let project_level = |e: &&pb::TimelineEntry| e.domain == pb::Domain::Projects as i32;
    let entries =
        views.full_timeline.iter().filter(project_level).chain(views.public_timeline.iter().filter(project_level));
    for entry in entries {
        {
            assert!(entry.summary_zh.ends_with('。'), "{}", entry.summary_zh);
            assert!(entry.summary_en.ends_with('.'), "{}", entry.summary_en);
            assert!(!entry.title_en.is_empty() && entry.tender_code.is_empty(), "{}", entry.title_en);
        }
    }
    let results = &views.full_timeline[position(&stream, "HouseholdCompensationPublished")];
    assert_eq!(results.people.len(), 3);
    assert!(results.people.iter().all(|p| !p.id_number.is_empty()), "supervisors see the ID numbers");
    assert!(stream.events.iter().all(|e| e.flags.is_empty()), "the lawful lifecycle raises no flag");
}

#[test]
fn the_summary_counts_the_land_and_follows_operation_and_handover() {
    let mut stream = expropriation();
    let operation = stream.events.len() - 2;
    let views = render(&stream.events);
    let land = views.public_summary.land.clone().expect("land figures");
    assert_eq!(
        (land.expropriations, land.pre_announced, land.with_plan, land.risk_assessed, land.decided),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(land.compensation_budget_fen, 1_200_000_000);
    assert_eq!(land.compensation_paid_fen, 326_500_000);
    assert_eq!(land.categories.len(), 5);
    let houses = &land.categories[2];
    assert_eq!(houses.category(), pb::CompensationCategory::Houses);
    assert_eq!(
        (houses.paid_fen, houses.payments, houses.household_results_fen, houses.households),
        (123_000_000, 1, 123_000_000, 2)
    );
    assert_eq!((land.households_with_results, land.relocations, land.households_relocated), (3, 1, 3));
    let approval = views.public_summary.environmental_approval.clone().expect("EIA approval");
    assert_eq!(approval.document_number, "哈环审〔2024〕15号");
    assert_eq!(views.public_summary, pb::ProjectSummary { flag_count: 0, ..views.full_summary.clone() });

    // Completion, then operation (which the final accounts do not end).
    assert_eq!(render(&stream.events[..operation]).full_summary.stage(), pb::Stage::Completion);
    assert_eq!(render(&stream.events[..=operation]).full_summary.stage(), pb::Stage::Operation);
    assert_eq!(views.full_summary.stage(), pb::Stage::Operation);
    let started = &views.public_timeline[operation];
    assert_eq!(started.title_zh, "进入运营期：进入运营期（HT-A1）");
    assert!(started.summary_en.contains("in operation"), "{}", started.summary_en);
    stream.fact(
        day(9000),
        Kind::MilestoneReached(pb::MilestoneReached {
            contract_code: "HT-A1".into(),
            milestone_code: "M5".into(),
            milestone_name: "合作期满移交".into(),
            reached_at: Some(support::ts(day(9000))),
            progress_bp: 10000,
            kind: pb::MilestoneKind::Handover as i32,
            ..Default::default()
        }),
    );
    let handed_over = render(&stream.events);
    assert_eq!(handed_over.full_summary.stage(), pb::Stage::HandedOver);
    assert_eq!(handed_over.public_timeline.last().expect("entry").title_zh, "项目移交：合作期满移交（HT-A1）");
    // Suspension still overrides.
    stream
        .fact(day(9001), Kind::ProjectSuspended(pb::ProjectSuspended { reason: "审计".into(), ..Default::default() }));
    assert_eq!(render(&stream.events).full_summary.stage(), pb::Stage::Suspended);
}
