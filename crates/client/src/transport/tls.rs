//! TLS roots: the certificates a client trusts beyond the public web roots, and the
//! rustls settings for the TLS the SDK opens itself (the event stream, an `https://` proxy).

use crate::error::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::{Arc, OnceLock};

/// Every certificate of every PEM text; a text without one is an error.
pub(crate) fn parse_root_certificates(
    pems: &[Vec<u8>],
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let mut roots = Vec::new();
    for pem in pems {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::InvalidArgument {
                name: "rootCertificate",
                reason: format!("invalid PEM: {e}"),
            })?;
        if certs.is_empty() {
            return Err(Error::InvalidArgument {
                name: "rootCertificate",
                reason: "no PEM CERTIFICATE block found".into(),
            });
        }
        roots.extend(certs);
    }
    Ok(roots)
}

/// The event stream's TLS settings: the public webpki roots (what tungstenite uses by
/// default) plus `extra`, with the ring provider the workspace builds rustls with.
pub(crate) fn ws_tls_config(
    extra: &[CertificateDer<'static>],
) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut store = rustls::RootCertStore::empty();
    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra {
        store.add(der.clone()).map_err(|e| Error::InvalidArgument {
            name: "rootCertificate",
            reason: format!("not a usable trust anchor: {e}"),
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Transport(format!("cannot build the TLS configuration: {e}")))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The settings for TLS the SDK opens itself: `configured` (a client with extra roots), else
/// the public webpki roots alone, built once per process.
pub(crate) fn tls_config(
    configured: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    if let Some(config) = configured {
        return Ok(Arc::clone(config));
    }
    static DEFAULT: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| ws_tls_config(&[]).map_err(|e| e.to_string()))
        .clone()
}
