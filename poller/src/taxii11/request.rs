//! Request bodies, written the way libtaxii writes them (same prefixes, namespace
//! declarations, attribute order and indentation) so that servers tested only against
//! libtaxii clients see nothing new.

use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use quick_xml::escape::escape;
use time::OffsetDateTime;

use super::convert::format_timestamp;
use super::services::ContentBinding;
use super::{NS_TAXII_10, NS_TAXII_11, NS_TAXII_DEFAULT_QUERY, Version};

/// A fresh `message_id`: decimal digits (TAXII 1.0 allows nothing else), unpredictable across
/// processes and distinct within one.
pub fn new_message_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded randomly per process; the counter keeps ids apart within it.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    // Below 10^18 so that every id has at most 18 digits, like libtaxii's.
    (hasher.finish() % 1_000_000_000_000_000_000).to_string()
}

/// `Response_Type` of a 1.1 poll or subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseType {
    /// Every matching content block.
    #[default]
    Full,
    /// Only `Record_Count` (OpenTAXII still answers `more="true"` with a `result_id`, and no
    /// count at all unless `count_blocks_in_poll_responses` is on: never fulfil such a result).
    CountOnly,
}

impl ResponseType {
    fn as_str(self) -> &'static str {
        match self {
            ResponseType::Full => "FULL",
            ResponseType::CountOnly => "COUNT_ONLY",
        }
    }
}

/// What a 1.1 Poll_Request polls by: exactly one of the two (the schema's `choice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollSelector<'a> {
    /// `Subscription_ID`: the subscription's parameters apply.
    Subscription(&'a str),
    /// `Poll_Parameters allow_asynch="false"`.
    Parameters {
        /// `Response_Type`.
        response_type: ResponseType,
        /// Acceptable content bindings (empty: any).
        content_bindings: &'a [ContentBinding],
    },
}

/// A TAXII 1.1 Poll_Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollRequest11<'a> {
    /// `message_id`.
    pub message_id: &'a str,
    /// `collection_name`.
    pub collection_name: &'a str,
    /// `Exclusive_Begin_Timestamp`: the cursor (last `Timestamp_Label` seen).
    pub exclusive_begin: Option<OffsetDateTime>,
    /// `Inclusive_End_Timestamp`.
    pub inclusive_end: Option<OffsetDateTime>,
    /// Subscription or parameters.
    pub selector: PollSelector<'a>,
}

/// A TAXII 1.1 Poll_Fulfillment (the next part of a multi-part result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollFulfillmentRequest<'a> {
    /// `message_id`.
    pub message_id: &'a str,
    /// `collection_name`.
    pub collection_name: &'a str,
    /// `result_id` of the first part.
    pub result_id: &'a str,
    /// `result_part_number` wanted (2 and up).
    pub result_part_number: u32,
}

/// A TAXII 1.0 Poll_Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollRequest10<'a> {
    /// `message_id` (digits only in 1.0).
    pub message_id: &'a str,
    /// `feed_name`.
    pub feed_name: &'a str,
    /// `subscription_id` (an attribute in 1.0).
    pub subscription_id: Option<&'a str>,
    /// `Exclusive_Begin_Timestamp`.
    pub exclusive_begin: Option<OffsetDateTime>,
    /// `Inclusive_End_Timestamp`.
    pub inclusive_end: Option<OffsetDateTime>,
    /// Acceptable content bindings (empty: any).
    pub content_bindings: &'a [&'a str],
}

/// A Subscription_Management_Request with action `SUBSCRIBE` (delivery by polling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscribeRequest<'a> {
    /// Message version.
    pub version: Version,
    /// `message_id`.
    pub message_id: &'a str,
    /// `collection_name` (1.1) or `feed_name` (1.0).
    pub collection_name: &'a str,
    /// `Subscription_Parameters/Response_Type` (1.1 only).
    pub response_type: ResponseType,
    /// `Subscription_Parameters/Content_Binding` (1.1 only; empty: any).
    pub content_bindings: &'a [ContentBinding],
}

/// A message being written: root element with libtaxii's three namespace declarations,
/// children indented by two spaces per level, a final newline.
struct Doc {
    prefix: &'static str,
    name: &'static str,
    out: String,
    open: bool,
}

impl Doc {
    fn new(version: Version, name: &'static str, attrs: &[(&str, &str)]) -> Doc {
        let prefix = match version {
            Version::V10 => "taxii",
            Version::V11 => "taxii_11",
        };
        let mut out = format!(
            "<{prefix}:{name} xmlns:taxii=\"{NS_TAXII_10}\" xmlns:taxii_11=\"{NS_TAXII_11}\" \
             xmlns:tdq=\"{NS_TAXII_DEFAULT_QUERY}\""
        );
        push_attrs(&mut out, attrs);
        Doc {
            prefix,
            name,
            out,
            open: false,
        }
    }

    fn open_root(&mut self) {
        if !self.open {
            self.out.push_str(">\n");
            self.open = true;
        }
    }

