//! The public site and open data over the real ingestion path: `gongkai dev`
//! takes the PPP lifecycle over gRPC, its projector fills the public tables,
//! and the site (in process, on a real socket, with a fixed clock) renders
//! them. Every export is validated against the official schemas.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gongkai_proto::v1 as pb;
use gongkai_scenarios::ppp_lifecycle;
use gongkai_store::View;
use serde_json::Value;

use crate::projection::{timeline, wait_for_public_seq};
use crate::support::http_get;

pub(crate) const SCHEMAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/schemas");

/// Resolves the schemas' `$ref` URLs to the local copies.
struct LocalSchemas;

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let uri = uri.as_str();
        let path = if let Some(file) = uri.strip_prefix("https://standard.open-contracting.org/schema/1__1__5/") {
            format!("{SCHEMAS}/ocds-1.1.5/{file}")
        } else if let Some(file) =
            uri.strip_prefix("https://standard.open-contracting.org/infrastructure/schema/0__9__4/")
        {
            format!("{SCHEMAS}/oc4ids-0.9.4/{file}")
        } else {
            return Err(format!("no local copy of {uri}").into());
        };
        Ok(serde_json::from_str(&std::fs::read_to_string(&path)?)?)
    }
}

pub(crate) fn validator(file: &str) -> jsonschema::Validator {
    let path = format!("{SCHEMAS}/{file}");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("schema {path} unreadable: {error}")),
    )
    .expect("schema is JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .with_retriever(LocalSchemas)
        .build(&schema)
        .unwrap_or_else(|error| panic!("schema {file} does not build: {error}"))
}

pub(crate) fn assert_valid(validator: &jsonschema::Validator, document: &Value, what: &str) {
    let errors: Vec<String> =
        validator.iter_errors(document).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} is invalid:\n{}\n{document:#}", errors.join("\n"));
}

pub(crate) async fn get_json(url: &str) -> Value {
    let (status, body) = http_get(url).await;
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|error| panic!("{url} is not JSON ({error}): {body}"))
}

async fn get_with(url: &str, accept_language: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(url)
        .header("accept-language", accept_language)
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET {url} failed: {error}"));
    (response.status().as_u16(), response.text().await.expect("body"))
}

