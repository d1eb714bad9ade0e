//! The ECS policy: for every indicator a record's ECS fields match, one
//! object appended to `threat.enrichments` (ECS `threat` field set, "Threat
//! fields usage and examples: Enrichments"). Scanning, lookups and the batch
//! loop are the shared engine's (`taxiway-enricher-core`).
//!
//! Each enrichment holds:
//! - `indicator.*`: `type` in the ECS (STIX 2.0 cyber-observable) vocabulary,
//!   the listed value in its ECS field (`ip`, `url.domain`, `url.full`,
//!   `file.hash.<alg>`, `file.name`, `email.address`), `name` (the listed
//!   value for display), `provider` (the feed), `confidence` (ECS's
//!   None/Low/Medium/High, see [`confidence`]), `description`, and
//!   `marking.tlp` from a `tlp:<colour>` tag;
//! - `matched.*`: `atomic` (the record's value), `field` (the ECS path it
//!   stood in), `id` (the indicator's id), `index` (the TAXII collection, or
//!   the feed where there is none), `type` (see
//!   [`DEFAULT_MATCHED_TYPE`](crate::settings::DEFAULT_MATCHED_TYPE)) and
//!   `occurred` (when it matched).
//!
//! ECS has no field for an indicator's expiry, threat type, actors or other
//! tags, so they are not written.

use taxiway_enricher_core::edit::{Edits, ObjectWriter};
use taxiway_enricher_core::engine::{self, Format, Item, Matched};
pub use taxiway_enricher_core::engine::{BatchOutput, ERROR_FIELD, RAW_FIELD};
use taxiway_enricher_core::lookup::IndicatorKind;
pub use taxiway_enricher_core::lookup::{
    Hit, Indicator, Lookup, LookupOptions, LookupResult, ObservableKind, Query,
};
use taxiway_enricher_core::paths::{PathScan, Paths, Scratch};
use taxiway_enricher_core::scan::{self, Member, Span, ValueKind};
use taxiway_enricher_core::settings::Settings;
use taxiway_enricher_core::time::rfc3339_millis;

use crate::settings::{self, EcsSettings};

/// The ECS module's engine.
pub type Enricher = engine::Enricher<Ecs>;

const THREAT: usize = 0;
const ENRICHMENTS: usize = 1;

/// The ECS output format.
#[derive(Clone, Debug)]
pub struct Ecs {
    settings: EcsSettings,
    /// Per field: a `related.*` field, which repeats values other fields
    /// hold; it reports an indicator only when no other field did.
    fallback: Vec<bool>,
    /// What identifies an enrichment already in a record.
    recorded: Paths,
}

impl Ecs {
    pub fn new(settings: EcsSettings) -> Self {
        let fallback = settings
            .shared
            .fields
            .iter()
            .map(|f| f.name.starts_with("related."))
            .collect();
        Ecs {
            settings,
            fallback,
            recorded: Paths::new(["matched.id", "matched.field", "indicator.provider"], []),
        }
    }

    pub fn ecs_settings(&self) -> &EcsSettings {
        &self.settings
    }

    /// (id, field, provider) of every enrichment in the array `span`.
    fn recorded(&self, line: &[u8], span: Span) -> Vec<[String; 3]> {
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        scan::array_items(line, span, |item, kind, _| {
            if kind != ValueKind::Object {
                return;
            }
            let mut found: [String; 3] = Default::default();
            let scanned = PathScan::new(&self.recorded, &mut scratch, |entry, m: &Member| {
                if let (Some(i), ValueKind::String) = (entry.field, m.kind) {
                    let inner = &line[m.value.start + 1..m.value.end - 1];
                    let slot = &mut found[usize::from(i)];
                    slot.clear();
                    if m.value_escaped {
                        scan::unescape(inner, slot);
                    } else {
                        slot.push_str(&String::from_utf8_lossy(inner));
                    }
                }
            })
            .object(line, item.start);
            if scanned.is_ok() {
                out.push(found);
            }
        });
        out
    }

