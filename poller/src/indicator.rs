//! The indicator model: what kind of observable an indicator is, its
//! canonical value, and the metadata a feed attaches to it.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;

use crate::normalize::{self, HashKind, Invalid, IpValue};

/// Keys inside [`Indicator::fields`] that hold taxiway's own metadata in the
/// NDJSON format and therefore must not also appear as free-form fields.
pub const RESERVED_FIELDS: [&str; 3] = ["description", "collection", "tags"];

/// The kind of observable an indicator matches.
///
/// Serialises as [`IndicatorKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// A single IPv4 address.
    Ipv4,
    /// A single IPv6 address.
    Ipv6,
    /// An IPv4 network in CIDR notation.
    Ipv4Cidr,
    /// An IPv6 network in CIDR notation.
    Ipv6Cidr,
    /// A domain name.
    Domain,
    /// A URL.
    Url,
    /// An MD5 file hash.
    Md5,
    /// A SHA-1 file hash.
    Sha1,
    /// A SHA-256 file hash.
    Sha256,
    /// A SHA-512 file hash.
    Sha512,
    /// An e-mail address.
    Email,
    /// A file name.
    FileName,
}

impl IndicatorKind {
    /// Every kind, in declaration order.
    pub const ALL: [IndicatorKind; 12] = [
        Self::Ipv4,
        Self::Ipv6,
        Self::Ipv4Cidr,
        Self::Ipv6Cidr,
        Self::Domain,
        Self::Url,
        Self::Md5,
        Self::Sha1,
        Self::Sha256,
        Self::Sha512,
        Self::Email,
        Self::FileName,
    ];

