//! PayPal through the layer, against a key server on loopback: the two real
//! vectors of `tests/vectors/published-keys.md` (5.3; bodies and
//! certificate from `published-keys/`, kept unchanged), their negatives,
//! the URL policy checked before any connection, the certificate's expiry
//! on the layer's clock, and a test sender.

#![cfg(feature = "paypal")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod keyserver;

use bytes::Bytes;
use common::{Counter, send};
use http::{Request, StatusCode};
use http_body_util::Full;
use keyserver::{KeyServer, RSA_KEY};
use tower::Layer;
use tower_webhook::clock::ManualClock;
use tower_webhook::dedup::MemoryStore;
use tower_webhook::keys::{CacheSettings, CertificateTrust, UrlPolicy};
use tower_webhook::scheme::{PayPal, VerifyError};
use tower_webhook::sign::Signer;
use tower_webhook::{Rejection, WebhookLayer};

const HOST: &str = "api.sandbox.paypal.com";
const CERT_PATH: &str = "/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77";
/// 2015-05-18T14:40:00Z: the certificate is valid (2015-03-18 to 2017-03-22).
const MAY_2015: i64 = 1_431_960_000;

struct Vector {
    id: &'static str,
    time: &'static str,
    webhook: &'static str,
    body_file: &'static str,
    sig: &'static str,
}

const P1: Vector = Vector {
    id: "dfb3be50-fd74-11e4-8bf3-77339302725b",
    time: "2015-05-18T15:45:13Z",
    webhook: "4JH86294D6297924G",
    body_file: "pp_node_body.json",
    sig: "thy4/U002quzxFavHPwbfJGcc46E8rc5jzgyeafWm5mICTBdY/8rl7WJpn8JA0GKA+oDTPsSruqusw+XXg5RLAP7ip53Euh9Xu3UbUhQFX7UgwzE2FeYoY6lyRMiiiQLzy9BvHfIzNIVhPad4KnC339dr6y2l+mN8ALgI4GCdIh3/SoJO5wE64Bh/ueWtt8EVuvsvXfda2Le5a2TrOI9vLEzsm9GS79hAR/5oLexNz8UiZr045Mr5ObroH4w4oNfmkTaDk9Rj0G19uvISs5QzgmBpauKr7Nw++JI0pr/v5mFctQkoWJSGfBGzPRXawrvIIVHQ9Wer48GR2g9ZiApWg==",
};

const P2: Vector = Vector {
    id: "b2384410-f8d2-11e4-8bf3-77339302725b",
    time: "2015-05-12T18:14:14Z",
    webhook: "3RN13029J36659323",
    body_file: "pp_java_old_body.json",
    sig: "vSOIQFIZQHv8G2vpbOpD/4fSC4/MYhdHyv+AmgJyeJQq6q5avWyHIe/zL6qO5hle192HSqKbYveLoFXGJun2od2zXN3Q45VBXwdX3woXYGaNq532flAtiYin+tQ/0pNwRDsVIufCxa3a8HskaXy+YEfXNnwCSL287esD3HgOHmuAs0mYKQdbR4e8Evk8XOOQaZzGeV7GNXXz19gzzvyHbsbHmDz5VoRl9so5OoHqvnc5RtgjZfG8KA9lXh2MTPSbtdTLQb9ikKYnOGM+FasFMxk5stJisgmxaefpO9Q1qm3rCjaJ29aAOyDNr3Q7WkeN3w4bSXtFMwyRBOF28pJg9g==",
};

fn fixture(name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/published-keys");
    std::fs::read(dir.join(name)).unwrap()
}

