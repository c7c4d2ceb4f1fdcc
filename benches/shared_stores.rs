//! The shared dedup stores side by side, in one run: `RedisStore` and
//! `PostgresStore` on this machine's servers (`REDIS_URL`, default
//! `redis://127.0.0.1:6379`; `POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`), the memory store as the
//! floor.
//!
//! - `reserve+commit/<store>/<n> in flight`: one reserve of a fresh key and
//!   its commit, `n` pairs in flight at once on a two-worker tokio runtime;
//!   Criterion reports the time per pair (the inverse of the throughput).
//! - `layer/<store>`: a fresh signed 1 KiB Standard Webhooks delivery through
//!   `WebhookLayer` around a handler that answers 204, 64 in flight; time per
//!   request. `postgres+tx` is the exactly-once path: the handler begins a
//!   transaction, commits the delivery in it with `TxCommit::commit_in`, and
//!   commits the transaction (writing nothing else).
//!
//! `cargo bench --bench shared_stores --features redis,postgres` runs
//! Criterion; `... -- --latency` prints per-operation latency percentiles
//! (p50, p99) and throughput instead, as a Markdown table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use criterion::Criterion;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tokio::runtime::Runtime;
use tower::{Layer, Service, ServiceExt, service_fn};
use tower_webhook::dedup::{
    Claim, DedupStore, MemoryStore, PostgresStore, RedisStore, Reservation, Token, TxCommit,
};
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::sign::Signer;
use tower_webhook::{Webhook, WebhookLayer};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const LEASE: Duration = Duration::from_secs(60);
const RETENTION: Duration = Duration::from_secs(3600);
const LAYER_IN_FLIGHT: usize = 64;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn run_id() -> String {
    format!("{:016x}", Token::generate().as_u64())
}

struct Stores {
    redis: RedisStore,
    postgres: PostgresStore,
    table: String,
}

async fn stores() -> Stores {
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let pg_url = std::env::var("POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let id = run_id();
    let redis = RedisStore::builder()
        .prefix(format!("tower-webhook-bench:{id}:"))
        .timeout(Duration::from_secs(5))
        .connect(&redis_url)
        .await
        .unwrap_or_else(|e| panic!("this bench needs Redis (REDIS_URL): {e}"));
    let table = format!("twh_bench_{id}");
    let postgres = PostgresStore::builder()
        .table(&table)
        .timeout(Duration::from_secs(5))
        .max_connections(16)
        .connect(&pg_url)
        .await
        .unwrap_or_else(|e| panic!("this bench needs PostgreSQL (POSTGRES_URL): {e}"));
    postgres.migrate().await.unwrap();
    Stores {
        redis,
        postgres,
        table,
    }
}

/// One reserve of a fresh key and its commit.
async fn pair(store: &dyn DedupStore, key: &str) {
    let claim = Claim::new(LEASE, RETENTION);
    let Ok(Reservation::Fresh) = store.reserve(key, claim).await else {
        panic!("store refused a fresh key");
    };
    assert_eq!(store.commit(key, claim.token, RETENTION).await, Ok(true));
}

/// Runs `n` operations, `in_flight` at a time, and answers the wall time
/// and each operation's own duration.
async fn drive<F, Fut>(n: u64, in_flight: usize, op: F) -> (Duration, Vec<Duration>)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..in_flight.min(n as usize).max(1) {
        let (op, next) = (Arc::clone(&op), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let mut took = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return took;
                }
                let t = Instant::now();
                op(i).await;
                took.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(n as usize);
    for w in workers {
        all.extend(w.await.unwrap());
    }
    (start.elapsed(), all)
}

fn pair_op(
    store: Arc<dyn DedupStore>,
    run: String,
) -> impl Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static {
    move |i| {
        let store = Arc::clone(&store);
        let key = format!("standard:k:{run}:id:msg_{i:016x}");
        Box::pin(async move { pair(&*store, &key).await })
    }
}

type Req = Request<Full<Bytes>>;
type Res = Response<tower_webhook::WebhookBody<Full<Bytes>>>;

fn signed(i: u64, run: &str) -> Req {
    let s = StandardWebhooks::new(SECRET).unwrap();
    let body = format!(
        r#"{{"type":"invoice.paid","id":"{run}-{i}","pad":"{}"}}"#,
        "x".repeat(1024 - 60)
    );
    Signer::new(&s)
        .id(format!("msg_{run}_{i}"))
        .timestamp(SystemTime::now())
        .request("/webhook", body)
        .unwrap()
        .map(Full::new)
}

/// The layer around a handler answering 204; with `tx`, the handler commits
/// the delivery in a transaction on `pool`.
fn layer_service(
    store: Option<Arc<dyn DedupStore>>,
    tx: Option<sqlx::PgPool>,
) -> impl Service<Req, Response = Res, Error = std::convert::Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    let layer = WebhookLayer::new(StandardWebhooks::new(SECRET).unwrap());
    let layer = match store {
        Some(s) => layer.dedup(s),
        None => layer,
    };
    let inner = service_fn(move |mut req: Req| {
        let pool = tx.clone();
        async move {
            if let Some(pool) = pool {
                let commit = TxCommit::take(req.extensions_mut()).expect("a PostgresStore");
                let mut tx = pool.begin().await.unwrap();
                commit.commit_in(&mut tx).await.unwrap();
                tx.commit().await.unwrap();
            }
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::NO_CONTENT;
            Ok::<_, std::convert::Infallible>(r)
        }
    });
    let svc: Webhook<_, _> = layer.layer(inner);
    svc
}