    fn write_enrichment(&self, out: &mut Vec<u8>, m: &Matched<'_>, item: &Item, now: Option<&str>) {
        let indicator = m.indicator(item);
        let mut w = ObjectWriter::new(out);
        w.object("indicator", |w| {
            let value = indicator.value.as_str();
            w.string("type", ecs_type(indicator.kind));
            match indicator.kind {
                IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => w.string("ip", value),
                // `indicator.ip` is of ECS type `ip`, which takes no network:
                // Elasticsearch would reject the document. `name` has it.
                IndicatorKind::Ipv4Cidr | IndicatorKind::Ipv6Cidr => {}
                IndicatorKind::Domain => w.object("url", |w| w.string("domain", value)),
                IndicatorKind::Url => w.object("url", |w| w.string("full", value)),
                IndicatorKind::Md5
                | IndicatorKind::Sha1
                | IndicatorKind::Sha256
                | IndicatorKind::Sha512 => w.object("file", |w| {
                    w.object("hash", |w| w.string(hash_name(indicator.kind), value))
                }),
                IndicatorKind::FileName => w.object("file", |w| w.string("name", value)),
                IndicatorKind::Email => w.object("email", |w| w.string("address", value)),
            }
            w.string("name", value);
            w.string("provider", &indicator.source);
            w.opt_string("confidence", indicator.confidence.map(confidence));
            w.opt_string("description", indicator.description.as_deref());
            if let Some(tlp) = tlp(&indicator.tags) {
                w.object("marking", |w| w.string("tlp", tlp));
            }
        });
        w.object("matched", |w| {
            w.string("atomic", m.value(item));
            w.string("field", &m.field(item).name);
            w.string("id", &indicator.id);
            w.string(
                "index",
                indicator.collection.as_deref().unwrap_or(&indicator.source),
            );
            w.string("type", &self.settings.matched_type);
            w.opt_string("occurred", now);
        });
        w.end();
    }
}

impl Default for Ecs {
    fn default() -> Self {
        Ecs::new(EcsSettings::default())
    }
}

impl Format for Ecs {
    const NAME: &'static str = "ecs";
    const OUTPUT_FORMAT: &'static str = "ecs";
    const LOCATED: &'static [&'static str] = &["threat", "threat.enrichments"];

    fn configure(text: &str) -> Result<Self, String> {
        settings::parse(text).map(Ecs::new)
    }

    fn settings(&self) -> &Settings {
        &self.settings.shared
    }

    /// Appends to `threat.enrichments` wherever the record has it (nested or
    /// flattened); else adds `enrichments` to its `threat` object; else adds
    /// `"threat":{"enrichments":[..]}`. A `threat` that is neither an object
    /// nor null is kept and the flattened `threat.enrichments` added beside it.
    fn splice(&self, out: &mut Vec<u8>, m: &Matched<'_>) -> bool {
        let line = m.line();
        let mut items: Vec<&Item> =
            m.items
                .iter()
                .filter(|i| {
                    !self.fallback[usize::from(i.field)]
                        || !m.items.iter().any(|j| {
                            j.indicator == i.indicator && !self.fallback[usize::from(j.field)]
                        })
                })
                .collect();
        if let Some((span, ValueKind::Array)) = m.located[ENRICHMENTS] {
            let recorded = self.recorded(line, span);
            items.retain(|i| {
                let indicator = m.indicator(i);
                !recorded.iter().any(|[id, field, provider]| {
                    *id == indicator.id
                        && *field == m.field(i).name
                        && *provider == indicator.source
                })
            });
        }
        if items.is_empty() {
            return false;
        }

        let now = m
            .now_millis
            .filter(|_| self.settings.occurred)
            .map(rfc3339_millis);
        let mut new = Vec::with_capacity(512 * items.len());
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                new.push(b',');
            }
            self.write_enrichment(&mut new, m, item, now.as_deref());
        }
        let array = |prefix: &[u8], suffix: &[u8]| {
            let mut bytes = Vec::with_capacity(prefix.len() + new.len() + suffix.len() + 2);
            bytes.extend_from_slice(prefix);
            bytes.push(b'[');
            bytes.extend_from_slice(&new);
            bytes.push(b']');
            bytes.extend_from_slice(suffix);
            bytes
        };

        let mut edits = Edits::default();
        match (m.located[ENRICHMENTS], m.located[THREAT]) {
            (Some((span, kind)), _) => edits.extend_array(line, span, kind, &new),
            (None, Some((span, ValueKind::Object))) => edits.add_member(
                span.end - 1,
                scan::has_items(line, span),
                "enrichments",
                &array(b"", b""),
            ),
            (None, Some((span, _))) if span.of(line) == b"null" => {
                edits.replace(span, array(b"{\"enrichments\":", b"}"))
            }
            (None, Some(_)) => {
                edits.add_member(m.close, true, "threat.enrichments", &array(b"", b""))
            }
            (None, None) => edits.add_member(
                m.close,
                !m.empty,
                "threat",
                &array(b"{\"enrichments\":", b"}"),
            ),
        }
        edits.write(out, line, m.record);
        true
    }
}

