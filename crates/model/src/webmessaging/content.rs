//! Rich content (`MessageContent`, tagged by `contentType`) and events (`MessageEvent`,
//! tagged by `eventType`) of messages.

use super::{wm_enum, Extra, Raw};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;

wm_enum! {
    /// `MediaType` of an attachment.
    MediaType {
        /// Audio.
        Audio => "Audio",
        /// Any file.
        File => "File",
        /// An image.
        Image => "Image",
        /// A link.
        Link => "Link",
        /// Video.
        Video => "Video",
    }
}

wm_enum! {
    /// `ButtonResponseType`: what the guest clicked.
    ButtonResponseType {
        /// A card button.
        Button => "Button",
        /// A date picker.
        DatePicker => "DatePicker",
        /// A form.
        Form => "Form",
        /// A list picker.
        ListPicker => "ListPicker",
        /// A quick reply.
        QuickReply => "QuickReply",
    }
}

wm_enum! {
    /// `CardActionType`.
    CardActionType {
        /// Opens a URL.
        Link => "Link",
        /// Sends a button response.
        Postback => "Postback",
    }
}

wm_enum! {
    /// `EventTypingType`: only `On` exists; the indicator lapses after `duration`.
    EventTypingType {
        /// Typing.
        On => "On",
    }
}

wm_enum! {
    /// `EventPresenceType`.
    EventPresenceType {
        /// Authentication requested.
        Authenticate => "Authenticate",
        /// Authentication cancelled.
        AuthenticateCancel => "AuthenticateCancel",
        /// Authentication failed.
        AuthenticateFailure => "AuthenticateFailure",
        /// Guest to service: clear (end) the conversation.
        Clear => "Clear",
        /// The agent or flow ended the conversation.
        Disconnect => "Disconnect",
        /// Guest to service: start the conversation (autostart).
        Join => "Join",
        /// The session expired.
        SessionExpired => "SessionExpired",
        /// The guest signed in.
        SignIn => "SignIn",
    }
}

