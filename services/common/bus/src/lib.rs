//! The event log that carries accepted facts from the store to the projector.
//!
//! The transport is chosen by URL: `kafka://host:port[,host:port…]` for Apache
//! Kafka, which the relay fills from the outbox (one topic per domain), or
//! `embedded` (the default, `gongkai dev`): no log of its own, the event
//! store itself read in position order.
//!
//! Over either, the projector reads through one interface ([`log`]): a
//! [`LogReader`] follows the log (next batch, commit) and a [`LogReplay`]
//! reads it from its beginning for a rebuild. Topic names are the domain's
//! (`gongkai_domain::kinds::topic`, part of the public contract) behind a
//! deployment's prefix: [`topics`].

pub mod kafka;
pub mod log;

use std::fmt;
use std::time::Duration;

use gongkai_domain::kinds::{DOMAINS, topic};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

pub use log::{Batch, KafkaSource, LogReader, LogReplay, LogSource};

/// The default log: the event store itself, no server needed.
pub const DEFAULT_LOG_URL: &str = "embedded";

/// The five domain topics under `prefix` (empty in production; tests and
/// shared clusters isolate with it), in `DOMAINS` order: the names the relay
/// publishes to and the projector reads.
pub fn topics(prefix: &str) -> Vec<String> {
    DOMAINS.iter().map(|domain| format!("{prefix}{}", topic(*domain))).collect()
}

/// An error and its causes, `: `-separated, for a log field.
pub fn report(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        // Some errors (librdkafka's) repeat their cause in their own text.
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Failures of the log layer.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The URL is neither `embedded` nor `kafka://…`.
    #[error("log URL `{0}` is not supported (use `embedded` or kafka://host:port)")]
    UnsupportedUrl(String),
    /// A `kafka://` URL without any broker address.
    #[error("log URL `{0}` names no broker")]
    NoBrokers(String),
    /// librdkafka refused the client configuration or the request.
    #[error("Kafka client error")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// A blocking Kafka call could not be run.
    #[error("Kafka call was interrupted")]
    Join(#[from] tokio::task::JoinError),
    /// The event store, the `embedded` log, could not be read.
    #[error("event store failed")]
    Store(#[from] gongkai_store::StoreError),
}

/// Where events travel between components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogUrl {
    /// The embedded default: the event store itself.
    Embedded,
    /// An Apache Kafka cluster, by its bootstrap servers.
    Kafka(KafkaConfig),
}

impl LogUrl {
    /// Parses `embedded`, `embedded://` or `kafka://host:port[,host:port…]`.
    pub fn parse(url: &str) -> Result<Self, BusError> {
        if url == "embedded" || url == "embedded://" {
            return Ok(LogUrl::Embedded);
        }
        let Some(servers) = url.strip_prefix("kafka://") else {
            return Err(BusError::UnsupportedUrl(url.to_owned()));
        };
        let servers = servers.trim_end_matches('/');
        let brokers: Vec<String> =
            servers.split(',').map(str::trim).filter(|b| !b.is_empty()).map(str::to_owned).collect();
        if brokers.is_empty() {
            return Err(BusError::NoBrokers(url.to_owned()));
        }
        Ok(LogUrl::Kafka(KafkaConfig { bootstrap_servers: brokers.join(",") }))
    }
}

impl fmt::Display for LogUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogUrl::Embedded => f.write_str("embedded"),
            LogUrl::Kafka(kafka) => write!(f, "kafka://{}", kafka.bootstrap_servers),
        }
    }
}

/// Connection settings for Apache Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
}

impl KafkaConfig {
    /// The client settings every gongkai Kafka client starts from.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers).set("client.id", "gongkai");
        config
    }

    /// Asks the cluster for its metadata: the readiness check for Kafka (an
    /// open port is not enough). Returns the number of brokers that answered.
    pub async fn probe(&self, timeout: Duration) -> Result<usize, BusError> {
        let config = self.client_config();
        let brokers = tokio::task::spawn_blocking(move || -> Result<usize, BusError> {
            let consumer: BaseConsumer = config.create()?;
            let metadata = consumer.fetch_metadata(None, timeout)?;
            Ok(metadata.brokers().len())
        })
        .await??;
        Ok(brokers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_embedded_and_kafka_urls() {
        assert_eq!(LogUrl::parse("embedded").unwrap(), LogUrl::Embedded);
        assert_eq!(
            LogUrl::parse("kafka://10.0.0.1:9092, 10.0.0.2:9092/").unwrap(),
            LogUrl::Kafka(KafkaConfig { bootstrap_servers: "10.0.0.1:9092,10.0.0.2:9092".into() })
        );
    }

    #[test]
    fn refuses_other_urls() {
        assert!(matches!(LogUrl::parse("nats://x:4222"), Err(BusError::UnsupportedUrl(_))));
        assert!(matches!(LogUrl::parse("kafka://"), Err(BusError::NoBrokers(_))));
    }

    #[test]
    fn topics_carry_the_prefix() {
        assert_eq!(topics("")[1], "gongkai.tenders.v1");
        let prefixed = topics("test-x.");
        assert_eq!(prefixed.len(), 5);
        assert!(prefixed.iter().all(|topic| topic.starts_with("test-x.gongkai.")));
    }

    #[test]
    fn display_round_trips() {
        let url = "kafka://127.0.0.1:19092";
        assert_eq!(LogUrl::parse(url).unwrap().to_string(), url);
    }
}
