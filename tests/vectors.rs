//! The official Standard Webhooks v1 vectors from `tests/vectors/vectors.json`
//! (copied unchanged from the senders' SDK test suites).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, UNIX_EPOCH};

use http::Request;
use serde_json::Value;
use tower_webhook::scheme::{Context, Scheme, StandardWebhooks, Tolerance, VerifyError};

fn vectors() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/vectors.json");
    let text = std::fs::read_to_string(path)
        .expect("tests/vectors/vectors.json is part of the repository");
    let json: Value = serde_json::from_str(&text).expect("vectors.json parses");
    let mut all = Vec::new();
    for group in ["official", "third_party"] {
        if let Some(items) = json[group].as_array() {
            all.extend(items.iter().cloned());
        }
    }
    all
}

fn standard_v1() -> Vec<Value> {
    vectors()
        .into_iter()
        .filter(|v| {
            v["scheme"].as_str() == Some("v1 HMAC-SHA256")
                && v["sender"]
                    .as_str()
                    .is_some_and(|s| s.contains("standard-webhooks") || s.contains("svix"))
        })
        .collect()
}

fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("vector lacks {name}: {v}"))
}

fn verify(v: &Value, signature: &str, body: &[u8]) -> Result<(), VerifyError> {
    let scheme = StandardWebhooks::new(field(v, "secret")).unwrap();
    let ts: u64 = field(v, "timestamp").parse().unwrap();
    let (head, ()) = Request::post("/")
        .header("webhook-id", field(v, "id"))
        .header("webhook-timestamp", field(v, "timestamp"))
        .header("webhook-signature", signature)
        .body(())
        .unwrap()
        .into_parts();
    let ctx = Context::new(UNIX_EPOCH + Duration::from_secs(ts), Tolerance::default());
    scheme.check(&head, body, &ctx).map(|_| ())
}

#[test]
fn every_standard_v1_vector_verifies() {
    let vs = standard_v1();
    assert!(!vs.is_empty(), "no Standard Webhooks v1 vector found");
    for v in &vs {
        verify(v, field(v, "signature_header"), field(v, "body").as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", field(v, "source")));
    }
}

#[test]
fn every_standard_v1_vector_fails_when_tampered() {
    for v in standard_v1() {
        let body = field(&v, "body");
        let tampered = format!("{body} ");
        assert!(verify(&v, field(&v, "signature_header"), tampered.as_bytes()).is_err());
        let sig = field(&v, "signature_header").replacen("v1,", "v1,A", 1);
        assert!(verify(&v, &sig, body.as_bytes()).is_err());
    }
}

#[test]
fn signer_reproduces_every_standard_v1_vector() {
    for v in standard_v1() {
        let scheme = StandardWebhooks::new(field(&v, "secret")).unwrap();
        let ts: u64 = field(&v, "timestamp").parse().unwrap();
        let req = tower_webhook::sign::Signer::new(&scheme)
            .id(field(&v, "id"))
            .timestamp(UNIX_EPOCH + Duration::from_secs(ts))
            .request("/", field(&v, "body").to_owned())
            .unwrap();
        assert_eq!(
            req.headers()["webhook-signature"],
            field(&v, "signature_header")
        );
    }
}

#[test]
fn asymmetric_v1a_entries_are_not_accepted_as_v1() {
    // The crate verifies v1 only; a delivery signed only with v1a is refused.
    let v1a: Vec<Value> = vectors()
        .into_iter()
        .filter(|v| v["scheme"].as_str() == Some("v1a Ed25519") && v["id"].is_string())
        .collect();
    assert!(!v1a.is_empty());
    let keyed = &standard_v1()[0];
    for v in v1a {
        let r = verify(
            keyed,
            field(&v, "signature_header"),
            field(&v, "body").as_bytes(),
        );
        assert!(
            matches!(r, Err(VerifyError::NoMatch { candidates: 0, .. })),
            "{r:?}"
        );
    }
}
