// The tagger test module, shared by `tagger-a` and `tagger-b`, which
// `include!` it after defining `VARIANT`.
//
// `enrich` splices `,"taggedBy":"<VARIANT>","hits":<n>` before the closing
// brace of every record, where `n` is the number of indicators the host's
// `lookup` found for the record's `ip` field. `lookup` is called exactly once
// per batch, with the `ip` values of all records (possibly none).

wit_bindgen::generate!({
    path: "../../../wit/since_v0.1.0",
    world: "module",
});

use exports::taxiway::enrich::enricher::{BatchOutput, Description, Guest};
use taxiway::enrich::indicators as host;

struct Tagger;

impl Guest for Tagger {
    fn describe() -> Description {
        Description {
            name: "tagger".into(),
            version: format!("1.0.0-{VARIANT}"),
            contract_version: "0.1.0".into(),
            output_format: "test".into(),
        }
    }

    fn configure(_settings: String) -> Result<(), String> {
        Ok(())
    }

    fn enrich(records: Vec<u8>) -> Result<BatchOutput, String> {
        let lines: Vec<&[u8]> = records
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();

        // One query for the whole batch: the `ip` of each record that has one.
        let mut kinds = Vec::new();
        let mut values = String::new();
        let mut ends = Vec::new();
        let mut record_of = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if let Some(ip) = string_field(line, b"\"ip\":\"") {
                kinds.push(host::ObservableKind::Ip);
                values.push_str(&String::from_utf8_lossy(ip));
                ends.push(values.len() as u32);
                record_of.push(i);
            }
        }
        let result = host::lookup(
            &host::Query {
                kinds,
                values,
                ends,
            },
            host::LookupOptions {
                parent_domains: false,
            },
        );
        let mut hits = vec![0u32; lines.len()];
        for hit in &result.hits {
            if let Some(&record) = record_of.get(hit.observable as usize) {
                hits[record] += 1;
            }
        }

        let mut out = Vec::with_capacity(records.len() + lines.len() * 32);
        let mut tagged = 0;
        for (line, hits) in lines.iter().zip(hits) {
            if hits > 0 {
                tagged += 1;
            }
            match line.iter().rposition(|&b| b == b'}') {
                Some(close) => {
                    out.extend_from_slice(&line[..close]);
                    out.extend_from_slice(
                        format!(",\"taggedBy\":\"{VARIANT}\",\"hits\":{hits}").as_bytes(),
                    );
                    out.extend_from_slice(&line[close..]);
                }
                None => out.extend_from_slice(line),
            }
            out.push(b'\n');
        }
        Ok(BatchOutput {
            records: out,
            tagged,
            errors: Vec::new(),
        })
    }
}

/// The value of the first `"key":"value"` whose opening is `prefix`.
fn string_field<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let start = line.windows(prefix.len()).position(|w| w == prefix)? + prefix.len();
    let len = line[start..].iter().position(|&b| b == b'"')?;
    Some(&line[start..start + len])
}

export!(Tagger);
