//! Workers for HTTP requests: each holds a module instance, reused across
//! requests. At most `size` run at once; a request waits for a permit
//! rather than piling up instances.

use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::registry::Registry;
use crate::runtime::Runtime;
use crate::store::IndicatorStore;
use crate::worker::{Batch, BatchStats, Worker, record_of};

/// Bodies up to this size are enriched on the request's own task: the call
/// takes microseconds, less than a hand-over to the blocking pool.
const INLINE_BYTES: usize = 16 << 10;

/// A large body is split across workers in parts of at least this size, so
/// one client's bulk request uses every core.
const MIN_PART_BYTES: usize = 64 << 10;

pub struct WorkerPool {
    runtime: Arc<Runtime>,
    registry: Arc<Registry>,
    store: Arc<IndicatorStore>,
    idle: Mutex<Vec<Worker>>,
    permits: Arc<Semaphore>,
    size: usize,
    batch_size: usize,
}

/// What one request's records came to.
#[derive(Debug, Default)]
pub struct Enriched {
    /// The output lines, in input order, in one piece per part the body
    /// was split into: they go out as they are, never copied into one.
    pub out: Vec<bytes::Bytes>,
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
            size: size.max(1),
            batch_size: batch_size.max(1),
        }
    }

    /// Enrich NDJSON `body`: one output line per non-blank input line, in order.
    pub async fn enrich(self: &Arc<Self>, body: bytes::Bytes) -> Enriched {
        if body.len() <= INLINE_BYTES {
            let _permit = self.permit().await;
            return self.run(&body);
        }
        let parts = (body.len() / MIN_PART_BYTES).clamp(1, self.size);
        let tasks: Vec<_> = split_lines(&body, parts)
            .into_iter()
            .map(|part| {
                let pool = self.clone();
                tokio::spawn(async move {
                    let _permit = pool.permit().await;
                    let worker = pool.clone();
                    tokio::task::spawn_blocking(move || worker.run(&part))
                        .await
                        .expect("enrichment never panics")
                })
            })
            .collect();
        let mut result = Enriched::default();
        for task in tasks {
            let part = task.await.expect("enrichment never panics");
            result.out.extend(part.out);
            result.stats += part.stats;
            result.module = part.module;
            result.batches.extend(part.batches);
        }
        result
    }

    async fn permit(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .expect("the pool's semaphore is never closed")
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
        // Output is the input plus tags: sized once, not grown by doubling
        // (every doubling of a large buffer is fresh memory to fault in).
        let mut out = Vec::with_capacity(body.len() + body.len() / 8 + 4096);
        let mut batch = Batch::new();
        let mut flush = |batch: &mut Batch, result: &mut Enriched| {
            let started = std::time::Instant::now();
            let r = worker.enrich(batch, &mut out);
            result.batches.push(started.elapsed());
            result.stats += r.stats;
            result.module = r.module.label.to_string();
            batch.clear();
        };
        for record in body.split(|&b| b == b'\n').filter_map(record_of) {
            batch.push(record);
            if batch.len() >= self.batch_size {
                flush(&mut batch, &mut result);
            }
        }
        if !batch.is_empty() {
            flush(&mut batch, &mut result);
        }
        result.out.push(out.into());
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

/// `body` cut into about `parts` pieces of whole lines.
fn split_lines(body: &bytes::Bytes, parts: usize) -> Vec<bytes::Bytes> {
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for i in 1..parts {
        let target = (body.len() * i / parts).max(start);
        let Some(nl) = memchr::memchr(b'\n', &body[target..]) else {
            break;
        };
        let end = target + nl + 1;
        out.push(body.slice(start..end));
        start = end;
    }
    if start < body.len() {
        out.push(body.slice(start..));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split_lines;

    #[test]
    fn splits_at_line_ends_and_keeps_every_byte() {
        let body = bytes::Bytes::from("a\nbb\nccc\ndddd\ne");
        for parts in 1..8 {
            let pieces = split_lines(&body, parts);
            assert!(pieces.len() <= parts);
            assert_eq!(pieces.concat(), body.to_vec(), "{parts}");
            for p in &pieces[..pieces.len() - 1] {
                assert_eq!(p.last(), Some(&b'\n'));
            }
        }
        assert!(split_lines(&bytes::Bytes::new(), 2).is_empty());
    }
}
