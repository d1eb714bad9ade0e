//! The service's durable state, in one redb file.
//!
//! Why redb: it is pure Rust (no C toolchain, nothing to link), a single
//! file, ACID with copy-on-write pages and a durable (fsync) commit by
//! default, and readers never block the writer. taxiway needs ordered keys
//! and atomic multi-table commits, not SQL, so SQLite would add a C build
//! and a query layer for nothing.
//!
//! What it holds:
//! - `indicators`: `(feed, id)` -> the indicator as taxiway received it
//!   (NDJSON line) with when it was first received, so that a default TTL
//!   keeps counting from the first delivery across restarts.
//! - `cursors`: `(feed, collection)` -> where the next poll starts.
//! - `feeds`: feeds added through the API (their JSON settings).
//! - `status`: each feed's last success, last error and counts.
//! - `meta`: small service facts (the uploaded module serving).
//!
//! A poll's indicators and its cursors are written in one transaction
//! ([`State::commit_poll`]), so after a crash a cursor is never ahead of
//! the content it covers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use taxiway_poller::{Indicator, IndicatorKind};
use time::OffsetDateTime;

use crate::store::{Micros, micros};

const INDICATORS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("indicators");
const CURSORS: TableDefinition<(&str, &str), i64> = TableDefinition::new("cursors");
const FEEDS: TableDefinition<&str, &str> = TableDefinition::new("feeds");
const STATUS: TableDefinition<&str, &str> = TableDefinition::new("status");
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// Errors of the state database, with the file they concern.
#[derive(Debug, thiserror::Error)]
#[error("state database {path}: {source}")]
pub struct StateError {
    path: PathBuf,
    #[source]
    source: redb::Error,
}

/// Stored indicator: `received` (i64 LE), raw `valid_until` (i64 LE,
/// `i64::MIN` for none), the kind (index in [`IndicatorKind::ALL`]), then
/// the NDJSON line. The header lets a sweep decide without parsing JSON.
const HEADER: usize = 17;

/// When an indicator stops being valid, from its feed, kind, first
/// reception and raw valid-until (none: never).
pub type Expiry<'a> = dyn Fn(&str, IndicatorKind, Micros, Option<Micros>) -> Option<Micros> + 'a;

/// An indicator as persisted.
#[derive(Debug, Clone)]
pub struct Stored {
    pub indicator: Indicator,
    /// When taxiway first received it.
    pub received: Micros,
}

