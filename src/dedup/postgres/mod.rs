//! A dedup store in PostgreSQL (feature `postgres`), whose commit can join
//! the handler's own transaction.

mod commit;
mod sql;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{BoxFuture, Claim, DedupStore, Reservation, StoreError, Token};
use crate::clock::{Clock, unix_millis};

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use commit::MissingTxCommit;
pub use commit::{TxCommit, TxCommitError};

/// The longest lease or retention written, in milliseconds (about 2 200
/// years): far inside PostgreSQL's timestamp range.
const MAX_TTL_MS: i64 = 1 << 46;

/// The longest identifier PostgreSQL keeps (`NAMEDATALEN - 1`).
const MAX_IDENT: usize = 63;

/// What [`PostgresStore`]'s expiry index is called: the table's name and this.
const INDEX_SUFFIX: &str = "_expires_at";

/// Why a [`PostgresStore`] could not be built, connected or migrated.
///
/// Each names the setting at fault. Messages never include the URL itself
/// (it may hold a password).
///
/// ```
/// use tower_webhook::dedup::{PostgresError, PostgresStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = PostgresStore::builder().table("webhooks; DROP TABLE users").connect("postgres://app:hunter2@db/app").await.unwrap_err();
/// assert!(matches!(err, PostgresError::InvalidTable { setting: "PostgresStoreBuilder::table", .. }));
/// assert!(!err.to_string().contains("hunter2"));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// The table name is not a plain PostgreSQL identifier.
    #[error(
        "the table name {name:?} passed to {setting} is invalid ({reason}); expected an identifier of ASCII letters, digits and '_' not starting with a digit, at most {max} bytes, optionally qualified by a schema (schema.table)",
        max = MAX_IDENT - INDEX_SUFFIX.len()
    )]
    InvalidTable {
        /// The function the name was passed to.
        setting: &'static str,
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The URL does not parse.
    #[error(
        "the PostgreSQL URL passed to {setting} is invalid ({reason}); expected postgres://[user[:password]@]host[:port]/database[?options]"
    )]
    InvalidUrl {
        /// The function the URL was passed to.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached or refused the connection.
    #[error("could not connect to PostgreSQL (the URL passed to {setting}): {reason}")]
    Connect {
        /// The function the URL was passed to.
        setting: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// [`PostgresStore::migrate`] failed.
    #[error("PostgresStore::migrate could not create the table {table}: {reason}")]
    Migrate {
        /// The table.
        table: String,
        /// What went wrong.
        reason: String,
    },
}

/// A dedup store in PostgreSQL, shared by every replica (feature `postgres`).
///
/// **What it adds to the Redis store: exactly-once effects.** A handler
/// that keeps its state in the same database commits the delivery inside
/// its own transaction with [`TxCommit::commit_in`]: the dedup record and
/// the handler's writes land together or not at all. If the transaction
/// rolls back or the process dies before it commits, the reservation is
/// released by the layer or runs out with its lease, and the sender's retry
/// is processed; once it committed, every copy answers 200 without reaching
/// the handler.
///
/// - **The contract.** The same as every store's (see [`DedupStore`]):
///   reserve with a lease, commit and release only with the reservation's
///   token, retention extended by later copies. One statement (one round
///   trip) per operation.
/// - **Fail closed.** Every operation is bounded by the store's
///   [`timeout`](PostgresStoreBuilder::timeout): waiting for a pooled
///   connection, and the statement itself (the store's own pool also sets
///   the server's `statement_timeout` to it). An unreachable server, an
///   exhausted pool or a slow statement answers [`StoreError`], and the
///   layer answers 503 with `Retry-After`; the sender retries.
/// - **Expiry.** Reservation checks the row's expiry, so an expired row is
///   taken over at once, whether or not it was deleted. Expired rows are
///   deleted a batch at a time by a background sweep every
///   [`sweep_every`](PostgresStoreBuilder::sweep_every) reservations, along
///   the expiry index (never a scan of the table), skipping rows a
///   transaction holds; [`sweep`](PostgresStore::sweep) runs one by hand.
/// - **Time.** By default leases and retentions are measured by the
///   database server's clock (`clock_timestamp()`), as the Redis store uses
///   Redis's: one clock for every replica, so replicas whose clocks drift
///   apart still agree on when a lease ends. Tests give the store a
///   [`Clock`] instead ([`PostgresStoreBuilder::clock`], a
///   [`ManualClock`](crate::clock::ManualClock)) and move time by hand.
///
/// - **Durability.** The store's own pool (made by
///   [`connect`](PostgresStoreBuilder::connect)) runs with
///   `synchronous_commit = off`: its reservations, releases and commits do
///   not wait for the disk. A server crash can forget the last few
///   milliseconds of them, which at worst lets a delivery run again (a lost
///   commit: at least once, as with Redis) or leaves a reservation to its
///   lease. A handler's [`TxCommit::commit_in`] runs in the handler's own
///   transaction and turns `synchronous_commit` back on for it (if it was
///   off), so the handler's effects and the delivery's record reach the disk
///   before the transaction's commit returns (and every earlier record with
///   them). Give
///   [`build`](PostgresStoreBuilder::build) a pool of your own for other
///   settings.
///
/// The table, created by [`migrate`](Self::migrate) (or by your own
/// migrations, with the table name of your choice):
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS tower_webhook_dedup (
///     key        text        PRIMARY KEY,  -- the layer's dedup key
///     token      bigint,                   -- the holder's token; NULL once done
///     expires_at timestamptz NOT NULL      -- end of the lease (held) or retention (done)
/// );
/// CREATE INDEX IF NOT EXISTS tower_webhook_dedup_expires_at
///     ON tower_webhook_dedup (expires_at);
/// ```
///
/// ```no_run
/// use tower_webhook::{dedup::PostgresStore, scheme::StandardWebhooks, WebhookLayer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
/// store.migrate().await?;
/// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
///     .dedup(store);
/// # Ok(()) }
/// ```
///
/// Clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    table: String,
    timeout: Duration,
    clock: Option<Arc<dyn Clock>>,
    sql: sql::Statements,
    /// The database the store's rows are in, as the server names it; learnt
    /// from the first reservation (it costs no round trip there).
    database: OnceLock<String>,
    sweep_every: u64,
    sweep_batch: i64,
    reservations: AtomicU64,
    sweeping: AtomicBool,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("table", &self.inner.table)
            .field("timeout", &self.inner.timeout)
            .field("database", &self.inner.database.get())
            .field("clock", &self.inner.clock.as_ref().map(|_| "custom"))
            .finish_non_exhaustive()
    }
}

