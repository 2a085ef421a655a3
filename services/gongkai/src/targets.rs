//! The components one process can run, and how they are wired together.
//!
//! Every process runs one gRPC server (health and reflection always, plus the
//! gRPC services of its targets) so that every deployment can be probed the
//! same way; `site` adds the HTTP server.

use std::net::SocketAddr;

use clap::ValueEnum;
use futures_util::TryFutureExt;
use gongkai_grpc::GrpcServer;
use gongkai_store::Store;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::AppError;

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
    /// Supervisor queries over gRPC.
    Supervision,
    /// The public website.
    Site,
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
    /// The website, when `site` runs.
    pub(crate) site: Option<SocketAddr>,
}

/// Binds the listeners for `targets`, then serves until `shutdown` is
/// cancelled. `on_ready` receives the bound addresses once every listener is
/// open, before the first request is served.
pub(crate) async fn run(
    targets: &[Target],
    store: Store,
    grpc: &crate::config::GrpcConfig,
    site_listen: SocketAddr,
    shutdown: CancellationToken,
    on_ready: impl FnOnce(Endpoints),
) -> Result<(), AppError> {
    let grpc_listener = bind(grpc.listen).await?;
    let site_listener = if targets.contains(&Target::Site) { Some(bind(site_listen).await?) } else { None };
    on_ready(Endpoints {
        grpc: grpc_listener.local_addr().map_err(AppError::Bind)?,
        site: site_listener.as_ref().map(TcpListener::local_addr).transpose().map_err(AppError::Bind)?,
    });

    let mut components = JoinSet::new();
    let grpc_server = GrpcServer::new(grpc.max_message_bytes);
    components.spawn(grpc_server.serve(grpc_listener, shutdown.clone().cancelled_owned()).map_err(AppError::from));
    if let Some(listener) = site_listener {
        let site = gongkai_site::serve(store.clone(), listener, shutdown.clone().cancelled_owned());
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
