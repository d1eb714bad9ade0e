//! [`ClientError`]: what can go wrong talking to a TAXII 1.x server, and the process exit code
//! each failure maps to.

use crate::taxii11::{ParseError, ResponseError, StatusError, TransportError};

/// Exit code for authentication / authorisation failures.
pub const EXIT_AUTH: i32 = 3;
/// Exit code for a collection, subscription or URL that does not exist.
pub const EXIT_NOT_FOUND: i32 = 4;
/// Exit code for network failures (connect, timeout, TLS, connection cut).
pub const EXIT_NETWORK: i32 = 5;
/// Exit code for protocol and parse failures (not TAXII, malformed XML, limits).
pub const EXIT_PROTOCOL: i32 = 6;
/// Exit code for a client configuration that cannot be used (unreadable certificate, ...).
pub const EXIT_CONFIG: i32 = 2;

/// What kind of network failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    /// Name resolution or TCP connect failed (or the proxy refused).
    Connect,
    /// A connect, read or write timeout expired.
    Timeout,
    /// TLS failed on our side (server certificate not trusted, handshake error).
    Tls,
    /// The server refused our TLS client certificate (or asked for one we do not have).
    TlsClientAuth,
    /// The connection broke while sending or receiving (e.g. a truncated body).
    Io,
    /// The URL could not be used.
    BadUrl,
}

impl std::fmt::Display for NetworkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NetworkKind::Connect => "connection failed",
            NetworkKind::Timeout => "timed out",
            NetworkKind::Tls => "TLS error",
            NetworkKind::TlsClientAuth => "TLS client certificate refused",
            NetworkKind::Io => "connection error",
            NetworkKind::BadUrl => "bad URL",
        })
    }
}

/// A failed TAXII exchange. URLs are always redacted (no user info, no query); no variant
/// holds a password, and error texts from lower layers are scrubbed of the URL's user info.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The client configuration is unusable (unreadable CA file, bad PKCS#12 password, ...).
    #[error("client configuration: {0}")]
    Config(String),
    /// The request never got a complete HTTP answer.
    #[error("{kind} ({url}): {detail}")]
    Network {
        /// What failed.
        kind: NetworkKind,
        /// The URL, redacted.
        url: String,
        /// The underlying error's text (scrubbed).
        detail: String,
    },
    /// An HTTP error status without a TAXII body (401/403/407 from a front end, 406, 5xx).
    #[error("{url}: {source}")]
    Http {
        /// The URL, redacted.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The classification, with the start of the body.
        source: TransportError,
    },
    /// The answer is not a TAXII 1.x message (HTML login page, wrong URL, JSON API, ...).
    #[error("{url}: {source}")]
    NotTaxii {
        /// The URL, redacted.
        url: String,
        /// The classification, with the start of the body.
        source: TransportError,
    },
    /// The server answered with a non-SUCCESS Status_Message.
    #[error("{url}: {source}")]
    Status {
        /// The URL, redacted.
        url: String,
        /// The typed status.
        source: StatusError,
    },
    /// The body is larger than `max_body_bytes`.
    #[error("{url}: response body larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The URL, redacted.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The server kept announcing more parts after `max_parts`.
    #[error("{url}: collection {collection:?}: more than {limit} result parts, giving up")]
    PartLimit {
        /// The URL, redacted.
        url: String,
        /// The collection polled.
        collection: String,
        /// The limit.
        limit: u32,
    },
    /// The answer is TAXII but malformed, or not the message expected.
    #[error("{url}: {source}")]
    Parse {
        /// The URL, redacted.
        url: String,
        /// What is wrong.
        source: ResponseError,
    },
    /// A collection that was asked for does not exist (or this account may not see it).
    #[error("collection {name:?} not found (the server lists: {available})")]
    CollectionNotFound {
        /// The collection asked for.
        name: String,
        /// The collections the server lists, comma-separated.
        available: String,
    },
    /// The server does not offer a service the flow needs.
    #[error("{url}: the server advertises no {service} service")]
    NoService {
        /// The discovery URL, redacted.
        url: String,
        /// The service type missing.
        service: &'static str,
    },
    /// The block callback asked to stop.
    #[error("stopped by the content block handler: {0}")]
    Aborted(Box<dyn std::error::Error + Send + Sync>),
}