/// Configures a [`PostgresStore`].
///
/// ```no_run
/// use std::time::Duration;
/// use tower_webhook::dedup::PostgresStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::builder()
///     .table("billing.webhook_dedup")
///     .timeout(Duration::from_millis(250))
///     .max_connections(16)
///     .connect("postgres://app@127.0.0.1/app")
///     .await?;
/// store.migrate().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStoreBuilder {
    table: String,
    timeout: Duration,
    max_connections: u32,
    clock: Option<Arc<dyn Clock>>,
    sweep_every: u64,
    sweep_batch: i64,
}

impl fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStoreBuilder")
            .field("table", &self.table)
            .field("timeout", &self.timeout)
            .field("max_connections", &self.max_connections)
            .field("clock", &self.clock.as_ref().map(|_| "custom"))
            .field("sweep_every", &self.sweep_every)
            .field("sweep_batch", &self.sweep_batch)
            .finish()
    }
}

impl Default for PostgresStoreBuilder {
    fn default() -> Self {
        Self {
            table: PostgresStore::DEFAULT_TABLE.to_owned(),
            timeout: PostgresStore::DEFAULT_TIMEOUT,
            max_connections: 10,
            clock: None,
            sweep_every: 1000,
            sweep_batch: 500,
        }
    }
}

