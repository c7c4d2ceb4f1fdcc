//! The [`DedupStore`] contract (see the trait's docs), written once and
//! checked on every store of the crate.
//!
//! Each rule is one generic async function in [`contract`], over a
//! [`Subject`]: a store plus the means to let time pass for some of its keys
//! (and to open another handle on the same data, as another replica would).
//! [`store_contract!`] turns every rule into one `#[tokio::test]` per store:
//!
//! - `memory`: [`MemoryStore`] on a [`ManualClock`]; time passes by moving
//!   the clock, never by sleeping.
//! - `redis` (feature `redis`): [`RedisStore`] on the Redis at `REDIS_URL`
//!   (default `redis://127.0.0.1:6379`, as in `tests/redis_store.rs`). Its
//!   expiry is the server's real time, so time "passes" for a key by taking
//!   `by` off its `PTTL` (`PEXPIRE`, or `DEL` when nothing is left: what
//!   expiry does) through a direct connection; nothing sleeps. When no Redis
//!   answers these tests print a note and pass, unless `REDIS_URL` is set
//!   (then it is a failure: the caller asked for that server).
//!
//! - `postgres` (feature `postgres`): [`PostgresStore`] on the PostgreSQL at
//!   `POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`), on a
//!   [`ManualClock`] (`PostgresStoreBuilder::clock`): time passes by moving
//!   the clock.
//! - `postgres_server_clock`: the same on the database server's clock (the
//!   store's default); time "passes" for a key by taking `by` off its
//!   `expires_at` through a direct connection, as for Redis.
//!
//!   Each PostgreSQL rule runs on a table of its own, dropped when the rule
//!   passed. When no PostgreSQL answers these tests print a note and pass,
//!   unless `POSTGRES_URL` is set (then it is a failure).
//!
//! Adding a store is one [`Subject`] implementation and one
//! `store_contract!(name, constructor)` line.
//!
//! Every rule makes its keys unique (a random prefix per call), so the rules
//! can share one backend, run in parallel, and run again on data left by an
//! earlier run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use tower_webhook::clock::ManualClock;
use tower_webhook::dedup::{Claim, DedupStore, MemoryStore, Reservation, Token};

/// A store under test, and how to move its time.
trait Subject: Send + Sync {
    type Store: DedupStore;

    /// The store the rules talk to.
    fn store(&self) -> &Self::Store;

    /// Another handle on the same data, as another replica has (for Redis,
    /// its own connection).
    async fn replica(&self) -> Self::Store;

    /// Lets `by` pass for `keys`: their leases and retentions come `by`
    /// closer to their end (and end when `by` reaches it). A store may move
    /// other keys too (the memory store moves its clock); a rule lists every
    /// key whose time matters to it.
    async fn pass(&self, keys: &[&str], by: Duration);

    /// Removes what the rule left behind (called when it passed).
    async fn cleanup(&self) {}
}

/// The rules, each a function over any [`Subject`].
mod contract {
    use super::*;

    pub const LEASE: Duration = Duration::from_secs(30);
    pub const RETENTION: Duration = Duration::from_secs(100);
    const SECOND: Duration = Duration::from_secs(1);

    /// A key no other rule, run or process uses.
    pub fn key(name: &str) -> String {
        format!("contract:{:016x}:{name}", Token::generate().as_u64())
    }

    pub fn claim() -> Claim {
        Claim::new(LEASE, RETENTION)
    }

    /// A claim that asks no retention: probing a done key with it extends
    /// nothing.
    pub fn probe() -> Claim {
        Claim::new(LEASE, Duration::ZERO)
    }

    /// What a key looks like from outside, observed without changing it: a
    /// probe that finds the key free takes it and gives it back at once.
    #[derive(Debug, PartialEq)]
    pub enum Seen {
        Free,
        InFlight(Duration),
        Done,
    }

    pub async fn seen(store: &impl DedupStore, key: &str) -> Seen {
        let p = probe();
        match store.reserve(key, p).await.unwrap() {
            Reservation::Fresh => {
                assert_eq!(store.release(key, p.token).await, Ok(true));
                Seen::Free
            }
            Reservation::InFlight { retry_after } => Seen::InFlight(retry_after),
            Reservation::Done => Seen::Done,
        }
    }

