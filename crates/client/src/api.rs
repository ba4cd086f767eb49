//! [`WebChatApi`]: the 11 guest chat operations, one async method each, plus a
//! `*_with_http_info` twin returning an [`ApiResponse`] with status and headers.
//!
//! Paths, methods and parameter names live in one table, [`OPERATIONS`] (in
//! [`crate::routes`], re-exported here), which the methods use to build their requests and
//! which a contract test compares with the swagger.

use crate::client::ApiClient;
use crate::error::Error;
use crate::secret::mask_secrets;
use crate::transport::rest::RawResponse;
use bytes::Bytes;
use guest_chat_model::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::future::Future;

pub use crate::routes::{
    OperationSpec, DELETE_MEMBER, GET_MEDIAREQUEST, GET_MEDIAREQUESTS, GET_MEMBER, GET_MEMBERS,
    GET_MESSAGE, GET_MESSAGES, OPERATIONS, PATCH_MEDIAREQUEST, POST_CONVERSATIONS, POST_MESSAGE,
    POST_TYPING,
};

/// Query options of [`WebChatApi::get_webchat_guest_conversation_members`].
///
/// Unset options are not sent (the service applies its defaults: page size 25, page 1,
/// disconnected members included); `false` is sent as `false`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetMembersOptions {
    /// `pageSize` (service default 25).
    pub page_size: Option<i32>,
    /// `pageNumber` (service default 1).
    pub page_number: Option<i32>,
    /// `excludeDisconnectedMembers` (service default false).
    pub exclude_disconnected_members: Option<bool>,
}

impl GetMembersOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `pageSize`.
    pub fn page_size(mut self, n: i32) -> Self {
        self.page_size = Some(n);
        self
    }
    /// Sets `pageNumber`.
    pub fn page_number(mut self, n: i32) -> Self {
        self.page_number = Some(n);
        self
    }
    /// Sets `excludeDisconnectedMembers`.
    pub fn exclude_disconnected_members(mut self, on: bool) -> Self {
        self.exclude_disconnected_members = Some(on);
        self
    }

    fn query(&self) -> String {
        let q = GET_MEMBERS.query_params;
        encode_query(&[
            (q[0], self.page_size.map(|v| v.to_string())),
            (q[1], self.page_number.map(|v| v.to_string())),
            (
                q[2],
                self.exclude_disconnected_members.map(|v| v.to_string()),
            ),
        ])
    }
}

/// Query options of [`WebChatApi::get_webchat_guest_conversation_messages`].
///
/// Unset options are not sent (service defaults: ascending, 100 results).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetMessagesOptions {
    /// `after`: only messages after this message id.
    pub after: Option<String>,
    /// `before`: only messages before this message id.
    pub before: Option<String>,
    /// `sortOrder` (service default ascending).
    pub sort_order: Option<SortOrder>,
    /// `maxResults`, 1 to 100 (service default 100).
    pub max_results: Option<i32>,
}

impl GetMessagesOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `after`.
    pub fn after(mut self, message_id: impl Into<String>) -> Self {
        self.after = Some(message_id.into());
        self
    }
    /// Sets `before`.
    pub fn before(mut self, message_id: impl Into<String>) -> Self {
        self.before = Some(message_id.into());
        self
    }
    /// Sets `sortOrder`.
    pub fn sort_order(mut self, order: SortOrder) -> Self {
        self.sort_order = Some(order);
        self
    }
    /// Sets `maxResults`.
    pub fn max_results(mut self, n: i32) -> Self {
        self.max_results = Some(n);
        self
    }

    fn query(&self) -> String {
        let q = GET_MESSAGES.query_params;
        encode_query(&[
            (q[0], self.after.clone()),
            (q[1], self.before.clone()),
            (
                q[2],
                self.sort_order.as_ref().map(|s| s.as_str().to_owned()),
            ),
            (q[3], self.max_results.map(|v| v.to_string())),
        ])
    }
}

fn encode_query(pairs: &[(&str, Option<String>)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            ser.append_pair(k, v);
        }
    }
    ser.finish()
}

