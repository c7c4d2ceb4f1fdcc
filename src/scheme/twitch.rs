//! [Twitch EventSub](https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message)

use bytes::Bytes;

use super::handshake::{printable, text_response, unanswerable};
use super::hmac::{Answer, hmac_preset};
use super::json::Field;
use super::{HmacScheme, Part, TimeUnit};

/// The answer to a verified message, if its body is a verification (it has
/// a top-level `challenge`): the challenge as text, or 400 when it cannot be
/// echoed. The `Twitch-Eventsub-Message-Type` header is not signed and
/// decides nothing.
fn callback_verification(
    _: &HmacScheme,
    fields: &[Option<Field>],
) -> Option<http::Response<Bytes>> {
    let challenge = fields.first()?.as_ref()?;
    match challenge.as_str().and_then(printable) {
        Some(c) => text_response(c.to_owned(), "text/plain"),
        None => unanswerable("twitch"),
    }
}

hmac_preset! {
    /// [Twitch EventSub](https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message)
    /// webhooks.
    ///
    /// - Headers `Twitch-Eventsub-Message-Id`, `Twitch-Eventsub-Message-Timestamp`
    ///   (RFC 3339, checked against the tolerance; Twitch suggests 10 minutes) and
    ///   `Twitch-Eventsub-Message-Signature: sha256=<hex>`.
    /// - Signed content: `{message id}{timestamp}{body}`, HMAC-SHA256 keyed with
    ///   the subscription's secret (its text).
    /// - Event id: the message id (Twitch resends a message with the same id).
    /// - **Message type: from the signed body, never from the header.** Twitch
    ///   sends `Twitch-Eventsub-Message-Type` (`webhook_callback_verification`,
    ///   `notification`, `revocation`), but the header is not signed: anyone
    ///   holding one captured message could resend it under another type. So
    ///   the type is read from the body, which is signed. Twitch's table of
    ///   message types says a `webhook_callback_verification` "contains the
    ///   challenge used to prove that you own the event handler", a
    ///   `notification` "contains the event's data" and a `revocation` "contains
    ///   the reason why Twitch revoked your subscription": in the bodies, a
    ///   top-level `challenge` string next to the `subscription` object, an
    ///   `event` object next to it, and neither (the `subscription`'s `status`
    ///   gives the reason). A body with a top-level `challenge` member is a
    ///   verification, whatever the header says and whether it is sent at all;
    ///   the header is only logged (at debug level) when it says otherwise.
    /// - Handshake: a verification is answered with its `challenge` as
    ///   `text/plain`, without calling the handler. Only a challenge of 1 to
    ///   1024 bytes of
    ///   printable ASCII is echoed; a verification with any other `challenge`
    ///   is refused with 400. Either way a verification never reaches the
    ///   handler. Notifications and revocations do.
    /// - The echo is no oracle: it is given only after the message verified, and
    ///   holds only text of that signed body, computed without the secret.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_webhook::scheme::{Context, Scheme, Tolerance, Twitch};
    /// use tower_webhook::sign::Signer;
    ///
    /// let scheme = Twitch::new("eventsub-secret")?;
    /// let now = SystemTime::now();
    /// let body = r#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{}}"#;
    /// let mut request = Signer::new(&scheme).id("e-1").timestamp(now).request("/twitch", body)?;
    /// // The header is not signed, and does not decide: the body does.
    /// request.headers_mut().insert("twitch-eventsub-message-type", "notification".parse()?);
    /// let (head, body) = request.into_parts();
    /// let envelope = scheme.check(&head, &body, &Context::new(now, Tolerance::default()))?.envelope();
    /// assert_eq!(envelope, None, "a verification is answered, never delivered");
    /// let answer = scheme.check(&head, &body, &Context::new(now, Tolerance::default()))?.answer().expect("a verification");
    /// assert_eq!(answer.body().as_ref(), b"pogchamp-kappa-360noscope-vohiyo");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{Scheme, Twitch};
    /// assert!(Twitch::new("secret")?.has_timestamp());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Twitch,
    |ring| HmacScheme::builder("twitch", "twitch-eventsub-message-signature")
        .event_json("/subscription/type")
        .prefix("sha256=")
        .id_header("twitch-eventsub-message-id")
        .timestamp_header("twitch-eventsub-message-timestamp", TimeUnit::Rfc3339)
        .content([Part::Id, Part::Timestamp, Part::Body])
        .answer(Answer {
            fields: &["/challenge"],
            answer: callback_verification,
        })
        .build_keys(ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::test_support::{self, deliver};
    use crate::scheme::{Context, Scheme, Tolerance, VerifyError};
    use std::time::{Duration, UNIX_EPOCH};

    fn head(pairs: &[(&str, &str)]) -> http::request::Parts {
        test_support::post(pairs)
    }

    /// The example of Twitch's documentation, recomputed with our HMAC.
    #[test]
    fn nanosecond_timestamp_signed_as_sent() {
        let s = Twitch::new("s3cre7").unwrap();
        let ts = "2019-11-16T10:11:12.634234626Z";
        let body = br#"{"subscription":{},"event":{}}"#;
        let tag = crate::scheme::test_support::hmac_sha256("s3cre7", &[b"e1", ts.as_bytes(), body]);
        let sig = format!("sha256={}", crate::scheme::hex(&tag));
        let h = head(&[
            ("twitch-eventsub-message-id", "e1"),
            ("twitch-eventsub-message-timestamp", ts),
            ("twitch-eventsub-message-signature", &sig),
            ("twitch-eventsub-message-type", "notification"),
        ]);
        let ctx = Context::new(
            UNIX_EPOCH + Duration::from_millis(1_573_899_072_634),
            Tolerance::default(),
        );
        let env = s.check(&h, body, &ctx).map(deliver).unwrap();
        assert_eq!(env.id.as_deref(), Some("e1"));
        assert_eq!(
            env.timestamp,
            Some(UNIX_EPOCH + Duration::from_millis(1_573_899_072_634))
        );
        assert!(
            s.check(&h, body, &ctx).unwrap().answer().is_none(),
            "not a verification message"
        );
        let later = Context::new(ctx.now + Duration::from_secs(900), Tolerance::default());
        assert!(matches!(
            s.check(&h, body, &later),
            Err(VerifyError::TooOld { .. })
        ));
        let mut other = h.clone();
        other
            .headers
            .insert("twitch-eventsub-message-id", "e2".parse().unwrap());
        assert!(matches!(
            s.check(&other, body, &ctx),
            Err(VerifyError::NoMatch { .. })
        ));
        let mut other = h.clone();
        other.headers.insert(
            "twitch-eventsub-message-timestamp",
            "yesterday".parse().unwrap(),
        );
        assert!(matches!(
            s.check(&other, body, &ctx),
            Err(VerifyError::MalformedHeader { .. })
        ));
    }

    const TYPE_HEADER: &str = "twitch-eventsub-message-type";
    const VERIFICATION: &str = "webhook_callback_verification";

    fn labelled(label: Option<&str>) -> http::request::Parts {
        match label {
            Some(l) => head(&[(TYPE_HEADER, l)]),
            None => head(&[]),
        }
    }

    /// `body` as Twitch signs it, labelled `label`: the layer's answer, if
    /// it is a handshake.
    fn answer(label: Option<&str>, body: &[u8]) -> Option<http::Response<bytes::Bytes>> {
        let s = Twitch::new("s3cre7").unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut req = crate::sign::Signer::new(&s)
            .id("m1")
            .timestamp(now)
            .request("/", body.to_vec())
            .unwrap();
        if let Some(l) = label {
            req.headers_mut().insert(TYPE_HEADER, l.parse().unwrap());
        }
        let (head, body) = req.into_parts();
        s.check(&head, &body, &Context::new(now, Tolerance::default()))
            .unwrap()
            .answer()
    }

    #[test]
    fn the_body_decides_the_message_type_whatever_the_header_says() {
        let s = Twitch::new("s3cre7").unwrap();
        let verification = br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"status":"webhook_callback_verification_pending"}}"#;
        let notification = br#"{"subscription":{"type":"channel.follow"},"event":{"user_id":"1"}}"#;
        let revocation = br#"{"subscription":{"status":"authorization_revoked"}}"#;
        for label in [
            Some(VERIFICATION),
            Some("notification"),
            Some("revocation"),
            Some("anything"),
            None,
        ] {
            let h = labelled(label);
            let answered = answer(label, verification).unwrap();
            assert_eq!(answered.status(), 200, "{label:?}");
            assert_eq!(answered.headers()["content-type"], "text/plain");
            assert_eq!(answered.headers()["x-content-type-options"], "nosniff");
            assert_eq!(
                answered.body().as_ref(),
                b"pogchamp-kappa-360noscope-vohiyo"
            );
            // Never before the body verified.
            assert!(s.challenge(&h).is_none());
            for body in [&notification[..], &revocation[..]] {
                assert!(answer(label, body).is_none(), "{label:?}");
            }
        }
    }

    #[test]
    fn a_verification_never_reaches_the_handler() {
        let status =
            |body: &str| answer(Some("notification"), body.as_bytes()).map(|r| r.status().as_u16());
        // Any top-level `challenge`, however spelt, is a verification.
        assert_eq!(
            status(r#"{"\u0063hallenge":"c","subscription":{}}"#),
            Some(200)
        );
        let long = "c".repeat(crate::scheme::handshake::MAX_CHALLENGE_LEN + 1);
        for bad in [
            r#"{"challenge":null,"subscription":{}}"#.to_owned(),
            r#"{"challenge":42}"#.to_owned(),
            r#"{"challenge":""}"#.to_owned(),
            r#"{"challenge":"a\u0000b"}"#.to_owned(),
            format!(r#"{{"challenge":"{long}"}}"#),
        ] {
            assert_eq!(status(&bad), Some(400), "{bad}");
        }
        // Not at the top level, or not JSON: not a verification.
        for other in [
            r#"{"subscription":{},"event":{"challenge":"c"}}"#,
            r#"[{"challenge":"c"}]"#,
            r#""challenge""#,
            "challenge=c",
        ] {
            assert_eq!(status(other), None, "{other}");
        }
    }
}
