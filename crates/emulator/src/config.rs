//! Emulator configuration: restrictions (`EmulatorConfig`) and fault injection (`Faults`).

use crate::error::EmulatorError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Restrictions and identities, loadable from a JSON file (camelCase keys).
///
/// Every list empty (the default) means "accept anything".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EmulatorConfig {
    /// Allowed `organizationId`s (empty = any). Others get 400 `chat.error.bad.request`.
    pub organizations: Vec<String>,
    /// Allowed `deploymentId`s (empty = any). Others get 400 `chat.error.bad.request`.
    pub deployments: Vec<String>,
    /// Queue names (`routingTarget.targetAddress`, exact match; empty = any). Others get 400
    /// `chat.error.invalid.queue`.
    pub queues: Vec<String>,
    /// Allowed `Origin` header values on create (empty = any). Others get 403 `origin.not.allowed`.
    pub allowed_origins: Vec<String>,
    /// Deployments answering 400 `chat.deployment.disabled`.
    pub disabled_deployments: Vec<String>,
    /// Deployments requiring `memberAuthToken` (400 `chat.deployment.require.auth` when missing,
    /// `chat.deployment.bad.auth` when it is empty or `"bad"`).
    pub auth_deployments: Vec<String>,
    /// Per-JWT rate limit; overrides the builder's when set.
    pub rate_limit: Option<RateLimitConfig>,
    /// Display name of the first agent (default `Riley`).
    pub agent_name: Option<String>,
    /// When set, an Architect inbound flow (a `WORKFLOW` member named `Inbound chat flow`)
    /// joins each chat, posts this standard message and leaves before the agent is offered
    /// (docs/protocol.md 7.8 step 3).
    pub workflow_message: Option<String>,
    /// Most TCP connections served at once (see `EmulatorBuilder::max_connections`).
    pub max_connections: Option<usize>,
    /// Seconds a new connection has to send its first request head.
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a connection with no request in flight stays open.
    pub idle_timeout_secs: Option<u64>,
    /// Creates allowed per client IP address per window.
    pub create_rate_limit: Option<RateLimitConfig>,
    /// Most conversations kept at once.
    pub max_conversations: Option<usize>,
    /// Seconds an ended conversation stays readable before it is forgotten.
    pub ended_retention_secs: Option<u64>,
    /// Seconds after which a conversation with no socket and no guest call is forgotten.
    pub abandoned_after_secs: Option<u64>,
    /// Token required on the control API (`Authorization: Bearer ...`).
    pub control_token: Option<String>,
}

/// A fixed-window rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitConfig {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length in seconds.
    pub window_secs: u64,
}

impl EmulatorConfig {
    /// Parses a JSON document.
    pub fn from_json_str(text: &str) -> Result<Self, EmulatorError> {
        serde_json::from_str(text).map_err(|e| EmulatorError::Config(e.to_string()))
    }

    /// Reads and parses a JSON file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, EmulatorError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| EmulatorError::Config(format!("{}: {e}", path.display())))?;
        Self::from_json_str(&text)
            .map_err(|e| EmulatorError::Config(format!("{}: {e}", path.display())))
    }
}

/// REST fault injection. All zero/none by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Fraction (0..=1) of `/api/v2` answers replaced by 503 `service.unavailable`.
    pub error_rate: f64,
    /// Latency added to every `/api/v2` request, in milliseconds.
    pub latency_ms: u64,
    /// Fraction (0..=1) of 200 answers whose body is replaced by an HTML page (`text/html`).
    pub non_json_rate: f64,
    /// Drop (abruptly) every attached socket every N seconds.
    pub drop_sockets_secs: Option<u64>,
    /// Fraction (0..=1) of `/api/v2` requests answered 429 `too.many.requests.retry.after`
    /// (`Retry-After: 1`) without being processed.
    pub rate_limited_rate: f64,
    /// Fraction (0..=1) of `/api/v2` requests that are processed and then answered 503: the
    /// ambiguous failure (the client cannot tell whether its message was stored).
    pub late_error_rate: f64,
    /// Fraction (0..=1) of event frames sent twice.
    pub duplicate_frame_rate: f64,
    /// Fraction (0..=1) of event frames before which the socket is dropped (TCP close, no
    /// close frame; the frame is not sent on it).
    pub drop_socket_rate: f64,
    /// Fraction (0..=1) of event frames before which the socket stalls: it stays open but
    /// sends nothing more (no frames, no heartbeats, no pongs) until the client closes it.
    pub stall_rate: f64,
    /// Exempt guest message POSTs from `errorRate`, `lateErrorRate` and `nonJsonRate` (for
    /// clients without exactly-once sends; 429 and the two message faults still apply).
    pub spare_sends: bool,
    /// Fraction (0..=1) of guest message POSTs refused with 503 before the message is stored.
    pub message_error_rate: f64,
    /// Fraction (0..=1) of guest message POSTs that store the message, then answer 503 (the
    /// answer of a processed request lost on the way: what exactly-once sends must resolve).
    pub message_lost_answer_rate: f64,
    /// Latency added to member lookups (`GET .../members/{memberId}`) on top of `latencyMs`,
    /// in milliseconds: a slow lookup, to show that a client's events do not wait for one.
    pub member_lookup_delay_ms: u64,
    /// Seed of the fault RNG (reproducible runs); random when absent.
    pub seed: Option<u64>,
}

