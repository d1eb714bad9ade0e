//! Namespaces of STIX 1.x / CybOX 2.x, recognised by URI (prefixes vary
//! between feeds), and the CybOX object types taxiway understands.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::BytesStart;
use quick_xml::name::PrefixDeclaration;

/// The namespaces the parser cares about. Version suffixes are ignored
/// (`Indicator-2`, `AddressObject-2`, ...), so STIX 1.0 to 1.2 and CybOX 2.0
/// to 2.1 all map to the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Ns {
    Stix,
    Indicator,
    StixCommon,
    Cybox,
    CyboxCommon,
    Marking,
    Tlp,
    Xsi,
    /// A CybOX object namespace.
    Object(ObjKind),
    /// Anything else (including no namespace).
    #[default]
    Other,
}

/// CybOX object types, by the namespace of their properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ObjKind {
    Address,
    DomainName,
    Uri,
    /// LinkObj: a URIObj with a label; its `Value` is in the URIObj namespace.
    Link,
    Hostname,
    /// FileObj and its extensions (WinFileObj, UnixFileObj, WinExecutableFileObj).
    File,
    EmailMessage,
    /// Any other object (NetworkConnectionObj, WinRegistryKeyObj, ...).
    Unsupported,
}

const OBJECTS: &str = "http://cybox.mitre.org/objects#";

/// Classifies a namespace URI.
pub(super) fn classify(uri: &str) -> Ns {
    // Exact URIs of the current versions first: one length check each.
    match uri {
        "http://stix.mitre.org/stix-1" => Ns::Stix,
        "http://stix.mitre.org/Indicator-2" => Ns::Indicator,
        "http://stix.mitre.org/common-1" => Ns::StixCommon,
        "http://cybox.mitre.org/cybox-2" => Ns::Cybox,
        "http://cybox.mitre.org/common-2" => Ns::CyboxCommon,
        "http://data-marking.mitre.org/Marking-1" => Ns::Marking,
        "http://data-marking.mitre.org/extensions/MarkingStructure#TLP-1" => Ns::Tlp,
        "http://www.w3.org/2001/XMLSchema-instance" => Ns::Xsi,
        "http://cybox.mitre.org/objects#AddressObject-2" => Ns::Object(ObjKind::Address),
        "http://cybox.mitre.org/objects#DomainNameObject-1" => Ns::Object(ObjKind::DomainName),
        "http://cybox.mitre.org/objects#URIObject-2" => Ns::Object(ObjKind::Uri),
        "http://cybox.mitre.org/objects#FileObject-2" => Ns::Object(ObjKind::File),
        "http://cybox.mitre.org/objects#EmailMessageObject-2" => Ns::Object(ObjKind::EmailMessage),
        _ => classify_slow(uri),
    }
}

fn classify_slow(uri: &str) -> Ns {
    if let Some(name) = uri.strip_prefix(OBJECTS) {
        return Ns::Object(object_kind(strip_version(name)));
    }
    match strip_version(uri) {
        "http://stix.mitre.org/stix" => Ns::Stix,
        "http://stix.mitre.org/Indicator" => Ns::Indicator,
        "http://stix.mitre.org/common" => Ns::StixCommon,
        "http://cybox.mitre.org/cybox" => Ns::Cybox,
        "http://cybox.mitre.org/common" => Ns::CyboxCommon,
        "http://data-marking.mitre.org/Marking" => Ns::Marking,
        "http://data-marking.mitre.org/extensions/MarkingStructure#TLP" => Ns::Tlp,
        _ => Ns::Other,
    }
}

