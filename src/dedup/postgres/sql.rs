//! The statements of [`PostgresStore`](super::PostgresStore), written once
//! per table when the store is built.
//!
//! Every statement is one round trip. "Now" is the `now` CTE: the store's
//! clock when it has one (Unix milliseconds in a parameter), else the
//! server's `clock_timestamp()` (the time the statement runs, not the start
//! of its transaction as `now()` would be). Durations are milliseconds.

use std::fmt::Write as _;

/// The expression of "now", from the parameter `$n` (NULL: the server's clock).
fn now_cte(n: u8) -> String {
    format!(
        "WITH now AS (SELECT COALESCE('epoch'::timestamptz + ${n}::bigint * interval '1 millisecond', clock_timestamp()) AS t)"
    )
}

/// The statements for one table.
#[derive(Debug)]
pub(super) struct Statements {
    pub(super) create_table: String,
    pub(super) create_index: String,
    pub(super) reserve: String,
    pub(super) commit: String,
    pub(super) release: String,
    pub(super) sweep: String,
    pub(super) commit_in: String,
}

impl Statements {
    /// `table` is a validated (possibly schema-qualified) identifier and
    /// `index` the name of its expiry index (unqualified).
    pub(super) fn new(table: &str, index: &str) -> Self {
        let mut create_table = String::new();
        let _ = write!(
            create_table,
            "CREATE TABLE IF NOT EXISTS {table} (\
             key text PRIMARY KEY, \
             token bigint, \
             expires_at timestamptz NOT NULL)"
        );
        Self {
            create_table,
            create_index: format!("CREATE INDEX IF NOT EXISTS {index} ON {table} (expires_at)"),
            // $1 key, $2 token, $3 lease, $4 retention, $5 now.
            // A row whose time ran out is taken over; a done row (token
            // NULL) is kept at least the retention from now; a live
            // reservation is left as it is. Answers the holder (NULL: done)
            // and the milliseconds left.
            reserve: format!(
                "{now} \
                 INSERT INTO {table} AS d (key, token, expires_at) \
                 SELECT $1, $2, now.t + $3::bigint * interval '1 millisecond' FROM now \
                 ON CONFLICT (key) DO UPDATE SET \
                   token = CASE WHEN d.expires_at <= (SELECT t FROM now) THEN excluded.token ELSE d.token END, \
                   expires_at = CASE \
                     WHEN d.expires_at <= (SELECT t FROM now) THEN excluded.expires_at \
                     WHEN d.token IS NULL THEN greatest(d.expires_at, (SELECT t FROM now) + $4::bigint * interval '1 millisecond') \
                     ELSE d.expires_at END \
                 RETURNING d.token, \
                   ceil(extract(epoch FROM d.expires_at - (SELECT t FROM now)) * 1000)::bigint, \
                   current_database()",
                now = now_cte(5)
            ),
            // $1 key, $2 token, $3 retention, $4 now. Done when the token
            // holds the key, or when nothing live does.
            commit: format!(
                "{now} \
                 INSERT INTO {table} AS d (key, token, expires_at) \
                 SELECT $1, NULL, now.t + $3::bigint * interval '1 millisecond' FROM now \
                 ON CONFLICT (key) DO UPDATE SET token = NULL, expires_at = excluded.expires_at \
                 WHERE d.token = $2 OR d.expires_at <= (SELECT t FROM now)",
                now = now_cte(4)
            ),
            // $1 key, $2 token. A done row has no token: never deleted here.
            release: format!("DELETE FROM {table} WHERE key = $1 AND token = $2"),
            // $1 batch, $2 now. The oldest expired rows, by the expiry index,
            // skipping rows a transaction holds; the expiry is checked again
            // on the row as it is when deleted (a reservation may have taken
            // it over meanwhile).
            sweep: format!(
                "{now} \
                 DELETE FROM {table} AS d \
                 WHERE d.key = ANY (ARRAY(\
                   SELECT s.key FROM {table} AS s \
                   WHERE s.expires_at <= (SELECT t FROM now) \
                   ORDER BY s.expires_at LIMIT $1 \
                   FOR UPDATE OF s SKIP LOCKED)) \
                 AND d.expires_at <= (SELECT t FROM now)",
                now = now_cte(2)
            ),
            // $1 keys, $2 their tokens, $3 retention, $4 now. Done only where
            // the token still holds the key; answers how many, and the
            // database it ran in. A transaction on the store's own pool
            // (`synchronous_commit = off`) is made to wait for the disk when
            // it commits: its writes are the event's effects.
            commit_in: format!(
                "{now}, \
                 done AS (\
                   UPDATE {table} AS d \
                   SET token = NULL, expires_at = (SELECT t FROM now) + $3::bigint * interval '1 millisecond' \
                   FROM unnest($1::text[], $2::bigint[]) AS h(key, token) \
                   WHERE d.key = h.key AND d.token = h.token \
                   RETURNING d.key) \
                 SELECT (SELECT count(*) FROM done), current_database(), \
                   CASE WHEN current_setting('synchronous_commit') = 'off' \
                     THEN set_config('synchronous_commit', 'on', true) END",
                now = now_cte(4)
            ),
        }
    }
}