/// `threat.enrichments.indicator.type`: the STIX 2.0 cyber-observable names
/// ECS lists.
pub fn ecs_type(kind: IndicatorKind) -> &'static str {
    match kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv4Cidr => "ipv4-addr",
        IndicatorKind::Ipv6 | IndicatorKind::Ipv6Cidr => "ipv6-addr",
        IndicatorKind::Domain => "domain-name",
        IndicatorKind::Url => "url",
        IndicatorKind::Email => "email-addr",
        IndicatorKind::Md5
        | IndicatorKind::Sha1
        | IndicatorKind::Sha256
        | IndicatorKind::Sha512
        | IndicatorKind::FileName => "file",
    }
}

fn hash_name(kind: IndicatorKind) -> &'static str {
    match kind {
        IndicatorKind::Md5 => "md5",
        IndicatorKind::Sha1 => "sha1",
        IndicatorKind::Sha512 => "sha512",
        _ => "sha256",
    }
}

/// A 0–100 confidence on ECS's scale, which is STIX 2.1's None/Low/Med/High
/// (appendix A): 0 is None, 1–29 Low, 30–69 Medium, 70–100 High.
pub fn confidence(value: u8) -> &'static str {
    match value {
        0 => "None",
        1..=29 => "Low",
        30..=69 => "Medium",
        _ => "High",
    }
}

