//! What a configuration must hold before a process starts, checked without
//! connecting to anything: `gongkai config check` reports it, and `serve`,
//! `dev` and `witness serve` refuse to start on it. The runtime settings
//! (log URL, TLS files, keys, credentials) are built here too, by the same
//! functions the check runs, so the check and the start cannot disagree.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gongkai_bus::LogUrl;
use gongkai_grpc::auth::Authenticator;
use gongkai_store::{Backend, Store};
use gongkai_tlog::cosignature::Cosigner;
use gongkai_tlog::note::{KeyType, Signer, Verifier};
use secrecy::ExposeSecret;

use super::{AuthConfig, Config, GrpcConfig, LogConfig, StorageConfig, TlogConfig, TlogWitnessConfig, WitnessConfig};
use crate::targets::Target;

/// One thing wrong with a configuration: the setting, as its path in
/// `gongkai.toml` (e.g. `projector.group_id`), and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Problem {
    /// Where the setting lives, dotted: `grpc.tls.cert`, `tlog.witnesses[0].key`.
    pub(crate) path: String,
    /// What is wrong, without the value when it may be a secret.
    pub(crate) message: String,
}

impl Problem {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The problems found, one per line when shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problems(pub(crate) Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.0 {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl From<Problem> for Problems {
    fn from(problem: Problem) -> Self {
        Self(vec![problem])
    }
}

/// What the configured process is about to run: what it needs depends on it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose<'a> {
    /// `gongkai serve --target …` (and `dev`, every target) with these
    /// targets; none checks what every process needs.
    Serve(&'a [Target]),
    /// `gongkai witness serve`.
    Witness,
}

/// The problems of a configuration that could not even be read: unknown
/// keys, values of the wrong type. Each names the setting and where it was
/// set (the file, or the environment variable).
pub(crate) fn load_problems(error: figment::Error) -> Problems {
    Problems(
        error
            .into_iter()
            .map(|error| {
                // The path ends with the field itself, unknown ones included.
                let path = &error.path;
                let source = error.metadata.as_ref().map(|metadata| match &metadata.source {
                    Some(figment::Source::File(file)) => format!(" (in {})", file.display()),
                    _ => format!(" (from {}{})", super::ENV_PREFIX, path.join("__").to_uppercase()),
                });
                let path = if path.is_empty() { "(top level)".to_owned() } else { path.join(".") };
                Problem::new(path, format!("{}{}", error.kind, source.unwrap_or_default()))
            })
            .collect(),
    )
}

impl Config {
    /// Every problem that keeps this configuration from running `purpose`,
    /// found without connecting to anything; `Ok` when there is none.
    pub(crate) fn check(&self, purpose: Purpose<'_>) -> Result<(), Problems> {
        let problems = self.problems(purpose);
        if problems.is_empty() { Ok(()) } else { Err(Problems(problems)) }
    }

    fn problems(&self, purpose: Purpose<'_>) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut note = |result: Result<(), Problems>| {
            if let Err(found) = result {
                problems.extend(found.0);
            }
        };
        match purpose {
            Purpose::Serve(targets) => {
                note(self.storage.backend().map(drop).map_err(Problems::from));
                note(self.log.url().map(drop).map_err(Problems::from));
                note(self.storage.read_backend().map_err(Problems::from));
                if self.log.replication_factor < 1 && self.log.replication_factor != -1 {
                    note(Err(Problem::new(
                        "log.replication_factor",
                        "must be at least 1, or -1 for the cluster's default",
                    )
                    .into()));
                }
                if self.log.partitions < 1 {
                    note(Err(Problem::new("log.partitions", "must be at least 1").into()));
                }
                if self.storage.max_connections < 1 {
                    note(Err(Problem::new("storage.max_connections", "must be at least 1").into()));
                }
                note(self.grpc.tls_pem().map(drop));
                note(self.listeners_apart(targets.contains(&Target::Site)));
                note(self.auth.authenticator().map(drop).map_err(Problems::from));
                note(self.tlog.published_key().map(drop).map_err(Problems::from));
                if targets.contains(&Target::Tlog) && self.tlog.signing_key.expose_secret().is_empty() {
                    note(Err(Problem::new(
                        "tlog.signing_key",
                        "the tlog target needs it (make one with `gongkai tlog keygen`)",
                    )
                    .into()));
                }
                note(self.tlog.settings().map(drop));
            }
            Purpose::Witness => note(self.witness.settings().map(drop)),
        }
        // The public key falls back on the signing key: one bad key, one line.
        let mut seen = std::collections::HashSet::new();
        problems.retain(|problem| seen.insert(problem.clone()));
        problems
    }

    /// Two listeners of one process on one port cannot both bind.
    fn listeners_apart(&self, site: bool) -> Result<(), Problems> {
        let mut listeners = vec![("grpc.listen", self.grpc.listen)];
        listeners.extend(self.grpc.health_listen.map(|address| ("grpc.health_listen", address)));
        if site {
            listeners.push(("site.listen", self.site.listen));
        }
        let clash = |a: SocketAddr, b: SocketAddr| {
            a.port() != 0
                && a.port() == b.port()
                && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
        };
        let mut problems = Vec::new();
        for (i, (path, address)) in listeners.iter().enumerate() {
            if let Some((other, _)) = listeners[..i].iter().find(|(_, earlier)| clash(*earlier, *address)) {
                problems.push(Problem::new(*path, format!("{address} is also {other}'s address")));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(Problems(problems)) }
    }
}

impl StorageConfig {
    /// The backend `storage.url` names, checked as the store would read it.
    pub(crate) fn backend(&self) -> Result<Backend, Problem> {
        Store::check_url(self.url.expose_secret()).map_err(|error| {
            // The URL may hold a password: say why, never what.
            let reason = match std::error::Error::source(&error) {
                Some(cause) => format!("{error}: {cause}"),
                None => error.to_string(),
            };
            Problem::new("storage.url", reason)
        })
    }
}

impl StorageConfig {
    /// `storage.read_url`, when set: a PostgreSQL URL, beside a PostgreSQL
    /// `storage.url` (a replica of SQLite has no meaning).
    fn read_backend(&self) -> Result<(), Problem> {
        let read_url = self.read_url.expose_secret();
        if read_url.is_empty() {
            return Ok(());
        }
        let read = Store::check_url(read_url)
            .map_err(|error| Problem::new("storage.read_url", format!("{error} (the URL itself is not shown)")))?;
        let primary = Store::check_url(self.url.expose_secret()).ok();
        if read != Backend::Postgres || primary.is_some_and(|backend| backend != Backend::Postgres) {
            return Err(Problem::new(
                "storage.read_url",
                "a read replica is for PostgreSQL: both URLs must be postgres://",
            ));
        }
        Ok(())
    }
}

impl LogConfig {
    /// Where events travel, as `log.url` says.
    pub(crate) fn url(&self) -> Result<LogUrl, Problem> {
        LogUrl::parse(&self.url).map_err(|error| Problem::new("log.url", error.to_string()))
    }
}

/// The PEM certificate chain and key gRPC is served with.
#[derive(Debug)]
pub(crate) struct TlsPem {
    /// Certificate chain.
    pub(crate) cert: Vec<u8>,
    /// Private key.
    pub(crate) key: Vec<u8>,
}

impl GrpcConfig {
    /// The TLS files, read; none when gRPC is plaintext, which only a
    /// loopback `grpc.listen` may be.
    pub(crate) fn tls_pem(&self) -> Result<Option<TlsPem>, Problems> {
        let Some(tls) = &self.tls else {
            if self.listen.ip().is_loopback() {
                return Ok(None);
            }
            return Err(Problem::new(
                "grpc.listen",
                format!("plaintext gRPC is allowed on loopback only, not on {}: configure grpc.tls", self.listen),
            )
            .into());
        };
        let cert = read_pem("grpc.tls.cert", &tls.cert, "CERTIFICATE");
        let key = read_pem("grpc.tls.key", &tls.key, "PRIVATE KEY");
        match (cert, key) {
            (Ok(cert), Ok(key)) => Ok(Some(TlsPem { cert, key })),
            (cert, key) => Err(Problems(cert.err().into_iter().chain(key.err()).collect())),
        }
    }
}

/// Reads `file` and checks it holds a PEM block whose label ends in `label`.
fn read_pem(path: &str, file: &Path, label: &str) -> Result<Vec<u8>, Problem> {
    let bytes =
        std::fs::read(file).map_err(|error| Problem::new(path, format!("cannot read {}: {error}", file.display())))?;
    let text = String::from_utf8_lossy(&bytes);
    let has_block = text.lines().any(|line| {
        line.strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
            .is_some_and(|found| found.ends_with(label))
    });
    if !has_block {
        return Err(Problem::new(path, format!("{} holds no PEM {label}", file.display())));
    }
    Ok(bytes)
}

impl AuthConfig {
    /// Who may call, from `auth.credentials`.
    pub(crate) fn authenticator(&self) -> Result<Authenticator, Problem> {
        Authenticator::new(&self.credentials).map_err(|error| Problem::new("auth.credentials", error.to_string()))
    }
}

impl TlogConfig {
    /// The public key the site publishes: `tlog.public_key`, else the
    /// signing key's, else none.
    pub(crate) fn published_key(&self) -> Result<Option<String>, Problem> {
        if !self.public_key.is_empty() {
            let key = Verifier::parse(&self.public_key)
                .map_err(|error| Problem::new("tlog.public_key", format!("not a log's public key: {error}")))?;
            return Ok(Some(key.vkey()));
        }
        Ok(self.signer()?.map(|signer| signer.verifier().vkey()))
    }

    /// How the transparency log is signed and witnessed, when
    /// `tlog.signing_key` is set.
    pub(crate) fn settings(&self) -> Result<Option<gongkai_transparency::LogSettings>, Problems> {
        let signer = self.signer().map_err(Problems::from);
        let mut witnesses = Vec::new();
        let mut problems = Vec::new();
        for (index, entry) in self.witnesses.iter().enumerate() {
            match entry.endpoint(index) {
                Ok(endpoint) => witnesses.push(endpoint),
                Err(found) => problems.extend(found.0),
            }
        }
        match signer {
            Ok(signer) if problems.is_empty() => Ok(signer.map(|signer| gongkai_transparency::LogSettings {
                signer,
                checkpoint_interval: Duration::from_millis(self.checkpoint_interval_ms),
                witnesses,
            })),
            Ok(_) => Err(Problems(problems)),
            Err(found) => Err(Problems(found.0.into_iter().chain(problems).collect())),
        }
    }

    fn signer(&self) -> Result<Option<Signer>, Problem> {
        let key = self.signing_key.expose_secret();
        if key.is_empty() {
            return Ok(None);
        }
        Signer::parse(key)
            .map(Some)
            .map_err(|error| Problem::new("tlog.signing_key", format!("not a signing key: {error}")))
    }
}

impl TlogWitnessConfig {
    /// This `tlog.witnesses` entry (the `index`th), checked: an `http://`
    /// submission prefix and a cosignature key.
    fn endpoint(&self, index: usize) -> Result<gongkai_transparency::WitnessEndpoint, Problems> {
        let at = |field: &str| format!("tlog.witnesses[{index}].{field}");
        let mut problems = Vec::new();
        match reqwest::Url::parse(&self.url) {
            // This build's HTTP client speaks no TLS; cosignatures are
            // signed, so a plain connection costs no integrity.
            Ok(url) if url.scheme() == "http" && url.host_str().is_some() => {}
            Ok(_) => problems.push(Problem::new(at("url"), "must be http://host[:port][/prefix]")),
            Err(error) => problems.push(Problem::new(at("url"), format!("{:?} is not a URL ({error})", self.url))),
        }
        let key = match Verifier::parse(&self.key) {
            Ok(key) if key.key_type() == KeyType::Cosignature => Some(key),
            Ok(_) => {
                problems.push(Problem::new(at("key"), format!("{} is not a witness's cosignature key", self.key)));
                None
            }
            Err(error) => {
                problems.push(Problem::new(at("key"), format!("{:?} is not a public key: {error}", self.key)));
                None
            }
        };
        match key {
            Some(key) if problems.is_empty() => {
                Ok(gongkai_transparency::WitnessEndpoint { url: self.url.clone(), key })
            }
            _ => Err(Problems(problems)),
        }
    }
}

/// What `gongkai witness serve` runs with.
#[derive(Debug)]
pub(crate) struct WitnessSettings {
    /// Its cosigning key.
    pub(crate) cosigner: Cosigner,
    /// The logs it witnesses.
    pub(crate) logs: Vec<Verifier>,
    /// Where it keeps what it cosigned.
    pub(crate) state_file: PathBuf,
}

impl WitnessConfig {
    /// The witness's key and logs, checked.
    pub(crate) fn settings(&self) -> Result<WitnessSettings, Problems> {
        let mut problems = Vec::new();
        let key = self.signing_key.expose_secret();
        let cosigner = if key.is_empty() {
            problems.push(Problem::new(
                "witness.signing_key",
                "gongkai witness serve needs it (make one with `gongkai witness keygen`)",
            ));
            None
        } else {
            Cosigner::parse(key)
                .map_err(|error| {
                    problems.push(Problem::new("witness.signing_key", format!("not a cosigning key: {error}")))
                })
                .ok()
        };
        if self.logs.is_empty() {
            problems.push(Problem::new("witness.logs", "names no log to witness: give at least one log key"));
        }
        let mut logs = Vec::new();
        for (index, vkey) in self.logs.iter().enumerate() {
            let path = format!("witness.logs[{index}]");
            match Verifier::parse(vkey.trim()) {
                Ok(key) if key.key_type() == KeyType::Ed25519 => logs.push(key),
                Ok(_) => {
                    problems.push(Problem::new(path, format!("{vkey} is a witness key, not a log's checkpoint key")))
                }
                Err(error) => problems.push(Problem::new(path, format!("{vkey:?} is not a log's key: {error}"))),
            }
        }
        match cosigner {
            Some(cosigner) if problems.is_empty() => {
                Ok(WitnessSettings { cosigner, logs, state_file: self.state_file.clone() })
            }
            _ => Err(Problems(problems)),
        }
    }
}

#[cfg(test)]
// figment's test jail returns its own (large) error type; that is its API.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    /// A log's key pair, as `gongkai tlog keygen` makes it.
    fn log_signer() -> Signer {
        Signer::from_seed("gongkai.example.cn/log", &[7; 32]).expect("a signer")
    }

    /// The paths of every problem `config` has for `purpose`.
    fn paths(config: &Config, purpose: Purpose<'_>) -> Vec<String> {
        config.check(purpose).err().map(|found| found.0.into_iter().map(|p| p.path).collect()).unwrap_or_default()
    }

    #[test]
    fn the_defaults_serve_every_target_but_the_log() {
        let config = Config::default();
        assert_eq!(config.check(Purpose::Serve(&[])), Ok(()));
        let every = Target::expand(&[Target::All]);
        assert_eq!(paths(&config, Purpose::Serve(&every)), ["tlog.signing_key"]);
        let mut config = config;
        config.tlog.signing_key = log_signer().signer_key().into();
        assert_eq!(config.check(Purpose::Serve(&every)), Ok(()));
    }

    #[test]
    fn a_file_with_an_unknown_field_names_it_and_the_file() {
        Jail::expect_with(|jail| {
            jail.create_file("gongkai.toml", "[projector]\ngroup = \"gongkai-projector\"\n")?;
            let error = Config::load(Some(Path::new("gongkai.toml"))).expect_err("group is no field");
            let problems = &error.0.0;
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].path, "projector.group");
            assert!(problems[0].message.contains("unknown field"), "{}", problems[0]);
            assert!(problems[0].message.contains("group_id"), "names the fields there are: {}", problems[0]);
            assert!(problems[0].message.contains("gongkai.toml"), "names the file: {}", problems[0]);
            Ok(())
        });
    }

