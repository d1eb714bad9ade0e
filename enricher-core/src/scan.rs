//! A single-pass scanner over the top level of one JSON object.
//!
//! The enricher never builds a DOM: it walks the record once, remembers the
//! byte spans of the few members it cares about, and skips everything else.
//! Anything that is not one well-formed JSON object is reported as such, so
//! the record is never half-tagged.

/// A byte range in the scanned line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    #[inline]
    pub fn of<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        &line[self.start..self.end]
    }
}

/// One member of the top-level object.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    /// The key, between its quotes, still escaped.
    pub key: Span,
    /// The whole value, quotes and brackets included.
    pub value: Span,
    pub kind: ValueKind,
    /// Whether a string key or value contains a backslash escape.
    pub key_escaped: bool,
    pub value_escaped: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    String,
    Array,
    Object,
    Other,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ScanError {
    NotAnObject,
    Malformed(usize),
}

impl core::fmt::Display for ScanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ScanError::NotAnObject => f.write_str("not a JSON object"),
            ScanError::Malformed(at) => write!(f, "malformed JSON at byte {at}"),
        }
    }
}

/// The result of scanning one record.
#[derive(Debug, Clone, Copy)]
pub struct Object {
    /// Position of the closing brace.
    pub close: usize,
    /// Position of the `\n` ending the record, or the end of the input.
    pub end: usize,
    pub empty: bool,
}

/// What a scan reports to, member by member.
pub trait Visitor {
    /// Whether to visit the members inside the value of the member whose key
    /// is `key`: an object's members, or those of every object in an array.
    /// Called before the value is scanned; a `true` is followed by
    /// [`leave`](Self::leave) once the value is done.
    #[inline]
    fn enter(&mut self, _line: &[u8], _key: Span, _key_escaped: bool, _kind: ValueKind) -> bool {
        false
    }

    /// The value [`enter`](Self::enter) opened is done.
    #[inline]
    fn leave(&mut self) {}

    /// A member of an object being visited, once its value is scanned.
    fn member(&mut self, line: &[u8], member: &Member);
}

/// A [`Visitor`] that sees the top-level members only.
pub struct TopLevel<F>(pub F);

impl<F: FnMut(&Member)> Visitor for TopLevel<F> {
    #[inline]
    fn member(&mut self, _line: &[u8], member: &Member) {
        (self.0)(member)
    }
}

/// How deep [`Visitor::enter`] may lead; deeper values are skipped whole.
pub const MAX_DEPTH: usize = 32;

/// Scan `line` (without its newline) as one JSON object, calling `visit` on
/// every top-level member. Trailing whitespace is allowed, anything else is not.
pub fn scan_object(line: &[u8], visit: impl FnMut(&Member)) -> Result<Object, ScanError> {
    let object = scan_object_at(line, 0, &mut TopLevel(visit))?;
    if object.end != line.len() {
        return Err(ScanError::Malformed(object.end));
    }
    Ok(object)
}

/// Scan the record starting at `start` of an NDJSON buffer. Spans are
/// positions in `input`. A record never contains a raw newline (JSON strings
/// cannot), so the scan stops at the record's own line end.
pub fn scan_object_at(
    input: &[u8],
    start: usize,
    visitor: &mut impl Visitor,
) -> Result<Object, ScanError> {
    let p = skip_ws(input, start);
    if input.get(p) != Some(&b'{') {
        return Err(ScanError::NotAnObject);
    }
    let (close, empty) = members(input, p, 0, visitor)?;
    finish(input, close, empty)
}

