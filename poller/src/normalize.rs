//! Canonical text forms for indicator values.
//!
//! The same functions run when indicators are ingested and when values taken
//! from log records are looked up, so a value and an indicator that denote
//! the same thing always end up byte-identical. Lookups happen millions of
//! times per second, so every function returns [`Cow::Borrowed`] (a slice of
//! its input, usually just trimmed) when the input is already canonical and
//! only allocates when something has to change.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

/// Longest domain name DNS can carry in text form (RFC 1035, without the root dot).
const MAX_DOMAIN_LEN: usize = 253;
/// Longest single DNS label (RFC 1035).
const MAX_LABEL_LEN: usize = 63;
/// Longest file name on the common file systems (ext4, NTFS, APFS).
const MAX_FILE_NAME_LEN: usize = 255;

/// `s.trim()`, answered without decoding characters when `s` starts and
/// ends with printable ASCII (no white space to trim), as values mostly do.
pub(crate) fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let printable = |c: &u8| (b'!'..=b'~').contains(c);
    if b.first().is_some_and(printable) && b.last().is_some_and(printable) {
        s
    } else {
        s.trim()
    }
}

/// Why a value cannot be normalised.
///
/// Kept `Copy` and allocation-free because lookups reject malformed log
/// values at the same rate as they accept good ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Invalid {
    /// Nothing left after trimming whitespace.
    #[error("empty value")]
    Empty,
    /// The value exceeds a length limit (in bytes).
    #[error("too long: {got} bytes, at most {max} allowed")]
    TooLong {
        /// The limit for this kind of value.
        max: usize,
        /// The length of the offending value.
        got: usize,
    },
    /// Not an IPv4 or IPv6 address (or the address part of a CIDR block).
    #[error("not an IP address")]
    BadIp,
    /// The CIDR prefix length is not a number or is too large for the address family.
    #[error("bad CIDR prefix length")]
    BadPrefix,
    /// An IPv6 value where the declared type is IPv4.
    #[error("IPv6 value where IPv4 was expected")]
    ExpectedIpv4,
    /// An IPv4 value where the declared type is IPv6.
    #[error("IPv4 value where IPv6 was expected")]
    ExpectedIpv6,
    /// A domain name (or the host of a URL, or the domain of an e-mail address) is malformed.
    #[error("bad domain name: {0}")]
    BadDomain(DomainProblem),
    /// A wildcard name such as `*.example.com`; indicators match exact names only.
    #[error("wildcard names are not supported")]
    Wildcard,
    /// A hash whose length does not fit the declared algorithm.
    #[error("bad hash length: expected {expected} hex digits, got {got}")]
    BadHashLength {
        /// Hex digits the algorithm produces.
        expected: usize,
        /// Length of the value (in bytes).
        got: usize,
    },
    /// A hash whose length matches no supported algorithm.
    #[error("no hash algorithm produces {0} hex digits")]
    UnknownHashLength(usize),
    /// A hash containing something other than hex digits.
    #[error("not a hex string")]
    NotHex,
    /// An e-mail address is malformed.
    #[error("bad e-mail address: {0}")]
    BadEmail(EmailProblem),
    /// A URL is malformed.
    #[error("bad URL: {0}")]
    BadUrl(UrlProblem),
    /// The value contains whitespace where none is allowed.
    #[error("contains whitespace")]
    Whitespace,
    /// The value contains a control character (including NUL).
    #[error("contains a control character")]
    ControlChar,
}

/// What is wrong with a domain name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DomainProblem {
    /// Two dots in a row, a leading dot, or nothing but dots.
    #[error("empty label")]
    EmptyLabel,
    /// A label longer than 63 bytes.
    #[error("label longer than 63 bytes")]
    LabelTooLong,
    /// A label that starts or ends with `-`.
    #[error("label starts or ends with '-'")]
    HyphenAtEdge,
    /// A character outside `[a-z0-9-_]` (after lowercasing).
    #[error("character {0:?} not allowed")]
    BadChar(char),
    /// A non-ASCII name that IDNA (UTS #46) cannot convert to punycode.
    #[error("internationalised name cannot be converted to punycode")]
    Idn,
}

/// What is wrong with an e-mail address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EmailProblem {
    /// No `@`.
    #[error("no '@'")]
    MissingAt,
    /// More than one `@`.
    #[error("more than one '@'")]
    ExtraAt,
    /// Nothing before the `@`.
    #[error("empty local part")]
    EmptyLocal,
    /// Nothing after the `@`.
    #[error("empty domain part")]
    EmptyDomain,
    /// Angle brackets that do not enclose the whole address (`Name <a@b>`).
    #[error("unbalanced angle brackets")]
    Brackets,
}

/// What is wrong with a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum UrlProblem {
    /// Text before `://` that is not a valid scheme.
    #[error("bad scheme")]
    BadScheme,
    /// No host between the scheme and the path.
    #[error("empty host")]
    EmptyHost,
    /// A bracketed host that is not an IPv6 address, or junk after the `]`.
    #[error("bad IPv6 literal host")]
    BadIpLiteral,
    /// A port that is not a decimal number up to 65535.
    #[error("bad port")]
    BadPort,
}

/// A hash algorithm, identified by the length of its hex digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKind {
    /// MD5, 32 hex digits.
    Md5,
    /// SHA-1, 40 hex digits.
    Sha1,
    /// SHA-256, 64 hex digits.
    Sha256,
    /// SHA-512, 128 hex digits.
    Sha512,
}

impl HashKind {
    /// Every supported algorithm.
    pub const ALL: [HashKind; 4] = [Self::Md5, Self::Sha1, Self::Sha256, Self::Sha512];

    /// Number of hex digits in a digest.
    pub const fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha1 => 40,
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }

    /// The algorithm producing digests of `hex_len` hex digits, if any.
    pub const fn from_hex_len(hex_len: usize) -> Option<Self> {
        match hex_len {
            32 => Some(Self::Md5),
            40 => Some(Self::Sha1),
            64 => Some(Self::Sha256),
            128 => Some(Self::Sha512),
            _ => None,
        }
    }
}