    #[test]
    fn an_environment_variable_of_the_wrong_type_names_it() {
        Jail::expect_with(|jail| {
            jail.set_env("GONGKAI_GRPC__LISTEN", "not-an-address");
            let error = Config::load(None).expect_err("no socket address");
            let problems = &error.0.0;
            assert_eq!(problems[0].path, "grpc.listen", "{problems:?}");
            assert!(problems[0].message.contains("GONGKAI_GRPC__LISTEN"), "names the variable: {}", problems[0]);
            Ok(())
        });
    }

    #[test]
    fn a_read_replica_and_a_replication_factor_are_checked() {
        let mut config = Config::default();
        config.storage.url = "postgres://gongkai@db/gongkai".into();
        config.storage.read_url = "postgres://gongkai@replica/gongkai".into();
        config.log.replication_factor = 3;
        assert!(paths(&config, Purpose::Serve(&[Target::Site])).is_empty(), "a PostgreSQL replica is fine");
        config.log.replication_factor = -1;
        assert!(paths(&config, Purpose::Serve(&[Target::Site])).is_empty(), "-1: the cluster's default");
        config.log.replication_factor = 0;
        config.storage.read_url = "sqlite://replica.db".into();
        assert_eq!(paths(&config, Purpose::Serve(&[Target::Site])), ["storage.read_url", "log.replication_factor"]);
        config.log.replication_factor = 3;
        config.storage.url = "sqlite://data/gongkai.db".into();
        config.storage.read_url = "postgres://gongkai@replica/gongkai".into();
        assert_eq!(paths(&config, Purpose::Serve(&[Target::Site])), ["storage.read_url"], "no replica of SQLite");
    }

