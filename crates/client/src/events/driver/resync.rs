//! The resync after a reconnection: the messages the socket missed, from the history, and
//! the member states that changed while it was away.

use super::{Driver, Output, HISTORY_PAGE, MEMBERS_PAGE};
use crate::api::{GetMembersOptions, GetMessagesOptions};
use crate::error::Error;
use crate::events::StreamEvent;
use crate::model::{ChatEvent, SortOrder};

impl<O: Output> Driver<O> {
    /// Delivers what the socket missed; `Ok(None)` when the consumer is gone.
    pub(super) async fn resync(&mut self) -> Result<Option<usize>, Error> {
        let mut missed = 0;
        loop {
            let options = GetMessagesOptions {
                after: self.last_message_id.clone(),
                sort_order: Some(SortOrder::Ascending),
                max_results: Some(HISTORY_PAGE),
                ..Default::default()
            };
            let page = self
                .target
                .api
                .get_webchat_guest_conversation_messages(&self.target.conversation_id, &options)
                .await?;
            let entities = page.entities.unwrap_or_default();
            let count = entities.len();
            let mut advanced = false;
            for message in entities {
                let Some(id) = message.id.clone() else {
                    continue;
                };
                advanced = true;
                self.last_message_id = Some(id.clone());
                if self.recent.insert(&id) {
                    missed += 1;
                    if !self
                        .emit(Ok(StreamEvent::Chat(ChatEvent::Message(message))))
                        .await
                    {
                        return Ok(None);
                    }
                }
            }
            if count < HISTORY_PAGE as usize || !advanced {
                break;
            }
        }
        self.resync_members().await?;
        Ok(Some(missed))
    }

    /// Reports members whose state changed while the socket was away.
    async fn resync_members(&mut self) -> Result<(), Error> {
        let mut page_number = 1;
        loop {
            let options = GetMembersOptions {
                page_size: Some(MEMBERS_PAGE),
                page_number: Some(page_number),
                exclude_disconnected_members: Some(false),
            };
            let page = self
                .target
                .api
                .get_webchat_guest_conversation_members(&self.target.conversation_id, &options)
                .await?;
            let entities = page.entities.unwrap_or_default();
            let count = entities.len();
            for member in entities {
                let (Some(id), Some(state)) = (member.id, member.state) else {
                    continue;
                };
                if self.roster.state(&id).as_ref() == Some(&state) {
                    continue;
                }
                let previous = self.remember_member(&id, state.clone());
                let event = ChatEvent::MemberChange {
                    conversation_id: self.target.conversation_id.clone(),
                    member_id: id,
                    state,
                    timestamp: None,
                    correlation_id: None,
                };
                if !self
                    .emit_change(Ok(StreamEvent::Chat(event)), previous)
                    .await
                {
                    return Ok(());
                }
            }
            let pages = page.page_count.unwrap_or(1);
            if count < MEMBERS_PAGE as usize || page_number >= pages {
                return Ok(());
            }
            page_number += 1;
        }
    }
}
