//! Structs that mirror the TAXII XML as sent: every attribute and element the client reads,
//! as raw text, in both versions' spellings. No interpretation happens here (that is
//! `convert`'s job), so a field is `None` exactly when the server left it out.

use super::Version;
use super::xml::Node;

/// `Status_Message` (1.0: `Status_Detail` is text; 1.1: a list of `Detail name=".."`).
#[derive(Debug, Clone, Default)]
pub(crate) struct WireStatusMessage {
    pub(crate) version: Option<Version>,
    pub(crate) message_id: Option<String>,
    pub(crate) in_response_to: Option<String>,
    pub(crate) status_type: Option<String>,
    /// 1.0: the whole `Status_Detail` text.
    pub(crate) status_detail_text: Option<String>,
    /// 1.1: `(name, text)` of every `Status_Detail/Detail`.
    pub(crate) details: Vec<(Option<String>, String)>,
    pub(crate) message: Option<String>,
}

impl WireStatusMessage {
    pub(crate) fn from_node(version: Version, n: &Node) -> Self {
        let detail = n.child("Status_Detail");
        let details: Vec<_> = detail
            .map(|d| {
                d.children("Detail")
                    .map(|x| (x.attr("name"), x.text.clone()))
                    .collect()
            })
            .unwrap_or_default();
        WireStatusMessage {
            version: Some(version),
            message_id: n.attr("message_id"),
            in_response_to: n.attr("in_response_to"),
            status_type: n.attr("status_type"),
            status_detail_text: detail
                .filter(|d| d.children.is_empty())
                .map(|d| d.text.clone()),
            details,
            message: n.child_text("Message"),
        }
    }
}

/// `Content_Binding`: 1.1 `binding_id` attribute with `Subtype subtype_id` children;
/// 1.0 the binding id as the element's text.
#[derive(Debug, Clone, Default)]
pub(crate) struct WireContentBinding {
    pub(crate) binding_id: Option<String>,
    pub(crate) text: String,
    pub(crate) subtypes: Vec<Option<String>>,
}

impl WireContentBinding {
    pub(crate) fn from_node(n: &Node) -> Self {
        WireContentBinding {
            binding_id: n.attr("binding_id"),
            text: n.text.clone(),
            subtypes: n
                .children("Subtype")
                .map(|s| s.attr("subtype_id"))
                .collect(),
        }
    }
}

/// The Protocol_Binding / Address / Message_Binding group (and Content_Binding where allowed).
#[derive(Debug, Clone, Default)]
pub(crate) struct WireContact {
    pub(crate) protocol_binding: Option<String>,
    pub(crate) address: Option<String>,
    pub(crate) message_bindings: Vec<String>,
    pub(crate) content_bindings: Vec<WireContentBinding>,
}

impl WireContact {
    pub(crate) fn from_node(n: &Node) -> Self {
        WireContact {
            protocol_binding: n.child_text("Protocol_Binding"),
            address: n.child_text("Address"),
            message_bindings: n.children_text("Message_Binding"),
            content_bindings: n
                .children("Content_Binding")
                .map(WireContentBinding::from_node)
                .collect(),
        }
    }
}

/// `Discovery_Response`.
#[derive(Debug, Clone)]
pub(crate) struct WireDiscoveryResponse {
    pub(crate) version: Version,
    pub(crate) message_id: Option<String>,
    pub(crate) in_response_to: Option<String>,
    pub(crate) service_instances: Vec<WireServiceInstance>,
}

/// `Service_Instance`.
#[derive(Debug, Clone)]
pub(crate) struct WireServiceInstance {
    pub(crate) service_type: Option<String>,
    pub(crate) service_version: Option<String>,
    pub(crate) available: Option<String>,
    pub(crate) contact: WireContact,
    pub(crate) message: Option<String>,
}

impl WireDiscoveryResponse {
    pub(crate) fn from_node(version: Version, n: &Node) -> Self {
        WireDiscoveryResponse {
            version,
            message_id: n.attr("message_id"),
            in_response_to: n.attr("in_response_to"),
            service_instances: n
                .children("Service_Instance")
                .map(|s| WireServiceInstance {
                    service_type: s.attr("service_type"),
                    service_version: s.attr("service_version"),
                    available: s.attr("available"),
                    contact: WireContact::from_node(s),
                    message: s.child_text("Message"),
                })
                .collect(),
        }
    }
}

/// `Collection_Information_Response` (1.1) or `Feed_Information_Response` (1.0).
#[derive(Debug, Clone)]
pub(crate) struct WireCollectionInformationResponse {
    pub(crate) version: Version,
    pub(crate) message_id: Option<String>,
    pub(crate) in_response_to: Option<String>,
    pub(crate) collections: Vec<WireCollection>,
}

/// `Collection` (1.1) or `Feed` (1.0).
#[derive(Debug, Clone)]
pub(crate) struct WireCollection {
    pub(crate) collection_name: Option<String>,
    pub(crate) feed_name: Option<String>,
    pub(crate) collection_type: Option<String>,
    pub(crate) available: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) collection_volume: Option<String>,
    pub(crate) content_bindings: Vec<WireContentBinding>,
    pub(crate) polling_services: Vec<WireContact>,
    pub(crate) subscription_services: Vec<WireContact>,
    pub(crate) receiving_inbox_services: Vec<WireContact>,
}

