//! The typed payload of an outbound message: [`OutboundMessage`], its
//! [`Notification`]s and their [`SObject`]s.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use zeroize::Zeroizing;

use super::xml;

/// A Salesforce outbound message, as the handler receives it: the
/// `notifications` element of the SOAP body, read by the scheme's hardened
/// XML reader.
///
/// With the layer: a handler taking `Verified<OutboundMessage>`. The layer answers Salesforce's SOAP
/// acknowledgement when the handler answers 2xx.
///
/// ```
/// use tower_webhook::scheme::OutboundMessage;
/// let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
/// <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
///  <soapenv:Body>
///   <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
///    <OrganizationId>00D5e000000KQ2eEAG</OrganizationId>
///    <ActionId>04k5e000000CaRkAAK</ActionId>
///    <SessionId xsi:nil="true"/>
///    <EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/59.0/00D5e000000KQ2e</EnterpriseUrl>
///    <PartnerUrl>https://example.my.salesforce.com/services/Soap/u/59.0/00D5e000000KQ2e</PartnerUrl>
///    <Notification>
///     <Id>04l5e00000Gx7QzAAJ</Id>
///     <sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
///      <sf:Id>0015e00000ABCDeAAP</sf:Id>
///      <sf:Name>Acme &amp; Co</sf:Name>
///     </sObject>
///    </Notification>
///   </notifications>
///  </soapenv:Body>
/// </soapenv:Envelope>"#;
/// let message = OutboundMessage::parse(xml.as_bytes())?;
/// assert_eq!(message.organization_id, "00D5e000000KQ2eEAG");
/// let account = &message.notifications[0].sobject;
/// assert_eq!(account.object_type, "Account");
/// assert_eq!(account.get("Name"), Some("Acme & Co"));
/// assert!(message.session_id().is_none());
/// # Ok::<(), tower_webhook::scheme::VerifyError>(())
/// ```
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct OutboundMessage {
    /// The sending organisation's id, as Salesforce wrote it (18
    /// characters).
    #[serde(rename = "OrganizationId")]
    pub organization_id: String,
    /// The outbound message (workflow action) that sent it.
    #[serde(rename = "ActionId")]
    pub action_id: String,
    /// A session id for calling back into Salesforce, when the outbound
    /// message is configured to send one. Never serialized, never shown.
    #[serde(skip)]
    pub(crate) session_id: Option<SessionId>,
    /// The enterprise API endpoint to call back on.
    #[serde(rename = "EnterpriseUrl")]
    pub enterprise_url: Option<String>,
    /// The partner API endpoint to call back on.
    #[serde(rename = "PartnerUrl")]
    pub partner_url: Option<String>,
    /// The notifications, 1 to 100, in document order.
    #[serde(rename = "Notification")]
    pub notifications: Vec<Notification>,
}

impl OutboundMessage {
    /// Reads an outbound message with the hardened reader the scheme uses
    /// (see [`Salesforce`](crate::scheme::Salesforce)): no DTD, no entity
    /// but XML's five and character references, bounded depth, tag sizes
    /// and notification count. Parsing checks the form only; the
    /// `OrganizationId` allow-list is the scheme's.
    ///
    /// ```
    /// use tower_webhook::scheme::{OutboundMessage, VerifyError};
    /// let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><lolz>&lol;</lolz>"#;
    /// assert!(matches!(OutboundMessage::parse(bomb.as_bytes()), Err(VerifyError::MalformedMessage { .. })));
    /// ```
    pub fn parse(body: &[u8]) -> Result<Self, crate::scheme::VerifyError> {
        xml::parse(body).map_err(|reason| crate::scheme::VerifyError::MalformedMessage { reason })
    }

    /// The session id Salesforce sent, if the outbound message sends one.
    /// It is a live credential: it is never logged, serialized or shown by
    /// `Debug`.
    ///
    /// ```
    /// # use tower_webhook::scheme::OutboundMessage;
    /// # let xml = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/salesforce/outbound_message.xml"));
    /// let message = OutboundMessage::parse(xml.as_bytes())?;
    /// let session = message.session_id().expect("sent");
    /// assert!(!format!("{message:?}").contains(session.expose()));
    /// # Ok::<(), tower_webhook::scheme::VerifyError>(())
    /// ```
    pub fn session_id(&self) -> Option<&SessionId> {
        self.session_id.as_ref()
    }

    /// The notification ids, in document order: what to deduplicate the
    /// handler's work on (Salesforce may deliver a notification again in
    /// another message).
    ///
    /// ```
    /// # use tower_webhook::scheme::OutboundMessage;
    /// # let xml = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/salesforce/outbound_message.xml"));
    /// let message = OutboundMessage::parse(xml.as_bytes())?;
    /// assert_eq!(message.notification_ids().count(), message.notifications.len());
    /// # Ok::<(), tower_webhook::scheme::VerifyError>(())
    /// ```
    pub fn notification_ids(&self) -> impl Iterator<Item = &str> {
        self.notifications.iter().map(|n| n.id.as_str())
    }
}

