//! The indicator file format: Sumo Logic's normalized threat-intel indicator
//! format, one JSON object per line.
//!
//! ```json
//! {"id":"i-1","indicator":"evil.com","type":"domain-name","source":"feed","validFrom":"2024-01-01T00:00:00Z","confidence":80,"actors":["APT0"],"fields":{"tags":["phishing"]}}
//! ```
//!
//! Required keys: `id`, `indicator`, `type`, `source`. Optional: `validFrom`,
//! `validUntil` (RFC 3339), `confidence` (0–100), `threatType`, `actors` and
//! `killChain` (array of strings or comma-separated string), `fields`
//! (object). taxiway keeps its own metadata in `fields.description`,
//! `fields.collection` and `fields.tags`. Any other top-level key is an error,
//! so typos do not silently drop data.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{self, BufRead, Write};

use serde_json::{Map, Value};
use thiserror::Error;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::indicator::{Indicator, IndicatorError};

/// How many rejected lines an [`IngestReport`] quotes.
pub const MAX_EXAMPLES: usize = 20;

const KNOWN_KEYS: [&str; 11] = [
    "id",
    "indicator",
    "type",
    "source",
    "validFrom",
    "validUntil",
    "confidence",
    "threatType",
    "actors",
    "killChain",
    "fields",
];

/// Why one line of an indicator file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LineError {
    /// The line is not valid UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// The line is not valid JSON; holds the parser's message.
    #[error("bad JSON: {0}")]
    Json(String),
    /// Valid JSON, but not an object.
    #[error("not a JSON object")]
    NotObject,
    /// A top-level key the format does not define.
    #[error("unknown key `{0}`")]
    UnknownKey(String),
    /// A required key is absent.
    #[error("missing key `{0}`")]
    MissingKey(&'static str),
    /// A key holds the wrong JSON type.
    #[error("`{key}` must be {expected}")]
    WrongType {
        /// The key, dotted for keys inside `fields`.
        key: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
    /// `confidence` is an integer outside 0–100.
    #[error("`confidence` {0} out of range 0-100")]
    ConfidenceRange(serde_json::Number),
    /// A timestamp is not RFC 3339 or cannot be represented.
    #[error("bad `{key}`: {reason}")]
    BadTime {
        /// `validFrom` or `validUntil`.
        key: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// The indicator itself is invalid (bad type, bad value, bad ordering, …).
    #[error(transparent)]
    Indicator(#[from] IndicatorError),
}

impl LineError {
    /// A short reason without per-line detail, for [`IngestReport::by_reason`].
    pub fn category(&self) -> String {
        match self {
            Self::Json(_) => "bad JSON".to_owned(),
            Self::ConfidenceRange(_) => "`confidence` out of range".to_owned(),
            Self::BadTime { key, .. } => format!("bad `{key}`"),
            Self::Indicator(e) => e.category(),
            other => other.to_string(),
        }
    }
}

/// A rejected line quoted in an [`IngestReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLine {
    /// 1-based line number.
    pub line: usize,
    /// Full reason, including the offending detail.
    pub reason: String,
}

/// What happened to the lines of an indicator file.
///
/// Every non-blank line is counted exactly once:
/// `accepted + duplicates + rejected` is the number of non-blank lines, and
/// `accepted` is the number of indicators returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Distinct indicators kept.
    pub accepted: usize,
    /// Lines rejected.
    pub rejected: usize,
    /// Valid lines that replaced an earlier line with the same id and source.
    pub duplicates: usize,
    /// Rejected lines per reason category.
    pub by_reason: BTreeMap<String, usize>,
    /// The first [`MAX_EXAMPLES`] rejected lines.
    pub examples: Vec<RejectedLine>,
}

impl IngestReport {
    fn reject(&mut self, line: usize, err: &LineError) {
        self.rejected += 1;
        *self.by_reason.entry(err.category()).or_default() += 1;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(RejectedLine {
                line,
                reason: err.to_string(),
            });
        }
    }
}

