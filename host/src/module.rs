//! Loading a module: every step a new module must pass before it may serve.
//!
//! read -> format -> compile (or load from the cache) -> contract version ->
//! link -> instantiate + configure -> describe -> test call. A module that
//! fails a step is rejected with an error naming that step.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use crate::runtime::{CallError, Instance, Runtime};
use crate::store::{IndicatorStore, Snapshot, StoreConfig};
use crate::wit::{ContractVersion, since_v0_1_0};

/// What `describe` said, plus where the module came from.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ModuleInfo {
    pub name: String,
    pub version: String,
    pub contract_version: String,
    pub output_format: String,
    /// File path, or `builtin:<name>`.
    pub origin: String,
    /// SHA-256 of the component bytes.
    pub digest: String,
}

/// A module that passed every check, ready to instantiate.
#[derive(Clone)]
pub struct LoadedModule {
    pub info: ModuleInfo,
    /// `name@version`, for logs.
    pub label: Arc<str>,
    pub settings: String,
    pre: since_v0_1_0::ModulePre<crate::runtime::HostState>,
}

impl LoadedModule {
    pub(crate) fn pre(&self) -> &since_v0_1_0::ModulePre<crate::runtime::HostState> {
        &self.pre
    }
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule")
            .field("info", &self.info)
            .finish()
    }
}

/// Why a module was rejected; the variant is the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("rejected at step `read` ({path}): {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not a WebAssembly component.
    #[error("rejected at step `format`: {0}")]
    Format(String),
    /// wasmtime could not compile it.
    #[error("rejected at step `compile`: {0:#}")]
    Compile(wasmtime::Error),
    /// Built against a contract this host does not speak.
    #[error("rejected at step `contract`: {0}")]
    Contract(String),
    /// Its imports or exports do not match the contract's signatures
    /// (exports are matched when the first instance is made).
    #[error("rejected at step `link`: {0:#}")]
    Link(wasmtime::Error),
    /// Instantiation or `configure` failed.
    #[error("rejected at step `configure`: {0}")]
    Configure(CallError),
    /// `describe` failed or described something inconsistent.
    #[error("rejected at step `describe`: {0}")]
    Describe(String),
    /// The test call on sample records failed.
    #[error("rejected at step `test call`: {0}")]
    TestCall(CallError),
}

/// Sample records every new module must enrich before it may serve.
const SAMPLE_RECORDS: &[u8] = include_bytes!("sample_records.ndjson");

/// A one-indicator snapshot, so the test call exercises the lookup import.
fn sample_snapshot() -> Arc<Snapshot> {
    static SNAPSHOT: OnceLock<Arc<Snapshot>> = OnceLock::new();
    SNAPSHOT
        .get_or_init(|| {
            let store = IndicatorStore::new(StoreConfig { default_ttl: None });
            let indicator = taxiway_poller::Indicator::new(
                "sample-1",
                "taxiway-selftest",
                "ipv4-addr",
                "192.0.2.1",
            )
            .expect("a valid sample indicator");
            store.replace_all(vec![indicator], 0)
        })
        .clone()
}

/// Compiled components are cached by content so a restart does not
/// recompile. The key covers the engine's settings and version too.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Cache { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/taxiway/modules`, else `~/.cache/taxiway/modules`.
    pub fn default_location() -> Option<Self> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(Cache::new(base.join("taxiway").join("modules")))
    }

    fn path(&self, runtime: &Runtime, digest: &str) -> PathBuf {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        runtime
            .engine()
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        self.dir
            .join(format!("{digest}-{:016x}.cwasm", hasher.finish()))
    }

    fn load(&self, runtime: &Runtime, digest: &str) -> Option<Component> {
        let path = self.path(runtime, digest);
        // Read into memory rather than map the file: a mapped file that is
        // truncated or rewritten while its module serves would crash the
        // process (SIGBUS).
        let bytes = std::fs::read(&path).ok()?;
        // SAFETY: the bytes are a file this cache wrote with
        // `Component::serialize` for this engine configuration (the name
        // carries the engine's compatibility hash), in a folder only taxiway
        // writes; wasmtime checks the header and refuses other versions and
        // configurations.
        match unsafe { Component::deserialize(runtime.engine(), &bytes) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring unusable cached module: {e:#}");
                None
            }
        }
    }

    fn store(&self, runtime: &Runtime, digest: &str, component: &Component) {
        let result = (|| -> anyhow::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let bytes = component.serialize()?;
            let path = self.path(runtime, digest);
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)?;
            Ok(())
        })();
        if let Err(e) = result {
            tracing::warn!(dir = %self.dir.display(), "could not cache a compiled module: {e:#}");
        }
    }
}

