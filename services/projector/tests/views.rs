//! The rendered views: disclosure policy (canaries), corrections, summary,
//! determinism.

mod support;

use gongkai_projector::ProjectViews;
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::fact::Kind;
use prost::Message;
use support::{Stream, contains, day, doc, lifecycle, org, person, public_bytes_and_debug};

/// The views of a lifecycle that stays within every bound.
fn render(events: &[pb::EventEnvelope]) -> ProjectViews {
    gongkai_projector::render(events).expect("a lifecycle within the bounds renders")
}

// ---------------------------------------------------------------------------
// Canaries: a project with every restricted field filled with a unique string.
// ---------------------------------------------------------------------------

/// A canary and the project_seq of the event that releases it (None: never).
struct Canary {
    text: String,
    released_at: Option<u64>,
}

/// The canary project and its canaries.
fn canary_project() -> (Stream, Vec<Canary>) {
    let mut s = Stream::new();
    let mut canaries = Vec::new();
    let mut canary = |text: &str, released_at: Option<u64>| {
        canaries.push(Canary { text: text.to_owned(), released_at });
        text.to_owned()
    };
    // Release events, by project_seq (asserted below as the stream is built).
    const OPEN_A1: u64 = 8;
    const OPEN_B1: u64 = 9;
    const OPEN_C1: u64 = 10;
    const AWARD_A1: u64 = 13;

    let owner = org("哈尔滨市双城区城市建设投资有限公司");
    // 1
    s.fact(
        day(-30),
        Kind::ProjectApproved(pb::ProjectApproved {
            approval_kind: pb::ApprovalKind::Examination as i32,
            approving_authority: Some(org("哈尔滨市发展和改革委员会")),
            approval_document_number: "哈发改审批〔2024〕7号".into(),
            project_name: "双城区第二污水处理厂工程".into(),
            project_type: pb::ProjectType::Construction as i32,
            industry: "市政公用".into(),
            owner: Some(owner.clone()),
            region_code: "230113".into(),
            total_investment_fen: 30_000_000_000,
            funding_sources: vec![pb::FundingSource::SpecialBonds as i32],
            planned_period: Some(pb::DateRange {
                start: Some(pb::CalendarDate { year: 2024, month: 5, day: 1 }),
                end: Some(pb::CalendarDate { year: 2025, month: 12, day: 31 }),
            }),
            scope_description: "新建日处理3万吨污水处理厂".into(),
            ..Default::default()
        }),
    );
    let invitees: Vec<pb::Organization> = vec![
        org("CANARY_INVITEE_1 建设集团"),
        org("CANARY_INVITEE_2 建设集团"),
        org("CANARY_INVITEE_3 建设集团"),
        org(&canary("CANARY_INVITEE_4_NEVER_BID", Some(OPEN_B1))),
    ];
    let lot = |code: &str, name: &str| pb::Lot {
        lot_code: code.into(),
        name: name.into(),
        ceiling_price_fen: Some(10_000_000_000),
        ..Default::default()
    };
    // 2: invited tender, two lots.
    let t1 = pb::TenderAnnounced {
        tender_code: "T1".into(),
        name: "第二污水处理厂施工".into(),
        method: pb::ProcurementMethod::Invited as i32,
        lots: vec![lot("A1", "土建"), lot("B1", "安装")],
        tender_documents_issued_at: Some(support::ts(day(0))),
        document_sale_period: Some(pb::Period { start: Some(support::ts(day(0))), end: Some(support::ts(day(7))) }),
        bid_deadline: Some(support::ts(day(25))),
        bid_opening_at: Some(support::ts(day(25))),
        bid_opening_place: "哈尔滨市公共资源交易中心开标室1".into(),
        qualification_mode: pb::QualificationMode::PostQualification as i32,
        unified_deal_code: "T1-JY".into(),
        invited_bidders: invitees.clone(),
        tenderee: Some(owner.clone()),
        ..Default::default()
    };
    s.fact(day(0), Kind::TenderAnnounced(t1));
    // 3: open tender with prequalification, one lot.
    s.fact(
        day(0),
        Kind::TenderAnnounced(pb::TenderAnnounced {
            tender_code: "T2".into(),
            name: "第二污水处理厂设备采购".into(),
            method: pb::ProcurementMethod::Open as i32,
            lots: vec![lot("C1", "设备")],
            tender_documents_issued_at: Some(support::ts(day(0))),
            document_sale_period: Some(pb::Period { start: Some(support::ts(day(0))), end: Some(support::ts(day(7))) }),
            bid_deadline: Some(support::ts(day(30))),
            bid_opening_at: Some(support::ts(day(30))),
            bid_opening_place: "哈尔滨市公共资源交易中心开标室2".into(),
            qualification_mode: pb::QualificationMode::Prequalification as i32,
            prequalification_deadline: Some(support::ts(day(13))),
            unified_deal_code: "T2-JY".into(),
            tenderee: Some(owner.clone()),
            ..Default::default()
        }),
    );
    // 4: objection about the documents of T1 (whole tender), by a potential bidder.
    s.fact(
        day(3),
        Kind::ObjectionRaised(pb::ObjectionRaised {
            tender_code: "T1".into(),
            objector: Some(org(&canary("CANARY_OBJECTOR", Some(OPEN_B1)))),
            received_at: Some(support::ts(day(3))),
            subject: "资格条件设置不合理".into(),
            stage: pb::ObjectionStage::Documents as i32,
            ..Default::default()
        }),
    );
    // 5: complaint about lot A1, before its opening.
    let complaint = |details: &str, subject: &str, letter: &str| pb::ComplaintFiled {
        tender_code: "T1".into(),
        lot_code: "A1".into(),
        complainant: Some(org("CANARY_COMPLAINANT")),
        authority: Some(org("哈尔滨市住房和城乡建设局")),
        received_at: Some(support::ts(day(5))),
        subject: subject.into(),
        details: details.into(),
        documents: vec![doc(letter, pb::DocumentType::Other, day(5))],
        ..Default::default()
    };
    canary("CANARY_COMPLAINANT", Some(OPEN_A1));
    let filed = s.fact(
        day(5),
        Kind::ComplaintFiled(complaint(
            &canary("CANARY_COMPLAINT_DETAILS_V1", None),
            "对资格条件的投诉",
            &canary("CANARY_COMPLAINT_LETTER_V1", None),
        )),
    );
    // 6: correction of the complaint.
    s.correct(
        day(6),
        &filed,
        "投诉事项表述有误",
        Kind::ComplaintFiled(complaint(
            &canary("CANARY_COMPLAINT_DETAILS_V2", None),
            "对资格条件及评分标准的投诉",
            &canary("CANARY_COMPLAINT_LETTER_V2", None),
        )),
    );
    // 7: prequalification of T2.
    let applicants = vec![org("设备甲公司"), org("设备乙公司"), org("设备丙公司")];
    let mut qualified = applicants.clone();
    qualified.push(org(&canary("CANARY_PREQUALIFIED_NEVER_BID", Some(OPEN_C1))));
    s.fact(
        day(14),
        Kind::PrequalificationCompleted(pb::PrequalificationCompleted {
            tender_code: "T2".into(),
            lot_codes: Vec::new(),
            application_period: Some(pb::Period { start: Some(support::ts(day(0))), end: Some(support::ts(day(13))) }),
            qualified_applicants: qualified,
            disqualified_applicants: vec![pb::DisqualifiedApplicant {
                applicant: Some(org(&canary("CANARY_DISQUALIFIED", Some(OPEN_C1)))),
                reason: "资质等级不足".into(),
            }],
            documents: vec![doc(
                &canary("CANARY_PREQUALIFICATION_REPORT", Some(OPEN_C1)),
                pb::DocumentType::Other,
                day(14),
            )],
        }),
    );
    let bids = |bidders: &[pb::Organization], at: i64| -> Vec<pb::Bid> {
        bidders
            .iter()
            .enumerate()
            .map(|(i, bidder)| pb::Bid {
                bidder: Some(bidder.clone()),
                price_fen: 9_000_000_000 + i as i64 * 100_000_000,
                submitted_at: Some(support::ts(day(at - 1))),
                consortium_members: Vec::new(),
            })
            .collect()
    };
    let opening = |tender: &str, lot: &str, bidders: &[pb::Organization], at: i64| {
        Kind::BidsOpened(pb::BidsOpened {
            tender_code: tender.into(),
            lot_code: lot.into(),
            opened_at: Some(support::ts(day(at))),
            place: "开标室".into(),
            bids: bids(bidders, at),
            documents: Vec::new(),
        })
    };
    // 8, 9, 10: openings. Invitee 4 never bids, nor does the silent applicant.
    let seq = |s: &Stream| s.events.len() as u64 + 1;
    assert_eq!(seq(&s), OPEN_A1);
    s.fact(day(25), opening("T1", "A1", &invitees[..3], 25));
    assert_eq!(seq(&s), OPEN_B1);
    s.fact(day(25), opening("T1", "B1", &invitees[..3], 25));
    assert_eq!(seq(&s), OPEN_C1);
    s.fact(day(30), opening("T2", "C1", &applicants, 30));

    // 11: evaluation of A1: committee and project managers with personal data.
    let managers: Vec<pb::Person> = (1..=3)
        .map(|i| {
            person(
                &format!("项目经理{i}号"),
                "项目经理",
                &canary(&format!("CANARY_PM_ID_{i}"), None),
                &canary(&format!("CANARY_PM_PHONE_{i}"), None),
            )
        })
        .collect();
    let candidates: Vec<pb::Candidate> = (0..3)
        .map(|i| pb::Candidate {
            rank: i as i32 + 1,
            bidder: Some(invitees[i].clone()),
            bid_price_fen: 9_000_000_000 + i as i64 * 100_000_000,
            score: format!("{}", 90 - i),
            project_manager: Some(managers[i].clone()),
        })
        .collect();
    let committee = |lot: &str, released: Option<u64>, canary: &mut dyn FnMut(&str, Option<u64>) -> String| {
        (1..=5)
            .map(|i| {
                person(
                    &canary(&format!("CANARY_EXPERT_{lot}_{i}"), released),
                    "评标委员会成员",
                    &canary(&format!("CANARY_EXPERT_ID_{lot}_{i}"), None),
                    &canary(&format!("CANARY_EXPERT_PHONE_{lot}_{i}"), None),
                )
            })
            .collect::<Vec<_>>()
    };
    let evaluation = |lot: &str, members: Vec<pb::Person>, report: &str, at: i64| {
        Kind::BidsEvaluated(pb::BidsEvaluated {
            tender_code: "T1".into(),
            lot_code: lot.into(),
            completed_at: Some(support::ts(day(at))),
            candidates: candidates.clone(),
            committee_members: members,
            valid_bid_count: 3,
            rejected_bids: Vec::new(),
            evaluation_method: pb::EvaluationMethod::Comprehensive as i32,
            documents: vec![doc(report, pb::DocumentType::EvaluationReport, day(at))],
        })
    };
    let members_a1 = committee("A1", Some(AWARD_A1), &mut canary);
    let report_a1 = canary("CANARY_EVALUATION_REPORT_A1", Some(AWARD_A1));
    s.fact(day(31), evaluation("A1", members_a1, &report_a1, 31));
    // 12: candidate publicity (project managers' names public, personal data never).
    s.fact(
        day(32),
        Kind::CandidatesPublicized(pb::CandidatesPublicized {
            tender_code: "T1".into(),
            lot_code: "A1".into(),
            publicity_period: Some(pb::Period { start: Some(support::ts(day(32))), end: Some(support::ts(day(35))) }),
            candidates: candidates.clone(),
            documents: Vec::new(),
        }),
    );
    // 13: award of A1 releases its committee.
    assert_eq!(seq(&s), AWARD_A1);
    s.fact(
        day(36),
        Kind::AwardAnnounced(pb::AwardAnnounced {
            tender_code: "T1".into(),
            lot_code: "A1".into(),
            winner: Some(invitees[0].clone()),
            award_price_fen: 9_000_000_000,
            announced_at: Some(support::ts(day(36))),
            not_first_ranked_reason: String::new(),
            documents: Vec::new(),
        }),
    );
    // 14: evaluation of B1, after A1's award: its committee stays confidential.
    let members_b1 = committee("B1", None, &mut canary);
    let report_b1 = canary("CANARY_EVALUATION_REPORT_B1", None);
    s.fact(day(37), evaluation("B1", members_b1, &report_b1, 37));
    // 15, 16: A1's award is cancelled and A1 re-evaluated by a new committee,
    // which the earlier award does not release.
    s.fact(
        day(40),
        Kind::AwardCancelled(pb::AwardCancelled {
            tender_code: "T1".into(),
            lot_code: "A1".into(),
            reason: "投诉成立".into(),
            complaint_event_id: filed,
            documents: Vec::new(),
        }),
    );
    let members_again = committee("A1_AGAIN", None, &mut canary);
    let report_again = canary("CANARY_EVALUATION_REPORT_A1_AGAIN", None);
    s.fact(day(45), evaluation("A1", members_again, &report_again, 45));
    (s, canaries)
}

