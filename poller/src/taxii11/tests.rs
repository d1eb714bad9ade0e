//! Tests against real OpenTAXII captures (`tests/fixtures/taxii11/`, copied from
//! `shared/reference/captures/taxii11`) plus hand-written bodies for what the captures lack
//! (TAXII 1.0 polls and feed information, every status type, hostile XML).

use std::borrow::Cow;
use std::path::PathBuf;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/taxii11")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// A captured HTTP message: status (0 for requests), headers, body.
fn http_fixture(name: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let raw = fixture(name);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("blank line after the headers");
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII headers");
    let mut lines = head.split("\r\n");
    let first = lines.next().expect("status line");
    let status = if first.starts_with("HTTP/") {
        first
            .split(' ')
            .nth(1)
            .expect("status")
            .parse()
            .expect("numeric status")
    } else {
        0
    };
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').expect("header line");
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

fn fixture_names(suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_path(""))
        .expect("fixture folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

fn status_of(result: Result<impl std::fmt::Debug, ResponseError>) -> StatusError {
    match result {
        Err(ResponseError::Status(e)) => e,
        other => panic!("expected a status error, got {other:?}"),
    }
}

fn poll(name: &str) -> (PollHeader, Vec<(Option<OffsetDateTime>, String, bool)>) {
    let body = fixture(name);
    let mut reader = PollResponseReader::new(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
    let header = reader.header().clone();
    let mut blocks = Vec::new();
    while let Some(block) = reader
        .next_block()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
    {
        let range = block.content.range();
        assert_eq!(
            &body[range],
            block.content.as_bytes(),
            "{name}: range is the content"
        );
        blocks.push((
            block.timestamp_label,
            block.binding_id.clone(),
            block.content.is_xml(),
        ));
    }
    assert!(reader.next_block().unwrap().is_none(), "stays at the end");
    (header, blocks)
}

// ---------------------------------------------------------------- headers

#[test]
fn request_headers_are_those_of_the_captured_requests() {
    for (version, name) in [
        (Version::V11, "01-discovery.request.http"),
        (Version::V10, "18-taxii10-discovery.request.http"),
    ] {
        let (_, captured, _) = http_fixture(name);
        let captured: Vec<(String, String)> = captured
            .into_iter()
            .filter(|(k, _)| k != "Host" && k != "Content-Length")
            .collect();
        let ours: Vec<(String, String)> = request_headers(version, false)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(ours, captured, "{name}");
    }
    let https = request_headers(Version::V11, true);
    assert!(https.contains(&(HEADER_X_TAXII_PROTOCOL, PROTOCOL_HTTPS.to_owned())));
}

#[test]
fn version_constants() {
    assert_eq!(
        Version::from_message_binding(" urn:taxii.mitre.org:message:xml:1.0 "),
        Some(Version::V10)
    );
    assert_eq!(
        Version::from_message_binding("urn:taxii.mitre.org:message:xml:9.9"),
        None
    );
    assert_eq!(Version::from_namespace(NS_TAXII_11), Some(Version::V11));
    assert_eq!(Version::V10.services(), SERVICES_10);
    assert_eq!(Version::V11.to_string(), "TAXII 1.1");
}

// ---------------------------------------------------------------- requests

/// An element: namespace, local name, sorted unprefixed attributes, trimmed text.
type Significant = (String, String, Vec<(String, String)>, String);

/// The significant content of an XML document: every element as (namespace, local name,
/// sorted unprefixed attributes, trimmed text), in document order.
fn significant(xml: &str) -> Vec<Significant> {
    let mut reader = NsReader::from_str(xml);
    let mut out: Vec<Significant> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        let (ns, event) = reader.read_resolved_event().expect("well-formed");
        let ns = match ns {
            ResolveResult::Bound(n) => n.0.to_owned(),
            _ => String::new(),
        };
        let (start, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                open.pop();
                continue;
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].3.push_str(t.trim());
                }
                continue;
            }
            Event::Eof => return out,
            _ => continue,
        };
        let mut attrs: Vec<(String, String)> = start
            .attributes()
            .map(|a| a.expect("attribute"))
            .filter(|a| !a.key.into_inner().starts_with("xmlns"))
            .map(|a| (a.key.into_inner().to_owned(), a.value.into_owned()))
            .collect();
        attrs.sort();
        out.push((
            ns,
            start.local_name().into_inner().to_owned(),
            attrs,
            String::new(),
        ));
        if !empty {
            open.push(out.len() - 1);
        }
    }
}

fn assert_same_request(ours: &str, capture: &str) {
    let expected = String::from_utf8(fixture(capture)).expect("UTF-8");
    assert_eq!(
        significant(ours),
        significant(&expected),
        "{capture}: significant parts"
    );
    assert_eq!(ours, expected, "{capture}: byte for byte");
}

#[test]
fn discovery_and_collection_information_requests_match_captures() {
    assert_same_request(
        &discovery_request(Version::V11, "1001"),
        "01-discovery.request.xml",
    );
    assert_same_request(
        &collection_information_request(Version::V11, "1002"),
        "02-collection-information.request.xml",
    );
    assert_same_request(
        &discovery_request(Version::V10, "1018"),
        "18-taxii10-discovery.request.xml",
    );
    let feed = collection_information_request(Version::V10, "7");
    assert!(feed.starts_with("<taxii:Feed_Information_Request "));
    assert!(feed.contains(" message_id=\"7\"/>"));
}

#[test]
fn poll_requests_match_captures() {
    let full = PollSelector::Parameters {
        response_type: ResponseType::Full,
        content_bindings: &[],
    };
    let poll = |id, name, begin, end, selector| {
        PollRequest11 {
            message_id: id,
            collection_name: name,
            exclusive_begin: begin,
            inclusive_end: end,
            selector,
        }
        .to_xml()
    };
    assert_same_request(
        &poll("1004", "ips", None, None, full),
        "04-poll-ips-part1.request.xml",
    );
    assert_same_request(
        &poll("1008", "files", None, None, full),
        "08-poll-files-exactly-page-size.request.xml",
    );
    assert_same_request(
        &poll(
            "1011",
            "ips",
            Some(datetime!(2000-01-01 00:00:00 UTC)),
            Some(datetime!(2026-12-04 15:07:22.155321 UTC)),
            full,
        ),
        "11-poll-ips-window-end-now.request.xml",
    );
    assert_same_request(
        &poll(
            "1012",
            "ips",
            Some(datetime!(2026-12-04 15:07:22.155321 UTC)),
            None,
            full,
        ),
        "12-poll-ips-window-begin-now-empty.request.xml",
    );
    assert_same_request(
        &poll(
            "1013",
            "ips",
            None,
            None,
            PollSelector::Parameters {
                response_type: ResponseType::CountOnly,
                content_bindings: &[],
            },
        ),
        "13-poll-ips-count-only.request.xml",
    );
    assert_same_request(
        &poll(
            "1015",
            "files",
            None,
            None,
            PollSelector::Subscription("8798218365074668252"),
        ),
        "15-poll-files-with-subscription-id.request.xml",
    );
    assert_same_request(
        &PollFulfillmentRequest {
            message_id: "1005",
            collection_name: "ips",
            result_id: "953032325616753342",
            result_part_number: 2,
        }
        .to_xml(),
        "05-poll-fulfillment-ips-part2.request.xml",
    );
    assert_same_request(
        &SubscribeRequest {
            version: Version::V11,
            message_id: "1014",
            collection_name: "files",
            response_type: ResponseType::Full,
            content_bindings: &[],
        }
        .to_xml(),
        "14-subscribe-files.request.xml",
    );
}

