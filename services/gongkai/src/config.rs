//! Typed configuration: defaults, then a TOML file, then `GONGKAI_*`
//! environment variables (`__` separates sections, e.g.
//! `GONGKAI_STORAGE__URL=postgres://…`). Unknown keys are errors, so a typo
//! never silently falls back to a default. [`check`] says what else a
//! configuration must hold to run a target, before it connects to anything.

mod check;

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

pub(crate) use check::{Problem, Problems, Purpose, WitnessSettings};

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
    /// The public transparency log.
    pub(crate) tlog: TlogConfig,
    /// `gongkai witness serve`: a witness of other logs.
    pub(crate) witness: WitnessConfig,
}

/// Transparency log settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TlogConfig {
    /// The checkpoint signing key, `PRIVATE+KEY+<origin>+<key id>+<key>`, as
    /// `gongkai tlog keygen` prints it; its name is the log's origin. Needed
    /// by the `tlog` target (`gongkai dev` keeps one beside its SQLite file
    /// when none is set). Secret.
    pub(crate) signing_key: SecretString,
    /// The log's public key, `<origin>+<key id>+<key>`, which the site
    /// publishes at `/log/key`; taken from the signing key when that is set.
    pub(crate) public_key: String,
    /// The shortest time between two checkpoints of a growing log, ms.
    pub(crate) checkpoint_interval_ms: u64,
    /// The witnesses each new checkpoint is submitted to (C2SP
    /// tlog-witness); their cosignatures are served with the checkpoint.
    pub(crate) witnesses: Vec<TlogWitnessConfig>,
}

impl Default for TlogConfig {
    fn default() -> Self {
        Self {
            signing_key: SecretString::from(""),
            public_key: String::new(),
            checkpoint_interval_ms: 1_000,
            witnesses: Vec::new(),
        }
    }
}

/// One witness of the transparency log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlogWitnessConfig {
    /// Its submission prefix, e.g. `http://witness.example.cn:7380`:
    /// checkpoints are POSTed to `<url>/add-checkpoint`.
    pub(crate) url: String,
    /// Its cosignature public key, `<name>+<key id>+<key>`, as `gongkai
    /// witness keygen` prints it.
    pub(crate) key: String,
}

/// Witness settings (`gongkai witness serve`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct WitnessConfig {
    /// Listen address; loopback by default.
    pub(crate) listen: SocketAddr,
    /// The witness's cosigning key, `PRIVATE+KEY+<name>+<key id>+<key>`, as
    /// `gongkai witness keygen` prints it. Secret.
    pub(crate) signing_key: SecretString,
    /// The public keys of the logs it witnesses, `<origin>+<key id>+<key>`
    /// (each key's name is its log's origin).
    pub(crate) logs: Vec<String>,
    /// Where it keeps each log's latest cosigned tree head. Losing it makes
    /// the witness forget what it cosigned: keep it on durable storage.
    pub(crate) state_file: PathBuf,
}

impl Default for WitnessConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7380)),
            signing_key: SecretString::from(""),
            logs: Vec::new(),
            state_file: PathBuf::from("data/witness-state.json"),
        }
    }
}

/// Projector settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ProjectorConfig {
    /// Kafka consumer group; projector instances of one group split the partitions.
    pub(crate) group_id: String,
    /// How long the embedded projector waits when the log has nothing new, ms.
    pub(crate) poll_ms: u64,
    /// How much of its projects' renderings the live projector keeps in
    /// memory, MiB; a project not kept is read and rendered whole once.
    pub(crate) memory_mb: u64,
}

impl Default for ProjectorConfig {
    fn default() -> Self {
        Self {
            group_id: "gongkai-projector".to_owned(),
            poll_ms: 50,
            memory_mb: gongkai_projector::runner::DEFAULT_MEMORY_BYTES >> 20,
        }
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
    /// A streaming replica of that PostgreSQL database that the site and
    /// supervision read from (empty: they read `url`). Supervision still
    /// writes its audit trail to `url`. Secret, like `url`.
    pub(crate) read_url: SecretString,
    /// Upper bound of pooled connections.
    pub(crate) max_connections: u32,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: SecretString::from(gongkai_store::DEFAULT_STORAGE_URL),
            read_url: SecretString::from(""),
            max_connections: 16,
        }
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
    /// Replicas of each domain topic when gongkai creates it; -1 (default)
    /// takes the cluster's `default.replication.factor`.
    pub(crate) replication_factor: i32,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            url: gongkai_bus::DEFAULT_LOG_URL.to_owned(),
            topic_prefix: String::new(),
            partitions: 3,
            replication_factor: -1,
        }
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
    /// Connections served at once; more wait in the listen backlog.
    pub(crate) max_connections: NonZeroUsize,
    /// Calls in flight per connection (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`).
    pub(crate) max_concurrent_streams: NonZeroU32,
    /// Seconds between HTTP/2 PINGs that check a peer is alive; 0 disables them.
    pub(crate) keepalive_interval_secs: u64,
    /// Seconds a PING may go unanswered before the connection is closed.
    pub(crate) keepalive_timeout_secs: u64,
    /// Seconds a call may take until its response starts; 0 disables the bound.
    pub(crate) request_timeout_secs: u64,
    /// Seconds a new connection has to start talking; 0 disables the bound.
    pub(crate) handshake_timeout_secs: u64,
}