#[test]
fn canaries_stay_out_of_the_public_view_until_released() {
    let (stream, canaries) = canary_project();
    let events = &stream.events;
    for n in 1..=events.len() {
        let views = render(&events[..n]);
        let (bytes, debug) = public_bytes_and_debug(&views);
        for canary in &canaries {
            let released = canary.released_at.is_some_and(|at| n as u64 >= at);
            let in_bytes = contains(&bytes, canary.text.as_bytes());
            let in_debug = debug.contains(&canary.text);
            assert_eq!(in_bytes, released, "{} in public bytes after {n} events", canary.text);
            assert_eq!(in_debug, released, "{} in public Debug after {n} events", canary.text);
        }
        assert!(views.public_timeline.iter().all(|e| e.flags.is_empty() && e.restricted_fields.is_empty()));
        assert_eq!(views.public_summary.flag_count, 0);
    }
    // The full view has everything, the superseded complaint version included.
    let views = render(events);
    let full = format!("{:?}", views.full_timeline);
    for canary in &canaries {
        assert!(full.contains(&canary.text), "{} missing from the full view", canary.text);
    }
}

#[test]
fn the_number_of_invitees_is_withheld_too() {
    let (stream, _) = canary_project();
    let before = render(&stream.events[..8]);
    let entry = &before.public_timeline[1];
    assert_eq!(entry.fact_type, "gongkai.v1.TenderAnnounced");
    assert!(entry.details_withheld);
    assert!(entry.parties.iter().all(|p| p.role != pb::PartyRole::Bidder as i32));
    assert!(!entry.summary_zh.contains("受邀投标人4家"));
    assert!(entry.summary_zh.contains("受邀投标人名称及数量依法于开标后公开"), "{}", entry.summary_zh);
    assert_eq!(before.full_timeline[1].restricted_fields, vec!["invited_bidders"]);
    assert!(before.full_timeline[1].summary_zh.contains("受邀投标人4家"));

    let after = render(&stream.events[..9]);
    let entry = &after.public_timeline[1];
    assert!(!entry.details_withheld);
    assert_eq!(entry.parties.iter().filter(|p| p.role == pb::PartyRole::Bidder as i32).count(), 4);
    assert!(entry.summary_zh.contains("受邀投标人4家"), "{}", entry.summary_zh);
    assert!(after.full_timeline[1].restricted_fields.is_empty());
}

