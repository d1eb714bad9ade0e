//! The one wasmtime engine of the process, the linker every module is
//! linked with, and module instances.
//!
//! A ticker thread holding only a weak reference to the engine advances its
//! epoch every [`EPOCH_TICK`]; every call into a module runs under an epoch
//! deadline, so an endless loop traps instead of hanging a worker. The
//! epoch only interrupts the module's own code, so WASI's waits (`poll`, a
//! pollable's `block`: a module's `sleep`) are bounded by the same deadline
//! on the host side.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreContextMut};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::function_cache::FunctionCache;
use crate::guest_log::GuestLog;
use crate::limits::{EPOCH_TICK, Limiter, Limits};
use crate::module::LoadedModule;
use crate::store::{Micros, Snapshot};
use crate::wit::since_v0_1_0;

/// What a store holds for one instance.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    /// The indicator snapshot the current call sees.
    pub(crate) snapshot: Arc<Snapshot>,
    /// The clock the current call's expiry checks use.
    pub(crate) now: Micros,
    /// When the current call's deadline passes.
    deadline_at: Instant,
}

impl HostState {
    /// Time left before the current call's deadline.
    fn time_left(&self) -> Duration {
        self.deadline_at.saturating_duration_since(Instant::now())
    }
}

/// The WIT name of the WASI interface whose waits are bounded; the version
/// is the one wasmtime-wasi 48 defines (modules built against any 0.2.x
/// release link to it). Should an update define another, this name would
/// add a new instance instead of replacing the functions:
/// `a_sleeping_record_is_reported_as_a_deadline` catches that.
const WASI_POLL: &str = "wasi:io/poll@0.2.12";

