//! What a correction changed: a generic field-by-field diff of two facts.
//!
//! Both facts are encoded with prost and walked on the wire, guided by the
//! contract's own descriptor set (`gongkai_proto::FILE_DESCRIPTOR_SET`), into
//! leaves `path → text`, e.g. `lots[0].ceiling_price_fen → 20000000000`.
//! The diff is the leaves whose text differs, in field-number order of the
//! earlier fact, then the leaves only the later fact has. This needs no
//! per-kind code, so a field added to the contract is diffed the day it is
//! added. Rendering of leaves:
//!
//! - integers as integers (fen amounts stay fen), booleans `true`/`false`,
//!   strings as they are, bytes as hex;
//! - enums by value name (`PROCUREMENT_METHOD_OPEN`);
//! - `google.protobuf.Timestamp` as RFC 3339 in Beijing time,
//!   `gongkai.v1.CalendarDate` as `YYYY-MM-DD` (one leaf each);
//! - an unset field as the empty string.
//!
//! Lists are compared by index: removing the first of three lots shows as
//! changes of every later index. Simple, and never wrong about what the two
//! records say.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::DateTime;
use gongkai_domain::clock::beijing;
use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{Fact, FieldChange};
use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};

/// The changes from `before` to `after`, paths relative to the fact
/// (`lots[0].name`, not `tender_announced.lots[0].name`).
pub(crate) fn changes(before: &Kind, after: &Kind) -> Vec<FieldChange> {
    let old = leaves(before);
    let new = leaves(after);
    let new_map: BTreeMap<&str, &str> = new.iter().map(|(p, v)| (p.as_str(), v.as_str())).collect();
    let old_map: BTreeMap<&str, &str> = old.iter().map(|(p, v)| (p.as_str(), v.as_str())).collect();
    let mut out = Vec::new();
    for (path, value) in &old {
        let after = new_map.get(path.as_str()).copied().unwrap_or("");
        if after != value {
            out.push(FieldChange { path: path.clone(), before: value.clone(), after: after.to_owned() });
        }
    }
    for (path, value) in &new {
        if !old_map.contains_key(path.as_str()) {
            out.push(FieldChange { path: path.clone(), before: String::new(), after: value.clone() });
        }
    }
    out
}

/// The leaves of a fact, paths without the oneof member's name (two facts of
/// different kinds, which the bus never accepts, are compared by field name).
fn leaves(kind: &Kind) -> Vec<(String, String)> {
    let fact = Fact { kind: Some(kind.clone()) };
    let mut out = Vec::new();
    match pool() {
        Some(pool) => pool.walk(".gongkai.v1.Fact", &fact.encode_to_vec(), "", &mut out),
        None => out.push((String::new(), format!("{kind:?}"))),
    }
    let prefix = out.first().and_then(|(path, _)| path.split(['.', '[']).next()).map(str::to_owned);
    if let Some(prefix) = prefix.filter(|p| !p.is_empty())
        && out.iter().all(|(path, _)| path.starts_with(&prefix))
    {
        for (path, _) in &mut out {
            *path = path[prefix.len()..].trim_start_matches('.').to_owned();
        }
    }
    out
}

/// Message and enum descriptors of the contract, by full name (".pkg.Name").
struct Pool {
    messages: BTreeMap<String, DescriptorProto>,
    enums: BTreeMap<String, BTreeMap<i32, String>>,
}

fn pool() -> Option<&'static Pool> {
    static POOL: OnceLock<Option<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let set = FileDescriptorSet::decode(gongkai_proto::FILE_DESCRIPTOR_SET).ok()?;
        let mut pool = Pool { messages: BTreeMap::new(), enums: BTreeMap::new() };
        for file in &set.file {
            let scope = format!(".{}", file.package());
            for message in &file.message_type {
                pool.add_message(&scope, message);
            }
            for e in &file.enum_type {
                pool.add_enum(&scope, e);
            }
        }
        Some(pool)
    })
    .as_ref()
}

impl Pool {
    fn add_message(&mut self, scope: &str, message: &DescriptorProto) {
        let name = format!("{scope}.{}", message.name());
        for nested in &message.nested_type {
            self.add_message(&name, nested);
        }
        for e in &message.enum_type {
            self.add_enum(&name, e);
        }
        self.messages.insert(name, message.clone());
    }

    fn add_enum(&mut self, scope: &str, e: &prost_types::EnumDescriptorProto) {
        let values = e.value.iter().map(|v| (v.number(), v.name().to_owned())).collect();
        self.enums.insert(format!("{scope}.{}", e.name()), values);
    }

