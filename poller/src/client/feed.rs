//! One feed's poll: discovery, collection information, then each wanted collection polled from
//! its cursor with every STIX block parsed as it arrives.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::{
    ClientError, PollWindow, TaxiiClient, collection_management, redact_url, resolve, version_of,
};
use crate::indicator::Indicator;
use crate::stix1::{self, StixContext};
use crate::taxii11::{CollectionKind, ContentBlock, Scheme, ServiceType};

/// A configured feed.
#[derive(Debug, Clone)]
pub struct FeedParams {
    /// The feed's name: [`Indicator::source`] of everything it yields.
    pub name: String,
    /// URL of the server's discovery service.
    pub discovery_url: String,
    /// Collections to poll (empty: every available one).
    pub collections: Vec<String>,
    /// Poll with this subscription (1.1 `Subscription_ID`).
    pub subscription_id: Option<String>,
    /// Where the first poll of a collection starts, when it has no cursor yet (bounded by
    /// `max_lookback`; none: `max_lookback` ago).
    pub begin: Option<OffsetDateTime>,
    /// Where every poll of a data feed ends (none: the server's now).
    pub end: Option<OffsetDateTime>,
    /// How far back a first poll may reach.
    pub max_lookback: Duration,
}

/// What one collection yielded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectionOutcome {
    /// The collection's name.
    pub name: String,
    /// `DATA_FEED` or `DATA_SET` (polled without a time window).
    pub kind: Option<CollectionKind>,
    /// Indicators passed to `emit`.
    pub indicators: u64,
    /// Unsupported patterns by kind (summed over the blocks' STIX parse reports).
    pub unsupported: BTreeMap<String, usize>,
    /// Invalid values by reason (summed likewise).
    pub invalid: BTreeMap<String, usize>,
    /// Content blocks that were not STIX 1.x or could not be parsed at all, by reason.
    pub skipped_blocks: BTreeMap<String, usize>,
    /// Content blocks received.
    pub blocks: u64,
    /// Result parts fetched.
    pub parts: u32,
    /// The collection's new cursor (none: keep the previous one).
    pub cursor: Option<OffsetDateTime>,
}

/// What a feed's poll yielded, one entry per collection polled, in the server's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedOutcome {
    /// Per collection.
    pub collections: Vec<CollectionOutcome>,
}

