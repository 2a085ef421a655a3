//! Making credentials: a random bearer token and the configuration entry
//! that holds only its hash.

use gongkai_grpc::auth::{CredentialConfig, Role, token_sha256};
use serde::Serialize;

/// A new random bearer token (256 bits, hex).
pub(crate) fn new_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The configuration entry for `token`.
pub(crate) fn entry(id: &str, role: Role, regions: Vec<String>, token: &str) -> CredentialConfig {
    CredentialConfig { id: id.to_owned(), token_sha256: hex::encode(token_sha256(token)), role, regions }
}

/// What `gongkai credential` prints: the token for the caller, the entry for
/// the configuration.
pub(crate) fn describe(entry: &CredentialConfig, token: &str) -> Result<String, toml::ser::Error> {
    #[derive(Serialize)]
    struct Auth<'a> {
        credentials: [&'a CredentialConfig; 1],
    }
    #[derive(Serialize)]
    struct Snippet<'a> {
        auth: Auth<'a>,
    }
    let snippet = toml::to_string(&Snippet { auth: Auth { credentials: [entry] } })?;
    Ok(format!(
        "# Give this token to the caller once; only its hash is kept:\n#   authorization: Bearer {token}\n{snippet}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_entry_is_valid_configuration_for_the_token() {
        let token = new_token();
        assert_eq!(token.len(), 64);
        let text = describe(&entry("hrb", Role::Submitter, vec!["2301".into()], &token), &token).expect("serializes");
        #[derive(serde::Deserialize)]
        struct Parsed {
            auth: crate::config::AuthConfig,
        }
        let parsed: Parsed = toml::from_str(&text).expect("valid TOML");
        let authenticator = gongkai_grpc::auth::Authenticator::new(&parsed.auth.credentials).expect("usable");
        assert_eq!(authenticator.principal(&token).map(|p| p.id.clone()).as_deref(), Some("hrb"));
        assert!(authenticator.principal("other").is_none());
    }
}
