//! No dead links: `gongkai dev`, loaded with the load generator's lifecycles
//! (PPP projects with two lots, projects with land expropriation, some
//! stopped part way) and with every RPC they do not use (corrections,
//! suspensions, cancellations, re-tenders), is crawled over HTTP from its
//! home page in both languages: every page, export, feed, stylesheet and
//! font it links to. Any error status, missing anchor, malformed link or
//! wrong media type fails the test.

mod crawler;
mod html;

use std::time::Duration;

use reqwest::Url;

use crate::ingestion::submit_every_other_rpc;

/// Far more URLs than the load below yields (about a thousand): reaching it
/// means some link leads on without end.
const CAP: usize = 20_000;

/// Waits until the projector has folded every event of every project.
async fn wait_until_projected(store: &gongkai_store::Store) -> Vec<String> {
    let codes = store.chain_migration().project_codes(None, 10_000).await.expect("project codes");
    let started = std::time::Instant::now();
    for code in &codes {
        let head = store.events().stream_head(code).await.expect("stream head").map_or(0, |(seq, _)| seq);
        while store.projections().projected_seq(code).await.expect("projector head") < head {
            assert!(started.elapsed() < Duration::from_secs(60), "{code} not projected up to seq {head}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    codes
}

#[tokio::test]
async fn every_link_of_the_site_leads_somewhere() {
    let crate::support::Embedded { _dir, gongkai, clients, store } = crate::support::Embedded::start().await;
    // Two callers with two lifecycles each in flight, stopped mid-way: whole
    // PPP and land lifecycles and others at every earlier stage.
    let report = gongkai_load::run(
        gongkai_load::LoadConfig {
            endpoint: gongkai.endpoint("grpc").to_owned(),
            token: gongkai.endpoint("token").to_owned(),
            concurrency: 2,
            rate: None,
            limit: gongkai_load::Limit::Count(220),
            in_flight: 2,
            refusal_every: 0,
            retry_every: 0,
            run_id: 17,
            visibility: None,
            wait_for: Vec::new(),
        },
        |_| {},
    )
    .await
    .expect("the load runs");
    assert_eq!(report.errors, 0, "every lifecycle fact is accepted: {report:?}");
    let every_rpc = submit_every_other_rpc(&clients, &store).await;
    let codes = wait_until_projected(&store).await;
    assert!(codes.len() >= 8, "the load and the other RPCs made {} projects", codes.len());

    let site = Url::parse(gongkai.endpoint("site")).expect("site URL");
    let english = site.join("/?lang=en").expect("URL");
    let started = std::time::Instant::now();
    let crawl =
        crawler::crawl(&crawler::Http::new(), &[site.clone(), english], CAP).await.unwrap_or_else(|e| panic!("{e}"));
    println!(
        "crawled {} URLs ({} HTML pages) and {} links to them in {:?}; {} external links not fetched, e.g. {:?}",
        crawl.fetched.len(),
        crawl.pages(),
        crawl.links,
        started.elapsed(),
        crawl.external.len(),
        crawl.external.iter().take(3).collect::<Vec<_>>()
    );
    assert!(crawl.problems.is_empty(), "{} broken links:\n{}", crawl.problems.len(), crawl.problems.join("\n"));

    // The crawl reached what it had to, so its silence means something.
    let public: Vec<String> = store
        .public()
        .public_projects_after("", 10_000)
        .await
        .expect("public projects")
        .into_iter()
        .map(|project| project.project_code)
        .collect();
    assert!(public.contains(&every_rpc.other) && public.contains(&every_rpc.land), "{public:?}");
    let fetched = |path: &str, media: &str| {
        let url = site.join(path).expect("URL");
        assert_eq!(crawl.fetched.get(&url), Some(&(200, media.to_owned())), "{url} was crawled");
    };
    for code in &public {
        fetched(&format!("/projects/{code}"), "text/html");
        fetched(&format!("/projects/{code}?lang=en"), "text/html");
        fetched(&format!("/projects/{code}/feed.atom"), "application/atom+xml");
        fetched(&format!("/api/v1/projects/{code}/oc4ids"), "application/json");
    }
    let kinds: std::collections::BTreeSet<&str> = crawl.fetched.values().map(|(_, media)| media.as_str()).collect();
    for media in ["text/html", "text/css", "font/woff2", "application/json", "application/atom+xml"] {
        assert!(kinds.contains(media), "the crawl checked some {media}: {kinds:?}");
    }
    assert!(
        crawl.fetched.keys().any(|url| url.path().ends_with("/records"))
            && crawl.fetched.keys().any(|url| url.path() == "/api/v1/bulk.jsonl"),
        "OCDS records and the bulk download were checked"
    );
}
