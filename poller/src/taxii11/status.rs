//! Status_Message: `SUCCESS`, or a typed [`StatusError`] with one variant per status type of
//! the TAXII 1.1 spec (1.0's are a subset), each keeping the server's text.

use std::fmt;

use super::xml::Xml;
use super::{ResponseError, Version, convert, wire};

/// One `Status_Detail/Detail` (1.1), or the whole `Status_Detail` text under the name `""`
/// (1.0, where the detail is free text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusDetail {
    /// `name` attribute (`ITEM`, `ESTIMATED_WAIT`, ...).
    pub name: String,
    /// The detail's text, trimmed.
    pub value: String,
}

/// What every Status_Message carries besides its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusInfo {
    /// Version of the message (its namespace), which may differ from the request's: OpenTAXII
    /// answers a 1.0 request it cannot read with a 1.1 Status_Message.
    pub version: Version,
    /// `message_id` of the Status_Message.
    pub message_id: String,
    /// `in_response_to`: `"0"` when the server failed before reading the request (wrong
    /// password, bad headers, malformed XML), so it need not match the request's id.
    pub in_response_to: String,
    /// The human-readable `Message`, trimmed, if any.
    pub message: Option<String>,
    /// Every status detail as sent.
    pub details: Vec<StatusDetail>,
}

impl StatusInfo {
    /// The value of the first detail called `name`.
    pub fn detail(&self, name: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.as_str())
    }

    /// The values of every detail called `name`.
    pub fn details_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.details
            .iter()
            .filter(move |d| d.name == name)
            .map(|d| d.value.as_str())
    }
}

impl fmt::Display for StatusInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{m:?}")?,
            None => f.write_str("(no message)")?,
        }
        for d in &self.details {
            if d.name.is_empty() {
                write!(f, " [{}]", d.value)?;
            } else {
                write!(f, " [{}={}]", d.name, d.value)?;
            }
        }
        write!(f, " (in response to {})", self.in_response_to)
    }
}