/// `AddressObject-2` -> `AddressObject`.
fn strip_version(s: &str) -> &str {
    match s.rsplit_once('-') {
        Some((base, v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            base
        }
        _ => s,
    }
}

/// `AddressObject` (namespace fragment) or `AddressObjectType` (type name) -> kind.
fn object_kind(name: &str) -> ObjKind {
    let name = name.strip_suffix("Type").unwrap_or(name);
    match name {
        "AddressObject" => ObjKind::Address,
        "DomainNameObject" => ObjKind::DomainName,
        "URIObject" => ObjKind::Uri,
        "LinkObject" => ObjKind::Link,
        "HostnameObject" => ObjKind::Hostname,
        "FileObject"
        | "WinFileObject"
        | "WindowsFileObject"
        | "UnixFileObject"
        | "WinExecutableFileObject"
        | "WindowsExecutableFileObject" => ObjKind::File,
        "EmailMessageObject" => ObjKind::EmailMessage,
        _ => ObjKind::Unsupported,
    }
}

/// The object type named by a `cybox:Properties` `xsi:type`, given the
/// namespace its prefix resolved to (if it did) and its local part.
///
/// Returns the kind and the conventional short name for reports
/// (`AddressObj`, `NetworkConnectionObj`).
pub(super) fn object_type(ns_uri: Option<&str>, local: &str) -> (ObjKind, Cow<'static, str>) {
    let (kind, fragment) = match ns_uri.and_then(|u| u.strip_prefix(OBJECTS)) {
        Some(fragment) => {
            let fragment = strip_version(fragment);
            (object_kind(fragment), fragment)
        }
        // Undeclared prefix or unusual namespace: go by the type name.
        None => (
            object_kind(local),
            local.strip_suffix("Type").unwrap_or(local),
        ),
    };
    let name = match kind {
        ObjKind::Address => Cow::Borrowed("AddressObj"),
        ObjKind::DomainName => Cow::Borrowed("DomainNameObj"),
        ObjKind::Uri => Cow::Borrowed("URIObj"),
        ObjKind::Link => Cow::Borrowed("LinkObj"),
        ObjKind::Hostname => Cow::Borrowed("HostnameObj"),
        ObjKind::EmailMessage => Cow::Borrowed("EmailMessageObj"),
        ObjKind::File if fragment == "FileObject" => Cow::Borrowed("FileObj"),
        ObjKind::File | ObjKind::Unsupported => {
            let base = fragment.strip_suffix("Object").unwrap_or(fragment);
            let base = if base.is_empty() { "unknown" } else { base };
            Cow::Owned(format!("{base}Obj"))
        }
    };
    (kind, name)
}

/// One `xmlns` / `xmlns:p` declaration in scope.
#[derive(Debug)]
struct Binding {
    /// [`prefix_key`] of `prefix`: most lookups are decided by it alone.
    key: u128,
    /// Empty for the default namespace.
    prefix: String,
    /// Empty when the declaration undeclares the prefix (`xmlns:p=""`).
    uri: String,
    ns: Ns,
    /// Nesting depth of the element that declared it (root = 1).
    depth: usize,
}

/// The namespace declarations in scope, resolved by URI.
///
/// Cheaper than re-parsing every element's attributes: an element is only
/// scanned for declarations when its attribute text mentions `xmlns`, and
/// each URI is classified once, when it is declared.
#[derive(Debug, Default)]
pub(super) struct Scopes {
    bindings: Vec<Binding>,
    /// Bindings that element prefixes resolved to since the bindings last
    /// changed, by prefix length and first byte: index plus one (0: none).
    cache: [usize; 8],
}

/// Whether attribute text may hold a namespace declaration (the lexer
/// finds this out while it scans a tag: see `Lexer::mentions_xmlns`, which
/// is tested against this), looking for `xm` eight bytes at a time.
#[cfg(test)]
pub(super) fn mentions_xmlns(raw: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const XS: u64 = ONES * b'x' as u64;
    const MS: u64 = ONES * b'm' as u64;
    // Every zero byte is flagged (some non-zero ones above the lowest may
    // be too, which `at` rules out).
    let zeros = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS;
    let bytes = raw.as_bytes();
    let at = |i: usize| bytes[i..].starts_with(b"xmlns");
    let mut base = 0;
    // Seven pairs per word: the eighth byte starts the next word's first.
    while let Some(chunk) = bytes.get(base..base + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let mut hits = zeros(w ^ XS) & zeros((w >> 8) ^ MS) & (HIGHS >> 8);
        while hits != 0 {
            if at(base + (hits.trailing_zeros() / 8) as usize) {
                return true;
            }
            hits &= hits - 1;
        }
        base += 7;
    }
    (base..bytes.len()).any(at)
}

/// The first `:` in a name, searched a word at a time.
fn colon_in(name: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Every `:` is flagged, and the lowest flag is one.
    let colons = |chunk: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w) ^ (ONES * u64::from(b':'));
        w.wrapping_sub(ONES) & !w & HIGHS
    };
    let mut at = 0;
    while let Some(chunk) = name.get(at..at + 8) {
        let hits = colons(chunk);
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    name[at..].iter().position(|&b| b == b':').map(|i| at + i)
}

/// A prefix's length and first fifteen bytes: equal keys mean equal
/// prefixes up to fifteen bytes long.
fn prefix_key(prefix: &str) -> u128 {
    key_of_prefix(prefix.as_bytes(), prefix.len())
}

