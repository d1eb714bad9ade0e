//! The CSE-style policy: which fields a Cloud SIEM record carries its
//! observables in, and how a match is written (`listMatches`,
//! `matchedItems`). Scanning, lookups and the batch loop are the shared
//! engine's (`taxiway-enricher-core`).

use taxiway_enricher_core::edit::{self, Edits, ObjectWriter};
use taxiway_enricher_core::engine::{self, Format, Matched};
pub use taxiway_enricher_core::engine::{BatchOutput, ERROR_FIELD, RAW_FIELD, write_not_an_object};
pub use taxiway_enricher_core::lookup::{
    Hit, Indicator, IndicatorKind, Lookup, LookupOptions, LookupResult, ObservableKind, Query,
};
use taxiway_enricher_core::scan::{self, ValueKind};

use crate::settings::{self, Settings};

/// The CSE module's engine.
pub type Enricher = engine::Enricher<Cse>;

/// The CSE output format.
#[derive(Clone, Debug)]
pub struct Cse {
    settings: Settings,
}

impl Cse {
    pub fn new(settings: Settings) -> Self {
        Cse { settings }
    }
}

impl Default for Cse {
    fn default() -> Self {
        Cse::new(settings::defaults())
    }
}

const LIST_MATCHES: usize = 0;
const MATCHED_ITEMS: usize = 1;

impl Format for Cse {
    const NAME: &'static str = "cse";
    const OUTPUT_FORMAT: &'static str = "cse";
    const LOCATED: &'static [&'static str] = &["listMatches", "matchedItems"];

    fn configure(text: &str) -> Result<Self, String> {
        settings::parse(text).map(Cse::new)
    }

    fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `listMatches` gets `threat`, `column:<field>` and each source, without
    /// duplicates (also of what it held); `matchedItems` one item per
    /// (field, indicator).
    fn splice(&self, out: &mut Vec<u8>, m: &Matched<'_>) -> bool {
        let line = m.line();
        let mut existing: Vec<&[u8]> = Vec::new();
        if let Some((span, ValueKind::Array)) = m.located[LIST_MATCHES] {
            scan::array_strings(line, span, |s, _| existing.push(s.of(line)));
        }
        let mut names: Vec<String> = Vec::new();
        let mut add = |name: String| {
            let mut quoted = Vec::new();
            scan::write_json_string(&mut quoted, &name);
            let inner = &quoted[1..quoted.len() - 1];
            if !existing.contains(&inner) && !names.contains(&name) {
                names.push(name);
            }
        };
        add("threat".to_string());
        for item in m.items {
            add(format!("column:{}", m.field(item).name));
            add(m.indicator(item).source.clone());
        }

        let mut list_bytes = Vec::new();
        edit::write_strings(&mut list_bytes, names.iter().map(String::as_str));
        let mut item_bytes = Vec::new();
        for (i, item) in m.items.iter().enumerate() {
            if i > 0 {
                item_bytes.push(b',');
            }
            write_item(&mut item_bytes, m, item);
        }

        let mut edits = Edits::default();
        let mut comma = !m.empty;
        for (which, key, new) in [
            (LIST_MATCHES, "listMatches", list_bytes),
            (MATCHED_ITEMS, "matchedItems", item_bytes),
        ] {
            if new.is_empty() {
                continue;
            }
            match m.located[which] {
                Some((span, kind)) => edits.extend_array(line, span, kind, &new),
                None => {
                    let mut array = Vec::with_capacity(new.len() + 2);
                    array.push(b'[');
                    array.extend_from_slice(&new);
                    array.push(b']');
                    edits.add_member(m.close, comma, key, &array);
                    comma = true;
                }
            }
        }
        edits.write(out, line, m.record);
        true
    }
}

fn write_item(out: &mut Vec<u8>, m: &Matched<'_>, item: &engine::Item) {
    let indicator = m.indicator(item);
    let mut w = ObjectWriter::new(out);
    w.string("value", m.value(item));
    w.string("field", &m.field(item).name);
    w.string("indicatorId", &indicator.id);
    w.string("indicator", &indicator.value);
    w.string("type", &indicator.stix_type);
    w.string("source", &indicator.source);
    if let Some(confidence) = indicator.confidence {
        w.number("confidence", u64::from(confidence));
    }
    w.opt_string("validUntil", indicator.valid_until.as_deref());
    w.opt_string("description", indicator.description.as_deref());
    w.opt_string("threatType", indicator.threat_type.as_deref());
    w.end();
}

#[cfg(test)]
mod tests {
    use super::*;
    use taxiway_enricher_core::lookup::TableLookup;

    fn indicator(id: &str, value: &str, source: &str) -> Indicator {
        Indicator {
            id: id.into(),
            value: value.into(),
            stix_type: "ipv4-addr".into(),
            source: source.into(),
            confidence: Some(80),
            threat_type: Some("malicious-activity".into()),
            description: Some("a \"bad\" host".into()),
            ..Indicator::default()
        }
    }

    fn table() -> TableLookup {
        TableLookup::default()
            .with("192.0.2.1", indicator("i1", "192.0.2.1", "FeedA"))
            .with("198.51.100.7", indicator("i2", "198.51.100.7", "FeedA"))
            .with("198.51.100.7", indicator("i3", "198.51.100.7", "FeedB"))
    }

    fn run(input: &str) -> (String, BatchOutput) {
        let mut e = Enricher::new(Cse::default());
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
