//! The boundary benchmark's module (host/benches/boundary.rs): the same
//! minimal work over a batch passed as `list<string>` or as one NDJSON
//! `list<u8>` (see `wit/boundary.wit`).

wit_bindgen::generate!({
    path: "wit",
    world: "boundary",
});

use exports::taxiway::boundary::records::Guest;

/// What every 100th record gets before its final `}`.
const TAG: &str = r#","t":1"#;
/// Every `EVERY`th record of a batch is tagged.
const EVERY: usize = 100;

fn tagged(index: usize) -> bool {
    index % EVERY == EVERY - 1
}

struct Boundary;

impl Guest for Boundary {
    fn per_record(mut records: Vec<String>) -> Vec<String> {
        for (i, record) in records.iter_mut().enumerate() {
            if tagged(i)
                && let Some(close) = record.rfind('}')
            {
                record.insert_str(close, TAG);
            }
        }
        records
    }

    fn buffer(records: Vec<u8>) -> Vec<u8> {
        // Lines have at least 2 bytes, so at most 1 in 200 bytes ends a tagged line.
        let mut out = Vec::with_capacity(records.len() + (records.len() / 200 + 1) * TAG.len());
        // Start of the run of input not yet copied to `out`.
        let mut copied = 0;
        let mut start = 0;
        for (i, end) in memchr::memchr_iter(b'\n', &records).enumerate() {
            if tagged(i)
                && let Some(close) = memchr::memrchr(b'}', &records[start..end])
            {
                let close = start + close;
                out.extend_from_slice(&records[copied..close]);
                out.extend_from_slice(TAG.as_bytes());
                copied = close;
            }
            start = end + 1;
        }
        out.extend_from_slice(&records[copied..]);
        out
    }
}

export!(Boundary);
