//! The `taxiway` command.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use taxiway_host::limits::Limits;
use taxiway_host::module::Cache;
use taxiway_host::registry::{ModuleSource, Registry};
use taxiway_host::runtime::Runtime;
use taxiway_host::store::{IndicatorStore, StoreConfig, now_micros};
use taxiway_host::worker::{Batch, BatchStats, Worker, lines, record_of};

mod taxii_cli;

// Batches allocate and free buffers of hundreds of KiB; glibc's allocator
// hands those back to the kernel and faults them in again every batch.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "taxiway",
    version,
    about = "Threat intelligence from TAXII servers, matched against log records"
)]
struct Cli {
    /// Log filter (e.g. `info`, `taxiway=debug`); also RUST_LOG.
    #[arg(long, global = true, default_value = "warn")]
    log: String,
    /// Log as JSON lines.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tag NDJSON records with the indicators that match them.
    Enrich(EnrichArgs),
    /// Enrichment modules.
    #[command(subcommand)]
    Module(ModuleCommand),
    /// One-shot TAXII 1.x client verbs.
    #[command(subcommand)]
    Taxii(taxii_cli::TaxiiCommand),
    /// Serve bundled STIX samples from a built-in TAXII server on 127.0.0.1,
    /// poll it, enrich the bundled sample records and print the tagged ones.
    Demo {
        /// Records to enrich instead of the bundled samples (NDJSON).
        #[arg(long)]
        records: Option<PathBuf>,
    },
    /// Run as a service: poll the configured feeds, keep indicators across
    /// restarts, enrich over HTTP.
    Serve {
        /// The configuration (TOML).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a configuration file and report every problem with its line.
    Validate {
        /// The configuration (TOML).
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ModuleCommand {
    /// Load a module, run every check and a test call, print what it describes.
    Check {
        /// The component (.wasm), or a built-in module (`builtin:cse`, `builtin:ecs`).
        wasm: PathBuf,
        #[command(flatten)]
        module: ModuleArgs,
    },
}

#[derive(Args)]
struct ModuleArgs {
    /// Module settings, a JSON object.
    #[arg(long, default_value = "{}")]
    settings: String,
    /// Per-call deadline.
    #[arg(long, default_value = "2s", value_parser = taxiway_host::duration::parse)]
    deadline: Duration,
    /// Memory cap per instance, in MiB.
    #[arg(long, default_value_t = 256)]
    max_memory_mib: usize,
    /// Folder of compiled modules (default: ~/.cache/taxiway/modules); `none` disables.
    #[arg(long)]
    cache_dir: Option<String>,
}

impl ModuleArgs {
    fn limits(&self) -> Limits {
        Limits {
            deadline: self.deadline,
            max_memory: self.max_memory_mib << 20,
            ..Limits::default()
        }
    }

    fn cache(&self) -> Option<Cache> {
        match self.cache_dir.as_deref() {
            Some("none") => None,
            Some(dir) => Some(Cache::new(dir)),
            None => Cache::default_location(),
        }
    }
}

#[derive(Args)]
struct EnrichArgs {
    /// Indicator file(s), NDJSON in the normalized indicator format.
    #[arg(long, required = true)]
    indicators: Vec<PathBuf>,
    /// Enrichment module: a built-in one (`builtin:cse`, the default, or `builtin:ecs`
    /// for Elastic ECS records), a component (.wasm) or a folder of components.
    /// A file given here is watched and hot-swapped when it changes.
    #[arg(long)]
    module: Option<PathBuf>,
    /// With a module folder: the module to serve (`<name>.wasm`).
    #[arg(long)]
    module_name: Option<String>,
    /// Records per call into the module.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    batch: u32,
    /// Validity for indicators without a valid-until (e.g. 90d); `never` keeps them forever.
    #[arg(long, default_value = "90d")]
    default_ttl: String,
    /// Print only the records that were tagged or marked with an error.
    #[arg(long)]
    only_tagged: bool,
    /// Records to read (NDJSON); default: standard input.
    input: Option<PathBuf>,
    /// Where to write the records; default: standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    module_args: ModuleArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log, cli.log_json);
    let result = match cli.command {
        Command::Enrich(args) => enrich(args),
        Command::Module(ModuleCommand::Check { wasm, module }) => module_check(&wasm, &module),
        Command::Taxii(command) => return taxii_cli::run(command),
        Command::Demo { records } => taxii_cli::demo(records),
        Command::Serve { config } => serve(&config),
        Command::Config(ConfigCommand::Validate { file }) => return validate_config(&file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("taxiway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn serve(config: &Path) -> anyhow::Result<()> {
    let service = taxiway_host::service::Service::open(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("taxiway-http")
        .build()
        .context("starting the async runtime")?;
    let (ready, bound) = tokio::sync::oneshot::channel();
    let summary = format!(
        "{} feed(s), {} indicators, module {}",
        service.feed_count(),
        service.store.snapshot().len(),
        service.registry.serving().label
    );
    runtime.spawn(async move {
        if let Ok(address) = bound.await {
            eprintln!("taxiway: serving on http://{address} ({summary})");
        }
    });
    runtime.block_on(taxiway_host::service::serve(service, Some(ready)))?;
    // Feed polls still running are blocking calls: do not wait for them.
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// Exit 0 when valid, 2 with every problem listed otherwise.
fn validate_config(file: &Path) -> ExitCode {
    match taxiway_host::config::load(file) {
        Ok(c) => {
            println!(
                "ok: {}: {} feed(s), module {}, listening on {}, state in {}",
                file.display(),
                c.feeds.len(),
                c.enricher.module,
                c.server.listen,
                c.state.dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems.0 {
                match p.line {
                    Some(line) => eprintln!("{}:{line}: {}: {}", file.display(), p.key, p.message),
                    None => eprintln!("{}: {}: {}", file.display(), p.key, p.message),
                }
            }
            eprintln!(
                "taxiway: {} problem(s) in {}",
                problems.0.len(),
                file.display()
            );
            ExitCode::from(2)
        }
    }
}

fn module_check(wasm: &Path, args: &ModuleArgs) -> anyhow::Result<()> {
    let runtime = Runtime::new(args.limits())?;
    let started = Instant::now();
    let source = ModuleSource::resolve(wasm, None).map_err(anyhow::Error::msg)?;
    let module = source.load(&runtime, &args.settings, args.cache().as_ref())?;
    let info = &module.info;
    let report = format!(
        "ok: {} passed every check in {:?}\nname:             {}\nversion:          {}\n\
         contract version: {}\noutput format:    {}\nsha256:           {}\n",
        source,
        started.elapsed(),
        info.name,
        info.version,
        info.contract_version,
        info.output_format,
        info.digest
    );
    // A closed pipe (`| head`) is not an error worth a panic.
    match io::stdout().write_all(report.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn enrich(args: EnrichArgs) -> anyhow::Result<()> {
    let default_ttl = match args.default_ttl.as_str() {
        "never" => None,
        text => Some(
            taxiway_host::duration::parse(text)
                .map_err(anyhow::Error::msg)
                .context("--default-ttl")?,
        ),
    };
    let store = Arc::new(IndicatorStore::new(StoreConfig { default_ttl }));
    let mut all = Vec::new();
    for path in &args.indicators {
        let file =
            File::open(path).with_context(|| format!("opening indicators {}", path.display()))?;
        let (indicators, report) = taxiway_poller::read_indicators(BufReader::new(file))
            .with_context(|| format!("reading indicators {}", path.display()))?;
        if report.rejected > 0 {
            eprintln!("taxiway: {}: {report}", path.display());
        }
        all.extend(indicators);
    }
    let snapshot = store.replace_all(all, now_micros());

    let source = match &args.module {
        None => ModuleSource::default(),
        Some(path) => {
            ModuleSource::resolve(path, args.module_name.as_deref()).map_err(anyhow::Error::msg)?
        }
    };
    // Take SIGHUP over before the module is announced as serving: a signal
    // that came between the two would end the process.
    let sighup = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])?;
    let runtime = Runtime::new(args.module_args.limits())?;
    let registry = Registry::new(
        runtime.clone(),
        source,
        args.module_args.settings.clone(),
        args.module_args.cache(),
    )?;
    let _watch = registry.watch().context("watching the module file")?;
    reload_on_sighup(sighup, &registry)?;
    let mut worker = Worker::new(runtime, registry.clone(), store);

    let input: Box<dyn BufRead> = match &args.input {
        Some(path) => Box::new(BufReader::with_capacity(
            1 << 20,
            File::open(path).with_context(|| format!("opening {}", path.display()))?,
        )),
        None => Box::new(BufReader::with_capacity(1 << 20, io::stdin().lock())),
    };
    let mut output: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 20,
            File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 20, io::stdout().lock())),
    };

    let started = Instant::now();
    let mut totals = BatchStats::default();
    let mut batch = Batch::new();
    let mut out = Vec::new();
    let mut flush = |batch: &mut Batch,
                     totals: &mut BatchStats,
                     output: &mut dyn Write|
     -> anyhow::Result<()> {
        out.clear();
        let result = worker.enrich(batch, &mut out);
        *totals += result.stats;
        if args.only_tagged {
            // Changed lines are the tagged or error-marked ones.
            for (i, line) in lines(&out).take(batch.len()).enumerate() {
                if line != batch.record(i) {
                    output.write_all(line)?;
                    output.write_all(b"\n")?;
                }
            }
        } else {
            output.write_all(&out)?;
        }
        batch.clear();
        Ok(())
    };
    for line in input.split(b'\n') {
        let line = line.context("reading records")?;
        let Some(record) = record_of(&line) else {
            continue;
        };
        batch.push(record);
        if batch.len() >= args.batch as usize {
            flush(&mut batch, &mut totals, &mut *output)?;
        }
    }
    if !batch.is_empty() {
        flush(&mut batch, &mut totals, &mut *output)?;
    }
    output.flush().context("writing records")?;
    let elapsed = started.elapsed();
    eprintln!(
        "taxiway: {} records, {} tagged, {} errored, in {:.3}s ({} indicators, snapshot {}, module {})",
        totals.records,
        totals.tagged,
        totals.errored,
        elapsed.as_secs_f64(),
        snapshot.len(),
        snapshot.version(),
        registry.serving().label,
    );
    if totals.records > 0 && totals.errored == totals.records {
        bail!("every record failed enrichment");
    }
    Ok(())
}

/// SIGHUP reloads the module.
fn reload_on_sighup(
    mut signals: signal_hook::iterator::Signals,
    registry: &Arc<Registry>,
) -> anyhow::Result<()> {
    let registry = Arc::downgrade(registry);
    std::thread::Builder::new()
        .name("taxiway-sighup".into())
        .spawn(move || {
            for _ in signals.forever() {
                match registry.upgrade() {
                    Some(registry) => {
                        tracing::info!("SIGHUP: reloading the module");
                        let _ = registry.reload();
                    }
                    None => return,
                }
            }
        })?;
    Ok(())
}
