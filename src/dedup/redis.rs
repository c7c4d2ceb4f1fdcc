//! A dedup store in Redis, shared by every replica (feature `redis`).

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{RedisError, Script, ScriptInvocation};

use super::{BoxFuture, Claim, DedupStore, Reservation, StoreError, Token};

/// After this many operations failed in a row, a store that made its own
/// connection replaces it with a new one...
const START_OVER_AFTER: u32 = 5;

/// ...at most this often.
const START_OVER_EVERY: Duration = Duration::from_secs(2);

/// The value of a committed id.
const DONE: &str = "done";

/// The longest lease or retention written, in milliseconds (about 2 200
/// years): Redis refuses expiries that overflow its clock.
const MAX_TTL_MS: u64 = 1 << 46;

/// `KEYS[1]` the key, `ARGV[1]` the token, `ARGV[2]` the lease in ms,
/// `ARGV[3]` the done marker, `ARGV[4]` the claim's retention in ms.
/// Answers `{state, pttl}`: state 0 when reserved, 1 when done (its expiry
/// pushed out to the retention when that is later), 2 when in flight.
const RESERVE: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {0, 0}
end
local pttl = redis.call('PTTL', KEYS[1])
if v == ARGV[3] then
  if pttl >= 0 and pttl < tonumber(ARGV[4]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
  end
  return {1, pttl}
end
return {2, pttl}
";

/// `KEYS[1]` the key, `ARGV[1]` the token, `ARGV[2]` the retention in ms,
/// `ARGV[3]` the done marker. Answers 1 when committed (the caller's token
/// held the key, or nothing did any more), 0 otherwise.
const COMMIT: &str = r"
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] or not v then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
  return 1
end
return 0
";

/// `KEYS[1]` the key, `ARGV[1]` the token. Answers 1 when deleted, 0 otherwise.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Why [`RedisStore::connect`] (or `connect_cluster`) failed.
///
/// Messages never include the URL itself (it may hold a password), only
/// the server's address.
///
/// ```
/// use tower_webhook::dedup::{ConnectError, RedisStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = RedisStore::connect("http://:hunter2@cache.internal").await.unwrap_err();
/// assert!(matches!(err, ConnectError::InvalidUrl { setting: "RedisStore::connect", .. }));
/// assert!(!err.to_string().contains("hunter2"));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The Redis URL does not parse.
    #[error(
        "the Redis URL passed to {setting} is invalid ({reason}); expected redis://[[user]:password@]host[:port][/db] or unix:///path/to/redis.sock"
    )]
    InvalidUrl {
        /// The function the URL was passed to (`RedisStore::connect`, ...).
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Redis at `addr` could not be reached or refused the connection.
    #[error("could not connect to Redis at {addr} (the URL passed to {setting}): {reason}")]
    Connect {
        /// The function the URL was passed to (`RedisStore::connect`, ...).
        setting: &'static str,
        /// The server's address (or the cluster's seed nodes), without
        /// credentials.
        addr: String,
        /// The underlying error.
        reason: String,
    },
}

impl ConnectError {
    /// [`ConnectError::InvalidUrl`] for a URL passed to `setting`.
    fn invalid(setting: &'static str) -> impl FnOnce(::redis::RedisError) -> Self {
        move |e| Self::InvalidUrl {
            setting,
            reason: e.to_string(),
        }
    }

    /// [`ConnectError::Connect`] for the server(s) at `addr`.
    fn unreachable(
        setting: &'static str,
        addr: String,
    ) -> impl FnOnce(::redis::RedisError) -> Self {
        move |e| Self::Connect {
            setting,
            addr,
            reason: e.to_string(),
        }
    }
}

/// The connection: one endpoint, or a Redis Cluster.
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    #[cfg(feature = "redis-cluster")]
    Cluster(::redis::cluster_async::ClusterConnection),
}

impl Conn {
    async fn invoke<T: ::redis::FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, RedisError> {
        match self {
            Self::Single(c) => invocation.invoke_async(&mut c.clone()).await,
            #[cfg(feature = "redis-cluster")]
            Self::Cluster(c) => invocation.invoke_async(&mut c.clone()).await,
        }
    }
}

