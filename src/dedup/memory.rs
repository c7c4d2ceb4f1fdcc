//! The embedded dedup store: bounded, expiring by time, in-process.
//!
//! - **Bounded.** At most `capacity` ids are live (default 100 000, about
//!   100 bytes each). Stores of 32 Ki ids or more are split into shards of
//!   equal capacity, about one per 16 Ki ids (up to 256); ids spread evenly
//!   over them, but a shard that fills first refuses its next id a little
//!   before the store as a whole is full. When the store is full it first
//!   drops expired ids, oldest first; if every id is still inside its
//!   retention it refuses the new reservation ([`StoreError::Full`], so the
//!   layer answers 503 and the sender retries later) rather than forget an
//!   id whose replay would still be accepted. Only verified deliveries are
//!   stored, so an attacker cannot fill it; size it for your delivery rate
//!   times the retention.
//! - **Expiring.** Leases and retentions are measured with the store's
//!   [`Clock`]; expired entries are dropped lazily on later operations.
//! - **Non-blocking.** Every operation takes one short, uncontended-in-practice
//!   lock on one of several shards, does O(1) work (amortised), and returns a
//!   ready future. Nothing awaits while holding a lock.
//! - **Private.** Ids are kept as 128-bit keyed hashes (SipHash-1-3 with a
//!   random key per store), not as strings.
//! - **Retention counts from the reservation.** [`commit`](DedupStore::commit)
//!   keeps an id for `retention` from the moment it was reserved (when the
//!   delivery had just verified), which is the moment the layer computes its
//!   retention from; the commit itself reads no clock.
//!
//! It cannot see duplicates that land on another replica; use a shared store
//! (Redis) when running several.
//!
//! ```
//! use tower_webhook::dedup::MemoryStore;
//! use tower_webhook::clock::ManualClock;
//!
//! let store = MemoryStore::builder()
//!     .capacity(1_000_000)
//!     .clock(ManualClock::at_unix(0))
//!     .build();
//! assert_eq!(store.capacity(), 1_000_000);
//! assert_eq!(store.len(), 0);
//! ```

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use siphasher::sip128::SipHasher13;

use super::table::{Probe, Table};
use super::{BoxFuture, DedupStore, Reservation, StoreError, Token};
use crate::clock::{Clock, SystemClock, unix_millis};

/// Default number of live ids.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// How many expired records one operation drops at most, besides its own
/// work, so that a burst of expiries never stalls one request.
const PURGE_BUDGET: usize = 32;

/// A token value that marks a committed id.
const DONE: u64 = 0;

/// A 128-bit keyed hash of an id. The second half never is zero (its top
/// bit is set), which lets the table mark empty slots with a zero.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Key(pub(super) u64, pub(super) u64);

impl Key {
    pub(super) fn new(a: u64, b: u64) -> Self {
        Self(a, b | 1 << 63)
    }
}

#[derive(Clone, Copy)]
pub(super) struct Record {
    /// Unix milliseconds at which the lease or retention ends.
    pub(super) expires_at: i64,
    /// The reservation's token, or [`DONE`].
    pub(super) token: u64,
}

/// A queue record: when to look at `key` again.
///
/// Packed to 20 bytes (from 24): there are two records per live id at worst
/// (lease and retention). The time is in whole seconds, rounded up, so a
/// record is never looked at before its entry expires; the entry itself keeps
/// milliseconds. Measured with `store_bytes` (1 M ids): 120.4 bytes per entry
/// with 24-byte records.
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct Expiry {
    key: Key,
    /// Unix seconds, rounded up and clamped to `u32`.
    at_secs: u32,
}

impl Expiry {
    fn new(key: Key, expires_at_millis: i64) -> Self {
        let secs =
            expires_at_millis.div_euclid(1000) + i64::from(expires_at_millis.rem_euclid(1000) > 0);
        Self {
            key,
            at_secs: u32::try_from(secs.max(0)).unwrap_or(u32::MAX),
        }
    }

    /// Whether the record's time has come at `now` (Unix milliseconds).
    fn due(&self, now: i64) -> bool {
        i64::from(self.at_secs) * 1000 <= now
    }
}

#[derive(Default)]
struct Shard {
    map: Table,
    /// Lease ends, in reservation order.
    leases: VecDeque<Expiry>,
    /// Retention ends, in commit order.
    done: VecDeque<Expiry>,
}

