//! The per-entry text of a snapshot, compactly: what is left of the id once
//! the prefix its feed shares is taken out (held once, in the entry's
//! metadata), and the description when no other indicator shares it.
//!
//! Feeds name indicators `namespace:indicator-<suffix>`; the part up to the
//! first `-` after the last `:` repeats in every id of a feed. A suffix that
//! starts with a lowercase UUID keeps it as its 16 bytes. An entry's text is
//! `header, body, description`, where the header (LEB128) holds the body's
//! length and two flags; the body is the UUID's bytes (if packed) and the
//! rest of the suffix. The encoding is deterministic, so two ids with the
//! same prefix are equal exactly when their bodies are.

use std::fmt;

const UUID: u64 = 1;
const DESCRIPTION: u64 = 2;

/// `(prefix, suffix)` of an id: the prefix ends at the first `-` after the
/// last `:` (or at that `:`, or is empty).
pub(super) fn split_id(id: &str) -> (&str, &str) {
    let name = id.rfind(':').map_or(0, |i| i + 1);
    match id[name..].find('-') {
        Some(dash) => id.split_at(name + dash + 1),
        None => id.split_at(name),
    }
}

/// Appends an entry's text for the id suffix `suffix` and, when the entry
/// holds it itself, its description.
pub(super) fn push(out: &mut Vec<u8>, suffix: &str, description: Option<&str>) {
    let uuid = parse_uuid(suffix);
    let rest = if uuid.is_some() {
        &suffix[36..]
    } else {
        suffix
    };
    let body = rest.len() + if uuid.is_some() { 16 } else { 0 };
    let mut header = (body as u64) << 2;
    if uuid.is_some() {
        header |= UUID;
    }
    if description.is_some() {
        header |= DESCRIPTION;
    }
    push_varint(out, header);
    if let Some(uuid) = uuid {
        out.extend_from_slice(&uuid);
    }
    out.extend_from_slice(rest.as_bytes());
    if let Some(d) = description {
        out.extend_from_slice(d.as_bytes());
    }
}

/// The encoded body of a suffix (what [`Text::body`] holds for it), into `out`.
pub(super) fn body_of(suffix: &str, out: &mut Vec<u8>) {
    out.clear();
    match parse_uuid(suffix) {
        Some(uuid) => {
            out.extend_from_slice(&uuid);
            out.extend_from_slice(&suffix.as_bytes()[36..]);
        }
        None => out.extend_from_slice(suffix.as_bytes()),
    }
}

/// An entry's text, decoded.
#[derive(Clone, Copy)]
pub(super) struct Text<'a> {
    /// The id's encoded body (UUID bytes and the rest), for comparing ids.
    pub body: &'a [u8],
    pub uuid: Option<&'a [u8; 16]>,
    pub rest: &'a str,
    pub description: Option<&'a str>,
}

pub(super) fn read(bytes: &[u8]) -> Text<'_> {
    let (header, used) = read_varint(bytes);
    let body_len = (header >> 2) as usize;
    let body = &bytes[used..used + body_len];
    let (uuid, rest) = if header & UUID != 0 {
        let (uuid, rest) = body.split_at(16);
        (uuid.try_into().ok(), rest)
    } else {
        (None, body)
    };
    let description = (header & DESCRIPTION != 0).then(|| utf8(&bytes[used + body_len..]));
    Text {
        body,
        uuid,
        rest: utf8(rest),
        description,
    }
}

/// Only whole `&str`s are written, so this never fails; were it to, the
/// text would read as empty rather than panic a lookup.
pub(super) fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// A canonical lowercase UUID at the start of `s`, as bytes.
fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    /// Where each byte's two hex digits are.
    const DIGITS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let b = s.as_bytes().get(..36)?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let mut out = [0u8; 16];
    // Non-digits have the high bit set: one test at the end.
    let mut bad = 0u8;
    for (o, &at) in out.iter_mut().zip(&DIGITS) {
        let (hi, lo) = (HEX[usize::from(b[at])], HEX[usize::from(b[at + 1])]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0x0f);
    }
    (bad & 0x80 == 0).then_some(out)
}

/// Value of each lowercase hex digit; 0x80 for every other byte.
const HEX: [u8; 256] = {
    let mut table = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

pub(super) fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// `(value, bytes used)`.
pub(super) fn read_varint(bytes: &[u8]) -> (u64, usize) {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    (v, bytes.len().min(10))
}

/// An indicator's id as a snapshot holds it (prefix, UUID, rest); displays
/// as the original text.
#[derive(Clone, Copy)]
pub struct Id<'a> {
    pub(super) prefix: &'a str,
    pub(super) uuid: Option<&'a [u8; 16]>,
    pub(super) rest: &'a str,
}

