//! `chat --plain` (text and JSON) and the demo against the embedded emulator or an emulator
//! child: replies, the end of a chat, failed sends, signals, control characters, end of input.

use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn demo_runs_to_completion() {
    let started = Instant::now();
    let (status, out, err) = run(&["demo"]);
    assert!(
        status.success(),
        "status {status:?}\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert!(out.contains("(agent): Hello Ada"), "no greeting:\n{out}");
    assert!(out.contains("(agent): You said: "), "no echo reply:\n{out}");
    assert!(out.contains("(agent) is typing..."), "no typing:\n{out}");
    assert!(out.contains("Ada (you): "), "no guest message:\n{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("demo finished: 7 messages, 2 members, chat ended by guest in "),
        "last line: {last}"
    );
    assert!(err.is_empty(), "stderr: {err}");
    assert!(started.elapsed() < Duration::from_secs(20), "demo too slow");
}

#[test]
fn plain_chat_against_the_embedded_emulator() {
    let mut chat = Plain::spawn(&[]);
    chat.wait_for("the start line", |l| {
        l.contains("chat started on embedded emulator")
    });
    chat.write("hello from a pipe");
    chat.wait_for("the echo reply", |l| {
        l.contains("(agent): You said: hello from a pipe")
    });
    chat.write("/leave");
    chat.wait_for("the end", |l| l.contains("chat ended: you left the chat"));
    let (status, _, err) = chat.finish();
    assert!(status.success(), "status {status:?}, stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn plain_chat_says_when_the_agent_ended_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("agent.txt");
    std::fs::write(&script, "say that is all from me\nend\n").expect("script");
    let agent = format!("script:{}", script.display());
    let (mut emulator, url) = emulator_url(&["--agent-delay-ms", "20", "--agent", &agent]);
    let mut argv = vec!["--json"];
    argv.extend(deployment(&url, "Support"));
    let chat = Plain::spawn(&argv);
    let (status, lines, err) = chat.finish();
    let _ = emulator.kill();
    let _ = emulator.wait();
    assert!(status.success(), "status {status:?}, stderr: {err}");
    let last: serde_json::Value =
        serde_json::from_str(lines.last().expect("lines")).expect("JSON line");
    assert_eq!(last["type"], "ended", "{lines:?}");
    assert_eq!(last["reason"], "chat-ended");
    assert_eq!(last["endedBy"], "agent");
    assert_eq!(last["message"], "the agent ended the chat");
    assert!(
        lines.iter().any(|l| l.contains("that is all from me")),
        "{lines:?}"
    );
}

#[test]
fn plain_chat_leaves_at_end_of_input() {
    let mut chat = Plain::spawn(&[]);
    chat.wait_for("the start line", |l| l.contains("chat started"));
    chat.write("one line");
    chat.wait_for("the echo reply", |l| l.contains("You said: one line"));
    drop(chat.child.stdin.take()); // EOF
    let (status, lines, err) = chat.finish();
    assert!(status.success(), "status {status:?}, stderr: {err}");
    assert!(
        lines.iter().any(|l| l.contains("Ada (you) left")),
        "{lines:?}"
    );
}

#[test]
fn plain_json_chat_prints_one_object_per_line() {
    let mut chat = Plain::spawn(&["--json", "--name", "Grace"]);
    chat.wait_for("the started object", |l| l.contains("\"started\""));
    chat.write("json please");
    chat.wait_for("the echo reply", |l| l.contains("You said: json please"));
    chat.write("/leave");
    let (status, lines, err) = chat.finish();
    assert!(status.success(), "status {status:?}, stderr: {err}");
    let values: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let reply = values
        .iter()
        .find(|v| v["type"] == "message" && v["text"] == "You said: json please")
        .expect("reply object");
    assert_eq!(reply["role"], "AGENT");
    assert!(reply["from"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(reply["id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(reply["timestamp"]
        .as_str()
        .is_some_and(|s| s.ends_with('Z')));
    let own = values
        .iter()
        .find(|v| v["type"] == "message" && v["text"] == "json please")
        .expect("own message");
    assert_eq!(own["from"], "Grace");
    assert_eq!(own["own"], true);
    let ended = values.last().expect("lines");
    assert_eq!(ended["type"], "ended");
    assert_eq!(ended["endedBy"], "guest");
    assert_eq!(ended["message"], "you left the chat");
    assert!(values.iter().all(|v| v["type"].is_string()));
}

/// Issue 9: `echo hi | guest-chat chat` (no --plain, no terminal) chats line by line,
/// waits for the agent and for its reply, and exits 0. Before: "No such device or address".
#[test]
fn chat_in_a_pipe_switches_to_plain_and_shows_the_reply() {
    let mut child = Command::new(bin())
        .args(["chat"])
        .env("HOME", empty_home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"hello\n").expect("write");
    drop(stdin);
    let status = wait_with_limit(&mut child, LIMIT);
    let (out, err) = (join(out), join(err));
    assert!(
        status.success(),
        "{status:?}\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("not a terminal") && err.contains("--plain"),
        "{err}"
    );
    assert!(out.contains("Ada (you): hello"), "{out}");
    assert!(out.contains("(agent): You said: hello"), "{out}");
    assert!(out.contains("chat ended: you left the chat"), "{out}");
    assert!(
        !out.contains('\u{1b}'),
        "terminal codes in the pipe:\n{out}"
    );
}

/// Issue 9: `printf 'hello\n' | guest-chat chat --plain` with the default agent pace: the
/// line waits for the agent, and the end of input waits for its reply.
#[test]
fn plain_pipe_waits_for_the_agent_and_its_reply() {
    for _ in 0..2 {
        let mut chat = Plain::spawn_with(
            &["chat", "--plain", "--agent-delay-ms", "600"],
            empty_home(),
        );
        chat.write("hello");
        drop(chat.child.stdin.take());
        let (status, lines, err) = chat.finish();
        assert!(status.success(), "{status:?} {err}\n{lines:#?}");
        let pos = |needle: &str| {
            lines
                .iter()
                .position(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no {needle:?} in {lines:#?}"))
        };
        assert!(pos("Riley (agent) joined") < pos("Ada (you): hello"));
        assert!(pos("Ada (you): hello") < pos("You said: hello"));
        assert!(pos("You said: hello") < pos("chat ended: you left the chat"));
    }
}

/// Issue 9's exit-code table for --plain: 1 when the service ended the chat (here: the
/// emulator forgets the conversation), 0 when the agent ended it (tested above).
#[test]
fn plain_exits_1_when_the_service_ends_the_chat() {
    let (mut emulator, url) = emulator_url(&["--agent-delay-ms", "20"]);
    let (chat, cid) = plain_json_chat(&url);
    http(
        "DELETE",
        &format!("{url}/emulator/conversations/{cid}"),
        None,
    );
    let (status, lines, err) = chat.finish();
    let _ = emulator.kill();
    let _ = emulator.wait();
    assert_eq!(status.code(), Some(1), "{err}\n{lines:#?}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
}

/// Issue 10 F3: failed sends (over 4,000 characters, invalid UTF-8, a 503, a non-JSON 200)
/// are reported on stderr and the chat goes on; the end of input leaves the chat, as the
/// emulator confirms. Before: the first failure ended the program and left the chat open.
#[test]
fn failed_sends_are_reported_and_the_chat_goes_on() {
    let (mut emulator, url) = emulator_url(&["--agent-delay-ms", "20"]);
    let (mut chat, cid) = plain_json_chat(&url);

    chat.write(&"x".repeat(4_001));
    {
        let stdin = chat.child.stdin.as_mut().expect("stdin");
        stdin.write_all(b"caf\xe9 latin-1\n").expect("write");
        stdin.flush().expect("flush");
    }
    chat.write("after two bad lines");
    chat.wait_for("the first echo", |l| {
        l.contains("You said: after two bad lines")
    });

    set_faults(&url, serde_json::json!({"errorRate": 1.0}));
    chat.write("during a 503");
    chat.wait_for_err("the 503", |l| {
        l.contains("message not sent") && l.contains("503")
    });
    set_faults(&url, serde_json::json!({"errorRate": 0.0}));
    chat.write("after the 503");
    chat.wait_for("the second echo", |l| l.contains("You said: after the 503"));

    set_faults(&url, serde_json::json!({"nonJsonRate": 1.0}));
    chat.write("with a non-JSON answer");
    // The message is stored (the agent answers it) whether or not the CLI could tell.
    chat.wait_for("its echo", |l| {
        l.contains("You said: with a non-JSON answer")
    });
    set_faults(&url, serde_json::json!({"nonJsonRate": 0.0}));
    chat.write("last line");
    chat.wait_for("the last echo", |l| l.contains("You said: last line"));

    drop(chat.child.stdin.take());
    let (status, lines, err) = chat.finish();
    let state = guest_state(&url, &cid);
    let _ = emulator.kill();
    let _ = emulator.wait();
    assert!(status.success(), "{status:?}\nstderr:\n{err}\n{lines:#?}");
    assert_eq!(state, "DISCONNECTED", "the guest did not leave");
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert!(
        warnings
            .iter()
            .any(|l| l.contains("line 2 is not valid UTF-8")),
        "{err}"
    );
    // The long line and the 503 (the non-JSON answer too, unless the SDK resolved it).
    let not_sent: Vec<&&str> = warnings
        .iter()
        .filter(|l| l.contains("message not sent"))
        .collect();
    assert!(not_sent.len() >= 2, "{err}");
    assert!(not_sent.iter().any(|l| l.contains("503")), "{err}");
    assert!(!err.contains("error: "), "{err}");
}

/// Issue 10 F3: SIGTERM (as `kill` sends), SIGINT (Ctrl-C) and SIGHUP (a closed terminal)
/// leave the chat, exit 0. Before: SIGTERM and SIGHUP killed the process by their default
/// action and the chat stayed open.
#[test]
fn signals_leave_the_chat() {
    for signal in ["-TERM", "-INT", "-HUP"] {
        signal_leaves_the_chat(signal);
    }
}

fn signal_leaves_the_chat(signal: &str) {
    let (mut emulator, url) = emulator_url(&["--agent-delay-ms", "20"]);
    let (chat, cid) = plain_json_chat(&url);
    let term = Command::new("kill")
        .args([signal, &chat.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let (status, lines, err) = chat.finish();
    let state = guest_state(&url, &cid);
    let _ = emulator.kill();
    let _ = emulator.wait();
    assert!(status.success(), "{signal}: {status:?} {err}\n{lines:#?}");
    assert_eq!(state, "DISCONNECTED", "{signal}: the guest did not leave");
}

/// Issue 10 F6: ESC, BEL and CR in an agent's text (and name) reach the terminal as visible
/// text, never as control codes. Before: `\e]0;title\a` and `\e[2J` were printed as is.
#[test]
fn control_characters_from_the_agent_are_made_visible() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("agent.txt");
    std::fs::write(
        &script,
        "say \u{1b}]0;title\u{7}\nsay \u{1b}[2Jcleared\rover\u{9b}1m\nend\n",
    )
    .expect("script");
    let agent = format!("script:{}", script.display());
    let config = dir.path().join("emulator.json");
    std::fs::write(&config, r#"{"agentName": "Eve\u001b[31m"}"#).expect("config");
    let config = config.to_str().expect("utf-8").to_owned();
    let (mut emulator, url) = emulator_url(&[
        "--agent-delay-ms",
        "20",
        "--agent",
        &agent,
        "--config",
        &config,
    ]);
    let mut argv = vec!["chat", "--plain"];
    argv.extend(deployment(&url, "Support"));
    let chat = Plain::spawn_with(&argv, empty_home());
    let (status, lines, err) = chat.finish();
    let _ = emulator.kill();
    let _ = emulator.wait();
    assert!(status.success(), "{status:?} {err}\n{lines:#?}");
    let out = lines.join("\n");
    for c in ['\u{1b}', '\u{7}', '\r', '\u{9b}'] {
        assert!(!out.contains(c), "{c:?} reached the terminal:\n{out:?}");
    }
    assert!(out.contains("\\u{1b}]0;title\\u{7}"), "{out}");
    assert!(
        out.contains("\\u{1b}[2Jcleared\\u{d}over\\u{9b}1m"),
        "{out}"
    );
    assert!(out.contains("Eve\\u{1b}[31m (agent)"), "{out}");
}

/// Issue 9: at the end of input --plain waits for the reply still due (here 2 s late), and
/// `--linger-secs 0` leaves at once without it.
#[test]
fn end_of_input_lingers_for_the_reply_unless_told_not_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("agent.txt");
    std::fs::write(&script, "await-message\nwait 2s\nsay a late reply\n").expect("script");
    let agent = format!("script:{}", script.display());
    let (mut emulator, url) = emulator_url(&["--agent-delay-ms", "20", "--agent", &agent]);
    for (linger, expect_reply) in [("10", true), ("0", false)] {
        let mut argv = vec!["chat", "--plain", "--linger-secs", linger];
        argv.extend(deployment(&url, "Support"));
        let mut chat = Plain::spawn_with(&argv, empty_home());
        chat.write("hello");
        drop(chat.child.stdin.take());
        let (status, lines, err) = chat.finish();
        assert!(status.success(), "{status:?} {err}\n{lines:#?}");
        assert!(
            lines.iter().any(|l| l.contains("Ada (you): hello")),
            "{lines:#?}"
        );
        let replied = lines.iter().any(|l| l.contains("a late reply"));
        assert_eq!(replied, expect_reply, "--linger-secs {linger}:\n{lines:#?}");
    }
    let _ = emulator.kill();
    let _ = emulator.wait();
}

/// `chat --plain --json` against the emulator at `url`, greeted by its agent; with the
/// conversation id from the `started` object.
fn plain_json_chat(url: &str) -> (Plain, String) {
    let mut argv = vec!["chat", "--plain", "--json"];
    argv.extend(deployment(url, "Support"));
    let mut chat = Plain::spawn_with(&argv, empty_home());
    let started = chat.wait_for("the started object", |l| l.contains("\"started\""));
    let started: serde_json::Value = serde_json::from_str(&started).expect("JSON");
    let cid = started["conversationId"].as_str().expect("id").to_owned();
    chat.wait_for("the greeting", |l| l.contains("How can I help"));
    (chat, cid)
}
