//! `taxiway serve` as a real process: against a real OpenTAXII 0.9.3 (from
//! PyPI, see poller/tests/support/opentaxii.rs) and the built-in demo TAXII
//! server, through its HTTP API.

#[path = "support/guests.rs"]
mod guests;
#[path = "../../poller/tests/support/opentaxii.rs"]
mod opentaxii;
#[path = "support/service.rs"]
mod service;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use opentaxii::{OpenTaxii, READER};
use serde_json::json;
use service::{Service, TOKEN, write_config};

fn ips(range: std::ops::Range<u32>) -> Vec<(&'static str, String)> {
    range
        .map(|i| ("ipv4-addr", format!("203.0.113.{i}")))
        .collect()
}

fn cse_record(ip: &str) -> String {
    json!({"objectType": "Network", "srcDevice_ip": ip, "dstDevice_ip": "10.1.1.1", "dstPort": 443})
        .to_string()
}

fn matches(s: &Service, value: &str) -> Vec<serde_json::Value> {
    let r = s.get(&format!("/v1/indicators?value={value}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["matches"].as_array().unwrap().clone()
}

fn feed_toml(server: &OpenTaxii, dir: &std::path::Path, name: &str, collections: &str) -> String {
    let password = dir.join(format!("{name}.password"));
    std::fs::write(&password, format!("{}\n", READER.1)).unwrap();
    format!(
        "[[feed]]\nname = \"{name}\"\ndescription = \"OpenTAXII under test\"\nurl = \"{}\"\npoll_interval = \"1h\"\ncollections = \"{collections}\"\nusername = \"{}\"\npassword_file = \"{}\"\nmax_lookback = \"1d\"\ntimeout = \"10s\"\n\n",
        server.discovery_url(),
        READER.0,
        password.display()
    )
}

/// Indicators appear, records are tagged over HTTP (plain and gzip), metrics
/// count them; after kill -9 the indicators are served at once from the
/// state, and the next poll fetches only what was pushed since.
#[test]
fn polls_tags_and_survives_kill_9_with_its_cursors() {
    let server = OpenTaxii::start();
    server.push(&[("ips", ips(1..3)), ("ips", ips(3..4))]);
    let dir = tempfile::tempdir().unwrap();
    let (config, port) = write_config(dir.path(), &feed_toml(&server, dir.path(), "acme", "ips"));

    let s = Service::start(&config, port);
    s.wait_for("/v1/feeds/acme", "the first poll", |r| {
        r.json()["status"]["last_success"].is_string()
    });
    for i in 1..4 {
        let m = matches(&s, &format!("203.0.113.{i}"));
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0]["feed"], "acme");
        assert_eq!(m[0]["collection"], "ips");
        assert_eq!(m[0]["kind"], "ipv4");
    }
    assert!(matches(&s, "203.0.113.9").is_empty());

    // Tagged through the API, in order, one line out per line in.
    let body = format!(
        "{}\n{}\n{}\n",
        cse_record("203.0.113.2"),
        cse_record("198.51.100.7"),
        cse_record("203.0.113.3")
    );
    let r = s.enrich(&body);
    assert_eq!(r.status, 200, "{}", r.body);
    let lines: Vec<serde_json::Value> = r
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0]["listMatches"]
            .as_array()
            .unwrap()
            .contains(&json!("acme")),
        "{}",
        r.body
    );
    assert_eq!(lines[0]["matchedItems"][0]["value"], "203.0.113.2");
    assert_eq!(
        r.body.lines().nth(1).unwrap(),
        cse_record("198.51.100.7"),
        "untagged records come back byte-identical"
    );
    assert!(
        lines[2]["listMatches"]
            .as_array()
            .unwrap()
            .contains(&json!("column:srcDevice_ip"))
    );

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(body.as_bytes()).unwrap();
    let r2 = s.send(
        "POST",
        "/v1/enrich",
        &gz.finish().unwrap(),
        &[("Content-Encoding", "gzip")],
    );
    assert_eq!(r2.status, 200, "{}", r2.body);
    assert_eq!(r2.body, r.body, "gzip bodies enrich the same");

    let metrics = s.get("/metrics").body;
    for line in [
        "taxiway_records_in_total 6",
        "taxiway_records_tagged_total 4",
        "taxiway_indicators{feed=\"acme\",kind=\"ipv4\"} 3",
        "taxiway_feed_polls_total{feed=\"acme\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }

    // kill -9, push more, restart: the old indicators match before any poll.
    s.kill_9();
    server.push(&[("ips", ips(10..12))]);
    let s = Service::start(&config, port);
    assert_eq!(
        matches(&s, "203.0.113.1").len(),
        1,
        "persisted indicators served at once"
    );
    assert!(
        matches(&s, "203.0.113.10").is_empty(),
        "not polled yet (interval 1h)"
    );
    let r = s.send("POST", "/v1/feeds/acme/poll?wait=true", b"", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let report = r.json();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["indicators"], 2, "only the new content: {report}");
    assert_eq!(report["held"], 5, "{report}");
    assert_eq!(matches(&s, "203.0.113.11").len(), 1);
    assert_eq!(matches(&s, "203.0.113.2").len(), 1);

    // A clean stop.
    assert!(s.stop().success());
}

