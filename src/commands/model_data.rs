//! The data a saved model is used with (`eval`, `predict`, `train --resume`): by default the
//! data set its checkpoint records; other data only when its files are at least partly the
//! recorded ones, or with `--any-data`. A checkpoint from before gpu-mlp recorded its data set
//! still loads, with a warning.

use crate::cli::DataArgs;
use crate::data::record::{DataRecord, Relation};
use crate::data::Source;
use crate::error::{Error, Result};
use std::path::Path;

/// The warning for a checkpoint without a data record.
fn unrecorded(model: &Path) -> String {
    format!(
        "warning: {} does not record the data set it was trained on (it was written before gpu-mlp recorded one); make sure --dataset/--data-dir name it",
        model.display()
    )
}

/// Where to read data for `model`: the flags' data set where one is given, else the one the
/// checkpoint records (MNIST for a checkpoint that records none, with a warning).
pub fn source(args: &DataArgs, model: &Path, recorded: Option<&DataRecord>) -> Result<Source> {
    let Some(record) = recorded else {
        eprintln!("{}", unrecorded(model));
        return Ok(args.source());
    };
    if args.dataset.is_some() || args.data_dir.is_some() {
        return Ok(args.source());
    }
    match record.source() {
        Some(Source::Dir(dir)) if !dir.is_dir() => Err(Error::config(format!(
            "{} was trained on {}, which is no longer there; give --data-dir DIR with those four files (or other data with --any-data)",
            model.display(),
            record.describe()
        ))),
        Some(source) => Ok(source),
        None => Err(Error::config(format!(
            "{} was trained on {}; give --data-dir DIR with those four files",
            model.display(),
            record.describe()
        ))),
    }
}

/// Checks the data at hand (`found`) against what `model` was trained on: the same files pass,
/// files shared in part pass with a warning, and other data is refused unless `any_data`
/// (`--any-data`), when it is used with a warning.
pub fn check(
    model: &Path,
    recorded: Option<&DataRecord>,
    found: &DataRecord,
    any_data: bool,
) -> Result<()> {
    let Some(record) = recorded else {
        return Ok(()); // `source` has said so
    };
    let trained = record.describe();
    let given = found.describe();
    match record.relation(found) {
        Relation::Same => Ok(()),
        Relation::Overlapping => {
            eprintln!(
                "warning: {} was trained on {trained}; the data given ({given}) shares only some of its four files",
                model.display()
            );
            Ok(())
        }
        Relation::Different if any_data => {
            eprintln!(
                "warning: {} was trained on {trained}, not on {given}; using it anyway, as --any-data asks",
                model.display()
            );
            Ok(())
        }
        Relation::Different => Err(Error::config(format!(
            "{} was trained on {trained}, but the data given is {given}; use its own data ({}, or no data flag), or pass --any-data to use this data anyway",
            model.display(),
            record.flags()
        ))),
    }
}

/// The warning `predict` gives when the model was not trained on MNIST digits, which is what
/// it makes every image look like.
pub fn predict_note(model: &Path, recorded: Option<&DataRecord>) -> Option<String> {
    match recorded {
        None => Some(unrecorded(model)),
        Some(r) if r.name.as_deref() == Some("mnist") => None,
        Some(r) => Some(format!(
            "warning: {} was trained on {}; predict prepares every image as an MNIST digit (white on black, centred by mass), so the classes are that data set's, read from digit-like images",
            model.display(),
            r.describe()
        )),
    }
}
