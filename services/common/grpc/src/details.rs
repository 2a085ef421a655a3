//! Error statuses that fit in the trailers a client accepts.
//!
//! A refused call answers trailers-only: `grpc-message` (percent-encoded)
//! and `grpc-status-details-bin` (base64 of a `google.rpc.Status`, which
//! repeats the message) travel in one HTTP/2 header block. Common clients
//! cap that block at 8 KiB (grpc-java's default; gRPC core, under Python,
//! C++, Ruby and C#, starts refusing there) and report anything larger as
//! RESOURCE_EXHAUSTED or INTERNAL, so the caller would never learn what was
//! wrong. Whatever the request, a status built here keeps
//! those two headers under [`MAX_ERROR_TRAILER_BYTES`]: a BadRequest lists
//! the first violations in full (each field and description cut at a char
//! boundary if over-long) and ends with one more violation, on the empty
//! field (the request as a whole), saying how many others were left out.
//! The size is measured on the headers tonic will send, not estimated.

use std::borrow::Cow;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Upper bound of `grpc-message` plus `grpc-status-details-bin` (names and
/// values) of a status built here: 7 KiB, leaving room under the clients'
/// 8 KiB for `grpc-status`, `content-type` and HPACK overhead.
pub const MAX_ERROR_TRAILER_BYTES: usize = 7 * 1024;

/// At most this many field violations are listed one by one.
pub const MAX_LISTED_VIOLATIONS: usize = 20;

/// Longest field path kept, in bytes.
const MAX_FIELD_BYTES: usize = 200;
/// Longest violation description kept, in bytes (~100 Chinese characters).
const MAX_DESCRIPTION_BYTES: usize = 300;
/// Longest list of field names in the message, in bytes.
const MAX_MESSAGE_FIELDS_BYTES: usize = 512;

/// `text` cut to at most `max_bytes` bytes at a char boundary, with `…`
/// (counted in the bound) when something was cut.
pub fn bounded(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    const ELLIPSIS: &str = "…";
    let ellipsis = if max_bytes >= ELLIPSIS.len() { ELLIPSIS } else { "" };
    let mut end = max_bytes - ellipsis.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{ellipsis}", &text[..end]))
}

/// INVALID_ARGUMENT with a `google.rpc.BadRequest` of `violations`
/// (`(field, description)` each), bounded as the module explains.
pub fn invalid_argument<'a>(violations: impl IntoIterator<Item = (&'a str, &'a str)>) -> Status {
    field_violations(Code::InvalidArgument, "invalid field(s)", violations)
}

/// `code` with a `google.rpc.BadRequest` of `violations`, for refusals that
/// name fields but are not INVALID_ARGUMENT (e.g. OUT_OF_RANGE, a value the
/// server's state does not reach yet). The message is `lead`, a colon and
/// the fields named; bounded as the module explains.
pub fn field_violations<'a>(
    code: Code,
    lead: &str,
    violations: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Status {
    let violations: Vec<(&str, &str)> = violations.into_iter().collect();
    let lead = bounded(lead, MAX_MESSAGE_FIELDS_BYTES);
    let mut listed = violations.len().min(MAX_LISTED_VIOLATIONS);
    loop {
        let status = bad_request(code, &lead, &violations, listed);
        // Listing none always fits: the message and the count are bounded.
        if listed == 0 || error_trailer_bytes(&status) <= MAX_ERROR_TRAILER_BYTES {
            return status;
        }
        listed -= 1;
    }
}

/// The status listing the first `listed` of `violations`.
fn bad_request(code: Code, lead: &str, violations: &[(&str, &str)], listed: usize) -> Status {
    let mut details = ErrorDetails::new();
    for (field, description) in &violations[..listed] {
        details.add_bad_request_violation(
            bounded(field, MAX_FIELD_BYTES).into_owned(),
            bounded(description, MAX_DESCRIPTION_BYTES).into_owned(),
        );
    }
    let omitted = violations.len() - listed;
    if omitted > 0 {
        details.add_bad_request_violation(String::new(), format!("…and {omitted} more invalid field(s) not listed"));
    }
    let mut message = format!("{lead}: ");
    let mut named = 0;
    for (field, _) in &violations[..listed] {
        let field = bounded(field, MAX_FIELD_BYTES);
        if named > 0 && message.len() + field.len() > MAX_MESSAGE_FIELDS_BYTES {
            break;
        }
        if named > 0 {
            message.push_str(", ");
        }
        message.push_str(&field);
        named += 1;
    }
    if named < violations.len() {
        message.push_str(&format!(" …and {} more", violations.len() - named));
    }
    Status::with_error_details(code, message, details)
}

/// Bytes of `grpc-message` and `grpc-status-details-bin` as tonic encodes
/// them for `status`.
pub fn error_trailer_bytes(status: &Status) -> usize {
    let mut headers = http::HeaderMap::new();
    if status.add_header(&mut headers).is_err() {
        return usize::MAX;
    }
    headers
        .iter()
        .filter(|(name, _)| *name == "grpc-message" || *name == "grpc-status-details-bin")
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_cuts_at_a_char_boundary() {
        assert_eq!(bounded("abc", 3), "abc");
        let cut = bounded("必填必填必填", 8);
        assert!(cut.len() <= 8, "{cut}");
        assert_eq!(cut, "必…");
        assert_eq!(bounded("abcdef", 2), "ab");
        assert_eq!(bounded("必填", 2), "");
    }

    #[test]
    fn few_violations_are_listed_in_full() {
        let status = invalid_argument([("a", "必填"), ("b.c", "格式错误")]);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "invalid field(s): a, b.c");
        let bad = status.get_details_bad_request().expect("BadRequest");
        let fields: Vec<_> = bad.field_violations.iter().map(|v| (v.field.as_str(), v.description.as_str())).collect();
        assert_eq!(fields, [("a", "必填"), ("b.c", "格式错误")]);
    }

    #[test]
    fn other_codes_carry_their_lead_and_violations() {
        let status = field_violations(Code::OutOfRange, "beyond the log", [("tree_size", "above 58")]);
        assert_eq!(status.code(), Code::OutOfRange);
        assert_eq!(status.message(), "beyond the log: tree_size");
        let bad = status.get_details_bad_request().expect("BadRequest");
        assert_eq!(bad.field_violations[0].description, "above 58");
    }

    #[test]
    fn many_or_huge_violations_fit_the_trailer_budget() {
        let long = "很长的描述".repeat(10_000);
        let fields: Vec<String> = (0..1000).map(|i| format!("fact.lots[{i}].ceiling_price_fen")).collect();
        for description in ["必须大于 0", long.as_str()] {
            let status = invalid_argument(fields.iter().map(|field| (field.as_str(), description)));
            assert!(error_trailer_bytes(&status) <= MAX_ERROR_TRAILER_BYTES, "{}", error_trailer_bytes(&status));
            let bad = status.get_details_bad_request().expect("BadRequest");
            let (last, listed) = bad.field_violations.split_last().expect("violations");
            assert!(!listed.is_empty());
            assert_eq!(listed[0].field, "fact.lots[0].ceiling_price_fen");
            assert_eq!(last.field, "");
            assert!(last.description.contains(&format!("{} more", 1000 - listed.len())), "{}", last.description);
            assert!(status.message().ends_with(" more"), "{}", status.message());
        }
    }
}