impl PostgresStoreBuilder {
    /// The table the store keeps its rows in (default
    /// [`PostgresStore::DEFAULT_TABLE`]): an identifier of ASCII letters,
    /// digits and `_`, optionally `schema.table`. Checked when the store is
    /// built ([`PostgresError::InvalidTable`]).
    ///
    /// ```
    /// let builder = tower_webhook::dedup::PostgresStore::builder().table("billing_dedup");
    /// assert!(format!("{builder:?}").contains("billing_dedup"));
    /// ```
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The longest an operation may take, waiting for a pooled connection
    /// included (default [`PostgresStore::DEFAULT_TIMEOUT`], at least 1 ms).
    /// Past it the operation fails with [`StoreError::Timeout`] and the layer
    /// answers 503.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = tower_webhook::dedup::PostgresStore::builder().timeout(Duration::from_millis(250));
    /// assert!(format!("{builder:?}").contains("250ms"));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The most connections the store's own pool opens (default 10, at
    /// least 1). Not used by [`build`](Self::build), which takes a pool.
    ///
    /// ```
    /// let builder = tower_webhook::dedup::PostgresStore::builder().max_connections(4);
    /// assert!(format!("{builder:?}").contains("max_connections: 4"));
    /// ```
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Measures leases and retentions with `clock` instead of the database
    /// server's clock (the default). For tests, with a
    /// [`ManualClock`](crate::clock::ManualClock); in production every
    /// replica's clock then decides, so keep them in sync.
    ///
    /// ```
    /// use tower_webhook::clock::ManualClock;
    /// let builder = tower_webhook::dedup::PostgresStore::builder().clock(ManualClock::at_unix(0));
    /// assert!(format!("{builder:?}").contains("custom"));
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Deletes expired rows in the background once every `n` reservations
    /// (default 1000; 0 never: run [`PostgresStore::sweep`] yourself).
    ///
    /// ```
    /// let builder = tower_webhook::dedup::PostgresStore::builder().sweep_every(0);
    /// assert!(format!("{builder:?}").contains("sweep_every: 0"));
    /// ```
    pub fn sweep_every(mut self, n: u64) -> Self {
        self.sweep_every = n;
        self
    }

    /// The most expired rows one sweep deletes (default 500, at least 1).
    ///
    /// ```
    /// let builder = tower_webhook::dedup::PostgresStore::builder().sweep_batch(100);
    /// assert!(format!("{builder:?}").contains("sweep_batch: 100"));
    /// ```
    pub fn sweep_batch(mut self, n: u32) -> Self {
        self.sweep_batch = i64::from(n.max(1));
        self
    }

    /// Connects to the PostgreSQL at `url` with a pool of its own and builds
    /// the store. Fails if the URL or the table name is invalid, or the
    /// server cannot be reached now; once connected, the pool reconnects by
    /// itself. Does not create the table: see [`PostgresStore::migrate`].
    ///
    /// The pool's sessions set `statement_timeout` to the store's timeout
    /// and `synchronous_commit` to `off` (see "Durability" on
    /// [`PostgresStore`]).
    ///
    /// TLS (`sslmode=require`, ...) needs a TLS feature of `sqlx` 0.8 in
    /// your application (features unify).
    pub async fn connect(self, url: &str) -> Result<PostgresStore, PostgresError> {
        const SETTING: &str = "PostgresStore::connect";
        let (table, index) = validate_table(&self.table)?;
        let options = PgConnectOptions::from_str(url).map_err(|e| PostgresError::InvalidUrl {
            setting: SETTING,
            reason: e.to_string(),
        })?;
        let millis = self.timeout.as_millis().to_string();
        // The layer's own statements do not wait for the WAL to reach the
        // disk (a few ms per commit on a busy disk): see "Durability" in
        // the type's docs.
        let options = options.options([
            ("statement_timeout", millis.as_str()),
            ("synchronous_commit", "off"),
        ]);
        let pool = self
            .pool_options()
            .connect_with(options)
            .await
            .map_err(|e| PostgresError::Connect {
                setting: SETTING,
                reason: e.to_string(),
            })?;
        Ok(self.finish(pool, table, index))
    }

    /// Builds the store on an existing pool (your application's, say).
    /// Its settings apply, and it should not test connections before
    /// handing them out ([`PgPoolOptions::test_before_acquire`]) if the
    /// store's operations are to take one round trip. The store's timeout
    /// still bounds every operation. Fails only if the table name is
    /// invalid.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://app@127.0.0.1/app")?;
    /// let store = tower_webhook::dedup::PostgresStore::builder().table("app_dedup").build(pool)?;
    /// assert_eq!(store.table(), "app_dedup");
    /// # Ok(()) }
    /// ```
    pub fn build(self, pool: PgPool) -> Result<PostgresStore, PostgresError> {
        let (table, index) = validate_table(&self.table)?;
        Ok(self.finish(pool, table, index))
    }

