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

/// How the records are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // boundary.rs writes CSE records only
pub enum Schema {
    /// Flat Sumo Logic CSE records.
    Cse,
    /// Nested Elastic ECS events carrying the same values.
    Ecs,
}

/// ~330-byte records in `schema` (the same values, shapes and hits in
/// either); 1% of them carry an indicator value of `hits` (value, CSE field).
pub fn records_as(
    schema: Schema,
    n: usize,
    hits: &[(String, &'static str)],
    rng: &mut Rng,
) -> Vec<Vec<u8>> {
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
        let record = match (schema, shape) {
            (Schema::Cse, 0) => format!(
                r#"{{"uid":"{:032x}","timestamp":1741075208256,"objectType":"Network","metadata_vendor":"Palo Alto Networks","metadata_product":"Next Generation Firewall","device_hostname":"fw-dc-03","srcDevice_ip":"{src}","srcPort":51234,"dstDevice_ip":"{dst}","dstPort":443,"ipProtocol":"tcp","action":"allow","bytesIn":115940,"bytesOut":72318}}"#,
                rng.next()
            ),
            (Schema::Cse, 1) => format!(
                r#"{{"uid":"{:032x}","timestamp":1741075211646,"objectType":"Network","metadata_vendor":"Microsoft","metadata_product":"Windows DNS Server","srcDevice_ip":"{src}","dstDevice_ip":"{dst}","dstPort":53,"dns_queryDomain":"{domain}","dns_queryType":"A","dns_returnCode":"NOERROR"}}"#,
                rng.next()
            ),
            (Schema::Cse, _) => format!(
                r#"{{"uid":"{:032x}","timestamp":1741075219432,"objectType":"Network","metadata_vendor":"Zscaler","srcDevice_ip":"{src}","dstDevice_ip":"{dst}","http_method":"GET","http_url":"{url}","file_hash_sha256":"{hash}","bytesIn":43194}}"#,
                rng.next()
            ),
            (Schema::Ecs, 0) => format!(
                r#"{{"@timestamp":"2025-03-04T08:00:08.256Z","event":{{"id":"{:032x}","kind":"event","category":["network"],"action":"allow","dataset":"panw.panos"}},"observer":{{"vendor":"Palo Alto Networks","hostname":"fw-dc-03"}},"source":{{"ip":"{src}","port":51234,"bytes":72318}},"destination":{{"ip":"{dst}","port":443,"bytes":115940}},"network":{{"transport":"tcp"}},"related":{{"ip":["{src}","{dst}"]}}}}"#,
                rng.next()
            ),
            (Schema::Ecs, 1) => format!(
                r#"{{"@timestamp":"2025-03-04T08:00:11.646Z","event":{{"id":"{:032x}","kind":"event","category":["network"],"dataset":"microsoft.dns"}},"source":{{"ip":"{src}"}},"destination":{{"ip":"{dst}","port":53}},"dns":{{"question":{{"name":"{domain}","type":"A"}},"response_code":"NOERROR"}}}}"#,
                rng.next()
            ),
            (Schema::Ecs, _) => format!(
                r#"{{"@timestamp":"2025-03-04T08:00:19.432Z","event":{{"id":"{:032x}","kind":"event","category":["web"],"dataset":"zscaler_zia.web"}},"source":{{"ip":"{src}"}},"destination":{{"ip":"{dst}","bytes":43194}},"http":{{"request":{{"method":"GET"}}}},"url":{{"full":"{url}"}},"file":{{"hash":{{"sha256":"{hash}"}}}}}}"#,
                rng.next()
            ),
        };
        out.push(record.into_bytes());
    }
    out
}
