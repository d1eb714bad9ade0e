//! Fixture sets of tests/fixtures run through a built-in module: records,
//! indicators and the expected matches, shared by the built-in modules' tests.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use taxiway_host::limits::Limits;
use taxiway_host::registry::{ModuleSource, Registry};
use taxiway_host::runtime::Runtime;
use taxiway_host::store::{IndicatorStore, StoreConfig, now_micros};
use taxiway_host::worker::{Batch, Worker};

/// Per line: (field, indicator id, source) of every match.
pub type Matches = BTreeMap<usize, BTreeSet<(String, String, String)>>;

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A worker on `module` over the indicators of `indicator_files`.
pub fn worker(module: &str, settings: &str, indicator_files: &[&str]) -> (Worker, Arc<Registry>) {
    let mut all = Vec::new();
    for file in indicator_files {
        let (indicators, report) = taxiway_poller::read_indicators(&fixture(file)[..]).unwrap();
        assert_eq!(report.rejected, 0, "{file}: {report}");
        all.extend(indicators);
    }
    let store = Arc::new(IndicatorStore::new(StoreConfig::default()));
    store.replace_all(all, now_micros());
    let runtime = Runtime::new(Limits::default()).unwrap();
    let source: ModuleSource = module.parse().unwrap();
    let registry = Registry::new(runtime.clone(), source, settings.into(), None).unwrap();
    (Worker::new(runtime, registry.clone(), store), registry)
}

/// The records of `records` through `worker` in batches of `batch_size`:
/// (input lines, output lines).
pub fn run(worker: &mut Worker, records: &str, batch_size: usize) -> (Vec<String>, Vec<String>) {
    let records = fixture(records);
    let input: Vec<&[u8]> = records
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = Vec::new();
    for chunk in input.chunks(batch_size) {
        let mut batch = Batch::new();
        for line in chunk {
            batch.push(line);
        }
        let result = worker.enrich(&batch, &mut out);
        assert_eq!(result.stats.failed_calls, 0);
    }
    let output = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let input = input
        .iter()
        .map(|l| String::from_utf8(l.to_vec()).unwrap())
        .collect();
    (input, output)
}

/// The expected matches and the lines that are no JSON object.
pub fn expected(file: &str) -> (Matches, BTreeSet<usize>) {
    let v: serde_json::Value = serde_json::from_slice(&fixture(file)).unwrap();
    let mut matches = Matches::new();
    let mut not_objects = BTreeSet::new();
    for (key, value) in v.as_object().unwrap() {
        if key == "not_objects" {
            not_objects.extend(
                value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_u64().unwrap() as usize),
            );
            continue;
        }
        let set = value
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["field"].as_str().unwrap().to_string(),
                    m["indicator_id"].as_str().unwrap().to_string(),
                    m["source"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        matches.insert(key.parse().unwrap(), set);
    }
    (matches, not_objects)
}
