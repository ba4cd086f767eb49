//! Open enums: every swagger enum, with a catch-all that keeps an unknown string.
//!
//! The service adds enum values over time and real clients send values in other
//! cases (`"queue"` for `QUEUE`), so decoding is case-insensitive and never fails:
//! an unknown value becomes `Unknown(String)` and serialises back byte for byte.

/// Defines a `#[non_exhaustive]` enum whose serde form is a string, matched
/// case-insensitively, with an `Unknown(String)` variant that round-trips.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = concat!("\n\nOn the wire: `", $wire, "`.")] $variant, )+
            /// A value this version does not know, kept as the server sent it.
            Unknown(String),
        }

        impl $name {
            /// Every value this version knows, in swagger order.
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The wire spelling of this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// Parses a wire value, ignoring ASCII case; never fails.
            pub fn parse(s: &str) -> Self {
                $( if s.eq_ignore_ascii_case($wire) { return $name::$variant; } )+
                $name::Unknown(s.to_owned())
            }

            /// True when the value is one this version knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(s))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " string"))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::parse(v))
                    }
                    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<$name, E> {
                        let known = $name::parse(&v);
                        Ok(if known.is_known() { known } else { $name::Unknown(v) })
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

open_enum! {
    /// `WebChatRoutingTarget.targetType`. The service accepts any case (`"queue"`).
    TargetType {
        /// A queue.
        Queue => "QUEUE"
    }
}

open_enum! {
    /// `WebChatMemberInfo.role`.
    Role {
        /// A contact-centre agent.
        Agent => "AGENT",
        /// The guest.
        Customer => "CUSTOMER",
        /// An Architect flow.
        Workflow => "WORKFLOW",
        /// The queue's placeholder member while the chat waits for an agent.
        Acd => "ACD",
    }
}

open_enum! {
    /// `WebChatMemberInfo.state`.
    MemberState {
        /// In the chat.
        Connected => "CONNECTED",
        /// Left, or was removed from, the chat.
        Disconnected => "DISCONNECTED",
        /// An agent being offered the chat.
        Alerting => "ALERTING",
    }
}

open_enum! {
    /// `WebChatMessage.bodyType` and `CreateWebChatMessageRequest.bodyType`.
    BodyType {
        /// Ordinary chat text.
        Standard => "standard",
        /// System or notice text.
        Notice => "notice",
        /// `sender` joined (empty body).
        MemberJoin => "member-join",
        /// `sender` left (empty body).
        MemberLeave => "member-leave",
        /// A co-browse or screen-share request.
        MediaRequest => "media-request",
    }
}

open_enum! {
    /// `WebChatGuestMediaRequest.types` items.
    MediaRequestType {
        /// Co-browsing.
        Cobrowse => "COBROWSE",
        /// Screen sharing.
        Screenshare => "SCREENSHARE"
    }
}

open_enum! {
    /// `WebChatGuestMediaRequest.state`.
    MediaRequestState {
        /// Waiting for the guest.
        Pending => "PENDING",
        /// The guest accepted.
        Accepted => "ACCEPTED",
        /// The guest declined.
        Declined => "DECLINED",
        /// Nobody answered in time.
        Timedout => "TIMEDOUT",
        /// The agent withdrew it.
        Cancelled => "CANCELLED",
        /// It failed.
        Errored => "ERRORED",
    }
}

open_enum! {
    /// The `sortOrder` query parameter of the message history.
    SortOrder {
        /// Oldest first.
        Ascending => "ascending",
        /// Newest first.
        Descending => "descending"
    }
}

open_enum! {
    /// `Limit.namespace`: the platform's rate-limit namespaces (the list keeps growing).
    LimitNamespace {
        WorkforceManagement => "workforce.management",
        AgentAssistant => "agent.assistant",
        AnalyticsAgents => "analytics.agents",
        AnalyticsAlerting => "analytics.alerting",
        AnalyticsDataExtraction => "analytics.data.extraction",
        Analytics => "analytics",
        AnalyticsRealtime => "analytics.realtime",
        AnalyticsReportingSettings => "analytics.reporting.settings",
        Architect => "architect",
        Audiohook => "audiohook",
        AudiohookMonitor => "audiohook.monitor",
        Audit => "audit",
        AuthApi => "auth.api",
        Authorization => "authorization",
        AutomationTesting => "automation.testing",
        Bots => "bots",
        BotsVoice => "bots.voice",
        BusinessRules => "business.rules",
        Callback => "callback",
        Cobrowse => "cobrowse",
        ContentManagement => "content.management",
        Conversation => "conversation",
        Dataactions => "dataactions",
        Datatables => "datatables",
        Directory => "directory",
        Dsar => "dsar",
        Email => "email",
        EmployeeEngagement => "employee.engagement",
        EventOrchestration => "event.orchestration",
        ExternalContacts => "external.contacts",
        ExternalEventsDataIngestion => "external.events.data.ingestion",
        Gamification => "gamification",
        Gcv => "gcv",
        Gdpr => "gdpr",
        Groups => "groups",
        Guides => "guides",
        HistoricalAdherence => "historical.adherence",
        Infrastructureascode => "infrastructureascode",
        Integrations => "integrations",
        IntentMiner => "intent.miner",
        InternalMessaging => "internal.messaging",
        Journey => "journey",
        Knowledge => "knowledge",
        LanguageUnderstanding => "language.understanding",
        Learning => "learning",
        LimitRegistry => "limit.registry",
        Marketplace => "marketplace",
        MediaCommunications => "media.communications",
        Messaging => "messaging",
        MicroFrontend => "micro.frontend",
        Notifications => "notifications",
        Onboarding => "onboarding",
        Outbound => "outbound",
        PlatformApi => "platform.api",
        PredictiveRouting => "predictive.routing",
        Presence => "presence",
        Quality => "quality",
        Recording => "recording",
        ResponseManagement => "response.management",
        Routing => "routing",
        Scim => "scim",
        ScreenMonitoring => "screen.monitoring",
        Search => "search",
        SecondaryAutomationTesting => "secondary.automation.testing",
        Skills => "skills",
        SocialMedia => "social.media",
        SpeechAndTextAnalytics => "speech.and.text.analytics",
        SpeechIntegration => "speech.integration",
        Supportability => "supportability",
        TaskManagement => "task.management",
        TelephonyConfiguration => "telephony.configuration",
        Usage => "usage",
        Users => "users",
        UsersRules => "users.rules",
        VoiceTranscription => "voice.transcription",
        WebDeployments => "web.deployments",
        WebMessaging => "web.messaging",
        Webchat => "webchat",
        Webhooks => "webhooks",
        WorkforceManagementAgentAvailability => "workforce.management.agent.availability",
        WorkforceManagementForecast => "workforce.management.forecast",
        System => "system",
    }
}
