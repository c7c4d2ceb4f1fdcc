//! Tail latency of the memory dedup store while it grows: 1 000 000 fresh
//! ids reserved and committed one after another into a store sized for
//! 4 000 000 (as the loopback load test's server has it), each pair timed
//! alone. Prints the median, p99, p99.9 and the slowest pairs, which are the
//! moments a shard's table or queues double under its lock.
//!
//! `cargo run --release -p bench-peers --bin store_tail [count]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use tower_webhook::dedup::{Claim, MemoryStore, Reservation};

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let store = MemoryStore::builder().capacity(4_000_000).build();
    let mut key = String::with_capacity(64);
    let mut pairs: Vec<(Duration, usize)> = Vec::with_capacity(count);
    let start = Instant::now();
    for i in 0..count {
        key.clear();
        write!(key, "standard:8:/webhook:msg_{i:016x}").unwrap();
        let t = Instant::now();
        let claim = Claim::new(Duration::from_secs(60), Duration::from_secs(3600));
        let token = claim.token;
        let Ok(Reservation::Fresh) = store.reserve_now(&key, claim) else {
            panic!("store refused id {i}");
        };
        assert!(store.commit_now(&key, token, Duration::from_secs(3600)));
        pairs.push((t.elapsed(), i));
    }
    let total = start.elapsed();
    let mut sorted: Vec<Duration> = pairs.iter().map(|p| p.0).collect();
    sorted.sort();
    let q = |f: f64| sorted[((sorted.len() - 1) as f64 * f) as usize];
    let slow = pairs
        .iter()
        .filter(|p| p.0 > Duration::from_micros(100))
        .count();
    println!(
        "{count} fresh ids, reserve + commit each timed alone: total {total:.2?}; median {:?}, p99 {:?}, p99.9 {:?}, max {:?}; {slow} pairs over 100 µs",
        q(0.5),
        q(0.99),
        q(0.999),
        sorted[sorted.len() - 1],
    );
    pairs.sort_by_key(|p| std::cmp::Reverse(p.0));
    let worst: Vec<String> = pairs
        .iter()
        .take(5)
        .map(|(d, i)| format!("{d:.2?} at id {i}"))
        .collect();
    println!("slowest: {}", worst.join(", "));
}
