//! [`ApiClient`]: environment, JWT, timeouts, default headers, proxy and retries, shared by
//! every [`WebChatApi`](crate::api::WebChatApi).
//!
//! A client is a cheap handle (two `Arc`s). Clones share everything, including the JWT cell
//! (like the JavaScript SDK's singleton); [`ApiClient::with_jwt`] makes a per-chat child that
//! shares the connection pool and the [`Config`] but has its own JWT.

use crate::config::{Config, ConfigFileOptions};
use crate::error::Error;
use crate::region::Environment;
use crate::retry::RetryPolicy;
use crate::routes::OperationSpec;
#[cfg(not(target_arch = "wasm32"))]
use crate::secret::mask_secrets;
use crate::secret::Jwt;
#[cfg(not(target_arch = "wasm32"))]
use crate::transport::tls::{parse_root_certificates, ws_tls_config};
use crate::transport::{Call, ProxyMode, RawResponse, Rest, WsSettings};
use arc_swap::ArcSwapOption;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use std::fmt;
use std::future::Future;
#[cfg(all(feature = "config-file", not(target_arch = "wasm32")))]
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The `User-Agent` the SDK sends.
pub const USER_AGENT: &str = concat!(
    "purecloud-guest-chat-client-rust/",
    env!("CARGO_PKG_VERSION")
);
/// Default request timeout (the JavaScript SDK's 16 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(16);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
struct Inner {
    /// REST: the pooled HTTP client, retries and the whole-call timeout.
    rest: Rest,
    config: Arc<Config>,
    default_headers: HeaderMap,
    connect_timeout: Duration,
    /// The event stream's proxy and TLS settings. Built once, shared by `with_jwt` children.
    ws: WsSettings,
    /// How many certificates `add_root_certificate_pem` added.
    extra_roots: usize,
}

/// The HTTP client of the SDK (the JavaScript SDK's `ApiClient`).
///
/// `Clone + Send + Sync + 'static`; cloning is two reference-count increments.
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
    jwt: Arc<ArcSwapOption<Credentials>>,
}

/// A JWT in use and its `Authorization: Bearer <jwt>` value, made on the first call that
/// sends it and kept (the value is the same for every call of a chat; a new JWT gets a new
/// `Credentials`). The value is marked sensitive: `Debug` of it shows `Sensitive`, never
/// the token. No `Debug` here.
pub(crate) struct Credentials {
    jwt: Jwt,
    /// `None` inside: the token holds characters an HTTP header cannot carry.
    bearer: OnceLock<Option<HeaderValue>>,
}

impl Credentials {
    fn new(jwt: Jwt) -> Self {
        Credentials {
            jwt,
            bearer: OnceLock::new(),
        }
    }

    /// `Bearer <jwt>`, or [`Error::InvalidArgument`] when the token cannot be a header value.
    fn bearer(&self) -> Result<&HeaderValue, Error> {
        self.bearer
            .get_or_init(|| {
                let mut v = HeaderValue::try_from(format!("Bearer {}", self.jwt.expose())).ok()?;
                v.set_sensitive(true);
                Some(v)
            })
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument {
                name: "jwt",
                reason: "contains characters not allowed in an HTTP header".into(),
            })
    }
}

/// One operation ready to be sent: its URL and the JWT it sends (see [`ApiClient::prepare`]).
pub(crate) struct Prepared {
    spec: &'static OperationSpec,
    url: String,
    credentials: Option<Arc<Credentials>>,
}

static INSTANCE: OnceLock<ApiClient> = OnceLock::new();

impl ApiClient {
    /// A builder; the recommended way to make a client.
    pub fn builder() -> ApiClientBuilder {
        ApiClientBuilder::default()
    }

    /// The process-wide default client (the JavaScript SDK's `ApiClient.instance`), built on
    /// first use with the defaults (and the default configuration file). Clones share its JWT.
    ///
    /// # Panics
    /// Only if no HTTP client can be built at all (the TLS backend failed to initialise), which
    /// [`ApiClient::builder`]`().build()` reports as an error instead.
    pub fn instance() -> ApiClient {
        INSTANCE
            .get_or_init(|| {
                ApiClient::builder()
                    .build()
                    .or_else(|_| ApiClient::builder().no_config_file().build())
                    .expect("the default HTTP client cannot be built (TLS backend unavailable?)")
            })
            .clone()
    }