/// A canonical IP address or CIDR block.
///
/// Only [`ip`] should be trusted to produce canonical values: it maps
/// IPv4-mapped IPv6 to IPv4, zeroes host bits, and turns full-length prefixes
/// into plain addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpValue {
    /// A single IPv4 address.
    V4(Ipv4Addr),
    /// A single IPv6 address.
    V6(Ipv6Addr),
    /// An IPv4 network with its prefix length (0..=31).
    V4Net(Ipv4Addr, u8),
    /// An IPv6 network with its prefix length (0..=127).
    V6Net(Ipv6Addr, u8),
}

impl IpValue {
    /// Whether this is a network rather than a single address.
    pub const fn is_net(&self) -> bool {
        matches!(self, Self::V4Net(..) | Self::V6Net(..))
    }

    /// Whether this is an IPv4 address or network.
    pub const fn is_v4(&self) -> bool {
        matches!(self, Self::V4(_) | Self::V4Net(..))
    }

    /// Whether `addr` equals this address or lies inside this network.
    ///
    /// IPv4-mapped IPv6 addresses count as IPv4, as they do in [`ip`].
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (*self, addr.to_canonical()) {
            (Self::V4(a), IpAddr::V4(b)) => a == b,
            (Self::V6(a), IpAddr::V6(b)) => a == b,
            (Self::V4Net(net, prefix), IpAddr::V4(b)) => mask_v4(b, prefix) == net,
            (Self::V6Net(net, prefix), IpAddr::V6(b)) => mask_v6(b, prefix) == net,
            _ => false,
        }
    }
}

impl fmt::Display for IpValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // std's Ipv6Addr Display already follows RFC 5952 (lowercase, longest
        // zero run compressed, leftmost on ties, no single-group `::`).
        match self {
            Self::V4(a) => write!(f, "{a}"),
            Self::V6(a) => write!(f, "{a}"),
            Self::V4Net(a, p) => write!(f, "{a}/{p}"),
            Self::V6Net(a, p) => write!(f, "{a}/{p}"),
        }
    }
}

fn mask_v4(addr: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    Ipv4Addr::from(u32::from(addr) & mask)
}

fn mask_v6(addr: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    Ipv6Addr::from(u128::from(addr) & mask)
}

/// Parses an IP address or CIDR block into its canonical form.
///
/// Surrounding whitespace is ignored. IPv4-mapped IPv6 (`::ffff:a.b.c.d`)
/// becomes IPv4 so that the two spellings of one host match each other; host
/// bits of a CIDR block are zeroed; `/32` and `/128` become plain addresses.
/// IPv4 octets with leading zeros are rejected because tools disagree on
/// whether they are octal.
pub fn ip(raw: &str) -> Result<IpValue, Invalid> {
    let s = trim(raw);
    if s.is_empty() {
        return Err(Invalid::Empty);
    }
    let Some((addr, prefix)) = s.split_once('/') else {
        return Ok(match parse_addr(s)? {
            IpAddr::V4(a) => IpValue::V4(a),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => IpValue::V4(v4),
                None => IpValue::V6(a),
            },
        });
    };
    let prefix = parse_prefix(prefix)?;
    match parse_addr(addr)? {
        IpAddr::V4(a) => match prefix {
            0..=31 => Ok(IpValue::V4Net(mask_v4(a, prefix), prefix)),
            32 => Ok(IpValue::V4(a)),
            _ => Err(Invalid::BadPrefix),
        },
        IpAddr::V6(a) => {
            if prefix > 128 {
                return Err(Invalid::BadPrefix);
            }
            let net = mask_v6(a, prefix);
            // A mapped block is only an IPv4 block if the prefix covers the
            // whole ::ffff:0:0/96 marker; shorter ones span non-IPv4 space.
            match (prefix >= 96).then(|| net.to_ipv4_mapped()).flatten() {
                Some(v4) if prefix == 128 => Ok(IpValue::V4(v4)),
                Some(v4) => Ok(IpValue::V4Net(v4, prefix - 96)),
                None if prefix == 128 => Ok(IpValue::V6(a)),
                None => Ok(IpValue::V6Net(net, prefix)),
            }
        }
    }
}

fn parse_addr(s: &str) -> Result<IpAddr, Invalid> {
    s.parse::<IpAddr>().map_err(|_| Invalid::BadIp)
}

fn parse_prefix(s: &str) -> Result<u8, Invalid> {
    // u8::from_str accepts a leading '+', which is not CIDR notation.
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::BadPrefix);
    }
    s.parse().map_err(|_| Invalid::BadPrefix)
}

/// Canonical text of an IP value, borrowed from `trimmed` when it already is
/// that text. Formats into a stack buffer so the common case never allocates.
pub(crate) fn ip_text(value: IpValue, trimmed: &str) -> Cow<'_, str> {
    // A plain address that std's strict dotted-quad parser took (no leading
    // zeros, no other spelling) is already its canonical text.
    if let IpValue::V4(_) = value
        && !trimmed.contains([':', '/'])
    {
        return Cow::Borrowed(trimmed);
    }
    let mut buf = StackStr::default();
    if write!(buf, "{value}").is_ok() && buf.as_str() == trimmed {
        Cow::Borrowed(trimmed)
    } else {
        Cow::Owned(value.to_string())
    }
}

