//! The built-in ECS module (`builtin:ecs`) on realistic ECS events
//! (tests/fixtures/ecs; FIXTURES.md there says what each planted record tests).

#[path = "support/fixtures.rs"]
mod fixtures;

use fixtures::{Matches, expected, run, worker};
use serde_json::Value;
use taxiway_host::limits::Limits;
use taxiway_host::registry::Registry;
use taxiway_host::runtime::Runtime;
use taxiway_host::worker::{ERROR_FIELD, RAW_FIELD};

const INDICATORS: &[&str] = &["indicators.ndjson", "ecs/indicators.ndjson"];

/// Where a record keeps its enrichments, nested or flattened.
fn enrichments(v: &Value) -> Option<&Vec<Value>> {
    v.pointer("/threat/enrichments")
        .or_else(|| v.get("threat.enrichments"))
        .and_then(Value::as_array)
}

/// `out` with its last `added` enrichments taken away again, and with the
/// members made to hold them where `input` had none.
fn without_added(mut out: Value, input: &Value, added: usize) -> Value {
    let nested = out.pointer("/threat/enrichments").is_some();
    let array = if nested {
        out.pointer_mut("/threat/enrichments")
    } else {
        out.get_mut("threat.enrichments")
    }
    .and_then(Value::as_array_mut)
    .unwrap();
    array.truncate(array.len() - added);
    if nested && input.pointer("/threat/enrichments").is_none() {
        let threat = out["threat"].as_object_mut().unwrap();
        threat.remove("enrichments");
        if threat.is_empty() && input.get("threat").is_none() {
            out.as_object_mut().unwrap().remove("threat");
        }
    }
    out
}

/// The string values at the dotted `path` of `v`, however it is spelled.
fn values_at(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == path {
                    match inner {
                        Value::String(s) => out.push(s.clone()),
                        Value::Array(items) => {
                            out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string)))
                        }
                        _ => {}
                    }
                } else if let Some(rest) = path
                    .strip_prefix(key.as_str())
                    .and_then(|r| r.strip_prefix('.'))
                {
                    values_at(inner, rest, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| values_at(i, path, out)),
        _ => {}
    }
}

/// Checks one new enrichment against ECS and the record; returns its
/// (matched.field, matched.id, indicator.provider).
fn check_enrichment(line: usize, e: &Value, input: &Value) -> (String, String, String) {
    let ind = &e["indicator"];
    let matched = &e["matched"];
    let text = |v: &Value, what: &str| {
        v.as_str()
            .unwrap_or_else(|| panic!("line {line}: no {what} in {e}"))
            .to_string()
    };
    let field = text(&matched["field"], "matched.field");
    let mut values = Vec::new();
    values_at(input, &field, &mut values);
    assert!(
        values.contains(&text(&matched["atomic"], "matched.atomic")),
        "line {line}: matched.atomic is one of the record's {field} values {values:?}"
    );
    assert_eq!(matched["type"], "indicator_match_rule", "line {line}");
    assert!(!text(&matched["index"], "matched.index").is_empty());
    let occurred = text(&matched["occurred"], "matched.occurred");
    assert!(
        occurred.len() == 24 && occurred.ends_with('Z') && occurred.as_bytes()[10] == b'T',
        "line {line}: occurred {occurred}"
    );
    let name = text(&ind["name"], "indicator.name");
    let in_field = match text(&ind["type"], "indicator.type").as_str() {
        "ipv4-addr" | "ipv6-addr" if name.contains('/') => None,
        "ipv4-addr" | "ipv6-addr" => ind.get("ip"),
        "domain-name" => ind.pointer("/url/domain"),
        "url" => ind.pointer("/url/full"),
        "email-addr" => ind.pointer("/email/address"),
        "file" => ind.pointer("/file/name").or_else(|| {
            ind["file"]["hash"]
                .as_object()
                .and_then(|h| h.values().next())
        }),
        other => panic!("line {line}: indicator.type {other} is not an ECS type we write"),
    };
    if let Some(value) = in_field {
        assert_eq!(value.as_str(), Some(name.as_str()), "line {line}: {e}");
    } else {
        assert!(
            ind.get("ip").is_none(),
            "line {line}: a network is no ECS ip"
        );
    }
    if let Some(c) = ind.get("confidence") {
        assert!(
            ["None", "Low", "Medium", "High"].contains(&c.as_str().unwrap()),
            "line {line}: confidence {c}"
        );
    }
    (
        field,
        text(&matched["id"], "matched.id"),
        text(&ind["provider"], "indicator.provider"),
    )
}

