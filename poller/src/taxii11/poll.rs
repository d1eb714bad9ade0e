//! Poll_Response, streamed: the header first, then one content block at a time, each block's
//! content a byte range of the body handed over without copying.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::PrefixDeclaration;
use time::OffsetDateTime;

use super::status::unexpected_status;
use super::wire::{WireBlockFields, WirePollHeader, WireStatusMessage};
use super::xml::{Ns, ParseError, Xml, is_blank, resolve_reference};
use super::{ResponseError, Version, convert};

/// `Record_Count`: how many records the whole result holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordCount {
    /// The count.
    pub count: u64,
    /// `partial_count`: the real number may be higher.
    pub partial: bool,
}

/// Everything in a Poll_Response before its first content block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollHeader {
    /// Version of the message (its namespace).
    pub version: Version,
    /// `message_id` of the response.
    pub message_id: String,
    /// `in_response_to`.
    pub in_response_to: String,
    /// `collection_name` (1.1) or `feed_name` (1.0).
    pub collection_name: String,
    /// `result_id`: names the result set for Poll_Fulfillment (1.1).
    pub result_id: Option<String>,
    /// `more`: further parts exist (1.1; absent means `false`).
    pub more: bool,
    /// `result_part_number` (1.1; absent means 1).
    pub result_part_number: u32,
    /// `Subscription_ID` (1.1 element, 1.0 attribute).
    pub subscription_id: Option<String>,
    /// `Exclusive_Begin_Timestamp` (1.1).
    pub exclusive_begin: Option<OffsetDateTime>,
    /// `Inclusive_Begin_Timestamp` (1.0).
    pub inclusive_begin: Option<OffsetDateTime>,
    /// `Inclusive_End_Timestamp`. OpenTAXII leaves it out when the poll had no window; then
    /// the next poll's cursor is the last block's `Timestamp_Label`.
    pub inclusive_end: Option<OffsetDateTime>,
    /// `Record_Count` (1.1; OpenTAXII sends it only with `count_blocks_in_poll_responses`).
    pub record_count: Option<RecordCount>,
    /// The server's `Message`, if any.
    pub message: Option<String>,
}

impl PollHeader {
    /// `(result_id, next part number)` when the server says more parts follow and named the
    /// result set. An empty final part after `more="true"` is normal (OpenTAXII sets `more`
    /// whenever a part is exactly full), so the caller stops at the first `None`.
    pub fn next_part(&self) -> Option<(&str, u32)> {
        match (&self.result_id, self.more) {
            (Some(id), true) => Some((id.as_str(), self.result_part_number.saturating_add(1))),
            _ => None,
        }
    }
}

/// The content of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentRange<'a> {
    /// XML embedded in `<Content>` (the normal case for STIX): the raw bytes between the
    /// `Content` tags, surrounding whitespace trimmed. Namespace prefixes declared on TAXII
    /// ancestors are not repeated; see [`ContentBlock::namespaces`].
    Xml {
        /// Byte range of `xml` in the body.
        range: Range<usize>,
        /// The bytes, borrowed from the body.
        xml: &'a [u8],
    },
    /// Text content (escaped XML, CDATA, JSON, ...), unescaped and trimmed. Borrowed from the
    /// body when it is a single CDATA section or text without references.
    Text {
        /// Byte range of the raw (escaped) content in the body.
        range: Range<usize>,
        /// The unescaped text.
        text: Cow<'a, str>,
    },
}

impl ContentRange<'_> {
    /// The content's bytes: the XML as sent, or the unescaped text.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            ContentRange::Xml { xml, .. } => xml,
            ContentRange::Text { text, .. } => text.as_bytes(),
        }
    }

    /// Byte range of the content in the body.
    pub fn range(&self) -> Range<usize> {
        match self {
            ContentRange::Xml { range, .. } | ContentRange::Text { range, .. } => range.clone(),
        }
    }

    /// Whether the content is embedded XML.
    pub fn is_xml(&self) -> bool {
        matches!(self, ContentRange::Xml { .. })
    }
}