#[test]
fn poll_request_with_content_bindings_and_escaping() {
    let bindings = [
        ContentBinding {
            binding_id: CONTENT_BINDING_STIX_12.to_owned(),
            subtypes: vec![],
        },
        ContentBinding {
            binding_id: "urn:example:x".to_owned(),
            subtypes: vec!["a&b".to_owned()],
        },
    ];
    let xml = PollRequest11 {
        message_id: "1",
        collection_name: "a\"<b>&c",
        exclusive_begin: None,
        inclusive_end: None,
        selector: PollSelector::Parameters {
            response_type: ResponseType::Full,
            content_bindings: &bindings,
        },
    }
    .to_xml();
    let parts = significant(&xml);
    assert_eq!(parts[0].1, "Poll_Request");
    assert!(
        parts[0]
            .2
            .contains(&("collection_name".into(), "a&quot;&lt;b&gt;&amp;c".into()))
    );
    let names: Vec<&str> = parts.iter().map(|p| p.1.as_str()).collect();
    assert_eq!(
        names,
        [
            "Poll_Request",
            "Poll_Parameters",
            "Response_Type",
            "Content_Binding",
            "Content_Binding",
            "Subtype"
        ]
    );
    assert!(parts.iter().all(|p| p.0 == NS_TAXII_11));
    assert!(xml.contains("<taxii_11:Subtype subtype_id=\"a&amp;b\"/>"));
    // Our own parser reads the escaped name back.
    let mut r = NsReader::from_str(&xml);
    loop {
        if let Event::Start(e) = r.read_event().unwrap() {
            let v = e.try_get_attribute("collection_name").unwrap().unwrap();
            assert_eq!(
                v.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .unwrap(),
                "a\"<b>&c"
            );
            break;
        }
    }
}

#[test]
fn taxii10_poll_and_subscribe_requests() {
    let xml = PollRequest10 {
        message_id: "42",
        feed_name: "ips",
        subscription_id: Some("s-1"),
        exclusive_begin: Some(datetime!(2026-01-02 03:04:05.5 +02:00)),
        inclusive_end: Some(datetime!(2026-01-03 00:00:00 UTC)),
        content_bindings: &[CONTENT_BINDING_STIX_10],
    }
    .to_xml();
    let parts = significant(&xml);
    assert!(parts.iter().all(|p| p.0 == NS_TAXII_10), "{xml}");
    assert_eq!(parts[0].1, "Poll_Request");
    assert_eq!(
        parts[0].2,
        vec![
            ("feed_name".to_owned(), "ips".to_owned()),
            ("message_id".to_owned(), "42".to_owned()),
            ("subscription_id".to_owned(), "s-1".to_owned()),
        ]
    );
    assert_eq!(parts[1].1, "Exclusive_Begin_Timestamp");
    assert_eq!(parts[1].3, "2026-01-02T03:04:05.500000+02:00");
    assert_eq!(parts[2].3, "2026-01-03T00:00:00+00:00");
    assert_eq!(
        (parts[3].1.as_str(), parts[3].3.as_str()),
        ("Content_Binding", CONTENT_BINDING_STIX_10)
    );

    let sub = SubscribeRequest {
        version: Version::V10,
        message_id: "43",
        collection_name: "ips",
        response_type: ResponseType::Full,
        content_bindings: &[],
    }
    .to_xml();
    let parts = significant(&sub);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].1, "Subscription_Management_Request");
    assert!(parts[0].2.contains(&("action".into(), "SUBSCRIBE".into())));
    assert!(parts[0].2.contains(&("feed_name".into(), "ips".into())));
}

#[test]
fn request_timestamps_always_carry_a_zone_and_at_most_microseconds() {
    use super::convert::format_timestamp;
    assert_eq!(
        format_timestamp(datetime!(2026-12-04 15:07:22.155321987 UTC)),
        "2026-12-04T15:07:22.155321+00:00"
    );
    assert_eq!(
        format_timestamp(datetime!(2026-12-04 15:07:22.000000999 -05:30)),
        "2026-12-04T15:07:22-05:30"
    );
    assert_eq!(
        format_timestamp(datetime!(2026-12-04 15:07:22 +00:00:30)),
        "2026-12-04T15:06:52+00:00"
    );
    // What we write, we (and the schema's pattern) read back.
    let t = datetime!(2026-12-04 15:07:22.000042 +01:00);
    assert_eq!(convert::timestamp("x", &format_timestamp(t)).unwrap(), t);
}

#[test]
fn message_ids_are_digits_and_distinct() {
    let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_message_id()).collect();
    assert_eq!(ids.len(), 1000);
    assert!(
        ids.iter()
            .all(|id| !id.is_empty() && id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit()))
    );
}

// ---------------------------------------------------------------- discovery

#[test]
fn discovery_11() {
    let d = parse_discovery_response(&fixture("01-discovery.response.xml")).unwrap();
    assert_eq!(d.version, Version::V11);
    assert_eq!(d.in_response_to, "1001");
    assert_eq!(d.message_id, "8019824019375543451");
    let types: Vec<ServiceType> = d.services.iter().map(|s| s.service_type.clone()).collect();
    assert_eq!(
        types,
        [
            ServiceType::Discovery,
            ServiceType::CollectionManagement,
            ServiceType::Poll,
            ServiceType::Inbox
        ]
    );
    let poll = &d.services[2];
    assert_eq!(poll.address, "http://127.0.0.1:9000/services/poll");
    assert_eq!(poll.protocol_binding, PROTOCOL_HTTP);
    assert_eq!(poll.services_version, SERVICES_11);
    assert_eq!(
        poll.message_bindings,
        [MESSAGE_BINDING_XML_10, MESSAGE_BINDING_XML_11]
    );
    assert_eq!(poll.available, Some(true));
    assert_eq!(poll.message.as_deref(), Some("Loopback poll service"));
    // The header cases that succeed answer the same document.
    for name in [
        "29-hdr-missing-X-TAXII-Protocol.response.xml",
        "30-hdr-missing-X-TAXII-Accept.response.xml",
        "39-hdr-minimal-ok.response.xml",
        "40-hdr-accept-star.response.xml",
        "41-hdr-content-type-with-charset.response.xml",
        "48-http-basic-auth-garbage.response.xml",
    ] {
        let other = parse_discovery_response(&fixture(name)).unwrap();
        assert_eq!(other.services, d.services, "{name}");
    }
}

