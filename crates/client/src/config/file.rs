//! Parsing the configuration file (INI or JSON) into validated, partial settings.
//!
//! INI is read with `rust-ini`; a line check before it keeps the seed's stricter syntax and
//! gives every error its line, including an invalid *value* (`log_to_console = yes` on line
//! 4), which `rust-ini` cannot (it reports line numbers only for its own syntax errors).

use super::ConfigError;
use crate::logging::{LogFormat, LogLevel};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What a file says; `None` = the key is absent (the current value is kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FileSettings {
    pub log_level: Option<LogLevel>,
    pub log_format: Option<LogFormat>,
    pub log_to_console: Option<bool>,
    /// `Some(None)` = the key is present and empty/null: no log file.
    pub log_file_path: Option<Option<PathBuf>>,
    pub log_request_body: Option<bool>,
    pub log_response_body: Option<bool>,
    pub live_reload_config: Option<bool>,
    /// Raw `host`; validated with `Environment::parse` by the caller (it keeps the line).
    pub host: Option<(String, Option<usize>)>,
    /// The line of `log_file_path`, when known, for an error opening that file.
    pub log_file_path_line: Option<usize>,
}

/// The 1-based line of the first `"key"` in a JSON text (`serde_json` keeps no positions for
/// values), so that a JSON file's invalid value names its line too.
fn json_key_line(text: &str, key: &str) -> Option<usize> {
    let needle = format!("\"{key}\"");
    let at = text.find(&needle)?;
    Some(text[..at].matches('\n').count() + 1)
}

/// The detected layout of a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileFormat {
    Ini,
    Json,
}

/// JSON when the first non-blank, non-comment character is `{`, else INI.
pub(crate) fn detect_format(text: &str) -> FileFormat {
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with(';') || t.starts_with('#') {
            continue;
        }
        return if t.starts_with('{') {
            FileFormat::Json
        } else {
            FileFormat::Ini
        };
    }
    FileFormat::Ini
}

/// Parses a whole file (a leading UTF-8 byte-order mark is ignored).
pub(crate) fn parse(path: &Path, text: &str) -> Result<FileSettings, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match detect_format(text) {
        FileFormat::Ini => parse_ini(path, text),
        FileFormat::Json => parse_json(path, text),
    }
}

/// Parses configuration-file text without applying it (property tests and tooling).
#[doc(hidden)]
pub fn parse_config_text(path: &Path, text: &str) -> Result<(), ConfigError> {
    parse(path, text).map(drop)
}

/// A boolean as the seed writes it (`true`/`false`), accepted case-insensitively and trimmed.
fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn invalid(
    path: &Path,
    key: &str,
    value: &str,
    line: Option<usize>,
    reason: String,
) -> ConfigError {
    ConfigError::InvalidValue {
        path: path.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        line,
        reason,
    }
}

/// Applies one `section.key = value` (a string value) to `out`.
fn set_key(
    out: &mut FileSettings,
    path: &Path,
    section: &str,
    key: &str,
    value: &str,
    line: Option<usize>,
) -> Result<(), ConfigError> {
    let boolean = |v: &str| {
        parse_bool(v)
            .ok_or_else(|| invalid(path, key, v, line, "expected true or false".to_owned()))
    };
    let setting_error = |e: crate::logging::ParseSettingError| {
        invalid(
            path,
            key,
            value,
            line,
            format!("expected one of: {}", e.expected),
        )
    };
    match (section, key) {
        ("logging", "log_level") => out.log_level = Some(value.parse().map_err(setting_error)?),
        ("logging", "log_format") => out.log_format = Some(value.parse().map_err(setting_error)?),
        ("logging", "log_to_console") => out.log_to_console = Some(boolean(value)?),
        ("logging", "log_request_body") => out.log_request_body = Some(boolean(value)?),
        ("logging", "log_response_body") => out.log_response_body = Some(boolean(value)?),
        ("logging", "log_file_path") => {
            let v = value.trim();
            out.log_file_path = Some((!v.is_empty()).then(|| PathBuf::from(v)));
            out.log_file_path_line = line;
        }
        ("general", "live_reload_config") => out.live_reload_config = Some(boolean(value)?),
        ("general", "host") => out.host = Some((value.trim().to_owned(), line)),
        _ => {
            tracing::debug!(
                path = %path.display(),
                section,
                key,
                line,
                "ignoring an unknown key in the configuration file"
            );
        }
    }
    Ok(())
}

