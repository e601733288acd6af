//! Command buffers that are bounded by time, waited for with a timeout, and proved to have run.
//!
//! - Pacing: a run of steps is split into command buffers of about [`SUBMIT_SECONDS`] of work
//!   each (at most `GpuOptions::steps_per_submit`), so that no single submission runs long enough
//!   for a watchdog (macOS's GPU timeout, Windows' TDR) to kill it. The seconds a step takes are
//!   learnt per kind of step (training or evaluation, and its batch size): the first submission
//!   of a kind holds one step and is waited for, the second is sized from it and waited for too
//!   (the first includes the pipelines' first use), and every run of steps then updates the
//!   figure.
//! - Hangs: the wait at the end of a run gives up after [`HANG_FLOOR`] plus [`HANG_FACTOR`] times
//!   what the run should take, and reports the device as hung (before anything is known of a
//!   kind, one step gets [`FIRST_STEP_TIMEOUT`]).
//! - Marks: the last dispatch of every command buffer (submit_mark.wgsl) writes the serial number
//!   of the run into the slot of its last step, and the host reads the marks back once the run is
//!   done. On Metal wgpu treats a command buffer that ended in an error as completed, so without
//!   this a dropped submission would silently leave the weights untrained; with it, it is an
//!   error on every backend.
//!
//! None of this touches what the kernels compute: which command buffer a step lands in does not
//! change the order of the dispatches on the queue, so the results are the same bits.

use super::buffers;
use super::context::GpuContext;
use super::layout::StepRecord;
use super::record::Dispatch;
use super::trainer::GpuBackend;
use crate::error::{Error, Result};
use std::ops::Range;
use std::time::{Duration, Instant};

/// The GPU time a command buffer aims at.
pub const SUBMIT_SECONDS: f64 = 0.25;

/// A wait is declared hung after this long plus [`HANG_FACTOR`] × the expected time.
pub const HANG_FLOOR: Duration = Duration::from_secs(60);
pub const HANG_FACTOR: f64 = 20.0;
/// How long the first step of a kind, whose duration nothing predicts yet, may take.
pub const FIRST_STEP_TIMEOUT: Duration = Duration::from_secs(600);

/// What a step's duration depends on: training or evaluation, and its rows.
pub(crate) type StepKind = (bool, u32);

/// Submissions of a kind waited for one by one to measure it.
const CALIBRATION_SUBMITS: u32 = 2;

/// Seconds per step, learnt per kind of step, and how many times it was measured.
#[derive(Default)]
pub(crate) struct Pacer {
    measured: Vec<(StepKind, f64, u32)>,
}

impl Pacer {
    pub fn seconds_per_step(&self, kind: StepKind) -> Option<f64> {
        self.measured.iter().find(|m| m.0 == kind).map(|m| m.1)
    }

    /// Whether the next submission of `kind` is to be waited for and measured on its own.
    pub fn calibrating(&self, kind: StepKind) -> bool {
        self.measured
            .iter()
            .find(|m| m.0 == kind)
            .is_none_or(|m| m.2 < CALIBRATION_SUBMITS)
    }

    /// Steps in the next command buffer: one while the kind is unknown (to measure it), then
    /// [`SUBMIT_SECONDS`] of work, within 1..=`cap`.
    pub fn steps(&self, kind: StepKind, cap: usize) -> usize {
        self.steps_within(kind, SUBMIT_SECONDS, cap)
    }

    /// Steps of `kind` in about `seconds` of work, within 1..=`cap`; one while the kind is
    /// unknown.
    pub fn steps_within(&self, kind: StepKind, seconds: f64, cap: usize) -> usize {
        match self.seconds_per_step(kind) {
            None => 1,
            Some(s) => ((seconds / s.max(1e-9)) as usize).clamp(1, cap.max(1)),
        }
    }

