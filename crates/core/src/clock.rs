//! The one place depot reads the wall clock. Every use case and query asks a `Clock` for "now",
//! so a test can move time (a membership ending, a password link expiring, a rate-limit window
//! closing) instead of sleeping through it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Milliseconds since the Unix epoch, the schema's one time format. Clones share their setting.
#[derive(Clone, Debug, Default)]
pub struct Clock(Mode);

#[derive(Clone, Debug, Default)]
enum Mode {
    #[default]
    System,
    /// The system clock plus an offset that tests move forward: time still flows, so a whole
    /// server keeps working, and can jump.
    Shifted(Arc<AtomicI64>),
    /// Stands still until it is set or advanced.
    Fixed(Arc<AtomicI64>),
}

fn system_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl Clock {
    /// The real time: what `depot serve` runs on.
    pub fn system() -> Self {
        Clock(Mode::System)
    }

    /// The real time, which `advance` moves forward for this clock and its clones.
    pub fn shifted() -> Self {
        Clock(Mode::Shifted(Arc::new(AtomicI64::new(0))))
    }

    /// A clock that reads `at_ms` until it is set or advanced.
    pub fn fixed(at_ms: i64) -> Self {
        Clock(Mode::Fixed(Arc::new(AtomicI64::new(at_ms))))
    }

    pub fn now_ms(&self) -> i64 {
        match &self.0 {
            Mode::System => system_ms(),
            Mode::Shifted(offset) => system_ms() + offset.load(Ordering::Relaxed),
            Mode::Fixed(at) => at.load(Ordering::Relaxed),
        }
    }

    /// Moves a test clock forward. The system clock cannot be moved: that is a bug in the caller.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        match &self.0 {
            Mode::System => panic!("the system clock cannot be advanced"),
            Mode::Shifted(v) | Mode::Fixed(v) => {
                v.fetch_add(ms, Ordering::Relaxed);
            }
        }
    }

    /// Sets a fixed clock to `at_ms`, or a shifted one so that it reads `at_ms` now.
    pub fn set_ms(&self, at_ms: i64) {
        match &self.0 {
            Mode::System => panic!("the system clock cannot be set"),
            Mode::Shifted(offset) => offset.store(at_ms - system_ms(), Ordering::Relaxed),
            Mode::Fixed(at) => at.store(at_ms, Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = Clock::fixed(1_000);
        let clone = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        clone.advance(Duration::from_secs(2));
        assert_eq!(clock.now_ms(), 3_000);
        clock.set_ms(50);
        assert_eq!(clone.now_ms(), 50);
    }

    #[test]
    fn shifted_clock_runs_ahead_of_the_system_clock() {
        let clock = Clock::shifted();
        let day = Duration::from_secs(86_400);
        clock.advance(day);
        let ahead = clock.now_ms() - system_ms();
        assert!((86_400_000..86_400_000 + 5_000).contains(&ahead), "{ahead}");
        clock.set_ms(0);
        assert!(clock.now_ms().abs() < 5_000);
    }

    #[test]
    fn system_clock_is_the_real_time() {
        let before = system_ms();
        let now = Clock::system().now_ms();
        assert!(now >= before && now - before < 5_000);
    }

    #[test]
    fn the_system_clock_is_the_real_time() {
        // 2026-01-01T00:00:00Z: no run of this test happens before it.
        let after = 1_767_225_600_000;
        assert!(Clock::system().now_ms() > after);
        assert!(Clock::default().now_ms() > after);
        assert!(system_ms() > after);
    }
}
