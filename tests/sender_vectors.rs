//! Every official (and third-party) vector in `tests/vectors/vectors.json`,
//! verified through the public presets. The file is never edited; each entry
//! is either checked or listed in `SKIPPED` with the reason, and the test
//! fails if an entry is neither.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use http::Request;
use http::request::Parts;
use serde_json::Value;
use sha2::Sha256;
use tower_webhook::scheme::{
    Context, Dropbox, Envelope, GitHub, HmacScheme, HubSpot, Mailgun, Paddle, PagerDuty, Scheme,
    Shopify, Slack, Square, StandardWebhooks, Stripe, Tolerance, Twilio, VerifyError,
};
use tower_webhook::secret::{KeyRing, Secret};
use tower_webhook::sign::Signer;

/// Entries this build does not verify, by (sender or scheme, why): the
/// asymmetric ones need a cargo feature. With every feature, none.
const SKIPPED: &[(&str, &str)] = &[
    #[cfg(not(feature = "ed25519"))]
    (
        "v1a Ed25519",
        "Standard Webhooks v1a (Ed25519) needs the `ed25519` feature",
    ),
    #[cfg(not(feature = "sendgrid"))]
    (
        "sendgrid",
        "SendGrid (ECDSA P-256) needs the `sendgrid` feature",
    ),
];

/// How many entries `SKIPPED` covers in vectors.json: 3 x Ed25519, 1 x ECDSA.
const EXPECTED_SKIPS: usize =
    if cfg!(feature = "ed25519") { 0 } else { 3 } + if cfg!(feature = "sendgrid") { 0 } else { 1 };

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn entries() -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(dir().join("vectors.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for group in ["official", "third_party"] {
        for (i, e) in json[group].as_array().unwrap().iter().enumerate() {
            out.push((format!("{group}[{i}] {}", e["sender"]), e.clone()));
        }
    }
    out
}

fn s<'a>(e: &'a Value, key: &str) -> &'a str {
    e[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {e}"))
}

fn body(e: &Value) -> Vec<u8> {
    match e.get("body_file").and_then(Value::as_str) {
        Some(file) => std::fs::read(dir().join(file)).unwrap(),
        None => s(e, "body").as_bytes().to_vec(),
    }
}

fn at_secs(secs: &str) -> Context {
    let secs: u64 = secs.parse().unwrap();
    Context::new(UNIX_EPOCH + Duration::from_secs(secs), Tolerance::default())
}

fn any_time() -> Context {
    Context::new(SystemTime::now(), Tolerance::default())
}