impl ClientError {
    /// The process exit code for this failure: 3 auth, 4 not found, 5 network, 6 protocol or
    /// parse, 2 configuration.
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Config(_) => EXIT_CONFIG,
            ClientError::Network {
                kind: NetworkKind::TlsClientAuth,
                ..
            } => EXIT_AUTH,
            ClientError::Network { .. } => EXIT_NETWORK,
            ClientError::Http { status, .. } => match status {
                401 | 403 | 407 => EXIT_AUTH,
                404 | 410 => EXIT_NOT_FOUND,
                500..=599 => EXIT_NETWORK,
                _ => EXIT_PROTOCOL,
            },
            ClientError::NotTaxii { source, .. } => match source {
                TransportError::NotTaxii { status: 404, .. } => EXIT_NOT_FOUND,
                _ => EXIT_PROTOCOL,
            },
            ClientError::Status { source, .. } => match source {
                StatusError::Unauthorized { .. } | StatusError::Denied { .. } => EXIT_AUTH,
                StatusError::NotFound { .. } => EXIT_NOT_FOUND,
                StatusError::Retry { .. }
                | StatusError::Pending { .. }
                | StatusError::NetworkError { .. } => EXIT_NETWORK,
                _ => EXIT_PROTOCOL,
            },
            ClientError::CollectionNotFound { .. } => EXIT_NOT_FOUND,
            ClientError::BodyTooLarge { .. }
            | ClientError::PartLimit { .. }
            | ClientError::Parse { .. }
            | ClientError::NoService { .. }
            | ClientError::Aborted(_) => EXIT_PROTOCOL,
        }
    }

    /// The TAXII status, when the server answered with one.
    pub fn status(&self) -> Option<&StatusError> {
        match self {
            ClientError::Status { source, .. } => Some(source),
            _ => None,
        }
    }

    /// Whether trying again later, unchanged, may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Network { kind, .. } => matches!(
                kind,
                NetworkKind::Connect | NetworkKind::Timeout | NetworkKind::Io
            ),
            ClientError::Http { status, .. } => *status >= 500,
            ClientError::Status { source, .. } => source.is_transient(),
            _ => false,
        }
    }

    pub(crate) fn from_response(url: &str, e: ResponseError) -> ClientError {
        match e {
            ResponseError::Status(source) => ClientError::Status {
                url: url.to_owned(),
                source,
            },
            other => ClientError::Parse {
                url: url.to_owned(),
                source: other,
            },
        }
    }

    pub(crate) fn from_transport(url: &str, source: TransportError) -> ClientError {
        match source {
            TransportError::NotAcceptable { .. } => ClientError::Http {
                url: url.to_owned(),
                status: 406,
                source,
            },
            TransportError::Unauthorized { status, .. } | TransportError::Server { status, .. } => {
                ClientError::Http {
                    url: url.to_owned(),
                    status,
                    source,
                }
            }
            other => ClientError::NotTaxii {
                url: url.to_owned(),
                source: other,
            },
        }
    }
}

impl From<(&str, ParseError)> for ClientError {
    fn from((url, e): (&str, ParseError)) -> Self {
        ClientError::Parse {
            url: url.to_owned(),
            source: ResponseError::Parse(e),
        }
    }
}

/// `url` without user info and query string, for errors and logs.
pub fn redact_url(url: &str) -> String {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_owned(),
    };
    let tail = match tail.find(['?', '#']) {
        Some(i) => format!("{}?***", &tail[..i]),
        None => tail.to_owned(),
    };
    match scheme {
        Some(s) => format!("{s}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

/// `text` with the user info and query of `url` (if any) blanked out.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    let mut out = text.to_owned();
    if let Some((_, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some((userinfo, _)) = rest[..authority_end].rsplit_once('@')
            && !userinfo.is_empty()
        {
            out = out.replace(userinfo, "***");
        }
    }
    if let Some(i) = url.find('?') {
        let query = &url[i + 1..];
        if !query.is_empty() {
            out = out.replace(query, "***");
        }
    }
    out
}