/// `ContentQuickReply`: one button of a quick-reply set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentQuickReply {
    /// Shown on the button.
    pub text: String,
    /// Sent back in the button response.
    pub payload: String,
    /// `Message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Deprecated id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContentButtonResponse`: the guest's answer to a quick reply, card button or picker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentButtonResponse {
    /// What was clicked.
    #[serde(rename = "type")]
    pub kind: ButtonResponseType,
    /// The button's text.
    pub text: String,
    /// The button's payload.
    pub payload: String,
    /// The message this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originating_message_id: Option<String>,
    /// Deprecated id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContentCardAction`: a card button or its default action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentCardAction {
    /// `Link` or `Postback`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CardActionType>,
    /// Button text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Postback payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Link target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContentCard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentCard {
    /// Title.
    pub title: String,
    /// Buttons.
    pub actions: Vec<ContentCardAction>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Video URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<String>,
    /// Action of a click on the card itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<ContentCardAction>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContentCarousel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentCarousel {
    /// The cards.
    pub cards: Vec<ContentCard>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContentDatePickerAvailableTime`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentDatePickerAvailableTime {
    /// ISO-8601 date and time.
    pub date_time: String,
    /// Length in seconds.
    pub duration: Number,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContentDatePicker`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentDatePicker {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Subtitle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Picker id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// The slots offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_times: Option<Vec<ContentDatePickerAvailableTime>>,
    /// `dayMonthYear`, `monthDayYear` or `yearMonthDay`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_display_format: Option<String>,
    /// Earliest date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_minimum: Option<String>,
    /// Latest date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_maximum: Option<String>,
    /// Other fields (`location`...), kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContentReceivedReplyMessage`: the prompt or reply bubble of a picker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentReceivedReplyMessage {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Subtitle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContentListPickerItem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentListPickerItem {
    /// Item id.
    pub id: String,
    /// Main text.
    pub title: String,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContentListPickerSection`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentListPickerSection {
    /// Section title.
    pub title: String,
    /// Whether several items may be picked.
    pub multiple_selection: bool,
    /// The items.
    pub items: Vec<ContentListPickerItem>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContentListPicker`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentListPicker {
    /// The sections.
    pub sections: Vec<ContentListPickerSection>,
    /// The prompt bubble.
    pub received_message: ContentReceivedReplyMessage,
    /// The reply bubble after a choice.
    pub reply_message: ContentReceivedReplyMessage,
    /// Picker id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An attachment (`ContentAttachment` as sent, `BaseContentAttachment` as received).
///
/// A guest sending an uploaded attachment gives only `id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentAttachment {
    /// Attachment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Image`, `File`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// Download URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// File name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// Size in bytes (received messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<Number>,
    /// Size in bytes (sent messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_size_bytes: Option<Number>,
    /// SHA-256 of the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ContentText`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentText {
    /// The text.
    pub body: String,
    /// `Text`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One element of a message's `content`, tagged by `contentType`; the payload sits in the
/// field named after it (`{"contentType":"QuickReply","quickReply":{...}}`).
///
/// An element of another `contentType`, with other fields beside its payload, or whose payload
/// does not fit the type, is kept whole as [`MessageContent::Unknown`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MessageContent {
    /// `Attachment`.
    Attachment(ContentAttachment),
    /// `QuickReply`: one quick-reply button.
    QuickReply(ContentQuickReply),
    /// `ButtonResponse`: the guest's click.
    ButtonResponse(ContentButtonResponse),
    /// `Card`.
    Card(ContentCard),
    /// `Carousel`.
    Carousel(ContentCarousel),
    /// `DatePicker`.
    DatePicker(ContentDatePicker),
    /// `ListPicker`.
    ListPicker(ContentListPicker),
    /// `Text`.
    Text(ContentText),
    /// Anything else, kept whole.
    Unknown(Raw),
}

impl MessageContent {
    /// The `contentType` on the wire.
    pub fn content_type(&self) -> Option<&str> {
        Some(match self {
            MessageContent::Attachment(_) => "Attachment",
            MessageContent::QuickReply(_) => "QuickReply",
            MessageContent::ButtonResponse(_) => "ButtonResponse",
            MessageContent::Card(_) => "Card",
            MessageContent::Carousel(_) => "Carousel",
            MessageContent::DatePicker(_) => "DatePicker",
            MessageContent::ListPicker(_) => "ListPicker",
            MessageContent::Text(_) => "Text",
            MessageContent::Unknown(raw) => return raw.get("contentType").and_then(Value::as_str),
        })
    }

    /// A quick-reply answer, as the guest sends it.
    pub fn quick_reply_response(text: impl Into<String>, payload: impl Into<String>) -> Self {
        MessageContent::ButtonResponse(ContentButtonResponse {
            kind: ButtonResponseType::QuickReply,
            text: text.into(),
            payload: payload.into(),
            originating_message_id: None,
            id: None,
            extra: Extra::new(),
        })
    }
}

fn payload_field(content_type: &str) -> Option<&'static str> {
    Some(match content_type {
        "Attachment" => "attachment",
        "QuickReply" => "quickReply",
        "ButtonResponse" => "buttonResponse",
        "Card" => "card",
        "Carousel" => "carousel",
        "DatePicker" => "datePicker",
        "ListPicker" => "listPicker",
        "Text" => "text",
        _ => return None,
    })
}

fn tagged<T: Serialize, S: Serializer>(
    s: S,
    tag_key: &str,
    tag: &str,
    field: &str,
    payload: &T,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(2))?;
    m.serialize_entry(tag_key, tag)?;
    m.serialize_entry(field, payload)?;
    m.end()
}

impl Serialize for MessageContent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ct = self.content_type().unwrap_or_default();
        let field = payload_field(ct).unwrap_or_default();
        match self {
            MessageContent::Attachment(p) => tagged(s, "contentType", ct, field, p),
            MessageContent::QuickReply(p) => tagged(s, "contentType", ct, field, p),
            MessageContent::ButtonResponse(p) => tagged(s, "contentType", ct, field, p),
            MessageContent::Card(p) => tagged(s, "contentType", ct, field, p),
            MessageContent::Carousel(p) => tagged(s, "contentType", ct, field, p),
            MessageContent::DatePicker(p) => tagged(s, "contentType", ct, field, p),
            MessageContent::ListPicker(p) => tagged(s, "contentType", ct, field, p),
            MessageContent::Text(p) => tagged(s, "contentType", ct, field, p),
            MessageContent::Unknown(raw) => raw.serialize(s),
        }
    }
}

