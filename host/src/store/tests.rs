use super::*;
use taxiway_poller::read_indicators;

const NOW: Micros = 1_800_000_000_000_000;
const HOUR: Micros = 3_600_000_000;

fn ind(id: &str, source: &str, ty: &str, value: &str) -> Indicator {
    Indicator::new(id, source, ty, value).unwrap()
}

fn store_with(indicators: Vec<Indicator>) -> IndicatorStore {
    let store = IndicatorStore::new(StoreConfig { default_ttl: None });
    store.replace_all(indicators, NOW);
    store
}

/// (indicator id, matched value) for every match.
fn find(
    store: &IndicatorStore,
    kind: ObservableKind,
    value: &str,
    parents: bool,
    now: Micros,
) -> Vec<(String, String)> {
    let snap = store.snapshot();
    let mut out = Vec::new();
    snap.lookup(
        kind,
        value,
        LookupOptions {
            parent_domains: parents,
        },
        now,
        &mut |m| out.push((snap.entry(m.entry).id().to_string(), m.value.into_owned())),
    );
    out.sort();
    out
}

fn ids(found: Vec<(String, String)>) -> Vec<String> {
    found.into_iter().map(|(id, _)| id).collect()
}

#[test]
fn every_kind_matches_exactly_and_case_folded() {
    let store = store_with(vec![
        ind("v4", "A", "ipv4-addr", "192.0.2.1"),
        ind("v6", "A", "ipv6-addr", "2001:db8::1"),
        ind("dom", "A", "domain-name", "evil.example"),
        ind("url", "A", "url", "http://evil.example/x?y=1"),
        ind(
            "md5",
            "A",
            "file:hashes.MD5",
            "d41d8cd98f00b204e9800998ecf8427e",
        ),
        ind(
            "sha1",
            "A",
            "file:hashes.SHA-1",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        ),
        ind("sha256", "A", "file:hashes.SHA-256", &"ab".repeat(32)),
        ind("sha512", "A", "file:hashes.SHA-512", &"cd".repeat(64)),
        ind("mail", "A", "email-addr", "bad@evil.example"),
        ind("file", "A", "file:name", "dropper.exe"),
    ]);
    use ObservableKind::*;
    let cases: &[(ObservableKind, &str, &str)] = &[
        (Ip, "192.0.2.1", "v4"),
        (Ip, "2001:DB8:0:0:0:0:0:1", "v6"),
        (Ip, "::ffff:192.0.2.1", "v4"),
        (Domain, "EVIL.example.", "dom"),
        (Url, "HTTP://Evil.Example:80/x?y=1#frag", "url"),
        (Md5, "D41D8CD98F00B204E9800998ECF8427E", "md5"),
        (Sha1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "sha1"),
        (Sha256, &"AB".repeat(32), "sha256"),
        (Sha512, &"CD".repeat(64), "sha512"),
        (Hash, "d41d8cd98f00b204e9800998ecf8427e", "md5"),
        (Hash, &"ab".repeat(32), "sha256"),
        (Email, "Bad@EVIL.example", "mail"),
        (FileName, "dropper.exe", "file"),
    ];
    for (kind, value, want) in cases {
        assert_eq!(
            ids(find(&store, *kind, value, false, NOW)),
            [*want],
            "{kind:?} {value}"
        );
    }
    // Near misses and wrong kinds match nothing.
    for (kind, value) in [
        (Ip, "192.0.2.2"),
        (Ip, "not an ip"),
        (Domain, "notevil.example"),
        (Url, "http://evil.example/X?y=1"),
        (Md5, "d41d8cd98f00b204e9800998ecf8427"),
        (Sha1, "d41d8cd98f00b204e9800998ecf8427e"),
        (FileName, "Dropper.exe"),
        (Email, "bad@evil.example.com"),
        (Domain, "192.0.2.1"),
    ] {
        assert!(
            find(&store, kind, value, true, NOW).is_empty(),
            "{kind:?} {value}"
        );
    }
}