#[test]
fn discovery_10() {
    let d = parse_discovery_response(&fixture("18-taxii10-discovery.response.xml")).unwrap();
    assert_eq!(d.version, Version::V10);
    assert_eq!(d.in_response_to, "1018");
    assert_eq!(d.services.len(), 4);
    assert_eq!(
        d.services[1].service_type,
        ServiceType::CollectionManagement
    );
    assert_eq!(
        d.services[1].address,
        "http://127.0.0.1:9000/services/collection-management"
    );
    assert!(d.services.iter().all(|s| s.services_version == SERVICES_10));
    let picked = d.pick(ServiceType::Poll, Scheme::Http).unwrap();
    assert_eq!(
        picked.service.address,
        "http://127.0.0.1:9000/services/poll"
    );
    assert!(!picked.scheme_mismatch);
}

fn service(kind: &str, address: &str, binding: &str, available: &str) -> String {
    format!(
        r#"<t:Service_Instance service_type="{kind}" service_version="urn:taxii.mitre.org:services:1.1" {available}>
  <t:Protocol_Binding>{binding}</t:Protocol_Binding><t:Address>{address}</t:Address>
  <t:Message_Binding>urn:taxii.mitre.org:message:xml:1.1</t:Message_Binding></t:Service_Instance>"#
    )
}

fn discovery_of(services: &[String]) -> DiscoveryResponse {
    let body = format!(
        r#"<t:Discovery_Response xmlns:t="{NS_TAXII_11}" message_id="1" in_response_to="2">{}</t:Discovery_Response>"#,
        services.concat()
    );
    parse_discovery_response(body.as_bytes()).unwrap()
}

#[test]
fn pick_prefers_the_discovery_scheme_and_tolerates_a_wrong_one() {
    let d = discovery_of(&[
        service("POLL", "http://a/poll", PROTOCOL_HTTP, ""),
        service("POLL", "https://a/poll", PROTOCOL_HTTPS, ""),
        service("INBOX", "http://a/inbox", PROTOCOL_HTTP, ""),
    ]);
    let p = d.pick(ServiceType::Poll, Scheme::Https).unwrap();
    assert_eq!(
        (p.service.address.as_str(), p.scheme_mismatch),
        ("https://a/poll", false)
    );
    let p = d.pick(ServiceType::Poll, Scheme::Http).unwrap();
    assert_eq!(
        (p.service.address.as_str(), p.scheme_mismatch),
        ("http://a/poll", false)
    );
    // Only http advertised (a TLS proxy in front): taken, flagged, rewritable.
    let p = d.pick(ServiceType::Inbox, Scheme::Https).unwrap();
    assert_eq!(p.service.address, "http://a/inbox");
    assert!(p.scheme_mismatch);
    assert_eq!(p.address_with_scheme(Scheme::Https), "https://a/inbox");
    assert!(d.pick(ServiceType::Discovery, Scheme::Https).is_none());
    assert_eq!(d.available_absent(), 3);

    // Unavailable services come last; a bare path is judged by its protocol binding.
    let d = discovery_of(&[
        service(
            "POLL",
            "https://a/poll",
            PROTOCOL_HTTPS,
            r#"available="false""#,
        ),
        service(
            "POLL",
            "/services/poll",
            PROTOCOL_HTTPS,
            r#"available="true""#,
        ),
    ]);
    let p = d.pick(ServiceType::Poll, Scheme::Https).unwrap();
    assert_eq!(
        (p.service.address.as_str(), p.scheme_mismatch),
        ("/services/poll", false)
    );
    assert_eq!(d.services[0].available, Some(false));
}

impl DiscoveryResponse {
    fn available_absent(&self) -> usize {
        self.services
            .iter()
            .filter(|s| s.available.is_none())
            .count()
    }
}

// ---------------------------------------------------------------- collections

#[test]
fn collection_information() {
    for (name, in_response_to) in [
        ("02-collection-information.response.xml", "1002"),
        ("03-collection-information-reader.response.xml", "1003"),
    ] {
        let c = parse_collection_information_response(&fixture(name)).unwrap();
        assert_eq!(c.version, Version::V11);
        assert_eq!(c.in_response_to, in_response_to);
        let names: Vec<&str> = c.collections.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ips", "domains", "files", "scratch"], "{name}");
        for col in &c.collections {
            assert_eq!(col.kind, CollectionKind::DataFeed);
            assert_eq!(col.available, Some(true));
            assert_eq!(col.poll_services.len(), 1);
            assert_eq!(
                col.poll_services[0].address,
                "http://127.0.0.1:9000/services/poll"
            );
            assert_eq!(
                col.subscription_services[0].address,
                "http://127.0.0.1:9000/services/collection-management"
            );
            assert_eq!(
                col.inbox_services[0].address,
                "http://127.0.0.1:9000/services/inbox"
            );
            assert!(col.content_bindings.is_empty());
        }
        let ips = c.collection("ips").unwrap();
        assert_eq!(ips.volume, Some(12));
        assert_eq!(
            ips.description,
            "IPv4/IPv6/CIDR indicators, 12 content blocks"
        );
        let (svc, mismatch) = ips.pick_poll_service(Scheme::Https).unwrap();
        assert!(mismatch);
        assert_eq!(svc.message_bindings.len(), 2);
    }
}

#[test]
fn data_sets_and_taxii10_feed_information() {
    let body = format!(
        r#"<Collection_Information_Response xmlns="{NS_TAXII_11}" message_id="1" in_response_to="2">
  <Collection collection_name="set" collection_type="DATA_SET" >
    <Description> a set </Description>
    <Content_Binding binding_id="urn:stix.mitre.org:xml:1.1.1"><Subtype subtype_id="x"/></Content_Binding>
    <Polling_Service><Protocol_Binding>{PROTOCOL_HTTPS}</Protocol_Binding><Address>https://h/p</Address>
      <Message_Binding>{MESSAGE_BINDING_XML_11}</Message_Binding></Polling_Service>
  </Collection>
</Collection_Information_Response>"#
    );
    let c = parse_collection_information_response(body.as_bytes()).unwrap();
    let set = &c.collections[0];
    assert_eq!(set.kind, CollectionKind::DataSet);
    assert_eq!(set.available, None);
    assert_eq!(set.description, "a set");
    assert_eq!(set.content_bindings[0].binding_id, CONTENT_BINDING_STIX_111);
    assert_eq!(set.content_bindings[0].subtypes, ["x"]);
    assert_eq!(
        set.pick_poll_service(Scheme::Https).unwrap(),
        (&set.poll_services[0], false)
    );

    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<taxii:Feed_Information_Response xmlns:taxii="{NS_TAXII_10}" message_id="5" in_response_to="4">
  <taxii:Feed feed_name="old-feed" available="false">
    <taxii:Description>TAXII 1.0 feed</taxii:Description>
    <taxii:Content_Binding>urn:stix.mitre.org:xml:1.0</taxii:Content_Binding>
    <taxii:Polling_Service>
      <taxii:Protocol_Binding>{PROTOCOL_HTTP}</taxii:Protocol_Binding>
      <taxii:Address>http://h/poll</taxii:Address>
      <taxii:Message_Binding>{MESSAGE_BINDING_XML_10}</taxii:Message_Binding>
    </taxii:Polling_Service>
  </taxii:Feed>
</taxii:Feed_Information_Response>"#
    );
    let c = parse_collection_information_response(body.as_bytes()).unwrap();
    assert_eq!(c.version, Version::V10);
    let feed = &c.collections[0];
    assert_eq!(feed.name, "old-feed");
    assert_eq!(feed.kind, CollectionKind::DataFeed);
    assert_eq!(feed.available, Some(false));
    assert_eq!(feed.content_bindings[0].binding_id, CONTENT_BINDING_STIX_10);
    assert_eq!(feed.poll_services[0].address, "http://h/poll");
}