    #[test]
    fn every_problem_is_reported_not_only_the_first() {
        let mut config = Config::default();
        config.storage.url = "mysql://db/gongkai".into();
        config.log.url = "amqp://broker".to_owned();
        config.log.partitions = 0;
        config.grpc.listen = "0.0.0.0:50051".parse().expect("address");
        config.tlog.public_key = "no key".to_owned();
        config.tlog.witnesses = vec![TlogWitnessConfig { url: "https://w.example".to_owned(), key: "x".to_owned() }];
        let found = paths(&config, Purpose::Serve(&[Target::Tlog]));
        assert_eq!(
            found,
            [
                "storage.url",
                "log.url",
                "log.partitions",
                "grpc.listen",
                "tlog.public_key",
                "tlog.signing_key",
                "tlog.witnesses[0].url",
                "tlog.witnesses[0].key"
            ]
        );
    }

    #[test]
    fn a_storage_url_that_does_not_parse_is_refused_without_showing_it() {
        let mut config = Config::default();
        config.storage.url = "postgres://gongkai:hunter2@db:port/gongkai".into();
        let problems = config.check(Purpose::Serve(&[])).expect_err("no port");
        assert_eq!(problems.0[0].path, "storage.url");
        assert!(!problems.to_string().contains("hunter2"), "{problems}");
    }