/// Scan the members of the object whose `{` is at `open`. Returns the
/// position of its `}` and whether it has no members.
fn members(
    line: &[u8],
    open: usize,
    depth: usize,
    visitor: &mut impl Visitor,
) -> Result<(usize, bool), ScanError> {
    let mut p = skip_ws(line, open + 1);
    if line.get(p) == Some(&b'}') {
        return Ok((p, true));
    }
    loop {
        if line.get(p) != Some(&b'"') {
            return Err(ScanError::Malformed(p));
        }
        let (key_end, key_escaped) = string_end(line, p + 1)?;
        let key = Span {
            start: p + 1,
            end: key_end,
        };
        p = skip_ws(line, key_end + 1);
        if line.get(p) != Some(&b':') {
            return Err(ScanError::Malformed(p));
        }
        p = skip_ws(line, p + 1);
        let start = p;
        let (kind, value_escaped);
        match line.get(p) {
            Some(b'"') => {
                let (end, escaped) = string_end(line, p + 1)?;
                p = end + 1;
                kind = ValueKind::String;
                value_escaped = escaped;
            }
            Some(&open @ (b'[' | b'{')) => {
                kind = if open == b'[' {
                    ValueKind::Array
                } else {
                    ValueKind::Object
                };
                value_escaped = false;
                if depth < MAX_DEPTH && visitor.enter(line, key, key_escaped, kind) {
                    p = if kind == ValueKind::Object {
                        members(line, p, depth + 1, visitor)?.0 + 1
                    } else {
                        elements(line, p, depth + 1, visitor)?
                    };
                    visitor.leave();
                } else {
                    p = skip_nested(line, p)?;
                }
            }
            Some(_) => {
                p = skip_scalar(line, p)?;
                kind = ValueKind::Other;
                value_escaped = false;
            }
            None => return Err(ScanError::Malformed(p)),
        }
        visitor.member(
            line,
            &Member {
                key,
                value: Span { start, end: p },
                kind,
                key_escaped,
                value_escaped,
            },
        );
        p = skip_ws(line, p);
        match line.get(p) {
            Some(b',') => p = skip_ws(line, p + 1),
            Some(b'}') => return Ok((p, false)),
            _ => return Err(ScanError::Malformed(p)),
        }
    }
}

/// Visit the members of every object in the array whose `[` is at `open`;
/// other elements are skipped. Returns the position after its `]`.
fn elements(
    line: &[u8],
    open: usize,
    depth: usize,
    visitor: &mut impl Visitor,
) -> Result<usize, ScanError> {
    let mut p = skip_ws(line, open + 1);
    if line.get(p) == Some(&b']') {
        return Ok(p + 1);
    }
    loop {
        p = match line.get(p) {
            Some(b'{') => members(line, p, depth, visitor)?.0 + 1,
            Some(b'[') => skip_nested(line, p)?,
            Some(b'"') => string_end(line, p + 1)?.0 + 1,
            Some(_) => skip_scalar(line, p)?,
            None => return Err(ScanError::Malformed(p)),
        };
        p = skip_ws(line, p);
        match line.get(p) {
            Some(b',') => p = skip_ws(line, p + 1),
            Some(b']') => return Ok(p + 1),
            _ => return Err(ScanError::Malformed(p)),
        }
    }
}

fn finish(line: &[u8], close: usize, empty: bool) -> Result<Object, ScanError> {
    let end = skip_ws(line, close + 1);
    match line.get(end) {
        None | Some(b'\n') => Ok(Object { close, end, empty }),
        Some(_) => Err(ScanError::Malformed(end)),
    }
}

