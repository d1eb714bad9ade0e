//! STIX 1.x / CybOX 2.x: turns one STIX package (XML, as carried in a TAXII
//! 1.x content block) into [`Indicator`]s.
//!
//! The parser streams over the document with its own tokenizer (tags decoded
//! by quick-xml) and never builds a tree: it keeps the state of the current indicator and observable,
//! plus, only when the document uses `idref`s, the values of observables and
//! objects by id (so references can be resolved at the end, whether they
//! come before or after the definition). Namespaces are resolved by URI,
//! never by prefix; the parser tracks the declarations in scope itself
//! (cheaper than `NsReader`, which re-parses every element's attributes).
//! Several packages in one document (a whole TAXII message) are each read
//! with their own header.
//!
//! Only UTF-8 (or ASCII) documents are read. A `<!DOCTYPE>` is refused
//! ([`StixError::Doctype`]) and no entity is ever expanded beyond the five
//! predefined ones and character references, so entity bombs and external
//! entities cannot work.
//!
//! What becomes an indicator:
//!
//! - every `Indicator` with an `id` whose observable (inline, by `idref`, or
//!   an `OR` composition of those) holds supported values; nested indicators
//!   (`Composite_Indicator_Expression operator="OR"`, `Related_Indicators`)
//!   count as indicators of their own;
//! - every package-level observable (`stix:Observables`, or a bare
//!   `cybox:Observables` document) that no indicator references, with the
//!   package header's metadata.
//!
//! Supported CybOX objects and properties: AddressObj `Address_Value`
//! (categories `ipv4-addr`, `ipv6-addr`, `ipv4-net`, `ipv6-net`, `cidr`, the
//! `*-net-mask` ones with a dotted mask, `e-mail`), DomainNameObj `Value`
//! (`FQDN`), URIObj and LinkObj `Value` (`URL`, `Domain Name`), HostnameObj
//! `Hostname_Value`, FileObj (and WinFileObj, UnixFileObj,
//! WinExecutableFileObj) `Hashes/Hash` (MD5, SHA1, SHA256, SHA512; by length
//! when the type is missing) and `File_Name` (only when the object has no
//! hash: next to a hash the name is context, not an indicator),
//! EmailMessageObj `Header/From` and `Header/Sender`.
//!
//! Metadata: `id` is the indicator's id (`#1`, `#2`, ... appended when one
//! indicator yields several distinct values), `description` its Description
//! or else its Title, `threat_type` its first `Type`, `confidence` from
//! `Confidence/Value` (High 85, Medium 50, Low 15, None 0, or a number),
//! `valid_from`/`valid_until` from `Valid_Time_Position` (no zone means UTC),
//! `kill_chain` from the phases' names (or ids), `tags` the TLP colour
//! (`tlp:amber`; the indicator's own marking, else the package's), and
//! `fields.stix_timestamp` the indicator's (else the package's) `timestamp`.
//!
//! Conditions: `Equals` (or none) gives the value; a `##comma##` list (or the
//! property's own `delimiter`) with `apply_condition="ANY"` (or none) gives one
//! indicator per value; `InclusiveBetween` on an address gives the CIDR blocks
//! that cover exactly that range (at most 32 of them). Everything else
//! (`Contains`, `FitsPattern`, `apply_condition="ALL"` on a list, negated
//! observables, `AND` compositions, other objects) is counted in
//! [`ParseReport::unsupported`] and never stored. Values that fail
//! normalisation are counted in [`ParseReport::invalid`].

use std::collections::BTreeMap;

use thiserror::Error;

use crate::indicator::Indicator;

mod convert;
mod lexer;
mod names;
mod parser;
#[cfg(test)]
mod tests;

/// How many problem descriptions [`ParseReport::examples`] keeps.
pub const MAX_EXAMPLES: usize = 20;

/// Where a package comes from; copied into every indicator.
#[derive(Debug, Clone, Copy)]
pub struct StixContext<'a> {
    /// The feed's name ([`Indicator::source`]).
    pub source: &'a str,
    /// The TAXII collection ([`Indicator::collection`]).
    pub collection: Option<&'a str>,
}

/// What [`parse_package`] did with a package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseReport {
    /// Indicators passed to `emit`.
    pub indicators: usize,
    /// Patterns taxiway cannot store, by kind, e.g.
    /// `condition=Contains on DomainNameObj`, `object NetworkConnectionObj`.
    pub unsupported: BTreeMap<String, usize>,
    /// Values (or metadata fields) that are malformed, by reason, e.g.
    /// `bad ipv4-addr value: not an IP address`. Metadata fields marked
    /// `(ignored)` did not stop the indicator; every other entry did.
    pub invalid: BTreeMap<String, usize>,
    /// The first [`MAX_EXAMPLES`] problems, as `<id>: <kind>: <value>`.
    pub examples: Vec<String>,
}

impl ParseReport {
    /// Number of values or patterns that did not become indicators.
    pub fn skipped(&self) -> usize {
        self.unsupported.values().sum::<usize>()
            + self
                .invalid
                .iter()
                .filter(|(k, _)| !k.ends_with("(ignored)"))
                .map(|(_, n)| n)
                .sum::<usize>()
    }

    pub(crate) fn note(&mut self, unsupported: bool, key: &str, id: &str, detail: &str) {
        let map = if unsupported {
            &mut self.unsupported
        } else {
            &mut self.invalid
        };
        match map.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                map.insert(key.to_owned(), 1);
            }
        }
        if self.examples.len() < MAX_EXAMPLES {
            let mut line = format!("{id}: {key}");
            if !detail.is_empty() {
                line.push_str(": ");
                let mut end = detail.len().min(120);
                while !detail.is_char_boundary(end) {
                    end -= 1;
                }
                line.push_str(&detail[..end]);
                if end < detail.len() {
                    line.push('…');
                }
            }
            self.examples.push(line);
        }
    }
}

/// Why a package could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StixError {
    /// The document is not well-formed XML (or not UTF-8).
    #[error("malformed XML at byte {position}: {message}")]
    Xml {
        /// Byte offset in the input where the problem was detected.
        position: u64,
        /// What is wrong.
        message: String,
    },
    /// The document has a `<!DOCTYPE>`: refused outright, because entity
    /// declarations are how entity-expansion ("billion laughs") and external
    /// entity attacks work, and STIX never needs them.
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    /// Well-formed XML without a `STIX_Package` (or a `cybox:Observables` root).
    #[error("not a STIX 1.x package (root element `{root}`)")]
    NotStix {
        /// The document's root element, as written.
        root: String,
    },
}

/// Parses one STIX 1.0–1.2 package and passes each indicator to `emit` as
/// soon as it is complete (indicators that use `idref`s and package-level
/// observables come last, once every reference can be resolved).
///
/// On `Err`, indicators emitted before the problem was found have already
/// been passed to `emit`; a caller that wants all-or-nothing collects them
/// and drops them on error.
pub fn parse_package(
    xml: &[u8],
    ctx: &StixContext<'_>,
    emit: &mut dyn FnMut(Indicator),
) -> Result<ParseReport, StixError> {
    parser::parse(xml, ctx, emit)
}
