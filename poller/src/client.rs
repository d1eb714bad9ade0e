//! Blocking TAXII 1.1 (and 1.0) client over HTTP(S), and the poll flow of a feed.
//!
//! [`TaxiiClient`] speaks the message layer of [`crate::taxii11`]: every request carries
//! exactly the headers of [`request_headers`] (plus `Authorization` when a user name is set),
//! every answer goes through [`classify_response`] before any parser sees it, and bodies are
//! read with a size limit. `RETRY`, `PENDING` and `NETWORK_ERROR` statuses are waited out as
//! [`RetryConfig`] says. Poll results are followed part by part (`Poll_Fulfillment`) and
//! each content block is handed to the caller as it is read; only one part's body is in memory
//! at a time.
//!
//! [`poll_feed`] (in `feed`) is the whole flow for one configured feed: discovery, collection
//! information, then a poll of every wanted collection from its cursor, each STIX block parsed
//! by [`crate::stix1`] as it arrives.

mod error;
mod feed;
mod retry;
mod tls;

use std::fmt;
use std::io::Read as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::taxii11::{
    CollectionInformationResponse, ContentBlock, DiscoveryResponse, PollFulfillmentRequest,
    PollRequest10, PollRequest11, PollResponseReader, PollSelector, RecordCount, ResponseType,
    Scheme, ServiceType, StatusError, SubscribeRequest, SubscriptionResponse, Version,
    classify_response, collection_information_request, discovery_request, new_message_id,
    parse_collection_information_response, parse_discovery_response, parse_subscription_response,
    request_headers,
};

pub use error::{
    ClientError, EXIT_AUTH, EXIT_CONFIG, EXIT_NETWORK, EXIT_NOT_FOUND, EXIT_PROTOCOL, NetworkKind,
    redact_url,
};
pub use feed::{CollectionOutcome, FeedOutcome, FeedParams, poll_feed};
pub use retry::RetryConfig;

/// A password or passphrase: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A TLS client certificate with its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCertificate {
    /// A PKCS#12 (`.p12` / `.pfx`) bundle: key, certificate and chain.
    Pkcs12 {
        /// The bundle.
        path: PathBuf,
        /// Its password (none: the empty password).
        password: Option<Secret>,
    },
    /// PEM files: the certificate (chain, leaf first) and an unencrypted key.
    Pem {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
}

/// How to reach a TAXII server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// HTTP Basic user name (none: no `Authorization` header).
    pub username: Option<String>,
    /// HTTP Basic password.
    pub password: Option<Secret>,
    /// TLS client certificate.
    pub certificate: Option<ClientCertificate>,
    /// PEM files of CAs trusted in addition to Mozilla's roots (`webpki-root-certs`).
    pub ca_certificates: Vec<PathBuf>,
    /// Proxy URL (`http://`, `socks5://`, ...). None: `HTTPS_PROXY` / `HTTP_PROXY` /
    /// `ALL_PROXY` with `NO_PROXY` from the environment.
    pub proxy: Option<String>,
    /// Limit on name resolution + TCP connect + TLS handshake.
    pub connect_timeout: Duration,
    /// Limit on any single wait for data from the server (a stalled connection).
    pub read_timeout: Duration,
    /// Limit on one response body (one poll part).
    pub max_body_bytes: u64,
    /// Limit on the parts of one poll result.
    pub max_parts: u32,
    /// `User-Agent`.
    pub user_agent: String,
    /// Waiting out `RETRY` / `PENDING`.
    pub retry: RetryConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            username: None,
            password: None,
            certificate: None,
            ca_certificates: Vec::new(),
            proxy: None,
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
            max_body_bytes: 256 * 1024 * 1024,
            max_parts: 10_000,
            user_agent: concat!("taxiway/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryConfig::default(),
        }
    }
}

/// Time window of a poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollWindow {
    /// `Exclusive_Begin_Timestamp`: the cursor of the previous poll.
    pub begin: Option<OffsetDateTime>,
    /// `Inclusive_End_Timestamp` (normally none: "up to now", as the server sees it).
    pub end: Option<OffsetDateTime>,
}

/// What a poll fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollOutcome {
    /// Parts fetched (Poll_Response plus Poll_Fulfillments).
    pub parts: u32,
    /// Content blocks handed to the callback.
    pub blocks: u64,
    /// Where the next poll starts: the server's `Inclusive_End_Timestamp`, else the newest
    /// block `Timestamp_Label`; none when the server said neither (keep the old cursor).
    pub cursor: Option<OffsetDateTime>,
    /// `Record_Count` of the first part, if sent.
    pub record_count: Option<RecordCount>,
}