/// A successful answer with its status and headers (the JavaScript SDK's extended response).
#[derive(Clone)]
#[non_exhaustive]
pub struct ApiResponse<T> {
    /// HTTP status (200, 204).
    pub status: u16,
    /// Its reason phrase.
    pub status_text: String,
    /// The response headers (`inin-correlation-id`, `inin-ratelimit-*` ...).
    pub headers: http::HeaderMap,
    /// The decoded body.
    pub body: T,
    /// The raw body text.
    pub text: String,
}

impl<T> ApiResponse<T> {
    /// The `ININ-Correlation-Id` header.
    pub fn correlation_id(&self) -> Option<&str> {
        crate::error::header_str(&self.headers, "inin-correlation-id")
    }
}

impl<T: fmt::Debug> fmt::Debug for ApiResponse<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The create response carries the JWT (in `jwt` and `eventStreamUri`): mask it.
        let body = format!("{:?}", self.body);
        f.debug_struct("ApiResponse")
            .field("status", &self.status)
            .field("status_text", &self.status_text)
            .field("headers", &self.headers)
            .field("body", &format_args!("{}", mask_secrets(&body)))
            .field("text", &mask_secrets(&self.text))
            .finish()
    }
}

/// A decoded 2xx answer with the raw answer it came from: the plain methods keep only the
/// body; the `*_with_http_info` twins make an [`ApiResponse`] (the status text and a copy of
/// the body's text are only made for them).
struct Decoded<T> {
    raw: RawResponse,
    body: T,
}

impl<T> Decoded<T> {
    fn into_response(self) -> ApiResponse<T> {
        let Decoded { raw, body } = self;
        ApiResponse {
            status: raw.status.as_u16(),
            status_text: raw.status.canonical_reason().unwrap_or("").to_owned(),
            headers: raw.headers,
            body,
            // `from_utf8` first: the lossy conversion walks the text far more slowly.
            text: match std::str::from_utf8(&raw.body) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(&raw.body).into_owned(),
            },
        }
    }
}

/// The guest chat operations (the JavaScript SDK's `WebChatApi`). Cheap to create and clone.
#[derive(Clone, Debug)]
pub struct WebChatApi {
    client: ApiClient,
}

impl WebChatApi {
    /// The operations, sent through `client` (a cheap clone is kept).
    pub fn new(client: &ApiClient) -> Self {
        WebChatApi {
            client: client.clone(),
        }
    }

    /// The client in use.
    pub fn client(&self) -> &ApiClient {
        &self.client
    }

    /// One operation: `body` is the request body as serialised (or why it could not be), so
    /// that the `*_decoded` methods need no `async` layer of their own (each layer moves the
    /// whole future once more on every call).
    async fn call<T: DeserializeOwned, const N: usize>(
        &self,
        spec: &'static OperationSpec,
        ids: [&str; N],
        query: Option<String>,
        body: Result<Option<Bytes>, Error>,
    ) -> Result<Decoded<T>, Error> {
        let body = body?;
        let prepared = self.client.prepare(spec, &ids, query.as_deref())?;
        let raw = self.client.execute(&prepared, body).await?;
        let status = raw.status.as_u16();
        let decode_error = |path: String, message: String| Error::Decode {
            status,
            path,
            message: mask_secrets(&message).into_owned(),
            body: mask_secrets(&String::from_utf8_lossy(&raw.body)).into_owned(),
        };
        // The plain decoder first: tracking the JSON path costs on every call, and the path is
        // only needed for the error, so a body that fails is decoded again to find it.
        #[cfg(not(target_arch = "wasm32"))]
        let value: T = match serde_json::from_slice(&raw.body) {
            Ok(value) => value,
            Err(_) => {
                let mut de = serde_json::Deserializer::from_slice(&raw.body);
                let value: T = serde_path_to_error::deserialize(&mut de)
                    .map_err(|e| decode_error(e.path().to_string(), e.inner().to_string()))?;
                de.end()
                    .map_err(|e| decode_error(".".into(), e.to_string()))?;
                value
            }
        };
        // In a browser, size first: one pass, without the second decoder (instantiated per
        // model, it weighed 8% of the JavaScript package). The path is `.` and serde_json's
        // message says what is wrong (a missing field or an unexpected type, by name) and
        // where (line and column).
        #[cfg(target_arch = "wasm32")]
        let value: T = serde_json::from_slice(&raw.body)
            .map_err(|e| decode_error(".".into(), e.to_string()))?;
        Ok(Decoded { raw, body: value })
    }

