//! `GuestChat::send` delivers a message exactly once although the service's POST is at most
//! once: the emulator loses answers after storing (`message_lost_answer_rate`), refuses before
//! storing (`message_error_rate`) or garbles 2xx bodies (`non_json_rate`), and the emulator's
//! own history is the transcript checked.

use guest_chat_emulator::{AgentMode, Emulator, EmulatorHandle, Faults};
use purecloud_guest_chat_client::session::GuestChat;
use purecloud_guest_chat_client::{
    ApiClient, BodyType, CreateWebChatConversationRequest, Error, GetMessagesOptions, LogFormat,
    LogLevel, LoggerSettings, RetryPolicy, SortOrder,
};
use std::time::Duration;

async fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .agent(AgentMode::Manual)
        .agent_delay(Duration::from_millis(5))
        .rate_limit(100_000, Duration::from_secs(60))
        .start()
        .await
        .expect("emulator starts")
}

/// A chat started on a new emulator, then `faults` set there.
async fn chat_under(faults: Faults) -> (EmulatorHandle, GuestChat) {
    let emu = emulator().await;
    let chat = start(&emu).await;
    emu.set_faults(faults).unwrap();
    (emu, chat)
}

/// Faults: every message stored, its answer lost.
fn lost_answers() -> Faults {
    Faults {
        message_lost_answer_rate: 1.0,
        ..Faults::default()
    }
}

/// Default retries (3), short back-off so the tests stay quick.
fn client(emu: &EmulatorHandle) -> ApiClient {
    ApiClient::builder()
        .environment(emu.base_url().as_str())
        .no_config_file()
        .no_proxy()
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(10)))
        .build()
        .expect("client builds")
}

async fn start(emu: &EmulatorHandle) -> GuestChat {
    let request = CreateWebChatConversationRequest::new("org-1", "dep-1", "Support", "Ada");
    GuestChat::start(&client(emu), &request)
        .await
        .expect("chat starts")
}

/// The guest's standard and notice messages as the emulator stored them, oldest first
/// (read with the faults cleared).
async fn transcript(emu: &EmulatorHandle, chat: &GuestChat) -> Vec<String> {
    emu.set_faults(Faults::default()).expect("faults cleared");
    let page = chat
        .api()
        .get_webchat_guest_conversation_messages(
            chat.conversation_id(),
            &GetMessagesOptions::new()
                .sort_order(SortOrder::Ascending)
                .max_results(100),
        )
        .await
        .expect("history");
    page.entities
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.sender.as_ref().and_then(|s| s.id.as_deref()) == Some(chat.member_id()))
        .filter(|m| matches!(m.body_type, Some(BodyType::Standard | BodyType::Notice)))
        .map(|m| m.body.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_lost_answer_is_found_in_the_history_not_sent_again() {
    let (emu, chat) = chat_under(lost_answers()).await;
    let first = chat.send("stored, answer lost").await.expect("resolved");
    assert_eq!(first.body.as_deref(), Some("stored, answer lost"));
    let second = chat.send_notice("a notice too").await.expect("resolved");
    assert_eq!(second.body_type, Some(BodyType::Notice));
    assert_ne!(first.id, second.id);
    assert_eq!(
        transcript(&emu, &chat).await,
        ["stored, answer lost", "a notice too"]
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn identical_texts_each_arrive_once() {
    let emu = emulator().await;
    let chat = start(&emu).await;
    chat.send("same").await.expect("plain send");
    emu.set_faults(lost_answers()).unwrap();
    // Sent at once: serialised, and neither takes the other's (or the earlier) message.
    let (a, b) = tokio::join!(chat.send("same"), chat.send("same"));
    let (a, b) = (a.expect("a"), b.expect("b"));
    assert_ne!(a.id, b.id);
    assert_eq!(transcript(&emu, &chat).await, ["same", "same", "same"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn refused_before_storing_is_sent_again_a_bounded_number_of_times() {
    let emu = emulator().await;
    let chat = start(&emu).await;
    // The SDK log (JSON, one line per failed call) counts the POSTs.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sdk.log");
    let config = chat.api().client().config();
    config
        .set_logger(LoggerSettings {
            log_level: LogLevel::Error,
            log_format: LogFormat::Json,
            log_to_console: false,
            log_file_path: Some(log.clone()),
            log_request_body: false,
            log_response_body: false,
        })
        .unwrap();
    emu.set_faults(Faults {
        message_error_rate: 1.0,
        ..Faults::default()
    })
    .unwrap();
    let e = chat.send("never stored").await.unwrap_err();
    assert_eq!(e.status(), Some(503), "{e}");
    assert!(config.logger().flush(Duration::from_secs(10)));
    let posts = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["method"] == "POST" && v["url"].as_str().unwrap().ends_with("/messages"))
        .count();
    let retries = RetryPolicy::default().max_retries;
    assert_eq!(posts, 1 + retries as usize, "first POST and {retries} more");
    assert!(transcript(&emu, &chat).await.is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn every_message_once_and_in_order_under_both_faults() {
    let (emu, chat) = chat_under(Faults {
        message_error_rate: 0.25,
        message_lost_answer_rate: 0.25,
        seed: Some(7),
        ..Faults::default()
    })
    .await;
    let mut sent = Vec::new();
    for i in 0..40 {
        let text = format!("message {i}");
        let m = chat
            .send(&text)
            .await
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(m.body.as_deref(), Some(text.as_str()));
        sent.push(text);
    }
    assert_eq!(transcript(&emu, &chat).await, sent);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_garbled_2xx_is_never_sent_again() {
    // Every 200 garbled, the history's too: the send cannot be settled and says so.
    let (emu, chat) = chat_under(Faults {
        non_json_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let e = chat.send("delivered, answer garbled").await.unwrap_err();
    match &e {
        Error::DeliveryUnknown { attempts, last, .. } => {
            assert_eq!(*attempts, 1);
            assert_eq!(last.status(), Some(200));
        }
        other => panic!("expected DeliveryUnknown, got {other:?}"),
    }
    assert_eq!(transcript(&emu, &chat).await, ["delivered, answer garbled"]);
    emu.shutdown().await;
}
