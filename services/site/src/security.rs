//! Headers every site response carries, errors and 304s included.
//!
//! The pages run no script and load nothing from elsewhere; their style is
//! the `<style>` block of `templates/base.html` and the site's own font
//! stylesheet (`fonts`). So the policy allows nothing by default, the site's
//! own stylesheets and fonts, and that one block by its SHA-256, computed
//! from the template the binary was built with: editing the CSS cannot
//! leave the policy behind (a unit test renders a page and checks that the
//! block it emits hashes to the value in the policy). No `'unsafe-inline'`,
//! no style attributes, no script of any kind.
//!
//! * `Content-Security-Policy`: `default-src 'none'` (stricter than
//!   `'self'`: nothing is fetched that is not named below), the style
//!   block's hash, `style-src 'self'` and `font-src 'self'` for the CJK web
//!   font and its `@font-face` rules, `img-src 'self'` for a favicon,
//!   `form-action 'self'` for the search forms, `base-uri 'none'`,
//!   `frame-ancestors 'none'`.
//! * `X-Frame-Options: DENY`: `frame-ancestors` for browsers without CSP 2.
//! * `X-Content-Type-Options: nosniff`: JSON, Atom and JSON Lines are never
//!   run as script or rendered as HTML.
//! * `Referrer-Policy: strict-origin-when-cross-origin`: documents linked
//!   from a timeline (other hosts) learn that a reader came from this site,
//!   never which project page they read.
//!
//! `Strict-Transport-Security` belongs to whatever terminates TLS in front of
//! the site; the site itself speaks plain HTTP.

use std::sync::LazyLock;

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The page template whose `<style>` block the policy allows.
const BASE_TEMPLATE: &str = include_str!("../templates/base.html");

/// The text between `<style>` and `</style>` in `template`, exactly as a
/// browser hashes it; empty when there is no such block.
fn style_block(template: &str) -> &str {
    template
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(block, _)| block)
        .unwrap_or_default()
}

/// The CSP source expression allowing one inline block.
fn hash_source(block: &str) -> String {
    let digest = Sha256::digest(block.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// The site's Content-Security-Policy.
static POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let policy = format!(
        "default-src 'none'; style-src {} 'self'; font-src 'self'; img-src 'self'; form-action 'self'; \
         base-uri 'none'; frame-ancestors 'none'",
        hash_source(style_block(BASE_TEMPLATE))
    );
    HeaderValue::from_str(&policy).expect("a CSP of ASCII source expressions is a header value")
});

/// The fixed headers, besides the policy.
const HEADERS: [(HeaderName, HeaderValue); 3] = [
    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin")),
];

/// Adds the security headers to `response` (a `map_response` middleware
/// outside every other layer of the router).
pub(crate) async fn headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, POLICY.clone());
    for (name, value) in HEADERS {
        headers.insert(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_style_block_and_nothing_inline_else() {
        let policy = POLICY.to_str().expect("ASCII");
        assert!(policy.contains("default-src 'none'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(policy.contains("font-src 'self'"), "the web font loads: {policy}");
        assert!(!policy.contains("unsafe-inline") && !policy.contains("script-src"), "{policy}");
        assert!(style_block(BASE_TEMPLATE).contains("body{"), "the base template's CSS was found");
        assert!(policy.contains(&hash_source(style_block(BASE_TEMPLATE))));
        assert!(!BASE_TEMPLATE.contains("style=\""), "a style attribute would need 'unsafe-inline'");
    }

    #[test]
    fn the_hash_is_the_one_browsers_compute() {
        // CSP3's example: `<style>` content `alert('Hello, world.');` hashes to this.
        assert_eq!(hash_source("alert('Hello, world.');"), "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='");
    }
}