/// Read and load a module file.
pub fn load_file(
    runtime: &Runtime,
    path: &Path,
    settings: &str,
    cache: Option<&Cache>,
) -> Result<LoadedModule, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load(
        runtime,
        &bytes,
        &path.display().to_string(),
        settings,
        cache,
    )
}

/// Run every check on `bytes` and return the module ready to serve.
pub fn load(
    runtime: &Runtime,
    bytes: &[u8],
    origin: &str,
    settings: &str,
    cache: Option<&Cache>,
) -> Result<LoadedModule, LoadError> {
    check_format(bytes)?;
    let digest = hex(&Sha256::digest(bytes));
    let component = match cache.and_then(|c| c.load(runtime, &digest)) {
        Some(component) => component,
        None => {
            let component = Component::new(runtime.engine(), bytes).map_err(LoadError::Compile)?;
            if let Some(cache) = cache {
                cache.store(runtime, &digest, &component);
            }
            component
        }
    };

    let ty = component.component_type();
    let (_, contract) =
        ContractVersion::of_exports(ty.exports(runtime.engine()).map(|(name, _)| name))
            .map_err(LoadError::Contract)?;

    let pre = runtime
        .linker()
        .instantiate_pre(&component)
        .map_err(LoadError::Link)?;
    let pre = since_v0_1_0::ModulePre::new(pre).map_err(LoadError::Link)?;

    let mut module = LoadedModule {
        info: ModuleInfo {
            name: String::new(),
            version: String::new(),
            contract_version: contract.clone(),
            output_format: String::new(),
            origin: origin.to_string(),
            digest,
        },
        label: Arc::from(origin),
        settings: settings.to_string(),
        pre,
    };
    // Describe first with an unconfigured label; the final label is
    // `name@version`.
    let mut instance =
        Instance::instantiate(runtime, Arc::new(module.clone())).map_err(LoadError::Link)?;
    // Every step runs under the limits the instance was made under.
    let limits = instance.limits().clone();
    instance.configure(&limits).map_err(LoadError::Configure)?;
    let description = instance
        .describe(&limits)
        .map_err(|e| LoadError::Describe(e.to_string()))?;
    if description.contract_version != contract {
        return Err(LoadError::Describe(format!(
            "describe() says contract {}, but the module exports {}@{contract}",
            description.contract_version,
            crate::wit::PACKAGE
        )));
    }
    if description.name.trim().is_empty() {
        return Err(LoadError::Describe("describe() gave an empty name".into()));
    }
    let count = memchr::memchr_iter(b'\n', SAMPLE_RECORDS).count();
    instance
        .enrich(&limits, &sample_snapshot(), 1, SAMPLE_RECORDS, count)
        .map_err(LoadError::TestCall)?;

    module.label = Arc::from(format!("{}@{}", description.name, description.version));
    module.info.name = description.name;
    module.info.version = description.version;
    module.info.output_format = description.output_format;
    Ok(module)
}

fn check_format(bytes: &[u8]) -> Result<(), LoadError> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(LoadError::Format(
            "not a WebAssembly file (no \\0asm header)".into(),
        ));
    }
    // Bytes 4..8: a core module has version 1 and layer 0; a component has
    // layer 1.
    if bytes[6..8] == [0, 0] {
        return Err(LoadError::Format(
            "a core WebAssembly module, not a component: build for wasm32-wasip2 \
             (or wrap it with `wasm-tools component new`)"
                .into(),
        ));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
