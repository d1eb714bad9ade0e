//! `taxiway demo` and the `taxiway taxii` verbs, as a user runs them. The
//! TAXII client itself is tested against a real OpenTAXII in poller/tests.

use std::process::{Command, Output};

use taxiway_host::demo_server::DemoServer;

fn taxiway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taxiway"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .output()
        .expect("running taxiway")
}

fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).expect("an NDJSON line"))
        .collect()
}

#[test]
fn demo_polls_the_built_in_server_and_tags_the_samples() {
    let out = taxiway(&["demo"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let tagged = lines(&out.stdout);
    assert_eq!(tagged.len(), 6, "{stderr}");
    for record in &tagged {
        let list = record["listMatches"].as_array().unwrap();
        assert!(list.iter().any(|s| s == "taxiway-demo"), "{record}");
    }
    assert!(stderr.contains("indicators: 20"), "{stderr}");
    assert!(stderr.contains("30 in, 6 tagged, 0 errored"), "{stderr}");
}

#[test]
fn taxii_verbs_against_the_demo_server() {
    let server = DemoServer::start().unwrap();
    let url = server.discovery_url();

    let out = taxiway(&["taxii", "discover", &url]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Poll") && text.contains("/services/poll"),
        "{text}"
    );

    let out = taxiway(&["taxii", "collections", &url]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["ips", "domains", "files", "emails"] {
        assert!(text.contains(name), "{text}");
    }

    let out = taxiway(&[
        "taxii",
        "poll",
        &url,
        "--collection",
        "ips",
        "--source",
        "demo-feed",
        "--begin",
        "2000-01-01T00:00:00Z",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let indicators = lines(&out.stdout);
    assert_eq!(indicators.len(), 8);
    assert!(indicators.iter().all(|i| i["source"] == "demo-feed"));
    assert!(
        indicators
            .iter()
            .any(|i| i["indicator"] == "203.0.113.0/24")
    );
    // What `taxii poll` writes, `enrich` reads.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ips.ndjson");
    std::fs::write(&file, &out.stdout).unwrap();
    let (read, report) = taxiway_poller::read_indicators(
        std::fs::File::open(&file)
            .map(std::io::BufReader::new)
            .unwrap(),
    )
    .unwrap();
    assert_eq!((read.len(), report.rejected), (8, 0));

    let out = taxiway(&["taxii", "poll", &url, "--collection", "nope"]);
    assert_eq!(out.status.code(), Some(4), "not found");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));

    drop(server);
    let out = taxiway(&["taxii", "discover", &url, "--timeout", "2s"]);
    assert_eq!(out.status.code(), Some(5), "network error");
}
