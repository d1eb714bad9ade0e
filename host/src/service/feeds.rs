//! One task per feed: poll at the feed's interval (with jitter), back off
//! exponentially while it fails, poll at once when asked. A poll runs on
//! the blocking pool, so a slow or failing feed never delays another.
//!
//! A poll's indicators and cursors are committed to the state in one
//! transaction, then merged into the feed's indicators in the store.
//! A failing feed's last good indicators keep matching until they expire.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use taxiway_poller::Indicator;
use taxiway_poller::client::{ClientCertificate, ClientConfig, FeedParams, TaxiiClient, poll_feed};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use super::Service;
use crate::config::FeedConfig;
use crate::state::Stored;
use crate::store::{Micros, now_micros};

/// Where a feed was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `[[feed]]` in the config file: changed by editing the file.
    Config,
    /// Added through `POST /v1/feeds`.
    Api,
}

/// What the API shows of a feed's recent life. Persisted.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct FeedStatus {
    pub last_poll: Option<String>,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub consecutive_failures: u32,
    /// Indicators the last successful poll delivered.
    pub last_poll_indicators: u64,
    pub last_poll_seconds: f64,
    pub next_poll: Option<String>,
    pub polls: u64,
    pub failures: u64,
}

/// The outcome of one poll, as `POST /v1/feeds/{name}/poll?wait=true` returns it.
#[derive(Debug, Clone, Serialize)]
pub struct PollReport {
    pub feed: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub indicators: u64,
    pub held: usize,
    pub seconds: f64,
    pub collections: Vec<serde_json::Value>,
}

type Trigger = Option<oneshot::Sender<PollReport>>;

pub struct FeedHandle {
    pub config: Arc<FeedConfig>,
    pub origin: Origin,
    pub status: Arc<Mutex<FeedStatus>>,
    trigger: mpsc::UnboundedSender<Trigger>,
    task: tokio::task::JoinHandle<()>,
    /// Held while a poll commits; `false` once the feed is removed, so a
    /// poll finishing after its feed was deleted stores nothing.
    alive: Arc<Mutex<bool>>,
}

impl Drop for FeedHandle {
    fn drop(&mut self) {
        *self.alive.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.task.abort();
    }
}

/// Backoff after `failures` consecutive failures: from the smaller of the
/// interval and a minute, doubling, capped at six hours.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let base = interval.min(Duration::from_secs(60));
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    (base * factor).min(Duration::from_secs(6 * 3600))
}

/// `d` moved by up to ±10%, so feeds configured alike do not poll in lockstep.
fn jitter(d: Duration) -> Duration {
    let spread = d.as_secs_f64() * 0.1;
    Duration::from_secs_f64((d.as_secs_f64() + (fastrand::f64() * 2.0 - 1.0) * spread).max(0.0))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn from_micros(m: Micros) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The indicator as it should match: a feed TTL gives a valid-until to
/// one without, counted from when it was first received.
pub fn effective(stored: Stored, feed: &FeedConfig) -> Indicator {
    let mut indicator = stored.indicator;
    if indicator.valid_until.is_none()
        && let Some(ttl) = feed.ttl_for(indicator.kind)
    {
        let until = from_micros(stored.received) + ttl;
        indicator.valid_until = Some(match indicator.valid_from {
            Some(from) if from > until => from,
            _ => until,
        });
    }
    indicator
}

impl Service {
    /// Start (or restart, with new settings) a feed's task.
    pub fn start_feed(self: &Arc<Self>, feed: FeedConfig, origin: Origin) {
        let name = feed.name.clone();
        let status = self
            .state
            .statuses()
            .ok()
            .and_then(|s| s.get(&name).cloned())
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        let status = Arc::new(Mutex::new(status));
        let config = Arc::new(feed);
        let alive = Arc::new(Mutex::new(true));
        let (trigger, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(
            Arc::downgrade(self),
            config.clone(),
            status.clone(),
            alive.clone(),
            rx,
        ));
        let handle = FeedHandle {
            config,
            origin,
            status,
            trigger,
            task,
            alive,
        };
        let old = self
            .feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, handle);
        drop(old);
    }

    /// Stop a feed and forget it: indicators, cursors, status.
    pub fn remove_feed(&self, name: &str) -> bool {
        let handle = self
            .feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        let Some(handle) = handle else {
            return false;
        };
        // Wait out a commit in progress, then make later ones no-ops.
        *handle.alive.lock().unwrap_or_else(|e| e.into_inner()) = false;
        drop(handle);
        if let Err(e) = self.state.remove_feed(name) {
            tracing::error!(feed = name, "removing stored state: {e}");
        }
        self.store.remove_source(name);
        self.metrics.forget_feed(name);
        true
    }

    /// Feeds with their settings, origin and status.
    pub fn feed_list(&self) -> Vec<(Arc<FeedConfig>, Origin, FeedStatus)> {
        self.feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|h| {
                (
                    h.config.clone(),
                    h.origin,
                    h.status.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                )
            })
            .collect()
    }

    pub fn feed(&self, name: &str) -> Option<(Arc<FeedConfig>, Origin)> {
        self.feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .map(|h| (h.config.clone(), h.origin))
    }

    /// Ask a feed to poll now; the receiver gets the report.
    pub fn poll_now(&self, name: &str) -> Option<oneshot::Receiver<PollReport>> {
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        let handle = feeds.get(name)?;
        let (tx, rx) = oneshot::channel();
        handle.trigger.send(Some(tx)).ok()?;
        Some(rx)
    }
}

