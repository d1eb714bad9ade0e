//! The TAXII 1.1 client against a real OpenTAXII 0.9.3 on loopback (see support/opentaxii.rs).
//! Each test starts its own server (about 3 s) and stops it when done.

#[path = "support/opentaxii.rs"]
mod opentaxii;

use std::collections::BTreeMap;
use std::time::Duration;

use opentaxii::{ADMIN, OpenTaxii, PAGE_SIZE, READER};
use taxiway_poller::client::{
    ClientConfig, ClientError, FeedOutcome, FeedParams, PollWindow, Secret, TaxiiClient, poll_feed,
};
use taxiway_poller::taxii11::{CollectionKind, ServiceType, StatusError, Version};
use time::OffsetDateTime;

fn client(user: (&str, &str)) -> TaxiiClient {
    TaxiiClient::new(ClientConfig {
        username: Some(user.0.to_owned()),
        password: Some(Secret::new(user.1)),
        ..ClientConfig::default()
    })
    .unwrap()
}

fn params(server: &OpenTaxii, collections: &[&str]) -> FeedParams {
    FeedParams {
        name: "opentaxii-test".to_owned(),
        discovery_url: server.discovery_url(),
        collections: collections.iter().map(|c| c.to_string()).collect(),
        subscription_id: None,
        begin: None,
        end: None,
        max_lookback: Duration::from_secs(86_400),
    }
}

/// Polls and returns the outcome plus every value received, per collection, in order.
fn poll(
    client: &TaxiiClient,
    params: &FeedParams,
    cursors: &BTreeMap<String, OffsetDateTime>,
) -> (FeedOutcome, BTreeMap<String, Vec<String>>) {
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let outcome = poll_feed(
        client,
        params,
        &|c| cursors.get(c).copied(),
        &mut |collection, indicator| {
            assert_eq!(indicator.source, "opentaxii-test");
            assert_eq!(indicator.collection.as_deref(), Some(collection));
            values
                .entry(collection.to_owned())
                .or_default()
                .push(indicator.value);
        },
    )
    .unwrap();
    (outcome, values)
}

fn ips(range: std::ops::Range<u32>) -> Vec<(&'static str, String)> {
    range
        .map(|i| ("ipv4-addr", format!("198.51.{}.{}", i / 250, i % 250 + 1)))
        .collect()
}

#[test]
fn discovery_and_collections() {
    let server = OpenTaxii::start();
    let client = client(READER);
    let discovery = client.discover(&server.discovery_url()).unwrap();
    assert_eq!(discovery.version, Version::V11);
    for (kind, path) in [
        (
            ServiceType::CollectionManagement,
            "/services/collection-management",
        ),
        (ServiceType::Poll, "/services/poll"),
        (ServiceType::Inbox, "/services/inbox"),
    ] {
        let s = discovery
            .services_of(&kind)
            .next()
            .unwrap_or_else(|| panic!("no {kind:?} service"));
        assert_eq!(s.address, server.url(path));
    }

    let collections = client.collections(&server.discovery_url()).unwrap();
    let kinds: BTreeMap<&str, CollectionKind> = collections
        .collections
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    assert_eq!(kinds.get("ips"), Some(&CollectionKind::DataFeed));
    assert_eq!(kinds.get("domains"), Some(&CollectionKind::DataFeed));
    assert_eq!(kinds.get("files"), Some(&CollectionKind::DataSet));
    assert_eq!(kinds.get("big"), Some(&CollectionKind::DataFeed));
    let ips = collections.collection("ips").unwrap();
    assert_eq!(ips.poll_services[0].address, server.poll_url());
}

