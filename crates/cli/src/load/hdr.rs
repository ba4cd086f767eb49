//! `--hdr-out FILE`: the run's latencies as an `HdrHistogram` interval log (one histogram per
//! series and second, tagged `chatStart`, `roundTrip`, `send`, values in microseconds), ending
//! with a comment line holding the run's JSON summary. `guest-chat load report` merges such
//! logs from several runs.

use super::record::{Series, SERIES};
use anyhow::Context;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use std::io::{LineWriter, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

/// The comment prefix of the summary line.
pub(super) const SUMMARY_PREFIX: &str = "guest-chat-load-summary ";

enum Entry {
    Interval {
        series: Box<Series>,
        start: Duration,
        length: Duration,
    },
    Comment(String),
}

/// A log being written by its own thread, line by line (a run killed outright leaves the
/// intervals written so far).
pub(super) struct HdrLog {
    tx: mpsc::Sender<Entry>,
    writer: std::thread::JoinHandle<std::io::Result<()>>,
}

impl HdrLog {
    /// Creates the file now (so a bad path fails before the run) and starts the writer.
    pub(super) fn create(path: &Path, start: SystemTime) -> anyhow::Result<HdrLog> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create --hdr-out {}", path.display()))?;
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("hdr-out".into())
            .spawn(move || write_log(LineWriter::new(file), &rx, start))
            .context("cannot start the --hdr-out writer")?;
        Ok(HdrLog { tx, writer })
    }

    /// A handle for the interval task.
    pub(super) fn sender(&self) -> IntervalSender {
        IntervalSender(self.tx.clone())
    }

    /// Writes the summary comment and waits for the file to be complete.
    pub(super) fn finish(self, summary: &serde_json::Value) -> anyhow::Result<()> {
        let _ = self
            .tx
            .send(Entry::Comment(format!("{SUMMARY_PREFIX}{summary}")));
        drop(self.tx);
        match self.writer.join() {
            Ok(result) => result.context("cannot write --hdr-out"),
            Err(_) => anyhow::bail!("the --hdr-out writer stopped"),
        }
    }
}

/// Sends interval histograms to the writer.
#[derive(Clone)]
pub(super) struct IntervalSender(mpsc::Sender<Entry>);

impl IntervalSender {
    /// Queues one interval (`start` counted from the run's start).
    pub(super) fn interval(&self, series: Series, start: Duration, length: Duration) {
        if !series.is_empty() {
            let series = Box::new(series);
            let _ = self.0.send(Entry::Interval {
                series,
                start,
                length,
            });
        }
    }
}

fn write_log<W: Write>(
    mut out: W,
    rx: &mpsc::Receiver<Entry>,
    start: SystemTime,
) -> std::io::Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut log = IntervalLogWriterBuilder::new()
            .add_comment("guest-chat load: latencies in microseconds (max column in ms)")
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut out, &mut serializer)?;
        for entry in rx {
            match entry {
                Entry::Interval {
                    series,
                    start,
                    length,
                } => {
                    for ((tag, _), h) in SERIES.iter().zip(series.all()) {
                        if !h.is_empty() {
                            log.write_histogram(h, start, length, Tag::new(tag))
                                .map_err(|e| std::io::Error::other(e.to_string()))?;
                        }
                    }
                }
                Entry::Comment(text) => log.write_comment(&text)?,
            }
        }
    }
    out.flush()
}