async fn run(
    service: std::sync::Weak<Service>,
    feed: Arc<FeedConfig>,
    status: Arc<Mutex<FeedStatus>>,
    alive: Arc<Mutex<bool>>,
    mut triggers: mpsc::UnboundedReceiver<Trigger>,
) {
    // The first poll is due at once unless the last one is recent enough.
    let mut wait = {
        let s = status.lock().unwrap_or_else(|e| e.into_inner());
        let since = s
            .last_poll
            .as_deref()
            .and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| {
                (OffsetDateTime::now_utc() - t)
                    .try_into()
                    .unwrap_or(Duration::ZERO)
            });
        match since {
            Some(since) if s.consecutive_failures == 0 => feed.poll_interval.saturating_sub(since),
            _ => Duration::ZERO,
        }
    };
    loop {
        let reply = if feed.enabled {
            {
                let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
                s.next_poll = Some(rfc3339(OffsetDateTime::now_utc() + wait));
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => None,
                t = triggers.recv() => match t {
                    Some(reply) => reply,
                    None => return,
                },
            }
        } else {
            // A disabled feed polls only when asked.
            match triggers.recv().await {
                Some(reply) => reply,
                None => return,
            }
        };
        let Some(svc) = service.upgrade() else {
            return;
        };
        let feed2 = feed.clone();
        let alive2 = alive.clone();
        let report = tokio::task::spawn_blocking(move || poll_once(&svc, &feed2, &alive2))
            .await
            .unwrap_or_else(|e| PollReport {
                feed: feed.name.clone(),
                ok: false,
                error: Some(format!("poll task failed: {e}")),
                indicators: 0,
                held: 0,
                seconds: 0.0,
                collections: Vec::new(),
            });
        let failures = {
            let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
            let now = rfc3339(OffsetDateTime::now_utc());
            s.last_poll = Some(now.clone());
            s.polls += 1;
            s.last_poll_seconds = report.seconds;
            if report.ok {
                s.last_success = Some(now);
                s.consecutive_failures = 0;
                s.last_poll_indicators = report.indicators;
            } else {
                s.last_error = report.error.clone();
                s.last_error_at = Some(now);
                s.consecutive_failures += 1;
                s.failures += 1;
            }
            s.consecutive_failures
        };
        if let Some(svc) = service.upgrade() {
            svc.metrics
                .poll_finished(&feed.name, report.ok, report.seconds);
            if *alive.lock().unwrap_or_else(|e| e.into_inner()) {
                let json =
                    serde_json::to_string(&*status.lock().unwrap_or_else(|e| e.into_inner()))
                        .unwrap_or_default();
                if let Err(e) = svc.state.save_status(&feed.name, &json) {
                    tracing::error!(feed = %feed.name, "saving feed status: {e}");
                }
            }
        }
        if let Some(reply) = reply {
            let _ = reply.send(report);
        }
        wait = if failures == 0 {
            jitter(feed.poll_interval)
        } else {
            jitter(backoff(feed.poll_interval, failures))
        };
    }
}

