//! Records per second across the component boundary: a batch passed as one
//! string per record (`list<string>`) or as one NDJSON buffer (`list<u8>`),
//! the module (tests/guests/boundary) doing the same minimal work either way.
//! Each pass includes the host-side work its representation needs: from an
//! NDJSON batch to the call's argument, and from the result back to NDJSON,
//! checked to hold one line per record. Engine, epoch deadline and WASI
//! linker are the host's own. Figures go to BENCHMARKS.md.
//!
//! `cargo bench -p taxiway --bench boundary` (env BENCH_RECORDS, BENCH_ROUNDS,
//! BENCH_SIZES=256,1024 to resize).

#[path = "support/data.rs"]
mod data;
#[path = "../tests/support/guests.rs"]
mod guests;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use wasmtime::Store;
use wasmtime::component::{Component, Func, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use taxiway_host::limits::Limits;
use taxiway_host::runtime::Runtime;

wasmtime::component::bindgen!({
    path: "../tests/guests/boundary/wit",
    world: "boundary",
});

// As in the host binary and the enrich benchmark: the per-record
// representation allocates a string per record on the host side.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What a store holds: WASI with nothing granted, as the host's stores.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// How a batch crosses the boundary.
#[derive(Clone, Copy, Debug)]
enum Repr {
    /// `per-record` through the generated bindings: the host builds a
    /// `Vec<String>` from the batch, gets a `Vec<String>` back.
    PerRecord,
    /// `per-record` through a typed function taking `&[&str]`: the host
    /// borrows the records from the batch instead of allocating a string
    /// each; the result is still a `Vec<String>` (a borrowed result would
    /// outlive the module's post-return, which frees it).
    PerRecordBorrowed,
    /// `buffer`: the NDJSON batch in, NDJSON out.
    Buffer,
}

impl Repr {
    const ALL: [Repr; 3] = [Repr::PerRecord, Repr::PerRecordBorrowed, Repr::Buffer];

    fn label(self) -> &'static str {
        match self {
            Repr::PerRecord => "per-record list<string> (&[String])",
            Repr::PerRecordBorrowed => "per-record list<string> (&[&str])",
            Repr::Buffer => "buffer list<u8> (NDJSON)",
        }
    }
}

/// One instance of the boundary module, in a store of its own.
struct Module {
    store: Store<State>,
    bindings: Boundary,
    /// `per-record`, for calls with borrowed arguments.
    per_record: Func,
    limits: Limits,
}

impl Module {
    fn new(runtime: &Runtime, linker: &Linker<State>, component: &Component) -> Result<Self> {
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .allow_blocking_current_thread(true)
            .build();
        let mut store = Store::new(
            runtime.engine(),
            State {
                wasi,
                table: ResourceTable::new(),
            },
        );
        store.epoch_deadline_trap();
        let limits = Limits::clone(&runtime.limits());
        store.set_epoch_deadline(limits.deadline_ticks());
        let instance = linker.instantiate(&mut store, component)?;
        let bindings = Boundary::new(&mut store, &instance)?;
        let interface = instance
            .get_export_index(&mut store, None, "taxiway:boundary/records@0.1.0")
            .context("no records interface")?;
        let index = instance
            .get_export_index(&mut store, Some(&interface), "per-record")
            .context("no per-record")?;
        let per_record = instance
            .get_func(&mut store, index)
            .context("per-record is not a function")?;
        Ok(Module {
            store,
            bindings,
            per_record,
            limits,
        })
    }

    /// Run the NDJSON batch `input` of `count` records through the module as
    /// `repr`, appending the NDJSON result to `out`.
    fn run(&mut self, repr: Repr, input: &[u8], count: usize, out: &mut Vec<u8>) -> Result<()> {
        self.store.set_epoch_deadline(self.limits.deadline_ticks());
        match repr {
            Repr::PerRecord => {
                let records: Vec<String> = std::str::from_utf8(input)?
                    .split_terminator('\n')
                    .map(str::to_owned)
                    .collect();
                let result = self
                    .bindings
                    .taxiway_boundary_records()
                    .call_per_record(&mut self.store, &records)?;
                join(result, count, out)
            }
            Repr::PerRecordBorrowed => {
                let records: Vec<&str> =
                    std::str::from_utf8(input)?.split_terminator('\n').collect();
                let func = self
                    .per_record
                    .typed::<(&[&str],), (Vec<String>,)>(&self.store)?;
                let (result,) = func.call(&mut self.store, (&records,))?;
                join(result, count, out)
            }
            Repr::Buffer => {
                let result = self
                    .bindings
                    .taxiway_boundary_records()
                    .call_buffer(&mut self.store, input)?;
                // The host's own check of an NDJSON answer (runtime.rs).
                let lines = memchr::memchr_iter(b'\n', &result).count();
                ensure!(
                    lines == count && result.last().is_none_or(|&b| b == b'\n'),
                    "{count} records went in, {lines} lines came out"
                );
                out.extend_from_slice(&result);
                Ok(())
            }
        }
    }
}

