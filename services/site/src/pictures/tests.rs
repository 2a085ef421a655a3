use chrono::DateTime;
use gongkai_proto::v1::{ContractChange, ContractOutcome, DateRange};
use proptest::prelude::*;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};

use super::*;

/// An element of a parsed picture: its name and attributes.
#[derive(Debug)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
}

impl Element {
    fn get(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn number(&self, key: &str) -> f64 {
        self.get(key).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{key} of {self:?}"))
    }
}

/// Parses `xml` strictly (end names checked), returning every element and
/// the text; panics when it is not well-formed.
fn parse(xml: &str) -> (Vec<Element>, String) {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let (mut elements, mut text) = (Vec::new(), String::new());
    loop {
        match reader.read_event().unwrap_or_else(|error| panic!("not well-formed ({error}): {xml}")) {
            Event::Start(tag) | Event::Empty(tag) => {
                let attributes = tag
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap_or_else(|error| panic!("attribute ({error}): {xml}"));
                        let value = a
                            .normalized_value(XmlVersion::Implicit1_0)
                            .unwrap_or_else(|error| panic!("value ({error}): {xml}"));
                        (a.key.as_ref().to_owned(), value.into_owned())
                    })
                    .collect();
                elements.push(Element { name: tag.name().as_ref().to_owned(), attributes });
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(reference) => {
                let char_ref = reference.resolve_char_ref().unwrap_or_else(|error| panic!("{error}: {xml}"));
                match char_ref {
                    Some(c) => text.push(c),
                    None => text.push_str(
                        resolve_predefined_entity(&reference).unwrap_or_else(|| panic!("an undefined entity in {xml}")),
                    ),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (elements, text)
}

fn svg_of(picture: &Picture) -> &str {
    picture.svg().unwrap_or_else(|| panic!("a drawn picture: {picture:?}"))
}

/// The `viewBox` height of an SVG.
fn height(elements: &[Element]) -> f64 {
    let view_box = elements.iter().find(|e| e.name == "svg").and_then(|e| e.get("viewBox")).expect("a viewBox");
    let parts: Vec<f64> = view_box.split(' ').map(|p| p.parse().expect("a number")).collect();
    assert_eq!(parts[..3], [0.0, 0.0, WIDTH], "{view_box}");
    parts[3]
}

/// Asserts every coordinate of every drawn element lies in the `viewBox`.
fn within_view_box(svg: &str) {
    let (elements, _) = parse(svg);
    let height = height(&elements);
    let inside = |what: &str, x: f64, y: f64| {
        assert!(x.is_finite() && (0.0..=WIDTH).contains(&x), "{what}: x {x} outside 0..{WIDTH}");
        assert!(y.is_finite() && (0.0..=height).contains(&y), "{what}: y {y} outside 0..{height}");
    };
    for e in elements.iter().filter(|e| e.get("x").is_some() && e.name != "pattern") {
        if e.name == "rect" && e.get("y").is_none() {
            continue; // the hatch pattern's tile
        }
        let (x, y) = (e.number("x"), e.number("y"));
        inside(&e.name, x, y);
        if e.name == "rect" {
            inside("rect end", x + e.number("width"), y + e.number("height"));
        }
        if e.name == "text" {
            let size = e.get("font-size").map_or(FONT, |_| e.number("font-size"));
            assert!(size >= 10.0, "text at {size} units");
            inside("text top", x, y - size * 0.8);
        }
    }
    for e in elements.iter().filter(|e| e.name == "line") {
        inside("line start", e.number("x1"), e.number("y1"));
        inside("line end", e.number("x2"), e.number("y2"));
    }
    for e in elements.iter().filter(|e| e.name == "polygon") {
        for point in e.get("points").expect("points").split(' ') {
            let (x, y) = point.split_once(',').expect("x,y");
            inside("polygon", x.parse().expect("x"), y.parse().expect("y"));
        }
    }
}

/// The value bars (not the grey tracks, nor the pattern's tiles) of a bar
/// chart, in order: their widths.
fn bar_widths(svg: &str) -> Vec<f64> {
    let (elements, _) = parse(svg);
    elements
        .iter()
        .filter(|e| e.name == "rect" && e.get("y").is_some() && e.get("fill") != Some(TRACK))
        .map(|e| e.number("width"))
        .collect()
}

fn bar(label: &str, value: i64) -> BarRow {
    BarRow::Bar { label: label.to_owned(), value, text: value.to_string(), fill: Fill::Solid }
}

fn date(year: i32, month: i32, day: i32) -> CalendarDate {
    CalendarDate { year, month, day }
}

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a date")
}

#[test]
fn bars_are_proportional_on_one_scale() {
    let rows = [BarRow::Group("合同 A".into()), bar("一", 100), bar("二", 50), bar("三", 25), bar("四", 0)];
    let picture = bar_chart(Lang::Zh, "t", "测试".into(), &rows, Scale::COUNT, false);
    let svg = svg_of(&picture);
    assert_eq!(bar_widths(svg), [400.0, 200.0, 100.0, 0.0]);
    within_view_box(svg);
    let (_, text) = parse(&picture.html());
    for figure in ["一", "100", "三", "25", "合同 A · 二"] {
        assert!(text.contains(figure), "the text alternative holds {figure}: {text}");
    }
}

#[test]
fn amounts_off_the_scale_are_clamped_and_said_so() {
    let rows = [bar("大", i64::MAX), bar("负", i64::MIN), bar("小", AMOUNT_MAX_FEN / 2)];
    let picture = bar_chart(Lang::En, "t", "test".into(), &rows, Scale::MONEY, true);
    let svg = svg_of(&picture);
    within_view_box(svg);
    assert_eq!(bar_widths(svg), [400.0, 0.0, 200.0]);
    let html = picture.html();
    assert!(html.contains("大 (9223372036854775807) is off the scale"), "{html}");
    assert!(html.contains("负 is negative"), "{html}");
}

#[test]
fn hostile_text_is_escaped_and_what_xml_forbids_dropped() {
    let hostile = "<script>alert(1)</script>&\u{0}\u{1b}\u{b}\"'\u{ffff}";
    let mut summary = ProjectSummary { baseline_investment_fen: 100, ..ProjectSummary::default() };
    summary.contract_outcomes.push(ContractOutcome {
        contract_code: hostile.to_owned(),
        signed_price_fen: 50,
        current_price_fen: 60,
        signed_period: Some(DateRange { start: Some(date(2024, 1, 1)), end: Some(date(2024, 12, 31)) }),
        changes: vec![ContractChange {
            variation_number: hostile.to_owned(),
            new_end_date: Some(date(2025, 3, 1)),
            ..ContractChange::default()
        }],
        ..ContractOutcome::default()
    });
    let schedule = schedule(Lang::Zh, &ScheduleInput::of(&summary, Vec::new(), true, day(2024, 6, 1)));
    for picture in [money(Lang::Zh, &summary), schedule] {
        let html = picture.html();
        assert!(!html.contains("<script") && !html.contains('\u{0}') && !html.contains('\u{1b}'), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        let (_, text) = parse(&html);
        assert!(text.contains("<script>alert(1)</script>&\"'"), "the text reads as given, minus the controls: {text}");
        within_view_box(svg_of(&picture));
    }
}

#[test]
fn today_is_marked_where_it_falls_in_the_plan() {
    let summary = ProjectSummary {
        baseline_planned_period: Some(DateRange { start: Some(date(2024, 1, 1)), end: Some(date(2025, 1, 1)) }),
        ..ProjectSummary::default()
    };
    let today = day(2024, 7, 1);
    let picture = schedule(Lang::En, &ScheduleInput::of(&summary, Vec::new(), true, today));
    let svg = svg_of(&picture);
    within_view_box(svg);
    let (elements, text) = parse(svg);
    let plan = elements.iter().find(|e| e.name == "rect" && e.get("fill") == Some(LIGHT_BLUE)).expect("the plan");
    let line = elements
        .iter()
        .find(|e| e.name == "line" && e.get("stroke") == Some(TODAY) && e.get("x1") == e.get("x2"))
        .expect("today's line");
    let share = (today - day(2024, 1, 1)).num_days() as f64 / (day(2025, 1, 1) - day(2024, 1, 1)).num_days() as f64;
    let expected = plan.number("x") + share * plan.number("width");
    assert!((line.number("x1") - expected).abs() <= 0.2, "today at {} not {expected}", line.number("x1"));
    assert!(text.contains("Today 2024-07-01") && text.contains("2024-01-01 – 2025-01-01"), "{text}");
    assert!(text.contains("2024") && text.contains("2025"), "years on the axis: {text}");
}

#[test]
fn a_contract_shows_its_extension_variations_and_completion() {
    let summary = ProjectSummary {
        contract_outcomes: vec![ContractOutcome {
            contract_code: "HT-A1".into(),
            signed_period: Some(DateRange { start: Some(date(2024, 1, 1)), end: Some(date(2024, 12, 31)) }),
            current_end_date: Some(date(2025, 3, 31)),
            actual_completion_date: Some(date(2025, 3, 20)),
            changes: vec![ContractChange {
                variation_number: "V1".into(),
                new_end_date: Some(date(2025, 3, 31)),
                ..ContractChange::default()
            }],
            ..ContractOutcome::default()
        }],
        ..ProjectSummary::default()
    };
    let stages = vec![("立项".to_owned(), day(2023, 10, 1)), ("合同".to_owned(), day(2023, 12, 20))];
    let picture = schedule(Lang::Zh, &ScheduleInput::of(&summary, stages, true, day(2025, 6, 1)));
    let svg = svg_of(&picture);
    within_view_box(svg);
    let (elements, _) = parse(svg);
    let hatched = elements.iter().filter(|e| e.get("fill") == Some("url(#schedule-hatch)")).count();
    assert!(hatched >= 2, "the extension and its legend are hatched");
    assert_eq!(
        elements.iter().filter(|e| e.name == "polygon").count(),
        4,
        "variation and completion, and their legend"
    );
    let (_, text) = parse(&picture.html());
    for said in
        ["合同 HT-A1", "现约定竣工 2025-03-31", "变更 V1 改至 2025-03-31", "实际竣工 2025-03-20", "阶段：合同", "至今"]
    {
        assert!(text.contains(said), "the table says {said}: {text}");
    }
}

#[test]
fn a_project_just_approved_gets_a_plan_or_a_reason() {
    let mut summary = ProjectSummary::default();
    for lang in [Lang::Zh, Lang::En] {
        let nothing = schedule(lang, &ScheduleInput::of(&summary, Vec::new(), true, day(2024, 1, 1)));
        assert!(nothing.svg().is_none());
        let money = money(lang, &summary);
        assert!(money.svg().is_none());
        let (_, text) = parse(&money.html());
        assert!(text.contains(lang.pick("尚无批复总投资或合同金额", "No approved investment")), "{text}");
    }
    summary.baseline_investment_fen = 27_000_000_000;
    summary.baseline_planned_period = Some(DateRange { start: Some(date(2024, 3, 1)), end: Some(date(2026, 2, 28)) });
    let stages = vec![("立项".to_owned(), day(2024, 1, 15))];
    let plan = schedule(Lang::Zh, &ScheduleInput::of(&summary, stages, true, day(2024, 1, 20)));
    within_view_box(svg_of(&plan));
    let money = money(Lang::Zh, &summary);
    assert_eq!(bar_widths(svg_of(&money)), [400.0]);
    assert!(money.html().contains("2.70亿元"));
}

#[test]
fn stages_are_reached_in_bar_order_by_their_first_fact() {
    let entry = |fact: &str, seconds: i64, superseded: bool| TimelineEntry {
        fact_type: format!("gongkai.v1.{fact}"),
        occurred_at: Some(prost_types::Timestamp { seconds, nanos: 0 }),
        superseded_by_event_id: if superseded { "x".into() } else { String::new() },
        ..TimelineEntry::default()
    };
    let day_s = 86_400;
    let entries = [
        entry("ProjectApproved", 1_700_000_000, false),
        entry("TenderAnnounced", 1_700_000_000 + 10 * day_s, true),
        entry("TenderAnnounced", 1_700_000_000 + 12 * day_s, false),
        // Dated before the tender: drawn from the tender on.
        entry("BidsOpened", 1_700_000_000 + 5 * day_s, false),
        entry("PppDetailsDisclosed", 1_700_000_000 + 2 * day_s, false),
    ];
    let bar = ["approval", "tendering", "evaluation", "award"];
    let reached = stages_reached(bar.into_iter(), &entries);
    let approved = DateTime::from_timestamp(1_700_000_000, 0).expect("time").with_timezone(&beijing()).date_naive();
    assert_eq!(
        reached,
        [
            ("approval", approved),
            ("tendering", approved + Duration::days(12)),
            ("evaluation", approved + Duration::days(12))
        ]
    );
}

fn any_date() -> impl Strategy<Value = Option<CalendarDate>> {
    prop_oneof![
        Just(None),
        (1990..2100_i32, 1..=12_i32, 1..=28_i32).prop_map(|(y, m, d)| Some(date(y, m, d))),
        (any::<i32>(), any::<i32>(), any::<i32>()).prop_map(|(y, m, d)| Some(date(y, m, d))),
        (-262_000..262_000_i32, 1..=12_i32, 1..=28_i32).prop_map(|(y, m, d)| Some(date(y, m, d))),
    ]
}

fn any_amount() -> impl Strategy<Value = i64> {
    prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0_i64), any::<i64>(), 0..AMOUNT_MAX_FEN]
}

fn any_outcome() -> impl Strategy<Value = ContractOutcome> {
    (
        ".{0,30}",
        (any_amount(), any_amount(), any_amount(), proptest::option::of(any_amount())),
        (any_date(), any_date(), any_date(), any_date()),
        proptest::collection::vec((".{0,8}", any_date()), 0..4),
    )
        .prop_map(|(code, (signed, current, paid, settled), (start, end, current_end, done), changes)| {
            ContractOutcome {
                contract_code: code,
                signed_price_fen: signed,
                current_price_fen: current,
                paid_fen: paid,
                settled_value_fen: settled,
                signed_period: Some(DateRange { start, end }),
                current_end_date: current_end,
                actual_completion_date: done,
                changes: changes
                    .into_iter()
                    .map(|(number, moved)| ContractChange {
                        variation_number: number,
                        new_end_date: moved,
                        ..ContractChange::default()
                    })
                    .collect(),
                ..ContractOutcome::default()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Whatever the summary holds, both pictures are well-formed and drawn
    /// inside their `viewBox`, in both languages.
    #[test]
    fn any_summary_draws_inside_the_view_box(
        investment in any_amount(),
        final_cost in proptest::option::of(any_amount()),
        planned in (any_date(), any_date()),
        outcomes in proptest::collection::vec(any_outcome(), 0..11),
        stages in proptest::collection::vec((".{0,6}", -100_000..100_000_i64), 0..10),
        today in -100_000..100_000_i64,
    ) {
        let epoch = day(2000, 1, 1);
        let summary = ProjectSummary {
            baseline_investment_fen: investment,
            final_cost_fen: final_cost,
            baseline_planned_period: Some(DateRange { start: planned.0, end: planned.1 }),
            contract_outcomes: outcomes,
            ..ProjectSummary::default()
        };
        let stages = stages.into_iter().map(|(name, offset)| (name, epoch + Duration::days(offset))).collect();
        let input = ScheduleInput::of(&summary, stages, today % 2 == 0, epoch + Duration::days(today));
        for lang in [Lang::Zh, Lang::En] {
            for picture in [schedule(lang, &input), money(lang, &summary)] {
                parse(&picture.html());
                if let Some(svg) = picture.svg() {
                    within_view_box(svg);
                }
            }
        }
    }
}

/// Numbers as the float formatting writes them: at most one decimal, an
/// integer without one, a negative zero signed.
fn float_written(value: f64) -> String {
    let tenths = if value.is_finite() { (value * 10.0).round() } else { 0.0 };
    if tenths % 10.0 == 0.0 { format!("{}", tenths / 10.0) } else { format!("{:.1}", tenths / 10.0) }
}

#[test]
fn numbers_read_as_the_float_formatting_writes_them() {
    for value in [0.0, -0.0, -0.04, 0.04, 0.05, -0.05, 1.0, -1.0, 12.34, -12.35, 399.96, 1e14, -1e14, 1e16, -1e300]
        .into_iter()
        .chain([f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN_POSITIVE])
    {
        assert_eq!(n(value).to_string(), float_written(value), "{value}");
    }
}

proptest! {
    #[test]
    fn any_number_reads_as_the_float_formatting_writes_it(value in any::<f64>()) {
        prop_assert_eq!(n(value).to_string(), float_written(value));
    }
}
