//! Side-by-side, interleaved measurement for ratios on a shared machine.
//!
//! Criterion measures one benchmark after another; on a machine whose load
//! changes by the second (other jobs compiling) two figures taken a minute
//! apart do not make a trustworthy ratio. [`compare`] instead runs every arm
//! for a short batch in turn, round after round (rotating the order), and
//! reports for each arm the median time per iteration and the median over
//! rounds of its time divided by the first arm's time *in the same round*.
//!
//! Run with `cargo bench --bench <name> -- --ratios`.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

/// One contender. `run(n)` performs `n` iterations and returns the time they
/// took; any per-batch preparation (fresh signed requests, say) happens inside
/// `run` but outside the timed part.
pub struct Arm<'a> {
    pub name: String,
    pub run: Box<dyn FnMut(u64) -> Duration + 'a>,
}

impl<'a> Arm<'a> {
    /// An arm whose iterations are `f()`, timed back to back.
    pub fn simple<R>(name: impl Into<String>, mut f: impl FnMut() -> R + 'a) -> Self {
        Self {
            name: name.into(),
            run: Box::new(move |n| {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(f());
                }
                start.elapsed()
            }),
        }
    }

    /// An arm with its own timing (see the type's documentation).
    pub fn custom(name: impl Into<String>, run: impl FnMut(u64) -> Duration + 'a) -> Self {
        Self {
            name: name.into(),
            run: Box::new(run),
        }
    }
}

/// Figures of one arm.
pub struct Row {
    pub name: String,
    /// Median nanoseconds per iteration over the rounds.
    pub median_ns: f64,
    /// Fastest round, nanoseconds per iteration.
    pub min_ns: f64,
    /// Median over rounds of (this arm / first arm), same round.
    pub ratio: f64,
    /// Interquartile range of that ratio.
    pub ratio_q1: f64,
    pub ratio_q3: f64,
    /// Median over rounds of (this arm / second arm), same round.
    pub ratio_to_second: f64,
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` prints them.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Measures `arms` interleaved and prints a Markdown table. The first arm is
/// the reference of the ratios. `BENCH_ROUNDS` (default 31) and
/// `BENCH_BATCH_MS` (default 4) tune the run.
pub fn compare(title: &str, mut arms: Vec<Arm<'_>>) -> Vec<Row> {
    let rounds = env_or("BENCH_ROUNDS", 31) as usize;
    let batch = Duration::from_millis(env_or("BENCH_BATCH_MS", 4));
    let load_before = load();
    // Calibrate: iterations per batch so that one batch takes about `batch`.
    let iters: Vec<u64> = arms
        .iter_mut()
        .map(|arm| {
            let mut n = 1u64;
            loop {
                let t = (arm.run)(n);
                if t >= batch / 2 || n >= 1 << 30 {
                    let per = t.as_secs_f64() / n as f64;
                    break ((batch.as_secs_f64() / per.max(1e-12)) as u64).clamp(1, 1 << 30);
                }
                n *= 2;
            }
        })
        .collect();
    let k = arms.len();
    let mut per_iter = vec![Vec::with_capacity(rounds); k];
    for round in 0..rounds {
        for j in 0..k {
            let i = (j + round) % k;
            let t = (arms[i].run)(iters[i]);
            per_iter[i].push(t.as_nanos() as f64 / iters[i] as f64);
        }
    }
    let load_after = load();
    let rows: Vec<Row> = (0..k)
        .map(|i| {
            let mut ratios: Vec<f64> = (0..rounds)
                .map(|r| per_iter[i][r] / per_iter[0][r])
                .collect();
            ratios.sort_by(f64::total_cmp);
            let mut to_second: Vec<f64> = (0..rounds)
                .map(|r| per_iter[i][r] / per_iter[1.min(k - 1)][r])
                .collect();
            to_second.sort_by(f64::total_cmp);
            let mut sorted = per_iter[i].clone();
            sorted.sort_by(f64::total_cmp);
            Row {
                name: arms[i].name.clone(),
                median_ns: quantile(&sorted, 0.5),
                min_ns: sorted[0],
                ratio: quantile(&ratios, 0.5),
                ratio_q1: quantile(&ratios, 0.25),
                ratio_q3: quantile(&ratios, 0.75),
                ratio_to_second: quantile(&to_second, 0.5),
            }
        })
        .collect();
    println!(
        "\n### {title}\n\n{rounds} interleaved rounds of ~{} ms per arm; load average before: {load_before}, after: {load_after}\n",
        batch.as_millis()
    );
    // With three arms or more, also the ratio to the second arm (in the
    // peers bench: how many times tower-webhook's time each peer takes).
    let second = k >= 3;
    print!(
        "| arm | median ns/iter | fastest round ns/iter | ratio to `{}` (median [IQR]) |",
        rows[0].name
    );
    if second {
        print!(" ratio to `{}` (median) |", rows[1].name);
    }
    println!(
        "\n|---|---:|---:|---:|{}",
        if second { "---:|" } else { "" }
    );
    for r in &rows {
        print!(
            "| {} | {:.1} | {:.1} | {:.3} [{:.3}–{:.3}] |",
            r.name, r.median_ns, r.min_ns, r.ratio, r.ratio_q1, r.ratio_q3
        );
        if second {
            print!(" {:.2} |", r.ratio_to_second);
        }
        println!();
    }
    rows
}

/// Whether the bench was started with `-- --ratios`.
pub fn ratios_mode() -> bool {
    std::env::args().any(|a| a == "--ratios")
}

/// A body of exactly `len` bytes (at least 40) of JSON text:
/// `{"id":"evt_1","data":"xxxx..."}` (schemes such as Stripe's read the
/// event id from the body).
pub fn json_body(len: usize) -> bytes::Bytes {
    let open = r#"{"id":"evt_1NLh6bLkdIwHu7ix","data":""#;
    let fill = len.saturating_sub(open.len() + 2);
    let mut s = String::with_capacity(len);
    s.push_str(open);
    s.extend(std::iter::repeat_n('x', fill));
    s.push_str(r#""}"#);
    bytes::Bytes::from(s)
}
