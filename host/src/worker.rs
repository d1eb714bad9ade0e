//! Batches through a module, losing nothing.
//!
//! A worker owns one instance and reuses it across batches. Each batch is
//! served whole by the module (and sees the indicator snapshot) current when
//! it started, so swaps never split a batch. When the module traps or fails
//! a batch, the worker retries on a fresh instance in halves until the
//! failing records are isolated; those are passed through unchanged with
//! the [`ERROR_FIELD`] marker. Output count always equals input count, in
//! input order.

use std::sync::Arc;

use crate::limits::Limits;
use crate::module::LoadedModule;
use crate::registry::Registry;
use crate::runtime::{CallError, Instance, Runtime};
use crate::store::{IndicatorStore, Micros, Snapshot, now_micros};

/// The field added to a record the module could not enrich; its value says why.
pub const ERROR_FIELD: &str = "taxiwayError";
/// Where a line that is not a JSON object is kept when it is wrapped.
pub const RAW_FIELD: &str = "taxiwayRaw";

/// A batch of records: one buffer, every record ending in `\n`.
#[derive(Default, Debug, Clone)]
pub struct Batch {
    data: Vec<u8>,
    /// End offset (after the `\n`) of each record.
    ends: Vec<usize>,
}

impl Batch {
    pub fn new() -> Self {
        Batch::default()
    }

    /// Add one record (without its line ending). Blank lines are not records
    /// and are skipped by the readers before they get here.
    pub fn push(&mut self, record: &[u8]) {
        self.data.extend_from_slice(record);
        self.data.push(b'\n');
        self.ends.push(self.data.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Memory the batch holds on to, in bytes, whatever it holds now.
    pub fn capacity_bytes(&self) -> usize {
        self.data.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }

    /// Record `i`, without its `\n`.
    pub fn record(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i] - 1]
    }

    /// Records `from..to` as one buffer.
    fn range(&self, from: usize, to: usize) -> &[u8] {
        let start = if from == 0 { 0 } else { self.ends[from - 1] };
        &self.data[start..self.ends[to - 1]]
    }
}

/// Counts for one batch.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchStats {
    pub records: u64,
    pub tagged: u64,
    /// Records passed through with the error marker.
    pub errored: u64,
    /// Calls that trapped or failed and were retried.
    pub failed_calls: u64,
    pub traps: u64,
}

impl std::ops::AddAssign for BatchStats {
    fn add_assign(&mut self, o: Self) {
        self.records += o.records;
        self.tagged += o.tagged;
        self.errored += o.errored;
        self.failed_calls += o.failed_calls;
        self.traps += o.traps;
    }
}

pub struct Worker {
    runtime: Arc<Runtime>,
    registry: Arc<Registry>,
    store: Arc<IndicatorStore>,
    instance: Option<Instance>,
}

/// The result of one batch: records and which module version served it.
pub struct BatchResult {
    pub stats: BatchStats,
    pub module: Arc<LoadedModule>,
    pub snapshot_version: u64,
}

impl Worker {
    pub fn new(runtime: Arc<Runtime>, registry: Arc<Registry>, store: Arc<IndicatorStore>) -> Self {
        Worker {
            runtime,
            registry,
            store,
            instance: None,
        }
    }

    /// Enrich `batch`, appending exactly `batch.len()` lines to `out`.
    pub fn enrich(&mut self, batch: &Batch, out: &mut Vec<u8>) -> BatchResult {
        let module = self.registry.serving();
        let snapshot = self.store.snapshot();
        let now = now_micros();
        let mut stats = BatchStats {
            records: batch.len() as u64,
            ..BatchStats::default()
        };
        if !batch.is_empty() {
            self.run(
                &module,
                &snapshot,
                now,
                batch,
                0,
                batch.len(),
                out,
                &mut stats,
            );
        }
        // Replace an instance grown past the threshold before the next batch.
        if self
            .instance
            .as_ref()
            .is_some_and(|i| i.memory() > self.runtime.limits().recycle_memory)
        {
            tracing::debug!(module = %module.label, "recycling an instance whose memory grew past the threshold");
            self.instance = None;
        }
        BatchResult {
            stats,
            module,
            snapshot_version: snapshot.version(),
        }
    }

