//! The CSE-style matching policy, in plain Rust so the same code runs inside
//! the component and natively (the host's benchmark compares the two).
//!
//! A batch is handled in three passes: scan every record once and collect the
//! values of the configured fields into one packed query; ask the host once;
//! then copy untouched records verbatim and splice tags into the others.

use crate::scan::{self, Member, ScanError, Span, ValueKind};
use crate::settings::Settings;

/// The field a record that could not be enriched carries, with the reason.
pub const ERROR_FIELD: &str = "taxiwayError";
/// Where a line that is not a JSON object is kept, as a JSON string.
pub const RAW_FIELD: &str = "taxiwayRaw";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObservableKind {
    Ip,
    Domain,
    Url,
    Md5,
    Sha1,
    Sha256,
    Sha512,
    Hash,
    Email,
    FileName,
}

impl ObservableKind {
    pub fn from_name(name: &str) -> Option<Self> {
        use ObservableKind::*;
        Some(match name {
            "ip" => Ip,
            "domain" => Domain,
            "url" => Url,
            "md5" => Md5,
            "sha1" => Sha1,
            "sha256" => Sha256,
            "sha512" => Sha512,
            "hash" => Hash,
            "email" => Email,
            "file-name" | "file_name" => FileName,
            _ => return None,
        })
    }
}

/// Values to look up, packed column-wise (see the WIT `query` record).
#[derive(Default, Debug)]
pub struct Query {
    pub kinds: Vec<ObservableKind>,
    pub values: String,
    pub ends: Vec<u32>,
}

impl Query {
    pub fn clear(&mut self) {
        self.kinds.clear();
        self.values.clear();
        self.ends.clear();
    }

    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    pub fn value(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.values[start..self.ends[i] as usize]
    }

    fn push(&mut self, kind: ObservableKind, value: &str) {
        self.kinds.push(kind);
        self.values.push_str(value);
        self.ends.push(self.values.len() as u32);
    }
}

#[derive(Clone, Copy, Debug)]
pub struct LookupOptions {
    pub parent_domains: bool,
}

/// The indicator metadata the policy writes into a record.
#[derive(Clone, Debug, Default)]
pub struct Indicator {
    pub id: String,
    pub value: String,
    pub stix_type: String,
    pub source: String,
    pub confidence: Option<u8>,
    pub threat_type: Option<String>,
    pub description: Option<String>,
    pub valid_until: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub observable: u32,
    pub indicator: u32,
}

#[derive(Default, Debug)]
pub struct LookupResult {
    pub hits: Vec<Hit>,
    pub indicators: Vec<Indicator>,
}

/// The host's side of the contract, as the policy sees it.
pub trait Lookup {
    fn lookup(&mut self, query: &Query, options: LookupOptions) -> LookupResult;
}

#[derive(Default, Debug)]
pub struct BatchOutput {
    pub records: Vec<u8>,
    pub tagged: u32,
    pub errors: Vec<(u32, String)>,
}

/// What the scan learned of one record.
struct Record {
    line: Span,
    /// Observables `obs_start..obs_end` of the query came from this record.
    obs_start: u32,
    obs_end: u32,
    shape: Result<Shape, ScanError>,
}

struct Shape {
    close: usize,
    empty: bool,
    list_matches: Option<(Span, ValueKind)>,
    matched_items: Option<(Span, ValueKind)>,
}

const BUCKETS: usize = 256;
/// Ids of the two members the policy extends, beside the field indices.
const LIST_MATCHES: u16 = u16::MAX;
const MATCHED_ITEMS: u16 = u16::MAX - 1;

/// Byte equality a word at a time: in a component, `==` on slices calls a
/// byte-by-byte `memcmp`.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    let word = |c: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    };
    for (x, y) in (&mut ca).zip(&mut cb) {
        if word(x) != word(y) {
            return false;
        }
    }
    ca.remainder()
        .iter()
        .zip(cb.remainder())
        .all(|(x, y)| x == y)
}

#[inline]
fn bucket(key: &[u8]) -> usize {
    match key {
        [] => 0,
        [first, .., last] => {
            (key.len() * 7
                + usize::from(*first) * 3
                + usize::from(*last) * 5
                + usize::from(key[key.len() / 2]))
                % BUCKETS
        }
        [only] => usize::from(*only) % BUCKETS,
    }
}

pub struct Enricher {
    settings: Settings,
    /// Fields found in the record being scanned: (field, value, escaped, kind).
    found: Vec<(u16, Span, bool, ValueKind)>,
    /// Field indices by a cheap hash of the name: most keys of a record
    /// land in an empty bucket and are dismissed without a comparison.
    buckets: Vec<Vec<(u16, Box<[u8]>)>>,
    query: Query,
    /// The field each observable of the query came from.
    obs_field: Vec<u16>,
    records: Vec<Record>,
    scratch: String,
}

