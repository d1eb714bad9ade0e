//! The contract versions this host speaks, one generated module each.
//!
//! A new contract version gets a new `since_vX_Y_Z` module next to this one
//! and a new arm in [`ContractVersion`]; older modules keep loading.

pub mod since_v0_1_0;

/// The contract package every module must export from.
pub const PACKAGE: &str = "taxiway:enrich";

/// Contract versions this host can load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContractVersion {
    V0_1,
}

impl ContractVersion {
    /// The supported range, for error messages.
    pub const SUPPORTED: &'static str = ">=0.1.0, <0.2.0";

    /// The version a module was built against, from its export names
    /// (`taxiway:enrich/enricher@0.1.0`), checked against what this host
    /// supports.
    pub fn of_exports<'a>(
        exports: impl Iterator<Item = &'a str>,
    ) -> Result<(Self, String), String> {
        let mut seen = Vec::new();
        for name in exports {
            let Some(rest) = name.strip_prefix("taxiway:enrich/enricher@") else {
                seen.push(name.to_string());
                continue;
            };
            let mut parts = rest.split('.').map(|p| p.parse::<u64>());
            return match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(Ok(0)), Some(Ok(1)), Some(Ok(_)), None) => {
                    Ok((ContractVersion::V0_1, rest.to_string()))
                }
                (Some(Ok(_)), Some(Ok(_)), Some(Ok(_)), None) => Err(format!(
                    "the module was built against {PACKAGE}@{rest}; this host supports {PACKAGE} {}",
                    Self::SUPPORTED
                )),
                _ => Err(format!(
                    "the module exports {name}, whose version is not semver"
                )),
            };
        }
        Err(format!(
            "the module does not export `{PACKAGE}/enricher` (it exports: {}); is it a taxiway module?",
            if seen.is_empty() {
                "nothing".to_string()
            } else {
                seen.join(", ")
            }
        ))
    }
}
