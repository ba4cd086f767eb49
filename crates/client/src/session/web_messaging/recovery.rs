//! After the socket is lost: reconnect, and resync the messages missed from the history.

use super::super::EndedBy;
use super::fetch_page;
use super::{open, SessionEvent, SocketTask, HISTORY_PAGE_SIZE, RESYNC_PAGES};
use crate::events::CloseReason;
use crate::webmessaging::{Direction, NormalizedType, WebMessagingClient, WmError};
use std::time::Duration;

impl SocketTask {
    /// After a reconnect: the history pages newest first until a delivered message, then the
    /// missed ones in order.
    async fn resync(&mut self, client: &mut WebMessagingClient) -> Result<usize, WmError> {
        let jwt = self.jwt(client).await?;
        let mut missed = Vec::new();
        'pages: for page in 1..=RESYNC_PAGES {
            let entities = fetch_page(
                &self.http,
                &self.options.endpoint,
                &jwt,
                page,
                HISTORY_PAGE_SIZE,
            )
            .await?
            .0;
            let last_page = entities.len() < HISTORY_PAGE_SIZE as usize;
            for m in entities {
                if m.id.as_ref().is_some_and(|id| self.seen.contains(id)) {
                    break 'pages;
                }
                missed.push(m);
            }
            if last_page {
                break;
            }
        }
        let mut count = 0;
        for m in missed.into_iter().rev() {
            if m.kind == NormalizedType::Event {
                continue;
            }
            if m.direction != Some(Direction::Inbound) {
                count += 1;
            }
            self.deliver(&m);
        }
        Ok(count)
    }

    pub(super) async fn reconnect(&mut self) -> Option<WebMessagingClient> {
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=self.options.max_reconnects {
            self.emit(SessionEvent::Reconnecting { attempt });
            match open(&self.options, &self.token).await {
                Ok((mut client, _)) => {
                    self.jwt = None;
                    match self.resync(&mut client).await {
                        Ok(missed) => {
                            self.emit(SessionEvent::Resynced { missed });
                            return Some(client);
                        }
                        Err(e) => self.emit(SessionEvent::Warning(e.into())),
                    }
                }
                Err(e) if e.is_session_fatal() => {
                    self.finish(EndedBy::Service, CloseReason::Unauthorized);
                    return None;
                }
                Err(_) => {}
            }
            crate::rt::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        self.finish(
            EndedBy::Service,
            CloseReason::GaveUp {
                attempts: self.options.max_reconnects,
            },
        );
        None
    }
}
