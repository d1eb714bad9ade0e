//! Building a snapshot from the current one and a change: the current
//! entries that stay are copied (text bytes, remapped metadata and validity,
//! value chains relinked in place of rehashing anything but the keys), then
//! the new indicators are appended. Nothing else is kept between builds.

use std::collections::{BTreeMap, HashSet};
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use foldhash::HashMap;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry as TableEntry;
use taxiway_poller::indicator::{Indicator, IndicatorKind};
use taxiway_poller::normalize::{self, IpValue};

use super::text::{self, split_id};
use super::{
    Meta, Micros, NONE, Slot, Snapshot, Validity, label_bit, micros, string_slot, value_at,
};

/// Which of the current entries stay.
pub(super) enum Old<'a> {
    /// All but those of these sources.
    DropSources(&'a [&'a str]),
    /// None.
    DropAll,
    /// All but those a new indicator replaces (same source and id).
    KeepUnlessReplaced,
    /// Those still valid after this time.
    Unexpired(Micros),
}

pub(super) struct Change<'a> {
    pub old: Old<'a>,
    pub new: Vec<Indicator>,
    /// The source of every new indicator (else each one's own).
    pub source: Option<&'a str>,
    pub now: Micros,
    /// Default TTL.
    pub ttl: Option<Micros>,
}

/// A description shared by indicators whose texts would together hold this
/// many bytes or more is kept once in their metadata instead (a metadata
/// record costs a few hundred bytes).
const SHARE_DESCRIPTION: usize = 512;

/// How many distinct metadata records of the latest new indicators are
/// compared before the table is asked.
const RECENT_METAS: usize = 4;

/// Metadata as a key, borrowed from a held record or a new indicator.
#[derive(PartialEq, Eq, Hash, Clone, Copy)]
struct MetaKey<'a> {
    kind: IndicatorKind,
    source: &'a str,
    id_prefix: &'a str,
    collection: Option<&'a str>,
    confidence: Option<u8>,
    threat_type: Option<&'a str>,
    description: Option<&'a str>,
    tags: &'a [String],
    actors: &'a [String],
    kill_chain: &'a [String],
    fields: &'a serde_json::Map<String, serde_json::Value>,
}

impl<'a> MetaKey<'a> {
    fn of(m: &'a Meta) -> Self {
        MetaKey {
            kind: m.kind,
            source: &m.source,
            id_prefix: &m.id_prefix,
            collection: m.collection.as_deref(),
            confidence: m.confidence,
            threat_type: m.threat_type.as_deref(),
            description: m.description.as_deref(),
            tags: &m.tags,
            actors: &m.actors,
            kill_chain: &m.kill_chain,
            fields: &m.fields,
        }
    }

    fn to_meta(self) -> Meta {
        Meta {
            kind: self.kind,
            source: self.source.to_owned(),
            collection: self.collection.map(str::to_owned),
            confidence: self.confidence,
            threat_type: self.threat_type.map(str::to_owned),
            tags: self.tags.to_vec(),
            actors: self.actors.to_vec(),
            kill_chain: self.kill_chain.to_vec(),
            fields: self.fields.clone(),
            description: self.description.map(str::to_owned),
            id_prefix: self.id_prefix.to_owned(),
        }
    }
}

/// Deduplicating table builder: items by value, numbered in order.
struct Dedup<K, V> {
    ids: HashMap<K, u32>,
    items: Vec<V>,
}

impl<K: std::hash::Hash + Eq, V> Dedup<K, V> {
    fn new() -> Self {
        Dedup {
            ids: HashMap::default(),
            items: Vec::new(),
        }
    }

    fn index(&mut self, key: K, make: impl FnOnce() -> V) -> u32 {
        let next = self.items.len() as u32;
        *self.ids.entry(key).or_insert_with(|| {
            self.items.push(make());
            next
        })
    }
}