/// A blocking TAXII 1.x client. Cheap to share by reference across polls; connections are
/// pooled.
pub struct TaxiiClient {
    agent: ureq::Agent,
    authorization: Option<Secret>,
    username: Option<String>,
    max_body_bytes: u64,
    max_parts: u32,
    retry: RetryConfig,
}

impl fmt::Debug for TaxiiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaxiiClient")
            .field("username", &self.username)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_parts", &self.max_parts)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// A response that classified as TAXII.
struct Answer {
    body: Vec<u8>,
}

impl TaxiiClient {
    /// Builds a client: loads CA files and the client certificate now, so that a bad path or
    /// password is reported before any request.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let tls = tls::tls_config(&config)?;
        let proxy = match &config.proxy {
            Some(p) => Some(ureq::Proxy::new(p).map_err(|e| {
                ClientError::Config(format!(
                    "proxy {}: {}",
                    redact_url(p),
                    error::scrub(&e.to_string(), p)
                ))
            })?),
            None => ureq::Proxy::try_from_env(),
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A redirect of a POST is a misconfigured URL (often a login page): report it.
            .max_redirects(0)
            .user_agent(config.user_agent.as_str())
            .accept(ureq::config::AutoHeaderValue::None)
            .accept_encoding(ureq::config::AutoHeaderValue::None)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_per_read(Some(config.read_timeout))
            .timeout_recv_response(Some(config.read_timeout))
            .proxy(proxy)
            .tls_config(tls)
            .build()
            .into();
        let authorization = config.username.as_ref().map(|user| {
            let pass = config.password.as_ref().map(Secret::expose).unwrap_or("");
            Secret(format!(
                "Basic {}",
                base64(format!("{user}:{pass}").as_bytes())
            ))
        });
        Ok(TaxiiClient {
            agent,
            authorization,
            username: config.username,
            max_body_bytes: config.max_body_bytes,
            max_parts: config.max_parts,
            retry: config.retry,
        })
    }