impl Shard {
    /// The slot of `key` while `token` still holds it: reserved by that
    /// token and not committed. Commit and release act only then.
    fn held(&self, key: Key, token: Token) -> Option<usize> {
        match self.map.probe(key) {
            Probe::Found(i)
                if token.as_u64() != DONE && self.map.record(i).token == token.as_u64() =>
            {
                Some(i)
            }
            _ => None,
        }
    }

    /// Drops up to `budget` records whose time has passed from the front of
    /// each queue, removing their entries if those expired too.
    fn purge(&mut self, now: i64, budget: usize) -> usize {
        let mut removed = 0;
        for queue in [&mut self.leases, &mut self.done] {
            for _ in 0..budget {
                match queue.front() {
                    Some(front) if front.due(now) => {
                        let key = front.key;
                        queue.pop_front();
                        if let Probe::Found(i) = self.map.probe(key)
                            && self.map.record(i).expires_at <= now
                        {
                            self.map.remove_at(i);
                            removed += 1;
                        }
                    }
                    _ => break,
                }
            }
        }
        removed
    }
}

struct Inner {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    capacity: usize,
    clock: Arc<dyn Clock>,
    /// One keyed 128-bit SipHash-1-3 pass per operation. Two passes of std's
    /// 64-bit `RandomState` hasher cost about 30 ns more per reserve + commit
    /// pair (`benches/memory_store.rs`, 1 M ids).
    hash: SipHasher13,
    /// Unix milliseconds at construction: tokens carry their reservation's
    /// time relative to it (see [`TimedToken`]).
    epoch: i64,
}

/// The in-process [`DedupStore`]. Clones share the same entries.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

/// Configures a [`MemoryStore`].
///
/// ```
/// let store = tower_webhook::dedup::MemoryStore::builder().capacity(10).build();
/// assert_eq!(store.capacity(), 10);
/// ```
pub struct MemoryStoreBuilder {
    capacity: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for MemoryStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStoreBuilder")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl MemoryStoreBuilder {
    /// The most live ids (at least 1).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The clock leases and retentions are measured with.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Builds the store.
    pub fn build(self) -> MemoryStore {
        let shards = shard_count(self.capacity);
        let per_shard = self.capacity.div_ceil(shards);
        let random = RandomState::new();
        let epoch = unix_millis(self.clock.now());
        MemoryStore {
            inner: Arc::new(Inner {
                shards: (0..shards).map(|_| Mutex::default()).collect(),
                per_shard,
                capacity: self.capacity,
                clock: self.clock,
                hash: SipHasher13::new_with_keys(random.hash_one(0u8), random.hash_one(1u8)),
                epoch,
            }),
        }
    }
}

/// Ids per shard the shard count aims at.
const SHARD_IDS: usize = 16 * 1024;

/// The most shards a store has.
const MAX_SHARDS: usize = 256;

