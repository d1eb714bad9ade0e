//! The streaming state machine behind [`super::parse_package`].
//!
//! Every open element has a [`Ctx`] on a stack, decided from its parent's
//! context and its (namespace, local name); text is collected only inside the
//! few leaf elements whose content matters. Values found in an observable
//! tree become [`Item`]s; an indicator turns its items into [`Indicator`]s
//! when it ends, unless they contain references, which wait for the end of
//! the document.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use memchr::memmem;
use quick_xml::XmlVersion;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesCData, BytesRef, BytesStart, BytesText};
use quick_xml::name::QName;
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;

use super::convert::{self, Confidence, RangeProblem};
use super::lexer::{self, Lexer, Token};
use super::names::{self, Ns, ObjKind, Scopes};
use super::{ParseReport, StixContext, StixError};
use crate::indicator::{Indicator, IndicatorError, IndicatorKind};
use crate::normalize::{HashKind, trim};

/// Deepest element nesting accepted (real packages stay below 30).
const MAX_DEPTH: usize = 256;
/// Longest chain of `idref`s followed (also stops reference cycles).
const MAX_REF_DEPTH: usize = 16;
/// CybOX's default list delimiter.
const DEFAULT_DELIMITER: &str = "##comma##";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Package,
    Indicator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Title,
    Description,
    Type,
}

/// A property whose text is an indicator value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Address,
    Domain,
    Uri,
    Hostname,
    FileName,
    Hash,
    Email,
}

/// What an open element is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Parent of the root element.
    Root,
    /// Not interesting itself, but packages, indicators and observables may
    /// appear below it.
    Other,
    /// Nothing below matters.
    Skip,
    Package,
    Header,
    HeaderText(Slot),
    Handling(Level),
    PkgObservables,
    Indicator,
    IndText(Slot),
    Composite,
    ValidTime,
    /// `true` for `Start_Time`.
    Time(bool),
    Confidence,
    ConfidenceValue,
    KillChains,
    Observable,
    ObsText(Slot),
    Composition,
    Object,
    Properties,
    EmailHeader,
    EmailAddress,
    Hashes,
    Hash,
    HashType,
    Value(Field),
}

impl Ctx {
    fn collects_text(self) -> bool {
        matches!(
            self,
            Ctx::HeaderText(_)
                | Ctx::IndText(_)
                | Ctx::Time(_)
                | Ctx::ConfidenceValue
                | Ctx::ObsText(_)
                | Ctx::HashType
                | Ctx::Value(_)
        )
    }
}

/// What an observable tree belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// The innermost open indicator.
    Indicator,
    /// A package-level observable: an indicator of its own unless referenced.
    Standalone,
    /// Anywhere else (TTPs, incidents): only a possible `idref` target.
    Detached,
}

/// Something an observable yields.
#[derive(Debug, Clone)]
enum Item {
    /// A raw value of a declared kind, normalised when emitted.
    Value { kind: IndicatorKind, raw: String },
    /// An `idref` to an observable or object.
    Ref(String),
    /// A pattern that cannot be stored or a malformed value, reported when
    /// the item is used.
    Issue {
        unsupported: bool,
        key: String,
        detail: String,
    },
}

#[derive(Debug, Default)]
struct PkgMeta {
    timestamp: Option<String>,
    title: Option<String>,
    description: Option<String>,
    tlp: Option<Tlp>,
}

#[derive(Debug, Default)]
struct IndState {
    id: Option<String>,
    timestamp: Option<String>,
    title: Option<String>,
    description: Option<String>,
    threat_type: Option<String>,
    confidence: Option<u8>,
    valid_from: Option<OffsetDateTime>,
    valid_until: Option<OffsetDateTime>,
    kill_chain: Vec<String>,
    tlp: Option<Tlp>,
    items: Vec<Item>,
    has_observable: bool,
    composite: bool,
    test_mechanism: bool,
}

/// Final metadata of an indicator (or package-level observable).
#[derive(Debug)]
struct Meta {
    id: String,
    description: Option<String>,
    threat_type: Option<String>,
    confidence: Option<u8>,
    valid_from: Option<OffsetDateTime>,
    valid_until: Option<OffsetDateTime>,
    kill_chain: Vec<String>,
    tlp: Option<Tlp>,
    timestamp: Option<String>,
}

/// A TLP colour, ordered by restrictiveness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tlp {
    White,
    Green,
    Amber,
    Red,
}

impl Tlp {
    fn parse(color: &str) -> Option<Self> {
        let c = color.trim();
        [
            ("WHITE", Self::White),
            ("CLEAR", Self::White),
            ("GREEN", Self::Green),
            ("AMBER", Self::Amber),
            ("RED", Self::Red),
        ]
        .into_iter()
        .find(|(name, _)| c.eq_ignore_ascii_case(name))
        .map(|(_, t)| t)
    }

    const fn tag(self) -> &'static str {
        match self {
            Self::White => "tlp:white",
            Self::Green => "tlp:green",
            Self::Amber => "tlp:amber",
            Self::Red => "tlp:red",
        }
    }
}

#[derive(Debug)]
struct ObsFrame {
    id: Option<String>,
    /// Index of this observable's first item in `Parser::items`.
    start: usize,
}

/// How an AddressObj's values are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddrCat {
    /// No category: by content (`@` e-mail, `:` IPv6, else IPv4).
    Auto,
    /// An IP category: the family by content.
    Ip,
    /// `ipv4-net-mask` / `ipv6-net-mask`.
    IpMask,
    Email,
}

#[derive(Debug)]
struct ObjState {
    id: Option<String>,
    /// Index of this object's first item in `Parser::items`.
    start: usize,
    kind: ObjKind,
    name: Cow<'static, str>,
    has_properties: bool,
    addr: AddrCat,
    uri_is_domain: bool,
    file_names: Vec<String>,
    hashes: usize,
}