/// Position of the next `\n` at or after `from`, or the end of `input`.
pub fn line_end(input: &[u8], mut from: usize) -> usize {
    while from + 8 <= input.len() {
        let m = has_byte(word(input, from), b'\n');
        if m != 0 {
            return from + (m.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    input[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(input.len(), |p| from + p)
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `at`, little-endian.
#[inline(always)]
pub(crate) fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The four bytes at `at`, little-endian.
#[inline(always)]
pub(crate) fn half(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// High bit set in each byte of `w` equal to `b`; the lowest flagged byte
/// is exact (borrows only cause false flags above a true one).
#[inline(always)]
fn has_byte(w: u64, b: u8) -> u64 {
    let x = w ^ (LO * u64::from(b));
    x.wrapping_sub(LO) & !x & HI
}

/// High bit set in each byte of `w` below `n` (n <= 128); lowest flag exact.
#[inline(always)]
fn has_less(w: u64, n: u8) -> u64 {
    w.wrapping_sub(LO * u64::from(n)) & !w & HI
}

/// Whitespace inside a record; a newline is not, it ends the record.
///
/// Log records are mostly compact JSON, with no whitespace between tokens:
/// one test answers that, with no loop. A loop here would be merged by the
/// compiler with the test of the token after it into a loop around a jump
/// table, and inside a component a loop head is a deadline check and a
/// jump table an indirect jump: once or twice per member of every record.
#[inline(always)]
fn skip_ws(line: &[u8], p: usize) -> usize {
    match line.get(p) {
        Some(b' ' | b'\t' | b'\r') => skip_ws_run(line, p + 1),
        _ => p,
    }
}

#[cold]
#[inline(never)]
fn skip_ws_run(line: &[u8], mut p: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r') = line.get(p) {
        p += 1;
    }
    p
}

/// From just after an opening quote, find the closing quote. Returns its
/// position and whether an escape was seen.
///
/// Most strings of a record (keys, addresses, hashes, timestamps) are plain
/// and end within 32 bytes: one or two vector tests answer them, with no
/// loop, no call and no load that waits on the test before it. Inside a
/// component every loop head and every call is a deadline check, which is
/// why the common case has neither.
#[inline(always)]
fn string_end(line: &[u8], p: usize) -> Result<(usize, bool), ScanError> {
    if p + 16 <= line.len() {
        let (quotes, stops) = classify16(line, p);
        if let Some(at) = plain_end(quotes, stops) {
            return Ok((p + at, false));
        }
        if quotes | stops == 0 && p + 32 <= line.len() {
            let (quotes, stops) = classify16(line, p + 16);
            if let Some(at) = plain_end(quotes, stops) {
                return Ok((p + 16 + at, false));
            }
        }
    }
    string_end_long(line, p)
}

/// The offset of the first quote of a [`classify16`] block, if nothing that
/// may need a closer look (an escape, a control byte, a non-ASCII byte)
/// comes before it.
#[inline(always)]
fn plain_end(quotes: u32, stops: u32) -> Option<usize> {
    // `quotes ^ (quotes - 1)`: the first quote's bit and every bit below.
    (quotes != 0 && stops & (quotes ^ quotes.wrapping_sub(1)) == 0)
        .then(|| quotes.trailing_zeros() as usize)
}

/// Bit masks over the sixteen bytes at `at`: the quotes, and the bytes a
/// plain string cannot hold before its quote: backslashes and bytes below
/// 0x20 (control bytes) or from 0x80 (non-ASCII, left to the exact path,
/// which takes them; a signed compare finds both ranges in one test).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn classify16(bytes: &[u8], at: usize) -> (u32, u32) {
    use core::arch::wasm32::*;
    let chunk: &[u8; 16] = bytes[at..at + 16].try_into().unwrap();
    // SAFETY: `chunk` is 16 readable bytes; v128_load allows any alignment.
    let v = unsafe { v128_load(chunk.as_ptr().cast()) };
    let quotes = u8x16_bitmask(u8x16_eq(v, u8x16_splat(b'"')));
    let stops = u8x16_bitmask(v128_or(
        u8x16_eq(v, u8x16_splat(b'\\')),
        i8x16_lt(v, i8x16_splat(0x20)),
    ));
    (u32::from(quotes), u32::from(stops))
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn classify16(bytes: &[u8], at: usize) -> (u32, u32) {
    use core::arch::x86_64::*;
    let chunk: &[u8; 16] = bytes[at..at + 16].try_into().unwrap();
    // SAFETY: SSE2 is part of the x86_64 baseline; `chunk` is 16 readable
    // bytes and the load is unaligned.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let quotes = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)));
        let stops = _mm_movemask_epi8(_mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)),
            _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
        ));
        (quotes as u32, stops as u32)
    }
}

#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
#[inline(always)]
fn classify16(bytes: &[u8], at: usize) -> (u32, u32) {
    classify16_words(bytes, at)
}

/// [`classify16`] two words at a time, for targets without 128-bit vectors.
/// A mask may flag bytes above a truly flagged one (borrows), never below
/// one and never where none is, so the first quote, whether a stop comes
/// before it, and whether there is anything at all are all exact: all that
/// [`plain_end`] and its callers ask.
#[cfg_attr(
    any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ),
    allow(dead_code)
)]
#[inline(always)]
fn classify16_words(bytes: &[u8], at: usize) -> (u32, u32) {
    // The flag bit (bit 7) of each byte of `m`, gathered into eight bits.
    let gather = |m: u64| (((m >> 7) & LO).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32;
    let (lo, hi) = (word(bytes, at), word(bytes, at + 8));
    let quotes = |w: u64| gather(has_byte(w, b'"'));
    // Non-ASCII bytes have bit 7 set themselves.
    let stops = |w: u64| gather(has_byte(w, b'\\') | has_less(w, 0x20) | (w & HI));
    (quotes(lo) | quotes(hi) << 8, stops(lo) | stops(hi) << 8)
}

/// [`string_end`] for strings longer than sixteen bytes, with escapes, or
/// near the end of the input.
#[inline(never)]
fn string_end_long(line: &[u8], mut p: usize) -> Result<(usize, bool), ScanError> {
    let mut escaped = false;
    loop {
        // Sixteen bytes at a time where the target has 128-bit vectors, then
        // eight: records are mostly string bytes, and fewer loop trips mean
        // fewer of the component's deadline checks too.
        while p + 16 <= line.len() {
            match string_stop16(line, p) {
                Some(at) => {
                    p += at;
                    break;
                }
                None => p += 16,
            }
        }
        while p + 8 <= line.len() {
            let w = word(line, p);
            let m = has_byte(w, b'"') | has_byte(w, b'\\') | has_less(w, 0x20);
            if m != 0 {
                p += (m.trailing_zeros() / 8) as usize;
                break;
            }
            p += 8;
        }
        while p < line.len() {
            let b = line[p];
            if b == b'"' || b == b'\\' || b < 0x20 {
                break;
            }
            p += 1;
        }
        match line.get(p) {
            Some(b'"') => return Ok((p, escaped)),
            Some(b'\\') => {
                escaped = true;
                if p + 1 >= line.len() {
                    return Err(ScanError::Malformed(p));
                }
                p += 2;
            }
            _ => return Err(ScanError::Malformed(p)),
        }
    }
}

/// Offset of the first quote, backslash or control byte in the sixteen
/// bytes at `at`, if any.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn string_stop16(bytes: &[u8], at: usize) -> Option<usize> {
    use core::arch::wasm32::*;
    let chunk: &[u8; 16] = bytes[at..at + 16].try_into().unwrap();
    // SAFETY: `chunk` is 16 readable bytes; v128_load allows any alignment.
    let v = unsafe { v128_load(chunk.as_ptr().cast()) };
    let m = v128_or(
        v128_or(
            u8x16_eq(v, u8x16_splat(b'"')),
            u8x16_eq(v, u8x16_splat(b'\\')),
        ),
        u8x16_lt(v, u8x16_splat(0x20)),
    );
    let bits = u8x16_bitmask(m);
    (bits != 0).then(|| bits.trailing_zeros() as usize)
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn string_stop16(bytes: &[u8], at: usize) -> Option<usize> {
    use core::arch::x86_64::*;
    let chunk: &[u8; 16] = bytes[at..at + 16].try_into().unwrap();
    // SAFETY: SSE2 is part of the x86_64 baseline; `chunk` is 16 readable
    // bytes and the load is unaligned.
    let bits = unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Unsigned `v < 0x20`: min(v, 0x1f) == v.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control))
    };
    (bits != 0).then(|| bits.trailing_zeros() as usize)
}