/// How many shards a store of `capacity` ids has: a power of two, about one
/// per [`SHARD_IDS`] ids (at most [`MAX_SHARDS`]).
///
/// Small stores use one shard, so that their capacity is exact. Large ones
/// spread over many, for two reasons: threads rarely wait on the same lock,
/// and a shard's table and queues stay small. Each grows by doubling under
/// its lock, and fresh memory costs about 0.4 ms a MiB here (page faults
/// and zeroing; a KVM guest): with 16 shards at 1 M live ids one doubling
/// held a lock for 2.3–2.9 ms (`reserve` + `commit`, timed one by one), and
/// the loopback load test's p99 went from 0.9–1.3 ms (the layer without a
/// store) to 5–6.5 ms. With about one shard per 16 Ki ids a shard's table stays
/// within 1 MiB (32 Ki slots of 32 bytes) for capacities up to 4 Mi ids;
/// beyond, shards hold more.
fn shard_count(capacity: usize) -> usize {
    (capacity / SHARD_IDS)
        .clamp(1, MAX_SHARDS)
        .next_power_of_two()
        .min(MAX_SHARDS)
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity", &self.inner.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl MemoryStore {
    /// A store of [`DEFAULT_CAPACITY`] ids on the system clock.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Starts configuring a store.
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder {
            capacity: DEFAULT_CAPACITY,
            clock: Arc::new(SystemClock),
        }
    }

    /// The configured capacity.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// Entries currently held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).map.len()).sum()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn key(&self, id: &str) -> Key {
        let (a, b) = self.inner.hash.hash(id.as_bytes()).as_u64();
        Key::new(a, b)
    }

    fn shard(&self, key: Key) -> MutexGuard<'_, Shard> {
        // The second half of the hash picks the shard; the first indexes the
        // map. The shard count is a power of two (1 or 16): a mask, not a
        // 64-bit division.
        let i = key.1 as usize & (self.inner.shards.len() - 1);
        lock(&self.inner.shards[i])
    }

    fn now(&self) -> i64 {
        unix_millis(self.inner.clock.now())
    }

    /// Synchronous [`DedupStore::reserve`].
    pub fn reserve_now(&self, id: &str, lease: Duration) -> Result<Reservation, StoreError> {
        let now = self.now();
        let key = self.key(id);
        let mut shard = self.shard(key);
        shard.purge(now, PURGE_BUDGET);
        let len = shard.map.len();
        let full = len >= self.inner.per_shard;
        let expires_at = now.saturating_add(millis(lease));
        // One probe for the look-up and the insertion.
        let token = match shard.map.probe(key) {
            Probe::Found(i) => {
                let e = shard.map.record(i);
                if e.expires_at > now {
                    return Ok(if e.token == DONE {
                        Reservation::Done
                    } else {
                        Reservation::InFlight {
                            retry_after: Duration::from_millis((e.expires_at - now).unsigned_abs()),
                        }
                    });
                }
                let token = self.token(now);
                shard.map.set(
                    i,
                    Record {
                        expires_at,
                        token: token.as_u64(),
                    },
                );
                token
            }
            Probe::Vacant(i) if !full => {
                let token = self.token(now);
                shard.map.insert(
                    i,
                    key,
                    Record {
                        expires_at,
                        token: token.as_u64(),
                    },
                );
                token
            }
            Probe::Vacant(_) => {
                shard.purge(now, usize::MAX);
                if shard.map.len() >= self.inner.per_shard {
                    return Err(StoreError::Full {
                        capacity: self.inner.capacity,
                    });
                }
                let token = self.token(now);
                let record = Record {
                    expires_at,
                    token: token.as_u64(),
                };
                // The purge moved entries: probe again.
                match shard.map.probe(key) {
                    Probe::Vacant(i) => shard.map.insert(i, key, record),
                    Probe::Found(i) => shard.map.set(i, record),
                }
                token
            }
        };
        shard.leases.push_back(Expiry::new(key, expires_at));
        Ok(Reservation::Fresh(token))
    }

    /// A fresh token carrying the reservation's time.
    fn token(&self, now: i64) -> Token {
        TimedToken::encode(now.wrapping_sub(self.inner.epoch)).unwrap_or_else(|| {
            Token::from_u64((Token::generate().as_u64() & !TimedToken::FLAG).max(1))
        })
    }

    /// Synchronous [`DedupStore::commit`]: keeps the id for `retention` from
    /// the time it was reserved.
    pub fn commit_now(&self, id: &str, token: Token, retention: Duration) -> bool {
        let reserved_at = match TimedToken::decode(token) {
            Some(delta) => self.inner.epoch.saturating_add(delta),
            // Reserved with the clock far outside the token's range (a manual
            // clock set before the store's creation): read the clock.
            None => self.now(),
        };
        let key = self.key(id);
        let mut shard = self.shard(key);
        let expires_at = reserved_at.saturating_add(millis(retention));
        let Some(i) = shard.held(key, token) else {
            return false;
        };
        shard.map.set(
            i,
            Record {
                expires_at,
                token: DONE,
            },
        );
        shard.done.push_back(Expiry::new(key, expires_at));
        true
    }

    /// Synchronous [`DedupStore::release`].
    pub fn release_now(&self, id: &str, token: Token) -> bool {
        let key = self.key(id);
        let mut shard = self.shard(key);
        let Some(i) = shard.held(key, token) else {
            return false;
        };
        shard.map.remove_at(i);
        true
    }
}

/// The memory store's tokens: the top bit set, then the reservation's time
/// in milliseconds since the store's creation (41 bits, 69 years), then 22
/// random bits. A commit reads the reservation time from its token instead of
/// the clock, which costs 35–100 ns here (one `clock_gettime`, slower when
/// the store's table has pushed the clock's data out of the cache: 18 % of
/// the samples of `benches/memory_store.rs` at 1 M ids before this change).
/// Tokens are compared whole, so the time cannot be forged: a token that does
/// not match the entry's does nothing.
struct TimedToken;

impl TimedToken {
    const FLAG: u64 = 1 << 63;
    const RANDOM_BITS: u32 = 22;
    const TIME_BITS: u32 = 41;

