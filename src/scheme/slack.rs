//! [Slack](https://api.slack.com/authentication/verifying-requests-from-slack).

use bytes::Bytes;

use super::handshake::{json_response, printable, unanswerable};
use super::hmac::{Answer, FormatRule, hmac_preset};
use super::json::Field;
use super::{HmacScheme, Part, TimeUnit};

hmac_preset! {
    /// [Slack](https://api.slack.com/authentication/verifying-requests-from-slack).
    ///
    /// - Headers `X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp`
    ///   (Unix seconds, checked against the tolerance; Slack asks for 5 minutes).
    /// - Signed content: `v0:{timestamp}:{body}`, HMAC-SHA256 keyed with the
    ///   app's signing secret (its text).
    /// - Event id: the body's JSON `event_id` (Events API); slash commands and
    ///   interactivity (form bodies) carry none and are deduplicated on the body.
    /// - Handshake: the signed `url_verification` POST is answered with its
    ///   `challenge` (`{"challenge": "..."}`), without calling the handler. It
    ///   is recognised by the signed body's top-level `type`, so it cannot be
    ///   relabelled. Only a challenge of 1 to
    ///   1024 bytes of
    ///   printable ASCII is echoed (Slack sends a random alphanumeric string); a
    ///   `url_verification` with any other challenge is refused with 400 and
    ///   does not reach the handler either.
    /// - The echo is no oracle: it is answered only after the body verified, and
    ///   it holds only text of that signed body, computed without the secret. A
    ///   signature the verifier accepts is an HMAC under the signing secret;
    ///   Slack would have had to put one into its own challenge.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_webhook::scheme::{Context, Scheme, Slack, Tolerance};
    /// use tower_webhook::sign::Signer;
    ///
    /// let scheme = Slack::new("8f742231b10e8888abcd99yyyzzz85a5")?;
    /// let now = UNIX_EPOCH + Duration::from_secs(1_531_420_618);
    /// let body = r#"{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#;
    /// let (head, body) = Signer::new(&scheme).timestamp(now).request("/slack", body)?.into_parts();
    /// let answer = scheme.check(&head, &body, &Context::new(now, Tolerance::default()))?.answer().expect("a url_verification");
    /// assert_eq!(answer.body().as_ref(), br#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{Scheme, Slack};
    /// let scheme = Slack::new("8f742231b10e8888abcd99yyyzzz85a5")?;
    /// assert!(scheme.has_timestamp());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Slack,
    |ring| HmacScheme::builder("slack", "x-slack-signature")
        .event_json("/event/type")
        .prefix("v0=")
        .timestamp_header("x-slack-request-timestamp", TimeUnit::Seconds)
        .content([Part::Literal("v0:"), Part::Timestamp, Part::Literal(":"), Part::Body])
        .id_json("/event_id")
        // Events are JSON; slash commands and interactivity are forms.
        .format_rule(FormatRule::JsonOrForm)
        .answer(Answer {
            fields: &["/type", "/challenge"],
            answer: url_verification,
        })
        .build_keys(ring)
}

