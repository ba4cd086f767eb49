//! The secret registry under a load run's churn: HELD tokens stay registered (open chats,
//! every one with the same JWT header, as the service and the emulator issue them), then
//! CHURN more are registered and dropped one by one (a chat ending while the others stay).
//! A fixed workload for `valgrind --tool=callgrind` instruction counts (BENCHMARKS.md), and a
//! rough figure when run plainly.
//!
//! `secret-churn [HELD] [CHURN]` (defaults 10,000 and 2,000).

use purecloud_guest_chat_client::Jwt;
use std::time::Instant;

/// A JWT-shaped token: the emulator's header, a payload with a varying subject, a signature
/// (base64url characters, 745 in all like the emulator's).
fn token(n: usize) -> String {
    let header = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImVtdWxhdG9yLWtleS0xIn0";
    let payload: String = format!("eyJzdWIiOiJndWVzdC0{n:08}")
        .chars()
        .chain((0..300).map(|i| char::from(b'A' + ((n * 7 + i * 13) % 26) as u8)))
        .collect();
    let signature: String = (0..342)
        .map(|i| char::from(b'a' + ((n * 11 + i * 5 + i / 26) % 26) as u8))
        .collect();
    format!("{header}.{payload}.{signature}")
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let held: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let churn: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(2_000);
    let open: Vec<Jwt> = (0..held).map(|n| Jwt::new(token(n))).collect();
    let start = Instant::now();
    for n in held..held + churn {
        drop(Jwt::new(token(n)));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{held} held, {churn} registered and dropped in {secs:.3} s: {:.1} us each",
        secs * 1e6 / churn.max(1) as f64
    );
    drop(open);
    Ok(())
}