    /// Stable snake_case name, for configuration, metrics and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::Ipv4Cidr => "ipv4_cidr",
            Self::Ipv6Cidr => "ipv6_cidr",
            Self::Domain => "domain",
            Self::Url => "url",
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
            Self::Email => "email",
            Self::FileName => "file_name",
        }
    }

    /// The STIX 2.1 type name used in the NDJSON indicator format.
    ///
    /// STIX has no separate CIDR types: `ipv4-addr` and `ipv6-addr` values
    /// may be networks.
    pub const fn stix_type(self) -> &'static str {
        match self {
            Self::Ipv4 | Self::Ipv4Cidr => "ipv4-addr",
            Self::Ipv6 | Self::Ipv6Cidr => "ipv6-addr",
            Self::Domain => "domain-name",
            Self::Url => "url",
            Self::Md5 => "file:hashes.MD5",
            Self::Sha1 => "file:hashes.SHA-1",
            Self::Sha256 => "file:hashes.SHA-256",
            Self::Sha512 => "file:hashes.SHA-512",
            Self::Email => "email-addr",
            Self::FileName => "file:name",
        }
    }

    /// Looks up a declared type, case-insensitively.
    ///
    /// Accepts the STIX names of [`stix_type`](Self::stix_type), the names of
    /// [`as_str`](Self::as_str), and the variants feeds actually use:
    /// `ipv4`, `ipv6`, `domain`, `email`, `file-name`, `filename`, and hash
    /// names with or without the `file:hashes.` prefix, quotes, or dashes
    /// (`file:hashes.'SHA-256'`, `file:hashes.sha256`, `SHA256`). The IP
    /// names return the address kind; whether a value is actually a network
    /// is decided by [`normalize`](Self::normalize).
    pub fn from_type_name(name: &str) -> Option<Self> {
        let lower = name.trim().to_ascii_lowercase();
        let kind = match lower.as_str() {
            "ipv4-addr" | "ipv4" => Self::Ipv4,
            "ipv6-addr" | "ipv6" => Self::Ipv6,
            "ipv4_cidr" | "ipv4-cidr" => Self::Ipv4Cidr,
            "ipv6_cidr" | "ipv6-cidr" => Self::Ipv6Cidr,
            "domain-name" | "domain" => Self::Domain,
            "url" => Self::Url,
            "email-addr" | "email" => Self::Email,
            "file:name" | "file-name" | "file_name" | "filename" => Self::FileName,
            other => {
                let hash = other.strip_prefix("file:hashes.").unwrap_or(other);
                let hash = hash
                    .strip_prefix('\'')
                    .and_then(|h| h.strip_suffix('\''))
                    .unwrap_or(hash);
                match hash {
                    "md5" => Self::Md5,
                    "sha1" | "sha-1" | "sha_1" => Self::Sha1,
                    "sha256" | "sha-256" | "sha_256" => Self::Sha256,
                    "sha512" | "sha-512" | "sha_512" => Self::Sha512,
                    _ => return None,
                }
            }
        };
        Some(kind)
    }

    /// Whether this kind is a network rather than a single value.
    pub const fn is_cidr(self) -> bool {
        matches!(self, Self::Ipv4Cidr | Self::Ipv6Cidr)
    }

    /// The hash algorithm, for the hash kinds.
    pub const fn hash_kind(self) -> Option<HashKind> {
        match self {
            Self::Md5 => Some(HashKind::Md5),
            Self::Sha1 => Some(HashKind::Sha1),
            Self::Sha256 => Some(HashKind::Sha256),
            Self::Sha512 => Some(HashKind::Sha512),
            _ => None,
        }
    }

    /// Normalises `raw` as a value declared to be of this kind.
    ///
    /// Returns the actual kind, which differs from `self` only for IP
    /// values: an address declared as a network (or the other way round)
    /// takes the kind its value has, so `10.0.0.1/32` is [`Ipv4`](Self::Ipv4).
    /// A value of the other IP family is [`Invalid::ExpectedIpv4`] or
    /// [`Invalid::ExpectedIpv6`].
    pub fn normalize(self, raw: &str) -> Result<(IndicatorKind, Cow<'_, str>), Invalid> {
        let same = |v| (self, v);
        match self {
            Self::Ipv4 | Self::Ipv4Cidr | Self::Ipv6 | Self::Ipv6Cidr => {
                let value = normalize::ip(raw)?;
                let kind = match value {
                    IpValue::V4(_) => Self::Ipv4,
                    IpValue::V4Net(..) => Self::Ipv4Cidr,
                    IpValue::V6(_) => Self::Ipv6,
                    IpValue::V6Net(..) => Self::Ipv6Cidr,
                };
                match (self.is_v4(), value.is_v4()) {
                    (true, false) => return Err(Invalid::ExpectedIpv4),
                    (false, true) => return Err(Invalid::ExpectedIpv6),
                    _ => {}
                }
                Ok((kind, normalize::ip_text(value, normalize::trim(raw))))
            }
            Self::Domain => normalize::domain(raw).map(same),
            Self::Url => normalize::url(raw).map(same),
            Self::Md5 => normalize::md5(raw).map(same),
            Self::Sha1 => normalize::sha1(raw).map(same),
            Self::Sha256 => normalize::sha256(raw).map(same),
            Self::Sha512 => normalize::sha512(raw).map(same),
            Self::Email => normalize::email(raw).map(same),
            Self::FileName => normalize::file_name(raw).map(same),
        }
    }

    const fn is_v4(self) -> bool {
        matches!(self, Self::Ipv4 | Self::Ipv4Cidr)
    }
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<HashKind> for IndicatorKind {
    fn from(h: HashKind) -> Self {
        match h {
            HashKind::Md5 => Self::Md5,
            HashKind::Sha1 => Self::Sha1,
            HashKind::Sha256 => Self::Sha256,
            HashKind::Sha512 => Self::Sha512,
        }
    }
}

