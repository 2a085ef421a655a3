//! Why a supervisor call failed, and the one mapping to gRPC status.
//!
//! [`SupervisionError::code`] is the one table of codes: the status sent
//! and the audit record's outcome both come from it. Every status fits the
//! trailers clients accept: field violations go through
//! [`gongkai_grpc::details::invalid_argument`] and names a caller typed are
//! cut to [`MAX_ECHO_BYTES`]. A store failure is UNAVAILABLE when the store
//! may come back, and INTERNAL when only a bug or corrupt data explains it.

use std::collections::HashMap;

use gongkai_grpc::details::bounded;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every gongkai error.
const ERROR_DOMAIN: &str = "gongkai.v1";

/// Longest piece of the request echoed in a status, in bytes.
const MAX_ECHO_BYTES: usize = 256;

/// A supervisor call that was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SupervisionError {
    /// The credential is not a supervisor's.
    #[error("the credential is not a supervisor's")]
    NotASupervisor,
    /// ListAuditRecords without the auditor role.
    #[error("the credential is not an auditor's")]
    NotAnAuditor,
    /// A project or region filter outside the caller's regions.
    #[error("region {region} is outside the caller's regions")]
    RegionNotAllowed {
        /// The region code or prefix asked for.
        region: String,
    },
    /// Malformed fields: `(field, description)` each.
    #[error("the request has {} invalid field(s)", .0.len())]
    Invalid(Vec<(String, String)>),
    /// Unknown project (within the caller's regions).
    #[error("project {0} is unknown")]
    NotFound(String),
    /// Unknown event: an id, or a project's seq, that names none.
    #[error("event {0} is unknown")]
    UnknownEvent(String),
    /// The transparency log has signed no checkpoint yet.
    #[error("the transparency log has signed no checkpoint yet")]
    NoCheckpoint,
    /// The event is not in the log's latest checkpoint yet.
    #[error("the event is not in a signed checkpoint yet (latest: {latest_size} leaves)")]
    NotCheckpointed {
        /// The latest checkpoint's tree size.
        latest_size: u64,
    },
    /// Tree sizes beyond the latest checkpoint: `(field, description)` each.
    #[error("tree size(s) beyond the latest checkpoint of {latest_size} leaves")]
    BeyondCheckpoint {
        /// The latest checkpoint's tree size.
        latest_size: u64,
        /// The fields and what is wrong with them.
        violations: Vec<(String, String)>,
    },
    /// The stored transparency log does not add up (a hash missing, a note
    /// that does not parse): only a bug or a damaged store explains it.
    #[error("the stored transparency log does not add up")]
    Log(#[from] gongkai_tlog::Error),
    /// The read model or the event store failed.
    #[error("store failed")]
    Store(#[from] gongkai_store::StoreError),
    /// The call could not be recorded in the audit log.
    #[error("audit log failed")]
    Audit(#[source] gongkai_store::StoreError),
}

impl SupervisionError {
    /// One invalid field.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        SupervisionError::Invalid(vec![(field.to_owned(), description.into())])
    }

    /// The status code of this error.
    pub fn code(&self) -> Code {
        match self {
            SupervisionError::NotASupervisor
            | SupervisionError::NotAnAuditor
            | SupervisionError::RegionNotAllowed { .. } => Code::PermissionDenied,
            SupervisionError::Invalid(_) => Code::InvalidArgument,
            SupervisionError::NotFound(_) | SupervisionError::UnknownEvent(_) => Code::NotFound,
            SupervisionError::NoCheckpoint | SupervisionError::NotCheckpointed { .. } => Code::FailedPrecondition,
            SupervisionError::BeyondCheckpoint { .. } => Code::OutOfRange,
            SupervisionError::Log(_) => Code::Internal,
            SupervisionError::Store(error) if is_defect(error) => Code::Internal,
            // The contract: a call that cannot be recorded is UNAVAILABLE.
            SupervisionError::Store(_) | SupervisionError::Audit(_) => Code::Unavailable,
        }
    }
}

/// Whether a store failure means a bug or corrupt data (rows this build
/// cannot read, an event built wrongly) rather than a store that is down.
fn is_defect(error: &gongkai_store::StoreError) -> bool {
    use gongkai_store::StoreError;
    matches!(error, StoreError::Corrupt(_) | StoreError::ChainMismatch { .. } | StoreError::InvalidEvent(_))
}

fn error_info(code: Code, message: String, reason: &str, metadata: HashMap<String, String>) -> Status {
    Status::with_error_details(code, message, ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata))
}

impl From<SupervisionError> for Status {
    fn from(error: SupervisionError) -> Self {
        let code = error.code();
        match error {
            SupervisionError::NotASupervisor => {
                error_info(code, "this credential is not a supervisor's".into(), "NOT_A_SUPERVISOR", HashMap::new())
            }
            SupervisionError::NotAnAuditor => error_info(
                code,
                "listing audit records needs the auditor role".into(),
                "NOT_AN_AUDITOR",
                HashMap::new(),
            ),
            SupervisionError::RegionNotAllowed { region } => {
                let region = bounded(&region, MAX_ECHO_BYTES).into_owned();
                error_info(
                    code,
                    format!("region {region} is outside the regions of this credential"),
                    "REGION_NOT_ALLOWED",
                    HashMap::from([("region".to_owned(), region)]),
                )
            }
            SupervisionError::Invalid(violations) => gongkai_grpc::details::invalid_argument(
                violations.iter().map(|(field, description)| (field.as_str(), description.as_str())),
            ),
            SupervisionError::NotFound(project) => {
                Status::new(code, format!("project {} is unknown", bounded(&project, MAX_ECHO_BYTES)))
            }
            SupervisionError::UnknownEvent(event) => {
                Status::new(code, format!("event {} is unknown", bounded(&event, MAX_ECHO_BYTES)))
            }
            SupervisionError::NoCheckpoint => {
                Status::new(code, "the transparency log has signed no checkpoint yet; ask again after its first")
            }
            SupervisionError::NotCheckpointed { latest_size } => Status::new(
                code,
                format!(
                    "the event is not in a signed checkpoint yet (the latest has {latest_size} leaves); ask again \
                     after the next one"
                ),
            ),
            SupervisionError::BeyondCheckpoint { latest_size, violations } => gongkai_grpc::details::field_violations(
                code,
                &format!("beyond the transparency log's latest checkpoint ({latest_size} leaves)"),
                violations.iter().map(|(field, description)| (field.as_str(), description.as_str())),
            ),
            SupervisionError::Log(log_error) => {
                tracing::error!(error = %log_error, "The stored transparency log does not add up.");
                Status::new(code, "internal error")
            }
            // Internal detail stays in the log, never in the reply.
            SupervisionError::Store(store_error) if code == Code::Internal => {
                tracing::error!(error = %store_error, source = ?std::error::Error::source(&store_error), "Read model holds data only a bug explains.");
                Status::new(code, "internal error")
            }
            SupervisionError::Store(store_error) => {
                tracing::error!(error = %store_error, source = ?std::error::Error::source(&store_error), "Read model failed.");
                Status::new(code, "the read model is unavailable; retry with backoff")
            }
            SupervisionError::Audit(store_error) => {
                tracing::error!(error = %store_error, source = ?std::error::Error::source(&store_error), "Audit log failed.");
                Status::new(code, "the audit log is unavailable; retry with backoff")
            }
        }
    }
}
