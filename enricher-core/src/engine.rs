//! The batch engine every bundled module runs: the policy in plain Rust, so
//! the same code runs inside the component and natively (the host's
//! benchmark compares the two).
//!
//! A batch is handled in three passes: scan every record once and collect the
//! values of the configured fields into one packed query; ask the host once;
//! then copy untouched records verbatim and let the module's [`Format`] splice
//! its tags into the others. No record is ever parsed into a tree.

use crate::lookup::{Hit, Indicator, Lookup, LookupOptions, LookupResult, Query};
use crate::paths::{PathScan, Paths, Scratch};
use crate::scan::{self, Member, ScanError, Span, ValueKind};
use crate::settings::{Field, Settings};

/// The field a record that could not be enriched carries, with the reason.
pub const ERROR_FIELD: &str = "taxiwayError";
/// Where a line that is not a JSON object is kept, as a JSON string.
pub const RAW_FIELD: &str = "taxiwayRaw";

/// How many paths a format may have located.
pub const MAX_LOCATED: usize = 4;

/// What a module writes, and where.
pub trait Format: Sized {
    /// The module name `describe` reports.
    const NAME: &'static str;
    /// What it writes, as `describe` reports it.
    const OUTPUT_FORMAT: &'static str;
    /// Paths the format needs found in a record (at most [`MAX_LOCATED`]),
    /// e.g. the members it extends; [`Matched::located`] holds them in this
    /// order.
    const LOCATED: &'static [&'static str];

    /// The module configured from its settings text (empty: the defaults).
    fn configure(settings: &str) -> Result<Self, String>;

    fn settings(&self) -> &Settings;

    /// Write the record `matched.record` with its matches added. Returns
    /// `false`, having written nothing, when there is nothing to add after
    /// all (e.g. every match is already recorded in it).
    fn splice(&self, out: &mut Vec<u8>, matched: &Matched<'_>) -> bool;
}

/// One (field, indicator) match of a record: the same indicator reached
/// through two values of one field is one item, with the first value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    pub field: u16,
    pub observable: u32,
    pub indicator: u32,
}

/// A record that matched, as a [`Format`] sees it.
pub struct Matched<'a> {
    /// The whole batch; spans are positions in it.
    pub input: &'a [u8],
    /// The record, without its newline.
    pub record: Span,
    /// Position of the record's closing brace.
    pub close: usize,
    /// Whether the record is `{}`.
    pub empty: bool,
    /// The value (span and kind) of each of [`Format::LOCATED`], where the
    /// record has it (the first, if it has it more than once).
    pub located: [Option<(Span, ValueKind)>; MAX_LOCATED],
    /// In the order the values stand in the record.
    pub items: &'a [Item],
    pub settings: &'a Settings,
    pub query: &'a Query,
    pub indicators: &'a [Indicator],
    /// When the lookup ran, if the host gave a clock.
    pub now_millis: Option<u64>,
}

impl Matched<'_> {
    /// The record's value that matched, unescaped.
    pub fn value(&self, item: &Item) -> &str {
        self.query.value(item.observable as usize)
    }

    pub fn field(&self, item: &Item) -> &Field {
        &self.settings.fields[item.field as usize]
    }

    pub fn indicator(&self, item: &Item) -> &Indicator {
        &self.indicators[item.indicator as usize]
    }

    pub fn line(&self) -> &[u8] {
        self.input
    }
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
    /// Its located paths are `located[located_start..located_end]`.
    located_start: u32,
    located_end: u32,
    shape: Result<(usize, bool), ScanError>,
}

pub struct Enricher<F> {
    format: F,
    paths: Paths,
    scratch: Scratch,
    /// Fields found in the record being scanned: (field, value, escaped, kind).
    found: Vec<(u16, Span, bool, ValueKind)>,
    /// Located paths of every record of the batch: (which, value, kind).
    located: Vec<(u16, Span, ValueKind)>,
    query: Query,
    /// The field each observable of the query came from.
    obs_field: Vec<u16>,
    records: Vec<Record>,
    unescaped: String,
}

