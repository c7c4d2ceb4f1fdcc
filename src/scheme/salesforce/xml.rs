//! The hardened reader of outbound messages, on `quick-xml`'s namespace-aware
//! pull reader over the buffered body (no copy, no recursion).
//!
//! What it refuses, each before it costs more than a pass over the bytes:
//!
//! - any `<!DOCTYPE>` (so no DTD, no entity declaration, no external
//!   reference), any processing instruction, and every entity reference but
//!   XML's five (`&lt;` `&gt;` `&amp;` `&apos;` `&quot;`) and character
//!   references: nothing is ever expanded, so no "billion laughs";
//! - elements nested deeper than [`MAX_DEPTH`] (the message needs 6);
//! - a start tag (name and attributes) longer than [`MAX_TAG_LEN`] bytes or
//!   with more than [`MAX_ATTRIBUTES`] attributes, and more than
//!   [`MAX_BINDINGS`] namespace declarations in scope;
//! - more than [`MAX_NOTIFICATIONS`] notifications (the WSDL's 100), more
//!   than [`MAX_FIELDS`] fields in a record;
//! - a body that is not UTF-8, an XML declaration naming another version or
//!   encoding, text outside values, and anything not well-formed.
//!
//! The body's size is the layer's limit (`WebhookLayer::max_body`).
//!
//! Structure, namespace-aware (prefixes are free): a SOAP 1.1 `Envelope`
//! with an optional `Header` (skipped) and one `Body`, holding one
//! `notifications` element of `http://soap.sforce.com/2005/09/outbound`
//! with `OrganizationId`, `ActionId`, `SessionId`, `EnterpriseUrl`,
//! `PartnerUrl` (each at most once) and 1 to 100 `Notification`s, each with
//! one `Id` and one `sObject` whose children are the record's fields.
//! Unknown elements of the outbound namespace are skipped (within the
//! depth limit); a field holding elements is refused.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, escape};

use super::ids;
use super::message::{Notification, OutboundMessage, SObject, SessionId};

/// The deepest element nesting read; the message needs 6.
pub(crate) const MAX_DEPTH: usize = 8;
/// The longest start tag (name and attributes), in bytes.
pub(crate) const MAX_TAG_LEN: usize = 2048;
/// The most attributes on one element.
pub(crate) const MAX_ATTRIBUTES: usize = 16;
/// The most namespace declarations in scope at once.
pub(crate) const MAX_BINDINGS: usize = 32;
/// The most notifications in one message (the WSDL's `maxOccurs`).
pub(crate) const MAX_NOTIFICATIONS: usize = 100;
/// The most fields in one record.
pub(crate) const MAX_FIELDS: usize = 1024;

const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const OUTBOUND_NS: &str = "http://soap.sforce.com/2005/09/outbound";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Why a body was refused: a short reason, naming the element at fault.
pub(crate) type Reason = &'static str;

/// The namespaces the reader tells apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ns {
    Soap,
    Outbound,
    Other,
}

fn ns_of(resolved: &ResolveResult<'_>) -> Ns {
    match resolved {
        ResolveResult::Bound(ns) if ns.as_ref() == SOAP_NS => Ns::Soap,
        ResolveResult::Bound(ns) if ns.as_ref() == OUTBOUND_NS => Ns::Outbound,
        _ => Ns::Other,
    }
}

/// What an open element is.
enum Frame {
    Envelope,
    Body,
    Notifications,
    Notification,
    SObject,
    /// An element whose text is a value.
    Value(Slot),
    /// An element read past (the SOAP header, unknown members).
    Skip,
}

/// Where a value goes.
enum Slot {
    OrganizationId,
    ActionId,
    SessionId,
    EnterpriseUrl,
    PartnerUrl,
    NotificationId,
    Field(String),
}

/// What the message holds so far.
#[derive(Default)]
struct State {
    envelope_done: bool,
    body_seen: bool,
    notifications_seen: bool,
    organization_id: Option<String>,
    action_id: Option<String>,
    session_id: Option<Option<String>>,
    enterprise_url: Option<Option<String>>,
    partner_url: Option<Option<String>>,
    notifications: Vec<Notification>,
    /// The notification being read: its id and record.
    id: Option<String>,
    sobject: Option<SObject>,
    /// The value being read, and whether it is `xsi:nil`.
    text: String,
    nil: bool,
}

