//! Open data at every stage of a project's life, checked as its consumers
//! check it: every export validates against the official schemas after each
//! step of the lawful lifecycles, carries nothing empty, and gives each
//! tender of each project an ocid of its own (the configured prefix, the
//! project code, the tender code) with release ids unique within it; and
//! exports of a few stages, through the real binary among them, pass the
//! checks of the OCDS and OC4IDS Data Review Tools (libcoveocds with its
//! additional checks, libcoveoc4ids), run offline against the schemas in
//! `../shared/schemas` by `open_data_checks.py`. Without the Python tools
//! (`scripts/tools/python.sh`) the tests fail.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use gongkai_domain::ProjectState;
use gongkai_proto::v1 as pb;
use gongkai_proto::v1::Stage;
use gongkai_scenarios::{Request, expropriation_lifecycle, ppp_lifecycle};
use gongkai_site::{OCID_SCHEME, OcidPrefix, opendata};
use serde_json::{Value, json};

use crate::ingestion::{Backend, Ingestion};
use crate::projection::wait_for_public_seq;
use crate::site::{SCHEMAS, assert_valid, get_json, validator};
use crate::support::http_get;

/// What the Data Review Tools' checks run (see its header).
const CHECKS: &str = include_str!("open_data_checks.py");

/// A registered-looking prefix other than the default, so a test sees that
/// the configured one is used everywhere.
const PREFIX: &str = "ocds-t3st00";

