//! Handshakes are never oracles, over a real TCP socket.
//!
//! The attacker holds one captured delivery (or none) and can send anything
//! else. Whatever the layer answers by itself (an endpoint handshake) must
//! never be usable as a signature, and a signed handshake message must never
//! reach the handler under another, unsigned, label. Each test plays the
//! attack end to end against an axum app served on 127.0.0.1, with raw
//! HTTP/1.1 requests, and computes what it expects with the `hmac` crate
//! directly. See SECURITY.md, "Handshakes are never oracles".

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::StatusCode;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower_webhook::WebhookLayer;
use tower_webhook::scheme::{LinkedIn, Scheme, Sign, Twitch, Zoom};
use tower_webhook::sign::Signer;

const LI_SECRET: &str = "li-client-secret";
const ZOOM_SECRET: &str = "zoom-secret-token";
const TWITCH_SECRET: &str = "eventsub-secret";
const UUID: &str = "890e4665-4dfe-4ab1-b689-ed553bceeed0";
const NO_HEADERS: &[(&str, String)] = &[];

/// Hex HMAC-SHA256 of the concatenated `parts`, without the crate.
fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serves `scheme` on `/webhook` (every method reaches the layer) in front
/// of a handler that counts its calls and answers 204.
async fn serve<S: Scheme + Clone>(scheme: S) -> (SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    // The documented wiring: every method reaches the layer.
    let app = Router::new().route(
        "/webhook",
        tower_webhook::endpoint(WebhookLayer::new(scheme), move || {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, calls)
}

/// A response as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one raw HTTP/1.1 request (`connection: close`) and reads the whole
/// answer.
async fn exchange(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(impl AsRef<str>, String)],
    body: &[u8],
) -> Answer {
    let mut wire =
        format!("{method} {target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for (n, v) in headers {
        wire.push_str(&format!("{}: {v}\r\n", n.as_ref()));
    }
    wire.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(wire.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("the server answers and closes")
        .unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    let mut answer = Answer {
        status,
        head,
        body: Bytes::copy_from_slice(&raw[split + 4..]),
    };
    if let Some(n) = answer.header("content-length") {
        let n: usize = n.parse().unwrap();
        answer.body.truncate(n);
    }
    answer
}

/// The headers a `Signer` wrote over `body`.
fn signed_headers<S: Sign + ?Sized>(signer: &Signer<'_, S>, body: &str) -> Vec<(String, String)> {
    let request = signer.request("/webhook", body.to_owned()).unwrap();
    request
        .headers()
        .iter()
        .filter(|(n, _)| *n != "content-length")
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// LinkedIn

/// `GET ?challengeCode=<anything>` used to answer `hex(HMAC(clientSecret,
/// <anything>))`, which is a valid `X-LI-Signature` for the body
/// `<anything>` (bare-body reading) or, asking for `hmacsha256=<body>`, for
/// `<body>` (prefixed-body reading). Only UUID codes are answered now, and a
/// body that is a UUID is refused.
#[tokio::test]
async fn linkedin_challenge_answers_are_never_signatures() {
    let (addr, calls) = serve(LinkedIn::new(LI_SECRET).unwrap()).await;
    let forged = r#"{"notificationId":666,"action":"DELETE","organizationalEntity":"urn:li:organization:1"}"#;

    // 1. Ask the layer to MAC the forged body, under both readings.
    for code in [forged.to_owned(), format!("hmacsha256={forged}")] {
        let target = format!("/webhook?challengeCode={}", url_encode(&code));
        let answer = exchange(addr, "GET", &target, NO_HEADERS, b"").await;
        // Whatever came back, try it as the signature of the forged body.
        let got = answer
            .json()
            .and_then(|j| j["challengeResponse"].as_str().map(str::to_owned));
        if let Some(mac) = &got {
            for value in [mac.clone(), format!("hmacsha256={mac}")] {
                let post = exchange(
                    addr,
                    "POST",
                    "/webhook",
                    &[
                        ("x-li-signature", value),
                        ("content-type", "application/json".into()),
                    ],
                    forged.as_bytes(),
                )
                .await;
                assert_eq!(
                    (post.status, calls.load(Ordering::SeqCst)),
                    (401, 0),
                    "the answer to challengeCode={code:?} signed a forged delivery: {post:?}"
                );
            }
        }
        assert_eq!(
            answer.status, 405,
            "challengeCode={code:?} answered: {answer:?}"
        );
        for mac in [
            hmac_hex(LI_SECRET, &[forged.as_bytes()]),
            hmac_hex(LI_SECRET, &[b"hmacsha256=", forged.as_bytes()]),
        ] {
            assert!(
                !answer.text().contains(&mac),
                "a MAC was answered: {answer:?}"
            );
        }
    }

    // 2. A real (UUID) code is answered, in either hex case.
    for code in [UUID.to_owned(), UUID.to_uppercase()] {
        let answer = exchange(
            addr,
            "GET",
            &format!("/webhook?challengeCode={code}&applicationId=7"),
            NO_HEADERS,
            b"",
        )
        .await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(
            answer.json().unwrap(),
            serde_json::json!({
                "challengeCode": code,
                "challengeResponse": hmac_hex(LI_SECRET, &[code.as_bytes()]),
            })
        );

        // 3. ...and its answer is no signature: the body that is the code,
        // signed with the answer, with or without the header's prefix, is 401.
        let mac = hmac_hex(LI_SECRET, &[code.as_bytes()]);
        for value in [mac.clone(), format!("hmacsha256={mac}"), mac.to_uppercase()] {
            let post = exchange(
                addr,
                "POST",
                "/webhook",
                &[("x-li-signature", value.clone())],
                code.as_bytes(),
            )
            .await;
            assert_eq!(post.status, 401, "{value}: {post:?}");
        }
    }

    // 4. Near-UUIDs are not answered either.
    for code in [
        "",
        "890e4665-4dfe-4ab1-b689-ed553bceeed",
        "890e4665-4dfe-4ab1-b689-ed553bceeed00",
        "890e4665+4dfe-4ab1-b689-ed553bceeed0",
        "890e4665-4dfe-4ab1-b689-ed553bceeedg",
        "890e46654dfe4ab1b689ed553bceeed0",
        "{890e4665-4dfe-4ab1-b689-ed553bceeed0}",
    ] {
        let target = format!("/webhook?challengeCode={}", url_encode(code));
        let answer = exchange(addr, "GET", &target, NO_HEADERS, b"").await;
        assert_eq!(answer.status, 405, "{code:?}: {answer:?}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the handler was never called"
    );

    // A genuine notification still reaches the handler.
    let body = r#"{"notificationId":4387123,"action":"COMMENT"}"#;
    let sig = hmac_hex(LI_SECRET, &[b"hmacsha256=", body.as_bytes()]);
    let post = exchange(
        addr,
        "POST",
        "/webhook",
        &[("x-li-signature", sig)],
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (post.status, calls.load(Ordering::SeqCst)),
        (204, 1),
        "{post:?}"
    );
}

// ---------------------------------------------------------------------------
// Twitch

/// The message type header is not signed. A signed verification message
/// relabelled `notification` (or unlabelled) used to reach the handler; the
/// signed body decides now.
#[tokio::test]
async fn twitch_verification_is_recognised_by_its_signed_body_whatever_the_header() {
    let scheme = Twitch::new(TWITCH_SECRET).unwrap();
    let (addr, calls) = serve(scheme.clone()).await;
    let challenge = "pogchamp-kappa-360noscope-vohiyo";
    let verification = format!(
        r#"{{"challenge":"{challenge}","subscription":{{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"1","cost":1,"condition":{{"broadcaster_user_id":"12826"}},"transport":{{"method":"webhook","callback":"https://example.com/webhooks/callback"}},"created_at":"2019-11-16T10:11:12.634234626Z"}}}}"#
    );
    for (n, label) in [
        Some("notification"),
        None,
        Some("revocation"),
        Some("webhook_callback_verification"),
    ]
    .into_iter()
    .enumerate()
    {
        let signer = Signer::new(&scheme)
            .id(format!("verification-{n}"))
            .timestamp(SystemTime::now());
        let mut headers = signed_headers(&signer, &verification);
        if let Some(label) = label {
            headers.push(("twitch-eventsub-message-type".to_owned(), label.to_owned()));
        }
        let answer = exchange(addr, "POST", "/webhook", &headers, verification.as_bytes()).await;
        assert_eq!(
            (
                answer.status,
                answer.text().as_str(),
                calls.load(Ordering::SeqCst)
            ),
            (200, challenge, 0),
            "labelled {label:?}: {answer:?}"
        );
        assert_eq!(answer.header("content-type"), Some("text/plain"));
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    }

    // A notification labelled as a verification is a notification.
    let notification =
        r#"{"subscription":{"id":"f1c2a387","type":"channel.follow"},"event":{"user_id":"1337"}}"#;
    let signer = Signer::new(&scheme).id("n-1").timestamp(SystemTime::now());
    let mut headers = signed_headers(&signer, notification);
    headers.push((
        "twitch-eventsub-message-type".to_owned(),
        "webhook_callback_verification".to_owned(),
    ));
    let answer = exchange(addr, "POST", "/webhook", &headers, notification.as_bytes()).await;
    assert_eq!(
        (answer.status, calls.load(Ordering::SeqCst)),
        (204, 1),
        "{answer:?}"
    );
}

// ---------------------------------------------------------------------------
// Zoom

/// Zoom answers `hex(HMAC(secret, plainToken))`, and signs
/// `v0:{ts}:{body}`: a plainToken `v0:{ts}:{body}` would make the answer a
/// signature of `body`. Only plainTokens of Zoom's form are answered.
#[tokio::test]
async fn zoom_url_validation_never_answers_a_signature() {
    let scheme = Zoom::new(ZOOM_SECRET).unwrap();
    let (addr, calls) = serve(scheme.clone()).await;
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let forged = r#"{"event":"meeting.deleted","payload":{"object":{"id":1}}}"#;
    let plain = format!("v0:{ts}:{forged}");
    let validation = serde_json::json!({
        "payload": {"plainToken": plain},
        "event": "endpoint.url_validation",
        "event_ts": 1_700_000_000_000u64,
    })
    .to_string();
    let signer = Signer::new(&scheme).timestamp(SystemTime::now());
    let headers = signed_headers(&signer, &validation);
    let answer = exchange(addr, "POST", "/webhook", &headers, validation.as_bytes()).await;
    // Whatever came back, try it as the signature of the forged event.
    if let Some(token) = answer
        .json()
        .and_then(|j| j["encryptedToken"].as_str().map(str::to_owned))
    {
        let post = exchange(
            addr,
            "POST",
            "/webhook",
            &[
                ("x-zm-signature", format!("v0={token}")),
                ("x-zm-request-timestamp", ts.clone()),
            ],
            forged.as_bytes(),
        )
        .await;
        assert_eq!(
            (post.status, calls.load(Ordering::SeqCst)),
            (401, 0),
            "the encryptedToken signed a forged event: {post:?}"
        );
    }
    let mac = hmac_hex(ZOOM_SECRET, &[plain.as_bytes()]);
    assert!(
        !answer.text().contains(&mac),
        "a MAC was answered: {answer:?}"
    );
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a url_validation reached the handler"
    );

    // Zoom's own token form is answered, with the HMAC Zoom expects.
    let token = "qgg8vlvZRS6UYooatFL8Aw";
    let validation = format!(
        r#"{{"payload":{{"plainToken":"{token}"}},"event_ts":1654503849680,"event":"endpoint.url_validation"}}"#
    );
    let signer = Signer::new(&scheme).timestamp(SystemTime::now());
    let headers = signed_headers(&signer, &validation);
    let answer = exchange(addr, "POST", "/webhook", &headers, validation.as_bytes()).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.json().unwrap(),
        serde_json::json!({
            "plainToken": token,
            "encryptedToken": hmac_hex(ZOOM_SECRET, &[token.as_bytes()]),
        })
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------
// Properties, in process: whatever is asked, no answer verifies.

mod properties {
    use super::*;
    use proptest::prelude::*;
    use tower_webhook::scheme::{Context, LinkedInReading, Tolerance};

    fn uuid_like() -> impl Strategy<Value = String> {
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    }

    fn post(header: &str, value: &str, extra: Option<(&str, &str)>) -> http::request::Parts {
        let mut b = http::Request::post("/webhook").header(header, value);
        if let Some((n, v)) = extra {
            b = b.header(n, v);
        }
        b.body(()).unwrap().into_parts().0
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The answer to `challengeCode=X` is `HMAC(X)`: a signature of the
        /// body `X` (bare reading) or, when `X` is `hmacsha256=B`, of `B`
        /// (prefixed reading). Neither ever verifies, under any reading.
        #[test]
        fn no_linkedin_challenge_answer_verifies(
            code in prop_oneof![
                uuid_like(),
                uuid_like().prop_map(|u| format!("hmacsha256={u}")),
                "(hmacsha256=)?[ -~]{0,60}",
                (uuid_like(), "[ -~]{1,3}", any::<bool>())
                    .prop_map(|(u, x, before)| if before { format!("{x}{u}") } else { format!("{u}{x}") }),
            ],
        ) {
            let target = format!("/webhook?challengeCode={}", url_encode(&code));
            let head = http::Request::get(target).body(()).unwrap().into_parts().0;
            let scheme = LinkedIn::new(LI_SECRET).unwrap();
            let Some(answer) = scheme.challenge(&head) else { return Ok(()) };
            let json: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
            let mac = json["challengeResponse"].as_str().unwrap().to_owned();
            let mut bodies = vec![code.clone()];
            if let Some(b) = code.strip_prefix("hmacsha256=") {
                bodies.push(b.to_owned());
            }
            let ctx = Context::new(SystemTime::now(), Tolerance::default());
            for reading in [None, Some(LinkedInReading::BareBody), Some(LinkedInReading::PrefixedBody)] {
                let s = match reading {
                    Some(r) => LinkedIn::new(LI_SECRET).unwrap().reading(r),
                    None => LinkedIn::new(LI_SECRET).unwrap(),
                };
                for body in &bodies {
                    for value in [mac.clone(), format!("hmacsha256={mac}")] {
                        let r = s.check(&post("x-li-signature", &value, None), body.as_bytes(), &ctx);
                        prop_assert!(r.is_err(), "{reading:?}: the answer to {code:?} verifies {body:?}");
                    }
                }
            }
        }

        /// The answer to plainToken `T` is `HMAC(T)`: a signature of the
        /// body `B` at `ts` only if `T` is `v0:{ts}:{B}`. It never verifies.
        #[test]
        fn no_zoom_encrypted_token_verifies(
            token in prop_oneof![
                "[A-Za-z0-9_-]{1,40}",
                "v0:1700000000:[ -~]{0,40}",
                "[ -~]{0,40}",
            ],
        ) {
            let scheme = Zoom::new(ZOOM_SECRET).unwrap();
            let body = serde_json::json!({
                "payload": {"plainToken": token},
                "event": "endpoint.url_validation",
            })
            .to_string();
            // Signed by Zoom (only Zoom could ask): the answer is the
            // verdict on the signed request.
            let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
            let (head, body) = Signer::new(&scheme)
                .timestamp(now)
                .request("/webhook", body)
                .unwrap()
                .into_parts();
            let answer = scheme
                .check(&head, &body, &Context::new(now, Tolerance::default()))
                .unwrap()
                .answer()
                .unwrap();
            let Some(json) = serde_json::from_slice::<serde_json::Value>(answer.body()).ok() else {
                prop_assert_eq!(answer.status(), 400);
                return Ok(());
            };
            let enc = json["encryptedToken"].as_str().unwrap();
            prop_assert_eq!(enc, hmac_hex(ZOOM_SECRET, &[token.as_bytes()]));
            // Read the token as signed content `v0:{ts}:{body}`, if it can be.
            let Some((ts, forged)) = token
                .strip_prefix("v0:")
                .and_then(|rest| rest.split_once(':'))
            else {
                return Ok(());
            };
            let Ok(secs) = ts.parse::<u64>() else { return Ok(()) };
            let ctx = Context::new(UNIX_EPOCH + Duration::from_secs(secs), Tolerance::default());
            let h = post("x-zm-signature", &format!("v0={enc}"), Some(("x-zm-request-timestamp", ts)));
            prop_assert!(scheme.check(&h, forged.as_bytes(), &ctx).is_err(), "{token:?}");
        }
    }
}
