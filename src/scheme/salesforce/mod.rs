//! [Salesforce Outbound Messages](https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging.htm)

mod ack;
mod ids;
mod message;
mod xml;

use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

pub use message::{Notification, OutboundMessage, SObject, SessionId};

use super::{
    Context, Dedup, Envelope, Format, KeyId, Scheme, SchemeConfigError, Sign, SignError, Verdict,
    VerifyError,
};

const NAME: &str = "salesforce";

/// Salesforce Outbound Messages: SOAP messages authenticated by an
/// `OrganizationId` allow-list (and the deployment's TLS client
/// certificate), read by a hardened XML reader, acknowledged as Salesforce
/// requires.
///
/// ```
/// use tower_webhook::scheme::{OutboundMessage, Salesforce};
/// use tower_webhook::{endpoint, Verified, WebhookLayer};
///
/// async fn handle(Verified(message, _): Verified<OutboundMessage>) -> http::StatusCode {
///     for n in &message.notifications {
///         println!("{} {} {:?}", n.id, n.sobject.object_type, n.sobject.get("Name"));
///     }
///     http::StatusCode::OK // the layer answers Salesforce's acknowledgement
/// }
/// let layer = WebhookLayer::new(Salesforce::new(["00D5e000000KQ2eEAG"])?);
/// let app: axum::Router = axum::Router::new().route("/salesforce", endpoint(layer, handle));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [Salesforce Outbound Messages](https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging.htm)
/// (feature `salesforce`).
///
/// Salesforce POSTs a SOAP 1.1 message (`text/xml`) holding 1 to 100
/// notifications of one outbound message action, and re-delivers it until
/// it receives a SOAP acknowledgement, for up to 24 hours, with growing
/// intervals and out of order.
///
/// # What authenticates a message, and what does not
///
/// **Salesforce signs nothing**: no signature, no HMAC, no timestamp. Two
/// things authenticate a message, and this scheme does only the first:
///
/// - **The `OrganizationId` allow-list** (required: [`Salesforce::new`]).
///   Salesforce writes the sending org's id into every message itself, so
///   a message that *came from Salesforce* with an allowed id came from one
///   of your orgs, not from another Salesforce customer who pointed an
///   outbound message at your URL. It proves nothing about a message that
///   did not come from Salesforce: the id is no secret (it is in every
///   org's URLs, reports and exports), and anyone who can reach the endpoint
///   can write it into a forged message. An optional `ActionId` allow-list
///   ([`Salesforce::action_ids`]) narrows it to given outbound messages.
/// - **The transport**, which the deployment must provide: HTTPS, with the
///   TLS server (or proxy) in front of this layer requiring the Salesforce
///   client certificate (Setup > "Downloading the Salesforce Client
///   Certificate"; mutual TLS). That proves the peer is Salesforce, not which
///   org (every org presents the same certificate): hence the allow-list.
///   Restricting the source to Salesforce's published IP ranges proves as
///   much, and no more. Without either, treat the endpoint as
///   unauthenticated: anyone can post a message with your `OrganizationId`
///   (a secret path segment in the registered URL only raises the bar).
///
/// Neither protects the message's content the way a signature does; TLS
/// protects it in transit only.
///
/// # Reading
///
/// The body is read by a hardened reader on `quick-xml`: any DTD
/// (`<!DOCTYPE`), processing instruction, or entity other than XML's five
/// is refused, and so are nesting deeper than 8, start tags over 2048 bytes
/// or 16 attributes, and more than 100 notifications; the size is the
/// layer's body limit. A refused body is 401, like every unverified
/// delivery; nothing is expanded, so a refusal costs one pass over the
/// bytes. The handler gets the message typed: it takes
/// `Verified<OutboundMessage>`.
///
/// # Acknowledgement
///
/// When the handler answers 2xx, the layer replaces its answer with the
/// acknowledgement Salesforce requires (the WSDL's `notificationsResponse`
/// with `<Ack>true</Ack>`, byte for byte, as `text/xml; charset=utf-8`), and
/// answers a copy already handled with it too. Any other answer of the
/// handler goes out as it is, and Salesforce delivers the message again. A
/// refused message is never acknowledged.
///
/// # Dedup
///
/// A message carries no id of its own; each notification has one
/// (`04l...`), the same in every delivery of that notification. The layer
/// remembers a message by its org and the set of its notification ids
/// (order ignored): the same notifications delivered again are acknowledged
/// without calling the handler. Salesforce queues and retries each
/// notification on its own and may batch them differently on a retry, so a
/// message can mix handled and new notifications: it is then handed to the
/// handler whole, never acknowledged unseen (a message is never taken for a
/// duplicate because *some* of its notifications were seen: that would
/// acknowledge, and lose, the new ones). Deduplicate the handler's work per
/// [`Notification::id`] where repeating it would hurt. There is no
/// timestamp: keep `WebhookLayer::untimed_retention` (3 days by default)
/// above Salesforce's 24 hours of retries. A record's fields are its state
/// when the message is sent, not a snapshot of the change.
///
/// ```
/// use tower_webhook::scheme::{Context, OutboundMessage, Salesforce, Scheme};
/// # let xml = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/salesforce/outbound_message.xml"));
/// let scheme = Salesforce::new(["00D5e000000KQ2e"])?; // the 15- or 18-character org id
/// let (head, ()) = http::Request::post("/salesforce").body(())?.into_parts();
/// let ctx = Context::new(std::time::SystemTime::now(), Default::default());
/// let envelope = scheme.check(&head, xml.as_bytes(), &ctx)?.envelope().expect("a delivery");
/// assert!(envelope.acknowledgement.is_some());
///
/// let other = Salesforce::new(["00D000000000001"])?;
/// assert!(other.check(&head, xml.as_bytes(), &ctx).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Salesforce {
    /// Allowed org ids, canonical 18-character forms; the first names the
    /// dedup namespace.
    organizations: Vec<String>,
    /// Allowed action ids, when restricted.
    actions: Option<Vec<String>>,
}