impl Default for ObjState {
    fn default() -> Self {
        Self {
            id: None,
            start: 0,
            kind: ObjKind::Unsupported,
            name: Cow::Borrowed("object"),
            has_properties: false,
            addr: AddrCat::Auto,
            uri_is_domain: false,
            file_names: Vec::new(),
            hashes: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    Equals,
    InclusiveBetween,
    /// Any other condition; its name is in `Parser::cond_name`.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Apply {
    Any,
    All,
    None,
}

struct Parser<'p> {
    cx: &'p StixContext<'p>,
    emit: &'p mut dyn FnMut(Indicator),
    /// Whether the document contains `idref` at all: only then are
    /// definitions kept for later resolution.
    has_idrefs: bool,
    /// Reader position of the current event, for error messages.
    pos: u64,
    report: ParseReport,
    stack: Vec<Ctx>,
    ns: Scopes,
    text: String,
    root: Option<String>,
    stix_seen: bool,
    packages: Vec<PkgMeta>,
    inds: Vec<IndState>,
    // The observable tree being read.
    owner: Owner,
    frames: Vec<ObsFrame>,
    items: Vec<Item>,
    obs_title: Option<String>,
    obs_description: Option<String>,
    obj: ObjState,
    hash_type: Option<String>,
    hash_values: Vec<String>,
    // Attributes of the value property being read.
    cond: Cond,
    cond_name: String,
    apply: Apply,
    delimiter: Option<String>,
    // Reference resolution.
    defs: HashMap<String, Vec<Item>>,
    referenced: HashSet<String>,
    pending: Vec<(Meta, Vec<Item>)>,
    standalone: Vec<(Meta, String)>,
    /// Reused by `emit_group`.
    scratch: Vec<(IndicatorKind, String)>,
}

pub(super) fn parse(
    xml: &[u8],
    cx: &StixContext<'_>,
    emit: &mut dyn FnMut(Indicator),
) -> Result<ParseReport, StixError> {
    let mut lexer = Lexer::new(xml);
    // Not UTF-8: the lexer will stop there; be safe until it does.
    let has_idrefs = !lexer.is_utf8() || memmem::find(lexer.text().as_bytes(), b"idref").is_some();
    let mut p = Parser::new(cx, emit, has_idrefs);
    loop {
        // Outside the elements whose text is read, white space between
        // tags need not come out as tokens.
        let token = if p.collecting() {
            lexer.next()
        } else {
            lexer.next_ignoring_space()
        };
        let token = token.map_err(|e| StixError::Xml {
            position: e.position,
            message: e.message,
        })?;
        p.pos = lexer.position();
        match token {
            Token::Start(e) => {
                let ctx = p.start(&e, lexer.mentions_xmlns())?;
                if ctx.collects_text() {
                    p.text.clear();
                }
                p.stack.push(ctx);
                if p.stack.len() > MAX_DEPTH {
                    return Err(p.error(format!("elements nested deeper than {MAX_DEPTH}")));
                }
            }
            Token::Empty(e) => {
                let ctx = p.start(&e, lexer.mentions_xmlns())?;
                if ctx.collects_text() {
                    p.text.clear();
                }
                p.end(ctx);
                p.ns.pop_above(p.stack.len());
            }
            Token::End => {
                // The lexer checks that end tags match start tags.
                let ctx = p.stack.pop().unwrap_or(Ctx::Skip);
                p.end(ctx);
                p.ns.pop_above(p.stack.len());
            }
            Token::Text(t) => {
                if p.collecting() {
                    p.text.push_str(&BytesText::from_escaped(t).xml10_content());
                }
            }
            Token::CData(t) => {
                if p.collecting() {
                    p.text.push_str(&BytesCData::new(t).xml10_content());
                }
            }
            Token::Ref(name) => {
                let collecting = p.collecting();
                push_reference(&mut p.text, &BytesRef::new(name), collecting)
                    .map_err(|m| p.error(m))?;
            }
            Token::DocType => return Err(StixError::Doctype),
            Token::Eof => break,
            Token::Skipped => {}
        }
    }
    if !p.stack.is_empty() {
        return Err(StixError::Xml {
            position: lexer.position(),
            message: "unexpected end of document: unclosed elements".to_owned(),
        });
    }
    if !p.stix_seen {
        return Err(StixError::NotStix {
            root: p.root.take().unwrap_or_default(),
        });
    }
    p.finish();
    Ok(p.report)
}

/// Appends the text of a character or predefined entity reference; any
/// other entity is undefined (there is no DTD) and an error.
fn push_reference(text: &mut String, r: &BytesRef<'_>, collecting: bool) -> Result<(), String> {
    if let Some(c) = r
        .resolve_char_ref()
        .map_err(|e| format!("bad character reference `&{};`: {e}", &**r))?
    {
        if collecting {
            text.push(c);
        }
        return Ok(());
    }
    let s = match &**r {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        other => return Err(format!("undefined entity `&{other};`")),
    };
    if collecting {
        text.push_str(s);
    }
    Ok(())
}

/// Calls `f` with each attribute's qualified name and unescaped value.
/// The `operator` attribute of a composition (trimmed), if present.
fn operator_of(e: &BytesStart<'_>, pos: u64) -> Result<Option<String>, StixError> {
    let mut operator = None;
    each_attr(e, pos, |k, v| {
        if k.0 == "operator" {
            operator = Some(v.trim().to_owned());
        }
    })?;
    Ok(operator)
}

fn each_attr<'e>(
    e: &'e BytesStart<'_>,
    pos: u64,
    mut f: impl FnMut(QName<'e>, Cow<'e, str>),
) -> Result<(), StixError> {
    let mut attrs = lexer::attributes(e.attributes_raw());
    while let Some(a) = attrs.next() {
        let (key, raw) = a.map_err(|message| StixError::Xml {
            position: pos,
            message,
        })?;
        // Most values need neither unescaping nor whitespace normalisation;
        // the scanner tells which ones may.
        let v = if attrs.special()
            && raw
                .bytes()
                .any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'))
        {
            let attr = Attribute {
                key: QName(key),
                value: Cow::Borrowed(raw),
            };
            attr.normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| StixError::Xml {
                    position: pos,
                    message: err.to_string(),
                })?
                .into_owned()
                .into()
        } else {
            Cow::Borrowed(raw)
        };
        f(QName(key), v);
    }
    Ok(())
}

fn non_empty(s: &str) -> Option<String> {
    let s = trim(s);
    (!s.is_empty()).then(|| s.to_owned())
}

fn is_true(v: &str) -> bool {
    matches!(v.trim(), "true" | "1")
}

/// The IP kind a value declares by its content.
fn ip_kind(raw: &str) -> IndicatorKind {
    if raw.contains(':') {
        IndicatorKind::Ipv6
    } else {
        IndicatorKind::Ipv4
    }
}

