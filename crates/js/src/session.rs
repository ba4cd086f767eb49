//! `GuestChat`: a whole chat session (what the official SDK leaves to the page).

use crate::api::ApiClient;
use crate::convert::{self, set};
use futures::StreamExt;
use js_sys::{Array, Function, Object, Promise};
use purecloud_guest_chat_client as sdk;
use sdk::model::CreateWebChatConversationRequest;
use sdk::{ChatOptions, Member, SessionEvent, SessionEvents};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local};

/// Makes `it` async-iterable: `it[Symbol.asyncIterator]` returns `it` itself. The function is
/// `Object.prototype.valueOf`, which returns its receiver (no closure to keep, no JS snippet,
/// nothing evaluated from a string).
fn async_iterable(it: JsValue) -> JsValue {
    let object_prototype = Object::get_prototype_of(&Object::new().into());
    if let Ok(value_of) = js_sys::Reflect::get(&object_prototype, &JsValue::from_str("valueOf")) {
        let _ = js_sys::Reflect::set(&it, &js_sys::Symbol::async_iterator().into(), &value_of);
    }
    it
}

/// A guest chat: creates the conversation, attaches its event stream (heartbeat liveness,
/// reconnection with history resync), and waits until the guest is CONNECTED.
///
/// Events come either through `onEvent(callback)` or through `for await (const e of
/// chat.events())`; a chat hands its events to one of them, once.
#[wasm_bindgen]
pub struct GuestChat {
    chat: sdk::GuestChat,
}

fn chat_error(e: &sdk::Error) -> JsValue {
    convert::error(e, true)
}

fn duration_ms(options: &JsValue, key: &str) -> Result<Option<Duration>, JsValue> {
    Ok(convert::int_prop(options, key)?
        .filter(|n| *n > 0)
        .map(|n| Duration::from_millis(n.unsigned_abs().into())))
}

#[wasm_bindgen]
impl GuestChat {
    /// Starts a chat with `client` (its environment and settings) and the create request
    /// `body` (`{organizationId, deploymentId, routingTarget, memberInfo}`); `options`:
    /// `{showOwnMessages, joinTimeoutMs, typingTimeoutMs}`. Resolves once the guest is
    /// CONNECTED.
    #[wasm_bindgen(unchecked_return_type = "Promise<GuestChat>")]
    pub fn start(
        client: &ApiClient,
        body: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ChatOptions")] options: JsValue,
    ) -> Result<Promise, JsValue> {
        let request: CreateWebChatConversationRequest = convert::body(&body, "GuestChat.start")?;
        let mut opts = ChatOptions::default();
        if let Some(v) = convert::prop(&options, "showOwnMessages") {
            opts = opts.show_own_messages(v.is_truthy());
        }
        if let Some(d) = duration_ms(&options, "joinTimeoutMs")? {
            opts = opts.join_timeout(d);
        }
        if let Some(d) = duration_ms(&options, "typingTimeoutMs")? {
            opts = opts.typing_timeout(d);
        }
        let client = client.state.borrow().sdk.clone();
        Ok(future_to_promise(async move {
            let chat = sdk::GuestChat::start_with(&client, &request, opts)
                .await
                .map_err(|e| chat_error(&e))?;
            Ok(GuestChat { chat }.into())
        }))
    }

    /// The conversation id.
    #[wasm_bindgen(getter, js_name = conversationId)]
    pub fn conversation_id(&self) -> String {
        self.chat.conversation_id().to_owned()
    }

    /// The guest's member id.
    #[wasm_bindgen(getter, js_name = memberId)]
    pub fn member_id(&self) -> String {
        self.chat.member_id().to_owned()
    }