impl GrpcConfig {
    /// The connection bounds of the gRPC server.
    pub(crate) fn limits(&self) -> gongkai_grpc::ConnectionLimits {
        let seconds = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
        gongkai_grpc::ConnectionLimits {
            max_connections: self.max_connections,
            max_concurrent_streams: self.max_concurrent_streams,
            keepalive_interval: seconds(self.keepalive_interval_secs),
            keepalive_timeout: Duration::from_secs(self.keepalive_timeout_secs),
            request_timeout: seconds(self.request_timeout_secs),
            handshake_timeout: seconds(self.handshake_timeout_secs),
        }
    }
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
        let limits = gongkai_grpc::ConnectionLimits::default();
        let secs = |duration: Option<Duration>| duration.map_or(0, |d| d.as_secs());
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            max_message_bytes: gongkai_grpc::DEFAULT_MAX_MESSAGE_BYTES,
            tls: None,
            health_listen: None,
            max_connections: limits.max_connections,
            max_concurrent_streams: limits.max_concurrent_streams,
            keepalive_interval_secs: secs(limits.keepalive_interval),
            keepalive_timeout_secs: limits.keepalive_timeout.as_secs(),
            request_timeout_secs: secs(limits.request_timeout),
            handshake_timeout_secs: secs(limits.handshake_timeout),
        }
    }
}

/// Website settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SiteConfig {
    /// Listen address; loopback by default.
    pub(crate) listen: SocketAddr,
    /// Seconds a client has to send a complete request head (and, on a
    /// kept-alive HTTP/1 connection, to start the next one); 0 disables it.
    pub(crate) header_read_timeout_secs: u64,
    /// Seconds a connection may pass without a byte moving either way
    /// before it is closed; 0 disables it.
    pub(crate) idle_timeout_secs: u64,
    /// Connections served at once; more wait in the listen backlog.
    pub(crate) max_connections: NonZeroUsize,
    /// The prefix of every ocid in the OCDS and OC4IDS exports, the change
    /// feed and the bulk download: `ocds-` and the six characters the Open
    /// Contracting Partnership registered for this deployment. The default,
    /// `ocds-gkcn01`, is not registered: a deployment that publishes
    /// registers its own and sets it here (ocids are then unique across
    /// deployments).
    pub(crate) ocid_prefix: gongkai_site::OcidPrefix,
}

impl SiteConfig {
    /// The connection bounds of the site's HTTP server.
    pub(crate) fn limits(&self) -> gongkai_site::ServerLimits {
        let seconds = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
        gongkai_site::ServerLimits {
            header_read_timeout: seconds(self.header_read_timeout_secs),
            idle_timeout: seconds(self.idle_timeout_secs),
            max_connections: self.max_connections,
        }
    }

    /// How the site runs.
    pub(crate) fn settings(&self) -> gongkai_site::SiteSettings {
        gongkai_site::SiteSettings { limits: self.limits(), ocid_prefix: self.ocid_prefix.clone(), log_key: None }
    }
}

impl Default for SiteConfig {
    fn default() -> Self {
        let limits = gongkai_site::ServerLimits::default();
        let secs = |duration: Option<Duration>| duration.map_or(0, |d| d.as_secs());
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            header_read_timeout_secs: secs(limits.header_read_timeout),
            idle_timeout_secs: secs(limits.idle_timeout),
            max_connections: limits.max_connections,
            ocid_prefix: gongkai_site::OcidPrefix::default(),
        }
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

/// The prefix of configuration variables: `GONGKAI_<SECTION>__<KEY>`.
const ENV_PREFIX: &str = "GONGKAI_";

/// Configuration could not be read, or cannot run what was asked: every
/// problem found, one per line.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:{0}")]
pub(crate) struct ConfigError(pub(crate) Problems);

impl From<Problems> for ConfigError {
    fn from(problems: Problems) -> Self {
        Self(problems)
    }
}

impl From<Problem> for ConfigError {
    fn from(problem: Problem) -> Self {
        Self(problem.into())
    }
}

impl Config {
    /// Loads defaults, then `file` when given, then the environment.
    pub(crate) fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        // Only sectioned variables (`GONGKAI_<SECTION>__<KEY>`) are config;
        // others sharing the prefix belong to scripts (e.g. GONGKAI_CACHE_DIR).
        let env = Env::prefixed(ENV_PREFIX).filter(|key| key.as_str().contains("__")).split("__");
        figment.merge(env).extract().map_err(|error| ConfigError(check::load_problems(error)))
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
    fn grpc_limits_have_defaults_and_refuse_zero_counts() {
        Jail::expect_with(|jail| {
            let defaults = Config::load(None).expect("defaults load").grpc.limits();
            assert_eq!(defaults, gongkai_grpc::ConnectionLimits::default());
            jail.set_env("GONGKAI_GRPC__MAX_CONNECTIONS", "3");
            jail.set_env("GONGKAI_GRPC__REQUEST_TIMEOUT_SECS", "0");
            let limits = Config::load(None).expect("config loads").grpc.limits();
            assert_eq!(limits.max_connections.get(), 3);
            assert_eq!(limits.request_timeout, None);
            jail.set_env("GONGKAI_GRPC__MAX_CONNECTIONS", "0");
            assert!(Config::load(None).is_err(), "no connection could ever be served");
            Ok(())
        });
    }