fn hash_kind(type_name: &str) -> Option<IndicatorKind> {
    let mut norm = [0u8; 8];
    let mut n = 0;
    for b in type_name
        .trim()
        .bytes()
        .filter(|b| !matches!(b, b'-' | b'_' | b' '))
    {
        *norm.get_mut(n)? = b.to_ascii_uppercase();
        n += 1;
    }
    match &norm[..n] {
        b"MD5" => Some(IndicatorKind::Md5),
        b"SHA1" => Some(IndicatorKind::Sha1),
        b"SHA256" => Some(IndicatorKind::Sha256),
        b"SHA512" => Some(IndicatorKind::Sha512),
        _ => None,
    }
}

impl<'p> Parser<'p> {
    fn new(cx: &'p StixContext<'p>, emit: &'p mut dyn FnMut(Indicator), has_idrefs: bool) -> Self {
        Self {
            cx,
            emit,
            has_idrefs,
            pos: 0,
            report: ParseReport::default(),
            stack: Vec::with_capacity(32),
            ns: Scopes::default(),
            text: String::with_capacity(256),
            root: None,
            stix_seen: false,
            packages: Vec::new(),
            inds: Vec::new(),
            owner: Owner::Detached,
            frames: Vec::new(),
            items: Vec::new(),
            obs_title: None,
            obs_description: None,
            obj: ObjState::default(),
            hash_type: None,
            hash_values: Vec::new(),
            cond: Cond::Equals,
            cond_name: String::new(),
            apply: Apply::Any,
            delimiter: None,
            defs: HashMap::new(),
            referenced: HashSet::new(),
            pending: Vec::new(),
            standalone: Vec::new(),
            scratch: Vec::new(),
        }
    }

    fn error(&self, message: String) -> StixError {
        StixError::Xml {
            position: self.pos,
            message,
        }
    }

    fn collecting(&self) -> bool {
        self.stack.last().is_some_and(|c| c.collects_text())
    }

    // ---- element starts ----

    /// `xmlns`: whether the tag's attribute text mentions `xmlns`.
    fn start(&mut self, e: &BytesStart<'_>, xmlns: bool) -> Result<Ctx, StixError> {
        let parent = self.stack.last().copied().unwrap_or(Ctx::Root);
        if parent == Ctx::Skip || parent.collects_text() {
            // Nothing below is resolved, so its declarations need no scope.
            return Ok(Ctx::Skip);
        }
        self.ns
            .push(e, xmlns, self.stack.len() + 1)
            .map_err(|m| self.error(m))?;
        let (ns, local) = self.ns.element(e.name().0);
        let ctx = match parent {
            Ctx::Root => {
                self.root = Some(e.name().0.to_owned());
                if (ns, local) == (Ns::Cybox, "Observables") {
                    // A bare CybOX document: package-level observables.
                    self.stix_seen = true;
                    self.packages.push(PkgMeta::default());
                    Ctx::PkgObservables
                } else {
                    self.generic(e, ns, local)?
                }
            }
            Ctx::Other => self.generic(e, ns, local)?,
            Ctx::Package => match (ns, local) {
                (Ns::Stix, "STIX_Header") => Ctx::Header,
                (Ns::Stix, "Observables") => Ctx::PkgObservables,
                _ => self.generic(e, ns, local)?,
            },
            Ctx::Header => match (ns, local) {
                (Ns::Stix, "Title") => Ctx::HeaderText(Slot::Title),
                (Ns::Stix, "Description") => Ctx::HeaderText(Slot::Description),
                (Ns::Stix, "Handling") => Ctx::Handling(Level::Package),
                _ => Ctx::Skip,
            },
            Ctx::Handling(level) => {
                if (ns, local) == (Ns::Marking, "Marking_Structure") {
                    self.marking(e, level)?;
                }
                Ctx::Handling(level)
            }
            Ctx::PkgObservables => match (ns, local) {
                (Ns::Cybox, "Observable") => self.start_observable(e, Owner::Standalone)?,
                _ => self.generic(e, ns, local)?,
            },
            Ctx::Indicator => match (ns, local) {
                (Ns::Indicator, "Title") => Ctx::IndText(Slot::Title),
                (Ns::Indicator, "Description") => Ctx::IndText(Slot::Description),
                (Ns::Indicator, "Type") => Ctx::IndText(Slot::Type),
                (Ns::Indicator, "Valid_Time_Position") => Ctx::ValidTime,
                (Ns::Indicator, "Observable") => self.start_observable(e, Owner::Indicator)?,
                (Ns::Indicator, "Composite_Indicator_Expression") => self.start_composite(e)?,
                (Ns::Indicator, "Confidence") => Ctx::Confidence,
                (Ns::Indicator, "Kill_Chain_Phases") => Ctx::KillChains,
                (Ns::Indicator, "Handling") => Ctx::Handling(Level::Indicator),
                (Ns::Indicator, "Test_Mechanisms") => {
                    if let Some(ind) = self.inds.last_mut() {
                        ind.test_mechanism = true;
                    }
                    Ctx::Skip
                }
                _ => self.generic(e, ns, local)?,
            },
            Ctx::Composite => match (ns, local) {
                (Ns::Indicator, "Indicator") => self.start_indicator(e)?,
                _ => Ctx::Skip,
            },
            Ctx::ValidTime => match (ns, local) {
                (Ns::Indicator, "Start_Time") => Ctx::Time(true),
                (Ns::Indicator, "End_Time") => Ctx::Time(false),
                _ => Ctx::Skip,
            },
            Ctx::Confidence => match (ns, local) {
                (Ns::StixCommon, "Value") => Ctx::ConfidenceValue,
                _ => Ctx::Skip,
            },
            Ctx::KillChains => {
                if (ns, local) == (Ns::StixCommon, "Kill_Chain_Phase") {
                    self.kill_chain_phase(e)?;
                }
                Ctx::Skip
            }
            Ctx::Observable => match (ns, local) {
                (Ns::Cybox, "Object") => self.start_object(e)?,
                (Ns::Cybox, "Observable_Composition") => self.start_composition(e)?,
                (Ns::Cybox, "Event") => {
                    self.push_issue(true, "cybox:Event in Observable", String::new());
                    Ctx::Skip
                }
                (Ns::Cybox, "Title") if self.frames.len() == 1 => Ctx::ObsText(Slot::Title),
                (Ns::Cybox, "Description") if self.frames.len() == 1 => {
                    Ctx::ObsText(Slot::Description)
                }
                _ => Ctx::Skip,
            },
            Ctx::Composition => match (ns, local) {
                (Ns::Cybox, "Observable") => self.start_observable(e, self.owner)?,
                _ => Ctx::Skip,
            },
            Ctx::Object => match (ns, local) {
                (Ns::Cybox, "Properties") => self.start_properties(e)?,
                _ => Ctx::Skip,
            },
            Ctx::Properties => self.property(e, ns, local)?,
            Ctx::EmailHeader => match (ns, local) {
                (Ns::Object(ObjKind::EmailMessage), "From" | "Sender") => Ctx::EmailAddress,
                _ => Ctx::Skip,
            },
            Ctx::EmailAddress => match (ns, local) {
                (Ns::Object(ObjKind::Address), "Address_Value") => {
                    self.start_value(e, Field::Email)?
                }
                _ => Ctx::Skip,
            },
            Ctx::Hashes => match (ns, local) {
                (Ns::CyboxCommon, "Hash") => {
                    self.hash_type = None;
                    self.hash_values.clear();
                    Ctx::Hash
                }
                _ => Ctx::Skip,
            },
            Ctx::Hash => match (ns, local) {
                (Ns::CyboxCommon, "Type") => Ctx::HashType,
                (Ns::CyboxCommon, "Simple_Hash_Value") => self.start_value(e, Field::Hash)?,
                (Ns::CyboxCommon, "Fuzzy_Hash_Value") => {
                    let key = format!("Fuzzy_Hash_Value on {}", self.obj.name);
                    self.push_issue(true, &key, String::new());
                    Ctx::Skip
                }
                _ => Ctx::Skip,
            },
            // Leaves and skipped subtrees were handled above.
            _ => Ctx::Skip,
        };
        Ok(ctx)
    }

