//! The indicator store: immutable snapshots published without locking readers.
//!
//! Life cycle: writers hand the store a source's indicators (all of them,
//! or an update); the store builds a new [`Snapshot`] off the hot path
//! (under a writer-only mutex) from the current snapshot's entries of the
//! other sources plus the new indicators, and publishes it with one atomic
//! pointer swap. Readers call [`IndicatorStore::snapshot`], which clones an
//! `Arc` and never waits, so a lookup is never stalled by a load of a
//! million indicators. Every snapshot carries a version that grows by one
//! per publication.
//!
//! The snapshot is the only copy the store keeps: entries are 16 bytes
//! (their text, metadata, validity and the next entry with the same value),
//! ids lose the prefix their feed repeats (and UUIDs are held as 16 bytes),
//! metadata and validity windows are deduplicated, string values live once
//! in an arena the lookup tables point into. Memory is accounted by
//! [`Snapshot::heap_bytes`].
//!
//! Expiry is checked at lookup time against the caller's clock, so an
//! indicator stops matching the instant its valid-until passes, whether or
//! not a sweep has removed it yet. Valid-until is exclusive.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use foldhash::HashMap;
use hashbrown::HashTable;
use taxiway_poller::indicator::{Indicator, IndicatorKind};
use taxiway_poller::normalize::{self, IpValue};
use time::OffsetDateTime;

mod build;
mod text;

pub use text::Id;

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

/// What indicators of a feed share: everything but id, value, validity and
/// a description no other indicator has. Held once per distinct
/// combination and referred to by index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Meta {
    pub kind: IndicatorKind,
    pub source: String,
    pub collection: Option<String>,
    pub confidence: Option<u8>,
    pub threat_type: Option<String>,
    pub tags: Vec<String>,
    pub actors: Vec<String>,
    pub kill_chain: Vec<String>,
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The description when indicators share it (else each entry holds its
    /// own): read it with [`Entry::description`].
    description: Option<String>,
    /// What the ids of these entries start with (see [`text::split_id`]).
    id_prefix: String,
}

impl Meta {
    fn heap_bytes(&self) -> usize {
        let strings = |v: &Vec<String>| {
            v.capacity() * size_of::<String>() + v.iter().map(String::capacity).sum::<usize>()
        };
        let opt = |o: &Option<String>| o.as_ref().map_or(0, String::capacity);
        self.source.capacity()
            + self.id_prefix.capacity()
            + opt(&self.collection)
            + opt(&self.threat_type)
            + opt(&self.description)
            + strings(&self.tags)
            + strings(&self.actors)
            + strings(&self.kill_chain)
            + json_map_bytes(&self.fields)
    }
}

/// Heap bytes of a JSON object: serde_json's map is a B-tree whose nodes
/// hold up to 11 entries and are allocated whole (counted as two-thirds
/// full on average, as B-trees are), plus what keys and values hold.
fn json_map_bytes(map: &serde_json::Map<String, serde_json::Value>) -> usize {
    if map.is_empty() {
        return 0;
    }
    const NODE: usize = 11 * (size_of::<String>() + size_of::<serde_json::Value>()) + 16;
    map.len().div_ceil(7) * NODE
        + map
            .iter()
            .map(|(k, v)| k.capacity() + json_bytes(v))
            .sum::<usize>()
}

fn json_bytes(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::String(s) => s.capacity(),
        Value::Array(a) => {
            a.capacity() * size_of::<Value>() + a.iter().map(json_bytes).sum::<usize>()
        }
        Value::Object(m) => json_map_bytes(m),
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// When an indicator is valid, and when the store first received it (for
/// the default TTL). Entries share these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Validity {
    /// `Micros::MIN`: no start.
    from: Micros,
    /// Effective end, exclusive: the indicator's own, else `received` plus
    /// the default TTL (`Micros::MAX`: never).
    until: Micros,
    received: Micros,
    /// Whether `until` is the indicator's own.
    explicit: bool,
}