    #[test]
    fn site_limits_have_defaults_and_refuse_zero_connections() {
        Jail::expect_with(|jail| {
            let defaults = Config::load(None).expect("defaults load").site.limits();
            assert_eq!(defaults, gongkai_site::ServerLimits::default());
            jail.set_env("GONGKAI_SITE__HEADER_READ_TIMEOUT_SECS", "2");
            jail.set_env("GONGKAI_SITE__IDLE_TIMEOUT_SECS", "0");
            jail.set_env("GONGKAI_SITE__MAX_CONNECTIONS", "7");
            let limits = Config::load(None).expect("config loads").site.limits();
            assert_eq!(limits.header_read_timeout, Some(Duration::from_secs(2)));
            assert_eq!(limits.idle_timeout, None);
            assert_eq!(limits.max_connections.get(), 7);
            jail.set_env("GONGKAI_SITE__MAX_CONNECTIONS", "0");
            assert!(Config::load(None).is_err(), "no connection could ever be served");
            Ok(())
        });
    }

    #[test]
    fn the_ocid_prefix_defaults_to_the_unregistered_one_and_must_look_registered() {
        Jail::expect_with(|jail| {
            let defaults = Config::load(None).expect("defaults load").site.settings();
            assert_eq!(defaults.ocid_prefix.as_str(), gongkai_site::OcidPrefix::UNREGISTERED_DEFAULT);
            jail.create_file("gongkai.toml", "[site]\nocid_prefix = \"ocds-a1b2c3\"\n")?;
            let config = Config::load(Some(Path::new("gongkai.toml"))).expect("config loads");
            assert_eq!(config.site.settings().ocid_prefix.as_str(), "ocds-a1b2c3");
            jail.set_env("GONGKAI_SITE__OCID_PREFIX", "ocds-z9y8x7");
            let config = Config::load(Some(Path::new("gongkai.toml"))).expect("config loads");
            assert_eq!(config.site.ocid_prefix.as_str(), "ocds-z9y8x7");
            for bad in ["gkcn01", "ocds-GKCN01", "ocds-gkcn0", "ocds-gkcn012", "ocds-gk-n01", "ocds-gkcn0\u{4e00}"] {
                jail.set_env("GONGKAI_SITE__OCID_PREFIX", bad);
                assert!(Config::load(None).is_err(), "{bad:?} is no ocid prefix");
            }
            Ok(())
        });
    }

    #[test]
    fn witnesses_come_from_the_file_or_one_environment_variable() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "gongkai.toml",
                r#"
                [[tlog.witnesses]]
                url = "http://127.0.0.1:7380"
                key = "w1+00000000+BAAA"
                [witness]
                logs = ["gongkai.example.cn/log+00000000+AQAA"]
                state_file = "/var/lib/witness/state.json"
                "#,
            )?;
            let config = Config::load(Some(Path::new("gongkai.toml"))).expect("config loads");
            assert_eq!(config.tlog.witnesses.len(), 1);
            assert_eq!(config.tlog.witnesses[0].url, "http://127.0.0.1:7380");
            assert_eq!(config.witness.logs.len(), 1);
            assert_eq!(config.witness.listen.port(), 7380);
            jail.set_env("GONGKAI_TLOG__WITNESSES", r#"[{url="http://a",key="k1"},{url="http://b",key="k2"}]"#);
            jail.set_env("GONGKAI_WITNESS__SIGNING_KEY", "PRIVATE+KEY+w1+00000000+BAAA");
            let config = Config::load(Some(Path::new("gongkai.toml"))).expect("config loads");
            assert_eq!(config.tlog.witnesses.iter().map(|w| w.key.as_str()).collect::<Vec<_>>(), ["k1", "k2"]);
            assert!(!format!("{config:?}").contains("PRIVATE+KEY"), "the witness key is a secret");
            jail.set_env("GONGKAI_TLOG__WITNESSES", r#"[{url="http://a",key="k1",typo=1}]"#);
            assert!(Config::load(None).is_err());
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
