//! End-to-end tests of the `guest-chat` binary: demo, `chat --plain` (text and JSON) against
//! the embedded emulator, and the error paths.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test; `GUEST_CHAT_TEST_BIN` runs the tests against another build (to
/// see a new test fail on an old binary).
fn bin() -> String {
    std::env::var("GUEST_CHAT_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_guest-chat").into())
}
const LIMIT: Duration = Duration::from_secs(30);

/// A HOME with no configuration file in it (the temporary directory might have one).
fn empty_home() -> &'static std::path::Path {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().expect("tempdir"))
        .path()
}

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
    let mut child = Command::new(bin())
        .args(args)
        .env("HOME", empty_home()) // no user config file
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
    errs: mpsc::Receiver<String>,
    err_seen: Vec<String>,
}

/// The lines of `r` on a channel, read by a thread.
fn line_channel<R: std::io::Read + Send + 'static>(r: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Plain {
    fn spawn(extra: &[&str]) -> Plain {
        let mut argv = vec!["chat", "--plain", "--agent-delay-ms", "100"];
        argv.extend(extra);
        Plain::spawn_with(&argv, empty_home())
    }

    /// `guest-chat ARGV` with this HOME, stdin, stdout and stderr piped.
    fn spawn_with(argv: &[&str], home: &std::path::Path) -> Plain {
        let mut child = Command::new(bin())
            .args(argv)
            .env("HOME", home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn guest-chat");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        Plain {
            child,
            lines: line_channel(stdout),
            seen: Vec::new(),
            errs: line_channel(stderr),
            err_seen: Vec::new(),
        }
    }

    /// Reads stderr lines until one satisfies `pred`, within the limit.
    fn wait_for_err(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.errs.recv_timeout(left) {
                Ok(line) => {
                    self.err_seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no stderr line with {what} within {LIMIT:?}; stderr:\n{}\nstdout:\n{}",
                        self.err_seen.join("\n"),
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    fn stderr_text(&mut self) -> String {
        while let Ok(line) = self.errs.recv_timeout(Duration::from_millis(500)) {
            self.err_seen.push(line);
        }
        let mut text = self.err_seen.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        text
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
                    let err = self.stderr_text();
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
        let err = self.stderr_text();
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
    let mut child = Command::new(bin())
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

// ---- pipes, exit codes, failed sends, signals, hostile text, config warnings, hints ----

/// `guest-chat emulator` with these flags, and its base URL.
fn emulator_url(flags: &[&str]) -> (Child, String) {
    let mut argv = vec!["--port", "0"];
    argv.extend(flags);
    let (mut child, lines) = spawn_emulator(&argv);
    let first = lines.recv_timeout(LIMIT).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("the emulator printed no line within {LIMIT:?}");
    });
    let url = first
        .strip_prefix("guest-chat emulator listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .split_whitespace()
        .next()
        .expect("url")
        .to_owned();
    (child, url)
}

/// One call to the emulator's control API (or any URL), the JSON answer.
fn http(method: &str, url: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::new();
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = client.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("control request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        assert!(status.is_success(), "{url}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    })
}

/// The state the emulator holds for the guest of conversation `cid`.
fn guest_state(url: &str, cid: &str) -> String {
    let snap = http("GET", &format!("{url}/emulator/conversations/{cid}"), None);
    let guest = snap["guestId"].as_str().expect("guestId").to_owned();
    let member = snap["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["id"] == guest.as_str())
        .unwrap_or_else(|| panic!("no guest member in {snap}"))
        .clone();
    member["state"].as_str().unwrap_or_default().to_owned()
}

fn set_faults(url: &str, faults: serde_json::Value) {
    http("POST", &format!("{url}/emulator/faults"), Some(faults));
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
    let mut argv = vec!["chat", "--plain", "--json"];
    argv.extend(deployment(&url, "Support"));
    let mut chat = Plain::spawn_with(&argv, empty_home());
    let started = chat.wait_for("the started object", |l| l.contains("\"started\""));
    let started: serde_json::Value = serde_json::from_str(&started).expect("JSON");
    let cid = started["conversationId"].as_str().expect("id").to_owned();
    chat.wait_for("the greeting", |l| l.contains("How can I help"));
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
    let mut argv = vec!["chat", "--plain", "--json"];
    argv.extend(deployment(&url, "Support"));
    let mut chat = Plain::spawn_with(&argv, empty_home());
    let started = chat.wait_for("the started object", |l| l.contains("\"started\""));
    let started: serde_json::Value = serde_json::from_str(&started).expect("JSON");
    let cid = started["conversationId"].as_str().expect("id").to_owned();
    chat.wait_for("the greeting", |l| l.contains("How can I help"));

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
    let mut argv = vec!["chat", "--plain", "--json"];
    argv.extend(deployment(&url, "Support"));
    let mut chat = Plain::spawn_with(&argv, empty_home());
    let started = chat.wait_for("the started object", |l| l.contains("\"started\""));
    let started: serde_json::Value = serde_json::from_str(&started).expect("JSON");
    let cid = started["conversationId"].as_str().expect("id").to_owned();
    chat.wait_for("the greeting", |l| l.contains("How can I help"));
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

/// A JWT-shaped token as a hostile server would echo it.
const HOSTILE_JWT: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJndWVzdC0xMjM0NTY3ODkwIn0.c2lnbmF0dXJlLW9mLXRoZS1ndWVzdC10b2tlbi0xMjM0NTY3ODkw";

/// Issue 10 F1: a server that puts a JWT in `ININ-Correlation-Id` (and the body) does not get
/// it printed. Before: the error line ended in `(correlation id eyJ...)`.
#[test]
fn a_jwt_in_the_correlation_id_is_never_printed() {
    use axum::http::{HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().fallback(|| async {
        let body = format!(
            r#"{{"status":400,"code":"bad.request","message":"no","contextId":"{HOSTILE_JWT}"}}"#
        );
        let mut resp = (StatusCode::BAD_REQUEST, body).into_response();
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("inin-correlation-id", HeaderValue::from_static(HOSTILE_JWT));
        resp
    });
    rt.spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://127.0.0.1:{port}");
    let mut argv = vec!["chat", "--plain"];
    argv.extend(deployment(&url, "Support"));
    let (status, out, err) = run(&argv);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("HTTP 400"), "{err}");
    let signature = HOSTILE_JWT.rsplit('.').next().expect("signature");
    for piece in [
        HOSTILE_JWT,
        signature,
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9",
    ] {
        assert!(!err.contains(piece), "token printed: {err}");
        assert!(!out.contains(piece), "token printed: {out}");
    }
}

/// Broken configuration files, each with the text a warning must show.
fn broken_configs(dir: &std::path::Path) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let blocked = dir.join("not-a-dir");
    std::fs::write(&blocked, "a file").expect("write");
    vec![
        ("syntax", b"[logging]\nlog_level\n".to_vec(), "line 2"),
        (
            "level",
            b"[logging]\nlog_level = verbose\n".to_vec(),
            "line 2",
        ),
        (
            "junk",
            vec![0xff, 0xfe, 0x00, 0x9b, 0x1b, b'\n', 0xc3],
            "UTF-8",
        ),
        (
            "log-file",
            format!(
                "[logging]\nlog_level = debug\nlog_file_path = {}/sub/log.txt\n",
                blocked.display()
            )
            .into_bytes(),
            "line 3",
        ),
    ]
}

/// Issue 10 F4: every broken configuration file is one warning line naming the file, the line
/// (where there is one) and the reason; the chat still runs. With --config and at the default
/// path. Before: nothing on stderr.
#[test]
fn config_problems_are_one_warning_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, content, reason) in broken_configs(dir.path()) {
        let file = dir.path().join(format!("{name}.ini"));
        std::fs::write(&file, &content).expect("write");
        let home = dir.path().join(format!("home-{name}"));
        let default = home.join(".genesyscloudrust-guest/config");
        std::fs::create_dir_all(default.parent().expect("parent")).expect("mkdir");
        std::fs::write(&default, &content).expect("write");
        let file_arg = file.to_str().expect("utf-8").to_owned();
        for (argv, path) in [
            (vec!["--config", file_arg.as_str()], &file),
            (vec![], &default),
        ] {
            let mut full = vec![
                "chat",
                "--plain",
                "--agent-delay-ms",
                "20",
                "--linger-secs",
                "0",
            ];
            full.extend(argv);
            let mut chat = Plain::spawn_with(&full, &home);
            drop(chat.child.stdin.take());
            let (status, lines, err) = chat.finish();
            assert!(status.success(), "{name}: {status:?} {err}\n{lines:#?}");
            let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
            assert_eq!(warnings.len(), 1, "{name}: {err}");
            let w = warnings[0];
            assert!(w.contains(&path.display().to_string()), "{name}: {w}");
            assert!(w.contains(reason), "{name}: {w}");
            assert!(!w.contains('\u{1b}'), "{name}: {w:?}");
        }
    }
}

/// Issue 10 F4: a configuration file broken while the chat runs is one warning line; fixed
/// again, nothing more.
#[test]
fn a_config_file_broken_while_chatting_is_one_warning_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("config.ini");
    std::fs::write(&file, "[logging]\nlog_level = none\n").expect("write");
    let file_arg = file.to_str().expect("utf-8");
    let mut chat = Plain::spawn(&["--config", file_arg]);
    chat.wait_for("the greeting", |l| l.contains("How can I help"));
    std::fs::write(&file, "[logging]\nlog_level = loud\n").expect("write");
    let w = chat.wait_for_err("the warning", |l| l.starts_with("warning: "));
    assert!(
        w.contains(file_arg) && w.contains("line 2") && w.contains("loud"),
        "{w}"
    );
    chat.write("still chatting");
    chat.wait_for("the echo", |l| l.contains("You said: still chatting"));
    drop(chat.child.stdin.take());
    let (status, _, err) = chat.finish();
    assert!(status.success(), "{status:?} {err}");
}

