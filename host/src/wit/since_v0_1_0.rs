//! Bindings for `taxiway:enrich@0.1.0`, and the host's side of it.

use time::format_description::well_known::Rfc3339;

use crate::runtime::HostState;
use crate::store::{self, Micros};

wasmtime::component::bindgen!({
    path: "../wit/since_v0.1.0",
    world: "module",
});

pub use exports::taxiway::enrich::enricher::{BatchOutput, Description};
use taxiway::enrich::indicators::{
    self, Hit, Indicator, IndicatorKind, LookupOptions, LookupResult, ObservableKind, Query,
    SnapshotInfo,
};

fn observable(kind: ObservableKind) -> store::ObservableKind {
    use store::ObservableKind as S;
    match kind {
        ObservableKind::Ip => S::Ip,
        ObservableKind::Domain => S::Domain,
        ObservableKind::Url => S::Url,
        ObservableKind::Md5 => S::Md5,
        ObservableKind::Sha1 => S::Sha1,
        ObservableKind::Sha256 => S::Sha256,
        ObservableKind::Sha512 => S::Sha512,
        ObservableKind::Hash => S::Hash,
        ObservableKind::Email => S::Email,
        ObservableKind::FileName => S::FileName,
    }
}

fn indicator_kind(kind: taxiway_poller::IndicatorKind) -> IndicatorKind {
    use taxiway_poller::IndicatorKind as K;
    match kind {
        K::Ipv4 => IndicatorKind::Ipv4,
        K::Ipv6 => IndicatorKind::Ipv6,
        K::Ipv4Cidr => IndicatorKind::Ipv4Cidr,
        K::Ipv6Cidr => IndicatorKind::Ipv6Cidr,
        K::Domain => IndicatorKind::Domain,
        K::Url => IndicatorKind::Url,
        K::Md5 => IndicatorKind::Md5,
        K::Sha1 => IndicatorKind::Sha1,
        K::Sha256 => IndicatorKind::Sha256,
        K::Sha512 => IndicatorKind::Sha512,
        K::Email => IndicatorKind::Email,
        K::FileName => IndicatorKind::FileName,
    }
}

pub fn rfc3339(t: Micros) -> Option<String> {
    if t == Micros::MIN || t == Micros::MAX {
        return None;
    }
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1000)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

impl indicators::Host for HostState {
    fn lookup(&mut self, query: Query, options: LookupOptions) -> LookupResult {
        let options = store::LookupOptions {
            parent_domains: options.parent_domains,
        };
        let mut start = 0usize;
        let values = query.kinds.iter().zip(&query.ends).map(|(&kind, &end)| {
            let end = end as usize;
            // Offsets out of order or off a character boundary: this value
            // (and nothing else) matches nothing.
            let value = query.values.get(start..end).unwrap_or("");
            start = end.max(start);
            (observable(kind), value)
        });
        let matches = self
            .snapshot
            .lookup_batch(values, options, self.now, |entry, value| Indicator {
                id: entry.id().to_string(),
                kind: indicator_kind(entry.kind()),
                value: value.to_string(),
                stix_type: entry.kind().stix_type().to_string(),
                source: entry.source().to_string(),
                collection: entry.collection().map(str::to_string),
                confidence: entry.confidence(),
                threat_type: entry.threat_type().map(str::to_string),
                description: entry.description().map(str::to_string),
                valid_from: rfc3339(entry.valid_from()),
                valid_until: rfc3339(entry.valid_until()),
                tags: entry.tags().to_vec(),
                actors: entry.actors().to_vec(),
            });
        LookupResult {
            hits: matches
                .hits
                .into_iter()
                .map(|(observable, indicator)| Hit {
                    observable,
                    indicator,
                })
                .collect(),
            indicators: matches.indicators,
        }
    }

    fn snapshot(&mut self) -> SnapshotInfo {
        SnapshotInfo {
            version: self.snapshot.version(),
            indicators: self.snapshot.len() as u64,
        }
    }
}
