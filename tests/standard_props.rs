//! Property tests: Standard Webhooks sign → verify round trips, any single
//! changed byte fails, and the header parsers never panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::Request;
use proptest::prelude::*;
use tower_webhook::scheme::{Context, Scheme, StandardWebhooks, Tolerance, VerifyError};
use tower_webhook::sign::Signer;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: u64 = 1_700_000_000;

fn ctx() -> Context {
    Context::new(UNIX_EPOCH + Duration::from_secs(NOW), Tolerance::default())
}

fn sign(id: &str, ts: u64, body: &[u8]) -> (http::request::Parts, Bytes) {
    let scheme = StandardWebhooks::new(SECRET).unwrap();
    let mut req = Request::post("/")
        .body(Bytes::copy_from_slice(body))
        .unwrap();
    Signer::new(&scheme)
        .id(id)
        .timestamp(UNIX_EPOCH + Duration::from_secs(ts))
        .sign(&mut req)
        .unwrap();
    req.into_parts()
}

fn verify(head: &http::request::Parts, body: &[u8]) -> bool {
    StandardWebhooks::new(SECRET)
        .unwrap()
        .check(head, body, &ctx())
        .is_ok()
}

fn with_header(
    head: &http::request::Parts,
    name: &'static str,
    value: &str,
) -> Option<http::request::Parts> {
    let mut h = head.clone();
    h.headers.insert(name, value.parse().ok()?);
    Some(h)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn signed_deliveries_verify(id in "[a-zA-Z0-9_-]{1,64}", skew in -300i64..=300, body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let ts = NOW.checked_add_signed(skew).unwrap();
        let (head, body) = sign(&id, ts, &body);
        prop_assert!(verify(&head, &body));
    }

    #[test]
    fn any_changed_body_byte_fails(body in proptest::collection::vec(any::<u8>(), 1..512), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let (head, body) = sign("msg_1", NOW, &body);
        let mut tampered = body.to_vec();
        let i = pos.index(tampered.len());
        tampered[i] ^= flip;
        prop_assert!(!verify(&head, &tampered));
    }

    #[test]
    fn any_changed_signature_char_fails(pos in any::<prop::sample::Index>(), c in "[A-Za-z0-9+/]") {
        let (head, body) = sign("msg_1", NOW, b"{}");
        let sig = head.headers["webhook-signature"].to_str().unwrap().to_owned();
        let (prefix, b64) = sig.split_at(3);
        // Only the 43 significant characters (the 44th is padding).
        let i = pos.index(43);
        let mut chars: Vec<char> = b64.chars().collect();
        prop_assume!(chars[i].to_string() != c);
        chars[i] = c.chars().next().unwrap();
        let changed = format!("{prefix}{}", chars.into_iter().collect::<String>());
        if let Some(h) = with_header(&head, "webhook-signature", &changed) {
            prop_assert!(!verify(&h, &body));
        }
    }

    #[test]
    fn any_changed_timestamp_fails(delta in 1i64..=300, sign_neg in any::<bool>()) {
        let (head, body) = sign("msg_1", NOW, b"{}");
        let ts = if sign_neg { NOW - delta as u64 } else { NOW + delta as u64 };
        let h = with_header(&head, "webhook-timestamp", &ts.to_string()).unwrap();
        prop_assert!(!verify(&h, &body));
    }

    #[test]
    fn any_changed_id_fails(id in "[a-zA-Z0-9_]{1,32}") {
        prop_assume!(id != "msg_1");
        let (head, body) = sign("msg_1", NOW, b"{}");
        let h = with_header(&head, "webhook-id", &id).unwrap();
        prop_assert!(!verify(&h, &body));
    }

    #[test]
    fn arbitrary_headers_never_panic(id in ".{0,80}", ts in ".{0,30}", sig in ".{0,400}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut head = Request::post("/").body(()).unwrap().into_parts().0;
        for (name, value) in [("webhook-id", &id), ("webhook-timestamp", &ts), ("webhook-signature", &sig)] {
            if let Ok(v) = http::HeaderValue::from_bytes(value.as_bytes()) {
                head.headers.insert(name, v);
            }
        }
        let scheme = StandardWebhooks::new(SECRET).unwrap();
        let _ = scheme.read(&head, &ctx()).map(drop);
        // Random headers never verify.
        prop_assert!(scheme.check(&head, &body, &ctx()).is_err());
    }

    #[test]
    fn signature_noise_around_a_valid_entry_still_verifies(noise in proptest::collection::vec("(v1|v1a|v2|x),[A-Za-z0-9+/=]{0,50}", 0..10), at in any::<prop::sample::Index>()) {
        let (head, body) = sign("msg_1", NOW, b"{}");
        let sig = head.headers["webhook-signature"].to_str().unwrap().to_owned();
        let mut entries = noise;
        let i = at.index(entries.len() + 1);
        entries.insert(i, sig);
        let h = with_header(&head, "webhook-signature", &entries.join(" ")).unwrap();
        prop_assert!(verify(&h, &body));
    }
}

/// Which header family a head reads, and the error it must give, decided
/// the plain way: one look-up per name, `webhook-*` unless
/// `webhook-signature` is absent and `svix-signature` present; a repeated
/// or missing header of that family is refused, the signature's repeat
/// first, then the id, the timestamp, and a missing signature last.
fn expected_refusal(headers: &http::HeaderMap) -> Option<VerifyError> {
    let count = |name: &str| headers.get_all(name).iter().count();
    let family = if count("webhook-signature") == 0 && count("svix-signature") > 0 {
        ["svix-id", "svix-timestamp", "svix-signature"]
    } else {
        ["webhook-id", "webhook-timestamp", "webhook-signature"]
    };
    let [id, ts, sig] = family;
    let repeated = |header: &'static str| VerifyError::MalformedHeader {
        header,
        reason: "it appears more than once",
    };
    if count(sig) > 1 {
        return Some(repeated(sig));
    }
    for name in [id, ts] {
        match count(name) {
            0 => return Some(VerifyError::MissingHeader { header: name }),
            1 => {}
            _ => return Some(repeated(name)),
        }
    }
    (count(sig) == 0).then_some(VerifyError::MissingHeader { header: sig })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The one pass over the headers (`read`) picks the family and refuses
    /// repeats and absences exactly as one look-up per name would, in any
    /// order, among other headers.
    #[test]
    fn the_header_pass_agrees_with_one_look_up_per_name(
        picks in proptest::collection::vec(0usize..8, 0..12),
    ) {
        let (signed, body) = sign("msg_1", NOW, b"{}");
        let value = |name: &str| {
            let own = name.trim_start_matches("svix-").trim_start_matches("webhook-");
            signed.headers[format!("webhook-{own}").as_str()].clone()
        };
        let names = [
            "webhook-id", "webhook-timestamp", "webhook-signature",
            "svix-id", "svix-timestamp", "svix-signature",
            "x-request-id", "content-type",
        ];
        let mut head = Request::post("/").body(()).unwrap().into_parts().0;
        for i in picks {
            let name = names[i];
            let v = if i < 6 { value(name) } else { http::HeaderValue::from_static("x") };
            head.headers.append(name, v);
        }
        let got = StandardWebhooks::new(SECRET).unwrap().check(&head, &body, &ctx());
        match expected_refusal(&head.headers) {
            Some(want) => prop_assert_eq!(got.err(), Some(want)),
            None => prop_assert!(got.is_ok(), "{:?}: {:?}", head.headers, got.err()),
        }
    }
}
