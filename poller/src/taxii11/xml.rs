//! Reading TAXII XML with quick-xml: namespaces resolved by URI, `<!DOCTYPE` refused, errors
//! with byte positions, and a small owned tree for the (small) non-poll messages.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::Version;

/// Deepest element nesting accepted in a TAXII message outside of `Content` (the tree is
/// dropped recursively; real messages nest fewer than 10 levels).
const MAX_DEPTH: usize = 64;

/// Why a body could not be read as a TAXII message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The body carries a document type declaration; refused so that no entity can expand.
    #[error("XML document type declarations are refused (at byte {position})")]
    Doctype {
        /// Byte offset of the declaration.
        position: u64,
    },
    /// The body is not well-formed XML (or not UTF-8).
    #[error("malformed XML at byte {position}: {message}")]
    Malformed {
        /// Byte offset where the problem was found.
        position: u64,
        /// What quick-xml (or this parser) found wrong.
        message: String,
    },
    /// The body is empty or holds no element.
    #[error("the body holds no XML element")]
    Empty,
    /// The root element is not in a TAXII 1.0 or 1.1 namespace.
    #[error("not a TAXII 1.x message: root element {name} in namespace {namespace:?}")]
    NotTaxii {
        /// Namespace URI of the root element (empty when unbound).
        namespace: String,
        /// Local name of the root element.
        name: String,
    },
    /// A field the spec requires is absent.
    #[error("{message}: required {field} is missing")]
    Missing {
        /// The element holding the field.
        message: &'static str,
        /// The attribute or element name.
        field: &'static str,
    },
    /// A field has a value that cannot be understood.
    #[error("{field}: invalid value {value:?}")]
    Invalid {
        /// The attribute or element name.
        field: &'static str,
        /// The value as sent.
        value: String,
    },
}

/// Which namespace an element is in, as far as TAXII cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    Taxii(Version),
    Other,
}

impl Ns {
    fn of(resolved: &ResolveResult<'_>) -> Ns {
        match resolved {
            ResolveResult::Bound(ns) => match Version::from_namespace(ns.0) {
                Some(v) => Ns::Taxii(v),
                None => Ns::Other,
            },
            _ => Ns::Other,
        }
    }
}

/// A namespaced pull reader over a whole body, with the settings every TAXII parser uses.
pub(crate) struct Xml<'a> {
    /// The whole body (the reader consumes its own copy of the slice as it goes).
    pub(crate) body: &'a [u8],
    pub(crate) reader: NsReader<&'a [u8]>,
}

/// The root element of a message.
pub(crate) struct Root<'a> {
    pub(crate) version: Version,
    pub(crate) start: BytesStart<'a>,
    pub(crate) empty: bool,
}

impl Root<'_> {
    pub(crate) fn local_name(&self) -> &str {
        self.start.local_name().into_inner()
    }
}

