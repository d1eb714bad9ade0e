//! `POST /v1/enrich` of a real `taxiway serve` (in this process, on
//! loopback): latency of single-record requests at 1, 16 and 64 concurrent
//! keep-alive clients, and records/s with 1,000-record bodies against the
//! same records through the real `taxiway enrich` (and a worker directly).
//!
//! The indicators (default 10^5, `BENCH_INDICATORS`) are written to the
//! service's state before it starts, as a previous poll would have left
//! them; the load generator runs in the same process, on the same 2 cores.
//!
//! `cargo bench -p taxiway --bench serve` (env BENCH_INDICATORS,
//! BENCH_REQUESTS: single-record requests per concurrency level).

use std::sync::Arc;
use std::time::{Duration, Instant};

use taxiway_host::service::{Service, serve};
use taxiway_host::state::State;
use taxiway_host::worker::{Batch, Worker};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[path = "support/data.rs"]
mod data;
use data::{Rng, Schema, asked_to_run, env_usize, records_as};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOKEN: &str = "bench-admin-token-0123456789";

fn indicators(
    n: usize,
    rng: &mut Rng,
) -> (Vec<taxiway_poller::Indicator>, Vec<(String, &'static str)>) {
    let mut out = Vec::with_capacity(n);
    let mut hits = Vec::new();
    for i in 0..n {
        let (ty, value, field) = if i % 3 == 0 {
            (
                "domain-name",
                format!("d{i}.bad-{}.example", rng.below(5000)),
                "dns_queryDomain",
            )
        } else {
            (
                "ipv4-addr",
                format!(
                    "{}.{}.{}.{}",
                    11 + rng.below(150),
                    rng.below(256),
                    rng.below(256),
                    1 + rng.below(254)
                ),
                "dstDevice_ip",
            )
        };
        let ind =
            taxiway_poller::Indicator::new(format!("ind-{i}"), "BenchFeed", ty, &value).unwrap();
        if i % 97 == 0 {
            hits.push((value, field));
        }
        out.push(ind);
    }
    (out, hits)
}

/// Thread names of the server's runtime (its workers and blocking pool, so
/// every request's work) and of the load generator's.
const SERVER_THREADS: &str = "bench-server";
const CLIENT_THREADS: &str = "bench-client";

/// On-CPU nanoseconds (user and kernel, from schedstat) of each of this
/// process's threads, by thread id, with its role: 0 server, 1 load
/// generator, 2 anything else.
fn cpu_by_role() -> std::collections::HashMap<u32, (usize, u64)> {
    let mut threads = std::collections::HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return threads;
    };
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        let role = match name.trim_end() {
            SERVER_THREADS => 0,
            CLIENT_THREADS => 1,
            _ => 2,
        };
        threads.insert(tid, (role, ns));
    }
    threads
}

/// CPU nanoseconds spent per role between two [`cpu_by_role`] readings
/// (threads that ended in between are not counted).
fn cpu_spent(
    before: &std::collections::HashMap<u32, (usize, u64)>,
    after: &std::collections::HashMap<u32, (usize, u64)>,
) -> [u64; 3] {
    let mut spent = [0; 3];
    for (tid, &(role, ns)) in after {
        let earlier = before.get(tid).map_or(0, |&(_, ns)| ns);
        spent[role] += ns.saturating_sub(earlier);
    }
    spent
}

/// One keep-alive HTTP/1.1 connection.
struct Client {
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
    body: Vec<u8>,
}

impl Client {
    async fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            reader: BufReader::new(stream),
            request: Vec::new(),
            body: Vec::new(),
        }
    }

    /// POST `body` to /v1/enrich; returns the response body.
    async fn enrich(&mut self, body: &[u8]) -> &[u8] {
        self.request.clear();
        self.request.extend_from_slice(
            format!(
                "POST /v1/enrich HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {TOKEN}\r\ncontent-type: application/x-ndjson\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        self.request.extend_from_slice(body);
        self.reader
            .get_mut()
            .write_all(&self.request)
            .await
            .unwrap();
        let mut line = String::new();
        let mut length = 0usize;
        let mut status = 0u16;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await.unwrap();
            if status == 0 {
                status = line
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                continue;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap();
            }
        }
        assert_eq!(status, 200, "enrich failed");
        self.body.resize(length, 0);
        self.reader.read_exact(&mut self.body).await.unwrap();
        &self.body
    }
}