    /// An instance of `module`, reusing the current one if it is of it and
    /// was made under the limits in force now.
    fn instance(
        &mut self,
        module: &Arc<LoadedModule>,
        limits: &Arc<Limits>,
    ) -> Result<&mut Instance, CallError> {
        if self
            .instance
            .as_ref()
            .is_some_and(|i| !Arc::ptr_eq(i.module(), module) || !Arc::ptr_eq(i.limits(), limits))
        {
            self.instance = None;
        }
        if self.instance.is_none() {
            self.instance = Some(Instance::new(&self.runtime, module.clone())?);
        }
        Ok(self.instance.as_mut().expect("just set"))
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        module: &Arc<LoadedModule>,
        snapshot: &Arc<Snapshot>,
        now: Micros,
        batch: &Batch,
        from: usize,
        to: usize,
        out: &mut Vec<u8>,
        stats: &mut BatchStats,
    ) {
        let count = to - from;
        let limits = self.runtime.limits();
        let result = self.instance(module, &limits).and_then(|instance| {
            instance.enrich(&limits, snapshot, now, batch.range(from, to), count)
        });
        match result {
            Ok(output) => {
                out.extend_from_slice(&output.records);
                stats.tagged += u64::from(output.tagged);
                stats.errored += output.errors.len() as u64;
            }
            Err(error) => {
                stats.failed_calls += 1;
                if error.is_trap() {
                    stats.traps += 1;
                }
                // Never reuse an instance after a failure: its state is suspect.
                self.instance = None;
                if count == 1 {
                    tracing::warn!(
                        module = %module.label,
                        "record {from} of the batch passed through unenriched: module {} {error}",
                        module.label
                    );
                    mark_error(
                        out,
                        batch.record(from),
                        &format!("module {} {error}", module.label),
                    );
                    out.push(b'\n');
                    stats.errored += 1;
                } else {
                    tracing::debug!(module = %module.label, "batch of {count} failed ({error}); isolating");
                    let mid = from + count / 2;
                    self.run(module, snapshot, now, batch, from, mid, out, stats);
                    self.run(module, snapshot, now, batch, mid, to, out, stats);
                }
            }
        }
    }
}

/// The lines of `text`, as `text.split(|&b| b == b'\n')` gives them, but
/// found with `memchr` rather than byte by byte.
pub fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        Some(match memchr::memchr(b'\n', text) {
            Some(nl) => {
                rest = Some(&text[nl + 1..]);
                &text[..nl]
            }
            None => {
                rest = None;
                text
            }
        })
    })
}

/// The records of an NDJSON buffer, in order: its lines that are not
/// blank, without `\r\n`.
pub fn records(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    lines(text).filter_map(record_of)
}

/// The record an input line holds: the line without a trailing `\r`, or
/// none for a blank line (blank lines are not records and produce no output).
pub fn record_of(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    (!line.iter().all(u8::is_ascii_whitespace)).then_some(line)
}

/// Write `record` unchanged but for the error marker: spliced in before the
/// closing brace of an object, or the record wrapped when it is not one.
pub fn mark_error(out: &mut Vec<u8>, record: &[u8], reason: &str) {
    let trimmed_end = record
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    let body = &record[..trimmed_end];
    let starts = record.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if starts && body.last() == Some(&b'}') {
        let close = body.len() - 1;
        let inner_empty = body[..close]
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .is_some_and(|p| body[p] == b'{');
        out.extend_from_slice(&body[..close]);
        if !inner_empty {
            out.push(b',');
        }
        json_string(out, ERROR_FIELD);
        out.push(b':');
        json_string(out, reason);
        out.push(b'}');
    } else {
        out.push(b'{');
        json_string(out, ERROR_FIELD);
        out.push(b':');
        json_string(out, reason);
        out.push(b',');
        json_string(out, RAW_FIELD);
        out.push(b':');
        json_string(out, &String::from_utf8_lossy(record));
        out.push(b'}');
    }
}

fn json_string(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(record: &str) -> serde_json::Value {
        let mut out = Vec::new();
        mark_error(&mut out, record.as_bytes(), "boom \"x\"");
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn records_are_the_non_blank_lines_in_order() {
        for text in [
            &b""[..],
            b"\n",
            b"{}",
            b"{}\n",
            b"a\nb",
            b"a\r\n\r\n \t\n\nb\n\n",
            b"\n\n{\"x\":1}\r\n{}",
        ] {
            let split: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
            assert_eq!(lines(text).collect::<Vec<_>>(), split, "{text:?}");
            let expected: Vec<&[u8]> = split.into_iter().filter_map(record_of).collect();
            assert_eq!(records(text).collect::<Vec<_>>(), expected, "{text:?}");
        }
        let got: Vec<&[u8]> = records(b"a\r\n\r\n \t\n\nb\n\n").collect();
        assert_eq!(got, [&b"a"[..], b"b"]);
    }

    #[test]
    fn marks_objects_in_place_and_wraps_the_rest() {
        let v = marked(r#"{"a":1,"b":"}"}"#);
        assert_eq!(v["a"], 1);
        assert_eq!(v["b"], "}");
        assert_eq!(v[ERROR_FIELD], "boom \"x\"");
        let v = marked("{ }");
        assert_eq!(v[ERROR_FIELD], "boom \"x\"");
        let v = marked("[1,2]");
        assert_eq!(v[RAW_FIELD], "[1,2]");
        let v = marked("not json at all");
        assert_eq!(v[RAW_FIELD], "not json at all");
    }

    #[test]
    fn batch_ranges() {
        let mut b = Batch::new();
        b.push(b"{\"a\":1}");
        b.push(b"{}");
        b.push(b"x");
        assert_eq!(b.len(), 3);
        assert_eq!(b.record(1), b"{}");
        assert_eq!(b.range(1, 3), b"{}\nx\n");
        assert_eq!(b.range(0, 1), b"{\"a\":1}\n");
    }
}