    async fn call_empty<const N: usize>(
        &self,
        spec: &'static OperationSpec,
        ids: [&str; N],
    ) -> Result<Decoded<()>, Error> {
        let prepared = self.client.prepare(spec, &ids, None)?;
        let raw = self.client.execute(&prepared, None).await?;
        Ok(Decoded { raw, body: () })
    }

    /// Creates a chat: the guest member, its JWT and the event stream URI. Sends no JWT.
    ///
    /// The chat is not routed to an agent until the event stream is attached.
    pub async fn post_webchat_guest_conversations(
        &self,
        body: &CreateWebChatConversationRequest,
    ) -> Result<CreateWebChatConversationResponse, Error> {
        self.post_webchat_guest_conversations_decoded(body)
            .await
            .map(|r| r.body)
    }

    /// [`Self::post_webchat_guest_conversations`] with status and headers.
    pub async fn post_webchat_guest_conversations_with_http_info(
        &self,
        body: &CreateWebChatConversationRequest,
    ) -> Result<ApiResponse<CreateWebChatConversationResponse>, Error> {
        self.post_webchat_guest_conversations_decoded(body)
            .await
            .map(Decoded::into_response)
    }

    fn post_webchat_guest_conversations_decoded<'a>(
        &'a self,
        body: &CreateWebChatConversationRequest,
    ) -> impl Future<Output = Result<Decoded<CreateWebChatConversationResponse>, Error>> + 'a {
        let bytes = to_bytes(body).map(Some);
        self.call(&POST_CONVERSATIONS, [], None, bytes)
    }

    /// Lists the members of the chat.
    pub async fn get_webchat_guest_conversation_members(
        &self,
        conversation_id: &str,
        options: &GetMembersOptions,
    ) -> Result<WebChatMemberInfoEntityList, Error> {
        self.get_webchat_guest_conversation_members_decoded(conversation_id, options)
            .await
            .map(|r| r.body)
    }

    /// [`Self::get_webchat_guest_conversation_members`] with status and headers.
    pub async fn get_webchat_guest_conversation_members_with_http_info(
        &self,
        conversation_id: &str,
        options: &GetMembersOptions,
    ) -> Result<ApiResponse<WebChatMemberInfoEntityList>, Error> {
        self.get_webchat_guest_conversation_members_decoded(conversation_id, options)
            .await
            .map(Decoded::into_response)
    }

    fn get_webchat_guest_conversation_members_decoded<'a>(
        &'a self,
        conversation_id: &'a str,
        options: &GetMembersOptions,
    ) -> impl Future<Output = Result<Decoded<WebChatMemberInfoEntityList>, Error>> + 'a {
        self.call(
            &GET_MEMBERS,
            [conversation_id],
            Some(options.query()),
            Ok(None),
        )
    }

    /// One member of the chat (the only way to learn a member's role and name).
    pub async fn get_webchat_guest_conversation_member(
        &self,
        conversation_id: &str,
        member_id: &str,
    ) -> Result<WebChatMemberInfo, Error> {
        self.get_webchat_guest_conversation_member_decoded(conversation_id, member_id)
            .await
            .map(|r| r.body)
    }

    /// [`Self::get_webchat_guest_conversation_member`] with status and headers.
    pub async fn get_webchat_guest_conversation_member_with_http_info(
        &self,
        conversation_id: &str,
        member_id: &str,
    ) -> Result<ApiResponse<WebChatMemberInfo>, Error> {
        self.get_webchat_guest_conversation_member_decoded(conversation_id, member_id)
            .await
            .map(Decoded::into_response)
    }

    fn get_webchat_guest_conversation_member_decoded<'a>(
        &'a self,
        conversation_id: &'a str,
        member_id: &'a str,
    ) -> impl Future<Output = Result<Decoded<WebChatMemberInfo>, Error>> + 'a {
        self.call(&GET_MEMBER, [conversation_id, member_id], None, Ok(None))
    }

    /// Removes the guest from the chat (how a guest leaves). The service answers 204.
    pub async fn delete_webchat_guest_conversation_member(
        &self,
        conversation_id: &str,
        member_id: &str,
    ) -> Result<(), Error> {
        self.delete_webchat_guest_conversation_member_decoded(conversation_id, member_id)
            .await
            .map(|_| ())
    }

    /// [`Self::delete_webchat_guest_conversation_member`] with status and headers.
    pub async fn delete_webchat_guest_conversation_member_with_http_info(
        &self,
        conversation_id: &str,
        member_id: &str,
    ) -> Result<ApiResponse<()>, Error> {
        self.delete_webchat_guest_conversation_member_decoded(conversation_id, member_id)
            .await
            .map(Decoded::into_response)
    }

    fn delete_webchat_guest_conversation_member_decoded<'a>(
        &'a self,
        conversation_id: &'a str,
        member_id: &'a str,
    ) -> impl Future<Output = Result<Decoded<()>, Error>> + 'a {
        self.call_empty(&DELETE_MEMBER, [conversation_id, member_id])
    }

    /// Sends a message as the guest.
    ///
    /// Refused locally with [`Error::InvalidArgument`] (nothing is sent) when `body` is
    /// missing or empty or longer than [`MAX_MESSAGE_CHARS`] characters (UTF-16 code units,
    /// as the service counts: see [`message_length`](crate::model::message_length())): the emulator and
    /// the service would answer 400 (`chat.error.notnull.createconversationmessagerequest.body`
    /// or `constraint.validation`).
    pub async fn post_webchat_guest_conversation_member_messages(
        &self,
        conversation_id: &str,
        member_id: &str,
        body: &CreateWebChatMessageRequest,
    ) -> Result<WebChatMessage, Error> {
        self.post_webchat_guest_conversation_member_messages_decoded(
            conversation_id,
            member_id,
            body,
        )
        .await
        .map(|r| r.body)
    }

    /// [`Self::post_webchat_guest_conversation_member_messages`] with status and headers.
    pub async fn post_webchat_guest_conversation_member_messages_with_http_info(
        &self,
        conversation_id: &str,
        member_id: &str,
        body: &CreateWebChatMessageRequest,
    ) -> Result<ApiResponse<WebChatMessage>, Error> {
        self.post_webchat_guest_conversation_member_messages_decoded(
            conversation_id,
            member_id,
            body,
        )
        .await
        .map(Decoded::into_response)
    }

    fn post_webchat_guest_conversation_member_messages_decoded<'a>(
        &'a self,
        conversation_id: &'a str,
        member_id: &'a str,
        body: &CreateWebChatMessageRequest,
    ) -> impl Future<Output = Result<Decoded<WebChatMessage>, Error>> + 'a {
        let bytes = check_message(body).and_then(|()| to_bytes(body)).map(Some);
        self.call(&POST_MESSAGE, [conversation_id, member_id], None, bytes)
    }

    /// Sends a one-shot typing indicator (there is no "stopped typing").
    pub async fn post_webchat_guest_conversation_member_typing(
        &self,
        conversation_id: &str,
        member_id: &str,
    ) -> Result<WebChatTyping, Error> {
        self.post_webchat_guest_conversation_member_typing_decoded(conversation_id, member_id)
            .await
            .map(|r| r.body)
    }

    /// [`Self::post_webchat_guest_conversation_member_typing`] with status and headers.
    pub async fn post_webchat_guest_conversation_member_typing_with_http_info(
        &self,
        conversation_id: &str,
        member_id: &str,
    ) -> Result<ApiResponse<WebChatTyping>, Error> {
        self.post_webchat_guest_conversation_member_typing_decoded(conversation_id, member_id)
            .await
            .map(Decoded::into_response)
    }

    fn post_webchat_guest_conversation_member_typing_decoded<'a>(
        &'a self,
        conversation_id: &'a str,
        member_id: &'a str,
    ) -> impl Future<Output = Result<Decoded<WebChatTyping>, Error>> + 'a {
        self.call(&POST_TYPING, [conversation_id, member_id], None, Ok(None))
    }

    /// The message history (including join/leave notices).
    pub async fn get_webchat_guest_conversation_messages(
        &self,
        conversation_id: &str,
        options: &GetMessagesOptions,
    ) -> Result<WebChatMessageEntityList, Error> {
        self.get_webchat_guest_conversation_messages_decoded(conversation_id, options)
            .await
            .map(|r| r.body)
    }

    /// [`Self::get_webchat_guest_conversation_messages`] with status and headers.
    pub async fn get_webchat_guest_conversation_messages_with_http_info(
        &self,
        conversation_id: &str,
        options: &GetMessagesOptions,
    ) -> Result<ApiResponse<WebChatMessageEntityList>, Error> {
        self.get_webchat_guest_conversation_messages_decoded(conversation_id, options)
            .await
            .map(Decoded::into_response)
    }

    fn get_webchat_guest_conversation_messages_decoded<'a>(
        &'a self,
        conversation_id: &'a str,
        options: &GetMessagesOptions,
    ) -> impl Future<Output = Result<Decoded<WebChatMessageEntityList>, Error>> + 'a {
        self.call(
            &GET_MESSAGES,
            [conversation_id],
            Some(options.query()),
            Ok(None),
        )
    }

    /// One message.
    pub async fn get_webchat_guest_conversation_message(
        &self,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<WebChatMessage, Error> {
        self.get_webchat_guest_conversation_message_decoded(conversation_id, message_id)
            .await
            .map(|r| r.body)
    }

    /// [`Self::get_webchat_guest_conversation_message`] with status and headers.
    pub async fn get_webchat_guest_conversation_message_with_http_info(
        &self,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<ApiResponse<WebChatMessage>, Error> {
        self.get_webchat_guest_conversation_message_decoded(conversation_id, message_id)
            .await
            .map(Decoded::into_response)
    }

    fn get_webchat_guest_conversation_message_decoded<'a>(
        &'a self,
        conversation_id: &'a str,
        message_id: &'a str,
    ) -> impl Future<Output = Result<Decoded<WebChatMessage>, Error>> + 'a {
        self.call(&GET_MESSAGE, [conversation_id, message_id], None, Ok(None))
    }

    /// The media requests (co-browse, screen share) of the chat.
    pub async fn get_webchat_guest_conversation_mediarequests(
        &self,
        conversation_id: &str,
    ) -> Result<WebChatGuestMediaRequestEntityList, Error> {
        self.get_webchat_guest_conversation_mediarequests_decoded(conversation_id)
            .await
            .map(|r| r.body)
    }

    /// [`Self::get_webchat_guest_conversation_mediarequests`] with status and headers.
    pub async fn get_webchat_guest_conversation_mediarequests_with_http_info(
        &self,
        conversation_id: &str,
    ) -> Result<ApiResponse<WebChatGuestMediaRequestEntityList>, Error> {
        self.get_webchat_guest_conversation_mediarequests_decoded(conversation_id)
            .await
            .map(Decoded::into_response)
    }

    fn get_webchat_guest_conversation_mediarequests_decoded<'a>(
        &'a self,
        conversation_id: &'a str,
    ) -> impl Future<Output = Result<Decoded<WebChatGuestMediaRequestEntityList>, Error>> + 'a {
        self.call(&GET_MEDIAREQUESTS, [conversation_id], None, Ok(None))
    }

    /// One media request.
    pub async fn get_webchat_guest_conversation_mediarequest(
        &self,
        conversation_id: &str,
        media_request_id: &str,
    ) -> Result<WebChatGuestMediaRequest, Error> {
        self.get_webchat_guest_conversation_mediarequest_decoded(conversation_id, media_request_id)
            .await
            .map(|r| r.body)
    }

    /// [`Self::get_webchat_guest_conversation_mediarequest`] with status and headers.
    pub async fn get_webchat_guest_conversation_mediarequest_with_http_info(
        &self,
        conversation_id: &str,
        media_request_id: &str,
    ) -> Result<ApiResponse<WebChatGuestMediaRequest>, Error> {
        self.get_webchat_guest_conversation_mediarequest_decoded(conversation_id, media_request_id)
            .await
            .map(Decoded::into_response)
    }

    fn get_webchat_guest_conversation_mediarequest_decoded<'a>(
        &'a self,
        conversation_id: &'a str,
        media_request_id: &'a str,
    ) -> impl Future<Output = Result<Decoded<WebChatGuestMediaRequest>, Error>> + 'a {
        self.call(
            &GET_MEDIAREQUEST,
            [conversation_id, media_request_id],
            None,
            Ok(None),
        )
    }

    /// Answers a media request (state `ACCEPTED`, `DECLINED` or `ERRORED`).
    pub async fn patch_webchat_guest_conversation_mediarequest(
        &self,
        conversation_id: &str,
        media_request_id: &str,
        body: &WebChatGuestMediaRequest,
    ) -> Result<WebChatGuestMediaRequest, Error> {
        self.patch_webchat_guest_conversation_mediarequest_decoded(
            conversation_id,
            media_request_id,
            body,
        )
        .await
        .map(|r| r.body)
    }

    /// [`Self::patch_webchat_guest_conversation_mediarequest`] with status and headers.
    pub async fn patch_webchat_guest_conversation_mediarequest_with_http_info(
        &self,
        conversation_id: &str,
        media_request_id: &str,
        body: &WebChatGuestMediaRequest,
    ) -> Result<ApiResponse<WebChatGuestMediaRequest>, Error> {
        self.patch_webchat_guest_conversation_mediarequest_decoded(
            conversation_id,
            media_request_id,
            body,
        )
        .await
        .map(Decoded::into_response)
    }

    fn patch_webchat_guest_conversation_mediarequest_decoded<'a>(
        &'a self,
        conversation_id: &'a str,
        media_request_id: &'a str,
        body: &WebChatGuestMediaRequest,
    ) -> impl Future<Output = Result<Decoded<WebChatGuestMediaRequest>, Error>> + 'a {
        let bytes = to_bytes(body).map(Some);
        self.call(
            &PATCH_MEDIAREQUEST,
            [conversation_id, media_request_id],
            None,
            bytes,
        )
    }
}