/// Polls every wanted collection of a feed.
///
/// `cursors` gives each collection's cursor (the previous outcome's); `emit` receives
/// `(collection, indicator)` as each block is parsed. Collections the server marks unavailable
/// are skipped (with a warning) unless named explicitly; a named collection the server does not
/// list is [`ClientError::CollectionNotFound`]. The first error stops the feed; cursors of
/// collections finished before it are in no outcome, so the caller re-polls them next time
/// (indicators are idempotent).
pub fn poll_feed(
    client: &TaxiiClient,
    params: &FeedParams,
    cursors: &dyn Fn(&str) -> Option<OffsetDateTime>,
    emit: &mut dyn FnMut(&str, Indicator),
) -> Result<FeedOutcome, ClientError> {
    let discovery_url = params.discovery_url.as_str();
    let scheme = Scheme::of_url(discovery_url).unwrap_or(Scheme::Https);
    let discovery = client.discover(discovery_url)?;
    let (cm_url, cm_version) = collection_management(&discovery, discovery_url)?;
    let info = client.collection_information(&cm_url, cm_version)?;

    let wanted: Vec<_> = if params.collections.is_empty() {
        info.collections
            .iter()
            .filter(|c| {
                let available = c.available != Some(false);
                if !available {
                    tracing::warn!(feed = %params.name, collection = %c.name, "collection unavailable, skipped");
                }
                available
            })
            .collect()
    } else {
        let mut out = Vec::new();
        for name in &params.collections {
            let Some(c) = info.collection(name) else {
                return Err(ClientError::CollectionNotFound {
                    name: name.clone(),
                    available: info
                        .collections
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            if c.available == Some(false) {
                tracing::warn!(feed = %params.name, collection = %c.name, "collection unavailable, skipped");
                continue;
            }
            out.push(c);
        }
        out
    };

    let mut outcome = FeedOutcome::default();
    for collection in wanted {
        // The collection's own poll service, else the server's.
        let (poll_url, poll_version) = match collection.pick_poll_service(scheme) {
            Some((contact, mismatch)) => {
                let address = if mismatch {
                    tracing::warn!(advertised = %redact_url(&contact.address), "poll service advertised with another scheme; using the discovery URL's");
                    with_scheme(&contact.address, scheme)
                } else {
                    contact.address.clone()
                };
                (
                    resolve(discovery_url, &address),
                    version_of(&contact.message_bindings, info.version),
                )
            }
            None => {
                let picked = discovery.pick(ServiceType::Poll, scheme).ok_or_else(|| {
                    ClientError::NoService {
                        url: redact_url(discovery_url),
                        service: "POLL",
                    }
                })?;
                (
                    resolve(discovery_url, &picked.address_with_scheme(scheme)),
                    version_of(&picked.service.message_bindings, discovery.version),
                )
            }
        };
        let begin = match cursors(&collection.name) {
            Some(cursor) => Some(cursor),
            None => {
                let floor = OffsetDateTime::now_utc() - params.max_lookback;
                Some(params.begin.map_or(floor, |b| b.max(floor)))
            }
        };
        let window = match collection.kind {
            // A data set is unordered: a time window means nothing to it.
            CollectionKind::DataSet => PollWindow::default(),
            CollectionKind::DataFeed => PollWindow {
                begin,
                end: params.end,
            },
        };
        let mut result = CollectionOutcome {
            name: collection.name.clone(),
            kind: Some(collection.kind),
            ..CollectionOutcome::default()
        };
        let name = collection.name.as_str();
        let ctx = StixContext {
            source: &params.name,
            collection: Some(name),
        };
        let mut on_block = |block: &ContentBlock<'_>| -> Result<(), std::convert::Infallible> {
            if !is_stix1(block) {
                *result
                    .skipped_blocks
                    .entry(format!("content binding {}", block.binding_id))
                    .or_default() += 1;
                return Ok(());
            }
            let mut count = 0u64;
            match stix1::parse_package(block.content.as_bytes(), &ctx, &mut |indicator| {
                count += 1;
                emit(name, indicator);
            }) {
                Ok(report) => {
                    for (k, n) in report.unsupported {
                        *result.unsupported.entry(k).or_default() += n;
                    }
                    for (k, n) in report.invalid {
                        *result.invalid.entry(k).or_default() += n;
                    }
                }
                Err(e) => {
                    tracing::warn!(feed = %params.name, collection = name, error = %e, "content block skipped");
                    *result.skipped_blocks.entry(e.to_string()).or_default() += 1;
                }
            }
            result.indicators += count;
            Ok(())
        };
        let polled = client.poll_version(
            poll_version,
            &poll_url,
            name,
            window,
            params.subscription_id.as_deref(),
            &mut on_block,
        )?;
        result.blocks = polled.blocks;
        result.parts = polled.parts;
        result.cursor = polled.cursor;
        tracing::info!(
            feed = %params.name,
            collection = name,
            indicators = result.indicators,
            blocks = result.blocks,
            parts = result.parts,
            "collection polled"
        );
        outcome.collections.push(result);
    }
    Ok(outcome)
}

/// Whether a block should go to the STIX 1.x parser.
fn is_stix1(block: &ContentBlock<'_>) -> bool {
    let binding = block.binding_id.trim();
    binding.starts_with("urn:stix.mitre.org:xml:1")
        || (binding.is_empty() && block.content.is_xml())
        || (!binding.starts_with("urn:") && block.content.as_bytes().starts_with(b"<"))
}

/// `address` with its http(s) scheme replaced.
fn with_scheme(address: &str, scheme: Scheme) -> String {
    let address = address.trim();
    match Scheme::of_url(address) {
        Some(s) if s != scheme => {
            let rest = address.split_once(':').map_or("", |(_, r)| r);
            let prefix = match scheme {
                Scheme::Http => "http:",
                Scheme::Https => "https:",
            };
            format!("{prefix}{rest}")
        }
        _ => address.to_owned(),
    }
}