/// Issue 9: `demo` takes --config and --log-level like `chat`.
#[test]
fn demo_takes_config_and_log_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("config.ini");
    std::fs::write(&file, "[logging]\nlog_level = verbose\n").expect("write");
    let (status, out, err) = run(&[
        "demo",
        "--agent-delay-ms",
        "20",
        "--guest-delay-ms",
        "20",
        "--config",
        file.to_str().expect("utf-8"),
        "--log-level",
        "debug",
    ]);
    assert!(status.success(), "{status:?}\n{out}\n{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("verbose"), "{err}");
    assert!(
        out.contains("demo finished: 7 messages, 2 members"),
        "{out}"
    );
    assert!(out.contains("POST"), "no debug log of the requests:\n{out}");
    let (status, _, err) = run(&["demo", "--log-level", "loud"]);
    assert_eq!(status.code(), Some(2), "{err}");
}

/// Issue 10 F11: `--config <directory>` says it is a directory.
#[test]
fn config_directory_is_named_as_such() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (status, _, err) = run(&[
        "chat",
        "--plain",
        "--config",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("is a directory"), "{err}");
    assert!(!err.contains("does not exist"), "{err}");
}

/// A certificate and key (PEM) for `name`, valid from `not_before` to `not_after` (years).
fn test_certificate(dir: &std::path::Path, name: &str, years: (i32, i32)) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).expect("params");
    params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
    params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
    let cert = params.self_signed(&key).expect("certificate");
    let (c, k) = (
        dir.join(format!("{name}-{}.pem", years.1)),
        dir.join(format!("{name}-{}.key", years.1)),
    );
    std::fs::write(&c, cert.pem()).expect("write");
    std::fs::write(&k, key.serialize_pem()).expect("write");
    (c.display().to_string(), k.display().to_string())
}