#[test]
fn subscription_management_response() {
    let s = parse_subscription_response(&fixture("14-subscribe-files.response.xml")).unwrap();
    assert_eq!(s.collection_name, "files");
    assert_eq!(s.subscriptions.len(), 1);
    let sub = &s.subscriptions[0];
    assert_eq!(sub.id, "8798218365074668252");
    assert_eq!(sub.status, SubscriptionStatus::Active);
    assert_eq!(
        sub.poll_instances[0].address,
        "http://127.0.0.1:9000/services/poll"
    );

    let (header, blocks) = poll("15-poll-files-with-subscription-id.response.xml");
    assert_eq!(
        header.subscription_id.as_deref(),
        Some("8798218365074668252")
    );
    assert_eq!(blocks.len(), 5);
}

// ---------------------------------------------------------------- polls

fn assert_ascending_utc_micros(blocks: &[(Option<OffsetDateTime>, String, bool)]) {
    let labels: Vec<OffsetDateTime> = blocks
        .iter()
        .map(|b| b.0.expect("Timestamp_Label"))
        .collect();
    assert!(
        labels.windows(2).all(|w| w[0] < w[1]),
        "ascending: {labels:?}"
    );
    assert!(labels.iter().all(|t| t.offset().is_utc()));
    assert!(
        labels
            .iter()
            .all(|t| t.nanosecond() % 1_000 == 0 && t.nanosecond() != 0)
    );
    assert!(blocks.iter().all(|b| b.1 == CONTENT_BINDING_STIX_12 && b.2));
}

#[test]
fn multi_part_poll() {
    let (h1, b1) = poll("04-poll-ips-part1.response.xml");
    assert_eq!(h1.collection_name, "ips");
    assert_eq!(h1.in_response_to, "1004");
    assert_eq!(h1.result_id.as_deref(), Some("953032325616753342"));
    assert!(h1.more);
    assert_eq!(h1.result_part_number, 1);
    assert_eq!(
        h1.inclusive_end, None,
        "no window: no Inclusive_End_Timestamp"
    );
    assert_eq!(h1.record_count, None);
    assert_eq!(b1.len(), 5);
    assert_eq!(b1[0].0, Some(datetime!(2026-12-04 15:06:54.895620 UTC)));
    assert_eq!(h1.next_part(), Some(("953032325616753342", 2)));

    let (h2, b2) = poll("05-poll-fulfillment-ips-part2.response.xml");
    assert_eq!((h2.more, h2.result_part_number, b2.len()), (true, 2, 5));
    assert_eq!(h2.next_part(), Some(("953032325616753342", 3)));
    let (h3, b3) = poll("06-poll-fulfillment-ips-part3.response.xml");
    assert_eq!((h3.more, h3.result_part_number, b3.len()), (false, 3, 2));
    assert_eq!(h3.next_part(), None);
    let (h4, b4) = poll("07-poll-fulfillment-ips-part4-beyond-end.response.xml");
    assert_eq!((h4.more, h4.result_part_number, b4.len()), (false, 4, 0));

    let all: Vec<_> = [b1, b2, b3].concat();
    assert_eq!(all.len(), 12);
    assert_ascending_utc_micros(&all);
}

#[test]
fn exactly_page_size_gives_an_empty_last_part() {
    let (h, b) = poll("08-poll-files-exactly-page-size.response.xml");
    assert_eq!((h.more, b.len()), (true, 5));
    let (id, part) = h.next_part().unwrap();
    assert_eq!((id, part), ("5488629618934007953", 2));
    let (h2, b2) = poll("09-poll-fulfillment-files-part2-empty.response.xml");
    assert_eq!((h2.more, h2.result_part_number, b2.len()), (false, 2, 0));
    assert_eq!(h2.result_id.as_deref(), Some(id));
    assert_ascending_utc_micros(&b);

    // With count_blocks_in_poll_responses the same poll says more="false" and names no result.
    let (h, b) = poll("56-countblocks-poll-files-exactly-page-size.response.xml");
    assert_eq!((h.more, h.result_id.as_deref(), b.len()), (false, None, 5));
    assert_eq!(
        h.record_count,
        Some(RecordCount {
            count: 5,
            partial: false
        })
    );
}

#[test]
fn count_only_and_record_count() {
    let (h, b) = poll("13-poll-ips-count-only.response.xml");
    assert!(b.is_empty());
    assert_eq!(
        h.record_count, None,
        "OpenTAXII sends no count unless count_blocks is on"
    );
    assert!(h.more, "OpenTAXII claims more parts for COUNT_ONLY");
    let (h, b) = poll("55-countblocks-poll-ips-count-only.response.xml");
    assert!(b.is_empty());
    assert_eq!(
        h.record_count,
        Some(RecordCount {
            count: 12,
            partial: false
        })
    );
    let (h, b) = poll("54-countblocks-poll-ips-part1.response.xml");
    assert_eq!(h.record_count.map(|c| c.count), Some(12));
    assert_eq!(b.len(), 5);
}

#[test]
fn time_windows() {
    let (h, b) = poll("11-poll-ips-window-end-now.response.xml");
    assert_eq!(h.exclusive_begin, Some(datetime!(2000-01-01 00:00:00 UTC)));
    assert_eq!(
        h.inclusive_end,
        Some(datetime!(2026-12-04 15:07:22.155321 UTC))
    );
    assert_eq!(b.len(), 5);
    let (h, b) = poll("12-poll-ips-window-begin-now-empty.response.xml");
    assert_eq!(
        h.exclusive_begin,
        Some(datetime!(2026-12-04 15:07:22.155321 UTC))
    );
    assert_eq!((h.more, h.result_id.as_deref(), b.len()), (false, None, 0));
}

#[test]
fn poll_content_is_a_range_of_the_body() {
    let body = fixture("04-poll-ips-part1.response.xml");
    let mut reader = PollResponseReader::new(&body).unwrap();
    let block = reader.next_block().unwrap().unwrap();
    let ContentRange::Xml { range, xml } = &block.content else {
        panic!("embedded XML expected");
    };
    assert!(xml.starts_with(b"<stix:STIX_Package "));
    assert!(xml.ends_with(b"</stix:STIX_Package>"));
    assert_eq!(
        xml.as_ptr(),
        body[range.clone()].as_ptr(),
        "borrowed, not copied"
    );
    assert!(
        block
            .namespaces
            .contains(&("taxii_11".to_owned(), NS_TAXII_11.to_owned()))
    );
    assert!(
        block
            .namespaces
            .contains(&("tdq".to_owned(), NS_TAXII_DEFAULT_QUERY.to_owned()))
    );
    assert_eq!(block.subtype, None);
    // The iterator gives the rest.
    assert_eq!(reader.by_ref().count(), 4);
}

