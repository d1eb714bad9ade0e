//! taxiway's default enrichment module: CSE-style threat-intel tagging.
//!
//! `policy` is the CSE format (fields and how a match is written) on the
//! shared engine of `taxiway-enricher-core`, which also holds the component
//! glue this crate exports when built for `wasm32-wasip2`.

pub mod policy;
pub mod settings;

pub use taxiway_enricher_core::scan;

#[cfg(target_family = "wasm")]
mod component {
    type Module = taxiway_enricher_core::component::Module<crate::policy::Cse>;
    taxiway_enricher_core::component::bindings::export!(Module);
}
