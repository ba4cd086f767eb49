//! The run's summary: one JSON object (`--json`), or a table drawn from that same object, so a
//! merged report (`load report`) prints the same way.

use super::record::{Recorder, SERIES};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

/// `1 chat`, `2 chats`.
pub(super) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// p50/p90/p99/max in milliseconds, and the count.
pub(super) fn latency_json(h: &Histogram<u64>) -> Value {
    let ms = |us: u64| (us as f64).round() / 1000.0;
    if h.is_empty() {
        return json!({"count": 0});
    }
    json!({
        "count": h.len(),
        "p50": ms(h.value_at_quantile(0.50)),
        "p90": ms(h.value_at_quantile(0.90)),
        "p99": ms(h.value_at_quantile(0.99)),
        "max": ms(h.max()),
    })
}

/// The latency, error, violation and recovery part of a summary, from the recorder.
pub(super) fn recorded(rec: &Recorder) -> Map<String, Value> {
    let mut latency = Map::new();
    for ((key, _), h) in SERIES.iter().zip(rec.total.all()) {
        latency.insert((*key).to_owned(), latency_json(h));
    }
    let error_total: u64 = rec.errors.values().sum();
    let violation_total: u64 = rec.violations.values().sum();
    let r = rec.recovery;
    let v = json!({
        "latencyMs": latency,
        "errors": rec.errors,
        "errorSamples": rec.samples,
        "errorTotal": error_total,
        "violations": rec.violations,
        "violationTotal": violation_total,
        "sendRecovery": {
            "ambiguous": r.ambiguous,
            "foundInHistory": r.found_in_history,
            "resent": r.resent,
        },
        "warnings": rec.warnings,
        "reconnects": rec.reconnects,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn size(b: &Value, unit: f64, name: &str) -> String {
    b.as_u64().map_or_else(
        || "n/a".into(),
        |b| format!("{:.1} {name}", b as f64 / unit),
    )
}

/// Prints the summary as a table.
pub(super) fn print_table(s: &Value) {
    println!("{}", s["title"].as_str().unwrap_or("guest-chat load"));
    let chats = format!(
        "  {}: {} completed, {} failed",
        count(u(&s["chats"]), "chat", "chats"),
        u(&s["completed"]),
        u(&s["failed"])
    );
    let throughput = format!(
        "{}  throughput {} msg/s",
        count(u(&s["messageRoundTrips"]), "round trip", "round trips"),
        s["messagesPerSec"]
    );
    match s["runs"].as_u64() {
        // A merged report: no single run's settings.
        Some(runs) => {
            println!("{chats}");
            println!(
                "  {} ({} with a summary)  {}",
                count(runs, "run", "runs"),
                u(&s["runsWithSummary"]),
                count(u(&s["messageRoundTrips"]), "round trip", "round trips")
            );
        }
        None => {
            println!(
                "{chats}  concurrency {}  {} per chat{}",
                u(&s["concurrency"]),
                count(u(&s["messagesPerChat"]), "message", "messages"),
                if s["hold"] == true {
                    "  (held open)"
                } else {
                    ""
                }
            );
            println!(
                "  wall {:.2} s{}  {throughput}",
                s["wallSecs"].as_f64().unwrap_or(0.0),
                if s["timedOut"] == true {
                    " (run time limit reached)"
                } else {
                    ""
                },
            );
        }
    }
    if s["interrupted"] == true {
        println!(
            "  interrupted (Ctrl-C): partial report, {} unfinished",
            count(u(&s["unfinished"]), "chat", "chats")
        );
    }
    println!();
    print_latencies(&s["latencyMs"]);
    println!();
    print_checks(s);
    print_resources(s);
}

fn print_latencies(l: &Value) {
    println!(
        "  {:<26} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "latency (ms)", "count", "p50", "p90", "p99", "max"
    );
    for (key, label) in SERIES {
        let h = &l[key];
        if u(&h["count"]) == 0 {
            println!("  {label:<26} {:>8}", 0);
            continue;
        }
        let f = |q: &str| h[q].as_f64().unwrap_or(0.0);
        println!(
            "  {label:<26} {:>8} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
            u(&h["count"]),
            f("p50"),
            f("p90"),
            f("p99"),
            f("max")
        );
    }
}

fn print_checks(s: &Value) {
    let violations = u(&s["violationTotal"]);
    println!(
        "  exactly-once and order: {}",
        if violations == 0 {
            "every reply once, in order".to_owned()
        } else {
            count(violations, "violation", "violations")
        }
    );
    let r = &s["sendRecovery"];
    if u(&r["ambiguous"]) > 0 {
        println!(
            "  {} failed ambiguously: {} found in the history, {} sent again",
            count(u(&r["ambiguous"]), "send", "sends"),
            u(&r["foundInHistory"]),
            u(&r["resent"])
        );
    }
    match s["errors"].as_object() {
        Some(errors) if !errors.is_empty() => {
            println!("  errors:");
            for (kind, n) in errors {
                let sample = s["errorSamples"][kind].as_str().unwrap_or("");
                println!("    {n:>7}  {kind}  (e.g. {sample})");
            }
        }
        _ => println!("  errors: none"),
    }
    if u(&s["warnings"]) > 0 || u(&s["reconnects"]) > 0 {
        println!(
            "  {}  {}",
            count(u(&s["warnings"]), "warning", "warnings"),
            count(u(&s["reconnects"]), "reconnect", "reconnects")
        );
    }
}

fn print_resources(s: &Value) {
    if s.get("peakRssBytes").is_some() {
        println!(
            "  peak concurrent chats {}  peak RSS {}  RSS per chat {}  open-file limit {}",
            s["peakConcurrentChats"],
            size(&s["peakRssBytes"], 1048576.0, "MiB"),
            size(&s["rssPerChatBytes"], 1024.0, "KiB"),
            s["openFileLimit"]
        );
    }
    if s["emulatorProcessPeakRssBytes"].is_u64() {
        println!(
            "  emulator process peak RSS {}",
            size(&s["emulatorProcessPeakRssBytes"], 1048576.0, "MiB")
        );
    }
    if let Some(note) = s["note"].as_str() {
        println!("  note: {note}");
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(count(1, "chat", "chats"), "1 chat");
        assert_eq!(count(0, "chat", "chats"), "0 chats");
        assert_eq!(count(2, "message", "messages"), "2 messages");
    }
}
