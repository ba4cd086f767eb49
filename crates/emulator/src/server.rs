//! The emulator: its builder, the router with its common layers, the background tasks, and
//! the listener.

use crate::agent::{AgentMode, AgentPlan};
use crate::config::{EmulatorConfig, Faults};
use crate::conv::{DropMode, Store};
use crate::error::{ApiError, EmulatorError, ErrorMarker};
use crate::handle::EmulatorHandle;
use crate::jwt::Signer;
use crate::state::{RateLimiter, Settings, Shared};
use crate::tls::EmulatorTls;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::future::{BoxFuture, Either};
use futures::FutureExt;
use http::{HeaderName, HeaderValue, Method};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::util::MapResponseLayer;
use tower::{Layer, Service, ServiceExt};

/// Default connection cap (see [`EmulatorBuilder::max_connections`]).
const DEFAULT_MAX_CONNECTIONS: usize = 32_768;

/// Builds an [`Emulator`].
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    bind: SocketAddr,
    settings: Settings,
    agent: AgentMode,
    agent_delay: Duration,
    config: EmulatorConfig,
    faults: Faults,
    tls: Option<EmulatorTls>,
    web_demo: Option<crate::web_demo::WebDemo>,
}

/// The emulator entry point: `Emulator::builder()...start().await`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults (127.0.0.1:0, echo agent, 30 s heartbeats, ...).
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            settings: Settings {
                heartbeat: Duration::from_secs(30),
                jwt_lifetime: Duration::from_secs(21 * 3600),
                rate_requests: 180,
                rate_window: Duration::from_secs(60),
                max_request_bytes: 64 * 1024,
                activate_without_stream: false,
                inactivity_timeout: None,
                limits: crate::accept::Limits {
                    max_connections: DEFAULT_MAX_CONNECTIONS,
                    header_read_timeout: Duration::from_secs(30),
                    idle_timeout: Duration::from_secs(120),
                },
                create_requests: 3000,
                create_window: Duration::from_secs(60),
                max_conversations: 20_000,
                ended_retention: Duration::from_secs(600),
                abandoned_after: Duration::from_secs(3600),
                control_token: None,
            },
            agent: AgentMode::Echo,
            agent_delay: Duration::from_millis(300),
            config: EmulatorConfig::default(),
            faults: Faults::default(),
            tls: None,
            web_demo: None,
        }
    }
}

impl EmulatorBuilder {
    /// Also serve the chat page of the JavaScript package at `/demo` (`--web-demo`).
    pub fn web_demo(mut self, demo: crate::web_demo::WebDemo) -> Self {
        self.web_demo = Some(demo);
        self
    }

