//! Dotted field paths, found in a record however it spells them.
//!
//! A path such as `source.nat.ip` may stand in a record as nested objects
//! (`{"source":{"nat":{"ip":..}}}`), as one flattened key (`{"source.nat.ip":..}`),
//! or as any mix (`{"source":{"nat.ip":..}}`); an array of objects on the way
//! (`{"email":{"attachments":[{"file":{"name":..}}]}}`) is looked through.
//! Elasticsearch reads all of these as the same field.
//!
//! The scan asks for every key it meets: a field of interest, one a module
//! needs located (where it writes), a prefix worth descending into, or none.
//! Keys are found through a small hash table: most keys of a record land in
//! an empty bucket and are dismissed without a comparison.

use crate::scan::{self, Member, ScanError, Span, ValueKind, Visitor, half, word};

const BUCKETS: usize = 1024;

/// The node of the top level.
const ROOT: u16 = 0;
/// "No node": a path nothing longer starts with.
const LEAF: u16 = u16::MAX;

/// What a path is to the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Index of the field it names, if any.
    pub field: Option<u16>,
    /// Index of the located path it names, if any.
    pub located: Option<u16>,
    /// The node whose children are the paths one segment longer, or [`LEAF`].
    node: u16,
}

impl Entry {
    /// Some longer path starts with this one and a dot.
    pub fn is_prefix(&self) -> bool {
        self.node != LEAF
    }
}

/// (parent node, key, entry).
type Slot = (u16, Box<[u8]>, Entry);

/// The paths one module looks for, as a tree of segments: a key is looked up
/// under the node of the object it stands in, and every run of segments is
/// a key of its own there, so a nested, flattened or mixed spelling reaches
/// the same entry in one lookup per key and no path text is ever built.
#[derive(Clone, Debug)]
pub struct Paths {
    /// By a cheap hash of parent node and key.
    buckets: Vec<Vec<Slot>>,
    nodes: u16,
    /// Whether any path is longer than one segment: if none is, nothing is
    /// ever descended into and no key is split.
    nested: bool,
}

impl Paths {
    /// Field paths (indexed by position) and located paths (likewise).
    pub fn new<'a>(
        fields: impl IntoIterator<Item = &'a str>,
        located: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut paths = Paths {
            buckets: vec![Vec::new(); BUCKETS],
            nodes: 1,
            nested: false,
        };
        let mut names = Vec::new();
        for (i, name) in fields.into_iter().enumerate() {
            paths.add(name, |e| e.field = e.field.or(Some(i as u16)));
            names.push(name);
        }
        for (i, name) in located.into_iter().enumerate() {
            paths.add(name, |e| e.located = e.located.or(Some(i as u16)));
            names.push(name);
        }
        for name in names {
            paths.add_spellings(name);
        }
        paths
    }

    /// Every run of two or more segments of `name`, under the node of the
    /// segments before it: a key holding dots (`source.ip` at the top,
    /// `nat.ip` in `source`) is then found with one lookup, like any other.
    fn add_spellings(&mut self, name: &str) {
        let segments: Vec<&str> = name.split('.').collect();
        // nodes[i]: the node of segments[..i]; entries[j]: the entry of segments[..=j].
        let mut nodes = vec![ROOT];
        let mut entries = Vec::new();
        for segment in &segments {
            let node = *nodes.last().unwrap();
            let entry = self.get(node, segment.as_bytes()).expect("added");
            entries.push(entry);
            nodes.push(entry.node);
        }
        for i in 0..segments.len() {
            for j in i + 2..=segments.len() {
                let key = segments[i..j].join(".");
                *self.entry_mut(nodes[i], key.as_bytes()) = entries[j - 1];
            }
        }
    }

    fn add(&mut self, name: &str, set: impl FnOnce(&mut Entry)) {
        let mut node = ROOT;
        let mut segments = name.split('.').peekable();
        while let Some(segment) = segments.next() {
            let last = segments.peek().is_none();
            let next = self.nodes;
            let entry = self.entry_mut(node, segment.as_bytes());
            if last {
                set(entry);
                return;
            }
            if entry.node == LEAF {
                entry.node = next;
            }
            node = entry.node;
            if node == next {
                self.nodes += 1;
            }
            self.nested = true;
        }
    }

    fn entry_mut(&mut self, parent: u16, segment: &[u8]) -> &mut Entry {
        let bucket = &mut self.buckets[bucket(parent, segment)];
        let at = match bucket
            .iter()
            .position(|(p, s, _)| *p == parent && **s == *segment)
        {
            Some(at) => at,
            None => {
                let entry = Entry {
                    field: None,
                    located: None,
                    node: LEAF,
                };
                bucket.push((parent, segment.into(), entry));
                bucket.len() - 1
            }
        };
        &mut bucket[at].2
    }

    /// The entry of `key` (which may hold dots) in the object of `node`.
    #[inline(always)]
    fn child(&self, node: u16, key: &[u8]) -> Option<Entry> {
        self.get(node, key)
    }

    #[inline(always)]
    fn get(&self, parent: u16, segment: &[u8]) -> Option<Entry> {
        self.buckets[bucket(parent, segment)]
            .iter()
            .find(|(p, s, _)| *p == parent && same_bytes(s, segment))
            .map(|(_, _, e)| *e)
    }
}

