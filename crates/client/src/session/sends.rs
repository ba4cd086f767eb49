//! Sends: exactly-once messages ([`GuestChat::send`]), typing, quick replies and leaving.

use super::history::HISTORY_PAGE_SIZE;
use super::{lock, own_message, web_messaging, GuestChat};
use crate::api::GetMessagesOptions;
use crate::error::Error;
use crate::model::{
    BodyType, CreateWebChatMessageRequest, SortOrder, WebChatMessage, WebChatTyping,
};
use crate::webmessaging::{IncomingNormalizedMessage, WmError};
use std::collections::{HashSet, VecDeque};
use std::time::Duration;
use web_messaging::Command;

/// How far before an attempt's start a stored message's timestamp may lie and still be taken
/// for that attempt's message: room for the service's clock being behind this machine's.
const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(120);
/// History pages (100 messages each, newest first) a send looks through for its message.
const HISTORY_PAGES: usize = 5;
/// How many ids of sent messages a chat remembers (so that one is never claimed twice).
const CLAIMED_KEPT: usize = 4096;

/// The ids of messages sends have already accounted for, the oldest forgotten first (one
/// copy of each id, shared by the set and the order).
#[derive(Default)]
pub(super) struct SendLog {
    claimed: HashSet<std::sync::Arc<str>>,
    order: VecDeque<std::sync::Arc<str>>,
}

impl SendLog {
    fn claim(&mut self, message: &WebChatMessage) {
        let Some(id) = message.id.as_deref().map(std::sync::Arc::<str>::from) else {
            return;
        };
        if self.claimed.insert(id.clone()) {
            self.order.push_back(id);
            while self.order.len() > CLAIMED_KEPT {
                if let Some(old) = self.order.pop_front() {
                    self.claimed.remove(&old);
                }
            }
        }
    }

    fn is_claimed(&self, id: &str) -> bool {
        self.claimed.contains(id)
    }
}

/// What the history says about a message whose POST failed ambiguously.
enum Lookup {
    Found(Box<WebChatMessage>),
    /// Not there: every message since the attempt began was seen.
    Absent,
    /// Could not tell: the history is longer than the pages looked at.
    Unknown(String),
    /// Could not tell: the history could not be read (worth reading again later).
    Unreadable(String),
}

/// How many more times a send reads the history when it could not be read, each after a
/// back-off delay of the client's retry policy (the REST layer's own retries of each read
/// come on top): settling a send is the SDK's job, not the app's.
const UNREADABLE_LOOKS: u32 = 4;

/// True when a failed POST may nevertheless have been processed.
fn ambiguous(error: &Error) -> bool {
    match error {
        Error::Timeout(_) | Error::Transport(_) => true,
        Error::Api(e) => e.status >= 500 || e.status == 408,
        _ => false,
    }
}

impl GuestChat {
    /// Answers a quick reply or a button (Web Messaging only); returns the stored message.
    pub async fn send_quick_reply(
        &self,
        text: &str,
        payload: &str,
    ) -> Result<WebChatMessage, Error> {
        let Some(wm) = &self.wm else {
            return Err(Error::InvalidArgument {
                name: "payload",
                reason: "quick replies exist only in Web Messaging".into(),
            });
        };
        let message = Box::new(IncomingNormalizedMessage::quick_reply_response(
            text, payload,
        ));
        let echo = wm.ask(|r| Command::Send(message, r)).await?;
        Ok(own_message(&echo))
    }

