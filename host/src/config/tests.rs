use std::path::Path;
use std::time::Duration;

use taxiway_poller::IndicatorKind;

use super::*;

const FULL: &str = r#"
[server]
listen = "127.0.0.1:9000"
admin_token = "0123456789abcdef0123"

[state]
dir = "state"

[enricher]
module = "builtin:ecs"
batch_size = 512
deadline = "500ms"
settings = { fields = ["source.ip"] }

[[feed]]
name = "Acme Intel"
description = "Acme's malicious IPs"
url = "https://taxii.acme.example/services/discovery"
poll_interval = "15m"
default_ttl = "30d"
ttl = { "ipv4-addr" = "7d", url = "2d" }
collections = ["ips", "domains"]
subscription_id = "sub-1"
username = "reader"
password_env = "ACME_PASSWORD"
certificate = "certs/acme.p12"
certificate_password_file = "/etc/taxiway/acme.pass"
max_lookback = "7d"
ca_certificates = ["ca.pem"]
timeout = "30s"

[[feed]]
name = "second"
url = "http://127.0.0.1:9001/services/discovery"
collections = "a, b"
default_ttl = "never"
enabled = false
"#;

#[test]
fn reads_every_field() {
    let c = parse(FULL, Path::new("/etc/taxiway")).unwrap();
    assert_eq!(c.server.listen, "127.0.0.1:9000");
    assert_eq!(c.state.dir, Path::new("/etc/taxiway/state"));
    assert_eq!(c.enricher.module, "builtin:ecs");
    assert_eq!(c.enricher.batch_size, 512);
    assert_eq!(c.enricher.deadline, Duration::from_millis(500));
    assert_eq!(
        c.enricher.settings,
        serde_json::json!({"fields": ["source.ip"]})
    );
    let f = &c.feeds[0];
    assert_eq!(f.name, "Acme Intel");
    assert_eq!(f.poll_interval, Duration::from_secs(900));
    assert_eq!(
        f.ttl_for(IndicatorKind::Ipv4),
        Some(Duration::from_secs(7 * 86_400))
    );
    assert_eq!(
        f.ttl_for(IndicatorKind::Ipv4Cidr),
        Some(Duration::from_secs(7 * 86_400))
    );
    assert_eq!(
        f.ttl_for(IndicatorKind::Url),
        Some(Duration::from_secs(2 * 86_400))
    );
    assert_eq!(
        f.ttl_for(IndicatorKind::Domain),
        Some(Duration::from_secs(30 * 86_400))
    );
    assert_eq!(f.collections, ["ips", "domains"]);
    assert_eq!(f.password, Some(SecretRef::Env("ACME_PASSWORD".into())));
    assert_eq!(
        f.certificate.as_deref(),
        Some(Path::new("/etc/taxiway/certs/acme.p12"))
    );
    assert_eq!(
        f.certificate_password,
        Some(SecretRef::File("/etc/taxiway/acme.pass".into()))
    );
    assert_eq!(f.ca_certificates, [Path::new("/etc/taxiway/ca.pem")]);
    assert!(f.enabled);
    let g = &c.feeds[1];
    assert_eq!(g.collections, ["a", "b"], "the seed's comma-separated form");
    assert_eq!(g.default_ttl, None);
    assert_eq!(g.poll_interval, Duration::from_secs(3600), "default");
    assert!(!g.enabled);
}

