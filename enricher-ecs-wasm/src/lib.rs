//! taxiway's Elastic ECS enrichment module: `threat.enrichments` for ECS
//! records, nested or flattened.
//!
//! `policy` is the ECS format (fields and how a match is written) on the
//! shared engine of `taxiway-enricher-core`, which also holds the component
//! glue this crate exports when built for `wasm32-wasip2`.

pub mod policy;
pub mod settings;

#[cfg(target_family = "wasm")]
mod component {
    type Module = taxiway_enricher_core::component::Module<crate::policy::Ecs>;
    taxiway_enricher_core::component::bindings::export!(Module);
}
