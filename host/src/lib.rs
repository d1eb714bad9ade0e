//! The taxiway host: one wasmtime engine, the indicator store, enrichment
//! modules loaded, checked and hot-swapped, and the batch pipeline that
//! never loses a record.

pub mod config;
pub mod demo_server;
pub mod duration;
pub mod function_cache;
pub mod guest_log;
pub mod limits;
pub mod module;
pub mod registry;
pub mod runtime;
pub mod service;
pub mod state;
pub mod store;
pub mod wit;
pub mod worker;
