//! Records per second with 10^6 indicators loaded, ~330-byte CSE records,
//! 1% of them matching: through the component and the same policy compiled
//! natively, in one run; then swap latency (module file written -> new
//! module serving). Figures go to BENCHMARKS.md.
//!
//! `cargo bench -p taxiway --bench enrich` (env BENCH_RECORDS, BENCH_INDICATORS to resize;
//! BENCH_MODULE=ecs runs the built-in ECS module on the same records written as nested ECS
//! events instead of the CSE module on CSE records; BENCH_MODULE=<file.wasm> runs that CSE
//! module instead of the built-in one, to compare two builds of the policy on the same data).

use std::sync::Arc;
use std::time::{Duration, Instant};

use taxiway_enricher::policy::{self, Cse};
use taxiway_enricher_core::engine::{BatchOutput, Enricher};
use taxiway_enricher_ecs::policy::Ecs;
use taxiway_host::limits::Limits;
use taxiway_host::module::Cache;
use taxiway_host::registry::{DEFAULT_MODULE, ECS_MODULE, ModuleSource, Registry};
use taxiway_host::runtime::Runtime;
use taxiway_host::store::{self, IndicatorStore, Snapshot, StoreConfig, now_micros};
use taxiway_host::wit::since_v0_1_0::rfc3339;
use taxiway_host::worker::{Batch, Worker};
use taxiway_poller::Indicator;

#[path = "support/data.rs"]
mod data;
use data::{Rng, Schema, env_usize, records_as};
#[path = "support/rss.rs"]
mod rss;
use rss::{released_by_dropping, rss_bytes, settle};

