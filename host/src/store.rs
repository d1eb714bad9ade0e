//! The indicator store: immutable snapshots published without locking readers.
//!
//! Life cycle: writers hand the store a source's full set of indicators; the
//! store builds a new [`Snapshot`] off the hot path (under a writer-only
//! mutex) and publishes it with one atomic pointer swap. Readers call
//! [`IndicatorStore::snapshot`], which clones an `Arc` and never waits, so a
//! lookup is never stalled by a load of a million indicators. Every snapshot
//! carries a version that grows by one per publication.
//!
//! Expiry is checked at lookup time against the caller's clock, so an
//! indicator stops matching the instant its valid-until passes, whether or
//! not a sweep has removed it yet. Valid-until is exclusive.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use foldhash::HashMap;
use taxiway_poller::indicator::{Indicator, IndicatorKind};
use taxiway_poller::normalize::{self, IpValue};
use time::OffsetDateTime;

/// The kind of a value taken from a record (mirrors the WIT `observable-kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObservableKind {
    Ip,
    Domain,
    Url,
    Md5,
    Sha1,
    Sha256,
    Sha512,
    Hash,
    Email,
    FileName,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct LookupOptions {
    pub parent_domains: bool,
}

/// Microseconds since the Unix epoch: the store's clock unit.
pub type Micros = i64;

pub fn micros(t: OffsetDateTime) -> Micros {
    (t.unix_timestamp_nanos() / 1_000) as Micros
}

pub fn now_micros() -> Micros {
    micros(OffsetDateTime::now_utc())
}

const NONE: u32 = u32::MAX;

/// One stored indicator. Values live in the lookup maps' keys; metadata that
/// many indicators share (source, threat type, ...) is held once.
pub struct Entry {
    pub indicator: Arc<Indicator>,
    /// Effective validity window, default TTL applied.
    pub valid_from: Micros,
    pub valid_until: Micros,
    /// The next entry with the same value (another source or id).
    next: u32,
}

impl Entry {
    pub fn is_valid_at(&self, now: Micros) -> bool {
        self.valid_from <= now && now < self.valid_until
    }
}

/// An immutable, versioned set of indicators with lookup indexes.
#[derive(Default)]
pub struct Snapshot {
    version: u64,
    entries: Vec<Entry>,
    ipv4: HashMap<u32, u32>,
    ipv6: HashMap<u128, u32>,
    /// Networks by prefix length, longest first; a lookup masks the address
    /// once per distinct length present (real feeds use a handful).
    v4_nets: Vec<(u8, HashMap<u32, u32>)>,
    v6_nets: Vec<(u8, HashMap<u128, u32>)>,
    /// Exact-value maps for the string kinds, indexed by [`string_slot`].
    strings: [HashMap<Box<str>, u32>; 8],
    /// Bit `n` set when some domain indicator has `n` labels (63 = 63 or
    /// more): parent lookups skip suffixes no indicator can equal.
    domain_labels: u64,
}

fn label_bit(name: &str) -> u64 {
    let labels = name.bytes().filter(|&b| b == b'.').count() + 1;
    1 << labels.min(63)
}

fn string_slot(kind: IndicatorKind) -> Option<usize> {
    Some(match kind {
        IndicatorKind::Domain => 0,
        IndicatorKind::Url => 1,
        IndicatorKind::Md5 => 2,
        IndicatorKind::Sha1 => 3,
        IndicatorKind::Sha256 => 4,
        IndicatorKind::Sha512 => 5,
        IndicatorKind::Email => 6,
        IndicatorKind::FileName => 7,
        _ => return None,
    })
}

/// A match: the entry and the indicator value that matched (a network or a
/// parent domain when it differs from the value looked up).
pub struct Match<'a> {
    pub entry: u32,
    pub value: Cow<'a, str>,
}

