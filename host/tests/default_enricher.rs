//! The built-in CSE module on a few hundred realistic CSE records
//! (tests/fixtures; FIXTURES.md says what each planted record tests).

#[path = "support/fixtures.rs"]
mod fixtures;

use std::collections::BTreeSet;
use std::sync::Arc;

use fixtures::{Matches, expected, run, worker};
use taxiway_host::limits::Limits;
use taxiway_host::registry::{ModuleSource, Registry};
use taxiway_host::runtime::Runtime;
use taxiway_host::store::{IndicatorStore, StoreConfig, now_micros};
use taxiway_host::worker::{Batch, ERROR_FIELD, RAW_FIELD, Worker};

#[test]
fn tags_exactly_the_expected_records() {
    let (matches, not_objects) = expected("expected-matches.json");
    assert!(matches.len() >= 30, "the fixture plants dozens of matches");
    let (mut worker, _registry) = worker("builtin:cse", "{}", &["indicators.ndjson"]);
    for batch_size in [1, 7, 256] {
        let (input, output) = run(&mut worker, "cse-records.ndjson", batch_size);
        assert_eq!(input.len(), output.len(), "one output line per record");
        let mut got = Matches::new();
        for (i, (inp, out)) in input.iter().zip(&output).enumerate() {
            let v: serde_json::Value =
                serde_json::from_str(out).unwrap_or_else(|e| panic!("line {i} is not JSON: {e}"));
            if not_objects.contains(&i) {
                assert!(
                    v[ERROR_FIELD]
                        .as_str()
                        .unwrap()
                        .contains("not a JSON object")
                );
                assert_eq!(v[RAW_FIELD].as_str().unwrap(), inp);
                continue;
            }
            let Some(items) = v.get("matchedItems") else {
                assert_eq!(
                    inp, out,
                    "line {i}: an untagged record comes back byte-identical"
                );
                continue;
            };
            let original: serde_json::Value = serde_json::from_str(inp).unwrap();
            for (key, value) in original.as_object().unwrap() {
                assert_eq!(&v[key], value, "line {i}: field {key} kept");
            }
            let list: Vec<&str> = v["listMatches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            assert_eq!(list[0], "threat");
            let unique: BTreeSet<_> = list.iter().collect();
            assert_eq!(
                unique.len(),
                list.len(),
                "line {i}: listMatches without duplicates: {list:?}"
            );
            let mut set = BTreeSet::new();
            for item in items.as_array().unwrap() {
                let field = item["field"].as_str().unwrap().to_string();
                let source = item["source"].as_str().unwrap().to_string();
                assert!(
                    list.contains(&format!("column:{field}").as_str()),
                    "line {i}"
                );
                assert!(list.contains(&source.as_str()), "line {i}");
                assert_eq!(
                    item["value"], original[&field],
                    "line {i}: the record's own value"
                );
                for key in [
                    "indicatorId",
                    "indicator",
                    "type",
                    "confidence",
                    "threatType",
                ] {
                    assert!(!item[key].is_null(), "line {i}: matchedItems.{key}");
                }
                set.insert((
                    field,
                    item["indicatorId"].as_str().unwrap().to_string(),
                    source,
                ));
            }
            got.insert(i, set);
        }
        assert_eq!(got, matches, "batch size {batch_size}");
    }
}

#[test]
fn parent_domain_matching_follows_the_module_settings() {
    let indicators =
        br#"{"id":"d1","indicator":"evil-example.com","type":"domain-name","source":"A"}"#;
    let (indicators, _) = taxiway_poller::read_indicators(&indicators[..]).unwrap();
    let store = Arc::new(IndicatorStore::new(StoreConfig::default()));
    store.replace_all(indicators, now_micros());
    let runtime = Runtime::new(Limits::default()).unwrap();
    for (settings, tagged) in [("{}", 1), (r#"{"parentDomains":false}"#, 0)] {
        let registry = Registry::new(
            runtime.clone(),
            ModuleSource::default(),
            settings.into(),
            None,
        )
        .unwrap();
        let mut worker = Worker::new(runtime.clone(), registry, store.clone());
        let mut batch = Batch::new();
        batch.push(br#"{"dns_queryDomain":"a.b.Evil-Example.com."}"#);
        let mut out = Vec::new();
        let result = worker.enrich(&batch, &mut out);
        assert_eq!(result.stats.tagged, tagged, "settings {settings}");
    }
}

#[test]
fn bad_settings_are_rejected_at_configure() {
    let runtime = Runtime::new(Limits::default()).unwrap();
    let Err(err) = Registry::new(
        runtime,
        ModuleSource::default(),
        r#"{"fields":{"x":"ipv9"}}"#.into(),
        None,
    ) else {
        panic!("bad settings accepted");
    };
    let err = err.to_string();
    assert!(err.contains("step `configure`"), "{err}");
    assert!(err.contains("unknown kind `ipv9`"), "{err}");
}
