//! The `--metrics` JSON Lines file across kills and resumes: a resumed run continues the file
//! from the checkpoint's epoch, dropping the lines of epochs that ran after the checkpoint was
//! written (they run again, and would otherwise appear twice).

use crate::error::{Error, Result};
use std::fs::File;
use std::path::Path;

/// Opens `path` for appending epoch lines: truncated for a fresh run (`resumed_at` None);
/// for a run resumed after `epoch` epochs, kept up to that epoch's line and appended to (a
/// line cut short by a kill is dropped too).
pub fn open(path: &Path, resumed_at: Option<usize>) -> Result<File> {
    let options = |append: bool| {
        std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .map_err(|e| Error::io(path, e))
    };
    let Some(epoch) = resumed_at.filter(|_| path.is_file()) else {
        return options(resumed_at.is_some());
    };
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let kept: String = text
        .lines()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["epoch"].as_u64())
                .is_some_and(|e| e <= epoch as u64)
        })
        .map(|line| format!("{line}\n"))
        .collect();
    crate::fs::write_atomically(path, kept.as_bytes())?;
    options(true)
}
