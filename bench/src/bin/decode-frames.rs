//! Decodes the typical frame mix N times (default 100,000 frames): a fixed workload for
//! `valgrind --tool=callgrind` instruction counts (see BENCHMARKS.md), and a rough
//! frames/s figure when run plainly.
//!
//! `decode-frames [FRAMES] [value]`: with `value`, each frame goes through
//! `serde_json::Value` and `ChatEvent::from_value`, which is what `from_frame` did before it
//! decoded typical frames directly (the "before" figure).

use guest_chat_model::ChatEvent;
use std::hint::black_box;
use std::time::Instant;

#[allow(dead_code)]
#[path = "../../../crates/model/benches/frames/mod.rs"]
mod typical_frames;

fn main() -> anyhow::Result<()> {
    let frames: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let via_value = std::env::args().nth(2).as_deref() == Some("value");
    let start = Instant::now();
    for i in 0..frames {
        let frame = typical_frames::MIX[i % typical_frames::MIX.len()];
        let event = if via_value {
            ChatEvent::from_value(serde_json::from_str(black_box(frame))?)?
        } else {
            ChatEvent::from_frame(black_box(frame))?
        };
        black_box(event);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{frames} frames in {secs:.3} s: {:.0} frames/s",
        frames as f64 / secs
    );
    Ok(())
}