    /// `steps` of `kind` took `seconds` from their submission to the end of the wait.
    pub fn learn(&mut self, kind: StepKind, steps: usize, seconds: f64) {
        let per_step = seconds / steps.max(1) as f64;
        match self.measured.iter_mut().find(|m| m.0 == kind) {
            Some(m) => (m.1, m.2) = (per_step, m.2.saturating_add(1)),
            None => self.measured.push((kind, per_step, 1)),
        }
    }

    /// How long to wait for `steps` of `kind` before calling the device hung.
    pub fn timeout(&self, kind: StepKind, steps: usize) -> Duration {
        match self.seconds_per_step(kind) {
            None => FIRST_STEP_TIMEOUT.max(HANG_FLOOR),
            Some(s) => HANG_FLOOR + Duration::from_secs_f64(HANG_FACTOR * s * steps as f64),
        }
    }
}

/// The serial number of each run of steps: never 0 (the value of a mark never written).
#[derive(Default)]
pub(crate) struct Serials {
    last: u32,
}

impl Serials {
    pub fn next(&mut self) -> u32 {
        self.last = self.last.wrapping_add(1).max(1);
        self.last
    }
}

/// One run of steps on its way through the queue.
pub(super) struct Run {
    kind: StepKind,
    serial: u32,
    what: &'static str,
    steps: usize,
    /// The steps of each command buffer so far.
    submits: Vec<Range<usize>>,
    began: Instant,
}

impl GpuBackend {
    /// Starts a run of `records` (`members` per step): each gets its step's index and the
    /// run's serial number, which its command buffer's mark will write.
    pub(super) fn begin_run(
        &mut self,
        records: &[StepRecord],
        members: usize,
        training: bool,
    ) -> (Run, Vec<StepRecord>) {
        let serial = self.serials.next();
        let records: Vec<StepRecord> = records
            .iter()
            .enumerate()
            .map(|(i, r)| StepRecord {
                index: (i / members) as u32,
                serial,
                ..*r
            })
            .collect();
        let run = Run {
            kind: (training, records_rows(&records)),
            serial,
            what: if training { "training" } else { "evaluating" },
            steps: records.len() / members,
            submits: Vec::new(),
            began: Instant::now(),
        };
        (run, records)
    }

    /// The steps of the next command buffer; `None` once every step is recorded.
    pub(super) fn next_submit(&self, run: &Run) -> Option<Range<usize>> {
        let start = run.submits.last().map_or(0, |s| s.end);
        let cap = self.options.steps_per_submit;
        let end = (start + self.pacer.steps(run.kind, cap)).min(run.steps);
        (start < run.steps).then_some(start..end)
    }

    /// The dispatch that ends every command buffer: the mark of its last step.
    pub(super) fn submit_mark(&self) -> Dispatch<'_> {
        Dispatch {
            name: "submit_mark",
            layer: 0,
            pipeline: &self.kernels.submit_mark.pipeline,
            group: &self.groups.submit_mark,
            workgroups: [1, 1, 1],
            group_offset: 0,
        }
    }

    fn timeout(&self, run: &Run, steps: usize) -> Duration {
        (self.options.hang_timeout).unwrap_or_else(|| self.pacer.timeout(run.kind, steps))
    }

    /// Submits the command buffer of `steps` (unless a test drops it, standing in for a driver
    /// that does), and while the kind is being calibrated waits for it and measures it.
    pub(super) fn submit(
        &mut self,
        run: &mut Run,
        encoder: wgpu::CommandEncoder,
        steps: Range<usize>,
    ) -> Result<()> {
        let submitted = Instant::now();
        if self.options.drop_submit != Some(run.submits.len()) {
            self.ctx.queue.submit([encoder.finish()]);
        }
        self.ctx.check("recording the steps")?;
        let count = steps.len();
        run.submits.push(steps);
        if self.pacer.calibrating(run.kind) {
            self.ctx.wait_within(run.what, self.timeout(run, count))?;
            let seconds = submitted.elapsed().as_secs_f64();
            self.pacer.learn(run.kind, count, seconds);
        }
        Ok(())
    }

    /// Waits for the whole run, at most its timeout; learns its pace; checks every mark.
    pub(super) fn finish_run(&mut self, run: Run) -> Result<()> {
        let recorded = run.began.elapsed();
        self.ctx
            .wait_within(run.what, self.timeout(&run, run.steps))?;
        let seconds = run.began.elapsed().as_secs_f64();
        self.pacer.learn(run.kind, run.steps, seconds);
        let marks = &self.bufs.marks;
        verify_marks(&self.ctx, marks, run.serial, &run.submits, run.what)?;
        if std::env::var_os("GPU_MLP_TRACE").is_some() {
            eprintln!(
                "gpu: {} steps recorded and submitted in {} command buffers in {:.3} s, done after {seconds:.3} s",
                run.steps,
                run.submits.len(),
                recorded.as_secs_f64(),
            );
        }
        Ok(())
    }
}

