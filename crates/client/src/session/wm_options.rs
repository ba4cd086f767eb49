//! The options of a Web Messaging [`GuestChat`](super::GuestChat) and what its deployment
//! allows ([`Capabilities`], read from the deployment's configuration).

use crate::webmessaging::{Endpoint, SessionToken, WmError};
use std::collections::BTreeMap;
use std::time::Duration;

/// Options of [`GuestChat::start_web_messaging`](super::GuestChat::start_web_messaging).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebMessagingOptions {
    /// The Messenger deployment id.
    pub deployment_id: String,
    /// Where the service is: a region ([`Endpoint::region`]) or a base URL (the emulator's).
    pub endpoint: Endpoint,
    /// `Origin` of the WebSocket upgrade (deployments may restrict it).
    pub origin: Option<String>,
    /// A stored session token to resume; `None` starts a new conversation with a new token.
    pub token: Option<SessionToken>,
    /// Custom attributes sent with the first message (`channel.metadata.customAttributes`).
    pub custom_attributes: BTreeMap<String, String>,
    /// How long each request waits for its answer (the Inbound echo of a send; default 10 s).
    pub answer_timeout: Duration,
    /// Interval of the `echo` health check (default 30 s); the socket is re-opened when it fails.
    pub keep_alive: Duration,
    /// Interval of the WebSocket pings (default 15 s, as the official mobile client); the
    /// socket is re-opened when a ping's pong has not come by the time the next one is due.
    pub ping_interval: Duration,
    /// Deliver the echo of the guest's own messages (default false).
    pub show_own_messages: bool,
    /// Reconnection attempts before the chat ends (default 10).
    pub max_reconnects: u32,
    /// The guest's name as the chat shows it on its own messages (Web Messaging does not
    /// carry it; default none).
    pub guest_name: Option<String>,
}

impl WebMessagingOptions {
    /// Options for `deployment_id` at `endpoint`, everything else by default.
    pub fn new(deployment_id: impl Into<String>, endpoint: Endpoint) -> Self {
        WebMessagingOptions {
            deployment_id: deployment_id.into(),
            endpoint,
            origin: None,
            token: None,
            custom_attributes: BTreeMap::new(),
            answer_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(30),
            ping_interval: Duration::from_secs(15),
            show_own_messages: false,
            max_reconnects: 10,
            guest_name: None,
        }
    }
    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }
    /// Resumes the conversation of a stored token.
    pub fn token(mut self, token: SessionToken) -> Self {
        self.token = Some(token);
        self
    }
    /// Adds a custom attribute.
    pub fn custom_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.custom_attributes.insert(key.into(), value.into());
        self
    }
    /// Sets the answer timeout.
    pub fn answer_timeout(mut self, d: Duration) -> Self {
        self.answer_timeout = d;
        self
    }
    /// Sets the keep-alive interval.
    pub fn keep_alive(mut self, d: Duration) -> Self {
        self.keep_alive = d;
        self
    }
    /// Sets the WebSocket ping interval.
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.ping_interval = d;
        self
    }
    /// Sets the name shown on the guest's own messages.
    pub fn guest_name(mut self, name: impl Into<String>) -> Self {
        self.guest_name = Some(name.into());
        self
    }
    /// Delivers (or not) the echo of the guest's own messages.
    pub fn show_own_messages(mut self, show: bool) -> Self {
        self.show_own_messages = show;
        self
    }
}

/// What the chat's backend allows, read from the deployment configuration (Web Messaging) or
/// known (guest chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The guest may send typing indicators.
    pub typing: bool,
    /// The guest may end the conversation ([`GuestChat::leave`](super::GuestChat::leave)).
    pub end_conversation: bool,
    /// Quick replies and buttons can be answered.
    pub quick_replies: bool,
    /// The conversation can be resumed later with [`GuestChat::resume_token`](super::GuestChat::resume_token).
    pub resumable: bool,
}

impl Capabilities {
    /// Guest chat: typing and leave always; no quick replies; no resume.
    pub(super) const GUEST_CHAT: Capabilities = Capabilities {
        typing: true,
        end_conversation: true,
        quick_replies: false,
        resumable: false,
    };
}

/// Reads the deployment's `config.json`.
pub(super) async fn read_capabilities(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    deployment_id: &str,
) -> Result<Capabilities, WmError> {
    let rest = |why: String| WmError::Rest {
        what: "deployment configuration",
        why,
    };
    let response = http
        .get(endpoint.config_url(deployment_id))
        .send()
        .await
        .map_err(|e| rest(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(rest(format!("HTTP {}", response.status().as_u16())));
    }
    let config: serde_json::Value = response
        .json()
        .await
        .map_err(|e| rest(e.without_url().to_string()))?;
    let conversations = &config["messenger"]["apps"]["conversations"];
    Ok(Capabilities {
        typing: conversations["showUserTypingIndicator"]
            .as_bool()
            .unwrap_or(false),
        end_conversation: conversations["conversationClear"]["enabled"]
            .as_bool()
            .unwrap_or(false),
        quick_replies: true,
        resumable: true,
    })
}
