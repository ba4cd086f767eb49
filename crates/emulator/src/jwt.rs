//! RS256 guest JWTs with the real claim layout (PROTOCOL.md 3.2).

use crate::error::EmulatorError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

/// The issuer of every guest JWT.
pub const ISSUER: &str = "urn:purecloud:webchat";

/// `data` of the claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimData {
    /// Conversation id.
    pub conv: String,
    /// Deployment id.
    pub did: String,
    /// Guest member id.
    pub sub: String,
}

/// The claims, in the real service's key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Conversation, deployment and member.
    pub data: ClaimData,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// `urn:purecloud:webchat`.
    pub iss: String,
    /// Organization id.
    pub org: String,
}

struct KeyMaterial {
    enc: EncodingKey,
    dec: DecodingKey,
}

// One RSA key per process: 2048-bit generation is the slow part of starting an emulator,
// and tests start many. Each emulator still gets its own `kid`.
static KEY: OnceLock<Result<Arc<KeyMaterial>, String>> = OnceLock::new();

fn generate() -> Result<Arc<KeyMaterial>, String> {
    let key =
        rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|e| e.to_string())?;
    let der = key.to_pkcs1_der().map_err(|e| e.to_string())?;
    let enc = EncodingKey::from_rsa_der(der.as_bytes());
    let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
    let dec = DecodingKey::from_rsa_components(&n, &e).map_err(|e| e.to_string())?;
    Ok(Arc::new(KeyMaterial { enc, dec }))
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    Bad,
    Expired,
}

/// Signs and verifies guest JWTs for one emulator.
pub(crate) struct Signer {
    kid: String,
    key: Arc<KeyMaterial>,
}

impl Signer {
    /// Generates (once per process, on a blocking thread) the key and a fresh `kid`.
    pub async fn new() -> Result<Signer, EmulatorError> {
        let key = tokio::task::spawn_blocking(|| KEY.get_or_init(generate).clone())
            .await
            .map_err(|e| EmulatorError::Key(e.to_string()))?
            .map_err(EmulatorError::Key)?;
        Ok(Signer {
            kid: uuid::Uuid::new_v4().to_string(),
            key,
        })
    }

    pub fn sign(
        &self,
        conv: &str,
        deployment: &str,
        member: &str,
        org: &str,
        lifetime_secs: i64,
    ) -> Result<String, EmulatorError> {
        let iat = chrono::Utc::now().timestamp();
        let claims = Claims {
            data: ClaimData {
                conv: conv.to_owned(),
                did: deployment.to_owned(),
                sub: member.to_owned(),
            },
            exp: iat.saturating_add(lifetime_secs),
            iat,
            iss: ISSUER.to_owned(),
            org: org.to_owned(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key.enc)
            .map_err(|e| EmulatorError::Key(e.to_string()))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Bad)?;
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(TokenError::Bad);
        }
        let mut v = Validation::new(Algorithm::RS256);
        v.leeway = 0;
        v.set_issuer(&[ISSUER]);
        v.validate_aud = false;
        v.set_required_spec_claims(&["exp", "iss"]);
        match jsonwebtoken::decode::<Claims>(token, &self.key.dec, &v) {
            Ok(data) => Ok(data.claims),
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Err(TokenError::Expired),
                _ => Err(TokenError::Bad),
            },
        }
    }
}
