//! How `full_timeline` keeps an entry: only what the supervisors' rendering
//! adds to, or changes in, the public one of the same event.
//!
//! The two renderings of an event share nearly everything (titles,
//! summaries, amounts, the hash-covered `public_event`); they differ in the
//! parts the disclosure policy withholds (reveals, flags, restricted
//! fields, personal data). Keeping both whole doubled the bytes of every
//! event the projector writes, so the full row keeps a delta against the
//! public row, read back joined to it. The site's database role still reads
//! only the public tables: nothing public is derived from the full side.
//!
//! The delta works on the wire format, with no schema: it lists the full
//! entry's fields in their order, each either "as in the public entry" or
//! with its own encoded records. It is wrapped as a record of field 1000,
//! which `TimelineEntry` reserves, so a stored delta never reads as an entry
//! and a row written whole (before this format, or when the delta would not
//! give the same bytes back) stays readable as it is.

use crate::StoreError;

/// The tag of the wrapping record: field 1000, length-delimited.
const DELTA_TAG: u64 = (1000 << 3) | 2;

/// The form `full_timeline.entry` keeps of the encoded full entry `full`,
/// given the encoded public entry `public` of the same event: a delta when
/// it is shorter and gives `full` back byte for byte, else `full` whole.
pub fn stored_full_entry(public: &[u8], full: &[u8]) -> Vec<u8> {
    delta(public, full).unwrap_or_else(|| full.to_vec())
}

/// The delta of `full` against `public`, when it is worth keeping.
fn delta(public: &[u8], full: &[u8]) -> Option<Vec<u8>> {
    let public = Fields::of(public)?;
    let mut ops = Vec::with_capacity(64);
    let mut seen = Vec::new();
    for run in runs(full)? {
        // A field in two runs would come back as one: keep it whole.
        if seen.contains(&run.field) {
            return None;
        }
        seen.push(run.field);
        if public.records(run.field).eq(std::iter::once(run.bytes)) {
            put_varint(&mut ops, run.field << 1);
        } else {
            put_varint(&mut ops, (run.field << 1) | 1);
            put_varint(&mut ops, run.bytes.len() as u64);
            ops.extend_from_slice(run.bytes);
        }
    }
    if apply(&public, &ops)? != full {
        return None;
    }
    let mut stored = Vec::with_capacity(ops.len() + 8);
    put_varint(&mut stored, DELTA_TAG);
    put_varint(&mut stored, ops.len() as u64);
    stored.extend_from_slice(&ops);
    Some(stored).filter(|stored| stored.len() < full.len())
}

/// The encoded full entry from its stored form and the public entry of the
/// same event (`None` when there is none).
pub(crate) fn full_entry(public: Option<&[u8]>, stored: &[u8]) -> Result<Vec<u8>, StoreError> {
    let corrupt = || StoreError::Corrupt("a full timeline entry's delta is malformed".to_owned());
    let mut at = 0;
    if varint(stored, &mut at) != Some(DELTA_TAG) {
        return Ok(stored.to_vec());
    }
    let len = varint(stored, &mut at).ok_or_else(corrupt)?;
    if usize::try_from(len).ok() != stored.len().checked_sub(at) {
        return Err(corrupt());
    }
    let public =
        public.ok_or_else(|| StoreError::Corrupt("a full timeline entry lacks its public entry".to_owned()))?;
    let public =
        Fields::of(public).ok_or_else(|| StoreError::Corrupt("a public timeline entry is malformed".to_owned()))?;
    apply(&public, &stored[at..]).ok_or_else(corrupt)
}

/// What the delta operations `ops` make of the public entry's `public`
/// fields; `None` if `ops` are malformed.
fn apply(public: &Fields<'_>, ops: &[u8]) -> Option<Vec<u8>> {
    let mut full = Vec::with_capacity(public.bytes.len() + ops.len());
    let mut at = 0;
    while at < ops.len() {
        let op = varint(ops, &mut at)?;
        let field = op >> 1;
        if op & 1 == 0 {
            for records in public.records(field) {
                full.extend_from_slice(records);
            }
        } else {
            let len = usize::try_from(varint(ops, &mut at)?).ok()?;
            let end = at.checked_add(len).filter(|&end| end <= ops.len())?;
            full.extend_from_slice(&ops[at..end]);
            at = end;
        }
    }
    Some(full)
}

/// One field's consecutive records in an encoded message.
struct Run<'a> {
    field: u64,
    bytes: &'a [u8],
}

/// The runs of an encoded message, in order; `None` if it is malformed.
fn runs(message: &[u8]) -> Option<Vec<Run<'_>>> {
    let mut runs: Vec<Run<'_>> = Vec::new();
    let (mut at, mut start) = (0, 0);
    while at < message.len() {
        let field = record(message, &mut at)?;
        match runs.last_mut() {
            Some(run) if run.field == field => run.bytes = &message[start - run.bytes.len()..at],
            _ => runs.push(Run { field, bytes: &message[start..at] }),
        }
        start = at;
    }
    Some(runs)
}

/// An encoded message's runs, to look up by field.
struct Fields<'a> {
    bytes: &'a [u8],
    runs: Vec<Run<'a>>,
}

