//! Benchmarks of tower-webhook against its peers, and the loopback
//! load-test server (`src/bin/bench_server.rs`) with its request generator
//! (`src/bin/gen_requests.rs`). See BENCHMARKS.md at the repository root.