fn check_message(body: &CreateWebChatMessageRequest) -> Result<(), Error> {
    let text = body.body.as_deref().unwrap_or("");
    if text.is_empty() {
        return Err(Error::InvalidArgument {
            name: "body",
            reason: "the message body is required and must not be empty".into(),
        });
    }
    let units = crate::model::message_length(text);
    if units > MAX_MESSAGE_CHARS {
        return Err(Error::InvalidArgument {
            name: "body",
            reason: format!(
                "{units} characters (UTF-16 code units, as the service counts them: an emoji \
                 counts 2), the service accepts at most {MAX_MESSAGE_CHARS}"
            ),
        });
    }
    Ok(())
}

fn to_bytes<T: Serialize>(body: &T) -> Result<Bytes, Error> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| Error::InvalidArgument {
            name: "body",
            reason: format!("cannot be serialised: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_options_are_not_sent() {
        assert_eq!(GetMembersOptions::new().query(), "");
        assert_eq!(
            GetMembersOptions::new()
                .exclude_disconnected_members(false)
                .page_size(0)
                .query(),
            "pageSize=0&excludeDisconnectedMembers=false"
        );
        assert_eq!(
            GetMessagesOptions::new()
                .after("a b&c")
                .sort_order(SortOrder::Descending)
                .max_results(5)
                .query(),
            "after=a+b%26c&sortOrder=descending&maxResults=5"
        );
    }

    #[test]
    fn message_limits_count_characters() {
        let ok = CreateWebChatMessageRequest::new("é".repeat(MAX_MESSAGE_CHARS));
        assert!(check_message(&ok).is_ok());
        let long = CreateWebChatMessageRequest::new("é".repeat(MAX_MESSAGE_CHARS + 1));
        assert!(check_message(&long).is_err());
        assert!(check_message(&CreateWebChatMessageRequest::default()).is_err());
        // The service counts UTF-16 code units: an astral-plane emoji counts 2.
        let emoji = CreateWebChatMessageRequest::new("😀".repeat(MAX_MESSAGE_CHARS / 2));
        assert!(check_message(&emoji).is_ok());
        let emoji = CreateWebChatMessageRequest::new("😀".repeat(MAX_MESSAGE_CHARS / 2 + 1));
        assert!(check_message(&emoji).is_err());
        assert!(check_message(&CreateWebChatMessageRequest::new("")).is_err());
    }
}
