//! `taxiway serve`: feeds polled on a schedule into the persistent state and
//! the indicator store, records enriched over HTTP, modules swapped while
//! serving.
//!
//! Life cycle: read the config, open the state, publish every persisted
//! indicator (so a restart matches at once, before any poll), load the
//! module, start one task per feed and the sweeper, then listen. SIGHUP
//! re-reads the config (feeds added, changed or removed; module switched)
//! and reloads the module; SIGTERM stops listening, lets requests in flight
//! finish and closes the database.

pub mod api;
pub mod feeds;
pub mod metrics;
pub mod pool;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use taxiway_poller::client::Secret;

use crate::config::{self, Config, FeedConfig};
use crate::limits::Limits;
use crate::module::{Cache, LoadError, LoadedModule};
use crate::registry::{ModuleSource, Registry, WatchHandle};
use crate::runtime::Runtime;
use crate::state::State;
use crate::store::{IndicatorStore, StoreConfig};
use feeds::{FeedHandle, Origin};
use metrics::Metrics;
use pool::WorkerPool;

/// `meta` key naming the uploaded module that serves (none: the config's).
const UPLOADED_MODULE: &str = "uploaded_module";

pub struct Service {
    config_path: PathBuf,
    config: Mutex<Config>,
    pub state: Arc<State>,
    pub store: Arc<IndicatorStore>,
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    pub pool: Arc<WorkerPool>,
    feeds: Mutex<BTreeMap<String, FeedHandle>>,
    /// Replaced when SIGHUP re-reads the config.
    admin_token: arc_swap::ArcSwap<Secret>,
    watch: Mutex<Option<WatchHandle>>,
    modules_dir: PathBuf,
    draining: AtomicBool,
}

impl Service {
    /// Everything but the listener and the feed tasks.
    pub fn open(config_path: &Path) -> anyhow::Result<Arc<Service>> {
        let config = config::load(config_path)
            .map_err(|p| anyhow::anyhow!("{}:\n{p}", config_path.display()))?;
        let admin_token = config
            .server
            .admin_token
            .resolve()
            .map_err(anyhow::Error::msg)
            .context("server.admin_token")?;
        let state = Arc::new(State::open(&config.state.dir)?);
        // Feeds set their own TTLs when indicators are published.
        let store = Arc::new(IndicatorStore::new(StoreConfig { default_ttl: None }));
        let modules_dir = config.state.dir.join("modules");
        std::fs::create_dir_all(&modules_dir)
            .with_context(|| format!("creating {}", modules_dir.display()))?;

        let runtime = Runtime::new(limits(&config.enricher))?;
        let cache = Some(Cache::new(config.state.dir.join("module-cache")));
        let uploaded = state.meta(UPLOADED_MODULE)?;
        let uploaded = uploaded.filter(|name| {
            let present = modules_dir.join(format!("{name}.wasm")).is_file();
            if !present {
                tracing::warn!(
                    module = name,
                    "the uploaded module's file is gone; serving the configured module"
                );
            }
            present
        });
        let source = match &uploaded {
            Some(name) => {
                tracing::info!(module = name, "serving the module uploaded through the API");
                ModuleSource::File(modules_dir.join(format!("{name}.wasm")))
            }
            None => module_source(&config.enricher)?,
        };
        let registry = Registry::new(
            runtime.clone(),
            source,
            config.enricher.settings.to_string(),
            cache,
        )
        .context("loading the enrichment module")?;
        let metrics = Arc::new(Metrics::default());
        let workers = match config.enricher.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let pool = Arc::new(WorkerPool::new(
            runtime,
            registry.clone(),
            store.clone(),
            workers,
            config.enricher.batch_size,
        ));
        let service = Arc::new(Service {
            config_path: config_path.to_path_buf(),
            config: Mutex::new(config),
            state,
            store,
            registry,
            metrics,
            pool,
            feeds: Mutex::new(BTreeMap::new()),
            admin_token: arc_swap::ArcSwap::from_pointee(admin_token),
            watch: Mutex::new(None),
            modules_dir,
            draining: AtomicBool::new(false),
        });
        service.rewatch();
        service.load_persisted()?;
        Ok(service)
    }