fn head(uri: &str, pairs: &[(&str, &str)]) -> Parts {
    let mut b = Request::post(uri);
    for (k, v) in pairs {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap().into_parts().0
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of the hex string `hex`.
fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// `scheme`'s verdict on a whole request, which must be a delivery when
/// it verifies.
fn deliver<S: Scheme>(
    scheme: &S,
    head: &Parts,
    body: &[u8],
    ctx: &Context,
) -> Result<Envelope, VerifyError> {
    scheme
        .check(head, body, ctx)
        .map(|v| v.envelope().expect("a delivery"))
}

/// Asserts `ok` verifies, and that flipping one body byte makes it fail.
fn check<S: Scheme>(scheme: &S, head: &Parts, body: &[u8], ctx: &Context) {
    let env = deliver(scheme, head, body, ctx);
    assert!(env.is_ok(), "{}: {env:?}", scheme.name());
    if !body.is_empty() {
        let mut bad = body.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        assert!(
            scheme.check(head, &bad, ctx).is_err(),
            "{}: tampered body verified",
            scheme.name()
        );
    }
}

/// Checks one entry; returns `false` when it is skipped.
fn check_entry(e: &Value) -> bool {
    let sender = s(e, "sender");
    let scheme_kind = e.get("scheme").and_then(Value::as_str).unwrap_or("");
    if SKIPPED
        .iter()
        .any(|(k, _)| *k == scheme_kind || sender.starts_with(k))
    {
        return false;
    }
    match sender {
        "standard-webhooks/svix" => {
            let scheme = StandardWebhooks::new(s(e, "secret")).unwrap();
            let h = head(
                "/",
                &[
                    ("webhook-id", s(e, "id")),
                    ("webhook-timestamp", s(e, "timestamp")),
                    ("webhook-signature", s(e, "signature_header")),
                ],
            );
            check(&scheme, &h, &body(e), &at_secs(s(e, "timestamp")));
        }
        "stripe" => {
            let scheme = Stripe::new(s(e, "secret")).unwrap();
            let h = head("/", &[("stripe-signature", s(e, "signature_header"))]);
            let body = body(e);
            let ctx = at_secs(s(e, "timestamp"));
            check(&scheme, &h, &body, &ctx);
            let env = deliver(&scheme, &h, &body, &ctx).unwrap();
            assert_eq!(env.id.as_deref(), Some("evt_123"));
            // The v0 entry alone must not verify (downgrade protection).
            let v0_only: String = s(e, "signature_header")
                .split(',')
                .filter(|p| !p.starts_with("v1="))
                .collect::<Vec<_>>()
                .join(",");
            let h = head("/", &[("stripe-signature", &v0_only)]);
            assert!(matches!(
                scheme.check(&h, &body, &ctx),
                Err(VerifyError::NoMatch { .. })
            ));
        }
        "stripe (HMAC primitive)" => {
            let msg = unhex(s(e, "message_utf8_hex"));
            // An independent reference: the `hmac` crate directly.
            let mut mac =
                <Hmac<Sha256> as KeyInit>::new_from_slice(s(e, "secret").as_bytes()).unwrap();
            mac.update(&msg);
            assert_eq!(hex(&mac.finalize().into_bytes()), s(e, "hex"));
            // The crate's HMAC through its public API: the generic engine's
            // defaults (hex HMAC-SHA256 of the body) sign the message as the
            // vector says, and accept the vector's tag for it.
            let ring = KeyRing::single(Secret::from_text(s(e, "secret")).unwrap());
            let scheme = HmacScheme::builder("stripe-primitive", "x-signature")
                .build(&ring)
                .unwrap();
            let signed = Signer::new(&scheme).request("/", msg.clone()).unwrap();
            assert_eq!(signed.headers()["x-signature"], s(e, "hex"));
            let h = head("/", &[("x-signature", s(e, "hex"))]);
            check(&scheme, &h, &msg, &any_time());
        }
        "github" => {
            let scheme = GitHub::new(s(e, "secret")).unwrap();
            let h = head("/", &[("x-hub-signature-256", s(e, "signature_header"))]);
            check(&scheme, &h, &body(e), &any_time());
        }
        "slack" => {
            let scheme = Slack::new(s(e, "secret")).unwrap();
            let h = head(
                "/",
                &[
                    ("x-slack-signature", s(e, "signature_header")),
                    ("x-slack-request-timestamp", s(e, "timestamp")),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
            );
            check(&scheme, &h, &body(e), &at_secs(s(e, "timestamp")));
        }
        "shopify" => {
            let scheme = Shopify::new(s(e, "secret")).unwrap();
            let h = head("/", &[("x-shopify-hmac-sha256", s(e, "signature_header"))]);
            check(&scheme, &h, &body(e), &any_time());
        }
        "twilio" => {
            let url = s(e, "url");
            let (base, query) = url.split_once('?').unwrap();
            let scheme = Twilio::new(s(e, "auth_token"), base).unwrap();
            let params: Vec<(&str, &str)> = e["params"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                .collect();
            let form = serde_urlencoded::to_string(&params).unwrap();
            let h = head(
                &format!("/myapp.php?{query}"),
                &[
                    ("x-twilio-signature", s(e, "signature_header")),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
            );
            check(&scheme, &h, form.as_bytes(), &any_time());
            // Behind a proxy that added the default port, it still verifies.
            let with_port = base.replace("mycompany.com", "mycompany.com:443");
            let scheme = Twilio::new(s(e, "auth_token"), &with_port).unwrap();
            check(&scheme, &h, form.as_bytes(), &any_time());
        }
        "twilio (JSON body)" => {
            let url = s(e, "url");
            let (base, query) = url.split_once('?').unwrap();
            let scheme = Twilio::new(s(e, "auth_token"), base).unwrap();
            let h = head(
                &format!("/myapp.php?{query}"),
                &[
                    ("x-twilio-signature", s(e, "signature_header")),
                    ("content-type", "application/json"),
                ],
            );
            check(&scheme, &h, &body(e), &any_time());
        }
        "paddle" | "paddle (multi h1 + unknown h2)" => {
            let scheme = Paddle::new(s(e, "secret")).unwrap();
            let header = s(e, "signature_header");
            let ts = header
                .split(';')
                .find_map(|p| p.strip_prefix("ts="))
                .unwrap();
            let h = head("/", &[("paddle-signature", header)]);
            check(&scheme, &h, &body(e), &at_secs(ts));
        }
        "paddle (secret rotation)" => {
            let secrets: Vec<&str> = e["secrets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let valid = usize::try_from(e["valid_index"].as_u64().unwrap()).unwrap();
            let header = s(e, "signature_header");
            let ts = header
                .split(';')
                .find_map(|p| p.strip_prefix("ts="))
                .unwrap();
            let h = head("/", &[("paddle-signature", header)]);
            let ctx = at_secs(ts);
            check(&Paddle::with_secrets(&secrets).unwrap(), &h, &body(e), &ctx);
            check(&Paddle::new(secrets[valid]).unwrap(), &h, &body(e), &ctx);
            let others: Vec<&str> = secrets
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != valid)
                .map(|(_, s)| *s)
                .collect();
            assert!(
                Paddle::with_secrets(&others)
                    .unwrap()
                    .check(&h, &body(e), &ctx)
                    .is_err()
            );
        }
        "square" => {
            let scheme = Square::new(s(e, "signature_key"), s(e, "notification_url")).unwrap();
            let h = head(
                "/",
                &[("x-square-hmacsha256-signature", s(e, "signature_header"))],
            );
            check(&scheme, &h, &body(e), &any_time());
        }
        "mailgun" => {
            let scheme = Mailgun::new(s(e, "signing_key")).unwrap();
            let body = serde_json::json!({
                "signature": {
                    "timestamp": s(e, "timestamp"),
                    "token": s(e, "token"),
                    "signature": s(e, "signature"),
                },
                "event-data": { "id": "ev" },
            })
            .to_string();
            let h = head("/", &[("content-type", "application/json")]);
            let ctx = at_secs(s(e, "timestamp"));
            assert!(deliver(&scheme, &h, body.as_bytes(), &ctx).is_ok());
            let forged = body.replace(s(e, "token"), "forged-token");
            assert!(scheme.check(&h, forged.as_bytes(), &ctx).is_err());
        }
        "pagerduty v3" => {
            let scheme = PagerDuty::new(s(e, "secret")).unwrap();
            let h = head("/", &[("x-pagerduty-signature", s(e, "signature_header"))]);
            check(&scheme, &h, &body(e), &any_time());
            let env = deliver(&scheme, &h, &body(e), &any_time()).unwrap();
            assert_eq!(env.id.as_deref(), Some("01BWDWL3NYY7LUFPZCC28QUCMK"));
        }
        "hubspot v3" => {
            let uri = s(e, "uri");
            let scheme = HubSpot::new(s(e, "client_secret"), uri).unwrap();
            let millis: u64 = s(e, "timestamp").parse().unwrap();
            let ctx = Context::new(
                UNIX_EPOCH + Duration::from_millis(millis),
                Tolerance::default(),
            );
            let h = Request::builder()
                .method(s(e, "method"))
                .uri("/webhook_uri")
                .header("x-hubspot-signature-v3", s(e, "signature_header"))
                .header("x-hubspot-request-timestamp", s(e, "timestamp"))
                .body(())
                .unwrap()
                .into_parts()
                .0;
            check(&scheme, &h, &body(e), &ctx);
            // The `also` v1/v2 values are the older unkeyed SHA-256
            // signatures, which this crate deliberately does not accept.
        }
        "dropbox" => {
            let scheme = Dropbox::new(s(e, "secret")).unwrap();
            let h = head("/", &[("x-dropbox-signature", s(e, "signature_header"))]);
            check(&scheme, &h, &body(e), &any_time());
        }
        #[cfg(feature = "ed25519")]
        "svix (server)"
        | "standard-webhooks (UNMERGED PR #253, Go)"
        | "standard-webhooks (UNMERGED PR #308, JS)" => ed25519::check(e),
        #[cfg(feature = "sendgrid")]
        "sendgrid" => sendgrid::check(e),
        other => panic!("no check for vector sender {other:?}: add one or list it in SKIPPED"),
    }
    true
}

#[test]
fn every_vector_is_checked_or_explicitly_skipped() {
    let mut checked = BTreeSet::new();
    let mut skipped = BTreeSet::new();
    let all = entries();
    for (label, e) in &all {
        if check_entry(e) {
            checked.insert(label.clone());
        } else {
            skipped.insert(label.clone());
        }
    }
    assert_eq!(checked.len() + skipped.len(), all.len());
    // The skips are exactly the asymmetric entries whose feature is off:
    // none with `--all-features`.
    assert_eq!(skipped.len(), EXPECTED_SKIPS, "skipped: {skipped:?}");
    assert_eq!(
        checked.len(),
        all.len() - EXPECTED_SKIPS,
        "checked: {checked:?}"
    );
}

#[test]
fn stripe_vector_with_rotation_and_noise() {
    let e = entries()
        .into_iter()
        .find(|(_, e)| e["sender"] == "stripe")
        .unwrap()
        .1;
    let scheme = Stripe::with_secrets(["whsec_new", s(&e, "secret")]).unwrap();
    let header = format!("{},v1=deadbeef,v2=x,junk", s(&e, "signature_header"));
    let h = head("/", &[("stripe-signature", &header)]);
    check(&scheme, &h, &body(&e), &at_secs(s(&e, "timestamp")));
    let later = at_secs("1533205000");
    assert!(matches!(
        scheme.check(&h, &body(&e), &later),
        Err(VerifyError::TooOld { .. })
    ));
}

/// The three `v1a` entries: each key format of the `key_format_note`s.
#[cfg(feature = "ed25519")]
mod ed25519 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use bytes::Bytes;
    use serde_json::Value;
    use tower_webhook::scheme::{Scheme, Sign, StandardWebhooksEd25519, VerifyError};

    use super::{at_secs, body, head, s, unhex};

    pub(super) fn check(e: &Value) {
        // The secret key, as each source gives it.
        let secret = match s(e, "sender") {
            // whsk_ = base64(seed || public key).
            "svix (server)" => s(e, "secret").to_owned(),
            // base64(seed), prefix optional: try both spellings.
            "standard-webhooks (UNMERGED PR #253, Go)" => {
                let bare = s(e, "secret");
                let prefixed = StandardWebhooksEd25519::from_secret_key(format!("whsk_{bare}"))
                    .unwrap()
                    .public_keys();
                assert_eq!(
                    StandardWebhooksEd25519::from_secret_key(bare)
                        .unwrap()
                        .public_keys(),
                    prefixed
                );
                bare.to_owned()
            }
            // A hex seed.
            _ => {
                let seed = unhex(s(e, "seed_hex"));
                format!("whsk_{}", B64.encode(seed))
            }
        };
        let sender = StandardWebhooksEd25519::from_secret_key(&secret).unwrap();
        let public = sender.public_keys().remove(0);
        if let Some(expected) = e.get("public_key").and_then(Value::as_str) {
            assert_eq!(public, expected, "derived public key");
        }
        let receiver = StandardWebhooksEd25519::from_public_key(&public).unwrap();
        let signature = s(e, "signature_header");
        let h = head(
            "/",
            &[
                ("webhook-id", s(e, "id")),
                ("webhook-timestamp", s(e, "timestamp")),
                ("webhook-signature", signature),
            ],
        );
        let ctx = at_secs(s(e, "timestamp"));
        super::check(&receiver, &h, &body(e), &ctx);
        // Ed25519 is deterministic: signing reproduces the vector.
        let mut req = http::Request::post("/").body(Bytes::from(body(e))).unwrap();
        sender.sign(&mut req, s(e, "id"), ctx.now).unwrap();
        assert_eq!(req.headers()["webhook-signature"], signature);
        // The HMAC scheme ignores v1a entries: no candidate.
        let hmac =
            tower_webhook::scheme::StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .unwrap();
        assert!(matches!(
            hmac.check(&h, &body(e), &ctx),
            Err(VerifyError::NoMatch { candidates: 0, .. })
        ));
    }
}

/// SendGrid's entry: the key as the console shows it.
#[cfg(feature = "sendgrid")]
mod sendgrid {
    use serde_json::Value;
    use tower_webhook::scheme::{Scheme, SendGrid, VerifyError};

    use super::{at_secs, body, deliver, head, s};

    pub(super) fn check(e: &Value) {
        let scheme = SendGrid::new(s(e, "public_key")).unwrap();
        let h = head(
            "/",
            &[
                (
                    "X-Twilio-Email-Event-Webhook-Signature",
                    s(e, "signature_header"),
                ),
                ("X-Twilio-Email-Event-Webhook-Timestamp", s(e, "timestamp")),
            ],
        );
        let ctx = at_secs(s(e, "timestamp"));
        super::check(&scheme, &h, &body(e), &ctx);
        assert_eq!(deliver(&scheme, &h, &body(e), &ctx).unwrap().id, None);
        let late = at_secs("1588790000");
        assert!(matches!(
            scheme.check(&h, &body(e), &late),
            Err(VerifyError::TooOld { .. })
        ));
    }
}