    /// POSTs one TAXII message and returns the body of a TAXII answer.
    fn exchange(&self, url: &str, version: Version, body: &str) -> Result<Answer, ClientError> {
        let shown = redact_url(url);
        let https = Scheme::of_url(url) == Some(Scheme::Https);
        let mut request = self.agent.post(url);
        for (name, value) in request_headers(version, https) {
            request = request.header(name, value);
        }
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth.expose());
        }
        tracing::debug!(url = %shown, %version, "TAXII request");
        let response = request
            .send(body.as_bytes())
            .map_err(|e| refused_after_handshake(network_error(url, e), https))?;
        let (parts, response_body) = response.into_parts();
        let status = parts.status.as_u16();
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let declared = parts
            .headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body_bytes) {
            return Err(ClientError::BodyTooLarge {
                url: shown,
                limit: self.max_body_bytes,
            });
        }
        let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(1 << 20) as usize);
        response_body
            .into_reader()
            .take(self.max_body_bytes.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| network_error(url, ureq::Error::from(e)))?;
        if buf.len() as u64 > self.max_body_bytes {
            return Err(ClientError::BodyTooLarge {
                url: shown,
                limit: self.max_body_bytes,
            });
        }
        let classified = classify_response(status, &headers, &buf)
            .map_err(|e| ClientError::from_transport(&shown, e))?;
        if classified.header_missing {
            tracing::warn!(url = %shown, "TAXII answer without X-TAXII-Content-Type");
        }
        Ok(Answer { body: buf })
    }

    /// Repeats `attempt` while it fails with a transient TAXII status, as `self.retry` says.
    /// `attempt` gets the `RESULT_ID` of the last `PENDING`, if any.
    fn with_retry<T>(
        &self,
        url: &str,
        mut attempt: impl FnMut(Option<&str>) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let mut pending: Option<String> = None;
        let mut waited = Duration::ZERO;
        let mut tries = 0;
        loop {
            let err = match attempt(pending.as_deref()) {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let estimated = match err.status() {
                Some(StatusError::Retry { estimated_wait, .. }) => *estimated_wait,
                Some(StatusError::Pending {
                    estimated_wait,
                    result_id,
                    ..
                }) => {
                    if let Some(id) = result_id {
                        pending = Some(id.clone());
                    }
                    *estimated_wait
                }
                Some(StatusError::NetworkError { .. }) => None,
                _ => return Err(err),
            };
            let Some(wait) = self.retry.wait(tries, estimated, waited) else {
                return Err(err);
            };
            tracing::info!(url = %redact_url(url), wait_ms = wait.as_millis() as u64, error = %err, "waiting before asking again");
            std::thread::sleep(wait);
            waited += wait;
            tries += 1;
        }
    }

    /// Sends a Discovery_Request (1.1; 1.0 when the server only speaks 1.0).
    pub fn discover(&self, url: &str) -> Result<DiscoveryResponse, ClientError> {
        let shown = redact_url(url);
        let ask = |version: Version| {
            self.with_retry(url, |_| {
                let answer =
                    self.exchange(url, version, &discovery_request(version, &new_message_id()))?;
                parse_discovery_response(&answer.body)
                    .map_err(|e| ClientError::from_response(&shown, e))
            })
        };
        match ask(Version::V11) {
            Err(e) if speaks_only_10(&e) => {
                tracing::info!(url = %shown, "server speaks TAXII 1.0 only");
                ask(Version::V10)
            }
            other => other,
        }
    }

    /// The collections (1.0: feeds) of the server whose discovery service is at
    /// `discovery_url`, from its collection management service.
    pub fn collections(
        &self,
        discovery_url: &str,
    ) -> Result<CollectionInformationResponse, ClientError> {
        let discovery = self.discover(discovery_url)?;
        let (url, version) = collection_management(&discovery, discovery_url)?;
        self.collection_information(&url, version)
    }

    /// Sends a Collection_Information_Request (1.0: Feed_Information_Request) to a collection
    /// management service.
    pub fn collection_information(
        &self,
        url: &str,
        version: Version,
    ) -> Result<CollectionInformationResponse, ClientError> {
        let shown = redact_url(url);
        self.with_retry(url, |_| {
            let answer = self.exchange(
                url,
                version,
                &collection_information_request(version, &new_message_id()),
            )?;
            parse_collection_information_response(&answer.body)
                .map_err(|e| ClientError::from_response(&shown, e))
        })
    }

    /// Subscribes to a collection (delivery by polling) at a collection management service;
    /// the answer's subscription id can then be passed to [`poll`](Self::poll).
    pub fn subscribe(
        &self,
        url: &str,
        version: Version,
        collection: &str,
    ) -> Result<SubscriptionResponse, ClientError> {
        let shown = redact_url(url);
        self.with_retry(url, |_| {
            let message_id = new_message_id();
            let request = SubscribeRequest {
                version,
                message_id: &message_id,
                collection_name: collection,
                response_type: ResponseType::Full,
                content_bindings: &[],
            };
            let answer = self.exchange(url, version, &request.to_xml())?;
            parse_subscription_response(&answer.body)
                .map_err(|e| ClientError::from_response(&shown, e))
        })
    }

    /// Polls a collection with TAXII 1.1 (see [`poll_version`](Self::poll_version)).
    pub fn poll<E>(
        &self,
        poll_url: &str,
        collection: &str,
        window: PollWindow,
        subscription_id: Option<&str>,
        on_block: &mut dyn FnMut(&ContentBlock<'_>) -> Result<(), E>,
    ) -> Result<PollOutcome, ClientError>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.poll_version(
            Version::V11,
            poll_url,
            collection,
            window,
            subscription_id,
            on_block,
        )
    }

    /// Polls a collection and follows the result's parts until the server says there are no
    /// more (or sends an empty part), handing every content block to `on_block` in order.
    /// An error from `on_block` stops the poll with [`ClientError::Aborted`].
    pub fn poll_version<E>(
        &self,
        version: Version,
        poll_url: &str,
        collection: &str,
        window: PollWindow,
        subscription_id: Option<&str>,
        on_block: &mut dyn FnMut(&ContentBlock<'_>) -> Result<(), E>,
    ) -> Result<PollOutcome, ClientError>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let shown = redact_url(poll_url);
        let mut outcome = PollOutcome::default();
        let mut newest_label: Option<OffsetDateTime> = None;
        let mut inclusive_end: Option<OffsetDateTime> = None;
        // None: the first request; Some: (result_id, part) of a fulfillment.
        let mut next: Option<(String, u32)> = None;
        let started = Instant::now();
        loop {
            let body = self.with_retry(poll_url, |pending| {
                let message_id = new_message_id();
                let xml = match (pending, &next) {
                    // PENDING with a result id: the result is fetched with Poll_Fulfillment.
                    (Some(id), None) if version == Version::V11 => PollFulfillmentRequest {
                        message_id: &message_id,
                        collection_name: collection,
                        result_id: id,
                        result_part_number: 1,
                    }
                    .to_xml(),
                    (_, Some((id, part))) => PollFulfillmentRequest {
                        message_id: &message_id,
                        collection_name: collection,
                        result_id: id,
                        result_part_number: *part,
                    }
                    .to_xml(),
                    (_, None) => match version {
                        Version::V11 => PollRequest11 {
                            message_id: &message_id,
                            collection_name: collection,
                            exclusive_begin: window.begin,
                            inclusive_end: window.end,
                            selector: match subscription_id {
                                Some(id) => PollSelector::Subscription(id),
                                None => PollSelector::Parameters {
                                    response_type: ResponseType::Full,
                                    content_bindings: &[],
                                },
                            },
                        }
                        .to_xml(),
                        Version::V10 => PollRequest10 {
                            message_id: &message_id,
                            feed_name: collection,
                            subscription_id,
                            exclusive_begin: window.begin,
                            inclusive_end: window.end,
                            content_bindings: &[],
                        }
                        .to_xml(),
                    },
                };
                let answer = self.exchange(poll_url, version, &xml)?;
                // Reads only the header: a Status_Message (RETRY, ...) is found here.
                PollResponseReader::new(&answer.body)
                    .map_err(|e| ClientError::from_response(&shown, e))?;
                Ok(answer.body)
            })?;
            let mut reader = PollResponseReader::new(&body)
                .map_err(|e| ClientError::from_response(&shown, e))?;
            let header = reader.header().clone();
            outcome.parts += 1;
            if outcome.parts == 1 {
                outcome.record_count = header.record_count;
            }
            if let Some(end) = header.inclusive_end {
                inclusive_end = Some(inclusive_end.map_or(end, |e: OffsetDateTime| e.max(end)));
            }
            let mut blocks_in_part = 0u64;
            while let Some(block) = reader
                .next_block()
                .map_err(|e| ClientError::from_response(&shown, e))?
            {
                blocks_in_part += 1;
                if let Some(label) = block.timestamp_label {
                    newest_label = Some(newest_label.map_or(label, |n| n.max(label)));
                }
                on_block(&block).map_err(|e| ClientError::Aborted(e.into()))?;
            }
            outcome.blocks += blocks_in_part;
            tracing::debug!(
                url = %shown,
                collection,
                part = header.result_part_number,
                blocks = blocks_in_part,
                more = header.more,
                "poll part"
            );
            // OpenTAXII says `more` whenever a part is exactly full and then serves an empty
            // part: an empty part ends the result whatever it says.
            if blocks_in_part == 0 {
                break;
            }
            match header.next_part() {
                None => break,
                Some((id, part)) => {
                    if outcome.parts >= self.max_parts {
                        return Err(ClientError::PartLimit {
                            url: shown,
                            collection: collection.to_owned(),
                            limit: self.max_parts,
                        });
                    }
                    next = Some((id.to_owned(), part));
                }
            }
        }
        outcome.cursor = inclusive_end.or(newest_label);
        tracing::debug!(
            url = %shown,
            collection,
            parts = outcome.parts,
            blocks = outcome.blocks,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "poll done"
        );
        Ok(outcome)
    }
}