    /// A token for a reservation `delta` ms after the store's creation, when
    /// it fits.
    fn encode(delta: i64) -> Option<Token> {
        let delta = u64::try_from(delta)
            .ok()
            .filter(|d| d >> Self::TIME_BITS == 0)?;
        let random = Token::generate().as_u64() & ((1 << Self::RANDOM_BITS) - 1);
        Some(Token::from_u64(
            Self::FLAG | delta << Self::RANDOM_BITS | random,
        ))
    }

    /// The reservation time a token carries, if it is one of these.
    fn decode(token: Token) -> Option<i64> {
        let t = token.as_u64();
        if t & Self::FLAG == 0 {
            return None;
        }
        i64::try_from((t & !Self::FLAG) >> Self::RANDOM_BITS).ok()
    }
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic while holding the lock cannot leave a shard half-updated in a
    // way that matters (each operation is one map write), so keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl DedupStore for MemoryStore {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        Box::pin(std::future::ready(self.reserve_now(key, lease)))
    }

    fn commit<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Ok(
            self.commit_now(key, token, retention)
        )))
    }

    fn release<'a>(
        &'a self,
        key: &'a str,
        token: Token,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Ok(self.release_now(key, token))))
    }

    fn reserve_ready(&self, key: &str, lease: Duration) -> Option<Result<Reservation, StoreError>> {
        Some(self.reserve_now(key, lease))
    }

    fn commit_ready(
        &self,
        key: &str,
        token: Token,
        retention: Duration,
    ) -> Option<Result<bool, StoreError>> {
        Some(Ok(self.commit_now(key, token, retention)))
    }

    fn release_ready(&self, key: &str, token: Token) -> Option<Result<bool, StoreError>> {
        Some(Ok(self.release_now(key, token)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const LEASE: Duration = Duration::from_secs(30);
    const KEEP: Duration = Duration::from_secs(600);

    fn store(capacity: usize) -> (MemoryStore, ManualClock) {
        let clock = ManualClock::at_unix(1_000_000);
        (
            MemoryStore::builder()
                .capacity(capacity)
                .clock(clock.clone())
                .build(),
            clock,
        )
    }

    #[test]
    fn one_shard_per_16_ki_ids_up_to_256() {
        for (capacity, shards) in [
            (1, 1),
            (4096, 1),
            (16 * 1024 - 1, 1),
            (16 * 1024, 1),
            (DEFAULT_CAPACITY, 8),
            (1_000_000, 64),
            (4_000_000, 256),
            (usize::MAX, 256),
        ] {
            assert_eq!(shard_count(capacity), shards, "capacity {capacity}");
            let store = MemoryStore::builder()
                .capacity(capacity.min(1 << 20))
                .build();
            assert!(store.inner.shards.len().is_power_of_two());
        }
    }

    #[test]
    fn a_sharded_store_holds_nearly_its_capacity() {
        // 4 shards of 16 Ki ids: the first refusal comes only when one
        // shard is full, after most of the store has filled.
        let (s, _) = store(64 * 1024);
        assert_eq!(s.inner.shards.len(), 4);
        let mut held = 0;
        while s.reserve_now(&format!("evt_{held}"), LEASE).is_ok() {
            held += 1;
        }
        assert!(held > 64 * 1024 * 95 / 100, "held {held}");
        assert!(held <= 64 * 1024);
    }

    fn fresh(r: Result<Reservation, StoreError>) -> Token {
        match r {
            Ok(Reservation::Fresh(t)) => t,
            other => panic!("expected Fresh, got {other:?}"),
        }
    }

    #[test]
    fn reserve_commit_done_then_expires() {
        let (s, clock) = store(10);
        let t = fresh(s.reserve_now("a", LEASE));
        assert_eq!(
            s.reserve_now("a", LEASE),
            Ok(Reservation::InFlight { retry_after: LEASE })
        );
        assert!(s.commit_now("a", t, KEEP));
        assert_eq!(s.reserve_now("a", LEASE), Ok(Reservation::Done));
        clock.advance(KEEP - Duration::from_millis(1));
        assert_eq!(s.reserve_now("a", LEASE), Ok(Reservation::Done));
        clock.advance(Duration::from_millis(1));
        fresh(s.reserve_now("a", LEASE));
    }

    #[test]
    fn retention_counts_from_the_reservation() {
        let (s, clock) = store(10);
        let t = fresh(s.reserve_now("a", LEASE));
        // The handler takes 20 s; the id is kept 600 s from the reservation.
        clock.advance(Duration::from_secs(20));
        assert!(s.commit_now("a", t, KEEP));
        clock.advance(KEEP - Duration::from_secs(20) - Duration::from_millis(1));
        assert_eq!(s.reserve_now("a", LEASE), Ok(Reservation::Done));
        clock.advance(Duration::from_millis(1));
        fresh(s.reserve_now("a", LEASE));
    }

    #[test]
    fn a_clock_before_the_store_falls_back_to_reading_it_at_commit() {
        let (s, clock) = store(10);
        clock.rewind(Duration::from_secs(3600));
        let t = fresh(s.reserve_now("a", LEASE));
        assert_eq!(TimedToken::decode(t), None, "no time fits the token");
        clock.advance(Duration::from_secs(20));
        assert!(s.commit_now("a", t, KEEP));
        // Kept from the commit, the only time known.
        clock.advance(KEEP - Duration::from_millis(1));
        assert_eq!(s.reserve_now("a", LEASE), Ok(Reservation::Done));
        clock.advance(Duration::from_millis(1));
        fresh(s.reserve_now("a", LEASE));
    }

    #[test]
    fn timed_tokens_round_trip_and_are_never_done() {
        for delta in [0i64, 1, 999, 86_400_000, (1 << 41) - 1] {
            let t = TimedToken::encode(delta).unwrap();
            assert_ne!(t.as_u64(), DONE);
            assert_eq!(TimedToken::decode(t), Some(delta));
        }
        for delta in [-1i64, 1 << 41, i64::MAX, i64::MIN] {
            assert!(TimedToken::encode(delta).is_none(), "{delta}");
        }
        assert_eq!(TimedToken::decode(Token::from_u64(12345)), None);
        // Two reservations in the same millisecond get different tokens
        // (almost surely: 22 random bits).
        let a = TimedToken::encode(5).unwrap();
        let b = TimedToken::encode(5).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn release_lets_the_retry_through() {
        let (s, _) = store(10);
        let t = fresh(s.reserve_now("a", LEASE));
        assert!(s.release_now("a", t));
        assert!(!s.release_now("a", t), "second release is a no-op");
        fresh(s.reserve_now("a", LEASE));
    }

    #[test]
    fn lease_expiry_unblocks_and_stale_token_cannot_touch_new_owner() {
        let (s, clock) = store(10);
        let stale = fresh(s.reserve_now("a", LEASE));
        clock.advance(LEASE);
        let owner = fresh(s.reserve_now("a", LEASE));
        assert!(!s.release_now("a", stale));
        assert!(!s.commit_now("a", stale, KEEP));
        assert!(matches!(
            s.reserve_now("a", LEASE),
            Ok(Reservation::InFlight { .. })
        ));
        assert!(s.commit_now("a", owner, KEEP));
        assert!(
            !s.release_now("a", owner),
            "a committed id cannot be released"
        );
        assert_eq!(s.reserve_now("a", LEASE), Ok(Reservation::Done));
    }

    #[test]
    fn full_store_drops_expired_first_and_refuses_rather_than_forget() {
        let (s, clock) = store(2);
        let a = fresh(s.reserve_now("a", LEASE));
        assert!(s.commit_now("a", a, KEEP));
        clock.advance(Duration::from_secs(1));
        let b = fresh(s.reserve_now("b", LEASE));
        assert!(s.commit_now("b", b, KEEP));
        assert_eq!(
            s.reserve_now("c", LEASE),
            Err(StoreError::Full { capacity: 2 })
        );
        // Both ids are still remembered.
        assert_eq!(s.reserve_now("a", LEASE), Ok(Reservation::Done));
        assert_eq!(s.reserve_now("b", LEASE), Ok(Reservation::Done));
        // Once the oldest expires, it makes room; the younger is kept.
        clock.advance(KEEP - Duration::from_secs(1));
        fresh(s.reserve_now("c", LEASE));
        assert_eq!(s.reserve_now("b", LEASE), Ok(Reservation::Done));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn expired_entries_are_purged_lazily() {
        let (s, clock) = store(100_000);
        for i in 0..20 {
            let t = fresh(s.reserve_now(&format!("id{i}"), LEASE));
            assert!(s.commit_now(&format!("id{i}"), t, KEEP));
        }
        assert_eq!(s.len(), 20);
        clock.advance(KEEP);
        for i in 0..200 {
            let t = fresh(s.reserve_now(&format!("new{i}"), LEASE));
            assert!(s.release_now(&format!("new{i}"), t));
        }
        assert_eq!(s.len(), 0);
    }
}
