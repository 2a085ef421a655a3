//! The transparency log for supervisors: `GetCheckpoint` (the latest signed
//! checkpoint, as the public site serves it), `GetInclusionProof` (an
//! event's leaf and audit path) and `GetConsistencyProof` (between two tree
//! sizes).
//!
//! Proofs are computed from the stored tree hashes by `gongkai-tlog`, and
//! only for tree sizes up to the latest signed checkpoint, so that each one
//! can be checked against a root the log signed (a size past it may be
//! valid later: OUT_OF_RANGE). The checkpoint and the consistency proofs are
//! public and log-wide, not limited to the caller's regions; an inclusion
//! proof names an event, whose project must lie in them.

use std::collections::BTreeSet;
use std::sync::Arc;

use gongkai_domain::clock::timestamp;
use gongkai_grpc::auth::Principal;
use gongkai_proto::v1 as pb;
use gongkai_store::{EventKey, LoggedEvent, StoreError, StoredCheckpoint};
use gongkai_tlog::checkpoint::Checkpoint;
use gongkai_tlog::merkle::{self, Hash};
use gongkai_tlog::note::Note;

use crate::{Outcome, Supervision, SupervisionError, require_supervisor};

/// How a `GetInclusionProof` names its event.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WantedEvent {
    Id(uuid::Uuid),
    Seq { project_code: String, project_seq: u64 },
}

impl Supervision {
    pub(crate) async fn log_checkpoint(
        &self,
        principal: Arc<Principal>,
        _request: pb::GetCheckpointRequest,
    ) -> Outcome<pb::GetCheckpointResponse> {
        require_supervisor(&principal)?;
        let latest = self.latest_checkpoint().await?;
        Ok((pb::GetCheckpointResponse { checkpoint: Some(log_checkpoint(&latest)?) }, 1))
    }

    pub(crate) async fn inclusion_proof(
        &self,
        principal: Arc<Principal>,
        request: pb::GetInclusionProofRequest,
    ) -> Outcome<pb::GetInclusionProofResponse> {
        require_supervisor(&principal)?;
        let wanted = wanted_event(&request)?;
        let logged = self.logged_event(&principal, wanted).await?;
        let latest = self.latest_checkpoint().await?;
        let size = resolve_size("tree_size", request.tree_size, latest.tree_size)
            .map_err(|violation| beyond(latest.tree_size, vec![violation]))?;
        let (leaf_index, event_hash) = leaf_within(logged.leaf, size, latest.tree_size)?;

        let leaf_at = merkle::stored_hash_index(0, leaf_index)?;
        let path_at = merkle::inclusion_proof_indexes(leaf_index, size)?;
        let root_at = merkle::tree_hash_indexes(size)?;
        let stored = self.stored_hashes([vec![leaf_at], path_at, root_at].concat()).await?;
        let leaf_hash = stored.get(&leaf_at).copied().ok_or(gongkai_tlog::Error::MissingHash(leaf_at))?;
        let audit_path = merkle::inclusion_proof(leaf_index, size, &stored)?;
        let root_hash = merkle::tree_hash(size, &stored)?;
        let checkpoint = self.checkpoint_of(size, &latest).await?;
        let event = logged.event;
        Ok((
            pb::GetInclusionProofResponse {
                event_id: event.event_id,
                project_code: event.subject,
                project_seq: event.project_seq,
                event_hash: hex::encode(event_hash),
                leaf_index,
                leaf_hash: leaf_hash.to_vec(),
                tree_size: size,
                root_hash: root_hash.to_vec(),
                audit_path: hashes(&audit_path),
                checkpoint,
            },
            1,
        ))
    }

