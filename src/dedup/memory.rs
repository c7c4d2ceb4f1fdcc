//! The embedded dedup store: bounded, expiring by time, in-process.

use std::cmp::Reverse;
use std::collections::hash_map::{Entry as MapEntry, RandomState};
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use siphasher::sip128::SipHasher13;

use super::{BoxFuture, Claim, DedupStore, Reservation, StoreError, Token};
use crate::clock::{Clock, SystemClock, unix_millis};

/// How many expired keys one operation drops at most besides its own work,
/// so that a burst of expiries never stalls one request.
const PURGE_BUDGET: usize = 32;

/// Keys per shard the shard count aims at.
const SHARD_KEYS: usize = 16 * 1024;

/// The most shards a store has.
const MAX_SHARDS: usize = 64;

/// A held or committed key.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Unix milliseconds at which the lease or retention ends.
    expires_at: i64,
    /// The holder's token; `None` once committed.
    holder: Option<Token>,
}

#[derive(Default)]
struct Shard {
    map: HashMap<u128, Entry>,
    /// Expiry times, soonest first. A key whose expiry moved has stale
    /// records here; they are skipped when they come up.
    expiries: BinaryHeap<Reverse<(i64, u128)>>,
}

impl Shard {
    fn set(&mut self, key: u128, entry: Entry) {
        self.map.insert(key, entry);
        self.expiries.push(Reverse((entry.expires_at, key)));
        // Extensions leave stale records behind: rebuild when they
        // outnumber the live keys.
        if self.expiries.len() > 2 * self.map.len() + 64 {
            self.expiries = self
                .map
                .iter()
                .map(|(k, e)| Reverse((e.expires_at, *k)))
                .collect();
        }
    }

    /// The live entry of `key` at `now`.
    fn live(&self, key: u128, now: i64) -> Option<Entry> {
        self.map.get(&key).copied().filter(|e| e.expires_at > now)
    }

    /// Drops up to `budget` keys whose time has come.
    fn purge(&mut self, now: i64, budget: usize) {
        for _ in 0..budget {
            match self.expiries.peek() {
                Some(Reverse((at, key))) if *at <= now => {
                    let key = *key;
                    self.expiries.pop();
                    if let MapEntry::Occupied(e) = self.map.entry(key)
                        && e.get().expires_at <= now
                    {
                        e.remove();
                    }
                }
                _ => break,
            }
        }
    }
}

struct Inner {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    capacity: usize,
    clock: Arc<dyn Clock>,
    hash: SipHasher13,
}

/// The embedded dedup store: bounded, expiring by time, in-process.
///
/// - **Bounded.** At most `capacity` keys are live (default 100 000, about
///   100 bytes each). Large stores are split into shards of equal capacity
///   (one per 16 Ki keys, up to 64); keys spread evenly over them, but a
///   shard that fills first refuses its next key a little before the store
///   as a whole is full. A full shard first drops every expired key; if all
///   are still inside their lease or retention it refuses the reservation
///   ([`StoreError::Full`], so the layer answers 503 and the sender retries
///   later) rather than forget a key whose replay would still be accepted.
///   Only verified deliveries are stored, under keys built from signed data,
///   so an attacker cannot fill it; size it for your delivery rate times the
///   retention.
/// - **Expiring by time.** Each shard keeps its keys' expiry times in a
///   min-heap, so expired keys leave in the order their time comes, whatever
///   the order they were reserved, committed or extended in. Expired keys are
///   dropped a few at a time by later operations, and all at once when a
///   shard is full. Times come from the store's [`Clock`].
/// - **Non-blocking.** Every operation takes one short lock on one shard,
///   does O(log n) work (amortised), and returns a ready future.
/// - **Private.** Keys are kept as 128-bit keyed hashes (SipHash-1-3 with a
///   random key per store), not as strings.
///
/// It cannot see duplicates that land on another replica, and forgets
/// everything when the process restarts; use a shared store (Redis) when
/// running several replicas, or for senders without a signed timestamp.
///
/// ```
/// use tower_webhook::dedup::MemoryStore;
/// use tower_webhook::clock::ManualClock;
///
/// let store = MemoryStore::builder()
///     .capacity(1_000_000)
///     .clock(ManualClock::at_unix(0))
///     .build();
/// assert_eq!(store.capacity(), 1_000_000);
/// assert_eq!(store.len(), 0);
/// ```
///
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
    /// The most live keys (at least 1).
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
        MemoryStore {
            inner: Arc::new(Inner {
                // Sized up front: a map that doubles holds its lock while it
                // rehashes (milliseconds at a million keys).
                shards: (0..shards)
                    .map(|_| {
                        Mutex::new(Shard {
                            map: HashMap::with_capacity(per_shard),
                            expiries: BinaryHeap::with_capacity(per_shard),
                        })
                    })
                    .collect(),
                per_shard,
                capacity: self.capacity,
                clock: self.clock,
                hash: SipHasher13::new_with_keys(random.hash_one(0u8), random.hash_one(1u8)),
            }),
        }
    }
}