// Batches allocate and free buffers of hundreds of KiB; glibc's allocator
// hands those back to the kernel and faults them in again every batch.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Indicators: mostly IPv4 and domains, as real feeds are, plus every other kind.
fn indicators(n: usize, rng: &mut Rng) -> (Vec<Indicator>, Vec<(String, &'static str)>) {
    let mut out = Vec::with_capacity(n);
    // (value, record field) pairs records can use to hit.
    let mut hits = Vec::new();
    for i in 0..n {
        let (ty, value, field) = match i % 20 {
            0..=11 => {
                // Public-looking IPv4 outside the ranges the records' misses use.
                let a = 11 + rng.below(150) as u8;
                let v = format!(
                    "{a}.{}.{}.{}",
                    rng.below(256),
                    rng.below(256),
                    1 + rng.below(254)
                );
                ("ipv4-addr", v, "dstDevice_ip")
            }
            12..=16 => (
                "domain-name",
                format!("d{i}.bad-{}.example", rng.below(5000)),
                "dns_queryDomain",
            ),
            17 => (
                "url",
                format!("http://u{i}.bad.example/p/{}", rng.below(1000)),
                "http_url",
            ),
            18 => (
                "file:hashes.SHA-256",
                format!(
                    "{:016x}{:016x}{:016x}{:016x}",
                    rng.next(),
                    rng.next(),
                    rng.next(),
                    rng.next()
                ),
                "file_hash_sha256",
            ),
            _ => (
                "ipv6-addr",
                format!(
                    "2001:db8:{:x}:{:x}:{:x}::{:x}",
                    rng.below(65536),
                    rng.below(65536),
                    i >> 16,
                    i & 0xffff
                ),
                "srcDevice_ip",
            ),
        };
        let mut ind = Indicator::new(format!("ind-{i}"), "BenchFeed", ty, &value).unwrap();
        ind.confidence = Some(80);
        ind.threat_type = Some("malicious-activity".into());
        ind.description = Some("benchmark indicator".into());
        if i % 97 == 0 {
            hits.push((value, field));
        }
        out.push(ind);
    }
    // A few networks, as feeds carry: every IPv4 lookup checks each prefix length.
    for (i, net) in [
        "172.16.0.0/12",
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/25",
    ]
    .iter()
    .enumerate()
    {
        out.push(Indicator::new(format!("net-{i}"), "BenchFeed", "ipv4-addr", net).unwrap());
    }
    (out, hits)
}

/// The policy's host side, called directly instead of through the component.
struct NativeLookup {
    snapshot: Arc<Snapshot>,
    now: store::Micros,
}

impl policy::Lookup for NativeLookup {
    fn lookup(
        &mut self,
        query: &policy::Query,
        options: policy::LookupOptions,
    ) -> policy::LookupResult {
        let values = (0..query.len()).map(|i| (observable(query.kinds[i]), query.value(i)));
        let options = store::LookupOptions {
            parent_domains: options.parent_domains,
        };
        let matches = self
            .snapshot
            .lookup_batch(values, options, self.now, |entry, value| {
                policy::Indicator {
                    id: entry.id().to_string(),
                    kind: indicator_kind(entry.kind()),
                    value: value.to_string(),
                    stix_type: entry.kind().stix_type().to_string(),
                    source: entry.source().to_string(),
                    collection: entry.collection().map(str::to_string),
                    confidence: entry.confidence(),
                    threat_type: entry.threat_type().map(str::to_string),
                    description: entry.description().map(str::to_string),
                    valid_until: rfc3339(entry.valid_until()),
                    tags: entry.tags().to_vec(),
                }
            });
        policy::LookupResult {
            hits: matches
                .hits
                .into_iter()
                .map(|(observable, indicator)| policy::Hit {
                    observable,
                    indicator,
                })
                .collect(),
            indicators: matches.indicators,
        }
    }
}

struct NoLookup;

/// The benchmarked module's policy, compiled natively.
enum Native {
    Cse(Enricher<Cse>),
    Ecs(Enricher<Ecs>),
}

impl Native {
    fn enrich(&mut self, input: &[u8], lookup: &mut impl policy::Lookup) -> BatchOutput {
        match self {
            Native::Cse(e) => e.enrich(input, lookup),
            Native::Ecs(e) => e.enrich(input, lookup),
        }
    }
}

/// Keeps the query it is asked, answers nothing.
struct Capture(Option<policy::Query>);

impl policy::Lookup for Capture {
    fn lookup(&mut self, query: &policy::Query, _: policy::LookupOptions) -> policy::LookupResult {
        self.0 = Some(policy::Query {
            kinds: query.kinds.clone(),
            values: query.values.clone(),
            ends: query.ends.clone(),
        });
        policy::LookupResult::default()
    }
}

impl policy::Lookup for NoLookup {
    fn lookup(&mut self, _: &policy::Query, _: policy::LookupOptions) -> policy::LookupResult {
        policy::LookupResult::default()
    }
}

fn observable(kind: policy::ObservableKind) -> store::ObservableKind {
    use policy::ObservableKind as P;
    use store::ObservableKind as S;
    match kind {
        P::Ip => S::Ip,
        P::Domain => S::Domain,
        P::Url => S::Url,
        P::Md5 => S::Md5,
        P::Sha1 => S::Sha1,
        P::Sha256 => S::Sha256,
        P::Sha512 => S::Sha512,
        P::Hash => S::Hash,
        P::Email => S::Email,
        P::FileName => S::FileName,
    }
}

fn indicator_kind(kind: taxiway_poller::IndicatorKind) -> policy::IndicatorKind {
    use policy::IndicatorKind as P;
    use taxiway_poller::IndicatorKind as S;
    match kind {
        S::Ipv4 => P::Ipv4,
        S::Ipv6 => P::Ipv6,
        S::Ipv4Cidr => P::Ipv4Cidr,
        S::Ipv6Cidr => P::Ipv6Cidr,
        S::Domain => P::Domain,
        S::Url => P::Url,
        S::Md5 => P::Md5,
        S::Sha1 => P::Sha1,
        S::Sha256 => P::Sha256,
        S::Sha512 => P::Sha512,
        S::Email => P::Email,
        S::FileName => P::FileName,
    }
}

fn batches(records: &[Vec<u8>], size: usize) -> Vec<Batch> {
    records
        .chunks(size)
        .map(|chunk| {
            let mut b = Batch::new();
            for r in chunk {
                b.push(r);
            }
            b
        })
        .collect()
}

/// Best of `rounds` passes over all batches, in records/s. With
/// `BENCH_CLOCK=cpu` a pass is timed by this thread's time on a CPU
/// (/proc/thread-self/schedstat) rather than the wall clock, which on a
/// shared machine leaves out the time other processes held the core.
fn measure(rounds: usize, records: usize, mut pass: impl FnMut() -> u64) -> (f64, u64) {
    let cpu = std::env::var("BENCH_CLOCK").is_ok_and(|c| c == "cpu");
    let mut best = f64::MAX;
    let mut tagged = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        let cpu_start = thread_cpu_ns();
        tagged = pass();
        let secs = if cpu {
            (thread_cpu_ns() - cpu_start) as f64 / 1e9
        } else {
            start.elapsed().as_secs_f64()
        };
        best = best.min(secs);
    }
    (records as f64 / best, tagged)
}