    fn pool_options(&self) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .min_connections(0)
            .acquire_timeout(self.timeout)
            // One round trip per operation: no ping before each. A broken
            // connection fails its operation (503, the sender retries) and
            // is closed.
            .test_before_acquire(false)
    }

    fn finish(self, pool: PgPool, table: String, index: String) -> PostgresStore {
        PostgresStore {
            inner: Arc::new(Inner {
                pool,
                sql: sql::Statements::new(&table, &index),
                table,
                timeout: self.timeout,
                clock: self.clock,
                database: OnceLock::new(),
                sweep_every: self.sweep_every,
                sweep_batch: self.sweep_batch,
                reservations: AtomicU64::new(0),
                sweeping: AtomicBool::new(false),
            }),
        }
    }
}

/// Checks `name` (`table` or `schema.table`) and answers it with the name
/// of its expiry index.
fn validate_table(name: &str) -> Result<(String, String), PostgresError> {
    let invalid = |reason| PostgresError::InvalidTable {
        setting: "PostgresStoreBuilder::table",
        name: name.to_owned(),
        reason,
    };
    let (schema, table) = match name.split_once('.') {
        Some((s, t)) => (Some(s), t),
        None => (None, name),
    };
    for part in schema.into_iter().chain([table]) {
        let mut bytes = part.bytes();
        match bytes.next() {
            None => return Err(invalid("an empty name")),
            Some(b) if b.is_ascii_digit() => return Err(invalid("starts with a digit")),
            _ => {}
        }
        if !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(invalid(
                "holds a character other than an ASCII letter, digit or '_'",
            ));
        }
    }
    if schema.is_some_and(|s| s.len() > MAX_IDENT) {
        return Err(invalid("the schema name is longer than 63 bytes"));
    }
    if table.len() + INDEX_SUFFIX.len() > MAX_IDENT {
        return Err(invalid(
            "too long: its expiry index, the name and \"_expires_at\", must fit in 63 bytes",
        ));
    }
    // Unquoted, as PostgreSQL folds it: `Webhooks` and `webhooks` are one table.
    Ok((name.to_owned(), format!("{table}{INDEX_SUFFIX}")))
}

impl PostgresStore {
    /// Default table: `tower_webhook_dedup`.
    ///
    /// ```
    /// assert_eq!(tower_webhook::dedup::PostgresStore::DEFAULT_TABLE, "tower_webhook_dedup");
    /// ```
    pub const DEFAULT_TABLE: &str = "tower_webhook_dedup";

    /// Default bound on each operation: 500 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(tower_webhook::dedup::PostgresStore::DEFAULT_TIMEOUT, Duration::from_millis(500));
    /// ```
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