impl Faults {
    /// Applies one `key=value` item as given to `--fault`.
    pub fn apply_flag(&mut self, item: &str) -> Result<(), EmulatorError> {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| EmulatorError::Config(format!("--fault {item}: expected key=value")))?;
        let bad = |e: &dyn std::fmt::Display| EmulatorError::Config(format!("--fault {item}: {e}"));
        match k.trim() {
            "error-rate" => self.error_rate = parse_rate(v).map_err(|e| bad(&e))?,
            "non-json-rate" => self.non_json_rate = parse_rate(v).map_err(|e| bad(&e))?,
            "message-error-rate" => self.message_error_rate = parse_rate(v).map_err(|e| bad(&e))?,
            "message-lost-answer-rate" => {
                self.message_lost_answer_rate = parse_rate(v).map_err(|e| bad(&e))?;
            }
            "latency-ms" => self.latency_ms = v.trim().parse().map_err(|e| bad(&e))?,
            "member-lookup-delay-ms" => {
                self.member_lookup_delay_ms = v.trim().parse().map_err(|e| bad(&e))?;
            }
            "drop-sockets-secs" => {
                let n: u64 = v.trim().parse().map_err(|e| bad(&e))?;
                self.drop_sockets_secs = (n > 0).then_some(n);
            }
            "seed" => self.seed = Some(v.trim().parse().map_err(|e| bad(&e))?),
            "rate-limited-rate" => self.rate_limited_rate = parse_rate(v).map_err(|e| bad(&e))?,
            "late-error-rate" => self.late_error_rate = parse_rate(v).map_err(|e| bad(&e))?,
            "duplicate-frame-rate" => {
                self.duplicate_frame_rate = parse_rate(v).map_err(|e| bad(&e))?;
            }
            "drop-socket-rate" => self.drop_socket_rate = parse_rate(v).map_err(|e| bad(&e))?,
            "stall-rate" => self.stall_rate = parse_rate(v).map_err(|e| bad(&e))?,
            "spare-sends" => self.spare_sends = v.trim().parse().map_err(|e| bad(&e))?,
            other => {
                return Err(EmulatorError::Config(format!(
                    "--fault {other}: unknown fault (error-rate, latency-ms, member-lookup-delay-ms, non-json-rate, drop-sockets-secs, message-error-rate, message-lost-answer-rate, rate-limited-rate, late-error-rate, duplicate-frame-rate, drop-socket-rate, stall-rate, spare-sends, seed)"
                )))
            }
        }
        Ok(())
    }

    pub(crate) fn validate(&self) -> Result<(), EmulatorError> {
        if self.latency_ms > MAX_LATENCY_MS {
            return Err(EmulatorError::Config(format!(
                "latencyMs must be at most {MAX_LATENCY_MS} (every request would time out)"
            )));
        }
        if self.member_lookup_delay_ms > MAX_LATENCY_MS {
            return Err(EmulatorError::Config(format!(
                "memberLookupDelayMs must be at most {MAX_LATENCY_MS} (every lookup would time out)"
            )));
        }
        for (name, r) in [
            ("errorRate", self.error_rate),
            ("nonJsonRate", self.non_json_rate),
            ("rateLimitedRate", self.rate_limited_rate),
            ("lateErrorRate", self.late_error_rate),
            ("duplicateFrameRate", self.duplicate_frame_rate),
            ("dropSocketRate", self.drop_socket_rate),
            ("stallRate", self.stall_rate),
            ("messageErrorRate", self.message_error_rate),
            ("messageLostAnswerRate", self.message_lost_answer_rate),
        ] {
            if !(0.0..=1.0).contains(&r) {
                return Err(EmulatorError::Config(format!(
                    "{name} must be within 0..=1"
                )));
            }
        }
        Ok(())
    }
}

/// Added latency above ten minutes makes every request time out.
const MAX_LATENCY_MS: u64 = 600_000;

fn parse_rate(v: &str) -> Result<f64, String> {
    let r: f64 = v.trim().parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err("rate must be within 0..=1".to_owned())
    }
}
