//! `ChatEvent::from_frame` on typical frames (issue 14 target: 1 million frames/s per core).
//!
//! `cargo bench -p guest-chat-model --bench from_frame`. Wall time is noisy on a shared
//! machine; `bench/src/bin/decode-frames.rs` under callgrind counts instructions instead
//! (BENCHMARKS.md).

// criterion_group! defines an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use guest_chat_model::ChatEvent;

mod frames;
use frames::{HEARTBEAT, MEMBER_CHANGE, MESSAGE, MIX, TYPING};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("from_frame");
    for (name, frame) in [
        ("message", MESSAGE),
        ("typing", TYPING),
        ("member_change", MEMBER_CHANGE),
        ("heartbeat", HEARTBEAT),
    ] {
        group.throughput(Throughput::Elements(1));
        group.bench_function(name, |b| {
            b.iter(|| ChatEvent::from_frame(black_box(frame)).expect("decodes"));
        });
    }
    group.throughput(Throughput::Elements(MIX.len() as u64));
    group.bench_function("typical_mix", |b| {
        b.iter(|| {
            for frame in MIX {
                black_box(ChatEvent::from_frame(black_box(frame)).expect("decodes"));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