/// One `Content_Block`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentBlock<'a> {
    /// `Content_Binding`: `binding_id` attribute (1.1) or text (1.0).
    pub binding_id: String,
    /// `Content_Binding/Subtype/@subtype_id` (1.1).
    pub subtype: Option<String>,
    /// `Timestamp_Label`: the cursor for the next poll (ascending on OpenTAXII).
    pub timestamp_label: Option<OffsetDateTime>,
    /// The block's `Message`, if any.
    pub message: Option<String>,
    /// The content.
    pub content: ContentRange<'a>,
    /// Namespace bindings in scope at `<Content>` as `(prefix, uri)` (`""` for the default
    /// namespace): what a parser of [`ContentRange::Xml`] must assume for prefixes the content
    /// uses without declaring them.
    pub namespaces: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Just read `<Content_Block>`.
    InBlock,
    /// After `</Content_Block>`.
    BetweenBlocks,
    /// After `</Poll_Response>` (or an error).
    Done,
}

/// Streams a Poll_Response body: [`header`](Self::header) at once, then content blocks in
/// document order through [`next_block`](Self::next_block) or the `Iterator` impl.
///
/// ```no_run
/// # use taxiway_poller::taxii11::{PollResponseReader, ResponseError};
/// # fn f(body: &[u8]) -> Result<(), ResponseError> {
/// let mut reader = PollResponseReader::new(body)?;
/// let more = reader.header().next_part().map(|(id, part)| (id.to_owned(), part));
/// while let Some(block) = reader.next_block()? {
///     let stix: &[u8] = block.content.as_bytes();
///     # let _ = stix;
/// }
/// # let _ = more; Ok(()) }
/// ```
pub struct PollResponseReader<'a> {
    xml: Xml<'a>,
    header: PollHeader,
    state: State,
}

impl std::fmt::Debug for PollResponseReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollResponseReader")
            .field("header", &self.header)
            .field("state", &self.state)
            .field("position", &self.xml.position())
            .finish()
    }
}

impl<'a> PollResponseReader<'a> {
    /// Reads the header. A Status_Message body is [`ResponseError::Status`].
    pub fn new(body: &'a [u8]) -> Result<Self, ResponseError> {
        let mut xml = Xml::new(body);
        let root = xml.root()?;
        let version = root.version;
        match root.local_name() {
            "Poll_Response" => {}
            "Status_Message" => {
                let node = xml.tree(Ns::Taxii(version), &root.start, root.empty)?;
                xml.expect_eof()?;
                let status = convert::status_message(WireStatusMessage::from_node(version, &node))?;
                return Err(unexpected_status(status, "Poll_Response"));
            }
            other => {
                return Err(ResponseError::Unexpected {
                    expected: "Poll_Response",
                    found: other.to_owned(),
                });
            }
        }
        let attrs = xml.tree(Ns::Taxii(version), &root.start, true)?;
        let mut wire = WirePollHeader::from_root(version, &attrs);
        let state = if root.empty {
            xml.expect_eof()?;
            State::Done
        } else {
            // Header elements before the first block feed the header.
            seek_block(&mut xml, |xml, ns, start, empty| {
                if ns == Ns::Other {
                    xml.skip(start, empty)
                } else {
                    wire.take_child(&xml.tree(ns, start, empty)?);
                    Ok(())
                }
            })?
        };
        Ok(PollResponseReader {
            xml,
            header: convert::poll_header(wire)?,
            state,
        })
    }

    /// The header (attributes and the elements before the first block).
    pub fn header(&self) -> &PollHeader {
        &self.header
    }

