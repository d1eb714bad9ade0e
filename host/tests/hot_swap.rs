//! Swapping modules while batches run: nothing lost, nothing split.

#[path = "support/guests.rs"]
mod guests;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use guests::{Host, LISTED_IP, guests, read, replace_file, run, runtime};
use taxiway_host::module::LoadError;
use taxiway_host::registry::{ModuleSource, Registry};
use taxiway_host::worker::{Batch, Worker};

const BATCH: usize = 64;
/// The worker runs at least this many batches, and on until the swaps are done.
const MIN_BATCHES: usize = 3000;
const SWAPS: usize = 30;

/// Wait until `done` holds, failing the test after a generous timeout.
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        thread::sleep(Duration::from_millis(2));
    }
}

/// What the worker thread saw.
#[derive(Debug, Default)]
struct Seen {
    batches: usize,
    records: u64,
    a: usize,
    b: usize,
    /// Batches served by another variant than the batch before.
    changes: usize,
}

/// Run batches of `{"n":<seq>,"ip":LISTED_IP}` until `stop` (and at least
/// [`MIN_BATCHES`]), checking every line of every batch as it comes out.
fn run_batches(mut worker: Worker, stop: &AtomicBool) -> Seen {
    let mut seen = Seen::default();
    let mut next = 0u64;
    let mut batch = Batch::new();
    let mut out = Vec::new();
    let mut last = None;
    while seen.batches < MIN_BATCHES || !stop.load(Ordering::Acquire) {
        batch.clear();
        let first = next;
        for _ in 0..BATCH {
            batch.push(format!(r#"{{"n":{next},"ip":"{LISTED_IP}"}}"#).as_bytes());
            next += 1;
        }
        out.clear();
        let result = worker.enrich(&batch, &mut out);
        assert_eq!(result.stats.failed_calls, 0, "batch {}", seen.batches);
        assert_eq!(result.stats.tagged, BATCH as u64);

        let version = &result.module.info.version;
        let variant = version
            .strip_prefix("1.0.0-")
            .unwrap_or_else(|| panic!("served by {version}"));
        let text = std::str::from_utf8(&out).unwrap();
        let mut lines = 0;
        for (i, line) in text.lines().enumerate() {
            lines += 1;
            // The module splices its fields in; count them in the text, as
            // a JSON parser would fold duplicates.
            assert_eq!(
                line.matches("\"taggedBy\"").count(),
                1,
                "not tagged exactly once: {line}"
            );
            let n = first + i as u64;
            assert_eq!(
                line,
                format!(r#"{{"n":{n},"ip":"{LISTED_IP}","taggedBy":"{variant}","hits":1}}"#),
                "batch {} served by {version}",
                seen.batches
            );
        }
        assert_eq!(lines, BATCH, "batch {}", seen.batches);

        match variant {
            "a" => seen.a += 1,
            "b" => seen.b += 1,
            other => panic!("unknown variant {other}"),
        }
        if last.is_some_and(|l| l != variant) {
            seen.changes += 1;
        }
        last = Some(variant.to_string());
        seen.batches += 1;
        seen.records += BATCH as u64;
    }
    assert_eq!(next, seen.records);
    seen
}

#[test]
fn modules_swap_under_load_without_losing_or_splitting_a_batch() {
    let g = guests();
    let a = read(&g.tagger_a);
    let b = read(&g.tagger_b);
    let host = Host::serve(&g.tagger_a, "{}");
    let _watch = host
        .registry
        .watch()
        .expect("watching the module file")
        .expect("a file source is watched");
    let registry = &host.registry;
    let stop = AtomicBool::new(false);
    let started = Instant::now();

    let seen = thread::scope(|s| {
        let worker = host.worker();
        let stop = &stop;
        let batches = s.spawn(move || run_batches(worker, stop));

        for i in 0..SWAPS {
            thread::sleep(Duration::from_millis(20));
            let (bytes, version) = if i % 2 == 0 {
                (&b, "1.0.0-b")
            } else {
                (&a, "1.0.0-a")
            };
            let generation = registry.generation();
            replace_file(&host.module_path, bytes);
            wait_for(&format!("swap {i} to {version}"), || {
                registry.generation() > generation
            });
            assert_eq!(registry.serving().info.version, version);

            if i == SWAPS / 2 {
                // Garbage is rejected and the module serving stays.
                let serving = registry.serving();
                let generation = registry.generation();
                let rejected = registry.stats.rejected.load(Ordering::Relaxed);
                replace_file(&host.module_path, b"not a module at all");
                wait_for("the garbage to be rejected", || {
                    registry.stats.rejected.load(Ordering::Relaxed) > rejected
                });
                assert!(Arc::ptr_eq(&registry.serving(), &serving));
                assert_eq!(registry.generation(), generation);
            }
        }
        stop.store(true, Ordering::Release);
        batches.join().expect("the worker thread")
    });
    eprintln!("{seen:?} in {:?}", started.elapsed());

    assert!(seen.batches >= MIN_BATCHES);
    assert!(seen.a > 0 && seen.b > 0, "{seen:?}");
    // The worker ran through the swaps, not before or after them.
    assert!(seen.changes >= 5, "{seen:?}");
    let swaps = registry.stats.swaps.load(Ordering::Relaxed);
    let rejected = registry.stats.rejected.load(Ordering::Relaxed);
    assert!(swaps >= SWAPS as u64, "{swaps} swaps");
    assert!(rejected >= 1, "{rejected} rejected");
    assert_eq!(registry.generation(), 1 + swaps);
}

#[test]
fn reload_without_a_change_revalidates_and_keeps_serving() {
    let host = Host::serve(&guests().tagger_a, "{}");
    let mut worker = host.worker();
    let (lines, _) = run(&mut worker, &[r#"{"x":1}"#]);
    assert_eq!(lines[0], r#"{"x":1,"taggedBy":"a","hits":0}"#);

    let before = host.registry.serving();
    let reloaded = host.registry.reload().expect("the same module reloads");
    assert!(!Arc::ptr_eq(&before, &reloaded), "a fresh load");
    assert!(Arc::ptr_eq(&host.registry.serving(), &reloaded));
    assert_eq!(reloaded.info.digest, before.info.digest);
    assert_eq!(reloaded.info.version, "1.0.0-a");
    assert_eq!(host.registry.generation(), 2);
    assert_eq!(host.registry.stats.swaps.load(Ordering::Relaxed), 1);

    // The worker moves to the reloaded module between batches.
    let (lines, result) = run(&mut worker, &[r#"{"ip":"192.0.2.1"}"#]);
    assert!(Arc::ptr_eq(&result.module, &reloaded));
    assert_eq!(lines[0], r#"{"ip":"192.0.2.1","taggedBy":"a","hits":1}"#);

    // A vanished file is rejected at `read`; the module keeps serving.
    std::fs::remove_file(&host.module_path).unwrap();
    let error = host.registry.reload().unwrap_err();
    assert!(matches!(error, LoadError::Read { .. }), "{error}");
    assert!(Arc::ptr_eq(&host.registry.serving(), &reloaded));
    let (lines, _) = run(&mut worker, &[r#"{"x":2}"#]);
    assert_eq!(lines[0], r#"{"x":2,"taggedBy":"a","hits":0}"#);
}

#[test]
fn a_module_folder_resolves_to_its_only_module_and_reloads() {
    let g = guests();
    let dir = tempfile::tempdir().unwrap();
    let err = ModuleSource::resolve(dir.path(), None).unwrap_err();
    assert!(err.contains("no .wasm module"), "{err}");

    let tagger = dir.path().join("tagger.wasm");
    std::fs::copy(&g.tagger_a, &tagger).unwrap();
    std::fs::write(dir.path().join("README.txt"), "not a module").unwrap();
    let source = ModuleSource::resolve(dir.path(), None).unwrap();
    let ModuleSource::File(path) = &source else {
        panic!("{source:?}")
    };
    assert_eq!(path, &tagger);

    let runtime = runtime();
    let registry = Registry::new(runtime.clone(), source, "{}".into(), None).unwrap();
    assert_eq!(registry.serving().info.version, "1.0.0-a");
    // No SIGHUP needed: a reload picks up the new file.
    replace_file(&tagger, &read(&g.tagger_b));
    assert_eq!(registry.reload().unwrap().info.version, "1.0.0-b");
    let mut worker = Worker::new(runtime, registry.clone(), guests::indicator_store());
    let (lines, _) = run(&mut worker, &[r#"{"x":1}"#]);
    assert_eq!(lines[0], r#"{"x":1,"taggedBy":"b","hits":0}"#);

    // Two modules: the folder is ambiguous without a name.
    std::fs::copy(&g.hostile, dir.path().join("hostile.wasm")).unwrap();
    let err = ModuleSource::resolve(dir.path(), None).unwrap_err();
    assert!(err.contains("--module-name"), "{err}");
    assert!(err.contains("2 modules"), "{err}");
    let named = ModuleSource::resolve(dir.path(), Some("hostile")).unwrap();
    let ModuleSource::File(path) = &named else {
        panic!("{named:?}")
    };
    assert_eq!(path, &dir.path().join("hostile.wasm"));
    let registry = Registry::new(guests::runtime(), named, "{}".into(), None).unwrap();
    assert_eq!(registry.serving().info.name, "hostile");
}

#[test]
fn builtin_module_specs_resolve_to_the_embedded_modules() {
    use taxiway_host::registry::{BUILTIN_MODULES, DEFAULT_BUILTIN, builtin_module, builtin_names};
    assert_eq!(builtin_names().collect::<Vec<_>>(), ["cse", "ecs"]);
    assert_eq!(
        ModuleSource::default(),
        ModuleSource::BuiltIn(DEFAULT_BUILTIN)
    );
    for (name, bytes) in BUILTIN_MODULES {
        assert!(bytes.starts_with(b"\0asm"), "{name}");
        assert_eq!(builtin_module(name), Some(*bytes));
        let spec = format!("builtin:{name}");
        let source: ModuleSource = spec.parse().unwrap();
        assert_eq!(source, ModuleSource::BuiltIn(name));
        assert_eq!(source.to_string(), spec, "Display reads back");
        let registry = Registry::new(runtime(), source, "{}".into(), None).unwrap();
        assert_eq!(registry.serving().info.name, *name);
        assert!(registry.watch().unwrap().is_none(), "nothing to watch");
    }
    assert_eq!(builtin_module("nope"), None);
    let err = "builtin:nope".parse::<ModuleSource>().unwrap_err();
    assert!(err.contains("builtin:cse, builtin:ecs"), "{err}");
    let err = ModuleSource::resolve(std::path::Path::new("builtin:ecs"), Some("x")).unwrap_err();
    assert!(err.contains("built-in module"), "{err}");
    // A file of that name is reached through a path.
    assert_eq!(
        "./builtin:ecs".parse::<ModuleSource>().unwrap(),
        ModuleSource::File("./builtin:ecs".into())
    );
}
