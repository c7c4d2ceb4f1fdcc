//! `PostgresStore` and `TxCommit` against a real PostgreSQL (never a mock).
//!
//! Needs a PostgreSQL at `POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`; `scripts/ensure-postgres.sh`
//! gives one): these tests fail, they do not skip, when it is unreachable.
//! Each test uses tables of its own. The restart test starts its own server
//! from the installed binaries (`/usr/lib/postgresql/*/bin`, or `PG_BIN`) on
//! a free port, as the `postgres` user when run as root (initdb refuses
//! root), and never touches the shared one.
//!
//! Leases and retentions run on a [`ManualClock`]: time passes by moving it,
//! never by sleeping. Only the timeouts (pool, statement) are real time.
#![cfg(all(feature = "postgres", feature = "axum"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use sqlx::PgPool;
use tokio::sync::Notify;
use tower::ServiceExt;
use tower_webhook::clock::{Clock, ManualClock};
use tower_webhook::dedup::{
    Claim, DedupStore, PostgresStore, Reservation, StoreError, Token, TxCommit, TxCommitError,
};
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::sign::Signer;
use tower_webhook::{Rejection, Verified, WebhookLayer};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const LEASE: Duration = Duration::from_secs(30);

fn scheme() -> StandardWebhooks {
    StandardWebhooks::new(SECRET).unwrap()
}

/// A pool on the shared test database (fails when it is unreachable).
async fn admin(url: &str) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .unwrap_or_else(|e| {
            panic!("these tests need a PostgreSQL at {url} (set POSTGRES_URL): {e}")
        })
}

/// A store on `url`, table `table`, on `clock`.
async fn store_on(url: &str, table: &str, clock: &ManualClock, timeout: Duration) -> PostgresStore {
    PostgresStore::builder()
        .table(table)
        .clock(clock.clone())
        .timeout(timeout)
        .max_connections(8)
        .connect(url)
        .await
        .unwrap()
}

/// The dedup table and the effects table of one test, and a clock.
struct Db {
    url: String,
    admin: PgPool,
    dedup: String,
    effects: String,
    clock: ManualClock,
}

impl Db {
    async fn new(url: String) -> Self {
        let admin = admin(&url).await;
        let dedup = common::unique_table("dedup");
        let effects = common::unique_table("effects");
        sqlx::query(&format!(
            "CREATE TABLE {effects} (event_id text NOT NULL, replica text NOT NULL)"
        ))
        .execute(&admin)
        .await
        .unwrap();
        Self {
            url,
            admin,
            dedup,
            effects,
            clock: ManualClock::at_unix(1_700_000_000),
        }
    }

    async fn shared() -> Self {
        Self::new(common::postgres_url()).await
    }

    async fn store(&self, timeout: Duration) -> PostgresStore {
        let store = store_on(&self.url, &self.dedup, &self.clock, timeout).await;
        store.migrate().await.unwrap();
        store
    }

    /// How many times each event's effect was written.
    async fn effects(&self) -> HashMap<String, i64> {
        sqlx::query_as::<_, (String, i64)>(&format!(
            "SELECT event_id, count(*) FROM {} GROUP BY event_id",
            self.effects
        ))
        .fetch_all(&self.admin)
        .await
        .unwrap()
        .into_iter()
        .collect()
    }

    async fn drop_tables(&self) {
        common::drop_table(&self.admin, &self.dedup).await;
        common::drop_table(&self.admin, &self.effects).await;
    }
}

/// Where a handler stops (for good: a panic, or its future is dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Point {
    /// Never: it answers 204.
    Nowhere,
    /// After writing the effect, before `commit_in`.
    AfterWrite,
    /// After `commit_in`, before the transaction commits.
    AfterCommitIn,
    /// After the transaction committed, before answering.
    AfterTxCommit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kill {
    Panic,
    /// The handler waits forever at the point; the test drops the request.
    Drop,
    /// The handler answers 500 at the point.
    Fail,
}

/// What a replica's handler shares with the test.
#[derive(Clone)]
struct App {
    name: &'static str,
    db: PgPool,
    effects: String,
    /// Where the next call stops, and how (taken by one call).
    stop: Arc<std::sync::Mutex<Option<(Point, Kill)>>>,
    reached: Arc<Notify>,
    handled: Arc<AtomicUsize>,
}