#[test]
fn full_poll_multi_part_then_incremental() {
    let server = OpenTaxii::start();
    // ips: 5 blocks (parts 2 + 2 + 1); files: 4 blocks, exactly two full parts, so the
    // server says `more` after the second and serves an empty third; domains: 1 block.
    let mut packages = Vec::new();
    for i in 0..5 {
        packages.push(("ips", ips(i * 3..i * 3 + 3)));
    }
    let hashes: Vec<String> = (0..4).map(|i| format!("{:032x}", 0xabc0 + i)).collect();
    for h in &hashes {
        packages.push(("files", vec![("file:hashes.MD5", h.clone())]));
    }
    packages.push((
        "domains",
        vec![
            ("domain-name", "evil.example".to_owned()),
            ("domain-name", "bad.example.net".to_owned()),
        ],
    ));
    server.push(&packages);

    let client = client(READER);
    let p = params(&server, &["ips", "files", "domains"]);
    let (outcome, values) = poll(&client, &p, &BTreeMap::new());
    let by_name: BTreeMap<&str, _> = outcome
        .collections
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    assert_eq!(PAGE_SIZE, 2);
    assert_eq!(by_name["ips"].blocks, 5);
    assert_eq!(by_name["ips"].parts, 3);
    assert_eq!(by_name["files"].blocks, 4);
    assert_eq!(
        by_name["files"].parts, 3,
        "exactly-full last part, then an empty one"
    );
    assert_eq!(by_name["domains"].blocks, 1);
    assert_eq!(by_name["domains"].parts, 1);
    assert_eq!(
        values["ips"],
        ips(0..15).into_iter().map(|(_, v)| v).collect::<Vec<_>>()
    );
    assert_eq!(values["files"], hashes);
    assert_eq!(values["domains"], ["evil.example", "bad.example.net"]);
    for c in &outcome.collections {
        assert!(c.cursor.is_some(), "{} has a cursor", c.name);
        assert!(c.invalid.is_empty() && c.unsupported.is_empty(), "{c:?}");
    }

    // Incremental: only what was pushed after the first poll comes back.
    let cursors: BTreeMap<String, OffsetDateTime> = outcome
        .collections
        .iter()
        .map(|c| (c.name.clone(), c.cursor.unwrap()))
        .collect();
    server.push(&[("ips", ips(100..102)), ("ips", ips(200..201))]);
    let p = params(&server, &["ips", "domains"]);
    let (again, values) = poll(&client, &p, &cursors);
    assert_eq!(
        values["ips"],
        ips(100..102)
            .into_iter()
            .chain(ips(200..201))
            .map(|(_, v)| v)
            .collect::<Vec<_>>()
    );
    assert!(!values.contains_key("domains"));
    let ips_again = again.collections.iter().find(|c| c.name == "ips").unwrap();
    assert_eq!(ips_again.blocks, 2);
    assert!(ips_again.cursor.unwrap() > cursors["ips"]);
    let domains_again = again
        .collections
        .iter()
        .find(|c| c.name == "domains")
        .unwrap();
    assert_eq!(domains_again.blocks, 0);
    assert_eq!(
        domains_again.cursor, None,
        "no content: keep the old cursor"
    );

    // Every collection when none is named (the reader sees the ones it may read).
    let (all, _) = poll(&client, &params(&server, &[]), &cursors);
    let names: Vec<&str> = all.collections.iter().map(|c| c.name.as_str()).collect();
    for name in ["ips", "domains", "files", "big"] {
        assert!(names.contains(&name), "{names:?}");
    }
}

