//! One line per step, with the time since the demo started, so a person can follow it.

use std::time::Instant;

/// Prints steps with their elapsed time (or nothing, when quiet).
#[derive(Debug, Clone)]
pub struct Progress {
    start: Instant,
    quiet: bool,
}

impl Progress {
    /// Starts the clock; `quiet` prints nothing (for tests).
    pub fn new(quiet: bool) -> Self {
        Progress {
            start: Instant::now(),
            quiet,
        }
    }

    /// Seconds since the start.
    pub fn elapsed_secs(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Prints one step.
    pub fn step(&self, what: impl AsRef<str>) {
        if !self.quiet {
            println!("[{:>6.1}s] {}", self.elapsed_secs(), what.as_ref());
        }
    }

    /// Prints a detail line under the last step (indented, with its own time).
    pub fn detail(&self, what: impl AsRef<str>) {
        if !self.quiet {
            println!("[{:>6.1}s]   {}", self.elapsed_secs(), what.as_ref());
        }
    }
}
