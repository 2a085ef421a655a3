//! The components one process can run, and how they are wired together.
//!
//! Every process runs one gRPC server (health and reflection always, plus the
//! gRPC services of its targets) so that every deployment can be probed the
//! same way; `site` adds the HTTP server.
//!
//! No target gets the whole store: [`Roles`] hands each one the role of the
//! store it may use, so what a target can touch in the database is its field's
//! type there.

use std::net::SocketAddr;

use clap::ValueEnum;
use futures_util::TryFutureExt;
use gongkai_awards::Awards;
use gongkai_contracts::Contracts;
use gongkai_grpc::GrpcServer;
use gongkai_grpc::auth::Authenticator;
use gongkai_ingest::Ingestor;
use gongkai_projects::Projects;
use gongkai_review::Review;
use gongkai_store::{
    EventLog, EventStore, Outbox, Projections, PublicReader, Store, SupervisionReader, TransparencyLog,
};
use gongkai_tenders::Tenders;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;

use crate::AppError;
use crate::config::GrpcConfig;

/// A component of gongkai.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub(crate) enum Target {
    /// Every target below.
    All,
    /// Ingestion: approvals, PPP details, project suspension and cancellation.
    Projects,
    /// Ingestion: tender notices, lots, amendments, bid opening.
    Tenders,
    /// Ingestion: prequalification, evaluation, publicity, objections, complaints.
    Review,
    /// Ingestion: awards, award notices, cancellations, failed tenders.
    Awards,
    /// Ingestion: contracts and their performance through final accounts.
    Contracts,
    /// Publishes the outbox to Kafka (nothing to do on the embedded log).
    Relay,
    /// Folds the event log into the public and supervisor views.
    Projector,
    /// Supervisor queries over gRPC.
    Supervision,
    /// The public website.
    Site,
    /// Appends every event to the public transparency log, signs its
    /// checkpoints and submits them to its witnesses.
    Tlog,
}

impl Target {
    /// The concrete targets a selection stands for, without `all`, sorted
    /// and without repeats.
    pub(crate) fn expand(selection: &[Target]) -> Vec<Target> {
        let mut targets: Vec<Target> = if selection.contains(&Target::All) {
            Target::value_variants().iter().copied().filter(|t| *t != Target::All).collect()
        } else {
            selection.to_vec()
        };
        targets.sort();
        targets.dedup();
        targets
    }
}

/// Addresses the running process actually listens on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoints {
    /// The gRPC server.
    pub(crate) grpc: SocketAddr,
    /// Whether the gRPC server speaks TLS.
    pub(crate) grpc_tls: bool,
    /// The plaintext health-only address, when configured.
    pub(crate) health: Option<SocketAddr>,
    /// The website, when `site` runs.
    pub(crate) site: Option<SocketAddr>,
}

/// What each target may touch in the database: one role of the store each
/// (see `gongkai_store`), checked by the compiler.
#[derive(Debug, Clone)]
pub(crate) struct Roles {
    /// The five ingestion services: append events to their projects'
    /// streams and read streams and requests back.
    pub(crate) ingestion: EventStore,
    /// The relay: read, mark and park the outbox, and lead the relays.
    pub(crate) relay: Outbox,
    /// The projector: fold events into the read model (both views, the
    /// supervision index, the public change feed).
    pub(crate) projector: Projections,
    /// The projector on the embedded log: the event store read as a log.
    pub(crate) projector_log: EventLog,
    /// Supervision: the full view, flags, the commit-safe change feed and
    /// projects' events; it writes its own audit trail.
    pub(crate) supervision: SupervisionReader,
    /// The site: the public view and the public change feed, nothing else.
    pub(crate) site: PublicReader,
    /// The transparency log's writer: the change feed, the log's tables.
    pub(crate) tlog: TransparencyLog,
}

impl Roles {
    /// Every target's role over `store`.
    pub(crate) fn of(store: &Store) -> Self {
        Roles {
            ingestion: store.events(),
            relay: store.outbox(),
            projector: store.projections(),
            projector_log: store.log(),
            supervision: store.supervision(),
            site: store.public(),
            tlog: store.transparency_log(),
        }
    }
}

