//! The progress bar: chats done and failed, messages per second and an ETA, drawn on stderr
//! only when it is a terminal, and cleared when the run ends.

use super::chat::Ctx;
use super::record::Counters;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TEMPLATE: &str =
    "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} chats  {msg}  ETA {eta}";

/// A running progress bar and the task that updates it.
pub(super) struct Progress {
    bar: ProgressBar,
    ticker: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Starts the bar when stderr is a terminal; None otherwise.
    pub(super) fn start(ctx: Arc<Ctx>, chats: usize) -> Option<Progress> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(
            Some(u64::try_from(chats).unwrap_or(u64::MAX)),
            ProgressDrawTarget::stderr(),
        );
        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        let started = Instant::now();
        let ticking = bar.clone();
        let ticker = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tick.tick().await;
                update(&ticking, &ctx, started);
            }
        });
        Some(Progress { bar, ticker })
    }

    /// Stops updating and erases the bar, leaving no line behind.
    pub(super) fn clear(self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}

fn update(bar: &ProgressBar, ctx: &Ctx, started: Instant) {
    let c = &ctx.counters;
    let done = Counters::get(&c.completed);
    let failed = Counters::get(&c.failed);
    let per_sec = Counters::get(&c.round_trips) as f64 / started.elapsed().as_secs_f64().max(1e-3);
    bar.set_position(u64::try_from(done + failed).unwrap_or(u64::MAX));
    bar.set_message(format!(
        "done {done}  failed {failed}  open {}  {per_sec:.0} msg/s",
        Counters::get(&c.open)
    ));
}
