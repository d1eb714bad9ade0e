//! Every limit a module runs under, in one place.

use std::time::Duration;

/// Limits applied to every module instance and every call into it.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall-clock budget of one call (`enrich`, `configure`, `describe`).
    pub deadline: Duration,
    /// Linear memory an instance may grow to; growing past it traps.
    pub max_memory: usize,
    /// An instance whose memory has grown past this is replaced after the
    /// batch it is serving, so one huge batch does not pin memory forever.
    pub recycle_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_secs(2),
            max_memory: 256 << 20,
            recycle_memory: 64 << 20,
        }
    }
}

/// How often the engine's epoch advances: the resolution of deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

impl Limits {
    /// The deadline in epoch ticks (at least one).
    pub fn deadline_ticks(&self) -> u64 {
        (self.deadline.as_micros() / EPOCH_TICK.as_micros()).max(1) as u64
    }
}

/// Tracks an instance's memory and refuses growth past the cap. Refusal
/// traps the guest (rather than letting `memory.grow` return -1), so a
/// memory bomb ends its call at once with a clear error.
pub struct Limiter {
    max_memory: usize,
    pub(crate) memory: usize,
}

impl Limiter {
    pub fn new(max_memory: usize) -> Self {
        Limiter {
            max_memory,
            memory: 0,
        }
    }

    pub fn memory(&self) -> usize {
        self.memory
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            return Err(wasmtime::format_err!(
                "memory limit exceeded: the module asked for {} MiB, the limit is {} MiB",
                desired.div_ceil(1 << 20),
                self.max_memory >> 20
            ));
        }
        self.memory = desired;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        const MAX_TABLE: usize = 100_000;
        if desired > MAX_TABLE {
            return Err(wasmtime::format_err!(
                "table limit exceeded: {desired} elements, the limit is {MAX_TABLE}"
            ));
        }
        Ok(true)
    }
}
