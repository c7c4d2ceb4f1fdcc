//! `RedisStore` against a real Redis (never a mock).
//!
//! Needs a Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`): these
//! tests fail, they do not skip, when it is unreachable. Each test uses its
//! own random key prefix, so parallel runs never collide. The outage tests
//! start their own `redis-server` (from `PATH`, or `REDIS_SERVER`) on a free
//! port and never touch the shared one.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinHandle;
use tower_webhook::Delivery;
use tower_webhook::WebhookLayer;
use tower_webhook::dedup::ConnectError;
use tower_webhook::dedup::{
    BoxFuture, Claim, DedupStore, RedisStore, Reservation, StoreError, Token,
};
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::sign::Signer;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn unique_prefix() -> String {
    format!(
        "tower-webhook-test:{}:{:016x}:",
        std::process::id(),
        Token::generate().as_u64()
    )
}

async fn connect(url: &str, prefix: &str, timeout: Duration) -> RedisStore {
    RedisStore::builder()
        .prefix(prefix)
        .timeout(timeout)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("these tests need a reachable Redis (set REDIS_URL): {e}"))
}

async fn store() -> (RedisStore, String) {
    let prefix = unique_prefix();
    (
        connect(&redis_url(), &prefix, Duration::from_secs(2)).await,
        prefix,
    )
}

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("these tests need a reachable Redis (set REDIS_URL): {e}"))
}

async fn pttl(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap()
}

/// A claim for `lease` that asks the retention [`KEEP`].
fn claim(lease: Duration) -> Claim {
    Claim::new(lease, KEEP)
}

/// A claim that asks no retention: probing a done key with it does not
/// push its expiry out.
fn probe() -> Claim {
    Claim::new(LEASE, Duration::ZERO)
}

/// Reserves `key` for `lease`, which must answer Fresh; returns the token.
async fn take(s: &impl DedupStore, key: &str, lease: Duration) -> Token {
    let c = claim(lease);
    match s.reserve(key, c).await {
        Ok(Reservation::Fresh) => c.token,
        other => panic!("expected Fresh, got {other:?}"),
    }
}

/// Every Redis key under `prefix` (a test's own prefix: these are the keys
/// the layer made, whatever their layout).
async fn keys_under(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(conn)
        .await
        .unwrap()
}

/// Polls `f` every 20 ms until it is true, at most `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    for _ in 0..10_000 {
        if f().await {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("gave up waiting for {what}");
}

// ---------------------------------------------------------------------------
// 1. The contract on real Redis time and real TTLs (tests/store_contract.rs
// checks every rule with time moved by hand; these watch Redis's own expiry).

const LEASE: Duration = Duration::from_secs(30);
const KEEP: Duration = Duration::from_secs(120);

#[tokio::test]
async fn reserve_inflight_commit_done_with_ttls() {
    let (s, prefix) = store().await;
    let mut conn = raw(&redis_url()).await;
    let key = format!("{prefix}a");

    let t = take(&s, "a", LEASE).await;
    let ttl = pttl(&mut conn, &key).await;
    assert!(ttl > 0 && ttl <= 30_000, "lease TTL {ttl}");
    match s.reserve("a", claim(LEASE)).await {
        Ok(Reservation::InFlight { retry_after }) => {
            assert!(
                retry_after > Duration::ZERO && retry_after <= LEASE,
                "{retry_after:?}"
            );
        }
        other => panic!("expected InFlight, got {other:?}"),
    }
    assert_eq!(s.commit("a", t, KEEP).await, Ok(true));
    let ttl = pttl(&mut conn, &key).await;
    assert!(ttl > 30_000 && ttl <= 120_000, "retention TTL {ttl}");
    assert_eq!(s.reserve("a", probe()).await, Ok(Reservation::Done));
    assert_eq!(
        s.commit("a", t, KEEP).await,
        Ok(false),
        "second commit is a no-op"
    );
    assert_eq!(
        s.release("a", t).await,
        Ok(false),
        "a committed id cannot be released"
    );
    assert_eq!(s.reserve("a", probe()).await, Ok(Reservation::Done));
    let ttl = pttl(&mut conn, &key).await;
    assert!(
        ttl > 30_000 && ttl <= 120_000,
        "probes asking no retention left the TTL alone: {ttl}"
    );
}

/// A verified duplicate (Done) pushes the key's expiry out to its own
/// retention when that ends later, and never pulls it in.
#[tokio::test]
async fn done_pushes_the_expiry_out_to_the_later_claims_retention() {
    let (s, prefix) = store().await;
    let mut conn = raw(&redis_url()).await;
    let key = format!("{prefix}a");
    let t = take(&s, "a", LEASE).await;
    assert_eq!(s.commit("a", t, KEEP).await, Ok(true));
    let later = Claim::new(LEASE, Duration::from_secs(600));
    assert_eq!(s.reserve("a", later).await, Ok(Reservation::Done));
    let ttl = pttl(&mut conn, &key).await;
    assert!(ttl > 120_000 && ttl <= 600_000, "extended TTL {ttl}");
    let shorter = Claim::new(LEASE, Duration::from_secs(10));
    assert_eq!(s.reserve("a", shorter).await, Ok(Reservation::Done));
    let ttl = pttl(&mut conn, &key).await;
    assert!(ttl > 120_000, "a shorter claim pulled the TTL in: {ttl}");
}

