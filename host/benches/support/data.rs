//! Data the benchmarks share: a deterministic generator and CSE-shaped records.

/// A small deterministic generator (xorshift), so runs are comparable.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Whether `cargo bench` runs this benchmark (it passes `--bench`;
/// `cargo test --benches` does not): else say how to, and do nothing.
pub fn asked_to_run(bench: &str) -> bool {
    let asked = std::env::args().any(|a| a == "--bench");
    if !asked {
        println!("run with `cargo bench -p taxiway --bench {bench}`");
    }
    asked
}

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// ~330-byte CSE records; `hit_rate` of them carry an indicator value.
pub fn records(n: usize, hits: &[(String, &'static str)], rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let hit = !hits.is_empty() && rng.below(100) == 0;
        let src = format!(
            "10.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            rng.below(256)
        );
        let mut dst = format!(
            "100.{}.{}.{}",
            64 + rng.below(64),
            rng.below(256),
            rng.below(256)
        );
        let mut domain = format!(
            "host{}.corp-{}.example.org",
            rng.below(10_000),
            rng.below(100)
        );
        let mut url = format!(
            "https://cdn{}.example.net/assets/app.js?v={}",
            rng.below(100),
            i
        );
        let mut hash = format!("{:016x}{:016x}{:016x}{:016x}", rng.next(), 0, rng.next(), i);
        let mut hit_field = "";
        if hit {
            let (value, field) = &hits[rng.below(hits.len() as u64) as usize];
            hit_field = field;
            match *field {
                "dstDevice_ip" | "srcDevice_ip" => dst = value.clone(),
                "dns_queryDomain" => domain = value.clone(),
                "http_url" => url = value.clone(),
                _ => hash = value.clone(),
            }
        }
        // A hit goes into a record shape that has its field.
        let shape = match (hit, hit_field) {
            (true, "dns_queryDomain") => 1,
            (true, "http_url" | "file_hash_sha256") => 2,
            _ => i % 3,
        };
        let record = match shape {
            0 => format!(
                r#"{{"uid":"{:032x}","timestamp":1741075208256,"objectType":"Network","metadata_vendor":"Palo Alto Networks","metadata_product":"Next Generation Firewall","device_hostname":"fw-dc-03","srcDevice_ip":"{src}","srcPort":51234,"dstDevice_ip":"{dst}","dstPort":443,"ipProtocol":"tcp","action":"allow","bytesIn":115940,"bytesOut":72318}}"#,
                rng.next()
            ),
            1 => format!(
                r#"{{"uid":"{:032x}","timestamp":1741075211646,"objectType":"Network","metadata_vendor":"Microsoft","metadata_product":"Windows DNS Server","srcDevice_ip":"{src}","dstDevice_ip":"{dst}","dstPort":53,"dns_queryDomain":"{domain}","dns_queryType":"A","dns_returnCode":"NOERROR"}}"#,
                rng.next()
            ),
            _ => format!(
                r#"{{"uid":"{:032x}","timestamp":1741075219432,"objectType":"Network","metadata_vendor":"Zscaler","srcDevice_ip":"{src}","dstDevice_ip":"{dst}","http_method":"GET","http_url":"{url}","file_hash_sha256":"{hash}","bytesIn":43194}}"#,
                rng.next()
            ),
        };
        out.push(record.into_bytes());
    }
    out
}