    /// Sends a standard message, exactly once.
    ///
    /// The service's message POST is at most once: when its answer is lost (a timeout, a 5xx,
    /// a connection broken after the request was written, a 2xx whose body is not JSON) the
    /// message may or may not have been stored. `send` settles that before doing anything
    /// else: it waits a back-off delay, then looks for the message in the conversation's
    /// history (newest first: sent by this guest's member, same text and type, timestamped
    /// after the attempt began, and not already returned by an earlier send of this chat).
    /// Found, it is returned as if the POST had answered; absent, the POST is made again, at
    /// most [`RetryPolicy::max_retries`](crate::RetryPolicy) more times (the client's policy;
    /// its back-off delays too).
    ///
    /// Sends of one chat are serialised (one at a time, in call order), so two identical
    /// texts sent at once are two messages, in order.
    ///
    /// Results:
    /// - `Ok(message)`: stored once (the POST's answer, or the stored message found in the
    ///   history);
    /// - the last POST's error (e.g. a 503): checked, and not stored;
    /// - [`Error::DeliveryUnknown`]: the history could not settle it (it could not be read,
    ///   even when read again up to 4 more times after back-off delays of the client's
    ///   policy, or more than 500 messages arrived since the attempt began); the message may
    ///   have been stored, and sending it again may duplicate it;
    /// - any other error (4xx, a local refusal): refused, nothing stored.
    ///
    /// Limits: the history is assumed to show a stored message at once (it does on the
    /// emulator); a POST still being processed by the service when the check runs (one that
    /// timed out here but lands later) is taken for absent and may end up twice. The same
    /// text sent by another client with this chat's JWT within the attempt's window (plus a
    /// 2-minute allowance for clock skew) can be taken for this one.
    pub async fn send(&self, text: &str) -> Result<WebChatMessage, Error> {
        if let Some(wm) = &self.wm {
            let message = Box::new(IncomingNormalizedMessage::text(text));
            let echo = wm.ask(|r| Command::Send(message, r)).await?;
            return Ok(own_message(&echo));
        }
        self.post(CreateWebChatMessageRequest::new(text)).await
    }

    /// Sends a notice message, exactly once (as [`GuestChat::send`]).
    pub async fn send_notice(&self, text: &str) -> Result<WebChatMessage, Error> {
        if self.wm.is_some() {
            return self.send(text).await;
        }
        self.post(CreateWebChatMessageRequest::notice(text)).await
    }

