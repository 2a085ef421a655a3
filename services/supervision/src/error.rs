//! Why a supervisor call failed, and the one mapping to gRPC status.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every gongkai error.
const ERROR_DOMAIN: &str = "gongkai.v1";

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
}

fn error_info(code: Code, message: String, reason: &str, metadata: HashMap<String, String>) -> Status {
    Status::with_error_details(code, message, ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata))
}

impl From<SupervisionError> for Status {
    fn from(error: SupervisionError) -> Self {
        match error {
            SupervisionError::NotASupervisor => error_info(
                Code::PermissionDenied,
                "this credential is not a supervisor's".into(),
                "NOT_A_SUPERVISOR",
                HashMap::new(),
            ),
            SupervisionError::NotAnAuditor => error_info(
                Code::PermissionDenied,
                "listing audit records needs the auditor role".into(),
                "NOT_AN_AUDITOR",
                HashMap::new(),
            ),
            SupervisionError::RegionNotAllowed { region } => error_info(
                Code::PermissionDenied,
                format!("region {region} is outside the regions of this credential"),
                "REGION_NOT_ALLOWED",
                HashMap::from([("region".to_owned(), region)]),
            ),
            SupervisionError::Invalid(violations) => {
                let mut details = ErrorDetails::new();
                for (field, description) in &violations {
                    details.add_bad_request_violation(field.clone(), description.clone());
                }
                let fields: Vec<&str> = violations.iter().map(|(field, _)| field.as_str()).collect();
                Status::with_error_details(
                    Code::InvalidArgument,
                    format!("invalid field(s): {}", fields.join(", ")),
                    details,
                )
            }
            SupervisionError::NotFound(project) => Status::not_found(format!("project {project} is unknown")),
            SupervisionError::Store(store_error) => {
                // Internal detail stays in the log, never in the reply.
                tracing::error!(error = %store_error, source = ?std::error::Error::source(&store_error), "Read model failed.");
                Status::unavailable("the read model is unavailable; retry with backoff")
            }
            SupervisionError::Audit(store_error) => {
                tracing::error!(error = %store_error, "Audit log failed.");
                Status::unavailable("the audit log is unavailable; retry with backoff")
            }
        }
    }
}
