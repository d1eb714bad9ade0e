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

/// What indicators of a feed share: everything but id, value and validity.
/// Held once per distinct combination and referred to by index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Meta {
    pub kind: IndicatorKind,
    pub source: String,
    pub collection: Option<String>,
    pub confidence: Option<u8>,
    pub threat_type: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub actors: Vec<String>,
    pub kill_chain: Vec<String>,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Meta {
    fn heap_bytes(&self) -> usize {
        let strings = |v: &[String]| size_of_val(v) + v.iter().map(String::capacity).sum::<usize>();
        let opt = |o: &Option<String>| o.as_ref().map_or(0, String::capacity);
        self.source.capacity()
            + opt(&self.collection)
            + opt(&self.threat_type)
            + opt(&self.description)
            + strings(&self.tags)
            + strings(&self.actors)
            + strings(&self.kill_chain)
            + if self.fields.is_empty() {
                0
            } else {
                // Rough: the fields' JSON text.
                serde_json::to_string(&self.fields).map_or(0, |t| t.len() * 2)
            }
    }
}

/// One stored indicator, compactly: its id lives in the snapshot's id
/// arena, its shared metadata in the meta table; the value lives in the
/// lookup maps' keys.
struct Slot {
    /// Start of the id in [`Snapshot::ids`]; it ends where the next
    /// slot's id starts.
    id_start: u32,
    meta: u32,
    /// The next entry with the same value (another source or id).
    next: u32,
    /// Effective validity window, default TTL applied.
    valid_from: Micros,
    valid_until: Micros,
}

/// One stored indicator, as seen through a snapshot.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    id: &'a str,
    meta: &'a Meta,
    valid_from: Micros,
    valid_until: Micros,
}

impl<'a> Entry<'a> {
    pub fn id(&self) -> &'a str {
        self.id
    }
    pub fn meta(&self) -> &'a Meta {
        self.meta
    }
    pub fn kind(&self) -> IndicatorKind {
        self.meta.kind
    }
    pub fn source(&self) -> &'a str {
        &self.meta.source
    }
    pub fn collection(&self) -> Option<&'a str> {
        self.meta.collection.as_deref()
    }
    pub fn confidence(&self) -> Option<u8> {
        self.meta.confidence
    }
    pub fn threat_type(&self) -> Option<&'a str> {
        self.meta.threat_type.as_deref()
    }
    pub fn description(&self) -> Option<&'a str> {
        self.meta.description.as_deref()
    }
    pub fn tags(&self) -> &'a [String] {
        &self.meta.tags
    }
    pub fn actors(&self) -> &'a [String] {
        &self.meta.actors
    }
    pub fn kill_chain(&self) -> &'a [String] {
        &self.meta.kill_chain
    }
    pub fn fields(&self) -> &'a serde_json::Map<String, serde_json::Value> {
        &self.meta.fields
    }
    /// Effective start of validity (`Micros::MIN`: none).
    pub fn valid_from(&self) -> Micros {
        self.valid_from
    }
    /// Effective end of validity, exclusive, default TTL applied
    /// (`Micros::MAX`: never).
    pub fn valid_until(&self) -> Micros {
        self.valid_until
    }
    pub fn is_valid_at(&self, now: Micros) -> bool {
        self.valid_from <= now && now < self.valid_until
    }
}

/// An immutable, versioned set of indicators with lookup indexes.
#[derive(Default)]
pub struct Snapshot {
    version: u64,
    entries: Vec<Slot>,
    /// Every entry's id, concatenated in entry order.
    ids: String,
    /// Shared metadata, deduplicated; each source's table is appended whole.
    metas: Vec<Arc<Meta>>,
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