/// Fixed-size text buffer, large enough for any IP address with a prefix
/// (`ffff:…:ffff/128` is 43 bytes) or a bracketed IPv6 literal.
struct StackStr {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackStr {
    fn default() -> Self {
        Self {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl StackStr {
    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so this cannot fail; an
        // empty string merely makes the caller take its slow path.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dest = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Normalises a domain name.
///
/// Trims whitespace, lowercases ASCII, strips one trailing dot and converts
/// internationalised names to punycode (`bücher.de` → `xn--bcher-kva.de`).
/// Labels must be 1–63 bytes of `[a-z0-9-_]` not starting or ending with
/// `-` (underscores appear in real service names such as `_dmarc`), and the
/// whole name at most 253 bytes. Single-label names are allowed; a leading
/// `*.` is rejected as [`Invalid::Wildcard`].
pub fn domain(raw: &str) -> Result<Cow<'_, str>, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Invalid::Empty);
    }
    if s == "*" || s.starts_with("*.") {
        return Err(Invalid::Wildcard);
    }
    let stripped = s.strip_suffix('.');
    let s = stripped.unwrap_or(s);
    if s.is_ascii() {
        return Ok(if check_ascii_name(s)? {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        });
    }
    let mut ascii = idna::domain_to_ascii(s).map_err(|_| Invalid::BadDomain(DomainProblem::Idn))?;
    // IDNA maps the ideographic and full-width full stops to '.', so the
    // trailing root dot may only show up now.
    if stripped.is_none() && ascii.ends_with('.') {
        ascii.pop();
    }
    // UTS #46 already lowercases; the check enforces the DNS rules IDNA
    // itself leaves alone (lengths, hyphens, allowed characters).
    check_ascii_name(&ascii)?;
    Ok(Cow::Owned(ascii))
}

/// Byte classes for [`check_ascii_name`]; a table keeps the per-byte work to
/// one load and one branch, since this runs for every domain, URL host and
/// e-mail domain looked up.
const NAME_BAD: u8 = 0;
const NAME_OK: u8 = 1;
const NAME_UPPER: u8 = 2;
const NAME_HYPHEN: u8 = 3;
const NAME_DOT: u8 = 4;

const NAME_CLASS: [u8; 256] = {
    let mut t = [NAME_BAD; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            b'a'..=b'z' | b'0'..=b'9' | b'_' => NAME_OK,
            b'A'..=b'Z' => NAME_UPPER,
            b'-' => NAME_HYPHEN,
            b'.' => NAME_DOT,
            _ => NAME_BAD,
        };
        b += 1;
    }
    t
};

/// Validates an ASCII domain name; returns whether it needs lowercasing.
fn check_ascii_name(s: &str) -> Result<bool, Invalid> {
    if s.len() > MAX_DOMAIN_LEN {
        return Err(Invalid::TooLong {
            max: MAX_DOMAIN_LEN,
            got: s.len(),
        });
    }
    let bytes = s.as_bytes();
    let mut upper = false;
    let mut label_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match NAME_CLASS[usize::from(b)] {
            NAME_OK | NAME_HYPHEN => {}
            NAME_UPPER => upper = true,
            NAME_DOT => {
                check_label(&bytes[label_start..i])?;
                label_start = i + 1;
            }
            _ => return Err(Invalid::BadDomain(DomainProblem::BadChar(char::from(b)))),
        }
    }
    check_label(&bytes[label_start..])?;
    Ok(upper)
}

/// Length and hyphen rules for one label whose characters are already checked.
fn check_label(label: &[u8]) -> Result<(), Invalid> {
    match (label.first(), label.last()) {
        (None, _) | (_, None) => Err(Invalid::BadDomain(DomainProblem::EmptyLabel)),
        (Some(b'-'), _) | (_, Some(b'-')) => Err(Invalid::BadDomain(DomainProblem::HyphenAtEdge)),
        _ if label.len() > MAX_LABEL_LEN => Err(Invalid::BadDomain(DomainProblem::LabelTooLong)),
        _ => Ok(()),
    }
}

/// Like [`domain`] but says whether the result differs from `s`; trailing-dot
/// stripping returns a shorter borrowed slice, which still counts as a change.
fn domain_changed(s: &str) -> Result<(Cow<'_, str>, bool), Invalid> {
    let d = domain(s)?;
    let changed = match &d {
        Cow::Borrowed(b) => b.len() != s.len(),
        Cow::Owned(_) => true,
    };
    Ok((d, changed))
}

/// Rejects whitespace and control characters anywhere in `s`.
fn reject_space_and_controls(s: &str) -> Result<(), Invalid> {
    for &b in s.as_bytes() {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => return Err(Invalid::Whitespace),
            0..=0x1f | 0x7f => return Err(Invalid::ControlChar),
            _ => {}
        }
    }
    if !s.is_ascii() {
        for c in s.chars() {
            if c.is_whitespace() {
                return Err(Invalid::Whitespace);
            }
            if c.is_control() {
                return Err(Invalid::ControlChar);
            }
        }
    }
    Ok(())
}

/// Normalises a URL.
///
/// Trims whitespace; assumes `http://` when there is no `scheme://`
/// (`//host/…` keeps its authority); lowercases the scheme; normalises the
/// host like [`domain`] (IPv4 hosts pass as all-digit labels, `[v6]`
/// literals are rewritten per RFC 5952); keeps userinfo as is; drops the
/// default port of http (80), https (443) and ftp (21) and an empty port;
/// drops the fragment, which never reaches a server; turns an empty path
/// into `/`. Path and query are kept byte for byte: percent-decoding them
/// would make distinct URLs collide.
pub fn url(raw: &str) -> Result<Cow<'_, str>, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Invalid::Empty);
    }
    reject_space_and_controls(s)?;

    let (scheme, rest) = split_scheme(s)?;
    let mut changed = match scheme {
        Some(sc) => sc.bytes().any(|b| b.is_ascii_uppercase()),
        None => true,
    };
    let scheme = scheme.unwrap_or("http");

    let rest = match rest.split_once('#') {
        Some((before, _)) => {
            changed = true;
            before
        }
        None => rest,
    };
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_query) = rest.split_at(auth_end);
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };

    let (host, port, host_changed) = split_host_port(host_port)?;
    changed |= host_changed;

    let port = match port {
        None => None,
        Some("") => {
            changed = true;
            None
        }
        Some(p) => {
            let n = parse_port(p)?;
            if Some(n) == default_port(scheme) {
                changed = true;
                None
            } else {
                // Leading zeros are the only way the digits can differ from the number.
                changed |= p.len() > 1 && p.starts_with('0');
                Some(n)
            }
        }
    };
    changed |= path_query.is_empty() || path_query.starts_with('?');

    if !changed {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len() + 8);
    out.extend(scheme.chars().map(|c| c.to_ascii_lowercase()));
    out.push_str("://");
    if let Some(u) = userinfo {
        out.push_str(u);
        out.push('@');
    }
    out.push_str(&host);
    if let Some(n) = port {
        // Writing to a String cannot fail.
        let _ = write!(out, ":{n}");
    }
    if path_query.is_empty() || path_query.starts_with('?') {
        out.push('/');
    }
    out.push_str(path_query);
    Ok(Cow::Owned(out))
}