impl fmt::Display for IngestReport {
    /// One line: `accepted 998, rejected 2: bad ipv4-addr value (1), missing
    /// key `id` (1); line 7: bad ipv4-addr value: not an IP address; line 9: …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "accepted {}, rejected {}", self.accepted, self.rejected)?;
        if self.duplicates > 0 {
            write!(f, ", duplicates replaced {}", self.duplicates)?;
        }
        let mut sep = ": ";
        for (reason, n) in &self.by_reason {
            write!(f, "{sep}{reason} ({n})")?;
            sep = ", ";
        }
        for ex in &self.examples {
            write!(f, "; line {}: {}", ex.line, ex.reason)?;
        }
        Ok(())
    }
}

/// Reads an indicator file.
///
/// Blank lines are skipped. A bad line is not returned but counted and
/// described in the report; only I/O errors abort. When several lines share
/// an id and source, the last one wins and takes the place of the first.
pub fn read_indicators<R: BufRead>(mut r: R) -> io::Result<(Vec<Indicator>, IngestReport)> {
    let mut indicators: Vec<Indicator> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut report = IngestReport::default();
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        // Bytes rather than `lines()`: one line of bad UTF-8 must reject that
        // line, not abort the whole file.
        if r.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        let mut bytes = buf.as_slice();
        if line_no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let parsed = match std::str::from_utf8(bytes) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => parse_line(line),
            Err(_) => Err(LineError::InvalidUtf8),
        };
        match parsed {
            Ok(ind) => {
                let key = (ind.id.clone(), ind.source.clone());
                match index.get(&key) {
                    Some(&at) => {
                        indicators[at] = ind;
                        report.duplicates += 1;
                    }
                    None => {
                        index.insert(key, indicators.len());
                        indicators.push(ind);
                    }
                }
            }
            Err(e) => report.reject(line_no, &e),
        }
    }
    report.accepted = indicators.len();
    Ok((indicators, report))
}

/// Parses one line of the format (surrounding whitespace allowed).
pub fn parse_line(line: &str) -> Result<Indicator, LineError> {
    let value: Value = serde_json::from_str(line).map_err(|e| LineError::Json(e.to_string()))?;
    let Value::Object(mut obj) = value else {
        return Err(LineError::NotObject);
    };
    if let Some(key) = obj.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        return Err(LineError::UnknownKey(key.clone()));
    }
    let id = required_str(&obj, "id")?;
    let raw_value = required_str(&obj, "indicator")?;
    let type_name = required_str(&obj, "type")?;
    let source = required_str(&obj, "source")?;
    let mut ind = Indicator::new(id, source, type_name, raw_value)?;

    ind.valid_from = optional_time(&obj, "validFrom")?;
    ind.valid_until = optional_time(&obj, "validUntil")?;
    ind.confidence = optional_confidence(&obj)?;
    ind.threat_type = optional_str(&obj, "threatType")?;
    ind.actors = string_list(&obj, "actors")?;
    ind.kill_chain = string_list(&obj, "killChain")?;

    match obj.remove("fields") {
        None | Some(Value::Null) => {}
        Some(Value::Object(mut fields)) => {
            ind.description = optional_str(&fields, "description")
                .map_err(|_| wrong_type("fields.description", "a string"))?;
            ind.collection = optional_str(&fields, "collection")
                .map_err(|_| wrong_type("fields.collection", "a string"))?;
            ind.tags = match fields.get("tags") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => string_array(items)
                    .ok_or_else(|| wrong_type("fields.tags", "an array of strings"))?,
                Some(_) => return Err(wrong_type("fields.tags", "an array of strings")),
            };
            for key in crate::indicator::RESERVED_FIELDS {
                fields.remove(key);
            }
            ind.fields = fields;
        }
        Some(_) => return Err(wrong_type("fields", "an object")),
    }
    ind.check()?;
    Ok(ind)
}

fn wrong_type(key: &'static str, expected: &'static str) -> LineError {
    LineError::WrongType { key, expected }
}

