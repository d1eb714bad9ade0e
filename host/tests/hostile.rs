//! Hostile and broken modules: each is rejected at the step that catches it,
//! or contained record by record, while the host keeps serving.

#[path = "support/guests.rs"]
mod guests;

use std::io::Write;
use std::sync::{Arc, Mutex};

use guests::{Host, guests, json, read, replace_file, run, runtime};
use taxiway_host::module::{self, LoadError};
use taxiway_host::worker::ERROR_FIELD;

/// An empty core module: the 8-byte header and nothing else.
const CORE_MODULE: &[u8] = b"\0asm\x01\0\0\0";
const GARBAGE: &[u8] = b"#!/bin/sh\necho this is not a WebAssembly component\n";

/// tagger-a cut in half: a component header over a broken body.
fn truncated_component() -> Vec<u8> {
    let mut bytes = read(&guests().tagger_a);
    bytes.truncate(bytes.len() / 2);
    bytes
}

/// The step a [`LoadError`] names.
fn step(error: &LoadError) -> &'static str {
    match error {
        LoadError::Read { .. } => "read",
        LoadError::Format(_) => "format",
        LoadError::Compile(_) => "compile",
        LoadError::Contract(_) => "contract",
        LoadError::Link(_) => "link",
        LoadError::Configure(_) => "configure",
        LoadError::Describe(_) => "describe",
        LoadError::TestCall(_) => "test call",
    }
}

/// Load `bytes` from a file; it must be rejected at `expected` with a
/// message naming the step and containing every one of `says`.
fn assert_rejected(bytes: &[u8], settings: &str, expected: &str, says: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("module.wasm");
    std::fs::write(&path, bytes).unwrap();
    let runtime = runtime();
    let cache = module::Cache::new(dir.path().join("cache"));
    let error = match module::load_file(&runtime, &path, settings, Some(&cache)) {
        Ok(m) => panic!("expected a rejection at `{expected}`, loaded {:?}", m.info),
        Err(e) => e,
    };
    let message = error.to_string();
    assert_eq!(step(&error), expected, "wrong step: {message}");
    assert!(
        message.contains(&format!("step `{expected}`")),
        "the message does not name the step: {message}"
    );
    for s in says {
        assert!(message.contains(s), "{message:?} does not mention {s:?}");
    }
    message
}

#[test]
fn bad_modules_are_rejected_at_the_step_that_catches_them() {
    let g = guests();
    let runtime = runtime();

    let missing = tempfile::tempdir().unwrap().path().join("absent.wasm");
    let error = module::load_file(&runtime, &missing, "{}", None).unwrap_err();
    assert_eq!(step(&error), "read");
    assert!(error.to_string().contains("absent.wasm"), "{error}");

    assert_rejected(GARBAGE, "{}", "format", &["not a WebAssembly file"]);
    assert_rejected(b"", "{}", "format", &["not a WebAssembly file"]);
    assert_rejected(CORE_MODULE, "{}", "format", &["core", "component"]);
    assert_rejected(&truncated_component(), "{}", "compile", &[]);
    assert_rejected(
        &read(&g.wrong_version),
        "{}",
        "contract",
        &["taxiway:enrich@0.2.0", ">=0.1.0, <0.2.0"],
    );
    assert_rejected(
        &read(&g.hostile),
        r#"{"mode":"configure-fail"}"#,
        "configure",
        &["configure was asked to fail"],
    );
    assert_rejected(
        &read(&g.hostile),
        r#"{"mode":"configure-loop"}"#,
        "configure",
        // The wording: a_hung_configure_is_reported_as_a_deadline.
        &[],
    );
    // The same modules load with harmless settings.
    let hostile = module::load_file(&runtime, &g.hostile, "{}", None).unwrap();
    assert_eq!(hostile.info.name, "hostile");
    assert_eq!(&*hostile.label, "hostile@6.6.6");
}

/// An `enrich` whose parameter type differs from the contract's: exports
/// are matched at the first instantiation, which counts as `link`.
#[test]
fn wrong_signature_is_rejected_at_link() {
    assert_rejected(
        &read(&guests().wrong_signature),
        "{}",
        "link",
        &["expected `list` found `string`"],
    );
}

/// A module that loops in `configure` is cut off, and the error says it ran
/// past its deadline.
#[test]
fn a_hung_configure_is_reported_as_a_deadline() {
    assert_rejected(
        &read(&guests().hostile),
        r#"{"mode":"configure-loop"}"#,
        "configure",
        &["deadline"],
    );
}