/// [`prefix_key`] of `name[..n]`, read a word at a time where `name` is
/// long enough (an element name is longer than its prefix).
#[inline]
fn key_of_prefix(name: &[u8], n: usize) -> u128 {
    let m = n.min(KEY_BYTES);
    // `name[at..at + len]` as a little-endian number, `len <= 8`.
    let word = |at: usize, len: usize| -> u64 {
        if len == 0 {
            return 0;
        }
        let mut w = [0u8; 8];
        match name.get(at..at + 8) {
            Some(chunk) => w.copy_from_slice(chunk),
            None => w[..len].copy_from_slice(&name[at..at + len]),
        }
        let w = u64::from_le_bytes(w);
        if len == 8 {
            w
        } else {
            w & ((1u64 << (8 * len)) - 1)
        }
    };
    let lo = word(0, m.min(8));
    let hi = word(8, m.saturating_sub(8));
    u128::from(lo) | u128::from(hi) << 64 | u128::from(n.min(255) as u8) << (8 * KEY_BYTES)
}

const KEY_BYTES: usize = 15;

/// Most declarations in scope at once; more is an attack, not a feed.
const MAX_BINDINGS: usize = 1_024;

impl Scopes {
    /// Adds the declarations of an element opened at `depth`; `xmlns`:
    /// whether its attribute text mentions `xmlns` at all.
    pub(super) fn push(
        &mut self,
        e: &BytesStart<'_>,
        xmlns: bool,
        depth: usize,
    ) -> Result<(), String> {
        if !xmlns {
            return Ok(());
        }
        let mut attrs = e.attributes();
        attrs.with_checks(false);
        for a in attrs {
            let a = a.map_err(|err| err.to_string())?;
            let Some(decl) = a.key.as_namespace_binding() else {
                continue;
            };
            let prefix = match decl {
                PrefixDeclaration::Default => "",
                PrefixDeclaration::Named(p) => p,
            };
            let uri = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| err.to_string())?;
            if self.bindings.len() >= MAX_BINDINGS {
                return Err(format!(
                    "more than {MAX_BINDINGS} namespace declarations in scope"
                ));
            }
            self.cache = Default::default();
            self.bindings.push(Binding {
                key: prefix_key(prefix),
                prefix: prefix.to_owned(),
                ns: classify(&uri),
                uri: uri.into_owned(),
                depth,
            });
        }
        Ok(())
    }

    /// Drops the declarations of elements deeper than `depth`.
    pub(super) fn pop_above(&mut self, depth: usize) {
        while self.bindings.last().is_some_and(|b| b.depth > depth) {
            self.bindings.pop();
            self.cache = Default::default();
        }
    }

    fn lookup(&self, prefix: &str) -> Option<&Binding> {
        self.find(prefix)
            .map(|i| &self.bindings[i])
            .filter(|b| !b.uri.is_empty())
    }

    /// The innermost binding of `prefix`, declared or undeclared.
    fn find(&self, prefix: &str) -> Option<usize> {
        self.find_key(prefix_key(prefix), prefix)
    }

    /// [`find`](Self::find) given the prefix's key.
    fn find_key(&self, key: u128, prefix: &str) -> Option<usize> {
        self.bindings
            .iter()
            .rposition(|b| b.key == key && (prefix.len() <= KEY_BYTES || b.prefix == prefix))
    }

    /// Namespace and local name of an element name (unprefixed names take
    /// the default namespace).
    pub(super) fn element<'n>(&mut self, qname: &'n str) -> (Ns, &'n str) {
        let (prefix, local) = match colon_in(qname.as_bytes()) {
            Some(i) => (&qname[..i], &qname[i + 1..]),
            None => ("", qname),
        };
        let key = key_of_prefix(qname.as_bytes(), prefix.len());
        let slot = (prefix.len() ^ usize::from(prefix.bytes().next().unwrap_or(0))) % 8;
        let index = match self.cache[slot].checked_sub(1) {
            Some(i)
                if self.bindings[i].key == key
                    && (prefix.len() <= KEY_BYTES || self.bindings[i].prefix == prefix) =>
            {
                Some(i)
            }
            _ => {
                let found = self.find_key(key, prefix);
                if let Some(i) = found {
                    self.cache[slot] = i + 1;
                }
                found
            }
        };
        let ns = index
            .map(|i| &self.bindings[i])
            .filter(|b| !b.uri.is_empty())
            .map_or(Ns::Other, |b| b.ns);
        (ns, local)
    }

    /// Whether an attribute name is `xsi:type` (whatever the prefix).
    pub(super) fn is_xsi_type(&self, key: &str) -> bool {
        match key.split_once(':') {
            Some((prefix, "type")) => self.lookup(prefix).is_some_and(|b| b.ns == Ns::Xsi),
            _ => false,
        }
    }

    /// Namespace URI (if the prefix is declared) and local part of a QName
    /// used as an attribute value, like `xsi:type="AddressObj:AddressObjectType"`.
    pub(super) fn qname_value<'v>(&self, value: &'v str) -> (Option<&str>, &'v str) {
        let value = crate::normalize::trim(value);
        let (prefix, local) = value.split_once(':').unwrap_or(("", value));
        (self.lookup(prefix).map(|b| b.uri.as_str()), local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmlns_detection() {
        assert!(mentions_xmlns(r#"xmlns:a="b""#));
        assert!(mentions_xmlns(r#" id="x" xmlns="urn:x""#));
        assert!(mentions_xmlns(r#"1234567xmlns:a="b""#));
        assert!(mentions_xmlns(r#"123456789012345 xmlns"#));
        assert!(!mentions_xmlns(r#"xsi:type="x:y" id="example:x-1" xmln="#));
        assert!(!mentions_xmlns(""));
        assert!(!mentions_xmlns("xmln"));
        for pad in 0..20 {
            let text = format!("{} xmlns:p=\"u\"", "x".repeat(pad));
            assert!(mentions_xmlns(&text), "{text}");
            let near = format!("{} xmlnx:p=\"xm\" xxmm", "xm".repeat(pad));
            assert!(!mentions_xmlns(&near), "{near}");
        }
    }

    #[test]
    fn namespaces_by_uri() {
        assert_eq!(classify("http://stix.mitre.org/stix-1"), Ns::Stix);
        assert_eq!(classify("http://stix.mitre.org/Indicator-2"), Ns::Indicator);
        assert_eq!(
            classify("http://stix.mitre.org/Indicator-2.1"),
            Ns::Indicator
        );
        assert_eq!(classify("http://cybox.mitre.org/cybox-2"), Ns::Cybox);
        assert_eq!(
            classify("http://cybox.mitre.org/objects#HostnameObject-1"),
            Ns::Object(ObjKind::Hostname)
        );
        assert_eq!(
            classify("http://cybox.mitre.org/objects#WinExecutableFileObject-2"),
            Ns::Object(ObjKind::File)
        );
        assert_eq!(
            classify("http://cybox.mitre.org/objects#NetworkConnectionObject-2"),
            Ns::Object(ObjKind::Unsupported)
        );
        assert_eq!(classify("http://example.com/stix-1"), Ns::Other);
        assert_eq!(classify(""), Ns::Other);
    }

    #[test]
    fn colons_found_by_words() {
        for name in [
            "",
            "a",
            ":",
            "a:b",
            "abcdefg:",
            "abcdefgh:",
            "abcdefghijklmnop:q:r",
            "abcdefghijklmnopq",
        ] {
            assert_eq!(
                colon_in(name.as_bytes()),
                name.bytes().position(|b| b == b':'),
                "{name}"
            );
        }
    }

    #[test]
    fn prefix_keys_read_by_words() {
        let name = "abcdefghijklmnopqrstuvwxyz:local";
        for n in 0..=26 {
            let slow = {
                let prefix = &name.as_bytes()[..n];
                let mut key = 0u128;
                for (i, &b) in prefix.iter().take(KEY_BYTES).enumerate() {
                    key |= u128::from(b) << (8 * i);
                }
                key | u128::from(n as u8) << (8 * KEY_BYTES)
            };
            assert_eq!(key_of_prefix(name.as_bytes(), n), slow, "{n}");
            assert_eq!(prefix_key(&name[..n]), slow, "{n}");
        }
    }

    #[test]
    fn object_types() {
        let t = |ns, local| object_type(ns, local);
        assert_eq!(
            t(
                Some("http://cybox.mitre.org/objects#AddressObject-2"),
                "AddressObjectType"
            ),
            (ObjKind::Address, Cow::Borrowed("AddressObj"))
        );
        assert_eq!(
            t(None, "DomainNameObjectType"),
            (ObjKind::DomainName, Cow::Borrowed("DomainNameObj"))
        );
        assert_eq!(
            t(
                Some("http://cybox.mitre.org/objects#NetworkConnectionObject-2"),
                "NetworkConnectionObjectType"
            ),
            (
                ObjKind::Unsupported,
                Cow::Owned("NetworkConnectionObj".to_owned())
            )
        );
        assert_eq!(
            t(
                Some("http://cybox.mitre.org/objects#WinFileObject-2"),
                "WindowsFileObjectType"
            ),
            (ObjKind::File, Cow::Owned("WinFileObj".to_owned()))
        );
        assert_eq!(
            t(Some("http://example.com/x"), "MutexObjectType"),
            (ObjKind::Unsupported, Cow::Owned("MutexObj".to_owned()))
        );
    }
}
