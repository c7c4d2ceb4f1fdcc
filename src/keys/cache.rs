//! The bounded cache of fetched keys: read synchronously by the schemes,
//! filled asynchronously (single-flight, rate-limited) by their fetchers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::OnceCell;

use super::FetchError;
use crate::clock::unix_millis;

/// How long fetched keys are kept and how many fetches may run.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::keys::CacheSettings;
/// let s = CacheSettings::default().ttl(Duration::from_secs(600));
/// assert_eq!(s.ttl_value(), Duration::from_secs(600));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheSettings {
    ttl: Duration,
    negative_ttl: Duration,
    capacity: u64,
    max_fetches_per_minute: u32,
}

impl Default for CacheSettings {
    /// One hour for a key (eBay's recommendation), ten minutes for a key
    /// the server does not know, 1 000 entries, 30 fetches a minute.
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(600),
            capacity: 1000,
            max_fetches_per_minute: 30,
        }
    }
}

impl CacheSettings {
    /// How long a fetched key is used before it is fetched again.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long a key the server does not know is refused without asking.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = tower_webhook::keys::CacheSettings::default().negative_ttl(Duration::from_secs(60));
    /// # let _ = s;
    /// ```
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// How many keys (known and unknown) are kept at most; beyond it the
    /// least used are evicted one at a time.
    ///
    /// ```
    /// let s = tower_webhook::keys::CacheSettings::default().capacity(100);
    /// # let _ = s;
    /// ```
    pub fn capacity(mut self, entries: u64) -> Self {
        self.capacity = entries;
        self
    }

    /// How many fetches of keys not cached may start in one minute of the
    /// layer's clock; beyond it, deliveries naming a key not cached get 503
    /// (the sender retries) without a connection. Bounds what a flood of
    /// made-up key ids or URLs costs the key server and the receiver.
    ///
    /// ```
    /// let s = tower_webhook::keys::CacheSettings::default().max_fetches_per_minute(10);
    /// # let _ = s;
    /// ```
    pub fn max_fetches_per_minute(mut self, n: u32) -> Self {
        self.max_fetches_per_minute = n;
        self
    }

    /// The configured TTL of a fetched key.
    pub fn ttl_value(&self) -> Duration {
        self.ttl
    }
}

/// What a lookup found.
pub(crate) enum Lookup<V> {
    /// The key, fetched and not expired.
    Found(V),
    /// The server said it does not know it (not expired).
    Unknown,
    /// Nothing cached: fetch it.
    Absent,
}

/// What a fetch gave.
pub(crate) enum Fetched<V> {
    /// The key, kept for the TTL (or less, when it says so).
    Found(V, Option<Duration>),
    /// The server does not know it: kept as unknown for the negative TTL.
    Unknown,
}

#[derive(Clone)]
enum Entry<V> {
    Found(V, i64),
    Unknown(i64),
}

type Flight = Arc<OnceCell<Result<(), FetchError>>>;

/// Fetched keys, by locator (key id or URL), with their expiry on the
/// layer's clock.
pub(crate) struct KeyCache<V> {
    entries: moka::sync::Cache<Arc<str>, Entry<V>>,
    flights: Mutex<HashMap<Arc<str>, Flight>>,
    window: Mutex<(i64, u32)>,
    settings: CacheSettings,
}

