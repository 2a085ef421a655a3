//! Money: its bound and its words. Amounts are integer fen everywhere; these
//! are the one way they are written out, on pages and in timeline texts alike.
//!
//! Every amount and every total gongkai keeps lies within ±[`AMOUNT_MAX_FEN`]:
//! validation refuses a larger field or change, `decide` refuses a fact whose
//! effect would carry a total past it, and [`checked_sum`] is how totals are
//! taken. With every operand that small, no sum of the at most 1,000 entries
//! of a list, and no difference of two totals, can come near `i64::MAX`, so
//! nothing downstream needs to saturate or wrap to stay in range.

/// The largest amount, change or total, in fen: 10^15 fen is 10 万亿元
/// (CNY 10 trillion), above the whole annual fixed-asset investment of any
/// province and some fifty times the largest single project China has built,
/// yet a thousand such amounts still sum far inside `i64`.
pub const AMOUNT_MAX_FEN: i64 = 1_000_000_000_000_000;

/// Whether `fen` lies within ±[`AMOUNT_MAX_FEN`].
pub fn within_bound(fen: i64) -> bool {
    (-AMOUNT_MAX_FEN..=AMOUNT_MAX_FEN).contains(&fen)
}

/// The sum of `amounts`, or `None` when it (or any step of it) leaves
/// ±[`AMOUNT_MAX_FEN`].
pub fn checked_sum(amounts: impl IntoIterator<Item = i64>) -> Option<i64> {
    amounts.into_iter().try_fold(0_i64, |total, fen| total.checked_add(fen).filter(|sum| within_bound(*sum)))
}

/// `part` as basis points of `whole` (1000 = 10 %), rounded toward zero;
/// `None` when `whole` <= 0.
pub fn share_bp(part: i64, whole: i64) -> Option<i64> {
    if whole <= 0 {
        return None;
    }
    let bp = i128::from(part) * 10_000 / i128::from(whole);
    Some(i64::try_from(bp).unwrap_or(if bp < 0 { i64::MIN } else { i64::MAX }))
}

/// Digits with thousands separators: 1234567 → "1,234,567".
fn group(value: u128) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// An amount scaled to `unit` fen, rounded to two decimals: `1_800_000_000`
/// fen at `10_000_000_000` (亿元) is "0.18".
fn scaled(abs_fen: u64, unit: u64) -> String {
    let hundredths = (u128::from(abs_fen) * 100 + u128::from(unit) / 2) / u128::from(unit);
    format!("{}.{:02}", group(hundredths / 100), hundredths % 100)
}

fn sign(fen: i64) -> &'static str {
    if fen < 0 { "-" } else { "" }
}

/// In Chinese: "1.80亿元", "350.00万元", "12.50元".
pub fn zh(fen: i64) -> String {
    let abs = fen.unsigned_abs();
    let (unit, name) = if abs >= 10_000_000_000 {
        (10_000_000_000, "亿元")
    } else if abs >= 1_000_000 {
        (1_000_000, "万元")
    } else {
        (100, "元")
    };
    format!("{}{}{name}", sign(fen), scaled(abs, unit))
}

/// In English: "CNY 1.80 billion", "CNY 3.50 million", "CNY 12.50".
pub fn en(fen: i64) -> String {
    let abs = fen.unsigned_abs();
    let (unit, name) = if abs >= 100_000_000_000 {
        (100_000_000_000, " billion")
    } else if abs >= 100_000_000 {
        (100_000_000, " million")
    } else {
        (100, "")
    };
    format!("{}CNY {}{name}", sign(fen), scaled(abs, unit))
}

/// Exact, to the fen: "¥270,000,000.00".
pub fn exact(fen: i64) -> String {
    let abs = fen.unsigned_abs();
    format!("{}¥{}.{:02}", sign(fen), group(u128::from(abs / 100)), abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_naturally_in_both_languages() {
        assert_eq!(zh(27_000_000_000), "2.70亿元");
        assert_eq!(zh(350_000_000), "350.00万元");
        assert_eq!(zh(1_250), "12.50元");
        assert_eq!(en(180_000_000_000), "CNY 1.80 billion");
        assert_eq!(en(-350_000_000), "-CNY 3.50 million");
        assert_eq!(exact(27_000_000_000), "¥270,000,000.00");
        assert_eq!(exact(-5), "-¥0.05");
    }

    #[test]
    fn extreme_amounts_are_written_without_overflow() {
        assert_eq!(exact(i64::MIN), "-¥92,233,720,368,547,758.08");
        assert_eq!(zh(i64::MIN), "-922,337,203.69亿元");
        assert_eq!(en(i64::MAX), "CNY 92,233,720.37 billion");
    }

    #[test]
    fn totals_stay_within_the_bound_or_are_refused() {
        assert_eq!(checked_sum([AMOUNT_MAX_FEN, -1, 1]), Some(AMOUNT_MAX_FEN));
        assert_eq!(checked_sum([AMOUNT_MAX_FEN, 1]), None);
        assert_eq!(checked_sum([i64::MAX, i64::MAX]), None);
        assert_eq!(checked_sum([i64::MIN]), None);
        assert_eq!(checked_sum(std::iter::empty()), Some(0));
    }
}
