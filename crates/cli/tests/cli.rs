//! End-to-end tests of the `guest-chat` binary: demo, `chat --plain` (text and JSON) against
//! the embedded emulator, and the error paths.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_guest-chat");
const LIMIT: Duration = Duration::from_secs(30);

/// Waits for the child to exit, killing it after `limit`.
fn wait_with_limit(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("guest-chat did not exit within {limit:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the binary to completion (bounded), returning (status, stdout, stderr).
fn run(args: &[&str]) -> (ExitStatus, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("HOME", std::env::temp_dir()) // no user config file
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn guest-chat");
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let status = wait_with_limit(&mut child, LIMIT);
    (status, join(out), join(err))
}

fn drain<R: std::io::Read + Send + 'static>(mut r: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = r.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join(h: thread::JoinHandle<String>) -> String {
    h.join().unwrap_or_default()
}

/// A chat process with its stdout lines arriving on a channel.
struct Plain {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Plain {
    fn spawn(extra: &[&str]) -> Plain {
        let mut child = Command::new(BIN)
            .args(["chat", "--plain", "--agent-delay-ms", "100"])
            .args(extra)
            .env("HOME", std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn guest-chat");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = drain(child.stderr.take().expect("stderr"));
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Plain {
            child,
            lines: rx,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    fn write(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Reads lines until one satisfies `pred`, within the limit.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let err = self.stderr.take().map(join).unwrap_or_default();
                    panic!(
                        "no line with {what} within {LIMIT:?}; stdout:\n{}\nstderr:\n{err}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Waits for the exit; returns the status, the remaining stdout lines and stderr.
    fn finish(mut self) -> (ExitStatus, Vec<String>, String) {
        let status = wait_with_limit(&mut self.child, LIMIT);
        self.seen.extend(self.lines.try_iter());
        // The reader thread may still be flushing the last lines.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.seen.push(line);
        }
        let err = self.stderr.take().map(join).unwrap_or_default();
        (status, self.seen, err)
    }
}

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
    let (mut emulator, lines) =
        spawn_emulator(&["--port", "0", "--agent-delay-ms", "20", "--agent", &agent]);
    let first = lines.recv_timeout(LIMIT).expect("listening line");
    let url = first
        .strip_prefix("guest-chat emulator listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .split_whitespace()
        .next()
        .expect("url")
        .to_owned();
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

/// The flags that point `chat` at a deployment: the environment and the ids.
fn deployment<'a>(url: &'a str, queue: &'a str) -> [&'a str; 8] {
    [
        "-e",
        url,
        "--organization-id",
        "o",
        "--deployment-id",
        "d",
        "--queue",
        queue,
    ]
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn unreachable_host_is_one_line_on_stderr() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let mut argv = vec!["chat", "--plain", "--name", "n"];
    argv.extend(deployment(&url, "q"));
    let (status, out, err) = run(&argv);
    assert!(!status.success());
    assert_eq!(status.code(), Some(1));
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.is_empty(), "stdout: {out}");
}

#[test]
fn http_4xx_shows_the_genesys_code_and_correlation_id() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let config = guest_chat_emulator::EmulatorConfig::from_json_str(r#"{"queues":["Support"]}"#)
        .expect("config");
    let emu = rt
        .block_on(
            guest_chat_emulator::Emulator::builder()
                .config(config)
                .start(),
        )
        .expect("emulator");
    let url = emu.base_url();
    let mut argv = vec!["chat", "--plain"];
    argv.extend(deployment(&url, "No Such Queue"));
    let (status, _, err) = run(&argv);
    rt.block_on(emu.shutdown());
    assert_eq!(status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err}");
    assert!(
        err.contains("HTTP 400 Bad Request: chat.error.invalid.queue"),
        "{err}"
    );
    assert!(err.contains("(correlation id "), "{err}");
}

#[test]
fn bad_flags_exit_2() {
    let (status, _, err) = run(&["chat", "--environment", "mypurecloud.ie"]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("--organization-id"), "{err}");
    let (status, _, _) = run(&["chat", "--json"]);
    assert_eq!(status.code(), Some(2));
    let (status, _, _) = run(&["nonsense"]);
    assert_eq!(status.code(), Some(2));
}

#[test]
fn help_has_examples() {
    let (status, out, _) = run(&["--help"]);
    assert!(status.success());
    for cmd in ["demo", "chat", "emulator", "Examples:"] {
        assert!(out.contains(cmd), "{cmd} missing from:\n{out}");
    }
    let (status, out, _) = run(&["emulator", "--help"]);
    assert!(status.success());
    for flag in [
        "--port",
        "--agent",
        "--heartbeat-secs",
        "--rate-limit",
        "--fault",
        "--tls",
        "--tls-cert-out",
        "--tls-cert",
        "--tls-key",
    ] {
        assert!(out.contains(flag), "{flag} missing from:\n{out}");
    }
    let (status, out, _) = run(&["chat", "--help"]);
    assert!(status.success());
    for flag in [
        "--environment",
        "--plain",
        "--json",
        "--config",
        "--email",
        "--root-cert",
    ] {
        assert!(out.contains(flag), "{flag} missing from:\n{out}");
    }
}

#[test]
fn emulator_subcommand_prints_its_base_url() {
    let (mut child, lines) = spawn_emulator(&["--port", "0", "--heartbeat-secs", "5"]);
    let line = lines.recv_timeout(LIMIT).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.starts_with("guest-chat emulator listening on http://127.0.0.1:"),
        "{line}"
    );
}

/// `guest-chat emulator --port 0` with these flags, once it has printed its listening line.
fn listening_emulator(flags: &[&str]) -> Child {
    let mut argv = vec!["--port", "0"];
    argv.extend(flags);
    let (mut child, lines) = spawn_emulator(&argv);
    let line = lines.recv_timeout(LIMIT).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("the emulator printed no line within {LIMIT:?}");
    });
    assert!(
        line.starts_with("guest-chat emulator listening on "),
        "{line}"
    );
    child
}

#[test]
fn emulator_exits_when_its_stdin_closes_with_the_flag() {
    let mut child = listening_emulator(&["--exit-on-stdin-close"]);
    // Still serving while its stdin is open...
    assert!(child.try_wait().expect("try_wait").is_none());
    // ...and gone, cleanly, once it closes (as when the program running it exits).
    drop(child.stdin.take());
    let status = wait_with_limit(&mut child, LIMIT);
    assert!(status.success(), "{status:?}");
}

/// `guest-chat emulator` with these flags, and its stdout lines as they come. Its stdin is a
/// pipe the test holds (for `--exit-on-stdin-close`).
fn spawn_emulator(flags: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .arg("emulator")
        .args(flags)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// The emulator's two TLS lines: its base URL and the certificate file.
fn tls_lines(child: &mut Child, lines: &mpsc::Receiver<String>) -> (String, String) {
    let mut next = || match lines.recv_timeout(LIMIT) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            panic!("the emulator printed no line within {LIMIT:?}");
        }
    };
    let listening = next();
    let url = listening
        .strip_prefix("guest-chat emulator listening on ")
        .unwrap_or_else(|| panic!("{listening}"))
        .to_owned();
    let cert = next();
    let file = cert
        .strip_prefix("TLS certificate to trust (PEM): ")
        .unwrap_or_else(|| panic!("{cert}"))
        .to_owned();
    (url, file)
}

#[test]
fn emulator_with_tls_serves_https_and_a_chat_trusting_its_certificate_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert_out = dir.path().join("emulator.pem");
    let cert_arg = cert_out.to_str().expect("utf-8 path");
    let (mut emulator, lines) = spawn_emulator(&[
        "--port",
        "0",
        "--agent-delay-ms",
        "20",
        "--tls",
        "--tls-cert-out",
        cert_arg,
    ]);
    let (url, file) = tls_lines(&mut emulator, &lines);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert_eq!(file, cert_arg);
    let pem = std::fs::read_to_string(&cert_out).expect("certificate written");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");

    let target = deployment(&url, "Support");
    // Without the certificate: one clear line, no retry loop.
    let mut argv = vec!["chat", "--plain"];
    argv.extend(target);
    let (status, _, err) = run(&argv);
    assert_eq!(status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err}");
    assert!(err.contains("TLS handshake failed"), "{err}");
    assert!(err.contains("not trusted"), "{err}");
    assert!(err.contains("--root-cert FILE"), "{err}");

    // Trusting it: a whole chat over https and wss.
    let mut extra = target.to_vec();
    extra.extend(["--root-cert", cert_arg]);
    let mut chat = Plain::spawn(&extra);
    chat.wait_for("the start line", |l| l.contains("chat started"));
    chat.write("hello over tls");
    chat.wait_for("the echo reply", |l| {
        l.contains("(agent): You said: hello over tls")
    });
    chat.write("/leave");
    chat.wait_for("the end", |l| l.contains("chat ended"));
    let (status, _, err) = chat.finish();
    let _ = emulator.kill();
    let _ = emulator.wait();
    assert!(status.success(), "status {status:?}, stderr: {err}");
}

