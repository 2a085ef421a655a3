//! Formats of single values: text, identifiers with their check characters,
//! instants and calendar dates. Each check returns the first problem found,
//! in Chinese, so that a field gets exactly one violation.

use chrono::NaiveDate;
use gongkai_proto::v1::CalendarDate;
use prost_types::Timestamp;

/// The first problem of a value, or none.
pub(super) type Outcome = Result<(), String>;

/// Names, titles, document numbers, places, subjects.
pub(super) const NAME_MAX: usize = 256;
/// Reasons, summaries, descriptions, answers, details.
pub(super) const TEXT_MAX: usize = 8000;
/// Document URLs.
pub(super) const URL_MAX: usize = 2048;
/// Tender, lot, contract and milestone codes; variation and payment numbers.
pub(super) const CODE_MAX: usize = 64;
/// The submitter's idempotency key.
pub(super) const REQUEST_ID_MAX: usize = 128;
/// Entries of a repeated field.
pub(super) const LIST_MAX: usize = 1000;
/// Documents of one fact.
pub(super) const DOCUMENTS_MAX: usize = 100;

/// 1990-01-01T00:00:00Z, the earliest instant a fact may carry.
const EARLIEST_SECONDS: i64 = 631_152_000;
/// 2101-01-01T00:00:00Z, the first instant after the last year a fact may carry.
const END_SECONDS: i64 = 4_133_980_800;

/// The first and last years of a calendar date (the window of instants).
const EARLIEST_YEAR: i32 = 1990;
const LAST_YEAR: i32 = 2100;

const EMPTY: &str = "不能为空";

fn at_most(value: &str, max: usize) -> Outcome {
    if value.chars().count() > max { Err(format!("超过 {max} 个字符")) } else { Ok(()) }
}

/// Whether `c` may appear in text: anything but the C0 and C1 control
/// characters (tab, LF and CR excepted), DEL, and the noncharacters U+FFFE
/// and U+FFFF. What is left is valid in XML 1.0, JSON and HTML, so no feed
/// or page built from a fact can be broken by one character of it.
pub fn is_text_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || !(c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}')
}

/// Whether `text` holds only characters text may hold ([`is_text_char`]).
/// The renderer asks it of every string of every entry it draws, so it first
/// looks, many bytes at a time and without a branch per byte, for the bytes
/// a refused character begins with in UTF-8: one below 0x20 or 0x7F (C0
/// controls, DEL), 0xC2 then 0x80–0x9F (C1 controls), 0xEF then 0xBF (U+FFC0
/// to U+FFFF, which holds U+FFFE and U+FFFF). Text without any, nearly all of
/// it, is allowed as it is; the rest is judged character by character.
pub fn is_text(text: &str) -> bool {
    let bytes = text.as_bytes();
    let single = bytes.iter().fold(false, |suspect, &byte| suspect | (byte < 0x20) | (byte == 0x7F));
    let pairs = bytes.windows(2).fold(false, |suspect, pair| {
        suspect | ((pair[0] == 0xC2) & (pair[1] < 0xA0)) | ((pair[0] == 0xEF) & (pair[1] == 0xBF))
    });
    !(single | pairs) || text.chars().all(is_text_char)
}

/// Text made only of allowed characters (see [`is_text_char`]).
fn text_chars(value: &str) -> Outcome {
    match value.chars().find(|c| !is_text_char(*c)) {
        Some(c) => Err(format!("不能包含控制字符（U+{:04X}）", u32::from(c))),
        None => Ok(()),
    }
}

/// Whether `c` shows nothing: whitespace, or an invisible format character
/// (zero-width space and joiners, word joiner, BOM, Mongolian vowel separator).
fn is_blank(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}')
}

/// Required text: allowed characters only, something visible left after
/// trimming whitespace and invisible characters, at most `max` characters.
pub(super) fn required_text(value: &str, max: usize) -> Outcome {
    text_chars(value)?;
    if value.chars().all(is_blank) {
        return Err(EMPTY.into());
    }
    at_most(value, max)
}