/// `chat` against `url` trusting `root`; its stderr.
fn chat_error(url: &str, root: Option<&str>) -> String {
    let mut argv = vec!["chat", "--plain"];
    argv.extend(deployment(url, "Support"));
    if let Some(r) = root {
        argv.extend(["--root-cert", r]);
    }
    let (status, _, err) = run(&argv);
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

/// Issue 10 F11: a name mismatch, an expired certificate and https to a plain-http port each
/// get their own hint. Before: all three said "pass it with --root-cert".
#[test]
fn tls_failures_get_accurate_hints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = test_certificate(dir.path(), "chat.example.test", (2020, 2090));
    let (mut emu, url) = emulator_url(&["--tls-cert", &cert, "--tls-key", &key]);
    let err = chat_error(&url, Some(&cert));
    let _ = emu.kill();
    let _ = emu.wait();
    assert!(err.contains("not valid for this host name"), "{err}");
    assert!(!err.contains("--root-cert"), "{err}");

    let (cert, key) = test_certificate(dir.path(), "localhost", (2001, 2002));
    let (mut emu, url) = emulator_url(&["--tls-cert", &cert, "--tls-key", &key]);
    let url = url.replace("127.0.0.1", "localhost");
    let err = chat_error(&url, Some(&cert));
    let _ = emu.kill();
    let _ = emu.wait();
    assert!(err.contains("expired"), "{err}");
    assert!(!err.contains("--root-cert"), "{err}");

    let (mut emu, url) = emulator_url(&[]);
    let err = chat_error(&url.replace("http://", "https://"), None);
    let _ = emu.kill();
    let _ = emu.wait();
    assert!(err.contains("http://"), "{err}");
    assert!(!err.contains("--root-cert"), "{err}");
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