/// Whether a 1.1 request failed because the server only speaks 1.0.
fn speaks_only_10(e: &ClientError) -> bool {
    match e.status() {
        Some(StatusError::UnsupportedMessage { supported, .. }) => {
            supported.is_empty()
                || supported
                    .iter()
                    .any(|b| Version::from_message_binding(b) == Some(Version::V10))
        }
        Some(s) => {
            s.info().version == Version::V10
                && matches!(
                    s,
                    StatusError::BadMessage { .. } | StatusError::Failure { .. }
                )
        }
        None => false,
    }
}

/// URL and message version of the collection management service of a discovery answer.
pub(crate) fn collection_management(
    discovery: &DiscoveryResponse,
    discovery_url: &str,
) -> Result<(String, Version), ClientError> {
    let scheme = Scheme::of_url(discovery_url).unwrap_or(Scheme::Https);
    let picked = discovery
        .pick(ServiceType::CollectionManagement, scheme)
        .ok_or_else(|| ClientError::NoService {
            url: redact_url(discovery_url),
            service: "COLLECTION_MANAGEMENT (FEED_MANAGEMENT)",
        })?;
    if picked.scheme_mismatch {
        tracing::warn!(
            advertised = %redact_url(&picked.service.address),
            "collection management service advertised with another scheme; using the discovery URL's"
        );
    }
    let address = picked.address_with_scheme(scheme);
    let version = version_of(&picked.service.message_bindings, discovery.version);
    Ok((resolve(discovery_url, &address), version))
}

/// The message version to use with a service accepting `bindings`: 1.1 when it can.
pub(crate) fn version_of(bindings: &[String], fallback: Version) -> Version {
    let has = |v: Version| {
        bindings
            .iter()
            .any(|b| Version::from_message_binding(b) == Some(v))
    };
    if has(Version::V11) {
        Version::V11
    } else if has(Version::V10) {
        Version::V10
    } else {
        fallback
    }
}