/// How many shards a store of `capacity` keys has: a power of two, about
/// one per [`SHARD_KEYS`] keys, at most [`MAX_SHARDS`]. Small stores have one,
/// so that their capacity is exact; large ones spread their locks and keep
/// each map's growth (a rehash under the lock) small.
fn shard_count(capacity: usize) -> usize {
    (capacity / SHARD_KEYS)
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
    /// Default number of live keys: 100 000.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store of [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) keys on the
    /// system clock.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Starts configuring a store.
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder {
            capacity: Self::DEFAULT_CAPACITY,
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

    /// The key's hash and its shard, locked, with expired keys purged.
    fn shard(&self, key: &str, now: i64) -> (u128, MutexGuard<'_, Shard>) {
        let hash = self.inner.hash.hash(key.as_bytes()).as_u128();
        let i = (hash >> 64) as usize & (self.inner.shards.len() - 1);
        let mut shard = lock(&self.inner.shards[i]);
        shard.purge(now, PURGE_BUDGET);
        (hash, shard)
    }

    fn now(&self) -> i64 {
        unix_millis(self.inner.clock.now())
    }

    /// Synchronous [`DedupStore::reserve`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::dedup::{Claim, MemoryStore, Reservation};
    /// let store = MemoryStore::new();
    /// let claim = Claim::new(Duration::from_secs(30), Duration::from_secs(600));
    /// assert_eq!(store.reserve_now("evt_1", claim), Ok(Reservation::Fresh));
    /// ```
    pub fn reserve_now(&self, key: &str, claim: Claim) -> Result<Reservation, StoreError> {
        let now = self.now();
        let (hash, mut shard) = self.shard(key, now);
        match shard.live(hash, now) {
            Some(Entry {
                holder: None,
                expires_at,
            }) => {
                let until = now.saturating_add(millis(claim.retention));
                if until > expires_at {
                    shard.set(
                        hash,
                        Entry {
                            expires_at: until,
                            holder: None,
                        },
                    );
                }
                return Ok(Reservation::Done);
            }
            Some(Entry {
                holder: Some(holder),
                expires_at,
            }) if holder != claim.token => {
                return Ok(Reservation::InFlight {
                    retry_after: Duration::from_millis((expires_at - now).unsigned_abs()),
                });
            }
            _ => {}
        }
        if !shard.map.contains_key(&hash) && shard.map.len() >= self.inner.per_shard {
            shard.purge(now, usize::MAX);
            if shard.map.len() >= self.inner.per_shard {
                return Err(StoreError::Full {
                    capacity: self.inner.capacity,
                });
            }
        }
        shard.set(
            hash,
            Entry {
                expires_at: now.saturating_add(millis(claim.lease)),
                holder: Some(claim.token),
            },
        );
        Ok(Reservation::Fresh)
    }

    /// Synchronous [`DedupStore::commit`]: keeps the key for `retention`
    /// from now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::dedup::{Claim, MemoryStore, Reservation};
    /// let store = MemoryStore::new();
    /// let claim = Claim::new(Duration::from_secs(30), Duration::from_secs(600));
    /// store.reserve_now("evt_1", claim)?;
    /// assert!(store.commit_now("evt_1", claim.token, claim.retention));
    /// assert_eq!(store.reserve_now("evt_1", claim), Ok(Reservation::Done));
    /// # Ok::<(), tower_webhook::dedup::StoreError>(())
    /// ```
    pub fn commit_now(&self, key: &str, token: Token, retention: Duration) -> bool {
        let now = self.now();
        let (hash, mut shard) = self.shard(key, now);
        match shard.live(hash, now) {
            Some(e) if e.holder != Some(token) => false,
            // Held by `token`, or by nobody any more.
            _ => {
                shard.set(
                    hash,
                    Entry {
                        expires_at: now.saturating_add(millis(retention)),
                        holder: None,
                    },
                );
                true
            }
        }
    }

    /// Synchronous [`DedupStore::release`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::dedup::{Claim, MemoryStore, Reservation};
    /// let store = MemoryStore::new();
    /// let claim = Claim::new(Duration::from_secs(30), Duration::from_secs(600));
    /// store.reserve_now("evt_1", claim)?;
    /// assert!(store.release_now("evt_1", claim.token));
    /// assert_eq!(store.reserve_now("evt_1", claim), Ok(Reservation::Fresh));
    /// # Ok::<(), tower_webhook::dedup::StoreError>(())
    /// ```
    pub fn release_now(&self, key: &str, token: Token) -> bool {
        let now = self.now();
        let (hash, mut shard) = self.shard(key, now);
        match shard.map.get(&hash) {
            Some(e) if e.holder == Some(token) => {
                shard.map.remove(&hash);
                true
            }
            _ => false,
        }
    }
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl DedupStore for MemoryStore {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        claim: Claim,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        let r = self.reserve_now(key, claim);
        Box::pin(std::future::ready(r))
    }

    fn commit<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let r = self.commit_now(key, token, retention);
        Box::pin(std::future::ready(Ok(r)))
    }

    fn release<'a>(
        &'a self,
        key: &'a str,
        token: Token,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let r = self.release_now(key, token);
        Box::pin(std::future::ready(Ok(r)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::clock::ManualClock;

    const LEASE: Duration = Duration::from_secs(60);

    fn store(capacity: usize) -> (MemoryStore, ManualClock) {
        let clock = ManualClock::at_unix(1_000_000);
        let store = MemoryStore::builder()
            .capacity(capacity)
            .clock(clock.clone())
            .build();
        (store, clock)
    }

    fn claim(retention_secs: u64) -> Claim {
        Claim::new(LEASE, Duration::from_secs(retention_secs))
    }

    #[test]
    fn one_shard_per_16_ki_keys_up_to_64() {
        assert_eq!(shard_count(1), 1);
        assert_eq!(shard_count(SHARD_KEYS * 2 - 1), 1);
        assert_eq!(shard_count(SHARD_KEYS * 2), 2);
        assert_eq!(shard_count(100_000), 8);
        assert_eq!(shard_count(1_000_000), 64);
        assert_eq!(shard_count(usize::MAX), 64);
    }

    #[test]
    fn a_sharded_store_holds_nearly_its_capacity() {
        let (s, _) = store(4 * SHARD_KEYS);
        let mut stored = 0;
        while s.reserve_now(&format!("k{stored}"), claim(600)).is_ok() {
            stored += 1;
        }
        assert!(stored > 4 * SHARD_KEYS * 9 / 10, "{stored}");
        assert!(stored <= 4 * SHARD_KEYS);
    }

    #[test]
    fn reserve_commit_done_then_expires() {
        let (s, clock) = store(10);
        let c = claim(100);
        assert_eq!(s.reserve_now("a", c), Ok(Reservation::Fresh));
        assert!(matches!(
            s.reserve_now("a", claim(100)),
            Ok(Reservation::InFlight { retry_after }) if retry_after == LEASE
        ));
        assert!(s.commit_now("a", c.token, Duration::from_secs(100)));
        assert_eq!(s.reserve_now("a", claim(0)), Ok(Reservation::Done));
        clock.advance(Duration::from_secs(100));
        assert_eq!(s.reserve_now("a", claim(0)), Ok(Reservation::Fresh));
    }

    #[test]
    fn a_done_key_is_extended_by_a_later_copys_retention() {
        let (s, clock) = store(10);
        let c = claim(100);
        s.reserve_now("a", c).unwrap();
        assert!(s.commit_now("a", c.token, Duration::from_secs(100)));
        clock.advance(Duration::from_secs(90));
        // A retry with a fresher timestamp needs 100 s from now.
        assert_eq!(s.reserve_now("a", claim(100)), Ok(Reservation::Done));
        clock.advance(Duration::from_secs(90));
        assert_eq!(
            s.reserve_now("a", claim(0)),
            Ok(Reservation::Done),
            "kept for the later copy's window"
        );
        // A shorter claim never shortens it.
        clock.advance(Duration::from_secs(9));
        assert_eq!(s.reserve_now("a", claim(0)), Ok(Reservation::Done));
        clock.advance(Duration::from_secs(1));
        assert_eq!(s.reserve_now("a", claim(0)), Ok(Reservation::Fresh));
    }

    #[test]
    fn release_lets_the_retry_through_and_only_for_its_token() {
        let (s, _) = store(10);
        let c = claim(100);
        s.reserve_now("a", c).unwrap();
        assert!(!s.release_now("a", Token::generate()), "another token");
        assert!(s.release_now("a", c.token));
        assert!(!s.release_now("a", c.token), "second release is a no-op");
        let d = claim(100);
        assert_eq!(s.reserve_now("a", d), Ok(Reservation::Fresh));
        assert!(s.commit_now("a", d.token, Duration::from_secs(100)));
        assert!(
            !s.release_now("a", d.token),
            "a done key cannot be released"
        );
    }

    #[test]
    fn lease_expiry_unblocks_and_stale_token_cannot_touch_new_owner() {
        let (s, clock) = store(10);
        let stale = claim(100);
        s.reserve_now("a", stale).unwrap();
        clock.advance(LEASE);
        let owner = claim(100);
        assert_eq!(s.reserve_now("a", owner), Ok(Reservation::Fresh));
        assert!(!s.release_now("a", stale.token));
        assert!(!s.commit_now("a", stale.token, Duration::from_secs(100)));
        assert!(matches!(
            s.reserve_now("a", claim(0)),
            Ok(Reservation::InFlight { .. })
        ));
        assert!(s.commit_now("a", owner.token, Duration::from_secs(100)));
    }

    #[test]
    fn a_commit_after_the_lease_ran_out_still_records_the_key() {
        let (s, clock) = store(10);
        let c = claim(100);
        s.reserve_now("a", c).unwrap();
        clock.advance(LEASE + Duration::from_secs(1));
        // Nobody took over: the handler's work counts.
        assert!(s.commit_now("a", c.token, Duration::from_secs(100)));
        assert_eq!(s.reserve_now("a", claim(0)), Ok(Reservation::Done));
        // Also once the expired entry was purged (a full store drops it).
        let d = claim(100);
        s.reserve_now("b", d).unwrap();
        clock.advance(LEASE + Duration::from_secs(1));
        s.inner.shards.iter().for_each(|sh| {
            lock(sh).purge(unix_millis(clock.now()), usize::MAX);
        });
        assert!(s.commit_now("b", d.token, Duration::from_secs(100)));
        assert_eq!(s.reserve_now("b", claim(0)), Ok(Reservation::Done));
    }

    #[test]
    fn full_store_drops_expired_first_and_refuses_rather_than_forget() {
        let (s, clock) = store(3);
        for k in ["a", "b", "c"] {
            let c = claim(10);
            s.reserve_now(k, c).unwrap();
            assert!(s.commit_now(k, c.token, Duration::from_secs(10)));
        }
        assert_eq!(
            s.reserve_now("d", claim(10)),
            Err(StoreError::Full { capacity: 3 })
        );
        clock.advance(Duration::from_secs(10));
        assert_eq!(s.reserve_now("d", claim(10)), Ok(Reservation::Fresh));
    }

    /// A long retention committed first must not hide the expired keys
    /// committed after it (expiry by time, not by commit order).
    #[test]
    fn expiry_follows_time_not_commit_order() {
        let (s, clock) = store(3);
        let long = claim(3600);
        s.reserve_now("long", long).unwrap();
        assert!(s.commit_now("long", long.token, Duration::from_secs(3600)));
        for k in ["x", "y"] {
            let c = claim(10);
            s.reserve_now(k, c).unwrap();
            assert!(s.commit_now(k, c.token, Duration::from_secs(10)));
        }
        clock.advance(Duration::from_secs(11));
        assert_eq!(s.reserve_now("z", claim(10)), Ok(Reservation::Fresh));
        assert_eq!(s.reserve_now("w", claim(10)), Ok(Reservation::Fresh));
        assert_eq!(s.reserve_now("long", claim(0)), Ok(Reservation::Done));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn expired_entries_are_purged_lazily_and_extensions_stay_bounded() {
        let (s, clock) = store(1000);
        for i in 0..100 {
            let c = claim(5);
            s.reserve_now(&format!("k{i}"), c).unwrap();
            s.commit_now(&format!("k{i}"), c.token, Duration::from_secs(5));
        }
        assert_eq!(s.len(), 100);
        clock.advance(Duration::from_secs(6));
        for _ in 0..4 {
            s.reserve_now("other", claim(1)).ok();
        }
        assert!(s.len() < 100, "purged while serving other keys");
        // A key extended many times leaves no unbounded trail of records.
        let c = claim(10_000);
        s.reserve_now("hot", c).unwrap();
        s.commit_now("hot", c.token, Duration::from_secs(10));
        for i in 0..10_000u64 {
            s.reserve_now("hot", claim(10 + i)).unwrap();
        }
        let records: usize = s
            .inner
            .shards
            .iter()
            .map(|sh| lock(sh).expiries.len())
            .sum();
        assert!(records < 200, "{records}");
    }
}