/// One stored indicator: its text (id without its feed's prefix, maybe a
/// description) in [`Snapshot::texts`], ending where the next slot's starts;
/// its metadata and validity by index; the next entry with the same value
/// (another source or id). The value lives in the lookup tables.
#[derive(Clone, Copy)]
struct Slot {
    text: u32,
    meta: u32,
    next: u32,
    validity: u32,
}

/// One stored indicator, as seen through a snapshot.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    id: Id<'a>,
    description: Option<&'a str>,
    meta: &'a Meta,
    validity: &'a Validity,
}

impl<'a> Entry<'a> {
    /// The indicator's id (displays as its text; compares with `&str`).
    pub fn id(&self) -> Id<'a> {
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
        self.description.or(self.meta.description.as_deref())
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
        self.validity.from
    }
    /// Effective end of validity, exclusive, default TTL applied
    /// (`Micros::MAX`: never).
    pub fn valid_until(&self) -> Micros {
        self.validity.until
    }
    /// When the store first received this indicator (its id, from its source).
    pub fn received(&self) -> Micros {
        self.validity.received
    }
    pub fn is_valid_at(&self, now: Micros) -> bool {
        self.validity.from <= now && now < self.validity.until
    }
}

/// An immutable, versioned set of indicators with lookup indexes.
#[derive(Default)]
pub struct Snapshot {
    version: u64,
    slots: Vec<Slot>,
    /// Every entry's text (see [`text`]), in entry order.
    texts: Vec<u8>,
    /// Shared metadata, deduplicated.
    metas: Vec<Arc<Meta>>,
    /// Validity windows, deduplicated.
    validities: Vec<Validity>,
    /// String values, each as a LEB128 length then its bytes; the string
    /// tables hold (offset of a value here, first entry with it).
    values: Vec<u8>,
    hasher: foldhash::fast::RandomState,
    ipv4: HashMap<u32, u32>,
    ipv6: HashMap<u128, u32>,
    /// Networks by prefix length, longest first; a lookup masks the address
    /// once per distinct length present (real feeds use a handful).
    v4_nets: Vec<(u8, HashMap<u32, u32>)>,
    v6_nets: Vec<(u8, HashMap<u128, u32>)>,
    /// Exact-value tables for the string kinds, indexed by [`string_slot`].
    strings: [HashTable<(u32, u32)>; 8],
    /// Bit `n` set when some domain indicator has `n` labels (63 = 63 or
    /// more): parent lookups skip suffixes no indicator can equal.
    domain_labels: u64,
}

