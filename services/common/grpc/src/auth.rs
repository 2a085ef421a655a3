//! Bearer-credential authentication for every gongkai gRPC service.
//!
//! Each caller (a trading center, a supervisor, an auditor) holds a random
//! token; the configuration keeps only the token's SHA-256, the caller's id,
//! role and regions. The [`Authenticator`] is a tonic interceptor: it turns
//! `authorization: Bearer <token>` into a [`Principal`] request extension, or
//! answers UNAUTHENTICATED before any handler runs.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tonic::{Request, Status};

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A trading-center system: submits facts for projects in its regions.
    Submitter,
    /// A supervisor: queries projects in its regions.
    Supervisor,
    /// An auditor: reads the supervisors' audit trail.
    Auditor,
}

/// One configured credential.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    /// Stable id of the caller, e.g. `hrb-ggzy` (Harbin trading center); it
    /// becomes the `source` of every event the caller submits.
    pub id: String,
    /// Lowercase hex SHA-256 of the bearer token. The token itself is never stored.
    pub token_sha256: String,
    /// What the caller may do.
    pub role: Role,
    /// Administrative division codes or prefixes the caller may act on
    /// (`23` = Heilongjiang, `2301` = Harbin, `230113` = one district).
    pub regions: Vec<String>,
}

/// An authenticated caller, attached to each request as an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's id.
    pub id: String,
    /// What the caller may do.
    pub role: Role,
    /// Region prefixes the caller may act on.
    pub regions: Vec<String>,
}

impl Principal {
    /// Whether `region` (a 6-digit division code) lies in the caller's regions.
    pub fn covers_region(&self, region: &str) -> bool {
        self.regions.iter().any(|prefix| region.starts_with(prefix.as_str()))
    }
}

/// A credential configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A token hash is not 64 hex characters.
    #[error("credential `{0}`: token_sha256 must be 64 hex characters")]
    BadHash(String),
    /// Two credentials share an id or a token.
    #[error("credential `{0}` is configured twice (same id or same token)")]
    Duplicate(String),
    /// A region entry is not a prefix of a 6-digit division code.
    #[error("credential `{0}`: regions must be 2 to 6 digits")]
    BadRegion(String),
}

/// Resolves bearer tokens to principals. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    by_token_hash: Arc<HashMap<[u8; 32], Arc<Principal>>>,
}

impl Authenticator {
    /// Builds the lookup table from the configured credentials.
    pub fn new(credentials: &[CredentialConfig]) -> Result<Self, CredentialError> {
        let mut by_token_hash = HashMap::new();
        let mut ids = std::collections::HashSet::new();
        for credential in credentials {
            let mut hash = [0u8; 32];
            hex::decode_to_slice(credential.token_sha256.trim().to_ascii_lowercase(), &mut hash)
                .map_err(|_| CredentialError::BadHash(credential.id.clone()))?;
            let region_ok = |r: &String| (2..=6).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_digit());
            if !credential.regions.iter().all(region_ok) {
                return Err(CredentialError::BadRegion(credential.id.clone()));
            }
            let principal =
                Principal { id: credential.id.clone(), role: credential.role, regions: credential.regions.clone() };
            if !ids.insert(credential.id.clone()) || by_token_hash.insert(hash, Arc::new(principal)).is_some() {
                return Err(CredentialError::Duplicate(credential.id.clone()));
            }
        }
        Ok(Self { by_token_hash: Arc::new(by_token_hash) })
    }

    /// The principal holding `token`, if any.
    pub fn principal(&self, token: &str) -> Option<Arc<Principal>> {
        self.by_token_hash.get(&token_sha256(token)).cloned()
    }
}

/// The SHA-256 of a bearer token, as configured in `token_sha256`.
pub fn token_sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Authenticator {
    /// The principal of an `authorization` header value (`Bearer <token>`),
    /// or UNAUTHENTICATED.
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Arc<Principal>, Status> {
        let header =
            authorization.ok_or_else(|| Status::unauthenticated("missing `authorization: Bearer <token>` metadata"))?;
        let token = std::str::from_utf8(header)
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| Status::unauthenticated("`authorization` metadata must be `Bearer <token>`"))?;
        self.principal(token).ok_or_else(|| Status::unauthenticated("unknown credential"))
    }
}

impl tonic::service::Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let header = request.metadata().get("authorization").map(|value| value.as_encoded_bytes());
        let principal = self.authenticate(header)?;
        request.extensions_mut().insert(principal);
        Ok(request)
    }
}

/// The caller of a request that passed the [`Authenticator`].
///
/// Every gongkai handler starts here, so this is also where a call is
/// marked as decoded and handed to its handler (see [`crate::codes`]): the
/// statuses it makes from then on are its own.
pub fn principal<T>(request: &Request<T>) -> Result<Arc<Principal>, Status> {
    crate::codes::mark_handler_reached(request);
    request
        .extensions()
        .get::<Arc<Principal>>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("request was not authenticated"))
}

#[cfg(test)]
mod tests {
    use tonic::service::Interceptor;

    use super::*;

    fn authenticator() -> Authenticator {
        Authenticator::new(&[CredentialConfig {
            id: "hrb".into(),
            token_sha256: hex::encode(token_sha256("s3cret")),
            role: Role::Submitter,
            regions: vec!["2301".into()],
        }])
        .expect("valid credentials")
    }

    fn call(auth: &mut Authenticator, header: Option<&str>) -> Result<Arc<Principal>, Status> {
        let mut request = Request::new(());
        if let Some(value) = header {
            request.metadata_mut().insert("authorization", value.parse().expect("ascii"));
        }
        let request = auth.call(request)?;
        principal(&request)
    }

    #[test]
    fn a_known_token_yields_its_principal() {
        let principal = call(&mut authenticator(), Some("Bearer s3cret")).expect("authenticated");
        assert_eq!(principal.id, "hrb");
        assert!(principal.covers_region("230113"));
        assert!(!principal.covers_region("230200"));
    }

    #[test]
    fn missing_malformed_or_unknown_tokens_are_unauthenticated() {
        for header in [None, Some("s3cret"), Some("Bearer "), Some("Bearer wrong")] {
            let status = call(&mut authenticator(), header).expect_err("refused");
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{header:?}");
        }
    }

    #[test]
    fn bad_configuration_is_refused() {
        let bad = |hash: &str, regions: &[&str]| CredentialConfig {
            id: "x".into(),
            token_sha256: hash.into(),
            role: Role::Submitter,
            regions: regions.iter().map(|r| r.to_string()).collect(),
        };
        let good_hash = hex::encode(token_sha256("t"));
        assert!(matches!(Authenticator::new(&[bad("abc", &["23"])]), Err(CredentialError::BadHash(_))));
        assert!(matches!(Authenticator::new(&[bad(&good_hash, &["2"])]), Err(CredentialError::BadRegion(_))));
        assert!(matches!(
            Authenticator::new(&[bad(&good_hash, &["23"]), bad(&good_hash, &["23"])]),
            Err(CredentialError::Duplicate(_))
        ));
    }
}