    /// Address to listen on (default `127.0.0.1:0`, a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }
    /// Heartbeat period on every socket (default 30 s).
    pub fn heartbeat_interval(mut self, d: Duration) -> Self {
        self.settings.heartbeat = d;
        self
    }
    /// Guest JWT lifetime (default 21 h).
    pub fn jwt_lifetime(mut self, d: Duration) -> Self {
        self.settings.jwt_lifetime = d;
        self
    }
    /// Per-JWT fixed-window rate limit (default 180 per 60 s).
    pub fn rate_limit(mut self, requests: u32, window: Duration) -> Self {
        self.settings.rate_requests = requests;
        self.settings.rate_window = window;
        self
    }
    /// Largest accepted request body (default 64 KiB); larger gets 413.
    pub fn max_request_bytes(mut self, n: usize) -> Self {
        self.settings.max_request_bytes = n;
        self
    }
    /// Agent behaviour of new conversations (default echo).
    pub fn agent(mut self, mode: AgentMode) -> Self {
        self.agent = mode;
        self
    }
    /// Pause between an agent's steps (default 300 ms).
    pub fn agent_delay(mut self, d: Duration) -> Self {
        self.agent_delay = d;
        self
    }
    /// Route conversations at create instead of when the first socket attaches (default false).
    pub fn activate_without_stream(mut self, on: bool) -> Self {
        self.settings.activate_without_stream = on;
        self
    }
    /// Ends a chat whose guest sent no message and no typing indicator for `d` (default: never).
    ///
    /// One public client reports a 15-minute inactivity timeout on the real service
    /// (docs/protocol.md 7.10, weak evidence), so it is off unless asked for. The chat ends like an
    /// agent-ended one (docs/protocol.md 7.9). Heartbeats and agent activity do not count.
    pub fn inactivity_timeout(mut self, d: Duration) -> Self {
        self.settings.inactivity_timeout = Some(d);
        self
    }
    /// Most TCP connections served at once (default 32,768). A new connection over the cap,
    /// or an accept that fails for lack of file descriptors, closes the connection idle the
    /// longest; with none idle it waits in the accept queue. `WebSockets` count and are never
    /// closed to make room.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.settings.limits.max_connections = n;
        self
    }
    /// A connection must deliver its first complete request head within `d` (default 30 s).
    pub fn header_read_timeout(mut self, d: Duration) -> Self {
        self.settings.limits.header_read_timeout = d;
        self
    }
    /// A connection with no request in flight is closed after `d` (default 120 s, longer
    /// than the usual clients' pool idle time, so they close first). `WebSockets` are exempt.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.settings.limits.idle_timeout = d;
        self
    }
    /// Conversation creates allowed per client IP address per `window` (default 3,000 per
    /// 60 s); more get 429 `too.many.requests.retry.after` with `Retry-After`.
    pub fn create_rate_limit(mut self, requests: u32, window: Duration) -> Self {
        self.settings.create_requests = requests;
        self.settings.create_window = window;
        self
    }
    /// Most conversations kept at once (default 20,000); a create over it gets 429
    /// `too.many.requests` until some are forgotten.
    pub fn max_conversations(mut self, n: usize) -> Self {
        self.settings.max_conversations = n;
        self
    }
    /// How long an ended conversation stays readable before it is forgotten (default 10 min).
    pub fn ended_retention(mut self, d: Duration) -> Self {
        self.settings.ended_retention = d;
        self
    }
    /// A conversation with no socket attached and no guest REST call for `d` is forgotten
    /// (default 1 h).
    pub fn abandoned_after(mut self, d: Duration) -> Self {
        self.settings.abandoned_after = d;
        self
    }
    /// Requires `Authorization: Bearer TOKEN` on the control API (`/emulator/...`). Without
    /// it, a non-loopback bind generates one ([`EmulatorHandle::control_token`]).
    pub fn control_token(mut self, token: impl Into<String>) -> Self {
        self.settings.control_token = Some(token.into());
        self
    }
    /// Restrictions (organizations, queues, origins, deployments...).
    pub fn config(mut self, config: EmulatorConfig) -> Self {
        self.config = config;
        self
    }
    /// Fault injection (default none).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Serves `https://` and `wss://` with this certificate instead of plain http/ws
    /// (default: plain). [`EmulatorTls::self_signed`] generates one at start; clients trust
    /// it through [`EmulatorHandle::tls_certificate_pem`].
    pub fn tls(mut self, tls: EmulatorTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Binds, generates the signing key (and the certificate, with self-signed TLS), and
    /// serves in the background.
    pub async fn start(mut self) -> Result<EmulatorHandle, EmulatorError> {
        self.faults.validate()?;
        let web_demo = self.web_demo.take();
        let settings = self.effective_settings()?;
        let tls = match &self.tls {
            Some(tls) => Some(tls.materialize()?),
            None => None,
        };
        let signer = Signer::new().await?;
        let listener = listen(self.bind)?;
        let local_addr = listener.local_addr()?;
        let tls_certificate = tls.as_ref().map(|(_, pem)| pem.clone());
        let shared = Arc::new(self.shared(settings, signer, local_addr, tls_certificate));
        let mut app = router(shared.clone());
        if let Some(demo) = &web_demo {
            app = app.merge(crate::web_demo::routes(demo));
        }
        let server = tokio::spawn(crate::accept::serve(
            listener,
            tls.map(|(config, _)| config),
            app,
            shared.clone(),
            shared.cancel.clone(),
        ));
        shared.tracker.spawn(socket_dropper(shared.clone()));
        shared.tracker.spawn(expiry_sweeper(shared.clone()));
        Ok(EmulatorHandle::new(shared, server))
    }

    /// The builder's settings with the config file's overrides applied, validated; a
    /// non-loopback bind gets a generated control token when none was given.
    fn effective_settings(&self) -> Result<Settings, EmulatorError> {
        let mut settings = self.settings.clone();
        let c = &self.config;
        if let Some(rl) = c.rate_limit {
            settings.rate_requests = rl.requests;
            settings.rate_window = Duration::from_secs(rl.window_secs);
        }
        if let Some(rl) = c.create_rate_limit {
            settings.create_requests = rl.requests;
            settings.create_window = Duration::from_secs(rl.window_secs);
        }
        let secs = |v: Option<u64>| v.map(Duration::from_secs);
        let limits = &mut settings.limits;
        limits.max_connections = c.max_connections.unwrap_or(limits.max_connections);
        limits.header_read_timeout =
            secs(c.header_read_timeout_secs).unwrap_or(limits.header_read_timeout);
        limits.idle_timeout = secs(c.idle_timeout_secs).unwrap_or(limits.idle_timeout);
        settings.max_conversations = c.max_conversations.unwrap_or(settings.max_conversations);
        settings.ended_retention = secs(c.ended_retention_secs).unwrap_or(settings.ended_retention);
        settings.abandoned_after = secs(c.abandoned_after_secs).unwrap_or(settings.abandoned_after);
        if let Some(token) = &c.control_token {
            settings.control_token = Some(token.clone());
        }
        validate(&settings, self.agent_delay)?;
        if !self.bind.ip().is_loopback() {
            tracing::warn!(
                bind = %self.bind,
                "the emulator listens on a non-loopback address: anyone who can reach it can create chats, and its control API mints tokens for any chat (a control token is required)"
            );
            if settings.control_token.is_none() {
                settings.control_token = Some(generate_token());
            }
        }
        Ok(settings)
    }

    /// The shared state of a new emulator.
    fn shared(
        self,
        settings: Settings,
        signer: Signer,
        local_addr: SocketAddr,
        tls_certificate: Option<String>,
    ) -> Shared {
        let seed = self.faults.seed;
        let (faults, _) = watch::channel(self.faults);
        let agent_name = self
            .config
            .agent_name
            .clone()
            .unwrap_or_else(|| "Riley".to_owned());
        Shared {
            settings,
            config: self.config,
            agent: RwLock::new(AgentPlan {
                mode: self.agent,
                delay: self.agent_delay,
                name: agent_name,
                workflow_message: None,
                inactivity_timeout: None,
            }),
            signer,
            store: Store::new(),
            limiter: RateLimiter::new(),
            create_limiter: RateLimiter::new(),
            faults,
            rng: Mutex::new(match seed {
                Some(s) => StdRng::seed_from_u64(s),
                None => StdRng::from_os_rng(),
            }),
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
            local_addr,
            tls_certificate,
            webmessaging: Default::default(),
        }
    }
}