/// The rows of a run's first step: what, with training or evaluation, its pace depends on.
fn records_rows(records: &[StepRecord]) -> u32 {
    records.first().map_or(0, |r| r.rows)
}

/// A buffer of one mark per step record.
pub(crate) fn marks_buffer(ctx: &GpuContext, steps: usize) -> wgpu::Buffer {
    buffers::storage_zeroed(ctx, "submit marks", steps as u64 * 4)
}

/// Checks, once the run is done, that the last step of every submission in `submits` left
/// the mark `serial` in `marks`.
fn verify_marks(
    ctx: &GpuContext,
    marks: &wgpu::Buffer,
    serial: u32,
    submits: &[Range<usize>],
    what: &str,
) -> Result<()> {
    let Some(steps) = submits.last().map(|s| s.end) else {
        return Ok(());
    };
    let bytes = buffers::read_back(ctx, &[(marks, steps as u64 * 4)])?;
    let found = buffers::to_u32(&bytes[0]);
    let missing: Vec<usize> = submits
        .iter()
        .enumerate()
        .filter(|(_, s)| s.end > s.start && found[s.end - 1] != serial)
        .map(|(i, _)| i)
        .collect();
    match missing.first() {
        None => Ok(()),
        Some(&first) => Err(Error::Gpu(format!(
            "{what} on {}: {} of {} command buffers did not run (the first: number {}, steps {}..{}); \
             the driver dropped them without an error (on Metal, a command buffer that ends in an \
             error such as a GPU timeout counts as completed), so the results are not valid; \
             try a smaller --batch-size or narrower layers, another adapter, or --backend cpu",
            ctx.describe(),
            missing.len(),
            submits.len(),
            first + 1,
            submits[first].start,
            submits[first].end
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One step to calibrate; then the target time's worth, within the cap; the timeout
    /// scales with the expected time.
    #[test]
    fn pacing_follows_the_measured_step_time() {
        let mut p = Pacer::default();
        let kind = (true, 10);
        assert_eq!(p.steps(kind, 1000), 1);
        assert!(p.calibrating(kind));
        assert_eq!(p.timeout(kind, 1), FIRST_STEP_TIMEOUT);
        p.learn(kind, 1, 0.01);
        assert!(p.calibrating(kind), "the second submission is measured too");
        assert_eq!(p.steps(kind, 1000), 25);
        p.learn(kind, 25, 0.025);
        assert!(!p.calibrating(kind));
        assert_eq!(p.steps(kind, 1000), 250);
        assert_eq!(p.steps(kind, 100), 100);
        assert_eq!(p.steps_within(kind, 0.05, 1000), 50);
        assert_eq!(
            p.steps((false, 10), 1000),
            1,
            "another kind is measured anew"
        );
        p.learn(kind, 10, 10.0);
        assert_eq!(
            p.steps(kind, 1000),
            1,
            "a slow step is a submission of its own"
        );
        assert_eq!(p.timeout(kind, 5), HANG_FLOOR + Duration::from_secs(100));
    }

    #[test]
    fn serials_skip_zero() {
        let mut s = Serials { last: u32::MAX - 1 };
        assert_eq!(s.next(), u32::MAX);
        assert_eq!(s.next(), 1);
    }
}
