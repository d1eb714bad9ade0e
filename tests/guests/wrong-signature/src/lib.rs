//! A module that claims `taxiway:enrich@0.1.0` but whose `enrich` takes a
//! `string` instead of `list<u8>` (see `wit/`).

wit_bindgen::generate!({
    path: "wit",
    world: "module",
});

use exports::taxiway::enrich::enricher::{BatchOutput, Description, Guest};

struct WrongSignature;

impl Guest for WrongSignature {
    fn describe() -> Description {
        Description {
            name: "wrong-signature".into(),
            version: "1.0.0".into(),
            contract_version: "0.1.0".into(),
            output_format: "test".into(),
        }
    }

    fn configure(_settings: String) -> Result<(), String> {
        Ok(())
    }

    fn enrich(records: String) -> Result<BatchOutput, String> {
        Ok(BatchOutput {
            records: records.into_bytes(),
            tagged: 0,
            errors: Vec::new(),
        })
    }
}

export!(WrongSignature);
