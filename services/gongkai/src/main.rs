//! The `gongkai` binary: one executable for every component, like Loki or
//! Mimir. `gongkai dev` runs them all in one process on the embedded default;
//! `gongkai serve --target …` runs chosen ones against PostgreSQL and Kafka;
//! `gongkai migrate` brings the database schema up to date; `gongkai
//! projector …`, `gongkai relay …` and `gongkai chains …` are maintenance;
//! `gongkai verify` checks a site's public record as anyone can, and
//! `gongkai witness serve` witnesses other logs.

mod cli;
mod config;
mod credential;
mod targets;
mod verify;

use std::process::ExitCode;

use clap::Parser;
use gongkai_bus::{LogSource, LogUrl};
use gongkai_store::{PoolOptions, Store};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

/// Rendering and serving allocate many small, short-lived values; the
/// system allocator took about half of a rebuild's own CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::cli::{
    ChainsCommand, Cli, Command, ConfigCommand, ProjectorCommand, RelayCommand, TlogCommand, WitnessCommand,
};
use crate::config::{Config, Purpose};
use crate::targets::{Endpoints, Roles, Target, Wiring};
use gongkai_grpc::auth::Role;
use gongkai_tlog::cosignature::Cosigner;
use gongkai_tlog::note::Signer;

/// Failures of the binary: each wraps the layer that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AppError {
    /// The configuration could not be loaded, or cannot run what was asked.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// `gongkai config check` found problems (printed on stdout).
    #[error("{0} configuration problem(s) found")]
    ConfigProblems(usize),
    /// Telemetry could not be set up.
    #[error("could not set up telemetry")]
    Telemetry(#[from] gongkai_telemetry::TelemetryError),
    /// The storage layer failed.
    #[error("storage failed")]
    Store(#[from] gongkai_store::StoreError),
    /// The event log failed or is unreachable.
    #[error("event log failed")]
    Bus(#[from] gongkai_bus::BusError),
    /// A listen address could not be bound.
    #[error("could not bind a listen address")]
    Bind(#[source] std::io::Error),
    /// The gRPC server failed.
    #[error("gRPC server failed")]
    Grpc(#[from] gongkai_grpc::GrpcError),
    /// The relay failed.
    #[error("relay failed")]
    Relay(#[from] gongkai_relay::RelayError),
    /// The projector failed.
    #[error("projector failed")]
    Projector(#[from] gongkai_projector::ProjectorError),
    /// The website failed.
    #[error("site failed")]
    Site(#[from] gongkai_site::SiteError),
    /// A transparency log key is malformed.
    #[error("invalid transparency log key")]
    TlogKey(#[from] gongkai_tlog::Error),
    /// `gongkai verify` could not judge.
    #[error("verification could not run")]
    Verify(#[from] verify::VerifyError),
    /// `gongkai verify` found something wrong.
    #[error("{0} discrepancies found")]
    Discrepancies(usize),
    /// The witness failed.
    #[error("witness failed")]
    Witness(#[from] gongkai_witness::WitnessError),
    /// No random bytes for a new key.
    #[error("no randomness for a new key: {0}")]
    NoRandomness(getrandom::Error),
    /// A component task panicked or was aborted.
    #[error("a component stopped unexpectedly")]
    Task(#[from] tokio::task::JoinError),
    /// A file could not be read or written.
    #[error("could not read or write {}", path.display())]
    ReadFile {
        /// The file.
        path: std::path::PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The load generator could not start.
    #[error("load generator failed")]
    Load(#[from] gongkai_load::LoadError),
    /// A report could not be written as JSON.
    #[error("could not write the report")]
    Json(#[source] serde_json::Error),
    /// A credential entry could not be written as TOML.
    #[error("could not write the credential entry")]
    Toml(#[source] toml::ser::Error),
    /// Signal handlers could not be installed.
    #[error("could not install signal handlers")]
    Signals(#[source] std::io::Error),
    /// `gongkai chains migrate` left projects on the legacy scheme.
    #[error(
        "{refused} project(s) refused because their recorded chains are broken, {changed} left because they \
         changed while being migrated (stop every writer and run again)"
    )]
    ChainsLeft {
        /// Projects whose chain as recorded is broken.
        refused: u64,
        /// Projects whose stream changed between reading and rewriting.
        changed: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gongkai: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The whole cause chain, one layer per line: each layer's message
            // describes only that layer.
            let mut message = format!("gongkai: {error}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(&format!("\n  caused by: {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), AppError> {
    // The check reports a configuration that does not load; it needs no telemetry.
    if let Command::Config { command: ConfigCommand::Check { target, witness } } = &cli.command {
        let targets = Target::expand(target);
        let purpose = if *witness { Purpose::Witness } else { Purpose::Serve(&targets) };
        return check_config(cli.config.as_deref(), purpose);
    }
    let config = Config::load(cli.config.as_deref())?;
    let service_name = match &cli.command {
        Command::Dev { .. } => "gongkai-dev".to_owned(),
        Command::Serve { target } => format!("gongkai-{}", target_label(target)),
        Command::Migrate => "gongkai-migrate".to_owned(),
        Command::Config { .. } => "gongkai-config".to_owned(),
        Command::Credential { .. } => "gongkai-credential".to_owned(),
        Command::Projector { .. } => "gongkai-projector-maintenance".to_owned(),
        Command::Relay { .. } => "gongkai-relay-maintenance".to_owned(),
        Command::Tlog { .. } => "gongkai-tlog".to_owned(),
        Command::Verify { .. } => "gongkai-verify".to_owned(),
        Command::Witness { .. } => "gongkai-witness".to_owned(),
        Command::Chains { .. } => "gongkai-chains-maintenance".to_owned(),
        Command::Load(_) => "gongkai-load".to_owned(),
    };
    let _telemetry = gongkai_telemetry::Telemetry::init(&service_name, config.telemetry.log_format.into())?;

    match cli.command {
        Command::Migrate => {
            let store = connect_store(&config).await?;
            store.migrate().await?;
            tracing::info!(backend = %store.backend(), "Migrations applied.");
            store.close().await;
            Ok(())
        }
        Command::Dev { grpc_listen, site_listen } => {
            let mut config = config;
            if let Some(address) = grpc_listen {
                config.grpc.listen = address;
            }
            if let Some(address) = site_listen {
                config.site.listen = address;
            }
            // The embedded default is usable out of the box: without configured
            // credentials, a one-off token for a submitter covering every region.
            let dev_token = config.auth.credentials.is_empty().then(|| {
                let token = credential::new_token();
                config.auth.credentials.push(credential::entry("dev", Role::Submitter, all_regions(), &token));
                token
            });
            // A key for the transparency log, kept beside the SQLite file so
            // that a restart signs as the same log.
            if config.tlog.signing_key.expose_secret().is_empty() {
                config.tlog.signing_key = dev_signing_key(&config)?.into();
            }
            let targets = Target::expand(&[Target::All]);
            config.check(Purpose::Serve(&targets)).map_err(config::ConfigError::from)?;
            let store = connect_store(&config).await?;
            store.migrate().await?;
            serve(&config, store, &targets, dev_token.as_deref()).await
        }
        Command::Serve { target } => {
            let targets = Target::expand(&target);
            config.check(Purpose::Serve(&targets)).map_err(config::ConfigError::from)?;
            let store = connect_store(&config).await?;
            store.ensure_migrated().await?;
            serve(&config, store, &targets, None).await
        }
        Command::Config { .. } => unreachable!("handled before the configuration is loaded"),
        Command::Projector { command } => projector_maintenance(&config, command).await,
        Command::Relay { command } => relay_maintenance(&config, command).await,
        Command::Verify { site, key, bulk, state, witnesses } => {
            let report = verify::verify(&verify::VerifyArgs { site, key, bulk, state, witnesses }).await?;
            for line in &report.checked {
                println!("checked: {line}");
            }
            for line in &report.discrepancies {
                println!("DISCREPANCY: {line}");
            }
            if report.discrepancies.is_empty() {
                println!("verified: no discrepancy");
                Ok(())
            } else {
                Err(AppError::Discrepancies(report.discrepancies.len()))
            }
        }
        Command::Tlog { command: TlogCommand::Keygen { origin } } => {
            let signer = Signer::from_seed(&origin, &random_seed()?)?;
            println!("signing_key = \"{}\"\npublic_key = \"{}\"", signer.signer_key(), signer.verifier().vkey());
            Ok(())
        }
        Command::Witness { command: WitnessCommand::Keygen { name } } => {
            let cosigner = Cosigner::from_seed(&name, &random_seed()?)?;
            println!("signing_key = \"{}\"\npublic_key = \"{}\"", cosigner.signer_key(), cosigner.verifier().vkey());
            Ok(())
        }
        Command::Witness { command: WitnessCommand::Serve { listen, logs, state } } => {
            // The command line overrides the `witness` section.
            let mut config = config;
            config.witness.listen = listen.unwrap_or(config.witness.listen);
            if !logs.is_empty() {
                config.witness.logs = logs;
            }
            config.witness.state_file = state.unwrap_or(config.witness.state_file);
            serve_witness(&config).await
        }
        Command::Chains { command } => chains_maintenance(&config, command).await,
        Command::Load(args) => load(&config, args).await,
        Command::Credential { id, role, regions } => {
            let token = credential::new_token();
            let entry = credential::entry(&id, role.into(), regions, &token);
            println!("{}", credential::describe(&entry, &token).map_err(AppError::Toml)?);
            Ok(())
        }
    }
}

/// `gongkai config check`: each problem on its own line on stdout, or one
/// line saying what the configuration runs.
fn check_config(file: Option<&std::path::Path>, purpose: Purpose<'_>) -> Result<(), AppError> {
    let checked = Config::load(file).map_err(|config::ConfigError(problems)| problems).and_then(|config| {
        config.check(purpose)?;
        Ok(config)
    });
    match checked {
        Ok(config) => {
            println!("{}", checked_summary(&config, purpose, file));
            Ok(())
        }
        Err(problems) => {
            for problem in &problems.0 {
                println!("{problem}");
            }
            Err(AppError::ConfigProblems(problems.0.len()))
        }
    }
}

/// One line on a configuration that passed the check: what it runs, where,
/// and from what (never a secret).
fn checked_summary(config: &Config, purpose: Purpose<'_>, file: Option<&std::path::Path>) -> String {
    let source = match file {
        Some(file) => format!("{} and the environment", file.display()),
        None => "the environment".to_owned(),
    };
    match purpose {
        Purpose::Witness => format!(
            "configuration OK for witness serve ({source}): listen {}, {} log(s), state {}",
            config.witness.listen,
            config.witness.logs.len(),
            config.witness.state_file.display()
        ),
        Purpose::Serve(targets) => {
            let what = if targets.is_empty() {
                "serve".to_owned()
            } else {
                format!("serve --target {}", target_label(targets))
            };
            let backend =
                config.storage.backend().map_or_else(|problem| problem.message, |backend| backend.to_string());
            let tls = if config.grpc.tls.is_some() { "TLS" } else { "plaintext" };
            let mut line = format!(
                "configuration OK for {what} ({source}): storage {backend}, log {}, grpc {} ({tls})",
                config.log.url, config.grpc.listen
            );
            if let Some(health) = config.grpc.health_listen {
                line.push_str(&format!(", health {health}"));
            }
            if targets.contains(&Target::Site) {
                line.push_str(&format!(", site {}", config.site.listen));
            }
            line
        }
    }
}

/// `gongkai projector …`, on the configured store (migrated) and log.
async fn projector_maintenance(config: &Config, command: ProjectorCommand) -> Result<(), AppError> {
    let store = connect_store(config).await?;
    store.ensure_migrated().await?;
    let projections = store.projections();
    match command {
        ProjectorCommand::Rebuild => {
            let log = config.log.url().map_err(config::ConfigError::from)?;
            return rebuild(&store, &projector_source(config, &log)).await;
        }
        ProjectorCommand::Parked => {
            for parked in projections.parked_projects().await? {
                let (code, seq, event) = (&parked.project_code, parked.project_seq, &parked.event_id);
                println!("{code}\tseq {seq}\t{event}\tsince {}\t{}", parked.parked_at.to_rfc3339(), parked.reason);
            }
        }
        ProjectorCommand::Retry { mut codes } => {
            if codes.is_empty() {
                codes = projections.parked_projects().await?.into_iter().map(|parked| parked.project_code).collect();
            }
            let outcomes = gongkai_projector::retry(&projections, &codes).await?;
            for (code, outcome) in codes.iter().zip(outcomes) {
                let said = match outcome {
                    gongkai_store::Projected::Advanced { head } => format!("rendered up to seq {head}"),
                    gongkai_store::Projected::Parked { head } => format!("still parked at seq {head}"),
                    gongkai_store::Projected::Waiting { head } => format!("waiting for events after seq {head}"),
                    gongkai_store::Projected::Duplicate => "not parked".to_owned(),
                };
                println!("{code}\t{said}");
            }
        }
    }
    store.close().await;
    Ok(())
}

/// `gongkai relay …`, on the configured store (migrated).
async fn relay_maintenance(config: &Config, command: RelayCommand) -> Result<(), AppError> {
    let store = connect_store(config).await?;
    store.ensure_migrated().await?;
    let outbox = store.outbox();
    match command {
        RelayCommand::Parked => {
            for parked in outbox.relay_parked().await? {
                let (code, position) = (&parked.project_code, parked.position);
                println!("{code}\tposition {position}\tsince {}\t{}", parked.parked_at.to_rfc3339(), parked.reason);
            }
        }
        RelayCommand::Retry { mut codes } => {
            if codes.is_empty() {
                codes = outbox.relay_parked().await?.into_iter().map(|parked| parked.project_code).collect();
            }
            for code in codes {
                let said = if outbox.release_relay_stream(&code).await? { "released" } else { "not parked" };
                println!("{code}\t{said}");
            }
        }
        RelayCommand::Republish => {
            let marked = outbox.republish_all().await?;
            println!("Marked {marked} outbox rows unpublished: the relay publishes them again, in position order.");
        }
    }
    store.close().await;
    Ok(())
}

/// `gongkai witness serve`: the witness's HTTP server until SIGINT or
/// SIGTERM.
async fn serve_witness(config: &Config) -> Result<(), AppError> {
    let config::WitnessSettings { cosigner, logs, state_file } =
        config.witness.settings().map_err(config::ConfigError::from)?;
    if let Some(dir) = state_file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| AppError::ReadFile { path: dir.to_owned(), source })?;
    }
    let server = gongkai_witness::WitnessServer::open(gongkai_witness::WitnessSettings {
        cosigner,
        logs,
        state_file: state_file.clone(),
        limits: gongkai_site::ServerLimits::default(),
        body_timeout: gongkai_witness::DEFAULT_BODY_TIMEOUT,
    })?;
    let listener = tokio::net::TcpListener::bind(config.witness.listen).await.map_err(AppError::Bind)?;
    let address = listener.local_addr().map_err(AppError::Bind)?;
    let shutdown = CancellationToken::new();
    spawn_signal_listener(shutdown.clone())?;
    println!("gongkai is running: witness");
    println!("  witness: http://{address}");
    println!("  key: {}", server.key());
    println!("  logs: {}", server.origins().join(", "));
    println!("  state: {}", state_file.display());
    println!("Press Ctrl-C to stop.");
    server.serve(listener, shutdown.cancelled_owned()).await?;
    Ok(())
}

/// `gongkai dev`'s log key: read from `tlog-signing.key` beside the SQLite
/// file, made there the first time; a fresh one each run on another store.
fn dev_signing_key(config: &Config) -> Result<String, AppError> {
    const ORIGIN: &str = "gongkai.localhost/log";
    let url = config.storage.url.expose_secret();
    let Some(path) = url.strip_prefix("sqlite://").map(|file| file.split('?').next().unwrap_or(file)) else {
        return Ok(Signer::from_seed(ORIGIN, &random_seed()?)?.signer_key());
    };
    let key_file = std::path::Path::new(path).with_file_name("tlog-signing.key");
    match std::fs::read_to_string(&key_file) {
        Ok(key) => Ok(key.trim().to_owned()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = Signer::from_seed(ORIGIN, &random_seed()?)?.signer_key();
            if let Some(dir) = key_file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| AppError::ReadFile { path: dir.to_owned(), source })?;
            }
            std::fs::write(&key_file, format!("{key}\n"))
                .map_err(|source| AppError::ReadFile { path: key_file.clone(), source })?;
            Ok(key)
        }
        Err(source) => Err(AppError::ReadFile { path: key_file, source }),
    }
}

fn random_seed() -> Result<[u8; 32], AppError> {
    let mut seed = [0; 32];
    getrandom::fill(&mut seed).map_err(AppError::NoRandomness)?;
    Ok(seed)
}

/// `gongkai chains …`, on the configured store (migrated).
async fn chains_maintenance(config: &Config, command: ChainsCommand) -> Result<(), AppError> {
    let store = connect_store(config).await?;
    store.ensure_migrated().await?;
    let result = match command {
        ChainsCommand::Migrate => migrate_chains(&store.transparency_log(), &store.chain_migration()).await,
    };
    store.close().await;
    result
}

/// `gongkai chains migrate`: every project, a page of codes at a time; a
/// line for each project migrated or left, then a summary. Projects already
/// on the current scheme are passed over, so a second run migrates nothing.
async fn migrate_chains(
    log: &gongkai_store::TransparencyLog,
    chains: &gongkai_store::ChainMigration,
) -> Result<(), AppError> {
    use gongkai_domain::rechain::{RechainError, rechain};
    const PAGE: u32 = 500;
    let (mut migrated, mut events, mut current, mut refused, mut changed) = (0_u64, 0_u64, 0_u64, 0_u64, 0_u64);
    let mut after: Option<String> = None;
    loop {
        let page = chains.project_codes(after.as_deref(), PAGE).await?;
        let Some(last) = page.last().cloned() else { break };
        for code in &page {
            let stream = chains.load_stream(code).await?;
            let moved = match rechain(&stream, random_seed) {
                Ok(moved) => moved,
                Err(RechainError::Broken(link)) => {
                    let kind = link.kind().as_str_name().trim_start_matches("BROKEN_LINK_KIND_");
                    let (seq, event, expected, actual) =
                        (link.project_seq, &link.event_id, &link.expected, &link.actual);
                    println!(
                        "{code}\trefused\tseq {seq} (event {event}) {kind}: expected {expected}, recorded {actual}"
                    );
                    refused += 1;
                    continue;
                }
                Err(RechainError::Seed(error)) => return Err(error),
            };
            let (true, Some(old_head), Some(new_head)) = (moved.changed, moved.old_head, moved.new_head) else {
                current += 1;
                continue;
            };
            let rewrite = gongkai_store::ChainRewrite { project_code: code, old_head, events: &moved.events };
            match chains.rewrite_chain(&rewrite).await {
                Ok(()) => {
                    let count = moved.events.len() as u64;
                    let (old_head, new_head) = (hex::encode(old_head), hex::encode(new_head));
                    println!("{code}\tmigrated\t{count} events\thead {old_head} -> {new_head}");
                    migrated += 1;
                    events += count;
                }
                Err(gongkai_store::StoreError::RewriteRefused { reason, .. }) => {
                    println!("{code}\tnot migrated\t{reason}");
                    changed += 1;
                }
                Err(error) => return Err(error.into()),
            }
        }
        after = Some(last);
    }
    println!(
        "Migrated {migrated} projects ({events} events); {current} already on the current scheme; {refused} refused; \
         {changed} changed meanwhile."
    );
    // The transparency log's leaves are the events' hashes: those of the
    // old scheme cannot stay in a log that must only grow, so it starts
    // again (once, before release) and the tlog target appends every event.
    if migrated > 0 && log.clear_for_chain_migration().await? {
        println!("The transparency log held the old hashes and was emptied; the tlog target logs every event again.");
    }
    if refused + changed > 0 {
        return Err(AppError::ChainsLeft { refused, changed });
    }
    Ok(())
}

/// Every province prefix: the dev credential's reach.
fn all_regions() -> Vec<String> {
    gongkai_domain::codes::PROVINCE_PREFIXES.iter().map(|p| (*p).to_owned()).collect()
}

async fn connect_store(config: &Config) -> Result<Store, AppError> {
    let pool = PoolOptions { max_connections: config.storage.max_connections, ..PoolOptions::default() };
    Ok(Store::connect(config.storage.url.expose_secret(), &pool).await?)
}

/// Checks the log, then runs `targets` until SIGINT or SIGTERM.
async fn serve(config: &Config, store: Store, targets: &[Target], dev_token: Option<&str>) -> Result<(), AppError> {
    let authenticator = config.auth.authenticator().map_err(config::ConfigError::from)?;
    let log = config.log.url().map_err(config::ConfigError::from)?;
    if let LogUrl::Kafka(kafka) = &log {
        let brokers = kafka.probe(std::time::Duration::from_secs(10)).await?;
        tracing::info!(brokers, "Kafka reachable.");
    }

    let shutdown = CancellationToken::new();
    spawn_signal_listener(shutdown.clone())?;
    let backend = store.backend();
    let names = target_label(targets);
    let mut roles = Roles::of(&store);
    let replica = if config.storage.read_url.expose_secret().is_empty()
        || !targets.iter().any(|t| matches!(t, Target::Site | Target::Supervision))
    {
        None
    } else {
        let pool = PoolOptions { max_connections: config.storage.max_connections, ..PoolOptions::default() };
        let replica = Store::connect(config.storage.read_url.expose_secret(), &pool).await?;
        roles.site = store.public_reading_from(&replica);
        roles.supervision = store.supervision_reading_from(&replica);
        tracing::info!("The site and supervision read from the replica at storage.read_url.");
        Some(replica)
    };
    let wiring = Wiring {
        roles,
        authenticator,
        grpc: &config.grpc,
        site_listen: config.site.listen,
        site: gongkai_site::SiteSettings {
            log_key: config.tlog.published_key().map_err(config::ConfigError::from)?,
            ..config.site.settings()
        },
        projector_source: projector_source(config, &log),
        projector_memory_bytes: config.projector.memory_mb.saturating_mul(1 << 20),
        tlog: config.tlog.settings().map_err(config::ConfigError::from)?,
        relay: match &log {
            LogUrl::Kafka(kafka) => {
                let mut relay = gongkai_relay::RelayConfig::new(kafka.clone());
                relay.topic_prefix = config.log.topic_prefix.clone();
                relay.partitions = config.log.partitions;
                relay.replication = config.log.replication_factor;
                Some(relay)
            }
            LogUrl::Embedded => None,
        },
    };
    let result =
        targets::run(targets, wiring, shutdown, |endpoints| announce(&names, backend, &log, endpoints, dev_token))
            .await;
    if let Some(replica) = replica {
        replica.close().await;
    }
    store.close().await;
    result
}

/// `gongkai load`: runs the load with a progress bar, prints the report as
/// JSON on stdout and writes it to `--output` when given.
async fn load(config: &Config, args: cli::LoadArgs) -> Result<(), AppError> {
    let limit = match (args.count, args.duration) {
        (Some(count), _) => gongkai_load::Limit::Count(count),
        (None, Some(duration)) => gongkai_load::Limit::Duration(duration),
        (None, None) => gongkai_load::Limit::Count(10_000),
    };
    let visibility = if args.watch {
        let store = connect_store(config).await?;
        Some(gongkai_load::Visibility {
            projections: store.projections(),
            site: args.watch_site.clone(),
            every: args.watch_every,
        })
    } else {
        None
    };
    let run_id = args.run_id.unwrap_or_else(|| {
        (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs() % 10_000)
            as u32
    });
    let bar = match limit {
        gongkai_load::Limit::Count(count) => indicatif::ProgressBar::new(count),
        gongkai_load::Limit::Duration(_) => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos} submissions ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress_bar = bar.clone();
    let report = gongkai_load::run(
        gongkai_load::LoadConfig {
            endpoint: args.endpoint,
            token: args.token,
            concurrency: args.concurrency.max(1),
            rate: args.rate,
            limit,
            in_flight: args.in_flight,
            refusal_every: args.refusal_every,
            retry_every: args.retry_every,
            run_id,
            visibility,
            wait_for: args.wait_for,
        },
        move |issued| progress_bar.set_position(issued),
    )
    .await?;
    bar.finish();
    let json = serde_json::to_string_pretty(&report).map_err(AppError::Json)?;
    println!("{json}");
    if let Some(path) = args.output {
        std::fs::write(&path, json).map_err(|source| AppError::ReadFile { path, source })?;
    }
    Ok(())
}

/// `gongkai projector rebuild`, with a progress bar on stderr.
async fn rebuild(store: &Store, source: &LogSource) -> Result<(), AppError> {
    use gongkai_projector::runner::Progress;
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let stats =
        gongkai_projector::runner::rebuild(&store.projections(), &store.log(), source, &|progress| match progress {
            Progress::Total(total) => bar.set_length(total),
            Progress::Read(read) => bar.inc(read),
        })
        .await?;
    bar.finish();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "Rebuilt {} projects from {} events in {seconds:.1} s ({:.0} events/s).",
        stats.projects,
        stats.events,
        stats.events as f64 / seconds.max(f64::EPSILON)
    );
    store.close().await;
    Ok(())
}

/// Where the projector reads events, live and for a rebuild: Kafka's domain
/// topics, or the store itself when the log is embedded.
fn projector_source(config: &Config, log: &LogUrl) -> LogSource {
    match log {
        LogUrl::Embedded => {
            LogSource::Store { poll: std::time::Duration::from_millis(config.projector.poll_ms), appended: None }
        }
        LogUrl::Kafka(kafka) => LogSource::Kafka(gongkai_bus::KafkaSource {
            kafka: kafka.clone(),
            group_id: config.projector.group_id.clone(),
            topic_prefix: config.log.topic_prefix.clone(),
            partitions: config.log.partitions,
        }),
    }
}

/// Tells the person at the terminal (and the tests) where to connect.
/// Printed on stdout, one `key: value` per line, after every listener is open.
fn announce(targets: &str, backend: gongkai_store::Backend, log: &LogUrl, endpoints: Endpoints, token: Option<&str>) {
    println!("gongkai is running: {targets}");
    println!("  storage: {backend}");
    println!("  log: {log}");
    let scheme = if endpoints.grpc_tls { "https" } else { "http" };
    println!("  grpc: {scheme}://{}", endpoints.grpc);
    if let Some(health) = endpoints.health {
        println!("  health: http://{health}");
    }
    if let Some(token) = token {
        println!("  token: {token}");
    }
    if let Some(site) = endpoints.site {
        println!("  site: http://{site}/");
    }
    println!("Press Ctrl-C to stop.");
}

fn target_label(targets: &[Target]) -> String {
    use clap::ValueEnum;
    targets.iter().filter_map(|t| t.to_possible_value().map(|v| v.get_name().to_owned())).collect::<Vec<_>>().join(",")
}

/// Cancels `shutdown` on the first SIGINT or SIGTERM.
fn spawn_signal_listener(shutdown: CancellationToken) -> Result<(), AppError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).map_err(AppError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(AppError::Signals)?;
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM received, draining."),
            _ = interrupt.recv() => tracing::info!("SIGINT received, draining."),
        }
        shutdown.cancel();
    });
    Ok(())
}