    pub fn entry(&self, index: u32) -> Entry<'_> {
        let i = index as usize;
        let slot = &self.entries[i];
        let end = self
            .entries
            .get(i + 1)
            .map_or(self.ids.len(), |s| s.id_start as usize);
        Entry {
            id: &self.ids[slot.id_start as usize..end],
            meta: &self.metas[slot.meta as usize],
            valid_from: slot.valid_from,
            valid_until: slot.valid_until,
        }
    }

    pub fn entries(&self) -> impl ExactSizeIterator<Item = Entry<'_>> {
        (0..self.entries.len() as u32).map(|i| self.entry(i))
    }

    /// Distinct metadata records held.
    pub fn metas(&self) -> usize {
        self.metas.len()
    }

    /// Estimated heap bytes of this snapshot: map capacities times their
    /// slot sizes (plus one control byte each), the entries, the ids, the
    /// string keys and the meta table (shared with the store's source sets).
    pub fn heap_bytes(&self) -> usize {
        fn map<K, V>(m: &HashMap<K, V>) -> usize {
            m.capacity() * (size_of::<(K, V)>() + 1)
        }
        let strings: usize = self
            .strings
            .iter()
            .map(|m| map(m) + m.keys().map(|k| k.len()).sum::<usize>())
            .sum();
        self.entries.capacity() * size_of::<Slot>()
            + self.ids.capacity()
            + map(&self.ipv4)
            + map(&self.ipv6)
            + self.v4_nets.iter().map(|(_, m)| map(m)).sum::<usize>()
            + self.v6_nets.iter().map(|(_, m)| map(m)).sum::<usize>()
            + strings
            + self.metas.capacity() * size_of::<Arc<Meta>>()
            + self
                .metas
                .iter()
                .map(|m| size_of::<Meta>() + m.heap_bytes())
                .sum::<usize>()
    }

    /// The part of [`heap_bytes`](Self::heap_bytes) that is the indicators'
    /// values themselves (string key bytes, IP keys).
    pub fn value_bytes(&self) -> usize {
        let strings: usize = self
            .strings
            .iter()
            .map(|m| m.keys().map(|k| k.len()).sum::<usize>())
            .sum();
        strings
            + self.ipv4.len() * 4
            + self.ipv6.len() * 16
            + self.v4_nets.iter().map(|(_, m)| m.len() * 4).sum::<usize>()
            + self
                .v6_nets
                .iter()
                .map(|(_, m)| m.len() * 16)
                .sum::<usize>()
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
            if entry.valid_from <= now && now < entry.valid_until {
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
        mut convert: impl FnMut(&Entry<'_>, &str) -> T,
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
                        out.indicators.push(convert(&self.entry(*entry), value));
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

/// What the store holds of one source, to rebuild snapshots from, in compact
/// form: ids and values in one text arena, metadata deduplicated (and shared
/// with the snapshots by `Arc`). Only the last indicator of each id is kept.
struct SourceSet {
    /// Each item's id then its value, concatenated in item order.
    text: String,
    items: Vec<Item>,
    metas: Vec<Arc<Meta>>,
}

/// No valid-until given (an explicit one is a real date, never this).
const NO_UNTIL: Micros = Micros::MIN;

struct Item {
    /// The id is `text[id_start..value_start]`; the value runs from
    /// `value_start` to the next item's `id_start` (or the end).
    id_start: u32,
    value_start: u32,
    /// Index into the set's `metas`.
    meta: u32,
    /// `Micros::MIN`: none.
    valid_from: Micros,
    /// [`NO_UNTIL`]: none.
    valid_until: Micros,
    /// When the indicator was first received (for the default TTL).
    received: Micros,
}

impl SourceSet {
    fn id(&self, i: usize) -> &str {
        let item = &self.items[i];
        &self.text[item.id_start as usize..item.value_start as usize]
    }

    fn value(&self, i: usize) -> &str {
        let end = self
            .items
            .get(i + 1)
            .map_or(self.text.len(), |n| n.id_start as usize);
        &self.text[self.items[i].value_start as usize..end]
    }

    fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.items.capacity() * size_of::<Item>()
            + self.metas.capacity() * size_of::<Arc<Meta>>()
    }
}

fn offset(text: &str) -> u32 {
    u32::try_from(text.len()).expect("a source's ids and values exceed 4 GiB")
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
        let set = compact(old.as_ref(), indicators, now);
        drop(old);
        sources.insert(source.to_string(), set);
        self.publish(&sources)
    }

    /// Estimated heap bytes of what the store keeps besides the snapshot
    /// (the per-source compact sets it rebuilds snapshots from; their
    /// metadata is shared with the snapshot and not counted here).
    pub fn source_bytes(&self) -> usize {
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        sources.values().map(SourceSet::heap_bytes).sum()
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

/// One source's indicators in compact form. A later indicator with the same
/// id replaces an earlier one; indicators keep the time `old` first received
/// them.
fn compact(old: Option<&SourceSet>, indicators: Vec<Indicator>, now: Micros) -> SourceSet {
    let old_received: HashMap<&str, Micros> = old
        .map(|o| {
            (0..o.items.len())
                .map(|i| (o.id(i), o.items[i].received))
                .collect()
        })
        .unwrap_or_default();
    let keep: Vec<bool> = {
        let mut by_id: HashMap<&str, usize> = HashMap::default();
        for (i, ind) in indicators.iter().enumerate() {
            by_id.insert(&ind.id, i);
        }
        indicators
            .iter()
            .enumerate()
            .map(|(i, ind)| by_id.get(ind.id.as_str()) == Some(&i))
            .collect()
    };
    let kept = keep.iter().filter(|&&k| k).count();
    let bytes: usize = indicators
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(ind, _)| ind.id.len() + ind.value.len())
        .sum();
    let mut set = SourceSet {
        text: String::with_capacity(bytes),
        items: Vec::with_capacity(kept),
        metas: Vec::new(),
    };
    let mut metas: HashMap<Meta, u32> = HashMap::default();
    for (ind, keep) in indicators.into_iter().zip(keep) {
        if !keep {
            continue;
        }
        let received = old_received.get(ind.id.as_str()).copied().unwrap_or(now);
        let id_start = offset(&set.text);
        set.text.push_str(&ind.id);
        let value_start = offset(&set.text);
        set.text.push_str(&ind.value);
        let meta = Meta {
            kind: ind.kind,
            source: ind.source,
            collection: ind.collection,
            confidence: ind.confidence,
            threat_type: ind.threat_type,
            description: ind.description,
            tags: ind.tags,
            actors: ind.actors,
            kill_chain: ind.kill_chain,
            fields: ind.fields,
        };
        let next = metas.len() as u32;
        let meta = *metas.entry(meta).or_insert(next);
        set.items.push(Item {
            id_start,
            value_start,
            meta,
            valid_from: ind.valid_from.map_or(Micros::MIN, micros),
            valid_until: ind.valid_until.map_or(NO_UNTIL, micros),
            received,
        });
    }
    let mut table: Vec<(u32, Meta)> = metas.into_iter().map(|(m, i)| (i, m)).collect();
    table.sort_unstable_by_key(|(i, _)| *i);
    set.metas = table.into_iter().map(|(_, m)| Arc::new(m)).collect();
    set
}

fn build(version: u64, sources: &BTreeMap<String, SourceSet>, config: &StoreConfig) -> Snapshot {
    let mut snap = Snapshot {
        version,
        ..Snapshot::default()
    };
    let total: usize = sources.values().map(|s| s.items.len()).sum();
    let id_bytes: usize = sources
        .values()
        .flat_map(|s| &s.items)
        .map(|i| (i.value_start - i.id_start) as usize)
        .sum();
    snap.entries.reserve_exact(total);
    snap.ids.reserve_exact(id_bytes);
    let mut v4_nets: BTreeMap<u8, HashMap<u32, u32>> = BTreeMap::new();
    let mut v6_nets: BTreeMap<u8, HashMap<u128, u32>> = BTreeMap::new();
    let ttl = config.default_ttl.map(|d| d.as_micros() as Micros);
    for set in sources.values() {
        let meta_base = snap.metas.len() as u32;
        snap.metas.extend(set.metas.iter().cloned());
        for (i, item) in set.items.iter().enumerate() {
            let value = set.value(i);
            let kind = set.metas[item.meta as usize].kind;
            let valid_until = match (item.valid_until, ttl) {
                (until, _) if until != NO_UNTIL => until,
                (_, Some(ttl)) => item.received.saturating_add(ttl),
                (_, None) => Micros::MAX,
            };
            let index = u32::try_from(snap.entries.len())
                .ok()
                .filter(|&i| i != NONE)
                .expect("fewer than 2^32 - 1 indicators");
            let head = match kind {
                IndicatorKind::Ipv4 => value
                    .parse::<Ipv4Addr>()
                    .ok()
                    .map(|a| snap.ipv4.entry(u32::from(a)).or_insert(NONE)),
                IndicatorKind::Ipv6 => value
                    .parse::<Ipv6Addr>()
                    .ok()
                    .map(|a| snap.ipv6.entry(u128::from(a)).or_insert(NONE)),
                IndicatorKind::Ipv4Cidr => match normalize::ip(value) {
                    Ok(IpValue::V4Net(net, prefix)) => Some(
                        v4_nets
                            .entry(prefix)
                            .or_default()
                            .entry(u32::from(net))
                            .or_insert(NONE),
                    ),
                    _ => None,
                },
                IndicatorKind::Ipv6Cidr => match normalize::ip(value) {
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
                        snap.domain_labels |= label_bit(value);
                    }
                    snap.strings[slot].entry(value.into()).or_insert(NONE)
                }),
            };
            // The model only holds normalised values, so a value that does
            // not parse here cannot occur; skip it rather than index garbage.
            let Some(head) = head else { continue };
            let next = *head;
            *head = index;
            let id_start = offset(&snap.ids);
            snap.ids.push_str(set.id(i));
            snap.entries.push(Slot {
                id_start,
                meta: meta_base + item.meta,
                next,
                valid_from: item.valid_from,
                valid_until,
            });
        }
    }
    snap.v4_nets = v4_nets.into_iter().rev().collect();
    snap.v6_nets = v6_nets.into_iter().rev().collect();
    snap
}

#[cfg(test)]
mod tests;