    /// Connects to the PostgreSQL at `url` with the default table, timeout
    /// and pool. See [`PostgresStoreBuilder::connect`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = tower_webhook::dedup::PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, PostgresError> {
        Self::builder().connect(url).await
    }

    /// Starts configuring a store.
    ///
    /// ```
    /// let builder = tower_webhook::dedup::PostgresStore::builder();
    /// assert!(format!("{builder:?}").contains("tower_webhook_dedup"));
    /// ```
    pub fn builder() -> PostgresStoreBuilder {
        PostgresStoreBuilder::default()
    }

    /// Creates the table and its expiry index if they do not exist (the SQL
    /// is in the [type's docs](Self)); safe to run at every start, by every
    /// replica at once.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = tower_webhook::dedup::PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
    /// store.migrate().await?;
    /// store.migrate().await?; // a no-op
    /// # Ok(()) }
    /// ```
    pub async fn migrate(&self) -> Result<(), PostgresError> {
        let failed = |e: sqlx::Error| PostgresError::Migrate {
            table: self.inner.table.clone(),
            reason: e.to_string(),
        };
        let mut tx = self.inner.pool.begin().await.map_err(failed)?;
        // `CREATE ... IF NOT EXISTS` run by two sessions at once can still
        // collide in the catalogue: one at a time, per table.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("tower_webhook_migrate:{}", self.inner.table))
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        sqlx::query(&self.inner.sql.create_table)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        sqlx::query(&self.inner.sql.create_index)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)
    }

    /// Deletes up to [`sweep_batch`](PostgresStoreBuilder::sweep_batch)
    /// expired rows, oldest first, and answers how many it deleted. The
    /// store runs it in the background every
    /// [`sweep_every`](PostgresStoreBuilder::sweep_every) reservations; run
    /// it yourself (from a timer, say) to keep the table small when
    /// deliveries are rare.
    ///
    /// ```no_run
    /// # async fn run(store: tower_webhook::dedup::PostgresStore) -> Result<(), Box<dyn std::error::Error>> {
    /// while store.sweep().await? > 0 {}
    /// # Ok(()) }
    /// ```
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        let query = sqlx::query(&self.inner.sql.sweep)
            .bind(self.inner.sweep_batch)
            .bind(self.now_ms());
        let done = self.run(query.execute(&self.inner.pool)).await?;
        Ok(done.rows_affected())
    }

    /// The pool the store runs on. Begin the handler's transactions on it
    /// (or on another pool of the same database) to commit deliveries with
    /// [`TxCommit::commit_in`].
    ///
    /// ```no_run
    /// # async fn run(store: tower_webhook::dedup::PostgresStore) -> Result<(), sqlx::Error> {
    /// let mut tx = store.pool().begin().await?;
    /// # Ok(()) }
    /// ```
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The table, as configured.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = tower_webhook::dedup::PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
    /// assert_eq!(store.table(), "tower_webhook_dedup");
    /// # Ok(()) }
    /// ```
    pub fn table(&self) -> &str {
        &self.inner.table
    }

    /// The bound on each operation.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = tower_webhook::dedup::PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
    /// assert_eq!(store.timeout(), tower_webhook::dedup::PostgresStore::DEFAULT_TIMEOUT);
    /// # Ok(()) }
    /// ```
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// "Now" for the statements: the store's clock in Unix milliseconds, or
    /// `None` for the server's.
    fn now_ms(&self) -> Option<i64> {
        self.inner.clock.as_ref().map(|c| unix_millis(c.now()))
    }

    /// Runs `op` under the timeout, mapping errors to [`StoreError`].
    async fn run<T>(
        &self,
        op: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        // The layer may release from a destructor; without a runtime the
        // timer (and the pool) would panic there.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Unavailable(
                "PostgresStore needs a tokio runtime, and none runs on this thread".to_owned(),
            ));
        }
        run_bounded(self.inner.timeout, op).await
    }

    /// Starts a sweep in the background once every `sweep_every`
    /// reservations, unless one is running.
    fn maybe_sweep(&self) {
        let every = self.inner.sweep_every;
        let n = self.inner.reservations.fetch_add(1, Ordering::Relaxed) + 1;
        if every == 0 || !n.is_multiple_of(every) {
            return;
        }
        if self.inner.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.inner.sweeping.store(false, Ordering::Release);
            return;
        };
        rt.spawn(async move {
            match store.sweep().await {
                Ok(n) => tracing::debug!(table = %store.inner.table, deleted = n, "dedup sweep"),
                Err(e) => {
                    tracing::warn!(table = %store.inner.table, error = %e, "dedup sweep failed")
                }
            }
            store.inner.sweeping.store(false, Ordering::Release);
        });
    }
}

/// `op` bounded by `timeout`, its errors as [`StoreError`].
async fn run_bounded<T>(
    timeout: Duration,
    op: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, op).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(store_error(e, timeout)),
        Err(_) => Err(StoreError::Timeout(timeout)),
    }
}

fn store_error(e: sqlx::Error, timeout: Duration) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut => StoreError::Timeout(timeout),
        // 57014: query_canceled (the server's statement_timeout).
        sqlx::Error::Database(d) if d.code().as_deref() == Some("57014") => {
            StoreError::Timeout(timeout)
        }
        e => StoreError::Unavailable(format!("postgres: {e}")),
    }
}

/// The layer's key as stored: PostgreSQL's `text` cannot hold NUL, so `\`
/// and NUL are escaped (`\\`, `\0`); keys without either are stored as
/// they are.
fn db_key(key: &str) -> Cow<'_, str> {
    if !key.contains(['\\', '\0']) {
        return Cow::Borrowed(key);
    }
    Cow::Owned(key.replace('\\', "\\\\").replace('\0', "\\0"))
}