/// Byte equality a word at a time, with no loop up to sixteen bytes (two
/// words that may overlap): in a component, `==` on slices calls a
/// byte-by-byte `memcmp`, and every loop head is a deadline check.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0..=3 => a == b,
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => same_bytes_long(a, b),
    }
}

#[inline(never)]
fn same_bytes_long(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

#[inline(always)]
fn bucket(parent: u16, key: &[u8]) -> usize {
    let hash = match key {
        [] => 0,
        [first, .., last] => {
            key.len() * 7
                + usize::from(*first) * 3
                + usize::from(*last) * 5
                + usize::from(key[key.len() / 2])
        }
        [only] => usize::from(*only),
    };
    (hash + usize::from(parent) * 31) % BUCKETS
}

/// The state a [`PathScan`] reuses from record to record.
#[derive(Default, Debug)]
pub struct Scratch {
    /// The node of the object being visited.
    node: u16,
    /// Nodes to return to.
    stack: Vec<u16>,
}

/// A scan that resolves every member's path against [`Paths`] and reports
/// the members that are fields or located paths.
pub struct PathScan<'p, F> {
    paths: &'p Paths,
    scratch: &'p mut Scratch,
    found: F,
}

impl<'p, F: FnMut(Entry, &Member)> PathScan<'p, F> {
    pub fn new(paths: &'p Paths, scratch: &'p mut Scratch, found: F) -> Self {
        scratch.node = ROOT;
        scratch.stack.clear();
        PathScan {
            paths,
            scratch,
            found,
        }
    }

    /// Scan the record at `start` of `input` (see [`scan::scan_object_at`]).
    pub fn record(mut self, input: &[u8], start: usize) -> Result<scan::Object, ScanError> {
        scan::scan_object_at(input, start, &mut self)
    }

    /// Scan the object whose `{` is at `open` (see [`scan::scan_nested_object`]).
    pub fn object(mut self, line: &[u8], open: usize) -> Result<usize, ScanError> {
        scan::scan_nested_object(line, open, &mut self)
    }
}

