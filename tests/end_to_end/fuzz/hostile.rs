//! Hostile values and the mutations that use them: extreme integers, control
//! characters, invalid UTF-8, odd Unicode and odd text; random well-formed
//! fields; a message mutated field by field, or byte by byte.

use std::fmt::Write as _;

use super::wire::{Field, Rng, Value, encode, looks_like_message, parse};

/// Values a varint field is set to: the ends of every integer type, the
/// ends of the calendar (years 0 and 9999, the first and last second of
/// 0001..9999 as Unix seconds), and small edge values.
const VARINTS: &[u64] = &[
    0,
    1,
    2,
    12,
    13,
    31,
    32,
    59,
    60,
    127,
    128,
    366,
    9_999,
    10_000,
    10_001,
    65_536,
    999_999_999,
    1_000_000_000,
    i32::MAX as u64,
    i32::MAX as u64 + 1,
    u32::MAX as u64,
    1 << 32,
    i64::MAX as u64,
    i64::MIN as u64,
    u64::MAX,
    u64::MAX - 1,
    i32::MIN as i64 as u64,
    (i32::MIN as i64 - 1) as u64,
    253_402_300_799,
    253_402_300_800,
    -62_135_596_800_i64 as u64,
    -62_135_596_801_i64 as u64,
    -377_705_116_800_i64 as u64,
    8_210_298_412_800,
];

fn interesting_varint(rng: &mut Rng, original: u64) -> u64 {
    match rng.below(10) {
        0 => original.wrapping_add(1),
        1 => original.wrapping_sub(1),
        2 => (original as i64).wrapping_neg() as u64,
        3 => rng.next_u64() >> rng.below(64),
        _ => *rng.pick(VARINTS),
    }
}

const CONTROLS: &[char] =
    &['\0', '\u{1}', '\u{8}', '\t', '\n', '\r', '\u{1b}', '\u{1f}', '\u{7f}', '\u{80}', '\u{85}', '\u{9b}', '\u{9f}'];
const INVALID_UTF8: &[&[u8]] =
    &[&[0xff], &[0xfe, 0xff], &[0xc0, 0x80], &[0xed, 0xa0, 0x80], &[0xe5, 0x8c], &[0xf4, 0x90, 0x80, 0x80], &[0x80]];
const ODD_UNICODE: &[&str] = &[
    "\u{202e}",
    "\u{200b}",
    "\u{feff}",
    "\u{fffd}",
    "\u{10ffff}",
    "\u{e000}",
    "\u{301}",
    "\u{1f600}",
    "\u{3000}",
    "\u{ff10}",
];
const ODD_TEXT: &[&str] = &[
    "-1",
    "-0",
    "+1",
    " 1",
    "1e309",
    "NaN",
    "inf",
    "9223372036854775808",
    "-9223372036854775809",
    "0x7f",
    "１２３",
    "99.999999999999999999999",
    ".",
    "2024-230113-77-01-000001",
    "2024-230113-77-01-00000１",
    "9999-999999-99-99-999999",
    "0000-000000-00-00-000000",
    "%",
    "_",
    "'",
    "' OR '1'='1",
    "\"; DROP TABLE events; --",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "\\",
    "2301%",
    "23__",
    " ",
    "\u{3000}",
];

/// A hostile replacement for a string or bytes payload, and its label.
fn hostile_payload(rng: &mut Rng, original: &[u8], budget: usize) -> (Vec<u8>, String) {
    // `piece` inserted into `original`: at a character boundary when it is
    // text (so that only the piece can make it invalid), else anywhere.
    let insert = |rng: &mut Rng, piece: &[u8]| {
        let at = match std::str::from_utf8(original) {
            Ok(text) => {
                let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
                *rng.pick(&boundaries)
            }
            Err(_) => rng.below(original.len() + 1),
        };
        let mut bytes = original.to_vec();
        bytes.splice(at..at, piece.iter().copied());
        bytes
    };
    match rng.below(11) {
        0 => (Vec::new(), "empty".into()),
        1 | 2 => {
            let c = *rng.pick(CONTROLS);
            (insert(rng, c.to_string().as_bytes()), format!("U+{:04X} inserted", c as u32))
        }
        3 => {
            let bad = *rng.pick(INVALID_UTF8);
            (insert(rng, bad), format!("invalid UTF-8 {bad:02x?} inserted"))
        }
        4 => {
            let len = (*rng.pick(&[1024usize, 65_536, 1 << 20, 3 << 20])).min(budget);
            let unit = if original.is_empty() { "中".as_bytes() } else { original };
            let copies = (len / unit.len()).max(1);
            (unit.repeat(copies), format!("{copies} copies ({} bytes)", copies * unit.len()))
        }
        5 => {
            let odd = *rng.pick(ODD_UNICODE);
            (insert(rng, odd.as_bytes()), format!("{odd:?} inserted"))
        }
        6 => {
            let odd = *rng.pick(ODD_TEXT);
            (odd.as_bytes().to_vec(), format!("{odd:?}"))
        }
        7 => {
            let len = rng.below(65);
            (rng.bytes(len), format!("{len} random bytes"))
        }
        8 if !original.is_empty() => {
            let cut = rng.below(original.len());
            (original[..cut].to_vec(), format!("cut at byte {cut}"))
        }
        9 => {
            let len = 1 + rng.below(512);
            let s: String = (0..len).filter_map(|_| char::from_u32(rng.next_u64() as u32 % 0x11_0000)).collect();
            (s.into_bytes(), format!("{len} random chars"))
        }
        _ => (random_fields(rng, 1), "random fields".into()),
    }
}

