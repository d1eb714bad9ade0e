//! Splicing new members and array elements into a record without
//! re-serialising it: every byte a module does not change is copied as it was.

use crate::scan::{self, Span, ValueKind};

/// Insertions and replacements in one record, written out in position order.
#[derive(Default, Debug)]
pub struct Edits {
    /// (position, bytes to insert, bytes of the original to skip there);
    /// edits at one position keep the order they were made in.
    edits: Vec<(usize, Vec<u8>, usize)>,
}

impl Edits {
    pub fn insert(&mut self, at: usize, bytes: Vec<u8>) {
        self.edits.push((at, bytes, 0));
    }

    pub fn replace(&mut self, span: Span, bytes: Vec<u8>) {
        self.edits.push((span.start, bytes, span.end - span.start));
    }

    /// Add `elements` (JSON values, comma-separated) to the member whose
    /// value is `value`. An array is extended; `null` becomes the array; any
    /// other value is kept as the first element of the array it becomes.
    pub fn extend_array(&mut self, line: &[u8], value: Span, kind: ValueKind, elements: &[u8]) {
        match kind {
            ValueKind::Array => {
                let mut bytes = Vec::with_capacity(elements.len() + 1);
                if scan::has_items(line, value) {
                    bytes.push(b',');
                }
                bytes.extend_from_slice(elements);
                self.insert(value.end - 1, bytes);
            }
            _ if value.of(line) == b"null" => {
                let mut bytes = Vec::with_capacity(elements.len() + 2);
                bytes.push(b'[');
                bytes.extend_from_slice(elements);
                bytes.push(b']');
                self.replace(value, bytes);
            }
            _ => {
                let mut bytes = Vec::with_capacity(value.end - value.start + elements.len() + 3);
                bytes.push(b'[');
                bytes.extend_from_slice(value.of(line));
                bytes.push(b',');
                bytes.extend_from_slice(elements);
                bytes.push(b']');
                self.replace(value, bytes);
            }
        }
    }

    /// Add the member `"key":value` before the closing brace at `close`;
    /// `comma` when the object has members before it.
    pub fn add_member(&mut self, close: usize, comma: bool, key: &str, value: &[u8]) {
        let mut bytes = Vec::with_capacity(key.len() + value.len() + 4);
        if comma {
            bytes.push(b',');
        }
        scan::write_json_string(&mut bytes, key);
        bytes.push(b':');
        bytes.extend_from_slice(value);
        self.insert(close, bytes);
    }

    /// Write `line[record]` with the edits applied.
    pub fn write(mut self, out: &mut Vec<u8>, line: &[u8], record: Span) {
        self.edits.sort_by_key(|e| e.0);
        let mut from = record.start;
        for (at, bytes, skip) in self.edits {
            out.extend_from_slice(&line[from..at]);
            out.extend_from_slice(&bytes);
            from = at + skip;
        }
        out.extend_from_slice(&line[from..record.end]);
    }
}

/// Append `values` to `out` as JSON strings, comma-separated.
pub fn write_strings<'a>(out: &mut Vec<u8>, values: impl IntoIterator<Item = &'a str>) {
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        scan::write_json_string(out, value);
    }
}

/// Writes one JSON object's members, commas included.
pub struct ObjectWriter<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> ObjectWriter<'o> {
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter { out, first: true }
    }

    /// The key, and the colon; the caller writes the value.
    pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        scan::write_json_string(self.out, key);
        self.out.push(b':');
        self.out
    }

    pub fn string(&mut self, key: &str, value: &str) {
        let out = self.key(key);
        scan::write_json_string(out, value);
    }

    pub fn opt_string(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.string(key, value);
        }
    }

    pub fn number(&mut self, key: &str, value: u64) {
        let out = self.key(key);
        out.extend_from_slice(value.to_string().as_bytes());
    }

    /// A nested object, written by `members`.
    pub fn object(&mut self, key: &str, members: impl FnOnce(&mut ObjectWriter<'_>)) {
        let out = self.key(key);
        let mut inner = ObjectWriter::new(out);
        members(&mut inner);
        inner.end();
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(line: &str, edit: impl FnOnce(&mut Edits, &[u8])) -> String {
        let mut edits = Edits::default();
        edit(&mut edits, line.as_bytes());
        let mut out = Vec::new();
        edits.write(
            &mut out,
            line.as_bytes(),
            Span {
                start: 0,
                end: line.len(),
            },
        );
        String::from_utf8(out).unwrap()
    }

    fn value_of(line: &str, key: &str) -> (Span, ValueKind) {
        let mut got = None;
        crate::scan::scan_object(line.as_bytes(), |m| {
            if m.key.of(line.as_bytes()) == key.as_bytes() {
                got = Some((m.value, m.kind));
            }
        })
        .unwrap();
        got.unwrap()
    }

    #[test]
    fn arrays_are_extended_null_replaced_scalars_wrapped() {
        for (line, want) in [
            (r#"{"a":[1]}"#, r#"{"a":[1,"x"]}"#),
            (r#"{"a":[ ]}"#, r#"{"a":[ "x"]}"#),
            (r#"{"a":null}"#, r#"{"a":["x"]}"#),
            (r#"{"a":"s"}"#, r#"{"a":["s","x"]}"#),
            (r#"{"a":{"k":1}}"#, r#"{"a":[{"k":1},"x"]}"#),
        ] {
            let (span, kind) = value_of(line, "a");
            assert_eq!(
                apply(line, |e, l| e.extend_array(l, span, kind, br#""x""#)),
                want
            );
        }
    }

    #[test]
    fn members_are_added_in_order() {
        let got = apply(r#"{"a":1}"#, |e, _| {
            e.add_member(6, true, "b", b"2");
            e.add_member(6, true, "c\"", b"[]");
            e.insert(1, b"\"z\":0,".to_vec());
        });
        assert_eq!(got, r#"{"z":0,"a":1,"b":2,"c\"":[]}"#);
        assert_eq!(
            apply("{}", |e, _| e.add_member(1, false, "b", b"2")),
            r#"{"b":2}"#
        );
    }

    #[test]
    fn object_writer() {
        let mut out = Vec::new();
        let mut w = ObjectWriter::new(&mut out);
        w.string("a", "q\"");
        w.opt_string("skip", None);
        w.object("o", |w| {
            w.number("n", 7);
            w.object("e", |_| {});
        });
        w.end();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":"q\"","o":{"n":7,"e":{}}}"#
        );
    }
}
