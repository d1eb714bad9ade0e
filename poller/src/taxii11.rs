//! TAXII 1.1 (and 1.0) XML message binding: request bodies and headers out, typed responses in.
//!
//! No HTTP here. The client POSTs what the request builders ([`discovery_request`],
//! [`PollRequest11::to_xml`], ...) write, with the headers of
//! [`request_headers`], runs the answer through [`classify_response`] (is this TAXII at all?)
//! and then hands the body to the parser for the message it expects:
//!
//! - [`parse_discovery_response`], [`parse_collection_information_response`] (1.0
//!   Feed_Information_Response too), [`parse_subscription_response`], [`parse_status_message`];
//! - [`PollResponseReader`] for Poll_Response: the header first, then one [`ContentBlock`] at a
//!   time whose content is a byte range of the body (never copied, never a DOM), so a multi-MB
//!   STIX package goes straight to the STIX parser.
//!
//! A Status_Message where another message was expected comes back as
//! [`ResponseError::Status`] with a typed [`StatusError`]. Every parser refuses `<!DOCTYPE`
//! (entity bombs) and reports malformed XML with its byte position.
//!
//! Layout: `xml` reads XML (namespaces resolved by URI, so any prefix works), `wire` holds
//! structs that mirror the XML as sent, `convert` turns them into the domain types of
//! `services`, `status` and `poll`; every protocol quirk of real servers lives in `convert`.

mod convert;
mod poll;
mod request;
mod services;
mod status;
mod transport;
mod wire;
mod xml;

#[cfg(test)]
mod tests;

pub use poll::{ContentBlock, ContentRange, PollHeader, PollResponseReader, RecordCount};
pub use request::{
    PollFulfillmentRequest, PollRequest10, PollRequest11, PollSelector, ResponseType,
    SubscribeRequest, collection_information_request, discovery_request, new_message_id,
};
pub use services::{
    CollectionInfo, CollectionInformationResponse, CollectionKind, ContentBinding,
    DiscoveryResponse, PickedService, Scheme, ServiceContact, ServiceInstance, ServiceType,
    Subscription, SubscriptionResponse, SubscriptionStatus, parse_collection_information_response,
    parse_discovery_response, parse_subscription_response,
};
pub use status::{StatusDetail, StatusError, StatusInfo, StatusMessage, parse_status_message};
pub use transport::{Classified, TransportError, classify_response};
pub use xml::ParseError;

/// HTTP header naming the TAXII message binding of the body (request and response).
pub const HEADER_X_TAXII_CONTENT_TYPE: &str = "X-TAXII-Content-Type";
/// HTTP header naming the message bindings the requester accepts in the response.
pub const HEADER_X_TAXII_ACCEPT: &str = "X-TAXII-Accept";
/// HTTP header naming the TAXII services version.
pub const HEADER_X_TAXII_SERVICES: &str = "X-TAXII-Services";
/// HTTP header naming the TAXII protocol binding (HTTP or HTTPS).
pub const HEADER_X_TAXII_PROTOCOL: &str = "X-TAXII-Protocol";
/// `Content-Type` / `Accept` value of every TAXII 1.x XML message.
pub const MEDIA_TYPE_XML: &str = "application/xml";

/// Message binding (`X-TAXII-Content-Type`) of TAXII 1.1 XML messages.
pub const MESSAGE_BINDING_XML_11: &str = "urn:taxii.mitre.org:message:xml:1.1";
/// Message binding (`X-TAXII-Content-Type`) of TAXII 1.0 XML messages.
pub const MESSAGE_BINDING_XML_10: &str = "urn:taxii.mitre.org:message:xml:1.0";
/// Services version (`X-TAXII-Services`, `service_version`) of TAXII 1.1.
pub const SERVICES_11: &str = "urn:taxii.mitre.org:services:1.1";
/// Services version (`X-TAXII-Services`, `service_version`) of TAXII 1.0.
pub const SERVICES_10: &str = "urn:taxii.mitre.org:services:1.0";
/// Protocol binding (`X-TAXII-Protocol`, `Protocol_Binding`) of TAXII over plain HTTP.
pub const PROTOCOL_HTTP: &str = "urn:taxii.mitre.org:protocol:http:1.0";
/// Protocol binding (`X-TAXII-Protocol`, `Protocol_Binding`) of TAXII over HTTPS.
pub const PROTOCOL_HTTPS: &str = "urn:taxii.mitre.org:protocol:https:1.0";

