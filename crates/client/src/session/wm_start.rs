//! Starting a Web Messaging [`GuestChat`] ([`GuestChat::start_web_messaging`]), and the
//! conversions its socket task and [`GuestChat::history`] share: members and messages of
//! the protocol as those of the unified event stream, and the REST history pages.

use super::queue::Queue;
use super::web_messaging::SocketTask;
use super::wm_options::{read_capabilities, WebMessagingOptions};
use super::{ChatState, GuestChat, Inner, Member, Shared, WmHandle};
use crate::api::WebChatApi;
use crate::client::ApiClient;
use crate::error::Error;
use crate::events::Roster;
use crate::model::{BodyType, MemberState, Role, Timestamp, WebChatMemberInfo, WebChatMessage};
use crate::webmessaging::{
    ConnectOptions, Endpoint, OriginatingEntity, SessionToken, StructuredMessage,
    WebMessagingClient, WmError,
};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

impl GuestChat {
    /// Starts (or, with a stored token, resumes) a Web Messaging conversation: reads the
    /// deployment's configuration into [`Capabilities`](super::Capabilities), opens the socket and sends
    /// `configureSession`. Then the same calls as a guest chat: [`send`](Self::send),
    /// [`typing`](Self::typing), [`history`](Self::history), [`leave`](Self::leave),
    /// [`events`](Self::events), and [`resume_token`](Self::resume_token) to persist.
    ///
    /// A refused upgrade (bad origin or deployment) is
    /// [`WmError::UpgradeRefused`].
    pub async fn start_web_messaging(options: WebMessagingOptions) -> Result<GuestChat, Error> {
        let builder = reqwest::Client::builder();
        // In a browser, fetch has no client-wide timeout.
        #[cfg(not(target_arch = "wasm32"))]
        let builder = builder.timeout(options.answer_timeout);
        let http = builder.build().map_err(|e| {
            Error::Transport(crate::error::TransportError::with_source(e.to_string(), e))
        })?;
        let capabilities =
            read_capabilities(&http, &options.endpoint, &options.deployment_id).await?;
        let token = options.token.clone().unwrap_or_else(SessionToken::generate);
        let (client, new_session) = open(&options, &token).await?;
        // The REST client of the API host; guest-chat routes do not apply to this chat.
        let api_client = ApiClient::builder()
            .environment(options.endpoint.api_base())
            .build()?;
        let cancel = CancellationToken::new();
        let roster = Roster::default();
        roster.with(|table| table.push(guest_member(options.guest_name.clone())));
        let (queue, rx, stats) = Queue::new();
        let (commands_tx, commands_rx) = mpsc::channel(16);
        let inner = Arc::new(Inner {
            api: WebChatApi::new(&api_client),
            conversation_id: String::new(),
            member_id: GUEST_ID.to_owned(),
            shared: Mutex::new(Shared {
                state: ChatState::Waiting,
                guest_leaving: false,
                ended_by: None,
            }),
            roster,
            events: Mutex::new(Some(rx)),
            stats,
            sends: tokio::sync::Mutex::new(super::sends::SendLog::default()),
            _guard: cancel.clone().drop_guard(),
        });
        let task = SocketTask {
            inner: Arc::downgrade(&inner),
            options: options.clone(),
            token: token.clone(),
            http: http.clone(),
            queue,
            pending: VecDeque::new(),
            commands: commands_rx,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            next_send: crate::rt::Instant::now(),
            last_typing: None,
            jwt: None,
            attributes_sent: false,
        };
        crate::rt::spawn(task.run(client, cancel));
        Ok(GuestChat {
            inner,
            wm: Some(Arc::new(WmHandle {
                commands: commands_tx,
                token,
                capabilities,
                endpoint: options.endpoint,
                http,
                new_session,
            })),
        })
    }
}

/// Opens the socket and configures the session.
pub(super) async fn open(
    options: &WebMessagingOptions,
    token: &SessionToken,
) -> Result<(WebMessagingClient, Option<bool>), WmError> {
    let mut connect = ConnectOptions::default().answer_timeout(options.answer_timeout);
    if let Some(origin) = &options.origin {
        connect = connect.origin(origin.clone());
    }
    let mut client =
        WebMessagingClient::connect(&options.endpoint, &options.deployment_id, connect).await?;
    let session = client.configure(token).await?;
    Ok((client, session.new_session))
}

/// The sender of an Outbound message or event. Web Messaging has no member ids: the id is
/// the role (`agent`, `bot`), followed by the name the message carries (`agent:Riley`), so
/// that two agents of one conversation are two members of the roster.
pub(super) fn agent_member(m: &StructuredMessage) -> Member {
    let from = m.channel.as_ref().and_then(|c| c.from.as_ref());
    let name = from.and_then(|f| f.nickname.clone().or_else(|| f.first_name.clone()));
    let bot = m.originating_entity == Some(OriginatingEntity::Bot);
    let role = if bot { "bot" } else { "agent" };
    Member {
        id: match &name {
            Some(name) => format!("{role}:{name}"),
            None => role.to_owned(),
        },
        display_name: name,
        role: Some(if bot { Role::Workflow } else { Role::Agent }),
        state: Some(MemberState::Connected),
    }
}

/// The guest's member id in a Web Messaging chat (the protocol has none).
pub(super) const GUEST_ID: &str = "guest";

pub(super) fn guest_member(name: Option<String>) -> Member {
    Member {
        id: GUEST_ID.to_owned(),
        display_name: name,
        role: Some(Role::Customer),
        state: Some(MemberState::Connected),
    }
}

/// A Web Messaging message as the [`WebChatMessage`] of the unified event stream.
pub(super) fn as_webchat_message(m: &StructuredMessage, sender: &Member) -> WebChatMessage {
    let timestamp = m
        .channel
        .as_ref()
        .and_then(|c| c.time.as_deref())
        .and_then(|t| serde_json::from_value::<Timestamp>(serde_json::json!(t)).ok());
    WebChatMessage {
        id: m.id.clone(),
        body: m.text.clone(),
        body_type: Some(BodyType::Standard),
        sender: Some(WebChatMemberInfo {
            id: Some(sender.id.clone()),
            display_name: sender.display_name.clone(),
            role: sender.role.clone(),
            ..WebChatMemberInfo::default()
        }),
        timestamp,
        ..WebChatMessage::default()
    }
}

/// One REST history page (newest first) and the total.
pub(super) async fn fetch_page(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    jwt: &crate::webmessaging::Secret,
    page_number: u32,
    page_size: u32,
) -> Result<(Vec<StructuredMessage>, u64), WmError> {
    let rest = |why: String| WmError::Rest {
        what: "history",
        why,
    };
    let response = http
        .get(endpoint.history_url(page_number, page_size))
        .bearer_auth(jwt.expose())
        .send()
        .await
        .map_err(|e| rest(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(rest(format!("HTTP {}", response.status().as_u16())));
    }
    #[derive(serde::Deserialize)]
    struct Page {
        #[serde(default)]
        entities: Vec<StructuredMessage>,
        #[serde(default)]
        total: u64,
    }
    let page: Page = response
        .json()
        .await
        .map_err(|e| rest(e.without_url().to_string()))?;
    Ok((page.entities, page.total))
}