#[test]
fn reports_every_problem_with_its_line() {
    let text = r#"
[server]
admin_token = "0123456789abcdef0123"
listen = "localhost"

[[feed]]
name = "a"
url = "ftp://x"
poll_intervall = "15m"

[[feed]]
name = "b/c"
url = "https://x"
poll_interval = "15 minutes"
ttl = { banana = "1d" }
enabled = "yes"

[[feed]]
name = "a"
url = "https://y"

[unknown]
"#;
    let problems = parse(text, Path::new(".")).unwrap_err().0;
    let found: Vec<(Option<usize>, &str)> =
        problems.iter().map(|p| (p.line, p.key.as_str())).collect();
    let expect = [
        (Some(4), "server.listen"),
        (Some(8), "feed[1].url"),
        (Some(9), "feed[1].poll_intervall"),
        (Some(12), "feed[2].name"),
        (Some(14), "feed[2].poll_interval"),
        (Some(15), "feed[2].ttl.banana"),
        (Some(16), "feed[2].enabled"),
        (Some(22), "unknown"),
    ];
    for e in expect {
        assert!(found.contains(&e), "missing {e:?} in {problems:#?}");
    }
    let typo = problems
        .iter()
        .find(|p| p.key == "feed[1].poll_intervall")
        .unwrap();
    assert!(
        typo.message.contains("did you mean `poll_interval`"),
        "{typo}"
    );
    // Feed 1 and 3 are both named `a`, but feed 1 is invalid and is not kept;
    // a duplicate of two valid feeds is reported.
    let dup = "[server]\nadmin_token = \"0123456789abcdef0123\"\n[[feed]]\nname = \"a\"\nurl = \"https://x\"\n[[feed]]\nname = \"a\"\nurl = \"https://y\"\n";
    let problems = parse(dup, Path::new(".")).unwrap_err();
    assert!(
        problems.to_string().contains("already the name of feed[1]"),
        "{problems}"
    );
}

#[test]
fn syntax_errors_and_missing_server_are_clear() {
    let e = parse("[server\nadmin_token = 1", Path::new(".")).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].line, Some(1), "{e}");
    let e = parse("", Path::new(".")).unwrap_err();
    assert!(e.to_string().contains("[server]"), "{e}");
    let e = parse("[server]\nadmin_token = \"short\"\n", Path::new(".")).unwrap_err();
    assert!(e.to_string().contains("too short"), "{e}");
    let e = parse(
        "[server]\nadmin_token = \"0123456789abcdef0123\"\nadmin_token_env = \"T\"\n",
        Path::new("."),
    )
    .unwrap_err();
    assert!(e.to_string().contains("only one of"), "{e}");
}

#[test]
fn api_feeds_are_checked_by_the_same_rules() {
    let ok = feed_from_json(
        &serde_json::json!({
            "name": "api feed",
            "url": "https://x/services/discovery",
            "poll_interval": "1m",
            "collections": "ips,domains",
            "username": "u",
            "password": "secret-value",
        }),
        Path::new("/state"),
    )
    .unwrap();
    assert_eq!(ok.collections, ["ips", "domains"]);
    let public = ok.to_public_json().to_string();
    assert!(!public.contains("secret-value"), "{public}");
    assert!(public.contains("\"password\":\"set\""), "{public}");

    let e = feed_from_json(
        &serde_json::json!({"url": 5, "pasword": "x", "timeout": "0s"}),
        Path::new("/state"),
    )
    .unwrap_err();
    let text = e.to_string();
    for needle in [
        "feed.name: required",
        "feed.url: expected a string",
        "feed.pasword: unknown key (did you mean `password`?)",
        "feed.timeout",
    ] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }
}

#[test]
fn secrets_resolve_from_value_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p");
    std::fs::write(&file, "from-file\nignored\n").unwrap();
    assert_eq!(
        SecretRef::File(file).resolve().unwrap().expose(),
        "from-file"
    );
    assert_eq!(
        SecretRef::Value("v".into()).resolve().unwrap().expose(),
        "v"
    );
    let missing = SecretRef::Env("TAXIWAY_TEST_SURELY_UNSET".into())
        .resolve()
        .unwrap_err();
    assert!(missing.contains("TAXIWAY_TEST_SURELY_UNSET"), "{missing}");
    assert!(!format!("{:?}", SecretRef::Value("hunter2".into())).contains("hunter2"));
}
