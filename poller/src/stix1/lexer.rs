//! The XML tokenizer under the STIX parser: finds where tags, text,
//! references, CDATA, comments and processing instructions begin and end in
//! a document already checked to be UTF-8 (once, up front), and checks that
//! end tags match start tags. Tags come out as quick-xml's `BytesStart`, so
//! attributes and text are decoded by quick-xml exactly as before; what this
//! saves is quick-xml's per-event UTF-8 checks and general-purpose state
//! machine, most of a package's parse time.
//!
//! Leniency follows quick-xml's defaults: a `&` without a `;` before the
//! next `<` or `&` is text, comments may hold `--`, names are not checked
//! beyond ending at white space.

use memchr::{memchr, memchr2, memchr3, memmem};
use quick_xml::events::BytesStart;

pub(super) enum Token<'a> {
    Start(BytesStart<'a>),
    Empty(BytesStart<'a>),
    End,
    /// Character data as written: no references, line ends not normalised.
    Text(&'a str),
    /// A CDATA section's content.
    CData(&'a str),
    /// A reference `&name;`: the name.
    Ref(&'a str),
    DocType,
    /// A comment, processing instruction or XML declaration.
    Skipped,
    Eof,
}

#[derive(Debug)]
pub(super) struct LexError {
    pub position: u64,
    pub message: String,
}

pub(super) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// Where the input stops being UTF-8: the lexer reads up to there, then
    /// reports it.
    bad_utf8: Option<usize>,
    /// Byte offset in the caller's input of `src[0]` (a BOM is skipped).
    base: usize,
    /// Open elements' names, as ranges of `src`.
    open: Vec<(usize, usize)>,
    /// Whether the attribute text of the last start tag holds `xmlns`.
    xmlns: bool,
}

// Tags and attribute values are short, so they are scanned eight bytes at a
// time in place of calling a searcher: in each word, the lowest byte flagged
// by these tests is the first match (higher flags may be false positives, so
// only the lowest is used).
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in the bytes of `w` that are zero (lowest one exact).
const fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGHS
}

/// High bit set in the bytes of `w` that are `c` (lowest one exact).
const fn bytes_equal(w: u64, c: u8) -> u64 {
    zero_bytes(w ^ (ONES * c as u64))
}

fn word(bytes: &[u8], i: usize) -> Option<u64> {
    let chunk = bytes.get(i..i + 8)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    Some(u64::from_le_bytes(w))
}

/// Flags of `flags` in the bytes below the lowest flag of `stop` (all of
/// them when `stop` has none).
const fn below_first(flags: u64, stop: u64) -> u64 {
    if stop == 0 {
        flags
    } else {
        flags & ((stop & stop.wrapping_neg()) - 1)
    }
}

/// High bit set in the bytes of `w` below `limit` (lowest one exact for
/// ASCII; non-ASCII bytes are never flagged).
const fn bytes_below(w: u64, limit: u8) -> u64 {
    w.wrapping_sub(ONES * limit as u64) & !w & HIGHS
}

/// Whether `xmlns` starts at one of the bytes flagged in `flags`, a word
/// read at `i` (flags may be false positives: each is checked).
fn xmlns_at(bytes: &[u8], i: usize, mut flags: u64) -> bool {
    while flags != 0 {
        let at = i + (flags.trailing_zeros() / 8) as usize;
        if bytes[at..].starts_with(b"xmlns") {
            return true;
        }
        flags &= flags - 1;
    }
    false
}

/// The first index from `i` on that holds `>`, `"` or `'` (or where fewer
/// than eight bytes are left). Sets `xmlns` if `xmlns` starts before it.
fn skip_plain(bytes: &[u8], mut i: usize, xmlns: &mut bool) -> usize {
    while let Some(w) = word(bytes, i) {
        let hits = bytes_equal(w, b'>') | bytes_equal(w, b'"') | bytes_equal(w, b'\'');
        let xs = below_first(bytes_equal(w, b'x'), hits);
        if xs != 0 && xmlns_at(bytes, i, xs) {
            *xmlns = true;
        }
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// The index of the first `quote` from `i` on. Sets `xmlns` if `xmlns`
/// starts before it.
fn find_quote(bytes: &[u8], mut i: usize, quote: u8, xmlns: &mut bool) -> Option<usize> {
    while let Some(w) = word(bytes, i) {
        let hits = bytes_equal(w, quote);
        let xs = below_first(bytes_equal(w, b'x'), hits);
        if xs != 0 && xmlns_at(bytes, i, xs) {
            *xmlns = true;
        }
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == quote {
            return Some(i);
        }
        if b == b'x' && bytes[i..].starts_with(b"xmlns") {
            *xmlns = true;
        }
        i += 1;
    }
    None
}

/// Where a tag name starting at `i` may end: the first index from `i` on
/// whose byte is a control character, a space or `>` (or where fewer than
/// eight bytes are left). Non-ASCII bytes may stop it early: callers finish
/// byte by byte.
fn name_end(bytes: &[u8], mut i: usize) -> usize {
    while let Some(w) = word(bytes, i) {
        // Bytes below 0x21 (exact for ASCII), and `>`.
        let hits = (w.wrapping_sub(ONES * 0x21) & !w & HIGHS) | bytes_equal(w, b'>');
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// `a == b` for names of equal length, a word at a time (the last word
/// may overlap the one before).
fn same_name(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The first index from `i` on that is not white space. Between elements
/// that is mostly a line break and some indentation.
fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && matches!(bytes[i], b'\r' | b'\n') {
        i += 1;
    }
    while let Some(chunk) = bytes.get(i..i + 8)
        && chunk == b"        "
    {
        i += 8;
    }
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    i
}

impl<'a> Lexer<'a> {
    /// Tokenises `xml`, which is UTF-8 up to `bad_utf8` (if given).
    pub(super) fn new(xml: &'a [u8]) -> Self {
        let (src, bad_utf8) = match std::str::from_utf8(xml) {
            Ok(s) => (s, None),
            Err(e) => (
                std::str::from_utf8(&xml[..e.valid_up_to()]).unwrap_or_default(),
                Some(e.valid_up_to()),
            ),
        };
        let (src, base) = match src.strip_prefix('\u{feff}') {
            Some(rest) => (rest, 3),
            None => (src, 0),
        };
        Lexer {
            src,
            pos: 0,
            bad_utf8,
            base,
            open: Vec::with_capacity(32),
            xmlns: false,
        }
    }

    /// The document (its UTF-8 part).
    pub(super) fn text(&self) -> &'a str {
        self.src
    }

    pub(super) fn is_utf8(&self) -> bool {
        self.bad_utf8.is_none()
    }

    /// Whether the attribute text of the last start (or empty-element) tag
    /// holds `xmlns` anywhere: only then may it declare a namespace.
    pub(super) fn mentions_xmlns(&self) -> bool {
        self.xmlns
    }

    /// Offset in the input just after the last token.
    pub(super) fn position(&self) -> u64 {
        (self.base + self.pos) as u64
    }

    fn error(&self, at: usize, message: String) -> LexError {
        LexError {
            position: (self.base + at) as u64,
            message,
        }
    }

    /// The input ended inside markup: truncated, or not UTF-8 from there on.
    fn eof(&self, start: usize, what: &str) -> LexError {
        match self.bad_utf8 {
            Some(at) => LexError {
                position: at as u64,
                message: "invalid UTF-8".to_owned(),
            },
            None => self.error(start, format!("unexpected end of document in {what}")),
        }
    }

    /// Like [`next`](Self::next), for a reader that ignores the text here:
    /// white space before markup is passed over instead of coming out as a
    /// text token.
    pub(super) fn next_ignoring_space(&mut self) -> Result<Token<'a>, LexError> {
        let bytes = self.src.as_bytes();
        let i = skip_space(bytes, self.pos);
        if bytes.get(i) == Some(&b'<') {
            self.pos = i;
            return self.markup(i);
        }
        self.next()
    }

    pub(super) fn next(&mut self) -> Result<Token<'a>, LexError> {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let Some(&first) = bytes.get(start) else {
            return match self.bad_utf8 {
                Some(_) => Err(self.eof(start, "text")),
                None => Ok(Token::Eof),
            };
        };
        match first {
            b'<' => self.markup(start),
            b'&' => Ok(self.reference(start)),
            _ => {
                // Between elements text is mostly a line break and some
                // indentation: skip that before calling a searcher.
                let i = skip_space(bytes, start);
                let end = match bytes.get(i) {
                    None | Some(b'<' | b'&') => i,
                    Some(_) => memchr2(b'<', b'&', &bytes[i..]).map_or(bytes.len(), |j| i + j),
                };
                self.pos = end;
                Ok(Token::Text(&self.src[start..end]))
            }
        }
    }

    fn reference(&mut self, start: usize) -> Token<'a> {
        let bytes = self.src.as_bytes();
        match memchr3(b';', b'&', b'<', &bytes[start + 1..]) {
            Some(i) if bytes[start + 1 + i] == b';' => {
                self.pos = start + 2 + i;
                Token::Ref(&self.src[start + 1..start + 1 + i])
            }
            // A lone `&` is text, up to the next `&` or markup.
            found => {
                let end = found.map_or(bytes.len(), |i| start + 1 + i);
                self.pos = end;
                Token::Text(&self.src[start..end])
            }
        }
    }

    fn markup(&mut self, start: usize) -> Result<Token<'a>, LexError> {
        let bytes = self.src.as_bytes();
        let rest = &bytes[start..];
        match rest.get(1) {
            Some(b'/') => self.end_tag(start),
            Some(b'!') => {
                if rest.starts_with(b"<!--") {
                    let end = memmem::find(&rest[4..], b"-->")
                        .ok_or_else(|| self.eof(start, "a comment"))?;
                    self.pos = start + 4 + end + 3;
                    Ok(Token::Skipped)
                } else if rest.starts_with(b"<![CDATA[") {
                    let end = memmem::find(&rest[9..], b"]]>")
                        .ok_or_else(|| self.eof(start, "a CDATA section"))?;
                    self.pos = start + 9 + end + 3;
                    Ok(Token::CData(&self.src[start + 9..start + 9 + end]))
                } else if rest.len() >= 9 && rest[2..9].eq_ignore_ascii_case(b"DOCTYPE") {
                    Ok(Token::DocType)
                } else if rest.len() < 9 && self.bad_utf8.is_some() {
                    Err(self.eof(start, "markup"))
                } else {
                    Err(self.error(start, "unknown `<!` markup".to_owned()))
                }
            }
            Some(b'?') => {
                let end = memmem::find(&rest[2..], b"?>")
                    .ok_or_else(|| self.eof(start, "a processing instruction"))?;
                self.pos = start + 2 + end + 2;
                Ok(Token::Skipped)
            }
            Some(_) => self.start_tag(start),
            None => Err(self.eof(start, "a tag")),
        }
    }

    fn end_tag(&mut self, start: usize) -> Result<Token<'a>, LexError> {
        let bytes = self.src.as_bytes();
        // Usually exactly the open element's name and `>`.
        if let Some(&(from, to)) = self.open.last() {
            let end = start + 2 + (to - from);
            if bytes.get(end) == Some(&b'>') && same_name(&bytes[start + 2..end], &bytes[from..to])
            {
                self.open.pop();
                self.pos = end + 1;
                return Ok(Token::End);
            }
        }
        let gt = memchr(b'>', &bytes[start + 2..])
            .map(|i| start + 2 + i)
            .ok_or_else(|| self.eof(start, "an end tag"))?;
        let name = self.src[start + 2..gt].trim_end_matches(|c: char| is_space(c as u8));
        let Some((from, to)) = self.open.pop() else {
            return Err(self.error(start, format!("end tag `</{name}>` without a start tag")));
        };
        let expected = &self.src[from..to];
        if name != expected {
            return Err(self.error(
                start,
                format!("expected `</{expected}>`, found `</{name}>`"),
            ));
        }
        self.pos = gt + 1;
        Ok(Token::End)
    }

    fn start_tag(&mut self, start: usize) -> Result<Token<'a>, LexError> {
        let bytes = self.src.as_bytes();
        // The name, then the closing `>`, skipping quoted attribute values.
        // Tags are short: plain loops beat searchers here.
        let mut i = name_end(bytes, start + 1);
        while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n' | b'>') {
            i += 1;
        }
        let name_end = i;
        // While looking for the end, note whether `xmlns` occurs in the
        // attribute text (which starts at `name_end`).
        let mut xmlns = false;
        let gt = loop {
            i = skip_plain(bytes, i, &mut xmlns);
            match bytes.get(i) {
                None => return Err(self.eof(start, "a tag")),
                Some(b'>') => break i,
                Some(&quote @ (b'"' | b'\'')) => {
                    i = find_quote(bytes, i + 1, quote, &mut xmlns)
                        .map(|j| j + 1)
                        .ok_or_else(|| self.eof(start, "an attribute value"))?;
                }
                Some(&b) => {
                    if b == b'x' && bytes[i..].starts_with(b"xmlns") {
                        xmlns = true;
                    }
                    i += 1;
                }
            }
        };
        self.xmlns = xmlns;
        self.pos = gt + 1;
        let mut content = &self.src[start + 1..gt];
        let empty = content.ends_with('/');
        if empty {
            content = &content[..content.len() - 1];
        }
        // `<a/>`: the name ends before the `/`.
        let name_len = (name_end - start - 1).min(content.len());
        let tag = BytesStart::from_content(content, name_len);
        if empty {
            Ok(Token::Empty(tag))
        } else {
            self.open.push((start + 1, start + 1 + name_len));
            Ok(Token::Start(tag))
        }
    }
}

