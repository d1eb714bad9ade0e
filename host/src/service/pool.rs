//! Workers for HTTP requests: each holds a module instance, reused across
//! requests. At most `size` run at once; a request waits for a permit
//! rather than piling up instances.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};

use tokio::sync::Semaphore;

use crate::registry::Registry;
use crate::runtime::Runtime;
use crate::store::IndicatorStore;
use crate::worker::{Batch, BatchStats, Worker, records};

/// Bodies up to this size are enriched on the request's own task: the call
/// takes microseconds, less than a hand-over to the blocking pool.
const INLINE_BYTES: usize = 16 << 10;

/// An idle worker keeps its batch buffer up to this size; one grown larger
/// (by a huge record) is let go rather than held for the life of the process.
const KEEP_BATCH_BYTES: usize = 4 << 20;

/// A large body is split across workers in parts of at least this size, so
/// one client's bulk request uses every core.
const MIN_PART_BYTES: usize = 64 << 10;

pub struct WorkerPool {
    runtime: Arc<Runtime>,
    registry: Arc<Registry>,
    store: Arc<IndicatorStore>,
    /// Idle workers, each with the batch buffer it fills, kept at its size.
    idle: Mutex<Vec<(Worker, Batch)>>,
    permits: Arc<Semaphore>,
    size: usize,
    /// Records per call into the module; changed by [`WorkerPool::set_batch_size`].
    batch_size: AtomicUsize,
    /// Digests of the modules whose calls cannot run on an async thread
    /// (see [`WorkerPool::run_inline`]).
    off_inline: arc_swap::ArcSwap<Vec<String>>,
}

/// The message tokio panics with when something blocks on a runtime from
/// one of its own async threads, as wasmtime-wasi's synchronous WASI does.
const NESTED_RUNTIME_PANIC: &str = "Cannot start a runtime from within a runtime";

