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

/// The bar for one training run: `epoch k/N [=====>   ] samples  samples/s  ETA  message`.
pub fn epoch_bar(target: ProgressDrawTarget) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30.cyan/blue}] {human_pos}/{human_len} {rate:.dim} ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key(
        "rate",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} samples/s", state.per_sec());
        },
    )
    .progress_chars("=> ");
    ProgressBar::with_draw_target(Some(0), target).with_style(style)
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

/// The latest costs and accuracies of a report, for the bar's message.
pub fn summary_of(report: &EpochReport) -> String {
    let mut parts = Vec::new();
    if let Some(c) = report.train_cost {
        parts.push(format!("cost {c:.4}"));
    }
    if let Some(a) = report.validation_accuracy {
        parts.push(format!("validation {:.2}%", a * 100.0));
    }
    if let Some(a) = report.test_accuracy {
        parts.push(format!("test {:.2}%", a * 100.0));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("(after epoch {}: {})", report.epoch, parts.join(", "))
    }
}

/// A [`Backend`] that moves a progress bar as it trains: it hands the inner backend each epoch
/// in slices of whole mini-batches and advances the bar after each.
pub struct ProgressBackend<'a> {
    inner: &'a mut dyn Backend,
    bar: ProgressBar,
    epochs: usize,
    epoch: usize,
    /// Samples per second measured so far (sizes the next slice).
    rate: Option<f64>,
    slice_seconds: f64,
}

impl<'a> ProgressBackend<'a> {
    /// Wraps `inner`; the next epoch it trains is `first_epoch + 1` of `epochs`.
    pub fn new(
        inner: &'a mut dyn Backend,
        bar: ProgressBar,
        first_epoch: usize,
        epochs: usize,
    ) -> Self {
        ProgressBackend {
            inner,
            bar,
            epochs,
            epoch: first_epoch,
            rate: None,
            slice_seconds: SLICE_SECONDS,
        }
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
        self.epoch += 1;
        self.bar.set_length(order.len() as u64);
        self.bar.set_position(0);
        self.bar.reset_eta();
        self.bar
            .set_prefix(format!("epoch {}/{}", self.epoch, self.epochs));
        let mut done = 0;
        while done < order.len() {
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
            self.bar.set_position(done as u64);
        }
        Ok(())
    }

    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        let previous = self.bar.message();
        self.bar
            .set_message(format!("evaluating the {} set…", split.name()));
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
}
