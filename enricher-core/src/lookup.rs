//! The host's side of the contract, as a module's policy sees it: plain Rust
//! mirrors of the WIT `indicators` interface, so the policy runs natively too.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObservableKind {
    Ip,
    Domain,
    Url,
    Md5,
    Sha1,
    Sha256,
    Sha512,
    Hash,
    Email,
    FileName,
}

impl ObservableKind {
    /// The names settings use.
    pub const NAMES: &'static str =
        "ip, domain, url, md5, sha1, sha256, sha512, hash, email, file-name";

    pub fn from_name(name: &str) -> Option<Self> {
        use ObservableKind::*;
        Some(match name {
            "ip" => Ip,
            "domain" => Domain,
            "url" => Url,
            "md5" => Md5,
            "sha1" => Sha1,
            "sha256" => Sha256,
            "sha512" => Sha512,
            "hash" => Hash,
            "email" => Email,
            "file-name" | "file_name" => FileName,
            _ => return None,
        })
    }
}

/// The kind of a stored indicator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IndicatorKind {
    #[default]
    Ipv4,
    Ipv6,
    Ipv4Cidr,
    Ipv6Cidr,
    Domain,
    Url,
    Md5,
    Sha1,
    Sha256,
    Sha512,
    Email,
    FileName,
}

/// Values to look up, packed column-wise (see the WIT `query` record).
#[derive(Default, Debug)]
pub struct Query {
    pub kinds: Vec<ObservableKind>,
    pub values: String,
    pub ends: Vec<u32>,
}

impl Query {
    pub fn clear(&mut self) {
        self.kinds.clear();
        self.values.clear();
        self.ends.clear();
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    #[inline]
    pub fn value(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.values[start..self.ends[i] as usize]
    }

    #[inline]
    pub(crate) fn push(&mut self, kind: ObservableKind, value: &str) {
        self.kinds.push(kind);
        self.values.push_str(value);
        self.ends.push(self.values.len() as u32);
    }
}

#[derive(Clone, Copy, Debug)]
pub struct LookupOptions {
    pub parent_domains: bool,
}

/// The indicator metadata a policy writes into a record.
#[derive(Clone, Debug, Default)]
pub struct Indicator {
    pub id: String,
    pub kind: IndicatorKind,
    /// The listed value: for a network or parent-domain match it differs
    /// from the value looked up.
    pub value: String,
    pub stix_type: String,
    pub source: String,
    pub collection: Option<String>,
    pub confidence: Option<u8>,
    pub threat_type: Option<String>,
    pub description: Option<String>,
    pub valid_until: Option<String>,
    /// Free-form labels; a TLP marking arrives as `tlp:<colour>`.
    pub tags: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub observable: u32,
    pub indicator: u32,
}

#[derive(Default, Debug)]
pub struct LookupResult {
    pub hits: Vec<Hit>,
    pub indicators: Vec<Indicator>,
}

/// The host's side of the contract, as the policy sees it.
pub trait Lookup {
    fn lookup(&mut self, query: &Query, options: LookupOptions) -> LookupResult;

    /// Milliseconds since the Unix epoch, for policies that stamp when they
    /// matched; `None` where no clock should be read (tests, benchmarks).
    fn now_millis(&mut self) -> Option<u64> {
        None
    }
}

/// A lookup over a fixed table of exact values, for tests and examples.
/// Like the host, it sends an indicator that matches several values (the
/// same id from the same source) once.
#[derive(Clone, Debug, Default)]
pub struct TableLookup {
    /// (value, indicator it matches).
    pub table: Vec<(String, Indicator)>,
    /// What [`Lookup::now_millis`] answers.
    pub now_millis: Option<u64>,
}

impl TableLookup {
    /// The table plus `value` matching `indicator`.
    pub fn with(mut self, value: &str, indicator: Indicator) -> Self {
        self.table.push((value.to_string(), indicator));
        self
    }
}

impl Lookup for TableLookup {
    fn lookup(&mut self, query: &Query, _: LookupOptions) -> LookupResult {
        let mut result = LookupResult::default();
        for i in 0..query.len() {
            for (_, ind) in self.table.iter().filter(|(v, _)| v == query.value(i)) {
                let same = |x: &Indicator| x.id == ind.id && x.source == ind.source;
                let at = match result.indicators.iter().position(same) {
                    Some(at) => at,
                    None => {
                        result.indicators.push(ind.clone());
                        result.indicators.len() - 1
                    }
                };
                result.hits.push(Hit {
                    observable: i as u32,
                    indicator: at as u32,
                });
            }
        }
        result
    }

    fn now_millis(&mut self) -> Option<u64> {
        self.now_millis
    }
}
