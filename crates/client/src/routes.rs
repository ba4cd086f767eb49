//! The route table: every operation of the guest chat contract as the SDK sends it (method,
//! path template, parameters, whether it needs the JWT and may be replayed).
//!
//! [`crate::api::WebChatApi`] builds its requests from it, the transport takes its
//! retry and span decisions from it, and a contract test compares it with the swagger.

use crate::error::Error;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// One operation of the contract: what the SDK sends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationSpec {
    /// The swagger `operationId`.
    pub operation_id: &'static str,
    /// `GET`, `POST`, `DELETE` or `PATCH`.
    pub method: http::Method,
    /// The path template (`/api/v2/webchat/guest/conversations/{conversationId}/members`).
    pub path: &'static str,
    /// Path parameter names, in template order.
    pub path_params: &'static [&'static str],
    /// Query parameter names, in swagger order.
    pub query_params: &'static [&'static str],
    /// The request body model, if any.
    pub body: Option<&'static str>,
    /// The 2xx response model, if any.
    pub response: Option<&'static str>,
    /// Whether the call sends `Authorization: Bearer <jwt>` (every call but create).
    pub requires_jwt: bool,
    /// Whether a replay after a possible processing is safe (see [`crate::retry`]).
    pub idempotent: bool,
    /// Where the first placeholders of `path` are (`{` up to after `}`), found when the
    /// table is compiled: rendering a path then searches nothing.
    placeholders: [(usize, usize); MAX_PLACEHOLDERS],
}

/// How many placeholders [`OperationSpec`] locates in advance (the contract has at most 2).
const MAX_PLACEHOLDERS: usize = 2;

/// The `{...}` spans of a path template, in order; `(0, 0)` past the last one.
const fn placeholder_spans(path: &str) -> [(usize, usize); MAX_PLACEHOLDERS] {
    let b = path.as_bytes();
    let mut out = [(0, 0); MAX_PLACEHOLDERS];
    let (mut i, mut n) = (0, 0);
    while i < b.len() && n < MAX_PLACEHOLDERS {
        if b[i] == b'{' {
            let mut j = i;
            while j < b.len() && b[j] != b'}' {
                j += 1;
            }
            if j == b.len() {
                break;
            }
            out[n] = (i, j + 1);
            n += 1;
            i = j;
        }
        i += 1;
    }
    out
}

impl OperationSpec {
    /// The method as an [`http::Method`] (a clone of [`OperationSpec::method`]).
    pub fn http_method(&self) -> http::Method {
        self.method.clone()
    }

    /// The concrete path: each `{param}` replaced by its percent-encoded value.
    ///
    /// An empty value, `.` or `..` is refused (they would change the path's meaning).
    pub fn render_path(&self, values: &[&str]) -> Result<String, Error> {
        let mut out = String::with_capacity(self.path.len() + 80);
        self.render_path_into(&mut out, values)?;
        Ok(out)
    }

    /// The whole request URL: `base`, the concrete path and `?query` (when not empty), in
    /// one string.
    pub(crate) fn render_url(
        &self,
        base: &str,
        values: &[&str],
        query: Option<&str>,
    ) -> Result<String, Error> {
        let query = query.filter(|q| !q.is_empty());
        let mut out = String::with_capacity(
            base.len() + self.path.len() + 80 + query.map_or(0, |q| q.len() + 1),
        );
        out.push_str(base);
        self.render_path_into(&mut out, values)?;
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        Ok(out)
    }

