//! A small TAXII 1.1 server on 127.0.0.1 for `taxiway demo`: discovery,
//! collection information and poll, serving the bundled STIX 1.2 sample
//! collections (samples/stix). It exists so the demo exercises the real
//! client path without any outside server; it is not a general TAXII server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// The bundled collections: (name, STIX package).
pub const COLLECTIONS: &[(&str, &str)] = &[
    ("ips", include_str!("../../samples/stix/ips.xml")),
    ("domains", include_str!("../../samples/stix/domains.xml")),
    ("files", include_str!("../../samples/stix/files.xml")),
    ("emails", include_str!("../../samples/stix/emails.xml")),
];

const NS: &str = r#"xmlns:taxii_11="http://taxii.mitre.org/messages/taxii_xml_binding-1.1""#;
const HTTP_BINDING: &str = "urn:taxii.mitre.org:protocol:http:1.0";
const XML_11: &str = "urn:taxii.mitre.org:message:xml:1.1";
const SERVICES_11: &str = "urn:taxii.mitre.org:services:1.1";
/// Largest request body the demo server reads.
const MAX_REQUEST: usize = 1 << 20;

/// A running demo server; dropping it stops it.
pub struct DemoServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DemoServer {
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name("taxiway-demo-taxii".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if flag.load(Ordering::Acquire) {
                        return;
                    }
                    if let Ok(stream) = stream {
                        thread::spawn(move || {
                            if let Err(e) = serve(stream, addr) {
                                tracing::debug!("demo TAXII server: {e}");
                            }
                        });
                    }
                }
            })?;
        Ok(DemoServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The discovery URL.
    pub fn discovery_url(&self) -> String {
        format!("http://{}/services/discovery", self.addr)
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, addr: SocketAddr) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length.min(MAX_REQUEST)];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body);
    let message_id = attribute(&body, "message_id").unwrap_or("0");
    let base = format!("http://{addr}/services");
    let xml = match path.as_str() {
        "/services/discovery" => discovery(&base, message_id),
        "/services/collection-management" => collections(&base, message_id),
        "/services/poll" => poll(attribute(&body, "collection_name"), message_id),
        _ => status("NOT_FOUND", message_id, "no such service"),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         X-TAXII-Content-Type: {XML_11}\r\nX-TAXII-Protocol: {HTTP_BINDING}\r\n\
         X-TAXII-Services: {SERVICES_11}\r\nConnection: close\r\n\r\n",
        xml.len()
    )?;
    stream.write_all(xml.as_bytes())?;
    stream.flush()
}

/// The value of `name="..."` in the first element that has it.
fn attribute<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(" {name}=\"");
    let start = xml.find(&needle)? + needle.len();
    let end = xml[start..].find('"')? + start;
    Some(&xml[start..end])
}

fn service(kind: &str, address: &str) -> String {
    format!(
        "<taxii_11:Service_Instance service_type=\"{kind}\" service_version=\"{SERVICES_11}\" available=\"true\">\
         <taxii_11:Protocol_Binding>{HTTP_BINDING}</taxii_11:Protocol_Binding>\
         <taxii_11:Address>{address}</taxii_11:Address>\
         <taxii_11:Message_Binding>{XML_11}</taxii_11:Message_Binding></taxii_11:Service_Instance>"
    )
}

fn discovery(base: &str, in_response_to: &str) -> String {
    format!(
        "<taxii_11:Discovery_Response {NS} message_id=\"1\" in_response_to=\"{in_response_to}\">{}{}{}</taxii_11:Discovery_Response>",
        service("DISCOVERY", &format!("{base}/discovery")),
        service(
            "COLLECTION_MANAGEMENT",
            &format!("{base}/collection-management")
        ),
        service("POLL", &format!("{base}/poll")),
    )
}

fn collections(base: &str, in_response_to: &str) -> String {
    let mut xml = format!(
        "<taxii_11:Collection_Information_Response {NS} message_id=\"2\" in_response_to=\"{in_response_to}\">"
    );
    for (name, _) in COLLECTIONS {
        xml.push_str(&format!(
            "<taxii_11:Collection collection_name=\"{name}\" collection_type=\"DATA_FEED\" available=\"true\">\
             <taxii_11:Description>taxiway demo collection {name}</taxii_11:Description>\
             <taxii_11:Content_Binding binding_id=\"urn:stix.mitre.org:xml:1.2\"/>\
             <taxii_11:Polling_Service><taxii_11:Protocol_Binding>{HTTP_BINDING}</taxii_11:Protocol_Binding>\
             <taxii_11:Address>{base}/poll</taxii_11:Address>\
             <taxii_11:Message_Binding>{XML_11}</taxii_11:Message_Binding></taxii_11:Polling_Service>\
             </taxii_11:Collection>"
        ));
    }
    xml.push_str("</taxii_11:Collection_Information_Response>");
    xml
}

fn poll(collection: Option<&str>, in_response_to: &str) -> String {
    let Some((name, package)) = COLLECTIONS
        .iter()
        .find(|(name, _)| Some(*name) == collection)
    else {
        return status("NOT_FOUND", in_response_to, "no such collection");
    };
    format!(
        "<taxii_11:Poll_Response {NS} message_id=\"3\" in_response_to=\"{in_response_to}\" collection_name=\"{name}\" more=\"false\" result_part_number=\"1\">\
         <taxii_11:Inclusive_End_Timestamp>2024-01-01T00:00:00.000000+00:00</taxii_11:Inclusive_End_Timestamp>\
         <taxii_11:Content_Block><taxii_11:Content_Binding binding_id=\"urn:stix.mitre.org:xml:1.2\"/>\
         <taxii_11:Content>{}</taxii_11:Content>\
         <taxii_11:Timestamp_Label>2024-01-01T00:00:00.000000+00:00</taxii_11:Timestamp_Label>\
         </taxii_11:Content_Block></taxii_11:Poll_Response>",
        package.trim_end()
    )
}

fn status(kind: &str, in_response_to: &str, message: &str) -> String {
    format!(
        "<taxii_11:Status_Message {NS} message_id=\"4\" in_response_to=\"{in_response_to}\" status_type=\"{kind}\">\
         <taxii_11:Message>{message}</taxii_11:Message></taxii_11:Status_Message>"
    )
}
