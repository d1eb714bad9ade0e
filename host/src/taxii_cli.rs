//! `taxiway taxii ...` (cabby-like one-shot TAXII 1.x verbs) and `taxiway demo`.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use taxiway_host::demo_server::DemoServer;
use taxiway_host::limits::Limits;
use taxiway_host::registry::{ModuleSource, Registry};
use taxiway_host::runtime::Runtime;
use taxiway_host::store::{IndicatorStore, StoreConfig, now_micros};
use taxiway_host::worker::{Batch, Worker};
use taxiway_poller::client::{
    ClientCertificate, ClientConfig, ClientError, FeedParams, Secret, TaxiiClient, poll_feed,
};
use taxiway_poller::{Indicator, IndicatorKind};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Subcommand)]
pub enum TaxiiCommand {
    /// List the services a discovery service advertises.
    Discover {
        /// Discovery service URL.
        url: String,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// List the collections (1.0: feeds) of a server.
    Collections {
        /// Discovery service URL.
        url: String,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Poll collections and write their indicators as NDJSON (normalized indicator format).
    Poll {
        /// Discovery service URL.
        url: String,
        /// Collection to poll (repeatable); none: every available collection.
        #[arg(long)]
        collection: Vec<String>,
        /// Exclusive begin of the time window (RFC 3339).
        #[arg(long, value_parser = rfc3339)]
        begin: Option<OffsetDateTime>,
        /// Inclusive end of the time window (RFC 3339).
        #[arg(long, value_parser = rfc3339)]
        end: Option<OffsetDateTime>,
        /// Poll through this subscription.
        #[arg(long)]
        subscription_id: Option<String>,
        /// How far back a poll without --begin reaches.
        #[arg(long, default_value = "30d", value_parser = taxiway_host::duration::parse)]
        max_lookback: Duration,
        /// The feed name written as each indicator's `source` (default: the URL's host).
        #[arg(long)]
        source: Option<String>,
        /// Output file; default: standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        conn: ConnArgs,
    },
}

/// How to reach the server. Secrets come from files, never from the command line.
#[derive(Args)]
pub struct ConnArgs {
    #[arg(long)]
    username: Option<String>,
    /// File holding the password (first line).
    #[arg(long, requires = "username")]
    password_file: Option<PathBuf>,
    /// Client certificate, PKCS#12 (.p12/.pfx).
    #[arg(long, conflicts_with = "cert_pem")]
    cert: Option<PathBuf>,
    /// File holding the PKCS#12 password (first line).
    #[arg(long, requires = "cert")]
    cert_password_file: Option<PathBuf>,
    /// Client certificate chain, PEM (with --key-pem).
    #[arg(long, requires = "key_pem")]
    cert_pem: Option<PathBuf>,
    /// Client private key, PEM.
    #[arg(long, requires = "cert_pem")]
    key_pem: Option<PathBuf>,
    /// Extra CA certificate(s) to trust, PEM (repeatable).
    #[arg(long)]
    ca: Vec<PathBuf>,
    /// Proxy URL (default: HTTPS_PROXY / HTTP_PROXY / NO_PROXY).
    #[arg(long)]
    proxy: Option<String>,
    /// Connect and read timeout.
    #[arg(long, default_value = "60s", value_parser = taxiway_host::duration::parse)]
    timeout: Duration,
}

fn rfc3339(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("`{text}` is not an RFC 3339 time with a zone: {e}"))
}

fn secret_file(path: &PathBuf) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the secret file {}", path.display()))?;
    Ok(Secret::new(text.lines().next().unwrap_or("").to_string()))
}