    pub async fn take(store: &impl DedupStore, key: &str) -> Token {
        let c = claim();
        assert_eq!(store.reserve(key, c).await, Ok(Reservation::Fresh), "{key}");
        c.token
    }

    /// In flight, with the rest of the lease (`left`) as `retry_after`:
    /// exactly for a store on a manual clock, at most `left` and less than a
    /// second short of it for one on real time.
    #[track_caller]
    pub fn assert_in_flight(seen: Seen, left: Duration) {
        match seen {
            Seen::InFlight(retry_after) => assert!(
                retry_after <= left && retry_after + SECOND > left,
                "retry_after {retry_after:?}, expected about {left:?}"
            ),
            other => panic!("expected InFlight about {left:?}, got {other:?}"),
        }
    }

    /// Reserve answers Fresh for a free key, InFlight while it is held, Done
    /// once committed, on every replica; other keys are not affected.
    pub async fn fresh_inflight_done(sub: &impl Subject) {
        let s = sub.store();
        let other = sub.replica().await;
        let (a, b) = (key("a"), key("b"));
        assert_eq!(seen(s, &a).await, Seen::Free);
        let t = take(s, &a).await;
        assert!(matches!(
            other.reserve(&a, claim()).await,
            Ok(Reservation::InFlight { .. })
        ));
        assert!(matches!(seen(s, &a).await, Seen::InFlight(_)));
        assert_eq!(seen(&other, &b).await, Seen::Free, "another key is free");
        assert_eq!(s.commit(&a, t, RETENTION).await, Ok(true));
        assert_eq!(other.reserve(&a, claim()).await, Ok(Reservation::Done));
        assert_eq!(s.reserve(&a, claim()).await, Ok(Reservation::Done));
        assert_eq!(seen(&other, &b).await, Seen::Free, "another key is free");
    }

