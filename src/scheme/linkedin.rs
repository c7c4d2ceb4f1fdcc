//! [LinkedIn](https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation)

use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;

use super::handshake::{json_response, query_param};
use super::hmac::{HmacHead, header_value, text_secret_constructors};
use super::{Context, HmacScheme, KeyId, Part, Scheme, Sign, SignError, Verdict, VerifyError, hex};
use crate::secret::{KeyRing, SecretError};

const HEADER: &str = "x-li-signature";
const PREFIX: &str = "hmacsha256=";

/// Whether `code` has the form of LinkedIn's `challengeCode`: a UUID, 36
/// bytes, 8-4-4-4-12 hex digits of either case separated by `-`. The only
/// codes answered, and (under the bare-body reading) the bodies refused.
fn is_challenge_code(code: &[u8]) -> bool {
    code.len() == 36
        && code.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// What LinkedIn's `X-LI-Signature` signs: its documentation reads two ways
/// (see [`LinkedIn`]); both are accepted unless [`LinkedIn::reading`] pins one.
///
/// ```
/// use tower_webhook::scheme::{LinkedIn, LinkedInReading};
/// let scheme = LinkedIn::new("client-secret")?.reading(LinkedInReading::PrefixedBody);
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkedInReading {
    /// The documentation's wording taken literally: the header is
    /// `hex(HMAC-SHA256(clientSecret, "hmacsha256=" + body))`.
    PrefixedBody,
    /// The header is `hmacsha256=` followed by
    /// `hex(HMAC-SHA256(clientSecret, body))`. A body starting with
    /// `hmacsha256=`, or that is a UUID, is refused under this reading.
    BareBody,
}

/// [LinkedIn](https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation)
///
///
/// ```
/// use tower_webhook::scheme::{LinkedIn, Scheme};
/// // Rotating the clientSecret: accept the new and the old one.
/// let scheme = LinkedIn::with_secrets(["new-secret", "old-secret"])?;
/// assert_eq!((scheme.name(), scheme.key_count()), ("linkedin", 2));
/// assert!(!scheme.has_timestamp());
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
#[derive(Clone, Debug)]
pub struct LinkedIn {
    /// Signs `"hmacsha256=" + body`; also answers the validation request.
    prefixed: HmacScheme,
    /// Signs the body alone.
    bare: HmacScheme,
    /// `None`: both readings.
    reading: Option<LinkedInReading>,
}

fn engine(content: &[Part], ring: &KeyRing) -> Result<HmacScheme, SecretError> {
    HmacScheme::builder("linkedin", HEADER)
        .optional_prefix(PREFIX)
        .id_json("/notificationId")
        .content(content.iter().copied())
        .build_keys(ring)
}

/// Under the bare-body reading, a body starting with the prefix could carry
/// a prefixed-body signature of another body, and a body that is a UUID
/// could carry the answer to a validation request: both refused.
fn bare_reading_allows(body: &[u8]) -> Result<(), VerifyError> {
    if body.starts_with(PREFIX.as_bytes()) {
        return Err(VerifyError::MalformedBody {
            reason: "it starts with `hmacsha256=`, which the bare-body reading of `x-li-signature` refuses",
        });
    }
    if is_challenge_code(body) {
        return Err(VerifyError::MalformedBody {
            reason: "it is a UUID, the form of a challengeCode, which the bare-body reading of `x-li-signature` refuses",
        });
    }
    Ok(())
}

text_secret_constructors!(LinkedIn, |ring| Ok(Self {
    prefixed: engine(&[Part::Literal(PREFIX), Part::Body], ring)?,
    bare: engine(&[Part::Body], ring)?,
    reading: None,
}));

impl LinkedIn {
    /// Accepts only `reading` (default: both), and signs with it.
    ///
    /// ```
    /// use tower_webhook::scheme::{LinkedIn, LinkedInReading};
    /// use tower_webhook::sign::Signer;
    ///
    /// let scheme = LinkedIn::new("client-secret")?.reading(LinkedInReading::BareBody);
    /// let request = Signer::new(&scheme).request("/li", "{}")?;
    /// assert!(request.headers()["x-li-signature"].to_str()?.starts_with("hmacsha256="));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reading(mut self, reading: LinkedInReading) -> Self {
        self.reading = Some(reading);
        self
    }

    /// How many secrets are active.
    pub fn key_count(&self) -> usize {
        self.prefixed.key_count()
    }
}

impl Scheme for LinkedIn {
    type Head = HmacHead;