    pub(crate) async fn consistency_proof(
        &self,
        principal: Arc<Principal>,
        request: pb::GetConsistencyProofRequest,
    ) -> Outcome<pb::GetConsistencyProofResponse> {
        require_supervisor(&principal)?;
        check_consistency_request(&request)?;
        let latest = self.latest_checkpoint().await?;
        let (old_size, new_size) = consistency_sizes(&request, latest.tree_size)?;

        let proof_at = merkle::consistency_proof_indexes(old_size, new_size)?;
        let old_at = merkle::tree_hash_indexes(old_size)?;
        let new_at = merkle::tree_hash_indexes(new_size)?;
        let stored = self.stored_hashes([proof_at, old_at, new_at].concat()).await?;
        let proof = merkle::consistency_proof(old_size, new_size, &stored)?;
        let old_root_hash = merkle::tree_hash(old_size, &stored)?;
        let new_root_hash = merkle::tree_hash(new_size, &stored)?;
        Ok((
            pb::GetConsistencyProofResponse {
                old_size,
                new_size,
                old_root_hash: old_root_hash.to_vec(),
                new_root_hash: new_root_hash.to_vec(),
                proof: hashes(&proof),
                old_checkpoint: self.checkpoint_of(old_size, &latest).await?,
                new_checkpoint: self.checkpoint_of(new_size, &latest).await?,
            },
            1,
        ))
    }

    async fn latest_checkpoint(&self) -> Result<StoredCheckpoint, SupervisionError> {
        self.store.latest_checkpoint().await?.ok_or(SupervisionError::NoCheckpoint)
    }

    /// The checkpoint signed for `size`, if one was.
    async fn checkpoint_of(
        &self,
        size: u64,
        latest: &StoredCheckpoint,
    ) -> Result<Option<pb::LogCheckpoint>, SupervisionError> {
        let stored = if size == latest.tree_size { Some(latest.clone()) } else { self.store.checkpoint(size).await? };
        stored.as_ref().map(log_checkpoint).transpose()
    }

    /// The stored hashes at `indexes`, each read once.
    async fn stored_hashes(
        &self,
        indexes: Vec<u64>,
    ) -> Result<std::collections::BTreeMap<u64, Hash>, SupervisionError> {
        let indexes: Vec<u64> = indexes.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        Ok(self.store.tlog_hashes(&indexes).await?)
    }

    /// The event `wanted` names, after checking the caller may see its
    /// project.
    async fn logged_event(&self, principal: &Principal, wanted: WantedEvent) -> Result<LoggedEvent, SupervisionError> {
        match wanted {
            WantedEvent::Id(id) => {
                let logged = self
                    .store
                    .logged_event(EventKey::Id(id))
                    .await?
                    .ok_or_else(|| SupervisionError::UnknownEvent(id.to_string()))?;
                self.authorize_project(principal, &logged.event.subject).await?;
                Ok(logged)
            }
            WantedEvent::Seq { project_code, project_seq } => {
                self.authorize_project(principal, &project_code).await?;
                let key = EventKey::Seq { project_code: &project_code, project_seq };
                self.store
                    .logged_event(key)
                    .await?
                    .ok_or_else(|| SupervisionError::UnknownEvent(format!("{project_seq} of project {project_code}")))
            }
        }
    }
}

/// The checkpoint as the API returns it: the note as served, and what it
/// says, checked against the row it was stored with.
fn log_checkpoint(stored: &StoredCheckpoint) -> Result<pb::LogCheckpoint, SupervisionError> {
    let note = Note::parse(stored.note.as_bytes())?;
    let checkpoint = Checkpoint::parse(note.text())?;
    if checkpoint.size() != stored.tree_size || *checkpoint.root() != stored.root_hash {
        return Err(SupervisionError::Store(StoreError::Corrupt(format!(
            "the checkpoint of size {} holds a note of another tree",
            stored.tree_size
        ))));
    }
    Ok(pb::LogCheckpoint {
        note: stored.note.clone(),
        origin: checkpoint.origin().to_owned(),
        tree_size: stored.tree_size,
        root_hash: stored.root_hash.to_vec(),
        signed_at: Some(timestamp(stored.signed_at)),
    })
}

fn hashes(hashes: &[Hash]) -> Vec<Vec<u8>> {
    hashes.iter().map(|hash| hash.to_vec()).collect()
}

