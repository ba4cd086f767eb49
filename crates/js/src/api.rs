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
    /// `defaultHeaders` (the official SDK's property): a plain object the page may change.
    pub(crate) default_headers: js_sys::Object,
    /// The headers of `defaultHeaders` (but a bearer `Authorization`) the SDK client was
    /// built with.
    applied_headers: Vec<(String, String)>,
}

impl ClientState {
    fn new() -> Result<ClientState, sdk::Error> {
        let retry = RetryPolicy::default();
        Ok(ClientState {
            sdk: build(None, retry, None, &[])?,
            extended: false,
            retry,
            timeout: None,
            default_headers: js_sys::Object::new(),
            applied_headers: Vec::new(),
        })
    }

    /// Rebuilds the SDK client after a setting that is fixed at build time changed; the
    /// environment and the JWT carry over.
    fn rebuild(&mut self) -> Result<(), sdk::Error> {
        let env = self.sdk.environment();
        let next = build(Some(env), self.retry, self.timeout, &self.applied_headers)?;
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
    headers: &[(String, String)],
) -> Result<sdk::ApiClient, sdk::Error> {
    let mut b = sdk::ApiClient::builder().no_config_file().retry(retry);
    for (name, value) in headers {
        b = b.default_header(name, value);
    }
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

    /// Headers sent with every call (the official SDK's `defaultHeaders`, read when a call
    /// is made). An `Authorization: Bearer …` (any case of `bearer`) is taken as the guest
    /// JWT, masked like one; `setJwt` wins over it.
    #[wasm_bindgen(getter, js_name = defaultHeaders, unchecked_return_type = "Record<string, string>")]
    pub fn default_headers(&self) -> js_sys::Object {
        self.state.borrow().default_headers.clone()
    }

    /// Replaces `defaultHeaders` (an object of header names and values).
    #[wasm_bindgen(setter, js_name = defaultHeaders)]
    pub fn set_default_headers(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Record<string, string>")] headers: JsValue,
    ) -> Result<(), JsValue> {
        let object = headers.dyn_into::<js_sys::Object>().map_err(|_| {
            js_error(
                "invalidArgument",
                "defaultHeaders must be an object of header names and values",
                Some("defaultHeaders"),
            )
        })?;
        self.state.borrow_mut().default_headers = object;
        Ok(())
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
    /// The `ApiClient` object it was made with, whose `defaultHeaders` property (its own, or
    /// one the page defined over it) is read at each call; `None` for `ApiClient.instance`.
    client: Option<JsValue>,
}

impl WebChatApi {
    /// Runs one call: the SDK's future, its answer converted by the client's response mode.
    fn run<T, F>(&self, call: impl FnOnce(sdk::WebChatApi) -> F) -> Result<Promise, JsValue>
    where
        F: Future<Output = Result<sdk::ApiResponse<T>, sdk::Error>> + 'static,
    {
        let headers = match &self.client {
            Some(c) => js_sys::Reflect::get(c, &JsValue::from_str("defaultHeaders"))
                .unwrap_or(JsValue::UNDEFINED),
            None => self.state.borrow().default_headers.clone().into(),
        };
        let headers = DefaultHeaders::read(&headers)?;
        let mut s = self.state.borrow_mut();
        if s.applied_headers != headers.others {
            s.applied_headers = headers.others;
            s.rebuild().map_err(|e| sdk_error(&e))?;
        }
        // The JWT in force now, as the official SDK reads it when the call is made: a later
        // setJwt does not change a call already made. `setJwt` wins over an `Authorization`
        // of `defaultHeaders`, as in the official SDK.
        let api = match s.sdk.jwt().or(headers.bearer.map(sdk::Jwt::from)) {
            Some(jwt) => sdk::WebChatApi::new(&s.sdk.with_jwt(jwt)),
            None => sdk::WebChatApi::new(&s.sdk),
        };
        let extended = s.extended;
        drop(s);
        let fut = call(api);
        Ok(future_to_promise(async move {
            match fut.await {
                Ok(r) => Ok(convert::response(&r, extended)),
                Err(e) => Err(convert::error(&e, extended)),
            }
        }))
    }
}

/// The `defaultHeaders` of an `ApiClient`, split: the bearer token of an `Authorization`
/// header (any case of the scheme, as HTTP allows) becomes the call's JWT, so that it is
/// masked like one; the other headers are sent as they are.
#[derive(Default)]
pub(crate) struct DefaultHeaders {
    bearer: Option<String>,
    others: Vec<(String, String)>,
}

impl DefaultHeaders {
    /// Reads a plain object of header names and values (`undefined`/`null`: none). A value
    /// that is neither a string nor a number is refused (kind `invalidArgument`).
    fn read(value: &JsValue) -> Result<DefaultHeaders, JsValue> {
        let mut out = DefaultHeaders::default();
        if value.is_undefined() || value.is_null() {
            return Ok(out);
        }
        let Some(object) = value.dyn_ref::<js_sys::Object>() else {
            return Err(js_error(
                "invalidArgument",
                "defaultHeaders must be an object of header names and values",
                Some("defaultHeaders"),
            ));
        };
        for entry in js_sys::Object::entries(object).iter() {
            let pair = js_sys::Array::from(&entry);
            let name = pair.get(0).as_string().unwrap_or_default();
            let value = pair.get(1);
            if value.is_undefined() || value.is_null() {
                continue;
            }
            let Some(text) = value
                .as_string()
                .or_else(|| value.as_f64().map(|n| n.to_string()))
            else {
                return Err(js_error(
                    "invalidArgument",
                    &format!("defaultHeaders[{name:?}] must be a string"),
                    Some("defaultHeaders"),
                ));
            };
            if name.eq_ignore_ascii_case("authorization") {
                if let Some((scheme, token)) = text.trim().split_once(' ') {
                    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
                        out.bearer = Some(token.trim().to_owned());
                        continue;
                    }
                }
            }
            out.others.push((name, text));
        }
        Ok(out)
    }
}

/// One operation of `WebChatApi`, in its own `#[wasm_bindgen] impl` block (the attribute
/// reads the block before macros inside it expand): the path ids (a missing one throws), then
/// an options object or a body decoded into its model, then the SDK call. Its doc lines are
/// written `#[doc = " …"]`: a `///` comment passed through `macro_rules!` reaches wasm-bindgen
/// as a raw string, which would show as `r"` in the TypeScript declarations.
macro_rules! operation {
    (
        $(#[doc = $doc:tt])*
        $js:ident => $method:ident(
            $($id:ident: $id_js:tt),*
            $(; options $opts:ident = $parse:path)?
            $(; body $body:ident: $model:ty)?
        ) => $sdk_call:ident
    ) => {
        #[wasm_bindgen]
        impl WebChatApi {
            $(#[doc = $doc])*
            #[wasm_bindgen(js_name = $js)]
            pub fn $method(
                &self,
                $(#[wasm_bindgen(js_name = $id_js, unchecked_param_type = "string")] $id: JsValue,)*
                $($opts: Option<JsValue>,)?
                $(#[wasm_bindgen(unchecked_param_type = "object")] $body: JsValue,)?
            ) -> Result<Promise, JsValue> {
                const OP: &str = stringify!($js);
                $(let $id = convert::id(&$id, $id_js, OP)?;)*
                $(let $opts = $parse(&$opts.unwrap_or(JsValue::UNDEFINED))?;)?
                $(let $body: $model = convert::body(&$body, OP)?;)?
                self.run(move |api| async move {
                    api.$sdk_call($(&$id,)* $(&$opts,)? $(&$body)?).await
                })
            }
        }
    };
}

#[wasm_bindgen]
impl WebChatApi {
    /// The operations, sent through `client` (default: `ApiClient.instance`).
    #[wasm_bindgen(constructor)]
    pub fn new(client: Option<JsValue>) -> Result<WebChatApi, JsValue> {
        let (state, client) = match client {
            Some(c) => (ApiClient::from_js(&c)?.state, Some(c)),
            None => (ApiClient::instance()?.state, None),
        };
        Ok(WebChatApi { state, client })
    }
}

/// The options of `getWebchatGuestConversationMembers`.
fn members_options(opts: &JsValue) -> Result<GetMembersOptions, JsValue> {
    let mut o = GetMembersOptions::new();
    if let Some(n) = convert::int_prop(opts, "pageSize")? {
        o = o.page_size(n);
    }
    if let Some(n) = convert::int_prop(opts, "pageNumber")? {
        o = o.page_number(n);
    }
    if let Some(v) = convert::truthy_prop(opts, "excludeDisconnectedMembers") {
        let on = v
            .as_bool()
            .unwrap_or_else(|| v.as_string().as_deref() == Some("true"));
        o = o.exclude_disconnected_members(on);
    }
    Ok(o)
}

/// The options of `getWebchatGuestConversationMessages`.
fn messages_options(opts: &JsValue) -> Result<GetMessagesOptions, JsValue> {
    let mut o = GetMessagesOptions::new();
    if let Some(s) = convert::string_prop(opts, "after") {
        o = o.after(s);
    }
    if let Some(s) = convert::string_prop(opts, "before") {
        o = o.before(s);
    }
    if let Some(s) = convert::string_prop(opts, "sortOrder") {
        let order = serde_json::from_value(serde_json::Value::String(s)).map_err(|e| {
            js_error(
                "invalidArgument",
                &format!("option sortOrder: {e}"),
                Some("sortOrder"),
            )
        })?;
        o = o.sort_order(order);
    }
    if let Some(n) = convert::int_prop(opts, "maxResults")? {
        o = o.max_results(n);
    }
    Ok(o)
}

operation! {
    #[doc = " `POST /api/v2/webchat/guest/conversations`: creates a chat (sends no JWT)."]
    postWebchatGuestConversations => post_webchat_guest_conversations(
        ; body body: CreateWebChatConversationRequest
    ) => post_webchat_guest_conversations_with_http_info
}

operation! {
    #[doc = " `GET …/{conversationId}/members`, options `{pageSize, pageNumber,"]
    #[doc = " excludeDisconnectedMembers}`."]
    getWebchatGuestConversationMembers => get_webchat_guest_conversation_members(
        conversation_id: "conversationId"; options opts = members_options
    ) => get_webchat_guest_conversation_members_with_http_info
}

operation! {
    #[doc = " `GET …/{conversationId}/members/{memberId}`."]
    getWebchatGuestConversationMember => get_webchat_guest_conversation_member(
        conversation_id: "conversationId", member_id: "memberId"
    ) => get_webchat_guest_conversation_member_with_http_info
}

operation! {
    #[doc = " `DELETE …/{conversationId}/members/{memberId}`: the guest leaves."]
    deleteWebchatGuestConversationMember => delete_webchat_guest_conversation_member(
        conversation_id: "conversationId", member_id: "memberId"
    ) => delete_webchat_guest_conversation_member_with_http_info
}

operation! {
    #[doc = " `POST …/{conversationId}/members/{memberId}/messages`, body `{body, bodyType}`."]
    postWebchatGuestConversationMemberMessages => post_webchat_guest_conversation_member_messages(
        conversation_id: "conversationId", member_id: "memberId"; body body: CreateWebChatMessageRequest
    ) => post_webchat_guest_conversation_member_messages_with_http_info
}

operation! {
    #[doc = " `POST …/{conversationId}/members/{memberId}/typing`."]
    postWebchatGuestConversationMemberTyping => post_webchat_guest_conversation_member_typing(
        conversation_id: "conversationId", member_id: "memberId"
    ) => post_webchat_guest_conversation_member_typing_with_http_info
}

operation! {
    #[doc = " `GET …/{conversationId}/messages`, options `{after, before, sortOrder, maxResults}`."]
    getWebchatGuestConversationMessages => get_webchat_guest_conversation_messages(
        conversation_id: "conversationId"; options opts = messages_options
    ) => get_webchat_guest_conversation_messages_with_http_info
}

operation! {
    #[doc = " `GET …/{conversationId}/messages/{messageId}`."]
    getWebchatGuestConversationMessage => get_webchat_guest_conversation_message(
        conversation_id: "conversationId", message_id: "messageId"
    ) => get_webchat_guest_conversation_message_with_http_info
}

operation! {
    #[doc = " `GET …/{conversationId}/mediarequests`."]
    getWebchatGuestConversationMediarequests => get_webchat_guest_conversation_mediarequests(
        conversation_id: "conversationId"
    ) => get_webchat_guest_conversation_mediarequests_with_http_info
}

operation! {
    #[doc = " `GET …/{conversationId}/mediarequests/{mediaRequestId}`."]
    getWebchatGuestConversationMediarequest => get_webchat_guest_conversation_mediarequest(
        conversation_id: "conversationId", media_request_id: "mediaRequestId"
    ) => get_webchat_guest_conversation_mediarequest_with_http_info
}

operation! {
    #[doc = " `PATCH …/{conversationId}/mediarequests/{mediaRequestId}`, body `{state, types, ...}`."]
    patchWebchatGuestConversationMediarequest => patch_webchat_guest_conversation_mediarequest(
        conversation_id: "conversationId", media_request_id: "mediaRequestId";
        body body: WebChatGuestMediaRequest
    ) => patch_webchat_guest_conversation_mediarequest_with_http_info
}
