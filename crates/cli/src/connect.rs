//! Where a chat goes: a real deployment (`--environment ...`) or an embedded emulator.

use anyhow::{anyhow, Context};
use guest_chat_emulator::{AgentMode, Emulator, EmulatorHandle};
use purecloud_guest_chat_client::session::{ChatOptions, GuestChat};
use purecloud_guest_chat_client::{ApiClient, CreateWebChatConversationRequest, Error};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Flags that say which chat to open.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Genesys Cloud environment: a region (eu_west_1), a host (mypurecloud.ie) or a base
    /// URL (http://127.0.0.1:8080). Without it an embedded emulator with an echo agent is used.
    #[arg(
        long,
        short = 'e',
        value_name = "REGION|HOST|URL",
        requires_all = ["organization_id", "deployment_id", "queue"],
    )]
    pub environment: Option<String>,
    /// Organization id (required with --environment).
    #[arg(long, value_name = "ID")]
    pub organization_id: Option<String>,
    /// Web chat deployment id (required with --environment).
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
    /// SDK configuration file (default ~/.genesyscloudrust-guest/config, when it exists).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Embedded emulator only: the agent's pause between steps, in milliseconds.
    #[arg(long, default_value_t = 300, value_name = "MS")]
    pub agent_delay_ms: u64,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// A chat target: the client, the create request, and the emulator when it is embedded.
pub struct Target {
    /// The client pointed at the environment.
    pub client: ApiClient,
    /// The create-conversation request.
    pub request: CreateWebChatConversationRequest,
    /// The embedded emulator, kept alive for the chat's lifetime.
    pub emulator: Option<EmulatorHandle>,
}

impl Target {
    /// A short description of where the chat goes.
    pub fn describe(&self) -> String {
        match &self.emulator {
            Some(e) => format!("embedded emulator {}", e.base_url()),
            None => self.client.environment().to_string(),
        }
    }

    /// Stops the embedded emulator, if any.
    pub async fn shutdown(&self) {
        if let Some(e) = &self.emulator {
            e.shutdown().await;
        }
    }
}

/// Starts an in-process emulator on a free loopback port with an echo agent.
pub async fn start_emulator(agent_delay: Duration) -> anyhow::Result<EmulatorHandle> {
    Emulator::builder()
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .agent(AgentMode::Echo)
        .agent_delay(agent_delay)
        .start()
        .await
        .map_err(|e| anyhow!("cannot start the embedded emulator: {e}"))
}

impl ConnectArgs {
    /// Builds the client and the request, starting the emulator when no environment is given.
    pub async fn target(&self) -> anyhow::Result<Target> {
        let mut builder = ApiClient::builder();
        if let Some(path) = &self.config {
            if !path.is_file() {
                return Err(anyhow!(
                    "configuration file {} does not exist",
                    path.display()
                ));
            }
            builder = builder.config_file(path);
        }
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
            client,
            request,
            emulator,
        })
    }
}

/// Creates the chat and waits until the guest is in it.
pub async fn start_chat(target: &Target) -> anyhow::Result<GuestChat> {
    let options = ChatOptions::default().show_own_messages(true);
    GuestChat::start_with(&target.client, &target.request, options)
        .await
        .map_err(|e| anyhow!(describe(&e)))
        .with_context(|| format!("cannot start the chat on {}", target.describe()))
}

/// One line for an SDK error: its Display plus the correlation id when the server sent one.
pub fn describe(e: &Error) -> String {
    let mut s = e.to_string();
    if e.is_tls() {
        s.push_str("; to trust a certificate, pass it with --root-cert FILE");
    }
    if let Some(id) = e.correlation_id() {
        if !s.contains(id) {
            s.push_str(&format!(" (correlation id {id})"));
        }
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