    async fn post(&self, body: CreateWebChatMessageRequest) -> Result<WebChatMessage, Error> {
        let mut log = self.inner.sends.lock().await;
        let policy = self.inner.api.client().retry_policy();
        let began = chrono::Utc::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let result = self
                .inner
                .api
                .post_webchat_guest_conversation_member_messages(
                    &self.inner.conversation_id,
                    &self.inner.member_id,
                    &body,
                )
                .await;
            let error = match result {
                Ok(message) => {
                    log.claim(&message);
                    return Ok(message);
                }
                Err(e) => e,
            };
            // A 2xx whose body could not be read: stored for sure, only its answer is lost.
            let stored =
                matches!(&error, Error::Decode { status, .. } if (200..300).contains(status));
            if !stored && !ambiguous(&error) {
                return Err(error);
            }
            let wait = error
                .retry_after()
                .filter(|w| *w <= policy.max_retry_after)
                .unwrap_or_else(|| policy.backoff(attempts - 1));
            tracing::debug!(
                attempts,
                error = %error,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "message send failed ambiguously: looking for it in the history"
            );
            crate::rt::sleep(wait).await;
            match self.settle(&body, began, &log).await {
                Lookup::Found(message) => {
                    log.claim(&message);
                    return Ok(*message);
                }
                Lookup::Absent if stored => {
                    return Err(Error::DeliveryUnknown {
                        attempts,
                        why: "the service answered 2xx but the message is not in the history"
                            .into(),
                        last: Box::new(error),
                    })
                }
                Lookup::Absent if attempts > policy.max_retries => return Err(error),
                Lookup::Absent => {}
                Lookup::Unknown(why) | Lookup::Unreadable(why) => {
                    return Err(Error::DeliveryUnknown {
                        attempts,
                        why,
                        last: Box::new(error),
                    })
                }
            }
        }
    }

    /// One page of history. The REST layer retries a GET's 5xx and 429 itself; a 2xx whose
    /// body is not JSON (a proxy's error page) is retried here too, within the client's retry
    /// policy, as reading again cannot change anything.
    async fn history_page(
        &self,
        options: &GetMessagesOptions,
    ) -> Result<crate::model::WebChatMessageEntityList, Error> {
        let policy = self.inner.api.client().retry_policy();
        let mut attempt = 0u32;
        loop {
            let result = self
                .inner
                .api
                .get_webchat_guest_conversation_messages(&self.inner.conversation_id, options)
                .await;
            match result {
                Err(Error::Decode { status, .. })
                    if (200..300).contains(&status) && attempt < policy.max_retries =>
                {
                    crate::rt::sleep(policy.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Looks for the message in the history, reading it again (up to [`UNREADABLE_LOOKS`]
    /// more times, after back-off delays) while it cannot be read.
    async fn settle(
        &self,
        body: &CreateWebChatMessageRequest,
        began: chrono::DateTime<chrono::Utc>,
        log: &SendLog,
    ) -> Lookup {
        let policy = self.inner.api.client().retry_policy();
        let mut looks = 0;
        loop {
            match self.find_sent(body, began, log).await {
                Lookup::Unreadable(why) if looks < UNREADABLE_LOOKS => {
                    looks += 1;
                    tracing::debug!(looks, %why, "the history could not be read: reading it again");
                    crate::rt::sleep(policy.backoff(looks)).await;
                }
                other => return other,
            }
        }
    }

    /// Looks for the message `body` sent by this guest since `began` in the history.
    async fn find_sent(
        &self,
        body: &CreateWebChatMessageRequest,
        began: chrono::DateTime<chrono::Utc>,
        log: &SendLog,
    ) -> Lookup {
        let since = began
            - chrono::Duration::from_std(CLOCK_SKEW_ALLOWANCE).unwrap_or(chrono::Duration::zero());
        let wanted_type = body.body_type.clone().unwrap_or(BodyType::Standard);
        let mut before: Option<String> = None;
        // Newest first: the last match seen is the oldest, i.e. the earliest attempt's.
        let mut found: Option<WebChatMessage> = None;
        for _ in 0..HISTORY_PAGES {
            let options = GetMessagesOptions {
                before: before.clone(),
                sort_order: Some(SortOrder::Descending),
                max_results: Some(HISTORY_PAGE_SIZE),
                ..Default::default()
            };
            let page = match self.history_page(&options).await {
                Ok(page) => page.entities.unwrap_or_default(),
                Err(e) => return Lookup::Unreadable(format!("the history could not be read: {e}")),
            };
            let full = page.len() >= usize::try_from(HISTORY_PAGE_SIZE).unwrap_or(usize::MAX);
            for message in &page {
                if message.timestamp.as_ref().is_some_and(|t| t.0 < since) {
                    return found.map_or(Lookup::Absent, |m| Lookup::Found(Box::new(m)));
                }
                let Some(id) = message.id.as_deref() else {
                    continue;
                };
                let sender = message.sender.as_ref().and_then(|s| s.id.as_deref());
                if sender == Some(self.inner.member_id.as_str())
                    && message.body == body.body
                    && message.body_type.clone().unwrap_or(BodyType::Standard) == wanted_type
                    && !log.is_claimed(id)
                {
                    found = Some(message.clone());
                }
            }
            if !full {
                return found.map_or(Lookup::Absent, |m| Lookup::Found(Box::new(m)));
            }
            match page.last().and_then(|m| m.id.clone()) {
                Some(id) => before = Some(id),
                None => break,
            }
        }
        match found {
            Some(m) => Lookup::Found(Box::new(m)),
            None => Lookup::Unknown(format!(
                "more than {} messages arrived since the attempt began",
                HISTORY_PAGES * usize::try_from(HISTORY_PAGE_SIZE).unwrap_or(0)
            )),
        }
    }

    /// Sends a typing indicator (one-shot; send at most one every few seconds).
    ///
    /// Web Messaging: refused with [`WmError::NotAllowed`] where the deployment does not show
    /// the guest's typing; at most one is sent every 5 s (the others return at once).
    pub async fn typing(&self) -> Result<WebChatTyping, Error> {
        if let Some(wm) = &self.wm {
            if !wm.capabilities.typing {
                return Err(WmError::NotAllowed("typing indicators").into());
            }
            wm.ask(Command::Typing).await?;
            return Ok(WebChatTyping::default());
        }
        self.inner
            .api
            .post_webchat_guest_conversation_member_typing(
                &self.inner.conversation_id,
                &self.inner.member_id,
            )
            .await
    }

    /// Leaves the chat (the guest ends it). The event stream then ends.
    ///
    /// Web Messaging: Presence `Clear`, where the deployment allows it (else
    /// [`WmError::NotAllowed`]; the conversation then lives on until the agent ends it).
    pub async fn leave(&self) -> Result<(), Error> {
        if let Some(wm) = &self.wm {
            if !wm.capabilities.end_conversation {
                return Err(
                    WmError::NotAllowed("ending the conversation (conversationClear)").into(),
                );
            }
            lock(&self.inner.shared).guest_leaving = true;
            return wm.ask(Command::Clear).await;
        }
        lock(&self.inner.shared).guest_leaving = true;
        let result = self
            .inner
            .api
            .delete_webchat_guest_conversation_member(
                &self.inner.conversation_id,
                &self.inner.member_id,
            )
            .await;
        if result.is_err() {
            let mut shared = lock(&self.inner.shared);
            if shared.ended_by.is_none() {
                shared.guest_leaving = false;
            }
        }
        result
    }
}