#[test]
fn emulator_tls_certificate_defaults_to_a_temporary_file_removed_at_exit() {
    let (mut emulator, lines) = spawn_emulator(&["--port", "0", "--tls"]);
    let (url, file) = tls_lines(&mut emulator, &lines);
    assert!(url.starts_with("https://"), "{url}");
    let pem = std::fs::read_to_string(&file).expect("certificate file exists");
    assert!(pem.contains("BEGIN CERTIFICATE"), "{pem}");
    // SIGTERM ends it cleanly (as Ctrl-C would), which removes the file.
    let term = Command::new("kill")
        .args(["-TERM", &emulator.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let status = wait_with_limit(&mut emulator, LIMIT);
    assert!(status.success(), "{status:?}");
    assert!(!std::path::Path::new(&file).exists(), "{file} left behind");
}

/// A script that stops the emulator as soon as it has printed its URL must not meet the
/// default SIGTERM action (signals are listened for before the line is printed). Before that
/// fix about one start in six died by the signal, so twenty starts catch a regression.
#[test]
fn sigterm_right_after_the_listening_line_stops_the_emulator_cleanly() {
    for _ in 0..20 {
        let mut child = listening_emulator(&[]);
        let term = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(term.success());
        let status = wait_with_limit(&mut child, LIMIT);
        assert!(status.success(), "{status:?}");
    }
}

#[test]
fn emulator_tls_flags_are_checked() {
    let (status, _, err) = run(&["emulator", "--tls-cert-out", "x.pem"]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("--tls-cert-out needs --tls"), "{err}");
    let (status, _, err) = run(&["emulator", "--tls-cert", "c.pem"]);
    assert_eq!(status.code(), Some(2), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert, "not a certificate").expect("write");
    std::fs::write(&key, "not a key").expect("write");
    let (status, _, err) = run(&[
        "emulator",
        "--tls-cert",
        cert.to_str().expect("utf-8"),
        "--tls-key",
        key.to_str().expect("utf-8"),
    ]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("TLS"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
