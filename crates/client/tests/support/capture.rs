//! What the SDK's `tracing` events print in a test binary: one process-wide subscriber
//! writing into memory (used by the binaries that own the global subscriber).

use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;

/// Everything the SDK's `tracing` events (and, if asked, spans) printed in this process.
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Installs the process-wide subscriber (SDK events at trace level, `span_events` for spans)
/// on the first call; every later call returns the same capture.
pub(crate) fn install(span_events: FmtSpan) -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(
                "purecloud_guest_chat_client=trace",
            ))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || writer.clone())
                    .with_ansi(false)
                    .with_span_events(span_events),
            );
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        capture
    })
}