/// Replace WASI's `poll` and `pollable.block` with versions that give up
/// when the call's deadline passes, with the same trap as the epoch
/// deadline: otherwise a module waiting on a clock (`std::thread::sleep`)
/// would hold its worker past the deadline, the epoch check never running
/// while the host waits.
fn bound_waits(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    use wasmtime_wasi::p2::bindings::io::poll::{Host, HostPollable};
    linker.allow_shadowing(true);
    let mut poll = linker.instance(WASI_POLL)?;
    poll.func_wrap(
        "poll",
        |mut store: StoreContextMut<'_, HostState>, (pollables,): (Vec<Resource<DynPollable>>,)| {
            let state = store.data_mut();
            let left = state.time_left();
            let ready = until_deadline(left, Host::poll(&mut state.table, pollables))??;
            Ok((ready,))
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut store: StoreContextMut<'_, HostState>, (pollable,): (Resource<DynPollable>,)| {
            let state = store.data_mut();
            let left = state.time_left();
            until_deadline(left, HostPollable::block(&mut state.table, pollable))??;
            Ok(())
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Run `wait` for at most `left`; past it, the deadline's trap.
fn until_deadline<F: std::future::Future>(left: Duration, wait: F) -> wasmtime::Result<F::Output> {
    wasmtime_wasi::runtime::in_tokio(async move { tokio::time::timeout(left, wait).await })
        .map_err(|_| wasmtime::Error::from(wasmtime::Trap::Interrupt))
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    /// The limits new calls run under; replaced by [`Runtime::set_limits`].
    limits: arc_swap::ArcSwap<Limits>,
    functions: Arc<FunctionCache>,
}

impl Runtime {
    pub fn new(limits: Limits) -> anyhow::Result<Arc<Self>> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        // A memory is reserved at its full 32-bit size up front (wasmtime's
        // default on 64-bit hosts), so it never has to move when it grows;
        // saying so lets compiled code keep the memory's base address in a
        // register instead of reloading it at every access.
        config.memory_may_move(false);
        // A new module compiles only the functions no earlier module had.
        let functions = Arc::new(FunctionCache::new(FunctionCache::DEFAULT_CAPACITY));
        config.enable_incremental_compilation(functions.clone())?;
        // For `perf`: TAXIWAY_PERFMAP names JIT-compiled module functions;
        // TAXIWAY_JITDUMP also keeps their code, for `perf inject --jit` and
        // `perf annotate`.
        if std::env::var_os("TAXIWAY_JITDUMP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::JitDump);
        } else if std::env::var_os("TAXIWAY_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)?;
        start_ticker(&engine);

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        bound_waits(&mut linker)?;
        since_v0_1_0::Module::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |state| state,
        )?;
        Ok(Arc::new(Runtime {
            engine,
            linker,
            limits: arc_swap::ArcSwap::from_pointee(limits),
            functions,
        }))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    /// The limits in force now.
    pub fn limits(&self) -> Arc<Limits> {
        self.limits.load_full()
    }

    /// Put `limits` in force: every call from now on runs under the new
    /// deadline, and each instance made under the old ones is replaced
    /// before its next batch (its memory cap is fixed when it is made).
    pub fn set_limits(&self, limits: Limits) {
        self.limits.store(Arc::new(limits));
    }

    /// Compiled functions kept for the next module's compile.
    pub fn function_cache(&self) -> &FunctionCache {
        &self.functions
    }

    /// A fresh store for `module`: WASI with nothing granted (no folders, no
    /// network, no environment, no arguments), output to the host log.
    pub fn new_store(&self, label: &Arc<str>, limits: &Limits) -> Store<HostState> {
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .stdout(GuestLog::new(label.clone(), "stdout"))
            .stderr(GuestLog::new(label.clone(), "stderr"))
            .allow_blocking_current_thread(true)
            .build();
        let mut store = Store::new(
            &self.engine,
            HostState {
                wasi,
                table: ResourceTable::new(),
                limiter: Limiter::new(limits.max_memory),
                snapshot: Arc::new(Snapshot::default()),
                now: 0,
                deadline_at: Instant::now() + limits.deadline,
            },
        );
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(limits.deadline_ticks());
        store
    }
}

fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    thread::Builder::new()
        .name("taxiway-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}

/// Why a call into a module failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The call ran past its deadline and was interrupted.
    #[error("ran past its {0:?} deadline")]
    Deadline(std::time::Duration),
    /// The module trapped: memory cap, panic, bad memory access, ...
    #[error("trapped: {0}")]
    Trap(String),
    /// The module returned an error.
    #[error("returned an error: {0}")]
    Guest(String),
    /// The module's output breaks the contract.
    #[error("broke the contract: {0}")]
    BadOutput(String),
}

impl CallError {
    /// Classify a failed call. Messages carry the cause only; the wasm
    /// backtrace goes to the debug log, not into every marked record.
    fn from_wasmtime(error: wasmtime::Error, limits: &Limits) -> Self {
        tracing::debug!("module call failed: {error:?}");
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => CallError::Deadline(limits.deadline),
            Some(wasmtime::Trap::UnreachableCodeReached) => {
                CallError::Trap("the module panicked (wasm `unreachable` executed)".into())
            }
            Some(trap) => CallError::Trap(trap.to_string()),
            None => CallError::Trap(error.root_cause().to_string()),
        }
    }

    /// Whether the instance died in the call (as opposed to answering badly).
    pub fn is_trap(&self) -> bool {
        matches!(self, CallError::Deadline(_) | CallError::Trap(_))
    }
}

/// A live instance of a module, reused across batches until it traps, the
/// serving module changes, or its memory grows past the recycle threshold.
pub struct Instance {
    store: Store<HostState>,
    bindings: since_v0_1_0::Module,
    module: Arc<LoadedModule>,
    /// The limits it was made under.
    limits: Arc<Limits>,
}

impl Instance {
    /// Instantiate and configure.
    pub fn new(runtime: &Runtime, module: Arc<LoadedModule>) -> Result<Self, CallError> {
        let mut instance = Self::instantiate(runtime, module)
            .map_err(|e| CallError::from_wasmtime(e, &runtime.limits()))?;
        let limits = instance.limits.clone();
        instance.configure(&limits)?;
        Ok(instance)
    }

    /// Instantiate without configuring. This is where exports are matched
    /// against the contract's signatures, so its error is a link error.
    pub fn instantiate(runtime: &Runtime, module: Arc<LoadedModule>) -> wasmtime::Result<Self> {
        let limits = runtime.limits();
        let mut store = runtime.new_store(&module.label, &limits);
        let bindings = module.pre().instantiate(&mut store)?;
        Ok(Instance {
            store,
            bindings,
            module,
            limits,
        })
    }

    /// Start the deadline of a call: the epoch's for the module's code,
    /// the clock's for its WASI waits.
    fn arm(&mut self, limits: &Limits) {
        self.store.set_epoch_deadline(limits.deadline_ticks());
        self.store.data_mut().deadline_at = Instant::now() + limits.deadline;
    }

    /// Hand the module its settings.
    pub fn configure(&mut self, limits: &Limits) -> Result<(), CallError> {
        self.arm(limits);
        self.bindings
            .taxiway_enrich_enricher()
            .call_configure(&mut self.store, &self.module.settings)
            .map_err(|e| CallError::from_wasmtime(e, limits))?
            .map_err(CallError::Guest)
    }

    pub fn module(&self) -> &Arc<LoadedModule> {
        &self.module
    }

    /// The limits the instance was made under.
    pub fn limits(&self) -> &Arc<Limits> {
        &self.limits
    }

    pub fn describe(&mut self, limits: &Limits) -> Result<since_v0_1_0::Description, CallError> {
        self.arm(limits);
        self.bindings
            .taxiway_enrich_enricher()
            .call_describe(&mut self.store)
            .map_err(|e| CallError::from_wasmtime(e, limits))
    }

    /// Enrich one NDJSON batch of `count` records.
    pub fn enrich(
        &mut self,
        limits: &Limits,
        snapshot: &Arc<Snapshot>,
        now: Micros,
        batch: &[u8],
        count: usize,
    ) -> Result<since_v0_1_0::BatchOutput, CallError> {
        let state = self.store.data_mut();
        state.snapshot = snapshot.clone();
        state.now = now;
        self.arm(limits);
        let out = self
            .bindings
            .taxiway_enrich_enricher()
            .call_enrich(&mut self.store, batch)
            .map_err(|e| CallError::from_wasmtime(e, limits))?
            .map_err(CallError::Guest)?;
        let lines = memchr::memchr_iter(b'\n', &out.records).count();
        if lines != count || out.records.last().is_some_and(|&b| b != b'\n') {
            return Err(CallError::BadOutput(format!(
                "{count} records went in, {lines} lines came out"
            )));
        }
        if let Some(bad) = out.errors.iter().find(|e| e.index as usize >= count) {
            return Err(CallError::BadOutput(format!(
                "an error names record {} of a batch of {count}",
                bad.index
            )));
        }
        Ok(out)
    }

    /// Linear memory the instance has grown to.
    pub fn memory(&self) -> usize {
        self.store.data().limiter.memory()
    }
}
