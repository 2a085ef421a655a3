//! The seeded PRNG every case is drawn with, and the protobuf wire format:
//! varints, and a message parsed into fields and encoded back, enough to
//! mutate any message field by field without knowing its type.

// ---------------------------------------------------------------------------
// A seeded PRNG (SplitMix64): no dependency, the same cases everywhere.

#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    /// The generator of case `index`: independent of every other case.
    pub(super) fn for_case(seed: u64, index: usize) -> Self {
        let mut rng = Self(seed ^ (index as u64).wrapping_mul(0xd605_bbb5_8c8a_bd35));
        rng.next_u64();
        rng
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`, `n > 0`.
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub(super) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

// ---------------------------------------------------------------------------
// The protobuf wire format, enough to mutate any message field by field
// without knowing its type.

#[derive(Debug, Clone)]
pub(super) enum Value {
    Varint(u64),
    Fixed64(u64),
    Len(Vec<u8>),
    Fixed32(u32),
}

#[derive(Debug, Clone)]
pub(super) struct Field {
    pub(super) number: u64,
    pub(super) value: Value,
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The fields of `bytes`, when it is a well-formed message (no groups).
pub(super) fn parse(bytes: &[u8]) -> Option<Vec<Field>> {
    let mut at = 0;
    let mut fields = Vec::new();
    while at < bytes.len() {
        let key = read_varint(bytes, &mut at)?;
        let number = key >> 3;
        if number == 0 || number > 536_870_911 {
            return None;
        }
        let value = match key & 7 {
            0 => Value::Varint(read_varint(bytes, &mut at)?),
            1 => {
                let raw = bytes.get(at..at + 8)?;
                at += 8;
                Value::Fixed64(u64::from_le_bytes(raw.try_into().ok()?))
            }
            2 => {
                let len = usize::try_from(read_varint(bytes, &mut at)?).ok()?;
                let end = at.checked_add(len)?;
                let payload = bytes.get(at..end)?.to_vec();
                at = end;
                Value::Len(payload)
            }
            5 => {
                let raw = bytes.get(at..at + 4)?;
                at += 4;
                Value::Fixed32(u32::from_le_bytes(raw.try_into().ok()?))
            }
            _ => return None,
        };
        fields.push(Field { number, value });
    }
    Some(fields)
}

pub(super) fn encode(fields: &[Field]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in fields {
        let wire = match field.value {
            Value::Varint(_) => 0,
            Value::Fixed64(_) => 1,
            Value::Len(_) => 2,
            Value::Fixed32(_) => 5,
        };
        write_varint(&mut out, field.number << 3 | wire);
        match &field.value {
            Value::Varint(value) => write_varint(&mut out, *value),
            Value::Fixed64(value) => out.extend_from_slice(&value.to_le_bytes()),
            Value::Fixed32(value) => out.extend_from_slice(&value.to_le_bytes()),
            Value::Len(payload) => {
                write_varint(&mut out, payload.len() as u64);
                out.extend_from_slice(payload);
            }
        }
    }
    out
}

/// Whether a length-delimited payload is rather a submessage than text.
pub(super) fn looks_like_message(payload: &[u8]) -> bool {
    let text = std::str::from_utf8(payload).is_ok_and(|s| !s.chars().any(char::is_control));
    !text && parse(payload).is_some_and(|fields| !fields.is_empty())
}

/// `message` with its field 1 (every ingestion request's `request_id`) set to `id`.
pub(super) fn with_request_id(message: &[u8], id: &str) -> Vec<u8> {
    let Some(mut fields) = parse(message) else { return message.to_vec() };
    fields.retain(|field| field.number != 1);
    fields.insert(0, Field { number: 1, value: Value::Len(id.as_bytes().to_vec()) });
    encode(&fields)
}