    /// The next content block, or `None` after the last one.
    pub fn next_block(&mut self) -> Result<Option<ContentBlock<'a>>, ResponseError> {
        let result = self.advance();
        if result.is_err() {
            self.state = State::Done;
        }
        result
    }

    fn advance(&mut self) -> Result<Option<ContentBlock<'a>>, ResponseError> {
        if self.state == State::BetweenBlocks {
            self.state = self.seek_block()?;
        }
        if self.state == State::Done {
            return Ok(None);
        }
        let xml = &mut self.xml;
        let mut fields = WireBlockFields::default();
        let mut content = None;
        let mut namespaces = Vec::new();
        loop {
            let (ns, event) = xml.next_resolved()?;
            let (start, empty) = match event {
                Event::Start(s) => (s, false),
                Event::Empty(s) => (s, true),
                Event::End(_) => break,
                Event::Eof => return Err(unexpected_eof(xml).into()),
                _ => continue,
            };
            if is_taxii(ns, &start, "Content") {
                if content.is_some() {
                    return Err(xml
                        .malformed("two Content elements in one Content_Block")
                        .into());
                }
                content = Some(if empty {
                    let at = xml.position() as usize;
                    ContentRange::Text {
                        range: at..at,
                        text: Cow::Borrowed(""),
                    }
                } else {
                    namespaces = in_scope_namespaces(xml);
                    scan_content(xml)?
                });
            } else if ns == Ns::Other {
                xml.skip(&start, empty)?;
            } else {
                fields.take_child(&xml.tree(ns, &start, empty)?);
            }
        }
        let Some(content) = content else {
            return Err(missing_content());
        };
        self.state = State::BetweenBlocks;
        Ok(Some(convert::content_block(fields, content, namespaces)?))
    }

    /// After a block: the next `<Content_Block>` or the end of the message.
    fn seek_block(&mut self) -> Result<State, ResponseError> {
        seek_block(&mut self.xml, |xml, _, start, empty| xml.skip(start, empty))
    }
}

/// Reads the message's children up to the next `<Content_Block>` (`InBlock`,
/// positioned inside it) or the message's end (`Done`); every other child
/// element is handed to `other`, which must consume it.
fn seek_block<'a>(
    xml: &mut Xml<'a>,
    mut other: impl FnMut(&mut Xml<'a>, Ns, &BytesStart<'a>, bool) -> Result<(), ParseError>,
) -> Result<State, ResponseError> {
    loop {
        let (ns, event) = xml.next_resolved()?;
        let (start, empty) = match event {
            Event::Start(s) => (s, false),
            Event::Empty(s) => (s, true),
            Event::End(_) => {
                xml.expect_eof()?;
                return Ok(State::Done);
            }
            Event::Eof => return Err(unexpected_eof(xml).into()),
            _ => continue,
        };
        if is_taxii(ns, &start, "Content_Block") {
            if empty {
                return Err(missing_content());
            }
            return Ok(State::InBlock);
        }
        other(xml, ns, &start, empty)?;
    }
}

impl<'a> Iterator for PollResponseReader<'a> {
    type Item = Result<ContentBlock<'a>, ResponseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_block().transpose()
    }
}

fn is_taxii(ns: Ns, start: &BytesStart<'_>, local: &str) -> bool {
    matches!(ns, Ns::Taxii(_)) && start.local_name().into_inner() == local
}

fn missing_content() -> ResponseError {
    ParseError::Missing {
        message: "Content_Block",
        field: "Content",
    }
    .into()
}

fn unexpected_eof(xml: &Xml<'_>) -> ParseError {
    xml.malformed("unexpected end of the body inside Poll_Response")
}

fn in_scope_namespaces(xml: &Xml<'_>) -> Vec<(String, String)> {
    xml.reader
        .resolver()
        .bindings()
        .map(|(prefix, ns)| {
            let prefix = match prefix {
                PrefixDeclaration::Default => String::new(),
                PrefixDeclaration::Named(p) => p.to_owned(),
            };
            (prefix, ns.0.to_owned())
        })
        .collect()
}

/// Text pieces of a text content, kept borrowed while there is only one.
enum TextAcc<'a> {
    Empty,
    One(Cow<'a, str>),
    Many(String),
}