#[test]
fn a_registry_keeps_serving_through_bad_modules() {
    let g = guests();
    // Settings the taggers ignore but that make the hostile module's
    // configure fail.
    let host = Host::serve(&g.tagger_a, r#"{"hostile":"configure-fail"}"#);
    let mut worker = host.worker();
    let served = host.registry.serving();
    let generation = host.registry.generation();

    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", GARBAGE.to_vec()),
        ("empty file", Vec::new()),
        ("core module", CORE_MODULE.to_vec()),
        ("truncated component", truncated_component()),
        ("wrong contract version", read(&g.wrong_version)),
        ("wrong signature", read(&g.wrong_signature)),
        ("failing configure", read(&g.hostile)),
    ];
    for (i, (what, bytes)) in bad.iter().enumerate() {
        replace_file(&host.module_path, bytes);
        match host.registry.reload() {
            Ok(m) => panic!("{what}: reload swapped in {:?}", m.info),
            Err(e) => eprintln!("{what}: {e}"),
        }
        assert!(
            Arc::ptr_eq(&host.registry.serving(), &served),
            "{what}: the serving module changed"
        );
        assert_eq!(host.registry.generation(), generation, "{what}");
        assert_eq!(
            host.registry
                .stats
                .rejected
                .load(std::sync::atomic::Ordering::Relaxed),
            i as u64 + 1
        );
        let (lines, result) = run(&mut worker, &[r#"{"ip":"192.0.2.1"}"#, r#"{"x":1}"#]);
        assert_eq!(result.module.info.version, "1.0.0-a", "{what}");
        assert_eq!(result.stats.failed_calls, 0, "{what}");
        assert_eq!(result.stats.tagged, 1, "{what}");
        assert_eq!(lines[0], r#"{"ip":"192.0.2.1","taggedBy":"a","hits":1}"#);
        assert_eq!(lines[1], r#"{"x":1,"taggedBy":"a","hits":0}"#);
    }

    // A good module still swaps in after all that.
    replace_file(&host.module_path, &read(&g.tagger_b));
    let swapped = host.registry.reload().expect("tagger-b loads");
    assert_eq!(swapped.info.version, "1.0.0-b");
    let (lines, _) = run(&mut worker, &[r#"{"x":1}"#]);
    assert_eq!(lines[0], r#"{"x":1,"taggedBy":"b","hits":0}"#);
}

#[test]
fn a_registry_rejects_a_module_whose_configure_hangs() {
    let g = guests();
    let host = Host::serve(&g.tagger_a, r#"{"hostile":"configure-loop"}"#);
    replace_file(&host.module_path, &read(&g.hostile));
    let error = host.registry.reload().unwrap_err();
    assert!(matches!(error, LoadError::Configure(_)), "{error}");
    assert_eq!(host.registry.serving().info.version, "1.0.0-a");
    let (lines, _) = run(&mut host.worker(), &[r#"{"x":1}"#]);
    assert_eq!(lines[0], r#"{"x":1,"taggedBy":"a","hits":0}"#);
}

/// Record `i` of the hostile batch: a marker at a few positions.
fn hostile_record(i: usize) -> String {
    let marker = match i {
        5 => "loop",
        17 => "bomb",
        30 => "panic",
        41 => "fail",
        58 => "short",
        _ => "fine",
    };
    format!(r#"{{"i":{i},"note":"{marker}","nested":{{"k":[1,2]}}}}"#)
}

#[test]
fn hostile_records_are_passed_through_with_the_error_marker() {
    let host = Host::serve(&guests().hostile, "{}");
    let mut worker = host.worker();
    let records: Vec<String> = (0..64).map(hostile_record).collect();
    let (lines, result) = run(&mut worker, &records);

    for (i, line) in lines.iter().enumerate() {
        let record = json(line);
        assert_eq!(record["i"], i, "out of order: {line}");
        assert_eq!(record["nested"]["k"][1], 2, "{line}");
        let note = record["note"].as_str().unwrap();
        if note == "fine" {
            assert_eq!(record.get("ok"), Some(&serde_json::Value::Bool(true)));
            assert!(!record.contains_key(ERROR_FIELD), "{line}");
            continue;
        }
        // Passed through unchanged but for the marker.
        assert!(!record.contains_key("ok"), "{line}");
        assert_eq!(record.len(), 4, "{line}");
        let error = record[ERROR_FIELD].as_str().expect("an error marker");
        eprintln!("{note}: {error}");
        assert!(error.contains("hostile@6.6.6"), "{note}: {error}");
        let expected = match note {
            // The wording: a_looping_record_is_reported_as_a_deadline.
            "loop" => "hostile@6.6.6",
            "bomb" => "memory limit exceeded",
            "panic" => "trapped",
            "fail" => "asked to fail",
            "short" => "1 records went in, 0 lines came out",
            other => panic!("unexpected note {other}"),
        };
        assert!(error.contains(expected), "{note}: {error}");
        // The marked record is the input record with the marker spliced in.
        let input = &records[i];
        assert!(
            line.starts_with(&input[..input.len() - 1]),
            "{note}: {line} does not keep {input}"
        );
    }
    assert_eq!(result.stats.records, 64);
    assert_eq!(result.stats.errored, 5, "{:?}", result.stats);
    assert_eq!(result.stats.tagged, 0);
    assert!(result.stats.traps >= 3, "{:?}", result.stats);
    assert!(result.stats.failed_calls >= 5, "{:?}", result.stats);

    // The host keeps serving: a clean batch on the same worker.
    let clean: Vec<String> = (0..64).map(|i| format!(r#"{{"i":{i}}}"#)).collect();
    let (lines, result) = run(&mut worker, &clean);
    assert_eq!(result.stats.failed_calls, 0);
    assert_eq!(result.stats.errored, 0);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line, &format!(r#"{{"i":{i},"ok":true}}"#));
    }
}

/// A record that makes the module loop is passed through, its marker saying
/// the module ran past its deadline.
#[test]
fn a_looping_record_is_reported_as_a_deadline() {
    let host = Host::serve(&guests().hostile, "{}");
    let (lines, result) = run(&mut host.worker(), &[r#"{"a":"loop"}"#, r#"{"b":1}"#]);
    assert_eq!(result.stats.errored, 1);
    assert_eq!(lines[1], r#"{"b":1,"ok":true}"#);
    let error = json(&lines[0])[ERROR_FIELD].as_str().unwrap().to_string();
    assert!(error.contains("deadline"), "{error}");
}

/// New limits reach a worker's live instance at its next batch, without a
/// module reload: the instance made under the old memory cap is replaced.
#[test]
fn new_limits_replace_a_live_instance() {
    let host = Host::serve(&guests().hostile, "{}");
    let mut worker = host.worker();
    let bomb = |worker: &mut _| {
        let (lines, result) = run(worker, &[r#"{"a":"bomb"}"#]);
        assert_eq!(result.stats.errored, 1);
        json(&lines[0])[ERROR_FIELD].as_str().unwrap().to_string()
    };
    let error = bomb(&mut worker);
    assert!(error.contains("the limit is 64 MiB"), "{error}");
    // The worker now holds a live instance made under the 64 MiB cap.
    let (lines, _) = run(&mut worker, &[r#"{"b":1}"#]);
    assert_eq!(lines[0], r#"{"b":1,"ok":true}"#);
    let module = host.registry.serving();
    host.runtime.set_limits(taxiway_host::limits::Limits {
        max_memory: 40 << 20,
        ..guests::limits()
    });
    let error = bomb(&mut worker);
    assert!(error.contains("the limit is 40 MiB"), "{error}");
    assert!(
        Arc::ptr_eq(&module, &host.registry.serving()),
        "the same module serves: only the limits changed"
    );
}

/// A record that makes the module wait on a clock (a two-minute sleep) is
/// cut off by the deadline like a loop is: waiting in a host call does not
/// escape it. (Were WASI's waits not bounded, for instance because a
/// wasmtime-wasi update renamed the interface `bound_waits` replaces, this
/// fails on the time after two minutes rather than hanging.)
#[test]
fn a_sleeping_record_is_reported_as_a_deadline() {
    let host = Host::serve(&guests().hostile, "{}");
    let started = std::time::Instant::now();
    let (lines, result) = run(&mut host.worker(), &[r#"{"a":"sleep"}"#, r#"{"b":1}"#]);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(result.stats.errored, 1);
    assert_eq!(lines[1], r#"{"b":1,"ok":true}"#);
    let error = json(&lines[0])[ERROR_FIELD].as_str().unwrap().to_string();
    assert!(error.contains("deadline"), "{error}");
}

/// A writer the test's log subscriber writes into.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn module_output_goes_to_the_log_with_the_module_name() {
    // The global subscriber: the module's output may be logged from any
    // thread. Other tests' modules log too; this test's lines carry its
    // settings.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");

    let settings = r#"{"greeting":"hello from the log test"}"#;
    let host = Host::serve(&guests().hostile, settings);
    // Every worker configures its own instance, which prints again.
    for _ in 0..3 {
        let (lines, _) = run(&mut host.worker(), &[r#"{"x":1}"#]);
        assert_eq!(lines[0], r#"{"x":1,"ok":true}"#);
    }
    drop(host);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let count = |needle: &str| {
        log.lines()
            .filter(|l| l.contains("hostile@6.6.6") && l.contains(needle))
            .count()
    };
    assert_eq!(
        count(&format!(
            "INFO taxiway::module: hostile@6.6.6: hostile: configure called with {settings}"
        )),
        3,
        "{log}"
    );
    assert_eq!(
        count(&format!(
            "WARN taxiway::module: hostile@6.6.6: hostile: on stderr, settings {settings}"
        )),
        3,
        "{log}"
    );

    // A module printing 3,000 lines in one call: at most 1,000 lines per
    // 10 s reach the log (other tests' hostile modules count against the
    // same budget), and a warning says the rest are dropped.
    let host = Host::serve(&guests().hostile, "{}");
    let (lines, _) = run(&mut host.worker(), &[r#"{"n":"chatty"}"#]);
    assert_eq!(lines[0], r#"{"n":"chatty","ok":true}"#);
    drop(host);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let chatter = log
        .lines()
        .filter(|l| l.contains("hostile: chatter"))
        .count();
    // Fewer than were printed (at most 1,000 per window; a window may end
    // mid-burst on a slow machine).
    assert!((1..3000).contains(&chatter), "{chatter} lines of chatter");
    assert!(
        log.contains("hostile@6.6.6: more than 1000 output lines in 10s"),
        "{log}"
    );
}
