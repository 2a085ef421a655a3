//! Keeps `docs/domain.md` honest: every rule code the code can return is
//! documented, every code the document names exists, every figure unit is
//! listed (and no other is used), and the worked examples are right: the
//! valid identifiers pass the crate's validation, the invalid ones fail it
//! with the reason the document quotes, and the money example is written as
//! the crate writes it.

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use gongkai_domain::codes::ProjectCode;
use gongkai_domain::decide::rules::{HARD_RULES, SOFT_RULES};
use gongkai_domain::vocabulary::FigureUnit;
use gongkai_domain::{Body, Submission, money, validate};
use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{BidsEvaluated, Fact, Organization, Person, ProjectApproved};
use prost_types::Timestamp;

/// The document under test.
const DOC: &str = include_str!("../../../../docs/domain.md");
/// The soft-rule catalogue (`ComplianceFlag` comment), GK-MISSING-* included.
const COMMON_PROTO: &str = include_str!("../../../../proto/gongkai/v1/common.proto");
/// The hard-rule catalogue (file header), EVENT_OTHER_DOMAIN included.
const INGESTION_PROTO: &str = include_str!("../../../../proto/gongkai/v1/ingestion.proto");

/// The text of the `## ` section whose heading starts with `heading`, up to
/// the next `## ` heading.
fn section(heading: &str) -> &'static str {
    let start = DOC
        .match_indices("\n## ")
        .map(|(at, _)| at + 1)
        .find(|at| DOC[at + 3..].starts_with(heading))
        .unwrap_or_else(|| panic!("docs/domain.md has no section \"## {heading}\""));
    let rest = &DOC[start + 3..];
    let end = rest.find("\n## ").map_or(DOC.len(), |end| start + 3 + end);
    &DOC[start..end]
}

/// The first `` `...` `` span of `text`.
fn first_code_span(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once('`')?;
    let (span, _) = rest.split_once('`')?;
    Some(span)
}

/// The cells of a Markdown table row (`| a | b |` → `["a", "b"]`).
fn cells(row: &str) -> Vec<&str> {
    row.trim().trim_start_matches('|').trim_end_matches('|').split('|').map(str::trim).collect()
}

/// Whether `text` is shaped like a rule code: capitals, digits, `_` or `-`,
/// with at least one separator.
fn looks_like_rule_code(text: &str) -> bool {
    text.contains(['_', '-'])
        && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Codes listed as `// * `CODE`: ...` in common.proto's ComplianceFlag comment.
fn soft_rule_catalogue() -> BTreeSet<&'static str> {
    let start = COMMON_PROTO.find("// Rule codes").expect("common.proto lists the rule codes");
    let end = start + COMMON_PROTO[start..].find("message ComplianceFlag").expect("the ComplianceFlag message");
    COMMON_PROTO[start..end]
        .lines()
        .filter_map(|line| line.trim().strip_prefix("// * `"))
        .filter_map(|rest| rest.split('`').next())
        .collect()
}

/// Codes listed under "Hard-rule codes" in ingestion.proto's header.
fn hard_rule_catalogue() -> BTreeSet<&'static str> {
    let start = INGESTION_PROTO.find("// Hard-rule codes").expect("ingestion.proto lists the hard-rule codes");
    INGESTION_PROTO[start..]
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with("//"))
        .filter_map(|line| line.trim_start_matches('/').split_whitespace().next())
        .filter(|word| looks_like_rule_code(word) && !word.contains('-'))
        .collect()
}

/// Every code the code and the contract say can be returned or raised.
fn known_codes() -> BTreeSet<&'static str> {
    let mut codes: BTreeSet<&str> = HARD_RULES.iter().chain(SOFT_RULES.iter()).copied().collect();
    codes.extend(soft_rule_catalogue());
    codes.extend(hard_rule_catalogue());
    codes
}

#[test]
fn every_rule_code_is_documented() {
    let soft = soft_rule_catalogue();
    let hard = hard_rule_catalogue();
    assert!(soft.contains("GK-MISSING-CONTRACT"), "common.proto's catalogue was not found: {soft:?}");
    assert!(hard.contains("EVENT_OTHER_DOMAIN"), "ingestion.proto's catalogue was not found: {hard:?}");

    let missing: Vec<&str> = known_codes().into_iter().filter(|code| !DOC.contains(&format!("`{code}`"))).collect();
    assert!(missing.is_empty(), "docs/domain.md does not name these rule codes: {missing:?}");
}