impl fmt::Display for Id<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix)?;
        if let Some(u) = self.uuid {
            for (i, b) in u.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    f.write_str("-")?;
                }
                write!(f, "{b:02x}")?;
            }
        }
        f.write_str(self.rest)
    }
}

impl fmt::Debug for Id<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl PartialEq<str> for Id<'_> {
    fn eq(&self, other: &str) -> bool {
        let Some(suffix) = other.strip_prefix(self.prefix) else {
            return false;
        };
        match self.uuid {
            Some(u) => parse_uuid(suffix).is_some_and(|p| p == *u) && &suffix[36..] == self.rest,
            None => suffix == self.rest,
        }
    }
}

impl PartialEq<&str> for Id<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(id: &str, description: Option<&str>) {
        let (prefix, suffix) = split_id(id);
        let mut buf = vec![7];
        push(&mut buf, suffix, description);
        let t = read(&buf[1..]);
        let back = Id {
            prefix,
            uuid: t.uuid,
            rest: t.rest,
        };
        assert_eq!(back.to_string(), id);
        assert!(back == id, "{id}");
        assert_eq!(t.description, description);
        let mut body = Vec::new();
        body_of(suffix, &mut body);
        assert_eq!(t.body, body.as_slice());
    }

    #[test]
    fn only_canonical_uuids_are_packed() {
        let uuid = "e4eac98f-b172-5b10-9d0d-e81dafd5aad6";
        assert_eq!(
            parse_uuid(uuid),
            Some([
                0xe4, 0xea, 0xc9, 0x8f, 0xb1, 0x72, 0x5b, 0x10, 0x9d, 0x0d, 0xe8, 0x1d, 0xaf, 0xd5,
                0xaa, 0xd6
            ])
        );
        assert!(parse_uuid(&format!("{uuid}#2")).is_some());
        for bad in [
            "E4EAC98F-B172-5B10-9D0D-E81DAFD5AAD6",
            "e4eac98f-b172-5b10-9d0d-e81dafd5aad",
            "e4eac98fb172-5b10-9d0d-e81dafd5aad6-",
            "e4eac98f-b172-5b10-9d0d-e81dafd5aadg",
            "g4eac98f-b172-5b10-9d0d-e81dafd5aad6",
            "e4eac98f-b172-5b10-9d0d_e81dafd5aad6",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_and_descriptions_round_trip() {
        round_trip(
            "example:indicator-e4eac98f-b172-5b10-9d0d-e81dafd5aad6",
            None,
        );
        round_trip(
            "example:indicator-3d090ead-23ff-5813-ba67-19f2353ac400#2",
            Some("Malware MD5+SHA256"),
        );
        // Not packed: uppercase, short, malformed.
        round_trip(
            "example:indicator-E4EAC98F-B172-5B10-9D0D-E81DAFD5AAD6",
            Some(""),
        );
        round_trip("example:indicator-e4eac98f-b172-5b10-9d0d", None);
        round_trip("ind-1", Some("x".repeat(300).as_str()));
        round_trip("plain", None);
        round_trip("a:b:c", None);
        round_trip("", None);
        round_trip(&"long-".repeat(100), Some("ü"));
        assert_eq!(
            split_id("example:indicator-00000001"),
            ("example:indicator-", "00000001")
        );
        assert_eq!(split_id("ns:abc"), ("ns:", "abc"));
        assert_eq!(split_id("ind-7"), ("ind-", "7"));
    }

    #[test]
    fn ids_compare_by_text() {
        let (prefix, suffix) = split_id("x:indicator-e4eac98f-b172-5b10-9d0d-e81dafd5aad6");
        let mut buf = Vec::new();
        push(&mut buf, suffix, None);
        let t = read(&buf);
        let id = Id {
            prefix,
            uuid: t.uuid,
            rest: t.rest,
        };
        assert!(id != "x:indicator-e4eac98f-b172-5b10-9d0d-e81dafd5aad7");
        assert!(id != "y:indicator-e4eac98f-b172-5b10-9d0d-e81dafd5aad6");
        assert!(id != "x:indicator-e4eac98f-b172-5b10-9d0d-e81dafd5aad6#1");
    }
}
