//! The taxiway host: one wasmtime engine, the indicator store, enrichment
//! modules loaded, checked and hot-swapped, and the batch pipeline that
//! never loses a record.

pub mod store;
