//! Where a chat goes: a real deployment (`--environment ...`) or an embedded emulator.

use crate::format;
use anyhow::{anyhow, Context};
use guest_chat_emulator::{AgentMode, Emulator, EmulatorHandle};
use purecloud_guest_chat_client::config::ConfigError;
use purecloud_guest_chat_client::secret::redact;
use purecloud_guest_chat_client::session::{
    ChatOptions, ChatState, GuestChat, WebMessagingOptions,
};
use purecloud_guest_chat_client::webmessaging::{Endpoint, SessionToken};
use purecloud_guest_chat_client::{
    ApiClient, ApiClientBuilder, CreateWebChatConversationRequest, Error, LogLevel,
};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Flags that say which chat to open.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ConnectArgs {
    /// Genesys Cloud environment: a region (`eu_west_1`), a host (mypurecloud.ie) or a base
    /// URL (<http://127.0.0.1:8080>). Without it an embedded emulator with an echo agent is used.
    #[arg(long, short = 'e', value_name = "REGION|HOST|URL")]
    pub environment: Option<String>,
    /// Chat over Web Messaging (the successor of guest chat) instead of guest chat: needs
    /// --deployment-id with --environment.
    #[arg(long)]
    pub web_messaging: bool,
    /// Web Messaging: keep the session token in this file to resume the conversation across
    /// runs (read if it exists, written with mode 0600; never printed).
    #[arg(long, value_name = "FILE", requires = "web_messaging")]
    pub token_file: Option<PathBuf>,
    /// Web Messaging: the Origin header of the WebSocket upgrade.
    #[arg(long, value_name = "URL", requires = "web_messaging")]
    pub origin: Option<String>,
    /// Organization id (required with --environment).
    #[arg(long, value_name = "ID")]
    pub organization_id: Option<String>,
    /// Web chat (or, with --web-messaging, Messenger) deployment id (required with
    /// --environment).
    #[arg(long, value_name = "ID")]
    pub deployment_id: Option<String>,
    /// Name of the queue to route the chat to (required with --environment).
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
    /// The guest's display name.
    #[arg(long, default_value = "Ada")]
    pub name: String,
    /// The guest's email address.
    #[arg(long)]
    pub email: Option<String>,
    /// The guest's phone number.
    #[arg(long)]
    pub phone: Option<String>,
    /// The guest's first name.
    #[arg(long)]
    pub first_name: Option<String>,
    /// The guest's last name.
    #[arg(long)]
    pub last_name: Option<String>,
    /// A custom field sent with the guest's info, KEY=VALUE (repeatable).
    #[arg(long = "custom-field", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub custom_fields: Vec<(String, String)>,
    /// Also trust the certificate(s) of this PEM file for https/wss, e.g. the one written by
    /// `guest-chat emulator --tls --tls-cert-out FILE`.
    #[arg(long, value_name = "FILE", requires = "environment")]
    pub root_cert: Option<PathBuf>,
    #[command(flatten)]
    pub sdk: SdkArgs,
    /// Embedded emulator only: the agent's pause between steps, in milliseconds.
    #[arg(long, default_value_t = 300, value_name = "MS")]
    pub agent_delay_ms: u64,
}

/// The SDK settings flags shared by `chat` and `demo`.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct SdkArgs {
    /// SDK configuration file (default ~/.genesyscloudrust-guest/config, when it exists).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// SDK log level (trace, debug, error, none); overrides the configuration file's at start.
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,
}

