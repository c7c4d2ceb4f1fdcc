//! Salesforce outbound messages: the hardened XML reader
//! (`OutboundMessage::parse`) and the scheme (`Salesforce::check`) over
//! arbitrary documents, whole or spliced into a valid message.
//!
//! Input: 1 mode byte, then text. Mode (mod 4): 0 the text is the whole
//! body; 1 it replaces a field's value of the fixture; 2 it is inserted
//! after `<soapenv:Body>`; 3 after the first `<Notification>`.
//!
//! Asserts: no panic; the reader and the scheme agree (the scheme delivers
//! exactly the messages the reader reads whose org is allowed, always with
//! the acknowledgement and `Format::Xml`, and refuses the others); nothing
//! is expanded (the values read never hold more bytes than the body); the
//! limits hold (1 to 100 notifications, ids of 15 or 18 letters and
//! digits); reading is deterministic; and where the independent
//! reference reader (`roxmltree`, DTDs off) reads the document too, it finds
//! the same OrganizationId, ActionId and notification ids.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_webhook::scheme::{
    Context, Format, OutboundMessage, Salesforce, Scheme, Tolerance, Verdict, VerifyError,
};

const FIXTURE: &str = include_str!("../../tests/vectors/salesforce/outbound_message.xml");
const ORG: &str = "00D5e000000KQ2eEAG";
const OUTBOUND: &str = "http://soap.sforce.com/2005/09/outbound";
const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// What the reference reader finds: org, action and notification ids.
fn reference(text: &str) -> Option<(String, String, Vec<String>)> {
    let doc = roxmltree::Document::parse(text).ok()?;
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(SOAP) || root.tag_name().name() != "Envelope" {
        return None;
    }
    let body = root
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == "Body")?;
    let notifications = body.children().find(|n| {
        n.is_element()
            && n.tag_name().namespace() == Some(OUTBOUND)
            && n.tag_name().name() == "notifications"
    })?;
    let text_of = |name: &str| {
        notifications
            .children()
            .find(|n| {
                n.is_element()
                    && n.tag_name().namespace() == Some(OUTBOUND)
                    && n.tag_name().name() == name
            })
            .map(|n| n.children().filter_map(|c| c.text()).collect::<String>())
    };
    let ids = notifications
        .children()
        .filter(|n| {
            n.is_element()
                && n.tag_name().namespace() == Some(OUTBOUND)
                && n.tag_name().name() == "Notification"
        })
        .filter_map(|n| {
            n.children()
                .find(|c| {
                    c.is_element()
                        && c.tag_name().namespace() == Some(OUTBOUND)
                        && c.tag_name().name() == "Id"
                })
                .map(|c| c.children().filter_map(|t| t.text()).collect::<String>())
        })
        .collect();
    Some((text_of("OrganizationId")?, text_of("ActionId")?, ids))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let body: Vec<u8> = match mode % 4 {
        0 => rest.to_vec(),
        m => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let doc = match m {
                1 => FIXTURE.replacen("Acme &amp; Co", text, 1),
                2 => FIXTURE.replacen("<soapenv:Body>", &format!("<soapenv:Body>{text}"), 1),
                _ => FIXTURE.replacen("<Notification>", &format!("<Notification>{text}"), 1),
            };
            doc.into_bytes()
        }
    };

    let parsed = OutboundMessage::parse(&body);
    let scheme = Salesforce::new([ORG]).expect("a valid org id");
    let (head, ()) = http::Request::post("/salesforce")
        .body(())
        .expect("static parts")
        .into_parts();
    let ctx = Context::new(std::time::SystemTime::now(), Tolerance::default());
    let verdict = scheme.check(&head, &body, &ctx);

    match &parsed {
        Err(e) => {
            assert!(matches!(e, VerifyError::MalformedMessage { .. }), "{e:?}");
            assert_eq!(
                verdict.as_ref().err(),
                Some(e),
                "reader and scheme disagree"
            );
        }
        Ok(m) => {
            let text = std::str::from_utf8(&body).expect("read bodies are UTF-8");
            assert!((1..=100).contains(&m.notifications.len()));
            for id in m.notification_ids().chain([m.action_id.as_str()]) {
                assert!(matches!(id.len(), 15 | 18), "{id:?}");
                assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id:?}");
            }
            // Nothing expanded: what was read is no longer than the body.
            let read: usize = m.organization_id.len()
                + m.action_id.len()
                + m.enterprise_url.as_ref().map_or(0, String::len)
                + m.partner_url.as_ref().map_or(0, String::len)
                + m.session_id().map_or(0, |s| s.expose().len())
                + m.notifications
                    .iter()
                    .map(|n| {
                        n.id.len()
                            + n.sobject.object_type.len()
                            + n.sobject
                                .fields
                                .iter()
                                .map(|(k, v)| k.len() + v.as_ref().map_or(0, String::len))
                                .sum::<usize>()
                    })
                    .sum::<usize>();
            assert!(read <= body.len(), "{read} bytes read from {}", body.len());
            // Deterministic, as the layer's second reading (the payload) needs.
            let again = OutboundMessage::parse(&body).expect("read twice");
            assert_eq!(again.notifications, m.notifications);
            match &verdict {
                Ok(Verdict::Deliver(e)) => {
                    assert!(e.acknowledgement.is_some());
                    assert_eq!(e.format, Format::Xml);
                    assert_eq!(e.id, None);
                }
                Ok(_) => panic!("a Salesforce message is never a handshake"),
                Err(VerifyError::NotAllowed { field, .. }) => {
                    assert_eq!(*field, "OrganizationId");
                    assert!(!m.organization_id.eq_ignore_ascii_case(ORG));
                }
                // An OrganizationId that is not a Salesforce id.
                Err(VerifyError::MalformedMessage { .. }) => {
                    assert!(!m.organization_id.eq_ignore_ascii_case(ORG));
                }
                Err(e) => panic!("unexpected refusal {e:?}"),
            }
            if let Some((org, action, ids)) = reference(text) {
                assert_eq!(org, m.organization_id);
                assert_eq!(action, m.action_id);
                assert_eq!(ids, m.notification_ids().collect::<Vec<_>>());
            }
        }
    }
});
