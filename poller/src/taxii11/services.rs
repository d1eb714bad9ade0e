//! Discovery, collection (1.0: feed) information and subscription management responses.

use std::borrow::Cow;

use super::status::read_message;
use super::{PROTOCOL_HTTP, PROTOCOL_HTTPS, ResponseError, Version, convert, wire};

/// The kind of a TAXII service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServiceType {
    /// `DISCOVERY`.
    Discovery,
    /// `COLLECTION_MANAGEMENT` (1.1) or `FEED_MANAGEMENT` (1.0).
    CollectionManagement,
    /// `POLL`.
    Poll,
    /// `INBOX`.
    Inbox,
    /// Anything else, as sent.
    Other(String),
}

/// URL scheme of a service, matching the `http` / `https` protocol bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP (`urn:taxii.mitre.org:protocol:http:1.0`).
    Http,
    /// HTTPS (`urn:taxii.mitre.org:protocol:https:1.0`).
    Https,
}

impl Scheme {
    /// The scheme of an absolute `http://` / `https://` URL (case-insensitive).
    pub fn of_url(url: &str) -> Option<Scheme> {
        let (scheme, rest) = url.trim_start().split_once(':')?;
        if !rest.starts_with("//") {
            return None;
        }
        if scheme.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else if scheme.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else {
            None
        }
    }

    /// The scheme a protocol binding URN stands for.
    pub fn of_protocol_binding(binding: &str) -> Option<Scheme> {
        match binding.trim() {
            PROTOCOL_HTTPS => Some(Scheme::Https),
            PROTOCOL_HTTP => Some(Scheme::Http),
            _ => None,
        }
    }

    /// The protocol binding URN of this scheme.
    pub const fn protocol_binding(self) -> &'static str {
        match self {
            Scheme::Http => PROTOCOL_HTTP,
            Scheme::Https => PROTOCOL_HTTPS,
        }
    }

    const fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A content binding with its subtypes (`urn:stix.mitre.org:xml:1.2`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentBinding {
    /// The binding id.
    pub binding_id: String,
    /// Subtype ids (1.1 only).
    pub subtypes: Vec<String>,
}

/// How to reach a service: protocol binding, address and message bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceContact {
    /// Protocol binding URN (HTTP or HTTPS).
    pub protocol_binding: String,
    /// The address as advertised (normally an absolute URL; may be a bare path on some servers,
    /// to be resolved against the URL that was asked).
    pub address: String,
    /// Message binding URNs the service accepts.
    pub message_bindings: Vec<String>,
    /// Content bindings it accepts (inbox services only).
    pub content_bindings: Vec<ContentBinding>,
}

/// One `Service_Instance` of a Discovery_Response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInstance {
    /// What the service does.
    pub service_type: ServiceType,
    /// `service_version` (`urn:taxii.mitre.org:services:1.1` / `1.0`).
    pub services_version: String,
    /// Protocol binding URN (HTTP or HTTPS).
    pub protocol_binding: String,
    /// The address as advertised.
    pub address: String,
    /// Message binding URNs the service accepts.
    pub message_bindings: Vec<String>,
    /// Content bindings (inbox services only).
    pub content_bindings: Vec<ContentBinding>,
    /// `available`: `None` when the server did not say (the spec's "unknown").
    pub available: Option<bool>,
    /// The server's description of the service.
    pub message: Option<String>,
}

/// A Discovery_Response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryResponse {
    /// Version of the message (its namespace).
    pub version: Version,
    /// `message_id` of the response.
    pub message_id: String,
    /// `in_response_to`.
    pub in_response_to: String,
    /// Every advertised service, in the order sent.
    pub services: Vec<ServiceInstance>,
}

/// A service chosen by [`DiscoveryResponse::pick`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickedService<'a> {
    /// The chosen service.
    pub service: &'a ServiceInstance,
    /// `true` when no service of that type was advertised with the scheme asked for, so a
    /// service with another scheme was taken: servers behind a TLS proxy often advertise
    /// `http://` addresses. The caller should log a warning (and may use
    /// [`PickedService::address_with_scheme`]).
    pub scheme_mismatch: bool,
}

impl PickedService<'_> {
    /// The service's address with its scheme replaced by `scheme` (unchanged when it already
    /// has it or is not an absolute http(s) URL). Host and port are kept as advertised.
    pub fn address_with_scheme(&self, scheme: Scheme) -> Cow<'_, str> {
        let address = self.service.address.as_str();
        match Scheme::of_url(address) {
            Some(s) if s != scheme => {
                let rest = &address.trim_start()[s.as_str().len()..];
                Cow::Owned(format!("{}{}", scheme.as_str(), rest))
            }
            _ => Cow::Borrowed(address),
        }
    }
}

impl DiscoveryResponse {
    /// Every service of a type.
    pub fn services_of<'s>(
        &'s self,
        service_type: &ServiceType,
    ) -> impl Iterator<Item = &'s ServiceInstance> + use<'s> {
        let wanted = service_type.clone();
        self.services
            .iter()
            .filter(move |s| s.service_type == wanted)
    }

    /// The best service of `service_type` for a client that reached discovery over `scheme`.
    ///
    /// Preference, in order: not marked unavailable; address (or, for a bare path, protocol
    /// binding) with the same scheme; accepting this response's message binding; advertised
    /// for this response's services version; first in the document. When only services with
    /// another scheme exist, one of them is returned with `scheme_mismatch` set.
    pub fn pick(&self, service_type: ServiceType, scheme: Scheme) -> Option<PickedService<'_>> {
        let binding = self.version.message_binding();
        let services = self.version.services();
        self.services_of(&service_type)
            .enumerate()
            .max_by_key(|(index, s)| {
                (
                    s.available != Some(false),
                    scheme_matches(&s.address, &s.protocol_binding, scheme),
                    s.message_bindings.iter().any(|b| b.trim() == binding),
                    s.services_version.trim() == services,
                    std::cmp::Reverse(*index),
                )
            })
            .map(|(_, service)| PickedService {
                service,
                scheme_mismatch: !scheme_matches(
                    &service.address,
                    &service.protocol_binding,
                    scheme,
                ),
            })
    }
}

