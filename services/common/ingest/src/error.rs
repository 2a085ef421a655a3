//! Why a submission was not recorded, and the one mapping to gRPC status.
//!
//! Every status made here fits the trailers clients accept, whatever the
//! request: field violations go through
//! [`gongkai_grpc::details::invalid_argument`] (the first ones listed, the
//! others counted) and messages are cut to [`MAX_MESSAGE_BYTES`]. A store
//! failure is UNAVAILABLE when the store may come back, and INTERNAL when
//! only a bug or corrupt data explains it ([`is_defect`]): retrying would
//! not help and an operator must look.

use std::collections::HashMap;
use std::sync::Arc;

use gongkai_domain::vocabulary::domain_label;
use gongkai_domain::{FieldViolation, Rejection};
use gongkai_proto::v1::Domain;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every gongkai error.
const ERROR_DOMAIN: &str = "gongkai.v1";

/// Longest status message, and longest `ErrorInfo` metadata value, in bytes.
const MAX_MESSAGE_BYTES: usize = 1024;
const MAX_METADATA_BYTES: usize = 256;

/// A submission that was not recorded. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Malformed fields, one violation each.
    #[error("the request has {} invalid field(s)", .0.len())]
    Invalid(Vec<FieldViolation>),
    /// A hard rule refused the fact.
    #[error("refused by rule {}", .0.rule)]
    Refused(#[source] Rejection),
    /// The project lies outside the caller's regions.
    #[error("project region {region} is outside the caller's regions")]
    RegionNotAllowed {
        /// The project's region code.
        region: String,
    },
    /// The credential may not submit facts.
    #[error("the credential may not submit facts")]
    NotASubmitter,
    /// A correction sent to another domain's service.
    #[error("this service records {expected:?} facts only")]
    WrongDomain {
        /// The service's domain.
        expected: Domain,
    },
    /// The request id was used before for a different request.
    #[error("request id already used for a different request")]
    RequestIdReused {
        /// The event the first request created.
        event_id: String,
    },
    /// Other writers kept winning the race for the project's next seq.
    #[error("too many concurrent writes to the project")]
    Contended,
    /// The store failed; shared by the appends of a batch whose transaction
    /// failed.
    #[error("event store failed")]
    Store(#[source] Arc<gongkai_store::StoreError>),
    /// The task that commits appends has stopped (the process is shutting
    /// down); nothing was written.
    #[error("the committer has stopped")]
    CommitterStopped,
    /// The operating system gave no random bytes for the event's commitment
    /// seed; nothing was written.
    #[error("no randomness for the commitment seed: {0}")]
    NoRandomness(getrandom::Error),
}

impl From<gongkai_store::StoreError> for IngestError {
    fn from(error: gongkai_store::StoreError) -> Self {
        IngestError::Store(Arc::new(error))
    }
}

impl IngestError {
    /// A short, bounded label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::Invalid(_) => "INVALID_ARGUMENT",
            IngestError::Refused(rejection) => rejection.rule,
            IngestError::RegionNotAllowed { .. } => "REGION_NOT_ALLOWED",
            IngestError::NotASubmitter => "NOT_A_SUBMITTER",
            IngestError::WrongDomain { .. } => "EVENT_OTHER_DOMAIN",
            IngestError::RequestIdReused { .. } => "REQUEST_ID_REUSED",
            IngestError::Contended => "CONTENDED",
            IngestError::Store(error) if is_defect(error) => "INTERNAL",
            IngestError::Store(_) | IngestError::CommitterStopped => "STORE_UNAVAILABLE",
            IngestError::NoRandomness(_) => "RANDOMNESS_UNAVAILABLE",
        }
    }
}

/// Whether a store failure means a bug or corrupt data rather than a store
/// that is down: an event the submit path built wrongly (`InvalidEvent`,
/// `ChainMismatch`) or stored data this build cannot read (`Corrupt`).
fn is_defect(error: &gongkai_store::StoreError) -> bool {
    use gongkai_store::StoreError;
    matches!(error, StoreError::Corrupt(_) | StoreError::ChainMismatch { .. } | StoreError::InvalidEvent(_))
}

fn error_info(code: Code, message: String, reason: &str, metadata: HashMap<String, String>) -> Status {
    use gongkai_grpc::details::bounded;
    let metadata: HashMap<String, String> =
        metadata.into_iter().map(|(key, value)| (key, bounded(&value, MAX_METADATA_BYTES).into_owned())).collect();
    let message = bounded(&message, MAX_MESSAGE_BYTES).into_owned();
    Status::with_error_details(code, message, ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata))
}

impl From<IngestError> for Status {
    fn from(error: IngestError) -> Self {
        let reason = error.reason();
        match error {
            IngestError::Invalid(violations) => gongkai_grpc::details::invalid_argument(
                violations.iter().map(|violation| (violation.field.as_str(), violation.description.as_str())),
            ),
            IngestError::Refused(rejection) => {
                let metadata = rejection.context.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
                error_info(
                    Code::FailedPrecondition,
                    format!("{}: {}", rejection.rule, rejection.message),
                    reason,
                    metadata,
                )
            }
            IngestError::RegionNotAllowed { region } => error_info(
                Code::PermissionDenied,
                format!("project region {region} is outside the regions of this credential"),
                reason,
                HashMap::from([("region_code".to_owned(), region)]),
            ),
            IngestError::NotASubmitter => error_info(
                Code::PermissionDenied,
                "this credential may not submit facts".into(),
                reason,
                HashMap::new(),
            ),
            IngestError::WrongDomain { expected } => error_info(
                Code::FailedPrecondition,
                format!("this service records {} facts only", domain_label(expected)),
                reason,
                HashMap::from([("service_domain".to_owned(), domain_label(expected).to_owned())]),
            ),
            IngestError::RequestIdReused { event_id } => error_info(
                Code::AlreadyExists,
                "request_id was already used for a different request".into(),
                reason,
                HashMap::from([("event_id".to_owned(), event_id)]),
            ),
            IngestError::Contended => {
                Status::aborted("too many concurrent writes to this project; retry with the same request_id")
            }
            IngestError::Store(store_error) if is_defect(&store_error) => {
                // A bug or corrupt data: retrying cannot help, an operator must look.
                tracing::error!(error = %store_error, source = ?std::error::Error::source(&store_error), "Event store holds or was handed data only a bug explains.");
                Status::internal("internal error; nothing was recorded")
            }
            IngestError::CommitterStopped => {
                Status::unavailable("the service is shutting down; retry with the same request_id")
            }
            IngestError::NoRandomness(error) => {
                tracing::error!(%error, "The operating system gave no random bytes.");
                Status::unavailable("the service cannot draw random bytes; retry with the same request_id")
            }
            IngestError::Store(store_error) => {
                // Internal detail stays in the log, never in the reply.
                tracing::error!(error = %store_error, source = ?std::error::Error::source(&store_error), "Event store failed.");
                Status::unavailable("the event store is unavailable; retry with the same request_id")
            }
        }
    }
}