    /// Appends the leaves of message `type_name` encoded in `bytes`.
    fn walk(&self, type_name: &str, bytes: &[u8], prefix: &str, out: &mut Vec<(String, String)>) {
        let Some(message) = self.messages.get(type_name) else {
            out.push((prefix.to_owned(), hex(bytes)));
            return;
        };
        let mut values: BTreeMap<i32, Vec<Wire<'_>>> = BTreeMap::new();
        let mut cursor = bytes;
        while !cursor.is_empty() {
            match read_field(&mut cursor) {
                Some((number, value)) => values.entry(number).or_default().push(value),
                None => break,
            }
        }
        let mut fields: Vec<_> = message.field.iter().collect();
        fields.sort_by_key(|field| field.number());
        for field in fields {
            let Some(raw) = values.get(&field.number()) else { continue };
            let path = if prefix.is_empty() { field.name().to_owned() } else { format!("{prefix}.{}", field.name()) };
            let repeated = field.label() == Label::Repeated;
            let mut items = Vec::new();
            for value in raw {
                match (value, field.r#type()) {
                    // Packed repeated scalars: many varints in one length-delimited value.
                    (Wire::Bytes(packed), ty) if is_varint(ty) => {
                        let mut cursor = *packed;
                        while let Some(v) = read_varint(&mut cursor) {
                            items.push(Wire::Varint(v));
                        }
                    }
                    (Wire::Bytes(packed), Type::Fixed64 | Type::Sfixed64 | Type::Double) => {
                        items.extend(packed.chunks_exact(8).map(|c| Wire::Fixed64(le64(c))));
                    }
                    (Wire::Bytes(packed), Type::Fixed32 | Type::Sfixed32 | Type::Float) => {
                        items.extend(packed.chunks_exact(4).map(|c| Wire::Fixed32(le32(c))));
                    }
                    (other, _) => items.push(*other),
                }
            }
            if !repeated {
                // Last one wins for a singular field (merging of messages is not needed: prost writes one).
                items.drain(..items.len().saturating_sub(1));
            }
            for (i, item) in items.iter().enumerate() {
                let path = if repeated { format!("{path}[{i}]") } else { path.clone() };
                self.leaf(field, *item, path, out);
            }
        }
    }