/// The allow-list of `what`: each entry a Salesforce id (15 or 18
/// characters), in canonical form.
fn allow_list(
    ids: impl IntoIterator<Item = impl AsRef<str>>,
    empty: &'static str,
    invalid: &'static str,
) -> Result<Vec<String>, SchemeConfigError> {
    let bad = |reason| SchemeConfigError::Invalid {
        scheme: NAME,
        reason,
    };
    let list = ids
        .into_iter()
        .map(|id| ids::canonical(id.as_ref().trim()).ok_or(bad(invalid)))
        .collect::<Result<Vec<_>, _>>()?;
    if list.is_empty() {
        return Err(bad(empty));
    }
    Ok(list)
}

/// Whether `id` is in `list`, compared in constant time with every entry.
fn allowed(list: &[String], id: &str) -> bool {
    let hit = list.iter().fold(Choice::from(0), |acc, a| {
        acc | a.as_bytes().ct_eq(id.as_bytes())
    });
    bool::from(hit)
}

impl Salesforce {
    /// A scheme that accepts messages from the orgs `organization_ids`
    /// (each 15 or 18 characters, as Setup > Company Information shows;
    /// organisation ids start with `00D`). At least one is required.
    ///
    /// ```
    /// use tower_webhook::scheme::{Salesforce, SchemeConfigError};
    /// let scheme = Salesforce::new(["00D5e000000KQ2e", "00D5e000000KQ2fEAG"])?;
    /// assert!(matches!(Salesforce::new(Vec::<String>::new()), Err(SchemeConfigError::Invalid { .. })));
    /// let e = Salesforce::new(["04k5e000000CaRk"]).unwrap_err();
    /// assert!(e.to_string().contains("00D"));
    /// # Ok::<(), SchemeConfigError>(())
    /// ```
    pub fn new(
        organization_ids: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, SchemeConfigError> {
        let organizations = allow_list(
            organization_ids,
            "no OrganizationId is allowed: pass the id of each Salesforce org that may send (Setup > Company Information) to Salesforce::new",
            "an OrganizationId is not a Salesforce id (15 or 18 letters and digits)",
        )?;
        if !organizations.iter().all(|id| id.starts_with("00D")) {
            return Err(SchemeConfigError::Invalid {
                scheme: NAME,
                reason: "an OrganizationId passed to Salesforce::new does not start with 00D (the prefix of organisation ids)",
            });
        }
        Ok(Self {
            organizations,
            actions: None,
        })
    }

    /// The allow-list from one setting (`by_name`'s secret): ids separated
    /// by commas or spaces.
    ///
    /// ```
    /// use tower_webhook::scheme::Salesforce;
    /// let scheme = Salesforce::from_list("00D5e000000KQ2eEAG, 00D5e000000KQ2f")?;
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn from_list(organization_ids: &str) -> Result<Self, SchemeConfigError> {
        Self::new(
            organization_ids
                .split([',', ' '])
                .filter(|s| !s.trim().is_empty()),
        )
    }

    /// Accepts only messages of these outbound message actions (`ActionId`,
    /// `04k...`), besides the org check.
    ///
    /// ```
    /// use tower_webhook::scheme::Salesforce;
    /// let scheme = Salesforce::new(["00D5e000000KQ2e"])?.action_ids(["04k5e000000CaRk"])?;
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    pub fn action_ids(
        mut self,
        action_ids: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, SchemeConfigError> {
        self.actions = Some(allow_list(
            action_ids,
            "Salesforce::action_ids was given no ActionId; leave it out to accept every action",
            "an ActionId passed to Salesforce::action_ids is not a Salesforce id (15 or 18 letters and digits)",
        )?);
        Ok(self)
    }
}

/// What the store remembers a message by: its org and the set of its
/// notification ids (sorted, canonical); the id itself for one
/// notification, a SHA-256 for several.
fn message_key(org: &str, message: &OutboundMessage) -> String {
    let mut notification_ids: Vec<String> = message
        .notification_ids()
        .filter_map(ids::canonical)
        .collect();
    notification_ids.sort_unstable();
    notification_ids.dedup();
    match notification_ids.as_slice() {
        [one] => format!("{org}:{one}"),
        many => {
            let digest = Sha256::digest(many.join(",").as_bytes());
            format!("{org}:sha256:{}", super::hex(&digest))
        }
    }
}

impl Scheme for Salesforce {
    type Head = ();

    fn name(&self) -> &'static str {
        NAME
    }

    /// The first configured org id's fingerprint: adding an org to the list
    /// keeps the dedup history.
    fn key_id(&self) -> KeyId {
        let first = self.organizations.first().map_or("", String::as_str);
        KeyId::from_public_key(first.as_bytes())
    }

    fn has_timestamp(&self) -> bool {
        false
    }

    /// Nothing in the head authenticates a message: it is all in the body.
    fn read(&self, _: &Parts, _: &Context) -> Result<(), VerifyError> {
        Ok(())
    }

    fn verify(&self, _: &Parts, (): (), body: &[u8], _: &Context) -> Result<Verdict, VerifyError> {
        let message = OutboundMessage::parse(body)?;
        let not_an_id = |reason| VerifyError::MalformedMessage { reason };
        let org = ids::canonical(&message.organization_id)
            .ok_or(not_an_id("the OrganizationId is not a Salesforce id"))?;
        if !allowed(&self.organizations, &org) {
            return Err(VerifyError::NotAllowed {
                field: "OrganizationId",
                setting: "Salesforce::new",
            });
        }
        if let Some(actions) = &self.actions {
            let action = ids::canonical(&message.action_id)
                .ok_or(not_an_id("the ActionId is not a Salesforce id"))?;
            if !allowed(actions, &action) {
                return Err(VerifyError::NotAllowed {
                    field: "ActionId",
                    setting: "Salesforce::action_ids",
                });
            }
        }
        Ok(Envelope::default()
            .with_dedup(Dedup::Value(message_key(&org, &message)))
            .with_format(Format::Xml)
            .with_acknowledgement(ack::acknowledgement())
            .into())
    }
}

impl Sign for Salesforce {
    /// Salesforce signs nothing: "signing" sets the content type it sends
    /// (`text/xml; charset=utf-8`) and leaves the body as it is. The event id
    /// and timestamp are not used.
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        _id: &str,
        _timestamp: SystemTime,
    ) -> Result<(), SignError> {
        request.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(ack::CONTENT_TYPE),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::test_support::deliver;

    const MESSAGE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/salesforce/outbound_message.xml"
    ));

    fn check(scheme: &Salesforce, body: &str) -> Result<Verdict, VerifyError> {
        let (head, ()) = http::Request::post("/").body(()).unwrap().into_parts();
        let ctx = Context::new(SystemTime::now(), Default::default());
        scheme.check(&head, body.as_bytes(), &ctx)
    }

    #[test]
    fn an_allowed_org_in_either_form_is_delivered_with_its_ack() {
        for id in [
            "00D5e000000KQ2e",
            "00D5e000000KQ2eEAG",
            "00d5e000000kq2eeag",
        ] {
            let scheme = Salesforce::new([id]).unwrap();
            let e = deliver(check(&scheme, MESSAGE).unwrap());
            assert_eq!(e.format, Format::Xml);
            assert_eq!(e.id, None);
            assert_eq!(e.acknowledgement, Some(ack::acknowledgement()));
            assert_eq!(
                e.dedup,
                Dedup::Value(format!(
                    "00D5e000000KQ2eEAG:sha256:{}",
                    super::super::hex(&Sha256::digest(b"04l5e00000Gx7QzAAJ,04l5e00000Gx7R0AAJ"))
                ))
            );
        }
        // Among several allowed orgs.
        let scheme = Salesforce::from_list("00D000000000001, 00D5e000000KQ2e").unwrap();
        assert!(check(&scheme, MESSAGE).is_ok());
    }

    #[test]
    fn other_orgs_and_actions_are_refused() {
        let scheme = Salesforce::new(["00D000000000001"]).unwrap();
        assert_eq!(
            check(&scheme, MESSAGE).map(drop),
            Err(VerifyError::NotAllowed {
                field: "OrganizationId",
                setting: "Salesforce::new"
            })
        );
        // The 15-character form is case-sensitive.
        let scheme = Salesforce::new(["00D5E000000KQ2e"]).unwrap();
        assert!(check(&scheme, MESSAGE).is_err());
        let scheme = Salesforce::new(["00D5e000000KQ2e"])
            .unwrap()
            .action_ids(["04k000000000001"])
            .unwrap();
        assert!(matches!(
            check(&scheme, MESSAGE),
            Err(VerifyError::NotAllowed {
                field: "ActionId",
                ..
            })
        ));
        let scheme = Salesforce::new(["00D5e000000KQ2e"])
            .unwrap()
            .action_ids(["04k5e000000CaRkAAK"])
            .unwrap();
        assert!(check(&scheme, MESSAGE).is_ok());
        let bad_org = MESSAGE.replace("00D5e000000KQ2eEAG</", "00D5e000000KQ2eXXX</");
        let scheme = Salesforce::new(["00D5e000000KQ2e"]).unwrap();
        assert!(matches!(
            check(&scheme, &bad_org),
            Err(VerifyError::MalformedMessage { .. })
        ));
    }

    #[test]
    fn the_message_key_is_the_set_of_notification_ids() {
        let m = OutboundMessage::parse(MESSAGE.as_bytes()).unwrap();
        let mut swapped = m.clone();
        swapped.notifications.reverse();
        assert_eq!(message_key("o", &m), message_key("o", &swapped));
        assert_ne!(message_key("o", &m), message_key("p", &m));
        let mut one = m.clone();
        one.notifications.truncate(1);
        assert_eq!(message_key("o", &one), "o:04l5e00000Gx7QzAAJ");
    }

    #[test]
    fn configuration_errors_name_the_setting() {
        let e = Salesforce::new(Vec::<&str>::new()).unwrap_err().to_string();
        assert!(e.contains("Salesforce::new"), "{e}");
        let e = Salesforce::from_list(" , ").unwrap_err().to_string();
        assert!(e.contains("Salesforce::new"), "{e}");
        let e = Salesforce::new(["not-an-id"]).unwrap_err().to_string();
        assert!(e.contains("OrganizationId"), "{e}");
        let e = Salesforce::new(["00D5e000000KQ2e"])
            .unwrap()
            .action_ids(Vec::<&str>::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("Salesforce::action_ids"), "{e}");
    }

    #[test]
    fn signing_only_sets_the_content_type() {
        let scheme = Salesforce::new(["00D5e000000KQ2e"]).unwrap();
        let mut req = http::Request::post("/")
            .body(Bytes::from_static(MESSAGE.as_bytes()))
            .unwrap();
        scheme.sign(&mut req, "x", SystemTime::now()).unwrap();
        assert_eq!(req.headers()["content-type"], ack::CONTENT_TYPE);
        assert_eq!(req.body().as_ref(), MESSAGE.as_bytes());
    }
}
