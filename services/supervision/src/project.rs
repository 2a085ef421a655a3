//! One project, read three ways: `GetProject` (the full record: summary,
//! timeline, flags, the projector's parking if any, and the raw events on
//! request), `GetPublicView` (what the public sees, with the feed position
//! it is current to) and `VerifyProject` (the project's hash chain, checked
//! by [`gongkai_domain::hash::verify_chain`]). Each first checks that the
//! project exists and lies in the caller's regions
//! ([`Supervision::authorize_project`]).

use std::sync::Arc;

use gongkai_domain::clock::timestamp;
use gongkai_domain::hash::verify_chain;
use gongkai_grpc::auth::Principal;
use gongkai_proto::v1 as pb;
use gongkai_store::{FlagQuery, View};

use crate::flags::flag_record;
use crate::{Outcome, Supervision, SupervisionError, decode, require_supervisor};

impl Supervision {
    async fn project_flags(
        &self,
        principal: &Principal,
        project_code: &str,
    ) -> Result<Vec<pb::FlagRecord>, SupervisionError> {
        let query = FlagQuery {
            region_prefixes: principal.regions.clone(),
            project_code: Some(project_code.to_owned()),
            now: (self.clock)(),
            ..FlagQuery::default()
        };
        let hits = self.store.list_flags(&query, None, 10_000).await?;
        hits.iter().map(flag_record).collect()
    }

    pub(crate) async fn get_project_inner(
        &self,
        principal: Arc<Principal>,
        request: pb::GetProjectRequest,
    ) -> Outcome<pb::GetProjectResponse> {
        require_supervisor(&principal)?;
        let code = request.project_code.as_str();
        self.authorize_project(&principal, code).await?;
        let parked = self.store.parked_project(code).await?.map(|parked| pb::ParkedProjection {
            event_id: parked.event_id,
            project_seq: parked.project_seq,
            reason: parked.reason,
            parked_at: Some(timestamp(parked.parked_at)),
        });
        let summary = match self.store.project_summary(View::Full, code).await? {
            Some(summary) => Some(decode(&summary)?),
            // Parked before its first rendering: the parking is the answer.
            None if parked.is_some() => None,
            None => return Err(SupervisionError::NotFound(code.to_owned())),
        };
        let timeline = self.store.timeline(View::Full, code).await?;
        let timeline =
            timeline.iter().map(|bytes| decode::<pb::TimelineEntry>(bytes)).collect::<Result<Vec<_>, _>>()?;
        let flags = self.project_flags(&principal, code).await?;
        let events = if request.include_events { self.store.load_stream(code).await? } else { Vec::new() };
        let count = timeline.len() as u64;
        Ok((pb::GetProjectResponse { summary, timeline, flags, events, parked }, count))
    }

    pub(crate) async fn public_view(
        &self,
        principal: Arc<Principal>,
        request: pb::GetPublicViewRequest,
    ) -> Outcome<pb::GetPublicViewResponse> {
        require_supervisor(&principal)?;
        let code = request.project_code.as_str();
        self.authorize_project(&principal, code).await?;
        let summary = self
            .store
            .project_summary(View::Public, code)
            .await?
            .ok_or_else(|| SupervisionError::NotFound(code.to_owned()))?;
        let timeline = self.store.timeline(View::Public, code).await?;
        let timeline =
            timeline.iter().map(|bytes| decode::<pb::TimelineEntry>(bytes)).collect::<Result<Vec<_>, _>>()?;
        let as_of_position = self.store.projected_position(code).await?;
        let count = timeline.len() as u64;
        Ok((pb::GetPublicViewResponse { summary: Some(decode(&summary)?), timeline, as_of_position }, count))
    }

    pub(crate) async fn verify(
        &self,
        principal: Arc<Principal>,
        request: pb::VerifyProjectRequest,
    ) -> Outcome<pb::VerifyProjectResponse> {
        require_supervisor(&principal)?;
        let code = request.project_code.as_str();
        self.authorize_project(&principal, code).await?;
        let events = self.store.load_stream(code).await?;
        let Some(head) = events.last() else {
            return Err(SupervisionError::NotFound(code.to_owned()));
        };
        let broken = verify_chain(&events);
        let events_checked = broken.as_ref().map_or(events.len() as u64, |link| link.project_seq);
        Ok((
            pb::VerifyProjectResponse {
                ok: broken.is_none(),
                events_checked,
                chain_head_hash: head.hash.clone(),
                head_seq: head.project_seq,
                first_broken_link: broken,
                verified_at: Some(timestamp((self.clock)())),
            },
            events_checked,
        ))
    }
}
