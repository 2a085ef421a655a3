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
    /// (SQLite file, in-process log), migrating the database first.
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
    /// Projector maintenance.
    Projector {
        #[command(subcommand)]
        command: ProjectorCommand,
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

/// Projector maintenance commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ProjectorCommand {
    /// Empties every view and rebuilds it from the beginning of the log,
    /// showing progress. Gives the same views as the live projection.
    Rebuild,
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
