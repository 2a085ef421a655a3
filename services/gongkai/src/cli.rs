//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::targets::Target;

/// gongkai (公开): the disclosure bus for major construction and PPP projects.
#[derive(Debug, Parser)]
#[command(name = "gongkai", version, about)]
pub(crate) struct Cli {
    /// A TOML configuration file; `GONGKAI_<SECTION>__<KEY>` variables override it.
    #[arg(long, short, global = true, env = "GONGKAI_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Runs every component in one process on the embedded default
    /// (SQLite file, the event store as the log), migrating the database first.
    Dev {
        /// gRPC listen address (overrides `grpc.listen`).
        #[arg(long, value_name = "ADDR")]
        grpc_listen: Option<SocketAddr>,
        /// Website listen address (overrides `site.listen`).
        #[arg(long, value_name = "ADDR")]
        site_listen: Option<SocketAddr>,
    },
    /// Runs the chosen components against the configured storage and log
    /// (PostgreSQL and Kafka in production). The schema must be migrated.
    Serve {
        /// Components to run, comma-separated, or `all`.
        #[arg(long, short, required = true, value_delimiter = ',', value_name = "TARGETS")]
        target: Vec<Target>,
    },
    /// Applies pending database migrations and exits.
    Migrate,
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Drives realistic project lifecycles over gRPC and reports throughput
    /// and latency percentiles (acknowledgement, and until public).
    Load(LoadArgs),
    /// Projector maintenance.
    Projector {
        #[command(subcommand)]
        command: ProjectorCommand,
    },
    /// Relay maintenance.
    Relay {
        #[command(subcommand)]
        command: RelayCommand,
    },
    /// Checks a gongkai site's public record as anyone can: every project's
    /// hash chain from its public events, every reveal against its
    /// commitment, and the signed transparency log against them and against
    /// the checkpoint seen last time. Needs no credentials.
    Verify {
        /// The site's base URL, e.g. `https://gongkai.example.gov.cn`.
        #[arg(long)]
        site: String,
        /// The log's public key (`<origin>+<key id>+<key>`); else the one
        /// pinned in the state file, else the site's (then pinned).
        #[arg(long)]
        key: Option<String>,
        /// A bulk download on disk to check instead of the site's.
        #[arg(long)]
        bulk: Option<std::path::PathBuf>,
        /// Where the last verified checkpoint and the pinned key are kept.
        #[arg(long, default_value = "gongkai-verify.json")]
        state: std::path::PathBuf,
        /// A witness's cosignature key (`<name>+<key id>+<key>`) whose valid
        /// cosignature the checkpoint must carry; repeatable.
        #[arg(long = "witness", value_name = "VKEY")]
        witnesses: Vec<String>,
    },
    /// Transparency log keys.
    Tlog {
        #[command(subcommand)]
        command: TlogCommand,
    },
    /// A witness of transparency logs (C2SP tlog-witness): checks that each
    /// checkpoint a log submits extends the last one it cosigned, and
    /// cosigns it.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
    /// Hash-chain maintenance.
    Chains {
        #[command(subcommand)]
        command: ChainsCommand,
    },
    /// Makes a new bearer token and prints it with the `auth.credentials`
    /// entry (holding only its SHA-256) to add to the configuration.
    Credential {
        /// The caller's id, e.g. `hrb-ggzy`; it becomes the `source` of its events.
        #[arg(long)]
        id: String,
        /// What the caller may do.
        #[arg(long, value_enum, default_value = "submitter")]
        role: CredentialRole,
        /// Region prefixes the caller may act on, comma-separated (e.g. `2301`).
        #[arg(long, required = true, value_delimiter = ',')]
        regions: Vec<String>,
    },
}

/// Options of `gongkai load`.
#[derive(Debug, clap::Args)]
pub(crate) struct LoadArgs {
    /// gRPC endpoint of the ingestion services.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub(crate) endpoint: String,
    /// A submitter token covering region 2301 (Harbin).
    #[arg(long, env = "GONGKAI_LOAD_TOKEN")]
    pub(crate) token: String,
    /// Concurrent callers.
    #[arg(long, default_value_t = 64)]
    pub(crate) concurrency: usize,
    /// Submissions per second over all callers; as fast as possible when absent.
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Stop after this many submissions.
    #[arg(long, conflicts_with = "duration")]
    pub(crate) count: Option<u64>,
    /// Stop after this long, e.g. `30s`, `2m`.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub(crate) duration: Option<std::time::Duration>,
    /// Lifecycles each caller keeps in flight.
    #[arg(long, default_value_t = 4)]
    pub(crate) in_flight: usize,
    /// Every n-th submission is one that must be refused (0: never).
    #[arg(long, default_value_t = 50)]
    pub(crate) refusal_every: u64,
    /// Every n-th accepted submission is retried with its request id (0: never).
    #[arg(long, default_value_t = 40)]
    pub(crate) retry_every: u64,
    /// Tells apart the projects of runs against one store (0–9999); random when absent.
    #[arg(long)]
    pub(crate) run_id: Option<u32>,
    /// Measure acknowledgement → public timeline by watching this store
    /// (the configured `storage.url` when `--watch` is given without a value).
    #[arg(long)]
    pub(crate) watch: bool,
    /// Follow every n-th accepted fact into the public timeline.
    #[arg(long, default_value_t = 10)]
    pub(crate) watch_every: u64,
    /// With `--watch`, also follow each fact until the public website at this
    /// base URL (e.g. `http://127.0.0.1:8080`) shows it on the project page.
    #[arg(long, requires = "watch")]
    pub(crate) watch_site: Option<String>,
    /// Before the first submission, wait (a minute at most) until the
    /// endpoint's `grpc.health.v1.Health` says each of these services is
    /// SERVING, e.g. `gongkai.projector`: start-up is then not measured.
    #[arg(long, value_delimiter = ',')]
    pub(crate) wait_for: Vec<String>,
    /// Write the report as JSON here too.
    #[arg(long)]
    pub(crate) output: Option<PathBuf>,
}