fn label_bit(name: &[u8]) -> u64 {
    let labels = name.iter().filter(|&&b| b == b'.').count() + 1;
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

/// The value stored at `offset` of a values arena.
fn value_at(values: &[u8], offset: u32) -> &[u8] {
    let at = offset as usize;
    let (len, used) = text::read_varint(&values[at..]);
    &values[at + used..at + used + len as usize]
}

/// Heap bytes of a hash table of `capacity` items of `item` bytes: its
/// buckets (capacity is 7/8 of them, or one less below 8) plus one control
/// byte each and a group's worth more.
fn table_bytes(capacity: usize, item: usize) -> usize {
    let buckets = match capacity {
        0 => return 0,
        1..8 => capacity + 1,
        _ => capacity / 7 * 8,
    };
    buckets * (item + 1) + 16
}

fn map_bytes<K, V>(m: &HashMap<K, V>) -> usize {
    table_bytes(m.capacity(), size_of::<(K, V)>())
}

/// A list of network tables by prefix length, and the tables.
fn nets_bytes<K>(nets: &Vec<(u8, HashMap<K, u32>)>) -> usize {
    nets.capacity() * size_of::<(u8, HashMap<K, u32>)>()
        + nets.iter().map(|(_, m)| map_bytes(m)).sum::<usize>()
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
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn text(&self, index: usize) -> &[u8] {
        let end = self
            .slots
            .get(index + 1)
            .map_or(self.texts.len(), |s| s.text as usize);
        &self.texts[self.slots[index].text as usize..end]
    }

    pub fn entry(&self, index: u32) -> Entry<'_> {
        let i = index as usize;
        let slot = self.slots[i];
        let text = text::read(self.text(i));
        let meta = &*self.metas[slot.meta as usize];
        Entry {
            id: Id {
                prefix: &meta.id_prefix,
                uuid: text.uuid,
                rest: text.rest,
            },
            description: text.description,
            meta,
            validity: &self.validities[slot.validity as usize],
        }
    }

    pub fn entries(&self) -> impl ExactSizeIterator<Item = Entry<'_>> {
        (0..self.slots.len() as u32).map(|i| self.entry(i))
    }

    /// Distinct metadata records held.
    pub fn metas(&self) -> usize {
        self.metas.len()
    }

    /// Indicators held per source and kind, expired ones included until a
    /// [`IndicatorStore::sweep`] drops them (lookups never return them).
    pub fn counts_by_source_and_kind(&self) -> BTreeMap<(String, IndicatorKind), usize> {
        let mut per_meta = vec![0usize; self.metas.len()];
        for slot in &self.slots {
            per_meta[slot.meta as usize] += 1;
        }
        let mut out = BTreeMap::new();
        for (meta, n) in self.metas.iter().zip(per_meta) {
            if n > 0 {
                *out.entry((meta.source.clone(), meta.kind)).or_default() += n;
            }
        }
        out
    }

    /// Indicators held per source (expired ones included until swept), by name.
    pub fn sources(&self) -> Vec<(String, usize)> {
        let mut out: BTreeMap<String, usize> = BTreeMap::new();
        for ((source, _), n) in self.counts_by_source_and_kind() {
            *out.entry(source).or_default() += n;
        }
        out.into_iter().collect()
    }

    /// Heap bytes of this snapshot, which is all the store keeps: entries,
    /// their texts, the lookup tables (buckets and control bytes), the
    /// values arena, the validity and metadata tables (each metadata record
    /// with its `Arc` header and everything it owns).
    pub fn heap_bytes(&self) -> usize {
        let strings: usize = self
            .strings
            .iter()
            .map(|t| table_bytes(t.capacity(), size_of::<(u32, u32)>()))
            .sum();
        self.slots.capacity() * size_of::<Slot>()
            + self.texts.capacity()
            + self.values.capacity()
            + self.validities.capacity() * size_of::<Validity>()
            + map_bytes(&self.ipv4)
            + map_bytes(&self.ipv6)
            + nets_bytes(&self.v4_nets)
            + nets_bytes(&self.v6_nets)
            + strings
            + self.metas.capacity() * size_of::<Arc<Meta>>()
            + self
                .metas
                .iter()
                // An Arc's allocation: two counters and the value.
                .map(|m| 2 * size_of::<usize>() + size_of::<Meta>() + m.heap_bytes())
                .sum::<usize>()
    }

    /// The part of [`heap_bytes`](Self::heap_bytes) that is the indicators'
    /// values themselves (string bytes, IP keys).
    pub fn value_bytes(&self) -> usize {
        let strings: usize = self
            .strings
            .iter()
            .flat_map(|t| t.iter())
            .map(|&(offset, _)| value_at(&self.values, offset).len())
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
            let slot = &self.slots[at as usize];
            let validity = &self.validities[slot.validity as usize];
            if validity.from <= now && now < validity.until {
                found(Match {
                    entry: at,
                    value: value.clone(),
                });
            }
            at = slot.next;
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
        if !parents {
            self.find_string(0, name, now, found);
            return;
        }
        let mut labels = name.bytes().filter(|&b| b == b'.').count() + 1;
        let mut rest = name;
        loop {
            if self.domain_labels & (1 << labels.min(63)) != 0 {
                self.find_string(0, rest, now, found);
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
        self.find_string(slot, &value, now, found);
    }

    /// The entries of `value` in string table `slot`, valid at `now`.
    fn find_string<'s>(
        &'s self,
        slot: usize,
        value: &str,
        now: Micros,
        found: &mut impl FnMut(Match<'s>),
    ) {
        let bytes = value.as_bytes();
        let hash = self.hasher.hash_one(bytes);
        if let Some(&(offset, head)) =
            self.strings[slot].find(hash, |&(offset, _)| value_at(&self.values, offset) == bytes)
        {
            let key = text::utf8(value_at(&self.values, offset));
            self.chain(head, now, Cow::Borrowed(key), found);
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

pub struct IndicatorStore {
    config: StoreConfig,
    current: ArcSwap<Snapshot>,
    /// Serialises writers; readers never take it.
    writer: Mutex<()>,
}

impl IndicatorStore {
    pub fn new(config: StoreConfig) -> Self {
        IndicatorStore {
            config,
            current: ArcSwap::from_pointee(Snapshot::default()),
            writer: Mutex::new(()),
        }
    }

    /// The current snapshot. Never blocks.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Replace everything held for `source` with `indicators` (their
    /// `source` is taken to be `source`) and publish a new snapshot.
    /// Indicators keep the time they were first received, so re-delivering
    /// one does not extend its default TTL. A later indicator with the same
    /// id replaces an earlier one.
    pub fn replace_source(
        &self,
        source: &str,
        indicators: Vec<Indicator>,
        now: Micros,
    ) -> Arc<Snapshot> {
        self.change(
            build::Old::DropSources(&[source]),
            indicators,
            Some(source),
            now,
        )
        .0
    }

    /// Merge `indicators` into what `source` holds (their `source` is taken
    /// to be `source`) and publish: an indicator with the id of one held
    /// replaces it but keeps its first-received time; the others stay.
    pub fn upsert_source(
        &self,
        source: &str,
        indicators: Vec<Indicator>,
        now: Micros,
    ) -> Arc<Snapshot> {
        self.change(
            build::Old::KeepUnlessReplaced,
            indicators,
            Some(source),
            now,
        )
        .0
    }

    /// Drop everything held for `source` and publish.
    pub fn remove_source(&self, source: &str) -> Arc<Snapshot> {
        self.change(build::Old::DropSources(&[source]), Vec::new(), None, 0)
            .0
    }

    /// Drop the indicators expired at `now` (valid-until, default TTL
    /// applied, at or before `now`) and publish; returns the snapshot and
    /// how many went. When none has expired, nothing is published and the
    /// current snapshot comes back.
    pub fn sweep(&self, now: Micros) -> (Arc<Snapshot>, usize) {
        self.change(build::Old::Unexpired(now), Vec::new(), None, now)
    }

    /// Indicators held per source (expired ones included until swept).
    pub fn sources(&self) -> Vec<(String, usize)> {
        self.snapshot().sources()
    }

    /// Heap bytes the store keeps besides the current snapshot: none, since
    /// new snapshots are built from the current one. Kept so that memory
    /// reports can add it.
    pub fn source_bytes(&self) -> usize {
        0
    }

    /// Replace every source with those in `indicators` (grouped by their
    /// `source` field), dropping sources not present. Indicators keep the
    /// time they were first received.
    pub fn replace_all(&self, indicators: Vec<Indicator>, now: Micros) -> Arc<Snapshot> {
        self.change(build::Old::DropAll, indicators, None, now).0
    }

    fn change(
        &self,
        old: build::Old<'_>,
        indicators: Vec<Indicator>,
        source: Option<&str>,
        now: Micros,
    ) -> (Arc<Snapshot>, usize) {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.current.load_full();
        let ttl = self.config.default_ttl.map(|d| d.as_micros() as Micros);
        let sweeping = matches!(old, build::Old::Unexpired(_));
        let change = build::Change {
            old,
            new: indicators,
            source,
            now,
            ttl,
        };
        let (snapshot, dropped) = build::rebuild(&current, current.version + 1, change);
        if sweeping && dropped == 0 {
            return (current, 0);
        }
        let snapshot = Arc::new(snapshot);
        self.current.store(snapshot.clone());
        (snapshot, dropped)
    }
}

#[cfg(test)]
mod tests;
