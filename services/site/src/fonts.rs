//! The self-hosted CJK web font, for readers whose system has no CJK font.
//!
//! The pages' stack (`templates/base.html`) names the CJK fonts of macOS and
//! Windows first (PingFang SC, Hiragino Sans GB, Microsoft YaHei), then
//! [`FAMILY`], then `system-ui` for Latin. Each `@font-face` of [`FAMILY`]
//! tries the system CJK fonts of Linux and Android by name first (`local()`:
//! Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, …; Android's
//! CJK font is only a fallback that `font-family` cannot name), so a reader
//! with one of them downloads no font. Only then comes a WOFF2 slice of Noto
//! Sans CJK SC (SIL OFL 1.1) cut by `scripts/data/fonts.sh`; the slices'
//! `unicode-range`s never overlap, so a browser fetches only the slices
//! holding characters on the page. Slice 0 holds every character of the
//! site's own texts; the others hold the 通用规范汉字表's levels 1 and 2 and
//! the division names, most frequent first (see
//! `services/site/assets/fonts/README.md`).
//!
//! [`FAMILY`] comes before `system-ui`, not after: Chromium does not redraw
//! text it laid out while a web font further down the stack was still
//! loading, so the first lines would stay boxes.
//!
//! The `@font-face` rules are one stylesheet rather than part of the inline
//! `<style>`: listing some 6,600 characters takes about 18 KB (as the site
//! compresses it), which every page would carry; as a file named by its
//! content it is fetched once and then kept for a year. Slices and
//! stylesheet are compiled in and served at `/assets/fonts/<name>` with
//! `Cache-Control: immutable`, their entity tags computed once.

mod slices;

use std::sync::LazyLock;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::chrome::{LangQuery, fallback};
use crate::conditional::body_etag;

/// One WOFF2 slice of the font.
#[derive(Debug)]
pub(crate) struct Slice {
    /// Its file name under [`PREFIX`], with a hash of its content.
    pub(crate) file: &'static str,
    pub(crate) woff2: &'static [u8],
    /// Its characters as a CSS `unicode-range` (`U+4e00-4e01,U+4e03`).
    pub(crate) unicode_range: &'static str,
}

/// The font family the stylesheet declares and `templates/base.html` names.
pub(crate) const FAMILY: &str = "gongkai CJK";

/// The system CJK fonts a browser uses in place of the slices, by full and
/// PostScript name: the fonts of Linux desktops and of stock Android, where
/// the CJK font is only a fallback and cannot be named in `font-family`.
const LOCAL: &str = "local(\"Noto Sans CJK SC\"),local(\"NotoSansCJKsc-Regular\"),local(\"Source Han Sans SC\"),\
                     local(\"SourceHanSansSC-Regular\"),local(\"WenQuanYi Micro Hei\"),local(\"Droid Sans Fallback\"),\
                     local(\"HarmonyOS Sans SC\"),local(\"MiSans\")";

/// Where the slices and the stylesheet are served.
pub(crate) const PREFIX: &str = "/assets/fonts/";

/// What the assets are served with: they never change under a name.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

/// The stylesheet declaring the slices, its file name and its entity tag.
struct Stylesheet {
    file: String,
    css: String,
    etag: HeaderValue,
}

static STYLESHEET: LazyLock<Stylesheet> = LazyLock::new(|| {
    let css: String = slices::SLICES
        .iter()
        .map(|slice| {
            format!(
                "@font-face{{font-family:\"{FAMILY}\";font-style:normal;font-weight:400;font-display:swap;\
                 src:{LOCAL},url({PREFIX}{}) format(\"woff2\");unicode-range:{}}}\n",
                slice.file, slice.unicode_range
            )
        })
        .collect();
    let etag = body_etag(css.as_bytes());
    // The tag is hex of the content's hash between `W/"` and `"`.
    let hash = &etag.to_str().expect("hex")[3..15];
    Stylesheet { file: format!("cjk-{hash}.css"), css, etag }
});

/// The slices' entity tags, computed once.
static SLICE_TAGS: LazyLock<Vec<HeaderValue>> =
    LazyLock::new(|| slices::SLICES.iter().map(|slice| body_etag(slice.woff2)).collect());

/// The stylesheet's path, for the pages' `<link>`.
pub(crate) fn stylesheet_href() -> String {
    format!("{PREFIX}{}", STYLESHEET.file)
}

/// The slices, for the tests and for measuring.
#[cfg(test)]
pub(crate) fn slices() -> &'static [Slice] {
    slices::SLICES
}