fn layer_op<S>(
    svc: S,
    run: String,
) -> impl Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static
where
    S: Service<Req, Response = Res, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
{
    move |i| {
        let svc = svc.clone();
        let req = signed(i, &run);
        Box::pin(async move {
            let res = svc.oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
        })
    }
}

type Op = Box<dyn Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Every arm: its name, how many in flight, and its operation.
fn arms(s: &Stores) -> Vec<(String, usize, Arc<Op>)> {
    let mut arms: Vec<(String, usize, Arc<Op>)> = Vec::new();
    // A memory store per arm, large enough for every key a run makes (they
    // never expire within it).
    let memory =
        || -> Arc<dyn DedupStore> { Arc::new(MemoryStore::builder().capacity(8_000_000).build()) };
    let stores: [(&str, Arc<dyn DedupStore>); 3] = [
        ("memory", memory()),
        ("redis", Arc::new(s.redis.clone())),
        ("postgres", Arc::new(s.postgres.clone())),
    ];
    for in_flight in [1, 64] {
        for (name, store) in &stores {
            let store = if *name == "memory" {
                memory()
            } else {
                Arc::clone(store)
            };
            let op: Op = Box::new(pair_op(store, run_id()));
            arms.push((
                format!("reserve+commit/{name}/{in_flight} in flight"),
                in_flight,
                Arc::new(op),
            ));
        }
    }
    for (name, store) in &stores {
        let op: Op = Box::new(layer_op(
            layer_service(Some(Arc::clone(store)), None),
            run_id(),
        ));
        arms.push((format!("layer/{name}"), LAYER_IN_FLIGHT, Arc::new(op)));
    }
    let op: Op = Box::new(layer_op(
        layer_service(
            Some(Arc::new(s.postgres.clone())),
            Some(s.postgres.pool().clone()),
        ),
        run_id(),
    ));
    arms.push((
        "layer/postgres+tx".to_owned(),
        LAYER_IN_FLIGHT,
        Arc::new(op),
    ));
    arms
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `-- --latency`: each arm for about `secs` seconds, then a table.
fn latency_table(rt: &Runtime, s: &Stores, secs: f64) {
    println!("| arm | in flight | ops/s | p50 | p99 |");
    println!("|---|---|---|---|---|");
    for (name, in_flight, op) in arms(s) {
        // A short warm-up that also sizes the run.
        let probe = {
            let op = Arc::clone(&op);
            rt.block_on(drive(200, in_flight, move |i| op(i)))
        };
        let per_op = probe.0.as_secs_f64() / 200.0;
        let n = ((secs / per_op) as u64).clamp(500, 2_000_000);
        let op = Arc::clone(&op);
        let (wall, mut took) = rt.block_on(drive(n, in_flight, move |i| op(i + 1_000_000_000)));
        took.sort();
        println!(
            "| {name} | {in_flight} | {:.0} | {:.0} µs | {:.0} µs |",
            n as f64 / wall.as_secs_f64(),
            percentile(&took, 0.5).as_secs_f64() * 1e6,
            percentile(&took, 0.99).as_secs_f64() * 1e6,
        );
    }
}

fn main() {
    let rt = runtime();
    let s = rt.block_on(stores());
    if std::env::args().any(|a| a == "--latency") {
        latency_table(&rt, &s, 3.0);
    } else {
        let mut c = Criterion::default()
            .configure_from_args()
            .sample_size(20)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        let mut offset = 0u64;
        for (name, in_flight, op) in arms(&s) {
            c.bench_function(&name, |b| {
                b.iter_custom(|n| {
                    let op = Arc::clone(&op);
                    let base = offset;
                    offset += n;
                    rt.block_on(drive(n, in_flight, move |i| op(base + i))).0
                })
            });
        }
        c.final_summary();
    }
    rt.block_on(async {
        sqlx::query(&format!("DROP TABLE IF EXISTS {}", s.table))
            .execute(s.postgres.pool())
            .await
            .unwrap();
    });
}