/// Splits `scheme://rest`; `None` when the URL has no scheme.
fn split_scheme(s: &str) -> Result<(Option<&str>, &str), Invalid> {
    if let Some(rest) = s.strip_prefix("//") {
        return Ok((None, rest));
    }
    // The scheme ends at the first delimiter; a "://" later on belongs to the
    // path or query (`example.com/redirect?to=http://…`).
    let Some(i) = s
        .bytes()
        .position(|b| matches!(b, b':' | b'/' | b'?' | b'#'))
    else {
        return Ok((None, s));
    };
    let Some(rest) = s[i..].strip_prefix("://") else {
        return Ok((None, s));
    };
    let candidate = &s[..i];
    let mut bytes = candidate.bytes();
    let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid {
        return Err(Invalid::BadUrl(UrlProblem::BadScheme));
    }
    Ok((Some(candidate), rest))
}

/// Splits and normalises `host[:port]`; returns the canonical host, the raw
/// port text and whether the host changed.
fn split_host_port(hp: &str) -> Result<(Cow<'_, str>, Option<&str>, bool), Invalid> {
    if let Some(inner) = hp.strip_prefix('[') {
        let (addr, after) = inner
            .split_once(']')
            .ok_or(Invalid::BadUrl(UrlProblem::BadIpLiteral))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or(Invalid::BadUrl(UrlProblem::BadIpLiteral))?,
            ),
        };
        let v6: Ipv6Addr = addr
            .parse()
            .map_err(|_| Invalid::BadUrl(UrlProblem::BadIpLiteral))?;
        let literal = &hp[..addr.len() + 2];
        let mut buf = StackStr::default();
        if write!(buf, "[{v6}]").is_ok() && buf.as_str() == literal {
            return Ok((Cow::Borrowed(literal), port, false));
        }
        return Ok((Cow::Owned(format!("[{v6}]")), port, true));
    }
    let (host, port) = match hp.rfind(':') {
        Some(i) => (&hp[..i], Some(&hp[i + 1..])),
        None => (hp, None),
    };
    if host.is_empty() {
        return Err(Invalid::BadUrl(UrlProblem::EmptyHost));
    }
    let (host, changed) = domain_changed(host)?;
    Ok((host, port, changed))
}

fn parse_port(p: &str) -> Result<u16, Invalid> {
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::BadUrl(UrlProblem::BadPort));
    }
    // Leading zeros are legal, so skip them before the length-bounded parse.
    let digits = p.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    digits
        .parse::<u16>()
        .map_err(|_| Invalid::BadUrl(UrlProblem::BadPort))
}

fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else if scheme.eq_ignore_ascii_case("ftp") {
        Some(21)
    } else {
        None
    }
}

fn hex_digest(raw: &str, kind: HashKind) -> Result<Cow<'_, str>, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Invalid::Empty);
    }
    if s.len() != kind.hex_len() {
        return Err(Invalid::BadHashLength {
            expected: kind.hex_len(),
            got: s.len(),
        });
    }
    lower_hex(s)
}

fn lower_hex(s: &str) -> Result<Cow<'_, str>, Invalid> {
    let mut upper = false;
    for &b in s.as_bytes() {
        match b {
            b'0'..=b'9' | b'a'..=b'f' => {}
            b'A'..=b'F' => upper = true,
            _ => return Err(Invalid::NotHex),
        }
    }
    Ok(if upper {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    })
}

/// Normalises an MD5 digest: 32 hex digits, lowercased.
pub fn md5(raw: &str) -> Result<Cow<'_, str>, Invalid> {
    hex_digest(raw, HashKind::Md5)
}

/// Normalises a SHA-1 digest: 40 hex digits, lowercased.
pub fn sha1(raw: &str) -> Result<Cow<'_, str>, Invalid> {
    hex_digest(raw, HashKind::Sha1)
}

/// Normalises a SHA-256 digest: 64 hex digits, lowercased.
pub fn sha256(raw: &str) -> Result<Cow<'_, str>, Invalid> {
    hex_digest(raw, HashKind::Sha256)
}

/// Normalises a SHA-512 digest: 128 hex digits, lowercased.
pub fn sha512(raw: &str) -> Result<Cow<'_, str>, Invalid> {
    hex_digest(raw, HashKind::Sha512)
}

/// Normalises a digest of any supported algorithm, chosen by its length.
pub fn hash_any(raw: &str) -> Result<(HashKind, Cow<'_, str>), Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Invalid::Empty);
    }
    let kind = HashKind::from_hex_len(s.len()).ok_or(Invalid::UnknownHashLength(s.len()))?;
    Ok((kind, lower_hex(s)?))
}

/// Normalises an e-mail address.
///
/// Trims and lowercases; `Name <addr>` yields `addr`. Exactly one `@`, a
/// non-empty local part and a domain valid per [`domain`] (so IDN domains
/// become punycode). Only ASCII is lowercased in the local part: Unicode case
/// mapping changes between Unicode versions, and ingest and lookup must agree.
pub fn email(raw: &str) -> Result<Cow<'_, str>, Invalid> {
    let mut s = raw.trim();
    if s.is_empty() {
        return Err(Invalid::Empty);
    }
    if let Some(lt) = s.rfind('<') {
        s = s[lt + 1..]
            .strip_suffix('>')
            .ok_or(Invalid::BadEmail(EmailProblem::Brackets))?
            .trim();
        if s.is_empty() {
            return Err(Invalid::Empty);
        }
    }
    reject_space_and_controls(s)?;
    let (local, dom) = s
        .split_once('@')
        .ok_or(Invalid::BadEmail(EmailProblem::MissingAt))?;
    if dom.contains('@') {
        return Err(Invalid::BadEmail(EmailProblem::ExtraAt));
    }
    if local.is_empty() {
        return Err(Invalid::BadEmail(EmailProblem::EmptyLocal));
    }
    if local.contains(['<', '>']) {
        return Err(Invalid::BadEmail(EmailProblem::Brackets));
    }
    if dom.is_empty() {
        return Err(Invalid::BadEmail(EmailProblem::EmptyDomain));
    }
    let (dom, dom_changed) = domain_changed(dom)?;
    if !dom_changed && !local.bytes().any(|b| b.is_ascii_uppercase()) {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(local.len() + 1 + dom.len());
    out.push_str(local);
    out.make_ascii_lowercase();
    out.push('@');
    out.push_str(&dom);
    Ok(Cow::Owned(out))
}