    /// Publish what the state holds, for the feeds still configured; forget
    /// feeds that are gone.
    fn load_persisted(&self) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let feeds = self.all_feed_configs()?;
        let mut held = self.state.indicators()?;
        for name in held.keys().cloned().collect::<Vec<_>>() {
            if !feeds.contains_key(&name) {
                tracing::warn!(
                    feed = name,
                    "feed no longer configured; forgetting its indicators"
                );
                self.state.remove_feed(&name)?;
                held.remove(&name);
            }
        }
        let mut total = 0;
        for (name, stored) in held {
            let feed = &feeds[&name].0;
            total += stored.len();
            let indicators = stored
                .into_iter()
                .map(|s| feeds::effective(s, feed))
                .collect();
            self.store
                .replace_source(&name, indicators, crate::store::now_micros());
        }
        tracing::info!(
            indicators = total,
            elapsed = ?started.elapsed(),
            "persisted indicators published"
        );
        Ok(())
    }

    /// Feeds from the config file and from the API.
    fn all_feed_configs(&self) -> anyhow::Result<BTreeMap<String, (FeedConfig, Origin)>> {
        let mut out = BTreeMap::new();
        for feed in &self.config.lock().unwrap_or_else(|e| e.into_inner()).feeds {
            out.insert(feed.name.clone(), (feed.clone(), Origin::Config));
        }
        for (name, json) in self.state.api_feeds()? {
            if out.contains_key(&name) {
                tracing::warn!(
                    feed = name,
                    "a feed added through the API now also exists in the config file; the config file wins"
                );
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(&json)
                .with_context(|| format!("stored settings of feed {name}"))?;
            match config::feed_from_json(&value, &self.modules_dir) {
                Ok(feed) => {
                    out.insert(name, (feed, Origin::Api));
                }
                Err(p) => tracing::error!(feed = name, "stored feed settings no longer valid: {p}"),
            }
        }
        Ok(out)
    }

    /// Start a task per feed and the sweeper. Needs a tokio runtime.
    pub fn start(self: &Arc<Self>) -> anyhow::Result<()> {
        for (_, (feed, origin)) in self.all_feed_configs()? {
            self.start_feed(feed, origin);
        }
        // A sweep at once, then one per `state.sweep_interval` as the
        // config says at the time (SIGHUP may change it).
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(service) = weak.upgrade() else {
                    return;
                };
                let every = service
                    .config
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .state
                    .sweep_interval;
                let _ = tokio::task::spawn_blocking(move || service.sweep()).await;
                tokio::time::sleep(every).await;
            }
        });
        Ok(())
    }

    /// Feeds configured (file and API).
    pub fn feed_count(&self) -> usize {
        self.all_feed_configs().map_or(0, |f| f.len())
    }

    /// Where relative paths in API-added feeds are resolved.
    pub fn state_dir(&self) -> PathBuf {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .state
            .dir
            .clone()
    }

    pub fn admin_token(&self) -> Arc<Secret> {
        self.admin_token.load_full()
    }

    pub fn listen_address(&self) -> String {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .server
            .listen
            .clone()
    }

    pub fn max_body(&self) -> usize {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .server
            .max_body_mib
            << 20
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub fn begin_drain(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Drop expired indicators from disk and from the store.
    pub fn sweep(&self) {
        let feeds = match self.all_feed_configs() {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("sweep: {e:#}");
                return;
            }
        };
        let now = crate::store::now_micros();
        let gone = self.state.sweep(now, &|feed, kind, received, until| {
            until.or_else(|| {
                let ttl = feeds.get(feed)?.0.ttl_for(kind)?;
                Some(received.saturating_add(ttl.as_micros() as i64))
            })
        });
        match gone {
            Ok(gone) => {
                for (feed, n) in gone {
                    tracing::info!(feed, expired = n, "expired indicators swept from the state");
                }
            }
            Err(e) => tracing::error!("sweep: {e}"),
        }
        // The same validity the state used, already in each entry.
        let (_, n) = self.store.sweep(now);
        if n > 0 {
            tracing::info!(expired = n, "expired indicators swept from memory");
        }
    }

    /// Re-read the config file and reload the module; on any problem keep
    /// the current config.
    pub fn reload_config(self: &Arc<Self>) -> Result<(), String> {
        let new = config::load(&self.config_path).map_err(|p| {
            let text = format!("{}: config not reloaded:\n{p}", self.config_path.display());
            tracing::error!("{text}");
            text
        })?;
        let old = std::mem::replace(
            &mut *self.config.lock().unwrap_or_else(|e| e.into_inner()),
            new.clone(),
        );
        if old.server.listen != new.server.listen || old.state.dir != new.state.dir {
            tracing::warn!("server.listen and state.dir take effect at the next start");
        }
        match new.server.admin_token.resolve() {
            Ok(token) if token.expose() != self.admin_token().expose() => {
                self.admin_token.store(Arc::new(token));
                tracing::info!("admin token changed");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!("server.admin_token not reloaded ({e}); the old token stays")
            }
        }
        let (was, now) = (&old.enricher, &new.enricher);
        if was.batch_size != now.batch_size {
            self.pool.set_batch_size(now.batch_size);
            tracing::info!(batch_size = now.batch_size, "enricher batch size changed");
        }
        if was.workers != now.workers {
            tracing::warn!("enricher.workers takes effect at the next start");
        }
        // The module is loaded once: the config's when its module or
        // settings changed, else the serving one again (an uploaded one
        // included). It must load, configure and pass its test call under
        // the new limits; otherwise the old limits stay, and so does the
        // module that was serving.
        let runtime = self.registry.runtime();
        let previous = runtime.limits();
        let new_limits = was.deadline != now.deadline || was.max_memory_mib != now.max_memory_mib;
        if new_limits {
            runtime.set_limits(limits(now));
        }
        let loaded = if (&was.module, &was.module_name, &was.settings)
            != (&now.module, &now.module_name, &now.settings)
        {
            let switched = module_source(now)
                .map_err(|e| e.to_string())
                .and_then(|source| {
                    self.registry
                        .switch(source, now.settings.to_string())
                        .map_err(|e| e.to_string())
                });
            match &switched {
                Ok(_) => {
                    let _ = self.state.set_meta(UPLOADED_MODULE, None);
                    self.rewatch();
                }
                Err(e) => tracing::error!("enricher change not applied: {e}"),
            }
            switched.map(drop)
        } else {
            self.registry.reload().map(drop).map_err(|e| e.to_string())
        };
        if new_limits {
            match loaded {
                Ok(()) => tracing::info!(
                    deadline = ?now.deadline,
                    max_memory_mib = now.max_memory_mib,
                    "enricher limits changed: calls from now on run under them"
                ),
                Err(e) => {
                    runtime.set_limits(Limits::clone(&previous));
                    tracing::error!(
                        "enricher limits not applied: the module fails under them ({e}); \
                         the old limits stay"
                    );
                }
            }
        }
        // Feeds: the config file's set replaces the old one; API feeds stay.
        let old_feeds: BTreeMap<_, _> = old.feeds.iter().map(|f| (f.name.clone(), f)).collect();
        let new_feeds: BTreeMap<_, _> = new.feeds.iter().map(|f| (f.name.clone(), f)).collect();
        for (name, feed) in &old_feeds {
            if !new_feeds.contains_key(name) {
                tracing::info!(feed = %name, "feed removed from the config");
                self.remove_feed(name);
            } else if new_feeds[name] != *feed {
                tracing::info!(feed = %name, "feed changed in the config");
                self.start_feed(new_feeds[name].clone(), Origin::Config);
            }
        }
        for (name, feed) in &new_feeds {
            if !old_feeds.contains_key(name) {
                tracing::info!(feed = %name, "feed added in the config");
                self.start_feed((*feed).clone(), Origin::Config);
            }
        }
        Ok(())
    }

    /// Watch the serving module's file (if it is one).
    fn rewatch(self: &Arc<Self>) {
        let handle = match self.registry.watch() {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("cannot watch the module file: {e}");
                None
            }
        };
        *self.watch.lock().unwrap_or_else(|e| e.into_inner()) = handle;
    }

    /// Check an uploaded module exactly like a changed file, store it and
    /// make it serve.
    pub fn install_module(
        self: &Arc<Self>,
        name: &str,
        bytes: &[u8],
    ) -> Result<Arc<LoadedModule>, InstallError> {
        let path = self.modules_dir.join(format!("{name}.wasm"));
        let settings = self
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .enricher
            .settings
            .to_string();
        let module = crate::module::load(
            self.registry.runtime(),
            bytes,
            &path.display().to_string(),
            &settings,
            self.registry.cache(),
        )
        .inspect_err(|_| {
            self.registry.stats.rejected.fetch_add(1, Ordering::Relaxed);
        })?;
        let tmp = path.with_extension(format!("upload{}", std::process::id()));
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| InstallError::Io(format!("storing {}: {e}", path.display())))?;
        let serving = self
            .registry
            .install(ModuleSource::File(path), settings, module);
        self.state
            .set_meta(UPLOADED_MODULE, Some(name))
            .map_err(|e| InstallError::Io(e.to_string()))?;
        self.rewatch();
        Ok(serving)
    }

    /// Names of modules uploaded through the API.
    pub fn uploaded_modules(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.modules_dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let p = e.path();
                        (p.extension()? == "wasm")
                            .then(|| p.file_stem()?.to_str().map(str::to_owned))?
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// Run the service until SIGTERM or SIGINT: listen, poll, reload on SIGHUP.
/// `ready` receives the bound address once the listener is up.
pub async fn serve(
    service: Arc<Service>,
    ready: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let address = service.listen_address();
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    let bound = listener.local_addr()?;
    service.start()?;
    tracing::info!(address = %bound, "taxiway serving");
    if let Some(ready) = ready {
        let _ = ready.send(bound);
    }
    let mut hup = signal(SignalKind::hangup())?;
    let reloader = service.clone();
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the config and the module");
            let svc = reloader.clone();
            let _ = tokio::task::spawn_blocking(move || svc.reload_config()).await;
        }
    });
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let drain = service.clone();
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: finishing requests in flight"),
            _ = int.recv() => tracing::info!("SIGINT: finishing requests in flight"),
        }
        drain.begin_drain();
    };
    use axum::serve::ListenerExt;
    // Small responses go out at once rather than waiting on Nagle.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, api::router(service.clone()))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    // Stop polling; commits are atomic, so a poll cut short stores nothing
    // half-way and re-polls from its cursor next time.
    service
        .feeds
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    tracing::info!("taxiway stopped");
    Ok(())
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Rejected(#[from] LoadError),
    #[error("{0}")]
    Io(String),
}

fn limits(enricher: &config::EnricherConfig) -> Limits {
    Limits {
        deadline: enricher.deadline,
        max_memory: enricher.max_memory_mib << 20,
        ..Limits::default()
    }
}

fn module_source(enricher: &config::EnricherConfig) -> anyhow::Result<ModuleSource> {
    ModuleSource::parse(&enricher.module, enricher.module_name.as_deref())
        .map_err(anyhow::Error::msg)
        .context("enricher.module")
}