impl Snapshot {
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entry(&self, index: u32) -> &Entry {
        &self.entries[index as usize]
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Every indicator valid at `now` that `value` (of `kind`) matches.
    /// Values that are not valid for their kind match nothing.
    pub fn lookup<'s>(
        &'s self,
        kind: ObservableKind,
        value: &str,
        options: LookupOptions,
        now: Micros,
        found: &mut impl FnMut(Match<'s>),
    ) {
        match kind {
            // Most values in records are plain dotted quads: std's strict
            // parser accepts exactly the canonical form, the rest goes
            // through full normalisation.
            ObservableKind::Ip if let Ok(addr) = value.parse::<Ipv4Addr>() => {
                self.lookup_v4(addr, now, found)
            }
            ObservableKind::Ip => match normalize::ip(value) {
                Ok(IpValue::V4(addr)) => self.lookup_v4(addr, now, found),
                Ok(IpValue::V6(addr)) => self.lookup_v6(addr, now, found),
                // A network in a record field is not an address to look up.
                _ => {}
            },
            ObservableKind::Domain => {
                if let Ok(name) = normalize::domain(value) {
                    self.lookup_domain(&name, options.parent_domains, now, found);
                }
            }
            ObservableKind::Url => {
                self.lookup_string(IndicatorKind::Url, normalize::url(value), now, found)
            }
            ObservableKind::Md5 => {
                self.lookup_string(IndicatorKind::Md5, normalize::md5(value), now, found)
            }
            ObservableKind::Sha1 => {
                self.lookup_string(IndicatorKind::Sha1, normalize::sha1(value), now, found)
            }
            ObservableKind::Sha256 => {
                self.lookup_string(IndicatorKind::Sha256, normalize::sha256(value), now, found)
            }
            ObservableKind::Sha512 => {
                self.lookup_string(IndicatorKind::Sha512, normalize::sha512(value), now, found)
            }
            ObservableKind::Hash => {
                if let Ok((hash_kind, hash)) = normalize::hash_any(value) {
                    self.lookup_string(hash_kind.into(), Ok(hash), now, found);
                }
            }
            ObservableKind::Email => {
                self.lookup_string(IndicatorKind::Email, normalize::email(value), now, found)
            }
            ObservableKind::FileName => self.lookup_string(
                IndicatorKind::FileName,
                normalize::file_name(value),
                now,
                found,
            ),
        }
    }

    fn chain<'s>(
        &'s self,
        mut at: u32,
        now: Micros,
        value: Cow<'s, str>,
        found: &mut impl FnMut(Match<'s>),
    ) {
        while at != NONE {
            let entry = &self.entries[at as usize];
            if entry.is_valid_at(now) {
                found(Match {
                    entry: at,
                    value: value.clone(),
                });
            }
            at = entry.next;
        }
    }

    fn lookup_v4<'s>(&'s self, addr: Ipv4Addr, now: Micros, found: &mut impl FnMut(Match<'s>)) {
        let bits = u32::from(addr);
        if let Some(&head) = self.ipv4.get(&bits) {
            self.chain(head, now, Cow::Owned(addr.to_string()), found);
        }
        for (prefix, nets) in &self.v4_nets {
            let net = bits & mask_v4(*prefix);
            if let Some(&head) = nets.get(&net) {
                let text = format!("{}/{prefix}", Ipv4Addr::from(net));
                self.chain(head, now, Cow::Owned(text), found);
            }
        }
    }

    fn lookup_v6<'s>(&'s self, addr: Ipv6Addr, now: Micros, found: &mut impl FnMut(Match<'s>)) {
        let bits = u128::from(addr);
        if let Some(&head) = self.ipv6.get(&bits) {
            self.chain(head, now, Cow::Owned(addr.to_string()), found);
        }
        for (prefix, nets) in &self.v6_nets {
            let net = bits & mask_v6(*prefix);
            if let Some(&head) = nets.get(&net) {
                let text = format!("{}/{prefix}", Ipv6Addr::from(net));
                self.chain(head, now, Cow::Owned(text), found);
            }
        }
    }

    fn lookup_domain<'s>(
        &'s self,
        name: &str,
        parents: bool,
        now: Micros,
        found: &mut impl FnMut(Match<'s>),
    ) {
        let map = &self.strings[0];
        if !parents {
            if let Some((key, &head)) = map.get_key_value(name) {
                self.chain(head, now, Cow::Borrowed(&**key), found);
            }
            return;
        }
        let mut labels = name.bytes().filter(|&b| b == b'.').count() + 1;
        let mut rest = name;
        loop {
            if self.domain_labels & (1 << labels.min(63)) != 0
                && let Some((key, &head)) = map.get_key_value(rest)
            {
                self.chain(head, now, Cow::Borrowed(&**key), found);
            }
            match rest.find('.') {
                Some(dot) => rest = &rest[dot + 1..],
                None => return,
            }
            labels -= 1;
        }
    }

    fn lookup_string<'s>(
        &'s self,
        kind: IndicatorKind,
        value: Result<Cow<'_, str>, normalize::Invalid>,
        now: Micros,
        found: &mut impl FnMut(Match<'s>),
    ) {
        let (Ok(value), Some(slot)) = (value, string_slot(kind)) else {
            return;
        };
        if let Some((key, &head)) = self.strings[slot].get_key_value(&*value) {
            self.chain(head, now, Cow::Borrowed(&**key), found);
        }
    }
}

/// The matches of a batch of values: `(value index, indicator index)` pairs
/// in value order, and the matched indicators, each converted once however
/// often it matched (`convert` gets the entry and the matched value).
pub struct BatchMatches<T> {
    pub hits: Vec<(u32, u32)>,
    pub indicators: Vec<T>,
}

impl Snapshot {
    /// Look up many values at once; the host side of the contract's `lookup`.
    pub fn lookup_batch<'q, T>(
        &self,
        values: impl IntoIterator<Item = (ObservableKind, &'q str)>,
        options: LookupOptions,
        now: Micros,
        mut convert: impl FnMut(&Entry, &str) -> T,
    ) -> BatchMatches<T> {
        let mut out = BatchMatches {
            hits: Vec::new(),
            indicators: Vec::new(),
        };
        let mut sent: HashMap<(u32, Cow<'_, str>), u32> = HashMap::default();
        for (i, (kind, value)) in values.into_iter().enumerate() {
            self.lookup(kind, value, options, now, &mut |m| {
                let next = out.indicators.len() as u32;
                let index = *sent
                    .entry((m.entry, m.value))
                    .or_insert_with_key(|(entry, value)| {
                        out.indicators
                            .push(convert(&self.entries[*entry as usize], value));
                        next
                    });
                out.hits.push((i as u32, index));
            });
        }
        out
    }
}

fn mask_v4(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

fn mask_v6(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

/// Store settings.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Validity given to indicators that carry no valid-until, counted from
    /// when the store first received them. `None`: they never expire.
    pub default_ttl: Option<Duration>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            default_ttl: Some(Duration::from_secs(90 * 24 * 3600)),
        }
    }
}

/// What the store holds of one source, to rebuild snapshots from.
struct SourceSet {
    indicators: Vec<Arc<Indicator>>,
    /// When each indicator was first received (for the default TTL), by
    /// (id) within the source.
    received: HashMap<String, Micros>,
}

pub struct IndicatorStore {
    config: StoreConfig,
    current: ArcSwap<Snapshot>,
    /// Writers only: the source sets snapshots are built from.
    sources: Mutex<BTreeMap<String, SourceSet>>,
}

impl IndicatorStore {
    pub fn new(config: StoreConfig) -> Self {
        IndicatorStore {
            config,
            current: ArcSwap::from_pointee(Snapshot::default()),
            sources: Mutex::new(BTreeMap::new()),
        }
    }

