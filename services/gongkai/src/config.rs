//! Typed configuration: defaults, then a TOML file, then `GONGKAI_*`
//! environment variables (`__` separates sections, e.g.
//! `GONGKAI_STORAGE__URL=postgres://…`). Unknown keys are errors, so a typo
//! never silently falls back to a default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

/// Everything a gongkai process can be told.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// Where events and views are stored.
    pub(crate) storage: StorageConfig,
    /// How events travel between components.
    pub(crate) log: LogConfig,
    /// The gRPC server every process runs (ingestion, supervision, health).
    pub(crate) grpc: GrpcConfig,
    /// The public website.
    pub(crate) site: SiteConfig,
    /// Logs and traces.
    pub(crate) telemetry: TelemetryConfig,
    /// Who may call the gRPC services.
    pub(crate) auth: AuthConfig,
    /// The projector.
    pub(crate) projector: ProjectorConfig,
}

/// Projector settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ProjectorConfig {
    /// Kafka consumer group; projector instances of one group split the partitions.
    pub(crate) group_id: String,
    /// How long the embedded projector waits when the log has nothing new, ms.
    pub(crate) poll_ms: u64,
}

impl Default for ProjectorConfig {
    fn default() -> Self {
        Self { group_id: "gongkai-projector".to_owned(), poll_ms: 50 }
    }
}

/// Credentials of trading centers, supervisors and auditors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AuthConfig {
    /// One entry per caller; only token hashes are configured. `gongkai
    /// credential new` makes a token and its entry.
    pub(crate) credentials: Vec<gongkai_grpc::auth::CredentialConfig>,
}

/// Storage selection by URL.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct StorageConfig {
    /// `sqlite://path` (default `sqlite://data/gongkai.db`) or
    /// `postgres://user:password@host:port/db`. Secret: it may hold a password.
    pub(crate) url: SecretString,
    /// Upper bound of pooled connections.
    pub(crate) max_connections: u32,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { url: SecretString::from(gongkai_store::DEFAULT_STORAGE_URL), max_connections: 16 }
    }
}

/// Log selection by URL.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LogConfig {
    /// `embedded` (default) or `kafka://host:port[,host:port…]`.
    pub(crate) url: String,
    /// Prefix of the Kafka topic names (empty: `gongkai.tenders.v1` …), to
    /// share a cluster between deployments.
    pub(crate) topic_prefix: String,
    /// Partitions of each domain topic when gongkai creates it.
    pub(crate) partitions: i32,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { url: gongkai_bus::DEFAULT_LOG_URL.to_owned(), topic_prefix: String::new(), partitions: 3 }
    }
}

/// gRPC server settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct GrpcConfig {
    /// Listen address; loopback by default.
    pub(crate) listen: SocketAddr,
    /// Largest request message decoded, in bytes.
    pub(crate) max_message_bytes: usize,
    /// Certificate and key for TLS. Without them gRPC is plaintext, which is
    /// allowed on loopback addresses only.
    pub(crate) tls: Option<TlsConfig>,
    /// A second, plaintext address that answers only `grpc.health.v1.Health`,
    /// for probes that cannot speak TLS (Kubernetes gRPC probes).
    pub(crate) health_listen: Option<SocketAddr>,
}

/// PEM files for serving gRPC over TLS.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsConfig {
    /// Certificate chain (PEM).
    pub(crate) cert: PathBuf,
    /// Private key (PEM).
    pub(crate) key: PathBuf,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            max_message_bytes: gongkai_grpc::DEFAULT_MAX_MESSAGE_BYTES,
            tls: None,
            health_listen: None,
        }
    }
}

/// Website settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SiteConfig {
    /// Listen address; loopback by default.
    pub(crate) listen: SocketAddr,
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 8080)) }
    }
}

/// Log output settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TelemetryConfig {
    /// `text` (default) or `json`.
    pub(crate) log_format: LogFormat,
}

/// Log line format on stderr.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl From<LogFormat> for gongkai_telemetry::LogFormat {
    fn from(format: LogFormat) -> Self {
        match format {
            LogFormat::Text => gongkai_telemetry::LogFormat::Text,
            LogFormat::Json => gongkai_telemetry::LogFormat::Json,
        }
    }
}

/// Configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration")]
pub(crate) struct ConfigError(#[source] Box<figment::Error>);

impl Config {
    /// Loads defaults, then `file` when given, then the environment.
    pub(crate) fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        // Only sectioned variables (`GONGKAI_<SECTION>__<KEY>`) are config;
        // others sharing the prefix belong to scripts (e.g. GONGKAI_CACHE_DIR).
        let env = Env::prefixed("GONGKAI_").filter(|key| key.as_str().contains("__")).split("__");
        figment.merge(env).extract().map_err(|error| ConfigError(Box::new(error)))
    }
}

#[cfg(test)]
// figment's test jail returns its own (large) error type; that is its API.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_are_the_embedded_shape() {
        Jail::expect_with(|_| {
            let config = Config::load(None).expect("defaults load");
            assert_eq!(config.storage.url.expose_secret(), "sqlite://data/gongkai.db");
            assert_eq!(config.log.url, "embedded");
            assert_eq!(config.grpc.listen.port(), 50051);
            assert_eq!(config.site.listen.port(), 8080);
            Ok(())
        });
    }

    #[test]
    fn file_then_environment_override() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "gongkai.toml",
                "[log]\nurl = \"kafka://127.0.0.1:9092\"\n[grpc]\nlisten = \"0.0.0.0:6000\"\n",
            )?;
            jail.set_env("GONGKAI_GRPC__LISTEN", "0.0.0.0:7000");
            jail.set_env("GONGKAI_CACHE_DIR", "/tmp/not-config");
            let config = Config::load(Some(Path::new("gongkai.toml"))).expect("config loads");
            assert_eq!(config.log.url, "kafka://127.0.0.1:9092");
            assert_eq!(config.grpc.listen.port(), 7000);
            Ok(())
        });
    }

    #[test]
    fn credentials_come_from_the_file() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "gongkai.toml",
                r#"
                [[auth.credentials]]
                id = "hrb-ggzy"
                token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                role = "submitter"
                regions = ["2301"]
                "#,
            )?;
            let config = Config::load(Some(Path::new("gongkai.toml"))).expect("config loads");
            assert_eq!(config.auth.credentials.len(), 1);
            assert_eq!(config.auth.credentials[0].regions, vec!["2301".to_owned()]);
            Ok(())
        });
    }

    #[test]
    fn credentials_come_from_one_environment_variable() {
        Jail::expect_with(|jail| {
            jail.set_env(
                "GONGKAI_AUTH__CREDENTIALS",
                r#"[{id="hrb-ggzy",token_sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",role="submitter",regions=["2301"]}]"#,
            );
            let config = Config::load(None).expect("config loads");
            assert_eq!(config.auth.credentials.len(), 1);
            assert_eq!(config.auth.credentials[0].id, "hrb-ggzy");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("GONGKAI_STORAGE__ULR", "postgres://x");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn secrets_do_not_print() {
        Jail::expect_with(|jail| {
            jail.set_env("GONGKAI_STORAGE__URL", "postgres://u:hunter2@db/gongkai");
            let config = Config::load(None).expect("config loads");
            assert!(!format!("{config:?}").contains("hunter2"));
            Ok(())
        });
    }
}