/// Reads an outbound message, refusing anything hostile or not of its form.
pub(crate) fn parse(body: &[u8]) -> Result<OutboundMessage, Reason> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8")?;
    let mut reader = NsReader::from_str(text);
    reader
        .resolver_mut()
        .set_max_namespace_bindings(MAX_BINDINGS);
    let mut stack: Vec<Frame> = Vec::with_capacity(MAX_DEPTH);
    let mut state = State::default();
    let mut first = true;
    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|_| "the body is not well-formed XML (or declares too many namespaces)")?;
        let ns = ns_of(&resolved);
        match event {
            Event::Decl(decl) if first => {
                let version = decl.version().map_err(|_| "a malformed XML declaration")?;
                let utf8 = match decl.encoding() {
                    None => true,
                    Some(Ok(e)) => e.eq_ignore_ascii_case("utf-8"),
                    Some(Err(_)) => false,
                };
                if version.as_ref() != "1.0" || !utf8 {
                    return Err(
                        "the XML declaration names another version than 1.0 or another encoding than UTF-8",
                    );
                }
            }
            Event::Decl(_) => return Err("an XML declaration after the start of the document"),
            Event::DocType(_) => {
                return Err("a DOCTYPE (DTD): refused, with every entity declaration");
            }
            Event::PI(_) => return Err("a processing instruction"),
            Event::Comment(_) => {}
            Event::Start(e) => {
                let frame = open(&mut state, &stack, ns, &e, &reader)?;
                stack.push(frame);
            }
            Event::Empty(e) => {
                let frame = open(&mut state, &stack, ns, &e, &reader)?;
                close(&mut state, frame)?;
            }
            Event::End(_) => {
                let frame = stack.pop().ok_or("an end tag without a start tag")?;
                close(&mut state, frame)?;
            }
            Event::Text(t) => value_text(&mut state, stack.last(), &t.xml10_content())?,
            Event::CData(t) => value_text(&mut state, stack.last(), &t.xml10_content())?,
            Event::GeneralRef(r) => {
                let resolved: Cow<'_, str> = if r.is_char_ref() {
                    let c = r
                        .resolve_char_ref()
                        .ok()
                        .flatten()
                        .ok_or("an invalid character reference")?;
                    Cow::Owned(c.to_string())
                } else {
                    Cow::Borrowed(escape::resolve_xml_entity(&r).ok_or(
                        "an entity reference other than XML's five: refused (no DTD, no entities)",
                    )?)
                };
                value_text(&mut state, stack.last(), &resolved)?;
            }
            Event::Eof => break,
        }
        first = false;
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element");
    }
    finish(state)
}

/// The frame of an element that opens under `stack`, its attributes read.
fn open(
    state: &mut State,
    stack: &[Frame],
    ns: Ns,
    e: &BytesStart<'_>,
    reader: &NsReader<&[u8]>,
) -> Result<Frame, Reason> {
    if stack.len() >= MAX_DEPTH {
        return Err("elements nested deeper than 8");
    }
    if e.len() > MAX_TAG_LEN {
        return Err("a start tag longer than 2048 bytes");
    }
    let name = e.local_name();
    let local: &str = name.as_ref();
    let attrs = attributes(e, reader)?;
    state.nil = attrs.nil;
    let frame = match (stack.last(), ns, local) {
        (None, _, _) if state.envelope_done => return Err("a second root element"),
        (None, Ns::Soap, "Envelope") => Frame::Envelope,
        (None, _, _) => return Err("the root is not a SOAP 1.1 Envelope"),
        (Some(Frame::Envelope), Ns::Soap, "Header") if !state.body_seen => Frame::Skip,
        (Some(Frame::Envelope), Ns::Soap, "Body") if !state.body_seen => {
            state.body_seen = true;
            Frame::Body
        }
        (Some(Frame::Envelope), _, _) => {
            return Err("the Envelope holds another element than one Header and one Body");
        }
        (Some(Frame::Body), Ns::Outbound, "notifications") if !state.notifications_seen => {
            state.notifications_seen = true;
            Frame::Notifications
        }
        (Some(Frame::Body), _, _) => {
            return Err("the Body holds another element than one outbound `notifications`");
        }
        (Some(Frame::Notifications), Ns::Outbound, name) => match name {
            "OrganizationId" => once(state.organization_id.is_some(), Slot::OrganizationId)?,
            "ActionId" => once(state.action_id.is_some(), Slot::ActionId)?,
            "SessionId" => once(state.session_id.is_some(), Slot::SessionId)?,
            "EnterpriseUrl" => once(state.enterprise_url.is_some(), Slot::EnterpriseUrl)?,
            "PartnerUrl" => once(state.partner_url.is_some(), Slot::PartnerUrl)?,
            "Notification" => {
                if state.notifications.len() >= MAX_NOTIFICATIONS {
                    return Err("more than 100 notifications");
                }
                state.id = None;
                state.sobject = None;
                Frame::Notification
            }
            _ => Frame::Skip,
        },
        (Some(Frame::Notification), Ns::Outbound, "Id") => {
            once(state.id.is_some(), Slot::NotificationId)?
        }
        (Some(Frame::Notification), Ns::Outbound, "sObject") => {
            if state.sobject.is_some() {
                return Err("a Notification holds two sObjects");
            }
            let object_type = attrs.xsi_type.ok_or("an sObject without its xsi:type")?;
            state.sobject = Some(SObject {
                object_type,
                fields: BTreeMap::new(),
            });
            Frame::SObject
        }
        (Some(Frame::SObject), _, name) => {
            let count = state.sobject.as_ref().map_or(0, |o| o.fields.len());
            if count >= MAX_FIELDS {
                return Err("a record with more than 1024 fields");
            }
            Frame::Value(Slot::Field(name.to_owned()))
        }
        (Some(Frame::Value(_)), _, _) => return Err("an element inside a value"),
        (Some(Frame::Notifications | Frame::Notification | Frame::Skip), _, _) => Frame::Skip,
    };
    if let Frame::Value(_) = frame {
        state.text.clear();
    }
    Ok(frame)
}

