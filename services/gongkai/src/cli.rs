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
}