#[test]
fn personal_data_and_complaint_details_are_marked_restricted_for_supervisors() {
    let (stream, _) = canary_project();
    let views = render(&stream.events);
    let complaint = &views.full_timeline[4];
    assert_eq!(complaint.restricted_fields, vec!["details", "documents"]);
    assert!(views.public_timeline[4].details_withheld);
    assert!(views.public_timeline[4].documents.is_empty());
    let evaluated = &views.full_timeline[10];
    assert!(evaluated.restricted_fields.contains(&"committee_members[0].id_number".to_owned()));
    assert!(evaluated.restricted_fields.contains(&"candidates[2].project_manager.phone".to_owned()));
    // Candidates' project managers are public by name; committee after the award.
    let public = &views.public_timeline[10];
    assert!(public.people.iter().any(|p| p.name == "项目经理1号"));
    assert!(public.people.iter().any(|p| p.name == "CANARY_EXPERT_A1_1"));
    assert!(public.people.iter().all(|p| p.id_number.is_empty() && p.phone.is_empty()));
    assert!(!views.public_timeline[13].people.iter().any(|p| p.name.starts_with("CANARY_EXPERT")));
}

#[test]
fn a_correction_of_restricted_fields_shows_only_public_changes() {
    let (stream, _) = canary_project();
    let views = render(&stream.events);
    let (full, public) = (&views.full_timeline[5], &views.public_timeline[5]);
    assert_eq!(full.supersedes_event_id, stream.events[4].event_id);
    assert_eq!(views.public_timeline[4].superseded_by_event_id, stream.events[5].event_id);
    let paths = |entry: &pb::TimelineEntry| entry.changes.iter().map(|c| c.path.clone()).collect::<Vec<_>>();
    assert_eq!(paths(public), vec!["subject"]);
    assert!(paths(full).contains(&"details".to_owned()));
    assert!(paths(full).iter().any(|p| p.starts_with("documents[0].")));
    assert!(public.details_withheld);
    assert!(public.title_zh.starts_with("更正：投诉"), "{}", public.title_zh);
}