impl App {
    fn new(name: &'static str, db: PgPool, effects: &str) -> Self {
        Self {
            name,
            db,
            effects: effects.to_owned(),
            stop: Arc::default(),
            reached: Arc::new(Notify::new()),
            handled: Arc::default(),
        }
    }

    fn stop_next_at(&self, point: Point, kill: Kill) {
        *self.stop.lock().unwrap() = Some((point, kill));
    }
}

/// Stops here if told to: panics, hangs (the test drops the request) or
/// answers 500.
async fn stop_at(
    here: Point,
    plan: Option<(Point, Kill)>,
    reached: &Notify,
) -> Result<(), StatusCode> {
    match plan {
        Some((point, kill)) if point == here => {
            reached.notify_one();
            match kill {
                Kill::Panic => panic!("killed at {here:?}"),
                Kill::Drop => std::future::pending().await,
                Kill::Fail => Err(StatusCode::INTERNAL_SERVER_ERROR),
            }
        }
        _ => Ok(()),
    }
}

/// Writes the event's effect and commits the delivery in one transaction.
async fn handle(
    State(app): State<App>,
    commit: TxCommit,
    Verified(event, delivery): Verified<serde_json::Value>,
) -> Result<StatusCode, StatusCode> {
    let plan = app.stop.lock().unwrap().take();
    let id = delivery.id.clone();
    let _ = event;
    let unavailable = |_| StatusCode::SERVICE_UNAVAILABLE;
    let mut tx = app.db.begin().await.map_err(unavailable)?;
    sqlx::query(&format!(
        "INSERT INTO {} (event_id, replica) VALUES ($1, $2)",
        app.effects
    ))
    .bind(&id)
    .bind(app.name)
    .execute(&mut *tx)
    .await
    .map_err(unavailable)?;
    stop_at(Point::AfterWrite, plan, &app.reached).await?;
    commit
        .commit_in(&mut tx)
        .await
        .map_err(|_| StatusCode::CONFLICT)?;
    stop_at(Point::AfterCommitIn, plan, &app.reached).await?;
    tx.commit().await.map_err(unavailable)?;
    stop_at(Point::AfterTxCommit, plan, &app.reached).await?;
    app.handled.fetch_add(1, Ordering::SeqCst);
    Ok(StatusCode::NO_CONTENT)
}

fn router(layer: WebhookLayer<StandardWebhooks>, app: App) -> Router {
    Router::new()
        .route("/webhook", tower_webhook::endpoint(layer, handle))
        .with_state(app)
}

/// A replica: its own store (own pool) on the shared tables, its own layer.
async fn replica(db: &Db, name: &'static str, timeout: Duration) -> (Router, App) {
    let store = db.store(timeout).await;
    let app = App::new(name, store.pool().clone(), &db.effects);
    let layer = WebhookLayer::new(scheme())
        .clock(db.clock.clone())
        .lease(LEASE)
        .dedup(store);
    (router(layer, app.clone()), app)
}