/// A package to check: its name in the report, `ocds` or `oc4ids`, the JSON.
pub(crate) type Package = (String, &'static str, Value);

/// Runs the Data Review Tools' checks on `packages`, offline; fails on any
/// finding (schema errors, undeclared or unknown fields, empty fields,
/// closed-codelist values, duplicate release ids, malformed ocid prefixes)
/// and on any attempt to reach the network; prints what is only noted.
pub(crate) fn assert_reviewed(packages: &[Package]) {
    let input = json!({
        "schemas": SCHEMAS,
        // The extension the packages declare, as every site serves it.
        "project_extension": concat!(env!("CARGO_MANIFEST_DIR"), "/../site/ocds/project-extension"),
        "packages": packages
            .iter()
            .map(|(name, kind, package)| json!({ "name": name, "kind": kind, "package": package }))
            .collect::<Vec<_>>(),
    });
    let started = std::time::Instant::now();
    let output = gongkai_testkit::tools::run_python(CHECKS, input.to_string().as_bytes());
    let report: Value =
        serde_json::from_str(&output).unwrap_or_else(|error| panic!("report is JSON ({error}): {output}"));
    println!("{} packages reviewed in {:?}", packages.len(), started.elapsed());
    assert_eq!(report["network"], json!([]), "the checks reached for the network");
    let mut findings = Vec::new();
    let mut notes = BTreeSet::new();
    for (name, _, _) in packages {
        let result = &report["packages"][name];
        for finding in result["findings"].as_array().unwrap_or_else(|| panic!("no result for {name}: {report}")) {
            findings.push(format!("{name}: {}", finding.as_str().unwrap_or_default()));
        }
        notes.extend(result["notes"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned));
    }
    for note in &notes {
        println!("noted, allowed: {note}");
    }
    assert!(findings.is_empty(), "the Data Review Tools' checks found:\n{}", findings.join("\n"));
}

/// Fails at the first empty string, array or object in `value`.
fn assert_nothing_empty(value: &Value, path: &str, what: &str) {
    match value {
        Value::String(text) => assert!(!text.trim().is_empty(), "{what}: empty string at {path}"),
        Value::Array(items) => {
            assert!(!items.is_empty(), "{what}: empty array at {path}");
            for (index, item) in items.iter().enumerate() {
                assert_nothing_empty(item, &format!("{path}/{index}"), what);
            }
        }
        Value::Object(fields) => {
            assert!(!fields.is_empty(), "{what}: empty object at {path}");
            for (key, field) in fields {
                assert_nothing_empty(field, &format!("{path}/{key}"), what);
            }
        }
        Value::Null => panic!("{what}: null at {path}"),
        Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Each release's ocid is `ocid`, and no release id repeats within it.
fn assert_releases_of(releases: &[Value], ocid: &str, what: &str) {
    let mut ids = BTreeSet::new();
    for release in releases {
        assert_eq!(release["ocid"], json!(ocid), "{what}");
        let id = release["id"].as_str().unwrap_or_else(|| panic!("{what}: a release without an id"));
        assert!(ids.insert(id.to_owned()), "{what}: release id {id} twice in {ocid}");
    }
}

/// The official package schemas, built once.
struct Schemas {
    release_package: jsonschema::Validator,
    record_package: jsonschema::Validator,
    project_package: jsonschema::Validator,
}

impl Schemas {
    fn load() -> Self {
        Self {
            release_package: validator("ocds-1.1.5/release-package-schema.json"),
            record_package: validator("ocds-1.1.5/record-package-schema.json"),
            project_package: validator("oc4ids-0.9.4/project-package-schema.json"),
        }
    }
}

/// The exports of one project as the site makes them, checked for what holds
/// at every stage; returns them as packages named `<label>…`.
fn exports(
    schemas: &Schemas,
    prefix: &OcidPrefix,
    summary: &pb::ProjectSummary,
    timeline: &[pb::TimelineEntry],
    label: &str,
) -> Vec<Package> {
    let Schemas { release_package, record_package, project_package } = schemas;
    let code = &summary.project_code;
    let published = opendata::last_change(timeline.iter());
    let base = "https://gongkai.example";
    let oc4ids = opendata::project_package(&format!("{base}/oc4ids"), base, prefix, published, summary, timeline);
    assert_valid(project_package, &oc4ids, &format!("OC4IDS of {label}"));
    assert_nothing_empty(&oc4ids, "", &format!("OC4IDS of {label}"));
    let project = &oc4ids["projects"][0];
    assert!(project["period"]["startDate"].is_string() && project["period"]["endDate"].is_string(), "{label}");
    assert!(project["sector"].as_array().is_some_and(|sectors| !sectors.is_empty()), "{label}: a sector");
    let mut packages = vec![(format!("{label} OC4IDS"), "oc4ids", oc4ids.clone())];
    let tenders = opendata::tender_codes(timeline);
    let processes = project["contractingProcesses"].as_array().map_or(0, Vec::len);
    assert_eq!(processes, tenders.len(), "{label}: one contracting process per tender, none before the first");
    for (index, tender) in tenders.iter().enumerate() {
        let ocid = prefix.ocid(code, tender);
        let process = &project["contractingProcesses"][index];
        assert_eq!((&process["id"], &process["summary"]["ocid"]), (&json!(ocid), &json!(ocid)), "{label}");
        let releases = opendata::releases(prefix, summary, timeline, tender);
        assert_releases_of(&releases, &ocid, &format!("{label} {tender}"));
        let records = opendata::record_package(&format!("{base}/records"), base, published, &ocid, releases.clone());
        let package = opendata::release_package(&format!("{base}/releases"), base, published, releases);
        for (kind, document, schema) in [("releases", &package, release_package), ("record", &records, record_package)]
        {
            let what = format!("OCDS {kind} of {label} {tender}");
            assert_valid(schema, document, &what);
            assert_nothing_empty(document, "", &what);
            packages.push((what, "ocds", document.clone()));
        }
        assert_eq!(records["records"][0]["ocid"], json!(ocid));
        assert_eq!(package["releases"][0]["planning"]["budget"]["projectID"], json!(code), "{label}");
    }
    packages
}

/// The views of the project after each request of `requests` (lawful, in
/// order), rendered in process as the projector renders them.
fn stepwise(requests: Vec<Request>) -> Vec<gongkai_projector::ProjectViews> {
    let mut state = ProjectState::default();
    let mut events: Vec<pb::EventEnvelope> = Vec::new();
    let mut views = Vec::new();
    for (index, request) in requests.into_iter().enumerate() {
        let (_, submission) = gongkai_testkit::submission(request);
        let seq = events.len() as u64 + 1;
        let event_id = format!("01900000-0000-7000-8000-{seq:012x}");
        let flags = gongkai_domain::decide(&state, &submission, &event_id)
            .unwrap_or_else(|rejection| panic!("step {index} of the lawful lifecycle refused: {rejection:?}"));
        let event = pb::EventEnvelope {
            event_id,
            subject: submission.project_code.clone(),
            project_seq: seq,
            position: seq,
            occurred_at: submission.occurred_at,
            recorded_at: submission.occurred_at,
            request_id: submission.request_id.clone(),
            flags,
            body: submission.body,
            ..Default::default()
        };
        state.apply(&event);
        events.push(event);
        views.push(gongkai_projector::render(&events).unwrap_or_else(|error| panic!("step {index}: {error}")));
    }
    views
}

/// After every step of both lawful lifecycles (the PPP one, and the one with
/// land expropriation, EIA and operation) every export validates, carries
/// nothing empty and has ocids of its own; the exports of the first step of
/// each stage pass the Data Review Tools' checks.
#[test]
fn every_stage_of_the_lawful_lifecycles_exports_open_data_that_passes_the_checks() {
    let prefix = OcidPrefix::new(PREFIX).expect("a prefix");
    let schemas = Schemas::load();
    let lifecycles = [
        ("ppp", ppp_lifecycle("2024-230113-77-01-000070", "stages").requests),
        ("land", expropriation_lifecycle("2024-230113-77-01-000071", "stages-land").requests),
    ];
    let mut reviewed = Vec::new();
    let mut ocids: BTreeMap<String, String> = BTreeMap::new();
    for (name, requests) in lifecycles {
        let mut seen = BTreeSet::new();
        for (step, views) in stepwise(requests).iter().enumerate() {
            let summary = &views.public_summary;
            let stage = summary.stage();
            let label = format!("{name} step {step} ({})", stage.as_str_name());
            let packages = exports(&schemas, &prefix, summary, &views.public_timeline, &label);
            // The first step of each stage (approval alone among them) goes to the tools.
            if seen.insert(stage) {
                reviewed.extend(packages);
            }
            for tender in opendata::tender_codes(&views.public_timeline) {
                ocids.insert(prefix.ocid(&summary.project_code, &tender), summary.project_code.clone());
            }
            if step == 0 {
                assert_eq!(stage, Stage::Approval, "the lifecycle starts with the approval");
            }
        }
        println!("{name}: stages {seen:?}");
    }
    // Both lifecycles name their tender `2024-230113-T1`; each project's is its own.
    assert_eq!(ocids.len(), 2, "{ocids:?}");
    assert!(ocids.iter().all(|(ocid, code)| ocid.starts_with(&format!("{PREFIX}-{code}-"))), "{ocids:?}");
    assert_reviewed(&reviewed);
}

/// Finds the package named `name` among `packages`.
fn package<'a>(packages: &'a [Package], name: &str) -> &'a Value {
    &packages.iter().find(|(n, _, _)| n == name).unwrap_or_else(|| panic!("no package {name}")).2
}

/// `gongkai` itself, with a configured ocid prefix: a project with only its
/// approval, a finished PPP project and one with land expropriation (these
/// two with the same tender code). Their exports validate and pass the Data
/// Review Tools' checks; their ocids are the configured prefix, the project
/// code and the tender code; the change feed and the bulk download say which
/// ocid scheme they follow and give each entry of a tender its ocid.
#[tokio::test]
async fn the_exports_of_real_projects_pass_the_data_review_checks_offline() {
    let env = [("GONGKAI_SITE__LISTEN", "127.0.0.1:0"), ("GONGKAI_SITE__OCID_PREFIX", PREFIX)];
    let gongkai = Ingestion::start_with(Backend::Sqlite, "all", &env).await;
    let approved = ppp_lifecycle("2024-230113-77-01-000072", "approved");
    let ppp = ppp_lifecycle("2024-230113-77-01-000073", "ppp");
    let land = expropriation_lifecycle("2024-230113-77-01-000074", "land");
    assert_eq!(ppp.tender_code, land.tender_code, "two projects, one tender code");
    let projects = [
        (&approved.project_code, approved.requests[..1].to_vec()),
        (&ppp.project_code, ppp.requests.clone()),
        (&land.project_code, land.requests.clone()),
    ];
    for (code, requests) in &projects {
        let receipts = gongkai.submit_all(requests.clone()).await;
        let head = receipts.last().expect("receipts").project_seq;
        wait_for_public_seq(&gongkai.store, code, head, Duration::from_secs(60)).await;
    }
    let base = gongkai.process.endpoint("site").trim_end_matches('/').to_owned();

    let release_package = validator("ocds-1.1.5/release-package-schema.json");
    let record_package = validator("ocds-1.1.5/record-package-schema.json");
    let project_package = validator("oc4ids-0.9.4/project-package-schema.json");
    let mut packages: Vec<Package> = Vec::new();
    let mut ocids = BTreeSet::new();
    for (code, _) in &projects {
        let oc4ids = get_json(&format!("{base}/api/v1/projects/{code}/oc4ids")).await;
        assert_valid(&project_package, &oc4ids, &format!("OC4IDS of {code}"));
        let processes = oc4ids["projects"][0]["contractingProcesses"].as_array().cloned().unwrap_or_default();
        packages.push((format!("{code} OC4IDS"), "oc4ids", oc4ids));
        for process in processes {
            let tender = process["summary"]["externalReference"].as_str().expect("the tender code").to_owned();
            let ocid = format!("{PREFIX}-{code}-{tender}");
            assert_eq!(process["id"], json!(ocid));
            assert!(ocids.insert(ocid.clone()), "{ocid} names two contracting processes");
            let releases = get_json(&format!("{base}/api/v1/projects/{code}/ocds/{tender}/releases")).await;
            assert_valid(&release_package, &releases, &format!("OCDS releases of {ocid}"));
            assert_releases_of(releases["releases"].as_array().expect("releases"), &ocid, &ocid);
            let records = get_json(&format!("{base}/api/v1/projects/{code}/ocds/{tender}/records")).await;
            assert_valid(&record_package, &records, &format!("OCDS record of {ocid}"));
            assert_eq!(records["records"][0]["compiledRelease"]["ocid"], json!(ocid));
            packages.push((format!("{ocid} releases"), "ocds", releases));
            packages.push((format!("{ocid} record"), "ocds", records));
        }
    }
    assert_eq!(ocids.len(), 2, "the finished projects' tenders, one ocid each: {ocids:?}");

    // Only the approval: a project in preparation, no contracting process yet.
    let only_approved = &package(&packages, &format!("{} OC4IDS", approved.project_code))["projects"][0];
    assert_eq!(only_approved["status"], "preparation");
    assert!(only_approved.get("contractingProcesses").is_none(), "{only_approved:#}");
    // What the project knows from its approval and PPP details.
    let finished = &package(&packages, &format!("{} OC4IDS", ppp.project_code))["projects"][0];
    assert_eq!(finished["sector"], json!(["waterAndWaste"]), "industry 77: 生态保护和环境治理业");
    assert_eq!(finished["type"], "construction", "a BOT project builds");
    assert!(finished["period"]["startDate"].is_string() && finished["period"]["endDate"].is_string());
    assert!(finished.get("totalValue").is_none(), "not an OC4IDS 0.9 field");
    assert_reviewed(&packages);

    // The change feed and the bulk download say which ocid scheme they follow.
    let page = get_json(&format!("{base}/api/v1/changes?limit=1000")).await;
    assert_eq!(page["ocid_scheme"], json!(OCID_SCHEME));
    let changes = page["changes"].as_array().expect("changes");
    assert!(!changes.is_empty());
    for change in changes {
        assert_eq!(change["ocid_scheme"], json!(OCID_SCHEME));
        let entry = &change["entry"];
        let tender = entry["tender_code"].as_str().expect("tender code");
        let expected = if tender.is_empty() {
            String::new()
        } else {
            format!("{PREFIX}-{}-{tender}", change["project_code"].as_str().expect("code"))
        };
        assert_eq!(entry["ocid"], json!(expected), "{change:#}");
    }
    let after = page["next"].as_str().expect("next");
    let empty = get_json(&format!("{base}/api/v1/changes?after={after}")).await;
    assert_eq!((empty["changes"].as_array().map(Vec::len), &empty["ocid_scheme"]), (Some(0), &json!(OCID_SCHEME)));
    let (status, bulk) = http_get(&format!("{base}/api/v1/bulk.jsonl")).await;
    assert_eq!(status, 200);
    let mut tendered = 0;
    for line in bulk.lines() {
        let line: Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(line["ocid_scheme"], json!(OCID_SCHEME));
        let code = line["project_code"].as_str().expect("code");
        for entry in line["timeline"].as_array().expect("timeline") {
            if let Some(tender) = entry["tender_code"].as_str().filter(|tender| !tender.is_empty()) {
                assert_eq!(entry["ocid"], json!(format!("{PREFIX}-{code}-{tender}")));
                tendered += 1;
            }
        }
    }
    assert!(tendered > 0, "the bulk download has entries of tenders");
}