impl<'a> Xml<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        let mut reader = NsReader::from_reader(body);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        reader.resolver_mut().set_max_namespace_bindings(1024);
        Xml { body, reader }
    }

    pub(crate) fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    pub(crate) fn malformed(&self, message: impl Into<String>) -> ParseError {
        ParseError::Malformed {
            position: self.position(),
            message: message.into(),
        }
    }

    fn xml_error(&self, err: quick_xml::Error) -> ParseError {
        ParseError::Malformed {
            position: self.reader.error_position(),
            message: err.to_string(),
        }
    }

    /// The next event with its element namespace; `<!DOCTYPE` is an error.
    pub(crate) fn next_resolved(&mut self) -> Result<(Ns, Event<'a>), ParseError> {
        let before = self.position();
        match self.reader.read_resolved_event() {
            Ok((_, Event::DocType(_))) => Err(ParseError::Doctype { position: before }),
            Ok((resolved, event)) => Ok((Ns::of(&resolved), event)),
            Err(e) => Err(self.xml_error(e)),
        }
    }

    /// The next event without namespace resolution (inside `Content`); `<!DOCTYPE` is an error.
    pub(crate) fn next_raw(&mut self) -> Result<Event<'a>, ParseError> {
        let before = self.position();
        match self.reader.read_event() {
            Ok(Event::DocType(_)) => Err(ParseError::Doctype { position: before }),
            Ok(event) => Ok(event),
            Err(e) => Err(self.xml_error(e)),
        }
    }

    /// Skips the prolog and returns the root element, which must be in a TAXII namespace.
    pub(crate) fn root(&mut self) -> Result<Root<'a>, ParseError> {
        loop {
            let (ns, event) = self.next_resolved()?;
            let (start, empty) = match event {
                Event::Start(s) => (s, false),
                Event::Empty(s) => (s, true),
                Event::Eof => return Err(ParseError::Empty),
                Event::Text(t) if is_blank(&t) => continue,
                Event::Text(_) | Event::GeneralRef(_) | Event::CData(_) => {
                    return Err(self.malformed("text before the root element"));
                }
                _ => continue,
            };
            return match ns {
                Ns::Taxii(version) => Ok(Root {
                    version,
                    start,
                    empty,
                }),
                Ns::Other => {
                    let (resolved, local) = self.reader.resolver().resolve_element(start.name());
                    let namespace = match resolved {
                        ResolveResult::Bound(ns) => ns.0.to_owned(),
                        ResolveResult::Unbound => String::new(),
                        ResolveResult::Unknown(prefix) => format!("(undeclared prefix {prefix})"),
                    };
                    Err(ParseError::NotTaxii {
                        namespace,
                        name: local.into_inner().to_owned(),
                    })
                }
            };
        }
    }

    /// After the root (or any element) ended: only whitespace, comments and PIs may follow.
    pub(crate) fn expect_eof(&mut self) -> Result<(), ParseError> {
        loop {
            match self.next_raw()? {
                Event::Eof => return Ok(()),
                Event::Text(t) if is_blank(&t) => {}
                Event::Comment(_) | Event::PI(_) => {}
                _ => return Err(self.malformed("content after the root element")),
            }
        }
    }

    /// Reads the element that `start` opened into an owned tree (for small messages only).
    pub(crate) fn tree(
        &mut self,
        ns: Ns,
        start: &BytesStart<'_>,
        empty: bool,
    ) -> Result<Node, ParseError> {
        let mut stack = vec![self.node(ns, start)?];
        if empty {
            return Ok(stack.pop().expect("just pushed"));
        }
        loop {
            let (ns, event) = self.next_resolved()?;
            match event {
                Event::Start(s) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.malformed("elements nested too deeply"));
                    }
                    stack.push(self.node(ns, &s)?);
                }
                Event::Empty(s) => {
                    let node = self.node(ns, &s)?;
                    stack.last_mut().expect("open element").children.push(node);
                }
                Event::End(_) => {
                    let node = stack.pop().expect("open element");
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => return Ok(node),
                    }
                }
                Event::Text(t) => stack
                    .last_mut()
                    .expect("open element")
                    .text
                    .push_str(&t.xml10_content()),
                Event::CData(c) => stack
                    .last_mut()
                    .expect("open element")
                    .text
                    .push_str(&c.xml10_content()),
                Event::GeneralRef(r) => {
                    let c = resolve_reference(&r).map_err(|m| self.malformed(m))?;
                    stack.last_mut().expect("open element").text.push(c);
                }
                Event::Eof => return Err(self.malformed("unexpected end of the body")),
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_) => {}
            }
        }
    }

    fn node(&self, ns: Ns, start: &BytesStart<'_>) -> Result<Node, ParseError> {
        Ok(Node {
            ns,
            name: start.local_name().into_inner().to_owned(),
            attrs: attributes(start).map_err(|m| self.malformed(m))?,
            text: String::new(),
            children: Vec::new(),
        })
    }

    /// Skips the rest of the element that `start` opened.
    pub(crate) fn skip(&mut self, start: &BytesStart<'_>, empty: bool) -> Result<(), ParseError> {
        if empty {
            return Ok(());
        }
        let mut depth = 0usize;
        loop {
            match self.next_raw()? {
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => return Ok(()),
                Event::End(_) => depth -= 1,
                Event::Eof => {
                    return Err(self.malformed(format!(
                        "unexpected end of the body inside {}",
                        start.name().into_inner()
                    )));
                }
                _ => {}
            }
        }
    }
}

/// The character an entity or character reference stands for; only the five predefined
/// entities exist (no DTD is ever read).
pub(crate) fn resolve_reference(r: &BytesRef<'_>) -> Result<char, String> {
    match r.resolve_char_ref() {
        Ok(Some(c)) => return Ok(c),
        Ok(None) => {}
        Err(e) => return Err(format!("bad character reference &{};: {e}", &**r)),
    }
    match &**r {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(format!("undefined entity &{other};")),
    }
}

/// An element read into memory: TAXII namespace (or not), local name, unprefixed attributes,
/// text (all direct text pieces, unescaped) and child elements.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) ns: Ns,
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) text: String,
    pub(crate) children: Vec<Node>,
}

impl Node {
    /// An unprefixed attribute's value.
    pub(crate) fn attr(&self, name: &str) -> Option<String> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// Child elements in a TAXII namespace with this local name.
    pub(crate) fn children<'n, 'q>(
        &'n self,
        name: &'q str,
    ) -> impl Iterator<Item = &'n Node> + use<'n, 'q> {
        self.children
            .iter()
            .filter(move |c| matches!(c.ns, Ns::Taxii(_)) && c.name == name)
    }

    pub(crate) fn child<'n>(&'n self, name: &str) -> Option<&'n Node> {
        self.children(name).next()
    }

    /// The text of the first such child (as sent, untrimmed).
    pub(crate) fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.clone())
    }

    /// The texts of every such child.
    pub(crate) fn children_text(&self, name: &str) -> Vec<String> {
        self.children(name).map(|c| c.text.clone()).collect()
    }
}

/// Whether a text event holds only XML whitespace.
pub(crate) fn is_blank(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// The unprefixed attributes of an element (namespace declarations left out), unescaped.
fn attributes(start: &BytesStart<'_>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("bad attribute: {e}"))?;
        let key = attr.key.into_inner();
        if key == "xmlns" || key.contains(':') {
            continue;
        }
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| format!("bad value of attribute {key}: {e}"))?;
        out.push((key.to_owned(), value.into_owned()));
    }
    Ok(out)
}