fn beyond(latest_size: u64, violations: Vec<(String, String)>) -> SupervisionError {
    SupervisionError::BeyondCheckpoint { latest_size, violations }
}

/// Which event a `GetInclusionProof` names: `event_id`, or `project_code`
/// with `project_seq`; one violation per bad field.
fn wanted_event(request: &pb::GetInclusionProofRequest) -> Result<WantedEvent, SupervisionError> {
    let by_seq = !request.project_code.is_empty() || request.project_seq != 0;
    if !request.event_id.is_empty() {
        if by_seq {
            return Err(SupervisionError::invalid(
                "event_id",
                "give event_id, or project_code with project_seq, not both",
            ));
        }
        return uuid::Uuid::parse_str(&request.event_id)
            .map(WantedEvent::Id)
            .map_err(|_| SupervisionError::invalid("event_id", "not a UUID"));
    }
    let mut violations = Vec::new();
    if !by_seq {
        violations.push(("event_id".to_owned(), "required, unless project_code and project_seq are given".to_owned()));
    }
    if request.project_code.is_empty() && request.project_seq != 0 {
        violations.push(("project_code".to_owned(), "required with project_seq".to_owned()));
    }
    if !request.project_code.is_empty() && request.project_seq == 0 {
        violations.push(("project_seq".to_owned(), "required with project_code: 1 or more".to_owned()));
    }
    if !violations.is_empty() {
        return Err(SupervisionError::Invalid(violations));
    }
    Ok(WantedEvent::Seq { project_code: request.project_code.clone(), project_seq: request.project_seq })
}

/// The tree size `requested` in `field`: itself, or the latest
/// checkpoint's for 0; a violation when beyond the latest checkpoint.
fn resolve_size(field: &str, requested: u64, latest: u64) -> Result<u64, (String, String)> {
    match requested {
        0 => Ok(latest),
        size if size <= latest => Ok(size),
        size => Err((
            field.to_owned(),
            format!("{size} is beyond the latest checkpoint's tree size, {latest}; 0 means that size"),
        )),
    }
}

/// The event's leaf index and logged hash when the tree of `size` leaves
/// holds it. A leaf past the latest checkpoint (or none yet) is a state to
/// wait for; a leaf the latest checkpoint holds but `size` does not is a
/// wrong `tree_size`.
fn leaf_within(leaf: Option<(u64, Hash)>, size: u64, latest: u64) -> Result<(u64, Hash), SupervisionError> {
    match leaf {
        Some((index, hash)) if index < size => Ok((index, hash)),
        Some((index, _)) if index < latest => Err(SupervisionError::invalid(
            "tree_size",
            format!(
                "the event is leaf {index}; a tree of {size} leaves does not hold it: give a size above {index}, or 0 \
                 for the latest checkpoint"
            ),
        )),
        _ => Err(SupervisionError::NotCheckpointed { latest_size: latest }),
    }
}

/// What a `GetConsistencyProof` gets wrong whatever the log holds.
fn check_consistency_request(request: &pb::GetConsistencyProofRequest) -> Result<(), SupervisionError> {
    if request.old_size == 0 {
        return Err(SupervisionError::invalid(
            "old_size",
            "required: a tree size of 1 or more (the empty tree is a prefix of every tree)",
        ));
    }
    if request.new_size != 0 && request.old_size > request.new_size {
        return Err(SupervisionError::invalid(
            "old_size",
            format!("{} is above new_size, {}", request.old_size, request.new_size),
        ));
    }
    Ok(())
}

