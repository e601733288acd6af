//! The `--metrics` JSON Lines file across kills and resumes: a resumed run continues the file
//! from the checkpoint's epoch, dropping the lines of epochs that ran after the checkpoint was
//! written (they run again, and would otherwise appear twice).

use crate::error::{Error, Result};
use std::fs::File;
use std::path::Path;

/// Opens `path` for appending epoch lines, through the one writer (`fs::start_appending`: the
/// rules of every output, and a file of its own): empty for a fresh run (`resumed_at` None);
/// for a run resumed after `epoch` epochs, the lines up to that epoch's (a line cut short by a
/// kill is dropped too).
pub fn open(path: &Path, resumed_at: Option<usize>) -> Result<File> {
    let kept: String = match resumed_at {
        Some(epoch) if path.is_file() => std::fs::read_to_string(path)
            .map_err(|e| Error::io(path, e))?
            .lines()
            .filter(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v["epoch"].as_u64())
                    .is_some_and(|e| e <= epoch as u64)
            })
            .map(|line| format!("{line}\n"))
            .collect(),
        _ => String::new(),
    };
    crate::fs::start_appending(path, kept.as_bytes())
}
