//! Wire structs into domain types. Every leniency towards real servers and every difference
//! between TAXII 1.0 and 1.1 is decided here:
//!
//! - 1.0 names: `FEED_MANAGEMENT` is the collection management service, `feed_name` the
//!   collection name, `Content_Binding` carries its id as text (1.1: `binding_id` attribute),
//!   `subscription_id` is an attribute, `Status_Detail` is free text.
//! - Absent `available` stays unknown (`None`); absent `collection_type` is `DATA_FEED`;
//!   absent `more` is `false`, absent `result_part_number` is 1 (the schema's defaults).
//! - Text fields are trimmed (servers pretty-print); missing ids become empty strings rather
//!   than errors, since nothing the client does depends on them.
//! - Timestamps: RFC 3339 with `Z` or an offset (OpenTAXII: microseconds and `+00:00`); a
//!   timestamp without zone, which some servers send, is taken as UTC.
//! - Values that steer the polling loop (`more`, part numbers, timestamps, counts) are
//!   errors when unreadable, never guessed.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::poll::{ContentBlock, ContentRange, PollHeader, RecordCount};
use super::services::{
    CollectionInfo, CollectionInformationResponse, CollectionKind, ContentBinding,
    DiscoveryResponse, Scheme, ServiceContact, ServiceInstance, ServiceType, Subscription,
    SubscriptionResponse, SubscriptionStatus,
};
use super::status::{StatusDetail, StatusError, StatusInfo, StatusMessage};
use super::wire::{
    WireBlockFields, WireCollection, WireCollectionInformationResponse, WireContact,
    WireContentBinding, WireDiscoveryResponse, WirePollHeader, WireStatusMessage,
    WireSubscriptionResponse,
};
use super::xml::ParseError;
use super::{PROTOCOL_HTTP, PROTOCOL_HTTPS, Version};

fn trimmed(s: Option<String>) -> Option<String> {
    s.map(|s| {
        let t = s.trim();
        if t.len() == s.len() { s } else { t.to_owned() }
    })
}

fn trimmed_or_empty(s: Option<String>) -> String {
    trimmed(s).unwrap_or_default()
}

/// `xs:boolean`: `true`, `false`, `1`, `0`.
fn boolean(field: &'static str, value: &str) -> Result<bool, ParseError> {
    match value.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(ParseError::Invalid {
            field,
            value: other.to_owned(),
        }),
    }
}

/// A TAXII timestamp label (RFC 3339; no zone means UTC).
pub(crate) fn timestamp(field: &'static str, value: &str) -> Result<OffsetDateTime, ParseError> {
    let value = value.trim();
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(t);
    }
    let naive = format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(value, naive)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| ParseError::Invalid {
            field,
            value: value.to_owned(),
        })
}

fn content_binding(w: WireContentBinding) -> Option<ContentBinding> {
    let id = w.binding_id.unwrap_or(w.text);
    let id = id.trim();
    if id.is_empty() {
        return None;
    }
    Some(ContentBinding {
        binding_id: id.to_owned(),
        subtypes: w
            .subtypes
            .into_iter()
            .filter_map(trimmed)
            .filter(|s| !s.is_empty())
            .collect(),
    })
}

fn contact(w: WireContact, field: &'static str) -> Result<ServiceContact, ParseError> {
    let address = trimmed(w.address).ok_or(ParseError::Missing {
        message: field,
        field: "Address",
    })?;
    // A missing protocol binding is read off the address.
    let protocol_binding = trimmed(w.protocol_binding).unwrap_or_else(|| {
        match Scheme::of_url(&address) {
            Some(Scheme::Https) => PROTOCOL_HTTPS,
            _ => PROTOCOL_HTTP,
        }
        .to_owned()
    });
    Ok(ServiceContact {
        protocol_binding,
        address,
        message_bindings: w
            .message_bindings
            .into_iter()
            .map(|b| b.trim().to_owned())
            .collect(),
        content_bindings: w
            .content_bindings
            .into_iter()
            .filter_map(content_binding)
            .collect(),
    })
}

fn available(value: Option<String>) -> Option<bool> {
    value.and_then(|v| boolean("available", &v).ok())
}

fn service_type(value: &str) -> ServiceType {
    match value.trim() {
        "DISCOVERY" => ServiceType::Discovery,
        "COLLECTION_MANAGEMENT" | "FEED_MANAGEMENT" => ServiceType::CollectionManagement,
        "POLL" => ServiceType::Poll,
        "INBOX" => ServiceType::Inbox,
        other => ServiceType::Other(other.to_owned()),
    }
}