/// Feeds added through the API get polled; a failing feed does not block
/// the others; the admin token is enforced; bad requests get clear errors;
/// secrets never come back.
#[test]
fn api_feeds_failing_feeds_auth_and_errors() {
    let server = OpenTaxii::start();
    server.push(&[
        ("ips", ips(20..22)),
        ("domains", vec![("domain-name", "evil.example".into())]),
    ]);
    // Indicators without a validity window: the feeds' TTLs apply.
    server.push_open_ended(&[("ips", ips(30..31))]);
    let dir = tempfile::tempdir().unwrap();
    // A feed whose server is not there, polled every second.
    let broken = "[[feed]]\nname = \"broken\"\nurl = \"http://127.0.0.1:9/services/discovery\"\npoll_interval = \"1s\"\ntimeout = \"1s\"\n\n";
    // A feed whose indicators live two seconds.
    let short = feed_toml(&server, dir.path(), "short", "ips").replace(
        "poll_interval = \"1h\"",
        "poll_interval = \"1h\"\ndefault_ttl = \"2s\"",
    );
    let (config, port) = write_config(dir.path(), &format!("{broken}{short}"));
    let s = Service::start(&config, port);

    // The short-lived feed's indicators match, then expire at once, then
    // are swept from the state.
    s.wait_for(
        "/v1/indicators?value=203.0.113.30",
        "the short feed's indicators",
        |r| {
            r.json()["matches"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["feed"] == "short"))
        },
    );
    std::thread::sleep(Duration::from_millis(2100));
    let m = matches(&s, "203.0.113.30");
    assert!(
        !m.iter().any(|m| m["feed"] == "short"),
        "expired at once: {m:?}"
    );
    assert_eq!(
        matches(&s, "203.0.113.20")[0]["feed"],
        "short",
        "a valid-until of its own wins over the TTL"
    );
    // Three were stored (two with a valid-until of their own); the sweep
    // takes the expired one off the disk too.
    s.wait_for("/v1/feeds/short", "the sweep", |r| {
        r.json()["indicators"] == 2
    });

    // Auth.
    assert_eq!(s.get_as("/healthz", None).status, 200);
    assert_eq!(s.get_as("/readyz", None).status, 200);
    for path in [
        "/v1/feeds",
        "/metrics",
        "/v1/modules",
        "/v1/indicators?value=x",
    ] {
        let r = s.get_as(path, None);
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], "unauthorized");
        assert_eq!(
            s.get_as(path, Some("wrong-token-wrong-token")).status,
            401,
            "{path}"
        );
    }

    // Add a feed the seed's way.
    let add = json!({
        "name": "api feed",
        "description": "added at runtime",
        "url": server.discovery_url(),
        "poll_interval": "1h",
        "default_ttl": "30d",
        "collections": "ips, domains",
        "username": READER.0,
        "password": READER.1,
    });
    let r = s.post_json("/v1/feeds", &add);
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        !r.body.contains(READER.1),
        "the password never comes back: {}",
        r.body
    );
    s.wait_for(
        "/v1/indicators?value=a.b.evil.example",
        "the API feed's indicators",
        |r| r.json()["matches"].as_array().is_some_and(|m| m.len() == 1),
    );
    let m = matches(&s, "203.0.113.30");
    let api = m
        .iter()
        .find(|m| m["feed"] == "api feed")
        .expect("the API feed lists it");
    assert!(
        api["valid_until"].is_string(),
        "the default TTL gives an end: {m:?}"
    );

    // The broken feed keeps failing, without holding up the other.
    let r = s.wait_for("/v1/feeds/broken", "failures of the broken feed", |r| {
        r.json()["status"]["consecutive_failures"].as_u64() >= Some(2)
    });
    assert!(
        r.json()["status"]["last_error"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:9"),
        "{}",
        r.body
    );
    let feeds = s.get("/v1/feeds");
    assert!(!feeds.body.contains(READER.1));
    let listed = feeds.json();
    let mut names: Vec<&str> = listed["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["api feed", "broken", "short"]);

    // Clear errors.
    let cases: Vec<(Req, u16, &str)> = vec![
        (
            ("POST", "/v1/feeds", add.to_string().into_bytes()),
            409,
            "feed_exists",
        ),
        (
            ("POST", "/v1/feeds", b"{not json".to_vec()),
            400,
            "bad_json",
        ),
        (
            (
                "POST",
                "/v1/feeds",
                br#"{"name":"x/y","url":"ftp://h","poll_interval":"soon"}"#.to_vec(),
            ),
            422,
            "invalid_feed",
        ),
        (
            (
                "PATCH",
                "/v1/feeds/broken",
                br#"{"description":"x"}"#.to_vec(),
            ),
            409,
            "feed_in_config_file",
        ),
        (
            ("DELETE", "/v1/feeds/nope", Vec::new()),
            404,
            "feed_not_found",
        ),
        (
            ("POST", "/v1/feeds/nope/poll", Vec::new()),
            404,
            "feed_not_found",
        ),
        (
            ("PUT", "/v1/modules/bad", b"not a component".to_vec()),
            422,
            "module_rejected",
        ),
        (("GET", "/v1/indicators", Vec::new()), 400, "missing_value"),
        (("GET", "/v2/nothing", Vec::new()), 404, "not_found"),
    ];
    for ((method, path, body), status, code) in cases {
        let r = s.send(method, path, &body, &[]);
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        assert_eq!(
            r.json()["error"]["code"],
            code,
            "{method} {path}: {}",
            r.body
        );
    }
    let r = s.send(
        "POST",
        "/v1/feeds",
        br#"{"name":"x/y","url":"ftp://h","poll_interval":"soon"}"#,
        &[],
    );
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    for needle in ["feed.name", "feed.url", "feed.poll_interval"] {
        assert!(message.contains(needle), "{needle} in {message}");
    }
    let r = s.send("POST", "/v1/enrich", b"{}", &[("Content-Encoding", "br")]);
    assert_eq!(r.status, 415, "{}", r.body);

    // PATCH an API feed, then delete it: its indicators stop matching.
    let r = s.send(
        "PATCH",
        "/v1/feeds/api%20feed",
        br#"{"description":"changed"}"#,
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["description"], "changed");
    let r = s.send("DELETE", "/v1/feeds/api%20feed", b"", &[]);
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(matches(&s, "203.0.113.30").is_empty());
    assert_eq!(s.get("/v1/feeds/api%20feed").status, 404);
}

type Req = (&'static str, &'static str, Vec<u8>);

/// Indicators from the built-in demo TAXII server; a component uploaded
/// through the API takes over while a steady stream of requests runs, and
/// no request fails or comes back untagged.
#[test]
fn an_uploaded_module_takes_over_under_load() {
    let demo = taxiway_host::demo_server::DemoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let feed = format!(
        "[[feed]]\nname = \"demo\"\nurl = \"{}\"\npoll_interval = \"1h\"\nmax_lookback = \"3650d\"\n",
        demo.discovery_url()
    );
    let (config, port) = write_config(dir.path(), &feed);
    let s = Arc::new(Service::start(&config, port));
    // A listed IP from the bundled samples.
    let listed = s
        .wait_for("/metrics", "indicators from the demo feed", |r| {
            r.body
                .contains("taxiway_indicators{feed=\"demo\",kind=\"ipv4\"}")
        })
        .body;
    drop(listed);
    let ip = sample_ip();
    assert!(!matches(&s, &ip).is_empty(), "{ip} is listed");
    // Both modules see this record as a hit: CSE through srcDevice_ip, the
    // test tagger through `ip`.
    let record = json!({"srcDevice_ip": ip, "ip": ip}).to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let by_b = Arc::new(AtomicU64::new(0));
    let load = {
        let (s, stop, sent, by_b, record) = (
            s.clone(),
            stop.clone(),
            sent.clone(),
            by_b.clone(),
            record.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let r = s.enrich(&record);
                assert_eq!(r.status, 200, "{}", r.body);
                let line = r.body.trim_end();
                let cse = line.contains("\"listMatches\"");
                let b =
                    line.contains("\"taggedBy\":\"b\",\"hits\":") && !line.contains("\"hits\":0");
                assert!(cse || b, "an untagged or failed response: {line}");
                assert!(!line.contains("taxiwayError"), "{line}");
                sent.fetch_add(1, Ordering::Relaxed);
                if b {
                    by_b.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let bytes = std::fs::read(&guests::guests().tagger_b).unwrap();
    let r = s.send(
        "PUT",
        "/v1/modules/tagger-b",
        &bytes,
        &[("Content-Type", "application/wasm")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["serving"]["version"], "1.0.0-b");
    // A broken upload is refused and changes nothing.
    let r = s.send("PUT", "/v1/modules/broken", b"\0asm garbage", &[]);
    assert_eq!(r.status, 422, "{}", r.body);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    load.join().expect("no failed or untagged request");
    assert!(sent.load(Ordering::Relaxed) > 20, "a steady stream ran");
    assert!(
        by_b.load(Ordering::Relaxed) > 0,
        "the uploaded module served"
    );
    let modules = s.get("/v1/modules").json();
    assert_eq!(modules["serving"]["version"], "1.0.0-b");
    assert!(
        modules["uploaded"]
            .as_array()
            .unwrap()
            .contains(&json!("tagger-b"))
    );
    let metrics = s.get("/metrics").body;
    assert!(
        metrics.contains("taxiway_module_rejected_loads_total 1"),
        "{metrics}"
    );

    // The upload survives a restart.
    let s = Arc::into_inner(s).unwrap();
    assert!(s.stop().success());
    let s = Service::start(&config, port);
    assert_eq!(s.get("/v1/modules").json()["serving"]["version"], "1.0.0-b");
    let _ = TOKEN;
}

/// The IP of the first indicator in the bundled samples' `ips` collection.
fn sample_ip() -> String {
    let xml = std::fs::read_to_string(guests::root().join("samples/stix/ips.xml")).unwrap();
    xml.split("<AddressObj:Address_Value")
        .nth(1)
        .and_then(|s| s.split('>').nth(1))
        .and_then(|s| s.split('<').next())
        .unwrap()
        .split("##comma##")
        .next()
        .unwrap()
        .trim()
        .to_owned()
}

/// Switching from the CSE module to the ECS one is a config change picked
/// up by SIGHUP, without a restart; both modules tag through the API.
#[test]
fn sighup_switches_between_the_cse_and_ecs_modules() {
    let demo = taxiway_host::demo_server::DemoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let feed = format!(
        "[[feed]]\nname = \"demo\"\nurl = \"{}\"\npoll_interval = \"1h\"\nmax_lookback = \"3650d\"\n",
        demo.discovery_url()
    );
    let (config, port) = write_config(
        dir.path(),
        &format!("[enricher]\nmodule = \"builtin:cse\"\n\n{feed}"),
    );
    let s = Service::start(&config, port);
    let ip = sample_ip();
    s.wait_for(
        &format!("/v1/indicators?value={ip}"),
        "the demo feed",
        |r| {
            r.json()["matches"]
                .as_array()
                .is_some_and(|m| !m.is_empty())
        },
    );
    let cse = json!({"srcDevice_ip": ip}).to_string();
    let ecs = json!({"@timestamp": "2026-12-04T10:00:00Z", "source": {"ip": ip}, "event": {"category": ["network"]}}).to_string();
    let r = s.enrich(&format!("{cse}\n{ecs}\n"));
    let lines: Vec<&str> = r.body.lines().collect();
    assert!(lines[0].contains("\"listMatches\""), "{}", r.body);
    assert_eq!(lines[1], ecs, "the CSE module does not read ECS fields");
    let pid = s.child.id();

    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("builtin:cse", "builtin:ecs");
    std::fs::write(&config, text).unwrap();
    s.signal("HUP");
    s.wait_for("/v1/modules", "the ECS module serving", |r| {
        r.json()["serving"]["origin"] == "builtin:ecs"
    });
    let r = s.enrich(&format!("{cse}\n{ecs}\n"));
    let lines: Vec<serde_json::Value> = r
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0].to_string(),
        serde_json::from_str::<serde_json::Value>(&cse)
            .unwrap()
            .to_string(),
        "the ECS module does not read CSE fields"
    );
    let enrichment = &lines[1]["threat"]["enrichments"][0];
    assert_eq!(enrichment["matched"]["atomic"], ip.as_str(), "{}", r.body);
    assert_eq!(enrichment["matched"]["field"], "source.ip");
    assert_eq!(enrichment["indicator"]["provider"], "demo");
    assert_eq!(s.child.id(), pid, "no restart");

    // A config that no longer parses is refused and changes nothing.
    std::fs::write(&config, "[server\n").unwrap();
    s.signal("HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        s.get("/v1/modules").json()["serving"]["origin"],
        "builtin:ecs"
    );
    assert!(s.log().contains("config not reloaded"), "{}", s.log());
}

#[test]
fn config_validate_reports_every_problem_and_serve_refuses_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[server]\nadmin_token = \"0123456789abcdef0123\"\n[[feed]]\nname = \"a\"\nurl = \"ftp://x\"\npoll_interval = \"soon\"\n[[feed]]\nnme = \"b\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taxiway"))
        .args(["config", "validate"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in [
        ":5: feed[1].url",
        ":6: feed[1].poll_interval",
        ":8: feed[2].nme: unknown key (did you mean `name`?)",
        "feed[2].name: required",
    ] {
        assert!(stderr.contains(needle), "{needle} not in {stderr}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taxiway"))
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("poll_interval"));

    let example = guests::root().join("taxiway.example.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taxiway"))
        .args(["config", "validate"])
        .arg(&example)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Errors for oversized bodies and bad queries are JSON too; SIGTERM lets a
/// request in flight finish before the process exits.
#[test]
fn oversized_bodies_and_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let port = service::free_port();
    let config = dir.path().join("taxiway.toml");
    std::fs::write(
        &config,
        format!("[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_token = \"{TOKEN}\"\nmax_body_mib = 2\n[state]\ndir = \"state\"\n"),
    )
    .unwrap();
    let s = Arc::new(Service::start(&config, port));
    // Just over the limit: the server stops reading at the limit, and the
    // rest must fit the socket buffers for the client to read the answer.
    let big = vec![b'x'; (2 << 20) + 4096];
    let r = s.send("POST", "/v1/enrich", &big, &[]);
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "body_too_large");
    // A gzip bomb is cut off at the same limit after decompression.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b'\n'; 8 << 20]).unwrap();
    let r = s.send(
        "POST",
        "/v1/enrich",
        &gz.finish().unwrap(),
        &[("Content-Encoding", "gzip")],
    );
    assert_eq!(r.status, 413, "{}", r.body);
    let r = s.send("POST", "/v1/feeds/x/poll?wait=maybe", b"", &[]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "bad_query");

    // A body just under the limit, in flight when SIGTERM arrives.
    let record = cse_record("198.51.100.1");
    let n = (2 << 20) / (record.len() + 1) - 1;
    let body = format!("{record}\n").repeat(n);
    let warm = s.enrich(&format!("{record}\n"));
    assert_eq!(warm.status, 200);
    let in_flight = {
        let s = s.clone();
        std::thread::spawn(move || s.enrich(&body))
    };
    std::thread::sleep(Duration::from_millis(30));
    s.signal("TERM");
    let r = in_flight.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.lines().count(), n, "every record came back");
    let s = Arc::into_inner(s).unwrap();
    assert!(s.stop().success(), "a clean exit");
}