    /// Appends the concrete path to `out` (see [`OperationSpec::render_path`]).
    fn render_path_into(&self, out: &mut String, values: &[&str]) -> Result<(), Error> {
        debug_assert_eq!(
            values.len(),
            self.path_params.len(),
            "{}",
            self.operation_id
        );
        let path = self.path;
        let mut done = 0;
        for (i, (name, value)) in self.path_params.iter().zip(values).enumerate() {
            check_id(name, value)?;
            // Placeholders come in parameter order, located in advance; checked, so that a
            // changed copy of a spec is still rendered right (by searching).
            let (at, end) = match self.placeholders.get(i) {
                Some(&(at, end))
                    if at >= done && end > at + 1 && path.get(at + 1..end - 1) == Some(*name) =>
                {
                    (at, end)
                }
                _ => {
                    let placeholder = format!("{{{name}}}");
                    let at = path[done..]
                        .find(&placeholder)
                        .map(|at| done + at)
                        .ok_or_else(|| Error::InvalidArgument {
                            name,
                            reason: format!("not in the path template {}", self.path),
                        })?;
                    (at, at + placeholder.len())
                }
            };
            out.push_str(&path[done..at]);
            push_segment(out, value);
            done = end;
        }
        out.push_str(&path[done..]);
        Ok(())
    }
}

/// Appends `value` percent-encoded as one path segment: ids are nearly always made of
/// characters left alone, copied as they are, without the encoder's chunking.
fn push_segment(out: &mut String, value: &str) {
    if value.bytes().all(is_unreserved) {
        out.push_str(value);
    } else {
        out.extend(utf8_percent_encode(value, PATH_SEGMENT));
    }
}

/// The characters [`PATH_SEGMENT`] leaves alone.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'(' | b')')
}

/// What `encodeURIComponent` leaves alone is `A-Z a-z 0-9 - _ . ! ~ * ' ( )`; the JavaScript
/// SDK's URL parser then escapes `'` as well, so it is encoded here too.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'(')
    .remove(b')');

fn check_id(name: &'static str, value: &str) -> Result<(), Error> {
    let reason = match value {
        "" => "must not be empty",
        "." | ".." => "must not be `.` or `..` (it would change the path)",
        _ => return Ok(()),
    };
    Err(Error::InvalidArgument {
        name,
        reason: reason.into(),
    })
}

const BASE: &str = "/api/v2/webchat/guest/conversations";

macro_rules! op {
    ($id:literal, $method:ident, $path:expr, [$($p:literal),*], [$($q:literal),*], $body:expr, $resp:expr, $jwt:expr, $idem:expr) => {
        OperationSpec {
            operation_id: $id,
            method: http::Method::$method,
            path: $path,
            path_params: &[$($p),*],
            query_params: &[$($q),*],
            body: $body,
            response: $resp,
            requires_jwt: $jwt,
            idempotent: $idem,
            placeholders: placeholder_spans($path),
        }
    };
}