impl SdkArgs {
    /// Points the builder at `--config` (checked to be a file) or at the default file.
    pub(crate) fn apply(&self, builder: ApiClientBuilder) -> anyhow::Result<ApiClientBuilder> {
        let Some(path) = &self.config else {
            return Ok(builder);
        };
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => Err(anyhow!(
                "--config {} is a directory, not a configuration file",
                path.display()
            )),
            Ok(_) => Ok(builder.config_file(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(anyhow!(
                "configuration file {} does not exist",
                path.display()
            )),
            Err(e) => Err(anyhow!(
                "cannot read the configuration file {}: {e}",
                path.display()
            )),
        }
    }

    /// After the client is built: `--log-level`, and the configuration file's problem (if
    /// any) as one warning line on stderr.
    pub(crate) fn after_build(&self, client: &ApiClient) -> anyhow::Result<()> {
        if let Some(e) = client.config().last_error() {
            eprintln!("{}", config_warning(&e));
        }
        if let Some(level) = self.log_level {
            let mut settings = client.config().logger_settings();
            settings.log_level = level;
            client
                .config()
                .set_logger(settings)
                .map_err(|e| anyhow!("cannot apply --log-level: {e}"))?;
        }
        Ok(())
    }
}

/// One warning line for a configuration file that was not applied.
pub(crate) fn config_warning(e: &ConfigError) -> String {
    let mut text = e.to_string();
    // A logger error may not say where the file sets the log file: find the line.
    if let ConfigError::Logger { path, .. } = e {
        let line = std::fs::read_to_string(path).ok().and_then(|t| {
            t.lines()
                .position(|l| l.trim_start().starts_with("log_file_path"))
                .map(|n| n + 1)
        });
        let prefix = format!("configuration file {}", path.display());
        if let (Some(n), Some(rest)) = (line, text.strip_prefix(&prefix)) {
            if !rest.starts_with(", line ") {
                text = format!("{prefix}, line {n}{rest}");
            }
        }
    }
    let one = text.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "warning: {}; keeping the last good settings",
        format::visible(&redact(&one, None), false)
    )
}

/// The error of every failed reload of the configuration file, as it happens (the UI words
/// it with [`config_warning`]).
pub(crate) fn config_warnings(client: &ApiClient) -> mpsc::UnboundedReceiver<ConfigError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let config = client.config_arc();
    let mut reloads = config.subscribe_reloads();
    reloads.borrow_and_update();
    tokio::spawn(async move {
        while reloads.changed().await.is_ok() {
            if let Some(e) = config.last_error() {
                if tx.send(e).is_err() {
                    break;
                }
            }
        }
    });
    rx
}

/// Resolves with the signal's name on Ctrl-C (SIGINT), SIGTERM or SIGHUP. Listening starts
/// when this is called, so call it early.
pub(crate) fn signals() -> mpsc::UnboundedReceiver<&'static str> {
    let (tx, rx) = mpsc::unbounded_channel();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        for (kind, name) in [
            (SignalKind::interrupt(), "SIGINT"),
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::hangup(), "SIGHUP"),
        ] {
            if let Ok(mut s) = signal(kind) {
                let tx = tx.clone();
                tokio::spawn(async move {
                    while s.recv().await.is_some() {
                        if tx.send(name).is_err() {
                            break;
                        }
                    }
                });
            }
        }
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if tx.send("Ctrl-C").is_err() {
                break;
            }
        }
    });
    rx
}

/// How long an exit path waits for the leave request of a chat still going on.
pub(crate) const LEAVE_LIMIT: Duration = Duration::from_secs(5);