impl TryFrom<WireDiscoveryResponse> for DiscoveryResponse {
    type Error = ParseError;

    fn try_from(w: WireDiscoveryResponse) -> Result<Self, ParseError> {
        let services = w
            .service_instances
            .into_iter()
            .map(|s| {
                let c = contact(s.contact, "Service_Instance")?;
                Ok(ServiceInstance {
                    service_type: service_type(s.service_type.as_deref().unwrap_or("")),
                    services_version: trimmed_or_empty(s.service_version),
                    protocol_binding: c.protocol_binding,
                    address: c.address,
                    message_bindings: c.message_bindings,
                    content_bindings: c.content_bindings,
                    available: available(s.available),
                    message: trimmed(s.message),
                })
            })
            .collect::<Result<_, ParseError>>()?;
        Ok(DiscoveryResponse {
            version: w.version,
            message_id: trimmed_or_empty(w.message_id),
            in_response_to: trimmed_or_empty(w.in_response_to),
            services,
        })
    }
}

fn collection(w: WireCollection, version: Version) -> Result<CollectionInfo, ParseError> {
    let record = match version {
        Version::V10 => "Feed",
        Version::V11 => "Collection",
    };
    let name = trimmed(w.collection_name.or(w.feed_name)).ok_or(ParseError::Missing {
        message: record,
        field: "collection_name",
    })?;
    let kind = match w.collection_type.as_deref().map(str::trim) {
        Some("DATA_SET") => CollectionKind::DataSet,
        _ => CollectionKind::DataFeed,
    };
    let contacts = |list: Vec<WireContact>, field| {
        list.into_iter()
            .map(|c| contact(c, field))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(CollectionInfo {
        name,
        kind,
        available: available(w.available),
        description: trimmed_or_empty(w.description),
        volume: w.collection_volume.and_then(|v| v.trim().parse().ok()),
        content_bindings: w
            .content_bindings
            .into_iter()
            .filter_map(content_binding)
            .collect(),
        poll_services: contacts(w.polling_services, "Polling_Service")?,
        subscription_services: contacts(w.subscription_services, "Subscription_Service")?,
        inbox_services: contacts(w.receiving_inbox_services, "Receiving_Inbox_Service")?,
    })
}

impl TryFrom<WireCollectionInformationResponse> for CollectionInformationResponse {
    type Error = ParseError;

    fn try_from(w: WireCollectionInformationResponse) -> Result<Self, ParseError> {
        let version = w.version;
        Ok(CollectionInformationResponse {
            version,
            message_id: trimmed_or_empty(w.message_id),
            in_response_to: trimmed_or_empty(w.in_response_to),
            collections: w
                .collections
                .into_iter()
                .map(|c| collection(c, version))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl TryFrom<WireSubscriptionResponse> for SubscriptionResponse {
    type Error = ParseError;

    fn try_from(w: WireSubscriptionResponse) -> Result<Self, ParseError> {
        let subscriptions = w
            .subscriptions
            .into_iter()
            .map(|s| {
                let id = trimmed(s.subscription_id.or(s.subscription_id_attr)).ok_or(
                    ParseError::Missing {
                        message: "Subscription",
                        field: "Subscription_ID",
                    },
                )?;
                let status = match s.status.as_deref().map(str::trim) {
                    None | Some("ACTIVE") => SubscriptionStatus::Active,
                    Some("PAUSED") => SubscriptionStatus::Paused,
                    Some("UNSUBSCRIBED") => SubscriptionStatus::Unsubscribed,
                    Some(other) => SubscriptionStatus::Other(other.to_owned()),
                };
                Ok(Subscription {
                    id,
                    status,
                    poll_instances: s
                        .poll_instances
                        .into_iter()
                        .map(|c| contact(c, "Poll_Instance"))
                        .collect::<Result<_, ParseError>>()?,
                })
            })
            .collect::<Result<_, ParseError>>()?;
        Ok(SubscriptionResponse {
            version: w.version,
            message_id: trimmed_or_empty(w.message_id),
            in_response_to: trimmed_or_empty(w.in_response_to),
            collection_name: trimmed_or_empty(w.collection_name.or(w.feed_name)),
            message: trimmed(w.message),
            subscriptions,
        })
    }
}

/// Seconds in a status detail; some servers write `300.0`.
fn seconds(value: &str) -> Option<u64> {
    let value = value.trim();
    value.parse::<u64>().ok().or_else(|| {
        value
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| s.ceil() as u64)
    })
}

impl TryFrom<WireStatusMessage> for StatusMessage {
    type Error = ParseError;

    fn try_from(w: WireStatusMessage) -> Result<Self, ParseError> {
        let version = w.version.unwrap_or(Version::V11);
        let status_type = trimmed(w.status_type).ok_or(ParseError::Missing {
            message: "Status_Message",
            field: "status_type",
        })?;
        let mut details: Vec<StatusDetail> = w
            .details
            .into_iter()
            .map(|(name, value)| StatusDetail {
                name: trimmed_or_empty(name),
                value: value.trim().to_owned(),
            })
            .collect();
        // 1.0: the detail is free text; kept under the empty name.
        let free_text = trimmed(w.status_detail_text).filter(|t| !t.is_empty());
        if let Some(text) = &free_text {
            details.push(StatusDetail {
                name: String::new(),
                value: text.clone(),
            });
        }
        let info = Box::new(StatusInfo {
            version,
            message_id: trimmed_or_empty(w.message_id),
            in_response_to: trimmed_or_empty(w.in_response_to),
            message: trimmed(w.message).filter(|m| !m.is_empty()),
            details,
        });
        let detail = |name: &str| info.detail(name).map(str::to_owned);
        // A named list (1.1), else the 1.0 free text split on blanks and commas.
        let list = |name: &str| -> Vec<String> {
            let named: Vec<String> = info.details_named(name).map(str::to_owned).collect();
            if !named.is_empty() {
                return named;
            }
            free_text
                .iter()
                .flat_map(|t| t.split(|c: char| c.is_whitespace() || c == ','))
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let error = match status_type.as_str() {
            "SUCCESS" => return Ok(StatusMessage::Success(*info)),
            "ASYNCHRONOUS_POLL_ERROR" => StatusError::AsynchronousPollError { info },
            "BAD_MESSAGE" => StatusError::BadMessage { info },
            "DENIED" => StatusError::Denied { info },
            "DESTINATION_COLLECTION_ERROR" => StatusError::DestinationCollectionError {
                acceptable_destinations: list("ACCEPTABLE_DESTINATION"),
                info,
            },
            "FAILURE" => StatusError::Failure { info },
            "INVALID_RESPONSE_PART" => StatusError::InvalidResponsePart {
                max_part_number: detail("MAX_PART_NUMBER").and_then(|v| v.trim().parse().ok()),
                info,
            },
            "NETWORK_ERROR" => StatusError::NetworkError { info },
            "NOT_FOUND" => StatusError::NotFound {
                item: detail("ITEM"),
                info,
            },
            "PENDING" => StatusError::Pending {
                estimated_wait: detail("ESTIMATED_WAIT").as_deref().and_then(seconds),
                result_id: detail("RESULT_ID"),
                will_push: detail("WILL_PUSH").and_then(|v| boolean("WILL_PUSH", &v).ok()),
                info,
            },
            "POLLING_UNSUPPORTED" => StatusError::PollingUnsupported { info },
            "RETRY" => StatusError::Retry {
                estimated_wait: detail("ESTIMATED_WAIT")
                    .or_else(|| free_text.clone())
                    .as_deref()
                    .and_then(seconds),
                info,
            },
            "UNAUTHORIZED" => StatusError::Unauthorized { info },
            "UNSUPPORTED_CONTENT" => StatusError::UnsupportedContent {
                supported: list("SUPPORTED_CONTENT"),
                info,
            },
            "UNSUPPORTED_MESSAGE" => StatusError::UnsupportedMessage {
                supported: list("SUPPORTED_BINDING"),
                info,
            },
            "UNSUPPORTED_PROTOCOL" => StatusError::UnsupportedProtocol {
                supported: list("SUPPORTED_PROTOCOL"),
                info,
            },
            "UNSUPPORTED_QUERY" => StatusError::UnsupportedQuery {
                supported: list("SUPPORTED_QUERY"),
                info,
            },
            _ => StatusError::Other { status_type, info },
        };
        Ok(StatusMessage::Error(error))
    }
}

impl TryFrom<WirePollHeader> for PollHeader {
    type Error = ParseError;

    fn try_from(w: WirePollHeader) -> Result<Self, ParseError> {
        let ts = |field, v: Option<String>| v.map(|v| timestamp(field, &v)).transpose();
        let record_count = match w.record_count {
            None => None,
            Some((count, partial)) => Some(RecordCount {
                count: count.trim().parse().map_err(|_| ParseError::Invalid {
                    field: "Record_Count",
                    value: count.trim().to_owned(),
                })?,
                partial: partial
                    .map(|p| boolean("partial_count", &p))
                    .transpose()?
                    .unwrap_or(false),
            }),
        };
        let result_part_number = match w.result_part_number {
            None => 1,
            Some(n) => match n.trim().parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(ParseError::Invalid {
                        field: "result_part_number",
                        value: n,
                    });
                }
            },
        };
        Ok(PollHeader {
            version: w.version,
            message_id: trimmed_or_empty(w.message_id),
            in_response_to: trimmed_or_empty(w.in_response_to),
            collection_name: trimmed_or_empty(w.collection_name.or(w.feed_name)),
            result_id: trimmed(w.result_id).filter(|r| !r.is_empty()),
            more: w
                .more
                .map(|m| boolean("more", &m))
                .transpose()?
                .unwrap_or(false),
            result_part_number,
            subscription_id: trimmed(w.subscription_id.or(w.subscription_id_attr))
                .filter(|s| !s.is_empty()),
            exclusive_begin: ts("Exclusive_Begin_Timestamp", w.exclusive_begin_timestamp)?,
            inclusive_begin: ts("Inclusive_Begin_Timestamp", w.inclusive_begin_timestamp)?,
            inclusive_end: ts("Inclusive_End_Timestamp", w.inclusive_end_timestamp)?,
            record_count,
            message: trimmed(w.message).filter(|m| !m.is_empty()),
        })
    }
}

/// A content block from its small fields and its already located content.
pub(crate) fn content_block<'a>(
    fields: WireBlockFields,
    content: ContentRange<'a>,
    namespaces: Vec<(String, String)>,
) -> Result<ContentBlock<'a>, ParseError> {
    let binding = fields.content_binding.and_then(content_binding);
    let (binding_id, subtype) = match binding {
        Some(b) => (b.binding_id, b.subtypes.into_iter().next()),
        // Required by the schema; left empty so that the content can still be sniffed.
        None => (String::new(), None),
    };
    Ok(ContentBlock {
        binding_id,
        subtype,
        timestamp_label: fields
            .timestamp_label
            .map(|t| timestamp("Timestamp_Label", &t))
            .transpose()?,
        message: trimmed(fields.message).filter(|m| !m.is_empty()),
        content,
        namespaces,
    })
}

/// Shorthands used by the parsers.
pub(crate) fn status_message(w: WireStatusMessage) -> Result<StatusMessage, ParseError> {
    w.try_into()
}

pub(crate) fn poll_header(w: WirePollHeader) -> Result<PollHeader, ParseError> {
    w.try_into()
}

pub(crate) fn discovery_response(
    w: WireDiscoveryResponse,
) -> Result<DiscoveryResponse, ParseError> {
    w.try_into()
}

pub(crate) fn collection_information_response(
    w: WireCollectionInformationResponse,
) -> Result<CollectionInformationResponse, ParseError> {
    w.try_into()
}

pub(crate) fn subscription_response(
    w: WireSubscriptionResponse,
) -> Result<SubscriptionResponse, ParseError> {
    w.try_into()
}

/// A timestamp as TAXII wants it in requests: RFC 3339 with an explicit offset and at most
/// microseconds (the schema allows 1 to 6 fraction digits; OpenTAXII rejects more as
/// `BAD_MESSAGE`). Sub-microsecond digits are dropped, never rounded up.
pub(crate) fn format_timestamp(t: OffsetDateTime) -> String {
    // An offset with seconds has no RFC 3339 spelling: such a time is written in UTC.
    let t = if t.offset().seconds_past_minute() != 0 {
        t.to_offset(time::UtcOffset::UTC)
    } else {
        t
    };
    let offset = t.offset();
    let micros = t.nanosecond() / 1_000;
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if micros != 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    out.push_str(&format!(
        "{sign}{:02}:{:02}",
        h.unsigned_abs(),
        m.unsigned_abs()
    ));
    out
}