/// `POST /api/v2/webchat/guest/conversations`.
pub const POST_CONVERSATIONS: OperationSpec = op!(
    "postWebchatGuestConversations",
    POST,
    BASE_PATH,
    [],
    [],
    Some("CreateWebChatConversationRequest"),
    Some("CreateWebChatConversationResponse"),
    false,
    false
);
/// `GET .../{conversationId}/members`.
pub const GET_MEMBERS: OperationSpec = op!(
    "getWebchatGuestConversationMembers",
    GET,
    MEMBERS_PATH,
    ["conversationId"],
    ["pageSize", "pageNumber", "excludeDisconnectedMembers"],
    None,
    Some("WebChatMemberInfoEntityList"),
    true,
    true
);
/// `GET .../{conversationId}/members/{memberId}`.
pub const GET_MEMBER: OperationSpec = op!(
    "getWebchatGuestConversationMember",
    GET,
    MEMBER_PATH,
    ["conversationId", "memberId"],
    [],
    None,
    Some("WebChatMemberInfo"),
    true,
    true
);
/// `DELETE .../{conversationId}/members/{memberId}`.
pub const DELETE_MEMBER: OperationSpec = op!(
    "deleteWebchatGuestConversationMember",
    DELETE,
    MEMBER_PATH,
    ["conversationId", "memberId"],
    [],
    None,
    None,
    true,
    true
);
/// `POST .../{conversationId}/members/{memberId}/messages`.
pub const POST_MESSAGE: OperationSpec = op!(
    "postWebchatGuestConversationMemberMessages",
    POST,
    MEMBER_MESSAGES_PATH,
    ["conversationId", "memberId"],
    [],
    Some("CreateWebChatMessageRequest"),
    Some("WebChatMessage"),
    true,
    false
);
/// `POST .../{conversationId}/members/{memberId}/typing`.
pub const POST_TYPING: OperationSpec = op!(
    "postWebchatGuestConversationMemberTyping",
    POST,
    TYPING_PATH,
    ["conversationId", "memberId"],
    [],
    None,
    Some("WebChatTyping"),
    true,
    false
);
/// `GET .../{conversationId}/messages`.
pub const GET_MESSAGES: OperationSpec = op!(
    "getWebchatGuestConversationMessages",
    GET,
    MESSAGES_PATH,
    ["conversationId"],
    ["after", "before", "sortOrder", "maxResults"],
    None,
    Some("WebChatMessageEntityList"),
    true,
    true
);
/// `GET .../{conversationId}/messages/{messageId}`.
pub const GET_MESSAGE: OperationSpec = op!(
    "getWebchatGuestConversationMessage",
    GET,
    MESSAGE_PATH,
    ["conversationId", "messageId"],
    [],
    None,
    Some("WebChatMessage"),
    true,
    true
);
/// `GET .../{conversationId}/mediarequests`.
pub const GET_MEDIAREQUESTS: OperationSpec = op!(
    "getWebchatGuestConversationMediarequests",
    GET,
    MEDIAREQUESTS_PATH,
    ["conversationId"],
    [],
    None,
    Some("WebChatGuestMediaRequestEntityList"),
    true,
    true
);
/// `GET .../{conversationId}/mediarequests/{mediaRequestId}`.
pub const GET_MEDIAREQUEST: OperationSpec = op!(
    "getWebchatGuestConversationMediarequest",
    GET,
    MEDIAREQUEST_PATH,
    ["conversationId", "mediaRequestId"],
    [],
    None,
    Some("WebChatGuestMediaRequest"),
    true,
    true
);
/// `PATCH .../{conversationId}/mediarequests/{mediaRequestId}`.
pub const PATCH_MEDIAREQUEST: OperationSpec = op!(
    "patchWebchatGuestConversationMediarequest",
    PATCH,
    MEDIAREQUEST_PATH,
    ["conversationId", "mediaRequestId"],
    [],
    Some("WebChatGuestMediaRequest"),
    Some("WebChatGuestMediaRequest"),
    true,
    false
);

const BASE_PATH: &str = BASE;
const MEMBERS_PATH: &str = "/api/v2/webchat/guest/conversations/{conversationId}/members";
const MEMBER_PATH: &str = "/api/v2/webchat/guest/conversations/{conversationId}/members/{memberId}";
const MEMBER_MESSAGES_PATH: &str =
    "/api/v2/webchat/guest/conversations/{conversationId}/members/{memberId}/messages";
const TYPING_PATH: &str =
    "/api/v2/webchat/guest/conversations/{conversationId}/members/{memberId}/typing";
const MESSAGES_PATH: &str = "/api/v2/webchat/guest/conversations/{conversationId}/messages";
const MESSAGE_PATH: &str =
    "/api/v2/webchat/guest/conversations/{conversationId}/messages/{messageId}";
const MEDIAREQUESTS_PATH: &str =
    "/api/v2/webchat/guest/conversations/{conversationId}/mediarequests";
const MEDIAREQUEST_PATH: &str =
    "/api/v2/webchat/guest/conversations/{conversationId}/mediarequests/{mediaRequestId}";