fn after(now: i64, d: Duration) -> i64 {
    now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl<V: Clone + Send + Sync + 'static> KeyCache<V> {
    pub(crate) fn new(settings: CacheSettings) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(settings.capacity)
                .build(),
            flights: Mutex::new(HashMap::new()),
            window: Mutex::new((i64::MIN, 0)),
            settings,
        }
    }

    /// What is cached for `locator` at `now`.
    pub(crate) fn get(&self, locator: &str, now: SystemTime) -> Lookup<V> {
        let now = unix_millis(now);
        match self.entries.get(locator) {
            Some(Entry::Found(v, until)) if until > now => Lookup::Found(v),
            Some(Entry::Unknown(until)) if until > now => Lookup::Unknown,
            _ => Lookup::Absent,
        }
    }

    /// Fetches `locator` with `fetch` unless it is cached: one fetch at a
    /// time per locator (the others wait for its outcome), within the rate
    /// limit. A failure is given to every waiter and not cached.
    pub(crate) async fn fill<F, Fut>(
        &self,
        locator: &str,
        now: SystemTime,
        fetch: F,
    ) -> Result<(), FetchError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched<V>, FetchError>>,
    {
        if !matches!(self.get(locator, now), Lookup::Absent) {
            return Ok(());
        }
        let key: Arc<str> = Arc::from(locator);
        let flight = Arc::clone(
            self.flights
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(Arc::clone(&key))
                .or_default(),
        );
        let outcome = flight
            .get_or_init(|| async {
                // Filled by a flight that ended while this one was set up.
                if !matches!(self.get(locator, now), Lookup::Absent) {
                    return Ok(());
                }
                self.admit(now)?;
                let millis = unix_millis(now);
                match fetch().await? {
                    Fetched::Found(v, ttl) => {
                        let ttl = ttl.map_or(self.settings.ttl, |t| t.min(self.settings.ttl));
                        self.entries
                            .insert(Arc::clone(&key), Entry::Found(v, after(millis, ttl)));
                    }
                    Fetched::Unknown => {
                        let until = after(millis, self.settings.negative_ttl);
                        self.entries.insert(Arc::clone(&key), Entry::Unknown(until));
                    }
                }
                Ok(())
            })
            .await
            .clone();
        let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if flights.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
            flights.remove(&key);
        }
        outcome
    }

    /// Counts one fetch in the current minute, or refuses it.
    fn admit(&self, now: SystemTime) -> Result<(), FetchError> {
        let now = unix_millis(now);
        let limit = self.settings.max_fetches_per_minute;
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        if now >= after(window.0, Duration::from_secs(60)) || now < window.0 {
            *window = (now, 0);
        }
        if window.1 >= limit {
            return Err(FetchError::Throttled { limit });
        }
        window.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::UNIX_EPOCH;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[tokio::test]
    async fn single_flight_ttl_negative_and_rate_limit() {
        let cache = KeyCache::<u32>::new(
            CacheSettings::default()
                .ttl(Duration::from_secs(100))
                .negative_ttl(Duration::from_secs(10))
                .max_fetches_per_minute(3),
        );
        let calls = AtomicUsize::new(0);
        let fetch = |v: Option<u32>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::task::yield_now().await;
                Ok(v.map_or(Fetched::Unknown, |v| Fetched::Found(v, None)))
            }
        };
        let (a, b) = tokio::join!(
            cache.fill("k", at(0), || fetch(Some(7))),
            cache.fill("k", at(0), || fetch(Some(8)))
        );
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(matches!(cache.get("k", at(99)), Lookup::Found(7)));
        assert!(matches!(cache.get("k", at(100)), Lookup::Absent));
        cache.fill("x", at(0), || fetch(None)).await.unwrap();
        assert!(matches!(cache.get("x", at(9)), Lookup::Unknown));
        cache.fill("x", at(5), || fetch(None)).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "negative entry served");
        cache.fill("y", at(1), || fetch(None)).await.unwrap();
        let e = cache.fill("z", at(2), || fetch(None)).await.unwrap_err();
        assert_eq!(e, FetchError::Throttled { limit: 3 });
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        cache.fill("z", at(61), || fetch(None)).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let cache = KeyCache::<u32>::new(CacheSettings::default());
        let down = || async {
            Err::<Fetched<u32>, _>(FetchError::Unavailable {
                reason: "down".into(),
            })
        };
        assert!(cache.fill("k", at(0), down).await.is_err());
        assert!(matches!(cache.get("k", at(0)), Lookup::Absent));
        cache
            .fill("k", at(1), || async { Ok(Fetched::Found(1, None)) })
            .await
            .unwrap();
        assert!(matches!(cache.get("k", at(1)), Lookup::Found(1)));
    }
}
