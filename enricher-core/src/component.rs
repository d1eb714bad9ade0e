//! The component glue every bundled module shares: binds an
//! [`Enricher`](crate::engine::Enricher) of some [`Format`] to
//! `taxiway:enrich@0.1.0`.
//!
//! A module crate exports it with one line:
//!
//! ```ignore
//! type Module = taxiway_enricher_core::component::Module<MyFormat>;
//! taxiway_enricher_core::component::bindings::export!(Module);
//! ```

use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;

use crate::engine::{Enricher, Format};
use crate::lookup::{self, IndicatorKind, ObservableKind};

/// The bindings, generated once here; the `export!` macro they provide
/// writes the export functions into the module crate that calls it.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/since_v0.1.0",
        world: "module",
        pub_export_macro: true,
        default_bindings_module: "taxiway_enricher_core::component::bindings",
    });
}

use bindings::exports::taxiway::enrich::enricher::{BatchOutput, Description, Guest, RecordError};
use bindings::taxiway::enrich::indicators as host;

/// The contract version the modules are built against; the host reads it
/// from the export names too, this copy is what `describe` reports.
const CONTRACT_VERSION: &str = "0.1.0";

thread_local! {
    /// The one enricher of this instance (of the one format the module
    /// exports), made at `configure`, or on first use with the defaults.
    static ENRICHER: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

fn with_enricher<F: Format + 'static, R>(f: impl FnOnce(&mut Enricher<F>) -> R) -> R {
    ENRICHER.with(|slot| {
        let mut slot = slot.borrow_mut();
        if !slot.as_ref().is_some_and(|e| e.is::<Enricher<F>>()) {
            let defaults = F::configure("").expect("a module's defaults are valid settings");
            *slot = Some(Box::new(Enricher::new(defaults)));
        }
        let enricher = slot
            .as_mut()
            .and_then(|e| e.downcast_mut::<Enricher<F>>())
            .expect("just set");
        f(enricher)
    })
}

/// The exported component for format `F`.
pub struct Module<F>(PhantomData<F>);

impl<F: Format + 'static> Guest for Module<F> {
    fn describe() -> Description {
        Description {
            name: F::NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract_version: CONTRACT_VERSION.into(),
            output_format: F::OUTPUT_FORMAT.into(),
        }
    }

    fn configure(settings: String) -> Result<(), String> {
        let enricher = Enricher::new(F::configure(&settings)?);
        ENRICHER.with(|slot| *slot.borrow_mut() = Some(Box::new(enricher)));
        Ok(())
    }

    fn enrich(records: Vec<u8>) -> Result<BatchOutput, String> {
        let out = with_enricher::<F, _>(|e| e.enrich(&records, &mut HostLookup));
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

impl lookup::Lookup for HostLookup {
    fn lookup(
        &mut self,
        query: &lookup::Query,
        options: lookup::LookupOptions,
    ) -> lookup::LookupResult {
        let wire = host::Query {
            kinds: query.kinds.iter().map(|k| observable(*k)).collect(),
            values: query.values.clone(),
            ends: query.ends.clone(),
        };
        let result = host::lookup(
            &wire,
            host::LookupOptions {
                parent_domains: options.parent_domains,
            },
        );
        lookup::LookupResult {
            hits: result
                .hits
                .into_iter()
                .map(|h| lookup::Hit {
                    observable: h.observable,
                    indicator: h.indicator,
                })
                .collect(),
            indicators: result
                .indicators
                .into_iter()
                .map(|i| lookup::Indicator {
                    id: i.id,
                    kind: indicator(i.kind),
                    value: i.value,
                    stix_type: i.stix_type,
                    source: i.source,
                    collection: i.collection,
                    confidence: i.confidence,
                    threat_type: i.threat_type,
                    description: i.description,
                    valid_until: i.valid_until,
                    tags: i.tags,
                })
                .collect(),
        }
    }

    fn now_millis(&mut self) -> Option<u64> {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        u64::try_from(since.as_millis()).ok()
    }
}

fn observable(k: ObservableKind) -> host::ObservableKind {
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

fn indicator(k: host::IndicatorKind) -> IndicatorKind {
    use host::IndicatorKind as H;
    match k {
        H::Ipv4 => IndicatorKind::Ipv4,
        H::Ipv6 => IndicatorKind::Ipv6,
        H::Ipv4Cidr => IndicatorKind::Ipv4Cidr,
        H::Ipv6Cidr => IndicatorKind::Ipv6Cidr,
        H::Domain => IndicatorKind::Domain,
        H::Url => IndicatorKind::Url,
        H::Md5 => IndicatorKind::Md5,
        H::Sha1 => IndicatorKind::Sha1,
        H::Sha256 => IndicatorKind::Sha256,
        H::Sha512 => IndicatorKind::Sha512,
        H::Email => IndicatorKind::Email,
        H::FileName => IndicatorKind::FileName,
    }
}