    /// Elements that matter wherever they appear.
    fn generic(&mut self, e: &BytesStart<'_>, ns: Ns, local: &str) -> Result<Ctx, StixError> {
        Ok(match (ns, local) {
            (Ns::Stix, "STIX_Package" | "Package") => {
                self.stix_seen = true;
                let mut meta = PkgMeta::default();
                each_attr(e, self.pos, |k, v| {
                    if k.0 == "timestamp" {
                        meta.timestamp = non_empty(&v);
                    }
                })?;
                self.packages.push(meta);
                Ctx::Package
            }
            (Ns::Stix | Ns::StixCommon | Ns::Indicator, "Indicator") => self.start_indicator(e)?,
            (Ns::Cybox | Ns::Indicator, "Observable") => {
                self.start_observable(e, Owner::Detached)?
            }
            _ => Ctx::Other,
        })
    }

    fn start_indicator(&mut self, e: &BytesStart<'_>) -> Result<Ctx, StixError> {
        let mut ind = IndState::default();
        let mut is_ref = false;
        each_attr(e, self.pos, |k, v| match k.0 {
            "id" => ind.id = non_empty(&v),
            "idref" => is_ref = true,
            "timestamp" => ind.timestamp = non_empty(&v),
            _ => {}
        })?;
        if is_ref && ind.id.is_none() {
            // A reference to an indicator that is read where it is defined.
            return Ok(Ctx::Skip);
        }
        self.inds.push(ind);
        Ok(Ctx::Indicator)
    }