    /// The configuration shared by this client, its clones and its `with_jwt` children.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The configuration as a shared handle.
    pub fn config_arc(&self) -> Arc<Config> {
        Arc::clone(&self.inner.config)
    }

    /// The environment in force (base URL).
    pub fn environment(&self) -> Environment {
        self.inner.config.environment()
    }

    /// Points this client (and every client sharing its configuration) at another
    /// environment: a [`Region`](crate::Region), a domain (`mypurecloud.ie`), an API URL
    /// (`https://api.mypurecloud.ie/`) or a full base URL (`http://127.0.0.1:8080`).
    pub fn set_environment<E>(&self, environment: E) -> Result<(), Error>
    where
        E: TryInto<Environment>,
        E::Error: Into<Error>,
    {
        let env = environment.try_into().map_err(Into::into)?;
        self.inner.config.set_environment(env);
        Ok(())
    }

    /// Sets the guest JWT used by every operation but create. Affects every clone of this
    /// client (not `with_jwt` children). An empty token clears it.
    pub fn set_jwt(&self, jwt: impl Into<Jwt>) {
        let jwt = jwt.into();
        if jwt.is_empty() {
            self.jwt.store(None);
        } else {
            self.jwt.store(Some(Arc::new(Credentials::new(jwt))));
        }
    }

    /// Forgets the JWT.
    pub fn clear_jwt(&self) {
        self.jwt.store(None);
    }

    /// The JWT in use, if any.
    pub fn jwt(&self) -> Option<Jwt> {
        self.jwt.load_full().map(|c| c.jwt.clone())
    }

    /// A client for one chat: same connection pool, configuration and settings, its own JWT.
    pub fn with_jwt(&self, jwt: impl Into<Jwt>) -> ApiClient {
        let child = ApiClient {
            inner: Arc::clone(&self.inner),
            jwt: Arc::new(ArcSwapOption::empty()),
        };
        child.set_jwt(jwt);
        child
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.rest.retry
    }

    /// The request timeout (`None` = disabled).
    pub fn timeout(&self) -> Option<Duration> {
        self.inner.rest.timeout
    }

    /// How this client opens `WebSockets` (proxy, TLS roots).
    pub(crate) fn ws_settings(&self) -> &WsSettings {
        &self.inner.ws
    }

    /// The underlying pooled HTTP client (for the event stream and other SDK parts).
    #[allow(dead_code)]
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.rest.http
    }

    /// Makes one operation ready to send: its whole URL (`ids` fill the path's placeholders,
    /// percent-encoded; `query` is the encoded query string, without `?`) and this client's
    /// JWT when the operation needs one (else [`Error::MissingJwt`]: nothing is sent).
    pub(crate) fn prepare(
        &self,
        spec: &'static OperationSpec,
        ids: &[&str],
        query: Option<&str>,
    ) -> Result<Prepared, Error> {
        let env = self.inner.config.environment();
        let url = spec.render_url(env.base_url(), ids, query)?;
        let credentials = if spec.requires_jwt {
            match self.jwt.load_full() {
                Some(c) => {
                    c.bearer()?;
                    Some(c)
                }
                None => {
                    return Err(Error::MissingJwt {
                        operation: spec.operation_id,
                    })
                }
            }
        } else {
            None
        };
        Ok(Prepared {
            spec,
            url,
            credentials,
        })
    }

    /// Sends a prepared operation through the transport. Returns the raw 2xx answer.
    ///
    /// Not an `async fn`: the transport's future is returned as it is, one level less to
    /// move on every call.
    #[inline]
    pub(crate) fn execute<'a>(
        &'a self,
        prepared: &'a Prepared,
        body: Option<Bytes>,
    ) -> impl Future<Output = Result<RawResponse, Error>> + 'a {
        let credentials = prepared.credentials.as_deref();
        let call = Call {
            spec: prepared.spec,
            url: &prepared.url,
            body,
            jwt: credentials.map(|c| &c.jwt),
            // Checked by `prepare`.
            authorization: credentials.and_then(|c| c.bearer().ok()),
            logger: self.inner.config.logger(),
        };
        self.inner.rest.execute(call)
    }
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("environment", &self.inner.config.environment())
            .field(
                "jwt",
                &if self.jwt.load().is_some() {
                    "<redacted>"
                } else {
                    "<none>"
                },
            )
            .field(
                "default_headers",
                &self.inner.default_headers.keys().collect::<Vec<_>>(),
            )
            .field("timeout", &self.inner.rest.timeout)
            .field("connect_timeout", &self.inner.connect_timeout)
            .field(
                "proxy",
                &match self.inner.ws.proxy() {
                    ProxyMode::Explicit(u) => ProxyMode::Explicit(mask_proxy(&u)),
                    other => other,
                },
            )
            .field("retry", &self.inner.rest.retry)
            .field("extra_root_certificates", &self.inner.extra_roots)
            .finish()
    }
}