    /// `reserve` is atomic: of many concurrent reservations of one key, from
    /// several replicas, exactly one is Fresh, and its token holds the key.
    pub async fn atomic_reserve(sub: &impl Subject) {
        const N: usize = 32;
        let k = key("contended");
        let mut replicas = Vec::new();
        for _ in 0..4 {
            replicas.push(Arc::new(sub.replica().await));
        }
        let mut tasks = Vec::new();
        for i in 0..N {
            let store = Arc::clone(&replicas[i % replicas.len()]);
            let k = k.clone();
            let c = claim();
            tasks.push(tokio::spawn(async move {
                (c.token, store.reserve(&k, c).await)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (token, Ok(Reservation::Fresh)) => winners.push(token),
                (_, Ok(Reservation::InFlight { retry_after })) => {
                    assert!(retry_after <= LEASE, "{retry_after:?}");
                }
                (_, other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one Fresh of {N}");
        let s = sub.store();
        assert_eq!(s.commit(&k, Token::generate(), RETENTION).await, Ok(false));
        assert_eq!(s.commit(&k, winners[0], RETENTION).await, Ok(true));
        assert_eq!(seen(s, &k).await, Seen::Done);
    }

    /// InFlight's `retry_after` is the rest of the lease; once the lease
    /// ran out the key is free again.
    pub async fn inflight_retry_after_is_the_rest_of_the_lease(sub: &impl Subject) {
        let s = sub.store();
        let k = key("a");
        take(s, &k).await;
        assert_in_flight(seen(s, &k).await, LEASE);
        sub.pass(&[&k], Duration::from_secs(20)).await;
        assert_in_flight(seen(s, &k).await, Duration::from_secs(10));
        sub.pass(&[&k], Duration::from_secs(9)).await;
        assert_in_flight(seen(s, &k).await, SECOND);
        sub.pass(&[&k], SECOND).await;
        assert_eq!(seen(s, &k).await, Seen::Free, "the lease ran out");
        take(s, &k).await;
    }

    /// A committed key answers Done for its retention, then is forgotten.
    pub async fn done_until_the_retention_ends(sub: &impl Subject) {
        let s = sub.store();
        let k = key("a");
        let t = take(s, &k).await;
        assert_eq!(s.commit(&k, t, RETENTION).await, Ok(true));
        // Longer than the lease: the retention counts, not the lease.
        sub.pass(&[&k], RETENTION - SECOND).await;
        assert_eq!(seen(s, &k).await, Seen::Done);
        sub.pass(&[&k], SECOND).await;
        assert_eq!(seen(s, &k).await, Seen::Free, "the retention ended");
        take(s, &k).await;
    }

    /// Done extends the key's expiry to at least the claim's retention from
    /// now (a later copy is remembered for its own window), and never
    /// shortens it.
    pub async fn done_extends_the_retention(sub: &impl Subject) {
        let s = sub.store();
        let k = key("a");
        let t = take(s, &k).await;
        assert_eq!(s.commit(&k, t, RETENTION).await, Ok(true));
        sub.pass(&[&k], Duration::from_secs(90)).await;
        // A later copy, whose window ends RETENTION from now.
        assert_eq!(s.reserve(&k, claim()).await, Ok(Reservation::Done));
        sub.pass(&[&k], Duration::from_secs(90)).await;
        assert_eq!(
            seen(s, &k).await,
            Seen::Done,
            "kept for the later copy's retention (the first one's ended)"
        );
        // A copy asking less does not shorten it (10 s left).
        assert_eq!(
            s.reserve(&k, Claim::new(LEASE, SECOND)).await,
            Ok(Reservation::Done)
        );
        sub.pass(&[&k], Duration::from_secs(9)).await;
        assert_eq!(seen(s, &k).await, Seen::Done, "not shortened");
        sub.pass(&[&k], SECOND).await;
        assert_eq!(seen(s, &k).await, Seen::Free);
    }

    /// Commit acts only for the token that holds the key: a foreign token's
    /// commit over a live reservation is refused and changes nothing; a
    /// second commit of a done key is refused and does not move its expiry.
    pub async fn commit_only_for_the_holder(sub: &impl Subject) {
        let s = sub.store();
        let k = key("a");
        let owner = take(s, &k).await;
        sub.pass(&[&k], Duration::from_secs(10)).await;
        assert_eq!(
            s.commit(&k, Token::generate(), RETENTION).await,
            Ok(false),
            "a foreign token over a live reservation"
        );
        assert_in_flight(seen(s, &k).await, LEASE - Duration::from_secs(10));
        assert_eq!(s.commit(&k, owner, RETENTION).await, Ok(true));
        assert_eq!(seen(s, &k).await, Seen::Done);
        // Done already: refused, for the owner and anyone else, and the
        // expiry stays RETENTION from the first commit.
        sub.pass(&[&k], Duration::from_secs(50)).await;
        assert_eq!(s.commit(&k, owner, RETENTION * 10).await, Ok(false));
        assert_eq!(
            s.commit(&k, Token::generate(), RETENTION * 10).await,
            Ok(false)
        );
        sub.pass(&[&k], Duration::from_secs(49)).await;
        assert_eq!(seen(s, &k).await, Seen::Done);
        sub.pass(&[&k], SECOND).await;
        assert_eq!(
            seen(s, &k).await,
            Seen::Free,
            "the refused commits moved nothing"
        );
    }

    /// A commit after the lease ran out, nobody having taken over, records
    /// the key as done for its retention (the handler did the work).
    pub async fn commit_after_the_lease_ran_out_records_the_key(sub: &impl Subject) {
        let s = sub.store();
        let k = key("a");
        let t = take(s, &k).await;
        sub.pass(&[&k], LEASE + SECOND).await;
        assert_eq!(s.commit(&k, t, RETENTION).await, Ok(true));
        assert_eq!(seen(s, &k).await, Seen::Done);
        sub.pass(&[&k], RETENTION - SECOND).await;
        assert_eq!(seen(s, &k).await, Seen::Done, "for the whole retention");
        sub.pass(&[&k], SECOND).await;
        assert_eq!(seen(s, &k).await, Seen::Free);
    }

    /// Release acts only for the holder, and lets the key be taken again.
    pub async fn release_only_by_the_holder(sub: &impl Subject) {
        let s = sub.store();
        let k = key("a");
        let owner = take(s, &k).await;
        assert_eq!(s.release(&k, Token::generate()).await, Ok(false));
        assert_in_flight(seen(s, &k).await, LEASE);
        assert_eq!(s.release(&k, owner).await, Ok(true));
        assert_eq!(seen(s, &k).await, Seen::Free);
    }

    /// A done key cannot be released, by anyone.
    pub async fn release_of_a_done_key_is_refused(sub: &impl Subject) {
        let s = sub.store();
        let k = key("a");
        let owner = take(s, &k).await;
        assert_eq!(s.commit(&k, owner, RETENTION).await, Ok(true));
        assert_eq!(s.release(&k, owner).await, Ok(false));
        assert_eq!(s.release(&k, Token::generate()).await, Ok(false));
        assert_eq!(seen(s, &k).await, Seen::Done);
    }

    /// A released key is free: the sender's retry takes it (on any replica)
    /// and its commit counts; releasing twice is a no-op.
    pub async fn release_lets_the_retry_through(sub: &impl Subject) {
        let s = sub.store();
        let other = sub.replica().await;
        let k = key("a");
        let first = take(s, &k).await;
        assert_eq!(s.release(&k, first).await, Ok(true));
        assert_eq!(s.release(&k, first).await, Ok(false), "second release");
        let retry = take(&other, &k).await;
        assert_eq!(
            s.release(&k, first).await,
            Ok(false),
            "the first token cannot release the retry's reservation"
        );
        assert_eq!(other.commit(&k, retry, RETENTION).await, Ok(true));
        assert_eq!(seen(s, &k).await, Seen::Done);
    }

    /// A holder whose lease ran out and whose key was taken by a newer
    /// reservation can neither release nor commit over it.
    pub async fn a_stale_token_cannot_touch_a_newer_owner(sub: &impl Subject) {
        let s = sub.store();
        let k = key("a");
        let stale = take(s, &k).await;
        sub.pass(&[&k], LEASE).await;
        let owner = take(s, &k).await;
        assert_eq!(s.release(&k, stale).await, Ok(false));
        assert_eq!(s.commit(&k, stale, RETENTION).await, Ok(false));
        assert_in_flight(seen(s, &k).await, LEASE);
        assert_eq!(s.commit(&k, owner, RETENTION).await, Ok(true));
        assert_eq!(s.release(&k, owner).await, Ok(false));
        assert_eq!(s.release(&k, stale).await, Ok(false));
        assert_eq!(seen(s, &k).await, Seen::Done);
    }
}

/// One `#[tokio::test]` per rule of [`contract`] for the store that
/// `$subject` (an `async` expression giving `Option<impl Subject>`, `None`
/// to skip) builds.
macro_rules! store_contract {
    ($store:ident, $subject:expr) => {
        mod $store {
            use super::*;
            store_contract!(@rules $subject;
                fresh_inflight_done,
                atomic_reserve,
                inflight_retry_after_is_the_rest_of_the_lease,
                done_until_the_retention_ends,
                done_extends_the_retention,
                commit_only_for_the_holder,
                commit_after_the_lease_ran_out_records_the_key,
                release_only_by_the_holder,
                release_of_a_done_key_is_refused,
                release_lets_the_retry_through,
                a_stale_token_cannot_touch_a_newer_owner,
            );
        }
    };
    (@rules $subject:expr; $($rule:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $rule() {
            let Some(subject) = $subject.await else {
                return;
            };
            contract::$rule(&subject).await;
            subject.cleanup().await;
        }
    )*};
}

// ---------------------------------------------------------------------------
// MemoryStore

struct Memory {
    store: MemoryStore,
    clock: ManualClock,
}

impl Subject for Memory {
    type Store = MemoryStore;

    fn store(&self) -> &MemoryStore {
        &self.store
    }

    async fn replica(&self) -> MemoryStore {
        // Clones share the entries: what another task of the process sees.
        self.store.clone()
    }

    async fn pass(&self, _: &[&str], by: Duration) {
        self.clock.advance(by);
    }
}

async fn memory() -> Option<Memory> {
    let clock = ManualClock::at_unix(1_700_000_000);
    let store = MemoryStore::builder()
        .capacity(1000)
        .clock(clock.clone())
        .build();
    Some(Memory { store, clock })
}

store_contract!(memory, memory());

// ---------------------------------------------------------------------------
// RedisStore

#[cfg(feature = "redis")]
use tower_webhook::dedup::RedisStore;

#[cfg(feature = "redis")]
struct Redis {
    url: String,
    store: RedisStore,
    admin: ::redis::aio::MultiplexedConnection,
}

/// `KEYS[1]` the key, `ARGV[1]` milliseconds: takes them off the key's
/// expiry, deleting the key when nothing is left (as its expiry would).
#[cfg(feature = "redis")]
const PASS: &str = r"
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  return left
end
left = left - tonumber(ARGV[1])
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('PEXPIRE', KEYS[1], left)
return left
";

#[cfg(feature = "redis")]
const REDIS_PREFIX: &str = "tower-webhook-contract:";

#[cfg(feature = "redis")]
async fn redis_store(url: &str) -> Result<RedisStore, String> {
    RedisStore::builder()
        .prefix(REDIS_PREFIX)
        .timeout(Duration::from_secs(2))
        .connect(url)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(feature = "redis")]
impl Subject for Redis {
    type Store = RedisStore;

    fn store(&self) -> &RedisStore {
        &self.store
    }

    async fn replica(&self) -> RedisStore {
        redis_store(&self.url).await.unwrap()
    }

    async fn pass(&self, keys: &[&str], by: Duration) {
        let script = ::redis::Script::new(PASS);
        for key in keys {
            let mut conn = self.admin.clone();
            let _: i64 = script
                .key(format!("{REDIS_PREFIX}{key}"))
                .arg(u64::try_from(by.as_millis()).unwrap())
                .invoke_async(&mut conn)
                .await
                .unwrap();
        }
    }
}

/// The store on the Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`),
/// or `None` (with a note) when none answers and `REDIS_URL` is unset.
#[cfg(feature = "redis")]
async fn redis() -> Option<Redis> {
    let url = common::redis_url_or_skip("the RedisStore contract").await?;
    let store = redis_store(&url).await.unwrap();
    let admin = ::redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    Some(Redis { url, store, admin })
}

#[cfg(feature = "redis")]
store_contract!(redis, redis());

// ---------------------------------------------------------------------------
// PostgresStore

#[cfg(feature = "postgres")]
use tower_webhook::dedup::PostgresStore;

#[cfg(feature = "postgres")]
struct Postgres {
    url: String,
    table: String,
    /// `None`: the store measures time by the server's clock.
    clock: Option<ManualClock>,
    store: PostgresStore,
    admin: sqlx::PgPool,
}

#[cfg(feature = "postgres")]
async fn postgres_store(url: &str, table: &str, clock: Option<&ManualClock>) -> PostgresStore {
    let builder = PostgresStore::builder()
        .table(table)
        .timeout(Duration::from_secs(5))
        .max_connections(4);
    let builder = match clock {
        Some(c) => builder.clock(c.clone()),
        None => builder,
    };
    builder.connect(url).await.unwrap()
}

#[cfg(feature = "postgres")]
impl Subject for Postgres {
    type Store = PostgresStore;

    fn store(&self) -> &PostgresStore {
        &self.store
    }

    async fn replica(&self) -> PostgresStore {
        postgres_store(&self.url, &self.table, self.clock.as_ref()).await
    }

    async fn pass(&self, keys: &[&str], by: Duration) {
        match &self.clock {
            Some(clock) => clock.advance(by),
            None => {
                let sql = format!(
                    "UPDATE {} SET expires_at = expires_at - $2::bigint * interval '1 millisecond' WHERE key = ANY($1)",
                    self.table
                );
                let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
                sqlx::query(&sql)
                    .bind(keys)
                    .bind(i64::try_from(by.as_millis()).unwrap())
                    .execute(&self.admin)
                    .await
                    .unwrap();
            }
        }
    }

    async fn cleanup(&self) {
        common::drop_table(&self.admin, &self.table).await;
    }
}

/// The store on a fresh table of the PostgreSQL at `POSTGRES_URL`, or `None`
/// (with a note) when none answers and `POSTGRES_URL` is unset.
#[cfg(feature = "postgres")]
async fn postgres(manual_clock: bool) -> Option<Postgres> {
    let (url, admin) = common::postgres_or_skip("the PostgresStore contract").await?;
    let table = common::unique_table("contract");
    let clock = manual_clock.then(|| ManualClock::at_unix(1_700_000_000));
    let store = postgres_store(&url, &table, clock.as_ref()).await;
    store.migrate().await.unwrap();
    Some(Postgres {
        url,
        table,
        clock,
        store,
        admin,
    })
}

#[cfg(feature = "postgres")]
store_contract!(postgres, postgres(true));

#[cfg(feature = "postgres")]
store_contract!(postgres_server_clock, postgres(false));