/// Event `id` signed at the clock's time, as a sender signs each attempt.
fn delivery(clock: &ManualClock, id: &str) -> Request<Full<Bytes>> {
    let s = scheme();
    Signer::new(&s)
        .id(id)
        .timestamp(clock.now())
        .request("/webhook", format!(r#"{{"id":"{id}"}}"#))
        .unwrap()
        .map(Full::new)
}

async fn post_once(
    router: &Router,
    clock: &ManualClock,
    id: &str,
) -> (StatusCode, Option<Rejection>) {
    let response = router.clone().oneshot(delivery(clock, id)).await.unwrap();
    (
        response.status(),
        response.extensions().get::<Rejection>().cloned(),
    )
}

/// A sender: posts `id` until a 2xx, going round `routers`, pausing a
/// little between attempts. Answers every status it saw.
async fn deliver(
    routers: &[Router],
    clock: &ManualClock,
    id: &str,
    attempts: usize,
) -> Vec<StatusCode> {
    let mut seen = Vec::new();
    for attempt in 0..attempts {
        let (status, _) = post_once(&routers[attempt % routers.len()], clock, id).await;
        seen.push(status);
        if status.is_success() {
            return seen;
        }
        // A sender waits between attempts; the background release of an
        // interrupted attempt gets to run meanwhile.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{id}: no 2xx after {attempts} attempts: {seen:?}");
}

// ---------------------------------------------------------------------------
// 1. Two replicas, one truth.

/// 200 deliveries of 50 ids (four copies each), posted concurrently to two
/// replicas sharing the database: every event's effect is written exactly
/// once, and every delivery ends in a 2xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_handle_every_event_exactly_once() {
    let db = Db::shared().await;
    let (a, app_a) = replica(&db, "a", Duration::from_secs(5)).await;
    let (b, app_b) = replica(&db, "b", Duration::from_secs(5)).await;
    let routers = Arc::new([a, b]);
    let mut tasks = Vec::new();
    for copy in 0..4 {
        for n in 0..50 {
            let routers = Arc::clone(&routers);
            let clock = db.clock.clone();
            tasks.push(tokio::spawn(async move {
                let id = format!("evt_{n}");
                // Copies start on alternating replicas.
                let order = if (n + copy) % 2 == 0 {
                    [routers[0].clone(), routers[1].clone()]
                } else {
                    [routers[1].clone(), routers[0].clone()]
                };
                deliver(&order, &clock, &id, 2000).await
            }));
        }
    }
    let mut conflicts = 0;
    for t in tasks {
        let seen = t.await.unwrap();
        conflicts += seen.iter().filter(|s| **s == StatusCode::CONFLICT).count();
        // 409 while another copy is being handled; 503 when a replica's
        // pool was busy for the whole timeout. Both are retried.
        assert!(
            seen.iter().all(|s| s.is_success()
                || *s == StatusCode::CONFLICT
                || *s == StatusCode::SERVICE_UNAVAILABLE),
            "{seen:?}"
        );
    }
    let effects = db.effects().await;
    assert_eq!(effects.len(), 50, "{effects:?}");
    assert!(effects.values().all(|n| *n == 1), "{effects:?}");
    let handled = app_a.handled.load(Ordering::SeqCst) + app_b.handled.load(Ordering::SeqCst);
    assert_eq!(handled, 50);
    eprintln!(
        "handled: a {}, b {}; 409s seen by the senders: {conflicts}",
        app_a.handled.load(Ordering::SeqCst),
        app_b.handled.load(Ordering::SeqCst)
    );
    db.drop_tables().await;
}

// ---------------------------------------------------------------------------
// 2. Killed between the write and the answer: exactly once after retries.

async fn killed_at(point: Point, kill: Kill) {
    let db = Db::shared().await;
    let (router, app) = replica(&db, "a", Duration::from_secs(5)).await;
    let id = format!("evt_{point:?}_{kill:?}");
    app.stop_next_at(point, kill);
    let first = {
        let router = router.clone();
        let clock = db.clock.clone();
        let id = id.clone();
        tokio::spawn(async move { post_once(&router, &clock, &id).await })
    };
    if point != Point::Nowhere {
        app.reached.notified().await;
    }
    match kill {
        Kill::Drop if point != Point::Nowhere => {
            first.abort();
            assert!(first.await.unwrap_err().is_cancelled());
        }
        Kill::Panic if point != Point::Nowhere => {
            assert!(first.await.unwrap_err().is_panic());
        }
        _ => {
            let (status, _) = first.await.unwrap();
            let expected = if point == Point::Nowhere {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            assert_eq!(status, expected);
        }
    }
    // The sender retries until a 2xx.
    let seen = deliver(std::slice::from_ref(&router), &db.clock, &id, 500).await;
    // And once more, later: a duplicate.
    db.clock.advance(Duration::from_secs(1));
    let (again, rejection) = post_once(&router, &db.clock, &id).await;
    assert_eq!(again, StatusCode::OK, "{rejection:?}");
    assert!(matches!(rejection, Some(Rejection::Duplicate { .. })));
    let effects = db.effects().await;
    assert_eq!(
        effects.get(&id).copied(),
        Some(1),
        "{point:?} {kill:?}: {effects:?} (retries saw {seen:?})"
    );
    // Committed in the transaction: the retry after a commit found it done
    // (200) without calling the handler; otherwise the handler ran again.
    let committed_before = point == Point::AfterTxCommit || point == Point::Nowhere;
    let handled = app.handled.load(Ordering::SeqCst);
    assert_eq!(
        handled,
        usize::from(!committed_before) + usize::from(point == Point::Nowhere),
        "{point:?} {kill:?}: retries saw {seen:?}"
    );
    db.drop_tables().await;
}

macro_rules! killed {
    ($($name:ident: $point:ident, $kill:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            killed_at(Point::$point, Kill::$kill).await;
        }
    )*};
}

killed! {
    not_killed: Nowhere, Fail;
    panic_after_the_write: AfterWrite, Panic;
    panic_after_commit_in: AfterCommitIn, Panic;
    panic_after_the_transaction_committed: AfterTxCommit, Panic;
    dropped_after_the_write: AfterWrite, Drop;
    dropped_after_commit_in: AfterCommitIn, Drop;
    dropped_after_the_transaction_committed: AfterTxCommit, Drop;
    fails_after_the_write: AfterWrite, Fail;
    fails_after_commit_in: AfterCommitIn, Fail;
    fails_after_the_transaction_committed: AfterTxCommit, Fail;
}

// ---------------------------------------------------------------------------
// 3. TxCommit used wrongly.

/// The handle of a reservation of `key` on `store` (what the layer hands
/// the handler).
fn handle_for(store: &PostgresStore, held: &[(String, Token)]) -> TxCommit {
    let mut extensions = http::Extensions::new();
    let flag = store.hand_over(held, Duration::from_secs(600), &mut extensions);
    assert!(flag.is_some());
    let handle = TxCommit::take(&mut extensions).unwrap();
    assert!(TxCommit::take(&mut extensions).is_none(), "handed out once");
    handle
}

/// A stale holder (its lease ran out, a retry took the key over) cannot
/// commit over the newer reservation; the newer one can.
#[tokio::test]
async fn a_stale_handle_cannot_commit_over_a_newer_reservation() {
    let db = Db::shared().await;
    let store = db.store(Duration::from_secs(5)).await;
    let key = "standard:k:id:evt_stale".to_owned();
    let old = Claim::new(LEASE, Duration::from_secs(600));
    assert_eq!(store.reserve(&key, old).await, Ok(Reservation::Fresh));
    let stale = handle_for(&store, &[(key.clone(), old.token)]);
    db.clock.advance(LEASE);
    let new = Claim::new(LEASE, Duration::from_secs(600));
    assert_eq!(store.reserve(&key, new).await, Ok(Reservation::Fresh));
    let current = handle_for(&store, &[(key.clone(), new.token)]);

    let mut tx = store.pool().begin().await.unwrap();
    let err = stale.commit_in(&mut tx).await.unwrap_err();
    assert!(
        matches!(
            err,
            TxCommitError::NotHeld {
                keys: 1,
                held: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("roll back"), "{err}");
    drop(tx);
    let mut tx = store.pool().begin().await.unwrap();
    let lax: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(lax, "off", "the store's own pool");
    current.commit_in(&mut tx).await.unwrap();
    let durable: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        durable, "on",
        "the handler's transaction waits for the disk"
    );
    tx.commit().await.unwrap();
    assert_eq!(
        store.reserve(&key, Claim::new(LEASE, Duration::ZERO)).await,
        Ok(Reservation::Done)
    );
    // A release never undoes it.
    assert_eq!(store.release(&key, new.token).await, Ok(false));
    db.drop_tables().await;
}

/// A transaction on another database is refused, naming both databases.
#[tokio::test]
async fn committing_in_another_database_is_refused() {
    let db = Db::shared().await;
    let store = db.store(Duration::from_secs(5)).await;
    // Another database with the same table, as a staging copy would have.
    let other_db = "tower_webhook_test_other";
    let created = sqlx::query(&format!("CREATE DATABASE {other_db}"))
        .execute(&db.admin)
        .await;
    if let Err(e) = created {
        let code = e
            .as_database_error()
            .and_then(|d| d.code())
            .unwrap_or_default();
        // 42P04: it exists already; 23505: another test created it meanwhile.
        assert!(code == "42P04" || code == "23505", "{e}");
    }
    let (server, _) = db.url.rsplit_once('/').unwrap();
    let other_url = format!("{server}/{other_db}");
    let other = store_on(&other_url, &db.dedup, &db.clock, Duration::from_secs(5)).await;
    other.migrate().await.unwrap();

    let key = "standard:k:id:evt_elsewhere".to_owned();
    let claim = Claim::new(LEASE, Duration::from_secs(600));
    assert_eq!(store.reserve(&key, claim).await, Ok(Reservation::Fresh));
    let handle = handle_for(&store, &[(key.clone(), claim.token)]);
    let mut tx = other.pool().begin().await.unwrap();
    let err = handle.commit_in(&mut tx).await.unwrap_err();
    match &err {
        TxCommitError::WrongDatabase { expected, found } => {
            assert_eq!(found, other_db);
            assert_ne!(expected, other_db);
        }
        e => panic!("{e}"),
    }
    assert!(err.to_string().contains(other_db), "{err}");
    drop(tx);
    sqlx::query(&format!("DROP TABLE IF EXISTS {}", db.dedup))
        .execute(other.pool())
        .await
        .unwrap();
    db.drop_tables().await;
}

// ---------------------------------------------------------------------------
// 4. Fail closed: unreachable, pool exhausted, statement too slow.

/// A store whose database is gone answers StoreError, and the layer 503.
#[tokio::test]
async fn unreachable_database_answers_503() {
    let port = free_port();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy(&format!("postgres://postgres@127.0.0.1:{port}/test"))
        .unwrap();
    let clock = ManualClock::at_unix(1_700_000_000);
    let store = PostgresStore::builder()
        .clock(clock.clone())
        .timeout(Duration::from_millis(300))
        .build(pool)
        .unwrap();
    let err = store
        .reserve("k", Claim::new(LEASE, LEASE))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(_) | StoreError::Timeout(_)),
        "{err}"
    );
    let app = App::new("a", store.pool().clone(), "unused");
    let layer = WebhookLayer::new(scheme())
        .clock(clock.clone())
        .dedup(store);
    let router = router(layer, app.clone());
    let started = Instant::now();
    let (status, rejection) = post_once(&router, &clock, "evt_1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        matches!(rejection, Some(Rejection::Store(_))),
        "{rejection:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(app.handled.load(Ordering::SeqCst), 0);
}

/// Every connection of the pool taken: 503 within the timeout, then the
/// retry goes through once a connection is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_exhausted_answers_503_within_the_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    let db = Db::shared().await;
    let store = PostgresStore::builder()
        .table(&db.dedup)
        .clock(db.clock.clone())
        .timeout(TIMEOUT)
        .max_connections(1)
        .connect(&db.url)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let app = App::new("a", db.admin.clone(), &db.effects);
    let layer = WebhookLayer::new(scheme())
        .clock(db.clock.clone())
        .dedup(store.clone());
    let router = router(layer, app.clone());

    let held = store.pool().acquire().await.unwrap();
    let started = Instant::now();
    let (status, rejection) = post_once(&router, &db.clock, "evt_busy").await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        matches!(rejection, Some(Rejection::Store(StoreError::Timeout(t))) if t == TIMEOUT),
        "{rejection:?}"
    );
    assert!(took >= TIMEOUT && took < TIMEOUT * 4, "{took:?}");
    assert_eq!(app.handled.load(Ordering::SeqCst), 0);
    drop(held);
    let (status, _) = post_once(&router, &db.clock, "evt_busy").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(db.effects().await.get("evt_busy").copied(), Some(1));
    db.drop_tables().await;
}

