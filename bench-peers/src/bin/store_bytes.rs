//! Bytes per entry of the memory dedup store: resident memory growth while
//! 1 000 000 fresh ids are reserved and committed, divided by the count.
//!
//! `cargo run --release -p bench-peers --bin store_bytes [count]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::time::Duration;

use tower_webhook::dedup::{Claim, MemoryStore, Reservation};

/// Resident set size in bytes, from `/proc/self/statm` (pages of 4 KiB).
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let store = MemoryStore::builder()
        .capacity(usize::try_from(count).unwrap() * 11 / 10)
        .build();
    let mut key = String::with_capacity(64);
    let before = resident();
    for i in 0..count {
        key.clear();
        write!(key, "standard:8:/webhook:msg_{i:016x}").unwrap();
        let claim = Claim::new(Duration::from_secs(60), Duration::from_secs(3600));
        let token = claim.token;
        let Ok(Reservation::Fresh) = store.reserve_now(&key, claim) else {
            panic!("store refused id {i}");
        };
        assert!(store.commit_now(&key, token, Duration::from_secs(3600)));
    }
    let after = resident();
    assert_eq!(store.len() as u64, count);
    println!(
        "{count} live ids: resident {:.1} MiB -> {:.1} MiB, {:.1} bytes per entry",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        (after - before) as f64 / count as f64
    );
}
