//! Stopgap for wasm32 until the SDK crate builds there: the REST half of the SDK's API that
//! the bindings use (`ApiClient`, `WebChatApi`'s `*_with_http_info`, `ApiResponse`, `Error`),
//! on reqwest's wasm backend (the host's `fetch`). Same paths, headers and local checks as the
//! SDK; no retries, no event stream (so no `GuestChat`).

use guest_chat_model::{
    CreateWebChatConversationRequest, CreateWebChatConversationResponse,
    CreateWebChatMessageRequest, SortOrder, WebChatGuestMediaRequest,
    WebChatGuestMediaRequestEntityList, WebChatMemberInfo, WebChatMemberInfoEntityList,
    WebChatMessage, WebChatMessageEntityList, WebChatTyping,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

pub use guest_chat_model as model;

const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'(')
    .remove(b')');
const BASE: &str = "/api/v2/webchat/guest/conversations";

/// What can go wrong (the variants of the SDK's `Error` the bindings tell apart).
#[allow(dead_code)]
pub enum Error {
    Api(Box<ApiError>),
    Timeout(String),
    Connect(String),
    Decode {
        status: u16,
        path: String,
        message: String,
        body: String,
    },
    InvalidArgument {
        name: &'static str,
        reason: String,
    },
    InvalidEnvironment(String),
    MissingJwt {
        operation: &'static str,
    },
    Tls(String),
    Transport(String),
    EventStream(String),
    DeliveryUnknown {
        attempts: u32,
    },
    WebMessaging(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => write!(f, "HTTP {} {}", e.status, e.status_text),
            Error::Timeout(m) => write!(f, "request timed out: {m}"),
            Error::Connect(m) => write!(f, "cannot connect: {m}"),
            Error::Decode {
                status,
                path,
                message,
                ..
            } => write!(
                f,
                "cannot decode the HTTP {status} response at `{path}`: {message}"
            ),
            Error::InvalidArgument { name, reason } => {
                write!(f, "invalid argument `{name}`: {reason}")
            }
            Error::InvalidEnvironment(m) => write!(f, "invalid environment: {m}"),
            Error::MissingJwt { operation } => write!(
                f,
                "{operation} needs the guest JWT, but none is set: call setJwt() with the jwt of the create-conversation response"
            ),
            Error::Tls(m) => write!(f, "TLS handshake failed: {m}"),
            Error::Transport(m) => write!(f, "transport error: {m}"),
            Error::EventStream(m) => write!(f, "event stream: {m}"),
            Error::DeliveryUnknown { attempts } => {
                write!(f, "the message may or may not have been delivered ({attempts})")
            }
            Error::WebMessaging(m) => write!(f, "web messaging: {m}"),
        }
    }
}

impl Error {
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// A non-2xx answer.
pub struct ApiError {
    pub status: u16,
    pub status_text: String,
    pub headers: http::HeaderMap,
    pub text: String,
    pub correlation_id: Option<String>,
}

/// A 2xx answer.
pub struct ApiResponse<T> {
    pub status: u16,
    pub status_text: String,
    pub headers: http::HeaderMap,
    #[allow(dead_code)]
    pub body: T,
    pub text: String,
}

impl<T> ApiResponse<T> {
    pub fn correlation_id(&self) -> Option<&str> {
        self.headers
            .get("inin-correlation-id")
            .and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone, Copy, Default)]
pub struct RetryPolicy;

impl RetryPolicy {
    pub fn max_retries(self, _n: u32) -> Self {
        self
    }
}

#[derive(Clone)]
pub struct Environment(String);

impl Environment {
    pub fn base_url(&self) -> &str {
        &self.0
    }