#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
#[inline(always)]
fn string_stop16(bytes: &[u8], at: usize) -> Option<usize> {
    for half in [at, at + 8] {
        let w = word(bytes, half);
        let m = has_byte(w, b'"') | has_byte(w, b'\\') | has_less(w, 0x20);
        if m != 0 {
            return Some(half - at + (m.trailing_zeros() / 8) as usize);
        }
    }
    None
}

/// Skip a number, `true`, `false` or `null` starting at `p`, returning the
/// position after it. A number is a sign or digit, then a run of digits,
/// signs, dots and exponents; the run usually ends within sixteen bytes,
/// where one vector test finds its end with no loop.
#[inline(always)]
fn skip_scalar(line: &[u8], p: usize) -> Result<usize, ScanError> {
    if let b'-' | b'0'..=b'9' = line[p]
        && p + 16 <= line.len()
    {
        let others = not_number16(line, p);
        if others != 0 {
            return Ok(p + others.trailing_zeros() as usize);
        }
    }
    skip_scalar_long(line, p)
}

#[inline(never)]
fn skip_scalar_long(line: &[u8], mut p: usize) -> Result<usize, ScanError> {
    let start = p;
    match line[p] {
        b'-' | b'0'..=b'9' => {
            p += 1;
            while let Some(b) = line.get(p)
                && is_number_byte(*b)
            {
                p += 1;
            }
            Ok(p)
        }
        b't' if line[p..].starts_with(b"true") => Ok(p + 4),
        b'f' if line[p..].starts_with(b"false") => Ok(p + 5),
        b'n' if line[p..].starts_with(b"null") => Ok(p + 4),
        _ => Err(ScanError::Malformed(start)),
    }
}

#[inline(always)]
fn is_number_byte(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
}

