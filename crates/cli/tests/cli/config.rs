//! The configuration file and the log level: a broken file is one warning line, at start
//! or while chatting.

use crate::support::*;

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
