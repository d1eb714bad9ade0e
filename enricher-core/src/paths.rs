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

use crate::scan::{self, Member, ScanError, Span, ValueKind, Visitor};

const BUCKETS: usize = 256;

/// What a path is to the module.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Index of the field it names, if any.
    pub field: Option<u16>,
    /// Index of the located path it names, if any.
    pub located: Option<u16>,
    /// Some longer path starts with this one and a dot.
    pub prefix: bool,
}

/// The paths one module looks for.
#[derive(Clone, Debug)]
pub struct Paths {
    buckets: Vec<Vec<(Box<[u8]>, Entry)>>,
    /// Whether any path is longer than one segment: if none is, nothing is
    /// ever descended into.
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
            nested: false,
        };
        for (i, name) in fields.into_iter().enumerate() {
            paths.add(name, |e| e.field = e.field.or(Some(i as u16)));
        }
        for (i, name) in located.into_iter().enumerate() {
            paths.add(name, |e| e.located = e.located.or(Some(i as u16)));
        }
        paths
    }

    fn add(&mut self, name: &str, set: impl FnOnce(&mut Entry)) {
        set(self.entry_mut(name.as_bytes()));
        for (at, _) in name.match_indices('.') {
            self.nested = true;
            self.entry_mut(&name.as_bytes()[..at]).prefix = true;
        }
    }

    fn entry_mut(&mut self, path: &[u8]) -> &mut Entry {
        let bucket = &mut self.buckets[bucket(path)];
        let at = match bucket.iter().position(|(p, _)| **p == *path) {
            Some(at) => at,
            None => {
                bucket.push((path.into(), Entry::default()));
                bucket.len() - 1
            }
        };
        &mut bucket[at].1
    }

    #[inline]
    pub fn get(&self, path: &[u8]) -> Option<Entry> {
        self.buckets[bucket(path)]
            .iter()
            .find(|(p, _)| same_bytes(p, path))
            .map(|(_, e)| *e)
    }
}

/// Byte equality a word at a time: in a component, `==` on slices calls a
/// byte-by-byte `memcmp`.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    let word = |c: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    };
    for (x, y) in (&mut ca).zip(&mut cb) {
        if word(x) != word(y) {
            return false;
        }
    }
    ca.remainder()
        .iter()
        .zip(cb.remainder())
        .all(|(x, y)| x == y)
}

#[inline]
fn bucket(key: &[u8]) -> usize {
    match key {
        [] => 0,
        [first, .., last] => {
            (key.len() * 7
                + usize::from(*first) * 3
                + usize::from(*last) * 5
                + usize::from(key[key.len() / 2]))
                % BUCKETS
        }
        [only] => usize::from(*only) % BUCKETS,
    }
}

/// Buffers a [`PathScan`] reuses from record to record.
#[derive(Default, Debug)]
pub struct Scratch {
    /// The path of the object being visited (empty at the top).
    prefix: Vec<u8>,
    /// `prefix` lengths to return to.
    stack: Vec<usize>,
    /// A member's full path below the top.
    full: Vec<u8>,
}

/// A scan that resolves every member's full path against [`Paths`] and
/// reports the members that are fields or located paths.
pub struct PathScan<'p, F> {
    paths: &'p Paths,
    scratch: &'p mut Scratch,
    found: F,
}

impl<'p, F: FnMut(Entry, &Member)> PathScan<'p, F> {
    pub fn new(paths: &'p Paths, scratch: &'p mut Scratch, found: F) -> Self {
        scratch.prefix.clear();
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

    #[inline]
    fn entry(&mut self, line: &[u8], key: Span) -> Option<Entry> {
        let key = key.of(line);
        let s = &mut *self.scratch;
        if s.prefix.is_empty() {
            return self.paths.get(key);
        }
        s.full.clear();
        s.full.extend_from_slice(&s.prefix);
        s.full.push(b'.');
        s.full.extend_from_slice(key);
        self.paths.get(&s.full)
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
        if !self.entry(line, key).is_some_and(|e| e.prefix) {
            return false;
        }
        let s = &mut *self.scratch;
        s.stack.push(s.prefix.len());
        if !s.prefix.is_empty() {
            s.prefix.push(b'.');
        }
        s.prefix.extend_from_slice(key.of(line));
        true
    }

    #[inline]
    fn leave(&mut self) {
        let s = &mut *self.scratch;
        let len = s.stack.pop().unwrap_or(0);
        s.prefix.truncate(len);
    }

    #[inline]
    fn member(&mut self, line: &[u8], member: &Member) {
        if member.key_escaped {
            return;
        }
        if let Some(entry) = self.entry(line, member.key)
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
    fn flat_paths_never_descend() {
        let p = Paths::new(["a", "b"], ["c"]);
        assert!(!p.nested);
        assert_eq!(fields(&p, r#"{"x":{"a":"no"},"a":"yes"}"#).len(), 1);
    }
}