/// `clients` connections sending `per_client` single-record requests each:
/// as fast as answers come back (`pace` none, closed loop), or each on a
/// fixed schedule of one request per `pace` (open loop). Returns each
/// request's latency, from when it left, and whether it left more than
/// 2 ms after it was due.
async fn single_records(
    port: u16,
    recs: &Arc<Vec<Vec<u8>>>,
    clients: usize,
    per_client: usize,
    pace: Option<Duration>,
) -> Vec<(Duration, bool)> {
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let recs = recs.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(port).await;
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let mut due = None;
                if let Some(interval) = pace {
                    let at = start + interval * c as u32 / clients as u32 + interval * i as u32;
                    tokio::time::sleep_until(at).await;
                    due = Some(at);
                }
                let rec = &recs[(c * per_client + i) % recs.len()];
                let sent = tokio::time::Instant::now();
                let out = client.enrich(rec).await;
                let late = due.is_some_and(|due| sent - due > Duration::from_millis(2));
                lat.push((sent.elapsed(), late));
                assert_eq!(out.last(), Some(&b'\n'));
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Mean, p50, p99 and max of the requests' latencies, and their rate over
/// `elapsed`, as one line's worth.
fn latency_summary(latencies: &[(Duration, bool)], elapsed: Duration) -> String {
    let mut sorted: Vec<Duration> = latencies.iter().map(|(d, _)| *d).collect();
    sorted.sort();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    format!(
        "mean {:>7.1} µs  p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs  {:>7.0} requests/s",
        micros(sorted.iter().sum::<Duration>() / sorted.len() as u32),
        micros(percentile(&sorted, 0.50)),
        micros(percentile(&sorted, 0.99)),
        micros(*sorted.last().unwrap()),
        sorted.len() as f64 / elapsed.as_secs_f64()
    )
}

fn main() {
    if !asked_to_run("serve") {
        return;
    }
    let n_indicators = env_usize("BENCH_INDICATORS", 100_000);
    let n_requests = env_usize("BENCH_REQUESTS", 20_000);
    let mut rng = Rng(0x5eed);
    let (inds, hits) = indicators(n_indicators, &mut rng);
    let recs = records_as(Schema::Cse, 20_000, &hits, &mut rng);

    let dir = tempfile::tempdir().unwrap();
    // The same indicators as a file, for `taxiway enrich`.
    let indicator_file = dir.path().join("indicators.ndjson");
    taxiway_poller::ndjson::write_indicators(
        std::io::BufWriter::new(std::fs::File::create(&indicator_file).unwrap()),
        &inds,
    )
    .unwrap();
    let state_dir = dir.path().join("state");
    let started = Instant::now();
    State::open(&state_dir)
        .unwrap()
        .commit_poll("BenchFeed", inds, &[], taxiway_host::store::now_micros())
        .unwrap();
    eprintln!(
        "{n_indicators} indicators stored in {:?}",
        started.elapsed()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("taxiway.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_token = \"{TOKEN}\"\n[state]\ndir = \"state\"\n\
             [[feed]]\nname = \"BenchFeed\"\nurl = \"http://127.0.0.1:9/discovery\"\ndefault_ttl = \"never\"\nenabled = false\n"
        ),
    )
    .unwrap();
    let service = Service::open(&config).unwrap();
    eprintln!(
        "service open with {} indicators after {:?}",
        service.store.snapshot().len(),
        started.elapsed()
    );
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let server = service.clone();
    std::thread::Builder::new()
        .name(SERVER_THREADS.into())
        .spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .thread_name(SERVER_THREADS)
                .enable_all()
                .build()
                .unwrap()
                .block_on(serve(server, Some(ready_tx)))
                .unwrap();
        })
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name(CLIENT_THREADS)
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = ready_rx.blocking_recv().unwrap();
    assert_eq!(addr.port(), port);

    if std::env::var("BENCH_ONLY").as_deref() == Ok("single") {
        // Profiling aid: single-record calls straight into a worker.
        let mut worker = Worker::new(
            service.registry.runtime().clone(),
            service.registry.clone(),
            service.store.clone(),
        );
        let (mut batch, mut out) = (Batch::new(), Vec::new());
        let started = Instant::now();
        for r in recs.iter().cycle().take(200_000) {
            batch.clear();
            batch.push(r);
            out.clear();
            worker.enrich(&batch, &mut out);
        }
        println!(
            "single-record calls: {:.2} µs each",
            started.elapsed().as_secs_f64() * 1e6 / 200_000.0
        );
        return;
    }
    let recs = Arc::new(recs);
    println!(
        "POST /v1/enrich, single-record bodies ({n_requests} requests per level, {n_indicators} indicators):"
    );
    let levels: &[usize] = if std::env::var("BENCH_ONLY").as_deref() == Ok("bulk") {
        &[]
    } else {
        &[1, 16, 64]
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for &clients in levels {
        let per_client = n_requests / clients;
        let cpu_before = cpu_by_role();
        let started = Instant::now();
        let latencies = client_rt.block_on(single_records(port, &recs, clients, per_client, None));
        let summary = latency_summary(&latencies, started.elapsed());
        println!("  {clients:>2} clients: {summary}");
        // Where the cores went: in a closed loop every request costs the
        // server's and the load generator's CPU on the same cores, so
        // latency can average no less than clients × that / cores.
        let [server, client, other] = cpu_spent(&cpu_before, &cpu_by_role())
            .map(|ns| ns as f64 / 1e3 / latencies.len() as f64);
        println!(
            "             CPU per request: server {server:.1} µs, load generator {client:.1} µs, \
             other {other:.1} µs; so on {cores} cores the mean cannot be under {:.0} µs",
            clients as f64 * (server + client + other) / cores as f64
        );
    }

    // Open loop: 64 connections send on a fixed schedule at an aggregate
    // rate, whatever the answers' pace (as a log shipper does), instead of
    // as fast as answers come back. tokio's timer ticks in milliseconds, so
    // a request leaves up to ~1 ms after it was due (in bursts of up to
    // rate/1000): latency runs from when it left; "late" counts requests
    // that left more than 2 ms after they were due, i.e. schedule slips the
    // timer does not explain (a client still waiting for an earlier answer).
    let rates: &[usize] = if levels.is_empty() {
        &[]
    } else {
        &[5_000, 10_000, 20_000, 30_000]
    };
    if !rates.is_empty() {
        println!("POST /v1/enrich, single-record bodies, 64 clients, open loop:");
    }
    for &rate in rates {
        let clients = 64usize;
        let per_client = (n_requests / clients).max(1);
        let interval = Duration::from_secs_f64(clients as f64 / rate as f64);
        let started = Instant::now();
        let latencies = client_rt.block_on(single_records(
            port,
            &recs,
            clients,
            per_client,
            Some(interval),
        ));
        let summary = latency_summary(&latencies, started.elapsed());
        let late = latencies.iter().filter(|(_, late)| *late).count();
        println!(
            "  {rate:>6} requests/s offered: {summary} done, {:.2}% late",
            late as f64 * 100.0 / latencies.len() as f64
        );
    }

    // Bulk: 1,000-record bodies.
    let bodies: Vec<Vec<u8>> = recs
        .chunks(1000)
        .map(|chunk| {
            chunk
                .iter()
                .flat_map(|r| r.iter().copied().chain([b'\n']))
                .collect()
        })
        .collect();
    // Each pass sends every body `rounds` times; the HTTP levels and
    // `taxiway enrich` take turns, pass after pass, so a slow spell of the
    // machine falls on all of them, and each is reported as its best and
    // median pass (the upper of the middle two for an even count).
    let rounds = 5;
    let passes = env_usize("BENCH_PASSES", 5).max(1);
    let total = bodies.len() * 1000 * rounds;
    let bodies = Arc::new(bodies);
    let levels = [1usize, 2, 4];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); levels.len() + 1];
    let records_file = dir.path().join("records.ndjson");
    let mut text = Vec::new();
    for _ in 0..rounds {
        for body in bodies.iter() {
            text.extend_from_slice(body);
        }
    }
    std::fs::write(&records_file, &text).unwrap();
    // Each pass starts one place further along the list, so no level
    // always runs first.
    for pass in 0..passes {
        for turn in 0..=levels.len() {
            let level = (pass + turn) % (levels.len() + 1);
            let rate = match levels.get(level) {
                Some(&clients) => {
                    let started = Instant::now();
                    client_rt.block_on(bulk(port, &bodies, clients, rounds));
                    total as f64 / started.elapsed().as_secs_f64()
                }
                None => cli_rate(&indicator_file, &records_file, total),
            };
            rates[level].push(rate);
        }
    }
    let summary = |rates: &mut Vec<f64>| {
        rates.sort_by(f64::total_cmp);
        (rates[rates.len() - 1], rates[rates.len() / 2])
    };
    let (cli_best, cli_median) = summary(&mut rates[levels.len()]);
    for (level, &clients) in levels.iter().enumerate() {
        let (best, median) = summary(&mut rates[level]);
        println!(
            "POST /v1/enrich, 1,000-record bodies, {clients} client(s): best {best:.0} records/s \
             ({:+.0}% against taxiway enrich's best), median {median:.0} ({:+.0}%)",
            (best / cli_best - 1.0) * 100.0,
            (median / cli_median - 1.0) * 100.0
        );
    }
    println!(
        "taxiway enrich on the same records (batches of 1,000, one thread): best {cli_best:.0} records/s, \
         median {cli_median:.0} ({passes} passes, taking turns with the HTTP levels)"
    );

    // The same records through a worker directly, one thread, batches of
    // 1,000: `taxiway enrich`'s path without reading and writing.
    let mut worker = Worker::new(
        service.registry.runtime().clone(),
        service.registry.clone(),
        service.store.clone(),
    );
    let mut out = Vec::new();
    let started = Instant::now();
    for _ in 0..rounds {
        for chunk in recs.chunks(1000) {
            let mut batch = Batch::new();
            for r in chunk {
                batch.push(r);
            }
            out.clear();
            worker.enrich(&batch, &mut out);
        }
    }
    let rate = (recs.len() * rounds) as f64 / started.elapsed().as_secs_f64();
    println!("worker directly, batches of 1,000, 1 thread: {rate:.0} records/s");
    let started = Instant::now();
    let mut batch = Batch::new();
    for r in recs.iter() {
        batch.clear();
        batch.push(r);
        out.clear();
        worker.enrich(&batch, &mut out);
    }
    let per = started.elapsed() / recs.len() as u32;
    println!(
        "worker directly, single-record batches: {:.1} µs per call",
        per.as_secs_f64() * 1e6
    );
}