/// XML namespace of TAXII 1.1 messages.
pub const NS_TAXII_11: &str = "http://taxii.mitre.org/messages/taxii_xml_binding-1.1";
/// XML namespace of TAXII 1.0 messages.
pub const NS_TAXII_10: &str = "http://taxii.mitre.org/messages/taxii_xml_binding-1";
/// XML namespace of the TAXII default query (declared by libtaxii on every message).
pub const NS_TAXII_DEFAULT_QUERY: &str = "http://taxii.mitre.org/query/taxii_default_query-1";

/// Content binding of STIX 1.2 XML documents (what OpenTAXII serves).
pub const CONTENT_BINDING_STIX_12: &str = "urn:stix.mitre.org:xml:1.2";
/// Content binding of STIX 1.1.1 XML documents.
pub const CONTENT_BINDING_STIX_111: &str = "urn:stix.mitre.org:xml:1.1.1";
/// Content binding of STIX 1.1 XML documents.
pub const CONTENT_BINDING_STIX_11: &str = "urn:stix.mitre.org:xml:1.1";
/// Content binding of STIX 1.0.1 XML documents.
pub const CONTENT_BINDING_STIX_101: &str = "urn:stix.mitre.org:xml:1.0.1";
/// Content binding of STIX 1.0 XML documents.
pub const CONTENT_BINDING_STIX_10: &str = "urn:stix.mitre.org:xml:1.0";

/// A TAXII 1.x version: decides namespaces, element names and header values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// TAXII 1.0 (`Feed_Information`, `feed_name`).
    V10,
    /// TAXII 1.1 (`Collection_Information`, `collection_name`).
    V11,
}

impl Version {
    /// The `X-TAXII-Content-Type` / `X-TAXII-Accept` value.
    pub const fn message_binding(self) -> &'static str {
        match self {
            Version::V10 => MESSAGE_BINDING_XML_10,
            Version::V11 => MESSAGE_BINDING_XML_11,
        }
    }

    /// The `X-TAXII-Services` value.
    pub const fn services(self) -> &'static str {
        match self {
            Version::V10 => SERVICES_10,
            Version::V11 => SERVICES_11,
        }
    }

    /// The XML namespace of this version's messages.
    pub const fn namespace(self) -> &'static str {
        match self {
            Version::V10 => NS_TAXII_10,
            Version::V11 => NS_TAXII_11,
        }
    }

    /// The version of an `X-TAXII-Content-Type` value (surrounding blanks ignored).
    pub fn from_message_binding(value: &str) -> Option<Version> {
        match value.trim() {
            MESSAGE_BINDING_XML_11 => Some(Version::V11),
            MESSAGE_BINDING_XML_10 => Some(Version::V10),
            _ => None,
        }
    }

    /// The version whose messages live in XML namespace `uri`.
    pub fn from_namespace(uri: &str) -> Option<Version> {
        match uri {
            NS_TAXII_11 => Some(Version::V11),
            NS_TAXII_10 => Some(Version::V10),
            _ => None,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Version::V10 => "TAXII 1.0",
            Version::V11 => "TAXII 1.1",
        })
    }
}

/// The HTTP headers of a TAXII request, besides `Authorization` and `Content-Length`.
///
/// OpenTAXII answers 406 (plain text) without an `Accept` matching `application/xml`, a
/// `FAILURE` Status_Message without `Content-Type`, `X-TAXII-Content-Type` or
/// `X-TAXII-Services`; `X-TAXII-Accept` and `X-TAXII-Protocol` are optional for it but the spec
/// asks for them, so they are sent too.
pub fn request_headers(version: Version, https: bool) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", MEDIA_TYPE_XML.to_owned()),
        ("Accept", MEDIA_TYPE_XML.to_owned()),
        (
            HEADER_X_TAXII_CONTENT_TYPE,
            version.message_binding().to_owned(),
        ),
        (HEADER_X_TAXII_ACCEPT, version.message_binding().to_owned()),
        (HEADER_X_TAXII_SERVICES, version.services().to_owned()),
        (
            HEADER_X_TAXII_PROTOCOL,
            if https { PROTOCOL_HTTPS } else { PROTOCOL_HTTP }.to_owned(),
        ),
    ]
}

/// What went wrong with a response body the caller expected to be a given TAXII message.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// The server answered with a Status_Message that is not `SUCCESS`.
    #[error(transparent)]
    Status(#[from] StatusError),
    /// The body is not well-formed XML, not TAXII, or misses a required field.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A well-formed TAXII message, but not the one asked for (e.g. `SUCCESS` to a poll).
    #[error("expected a {expected}, the server sent a {found}")]
    Unexpected {
        /// The message name the caller asked for.
        expected: &'static str,
        /// The root element (and status type) that came instead.
        found: String,
    },
}