/// INI: `[section]` lines, `key = value` (or `key: value`) lines, `;`/`#` comment lines and
/// blank (including white-space-only) lines. Section and key names are case-insensitive;
/// values are trimmed and may be quoted. Anything else is a syntax error naming the line.
///
/// `rust-ini` reads the sections, keys and values. It is lenient where the seed is strict
/// (a line without `=` runs on into the next line's key; a `[` header may span lines), and
/// it keeps no line numbers for keys, so [`ini_lines`] first checks each line's shape and
/// notes where every key is, and the text handed to `rust-ini` has its lines' leading white
/// space removed (an indented `; comment` stays a comment) and a space after a trailing `\`
/// (which `rust-ini` would read as a line continuation).
fn parse_ini(path: &Path, text: &str) -> Result<FileSettings, ConfigError> {
    let lines = ini_lines(path, text)?;
    let mut normalised = String::with_capacity(text.len() + 16);
    for raw in text.lines() {
        let t = raw.trim_start();
        normalised.push_str(t);
        if t.ends_with('\\') {
            normalised.push(' ');
        }
        normalised.push('\n');
    }
    let options = ini::ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..ini::ParseOption::default()
    };
    let doc =
        ini::Ini::load_from_str_opt(&normalised, options).map_err(|e| ConfigError::IniSyntax {
            path: path.to_owned(),
            line: e.line,
            message: e.msg.into_owned(),
        })?;
    let mut out = FileSettings::default();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (section, props) in &doc {
        let section = section.map(str::to_ascii_lowercase);
        for (key, value) in props {
            let key = key.to_ascii_lowercase();
            let Some(section) = &section else {
                tracing::debug!(
                    path = %path.display(),
                    key,
                    "ignoring a key outside any [section] in the configuration file"
                );
                continue;
            };
            let nth = seen.entry((section.clone(), key.clone())).or_default();
            let line = lines.line_of(section, &key, *nth);
            *nth += 1;
            set_key(&mut out, path, section, &key, unquote(value.trim()), line)?;
        }
    }
    Ok(out)
}

/// A value without one pair of enclosing `"` and then one of `'` (the seed's rule).
fn unquote(mut value: &str) -> &str {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            value = &value[1..value.len() - 1];
        }
    }
    value
}

/// Where each `section.key` of an INI text is, in file order (lower-case names).
struct IniLines(Vec<(String, String, usize)>);

impl IniLines {
    /// The 1-based line of the `nth` (0-based) occurrence of `section.key`.
    fn line_of(&self, section: &str, key: &str, nth: usize) -> Option<usize> {
        self.0
            .iter()
            .filter(|(s, k, _)| s == section && k == key)
            .nth(nth)
            .map(|(_, _, line)| *line)
    }
}

/// Checks the shape of every INI line (the errors name the line) and notes the keys' lines.
fn ini_lines(path: &Path, text: &str) -> Result<IniLines, ConfigError> {
    let mut keys = Vec::new();
    let mut section = None::<String>;
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with(';') || t.starts_with('#') {
            continue;
        }
        let syntax = |message: &str| ConfigError::IniSyntax {
            path: path.to_owned(),
            line,
            message: message.to_owned(),
        };
        if let Some(rest) = t.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| syntax("a section header must end with `]`"))?
                .trim();
            if name.is_empty() {
                return Err(syntax("empty section name"));
            }
            section = Some(name.to_ascii_lowercase());
            continue;
        }
        let split = t.find(['=', ':']).ok_or_else(|| {
            syntax("expected `key = value`, a `[section]` header or a `;` comment")
        })?;
        let key = t[..split].trim().to_ascii_lowercase();
        if key.is_empty() {
            return Err(syntax("empty key"));
        }
        if let Some(section) = &section {
            keys.push((section.clone(), key, line));
        }
    }
    Ok(IniLines(keys))
}