/// A Status_Message whose type is not `SUCCESS`. (`info` is boxed to keep `Result`s small.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// `ASYNCHRONOUS_POLL_ERROR`: an asynchronous poll result could not be created.
    #[error("TAXII status ASYNCHRONOUS_POLL_ERROR: {info}")]
    AsynchronousPollError {
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `BAD_MESSAGE`: the server could not interpret the request (malformed or schema-invalid).
    #[error("TAXII status BAD_MESSAGE: {info}")]
    BadMessage {
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `DENIED`: refused for reasons other than authentication.
    #[error("TAXII status DENIED: {info}")]
    Denied {
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `DESTINATION_COLLECTION_ERROR`: wrong or missing destination collection of an inbox push.
    #[error("TAXII status DESTINATION_COLLECTION_ERROR: {info}")]
    DestinationCollectionError {
        /// `ACCEPTABLE_DESTINATION` details.
        acceptable_destinations: Vec<String>,
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `FAILURE`: anything else (OpenTAXII: missing headers, request sent to the wrong service).
    #[error("TAXII status FAILURE: {info}")]
    Failure {
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `INVALID_RESPONSE_PART`: a Poll_Fulfillment asked for a part that does not exist.
    #[error("TAXII status INVALID_RESPONSE_PART: {info}")]
    InvalidResponsePart {
        /// `MAX_PART_NUMBER` detail.
        max_part_number: Option<u32>,
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `NETWORK_ERROR`: a network error on the server's side (e.g. while pushing).
    #[error("TAXII status NETWORK_ERROR: {info}")]
    NetworkError {
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `NOT_FOUND`: unknown collection, subscription or result id (OpenTAXII also says this for
    /// a collection the account may not read).
    #[error("TAXII status NOT_FOUND: {info}")]
    NotFound {
        /// `ITEM` detail: what was not found.
        item: Option<String>,
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `PENDING`: the result will be ready later; fetch it with Poll_Fulfillment.
    #[error("TAXII status PENDING: {info}")]
    Pending {
        /// `ESTIMATED_WAIT` detail, seconds.
        estimated_wait: Option<u64>,
        /// `RESULT_ID` detail.
        result_id: Option<String>,
        /// `WILL_PUSH` detail.
        will_push: Option<bool>,
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `POLLING_UNSUPPORTED`: the collection cannot be polled.
    #[error("TAXII status POLLING_UNSUPPORTED: {info}")]
    PollingUnsupported {
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `RETRY`: try again later.
    #[error("TAXII status RETRY: {info}")]
    Retry {
        /// `ESTIMATED_WAIT` detail (1.1) or the Status_Detail text (1.0), seconds.
        estimated_wait: Option<u64>,
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `UNAUTHORIZED`: missing or wrong credentials (OpenTAXII sends this with HTTP 200).
    #[error("TAXII status UNAUTHORIZED: {info}")]
    Unauthorized {
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `UNSUPPORTED_CONTENT`: none of the requested content bindings is supported.
    #[error("TAXII status UNSUPPORTED_CONTENT: {info}")]
    UnsupportedContent {
        /// `SUPPORTED_CONTENT` details.
        supported: Vec<String>,
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `UNSUPPORTED_MESSAGE`: the message binding is not supported.
    #[error("TAXII status UNSUPPORTED_MESSAGE: {info}")]
    UnsupportedMessage {
        /// `SUPPORTED_BINDING` details.
        supported: Vec<String>,
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `UNSUPPORTED_PROTOCOL`: the protocol binding is not supported.
    #[error("TAXII status UNSUPPORTED_PROTOCOL: {info}")]
    UnsupportedProtocol {
        /// `SUPPORTED_PROTOCOL` details.
        supported: Vec<String>,
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// `UNSUPPORTED_QUERY`: the query format is not supported.
    #[error("TAXII status UNSUPPORTED_QUERY: {info}")]
    UnsupportedQuery {
        /// `SUPPORTED_QUERY` details.
        supported: Vec<String>,
        /// Message text and details.
        info: Box<StatusInfo>,
    },
    /// A status type outside the spec (servers may define their own URIs).
    #[error("TAXII status {status_type}: {info}")]
    Other {
        /// The `status_type` as sent.
        status_type: String,
        /// Message text and details.
        info: Box<StatusInfo>,
    },
}

impl StatusError {
    /// Message text, details and ids.
    pub fn info(&self) -> &StatusInfo {
        match self {
            StatusError::AsynchronousPollError { info }
            | StatusError::BadMessage { info }
            | StatusError::Denied { info }
            | StatusError::DestinationCollectionError { info, .. }
            | StatusError::Failure { info }
            | StatusError::InvalidResponsePart { info, .. }
            | StatusError::NetworkError { info }
            | StatusError::NotFound { info, .. }
            | StatusError::Pending { info, .. }
            | StatusError::PollingUnsupported { info }
            | StatusError::Retry { info, .. }
            | StatusError::Unauthorized { info }
            | StatusError::UnsupportedContent { info, .. }
            | StatusError::UnsupportedMessage { info, .. }
            | StatusError::UnsupportedProtocol { info, .. }
            | StatusError::UnsupportedQuery { info, .. }
            | StatusError::Other { info, .. } => info,
        }
    }

    /// The `status_type` as the spec spells it.
    pub fn status_type(&self) -> &str {
        match self {
            StatusError::AsynchronousPollError { .. } => "ASYNCHRONOUS_POLL_ERROR",
            StatusError::BadMessage { .. } => "BAD_MESSAGE",
            StatusError::Denied { .. } => "DENIED",
            StatusError::DestinationCollectionError { .. } => "DESTINATION_COLLECTION_ERROR",
            StatusError::Failure { .. } => "FAILURE",
            StatusError::InvalidResponsePart { .. } => "INVALID_RESPONSE_PART",
            StatusError::NetworkError { .. } => "NETWORK_ERROR",
            StatusError::NotFound { .. } => "NOT_FOUND",
            StatusError::Pending { .. } => "PENDING",
            StatusError::PollingUnsupported { .. } => "POLLING_UNSUPPORTED",
            StatusError::Retry { .. } => "RETRY",
            StatusError::Unauthorized { .. } => "UNAUTHORIZED",
            StatusError::UnsupportedContent { .. } => "UNSUPPORTED_CONTENT",
            StatusError::UnsupportedMessage { .. } => "UNSUPPORTED_MESSAGE",
            StatusError::UnsupportedProtocol { .. } => "UNSUPPORTED_PROTOCOL",
            StatusError::UnsupportedQuery { .. } => "UNSUPPORTED_QUERY",
            StatusError::Other { status_type, .. } => status_type,
        }
    }

    /// The server's `Message` text, if any.
    pub fn message(&self) -> Option<&str> {
        self.info().message.as_deref()
    }

    /// `in_response_to` of the Status_Message.
    pub fn in_response_to(&self) -> &str {
        &self.info().in_response_to
    }

    /// Whether asking again later may succeed without changing the request.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StatusError::Retry { .. }
                | StatusError::Pending { .. }
                | StatusError::NetworkError { .. }
        )
    }
}

/// A parsed Status_Message: success, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusMessage {
    /// `SUCCESS` (the answer to an Inbox_Message, for instance).
    Success(StatusInfo),
    /// Any other status type.
    Error(StatusError),
}

impl StatusMessage {
    /// `Ok` for `SUCCESS`, else the error.
    pub fn into_result(self) -> Result<StatusInfo, StatusError> {
        match self {
            StatusMessage::Success(info) => Ok(info),
            StatusMessage::Error(e) => Err(e),
        }
    }
}

/// Parses a body that should be a Status_Message (e.g. the answer to an Inbox_Message).
///
/// Any other TAXII message is [`ResponseError::Unexpected`]; note that a non-`SUCCESS` status
/// is *not* an `Err` here but [`StatusMessage::Error`].
pub fn parse_status_message(body: &[u8]) -> Result<StatusMessage, ResponseError> {
    let mut xml = Xml::new(body);
    let root = xml.root()?;
    if root.local_name() != "Status_Message" {
        return Err(ResponseError::Unexpected {
            expected: "Status_Message",
            found: root.local_name().to_owned(),
        });
    }
    let version = root.version;
    let node = xml.tree(super::xml::Ns::Taxii(version), &root.start, root.empty)?;
    xml.expect_eof()?;
    Ok(convert::status_message(
        wire::WireStatusMessage::from_node(version, &node),
    )?)
}

/// Reads a whole (small) message whose root must be one of `names`; a Status_Message instead
/// becomes [`ResponseError::Status`] (or `Unexpected` for `SUCCESS`).
pub(crate) fn read_message(
    body: &[u8],
    names: &[&str],
    expected: &'static str,
) -> Result<(Version, super::xml::Node), ResponseError> {
    let mut xml = Xml::new(body);
    let root = xml.root()?;
    let version = root.version;
    let wanted = names.contains(&root.local_name());
    if !wanted && root.local_name() != "Status_Message" {
        // Not read any further: it may be a multi-megabyte Poll_Response.
        return Err(ResponseError::Unexpected {
            expected,
            found: root.local_name().to_owned(),
        });
    }
    let node = xml.tree(super::xml::Ns::Taxii(version), &root.start, root.empty)?;
    xml.expect_eof()?;
    if wanted {
        return Ok((version, node));
    }
    Err(unexpected_status(
        convert::status_message(wire::WireStatusMessage::from_node(version, &node))?,
        expected,
    ))
}

/// The error for a Status_Message that came where another message was expected.
pub(crate) fn unexpected_status(status: StatusMessage, expected: &'static str) -> ResponseError {
    match status {
        StatusMessage::Error(e) => ResponseError::Status(e),
        StatusMessage::Success(info) => ResponseError::Unexpected {
            expected,
            found: match info.message {
                Some(m) => format!("Status_Message SUCCESS ({m:?})"),
                None => "Status_Message SUCCESS".to_owned(),
            },
        },
    }
}
