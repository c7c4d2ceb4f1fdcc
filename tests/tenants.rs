//! Per-tenant keys: a resolver picks each request's scheme; tenants never
//! share secrets or dedup ids.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use common::*;
use http::{Request, StatusCode};
use http_body_util::Full;
use tower::Layer;
use tower_webhook::resolver::{MAX_TENANT_LEN, ResolveError, TenantKeys};
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::sign::Signer;
use tower_webhook::{Rejection, WebhookLayer};

fn layer(lookups: Arc<AtomicUsize>, f: &Fixture) -> WebhookLayer<StandardWebhooks> {
    layer_with(lookups, f, |keys| keys)
}

fn layer_with(
    lookups: Arc<AtomicUsize>,
    f: &Fixture,
    tune: impl FnOnce(TenantKeys<StandardWebhooks>) -> TenantKeys<StandardWebhooks>,
) -> WebhookLayer<StandardWebhooks> {
    let keys = TenantKeys::new(
        |head| head.uri.path().strip_prefix("/hooks/").map(str::to_owned),
        move |tenant: String| {
            lookups.fetch_add(1, Ordering::SeqCst);
            async move {
                let secret = match tenant.as_str() {
                    "acme" => SECRET,
                    "globex" => OTHER_SECRET,
                    "flaky" => return Err("secrets backend timed out"),
                    _ => return Ok(None),
                };
                Ok(Some(StandardWebhooks::new(secret).unwrap()))
            }
        },
    )
    .clock(f.clock.clone());
    WebhookLayer::with_resolver(tune(keys))
        .clock(f.clock.clone())
        .dedup(f.store.clone())
}

fn signed_for(path: &str, secret: &str, id: &str) -> Request<Full<Bytes>> {
    let s = StandardWebhooks::new(secret).unwrap();
    Signer::new(&s)
        .id(id)
        .timestamp(UNIX_EPOCH + Duration::from_secs(NOW as u64))
        .request(path, "{}")
        .unwrap()
        .map(Full::new)
}

#[tokio::test]
async fn each_tenant_verifies_with_its_own_secret() {
    let f = fixture();
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = layer(lookups.clone(), &f);
    let h = Counter::new(StatusCode::OK);
    let ok = send(
        layer.layer(h.service()),
        signed_for("/hooks/acme", SECRET, "evt_1"),
    )
    .await;
    assert_eq!(ok.0, StatusCode::OK);
    let ok = send(
        layer.layer(h.service()),
        signed_for("/hooks/globex", OTHER_SECRET, "evt_1"),
    )
    .await;
    assert_eq!(ok.0, StatusCode::OK, "same id, other tenant: processed");
    // acme's secret does not open globex's endpoint.
    let cross = send(
        layer.layer(h.service()),
        signed_for("/hooks/globex", SECRET, "evt_2"),
    )
    .await;
    assert_eq!(cross.0, StatusCode::UNAUTHORIZED);
    // Duplicate within one tenant.
    let dup = send(
        layer.layer(h.service()),
        signed_for("/hooks/acme", SECRET, "evt_1"),
    )
    .await;
    assert_eq!(dup.0, StatusCode::OK);
    assert!(matches!(dup.1, Some(Rejection::Duplicate { .. })));
    assert_eq!(h.calls(), 2);
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        2,
        "one lookup per tenant, then cached"
    );
}