    /// The current snapshot. Never blocks.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Replace everything held for `source` with `indicators` and publish a
    /// new snapshot. Indicators keep the time they were first received, so
    /// re-delivering one does not extend its default TTL.
    pub fn replace_source(
        &self,
        source: &str,
        indicators: Vec<Indicator>,
        now: Micros,
    ) -> Arc<Snapshot> {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let old = sources.remove(source);
        let mut received = HashMap::default();
        for ind in &indicators {
            let first = old
                .as_ref()
                .and_then(|o| o.received.get(&ind.id).copied())
                .unwrap_or(now);
            received.insert(ind.id.clone(), first);
        }
        sources.insert(
            source.to_string(),
            SourceSet {
                indicators: indicators.into_iter().map(Arc::new).collect(),
                received,
            },
        );
        self.publish(&sources)
    }

    /// Replace every source with those in `indicators` (grouped by their
    /// `source` field), dropping sources not present.
    pub fn replace_all(&self, indicators: Vec<Indicator>, now: Micros) -> Arc<Snapshot> {
        let mut grouped: BTreeMap<String, Vec<Indicator>> = BTreeMap::new();
        for ind in indicators {
            grouped.entry(ind.source.clone()).or_default().push(ind);
        }
        {
            let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
            sources.retain(|name, _| grouped.contains_key(name));
        }
        let mut last = self.snapshot();
        for (source, set) in grouped {
            last = self.replace_source(&source, set, now);
        }
        last
    }

