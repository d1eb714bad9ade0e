//! Prometheus metrics, in the text exposition format. Counters are atomics
//! bumped on the hot path; gauges about indicators and modules are read
//! from the store and the registry when scraped. Names carry their unit.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::worker::BatchStats;

/// Upper bounds of the batch latency histogram, in seconds.
const BATCH_BUCKETS: [f64; 14] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BATCH_BUCKETS.len()],
    count: AtomicU64,
    /// Sum in nanoseconds.
    sum_ns: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, bound) in BATCH_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }
}

#[derive(Default, Clone)]
struct FeedCounters {
    polls: u64,
    errors: u64,
    seconds_sum: f64,
    last_success: Option<f64>,
}

#[derive(Default)]
pub struct Metrics {
    records_in: AtomicU64,
    records_out: AtomicU64,
    tagged: AtomicU64,
    errored: AtomicU64,
    traps: AtomicU64,
    failed_calls: AtomicU64,
    requests: AtomicU64,
    batch: Histogram,
    feeds: Mutex<BTreeMap<String, FeedCounters>>,
}

impl Metrics {
    pub fn enriched(&self, stats: &BatchStats, batches: &[Duration]) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.records_in.fetch_add(stats.records, Ordering::Relaxed);
        // Output count always equals input count.
        self.records_out.fetch_add(stats.records, Ordering::Relaxed);
        self.tagged.fetch_add(stats.tagged, Ordering::Relaxed);
        self.errored.fetch_add(stats.errored, Ordering::Relaxed);
        self.traps.fetch_add(stats.traps, Ordering::Relaxed);
        self.failed_calls
            .fetch_add(stats.failed_calls, Ordering::Relaxed);
        for d in batches {
            self.batch.observe(*d);
        }
    }

    pub fn poll_finished(&self, feed: &str, ok: bool, seconds: f64) {
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        let c = feeds.entry(feed.to_owned()).or_default();
        c.polls += 1;
        c.seconds_sum += seconds;
        if ok {
            c.last_success =
                Some(time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9);
        } else {
            c.errors += 1;
        }
    }

    pub fn forget_feed(&self, feed: &str) {
        self.feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(feed);
    }

    /// The exposition text. `indicators` counts currently valid indicators
    /// by (feed, kind); `module` is (label, generation, swaps, rejected).
    pub fn render(
        &self,
        indicators: &BTreeMap<(String, &'static str), u64>,
        module: (&str, u64, u64, u64),
    ) -> String {
        let mut o = String::with_capacity(4096);
        let counter = |o: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            &mut o,
            "taxiway_enrich_requests_total",
            "Enrichment requests served.",
            load(&self.requests),
        );
        counter(
            &mut o,
            "taxiway_records_in_total",
            "Records received for enrichment.",
            load(&self.records_in),
        );
        counter(
            &mut o,
            "taxiway_records_out_total",
            "Records returned (always equal to records in).",
            load(&self.records_out),
        );
        counter(
            &mut o,
            "taxiway_records_tagged_total",
            "Records the module tagged with a match.",
            load(&self.tagged),
        );
        counter(
            &mut o,
            "taxiway_records_errored_total",
            "Records passed through unenriched with the error marker.",
            load(&self.errored),
        );
        counter(
            &mut o,
            "taxiway_module_traps_total",
            "Module calls that trapped (deadline, memory cap, panic).",
            load(&self.traps),
        );
        counter(
            &mut o,
            "taxiway_module_failed_calls_total",
            "Module calls that trapped or returned an error and were retried.",
            load(&self.failed_calls),
        );

        let name = "taxiway_enrich_batch_duration_seconds";
        let _ = writeln!(
            o,
            "# HELP {name} Time of one batch through the module.\n# TYPE {name} histogram"
        );
        for (i, bound) in BATCH_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                o,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                load(&self.batch.buckets[i])
            );
        }
        let count = load(&self.batch.count);
        let _ = writeln!(o, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(o, "{name}_sum {}", load(&self.batch.sum_ns) as f64 / 1e9);
        let _ = writeln!(o, "{name}_count {count}");

        let (label, generation, swaps, rejected) = module;
        let _ = writeln!(
            o,
            "# HELP taxiway_module_generation Serving module generation; grows by one per swap.\n# TYPE taxiway_module_generation gauge\ntaxiway_module_generation{{module=\"{}\"}} {generation}",
            escape(label)
        );
        counter(
            &mut o,
            "taxiway_module_swaps_total",
            "Modules swapped in.",
            swaps,
        );
        counter(
            &mut o,
            "taxiway_module_rejected_loads_total",
            "Modules rejected by a load check.",
            rejected,
        );

        let _ = writeln!(
            o,
            "# HELP taxiway_indicators Indicators currently valid, by feed and kind.\n# TYPE taxiway_indicators gauge"
        );
        for ((feed, kind), n) in indicators {
            let _ = writeln!(
                o,
                "taxiway_indicators{{feed=\"{}\",kind=\"{kind}\"}} {n}",
                escape(feed)
            );
        }

        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let _ = writeln!(
            o,
            "# HELP taxiway_feed_polls_total Polls finished, by feed.\n# TYPE taxiway_feed_polls_total counter"
        );
        for (feed, c) in &feeds {
            let _ = writeln!(
                o,
                "taxiway_feed_polls_total{{feed=\"{}\"}} {}",
                escape(feed),
                c.polls
            );
        }
        let _ = writeln!(
            o,
            "# HELP taxiway_feed_poll_errors_total Polls that failed, by feed.\n# TYPE taxiway_feed_poll_errors_total counter"
        );
        for (feed, c) in &feeds {
            let _ = writeln!(
                o,
                "taxiway_feed_poll_errors_total{{feed=\"{}\"}} {}",
                escape(feed),
                c.errors
            );
        }
        let _ = writeln!(
            o,
            "# HELP taxiway_feed_poll_duration_seconds Time spent polling, by feed.\n# TYPE taxiway_feed_poll_duration_seconds summary"
        );
        for (feed, c) in &feeds {
            let f = escape(feed);
            let _ = writeln!(
                o,
                "taxiway_feed_poll_duration_seconds_sum{{feed=\"{f}\"}} {}\ntaxiway_feed_poll_duration_seconds_count{{feed=\"{f}\"}} {}",
                c.seconds_sum, c.polls
            );
        }
        let _ = writeln!(
            o,
            "# HELP taxiway_feed_last_success_timestamp_seconds When the feed last polled successfully.\n# TYPE taxiway_feed_last_success_timestamp_seconds gauge"
        );
        for (feed, c) in &feeds {
            if let Some(t) = c.last_success {
                let _ = writeln!(
                    o,
                    "taxiway_feed_last_success_timestamp_seconds{{feed=\"{}\"}} {t}",
                    escape(feed)
                );
            }
        }
        o
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
