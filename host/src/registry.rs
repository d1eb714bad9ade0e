//! The serving module and hot swap.
//!
//! The serving module is published like the indicator snapshot: one atomic
//! pointer that workers read at the start of each batch. A new module is
//! loaded and checked completely (see [`crate::module`]) before the swap,
//! so a module that fails any step never serves and the old one keeps
//! serving. Batches already running finish on the module they started with.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use notify::{RecursiveMode, Watcher};

use crate::module::{self, Cache, LoadError, LoadedModule};
use crate::runtime::Runtime;

/// The CSE module, built from `enricher-wasm` by this build.
pub const CSE_MODULE: &[u8] = include_bytes!(env!("TAXIWAY_MODULE_CSE"));
/// The Elastic ECS module, built from `enricher-ecs-wasm` by this build.
pub const ECS_MODULE: &[u8] = include_bytes!(env!("TAXIWAY_MODULE_ECS"));
/// The module served when none is named: the CSE one.
pub const DEFAULT_MODULE: &[u8] = CSE_MODULE;

/// How a built-in module is named where a module path is accepted:
/// `builtin:cse`, `builtin:ecs`.
pub const BUILTIN_PREFIX: &str = "builtin:";
/// The built-in module served when none is named.
pub const DEFAULT_BUILTIN: &str = "cse";
/// The modules built into the binary, by name.
pub const BUILTIN_MODULES: &[(&str, &[u8])] = &[("cse", CSE_MODULE), ("ecs", ECS_MODULE)];

/// The names of the built-in modules (`cse`, `ecs`).
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN_MODULES.iter().map(|(name, _)| *name)
}

/// The component of the built-in module `name` (without the prefix).
pub fn builtin_module(name: &str) -> Option<&'static [u8]> {
    BUILTIN_MODULES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// Where the serving module comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleSource {
    /// A module embedded in the binary, by name (one of [`BUILTIN_MODULES`];
    /// [`ModuleSource::builtin`] checks the name).
    BuiltIn(&'static str),
    /// A component file, watched for changes.
    File(PathBuf),
}

impl Default for ModuleSource {
    /// The default built-in module.
    fn default() -> Self {
        ModuleSource::BuiltIn(DEFAULT_BUILTIN)
    }
}

impl ModuleSource {
    /// A module spec as the configuration gives it: `builtin:<name>` or a
    /// path (see [`ModuleSource::resolve`]).
    pub fn parse(text: &str, name: Option<&str>) -> Result<Self, String> {
        Self::resolve(Path::new(text), name)
    }

    /// The built-in module `name` (without the prefix).
    pub fn builtin(name: &str) -> Result<Self, String> {
        BUILTIN_MODULES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, _)| ModuleSource::BuiltIn(n))
            .ok_or_else(|| {
                let known: Vec<String> = builtin_names()
                    .map(|n| format!("{BUILTIN_PREFIX}{n}"))
                    .collect();
                format!(
                    "no built-in module `{name}` (built in: {})",
                    known.join(", ")
                )
            })
    }

    /// Where a module spec points: `builtin:<name>` is a built-in module;
    /// anything else is a path, which may be a file, or a folder holding
    /// `<name>.wasm` modules, of which `name` picks the serving one (default:
    /// the only one there). This is the one place a module spec is read
    /// (command line, configuration); a file literally named like a built-in
    /// module is reached as `./builtin:...`.
    pub fn resolve(path: &Path, name: Option<&str>) -> Result<Self, String> {
        if let Some(builtin) = path.to_str().and_then(|p| p.strip_prefix(BUILTIN_PREFIX)) {
            return match name {
                Some(_) => Err(format!(
                    "a module name picks a module in a folder; {} is a built-in module",
                    path.display()
                )),
                None => ModuleSource::builtin(builtin),
            };
        }
        if !path.is_dir() {
            return Ok(ModuleSource::File(path.to_path_buf()));
        }
        if let Some(name) = name {
            return Ok(ModuleSource::File(path.join(format!("{name}.wasm"))));
        }
        let mut wasm: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("cannot read module folder {}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        match wasm.len() {
            1 => Ok(ModuleSource::File(wasm.remove(0))),
            0 => Err(format!("no .wasm module in {}", path.display())),
            _ => Err(format!(
                "{} holds {} modules; pick one with --module-name",
                path.display(),
                wasm.len()
            )),
        }
    }
}

impl ModuleSource {
    /// Read the module and run every check on it (see [`crate::module`]).
    pub fn load(
        &self,
        runtime: &Runtime,
        settings: &str,
        cache: Option<&Cache>,
    ) -> Result<LoadedModule, LoadError> {
        match self {
            ModuleSource::BuiltIn(name) => {
                let bytes = builtin_module(name).ok_or_else(|| LoadError::Read {
                    path: self.to_string().into(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        ModuleSource::builtin(name).unwrap_err(),
                    ),
                })?;
                module::load(runtime, bytes, &self.to_string(), settings, cache)
            }
            ModuleSource::File(path) => module::load_file(runtime, path, settings, cache),
        }
    }
}

impl std::str::FromStr for ModuleSource {
    type Err = String;

    /// [`ModuleSource::resolve`] without a module name: `builtin:ecs`, or a
    /// path, as a configuration file gives it.
    fn from_str(spec: &str) -> Result<Self, String> {
        ModuleSource::resolve(Path::new(spec), None)
    }
}

