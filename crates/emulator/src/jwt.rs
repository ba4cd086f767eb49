//! RS256 guest JWTs with the real claim layout (docs/protocol.md 3.2).

use crate::error::EmulatorError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, Header};
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

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

// Signing and verifying use `ring`: the pure-Rust `rsa` arithmetic behind jsonwebtoken's
// `rust_crypto` backend took over half the CPU of a 10,000-chat load run (one RS256 signature
// per chat, one verification per REST call). `rsa` still generates the key.
struct KeyMaterial {
    pair: RsaKeyPair,
    public: RsaPublicKeyComponents<Vec<u8>>,
    rng: ring::rand::SystemRandom,
}

// One RSA key per process: 2048-bit generation is the slow part of starting an emulator,
// and tests start many. Each emulator still gets its own `kid`.
static KEY: OnceLock<Result<Arc<KeyMaterial>, String>> = OnceLock::new();

fn generate() -> Result<Arc<KeyMaterial>, String> {
    let key =
        rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|e| e.to_string())?;
    let der = key.to_pkcs1_der().map_err(|e| e.to_string())?;
    let pair = RsaKeyPair::from_der(der.as_bytes()).map_err(|e| e.to_string())?;
    let public = RsaPublicKeyComponents {
        n: key.n().to_bytes_be(),
        e: key.e().to_bytes_be(),
    };
    Ok(Arc::new(KeyMaterial {
        pair,
        public,
        rng: ring::rand::SystemRandom::new(),
    }))
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    Bad,
    Expired,
}

/// Tokens whose signature was verified, at most this many at once. Every REST call and
/// stream connection verifies its JWT; an RSA verification is several times the cost of the
/// rest of a send-message call (issue 14: the emulator must not be the bottleneck of a load
/// test). A full cache is emptied and refills with the tokens in use. About 1 KiB an entry.
const VERIFIED_CAPACITY: usize = 16_384;

/// Signs and verifies guest JWTs for one emulator.
pub(crate) struct Signer {
    kid: String,
    key: Arc<KeyMaterial>,
    /// [`Signer::token_key`] of a token -> its claims, for tokens this signer verified (the
    /// signature covers the whole header and payload, so an exact match needs no second check;
    /// `exp` is still checked on every use). Keyed by a 64-bit hash with this process's random
    /// keys rather than by the token text: 8 bytes instead of hundreds per entry, and one hash
    /// per request that the rate limiter shares. A token that is not the verified one but hashes
    /// alike would need a 2^-64 chance per try against keys nobody outside the process knows.
    verified: Mutex<HashMap<u64, Arc<Claims>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Signer {
    /// Generates (once per process, on a blocking thread) the key and a fresh `kid`.
    pub(crate) async fn new() -> Result<Signer, EmulatorError> {
        let key = tokio::task::spawn_blocking(|| KEY.get_or_init(generate).clone())
            .await
            .map_err(|e| EmulatorError::Key(e.to_string()))?
            .map_err(EmulatorError::Key)?;
        Ok(Signer {
            kid: uuid::Uuid::new_v4().to_string(),
            key,
            verified: Mutex::new(HashMap::new()),
            hasher: std::collections::hash_map::RandomState::new(),
        })
    }

    pub(crate) fn sign(
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
        let mut token = URL_SAFE_NO_PAD.encode(json(&header)?);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(json(&claims)?));
        let mut sig = vec![0; self.key.pair.public().modulus_len()];
        self.key
            .pair
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &self.key.rng,
                token.as_bytes(),
                &mut sig,
            )
            .map_err(|e| EmulatorError::Key(e.to_string()))?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(sig));
        Ok(token)
    }

    /// `verify_keyed` with the key computed (the tests' entry point).
    #[cfg(test)]
    pub(crate) fn verify(&self, token: &str) -> Result<Arc<Claims>, TokenError> {
        self.verify_keyed(token, self.token_key(token))
    }

    /// The key of a token in the verified cache (and in the rate limiter).
    pub(crate) fn token_key(&self, token: &str) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(token)
    }

    /// Checks the signature, `kid`, `alg`, `iss` and `exp` (no leeway), as jsonwebtoken did,
    /// of a token whose `token_key` is `key`. A token verified before is only checked for `exp`.
    pub(crate) fn verify_keyed(&self, token: &str, key: u64) -> Result<Arc<Claims>, TokenError> {
        let cached = self.verified_cache().get(&key).cloned();
        let claims = match cached {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.verify_signed(token)?);
                let mut cache = self.verified_cache();
                if cache.len() >= VERIFIED_CAPACITY {
                    cache.clear();
                }
                cache.insert(key, claims.clone());
                claims
            }
        };
        if claims.exp < chrono::Utc::now().timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn verified_cache(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Claims>>> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks the signature, `kid`, `alg` and `iss` of a token.
    fn verify_signed(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Bad)?;
        if header.kid.as_deref() != Some(self.kid.as_str()) || header.alg != Algorithm::RS256 {
            return Err(TokenError::Bad);
        }
        let (message, sig) = token.rsplit_once('.').ok_or(TokenError::Bad)?;
        let (_, payload) = message.split_once('.').ok_or(TokenError::Bad)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| TokenError::Bad)?;
        self.key
            .public
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                message.as_bytes(),
                &sig,
            )
            .map_err(|_| TokenError::Bad)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Bad)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Bad)?;
        if claims.iss != ISSUER {
            return Err(TokenError::Bad);
        }
        Ok(claims)
    }
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, EmulatorError> {
    serde_json::to_vec(v).map_err(|e| EmulatorError::Key(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verified_tokens_are_cached_but_still_expire_and_forgeries_are_refused() {
        let signer = Signer::new().await.expect("signer");
        let token = signer.sign("c1", "d", "m1", "o", 3600).expect("sign");
        for _ in 0..2 {
            assert_eq!(signer.verify(&token).expect("valid").data.conv, "c1");
        }
        assert_eq!(signer.verified_cache().len(), 1);

        // The cached token's header and signature with another payload: not a cache hit, and
        // the signature does not cover it.
        let other = signer.sign("c2", "d", "m2", "o", 3600).expect("sign");
        let parts: Vec<&str> = token.split('.').collect();
        let other_payload = other.split('.').nth(1).expect("payload");
        let forged = format!("{}.{}.{}", parts[0], other_payload, parts[2]);
        assert_eq!(signer.verify(&forged), Err(TokenError::Bad));

        // `exp` is checked on every use, cached or not.
        let expired = signer.sign("c1", "d", "m1", "o", -10).expect("sign");
        for _ in 0..2 {
            assert_eq!(signer.verify(&expired), Err(TokenError::Expired));
        }
        let mut stale = Claims::clone(&signer.verify(&token).expect("valid"));
        stale.exp = 0;
        signer
            .verified_cache()
            .insert(signer.token_key(&token), Arc::new(stale));
        assert_eq!(signer.verify(&token), Err(TokenError::Expired));
    }

    #[tokio::test]
    async fn the_cache_is_bounded() {
        let signer = Signer::new().await.expect("signer");
        let token = signer.sign("c1", "d", "m1", "o", 3600).expect("sign");
        let claims = signer.verify(&token).expect("valid");
        {
            let mut cache = signer.verified_cache();
            for i in cache.len()..VERIFIED_CAPACITY {
                cache.insert(i as u64, claims.clone());
            }
        }
        let fresh = signer.sign("c2", "d", "m2", "o", 3600).expect("sign");
        signer.verify(&fresh).expect("valid");
        assert_eq!(signer.verified_cache().len(), 1);
    }
}
