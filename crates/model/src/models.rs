//! The 21 models of the REST contract (`swagger.json`), with the swagger names.
//!
//! Every field is optional: real responses omit fields the swagger marks required
//! (docs/protocol.md section 5). Unknown fields are ignored and absent fields are not serialised.

use crate::enums::*;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `CreateWebChatConversationRequest` model of the REST contract.
///
/// Required by the contract: `deploymentId`, `memberInfo`, `organizationId`, `routingTarget`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateWebChatConversationRequest {
    /// The organization identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// The web chat Deployment ID which contains the appropriate settings for this chat conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// The routing information to use for the new chat conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_target: Option<WebChatRoutingTarget>,
    /// The guest member info to use for the new chat conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_info: Option<GuestMemberInfo>,
    /// If the guest member is an authenticated member (ie, not anonymous) his JWT is provided here. The token will have been previously generated with the "POST /api/v2/signeddata" resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_auth_token: Option<String>,
    /// A subset of the Journey System's data relevant to this conversation/session request (for external linkage and internal usage/context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_context: Option<JourneyContext>,
}

/// The `WebChatRoutingTarget` model of the REST contract.
///
/// Required by the contract: `targetAddress`, `targetType`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebChatRoutingTarget {
    /// The target type of the routing target, such as 'QUEUE'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<TargetType>,
    /// The target of the route, in the format appropriate given the 'targetType'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_address: Option<String>,
    /// The list of skill names to use for routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<String>>,
    /// The language name to use for routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The priority to assign to the conversation for routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

/// The `GuestMemberInfo` model of the REST contract.
///
/// Required by the contract: `displayName`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestMemberInfo {
    /// The display name to use for the guest member in the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The first name to use for the guest member in the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name to use for the guest member in the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The email address to use for the guest member in the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The phone number to use for the guest member in the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The URL to the avatar image to use for the guest member in the conversation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_image_url: Option<String>,
    /// Any custom fields of information, in key-value format, to attach to the guest member in the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<BTreeMap<String, String>>,
}

/// The `JourneyContext` model of the REST contract.
///
/// Required by the contract: `customer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyContext {
    /// A subset of the Journey System's customer data at a point-in-time (for external linkage and internal usage/context)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<JourneyCustomer>,
    /// A subset of the Journey System's tracked customer session data at a point-in-time (for external linkage and internal usage/context)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_session: Option<JourneyCustomerSession>,
    /// A subset of the Journey System's action data relevant to a part of a conversation (for external linkage and internal usage/context)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggering_action: Option<JourneyAction>,
}

/// The `JourneyCustomer` model of the REST contract.
///
/// Required by the contract: `id`, `idType`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyCustomer {
    /// An ID of a customer within the Journey System at a point-in-time.  Note that a customer entity can have multiple customerIds based on the stitching process.  Depending on the context within the `PureCloud` conversation, this may or may not be mutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The type of the customerId within the Journey System (e.g. cookie).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_type: Option<String>,
}

/// The `JourneyCustomerSession` model of the REST contract.
///
/// Required by the contract: `id`, `type`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyCustomerSession {
    /// An ID of a Customer/User's session within the Journey System at a point-in-time
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The type of the Customer/User's session within the Journey System (e.g. web, app)
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
}

/// The `JourneyAction` model of the REST contract.
///
/// Required by the contract: `actionMap`, `id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyAction {
    /// The ID of an action from the Journey System (an action is spawned from an actionMap)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Details about the action map from the Journey System which triggered this action
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_map: Option<JourneyActionMap>,
}

/// The `JourneyActionMap` model of the REST contract.
///
/// Required by the contract: `id`, `version`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JourneyActionMap {
    /// The ID of the actionMap in the Journey System which triggered this action
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The version number of the actionMap in the Journey System at the time this action was triggered
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
}

/// The `CreateWebChatConversationResponse` model of the REST contract.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateWebChatConversationResponse {
    /// Chat Conversation identifier
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The JWT that you can use to identify subsequent calls on this conversation
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<String>,
    /// The URI which provides the conversation event stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_stream_uri: Option<String>,
    /// Chat Member
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<WebChatMemberInfo>,
}

/// The `WebChatMemberInfo` model of the REST contract.
///
/// Required by the contract: `role`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebChatMemberInfo {
    /// The communicationId of this member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The display name of the member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The first name of the member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name of the member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The email address of the member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The phone number of the member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The url to the avatar image of the member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_image_url: Option<String>,
    /// The role of the member, one of [agent, customer, acd, workflow]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The time the member joined the conversation. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_date: Option<Timestamp>,
    /// The time the member left the conversation, or null if the member is still active in the conversation. Date time is represented as an ISO-8601 string. For example: yyyy-MM-ddTHH:mm:ss[.mmm]Z
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leave_date: Option<Timestamp>,
    /// If true, the guest member is an authenticated guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticated_guest: Option<bool>,
    /// Any custom fields of information pertaining to this member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<BTreeMap<String, String>>,
    /// The connection state of this member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<MemberState>,
}

