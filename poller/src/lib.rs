//! taxiway's indicator model.
//!
//! - [`normalize`]: canonical text for every kind of observable, shared by
//!   ingest and lookup so that both sides always agree.
//! - [`indicator`]: [`Indicator`] and [`IndicatorKind`].
//! - [`ndjson`]: the indicator file format (one JSON object per line).

#![forbid(unsafe_code)]

pub mod client;
pub mod indicator;
pub mod ndjson;
pub mod normalize;
pub mod stix1;
pub mod taxii11;

pub use indicator::{Indicator, IndicatorError, IndicatorKind};
pub use ndjson::{IngestReport, LineError, RejectedLine, read_indicators, write_indicator};
pub use normalize::{HashKind, Invalid, IpValue};