/// `GET /assets/fonts/{file}`: a slice or the stylesheet; anything else is
/// the site's 404.
pub(crate) async fn asset(Path(file): Path<String>, query: Query<LangQuery>, headers: HeaderMap) -> Response {
    let (content_type, etag, body): (&str, &HeaderValue, &'static [u8]) = if file == STYLESHEET.file {
        ("text/css; charset=utf-8", &STYLESHEET.etag, STYLESHEET.css.as_bytes())
    } else if let Some(at) = slices::SLICES.iter().position(|slice| slice.file == file) {
        ("font/woff2", &SLICE_TAGS[at], slices::SLICES[at].woff2)
    } else {
        return fallback(query, headers).await;
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, IMMUTABLE),
            (header::ETAG, etag.clone()),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use sha2::Digest as _;

    use super::*;

    /// The blocks whose characters a Latin-only system font lacks and the slices
    /// cover (the same list as `CJK_BLOCKS` in `scripts/data/fonts.py`).
    const CJK_BLOCKS: [(u32, u32); 9] = [
        (0x2E80, 0x2FDF),
        (0x3000, 0x303F),
        (0x3200, 0x33FF),
        (0x3400, 0x4DBF),
        (0x4E00, 0x9FFF),
        (0xF900, 0xFAFF),
        (0xFE30, 0xFE4F),
        (0xFF00, 0xFFEF),
        (0x20000, 0x3FFFF),
    ];

    /// Whether `c` needs a CJK font.
    fn needs_cjk(c: char) -> bool {
        CJK_BLOCKS.iter().any(|&(low, high)| (low..=high).contains(&u32::from(c)))
    }

    /// The characters of a `unicode-range` list.
    fn range_chars(ranges: &str) -> BTreeSet<u32> {
        let hex = |text: &str| u32::from_str_radix(text, 16).unwrap_or_else(|_| panic!("bad range {text}"));
        ranges
            .split(',')
            .flat_map(|run| {
                let run = run.strip_prefix("U+").unwrap_or_else(|| panic!("bad run {run}"));
                let (low, high) = run.split_once('-').unwrap_or((run, run));
                hex(low)..=hex(high)
            })
            .collect()
    }

    /// Every character the slices cover, checking they never overlap.
    fn covered() -> BTreeSet<u32> {
        let mut all = BTreeSet::new();
        for slice in slices() {
            let chars = range_chars(slice.unicode_range);
            let before = all.len();
            all.extend(&chars);
            assert_eq!(all.len(), before + chars.len(), "{} overlaps an earlier slice", slice.file);
        }
        all
    }

    /// The files below `dir` (recursively) whose names end with `suffix`.
    fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                found.extend(files(&path, suffix));
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
        found
    }

    #[test]
    fn every_character_of_the_sites_texts_is_in_a_slice() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        // The same texts as `SITE_TEXTS` and `DIVISIONS` in scripts/data/fonts.py.
        let mut texts = files(&root.join("src"), ".rs");
        texts.extend(files(&root.join("templates"), ".html"));
        texts.extend(files(&root.join("../common/domain/src"), ".rs"));
        texts.push(root.join("../common/domain/data/divisions.tsv"));
        let covered = covered();
        let mut missing = BTreeSet::new();
        let mut checked = BTreeSet::new();
        for path in &texts {
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for c in text.chars().filter(|&c| needs_cjk(c)) {
                checked.insert(c);
                if !covered.contains(&u32::from(c)) {
                    missing.insert((c, path.strip_prefix(root).unwrap_or(path).display().to_string()));
                }
            }
        }
        assert!(checked.len() > 1000, "the texts and division names use {} CJK characters", checked.len());
        assert!(
            missing.is_empty(),
            "characters in no font slice (run scripts/data/fonts.sh to cut new slices): {missing:?}"
        );
    }

    #[test]
    fn the_slices_are_real_woff2_named_by_their_content() {
        assert!(slices().len() > 1, "slice 0 and the common characters");
        let total: usize = slices().iter().map(|slice| slice.woff2.len()).sum();
        assert!(total <= 3 << 20, "the font slices weigh {total} bytes, over 3 MiB");
        for slice in slices() {
            assert!(slice.woff2.starts_with(b"wOF2"), "{} is WOFF2", slice.file);
            let hash = hex::encode(sha2::Sha256::digest(slice.woff2));
            let name = slice.file.strip_suffix(".woff2").expect("a .woff2 name");
            assert!(name.ends_with(&format!("-{}", &hash[..12])), "{} is named by its content ({hash})", slice.file);
        }
        // Slice 0 holds the characters pages use most: the chrome's labels.
        let first = range_chars(slices()[0].unicode_range);
        assert!("项目列表最新公开信息搜索".chars().all(|c| first.contains(&u32::from(c))));
    }

    #[test]
    fn the_stylesheet_declares_every_slice_and_only_slices() {
        let css = &STYLESHEET.css;
        let urls: Vec<&str> =
            css.split("url(").skip(1).map(|rest| &rest[..rest.find(')').expect("a closed url(")]).collect();
        assert_eq!(urls.len(), slices().len(), "one @font-face per slice: {css}");
        for (url, slice) in urls.iter().zip(slices()) {
            assert_eq!(*url, format!("{PREFIX}{}", slice.file));
        }
        assert_eq!(css.matches("font-display:swap").count(), slices().len());
        assert_eq!(css.matches(&format!("font-family:\"{FAMILY}\"")).count(), slices().len());
        assert!(stylesheet_href().starts_with(PREFIX) && stylesheet_href().ends_with(".css"));
    }
}