/// Why an [`Indicator`] cannot be built or is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IndicatorError {
    /// The declared type is none of the names [`IndicatorKind::from_type_name`] knows.
    #[error("unknown type `{0}`")]
    UnknownType(String),
    /// The value does not normalise as its declared type.
    #[error("bad {} value: {reason}", .declared.stix_type())]
    BadValue {
        /// The kind the value was declared as.
        declared: IndicatorKind,
        /// What is wrong with it.
        reason: Invalid,
    },
    /// The value is valid for its kind but not in canonical form (only
    /// possible when [`Indicator::value`] was set directly).
    #[error("{kind} value is not canonical")]
    NotCanonical {
        /// The indicator's kind.
        kind: IndicatorKind,
    },
    /// The id is empty or only whitespace.
    #[error("empty `id`")]
    EmptyId,
    /// The source is empty or only whitespace.
    #[error("empty `source`")]
    EmptySource,
    /// Confidence above 100.
    #[error("`confidence` {0} out of range 0-100")]
    ConfidenceRange(u8),
    /// `valid_until` is earlier than `valid_from`.
    #[error("`validUntil` is before `validFrom`")]
    TimeOrder,
    /// [`Indicator::fields`] holds a key of [`RESERVED_FIELDS`].
    #[error("`fields.{0}` is reserved for the indicator's own {0}")]
    ReservedField(&'static str),
}

impl IndicatorError {
    /// A short reason without per-value detail, for grouping rejections.
    pub fn category(&self) -> String {
        match self {
            Self::BadValue { declared, .. } => format!("bad {} value", declared.stix_type()),
            Self::ConfidenceRange(_) => "`confidence` out of range".to_owned(),
            other => other.to_string(),
        }
    }
}