fn required_str<'a>(obj: &'a Map<String, Value>, key: &'static str) -> Result<&'a str, LineError> {
    match obj.get(key) {
        None => Err(LineError::MissingKey(key)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(wrong_type(key, "a string")),
    }
}

fn optional_str(obj: &Map<String, Value>, key: &'static str) -> Result<Option<String>, LineError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong_type(key, "a string")),
    }
}

fn optional_time(
    obj: &Map<String, Value>,
    key: &'static str,
) -> Result<Option<OffsetDateTime>, LineError> {
    let Some(text) = optional_str(obj, key)? else {
        return Ok(None);
    };
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|e| LineError::BadTime {
        key,
        reason: e.to_string(),
    })?;
    Ok(Some(t.to_offset(UtcOffset::UTC)))
}

fn optional_confidence(obj: &Map<String, Value>) -> Result<Option<u8>, LineError> {
    const EXPECTED: &str = "an integer 0-100";
    match obj.get("confidence") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(c) => u8::try_from(c)
                .ok()
                .filter(|&c| c <= 100)
                .map(Some)
                .ok_or_else(|| LineError::ConfidenceRange(n.clone())),
            None if n.is_i64() => Err(LineError::ConfidenceRange(n.clone())),
            None => Err(wrong_type("confidence", EXPECTED)),
        },
        Some(_) => Err(wrong_type("confidence", EXPECTED)),
    }
}

fn string_array(items: &[Value]) -> Option<Vec<String>> {
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// An array of strings, or a comma-separated string as some feeds write it.
fn string_list(obj: &Map<String, Value>, key: &'static str) -> Result<Vec<String>, LineError> {
    const EXPECTED: &str = "an array of strings or a comma-separated string";
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(Value::Array(items)) => string_array(items).ok_or_else(|| wrong_type(key, EXPECTED)),
        Some(_) => Err(wrong_type(key, EXPECTED)),
    }
}

/// Writes one indicator as one line of the format.
///
/// Times are written in UTC; `actors` and `killChain` as arrays; empty
/// optional parts are left out. The indicator is [checked](Indicator::check)
/// first, so whatever is written reads back equal; a failing check is an
/// [`io::ErrorKind::InvalidInput`] error and nothing is written.
pub fn write_indicator<W: Write>(mut w: W, ind: &Indicator) -> io::Result<()> {
    ind.check().map_err(invalid_input)?;
    // Assembled in memory so that a failure leaves no half-written line.
    let mut line = Vec::with_capacity(256);
    let mut obj = ObjectWriter::new(&mut line);
    obj.entry("id", &ind.id)?;
    obj.entry("indicator", &ind.value)?;
    obj.entry("type", ind.kind.stix_type())?;
    obj.entry("source", &ind.source)?;
    for (key, t) in [
        ("validFrom", ind.valid_from),
        ("validUntil", ind.valid_until),
    ] {
        if let Some(t) = t {
            let text = t
                .to_offset(UtcOffset::UTC)
                .format(&Rfc3339)
                .map_err(invalid_input)?;
            obj.entry(key, &text)?;
        }
    }
    if let Some(c) = ind.confidence {
        obj.entry("confidence", &c)?;
    }
    if let Some(t) = &ind.threat_type {
        obj.entry("threatType", t)?;
    }
    if !ind.actors.is_empty() {
        obj.entry("actors", &ind.actors)?;
    }
    if !ind.kill_chain.is_empty() {
        obj.entry("killChain", &ind.kill_chain)?;
    }
    let mut fields = ind.fields.clone();
    if let Some(d) = &ind.description {
        fields.insert("description".into(), Value::String(d.clone()));
    }
    if let Some(c) = &ind.collection {
        fields.insert("collection".into(), Value::String(c.clone()));
    }
    if !ind.tags.is_empty() {
        fields.insert("tags".into(), ind.tags.clone().into());
    }
    if !fields.is_empty() {
        obj.entry("fields", &fields)?;
    }
    obj.finish();
    line.push(b'\n');
    w.write_all(&line)
}

/// Writes many indicators, one line each.
pub fn write_indicators<'a, W: Write>(
    mut w: W,
    indicators: impl IntoIterator<Item = &'a Indicator>,
) -> io::Result<()> {
    for ind in indicators {
        write_indicator(&mut w, ind)?;
    }
    Ok(())
}

