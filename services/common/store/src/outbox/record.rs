//! An outbox row as the relay publishes it: the stored envelope with its
//! position set, and the attributes that go into the message headers, read
//! without decoding the event's body.

use prost::Message as _;

use crate::StoreError;
use crate::db::to_u64;
use crate::events::decode_envelope;

/// An outbox row that is not yet published, with its event as the relay
/// publishes it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    /// Global position of the event (and of the outbox row).
    pub position: u64,
    /// The Kafka topic recorded with the event, e.g. `gongkai.tenders.v1`.
    pub topic: String,
    /// The project code: the envelope's `subject`, the Kafka key.
    pub project_code: String,
    /// The protobuf `EventEnvelope` as stored, with `position` filled in:
    /// the message value, taken over without decoding its body.
    pub envelope: Vec<u8>,
    /// The envelope's `event_id`: CloudEvents `id`.
    pub event_id: String,
    /// The envelope's `type`: CloudEvents `type`.
    pub event_type: String,
    /// The envelope's `source`: CloudEvents `source`.
    pub source: String,
    /// The envelope's `occurred_at`: CloudEvents `time`.
    pub occurred_at: Option<prost_types::Timestamp>,
    /// W3C trace context of the span that appended the event, when the
    /// submission was traced; the relay continues that trace.
    pub traceparent: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(super) struct UnpublishedRow {
    position: i64,
    topic: String,
    envelope: Vec<u8>,
    traceparent: Option<String>,
}

impl UnpublishedRow {
    pub(super) fn record(self) -> Result<OutboxRecord, StoreError> {
        let position = to_u64(self.position)?;
        let corrupt =
            |error: prost::DecodeError| StoreError::Corrupt(format!("envelope at position {position}: {error}"));
        let attributes = EnvelopeAttributes::decode(self.envelope.as_slice()).map_err(corrupt)?;
        let envelope = match with_position(&self.envelope, position) {
            Some(envelope) => envelope,
            // Not laid out as stored envelopes are: decode and encode it whole.
            None => decode_envelope(self.position, &self.envelope)?.encode_to_vec(),
        };
        Ok(OutboxRecord {
            position,
            topic: self.topic,
            project_code: attributes.subject,
            envelope,
            event_id: attributes.event_id,
            event_type: attributes.r#type,
            source: attributes.source,
            occurred_at: attributes.occurred_at,
            traceparent: self.traceparent,
        })
    }
}

/// The fields of a `gongkai.v1.EventEnvelope` that the relay puts in the
/// message headers, with the envelope's field numbers; decoding a stored
/// envelope into it skips the rest (the body above all) without building it.
#[derive(Clone, PartialEq, prost::Message)]
struct EnvelopeAttributes {
    #[prost(string, tag = "1")]
    event_id: String,
    #[prost(string, tag = "2")]
    r#type: String,
    #[prost(string, tag = "3")]
    source: String,
    #[prost(string, tag = "4")]
    subject: String,
    #[prost(message, optional, tag = "7")]
    occurred_at: Option<prost_types::Timestamp>,
}

/// The field number of `EventEnvelope.position`.
const POSITION_FIELD: usize = 6;