/// The ECS `marking.tlp` value of a `tlp:<colour>` tag, if the indicator has
/// one with a colour ECS lists.
pub fn tlp(tags: &[String]) -> Option<&'static str> {
    tags.iter().find_map(|tag| {
        let (prefix, colour) = tag.split_at_checked(4)?;
        if !prefix.eq_ignore_ascii_case("tlp:") {
            return None;
        }
        ["WHITE", "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
            .into_iter()
            .find(|c| c.eq_ignore_ascii_case(colour.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use taxiway_enricher_core::lookup::TableLookup;

    fn indicator(id: &str, kind: IndicatorKind, value: &str, source: &str) -> Indicator {
        Indicator {
            id: id.into(),
            kind,
            value: value.into(),
            source: source.into(),
            collection: Some(format!("{source}-collection")),
            confidence: Some(80),
            description: Some("a \"bad\" one".into()),
            tags: vec!["c2".into(), "TLP:Amber".into()],
            ..Indicator::default()
        }
    }

    fn table() -> TableLookup {
        use IndicatorKind::*;
        let hash = "aa".repeat(32);
        TableLookup {
            now_millis: Some(951_782_400_123),
            ..TableLookup::default()
        }
        .with("192.0.2.1", indicator("i1", Ipv4, "192.0.2.1", "FeedA"))
        .with(
            "198.51.100.7",
            indicator("i2", Ipv4, "198.51.100.7", "FeedA"),
        )
        .with(
            "198.51.100.7",
            indicator("i3", Ipv4Cidr, "198.51.100.0/24", "FeedB"),
        )
        .with(
            "evil.example",
            indicator("d1", Domain, "evil.example", "FeedA"),
        )
        .with(
            "http://evil.example/x",
            indicator("u1", Url, "http://evil.example/x", "FeedA"),
        )
        .with(&hash, indicator("h1", Sha256, &hash, "FeedC"))
        .with(
            "invoice.pdf.exe",
            indicator("f1", FileName, "invoice.pdf.exe", "FeedC"),
        )
        .with(
            "boss@evil.example",
            indicator("e1", Email, "boss@evil.example", "FeedA"),
        )
    }

    fn run_with(settings: &str, input: &str) -> (Vec<String>, BatchOutput) {
        let mut e = Enricher::new(Ecs::configure(settings).unwrap());
        let out = e.enrich(input.as_bytes(), &mut table());
        let text = String::from_utf8(out.records.clone()).unwrap();
        assert!(text.ends_with('\n'));
        (text.lines().map(str::to_string).collect(), out)
    }

    fn run(input: &str) -> (Vec<String>, BatchOutput) {
        run_with("", input)
    }

    /// The one record `line`, enriched; its enrichments.
    fn enrich_one(line: &str) -> (Value, Vec<Value>) {
        let (lines, out) = run(&format!("{line}\n"));
        assert_eq!(out.tagged, 1, "{lines:?}");
        let v: Value = serde_json::from_str(&lines[0]).unwrap();
        let enrichments = v
            .pointer("/threat/enrichments")
            .or_else(|| v.get("threat.enrichments"))
            .unwrap_or_else(|| panic!("no enrichments in {v}"))
            .as_array()
            .unwrap()
            .clone();
        (v, enrichments)
    }

    fn matched(enrichments: &[Value]) -> Vec<(String, String)> {
        enrichments
            .iter()
            .filter(|e| e.get("matched").is_some())
            .map(|e| {
                (
                    e["matched"]["field"].as_str().unwrap().to_string(),
                    e["matched"]["id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn untouched_records_are_byte_identical() {
        let input = concat!(
            "{\"source\" : {\"ip\":\"10.0.0.1\", \"port\":1},  \"x\":[1, {\"a\":2}]}\n",
            "{\"source.ip\":\"10.0.0.2\",\"threat\":{\"enrichments\":[]}}\n",
            "{}\n",
            "{\"event\":{\"kind\":\"event\"},\"related\":{\"ip\":[\"10.0.0.3\",5]}}\n",
        );
        let (lines, out) = run(input);
        assert_eq!(lines.join("\n") + "\n", input);
        assert_eq!(out.tagged, 0);
        assert!(out.errors.is_empty());
    }

    #[test]
    fn a_nested_match_gets_an_ecs_enrichment() {
        let line = r#"{"@timestamp":"2026-01-01T00:00:00Z","source":{"ip":"192.0.2.1","port":4444},"event":{"kind":"event"}}"#;
        let (v, enrichments) = enrich_one(line);
        assert_eq!(v["source"]["ip"], "192.0.2.1", "the record is kept");
        assert_eq!(v["event"]["kind"], "event");
        assert_eq!(
            enrichments,
            [json!({
                "indicator": {
                    "type": "ipv4-addr",
                    "ip": "192.0.2.1",
                    "name": "192.0.2.1",
                    "provider": "FeedA",
                    "confidence": "High",
                    "description": "a \"bad\" one",
                    "marking": {"tlp": "AMBER"}
                },
                "matched": {
                    "atomic": "192.0.2.1",
                    "field": "source.ip",
                    "id": "i1",
                    "index": "FeedA-collection",
                    "type": "indicator_match_rule",
                    "occurred": "2000-02-29T00:00:00.123Z"
                }
            })]
        );
        // Spliced in at the end, the record's own bytes untouched before it.
        let (lines, _) = run(&format!("{line}\n"));
        assert!(lines[0].starts_with(&line[..line.len() - 1]));
        assert!(lines[0][line.len() - 1..].starts_with(",\"threat\":{\"enrichments\":[{"));
    }

    #[test]
    fn dotted_mixed_and_array_spellings() {
        for line in [
            r#"{"source.ip":"192.0.2.1"}"#,
            r#"{"source":{"nat.ip":"10.1.1.1","ip":"192.0.2.1"}}"#,
            r#"{"host":{"ip":["10.0.0.9","192.0.2.1"]},"host.name":"h"}"#,
            r#"{"source":{"ip":"192.0.2.\u0031"}}"#,
        ] {
            let (_, enrichments) = enrich_one(line);
            assert_eq!(enrichments.len(), 1, "{line}");
            assert_eq!(enrichments[0]["matched"]["atomic"], "192.0.2.1", "{line}");
            assert_eq!(enrichments[0]["matched"]["id"], "i1");
        }
        let (_, e) = enrich_one(r#"{"host":{"ip":["10.0.0.9","192.0.2.1"]}}"#);
        assert_eq!(e[0]["matched"]["field"], "host.ip");
    }

    #[test]
    fn each_indicator_kind_in_its_ecs_field() {
        let line = concat!(
            r#"{"destination":{"ip":"198.51.100.7"},"dns":{"question":{"name":"evil.example"}},"#,
            r#""url":{"full":"http://evil.example/x","domain":"evil.example"},"#,
            r#""file.hash.sha256":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","#,
            r#""email":{"from":{"address":["boss@evil.example"]},"attachments":[{"file":{"name":"a.txt"}},{"file":{"name":"invoice.pdf.exe"}}]}}"#,
        );
        // The table is exact: the upper-case hash does not match here.
        let (_, e) = enrich_one(line);
        assert_eq!(
            matched(&e),
            [
                ("destination.ip".into(), "i2".into()),
                ("destination.ip".into(), "i3".into()),
                ("dns.question.name".into(), "d1".into()),
                ("url.full".into(), "u1".into()),
                ("url.domain".into(), "d1".into()),
                ("email.from.address".into(), "e1".into()),
                ("email.attachments.file.name".into(), "f1".into()),
            ]
        );
        let by_id = |id: &str| e.iter().find(|x| x["matched"]["id"] == id).unwrap();
        assert_eq!(by_id("i3")["indicator"]["type"], "ipv4-addr");
        assert!(
            by_id("i3")["indicator"].get("ip").is_none(),
            "a network is no ECS ip"
        );
        assert_eq!(by_id("i3")["indicator"]["name"], "198.51.100.0/24");
        assert_eq!(by_id("i3")["matched"]["atomic"], "198.51.100.7");
        assert_eq!(by_id("d1")["indicator"]["type"], "domain-name");
        assert_eq!(by_id("d1")["indicator"]["url"]["domain"], "evil.example");
        assert_eq!(
            by_id("u1")["indicator"]["url"]["full"],
            "http://evil.example/x"
        );
        assert_eq!(by_id("e1")["indicator"]["type"], "email-addr");
        assert_eq!(
            by_id("e1")["indicator"]["email"]["address"],
            "boss@evil.example"
        );
        assert_eq!(by_id("f1")["indicator"]["type"], "file");
        assert_eq!(by_id("f1")["indicator"]["file"]["name"], "invoice.pdf.exe");

        let hash = "aa".repeat(32);
        let (_, e) = enrich_one(&format!(
            r#"{{"process":{{"hash":{{"sha256":"{hash}"}}}}}}"#
        ));
        assert_eq!(e[0]["indicator"]["type"], "file");
        assert_eq!(e[0]["indicator"]["file"]["hash"]["sha256"], hash.as_str());
        assert_eq!(e[0]["matched"]["field"], "process.hash.sha256");
    }

    #[test]
    fn related_fields_report_only_what_no_other_field_did() {
        let (_, e) = enrich_one(
            r#"{"source":{"ip":"192.0.2.1"},"related":{"ip":["192.0.2.1","198.51.100.7"]}}"#,
        );
        assert_eq!(
            matched(&e),
            [
                ("source.ip".into(), "i1".into()),
                ("related.ip".into(), "i2".into()),
                ("related.ip".into(), "i3".into()),
            ]
        );
    }

    #[test]
    fn existing_threat_members_are_extended() {
        let enrichment =
            r#"{"indicator":{"provider":"Other"},"matched":{"id":"z","field":"source.ip"}}"#;
        for (line, path) in [
            (
                format!(r#"{{"threat":{{"enrichments":[{enrichment}]}},"source.ip":"192.0.2.1"}}"#),
                "/threat/enrichments",
            ),
            (
                format!(r#"{{"threat.enrichments":[{enrichment}],"source.ip":"192.0.2.1"}}"#),
                "/threat.enrichments",
            ),
            (
                format!(r#"{{"threat":{{"enrichments":{enrichment}}},"source.ip":"192.0.2.1"}}"#),
                "/threat/enrichments",
            ),
        ] {
            let (lines, out) = run(&format!("{line}\n"));
            assert_eq!(out.tagged, 1);
            let v: Value = serde_json::from_str(&lines[0]).unwrap();
            let e = v.pointer(path).unwrap().as_array().unwrap();
            assert_eq!(e.len(), 2, "{line}");
            assert_eq!(e[0]["matched"]["id"], "z", "the old one stays first");
            assert_eq!(e[1]["matched"]["id"], "i1");
        }
        for (line, want) in [
            (
                r#"{"threat":{"framework":"MITRE ATT&CK"},"source.ip":"192.0.2.1"}"#,
                "MITRE ATT&CK",
            ),
            (r#"{"threat":{ },"source.ip":"192.0.2.1"}"#, ""),
            (r#"{"threat":null,"source.ip":"192.0.2.1"}"#, ""),
            (
                r#"{"threat":{"enrichments":null},"source.ip":"192.0.2.1"}"#,
                "",
            ),
        ] {
            let (v, e) = enrich_one(line);
            assert_eq!(e.len(), 1, "{line}");
            assert_eq!(v["threat"]["framework"].as_str().unwrap_or(""), want);
        }
        // A threat that is no object is kept; the enrichments go beside it.
        let (v, e) = enrich_one(r#"{"threat":"x","source.ip":"192.0.2.1"}"#);
        assert_eq!(v["threat"], "x");
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn enriching_twice_changes_nothing() {
        let input = "{\"source\":{\"ip\":\"192.0.2.1\"},\"related.ip\":[\"198.51.100.7\"]}\n";
        let (once, out) = run(input);
        assert_eq!(out.tagged, 1);
        let again = once.join("\n") + "\n";
        let (twice, out) = run(&again);
        assert_eq!(out.tagged, 0, "every match is recorded already");
        assert_eq!(twice.join("\n") + "\n", again);
    }

    #[test]
    fn settings_change_type_occurred_and_fields() {
        let line = "{\"observer\":{\"ip\":\"192.0.2.1\"},\"source.ip\":\"192.0.2.1\"}\n";
        let (lines, _) = run_with(
            r#"{"matchedType":"enrichment","occurred":false,"fields":{"observer.ip":"ip"}}"#,
            line,
        );
        let v: Value = serde_json::from_str(&lines[0]).unwrap();
        let e = &v["threat"]["enrichments"];
        assert_eq!(e.as_array().unwrap().len(), 1);
        assert_eq!(e[0]["matched"]["field"], "observer.ip");
        assert_eq!(e[0]["matched"]["type"], "enrichment");
        assert!(e[0]["matched"].get("occurred").is_none());
    }

    #[test]
    fn non_objects_are_wrapped_with_the_marker() {
        let (lines, out) =
            run("[1,2]\n{\"source\":{\"ip\":\"192.0.2.1\",}}\n{\"source.ip\":\"192.0.2.1\"}\n");
        assert_eq!(lines.len(), 3);
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first[ERROR_FIELD], "not a JSON object");
        assert_eq!(first[RAW_FIELD], "[1,2]");
        let second: Value = serde_json::from_str(&lines[1]).unwrap();
        assert!(
            second[ERROR_FIELD]
                .as_str()
                .unwrap()
                .starts_with("malformed JSON")
        );
        assert_eq!(out.errors.iter().map(|e| e.0).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(out.tagged, 1);
    }

    #[test]
    fn confidence_and_tlp_scales() {
        assert_eq!(
            [0, 1, 29, 30, 69, 70, 100].map(confidence),
            ["None", "Low", "Low", "Medium", "Medium", "High", "High"]
        );
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(tlp(&tags(&["x", "tlp:amber+strict"])), Some("AMBER+STRICT"));
        assert_eq!(tlp(&tags(&["TLP:clear"])), Some("CLEAR"));
        assert_eq!(tlp(&tags(&["tlp:purple", "tlp"])), None);
    }
}