/// A statement that cannot finish (its row is locked by another
/// transaction) is cut at the timeout: 503, never a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_stuck_on_a_lock_answers_503_within_the_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    let db = Db::shared().await;
    let store = store_on(&db.url, &db.dedup, &db.clock, TIMEOUT).await;
    store.migrate().await.unwrap();
    let key = "k:stuck";
    let claim = Claim::new(LEASE, LEASE);
    assert_eq!(store.reserve(key, claim).await, Ok(Reservation::Fresh));
    let mut locker = db.admin.begin().await.unwrap();
    sqlx::query(&format!(
        "SELECT 1 FROM {} WHERE key = $1 FOR UPDATE",
        db.dedup
    ))
    .bind(key)
    .execute(&mut *locker)
    .await
    .unwrap();
    let started = Instant::now();
    let err = store
        .reserve(key, Claim::new(LEASE, LEASE))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err, StoreError::Timeout(TIMEOUT));
    assert!(took < TIMEOUT * 4, "{took:?}");
    locker.rollback().await.unwrap();
    // The store works again.
    assert!(matches!(
        store.reserve(key, Claim::new(LEASE, LEASE)).await,
        Ok(Reservation::InFlight { .. })
    ));
    assert_eq!(store.release(key, claim.token).await, Ok(true));
    db.drop_tables().await;
}