/// `clients` connections sending every body in `bodies` `rounds` times
/// between them, each body checked to come back with all its lines.
async fn bulk(port: u16, bodies: &Arc<Vec<Vec<u8>>>, clients: usize, rounds: usize) {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let bodies = bodies.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(port).await;
            for r in 0..rounds {
                for (i, body) in bodies.iter().enumerate() {
                    if (i + r) % clients == c {
                        let out = client.enrich(body).await;
                        assert_eq!(memchr::memchr_iter(b'\n', out).count(), 1000);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Records/s of the real `taxiway enrich` (batches of 1,000, the same
/// indicators, output thrown away) on `records`, by the time it reports
/// for its enrich loop: what bulk HTTP is held against.
fn cli_rate(indicators: &std::path::Path, records: &std::path::Path, total: usize) -> f64 {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_taxiway"))
        .args([
            "enrich",
            "--batch",
            "1000",
            "--default-ttl",
            "never",
            "--indicators",
        ])
        .arg(indicators)
        .arg(records)
        .args(["-o", "/dev/null"])
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "taxiway enrich failed: {summary}");
    // "taxiway: N records, T tagged, E errored, in S.SSSs (...)"
    let seconds: f64 = summary
        .split(" in ")
        .nth(1)
        .and_then(|s| s.split('s').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no time in {summary:?}"));
    assert!(
        summary.contains(&format!("taxiway: {total} records")),
        "{summary}"
    );
    total as f64 / seconds
}
