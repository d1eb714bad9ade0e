//! Small pure conversions: STIX timestamps, confidence words, CybOX
//! `InclusiveBetween` address ranges and netmasks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Most CIDR blocks an `InclusiveBetween` address range may turn into.
/// Wider spreads (up to 62 for IPv4, 254 for IPv6) are counted as unsupported.
pub(super) const MAX_RANGE_CIDRS: usize = 32;

/// Parses an `xs:dateTime` as STIX 1.x writes it: RFC 3339 with or without a
/// zone (no zone means UTC), optional fractional seconds, optional seconds;
/// a bare date means its midnight, UTC.
pub(super) fn timestamp(raw: &str) -> Option<OffsetDateTime> {
    let s = crate::normalize::trim(raw).as_bytes();
    let year = digits(s.get(0..4)?)?;
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
        return None;
    }
    let month = Month::try_from(u8::try_from(digits(s.get(5..7)?)?).ok()?).ok()?;
    let day = u8::try_from(digits(s.get(8..10)?)?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(year).ok()?, month, day).ok()?;
    let mut rest = &s[10..];
    let mut time = Time::MIDNIGHT;
    if let Some((&sep, tail)) = rest.split_first()
        && (sep == b'T' || sep == b't' || sep == b' ')
    {
        let hour = digits(tail.get(0..2)?)?;
        if tail.get(2) != Some(&b':') {
            return None;
        }
        let minute = digits(tail.get(3..5)?)?;
        rest = &tail[5..];
        let mut second = 0;
        let mut nanos = 0u32;
        if rest.first() == Some(&b':') {
            second = digits(rest.get(1..3)?)?;
            rest = &rest[3..];
            if rest.first() == Some(&b'.') {
                let frac_len = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
                if frac_len == 0 {
                    return None;
                }
                let frac = &rest[1..1 + frac_len];
                for i in 0..9 {
                    nanos = nanos * 10 + frac.get(i).map_or(0, |d| u32::from(d - b'0'));
                }
                rest = &rest[1 + frac_len..];
            }
        }
        time = Time::from_hms_nano(
            u8::try_from(hour).ok()?,
            u8::try_from(minute).ok()?,
            u8::try_from(second).ok()?,
            nanos,
        )
        .ok()?;
    }
    let offset = match rest {
        [] | [b'Z'] | [b'z'] => UtcOffset::UTC,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let h = i8::try_from(digits(&[*h1, *h2])?).ok()?;
            let m = i8::try_from(digits(&[*m1, *m2])?).ok()?;
            // xs:dateTime allows offsets up to 14:00.
            if h > 14 || m > 59 || (h == 14 && m != 0) {
                return None;
            }
            let (h, m) = if *sign == b'-' { (-h, -m) } else { (h, m) };
            UtcOffset::from_hms(h, m, 0).ok()?
        }
        _ => return None,
    };
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// What a `stixCommon:Value` confidence says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Confidence {
    /// A number 0..=100.
    Value(u8),
    /// `Unknown`: no confidence.
    Unknown,
    /// Neither a word of the HighMediumLow vocabulary nor a number 0..=100.
    Bad,
}

/// Maps the HighMediumLow vocabulary (High 85, Medium 50, Low 15, None 0,
/// Unknown absent) or a number 0..=100 (decimals rounded).
pub(super) fn confidence(raw: &str) -> Confidence {
    let s = crate::normalize::trim(raw);
    for (word, value) in [("high", 85), ("medium", 50), ("low", 15), ("none", 0)] {
        if s.eq_ignore_ascii_case(word) {
            return Confidence::Value(value);
        }
    }
    if s.eq_ignore_ascii_case("unknown") {
        return Confidence::Unknown;
    }
    match s.parse::<f64>() {
        Ok(n) if (0.0..=100.0).contains(&n) => {
            // In range, so the cast cannot truncate.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Confidence::Value(n.round() as u8)
        }
        _ => Confidence::Bad,
    }
}

