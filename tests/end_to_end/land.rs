//! Land expropriation, resettlement, the EIA approval and PPP operation
//! through the real binary: `gongkai dev` takes the lifecycle of a PPP
//! project that needs land over gRPC (with a refusal and a correction of the
//! per-household results), and its own site shows the project as operating,
//! with the land figures and never a household, in pages, feeds, bulk
//! downloads and exports, which validate against the official schemas.

use std::time::Duration;

use gongkai_proto::v1 as pb;
use gongkai_scenarios::land::resident_id;
use gongkai_scenarios::{Request, expropriation_lifecycle};
use gongkai_store::View;
use serde_json::Value;
use tonic::Code;

use crate::ingestion::reason;
use crate::projection::{timeline, wait_for_public_seq};
use crate::site::{assert_valid, get_json, validator};
use crate::support::{Embedded, http_get};

/// What must never be public: the households' names, ID numbers and phones,
/// before and after the correction.
fn personal_data() -> Vec<String> {
    let mut data: Vec<String> = ["王建国", "王建军", "李秀英", "张志强"].map(str::to_owned).to_vec();
    for n in 1..=3 {
        data.push(resident_id(n));
        data.push(format!("1390451000{}", n - 1));
    }
    data
}

/// The request of the lifecycle that `pick` chooses.
fn find<T: Clone>(requests: &[Request], pick: impl Fn(&Request) -> Option<&T>) -> T {
    requests.iter().find_map(pick).expect("the lifecycle has it").clone()
}