/// Leaves the chat on an exit path, best effort: bounded by [`LEAVE_LIMIT`], errors ignored
/// (the caller is already reporting why it stops).
pub(crate) async fn leave_quietly(chat: &GuestChat) {
    if chat.ended_by().is_some() || chat.state() == ChatState::Ended {
        return;
    }
    let _ = tokio::time::timeout(LEAVE_LIMIT, chat.leave()).await;
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// A Web Messaging chat's options and where its token is kept.
pub(crate) struct WmTarget {
    /// The session options (deployment, endpoint, stored token).
    pub options: WebMessagingOptions,
    /// `--token-file`.
    pub token_file: Option<PathBuf>,
}

/// Reads a stored token (absent file: none).
fn read_token(path: &Path) -> anyhow::Result<Option<SessionToken>> {
    match std::fs::read_to_string(path) {
        Ok(text) => SessionToken::from_stored(text.trim())
            .map(Some)
            .map_err(|e| anyhow!("--token-file {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow!("cannot read --token-file {}: {e}", path.display())),
    }
}

/// Writes the token with mode 0600 (created so, never readable by others in between).
fn write_token(path: &Path, token: &SessionToken) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write --token-file {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict --token-file {}", path.display()))?;
    }
    file.write_all(token.expose().as_bytes())
        .with_context(|| format!("cannot write --token-file {}", path.display()))
}

/// A chat target: the client, the create request, and the emulator when it is embedded.
pub(crate) struct Target {
    /// Web Messaging instead of guest chat.
    pub web_messaging: Option<WmTarget>,
    /// The client pointed at the environment.
    pub client: ApiClient,
    /// The create-conversation request.
    pub request: CreateWebChatConversationRequest,
    /// The embedded emulator, kept alive for the chat's lifetime.
    pub emulator: Option<EmulatorHandle>,
}

impl Target {
    /// A short description of where the chat goes.
    pub(crate) fn describe(&self) -> String {
        match &self.emulator {
            Some(e) => format!("embedded emulator {}", e.base_url()),
            None => self.client.environment().to_string(),
        }
    }

    /// Web Messaging with `--token-file`: quitting keeps the conversation to be resumed by
    /// a later run; only `/leave` ends it.
    pub(crate) fn keeps_conversation(&self) -> bool {
        self.web_messaging
            .as_ref()
            .is_some_and(|w| w.token_file.is_some())
    }

    /// Stops the embedded emulator, if any.
    pub(crate) async fn shutdown(&self) {
        if let Some(e) = &self.emulator {
            e.shutdown().await;
        }
    }
}

/// Starts an in-process emulator on a free loopback port with an echo agent.
pub(crate) async fn start_emulator(agent_delay: Duration) -> anyhow::Result<EmulatorHandle> {
    Emulator::builder()
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .agent(AgentMode::Echo)
        .agent_delay(agent_delay)
        .start()
        .await
        .map_err(|e| anyhow!("cannot start the embedded emulator: {e}"))
}

impl ConnectArgs {
    /// The flags an --environment needs: `Err` names the missing ones.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.environment.is_none() {
            return Ok(());
        }
        let mut missing = Vec::new();
        if self.deployment_id.is_none() {
            missing.push("--deployment-id");
        }
        if !self.web_messaging {
            if self.organization_id.is_none() {
                missing.push("--organization-id");
            }
            if self.queue.is_none() {
                missing.push("--queue");
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "--environment needs {} as well",
            missing.join(", ")
        ))
    }

    /// The Web Messaging side of the target, when --web-messaging is given.
    fn wm_target(
        &self,
        client: &ApiClient,
        base_url: Option<String>,
    ) -> anyhow::Result<Option<WmTarget>> {
        if !self.web_messaging {
            return Ok(None);
        }
        let endpoint = match base_url {
            Some(url) => Endpoint::from_base_url(&url),
            None => {
                let env = self.environment.clone().unwrap_or_default();
                if env.contains("://") {
                    Endpoint::from_base_url(&env)
                } else {
                    // The API host is api.<domain>: Web Messaging's hosts share the domain.
                    let api = client.environment().to_string();
                    let host = api
                        .trim_start_matches("https://")
                        .trim_start_matches("http://")
                        .trim_end_matches('/');
                    Ok(Endpoint::region(host.strip_prefix("api.").unwrap_or(host)))
                }
            }
        }
        .map_err(|e| anyhow!("invalid --environment: {e}"))?;
        let deployment = self
            .deployment_id
            .clone()
            .unwrap_or_else(|| "emulator-deployment".to_owned());
        let mut options = WebMessagingOptions::new(deployment, endpoint)
            .show_own_messages(true)
            .guest_name(self.name.clone());
        if let Some(origin) = &self.origin {
            options = options.origin(origin.clone());
        }
        for (k, v) in &self.custom_fields {
            options = options.custom_attribute(k.clone(), v.clone());
        }
        if let Some(path) = &self.token_file {
            if let Some(token) = read_token(path)? {
                options = options.token(token);
            }
        }
        Ok(Some(WmTarget {
            options,
            token_file: self.token_file.clone(),
        }))
    }

    /// Builds the client and the request, starting the emulator when no environment is given.
    pub(crate) async fn target(&self) -> anyhow::Result<Target> {
        let mut builder = self.sdk.apply(ApiClient::builder())?;
        if let Some(path) = &self.root_cert {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read --root-cert {}", path.display()))?;
            builder = builder.add_root_certificate_pem(&pem);
        }
        let (client, request, emulator) = match &self.environment {
            Some(env) => {
                let client = builder
                    .environment(env.as_str())
                    .build()
                    .map_err(|e| anyhow!(describe(&e)))
                    .context("invalid --environment or --root-cert")?;
                let req = CreateWebChatConversationRequest::new(
                    self.organization_id.clone().unwrap_or_default(),
                    self.deployment_id.clone().unwrap_or_default(),
                    self.queue.clone().unwrap_or_default(),
                    self.name.clone(),
                );
                (client, req, None)
            }
            None => {
                let emu = start_emulator(Duration::from_millis(self.agent_delay_ms)).await?;
                let client = builder
                    .environment(emu.base_url().as_str())
                    .build()
                    .map_err(|e| anyhow!(describe(&e)))?;
                let req = CreateWebChatConversationRequest::new(
                    self.organization_id.as_deref().unwrap_or("emulator-org"),
                    self.deployment_id
                        .as_deref()
                        .unwrap_or("emulator-deployment"),
                    self.queue.as_deref().unwrap_or("Support"),
                    self.name.clone(),
                );
                (client, req, Some(emu))
            }
        };
        self.sdk.after_build(&client)?;
        let web_messaging = self.wm_target(
            &client,
            emulator
                .as_ref()
                .map(guest_chat_emulator::EmulatorHandle::base_url),
        )?;
        let mut request = request;
        if let Some(info) = request.member_info.as_mut() {
            info.email = self.email.clone();
            info.phone_number = self.phone.clone();
            info.first_name = self.first_name.clone();
            info.last_name = self.last_name.clone();
            if !self.custom_fields.is_empty() {
                info.custom_fields = Some(self.custom_fields.iter().cloned().collect());
            }
        }
        Ok(Target {
            web_messaging,
            client,
            request,
            emulator,
        })
    }
}

