//! `ListFlags` and `GetTimeliness`: the flags raised against projects in
//! the caller's regions, and per trading center how many disclosures met
//! the domain's deadline for their fact type
//! ([`gongkai_domain::disclosure`]), delays and medians as
//! [`gongkai_domain::promptness`] defines them for the public pages too. Missing-disclosure flags
//! (`GK-MISSING-*`) are raised when read, so both ask the store with the
//! injected clock's `now`; in the timeliness report they are the flags
//! with no raising event, counted as `missing`.

use std::sync::Arc;

use gongkai_domain::clock::timestamp;
use gongkai_domain::disclosure::{DEFAULT_DEADLINE_SECONDS, deadlines};
use gongkai_domain::promptness::{delay_seconds, median, within_window};
use gongkai_grpc::auth::Principal;
use gongkai_proto::v1 as pb;
use gongkai_store::{FlagHit, FlagQuery};

use crate::{
    Outcome, Supervision, SupervisionError, binding, decode, decode_time_token, encode_token, non_empty, page_size,
    require_supervisor, scope, window,
};

impl Supervision {
    pub(crate) async fn flags(
        &self,
        principal: Arc<Principal>,
        request: pb::ListFlagsRequest,
    ) -> Outcome<pb::ListFlagsResponse> {
        require_supervisor(&principal)?;
        let mut violations = Vec::new();
        let region_prefixes = scope(&principal, &request.region_prefix, "region_prefix")?;
        // A project named is checked as GetProject checks it: outside the
        // caller's regions is PERMISSION_DENIED, not an empty page.
        if !request.project_code.is_empty() {
            self.authorize_project(&principal, &request.project_code).await?;
        }
        let limit = page_size(request.page_size, &mut violations);
        let period = window(request.period.as_ref(), "period", &mut violations);
        let binding = binding(&pb::ListFlagsRequest { page_size: 0, page_token: String::new(), ..request.clone() });
        let cursor = decode_time_token(&request.page_token, &binding).unwrap_or_else(|()| {
            violations.push(("page_token".to_owned(), "not a token of this query".to_owned()));
            None
        });
        if !violations.is_empty() {
            return Err(SupervisionError::Invalid(violations));
        }
        let query = FlagQuery {
            region_prefixes,
            rule: non_empty(&request.rule),
            source: non_empty(&request.source),
            period,
            project_code: non_empty(&request.project_code),
            now: (self.clock)(),
        };
        let hits = self.store.list_flags(&query, cursor, limit + 1).await?;
        let more = hits.len() > limit as usize;
        let hits = &hits[..hits.len().min(limit as usize)];
        let next_page_token = match (more, hits.last()) {
            (true, Some(last)) => encode_token(&binding, last.raised_at.timestamp_micros(), &last.key),
            _ => String::new(),
        };
        let flags = hits.iter().map(flag_record).collect::<Result<Vec<_>, _>>()?;
        let count = flags.len() as u64;
        Ok((pb::ListFlagsResponse { flags, next_page_token }, count))
    }

    pub(crate) async fn timeliness(
        &self,
        principal: Arc<Principal>,
        request: pb::GetTimelinessRequest,
    ) -> Outcome<pb::GetTimelinessResponse> {
        require_supervisor(&principal)?;
        let mut violations = Vec::new();
        let region_prefixes = scope(&principal, &request.region_prefix, "region_prefix")?;
        let period = window(request.period.as_ref(), "period", &mut violations);
        if period.start.is_none() || period.end.is_none() {
            violations.push(("period".to_owned(), "both ends are required".to_owned()));
        }
        if !violations.is_empty() {
            return Err(SupervisionError::Invalid(violations));
        }
        let source = non_empty(&request.source);
        let timings = self.store.disclosure_timings(&region_prefixes, period, source.as_deref()).await?;
        let missing_query =
            FlagQuery { region_prefixes, source: source.clone(), period, now: (self.clock)(), ..FlagQuery::default() };
        let missing: Vec<FlagHit> = self
            .store
            .list_flags(&missing_query, None, 100_000)
            .await?
            .into_iter()
            .filter(|hit| hit.event_id.is_empty())
            .collect();
        let mut centers: std::collections::BTreeMap<String, Vec<(String, i64)>> = std::collections::BTreeMap::new();
        for timing in &timings {
            let delay = delay_seconds(&timestamp(timing.occurred_at), &timestamp(timing.recorded_at));
            centers.entry(timing.source.clone()).or_default().push((timing.event_type.clone(), delay));
        }
        for hit in &missing {
            centers.entry(hit.source.clone()).or_default();
        }
        let mut trading_centers: Vec<pb::TradingCenterTimeliness> = centers
            .into_iter()
            .map(|(source, delays)| {
                let on_time = delays.iter().filter(|(kind, delay)| within_window(kind, *delay)).count() as u64;
                let mut by_type: std::collections::BTreeMap<String, (u64, u64)> = std::collections::BTreeMap::new();
                for (kind, delay) in &delays {
                    let entry = by_type.entry(kind.clone()).or_default();
                    entry.0 += 1;
                    entry.1 += u64::from(within_window(kind, *delay));
                }
                let mut sorted: Vec<i64> = delays.iter().map(|(_, delay)| *delay).collect();
                sorted.sort_unstable();
                let middle = median(&sorted).unwrap_or(0);
                let max = sorted.last().copied().unwrap_or(0);
                let missing = missing.iter().filter(|hit| hit.source == source).count() as u64;
                pb::TradingCenterTimeliness {
                    disclosures: delays.len() as u64,
                    on_time,
                    on_time_share_bp: share_bp(on_time, delays.len() as u64),
                    median_delay_seconds: middle,
                    max_delay_seconds: max,
                    missing,
                    by_type: by_type
                        .into_iter()
                        .map(|(kind, (disclosures, on_time))| pb::TypeTimeliness {
                            r#type: kind,
                            disclosures,
                            on_time,
                            on_time_share_bp: share_bp(on_time, disclosures),
                        })
                        .collect(),
                    source,
                }
            })
            .collect();
        trading_centers
            .sort_by(|a, b| a.on_time_share_bp.cmp(&b.on_time_share_bp).then_with(|| a.source.cmp(&b.source)));
        let mut deadlines: Vec<pb::DisclosureDeadline> = deadlines()
            .iter()
            .map(|(kind, seconds)| pb::DisclosureDeadline { r#type: kind.clone(), seconds: *seconds })
            .collect();
        deadlines.push(pb::DisclosureDeadline { r#type: "*".to_owned(), seconds: DEFAULT_DEADLINE_SECONDS });
        let count = trading_centers.len() as u64;
        Ok((pb::GetTimelinessResponse { trading_centers, deadlines }, count))
    }
}

pub(crate) fn flag_record(hit: &FlagHit) -> Result<pb::FlagRecord, SupervisionError> {
    Ok(pb::FlagRecord {
        project_code: hit.project_code.clone(),
        project_name: hit.project_name.clone(),
        region_code: hit.region_code.clone(),
        source: hit.source.clone(),
        raised_by_event_id: hit.event_id.clone(),
        raised_at: Some(timestamp(hit.raised_at)),
        flag: Some(decode(&hit.flag)?),
    })
}

fn share_bp(part: u64, whole: u64) -> u32 {
    (part * 10_000).checked_div(whole).map_or(10_000, |bp| bp as u32)
}
