//! A module built against `taxiway:enrich@0.2.0` (see `wit/`), a contract
//! version this host does not support. Otherwise well behaved.

wit_bindgen::generate!({
    path: "wit",
    world: "module",
});

use exports::taxiway::enrich::enricher::{BatchOutput, Description, Guest};

struct WrongVersion;

impl Guest for WrongVersion {
    fn describe() -> Description {
        Description {
            name: "wrong-version".into(),
            version: "1.0.0".into(),
            contract_version: "0.2.0".into(),
            output_format: "test".into(),
        }
    }

    fn configure(_settings: String) -> Result<(), String> {
        Ok(())
    }

    fn enrich(records: Vec<u8>) -> Result<BatchOutput, String> {
        Ok(BatchOutput {
            records,
            tagged: 0,
            errors: Vec::new(),
        })
    }
}

export!(WrongVersion);
