//! [`GuestChat::history`]: the conversation's history, a page at a time.

use super::{own_message, web_messaging, wm_sender, wm_start, GuestChat};
use crate::api::GetMessagesOptions;
use crate::error::Error;
use crate::model::{SortOrder, WebChatMessage};
use web_messaging::Command;

/// Messages per page of a guest chat's history (the most the service serves).
pub(super) const HISTORY_PAGE_SIZE: i32 = 100;

/// Where a page of [`GuestChat::history`] starts; opaque: take it from [`HistoryPage::next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCursor(CursorKind);

#[derive(Debug, Clone, PartialEq, Eq)]
enum CursorKind {
    /// Guest chat: messages before this message id.
    Before(String),
    /// Web Messaging: this REST history page.
    Page(u32),
}

/// One page of history, newest first.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HistoryPage {
    /// The messages, newest first.
    pub messages: Vec<WebChatMessage>,
    /// The cursor of the next (older) page; `None` at the start of the conversation.
    pub next: Option<HistoryCursor>,
}

impl GuestChat {
    /// One page of the conversation's history, newest first; `None` for the newest page,
    /// then the previous page's [`HistoryPage::next`].
    pub async fn history(&self, cursor: Option<&HistoryCursor>) -> Result<HistoryPage, Error> {
        match &self.wm {
            Some(wm) => {
                let page = match cursor {
                    None => 1,
                    Some(HistoryCursor(CursorKind::Page(n))) => *n,
                    Some(_) => {
                        return Err(Error::InvalidArgument {
                            name: "cursor",
                            reason: "a guest-chat cursor given to a Web Messaging chat".into(),
                        })
                    }
                };
                let jwt = wm.ask(Command::Jwt).await?;
                let size = web_messaging::HISTORY_PAGE_SIZE;
                let (entities, total) =
                    wm_start::fetch_page(&wm.http, &wm.endpoint, &jwt, page, size).await?;
                let messages = entities
                    .iter()
                    .filter(|m| m.kind != crate::webmessaging::NormalizedType::Event)
                    .map(|m| {
                        if m.direction == Some(crate::webmessaging::Direction::Inbound) {
                            own_message(m)
                        } else {
                            wm_start::as_webchat_message(m, &wm_sender(m))
                        }
                    })
                    .collect();
                let more = u64::from(page) * u64::from(size) < total;
                Ok(HistoryPage {
                    messages,
                    next: more.then_some(HistoryCursor(CursorKind::Page(page + 1))),
                })
            }
            None => {
                let mut options = GetMessagesOptions::new()
                    .sort_order(SortOrder::Descending)
                    .max_results(HISTORY_PAGE_SIZE);
                match cursor {
                    None => {}
                    Some(HistoryCursor(CursorKind::Before(id))) => options = options.before(id),
                    Some(_) => {
                        return Err(Error::InvalidArgument {
                            name: "cursor",
                            reason: "a Web Messaging cursor given to a guest chat".into(),
                        })
                    }
                }
                let list = self
                    .inner
                    .api
                    .get_webchat_guest_conversation_messages(&self.inner.conversation_id, &options)
                    .await?;
                let messages = list.entities.unwrap_or_default();
                let full = messages.len() >= usize::try_from(HISTORY_PAGE_SIZE).unwrap_or(100);
                let next = messages
                    .last()
                    .and_then(|m| m.id.clone())
                    .filter(|_| full)
                    .map(|id| HistoryCursor(CursorKind::Before(id)));
                Ok(HistoryPage { messages, next })
            }
        }
    }
}