/// Every operation of the contract, as the SDK sends it.
pub const OPERATIONS: &[OperationSpec] = &[
    POST_CONVERSATIONS,
    GET_MEMBERS,
    GET_MEMBER,
    DELETE_MEMBER,
    POST_MESSAGE,
    POST_TYPING,
    GET_MESSAGES,
    GET_MESSAGE,
    GET_MEDIAREQUESTS,
    GET_MEDIAREQUEST,
    PATCH_MEDIAREQUEST,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        let cases = [
            ("a b", "a%20b"),
            ("a/b", "a%2Fb"),
            ("ü€😀", "%C3%BC%E2%82%AC%F0%9F%98%80"),
            ("x?y#z&w=v+u%t", "x%3Fy%23z%26w%3Dv%2Bu%25t"),
            ("it's", "it%27s"),
            ("a(b)*!~._-", "a(b)*!~._-"),
            (
                "semi;colon:at@dollar$comma,",
                "semi%3Bcolon%3Aat%40dollar%24comma%2C",
            ),
            (
                "[brackets]{braces}|pipe^caret`bt\"dq<lt>gt\\bs",
                "%5Bbrackets%5D%7Bbraces%7D%7Cpipe%5Ecaret%60bt%22dq%3Clt%3Egt%5Cbs",
            ),
            ("tab\there", "tab%09here"),
            ("12345", "12345"),
        ];
        for (raw, want) in cases {
            let p = GET_MEMBER.render_path(&["c", raw]).unwrap();
            assert_eq!(p, format!("{BASE}/c/members/{want}"), "{raw}");
        }
    }

    #[test]
    fn rejects_dot_segments_and_empty_ids() {
        for bad in ["", ".", ".."] {
            match GET_MEMBER.render_path(&["c", bad]) {
                Err(Error::InvalidArgument { name, .. }) => assert_eq!(name, "memberId"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(GET_MEMBER.render_path(&["...", "a.b"]).is_ok());
    }

    #[test]
    fn placeholders_are_located_in_advance() {
        let spans = GET_MEMBER.placeholders;
        assert_eq!(&GET_MEMBER.path[spans[0].0..spans[0].1], "{conversationId}");
        assert_eq!(&GET_MEMBER.path[spans[1].0..spans[1].1], "{memberId}");
        assert_eq!(POST_CONVERSATIONS.placeholders, [(0, 0); MAX_PLACEHOLDERS]);
        // A changed copy of a spec (its spans now wrong) is still rendered right.
        let mut moved = GET_MEMBER.clone();
        moved.path = "/v/{conversationId}/w/{memberId}/x";
        assert_eq!(moved.render_path(&["c", "m n"]).unwrap(), "/v/c/w/m%20n/x");
        moved.path = "/v/{conversationId}";
        assert!(moved.render_path(&["c", "m"]).is_err());
    }

    #[test]
    fn the_fast_path_leaves_alone_what_the_encoder_leaves_alone() {
        for b in 0u8..128 {
            let c = char::from(b).to_string();
            let encoded = utf8_percent_encode(&c, PATH_SEGMENT).to_string();
            assert_eq!(is_unreserved(b), encoded == c, "byte {b}");
        }
    }

    #[test]
    fn renders_the_whole_url() {
        let url = GET_MEMBER
            .render_url("http://127.0.0.1:9", &["c 1", "m"], None)
            .unwrap();
        assert_eq!(url, format!("http://127.0.0.1:9{BASE}/c%201/members/m"));
        let url = GET_MEMBERS
            .render_url("https://h", &["c"], Some("pageSize=2"))
            .unwrap();
        assert_eq!(url, format!("https://h{BASE}/c/members?pageSize=2"));
        let url = GET_MEMBERS
            .render_url("https://h", &["c"], Some(""))
            .unwrap();
        assert_eq!(url, format!("https://h{BASE}/c/members"));
        assert!(GET_MEMBER
            .render_url("https://h", &["c", ".."], None)
            .is_err());
    }
}