/// Random but well-formed fields: numbers mostly those the messages use.
pub(super) fn random_fields(rng: &mut Rng, depth: usize) -> Vec<u8> {
    let count = rng.below(12);
    let mut fields = Vec::new();
    for _ in 0..count {
        let number = if rng.chance(85) { 1 + rng.below(24) as u64 } else { 1 + rng.next_u64() % 536_870_911 };
        let value = match rng.below(if depth < 3 { 6 } else { 5 }) {
            0 | 1 => Value::Varint(interesting_varint(rng, 0)),
            2 | 3 => Value::Len(hostile_payload(rng, "道路改造".as_bytes(), 4096).0),
            4 if rng.chance(50) => Value::Fixed64(rng.next_u64()),
            4 => Value::Fixed32(rng.next_u64() as u32),
            _ => Value::Len(random_fields(rng, depth + 1)),
        };
        fields.push(Field { number, value });
    }
    encode(&fields)
}

/// Mutates one field of the message `bytes` (descending into submessages),
/// noting in `trail` the field path (numbers) and what it did; at most
/// `budget` bytes are added.
pub(super) fn mutate_message(rng: &mut Rng, bytes: &[u8], budget: usize, trail: &mut String) -> Vec<u8> {
    let Some(mut fields) = parse(bytes) else {
        let (payload, label) = hostile_payload(rng, bytes, budget);
        let _ = write!(trail, "={label}");
        return payload;
    };
    if fields.is_empty() || rng.chance(6) {
        let extra = parse(&random_fields(rng, 1)).unwrap_or_default();
        let _ = write!(trail, "+{} random field(s)", extra.len());
        let at = rng.below(fields.len() + 1);
        fields.splice(at..at, extra);
        return encode(&fields);
    }
    let i = rng.below(fields.len());
    let number = fields[i].number;
    let _ = write!(trail, "{number}");
    let roll = rng.below(100);
    if roll < 7 {
        fields.retain(|field| field.number != number);
        trail.push_str(" removed");
    } else if roll < 13 {
        let one = encode(std::slice::from_ref(&fields[i])).len();
        let n = (*rng.pick(&[1usize, 2, 16, 255, 4096, 100_000, usize::MAX])).min(budget / one);
        let copies = vec![fields[i].clone(); n];
        fields.splice(i..i, copies);
        let _ = write!(trail, " ×{}", n + 1);
    } else if roll < 16 && fields.len() > 1 {
        let j = rng.below(fields.len());
        fields.swap(i, j);
        let _ = write!(trail, " swapped with #{j}");
    } else {
        match &mut fields[i].value {
            Value::Varint(value) => {
                *value = interesting_varint(rng, *value);
                let _ = write!(trail, "={}", *value as i64);
            }
            Value::Fixed64(value) => {
                *value = interesting_varint(rng, *value);
                let _ = write!(trail, "=f64 {:#x}", *value);
            }
            Value::Fixed32(value) => {
                *value = interesting_varint(rng, u64::from(*value)) as u32;
                let _ = write!(trail, "=f32 {:#x}", *value);
            }
            Value::Len(payload) => {
                if looks_like_message(payload) && rng.chance(75) {
                    trail.push('.');
                    let mutated = mutate_message(rng, payload, budget.saturating_sub(16), trail);
                    *payload = mutated;
                } else {
                    let (mutated, label) = hostile_payload(rng, payload, budget);
                    *payload = mutated;
                    let _ = write!(trail, "={label}");
                }
            }
        }
    }
    encode(&fields)
}

/// Flips, overwrites, inserts, deletes and repeats bytes.
pub(super) fn mutate_bytes(rng: &mut Rng, bytes: &[u8]) -> (Vec<u8>, String) {
    let mut out = bytes.to_vec();
    let mut trail = String::new();
    for _ in 0..1 + rng.below(6) {
        let len = out.len();
        let at = rng.below(len + 1);
        let n = 1 + rng.below(16);
        match rng.below(6) {
            0 if at < len => {
                let bit = rng.below(8);
                out[at] ^= 1 << bit;
                let _ = write!(trail, "flip {at}.{bit} ");
            }
            1 if at < len => {
                let random = rng.next_u64() as u8;
                let byte = *rng.pick(&[0x00, 0x01, 0x7f, 0x80, 0xff, random]);
                out[at] = byte;
                let _ = write!(trail, "set {at}={byte:#04x} ");
            }
            2 if at < len => {
                let end = (at + n).min(len);
                out.drain(at..end);
                let _ = write!(trail, "delete {at}..{end} ");
            }
            3 if at < len => {
                let end = (at + n).min(len);
                let copy = out[at..end].to_vec();
                out.splice(at..at, copy);
                let _ = write!(trail, "repeat {at}..{end} ");
            }
            _ => {
                let inserted = rng.bytes(n);
                out.splice(at..at, inserted);
                let _ = write!(trail, "insert {n} at {at} ");
            }
        }
    }
    (out, trail.trim_end().to_owned())
}
