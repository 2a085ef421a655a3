//! Contract outcomes through the real binary, on both shapes: the lawful PPP
//! lifecycle up to its contracts' settlements, then its final accounts. Each
//! contract's outcome against its signing (合同价款变化, time variation) is
//! visible before the final accounts, in the supervision API, on the project
//! page, in the JSON API and in the OC4IDS export, which validates at both
//! points; the project's saving against its approval (投资节余) appears only
//! with the final accounts, named apart.

use std::time::Duration;

use gongkai_scenarios::{Request, ppp_lifecycle};
use serde_json::{Value, json};
use tonic::Code;

use crate::ingestion::{Backend, Ingestion, get_project, reason};
use crate::projection::{KafkaLog, wait_for_public_seq};
use crate::site::{assert_valid, get_json, validator};
use crate::support::http_get;

async fn contract_outcomes_show_before_and_apart_from_the_final_accounts(gongkai: Ingestion) {
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000040", "outcome");
    let code = lifecycle.project_code.clone();
    let accounts = lifecycle.requests.len() - 1;
    assert!(matches!(lifecycle.requests[accounts], Request::SettleFinalAccounts(_)));
    let receipts = gongkai.submit_all(lifecycle.requests[..accounts].to_vec()).await;
    assert!(receipts.iter().all(|receipt| receipt.flags.is_empty()), "the lifecycle is lawful");

    // A second settlement of HT-A1 is refused with its rule.
    let settled_a1 = lifecycle
        .requests
        .iter()
        .find_map(|r| if let Request::SettleContract(m) = r { Some(m.clone()) } else { None })
        .expect("a settlement");
    let again = pb_request(settled_a1, "outcome-again");
    let status = gongkai.harbin.send(Request::SettleContract(again)).await.expect_err("settled once");
    assert_eq!((status.code(), reason(&status)), (Code::FailedPrecondition, "CONTRACT_ALREADY_SETTLED".to_owned()));

    // Before the final accounts: each contract's outcome, no investment measure.
    let head = receipts.last().expect("receipts").project_seq;
    wait_for_public_seq(&gongkai.store, &code, head, Duration::from_secs(60)).await;
    let grpc = gongkai.process.endpoint("grpc").to_owned();
    let summary = get_project(&grpc, &code).await.summary.expect("a summary");
    assert_eq!(
        gongkai_testkit::outcome_rows(&summary),
        [
            ("HT-A1", Some(18_900_000_000), 900_000_000, 500, Some(-30)),
            ("HT-B1", Some(8_955_000_000), -45_000_000, -50, Some(-30)),
        ]
    );
    assert_eq!(summary.contracts_price_change_fen, 855_000_000);
    assert_eq!((summary.final_cost_fen, summary.investment_variance_fen), (None, None));

    let site = gongkai.process.endpoint("site").trim_end_matches('/').to_owned();
    let (status, page) = http_get(&format!("{site}/projects/{code}")).await;
    assert_eq!(status, 200, "{page}");
    let table = page.split(r#"<h2 id="outcomes">"#).nth(1).expect("the outcome table").split("</table>").next();
    let table = table.expect("its end");
    for text in ["合同价款变化", "HT-A1", "1.89亿元", "+900.00万元（+5.00%）", "HT-B1", "早 30 天", "2026-05-31"]
    {
        assert!(table.contains(text), "the outcome table shows {text}: {table}");
    }
    assert!(!page.contains("投资节余/超支"), "no investment measure before the final accounts");
    let (_, english) = http_get(&format!("{site}/projects/{code}?lang=en")).await;
    assert!(english.contains("Contract outcomes") && english.contains("30 days early"), "in English too");

    let (_, bulk) = http_get(&format!("{site}/api/v1/bulk.jsonl")).await;
    let line: Value = bulk
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON line"))
        .find(|line| line["project_code"] == code.as_str())
        .expect("the project is in the bulk download");
    assert_eq!(line["contract_outcomes"][1]["settled_value_fen"], json!(8_955_000_000_i64), "{line:#}");
    assert_eq!(line["contract_outcomes"][0]["time_variation_days"], json!(-30));
    assert_eq!(line["investment_variance_fen"], Value::Null);

    let oc4ids = get_json(&format!("{site}/api/v1/projects/{code}/oc4ids")).await;
    assert_valid(&validator("oc4ids-0.9.4/project-package-schema.json"), &oc4ids, "OC4IDS before final accounts");
    let project = &oc4ids["projects"][0];
    assert!(project.get("completion").is_none(), "no completion before the final accounts: {project:#}");
    let process = &project["contractingProcesses"][0]["summary"];
    assert_eq!(process["contractValue"], json!({ "amount": 270_000_000, "currency": "CNY" }));
    assert_eq!(process["finalValue"], json!({ "amount": 278_550_000, "currency": "CNY" }));
    assert_eq!(process["contractPeriod"]["endDate"], "2026-06-30T00:00:00+08:00");
    let modifications = process["modifications"].as_array().expect("modifications");
    assert_eq!(modifications.len(), 2);
    assert_eq!(modifications[1]["oldContractValue"]["amount"], json!(185_400_000));
    assert_eq!(modifications[1]["newContractValue"]["amount"], json!(190_800_000));
    let milestones = process["milestones"].as_array().expect("milestones");
    assert_eq!(milestones.len(), 2);
    assert_eq!(milestones[0]["dateMet"], "2026-05-31T00:00:00+08:00");
    assert_eq!(milestones[0]["status"], "met");

    // With the final accounts: the project against its approval, named apart.
    let settled = gongkai.submit_all(lifecycle.requests[accounts..].to_vec()).await;
    wait_for_public_seq(&gongkai.store, &code, settled[0].project_seq, Duration::from_secs(60)).await;
    let summary = get_project(&grpc, &code).await.summary.expect("a summary");
    assert_eq!((summary.investment_variance_fen, summary.investment_variance_bp), (Some(-2_000_000_000), Some(-400)));
    assert_eq!(summary.contracts_price_change_fen, 855_000_000, "the contract measure is unchanged");
    // The page follows its change feed: wait for it as a reader would reload.
    let page = page_showing(&format!("{site}/projects/{code}"), "投资节余/超支（决算对批复总投资）").await;
    assert!(page.contains("节余 2,000.00万元（−4.00%）"), "{page}");
    let oc4ids = get_json(&format!("{site}/api/v1/projects/{code}/oc4ids")).await;
    assert_valid(&validator("oc4ids-0.9.4/project-package-schema.json"), &oc4ids, "OC4IDS after final accounts");
    let completion = &oc4ids["projects"][0]["completion"];
    assert_eq!(completion["finalValue"], json!({ "amount": 480_000_000, "currency": "CNY" }));
    assert_eq!(completion["endDate"], "2026-05-31T00:00:00+08:00");
    assert!(completion["finalValueDetails"].as_str().is_some_and(|t| t.starts_with("投资节余")), "{completion:#}");
    assert!(completion["endDateDetails"].as_str().is_some_and(|t| t.contains("早 214 天")), "{completion:#}");
}

/// The page at `url` once it shows `text` (within ten seconds).
async fn page_showing(url: &str, text: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, page) = http_get(url).await;
        if status == 200 && page.contains(text) {
            return page;
        }
        assert!(std::time::Instant::now() < deadline, "{url} never showed {text}: {page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `request` again under another request id.
fn pb_request(
    mut request: gongkai_proto::v1::SettleContractRequest,
    request_id: &str,
) -> gongkai_proto::v1::SettleContractRequest {
    request.request_id = request_id.into();
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_contract_outcomes_show_before_and_apart_from_the_final_accounts() {
    let env = [("GONGKAI_SITE__LISTEN", "127.0.0.1:0")];
    contract_outcomes_show_before_and_apart_from_the_final_accounts(
        Ingestion::start_with(Backend::Sqlite, "all", &env).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_kafka_contract_outcomes_show_before_and_apart_from_the_final_accounts() {
    let log = KafkaLog::isolated();
    let mut env = log.env().to_vec();
    env.push(("GONGKAI_SITE__LISTEN", "127.0.0.1:0"));
    let gongkai = Ingestion::start_with(Backend::Postgres, "all", &env).await;
    contract_outcomes_show_before_and_apart_from_the_final_accounts(gongkai).await;
}