#[tokio::test]
async fn unknown_tenant_is_401_and_failed_lookup_is_503() {
    let f = fixture();
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = layer(lookups.clone(), &f);
    let h = Counter::new(StatusCode::OK);
    let (status, rejection, ..) = send(
        layer.layer(h.service()),
        signed_for("/hooks/initech", SECRET, "e"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        rejection,
        Some(Rejection::Tenant(ResolveError::UnknownTenant(
            "initech".into()
        )))
    );
    let (status, rejection, _, headers) = send(
        layer.layer(h.service()),
        signed_for("/hooks/flaky", SECRET, "e"),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "5");
    assert!(matches!(
        rejection,
        Some(Rejection::Tenant(ResolveError::Unavailable(_)))
    ));
    let (status, rejection, ..) = send(
        layer.layer(h.service()),
        signed_for("/elsewhere", SECRET, "e"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(rejection, Some(Rejection::Tenant(ResolveError::NoTenant)));
    // Refusals that need no keys do not cost a lookup.
    let before = lookups.load(Ordering::SeqCst);
    let mut put = signed_for("/hooks/acme", SECRET, "e");
    *put.method_mut() = http::Method::PUT;
    assert_eq!(
        send(layer.layer(h.service()), put).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let mut big = signed_for("/hooks/acme", SECRET, "e");
    big.headers_mut()
        .insert("content-length", "999999999".parse().unwrap());
    assert_eq!(
        send(layer.layer(h.service()), big).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(lookups.load(Ordering::SeqCst), before);
    assert_eq!(h.calls(), 0);
    assert!(f.store.is_empty());
}

#[tokio::test]
async fn overlong_and_empty_tenant_names_are_refused_without_a_lookup() {
    let f = fixture();
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = layer(lookups.clone(), &f);
    let h = Counter::new(StatusCode::OK);
    let long = "a".repeat(MAX_TENANT_LEN + 1);
    let (status, rejection, ..) = send(
        layer.layer(h.service()),
        signed_for(&format!("/hooks/{long}"), SECRET, "e"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        rejection,
        Some(Rejection::Tenant(ResolveError::TenantTooLong {
            len: MAX_TENANT_LEN + 1,
            max: MAX_TENANT_LEN,
        }))
    );
    let (status, rejection, ..) =
        send(layer.layer(h.service()), signed_for("/hooks/", SECRET, "e")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(rejection, Some(Rejection::Tenant(ResolveError::NoTenant)));
    assert_eq!(lookups.load(Ordering::SeqCst), 0);
    assert_eq!(h.calls(), 0);
    assert!(f.store.is_empty());
}

#[tokio::test]
async fn made_up_tenants_do_not_evict_a_real_one() {
    let f = fixture();
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = layer_with(lookups.clone(), &f, |keys| {
        keys.capacity(2).negative_capacity(2)
    });
    let h = Counter::new(StatusCode::OK);
    let ok = send(
        layer.layer(h.service()),
        signed_for("/hooks/acme", SECRET, "evt_1"),
    )
    .await;
    assert_eq!(ok.0, StatusCode::OK);
    for i in 0..40 {
        let (status, ..) = send(
            layer.layer(h.service()),
            signed_for(&format!("/hooks/junk-{i}"), SECRET, "e"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let before = lookups.load(Ordering::SeqCst);
    assert_eq!(before, 41);
    let ok = send(
        layer.layer(h.service()),
        signed_for("/hooks/acme", SECRET, "evt_2"),
    )
    .await;
    assert_eq!(ok.0, StatusCode::OK);
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        before,
        "acme is still cached after the flood"
    );
    assert_eq!(h.calls(), 2);
}

#[tokio::test]
async fn the_delivery_names_its_tenant() {
    let f = fixture();
    let layer = layer(Arc::new(AtomicUsize::new(0)), &f);
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = seen.clone();
    let handler = tower::service_fn(move |req: Request<Full<Bytes>>| {
        let s = s.clone();
        async move {
            let d = req.extensions().get::<tower_webhook::Delivery>().cloned();
            *s.lock().unwrap() = d.and_then(|d| d.tenant);
            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
        }
    });
    let ok = send(
        layer.layer(handler),
        signed_for("/hooks/globex", OTHER_SECRET, "evt_t"),
    )
    .await;
    assert_eq!(ok.0, StatusCode::OK);
    assert_eq!(seen.lock().unwrap().as_deref(), Some("globex"));
}
