//! Cranelift's per-function compile results, kept in memory for the life of
//! the process, so a new module compiles only the functions no module
//! compiled before.
//!
//! A hot swap is usually an *edited* module: the same standard library,
//! allocator and `enricher-core`, with some policy code changed. wasmtime's
//! incremental compilation keys each function by its body (not by its index
//! or its callees' indices), so those shared functions are taken from here
//! and only the edited ones go through Cranelift. The whole-module cache
//! (`Cache`, on disk) still handles a module seen before as a whole.
//!
//! Memory is bounded: when an insert would take the cache past
//! [`FunctionCache::DEFAULT_CAPACITY`], it is emptied first, so it always
//! holds what the most recent compiles produced.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Compiled functions by their cache key, bounded in bytes.
#[derive(Debug)]
pub struct FunctionCache {
    capacity: usize,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<Vec<u8>, Vec<u8>>,
    bytes: usize,
}

/// How the cache has been used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionCacheStats {
    /// Functions taken from the cache instead of compiled.
    pub hits: u64,
    /// Functions looked up and not found (then compiled).
    pub misses: u64,
    /// Functions held.
    pub entries: usize,
    /// Bytes held (keys and values).
    pub bytes: usize,
}

impl FunctionCache {
    /// 64 MiB: a bundled module's functions take about 1 MiB.
    pub const DEFAULT_CAPACITY: usize = 64 << 20;

    pub fn new(capacity: usize) -> Self {
        FunctionCache {
            capacity,
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn stats(&self) -> FunctionCacheStats {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        FunctionCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: inner.map.len(),
            bytes: inner.bytes,
        }
    }

    /// Forget every compiled function (the benchmark uses this to measure
    /// a compile of code never seen before).
    pub fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.map.clear();
        inner.bytes = 0;
    }
}

impl wasmtime::CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.map.get(key) {
            Some(value) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(Cow::Owned(value.clone()))
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let size = key.len() + value.len();
        if size > self.capacity {
            return false;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.bytes + size > self.capacity {
            inner.map.clear();
            inner.bytes = 0;
        }
        if let Some(old) = inner.map.insert(key.to_vec(), value) {
            inner.bytes -= key.len() + old.len();
        }
        inner.bytes += size;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::CacheStore;

    #[test]
    fn bounded_by_capacity_and_counts_hits() {
        let cache = FunctionCache::new(100);
        assert!(cache.insert(b"a", vec![0; 40]));
        assert!(cache.insert(b"b", vec![0; 40]));
        assert_eq!(cache.get(b"a").as_deref(), Some(&[0u8; 40][..]));
        assert!(cache.get(b"c").is_none());
        // A third entry would pass 100 bytes: the cache starts over.
        assert!(cache.insert(b"c", vec![1; 40]));
        assert!(cache.get(b"a").is_none());
        assert_eq!(cache.get(b"c").as_deref(), Some(&[1u8; 40][..]));
        // Too big ever to fit: refused, nothing dropped.
        assert!(!cache.insert(b"d", vec![0; 200]));
        let stats = cache.stats();
        assert_eq!((stats.entries, stats.bytes), (1, 41));
        assert_eq!((stats.hits, stats.misses), (2, 2));
        // Replacing an entry counts its size once.
        assert!(cache.insert(b"c", vec![2; 10]));
        assert_eq!(cache.stats().bytes, 11);
    }
}