/// The payload of a `{tag_key: tag, field: payload}` object, when it has exactly those keys.
fn exact_payload<'a>(obj: &'a Map<String, Value>, tag_key: &str, field: &str) -> Option<&'a Value> {
    if obj.len() != 2 || !obj.contains_key(tag_key) {
        return None;
    }
    obj.get(field)
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let Some(obj) = v.as_object() else {
            return Err(D::Error::custom("a content element is a JSON object"));
        };
        let typed = obj
            .get("contentType")
            .and_then(Value::as_str)
            .and_then(|ct| Some((ct, payload_field(ct)?)))
            .and_then(|(ct, field)| {
                let p = exact_payload(obj, "contentType", field)?;
                fn de<T: for<'a> Deserialize<'a>>(p: &Value) -> Option<T> {
                    T::deserialize(p).ok()
                }
                Some(match ct {
                    "Attachment" => MessageContent::Attachment(de(p)?),
                    "QuickReply" => MessageContent::QuickReply(de(p)?),
                    "ButtonResponse" => MessageContent::ButtonResponse(de(p)?),
                    "Card" => MessageContent::Card(de(p)?),
                    "Carousel" => MessageContent::Carousel(de(p)?),
                    "DatePicker" => MessageContent::DatePicker(de(p)?),
                    "ListPicker" => MessageContent::ListPicker(de(p)?),
                    "Text" => MessageContent::Text(de(p)?),
                    _ => return None,
                })
            });
        Ok(typed.unwrap_or(MessageContent::Unknown(Raw(v))))
    }
}

/// `EventTyping`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTyping {
    /// `On`.
    #[serde(rename = "type")]
    pub kind: EventTypingType,
    /// How long the indicator lasts, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Number>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `EventPresence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPresence {
    /// `Join`, `Disconnect`, `Clear`...
    #[serde(rename = "type")]
    pub kind: EventPresenceType,
    /// Sign-in prompt (authentication flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_message: Option<ContentReceivedReplyMessage>,
    /// Reply on authentication success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_message: Option<ContentReceivedReplyMessage>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One element of a message's `events`, tagged by `eventType`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MessageEvent {
    /// `Typing`.
    Typing(EventTyping),
    /// `Presence`.
    Presence(EventPresence),
    /// Anything else (`CoBrowse`, `Video`, `Reactions`...), kept whole.
    Unknown(Raw),
}

impl MessageEvent {
    /// A `Typing On` event as the guest sends it.
    pub fn typing_on() -> Self {
        MessageEvent::Typing(EventTyping {
            kind: EventTypingType::On,
            duration: None,
            extra: Extra::new(),
        })
    }

    /// A presence event of this type.
    pub fn presence(kind: EventPresenceType) -> Self {
        MessageEvent::Presence(EventPresence {
            kind,
            received_message: None,
            reply_message: None,
            extra: Extra::new(),
        })
    }

    /// The `eventType` on the wire.
    pub fn event_type(&self) -> Option<&str> {
        match self {
            MessageEvent::Typing(_) => Some("Typing"),
            MessageEvent::Presence(_) => Some("Presence"),
            MessageEvent::Unknown(raw) => raw.get("eventType").and_then(Value::as_str),
        }
    }
}

impl Serialize for MessageEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MessageEvent::Typing(p) => tagged(s, "eventType", "Typing", "typing", p),
            MessageEvent::Presence(p) => tagged(s, "eventType", "Presence", "presence", p),
            MessageEvent::Unknown(raw) => raw.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for MessageEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let Some(obj) = v.as_object() else {
            return Err(D::Error::custom("an event is a JSON object"));
        };
        let typed = match obj.get("eventType").and_then(Value::as_str) {
            Some("Typing") => exact_payload(obj, "eventType", "typing")
                .and_then(|p| EventTyping::deserialize(p).ok())
                .map(MessageEvent::Typing),
            Some("Presence") => exact_payload(obj, "eventType", "presence")
                .and_then(|p| EventPresence::deserialize(p).ok())
                .map(MessageEvent::Presence),
            _ => None,
        };
        Ok(typed.unwrap_or(MessageEvent::Unknown(Raw(v))))
    }
}

/// `BaseMessagingRecipient`: `channel.from` / `channel.to`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseMessagingRecipient {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Avatar URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `BaseChannelMetadata`: where a guest's custom attributes travel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseChannelMetadata {
    /// Custom attributes, string to string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<BTreeMap<String, String>>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `BaseMessagingChannel`: `channel` of a message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseMessagingChannel {
    /// When the platform took the message (ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `Private` or `Public`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<super::ChannelType>,
    /// Channel message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<BaseMessagingRecipient>,
    /// Recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<BaseMessagingRecipient>,
    /// Custom attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BaseChannelMetadata>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl BaseMessagingChannel {
    /// A channel carrying only custom attributes.
    pub fn with_custom_attributes(attributes: BTreeMap<String, String>) -> Self {
        BaseMessagingChannel {
            metadata: Some(BaseChannelMetadata {
                custom_attributes: Some(attributes),
                extra: Extra::new(),
            }),
            ..Default::default()
        }
    }
}