/// The lease runs out on Redis's clock (the key's TTL; Redis deletes it):
/// the commit that comes after still records the work when nobody took
/// over.
#[tokio::test]
async fn commit_after_redis_expired_the_lease_records_the_key() {
    let (s, prefix) = store().await;
    let mut conn = raw(&redis_url()).await;
    let key = format!("{prefix}a");
    let t = take(&s, "a", Duration::from_millis(1)).await;
    eventually(Duration::from_secs(5), "Redis to expire the lease", || {
        let mut conn = conn.clone();
        let key = key.clone();
        async move { pttl(&mut conn, &key).await == -2 }
    })
    .await;
    assert_eq!(s.commit("a", t, KEEP).await, Ok(true));
    let ttl = pttl(&mut conn, &key).await;
    assert!(ttl > 30_000 && ttl <= 120_000, "retention TTL {ttl}");
    assert_eq!(s.reserve("a", probe()).await, Ok(Reservation::Done));
}

#[tokio::test]
async fn release_lets_the_retry_through() {
    let (s, prefix) = store().await;
    let mut conn = raw(&redis_url()).await;
    let t = take(&s, "a", LEASE).await;
    assert_eq!(s.release("a", t).await, Ok(true));
    assert_eq!(
        pttl(&mut conn, &format!("{prefix}a")).await,
        -2,
        "key deleted"
    );
    assert_eq!(
        s.release("a", t).await,
        Ok(false),
        "second release is a no-op"
    );
    take(&s, "a", LEASE).await;
}

