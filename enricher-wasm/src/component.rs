//! The component glue: binds the policy to `taxiway:enrich@0.1.0`.

use std::cell::RefCell;

use crate::policy::{self, Enricher, ObservableKind};
use crate::settings::Settings;

wit_bindgen::generate!({
    path: "../wit/since_v0.1.0",
    world: "module",
});

use exports::taxiway::enrich::enricher::{BatchOutput, Description, Guest, RecordError};
use taxiway::enrich::indicators as host;

/// The contract version this module was built against; the host reads it
/// from the export names too, this copy is what `describe` reports.
const CONTRACT_VERSION: &str = "0.1.0";

thread_local! {
    static ENRICHER: RefCell<Enricher> = RefCell::new(Enricher::new(Settings::default()));
}

struct Module;

impl Guest for Module {
    fn describe() -> Description {
        Description {
            name: "cse".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract_version: CONTRACT_VERSION.into(),
            output_format: "cse".into(),
        }
    }

    fn configure(settings: String) -> Result<(), String> {
        let settings = Settings::parse(&settings)?;
        ENRICHER.with(|e| *e.borrow_mut() = Enricher::new(settings));
        Ok(())
    }

    fn enrich(records: Vec<u8>) -> Result<BatchOutput, String> {
        let out = ENRICHER.with(|e| e.borrow_mut().enrich(&records, &mut HostLookup));
        Ok(BatchOutput {
            records: out.records,
            tagged: out.tagged,
            errors: out
                .errors
                .into_iter()
                .map(|(index, message)| RecordError { index, message })
                .collect(),
        })
    }
}

struct HostLookup;

impl policy::Lookup for HostLookup {
    fn lookup(
        &mut self,
        query: &policy::Query,
        options: policy::LookupOptions,
    ) -> policy::LookupResult {
        let wire = host::Query {
            kinds: query.kinds.iter().map(|k| kind(*k)).collect(),
            values: query.values.clone(),
            ends: query.ends.clone(),
        };
        let result = host::lookup(
            &wire,
            host::LookupOptions {
                parent_domains: options.parent_domains,
            },
        );
        policy::LookupResult {
            hits: result
                .hits
                .into_iter()
                .map(|h| policy::Hit {
                    observable: h.observable,
                    indicator: h.indicator,
                })
                .collect(),
            indicators: result
                .indicators
                .into_iter()
                .map(|i| policy::Indicator {
                    id: i.id,
                    value: i.value,
                    stix_type: i.stix_type,
                    source: i.source,
                    confidence: i.confidence,
                    threat_type: i.threat_type,
                    description: i.description,
                    valid_until: i.valid_until,
                })
                .collect(),
        }
    }
}

fn kind(k: ObservableKind) -> host::ObservableKind {
    use host::ObservableKind as H;
    match k {
        ObservableKind::Ip => H::Ip,
        ObservableKind::Domain => H::Domain,
        ObservableKind::Url => H::Url,
        ObservableKind::Md5 => H::Md5,
        ObservableKind::Sha1 => H::Sha1,
        ObservableKind::Sha256 => H::Sha256,
        ObservableKind::Sha512 => H::Sha512,
        ObservableKind::Hash => H::Hash,
        ObservableKind::Email => H::Email,
        ObservableKind::FileName => H::FileName,
    }
}

export!(Module);