    fn leaf(
        &self,
        field: &prost_types::FieldDescriptorProto,
        value: Wire<'_>,
        path: String,
        out: &mut Vec<(String, String)>,
    ) {
        let text = match (field.r#type(), value) {
            (Type::Message | Type::Group, Wire::Bytes(bytes)) => match field.type_name() {
                ".google.protobuf.Timestamp" => timestamp(bytes),
                ".gongkai.v1.CalendarDate" => calendar_date(bytes),
                name => return self.walk(name, bytes, &path, out),
            },
            (Type::String, Wire::Bytes(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
            (Type::Bytes, Wire::Bytes(bytes)) => hex(bytes),
            (Type::Bool, Wire::Varint(v)) => (v != 0).to_string(),
            (Type::Enum, Wire::Varint(v)) => {
                let number = v as i32;
                self.enums
                    .get(field.type_name())
                    .and_then(|values| values.get(&number))
                    .cloned()
                    .unwrap_or_else(|| number.to_string())
            }
            (Type::Int32, Wire::Varint(v)) => (v as i32).to_string(),
            (Type::Int64, Wire::Varint(v)) => (v as i64).to_string(),
            (Type::Uint32 | Type::Uint64, Wire::Varint(v)) => v.to_string(),
            (Type::Sint32 | Type::Sint64, Wire::Varint(v)) => zigzag(v).to_string(),
            (Type::Fixed64, Wire::Fixed64(v)) => v.to_string(),
            (Type::Sfixed64, Wire::Fixed64(v)) => (v as i64).to_string(),
            (Type::Double, Wire::Fixed64(v)) => f64::from_bits(v).to_string(),
            (Type::Fixed32, Wire::Fixed32(v)) => v.to_string(),
            (Type::Sfixed32, Wire::Fixed32(v)) => (v as i32).to_string(),
            (Type::Float, Wire::Fixed32(v)) => f32::from_bits(v).to_string(),
            (_, Wire::Varint(v)) => v.to_string(),
            (_, Wire::Fixed64(v)) => v.to_string(),
            (_, Wire::Fixed32(v)) => v.to_string(),
            (_, Wire::Bytes(bytes)) => hex(bytes),
        };
        out.push((path, text));
    }
}

/// One value on the wire.
#[derive(Debug, Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

fn is_varint(ty: Type) -> bool {
    matches!(
        ty,
        Type::Int32 | Type::Int64 | Type::Uint32 | Type::Uint64 | Type::Sint32 | Type::Sint64 | Type::Bool | Type::Enum
    )
}

fn read_varint(cursor: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = cursor.split_first()?;
        *cursor = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn read_field<'a>(cursor: &mut &'a [u8]) -> Option<(i32, Wire<'a>)> {
    let key = read_varint(cursor)?;
    let number = i32::try_from(key >> 3).ok()?;
    let value = match key & 7 {
        0 => Wire::Varint(read_varint(cursor)?),
        1 => {
            let (bytes, rest) = cursor.split_at_checked(8)?;
            *cursor = rest;
            Wire::Fixed64(le64(bytes))
        }
        2 => {
            let len = usize::try_from(read_varint(cursor)?).ok()?;
            let (bytes, rest) = cursor.split_at_checked(len)?;
            *cursor = rest;
            Wire::Bytes(bytes)
        }
        5 => {
            let (bytes, rest) = cursor.split_at_checked(4)?;
            *cursor = rest;
            Wire::Fixed32(le32(bytes))
        }
        _ => return None,
    };
    Some((number, value))
}

fn le64(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(buf)
}

fn le32(bytes: &[u8]) -> u32 {
    let mut buf = [0u8; 4];
    buf.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(buf)
}

fn zigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn timestamp(bytes: &[u8]) -> String {
    match prost_types::Timestamp::decode(bytes) {
        Ok(ts) => instant(&ts),
        Err(_) => hex(bytes),
    }
}

/// An instant as a diff shows it: RFC 3339 in Beijing time.
pub(crate) fn instant(ts: &prost_types::Timestamp) -> String {
    match DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).unwrap_or(0)) {
        Some(utc) => utc.with_timezone(&beijing()).to_rfc3339(),
        None => format!("{}s", ts.seconds),
    }
}

fn calendar_date(bytes: &[u8]) -> String {
    match gongkai_proto::v1::CalendarDate::decode(bytes) {
        Ok(d) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        Err(_) => hex(bytes),
    }
}

#[cfg(test)]
mod tests {
    use gongkai_proto::v1::{DateRange, Lot, TenderAnnounced};

    use super::*;

    fn tender(ceiling: Option<i64>, name: &str) -> Kind {
        Kind::TenderAnnounced(TenderAnnounced {
            tender_code: "T1".into(),
            name: name.into(),
            method: 1,
            lots: vec![Lot {
                lot_code: "A1".into(),
                name: "一标段".into(),
                ceiling_price_fen: ceiling,
                planned_contract_period: Some(DateRange { start: None, end: Some(date(2026, 6, 30)) }),
                ..Default::default()
            }],
            bid_deadline: Some(prost_types::Timestamp { seconds: 1_709_254_800, nanos: 0 }),
            ..Default::default()
        })
    }

    fn date(year: i32, month: i32, day: i32) -> gongkai_proto::v1::CalendarDate {
        gongkai_proto::v1::CalendarDate { year, month, day }
    }

    #[test]
    fn a_diff_names_each_changed_leaf() {
        let changes = changes(&tender(Some(100), "旧"), &tender(Some(90), "新"));
        let got: Vec<(&str, &str, &str)> =
            changes.iter().map(|c| (c.path.as_str(), c.before.as_str(), c.after.as_str())).collect();
        assert_eq!(got, vec![("name", "旧", "新"), ("lots[0].ceiling_price_fen", "100", "90")]);
    }

    #[test]
    fn leaves_render_enums_times_dates_and_unset_fields() {
        let leaves = leaves(&tender(None, "x"));
        let map: BTreeMap<_, _> = leaves.into_iter().collect();
        assert_eq!(map["method"], "PROCUREMENT_METHOD_OPEN");
        assert_eq!(map["bid_deadline"], "2024-03-01T09:00:00+08:00");
        assert_eq!(map["lots[0].planned_contract_period.end"], "2026-06-30");
        assert!(!map.contains_key("lots[0].ceiling_price_fen"));
        let changes = changes(&tender(None, "x"), &tender(Some(5), "x"));
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].before.as_str(), changes[0].after.as_str()), ("", "5"));
    }
}
