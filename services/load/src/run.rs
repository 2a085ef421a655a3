//! The load generator.
//!
//! `concurrency` workers each keep a few project lifecycles in flight and send
//! their facts in lifecycle order, interleaving projects, so the store sees
//! many projects at different stages at once. Now and then a worker sends a
//! fact that must be refused (a tender for a project nobody approved) and
//! retries an accepted request with the same request id (which must be
//! answered with the first receipt). Latencies go into HdrHistograms.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gongkai_proto::v1 as pb;
use gongkai_scenarios::{PppLifecycle, Request, expropriation_lifecycle, ppp_lifecycle};
use gongkai_store::Projections;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::mpsc;
use tonic::transport::Channel;

use crate::Clients;

/// When a run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// After this many submissions.
    Count(u64),
    /// After this long.
    Duration(Duration),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// gRPC endpoint of the ingestion services, e.g. `http://127.0.0.1:50051`.
    pub endpoint: String,
    /// A submitter token covering region 2301.
    pub token: String,
    /// Concurrent callers.
    pub concurrency: usize,
    /// Submissions per second over all callers; `None`: as fast as possible.
    pub rate: Option<f64>,
    /// When to stop.
    pub limit: Limit,
    /// Lifecycles each caller keeps in flight.
    pub in_flight: usize,
    /// Every n-th submission is one that must be refused (0: never).
    pub refusal_every: u64,
    /// Every n-th accepted submission is retried with its request id (0: never).
    pub retry_every: u64,
    /// Tells apart the projects of different runs against one store (0–9999).
    pub run_id: u32,
    /// Where to follow sampled facts until they are public, when measuring
    /// acknowledgement → public.
    pub visibility: Option<Visibility>,
    /// Health service names the endpoint must report SERVING before the
    /// first submission (see [`wait_until_serving`]).
    pub wait_for: Vec<String>,
}

