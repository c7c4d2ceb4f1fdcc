//! The memory dedup store with 100 000 and 1 000 000 live ids: one reserve +
//! commit pair of a fresh id per operation, from one thread and from two
//! threads at once. Bytes per entry are measured by
//! `cargo run --release -p bench-peers --bin store_bytes`.
//!
//! `cargo bench --bench memory_store` runs Criterion; `cargo bench --bench
//! memory_store -- --ratios` prints interleaved tables (see `common/mod.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::Criterion;
use tower_webhook::dedup::{Claim, MemoryStore, Reservation};

use common::{Arm, compare, ratios_mode};

const LEASE: Duration = Duration::from_secs(60);
const RETENTION: Duration = Duration::from_secs(3600);

/// A key as the layer builds it (scheme, namespace, event id).
fn key(i: u64) -> String {
    format!("standard:8:/webhook:msg_{i:016x}")
}

fn pair(store: &MemoryStore, key: &str) {
    let claim = Claim::new(LEASE, RETENTION);
    let Ok(Reservation::Fresh) = store.reserve_now(key, claim) else {
        panic!("store refused a fresh id");
    };
    black_box(store.commit_now(key, claim.token, RETENTION));
}

/// A store holding `live` committed ids, with room for the measurement to
/// add more; it is rebuilt (untimed) before a batch would overflow it or let
/// it grow more than a quarter above `live` (or the batch's own size, when
/// Criterion asks for large batches).
struct Filled {
    live: usize,
    room: usize,
    store: MemoryStore,
    next: u64,
}

impl Filled {
    fn new(live: usize) -> Self {
        let mut f = Self {
            live,
            room: 0,
            store: MemoryStore::builder().capacity(1).build(),
            next: 0,
        };
        f.refill(live / 4);
        f
    }

    fn refill(&mut self, room: usize) {
        self.room = room;
        // Ids spread over 16 shards unevenly: leave a margin.
        let capacity = (self.live + room) * 5 / 4 + 4096;
        self.store = MemoryStore::builder().capacity(capacity).build();
        for _ in 0..self.live {
            self.next += 1;
            pair(&self.store, &key(self.next));
        }
    }

    /// `threads` × `n` fresh keys, ready before the clock starts.
    fn keys(&mut self, threads: usize, n: u64) -> Vec<Vec<String>> {
        let batch = threads * n as usize;
        if self.store.len() + batch > self.live + self.room {
            self.refill(batch.max(self.live / 4));
        }
        (0..threads)
            .map(|_| {
                (0..n)
                    .map(|_| {
                        self.next += 1;
                        key(self.next)
                    })
                    .collect()
            })
            .collect()
    }
}

/// `n` pairs per thread; with two threads the figure is the time the slower
/// thread needs per pair while the other works too (throughput is twice the
/// inverse).
fn arm<'a>(live: usize, threads: usize) -> Arm<'a> {
    let mut filled = Filled::new(live);
    Arm::custom(
        format!("{}k live ids, {threads} thread(s)", live / 1000),
        move |n| {
            let keys = filled.keys(threads, n);
            let store = &filled.store;
            if threads == 1 {
                let start = Instant::now();
                for k in &keys[0] {
                    pair(store, k);
                }
                return start.elapsed();
            }
            // Each thread times its own pairs (a main-thread clock could
            // start after a descheduled main thread wakes up, when the work
            // is done); the slowest thread's time is the batch's time.
            let barrier = Barrier::new(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = keys
                    .iter()
                    .map(|ks| {
                        let barrier = &barrier;
                        s.spawn(move || {
                            barrier.wait();
                            let start = Instant::now();
                            for k in ks {
                                pair(store, k);
                            }
                            start.elapsed()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .max()
                    .unwrap_or_default()
            })
        },
    )
}

fn arms<'a>() -> Vec<Arm<'a>> {
    vec![
        arm(100_000, 1),
        arm(100_000, 2),
        arm(1_000_000, 1),
        arm(1_000_000, 2),
    ]
}

fn main() {
    if ratios_mode() {
        compare("memory store: reserve + commit of a fresh id", arms());
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("memory_store/reserve_commit");
    for mut a in arms() {
        g.bench_function(a.name.clone(), |b| b.iter_custom(|n| (a.run)(n)));
    }
    g.finish();
    c.final_summary();
}
