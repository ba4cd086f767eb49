//! State shared by every route and task of one emulator: settings, the rate limiter, the
//! conversation store, the signer and the fault settings.

use crate::agent::{self, AgentPlan};
use crate::config::{EmulatorConfig, Faults};
use crate::conv::{Conversation, DropMode, SocketCmd, Store};
use crate::error::EmulatorError;
use crate::jwt::Signer;
use http::{HeaderName, HeaderValue};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
    shards: Vec<Mutex<HashMap<u64, (Instant, u32)>>>,
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
    pub(crate) fn headers(&self) -> [(HeaderName, HeaderValue); 3] {
        // Constants: `from_static` checks its argument each time it runs.
        #[allow(clippy::declare_interior_mutable_const)]
        const ALLOWED: HeaderName = HeaderName::from_static("inin-ratelimit-allowed");
        #[allow(clippy::declare_interior_mutable_const)]
        const COUNT: HeaderName = HeaderName::from_static("inin-ratelimit-count");
        #[allow(clippy::declare_interior_mutable_const)]
        const RESET: HeaderName = HeaderName::from_static("inin-ratelimit-reset");
        [
            (ALLOWED, HeaderValue::from(self.allowed)),
            (COUNT, HeaderValue::from(self.count)),
            (RESET, HeaderValue::from(self.reset_secs)),
        ]
    }
}

impl RateLimiter {
    pub(crate) fn new() -> Self {
        RateLimiter {
            shards: (0..32).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Drops the counters whose window ended (a new request starts a new window anyway).
    pub(crate) fn prune(&self, window: Duration) {
        let now = Instant::now();
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .retain(|_, (start, _)| now.duration_since(*start) < window);
        }
    }

    /// Counts one request of `key`.
    pub(crate) fn hit(&self, key: &str, allowed: u32, window: Duration) -> RateInfo {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        self.hit_hashed(h.finish(), allowed, window)
    }

    /// Counts one request of the key with this 64-bit hash. Counters are keyed by the hash:
    /// a key (a whole JWT, hundreds of bytes) is hashed once per request and never copied.
    pub(crate) fn hit_hashed(&self, hash: u64, allowed: u32, window: Duration) -> RateInfo {
        let idx = (hash as usize) % self.shards.len().max(1);
        let now = Instant::now();
        let (start, count) = match self.shards.get(idx) {
            Some(shard) => {
                let mut map = shard
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let entry = map.entry(hash).or_insert((now, 0));
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
    pub webmessaging: crate::webmessaging::state::WmState,
}

impl Shared {
    /// `ws` or `wss`, as the event stream of this emulator is served.
    pub(crate) fn ws_scheme(&self) -> &'static str {
        if self.tls_certificate.is_some() {
            "wss"
        } else {
            "ws"
        }
    }
}

impl Shared {
    pub(crate) fn conv(&self, cid: &str) -> Result<Arc<Conversation>, EmulatorError> {
        self.store
            .get(cid)
            .ok_or_else(|| EmulatorError::NotFound(cid.to_owned()))
    }

    pub(crate) fn agent_plan(&self) -> AgentPlan {
        self.agent
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Activates a conversation (first socket, or at create) and starts its agent.
    pub(crate) fn activate(&self, conv: &Arc<Conversation>) {
        if conv.activate() {
            let mut plan = self.agent_plan();
            plan.workflow_message = self.config.workflow_message.clone();
            plan.inactivity_timeout = self.settings.inactivity_timeout;
            let conv = conv.clone();
            self.tracker.spawn(agent::run(conv, plan));
        }
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        if let Some(seed) = faults.seed {
            *self
                .rng
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = StdRng::seed_from_u64(seed);
        }
        self.faults.send_replace(faults);
    }

    pub(crate) fn roll(&self, rate: f64) -> bool {
        if rate <= 0.0 {
            return false;
        }
        self.rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .random::<f64>()
            < rate
    }

    /// Forgets a conversation (see [`EmulatorHandle::forget`]).
    pub(crate) fn forget(&self, cid: &str) -> Result<(), EmulatorError> {
        let conv = self
            .store
            .remove(cid)
            .ok_or_else(|| EmulatorError::NotFound(cid.to_owned()))?;
        conv.vanish();
        Ok(())
    }

    /// Announces a maintenance close to one conversation's sockets, or to all.
    pub(crate) fn announce_socket_closing(
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

    pub(crate) fn drop_all_sockets(&self, mode: DropMode) {
        for c in self.store.all() {
            c.broadcast(SocketCmd::Drop(mode));
        }
        self.webmessaging.drop_all_sockets();
    }
}