/// `stored`, an envelope encoded with `position` cleared (as events are
/// stored), with `position` set, without decoding it: the field goes before
/// the first top-level field numbered above it, which is where encoding the
/// whole envelope puts it. `None` when the bytes are not a plain sequence of
/// fields below, at and above that place (a group, a `position` already
/// there, a truncated field). Keys, varints and lengths are all base-128
/// varints, which prost's length delimiter functions read and write.
fn with_position(stored: &[u8], position: u64) -> Option<Vec<u8>> {
    let varint = |rest: &mut &[u8]| prost::decode_length_delimiter(rest).ok();
    let mut rest = stored;
    let mut insert = None;
    while !rest.is_empty() {
        let start = stored.len() - rest.len();
        let key = varint(&mut rest)?;
        let field = key >> 3;
        let skip = match key & 7 {
            0 => varint(&mut rest).map(|_| 0)?,
            1 => 8,
            2 => varint(&mut rest)?,
            5 => 4,
            _ => return None,
        };
        rest = rest.get(skip..)?;
        if field == POSITION_FIELD {
            return None;
        }
        if field > POSITION_FIELD && insert.is_none() {
            insert = Some(start);
        }
    }
    let insert = insert.unwrap_or(stored.len());
    let mut envelope = Vec::with_capacity(stored.len() + 11);
    envelope.extend_from_slice(&stored[..insert]);
    if position != 0 {
        let put = |value: usize, out: &mut Vec<u8>| prost::encode_length_delimiter(value, out).ok();
        put(POSITION_FIELD << 3, &mut envelope)?;
        put(usize::try_from(position).ok()?, &mut envelope)?;
    }
    envelope.extend_from_slice(&stored[insert..]);
    Some(envelope)
}

#[cfg(test)]
mod tests {
    use gongkai_proto::v1::EventEnvelope;

    use super::*;

    fn envelope() -> EventEnvelope {
        use gongkai_proto::v1::{ComplianceFlag, Fact, ProjectApproved, event_envelope, fact};
        EventEnvelope {
            event_id: "0190a0d6-0000-7000-8000-000000000001".into(),
            r#type: "gongkai.v1.ProjectApproved".into(),
            source: "center-harbin".into(),
            subject: "2017-230113-48-01-012345".into(),
            project_seq: 3,
            occurred_at: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 500 }),
            recorded_at: Some(prost_types::Timestamp { seconds: 1_700_000_100, nanos: 0 }),
            request_id: "r-3".into(),
            prev_hash: "ab".repeat(32),
            hash: "cd".repeat(32),
            flags: vec![ComplianceFlag { rule: "GK-1".into(), explanation: "说明".into(), ..Default::default() }],
            domain: 1,
            commitment_seed: Vec::new(),
            body: Some(event_envelope::Body::Fact(Fact {
                kind: Some(fact::Kind::ProjectApproved(ProjectApproved {
                    project_name: "哈尔滨市某某道路工程".into(),
                    total_investment_fen: 10_000_000_000,
                    ..Default::default()
                })),
            })),
            ..Default::default()
        }
    }

    #[test]
    fn a_stored_envelope_is_published_as_encoded_with_its_position() {
        let mut whole = envelope();
        let stored = whole.encode_to_vec();
        for position in [1, 127, 128, 300_000, u64::from(u32::MAX) + 1] {
            whole.position = position;
            assert_eq!(with_position(&stored, position), Some(whole.encode_to_vec()), "position {position}");
        }
        // Only the fields before `position`, or none at all.
        let head = EventEnvelope { event_id: "e".into(), project_seq: 1, ..Default::default() };
        let expected = EventEnvelope { position: 9, ..head.clone() }.encode_to_vec();
        assert_eq!(with_position(&head.encode_to_vec(), 9), Some(expected));
        assert_eq!(with_position(&[], 9), Some(EventEnvelope { position: 9, ..Default::default() }.encode_to_vec()));
        // A position already there, a truncated field, a group: not taken over.
        assert_eq!(with_position(&EventEnvelope { position: 2, ..head }.encode_to_vec(), 9), None);
        assert_eq!(with_position(&stored[..stored.len() - 1], 9), None);
        assert_eq!(with_position(&[0x0b, 0x0c], 9), None);
    }

    #[test]
    fn the_attributes_are_the_envelope_s() {
        let whole = envelope();
        let attributes = EnvelopeAttributes::decode(whole.encode_to_vec().as_slice()).unwrap();
        assert_eq!(
            (attributes.event_id, attributes.r#type, attributes.source, attributes.subject, attributes.occurred_at),
            (whole.event_id, whole.r#type, whole.source, whole.subject, whole.occurred_at)
        );
    }
}