/// How acknowledgement → public is measured: every `every`-th accepted fact
/// is followed until the projector's tables hold it and, when `site` is
/// given, until the public website's project page shows it.
#[derive(Debug, Clone)]
pub struct Visibility {
    /// The read model, asked how far each project is folded.
    pub projections: Projections,
    /// The website's base URL (`http://host:port`), whose project pages are
    /// read until they show the fact.
    pub site: Option<String>,
    /// Follow every n-th accepted fact.
    pub every: u64,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Percentiles {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    fn of(histogram: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            count: histogram.len(),
            p50: ms(histogram.value_at_quantile(0.5)),
            p90: ms(histogram.value_at_quantile(0.9)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    /// Facts accepted (first time).
    pub accepted: u64,
    /// Facts refused as they had to be.
    pub refused: u64,
    /// Retries answered with their first receipt.
    pub replayed: u64,
    /// Calls that failed otherwise (transport, unexpected status).
    pub errors: u64,
    /// Wall time of the run, seconds.
    pub elapsed_seconds: f64,
    /// Accepted facts per second.
    pub accepted_per_second: f64,
    /// gRPC acknowledgement latency.
    pub ack_latency_ms: Percentiles,
    /// Acknowledgement → in the projector's public timeline table, when watched.
    pub visible_latency_ms: Option<Percentiles>,
    /// Acknowledgement → shown on the public website's project page, when a
    /// site is watched: what a citizen sees.
    pub page_latency_ms: Option<Percentiles>,
    /// The slowest acknowledgement → shown on the page (or in the timeline
    /// table when no site is watched), ms, of the facts acknowledged in each
    /// second of the run: whether a tail is start-up, periodic or spread.
    pub slowest_shown_ms_by_second: Vec<u64>,
}

/// Failures that stop a run before it starts.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The endpoint is not a URI.
    #[error("invalid endpoint")]
    Endpoint(#[source] tonic::codegen::http::uri::InvalidUri),
    /// The endpoint does not answer.
    #[error("cannot connect to the endpoint")]
    Connect(#[source] tonic::transport::Error),
    /// A service waited for did not report SERVING in time.
    #[error("{service} did not report SERVING within {waited:?}")]
    NotServing {
        /// The health service name.
        service: String,
        /// How long the run waited.
        waited: Duration,
    },
}

#[derive(Debug, Default)]
struct Counters {
    issued: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    replayed: AtomicU64,
    errors: AtomicU64,
}

/// A fact to follow into the public timeline.
struct Watch {
    project: String,
    seq: u64,
    acknowledged: Instant,
}

/// Runs the load; `progress` hears the number of submissions issued so far,
/// about ten times a second.
pub async fn run(config: LoadConfig, progress: impl Fn(u64) + Send + 'static) -> Result<LoadReport, LoadError> {
    let channel = Channel::from_shared(config.endpoint.clone())
        .map_err(LoadError::Endpoint)?
        .connect()
        .await
        .map_err(LoadError::Connect)?;
    wait_until_serving(&channel, &config.wait_for, READY_WITHIN).await?;
    let clients = Clients::new(channel, &config.token);
    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let deadline = match config.limit {
        Limit::Duration(duration) => Some(started + duration),
        Limit::Count(_) => None,
    };

    let (watch_tx, watch_rx) = mpsc::unbounded_channel::<Watch>();
    let (page_tx, page_rx) = mpsc::unbounded_channel::<Watch>();
    let watcher = config.visibility.clone().map(|visibility| {
        let projections = visibility.projections;
        tokio::spawn(follow(watch_rx, Some(page_tx), started, move |projects| {
            let projections = projections.clone();
            async move {
                let projects: Vec<&str> = projects.iter().map(String::as_str).collect();
                projections.projected_seqs(&projects).await.ok()
            }
        }))
    });
    let page_watcher = config.visibility.as_ref().and_then(|visibility| visibility.site.clone()).map(|site| {
        let client = reqwest::Client::new();
        tokio::spawn(follow(page_rx, None, started, move |projects| page_heads(client.clone(), site.clone(), projects)))
    });
    let reporter = {
        let counters = Arc::clone(&counters);
        tokio::spawn(async move {
            loop {
                progress(counters.issued.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let mut workers = Vec::new();
    for worker in 0..config.concurrency {
        let config = config.clone();
        let clients = clients.clone();
        let counters = Arc::clone(&counters);
        let watch_tx = watch_tx.clone();
        workers
            .push(tokio::spawn(async move { work(worker, &config, &clients, &counters, deadline, &watch_tx).await }));
    }
    drop(watch_tx);
    let mut ack = Histogram::<u64>::new(3).expect("3 significant figures is valid");
    for worker in workers {
        if let Ok(histogram) = worker.await {
            ack.add(histogram).expect("histograms of one configuration add up");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    reporter.abort();
    let (visible, slowest_visible) = match watcher {
        Some(watcher) => watcher.await.ok().map(|(histogram, slowest)| (Some(Percentiles::of(&histogram)), slowest)),
        None => None,
    }
    .unwrap_or_default();
    let (on_page, slowest_on_page) = match page_watcher {
        Some(watcher) => watcher.await.ok().map(|(histogram, slowest)| (Some(Percentiles::of(&histogram)), slowest)),
        None => None,
    }
    .unwrap_or_default();
    let accepted = counters.accepted.load(Ordering::Relaxed);
    Ok(LoadReport {
        accepted,
        refused: counters.refused.load(Ordering::Relaxed),
        replayed: counters.replayed.load(Ordering::Relaxed),
        errors: counters.errors.load(Ordering::Relaxed),
        elapsed_seconds: elapsed,
        accepted_per_second: accepted as f64 / elapsed.max(f64::EPSILON),
        ack_latency_ms: Percentiles::of(&ack),
        visible_latency_ms: visible,
        slowest_shown_ms_by_second: if on_page.is_some() { slowest_on_page } else { slowest_visible },
        page_latency_ms: on_page,
    })
}

/// How long a run waits for the services of [`LoadConfig::wait_for`].
const READY_WITHIN: Duration = Duration::from_secs(60);

/// Waits until the health service at `channel` reports each of `services`
/// SERVING, asking every 20 ms, for `within` at most.
async fn wait_until_serving(channel: &Channel, services: &[String], within: Duration) -> Result<(), LoadError> {
    let started = Instant::now();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in services {
        loop {
            let request = tonic_health::pb::HealthCheckRequest { service: service.clone() };
            let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
            if health.check(request).await.is_ok_and(|response| response.into_inner().status == serving) {
                break;
            }
            if started.elapsed() > within {
                return Err(LoadError::NotServing { service: service.clone(), waited: within });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

/// The project code of the `n`-th lifecycle of `worker` in run `run_id`:
/// the run in the industry and type segments, worker and count in the serial.
fn project_code(run_id: u32, worker: usize, n: usize) -> String {
    let serial = (worker * 10_000 + n) % 1_000_000;
    format!("2024-230113-{:02}-{:02}-{serial:06}", run_id / 100 % 100, run_id % 100)
}

/// One caller: keeps `in_flight` lifecycles going until the limit.
async fn work(
    worker: usize,
    config: &LoadConfig,
    clients: &Clients,
    counters: &Counters,
    deadline: Option<Instant>,
    watch: &mpsc::UnboundedSender<Watch>,
) -> Histogram<u64> {
    let mut ack = Histogram::<u64>::new(3).expect("3 significant figures is valid");
    let mut started = 0;
    // Every other project needs land and goes on into operation, so the load
    // exercises the land facts and the operation stage too.
    let mut next_lifecycle = || {
        started += 1;
        let code = project_code(config.run_id, worker, started);
        let prefix = format!("load-{}-{worker}-{started}", config.run_id);
        let lifecycle = if started % 2 == 0 { expropriation_lifecycle } else { ppp_lifecycle };
        (lifecycle(&code, &prefix), 0usize)
    };
    let mut lifecycles: Vec<(PppLifecycle, usize)> = (0..config.in_flight.max(1)).map(|_| next_lifecycle()).collect();
    // Each caller's share of the rate.
    let mut pace = config.rate.map(|rate| {
        let period = Duration::from_secs_f64(config.concurrency as f64 / rate.max(f64::EPSILON));
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    let mut turn = 0;
    loop {
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            break;
        }
        let issued = counters.issued.fetch_add(1, Ordering::Relaxed) + 1;
        if let Limit::Count(count) = config.limit
            && issued > count
        {
            break;
        }
        if let Some(pace) = pace.as_mut() {
            pace.tick().await;
        }
        if config.refusal_every > 0 && issued.is_multiple_of(config.refusal_every) {
            // A tender for a project nobody approved: always refused.
            let orphan =
                ppp_lifecycle(&project_code(config.run_id, worker, 999_999 - issued as usize % 1000), "orphan");
            match clients.send(orphan.requests[2].clone()).await {
                Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                    counters.refused.fetch_add(1, Ordering::Relaxed);
                }
                _ => {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            continue;
        }
        turn = (turn + 1) % lifecycles.len();
        let (lifecycle, index) = &mut lifecycles[turn];
        let request: Request = lifecycle.requests[*index].clone();
        let sent = Instant::now();
        match clients.send(request.clone()).await {
            Ok(receipt) => {
                let acknowledged = Instant::now();
                let _ = ack.record(acknowledged.duration_since(sent).as_micros() as u64);
                let accepted = counters.accepted.fetch_add(1, Ordering::Relaxed) + 1;
                if let Some(visibility) = &config.visibility
                    && visibility.every > 0
                    && accepted.is_multiple_of(visibility.every)
                {
                    let _ = watch.send(Watch {
                        project: receipt.project_code.clone(),
                        seq: receipt.project_seq,
                        acknowledged,
                    });
                }
                if config.retry_every > 0 && accepted.is_multiple_of(config.retry_every) {
                    retry(clients, request, &receipt, counters).await;
                }
                *index += 1;
                if *index == lifecycle.requests.len() {
                    lifecycles[turn] = next_lifecycle();
                }
            }
            Err(status) => {
                tracing::warn!(%status, "Submission failed.");
                counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    ack
}

/// Sends `request` again: it must come back with its first receipt.
async fn retry(clients: &Clients, request: Request, first: &pb::Receipt, counters: &Counters) {
    match clients.send(request).await {
        Ok(again) if again.replayed && again.event_id == first.event_id => {
            counters.replayed.fetch_add(1, Ordering::Relaxed);
        }
        _ => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Follows sampled facts until `heads` (the visible head seq of each
/// project asked about, `None` when it cannot tell this round) shows each,
/// recording acknowledgement → visible. A fact shown is passed on to `next`,
/// the following stage's watcher. The projects still waiting are asked
/// about together once per round, so the watcher is not the slow part.
/// Also returns the slowest latency (ms) of the facts acknowledged in each
/// second since `started`.
async fn follow<F, Fut>(
    mut incoming: mpsc::UnboundedReceiver<Watch>,
    next: Option<mpsc::UnboundedSender<Watch>>,
    started: Instant,
    mut heads: F,
) -> (Histogram<u64>, Vec<u64>)
where
    F: FnMut(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Option<std::collections::HashMap<String, u64>>>,
{
    let mut visible = Histogram::<u64>::new(3).expect("3 significant figures is valid");
    let mut slowest_by_second: Vec<u64> = Vec::new();
    let mut pending: Vec<Watch> = Vec::new();
    let mut open = true;
    while open || !pending.is_empty() {
        while let Ok(watch) = incoming.try_recv() {
            pending.push(watch);
        }
        if open && incoming.is_closed() && incoming.is_empty() {
            open = false;
        }
        let mut projects: Vec<String> = pending.iter().map(|watch| watch.project.clone()).collect();
        projects.sort_unstable();
        projects.dedup();
        let shown = if projects.is_empty() { Some(Default::default()) } else { heads(projects).await };
        let mut still = Vec::with_capacity(pending.len());
        for watch in pending {
            match shown.as_ref().map(|shown| shown.get(&watch.project).copied().unwrap_or(0)) {
                Some(head) if head >= watch.seq => {
                    let latency = watch.acknowledged.elapsed();
                    let _ = visible.record(latency.as_micros() as u64);
                    let second = watch.acknowledged.saturating_duration_since(started).as_secs() as usize;
                    if slowest_by_second.len() <= second {
                        slowest_by_second.resize(second + 1, 0);
                    }
                    slowest_by_second[second] = slowest_by_second[second].max(latency.as_millis() as u64);
                    if let Some(next) = &next {
                        let _ = next.send(watch);
                    }
                }
                // Give up on a fact after a minute: the report then lacks it.
                _ if watch.acknowledged.elapsed() > Duration::from_secs(60) => {}
                _ => still.push(watch),
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    (visible, slowest_by_second)
}

/// The last entry each project's public page shows (its entries are
/// anchored `id="seq-N"`), read from the site as a citizen would.
async fn page_heads(
    client: reqwest::Client,
    site: String,
    projects: Vec<String>,
) -> Option<std::collections::HashMap<String, u64>> {
    let pages = projects.into_iter().map(|project| {
        let url = format!("{}/projects/{project}", site.trim_end_matches('/'));
        let client = client.clone();
        async move {
            let body = client.get(url).send().await.ok()?.text().await.ok()?;
            Some((project, shown_head(&body)))
        }
    });
    Some(futures_util::future::join_all(pages).await.into_iter().flatten().collect())
}

/// The highest entry number a project page shows (0 for none).
fn shown_head(page: &str) -> u64 {
    page.split("id=\"seq-").skip(1).filter_map(|rest| rest.split('"').next()?.parse::<u64>().ok()).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_codes_are_valid_and_distinct_per_run_and_worker() {
        let a = project_code(12, 3, 4);
        assert_eq!(a, "2024-230113-00-12-030004");
        assert_ne!(a, project_code(13, 3, 4));
        assert_ne!(a, project_code(12, 4, 4));
    }

    #[test]
    fn a_page_shows_its_highest_entry() {
        let page = r#"<li id="seq-1"><h3>1.</h3></li><li id="seq-12" class="superseded"></li><li id="seq-3"></li>"#;
        assert_eq!(shown_head(page), 12);
        assert_eq!(shown_head("<p>none yet</p>"), 0);
    }

    #[test]
    fn percentiles_read_the_histogram_in_milliseconds() {
        let mut histogram = Histogram::<u64>::new(3).unwrap();
        for micros in 1..=1000 {
            histogram.record(micros * 1000).unwrap();
        }
        let p = Percentiles::of(&histogram);
        assert_eq!(p.count, 1000);
        assert!((p.p50 - 500.0).abs() < 1.0, "{p:?}");
        assert!((p.max - 1000.0).abs() < 1.0, "{p:?}");
    }
}