/// Projector maintenance commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ProjectorCommand {
    /// Rebuilds every view from the beginning of the log beside the live
    /// views, showing progress, and puts them in place at the end (the site
    /// and supervision read the old ones until then). Gives the same views
    /// as the live projection.
    Rebuild,
    /// Lists the projects the projector parked (it could not render them),
    /// with the event and the reason.
    Parked,
    /// Renders parked projects again from the events kept, e.g. after an
    /// upgrade that fixed the cause; prints which ones healed.
    Retry {
        /// Project codes to retry; every parked project when none is given.
        codes: Vec<String>,
    },
}

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Loads the configuration as `serve` would (the file, then `GONGKAI_*`
    /// variables) and checks, without connecting to anything, everything a
    /// start would refuse: unknown keys, bad addresses and URLs, keys that do
    /// not parse, TLS files missing, and what the targets need. Prints each
    /// problem on its own line, with the setting's path, and exits non-zero
    /// on any; prints one summary line when there is none.
    Check {
        /// The targets `serve --target` would run, comma-separated, or `all`.
        #[arg(long, short, value_delimiter = ',', value_name = "TARGETS", conflicts_with = "witness")]
        target: Vec<Target>,
        /// Check what `gongkai witness serve` needs instead.
        #[arg(long)]
        witness: bool,
    },
}

/// Transparency log commands.
#[derive(Debug, Subcommand)]
pub(crate) enum TlogCommand {
    /// Makes a new checkpoint signing key and prints it with its public key,
    /// as `tlog.signing_key` (secret) and `tlog.public_key` entries.
    Keygen {
        /// The log's name (its C2SP origin), e.g. `ggzy.hlj.gov.cn/gongkai`.
        #[arg(long)]
        origin: String,
    },
}

/// Witness commands.
#[derive(Debug, Subcommand)]
pub(crate) enum WitnessCommand {
    /// Serves `POST /add-checkpoint` for the logs in `witness.logs`, keeping
    /// each one's latest cosigned tree head in `witness.state_file`.
    Serve {
        /// Listen address (overrides `witness.listen`).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// A log's public key, `<origin>+<key id>+<key>`; repeatable
        /// (replaces `witness.logs`).
        #[arg(long = "log", value_name = "VKEY")]
        logs: Vec<String>,
        /// The state file (overrides `witness.state_file`).
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
    },
    /// Makes a new cosigning key and prints it with its public key, as
    /// `witness.signing_key` (secret) and the `key` of a log's
    /// `tlog.witnesses` entry.
    Keygen {
        /// The witness's name, e.g. `witness.example.cn/w1`.
        #[arg(long)]
        name: String,
    },
}

/// Relay maintenance commands.
#[derive(Debug, Subcommand)]
pub(crate) enum RelayCommand {
    /// Lists the project streams the relay parked because Kafka refused one
    /// of their events for good, with the reason.
    Parked,
    /// Releases parked streams (e.g. after raising the topic's
    /// `max.message.bytes`): the relay publishes them again from the refused
    /// event on.
    Retry {
        /// Project codes to release; every parked stream when none is given.
        codes: Vec<String>,
    },
    /// Marks every published outbox row unpublished, so that the relay
    /// publishes the whole store again from its first event: for domain
    /// topics deleted to be filled anew, e.g. after `gongkai chains migrate`
    /// rewrote events they hold.
    Republish,
}

/// Hash-chain maintenance commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ChainsCommand {
    /// Moves every project's hash chain recorded before commitment seeds
    /// (events without a seed, hashed the legacy way) to the current scheme,
    /// once: each such event gets a fresh seed and every hash of the chain
    /// is recomputed, the old and new heads recorded. A project whose chain
    /// as recorded is broken is refused and left as it is (exit status 1).
    /// Stop every writer first; rebuild the views afterwards. Running it
    /// again migrates nothing. See docs/domain.md, "Moving chains to the
    /// current scheme".
    Migrate,
}

/// Roles a credential can have.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum CredentialRole {
    /// A trading-center system that submits facts.
    Submitter,
    /// A supervisor who queries.
    Supervisor,
    /// An auditor of supervisor queries.
    Auditor,
}

impl From<CredentialRole> for gongkai_grpc::auth::Role {
    fn from(role: CredentialRole) -> Self {
        match role {
            CredentialRole::Submitter => Self::Submitter,
            CredentialRole::Supervisor => Self::Supervisor,
            CredentialRole::Auditor => Self::Auditor,
        }
    }
}