/// Builds an [`ApiClient`].
#[derive(Debug)]
#[must_use]
// In a browser the proxy, roots and pool settings are the browser's (docs/browser.md).
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub struct ApiClientBuilder {
    environment: Option<Result<Environment, Error>>,
    jwt: Option<Jwt>,
    default_headers: HeaderMap,
    header_error: Option<Error>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    proxy: ProxyMode,
    retry: RetryPolicy,
    config_file: ConfigFileOptions,
    root_certificates: RootPems,
    pool_max_idle_per_host: Option<usize>,
    pool_idle_timeout: Option<Option<Duration>>,
    http_client: Option<reqwest::Client>,
}

/// PEM texts given to `add_root_certificate_pem`; `Debug` shows how many, not the bytes.
#[derive(Default)]
struct RootPems(Vec<Vec<u8>>);

impl fmt::Debug for RootPems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} PEM text(s)", self.0.len())
    }
}

impl Default for ApiClientBuilder {
    fn default() -> Self {
        ApiClientBuilder {
            environment: None,
            jwt: None,
            default_headers: HeaderMap::new(),
            header_error: None,
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            proxy: ProxyMode::System,
            retry: RetryPolicy::default(),
            config_file: ConfigFileOptions::default(),
            root_certificates: RootPems::default(),
            pool_max_idle_per_host: None,
            pool_idle_timeout: None,
            http_client: None,
        }
    }
}

impl ApiClientBuilder {
    /// The environment: a [`Region`](crate::Region), a domain, an API URL or a full base URL
    /// (`http://127.0.0.1:8080` for the emulator). Default `mypurecloud.com` (or the
    /// configuration file's `host`). An invalid string makes `build()` fail.
    pub fn environment<E>(mut self, environment: E) -> Self
    where
        E: TryInto<Environment>,
        E::Error: Into<Error>,
    {
        self.environment = Some(environment.try_into().map_err(Into::into));
        self
    }

    /// The initial JWT.
    pub fn jwt(mut self, jwt: impl Into<Jwt>) -> Self {
        self.jwt = Some(jwt.into());
        self
    }