/// Records back to NDJSON, checking what the NDJSON answer's line count
/// checks: one record each, none holding a line break.
fn join(records: Vec<String>, count: usize, out: &mut Vec<u8>) -> Result<()> {
    ensure!(
        records.len() == count,
        "{count} records went in, {} came out",
        records.len()
    );
    for record in &records {
        ensure!(
            memchr::memchr(b'\n', record.as_bytes()).is_none(),
            "a record came out holding a line break"
        );
        out.extend_from_slice(record.as_bytes());
        out.push(b'\n');
    }
    Ok(())
}

fn main() -> Result<()> {
    if !data::asked_to_run("boundary") {
        return Ok(());
    }
    let n_records = data::env_usize("BENCH_RECORDS", 200_000);
    let rounds = data::env_usize("BENCH_ROUNDS", 5).max(1);

    let recs: Vec<String> = data::records_as(
        data::Schema::Cse,
        n_records,
        &[],
        &mut data::Rng(0x5eed_1234_abcd_ef01),
    )
    .into_iter()
    .map(|r| String::from_utf8(r).expect("generated records are UTF-8"))
    .collect();
    let avg = recs.iter().map(String::len).sum::<usize>() as f64 / recs.len() as f64;
    println!(
        "setup: {} records of {avg:.0} bytes on average, best of {rounds} rounds",
        recs.len()
    );

    let runtime: Arc<Runtime> = Runtime::new(Limits::default())?;
    let mut linker = Linker::new(runtime.engine());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let component = Component::from_file(runtime.engine(), &guests::guests().boundary)?;

    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![256, 1024]);
    for size in sizes {
        // NDJSON batches, as the host's worker holds them.
        let batches: Vec<(Vec<u8>, usize)> = recs
            .chunks(size)
            .map(|chunk| {
                let mut bytes = Vec::with_capacity(chunk.iter().map(|r| r.len() + 1).sum());
                for record in chunk {
                    bytes.extend_from_slice(record.as_bytes());
                    bytes.push(b'\n');
                }
                (bytes, chunk.len())
            })
            .collect();
        let mut modules = Repr::ALL
            .iter()
            .map(|_| Module::new(&runtime, &linker, &component))
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(size * 512);

        // All representations give the same bytes (and this warms them up).
        let mut outputs = Vec::new();
        for (module, repr) in modules.iter_mut().zip(Repr::ALL) {
            let mut all = Vec::new();
            for (input, count) in &batches {
                module.run(repr, input, *count, &mut all)?;
            }
            outputs.push(all);
        }
        let tagged = outputs[0].windows(6).filter(|w| w == br#","t":1"#).count();
        ensure!(
            outputs.iter().all(|o| *o == outputs[0]),
            "the representations disagree"
        );
        ensure!(tagged == n_records / size * (size / 100) + n_records % size / 100);

        // Rounds interleave the representations, so drift on a noisy
        // machine hits them alike.
        let mut times = vec![Vec::new(); Repr::ALL.len()];
        for _ in 0..rounds {
            for ((module, repr), times) in modules.iter_mut().zip(Repr::ALL).zip(&mut times) {
                let start = Instant::now();
                for (input, count) in &batches {
                    out.clear();
                    module.run(repr, input, *count, &mut out)?;
                }
                times.push(start.elapsed().as_secs_f64());
            }
        }
        let rate = |t: &[f64]| n_records as f64 / t.iter().copied().fold(f64::MAX, f64::min);
        let median = |t: &[f64]| {
            let mut t = t.to_vec();
            t.sort_by(f64::total_cmp);
            n_records as f64 / t[t.len() / 2]
        };
        let buffer = rate(&times[2]);
        for (repr, t) in Repr::ALL.iter().zip(&times) {
            println!(
                "batch {size:>5}: {:<38} {:>9.0} records/s (median {:>9.0}), buffer/this {:.2}",
                repr.label(),
                rate(t),
                median(t),
                buffer / rate(t)
            );
        }
    }
    Ok(())
}