/// Why an `InclusiveBetween` address range cannot be converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RangeProblem {
    /// Not exactly two bounds, a bound that is not a single address, mixed
    /// families, or the first bound above the second.
    Bad,
    /// Covering the range exactly needs more than [`MAX_RANGE_CIDRS`] blocks.
    TooManyBlocks,
}

/// Turns the inclusive address range `low..=high` into the CIDR blocks that
/// cover exactly that range (as `addr/prefix` text, single addresses without
/// a prefix), in ascending order.
pub(super) fn range_to_cidrs(low: &str, high: &str) -> Result<Vec<String>, RangeProblem> {
    let low: IpAddr = low.trim().parse().map_err(|_| RangeProblem::Bad)?;
    let high: IpAddr = high.trim().parse().map_err(|_| RangeProblem::Bad)?;
    let (lo, hi, bits) = match (low, high) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return Err(RangeProblem::Bad),
    };
    if lo > hi {
        return Err(RangeProblem::Bad);
    }
    let mut out = Vec::new();
    let mut start = lo;
    loop {
        // Largest block that starts at `start` (alignment) and ends by `hi`.
        let align = if start == 0 {
            bits
        } else {
            start.trailing_zeros().min(bits)
        };
        let mut size_log = align;
        // `hi - start + 1` may overflow only for the whole IPv6 space.
        let span = (hi - start).checked_add(1);
        while let Some(span) = span {
            if size_log < 128 && (1u128 << size_log) <= span {
                break;
            }
            size_log -= 1;
        }
        if out.len() == MAX_RANGE_CIDRS {
            return Err(RangeProblem::TooManyBlocks);
        }
        let prefix = bits - size_log;
        let text = if bits == 32 {
            let a = Ipv4Addr::from(u32::try_from(start).map_err(|_| RangeProblem::Bad)?);
            if prefix == 32 {
                a.to_string()
            } else {
                format!("{a}/{prefix}")
            }
        } else {
            let a = Ipv6Addr::from(start);
            if prefix == 128 {
                a.to_string()
            } else {
                format!("{a}/{prefix}")
            }
        };
        out.push(text);
        let last = if size_log == 128 {
            u128::MAX
        } else {
            start + ((1u128 << size_log) - 1)
        };
        if last >= hi {
            return Ok(out);
        }
        start = last + 1;
    }
}

