//! Emulated agents: echo, scripted, or manual (driven by the control API).

use crate::conv::{AgentInput, Conversation};
use crate::error::EmulatorError;
use guest_chat_model::BodyType;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How the agent of each new conversation behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentMode {
    /// Greets, echoes every standard guest message (`You said: ...`), ends on `bye`.
    #[default]
    Echo,
    /// Runs these steps after joining.
    Script(Vec<ScriptStep>),
    /// Joins, then does nothing unless driven by the control API.
    Manual,
}

impl AgentMode {
    /// `echo`, `manual`, or `script`.
    pub fn name(&self) -> &'static str {
        match self {
            AgentMode::Echo => "echo",
            AgentMode::Script(_) => "script",
            AgentMode::Manual => "manual",
        }
    }

    /// A script mode from script text (see [`parse_script`]).
    pub fn script(text: &str) -> Result<AgentMode, EmulatorError> {
        parse_script(text).map(AgentMode::Script)
    }

    /// A script mode from a script file.
    pub fn script_file(path: impl AsRef<std::path::Path>) -> Result<AgentMode, EmulatorError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| EmulatorError::Config(format!("{}: {e}", path.display())))?;
        AgentMode::script(&text)
    }

    /// Parses the `--agent` flag: `echo`, `manual` or `script:<file>`.
    pub fn from_flag(flag: &str) -> Result<AgentMode, EmulatorError> {
        match flag {
            "echo" => Ok(AgentMode::Echo),
            "manual" => Ok(AgentMode::Manual),
            other => match other.strip_prefix("script:") {
                Some(path) => AgentMode::script_file(path),
                None => Err(EmulatorError::Config(format!(
                    "--agent {other}: expected echo, manual or script:<file>"
                ))),
            },
        }
    }
}

/// One step of an agent script.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptStep {
    /// `wait 500ms` / `wait 2s`: pause.
    Wait(Duration),
    /// `typing`: send a typing indicator.
    Typing,
    /// `say <text>`: send a standard message.
    Say(String),
    /// `notice <text>`: send a notice message.
    Notice(String),
    /// `await-message`: wait for the next guest message.
    AwaitMessage,
    /// `transfer [name]`: hand the chat to a new agent.
    Transfer(Option<String>),
    /// `end`: end the chat.
    End,
}

fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.trim().parse().ok().map(Duration::from_millis);
    }
    if let Some(secs) = s.strip_suffix('s') {
        return secs
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .and_then(|v| Duration::try_from_secs_f64(v).ok());
    }
    s.parse().ok().map(Duration::from_millis)
}

/// Parses an agent script: one step per line, `#` starts a comment line, blank lines ignored.
pub fn parse_script(text: &str) -> Result<Vec<ScriptStep>, EmulatorError> {
    let mut steps = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (cmd, rest) = match line.split_once(char::is_whitespace) {
            Some((c, r)) => (c, r.trim()),
            None => (line, ""),
        };
        let err = |message: &str| EmulatorError::Script {
            line: n + 1,
            message: message.to_owned(),
        };
        let step = match cmd.to_ascii_lowercase().as_str() {
            "wait" => ScriptStep::Wait(
                parse_duration(rest)
                    .ok_or_else(|| err("expected a duration such as 500ms or 2s"))?,
            ),
            "typing" => ScriptStep::Typing,
            "say" if !rest.is_empty() => ScriptStep::Say(rest.to_owned()),
            "notice" if !rest.is_empty() => ScriptStep::Notice(rest.to_owned()),
            "say" | "notice" => return Err(err("expected text after the command")),
            "await-message" => ScriptStep::AwaitMessage,
            "transfer" => ScriptStep::Transfer((!rest.is_empty()).then(|| rest.to_owned())),
            "end" => ScriptStep::End,
            other => return Err(err(&format!("unknown step `{other}`"))),
        };
        steps.push(step);
    }
    Ok(steps)
}