    #[test]
    fn tls_files_named_must_exist_and_hold_pem() {
        let dir = tempfile::tempdir().expect("temp dir");
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
        let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        let mut config = Config::default();
        config.grpc.listen = "0.0.0.0:50051".parse().expect("address");
        config.grpc.tls = Some(super::super::TlsConfig { cert: cert.clone(), key: key.clone() });
        assert_eq!(paths(&config, Purpose::Serve(&[])), ["grpc.tls.cert", "grpc.tls.key"], "missing files");
        std::fs::write(&cert, certified.signing_key.serialize_pem()).expect("written");
        std::fs::write(&key, certified.cert.pem()).expect("written");
        assert_eq!(paths(&config, Purpose::Serve(&[])), ["grpc.tls.cert", "grpc.tls.key"], "swapped files");
        std::fs::write(&cert, certified.cert.pem()).expect("written");
        std::fs::write(&key, certified.signing_key.serialize_pem()).expect("written");
        assert_eq!(config.check(Purpose::Serve(&[])), Ok(()));
        let pem = config.grpc.tls_pem().expect("readable").expect("TLS");
        assert_eq!(pem.cert, certified.cert.pem().into_bytes());
    }

    #[test]
    fn listeners_of_one_process_must_not_share_a_port() {
        let mut config = Config::default();
        config.grpc.health_listen = Some("0.0.0.0:50051".parse().expect("address"));
        config.site.listen = "127.0.0.1:50051".parse().expect("address");
        assert_eq!(paths(&config, Purpose::Serve(&[])), ["grpc.health_listen"]);
        assert_eq!(paths(&config, Purpose::Serve(&[Target::Site])), ["grpc.health_listen", "site.listen"]);
        config.grpc.health_listen = Some("0.0.0.0:0".parse().expect("address"));
        config.site.listen = "127.0.0.1:0".parse().expect("address");
        assert_eq!(config.check(Purpose::Serve(&[Target::Site])), Ok(()), "port 0 picks a free port each");
    }