/// A value's frame, refused when the element was seen before.
fn once(seen: bool, slot: Slot) -> Result<Frame, Reason> {
    if seen {
        return Err("an element of `notifications` or `Notification` appears twice");
    }
    Ok(Frame::Value(slot))
}

/// The attributes the reader uses: `xsi:nil` and `xsi:type`.
struct Attributes {
    nil: bool,
    xsi_type: Option<String>,
}

fn attributes(e: &BytesStart<'_>, reader: &NsReader<&[u8]>) -> Result<Attributes, Reason> {
    let mut out = Attributes {
        nil: false,
        xsi_type: None,
    };
    for (i, attr) in e.attributes().enumerate() {
        if i >= MAX_ATTRIBUTES {
            return Err("an element with more than 16 attributes");
        }
        let attr = attr.map_err(|_| "a malformed or repeated attribute")?;
        let (ns, local) = reader.resolver().resolve_attribute(attr.key);
        let xsi = matches!(&ns, ResolveResult::Bound(n) if n.as_ref() == XSI_NS);
        // Every value is read (entities checked), used or not.
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|_| "an attribute value with an entity other than XML's five")?;
        match (xsi, local.as_ref()) {
            (true, "nil") => out.nil = matches!(value.as_ref(), "true" | "1"),
            (true, "type") => {
                // `sf:Account`: the name after the prefix.
                let name = value.rsplit(':').next().unwrap_or_default();
                if name.is_empty() {
                    return Err("an empty xsi:type");
                }
                out.xsi_type = Some(name.to_owned());
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Text inside the element on top: a value's, or whitespace.
fn value_text(state: &mut State, top: Option<&Frame>, text: &str) -> Result<(), Reason> {
    match top {
        Some(Frame::Value(_)) => {
            state.text.push_str(text);
            Ok(())
        }
        Some(Frame::Skip) => Ok(()),
        _ if text.bytes().all(|b| b.is_ascii_whitespace()) => Ok(()),
        _ => Err("text outside a value"),
    }
}

/// Settles an element that closes.
fn close(state: &mut State, frame: Frame) -> Result<(), Reason> {
    match frame {
        Frame::Envelope => state.envelope_done = true,
        Frame::Value(slot) => {
            let text = std::mem::take(&mut state.text);
            let value = if state.nil {
                if !text.trim().is_empty() {
                    return Err("an xsi:nil element holds text");
                }
                None
            } else {
                Some(text)
            };
            let required = |v: Option<String>, what: Reason| v.ok_or(what);
            match slot {
                Slot::OrganizationId => {
                    state.organization_id = Some(required(value, "OrganizationId is nil")?);
                }
                Slot::ActionId => state.action_id = Some(required(value, "ActionId is nil")?),
                Slot::SessionId => state.session_id = Some(value),
                Slot::EnterpriseUrl => state.enterprise_url = Some(value),
                Slot::PartnerUrl => state.partner_url = Some(value),
                Slot::NotificationId => {
                    let id = required(value, "a Notification Id is nil")?;
                    if ids::canonical(&id).is_none() {
                        return Err("a Notification Id is not a Salesforce id");
                    }
                    state.id = Some(id);
                }
                Slot::Field(name) => {
                    let object = state.sobject.as_mut().ok_or("a field outside an sObject")?;
                    match object.fields.entry(name) {
                        Entry::Vacant(v) => {
                            v.insert(value);
                        }
                        Entry::Occupied(_) => return Err("a record holds a field twice"),
                    }
                }
            }
            state.nil = false;
        }
        Frame::Notification => {
            let id = state.id.take().ok_or("a Notification without its Id")?;
            let sobject = state
                .sobject
                .take()
                .ok_or("a Notification without its sObject")?;
            state.notifications.push(Notification { id, sobject });
        }
        Frame::Body | Frame::Notifications | Frame::SObject | Frame::Skip => {}
    }
    Ok(())
}

/// The message, once the document is read whole.
fn finish(state: State) -> Result<OutboundMessage, Reason> {
    if !state.envelope_done {
        return Err("no SOAP Envelope");
    }
    if !state.notifications_seen {
        return Err("no outbound `notifications` in the SOAP Body");
    }
    let organization_id = state
        .organization_id
        .ok_or("no OrganizationId in `notifications`")?;
    let action_id = state.action_id.ok_or("no ActionId in `notifications`")?;
    if ids::canonical(&action_id).is_none() {
        return Err("the ActionId is not a Salesforce id");
    }
    if state.notifications.is_empty() {
        return Err("no Notification in `notifications`");
    }
    Ok(OutboundMessage {
        organization_id,
        action_id,
        session_id: state.session_id.flatten().map(SessionId::new),
        enterprise_url: state.enterprise_url.flatten(),
        partner_url: state.partner_url.flatten(),
        notifications: state.notifications,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/salesforce/outbound_message.xml"
    ));

    #[test]
    fn the_fixture_reads_whole() {
        let m = parse(MESSAGE.as_bytes()).unwrap();
        assert_eq!(m.organization_id, "00D5e000000KQ2eEAG");
        assert_eq!(m.action_id, "04k5e000000CaRkAAK");
        assert!(m.session_id.as_ref().unwrap().expose().starts_with("00D5e"));
        assert_eq!(
            m.notification_ids().collect::<Vec<_>>(),
            ["04l5e00000Gx7QzAAJ", "04l5e00000Gx7R0AAJ"]
        );
        let a = &m.notifications[0].sobject;
        assert_eq!(a.object_type, "Account");
        assert_eq!(a.get("Name"), Some("Acme & Co"));
        assert_eq!(a.fields.get("Description"), Some(&None));
        let b = &m.notifications[1].sobject;
        assert_eq!(b.get("Description"), Some("<b>Key</b> account"));
        assert!(m.enterprise_url.unwrap().contains("/Soap/c/"));
    }

    /// The fixture with `from` replaced by `to` (which must occur).
    fn with(from: &str, to: &str) -> String {
        assert!(MESSAGE.contains(from), "{from}");
        MESSAGE.replacen(from, to, 1)
    }

    fn refused(body: &str) -> Reason {
        match parse(body.as_bytes()) {
            Err(r) => r,
            Ok(_) => panic!("accepted: {body}"),
        }
    }

    #[test]
    fn prefixes_are_free_namespaces_are_not() {
        let other_prefixes = MESSAGE
            .replace("soapenv:", "S:")
            .replace("xmlns:soapenv", "xmlns:S");
        assert!(parse(other_prefixes.as_bytes()).is_ok());
        let wrong_ns = with(OUTBOUND_NS, "http://example.com/outbound");
        assert!(refused(&wrong_ns).contains("notifications"));
        let soap12 = MESSAGE.replace(SOAP_NS, "http://www.w3.org/2003/05/soap-envelope");
        assert!(refused(&soap12).contains("Envelope"));
    }

    #[test]
    fn dtds_entities_and_instructions_are_refused() {
        let doctype = with(
            "<soapenv:Envelope",
            "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><soapenv:Envelope",
        );
        assert!(refused(&doctype).contains("DOCTYPE"));
        let external = with(
            "<soapenv:Envelope",
            "<!DOCTYPE x SYSTEM \"file:///etc/passwd\"><soapenv:Envelope",
        );
        assert!(refused(&external).contains("DOCTYPE"));
        assert!(refused(&with("Acme &amp; Co", "Acme &xxe; Co")).contains("entity"));
        assert!(refused(&with("xsi:type=\"sf:Account\"", "xsi:type=\"&a;\"")).contains("entity"));
        assert!(
            refused(&with("<soapenv:Body>", "<soapenv:Body><?php x ?>")).contains("instruction")
        );
        // Character references and XML's five are text.
        let m =
            parse(with("Acme &amp; Co", "&#65;&#x63;me &lt;&gt;&apos;&quot;").as_bytes()).unwrap();
        assert_eq!(m.notifications[0].sobject.get("Name"), Some("Acme <>'\""));
        assert!(refused(&with("Acme &amp; Co", "&#0;")).contains("character reference"));
    }

    #[test]
    fn limits() {
        let deep = with(
            "<sf:Name>Acme &amp; Co</sf:Name>",
            &format!("<sf:Name>{}</sf:Name>", "<x>".repeat(3)),
        );
        assert!(parse(deep.as_bytes()).is_err());
        let nested = with(
            "<soapenv:Body>",
            &format!("<soapenv:Header>{}", "<h>".repeat(20)),
        );
        assert!(refused(&nested).contains("deeper"));
        let huge = with(
            "xsi:type=\"sf:Account\"",
            &format!("xsi:type=\"sf:Account\" a=\"{}\"", "x".repeat(5000)),
        );
        assert!(refused(&huge).contains("2048"));
        let attrs: String = (0..17).map(|i| format!(" a{i}=\"1\"")).collect();
        let many = with("<sf:Name>", &format!("<sf:Name{attrs}>"));
        assert!(refused(&many).contains("16 attributes"));
        let one = MESSAGE
            .split("<Notification>")
            .nth(1)
            .unwrap()
            .split("</Notification>")
            .next()
            .unwrap();
        let copies = |n: usize| {
            let extra = format!("<Notification>{one}</Notification>").repeat(n);
            MESSAGE.replacen("<Notification>", &format!("{extra}<Notification>"), 1)
        };
        // The fixture holds 2: 98 more are the WSDL's 100, 99 more too many.
        assert_eq!(
            parse(copies(98).as_bytes()).unwrap().notifications.len(),
            100
        );
        assert!(refused(&copies(99)).contains("100 notifications"));
    }

    #[test]
    fn structure_and_form() {
        assert!(refused("").contains("Envelope"));
        assert!(refused("\u{feff}").contains("Envelope") || parse(b"\xef\xbb\xbf").is_err());
        assert!(parse(b"\xff\xfe<").is_err());
        assert!(refused(&with("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"")).contains("UTF-8"));
        assert!(
            refused(&with(
                "<OrganizationId>00D5e000000KQ2eEAG</OrganizationId>",
                ""
            ))
            .contains("OrganizationId")
        );
        assert!(
            refused(&with("<ActionId>", "<ActionId>00D</ActionId><ActionId>")).contains("twice")
        );
        assert!(
            refused(&with("<Id>04l5e00000Gx7QzAAJ</Id>", "<Id>x</Id>")).contains("Notification Id")
        );
        assert!(refused(&with("<Id>04l5e00000Gx7QzAAJ</Id>", "")).contains("without its Id"));
        assert!(refused(&with(" xsi:type=\"sf:Account\"", "")).contains("xsi:type"));
        assert!(
            refused(&with(
                "<sf:AnnualRevenue>90000.0",
                "<sf:Name>x</sf:Name><sf:AnnualRevenue>90000.0"
            ))
            .contains("twice")
        );
        assert!(
            refused(&with(
                "<sf:Description xsi:nil=\"true\"/>",
                "<sf:Description xsi:nil=\"true\">x</sf:Description>"
            ))
            .contains("nil")
        );
        assert!(refused(&with("<soapenv:Body>", "<soapenv:Body>stray")).contains("text outside"));
        assert!(refused(&format!("{MESSAGE}<more/>")).contains("second root"));
        assert!(
            parse(
                MESSAGE
                    .trim_end()
                    .trim_end_matches("</soapenv:Envelope>")
                    .as_bytes()
            )
            .is_err()
        );
        assert!(parse(with("</sf:Name>", "</sf:Nom>").as_bytes()).is_err());
        // Unknown members of the outbound namespace, and comments, are read past.
        let extra = with(
            "<ActionId>",
            "<!-- c --><Future a=\"1\"><x>y</x></Future><ActionId>",
        );
        assert!(parse(extra.as_bytes()).is_ok());
        // A SOAP header is read past.
        let header = with(
            "<soapenv:Body>",
            "<soapenv:Header><h>1</h></soapenv:Header><soapenv:Body>",
        );
        assert!(parse(header.as_bytes()).is_ok());
        let no_notification = MESSAGE.split("<Notification>").next().unwrap().to_owned()
            + "</notifications></soapenv:Body></soapenv:Envelope>";
        assert!(refused(&no_notification).contains("no Notification"));
    }
}
