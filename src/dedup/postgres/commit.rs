//! [`TxCommit`]: the delivery's reservation, committed inside the handler's
//! own transaction.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::Extensions;
use sqlx::{Postgres, Transaction};

use super::{Inner, db_key, db_token, run_bounded, ttl_ms};
use crate::clock::unix_millis;
use crate::dedup::{StoreError, Token};

/// The reservation of the delivery being handled, to commit inside the
/// handler's own transaction (feature `postgres`, with
/// [`PostgresStore`](super::PostgresStore)).
///
/// The layer puts one in the request's extensions before it calls the
/// handler. Commit it in the transaction that holds the handler's writes,
/// before that transaction commits: the dedup record and the writes then
/// land together or not at all, so the event's effects happen exactly once.
///
/// - The layer does not commit again when the handler answers 2xx.
/// - If the transaction rolls back, or the process dies before it commits,
///   the reservation is still a reservation: the layer releases it when the
///   handler answers anything but 2xx, panics or is cancelled (a release
///   never undoes a committed record), or its lease runs out; the sender's
///   retry is processed.
/// - Committing twice does not compile ([`commit_in`](Self::commit_in)
///   takes the handle), and the handle is handed out once.
/// - Committing in a transaction on another database fails with
///   [`TxCommitError::WrongDatabase`] (or [`TxCommitError::NotHeld`]): the
///   statement only marks rows that hold this delivery's own tokens.
/// - A handler slower than the lease, whose key was taken over by a retry,
///   gets [`TxCommitError::NotHeld`]: roll back, the retry does the work.
///
/// While the transaction is open after `commit_in`, the row is locked: a
/// copy of the delivery arriving then waits for it (within the store's
/// timeout), then answers 200. Keep the transaction short.
///
/// With axum, extract it (feature `axum`):
///
#[cfg_attr(feature = "axum", doc = "```no_run")]
#[cfg_attr(not(feature = "axum"), doc = "```ignore")]
/// use axum::{extract::State, http::StatusCode, Router};
/// use tower_webhook::{dedup::{PostgresStore, TxCommit}, scheme::StandardWebhooks, Verified, WebhookLayer};
///
/// async fn handle(
///     State(db): State<sqlx::PgPool>,
///     commit: TxCommit,
///     Verified(event, _): Verified<serde_json::Value>,
/// ) -> Result<StatusCode, StatusCode> {
///     let fail = |_| StatusCode::SERVICE_UNAVAILABLE;
///     let mut tx = db.begin().await.map_err(fail)?;
///     sqlx::query("INSERT INTO payments (event) VALUES ($1)")
///         .bind(event.to_string())
///         .execute(&mut *tx)
///         .await
///         .map_err(fail)?;
///     commit.commit_in(&mut tx).await.map_err(|_| StatusCode::CONFLICT)?;
///     tx.commit().await.map_err(fail)?;
///     Ok(StatusCode::NO_CONTENT)
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::connect("postgres://app@127.0.0.1/app").await?;
/// store.migrate().await?;
/// let db = store.pool().clone();
/// let layer = WebhookLayer::new(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?).dedup(store);
/// let app: Router = Router::new()
///     .route("/webhook", tower_webhook::endpoint(layer, handle))
///     .with_state(db);
/// # Ok(()) }
/// ```
///
/// Without axum, take it from the request: [`TxCommit::take`].
pub struct TxCommit {
    store: Arc<Inner>,
    held: Vec<(String, Token)>,
    retention: Duration,
    committed: Arc<AtomicBool>,
}

impl fmt::Debug for TxCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxCommit")
            .field("table", &self.store.table)
            .field(
                "keys",
                &self.held.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

/// Why [`TxCommit::commit_in`] did not commit. Roll the transaction back:
/// the layer then releases the reservation (or its lease runs out) and the
/// sender's retry is processed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TxCommitError {
    /// The transaction is on another database than the store's.
    #[error(
        "TxCommit::commit_in: the transaction is on database {found:?}, but the delivery was reserved in {expected:?}, the PostgresStore's database: begin the transaction on the store's database"
    )]
    WrongDatabase {
        /// The store's database.
        expected: String,
        /// The transaction's.
        found: String,
    },
    /// This delivery's tokens no longer hold its keys: the lease ran out
    /// and a retry took the key over (or the expired row was swept), or the
    /// transaction is on another server whose database has the same name.
    #[error(
        "TxCommit::commit_in: {held} of {keys} dedup keys of this delivery are still reserved for it in table {table} (its lease ran out and a retry took over, or this is another database): roll back, the retry is processed"
    )]
    NotHeld {
        /// The store's table.
        table: String,
        /// How many keys the delivery has.
        keys: usize,
        /// How many of them it still held.
        held: usize,
    },
    /// The statement failed (the table is missing, the connection broke,
    /// the transaction was aborted by an earlier error, ...).
    #[error("TxCommit::commit_in: {0}")]
    Store(#[from] StoreError),
}

impl TxCommit {
    pub(super) fn new(
        store: Arc<Inner>,
        held: &[(String, Token)],
        retention: Duration,
    ) -> (Self, Arc<AtomicBool>) {
        let committed = Arc::new(AtomicBool::new(false));
        let handle = Self {
            store,
            held: held.to_vec(),
            retention,
            committed: Arc::clone(&committed),
        };
        (handle, committed)
    }

    /// Puts the handle into `extensions`, to be taken once.
    pub(super) fn put(self, extensions: &mut Extensions) {
        extensions.insert(TxSlot(Arc::new(Mutex::new(Some(self)))));
    }