/// A dedup store in Redis, shared by every replica (feature `redis`).
///
/// - **One truth for several replicas.** Every replica that points at the
///   same Redis (and uses the same [prefix](RedisStoreBuilder::prefix))
///   sees the same reservations: a delivery retried on another replica is
///   recognised as in flight or done.
/// - **One round trip per operation.** Reserve, commit and release are each
///   one small Lua script run with `EVALSHA` (a server that does not know
///   the script yet, for instance after a restart, is sent it with
///   `SCRIPT LOAD` and asked again), so each is atomic on the server:
///   - reserve: if the key is absent, `SET key token PX lease` and answer
///     [`Fresh`](Reservation::Fresh); otherwise look at the stored value:
///     the marker `done` means [`Done`](Reservation::Done) (and the key's
///     expiry is pushed out to the claim's retention when that is later), a
///     token means [`InFlight`](Reservation::InFlight) with `retry_after`
///     set to the key's `PTTL` (the rest of the lease);
///   - commit: if the value is still the caller's token, or the key is gone
///     (the lease ran out and nobody took over), `SET key done PX retention`;
///   - release: if the value is still the caller's token, `DEL key`.
///
///   A handler whose lease expired and whose id was reserved again by
///   another request can therefore neither commit over nor delete the new
///   reservation; one whose lease merely ran out still records its work.
/// - **Everything expires.** Each key is `prefix + key` (the layer's key
///   already holds the scheme, the namespace and the delivery's dedup key,
///   see [`WebhookLayer::namespace`](crate::WebhookLayer::namespace)) and is
///   always written with a TTL: the lease while in flight, the retention
///   once done (pushed out, never pulled in, by a later copy's retention).
///   Nothing accumulates.
/// - **Fails closed, recovers by itself.** Every operation is bounded by a
///   [timeout](RedisStoreBuilder::timeout) (default
///   [`RedisStore::DEFAULT_TIMEOUT`]). When Redis is unreachable, answers with an error,
///   or is too slow, the operation fails with [`StoreError::Unavailable`] or
///   [`StoreError::Timeout`], so the layer answers 503 with `Retry-After`
///   and does not call the handler. The connection is a redis
///   [`ConnectionManager`], which reconnects in the background; once Redis
///   answers again, so does the store, without a restart. The manager gives
///   up for good when a reconnection fails for a reason other than I/O (a
///   password changed, then changed back): so after 5 failures in a row, a
///   store that made its own connection ([`RedisStore::connect`]) starts
///   over with a new one, at most every 2 s. A store given a connection
///   ([`RedisStoreBuilder::build`]) keeps that one.
///
/// # Caveats
///
/// - **Durability is Redis's.** If Redis loses its data (restarted without
///   persistence, failover to a replica that lagged), ids committed before
///   the loss are forgotten and a later redelivery of them is processed
///   again. Enable persistence (AOF) if that matters.
/// - **A lost answer is released, if Redis can still hear it.** If Redis
///   applied a reservation but its answer did not arrive in time (timeout,
///   connection drop), or the request was dropped while waiting for it (the
///   client went away), the layer releases the key with the token it made
///   before asking (and answers 503 in the first case), so the sender's
///   retry is processed. If that release does not reach Redis after the
///   reservation did (Redis still unreachable, or the release overtook the
///   reservation on a new connection), the id stays reserved until the
///   lease ends and the sender's retries get 409 until then. Keep the
///   [lease](crate::WebhookLayer::lease) close to your handler's longest run
///   time.
/// - **Clocks.** Leases and retentions are measured by the Redis server's
///   clock, not by the layer's [`Clock`](crate::clock::Clock): a
///   [`ManualClock`](crate::clock::ManualClock) does not move them.
/// - **Redis Cluster** needs the `redis-cluster` feature and
///   `RedisStoreBuilder::connect_cluster` (each operation touches one
///   key, so it runs on the node that owns it). Sentinel is not built in:
///   pass a connection manager to [`RedisStoreBuilder::build`].
/// - **Ids in clear.** Keys hold the event id as sent (or the sender's
///   signed token, or the body's digest), and the namespace, tenant and
///   path when configured (the default namespace is a one-way fingerprint
///   of the signing key); the memory store hashes them. Values hold only a
///   random token or `done`. Restrict the prefix with Redis ACLs if other
///   tenants share the server.
/// - **TLS** (`rediss://`) needs one of the `redis` crate's TLS features
///   (for instance `tokio-rustls-comp`) enabled in your own `Cargo.toml`.
/// - Requires Redis 2.6.12+ (or Valkey) and a tokio runtime with its timer
///   enabled (as `#[tokio::main]` does); tested with Redis 7.
///
/// ```no_run
/// use tower_webhook::{dedup::RedisStore, scheme::StandardWebhooks, WebhookLayer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
/// let layer = WebhookLayer::new(StandardWebhooks::new(std::env::var("WEBHOOK_SECRET")?)?)
///     .dedup(store);
/// # Ok(()) }
/// ```
///
/// Clones share the connection.
///
/// ```no_run
/// use std::time::Duration;
/// use tower_webhook::dedup::RedisStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::builder()
///     .prefix("billing-webhooks:")
///     .timeout(Duration::from_millis(250))
///     .connect("redis://127.0.0.1:6379")
///     .await?;
/// assert_eq!(store.prefix(), "billing-webhooks:");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    prefix: String,
    timeout: Duration,
    reserve: Script,
    commit: Script,
    release: Script,
    /// Replaced when the store [starts over](RedisStore::note_failure).
    conn: RwLock<Conn>,
    /// How to start over, when the store made the connection itself.
    fresh: Option<(::redis::Client, ConnectionManagerConfig)>,
    /// Operations failed in a row.
    failures: AtomicU32,
    /// When the store last started over.
    restarted: Mutex<Option<Instant>>,
}

