//! Constructors for the models people build by hand.

use crate::enums::{BodyType, MediaRequestState, TargetType};
use crate::models::*;

impl CreateWebChatConversationRequest {
    /// A request routed to a queue by name, for a guest with a display name.
    pub fn new(
        organization_id: impl Into<String>,
        deployment_id: impl Into<String>,
        queue_name: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        CreateWebChatConversationRequest {
            organization_id: Some(organization_id.into()),
            deployment_id: Some(deployment_id.into()),
            routing_target: Some(WebChatRoutingTarget::queue(queue_name)),
            member_info: Some(GuestMemberInfo::new(display_name)),
            ..Default::default()
        }
    }
}

impl WebChatRoutingTarget {
    /// Route to the queue with this name (the service looks queues up by name).
    pub fn queue(name: impl Into<String>) -> Self {
        WebChatRoutingTarget {
            target_type: Some(TargetType::Queue),
            target_address: Some(name.into()),
            ..Default::default()
        }
    }
}

impl GuestMemberInfo {
    /// Guest info with only the (required) display name.
    pub fn new(display_name: impl Into<String>) -> Self {
        GuestMemberInfo {
            display_name: Some(display_name.into()),
            ..Default::default()
        }
    }
}

impl CreateWebChatMessageRequest {
    /// A `standard` message.
    pub fn new(body: impl Into<String>) -> Self {
        CreateWebChatMessageRequest {
            body: Some(body.into()),
            body_type: Some(BodyType::Standard),
        }
    }

    /// A `notice` message.
    pub fn notice(body: impl Into<String>) -> Self {
        CreateWebChatMessageRequest {
            body: Some(body.into()),
            body_type: Some(BodyType::Notice),
        }
    }
}

impl WebChatGuestMediaRequest {
    /// A PATCH body answering a media request with a new state.
    pub fn answer(types: Vec<crate::enums::MediaRequestType>, state: MediaRequestState) -> Self {
        WebChatGuestMediaRequest {
            types: Some(types),
            state: Some(state),
            ..Default::default()
        }
    }
}

impl ErrorBody {
    /// An error body with status, code and message, `details` and `errors` empty
    /// (as the service sends them).
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            status: Some(i32::from(status)),
            code: Some(code.into()),
            message: Some(message.into()),
            details: Some(Vec::new()),
            errors: Some(Vec::new()),
            ..Default::default()
        }
    }
}
