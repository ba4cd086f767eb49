//! The emulator: builder, shared state, router, common layers, and the handle.

use crate::agent::{self, AgentMode, AgentPlan};
use crate::config::{EmulatorConfig, Faults};
use crate::conv::{
    Conversation, ConversationSnapshot, ConversationState, DropMode, SocketCmd, Store,
};
use crate::error::{ApiError, EmulatorError, ErrorMarker};
use crate::jwt::Signer;
use crate::tls::EmulatorTls;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use guest_chat_model::{
    BodyType, MediaRequestType, WebChatGuestMediaRequest, WebChatMessage, WebChatTyping,
};
use http::{HeaderName, HeaderValue, Method};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Fixed settings of a running emulator.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub heartbeat: Duration,
    pub jwt_lifetime: Duration,
    pub rate_requests: u32,
    pub rate_window: Duration,
    pub max_request_bytes: usize,
    pub activate_without_stream: bool,
    /// A chat whose guest sent no message or typing indicator for this long is ended.
    pub inactivity_timeout: Option<Duration>,
    /// Connection cap and timeouts of the accept loop.
    pub limits: crate::accept::Limits,
    /// Creates allowed per client address per window.
    pub create_requests: u32,
    pub create_window: Duration,
    /// Conversations kept at once (ended ones until forgotten included).
    pub max_conversations: usize,
    /// An ended conversation is forgotten this long after it ended.
    pub ended_retention: Duration,
    /// A conversation with no socket attached and no guest request for this long is forgotten.
    pub abandoned_after: Duration,
    /// Required on the control API (`Authorization: Bearer ...`) when set.
    pub control_token: Option<String>,
}

/// Per-JWT fixed-window counters, sharded.
pub(crate) struct RateLimiter {
    shards: Vec<Mutex<HashMap<String, (Instant, u32)>>>,
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateInfo {
    pub allowed: u32,
    pub count: u32,
    pub reset_secs: u64,
    pub exceeded: bool,
}

impl RateInfo {
    pub fn headers(&self) -> [(HeaderName, HeaderValue); 3] {
        [
            (
                HeaderName::from_static("inin-ratelimit-allowed"),
                HeaderValue::from(self.allowed),
            ),
            (
                HeaderName::from_static("inin-ratelimit-count"),
                HeaderValue::from(self.count),
            ),
            (
                HeaderName::from_static("inin-ratelimit-reset"),
                HeaderValue::from(self.reset_secs),
            ),
        ]
    }
}

impl RateLimiter {
    fn new() -> Self {
        RateLimiter {
            shards: (0..32).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Drops the counters whose window ended (a new request starts a new window anyway).
    pub fn prune(&self, window: Duration) {
        let now = Instant::now();
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|_, (start, _)| now.duration_since(*start) < window);
        }
    }

    pub fn hit(&self, key: &str, allowed: u32, window: Duration) -> RateInfo {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        let idx = (h.finish() as usize) % self.shards.len().max(1);
        let now = Instant::now();
        let (start, count) = match self.shards.get(idx) {
            Some(shard) => {
                let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
                let entry = map.entry(key.to_owned()).or_insert((now, 0));
                if now.duration_since(entry.0) >= window {
                    *entry = (now, 0);
                }
                entry.1 = entry.1.saturating_add(1);
                *entry
            }
            None => (now, 1),
        };
        let left = window.saturating_sub(now.duration_since(start));
        let reset_secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        RateInfo {
            allowed,
            count: count.min(allowed.saturating_add(1)),
            reset_secs: reset_secs.max(1),
            exceeded: count > allowed,
        }
    }
}

/// State shared by every route and task of one emulator.
pub(crate) struct Shared {
    pub settings: Settings,
    pub config: EmulatorConfig,
    pub agent: RwLock<AgentPlan>,
    pub signer: Signer,
    pub store: Store,
    pub limiter: RateLimiter,
    /// Per-client-address create counters.
    pub create_limiter: RateLimiter,
    pub faults: watch::Sender<Faults>,
    pub rng: Mutex<StdRng>,
    pub cancel: CancellationToken,
    pub tracker: TaskTracker,
    pub local_addr: SocketAddr,
    /// The PEM clients should trust, when serving https/wss.
    pub tls_certificate: Option<String>,
    /// Web Messaging sessions and deployment settings.
    pub webmessaging: crate::webmessaging::WmState,
}

impl Shared {
    /// `ws` or `wss`, as the event stream of this emulator is served.
    pub fn ws_scheme(&self) -> &'static str {
        if self.tls_certificate.is_some() {
            "wss"
        } else {
            "ws"
        }
    }
}