/// One piece of threat intelligence: a canonical observable plus metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// Identifier assigned by the feed; unique together with `source`.
    pub id: String,
    /// The kind of observable.
    pub kind: IndicatorKind,
    /// Canonical text from [`crate::normalize`].
    pub value: String,
    /// Name of the feed it came from.
    pub source: String,
    /// TAXII collection it came from.
    pub collection: Option<String>,
    /// Confidence, 0..=100.
    pub confidence: Option<u8>,
    /// Free-text threat category (e.g. `malicious-activity`).
    pub threat_type: Option<String>,
    /// Human-readable description.
    pub description: Option<String>,
    /// Start of validity.
    pub valid_from: Option<OffsetDateTime>,
    /// End of validity; never before `valid_from`.
    pub valid_until: Option<OffsetDateTime>,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// Threat actors associated with the indicator.
    pub actors: Vec<String>,
    /// Kill-chain phases.
    pub kill_chain: Vec<String>,
    /// Other feed-specific attributes, passed through untouched. Must not
    /// contain the keys of [`RESERVED_FIELDS`].
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Indicator {
    /// Builds an indicator from a declared type name (see
    /// [`IndicatorKind::from_type_name`]) and a raw value, normalising the
    /// value and deriving the kind from it. Metadata starts empty; set the
    /// public fields afterwards and call [`check`](Self::check) if in doubt.
    pub fn new(
        id: impl Into<String>,
        source: impl Into<String>,
        type_name: &str,
        raw_value: &str,
    ) -> Result<Self, IndicatorError> {
        let id = id.into();
        if id.trim().is_empty() {
            return Err(IndicatorError::EmptyId);
        }
        let source = source.into();
        if source.trim().is_empty() {
            return Err(IndicatorError::EmptySource);
        }
        let declared = IndicatorKind::from_type_name(type_name)
            .ok_or_else(|| IndicatorError::UnknownType(type_name.to_owned()))?;
        let (kind, value) = declared
            .normalize(raw_value)
            .map_err(|reason| IndicatorError::BadValue { declared, reason })?;
        Ok(Self {
            id,
            kind,
            value: value.into_owned(),
            source,
            collection: None,
            confidence: None,
            threat_type: None,
            description: None,
            valid_from: None,
            valid_until: None,
            tags: Vec::new(),
            actors: Vec::new(),
            kill_chain: Vec::new(),
            fields: serde_json::Map::new(),
        })
    }

    /// Verifies the invariants the public fields cannot enforce by
    /// themselves: non-empty id and source, a canonical value of exactly
    /// `kind`, confidence in range, validity in order, no reserved keys in
    /// `fields`.
    pub fn check(&self) -> Result<(), IndicatorError> {
        if self.id.trim().is_empty() {
            return Err(IndicatorError::EmptyId);
        }
        if self.source.trim().is_empty() {
            return Err(IndicatorError::EmptySource);
        }
        let (kind, value) =
            self.kind
                .normalize(&self.value)
                .map_err(|reason| IndicatorError::BadValue {
                    declared: self.kind,
                    reason,
                })?;
        if kind != self.kind || value != self.value.as_str() {
            return Err(IndicatorError::NotCanonical { kind: self.kind });
        }
        if let Some(c) = self.confidence.filter(|&c| c > 100) {
            return Err(IndicatorError::ConfidenceRange(c));
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until)
            && until < from
        {
            return Err(IndicatorError::TimeOrder);
        }
        if let Some(key) = RESERVED_FIELDS
            .into_iter()
            .find(|k| self.fields.contains_key(*k))
        {
            return Err(IndicatorError::ReservedField(key));
        }
        Ok(())
    }

    /// Whether the indicator is valid at `now` (open ends are unbounded).
    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.valid_from.is_none_or(|from| from <= now)
            && self.valid_until.is_none_or(|until| now <= until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ind(type_name: &str, raw: &str) -> Result<Indicator, IndicatorError> {
        Indicator::new("id-1", "feed", type_name, raw)
    }

    #[test]
    fn kind_names_are_stable() {
        let names: Vec<_> = IndicatorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "ipv4",
                "ipv6",
                "ipv4_cidr",
                "ipv6_cidr",
                "domain",
                "url",
                "md5",
                "sha1",
                "sha256",
                "sha512",
                "email",
                "file_name"
            ]
        );
        let stix: Vec<_> = IndicatorKind::ALL.iter().map(|k| k.stix_type()).collect();
        assert_eq!(
            stix,
            [
                "ipv4-addr",
                "ipv6-addr",
                "ipv4-addr",
                "ipv6-addr",
                "domain-name",
                "url",
                "file:hashes.MD5",
                "file:hashes.SHA-1",
                "file:hashes.SHA-256",
                "file:hashes.SHA-512",
                "email-addr",
                "file:name"
            ]
        );
        assert_eq!(IndicatorKind::Ipv4Cidr.to_string(), "ipv4_cidr");
    }

    #[test]
    fn kind_serde_uses_snake_names() {
        for kind in IndicatorKind::ALL {
            let json = serde_json::to_string(&kind).expect("serialises");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: IndicatorKind = serde_json::from_str(&json).expect("deserialises");
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn every_name_parses_back() {
        for kind in IndicatorKind::ALL {
            assert_eq!(IndicatorKind::from_type_name(kind.as_str()), Some(kind));
            let from_stix = IndicatorKind::from_type_name(kind.stix_type());
            // STIX names of CIDR kinds are shared with the address kinds.
            let expect = match kind {
                IndicatorKind::Ipv4Cidr => IndicatorKind::Ipv4,
                IndicatorKind::Ipv6Cidr => IndicatorKind::Ipv6,
                k => k,
            };
            assert_eq!(from_stix, Some(expect), "{}", kind.stix_type());
        }
    }

    #[test]
    fn type_aliases() {
        use IndicatorKind::*;
        let cases = [
            ("IPv4-Addr", Ipv4),
            (" ipv4 ", Ipv4),
            ("IPV6", Ipv6),
            ("ipv4-cidr", Ipv4Cidr),
            ("Domain", Domain),
            ("DOMAIN-NAME", Domain),
            ("URL", Url),
            ("Email", Email),
            ("email-addr", Email),
            ("file-name", FileName),
            ("FileName", FileName),
            ("file:name", FileName),
            ("MD5", Md5),
            ("file:hashes.md5", Md5),
            ("file:hashes.'MD5'", Md5),
            ("sha1", Sha1),
            ("SHA-1", Sha1),
            ("file:hashes.'SHA-1'", Sha1),
            ("file:hashes.'SHA-256'", Sha256),
            ("file:hashes.sha256", Sha256),
            ("SHA256", Sha256),
            ("sha_256", Sha256),
            ("FILE:HASHES.SHA-512", Sha512),
            ("sha512", Sha512),
        ];
        for (name, kind) in cases {
            assert_eq!(IndicatorKind::from_type_name(name), Some(kind), "{name}");
        }
        for bad in [
            "",
            "ip",
            "sha384",
            "file:hashes.",
            "file:hashes.'sha256",
            "x-custom",
        ] {
            assert_eq!(IndicatorKind::from_type_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn new_picks_kind_from_value() {
        let cases = [
            ("ipv4-addr", "10.0.0.1", IndicatorKind::Ipv4, "10.0.0.1"),
            (
                "ipv4-addr",
                "10.1.2.3/8",
                IndicatorKind::Ipv4Cidr,
                "10.0.0.0/8",
            ),
            ("ipv4-addr", "10.1.2.3/32", IndicatorKind::Ipv4, "10.1.2.3"),
            (
                "ipv4-addr",
                "::ffff:10.0.0.1",
                IndicatorKind::Ipv4,
                "10.0.0.1",
            ),
            ("ipv4_cidr", "10.0.0.1", IndicatorKind::Ipv4, "10.0.0.1"),
            (
                "ipv6-addr",
                "2001:DB8::0:1",
                IndicatorKind::Ipv6,
                "2001:db8::1",
            ),
            (
                "ipv6-addr",
                "2001:db8::1/32",
                IndicatorKind::Ipv6Cidr,
                "2001:db8::/32",
            ),
            (
                "domain-name",
                "WWW.Evil.COM.",
                IndicatorKind::Domain,
                "www.evil.com",
            ),
            ("url", "Evil.com", IndicatorKind::Url, "http://evil.com/"),
            (
                "email-addr",
                "Bob <Bob@Evil.com>",
                IndicatorKind::Email,
                "bob@evil.com",
            ),
            ("file:name", " x.EXE ", IndicatorKind::FileName, "x.EXE"),
        ];
        for (ty, raw, kind, value) in cases {
            let i = ind(ty, raw).expect(raw);
            assert_eq!((i.kind, i.value.as_str()), (kind, value), "{ty} {raw}");
            assert_eq!(i.check(), Ok(()));
        }
        for kind in HashKind::ALL {
            let i = ind(
                IndicatorKind::from(kind).stix_type(),
                &"AB".repeat(kind.hex_len() / 2),
            )
            .expect("valid hash");
            assert_eq!(i.kind, IndicatorKind::from(kind));
            assert_eq!(i.kind.hash_kind(), Some(kind));
            assert_eq!(i.value, "ab".repeat(kind.hex_len() / 2));
        }
    }

    #[test]
    fn new_rejects_family_mismatch_and_bad_values() {
        let bad = |ty: &str, raw: &str| ind(ty, raw).expect_err(raw);
        assert_eq!(
            bad("ipv4-addr", "2001:db8::1"),
            IndicatorError::BadValue {
                declared: IndicatorKind::Ipv4,
                reason: Invalid::ExpectedIpv4
            }
        );
        assert_eq!(
            bad("ipv6-addr", "10.0.0.0/8"),
            IndicatorError::BadValue {
                declared: IndicatorKind::Ipv6,
                reason: Invalid::ExpectedIpv6
            }
        );
        // Mapped IPv6 is IPv4, so it does not belong under ipv6-addr.
        assert_eq!(
            bad("ipv6-addr", "::ffff:1.2.3.4"),
            IndicatorError::BadValue {
                declared: IndicatorKind::Ipv6,
                reason: Invalid::ExpectedIpv6
            }
        );
        assert_eq!(
            bad("file:hashes.SHA-256", &"a".repeat(32)),
            IndicatorError::BadValue {
                declared: IndicatorKind::Sha256,
                reason: Invalid::BadHashLength {
                    expected: 64,
                    got: 32
                }
            }
        );
        assert_eq!(
            bad("domain-name", "*.evil.com").to_string(),
            "bad domain-name value: wildcard names are not supported"
        );
        assert_eq!(
            bad("x-thing", "v"),
            IndicatorError::UnknownType("x-thing".into())
        );
        assert_eq!(
            Indicator::new(" ", "feed", "url", "x.com"),
            Err(IndicatorError::EmptyId)
        );
        assert_eq!(
            Indicator::new("id", "", "url", "x.com"),
            Err(IndicatorError::EmptySource)
        );
    }

    #[test]
    fn normalize_borrows_canonical_values() {
        use IndicatorKind::*;
        let cases = [
            (Ipv4, "10.0.0.1"),
            (Ipv4, "10.0.0.0/8"),
            (Ipv6, "2001:db8::1"),
            (Ipv6Cidr, "2001:db8::/32"),
            (Domain, "evil.com"),
            (Url, "http://evil.com/"),
            (Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            (Email, "a@b.com"),
            (FileName, "x.exe"),
        ];
        for (kind, raw) in cases {
            let (_, v) = kind.normalize(raw).expect(raw);
            assert!(matches!(v, Cow::Borrowed(_)), "{raw}");
        }
        let (_, v) = Ipv6.normalize("2001:DB8::1").expect("valid");
        assert!(matches!(v, Cow::Owned(_)));
    }

    #[test]
    fn check_catches_hand_built_inconsistencies() {
        let good = ind("domain-name", "evil.com").expect("valid");
        assert_eq!(good.check(), Ok(()));

        let mut i = good.clone();
        i.value = "Evil.com".into();
        assert_eq!(
            i.check(),
            Err(IndicatorError::NotCanonical {
                kind: IndicatorKind::Domain
            })
        );

        let mut i = ind("ipv4-addr", "10.0.0.0/8").expect("valid");
        i.kind = IndicatorKind::Ipv4;
        assert_eq!(
            i.check(),
            Err(IndicatorError::NotCanonical {
                kind: IndicatorKind::Ipv4
            })
        );

        let mut i = good.clone();
        i.value = "a..b".into();
        assert!(matches!(i.check(), Err(IndicatorError::BadValue { .. })));

        let mut i = good.clone();
        i.confidence = Some(101);
        assert_eq!(i.check(), Err(IndicatorError::ConfidenceRange(101)));
        i.confidence = Some(100);
        assert_eq!(i.check(), Ok(()));

        let mut i = good.clone();
        i.valid_from = Some(datetime!(2024-02-01 0:00 UTC));
        i.valid_until = Some(datetime!(2024-01-01 0:00 UTC));
        assert_eq!(i.check(), Err(IndicatorError::TimeOrder));
        i.valid_until = i.valid_from;
        assert_eq!(i.check(), Ok(()));

        let mut i = good.clone();
        i.fields.insert("tags".into(), serde_json::json!(["x"]));
        assert_eq!(i.check(), Err(IndicatorError::ReservedField("tags")));

        let mut i = good;
        i.source = "  ".into();
        assert_eq!(i.check(), Err(IndicatorError::EmptySource));
    }

    #[test]
    fn validity_window() {
        let mut i = ind("url", "evil.com").expect("valid");
        let t = datetime!(2024-06-01 12:00 UTC);
        assert!(i.is_valid_at(t));
        i.valid_from = Some(datetime!(2024-06-01 12:00 UTC));
        i.valid_until = Some(datetime!(2024-07-01 0:00 UTC));
        assert!(i.is_valid_at(t));
        assert!(!i.is_valid_at(datetime!(2024-06-01 11:59 UTC)));
        assert!(!i.is_valid_at(datetime!(2024-07-01 0:01 UTC)));
        // Offsets are compared as instants.
        assert!(i.is_valid_at(datetime!(2024-06-01 14:00 +2)));
    }

    #[test]
    fn error_categories_drop_detail() {
        let e = ind("ipv4-addr", "nope").expect_err("invalid");
        assert_eq!(e.to_string(), "bad ipv4-addr value: not an IP address");
        assert_eq!(e.category(), "bad ipv4-addr value");
        assert_eq!(
            IndicatorError::ConfidenceRange(200).category(),
            "`confidence` out of range"
        );
        assert_eq!(IndicatorError::EmptyId.category(), "empty `id`");
    }
}