/// The attributes in a tag's attribute text, as `(name, raw value)`: the
/// value is neither unescaped nor normalised. Duplicates are not checked
/// (as with quick-xml's `with_checks(false)`).
pub(super) fn attributes(raw: &str) -> Attributes<'_> {
    Attributes {
        raw,
        pos: 0,
        special: false,
    }
}

pub(super) struct Attributes<'a> {
    raw: &'a str,
    pos: usize,
    special: bool,
}

impl Attributes<'_> {
    /// Whether the value last returned may hold `&` or a control character
    /// (tab and line ends among them): only such a value may need
    /// unescaping or normalising. Never `false` when it does.
    pub(super) fn special(&self) -> bool {
        self.special
    }
}

/// The first index from `i` on that holds `=` or a byte below `!` (or
/// where fewer than eight bytes are left).
fn key_stop(bytes: &[u8], mut i: usize) -> usize {
    while let Some(w) = word(bytes, i) {
        let hits = bytes_equal(w, b'=') | bytes_below(w, b'!');
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// The index of the first `quote` from `i` on, and whether `&` or a control
/// character may come before it (it does if so; `true` may also mean one
/// in the seven bytes after the quote).
fn value_end(bytes: &[u8], mut i: usize, quote: u8) -> Option<(usize, bool)> {
    let mut special = false;
    while let Some(w) = word(bytes, i) {
        let hits = bytes_equal(w, quote);
        special |= (bytes_equal(w, b'&') | bytes_below(w, b' ')) != 0;
        if hits != 0 {
            return Some((i + (hits.trailing_zeros() / 8) as usize, special));
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == quote {
            return Some((i, special));
        }
        special |= b == b'&' || b < b' ';
        i += 1;
    }
    None
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<(&'a str, &'a str), String>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.raw.as_bytes();
        let skip_space = |mut i: usize| {
            while i < bytes.len() && is_space(bytes[i]) {
                i += 1;
            }
            i
        };
        let mut i = skip_space(self.pos);
        if i == bytes.len() {
            self.pos = i;
            return None;
        }
        // Whatever happens next, an error ends the iteration.
        self.pos = bytes.len();
        let key_start = i;
        // The key ends at `=` or white space; `key_stop` may stop early, at
        // another control character.
        loop {
            i = key_stop(bytes, i);
            match bytes.get(i) {
                Some(&b) if b != b'=' && !is_space(b) => i += 1,
                _ => break,
            }
        }
        let key = &self.raw[key_start..i];
        i = skip_space(i);
        if bytes.get(i) != Some(&b'=') {
            return Some(Err(format!("attribute `{key}` has no value")));
        }
        i = skip_space(i + 1);
        let quote = match bytes.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Some(Err(format!("the value of attribute `{key}` is not quoted"))),
        };
        let Some((end, special)) = value_end(bytes, i + 1, quote) else {
            return Some(Err(format!("the value of attribute `{key}` is not closed")));
        };
        self.special = special;
        self.pos = end + 1;
        Some(Ok((key, &self.raw[i + 1..end])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(xml: &str) -> Result<Vec<String>, LexError> {
        let mut lexer = Lexer::new(xml.as_bytes());
        let mut out = Vec::new();
        loop {
            let t = lexer.next()?;
            out.push(match t {
                Token::Start(e) => format!("<{}|{}>", e.name().0, e.attributes_raw()),
                Token::Empty(e) => format!("<{}|{}/>", e.name().0, e.attributes_raw()),
                Token::End => "</>".to_owned(),
                Token::Text(t) => format!("T{t}"),
                Token::CData(t) => format!("C{t}"),
                Token::Ref(r) => format!("&{r};"),
                Token::DocType => {
                    out.push("DOCTYPE".to_owned());
                    return Ok(out);
                }
                Token::Skipped => "-".to_owned(),
                Token::Eof => return Ok(out),
            });
        }
    }

    #[test]
    fn tokens_of_a_document() {
        let xml = "\u{feff}<?xml version=\"1.0\"?><!-- c -- c --><a:b x=\"1>2\" y='\"'>t &amp; &x &#65;<c/><![CDATA[<&>]]></a:b >";
        assert_eq!(
            tokens(xml).unwrap(),
            [
                "-",
                "-",
                "<a:b| x=\"1>2\" y='\"'>",
                "Tt ",
                "&amp;",
                "T ",
                "T&x ",
                "&#65;",
                "<c|/>",
                "C<&>",
                "</>"
            ]
        );
        assert_eq!(tokens("<!doctype x><a/>").unwrap(), ["DOCTYPE"]);
    }

    #[test]
    fn attribute_lists() {
        let all = |raw| attributes(raw).collect::<Result<Vec<_>, _>>();
        assert_eq!(
            all(" a=\"1\"  b = '2>\"' c=\"\"\td='x'").unwrap(),
            [("a", "1"), ("b", "2>\""), ("c", ""), ("d", "x")]
        );
        assert_eq!(all("").unwrap(), []);
        for bad in [" a", " a=1", " a=\"1", " a=\"1\" b"] {
            assert!(all(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn xmlns_mentions_found_while_scanning() {
        // Whatever the alignment, in names, values or between them, as the
        // whole-text search finds them.
        let mut attrs = vec![
            String::new(),
            " xmlns=\"u\"".to_owned(),
            " xmlns:p='u'".to_owned(),
            " a=\"xmlns\"".to_owned(),
            " a=\"x\" b=\"mlns\"".to_owned(),
            " xsi:type=\"x:xmln\" xmlnsx=\"\"".to_owned(),
            " a=\"xxxxxxxxmlns\"".to_owned(),
            " xmln=\"s\"".to_owned(),
        ];
        for pad in 0..12 {
            attrs.push(format!(" {}=\"v\" xmlns:q=\"u\"", "x".repeat(pad + 1)));
            attrs.push(format!(" a=\"{}xmlns\"", "y".repeat(pad)));
            attrs.push(format!(" a=\"{}xmln\"", "x".repeat(pad)));
        }
        for name in ["a", "xmlns", "abcdefghijklmnop"] {
            for attr in &attrs {
                for tail in ["", "/"] {
                    for after in ["", "xmlns", " "] {
                        let xml = format!("<{name}{attr}{tail}>{after}");
                        let mut lexer = Lexer::new(xml.as_bytes());
                        let Ok(Token::Start(e) | Token::Empty(e)) = lexer.next() else {
                            panic!("{xml}");
                        };
                        let expected = crate::stix1::names::mentions_xmlns(e.attributes_raw());
                        assert_eq!(lexer.mentions_xmlns(), expected, "{xml}");
                    }
                }
            }
        }
    }

    #[test]
    fn attribute_values_that_may_need_decoding() {
        for (raw, special) in [
            (" a=\"plain value here\" b='x'", [false, false]),
            (" a=\"1 &amp; 2\" b='x'", [true, false]),
            (" a=\"x\" b='tab\there'", [false, true]),
            (
                " a=\"a long value, longer than a word\n\" b='x'",
                [true, false],
            ),
            (" a=\"\r\" b='0123456789&'", [true, true]),
        ] {
            let mut attrs = attributes(raw);
            for expect in special {
                attrs.next().expect("attribute").expect("well-formed");
                assert_eq!(attrs.special(), expect, "{raw}");
            }
        }
    }

    #[test]
    fn malformed_documents() {
        for bad in [
            "<a></b>",
            "</a>",
            "<a",
            "<a x=\"1>",
            "<!-- x",
            "<![CDATA[ x",
            "<?pi",
            "<!foo>",
            "<a></a",
        ] {
            assert!(tokens(bad).is_err(), "{bad}");
        }
        let mut lexer = Lexer::new(b"<a>ok</a><b>\xff</b>");
        let err = loop {
            match lexer.next() {
                Ok(Token::Eof) => panic!("no error"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!((err.position, err.message.as_str()), (12, "invalid UTF-8"));
    }
}