    /// Takes the handle out of the request's extensions: `None` when the
    /// layer's store is not a [`PostgresStore`](super::PostgresStore),
    /// dedup is off for this delivery, or it was taken already.
    ///
    /// ```
    /// let mut request = http::Request::new(());
    /// assert!(tower_webhook::dedup::TxCommit::take(request.extensions_mut()).is_none());
    /// ```
    pub fn take(extensions: &mut Extensions) -> Option<Self> {
        let slot = extensions.remove::<TxSlot>()?;
        slot.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// The delivery's dedup keys, as the layer made them.
    ///
    /// ```
    /// fn log(commit: &tower_webhook::dedup::TxCommit) {
    ///     for key in commit.keys() {
    ///         println!("committing {key}");
    ///     }
    /// }
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.held.iter().map(|(k, _)| k.as_str())
    }

    /// Commits the delivery in `tx`: one statement that marks its keys done
    /// for their retention, only where this delivery's tokens still hold
    /// them, and checks the database. Call it before `tx.commit()`, in the
    /// transaction that holds the handler's writes; the record is durable
    /// when (and only if) `tx` commits. If the transaction runs with
    /// `synchronous_commit = off` (the store's own pool does), it is set to
    /// `on` for this transaction, in the same statement: the handler's
    /// effects are answered 2xx only once they are on disk.
    ///
    /// Bounded by the store's timeout. On an error, roll `tx` back (drop it)
    /// and answer a non-2xx status: the sender retries.
    ///
    /// It takes the handle: a second commit does not compile.
    ///
    /// ```compile_fail
    /// # async fn handle(db: sqlx::PgPool, commit: tower_webhook::dedup::TxCommit) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut tx = db.begin().await?;
    /// commit.commit_in(&mut tx).await?;
    /// commit.commit_in(&mut tx).await?; // error[E0382]: use of moved value
    /// # Ok(()) }
    /// ```
    ///
    /// ```no_run
    /// # async fn handle(db: sqlx::PgPool, commit: tower_webhook::dedup::TxCommit) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut tx = db.begin().await?;
    /// sqlx::query("UPDATE accounts SET paid = true WHERE id = 1").execute(&mut *tx).await?;
    /// commit.commit_in(&mut tx).await?;
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn commit_in(self, tx: &mut Transaction<'_, Postgres>) -> Result<(), TxCommitError> {
        let store = &*self.store;
        let (keys, tokens): (Vec<String>, Vec<i64>) = self
            .held
            .iter()
            .map(|(k, t)| (db_key(k).into_owned(), db_token(*t)))
            .unzip();
        let now = store.clock.as_ref().map(|c| unix_millis(c.now()));
        let query = sqlx::query_as::<_, (i64, String, Option<String>)>(&store.sql.commit_in)
            .bind(keys)
            .bind(tokens)
            .bind(ttl_ms(self.retention))
            .bind(now);
        let (done, database, _) = run_bounded(store.timeout, query.fetch_one(&mut **tx)).await?;
        let held = usize::try_from(done).unwrap_or(0);
        if held == self.held.len() {
            // From here on the layer leaves the keys to this transaction.
            self.committed.store(true, Ordering::Release);
            return Ok(());
        }
        match store.database.get() {
            Some(expected) if *expected != database => Err(TxCommitError::WrongDatabase {
                expected: expected.clone(),
                found: database,
            }),
            _ => Err(TxCommitError::NotHeld {
                table: store.table.clone(),
                keys: self.held.len(),
                held,
            }),
        }
    }
}

/// Extensions need `Clone`; a [`TxCommit`] must not be. The slot is
/// cloneable and hands the handle out once.
#[derive(Clone)]
struct TxSlot(Arc<Mutex<Option<TxCommit>>>);

#[cfg(feature = "axum")]
pub use self::axum_impl::MissingTxCommit;

#[cfg(feature = "axum")]
mod axum_impl {
    use axum::extract::FromRequestParts;
    use axum::response::{IntoResponse, Response};
    use http::StatusCode;
    use http::request::Parts;

    use super::TxCommit;

    /// The [`TxCommit`] extractor found no handle: the layer on this route
    /// has no [`PostgresStore`](crate::dedup::PostgresStore) (or dedup is
    /// off), or the handle was extracted already. Answers 500: a wiring bug,
    /// never a client error.
    ///
    /// ```
    /// let text = tower_webhook::dedup::MissingTxCommit::default().to_string();
    /// assert!(text.contains("PostgresStore"));
    /// ```
    #[derive(Debug, Clone, Default, thiserror::Error)]
    #[error(
        "tower-webhook: no TxCommit in the request: give this route's WebhookLayer a PostgresStore (`.dedup(store)`), keep dedup on, and extract TxCommit once"
    )]
    #[non_exhaustive]
    pub struct MissingTxCommit;

    impl MissingTxCommit {
        /// 500: a wiring bug.
        ///
        /// ```
        /// assert_eq!(tower_webhook::dedup::MissingTxCommit::default().status(), 500);
        /// ```
        pub fn status(&self) -> StatusCode {
            StatusCode::INTERNAL_SERVER_ERROR
        }

        /// A short message for the response body; the log says the fix.
        ///
        /// ```
        /// assert_eq!(tower_webhook::dedup::MissingTxCommit::default().message(), "webhook layer misconfigured");
        /// ```
        pub fn message(&self) -> &'static str {
            "webhook layer misconfigured"
        }
    }

    impl IntoResponse for MissingTxCommit {
        fn into_response(self) -> Response {
            tracing::error!(error = %self, "TxCommit extractor without a PostgresStore");
            (self.status(), self.message()).into_response()
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for TxCommit {
        type Rejection = MissingTxCommit;

        async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
            TxCommit::take(&mut parts.extensions).ok_or(MissingTxCommit)
        }
    }
}
