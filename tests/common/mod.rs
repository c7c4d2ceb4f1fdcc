//! Helpers shared by the behaviour tests.
#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{Service, ServiceExt};
use tower_webhook::clock::ManualClock;
use tower_webhook::dedup::MemoryStore;
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::sign::Signer;
use tower_webhook::{Rejection, WebhookBody, WebhookLayer};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const OTHER_SECRET: &str = "whsec_ZGV2ZWxvcG1lbnQtc2VjcmV0LWRvLW5vdC11c2U=";
pub const NOW: i64 = 1_700_000_000;

pub fn scheme() -> StandardWebhooks {
    StandardWebhooks::new(SECRET).unwrap()
}

/// A clock, a store on that clock, and a layer using both.
pub struct Fixture {
    pub clock: ManualClock,
    pub store: MemoryStore,
    pub layer: WebhookLayer<StandardWebhooks>,
}

pub fn fixture() -> Fixture {
    let clock = ManualClock::at_unix(NOW);
    let store = MemoryStore::builder()
        .capacity(1000)
        .clock(clock.clone())
        .build();
    let layer = WebhookLayer::new(scheme())
        .clock(clock.clone())
        .dedup(store.clone());
    Fixture {
        clock,
        store,
        layer,
    }
}

/// A request signed with [`SECRET`] as event `id`, at `ts` (Unix seconds).
pub fn signed_at(id: &str, ts: i64, body: &str) -> Request<Full<Bytes>> {
    let s = scheme();
    Signer::new(&s)
        .id(id)
        .timestamp(UNIX_EPOCH + Duration::from_secs(ts as u64))
        .request("/webhook", body.to_owned())
        .unwrap()
        .map(Full::new)
}

/// A request signed at [`NOW`].
pub fn signed(id: &str, body: &str) -> Request<Full<Bytes>> {
    signed_at(id, NOW, body)
}

/// A handler that counts its calls and answers `status`.
#[derive(Clone)]
pub struct Counter {
    pub calls: Arc<AtomicUsize>,
    pub status: StatusCode,
}

impl Counter {
    pub fn new(status: StatusCode) -> Self {
        Self {
            calls: Arc::new(AtomicUsize::new(0)),
            status,
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn service(&self) -> CounterService {
        CounterService(self.clone())
    }
}

/// The handler of a [`Counter`].
#[derive(Clone)]
pub struct CounterService(Counter);

impl Service<Request<Full<Bytes>>> for CounterService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<Full<Bytes>>) -> Self::Future {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        let mut r = Response::new(Full::new(Bytes::from_static(b"handled")));
        *r.status_mut() = self.0.status;
        std::future::ready(Ok(r))
    }
}

/// Sends `req` through `layer` around `handler`, returning status, the
/// rejection (if the layer answered) and the body.
pub async fn send<S, B>(
    svc: S,
    req: Request<B>,
) -> (StatusCode, Option<Rejection>, Bytes, http::HeaderMap)
where
    S: Service<Request<B>, Response = Response<WebhookBody<Full<Bytes>>>, Error = Infallible>,
{
    let res = svc.oneshot(req).await.unwrap();
    let status = res.status();
    let rejection = res.extensions().get::<Rejection>().cloned();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, rejection, body, headers)
}

/// The Redis the tests use: `REDIS_URL`, or `redis://127.0.0.1:6379` when it
/// is unset (as in `tests/redis_store.rs`). When nothing answers there:
/// `None`, after a note on stderr saying what was not checked, if
/// `REDIS_URL` is unset; a panic if it is set (the caller asked for that
/// server).
#[cfg(feature = "redis")]
pub async fn redis_url_or_skip(what: &str) -> Option<String> {
    let set = std::env::var("REDIS_URL").ok();
    let url = set
        .clone()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
    let ping = async {
        let client = ::redis::Client::open(url.as_str())?;
        let mut c = client.get_multiplexed_async_connection().await?;
        ::redis::cmd("PING").query_async::<String>(&mut c).await
    };
    let why = match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(_)) => return Some(url),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within 2 s".to_owned(),
    };
    assert!(set.is_none(), "REDIS_URL={url} does not answer: {why}");
    eprintln!(
        "note: no Redis answers at {url} ({why}): {what} NOT checked (set REDIS_URL, or run scripts/ensure-redis.sh)"
    );
    None
}

/// The PostgreSQL the tests use: `POSTGRES_URL`, or
/// `postgres://postgres@127.0.0.1:5432/test` when it is unset.
#[cfg(feature = "postgres")]
pub fn postgres_url() -> String {
    std::env::var("POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// [`postgres_url`] and a small pool on it for the test's own statements.
/// When nothing answers there: `None`, after a note on stderr saying what was
/// not checked, if `POSTGRES_URL` is unset; a panic if it is set.
#[cfg(feature = "postgres")]
pub async fn postgres_or_skip(what: &str) -> Option<(String, sqlx::PgPool)> {
    let set = std::env::var("POSTGRES_URL").is_ok();
    let url = postgres_url();
    let connect = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url);
    let why = match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(pool)) => return Some((url, pool)),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within 5 s".to_owned(),
    };
    assert!(!set, "POSTGRES_URL={url} does not answer: {why}");
    eprintln!(
        "note: no PostgreSQL answers at {url} ({why}): {what} NOT checked (set POSTGRES_URL, or run scripts/ensure-postgres.sh)"
    );
    None
}

/// A table name no other test, run or process uses.
#[cfg(feature = "postgres")]
pub fn unique_table(what: &str) -> String {
    format!(
        "twh_{what}_{:016x}",
        tower_webhook::dedup::Token::generate().as_u64()
    )
}

/// Drops a test's table.
#[cfg(feature = "postgres")]
pub async fn drop_table(pool: &sqlx::PgPool, table: &str) {
    sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
        .execute(pool)
        .await
        .unwrap();
}