/// JSON: `{"logging": {...}, "general": {...}}`. Booleans may be JSON booleans or the
/// strings `"true"`/`"false"`; `log_file_path` may be `null` (no file).
fn parse_json(path: &Path, text: &str) -> Result<FileSettings, ConfigError> {
    use serde_json::Value;
    let root: Value = serde_json::from_str(text).map_err(|e| ConfigError::JsonSyntax {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: {
            // serde_json appends " at line L column C", already in the error's own fields.
            let m = e.to_string();
            match m.rfind(" at line ") {
                Some(i) => m[..i].to_owned(),
                None => m,
            }
        },
    })?;
    let Value::Object(root) = root else {
        return Err(invalid(
            path,
            "(root)",
            &root.to_string(),
            None,
            "expected a JSON object".into(),
        ));
    };
    let mut out = FileSettings::default();
    for (section, body) in &root {
        let section_lc = section.to_ascii_lowercase();
        if section_lc != "logging" && section_lc != "general" {
            tracing::debug!(path = %path.display(), section, "ignoring an unknown section in the configuration file");
            continue;
        }
        let Value::Object(keys) = body else {
            return Err(invalid(
                path,
                section,
                &body.to_string(),
                None,
                "expected a JSON object".into(),
            ));
        };
        for (key, value) in keys {
            let key_lc = key.to_ascii_lowercase();
            let line = json_key_line(text, key);
            let bool_key = matches!(
                key_lc.as_str(),
                "log_to_console" | "log_request_body" | "log_response_body" | "live_reload_config"
            );
            let known = bool_key
                || matches!(
                    key_lc.as_str(),
                    "log_level" | "log_format" | "log_file_path" | "host"
                );
            let as_text = match value {
                Value::String(s) => s.clone(),
                Value::Bool(b) if bool_key => b.to_string(),
                Value::Null if key_lc == "log_file_path" => String::new(),
                other if known => {
                    let expected = if bool_key {
                        "expected true or false"
                    } else {
                        "expected a string"
                    };
                    return Err(invalid(
                        path,
                        key,
                        &other.to_string(),
                        line,
                        expected.into(),
                    ));
                }
                _ => String::new(), // an unknown key: `set_key` notes and ignores it
            };
            set_key(&mut out, path, &section_lc, &key_lc, &as_text, line)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/cfg")
    }

    #[test]
    fn detects_the_format_from_content() {
        assert_eq!(detect_format("\n ; c\n# c\n  {\"a\":1}"), FileFormat::Json);
        assert_eq!(detect_format("[logging]\n"), FileFormat::Ini);
        assert_eq!(detect_format(""), FileFormat::Ini);
    }

    #[test]
    fn ini_every_key_with_the_seed_quirks_fixed() {
        let text = "; comment\n   \n[logging]\nlog_level = TRACE   \nlog_format=Json\n\
                    log_to_console = FALSE\nlog_file_path = /tmp/x.log\nlog_request_body = True \n\
                    log_response_body = true\nunknown = 1\n[General]\nlive_reload_config = false\n\
                    host = \"mypurecloud.ie\"\n";
        let s = parse(p(), text).unwrap();
        assert_eq!(s.log_level, Some(LogLevel::Trace));
        assert_eq!(s.log_format, Some(LogFormat::Json));
        assert_eq!(s.log_to_console, Some(false));
        assert_eq!(s.log_file_path, Some(Some(PathBuf::from("/tmp/x.log"))));
        assert_eq!(s.log_request_body, Some(true));
        assert_eq!(s.log_response_body, Some(true));
        assert_eq!(s.live_reload_config, Some(false));
        assert_eq!(s.host, Some(("mypurecloud.ie".into(), Some(13))));
    }

    #[test]
    fn ini_errors_name_the_line() {
        let e = parse(p(), "[logging]\n\nlog_to_console = yes\n").unwrap_err();
        assert!(
            matches!(e, ConfigError::InvalidValue { line: Some(3), ref key, .. } if key == "log_to_console"),
            "{e}"
        );
        let e = parse(p(), "[logging]\nlog_level trace\n").unwrap_err();
        assert!(matches!(e, ConfigError::IniSyntax { line: 2, .. }), "{e}");
        let e = parse(p(), "[logging\n").unwrap_err();
        assert!(matches!(e, ConfigError::IniSyntax { line: 1, .. }), "{e}");
        let e = parse(p(), "[logging]\nlog_level = verbose\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn ini_edges_rust_ini_would_read_differently() {
        // An indented comment, a Windows path (no escapes), a value ending in `\` (no line
        // continuation), `;` inside a value (no inline comments), a repeated key (the last wins,
        // and an invalid later occurrence names its own line).
        let text = "[logging]\n   ; indented comment\nlog_file_path = C:\\logs\\new\\\n\
                    log_level = debug ; not a comment\n";
        let e = parse(p(), text).unwrap_err();
        assert!(
            matches!(e, ConfigError::InvalidValue { line: Some(4), ref value, .. } if value == "debug ; not a comment"),
            "{e}"
        );
        let text = "[logging]\n   ; indented comment\nlog_file_path = C:\\logs\\new\\\n\
                    [general]\nhost = a.example\n";
        let s = parse(p(), text).unwrap();
        assert_eq!(
            s.log_file_path,
            Some(Some(PathBuf::from("C:\\logs\\new\\")))
        );
        assert_eq!(s.host, Some(("a.example".into(), Some(5))));
        let text = "[logging]\nlog_to_console = true\n[LOGGING]\nlog_to_console = nope\n";
        let e = parse(p(), text).unwrap_err();
        assert!(
            matches!(e, ConfigError::InvalidValue { line: Some(4), .. }),
            "{e}"
        );
        let e = parse(p(), "[logging]\n[]\n").unwrap_err();
        assert!(matches!(e, ConfigError::IniSyntax { line: 2, .. }), "{e}");
    }

    #[test]
    fn json_every_key_and_string_booleans() {
        let text = r#"{"logging":{"log_level":"Debug","log_format":"text","log_to_console":"TRUE",
            "log_file_path":null,"log_request_body":false,"log_response_body":" false ","x":[1]},
            "general":{"live_reload_config":true,"host":"http://127.0.0.1:9"},"other":{}}"#;
        let s = parse(p(), text).unwrap();
        assert_eq!(s.log_level, Some(LogLevel::Debug));
        assert_eq!(s.log_format, Some(LogFormat::Text));
        assert_eq!(s.log_to_console, Some(true));
        assert_eq!(s.log_file_path, Some(None));
        assert_eq!(s.log_request_body, Some(false));
        assert_eq!(s.log_response_body, Some(false));
        assert_eq!(s.live_reload_config, Some(true));
        assert_eq!(s.host, Some(("http://127.0.0.1:9".into(), Some(3))));
    }

    #[test]
    fn json_errors_have_line_and_column() {
        let e = parse(
            p(),
            "{\n  \"logging\": {\n    \"log_level\": \"trace\",\n  }\n}",
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::JsonSyntax {
                    line: 4,
                    column: 3,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse(p(), r#"{"logging":{"log_to_console":1}}"#).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidValue { .. }), "{e}");
        let e = parse(p(), r#"{"logging":{"log_level":true}}"#).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidValue { .. }), "{e}");
    }
}