/// What the targets of one process are built from.
#[derive(Debug)]
pub(crate) struct Wiring<'a> {
    /// Each target's role of the store.
    pub(crate) roles: Roles,
    /// Who may call.
    pub(crate) authenticator: Authenticator,
    /// gRPC settings.
    pub(crate) grpc: &'a GrpcConfig,
    /// Where the site listens.
    pub(crate) site_listen: SocketAddr,
    /// How the site runs: its connection bounds and ocid prefix.
    pub(crate) site: gongkai_site::SiteSettings,
    /// Where the projector reads the log.
    pub(crate) projector_source: gongkai_bus::LogSource,
    /// How many bytes of renderings the projector keeps in memory.
    pub(crate) projector_memory_bytes: u64,
    /// The relay's settings, when the log is Kafka.
    pub(crate) relay: Option<gongkai_relay::RelayConfig>,
    /// How the transparency log is signed, when this process runs `tlog`.
    pub(crate) tlog: Option<gongkai_transparency::LogSettings>,
}

/// The name under which `grpc.health.v1.Health` says whether the projector
/// is live: its reader holds its share of the log (on Kafka, partitions
/// assigned by the group).
pub(crate) const PROJECTOR_HEALTH: &str = "gongkai.projector";

/// The name under which `grpc.health.v1.Health` says whether the
/// transparency log's writer appends and signs.
pub(crate) const TLOG_HEALTH: &str = "gongkai.tlog";

/// The name under which `grpc.health.v1.Health` says whether every witness
/// of the transparency log cosigned its latest checkpoint (reported when
/// witnesses are configured).
pub(crate) const TLOG_WITNESSES_HEALTH: &str = "gongkai.tlog.witnesses";

/// Binds the listeners for `targets`, then serves until `shutdown` is
/// cancelled. `on_ready` receives the bound addresses once every listener is
/// open, before the first request is served.
pub(crate) async fn run(
    targets: &[Target],
    wiring: Wiring<'_>,
    shutdown: CancellationToken,
    on_ready: impl FnOnce(Endpoints),
) -> Result<(), AppError> {
    // In one process, appends wake the embedded projector directly.
    let appended = std::sync::Arc::new(tokio::sync::Notify::new());
    let mut projector_source = wiring.projector_source.clone();
    if let gongkai_bus::LogSource::Store { appended: wake, .. } = &mut projector_source {
        *wake = Some(appended.clone());
    }
    let mut ingestor = Ingestor::new(wiring.roles.ingestion.clone()).notifying(appended);
    let relay = match (&wiring.relay, targets.contains(&Target::Relay)) {
        (Some(config), true) => {
            let relay = gongkai_relay::Relay::new(wiring.roles.relay.clone(), config.clone());
            ingestor = ingestor.notifying(relay.waker());
            Some(relay)
        }
        (None, true) => {
            tracing::info!("Embedded log: the projector reads the store itself, there is nothing to relay.");
            None
        }
        (_, false) => None,
    };
    let mut grpc_server = grpc_server(targets, &wiring, ingestor)?;
    // The projector says in health (`gongkai.projector`) when it is live.
    let (projector_live, projector_live_rx) = tokio::sync::watch::channel(false);
    if targets.contains(&Target::Projector) {
        grpc_server.component(PROJECTOR_HEALTH, projector_live_rx);
    }
    let (tlog_live, tlog_live_rx) = tokio::sync::watch::channel(false);
    let (tlog_witnessed, tlog_witnessed_rx) = tokio::sync::watch::channel(false);
    // The configuration check refused a tlog target without a signing key.
    let tlog = wiring.tlog.filter(|_| targets.contains(&Target::Tlog));
    if let Some(settings) = &tlog {
        grpc_server.component(TLOG_HEALTH, tlog_live_rx);
        if !settings.witnesses.is_empty() {
            grpc_server.component(TLOG_WITNESSES_HEALTH, tlog_witnessed_rx);
        }
    }
    let grpc_listener = bind(wiring.grpc.listen).await?;
    let health = match wiring.grpc.health_listen {
        Some(address) => {
            let listener = bind(address).await?;
            let bound = listener.local_addr().map_err(AppError::Bind)?;
            grpc_server.health_listener(listener);
            Some(bound)
        }
        None => None,
    };
    let site_listener = if targets.contains(&Target::Site) { Some(bind(wiring.site_listen).await?) } else { None };
    on_ready(Endpoints {
        grpc: grpc_listener.local_addr().map_err(AppError::Bind)?,
        grpc_tls: wiring.grpc.tls.is_some(),
        health,
        site: site_listener.as_ref().map(TcpListener::local_addr).transpose().map_err(AppError::Bind)?,
    });

    let mut components = JoinSet::new();
    components.spawn(grpc_server.serve(grpc_listener, shutdown.clone().cancelled_owned()).map_err(AppError::from));
    if let Some(relay) = relay {
        components.spawn(relay.run(shutdown.clone()).map_err(AppError::from));
    }
    if targets.contains(&Target::Projector) {
        let (projections, log) = (wiring.roles.projector.clone(), wiring.roles.projector_log.clone());
        let options =
            gongkai_projector::RunOptions { memory_bytes: wiring.projector_memory_bytes, live: Some(projector_live) };
        let projector = gongkai_projector::run(projections, log, projector_source, shutdown.clone(), options);
        components.spawn(projector.map_err(AppError::from));
    }
    if let Some(settings) = tlog {
        let health = gongkai_transparency::Health { writing: tlog_live, witnessed: tlog_witnessed };
        let writer = gongkai_transparency::run(wiring.roles.tlog.clone(), settings, shutdown.clone(), health);
        components.spawn(async move {
            writer.await;
            Ok(())
        });
    }
    if let Some(listener) = site_listener {
        let site = gongkai_site::serve_with_settings(
            wiring.roles.site.clone(),
            wiring.site.clone(),
            listener,
            shutdown.clone().cancelled_owned(),
        );
        components.spawn(site.map_err(AppError::from));
    }

    // A component that stops on its own takes the whole process down with it;
    // the first failure is the one reported.
    let mut outcome = Ok(());
    while let Some(finished) = components.join_next().await {
        shutdown.cancel();
        let result = finished.map_err(AppError::from).and_then(|result| result);
        if outcome.is_ok() {
            outcome = result;
        }
    }
    outcome
}