/// One notification: its id and the record's fields at the time of sending.
///
/// ```
/// # use tower_webhook::scheme::OutboundMessage;
/// # let xml = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/salesforce/outbound_message.xml"));
/// let message = OutboundMessage::parse(xml.as_bytes())?;
/// let n = &message.notifications[0];
/// assert_eq!(n.id, "04l5e00000Gx7QzAAJ");
/// # Ok::<(), tower_webhook::scheme::VerifyError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Notification {
    /// The notification id (`04l...`), the same in every delivery of this
    /// notification.
    #[serde(rename = "Id")]
    pub id: String,
    /// The record.
    #[serde(rename = "sObject")]
    pub sobject: SObject,
}

/// A record sent with a notification: its type and the fields the outbound
/// message selects. Salesforce sends the record's state when the message is
/// sent (a retry sends the latest state), not a snapshot of the change.
///
/// ```
/// # use tower_webhook::scheme::OutboundMessage;
/// # let xml = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/salesforce/outbound_message.xml"));
/// let message = OutboundMessage::parse(xml.as_bytes())?;
/// let account = &message.notifications[0].sobject;
/// assert_eq!(account.id(), Some("0015e00000ABCDeAAP"));
/// # Ok::<(), tower_webhook::scheme::VerifyError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SObject {
    /// The object's API name (`Account`, `Opportunity`, `My_Object__c`),
    /// from `xsi:type` without its prefix.
    #[serde(rename = "type")]
    pub object_type: String,
    /// The fields by API name (without the `sf:` prefix); `None` for a
    /// field sent as `xsi:nil`.
    pub fields: BTreeMap<String, Option<String>>,
}

impl SObject {
    /// The value of field `name`, when present and not nil.
    ///
    /// ```
    /// # use tower_webhook::scheme::OutboundMessage;
    /// # let xml = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/salesforce/outbound_message.xml"));
    /// let message = OutboundMessage::parse(xml.as_bytes())?;
    /// assert_eq!(message.notifications[0].sobject.get("Name"), Some("Acme & Co"));
    /// assert_eq!(message.notifications[0].sobject.get("Missing"), None);
    /// # Ok::<(), tower_webhook::scheme::VerifyError>(())
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name)?.as_deref()
    }

    /// The record's `Id` field.
    ///
    /// ```
    /// # use tower_webhook::scheme::OutboundMessage;
    /// # let xml = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/salesforce/outbound_message.xml"));
    /// let message = OutboundMessage::parse(xml.as_bytes())?;
    /// assert!(message.notifications[1].sobject.id().is_some());
    /// # Ok::<(), tower_webhook::scheme::VerifyError>(())
    /// ```
    pub fn id(&self) -> Option<&str> {
        self.get("Id")
    }
}

/// The `SessionId` of an outbound message: a live credential for the
/// Salesforce API. Zeroized on drop; `Debug` never shows it.
///
/// ```
/// # use tower_webhook::scheme::OutboundMessage;
/// # let xml = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/salesforce/outbound_message.xml"));
/// let message = OutboundMessage::parse(xml.as_bytes())?;
/// let session = message.session_id().expect("sent");
/// assert_eq!(format!("{session:?}"), "SessionId(<redacted>)");
/// assert!(!session.expose().is_empty());
/// # Ok::<(), tower_webhook::scheme::VerifyError>(())
/// ```
#[derive(Clone)]
pub struct SessionId(Zeroizing<String>);

impl SessionId {
    pub(crate) fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The session id itself, to call the Salesforce API with.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// A verified message, read with the scheme's hardened reader: what
/// `Verified<OutboundMessage>` hands the handler.
///
/// ```
/// use tower_webhook::{Delivery, scheme::{Format, OutboundMessage}};
/// # let xml = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/salesforce/outbound_message.xml"));
/// let (head, _) = http::Request::new(()).into_parts();
/// let message: OutboundMessage = Delivery::for_tests(xml, Format::Xml).decode(&head)?;
/// assert_eq!(message.notifications.len(), 2);
/// let e = Delivery::for_tests("<!DOCTYPE x>", Format::Xml).decode::<OutboundMessage>(&head).unwrap_err();
/// assert!(e.to_string().contains("DOCTYPE"));
/// # Ok::<(), tower_webhook::payload::PayloadError>(())
/// ```
impl crate::payload::Decode for OutboundMessage {
    fn decode(
        delivery: &crate::Delivery,
        _: &http::request::Parts,
    ) -> Result<Self, crate::payload::PayloadError> {
        xml::parse(&delivery.raw).map_err(|e| crate::payload::PayloadError::Other {
            type_name: "tower_webhook::scheme::OutboundMessage",
            message: e.to_string(),
        })
    }
}