    fn start_composite(&mut self, e: &BytesStart<'_>) -> Result<Ctx, StixError> {
        let operator = operator_of(e, self.pos)?;
        let Some(ind) = self.inds.last_mut() else {
            return Ok(Ctx::Skip);
        };
        ind.composite = true;
        if operator
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case("OR"))
        {
            return Ok(Ctx::Composite);
        }
        let key = format!(
            "Composite_Indicator_Expression operator={}",
            operator.as_deref().unwrap_or("")
        );
        let id = ind.id.clone().unwrap_or_default();
        self.report.note(true, &key, &id, "");
        Ok(Ctx::Skip)
    }

    fn kill_chain_phase(&mut self, e: &BytesStart<'_>) -> Result<(), StixError> {
        let (mut name, mut phase_id) = (None, None);
        each_attr(e, self.pos, |k, v| match k.0 {
            "name" => name = non_empty(&v),
            "phase_id" => phase_id = non_empty(&v),
            _ => {}
        })?;
        if let (Some(phase), Some(ind)) = (name.or(phase_id), self.inds.last_mut())
            && !ind.kill_chain.contains(&phase)
        {
            ind.kill_chain.push(phase);
        }
        Ok(())
    }

    fn marking(&mut self, e: &BytesStart<'_>, level: Level) -> Result<(), StixError> {
        let (mut color, mut is_tlp) = (None, false);
        let scopes = &self.ns;
        each_attr(e, self.pos, |k, v| {
            if k.0 == "color" {
                color = Tlp::parse(&v);
            } else if scopes.is_xsi_type(k.0) {
                let (uri, local) = scopes.qname_value(&v);
                is_tlp = uri.is_some_and(|u| names::classify(u) == Ns::Tlp)
                    || local == "TLPMarkingStructureType";
            }
        })?;
        let Some(color) = color.filter(|_| is_tlp) else {
            return Ok(());
        };
        let slot = match level {
            Level::Package => self.packages.last_mut().map(|p| &mut p.tlp),
            Level::Indicator => self.inds.last_mut().map(|i| &mut i.tlp),
        };
        if let Some(slot) = slot {
            // Several TLP markings: the most restrictive wins.
            *slot = (*slot).max(Some(color));
        }
        Ok(())
    }

    fn start_observable(&mut self, e: &BytesStart<'_>, owner: Owner) -> Result<Ctx, StixError> {
        let nested = !self.frames.is_empty();
        let owner = if nested { self.owner } else { owner };
        // The id only matters as a reference target or as a package-level
        // observable's indicator id.
        let keep_id = self.has_idrefs || owner == Owner::Standalone;
        let (mut id, mut idref, mut negate) = (None, None, false);
        each_attr(e, self.pos, |k, v| match k.0 {
            "id" if keep_id => id = non_empty(&v),
            "idref" => idref = non_empty(&v),
            "negate" => negate = is_true(&v),
            _ => {}
        })?;
        if !nested
            && owner == Owner::Indicator
            && let Some(ind) = self.inds.last_mut()
        {
            ind.has_observable = true;
        }
        if let Some(target) = idref {
            if owner != Owner::Detached {
                self.referenced.insert(target.clone());
            }
            if nested {
                self.items.push(Item::Ref(target));
            } else if owner == Owner::Indicator
                && let Some(ind) = self.inds.last_mut()
            {
                ind.items.push(Item::Ref(target));
            }
            return Ok(Ctx::Skip);
        }
        if !nested {
            self.owner = owner;
            self.items.clear();
            self.obs_title = None;
            self.obs_description = None;
        }
        self.frames.push(ObsFrame {
            id,
            start: self.items.len(),
        });
        if negate {
            // Recorded in the observable's own items, then closed at once.
            self.push_issue(true, "negated Observable", String::new());
            self.end_observable();
            return Ok(Ctx::Skip);
        }
        Ok(Ctx::Observable)
    }

    fn start_composition(&mut self, e: &BytesStart<'_>) -> Result<Ctx, StixError> {
        let operator = operator_of(e, self.pos)?;
        if operator
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case("OR"))
        {
            return Ok(Ctx::Composition);
        }
        let key = format!(
            "Observable_Composition operator={}",
            operator.as_deref().unwrap_or("")
        );
        self.push_issue(true, &key, String::new());
        Ok(Ctx::Skip)
    }

    fn start_object(&mut self, e: &BytesStart<'_>) -> Result<Ctx, StixError> {
        let (mut id, mut idref) = (None, None);
        let keep_id = self.has_idrefs;
        each_attr(e, self.pos, |k, v| match k.0 {
            "id" if keep_id => id = non_empty(&v),
            "idref" => idref = non_empty(&v),
            _ => {}
        })?;
        if let Some(target) = idref {
            if self.owner != Owner::Detached {
                self.referenced.insert(target.clone());
            }
            self.items.push(Item::Ref(target));
            return Ok(Ctx::Skip);
        }
        let mut file_names = std::mem::take(&mut self.obj.file_names);
        file_names.clear();
        self.obj = ObjState {
            id,
            start: self.items.len(),
            file_names,
            ..ObjState::default()
        };
        Ok(Ctx::Object)
    }

    fn start_properties(&mut self, e: &BytesStart<'_>) -> Result<Ctx, StixError> {
        let (mut object, mut category, mut ty) = (None, None, None);
        let scopes = &self.ns;
        each_attr(e, self.pos, |k, v| match k.0 {
            "category" => {
                category = Some(match trim(&v) {
                    "ipv4-addr" | "ipv6-addr" | "ipv4-net" | "ipv6-net" | "cidr" => Ok(AddrCat::Ip),
                    "ipv4-net-mask" | "ipv6-net-mask" => Ok(AddrCat::IpMask),
                    "e-mail" => Ok(AddrCat::Email),
                    other => Err(other.to_owned()),
                });
            }
            "type" => ty = Some(v.trim().to_owned()),
            key if scopes.is_xsi_type(key) => {
                let (uri, local) = scopes.qname_value(&v);
                object = Some(names::object_type(uri, local));
            }
            _ => {}
        })?;
        self.obj.has_properties = true;
        let Some((kind, name)) = object else {
            self.push_issue(true, "cybox:Properties without xsi:type", String::new());
            return Ok(Ctx::Skip);
        };
        self.obj.kind = kind;
        self.obj.name = name;
        let unsupported = match kind {
            ObjKind::Address => {
                self.obj.addr = match category {
                    None => AddrCat::Auto,
                    Some(Ok(cat)) => cat,
                    Some(Err(other)) => {
                        let key = format!("category={other} on AddressObj");
                        self.push_issue(true, &key, String::new());
                        return Ok(Ctx::Skip);
                    }
                };
                None
            }
            ObjKind::Uri | ObjKind::Link => match ty.as_deref() {
                None | Some("URL") => None,
                Some("Domain Name") => {
                    self.obj.uri_is_domain = true;
                    None
                }
                Some(other) => Some(format!("type={other} on {}", self.obj.name)),
            },
            ObjKind::DomainName => match ty.as_deref() {
                None | Some("FQDN") => None,
                Some(other) => Some(format!("type={other} on DomainNameObj")),
            },
            ObjKind::Hostname | ObjKind::File | ObjKind::EmailMessage => None,
            ObjKind::Unsupported => Some(format!("object {}", self.obj.name)),
        };
        if let Some(key) = unsupported {
            self.push_issue(true, &key, String::new());
            return Ok(Ctx::Skip);
        }
        Ok(Ctx::Properties)
    }

    fn property(&mut self, e: &BytesStart<'_>, ns: Ns, local: &str) -> Result<Ctx, StixError> {
        let Ns::Object(ns_kind) = ns else {
            return Ok(Ctx::Skip);
        };
        Ok(match (self.obj.kind, ns_kind, local) {
            (ObjKind::Address, ObjKind::Address, "Address_Value") => {
                self.start_value(e, Field::Address)?
            }
            (ObjKind::DomainName, ObjKind::DomainName, "Value") => {
                self.start_value(e, Field::Domain)?
            }
            (ObjKind::Uri | ObjKind::Link, ObjKind::Uri, "Value") => {
                self.start_value(e, Field::Uri)?
            }
            (ObjKind::Hostname, ObjKind::Hostname, "Hostname_Value") => {
                self.start_value(e, Field::Hostname)?
            }
            (ObjKind::File, ObjKind::File, "File_Name") => self.start_value(e, Field::FileName)?,
            (ObjKind::File, ObjKind::File, "Hashes") => Ctx::Hashes,
            (ObjKind::EmailMessage, ObjKind::EmailMessage, "Header") => Ctx::EmailHeader,
            _ => Ctx::Skip,
        })
    }

    fn start_value(&mut self, e: &BytesStart<'_>, field: Field) -> Result<Ctx, StixError> {
        let (mut cond, mut apply, mut delimiter) = (Cond::Equals, Apply::Any, None);
        let cond_name = &mut self.cond_name;
        each_attr(e, self.pos, |k, v| match k.0 {
            "condition" => {
                let c = trim(&v);
                cond = if c.eq_ignore_ascii_case("Equals") {
                    Cond::Equals
                } else if c.eq_ignore_ascii_case("InclusiveBetween") {
                    Cond::InclusiveBetween
                } else {
                    cond_name.clear();
                    cond_name.push_str(c);
                    Cond::Other
                };
            }
            "apply_condition" => {
                let a = v.trim();
                apply = if a.eq_ignore_ascii_case("ALL") {
                    Apply::All
                } else if a.eq_ignore_ascii_case("NONE") {
                    Apply::None
                } else {
                    Apply::Any
                };
            }
            "delimiter" => delimiter = (!v.is_empty()).then(|| v.into_owned()),
            _ => {}
        })?;
        self.cond = cond;
        self.apply = apply;
        self.delimiter = delimiter;
        Ok(Ctx::Value(field))
    }

    // ---- element ends ----

    fn end(&mut self, ctx: Ctx) {
        match ctx {
            Ctx::Package => {
                self.packages.pop();
            }
            Ctx::HeaderText(slot) => {
                let text = non_empty(&self.text);
                if let Some(pkg) = self.packages.last_mut() {
                    let target = match slot {
                        Slot::Title => &mut pkg.title,
                        _ => &mut pkg.description,
                    };
                    if target.is_none() {
                        *target = text;
                    }
                }
            }
            Ctx::IndText(slot) => {
                let text = non_empty(&self.text);
                if let Some(ind) = self.inds.last_mut() {
                    let target = match slot {
                        Slot::Title => &mut ind.title,
                        Slot::Description => &mut ind.description,
                        Slot::Type => &mut ind.threat_type,
                    };
                    if target.is_none() {
                        *target = text;
                    }
                }
            }
            Ctx::ObsText(slot) => {
                let text = non_empty(&self.text);
                let target = match slot {
                    Slot::Title => &mut self.obs_title,
                    _ => &mut self.obs_description,
                };
                if target.is_none() {
                    *target = text;
                }
            }
            Ctx::Time(is_start) => self.end_time(is_start),
            Ctx::ConfidenceValue => {
                let value = convert::confidence(&self.text);
                if let Some(ind) = self.inds.last_mut() {
                    match value {
                        Confidence::Value(v) => ind.confidence = Some(v),
                        Confidence::Unknown => ind.confidence = None,
                        Confidence::Bad => {
                            let id = ind.id.clone().unwrap_or_default();
                            let text = self.text.trim().to_owned();
                            self.report
                                .note(false, "bad Confidence (ignored)", &id, &text);
                        }
                    }
                }
            }
            Ctx::Indicator => self.end_indicator(),
            Ctx::Observable => self.end_observable(),
            Ctx::Object => self.end_object(),
            Ctx::HashType => self.hash_type = non_empty(&self.text),
            Ctx::Hash => self.end_hash(),
            Ctx::Value(field) => self.end_value(field),
            _ => {}
        }
    }

    fn end_time(&mut self, is_start: bool) {
        let Some(ind) = self.inds.last_mut() else {
            return;
        };
        match convert::timestamp(&self.text) {
            Some(t) if is_start => ind.valid_from = Some(ind.valid_from.map_or(t, |f| f.min(t))),
            Some(t) => ind.valid_until = Some(ind.valid_until.map_or(t, |u| u.max(t))),
            None => {
                let key = if is_start {
                    "unparseable Start_Time (ignored)"
                } else {
                    "unparseable End_Time (ignored)"
                };
                let id = ind.id.clone().unwrap_or_default();
                let text = self.text.trim().to_owned();
                self.report.note(false, key, &id, &text);
            }
        }
    }

    fn end_value(&mut self, field: Field) {
        let text = std::mem::take(&mut self.text);
        match self.cond {
            Cond::Equals => self.values(field, &text),
            Cond::InclusiveBetween
                if field == Field::Address
                    && matches!(self.obj.addr, AddrCat::Ip | AddrCat::Auto) =>
            {
                self.range(&text);
            }
            cond => {
                let name = match cond {
                    Cond::InclusiveBetween => "InclusiveBetween",
                    _ => &self.cond_name,
                };
                let key = format!("condition={name} on {}", self.obj.name);
                self.push_issue(true, &key, text.trim().to_owned());
            }
        }
        self.text = text;
    }

    /// An `Equals` property: one value or a list.
    fn values(&mut self, field: Field, text: &str) {
        let custom = self.delimiter.take();
        self.values_split(field, text, custom.as_deref().unwrap_or(DEFAULT_DELIMITER));
        self.delimiter = custom;
    }

    fn values_split(&mut self, field: Field, text: &str, delimiter: &str) {
        // Most values hold no delimiter's first byte: no search needed.
        let is_list = delimiter
            .bytes()
            .next()
            .is_some_and(|first| memchr::memchr(first, text.as_bytes()).is_some())
            && text.contains(delimiter);
        if self.apply == Apply::None || (is_list && self.apply == Apply::All) {
            let key = format!(
                "apply_condition={} on {}",
                if self.apply == Apply::None {
                    "NONE"
                } else {
                    "ALL"
                },
                self.obj.name
            );
            self.push_issue(true, &key, text.trim().to_owned());
            return;
        }
        if !is_list {
            self.push_value(field, text);
            return;
        }
        let mut any = false;
        for part in text
            .split(delimiter)
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            any = true;
            self.push_value(field, part);
        }
        if !any {
            self.push_value(field, "");
        }
    }

    fn push_value(&mut self, field: Field, raw: &str) {
        let kind = match field {
            Field::Address => match self.obj.addr {
                AddrCat::Email => IndicatorKind::Email,
                AddrCat::Ip => ip_kind(raw),
                AddrCat::Auto if raw.contains('@') => IndicatorKind::Email,
                AddrCat::Auto => ip_kind(raw),
                AddrCat::IpMask => match convert::netmask_to_prefix(raw) {
                    Some(v) => {
                        self.items.push(Item::Value {
                            kind: ip_kind(&v),
                            raw: v,
                        });
                        return;
                    }
                    None => {
                        self.push_issue(false, "bad netmask on AddressObj", raw.trim().to_owned());
                        return;
                    }
                },
            },
            Field::Domain | Field::Hostname => IndicatorKind::Domain,
            Field::Uri if self.obj.uri_is_domain => IndicatorKind::Domain,
            Field::Uri => IndicatorKind::Url,
            Field::Email => IndicatorKind::Email,
            Field::FileName => {
                self.obj.file_names.push(raw.to_owned());
                return;
            }
            Field::Hash => {
                self.hash_values.push(raw.to_owned());
                return;
            }
        };
        self.items.push(Item::Value {
            kind,
            raw: raw.to_owned(),
        });
    }

    /// An `InclusiveBetween` address range.
    fn range(&mut self, text: &str) {
        let delimiter = self.delimiter.as_deref().unwrap_or(DEFAULT_DELIMITER);
        let bounds: Vec<&str> = text.split(delimiter).collect();
        let result = match bounds[..] {
            [low, high] => convert::range_to_cidrs(low, high),
            _ => Err(RangeProblem::Bad),
        };
        match result {
            Ok(blocks) => {
                for block in blocks {
                    self.items.push(Item::Value {
                        kind: ip_kind(&block),
                        raw: block,
                    });
                }
            }
            Err(RangeProblem::Bad) => {
                self.push_issue(
                    false,
                    "bad InclusiveBetween range on AddressObj",
                    text.trim().to_owned(),
                );
            }
            Err(RangeProblem::TooManyBlocks) => {
                let key = format!(
                    "condition=InclusiveBetween on AddressObj (more than {} CIDR blocks)",
                    convert::MAX_RANGE_CIDRS
                );
                self.push_issue(true, &key, text.trim().to_owned());
            }
        }
    }

    fn end_hash(&mut self) {
        let declared = self.hash_type.take();
        let kind = declared.as_deref().map(|t| hash_kind(t).ok_or(t));
        let values = std::mem::take(&mut self.hash_values);
        for raw in &values {
            self.obj.hashes += 1;
            let kind = match kind {
                Some(Ok(k)) => k,
                Some(Err(t)) => {
                    let key = format!("hash type {t} on {}", self.obj.name);
                    self.push_issue(true, &key, raw.trim().to_owned());
                    continue;
                }
                None => match HashKind::from_hex_len(raw.trim().len()) {
                    Some(h) => h.into(),
                    None => {
                        self.push_issue(
                            false,
                            "hash without type, of unknown length",
                            raw.trim().to_owned(),
                        );
                        continue;
                    }
                },
            };
            self.items.push(Item::Value {
                kind,
                raw: raw.clone(),
            });
        }
        self.hash_values = values;
        self.hash_values.clear();
    }

    fn end_object(&mut self) {
        if self.obj.kind == ObjKind::File && self.obj.hashes == 0 {
            for name in std::mem::take(&mut self.obj.file_names) {
                self.items.push(Item::Value {
                    kind: IndicatorKind::FileName,
                    raw: name,
                });
            }
        }
        if self.obj.has_properties && self.items.len() == self.obj.start {
            let key = format!("no supported property in {}", self.obj.name);
            self.push_issue(true, &key, String::new());
        }
        if self.has_idrefs
            && let Some(id) = self.obj.id.take()
        {
            let items = self.items[self.obj.start.min(self.items.len())..].to_vec();
            self.defs.insert(id, items);
        }
    }

    fn end_observable(&mut self) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        if self.has_idrefs
            && let Some(id) = &frame.id
        {
            let items = self.items[frame.start.min(self.items.len())..].to_vec();
            self.defs.insert(id.clone(), items);
        }
        if !self.frames.is_empty() {
            return;
        }
        match self.owner {
            Owner::Indicator => {
                if let Some(ind) = self.inds.last_mut() {
                    if ind.items.is_empty() {
                        // Usually: no copy, and the buffer comes back when
                        // the indicator has been emitted.
                        std::mem::swap(&mut ind.items, &mut self.items);
                    } else {
                        ind.items.append(&mut self.items);
                    }
                }
            }
            Owner::Standalone => self.end_standalone(frame.id),
            Owner::Detached => {}
        }
        self.items.clear();
    }

    /// A package-level observable: emitted now, or at the end when
    /// references may point at it.
    fn end_standalone(&mut self, id: Option<String>) {
        let Some(id) = id else {
            if !self.items.is_empty() {
                self.report
                    .note(false, "package-level Observable without id", "", "");
            }
            return;
        };
        let pkg = self.packages.last();
        let meta = Meta {
            id: id.clone(),
            description: self
                .obs_description
                .take()
                .or_else(|| self.obs_title.take())
                .or_else(|| pkg.and_then(|p| p.description.clone().or_else(|| p.title.clone()))),
            threat_type: None,
            confidence: None,
            valid_from: None,
            valid_until: None,
            kill_chain: Vec::new(),
            tlp: pkg.and_then(|p| p.tlp),
            timestamp: pkg.and_then(|p| p.timestamp.clone()),
        };
        if self.has_idrefs {
            self.standalone.push((meta, id));
        } else {
            let mut items = std::mem::take(&mut self.items);
            self.emit_group(meta, items.drain(..).map(Cow::Owned));
            self.items = items;
        }
    }

    fn end_indicator(&mut self) {
        let Some(ind) = self.inds.pop() else {
            return;
        };
        let Some(id) = ind.id else {
            self.report.note(false, "Indicator without id", "", "");
            return;
        };
        if ind.items.is_empty() {
            let key = if ind.has_observable {
                Some("Observable without supported content")
            } else if ind.composite {
                // The composed indicators are indicators of their own.
                None
            } else if ind.test_mechanism {
                Some("Test_Mechanisms without Observable")
            } else {
                Some("Indicator without Observable")
            };
            if let Some(key) = key {
                self.report.note(true, key, &id, "");
            }
            return;
        }
        let pkg = self.packages.last();
        let meta = Meta {
            id,
            description: ind.description.or(ind.title),
            threat_type: ind.threat_type,
            confidence: ind.confidence,
            valid_from: ind.valid_from,
            valid_until: ind.valid_until,
            kill_chain: ind.kill_chain,
            tlp: ind.tlp.or_else(|| pkg.and_then(|p| p.tlp)),
            timestamp: ind
                .timestamp
                .or_else(|| pkg.and_then(|p| p.timestamp.clone())),
        };
        if ind.items.iter().any(|i| matches!(i, Item::Ref(_))) {
            self.pending.push((meta, ind.items));
        } else {
            let mut items = ind.items;
            self.emit_group(meta, items.drain(..).map(Cow::Owned));
            if self.items.is_empty() && self.items.capacity() < items.capacity() {
                self.items = items;
            }
        }
    }

    fn push_issue(&mut self, unsupported: bool, key: &str, detail: String) {
        self.items.push(Item::Issue {
            unsupported,
            key: key.to_owned(),
            detail,
        });
    }

    // ---- output ----

    /// Resolves references, then emits everything that waited for them.
    fn finish(&mut self) {
        let defs = std::mem::take(&mut self.defs);
        for (meta, items) in std::mem::take(&mut self.pending) {
            let mut flat = Vec::new();
            expand(&defs, &items, &mut flat, 0);
            self.emit_group(meta, flat.into_iter().map(Cow::Borrowed));
        }
        for (meta, id) in std::mem::take(&mut self.standalone) {
            if self.referenced.contains(&id) {
                continue;
            }
            let Some(items) = defs.get(&id) else {
                continue;
            };
            let mut flat = Vec::new();
            expand(&defs, items, &mut flat, 0);
            self.emit_group(meta, flat.into_iter().map(Cow::Borrowed));
        }
    }

    /// Normalises the values of one indicator, reports its issues and emits
    /// one [`Indicator`] per distinct value (ids suffixed `#1`, `#2`, ...
    /// when there are several).
    fn emit_group<'i>(&mut self, mut meta: Meta, items: impl IntoIterator<Item = Cow<'i, Item>>) {
        let mut values = std::mem::take(&mut self.scratch);
        values.clear();
        for item in items {
            let other = match item {
                Cow::Owned(Item::Value { kind, raw }) => {
                    self.add_value(&meta.id, kind, Cow::Owned(raw), &mut values);
                    continue;
                }
                Cow::Borrowed(Item::Value { kind, raw }) => {
                    self.add_value(&meta.id, *kind, Cow::Borrowed(raw.as_str()), &mut values);
                    continue;
                }
                other => other,
            };
            match &*other {
                Item::Value { .. } => {}
                Item::Ref(target) => {
                    self.report
                        .note(false, "unresolved idref", &meta.id, target);
                }
                Item::Issue {
                    unsupported,
                    key,
                    detail,
                } => self.report.note(*unsupported, key, &meta.id, detail),
            }
        }
        self.emit_values(&mut meta, &mut values);
        self.scratch = values;
    }

    /// Normalises a value of the indicator `id` and adds it to `values`
    /// unless it is there already (a raw value that already is canonical
    /// becomes the value as it is), or reports why it is invalid.
    fn add_value(
        &mut self,
        id: &str,
        kind: IndicatorKind,
        raw: Cow<'_, str>,
        values: &mut Vec<(IndicatorKind, String)>,
    ) {
        let normal = match kind.normalize(&raw) {
            Ok((k, Cow::Borrowed(v))) if v == &*raw => Ok((k, None)),
            Ok((k, v)) => Ok((k, Some(v.into_owned()))),
            Err(reason) => Err(reason),
        };
        match normal {
            Ok((k, v)) => {
                let v = v.unwrap_or_else(|| raw.into_owned());
                if !values.iter().any(|(k2, v2)| *k2 == k && *v2 == v) {
                    values.push((k, v));
                }
            }
            Err(reason) => {
                let key = IndicatorError::BadValue {
                    declared: kind,
                    reason,
                }
                .to_string();
                self.report.note(false, &key, id, raw.trim());
            }
        }
    }

    fn emit_values(&mut self, meta: &mut Meta, values: &mut Vec<(IndicatorKind, String)>) {
        if values.is_empty() {
            return;
        }
        let problem = if trim(self.cx.source).is_empty() {
            Some(IndicatorError::EmptySource)
        } else if trim(&meta.id).is_empty() {
            Some(IndicatorError::EmptyId)
        } else if let (Some(from), Some(until)) = (meta.valid_from, meta.valid_until)
            && until < from
        {
            Some(IndicatorError::TimeOrder)
        } else {
            None
        };
        if let Some(problem) = problem {
            let key = problem.category();
            for (_, value) in values.iter() {
                self.report.note(false, &key, &meta.id, value);
            }
            return;
        }
        let mut fields = Map::new();
        if let Some(ts) = meta.timestamp.take() {
            fields.insert("stix_timestamp".to_owned(), Json::String(ts));
        }
        let n = values.len();
        for (i, (kind, value)) in values.drain(..).enumerate() {
            let last = i + 1 == n;
            let id = if n == 1 {
                std::mem::take(&mut meta.id)
            } else {
                format!("{}#{}", meta.id, i + 1)
            };
            let indicator = Indicator {
                id,
                kind,
                value,
                source: self.cx.source.to_owned(),
                collection: self.cx.collection.map(str::to_owned),
                confidence: meta.confidence,
                threat_type: take_or_clone(&mut meta.threat_type, last),
                description: take_or_clone(&mut meta.description, last),
                valid_from: meta.valid_from,
                valid_until: meta.valid_until,
                tags: meta
                    .tlp
                    .map(|t| vec![t.tag().to_owned()])
                    .unwrap_or_default(),
                actors: Vec::new(),
                kill_chain: if last {
                    std::mem::take(&mut meta.kill_chain)
                } else {
                    meta.kill_chain.clone()
                },
                fields: if last {
                    std::mem::take(&mut fields)
                } else {
                    fields.clone()
                },
            };
            self.report.indicators += 1;
            (self.emit)(indicator);
        }
    }
}

fn take_or_clone(v: &mut Option<String>, take: bool) -> Option<String> {
    if take { v.take() } else { v.clone() }
}

/// Flattens `items`, replacing references by what they point at.
/// Unresolvable references (and chains deeper than [`MAX_REF_DEPTH`], which
/// includes cycles) stay as [`Item::Ref`] and are reported as unresolved.
fn expand<'d>(
    defs: &'d HashMap<String, Vec<Item>>,
    items: &'d [Item],
    out: &mut Vec<&'d Item>,
    depth: usize,
) {
    for item in items {
        match item {
            Item::Ref(target) if depth < MAX_REF_DEPTH => match defs.get(target) {
                Some(def) => expand(defs, def, out, depth + 1),
                None => out.push(item),
            },
            _ => out.push(item),
        }
    }
}
