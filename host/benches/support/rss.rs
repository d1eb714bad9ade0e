//! Resident memory, for checking the store's own accounting against what the
//! process really holds.

use std::time::Duration;

/// Resident set size from /proc/self/statm (0 where unavailable).
pub fn rss_bytes() -> i64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Nudge the allocator into returning freed pages (it purges them lazily,
/// on later calls).
pub fn settle() {
    for _ in 0..20 {
        drop(std::hint::black_box(vec![0u8; 1 << 20]));
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Bytes of RSS the process gives back when `what` is dropped (the
/// allocator settled before and after).
pub fn released_by_dropping<T>(what: T) -> i64 {
    settle();
    let held = rss_bytes();
    drop(what);
    settle();
    held - rss_bytes()
}