// ---------------------------------------------------------------------------
// The lawful PPP lifecycle of the testkit.
// ---------------------------------------------------------------------------

#[test]
fn every_entry_reads_naturally() {
    let views = render(&lifecycle().events);
    assert_eq!(views.public_timeline.len(), 29);
    let titles: Vec<&str> = views.public_timeline.iter().map(|e| e.title_zh.as_str()).collect();
    assert_eq!(titles[0], "项目审批：双城区污水处理及配套管网PPP项目");
    assert_eq!(titles[2], "招标公告：双城区污水处理及配套管网PPP项目社会资本方采购（2个标段）");
    assert_eq!(
        views.public_timeline[2].title_en,
        "Tender notice: 双城区污水处理及配套管网PPP项目社会资本方采购 (2 lots)"
    );
    assert_eq!(titles[4], "开标：A1标段 4家投标人");
    assert_eq!(views.public_timeline[4].title_en, "Bid opening: lot A1, 4 bidders");
    assert!(titles[7].starts_with("中标结果公告：A1标段 黑龙江省建工集团有限责任公司，1.80亿元"), "{}", titles[7]);
    for (full, public) in views.full_timeline.iter().zip(&views.public_timeline) {
        for entry in [full, public] {
            assert!(!entry.title_zh.is_empty() && !entry.title_en.is_empty(), "{entry:?}");
            assert!(entry.summary_zh.ends_with('。'), "{}", entry.summary_zh);
            assert!(entry.summary_en.ends_with('.'), "{}", entry.summary_en);
            assert!(entry.fact_type.starts_with("gongkai.v1."));
            assert_ne!(entry.domain, 0);
            assert!(entry.occurred_at.is_some() && entry.recorded_at.is_some());
        }
        // Once complete, the lawful lifecycle withholds nothing: every lot is awarded.
        assert!(!public.details_withheld, "{}", public.title_zh);
    }
    // Amounts in fen, documents with their hashes, lots and tender codes.
    let award = &views.public_timeline[7];
    assert_eq!(award.amounts[0].amount_fen, 18_000_000_000);
    assert_eq!(award.amounts[0].lot_code, "A1");
    assert_eq!(award.documents[0].sha256.len(), 64);
    assert_eq!(award.lot_codes, vec!["A1"]);
    assert_eq!(award.tender_code, "2024-230113-T1");
    let payment = views.public_timeline.iter().find(|e| e.fact_type == "gongkai.v1.PaymentMade").expect("payment");
    assert_eq!(payment.tender_code, "2024-230113-T1");
    // A settlement reads against its contract's signed price, in its lot.
    let settled: Vec<&pb::TimelineEntry> =
        views.public_timeline.iter().filter(|e| e.fact_type == "gongkai.v1.ContractSettled").collect();
    assert_eq!(settled.len(), 2);
    assert_eq!(settled[0].title_zh, "合同结算：HT-A1，1.89亿元");
    assert_eq!(settled[0].title_en, "Contract settled: HT-A1, CNY 189.00 million");
    assert!(
        settled[0].summary_zh.contains("合同价款变化：较签约合同价1.80亿元增加900.00万元（5.00%）。"),
        "{}",
        settled[0].summary_zh
    );
    assert!(
        settled[1].summary_en.contains("a decrease of CNY 450,000.00 (-0.50%) on the signed price"),
        "{}",
        settled[1].summary_en
    );
    assert_eq!(
        (settled[0].lot_codes.as_slice(), settled[0].amounts[0].amount_fen),
        (&["A1".to_owned()][..], 18_900_000_000)
    );
}