impl fmt::Debug for RedisStore {
    // The connection manager's Debug shows the connection info, password
    // included: leave it out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Configures a [`RedisStore`].
///
/// ```no_run
/// use std::time::Duration;
/// use tower_webhook::dedup::RedisStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // Reuse a connection manager the application already has.
/// let client = redis::Client::open("redis://127.0.0.1:6379")?;
/// let manager = redis::aio::ConnectionManager::new(client).await?;
/// let store = RedisStore::builder().prefix("hooks:").build(manager);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RedisStoreBuilder {
    prefix: String,
    timeout: Duration,
}

impl Default for RedisStoreBuilder {
    fn default() -> Self {
        Self {
            prefix: RedisStore::DEFAULT_PREFIX.to_owned(),
            timeout: RedisStore::DEFAULT_TIMEOUT,
        }
    }
}

impl RedisStoreBuilder {
    /// Prepended to every key (default [`RedisStore::DEFAULT_PREFIX`]). Give each
    /// application sharing a Redis its own.
    ///
    /// ```
    /// let builder = tower_webhook::dedup::RedisStore::builder().prefix("billing:");
    /// assert!(format!("{builder:?}").contains("billing:"));
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest an operation may take, connecting included (default
    /// [`RedisStore::DEFAULT_TIMEOUT`], at least 1 ms). Past it the operation fails with
    /// [`StoreError::Timeout`] and the layer answers 503.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = tower_webhook::dedup::RedisStore::builder().timeout(Duration::from_millis(250));
    /// assert!(format!("{builder:?}").contains("250ms"));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Connects to the Redis at `url` (`redis://[[user]:password@]host[:port][/db]`,
    /// `unix:///path`, or `rediss://` with a TLS feature of the `redis`
    /// crate) and builds the store.
    ///
    /// Fails if the URL is invalid or Redis cannot be reached now; once
    /// connected, the store reconnects by itself.
    pub async fn connect(self, url: &str) -> Result<RedisStore, ConnectError> {
        const SETTING: &str = "RedisStore::connect";
        let client = ::redis::Client::open(url).map_err(ConnectError::invalid(SETTING))?;
        let addr = client.get_connection_info().addr().to_string();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout.max(Duration::from_millis(250))))
            .set_response_timeout(Some(self.timeout))
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(1))
            .set_number_of_retries(4);
        let conn = ConnectionManager::new_with_config(client.clone(), config.clone())
            .await
            .map_err(ConnectError::unreachable(SETTING, addr))?;
        Ok(self.build_on(Conn::Single(conn), Some((client, config))))
    }

    /// Connects to the Redis Cluster that `nodes` (URLs of some of its
    /// nodes) belong to, and builds the store (feature `redis-cluster`).
    ///
    /// Each operation touches one key, so each runs on the node that owns
    /// it; the cluster connection follows slot moves and reconnects by
    /// itself.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = tower_webhook::dedup::RedisStore::builder()
    ///     .connect_cluster(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis-cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-cluster")))]
    pub async fn connect_cluster<I, S>(self, nodes: I) -> Result<RedisStore, ConnectError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        const SETTING: &str = "RedisStore::connect_cluster";
        let mut infos = Vec::new();
        for node in nodes {
            infos.push(
                ::redis::IntoConnectionInfo::into_connection_info(node.as_ref())
                    .map_err(ConnectError::invalid(SETTING))?,
            );
        }
        let addr = infos
            .iter()
            .map(|i| i.addr().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let client = ::redis::cluster::ClusterClient::builder(infos)
            .connection_timeout(self.timeout.max(Duration::from_millis(250)))
            .response_timeout(self.timeout)
            .build()
            .map_err(ConnectError::invalid(SETTING))?;
        let conn = client
            .get_async_connection()
            .await
            .map_err(ConnectError::unreachable(SETTING, addr))?;
        Ok(self.build_cluster(conn))
    }

    /// Builds the store on an existing connection manager (its reconnection
    /// settings apply). See the [builder's example](RedisStoreBuilder).
    pub fn build(self, conn: ConnectionManager) -> RedisStore {
        self.build_on(Conn::Single(conn), None)
    }

    /// Builds the store on an existing Redis Cluster connection (feature
    /// `redis-cluster`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::cluster::ClusterClient::new(["redis://10.0.0.1:6379"])?;
    /// let conn = client.get_async_connection().await?;
    /// let store = tower_webhook::dedup::RedisStore::builder().build_cluster(conn);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis-cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-cluster")))]
    pub fn build_cluster(self, conn: ::redis::cluster_async::ClusterConnection) -> RedisStore {
        self.build_on(Conn::Cluster(conn), None)
    }

    fn build_on(
        self,
        conn: Conn,
        fresh: Option<(::redis::Client, ConnectionManagerConfig)>,
    ) -> RedisStore {
        RedisStore {
            inner: Arc::new(Inner {
                prefix: self.prefix,
                timeout: self.timeout,
                reserve: Script::new(RESERVE),
                commit: Script::new(COMMIT),
                release: Script::new(RELEASE),
                conn: RwLock::new(conn),
                fresh,
                failures: AtomicU32::new(0),
                restarted: Mutex::new(None),
            }),
        }
    }
}