/// Longer periods would overflow the clock arithmetic (a panic); nobody needs them.
const LONGEST: Duration = Duration::from_secs(10 * 365 * 86_400);
/// Agent pauses above this make every chat time out.
const LONGEST_DELAY: Duration = Duration::from_secs(600);
/// The smallest body limit a create request and a message fit in.
const MIN_REQUEST_BYTES: usize = 256;
/// The shortest JWT lifetime a chat can be created and joined with.
const MIN_JWT_LIFETIME: Duration = Duration::from_secs(1);

/// Refuses settings that make every chat fail (or the emulator panic), with a message naming
/// the setting.
fn validate(settings: &Settings, agent_delay: Duration) -> Result<(), EmulatorError> {
    let err = |m: String| Err(EmulatorError::Config(m));
    let positive = [
        ("heartbeat interval", Some(settings.heartbeat)),
        ("inactivity timeout", settings.inactivity_timeout),
        ("rate-limit window", Some(settings.rate_window)),
        ("create rate-limit window", Some(settings.create_window)),
        (
            "header-read timeout",
            Some(settings.limits.header_read_timeout),
        ),
        ("idle timeout", Some(settings.limits.idle_timeout)),
        (
            "ended-conversation retention",
            Some(settings.ended_retention),
        ),
        (
            "abandoned-conversation timeout",
            Some(settings.abandoned_after),
        ),
    ];
    for (name, d) in positive {
        if d.is_some_and(|d| d.is_zero()) {
            return err(format!("{name} must be > 0"));
        }
    }
    for (name, d) in positive
        .into_iter()
        .chain([("JWT lifetime", Some(settings.jwt_lifetime))])
    {
        if d.is_some_and(|d| d > LONGEST) {
            return err(format!("{name} must be at most 10 years"));
        }
    }
    if settings.jwt_lifetime < MIN_JWT_LIFETIME {
        return err(
            "JWT lifetime must be at least 1 second (every chat would fail at once)".into(),
        );
    }
    if settings.rate_requests == 0 {
        return err(
            "rate limit must allow at least 1 request per window (0 refuses every call)".into(),
        );
    }
    if settings.create_requests == 0 {
        return err("create rate limit must allow at least 1 create per window".into());
    }
    if settings.max_request_bytes < MIN_REQUEST_BYTES {
        return err(format!(
            "max request bytes must be at least {MIN_REQUEST_BYTES} (a create request would not fit)"
        ));
    }
    if settings.max_conversations == 0 {
        return err("max conversations must be at least 1".into());
    }
    if settings.limits.max_connections < 2 {
        return err("max connections must be at least 2 (an event stream and a REST call)".into());
    }
    if settings
        .control_token
        .as_deref()
        .is_some_and(|t| t.trim().len() < 8)
    {
        return err("the control token must have at least 8 characters".into());
    }
    if agent_delay > LONGEST_DELAY {
        let secs = LONGEST_DELAY.as_secs();
        return err(format!("agent delay must be at most {secs} s"));
    }
    Ok(())
}