/// A bit for each of the sixteen bytes at `at` that cannot continue a number.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn not_number16(bytes: &[u8], at: usize) -> u32 {
    use core::arch::wasm32::*;
    let chunk: &[u8; 16] = bytes[at..at + 16].try_into().unwrap();
    // SAFETY: `chunk` is 16 readable bytes; v128_load allows any alignment.
    let v = unsafe { v128_load(chunk.as_ptr().cast()) };
    let digit = u8x16_lt(u8x16_sub(v, u8x16_splat(b'0')), u8x16_splat(10));
    let sign_or_dot = v128_or(
        v128_or(
            u8x16_eq(v, u8x16_splat(b'+')),
            u8x16_eq(v, u8x16_splat(b'-')),
        ),
        u8x16_eq(v, u8x16_splat(b'.')),
    );
    let exponent = u8x16_eq(v128_or(v, u8x16_splat(0x20)), u8x16_splat(b'e'));
    let number = v128_or(v128_or(digit, sign_or_dot), exponent);
    u32::from(!u8x16_bitmask(number))
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn not_number16(bytes: &[u8], at: usize) -> u32 {
    use core::arch::x86_64::*;
    let chunk: &[u8; 16] = bytes[at..at + 16].try_into().unwrap();
    // SAFETY: SSE2 is part of the x86_64 baseline; `chunk` is 16 readable
    // bytes and the load is unaligned.
    let number = unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        // Unsigned `v - '0' < 10`: min(d, 9) == d.
        let d = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
        let digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
        let sign_or_dot = _mm_or_si128(
            _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'+' as i8)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'-' as i8)),
            ),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'.' as i8)),
        );
        let exponent = _mm_cmpeq_epi8(
            _mm_or_si128(v, _mm_set1_epi8(0x20)),
            _mm_set1_epi8(b'e' as i8),
        );
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(digit, sign_or_dot), exponent))
    };
    !(number as u32) & 0xffff
}

#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
#[inline(always)]
fn not_number16(_bytes: &[u8], _at: usize) -> u32 {
    // Without vectors the byte loop is as quick as any word trick: no
    // early answer, [`skip_scalar`] takes the loop.
    0
}

/// The vector tests a byte at a time: what the vector and word versions are
/// tested against.
#[cfg_attr(not(test), allow(dead_code))]
mod bytewise {
    use super::is_number_byte;

    /// [`super::classify16`] a byte at a time.
    pub(super) fn classify16(bytes: &[u8], at: usize) -> (u32, u32) {
        let (mut quotes, mut stops) = (0, 0);
        for (i, &b) in bytes[at..at + 16].iter().enumerate() {
            quotes |= u32::from(b == b'"') << i;
            stops |= u32::from(b == b'\\' || !(0x20..0x80).contains(&b)) << i;
        }
        (quotes, stops)
    }

    /// [`super::not_number16`] a byte at a time.
    pub(super) fn not_number16(bytes: &[u8], at: usize) -> u32 {
        let mut others = 0;
        for (i, &b) in bytes[at..at + 16].iter().enumerate() {
            others |= u32::from(!is_number_byte(b)) << i;
        }
        others
    }
}

/// Whether `bytes` are all ASCII (so valid UTF-8 as they are): a few word
/// tests for the short values records hold, with no call and, up to
/// sixteen bytes, no loop.
#[inline(always)]
pub fn ascii(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n < 4 {
        return bytes.iter().all(|&b| b < 0x80);
    }
    if n < 8 {
        return (half(bytes, 0) | half(bytes, n - 4)) & 0x8080_8080 == 0;
    }
    if n <= 16 {
        return (word(bytes, 0) | word(bytes, n - 8)) & HI == 0;
    }
    ascii_long(bytes)
}

#[inline(never)]
fn ascii_long(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let mut seen = word(bytes, n - 16) | word(bytes, n - 8);
    let mut at = 0;
    while at + 16 <= n {
        seen |= word(bytes, at) | word(bytes, at + 8);
        at += 16;
    }
    seen & HI == 0
}

/// Skip an array or object starting at `p`, returning the position after it.
#[inline]
fn skip_nested(line: &[u8], mut p: usize) -> Result<usize, ScanError> {
    let mut depth = 0usize;
    while let Some(&b) = line.get(p) {
        match b {
            b'"' => {
                let (end, _) = string_end(line, p + 1)?;
                p = end + 1;
                continue;
            }
            b'\n' => return Err(ScanError::Malformed(p)),
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(p + 1);
                }
            }
            _ => {}
        }
        p += 1;
    }
    Err(ScanError::Malformed(p))
}

/// Call `visit` with the span (inside the quotes) of every string element of
/// the array whose span is `array`; non-string elements are skipped.
pub fn array_strings(line: &[u8], array: Span, mut visit: impl FnMut(Span, bool)) {
    array_items(line, array, |item, kind, escaped| {
        if kind == ValueKind::String {
            visit(
                Span {
                    start: item.start + 1,
                    end: item.end - 1,
                },
                escaped,
            );
        }
    });
}

