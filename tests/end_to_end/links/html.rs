//! The start tags of an HTML (or Atom) document and their attributes, for
//! finding links and anchors. No HTML parser is in the workspace's
//! dependency tree, so this follows the tokenizer rules of the HTML standard
//! that matter for that, and only those: comments, doctypes and end tags are
//! skipped, the text of `<script>` and `<style>` is raw (kept for CSS
//! `url()`s, never read for tags), attribute values may be double-quoted,
//! single-quoted or bare, and character references are decoded (the ones
//! that occur in URLs and ids; another named one is kept as written).

/// A start tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    /// Lower-cased.
    pub(crate) name: String,
    /// Lower-cased names, decoded values, in document order.
    pub(crate) attributes: Vec<(String, String)>,
    /// The raw text of a `<script>` or `<style>` element.
    pub(crate) raw_text: Option<String>,
}

impl Tag {
    /// The value of attribute `name` (lower case), if present.
    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Elements whose content is text, not markup.
const RAW_TEXT: [&str; 2] = ["script", "style"];

/// The start tags of `document`, in order.
pub(crate) fn tags(document: &str) -> Vec<Tag> {
    let mut found = Vec::new();
    let mut rest = document;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if let Some(comment) = rest.strip_prefix("!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        if rest.starts_with(['!', '?', '/']) {
            rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
            continue;
        }
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue; // A bare `<` in text.
        }
        let (mut tag, after) = start_tag(rest);
        rest = after;
        if RAW_TEXT.contains(&tag.name.as_str()) {
            let close = format!("</{}", tag.name);
            let end = rest.to_ascii_lowercase().find(&close).unwrap_or(rest.len());
            tag.raw_text = Some(rest[..end].to_owned());
            rest = &rest[end..];
        }
        found.push(tag);
    }
    found
}

/// Reads one start tag from `text` (just after its `<`); returns it and the
/// text after its `>`.
fn start_tag(text: &str) -> (Tag, &str) {
    let is_space = |c: char| c.is_ascii_whitespace();
    let name_end = text.find(|c: char| is_space(c) || c == '/' || c == '>').unwrap_or(text.len());
    let name = text[..name_end].to_ascii_lowercase();
    let mut rest = &text[name_end..];
    let mut attributes = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| is_space(c) || c == '/');
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix('>') {
            rest = after;
            break;
        }
        // The standard lets an attribute name start with `=`.
        let first = rest.chars().next().map_or(0, char::len_utf8);
        let name_end = rest[first..]
            .find(|c: char| is_space(c) || c == '/' || c == '>' || c == '=')
            .map_or(rest.len(), |i| i + first);
        let attribute = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start_matches(is_space);
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            rest = after.trim_start_matches(is_space);
            let (raw, after) = match rest.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let inner = &rest[1..];
                    let end = inner.find(quote).unwrap_or(inner.len());
                    (&inner[..end], inner.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = rest.find(|c: char| is_space(c) || c == '>').unwrap_or(rest.len());
                    (&rest[..end], &rest[end..])
                }
            };
            value = decode_references(raw);
            rest = after;
        }
        // The standard keeps the first of two attributes with one name.
        if !attributes.iter().any(|(n, _)| *n == attribute) {
            attributes.push((attribute, value));
        }
    }
    (Tag { name, attributes, raw_text: None }, rest)
}

/// `text` with its character references (`&amp;`, `&#39;`, `&#x27;`, …)
/// decoded.
pub(crate) fn decode_references(text: &str) -> String {
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        decoded.push_str(&rest[..at]);
        rest = &rest[at..];
        let reference = rest[1..].find(';').map(|end| &rest[1..end + 1]).filter(|r| r.len() <= 10);
        let character = reference.and_then(|reference| match reference {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => {
                let number = reference.strip_prefix('#')?;
                let code = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (reference, character) {
            (Some(reference), Some(character)) => {
                decoded.push(character);
                rest = &rest[reference.len() + 2..];
            }
            _ => {
                decoded.push('&');
                rest = &rest[1..];
            }
        }
    }
    decoded.push_str(rest);
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(tag: &Tag) -> Vec<(&str, &str)> {
        tag.attributes.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
    }

    #[test]
    fn attributes_in_every_quoting_with_references_decoded() {
        let html = r#"<!doctype html><A HREF="/projects?q=a&amp;page=2" class=x>x</A>
<img src='/i.png' alt="a > b" data-x=&#x27;y&#39; hidden><input value=bare/>"#;
        let tags = tags(html);
        let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "img", "input"]);
        assert_eq!(pairs(&tags[0]), [("href", "/projects?q=a&page=2"), ("class", "x")]);
        assert_eq!(pairs(&tags[1]), [("src", "/i.png"), ("alt", "a > b"), ("data-x", "'y'"), ("hidden", "")]);
        assert_eq!(pairs(&tags[2]), [("value", "bare/")]);
    }

    #[test]
    fn comments_end_tags_and_raw_text_hold_no_tags() {
        let html = "<p id=a>1 < 2</p><!-- <a href=/c> --><style>a{background:url(/s.png)}</style>\
                    <script>if (a<b) document.write('<a href=/j>')</script><a href=/real>";
        let tags = tags(html);
        let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["p", "style", "script", "a"]);
        assert_eq!(tags[1].raw_text.as_deref(), Some("a{background:url(/s.png)}"));
        assert_eq!(tags[3].attribute("href"), Some("/real"));
    }

    #[test]
    fn unknown_or_unfinished_references_stay_as_written() {
        assert_eq!(decode_references("a&b=1&copy;&#20013;&#x6587;&"), "a&b=1&copy;中文&");
        assert_eq!(tags("<a href=\"/x").first().and_then(|t| t.attribute("href")), Some("/x"));
    }
}