/// The `WebChatMemberInfoEntityList` model of the REST contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebChatMemberInfoEntityList {
    /// `entities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<WebChatMemberInfo>>,
    /// `pageSize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<i32>,
    /// `pageNumber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<i32>,
    /// `total`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// `firstUri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_uri: Option<String>,
    /// `lastUri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_uri: Option<String>,
    /// `selfUri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    /// `previousUri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
    /// `nextUri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    /// `pageCount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_count: Option<i32>,
}

/// The `CreateWebChatMessageRequest` model of the REST contract.
///
/// Required by the contract: `body`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateWebChatMessageRequest {
    /// The message body. Note that message bodies are limited to 4,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The purpose of the message within the conversation, such as a standard text entry versus a greeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_type: Option<BodyType>,
}

/// The `WebChatMessage` model of the REST contract.
///
/// Required by the contract: `body`, `bodyType`, `conversation`, `sender`, `timestamp`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebChatMessage {
    /// The globally unique identifier for the object. (read-only)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The identifier of the conversation
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<WebChatConversation>,
    /// The member who sent the message
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<WebChatMemberInfo>,
    /// The message body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The purpose of the message within the conversation, such as a standard text entry versus a greeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_type: Option<BodyType>,
    /// The timestamp of the message, in ISO-8601 format
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// The URI for this object (read-only)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// The `WebChatMessageEntityList` model of the REST contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebChatMessageEntityList {
    /// `pageSize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<i32>,
    /// `entities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<WebChatMessage>>,
    /// `previousPage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_page: Option<String>,
    /// `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// `selfUri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// The `WebChatConversation` model of the REST contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebChatConversation {
    /// The globally unique identifier for the object. (read-only)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Chat Member
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<WebChatMemberInfo>,
    /// The URI for this object (read-only)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// The `WebChatTyping` model of the REST contract.
///
/// Required by the contract: `conversation`, `id`, `sender`, `timestamp`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebChatTyping {
    /// The event identifier of this typing indicator event (useful to guard against event re-delivery
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The identifier of the conversation
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<WebChatConversation>,
    /// The member who sent the message
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<WebChatMemberInfo>,
    /// The timestamp of the message, in ISO-8601 format
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// Object representing the guest model of a media request of a chat conversation.
///
/// Required by the contract: `state`, `types`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebChatGuestMediaRequest {
    /// The globally unique identifier for the object. (read-only)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The types of media being requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<MediaRequestType>>,
    /// The state of the media request, one of PENDING|ACCEPTED|DECLINED|TIMEDOUT|CANCELLED|ERRORED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<MediaRequestState>,
    /// The ID of the new media communication, if applicable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communication_id: Option<String>,
    /// The security information related to a media request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_key: Option<String>,
    /// The URI for this object (read-only)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// The `WebChatGuestMediaRequestEntityList` model of the REST contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebChatGuestMediaRequestEntityList {
    /// `entities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<WebChatGuestMediaRequest>>,
}

/// The `ErrorBody` model of the REST contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    /// `entityId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    /// `entityName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
    /// `messageWithParams`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_with_params: Option<String>,
    /// `messageParams`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_params: Option<BTreeMap<String, String>>,
    /// `contextId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    /// `details`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<Detail>>,
    /// `errors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ErrorBody>>,
    /// `limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
}

/// The `Detail` model of the REST contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    /// `errorCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// `fieldName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
    /// `entityId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    /// `entityName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
}

/// The `Limit` model of the REST contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limit {
    /// `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<LimitNamespace>,
    /// `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
}

/// The JWT is the chat's only credential: `Debug` never prints it, not even inside
/// `eventStreamUri`.
impl std::fmt::Debug for CreateWebChatConversationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateWebChatConversationResponse")
            .field("id", &self.id)
            .field("jwt", &self.jwt.as_ref().map(|_| "<redacted>"))
            .field(
                "event_stream_uri",
                &self.event_stream_uri.as_deref().map(|uri| {
                    let uri = match self.jwt.as_deref() {
                        Some(jwt) if !jwt.is_empty() => uri.replace(jwt, crate::redact::REDACTED),
                        _ => uri.to_owned(),
                    };
                    crate::redact::mask_jwts(&uri).into_owned()
                }),
            )
            .field("member", &self.member)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_response_debug_hides_the_jwt() {
        let r = CreateWebChatConversationResponse {
            id: Some("c1".into()),
            jwt: Some("opaque-token-123".into()),
            event_stream_uri: Some("ws://h/chat/jwt/opaque-token-123".into()),
            member: None,
        };
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("opaque-token-123"), "{dbg}");
        assert!(dbg.contains("c1") && dbg.contains("<redacted>"));
    }
}