impl Enricher {
    pub fn new(settings: Settings) -> Self {
        let mut buckets: Vec<Vec<(u16, Box<[u8]>)>> = vec![Vec::new(); BUCKETS];
        let names = settings.fields.iter().map(|f| f.name.as_str());
        let ids = (0..settings.fields.len() as u16).chain([LIST_MATCHES, MATCHED_ITEMS]);
        for (id, name) in ids.zip(names.chain(["listMatches", "matchedItems"])) {
            buckets[bucket(name.as_bytes())].push((id, name.as_bytes().into()));
        }
        Enricher {
            settings,
            buckets,
            query: Query::default(),
            obs_field: Vec::new(),
            records: Vec::new(),
            found: Vec::new(),
            scratch: String::new(),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The field (or [`LIST_MATCHES`] / [`MATCHED_ITEMS`]) a key names.
    #[inline]
    fn field_of(&self, key: &[u8]) -> Option<u16> {
        self.buckets[bucket(key)]
            .iter()
            .find(|(_, name)| same_bytes(name, key))
            .map(|(id, _)| *id)
    }

    /// Enrich one NDJSON batch (every line ends in `\n`).
    pub fn enrich(&mut self, input: &[u8], lookup: &mut impl Lookup) -> BatchOutput {
        self.query.clear();
        self.obs_field.clear();
        self.records.clear();
        let mut start = 0;
        while start < input.len() {
            start = self.scan_record(input, start) + 1;
        }

        let result = if self.query.is_empty() {
            LookupResult::default()
        } else {
            lookup.lookup(
                &self.query,
                LookupOptions {
                    parent_domains: self.settings.parent_domains,
                },
            )
        };

        let mut out = BatchOutput {
            records: Vec::with_capacity(input.len() + input.len() / 8),
            ..BatchOutput::default()
        };
        let mut hits = result.hits.iter().peekable();
        let mut mine: Vec<Hit> = Vec::new();
        // Untouched records are copied in runs, straight from the input.
        let mut run_from = 0;
        for (index, record) in self.records.iter().enumerate() {
            mine.clear();
            while let Some(hit) = hits.peek() {
                if hit.observable >= record.obs_end {
                    break;
                }
                if hit.observable >= record.obs_start {
                    mine.push(**hit);
                }
                hits.next();
            }
            if record.shape.is_ok() && mine.is_empty() {
                continue;
            }
            out.records
                .extend_from_slice(&input[run_from..record.line.start]);
            run_from = (record.line.end + 1).min(input.len());
            let line = record.line.of(input);
            match &record.shape {
                Err(error) => {
                    write_not_an_object(&mut out.records, line, &error.to_string());
                    out.errors.push((index as u32, error.to_string()));
                }
                Ok(shape) => {
                    self.splice(&mut out.records, input, record.line, shape, &mine, &result);
                    out.tagged += 1;
                }
            }
            out.records.push(b'\n');
        }
        out.records.extend_from_slice(&input[run_from..]);
        if out.records.last().is_some_and(|&b| b != b'\n') {
            out.records.push(b'\n');
        }
        out
    }

    /// Scan the record at `start`; returns the position of its line end.
    fn scan_record(&mut self, input: &[u8], start: usize) -> usize {
        let line = input;
        let obs_start = self.query.len() as u32;
        let mut list_matches = None;
        let mut matched_items = None;
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        let scanned = scan::scan_object_at(input, start, |m: &Member| {
            let key = m.key.of(line);
            if m.key_escaped {
                // Field names of real schemas never need escapes; treat an
                // escaped key as not one of ours.
                return;
            }
            match self.field_of(key) {
                None => {}
                Some(LIST_MATCHES) => list_matches = Some((m.value, m.kind)),
                Some(MATCHED_ITEMS) => matched_items = Some((m.value, m.kind)),
                Some(field) => found.push((field, m.value, m.value_escaped, m.kind)),
            }
        });
        let end = match &scanned {
            Ok(object) => object.end,
            Err(_) => scan::line_end(input, start),
        };
        let shape = scanned.map(|object| {
            for &(field, value, escaped, kind) in &found {
                match kind {
                    ValueKind::String => {
                        let inner = Span {
                            start: value.start + 1,
                            end: value.end - 1,
                        };
                        self.push_value(field, inner.of(line), escaped);
                    }
                    ValueKind::Array => {
                        let mut items: Vec<(Span, bool)> = Vec::new();
                        scan::array_strings(line, value, |s, e| items.push((s, e)));
                        for (s, e) in items {
                            self.push_value(field, s.of(line), e);
                        }
                    }
                    _ => {}
                }
            }
            Shape {
                close: object.close,
                empty: object.empty,
                list_matches,
                matched_items,
            }
        });
        self.found = found;
        self.records.push(Record {
            line: Span { start, end },
            obs_start,
            obs_end: self.query.len() as u32,
            shape,
        });
        end
    }

    fn push_value(&mut self, field: u16, raw: &[u8], escaped: bool) {
        let kind = self.settings.fields[field as usize].kind;
        let value = if escaped {
            self.scratch.clear();
            if !scan::unescape(raw, &mut self.scratch) {
                return;
            }
            self.scratch.as_str()
        } else {
            match core::str::from_utf8(raw) {
                Ok(s) => s,
                Err(_) => return,
            }
        };
        if value.is_empty() {
            return;
        }
        self.query.push(kind, value);
        self.obs_field.push(field);
    }

    /// Write `line` with `listMatches` and `matchedItems` added or extended.
    fn splice(
        &self,
        out: &mut Vec<u8>,
        line: &[u8],
        record: Span,
        shape: &Shape,
        hits: &[Hit],
        result: &LookupResult,
    ) {
        // One item per (field, indicator): the same indicator reached through
        // two values of one field is reported once.
        let mut items: Vec<(u16, u32, u32)> = Vec::with_capacity(hits.len());
        for hit in hits {
            let field = self.obs_field[hit.observable as usize];
            if !items
                .iter()
                .any(|&(f, _, ind)| f == field && ind == hit.indicator)
            {
                items.push((field, hit.observable, hit.indicator));
            }
        }

        let mut existing: Vec<Vec<u8>> = Vec::new();
        if let Some((span, ValueKind::Array)) = shape.list_matches {
            scan::array_strings(line, span, |s, _| existing.push(s.of(line).to_vec()));
        }
        let mut names: Vec<String> = Vec::new();
        let mut add = |name: String| {
            let mut quoted = Vec::new();
            scan::write_json_string(&mut quoted, &name);
            let inner = &quoted[1..quoted.len() - 1];
            if !existing.iter().any(|e| e == inner) && !names.contains(&name) {
                names.push(name);
            }
        };
        add("threat".to_string());
        for &(field, _, indicator) in &items {
            add(format!(
                "column:{}",
                self.settings.fields[field as usize].name
            ));
            add(result.indicators[indicator as usize].source.clone());
        }

        let mut list_bytes = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                list_bytes.push(b',');
            }
            scan::write_json_string(&mut list_bytes, name);
        }
        let mut item_bytes = Vec::new();
        for (i, &(field, observable, indicator)) in items.iter().enumerate() {
            if i > 0 {
                item_bytes.push(b',');
            }
            self.write_item(
                &mut item_bytes,
                field,
                self.query.value(observable as usize),
                &result.indicators[indicator as usize],
            );
        }

        // Edits at increasing positions: (position, bytes to insert, bytes
        // of the original to skip).
        let mut edits: Vec<(usize, Vec<u8>, usize)> = Vec::new();
        let mut tail = Vec::new();
        let mut tail_needs_comma = !shape.empty;
        for (existing, key, new) in [
            (shape.list_matches, "listMatches", list_bytes),
            (shape.matched_items, "matchedItems", item_bytes),
        ] {
            if new.is_empty() {
                continue;
            }
            match existing {
                Some((span, ValueKind::Array)) => {
                    let inner = &line[span.start + 1..span.end - 1];
                    let mut bytes = Vec::new();
                    if inner.iter().any(|b| !b.is_ascii_whitespace()) {
                        bytes.push(b',');
                    }
                    bytes.extend_from_slice(&new);
                    edits.push((span.end - 1, bytes, 0));
                }
                Some((span, _)) => {
                    // A scalar or object where an array belongs: keep it as the
                    // first element of the array it becomes.
                    let mut bytes = vec![b'['];
                    bytes.extend_from_slice(span.of(line));
                    bytes.push(b',');
                    bytes.extend_from_slice(&new);
                    bytes.push(b']');
                    edits.push((span.start, bytes, span.end - span.start));
                }
                None => {
                    if tail_needs_comma {
                        tail.push(b',');
                    }
                    tail_needs_comma = true;
                    scan::write_json_string(&mut tail, key);
                    tail.extend_from_slice(b":[");
                    tail.extend_from_slice(&new);
                    tail.push(b']');
                }
            }
        }
        if !tail.is_empty() {
            edits.push((shape.close, tail, 0));
        }
        edits.sort_by_key(|e| e.0);
        let mut from = record.start;
        for (at, bytes, skip) in edits {
            out.extend_from_slice(&line[from..at]);
            out.extend_from_slice(&bytes);
            from = at + skip;
        }
        out.extend_from_slice(&line[from..record.end]);
    }