impl std::fmt::Display for ModuleSource {
    /// As [`ModuleSource::resolve`] reads it back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModuleSource::BuiltIn(name) => write!(f, "{BUILTIN_PREFIX}{name}"),
            ModuleSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Counters of the registry's life.
#[derive(Debug, Default)]
pub struct RegistryStats {
    pub swaps: AtomicU64,
    pub rejected: AtomicU64,
}

pub struct Registry {
    runtime: Arc<Runtime>,
    /// What [`Registry::reload`] loads: the source and its settings.
    source: Mutex<(ModuleSource, String)>,
    cache: Option<Cache>,
    serving: ArcSwap<LoadedModule>,
    generation: AtomicU64,
    /// Serialises loads, so two reloads never race to swap.
    loading: Mutex<()>,
    pub stats: RegistryStats,
}

impl Registry {
    /// Load the first module; failing that, there is nothing to serve.
    pub fn new(
        runtime: Arc<Runtime>,
        source: ModuleSource,
        settings: String,
        cache: Option<Cache>,
    ) -> Result<Arc<Self>, LoadError> {
        let first = source.load(&runtime, &settings, cache.as_ref())?;
        tracing::info!(module = %first.label, origin = %first.info.origin, "module serving");
        Ok(Arc::new(Registry {
            runtime,
            source: Mutex::new((source, settings)),
            cache,
            serving: ArcSwap::from_pointee(first),
            generation: AtomicU64::new(1),
            loading: Mutex::new(()),
            stats: RegistryStats::default(),
        }))
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    pub fn cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }

    fn source(&self) -> (ModuleSource, String) {
        self.source
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The module new batches use. Never blocks.
    pub fn serving(&self) -> Arc<LoadedModule> {
        self.serving.load_full()
    }

    /// Grows by one with every swap.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Load the source again and swap it in if it passes every check.
    pub fn reload(&self) -> Result<Arc<LoadedModule>, LoadError> {
        let _guard = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        let (source, settings) = self.source();
        self.load_and_swap(&source, &settings)
    }

    /// Serve another source (with its settings) from now on, if it passes
    /// every check; otherwise keep the current one.
    pub fn switch(
        &self,
        source: ModuleSource,
        settings: String,
    ) -> Result<Arc<LoadedModule>, LoadError> {
        let _guard = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        let module = self.load_and_swap(&source, &settings)?;
        *self.source.lock().unwrap_or_else(|e| e.into_inner()) = (source, settings);
        Ok(module)
    }

    /// Serve `module`, already loaded and checked from `source`.
    pub fn install(
        &self,
        source: ModuleSource,
        settings: String,
        module: LoadedModule,
    ) -> Arc<LoadedModule> {
        let _guard = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        *self.source.lock().unwrap_or_else(|e| e.into_inner()) = (source, settings);
        self.swap(module)
    }

    fn load_and_swap(
        &self,
        source: &ModuleSource,
        settings: &str,
    ) -> Result<Arc<LoadedModule>, LoadError> {
        match source.load(&self.runtime, settings, self.cache.as_ref()) {
            Ok(module) => Ok(self.swap(module)),
            Err(e) => {
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    serving = %self.serving().label,
                    "new module rejected, the old one keeps serving: {e}"
                );
                Err(e)
            }
        }
    }

    fn swap(&self, module: LoadedModule) -> Arc<LoadedModule> {
        let module = Arc::new(module);
        let old = self.serving.swap(module.clone());
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.stats.swaps.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            old = %old.label, new = %module.label, digest = %module.info.digest, generation,
            "module swapped"
        );
        module
    }

    /// Watch the module file and reload when it changes. Returns the watcher;
    /// dropping it stops watching.
    pub fn watch(self: &Arc<Self>) -> notify::Result<Option<WatchHandle>> {
        let ModuleSource::File(path) = self.source().0 else {
            return Ok(None);
        };
        let path = std::path::absolute(&path).unwrap_or(path);
        // Watch the folder: editors and deploy tools replace files by rename,
        // which a watch on the file itself would miss.
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let (tx, rx) = mpsc::channel::<()>();
        let target = path.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && !matches!(event.kind, notify::EventKind::Access(_))
                    && event.paths.iter().any(|p| p == &target)
                {
                    let _ = tx.send(());
                }
            })?;
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
        let registry = Arc::downgrade(self);
        thread::Builder::new()
            .name("taxiway-module-watch".into())
            .spawn(move || {
                // Settle: a writer's burst of events becomes one reload.
                const SETTLE: Duration = Duration::from_millis(15);
                while rx.recv().is_ok() {
                    let mut last = Instant::now();
                    while let Ok(()) = rx.recv_timeout(SETTLE.saturating_sub(last.elapsed())) {
                        last = Instant::now();
                    }
                    let Some(registry) = registry.upgrade() else {
                        return;
                    };
                    if path.exists() {
                        let _ = registry.reload();
                    }
                }
            })
            .map_err(|e| notify::Error::generic(&e.to_string()))?;
        Ok(Some(WatchHandle { _watcher: watcher }))
    }
}

/// Keeps a module file watched while alive.
pub struct WatchHandle {
    _watcher: notify::RecommendedWatcher,
}