/// Agent settings captured when a conversation's agent starts.
#[derive(Debug, Clone)]
pub(crate) struct AgentPlan {
    pub mode: AgentMode,
    pub delay: Duration,
    pub name: String,
    /// A message an Architect inbound flow (a WORKFLOW member) posts before the agent joins.
    pub workflow_message: Option<String>,
    /// End the chat after this long without guest activity.
    pub inactivity_timeout: Option<Duration>,
}

/// Display name of the WORKFLOW member.
pub(crate) const WORKFLOW_NAME: &str = "Inbound chat flow";

/// Name of the agent a transfer brings in when none is given.
pub(crate) const TRANSFER_NAME: &str = "Morgan";

/// ALERTING -> (delay) -> CONNECTED for a new agent.
pub(crate) async fn join(
    conv: &Conversation,
    name: &str,
    delay: Duration,
) -> Result<String, EmulatorError> {
    tokio::time::sleep(delay).await;
    let id = conv.agent_alerting(name)?;
    tokio::time::sleep(delay).await;
    conv.agent_connect(&id)?;
    Ok(id)
}

/// Current agent leaves; a new one joins.
pub(crate) async fn transfer(
    conv: &Conversation,
    name: &str,
    delay: Duration,
) -> Result<String, EmulatorError> {
    conv.agent_leave()?;
    join(conv, name, delay).await
}

/// The agent task of one conversation; ends with the conversation's cancel token.
pub(crate) async fn run(conv: Arc<Conversation>, plan: AgentPlan) {
    let Some(mut rx) = conv.take_agent_rx() else {
        return;
    };
    let cancel = conv.cancel.clone();
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = async {
            // An agent that is done (or failed) leaves the chat open: only the watchdog or
            // the end of the conversation stops this task.
            let _ = behave(&conv, &plan, &mut rx).await;
            std::future::pending::<()>().await;
        } => {}
        _ = inactivity_watchdog(&conv, plan.inactivity_timeout) => {}
    }
}

/// Ends the chat once the guest has been inactive for `timeout` (never when `None`).
async fn inactivity_watchdog(conv: &Conversation, timeout: Option<Duration>) {
    let Some(timeout) = timeout else {
        return std::future::pending().await;
    };
    loop {
        let deadline = conv.last_guest_activity() + timeout;
        tokio::time::sleep_until(deadline).await;
        if conv.last_guest_activity() + timeout <= tokio::time::Instant::now() {
            let _ = conv.end_by_agent();
            return;
        }
    }
}

async fn next_message(
    rx: &mut mpsc::UnboundedReceiver<Box<AgentInput>>,
) -> Option<(String, BodyType)> {
    match *rx.recv().await? {
        AgentInput::GuestMessage { body, body_type } => Some((body, body_type)),
    }
}

