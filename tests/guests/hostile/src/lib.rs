//! A hostile test module. `describe` is normal; `configure` prints to stdout
//! and stderr and misbehaves when the settings ask it to; `enrich` picks a
//! behaviour per record by a marker substring in the record:
//!
//! | marker  | behaviour                                          |
//! |---------|----------------------------------------------------|
//! | `loop`  | loops forever                                      |
//! | `sleep` | sleeps two minutes (blocked in a WASI clock wait)  |
//! | `chatty`| prints 3,000 lines to stdout, then goes on         |
//! | `bomb`  | allocates and touches 1 MiB chunks forever         |
//! | `panic` | panics (a trap: the profile has `panic = "abort"`) |
//! | `fail`  | returns `Err("asked to fail")` for the batch       |
//! | `short` | returns one line fewer than it got                 |
//! | none    | the record with `,"ok":true` before its final `}`  |
//!
//! Settings containing `configure-loop` make `configure` loop forever;
//! `configure-fail` makes it return an error; `configure-hold-32mib` makes
//! it allocate 32 MiB and keep it.

wit_bindgen::generate!({
    path: "../../../wit/since_v0.1.0",
    world: "module",
});

use std::hint::black_box;

use exports::taxiway::enrich::enricher::{BatchOutput, Description, Guest};

struct Hostile;

impl Guest for Hostile {
    fn describe() -> Description {
        Description {
            name: "hostile".into(),
            version: "6.6.6".into(),
            contract_version: "0.1.0".into(),
            output_format: "test".into(),
        }
    }

    fn configure(settings: String) -> Result<(), String> {
        println!("hostile: configure called with {settings}");
        eprintln!("hostile: on stderr, settings {settings}");
        if settings.contains("configure-loop") {
            spin();
        }
        if settings.contains("configure-fail") {
            return Err("configure was asked to fail".into());
        }
        if settings.contains("configure-hold-32mib") {
            std::mem::forget(black_box(vec![1u8; 32 << 20]));
        }
        Ok(())
    }

    fn enrich(records: Vec<u8>) -> Result<BatchOutput, String> {
        let mut out = Vec::with_capacity(records.len() + 1024);
        for line in records.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            if contains(line, b"loop") {
                spin();
            }
            if contains(line, b"bomb") {
                bomb();
            }
            if contains(line, b"chatty") {
                for i in 0..3000 {
                    println!("hostile: chatter {i}");
                }
            }
            if contains(line, b"sleep") {
                std::thread::sleep(std::time::Duration::from_secs(120));
            }
            if contains(line, b"panic") {
                panic!("hostile module asked to panic");
            }
            if contains(line, b"fail") {
                return Err("asked to fail".into());
            }
            if contains(line, b"short") {
                // Drop this record's line from the output.
                continue;
            }
            match line.iter().rposition(|&b| b == b'}') {
                Some(close) => {
                    out.extend_from_slice(&line[..close]);
                    out.extend_from_slice(b",\"ok\":true");
                    out.extend_from_slice(&line[close..]);
                }
                None => out.extend_from_slice(line),
            }
            out.push(b'\n');
        }
        Ok(BatchOutput {
            records: out,
            tagged: 0,
            errors: Vec::new(),
        })
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Loop forever without being optimised away.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Grow memory forever, touching every page so it is really used.
fn bomb() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        for page in chunk.chunks_mut(4096) {
            page[0] = 1;
        }
        hoard.push(black_box(chunk));
    }
}

export!(Hostile);