#[test]
fn poll_with_subscription() {
    let server = OpenTaxii::start();
    let client = client(ADMIN);
    let subscription = client
        .subscribe(&server.collection_management_url(), Version::V11, "domains")
        .unwrap();
    let id = subscription.subscriptions[0].id.clone();
    server.push(&[(
        "domains",
        vec![("domain-name", "sub.example.org".to_owned())],
    )]);
    let mut seen = Vec::new();
    let outcome = client
        .poll(
            &server.poll_url(),
            "domains",
            PollWindow::default(),
            Some(&id),
            &mut |block| -> Result<(), std::convert::Infallible> {
                seen.push(String::from_utf8_lossy(block.content.as_bytes()).into_owned());
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(outcome.blocks, 1);
    assert!(seen[0].contains("sub.example.org"));
    assert!(outcome.cursor.is_some());

    // The feed flow with a subscription id.
    let mut p = params(&server, &["domains"]);
    p.subscription_id = Some(id);
    let mut values = Vec::new();
    poll_feed(&client, &p, &|_| None, &mut |_, i| values.push(i.value)).unwrap();
    assert_eq!(values, ["sub.example.org"]);

    let err = client
        .poll(
            &server.poll_url(),
            "domains",
            PollWindow::default(),
            Some("no-such-subscription"),
            &mut |_| -> Result<(), std::convert::Infallible> { Ok(()) },
        )
        .unwrap_err();
    assert!(
        matches!(err.status(), Some(StatusError::NotFound { .. })),
        "{err}"
    );
    assert_eq!(err.exit_code(), 4);
}

#[test]
fn unauthorized_and_not_found_are_typed() {
    let server = OpenTaxii::start();
    let wrong = client((READER.0, "wrong-password-123"));
    let err = wrong.discover(&server.discovery_url()).unwrap_err();
    assert!(
        matches!(err.status(), Some(StatusError::Unauthorized { .. })),
        "{err}"
    );
    assert_eq!(err.exit_code(), 3);
    assert!(!format!("{err} {err:?}").contains("wrong-password-123"));

    let err = wrong
        .poll(
            &server.poll_url(),
            "ips",
            PollWindow::default(),
            None,
            &mut |_| -> Result<(), std::convert::Infallible> { Ok(()) },
        )
        .unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");

    let anonymous = TaxiiClient::new(ClientConfig::default()).unwrap();
    let err = poll_feed(
        &anonymous,
        &params(&server, &["ips"]),
        &|_| None,
        &mut |_, _| {},
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");

    // A collection the reader may not read: NOT_FOUND from the poll service.
    let reader = client(READER);
    let err = reader
        .poll(
            &server.poll_url(),
            "extra",
            PollWindow::default(),
            None,
            &mut |_| -> Result<(), std::convert::Infallible> { Ok(()) },
        )
        .unwrap_err();
    assert!(
        matches!(err.status(), Some(StatusError::NotFound { .. })),
        "{err}"
    );
    assert_eq!(err.exit_code(), 4);

    // A collection that does not exist: named in the error.
    let err = poll_feed(
        &reader,
        &params(&server, &["ips", "no-such-collection"]),
        &|_| None,
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(
        matches!(&err, ClientError::CollectionNotFound { name, .. } if name == "no-such-collection"),
        "{err}"
    );
    assert!(err.to_string().contains("no-such-collection"));
    assert_eq!(err.exit_code(), 4);

    // Nothing listens at a wrong path: not TAXII.
    let err = reader
        .discover(&server.url("/services/nothing-here"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::NotTaxii { .. } | ClientError::Status { .. }
        ),
        "{err}"
    );
}

#[test]
fn five_thousand_indicators_in_one_block() {
    let server = OpenTaxii::start();
    let pushed = ips(0..5000);
    server.push(&[("big", pushed.clone())]);
    let client = client(READER);
    let (outcome, values) = poll(&client, &params(&server, &["big"]), &BTreeMap::new());
    let big = &outcome.collections[0];
    assert_eq!(big.blocks, 1);
    assert_eq!(big.indicators, 5000);
    let got = &values["big"];
    assert_eq!(got.len(), 5000);
    for (i, ((_, want), got)) in pushed.iter().zip(got).enumerate() {
        assert_eq!(want, got, "indicator {i}");
    }
}

/// A test PKI: a CA, a server certificate for 127.0.0.1, a client certificate (PEM and a
/// password-protected PKCS#12), and a client certificate from an unrelated CA.
struct Pki {
    files: opentaxii::TlsFiles,
    p12: std::path::PathBuf,
    foreign_p12: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

const P12_PASSWORD: &str = "p12-pass-word";

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair,
    };
    let dir = tempfile::tempdir().unwrap();
    let ca_for = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
    };
    let ca = ca_for("taxiway test CA");
    let other_ca = ca_for("some other CA");

    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();

    let client = |issuer: &CertifiedIssuer<'_, KeyPair>, file: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "taxiway client");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, issuer).unwrap();
        let chain = p12_keystore::PrivateKeyChain::new(
            key.serialize_der(),
            [1u8; 20],
            vec![
                p12_keystore::Certificate::from_der(cert.der()).unwrap(),
                p12_keystore::Certificate::from_der(issuer.der()).unwrap(),
            ],
        );
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "client",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
        );
        let p12 = store.writer(P12_PASSWORD).write().unwrap();
        (
            opentaxii::write(dir.path(), file, &p12),
            cert.pem(),
            key.serialize_pem(),
        )
    };
    let (p12, client_pem, client_key_pem) = client(&ca, "client.p12");
    let (foreign_p12, _, _) = client(&other_ca, "foreign.p12");
    let files = opentaxii::TlsFiles {
        server_cert: opentaxii::write(dir.path(), "server.pem", server_cert.pem().as_bytes()),
        server_key: opentaxii::write(
            dir.path(),
            "server.key",
            server_key.serialize_pem().as_bytes(),
        ),
        ca_cert: opentaxii::write(dir.path(), "ca.pem", ca.pem().as_bytes()),
        client_cert: opentaxii::write(dir.path(), "client.pem", client_pem.as_bytes()),
        client_key: opentaxii::write(dir.path(), "client.key", client_key_pem.as_bytes()),
    };
    Pki {
        files,
        p12,
        foreign_p12,
        _dir: dir,
    }
}

