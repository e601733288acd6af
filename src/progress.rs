//! What the user sees while work runs: a progress bar per training epoch (samples/s, ETA, the
//! latest cost) on a terminal, plain lines or JSON Lines otherwise, and spinners or byte bars
//! for other long work (evaluating a large set, downloading).
//!
//! The bar follows an epoch by handing the backend the epoch's sample order in slices.
//! [`Backend::train_batches`] promises that consecutive chunks of `batch_size` samples form the
//! mini-batches, so slices whose length is a multiple of the batch size make exactly the same
//! updates as one call (tests/progress.rs holds the two against each other). Slices are sized
//! to about [`SLICE_SECONDS`] of work, so the extra calls cost nothing measurable.

use crate::backend::{Backend, Evaluation, Split};
use crate::config::StepHyper;
use crate::error::Result;
use crate::model::{OptimizerState, Params};
use crate::train::EpochReport;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How epochs are reported on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogMode {
    /// A live bar per epoch, and one line per finished epoch above it (stdout is a terminal).
    Bar,
    /// One human-readable line per epoch.
    Plain,
    /// One JSON object per epoch (the `--metrics` line), and a JSON summary.
    Json,
    /// Nothing per epoch; only the final summary.
    Quiet,
}

impl LogMode {
    /// The mode for `--quiet` / `--log-format json`, and whether stdout is a terminal.
    pub fn choose(quiet: bool, json: bool, stdout_is_terminal: bool) -> LogMode {
        match (quiet, json, stdout_is_terminal) {
            (true, _, _) => LogMode::Quiet,
            (false, true, _) => LogMode::Json,
            (false, false, true) => LogMode::Bar,
            (false, false, false) => LogMode::Plain,
        }
    }

    /// [`LogMode::choose`] for this process's stdout.
    pub fn for_stdout(quiet: bool, json: bool) -> LogMode {
        LogMode::choose(quiet, json, std::io::stdout().is_terminal())
    }
}

/// How often the bar is redrawn: often enough to look live, rarely enough to cost nothing.
pub const REDRAWS_PER_SECOND: u8 = 8;

/// Seconds of training each slice handed to the backend aims at.
pub const SLICE_SECONDS: f64 = 0.1;

/// The bar for one training run, as wide as the terminal and never wider:
/// `epoch k/N [=====>   ]  61% 41234 samples/s ETA 0:03, run 1:23 val 95.12%`: the epoch's
/// ETA, then the whole run's (this epoch's plus the epochs left at the pace of those done,
/// evaluation included). Everything beside the bar takes at most 65 columns (epochs up to 999,
/// a run up to 99 hours), so the bar keeps at least 15 of an 80-column terminal.
pub fn epoch_bar(target: ProgressDrawTarget) -> ProgressBar {
    ProgressBar::with_draw_target(Some(0), target).with_style(epoch_style(RunEta::default()))
}

/// Seconds the run has left after the epoch in progress, shared between the slicer that
/// measures it ([`ProgressBackend`]) and the bar that shows it (NaN: not known yet).
#[derive(Clone)]
pub struct RunEta(Arc<AtomicU64>);

impl Default for RunEta {
    fn default() -> Self {
        RunEta(Arc::new(AtomicU64::new(f64::NAN.to_bits())))
    }
}

impl RunEta {
    fn set(&self, seconds: f64) {
        self.0.store(seconds.to_bits(), Ordering::Relaxed);
    }

    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

fn epoch_style(after_this_epoch: RunEta) -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix} [{wide_bar:.cyan/blue}] {percent:>3}% {rate:.dim} ETA {epoch_eta}, run {run_eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key(
        "rate",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} samples/s", state.per_sec());
        },
    )
    .with_key(
        "epoch_eta",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}", clock(state.eta().as_secs_f64()));
        },
    )
    .with_key(
        "run_eta",
        move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let rest = after_this_epoch.get();
            let _ = match rest.is_finite() {
                true => write!(w, "{}", clock(state.eta().as_secs_f64() + rest)),
                false => write!(w, "?"),
            };
        },
    )
    .progress_chars("=> ")
}

/// A duration as a clock: "0:07", "12:34", "1:02:03".
pub fn clock(seconds: f64) -> String {
    let s = if seconds.is_finite() {
        seconds.max(0.0).round() as u64
    } else {
        0
    };
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A spinner on stderr for work of unknown length (hidden when stderr is not a terminal).
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(message.into());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A byte counter on stderr for a transfer (hidden when stderr is not a terminal); its length
/// is set once the server tells it.
pub fn bytes_bar(total: Option<u64>, name: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:28} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(name.to_string());
    bar
}

/// The latest accuracy (validation, else test) or cost of a report, short enough for the bar's
/// message (the finished epoch's full line is printed above the bar).
pub fn summary_of(report: &EpochReport) -> String {
    if let Some(a) = report.validation_accuracy {
        format!("val {:.2}%", a * 100.0)
    } else if let Some(a) = report.test_accuracy {
        format!("test {:.2}%", a * 100.0)
    } else if let Some(c) = report.train_cost {
        format!("cost {c:.4}")
    } else {
        String::new()
    }
}

