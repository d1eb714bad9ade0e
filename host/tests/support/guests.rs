//! Test components and a quick host around them, shared by the integration
//! tests (`#[path = "support/guests.rs"] mod guests;`).
//!
//! The components live in `tests/guests`, a cargo workspace of its own; they
//! are built once per test process for `wasm32-wasip2` into
//! `tests/guests/target`. Test binaries running at the same time share that
//! folder; cargo's lock on it serialises their builds.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use taxiway_host::limits::Limits;
use taxiway_host::module::Cache;
use taxiway_host::registry::{ModuleSource, Registry};
use taxiway_host::runtime::Runtime;
use taxiway_host::store::{IndicatorStore, StoreConfig, now_micros};
use taxiway_host::worker::{Batch, BatchResult, Worker};

const TARGET: &str = "wasm32-wasip2";

/// An IP address the test indicator store lists.
pub const LISTED_IP: &str = "192.0.2.1";

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// Paths of the built test components.
#[derive(Debug)]
pub struct Guests {
    /// Tags every record with `"taggedBy":"a"`; version `1.0.0-a`.
    pub tagger_a: PathBuf,
    /// Tags every record with `"taggedBy":"b"`; version `1.0.0-b`.
    pub tagger_b: PathBuf,
    /// Loops, bombs, panics, fails or answers short, per record marker.
    pub hostile: PathBuf,
    /// Built against `taxiway:enrich@0.2.0`.
    pub wrong_version: PathBuf,
    /// `taxiway:enrich@0.1.0` with `enrich(records: string)`.
    pub wrong_signature: PathBuf,
    /// `taxiway:boundary@0.1.0`: a batch as `list<string>` or as one NDJSON
    /// `list<u8>`, for `benches/boundary.rs`.
    pub boundary: PathBuf,
}

/// Build the test components (once per process) and return their paths.
pub fn guests() -> &'static Guests {
    static GUESTS: OnceLock<Guests> = OnceLock::new();
    GUESTS.get_or_init(build)
}

fn build() -> Guests {
    let workspace = root().join("tests").join("guests");
    let target_dir = workspace.join("target");
    let cargo = std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_string))
        .unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .args(["build", "--release", "--target", TARGET])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // Settings of the outer build that must not leak into a wasm build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("running cargo to build the test components: {e}"));
    assert!(
        output.status.success(),
        "building the test components in {} failed:\n{}",
        workspace.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = target_dir.join(TARGET).join("release");
    let wasm = |name: &str| {
        let path = dir.join(format!("{name}.wasm"));
        assert!(path.is_file(), "{} was not built", path.display());
        path
    };
    Guests {
        tagger_a: wasm("tagger_a"),
        tagger_b: wasm("tagger_b"),
        hostile: wasm("hostile"),
        wrong_version: wasm("wrong_version"),
        wrong_signature: wasm("wrong_signature"),
        boundary: wasm("boundary"),
    }
}

/// Read a file, or fail the test saying which.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Short limits, so hostile modules are cut off quickly.
pub fn limits() -> Limits {
    Limits {
        deadline: Duration::from_millis(200),
        max_memory: 64 << 20,
        recycle_memory: 32 << 20,
    }
}

pub fn runtime() -> Arc<Runtime> {
    Runtime::new(limits()).expect("a runtime")
}

/// An indicator store listing [`LISTED_IP`].
pub fn indicator_store() -> Arc<IndicatorStore> {
    let store = Arc::new(IndicatorStore::new(StoreConfig { default_ttl: None }));
    let indicator =
        taxiway_poller::Indicator::new("test-1", "test-feed", "ipv4-addr", LISTED_IP).unwrap();
    store.replace_all(vec![indicator], now_micros());
    store
}

/// Write `bytes` to `path` as deploy tools do: into a temporary file in the
/// same folder, then renamed over `path`.
pub fn replace_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("wasm.tmp");
    std::fs::write(&tmp, bytes).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A host serving a module from a file in a folder of its own.
pub struct Host {
    /// Holds the module file and the compiled-module cache.
    pub dir: tempfile::TempDir,
    /// The served module file; rewrite it and reload to swap.
    pub module_path: PathBuf,
    pub runtime: Arc<Runtime>,
    pub registry: Arc<Registry>,
    pub store: Arc<IndicatorStore>,
}

impl Host {
    /// Copy `module` into a fresh folder and serve it from there.
    pub fn serve(module: &Path, settings: &str) -> Host {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let module_path = dir.path().join("module.wasm");
        std::fs::copy(module, &module_path)
            .unwrap_or_else(|e| panic!("copying {}: {e}", module.display()));
        let runtime = runtime();
        let registry = Registry::new(
            runtime.clone(),
            ModuleSource::File(module_path.clone()),
            settings.to_string(),
            Some(Cache::new(dir.path().join("cache"))),
        )
        .unwrap_or_else(|e| panic!("serving {}: {e}", module.display()));
        Host {
            dir,
            module_path,
            runtime,
            registry,
            store: indicator_store(),
        }
    }

    pub fn worker(&self) -> Worker {
        Worker::new(
            self.runtime.clone(),
            self.registry.clone(),
            self.store.clone(),
        )
    }
}

/// A batch of the given records.
pub fn batch<S: AsRef<str>>(records: &[S]) -> Batch {
    let mut batch = Batch::new();
    for record in records {
        batch.push(record.as_ref().as_bytes());
    }
    batch
}

/// Run `records` through `worker` as one batch; the output lines, which must
/// be exactly as many as the records, each ending in `\n`.
pub fn run<S: AsRef<str>>(worker: &mut Worker, records: &[S]) -> (Vec<String>, BatchResult) {
    let mut out = Vec::new();
    let result = worker.enrich(&batch(records), &mut out);
    let text = String::from_utf8(out).expect("the output is UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the output does not end in a newline: {text:?}"
    );
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), records.len(), "output: {text}");
    (lines, result)
}

/// Parse one output line as a JSON object.
pub fn json(line: &str) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::from_str(line) {
        Ok(serde_json::Value::Object(map)) => map,
        other => panic!("not a JSON object: {line} ({other:?})"),
    }
}
