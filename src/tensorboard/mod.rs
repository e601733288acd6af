//! `train --tensorboard DIR`: TensorBoard event files, so that `tensorboard --logdir DIR` shows
//! each run's curves. Every invocation makes a directory of its own under DIR, named by its
//! UTC start time (`20261202-001500`, `-2` added when that exists): a run's event file goes
//! there, and a sweep puts one run directory per member inside it, named by the member's flags
//! (as its checkpoint is). Nothing already in DIR is touched.
//!
//! An event file (`events.out.tfevents.SECONDS.gpu-mlp.PID`) is TFRecord framing
//! ([`tfrecord`]) of `Event` messages ([`event`]): first the format version, then one event per
//! epoch, at step = the epoch number (1-based, continuing after a `--resume`), holding the
//! epoch's scalars, each the `--metrics` line's number as an f32:
//!
//! | tag | `--metrics` key |
//! |---|---|
//! | `cost/train`, `cost/validation`, `cost/test` | `train_cost`, `validation_cost`, `test_cost` |
//! | `accuracy/train`, `accuracy/validation`, `accuracy/test` | `train_accuracy`, … (fractions) |
//! | `eta` | `eta` (η this epoch trained with) |
//! | `seconds/train`, `seconds/evaluation` | `seconds`, `eval_seconds` |
//!
//! Costs and accuracies appear for the sets `--monitor` measures. Each epoch's event is
//! written and flushed when the epoch ends, so TensorBoard shows a run while it trains.

pub mod event;
pub mod tfrecord;

use crate::error::{Error, Result};
use crate::train::EpochReport;
use event::{Event, Summary, SummaryValue, FILE_VERSION};
use prost::Message;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Every tag with its `--metrics` key, in the order written.
pub const TAGS: [(&str, &str); 9] = [
    ("cost/train", "train_cost"),
    ("accuracy/train", "train_accuracy"),
    ("cost/validation", "validation_cost"),
    ("accuracy/validation", "validation_accuracy"),
    ("cost/test", "test_cost"),
    ("accuracy/test", "test_accuracy"),
    ("eta", "eta"),
    ("seconds/train", "seconds"),
    ("seconds/evaluation", "eval_seconds"),
];

/// The scalars of one epoch: (tag, value) for each number the report holds.
pub fn scalars(r: &EpochReport) -> Vec<(&'static str, f32)> {
    let values = [
        r.train_cost,
        r.train_accuracy,
        r.validation_cost,
        r.validation_accuracy,
        r.test_cost,
        r.test_accuracy,
        Some(f64::from(r.eta)),
        Some(r.seconds),
        Some(r.eval_seconds),
    ];
    TAGS.iter()
        .zip(values)
        .filter_map(|((tag, _), v)| v.map(|v| (*tag, v as f32)))
        .collect()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `YYYYmmdd-HHMMSS` of a Unix time in UTC (the civil-from-days conversion of
/// H. Hinnant's date algorithms: days counted in 400-year eras from 0000-03-01).
pub fn utc_stamp(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Makes this invocation's directory under `root` (which must exist): named by the UTC time,
/// with `-2`, `-3`, … where another run took that name first. Never reuses a directory.
pub fn session_dir(root: &Path) -> Result<PathBuf> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let stamp = utc_stamp(secs);
    for n in 1..1000 {
        let name = if n == 1 {
            stamp.clone()
        } else {
            format!("{stamp}-{n}")
        };
        let dir = root.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::output("--tensorboard", &dir, e.to_string())),
        }
    }
    Err(Error::output(
        "--tensorboard",
        root,
        format!("999 run directories named {stamp} already exist"),
    ))
}

/// One run's event file.
pub struct RunWriter {
    path: PathBuf,
    file: std::fs::File,
}

impl RunWriter {
    /// Starts the event file of a run in `dir` (created if missing, as a sweep member's is),
    /// with the format-version event.
    pub fn create(dir: &Path) -> Result<RunWriter> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::output("--tensorboard", dir, format!("cannot be created: {e}")))?;
        let secs = now();
        let path = dir.join(format!(
            "events.out.tfevents.{}.gpu-mlp.{}",
            secs as u64,
            std::process::id()
        ));
        let first = Event {
            wall_time: secs,
            step: 0,
            file_version: Some(FILE_VERSION.to_string()),
            summary: None,
        };
        let file = crate::fs::start_appending(&path, &tfrecord::frame(&first.encode_to_vec()))?;
        Ok(RunWriter { path, file })
    }

    /// The event file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the epoch's scalars and flushes them to the file.
    pub fn epoch(&mut self, report: &EpochReport) -> Result<()> {
        let event = Event {
            wall_time: now(),
            step: report.epoch as i64,
            file_version: None,
            summary: Some(Summary {
                value: scalars(report)
                    .into_iter()
                    .map(|(tag, v)| SummaryValue {
                        tag: tag.to_string(),
                        simple_value: Some(v),
                    })
                    .collect(),
            }),
        };
        self.file
            .write_all(&tfrecord::frame(&event.encode_to_vec()))
            .and_then(|_| self.file.flush())
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// The events of an event file, each record's CRCs checked.
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let records = tfrecord::records(&bytes).map_err(|m| Error::bad_data(path, m))?;
    records
        .iter()
        .map(|r| {
            Event::decode(r.as_slice())
                .map_err(|e| Error::bad_data(path, format!("not an Event: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known instants: the Unix epoch, a leap day, and the turn of a century not a leap year.
    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
        assert_eq!(utc_stamp(4_107_542_399), "21000228-235959");
        assert_eq!(utc_stamp(1_796_169_600 + 3_723), "20261202-010203");
    }
}