    fn publish(&self, sources: &BTreeMap<String, SourceSet>) -> Arc<Snapshot> {
        let version = self.current.load().version + 1;
        let snapshot = Arc::new(build(version, sources, &self.config));
        self.current.store(snapshot.clone());
        snapshot
    }
}

fn build(version: u64, sources: &BTreeMap<String, SourceSet>, config: &StoreConfig) -> Snapshot {
    let mut snap = Snapshot {
        version,
        ..Snapshot::default()
    };
    let total: usize = sources.values().map(|s| s.indicators.len()).sum();
    snap.entries.reserve(total);
    let mut v4_nets: BTreeMap<u8, HashMap<u32, u32>> = BTreeMap::new();
    let mut v6_nets: BTreeMap<u8, HashMap<u128, u32>> = BTreeMap::new();
    let ttl = config.default_ttl.map(|d| d.as_micros() as Micros);
    for set in sources.values() {
        // Within a source, a later indicator with the same id replaces an
        // earlier one.
        let mut by_id: HashMap<&str, usize> = HashMap::default();
        for (i, ind) in set.indicators.iter().enumerate() {
            by_id.insert(&ind.id, i);
        }
        for (i, ind) in set.indicators.iter().enumerate() {
            if by_id.get(ind.id.as_str()) != Some(&i) {
                continue;
            }
            let received = set.received.get(&ind.id).copied().unwrap_or(0);
            let valid_from = ind.valid_from.map_or(Micros::MIN, micros);
            let valid_until = match (ind.valid_until, ttl) {
                (Some(until), _) => micros(until),
                (None, Some(ttl)) => received.saturating_add(ttl),
                (None, None) => Micros::MAX,
            };
            let index = snap.entries.len() as u32;
            let head = match ind.kind {
                IndicatorKind::Ipv4 => ind
                    .value
                    .parse::<Ipv4Addr>()
                    .ok()
                    .map(|a| snap.ipv4.entry(u32::from(a)).or_insert(NONE)),
                IndicatorKind::Ipv6 => ind
                    .value
                    .parse::<Ipv6Addr>()
                    .ok()
                    .map(|a| snap.ipv6.entry(u128::from(a)).or_insert(NONE)),
                IndicatorKind::Ipv4Cidr => match normalize::ip(&ind.value) {
                    Ok(IpValue::V4Net(net, prefix)) => Some(
                        v4_nets
                            .entry(prefix)
                            .or_default()
                            .entry(u32::from(net))
                            .or_insert(NONE),
                    ),
                    _ => None,
                },
                IndicatorKind::Ipv6Cidr => match normalize::ip(&ind.value) {
                    Ok(IpValue::V6Net(net, prefix)) => Some(
                        v6_nets
                            .entry(prefix)
                            .or_default()
                            .entry(u128::from(net))
                            .or_insert(NONE),
                    ),
                    _ => None,
                },
                other => string_slot(other).map(|slot| {
                    if other == IndicatorKind::Domain {
                        snap.domain_labels |= label_bit(&ind.value);
                    }
                    snap.strings[slot]
                        .entry(ind.value.as_str().into())
                        .or_insert(NONE)
                }),
            };
            // The model only holds normalised values, so a value that does
            // not parse here cannot occur; skip it rather than index garbage.
            let Some(head) = head else { continue };
            let next = *head;
            *head = index;
            snap.entries.push(Entry {
                indicator: ind.clone(),
                valid_from,
                valid_until,
                next,
            });
        }
    }
    snap.v4_nets = v4_nets.into_iter().rev().collect();
    snap.v6_nets = v6_nets.into_iter().rev().collect();
    snap
}

#[cfg(test)]
mod tests;
