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
use gongkai_scenarios::{PppLifecycle, Request, ppp_lifecycle};
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
    /// Where to watch how far the projector has folded each project, to
    /// measure acknowledgement → visible; every `visibility_sample`-th
    /// accepted fact is followed.
    pub visibility: Option<(Projections, u64)>,
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
    /// Acknowledgement → in the public timeline, when watched.
    pub visible_latency_ms: Option<Percentiles>,
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
    let clients = Clients::new(channel, &config.token);
    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let deadline = match config.limit {
        Limit::Duration(duration) => Some(started + duration),
        Limit::Count(_) => None,
    };

    let (watch_tx, watch_rx) = mpsc::unbounded_channel::<Watch>();
    let watcher =
        config.visibility.clone().map(|(projections, _)| tokio::spawn(watch_visibility(projections, watch_rx)));
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
    let visible = match watcher {
        Some(watcher) => watcher.await.ok().map(|histogram| Percentiles::of(&histogram)),
        None => None,
    };
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
    })
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
    let mut next_lifecycle = || {
        started += 1;
        let code = project_code(config.run_id, worker, started);
        (ppp_lifecycle(&code, &format!("load-{}-{worker}-{started}", config.run_id)), 0usize)
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
                if let Some((_, sample)) = &config.visibility
                    && *sample > 0
                    && accepted.is_multiple_of(*sample)
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

/// Follows sampled facts until each is in the public timeline.
async fn watch_visibility(projections: Projections, mut incoming: mpsc::UnboundedReceiver<Watch>) -> Histogram<u64> {
    let mut visible = Histogram::<u64>::new(3).expect("3 significant figures is valid");
    let mut pending: Vec<Watch> = Vec::new();
    let mut open = true;
    while open || !pending.is_empty() {
        while let Ok(watch) = incoming.try_recv() {
            pending.push(watch);
        }
        if open && incoming.is_closed() && incoming.is_empty() {
            open = false;
        }
        // One query per round for every followed project: a query per fact
        // would make the watcher, not the pipeline, the slow part.
        let mut projects: Vec<&str> = pending.iter().map(|watch| watch.project.as_str()).collect();
        projects.sort_unstable();
        projects.dedup();
        let heads =
            if projects.is_empty() { Ok(Default::default()) } else { projections.projected_seqs(&projects).await };
        let mut still = Vec::with_capacity(pending.len());
        for watch in pending {
            match heads.as_ref().map(|heads| heads.get(&watch.project).copied().unwrap_or(0)) {
                Ok(head) if head >= watch.seq => {
                    let _ = visible.record(watch.acknowledged.elapsed().as_micros() as u64);
                }
                // Give up on a fact after a minute: the report then lacks it.
                _ if watch.acknowledged.elapsed() > Duration::from_secs(60) => {}
                _ => still.push(watch),
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    visible
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