/// Nanoseconds this thread has run on a CPU (0 where unavailable).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    if !data::asked_to_run("enrich") {
        return;
    }
    let n_indicators = env_usize("BENCH_INDICATORS", 1_000_000);
    let n_records = env_usize("BENCH_RECORDS", 200_000);
    let rounds = env_usize("BENCH_ROUNDS", 5);
    let mut rng = Rng(0x5eed_1234_abcd_ef01);

    let started = Instant::now();
    let rss_start = rss_bytes();
    let (inds, hits) = indicators(n_indicators, &mut rng);
    let value_text: usize = inds.iter().map(|i| i.value.len()).sum();
    let store = Arc::new(IndicatorStore::new(StoreConfig::default()));
    let rss_before = rss_bytes();
    let load_start = Instant::now();
    let snapshot = store.replace_all(inds, now_micros());
    let load = load_start.elapsed();
    settle();
    let rss_after = rss_bytes();
    memory_report(
        &store, &snapshot, value_text, rss_start, rss_before, rss_after,
    );
    released_rss(n_indicators);
    let ecs = std::env::var("BENCH_MODULE").is_ok_and(|m| m == "ecs");
    let schema = if ecs { Schema::Ecs } else { Schema::Cse };
    let recs = records_as(schema, n_records, &hits, &mut rng);
    let avg = recs.iter().map(Vec::len).sum::<usize>() as f64 / recs.len() as f64;
    println!(
        "setup: {} indicators (store build {:.2}s), {} {schema:?} records of {:.0} bytes on average, in {:.1}s",
        snapshot.len(),
        load.as_secs_f64(),
        recs.len(),
        avg,
        started.elapsed().as_secs_f64()
    );

    let runtime = Runtime::new(Limits::default()).unwrap();
    // BENCH_MODULE may also name a CSE module file, to compare builds.
    let module = match std::env::var("BENCH_MODULE") {
        Ok(m) if m == "ecs" => "builtin:ecs".to_string(),
        Ok(m) if !m.is_empty() => m,
        _ => "builtin:cse".to_string(),
    };
    let registry =
        Registry::new(runtime.clone(), module.parse().unwrap(), "{}".into(), None).unwrap();
    let mut worker = Worker::new(runtime.clone(), registry, store.clone());
    let now = now_micros();

    for size in [256, 1024] {
        let batches = batches(&recs, size);
        let mut out = Vec::with_capacity(size * 512);
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        let mut wasm_pass = || {
            let mut tagged = 0;
            for b in &batches {
                out.clear();
                tagged += worker.enrich(b, &mut out).stats.tagged;
            }
            tagged
        };
        let mut native = if ecs {
            Native::Ecs(Enricher::new(Ecs::default()))
        } else {
            Native::Cse(Enricher::new(Cse::default()))
        };
        let mut lookup = NativeLookup {
            snapshot: snapshot.clone(),
            now,
        };
        let inputs: Vec<Vec<u8>> = batches.iter().map(batch_bytes).collect();
        let mut native_pass = || {
            let mut tagged = 0;
            for bytes in &inputs {
                tagged += u64::from(native.enrich(bytes, &mut lookup).tagged);
            }
            tagged
        };
        // Rounds alternate between the two, so a slow spell of the machine
        // falls on both rather than on one side of the ratio.
        let run_wasm = !(only == "native" || only == "lookups");
        let run_native = !(only == "wasm" || only == "lookups");
        let (mut wasm, mut wasm_tagged, mut native_rate, mut native_tagged) = (0f64, 0, 0f64, 0);
        for _ in 0..rounds {
            if run_wasm {
                let (rate, tagged) = measure(1, recs.len(), &mut wasm_pass);
                (wasm, wasm_tagged) = (wasm.max(rate), tagged);
            }
            if run_native {
                let (rate, tagged) = measure(1, recs.len(), &mut native_pass);
                (native_rate, native_tagged) = (native_rate.max(rate), tagged);
            }
        }
        if only.is_empty() {
            assert_eq!(
                wasm_tagged, native_tagged,
                "the component and native code agree"
            );
        }
        println!(
            "batch {size:>5}: component {:>9.0} records/s, native {:>9.0} records/s, wasm/native {:.2} ({} tagged of {}, {:.2}%)",
            wasm,
            native_rate,
            wasm / native_rate,
            wasm_tagged,
            recs.len(),
            100.0 * wasm_tagged as f64 / recs.len() as f64
        );
        // Where native time goes: the policy alone (scan and copy), with
        // every lookup answered empty.
        let (scan_only, _) = measure(if only.is_empty() { rounds } else { 0 }, recs.len(), || {
            for bytes in &inputs {
                native.enrich(bytes, &mut NoLookup);
            }
            0
        });
        println!(
            "batch {size:>5}: native policy alone (lookups answered empty) {scan_only:>9.0} records/s"
        );
        // And the host's lookups alone, on the very queries the policy makes.
        let mut queries = Vec::new();
        for bytes in &inputs {
            let mut capture = Capture(None);
            native.enrich(bytes, &mut capture);
            if let Some(q) = capture.0 {
                queries.push(q);
            }
        }
        let (lookups_only, _) = measure(rounds, recs.len(), || {
            let mut n = 0;
            for q in &queries {
                n += policy::Lookup::lookup(
                    &mut lookup,
                    q,
                    policy::LookupOptions {
                        parent_domains: true,
                    },
                )
                .hits
                .len() as u64;
            }
            n
        });
        let values: usize = queries.iter().map(policy::Query::len).sum();
        println!(
            "batch {size:>5}: host lookups alone {lookups_only:>9.0} records/s ({:.1} values per record)",
            values as f64 / recs.len() as f64
        );
    }

    if env_usize("BENCH_SWAP", 1) == 1 {
        swap_latency(&runtime);
    }
}

