//! The acknowledgement Salesforce requires: the WSDL's
//! `notificationsResponse` with `Ack` true, in a SOAP 1.1 envelope, as
//! `text/xml`. One acknowledgement covers every notification of the
//! message; without it Salesforce delivers the message again, whatever the
//! HTTP status.

use crate::scheme::Acknowledgement;

/// The acknowledgement's bytes, exactly (published-keys.md, section 2.2).
pub(crate) const ACK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
      <Ack>true</Ack>
    </notificationsResponse>
  </soapenv:Body>
</soapenv:Envelope>
"#;

/// Its content type.
pub(crate) const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// The acknowledgement the layer answers once a message is handled.
pub(crate) fn acknowledgement() -> Acknowledgement {
    Acknowledgement::new(CONTENT_TYPE, ACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ack_is_the_wsdl_response_and_reads_back() {
        let response = acknowledgement().response();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], CONTENT_TYPE);
        assert!(ACK.contains("<notificationsResponse") && ACK.contains("<Ack>true</Ack>"));
        assert!(!ACK.contains("<notifications>"));
    }
}