/// The answer to a verified body, if it is a `url_verification`: its
/// challenge as `{"challenge": ..}`, or 400 when the challenge cannot be
/// echoed.
fn url_verification(_: &HmacScheme, fields: &[Option<Field>]) -> Option<http::Response<Bytes>> {
    let [kind, challenge] = fields else {
        return None;
    };
    if kind.as_ref()?.as_str()? != "url_verification" {
        return None;
    }
    match challenge
        .as_ref()
        .and_then(Field::as_str)
        .and_then(printable)
    {
        Some(challenge) => json_response(&serde_json::json!({ "challenge": challenge })),
        None => unanswerable("slack"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::test_support::deliver;
    use crate::scheme::{Context, Scheme, Tolerance, VerifyError};
    use std::time::{Duration, UNIX_EPOCH};

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

    fn ctx(secs: u64) -> Context {
        Context::new(UNIX_EPOCH + Duration::from_secs(secs), Tolerance::default())
    }

    fn signed(body: &str) -> (http::request::Parts, bytes::Bytes) {
        let s = Slack::new(SECRET).unwrap();
        crate::sign::Signer::new(&s)
            .timestamp(ctx(1_531_420_618).now)
            .request("/", body.to_owned())
            .unwrap()
            .into_parts()
    }

    #[test]
    fn event_id_tamper_and_staleness() {
        let s = Slack::new(SECRET).unwrap();
        let (head, body) = signed(r#"{"type":"event_callback","event_id":"Ev1"}"#);
        assert_eq!(
            s.check(&head, &body, &ctx(1_531_420_618))
                .map(deliver)
                .unwrap()
                .id
                .as_deref(),
            Some("Ev1")
        );
        assert!(matches!(
            s.check(&head, b"{}", &ctx(1_531_420_618)),
            Err(VerifyError::NoMatch { .. })
        ));
        assert!(matches!(
            s.check(&head, &body, &ctx(1_531_421_000)),
            Err(VerifyError::TooOld { .. })
        ));
        let mut h2 = head.clone();
        h2.headers
            .insert("x-slack-request-timestamp", "1531420619".parse().unwrap());
        assert!(matches!(
            s.check(&h2, &body, &ctx(1_531_420_618)),
            Err(VerifyError::NoMatch { .. })
        ));
        h2.headers.remove("x-slack-request-timestamp");
        assert!(matches!(
            s.check(&h2, &body, &ctx(1_531_420_618)),
            Err(VerifyError::MissingHeader {
                header: "x-slack-request-timestamp"
            })
        ));
    }

    #[test]
    fn url_verification_handshake() {
        let s = Slack::new(SECRET).unwrap();
        let (head, body) = signed(r#"{"token":"t","challenge":"abc","type":"url_verification"}"#);
        let answer = s
            .check(&head, &body, &ctx(1_531_420_618))
            .unwrap()
            .answer()
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["content-type"], "application/json");
        assert_eq!(answer.body().as_ref(), br#"{"challenge":"abc"}"#);
        // Never before the body is known (so never unsigned).
        assert!(s.challenge(&head).is_none());
    }

    #[test]
    fn url_verification_is_decided_by_the_body_and_never_reaches_the_handler() {
        let s = Slack::new(SECRET).unwrap();
        let answer = |body: &str| {
            let (head, body) = signed(body);
            s.check(&head, &body, &ctx(1_531_420_618))
                .unwrap()
                .answer()
                .map(|r| (r.status().as_u16(), r.into_body()))
        };
        // An escaped spelling of the type is the same type.
        assert_eq!(
            answer(r#"{"type":"url\u005fverification","challenge":"c1"}"#),
            Some((200, bytes::Bytes::from_static(br#"{"challenge":"c1"}"#)))
        );
        // The challenge elsewhere than at the top level, or another type.
        assert_eq!(
            answer(
                r#"{"type":"event_callback","event":{"type":"url_verification","challenge":"c"}}"#
            ),
            None
        );
        assert_eq!(
            answer(r#"{"type":"url_verification_x","challenge":"c"}"#),
            None
        );
        assert_eq!(answer("payload=url_verification"), None);
        // A url_verification whose challenge cannot be echoed: 400, never
        // the handler.
        let long = "c".repeat(crate::scheme::handshake::MAX_CHALLENGE_LEN + 1);
        for bad in [
            r#"{"type":"url_verification"}"#.to_owned(),
            r#"{"type":"url_verification","challenge":7}"#.to_owned(),
            r#"{"type":"url_verification","challenge":""}"#.to_owned(),
            r#"{"type":"url_verification","challenge":"a\nb"}"#.to_owned(),
            format!(r#"{{"type":"url_verification","challenge":"{long}"}}"#),
        ] {
            assert_eq!(answer(&bad).map(|(status, _)| status), Some(400), "{bad}");
        }
    }
}
