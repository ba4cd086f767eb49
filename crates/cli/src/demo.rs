//! `guest-chat demo`: a whole guest chat with the emulator's echo agent, in a few seconds.

use crate::connect::{describe, start_chat, start_emulator, SdkArgs, Target, WmTarget};
use crate::format;
use anyhow::anyhow;
use futures::StreamExt;
use purecloud_guest_chat_client::events::CloseReason;
use purecloud_guest_chat_client::model::{BodyType, Role};
use purecloud_guest_chat_client::session::{GuestChat, SessionEvent, WebMessagingOptions};
use purecloud_guest_chat_client::webmessaging::Endpoint;
use purecloud_guest_chat_client::{ApiClient, CreateWebChatConversationRequest};
use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What the guest says, one line after each agent message.
const SCRIPT: [&str; 3] = [
    "Hi! My teapot order has not arrived yet.",
    "It is order 1234, placed on Monday.",
    "Great, thanks for your help!",
];

/// Flags of `guest-chat demo`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DemoArgs {
    /// The echo agent's pause between steps, in milliseconds.
    #[arg(long, default_value_t = 400, value_name = "MS")]
    pub agent_delay_ms: u64,
    /// The guest's pause before answering, in milliseconds.
    #[arg(long, default_value_t = 600, value_name = "MS")]
    pub guest_delay_ms: u64,
    /// Give up when the demo has not finished after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout_secs: u64,
    /// Run the demo over Web Messaging (the successor of guest chat) instead of guest chat.
    #[arg(long)]
    pub web_messaging: bool,
    #[command(flatten)]
    pub sdk: SdkArgs,
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs the demo and prints its summary line.
pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let emulator = start_emulator(Duration::from_millis(args.agent_delay_ms)).await?;
    // Only --config is read: the demo must look the same whatever the default file says.
    let builder = match &args.sdk.config {
        Some(_) => args.sdk.apply(ApiClient::builder())?,
        None => ApiClient::builder().no_config_file(),
    };
    let client = builder
        .environment(emulator.base_url().as_str())
        .build()
        .map_err(|e| anyhow!(describe(&e)))?;
    args.sdk.after_build(&client)?;
    let web_messaging = if args.web_messaging {
        let endpoint = Endpoint::from_base_url(&emulator.base_url())
            .map_err(|e| anyhow!("cannot reach the embedded emulator: {e}"))?;
        Some(WmTarget {
            options: WebMessagingOptions::new("demo-deployment", endpoint)
                .show_own_messages(true)
                .guest_name("Ada"),
            token_file: None,
        })
    } else {
        None
    };
    let target = Target {
        web_messaging,
        client,
        request: CreateWebChatConversationRequest::new(
            "demo-org",
            "demo-deployment",
            "Support",
            "Ada",
        ),
        emulator: Some(emulator),
    };
    let opens = if args.web_messaging {
        "Ada opens a Web Messaging conversation with deployment demo-deployment"
    } else {
        "Ada opens a chat to queue Support"
    };
    say(&format!(
        "{}  emulator listening on {}; {opens}",
        format::clock(None),
        target.describe().trim_start_matches("embedded emulator ")
    ));
    let limit = Duration::from_secs(args.timeout_secs);
    let result = match tokio::time::timeout(limit, converse(&target, &args)).await {
        Ok(r) => r,
        Err(_) => Err(anyhow!(
            "the demo did not finish within {} s",
            limit.as_secs()
        )),
    };
    target.shutdown().await;
    say(&result?);
    Ok(())
}

async fn converse(target: &Target, args: &DemoArgs) -> anyhow::Result<String> {
    let started = Instant::now();
    let chat = start_chat(target).await?;
    let own = chat.member_id().to_owned();
    let mut events = chat.events();
    let (err_tx, mut err_rx) = mpsc::unbounded_channel::<anyhow::Error>();

    let mut next_line = 0usize;
    if target.web_messaging.is_some() {
        // Web Messaging's agent answers; it does not greet: the guest speaks first.
        reply_later(&chat, SCRIPT[0], args.guest_delay_ms, err_tx.clone());
        next_line = 1;
    }
    let mut messages = 0usize;
    let mut people = BTreeSet::new();
    let mut left_by_guest = false;
    loop {
        let event = tokio::select! {
            e = events.next() => e,
            Some(err) = err_rx.recv() => return Err(err),
        };
        let Some(event) = event else {
            return Err(anyhow!("the event stream stopped before the chat ended"));
        };
        if let Some(t) = format::text(&event, &own, chat.ended_by()) {
            say(&format!("{}  {t}", format::event_clock(&event)));
        }
        match event {
            SessionEvent::MemberChanged { member, .. } if member.role != Some(Role::Acd) => {
                people.insert(member.id);
            }
            // Its role was still being looked up at its member change.
            SessionEvent::MemberUpdated(member) if member.role == Some(Role::Acd) => {
                people.remove(&member.id);
            }
            SessionEvent::Message {
                message, sender, ..
            } => {
                if !format::is_text(message.body_type.as_ref()) {
                    continue;
                }
                messages += 1;
                let from_agent =
                    sender.id != own && message.body_type.as_ref() != Some(&BodyType::Notice);
                if !from_agent {
                    continue;
                }
                if next_line < SCRIPT.len() {
                    let text = SCRIPT[next_line];
                    next_line += 1;
                    reply_later(&chat, text, args.guest_delay_ms, err_tx.clone());
                } else if !left_by_guest {
                    left_by_guest = true;
                    leave_later(&chat, args.guest_delay_ms, err_tx.clone());
                }
            }
            SessionEvent::Ended(reason) => {
                if reason != CloseReason::ChatEnded {
                    return Err(anyhow!(
                        "chat ended abnormally: {}",
                        format::close_text(&reason, chat.ended_by())
                    ));
                }
                let by = chat
                    .ended_by()
                    .map_or_else(|| "unknown".to_owned(), |b| b.to_string());
                return Ok(format!(
                    "demo finished: {}, {}, chat ended by {by} in {:.1} s",
                    format::count(messages, "message"),
                    format::count(people.len(), "member"),
                    started.elapsed().as_secs_f64()
                ));
            }
            _ => {}
        }
    }
}

/// The guest leaves after `delay_ms`: the end of its script.
fn leave_later(chat: &GuestChat, delay_ms: u64, err: mpsc::UnboundedSender<anyhow::Error>) {
    let chat = chat.clone();
    let pause = Duration::from_millis(delay_ms);
    tokio::spawn(async move {
        tokio::time::sleep(pause).await;
        if let Err(e) = chat.leave().await {
            let _ = err.send(anyhow!("cannot leave: {}", describe(&e)));
        }
    });
}

/// The guest "thinks", shows a typing indicator, and sends `text`.
fn reply_later(
    chat: &GuestChat,
    text: &'static str,
    delay_ms: u64,
    err: mpsc::UnboundedSender<anyhow::Error>,
) {
    let chat = chat.clone();
    tokio::spawn(async move {
        let pause = Duration::from_millis(delay_ms / 2);
        tokio::time::sleep(pause).await;
        let result = async {
            chat.typing().await?;
            say(&format!("{}  Ada (you) is typing...", format::clock(None)));
            tokio::time::sleep(pause).await;
            chat.send(text).await
        }
        .await;
        if let Err(e) = result {
            let _ = err.send(anyhow!(describe(&e)).context("cannot send the guest's message"));
        }
    });
}