#[test]
fn enriches_exactly_the_expected_records() {
    let (matches, not_objects) = expected("ecs/expected-matches.json");
    assert!(matches.len() >= 25, "the fixture plants dozens of matches");
    let (mut worker, registry) = worker("builtin:ecs", "{}", INDICATORS);
    let info = &registry.serving().info;
    assert_eq!(
        (info.name.as_str(), info.output_format.as_str()),
        ("ecs", "ecs")
    );
    assert_eq!(info.origin, "builtin:ecs");
    for batch_size in [1, 7, 256] {
        let (input, output) = run(&mut worker, "ecs/records.ndjson", batch_size);
        assert_eq!(input.len(), output.len(), "one output line per record");
        let mut got = Matches::new();
        for (i, (inp, out)) in input.iter().zip(&output).enumerate() {
            let v: Value =
                serde_json::from_str(out).unwrap_or_else(|e| panic!("line {i} is not JSON: {e}"));
            if not_objects.contains(&i) {
                assert!(v[ERROR_FIELD].as_str().is_some(), "line {i}: {out}");
                assert_eq!(v[RAW_FIELD].as_str().unwrap(), inp);
                continue;
            }
            if inp == out {
                continue;
            }
            let original: Value = serde_json::from_str(inp).unwrap();
            let before = enrichments(&original).map_or(0, Vec::len);
            let after = enrichments(&v).unwrap_or_else(|| panic!("line {i} changed: {out}"));
            let added = &after[before..];
            assert!(!added.is_empty(), "line {i}");
            assert_eq!(
                without_added(v.clone(), &original, added.len()),
                original,
                "line {i}: the record is kept, only enrichments are added"
            );
            let set = added
                .iter()
                .map(|e| check_enrichment(i, e, &original))
                .collect();
            got.insert(i, set);
        }
        assert_eq!(got, matches, "batch size {batch_size}");
    }
}

#[test]
fn tlp_and_confidence_in_ecs_vocabulary() {
    let (mut worker, _registry) = worker("builtin:ecs", "{}", INDICATORS);
    let (_, output) = run(&mut worker, "ecs/records.ndjson", 64);
    let all: Vec<Value> = output
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| enrichments(&v).cloned())
        .flatten()
        .collect();
    let by_id = |id: &str| {
        all.iter()
            .find(|e| e["matched"]["id"] == id)
            .unwrap_or_else(|| panic!("no enrichment by {id}"))
    };
    let amber = &by_id("ecs-tlp-1")["indicator"];
    assert_eq!(amber["marking"]["tlp"], "AMBER");
    assert_eq!(amber["confidence"], "Low");
    assert_eq!(amber["provider"], "CERT-Share");
    // No collection: the feed stands in for the index.
    assert_eq!(by_id("ecs-tlp-1")["matched"]["index"], "CERT-Share");
    let clear = &by_id("ecs-tlp-2")["indicator"];
    assert_eq!(clear["marking"]["tlp"], "CLEAR");
    assert_eq!(clear["confidence"], "None");
    assert_eq!(clear["type"], "domain-name");
    assert_eq!(clear["url"]["domain"], "stealer-panel.example.net");
}

#[test]
fn settings_reach_the_ecs_module() {
    let (mut worker, _registry) = worker(
        "builtin:ecs",
        r#"{"fields":{"observer.ip":"ip"},"matchedType":"enrichment","occurred":false}"#,
        INDICATORS,
    );
    let mut batch = taxiway_host::worker::Batch::new();
    batch.push(br#"{"observer":{"ip":["192.0.2.10"]},"source":{"ip":"192.0.2.10"}}"#);
    let mut out = Vec::new();
    assert_eq!(worker.enrich(&batch, &mut out).stats.tagged, 1);
    let v: Value = serde_json::from_slice(&out).unwrap();
    let e = enrichments(&v).unwrap();
    assert_eq!(e.len(), 1, "only the configured field: {v}");
    assert_eq!(e[0]["matched"]["field"], "observer.ip");
    assert_eq!(e[0]["matched"]["type"], "enrichment");
    assert!(e[0]["matched"].get("occurred").is_none());

    let runtime = Runtime::new(Limits::default()).unwrap();
    let Err(err) = Registry::new(
        runtime,
        "builtin:ecs".parse().unwrap(),
        r#"{"matchedType":7}"#.into(),
        None,
    ) else {
        panic!("bad settings accepted");
    };
    let err = err.to_string();
    assert!(
        err.contains("step `configure`") && err.contains("`matchedType`"),
        "{err}"
    );
}