thread_local! {
    /// Set while this thread runs a request's module call inline.
    static INLINE_CALL: Cell<bool> = const { Cell::new(false) };
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
            batch_size: AtomicUsize::new(batch_size.max(1)),
            off_inline: arc_swap::ArcSwap::from_pointee(Vec::new()),
        }
    }

    /// Records per call into the module, for requests from now on.
    pub fn set_batch_size(&self, batch_size: usize) {
        self.batch_size.store(batch_size.max(1), Ordering::Relaxed);
    }

    /// Enrich NDJSON `body`: one output line per non-blank input line, in order.
    pub async fn enrich(self: &Arc<Self>, body: bytes::Bytes) -> Enriched {
        if body.len() <= INLINE_BYTES && self.may_run_inline() {
            let _permit = self.permit().await;
            if let Some(result) = self.run_inline(&body) {
                return result;
            }
        }
        let mut tasks = Vec::new();
        self.spawn_parts(body, &mut tasks);
        merge(tasks).await
    }

    /// Enrich an NDJSON request body as it arrives: each run of whole lines
    /// of at least [`MIN_PART_BYTES`] goes to a worker while the rest is
    /// still on its way, so one client's upload and its enrichment overlap.
    /// More than `max` bytes is [`BodyError::TooLarge`]; the parts already
    /// started are abandoned.
    pub async fn enrich_body<B>(
        self: &Arc<Self>,
        mut body: B,
        max: usize,
    ) -> Result<Enriched, BodyError>
    where
        B: http_body::Body<Data = bytes::Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        use http_body_util::BodyExt;
        let mut pending = bytes::BytesMut::new();
        let mut total = 0usize;
        let mut tasks = Vec::new();
        let abandon = |tasks: Vec<tokio::task::JoinHandle<Enriched>>| {
            for task in tasks {
                task.abort();
            }
        };
        while let Some(frame) = body.frame().await {
            let data = match frame {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue, // trailers
                },
                Err(e) => {
                    abandon(tasks);
                    return Err(BodyError::Read(e.to_string()));
                }
            };
            total += data.len();
            if total > max {
                abandon(tasks);
                return Err(BodyError::TooLarge);
            }
            // A large piece with nothing held back goes out as it is.
            if pending.is_empty()
                && data.len() >= MIN_PART_BYTES
                && let Some(nl) = memchr::memrchr(b'\n', &data)
            {
                self.spawn_parts(data.slice(..nl + 1), &mut tasks);
                pending.extend_from_slice(&data[nl + 1..]);
                continue;
            }
            pending.extend_from_slice(&data);
            if pending.len() >= MIN_PART_BYTES
                && let Some(nl) = memchr::memrchr(b'\n', &pending)
            {
                self.spawn_parts(pending.split_to(nl + 1).freeze(), &mut tasks);
            }
        }
        let rest = pending.freeze();
        if tasks.is_empty() {
            return Ok(self.enrich(rest).await);
        }
        if !rest.is_empty() {
            self.spawn_parts(rest, &mut tasks);
        }
        Ok(merge(tasks).await)
    }

    /// Hand `chunk` (whole lines) to the workers: in one piece, or split
    /// at line ends across all of them when it is large.
    fn spawn_parts(
        self: &Arc<Self>,
        chunk: bytes::Bytes,
        tasks: &mut Vec<tokio::task::JoinHandle<Enriched>>,
    ) {
        let parts = (chunk.len() / MIN_PART_BYTES).clamp(1, self.size);
        for part in split_lines(&chunk, parts) {
            let pool = self.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = pool.permit().await;
                let worker = pool.clone();
                tokio::task::spawn_blocking(move || worker.run(&part))
                    .await
                    .expect("enrichment never panics")
            }));
        }
    }

    /// Whether the serving module's calls may run on the request's own
    /// (async) thread.
    fn may_run_inline(&self) -> bool {
        let off = self.off_inline.load();
        off.is_empty() || !off.contains(&self.registry.serving().info.digest)
    }

    /// [`WorkerPool::run`] on the request's own async thread, or `None` if
    /// the module could not be called there. wasmtime-wasi's synchronous
    /// WASI blocks on a tokio runtime for its blocking calls (a module
    /// writing to its stdout or stderr, which go to the host log, or
    /// waiting on a clock),
    /// and tokio refuses that on its own async threads with a panic. That
    /// panic is caught here; the body is then redone on the blocking pool,
    /// and so is every later call of that module (by its digest). What the
    /// module wrote before the refused call (in earlier batches of the body,
    /// or with non-blocking stream calls) is written again by the redo. Any
    /// other panic goes on as it came.
    fn run_inline(&self, body: &[u8]) -> Option<Enriched> {
        static QUIET_HOOK: Once = Once::new();
        QUIET_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !(INLINE_CALL.get()
                    && panic_message(info.payload()).contains(NESTED_RUNTIME_PANIC))
                {
                    previous(info);
                }
            }));
        });
        let module = self.registry.serving();
        INLINE_CALL.set(true);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run(body)));
        INLINE_CALL.set(false);
        match result {
            Ok(result) => Some(result),
            Err(panic) if panic_message(&*panic).contains(NESTED_RUNTIME_PANIC) => {
                let digest = &module.info.digest;
                let before = self.off_inline.rcu(|off| {
                    let mut off = Vec::clone(off);
                    if !off.contains(digest) {
                        off.push(digest.clone());
                    }
                    off
                });
                if !before.contains(digest) {
                    tracing::warn!(
                        module = %module.label,
                        "the module makes blocking WASI calls (output to its stdout or stderr, \
                         waits); its calls now run on the blocking pool rather than on the HTTP threads"
                    );
                }
                None
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    async fn permit(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .expect("the pool's semaphore is never closed")
    }

    fn run(&self, body: &[u8]) -> Enriched {
        let (mut worker, mut batch) = self
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_else(|| {
                let worker = Worker::new(
                    self.runtime.clone(),
                    self.registry.clone(),
                    self.store.clone(),
                );
                (worker, Batch::new())
            });
        batch.clear();
        let batch_size = self.batch_size.load(Ordering::Relaxed);
        let mut result = Enriched::default();
        // Output is the input plus tags: sized once, not grown by doubling
        // (every doubling of a large buffer is fresh memory to fault in).
        let mut out = Vec::with_capacity(body.len() + body.len() / 8 + 4096);
        let mut flush = |batch: &mut Batch, result: &mut Enriched| {
            let started = std::time::Instant::now();
            let r = worker.enrich(batch, &mut out);
            result.batches.push(started.elapsed());
            result.stats += r.stats;
            result.module = r.module.label.to_string();
            batch.clear();
        };
        for record in records(body) {
            batch.push(record);
            if batch.len() >= batch_size {
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
            .push((worker, keep(batch)));
        result
    }
}

/// The text of a panic's payload (empty if it is not text).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("")
}

/// `batch`, or a new one in its place if it holds on to too much memory.
fn keep(batch: Batch) -> Batch {
    if batch.capacity_bytes() > KEEP_BATCH_BYTES {
        Batch::new()
    } else {
        batch
    }
}

/// Why a request body could not be enriched.
#[derive(Debug)]
pub enum BodyError {
    /// More bytes than the limit.
    TooLarge,
    /// The body could not be read.
    Read(String),
}

/// The parts' results, in order, as one.
async fn merge(tasks: Vec<tokio::task::JoinHandle<Enriched>>) -> Enriched {
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

/// A response body of ready pieces, sent one after the other, with its
/// exact length (so the answer carries a Content-Length).
pub struct Chunks {
    pieces: std::collections::VecDeque<bytes::Bytes>,
    remaining: u64,
}

impl Chunks {
    pub fn new(pieces: Vec<bytes::Bytes>) -> Self {
        let remaining = pieces.iter().map(|p| p.len() as u64).sum();
        Chunks {
            pieces: pieces.into_iter().filter(|p| !p.is_empty()).collect(),
            remaining,
        }
    }
}

impl http_body::Body for Chunks {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        let piece = self.pieces.pop_front();
        if let Some(p) = &piece {
            self.remaining -= p.len() as u64;
        }
        std::task::Poll::Ready(piece.map(|p| Ok(http_body::Frame::data(p))))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::registry::ModuleSource;
    use crate::store::StoreConfig;
    use taxiway_poller::Indicator;

    fn pool() -> Arc<WorkerPool> {
        let store = Arc::new(IndicatorStore::new(StoreConfig { default_ttl: None }));
        let bad = Indicator::new("bad-1", "Feed", "ipv4-addr", "203.0.113.7").unwrap();
        store.replace_all(vec![bad], crate::store::now_micros());
        let runtime = Runtime::new(Limits::default()).unwrap();
        let registry =
            Registry::new(runtime.clone(), ModuleSource::default(), "{}".into(), None).unwrap();
        Arc::new(WorkerPool::new(runtime, registry, store, 2, 256))
    }

    /// About `n` records with their index, every seventh with a listed IP,
    /// blank lines and CRLF ends here and there.
    fn sample_body(n: usize) -> Vec<u8> {
        let mut body = Vec::new();
        for i in 0..n {
            let ip = if i % 7 == 3 {
                "203.0.113.7"
            } else {
                "198.51.100.1"
            };
            body.extend_from_slice(
                format!(
                    r#"{{"seq":{i},"srcDevice_ip":"{ip}","pad":"{}"}}"#,
                    "x".repeat(i % 300)
                )
                .as_bytes(),
            );
            body.extend_from_slice(if i % 11 == 0 { b"\r\n" } else { b"\n" });
            if i % 13 == 0 {
                body.extend_from_slice(b"  \n");
            }
        }
        body
    }

    fn lines(out: &[bytes::Bytes]) -> Vec<Vec<u8>> {
        let all: Vec<u8> = out.concat();
        assert_eq!(all.last(), Some(&b'\n'));
        all[..all.len() - 1]
            .split(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_enriched_as_it_arrives_keeps_every_record_in_order() {
        let pool = pool();
        let body = sample_body(6000);
        assert!(body.len() > 8 * MIN_PART_BYTES, "{}", body.len());
        // Arriving in pieces that cut lines anywhere: smaller than a part
        // (gathered before they go out) and larger (sent on as they are).
        for piece in [7_777, MIN_PART_BYTES + 4_321] {
            let pieces: Vec<bytes::Bytes> = body
                .chunks(piece)
                .map(bytes::Bytes::copy_from_slice)
                .collect();
            let streamed = pool
                .enrich_body(Chunks::new(pieces), usize::MAX)
                .await
                .unwrap();
            assert!(
                streamed.out.len() > 2,
                "several parts: {}",
                streamed.out.len()
            );
            let whole = pool.enrich(bytes::Bytes::from(body.clone())).await;
            assert_eq!(
                streamed.out.concat(),
                whole.out.concat(),
                "pieces of {piece}"
            );
            assert_eq!(streamed.stats.records, 6000);
            assert_eq!(streamed.stats.tagged, 6000 / 7 + u64::from(6000 % 7 > 3));

            let got = lines(&streamed.out);
            let input: Vec<&[u8]> = body
                .split(|&b| b == b'\n')
                .filter_map(crate::worker::record_of)
                .collect();
            assert_eq!(got.len(), 6000);
            for (i, (out, record)) in got.iter().zip(&input).enumerate() {
                if i % 7 == 3 {
                    let v: serde_json::Value = serde_json::from_slice(out).unwrap();
                    assert_eq!(v["seq"], i, "record {i}");
                    assert_eq!(v["matchedItems"][0]["value"], "203.0.113.7");
                } else {
                    assert_eq!(out, record, "record {i} untagged and unchanged");
                }
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idle_worker_does_not_hold_on_to_a_huge_batch() {
        let pool = pool();
        let huge = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(KEEP_BATCH_BYTES));
        let out = pool.enrich(bytes::Bytes::from(huge.clone())).await;
        assert_eq!(out.out.concat(), huge.as_bytes());
        let small = pool.enrich(bytes::Bytes::from(sample_body(10))).await;
        assert_eq!(small.stats.records, 10);
        let idle = pool.idle.lock().unwrap();
        assert!(!idle.is_empty());
        for (_, batch) in idle.iter() {
            assert!(
                batch.capacity_bytes() <= KEEP_BATCH_BYTES,
                "{}",
                batch.capacity_bytes()
            );
            assert!(batch.is_empty());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_past_the_limit_is_refused_even_after_parts_started() {
        let pool = pool();
        let body = sample_body(3000);
        let pieces: Vec<bytes::Bytes> = body
            .chunks(4096)
            .map(bytes::Bytes::copy_from_slice)
            .collect();
        let limit = body.len() - 1;
        let result = pool.enrich_body(Chunks::new(pieces), limit).await;
        assert!(matches!(result, Err(BodyError::TooLarge)), "{result:?}");
        // Exactly at the limit is fine.
        let pieces = vec![bytes::Bytes::from(body.clone())];
        let ok = pool
            .enrich_body(Chunks::new(pieces), body.len())
            .await
            .unwrap();
        assert_eq!(ok.stats.records, 3000);
    }

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