/// Optional text: allowed characters only, at most `max` characters.
pub(super) fn optional_text(value: &str, max: usize) -> Outcome {
    text_chars(value)?;
    at_most(value, max)
}

/// A code or number chosen by the trading center (tender, lot, contract,
/// milestone, variation, payment): 1..64 characters, no leading or trailing
/// whitespace, no control characters.
pub(super) fn code(value: &str) -> Outcome {
    if value.trim().is_empty() {
        return Err(EMPTY.into());
    }
    if value.trim() != value {
        return Err("首尾不能有空白字符".into());
    }
    if value.chars().any(|c| c.is_control() || !is_text_char(c)) {
        return Err("不能包含控制字符".into());
    }
    at_most(value, CODE_MAX)
}

/// The idempotency key: 1..128 printable ASCII characters.
pub(super) fn request_id(value: &str) -> Outcome {
    if value.trim().is_empty() {
        return Err(EMPTY.into());
    }
    if !value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err("只能包含可打印的 ASCII 字符".into());
    }
    at_most(value, REQUEST_ID_MAX)
}

/// An event id: a UUIDv7 in canonical lowercase 8-4-4-4-12 form.
pub(super) fn event_id(value: &str) -> Outcome {
    let canonical = value.len() == 36
        && value.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        });
    if !canonical {
        return Err("应为规范小写形式的 UUID（8-4-4-4-12 位十六进制）".into());
    }
    let bytes = value.as_bytes();
    if bytes[14] != b'7' || !matches!(bytes[19], b'8' | b'9' | b'a' | b'b') {
        return Err("应为 UUIDv7 事件编号".into());
    }
    Ok(())
}

/// The characters of a unified social credit code, in the order of their
/// values (GB 32100-2015): digits and capital letters without I, O, S, V, Z.
const CREDIT_CODE_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A unified social credit code (统一社会信用代码, GB 32100-2015): 18
/// characters from `0-9A-HJ-NPQRTUWXY`; the last is the check character
/// `31 - (Σ value(cᵢ)·3ⁱ mod 31)` over the first 17 (31 becoming 0).
pub(super) fn credit_code(value: &str) -> Outcome {
    if value.chars().count() != 18 {
        return Err("统一社会信用代码应为 18 位".into());
    }
    let mut values = [0_u32; 18];
    for (slot, c) in values.iter_mut().zip(value.chars()) {
        let position = CREDIT_CODE_CHARS.iter().position(|&allowed| char::from(allowed) == c);
        *slot = match position {
            Some(position) => position as u32,
            None => return Err(format!("含有不允许的字符“{c}”（仅限数字及除 I、O、S、V、Z 外的大写字母）")),
        };
    }
    let (sum, _) = values[..17].iter().fold((0, 1), |(sum, weight), v| ((sum + v * weight) % 31, weight * 3 % 31));
    if values[17] != (31 - sum) % 31 {
        return Err("统一社会信用代码校验码错误".into());
    }
    Ok(())
}

/// A resident identity card number (GB 11643-1999): 17 digits (address code,
/// birth date, sequence) and an ISO 7064 MOD 11-2 check character (0-9 or X).
/// The address code is not matched against GB/T 2260: residence permits of
/// Taiwan residents (83xxxx) and foreigners' permanent residence cards (9xxxxx)
/// share the format.
fn resident_id(value: &str) -> Outcome {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECKS: &[u8; 11] = b"10X98765432";
    let number = |range: std::ops::Range<usize>| value[range].parse::<u32>().unwrap_or(0);
    let year = i32::try_from(number(6..10)).unwrap_or(0);
    if NaiveDate::from_ymd_opt(year, number(10..12), number(12..14)).is_none() {
        return Err("居民身份证号码的出生日期无效".into());
    }
    let sum: u32 = value.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    if value.as_bytes()[17] != CHECKS[(sum % 11) as usize] {
        return Err("居民身份证号码校验码错误".into());
    }
    Ok(())
}