impl<F: FnMut(Entry, &Member)> Visitor for PathScan<'_, F> {
    #[inline]
    fn enter(&mut self, line: &[u8], key: Span, key_escaped: bool, _: ValueKind) -> bool {
        // Field names of real schemas never need escapes; an escaped key is
        // not one of ours.
        if !self.paths.nested || key_escaped {
            return false;
        }
        match self.paths.child(self.scratch.node, key.of(line)) {
            Some(entry) if entry.is_prefix() => {
                self.scratch.stack.push(self.scratch.node);
                self.scratch.node = entry.node;
                true
            }
            _ => false,
        }
    }

    #[inline]
    fn leave(&mut self) {
        self.scratch.node = self.scratch.stack.pop().unwrap_or(ROOT);
    }

    #[inline]
    fn member(&mut self, line: &[u8], member: &Member) {
        if member.key_escaped {
            return;
        }
        if let Some(entry) = self.paths.child(self.scratch.node, member.key.of(line))
            && (entry.field.is_some() || entry.located.is_some())
        {
            (self.found)(entry, member);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(paths: &Paths, line: &str) -> Result<Vec<(Entry, String)>, ScanError> {
        let mut out = Vec::new();
        let b = line.as_bytes();
        PathScan::new(paths, &mut Scratch::default(), |e, m: &Member| {
            out.push((e, String::from_utf8(m.value.of(b).to_vec()).unwrap()))
        })
        .record(b, 0)?;
        Ok(out)
    }

    fn fields(paths: &Paths, line: &str) -> Vec<(u16, String)> {
        found(paths, line)
            .unwrap()
            .into_iter()
            .filter_map(|(e, v)| Some((e.field?, v)))
            .collect()
    }

    fn ecs() -> Paths {
        Paths::new(
            [
                "source.ip",
                "source.nat.ip",
                "url.full",
                "email.attachments.file.name",
            ],
            ["threat", "threat.enrichments"],
        )
    }

    #[test]
    fn nested_dotted_and_mixed_spellings_are_one_path() {
        let p = ecs();
        for line in [
            r#"{"source":{"ip":"1.2.3.4"}}"#,
            r#"{"source.ip":"1.2.3.4"}"#,
            r#"{"a":1,"source" : { "port":1, "ip" : "1.2.3.4" },"z":[{"ip":"no"}]}"#,
        ] {
            assert_eq!(fields(&p, line), [(0, "\"1.2.3.4\"".to_string())], "{line}");
        }
        let got = fields(
            &p,
            r#"{"source":{"nat.ip":"10.0.0.1","nat":{"ip":["a","b"]}}}"#,
        );
        assert_eq!(
            got,
            [
                (1, "\"10.0.0.1\"".to_string()),
                (1, r#"["a","b"]"#.to_string())
            ]
        );
    }

    #[test]
    fn only_configured_paths_match() {
        let p = ecs();
        // Same last segment under another parent, a prefix alone, a longer path.
        let line = r#"{"destination":{"ip":"x"},"ip":"x","source":"x","source.ip.v":"x","url":{"full":{"a":1}}}"#;
        let got = found(&p, line).unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got[0].0.field,
            Some(2),
            "url.full holding an object is still reported"
        );
    }

    #[test]
    fn arrays_of_objects_are_looked_through() {
        let p = ecs();
        let line = r#"{"email":{"attachments":[{"file":{"name":"a.exe"}},"x",[{"file":{"name":"deeper"}}],{"file.name":"b.doc"}]}}"#;
        assert_eq!(
            fields(&p, line),
            [(3, "\"a.exe\"".to_string()), (3, "\"b.doc\"".to_string())]
        );
    }

    #[test]
    fn located_paths_and_escaped_keys() {
        let p = ecs();
        let got = found(
            &p,
            r#"{"threat":{"enrichments":[{"a":1}]},"source\u002eip":"x","sour\"ce":{"ip":"y"}}"#,
        )
        .unwrap();
        let located: Vec<_> = got.iter().filter_map(|(e, _)| e.located).collect();
        // Inner first: a member is reported once its value is scanned.
        assert_eq!(located, [1, 0]);
        assert!(got.iter().all(|(e, _)| e.field.is_none()));
    }

    #[test]
    fn malformed_inside_a_visited_object_fails_the_record() {
        let p = ecs();
        assert!(found(&p, r#"{"source":{"ip":"x",}}"#).is_err());
        assert!(found(&p, r#"{"source":{"ip" "x"}}"#).is_err());
        assert!(found(&p, r#"{"source":{"ip":"x"}"#).is_err());
        // Not visited: only bracket balance is checked, as before.
        assert!(found(&p, r#"{"other":{"ip":"x",}}"#).is_ok());
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            assert!(same_bytes(&a, &a.clone()));
            assert!(!same_bytes(&a, &a[..n.saturating_sub(1)]) || n == 0);
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x40;
                assert!(!same_bytes(&a, &b), "{n} {at}");
            }
        }
    }

    #[test]
    fn flat_paths_never_descend() {
        let p = Paths::new(["a", "b"], ["c"]);
        assert!(!p.nested);
        assert_eq!(fields(&p, r#"{"x":{"a":"no"},"a":"yes"}"#).len(), 1);
    }
}
