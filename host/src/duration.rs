//! Durations as people write them in config and flags: `90d`, `15m`, `1h30m`, `500ms`.

use std::time::Duration;

pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("`{text}`: expected a number, e.g. 15m, 1h30m, 90d"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}`: number too large"))?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let secs = match &rest[..unit] {
            "ms" => {
                total += Duration::from_millis(n);
                rest = &rest[unit..];
                continue;
            }
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            "" => return Err(format!("`{text}`: missing unit (ms, s, m, h, d, w)")),
            other => {
                return Err(format!(
                    "`{text}`: unknown unit `{other}` (ms, s, m, h, d, w)"
                ));
            }
        };
        total += Duration::from_secs(
            n.checked_mul(secs)
                .ok_or_else(|| format!("`{text}`: too large"))?,
        );
        rest = &rest[unit..];
    }
    Ok(total)
}

/// The shortest text [`parse`] reads back as `d` (`90d`, `1h30m`, `250ms`).
pub fn format(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    let mut out = String::new();
    let mut secs = d.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    let ms = d.subsec_millis();
    if ms > 0 {
        out.push_str(&format!("{ms}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(parse("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("90d").unwrap(), Duration::from_secs(90 * 86_400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse("15").unwrap_err().contains("missing unit"));
        assert!(parse("5y").unwrap_err().contains("unknown unit"));
        assert!(parse("m").unwrap_err().contains("expected a number"));
        assert!(parse("").is_err());
    }

    #[test]
    fn formats_what_parse_reads_back() {
        for text in ["90d", "1h30m", "250ms", "17d", "15m", "1s500ms"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
        assert_eq!(format(Duration::ZERO), "0s");
    }
}