/// The gRPC server with the services of `targets`, each behind the
/// authenticator.
fn grpc_server(targets: &[Target], wiring: &Wiring<'_>, ingestor: Ingestor) -> Result<GrpcServer, AppError> {
    let config = wiring.grpc;
    let mut server = GrpcServer::new(config.max_message_bytes);
    server.limits(config.limits());
    // Plaintext is refused off loopback here.
    if let Some(tls) = config.tls_pem().map_err(crate::config::ConfigError::from)? {
        server.tls(&tls.cert, &tls.key);
    }

    // Each ingestion service sits behind the authenticator.
    macro_rules! ingestion {
        ($service:ident) => {
            server.add_service(InterceptedService::new(
                $service::new(ingestor.clone()).into_server(config.max_message_bytes),
                wiring.authenticator.clone(),
            ))
        };
    }
    for target in targets {
        match target {
            Target::Projects => ingestion!(Projects),
            Target::Tenders => ingestion!(Tenders),
            Target::Review => ingestion!(Review),
            Target::Awards => ingestion!(Awards),
            Target::Contracts => ingestion!(Contracts),
            Target::Supervision => server.add_service(
                gongkai_supervision::Supervision::new(
                    wiring.roles.supervision.clone(),
                    gongkai_domain::clock::system_clock(),
                )
                .into_server(config.max_message_bytes, wiring.authenticator.clone()),
            ),
            // Served by components of their own.
            Target::Relay | Target::Projector | Target::Site | Target::Tlog | Target::All => &mut server,
        };
    }
    Ok(server)
}

async fn bind(address: SocketAddr) -> Result<TcpListener, AppError> {
    TcpListener::bind(address).await.map_err(AppError::Bind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_expands_to_every_component() {
        let targets = Target::expand(&[Target::All, Target::Site]);
        assert_eq!(targets.len(), Target::value_variants().len() - 1);
        assert!(!targets.contains(&Target::All));
    }

    #[test]
    fn selection_is_sorted_and_deduplicated() {
        assert_eq!(
            Target::expand(&[Target::Site, Target::Projects, Target::Site]),
            vec![Target::Projects, Target::Site]
        );
    }
}
