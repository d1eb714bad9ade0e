//! A module's stdout and stderr, sent line by line to the host log with the
//! module's name and version in front.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Longest line kept; the rest of a longer line is dropped.
const MAX_LINE: usize = 4096;

/// Lines a module may log per [`WINDOW`], all its instances together; the
/// rest are dropped and counted, so a chatty (or hostile) module cannot
/// flood the host's log.
const LINES_PER_WINDOW: u32 = 1000;
const WINDOW: Duration = Duration::from_secs(10);

/// Each module's (by label) lines in the current window.
static BUDGETS: LazyLock<Mutex<HashMap<Arc<str>, Budget>>> = LazyLock::new(Mutex::default);

struct Budget {
    since: Instant,
    lines: u32,
    dropped: u64,
}

/// Whether `module` may log one more line now; says (after letting go of
/// the budgets) when it starts being cut off, and how many lines were cut
/// off in its last window.
fn within_budget(module: &Arc<str>) -> bool {
    let now = Instant::now();
    let (allowed, dropped_before, first_drop) = {
        let mut budgets = BUDGETS.lock().unwrap_or_else(|e| e.into_inner());
        if !budgets.contains_key(module) {
            budgets.insert(
                module.clone(),
                Budget {
                    since: now,
                    lines: 0,
                    dropped: 0,
                },
            );
        }
        let budget = budgets.get_mut(module).expect("just inserted");
        let mut dropped_before = 0;
        if now.duration_since(budget.since) >= WINDOW {
            dropped_before = budget.dropped;
            *budget = Budget {
                since: now,
                lines: 0,
                dropped: 0,
            };
        }
        if budget.lines < LINES_PER_WINDOW {
            budget.lines += 1;
            (true, dropped_before, false)
        } else {
            budget.dropped += 1;
            (false, dropped_before, budget.dropped == 1)
        }
    };
    if dropped_before > 0 {
        tracing::warn!(
            target: "taxiway::module",
            module = %module,
            "{module}: {dropped_before} more output lines were dropped"
        );
    }
    if first_drop {
        tracing::warn!(
            target: "taxiway::module",
            module = %module,
            "{module}: more than {LINES_PER_WINDOW} output lines in {WINDOW:?}; the rest \
             of this window's are dropped (their count is logged with its next line after)"
        );
    }
    allowed
}

#[derive(Clone)]
pub struct GuestLog {
    module: Arc<str>,
    stream: &'static str,
    pending: Arc<Mutex<Vec<u8>>>,
}

impl GuestLog {
    pub fn new(module: Arc<str>, stream: &'static str) -> Self {
        GuestLog {
            module,
            stream,
            pending: Arc::default(),
        }
    }

    fn write(&self, bytes: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for &b in bytes {
            if b == b'\n' {
                self.emit(&pending);
                pending.clear();
            } else if pending.len() < MAX_LINE {
                pending.push(b);
            }
        }
    }

    fn emit(&self, line: &[u8]) {
        if !within_budget(&self.module) {
            return;
        }
        let text = String::from_utf8_lossy(line);
        if self.stream == "stderr" {
            tracing::warn!(target: "taxiway::module", module = %self.module, "{}: {text}", self.module);
        } else {
            tracing::info!(target: "taxiway::module", module = %self.module, "{}: {text}", self.module);
        }
    }
}

impl Drop for GuestLog {
    fn drop(&mut self) {
        // The last clone flushes a final line that had no newline.
        if Arc::strong_count(&self.pending) == 1 {
            let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if !pending.is_empty() {
                self.emit(&pending);
            }
        }
    }
}

impl IsTerminal for GuestLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestLog {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestLog {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestLog {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        GuestLog::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for GuestLog {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        GuestLog::write(&self, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
