//! `guest-chat chat --plain`: line-based chat over stdin/stdout, for pipes and scripts.

use crate::connect::{describe, start_chat, Target};
use crate::format;
use anyhow::anyhow;
use futures::StreamExt;
use purecloud_guest_chat_client::events::CloseReason;
use purecloud_guest_chat_client::session::SessionEvent;
use serde_json::json;
use std::io::Write;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long to wait for the end of the chat after leaving.
const LEAVE_GRACE: Duration = Duration::from_secs(10);

fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) is not an error worth a panic.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs the line-based chat; Ok when the chat ended normally.
pub async fn run(target: Target, as_json: bool) -> anyhow::Result<()> {
    let result = chat(&target, as_json).await;
    target.shutdown().await;
    result
}

async fn chat(target: &Target, as_json: bool) -> anyhow::Result<()> {
    let chat = start_chat(target).await?;
    let own = chat.member_id().to_owned();
    let mut events = chat.events();
    if as_json {
        emit(
            &json!({
                "type": "started",
                "conversationId": chat.conversation_id(),
                "memberId": own,
                "environment": target.describe(),
            })
            .to_string(),
        );
    } else {
        emit(&format!(
            "{}  chat started on {} (conversation {}); type a line to send it, /leave to leave",
            format::clock(None),
            target.describe(),
            chat.conversation_id()
        ));
    }

    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut leaving: Option<tokio::time::Instant> = None;

    loop {
        let deadline = leaving.map(|at| at + LEAVE_GRACE);
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else {
                    return Err(anyhow!("the event stream stopped before the chat ended"));
                };
                let by = chat.ended_by();
                if as_json {
                    if let Some(v) = format::json(&event, &own, by) {
                        emit(&v.to_string());
                    }
                } else if let Some(t) = format::text(&event, &own, by) {
                    emit(&format!("{}  {t}", format::event_clock(&event)));
                }
                if let SessionEvent::Ended(reason) = event {
                    return match reason {
                        CloseReason::ChatEnded => Ok(()),
                        other => Err(anyhow!("chat ended abnormally: {}", format::close_text(&other, by))),
                    };
                }
            }
            line = stdin.next_line(), if stdin_open && leaving.is_none() => {
                let line = match line {
                    Ok(Some(l)) => l,
                    Ok(None) => {
                        stdin_open = false;
                        leave(&chat).await?;
                        leaving = Some(tokio::time::Instant::now());
                        continue;
                    }
                    Err(e) => return Err(anyhow!("cannot read stdin: {e}")),
                };
                let text = line.trim_end_matches(['\r', '\n']);
                match text.trim() {
                    "" => {}
                    "/leave" | "/quit" => {
                        leave(&chat).await?;
                        leaving = Some(tokio::time::Instant::now());
                    }
                    "/typing" => {
                        chat.typing().await.map_err(|e| anyhow!("cannot send typing: {}", describe(&e)))?;
                    }
                    _ => {
                        chat.send(text).await.map_err(|e| anyhow!("cannot send the message: {}", describe(&e)))?;
                    }
                }
            }
            _ = tokio::signal::ctrl_c(), if leaving.is_none() => {
                leave(&chat).await?;
                leaving = Some(tokio::time::Instant::now());
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                return Err(anyhow!("left the chat, but it did not end within {} s", LEAVE_GRACE.as_secs()));
            }
        }
    }
}

async fn leave(chat: &purecloud_guest_chat_client::session::GuestChat) -> anyhow::Result<()> {
    chat.leave()
        .await
        .map_err(|e| anyhow!("cannot leave the chat: {}", describe(&e)))
}