/// Call `visit` with the span, kind and escape flag of every element of the
/// (already scanned) array whose span is `array`.
pub fn array_items(line: &[u8], array: Span, mut visit: impl FnMut(Span, ValueKind, bool)) {
    let mut p = array.start + 1;
    let end = array.end - 1;
    while p < end {
        let start = p;
        let (next, kind, escaped) = match line[p] {
            b'"' => match string_end(line, p + 1) {
                Ok((close, escaped)) => (close + 1, ValueKind::String, escaped),
                Err(_) => return,
            },
            open @ (b'[' | b'{') => match skip_nested(line, p) {
                Ok(next) if open == b'[' => (next, ValueKind::Array, false),
                Ok(next) => (next, ValueKind::Object, false),
                Err(_) => return,
            },
            b',' | b' ' | b'\t' | b'\r' => {
                p += 1;
                continue;
            }
            _ => match skip_scalar(line, p) {
                Ok(next) => (next, ValueKind::Other, false),
                Err(_) => return,
            },
        };
        visit(Span { start, end: next }, kind, escaped);
        p = next;
    }
}

/// Visit the members of the object whose `{` is at `open`, a value inside a
/// record already scanned. Returns the position of its `}`.
pub fn scan_nested_object(
    line: &[u8],
    open: usize,
    visitor: &mut impl Visitor,
) -> Result<usize, ScanError> {
    if line.get(open) != Some(&b'{') {
        return Err(ScanError::NotAnObject);
    }
    Ok(members(line, open, 0, visitor)?.0)
}

/// Whether the bytes between an array's or object's brackets hold anything.
pub fn has_items(line: &[u8], value: Span) -> bool {
    line[value.start + 1..value.end - 1]
        .iter()
        .any(|b| !matches!(b, b' ' | b'\t' | b'\r'))
}

/// Decode the JSON escapes of a string's inner bytes into `out`. Returns
/// false if the escapes are invalid.
pub fn unescape(raw: &[u8], out: &mut String) -> bool {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            bytes.push(b);
            i += 1;
            continue;
        }
        let Some(&e) = raw.get(i + 1) else {
            return false;
        };
        i += 2;
        let c = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let Some(hi) = hex4(raw, i) else {
                    return false;
                };
                i += 4;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    if raw.get(i) != Some(&b'\\') || raw.get(i + 1) != Some(&b'u') {
                        return false;
                    }
                    let Some(lo) = hex4(raw, i + 2) else {
                        return false;
                    };
                    if !(0xDC00..0xE000).contains(&lo) {
                        return false;
                    }
                    i += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                match char::from_u32(code) {
                    Some(c) => c,
                    None => return false,
                }
            }
            _ => return false,
        };
        let mut buf = [0u8; 4];
        bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    match String::from_utf8(bytes) {
        Ok(s) => {
            out.push_str(&s);
            true
        }
        Err(_) => false,
    }
}