/// Bytes per indicator: the snapshot's own estimate, the store's compact
/// source sets, and the process RSS (over the build, and since before the
/// input indicators were generated: an upper bound, as the allocator may
/// keep some of the freed input).
fn memory_report(
    store: &IndicatorStore,
    snapshot: &Snapshot,
    value_text: usize,
    rss_start: i64,
    rss_before: i64,
    rss_after: i64,
) {
    let n = snapshot.len().max(1) as f64;
    let heap = snapshot.heap_bytes();
    let values = snapshot.value_bytes();
    let sources = store.source_bytes();
    println!(
        "memory: snapshot {:.1} bytes/indicator ({:.1} beyond the values' {:.1}; {} distinct metas), \
         source sets {:.1} bytes/indicator (values' text {:.1}), store total {:.1}",
        heap as f64 / n,
        (heap - values) as f64 / n,
        values as f64 / n,
        snapshot.metas(),
        sources as f64 / n,
        value_text as f64 / n,
        (heap + sources) as f64 / n,
    );
    println!(
        "memory: RSS delta over the build {:.1} bytes/indicator (store minus freed input), \
         since before generating the input {:.1} bytes/indicator",
        (rss_after - rss_before) as f64 / n,
        (rss_after - rss_start) as f64 / n,
    );
}