    fn parse(input: &str) -> Result<Environment, Error> {
        let s = input.trim().trim_end_matches('/');
        if s.is_empty() {
            return Err(Error::InvalidEnvironment("empty".into()));
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            return Ok(Environment(s.to_owned()));
        }
        let domain = s.strip_prefix("api.").unwrap_or(s);
        Ok(Environment(format!("https://api.{domain}")))
    }
}

struct Inner {
    env: Environment,
    jwt: Option<String>,
}

#[derive(Clone)]
pub struct ApiClient {
    inner: Rc<RefCell<Inner>>,
    http: reqwest::Client,
}

pub struct ApiClientBuilder {
    env: Option<Environment>,
}

impl ApiClientBuilder {
    pub fn no_config_file(self) -> Self {
        self
    }
    pub fn retry(self, _r: RetryPolicy) -> Self {
        self
    }
    pub fn environment(mut self, env: Environment) -> Self {
        self.env = Some(env);
        self
    }
    pub fn timeout(self, _t: Duration) -> Self {
        self
    }
    pub fn build(self) -> Result<ApiClient, Error> {
        Ok(ApiClient {
            inner: Rc::new(RefCell::new(Inner {
                env: self
                    .env
                    .unwrap_or_else(|| Environment("https://api.mypurecloud.com".into())),
                jwt: None,
            })),
            http: reqwest::Client::new(),
        })
    }
}

impl ApiClient {
    pub fn builder() -> ApiClientBuilder {
        ApiClientBuilder { env: None }
    }
    pub fn environment(&self) -> Environment {
        self.inner.borrow().env.clone()
    }
    pub fn set_environment(&self, env: &str) -> Result<(), Error> {
        self.inner.borrow_mut().env = Environment::parse(env)?;
        Ok(())
    }
    pub fn set_jwt(&self, jwt: String) {
        self.inner.borrow_mut().jwt = Some(jwt);
    }
    pub fn clear_jwt(&self) {
        self.inner.borrow_mut().jwt = None;
    }
    pub fn jwt(&self) -> Option<String> {
        self.inner.borrow().jwt.clone()
    }
}

pub struct GetMembersOptions(Vec<(&'static str, String)>);

impl GetMembersOptions {
    pub fn new() -> Self {
        GetMembersOptions(Vec::new())
    }
    pub fn page_size(mut self, n: i32) -> Self {
        self.0.push(("pageSize", n.to_string()));
        self
    }
    pub fn page_number(mut self, n: i32) -> Self {
        self.0.push(("pageNumber", n.to_string()));
        self
    }
    pub fn exclude_disconnected_members(mut self, on: bool) -> Self {
        self.0.push(("excludeDisconnectedMembers", on.to_string()));
        self
    }
}

pub struct GetMessagesOptions(Vec<(&'static str, String)>);

impl GetMessagesOptions {
    pub fn new() -> Self {
        GetMessagesOptions(Vec::new())
    }
    pub fn after(mut self, s: String) -> Self {
        self.0.push(("after", s));
        self
    }
    pub fn before(mut self, s: String) -> Self {
        self.0.push(("before", s));
        self
    }
    pub fn sort_order(mut self, o: SortOrder) -> Self {
        let s = serde_json::to_value(o)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.0.push(("sortOrder", s));
        self
    }
    pub fn max_results(mut self, n: i32) -> Self {
        self.0.push(("maxResults", n.to_string()));
        self
    }
}

fn query(pairs: &[(&'static str, String)]) -> Option<String> {
    if pairs.is_empty() {
        return None;
    }
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    Some(ser.finish())
}

fn path(template_ids: &[(&'static str, &str)], suffix: &[&str]) -> Result<String, Error> {
    let mut out = String::from(BASE);
    for (i, (name, value)) in template_ids.iter().enumerate() {
        if value.is_empty() || *value == "." || *value == ".." {
            return Err(Error::InvalidArgument {
                name,
                reason: "must not be empty, `.` or `..`".into(),
            });
        }
        out.push('/');
        out.extend(utf8_percent_encode(value, PATH_SEGMENT));
        if let Some(s) = suffix.get(i) {
            out.push_str(s);
        }
    }
    Ok(out)
}

pub struct WebChatApi {
    client: ApiClient,
}

impl WebChatApi {
    pub fn new(client: &ApiClient) -> Self {
        WebChatApi {
            client: client.clone(),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: reqwest::Method,
        path: String,
        query: Option<String>,
        body: Option<String>,
        jwt_needed: bool,
    ) -> Result<ApiResponse<T>, Error> {
        let (base, jwt) = {
            let inner = self.client.inner.borrow();
            (inner.env.0.clone(), inner.jwt.clone())
        };
        let mut url = base + &path;
        if let Some(q) = query {
            url.push('?');
            url.push_str(&q);
        }
        let mut req = self
            .client
            .http
            .request(method, url)
            .header("Accept", "application/json");
        if jwt_needed {
            match jwt {
                Some(j) => req = req.header("Authorization", format!("Bearer {j}")),
                None => return Err(Error::MissingJwt { operation }),
            }
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Error::Connect(e.to_string()))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp
            .text()
            .await
            .map_err(|e| Error::Transport(e.to_string()))?;
        let status_text = status.canonical_reason().unwrap_or("").to_owned();
        if !status.is_success() {
            let correlation_id = headers
                .get("inin-correlation-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            return Err(Error::Api(Box::new(ApiError {
                status: status.as_u16(),
                status_text,
                headers,
                text,
                correlation_id,
            })));
        }
        let source = if text.trim().is_empty() {
            "null"
        } else {
            &text
        };
        let body = serde_json::from_str(source).map_err(|e| Error::Decode {
            status: status.as_u16(),
            path: ".".into(),
            message: e.to_string(),
            body: String::new(),
        })?;
        Ok(ApiResponse {
            status: status.as_u16(),
            status_text,
            headers,
            body,
            text,
        })
    }

    fn json<T: serde::Serialize>(body: &T) -> Result<String, Error> {
        serde_json::to_string(body).map_err(|e| Error::InvalidArgument {
            name: "body",
            reason: e.to_string(),
        })
    }

    pub async fn post_webchat_guest_conversations_with_http_info(
        &self,
        body: &CreateWebChatConversationRequest,
    ) -> Result<ApiResponse<CreateWebChatConversationResponse>, Error> {
        let b = Self::json(body)?;
        self.call(
            "postWebchatGuestConversations",
            reqwest::Method::POST,
            BASE.into(),
            None,
            Some(b),
            false,
        )
        .await
    }

    pub async fn get_webchat_guest_conversation_members_with_http_info(
        &self,
        c: &str,
        o: &GetMembersOptions,
    ) -> Result<ApiResponse<WebChatMemberInfoEntityList>, Error> {
        let p = path(&[("conversationId", c)], &["/members"])?;
        self.call(
            "getWebchatGuestConversationMembers",
            reqwest::Method::GET,
            p,
            query(&o.0),
            None,
            true,
        )
        .await
    }

    pub async fn get_webchat_guest_conversation_member_with_http_info(
        &self,
        c: &str,
        m: &str,
    ) -> Result<ApiResponse<WebChatMemberInfo>, Error> {
        let p = path(&[("conversationId", c), ("memberId", m)], &["/members"])?;
        self.call(
            "getWebchatGuestConversationMember",
            reqwest::Method::GET,
            p,
            None,
            None,
            true,
        )
        .await
    }

    pub async fn delete_webchat_guest_conversation_member_with_http_info(
        &self,
        c: &str,
        m: &str,
    ) -> Result<ApiResponse<()>, Error> {
        let p = path(&[("conversationId", c), ("memberId", m)], &["/members"])?;
        self.call::<Option<serde_json::Value>>(
            "deleteWebchatGuestConversationMember",
            reqwest::Method::DELETE,
            p,
            None,
            None,
            true,
        )
        .await
        .map(|r| ApiResponse {
            status: r.status,
            status_text: r.status_text,
            headers: r.headers,
            body: (),
            text: r.text,
        })
    }

    pub async fn post_webchat_guest_conversation_member_messages_with_http_info(
        &self,
        c: &str,
        m: &str,
        body: &CreateWebChatMessageRequest,
    ) -> Result<ApiResponse<WebChatMessage>, Error> {
        let text = body.body.as_deref().unwrap_or("");
        if text.is_empty()
            || guest_chat_model::message_length(text) > guest_chat_model::MAX_MESSAGE_CHARS
        {
            return Err(Error::InvalidArgument {
                name: "body",
                reason: "a message body must have 1 to 4000 characters".into(),
            });
        }
        let p = path(
            &[("conversationId", c), ("memberId", m)],
            &["/members", "/messages"],
        )?;
        let b = Self::json(body)?;
        self.call(
            "postWebchatGuestConversationMemberMessages",
            reqwest::Method::POST,
            p,
            None,
            Some(b),
            true,
        )
        .await
    }

    pub async fn post_webchat_guest_conversation_member_typing_with_http_info(
        &self,
        c: &str,
        m: &str,
    ) -> Result<ApiResponse<WebChatTyping>, Error> {
        let p = path(
            &[("conversationId", c), ("memberId", m)],
            &["/members", "/typing"],
        )?;
        self.call(
            "postWebchatGuestConversationMemberTyping",
            reqwest::Method::POST,
            p,
            None,
            None,
            true,
        )
        .await
    }

    pub async fn get_webchat_guest_conversation_messages_with_http_info(
        &self,
        c: &str,
        o: &GetMessagesOptions,
    ) -> Result<ApiResponse<WebChatMessageEntityList>, Error> {
        let p = path(&[("conversationId", c)], &["/messages"])?;
        self.call(
            "getWebchatGuestConversationMessages",
            reqwest::Method::GET,
            p,
            query(&o.0),
            None,
            true,
        )
        .await
    }

    pub async fn get_webchat_guest_conversation_message_with_http_info(
        &self,
        c: &str,
        m: &str,
    ) -> Result<ApiResponse<WebChatMessage>, Error> {
        let p = path(&[("conversationId", c), ("messageId", m)], &["/messages"])?;
        self.call(
            "getWebchatGuestConversationMessage",
            reqwest::Method::GET,
            p,
            None,
            None,
            true,
        )
        .await
    }

    pub async fn get_webchat_guest_conversation_mediarequests_with_http_info(
        &self,
        c: &str,
    ) -> Result<ApiResponse<WebChatGuestMediaRequestEntityList>, Error> {
        let p = path(&[("conversationId", c)], &["/mediarequests"])?;
        self.call(
            "getWebchatGuestConversationMediarequests",
            reqwest::Method::GET,
            p,
            None,
            None,
            true,
        )
        .await
    }

    pub async fn get_webchat_guest_conversation_mediarequest_with_http_info(
        &self,
        c: &str,
        m: &str,
    ) -> Result<ApiResponse<WebChatGuestMediaRequest>, Error> {
        let p = path(
            &[("conversationId", c), ("mediaRequestId", m)],
            &["/mediarequests"],
        )?;
        self.call(
            "getWebchatGuestConversationMediarequest",
            reqwest::Method::GET,
            p,
            None,
            None,
            true,
        )
        .await
    }

    pub async fn patch_webchat_guest_conversation_mediarequest_with_http_info(
        &self,
        c: &str,
        m: &str,
        body: &WebChatGuestMediaRequest,
    ) -> Result<ApiResponse<WebChatGuestMediaRequest>, Error> {
        let p = path(
            &[("conversationId", c), ("mediaRequestId", m)],
            &["/mediarequests"],
        )?;
        let b = Self::json(body)?;
        self.call(
            "patchWebchatGuestConversationMediarequest",
            reqwest::Method::PATCH,
            p,
            None,
            Some(b),
            true,
        )
        .await
    }
}
