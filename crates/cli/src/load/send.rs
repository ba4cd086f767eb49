//! Exactly-once sends over an at-most-once API.
//!
//! A message POST that fails ambiguously (a 5xx, a timeout, a connection lost after the request
//! was written, a 200 whose body cannot be read) may or may not have been stored. Before
//! sending again, the conversation's history is searched for the message (this guest's text;
//! texts are unique within a chat): found means delivered, so it is not sent twice.
//!
//! Limits: the search reads the newest 100 messages, so it assumes fewer than 100 messages
//! arrived after the one sent; and it trusts the history to show a stored message at once,
//! which the emulator does (the real service was not documented to).

use super::chat::{Ctx, Failure};
use purecloud_guest_chat_client::model::SortOrder;
use purecloud_guest_chat_client::session::GuestChat;
use purecloud_guest_chat_client::{Error, GetMessagesOptions};
use std::time::Duration;

/// Attempts of one send (the first and the re-sends after "not in the history").
const SEND_ATTEMPTS: u32 = 5;
/// Attempts to read the history after an ambiguous failure.
const LOOKUP_ATTEMPTS: u32 = 8;
/// Attempts of the leave (a DELETE: replaying it cannot leave twice).
const LEAVE_ATTEMPTS: u32 = 5;
/// First pause between attempts, doubled each time.
const BACKOFF: Duration = Duration::from_millis(100);

/// Whether `e` leaves it open if the request was processed.
fn ambiguous(e: &Error) -> bool {
    match e {
        Error::Api(api) => api.status >= 500,
        Error::Timeout(_) | Error::Transport(_) | Error::Decode { .. } | Error::Connect(_) => true,
        // `GuestChat::send` could not settle it from the history within the client's retry
        // policy (the history read failed too): look again, more patiently.
        Error::DeliveryUnknown { .. } => true,
        _ => false,
    }
}

async fn pause(attempt: u32) {
    tokio::time::sleep(BACKOFF * 2u32.saturating_pow(attempt.min(6))).await;
}

/// Sends `text` so that it is stored exactly once, resolving ambiguous failures through the
/// conversation's history.
pub(super) async fn exactly_once(ctx: &Ctx, chat: &GuestChat, text: &str) -> Result<(), Failure> {
    let mut last = None;
    for attempt in 0..SEND_ATTEMPTS {
        let e = match chat.send(text).await {
            Ok(_) => return Ok(()),
            Err(e) if ambiguous(&e) => e,
            Err(e) => return Err(Failure::sdk("send", &e)),
        };
        ctx.rec().recovery.ambiguous += 1;
        if in_history(chat, text).await? {
            ctx.rec().recovery.found_in_history += 1;
            return Ok(());
        }
        ctx.rec().recovery.resent += 1;
        last = Some(e);
        pause(attempt).await;
    }
    Err(match last {
        Some(e) => Failure::sdk("send", &e),
        None => Failure::local("send", "no attempt made"),
    })
}

/// Whether this guest's `text` is in the conversation's newest 100 messages; retried, since
/// the failure that led here may hit the history too.
async fn in_history(chat: &GuestChat, text: &str) -> Result<bool, Failure> {
    let options = GetMessagesOptions::new()
        .sort_order(SortOrder::Descending)
        .max_results(100);
    let mut attempt = 0;
    loop {
        match chat
            .api()
            .get_webchat_guest_conversation_messages(chat.conversation_id(), &options)
            .await
        {
            Ok(list) => {
                let found = list.entities.unwrap_or_default().iter().any(|m| {
                    m.body.as_deref() == Some(text)
                        && m.sender.as_ref().and_then(|s| s.id.as_deref()) == Some(chat.member_id())
                });
                return Ok(found);
            }
            Err(e) if ambiguous(&e) && attempt + 1 < LOOKUP_ATTEMPTS => {
                pause(attempt).await;
                attempt += 1;
            }
            Err(e) => {
                let f = Failure::sdk("history after an ambiguous send", &e);
                return Err(Failure::local("send unresolved", f.detail));
            }
        }
    }
}

/// Leaves the chat, retrying ambiguous failures. A retry refused outright (the first attempt
/// did leave) counts as left: the chat's end event decides.
pub(super) async fn leave(chat: &GuestChat) -> Result<(), Failure> {
    let mut attempt = 0;
    loop {
        match chat.leave().await {
            Ok(()) => return Ok(()),
            Err(e) if ambiguous(&e) && attempt + 1 < LEAVE_ATTEMPTS => {
                pause(attempt).await;
                attempt += 1;
            }
            Err(e) if ambiguous(&e) || attempt == 0 => return Err(Failure::sdk("leave", &e)),
            Err(_) => return Ok(()),
        }
    }
}
