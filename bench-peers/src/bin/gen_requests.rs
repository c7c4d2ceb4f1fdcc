//! Writes fresh signed Standard Webhooks deliveries for `scripts/loadtest.lua`:
//! `<out>` gets one `id<TAB>timestamp<TAB>signature` line per delivery and
//! `<out>.body` the shared 1 KiB JSON body (each delivery has its own id, so
//! its own signature).
//!
//! `gen_requests <out> <count>`; the secret is `bench_server`'s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::time::SystemTime;

use bench_peers::{SECRET, body_1k};
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::sign::Signer;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().expect("usage: gen_requests <out> <count>");
    let count: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let scheme = StandardWebhooks::new(SECRET).unwrap();
    let body = body_1k();
    let now = SystemTime::now();
    let run = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out).unwrap());
    for i in 0..count {
        let req = Signer::new(&scheme)
            .id(format!("msg_{run:x}_{i:08x}"))
            .timestamp(now)
            .request("/webhook", body.clone())
            .unwrap();
        let h = req.headers();
        let get = |n: &str| h[n].to_str().unwrap().to_owned();
        writeln!(
            w,
            "{}\t{}\t{}",
            get("webhook-id"),
            get("webhook-timestamp"),
            get("webhook-signature")
        )
        .unwrap();
    }
    w.flush().unwrap();
    std::fs::write(format!("{out}.body"), &body).unwrap();
}