#[tokio::test]
async fn the_site_and_open_data_show_the_ppp_lifecycle() {
    let crate::support::Embedded { _dir, gongkai: _gongkai, clients, store } = crate::support::Embedded::start().await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000020", "site");
    let mut head = 0;
    for request in lifecycle.requests.clone() {
        head = clients.send(request).await.expect("accepted").project_seq;
    }
    wait_for_public_seq(&store, &lifecycle.project_code, head, Duration::from_secs(20)).await;
    let public = timeline(&store, View::Public, &lifecycle.project_code).await;

    // The clock stands 36 hours before the first candidate publicity ends.
    let publicity = public
        .iter()
        .flat_map(|e| e.clocks.iter())
        .find(|c| c.kind == "candidate_publicity")
        .expect("the lifecycle publicizes candidates");
    let ends = DateTime::from_timestamp(publicity.ends_at.expect("end").seconds, 0).expect("time");
    let now: DateTime<Utc> = ends - chrono::Duration::hours(36);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gongkai_site::serve_with_clock(store.public(), Arc::new(move || now), listener, async {
        let _ = stopped.await;
    }));
    let code = &lifecycle.project_code;

    // Home: search box, counts by stage, latest disclosures.
    let (status, home) = http_get(&format!("{base}/")).await;
    assert_eq!(status, 200);
    assert!(home.contains(r#"<html lang="zh-CN">"#), "Chinese by default");
    assert!(home.contains(r#"<label for="q">"#) && home.contains(r#"type="search""#), "labelled search box");
    assert!(home.contains("各阶段项目数") && home.contains(r#"<span class="count">1</span>"#), "counts by stage");
    assert!(home.contains(&format!("/projects/{code}")), "latest disclosures link the project");

    // Search and filters.
    let (status, found) = http_get(&format!("{base}/projects?q=%E6%B1%A1%E6%B0%B4")).await; // 污水
    assert_eq!(status, 200);
    let name = store.public().public_project(code).await.expect("reads").expect("public").name;
    assert!(found.contains(&format!("/projects/{code}")), "search by name finds it: {name}");
    let (_, none) = http_get(&format!("{base}/projects?region=11&type=construction")).await;
    assert!(!none.contains(&format!("/projects/{code}")) && none.contains("共 0 个项目"), "filters exclude it");
    let (_, by_year) = http_get(&format!("{base}/projects?year=2024&region=2301&type=ppp")).await;
    assert!(by_year.contains(&format!("/projects/{code}")), "region prefix, type and year match");
    let (_, by_name) = http_get(&format!("{base}/projects?region=%E5%93%88%E5%B0%94%E6%BB%A8")).await; // 哈尔滨
    assert!(by_name.contains(&format!("/projects/{code}")), "the region filter takes a name");
    assert!(by_name.contains("哈尔滨市双城区"), "the list names the region");

    // The project page.
    let (status, page) = http_get(&format!("{base}/projects/{code}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("<h1>{name}</h1>")), "headed by its name");
    assert!(page.contains("黑龙江省哈尔滨市双城区（230113）"), "its region by name, with the code");
    let stage_bar = page.split(r#"<ol class="stages""#).nth(1).expect("stage bar").split("</ol>").next().expect("end");
    for stage in ["立项", "招标", "评标", "中标", "合同", "履约", "竣工"] {
        assert!(stage_bar.contains(stage), "stage bar shows {stage}");
    }
    assert_eq!(stage_bar.matches(r#"aria-current="step""#).count(), 1, "exactly one current stage");
    assert_eq!(page.matches(r#"<li id="seq-"#).count(), public.len(), "one timeline item per public entry");
    assert!(page.contains("亿元") && page.contains("¥"), "amounts for people and exactly");
    assert!(page.contains("SHA-256"), "document hashes");
    let head_hash = {
        use prost::Message;
        let bytes = store.supervision().project_summary(View::Public, code).await.expect("reads").expect("summary");
        pb::ProjectSummary::decode(bytes.as_slice()).expect("decodes").chain_head_hash
    };
    assert!(!head_hash.is_empty() && page.contains(&head_hash), "chain head for verification");
    assert!(page.contains("还剩 2 天"), "running candidate publicity clock");
    assert!(!page.contains("<script"), "works without JavaScript");

    // English by header and by switch; the 404.
    let (_, english) = get_with(&format!("{base}/projects/{code}"), "en-GB,en;q=0.9").await;
    assert!(english.contains(r#"<html lang="en">"#) && english.contains("2 days left"), "English by Accept-Language");
    assert!(english.contains("Shuangcheng District, Harbin, Heilongjiang (230113)"), "the region in English");
    let (_, switched) = http_get(&format!("{base}/projects/{code}?lang=en")).await;
    assert!(switched.contains(r#"<html lang="en">"#) && switched.contains("?lang=zh"), "English by the switch");
    let (status, missing) = http_get(&format!("{base}/projects/2024-110000-00-01-999999")).await;
    assert_eq!(status, 404);
    assert!(missing.contains("未找到该项目") && missing.contains("2024-110000-00-01-999999"), "a clear 404");

    // Open data, validated against the official schemas.
    let release_package = validator("ocds-1.1.5/release-package-schema.json");
    let record_package = validator("ocds-1.1.5/record-package-schema.json");
    let project_package = validator("oc4ids-0.9.4/project-package-schema.json");
    let oc4ids = get_json(&format!("{base}/api/v1/projects/{code}/oc4ids")).await;
    assert_valid(&project_package, &oc4ids, "OC4IDS project package");
    assert_eq!(oc4ids["projects"][0]["id"], Value::from(code.as_str()));
    let location = &oc4ids["projects"][0]["locations"][0];
    assert_eq!(location["description"], "黑龙江省哈尔滨市双城区", "the region by name");
    assert_eq!(location["gazetteer"]["identifiers"], serde_json::json!(["230113"]), "the code kept");
    let tenders: Vec<String> = public.iter().map(|e| e.tender_code.clone()).filter(|t| !t.is_empty()).collect();
    assert!(tenders.contains(&lifecycle.tender_code));
    let mut tags = std::collections::BTreeSet::new();
    let mut tender_codes = tenders.clone();
    tender_codes.sort();
    tender_codes.dedup();
    for tender in tender_codes {
        let releases = get_json(&format!("{base}/api/v1/projects/{code}/ocds/{tender}/releases")).await;
        assert_valid(&release_package, &releases, "OCDS release package");
        let list = releases["releases"].as_array().expect("releases");
        let expected = public.iter().filter(|e| e.tender_code == tender).count() + 1; // + planning
        assert_eq!(list.len(), expected, "one release per disclosed fact");
        for release in list {
            assert_eq!(release["ocid"], Value::from(gongkai_site::OcidPrefix::default().ocid(code, &tender)));
            tags.insert(release["tag"][0].as_str().expect("tag").to_owned());
        }
        assert_eq!(list[0]["planning"]["budget"]["projectID"], Value::from(code.as_str()));
        let records = get_json(&format!("{base}/api/v1/projects/{code}/ocds/{tender}/records")).await;
        assert_valid(&record_package, &records, "OCDS record package");
        assert_eq!(records["records"][0]["compiledRelease"]["tag"][0], "compiled");
    }
    for tag in ["planning", "tender", "tenderUpdate", "award", "contract", "implementation"] {
        assert!(tags.contains(tag), "the lifecycle produces a `{tag}` release: {tags:?}");
    }
    println!("OCDS tags produced by the PPP lifecycle: {tags:?}");

    // The change feed, the Atom feeds and the bulk download.
    let mut cursor = String::new();
    let mut seen = Vec::new();
    loop {
        let page = get_json(&format!("{base}/api/v1/changes?after={cursor}&limit=7")).await;
        let changes = page["changes"].as_array().expect("changes").clone();
        if changes.is_empty() {
            break;
        }
        for change in &changes {
            seen.push((
                change["project_seq"].as_u64().expect("seq"),
                change["change"].as_str().expect("kind").to_owned(),
            ));
        }
        cursor = page["next"].as_str().expect("next").to_owned();
    }
    let published: Vec<u64> = seen.iter().filter(|(_, kind)| kind == "published").map(|(seq, _)| *seq).collect();
    assert_eq!(published, (1..=public.len() as u64).collect::<Vec<_>>(), "every entry published once, in order");
    let (status, atom) = http_get(&format!("{base}/feed.atom")).await;
    assert_eq!(status, 200);
    assert!(atom.starts_with("<?xml") && atom.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\""));
    let (_, project_atom) = http_get(&format!("{base}/projects/{code}/feed.atom")).await;
    assert_eq!(project_atom.matches("<entry>").count(), public.len());
    let (status, bulk) = http_get(&format!("{base}/api/v1/bulk.jsonl")).await;
    assert_eq!(status, 200);
    let lines: Vec<Value> = bulk.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["timeline"].as_array().expect("timeline").len(), public.len());
    assert_eq!(
        (&lines[0]["region_code"], &lines[0]["region_name"]),
        (&Value::from("230113"), &Value::from("黑龙江省哈尔滨市双城区"))
    );
    assert!(!bulk.contains("id_number") && !bulk.contains("\"phone\""), "no personal identifiers");

    let _ = stop.send(());
    server.await.expect("joins").expect("site ran");
}

/// Counts a project page's timeline items.
fn items(page: &str) -> usize {
    page.matches(r#"<li id="seq-"#).count()
}

/// GETs a project page until it shows `want` timeline items, failing after
/// `bound`; returns how long it took.
async fn until_items(url: &str, accept_language: &str, want: usize, bound: Duration) -> Duration {
    let started = std::time::Instant::now();
    loop {
        let (status, page) = get_with(url, accept_language).await;
        if status == 200 && items(&page) == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < bound,
            "{url} ({accept_language}) still shows {} items after {bound:?}",
            items(&page)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Project pages are cached per language and replaced soon after the project
/// changes: the site follows its change feed and evicts the project. A 404
/// is not cached, so a project published later shows.
#[tokio::test]
async fn a_cached_project_page_is_replaced_soon_after_the_project_changes() {
    let crate::support::Embedded { _dir, gongkai: _gongkai, clients, store } = crate::support::Embedded::start().await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000031", "cache");
    let code = &lifecycle.project_code;
    let mut requests = lifecycle.requests.clone().into_iter();
    let mut head = 0;
    for request in requests.by_ref().take(2) {
        head = clients.send(request).await.expect("accepted").project_seq;
    }
    wait_for_public_seq(&store, code, head, Duration::from_secs(20)).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gongkai_site::serve(store.public(), listener, async {
        let _ = stopped.await;
    }));
    let url = format!("{base}/projects/{code}");
    // Long enough for the follower's first poll, so later pages come from the cache.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Each language is its own cached page, with the page's headers.
    for _ in 0..2 {
        let response = reqwest::Client::new().get(&url).header("accept-language", "en").send().await.expect("GET");
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["content-language"], "en");
        assert_eq!(headers["vary"], "Accept-Language");
        assert!(headers["content-type"].to_str().expect("text").starts_with("text/html"));
        let english = response.text().await.expect("body");
        assert!(english.contains(r#"<html lang="en">"#), "English by Accept-Language");
        assert_eq!(items(&english), head as usize);
        let (_, chinese) = get_with(&url, "zh-CN").await;
        assert!(chinese.contains(r#"<html lang="zh-CN">"#), "Chinese is not served the English page");
        assert_eq!(items(&chinese), head as usize);
        let (_, switched) = http_get(&format!("{url}?lang=en")).await;
        assert!(switched.contains(r#"<html lang="en">"#) && switched.contains("?lang=zh"), "English by the switch");
        assert!(switched.contains("/projects?lang=en"), "the switch's links keep the language");
        assert!(!english.contains("/projects?lang=en"), "the header's English has plain links");
    }

    // A new fact shows on every cached variant within a second of going public.
    let request = requests.next().expect("a third fact");
    head = clients.send(request).await.expect("accepted").project_seq;
    wait_for_public_seq(&store, code, head, Duration::from_secs(20)).await;
    let bound = Duration::from_secs(2);
    for accept_language in ["zh-CN", "en"] {
        let took = until_items(&url, accept_language, head as usize, bound).await;
        println!("{accept_language} page replaced {took:?} after the fact went public");
    }
    let (_, switched) = http_get(&format!("{url}?lang=en")).await;
    assert_eq!(items(&switched), head as usize, "the switched English page is replaced too");

    // An unknown project's 404 does not outlive its publication.
    let later = ppp_lifecycle("2024-230113-77-01-000032", "cache-later");
    let later_url = format!("{base}/projects/{}", later.project_code);
    let (status, _) = http_get(&later_url).await;
    assert_eq!(status, 404);
    let seq = clients.send(later.requests[0].clone()).await.expect("accepted").project_seq;
    wait_for_public_seq(&store, &later.project_code, seq, Duration::from_secs(20)).await;
    until_items(&later_url, "zh-CN", seq as usize, bound).await;

    let _ = stop.send(());
    server.await.expect("joins").expect("site ran");
}

/// `gongkai dev`'s site takes its connection limits from the `site` section
/// of the configuration, and its responses carry the site's security headers
/// and compression: a one-second header timeout (the default is ten) cuts off
/// a request head that never ends.
#[tokio::test]
async fn the_site_takes_its_connection_limits_from_configuration() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let dir = tempfile::tempdir().expect("temp dir");
    let storage = gongkai_testkit::fresh_sqlite_url(dir.path());
    let gongkai = crate::support::start_gongkai(
        &["dev", "--grpc-listen", "127.0.0.1:0", "--site-listen", "127.0.0.1:0"],
        &[
            ("GONGKAI_STORAGE__URL", &storage),
            ("GONGKAI_SITE__HEADER_READ_TIMEOUT_SECS", "1"),
            ("GONGKAI_SITE__IDLE_TIMEOUT_SECS", "600"),
        ],
    )
    .await;
    let base = gongkai.endpoint("site").trim_end_matches('/').to_owned();

    let response =
        reqwest::Client::new().get(format!("{base}/")).header("accept-encoding", "gzip").send().await.expect("GET /");
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-encoding"], "gzip");
    assert!(headers["content-security-policy"].to_str().expect("text").contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("etag"));

    let address = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.expect("connects");
    socket.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.expect("writes");
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while matches!(socket.read(&mut buffer).await, Ok(n) if n > 0) {}
    })
    .await;
    assert!(closed.is_ok(), "a partial request head is still open after 5 s");
    assert!(started.elapsed() < Duration::from_secs(4), "closed only after {:?}", started.elapsed());
}

/// Waits until the projector has folded every stored event of `project`.
async fn wait_until_projected(store: &gongkai_store::Store, project: &str) {
    let head = store.events().load_stream(project).await.expect("stream").len() as u64;
    let started = std::time::Instant::now();
    while store.projections().projected_seq(project).await.expect("projector head") < head {
        assert!(started.elapsed() < Duration::from_secs(30), "{project} not projected up to seq {head}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// On PostgreSQL the site logs in as its own role, which reads the public
/// tables and nothing else; every export of every kind of public fact (the
/// lifecycle plus every other RPC, corrections included) validates and
/// passes the Data Review Tools' checks.
#[tokio::test]
async fn on_postgres_the_site_reads_only_public_tables_and_every_export_validates() {
    use crate::ingestion::{Backend, Ingestion, submit_every_other_rpc};
    use sqlx::Connection as _;

    let gongkai =
        Ingestion::start_with(Backend::Postgres, "projects,tenders,review,awards,contracts,projector", &[]).await;
    let projects = submit_every_other_rpc(&gongkai.harbin, &gongkai.store).await;
    for project in [&projects.lifecycle, &projects.other, &projects.land] {
        wait_until_projected(&gongkai.store, project).await;
    }

    // The site's role may read the public tables and change nothing.
    let site_url = gongkai_testkit::as_site_role(&gongkai.storage);
    let mut site_db = sqlx::PgConnection::connect(&site_url).await.expect("the site role logs in");
    // The public view, and the transparency log the site serves.
    let public_tables = [
        "public_projects",
        "public_timeline",
        "public_changes",
        "public_promptness",
        "public_promptness_scopes",
        "public_expected",
        "_sqlx_migrations",
        "tlog_leaves",
        "tlog_hashes",
        "tlog_checkpoints",
    ];
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM public_projects").fetch_one(&mut site_db).await.expect("readable");
    assert_eq!(count, 3, "the three projects are public");
    let mut owner_db = sqlx::PgConnection::connect(&gongkai.storage).await.expect("owner connects");
    let tables: Vec<String> = sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
        .fetch_all(&mut owner_db)
        .await
        .expect("tables");
    assert!(tables.iter().any(|t| t == "events") && tables.len() > public_tables.len());
    let denied = |error: sqlx::Error| error.as_database_error().and_then(|e| e.code()).is_some_and(|c| c == "42501");
    for table in tables.iter().filter(|t| !public_tables.contains(&t.as_str())) {
        let read =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT 1 FROM {table} LIMIT 1"))).execute(&mut site_db).await;
        assert!(read.is_err_and(denied), "the site role must not read {table}");
    }
    for write in
        ["DELETE FROM public_projects", "UPDATE public_timeline SET entry = entry", "DELETE FROM public_changes"]
    {
        let result = sqlx::query(write).execute(&mut site_db).await;
        assert!(result.is_err_and(denied), "the site role must not run `{write}`");
    }

    // `gongkai serve --target site` runs as that role.
    let site = crate::support::start_gongkai(
        &["serve", "--target", "site"],
        &[
            ("GONGKAI_STORAGE__URL", &site_url),
            ("GONGKAI_GRPC__LISTEN", "127.0.0.1:0"),
            ("GONGKAI_SITE__LISTEN", "127.0.0.1:0"),
        ],
    )
    .await;
    let base = site.endpoint("site").trim_end_matches('/').to_owned();
    let (status, page) = http_get(&format!("{base}/projects/{}", projects.other)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("道路改造工程（更正）"), "the corrected name is shown");

    let release_package = validator("ocds-1.1.5/release-package-schema.json");
    let record_package = validator("ocds-1.1.5/record-package-schema.json");
    let project_package = validator("oc4ids-0.9.4/project-package-schema.json");
    let mut tags = std::collections::BTreeSet::new();
    let mut fact_types = std::collections::BTreeSet::new();
    let mut reviewed: Vec<crate::opendata::Package> = Vec::new();
    for code in [&projects.lifecycle, &projects.other, &projects.land] {
        let public = timeline(&gongkai.store, View::Public, code).await;
        fact_types.extend(public.iter().map(|e| e.fact_type.trim_start_matches("gongkai.v1.").to_owned()));
        let oc4ids = get_json(&format!("{base}/api/v1/projects/{code}/oc4ids")).await;
        assert_valid(&project_package, &oc4ids, &format!("OC4IDS package of {code}"));
        reviewed.push((format!("OC4IDS of {code}"), "oc4ids", oc4ids));
        let mut tenders: Vec<&str> = public.iter().map(|e| e.tender_code.as_str()).filter(|t| !t.is_empty()).collect();
        tenders.sort_unstable();
        tenders.dedup();
        for tender in tenders {
            let releases = get_json(&format!("{base}/api/v1/projects/{code}/ocds/{tender}/releases")).await;
            assert_valid(&release_package, &releases, &format!("OCDS releases of {tender}"));
            let ids: Vec<&str> =
                releases["releases"].as_array().expect("releases").iter().filter_map(|r| r["id"].as_str()).collect();
            for entry in public.iter().filter(|e| e.tender_code == tender) {
                assert!(ids.contains(&entry.event_id.as_str()), "{} of {tender} has its release", entry.fact_type);
            }
            for release in releases["releases"].as_array().expect("releases") {
                tags.insert(release["tag"][0].as_str().expect("tag").to_owned());
            }
            let records = get_json(&format!("{base}/api/v1/projects/{code}/ocds/{tender}/records")).await;
            assert_valid(&record_package, &records, &format!("OCDS record of {tender}"));
            reviewed.push((format!("OCDS releases of {code} {tender}"), "ocds", releases));
            reviewed.push((format!("OCDS record of {code} {tender}"), "ocds", records));
        }
    }
    // Every kind of public fact, corrections included, through the Data Review Tools' checks.
    crate::opendata::assert_reviewed(&reviewed);
    println!("public fact types: {fact_types:?}\nOCDS tags: {tags:?}");
    for fact in [
        "ProjectApproved",
        "PppDetailsDisclosed",
        "TenderAnnounced",
        "TenderAmended",
        "PrequalificationCompleted",
        "TenderSuspended",
        "TenderResumed",
        "ObjectionRaised",
        "ComplaintFiled",
        "ComplaintDecided",
        "BidsOpened",
        "BidsEvaluated",
        "CandidatesPublicized",
        "AwardAnnounced",
        "AwardNoticeIssued",
        "AwardCancelled",
        "TenderFailed",
        "TenderCancelled",
        "ContractSigned",
        "ContractVaried",
        "MilestoneReached",
        "PaymentMade",
        "PerformanceIssueRecorded",
        "CompletionAccepted",
        "FinalAccountsSettled",
        "ProjectSuspended",
        "ProjectResumed",
        "ProjectCancelled",
        "ExpropriationPreAnnounced",
        "CompensationPlanPublished",
        "SocialStabilityRiskAssessed",
        "ExpropriationDecided",
        "CompensationPaid",
        "HouseholdCompensationPublished",
        "RelocationRecorded",
        "EnvironmentalImpactApproved",
    ] {
        assert!(fact_types.contains(fact), "the exports were checked with a public {fact}");
    }
    for tag in [
        "planning",
        "planningUpdate",
        "tender",
        "tenderAmendment",
        "tenderUpdate",
        "tenderCancellation",
        "award",
        "awardCancellation",
        "contract",
        "contractAmendment",
        "implementation",
        "implementationUpdate",
    ] {
        assert!(tags.contains(tag), "a `{tag}` release was validated: {tags:?}");
    }
}