impl<F: Format> Enricher<F> {
    pub fn new(format: F) -> Self {
        assert!(F::LOCATED.len() <= MAX_LOCATED, "too many located paths");
        let paths = Paths::new(
            format.settings().fields.iter().map(|f| f.name.as_str()),
            F::LOCATED.iter().copied(),
        );
        Enricher {
            format,
            paths,
            scratch: Scratch::default(),
            found: Vec::new(),
            located: Vec::new(),
            query: Query::default(),
            obs_field: Vec::new(),
            records: Vec::new(),
            unescaped: String::new(),
        }
    }

    pub fn format(&self) -> &F {
        &self.format
    }

    pub fn settings(&self) -> &Settings {
        self.format.settings()
    }

    /// Enrich one NDJSON batch (every line ends in `\n`).
    pub fn enrich(&mut self, input: &[u8], lookup: &mut impl Lookup) -> BatchOutput {
        self.query.clear();
        self.obs_field.clear();
        self.records.clear();
        self.located.clear();
        let mut start = 0;
        while start < input.len() {
            start = self.scan_record(input, start) + 1;
        }

        let (result, now_millis) = if self.query.is_empty() {
            (LookupResult::default(), None)
        } else {
            let result = lookup.lookup(
                &self.query,
                LookupOptions {
                    parent_domains: self.settings().parent_domains,
                },
            );
            let now = if result.hits.is_empty() {
                None
            } else {
                lookup.now_millis()
            };
            (result, now)
        };

        let mut out = BatchOutput {
            records: Vec::with_capacity(input.len() + input.len() / 8),
            ..BatchOutput::default()
        };
        let mut hits = result.hits.iter().peekable();
        let mut mine: Vec<Hit> = Vec::new();
        let mut items: Vec<Item> = Vec::new();
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
            match record.shape {
                Err(ref error) => {
                    let line = record.line.of(input);
                    write_not_an_object(&mut out.records, line, &error.to_string());
                    out.errors.push((index as u32, error.to_string()));
                }
                Ok((close, empty)) => {
                    items.clear();
                    for hit in &mine {
                        let field = self.obs_field[hit.observable as usize];
                        if !items
                            .iter()
                            .any(|i| i.field == field && i.indicator == hit.indicator)
                        {
                            items.push(Item {
                                field,
                                observable: hit.observable,
                                indicator: hit.indicator,
                            });
                        }
                    }
                    let mut located = [None; MAX_LOCATED];
                    let range = record.located_start as usize..record.located_end as usize;
                    for &(which, value, kind) in &self.located[range] {
                        located[usize::from(which)].get_or_insert((value, kind));
                    }
                    let matched = Matched {
                        input,
                        record: record.line,
                        close,
                        empty,
                        located,
                        items: &items,
                        settings: self.format.settings(),
                        query: &self.query,
                        indicators: &result.indicators,
                        now_millis,
                    };
                    if self.format.splice(&mut out.records, &matched) {
                        out.tagged += 1;
                    } else {
                        out.records.extend_from_slice(record.line.of(input));
                    }
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
        let obs_start = self.query.len() as u32;
        let located_start = self.located.len() as u32;
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        let located = &mut self.located;
        let scanned = PathScan::new(&self.paths, &mut self.scratch, |entry, m: &Member| {
            if let Some(field) = entry.field {
                found.push((field, m.value, m.value_escaped, m.kind));
            }
            if let Some(which) = entry.located {
                located.push((which, m.value, m.kind));
            }
        })
        .record(input, start);
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
                        self.push_value(field, inner.of(input), escaped);
                    }
                    ValueKind::Array => {
                        scan::array_strings(input, value, |s, e| {
                            self.push_value(field, s.of(input), e)
                        });
                    }
                    _ => {}
                }
            }
            (object.close, object.empty)
        });
        if shape.is_err() {
            self.located.truncate(located_start as usize);
        }
        self.found = found;
        self.records.push(Record {
            line: Span { start, end },
            obs_start,
            obs_end: self.query.len() as u32,
            located_start,
            located_end: self.located.len() as u32,
            shape,
        });
        end
    }

    fn push_value(&mut self, field: u16, raw: &[u8], escaped: bool) {
        let kind = self.format.settings().fields[field as usize].kind;
        let value = if escaped {
            self.unescaped.clear();
            if !scan::unescape(raw, &mut self.unescaped) {
                return;
            }
            self.unescaped.as_str()
        } else if scan::ascii(raw) {
            // SAFETY: ASCII bytes are valid UTF-8.
            unsafe { core::str::from_utf8_unchecked(raw) }
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