/// How the CLI names a chat's conversation: its id (guest chat), or the protocol (Web
/// Messaging gives the guest no conversation id).
pub(crate) fn conversation_label(chat: &GuestChat) -> String {
    match chat.conversation_id() {
        "" => "over Web Messaging".to_owned(),
        id => format!("conversation {id}"),
    }
}

/// Creates the chat and waits until the guest is in it.
pub(crate) async fn start_chat(target: &Target) -> anyhow::Result<GuestChat> {
    if let Some(wm) = &target.web_messaging {
        let chat = GuestChat::start_web_messaging(wm.options.clone())
            .await
            .map_err(|e| anyhow!(describe(&e)))
            .with_context(|| format!("cannot start the chat on {}", target.describe()))?;
        if let (Some(path), Some(token)) = (&wm.token_file, chat.resume_token()) {
            write_token(path, &token)?;
        }
        return Ok(chat);
    }
    let options = ChatOptions::default().show_own_messages(true);
    GuestChat::start_with(&target.client, &target.request, options)
        .await
        .map_err(|e| anyhow!(describe(&e)))
        .with_context(|| format!("cannot start the chat on {}", target.describe()))
}

/// One line for an SDK error: its Display plus the correlation id when the server sent one,
/// with a hint for TLS failures. Masked as the SDK masks its log (a server may echo a token
/// in any header or body), whitespace folded to single spaces.
pub(crate) fn describe(e: &Error) -> String {
    let mut s = e.to_string();
    if e.is_tls() {
        s.push_str(tls_hint(&s));
    }
    if let Some(id) = e.correlation_id() {
        if !s.contains(id) {
            s.push_str(&format!(" (correlation id {id})"));
        }
    }
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    redact(&one_line, None).into_owned()
}

/// What to do about a TLS failure, read from the handshake error's text.
fn tls_hint(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("not valid for name") || m.contains("notvalidforname") {
        "; the server's certificate is not valid for this host name: connect with a name \
         the certificate lists (the emulator's own: localhost, 127.0.0.1 or ::1)"
    } else if m.contains("certificate expired")
        || m.contains("not valid yet")
        || m.contains("notvalidyet")
    {
        "; the server's certificate is outside its validity period (expired, or not yet \
         valid): renew it, or check this machine's clock"
    } else if m.contains("invalidcontenttype")
        || m.contains("corrupt message")
        || m.contains("invalidmessage")
    {
        "; the server did not answer in TLS: is it a plain-http port? try http:// instead \
         of https://"
    } else if m.contains("unknownissuer") || m.contains("unknown issuer") {
        "; to trust the server's certificate, pass it (or its issuer's) with --root-cert FILE"
    } else {
        ""
    }
}