fn invalid_input(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

/// Writes a JSON object key by key, so the keys come out in the documented
/// order rather than serde_json's alphabetical one.
struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn entry<T: serde::Serialize + ?Sized>(&mut self, key: &str, value: &T) -> io::Result<()> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        serde_json::to_writer(&mut *self.out, key)?;
        self.out.push(b':');
        serde_json::to_writer(&mut *self.out, value)?;
        Ok(())
    }

    fn finish(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::IndicatorKind;
    use crate::normalize::Invalid;
    use serde_json::json;
    use time::macros::datetime;

    fn read(text: &str) -> (Vec<Indicator>, IngestReport) {
        read_indicators(text.as_bytes()).expect("reading from memory cannot fail")
    }

    fn parse(v: Value) -> Result<Indicator, LineError> {
        parse_line(&v.to_string())
    }

    fn base() -> Value {
        json!({"id": "i1", "indicator": "evil.com", "type": "domain-name", "source": "feed"})
    }

    fn with(key: &str, v: Value) -> Value {
        let mut b = base();
        b[key] = v;
        b
    }

    fn without(key: &str) -> Value {
        let mut b = base();
        b.as_object_mut().expect("object").remove(key);
        b
    }

    fn write_one(ind: &Indicator) -> String {
        let mut out = Vec::new();
        write_indicator(&mut out, ind).expect("writes");
        String::from_utf8(out).expect("utf-8")
    }

    fn full_indicator() -> Indicator {
        let mut i =
            Indicator::new("indicator--1", "feed-a", "ipv4-addr", "10.1.2.3/8").expect("valid");
        i.collection = Some("col-1".into());
        i.confidence = Some(85);
        i.threat_type = Some("malicious-activity".into());
        i.description = Some("C2 range, \"quoted\"\nand multi-line".into());
        i.valid_from = Some(datetime!(2024-01-02 03:04:05.123456789 UTC));
        i.valid_until = Some(datetime!(2024-02-01 0:00 +2));
        i.tags = vec!["c2".into(), "botnet".into()];
        i.actors = vec!["APT0".into(), "Group, with comma".into()];
        i.kill_chain = vec!["command-and-control".into()];
        i.fields
            .insert("custom".into(), json!({"n": 1, "list": [true, null]}));
        i.fields.insert("score".into(), json!(7.5));
        i
    }

    #[test]
    fn minimal_line() {
        let i = parse(base()).expect("valid");
        assert_eq!(
            i,
            Indicator::new("i1", "feed", "domain", "evil.com").expect("valid")
        );
    }

    #[test]
    fn full_line() {
        let line = r#"{"id":"x","indicator":"HTTP://Evil.com:80/a#f","type":"URL","source":"s",
            "validFrom":"2024-01-01T02:00:00+02:00","validUntil":"2024-12-31T23:59:59.5Z",
            "confidence":0,"threatType":"phishing","actors":"APT1, APT2 ,,",
            "killChain":["delivery","exploitation"],
            "fields":{"description":"d","collection":"c","tags":["a","b"],"extra":{"k":[1]}}}"#
            .replace('\n', "");
        let i = parse_line(&line).expect("valid");
        assert_eq!(i.kind, IndicatorKind::Url);
        assert_eq!(i.value, "http://evil.com/a");
        assert_eq!(i.valid_from, Some(datetime!(2024-01-01 0:00 UTC)));
        assert_eq!(i.valid_from.map(|t| t.offset()), Some(UtcOffset::UTC));
        assert_eq!(i.valid_until, Some(datetime!(2024-12-31 23:59:59.5 UTC)));
        assert_eq!(i.confidence, Some(0));
        assert_eq!(i.threat_type.as_deref(), Some("phishing"));
        assert_eq!(i.actors, ["APT1", "APT2"]);
        assert_eq!(i.kill_chain, ["delivery", "exploitation"]);
        assert_eq!(i.description.as_deref(), Some("d"));
        assert_eq!(i.collection.as_deref(), Some("c"));
        assert_eq!(i.tags, ["a", "b"]);
        assert_eq!(Value::Object(i.fields), json!({"extra": {"k": [1]}}));
    }

    #[test]
    fn nulls_count_as_absent() {
        let mut v = base();
        for key in [
            "validFrom",
            "validUntil",
            "confidence",
            "threatType",
            "actors",
            "killChain",
        ] {
            v[key] = Value::Null;
        }
        v["fields"] = json!({"description": null, "collection": null, "tags": null});
        assert_eq!(parse(v), parse(base()));
        assert_eq!(parse(with("fields", Value::Null)), parse(base()));
    }

    #[test]
    fn line_errors() {
        let cases: Vec<(Result<Indicator, LineError>, LineError)> = vec![
            (parse_line("{"), LineError::Json(String::new())),
            (parse_line("[1]"), LineError::NotObject),
            (parse_line("\"x\""), LineError::NotObject),
            (
                parse(with("Id", json!("x"))),
                LineError::UnknownKey("Id".into()),
            ),
            (parse(without("id")), LineError::MissingKey("id")),
            (
                parse(without("indicator")),
                LineError::MissingKey("indicator"),
            ),
            (parse(without("type")), LineError::MissingKey("type")),
            (parse(without("source")), LineError::MissingKey("source")),
            (parse(with("id", json!(5))), wrong_type("id", "a string")),
            (
                parse(with("indicator", Value::Null)),
                wrong_type("indicator", "a string"),
            ),
            (parse(with("id", json!(""))), IndicatorError::EmptyId.into()),
            (
                parse(with("source", json!(" "))),
                IndicatorError::EmptySource.into(),
            ),
            (
                parse(with("type", json!("x-custom"))),
                IndicatorError::UnknownType("x-custom".into()).into(),
            ),
            (
                parse(with("indicator", json!("a..b"))),
                IndicatorError::BadValue {
                    declared: IndicatorKind::Domain,
                    reason: Invalid::BadDomain(crate::normalize::DomainProblem::EmptyLabel),
                }
                .into(),
            ),
            (
                parse(with("confidence", json!(101))),
                LineError::ConfidenceRange(101.into()),
            ),
            (
                parse(with("confidence", json!(-1))),
                LineError::ConfidenceRange((-1).into()),
            ),
            (
                parse(with("confidence", json!(1000))),
                LineError::ConfidenceRange(1000.into()),
            ),
            (
                parse(with("confidence", json!(50.5))),
                wrong_type("confidence", "an integer 0-100"),
            ),
            (
                parse(with("confidence", json!("80"))),
                wrong_type("confidence", "an integer 0-100"),
            ),
            (
                parse(with("validFrom", json!("2024-01-01"))),
                LineError::BadTime {
                    key: "validFrom",
                    reason: String::new(),
                },
            ),
            (
                parse(with("validUntil", json!("2024-01-01T00:00:00"))),
                LineError::BadTime {
                    key: "validUntil",
                    reason: String::new(),
                },
            ),
            (
                parse(with("validFrom", json!(1700000000))),
                wrong_type("validFrom", "a string"),
            ),
            (
                parse(with("threatType", json!(["x"]))),
                wrong_type("threatType", "a string"),
            ),
            (
                parse(with("actors", json!(["a", 1]))),
                wrong_type("actors", "an array of strings or a comma-separated string"),
            ),
            (
                parse(with("killChain", json!({"a": 1}))),
                wrong_type(
                    "killChain",
                    "an array of strings or a comma-separated string",
                ),
            ),
            (
                parse(with("fields", json!([]))),
                wrong_type("fields", "an object"),
            ),
            (
                parse(with("fields", json!({"tags": "a,b"}))),
                wrong_type("fields.tags", "an array of strings"),
            ),
            (
                parse(with("fields", json!({"description": 1}))),
                wrong_type("fields.description", "a string"),
            ),
            (
                parse(with("fields", json!({"collection": false}))),
                wrong_type("fields.collection", "a string"),
            ),
        ];
        for (got, want) in cases {
            let got = got.expect_err("must be rejected");
            // Parser messages are not ours to pin down; compare the rest.
            match (&got, &want) {
                (LineError::Json(_), LineError::Json(_)) => {}
                (LineError::BadTime { key: a, .. }, LineError::BadTime { key: b, .. }) => {
                    assert_eq!(a, b)
                }
                _ => assert_eq!(got, want),
            }
        }
    }

    #[test]
    fn time_order_is_checked() {
        let mut v = with("validFrom", json!("2024-02-01T00:00:00Z"));
        v["validUntil"] = json!("2024-01-01T00:00:00Z");
        assert_eq!(parse(v.clone()), Err(IndicatorError::TimeOrder.into()));
        v["validUntil"] = json!("2024-02-01T01:00:00+01:00");
        assert!(parse(v).is_ok(), "equal instants are in order");
    }

    #[test]
    fn error_messages_and_categories() {
        let e = parse(with("type", json!("ipv4-addr"))).expect_err("bad");
        assert_eq!(e.to_string(), "bad ipv4-addr value: not an IP address");
        assert_eq!(e.category(), "bad ipv4-addr value");
        let e = LineError::UnknownKey("foo".into());
        assert_eq!(e.to_string(), "unknown key `foo`");
        assert_eq!(e.category(), "unknown key `foo`");
        let e = LineError::ConfidenceRange(150.into());
        assert_eq!(e.to_string(), "`confidence` 150 out of range 0-100");
        assert_eq!(e.category(), "`confidence` out of range");
        let e = parse_line("{").expect_err("bad");
        assert_eq!(e.category(), "bad JSON");
        assert!(e.to_string().starts_with("bad JSON: "));
        let e = parse(with("validFrom", json!("yesterday"))).expect_err("bad");
        assert_eq!(e.category(), "bad `validFrom`");
        assert!(e.to_string().starts_with("bad `validFrom`: "));
        assert_eq!(
            wrong_type("fields.tags", "an array of strings").to_string(),
            "`fields.tags` must be an array of strings"
        );
    }

    #[test]
    fn reads_a_mixed_file() {
        let lines = [
            // 1: good
            r#"{"id":"a","indicator":"10.0.0.1","type":"ipv4-addr","source":"f"}"#,
            // 2: blank
            "",
            // 3: bad JSON
            r#"{"id":"b","indicator":"#,
            // 4: good, CRLF line ending
            "{\"id\":\"b\",\"indicator\":\"EVIL.com\",\"type\":\"domain-name\",\"source\":\"f\"}\r",
            // 5: missing id
            r#"{"indicator":"x.com","type":"domain-name","source":"f"}"#,
            // 6: bad ipv4 value
            r#"{"id":"c","indicator":"10.0.0.256","type":"ipv4-addr","source":"f"}"#,
            // 7: whitespace-only
            "   \t",
            // 8: duplicate of line 1, replaces it
            r#"{"id":"a","indicator":"10.0.0.2","type":"ipv4-addr","source":"f","confidence":90}"#,
            // 9: same id, other source: not a duplicate
            r#"{"id":"a","indicator":"10.0.0.3","type":"ipv4-addr","source":"g"}"#,
            // 10: unknown key
            r#"{"id":"d","indicator":"x.com","type":"domain-name","source":"f","severity":3}"#,
            // 11: confidence out of range
            r#"{"id":"e","indicator":"x.com","type":"domain-name","source":"f","confidence":101}"#,
            // 12: bad time
            r#"{"id":"f","indicator":"x.com","type":"domain-name","source":"f","validFrom":"soon"}"#,
            // 13: unknown type
            r#"{"id":"g","indicator":"x","type":"mutex","source":"f"}"#,
            // 14: another bad ipv4 value (family mismatch)
            r#"{"id":"h","indicator":"::1","type":"ipv4-addr","source":"f"}"#,
            // 15: not an object
            "[]",
            // 16: good hash
            r#"{"id":"i","indicator":"D41D8CD98F00B204E9800998ECF8427E","type":"file:hashes.'MD5'","source":"f"}"#,
            // 17: duplicate of line 4
            r#"{"id":"b","indicator":"evil.org","type":"domain-name","source":"f"}"#,
        ];
        let mut text = lines.join("\n");
        // 18: invalid UTF-8; 19: trailing line without newline
        text.push('\n');
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"{\"id\":\"\xff\"}\n");
        bytes.extend_from_slice(
            br#"{"id":"j","indicator":"a@B.com","type":"email-addr","source":"f"}"#,
        );
        let (inds, report) = read_indicators(bytes.as_slice()).expect("in memory");

        let got: Vec<_> = inds
            .iter()
            .map(|i| (i.id.as_str(), i.source.as_str(), i.kind, i.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "f", IndicatorKind::Ipv4, "10.0.0.2"),
                ("b", "f", IndicatorKind::Domain, "evil.org"),
                ("a", "g", IndicatorKind::Ipv4, "10.0.0.3"),
                (
                    "i",
                    "f",
                    IndicatorKind::Md5,
                    "d41d8cd98f00b204e9800998ecf8427e"
                ),
                ("j", "f", IndicatorKind::Email, "a@b.com"),
            ]
        );
        assert_eq!(inds[0].confidence, Some(90));
        assert_eq!(report.accepted, 5);
        assert_eq!(report.duplicates, 2);
        assert_eq!(report.rejected, 10);
        // 19 lines, 2 blank.
        assert_eq!(report.accepted + report.duplicates + report.rejected, 17);
        let by_reason: Vec<_> = report
            .by_reason
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            by_reason,
            [
                ("`confidence` out of range", 1),
                ("bad JSON", 1),
                ("bad `validFrom`", 1),
                ("bad ipv4-addr value", 2),
                ("invalid UTF-8", 1),
                ("missing key `id`", 1),
                ("not a JSON object", 1),
                ("unknown key `severity`", 1),
                ("unknown type `mutex`", 1),
            ]
        );
        let lines_rejected: Vec<_> = report.examples.iter().map(|e| e.line).collect();
        assert_eq!(lines_rejected, [3, 5, 6, 10, 11, 12, 13, 14, 15, 18]);
        assert_eq!(
            report.examples[2].reason,
            "bad ipv4-addr value: not an IP address"
        );
        assert_eq!(
            report.examples[7].reason,
            "bad ipv4-addr value: IPv6 value where IPv4 was expected"
        );
        assert_eq!(report.examples[3].reason, "unknown key `severity`");
    }

    #[test]
    fn bom_and_empty_input() {
        let (inds, report) = read("");
        assert!(inds.is_empty());
        assert_eq!(report, IngestReport::default());
        let text = format!("\u{feff}{}\n\n", base());
        let (inds, report) = read(&text);
        assert_eq!(inds.len(), 1);
        assert_eq!(report.rejected, 0);
    }

    #[test]
    fn examples_are_capped() {
        let text = "x\n".repeat(25);
        let (inds, report) = read(&text);
        assert!(inds.is_empty());
        assert_eq!(report.rejected, 25);
        assert_eq!(report.by_reason.get("bad JSON"), Some(&25));
        assert_eq!(report.examples.len(), MAX_EXAMPLES);
        assert_eq!(report.examples.last().map(|e| e.line), Some(20));
    }

    #[test]
    fn report_display() {
        let text = [
            base().to_string(),
            with("type", json!("ipv4-addr")).to_string(),
            without("id").to_string(),
            base().to_string(),
        ]
        .join("\n");
        let (_, report) = read(&text);
        assert_eq!(
            report.to_string(),
            "accepted 1, rejected 2, duplicates replaced 1: bad ipv4-addr value (1), \
             missing key `id` (1); line 2: bad ipv4-addr value: not an IP address; \
             line 3: missing key `id`"
        );
        let (_, report) = read(&base().to_string());
        assert_eq!(report.to_string(), "accepted 1, rejected 0");
    }

    #[test]
    fn writes_documented_key_order() {
        let line = write_one(&full_indicator());
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
        let keys: Vec<String> = match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(_)) => {
                // Key order is only visible in the text.
                KNOWN_KEYS
                    .iter()
                    .filter_map(|k| line.find(&format!("\"{k}\":")).map(|at| (at, *k)))
                    .collect::<BTreeMap<_, _>>()
                    .into_values()
                    .map(str::to_owned)
                    .collect()
            }
            other => panic!("not an object: {other:?}"),
        };
        assert_eq!(keys, KNOWN_KEYS);
        assert!(line.starts_with(
            r#"{"id":"indicator--1","indicator":"10.0.0.0/8","type":"ipv4-addr","source":"feed-a","validFrom":"2024-01-02T03:04:05.123456789Z","validUntil":"2024-01-31T22:00:00Z","confidence":85,"#
        ));
        let v: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["actors"], json!(["APT0", "Group, with comma"]));
        assert_eq!(v["fields"]["tags"], json!(["c2", "botnet"]));
        assert_eq!(v["fields"]["collection"], json!("col-1"));
    }

    #[test]
    fn minimal_write() {
        let i = Indicator::new("i1", "feed", "sha256", &"A".repeat(64)).expect("valid");
        assert_eq!(
            write_one(&i),
            format!(
                "{{\"id\":\"i1\",\"indicator\":\"{}\",\"type\":\"file:hashes.SHA-256\",\"source\":\"feed\"}}\n",
                "a".repeat(64)
            )
        );
    }

    #[test]
    fn round_trip() {
        let mut all = vec![full_indicator()];
        let samples = [
            ("ipv4-addr", "1.2.3.4"),
            ("ipv6-addr", "2001:db8::1"),
            ("ipv6-addr", "2001:db8::/32"),
            ("domain-name", "bücher.de"),
            ("url", "https://x.com/a?b=c%20d"),
            ("file:hashes.MD5", "d41d8cd98f00b204e9800998ecf8427e"),
            (
                "file:hashes.SHA-1",
                "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            ),
            ("file:hashes.SHA-256", &"e".repeat(64)),
            ("file:hashes.SHA-512", &"5".repeat(128)),
            ("email-addr", "x@y.org"),
            ("file:name", "naïve \"file\".exe"),
        ];
        for (n, (ty, raw)) in samples.into_iter().enumerate() {
            let mut i = Indicator::new(format!("id-{n}"), "feed", ty, raw).expect(raw);
            if n % 2 == 0 {
                i.tags = vec![String::new(), " spaced ".into()];
                i.actors = vec!["a,b".into()];
                i.valid_until = Some(datetime!(2030-01-01 0:00 UTC));
            }
            all.push(i);
        }
        let kinds: std::collections::BTreeSet<_> = all.iter().map(|i| i.kind).collect();
        assert_eq!(kinds.len(), IndicatorKind::ALL.len(), "every kind covered");

        let mut out = Vec::new();
        write_indicators(&mut out, &all).expect("writes");
        let (back, report) = read_indicators(out.as_slice()).expect("reads");
        assert_eq!(report.rejected, 0, "{report}");
        assert_eq!(report.accepted, all.len());
        assert_eq!(back, all);

        // Writing what was read gives the same bytes.
        let mut again = Vec::new();
        write_indicators(&mut again, &back).expect("writes");
        assert_eq!(again, out);
    }

    #[test]
    fn write_refuses_inconsistent_indicators() {
        let mut i = full_indicator();
        i.confidence = Some(101);
        let mut out = Vec::new();
        let err = write_indicator(&mut out, &i).expect_err("invalid");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(out.is_empty(), "nothing written");

        let mut i = full_indicator();
        i.fields.insert("description".into(), json!("clash"));
        assert!(write_indicator(&mut out, &i).is_err());

        let mut i = full_indicator();
        i.value = "10.1.2.3/8".into();
        assert!(write_indicator(&mut out, &i).is_err());

        // RFC 3339 has no room for negative years.
        let mut i = full_indicator();
        i.valid_from = None;
        i.valid_until = Some(time::Date::MIN.midnight().assume_utc());
        let err = write_indicator(&mut out, &i).expect_err("unrepresentable");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(out.is_empty());
    }
}
