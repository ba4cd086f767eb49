//! `ApiClient` and `WebChatApi`: the official JavaScript SDK's REST surface.

use crate::convert::{self, js_error};
use crate::sdk;
use js_sys::Promise;
use sdk::model::{
    CreateWebChatConversationRequest, CreateWebChatMessageRequest, WebChatGuestMediaRequest,
};
use sdk::{GetMembersOptions, GetMessagesOptions, RetryPolicy};
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// The settings behind one `ApiClient`, shared with the `WebChatApi`s made from it.
pub(crate) struct ClientState {
    pub(crate) sdk: sdk::ApiClient,
    pub(crate) extended: bool,
    retry: RetryPolicy,
    timeout: Option<Duration>,
}

impl ClientState {
    fn new() -> Result<ClientState, sdk::Error> {
        let retry = RetryPolicy::default();
        Ok(ClientState {
            sdk: build(None, retry, None)?,
            extended: false,
            retry,
            timeout: None,
        })
    }

    /// Rebuilds the SDK client after a setting that is fixed at build time changed; the
    /// environment and the JWT carry over.
    fn rebuild(&mut self) -> Result<(), sdk::Error> {
        let env = self.sdk.environment();
        let next = build(Some(env), self.retry, self.timeout)?;
        if let Some(jwt) = self.sdk.jwt() {
            next.set_jwt(jwt);
        }
        self.sdk = next;
        Ok(())
    }
}

fn build(
    env: Option<sdk::Environment>,
    retry: RetryPolicy,
    timeout: Option<Duration>,
) -> Result<sdk::ApiClient, sdk::Error> {
    let mut b = sdk::ApiClient::builder().no_config_file().retry(retry);
    if let Some(env) = env {
        b = b.environment(env);
    }
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    b.build()
}

thread_local! {
    static INSTANCE: RefCell<Option<Rc<RefCell<ClientState>>>> = const { RefCell::new(None) };
}