    /// Adds a header sent on every request. An invalid name or value makes `build()` fail.
    pub fn default_header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => {
                self.default_headers.insert(n, v);
            }
            _ => {
                self.header_error = Some(Error::InvalidArgument {
                    name: "defaultHeaders",
                    reason: format!("{name:?} is not a valid header name/value pair"),
                });
            }
        }
        self
    }

    /// Adds headers sent on every request.
    pub fn default_headers(mut self, headers: HeaderMap) -> Self {
        self.default_headers.extend(headers);
        self
    }

    /// Request timeout, from sending until the whole answer is read (default 16 s);
    /// `Duration::ZERO` disables it, like the JavaScript SDK's `timeout = 0`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// Sends everything through this proxy (`http://`, `https://`, `socks5://`, `socks5h://`;
    /// credentials in the URL are used). Without it the standard `HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` variables apply.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxyMode::Explicit(url.into());
        self
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// Uses no proxy at all, ignoring the proxy environment variables.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyMode::Disabled;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]; [`RetryPolicy::none`] to disable).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    #[cfg(all(feature = "config-file", not(target_arch = "wasm32")))]
    /// Reads this configuration file instead of the default one.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file.path = Some(path.into());
        self.config_file.disabled = false;
        self
    }

    /// Reads no configuration file.
    pub fn no_config_file(mut self) -> Self {
        self.config_file.disabled = true;
        self
    }

    #[cfg(all(feature = "config-file", not(target_arch = "wasm32")))]
    /// Forces live reload of the configuration file on or off.
    pub fn live_reload(mut self, on: bool) -> Self {
        self.config_file.live_reload = Some(on);
        self
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// Trusts the certificates of this PEM text (one or more `CERTIFICATE` blocks) as roots, in
    /// addition to the public web roots, for REST and for the event stream (`wss://`): for
    /// an emulator started with TLS (`EmulatorHandle::tls_certificate_pem`), or a private
    /// certificate authority. May be called more than once. Text without a certificate, or
    /// a certificate that cannot be parsed, makes `build()` fail with
    /// [`Error::InvalidArgument`].
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Self {
        self.root_certificates.0.push(pem.to_vec());
        self
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// Keeps at most `n` idle keep-alive connections per host in the shared pool (default: no
    /// limit). Under bursty load an unlimited pool holds one descriptor per connection the
    /// burst needed until they idle out; a cap trades that for reconnections. `0` disables
    /// keep-alive reuse altogether.
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = Some(n);
        self
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// Closes pooled connections idle for longer than this (default 90 s; `None` = never).
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = Some(timeout);
        self
    }

    /// Sends REST calls with the caller's own `reqwest::Client` (shared connection pool,
    /// own middleware settings). That client then decides everything a `reqwest::Client`
    /// holds: user agent, default headers, proxy, connect and pool settings, trusted roots;
    /// the builder's settings for those do not reach REST. The SDK still adds the JWT,
    /// the whole-call timeout and retries per call, and the event stream still follows the
    /// builder's proxy, connect timeout and root certificates.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<ApiClient, Error> {
        if let Some(e) = self.header_error {
            return Err(e);
        }
        let (http, ws, extra_roots) = self.transport_parts()?;
        // A client built here carries the timeout itself (natively); a caller's own client,
        // and `fetch` in a browser, get it on every call. Setting it per call costs a
        // map allocated in every request.
        let per_call_timeout = if self.http_client.is_some() || cfg!(target_arch = "wasm32") {
            self.timeout
        } else {
            None
        };
        let (environment, explicit) = match self.environment {
            Some(env) => (env?, true),
            None => (Environment::default(), false),
        };
        let config = Config::new(environment, explicit);
        config.init_file(self.config_file);
        let client = ApiClient {
            inner: Arc::new(Inner {
                rest: Rest {
                    http,
                    retry: self.retry,
                    timeout: self.timeout,
                    per_call_timeout,
                },
                config,
                default_headers: self.default_headers,
                connect_timeout: self.connect_timeout,
                ws,
                extra_roots,
            }),
            jwt: Arc::new(ArcSwapOption::empty()),
        };
        if let Some(j) = self.jwt {
            client.set_jwt(j);
        }
        Ok(client)
    }
}

