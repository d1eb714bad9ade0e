//! The `taxiway` binary with test modules.

#[path = "support/guests.rs"]
mod guests;

use std::path::Path;
use std::process::{Command, Output};

use guests::{LISTED_IP, guests, json};
use taxiway_host::worker::ERROR_FIELD;

/// Run `taxiway` with `args`, its module cache in `dir`.
fn taxiway(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taxiway"))
        .args(args)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .env_remove("RUST_LOG")
        .output()
        .expect("running taxiway")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

#[test]
fn module_check_prints_what_the_module_describes() {
    let dir = tempfile::tempdir().unwrap();
    let out = taxiway(dir.path(), &["module", "check", path(&guests().tagger_a)]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("passed every check"), "{stdout}");
    for line in [
        "name:             tagger",
        "version:          1.0.0-a",
        "contract version: 0.1.0",
        "output format:    test",
    ] {
        assert!(stdout.contains(line), "no {line:?} in {stdout}");
    }
}

#[test]
fn module_check_fails_on_bad_modules_naming_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"garbage, not wasm").unwrap();
    let cases = [
        (path(&garbage), vec!["step `format`"]),
        (
            path(&guests().wrong_version),
            vec!["step `contract`", "taxiway:enrich@0.2.0", ">=0.1.0, <0.2.0"],
        ),
    ];
    for (module, says) in cases {
        let out = taxiway(dir.path(), &["module", "check", module]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{module}: {}", text(&out.stdout));
        for s in says {
            assert!(stderr.contains(s), "{module}: no {s:?} in {stderr}");
        }
    }
}

/// One indicator, for [`LISTED_IP`].
fn indicators(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("indicators.ndjson");
    std::fs::write(
        &file,
        format!(
            r#"{{"id":"indicator--1","indicator":"{LISTED_IP}","type":"ipv4-addr","source":"TestFeed","validUntil":"2099-01-01T00:00:00Z"}}"#
        ) + "\n",
    )
    .unwrap();
    file
}

#[test]
fn enrich_passes_a_panicking_record_through_with_the_error_marker() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("records.ndjson");
    std::fs::write(
        &input,
        "{\"i\":0}\n{\"i\":1,\"say\":\"panic\"}\n\n{\"i\":2}\n{\"i\":3}\n",
    )
    .unwrap();
    let out = taxiway(
        dir.path(),
        &[
            "enrich",
            "--module",
            path(&guests().hostile),
            "--indicators",
            path(&indicators(dir.path())),
            "--deadline",
            "500ms",
            path(&input),
        ],
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    for (i, line) in lines.iter().enumerate() {
        let record = json(line);
        assert_eq!(record["i"], i, "{stdout}");
        if i == 1 {
            assert_eq!(record["say"], "panic");
            let error = record[ERROR_FIELD].as_str().expect("an error marker");
            assert!(error.contains("hostile@6.6.6"), "{error}");
            assert!(!record.contains_key("ok"), "{line}");
        } else {
            assert_eq!(line, &format!("{{\"i\":{i},\"ok\":true}}"));
        }
    }
    assert!(
        stderr.contains("4 records, 0 tagged, 1 errored"),
        "{stderr}"
    );
}

#[test]
fn enrich_with_a_module_file_looks_up_the_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("records.ndjson");
    std::fs::write(
        &input,
        format!("{{\"ip\":\"{LISTED_IP}\"}}\n{{\"ip\":\"203.0.113.9\"}}\n"),
    )
    .unwrap();
    let output = dir.path().join("out.ndjson");
    let out = taxiway(
        dir.path(),
        &[
            "enrich",
            "--module",
            path(&guests().tagger_b),
            "--indicators",
            path(&indicators(dir.path())),
            "--output",
            path(&output),
            path(&input),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&output).unwrap();
    assert_eq!(
        written,
        format!(
            "{{\"ip\":\"{LISTED_IP}\",\"taggedBy\":\"b\",\"hits\":1}}\n\
             {{\"ip\":\"203.0.113.9\",\"taggedBy\":\"b\",\"hits\":0}}\n"
        )
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("2 records, 1 tagged, 0 errored"),
        "{stderr}"
    );
    assert!(stderr.contains("module tagger@1.0.0-b"), "{stderr}");
}

