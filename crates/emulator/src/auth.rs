//! Guest credentials: the `Authorization: Bearer` header and JWT verification, shared by the
//! REST routes, the event-stream upgrade and Web Messaging history.

use crate::error::ApiError;
use crate::jwt::{Claims, TokenError};
use crate::state::Shared;
use http::HeaderMap;
use std::sync::Arc;

/// The token of an `Authorization: Bearer <jwt>` header, or the 401 the service answers.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(http::header::AUTHORIZATION).ok_or_else(|| {
        ApiError::new(
            401,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        )
    })?;
    let bad = || ApiError::new(401, "bad.credentials", "Invalid login credentials.");
    let text = value.to_str().map_err(|_| bad())?.trim();
    let (scheme, token) = text.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(bad());
    }
    Ok(token.trim())
}

/// Verifies a guest JWT (signature, issuer, expiry), or the 401 the service answers.
pub(crate) fn verify(shared: &Shared, token: &str) -> Result<Arc<Claims>, ApiError> {
    verify_keyed(shared, token, shared.signer.token_key(token))
}

/// [`verify`] with the token's key (`Signer::token_key`) already computed.
pub(crate) fn verify_keyed(
    shared: &Shared,
    token: &str,
    key: u64,
) -> Result<Arc<Claims>, ApiError> {
    shared.signer.verify_keyed(token, key).map_err(|e| match e {
        TokenError::Bad => ApiError::new(401, "bad.credentials", "Invalid login credentials."),
        TokenError::Expired => ApiError::new(
            401,
            "credentials.expired",
            "The supplied credentials are expired and cannot be used.",
        ),
    })
}
