//! What the relay publishes of an outbox row: its Kafka message, with
//! CloudEvents headers, and the `relay.publish` span of a traced event.

use chrono::{DateTime, SecondsFormat};
use gongkai_bus::kafka::EventMessage;
use gongkai_store::OutboxRecord;

use crate::Relay;

impl Relay {
    /// The Kafka message of an outbox row, with `traceparent` as its trace
    /// context header.
    pub(crate) fn message(&self, record: OutboxRecord, traceparent: Option<String>) -> EventMessage {
        let time = record.occurred_at.as_ref().and_then(|time| {
            let nanos = u32::try_from(time.nanos).ok()?;
            DateTime::from_timestamp(time.seconds, nanos).map(|time| time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        });
        let topic = if self.config.topic_prefix.is_empty() {
            record.topic
        } else {
            format!("{}{}", self.config.topic_prefix, record.topic)
        };
        EventMessage {
            topic,
            subject: record.project_code.clone(),
            key: record.project_code,
            payload: record.envelope,
            id: record.event_id,
            event_type: record.event_type,
            source: record.source,
            time,
            traceparent,
        }
    }
}

/// The `relay.publish` span of one traced event, a child of the append that
/// wrote it (`appended`), and the `traceparent` that names it; `None` when
/// nothing is exported.
pub(crate) fn publish_span(record: &OutboxRecord, appended: &str) -> Option<(tracing::Span, String)> {
    if !gongkai_telemetry::exporting() {
        return None;
    }
    let span = tracing::info_span!(
        parent: None,
        "relay.publish",
        otel.kind = "producer",
        otel.status_code = tracing::field::Empty,
        messaging.system = "kafka",
        messaging.destination.name = record.topic.as_str(),
        project = record.project_code.as_str(),
        position = record.position,
    );
    gongkai_telemetry::propagation::continue_trace(&span, appended);
    let traceparent = gongkai_telemetry::propagation::traceparent(&span)?;
    Some((span, traceparent))
}