impl RedisStore {
    /// Default key prefix: `tower-webhook:`.
    ///
    /// ```
    /// assert_eq!(tower_webhook::dedup::RedisStore::DEFAULT_PREFIX, "tower-webhook:");
    /// ```
    pub const DEFAULT_PREFIX: &str = "tower-webhook:";

    /// Default bound on each operation: 500 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(tower_webhook::dedup::RedisStore::DEFAULT_TIMEOUT, Duration::from_millis(500));
    /// ```
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

    /// Connects to the Redis at `url` with the default prefix and timeout.
    /// See [`RedisStoreBuilder::connect`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = tower_webhook::dedup::RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::builder().connect(url).await
    }

    /// Starts configuring a store.
    ///
    /// ```
    /// let builder = tower_webhook::dedup::RedisStore::builder();
    /// assert!(format!("{builder:?}").contains("tower-webhook:"));
    /// ```
    pub fn builder() -> RedisStoreBuilder {
        RedisStoreBuilder::default()
    }

    /// A store with the default prefix and timeout on an existing connection
    /// manager.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::Client::open("redis://127.0.0.1:6379")?;
    /// let manager = redis::aio::ConnectionManager::new(client).await?;
    /// let store = tower_webhook::dedup::RedisStore::from_manager(manager);
    /// # Ok(()) }
    /// ```
    pub fn from_manager(conn: ConnectionManager) -> Self {
        Self::builder().build(conn)
    }

    /// The key prefix.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = tower_webhook::dedup::RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(store.prefix(), "tower-webhook:");
    /// # Ok(()) }
    /// ```
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The bound on each operation.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = tower_webhook::dedup::RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(store.timeout(), tower_webhook::dedup::RedisStore::DEFAULT_TIMEOUT);
    /// # Ok(()) }
    /// ```
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The Redis key of the layer's `key`.
    fn redis_key(&self, key: &str) -> String {
        let mut k = String::with_capacity(self.inner.prefix.len() + key.len());
        k.push_str(&self.inner.prefix);
        k.push_str(key);
        k
    }

    /// Runs `invocation` under the timeout, mapping errors to [`StoreError`].
    async fn run<T: ::redis::FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        // The layer may release from a destructor; without a runtime the
        // timer (and the connection) would panic there.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Unavailable(
                "RedisStore needs a tokio runtime, and none runs on this thread".to_owned(),
            ));
        }
        let conn = self
            .inner
            .conn
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let result = match tokio::time::timeout(self.inner.timeout, conn.invoke(invocation)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if e.is_timeout() => Err(StoreError::Timeout(self.inner.timeout)),
            Ok(Err(e)) => Err(StoreError::Unavailable(format!("redis: {e}"))),
            Err(_) => Err(StoreError::Timeout(self.inner.timeout)),
        };
        match &result {
            Ok(_) => self.inner.failures.store(0, Ordering::Relaxed),
            Err(_) => self.note_failure(),
        }
        result
    }

    /// The connection manager reconnects by itself after I/O errors, but
    /// keeps failing without retrying when a reconnection failed for another
    /// reason (a password changed and changed back, for instance). So when
    /// operations keep failing, a store that made its own connection starts
    /// over with a new one (the old one is dropped).
    fn note_failure(&self) {
        let failures = self.inner.failures.fetch_add(1, Ordering::Relaxed) + 1;
        let Some((client, config)) = &self.inner.fresh else {
            return;
        };
        if failures < START_OVER_AFTER {
            return;
        }
        let mut restarted = self
            .inner
            .restarted
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if restarted.is_some_and(|at| at.elapsed() < START_OVER_EVERY) {
            return;
        }
        *restarted = Some(Instant::now());
        match ConnectionManager::new_lazy_with_config(client.clone(), config.clone()) {
            Ok(conn) => {
                *self
                    .inner
                    .conn
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Conn::Single(conn);
                self.inner.failures.store(0, Ordering::Relaxed);
                tracing::warn!(
                    prefix = %self.inner.prefix,
                    failures,
                    "Redis dedup store: operations keep failing; starting over with a new connection"
                );
            }
            Err(e) => tracing::warn!(
                prefix = %self.inner.prefix,
                error = %e,
                "Redis dedup store: could not start over with a new connection"
            ),
        }
    }
}