/// Where a value goes in the lookup tables.
enum Key<'v> {
    V4(u32),
    V6(u128),
    V4Net(u8, u32),
    V6Net(u8, u128),
    Str(usize, &'v str),
}

fn key_of(kind: IndicatorKind, value: &str) -> Option<Key<'_>> {
    match kind {
        IndicatorKind::Ipv4 => value.parse::<Ipv4Addr>().ok().map(|a| Key::V4(a.into())),
        IndicatorKind::Ipv6 => value.parse::<Ipv6Addr>().ok().map(|a| Key::V6(a.into())),
        IndicatorKind::Ipv4Cidr => match normalize::ip(value) {
            Ok(IpValue::V4Net(net, prefix)) => Some(Key::V4Net(prefix, net.into())),
            _ => None,
        },
        IndicatorKind::Ipv6Cidr => match normalize::ip(value) {
            Ok(IpValue::V6Net(net, prefix)) => Some(Key::V6Net(prefix, net.into())),
            _ => None,
        },
        other => string_slot(other).map(|slot| Key::Str(slot, value)),
    }
}

fn source_of<'a>(source: Option<&'a str>, ind: &'a Indicator) -> &'a str {
    source.unwrap_or(&ind.source)
}

/// The new snapshot and how many current entries it no longer holds.
pub(super) fn rebuild(old: &Snapshot, version: u64, change: Change<'_>) -> (Snapshot, usize) {
    let Change {
        old: which,
        new,
        source,
        now,
        ttl,
    } = change;

    // The new indicators: the last of each (source, id) wins.
    let mut keep_new = vec![true; new.len()];
    {
        let mut last: HashMap<(&str, &str), usize> = HashMap::default();
        last.reserve(new.len());
        for (i, ind) in new.iter().enumerate() {
            if let Some(earlier) = last.insert((source_of(source, ind), ind.id.as_str()), i) {
                keep_new[earlier] = false;
            }
        }
    }
    let mut new_sources: HashSet<&str> = HashSet::new();
    let mut last_source = None;
    for ind in &new {
        let s = source_of(source, ind);
        if last_source != Some(s) {
            new_sources.insert(s);
            last_source = Some(s);
        }
    }

    // Current entries that a new indicator has the id of: they give it their
    // first-received time, and under `KeepUnlessReplaced` they go.
    let mut replaced = vec![false; old.slots.len()];
    let mut received = vec![now; new.len()];
    let in_new_source: Vec<bool> = old
        .metas
        .iter()
        .map(|m| new_sources.contains(m.source.as_str()))
        .collect();
    if in_new_source.contains(&true) {
        let mut by_id: HashMap<(&str, &str, &[u8]), u32> = HashMap::default();
        for (i, slot) in old.slots.iter().enumerate() {
            if in_new_source[slot.meta as usize] {
                let meta = &old.metas[slot.meta as usize];
                let body = text::read(old.text(i)).body;
                by_id.insert((&meta.source, &meta.id_prefix, body), i as u32);
            }
        }
        let mut body = Vec::new();
        for (i, ind) in new.iter().enumerate() {
            let (prefix, suffix) = split_id(&ind.id);
            text::body_of(suffix, &mut body);
            if let Some(&at) = by_id.get(&(source_of(source, ind), prefix, body.as_slice())) {
                received[i] = old.validities[old.slots[at as usize].validity as usize].received;
                replaced[at as usize] = true;
            }
        }
    }

    let dropped_source: Vec<bool> = match which {
        Old::DropSources(names) => old
            .metas
            .iter()
            .map(|m| names.contains(&m.source.as_str()))
            .collect(),
        Old::DropAll => vec![true; old.metas.len()],
        Old::KeepUnlessReplaced | Old::Unexpired(_) => vec![false; old.metas.len()],
    };
    let keeps = |i: usize, slot: &Slot| -> bool {
        !dropped_source[slot.meta as usize]
            && !replaced[i]
            && match which {
                Old::Unexpired(t) => old.validities[slot.validity as usize].until > t,
                _ => true,
            }
    };

    let mut snap = Snapshot {
        version,
        hasher: old.hasher.clone(),
        ..Snapshot::default()
    };
    let mut metas: Dedup<MetaKey<'_>, Arc<Meta>> = Dedup::new();
    let mut validities: Dedup<Validity, Validity> = Dedup::new();

    // Current entries that stay, in order.
    let mut remap = vec![NONE; old.slots.len()];
    let mut meta_remap = vec![NONE; old.metas.len()];
    let mut validity_remap = vec![NONE; old.validities.len()];
    let mut per_kind = [0usize; IndicatorKind::ALL.len()];
    let kept: Vec<u32> = (0..old.slots.len() as u32)
        .filter(|&i| keeps(i as usize, &old.slots[i as usize]))
        .collect();
    let kept_text: usize = kept.iter().map(|&i| old.text(i as usize).len()).sum();
    let new_text: usize = new
        .iter()
        .map(|i| i.id.len() + i.description.as_ref().map_or(0, String::len) + 2)
        .sum();
    snap.slots.reserve_exact(kept.len() + new.len());
    snap.texts.reserve_exact(kept_text + new_text);
    for &i in &kept {
        let slot = old.slots[i as usize];
        let m = slot.meta as usize;
        if meta_remap[m] == NONE {
            let meta = &old.metas[m];
            meta_remap[m] = metas.index(MetaKey::of(meta), || meta.clone());
        }
        let v = slot.validity as usize;
        if validity_remap[v] == NONE {
            let validity = old.validities[v];
            validity_remap[v] = validities.index(validity, || validity);
        }
        per_kind[old.metas[m].kind as usize] += 1;
        remap[i as usize] = snap.slots.len() as u32;
        snap.slots.push(Slot {
            text: snap.texts.len() as u32,
            meta: meta_remap[m],
            next: NONE,
            validity: validity_remap[v],
        });
        snap.texts.extend_from_slice(old.text(i as usize));
    }
    let dropped = old.slots.len() - kept.len();

    for (ind, _) in new.iter().zip(&keep_new).filter(|(_, k)| **k) {
        per_kind[ind.kind as usize] += 1;
    }
    reserve_tables(&mut snap, old, &per_kind);

    // Their values: the current tables' keys, chains relinked to the new
    // entry numbers.
    let relink = |slots: &mut Vec<Slot>, mut at: u32| -> u32 {
        let (mut first, mut last) = (NONE, NONE);
        while at != NONE {
            let n = remap[at as usize];
            if n != NONE {
                if last == NONE {
                    first = n;
                } else {
                    slots[last as usize].next = n;
                }
                last = n;
            }
            at = old.slots[at as usize].next;
        }
        first
    };
    {
        let mut relink_head = |head| relink(&mut snap.slots, head);
        relink_map(&old.ipv4, &mut snap.ipv4, &mut relink_head);
        relink_map(&old.ipv6, &mut snap.ipv6, &mut relink_head);
    }
    let mut v4_nets: BTreeMap<u8, HashMap<u32, u32>> = BTreeMap::new();
    let mut v6_nets: BTreeMap<u8, HashMap<u128, u32>> = BTreeMap::new();
    {
        let mut relink_head = |head| relink(&mut snap.slots, head);
        for (prefix, nets) in &old.v4_nets {
            relink_map(nets, v4_nets.entry(*prefix).or_default(), &mut relink_head);
        }
        for (prefix, nets) in &old.v6_nets {
            relink_map(nets, v6_nets.entry(*prefix).or_default(), &mut relink_head);
        }
    }
    v4_nets.retain(|_, nets| !nets.is_empty());
    v6_nets.retain(|_, nets| !nets.is_empty());
    for (table, old_table) in old.strings.iter().enumerate() {
        for &(offset, head) in old_table {
            let head = relink(&mut snap.slots, head);
            if head != NONE {
                let value = value_at(&old.values, offset);
                if table == 0 {
                    snap.domain_labels |= label_bit(value);
                }
                let offset = push_value(&mut snap.values, value);
                let hash = snap.hasher.hash_one(value);
                let (values, hasher) = (&snap.values, &snap.hasher);
                snap.strings[table].insert_unique(hash, (offset, head), |&(o, _)| {
                    hasher.hash_one(value_at(values, o))
                });
            }
        }
    }

    // The new indicators.
    let shared = shared_descriptions(&new, &keep_new);
    let ttl_from = |received: Micros| ttl.map_or(Micros::MAX, |t| received.saturating_add(t));
    // The metadata of the last few indicators (replaced oldest first).
    let mut recent_metas: [Option<(MetaKey<'_>, u32)>; RECENT_METAS] = [None; RECENT_METAS];
    let mut recent_next = 0;
    let mut last_validity: Option<(Validity, u32)> = None;
    for (i, ind) in new.iter().enumerate() {
        if !keep_new[i] {
            continue;
        }
        // The model only holds normalised values, so a value that does not
        // parse here cannot occur; skip it rather than index garbage.
        let Some(key) = key_of(ind.kind, &ind.value) else {
            continue;
        };
        let (prefix, suffix) = split_id(&ind.id);
        let description = ind.description.as_deref();
        let is_shared = description.is_some_and(|d| shared.contains(d));
        let meta_key = MetaKey {
            kind: ind.kind,
            source: source_of(source, ind),
            id_prefix: prefix,
            collection: ind.collection.as_deref(),
            confidence: ind.confidence,
            threat_type: ind.threat_type.as_deref(),
            description: if is_shared { description } else { None },
            tags: &ind.tags,
            actors: &ind.actors,
            kill_chain: &ind.kill_chain,
            fields: &ind.fields,
        };
        // Feeds list indicators of one kind and metadata in runs, or
        // cycling through a few combinations (confidence levels, types).
        let meta = match recent_metas
            .iter()
            .flatten()
            .find(|(key, _)| *key == meta_key)
        {
            Some(&(_, meta)) => meta,
            None => {
                let meta = metas.index(meta_key, || Arc::new(meta_key.to_meta()));
                recent_metas[recent_next] = Some((meta_key, meta));
                recent_next = (recent_next + 1) % RECENT_METAS;
                meta
            }
        };
        let explicit = ind.valid_until.map(micros);
        let validity = Validity {
            from: ind.valid_from.map_or(Micros::MIN, micros),
            until: explicit.unwrap_or_else(|| ttl_from(received[i])),
            received: received[i],
            explicit: explicit.is_some(),
        };
        let validity = match last_validity {
            Some((v, index)) if v == validity => index,
            _ => {
                let index = validities.index(validity, || validity);
                last_validity = Some((validity, index));
                index
            }
        };
        let index = u32::try_from(snap.slots.len())
            .ok()
            .filter(|&i| i != NONE)
            .expect("fewer than 2^32 - 1 indicators");
        let head = head_for(&mut snap, &mut v4_nets, &mut v6_nets, key);
        let next = std::mem::replace(head, index);
        let text = u32::try_from(snap.texts.len()).expect("entry texts under 4 GiB");
        snap.slots.push(Slot {
            text,
            meta,
            next,
            validity,
        });
        text::push(
            &mut snap.texts,
            suffix,
            if is_shared { None } else { description },
        );
    }

    snap.v4_nets = v4_nets.into_iter().rev().collect();
    snap.v6_nets = v6_nets.into_iter().rev().collect();
    snap.metas = metas.items;
    snap.validities = validities.items;
    snap.slots.shrink_to_fit();
    snap.texts.shrink_to_fit();
    snap.values.shrink_to_fit();
    snap.metas.shrink_to_fit();
    snap.validities.shrink_to_fit();
    (snap, dropped)
}

/// Copies the keys of `old` whose chains keep an entry, with their new
/// heads (`relink` maps an old head to the new one, `NONE` when none stays).
fn relink_map<K: Copy + Eq + std::hash::Hash>(
    old: &HashMap<K, u32>,
    new: &mut HashMap<K, u32>,
    relink: &mut impl FnMut(u32) -> u32,
) {
    for (&key, &head) in old {
        let head = relink(head);
        if head != NONE {
            new.insert(key, head);
        }
    }
}

/// Sizes the exact-value tables for the entries to come (`per_kind`
/// counts them; values repeat rarely, so one slot per entry).
fn reserve_tables(snap: &mut Snapshot, old: &Snapshot, per_kind: &[usize]) {
    let count = |k: IndicatorKind| per_kind[k as usize];
    snap.ipv4.reserve(count(IndicatorKind::Ipv4));
    snap.ipv6.reserve(count(IndicatorKind::Ipv6));
    for kind in IndicatorKind::ALL {
        if let Some(slot) = string_slot(kind) {
            snap.strings[slot] = HashTable::with_capacity(count(kind));
        }
    }
    // String values: at most what the current arena holds plus the new ones.
    snap.values.reserve(old.values.len().min(1 << 20));
}

/// The chain head a new entry with `key` goes in front of, created empty
/// (`NONE`) if the value is new.
fn head_for<'s>(
    snap: &'s mut Snapshot,
    v4_nets: &'s mut BTreeMap<u8, HashMap<u32, u32>>,
    v6_nets: &'s mut BTreeMap<u8, HashMap<u128, u32>>,
    key: Key<'_>,
) -> &'s mut u32 {
    match key {
        Key::V4(a) => snap.ipv4.entry(a).or_insert(NONE),
        Key::V6(a) => snap.ipv6.entry(a).or_insert(NONE),
        Key::V4Net(p, n) => v4_nets.entry(p).or_default().entry(n).or_insert(NONE),
        Key::V6Net(p, n) => v6_nets.entry(p).or_default().entry(n).or_insert(NONE),
        Key::Str(slot, value) => {
            if slot == 0 {
                snap.domain_labels |= label_bit(value.as_bytes());
            }
            let bytes = value.as_bytes();
            let hash = snap.hasher.hash_one(bytes);
            let (values, hasher) = (&snap.values, &snap.hasher);
            let entry = snap.strings[slot].entry(
                hash,
                |&(o, _)| value_at(values, o) == bytes,
                |&(o, _)| hasher.hash_one(value_at(values, o)),
            );
            match entry {
                TableEntry::Occupied(e) => &mut e.into_mut().1,
                TableEntry::Vacant(e) => {
                    let offset = push_value(&mut snap.values, bytes);
                    &mut e.insert((offset, NONE)).into_mut().1
                }
            }
        }
    }
}

fn push_value(values: &mut Vec<u8>, value: &[u8]) -> u32 {
    let offset = u32::try_from(values.len()).expect("string values under 4 GiB");
    text::push_varint(values, value.len() as u64);
    values.extend_from_slice(value);
    offset
}

/// Descriptions the new indicators share enough to keep in their metadata.
fn shared_descriptions<'i>(new: &'i [Indicator], keep: &[bool]) -> HashSet<&'i str> {
    let mut bytes: HashMap<&str, usize> = HashMap::default();
    bytes.reserve(new.len());
    for (ind, _) in new.iter().zip(keep).filter(|(_, k)| **k) {
        if let Some(d) = ind.description.as_deref() {
            *bytes.entry(d).or_default() += d.len().max(1);
        }
    }
    bytes
        .into_iter()
        .filter(|&(_, total)| total >= SHARE_DESCRIPTION)
        .map(|(d, _)| d)
        .collect()
}