/// The input's small strings share allocator pages with what outlives the
/// build, so RSS over the build is muddied; what a store holds resident shows
/// cleanly when a second, identical one is dropped.
fn released_rss(n_indicators: usize) {
    let (inds, _) = indicators(n_indicators, &mut Rng(0x5eed_1234_abcd_ef01));
    let store = IndicatorStore::new(StoreConfig::default());
    let snapshot = store.replace_all(inds, now_micros());
    let n = snapshot.len().max(1) as f64;
    let released = released_by_dropping((snapshot, store));
    println!(
        "memory: RSS released by dropping an identical store {:.1} bytes/indicator",
        released as f64 / n
    );
}

fn batch_bytes(b: &Batch) -> Vec<u8> {
    let mut v = Vec::with_capacity(b.bytes());
    for i in 0..b.len() {
        v.extend_from_slice(b.record(i));
        v.push(b'\n');
    }
    v
}

/// File written -> new module serving, through the file watcher: a module of
/// code no earlier compile saw, edited modules (one match field added to the
/// defaults, a different one each time), the other bundled module, and a
/// module found in the compiled-module cache.
fn swap_latency(runtime: &Arc<Runtime>) {
    // Where a swap of unseen code spends its time: compiling alone, then
    // every load step (format, compile, link, instantiate, configure,
    // describe, test call) without the file watcher.
    let mut compile = Vec::new();
    let mut load = Vec::new();
    let mut cpu = 0;
    for i in 0..6u32 {
        let bytes = with_custom_section(DEFAULT_MODULE, &format!("steps-{i}"));
        runtime.function_cache().clear();
        let start = Instant::now();
        let cpu_start = cpu_ticks();
        wasmtime::component::Component::new(runtime.engine(), &bytes).unwrap();
        cpu += cpu_ticks() - cpu_start;
        compile.push(start.elapsed().as_secs_f64() * 1000.0);
        let bytes = with_custom_section(DEFAULT_MODULE, &format!("load-{i}"));
        runtime.function_cache().clear();
        let start = Instant::now();
        taxiway_host::module::load(runtime, &bytes, "bench", "{}", None).unwrap();
        load.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "swap steps, unseen code: compile alone median {:.1} ms ({:.0} ms of CPU, all threads), whole load (no watcher) median {:.1} ms; module {} bytes",
        median(&mut compile),
        // Clock ticks are 10 ms.
        cpu as f64 * 10.0 / compile.len() as f64,
        median(&mut load),
        DEFAULT_MODULE.len()
    );

    let edits = edited_modules(env_usize("BENCH_EDITS", 5));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cse.wasm");
    std::fs::write(&path, DEFAULT_MODULE).unwrap();
    let swaps: [(&str, bool); 4] = [
        ("unseen code: no function cached", false),
        ("edited module: one match field added", false),
        ("the other bundled module (ECS after CSE)", false),
        ("same module, from the compiled-module cache", true),
    ];
    for (case, (label, cached)) in swaps.into_iter().enumerate() {
        let cache = cached.then(|| Cache::new(dir.path().join("cache")));
        std::fs::write(&path, DEFAULT_MODULE).unwrap();
        let registry = Registry::new(
            runtime.clone(),
            ModuleSource::File(path.clone()),
            "{}".into(),
            cache,
        )
        .unwrap();
        let _watch = registry.watch().unwrap();
        let modules: Vec<Vec<u8>> = match case {
            0 => (0..10)
                .map(|i| with_custom_section(DEFAULT_MODULE, &format!("unseen-{i}")))
                .collect(),
            1 => edits.clone(),
            // CSE, ECS, CSE, ...: each seen once as a whole (the custom
            // section), the library they share compiled.
            2 => (0..10)
                .map(|i| {
                    let module = if i % 2 == 0 {
                        ECS_MODULE
                    } else {
                        DEFAULT_MODULE
                    };
                    with_custom_section(module, &format!("other-{i}"))
                })
                .collect(),
            // The first two swaps compile and fill the cache.
            _ => (0..12)
                .map(|i| with_custom_section(DEFAULT_MODULE, &format!("cached-{}", i % 2)))
                .collect(),
        };
        let skip = if cached { 2 } else { 0 };
        let before = runtime.function_cache().stats();
        let mut times = Vec::new();
        for bytes in &modules {
            if case == 0 {
                runtime.function_cache().clear();
            }
            let generation = registry.generation();
            let tmp = dir.path().join("cse.wasm.tmp");
            std::fs::write(&tmp, bytes).unwrap();
            let start = Instant::now();
            std::fs::rename(&tmp, &path).unwrap();
            while registry.generation() == generation {
                if start.elapsed() > Duration::from_secs(10) {
                    panic!("no swap within 10 s");
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            std::thread::sleep(Duration::from_millis(50));
        }
        let after = runtime.function_cache().stats();
        let mut t = times[skip..].to_vec();
        if t.is_empty() {
            println!("swap latency ({label}): no modules (BENCH_EDITS=0)");
            continue;
        }
        let (hits, misses) = (after.hits - before.hits, after.misses - before.misses);
        println!(
            "swap latency ({label}): median {:.1} ms, max {:.1} ms over {} swaps; functions compiled {:.0} per swap, taken from the function cache {:.0}",
            median(&mut t),
            t[t.len() - 1],
            t.len(),
            misses as f64 / modules.len() as f64,
            hits as f64 / modules.len() as f64,
        );
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `n` edits of the default module as a developer makes them: its source
/// with one more default match field (`benchEdit<k>_ip`), a different one
/// each time, built the way the bundled module is (host/build.rs). Built
/// once into target/bench-edits; later runs rebuild only what changed.
fn edited_modules(n: usize) -> Vec<Vec<u8>> {
    if n == 0 {
        return Vec::new();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let work = root.join("target").join("bench-edits");
    let source = std::fs::read_to_string(root.join("enricher-wasm/src/settings.rs")).unwrap();
    let anchor = "(\"http_url\", Url),\n";
    assert!(
        source.contains(anchor),
        "enricher-wasm's field list changed"
    );
    let started = Instant::now();
    let mut out = Vec::new();
    for k in 0..n {
        let dir = work.join(format!("edit-{k}"));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        for file in ["lib.rs", "policy.rs"] {
            std::fs::copy(
                root.join("enricher-wasm/src").join(file),
                dir.join("src").join(file),
            )
            .unwrap();
        }
        let edited = source.replace(
            anchor,
            &format!("{anchor}        (\"benchEdit{k}_ip\", Ip),\n"),
        );
        write_if_changed(&dir.join("src/settings.rs"), &edited);
        write_if_changed(
            &dir.join("Cargo.toml"),
            &format!(
                r#"[package]
name = "taxiway-enricher"
version = "0.1.{k}"
edition = "2024"

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
taxiway-enricher-core = {{ path = "{core}" }}
wit-bindgen = {{ version = "0.63", default-features = false, features = ["macros", "realloc"] }}

[workspace]
"#,
                core = root.join("enricher-core").display()
            ),
        );
        if !dir.join("Cargo.lock").exists() {
            std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        }
        let target = work.join("target");
        let mut cargo = std::process::Command::new(env!("CARGO"));
        cargo
            .current_dir(&dir)
            .args(["build", "--quiet", "--release", "--target", "wasm32-wasip2"])
            .arg("--target-dir")
            .arg(&target);
        guest_profile::guest_build_env(&mut cargo);
        let status = cargo
            .status()
            .expect("running cargo for the edited modules");
        assert!(status.success(), "building edited module {k} failed");
        let wasm = target.join("wasm32-wasip2/release/taxiway_enricher.wasm");
        out.push(std::fs::read(wasm).unwrap());
    }
    println!(
        "built {n} edited modules in {:.1} s (target/bench-edits)",
        started.elapsed().as_secs_f64()
    );
    out
}

fn write_if_changed(path: &std::path::Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).unwrap();
    }
}

/// User + system CPU time of the whole process so far, in clock ticks
/// (1/100 s), from /proc/self/stat; 0 where unavailable.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

mod guest_profile {
    include!("../guest_profile.rs");
}

/// `bytes` plus a custom section named `taxiway-bench` holding `text`.
fn with_custom_section(bytes: &[u8], text: &str) -> Vec<u8> {
    let name = b"taxiway-bench";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(text.as_bytes());
    let mut out = bytes.to_vec();
    out.push(0); // custom section id
    let mut len = payload.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(&payload);
    out
}