/// Take group and other access away from `path` (it holds credentials).
/// Failing that (a folder someone else owns, say) is logged, not fatal.
fn owner_only(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let current = match std::fs::metadata(path) {
            Ok(m) => m.permissions().mode(),
            Err(_) => return,
        };
        if current & 0o077 == 0 {
            return;
        }
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            tracing::warn!(
                path = %path.display(),
                "state holds feed credentials but its permissions could not be restricted: {e}"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

pub struct State {
    db: Database,
    path: PathBuf,
}

impl State {
    /// Open (or create) `dir/state.redb`.
    pub fn open(dir: &Path) -> Result<State, StateError> {
        std::fs::create_dir_all(dir).map_err(|e| StateError {
            path: dir.to_path_buf(),
            source: redb::Error::Io(e),
        })?;
        // Feeds added through the API keep their credentials here: the
        // folder is closed before the file is created in it.
        owner_only(dir, 0o700);
        let path = dir.join("state.redb");
        let db = Database::create(&path).map_err(|e| StateError {
            path: path.clone(),
            source: e.into(),
        })?;
        owner_only(&path, 0o600);
        let state = State { db, path };
        // Create every table, so readers never meet a missing one.
        state.write(|tx| {
            tx.open_table(INDICATORS)?;
            tx.open_table(CURSORS)?;
            tx.open_table(FEEDS)?;
            tx.open_table(STATUS)?;
            tx.open_table(META)?;
            Ok(())
        })?;
        Ok(state)
    }

    fn err(&self, e: impl Into<redb::Error>) -> StateError {
        StateError {
            path: self.path.clone(),
            source: e.into(),
        }
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StateError> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let value = f(&tx).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(value)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StateError> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        f(&tx).map_err(|e| self.err(e))
    }

    /// Store a poll's indicators and advance its cursors, atomically and
    /// durably. An indicator already held (same feed and id) is replaced but
    /// keeps its first received time. Returns what was stored, in order.
    pub fn commit_poll(
        &self,
        feed: &str,
        indicators: Vec<Indicator>,
        cursors: &[(String, OffsetDateTime)],
        now: Micros,
    ) -> Result<Vec<Stored>, StateError> {
        self.write(|tx| {
            let mut table = tx.open_table(INDICATORS)?;
            let mut stored = Vec::with_capacity(indicators.len());
            let mut line = Vec::new();
            for indicator in indicators {
                let received = table
                    .get((feed, indicator.id.as_str()))?
                    .map(|v| received_of(v.value()))
                    .unwrap_or(now);
                encode(&indicator, received, &mut line);
                table.insert((feed, indicator.id.as_str()), line.as_slice())?;
                stored.push(Stored {
                    indicator,
                    received,
                });
            }
            let mut table = tx.open_table(CURSORS)?;
            for (collection, cursor) in cursors {
                table.insert((feed, collection.as_str()), micros(*cursor))?;
            }
            Ok(stored)
        })
    }

    /// Everything held for every feed, grouped by feed. Lines that no longer
    /// parse (they were valid when stored) are skipped with a warning.
    pub fn indicators(&self) -> Result<BTreeMap<String, Vec<Stored>>, StateError> {
        self.read(|tx| {
            let table = tx.open_table(INDICATORS)?;
            let mut out: BTreeMap<String, Vec<Stored>> = BTreeMap::new();
            for entry in table.iter()? {
                let (key, value) = entry?;
                let (feed, id) = key.value();
                match decode(value.value()) {
                    Some(stored) => match out.get_mut(feed) {
                        Some(list) => list.push(stored),
                        None => {
                            out.insert(feed.to_owned(), vec![stored]);
                        }
                    },
                    None => tracing::warn!(feed, id, "stored indicator no longer parses; skipped"),
                }
            }
            Ok(out)
        })
    }

    /// Indicators held for one feed.
    pub fn indicator_count(&self, feed: &str) -> Result<usize, StateError> {
        self.read(|tx| {
            let table = tx.open_table(INDICATORS)?;
            Ok(table
                .range((feed, "")..)?
                .take_while(|e| e.as_ref().is_ok_and(|(k, _)| k.value().0 == feed))
                .count())
        })
    }

    /// Delete indicators whose validity has ended: `expires(feed, kind,
    /// received, valid_until)` gives the end (none: never) from the raw
    /// valid-until and the feed's TTLs. Returns how many went, by feed.
    pub fn sweep(
        &self,
        now: Micros,
        expires: &Expiry<'_>,
    ) -> Result<BTreeMap<String, usize>, StateError> {
        self.write(|tx| {
            let mut table = tx.open_table(INDICATORS)?;
            let mut gone: BTreeMap<String, usize> = BTreeMap::new();
            table.retain(|(feed, _id), value| {
                let (received, until, kind) = header(value);
                let keep = expires(feed, kind, received, until).is_none_or(|end| end > now);
                if !keep {
                    *gone.entry(feed.to_owned()).or_default() += 1;
                }
                keep
            })?;
            Ok(gone)
        })
    }

    /// Cursors of one feed, by collection.
    pub fn cursors(&self, feed: &str) -> Result<BTreeMap<String, Micros>, StateError> {
        self.read(|tx| {
            let table = tx.open_table(CURSORS)?;
            let mut out = BTreeMap::new();
            for entry in table.range((feed, "")..)? {
                let (key, value) = entry?;
                let (f, collection) = key.value();
                if f != feed {
                    break;
                }
                out.insert(collection.to_owned(), value.value());
            }
            Ok(out)
        })
    }

    /// Forget a feed: its indicators, cursors, status and API settings.
    pub fn remove_feed(&self, feed: &str) -> Result<(), StateError> {
        self.write(|tx| {
            let mut table = tx.open_table(INDICATORS)?;
            table.retain_in((feed, "")..=(feed, "\u{10FFFF}"), |(f, _), _| f != feed)?;
            let mut table = tx.open_table(CURSORS)?;
            table.retain_in((feed, "")..=(feed, "\u{10FFFF}"), |(f, _), _| f != feed)?;
            tx.open_table(FEEDS)?.remove(feed)?;
            tx.open_table(STATUS)?.remove(feed)?;
            Ok(())
        })
    }

    /// Forget a feed's cursors (its next poll starts from the lookback).
    pub fn reset_cursors(&self, feed: &str) -> Result<(), StateError> {
        self.write(|tx| {
            let mut table = tx.open_table(CURSORS)?;
            table.retain_in((feed, "")..=(feed, "\u{10FFFF}"), |(f, _), _| f != feed)?;
            Ok(())
        })
    }

    /// Feeds added through the API: name -> JSON settings.
    pub fn api_feeds(&self) -> Result<BTreeMap<String, String>, StateError> {
        self.strings(FEEDS)
    }

    pub fn save_api_feed(&self, name: &str, json: &str) -> Result<(), StateError> {
        self.put(FEEDS, name, json)
    }

    /// Feed statuses: name -> JSON.
    pub fn statuses(&self) -> Result<BTreeMap<String, String>, StateError> {
        self.strings(STATUS)
    }

    pub fn save_status(&self, name: &str, json: &str) -> Result<(), StateError> {
        self.put(STATUS, name, json)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StateError> {
        self.read(|tx| {
            let table = tx.open_table(META)?;
            Ok(table.get(key)?.map(|v| v.value().to_owned()))
        })
    }

    pub fn set_meta(&self, key: &str, value: Option<&str>) -> Result<(), StateError> {
        self.write(|tx| {
            let mut table = tx.open_table(META)?;
            match value {
                Some(v) => {
                    table.insert(key, v)?;
                }
                None => {
                    table.remove(key)?;
                }
            }
            Ok(())
        })
    }

    fn strings(
        &self,
        def: TableDefinition<&str, &str>,
    ) -> Result<BTreeMap<String, String>, StateError> {
        self.read(|tx| {
            let table = tx.open_table(def)?;
            let mut out = BTreeMap::new();
            for entry in table.iter()? {
                let (k, v) = entry?;
                out.insert(k.value().to_owned(), v.value().to_owned());
            }
            Ok(out)
        })
    }

    fn put(
        &self,
        def: TableDefinition<&str, &str>,
        key: &str,
        value: &str,
    ) -> Result<(), StateError> {
        self.write(|tx| {
            tx.open_table(def)?.insert(key, value)?;
            Ok(())
        })
    }
}

fn encode(indicator: &Indicator, received: Micros, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&received.to_le_bytes());
    let until = indicator.valid_until.map_or(i64::MIN, micros);
    out.extend_from_slice(&until.to_le_bytes());
    let kind = IndicatorKind::ALL
        .iter()
        .position(|k| *k == indicator.kind)
        .expect("every kind is in ALL");
    out.push(kind as u8);
    taxiway_poller::write_indicator(&mut *out, indicator).expect("writing to a Vec");
    if out.last() == Some(&b'\n') {
        out.pop();
    }
}

fn header(value: &[u8]) -> (Micros, Option<Micros>, IndicatorKind) {
    let received = received_of(value);
    let until = i64::from_le_bytes(value[8..16].try_into().expect("header"));
    let kind = IndicatorKind::ALL[usize::from(value[16]) % IndicatorKind::ALL.len()];
    (received, (until != i64::MIN).then_some(until), kind)
}

fn received_of(value: &[u8]) -> Micros {
    i64::from_le_bytes(value[..8].try_into().expect("header"))
}

fn decode(value: &[u8]) -> Option<Stored> {
    if value.len() < HEADER {
        return None;
    }
    let line = std::str::from_utf8(&value[HEADER..]).ok()?;
    let indicator = taxiway_poller::ndjson::parse_line(line).ok()?;
    Some(Stored {
        indicator,
        received: received_of(value),
    })
}

#[cfg(test)]
mod tests;
