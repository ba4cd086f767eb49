//! The chat's one member table: id -> state, role and display name, as far as known.
//!
//! The event-stream driver writes the states (from member-change frames and from the member
//! list read by a resync); a [`GuestChat`](crate::session::GuestChat) adds roles and names
//! as its lookups land and reads the table for [`members`](crate::session::GuestChat::members)
//! and [`agent`](crate::session::GuestChat::agent). A plain [`EventStream`](super::EventStream)
//! keeps the table to itself.

use crate::model::{MemberState, Role};
use crate::session::Member;
use std::sync::{Arc, Mutex, MutexGuard};

/// A shared handle to one chat's member table (cheap to clone: all clones are the table).
#[derive(Debug, Clone, Default)]
pub(crate) struct Roster(Arc<Mutex<Vec<Member>>>);

impl Roster {
    fn lock(&self) -> MutexGuard<'_, Vec<Member>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the table.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Vec<Member>) -> R) -> R {
        f(&mut self.lock())
    }

    /// The member with this id, if it is in the table.
    pub(crate) fn get(&self, id: &str) -> Option<Member> {
        self.lock().iter().find(|m| m.id == id).cloned()
    }

    /// The member's latest known state.
    pub(crate) fn state(&self, id: &str) -> Option<MemberState> {
        self.lock()
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| m.state.clone())
    }

    /// Records a member's state; returns the state before (`None`: not known).
    pub(crate) fn set_state(&self, id: &str, state: MemberState) -> Option<MemberState> {
        let mut table = self.lock();
        match table.iter_mut().find(|m| m.id == id) {
            Some(m) => m.state.replace(state),
            None => {
                add(
                    &mut table,
                    Member {
                        id: id.to_owned(),
                        display_name: None,
                        role: None,
                        state: Some(state),
                    },
                );
                None
            }
        }
    }

    /// Records what a lookup found; returns the member as now known.
    pub(crate) fn set_info(
        &self,
        id: &str,
        display_name: Option<String>,
        role: Option<Role>,
    ) -> Member {
        let mut table = self.lock();
        let index = match table.iter().position(|m| m.id == id) {
            Some(i) => i,
            None => {
                add(
                    &mut table,
                    Member {
                        id: id.to_owned(),
                        display_name: None,
                        role: None,
                        state: None,
                    },
                );
                table.len() - 1
            }
        };
        let member = &mut table[index];
        member.display_name = display_name.or(member.display_name.take());
        member.role = role.or(member.role.take());
        member.clone()
    }

    /// The members whose state is known (those seen in a member change), in order of arrival.
    pub(crate) fn members(&self) -> Vec<Member> {
        self.lock()
            .iter()
            .filter(|m| m.state.is_some())
            .cloned()
            .collect()
    }
}

/// Adds a member: room for two at first (the guest and an agent; a `Vec`'s first growth
/// makes room for four, which most chats never fill: issue 14 counts bytes per open chat).
fn add(table: &mut Vec<Member>, member: Member) {
    if table.capacity() == 0 {
        table.reserve_exact(2);
    }
    table.push(member);
}