// ---------------------------------------------------------------------------
// 5. Expired rows leave in bounded sweeps.

#[tokio::test]
async fn sweep_deletes_expired_rows_a_batch_at_a_time() {
    let db = Db::shared().await;
    let store = PostgresStore::builder()
        .table(&db.dedup)
        .clock(db.clock.clone())
        .sweep_every(0)
        .sweep_batch(10)
        .connect(&db.url)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    for n in 0..25 {
        let c = Claim::new(LEASE, Duration::from_secs(60));
        let key = format!("k{n}");
        assert_eq!(store.reserve(&key, c).await, Ok(Reservation::Fresh));
        if n % 2 == 0 {
            assert_eq!(
                store.commit(&key, c.token, Duration::from_secs(60)).await,
                Ok(true)
            );
        }
    }
    let live = Claim::new(Duration::from_secs(600), Duration::from_secs(600));
    assert_eq!(store.reserve("live", live).await, Ok(Reservation::Fresh));
    assert_eq!(store.sweep().await, Ok(0), "nothing expired yet");
    db.clock.advance(Duration::from_secs(61));
    assert_eq!(store.sweep().await, Ok(10));
    assert_eq!(store.sweep().await, Ok(10));
    assert_eq!(store.sweep().await, Ok(5));
    assert_eq!(store.sweep().await, Ok(0));
    let left: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", db.dedup))
        .fetch_one(&db.admin)
        .await
        .unwrap();
    assert_eq!(left, 1, "the live reservation stays");

    // And in the background, every `sweep_every` reservations.
    let auto = PostgresStore::builder()
        .table(&db.dedup)
        .clock(db.clock.clone())
        .sweep_every(5)
        .connect(&db.url)
        .await
        .unwrap();
    for n in 0..5 {
        let c = Claim::new(Duration::from_secs(1), Duration::ZERO);
        assert_eq!(
            auto.reserve(&format!("a{n}"), c).await,
            Ok(Reservation::Fresh)
        );
    }
    db.clock.advance(Duration::from_secs(2));
    for n in 0..5 {
        let c = Claim::new(Duration::from_secs(1), Duration::ZERO);
        assert_eq!(
            auto.reserve(&format!("b{n}"), c).await,
            Ok(Reservation::Fresh)
        );
    }
    let mut left = i64::MAX;
    for _ in 0..200 {
        left = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {} WHERE key LIKE 'a%'",
            db.dedup
        ))
        .fetch_one(&db.admin)
        .await
        .unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(left, 0, "the background sweep removed the expired rows");
    db.drop_tables().await;
}