fn ttl_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS)
}

impl DedupStore for RedisStore {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        claim: Claim,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        Box::pin(async move {
            let lease_ms = ttl_ms(claim.lease);
            let mut invocation = self.inner.reserve.key(self.redis_key(key));
            invocation
                .arg(claim.token.as_u64())
                .arg(lease_ms)
                .arg(DONE)
                .arg(ttl_ms(claim.retention));
            let (state, pttl): (u8, i64) = self.run(&invocation).await?;
            Ok(if state == 0 {
                Reservation::Fresh
            } else if state == 1 {
                Reservation::Done
            } else {
                // A negative PTTL (no expiry: the key was written by someone
                // else) or one just gone: wait a full lease at most.
                let retry_after = match u64::try_from(pttl) {
                    Ok(ms) if ms > 0 => Duration::from_millis(ms),
                    _ => Duration::from_millis(lease_ms),
                };
                Reservation::InFlight { retry_after }
            })
        })
    }

    fn commit<'a>(
        &'a self,
        key: &'a str,
        token: Token,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut invocation = self.inner.commit.key(self.redis_key(key));
            invocation
                .arg(token.as_u64())
                .arg(ttl_ms(retention))
                .arg(DONE);
            let n: i64 = self.run(&invocation).await?;
            Ok(n == 1)
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a str,
        token: Token,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut invocation = self.inner.release.key(self.redis_key(key));
            invocation.arg(token.as_u64());
            let n: i64 = self.run(&invocation).await?;
            Ok(n == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_clamped_to_what_redis_accepts() {
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::from_micros(10)), 1);
        assert_eq!(ttl_ms(Duration::from_millis(300)), 300);
        assert_eq!(ttl_ms(Duration::MAX), MAX_TTL_MS);
    }

    #[tokio::test]
    async fn invalid_url_names_the_setting_and_hides_the_url() {
        let err = RedisStore::connect("http://user:hunter2@example.com")
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("Redis URL passed to RedisStore::connect is invalid"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn builder_keeps_a_positive_timeout() {
        let b = RedisStore::builder().prefix("p:").timeout(Duration::ZERO);
        assert_eq!(b.timeout, Duration::from_millis(1));
        assert!(format!("{b:?}").contains("p:"));
    }
}