#[test]
fn evaluation_committee_is_public_after_the_award_of_its_lot() {
    let events = lifecycle().events;
    // Seq 6 is A1's evaluation; A1's award is seq 8.
    let before = render(&events[..7]);
    assert!(before.public_timeline[5].people.iter().all(|p| !p.name.starts_with("评标专家")));
    assert!(before.public_timeline[5].details_withheld);
    assert!(before.public_timeline[5].documents.is_empty());
    let after = render(&events[..8]);
    assert!(after.public_timeline[5].people.iter().any(|p| p.name == "评标专家1"));
    assert_eq!(after.public_timeline[5].documents.len(), 1);
}

#[test]
fn the_public_timeline_recomputes_the_chain_and_opens_what_was_released() {
    use gongkai_domain::commitment::opens;
    use gongkai_domain::hash::verify_public_chain;

    let events = lifecycle().events;
    let parts = |entry: &pb::TimelineEntry| entry.reveals.iter().map(|r| r.part.clone()).collect::<Vec<_>>();
    for n in [7, 8, events.len()] {
        let views = render(&events[..n]);
        // The public entries alone give every hash the store holds.
        let chain = verify_public_chain(views.public_timeline.iter().map(|e| e.public_event.as_slice()))
            .unwrap_or_else(|broken| panic!("after {n} events: {broken:?}"));
        let hashes: Vec<String> = chain.hashes.iter().map(hex::encode).collect();
        assert_eq!(hashes, events[..n].iter().map(|e| e.hash.clone()).collect::<Vec<_>>());
        assert_eq!(views.public_summary.chain_head_hash, events[n - 1].hash);
        // Every reveal opens a commitment of its own event; none is personal data.
        for (entry, event) in views.public_timeline.iter().zip(&chain.events) {
            for reveal in &entry.reveals {
                assert!(opens(reveal, &event.commitments), "{} of seq {}", reveal.part, entry.project_seq);
                assert!(!reveal.part.ends_with("id_number") && !reveal.part.ends_with("phone"), "{}", reveal.part);
            }
            assert!(!parts(entry).iter().any(|p| p == "flags" || p == "request_id"), "never public");
        }
        // A1's evaluation (seq 6): its committee is released by A1's award (seq 8).
        let committee = parts(&views.public_timeline[5]).contains(&"fact.committee_members".to_owned());
        assert_eq!(committee, n >= 8, "after {n} events");
        // The supervisor's entry reveals every part.
        for (entry, event) in views.full_timeline.iter().zip(&chain.events) {
            assert_eq!(entry.reveals.len(), event.commitments.len(), "seq {}", entry.project_seq);
        }
    }
}

