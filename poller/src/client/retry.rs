//! Waiting out `RETRY` and `PENDING`: a typed, bounded backoff.

use std::time::Duration;

/// How the client waits before asking again after a `RETRY`, `PENDING` or `NETWORK_ERROR`
/// status. The server's `ESTIMATED_WAIT` is honoured when given, but never beyond
/// [`max_wait`](Self::max_wait); without it the wait grows exponentially from
/// [`initial_wait`](Self::initial_wait).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    /// How many times one request is repeated before the status is returned as an error.
    pub max_retries: u32,
    /// The first wait without `ESTIMATED_WAIT`.
    pub initial_wait: Duration,
    /// Factor applied to the wait after each attempt without `ESTIMATED_WAIT`.
    pub multiplier: f64,
    /// Cap on any single wait (including the server's `ESTIMATED_WAIT`).
    pub max_wait: Duration,
    /// Cap on the total time spent waiting for one request.
    pub max_total_wait: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 5,
            initial_wait: Duration::from_secs(2),
            multiplier: 2.0,
            max_wait: Duration::from_secs(60),
            max_total_wait: Duration::from_secs(300),
        }
    }
}

impl RetryConfig {
    /// The wait before retry number `attempt` (0-based), or `None` when the retries or the
    /// total wait budget (`waited` so far) are used up.
    pub fn wait(
        &self,
        attempt: u32,
        estimated_wait: Option<u64>,
        waited: Duration,
    ) -> Option<Duration> {
        if attempt >= self.max_retries {
            return None;
        }
        let wait = match estimated_wait {
            Some(secs) => Duration::from_secs(secs),
            None => {
                let factor = self.multiplier.max(1.0).powi(attempt.min(64) as i32);
                Duration::try_from_secs_f64(self.initial_wait.as_secs_f64() * factor)
                    .unwrap_or(self.max_wait)
            }
        }
        .min(self.max_wait);
        if waited + wait > self.max_total_wait {
            return None;
        }
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimated_wait_is_capped_and_budget_ends_retries() {
        let c = RetryConfig {
            max_retries: 3,
            initial_wait: Duration::from_secs(1),
            multiplier: 2.0,
            max_wait: Duration::from_secs(10),
            max_total_wait: Duration::from_secs(15),
        };
        assert_eq!(
            c.wait(0, None, Duration::ZERO),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            c.wait(2, None, Duration::ZERO),
            Some(Duration::from_secs(4))
        );
        assert_eq!(
            c.wait(0, Some(3600), Duration::ZERO),
            Some(Duration::from_secs(10))
        );
        assert_eq!(c.wait(1, Some(10), Duration::from_secs(10)), None);
        assert_eq!(c.wait(3, Some(1), Duration::ZERO), None);
    }
}