#[test]
fn tls_client_certificate_from_pkcs12() {
    use taxiway_poller::client::{ClientCertificate, NetworkKind};
    let pki = pki();
    let server = OpenTaxii::start_tls(&pki.files);
    server.push(&[("ips", ips(0..3))]);
    let tls_client = |p12: &std::path::Path, password: &str| {
        TaxiiClient::new(ClientConfig {
            username: Some(READER.0.to_owned()),
            password: Some(Secret::new(READER.1)),
            certificate: Some(ClientCertificate::Pkcs12 {
                path: p12.to_owned(),
                password: Some(Secret::new(password)),
            }),
            ca_certificates: vec![pki.files.ca_cert.clone()],
            ..ClientConfig::default()
        })
    };
    let good = tls_client(&pki.p12, P12_PASSWORD).unwrap();
    let (outcome, values) = poll(&good, &params(&server, &["ips"]), &BTreeMap::new());
    assert_eq!(outcome.collections[0].blocks, 1);
    assert_eq!(
        values["ips"],
        ips(0..3).into_iter().map(|(_, v)| v).collect::<Vec<_>>()
    );

    // No client certificate: the server refuses the handshake.
    let none = TaxiiClient::new(ClientConfig {
        username: Some(READER.0.to_owned()),
        password: Some(Secret::new(READER.1)),
        ca_certificates: vec![pki.files.ca_cert.clone()],
        ..ClientConfig::default()
    })
    .unwrap();
    let err = none.discover(&server.discovery_url()).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Network {
                kind: NetworkKind::TlsClientAuth,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 3);

    // A certificate from another CA.
    let foreign = tls_client(&pki.foreign_p12, P12_PASSWORD).unwrap();
    let err = foreign.discover(&server.discovery_url()).unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err:?}");

    // The server's CA not trusted: our own TLS error.
    let untrusting = TaxiiClient::new(ClientConfig::default()).unwrap();
    let err = untrusting.discover(&server.discovery_url()).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Network {
                kind: NetworkKind::Tls,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 5);

    // A wrong PKCS#12 password is a configuration error, before any request.
    let err = tls_client(&pki.p12, "wrong").unwrap_err();
    assert!(matches!(err, ClientError::Config(_)), "{err}");
    assert!(!err.to_string().contains("wrong\""));
}

/// OpenTAXII also speaks TAXII 1.0: Feed_Information and a 1.0 Poll_Request (with its own time
/// window elements) against the real server, and the STIX it returns parsed.
#[test]
fn taxii_10_feed_information_and_poll() {
    let server = OpenTaxii::start();
    server.push(&[("ips", ips(300..304))]);
    let client = client(READER);
    let feeds = client
        .collection_information(&server.collection_management_url(), Version::V10)
        .unwrap();
    assert_eq!(feeds.version, Version::V10);
    let ips_feed = feeds.collection("ips").expect("the ips feed is listed");
    assert!(!ips_feed.poll_services.is_empty(), "{ips_feed:?}");

    let begin = OffsetDateTime::now_utc() - Duration::from_secs(3600);
    let mut values = Vec::new();
    let outcome = client
        .poll_version(
            Version::V10,
            &server.poll_url(),
            "ips",
            PollWindow {
                begin: Some(begin),
                end: None,
            },
            None,
            &mut |block| {
                let ctx = taxiway_poller::stix1::StixContext {
                    source: "v10",
                    collection: Some("ips"),
                };
                taxiway_poller::stix1::parse_package(block.content.as_bytes(), &ctx, &mut |i| {
                    values.push(i.value)
                })
                .map(|_| ())
            },
        )
        .unwrap();
    assert_eq!(
        values,
        ips(300..304)
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>()
    );
    assert!(outcome.blocks >= 1);
    assert!(
        outcome.cursor.is_some(),
        "a cursor from the 1.0 response: {outcome:?}"
    );
}