fn hex4(raw: &[u8], at: usize) -> Option<u32> {
    let digits = raw.get(at..at + 4)?;
    let text = core::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// Append `s` to `out` as a JSON string literal, quotes included.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(line: &str) -> Result<Vec<(String, String, ValueKind)>, ScanError> {
        let mut out = Vec::new();
        let b = line.as_bytes();
        scan_object(b, |m| {
            out.push((
                String::from_utf8(m.key.of(b).to_vec()).unwrap(),
                String::from_utf8(m.value.of(b).to_vec()).unwrap(),
                m.kind,
            ))
        })?;
        Ok(out)
    }

    #[test]
    fn scans_top_level_members_only() {
        let got = members(
            r#"{"a":"x","n":-1.5e3,"o":{"a":"nested","b":[1,"]"]},"t":true,"s":"q\"}","z":null}"#,
        )
        .unwrap();
        let keys: Vec<_> = got.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(keys, ["a", "n", "o", "t", "s", "z"]);
        assert_eq!(got[2].1, r#"{"a":"nested","b":[1,"]"]}"#);
        assert_eq!(got[4].1, r#""q\"}""#);
        assert_eq!(got[2].2, ValueKind::Object);
    }

    #[test]
    fn rejects_non_objects_and_garbage() {
        assert_eq!(members("[1,2]").unwrap_err(), ScanError::NotAnObject);
        assert_eq!(members("42").unwrap_err(), ScanError::NotAnObject);
        assert_eq!(members("").unwrap_err(), ScanError::NotAnObject);
        assert!(matches!(members(r#"{"a":1"#), Err(ScanError::Malformed(_))));
        assert!(matches!(
            members(r#"{"a":1} x"#),
            Err(ScanError::Malformed(_))
        ));
        assert!(matches!(
            members(r#"{"a":tru}"#),
            Err(ScanError::Malformed(_))
        ));
        assert!(matches!(
            members(r#"{"a" 1}"#),
            Err(ScanError::Malformed(_))
        ));
        assert!(matches!(
            members(r#"{"a":"x}"#),
            Err(ScanError::Malformed(_))
        ));
        assert!(members(" { } ").unwrap().is_empty());
    }

    #[test]
    fn string_end_finds_the_first_stop_byte_at_any_offset() {
        // Every stop byte at every position of strings around the 8- and
        // 16-byte steps, against a byte-by-byte search.
        for len in 0..48 {
            for stop in [b'"', b'\\', b'\n', 0x00, 0x1f] {
                for at in 0..len {
                    let mut line = vec![b'a'; len];
                    // Bytes just above the control range and non-ASCII
                    // bytes are ordinary string bytes.
                    for (i, b) in line.iter_mut().enumerate() {
                        *b = [b'a', 0x20, 0x7f, 0x80, 0xff, b'!', b'#', b'['][i % 8];
                    }
                    line[at] = stop;
                    let expected = line
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
                    let got = string_end(&line, 0);
                    match (stop, expected) {
                        (b'"', Some(p)) if p == at => assert_eq!(got, Ok((at, false))),
                        (b'\\', _) => {
                            // An escape: skipped, then no closing quote.
                            assert!(got.is_err() || got.unwrap().1, "len {len} at {at}")
                        }
                        _ => assert_eq!(got, Err(ScanError::Malformed(at)), "len {len} at {at}"),
                    }
                }
                // No stop byte: unterminated.
                let line = vec![b'x'; len];
                assert_eq!(string_end(&line, 0), Err(ScanError::Malformed(len)));
            }
        }
    }

    /// `fast` and `exact` agree on every byte value at every position of a
    /// sixteen-byte block, among neighbours from each of `fill`.
    fn same_on_every_block<T: PartialEq + core::fmt::Debug>(
        fill: &[u8],
        fast: impl Fn(&[u8], usize) -> T,
        exact: impl Fn(&[u8], usize) -> T,
    ) {
        for b in 0..=255u8 {
            for at in 0..16 {
                for &f in fill {
                    let mut block = [f; 20];
                    block[2 + at] = b;
                    assert_eq!(
                        fast(&block, 2),
                        exact(&block, 2),
                        "{b:#x} at {at} among {f:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_vector_tests_agree_with_a_byte_by_byte_look() {
        same_on_every_block(
            &[b'a', b'"', b'\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xff],
            classify16,
            bytewise::classify16,
        );
        #[cfg(any(
            target_arch = "x86_64",
            all(target_arch = "wasm32", target_feature = "simd128")
        ))]
        same_on_every_block(
            &[
                b'0', b'9', b'e', b'E', b'+', b'-', b'.', b',', b'}', 0x00, 0x80, 0xff,
            ],
            not_number16,
            bytewise::not_number16,
        );
    }

    #[test]
    fn the_word_version_answers_what_its_callers_ask() {
        // The first quote, whether a stop comes first, whether there is anything.
        let asked = |(quotes, stops): (u32, u32)| (plain_end(quotes, stops), quotes | stops == 0);
        let fill = [b'a', b'"', b'\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xff];
        same_on_every_block(
            &fill,
            |b, at| asked(classify16_words(b, at)),
            |b, at| asked(bytewise::classify16(b, at)),
        );
        // Two special bytes anywhere, where borrows between them could matter.
        for x in fill {
            for y in fill {
                for i in 0..16 {
                    for j in i + 1..16 {
                        let mut block = [b'a'; 16];
                        (block[i], block[j]) = (x, y);
                        assert_eq!(
                            asked(classify16_words(&block, 0)),
                            asked(bytewise::classify16(&block, 0)),
                            "{x:#x} at {i}, {y:#x} at {j}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn scalars_end_where_they_did_byte_by_byte() {
        for line in [
            &b"1741075208256,"[..],
            b"-1.5e+10}",
            b"12345678901234567890123,",
            b"0",
            b"1",
            b"true,",
            b"false}",
            b"null",
            b"12a3,                 ",
            b"-,                    ",
        ] {
            let mut padded = line.to_vec();
            padded.extend_from_slice(&[b' '; 20]);
            let expected = skip_scalar_long(line, 0);
            assert_eq!(skip_scalar(line, 0), expected, "{line:?}");
            assert_eq!(skip_scalar(&padded, 0), expected, "{line:?} padded");
        }
        assert!(skip_scalar(b"nul", 0).is_err());
        assert!(skip_scalar(b"x", 0).is_err());
    }

    #[test]
    fn ascii_agrees_with_the_standard_check() {
        for n in 0..80 {
            let plain = vec![b'a'; n];
            assert!(ascii(&plain), "{n}");
            for at in 0..n {
                let mut bytes = plain.clone();
                bytes[at] = 0x80 | (at as u8);
                assert!(!ascii(&bytes), "{n} {at}");
                assert_eq!(ascii(&bytes), bytes.is_ascii());
            }
        }
    }

    #[test]
    fn unescapes_and_escapes() {
        let mut s = String::new();
        assert!(unescape(br#"a\"b\\c\u00e9\ud83d\ude00\n"#, &mut s));
        assert_eq!(s, "a\"b\\c\u{e9}\u{1F600}\n");
        assert!(!unescape(br"\x", &mut String::new()));
        assert!(!unescape(br"\ud83d", &mut String::new()));
        let mut out = Vec::new();
        write_json_string(&mut out, "a\"b\\\u{1}\u{e9}");
        assert_eq!(String::from_utf8(out).unwrap(), r#""a\"b\\\u0001é""#);
    }

    #[test]
    fn array_string_elements() {
        let line = br#"["a", 1, {"x":"no"}, "b\"c"]"#;
        let mut got = Vec::new();
        array_strings(
            line,
            Span {
                start: 0,
                end: line.len(),
            },
            |s, e| got.push((String::from_utf8(s.of(line).to_vec()).unwrap(), e)),
        );
        assert_eq!(
            got,
            [("a".to_string(), false), ("b\\\"c".to_string(), true)]
        );
    }

    /// Enters every object and array it meets; logs what it sees.
    struct Everything(Vec<String>);

    impl Visitor for Everything {
        fn enter(&mut self, line: &[u8], key: Span, _: bool, kind: ValueKind) -> bool {
            self.0.push(format!(
                "enter {} {kind:?}",
                String::from_utf8_lossy(key.of(line))
            ));
            true
        }
        fn leave(&mut self) {
            self.0.push("leave".into());
        }
        fn member(&mut self, line: &[u8], m: &Member) {
            self.0.push(format!(
                "{}={}",
                String::from_utf8_lossy(m.key.of(line)),
                String::from_utf8_lossy(m.value.of(line))
            ));
        }
    }

    #[test]
    fn a_visitor_descends_into_objects_and_arrays_of_objects() {
        let line = br#"{"a":{"b":"x","c.d":[1,{"e":"y"},"z",[{"no":1}]]},"f":"\"q"}"#;
        let mut v = Everything(Vec::new());
        let object = scan_object_at(line, 0, &mut v).unwrap();
        assert_eq!(object.close, line.len() - 1);
        assert_eq!(
            v.0,
            [
                "enter a Object",
                "b=\"x\"",
                "enter c.d Array",
                "e=\"y\"",
                "leave",
                r#"c.d=[1,{"e":"y"},"z",[{"no":1}]]"#,
                "leave",
                r#"a={"b":"x","c.d":[1,{"e":"y"},"z",[{"no":1}]]}"#,
                r#"f="\"q""#,
            ]
        );
        // Entered values are checked member by member.
        for bad in [
            &br#"{"a":{"b":}}"#[..],
            br#"{"a":[{"b":1},]}"#,
            br#"{"a":[1 2]}"#,
        ] {
            assert!(scan_object_at(bad, 0, &mut Everything(Vec::new())).is_err());
        }
    }

    #[test]
    fn array_items_and_nested_objects() {
        let line = br#"{"k":[ "a\"b" , 1.5e3,null, {"x":[1]} ,[2] ]}"#;
        let mut items = Vec::new();
        let mut array = None;
        scan_object(line, |m| array = Some(m.value)).unwrap();
        array_items(line, array.unwrap(), |s, kind, escaped| {
            items.push((
                String::from_utf8_lossy(s.of(line)).into_owned(),
                kind,
                escaped,
            ))
        });
        assert_eq!(
            items,
            [
                (r#""a\"b""#.to_string(), ValueKind::String, true),
                ("1.5e3".to_string(), ValueKind::Other, false),
                ("null".to_string(), ValueKind::Other, false),
                (r#"{"x":[1]}"#.to_string(), ValueKind::Object, false),
                ("[2]".to_string(), ValueKind::Array, false),
            ]
        );
        let open = line.iter().position(|&b| b == b'{').unwrap();
        let mut v = Everything(Vec::new());
        assert_eq!(scan_nested_object(line, open, &mut v), Ok(line.len() - 1));
        assert_eq!(
            scan_nested_object(line, 1, &mut v),
            Err(ScanError::NotAnObject)
        );
        assert!(has_items(b"[ 1 ]", Span { start: 0, end: 5 }));
        assert!(!has_items(b"{ \t}", Span { start: 0, end: 4 }));
    }
}