/// Poll a feed once and commit what it yields.
fn poll_once(service: &Service, feed: &FeedConfig, alive: &Mutex<bool>) -> PollReport {
    let started = Instant::now();
    let mut report = PollReport {
        feed: feed.name.clone(),
        ok: false,
        error: None,
        indicators: 0,
        held: 0,
        seconds: 0.0,
        collections: Vec::new(),
    };
    match poll_and_commit(service, feed, alive, &mut report) {
        Ok(()) => report.ok = true,
        Err(e) => {
            tracing::warn!(feed = %feed.name, "poll failed: {e:#}");
            report.error = Some(format!("{e:#}"));
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

fn poll_and_commit(
    service: &Service,
    feed: &FeedConfig,
    alive: &Mutex<bool>,
    report: &mut PollReport,
) -> anyhow::Result<()> {
    let client = TaxiiClient::new(client_config(feed)?)?;
    let cursors = service.state.cursors(&feed.name)?;
    let params = FeedParams {
        name: feed.name.clone(),
        discovery_url: feed.url.clone(),
        collections: feed.collections.clone(),
        subscription_id: feed.subscription_id.clone(),
        begin: None,
        end: None,
        max_lookback: feed.max_lookback,
    };
    let mut got: Vec<Indicator> = Vec::new();
    let result = poll_feed(
        &client,
        &params,
        &|collection| cursors.get(collection).copied().map(from_micros),
        &mut |_, indicator| got.push(indicator),
    );
    // Indicators parsed before an error are kept; only finished
    // collections advance their cursors.
    let (outcome, error) = match result {
        Ok(o) => (o, None),
        Err(e) => (Default::default(), Some(e)),
    };
    let new_cursors: Vec<(String, OffsetDateTime)> = outcome
        .collections
        .iter()
        .filter_map(|c| Some((c.name.clone(), c.cursor?)))
        .collect();
    for c in &outcome.collections {
        report.collections.push(serde_json::json!({
            "name": c.name,
            "indicators": c.indicators,
            "blocks": c.blocks,
            "parts": c.parts,
            "unsupported": c.unsupported,
            "invalid": c.invalid,
            "skipped_blocks": c.skipped_blocks,
            "cursor": c.cursor.map(rfc3339),
        }));
    }
    report.indicators = got.len() as u64;
    {
        let alive = alive.lock().unwrap_or_else(|e| e.into_inner());
        if !*alive {
            anyhow::bail!("feed removed while polling; nothing stored");
        }
        if !got.is_empty() || !new_cursors.is_empty() {
            let now = now_micros();
            let stored = service
                .state
                .commit_poll(&feed.name, got, &new_cursors, now)?;
            let indicators = stored.into_iter().map(|s| effective(s, feed)).collect();
            service.store.upsert_source(&feed.name, indicators, now);
        }
        report.held = service.state.indicator_count(&feed.name)?;
    }
    match error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

fn client_config(feed: &FeedConfig) -> anyhow::Result<ClientConfig> {
    let password = match &feed.password {
        Some(p) => Some(p.resolve().map_err(anyhow::Error::msg)?),
        None => None,
    };
    let certificate = match &feed.certificate {
        Some(path) => Some(ClientCertificate::Pkcs12 {
            path: path.clone(),
            password: match &feed.certificate_password {
                Some(p) => Some(p.resolve().map_err(anyhow::Error::msg)?),
                None => None,
            },
        }),
        None => None,
    };
    Ok(ClientConfig {
        username: feed.username.clone(),
        password,
        certificate,
        ca_certificates: feed.ca_certificates.clone(),
        proxy: feed.proxy.clone(),
        connect_timeout: feed.timeout,
        read_timeout: feed.timeout,
        ..ClientConfig::default()
    })
}