#[test]
fn every_hard_rule_has_a_row_and_every_row_is_a_rule() {
    let table: Vec<&str> = section("Hard rules")
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| first_code_span(cells(line)[0]))
        .collect();
    let known = known_codes();
    let unknown: Vec<&&str> = table.iter().filter(|code| !known.contains(**code)).collect();
    assert!(unknown.is_empty(), "the hard-rule table names codes nothing returns: {unknown:?}");
    let mut hard: BTreeSet<&str> = HARD_RULES.into_iter().collect();
    hard.extend(hard_rule_catalogue());
    let absent: Vec<&str> = hard.into_iter().filter(|code| !table.contains(code)).collect();
    assert!(absent.is_empty(), "hard rules without a row in the hard-rule table: {absent:?}");
}

#[test]
fn every_flag_has_a_section_and_every_section_is_a_flag() {
    let flags = section("Soft rules");
    let headings: BTreeSet<&str> = flags
        .lines()
        .filter(|line| line.starts_with("### `") || line.starts_with("#### `"))
        .filter_map(first_code_span)
        .collect();
    let mut soft: BTreeSet<&str> = SOFT_RULES.into_iter().collect();
    soft.extend(soft_rule_catalogue());
    assert_eq!(headings, soft, "one `### `CODE`` section per compliance flag code, and no other");
    for code in &soft {
        let legal = format!("{code}` |");
        assert!(flags.contains(&legal), "{code} is missing from the table of the rules at a glance");
    }
}

#[test]
fn every_figure_unit_is_listed_and_no_other_is_used() {
    let flags = section("Soft rules");
    let units: Vec<&str> = FigureUnit::ALL.iter().map(|unit| unit.as_str()).collect();
    for unit in &units {
        let row = format!("| `{unit}` |");
        assert!(flags.contains(&row), "the unit `{unit}` is not in the figure-unit table");
    }
    // Figure rows: | `name` ... | `unit` | value | limit |
    let mut figures = 0;
    for line in flags.lines().filter(|line| line.starts_with("| `")) {
        let row = cells(line);
        if row.len() != 4 {
            continue;
        }
        let Some(unit) = first_code_span(row[1]) else { continue };
        figures += 1;
        assert!(units.contains(&unit), "figure row uses `{unit}`, which is no FigureUnit: {line}");
    }
    assert!(figures >= 20, "expected the figure tables of every flag, found {figures} figure rows");
}

/// The marked examples: `Example (<kind>): `<value>` ...`, with their lines.
fn examples() -> Vec<(&'static str, &'static str, &'static str)> {
    DOC.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("Example (")?;
            let (kind, rest) = rest.split_once("): ")?;
            Some((kind, first_code_span(rest)?, line))
        })
        .collect()
}

/// The violation validation reports on `field` of a submission of `kind`.
fn violation(kind: Kind, field: &str) -> Option<String> {
    let now = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).single().expect("a valid instant");
    let submission = Submission {
        request_id: "docs-example".to_owned(),
        project_code: "2017-230113-48-01-012345".to_owned(),
        occurred_at: Some(Timestamp { seconds: now.timestamp() - 86_400, nanos: 0 }),
        body: Some(Body::Fact(Fact { kind: Some(kind) })),
    };
    validate::submission(&submission, now)
        .into_iter()
        .find(|violation| violation.field == field)
        .map(|violation| violation.description)
}

/// The violation on a unified social credit code, checked as a project owner's.
fn credit_code_violation(code: &str) -> Option<String> {
    let owner = Organization {
        name: "哈尔滨市某某建设有限公司".to_owned(),
        unified_social_credit_code: code.to_owned(),
        role: 0,
    };
    let fact = ProjectApproved { owner: Some(owner), ..ProjectApproved::default() };
    violation(Kind::ProjectApproved(fact), "fact.owner.unified_social_credit_code")
}

/// The violation on an ID number, checked as an evaluation committee member's.
fn id_number_violation(number: &str) -> Option<String> {
    let member = Person { name: "评标委员会成员".to_owned(), id_number: number.to_owned(), ..Person::default() };
    let fact = BidsEvaluated { committee_members: vec![member], ..BidsEvaluated::default() };
    violation(Kind::BidsEvaluated(fact), "fact.committee_members[0].id_number")
}