#[test]
fn text_cdata_and_empty_content() {
    let body = format!(
        r#"<p:Poll_Response xmlns:p="{NS_TAXII_11}" message_id="1" in_response_to="2" collection_name="c">
  <p:Message>hello</p:Message>
  <p:Content_Block>
    <p:Content_Binding binding_id="urn:stix.mitre.org:xml:1.1.1"><p:Subtype subtype_id="sub"/></p:Content_Binding>
    <p:Content>
      &lt;stix:STIX_Package a=&quot;1&quot;&gt;x &amp;amp; y&lt;/stix:STIX_Package&gt;&#x41;
    </p:Content>
    <p:Timestamp_Label>2026-01-01T00:00:00Z</p:Timestamp_Label>
    <p:Message>block message</p:Message>
    <p:Padding>xxxx</p:Padding>
  </p:Content_Block>
  <p:Content_Block>
    <p:Content_Binding binding_id="b"/>
    <p:Content>
      <![CDATA[<x>raw & <y/></x>]]>
    </p:Content>
    <p:Timestamp_Label>2026-01-01T00:00:01.5-01:00</p:Timestamp_Label>
  </p:Content_Block>
  <p:Content_Block><p:Content_Binding binding_id="c"/><p:Content/></p:Content_Block>
  <p:Content_Block><p:Content_Binding binding_id="d"/><p:Content>{{"json": true}}</p:Content></p:Content_Block>
</p:Poll_Response>"#
    );
    let mut r = PollResponseReader::new(body.as_bytes()).unwrap();
    assert_eq!(r.header().message.as_deref(), Some("hello"));
    assert!(!r.header().more);
    let b = r.next_block().unwrap().unwrap();
    assert_eq!(b.subtype.as_deref(), Some("sub"));
    assert_eq!(b.message.as_deref(), Some("block message"));
    assert_eq!(b.timestamp_label, Some(datetime!(2026-01-01 00:00:00 UTC)));
    match &b.content {
        ContentRange::Text { text, range } => {
            assert_eq!(
                text,
                "<stix:STIX_Package a=\"1\">x &amp; y</stix:STIX_Package>A"
            );
            assert!(body[range.clone()].starts_with("&lt;stix"));
        }
        other => panic!("text expected, got {other:?}"),
    }
    let b = r.next_block().unwrap().unwrap();
    assert_eq!(
        b.timestamp_label,
        Some(datetime!(2026-01-01 00:00:01.5 -01:00))
    );
    match &b.content {
        ContentRange::Text {
            text: Cow::Borrowed(t),
            ..
        } => assert_eq!(*t, "<x>raw & <y/></x>"),
        other => panic!("borrowed CDATA text expected, got {other:?}"),
    }
    let b = r.next_block().unwrap().unwrap();
    assert_eq!(b.content.as_bytes(), b"");
    assert_eq!(b.timestamp_label, None);
    let b = r.next_block().unwrap().unwrap();
    assert_eq!(b.content.as_bytes(), br#"{"json": true}"#);
    assert!(matches!(
        b.content,
        ContentRange::Text {
            text: Cow::Borrowed(_),
            ..
        }
    ));
    assert!(r.next_block().unwrap().is_none());
}

#[test]
fn taxii10_poll_response() {
    let body = format!(
        r#"<taxii:Poll_Response xmlns:taxii="{NS_TAXII_10}" message_id="9" in_response_to="8" feed_name="old-feed" subscription_id="s-1">
  <taxii:Inclusive_Begin_Timestamp>2026-01-01T00:00:00Z</taxii:Inclusive_Begin_Timestamp>
  <taxii:Inclusive_End_Timestamp>2026-01-02T00:00:00.000001+00:00</taxii:Inclusive_End_Timestamp>
  <taxii:Content_Block>
    <taxii:Content_Binding>urn:stix.mitre.org:xml:1.0</taxii:Content_Binding>
    <taxii:Content><stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1"/></taxii:Content>
    <taxii:Timestamp_Label>2026-01-01T12:00:00</taxii:Timestamp_Label>
    <taxii:Padding>   </taxii:Padding>
  </taxii:Content_Block>
</taxii:Poll_Response>"#
    );
    let mut r = PollResponseReader::new(body.as_bytes()).unwrap();
    let h = r.header().clone();
    assert_eq!(h.version, Version::V10);
    assert_eq!(h.collection_name, "old-feed");
    assert_eq!(h.subscription_id.as_deref(), Some("s-1"));
    assert_eq!(h.inclusive_begin, Some(datetime!(2026-01-01 00:00:00 UTC)));
    assert_eq!(
        h.inclusive_end,
        Some(datetime!(2026-01-02 00:00:00.000001 UTC))
    );
    assert_eq!(
        (h.more, h.result_part_number, h.next_part()),
        (false, 1, None)
    );
    let b = r.next_block().unwrap().unwrap();
    assert_eq!(b.binding_id, CONTENT_BINDING_STIX_10);
    assert_eq!(
        b.timestamp_label,
        Some(datetime!(2026-01-01 12:00:00 UTC)),
        "no zone: UTC"
    );
    assert_eq!(
        b.content.as_bytes(),
        br#"<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1"/>"#
    );
    assert!(r.next_block().unwrap().is_none());
}

#[test]
fn big_poll_response_streams_without_copying() {
    let gz = fixture_path("10-poll-domains-big.response.xml.gz");
    let output = match std::process::Command::new("gzip")
        .arg("-dc")
        .arg(&gz)
        .output()
    {
        Ok(o) if o.status.success() => o,
        Ok(o) => panic!("gzip -dc failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => {
            eprintln!("note: gzip not available ({e}); big poll response test skipped");
            return;
        }
    };
    let body = output.stdout;
    assert_eq!(body.len(), 6_614_712);
    let started = std::time::Instant::now();
    let mut reader = PollResponseReader::new(&body).unwrap();
    assert_eq!(reader.header().collection_name, "domains");
    assert!(!reader.header().more);
    let mut blocks = Vec::new();
    while let Some(block) = reader.next_block().unwrap() {
        blocks.push(block);
    }
    let elapsed = started.elapsed();
    assert_eq!(blocks.len(), 2);
    let big = &blocks[1];
    let ContentRange::Xml { range, xml } = &big.content else {
        panic!("embedded XML expected");
    };
    assert!(xml.len() > 6_500_000, "{} bytes", xml.len());
    assert!(
        std::ptr::eq(xml.as_ptr(), body[range.start..].as_ptr()),
        "borrowed, not copied"
    );
    assert!(xml.starts_with(b"<stix:STIX_Package ") && xml.ends_with(b"</stix:STIX_Package>"));
    assert!(blocks[0].timestamp_label < big.timestamp_label);
    // Generous for unoptimised test builds; a release build takes a few milliseconds.
    assert!(elapsed.as_secs() < 10, "took {elapsed:?}");
    eprintln!("6.6 MB poll response read in {elapsed:?}");
}

// ---------------------------------------------------------------- status messages

#[test]
fn every_captured_status_message() {
    use StatusError as S;
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "16-poll-files-unknown-subscription-id",
            "NOT_FOUND",
            Some("Requested subscription was not found"),
        ),
        (
            "19-err-poll-unknown-collection",
            "NOT_FOUND",
            Some("Requested collection was not found"),
        ),
        ("20-err-poll-no-auth", "UNAUTHORIZED", None),
        ("21-err-poll-bad-password", "UNAUTHORIZED", None),
        ("22-err-poll-unknown-user", "UNAUTHORIZED", None),
        (
            "23-err-poll-no-permission-reader-domains",
            "NOT_FOUND",
            Some("Requested collection was not found"),
        ),
        (
            "24-err-inbox-reader-no-modify",
            "UNAUTHORIZED",
            Some("User can not write to collection ips"),
        ),
        ("25-err-fulfillment-unknown-result-id", "NOT_FOUND", None),
        (
            "26-err-poll-sent-to-discovery",
            "FAILURE",
            Some("Message not supported by this service"),
        ),
        (
            "27-hdr-missing-X-TAXII-Content-Type",
            "FAILURE",
            Some("Header X-TAXII-Content-Type was not specified"),
        ),
        (
            "28-hdr-missing-X-TAXII-Services",
            "FAILURE",
            Some("Header X-TAXII-Services was not specified"),
        ),
        (
            "31-hdr-missing-Content-Type",
            "FAILURE",
            Some("Header Content-Type was not specified"),
        ),
        (
            "34-hdr-content-type-text-plain",
            "FAILURE",
            Some("The specified value of Content-Type is not supported"),
        ),
        (
            "35-hdr-bad-x-taxii-services",
            "FAILURE",
            Some("The value of X-TAXII-Services was not recognized"),
        ),
        (
            "36-hdr-bad-x-taxii-content-type",
            "FAILURE",
            Some("TAXII Content Type \"urn:taxii.mitre.org:message:xml:9.9\" is not supported"),
        ),
        ("37-hdr-10-content-type-11-body", "BAD_MESSAGE", None),
        (
            "38-hdr-minimal-no-x-taxii-services",
            "FAILURE",
            Some("Header X-TAXII-Services was not specified"),
        ),
        (
            "42-err-malformed-xml",
            "BAD_MESSAGE",
            Some("Request was invalid XML"),
        ),
        ("46-err-discovery-bad-password", "UNAUTHORIZED", None),
        ("49-http-auth-scheme-unknown", "UNAUTHORIZED", None),
    ];
    for (name, status_type, message) in cases {
        let body = fixture(&format!("{name}.response.xml"));
        // Whatever was asked, the status comes back typed.
        let e = status_of(PollResponseReader::new(&body).map(|r| r.header().clone()));
        assert_eq!(e, status_of(parse_discovery_response(&body)), "{name}");
        assert_eq!(
            e,
            status_of(parse_collection_information_response(&body)),
            "{name}"
        );
        assert_eq!(e.status_type(), *status_type, "{name}");
        if let Some(m) = message {
            assert_eq!(e.message(), Some(*m), "{name}");
        }
        assert_eq!(e.info().version, Version::V11);
        assert!(!e.in_response_to().is_empty());
        let direct = parse_status_message(&body).unwrap();
        assert_eq!(direct, StatusMessage::Error(e.clone()));
        match (&e, *name) {
            (S::NotFound { item, .. }, "16-poll-files-unknown-subscription-id") => {
                assert_eq!(item.as_deref(), Some("no-such-subscription"));
            }
            (S::NotFound { item, .. }, "19-err-poll-unknown-collection") => {
                assert_eq!(item.as_deref(), Some("no-such-collection"));
                assert_eq!(e.in_response_to(), "2001");
            }
            (S::NotFound { item, info }, "25-err-fulfillment-unknown-result-id") => {
                assert_eq!(item.as_deref(), Some("123"));
                assert_eq!(info.message, None);
            }
            (S::Unauthorized { info }, _) => assert_eq!(info.in_response_to, "0"),
            (S::BadMessage { info }, "37-hdr-10-content-type-11-body") => {
                assert!(
                    info.message
                        .as_deref()
                        .unwrap()
                        .starts_with("Request was not schema valid: \"<string>")
                );
            }
            _ => {}
        }
    }
}

