//! JavaScript bindings of `purecloud-guest-chat-client`, built with wasm-bindgen.
//!
//! The surface mirrors the official JavaScript SDK (`purecloud-guest-chat-client` on npm)
//! where a JavaScript user looks for it:
//!
//! - `ApiClient` (`ApiClient.instance`, `new ApiClient()`, `setEnvironment`, `setJwt`,
//!   `setReturnExtendedResponses`, `setPersistSettings`);
//! - `WebChatApi` with the 11 guest chat operations, each returning a `Promise` that resolves
//!   with the body (or, in extended mode, `{status, statusText, headers, body, text}`) and
//!   rejects with the error body (extended: `{status, statusText, headers, body, text, error}`);
//!
//! plus what the official SDK lacks: a `GuestChat` session (the event stream with heartbeat
//! liveness, reconnection and resync, exactly-once sends) with an event callback and an async
//! iterator. The crate also compiles natively (so the workspace's checks cover it); it only
//! runs in a JavaScript host.

mod api;
mod convert;
mod session;

pub(crate) use purecloud_guest_chat_client as sdk;

pub use api::{ApiClient, WebChatApi};
pub use session::{ChatEvents, GuestChat};

use wasm_bindgen::prelude::*;

/// TypeScript declarations that are tighter than the generated `any`.
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A response in extended mode (`setReturnExtendedResponses(true)`). */
export interface ExtendedResponse<T = any> {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: T;
  text: string;
  correlationId?: string;
}
/** A rejection in extended mode: the answer of a non-2xx status. */
export interface ExtendedError {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  /** The parsed Genesys error body (`{status, code, message, contextId, ...}`), else the raw text. */
  body: any;
  text: string;
  error: Error;
  correlationId?: string;
}
/** A failure without an HTTP answer, or a call refused before sending. */
export interface GuestChatError extends Error {
  name: "GuestChatError";
  kind: "timeout" | "connect" | "decode" | "invalidArgument" | "invalidEnvironment" | "missingJwt"
    | "tls" | "transport" | "eventStream" | "deliveryUnknown" | "webMessaging" | "other";
  /** For `invalidArgument`: the parameter, as the swagger spells it. */
  parameter?: string;
}
export interface GetMembersOptions {
  pageSize?: number;
  pageNumber?: number;
  excludeDisconnectedMembers?: boolean;
}
export interface GetMessagesOptions {
  after?: string;
  before?: string;
  sortOrder?: "ascending" | "descending";
  maxResults?: number;
}
export interface ChatOptions {
  /** Also deliver the echo of the guest's own messages (default false). */
  showOwnMessages?: boolean;
  /** How long `GuestChat.start` waits for the guest to be CONNECTED (default 30000). */
  joinTimeoutMs?: number;
  /** After how long without a new indicator a typing member is taken as stopped (default 4000). */
  typingTimeoutMs?: number;
}
export interface ChatMember {
  id: string;
  displayName?: string;
  role?: string;
  state?: string;
  /** A name to show: the display name, else the role, else the id. */
  label: string;
}
// Typed overloads of the generated declarations (`opts?: any`, `client?: any`).
export interface WebChatApi {
  getWebchatGuestConversationMembers(conversationId: string, opts?: GetMembersOptions): Promise<any>;
  getWebchatGuestConversationMessages(conversationId: string, opts?: GetMessagesOptions): Promise<any>;
}
export type ChatEvent =
  | { type: "message"; message: any; sender: ChatMember; own: boolean }
  | { type: "structured"; message: any; sender: ChatMember; content: any[] }
  | { type: "typingStarted"; member: ChatMember }
  | { type: "typingStopped"; member: ChatMember }
  | { type: "memberChanged"; member: ChatMember; previous?: string }
  | { type: "memberUpdated"; member: ChatMember }
  | { type: "stateChanged"; state: "waiting" | "connected" | "transferred" | "ended" }
  | { type: "reconnecting"; attempt: number }
  | { type: "resynced"; missed: number }
  | { type: "warning"; message: string }
  | { type: "other"; event: string }
  | { type: "ended"; reason: string };
"#;