impl ApiClient {
    /// The client behind a JavaScript value that is an `ApiClient` (not consumed).
    pub(crate) fn from_js(value: &JsValue) -> Result<ApiClient, JsValue> {
        use wasm_bindgen::convert::TryFromJsValue;
        let not_a_client = || {
            js_error(
                "invalidArgument",
                "expected an ApiClient of this package",
                Some("apiClient"),
            )
        };
        let handle = js_sys::Reflect::get(value, &JsValue::from_str("__handle"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or_else(not_a_client)?;
        let fresh = handle.call0(value).map_err(|_| not_a_client())?;
        ApiClient::try_from_js_value(fresh).map_err(|_| not_a_client())
    }
}

fn sdk_error(e: &sdk::Error) -> JsValue {
    convert::error(e, true)
}

/// The HTTP client: environment (base URL), the guest JWT, response mode, retries and timeout.
///
/// `ApiClient.instance` is the shared default client (as in the official SDK); `new
/// ApiClient()` makes an independent one.
#[wasm_bindgen]
pub struct ApiClient {
    pub(crate) state: Rc<RefCell<ClientState>>,
}

#[wasm_bindgen]
impl ApiClient {
    /// An independent client (defaults: `mypurecloud.com`, no JWT, plain responses,
    /// 3 retries).
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<ApiClient, JsValue> {
        let state = ClientState::new().map_err(|e| sdk_error(&e))?;
        Ok(ApiClient {
            state: Rc::new(RefCell::new(state)),
        })
    }

    /// The shared default client (the official SDK's `ApiClient.instance`).
    #[wasm_bindgen(getter)]
    pub fn instance() -> Result<ApiClient, JsValue> {
        let existing = INSTANCE.with(|i| i.borrow().clone());
        let state = match existing {
            Some(s) => s,
            None => {
                let s = Rc::new(RefCell::new(ClientState::new().map_err(|e| sdk_error(&e))?));
                INSTANCE.with(|i| *i.borrow_mut() = Some(Rc::clone(&s)));
                s
            }
        };
        Ok(ApiClient { state })
    }

    /// Points the client at an environment: a region domain (`mypurecloud.ie`), an API URL
    /// (`https://api.mypurecloud.ie`) or a full base URL (`http://127.0.0.1:8080`, which the
    /// official SDK turns into an unusable `https://api.127.0.0.1:8080`). Throws on a value
    /// that is none of these.
    #[wasm_bindgen(js_name = setEnvironment)]
    pub fn set_environment(&self, environment: &str) -> Result<(), JsValue> {
        self.state
            .borrow()
            .sdk
            .set_environment(environment)
            .map_err(|e| sdk_error(&e))
    }

    /// The base URL in use (`https://api.mypurecloud.com`).
    #[wasm_bindgen(getter, js_name = basePath)]
    pub fn base_path(&self) -> String {
        self.state.borrow().sdk.environment().base_url().to_owned()
    }

    /// Sets the guest JWT (the `jwt` of the create response); `''` clears it. Unlike the
    /// official SDK, the create call never spoils later calls' `Authorization` header.
    #[wasm_bindgen(js_name = setJwt)]
    pub fn set_jwt(&self, jwt: Option<String>) {
        let state = self.state.borrow();
        match jwt {
            Some(j) if !j.is_empty() => state.sdk.set_jwt(j),
            _ => state.sdk.clear_jwt(),
        }
    }

    /// Resolve with `{status, statusText, headers, body, text}` and reject with
    /// `{status, statusText, headers, body, text, error}` (true), or with the bodies only
    /// (false, the default).
    #[wasm_bindgen(js_name = setReturnExtendedResponses)]
    pub fn set_return_extended_responses(&self, extended: bool) {
        self.state.borrow_mut().extended = extended;
    }

    /// A second handle on this client's state (used to take an `ApiClient` passed as a
    /// plain JavaScript value without consuming the caller's object).
    #[doc(hidden)]
    #[wasm_bindgen(js_name = "__handle", skip_typescript)]
    pub fn handle(&self) -> ApiClient {
        ApiClient {
            state: Rc::clone(&self.state),
        }
    }

    /// Accepted for compatibility; nothing is persisted (there is no login to remember).
    #[wasm_bindgen(js_name = setPersistSettings)]
    pub fn set_persist_settings(&self, _persist: bool, _prefix: Option<String>) {}

    /// Retries of a failed call (429 with `Retry-After`, 5xx, lost connections; default 3,
    /// 0 = never retry, as the official SDK).
    #[wasm_bindgen(js_name = setMaxRetries)]
    pub fn set_max_retries(&self, retries: u32) -> Result<(), JsValue> {
        let mut state = self.state.borrow_mut();
        state.retry = state.retry.max_retries(retries);
        state.rebuild().map_err(|e| sdk_error(&e))
    }

    /// The request timeout in milliseconds (0 = none).
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(&self, millis: u32) -> Result<(), JsValue> {
        let mut state = self.state.borrow_mut();
        state.timeout = (millis > 0).then(|| Duration::from_millis(u64::from(millis)));
        state.rebuild().map_err(|e| sdk_error(&e))
    }
}

/// The 11 guest chat operations. Each returns a `Promise`; a missing required argument
/// throws at once (an `Error` named `GuestChatError`, kind `invalidArgument`).
#[wasm_bindgen]
pub struct WebChatApi {
    state: Rc<RefCell<ClientState>>,
}

/// Runs one call: the SDK's future, its answer converted by the client's response mode.
fn run<T, F>(state: &Rc<RefCell<ClientState>>, call: impl FnOnce(sdk::WebChatApi) -> F) -> Promise
where
    F: Future<Output = Result<sdk::ApiResponse<T>, sdk::Error>> + 'static,
{
    // The JWT in force now, as the official SDK reads it when the call is made: a later
    // setJwt does not change a call already made.
    let (api, extended) = {
        let s = state.borrow();
        let api = match s.sdk.jwt() {
            Some(jwt) => sdk::WebChatApi::new(&s.sdk.with_jwt(jwt)),
            None => sdk::WebChatApi::new(&s.sdk),
        };
        (api, s.extended)
    };
    let fut = call(api);
    future_to_promise(async move {
        match fut.await {
            Ok(r) => Ok(convert::response(&r, extended)),
            Err(e) => Err(convert::error(&e, extended)),
        }
    })
}

macro_rules! ids {
    ($op:literal; $($v:ident : $name:literal),*) => {
        ($(convert::id(&$v, $name, $op)?),*)
    };
}

#[wasm_bindgen]
impl WebChatApi {
    /// The operations, sent through `client` (default: `ApiClient.instance`).
    #[wasm_bindgen(constructor)]
    pub fn new(client: Option<JsValue>) -> Result<WebChatApi, JsValue> {
        let client = match client {
            Some(c) => ApiClient::from_js(&c)?,
            None => ApiClient::instance()?,
        };
        Ok(WebChatApi {
            state: client.state,
        })
    }

    /// `POST /api/v2/webchat/guest/conversations`: creates a chat (sends no JWT).
    #[wasm_bindgen(js_name = postWebchatGuestConversations)]
    pub fn post_webchat_guest_conversations(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object")] body: JsValue,
    ) -> Result<Promise, JsValue> {
        let body: CreateWebChatConversationRequest =
            convert::body(&body, "postWebchatGuestConversations")?;
        Ok(run(&self.state, move |api| async move {
            api.post_webchat_guest_conversations_with_http_info(&body)
                .await
        }))
    }

    /// `GET …/{conversationId}/members`, options `{pageSize, pageNumber,
    /// excludeDisconnectedMembers}`.
    #[wasm_bindgen(js_name = getWebchatGuestConversationMembers)]
    pub fn get_webchat_guest_conversation_members(
        &self,
        #[wasm_bindgen(js_name = "conversationId", unchecked_param_type = "string")]
        conversation_id: JsValue,
        opts: Option<JsValue>,
    ) -> Result<Promise, JsValue> {
        let opts = opts.unwrap_or(JsValue::UNDEFINED);
        let c = ids!("getWebchatGuestConversationMembers"; conversation_id: "conversationId");
        let mut o = GetMembersOptions::new();
        if let Some(n) = convert::int_prop(&opts, "pageSize")? {
            o = o.page_size(n);
        }
        if let Some(n) = convert::int_prop(&opts, "pageNumber")? {
            o = o.page_number(n);
        }
        if let Some(v) = convert::truthy_prop(&opts, "excludeDisconnectedMembers") {
            let on = v
                .as_bool()
                .unwrap_or_else(|| v.as_string().as_deref() == Some("true"));
            o = o.exclude_disconnected_members(on);
        }
        Ok(run(&self.state, move |api| async move {
            api.get_webchat_guest_conversation_members_with_http_info(&c, &o)
                .await
        }))
    }

    /// `GET …/{conversationId}/members/{memberId}`.
    #[wasm_bindgen(js_name = getWebchatGuestConversationMember)]
    pub fn get_webchat_guest_conversation_member(
        &self,
        #[wasm_bindgen(js_name = "conversationId", unchecked_param_type = "string")]
        conversation_id: JsValue,
        #[wasm_bindgen(js_name = "memberId", unchecked_param_type = "string")] member_id: JsValue,
    ) -> Result<Promise, JsValue> {
        let (c, m) = ids!("getWebchatGuestConversationMember"; conversation_id: "conversationId", member_id: "memberId");
        Ok(run(&self.state, move |api| async move {
            api.get_webchat_guest_conversation_member_with_http_info(&c, &m)
                .await
        }))
    }

    /// `DELETE …/{conversationId}/members/{memberId}`: the guest leaves.
    #[wasm_bindgen(js_name = deleteWebchatGuestConversationMember)]
    pub fn delete_webchat_guest_conversation_member(
        &self,
        #[wasm_bindgen(js_name = "conversationId", unchecked_param_type = "string")]
        conversation_id: JsValue,
        #[wasm_bindgen(js_name = "memberId", unchecked_param_type = "string")] member_id: JsValue,
    ) -> Result<Promise, JsValue> {
        let (c, m) = ids!("deleteWebchatGuestConversationMember"; conversation_id: "conversationId", member_id: "memberId");
        Ok(run(&self.state, move |api| async move {
            api.delete_webchat_guest_conversation_member_with_http_info(&c, &m)
                .await
        }))
    }

    /// `POST …/{conversationId}/members/{memberId}/messages`, body `{body, bodyType}`.
    #[wasm_bindgen(js_name = postWebchatGuestConversationMemberMessages)]
    pub fn post_webchat_guest_conversation_member_messages(
        &self,
        #[wasm_bindgen(js_name = "conversationId", unchecked_param_type = "string")]
        conversation_id: JsValue,
        #[wasm_bindgen(js_name = "memberId", unchecked_param_type = "string")] member_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "object")] body: JsValue,
    ) -> Result<Promise, JsValue> {
        const OP: &str = "postWebchatGuestConversationMemberMessages";
        let (c, m) = ids!("postWebchatGuestConversationMemberMessages"; conversation_id: "conversationId", member_id: "memberId");
        let body: CreateWebChatMessageRequest = convert::body(&body, OP)?;
        Ok(run(&self.state, move |api| async move {
            api.post_webchat_guest_conversation_member_messages_with_http_info(&c, &m, &body)
                .await
        }))
    }

    /// `POST …/{conversationId}/members/{memberId}/typing`.
    #[wasm_bindgen(js_name = postWebchatGuestConversationMemberTyping)]
    pub fn post_webchat_guest_conversation_member_typing(
        &self,
        #[wasm_bindgen(js_name = "conversationId", unchecked_param_type = "string")]
        conversation_id: JsValue,
        #[wasm_bindgen(js_name = "memberId", unchecked_param_type = "string")] member_id: JsValue,
    ) -> Result<Promise, JsValue> {
        let (c, m) = ids!("postWebchatGuestConversationMemberTyping"; conversation_id: "conversationId", member_id: "memberId");
        Ok(run(&self.state, move |api| async move {
            api.post_webchat_guest_conversation_member_typing_with_http_info(&c, &m)
                .await
        }))
    }

    /// `GET …/{conversationId}/messages`, options `{after, before, sortOrder, maxResults}`.
    #[wasm_bindgen(js_name = getWebchatGuestConversationMessages)]
    pub fn get_webchat_guest_conversation_messages(
        &self,
        #[wasm_bindgen(js_name = "conversationId", unchecked_param_type = "string")]
        conversation_id: JsValue,
        opts: Option<JsValue>,
    ) -> Result<Promise, JsValue> {
        let opts = opts.unwrap_or(JsValue::UNDEFINED);
        let c = ids!("getWebchatGuestConversationMessages"; conversation_id: "conversationId");
        let mut o = GetMessagesOptions::new();
        if let Some(s) = convert::string_prop(&opts, "after") {
            o = o.after(s);
        }
        if let Some(s) = convert::string_prop(&opts, "before") {
            o = o.before(s);
        }
        if let Some(s) = convert::string_prop(&opts, "sortOrder") {
            let order = serde_json::from_value(serde_json::Value::String(s)).map_err(|e| {
                js_error(
                    "invalidArgument",
                    &format!("option sortOrder: {e}"),
                    Some("sortOrder"),
                )
            })?;
            o = o.sort_order(order);
        }
        if let Some(n) = convert::int_prop(&opts, "maxResults")? {
            o = o.max_results(n);
        }
        Ok(run(&self.state, move |api| async move {
            api.get_webchat_guest_conversation_messages_with_http_info(&c, &o)
                .await
        }))
    }

    /// `GET …/{conversationId}/messages/{messageId}`.
    #[wasm_bindgen(js_name = getWebchatGuestConversationMessage)]
    pub fn get_webchat_guest_conversation_message(
        &self,
        #[wasm_bindgen(js_name = "conversationId", unchecked_param_type = "string")]
        conversation_id: JsValue,
        #[wasm_bindgen(js_name = "messageId", unchecked_param_type = "string")] message_id: JsValue,
    ) -> Result<Promise, JsValue> {
        let (c, m) = ids!("getWebchatGuestConversationMessage"; conversation_id: "conversationId", message_id: "messageId");
        Ok(run(&self.state, move |api| async move {
            api.get_webchat_guest_conversation_message_with_http_info(&c, &m)
                .await
        }))
    }

    /// `GET …/{conversationId}/mediarequests`.
    #[wasm_bindgen(js_name = getWebchatGuestConversationMediarequests)]
    pub fn get_webchat_guest_conversation_mediarequests(
        &self,
        #[wasm_bindgen(js_name = "conversationId", unchecked_param_type = "string")]
        conversation_id: JsValue,
    ) -> Result<Promise, JsValue> {
        let c = ids!("getWebchatGuestConversationMediarequests"; conversation_id: "conversationId");
        Ok(run(&self.state, move |api| async move {
            api.get_webchat_guest_conversation_mediarequests_with_http_info(&c)
                .await
        }))
    }

    /// `GET …/{conversationId}/mediarequests/{mediaRequestId}`.
    #[wasm_bindgen(js_name = getWebchatGuestConversationMediarequest)]
    pub fn get_webchat_guest_conversation_mediarequest(
        &self,
        #[wasm_bindgen(js_name = "conversationId", unchecked_param_type = "string")]
        conversation_id: JsValue,
        #[wasm_bindgen(js_name = "mediaRequestId", unchecked_param_type = "string")]
        media_request_id: JsValue,
    ) -> Result<Promise, JsValue> {
        let (c, m) = ids!("getWebchatGuestConversationMediarequest"; conversation_id: "conversationId", media_request_id: "mediaRequestId");
        Ok(run(&self.state, move |api| async move {
            api.get_webchat_guest_conversation_mediarequest_with_http_info(&c, &m)
                .await
        }))
    }

    /// `PATCH …/{conversationId}/mediarequests/{mediaRequestId}`, body `{state, types, ...}`.
    #[wasm_bindgen(js_name = patchWebchatGuestConversationMediarequest)]
    pub fn patch_webchat_guest_conversation_mediarequest(
        &self,
        #[wasm_bindgen(js_name = "conversationId", unchecked_param_type = "string")]
        conversation_id: JsValue,
        #[wasm_bindgen(js_name = "mediaRequestId", unchecked_param_type = "string")]
        media_request_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "object")] body: JsValue,
    ) -> Result<Promise, JsValue> {
        const OP: &str = "patchWebchatGuestConversationMediarequest";
        let (c, m) = ids!("patchWebchatGuestConversationMediarequest"; conversation_id: "conversationId", media_request_id: "mediaRequestId");
        let body: WebChatGuestMediaRequest = convert::body(&body, OP)?;
        Ok(run(&self.state, move |api| async move {
            api.patch_webchat_guest_conversation_mediarequest_with_http_info(&c, &m, &body)
                .await
        }))
    }
}