/// A random control-API token (32 hex digits).
fn generate_token() -> String {
    let n: u128 = rand::rng().random();
    format!("{n:032x}")
}

/// Forgets conversations whose JWT expired (nobody can reach them any more), ended ones after
/// their retention and abandoned ones, so a long-lived emulator does not grow without bound.
async fn expiry_sweeper(shared: Arc<Shared>) {
    let s = &shared.settings;
    let period = (s.jwt_lifetime.min(s.ended_retention).min(s.abandoned_after) / 4)
        .clamp(Duration::from_millis(250), Duration::from_secs(60));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            _ = ticker.tick() => {
                let now = std::time::Instant::now();
                let s = &shared.settings;
                let forgotten = shared.store.remove_where(|c| {
                    c.forgettable(now, s.ended_retention, s.abandoned_after)
                });
                for conv in forgotten {
                    conv.vanish();
                }
                shared.limiter.prune(s.rate_window);
                shared.create_limiter.prune(s.create_window);
            }
        }
    }
}

/// Periodically drops every socket when `Faults::drop_sockets_secs` is set.
async fn socket_dropper(shared: Arc<Shared>) {
    let mut rx = shared.faults.subscribe();
    loop {
        let secs = rx.borrow_and_update().drop_sockets_secs;
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            changed = rx.changed() => if changed.is_err() { return },
            _ = async {
                match secs {
                    Some(s) if s > 0 => tokio::time::sleep(Duration::from_secs(s)).await,
                    _ => std::future::pending().await,
                }
            } => shared.drop_all_sockets(DropMode::Abrupt),
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    crate::rest::routes(shared.clone())
        .merge(crate::control::routes(shared.clone()))
        .merge(crate::ws::routes(shared.clone()))
        .merge(crate::webmessaging::routes(shared.clone()))
        .fallback(|| async { ApiError::not_found() })
        .layer(FaultsLayer(shared))
        .layer(crate::cors::EmulatorCors::new())
        .layer(MapResponseLayer::new(common_headers))
}

/// Correlation id + standard headers on every response; fills `contextId` of error bodies.
///
/// A plain response map (no boxed future, no per-request clone of the inner service, as
/// `axum::middleware::from_fn` costs): the correlation id only goes into the response.
pub(crate) fn common_headers(mut resp: Response) -> Response {
    let mut buf = uuid::Uuid::encode_buffer();
    let correlation: &str = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    if let Some(ErrorMarker(mut body)) = resp.extensions_mut().remove::<ErrorMarker>() {
        body.context_id = Some(correlation.to_owned());
        if let Ok(bytes) = serde_json::to_vec(&body) {
            resp.headers_mut().remove(http::header::CONTENT_LENGTH);
            *resp.body_mut() = Body::from(bytes);
        }
    }
    // Constants: `from_static` checks its argument each time it runs.
    #[allow(clippy::declare_interior_mutable_const)]
    const CORRELATION: HeaderName = HeaderName::from_static("inin-correlation-id");
    #[allow(clippy::declare_interior_mutable_const)]
    const NO_STORE: HeaderValue = HeaderValue::from_static("no-cache, no-store, must-revalidate");
    #[allow(clippy::declare_interior_mutable_const)]
    const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");
    #[allow(clippy::declare_interior_mutable_const)]
    const ZERO: HeaderValue = HeaderValue::from_static("0");
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(correlation) {
        h.insert(CORRELATION, v);
    }
    h.insert(http::header::CACHE_CONTROL, NO_STORE);
    h.insert(http::header::PRAGMA, NO_CACHE);
    h.insert(http::header::EXPIRES, ZERO);
    resp
}

/// A member lookup: `GET .../conversations/{id}/members/{memberId}` (nothing after the id).
fn member_lookup(req: &Request) -> bool {
    if req.method() != Method::GET {
        return false;
    }
    let mut segments = req.uri().path().rsplit('/');
    let _member = segments.next();
    segments.next() == Some("members")
}

/// REST fault injection (only `/api/` paths).
#[derive(Clone)]
struct FaultsLayer(Arc<Shared>);

impl<S> Layer<S> for FaultsLayer {
    type Service = FaultsService<S>;
    fn layer(&self, inner: S) -> FaultsService<S> {
        FaultsService {
            shared: self.0.clone(),
            inner,
        }
    }
}

/// [`FaultsLayer`]'s service: with no REST fault set (the usual case) a request goes straight
/// to the inner service, with neither a boxed future nor a clone of the inner service.
#[derive(Clone)]
struct FaultsService<S> {
    shared: Arc<Shared>,
    inner: S,
}

impl<S> Service<Request> for FaultsService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if !req.uri().path().starts_with("/api/")
            || req.method() == Method::OPTIONS
            || self.shared.faults.borrow().rest_off()
        {
            return Either::Left(self.inner.call(req));
        }
        // The inner service was made ready for this call: it goes into the future, a clone
        // stays (tower's usual exchange).
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        Either::Right(Box::pin(faulty(self.shared.clone(), req, inner).map(Ok)))
    }
}

