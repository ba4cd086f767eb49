//! `guest-chat` over Web Messaging: the demo, a whole `chat --plain` with the embedded
//! emulator, and a conversation resumed across runs with --token-file.

use crate::support::run_with_input as run;
use guest_chat_emulator::{AgentMode, Emulator};
use std::time::Duration;

#[test]
fn the_demo_runs_over_web_messaging() {
    let (code, out, err) = run(
        &[
            "demo",
            "--web-messaging",
            "--agent-delay-ms",
            "20",
            "--guest-delay-ms",
            "40",
        ],
        "",
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Web Messaging conversation"), "{out}");
    assert!(
        out.contains("Riley (agent): You said: Great, thanks for your help!"),
        "{out}"
    );
    assert!(out.contains("demo finished: 6 messages"), "{out}");
    assert!(out.contains("chat ended by guest"), "{out}");
}

#[test]
fn a_whole_plain_chat_over_web_messaging() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let token_arg = token_file.to_str().unwrap();
    let (code, out, err) = run(
        &[
            "chat",
            "--web-messaging",
            "--plain",
            "--agent-delay-ms",
            "20",
            "--token-file",
            token_arg,
        ],
        "hello there\nsecond line\n/leave\n",
    );
    println!("{out}");
    assert_eq!(code, Some(0), "{out}{err}");
    let lines: Vec<&str> = out.lines().map(|l| l.get(10..).unwrap_or(l)).collect();
    let pos = |needle: &str| {
        lines
            .iter()
            .position(|l| *l == needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {out}"))
    };
    assert!(pos("Ada (you): hello there") < pos("Riley (agent): You said: hello there"));
    assert!(pos("Ada (you): second line") < pos("Riley (agent): You said: second line"));
    assert_eq!(
        lines.last(),
        Some(&"chat ended: you left the chat"),
        "{out}"
    );
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert!(!token.is_empty());
    assert!(
        !out.contains(&token) && !err.contains(&token),
        "the token is never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_token_file_resumes_the_conversation_in_the_next_run() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt
        .block_on(
            Emulator::builder()
                .agent(AgentMode::Echo)
                .agent_delay(Duration::from_millis(5))
                .start(),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let base = emu.base_url();
    let args = [
        "chat",
        "--web-messaging",
        "--plain",
        "--environment",
        base.as_str(),
        "--deployment-id",
        "dep-cli",
        "--token-file",
        token_file.to_str().unwrap(),
    ];
    let (code, out, err) = run(&args, "first run\n");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("conversation kept"), "{out}");
    let (code, out, err) = run(&args, "second run\n");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("You said: second run"), "{out}");
    let sessions = emu.web_messaging().sessions();
    assert_eq!(sessions.len(), 1, "one conversation over both runs");
    assert_eq!(sessions[0].messages, 4, "two texts and two echoes");
    let (code, out, err) = run(&args, "/leave\n");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        emu.web_messaging().sessions().is_empty(),
        "cleared by /leave"
    );
    rt.block_on(emu.shutdown());
}

#[test]
fn web_messaging_needs_only_a_deployment_id() {
    let (code, _, err) = run(
        &[
            "chat",
            "--web-messaging",
            "--plain",
            "--environment",
            "mypurecloud.ie",
        ],
        "",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--deployment-id"), "{err}");
    assert!(!err.contains("--organization-id"), "{err}");
}