    #[test]
    fn keys_must_parse_and_be_of_their_kind() {
        let witness = Cosigner::from_seed("witness.example.org", &[9; 32]).expect("a cosigner");
        let mut config = Config::default();
        config.tlog.signing_key = log_signer().signer_key().into();
        config.tlog.public_key = log_signer().verifier().vkey();
        config.tlog.witnesses = vec![TlogWitnessConfig {
            url: "http://gongkai-witness:7380".to_owned(),
            key: log_signer().verifier().vkey(),
        }];
        assert_eq!(paths(&config, Purpose::Serve(&[Target::Tlog])), ["tlog.witnesses[0].key"], "a log's key");
        config.tlog.witnesses[0].key = witness.verifier().vkey();
        assert_eq!(config.check(Purpose::Serve(&[Target::Tlog])), Ok(()));
        let settings = config.tlog.settings().expect("valid").expect("signed");
        assert_eq!(settings.witnesses.len(), 1);
        config.tlog.signing_key = witness.signer_key().into();
        assert_eq!(paths(&config, Purpose::Serve(&[Target::Tlog])), ["tlog.signing_key"], "a witness's key");
    }

    #[test]
    fn the_witness_needs_its_key_and_a_log() {
        let mut config = Config::default();
        assert_eq!(paths(&config, Purpose::Witness), ["witness.signing_key", "witness.logs"]);
        let witness = Cosigner::from_seed("witness.example.org", &[9; 32]).expect("a cosigner");
        config.witness.signing_key = witness.signer_key().into();
        config.witness.logs = vec![witness.verifier().vkey(), "nonsense".to_owned()];
        assert_eq!(paths(&config, Purpose::Witness), ["witness.logs[0]", "witness.logs[1]"]);
        config.witness.logs = vec![log_signer().verifier().vkey()];
        assert_eq!(config.check(Purpose::Witness).map(drop), Ok(()));
        assert_eq!(config.check(Purpose::Serve(&[])), Ok(()), "serving checks no witness settings");
    }

    #[test]
    fn credentials_that_cannot_be_used_are_refused() {
        let mut config = Config::default();
        config.auth.credentials = vec![gongkai_grpc::auth::CredentialConfig {
            id: "hrb-ggzy".to_owned(),
            token_sha256: "abc".to_owned(),
            role: gongkai_grpc::auth::Role::Submitter,
            regions: vec!["2301".to_owned()],
        }];
        assert_eq!(paths(&config, Purpose::Serve(&[])), ["auth.credentials"]);
    }
}