/// `address` made absolute against `base` (servers may advertise bare paths).
pub(crate) fn resolve(base: &str, address: &str) -> String {
    let address = address.trim();
    if Scheme::of_url(address).is_some() {
        return address.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..host_end]);
    if address.starts_with('/') {
        format!("{origin}{address}")
    } else {
        format!("{origin}/{address}")
    }
}

/// A TLS 1.3 server that refuses the client certificate (or gets none) sends its alert after
/// the client considers the handshake done, and closes; the client, already writing its
/// request, sees a broken pipe or a reset instead of the alert. Over HTTPS, while sending,
/// that is reported as a refused client certificate (with the raw error kept in `detail`).
fn refused_after_handshake(e: ClientError, https: bool) -> ClientError {
    match e {
        ClientError::Network {
            kind: NetworkKind::Io,
            url,
            detail,
        } if https && (detail.contains("Broken pipe") || detail.contains("Connection reset")) => {
            ClientError::Network {
                kind: NetworkKind::TlsClientAuth,
                url,
                detail: format!(
                    "the server closed the connection right after the TLS handshake, as TLS 1.3 \
                     servers do when they refuse the client certificate (or get none): {detail}"
                ),
            }
        }
        other => other,
    }
}

/// A [`ClientError::Network`] from a ureq error.
fn network_error(url: &str, e: ureq::Error) -> ClientError {
    use ureq::Error as U;
    let mut kind = match &e {
        U::Timeout(_) => NetworkKind::Timeout,
        U::HostNotFound | U::ConnectionFailed | U::ConnectProxyFailed(_) => NetworkKind::Connect,
        U::Io(io) => match io.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => NetworkKind::Timeout,
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable => {
                NetworkKind::Connect
            }
            _ => NetworkKind::Io,
        },
        U::Tls(_) | U::Pem(_) | U::Rustls(_) | U::TlsRequired => NetworkKind::Tls,
        U::BadUri(_) | U::InvalidProxyUrl | U::RequireHttpsOnly(_) => NetworkKind::BadUrl,
        _ => NetworkKind::Io,
    };
    if let Some(tls) = rustls_error(&e) {
        kind = match tls {
            rustls::Error::AlertReceived(alert) if client_auth_alert(*alert) => {
                NetworkKind::TlsClientAuth
            }
            _ => NetworkKind::Tls,
        };
    }
    ClientError::Network {
        kind,
        url: redact_url(url),
        detail: error::scrub(&e.to_string(), url),
    }
}

fn rustls_error(e: &ureq::Error) -> Option<&rustls::Error> {
    match e {
        ureq::Error::Rustls(r) => Some(r),
        ureq::Error::Io(io) => {
            let mut inner: Option<&(dyn std::error::Error + 'static)> = io
                .get_ref()
                .map(|e| e as &(dyn std::error::Error + 'static));
            while let Some(err) = inner {
                if let Some(r) = err.downcast_ref::<rustls::Error>() {
                    return Some(r);
                }
                inner = err.source();
            }
            None
        }
        _ => None,
    }
}

/// Alerts a server sends when it refuses (or misses) the client's certificate.
fn client_auth_alert(alert: rustls::AlertDescription) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        alert,
        A::CertificateRequired
            | A::BadCertificate
            | A::UnknownCA
            | A::CertificateUnknown
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::UnsupportedCertificate
            | A::AccessDenied
    )
}

/// Standard base64 with padding (for the Basic `Authorization` header).
pub(crate) fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("https://u:p@h:8443/taxii/poll?token=x"),
            "https://***@h:8443/taxii/poll?***"
        );
        assert_eq!(redact_url("http://h/p"), "http://h/p");
        assert_eq!(
            error::scrub(
                "failed https://u:p@h/x?token=abc",
                "https://u:p@h/x?token=abc"
            ),
            "failed https://***@h/x?***"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let c = ClientConfig {
            username: Some("alice".into()),
            password: Some(Secret::new("hunter2")),
            ..ClientConfig::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        let client = TaxiiClient::new(c).unwrap();
        assert!(!format!("{client:?}").contains("hunter2"));
        assert!(!format!("{client:?}").contains("aHVudGVy"));
    }

    #[test]
    fn bare_paths_resolve_against_the_discovery_url() {
        assert_eq!(
            resolve("https://h:1/services/discovery", "/services/poll"),
            "https://h:1/services/poll"
        );
        assert_eq!(resolve("https://h/d", "http://x/p"), "http://x/p");
    }
}
