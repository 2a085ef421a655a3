//! `WatchEvents`: a live stream of the events after a feed position, within
//! the caller's regions and narrowed by domain, project and type. The
//! request is checked and its start position resolved before the stream
//! opens; then a task ([`follow`]) reads the feed and feeds a bounded
//! channel behind `ReceiverStream`, and stops when the client goes away
//! (the receiver is dropped) or the store fails (the error is the stream's
//! last item).

use std::sync::Arc;
use std::time::Duration;

use gongkai_grpc::auth::Principal;
use gongkai_proto::v1 as pb;
use gongkai_store::{FeedCursor, SupervisionReader};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::{Outcome, Supervision, SupervisionError, require_supervisor, scope};

/// How often an idle WatchEvents stream looks for new events.
const WATCH_POLL: Duration = Duration::from_millis(50);

/// What a WatchEvents call streams to its client.
pub(crate) type EventStream = ReceiverStream<Result<pb::EventEnvelope, Status>>;

impl Supervision {
    pub(crate) async fn watch(
        &self,
        principal: Arc<Principal>,
        request: pb::WatchEventsRequest,
    ) -> Outcome<EventStream> {
        require_supervisor(&principal)?;
        let region_prefixes = scope(&principal, &request.region_prefix, "region_prefix")?;
        for domain in &request.domains {
            if pb::Domain::try_from(*domain).is_err() {
                return Err(SupervisionError::invalid("domains", format!("unknown domain {domain}")));
            }
        }
        if !request.project_code.is_empty() {
            self.authorize_project(&principal, &request.project_code).await?;
        }
        let cursor = self
            .store
            .feed_cursor(request.after_position)
            .await?
            .ok_or_else(|| SupervisionError::invalid("after_position", "no event has this position"))?;
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        tokio::spawn(follow(self.store.clone(), cursor, request, region_prefixes, sender));
        Ok((ReceiverStream::new(receiver), 0))
    }
}

/// Feeds `sender` with every event after `cursor` that matches `request`,
/// until the receiver is dropped (the client went away).
async fn follow(
    store: SupervisionReader,
    mut cursor: FeedCursor,
    request: pb::WatchEventsRequest,
    regions: Vec<String>,
    sender: tokio::sync::mpsc::Sender<Result<pb::EventEnvelope, Status>>,
) {
    loop {
        let batch = match store.feed_after(cursor, 256).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, "WatchEvents could not read the event store.");
                let _ = sender.send(Err(SupervisionError::Store(error).into())).await;
                return;
            }
        };
        let idle = batch.is_empty();
        for (event, region, next) in batch {
            cursor = next;
            let wanted = regions.iter().any(|prefix| region.starts_with(prefix.as_str()))
                && (request.domains.is_empty() || request.domains.contains(&event.domain))
                && (request.project_code.is_empty() || request.project_code == event.subject)
                && (request.types.is_empty() || request.types.contains(&event.r#type));
            if wanted && sender.send(Ok(event)).await.is_err() {
                return;
            }
        }
        if idle {
            tokio::select! {
                () = sender.closed() => return,
                () = tokio::time::sleep(WATCH_POLL) => {}
            }
        }
    }
}