/// `--only-tagged` writes the tagged and error-marked records only, in
/// order, across batches, and still counts every record.
#[test]
fn enrich_only_tagged_writes_the_changed_records_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("records.ndjson");
    let mut records = String::new();
    for i in 0..10 {
        let ip = if i % 4 == 1 { LISTED_IP } else { "203.0.113.9" };
        records += &format!("{{\"i\":{i},\"srcDevice_ip\":\"{ip}\"}}\r\n");
        if i == 6 {
            records += "not json\n\n";
        }
    }
    std::fs::write(&input, records).unwrap();
    let out = taxiway(
        dir.path(),
        &[
            "enrich",
            "--only-tagged",
            "--batch",
            "3",
            "--indicators",
            path(&indicators(dir.path())),
            path(&input),
        ],
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    for (line, i) in lines.iter().zip([1, 5]) {
        let record = json(line);
        assert_eq!(record["i"], i, "{stdout}");
        assert_eq!(record["matchedItems"][0]["value"], LISTED_IP, "{line}");
    }
    assert!(json(lines[2]).contains_key(ERROR_FIELD), "{stdout}");
    assert_eq!(json(lines[3])["i"], 9, "{stdout}");
    assert!(
        stderr.contains("11 records, 3 tagged, 1 errored"),
        "{stderr}"
    );
}

/// SIGHUP makes a running `taxiway enrich` reload (and re-check) its module;
/// records keep flowing before and after.
#[test]
fn sighup_reloads_the_module_while_enriching() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::sync::mpsc;

    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("tagger.wasm");
    std::fs::copy(&guests().tagger_a, &module).unwrap();
    let indicators = indicators(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_taxiway"))
        .args(["--log", "info", "enrich", "--batch", "1", "--module"])
        .arg(&module)
        .arg("--indicators")
        .arg(&indicators)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Log lines arrive on a channel so the test can wait for each one.
    let (tx, rx) = mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(e) => panic!("no log line with {needle:?}: {e}"),
            }
        }
    };
    wait_for("module serving");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut roundtrip = |n: u32| {
        writeln!(stdin, r#"{{"n":{n},"ip":"{LISTED_IP}"}}"#).unwrap();
        stdin.flush().unwrap();
    };
    roundtrip(1);
    let status = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("SIGHUP: reloading the module");
    let swapped = wait_for("module swapped");
    assert!(swapped.contains("tagger@1.0.0-a"), "{swapped}");
    roundtrip(2);
    drop(stdin);
    let mut lines = Vec::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 {
        lines.push(json(line.trim_end()));
        line.clear();
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(lines.len(), 2);
    for (i, v) in lines.iter().enumerate() {
        assert_eq!(v["n"], i as u64 + 1);
        assert_eq!(v["taggedBy"], "a");
    }
}

#[test]
fn builtin_modules_are_named_where_a_module_path_goes() {
    let dir = tempfile::tempdir().unwrap();
    let out = taxiway(dir.path(), &["module", "check", "builtin:ecs"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("ok: builtin:ecs passed every check"),
        "{stdout}"
    );
    assert!(stdout.contains("output format:    ecs"), "{stdout}");

    let out = taxiway(dir.path(), &["module", "check", "builtin:nope"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("builtin:cse, builtin:ecs"), "{stderr}");

    let input = dir.path().join("records.ndjson");
    std::fs::write(
        &input,
        format!("{{\"source\":{{\"ip\":\"{LISTED_IP}\"}}}}\n{{\"source.ip\":\"203.0.113.9\"}}\n"),
    )
    .unwrap();
    let out = taxiway(
        dir.path(),
        &[
            "enrich",
            "--module",
            "builtin:ecs",
            "--indicators",
            path(&indicators(dir.path())),
            path(&input),
        ],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("2 records, 1 tagged, 0 errored"),
        "{stderr}"
    );
    assert!(stderr.contains("module ecs@"), "{stderr}");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let tagged = json(lines[0]);
    assert_eq!(
        tagged["threat"]["enrichments"][0]["matched"]["id"],
        "indicator--1"
    );
    assert_eq!(lines[1], r#"{"source.ip":"203.0.113.9"}"#);
}
