//! STIX 1.2 ingest: parse + normalise + store, in indicators/s on one
//! thread, and what the store keeps per indicator. The input is a generated
//! package of address indicators in two layouts: compact (an id and an
//! observable, ~330 bytes each) and as python-stix writes them (namespaces,
//! title, type, validity, object with properties, confidence, TLP marking;
//! ~1.2 kB each, UUID ids), the layout real OpenTAXII feeds have.
//! Figures go to BENCHMARKS.md.
//!
//! `MIMALLOC_PURGE_DELAY=0 cargo bench -p taxiway --bench ingest`
//! (env BENCH_INDICATORS, default 100000; BENCH_ROUNDS, default 5;
//! BENCH_ONLY=compact|python-stix).

use std::time::{Duration, Instant};

use taxiway_host::store::{IndicatorStore, StoreConfig, now_micros};
use taxiway_poller::Indicator;
use taxiway_poller::stix1::{StixContext, parse_package};

#[path = "support/data.rs"]
#[allow(dead_code)] // the generators are the enrich benchmark's
mod data;
use data::env_usize;
#[path = "support/rss.rs"]
mod rss;
use rss::released_by_dropping;
#[path = "../../poller/tests/support/stix_gen.rs"]
mod stix_gen;

// As in the host binary.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SOURCE: &str = "bulk";

/// Parses `xml` into indicators (checking that all `n` came out).
fn parse(xml: &str, n: usize) -> Vec<Indicator> {
    let ctx = StixContext {
        source: SOURCE,
        collection: Some("ips"),
    };
    let mut out = Vec::with_capacity(n);
    let report = parse_package(xml.as_bytes(), &ctx, &mut |i| out.push(i)).expect("parses");
    assert_eq!(out.len(), n, "{report:?}");
    out
}

/// Time this thread has spent on a CPU (from /proc/thread-self/schedstat,
/// in nanoseconds): what "per core" means on a shared machine, where wall
/// time also counts the time other processes had the core.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

struct Round {
    parse: Duration,
    store: Duration,
    /// CPU time of both, where known.
    cpu: Option<Duration>,
}

impl Round {
    fn total(&self) -> Duration {
        self.parse + self.store
    }
}

fn layout(name: &str, xml: &str, n: usize, rounds: usize) {
    let mut best: Option<Round> = None;
    let mut best_cpu: Option<Duration> = None;
    for _ in 0..rounds {
        let store = IndicatorStore::new(StoreConfig::default());
        let cpu_start = cpu_time();
        let started = Instant::now();
        let indicators = parse(xml, n);
        let parsed = Instant::now();
        let snapshot = store.replace_source(SOURCE, indicators, now_micros());
        let round = Round {
            parse: parsed - started,
            store: parsed.elapsed(),
            cpu: cpu_time().zip(cpu_start).map(|(end, start)| end - start),
        };
        if let Some(cpu) = round.cpu {
            best_cpu = Some(best_cpu.map_or(cpu, |b| b.min(cpu)));
        }
        assert_eq!(snapshot.len(), n);
        drop(snapshot);
        // Dropped outside the timing, as a long-running store would.
        drop(store);
        if best.as_ref().is_none_or(|b| round.total() < b.total()) {
            best = Some(round);
        }
    }
    let best = best.expect("at least one round");
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "{name:>11}: {n} indicators ({:.1} MB, {:.0} bytes each): {:>7.0} indicators/s \
         parse + normalise + store ({:.3} s; parse + normalise {:.3} s = {:.0}/s, store {:.3} s = {:.0}/s), best of {rounds}",
        xml.len() as f64 / 1e6,
        xml.len() as f64 / n as f64,
        rate(best.total()),
        best.total().as_secs_f64(),
        best.parse.as_secs_f64(),
        rate(best.parse),
        best.store.as_secs_f64(),
        rate(best.store),
    );
    if let Some(cpu) = best_cpu {
        println!(
            "{name:>11}: {:>7.0} indicators/s per core by CPU time (best of {rounds}: {:.3} s on a CPU)",
            rate(cpu),
            cpu.as_secs_f64()
        );
    }
    memory(name, xml, n);
}

/// What the store keeps: its own accounting, and the RSS a store of these
/// indicators releases when dropped (a check on that accounting; run with
/// `MIMALLOC_PURGE_DELAY=0`, else mimalloc keeps freed pages a while).
fn memory(name: &str, xml: &str, n: usize) {
    let indicators = parse(xml, n);
    let value_text: usize = indicators.iter().map(|i| i.value.len()).sum();
    let store = IndicatorStore::new(StoreConfig::default());
    let snapshot = store.replace_source(SOURCE, indicators, now_micros());
    let heap = snapshot.heap_bytes();
    let values = snapshot.value_bytes();
    let sources = store.source_bytes();
    let per = |b: usize| b as f64 / n as f64;
    println!(
        "{name:>11}: memory {:.1} bytes/indicator beyond the values ({:.1} bytes/indicator as held; \
         values as text {:.1}): snapshot {:.1} (of which values {:.1}), kept besides the snapshot {:.1}; {} distinct metas",
        per(heap + sources - values),
        per(values),
        per(value_text),
        per(heap),
        per(values),
        per(sources),
        snapshot.metas(),
    );
    let released = released_by_dropping((snapshot, store));
    println!(
        "{name:>11}: RSS released by dropping the store {:.1} bytes/indicator (accounted: {:.1})",
        released as f64 / n as f64,
        per(heap + sources),
    );
}

fn main() {
    if !data::asked_to_run("ingest") {
        return;
    }
    let n = env_usize("BENCH_INDICATORS", 100_000);
    let rounds = env_usize("BENCH_ROUNDS", 5);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "compact" {
        layout("compact", &stix_gen::compact_package(n), n, rounds);
    }
    if only.is_empty() || only == "python-stix" {
        layout("python-stix", &stix_gen::python_stix_package(n), n, rounds);
    }
}
