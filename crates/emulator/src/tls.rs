//! HTTPS and WSS: the emulator's certificate ([`EmulatorTls`]) and its rustls server
//! configuration (ring provider, like the rest of the workspace). The accept loop, shared
//! with plain HTTP, is in `accept.rs`; one bad handshake ends only its own connection.

use crate::error::EmulatorError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;

/// The names the generated certificate is valid for.
const SELF_SIGNED_DNS: &str = "localhost";
const SELF_SIGNED_IPS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
];

/// The certificate the emulator serves `https://` and `wss://` with
/// (see [`EmulatorBuilder::tls`](crate::EmulatorBuilder::tls)).
#[derive(Clone)]
pub struct EmulatorTls {
    source: Source,
}

#[derive(Clone)]
enum Source {
    /// Generated at start.
    SelfSigned,
    /// The user's own certificate chain and key, already checked.
    Pem {
        config: Arc<ServerConfig>,
        cert_pem: String,
    },
}

impl fmt::Debug for EmulatorTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        match &self.source {
            Source::SelfSigned => f.write_str("EmulatorTls::SelfSigned"),
            Source::Pem { .. } => f.write_str("EmulatorTls::Pem"),
        }
    }
}

impl EmulatorTls {
    /// A self-signed certificate, generated when the emulator starts, valid for `localhost`,
    /// `127.0.0.1` and `::1`. Clients trust it through
    /// [`EmulatorHandle::tls_certificate_pem`](crate::EmulatorHandle::tls_certificate_pem).
    pub fn self_signed() -> Self {
        EmulatorTls {
            source: Source::SelfSigned,
        }
    }

    /// The user's own certificate chain (PEM `CERTIFICATE` blocks, leaf first) and its private
    /// key (PEM: PKCS#8, PKCS#1 or SEC1). Unreadable PEM, no certificate, or a key that does not
    /// match the certificate is [`EmulatorError::Tls`].
    pub fn from_pem(
        cert_chain_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Result<Self, EmulatorError> {
        let cert_pem = cert_chain_pem.as_ref();
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EmulatorError::Tls(format!("certificate chain: invalid PEM: {e}")))?;
        if chain.is_empty() {
            return Err(EmulatorError::Tls(
                "certificate chain: no PEM CERTIFICATE block found".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_ref()).map_err(|e| {
            EmulatorError::Tls(format!(
                "private key: no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"
            ))
        })?;
        let cert_pem = String::from_utf8(cert_pem.to_vec())
            .map_err(|_| EmulatorError::Tls("certificate chain: PEM is not UTF-8 text".into()))?;
        Ok(EmulatorTls {
            source: Source::Pem {
                config: server_config(chain, key)?,
                cert_pem,
            },
        })
    }

    /// [`EmulatorTls::from_pem`] with the chain and the key read from files.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, EmulatorError> {
        let read = |what: &str, path: &Path| {
            std::fs::read(path)
                .map_err(|e| EmulatorError::Tls(format!("{what} {}: {e}", path.display())))
        };
        let chain = read("certificate chain", cert_chain.as_ref())?;
        let key = read("private key", key.as_ref())?;
        EmulatorTls::from_pem(chain, key)
    }

    /// True when the certificate is generated at start.
    pub fn is_self_signed(&self) -> bool {
        matches!(self.source, Source::SelfSigned)
    }

    /// The server configuration and the certificate PEM clients should trust.
    pub(crate) fn materialize(&self) -> Result<(Arc<ServerConfig>, String), EmulatorError> {
        match &self.source {
            Source::Pem { config, cert_pem } => Ok((config.clone(), cert_pem.clone())),
            Source::SelfSigned => self_signed(),
        }
    }
}

/// Generates the key pair and the certificate (ECDSA P-256).
fn self_signed() -> Result<(Arc<ServerConfig>, String), EmulatorError> {
    let failed = |e: rcgen::Error| {
        EmulatorError::Tls(format!("cannot generate the self-signed certificate: {e}"))
    };
    let key_pair = rcgen::KeyPair::generate().map_err(failed)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "guest-chat emulator");
    let dns = rcgen::Ia5String::try_from(SELF_SIGNED_DNS).map_err(failed)?;
    params.subject_alt_names = std::iter::once(rcgen::SanType::DnsName(dns))
        .chain(SELF_SIGNED_IPS.map(rcgen::SanType::IpAddress))
        .collect();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key_pair).map_err(failed)?;
    let key = PrivateKeyDer::try_from(key_pair.serialize_der())
        .map_err(|e| EmulatorError::Tls(format!("generated key: {e}")))?;
    let config = server_config(vec![cert.der().clone()], key)?;
    Ok((config, cert.pem()))
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, EmulatorError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EmulatorError::Tls(format!("TLS configuration: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| EmulatorError::Tls(format!("certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_pem_is_a_typed_error() {
        for (cert, key) in [
            (&b"not a certificate"[..], &b"not a key"[..]),
            (b"", b""),
            (
                b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
                b"",
            ),
        ] {
            match EmulatorTls::from_pem(cert, key) {
                Err(EmulatorError::Tls(m)) => assert!(!m.is_empty()),
                other => panic!("expected EmulatorError::Tls, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_generated_pair_round_trips_and_a_foreign_key_is_refused() {
        let (_, pem) = self_signed().expect("generates");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        let cert = params.self_signed(&key).expect("cert");
        let ok = EmulatorTls::from_pem(cert.pem(), key.serialize_pem()).expect("valid pair");
        assert!(!ok.is_self_signed());
        assert!(!format!("{ok:?}").contains("PRIVATE"));
        let other = rcgen::KeyPair::generate().expect("key");
        assert!(matches!(
            EmulatorTls::from_pem(cert.pem(), other.serialize_pem()),
            Err(EmulatorError::Tls(_))
        ));
    }
}