impl Shared {
    pub fn conv(&self, cid: &str) -> Result<Arc<Conversation>, EmulatorError> {
        self.store
            .get(cid)
            .ok_or_else(|| EmulatorError::NotFound(cid.to_owned()))
    }

    pub fn agent_plan(&self) -> AgentPlan {
        self.agent.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Activates a conversation (first socket, or at create) and starts its agent.
    pub fn activate(&self, conv: &Arc<Conversation>) {
        if conv.activate() {
            let mut plan = self.agent_plan();
            plan.workflow_message = self.config.workflow_message.clone();
            plan.inactivity_timeout = self.settings.inactivity_timeout;
            let conv = conv.clone();
            self.tracker.spawn(agent::run(conv, plan));
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        if let Some(seed) = faults.seed {
            *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = StdRng::seed_from_u64(seed);
        }
        self.faults.send_replace(faults);
    }

    pub fn roll(&self, rate: f64) -> bool {
        if rate <= 0.0 {
            return false;
        }
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random::<f64>()
            < rate
    }

    /// Forgets a conversation (see [`EmulatorHandle::forget`]).
    pub fn forget(&self, cid: &str) -> Result<(), EmulatorError> {
        let conv = self
            .store
            .remove(cid)
            .ok_or_else(|| EmulatorError::NotFound(cid.to_owned()))?;
        conv.vanish();
        Ok(())
    }

    /// Announces a maintenance close to one conversation's sockets, or to all.
    pub fn announce_socket_closing(
        &self,
        cid: Option<&str>,
        grace: Duration,
    ) -> Result<(), EmulatorError> {
        match cid {
            Some(cid) => self.conv(cid)?.announce_socket_closing(grace),
            None => {
                for c in self.store.all() {
                    c.announce_socket_closing(grace);
                }
            }
        }
        Ok(())
    }

    pub fn drop_all_sockets(&self, mode: DropMode) {
        for c in self.store.all() {
            c.broadcast(SocketCmd::Drop(mode));
        }
        self.webmessaging.drop_all_sockets();
    }
}

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
    /// longest; with none idle it waits in the accept queue. WebSockets count and are never
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
    /// than the usual clients' pool idle time, so they close first). WebSockets are exempt.
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
    pub async fn start(self) -> Result<EmulatorHandle, EmulatorError> {
        self.faults.validate()?;
        let mut settings = self.settings;
        if let Some(rl) = self.config.rate_limit {
            settings.rate_requests = rl.requests;
            settings.rate_window = Duration::from_secs(rl.window_secs);
        }
        let c = &self.config;
        if let Some(rl) = c.create_rate_limit {
            settings.create_requests = rl.requests;
            settings.create_window = Duration::from_secs(rl.window_secs);
        }
        if let Some(n) = c.max_connections {
            settings.limits.max_connections = n;
        }
        if let Some(secs) = c.header_read_timeout_secs {
            settings.limits.header_read_timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = c.idle_timeout_secs {
            settings.limits.idle_timeout = Duration::from_secs(secs);
        }
        if let Some(n) = c.max_conversations {
            settings.max_conversations = n;
        }
        if let Some(secs) = c.ended_retention_secs {
            settings.ended_retention = Duration::from_secs(secs);
        }
        if let Some(secs) = c.abandoned_after_secs {
            settings.abandoned_after = Duration::from_secs(secs);
        }
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
        let tls = match &self.tls {
            Some(tls) => Some(tls.materialize()?),
            None => None,
        };
        let signer = Signer::new().await?;
        let listener = listen(self.bind)?;
        let local_addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let seed = self.faults.seed;
        let (faults, _) = watch::channel(self.faults);
        let agent_name = self
            .config
            .agent_name
            .clone()
            .unwrap_or_else(|| "Riley".to_owned());
        let shared = Arc::new(Shared {
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
            cancel: cancel.clone(),
            tracker: TaskTracker::new(),
            local_addr,
            tls_certificate: tls.as_ref().map(|(_, pem)| pem.clone()),
            webmessaging: Default::default(),
        });
        let mut app = router(shared.clone());
        if let Some(demo) = &self.web_demo {
            app = app.merge(crate::web_demo::routes(demo));
        }
        let shutdown = cancel.clone();
        let server = tokio::spawn(crate::accept::serve(
            listener,
            tls.map(|(config, _)| config),
            app,
            shared.settings.limits,
            shutdown,
        ));
        shared.tracker.spawn(socket_dropper(shared.clone()));
        shared.tracker.spawn(expiry_sweeper(shared.clone()));
        Ok(EmulatorHandle {
            shared,
            server: Arc::new(Mutex::new(Some(server))),
        })
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
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            http::header::AUTHORIZATION,
            http::header::CONTENT_TYPE,
            http::header::ACCEPT,
        ])
        .expose_headers([
            HeaderName::from_static("inin-correlation-id"),
            HeaderName::from_static("inin-ratelimit-allowed"),
            HeaderName::from_static("inin-ratelimit-count"),
            HeaderName::from_static("inin-ratelimit-reset"),
            http::header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(3600));
    crate::rest::routes(shared.clone())
        .merge(crate::control::routes(shared.clone()))
        .merge(crate::ws::routes(shared.clone()))
        .merge(crate::webmessaging::routes(shared.clone()))
        .fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn_with_state(shared, faults_layer))
        .layer(cors)
        .layer(middleware::from_fn(common_layer))
}

/// Correlation id + standard headers on every response; fills `contextId` of error bodies.
async fn common_layer(req: Request, next: Next) -> Response {
    let correlation = uuid::Uuid::new_v4().to_string();
    let mut resp = next.run(req).await;
    if let Some(ErrorMarker(mut body)) = resp.extensions_mut().remove::<ErrorMarker>() {
        body.context_id = Some(correlation.clone());
        if let Ok(bytes) = serde_json::to_vec(&body) {
            resp.headers_mut().remove(http::header::CONTENT_LENGTH);
            *resp.body_mut() = Body::from(bytes);
        }
    }
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&correlation) {
        h.insert(HeaderName::from_static("inin-correlation-id"), v);
    }
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(http::header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(http::header::EXPIRES, HeaderValue::from_static("0"));
    resp
}

/// REST fault injection (only `/api/` paths).
async fn faults_layer(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") || req.method() == Method::OPTIONS {
        return next.run(req).await;
    }
    let faults = shared.faults.borrow().clone();
    // A guest message POST: `.../members/{mid}/messages`.
    let message_post = req.method() == Method::POST && req.uri().path().ends_with("/messages");
    let spared = faults.spare_sends && message_post;
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
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
    let resp = next.run(req).await;
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

/// A running emulator (cheap to clone). Dropping it does not stop the server; call
/// [`EmulatorHandle::shutdown`].
#[derive(Clone)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    server: Arc<Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("local_addr", &self.shared.local_addr)
            .finish()
    }
}

