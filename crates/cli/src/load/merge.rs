//! `guest-chat load report FILE...`: merges the `--hdr-out` logs of several runs (several
//! machines, say) into one summary: histograms added per series, chat counts and errors summed
//! from each log's summary line.

use super::hdr::SUMMARY_PREFIX;
use super::record::{Series, SERIES};
use super::report::{latency_json, print_table};
use anyhow::{anyhow, bail, Context};
use base64::Engine;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Flags of `guest-chat load report`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ReportArgs {
    /// Interval logs written by `guest-chat load --hdr-out`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also draw the merged latency distributions to this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// Counts summed over the runs' summary lines.
const SUMMED: [&str; 8] = [
    "chats",
    "completed",
    "failed",
    "unfinished",
    "messageRoundTrips",
    "errorTotal",
    "violationTotal",
    "warnings",
];

/// Adds one log's histograms into `into`; returns its summary line, if it has one.
fn read_log(path: &Path, into: &mut Series) -> anyhow::Result<Option<Value>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut deserializer = Deserializer::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let entry = entry.map_err(|e| {
            anyhow!(
                "{} is not an HdrHistogram interval log ({e:?})",
                path.display()
            )
        })?;
        let LogEntry::Interval(interval) = entry else {
            continue;
        };
        let Some(i) = interval
            .tag()
            .and_then(|t| SERIES.iter().position(|(key, _)| *key == t.as_str()))
        else {
            continue;
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(interval.encoded_histogram())
            .with_context(|| format!("{}: a histogram is not base64", path.display()))?;
        let h: hdrhistogram::Histogram<u64> = deserializer
            .deserialize(&mut std::io::Cursor::new(raw))
            .map_err(|e| anyhow!("{}: cannot decode a histogram: {e:?}", path.display()))?;
        into.all_mut()[i]
            .add(&h)
            .map_err(|e| anyhow!("{}: cannot merge a histogram: {e:?}", path.display()))?;
    }
    let text = String::from_utf8_lossy(&bytes);
    let summary = text
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix('#')?.strip_prefix(SUMMARY_PREFIX))
        .find_map(|j| serde_json::from_str::<Value>(j).ok());
    Ok(summary)
}

/// Sums the summaries' counts and error maps.
fn sum_summaries(summaries: &[Value]) -> Map<String, Value> {
    let mut out = Map::new();
    for key in SUMMED {
        let total: u64 = summaries.iter().filter_map(|s| s[key].as_u64()).sum();
        out.insert(key.to_owned(), json!(total));
    }
    for key in ["errors", "violations"] {
        let mut merged = Map::new();
        for s in summaries {
            for (kind, n) in s[key].as_object().into_iter().flatten() {
                let sum = merged.get(kind).and_then(Value::as_u64).unwrap_or(0);
                merged.insert(kind.clone(), json!(sum + n.as_u64().unwrap_or(0)));
            }
        }
        out.insert(key.to_owned(), Value::Object(merged));
    }
    out
}

/// Runs `guest-chat load report`.
pub(super) fn run(args: ReportArgs) -> anyhow::Result<()> {
    let mut merged = Series::new()?;
    let mut summaries = Vec::new();
    for path in &args.files {
        summaries.extend(read_log(path, &mut merged)?);
    }
    if merged.is_empty() && summaries.is_empty() {
        bail!("no latencies and no run summary in the given files");
    }
    let names: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    let mut s = sum_summaries(&summaries);
    let mut latency = Map::new();
    for ((key, _), h) in SERIES.iter().zip(merged.all()) {
        latency.insert((*key).to_owned(), latency_json(h));
    }
    s.insert("latencyMs".into(), Value::Object(latency));
    s.insert("runs".into(), json!(args.files.len()));
    s.insert("runsWithSummary".into(), json!(summaries.len()));
    s.insert("files".into(), json!(names));
    s.insert(
        "title".into(),
        json!(format!("guest-chat load report: {}", names.join(", "))),
    );
    let summary = Value::Object(s);
    if let Some(path) = &args.plot {
        super::plot::write(
            path,
            &merged,
            "guest-chat load report: latency distribution",
        )?;
    }
    if args.json {
        println!("{summary}");
    } else {
        print_table(&summary);
    }
    Ok(())
}