    fn write_item(&self, out: &mut Vec<u8>, field: u16, value: &str, indicator: &Indicator) {
        let pair = |out: &mut Vec<u8>, key: &str, value: &str, first: bool| {
            if !first {
                out.push(b',');
            }
            scan::write_json_string(out, key);
            out.push(b':');
            scan::write_json_string(out, value);
        };
        out.push(b'{');
        pair(out, "value", value, true);
        pair(
            out,
            "field",
            &self.settings.fields[field as usize].name,
            false,
        );
        pair(out, "indicatorId", &indicator.id, false);
        pair(out, "indicator", &indicator.value, false);
        pair(out, "type", &indicator.stix_type, false);
        pair(out, "source", &indicator.source, false);
        if let Some(confidence) = indicator.confidence {
            out.extend_from_slice(b",\"confidence\":");
            out.extend_from_slice(confidence.to_string().as_bytes());
        }
        if let Some(until) = &indicator.valid_until {
            pair(out, "validUntil", until, false);
        }
        if let Some(description) = &indicator.description {
            pair(out, "description", description, false);
        }
        if let Some(threat_type) = &indicator.threat_type {
            pair(out, "threatType", threat_type, false);
        }
        out.push(b'}');
    }
}

/// A line that is not one JSON object cannot take a field: it is wrapped in
/// an object that keeps its text whole, next to the error marker.
pub fn write_not_an_object(out: &mut Vec<u8>, line: &[u8], reason: &str) {
    out.push(b'{');
    scan::write_json_string(out, ERROR_FIELD);
    out.push(b':');
    scan::write_json_string(out, reason);
    out.push(b',');
    scan::write_json_string(out, RAW_FIELD);
    out.push(b':');
    scan::write_json_string(out, &String::from_utf8_lossy(line));
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A lookup over a fixed table, exact values only.
    struct Table(HashMap<&'static str, Vec<Indicator>>);

    impl Lookup for Table {
        fn lookup(&mut self, query: &Query, _: LookupOptions) -> LookupResult {
            let mut result = LookupResult::default();
            for i in 0..query.len() {
                for ind in self.0.get(query.value(i)).into_iter().flatten() {
                    result.hits.push(Hit {
                        observable: i as u32,
                        indicator: result.indicators.len() as u32,
                    });
                    result.indicators.push(ind.clone());
                }
            }
            result
        }
    }

    fn indicator(id: &str, value: &str, source: &str) -> Indicator {
        Indicator {
            id: id.into(),
            value: value.into(),
            stix_type: "ipv4-addr".into(),
            source: source.into(),
            confidence: Some(80),
            threat_type: Some("malicious-activity".into()),
            description: Some("a \"bad\" host".into()),
            valid_until: None,
        }
    }

    fn table() -> Table {
        let mut t = HashMap::new();
        t.insert("192.0.2.1", vec![indicator("i1", "192.0.2.1", "FeedA")]);
        t.insert(
            "198.51.100.7",
            vec![
                indicator("i2", "198.51.100.7", "FeedA"),
                indicator("i3", "198.51.100.7", "FeedB"),
            ],
        );
        Table(t)
    }

    fn run(input: &str) -> (String, BatchOutput) {
        let mut e = Enricher::new(Settings::default());
        let out = e.enrich(input.as_bytes(), &mut table());
        (String::from_utf8(out.records.clone()).unwrap(), out)
    }

    fn parse(line: &str) -> serde_json::Value {
        serde_json::from_str(line).unwrap()
    }

    fn strings(v: &serde_json::Value) -> Vec<&str> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect()
    }

    #[test]
    fn untouched_records_are_byte_identical() {
        let input = "{\"srcDevice_ip\" : \"10.0.0.1\",  \"x\":[1, {\"a\":2}]}\n{}\n";
        let (text, out) = run(input);
        assert_eq!(text, input);
        assert_eq!(out.tagged, 0);
        assert!(out.errors.is_empty());
    }

    #[test]
    fn tags_a_match() {
        let (text, out) = run("{\"srcDevice_ip\":\"192.0.2.1\",\"n\":1}\n");
        assert_eq!(out.tagged, 1);
        let v = parse(text.trim_end());
        assert_eq!(
            strings(&v["listMatches"]),
            ["threat", "column:srcDevice_ip", "FeedA"]
        );
        let items = &v["matchedItems"];
        assert_eq!(items.as_array().unwrap().len(), 1);
        let item = &items[0];
        assert_eq!(item["value"].as_str().unwrap(), "192.0.2.1");
        assert_eq!(item["indicatorId"].as_str().unwrap(), "i1");
        assert_eq!(item["description"].as_str().unwrap(), "a \"bad\" host");
        assert_eq!(item["confidence"], 80);
        assert!(text.starts_with("{\"srcDevice_ip\":\"192.0.2.1\",\"n\":1,\"listMatches\""));
    }

    #[test]
    fn two_sources_and_two_fields_without_duplicates() {
        let (text, _) = run(
            "{\"srcDevice_ip\":\"198.51.100.7\",\"dstDevice_ip\":\"198.51.100.7\",\"device_ip\":\"192.0.2.1\"}\n",
        );
        let v = parse(text.trim_end());
        assert_eq!(
            strings(&v["listMatches"]),
            [
                "threat",
                "column:srcDevice_ip",
                "FeedA",
                "FeedB",
                "column:dstDevice_ip",
                "column:device_ip"
            ]
        );
        assert_eq!(v["matchedItems"].as_array().unwrap().len(), 5);
    }

    #[test]
    fn extends_existing_lists() {
        let (text, _) = run(
            "{\"listMatches\":[\"threat\",\"other\"],\"matchedItems\":[{\"x\":1}],\"srcDevice_ip\":\"192.0.2.1\"}\n",
        );
        let v = parse(text.trim_end());
        assert_eq!(
            strings(&v["listMatches"]),
            ["threat", "other", "column:srcDevice_ip", "FeedA"]
        );
        assert_eq!(v["matchedItems"].as_array().unwrap().len(), 2);
        let (text, _) = run("{\"listMatches\":\"x\",\"srcDevice_ip\":\"192.0.2.1\"}\n");
        let v = parse(text.trim_end());
        assert_eq!(
            strings(&v["listMatches"]),
            ["x", "threat", "column:srcDevice_ip", "FeedA"]
        );
    }

    #[test]
    fn array_values_and_escapes() {
        let (text, out) = run(
            "{\"dns_replyIp\":[\"10.0.0.1\",\"192.0.2.1\"]}\n{\"srcDevice_ip\":\"192.0.2.\\u0031\"}\n",
        );
        assert_eq!(out.tagged, 2);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(parse(lines[0])["matchedItems"].as_array().unwrap().len(), 1);
        assert_eq!(
            parse(lines[1])["matchedItems"][0]["value"]
                .as_str()
                .unwrap(),
            "192.0.2.1"
        );
    }

    #[test]
    fn non_objects_are_wrapped_with_the_marker() {
        let (text, out) = run("[1,2]\n{\"a\":\n{\"srcDevice_ip\":\"192.0.2.1\"}\n");
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let first = parse(lines[0]);
        assert_eq!(first[ERROR_FIELD].as_str().unwrap(), "not a JSON object");
        assert_eq!(first[RAW_FIELD].as_str().unwrap(), "[1,2]");
        assert!(
            parse(lines[1])[ERROR_FIELD]
                .as_str()
                .unwrap()
                .starts_with("malformed JSON")
        );
        assert_eq!(out.errors.len(), 2);
        assert_eq!(out.errors[1].0, 1);
        assert_eq!(out.tagged, 1);
    }

    #[test]
    fn a_record_never_spans_lines() {
        let (text, out) = run("{\"a\":[1,\n2]}\n{\"b\":\n\"x\"}\n{\"srcDevice_ip\":\"192.0.2.1\"}");
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(out.errors.len(), 4);
        assert_eq!(out.tagged, 1);
        assert!(text.ends_with('\n'), "the last record gets its newline");
        assert_eq!(parse(lines[1])[RAW_FIELD], "2]}");
    }

    #[test]
    fn long_strings_with_quotes_and_controls_near_word_edges() {
        for pad in 0..17 {
            let filler = "x".repeat(pad);
            let input = format!(
                "{{\"k{filler}\":\"{filler}\\\"q\",\"srcDevice_ip\":\"192.0.2.1\",\"z\":\"{filler}\"}}\n"
            );
            let (text, out) = run(&input);
            assert_eq!(out.tagged, 1, "pad {pad}: {text}");
            let bad = format!("{{\"k\":\"{filler}\u{1}\"}}\n");
            let (_, out) = run(&bad);
            assert_eq!(
                out.errors.len(),
                1,
                "pad {pad}: a raw control byte is malformed"
            );
        }
    }
}