    fn indent(&mut self, depth: usize) {
        self.open_root();
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn text_element(&mut self, depth: usize, name: &str, text: &str) {
        self.indent(depth);
        let p = self.prefix;
        let _ = writeln!(self.out, "<{p}:{name}>{}</{p}:{name}>", escape(text));
    }

    fn empty_element(&mut self, depth: usize, name: &str, attrs: &[(&str, &str)]) {
        self.indent(depth);
        let _ = write!(self.out, "<{}:{name}", self.prefix);
        push_attrs(&mut self.out, attrs);
        self.out.push_str("/>\n");
    }

    fn start(&mut self, depth: usize, name: &str, attrs: &[(&str, &str)]) {
        self.indent(depth);
        let _ = write!(self.out, "<{}:{name}", self.prefix);
        push_attrs(&mut self.out, attrs);
        self.out.push_str(">\n");
    }

    fn end(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        let _ = writeln!(self.out, "</{}:{name}>", self.prefix);
    }

    /// 1.1 `Content_Binding binding_id=".."` with its `Subtype`s.
    fn content_binding(&mut self, depth: usize, binding: &ContentBinding) {
        let attrs = [("binding_id", binding.binding_id.as_str())];
        if binding.subtypes.is_empty() {
            self.empty_element(depth, "Content_Binding", &attrs);
        } else {
            self.start(depth, "Content_Binding", &attrs);
            for subtype in &binding.subtypes {
                self.empty_element(depth + 1, "Subtype", &[("subtype_id", subtype)]);
            }
            self.end(depth, "Content_Binding");
        }
    }

    fn finish(mut self) -> String {
        if self.open {
            let _ = writeln!(self.out, "</{}:{}>", self.prefix, self.name);
        } else {
            self.out.push_str("/>\n");
        }
        self.out
    }
}

fn push_attrs(out: &mut String, attrs: &[(&str, &str)]) {
    for (key, value) in attrs {
        let _ = write!(out, " {key}=\"{}\"", escape(*value));
    }
}

/// A Discovery_Request.
pub fn discovery_request(version: Version, message_id: &str) -> String {
    Doc::new(version, "Discovery_Request", &[("message_id", message_id)]).finish()
}

/// A Collection_Information_Request (1.1) or Feed_Information_Request (1.0).
pub fn collection_information_request(version: Version, message_id: &str) -> String {
    let name = match version {
        Version::V10 => "Feed_Information_Request",
        Version::V11 => "Collection_Information_Request",
    };
    Doc::new(version, name, &[("message_id", message_id)]).finish()
}

impl PollRequest11<'_> {
    /// The XML body.
    pub fn to_xml(&self) -> String {
        let mut doc = Doc::new(
            Version::V11,
            "Poll_Request",
            &[
                ("message_id", self.message_id),
                ("collection_name", self.collection_name),
            ],
        );
        if let Some(t) = self.exclusive_begin {
            doc.text_element(1, "Exclusive_Begin_Timestamp", &format_timestamp(t));
        }
        if let Some(t) = self.inclusive_end {
            doc.text_element(1, "Inclusive_End_Timestamp", &format_timestamp(t));
        }
        match self.selector {
            PollSelector::Subscription(id) => doc.text_element(1, "Subscription_ID", id),
            PollSelector::Parameters {
                response_type,
                content_bindings,
            } => {
                doc.start(1, "Poll_Parameters", &[("allow_asynch", "false")]);
                doc.text_element(2, "Response_Type", response_type.as_str());
                for binding in content_bindings {
                    doc.content_binding(2, binding);
                }
                doc.end(1, "Poll_Parameters");
            }
        }
        doc.finish()
    }
}

impl PollFulfillmentRequest<'_> {
    /// The XML body.
    pub fn to_xml(&self) -> String {
        let part = self.result_part_number.to_string();
        Doc::new(
            Version::V11,
            "Poll_Fulfillment",
            &[
                ("message_id", self.message_id),
                ("collection_name", self.collection_name),
                ("result_id", self.result_id),
                ("result_part_number", &part),
            ],
        )
        .finish()
    }
}

impl PollRequest10<'_> {
    /// The XML body.
    pub fn to_xml(&self) -> String {
        let mut attrs = vec![
            ("message_id", self.message_id),
            ("feed_name", self.feed_name),
        ];
        if let Some(id) = self.subscription_id {
            attrs.push(("subscription_id", id));
        }
        let mut doc = Doc::new(Version::V10, "Poll_Request", &attrs);
        if let Some(t) = self.exclusive_begin {
            doc.text_element(1, "Exclusive_Begin_Timestamp", &format_timestamp(t));
        }
        if let Some(t) = self.inclusive_end {
            doc.text_element(1, "Inclusive_End_Timestamp", &format_timestamp(t));
        }
        for binding in self.content_bindings {
            doc.text_element(1, "Content_Binding", binding);
        }
        doc.finish()
    }
}

impl SubscribeRequest<'_> {
    /// The XML body.
    pub fn to_xml(&self) -> String {
        match self.version {
            Version::V11 => {
                let mut doc = Doc::new(
                    Version::V11,
                    "Subscription_Management_Request",
                    &[
                        ("message_id", self.message_id),
                        ("collection_name", self.collection_name),
                        ("action", "SUBSCRIBE"),
                    ],
                );
                doc.start(1, "Subscription_Parameters", &[]);
                doc.text_element(2, "Response_Type", self.response_type.as_str());
                for binding in self.content_bindings {
                    doc.content_binding(2, binding);
                }
                doc.end(1, "Subscription_Parameters");
                doc.finish()
            }
            // 1.0 has no subscription parameters; without Push_Parameters the subscriber polls.
            Version::V10 => Doc::new(
                Version::V10,
                "Subscription_Management_Request",
                &[
                    ("message_id", self.message_id),
                    ("feed_name", self.collection_name),
                    ("action", "SUBSCRIBE"),
                ],
            )
            .finish(),
        }
    }
}