impl ApiClientBuilder {
    /// The REST client, the socket settings and how many extra roots are trusted.
    #[cfg(not(target_arch = "wasm32"))]
    fn transport_parts(&self) -> Result<(reqwest::Client, WsSettings, usize), Error> {
        let mut http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(self.default_headers.clone())
            .connect_timeout(self.connect_timeout)
            .tcp_keepalive(Duration::from_secs(60))
            .use_rustls_tls();
        if let Some(t) = self.timeout {
            http = http.timeout(t);
        }
        if let Some(n) = self.pool_max_idle_per_host {
            http = http.pool_max_idle_per_host(n);
        }
        if let Some(t) = self.pool_idle_timeout {
            http = http.pool_idle_timeout(t);
        }
        match &self.proxy {
            ProxyMode::System => {}
            ProxyMode::Disabled => http = http.no_proxy(),
            ProxyMode::Explicit(url) => {
                let proxy =
                    reqwest::Proxy::all(url.as_str()).map_err(|e| Error::InvalidArgument {
                        name: "proxy",
                        reason: mask_secrets(&e.to_string()).into_owned(),
                    })?;
                http = http.proxy(proxy);
            }
        }
        let roots = parse_root_certificates(&self.root_certificates.0)?;
        for der in &roots {
            let cert = reqwest::Certificate::from_der(der).map_err(|e| Error::InvalidArgument {
                name: "rootCertificate",
                reason: format!("not a usable certificate: {e}"),
            })?;
            http = http.add_root_certificate(cert);
        }
        let ws_tls = if roots.is_empty() {
            None
        } else {
            Some(ws_tls_config(&roots)?)
        };
        let http = match &self.http_client {
            Some(own) => own.clone(),
            None => http.build().map_err(|e| {
                Error::Transport(crate::error::TransportError::with_source(
                    format!("cannot build the HTTP client: {e}"),
                    e,
                ))
            })?,
        };
        let ws = WsSettings {
            proxy: self.proxy.clone(),
            tls: ws_tls,
        };
        Ok((http, ws, roots.len()))
    }

    /// In a browser: `fetch` with the page's proxy and TLS; the user agent is the browser's.
    #[cfg(target_arch = "wasm32")]
    fn transport_parts(&self) -> Result<(reqwest::Client, WsSettings, usize), Error> {
        let http = match &self.http_client {
            Some(own) => own.clone(),
            None => reqwest::Client::builder()
                .default_headers(self.default_headers.clone())
                .build()
                .map_err(|e| {
                    Error::Transport(crate::error::TransportError::with_source(
                        format!("cannot build the HTTP client: {e}"),
                        e,
                    ))
                })?,
        };
        Ok((http, WsSettings, 0))
    }
}

/// A proxy URL without its password, for `Debug`.
fn mask_proxy(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<invalid>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_traits<T: Clone + Send + Sync + 'static>() {}

    #[test]
    fn client_is_clone_send_sync() {
        assert_traits::<ApiClient>();
        assert_traits::<crate::api::WebChatApi>();
    }

    #[test]
    fn clones_share_the_jwt_children_do_not() {
        let c = ApiClient::builder().no_config_file().build().unwrap();
        let clone = c.clone();
        clone.set_jwt("a.b.c");
        assert_eq!(c.jwt().unwrap().expose(), "a.b.c");
        let child = c.with_jwt("d.e.f");
        assert_eq!(c.jwt().unwrap().expose(), "a.b.c");
        assert_eq!(child.jwt().unwrap().expose(), "d.e.f");
        child.set_environment("http://127.0.0.1:9").unwrap();
        assert_eq!(c.environment().base_url(), "http://127.0.0.1:9");
        assert!(matches!(
            c.set_environment("not valid"),
            Err(Error::InvalidEnvironment(_))
        ));
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("a.b.c"), "{dbg}");
    }

    #[test]
    fn builder_rejects_bad_input() {
        assert!(ApiClient::builder().environment("ftp://x").build().is_err());
        assert!(ApiClient::builder().proxy("::nope::").build().is_err());
        assert!(ApiClient::builder()
            .default_header("bad name", "x")
            .build()
            .is_err());
        let c = ApiClient::builder()
            .no_config_file()
            .proxy("socks5://user:pw@127.0.0.1:1080")
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains("pw@"));
    }

    #[test]
    fn unusable_root_certificates_fail_the_build() {
        let bad_base64 = b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        let not_der = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        for pem in [&b"garbage"[..], b"", bad_base64, not_der] {
            let built = ApiClient::builder()
                .no_config_file()
                .add_root_certificate_pem(pem)
                .build();
            assert!(
                matches!(
                    built,
                    Err(Error::InvalidArgument {
                        name: "rootCertificate",
                        ..
                    })
                ),
                "{:?}: {built:?}",
                String::from_utf8_lossy(pem)
            );
        }
    }
}