    fn name(&self) -> &'static str {
        "linkedin"
    }

    fn key_id(&self) -> KeyId {
        self.prefixed.key_id()
    }

    fn has_timestamp(&self) -> bool {
        false
    }

    /// The answer to `GET ?challengeCode=<UUID>`: the code and its HMAC
    /// (newest secret) in hex, as JSON.
    fn challenge(&self, head: &Parts) -> Option<http::Response<Bytes>> {
        if head.method != http::Method::GET {
            return None;
        }
        let code = query_param(head, "challengeCode")?;
        // Only LinkedIn's form: the answer must never sign a delivery.
        if !is_challenge_code(code.as_bytes()) {
            return None;
        }
        let response = hex(&self.prefixed.tag_first(code.as_bytes()));
        json_response(&serde_json::json!({
            "challengeCode": code,
            "challengeResponse": response,
        }))
    }

    fn read(&self, head: &Parts, ctx: &Context) -> Result<HmacHead, VerifyError> {
        // Both engines read the same header the same way.
        self.prefixed.read(head, ctx)
    }

    fn verify(
        &self,
        head: &Parts,
        read: HmacHead,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        match self.reading {
            Some(LinkedInReading::PrefixedBody) => self.prefixed.verify(head, read, body, ctx),
            Some(LinkedInReading::BareBody) => {
                bare_reading_allows(body)?;
                self.bare.verify(head, read, body, ctx)
            }
            None => match self.prefixed.verify(head, read.clone(), body, ctx) {
                Err(VerifyError::NoMatch { .. }) if bare_reading_allows(body).is_ok() => {
                    self.bare.verify(head, read, body, ctx)
                }
                result => result,
            },
        }
    }
}