#[tokio::test]
async fn a_ppp_project_with_land_reads_as_operating_and_its_exports_validate() {
    let Embedded { _dir, gongkai, clients, store } = Embedded::start().await;
    let lifecycle = expropriation_lifecycle("2024-230113-77-01-000030", "land");
    let code = lifecycle.project_code.clone();
    let mut receipts = Vec::new();
    for request in lifecycle.requests.clone() {
        receipts.push(clients.send(request).await.expect("accepted"));
    }
    assert!(receipts.iter().all(|receipt| receipt.flags.is_empty()), "the lifecycle is lawful");

    // A payment under an expropriation nothing opened: FAILED_PRECONDITION.
    let mut stray =
        find(&lifecycle.requests, |r| if let Request::RecordCompensationPayment(m) = r { Some(m) } else { None });
    stray.request_id = "land-stray".into();
    stray.fact.as_mut().expect("fact").expropriation_code = "ZD-2099-99".into();
    let status = clients.send(Request::RecordCompensationPayment(stray)).await.expect_err("no such expropriation");
    assert_eq!((status.code(), reason(&status)), (Code::FailedPrecondition, "EXPROPRIATION_NOT_FOUND".to_owned()));

    // The per-household results corrected through ProjectService.
    let results =
        find(&lifecycle.requests, |r| if let Request::PublishHouseholdCompensation(m) = r { Some(m) } else { None });
    let index = lifecycle.requests.iter().position(|r| matches!(r, Request::PublishHouseholdCompensation(_)));
    let mut corrected = results.fact.clone().expect("fact");
    corrected.households[0].head.as_mut().expect("head").name = "王建军".into();
    corrected.households[0].amounts[0].amount_fen += 1_000_000;
    let correction = clients
        .send(Request::CorrectDisclosure(
            pb::Domain::Projects,
            pb::CorrectDisclosureRequest {
                request_id: "land-fix".into(),
                project_code: code.clone(),
                occurred_at: results.occurred_at,
                fact: Some(pb::DisclosureCorrected {
                    supersedes_event_id: receipts[index.expect("results")].event_id.clone(),
                    reason: "户主姓名及土地补偿费录入错误".into(),
                    replacement: Some(pb::Fact {
                        kind: Some(pb::fact::Kind::HouseholdCompensationPublished(corrected)),
                    }),
                    replacement_occurred_at: None,
                }),
            },
        ))
        .await
        .expect("correction");
    assert!(correction.flags.is_empty());
    wait_for_public_seq(&store, &code, correction.project_seq, Duration::from_secs(30)).await;
    let public = timeline(&store, View::Public, &code).await;
    let full = timeline(&store, View::Full, &code).await;
    assert_eq!(public.len() as u64, correction.project_seq);
    let fixed = public.last().expect("the correction");
    assert!(fixed.details_withheld && fixed.people.is_empty(), "{fixed:?}");
    assert!(fixed.changes.iter().all(|change| change.path.starts_with("category_totals")), "{:?}", fixed.changes);
    assert!(full.last().expect("the correction").changes.iter().any(|c| c.after == "王建军"), "supervisors see it");

    // The project page: operating, with its land figures, and no household.
    let base = gongkai.endpoint("site").trim_end_matches('/').to_owned();
    let (status, page) = http_get(&format!("{base}/projects/{code}")).await;
    assert_eq!(status, 200, "{page}");
    let bar = page.split(r#"<ol class="stages""#).nth(1).expect("stage bar").split("</ol>").next().expect("end");
    for step in ["立项", "竣工", "运营", "移交"] {
        assert!(bar.contains(step), "the stage bar shows {step}");
    }
    assert!(bar.contains(r#"<li class="current" aria-current="step">运营</li>"#), "{bar}");
    for figure in [
        "征地拆迁与环评",
        "征地补偿安置费用预算",
        "已支付征收补偿费用",
        "分户补偿已公示",
        "环评批复",
        "哈环审〔2024〕15号",
    ] {
        assert!(page.contains(figure), "the page shows {figure}");
    }
    assert!(page.contains("进入运营期") && page.contains("公布分户补偿情况"), "the timeline says so");
    let (_, english) = http_get(&format!("{base}/projects/{code}?lang=en")).await;
    assert!(english.contains(r#"aria-current="step">Operation</li>"#), "operating in English too");

    // Open data: OC4IDS in maintenance with its land budget, environment and
    // documents; the tender's OCDS releases and record; all valid.
    let oc4ids = get_json(&format!("{base}/api/v1/projects/{code}/oc4ids")).await;
    assert_valid(&validator("oc4ids-0.9.4/project-package-schema.json"), &oc4ids, "OC4IDS project package");
    let project = &oc4ids["projects"][0];
    assert_eq!(project["status"], "maintenance");
    assert_eq!(
        project["social"]["landCompensationBudget"],
        serde_json::json!({ "amount": 12_000_000, "currency": "CNY" })
    );
    assert_eq!(project["environment"]["hasImpactAssessment"], true);
    assert_eq!(project["environment"]["impactCategories"][0]["id"], "report");
    let types: Vec<&str> =
        project["documents"].as_array().expect("documents").iter().filter_map(|d| d["documentType"].as_str()).collect();
    for kind in ["budgetApproval", "landAndSettlementImpact", "resettlementPlan", "socialImpact", "environmentalImpact"]
    {
        assert!(types.contains(&kind), "an OC4IDS document of type {kind}: {types:?}");
    }
    let releases = get_json(&format!("{base}/api/v1/projects/{code}/ocds/{}/releases", lifecycle.tender_code)).await;
    assert_valid(&validator("ocds-1.1.5/release-package-schema.json"), &releases, "OCDS release package");
    let records = get_json(&format!("{base}/api/v1/projects/{code}/ocds/{}/records", lifecycle.tender_code)).await;
    assert_valid(&validator("ocds-1.1.5/record-package-schema.json"), &records, "OCDS record package");

    // Nothing public names a household.
    let (_, bulk) = http_get(&format!("{base}/api/v1/bulk.jsonl")).await;
    let (_, atom) = http_get(&format!("{base}/projects/{code}/feed.atom")).await;
    let (_, changes) = http_get(&format!("{base}/api/v1/changes?limit=500")).await;
    let exported = [page, english, oc4ids.to_string(), releases.to_string(), records.to_string(), bulk, atom, changes];
    for secret in personal_data() {
        for (n, text) in exported.iter().enumerate() {
            assert!(!text.contains(&secret), "{secret} is public (document {n})");
        }
    }
    let full_text = format!("{full:?}");
    assert!(full_text.contains(&resident_id(1)) && full_text.contains("王建军"), "supervisors see the households");
    assert!(matches!(oc4ids["projects"][0]["id"], Value::String(ref id) if *id == code));
}