#[test]
fn the_worked_examples_are_right() {
    let examples = examples();
    for required in
        ["valid USCC", "invalid USCC", "valid ID number", "invalid ID number", "valid project code", "money"]
    {
        assert!(
            examples.iter().any(|(kind, _, _)| *kind == required),
            "docs/domain.md has no line `Example ({required}): `...``"
        );
    }
    for (kind, value, line) in examples {
        match kind {
            "valid USCC" => assert_eq!(credit_code_violation(value), None, "{line}"),
            "invalid USCC" => {
                let reason = credit_code_violation(value).unwrap_or_else(|| panic!("{value} passes: {line}"));
                assert!(line.contains(&reason), "the line must quote the reason “{reason}”: {line}");
            }
            "valid ID number" => assert_eq!(id_number_violation(value), None, "{line}"),
            "invalid ID number" => {
                let reason = id_number_violation(value).unwrap_or_else(|| panic!("{value} passes: {line}"));
                assert!(line.contains(&reason), "the line must quote the reason “{reason}”: {line}");
            }
            "valid project code" => {
                assert!(ProjectCode::parse(value).is_ok(), "{line}");
            }
            "invalid project code" => {
                let reason = ProjectCode::parse(value).err().unwrap_or_else(|| panic!("{value} passes: {line}"));
                assert!(line.contains(reason), "the line must quote the reason “{reason}”: {line}");
            }
            "money" => {
                let fen: i64 = value.parse().unwrap_or_else(|_| panic!("not an amount in fen: {line}"));
                for written in [money::zh(fen), money::en(fen), money::exact(fen)] {
                    assert!(line.contains(&written), "the line must write {fen} fen as “{written}”: {line}");
                }
            }
            other => panic!("unknown example kind ({other}): {line}"),
        }
    }
}

/// The worked table after `marker` `` `BASE` ``: the base, its rows (cells)
/// and the stated sum.
fn worked_table(marker: &str) -> (&'static str, Vec<Vec<&'static str>>, i64) {
    let start = DOC.find(marker).unwrap_or_else(|| panic!("docs/domain.md has no \"{marker}\""));
    let base = first_code_span(&DOC[start + marker.len() - 1..]).expect("the base in backticks");
    let mut rows = Vec::new();
    let mut sum = None;
    for line in DOC[start..].lines().skip_while(|line| !line.starts_with('|')).take_while(|line| line.starts_with('|'))
    {
        let row = cells(line);
        if row.contains(&"sum") {
            sum = row.last().and_then(|cell| cell.parse().ok());
        } else if row[0].parse::<usize>().is_ok() {
            rows.push(row);
        }
    }
    (base, rows, sum.unwrap_or_else(|| panic!("the table after \"{marker}\" states no sum")))
}

/// A number in a table cell.
fn number(cell: &str) -> i64 {
    cell.parse().unwrap_or_else(|_| panic!("not a number: {cell}"))
}

/// The valid example of `kind`.
fn valid_example(kind: &str) -> &'static str {
    examples().into_iter().find(|(k, _, _)| *k == kind).map(|(_, value, _)| value).expect("a valid example")
}

#[test]
fn the_check_character_tables_add_up_to_the_valid_examples() {
    // GB 32100-2015: value = position in the character set, weight 3^(i-1) mod 31.
    const CREDIT_CODE_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    let (base, rows, sum) = worked_table("the first 17 characters `");
    assert_eq!(rows.len(), 17, "one row per character of {base}");
    let mut weight = 1;
    let mut total = 0;
    for (i, (row, c)) in rows.iter().zip(base.chars()).enumerate() {
        let value = CREDIT_CODE_CHARS.find(c).expect("a credit-code character") as i64;
        assert_eq!(number(row[0]), i as i64 + 1, "row {row:?}");
        assert_eq!(row[1], c.to_string(), "row {row:?}");
        assert_eq!((number(row[2]), number(row[3]), number(row[4])), (value, weight, value * weight), "row {row:?}");
        total += value * weight;
        weight = weight * 3 % 31;
    }
    assert_eq!(sum, total, "the USCC table's sum");
    let check = CREDIT_CODE_CHARS.as_bytes()[((31 - sum % 31) % 31) as usize] as char;
    assert_eq!(valid_example("valid USCC"), format!("{base}{check}"));

    // GB 11643-1999: ISO 7064 MOD 11-2.
    const WEIGHTS: [i64; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let (base, rows, sum) = worked_table("the first 17 digits `");
    assert_eq!(rows.len(), 17, "one row per digit of {base}");
    let mut total = 0;
    for (i, (row, digit)) in rows.iter().zip(base.bytes()).enumerate() {
        let digit = i64::from(digit - b'0');
        assert_eq!(number(row[0]), i as i64 + 1, "row {row:?}");
        assert_eq!(
            (number(row[1]), number(row[2]), number(row[3])),
            (digit, WEIGHTS[i], digit * WEIGHTS[i]),
            "row {row:?}"
        );
        total += digit * WEIGHTS[i];
    }
    assert_eq!(sum, total, "the ID number table's sum");
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    assert_eq!(valid_example("valid ID number"), format!("{base}{check}"));
}