/// A [`Backend`] that moves a progress bar as it trains: it hands the inner backend each epoch
/// in slices of whole mini-batches and advances the bar after each. Between slices it stops
/// the epoch when Ctrl-C or SIGTERM asked (`crate::interrupt`): a mini-batch boundary.
pub struct ProgressBackend<'a> {
    inner: &'a mut dyn Backend,
    bar: ProgressBar,
    epochs: usize,
    epoch: usize,
    /// Samples per second measured so far (sizes the next slice).
    rate: Option<f64>,
    slice_seconds: f64,
    /// When the epoch in progress started, and the wall-clock seconds (evaluation and
    /// checkpoints included) of the epochs this process finished: the pace of the run's ETA.
    epoch_started: Option<Instant>,
    finished: (usize, f64),
    run_eta: RunEta,
}

impl<'a> ProgressBackend<'a> {
    /// Wraps `inner`; the next epoch it trains is `first_epoch + 1` of `epochs`.
    pub fn new(
        inner: &'a mut dyn Backend,
        bar: ProgressBar,
        first_epoch: usize,
        epochs: usize,
    ) -> Self {
        let run_eta = RunEta::default();
        bar.set_style(epoch_style(run_eta.clone()));
        ProgressBackend {
            inner,
            bar,
            epochs,
            epoch: first_epoch,
            rate: None,
            slice_seconds: SLICE_SECONDS,
            epoch_started: None,
            finished: (0, 0.0),
            run_eta,
        }
    }

    /// Seconds the run needs after the epoch in progress: the epochs left times the mean
    /// wall-clock epoch so far, or, before one finished, this epoch's projected length.
    fn after_this_epoch(&self, done: usize, len: usize, elapsed: f64) -> f64 {
        let left = self.epochs.saturating_sub(self.epoch) as f64;
        let per_epoch = match self.finished {
            (0, _) if done > 0 => elapsed * len as f64 / done as f64,
            (0, _) => f64::NAN,
            (n, total) => total / n as f64,
        };
        left * per_epoch
    }

    /// Aims slices at `seconds` of work instead of [`SLICE_SECONDS`] (0: one mini-batch each).
    pub fn with_slice_seconds(mut self, seconds: f64) -> Self {
        self.slice_seconds = seconds.max(0.0);
        self
    }

    /// The wrapped backend, to drive it without the bar.
    pub fn inner_mut(&mut self) -> &mut dyn Backend {
        &mut *self.inner
    }

    /// Samples in the next slice: about [`SLICE_SECONDS`] of work at the measured rate, a whole
    /// number of mini-batches, at least one.
    fn slice_len(&self, batch: usize) -> usize {
        let batch = batch.max(1);
        let batches = match self.rate {
            // Before any measurement, one mini-batch: it is cheap and gives a first rate.
            None => 1,
            Some(rate) => ((rate * self.slice_seconds) / batch as f64)
                .floor()
                .max(1.0) as usize,
        };
        batches * batch
    }
}

impl Backend for ProgressBackend<'_> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn train_batches(&mut self, order: &[u32], hyper: &StepHyper) -> Result<()> {
        let now = Instant::now();
        if let Some(started) = self.epoch_started.replace(now) {
            self.finished.0 += 1;
            self.finished.1 += (now - started).as_secs_f64();
        }
        self.epoch += 1;
        self.bar.set_length(order.len() as u64);
        self.bar.set_position(0);
        self.bar.reset_eta();
        self.bar
            .set_prefix(format!("epoch {}/{}", self.epoch, self.epochs));
        let mut done = 0;
        while done < order.len() {
            crate::interrupt::check()?;
            let len = self.slice_len(hyper.batch_size).min(order.len() - done);
            let t = Instant::now();
            self.inner.train_batches(&order[done..done + len], hyper)?;
            let seconds = t.elapsed().as_secs_f64();
            if seconds > 0.0 {
                let measured = len as f64 / seconds;
                // A running mean keeps one slow slice from making the next one tiny.
                self.rate = Some(self.rate.map_or(measured, |r| 0.5 * r + 0.5 * measured));
            }
            done += len;
            self.run_eta
                .set(self.after_this_epoch(done, order.len(), now.elapsed().as_secs_f64()));
            self.bar.set_position(done as u64);
        }
        Ok(())
    }

    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        let previous = self.bar.message();
        self.bar
            .set_message(format!("evaluating {}…", split.name()));
        let result = self.inner.evaluate(split);
        self.bar.set_message(previous);
        result
    }

    fn params(&mut self) -> Result<Params> {
        self.inner.params()
    }

    fn optimizer_state(&mut self) -> Result<OptimizerState> {
        self.inner.optimizer_state()
    }

    fn load_state(&mut self, params: &Params, state: &OptimizerState) -> Result<()> {
        self.inner.load_state(params, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_follows_flags_then_terminal() {
        assert_eq!(LogMode::choose(true, true, true), LogMode::Quiet);
        assert_eq!(LogMode::choose(false, true, true), LogMode::Json);
        assert_eq!(LogMode::choose(false, false, true), LogMode::Bar);
        assert_eq!(LogMode::choose(false, false, false), LogMode::Plain);
    }

    /// Durations read as a clock, hours only when there are some.
    #[test]
    fn clock_reads_minutes_and_hours() {
        assert_eq!(clock(7.4), "0:07");
        assert_eq!(clock(754.0), "12:34");
        assert_eq!(clock(3723.0), "1:02:03");
        assert_eq!(clock(f64::NAN), "0:00");
    }
}