impl<'a> TextAcc<'a> {
    fn push(&mut self, piece: Cow<'a, str>) {
        *self = match std::mem::replace(self, TextAcc::Empty) {
            TextAcc::Empty => TextAcc::One(piece),
            TextAcc::One(first) => TextAcc::Many(first.into_owned() + &piece),
            TextAcc::Many(mut all) => {
                all.push_str(&piece);
                TextAcc::Many(all)
            }
        };
    }

    fn push_char(&mut self, c: char) {
        let mut all = match std::mem::replace(self, TextAcc::Empty) {
            TextAcc::Empty => String::new(),
            TextAcc::One(first) => first.into_owned(),
            TextAcc::Many(all) => all,
        };
        all.push(c);
        *self = TextAcc::Many(all);
    }

    fn is_empty(&self) -> bool {
        matches!(self, TextAcc::Empty)
    }

    /// The text with surrounding XML whitespace trimmed, borrowed when possible.
    fn finish(self) -> Cow<'a, str> {
        const BLANKS: [char; 4] = [' ', '\t', '\r', '\n'];
        match self {
            TextAcc::Empty => Cow::Borrowed(""),
            TextAcc::One(Cow::Borrowed(s)) => Cow::Borrowed(s.trim_matches(BLANKS)),
            TextAcc::One(Cow::Owned(s)) | TextAcc::Many(s) => {
                let trimmed = s.trim_matches(BLANKS);
                if trimmed.len() == s.len() {
                    Cow::Owned(s)
                } else {
                    Cow::Owned(trimmed.to_owned())
                }
            }
        }
    }
}

/// Reads from just after `<Content>` to just after `</Content>`: embedded XML comes back as a
/// range of the body, text content unescaped. Every event inside is still checked by
/// quick-xml (well-formedness, `<!DOCTYPE` refused) but nothing is copied for XML content.
fn scan_content<'a>(xml: &mut Xml<'a>) -> Result<ContentRange<'a>, ParseError> {
    let start = xml.position() as usize;
    let mut depth = 0usize;
    let mut has_elements = false;
    // Blank text pieces are kept aside so that whitespace around a CDATA section does not
    // force a copy.
    let mut text = TextAcc::Empty;
    let mut pending_blank: Option<Cow<'a, str>> = None;
    let end;
    loop {
        let before = xml.position() as usize;
        match xml.next_raw()? {
            Event::Start(_) => {
                depth += 1;
                has_elements = true;
            }
            Event::Empty(_) => has_elements = true,
            Event::End(_) if depth == 0 => {
                end = before;
                break;
            }
            Event::End(_) => depth -= 1,
            _ if depth > 0 || has_elements => {}
            Event::Text(t) if is_blank(&t) => {
                // Kept aside: blanks count only between two non-blank pieces.
                if !text.is_empty() {
                    pending_blank = Some(t.xml10_content());
                }
            }
            Event::Text(t) => {
                flush_blank(&mut text, &mut pending_blank);
                text.push(t.xml10_content());
            }
            Event::CData(c) => {
                flush_blank(&mut text, &mut pending_blank);
                text.push(c.xml10_content());
            }
            Event::GeneralRef(r) => {
                flush_blank(&mut text, &mut pending_blank);
                let c = resolve_reference(&r).map_err(|m| xml.malformed(m))?;
                text.push_char(c);
            }
            Event::Eof => return Err(xml.malformed("unexpected end of the body inside Content")),
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_) => {}
        }
    }
    let body = xml.body;
    let range = trim_range(body, start..end);
    if has_elements {
        Ok(ContentRange::Xml {
            xml: &body[range.clone()],
            range,
        })
    } else {
        Ok(ContentRange::Text {
            range,
            text: text.finish(),
        })
    }
}

fn flush_blank<'a>(text: &mut TextAcc<'a>, pending: &mut Option<Cow<'a, str>>) {
    if let Some(blank) = pending.take() {
        text.push(blank);
    }
}

fn trim_range(body: &[u8], mut range: Range<usize>) -> Range<usize> {
    let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    while range.start < range.end && blank(body[range.start]) {
        range.start += 1;
    }
    while range.end > range.start && blank(body[range.end - 1]) {
        range.end -= 1;
    }
    range
}
