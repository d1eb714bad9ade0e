//! taxiway's default enrichment module: CSE-style threat-intel tagging.
//!
//! The policy (`policy`, `scan`, `settings`) is plain Rust; `component` binds
//! it to the `taxiway:enrich` contract when built for `wasm32-wasip2`.

pub mod policy;
pub mod scan;
pub mod settings;

#[cfg(target_family = "wasm")]
mod component;