/// Rewrites `a.b.c.d/m.m.m.m` (AddressObj `ipv4-net-mask`) as `a.b.c.d/len`;
/// `None` if the mask is not a contiguous IPv4 netmask. Values without a
/// dotted mask are returned unchanged.
pub(super) fn netmask_to_prefix(raw: &str) -> Option<String> {
    let Some((addr, mask)) = raw.trim().split_once('/') else {
        return Some(raw.to_owned());
    };
    if !mask.contains('.') {
        return Some(raw.to_owned());
    }
    let mask: Ipv4Addr = mask.trim().parse().ok()?;
    let m = u32::from(mask);
    let len = m.leading_ones();
    if m.checked_shl(len).unwrap_or(0) != 0 {
        return None;
    }
    Some(format!("{}/{len}", addr.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps() {
        let cases = [
            (
                "2024-01-15T12:00:00+00:00",
                datetime!(2024-01-15 12:00:00 UTC),
            ),
            ("2024-01-15T12:00:00Z", datetime!(2024-01-15 12:00:00 UTC)),
            ("2024-01-15T12:00:00", datetime!(2024-01-15 12:00:00 UTC)),
            (
                " 2024-01-15T12:00:00.5 ",
                datetime!(2024-01-15 12:00:00.5 UTC),
            ),
            (
                "2024-01-15T12:00:00.123456789123-05:00",
                datetime!(2024-01-15 12:00:00.123456789 -05:00),
            ),
            (
                "2024-01-15T14:30:00+0230",
                datetime!(2024-01-15 14:30:00 +02:30),
            ),
            ("2024-01-15T12:00", datetime!(2024-01-15 12:00:00 UTC)),
            ("2024-01-15", datetime!(2024-01-15 00:00:00 UTC)),
            ("2024-01-15Z", datetime!(2024-01-15 00:00:00 UTC)),
        ];
        for (raw, want) in cases {
            assert_eq!(timestamp(raw), Some(want), "{raw}");
        }
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-02-30T00:00:00Z",
            "2024-01-15T25:00:00Z",
            "2024-01-15T12:00:00+25:00",
            "2024-01-15T12:00:00.Z",
            "2024-01-15T12:00:00 UTC",
            "2024/01/15",
        ] {
            assert_eq!(timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn confidences() {
        assert_eq!(confidence("High"), Confidence::Value(85));
        assert_eq!(confidence(" medium "), Confidence::Value(50));
        assert_eq!(confidence("LOW"), Confidence::Value(15));
        assert_eq!(confidence("None"), Confidence::Value(0));
        assert_eq!(confidence("Unknown"), Confidence::Unknown);
        assert_eq!(confidence("70"), Confidence::Value(70));
        assert_eq!(confidence("99.6"), Confidence::Value(100));
        assert_eq!(confidence("101"), Confidence::Bad);
        assert_eq!(confidence("-1"), Confidence::Bad);
        assert_eq!(confidence("NaN"), Confidence::Bad);
        assert_eq!(confidence("very"), Confidence::Bad);
    }

    #[test]
    fn ranges() {
        let r = |a, b| range_to_cidrs(a, b);
        assert_eq!(r("10.0.0.0", "10.0.0.255"), Ok(vec!["10.0.0.0/24".into()]));
        assert_eq!(r("10.0.0.7", "10.0.0.7"), Ok(vec!["10.0.0.7".into()]));
        assert_eq!(
            r("10.0.0.0", "10.0.2.255"),
            Ok(vec!["10.0.0.0/23".into(), "10.0.2.0/24".into()])
        );
        assert_eq!(
            r("10.0.0.1", "10.0.0.10"),
            Ok(vec![
                "10.0.0.1".into(),
                "10.0.0.2/31".into(),
                "10.0.0.4/30".into(),
                "10.0.0.8/31".into(),
                "10.0.0.10".into()
            ])
        );
        assert_eq!(
            r("0.0.0.0", "255.255.255.255"),
            Ok(vec!["0.0.0.0/0".into()])
        );
        assert_eq!(
            r("255.255.255.254", "255.255.255.255"),
            Ok(vec!["255.255.255.254/31".into()])
        );
        assert_eq!(
            r("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            Ok(vec!["::/0".into()])
        );
        assert_eq!(
            r("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"),
            Ok(vec!["2001:db8::/64".into()])
        );
        assert_eq!(r("10.0.0.9", "10.0.0.1"), Err(RangeProblem::Bad));
        assert_eq!(r("10.0.0.1", "::1"), Err(RangeProblem::Bad));
        assert_eq!(r("10.0.0.0/24", "10.0.1.0"), Err(RangeProblem::Bad));
        assert_eq!(r("evil", "10.0.1.0"), Err(RangeProblem::Bad));
        // 0.0.0.1 .. 255.255.255.254 needs 62 blocks.
        assert_eq!(
            r("0.0.0.1", "255.255.255.254"),
            Err(RangeProblem::TooManyBlocks)
        );
    }

    #[test]
    fn netmasks() {
        assert_eq!(
            netmask_to_prefix("10.1.0.0/255.255.0.0").as_deref(),
            Some("10.1.0.0/16")
        );
        assert_eq!(
            netmask_to_prefix("10.1.0.0/0.0.0.0").as_deref(),
            Some("10.1.0.0/0")
        );
        assert_eq!(netmask_to_prefix("10.1.0.0/255.0.255.0"), None);
        assert_eq!(
            netmask_to_prefix("10.1.0.0/16").as_deref(),
            Some("10.1.0.0/16")
        );
        assert_eq!(netmask_to_prefix("10.1.0.1").as_deref(), Some("10.1.0.1"));
    }
}