/// `Person.id_number`: an 18-character resident identity card number with a
/// verified check character, or a passport number (5..12 capital letters and
/// digits; also fits the mainland travel permits of Hong Kong, Macao and Taiwan
/// residents). A string of 15 to 18 digits is taken for a mistyped ID number.
pub(super) fn id_number(value: &str) -> Outcome {
    let looks_like_resident_id = value.len() == 18 && value.bytes().take(17).all(|b| b.is_ascii_digit());
    if looks_like_resident_id {
        return match value.as_bytes()[17] {
            b'0'..=b'9' | b'X' => resident_id(value),
            b'x' => Err("居民身份证号码校验码 X 应为大写".into()),
            _ => Err("居民身份证号码最后一位应为数字或 X".into()),
        };
    }
    if value.bytes().all(|b| b.is_ascii_digit()) && (15..=18).contains(&value.len()) {
        return Err("居民身份证号码应为 18 位".into());
    }
    let passport =
        (5..=12).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !passport {
        return Err("应为 18 位居民身份证号码或护照号码".into());
    }
    Ok(())
}

/// A phone number: 7..20 characters of digits and `-`, optionally led by `+`.
pub(super) fn phone(value: &str) -> Outcome {
    let allowed = value.char_indices().all(|(i, c)| c.is_ascii_digit() || c == '-' || (c == '+' && i == 0));
    if !allowed {
        return Err("只能包含数字、“-”和开头的“+”".into());
    }
    if !(7..=20).contains(&value.len()) {
        return Err("电话号码应为 7 至 20 个字符".into());
    }
    Ok(())
}

/// A document URL: absolute `http://` or `https://` with a host, no
/// whitespace, at most 2048 characters.
pub(super) fn url(value: &str) -> Outcome {
    if value.trim().is_empty() {
        return Err(EMPTY.into());
    }
    at_most(value, URL_MAX)?;
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    let scheme_len = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return Err("应为以 http:// 或 https:// 开头的绝对地址".into());
    };
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("不能包含空白或控制字符".into());
    }
    let host = value[scheme_len..].split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err("缺少主机名".into());
    }
    Ok(())
}

/// A SHA-256 in lowercase hex: exactly 64 characters.
pub(super) fn sha256(value: &str) -> Outcome {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err("应为 64 位小写十六进制 SHA-256".into())
    }
}

/// A decimal string such as "92.35" (evaluation scores).
pub(super) fn decimal(value: &str) -> Outcome {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if value.len() > 32 || !digits(whole) || !digits(fraction) {
        return Err("应为十进制数字符串，例如 92.35".into());
    }
    Ok(())
}

/// A coordinate in decimal degrees with up to 7 fractional digits, within
/// `-limit..=limit`. Compared in units of 10⁻⁷ degree, never as a float.
pub(super) fn degrees(value: &str, limit: i64) -> Outcome {
    let format = || "应为十进制度数字符串（最多 7 位小数）".to_owned();
    let magnitude = value.strip_prefix('-').unwrap_or(value);
    let (whole, fraction) = magnitude.split_once('.').unwrap_or((magnitude, ""));
    let digits = |part: &str, max: usize| part.len() <= max && part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole, 3) || !digits(fraction, 7) || (magnitude.contains('.') && fraction.is_empty())
    {
        return Err(format());
    }
    let scaled = |part: &str| part.parse::<i64>().unwrap_or(0);
    let tenth_micro = scaled(whole) * 10_000_000 + scaled(&format!("{fraction:0<7}"));
    if tenth_micro > limit * 10_000_000 {
        return Err(format!("应在 -{limit} 至 {limit} 之间"));
    }
    Ok(())
}