impl<'a> Fields<'a> {
    fn of(bytes: &'a [u8]) -> Option<Self> {
        Some(Fields { bytes, runs: runs(bytes)? })
    }

    /// The runs of `field`, in order.
    fn records(&self, field: u64) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.runs.iter().filter(move |run| run.field == field).map(|run| run.bytes)
    }
}

/// Skips one record at `at`, returning its field number; `None` if the
/// bytes there are not a whole record.
fn record(message: &[u8], at: &mut usize) -> Option<u64> {
    let key = varint(message, at)?;
    let skip = match key & 7 {
        0 => {
            varint(message, at)?;
            0
        }
        1 => 8,
        2 => usize::try_from(varint(message, at)?).ok()?,
        5 => 4,
        _ => return None,
    };
    *at = at.checked_add(skip).filter(|&end| end <= message.len())?;
    (key >> 3 != 0).then_some(key >> 3)
}

/// Reads a varint at `at`.
fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use gongkai_proto::v1::{ComplianceFlag, Person, TimelineEntry};
    use prost::Message;

    use super::*;

    fn entry() -> TimelineEntry {
        TimelineEntry {
            event_id: "0190-e".into(),
            project_seq: 7,
            title_zh: "发布招标公告".into(),
            summary_zh: "施工一标段，投标截止 2026-01-05。".repeat(8),
            summary_en: "Lot 1 works; bids close 2026-01-05.".repeat(8),
            lot_codes: vec!["L1".into(), "L2".into()],
            public_event: vec![7; 600],
            ..TimelineEntry::default()
        }
    }

    #[test]
    fn a_full_entry_that_adds_to_the_public_one_is_kept_as_what_it_adds() {
        let public = TimelineEntry { details_withheld: true, ..entry() };
        let full = TimelineEntry {
            people: vec![Person { name: "张三".into(), id_number: "110101".into(), ..Person::default() }],
            flags: vec![ComplianceFlag { rule: "GK-1".into(), ..ComplianceFlag::default() }],
            restricted_fields: vec!["people".into()],
            ..entry()
        };
        let (public, full) = (public.encode_to_vec(), full.encode_to_vec());
        let stored = stored_full_entry(&public, &full);
        assert!(stored.len() * 4 < full.len(), "{} of {} bytes kept", stored.len(), full.len());
        assert_eq!(full_entry(Some(&public), &stored).expect("reads"), full);
        // Never an entry by itself: prost skips the reserved field.
        assert_eq!(TimelineEntry::decode(stored.as_slice()).expect("decodes"), TimelineEntry::default());
    }

    #[test]
    fn an_entry_kept_whole_reads_as_it_is() {
        let full = entry().encode_to_vec();
        assert_eq!(full_entry(None, &full).expect("reads"), full);
        // No public entry to lean on: kept whole.
        assert_eq!(stored_full_entry(&[], &full), full);
        assert_eq!(stored_full_entry(&[0xff], &full), full);
    }

    #[test]
    fn a_malformed_delta_is_an_error() {
        let public = entry().encode_to_vec();
        let stored = stored_full_entry(&public, &TimelineEntry { flags: vec![], ..entry() }.encode_to_vec());
        assert!(full_entry(None, &stored).is_err());
        assert!(full_entry(Some(&public), &stored[..stored.len() - 1]).is_err());
        assert!(full_entry(Some(&public), &[0xc2, 0x3e, 2, 3, 200]).is_err());
    }

    mod property {
        use proptest::prelude::*;

        use super::*;

        fn entries() -> impl Strategy<Value = TimelineEntry> {
            (
                any::<u64>(),
                ".{0,12}",
                proptest::collection::vec(".{0,6}", 0..4),
                any::<bool>(),
                proptest::collection::vec(any::<u8>(), 0..40),
                proptest::collection::vec(".{0,6}", 0..3),
            )
                .prop_map(|(seq, title, lots, withheld, public_event, restricted)| TimelineEntry {
                    project_seq: seq,
                    title_zh: title,
                    lot_codes: lots,
                    details_withheld: withheld,
                    public_event,
                    restricted_fields: restricted,
                    ..TimelineEntry::default()
                })
        }

        proptest! {
            #[test]
            fn the_full_entry_comes_back_byte_for_byte(public in entries(), full in entries()) {
                let (public, full) = (public.encode_to_vec(), full.encode_to_vec());
                let stored = stored_full_entry(&public, &full);
                prop_assert_eq!(full_entry(Some(&public), &stored).expect("reads"), full);
            }

            #[test]
            fn any_bytes_read_as_an_error_or_an_entry_never_a_panic(
                public in proptest::collection::vec(any::<u8>(), 0..64),
                stored in proptest::collection::vec(any::<u8>(), 0..64),
            ) {
                let _ = full_entry(Some(&public), &stored);
                let mut tagged = vec![0xc2, 0x3e, stored.len() as u8];
                tagged.extend_from_slice(&stored);
                let _ = full_entry(Some(&public), &tagged);
                let _ = stored_full_entry(&public, &stored);
            }
        }
    }
}