impl ConnArgs {
    fn client(&self) -> anyhow::Result<TaxiiClient> {
        let certificate = match (&self.cert, &self.cert_pem, &self.key_pem) {
            (Some(path), _, _) => Some(ClientCertificate::Pkcs12 {
                path: path.clone(),
                password: self
                    .cert_password_file
                    .as_ref()
                    .map(secret_file)
                    .transpose()?,
            }),
            (None, Some(cert), Some(key)) => Some(ClientCertificate::Pem {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        };
        let config = ClientConfig {
            username: self.username.clone(),
            password: self.password_file.as_ref().map(secret_file).transpose()?,
            certificate,
            ca_certificates: self.ca.clone(),
            proxy: self.proxy.clone(),
            connect_timeout: self.timeout,
            read_timeout: self.timeout,
            ..ClientConfig::default()
        };
        Ok(TaxiiClient::new(config)?)
    }
}

/// Run a `taxii` verb; TAXII failures exit with the client's codes (3 auth,
/// 4 not found, 5 network, 6 protocol, 2 configuration).
pub fn run(command: TaxiiCommand) -> ExitCode {
    let result = match command {
        TaxiiCommand::Discover { url, conn } => discover(&url, &conn),
        TaxiiCommand::Collections { url, conn } => collections(&url, &conn),
        TaxiiCommand::Poll {
            url,
            collection,
            begin,
            end,
            subscription_id,
            max_lookback,
            source,
            output,
            conn,
        } => {
            let source = source.unwrap_or_else(|| host_of(&url));
            let params = FeedParams {
                name: source,
                discovery_url: url,
                collections: collection,
                subscription_id,
                begin,
                end,
                max_lookback,
            };
            poll(&params, &conn, output)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("taxiway: {e:#}");
            let code = e
                .downcast_ref::<ClientError>()
                .map_or(1, ClientError::exit_code);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.to_string()
}

fn discover(url: &str, conn: &ConnArgs) -> anyhow::Result<()> {
    let response = conn.client()?.discover(url)?;
    let mut out = io::stdout().lock();
    for s in &response.services {
        writeln!(
            out,
            "{:<22} {}  {}  available={}",
            format!("{:?}", s.service_type),
            s.address,
            s.protocol_binding,
            s.available.map_or("unknown".to_string(), |a| a.to_string())
        )?;
    }
    Ok(())
}

fn collections(url: &str, conn: &ConnArgs) -> anyhow::Result<()> {
    let response = conn.client()?.collections(url)?;
    let mut out = io::stdout().lock();
    for c in &response.collections {
        writeln!(
            out,
            "{:<24} {:?} available={} {}",
            c.name,
            c.kind,
            c.available.map_or("unknown".to_string(), |a| a.to_string()),
            c.description
        )?;
    }
    Ok(())
}

fn poll(params: &FeedParams, conn: &ConnArgs, output: Option<PathBuf>) -> anyhow::Result<()> {
    let client = conn.client()?;
    let mut out: Box<dyn Write> = match &output {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let started = Instant::now();
    let mut written = 0u64;
    let mut failed: Option<io::Error> = None;
    let outcome = poll_feed(&client, params, &|_| None, &mut |_, indicator| {
        if failed.is_some() {
            return;
        }
        match taxiway_poller::write_indicator(&mut out, &indicator) {
            Ok(()) => written += 1,
            Err(e) => failed = Some(e),
        }
        if written.is_multiple_of(10_000) && written > 0 {
            eprintln!("taxiway: {written} indicators so far...");
        }
    })?;
    if let Some(e) = failed {
        return Err(e).context("writing indicators");
    }
    out.flush().context("writing indicators")?;
    summarize_feed(&outcome, started.elapsed());
    Ok(())
}

fn summarize_feed(outcome: &taxiway_poller::client::FeedOutcome, elapsed: Duration) {
    for c in &outcome.collections {
        eprintln!(
            "taxiway: collection {}: {} indicators from {} blocks{}{}{}",
            c.name,
            c.indicators,
            c.blocks,
            counts(", unsupported", &c.unsupported),
            counts(", invalid", &c.invalid),
            counts(", skipped blocks", &c.skipped_blocks),
        );
    }
    eprintln!("taxiway: polled in {:.2}s", elapsed.as_secs_f64());
}

fn counts(label: &str, map: &std::collections::BTreeMap<String, usize>) -> String {
    if map.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} ({v})")).collect();
    format!("{label}: {}", parts.join(", "))
}

/// `taxiway demo`: serve the bundled STIX collections from a TAXII 1.1 server
/// on 127.0.0.1, poll it through the real client, enrich the bundled sample
/// records with the default module and print the tagged ones and a summary.
pub fn demo(records: Option<PathBuf>) -> anyhow::Result<()> {
    let server = DemoServer::start().context("starting the demo TAXII server")?;
    let client = TaxiiClient::new(ClientConfig::default())?;
    let params = FeedParams {
        name: "taxiway-demo".into(),
        discovery_url: server.discovery_url(),
        collections: Vec::new(),
        subscription_id: None,
        begin: None,
        end: None,
        // The bundled content is dated 2024: reach back far enough for it.
        max_lookback: Duration::from_secs(20 * 365 * 86_400),
    };
    let mut indicators: Vec<Indicator> = Vec::new();
    let outcome = poll_feed(&client, &params, &|_| None, &mut |_, i| indicators.push(i))?;
    drop(server);

    let mut by_kind: std::collections::BTreeMap<&str, usize> = Default::default();
    for i in &indicators {
        *by_kind.entry(kind_name(i.kind)).or_default() += 1;
    }
    let total = indicators.len();
    let store = Arc::new(IndicatorStore::new(StoreConfig::default()));
    let snapshot = store.replace_all(indicators, now_micros());

    let runtime = Runtime::new(Limits::default())?;
    let registry = Registry::new(runtime.clone(), ModuleSource::default(), "{}".into(), None)?;
    let mut worker = Worker::new(runtime, registry.clone(), store);
    let records = match records {
        Some(path) => {
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?
        }
        None => include_bytes!("../../samples/records.ndjson").to_vec(),
    };
    let mut batch = Batch::new();
    for record in taxiway_host::worker::records(&records) {
        batch.push(record);
    }
    let mut out = Vec::new();
    let result = worker.enrich(&batch, &mut out);
    let mut stdout = io::stdout().lock();
    for (i, line) in taxiway_host::worker::lines(&out)
        .take(batch.len())
        .enumerate()
    {
        if line != batch.record(i) {
            stdout.write_all(line)?;
            stdout.write_all(b"\n")?;
        }
    }
    stdout.flush()?;

    eprintln!("taxiway demo: feed taxiway-demo (built-in TAXII 1.1 server on 127.0.0.1)");
    for c in &outcome.collections {
        eprintln!("  collection {:<8} {} indicators", c.name, c.indicators);
    }
    let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    eprintln!("  indicators: {total} ({})", kinds.join(", "));
    eprintln!(
        "  records: {} in, {} tagged, {} errored (module {}, snapshot {} with {} indicators)",
        result.stats.records,
        result.stats.tagged,
        result.stats.errored,
        registry.serving().label,
        snapshot.version(),
        snapshot.len()
    );
    Ok(())
}

fn kind_name(kind: IndicatorKind) -> &'static str {
    kind.as_str()
}