impl EmulatorHandle {
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` with TLS.
    pub fn base_url(&self) -> String {
        let scheme = if self.shared.tls_certificate.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.shared.local_addr)
    }

    /// The certificate (PEM) clients must trust to reach this emulator over TLS: the
    /// generated one, or the chain given to [`EmulatorTls::from_pem`]. `None` without TLS.
    pub fn tls_certificate_pem(&self) -> Option<String> {
        self.shared.tls_certificate.clone()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Stops the listener, closes every socket and ends every agent task.
    pub async fn shutdown(&self) {
        self.shared.cancel.cancel();
        self.shared.tracker.close();
        let server = self.server.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(server) = server {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.shared.tracker.wait()).await;
    }

    /// Ids and snapshots of every conversation.
    pub fn conversations(&self) -> Vec<ConversationSnapshot> {
        self.shared
            .store
            .all()
            .iter()
            .map(|c| c.snapshot())
            .collect()
    }

    /// Every message stored in the conversation (guest, agent and system), oldest first: what
    /// the service recorded, for checking that each message arrived once and in order.
    pub fn transcript(&self, cid: &str) -> Result<Vec<WebChatMessage>, EmulatorError> {
        Ok(self.shared.conv(cid)?.transcript())
    }

    /// The token the control API requires (`Authorization: Bearer ...`): the one given to
    /// [`EmulatorBuilder::control_token`], or the one generated for a non-loopback bind.
    /// `None` when the control API is open (loopback, no token given).
    pub fn control_token(&self) -> Option<String> {
        self.shared.settings.control_token.clone()
    }

    /// Conversations kept right now (live, and ended ones not yet forgotten).
    pub fn conversation_count(&self) -> usize {
        self.shared.store.len()
    }

    /// One conversation's snapshot.
    pub fn conversation_snapshot(&self, cid: &str) -> Result<ConversationSnapshot, EmulatorError> {
        Ok(self.shared.conv(cid)?.snapshot())
    }

    /// The current agent sends a message.
    pub fn agent_say(
        &self,
        cid: &str,
        text: impl Into<String>,
    ) -> Result<WebChatMessage, EmulatorError> {
        self.shared
            .conv(cid)?
            .agent_say(text.into(), BodyType::Standard)
    }

    /// The current agent sends a message with this body type.
    pub fn agent_send(
        &self,
        cid: &str,
        text: impl Into<String>,
        body_type: BodyType,
    ) -> Result<WebChatMessage, EmulatorError> {
        self.shared.conv(cid)?.agent_say(text.into(), body_type)
    }

    /// The current agent's typing indicator.
    pub fn agent_typing(&self, cid: &str) -> Result<WebChatTyping, EmulatorError> {
        self.shared.conv(cid)?.agent_typing()
    }

    /// Transfers to a new agent; returns once the new agent is CONNECTED, with its id.
    pub async fn transfer(&self, cid: &str, name: Option<&str>) -> Result<String, EmulatorError> {
        let conv = self.shared.conv(cid)?;
        let delay = self.shared.agent_plan().delay;
        agent::transfer(&conv, name.unwrap_or(agent::TRANSFER_NAME), delay).await
    }

    /// The agent ends the chat.
    pub fn end_chat(&self, cid: &str) -> Result<(), EmulatorError> {
        self.shared.conv(cid)?.end_by_agent()
    }

    /// Re-sends a member's current state (default: the agent) as a new member-change.
    pub fn duplicate_member_change(
        &self,
        cid: &str,
        member_id: Option<&str>,
    ) -> Result<String, EmulatorError> {
        self.shared.conv(cid)?.duplicate_member_change(member_id)
    }

    /// Sends `text` verbatim as one frame to every socket of the conversation: for testing
    /// how clients take unknown topics and malformed frames.
    pub fn push_raw_frame(&self, cid: &str, text: &str) -> Result<(), EmulatorError> {
        self.shared.conv(cid)?.push_raw_frame(text);
        Ok(())
    }

    /// Creates a PENDING media request and announces it with a `media-request` message.
    pub fn push_media_request(
        &self,
        cid: &str,
        types: Vec<MediaRequestType>,
    ) -> Result<WebChatGuestMediaRequest, EmulatorError> {
        self.shared.conv(cid)?.push_media_request(types)
    }

    /// Drops every socket attached to the conversation.
    pub fn drop_sockets(&self, cid: &str, mode: DropMode) -> Result<(), EmulatorError> {
        self.shared.conv(cid)?.broadcast(SocketCmd::Drop(mode));
        Ok(())
    }

    /// Forgets the conversation, as the service eventually does: its sockets are closed with
    /// 4100 `Error connecting to conversation (<id>)`, a new socket with its (still valid) JWT
    /// is accepted and closed the same way, and REST calls answer 404. The emulator also
    /// forgets every conversation by itself once its JWT has expired.
    pub fn forget(&self, cid: &str) -> Result<(), EmulatorError> {
        self.shared.forget(cid)
    }

    /// Sends `v2.system.socket_closing` (docs/protocol.md 7.11) to the conversation's sockets
    /// (`None`: to every socket), then closes them with 1001 after `grace`, as the platform
    /// does before maintenance. Clients that reconnect at once lose nothing.
    pub fn announce_socket_closing(
        &self,
        cid: Option<&str>,
        grace: Duration,
    ) -> Result<(), EmulatorError> {
        self.shared.announce_socket_closing(cid, grace)
    }

    /// Pauses or resumes heartbeats on the conversation's sockets.
    pub fn pause_heartbeats(&self, cid: &str, paused: bool) -> Result<(), EmulatorError> {
        self.shared.conv(cid)?.pause_heartbeats(paused);
        Ok(())
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: Faults) -> Result<(), EmulatorError> {
        faults.validate()?;
        self.shared.set_faults(faults);
        Ok(())
    }

    /// Changes the agent mode (and optionally delay) of conversations created from now on.
    pub fn set_agent(&self, mode: AgentMode, delay: Option<Duration>) {
        let mut plan = self.shared.agent.write().unwrap_or_else(|p| p.into_inner());
        plan.mode = mode;
        if let Some(d) = delay {
            plan.delay = d;
        }
    }

    /// A guest JWT for the conversation with this lifetime in seconds (negative = already expired).
    pub fn mint_jwt(&self, cid: &str, lifetime_secs: i64) -> Result<String, EmulatorError> {
        let conv = self.shared.conv(cid)?;
        self.shared.signer.sign(
            &conv.id,
            &conv.deployment_id,
            &conv.guest_id,
            &conv.org_id,
            lifetime_secs,
        )
    }

    /// Waits until the conversation is in `state`.
    pub async fn wait_for_state(
        &self,
        cid: &str,
        state: ConversationState,
    ) -> Result<ConversationSnapshot, EmulatorError> {
        wait_for(&self.shared, cid, Some(state), None).await
    }

    /// Waits until at least `n` sockets are attached.
    pub async fn wait_for_sockets(
        &self,
        cid: &str,
        n: usize,
    ) -> Result<ConversationSnapshot, EmulatorError> {
        wait_for(&self.shared, cid, None, Some(n)).await
    }
}

/// Awaits a status change (never polls) until the condition holds.
pub(crate) async fn wait_for(
    shared: &Shared,
    cid: &str,
    state: Option<ConversationState>,
    sockets: Option<usize>,
) -> Result<ConversationSnapshot, EmulatorError> {
    let conv = shared.conv(cid)?;
    let mut rx = conv.watch();
    let cond = |s: &crate::conv::Status| {
        state.is_none_or(|st| s.state == st) && sockets.is_none_or(|n| s.sockets >= n)
    };
    tokio::select! {
        r = rx.wait_for(cond) => { r.map_err(|_| EmulatorError::Shutdown)?; }
        _ = shared.cancel.cancelled() => return Err(EmulatorError::Shutdown),
    }
    Ok(conv.snapshot())
}
