//! What real servers do not do on demand, from a hand-written loopback HTTP server: RETRY,
//! endless parts, login pages, HTTP errors, broken bodies, entity bombs, stalls.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use taxiway_poller::client::{
    ClientConfig, ClientError, NetworkKind, PollWindow, RetryConfig, Secret, TaxiiClient,
};
use taxiway_poller::taxii11::{StatusError, TransportError};

const NS: &str = "http://taxii.mitre.org/messages/taxii_xml_binding-1.1";

/// What the server does with one request.
enum Reply {
    /// Raw bytes written, then the connection closed.
    Raw(Vec<u8>),
    /// Read the request, then say nothing for this long.
    Stall(Duration),
}

fn taxii(body: &str) -> Reply {
    Reply::Raw(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nX-TAXII-Content-Type: urn:taxii.mitre.org:message:xml:1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

fn http(status: &str, content_type: &str, body: &str) -> Reply {
    Reply::Raw(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// A request as received: header lines and body.
#[derive(Debug, Clone)]
struct Seen {
    headers: Vec<(String, String)>,
    body: String,
}

struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// Serves requests in order with `reply(n)` (n = 0, 1, ...), one connection per request.
fn serve(reply: impl Fn(usize) -> Reply + Send + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/taxii",
        listener.local_addr().unwrap().port()
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let request = read_request(&stream);
            log.lock().unwrap().push(request);
            match reply(n) {
                Reply::Raw(bytes) => {
                    let mut s = stream;
                    let _ = s.write_all(&bytes);
                    let _ = s.flush();
                }
                Reply::Stall(d) => {
                    thread::sleep(d);
                }
            }
        }
    });
    Server { url, seen }
}

fn read_request(stream: &TcpStream) -> Seen {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        if k.eq_ignore_ascii_case("content-length") {
            length = v.trim().parse().unwrap();
        }
        headers.push((k.to_owned(), v.trim().to_owned()));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    Seen {
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

fn config() -> ClientConfig {
    ClientConfig {
        username: Some("alice".to_owned()),
        password: Some(Secret::new("s3cret-pw")),
        read_timeout: Duration::from_secs(5),
        retry: RetryConfig {
            max_retries: 3,
            initial_wait: Duration::from_millis(50),
            multiplier: 2.0,
            max_wait: Duration::from_secs(2),
            max_total_wait: Duration::from_secs(10),
        },
        ..ClientConfig::default()
    }
}

fn discovery_ok() -> String {
    format!(
        r#"<taxii_11:Discovery_Response xmlns:taxii_11="{NS}" message_id="1" in_response_to="2">
  <taxii_11:Service_Instance service_type="POLL" service_version="urn:taxii.mitre.org:services:1.1" available="true">
    <taxii_11:Protocol_Binding>urn:taxii.mitre.org:protocol:http:1.0</taxii_11:Protocol_Binding>
    <taxii_11:Address>http://127.0.0.1:1/services/poll</taxii_11:Address>
    <taxii_11:Message_Binding>urn:taxii.mitre.org:message:xml:1.1</taxii_11:Message_Binding>
  </taxii_11:Service_Instance>
</taxii_11:Discovery_Response>"#
    )
}

fn status(status_type: &str, details: &str) -> String {
    format!(
        r#"<taxii_11:Status_Message xmlns:taxii_11="{NS}" message_id="1" in_response_to="2" status_type="{status_type}"><taxii_11:Status_Detail>{details}</taxii_11:Status_Detail><taxii_11:Message>try later</taxii_11:Message></taxii_11:Status_Message>"#
    )
}

fn poll_part(part: usize, more: bool) -> String {
    format!(
        r#"<taxii_11:Poll_Response xmlns:taxii_11="{NS}" message_id="1" in_response_to="2" collection_name="c" result_id="r1" more="{more}" result_part_number="{part}">
  <taxii_11:Content_Block>
    <taxii_11:Content_Binding binding_id="urn:stix.mitre.org:xml:1.2"/>
    <taxii_11:Content><x>{part}</x></taxii_11:Content>
    <taxii_11:Timestamp_Label>2026-06-01T00:00:{:02}.000000+00:00</taxii_11:Timestamp_Label>
  </taxii_11:Content_Block>
</taxii_11:Poll_Response>"#,
        part % 60
    )
}

fn poll(client: &TaxiiClient, url: &str) -> Result<u64, ClientError> {
    let mut n = 0;
    client
        .poll(url, "c", PollWindow::default(), None, &mut |_| -> Result<
            (),
            std::convert::Infallible,
        > {
            n += 1;
            Ok(())
        })
        .map(|o| {
            assert_eq!(o.blocks, n);
            n
        })
}

#[test]
fn retry_honours_estimated_wait_and_headers_are_exact() {
    let server = serve(|n| {
        if n == 0 {
            taxii(&status(
                "RETRY",
                r#"<taxii_11:Detail name="ESTIMATED_WAIT">1</taxii_11:Detail>"#,
            ))
        } else {
            taxii(&discovery_ok())
        }
    });
    let client = TaxiiClient::new(config()).unwrap();
    let started = Instant::now();
    let discovery = client.discover(&server.url).unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited ESTIMATED_WAIT"
    );
    assert_eq!(discovery.services.len(), 1);
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let names: Vec<String> = seen[0]
        .headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .filter(|k| !matches!(k.as_str(), "host" | "content-length" | "user-agent"))
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(
        names,
        [
            "accept",
            "authorization",
            "content-type",
            "x-taxii-accept",
            "x-taxii-content-type",
            "x-taxii-protocol",
            "x-taxii-services"
        ]
    );
    let header = |k: &str| {
        seen[0]
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(header("accept"), "application/xml");
    assert_eq!(
        header("x-taxii-content-type"),
        "urn:taxii.mitre.org:message:xml:1.1"
    );
    assert_eq!(header("authorization"), "Basic YWxpY2U6czNjcmV0LXB3");
    assert!(seen[0].body.contains("Discovery_Request"));
}

#[test]
fn retry_gives_up_after_the_configured_attempts() {
    let server = serve(|_| taxii(&status("RETRY", "")));
    let client = TaxiiClient::new(config()).unwrap();
    let err = client.discover(&server.url).unwrap_err();
    assert!(
        matches!(err.status(), Some(StatusError::Retry { .. })),
        "{err}"
    );
    assert_eq!(
        server.seen.lock().unwrap().len(),
        4,
        "first try + 3 retries"
    );
    assert_eq!(err.exit_code(), 5);
}

#[test]
fn pending_is_fetched_by_fulfillment() {
    let server = serve(|n| match n {
        0 => taxii(&status(
            "PENDING",
            r#"<taxii_11:Detail name="ESTIMATED_WAIT">0</taxii_11:Detail><taxii_11:Detail name="RESULT_ID">r1</taxii_11:Detail>"#,
        )),
        _ => taxii(&poll_part(1, false)),
    });
    let client = TaxiiClient::new(config()).unwrap();
    assert_eq!(poll(&client, &server.url).unwrap(), 1);
    let seen = server.seen.lock().unwrap();
    assert!(
        seen[1].body.contains("Poll_Fulfillment"),
        "{}",
        seen[1].body
    );
    assert!(seen[1].body.contains("result_id=\"r1\""));
}

#[test]
fn more_forever_hits_the_part_limit() {
    let server = serve(|n| taxii(&poll_part(n + 1, true)));
    let client = TaxiiClient::new(ClientConfig {
        max_parts: 5,
        ..config()
    })
    .unwrap();
    let err = poll(&client, &server.url).unwrap_err();
    assert!(
        matches!(err, ClientError::PartLimit { limit: 5, .. }),
        "{err}"
    );
    assert_eq!(server.seen.lock().unwrap().len(), 5);
    assert_eq!(err.exit_code(), 6);
    let seen = server.seen.lock().unwrap();
    assert!(seen[4].body.contains("result_part_number=\"5\""));
}

#[test]
fn html_login_page_is_not_taxii() {
    let server = serve(|_| {
        http(
            "200 OK",
            "text/html",
            "<!DOCTYPE html><html><body><form>Please log in</form></body></html>",
        )
    });
    let err = TaxiiClient::new(config())
        .unwrap()
        .discover(&server.url)
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ClientError::NotTaxii {
                source: TransportError::NotTaxii { status: 200, .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("Please log in"));
    assert_eq!(err.exit_code(), 6);
}

#[test]
fn http_406_and_500_and_401_are_http_errors() {
    for (status, code) in [
        ("406 Not Acceptable", 6),
        ("500 Internal Server Error", 5),
        ("401 Unauthorized", 3),
    ] {
        let server = serve(move |_| http(status, "text/plain", "nope"));
        let err = TaxiiClient::new(config())
            .unwrap()
            .discover(&server.url)
            .unwrap_err();
        let want: u16 = status[..3].parse().unwrap();
        assert!(
            matches!(&err, ClientError::Http { status, .. } if *status == want),
            "{err}"
        );
        assert_eq!(err.exit_code(), code, "{err}");
    }
}

#[test]
fn truncated_body_is_a_network_error() {
    let server = serve(|_| {
        let body = discovery_ok();
        Reply::Raw(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nX-TAXII-Content-Type: urn:taxii.mitre.org:message:xml:1.1\r\nContent-Length: {}\r\n\r\n{}",
                body.len() + 500,
                &body[..100]
            )
            .into_bytes(),
        )
    });
    let err = TaxiiClient::new(config())
        .unwrap()
        .discover(&server.url)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Network {
                kind: NetworkKind::Io,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 5);
}

#[test]
fn malformed_xml_and_entity_bombs_are_parse_errors() {
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><taxii_11:Discovery_Response xmlns:taxii_11="http://taxii.mitre.org/messages/taxii_xml_binding-1.1" message_id="&lol2;" in_response_to="2"/>"#;
    for body in [
        "<taxii_11:Discovery_Response xmlns:taxii_11=\"http://taxii.mitre.org/messages/taxii_xml_binding-1.1\" message_id=\"1\"><unclosed>".to_owned(),
        bomb.to_owned(),
    ] {
        let server = serve(move |_| taxii(&body));
        let err = TaxiiClient::new(config())
            .unwrap()
            .discover(&server.url)
            .unwrap_err();
        assert!(matches!(err, ClientError::Parse { .. }), "{err}");
        assert_eq!(err.exit_code(), 6);
    }
}

#[test]
fn oversized_bodies_stop_at_the_limit() {
    let big = format!("<x>{}</x>", "a".repeat(100_000));
    // With Content-Length, and without (read until close).
    let with_length = big.clone();
    let without_length = big.clone();
    for reply in [
        Box::new(move |_| taxii(&with_length)) as Box<dyn Fn(usize) -> Reply + Send>,
        Box::new(move |_| {
            Reply::Raw(
                format!(
                    "HTTP/1.1 200 OK\r\nX-TAXII-Content-Type: urn:taxii.mitre.org:message:xml:1.1\r\nConnection: close\r\n\r\n{without_length}"
                )
                .into_bytes(),
            )
        }),
    ] {
        let server = serve(reply);
        let err = TaxiiClient::new(ClientConfig {
            max_body_bytes: 10_000,
            ..config()
        })
        .unwrap()
        .discover(&server.url)
        .unwrap_err();
        assert!(
            matches!(err, ClientError::BodyTooLarge { limit: 10_000, .. }),
            "{err}"
        );
        assert_eq!(err.exit_code(), 6);
    }
}

#[test]
fn stalled_connection_times_out() {
    let server = serve(|_| Reply::Stall(Duration::from_secs(5)));
    let client = TaxiiClient::new(ClientConfig {
        read_timeout: Duration::from_millis(500),
        ..config()
    })
    .unwrap();
    let started = Instant::now();
    let err = client.discover(&server.url).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(
        matches!(
            err,
            ClientError::Network {
                kind: NetworkKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 5);
}

#[test]
fn credentials_in_urls_never_show() {
    let err = TaxiiClient::new(config())
        .unwrap()
        .discover("http://bob:url-password@127.0.0.1:1/taxii?token=tok-secret")
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("url-password") && !text.contains("tok-secret"),
        "{text}"
    );
    assert!(!text.contains("s3cret-pw"), "{text}");
    assert_eq!(err.exit_code(), 5);
}