/// Whether a service is reached with `scheme`: judged by the address when it is an absolute
/// URL, else by the protocol binding.
pub(crate) fn scheme_matches(address: &str, protocol_binding: &str, scheme: Scheme) -> bool {
    match Scheme::of_url(address) {
        Some(s) => s == scheme,
        None => Scheme::of_protocol_binding(protocol_binding) == Some(scheme),
    }
}

/// Data feed (ordered, time-windowed polls) or data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CollectionKind {
    /// `DATA_FEED` (the default, and every 1.0 feed).
    DataFeed,
    /// `DATA_SET`: unordered; time windows are irrelevant.
    DataSet,
}

/// One `Collection` (1.1) or `Feed` (1.0) record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionInfo {
    /// `collection_name` (1.1) or `feed_name` (1.0).
    pub name: String,
    /// `collection_type`.
    pub kind: CollectionKind,
    /// `available`: `None` when the server did not say.
    pub available: Option<bool>,
    /// `Description`, trimmed.
    pub description: String,
    /// `Collection_Volume`: typical records per day, if given.
    pub volume: Option<u64>,
    /// Content bindings of the collection (empty: any).
    pub content_bindings: Vec<ContentBinding>,
    /// Poll services to fetch it from.
    pub poll_services: Vec<ServiceContact>,
    /// Collection management services to subscribe with.
    pub subscription_services: Vec<ServiceContact>,
    /// Inbox services that accept content for it.
    pub inbox_services: Vec<ServiceContact>,
}

impl CollectionInfo {
    /// The poll service to use when the collection management service was reached over
    /// `scheme`: the first one with that scheme, else the first one (`true`: scheme differs).
    pub fn pick_poll_service(&self, scheme: Scheme) -> Option<(&ServiceContact, bool)> {
        self.poll_services
            .iter()
            .find(|c| scheme_matches(&c.address, &c.protocol_binding, scheme))
            .map(|c| (c, false))
            .or_else(|| self.poll_services.first().map(|c| (c, true)))
    }
}

/// A Collection_Information_Response (1.1) or Feed_Information_Response (1.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionInformationResponse {
    /// Version of the message (its namespace).
    pub version: Version,
    /// `message_id` of the response.
    pub message_id: String,
    /// `in_response_to`.
    pub in_response_to: String,
    /// Every collection, in the order sent.
    pub collections: Vec<CollectionInfo>,
}

impl CollectionInformationResponse {
    /// The collection called `name`.
    pub fn collection(&self, name: &str) -> Option<&CollectionInfo> {
        self.collections.iter().find(|c| c.name == name)
    }
}

/// `status` of a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionStatus {
    /// `ACTIVE` (the default).
    Active,
    /// `PAUSED`.
    Paused,
    /// `UNSUBSCRIBED`.
    Unsubscribed,
    /// Anything else, as sent.
    Other(String),
}

/// One `Subscription` of a Subscription_Management_Response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The id to poll with (`Subscription_ID`).
    pub id: String,
    /// Its status.
    pub status: SubscriptionStatus,
    /// Poll services that serve it.
    pub poll_instances: Vec<ServiceContact>,
}

/// A Subscription_Management_Response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionResponse {
    /// Version of the message (its namespace).
    pub version: Version,
    /// `message_id` of the response.
    pub message_id: String,
    /// `in_response_to`.
    pub in_response_to: String,
    /// `collection_name` (1.1) or `feed_name` (1.0).
    pub collection_name: String,
    /// The server's `Message`, if any.
    pub message: Option<String>,
    /// The subscriptions (exactly one after SUBSCRIBE).
    pub subscriptions: Vec<Subscription>,
}

/// Parses a Discovery_Response (1.0 or 1.1).
pub fn parse_discovery_response(body: &[u8]) -> Result<DiscoveryResponse, ResponseError> {
    let (version, node) = read_message(body, &["Discovery_Response"], "Discovery_Response")?;
    Ok(convert::discovery_response(
        wire::WireDiscoveryResponse::from_node(version, &node),
    )?)
}

/// Parses a Collection_Information_Response (1.1) or Feed_Information_Response (1.0).
pub fn parse_collection_information_response(
    body: &[u8],
) -> Result<CollectionInformationResponse, ResponseError> {
    let (version, node) = read_message(
        body,
        &[
            "Collection_Information_Response",
            "Feed_Information_Response",
        ],
        "Collection_Information_Response",
    )?;
    Ok(convert::collection_information_response(
        wire::WireCollectionInformationResponse::from_node(version, &node),
    )?)
}

/// Parses a Subscription_Management_Response (1.0 or 1.1).
pub fn parse_subscription_response(body: &[u8]) -> Result<SubscriptionResponse, ResponseError> {
    let (version, node) = read_message(
        body,
        &["Subscription_Management_Response"],
        "Subscription_Management_Response",
    )?;
    Ok(convert::subscription_response(
        wire::WireSubscriptionResponse::from_node(version, &node),
    )?)
}