#[test]
fn cidr_containment_reports_every_network() {
    let store = store_with(vec![
        ind("n24", "A", "ipv4-addr", "198.51.100.0/24"),
        ind("n16", "A", "ipv4-addr", "198.51.0.0/16"),
        ind("exact", "A", "ipv4-addr", "198.51.100.7"),
        ind("n48", "A", "ipv6-addr", "2001:db8:abcd::/48"),
        ind("n32", "A", "ipv6-addr", "2001:db8::/32"),
    ]);
    assert_eq!(
        find(&store, ObservableKind::Ip, "198.51.100.7", false, NOW),
        [
            ("exact".to_string(), "198.51.100.7".to_string()),
            ("n16".to_string(), "198.51.0.0/16".to_string()),
            ("n24".to_string(), "198.51.100.0/24".to_string()),
        ]
    );
    assert_eq!(
        ids(find(&store, ObservableKind::Ip, "198.51.7.1", false, NOW)),
        ["n16"]
    );
    assert!(find(&store, ObservableKind::Ip, "198.52.0.1", false, NOW).is_empty());
    assert_eq!(
        find(&store, ObservableKind::Ip, "2001:db8:abcd:1::5", false, NOW),
        [
            ("n32".to_string(), "2001:db8::/32".to_string()),
            ("n48".to_string(), "2001:db8:abcd::/48".to_string()),
        ]
    );
    assert_eq!(
        ids(find(
            &store,
            ObservableKind::Ip,
            "2001:db8:ffff::1",
            false,
            NOW
        )),
        ["n32"]
    );
    assert!(find(&store, ObservableKind::Ip, "2001:db9::1", false, NOW).is_empty());
}

#[test]
fn parent_domains_only_when_asked() {
    let store = store_with(vec![
        ind("root", "A", "domain-name", "evil.example"),
        ind("sub", "A", "domain-name", "b.evil.example"),
    ]);
    assert_eq!(
        find(
            &store,
            ObservableKind::Domain,
            "A.B.Evil.Example",
            true,
            NOW
        ),
        [
            ("root".to_string(), "evil.example".to_string()),
            ("sub".to_string(), "b.evil.example".to_string()),
        ]
    );
    assert!(
        find(
            &store,
            ObservableKind::Domain,
            "a.b.evil.example",
            false,
            NOW
        )
        .is_empty()
    );
    assert_eq!(
        ids(find(
            &store,
            ObservableKind::Domain,
            "b.evil.example",
            false,
            NOW
        )),
        ["sub"]
    );
    // A label boundary is required: "notevil.example" is not under "evil.example".
    assert!(find(&store, ObservableKind::Domain, "notevil.example", true, NOW).is_empty());
}

#[test]
fn expiry_is_exact_at_the_boundary_and_needs_no_sweep() {
    let mut expiring = ind("x", "A", "ipv4-addr", "192.0.2.9");
    let until = OffsetDateTime::from_unix_timestamp_nanos(i128::from(NOW + HOUR) * 1000).unwrap();
    expiring.valid_until = Some(until);
    let mut future = ind("f", "A", "ipv4-addr", "192.0.2.10");
    future.valid_from = Some(until);
    let store = store_with(vec![expiring, future]);
    let ip = |v, t| ids(find(&store, ObservableKind::Ip, v, false, t));
    assert_eq!(ip("192.0.2.9", NOW + HOUR - 1), ["x"]);
    assert!(
        ip("192.0.2.9", NOW + HOUR).is_empty(),
        "valid-until is exclusive"
    );
    assert!(ip("192.0.2.10", NOW + HOUR - 1).is_empty(), "not valid yet");
    assert_eq!(ip("192.0.2.10", NOW + HOUR), ["f"]);
}

#[test]
fn default_ttl_counts_from_first_receipt() {
    let store = IndicatorStore::new(StoreConfig {
        default_ttl: Some(Duration::from_secs(3600)),
    });
    store.replace_source("A", vec![ind("t", "A", "domain-name", "ttl.example")], NOW);
    let d = |t| {
        ids(find(
            &store,
            ObservableKind::Domain,
            "ttl.example",
            false,
            t,
        ))
    };
    assert_eq!(d(NOW + HOUR - 1), ["t"]);
    assert!(d(NOW + HOUR).is_empty());
    // Delivered again later: it keeps its first-receipt time.
    store.replace_source(
        "A",
        vec![ind("t", "A", "domain-name", "ttl.example")],
        NOW + HOUR / 2,
    );
    assert!(d(NOW + HOUR).is_empty());
    // An explicit valid-until wins over the default TTL.
    let mut explicit = ind("e", "A", "domain-name", "ttl.example");
    explicit.valid_until = Some(
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(NOW + 10 * HOUR) * 1000).unwrap(),
    );
    store.replace_source("A", vec![explicit], NOW);
    assert_eq!(d(NOW + 5 * HOUR), ["e"]);
}

