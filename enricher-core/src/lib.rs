//! What taxiway's bundled enrichment modules share: the single-pass record
//! scanner, dotted field paths, settings, the batch engine, splicing helpers
//! and the component glue. A module is a [`engine::Format`]: its default
//! fields and how it writes a match into a record.
//!
//! Plain Rust except `component`, which binds a format to the
//! `taxiway:enrich` contract when built for `wasm32-wasip2`.

pub mod edit;
pub mod engine;
pub mod lookup;
pub mod paths;
pub mod scan;
pub mod settings;
pub mod time;

#[cfg(target_family = "wasm")]
pub mod component;
