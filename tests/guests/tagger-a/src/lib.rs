//! Tagger, variant `a`: see `../shared/tagger.rs`.

const VARIANT: &str = "a";

include!("../../shared/tagger.rs");