/// An instant inside the supported range: nanos 0..1e9, year 1990..=2100.
pub(super) fn instant(value: &Timestamp) -> Outcome {
    if !(0..1_000_000_000).contains(&value.nanos) {
        return Err("纳秒部分应在 0 至 999999999 之间".into());
    }
    if !(EARLIEST_SECONDS..END_SECONDS).contains(&value.seconds) {
        return Err("时间应在 1990 年至 2100 年之间".into());
    }
    Ok(())
}

/// A calendar date: year 1990..=2100 (the window of instants, so that no
/// date can turn into an overrun of centuries), a valid month and day.
pub(super) fn calendar_date(value: &CalendarDate) -> Result<NaiveDate, String> {
    if !(EARLIEST_YEAR..=LAST_YEAR).contains(&value.year) {
        return Err(format!("年份应在 {EARLIEST_YEAR} 至 {LAST_YEAR} 之间"));
    }
    if !(1..=12).contains(&value.month) {
        return Err("月份应在 1 至 12 之间".into());
    }
    u32::try_from(value.day)
        .ok()
        .and_then(|day| NaiveDate::from_ymd_opt(value.year, value.month.unsigned_abs(), day))
        .ok_or_else(|| format!("{}-{:02}-{:02} 不是有效的日期", value.year, value.month, value.day))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn text_is_judged_as_its_characters_are() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(is_text(&c.to_string()), is_text_char(c), "U+{:04X}", u32::from(c));
            assert_eq!(is_text(&format!("a{c}（）")), is_text_char(c), "U+{:04X} among others", u32::from(c));
        }
        assert!(is_text("\t第一标段，投标截止：2026年\r\n"));
        assert!(!is_text("第一\u{85}标段"));
        assert!(!is_text("第一标段\u{FFFF}"));
    }

    #[test]
    fn credit_codes_carry_a_check_character() {
        assert_eq!(credit_code("91350100M000100Y43"), Ok(()));
        assert_eq!(credit_code("91350100M000100Y44"), Err("统一社会信用代码校验码错误".into()));
        for bad in ["91350100M000100Y4", "91350100M000100Y433", "91350100I000100Y43", "91350100m000100Y43", ""] {
            assert!(credit_code(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn resident_ids_carry_a_check_character() {
        for good in ["11010519491231002X", "440524188001010014", "E12345678", "P1234567"] {
            assert_eq!(id_number(good), Ok(()), "{good}");
        }
        let cases = [
            ("110105194912310021", "居民身份证号码校验码错误"),
            ("11010519491231002x", "居民身份证号码校验码 X 应为大写"),
            ("110105194913310020", "居民身份证号码的出生日期无效"),
            ("110105194902300020", "居民身份证号码的出生日期无效"),
            ("11010519491231002", "居民身份证号码应为 18 位"),
            ("e1234567", "应为 18 位居民身份证号码或护照号码"),
            ("1101051949123100ZX", "应为 18 位居民身份证号码或护照号码"),
        ];
        for (value, expected) in cases {
            assert_eq!(id_number(value), Err(expected.into()), "{value}");
        }
    }

    #[test]
    fn event_ids_are_canonical_uuid_v7() {
        assert_eq!(event_id("01890a5d-ac96-774b-bcce-b302099a8057"), Ok(()));
        for bad in [
            "01890A5D-AC96-774B-BCCE-B302099A8057",
            "01890a5dac96774bbcceb302099a8057",
            "01890a5d-ac96-474b-bcce-b302099a8057",
            "01890a5d-ac96-774b-0cce-b302099a8057",
            "",
        ] {
            assert!(event_id(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn codes_refuse_padding_control_characters_and_length() {
        assert_eq!(code("HEB-2024-001"), Ok(()));
        assert_eq!(code(&"标".repeat(64)), Ok(()));
        for (value, expected) in [
            ("", "不能为空"),
            ("  ", "不能为空"),
            (" A1", "首尾不能有空白字符"),
            ("A\u{7}1", "不能包含控制字符"),
            (&"标".repeat(65), "超过 64 个字符"),
        ] {
            assert_eq!(code(value), Err(expected.into()), "{value:?}");
        }
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        assert_eq!(required_text(&"公".repeat(256), NAME_MAX), Ok(()));
        assert_eq!(required_text(&"公".repeat(257), NAME_MAX), Err("超过 256 个字符".into()));
        assert_eq!(required_text(" \n\t", NAME_MAX), Err("不能为空".into()));
        assert_eq!(optional_text("", NAME_MAX), Ok(()));
    }

    #[test]
    fn request_ids_are_printable_ascii() {
        assert_eq!(request_id("req-1 retry"), Ok(()));
        assert_eq!(request_id(&"a".repeat(128)), Ok(()));
        assert!(request_id(&"a".repeat(129)).is_err());
        assert!(request_id("请求").is_err());
        assert!(request_id("a\tb").is_err());
        assert!(request_id("").is_err());
    }

    #[test]
    fn urls_phones_hashes_and_decimals() {
        for good in ["https://ggzy.harbin.gov.cn/a.pdf", "HTTP://example.cn?x=1"] {
            assert_eq!(url(good), Ok(()), "{good}");
        }
        for bad in ["ftp://example.cn/a", "https://", "https:///a", "https://exa mple.cn", "/a.pdf"] {
            assert!(url(bad).is_err(), "{bad} must be refused");
        }
        assert!(url(&format!("https://example.cn/{}", "a".repeat(2048))).is_err());
        for good in ["0451-86000000", "+8613800000000", "1234567"] {
            assert_eq!(phone(good), Ok(()), "{good}");
        }
        for bad in ["123456", "138 0000 0000", "86+138000000", "123456789012345678901"] {
            assert!(phone(bad).is_err(), "{bad} must be refused");
        }
        assert_eq!(sha256(&"ab".repeat(32)), Ok(()));
        assert!(sha256(&"AB".repeat(32)).is_err());
        assert!(sha256(&"ab".repeat(31)).is_err());
        for good in ["92.35", "100", "0.5"] {
            assert_eq!(decimal(good), Ok(()), "{good}");
        }
        for bad in ["", "92.", ".5", "-1", "九十"] {
            assert!(decimal(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn coordinates_are_bounded_decimal_strings() {
        for (value, limit) in [("45.3830120", 90), ("-90", 90), ("90.0000000", 90), ("-179.9999999", 180)] {
            assert_eq!(degrees(value, limit), Ok(()), "{value}");
        }
        for (value, limit) in
            [("90.0000001", 90), ("181", 180), ("45.38301201", 90), ("45.", 90), ("", 90), ("1e5", 90)]
        {
            assert!(degrees(value, limit).is_err(), "{value} must be refused");
        }
    }

    #[test]
    fn instant_bounds_are_the_years_1990_to_2100() {
        let seconds = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap().timestamp();
        assert_eq!(EARLIEST_SECONDS, seconds(1990, 1, 1));
        assert_eq!(END_SECONDS, seconds(2101, 1, 1));
        let at = |seconds, nanos| instant(&Timestamp { seconds, nanos });
        assert_eq!(at(EARLIEST_SECONDS, 0), Ok(()));
        assert_eq!(at(END_SECONDS - 1, 999_999_999), Ok(()));
        assert!(at(EARLIEST_SECONDS - 1, 0).is_err());
        assert!(at(END_SECONDS, 0).is_err());
        assert!(at(EARLIEST_SECONDS, -1).is_err());
        assert!(at(EARLIEST_SECONDS, 1_000_000_000).is_err());
    }

    #[test]
    fn calendar_dates_must_exist() {
        let date = |year, month, day| calendar_date(&CalendarDate { year, month, day });
        assert!(date(2024, 2, 29).is_ok());
        assert_eq!(date(2023, 2, 29), Err("2023-02-29 不是有效的日期".into()));
        assert!(date(2024, 13, 1).is_err());
        assert!(date(2024, 1, -1).is_err());
        assert!(date(1899, 12, 31).is_err());
    }
}