#[test]
fn same_value_from_two_sources_and_replacement() {
    let store = store_with(vec![
        ind("a1", "A", "ipv4-addr", "192.0.2.5"),
        ind("b1", "B", "ipv4-addr", "192.0.2.5"),
    ]);
    assert_eq!(
        ids(find(&store, ObservableKind::Ip, "192.0.2.5", false, NOW)),
        ["a1", "b1"]
    );
    let v = store.snapshot().version();
    store.replace_source("A", vec![], NOW);
    assert_eq!(store.snapshot().version(), v + 1);
    assert_eq!(
        ids(find(&store, ObservableKind::Ip, "192.0.2.5", false, NOW)),
        ["b1"]
    );
    // A later indicator with the same id in one source replaces the earlier.
    store.replace_source(
        "B",
        vec![
            ind("b1", "B", "ipv4-addr", "192.0.2.5"),
            ind("b1", "B", "ipv4-addr", "192.0.2.6"),
        ],
        NOW,
    );
    assert!(find(&store, ObservableKind::Ip, "192.0.2.5", false, NOW).is_empty());
    assert_eq!(
        ids(find(&store, ObservableKind::Ip, "192.0.2.6", false, NOW)),
        ["b1"]
    );
}

#[test]
fn invalid_indicator_values_are_counted_not_stored() {
    let file = [
        r#"{"id":"1","indicator":"192.0.2.1","type":"ipv4-addr","source":"A"}"#,
        r#"{"id":"2","indicator":"300.1.1.1","type":"ipv4-addr","source":"A"}"#,
        r#"{"id":"3","indicator":"abc","type":"file:hashes.MD5","source":"A"}"#,
        r#"{"id":"4","indicator":"-bad-.example","type":"domain-name","source":"A"}"#,
        r#"{"id":"5","indicator":"2001:db8::1","type":"ipv4-addr","source":"A"}"#,
    ]
    .join("\n");
    let (indicators, report) = read_indicators(file.as_bytes()).unwrap();
    assert_eq!(report.accepted, 1);
    assert_eq!(report.rejected, 4);
    let store = store_with(indicators);
    assert_eq!(store.snapshot().len(), 1);
    assert!(find(&store, ObservableKind::Ip, "300.1.1.1", false, NOW).is_empty());
    assert!(find(&store, ObservableKind::Ip, "2001:db8::1", false, NOW).is_empty());
}

#[test]
fn readers_keep_their_snapshot_while_writers_publish() {
    let store = store_with(vec![ind("old", "A", "ipv4-addr", "192.0.2.1")]);
    let held = store.snapshot();
    store.replace_all(vec![ind("new", "A", "ipv4-addr", "192.0.2.2")], NOW);
    let mut seen = Vec::new();
    held.lookup(
        ObservableKind::Ip,
        "192.0.2.1",
        LookupOptions::default(),
        NOW,
        &mut |m| seen.push(m.entry),
    );
    assert_eq!(seen.len(), 1, "a held snapshot is immutable");
    assert_eq!(store.snapshot().version(), held.version() + 1);
}

#[test]
fn shared_metadata_is_held_once_and_read_back_per_entry() {
    let mut a = ind("a", "Feed", "ipv4-addr", "192.0.2.1");
    a.threat_type = Some("c2".into());
    a.tags = vec!["x".into()];
    let mut b = ind("bee", "Feed", "ipv4-addr", "192.0.2.2");
    b.threat_type = Some("c2".into());
    b.tags = vec!["x".into()];
    let mut c = ind("c", "Feed", "ipv4-addr", "192.0.2.3");
    c.confidence = Some(5);
    let store = store_with(vec![a, b, c]);
    let snap = store.snapshot();
    assert_eq!(snap.len(), 3);
    assert_eq!(snap.metas(), 2);
    let got: Vec<_> = snap
        .entries()
        .map(|e| {
            (
                e.id().to_string(),
                e.source().to_string(),
                e.threat_type().map(str::to_string),
                e.tags().to_vec(),
                e.confidence(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "a".into(),
                "Feed".into(),
                Some("c2".into()),
                vec!["x".into()],
                None
            ),
            (
                "bee".into(),
                "Feed".into(),
                Some("c2".into()),
                vec!["x".into()],
                None
            ),
            ("c".into(), "Feed".into(), None, vec![], Some(5)),
        ]
    );
    assert!(snap.heap_bytes() > snap.value_bytes());
    // The snapshot is all the store keeps.
    assert_eq!(store.source_bytes(), 0);
}

fn at(t: Micros) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1000).unwrap()
}