    /// `waiting`, `connected`, `transferred` or `ended`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        self.chat.state().to_string()
    }

    /// Who ended the chat (`guest`, `agent`, `service`), once it ended.
    #[wasm_bindgen(getter, js_name = endedBy)]
    pub fn ended_by(&self) -> Option<String> {
        self.chat.ended_by().map(|e| e.to_string())
    }

    /// The members known so far (`ChatMember[]`).
    #[wasm_bindgen(unchecked_return_type = "ChatMember[]")]
    pub fn members(&self) -> Array {
        self.chat.members().iter().map(member).collect()
    }

    /// The connected agent, if any (`ChatMember`).
    #[wasm_bindgen(unchecked_return_type = "ChatMember | undefined")]
    pub fn agent(&self) -> JsValue {
        self.chat.agent().map_or(JsValue::UNDEFINED, |m| member(&m))
    }

    /// Sends a message, exactly once (an ambiguous failure is settled from the history
    /// before any retry). Resolves with the stored message.
    pub fn send(&self, text: String) -> Promise {
        let chat = self.chat.clone();
        future_to_promise(async move {
            let message = chat.send(&text).await.map_err(|e| chat_error(&e))?;
            Ok(json(&message))
        })
    }

    /// Sends a typing indicator.
    pub fn typing(&self) -> Promise {
        let chat = self.chat.clone();
        future_to_promise(async move {
            let typing = chat.typing().await.map_err(|e| chat_error(&e))?;
            Ok(json(&typing))
        })
    }

    /// Leaves the chat (the guest's member is disconnected; the events end with `ended`).
    pub fn leave(&self) -> Promise {
        let chat = self.chat.clone();
        future_to_promise(async move {
            chat.leave().await.map_err(|e| chat_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Calls `callback(event)` for every event (`ChatEvent`), until `ended`.
    #[wasm_bindgen(js_name = onEvent)]
    pub fn on_event(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: ChatEvent) => void")] callback: Function,
    ) {
        let mut events = self.chat.events();
        spawn_local(async move {
            while let Some(event) = events.next().await {
                let _ = callback.call1(&JsValue::NULL, &session_event(&event));
            }
        });
    }

    /// The events as an async iterator: `for await (const event of chat.events())`.
    #[wasm_bindgen(unchecked_return_type = "AsyncIterableIterator<ChatEvent>")]
    pub fn events(&self) -> JsValue {
        let it = ChatEvents {
            events: Rc::new(RefCell::new(Some(self.chat.events()))),
        };
        async_iterable(it.into())
    }
}

/// The async iterator of `GuestChat.events()`.
#[wasm_bindgen]
pub struct ChatEvents {
    events: Rc<RefCell<Option<SessionEvents>>>,
}

#[wasm_bindgen]
impl ChatEvents {
    /// The next event: `{value, done}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<IteratorResult<ChatEvent>>")]
    pub fn next(&self) -> Promise {
        let events = Rc::clone(&self.events);
        future_to_promise(async move {
            // Taken out while waiting, so that no RefCell borrow is held across the await.
            let taken = events.borrow_mut().take();
            let result = Object::new();
            match taken {
                Some(mut stream) => {
                    let next = stream.next().await;
                    match next {
                        Some(event) => {
                            *events.borrow_mut() = Some(stream);
                            set(&result, "value", session_event(&event));
                            set(&result, "done", false);
                        }
                        None => set(&result, "done", true),
                    }
                }
                None => set(&result, "done", true),
            }
            Ok(result.into())
        })
    }

    /// Stops the iteration (`break` in a `for await` loop).
    #[wasm_bindgen(js_name = "return")]
    pub fn finish(&self) -> Promise {
        self.events.borrow_mut().take();
        let result = Object::new();
        set(&result, "done", true);
        Promise::resolve(&JsValue::from(result))
    }
}

/// A serialisable value as a plain JavaScript object.
fn json<T: serde::Serialize>(value: &T) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .map_or(JsValue::UNDEFINED, |s| convert::parse_body(&s))
}

fn wire<T: serde::Serialize>(value: &T) -> Option<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}

fn member(m: &Member) -> JsValue {
    let obj = Object::new();
    set(&obj, "id", m.id.as_str());
    if let Some(n) = &m.display_name {
        set(&obj, "displayName", n.as_str());
    }
    if let Some(r) = m.role.as_ref().and_then(wire) {
        set(&obj, "role", r);
    }
    if let Some(s) = m.state.as_ref().and_then(wire) {
        set(&obj, "state", s);
    }
    set(&obj, "label", m.label());
    obj.into()
}

fn session_event(event: &SessionEvent) -> JsValue {
    let obj = Object::new();
    let kind = match event {
        SessionEvent::Message {
            message,
            sender,
            own,
        } => {
            set(&obj, "message", json(message));
            set(&obj, "sender", member(sender));
            set(&obj, "own", *own);
            "message"
        }
        SessionEvent::Structured {
            message,
            sender,
            content,
        } => {
            set(&obj, "message", json(message));
            set(&obj, "sender", member(sender));
            set(&obj, "content", json(content));
            "structured"
        }
        SessionEvent::TypingStarted(m) => {
            set(&obj, "member", member(m));
            "typingStarted"
        }
        SessionEvent::TypingStopped(m) => {
            set(&obj, "member", member(m));
            "typingStopped"
        }
        SessionEvent::MemberChanged {
            member: m,
            previous,
        } => {
            set(&obj, "member", member(m));
            if let Some(p) = previous.as_ref().and_then(wire) {
                set(&obj, "previous", p);
            }
            "memberChanged"
        }
        SessionEvent::MemberUpdated(m) => {
            set(&obj, "member", member(m));
            "memberUpdated"
        }
        SessionEvent::StateChanged(s) => {
            set(&obj, "state", s.to_string());
            "stateChanged"
        }
        SessionEvent::Reconnecting { attempt } => {
            set(&obj, "attempt", *attempt);
            "reconnecting"
        }
        SessionEvent::Resynced { missed } => {
            set(&obj, "missed", u32::try_from(*missed).unwrap_or(u32::MAX));
            "resynced"
        }
        SessionEvent::Warning(e) => {
            set(&obj, "message", e.to_string());
            "warning"
        }
        SessionEvent::Ended(reason) => {
            set(&obj, "reason", format!("{reason:?}"));
            "ended"
        }
        other => {
            set(
                &obj,
                "event",
                sdk::mask_secrets(&format!("{other:?}")).into_owned(),
            );
            "other"
        }
    };
    set(&obj, "type", kind);
    obj.into()
}