/// `_count` of the batch latency histogram in `/metrics`: batches served.
fn batches_served(s: &Service) -> u64 {
    let metrics = s.get("/metrics").body;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("taxiway_enrich_batch_duration_seconds_count "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no batch count in {metrics}"))
}

/// The error marker of each output line of `records`.
fn error_markers(s: &Service, records: &str) -> Vec<String> {
    s.enrich(records)
        .body
        .lines()
        .map(|l| {
            let line: serde_json::Value = serde_json::from_str(l).unwrap();
            line[taxiway_host::worker::ERROR_FIELD]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The enricher's deadline, memory cap and batch size, and the admin
/// token, are applied by SIGHUP, without a restart, to the module already
/// serving.
#[test]
fn sighup_applies_new_enricher_limits_batch_size_and_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let module = guests::guests().hostile.display().to_string();
    let enricher = |deadline: &str, memory: u32, batch: u32| {
        format!(
            "[enricher]\nmodule = \"{module}\"\ndeadline = \"{deadline}\"\nmax_memory_mib = {memory}\nbatch_size = {batch}\n"
        )
    };
    let (config, port) = write_config(dir.path(), &enricher("1s", 64, 4));
    let s = Service::start(&config, port);
    let pid = s.child.id();
    // `sleep` waits two minutes in a WASI clock wait, which the deadline
    // cuts short too.
    let records = "{\"n\":\"loop\"}\n{\"n\":\"bomb\"}\n{\"n\":\"fine\"}\n{\"n\":\"sleep\"}\n";
    let markers = error_markers(&s, records);
    assert!(
        markers[0].contains("ran past its 1s deadline"),
        "{markers:?}"
    );
    assert!(markers[1].contains("the limit is 64 MiB"), "{markers:?}");
    assert_eq!(markers[2], "", "{markers:?}");
    assert!(
        markers[3].contains("ran past its 1s deadline"),
        "{markers:?}"
    );
    let ten: String = (0..10).map(|i| format!("{{\"i\":{i}}}\n")).collect();
    let before = batches_served(&s);
    assert_eq!(s.enrich(&ten).body.lines().count(), 10);
    assert_eq!(batches_served(&s) - before, 3, "10 records in batches of 4");

    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace(&enricher("1s", 64, 4), &enricher("150ms", 32, 2)),
    )
    .unwrap();
    s.signal("HUP");
    s.wait_for("/metrics", "the new batch size", |_| {
        let before = batches_served(&s);
        s.enrich(&ten);
        batches_served(&s) - before == 5
    });
    let markers = error_markers(&s, records);
    assert!(
        markers[0].contains("ran past its 150ms deadline"),
        "{markers:?}"
    );
    assert!(markers[1].contains("the limit is 32 MiB"), "{markers:?}");
    assert_eq!(markers[2], "", "{markers:?}");
    assert!(
        markers[3].contains("ran past its 150ms deadline"),
        "{markers:?}"
    );
    assert_eq!(s.child.id(), pid, "no restart");
    // The module that was serving still serves: only the limits changed.
    assert_eq!(
        s.get("/v1/modules").json()["serving"]["origin"],
        module.as_str()
    );
    assert!(s.log().contains("enricher limits changed"), "{}", s.log());

    // A new admin token: the old one is refused from then on.
    let new_token = "rotated-admin-token-9876543210";
    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace(TOKEN, new_token),
    )
    .unwrap();
    s.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while s.get_as("/v1/feeds", Some(new_token)).status != 200 {
        assert!(std::time::Instant::now() < deadline, "{}", s.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(s.get_as("/v1/feeds", Some(TOKEN)).status, 401);
    assert_eq!(s.child.id(), pid, "no restart");
}

/// A module that writes to its stdout and stderr (as the hostile test guest
/// does when configured) is served over HTTP like any other, small bodies
/// included, and what it writes goes to the service's log.
#[test]
fn a_module_that_writes_output_is_served_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let module = guests::guests().hostile.display().to_string();
    let (config, port) = write_config(dir.path(), &format!("[enricher]\nmodule = \"{module}\"\n"));
    let s = Service::start(&config, port);
    for i in 0..20 {
        let r = s.enrich(&format!("{{\"i\":{i}}}\n"));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body, format!("{{\"i\":{i},\"ok\":true}}\n"));
    }
    // A body too large to be enriched on the request's own thread.
    let big: String = (0..5000).map(|i| format!("{{\"i\":{i}}}\n")).collect();
    let r = s.enrich(&big);
    assert_eq!(r.body.lines().count(), 5000);
    assert!(r.body.lines().all(|l| l.ends_with(",\"ok\":true}")));
    let log = s.log();
    // Logged under `name@version` only by instances the workers made (the
    // load at start logs under the module's file name).
    assert!(log.contains("hostile@6.6.6: hostile: on stderr"), "{log}");
    assert!(log.contains("run on the blocking pool"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

/// New limits the serving module cannot run under (here a memory cap below
/// what its `configure` holds) are refused on SIGHUP: the old limits stay
/// and the module keeps serving.
#[test]
fn sighup_keeps_the_old_limits_when_the_module_fails_under_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let module = guests::guests().hostile.display().to_string();
    let enricher = |memory: u32| {
        format!(
            "[enricher]\nmodule = \"{module}\"\nmax_memory_mib = {memory}\n\n[enricher.settings]\nmode = \"configure-hold-32mib\"\n"
        )
    };
    let (config, port) = write_config(dir.path(), &enricher(64));
    let s = Service::start(&config, port);
    let records = "{\"n\":\"bomb\"}\n{\"n\":\"fine\"}\n";
    let markers = error_markers(&s, records);
    assert!(markers[0].contains("the limit is 64 MiB"), "{markers:?}");
    assert_eq!(markers[1], "", "{markers:?}");

    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace(&enricher(64), &enricher(16)),
    )
    .unwrap();
    s.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !s.log().contains("enricher limits not applied") {
        assert!(std::time::Instant::now() < deadline, "{}", s.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let markers = error_markers(&s, records);
    assert!(markers[0].contains("the limit is 64 MiB"), "{markers:?}");
    assert_eq!(markers[1], "", "{markers:?}");
}