/// (id, description, received) of every entry, sorted.
fn held(store: &IndicatorStore) -> Vec<(String, Option<String>, Micros)> {
    let snap = store.snapshot();
    let mut out: Vec<_> = snap
        .entries()
        .map(|e| {
            (
                e.id().to_string(),
                e.description().map(str::to_string),
                e.received(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn upsert_merges_and_keeps_first_receipt() {
    let store = IndicatorStore::new(StoreConfig {
        default_ttl: Some(Duration::from_secs(3600)),
    });
    store.replace_source(
        "A",
        vec![
            ind("a1", "A", "domain-name", "one.example"),
            ind("a2", "A", "domain-name", "two.example"),
        ],
        NOW,
    );
    store.replace_source("B", vec![ind("b1", "B", "domain-name", "one.example")], NOW);
    let mut newer = ind("a2", "A", "domain-name", "two-b.example");
    newer.description = Some("moved".into());
    let v = store.snapshot().version();
    let snap = store.upsert_source(
        "A",
        vec![newer, ind("a3", "A", "ipv4-addr", "192.0.2.3")],
        NOW + HOUR / 2,
    );
    assert_eq!(snap.version(), v + 1);
    assert_eq!(
        held(&store),
        [
            ("a1".into(), None, NOW),
            // Replaced, but first received at NOW: its default TTL runs from then.
            ("a2".into(), Some("moved".into()), NOW),
            ("a3".into(), None, NOW + HOUR / 2),
            ("b1".into(), None, NOW),
        ]
    );
    let d = |v, t| ids(find(&store, ObservableKind::Domain, v, false, t));
    assert!(d("two.example", NOW).is_empty(), "the old value is gone");
    assert_eq!(d("two-b.example", NOW + HOUR - 1), ["a2"]);
    assert!(d("two-b.example", NOW + HOUR).is_empty());
    assert_eq!(d("one.example", NOW), ["a1", "b1"]);
    assert_eq!(
        ids(find(
            &store,
            ObservableKind::Ip,
            "192.0.2.3",
            false,
            NOW + HOUR
        )),
        ["a3"]
    );
    // An explicit valid-until given once is remembered as such only while
    // it is given: re-delivered without one, the TTL counts from first receipt.
    let mut explicit = ind("a1", "A", "domain-name", "one.example");
    explicit.valid_until = Some(at(NOW + 10 * HOUR));
    store.upsert_source("A", vec![explicit], NOW + HOUR);
    assert_eq!(d("one.example", NOW + 5 * HOUR), ["a1"]);
    store.upsert_source(
        "A",
        vec![ind("a1", "A", "domain-name", "one.example")],
        NOW + 2 * HOUR,
    );
    assert!(d("one.example", NOW + HOUR).iter().all(|id| id != "a1"));
}

#[test]
fn remove_source_drops_only_that_source() {
    let store = store_with(vec![
        ind("a1", "A", "ipv4-addr", "192.0.2.5"),
        ind("a2", "A", "ipv4-addr", "198.51.100.0/24"),
        ind("b1", "B", "ipv4-addr", "192.0.2.5"),
        ind("b2", "B", "url", "http://evil.example/x"),
        ind("b3", "B", "ipv4-addr", "203.0.113.0/24"),
    ]);
    let snap = store.remove_source("A");
    assert_eq!(snap.len(), 3);
    assert_eq!(
        ids(find(&store, ObservableKind::Ip, "203.0.113.9", false, NOW)),
        ["b3"]
    );
    assert_eq!(
        ids(find(&store, ObservableKind::Ip, "192.0.2.5", false, NOW)),
        ["b1"]
    );
    assert!(find(&store, ObservableKind::Ip, "198.51.100.7", false, NOW).is_empty());
    assert_eq!(
        ids(find(
            &store,
            ObservableKind::Url,
            "http://evil.example/x",
            false,
            NOW
        )),
        ["b2"]
    );
    assert_eq!(store.sources(), [("B".to_string(), 3)]);
    // Removing a source that is not there publishes an identical snapshot.
    assert_eq!(store.remove_source("nope").len(), 3);
}

#[test]
fn sweep_drops_expired_and_reports_how_many() {
    let store = IndicatorStore::new(StoreConfig {
        default_ttl: Some(Duration::from_secs(3600)),
    });
    let mut short = ind("short", "A", "ipv4-addr", "192.0.2.1");
    short.valid_until = Some(at(NOW + HOUR / 4));
    let mut long = ind("long", "A", "ipv4-addr", "192.0.2.1");
    long.valid_until = Some(at(NOW + 10 * HOUR));
    let ttl = ind("ttl", "B", "domain-name", "ttl.example");
    store.replace_all(vec![short, long, ttl], NOW);
    let v = store.snapshot().version();
    // Nothing expired yet: nothing published.
    let (snap, gone) = store.sweep(NOW);
    assert_eq!((snap.version(), gone, snap.len()), (v, 0, 3));
    // Valid-until is exclusive: at it, the indicator has expired.
    let (snap, gone) = store.sweep(NOW + HOUR / 4);
    assert_eq!((snap.version(), gone, snap.len()), (v + 1, 1, 2));
    assert_eq!(
        ids(find(&store, ObservableKind::Ip, "192.0.2.1", false, NOW)),
        ["long"]
    );
    // The default TTL counts.
    let (snap, gone) = store.sweep(NOW + HOUR);
    assert_eq!((gone, snap.len()), (1, 1));
    assert_eq!(store.sources(), [("A".to_string(), 1)]);
}

#[test]
fn counts_per_source_and_kind() {
    let store = store_with(vec![
        ind("a1", "A", "ipv4-addr", "192.0.2.1"),
        ind("a2", "A", "ipv4-addr", "192.0.2.0/24"),
        ind("a3", "A", "ipv4-addr", "192.0.2.3"),
        ind("b1", "B", "domain-name", "evil.example"),
    ]);
    let counts = store.snapshot().counts_by_source_and_kind();
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        [
            (("A".to_string(), IndicatorKind::Ipv4), 2),
            (("A".to_string(), IndicatorKind::Ipv4Cidr), 1),
            (("B".to_string(), IndicatorKind::Domain), 1),
        ]
    );
    assert_eq!(
        store.sources(),
        [("A".to_string(), 3), ("B".to_string(), 1)]
    );
}

#[test]
fn ids_and_descriptions_are_held_compactly_and_read_back() {
    let uuid = |n: u32| format!("example:indicator-{n:08x}-b172-5b10-9d0d-e81dafd5aad6");
    let mut indicators = Vec::new();
    for n in 0..50u32 {
        let mut i = ind(&uuid(n), "Feed", "ipv4-addr", &format!("192.0.2.{n}"));
        // Unique titles stay with their entry; a shared one goes in the metadata.
        i.description = Some(if n < 40 {
            format!("Generated {n}")
        } else {
            "shared description, long enough to be worth one metadata record".to_string()
        });
        indicators.push(i);
    }
    indicators.push(ind("plain-id", "Feed", "ipv4-addr", "192.0.2.200"));
    let store = store_with(indicators);
    let snap = store.snapshot();
    assert_eq!(snap.metas(), 3, "one per id prefix and shared description");
    for n in 0..50u32 {
        let mut got = Vec::new();
        snap.lookup(
            ObservableKind::Ip,
            &format!("192.0.2.{n}"),
            LookupOptions::default(),
            NOW,
            &mut |m| got.push(m.entry),
        );
        let e = snap.entry(got[0]);
        assert_eq!(e.id().to_string(), uuid(n));
        assert!(e.id() == uuid(n).as_str());
        let want = if n < 40 {
            format!("Generated {n}")
        } else {
            "shared description, long enough to be worth one metadata record".to_string()
        };
        assert_eq!(e.description(), Some(want.as_str()));
    }
    assert_eq!(
        ids(find(&store, ObservableKind::Ip, "192.0.2.200", false, NOW)),
        ["plain-id"]
    );
    // A replacement of another source keeps all of this one as it was.
    let before = held(&store);
    store.replace_source(
        "Other",
        vec![ind("o", "Other", "ipv4-addr", "192.0.2.1")],
        NOW,
    );
    let after: Vec<_> = held(&store)
        .into_iter()
        .filter(|(id, ..)| id != "o")
        .collect();
    assert_eq!(after, before);
}
