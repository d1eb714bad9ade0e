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

/// The component built from `enricher-wasm` by this build.
pub const DEFAULT_MODULE: &[u8] = include_bytes!(env!("TAXIWAY_DEFAULT_MODULE"));

/// Names accepted after `builtin:`.
pub const BUILTIN_NAMES: &[&str] = &["cse"];

/// Where the serving module comes from.
#[derive(Clone, Debug)]
pub enum ModuleSource {
    /// The default module embedded in the binary.
    BuiltIn,
    /// A component file, watched for changes.
    File(PathBuf),
}

impl ModuleSource {
    /// `builtin:<name>`, else a path as [`ModuleSource::resolve`] takes it.
    pub fn parse(text: &str, name: Option<&str>) -> Result<Self, String> {
        match text.strip_prefix("builtin:") {
            Some("cse") => Ok(ModuleSource::BuiltIn),
            Some(other) => Err(format!(
                "no built-in module `{other}` (built-in: {})",
                BUILTIN_NAMES.join(", ")
            )),
            None => Self::resolve(Path::new(text), name),
        }
    }

    /// `path` may be a file, or a folder holding `<name>.wasm` modules, of
    /// which `name` picks the serving one (default: the only one there).
    pub fn resolve(path: &Path, name: Option<&str>) -> Result<Self, String> {
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
        let first = load_source(&runtime, &source, &settings, cache.as_ref())?;
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
        match load_source(&self.runtime, source, settings, self.cache.as_ref()) {
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

fn load_source(
    runtime: &Runtime,
    source: &ModuleSource,
    settings: &str,
    cache: Option<&Cache>,
) -> Result<LoadedModule, LoadError> {
    match source {
        ModuleSource::BuiltIn => module::load(runtime, DEFAULT_MODULE, "built-in", settings, cache),
        ModuleSource::File(path) => module::load_file(runtime, path, settings, cache),
    }
}
