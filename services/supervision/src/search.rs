//! `SearchProjects`: the filters of a search, parsed into a
//! [`ProjectQuery`], and the page of project summaries it returns. Every
//! malformed field is collected before the store is asked, so one
//! INVALID_ARGUMENT names them all; the region filter must lie within the
//! caller's regions; and the page token is bound to the request without its
//! paging fields, so a token from another query is refused rather than
//! resuming some other list.

use std::sync::Arc;

use gongkai_domain::vocabulary::{stage_label, type_label};
use gongkai_grpc::auth::Principal;
use gongkai_proto::v1 as pb;
use gongkai_store::{AmountColumn, ProjectCursor, ProjectQuery};

use crate::{
    Outcome, Supervision, SupervisionError, binding, decode, decode_token, encode_token, non_empty, page_size,
    require_supervisor, scope, window,
};

/// Longest text a search filter may hold (`owner`, `winner`, `text`,
/// `flag_rule`, `source`): the longest name a fact may carry.
pub const SEARCH_TEXT_MAX: usize = 256;

impl Supervision {
    pub(crate) async fn search(
        &self,
        principal: Arc<Principal>,
        request: pb::SearchProjectsRequest,
    ) -> Outcome<pb::SearchProjectsResponse> {
        require_supervisor(&principal)?;
        let mut violations = Vec::new();
        let region_prefixes = scope(&principal, &request.region_prefix, "region_prefix")?;
        let limit = page_size(request.page_size, &mut violations);
        let stages = request
            .stages
            .iter()
            .filter_map(|stage| match pb::Stage::try_from(*stage) {
                Ok(pb::Stage::Unspecified) => None,
                Ok(stage) => Some(stage_label(stage).to_owned()),
                Err(_) => {
                    violations.push(("stages".to_owned(), format!("unknown stage {stage}")));
                    None
                }
            })
            .collect();
        let project_type = match pb::ProjectType::try_from(request.project_type) {
            Ok(pb::ProjectType::Unspecified) => None,
            Ok(project_type) => Some(type_label(project_type).to_owned()),
            Err(_) => {
                violations.push(("project_type".to_owned(), "unknown project type".to_owned()));
                None
            }
        };
        let amount_column = match pb::AmountBasis::try_from(request.amount_basis) {
            Ok(pb::AmountBasis::Unspecified) => AmountColumn::Investment,
            Ok(pb::AmountBasis::ContractPrice) => AmountColumn::ContractPrice,
            Ok(pb::AmountBasis::FinalCost) => AmountColumn::FinalCost,
            Err(_) => {
                violations.push(("amount_basis".to_owned(), "unknown amount basis".to_owned()));
                AmountColumn::Investment
            }
        };
        if let (Some(min), Some(max)) = (request.min_amount_fen, request.max_amount_fen)
            && min > max
        {
            violations.push(("max_amount_fen".to_owned(), "below min_amount_fen".to_owned()));
        }
        let active = window(request.active_period.as_ref(), "active_period", &mut violations);
        let flag_period = window(request.flag_period.as_ref(), "flag_period", &mut violations);
        // A pattern longer than any name or text it could match would only
        // make the database work (SQLite refuses very long LIKE patterns).
        for (field, value) in [
            ("owner", &request.owner),
            ("winner", &request.winner),
            ("text", &request.text),
            ("flag_rule", &request.flag_rule),
            ("source", &request.source),
        ] {
            if value.chars().count() > SEARCH_TEXT_MAX {
                violations.push((field.to_owned(), format!("at most {SEARCH_TEXT_MAX} characters")));
            }
        }
        let query = ProjectQuery {
            region_prefixes,
            stages,
            project_type,
            owner: non_empty(&request.owner),
            winner: non_empty(&request.winner),
            amount_column,
            min_amount_fen: request.min_amount_fen,
            max_amount_fen: request.max_amount_fen,
            active,
            has_flag: request.has_flag,
            flag_rule: non_empty(&request.flag_rule),
            flag_period,
            now: (self.clock)(),
            text: non_empty(&request.text),
            source: non_empty(&request.source),
        };
        let binding =
            binding(&pb::SearchProjectsRequest { page_size: 0, page_token: String::new(), ..request.clone() });
        let cursor = match decode_token(&request.page_token, &binding) {
            Ok(cursor) => cursor.map(|(first_position, project_code)| ProjectCursor { first_position, project_code }),
            Err(()) => {
                violations.push(("page_token".to_owned(), "not a token of this query".to_owned()));
                None
            }
        };
        if !violations.is_empty() {
            return Err(SupervisionError::Invalid(violations));
        }
        let hits = self.store.search_projects(&query, cursor.as_ref(), limit + 1).await?;
        let more = hits.len() > limit as usize;
        let hits = &hits[..hits.len().min(limit as usize)];
        let next_page_token = match (more, hits.last()) {
            (true, Some(last)) => encode_token(&binding, last.first_position, &last.project_code),
            _ => String::new(),
        };
        let projects =
            hits.iter().map(|hit| decode::<pb::ProjectSummary>(&hit.summary)).collect::<Result<Vec<_>, _>>()?;
        let count = projects.len() as u64;
        Ok((pb::SearchProjectsResponse { projects, next_page_token }, count))
    }
}