/// A token as PostgreSQL's `bigint` (the same 64 bits).
fn db_token(token: Token) -> i64 {
    i64::from_ne_bytes(token.as_u64().to_ne_bytes())
}

fn ttl_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis())
        .unwrap_or(i64::MAX)
        .clamp(1, MAX_TTL_MS)
}

impl DedupStore for PostgresStore {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        claim: Claim,
    ) -> BoxFuture<'a, Result<Reservation, StoreError>> {
        Box::pin(async move {
            let token = db_token(claim.token);
            let lease_ms = ttl_ms(claim.lease);
            let query =
                sqlx::query_as::<_, (Option<i64>, Option<i64>, String)>(&self.inner.sql.reserve)
                    .bind(db_key(key))
                    .bind(token)
                    .bind(lease_ms)
                    .bind(ttl_ms(claim.retention))
                    .bind(self.now_ms());
            let (holder, left_ms, database) = self.run(query.fetch_one(&self.inner.pool)).await?;
            if self.inner.database.get().is_none() {
                let _ = self.inner.database.set(database);
            }
            self.maybe_sweep();
            Ok(match holder {
                Some(t) if t == token => Reservation::Fresh,
                None => Reservation::Done,
                Some(_) => {
                    // With the server's clock, this statement's `now` may
                    // have been read before the holder's insert it waited
                    // on: what is left is then over-counted by that wait.
                    // A lease is never longer than the one asked for here
                    // (replicas share the setting), so clamp to it.
                    let ms = left_ms
                        .and_then(|ms| u64::try_from(ms).ok())
                        .filter(|ms| *ms > 0)
                        .unwrap_or(lease_ms.unsigned_abs())
                        .min(lease_ms.unsigned_abs());
                    Reservation::InFlight {
                        retry_after: Duration::from_millis(ms),
                    }
                }
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
            let query = sqlx::query(&self.inner.sql.commit)
                .bind(db_key(key))
                .bind(db_token(token))
                .bind(ttl_ms(retention))
                .bind(self.now_ms());
            let done = self.run(query.execute(&self.inner.pool)).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a str,
        token: Token,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let query = sqlx::query(&self.inner.sql.release)
                .bind(db_key(key))
                .bind(db_token(token));
            let done = self.run(query.execute(&self.inner.pool)).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn hand_over(
        &self,
        held: &[(String, Token)],
        retention: Duration,
        extensions: &mut http::Extensions,
    ) -> Option<Arc<AtomicBool>> {
        let (handle, committed) = TxCommit::new(Arc::clone(&self.inner), held, retention);
        handle.put(extensions);
        Some(committed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_checked() {
        assert_eq!(
            validate_table("tower_webhook_dedup").unwrap(),
            (
                "tower_webhook_dedup".to_owned(),
                "tower_webhook_dedup_expires_at".to_owned()
            )
        );
        assert_eq!(
            validate_table("billing.Dedup_2").unwrap().1,
            "Dedup_2_expires_at"
        );
        for bad in [
            "",
            ".t",
            "s.",
            "1t",
            "t-1",
            "t;drop",
            "a.b.c",
            "\"t\"",
            "t t",
            "é",
            &"t".repeat(53),
        ] {
            let err = validate_table(bad).unwrap_err().to_string();
            assert!(err.contains("PostgresStoreBuilder::table"), "{bad}: {err}");
        }
        assert!(validate_table(&"t".repeat(52)).is_ok());
    }

    #[test]
    fn keys_without_nul_or_backslash_are_stored_as_they_are() {
        assert!(matches!(db_key("standard:k1:id:evt_1"), Cow::Borrowed(_)));
        assert_eq!(db_key("a\0b"), "a\\0b");
        assert_eq!(db_key("a\\0b"), "a\\\\0b");
        assert_ne!(db_key("a\0"), db_key("a\\0"));
    }

    #[test]
    fn tokens_keep_their_bits_and_ttls_are_clamped() {
        let t = Token::from_u64(u64::MAX);
        assert_eq!(db_token(t), -1);
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::MAX), MAX_TTL_MS);
    }
}