impl WireCollectionInformationResponse {
    pub(crate) fn from_node(version: Version, n: &Node) -> Self {
        let records = n.children("Collection").chain(n.children("Feed"));
        WireCollectionInformationResponse {
            version,
            message_id: n.attr("message_id"),
            in_response_to: n.attr("in_response_to"),
            collections: records
                .map(|c| WireCollection {
                    collection_name: c.attr("collection_name"),
                    feed_name: c.attr("feed_name"),
                    collection_type: c.attr("collection_type"),
                    available: c.attr("available"),
                    description: c.child_text("Description"),
                    collection_volume: c.child_text("Collection_Volume"),
                    content_bindings: c
                        .children("Content_Binding")
                        .map(WireContentBinding::from_node)
                        .collect(),
                    polling_services: c
                        .children("Polling_Service")
                        .map(WireContact::from_node)
                        .collect(),
                    subscription_services: c
                        .children("Subscription_Service")
                        .map(WireContact::from_node)
                        .collect(),
                    receiving_inbox_services: c
                        .children("Receiving_Inbox_Service")
                        .map(WireContact::from_node)
                        .collect(),
                })
                .collect(),
        }
    }
}

/// `Subscription_Management_Response`.
#[derive(Debug, Clone)]
pub(crate) struct WireSubscriptionResponse {
    pub(crate) version: Version,
    pub(crate) message_id: Option<String>,
    pub(crate) in_response_to: Option<String>,
    pub(crate) collection_name: Option<String>,
    pub(crate) feed_name: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) subscriptions: Vec<WireSubscription>,
}

/// `Subscription`: the id is an element in 1.1, an attribute in 1.0.
#[derive(Debug, Clone)]
pub(crate) struct WireSubscription {
    pub(crate) status: Option<String>,
    pub(crate) subscription_id_attr: Option<String>,
    pub(crate) subscription_id: Option<String>,
    pub(crate) poll_instances: Vec<WireContact>,
}

impl WireSubscriptionResponse {
    pub(crate) fn from_node(version: Version, n: &Node) -> Self {
        WireSubscriptionResponse {
            version,
            message_id: n.attr("message_id"),
            in_response_to: n.attr("in_response_to"),
            collection_name: n.attr("collection_name"),
            feed_name: n.attr("feed_name"),
            message: n.child_text("Message"),
            subscriptions: n
                .children("Subscription")
                .map(|s| WireSubscription {
                    status: s.attr("status"),
                    subscription_id_attr: s.attr("subscription_id"),
                    subscription_id: s.child_text("Subscription_ID"),
                    poll_instances: s
                        .children("Poll_Instance")
                        .map(WireContact::from_node)
                        .collect(),
                })
                .collect(),
        }
    }
}

/// `Poll_Response` up to its first `Content_Block`: attributes of the root and the leading
/// child elements (both versions' spellings).
#[derive(Debug, Clone)]
pub(crate) struct WirePollHeader {
    pub(crate) version: Version,
    pub(crate) message_id: Option<String>,
    pub(crate) in_response_to: Option<String>,
    pub(crate) collection_name: Option<String>,
    pub(crate) feed_name: Option<String>,
    pub(crate) more: Option<String>,
    pub(crate) result_id: Option<String>,
    pub(crate) result_part_number: Option<String>,
    /// 1.0: attribute.
    pub(crate) subscription_id_attr: Option<String>,
    /// 1.1: element.
    pub(crate) subscription_id: Option<String>,
    pub(crate) exclusive_begin_timestamp: Option<String>,
    /// 1.0 only.
    pub(crate) inclusive_begin_timestamp: Option<String>,
    pub(crate) inclusive_end_timestamp: Option<String>,
    /// `(text, partial_count)`.
    pub(crate) record_count: Option<(String, Option<String>)>,
    pub(crate) message: Option<String>,
}

impl WirePollHeader {
    pub(crate) fn from_root(version: Version, attrs: &Node) -> Self {
        WirePollHeader {
            version,
            message_id: attrs.attr("message_id"),
            in_response_to: attrs.attr("in_response_to"),
            collection_name: attrs.attr("collection_name"),
            feed_name: attrs.attr("feed_name"),
            more: attrs.attr("more"),
            result_id: attrs.attr("result_id"),
            result_part_number: attrs.attr("result_part_number"),
            subscription_id_attr: attrs.attr("subscription_id"),
            subscription_id: None,
            exclusive_begin_timestamp: None,
            inclusive_begin_timestamp: None,
            inclusive_end_timestamp: None,
            record_count: None,
            message: None,
        }
    }

    /// Takes one leading child element of `Poll_Response`; unknown ones are ignored.
    pub(crate) fn take_child(&mut self, n: &Node) {
        let text = Some(n.text.clone());
        match n.name.as_str() {
            "Subscription_ID" => self.subscription_id = text,
            "Exclusive_Begin_Timestamp" => self.exclusive_begin_timestamp = text,
            "Inclusive_Begin_Timestamp" => self.inclusive_begin_timestamp = text,
            "Inclusive_End_Timestamp" => self.inclusive_end_timestamp = text,
            "Record_Count" => self.record_count = Some((n.text.clone(), n.attr("partial_count"))),
            "Message" => self.message = text,
            _ => {}
        }
    }
}

/// The small children of a `Content_Block` (everything but `Content`).
#[derive(Debug, Clone, Default)]
pub(crate) struct WireBlockFields {
    pub(crate) content_binding: Option<WireContentBinding>,
    pub(crate) timestamp_label: Option<String>,
    pub(crate) message: Option<String>,
}

impl WireBlockFields {
    pub(crate) fn take_child(&mut self, n: &Node) {
        match n.name.as_str() {
            "Content_Binding" => self.content_binding = Some(WireContentBinding::from_node(n)),
            "Timestamp_Label" => self.timestamp_label = Some(n.text.clone()),
            "Message" => self.message = Some(n.text.clone()),
            _ => {}
        }
    }
}
