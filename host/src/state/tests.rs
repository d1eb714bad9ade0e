use time::macros::datetime;

use super::*;

fn ind(feed: &str, id: &str, value: &str) -> Indicator {
    Indicator::new(id, feed, "ipv4-addr", value).unwrap()
}

#[test]
fn a_poll_survives_reopening_with_its_cursors() {
    let dir = tempfile::tempdir().unwrap();
    {
        let state = State::open(dir.path()).unwrap();
        let mut with_until = ind("a", "1", "10.0.0.1");
        with_until.valid_until = Some(datetime!(2030-01-01 0:00 UTC));
        with_until.description = Some("evil".into());
        let stored = state
            .commit_poll(
                "a",
                vec![with_until, ind("a", "2", "10.0.0.2")],
                &[("ips".into(), datetime!(2026-12-01 10:00 UTC))],
                1_000,
            )
            .unwrap();
        assert_eq!(stored.len(), 2);
        state
            .commit_poll("b", vec![ind("b", "1", "10.0.0.3")], &[], 2_000)
            .unwrap();
    }
    let state = State::open(dir.path()).unwrap();
    let all = state.indicators().unwrap();
    assert_eq!(all.keys().collect::<Vec<_>>(), ["a", "b"]);
    let a = &all["a"];
    assert_eq!(a[0].indicator.value, "10.0.0.1");
    assert_eq!(a[0].indicator.description.as_deref(), Some("evil"));
    assert_eq!(
        a[0].indicator.valid_until,
        Some(datetime!(2030-01-01 0:00 UTC))
    );
    assert_eq!(a[0].received, 1_000);
    assert_eq!(all["b"][0].received, 2_000);
    assert_eq!(
        state.cursors("a").unwrap(),
        BTreeMap::from([("ips".to_owned(), micros(datetime!(2026-12-01 10:00 UTC)))])
    );
    assert!(state.cursors("b").unwrap().is_empty());
    assert_eq!(state.indicator_count("a").unwrap(), 2);
}

#[test]
fn redelivery_keeps_the_first_received_time() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    state
        .commit_poll("a", vec![ind("a", "1", "10.0.0.1")], &[], 1_000)
        .unwrap();
    let again = state
        .commit_poll(
            "a",
            vec![ind("a", "1", "10.0.0.9"), ind("a", "2", "10.0.0.2")],
            &[],
            5_000,
        )
        .unwrap();
    assert_eq!(again[0].received, 1_000);
    assert_eq!(again[1].received, 5_000);
    let all = state.indicators().unwrap();
    assert_eq!(all["a"].len(), 2);
    assert_eq!(all["a"][0].indicator.value, "10.0.0.9", "content replaced");
}

#[test]
fn sweep_and_remove_touch_only_what_they_should() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    let mut old = ind("a", "old", "10.0.0.1");
    old.valid_until = Some(datetime!(2020-01-01 0:00 UTC));
    state
        .commit_poll(
            "a",
            vec![
                old,
                ind("a", "ttl", "10.0.0.2"),
                ind("a", "keep", "10.0.0.3"),
            ],
            &[("c".into(), datetime!(2026-01-01 0:00 UTC))],
            100,
        )
        .unwrap();
    state
        .commit_poll(
            "b",
            vec![ind("b", "x", "10.0.0.4")],
            &[("c".into(), datetime!(2026-01-01 0:00 UTC))],
            100,
        )
        .unwrap();
    let now = micros(datetime!(2026-12-04 0:00 UTC));
    // Feed a: a TTL of 50 µs past reception for ids without an end... keyed
    // by feed only here; feed b never expires.
    let gone = state
        .sweep(now, &|feed, kind, received, until| {
            assert_eq!(kind, IndicatorKind::Ipv4);
            until.or((feed == "a").then_some(received + 50))
        })
        .unwrap();
    assert_eq!(gone, BTreeMap::from([("a".to_owned(), 3)]));
    let all = state.indicators().unwrap();
    assert!(!all.contains_key("a"));
    assert_eq!(all["b"].len(), 1);

    state.save_api_feed("b", "{}").unwrap();
    state.save_status("b", "{}").unwrap();
    state.remove_feed("b").unwrap();
    assert!(state.indicators().unwrap().is_empty());
    assert!(state.cursors("b").unwrap().is_empty());
    assert_eq!(
        state.cursors("a").unwrap().len(),
        1,
        "other feeds' cursors stay"
    );
    assert!(state.api_feeds().unwrap().is_empty());
    assert!(state.statuses().unwrap().is_empty());
}

#[test]
fn meta_and_api_feeds_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    state.set_meta("module", Some("x")).unwrap();
    assert_eq!(state.meta("module").unwrap().as_deref(), Some("x"));
    state.set_meta("module", None).unwrap();
    assert_eq!(state.meta("module").unwrap(), None);
    state.save_api_feed("f", r#"{"name":"f"}"#).unwrap();
    drop(state);
    let state = State::open(dir.path()).unwrap();
    assert_eq!(state.api_feeds().unwrap()["f"], r#"{"name":"f"}"#);
}

#[cfg(unix)]
#[test]
fn the_state_folder_and_file_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    State::open(&state_dir).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state_dir), 0o700);
    assert_eq!(mode(&state_dir.join("state.redb")), 0o600);
}
