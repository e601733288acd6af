//! `train --save-best PATH` for a sweep: the best member's best epoch, written when the sweep
//! ends.

use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::sweep::plan::Member;
use crate::sweep::results::SweepReport;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Writes the best model of the sweep by validation accuracy (ties: the sweep's order) to
/// `path`: its best epoch's checkpoint, kept in memory since this process saw it, else the
/// member's best file in the sweep directory.
pub fn save_best(
    report: &SweepReport,
    members: &[&Member],
    best_file: &dyn Fn(&Member) -> Option<PathBuf>,
    in_memory: &mut HashMap<usize, Checkpoint>,
    path: &Path,
) -> Result<()> {
    let Some(best) = report
        .results
        .iter()
        .find(|r| r.best_validation_accuracy.is_some())
    else {
        return Err(Error::config(
            "--save-best: no member measured a validation accuracy (is --validation-size 0?)",
        ));
    };
    let ck = match in_memory.remove(&best.index) {
        Some(ck) => ck,
        None => {
            let member = members
                .iter()
                .find(|m| m.index == best.index)
                .ok_or_else(|| Error::internal("the best member is not in the sweep"))?;
            let file = best_file(member)
                .ok_or_else(|| Error::internal("the best member's model was not kept"))?;
            Checkpoint::load(&file)?
        }
    };
    ck.save(path)
}
