//! Then: the assertions on what `decide` answered (refused by a rule,
//! accepted with exactly some flags) and on a flag's figures.

use gongkai_domain::{ComplianceFlag, Rejection};

/// What `decide` answered.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) result: Result<Vec<ComplianceFlag>, Rejection>,
    pub(crate) event_id: String,
}

impl Outcome {
    /// Asserts a refusal by `rule` and returns it.
    #[track_caller]
    pub(crate) fn then_rejected(self, rule: &str) -> Rejection {
        match self.result {
            Err(rejection) => {
                assert_eq!(rejection.rule, rule, "refused by another rule: {rejection}");
                assert!(!rejection.message.is_empty());
                rejection
            }
            Ok(flags) => panic!("expected {rule}, but accepted with flags {:?}", codes(&flags)),
        }
    }

    /// Asserts acceptance with exactly the flags `rules` (in any order).
    #[track_caller]
    pub(crate) fn then_flags(self, rules: &[&str]) -> Vec<ComplianceFlag> {
        match self.result {
            Ok(flags) => {
                let mut raised = codes(&flags);
                raised.sort_unstable();
                let mut expected = rules.to_vec();
                expected.sort_unstable();
                assert_eq!(raised, expected, "flags raised: {flags:#?}");
                for flag in &flags {
                    assert_eq!(flag.event_ids.last(), Some(&self.event_id), "the new event is named last");
                    assert!(!flag.title.is_empty() && !flag.explanation.is_empty());
                }
                flags
            }
            Err(rejection) => panic!("expected acceptance with {rules:?}, but refused: {rejection}"),
        }
    }

    /// Asserts acceptance with no flag.
    #[track_caller]
    pub(crate) fn then_accepted(self) {
        self.then_flags(&[]);
    }

    /// Asserts acceptance with the single flag `rule` and returns it.
    #[track_caller]
    pub(crate) fn then_flag(self, rule: &str) -> ComplianceFlag {
        self.then_flags(&[rule]).remove(0)
    }
}

fn codes(flags: &[ComplianceFlag]) -> Vec<&str> {
    flags.iter().map(|flag| flag.rule.as_str()).collect()
}

/// Asserts that `flag` has figure `name` with `value` against `limit`.
#[track_caller]
pub(crate) fn assert_figure(flag: &ComplianceFlag, name: &str, value: i64, limit: Option<i64>, unit: &str) {
    let figure = flag
        .figures
        .iter()
        .find(|figure| figure.name == name)
        .unwrap_or_else(|| panic!("no figure {name} in {:#?}", flag.figures));
    assert_eq!((figure.value, figure.limit, figure.unit.as_str()), (value, limit, unit), "figure {name}");
}
