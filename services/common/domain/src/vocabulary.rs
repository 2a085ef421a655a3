//! The lowercase words for stages, project types and domains, and the
//! units of a flag's figures.
//!
//! The store keeps them in its columns (`stage`, `project_type`, `domain`),
//! the supervisors' search and the site's filters match on them, the site's
//! URLs carry them and every topic name holds a domain's. Each is spelled
//! here once, next to its enum value, and read back with the `*_from_label`
//! functions; only the SQL of the migrations spells them again. A label is
//! the protobuf value name without its prefix, in lowercase
//! (`STAGE_TENDERING` → `tendering`): the tests hold them to that.

use gongkai_proto::v1::{Domain, ProjectType, Stage};

/// The unit of a compliance flag's figure (`Figure.unit`): the list that
/// `common.proto` documents, and no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FigureUnit {
    /// Whole calendar days.
    Days,
    /// Whole hours.
    Hours,
    /// Seconds.
    Seconds,
    /// Money in fen (CNY 0.01).
    Fen,
    /// Basis points of a percentage: 10,000 = 100 %.
    PercentBp,
    /// A number of things (bids, bidders, households).
    Count,
    /// A place in a ranking: 1 is the first.
    Rank,
}

impl FigureUnit {
    /// Every unit.
    pub const ALL: [FigureUnit; 7] = [
        FigureUnit::Days,
        FigureUnit::Hours,
        FigureUnit::Seconds,
        FigureUnit::Fen,
        FigureUnit::PercentBp,
        FigureUnit::Count,
        FigureUnit::Rank,
    ];

    /// The unit as `Figure.unit` spells it, e.g. `percent_bp`.
    pub fn as_str(self) -> &'static str {
        match self {
            FigureUnit::Days => "days",
            FigureUnit::Hours => "hours",
            FigureUnit::Seconds => "seconds",
            FigureUnit::Fen => "fen",
            FigureUnit::PercentBp => "percent_bp",
            FigureUnit::Count => "count",
            FigureUnit::Rank => "rank",
        }
    }
}

/// The label of a lifecycle stage, e.g. `tendering`.
pub fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Unspecified => "unspecified",
        Stage::Approval => "approval",
        Stage::Tendering => "tendering",
        Stage::Evaluation => "evaluation",
        Stage::Award => "award",
        Stage::Contract => "contract",
        Stage::Performance => "performance",
        Stage::Completion => "completion",
        Stage::Suspended => "suspended",
        Stage::Cancelled => "cancelled",
        Stage::Operation => "operation",
        Stage::HandedOver => "handed_over",
    }
}

/// The stage whose label is `label`, if any.
pub fn stage_from_label(label: &str) -> Option<Stage> {
    values::<Stage>().find(|stage| stage_label(*stage) == label)
}

/// The label of a project type: `construction`, `ppp`.
pub fn type_label(project_type: ProjectType) -> &'static str {
    match project_type {
        ProjectType::Unspecified => "unspecified",
        ProjectType::Construction => "construction",
        ProjectType::Ppp => "ppp",
    }
}

/// The project type whose label is `label`, if any.
pub fn type_from_label(label: &str) -> Option<ProjectType> {
    values::<ProjectType>().find(|project_type| type_label(*project_type) == label)
}

/// Spells each domain's label once, and its topic with it.
macro_rules! domains {
    ($($domain:ident => $label:literal,)*) => {
        /// The label of a domain, e.g. `tenders`: the service that records
        /// its facts, the `domain` column, the middle of its topic.
        pub fn domain_label(domain: Domain) -> &'static str {
            match domain {
                $(Domain::$domain => $label,)*
            }
        }

        /// The Kafka topic of a domain, e.g. `gongkai.tenders.v1`: one per
        /// domain, value = protobuf `EventEnvelope`, key = project code.
        /// Part of the public contract.
        pub fn topic(domain: Domain) -> &'static str {
            match domain {
                $(Domain::$domain => concat!("gongkai.", $label, ".v1"),)*
            }
        }
    };
}

domains! {
    Unspecified => "unspecified",
    Projects => "projects",
    Tenders => "tenders",
    Review => "review",
    Awards => "awards",
    Contracts => "contracts",
}

/// Every value of a protobuf enum, in number order (the contract's enums
/// number their values 0, 1, 2, ...).
fn values<E: TryFrom<i32>>() -> impl Iterator<Item = E> {
    (0..).map_while(|number| E::try_from(number).ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_figure_unit_is_one_the_contract_documents_and_no_other() {
        let proto = include_str!("../../../../proto/gongkai/v1/common.proto");
        let start = proto.find("// Unit of `value` and `limit`").expect("the Figure.unit comment");
        let comment: Vec<&str> =
            proto[start..].lines().take_while(|line| line.trim_start().starts_with("//")).collect();
        let documented: Vec<&str> =
            comment.iter().filter_map(|line| line.trim_start().strip_prefix("// * \"")?.split('"').next()).collect();
        let ours: Vec<&str> = FigureUnit::ALL.iter().map(|unit| unit.as_str()).collect();
        assert_eq!(documented, ours);
    }

    use super::*;

    /// `STAGE_TENDERING` → `tendering`.
    fn from_name(name: &str, prefix: &str) -> String {
        name.trim_start_matches(prefix).to_ascii_lowercase()
    }

    #[test]
    fn labels_are_the_value_names_in_lowercase() {
        assert_eq!(values::<Stage>().count(), 12);
        for stage in values::<Stage>() {
            assert_eq!(stage_label(stage), from_name(stage.as_str_name(), "STAGE_"));
            assert_eq!(stage_from_label(stage_label(stage)), Some(stage));
        }
        assert_eq!(values::<ProjectType>().count(), 3);
        for project_type in values::<ProjectType>() {
            assert_eq!(type_label(project_type), from_name(project_type.as_str_name(), "PROJECT_TYPE_"));
            assert_eq!(type_from_label(type_label(project_type)), Some(project_type));
        }
        assert_eq!(values::<Domain>().count(), 6);
        for domain in values::<Domain>() {
            assert_eq!(domain_label(domain), from_name(domain.as_str_name(), "DOMAIN_"));
        }
    }

    #[test]
    fn other_words_are_no_label() {
        assert_eq!(stage_from_label("TENDERING"), None);
        assert_eq!(stage_from_label(""), None);
        assert_eq!(type_from_label("PPP"), None);
    }

    #[test]
    fn topics_are_the_contract_names() {
        let topics: Vec<&str> = values::<Domain>().map(topic).collect();
        assert_eq!(
            topics,
            [
                "gongkai.unspecified.v1",
                "gongkai.projects.v1",
                "gongkai.tenders.v1",
                "gongkai.review.v1",
                "gongkai.awards.v1",
                "gongkai.contracts.v1"
            ]
        );
    }
}