/// Normalises a file name: trimmed, non-empty, at most 255 bytes, no control
/// characters. Case is kept because file systems differ on case sensitivity
/// and a feed's spelling is the best evidence we have.
pub fn file_name(raw: &str) -> Result<Cow<'_, str>, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Invalid::Empty);
    }
    if s.len() > MAX_FILE_NAME_LEN {
        return Err(Invalid::TooLong {
            max: MAX_FILE_NAME_LEN,
            got: s.len(),
        });
    }
    if s.chars().any(char::is_control) {
        return Err(Invalid::ControlChar);
    }
    Ok(Cow::Borrowed(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn borrowed(c: Cow<'_, str>) -> bool {
        matches!(c, Cow::Borrowed(_))
    }

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().expect("test address")
    }

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().expect("test address")
    }

    // ---- ip ----

    #[test]
    fn ip_plain_addresses() {
        assert_eq!(ip("1.2.3.4"), Ok(IpValue::V4(v4("1.2.3.4"))));
        assert_eq!(ip("  1.2.3.4\t"), Ok(IpValue::V4(v4("1.2.3.4"))));
        assert_eq!(ip("::1"), Ok(IpValue::V6(Ipv6Addr::LOCALHOST)));
    }

    #[test]
    fn ip_v6_rfc5952_text() {
        let v = ip("2001:0DB8:0000:0000:0000:0000:0000:0001").expect("valid");
        assert_eq!(v.to_string(), "2001:db8::1");
        let v = ip("2001:DB8:0:0:1:0:0:1").expect("valid");
        // Leftmost of two equal zero runs is compressed.
        assert_eq!(v.to_string(), "2001:db8::1:0:0:1");
        let v = ip("2001:db8:0:1:1:1:1:1").expect("valid");
        // A single zero group is not compressed.
        assert_eq!(v.to_string(), "2001:db8:0:1:1:1:1:1");
    }

    #[test]
    fn ip_mapped_v6_becomes_v4() {
        assert_eq!(ip("::ffff:10.0.0.1"), Ok(IpValue::V4(v4("10.0.0.1"))));
        assert_eq!(ip("::FFFF:a00:1"), Ok(IpValue::V4(v4("10.0.0.1"))));
        assert_eq!(ip("::ffff:10.0.0.1/128"), Ok(IpValue::V4(v4("10.0.0.1"))));
        assert_eq!(
            ip("::ffff:10.1.2.3/104"),
            Ok(IpValue::V4Net(v4("10.0.0.0"), 8))
        );
        // Shorter than /96 spans more than the mapped range, so stays IPv6.
        assert_eq!(
            ip("::ffff:10.1.2.3/64"),
            Ok(IpValue::V6Net(Ipv6Addr::UNSPECIFIED, 64))
        );
        // IPv4-compatible (deprecated) addresses are not mapped ones.
        assert!(matches!(ip("::1.2.3.4"), Ok(IpValue::V6(_))));
    }

    #[test]
    fn ip_cidr_zeroes_host_bits() {
        assert_eq!(ip("10.1.2.3/8"), Ok(IpValue::V4Net(v4("10.0.0.0"), 8)));
        assert_eq!(ip("10.1.2.3/0"), Ok(IpValue::V4Net(v4("0.0.0.0"), 0)));
        assert_eq!(ip("10.1.2.3/31"), Ok(IpValue::V4Net(v4("10.1.2.2"), 31)));
        assert_eq!(
            ip("2001:db8:ffff::1/32"),
            Ok(IpValue::V6Net(v6("2001:db8::"), 32))
        );
        assert_eq!(ip("::1/0"), Ok(IpValue::V6Net(Ipv6Addr::UNSPECIFIED, 0)));
        assert_eq!(
            ip("10.1.2.3/8").map(|v| v.to_string()),
            Ok("10.0.0.0/8".into())
        );
        assert_eq!(
            ip("2001:DB8::1/48").map(|v| v.to_string()),
            Ok("2001:db8::/48".into())
        );
    }

    #[test]
    fn ip_full_prefix_is_plain_address() {
        assert_eq!(ip("10.1.2.3/32"), Ok(IpValue::V4(v4("10.1.2.3"))));
        assert_eq!(ip("2001:db8::1/128"), Ok(IpValue::V6(v6("2001:db8::1"))));
        assert_eq!(ip("10.1.2.3/032"), Ok(IpValue::V4(v4("10.1.2.3"))));
    }

    #[test]
    fn ip_rejects() {
        assert_eq!(ip(""), Err(Invalid::Empty));
        assert_eq!(ip("   "), Err(Invalid::Empty));
        assert_eq!(ip("1.2.3"), Err(Invalid::BadIp));
        assert_eq!(ip("1.2.3.256"), Err(Invalid::BadIp));
        assert_eq!(ip("01.2.3.4"), Err(Invalid::BadIp));
        assert_eq!(ip("evil.com"), Err(Invalid::BadIp));
        assert_eq!(ip("fe80::1%eth0"), Err(Invalid::BadIp));
        assert_eq!(ip("[::1]"), Err(Invalid::BadIp));
        assert_eq!(ip("/8"), Err(Invalid::BadIp));
        assert_eq!(ip("10.0.0.0/33"), Err(Invalid::BadPrefix));
        assert_eq!(ip("::/129"), Err(Invalid::BadPrefix));
        assert_eq!(ip("10.0.0.0/"), Err(Invalid::BadPrefix));
        assert_eq!(ip("10.0.0.0/+8"), Err(Invalid::BadPrefix));
        assert_eq!(ip("10.0.0.0/-1"), Err(Invalid::BadPrefix));
        assert_eq!(ip("10.0.0.0/8/8"), Err(Invalid::BadPrefix));
        assert_eq!(ip("10.0.0.0/1000"), Err(Invalid::BadPrefix));
    }

    #[test]
    fn ip_contains() {
        let net = ip("10.0.0.0/8").expect("valid");
        assert!(net.contains("10.200.1.1".parse().expect("addr")));
        assert!(net.contains("::ffff:10.1.1.1".parse().expect("addr")));
        assert!(!net.contains("11.0.0.0".parse().expect("addr")));
        assert!(!net.contains("::1".parse().expect("addr")));
        let one = ip("2001:db8::1").expect("valid");
        assert!(one.contains("2001:db8::1".parse().expect("addr")));
        assert!(!one.contains("2001:db8::2".parse().expect("addr")));
        let net6 = ip("2001:db8::/32").expect("valid");
        assert!(net6.contains("2001:db8:1::5".parse().expect("addr")));
        assert!(!net6.contains("2001:db9::".parse().expect("addr")));
        assert!(
            ip("0.0.0.0/0")
                .expect("valid")
                .contains("8.8.8.8".parse().expect("addr"))
        );
        assert!(net.is_net() && net.is_v4() && !one.is_net() && !one.is_v4());
    }

    #[test]
    fn ip_text_borrows_when_canonical() {
        assert!(borrowed(ip_text(ip("1.2.3.4").expect("ok"), "1.2.3.4")));
        assert!(borrowed(ip_text(
            ip("10.0.0.0/8").expect("ok"),
            "10.0.0.0/8"
        )));
        let long = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127";
        assert!(borrowed(ip_text(ip(long).expect("ok"), long)));
        let t = ip_text(ip("10.1.0.0/8").expect("ok"), "10.1.0.0/8");
        assert_eq!(t, "10.0.0.0/8");
        assert!(!borrowed(t));
    }

    // ---- domain ----

    #[test]
    fn domain_canonicalises() {
        assert_eq!(domain("WWW.Evil.COM.").as_deref(), Ok("www.evil.com"));
        assert_eq!(domain("  evil.com  ").as_deref(), Ok("evil.com"));
        assert_eq!(domain("bücher.de").as_deref(), Ok("xn--bcher-kva.de"));
        assert_eq!(domain("BÜCHER.de.").as_deref(), Ok("xn--bcher-kva.de"));
        assert_eq!(
            domain("bücher.de\u{3002}").as_deref(),
            Ok("xn--bcher-kva.de")
        );
        assert_eq!(domain("\u{ff25}vil.com").as_deref(), Ok("evil.com"));
        assert_eq!(domain("localhost").as_deref(), Ok("localhost"));
        assert_eq!(domain("_dmarc.Evil.com").as_deref(), Ok("_dmarc.evil.com"));
        assert_eq!(
            domain("xn--bcher-kva.de").as_deref(),
            Ok("xn--bcher-kva.de")
        );
        assert_eq!(domain("a-b.c").as_deref(), Ok("a-b.c"));
    }

    #[test]
    fn domain_borrows_when_canonical() {
        assert!(borrowed(domain("www.evil.com").expect("ok")));
        // Trimming and dropping the root dot are slices, not copies.
        assert!(borrowed(domain(" evil.com. ").expect("ok")));
        assert!(!borrowed(domain("Evil.com").expect("ok")));
        assert!(!borrowed(domain("bücher.de").expect("ok")));
    }

    #[test]
    fn domain_length_limits() {
        let label63 = "a".repeat(63);
        assert!(domain(&label63).is_ok());
        assert_eq!(
            domain(&"a".repeat(64)),
            Err(Invalid::BadDomain(DomainProblem::LabelTooLong))
        );
        // 4 * 63 + 3 dots = 255 > 253
        let long = [label63.as_str(); 4].join(".");
        assert_eq!(domain(&long), Err(Invalid::TooLong { max: 253, got: 255 }));
        let ok253 = format!("{}.{}.{}.{}", label63, label63, label63, "a".repeat(61));
        assert_eq!(ok253.len(), 253);
        assert!(domain(&ok253).is_ok());
        // The trailing dot does not count.
        assert!(domain(&format!("{ok253}.")).is_ok());
    }

    #[test]
    fn domain_rejects() {
        use DomainProblem::*;
        assert_eq!(domain(""), Err(Invalid::Empty));
        assert_eq!(domain(" \t"), Err(Invalid::Empty));
        assert_eq!(domain("*.evil.com"), Err(Invalid::Wildcard));
        assert_eq!(domain("*"), Err(Invalid::Wildcard));
        assert_eq!(domain("a.*.com"), Err(Invalid::BadDomain(BadChar('*'))));
        assert_eq!(domain("a..b"), Err(Invalid::BadDomain(EmptyLabel)));
        assert_eq!(domain(".a.b"), Err(Invalid::BadDomain(EmptyLabel)));
        assert_eq!(domain("a.b.."), Err(Invalid::BadDomain(EmptyLabel)));
        assert_eq!(domain("."), Err(Invalid::BadDomain(EmptyLabel)));
        assert_eq!(domain("-a.com"), Err(Invalid::BadDomain(HyphenAtEdge)));
        assert_eq!(domain("a-.com"), Err(Invalid::BadDomain(HyphenAtEdge)));
        assert_eq!(domain("a b.com"), Err(Invalid::BadDomain(BadChar(' '))));
        assert_eq!(domain("evil.com/x"), Err(Invalid::BadDomain(BadChar('/'))));
        assert_eq!(domain("evil.com:80"), Err(Invalid::BadDomain(BadChar(':'))));
        assert_eq!(domain("a\0.com"), Err(Invalid::BadDomain(BadChar('\0'))));
        // A non-ASCII name with a character UTS #46 disallows.
        assert_eq!(domain("a\u{fffd}.com"), Err(Invalid::BadDomain(Idn)));
        // IDNA succeeds, but the punycode result breaks the DNS rules.
        assert_eq!(domain("bücher..de"), Err(Invalid::BadDomain(EmptyLabel)));
        // Only one root dot is dropped, however it is spelled.
        assert_eq!(
            domain("bücher.de.\u{3002}"),
            Err(Invalid::BadDomain(EmptyLabel))
        );
    }

    // ---- url ----

    #[test]
    fn url_canonicalises() {
        let cases = [
            ("HTTP://Evil.COM:80/a?b#frag", "http://evil.com/a?b"),
            ("https://x.com:443", "https://x.com/"),
            ("evil.com/path", "http://evil.com/path"),
            ("evil.com", "http://evil.com/"),
            ("evil.com:8080", "http://evil.com:8080/"),
            ("//evil.com/x", "http://evil.com/x"),
            ("http://evil.com?q=1", "http://evil.com/?q=1"),
            ("ftp://files.Evil.com:21/f", "ftp://files.evil.com/f"),
            ("ftp://files.evil.com:80/f", "ftp://files.evil.com:80/f"),
            ("https://evil.com:80/", "https://evil.com:80/"),
            ("http://evil.com:0080/", "http://evil.com/"),
            ("http://evil.com:08080/", "http://evil.com:8080/"),
            ("http://evil.com:/", "http://evil.com/"),
            ("http://EVIL.com./A/B?C=D", "http://evil.com/A/B?C=D"),
            ("http://User:PW@Evil.com/", "http://User:PW@evil.com/"),
            ("http://bücher.de/straße", "http://xn--bcher-kva.de/straße"),
            (
                "http://[2001:DB8::0:1]:8080/x",
                "http://[2001:db8::1]:8080/x",
            ),
            ("http://[::1]", "http://[::1]/"),
            ("http://1.2.3.4:80/x", "http://1.2.3.4/x"),
            ("  HTTPS://evil.com/a%2Fb  ", "https://evil.com/a%2Fb"),
            (
                "evil.com/r?u=http://other.com/",
                "http://evil.com/r?u=http://other.com/",
            ),
            ("hxxp://evil.com/", "hxxp://evil.com/"),
            ("http://evil.com#", "http://evil.com/"),
            ("http://a@b@evil.com/", "http://a@b@evil.com/"),
        ];
        for (raw, want) in cases {
            assert_eq!(url(raw).as_deref(), Ok(want), "input {raw:?}");
        }
    }

    #[test]
    fn url_borrows_when_canonical() {
        for s in [
            "http://evil.com/",
            "https://evil.com/a?b=C",
            "http://user@evil.com:8080/x",
            "http://[2001:db8::1]/x",
            "http://1.2.3.4/",
            "ftp://x.org:2121/",
        ] {
            assert!(borrowed(url(s).expect("valid")), "input {s:?}");
        }
        assert!(borrowed(url("  http://evil.com/ ").expect("valid")));
        for s in [
            "Http://evil.com/",
            "http://evil.com",
            "http://evil.com/#x",
            "evil.com/",
            "http://evil.com:80/",
            "http://evil.com./",
            "http://[2001:DB8::1]/",
        ] {
            assert!(!borrowed(url(s).expect("valid")), "input {s:?}");
        }
    }

    #[test]
    fn url_rejects() {
        use UrlProblem::*;
        assert_eq!(url(""), Err(Invalid::Empty));
        assert_eq!(url("http://"), Err(Invalid::BadUrl(EmptyHost)));
        assert_eq!(url("http:///path"), Err(Invalid::BadUrl(EmptyHost)));
        assert_eq!(url("http://user@/x"), Err(Invalid::BadUrl(EmptyHost)));
        assert_eq!(url("http://:80/"), Err(Invalid::BadUrl(EmptyHost)));
        assert_eq!(url("http://evil.com:65536/"), Err(Invalid::BadUrl(BadPort)));
        assert_eq!(
            url("http://evil.com:99999999999/"),
            Err(Invalid::BadUrl(BadPort))
        );
        assert_eq!(url("http://evil.com:8o/"), Err(Invalid::BadUrl(BadPort)));
        assert_eq!(url("http://evil.com:-1/"), Err(Invalid::BadUrl(BadPort)));
        assert_eq!(url("http://[::1/"), Err(Invalid::BadUrl(BadIpLiteral)));
        assert_eq!(
            url("http://[evil.com]/"),
            Err(Invalid::BadUrl(BadIpLiteral))
        );
        assert_eq!(url("http://[::1]x/"), Err(Invalid::BadUrl(BadIpLiteral)));
        assert_eq!(url("http://[::1]:x/"), Err(Invalid::BadUrl(BadPort)));
        assert_eq!(url("1http://evil.com/"), Err(Invalid::BadUrl(BadScheme)));
        assert_eq!(url("://evil.com/"), Err(Invalid::BadUrl(BadScheme)));
        assert_eq!(url("http://evil .com/"), Err(Invalid::Whitespace));
        assert_eq!(url("http://evil.com/a b"), Err(Invalid::Whitespace));
        assert_eq!(url("http://evil.com/a\u{a0}b"), Err(Invalid::Whitespace));
        assert_eq!(url("http://evil.com/a\u{1}b"), Err(Invalid::ControlChar));
        assert_eq!(url("http://evil.com/a\u{85}b"), Err(Invalid::Whitespace));
        assert_eq!(url("http://evil.com/\u{9f}"), Err(Invalid::ControlChar));
        assert_eq!(url("http://*.evil.com/"), Err(Invalid::Wildcard));
        assert_eq!(
            url("http://ev%69l.com/"),
            Err(Invalid::BadDomain(DomainProblem::BadChar('%')))
        );
        assert_eq!(
            url("http://a..b/"),
            Err(Invalid::BadDomain(DomainProblem::EmptyLabel))
        );
    }

    // ---- hashes ----

    #[test]
    fn hashes_canonicalise() {
        let md = "D41D8CD98F00B204E9800998ECF8427E";
        assert_eq!(md5(md).as_deref(), Ok("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(
            sha1(" DA39A3EE5E6B4B0D3255BFEF95601890AFD80709 ").as_deref(),
            Ok("da39a3ee5e6b4b0d3255bfef95601890afd80709")
        );
        let s256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        assert_eq!(
            sha256(s256).as_deref(),
            Ok(s256.to_ascii_lowercase().as_str())
        );
        let s512 = "AB".repeat(64);
        assert_eq!(sha512(&s512).as_deref(), Ok("ab".repeat(64).as_str()));
    }

    #[test]
    fn hashes_borrow_when_canonical() {
        assert!(borrowed(md5(&"a".repeat(32)).expect("ok")));
        assert!(borrowed(sha1(&"0".repeat(40)).expect("ok")));
        assert!(borrowed(sha256(&"f".repeat(64)).expect("ok")));
        assert!(borrowed(sha512(&"9".repeat(128)).expect("ok")));
        assert!(borrowed(hash_any(&"c".repeat(64)).expect("ok").1));
        assert!(!borrowed(md5(&"A".repeat(32)).expect("ok")));
    }

    #[test]
    fn hashes_reject() {
        assert_eq!(md5(""), Err(Invalid::Empty));
        assert_eq!(
            md5(&"a".repeat(31)),
            Err(Invalid::BadHashLength {
                expected: 32,
                got: 31
            })
        );
        assert_eq!(
            sha1(&"a".repeat(32)),
            Err(Invalid::BadHashLength {
                expected: 40,
                got: 32
            })
        );
        assert_eq!(
            sha256(&"a".repeat(65)),
            Err(Invalid::BadHashLength {
                expected: 64,
                got: 65
            })
        );
        assert_eq!(
            sha512(&"a".repeat(64)),
            Err(Invalid::BadHashLength {
                expected: 128,
                got: 64
            })
        );
        assert_eq!(md5(&format!("{}g", "a".repeat(31))), Err(Invalid::NotHex));
        assert_eq!(md5(&format!("0x{}", "a".repeat(30))), Err(Invalid::NotHex));
        assert_eq!(
            md5(&format!("{} {}", "a".repeat(15), "a".repeat(16))),
            Err(Invalid::NotHex)
        );
        // Multi-byte characters count in bytes, so no char-boundary surprises.
        assert_eq!(md5(&format!("{}é", "a".repeat(30))), Err(Invalid::NotHex));
    }

    #[test]
    fn hash_any_picks_by_length() {
        for kind in HashKind::ALL {
            let raw = "B".repeat(kind.hex_len());
            let (k, v) = hash_any(&raw).expect("valid");
            assert_eq!(k, kind);
            assert_eq!(v, "b".repeat(kind.hex_len()));
            assert_eq!(HashKind::from_hex_len(kind.hex_len()), Some(kind));
        }
        assert_eq!(
            hash_any(&"a".repeat(33)),
            Err(Invalid::UnknownHashLength(33))
        );
        assert_eq!(hash_any(&"z".repeat(32)), Err(Invalid::NotHex));
        assert_eq!(hash_any(" "), Err(Invalid::Empty));
    }

    // ---- email ----

    #[test]
    fn email_canonicalises() {
        let cases = [
            ("Alice@Example.COM", "alice@example.com"),
            ("  bob@evil.com ", "bob@evil.com"),
            ("Bob Smith <Bob@Evil.com>", "bob@evil.com"),
            ("\"Smith, Bob\" <bob@evil.com>", "bob@evil.com"),
            ("<bob@evil.com>", "bob@evil.com"),
            ("a@b <bob@evil.com>", "bob@evil.com"),
            ("Bob < bob@evil.com >", "bob@evil.com"),
            ("info@bücher.de", "info@xn--bcher-kva.de"),
            ("x@evil.com.", "x@evil.com"),
            ("first.last+tag@sub.evil.com", "first.last+tag@sub.evil.com"),
            ("Ünïcode@evil.com", "Ünïcode@evil.com"),
        ];
        for (raw, want) in cases {
            assert_eq!(email(raw).as_deref(), Ok(want), "input {raw:?}");
        }
    }

    #[test]
    fn email_borrows_when_canonical() {
        assert!(borrowed(email("bob@evil.com").expect("ok")));
        assert!(borrowed(email("Bob <bob@evil.com>").expect("ok")));
        assert!(!borrowed(email("Bob@evil.com").expect("ok")));
        assert!(!borrowed(email("bob@evil.com.").expect("ok")));
    }

    #[test]
    fn email_rejects() {
        use EmailProblem::*;
        assert_eq!(email(""), Err(Invalid::Empty));
        assert_eq!(email("Bob <>"), Err(Invalid::Empty));
        assert_eq!(email("bob.evil.com"), Err(Invalid::BadEmail(MissingAt)));
        assert_eq!(email("a@b@evil.com"), Err(Invalid::BadEmail(ExtraAt)));
        assert_eq!(email("@evil.com"), Err(Invalid::BadEmail(EmptyLocal)));
        assert_eq!(email("bob@"), Err(Invalid::BadEmail(EmptyDomain)));
        assert_eq!(email("Bob <bob@evil.com"), Err(Invalid::BadEmail(Brackets)));
        assert_eq!(
            email("Bob <bob@evil.com> x"),
            Err(Invalid::BadEmail(Brackets))
        );
        assert_eq!(email("b>ob@evil.com"), Err(Invalid::BadEmail(Brackets)));
        assert_eq!(email("bo b@evil.com"), Err(Invalid::Whitespace));
        assert_eq!(email("bob@ evil.com"), Err(Invalid::Whitespace));
        assert_eq!(email("bo\u{0}b@evil.com"), Err(Invalid::ControlChar));
        assert_eq!(email("bob@*.evil.com"), Err(Invalid::Wildcard));
        assert_eq!(
            email("bob@evil..com"),
            Err(Invalid::BadDomain(DomainProblem::EmptyLabel))
        );
    }

    // ---- file name ----

    #[test]
    fn file_name_rules() {
        assert_eq!(
            file_name("  Invoice.PDF.exe ").as_deref(),
            Ok("Invoice.PDF.exe")
        );
        assert!(borrowed(file_name("Invoice.PDF.exe").expect("ok")));
        assert!(borrowed(file_name(" a b.txt ").expect("ok")));
        assert_eq!(file_name("rapport é.doc").as_deref(), Ok("rapport é.doc"));
        assert_eq!(file_name(" "), Err(Invalid::Empty));
        assert_eq!(file_name("a\0b"), Err(Invalid::ControlChar));
        assert_eq!(file_name("a\u{1b}b"), Err(Invalid::ControlChar));
        assert!(file_name(&"x".repeat(255)).is_ok());
        assert_eq!(
            file_name(&"x".repeat(256)),
            Err(Invalid::TooLong { max: 255, got: 256 })
        );
        // The limit is in bytes: 128 two-byte characters are 256 bytes.
        assert_eq!(
            file_name(&"é".repeat(128)),
            Err(Invalid::TooLong { max: 255, got: 256 })
        );
    }

    #[test]
    fn error_messages_are_readable() {
        assert_eq!(
            Invalid::BadHashLength {
                expected: 32,
                got: 31
            }
            .to_string(),
            "bad hash length: expected 32 hex digits, got 31"
        );
        assert_eq!(
            Invalid::BadDomain(DomainProblem::BadChar('/')).to_string(),
            "bad domain name: character '/' not allowed"
        );
        assert_eq!(
            Invalid::BadUrl(UrlProblem::BadPort).to_string(),
            "bad URL: bad port"
        );
        assert_eq!(
            Invalid::BadEmail(EmailProblem::ExtraAt).to_string(),
            "bad e-mail address: more than one '@'"
        );
    }
}