#[test]
fn success_is_not_an_error() {
    let body = fixture("17-inbox-push-ok.response.xml");
    let status = parse_status_message(&body).unwrap();
    let StatusMessage::Success(info) = &status else {
        panic!("SUCCESS expected, got {status:?}");
    };
    assert_eq!(info.in_response_to, "1017");
    assert!(status.clone().into_result().is_ok());
    match PollResponseReader::new(&body) {
        Err(ResponseError::Unexpected { expected, found }) => {
            assert_eq!(expected, "Poll_Response");
            assert!(found.contains("SUCCESS"), "{found}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        parse_status_message(&fixture("01-discovery.response.xml")),
        Err(ResponseError::Unexpected { .. })
    ));
}

fn status11(status_type: &str, details: &str) -> StatusError {
    let body = format!(
        r#"<s:Status_Message xmlns:s="{NS_TAXII_11}" message_id="1" in_response_to="7" status_type="{status_type}">
  <s:Status_Detail>{details}</s:Status_Detail><s:Message> why </s:Message></s:Status_Message>"#
    );
    match parse_status_message(body.as_bytes()).unwrap() {
        StatusMessage::Error(e) => {
            assert_eq!(e.message(), Some("why"));
            assert_eq!(e.in_response_to(), "7");
            e
        }
        StatusMessage::Success(_) => panic!("error expected"),
    }
}

#[test]
fn every_status_type_of_the_spec() {
    use StatusError as S;
    let d = |name: &str, value: &str| format!(r#"<s:Detail name="{name}">{value}</s:Detail>"#);
    assert_eq!(
        status11("RETRY", &d("ESTIMATED_WAIT", "30")),
        S::Retry {
            estimated_wait: Some(30),
            info: Box::new(status11("RETRY", &d("ESTIMATED_WAIT", "30")).info().clone())
        }
    );
    match status11(
        "PENDING",
        &[
            d("ESTIMATED_WAIT", "300"),
            d("RESULT_ID", "r-9"),
            d("WILL_PUSH", "false"),
        ]
        .concat(),
    ) {
        S::Pending {
            estimated_wait,
            result_id,
            will_push,
            ..
        } => {
            assert_eq!(
                (estimated_wait, result_id.as_deref(), will_push),
                (Some(300), Some("r-9"), Some(false))
            );
        }
        other => panic!("{other:?}"),
    }
    match status11(
        "UNSUPPORTED_CONTENT",
        &[
            d("SUPPORTED_CONTENT", "urn:a"),
            d("SUPPORTED_CONTENT", "urn:b"),
        ]
        .concat(),
    ) {
        S::UnsupportedContent { supported, .. } => assert_eq!(supported, ["urn:a", "urn:b"]),
        other => panic!("{other:?}"),
    }
    match status11("INVALID_RESPONSE_PART", &d("MAX_PART_NUMBER", "3")) {
        S::InvalidResponsePart {
            max_part_number, ..
        } => assert_eq!(max_part_number, Some(3)),
        other => panic!("{other:?}"),
    }
    match status11(
        "DESTINATION_COLLECTION_ERROR",
        &d("ACCEPTABLE_DESTINATION", "x"),
    ) {
        S::DestinationCollectionError {
            acceptable_destinations,
            ..
        } => {
            assert_eq!(acceptable_destinations, ["x"]);
        }
        other => panic!("{other:?}"),
    }
    for (t, sd) in [
        ("UNSUPPORTED_MESSAGE", "SUPPORTED_BINDING"),
        ("UNSUPPORTED_PROTOCOL", "SUPPORTED_PROTOCOL"),
        ("UNSUPPORTED_QUERY", "SUPPORTED_QUERY"),
    ] {
        let e = status11(t, &d(sd, "urn:x"));
        assert_eq!(e.status_type(), t);
        assert_eq!(e.info().detail(sd), Some("urn:x"));
    }
    for t in [
        "ASYNCHRONOUS_POLL_ERROR",
        "BAD_MESSAGE",
        "DENIED",
        "FAILURE",
        "NETWORK_ERROR",
        "NOT_FOUND",
        "POLLING_UNSUPPORTED",
        "UNAUTHORIZED",
    ] {
        assert_eq!(status11(t, &d("X", "y")).status_type(), t);
    }
    let custom = status11("urn:example:status:QUOTA", &d("X", "y"));
    assert!(
        matches!(&custom, S::Other { status_type, .. } if status_type == "urn:example:status:QUOTA")
    );
    assert_eq!(custom.status_type(), "urn:example:status:QUOTA");
    assert!(status11("RETRY", "").is_transient());
    assert!(!status11("DENIED", "").is_transient());
    let shown = status11("NOT_FOUND", &d("ITEM", "ips")).to_string();
    assert_eq!(
        shown,
        r#"TAXII status NOT_FOUND: "why" [ITEM=ips] (in response to 7)"#
    );
}

#[test]
fn taxii10_status_detail_is_free_text() {
    let body = format!(
        r#"<taxii:Status_Message xmlns:taxii="{NS_TAXII_10}" message_id="1" in_response_to="7" status_type="RETRY">
  <taxii:Status_Detail> 120 </taxii:Status_Detail></taxii:Status_Message>"#
    );
    match status_of(parse_discovery_response(body.as_bytes())) {
        StatusError::Retry {
            estimated_wait,
            info,
        } => {
            assert_eq!(estimated_wait, Some(120));
            assert_eq!(info.version, Version::V10);
            assert_eq!(info.detail(""), Some("120"));
            assert_eq!(info.message, None);
        }
        other => panic!("{other:?}"),
    }
    let body = body
        .replace("RETRY", "UNSUPPORTED_MESSAGE")
        .replace(" 120 ", "urn:taxii.mitre.org:message:xml:1.0, urn:x");
    match status_of(parse_discovery_response(body.as_bytes())) {
        StatusError::UnsupportedMessage { supported, .. } => {
            assert_eq!(supported, [MESSAGE_BINDING_XML_10, "urn:x"]);
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- transport

#[test]
fn every_captured_http_response_is_classified() {
    let mut checked = 0;
    for name in fixture_names(".response.http") {
        let (status, headers, body) = http_fixture(&name);
        let result = classify_response(status, &headers, &body);
        let case = &name[..2];
        match case {
            "32" | "33" | "44" => assert_eq!(
                result,
                Err(TransportError::NotAcceptable {
                    snippet: "Unacceptable".to_owned()
                }),
                "{name}"
            ),
            "43" | "45" | "47" | "53" => match result {
                Err(TransportError::NotTaxii {
                    status: s,
                    content_type,
                    snippet,
                }) => {
                    assert_eq!(s, status);
                    assert_eq!(
                        content_type.as_deref(),
                        Some(if case == "53" {
                            "application/json"
                        } else {
                            "text/html; charset=utf-8"
                        }),
                        "{name}"
                    );
                    assert!(snippet.chars().count() <= 201);
                    if case == "47" {
                        assert_eq!(s, 404);
                        assert!(
                            snippet.starts_with(
                                "<!doctype html> <html lang=en> <title>404 Not Found</title>"
                            ),
                            "{snippet}"
                        );
                    }
                }
                other => panic!("{name}: {other:?}"),
            },
            "52" => assert!(
                matches!(
                    result,
                    Err(TransportError::Unauthorized { status: 401, .. })
                ),
                "{name}: {result:?}"
            ),
            _ => {
                let c = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                let want = if case == "18" {
                    Version::V10
                } else {
                    Version::V11
                };
                assert_eq!(
                    (c.version, c.http_status, c.header_missing),
                    (want, 200, false),
                    "{name}"
                );
                // The body that came with it is the separate .response.xml capture.
                let xml = fixture(&name.replace(".http", ".xml"));
                assert_eq!(body, xml, "{name}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 54);
}

#[test]
fn classify_edge_cases() {
    let taxii = |v: &str| vec![("x-taxii-content-type".to_owned(), v.to_owned())];
    let body = fixture("01-discovery.response.xml");
    assert!(matches!(
        classify_response(200, &taxii("urn:taxii.mitre.org:message:xml:9.9"), &body),
        Err(TransportError::UnsupportedVersion { status: 200, .. })
    ));
    assert_eq!(
        classify_response(200, &taxii(MESSAGE_BINDING_XML_11), b"  \n"),
        Err(TransportError::EmptyBody { status: 200 })
    );
    // A TAXII Status_Message with HTTP 500 is still TAXII: its text says more than the code.
    assert_eq!(
        classify_response(500, &taxii(MESSAGE_BINDING_XML_11), &body)
            .unwrap()
            .http_status,
        500
    );
    let html = b"<html><body>Bad gateway</body></html>".repeat(20);
    match classify_response(502, &[], &html) {
        Err(TransportError::Server {
            status: 502,
            snippet,
        }) => {
            assert_eq!(snippet.chars().count(), 201);
            assert!(snippet.ends_with('…'));
        }
        other => panic!("{other:?}"),
    }
    // A proxy that strips X-TAXII-Content-Type: recognised by the root element.
    let c = classify_response(
        200,
        &[("Content-Type".into(), "application/xml".into())],
        &body,
    )
    .unwrap();
    assert_eq!((c.version, c.header_missing), (Version::V11, true));
    // A login page served with HTTP 200.
    let login = b"<!DOCTYPE html>\n<html><form action=/login><input name=password></form></html>";
    assert!(matches!(
        classify_response(200, &[("content-type".into(), "text/html".into())], login),
        Err(TransportError::NotTaxii {
            status: 200,
            content_type: Some(_),
            ..
        })
    ));
}

// ---------------------------------------------------------------- hostile and broken XML

const BOMB: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<taxii_11:Discovery_Response xmlns:taxii_11="http://taxii.mitre.org/messages/taxii_xml_binding-1.1" message_id="1" in_response_to="2">&lol2;</taxii_11:Discovery_Response>"#;

#[test]
fn doctype_is_refused_everywhere() {
    let doctype = |r: Result<(), ResponseError>| match r {
        Err(ResponseError::Parse(ParseError::Doctype { position })) => assert_eq!(position, 22),
        other => panic!("Doctype expected, got {other:?}"),
    };
    doctype(parse_discovery_response(BOMB.as_bytes()).map(drop));
    doctype(parse_collection_information_response(BOMB.as_bytes()).map(drop));
    doctype(parse_subscription_response(BOMB.as_bytes()).map(drop));
    doctype(parse_status_message(BOMB.as_bytes()).map(drop));
    doctype(PollResponseReader::new(BOMB.as_bytes()).map(drop));
    // Inside a content block too (not well-formed XML anyway, but never expanded).
    let body = format!(
        r#"<p:Poll_Response xmlns:p="{NS_TAXII_11}" collection_name="c"><p:Content_Block>
<p:Content_Binding binding_id="b"/><p:Content><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x></p:Content>
</p:Content_Block></p:Poll_Response>"#
    );
    let mut r = PollResponseReader::new(body.as_bytes()).unwrap();
    assert!(matches!(
        r.next_block(),
        Err(ResponseError::Parse(ParseError::Doctype { .. }))
    ));
    assert!(r.next().is_none(), "fused after an error");
    // An undefined entity in TAXII text is an error, not an expansion.
    let body = format!(
        r#"<p:Discovery_Response xmlns:p="{NS_TAXII_11}"><p:Service_Instance service_type="POLL"><p:Address>&xxe;</p:Address></p:Service_Instance></p:Discovery_Response>"#
    );
    assert!(matches!(
        parse_discovery_response(body.as_bytes()),
        Err(ResponseError::Parse(ParseError::Malformed { message, .. })) if message.contains("&xxe;")
    ));
}

#[test]
fn malformed_xml_reports_a_position() {
    let body = fixture("04-poll-ips-part1.response.xml");
    // Cut in the middle of the second block.
    let second = body
        .windows(24)
        .enumerate()
        .filter(|(_, w)| *w == b"<taxii_11:Content_Block>")
        .nth(1)
        .expect("two blocks")
        .0;
    let cut = &body[..second + 500];
    let mut reader = PollResponseReader::new(cut).unwrap();
    assert!(reader.next_block().unwrap().is_some());
    match reader.next_block() {
        Err(ResponseError::Parse(ParseError::Malformed { position, message })) => {
            assert!(
                position as usize > second && position as usize <= cut.len(),
                "{position}: {message}"
            );
        }
        other => panic!("malformed expected, got {other:?}"),
    }
    let mismatched = format!(
        r#"<a:Discovery_Response xmlns:a="{NS_TAXII_11}"><a:Service_Instance></a:Discovery_Response>"#
    );
    match parse_discovery_response(mismatched.as_bytes()) {
        Err(ResponseError::Parse(ParseError::Malformed { position, message })) => {
            assert!(position > 0, "{message}");
        }
        other => panic!("{other:?}"),
    }
    // What OpenTAXII got in capture 42, fed to our parser.
    assert!(matches!(
        parse_discovery_response(&fixture("42-err-malformed-xml.request.xml")),
        Err(ResponseError::Parse(ParseError::Malformed { .. }))
    ));
    assert!(matches!(
        parse_discovery_response(b"\xff\xfe<a/>"),
        Err(ResponseError::Parse(ParseError::Malformed { .. }))
    ));
    assert!(matches!(
        parse_discovery_response(b"  "),
        Err(ResponseError::Parse(ParseError::Empty))
    ));
    let mut trailing = fixture("01-discovery.response.xml");
    trailing.extend_from_slice(b"<another/>");
    assert!(matches!(
        parse_discovery_response(&trailing),
        Err(ResponseError::Parse(ParseError::Malformed { .. }))
    ));
}

#[test]
fn wrong_messages_and_non_taxii_xml() {
    assert!(matches!(
        parse_discovery_response(&fixture("02-collection-information.response.xml")),
        Err(ResponseError::Unexpected { expected: "Discovery_Response", found }) if found == "Collection_Information_Response"
    ));
    assert!(matches!(
        PollResponseReader::new(&fixture("01-discovery.response.xml")),
        Err(ResponseError::Unexpected {
            expected: "Poll_Response",
            ..
        })
    ));
    match parse_discovery_response(
        br#"<taxii xmlns="http://taxii.mitre.org/messages/taxii_xml_binding-2"/>"#,
    ) {
        Err(ResponseError::Parse(ParseError::NotTaxii { namespace, name })) => {
            assert_eq!(
                (namespace.as_str(), name.as_str()),
                (
                    "http://taxii.mitre.org/messages/taxii_xml_binding-2",
                    "taxii"
                )
            );
        }
        other => panic!("{other:?}"),
    }
    // A block without Content.
    let body = format!(
        r#"<p:Poll_Response xmlns:p="{NS_TAXII_11}"><p:Content_Block><p:Content_Binding binding_id="b"/></p:Content_Block></p:Poll_Response>"#
    );
    let mut r = PollResponseReader::new(body.as_bytes()).unwrap();
    assert!(matches!(
        r.next_block(),
        Err(ResponseError::Parse(ParseError::Missing {
            field: "Content",
            ..
        }))
    ));
    // Values that steer the polling loop are never guessed.
    for (attr, field) in [
        (r#"more="maybe""#, "more"),
        (r#"result_part_number="0""#, "result_part_number"),
    ] {
        let body = format!(r#"<p:Poll_Response xmlns:p="{NS_TAXII_11}" {attr}/>"#);
        assert!(matches!(
            PollResponseReader::new(body.as_bytes()),
            Err(ResponseError::Parse(ParseError::Invalid { field: f, .. })) if f == field
        ));
    }
    let body = format!(
        r#"<p:Poll_Response xmlns:p="{NS_TAXII_11}"><p:Content_Block><p:Content_Binding binding_id="b"/><p:Content/><p:Timestamp_Label>yesterday</p:Timestamp_Label></p:Content_Block></p:Poll_Response>"#
    );
    let mut r = PollResponseReader::new(body.as_bytes()).unwrap();
    assert!(matches!(
        r.next_block(),
        Err(ResponseError::Parse(ParseError::Invalid {
            field: "Timestamp_Label",
            ..
        }))
    ));
}

#[test]
fn any_prefix_or_default_namespace_works() {
    let original = String::from_utf8(fixture("04-poll-ips-part1.response.xml")).unwrap();
    let renamed = original
        .replace("xmlns:taxii_11=", "xmlns=")
        .replace("<taxii_11:", "<")
        .replace("</taxii_11:", "</");
    let count = |body: &str| {
        let mut r = PollResponseReader::new(body.as_bytes()).unwrap();
        let h = r.header().clone();
        let n = r
            .by_ref()
            .map(|b| b.unwrap().timestamp_label)
            .collect::<Vec<_>>();
        (h.result_id, n)
    };
    assert_eq!(count(&original), count(&renamed));
    let other_prefix = original.replace("taxii_11", "t11");
    assert_eq!(count(&original), count(&other_prefix));
    // A byte order mark, an XML declaration and a comment before the root are fine.
    let decorated = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- generated -->\n{original}"
    );
    assert_eq!(count(&original), count(&decorated));
}
