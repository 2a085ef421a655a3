//! The identifiers of the domain in their real formats.

/// Province-level prefixes of the administrative division codes (GB/T 2260).
pub const PROVINCE_PREFIXES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
];

/// Whether `code` is a 6-digit administrative division code with a real
/// province prefix, e.g. `230113` (Shuangcheng District, Harbin).
pub fn is_region_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && PROVINCE_PREFIXES.contains(&&code[..2])
}

/// A project code (投资项目统一代码) `YYYY-AAAAAA-II-TT-NNNNNN`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectCode<'a> {
    /// Year the code was assigned.
    pub year: u16,
    /// Administrative division code of the region.
    pub region: &'a str,
    /// Industry code.
    pub industry: &'a str,
    /// Project type code.
    pub project_type: &'a str,
    /// Serial number.
    pub serial: &'a str,
}

impl<'a> ProjectCode<'a> {
    /// Parses `code`, or says what is wrong with it (in Chinese, for the
    /// submitter's developers).
    pub fn parse(code: &'a str) -> Result<Self, &'static str> {
        let parts: Vec<&str> = code.split('-').collect();
        let [year, region, industry, project_type, serial] = parts[..] else {
            return Err("项目代码格式应为 YYYY-AAAAAA-II-TT-NNNNNN");
        };
        let digits = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
        if !(digits(year, 4)
            && digits(region, 6)
            && digits(industry, 2)
            && digits(project_type, 2)
            && digits(serial, 6))
        {
            return Err("项目代码格式应为 YYYY-AAAAAA-II-TT-NNNNNN（全部为数字）");
        }
        let year_number: u16 = year.parse().map_err(|_| "项目代码年份无效")?;
        if !(1990..=2100).contains(&year_number) {
            return Err("项目代码年份应在 1990 至 2100 之间");
        }
        if !is_region_code(region) {
            return Err("项目代码中的行政区划代码无效");
        }
        Ok(Self { year: year_number, region, industry, project_type, serial })
    }
}

/// Whether `region` lies inside one of `allowed`, each a division code or a
/// prefix of one (`23` = Heilongjiang, `2301` = Harbin, `230113` = one district).
pub fn region_within(region: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|prefix| region.starts_with(prefix.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_real_project_code() {
        let code = ProjectCode::parse("2017-230113-48-01-012345").unwrap();
        assert_eq!(code.year, 2017);
        assert_eq!(code.region, "230113");
        assert_eq!(code.serial, "012345");
    }

    #[test]
    fn refuses_malformed_project_codes() {
        for bad in [
            "",
            "2017-230113-48-01",
            "2017-230113-48-01-01234",
            "2017-990113-48-01-012345",
            "1800-230113-48-01-012345",
            "2017-23011X-48-01-012345",
            "2017-230113-48-01-012345-1",
        ] {
            assert!(ProjectCode::parse(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn region_codes_need_a_real_province() {
        assert!(is_region_code("230113"));
        assert!(!is_region_code("990113"));
        assert!(!is_region_code("23011"));
    }

    #[test]
    fn regions_match_by_prefix() {
        let harbin = vec!["2301".to_owned()];
        assert!(region_within("230113", &harbin));
        assert!(!region_within("230200", &harbin));
    }
}
