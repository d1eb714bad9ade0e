//! Telling a TAXII answer from everything else an HTTP endpoint may send back (login pages,
//! 406 text, proxy errors) before any XML parsing.

use super::xml::Xml;
use super::{HEADER_X_TAXII_CONTENT_TYPE, Version};

/// Characters of the body kept in errors about non-TAXII answers.
const SNIPPET_CHARS: usize = 200;

/// A response that carries a TAXII message, to hand to the matching parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    /// The message binding, from `X-TAXII-Content-Type` (or the root element's namespace when
    /// the header is missing). It may differ from the request's: OpenTAXII answers some 1.0
    /// requests with 1.1 Status_Messages.
    pub version: Version,
    /// The HTTP status (TAXII normally uses 200 even for errors, which come as
    /// Status_Messages).
    pub http_status: u16,
    /// `true` when `X-TAXII-Content-Type` was missing and the body was recognised by its root
    /// element (some proxies strip unknown headers); worth a warning.
    pub header_missing: bool,
}

/// A response that is not a TAXII message. Snippets come from the response body only (never
/// from the request, its URL or its headers) and hold at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// HTTP 406 without TAXII headers: OpenTAXII's answer to a missing or wrong `Accept`.
    #[error("HTTP 406 Not Acceptable (the server wants Accept: application/xml): {snippet:?}")]
    NotAcceptable {
        /// Start of the body.
        snippet: String,
    },
    /// HTTP 401/403/407 without TAXII headers: a proxy or web front end refused the
    /// credentials (TAXII servers answer UNAUTHORIZED Status_Messages with HTTP 200).
    #[error("HTTP {status}: access refused before reaching the TAXII service: {snippet:?}")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// Start of the body.
        snippet: String,
    },
    /// HTTP 5xx without a TAXII body.
    #[error("HTTP {status} server error: {snippet:?}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// Start of the body.
        snippet: String,
    },
    /// No `X-TAXII-Content-Type` and no TAXII message in the body: wrong URL (404, 405),
    /// an HTML login page, a JSON API, ...
    #[error("not a TAXII 1.x answer (HTTP {status}, Content-Type {content_type:?}): {snippet:?}")]
    NotTaxii {
        /// The HTTP status.
        status: u16,
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
        /// Start of the body.
        snippet: String,
    },
    /// `X-TAXII-Content-Type` names a message binding other than XML 1.0 / 1.1.
    #[error("unsupported TAXII message binding {x_taxii_content_type:?} (HTTP {status})")]
    UnsupportedVersion {
        /// The HTTP status.
        status: u16,
        /// The header's value.
        x_taxii_content_type: String,
    },
    /// `X-TAXII-Content-Type` is set but the body is empty.
    #[error("HTTP {status}: TAXII headers but an empty body")]
    EmptyBody {
        /// The HTTP status.
        status: u16,
    },
}

/// Decides whether an HTTP response carries a TAXII 1.x message.
///
/// `headers` are `(name, value)` pairs with names in any case. With `X-TAXII-Content-Type`
/// the answer is TAXII whatever the HTTP status (a Status_Message explains errors better than
/// the status code); without it: 406 is [`TransportError::NotAcceptable`], 401/403/407
/// [`TransportError::Unauthorized`], 5xx [`TransportError::Server`], and anything else is
/// [`TransportError::NotTaxii`] unless the body's root element is a TAXII message.
pub fn classify_response(
    http_status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Classified, TransportError> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    if let Some(value) = header(HEADER_X_TAXII_CONTENT_TYPE) {
        let Some(version) = Version::from_message_binding(value) else {
            return Err(TransportError::UnsupportedVersion {
                status: http_status,
                x_taxii_content_type: value.to_owned(),
            });
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(TransportError::EmptyBody {
                status: http_status,
            });
        }
        return Ok(Classified {
            version,
            http_status,
            header_missing: false,
        });
    }
    match http_status {
        406 => {
            return Err(TransportError::NotAcceptable {
                snippet: snippet(body),
            });
        }
        401 | 403 | 407 => {
            return Err(TransportError::Unauthorized {
                status: http_status,
                snippet: snippet(body),
            });
        }
        500..=599 => {
            return Err(TransportError::Server {
                status: http_status,
                snippet: snippet(body),
            });
        }
        _ => {}
    }
    if let Ok(root) = Xml::new(body).root() {
        return Ok(Classified {
            version: root.version,
            http_status,
            header_missing: true,
        });
    }
    Err(TransportError::NotTaxii {
        status: http_status,
        content_type: header("Content-Type").map(str::to_owned),
        snippet: snippet(body),
    })
}

/// The first characters of a body, on one line, for error messages.
fn snippet(body: &[u8]) -> String {
    // 4 bytes per character at most; a cut UTF-8 sequence at the end becomes U+FFFD.
    let head = &body[..body.len().min(SNIPPET_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    let mut count = 0;
    let mut blank = false;
    for c in text.trim().chars() {
        if count == SNIPPET_CHARS {
            out.push('…');
            break;
        }
        if c.is_whitespace() || c.is_control() {
            blank = true;
            continue;
        }
        if blank && !out.is_empty() {
            out.push(' ');
            count += 1;
        }
        blank = false;
        out.push(c);
        count += 1;
    }
    out
}