#[test]
fn corrections_are_shown_against_what_they_correct() {
    let mut stream = lifecycle();
    let original = stream.events[2].clone();
    let Some(pb::event_envelope::Body::Fact(pb::Fact { kind: Some(Kind::TenderAnnounced(mut tender)) })) =
        original.body.clone()
    else {
        panic!("event 3 is the tender notice");
    };
    tender.lots[0].ceiling_price_fen = Some(21_000_000_000);
    tender.bid_opening_place = "哈尔滨市公共资源交易中心开标室5".into();
    let first = stream.correct(
        support::day(60),
        &original.event_id,
        "最高投标限价录入错误",
        Kind::TenderAnnounced(tender.clone()),
    );
    tender.bid_security_fen = 70_000_000;
    let second = stream.correct(support::day(61), &first, "投标保证金录入错误", Kind::TenderAnnounced(tender));

    let views = render(&stream.events);
    assert_eq!(views.public_timeline.len(), 31);
    let superseded = &views.public_timeline[2];
    assert_eq!(superseded.superseded_by_event_id, first);
    let correction = &views.public_timeline[29];
    assert_eq!(correction.supersedes_event_id, original.event_id);
    assert_eq!(correction.superseded_by_event_id, second);
    assert_eq!(correction.r#type, "gongkai.v1.DisclosureCorrected");
    assert_eq!(correction.fact_type, "gongkai.v1.TenderAnnounced");
    assert_eq!(correction.occurred_at, original.occurred_at, "a replacement keeps the business time it corrects");
    let changes: Vec<(&str, &str, &str)> =
        correction.changes.iter().map(|c| (c.path.as_str(), c.before.as_str(), c.after.as_str())).collect();
    assert_eq!(
        changes,
        vec![
            ("lots[0].ceiling_price_fen", "20000000000", "21000000000"),
            ("bid_opening_place", "哈尔滨市公共资源交易中心开标室3", "哈尔滨市公共资源交易中心开标室5"),
        ]
    );
    assert!(correction.title_zh.starts_with("更正：招标公告："), "{}", correction.title_zh);
    assert!(correction.summary_zh.contains("本条更正第3号记录，更正原因：最高投标限价录入错误。更正2处内容。"));
    let again = &views.public_timeline[30];
    assert_eq!(again.supersedes_event_id, first);
    assert!(again.superseded_by_event_id.is_empty());
    let changes: Vec<(&str, &str, &str)> =
        again.changes.iter().map(|c| (c.path.as_str(), c.before.as_str(), c.after.as_str())).collect();
    assert_eq!(changes, vec![("bid_security_fen", "80000000", "70000000")]);
    assert_eq!(views.full_timeline[30].changes, again.changes);
}

#[test]
fn the_summary_follows_the_lifecycle() {
    use pb::Stage::*;
    let events = lifecycle().events;
    // Stage after each event of the lifecycle.
    let expected = [
        Approval,
        Approval,
        Tendering,
        Tendering, // approval, PPP details, tender, amendment
        Evaluation,
        Evaluation,
        Evaluation,
        Award,
        Award, // A1: opening, evaluation, publicity, award, notice
        Award,
        Award,
        Award,
        Award,
        Award, // B1
        Contract,
        Contract,
        Contract,
        Contract, // contracts, variations
        Contract, // EIA approval
        Performance,
        Performance,
        Performance,
        Performance,
        Performance,
        Performance, // milestones, payments
        Completion,
        Completion,
        Completion,
        Completion, // acceptance, two contract settlements, final accounts
    ];
    assert_eq!(expected.len(), events.len());
    for (n, stage) in expected.iter().enumerate() {
        let views = render(&events[..=n]);
        assert_eq!(views.full_summary.stage(), *stage, "after event {}", n + 1);
        assert_eq!(views.full_summary.head_seq, n as u64 + 1);
        assert_eq!(views.full_summary.chain_head_hash, events[n].hash);
    }

    let before_contract = render(&events[..14]).full_summary;
    assert_eq!(before_contract.baseline_contract_price_fen, None);
    assert_eq!(before_contract.current_contract_price_fen, None);
    assert_eq!(before_contract.current_end_date, None);
    assert!(before_contract.contract_outcomes.is_empty());
    assert_eq!(before_contract.contracts_price_change_fen, 0);
    assert_eq!(before_contract.contracts_time_variation_days, None);
    assert_eq!(before_contract.investment_variance_fen, None);

    // After the variations: 18 + 9 亿 baseline, +2 × 3 % of 18 亿.
    let performing = render(&events[..18]).full_summary;
    assert_eq!(performing.baseline_contract_price_fen, Some(27_000_000_000));
    assert_eq!(performing.current_contract_price_fen, Some(28_080_000_000));
    // Before any settlement or final accounts, each contract already shows
    // its change against its signing: HT-A1 by its variations, HT-B1 none.
    assert_eq!(performing.contracts_price_change_fen, 1_080_000_000);
    assert_eq!(performing.contracts_price_change_bp, 400);
    assert_eq!(performing.contracts_time_variation_days, Some(0));
    assert_eq!(performing.investment_variance_fen, None, "no final accounts, no investment measure");
    assert_eq!(
        gongkai_testkit::outcome_rows(&performing),
        vec![("HT-A1", None, 1_080_000_000, 600, Some(0)), ("HT-B1", None, 0, 0, Some(0))]
    );
    let changes: Vec<(&str, i64, i64)> = performing.contract_outcomes[0]
        .changes
        .iter()
        .map(|c| (c.variation_number.as_str(), c.price_change_fen, c.price_after_fen))
        .collect();
    assert_eq!(changes, vec![("BG-1", 540_000_000, 18_540_000_000), ("BG-2", 540_000_000, 19_080_000_000)]);
    let period = performing.baseline_contract_period.expect("contract period");
    assert_eq!(period.start, Some(pb::CalendarDate { year: 2024, month: 5, day: 1 }));
    assert_eq!(period.end, Some(pb::CalendarDate { year: 2026, month: 6, day: 30 }));

    let done = render(&events);
    let summary = &done.full_summary;
    assert_eq!(summary.project_code, support::CODE);
    assert_eq!(summary.name, "双城区污水处理及配套管网PPP项目");
    assert_eq!(summary.project_type(), pb::ProjectType::Ppp);
    assert_eq!(summary.ppp_operating_model(), pb::PppOperatingModel::Bot);
    assert_eq!(done.public_summary.ppp_operating_model(), pb::PppOperatingModel::Bot, "public, for OC4IDS `type`");
    assert_eq!(summary.region_code, "230113");
    assert_eq!(summary.owner.as_ref().map(|o| o.name.as_str()), Some("哈尔滨市双城区城市建设投资有限公司"));
    assert_eq!(summary.baseline_investment_fen, 50_000_000_000);
    assert_eq!(summary.final_cost_fen, Some(48_000_000_000));
    assert_eq!(summary.final_scope, "污水处理厂一座，配套管网32公里");
    // The project against its approval (投资节余): 4.8 亿元 against 5 亿元, 4 % under.
    assert_eq!(summary.investment_variance_fen, Some(-2_000_000_000));
    assert_eq!(summary.investment_variance_bp, Some(-400));
    // Ended 2026-05-31 against an approved plan ending 2026-12-31.
    assert_eq!(summary.end_date_variance_days, Some(-214));
    // Each contract against its signing (合同价款变化), apart: HT-A1 settled at
    // 1.89 亿元 on 1.8 亿元 (+5 %), HT-B1 at 8,955 万元 on 9,000 万元 (-0.5 %); both
    // completed 2026-05-31 against a contract end of 2026-06-30.
    assert_eq!(
        gongkai_testkit::outcome_rows(summary),
        vec![
            ("HT-A1", Some(18_900_000_000), 900_000_000, 500, Some(-30)),
            ("HT-B1", Some(8_955_000_000), -45_000_000, -50, Some(-30)),
        ]
    );
    assert!(
        summary
            .contract_outcomes
            .iter()
            .all(|o| o.actual_completion_date == Some(pb::CalendarDate { year: 2026, month: 5, day: 31 }))
    );
    assert_eq!(summary.contracts_price_change_fen, 855_000_000);
    assert_eq!(summary.contracts_price_change_bp, 316);
    assert_eq!(summary.current_end_date, Some(pb::CalendarDate { year: 2026, month: 5, day: 31 }));
    assert_eq!(summary.contracts_time_variation_days, Some(-30));
    assert_eq!(summary.last_event_at, events[28].occurred_at);
    assert_eq!(done.public_summary, pb::ProjectSummary { flag_count: 0, ..summary.clone() });
}

#[test]
fn time_variations_and_suspension_move_the_summary() {
    let mut stream = Stream::new();
    for request in gongkai_scenarios::ppp_lifecycle(support::CODE, "r").requests.into_iter().take(18) {
        stream.request(request);
    }
    stream.fact(
        support::day(400),
        Kind::ContractVaried(pb::ContractVaried {
            contract_code: "HT-B1".into(),
            variation_number: "BG-T1".into(),
            changes_time: true,
            new_end_date: Some(pb::CalendarDate { year: 2026, month: 9, day: 30 }),
            reason: "征地拆迁延误".into(),
            approved_by: Some(org("哈尔滨市双城区城市建设投资有限公司")),
            ..Default::default()
        }),
    );
    let summary = render(&stream.events).full_summary;
    assert_eq!(summary.current_end_date, Some(pb::CalendarDate { year: 2026, month: 9, day: 30 }));
    assert_eq!(summary.contracts_time_variation_days, Some(92));
    let b1 = summary.contract_outcomes.iter().find(|o| o.contract_code == "HT-B1").expect("HT-B1");
    assert_eq!(b1.time_variation_days, Some(92), "the end in force against the signed end, before any acceptance");
    let entry = &render(&stream.events).public_timeline[18];
    assert_eq!(entry.title_zh, "合同变更：HT-B1 第BG-T1号（合同完成日期调整为2026年9月30日）");

    stream.fact(
        support::day(401),
        Kind::ProjectSuspended(pb::ProjectSuspended { reason: "审计整改".into(), ..Default::default() }),
    );
    assert_eq!(render(&stream.events).full_summary.stage(), pb::Stage::Suspended);
    stream.fact(
        support::day(402),
        Kind::ProjectResumed(pb::ProjectResumed { reason: "整改完成".into(), ..Default::default() }),
    );
    assert_eq!(render(&stream.events).full_summary.stage(), pb::Stage::Contract);
}

#[test]
fn flags_are_for_supervisors_only() {
    let mut stream = Stream::new();
    let mut requests = gongkai_scenarios::ppp_lifecycle(support::CODE, "r").requests;
    // Sign contract HT-A1 at a price other than the award price: TBL-46-PRICE-MISMATCH.
    if let gongkai_scenarios::Request::SignContract(m) = &mut requests[14] {
        m.fact.as_mut().expect("fact").price_fen += 1;
    }
    for request in requests {
        stream.request(request);
    }
    let views = render(&stream.events);
    let flagged = stream.events.iter().map(|e| e.flags.len()).sum::<usize>();
    assert!(flagged > 0);
    assert_eq!(views.full_summary.flag_count as usize, flagged);
    assert_eq!(views.public_summary.flag_count, 0);
    assert_eq!(views.full_timeline[14].flags, stream.events[14].flags);
    assert!(views.public_timeline.iter().all(|e| e.flags.is_empty()));
    let (bytes, _) = public_bytes_and_debug(&views);
    for flag in &stream.events[14].flags {
        assert!(!contains(&bytes, flag.rule.as_bytes()), "{}", flag.rule);
    }
}

#[test]
fn rendering_is_deterministic() {
    for (events, name) in [(lifecycle().events, "lifecycle"), (canary_project().0.events, "canaries")] {
        let once = support::encoded(&render(&events));
        let twice = support::encoded(&render(&events));
        assert_eq!(once, twice, "{name}");
        // Order of delivery and redelivery do not matter.
        let mut shuffled: Vec<pb::EventEnvelope> = events.iter().rev().cloned().collect();
        shuffled.extend(events.iter().take(3).cloned());
        assert_eq!(support::encoded(&render(&shuffled)), once, "{name}");
    }
}

#[test]
fn an_empty_or_odd_stream_renders_without_panicking() {
    let views: ProjectViews = render(&[]);
    assert!(views.public_timeline.is_empty());
    assert_eq!(views.full_summary.stage(), pb::Stage::Unspecified);
    let odd = pb::EventEnvelope { event_id: "x".into(), project_seq: 1, ..Default::default() };
    let views = render(&[odd]);
    assert_eq!(views.public_timeline[0].title_en, "Unrecognized record");
    assert_eq!(views.full_summary.head_seq, 1);
    let _ = views.full_summary.encode_to_vec();
}

#[test]
fn a_record_past_the_money_bound_is_not_rendered_at_all() {
    // A variation an earlier version accepted: i64::MIN fen off the price.
    let mut stream = lifecycle();
    let contract = stream
        .events
        .iter()
        .find_map(|event| match &event.body {
            Some(pb::event_envelope::Body::Fact(pb::Fact { kind: Some(Kind::ContractSigned(signed)) })) => {
                Some(signed.contract_code.clone())
            }
            _ => None,
        })
        .expect("the lifecycle signs a contract");
    let poison = pb::ContractVaried {
        contract_code: contract,
        variation_number: "V-MIN".into(),
        changes_price: true,
        price_change_fen: i64::MIN,
        reason: "hostile".into(),
        ..Default::default()
    };
    // Recorded as an earlier version did, past today's rules.
    let mut event = stream.events.last().expect("a lifecycle has events").clone();
    event.project_seq += 1;
    event.event_id = "01900000-0000-7000-8000-0000000fffff".to_owned();
    event.body = Some(pb::event_envelope::Body::Fact(pb::Fact { kind: Some(Kind::ContractVaried(poison)) }));
    let poison_id = event.event_id.clone();
    stream.events.push(event);
    match gongkai_projector::render(&stream.events) {
        Err(gongkai_projector::RenderError::OutOfBounds { event_id, .. }) => assert_eq!(event_id, poison_id),
        Ok(views) => panic!("rendered a record past the bound: {:?}", views.full_summary),
    }
}