async fn behave(
    conv: &Conversation,
    plan: &AgentPlan,
    rx: &mut mpsc::UnboundedReceiver<Box<AgentInput>>,
) -> Result<(), EmulatorError> {
    if let Some(text) = &plan.workflow_message {
        tokio::time::sleep(plan.delay).await;
        conv.workflow_says(WORKFLOW_NAME, text.clone())?;
    }
    join(conv, &plan.name, plan.delay).await?;
    match &plan.mode {
        AgentMode::Echo => {
            conv.agent_say(
                format!(
                    "Hello {}, I'm {}. How can I help?",
                    conv.guest_name, plan.name
                ),
                BodyType::Standard,
            )?;
            while let Some((body, body_type)) = next_message(rx).await {
                if body_type != BodyType::Standard {
                    continue;
                }
                conv.agent_typing()?;
                tokio::time::sleep(plan.delay).await;
                if body.trim() == "bye" {
                    conv.agent_say("Goodbye!".to_owned(), BodyType::Standard)?;
                    conv.end_by_agent()?;
                    return Ok(());
                }
                conv.agent_say(format!("You said: {body}"), BodyType::Standard)?;
            }
        }
        AgentMode::Script(steps) => {
            for step in steps {
                match step {
                    ScriptStep::Wait(d) => tokio::time::sleep(*d).await,
                    ScriptStep::Typing => {
                        conv.agent_typing()?;
                    }
                    ScriptStep::Say(t) => {
                        conv.agent_say(t.clone(), BodyType::Standard)?;
                    }
                    ScriptStep::Notice(t) => {
                        conv.agent_say(t.clone(), BodyType::Notice)?;
                    }
                    ScriptStep::AwaitMessage => {
                        if next_message(rx).await.is_none() {
                            return Ok(());
                        }
                    }
                    ScriptStep::Transfer(name) => {
                        transfer(conv, name.as_deref().unwrap_or(TRANSFER_NAME), plan.delay)
                            .await?;
                    }
                    ScriptStep::End => {
                        conv.end_by_agent()?;
                        return Ok(());
                    }
                }
            }
            conv.agent_stops_reading();
            while next_message(rx).await.is_some() {}
        }
        AgentMode::Manual => {
            conv.agent_stops_reading();
            while next_message(rx).await.is_some() {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_script() {
        let steps = parse_script("# hi\nwait 500ms\n\ntyping\nsay Hello there\nawait-message\ntransfer Bob\ntransfer\nwait 2s\nend\n").unwrap();
        assert_eq!(
            steps,
            vec![
                ScriptStep::Wait(Duration::from_millis(500)),
                ScriptStep::Typing,
                ScriptStep::Say("Hello there".into()),
                ScriptStep::AwaitMessage,
                ScriptStep::Transfer(Some("Bob".into())),
                ScriptStep::Transfer(None),
                ScriptStep::Wait(Duration::from_secs(2)),
                ScriptStep::End,
            ]
        );
        assert!(matches!(
            parse_script("jump"),
            Err(EmulatorError::Script { line: 1, .. })
        ));
        assert!(parse_script("wait soon").is_err());
        assert!(
            parse_script("wait 1e30s").is_err(),
            "too long for a Duration: an error, not a panic"
        );
        assert!(parse_script("say").is_err());
    }

    /// Lets spawned tasks run after a clock change.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn inactivity_counts_from_the_guests_last_message_or_typing() {
        use crate::conv::{ConversationState, NewConversation};
        use guest_chat_model::WebChatMemberInfo;
        let parent = tokio_util::sync::CancellationToken::new();
        let conv = Conversation::new(
            NewConversation {
                org_id: "org".into(),
                deployment_id: "dep".into(),
                queue_name: "Support".into(),
                guest: WebChatMemberInfo {
                    id: Some("guest".into()),
                    ..Default::default()
                },
                agent_mode_name: "manual",
                expires_at: std::time::Instant::now() + Duration::from_secs(3600),
            },
            &parent,
        );
        assert!(conv.activate());
        let watched = conv.clone();
        let watchdog = tokio::spawn(async move {
            inactivity_watchdog(&watched, Some(Duration::from_millis(1500))).await;
        });
        settle().await;
        tokio::time::advance(Duration::from_millis(1000)).await;
        conv.guest_typing(false).unwrap();
        tokio::time::advance(Duration::from_millis(1000)).await;
        settle().await;
        // 2 s since creation, but only 1 s since the typing indicator.
        assert_eq!(conv.state(), ConversationState::Queued);
        conv.guest_message("hi".into(), BodyType::Standard, false)
            .unwrap()
            .unwrap();
        tokio::time::advance(Duration::from_millis(1400)).await;
        settle().await;
        assert_eq!(conv.state(), ConversationState::Queued);
        tokio::time::advance(Duration::from_millis(200)).await;
        settle().await;
        assert_eq!(conv.state(), ConversationState::Ended);
        assert!(watchdog.is_finished());
    }
}