#[tokio::test]
async fn stale_token_cannot_touch_the_new_owner() {
    let (s, _) = store().await;
    let short = Duration::from_millis(150);
    let stale = take(&s, "a", short).await;
    let started = Instant::now();
    let mut owner = None;
    for _ in 0..250 {
        let c = claim(LEASE);
        match s.reserve("a", c).await {
            Ok(Reservation::Fresh) => {
                owner = Some(c.token);
                break;
            }
            Ok(Reservation::InFlight { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "lease did not expire"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let owner = owner.unwrap();
    assert_ne!(owner, stale);
    assert_eq!(s.release("a", stale).await, Ok(false));
    assert_eq!(s.commit("a", stale, KEEP).await, Ok(false));
    assert!(matches!(
        s.reserve("a", claim(LEASE)).await,
        Ok(Reservation::InFlight { .. })
    ));
    assert_eq!(s.commit("a", owner, KEEP).await, Ok(true));
    assert_eq!(s.release("a", owner).await, Ok(false));
    assert_eq!(s.reserve("a", probe()).await, Ok(Reservation::Done));
}

#[tokio::test]
async fn retention_ends_and_the_id_is_forgotten() {
    let (s, _) = store().await;
    let t = take(&s, "a", LEASE).await;
    assert_eq!(s.commit("a", t, Duration::from_millis(150)).await, Ok(true));
    // Probes that ask no retention: a Done would otherwise keep the key
    // for the probe's own retention.
    assert_eq!(s.reserve("a", probe()).await, Ok(Reservation::Done));
    eventually(Duration::from_secs(5), "the retention to end", || async {
        matches!(s.reserve("a", probe()).await, Ok(Reservation::Fresh))
    })
    .await;
}

#[tokio::test]
async fn concurrent_reservations_from_several_stores_one_winner() {
    let prefix = unique_prefix();
    let url = redis_url();
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(connect(&url, &prefix, Duration::from_secs(2)).await);
    }
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = stores[i % 4].clone();
        tasks.push(tokio::spawn(async move {
            let c = claim(LEASE);
            (c.token, s.reserve("contended", c).await)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (token, Ok(Reservation::Fresh)) => winners.push(token),
            (_, Ok(Reservation::InFlight { .. })) => {}
            (_, other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    // The winner's token is the one Redis holds.
    assert_eq!(
        stores[1].commit("contended", winners[0], KEEP).await,
        Ok(true)
    );
}

#[tokio::test]
async fn prefixes_isolate_and_zero_durations_are_accepted() {
    let (a, _) = store().await;
    let (b, prefix_b) = store().await;
    let mut conn = raw(&redis_url()).await;
    let ta = take(&a, "same", LEASE).await;
    // Held under a's prefix, free under b's.
    let zero = Claim::new(Duration::ZERO, Duration::ZERO);
    assert_eq!(b.reserve("same", zero).await, Ok(Reservation::Fresh));
    assert_eq!(b.commit("same", zero.token, Duration::ZERO).await, Ok(true));
    // A zero retention is stored as 1 ms: it still expires.
    assert!(pttl(&mut conn, &format!("{prefix_b}same")).await <= 1);
    assert!(matches!(
        a.reserve("same", claim(LEASE)).await,
        Ok(Reservation::InFlight { .. })
    ));
    assert_eq!(a.release("same", ta).await, Ok(true));
}

#[tokio::test]
async fn invalid_url_and_unreachable_server_name_the_setting() {
    let err = RedisStore::connect("redis://:s3cret@").await.err();
    let err = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("RedisStore::connect"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");

    let port = free_port();
    let err = RedisStore::builder()
        .timeout(Duration::from_millis(100))
        .connect(&format!("redis://:s3cret@127.0.0.1:{port}"))
        .await
        .err();
    match err {
        Some(e @ ConnectError::Connect { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
            assert!(!msg.contains("s3cret"), "{msg}");
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Replicas: axum servers on loopback, each with its own layer and store.

#[derive(Clone, Copy)]
enum Mode {
    /// Works for this long, then answers 204.
    Work(Duration),
    /// The first attempt at an id (on any replica) answers 500.
    FailFirstAttempt,
    /// Never answers.
    Hang,
}

#[derive(Default)]
struct Log {
    /// Handlers started, per id.
    attempts: Mutex<HashMap<String, usize>>,
    /// Successful handlings, per id: which replica.
    handled: Mutex<HashMap<String, Vec<&'static str>>>,
}

impl Log {
    fn attempts(&self, id: &str) -> usize {
        self.attempts.lock().unwrap().get(id).copied().unwrap_or(0)
    }
    fn handled(&self, id: &str) -> Vec<&'static str> {
        self.handled
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .unwrap_or_default()
    }
    fn handled_total(&self) -> usize {
        self.handled.lock().unwrap().values().map(Vec::len).sum()
    }
}

#[derive(Clone)]
struct App {
    name: &'static str,
    mode: Mode,
    log: Arc<Log>,
}

// Reads the `Delivery` from the extensions rather than with the extractor,
// so that these tests need no more than the `redis` feature.
async fn handle(State(app): State<App>, request: axum::extract::Request) -> StatusCode {
    let id = request
        .extensions()
        .get::<Delivery>()
        .map(|d| d.id.clone())
        .unwrap_or_default();
    let attempt = {
        let mut a = app.log.attempts.lock().unwrap();
        let n = a.entry(id.clone()).or_default();
        *n += 1;
        *n
    };
    match app.mode {
        Mode::Hang => std::future::pending::<()>().await,
        Mode::FailFirstAttempt if attempt == 1 => return StatusCode::INTERNAL_SERVER_ERROR,
        Mode::FailFirstAttempt => {}
        Mode::Work(d) => tokio::time::sleep(d).await,
    }
    app.log
        .handled
        .lock()
        .unwrap()
        .entry(id)
        .or_default()
        .push(app.name);
    StatusCode::NO_CONTENT
}

struct Replica {
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Two replicas ("a" and "b"), each with its own `RedisStore` on `url`
/// under `prefix`: what two servers behind a load balancer look like.
async fn two_replicas(
    url: &str,
    prefix: &str,
    op_timeout: Duration,
    lease: Duration,
    mode: Mode,
    log: &Arc<Log>,
) -> (Replica, Replica) {
    let a = replica(
        "a",
        connect(url, prefix, op_timeout).await,
        lease,
        mode,
        log,
    )
    .await;
    let b = replica(
        "b",
        connect(url, prefix, op_timeout).await,
        lease,
        mode,
        log,
    )
    .await;
    (a, b)
}

async fn replica(
    name: &'static str,
    store: impl DedupStore,
    lease: Duration,
    mode: Mode,
    log: &Arc<Log>,
) -> Replica {
    let layer = WebhookLayer::new(StandardWebhooks::new(SECRET).unwrap())
        .dedup(store)
        .lease(lease)
        .namespace("test-hook");
    let app = Router::new()
        .route("/hook", post(handle))
        .route_layer(layer)
        .with_state(App {
            name,
            mode,
            log: Arc::clone(log),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Replica { addr, server }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// What a sender saw, over all its deliveries.
#[derive(Default)]
struct Seen {
    conflict: AtomicUsize,
    unavailable: AtomicUsize,
    server_error: AtomicUsize,
    transport: AtomicUsize,
}

/// One POST of event `id`, signed at `ts`, to `addr`.
async fn post_once(
    client: &HttpClient,
    addr: SocketAddr,
    id: &str,
    ts: SystemTime,
) -> Result<StatusCode, String> {
    let scheme = StandardWebhooks::new(SECRET).unwrap();
    let request = Signer::new(&scheme)
        .id(id)
        .timestamp(ts)
        .request(
            &format!("http://{addr}/hook"),
            format!(r#"{{"id":"{id}"}}"#),
        )
        .unwrap();
    let response = client
        .request(request.map(Full::new))
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(status)
}

/// A sender: delivers an event until it gets a 2xx, retrying on 409, 5xx
/// and transport errors every `pause`, at most `max_attempts` times, going
/// round the replicas.
#[derive(Clone)]
struct Sender {
    client: HttpClient,
    targets: Vec<SocketAddr>,
    max_attempts: usize,
    pause: Duration,
    seen: Arc<Seen>,
}

impl Sender {
    fn new(targets: &[SocketAddr], max_attempts: usize) -> Self {
        Self {
            client: http_client(),
            targets: targets.to_vec(),
            max_attempts,
            pause: Duration::from_millis(25),
            seen: Arc::default(),
        }
    }

    /// Delivers `id` signed at `ts`, first to replica `first`; returns the
    /// final (2xx) status.
    async fn deliver(&self, first: usize, id: &str, ts: SystemTime) -> StatusCode {
        let seen = &self.seen;
        for attempt in 0..self.max_attempts {
            let addr = self.targets[(first + attempt) % self.targets.len()];
            match post_once(&self.client, addr, id, ts).await {
                Ok(s) if s.is_success() => return s,
                Ok(StatusCode::CONFLICT) => seen.conflict.fetch_add(1, Ordering::Relaxed),
                Ok(StatusCode::SERVICE_UNAVAILABLE) => {
                    seen.unavailable.fetch_add(1, Ordering::Relaxed)
                }
                Ok(s) if s.is_server_error() => seen.server_error.fetch_add(1, Ordering::Relaxed),
                Ok(s) => panic!("{id}: unexpected {s}"),
                Err(_) => seen.transport.fetch_add(1, Ordering::Relaxed),
            };
            tokio::time::sleep(self.pause).await;
        }
        panic!("{id}: no 2xx after {} attempts", self.max_attempts);
    }
}

// 2. Two replicas, one truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_handle_every_event_exactly_once() {
    let prefix = unique_prefix();
    let url = redis_url();
    let log = Arc::new(Log::default());
    let lease = Duration::from_secs(10);
    let work = Mode::Work(Duration::from_millis(15));
    let (a, b) = two_replicas(&url, &prefix, Duration::from_secs(2), lease, work, &log).await;
    let sender = Sender::new(&[a.addr, b.addr], 200);
    let seen = Arc::clone(&sender.seen);
    let ts = SystemTime::now();

    let mut senders = Vec::new();
    for i in 0..200 {
        let (k, copy) = (i % 50, i / 50);
        let id = format!("evt_{k}");
        // Ids 0–9 go first to replica b only and ids 10–19 to a only, so
        // that each replica surely handles some; the copies of ids 20–49
        // alternate between the replicas and race for the reservation.
        // (With every id racing, replica a once won all 50 races: a
        // statistic, not a fault, which made this test fail about once in
        // 15–40 runs.)
        let first = match k {
            0..10 => 1,
            10..20 => 0,
            _ => (i + copy) % 2,
        };
        let sender = sender.clone();
        senders.push(tokio::spawn(
            async move { sender.deliver(first, &id, ts).await },
        ));
    }
    let statuses = tokio::time::timeout(Duration::from_secs(60), async {
        let mut out = Vec::new();
        for s in senders {
            out.push(s.await.unwrap());
        }
        out
    })
    .await
    .expect("deliveries did not finish within 60 s");
    // Printed first, so that a failing assertion below comes with the run's
    // figures.
    eprintln!(
        "two replicas: statuses {:?}, handled per replica {:?}, 409s {}, 503s {}, other 5xx {}, transport errors {}",
        {
            let mut counts = std::collections::BTreeMap::new();
            for s in &statuses {
                *counts.entry(s.as_u16()).or_insert(0) += 1;
            }
            counts
        },
        {
            let mut per = std::collections::BTreeMap::new();
            for v in log.handled.lock().unwrap().values() {
                *per.entry(v[0]).or_insert(0) += 1;
            }
            per
        },
        seen.conflict.load(Ordering::Relaxed),
        seen.unavailable.load(Ordering::Relaxed),
        seen.server_error.load(Ordering::Relaxed),
        seen.transport.load(Ordering::Relaxed),
    );

    for i in 0..50 {
        let id = format!("evt_{i}");
        assert_eq!(
            log.handled(&id).len(),
            1,
            "{id} handled {:?}",
            log.handled(&id)
        );
    }
    assert_eq!(log.handled_total(), 50);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::NO_CONTENT)
            .count(),
        50
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        150,
        "duplicates answer 200"
    );
    let by_a = log
        .handled
        .lock()
        .unwrap()
        .values()
        .filter(|v| v[0] == "a")
        .count();
    // Ids 10–19 reached a first and 0–9 reached b first (unless a
    // transport error moved them, which the line printed above would show).
    assert!(
        (10..=40).contains(&by_a),
        "both replicas took part: a handled {by_a}"
    );
    assert_eq!(seen.unavailable.load(Ordering::Relaxed), 0);
}

// 3. A failure releases the id: the retry, on the other replica, handles it.
#[tokio::test]
async fn failed_attempt_is_retried_on_the_other_replica() {
    let prefix = unique_prefix();
    let url = redis_url();
    let log = Arc::new(Log::default());
    let lease = Duration::from_secs(10);
    let mode = Mode::FailFirstAttempt;
    let (a, b) = two_replicas(&url, &prefix, Duration::from_secs(2), lease, mode, &log).await;
    let client = http_client();
    let ts = SystemTime::now();

    assert_eq!(
        post_once(&client, a.addr, "evt_fail", ts).await,
        Ok(StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_eq!(log.handled("evt_fail"), Vec::<&str>::new());
    assert_eq!(
        post_once(&client, b.addr, "evt_fail", ts).await,
        Ok(StatusCode::NO_CONTENT)
    );
    assert_eq!(log.handled("evt_fail"), ["b"]);
    // Later copies, anywhere, do not reach a handler.
    assert_eq!(
        post_once(&client, a.addr, "evt_fail", ts).await,
        Ok(StatusCode::OK)
    );
    assert_eq!(
        post_once(&client, b.addr, "evt_fail", ts).await,
        Ok(StatusCode::OK)
    );
    assert_eq!(log.attempts("evt_fail"), 2);
    assert_eq!(log.handled("evt_fail"), ["b"]);
}

/// A store whose releases never reach Redis: the process died before.
struct NeverRelease(RedisStore);

impl DedupStore for NeverRelease {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        claim: Claim,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        self.0.reserve(key, claim)
    }
    fn commit<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.0.commit(key, token, retention)
    }
    fn release<'a>(&'a self, _: &'a str, _: Token) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Ok(false)))
    }
}

// 4. A replica dies mid-handler: after the lease, the retry goes through.
#[tokio::test]
async fn dead_replica_lease_expires_and_the_retry_goes_through() {
    let prefix = unique_prefix();
    let url = redis_url();
    let log = Arc::new(Log::default());
    let lease = Duration::from_millis(800);
    let store_a = NeverRelease(connect(&url, &prefix, Duration::from_secs(2)).await);
    let a = replica("a", store_a, lease, Mode::Hang, &log).await;
    let b = replica(
        "b",
        connect(&url, &prefix, Duration::from_secs(2)).await,
        lease,
        Mode::Work(Duration::ZERO),
        &log,
    )
    .await;
    let client = http_client();
    let ts = SystemTime::now();

    // The sender gives up on the hanging replica; the replica then dies.
    let started = Instant::now();
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        post_once(&client, a.addr, "evt_dead", ts),
    )
    .await;
    assert!(
        gave_up.is_err(),
        "the hanging handler answered: {gave_up:?}"
    );
    assert_eq!(log.attempts("evt_dead"), 1);
    drop(a);

    // While the lease runs, the other replica says "in flight".
    let status = post_once(&client, b.addr, "evt_dead", ts).await;
    assert!(
        started.elapsed() < lease,
        "too slow to observe the lease; rerun on a less loaded machine"
    );
    assert_eq!(status, Ok(StatusCode::CONFLICT));

    let mut last = status;
    for _ in 0..250 {
        if started.elapsed() > Duration::from_secs(10) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
        last = post_once(&client, b.addr, "evt_dead", ts).await;
        if last != Ok(StatusCode::CONFLICT) {
            break;
        }
    }
    assert_eq!(
        last,
        Ok(StatusCode::NO_CONTENT),
        "after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() >= lease - Duration::from_millis(50),
        "went through before the lease ended"
    );
    assert_eq!(log.handled("evt_dead"), ["b"]);
    assert_eq!(
        post_once(&client, b.addr, "evt_dead", ts).await,
        Ok(StatusCode::OK)
    );
}

// A handler future dropped mid-way (client gone, task aborted, panic): the
// layer releases in the background, and the retry goes through long before
// the lease ends.
#[tokio::test]
async fn dropped_handler_releases_its_reservation_in_redis() {
    use tower::{Layer as _, ServiceExt as _};

    let prefix = unique_prefix();
    let url = redis_url();
    let log = Arc::new(Log::default());
    let lease = Duration::from_secs(30);
    let started = Arc::new(tokio::sync::Notify::new());
    let hanging = {
        let started = Arc::clone(&started);
        tower::service_fn(move |_: http::Request<Full<Bytes>>| {
            let started = Arc::clone(&started);
            async move {
                started.notify_one();
                std::future::pending::<Result<http::Response<Full<Bytes>>, std::convert::Infallible>>().await
            }
        })
    };
    let a = WebhookLayer::new(StandardWebhooks::new(SECRET).unwrap())
        .dedup(connect(&url, &prefix, Duration::from_secs(2)).await)
        .lease(lease)
        .namespace("test-hook")
        .layer(hanging);
    let b = replica(
        "b",
        connect(&url, &prefix, Duration::from_secs(2)).await,
        lease,
        Mode::Work(Duration::ZERO),
        &log,
    )
    .await;
    let client = http_client();
    let ts = SystemTime::now();

    let scheme = StandardWebhooks::new(SECRET).unwrap();
    let request = Signer::new(&scheme)
        .id("evt_dropped")
        .timestamp(ts)
        .request("/hook", r#"{"id":"evt_dropped"}"#)
        .unwrap();
    let task = tokio::spawn(a.oneshot(request.map(Full::new)));
    tokio::time::timeout(Duration::from_secs(5), started.notified())
        .await
        .expect("the handler did not start");
    let dropped = Instant::now();
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());

    let mut last = None;
    for _ in 0..100 {
        last = Some(post_once(&client, b.addr, "evt_dropped", ts).await);
        if last != Some(Ok(StatusCode::CONFLICT)) {
            break;
        }
        assert!(dropped.elapsed() < Duration::from_secs(5), "not released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last, Some(Ok(StatusCode::NO_CONTENT)));
    assert!(dropped.elapsed() < lease);
    assert_eq!(log.handled("evt_dropped"), ["b"]);
}

/// A request for event `id`, signed at `ts`, for an in-process service.
fn signed_request(id: &str, ts: SystemTime) -> http::Request<Full<Bytes>> {
    let scheme = StandardWebhooks::new(SECRET).unwrap();
    Signer::new(&scheme)
        .id(id)
        .timestamp(ts)
        .request("/hook", format!(r#"{{"id":"{id}"}}"#))
        .unwrap()
        .map(Full::new)
}

// A handler that outlives its lease (Redis expires the reservation; here
// the test deletes the key, which is what that expiry does) and succeeds
// still records its work when nobody took over: the redelivery, on another
// replica, answers 200 without running a handler a second time.
#[tokio::test]
async fn a_handler_that_outlived_its_lease_still_records_its_work() {
    use tower::{Layer as _, ServiceExt as _};

    let prefix = unique_prefix();
    let url = redis_url();
    let mut conn = raw(&url).await;
    let log = Arc::new(Log::default());
    let lease = Duration::from_secs(30);
    let entered = Arc::new(tokio::sync::Notify::new());
    let finish = Arc::new(tokio::sync::Notify::new());
    let slow = {
        let (entered, finish) = (Arc::clone(&entered), Arc::clone(&finish));
        tower::service_fn(move |_: http::Request<Full<Bytes>>| {
            let (entered, finish) = (Arc::clone(&entered), Arc::clone(&finish));
            async move {
                entered.notify_one();
                finish.notified().await;
                let mut response = http::Response::new(Full::new(Bytes::new()));
                *response.status_mut() = StatusCode::NO_CONTENT;
                Ok::<_, std::convert::Infallible>(response)
            }
        })
    };
    let a = WebhookLayer::new(StandardWebhooks::new(SECRET).unwrap())
        .dedup(connect(&url, &prefix, Duration::from_secs(2)).await)
        .lease(lease)
        .namespace("test-hook")
        .layer(slow);
    let b = replica(
        "b",
        connect(&url, &prefix, Duration::from_secs(2)).await,
        lease,
        Mode::Work(Duration::ZERO),
        &log,
    )
    .await;
    let ts = SystemTime::now();

    let task = tokio::spawn(a.oneshot(signed_request("evt_slow", ts)));
    tokio::time::timeout(Duration::from_secs(5), entered.notified())
        .await
        .expect("the handler did not start");
    let keys = keys_under(&mut conn, &prefix).await;
    assert_eq!(keys.len(), 1, "one reservation: {keys:?}");
    // The lease runs out while the handler works.
    let deleted: i64 = redis::cmd("DEL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    finish.notify_one();
    let response = task.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let ttl = pttl(&mut conn, &keys[0]).await;
    assert!(
        ttl > 300_000,
        "recorded as done for the delivery's window (about 360 s): TTL {ttl}"
    );

    let client = http_client();
    assert_eq!(
        post_once(&client, b.addr, "evt_slow", ts).await,
        Ok(StatusCode::OK)
    );
    assert_eq!(log.attempts("evt_slow"), 0, "not handled a second time");
}

// A sender's retry carries a fresher timestamp, so its replay window ends
// later than the first copy's: the verified duplicate (200) pushes the
// stored expiry out to the retry's window, or a replay of the retry after
// the first copy's retention would be handled again.
#[tokio::test]
async fn a_verified_duplicate_extends_the_stored_expiry() {
    let prefix = unique_prefix();
    let url = redis_url();
    let mut conn = raw(&url).await;
    let log = Arc::new(Log::default());
    let b = replica(
        "b",
        connect(&url, &prefix, Duration::from_secs(2)).await,
        Duration::from_secs(30),
        Mode::Work(Duration::ZERO),
        &log,
    )
    .await;
    let client = http_client();
    let now = SystemTime::now();
    // Signed 250 s ago: inside the 300 s window, which it leaves in 50 s
    // (plus the 60 s margin).
    let first = now - Duration::from_secs(250);
    assert_eq!(
        post_once(&client, b.addr, "evt_dup", first).await,
        Ok(StatusCode::NO_CONTENT)
    );
    let keys = keys_under(&mut conn, &prefix).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let ttl = pttl(&mut conn, &keys[0]).await;
    assert!(ttl > 100_000 && ttl <= 111_000, "first copy's TTL {ttl}");

    // The sender's retry, signed now: its window ends in 300 s (+ 60 s).
    assert_eq!(
        post_once(&client, b.addr, "evt_dup", now).await,
        Ok(StatusCode::OK)
    );
    let ttl = pttl(&mut conn, &keys[0]).await;
    assert!(
        ttl > 300_000 && ttl <= 361_000,
        "extended to the retry's window: TTL {ttl}"
    );
    // An older copy does not pull it back in.
    assert_eq!(
        post_once(&client, b.addr, "evt_dup", first).await,
        Ok(StatusCode::OK)
    );
    assert!(pttl(&mut conn, &keys[0]).await > 300_000);
    assert_eq!(log.attempts("evt_dup"), 1);
}

// Dropped outside any runtime (the layer releases from a destructor), the
// store answers an error instead of panicking.
#[tokio::test]
async fn without_a_runtime_the_store_errors_instead_of_panicking() {
    let (s, _) = store().await;
    let t = take(&s, "a", LEASE).await;
    let outcome = std::thread::spawn(move || {
        let mut release = s.release("a", t);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match release.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(r) => Some(r),
            std::task::Poll::Pending => None,
        }
    })
    .join()
    .unwrap();
    match outcome {
        Some(Err(StoreError::Unavailable(msg))) => assert!(msg.contains("tokio runtime"), "{msg}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Outages: a private redis-server that the test stops and starts.

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` child process; killed on drop.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    async fn start() -> Self {
        let mut r = Self {
            port: free_port(),
            child: None,
        };
        r.restart().await;
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn restart(&mut self) {
        let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let child = Command::new(&bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {bin} (install redis-server or set REDIS_SERVER): {e}")
            });
        self.child = Some(child);
        let url = self.url();
        eventually(
            Duration::from_secs(10),
            "the private redis-server to answer",
            || {
                let url = url.clone();
                async move {
                    let Ok(client) = redis::Client::open(url) else {
                        return false;
                    };
                    let ping = async {
                        let mut c = client.get_multiplexed_async_connection().await?;
                        redis::cmd("PING").query_async::<String>(&mut c).await
                    };
                    matches!(
                        tokio::time::timeout(Duration::from_millis(500), ping).await,
                        Ok(Ok(_))
                    )
                }
            },
        )
        .await;
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("server running").id();
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success(), "kill {sig} {pid}");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // SIGKILL works on a stopped process too; never panic here.
        self.kill();
    }
}

// 5. Redis stops in the middle of a stream: 503s meanwhile, then every event
// handled exactly once, without restarting the replicas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_answers_503_then_every_event_is_handled_once() {
    let mut server = PrivateRedis::start().await;
    let url = server.url();
    let prefix = unique_prefix();
    let log = Arc::new(Log::default());
    let lease = Duration::from_secs(1);
    let op_timeout = Duration::from_millis(200);
    let work = Mode::Work(Duration::from_millis(10));
    let (a, b) = two_replicas(&url, &prefix, op_timeout, lease, work, &log).await;
    let sender = Sender::new(&[a.addr, b.addr], 400);
    let seen = Arc::clone(&sender.seen);
    let ts = SystemTime::now();

    const EVENTS: usize = 60;
    let stream = {
        let sender = sender.clone();
        tokio::spawn(async move {
            let mut senders = Vec::new();
            for i in 0..EVENTS {
                let sender = sender.clone();
                senders.push(tokio::spawn(async move {
                    sender.deliver(i, &format!("evt_{i}"), ts).await
                }));
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            let mut out = Vec::new();
            for s in senders {
                out.push(s.await.unwrap());
            }
            out
        })
    };

    eventually(
        Duration::from_secs(20),
        "some events handled before the outage",
        || async { log.handled_total() >= 10 },
    )
    .await;
    server.kill();
    let down = Instant::now();
    eventually(
        Duration::from_secs(20),
        "503s during the outage",
        || async { seen.unavailable.load(Ordering::Relaxed) >= 5 },
    )
    .await;
    let handled_while_down = log.handled_total();
    // Long enough for the connection manager to exhaust its reconnection
    // attempts at least once: it must start over when asked again.
    tokio::time::sleep(Duration::from_millis(2500).saturating_sub(down.elapsed())).await;
    assert!(
        log.handled_total() <= handled_while_down + 2,
        "handlers ran while Redis was down (beyond the few already reserved)"
    );
    server.restart().await;
    eprintln!("outage lasted {:?}", down.elapsed());

    let statuses = tokio::time::timeout(Duration::from_secs(60), stream)
        .await
        .expect("stream did not finish within 60 s after Redis came back")
        .unwrap();
    assert!(statuses.iter().all(StatusCode::is_success));
    for i in 0..EVENTS {
        let id = format!("evt_{i}");
        assert_eq!(
            log.handled(&id).len(),
            1,
            "{id} handled {:?}",
            log.handled(&id)
        );
    }
    assert_eq!(log.handled_total(), EVENTS);
    let unavailable = seen.unavailable.load(Ordering::Relaxed);
    eprintln!(
        "outage: {unavailable} answers 503, {} answers 409, {} transport errors; every one of {EVENTS} events handled once",
        seen.conflict.load(Ordering::Relaxed),
        seen.transport.load(Ordering::Relaxed)
    );
    assert!(unavailable >= 5);
    assert_eq!(
        seen.server_error.load(Ordering::Relaxed),
        0,
        "no 5xx other than 503"
    );
}

// A frozen Redis: operations time out (503), and the store recovers when it
// thaws. Redis applied the reservations whose answers were lost: on its own
// the store holds their ids for the lease (the layer releases them: see the
// next test).
#[tokio::test]
async fn frozen_redis_times_out_then_recovers() {
    let server = PrivateRedis::start().await;
    let op_timeout = Duration::from_millis(200);
    let s = connect(&server.url(), &unique_prefix(), op_timeout).await;
    take(&s, "before", LEASE).await;

    server.signal("-STOP");
    let started = Instant::now();
    assert_eq!(
        s.reserve("lost", claim(LEASE)).await,
        Err(StoreError::Timeout(op_timeout))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        s.reserve("other", claim(LEASE)).await,
        Err(StoreError::Timeout(op_timeout))
    );
    server.signal("-CONT");

    eventually(
        Duration::from_secs(10),
        "the store to answer again",
        || async {
            matches!(
                s.reserve("after", claim(LEASE)).await,
                Ok(Reservation::Fresh)
            )
        },
    )
    .await;
    // Redis applied the reservations whose answers timed out.
    assert!(matches!(
        s.reserve("lost", claim(LEASE)).await,
        Ok(Reservation::InFlight { .. })
    ));
    assert!(matches!(
        s.reserve("before", claim(LEASE)).await,
        Ok(Reservation::InFlight { .. })
    ));
}

// Through the layer, a reservation whose answer was lost (Redis frozen past
// the store's timeout) is released at once, with the token the layer made
// before asking: once Redis thaws, the sender's retry is handled rather than
// refused with 409 for the rest of the lease.
#[tokio::test]
async fn a_reservation_whose_answer_was_lost_is_released_by_the_layer() {
    let server = PrivateRedis::start().await;
    let url = server.url();
    let prefix = unique_prefix();
    let op_timeout = Duration::from_millis(200);
    let lease = Duration::from_secs(30);
    let log = Arc::new(Log::default());
    let client = http_client();
    // The scripts are loaded into the new server first: a script the server
    // does not know costs a second round trip (after NOSCRIPT), which a call
    // that timed out never makes. A failed attempt loads reserve and
    // release, the successful retry commit.
    let warm_up = replica(
        "w",
        connect(&url, &unique_prefix(), op_timeout).await,
        lease,
        Mode::FailFirstAttempt,
        &log,
    )
    .await;
    let ts = SystemTime::now();
    assert_eq!(
        post_once(&client, warm_up.addr, "evt_warm", ts).await,
        Ok(StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_eq!(
        post_once(&client, warm_up.addr, "evt_warm", ts).await,
        Ok(StatusCode::NO_CONTENT)
    );
    let b = replica(
        "b",
        connect(&url, &prefix, op_timeout).await,
        lease,
        Mode::Work(Duration::ZERO),
        &log,
    )
    .await;

    server.signal("-STOP");
    assert_eq!(
        post_once(&client, b.addr, "evt_lost", ts).await,
        Ok(StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(log.attempts("evt_lost"), 0);
    server.signal("-CONT");
    let thawed = Instant::now();

    let mut last = Ok(StatusCode::SERVICE_UNAVAILABLE);
    while last == Ok(StatusCode::SERVICE_UNAVAILABLE) && thawed.elapsed() < Duration::from_secs(10)
    {
        last = post_once(&client, b.addr, "evt_lost", ts).await;
        if last == Ok(StatusCode::SERVICE_UNAVAILABLE) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(
        last,
        Ok(StatusCode::NO_CONTENT),
        "the retry is handled, not held for the lease"
    );
    assert!(thawed.elapsed() < lease);
    assert_eq!(log.handled("evt_lost"), ["b"]);
}

// A reconnection that fails for a reason other than I/O (here the password
// was changed, then changed back) must not leave the store broken for good.
#[tokio::test]
async fn store_recovers_from_a_failed_reconnection_that_is_not_io() {
    let server = PrivateRedis::start().await;
    let mut admin = raw(&server.url()).await;
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "requirepass", "pw-one"][..])
        .query_async(&mut admin)
        .await
        .unwrap();
    let url = format!("redis://:pw-one@127.0.0.1:{}", server.port);
    let s = connect(&url, &unique_prefix(), Duration::from_millis(300)).await;
    take(&s, "before", LEASE).await;

    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "requirepass", "pw-two"][..])
        .query_async(&mut admin)
        .await
        .unwrap();
    let _: i64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"][..])
        .query_async(&mut admin)
        .await
        .unwrap();
    for _ in 0..20 {
        let r = s.reserve("during", claim(LEASE)).await;
        assert!(r.is_err(), "{r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "requirepass", "pw-one"][..])
        .query_async(&mut admin)
        .await
        .unwrap();
    eventually(
        Duration::from_secs(15),
        "the store to answer again",
        || async {
            matches!(
                s.reserve("after", claim(LEASE)).await,
                Ok(Reservation::Fresh)
            )
        },
    )
    .await;
}
