//! The transport: how the SDK's bytes reach the service. REST calls ([`rest`]: execute,
//! attempt, classify) and the event stream's socket ([`ws`]) both go through here, with the
//! same proxy choice ([`proxy`]) and TLS roots ([`tls`]).
//!
//! Nothing here knows about chats: [`crate::client`] and [`crate::api`] build REST calls on
//! [`rest`], [`crate::events`] opens its sockets with [`ws`].

pub(crate) mod proxy;
pub(crate) mod rest;
pub(crate) mod tls;
pub(crate) mod ws;

pub(crate) use rest::{Call, RawResponse, Rest};
pub(crate) use ws::WsSettings;