/// Keys with NUL (which `text` cannot hold) and backslashes are stored
/// apart.
#[tokio::test]
async fn keys_with_nul_and_backslash_do_not_collide() {
    let db = Db::shared().await;
    let store = db.store(Duration::from_secs(5)).await;
    for key in ["a\0b", "a\\0b", "a\\\\0b"] {
        let c = Claim::new(LEASE, LEASE);
        assert_eq!(
            store.reserve(key, c).await,
            Ok(Reservation::Fresh),
            "{key:?}"
        );
    }
    db.drop_tables().await;
}

#[tokio::test]
async fn connect_errors_name_the_setting_and_hide_the_password() {
    let err = PostgresStore::connect("mysql://u:hunter2@host/db")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("PostgresStore::connect"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let port = free_port();
    let err = PostgresStore::builder()
        .timeout(Duration::from_millis(300))
        .connect(&format!("postgres://u:hunter2@127.0.0.1:{port}/db"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("could not connect to PostgreSQL"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let err = PostgresStore::builder()
        .table("x y")
        .connect("postgres://127.0.0.1/test")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("PostgresStoreBuilder::table"), "{err}");
}

// ---------------------------------------------------------------------------
// 6. The database restarted mid-stream.

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL server of the test's own, on a free port, in a temporary
/// directory; stopped and removed when dropped.
struct PrivateServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// initdb and the server refuse to run as root: as `postgres` then.
    as_user: Option<&'static str>,
}

impl PrivateServer {
    fn bin_dir() -> PathBuf {
        if let Ok(dir) = std::env::var("PG_BIN") {
            return PathBuf::from(dir);
        }
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries under /usr/lib/postgresql (or set PG_BIN)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .collect();
        dirs.sort_by_key(|p| {
            p.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        });
        dirs.pop()
            .expect("initdb under /usr/lib/postgresql/*/bin (or set PG_BIN)")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(mut command: Command, what: &str, log: &Path) {
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{what} failed: {}{} (log: {})",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    fn start_new() -> Self {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let dir = std::env::temp_dir().join(format!(
            "tower-webhook-pg-{}-{:016x}",
            std::process::id(),
            Token::generate().as_u64()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let server = Self {
            bin: Self::bin_dir(),
            port: free_port(),
            as_user: root.then_some("postgres"),
            dir,
        };
        if let Some(user) = server.as_user {
            let ok = Command::new("chown")
                .arg(user)
                .arg(&server.dir)
                .status()
                .unwrap();
            assert!(ok.success(), "chown {user} {}", server.dir.display());
        }
        let mut initdb = server.command("initdb");
        initdb.arg("-D").arg(server.dir.join("data")).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        Self::run(initdb, "initdb", &server.log());
        server.start();
        server
    }

    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn start(&self) {
        let mut c = self.command("pg_ctl");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.log())
            .args(["-w", "-t", "30", "-o"])
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c fsync=off",
                self.port,
                self.dir.display()
            ))
            .arg("start");
        Self::run(c, "pg_ctl start", &self.log());
    }

    /// Stops the server the hard way (as a crash would).
    fn stop(&self) {
        let mut c = self.command("pg_ctl");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        Self::run(c, "pg_ctl stop", &self.log());
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let mut c = self.command("pg_ctl");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = c.output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Deliveries stream to two replicas while the database goes down and comes
/// back: 503 while it is down (the handler is never called then), and after
/// the senders' retries every event's effect is written exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_restarted_mid_stream_nothing_lost_nothing_doubled() {
    const EVENTS: usize = 45;
    let server = PrivateServer::start_new();
    let db = Db::new(server.url()).await;
    let (a, app_a) = replica(&db, "a", Duration::from_millis(500)).await;
    let (b, app_b) = replica(&db, "b", Duration::from_millis(500)).await;
    let routers = [a, b];

    let mut statuses: Vec<Vec<StatusCode>> = Vec::new();
    let mut down_statuses = Vec::new();
    for n in 0..EVENTS {
        let id = format!("evt_{n}");
        if n == EVENTS / 3 {
            server.stop();
        }
        if (EVENTS / 3..2 * EVENTS / 3).contains(&n) {
            // While it is down: refused, never handled.
            let (status, rejection) = post_once(&routers[n % 2], &db.clock, &id).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{rejection:?}");
            assert!(
                matches!(rejection, Some(Rejection::Store(_))),
                "{rejection:?}"
            );
            down_statuses.push(id);
            continue;
        }
        if n == 2 * EVENTS / 3 {
            server.start();
            // The senders retry what was refused.
            for id in &down_statuses {
                statuses.push(deliver(&routers, &db.clock, id, 200).await);
            }
        }
        statuses.push(deliver(&routers, &db.clock, &id, 200).await);
    }
    // Every event once more: a duplicate now.
    for n in 0..EVENTS {
        let (status, rejection) = post_once(&routers[n % 2], &db.clock, &format!("evt_{n}")).await;
        assert_eq!(status, StatusCode::OK, "evt_{n}: {rejection:?}");
    }
    let effects = db.effects().await;
    assert_eq!(effects.len(), EVENTS, "{effects:?}");
    assert!(effects.values().all(|n| *n == 1), "{effects:?}");
    assert_eq!(
        app_a.handled.load(Ordering::SeqCst) + app_b.handled.load(Ordering::SeqCst),
        EVENTS
    );
    let retried = statuses.iter().filter(|s| s.len() > 1).count();
    eprintln!(
        "refused while down: {}; deliveries that needed a retry after the restart: {retried}",
        down_statuses.len()
    );
}
