//! Tagger, variant `b`: see `../shared/tagger.rs`.

const VARIANT: &str = "b";

include!("../../shared/tagger.rs");