fn request(v: &Vector, algo: &str, cert_url: &str, body: Vec<u8>) -> Request<Full<Bytes>> {
    Request::post("/paypal")
        .header("PAYPAL-TRANSMISSION-ID", v.id)
        .header("PAYPAL-TRANSMISSION-TIME", v.time)
        .header("PAYPAL-TRANSMISSION-SIG", v.sig)
        .header("PAYPAL-CERT-URL", cert_url)
        .header("PAYPAL-AUTH-ALGO", algo)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

async fn server() -> KeyServer {
    let server = KeyServer::start(&[HOST]).await;
    server.route(CERT_PATH, 200, fixture("pp_node_cert.pem"));
    server
}

/// The receiver: the certificate's chain checked against the DigiCert root
/// and intermediate PayPal's Python SDK bundles (`root.pem`, `int.pem`,
/// kept unchanged), and the test CA of `server`.
fn paypal(server: &KeyServer, webhook: &str) -> PayPal {
    let roots = format!(
        "{}\n{}",
        String::from_utf8(fixture("root.pem")).unwrap(),
        server.ca_pem
    );
    let intermediates = String::from_utf8(fixture("int.pem")).unwrap();
    PayPal::new(webhook)
        .unwrap()
        .fetch_with(
            server.client(),
            UrlPolicy::paypal(),
            CacheSettings::default(),
        )
        .certificate_trust(
            CertificateTrust::paypal()
                .root_certificates(&roots)
                .unwrap()
                .intermediates(&intermediates)
                .unwrap(),
        )
}

#[tokio::test]
async fn both_real_vectors_verify_and_their_negatives_are_refused() {
    let server = server().await;
    let url = format!("https://{HOST}{CERT_PATH}");
    for v in [P1, P2] {
        let handler = Counter::new(StatusCode::NO_CONTENT);
        let clock = ManualClock::at_unix(MAY_2015);
        let svc = WebhookLayer::new(paypal(&server, v.webhook))
            .clock(clock.clone())
            .dedup(MemoryStore::new())
            .layer(handler.service());
        let body = fixture(v.body_file);
        let (status, rejection, _, _) = send(
            svc.clone(),
            request(&v, "SHA256withRSA", &url, body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{}: {rejection:?}", v.id);
        let mut changed = body.clone();
        changed[10] ^= 1;
        let other_webhook = WebhookLayer::new(paypal(&server, "WEBHOOK_ID"))
            .clock(clock.clone())
            .layer(handler.service());
        for (what, status) in [
            (
                "SHA1withRSA",
                send(svc.clone(), request(&v, "SHA1withRSA", &url, body.clone()))
                    .await
                    .0,
            ),
            (
                "unknown algo",
                send(
                    svc.clone(),
                    request(&v, "SHA512withECDSA", &url, body.clone()),
                )
                .await
                .0,
            ),
            (
                "body changed",
                send(svc.clone(), request(&v, "SHA256withRSA", &url, changed))
                    .await
                    .0,
            ),
            (
                "other webhook id",
                send(
                    other_webhook,
                    request(&v, "SHA256withRSA", &url, body.clone()),
                )
                .await
                .0,
            ),
        ] {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{}: {what}", v.id);
        }
        // The same delivery again: a duplicate, not a second run.
        let (status, _, _, _) = send(
            svc.clone(),
            request(&v, "SHA256withRSA", &url, body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(handler.calls(), 1);
        // Today the certificate has expired.
        clock.advance(std::time::Duration::from_secs(3 * 365 * 86_400));
        let (status, rejection, _, _) = send(svc, request(&v, "SHA256withRSA", &url, body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(matches!(
            rejection,
            Some(Rejection::Unverified(VerifyError::KeyRefused { .. }))
        ));
    }
    // Per vector: one fetch serves the receiver's deliveries, one for the
    // layer with another webhook id (its own cache), one once the hour's TTL
    // has passed (the expired certificate is fetched again, then refused).
    assert_eq!(server.hits(CERT_PATH), 6);
}

#[tokio::test]
async fn cert_urls_outside_the_policy_are_refused_without_a_connection() {
    let server = server().await;
    let svc = WebhookLayer::new(paypal(&server, P1.webhook))
        .clock(ManualClock::at_unix(MAY_2015))
        .layer(Counter::new(StatusCode::NO_CONTENT).service());
    for url in [
        format!("http://{HOST}{CERT_PATH}"),
        format!("https://{HOST}/v1/other/CERT-360caa42-fca2a594-a5cafa77"),
        format!("https://paypal.com.evil.example{CERT_PATH}"),
        format!("https://evilpaypal.com{CERT_PATH}"),
    ] {
        let (status, rejection, _, _) = send(
            svc.clone(),
            request(&P1, "SHA256withRSA", &url, fixture(P1.body_file)),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{url}");
        assert!(
            matches!(
                rejection,
                Some(Rejection::Unverified(VerifyError::KeyRefused { .. }))
            ),
            "{rejection:?}"
        );
    }
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn a_test_sender_signs_and_a_forged_body_under_a_seen_transmission_is_a_duplicate() {
    let server = server().await;
    let path = "/v1/notifications/certs/CERT-test";
    server.route(
        path,
        200,
        server.signing_certificate_for("messageverificationcerts.sandbox.paypal.com", 2020, 2030),
    );
    let sender = PayPal::new("WH-TEST")
        .unwrap()
        .signing_key(RSA_KEY, &format!("https://{HOST}{path}"))
        .unwrap();
    let handler = Counter::new(StatusCode::NO_CONTENT);
    let svc = WebhookLayer::new(paypal(&server, "WH-TEST"))
        .clock(ManualClock::at_unix(1_700_000_000))
        .dedup(MemoryStore::new())
        .layer(handler.service());
    let body = r#"{"id":"WH-1","event_type":"PAYMENT.SALE.COMPLETED"}"#;
    let signed = Signer::new(&sender)
        .id("tx-1")
        .timestamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
        .request("/paypal", body)
        .unwrap();
    let (status, rejection, _, _) = send(svc.clone(), signed.clone().map(Full::new)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{rejection:?}");
    assert_eq!(handler.calls(), 1);
    assert_eq!(server.hits(path), 1);
    // Another body with the same CRC-32 (another event id, four bytes
    // chosen to force the CRC: PayPal signs only the CRC of the body) under
    // the captured headers: it verifies, and is a duplicate of the
    // transmission, never a second run.
    let forged = bytes_from_hex(
        "7b226964223a2257482d363636222c226576656e745f74797065223a225041594d454e542e53414c452e434f4d504c45544544227d20e40206d4",
    );
    assert_eq!(crc32(&forged), crc32(body.as_bytes()));
    let (head, _) = signed.into_parts();
    let replay = Request::from_parts(head, Full::new(Bytes::from(forged)));
    let (status, rejection, _, _) = send(svc.clone(), replay).await;
    assert_eq!(status, StatusCode::OK, "{rejection:?}");
    assert!(
        matches!(rejection, Some(Rejection::Duplicate { .. })),
        "{rejection:?}"
    );
    assert_eq!(
        handler.calls(),
        1,
        "the forged body never reaches the handler"
    );
}

fn bytes_from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// CRC-32 (IEEE), bit by bit: the test's own, not the crate's.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_or_for_another_name_is_refused() {
    let server = server().await;
    let handler = Counter::new(StatusCode::NO_CONTENT);
    let svc = WebhookLayer::new(paypal(&server, "WH-TEST"))
        .clock(ManualClock::at_unix(1_700_000_000))
        .layer(handler.service());
    let cases = [
        (
            "/v1/notifications/certs/CERT-untrusted",
            server.untrusted_certificate("messageverificationcerts.paypal.com", 2020, 2030),
            "chain",
        ),
        (
            "/v1/notifications/certs/CERT-other-name",
            server.signing_certificate_for("sns.amazonaws.com", 2020, 2030),
            "name",
        ),
    ];
    for (path, pem, why) in cases {
        server.route(path, 200, pem);
        let sender = PayPal::new("WH-TEST")
            .unwrap()
            .signing_key(RSA_KEY, &format!("https://{HOST}{path}"))
            .unwrap();
        let signed = Signer::new(&sender)
            .id(path.rsplit('/').next().unwrap())
            .timestamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
            .request("/paypal", r#"{"id":"WH-2"}"#)
            .unwrap();
        let (status, rejection, _, _) = send(svc.clone(), signed.map(Full::new)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        match rejection {
            Some(Rejection::Unverified(VerifyError::KeyRefused { reason, .. })) => {
                assert!(reason.contains(why), "{path}: {reason}")
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    assert_eq!(handler.calls(), 0);
}