/// The two sizes of a checked `GetConsistencyProof`, given the latest
/// checkpoint's size: OUT_OF_RANGE for each beyond it.
fn consistency_sizes(request: &pb::GetConsistencyProofRequest, latest: u64) -> Result<(u64, u64), SupervisionError> {
    let old = resolve_size("old_size", request.old_size, latest);
    let new = resolve_size("new_size", request.new_size, latest);
    match (old, new) {
        (Ok(old), Ok(new)) => Ok((old, new)),
        (old, new) => Err(beyond(latest, [old.err(), new.err()].into_iter().flatten().collect())),
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    fn inclusion(event_id: &str, project_code: &str, project_seq: u64) -> pb::GetInclusionProofRequest {
        pb::GetInclusionProofRequest {
            event_id: event_id.to_owned(),
            project_code: project_code.to_owned(),
            project_seq,
            tree_size: 0,
        }
    }

    fn fields(error: SupervisionError) -> Vec<String> {
        match error {
            SupervisionError::Invalid(violations) | SupervisionError::BeyondCheckpoint { violations, .. } => {
                violations.into_iter().map(|(field, _)| field).collect()
            }
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn an_event_is_named_one_way_and_each_bad_field_is_said() {
        let id = "0190a000-0000-7000-8000-000000000001";
        assert_eq!(wanted_event(&inclusion(id, "", 0)).ok(), Some(WantedEvent::Id(id.parse().expect("uuid"))));
        assert_eq!(
            wanted_event(&inclusion("", "P", 3)).ok(),
            Some(WantedEvent::Seq { project_code: "P".into(), project_seq: 3 })
        );
        let refused = |request| fields(wanted_event(&request).expect_err("refused"));
        assert_eq!(refused(inclusion("", "", 0)), ["event_id"]);
        assert_eq!(refused(inclusion("not-a-uuid", "", 0)), ["event_id"]);
        assert_eq!(refused(inclusion(id, "P", 1)), ["event_id"]);
        assert_eq!(refused(inclusion("", "", 7)), ["project_code"]);
        assert_eq!(refused(inclusion("", "P", 0)), ["project_seq"]);
    }

    #[test]
    fn sizes_default_to_the_latest_checkpoint_and_stop_there() {
        assert_eq!(resolve_size("tree_size", 0, 58), Ok(58));
        assert_eq!(resolve_size("tree_size", 1, 58), Ok(1));
        assert_eq!(resolve_size("tree_size", 58, 58), Ok(58));
        for beyond in [59, i64::MAX as u64 + 1, u64::MAX] {
            let (field, description) = resolve_size("tree_size", beyond, 58).expect_err("beyond");
            assert_eq!(field, "tree_size");
            assert!(description.contains(&beyond.to_string()) && description.contains("58"), "{description}");
        }
    }

    #[test]
    fn a_leaf_outside_the_tree_is_a_wrong_size_or_a_wait() {
        let leaf = Some((10, [1; 32]));
        assert_eq!(leaf_within(leaf, 11, 20).expect("held"), (10, [1; 32]));
        assert_eq!(fields(leaf_within(leaf, 10, 20).expect_err("too small")), ["tree_size"]);
        assert_eq!(leaf_within(leaf, 10, 10).expect_err("not yet").code(), Code::FailedPrecondition);
        assert_eq!(leaf_within(None, 20, 20).expect_err("unlogged").code(), Code::FailedPrecondition);
    }

    #[test]
    fn consistency_sizes_are_checked_before_and_against_the_log() {
        let request = |old_size, new_size| pb::GetConsistencyProofRequest { old_size, new_size };
        assert_eq!(fields(check_consistency_request(&request(0, 5)).expect_err("no old")), ["old_size"]);
        assert_eq!(fields(check_consistency_request(&request(6, 5)).expect_err("old > new")), ["old_size"]);
        assert!(check_consistency_request(&request(5, 0)).is_ok());
        assert!(check_consistency_request(&request(u64::MAX, u64::MAX)).is_ok());
        assert_eq!(consistency_sizes(&request(3, 0), 9).expect("in range"), (3, 9));
        assert_eq!(consistency_sizes(&request(3, 5), 9).expect("in range"), (3, 5));
        let error = consistency_sizes(&request(u64::MAX, u64::MAX), 9).expect_err("beyond");
        assert_eq!(error.code(), Code::OutOfRange);
        assert_eq!(fields(error), ["old_size", "new_size"]);
        assert_eq!(fields(consistency_sizes(&request(10, 0), 9).expect_err("old beyond")), ["old_size"]);
    }
}