impl Sign for LinkedIn {
    /// Writes `X-LI-Signature` under the prefixed-body reading (plain hex),
    /// or under the bare-body reading (`hmacsha256=` + hex) when pinned to
    /// it; `id` is ignored (the body carries `notificationId`).
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        if self.reading != Some(LinkedInReading::BareBody) {
            return self.prefixed.sign(request, id, timestamp);
        }
        if bare_reading_allows(request.body()).is_err() {
            return Err(SignError::Invalid(
                "the bare-body reading of `x-li-signature` refuses a body starting with `hmacsha256=` or that is a UUID".to_owned(),
            ));
        }
        // This reading puts the prefix into the header.
        let tag = hex(&self.bare.tag_first(request.body()));
        let value = header_value(&format!("{PREFIX}{tag}"))?;
        request.headers_mut().insert(HEADER, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::test_support::{deliver, hmac_sha256};
    use crate::scheme::{Envelope, Tolerance};

    const SECRET: &str = "li-client-secret";
    const BODY: &[u8] =
        br#"{"notificationId":4387123,"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS"}"#;

    /// Hex HMAC-SHA256 of `parts`, computed with the `hmac` crate directly.
    fn reference(secret: &str, parts: &[&[u8]]) -> String {
        hex(&hmac_sha256(secret, parts))
    }

    fn reading1(body: &[u8]) -> String {
        reference(SECRET, &[b"hmacsha256=", body])
    }

    fn reading2(body: &[u8]) -> String {
        format!("hmacsha256={}", reference(SECRET, &[body]))
    }

    fn verify(scheme: &LinkedIn, value: &str, body: &[u8]) -> Result<Envelope, VerifyError> {
        let (head, ()) = http::Request::post("/li")
            .header(HEADER, value)
            .body(())
            .unwrap()
            .into_parts();
        let ctx = Context::new(SystemTime::now(), Tolerance::default());
        scheme.check(&head, body, &ctx).map(deliver)
    }

    fn get(uri: &str) -> Parts {
        http::Request::get(uri).body(()).unwrap().into_parts().0
    }

    #[test]
    fn both_readings_verify_with_and_without_the_header_prefix() {
        let s = LinkedIn::new(SECRET).unwrap();
        let r1 = reading1(BODY);
        let r2 = reading2(BODY);
        for value in [
            r1.clone(),
            format!("hmacsha256={r1}"),
            r2.clone(),
            r2["hmacsha256=".len()..].to_owned(),
        ] {
            let env = verify(&s, &value, BODY).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!(env.id.as_deref(), Some("4387123"));
        }
        assert!(matches!(
            verify(&s, &r1, b"{\"notificationId\":4387124}"),
            Err(VerifyError::NoMatch { .. })
        ));
        assert!(matches!(
            verify(&s, &r2, b"{\"notificationId\":4387124}"),
            Err(VerifyError::NoMatch { .. })
        ));
    }

    #[test]
    fn upper_case_hex_verifies() {
        let s = LinkedIn::new(SECRET).unwrap();
        assert!(verify(&s, &reading1(BODY).to_uppercase(), BODY).is_ok());
        let r2 = reading2(BODY);
        let upper = format!("hmacsha256={}", r2["hmacsha256=".len()..].to_uppercase());
        assert!(verify(&s, &upper, BODY).is_ok());
    }

    #[test]
    fn a_prefixed_body_signature_never_verifies_the_prefixed_body_as_bare() {
        // Reading 1 over body B signs exactly the bytes "hmacsha256=" + B,
        // which reading 2 would take as the signature of body "hmacsha256=" + B.
        let b = br#"{"notificationId":1}"#;
        let forged_body = [b"hmacsha256=".as_slice(), b.as_slice()].concat();
        let sig = reading1(b);
        assert_eq!(
            sig,
            reference(SECRET, &[&forged_body]),
            "the collision is real"
        );
        let both = LinkedIn::new(SECRET).unwrap();
        assert!(verify(&both, &sig, b).is_ok());
        assert!(matches!(
            verify(&both, &sig, &forged_body),
            Err(VerifyError::NoMatch { .. })
        ));
        let bare = LinkedIn::new(SECRET)
            .unwrap()
            .reading(LinkedInReading::BareBody);
        let r = verify(&bare, &sig, &forged_body);
        assert!(matches!(r, Err(VerifyError::MalformedBody { .. })), "{r:?}");
        assert!(r.unwrap_err().to_string().contains("x-li-signature"));
        // And the signer refuses to produce such a delivery.
        let mut req = http::Request::post("/")
            .body(Bytes::from(forged_body))
            .unwrap();
        assert!(matches!(
            bare.sign(&mut req, "", SystemTime::now()),
            Err(SignError::Invalid(_))
        ));
    }

    #[test]
    fn a_pinned_reading_refuses_the_other() {
        let r1 = reading1(BODY);
        let r2 = reading2(BODY);
        let one = LinkedIn::new(SECRET)
            .unwrap()
            .reading(LinkedInReading::PrefixedBody);
        assert!(verify(&one, &r1, BODY).is_ok());
        assert!(matches!(
            verify(&one, &r2, BODY),
            Err(VerifyError::NoMatch { .. })
        ));
        let two = LinkedIn::new(SECRET)
            .unwrap()
            .reading(LinkedInReading::BareBody);
        assert!(verify(&two, &r2, BODY).is_ok());
        assert!(matches!(
            verify(&two, &r1, BODY),
            Err(VerifyError::NoMatch { .. })
        ));
    }

    #[test]
    fn sign_writes_each_reading_as_documented() {
        let sign = |s: &LinkedIn| {
            let mut req = http::Request::post("/")
                .body(Bytes::from_static(BODY))
                .unwrap();
            s.sign(&mut req, "ignored", SystemTime::now()).unwrap();
            req.headers()[HEADER].to_str().unwrap().to_owned()
        };
        let s = LinkedIn::new(SECRET).unwrap();
        assert_eq!(sign(&s), reading1(BODY));
        assert_eq!(
            sign(&s.clone().reading(LinkedInReading::PrefixedBody)),
            reading1(BODY)
        );
        assert_eq!(sign(&s.reading(LinkedInReading::BareBody)), reading2(BODY));
    }

    #[test]
    fn rotation_any_secret() {
        let s = LinkedIn::with_secrets(["new-secret", SECRET]).unwrap();
        assert!(verify(&s, &reading1(BODY), BODY).is_ok());
        assert!(verify(&s, &reading2(BODY), BODY).is_ok());
        assert!(verify(&LinkedIn::new("new-secret").unwrap(), &reading1(BODY), BODY).is_err());
    }

    #[test]
    fn notification_id_string_number_or_absent() {
        let s = LinkedIn::new(SECRET).unwrap();
        let cases: [(&[u8], Option<&str>); 6] = [
            (br#"{"notificationId":"n-7"}"#, Some("n-7")),
            (br#"{"notificationId":12}"#, Some("12")),
            (br#"{"notificationId":{"x":1}}"#, None),
            (br#"{"type":"LEAD_ACTION"}"#, None),
            (br#"{"notifications":[{"notificationId":1}]}"#, None),
            (b"not json", None),
        ];
        for (body, id) in cases {
            let env = verify(&s, &reading1(body), body).unwrap();
            assert_eq!(env.id.as_deref(), id, "{}", String::from_utf8_lossy(body));
            assert_eq!(env.id_signed, id.is_some());
        }
        // An id that breaks the id rule (1 to 256 bytes) is refused, as
        // every sender's is.
        let long = format!(r#"{{"notificationId":"{}"}}"#, "n".repeat(257));
        for body in [&br#"{"notificationId":""}"#[..], long.as_bytes()] {
            assert!(matches!(
                verify(&s, &reading1(body), body),
                Err(VerifyError::MalformedBody { .. })
            ));
        }
    }

    #[test]
    fn missing_or_malformed_header() {
        let s = LinkedIn::new(SECRET).unwrap();
        let (head, ()) = http::Request::post("/").body(()).unwrap().into_parts();
        let ctx = Context::new(SystemTime::now(), Tolerance::default());
        assert_eq!(
            s.read(&head, &ctx).err(),
            Some(VerifyError::MissingHeader { header: HEADER })
        );
        assert_eq!(
            s.check(&head, BODY, &ctx).err(),
            Some(VerifyError::MissingHeader { header: HEADER })
        );
        let r1 = reading1(BODY);
        for bad in ["", "hmacsha256=", "hmacsha256=xyz", &r1[..63], "sha256=00"] {
            assert!(verify(&s, bad, BODY).is_err(), "{bad}");
        }
        let e = verify(&s, &reading1(b"other"), BODY)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x-li-signature"), "{e}");
        assert!(!e.contains(&reading1(b"other")[..16]), "{e}");
        assert!(!format!("{s:?}").contains(SECRET));
    }

    #[test]
    fn challenge_answered_with_an_independent_hmac() {
        let s = LinkedIn::new(SECRET).unwrap();
        let code = "890e4665-4dfe-4ab1-b689-ed553bceeed0";
        let answer = s
            .challenge(&get(&format!("/li?challengeCode={code}&applicationId=42")))
            .unwrap();
        assert_eq!(answer.status(), http::StatusCode::OK);
        assert_eq!(answer.headers()["content-type"], "application/json");
        assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
        let json: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "challengeCode": code,
                "challengeResponse": reference(SECRET, &[code.as_bytes()]),
            })
        );
        // With several secrets, the newest answers.
        let rotated = LinkedIn::with_secrets([SECRET, "older"]).unwrap();
        let answer = rotated
            .challenge(&get(&format!("/li?challengeCode={code}")))
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
        assert_eq!(
            json["challengeResponse"],
            reference(SECRET, &[code.as_bytes()])
        );
    }

    const CODE: &str = "890e4665-4dfe-4ab1-b689-ed553bceeed0";

    #[test]
    fn challenge_not_answered_on_post_or_without_a_code() {
        let s = LinkedIn::new(SECRET).unwrap();
        let post = http::Request::post(format!("/li?challengeCode={CODE}"))
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert!(s.challenge(&post).is_none());
        // Once past `challenge`, a request is a delivery to verify: `check`
        // never answers the validation request.
        let ctx = Context::new(SystemTime::now(), Tolerance::default());
        let unsigned = |head: &Parts, body: &[u8]| {
            assert_eq!(
                s.check(head, body, &ctx).err(),
                Some(VerifyError::MissingHeader { header: HEADER })
            );
        };
        unsigned(&post, b"{}");
        unsigned(&get(&format!("/li?challengeCode={CODE}")), b"");
        assert!(s.challenge(&get("/li")).is_none());
        assert!(
            s.challenge(&get(&format!("/li?challenge={CODE}")))
                .is_none()
        );
        assert!(s.challenge(&get("/li?challengeCode=")).is_none());
    }

    #[test]
    fn only_uuid_codes_are_answered() {
        for ok in [
            CODE,
            "890E4665-4DFE-4AB1-B689-ED553BCEEED0",
            "890e4665-4DFE-4ab1-B689-ed553bceeed0",
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
        ] {
            assert!(is_challenge_code(ok.as_bytes()), "{ok}");
        }
        let bad = [
            "",
            "abc",
            "890e4665-4dfe-4ab1-b689-ed553bceeed",
            "890e4665-4dfe-4ab1-b689-ed553bceeed00",
            "890e46654dfe-4ab1-b689-ed553bceeed0-",
            "890e4665_4dfe-4ab1-b689-ed553bceeed0",
            "890e4665-4dfe-4ab1-b689-ed553bceeedg",
            "890e4665-4dfe-4ab1-b689-ed553bceeed ",
            " 890e4665-4dfe-4ab1-b689-ed553bceeed",
            "890e46654dfe4ab1b689ed553bceeed0abcd",
            "{890e4665-4dfe-4ab1-b689-ed553bceeed}",
            "hmacsha256=890e4665-4dfe-4ab1-b689-e",
            "890e4665-4dfe-4ab1-b689-ed553bceee\u{e9}",
        ];
        for code in bad {
            assert!(!is_challenge_code(code.as_bytes()), "{code:?}");
        }
        let s = LinkedIn::new(SECRET).unwrap();
        let ask = |query: &str| s.challenge(&get(&format!("/li?challengeCode={query}")));
        assert!(ask(CODE).is_some());
        assert!(ask(&CODE.to_uppercase()).is_some());
        for query in [
            "abc",
            "a%22b%5Cc%3C%2Fscript%3E%0Ad%C3%A9",
            "%7B%22notificationId%22%3A1%7D",
            "hmacsha256%3D%7B%7D",
            "890e4665-4dfe-4ab1-b689-ed553bceeed0%20",
            "%20890e4665-4dfe-4ab1-b689-ed553bceeed0",
            "890e4665-4dfe-4ab1-b689-ed553bceeed",
        ] {
            assert!(ask(query).is_none(), "{query}");
        }
    }

    #[test]
    fn a_body_that_is_a_uuid_never_verifies_so_no_challenge_answer_is_a_signature() {
        // The answer to the validation request for CODE ...
        let answer = reference(SECRET, &[CODE.as_bytes()]);
        let both = LinkedIn::new(SECRET).unwrap();
        let json: serde_json::Value = serde_json::from_slice(
            both.challenge(&get(&format!("/li?challengeCode={CODE}")))
                .unwrap()
                .body(),
        )
        .unwrap();
        assert_eq!(json["challengeResponse"], answer.as_str());
        // ... is the bare-body signature of the body CODE, which is refused
        // under every reading, with and without the header's prefix.
        let bare = LinkedIn::new(SECRET)
            .unwrap()
            .reading(LinkedInReading::BareBody);
        let prefixed = LinkedIn::new(SECRET)
            .unwrap()
            .reading(LinkedInReading::PrefixedBody);
        for body in [CODE.to_owned(), CODE.to_uppercase()] {
            let answer = reference(SECRET, &[body.as_bytes()]);
            for value in [answer.clone(), format!("hmacsha256={answer}")] {
                assert!(matches!(
                    verify(&both, &value, body.as_bytes()),
                    Err(VerifyError::NoMatch { .. })
                ));
                assert!(matches!(
                    verify(&prefixed, &value, body.as_bytes()),
                    Err(VerifyError::NoMatch { .. })
                ));
                let r = verify(&bare, &value, body.as_bytes());
                assert!(matches!(r, Err(VerifyError::MalformedBody { .. })), "{r:?}");
                assert!(r.unwrap_err().to_string().contains("x-li-signature"));
            }
        }
        // A UUID with anything around it is another message: no answer
        // signs it, and the bare reading verifies it as signed.
        for body in [
            format!(" {CODE}"),
            format!("{CODE}\n"),
            format!("\"{CODE}\""),
        ] {
            assert!(verify(&bare, &reading2(body.as_bytes()), body.as_bytes()).is_ok());
            assert!(verify(&both, &reading2(body.as_bytes()), body.as_bytes()).is_ok());
        }
        // The signer refuses to write such a delivery under the bare reading;
        // the prefixed reading signs it (its content is never a UUID).
        let mut req = http::Request::post("/").body(Bytes::from(CODE)).unwrap();
        assert!(matches!(
            bare.sign(&mut req, "", SystemTime::now()),
            Err(SignError::Invalid(_))
        ));
        assert!(prefixed.sign(&mut req, "", SystemTime::now()).is_ok());
        let value = req.headers()[HEADER].to_str().unwrap().to_owned();
        assert!(verify(&prefixed, &value, CODE.as_bytes()).is_ok());
        assert!(verify(&both, &value, CODE.as_bytes()).is_ok());
    }

    #[test]
    fn challenge_code_is_echoed_in_the_json_answer_as_sent() {
        let s = LinkedIn::new(SECRET).unwrap();
        let code = "890E4665-4dfe-4AB1-b689-ED553bceeed0";
        let answer = s
            .challenge(&get(&format!("/li?challengeCode={code}")))
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
        assert_eq!(json["challengeCode"], code);
        assert_eq!(
            json["challengeResponse"],
            reference(SECRET, &[code.as_bytes()])
        );
        assert_eq!(json.as_object().unwrap().len(), 2);
    }
}