/// A REST request with faults set: each may answer instead of the route, or replace its
/// answer.
async fn faulty<S>(shared: Arc<Shared>, req: Request, inner: S) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let faults = shared.faults.borrow().clone();
    // A guest message POST: `.../members/{mid}/messages`.
    let message_post = req.method() == Method::POST && req.uri().path().ends_with("/messages");
    let spared = faults.spare_sends && message_post;
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if faults.member_lookup_delay_ms > 0 && member_lookup(&req) {
        tokio::time::sleep(Duration::from_millis(faults.member_lookup_delay_ms)).await;
    }
    if shared.roll(faults.rate_limited_rate) {
        return ApiError::new(
            429,
            "too.many.requests.retry.after",
            "Rate limit exceeded the maximum. Retry the request in [1] seconds",
        )
        .header(http::header::RETRY_AFTER, HeaderValue::from(1u32))
        .into_response();
    }
    if !spared && shared.roll(faults.error_rate) {
        return ApiError::service_unavailable().into_response();
    }
    if message_post && shared.roll(faults.message_error_rate) {
        return ApiError::service_unavailable().into_response();
    }
    let Ok(resp) = inner.oneshot(req).await;
    if message_post && resp.status().is_success() && shared.roll(faults.message_lost_answer_rate) {
        return ApiError::service_unavailable().into_response();
    }
    if !spared && resp.status().is_success() && shared.roll(faults.late_error_rate) {
        return ApiError::service_unavailable().into_response();
    }
    if !spared && resp.status() == http::StatusCode::OK && shared.roll(faults.non_json_rate) {
        let (mut parts, _) = resp.into_parts();
        parts.headers.remove(http::header::CONTENT_LENGTH);
        parts.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/html"),
        );
        return Response::from_parts(
            parts,
            Body::from("<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"),
        );
    }
    resp
}

/// Accept queue length. `TcpListener::bind` asks for 1024; a load run opening 1,000 chats at
/// once (a WebSocket plus REST connections each) overflowed it, and every dropped SYN cost
/// the client a 1-3-7 s retransmission. The kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 8192;

fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std/tokio's bind does on Unix: a restarted emulator may reuse its port at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}
