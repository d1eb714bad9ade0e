//! Workers for HTTP requests: each holds a module instance, reused across
//! requests. At most `size` run at once; a request waits for a permit
//! rather than piling up instances.

use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::registry::Registry;
use crate::runtime::Runtime;
use crate::store::IndicatorStore;
use crate::worker::{Batch, BatchStats, Worker};

/// Bodies up to this size are enriched on the request's own task: the call
/// takes microseconds, less than a hand-over to the blocking pool.
const INLINE_BYTES: usize = 16 << 10;

pub struct WorkerPool {
    runtime: Arc<Runtime>,
    registry: Arc<Registry>,
    store: Arc<IndicatorStore>,
    idle: Mutex<Vec<Worker>>,
    permits: Arc<Semaphore>,
    batch_size: usize,
}

/// What one request's records came to.
#[derive(Debug, Default)]
pub struct Enriched {
    pub out: Vec<u8>,
    pub stats: BatchStats,
    /// `name@version` of the module that served the last batch.
    pub module: String,
    pub batches: Vec<std::time::Duration>,
}

impl WorkerPool {
    pub fn new(
        runtime: Arc<Runtime>,
        registry: Arc<Registry>,
        store: Arc<IndicatorStore>,
        size: usize,
        batch_size: usize,
    ) -> Self {
        WorkerPool {
            runtime,
            registry,
            store,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size.max(1))),
            batch_size: batch_size.max(1),
        }
    }

    /// Enrich NDJSON `body`: one output line per non-blank input line, in order.
    pub async fn enrich(self: &Arc<Self>, body: bytes::Bytes) -> Enriched {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the pool's semaphore is never closed");
        if body.len() <= INLINE_BYTES {
            return self.run(&body);
        }
        let pool = self.clone();
        tokio::task::spawn_blocking(move || pool.run(&body))
            .await
            .expect("enrichment never panics")
    }

    fn run(&self, body: &[u8]) -> Enriched {
        let mut worker = self
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_else(|| {
                Worker::new(
                    self.runtime.clone(),
                    self.registry.clone(),
                    self.store.clone(),
                )
            });
        let mut result = Enriched::default();
        let mut batch = Batch::new();
        let mut flush = |batch: &mut Batch, result: &mut Enriched| {
            let started = std::time::Instant::now();
            let r = worker.enrich(batch, &mut result.out);
            result.batches.push(started.elapsed());
            result.stats += r.stats;
            result.module = r.module.label.to_string();
            batch.clear();
        };
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            batch.push(line);
            if batch.len() >= self.batch_size {
                flush(&mut batch, &mut result);
            }
        }
        if !batch.is_empty() {
            flush(&mut batch, &mut result);
        }
        if result.module.is_empty() {
            result.module = self.registry.serving().label.to_string();
        }
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(worker);
        result
    }
}
