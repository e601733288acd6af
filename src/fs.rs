//! Writing the files gpu-mlp produces (checkpoints, metrics, PNGs, ONNX models, IDX files):
//! atomically, through a synced temporary file in the same directory renamed over the target,
//! so a crash mid-write never leaves a broken file where a good one was, and a reader sees
//! either the old file or the new one.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Test hook: milliseconds to pause halfway through writing the temporary file, so that a test
/// can kill the process while a checkpoint is being written (tests/kill_resume.rs). Unset in
/// normal use.
pub const WRITE_PAUSE_ENV: &str = "GPU_MLP_TEST_CHECKPOINT_WRITE_PAUSE_MS";

/// Writes `bytes` to `path` through a synced temporary file in the same directory and a rename.
/// Temporary files that killed writers left behind for the same `path` are removed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |f| {
        let pause = std::env::var(WRITE_PAUSE_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok());
        match pause {
            Some(ms) => {
                let (head, tail) = bytes.split_at(bytes.len() / 2);
                f.write_all(head)?;
                f.flush()?;
                std::thread::sleep(std::time::Duration::from_millis(ms));
                f.write_all(tail)
            }
            None => f.write_all(bytes),
        }
    })
}

/// Like [`write_atomically`], with the content streamed by `write` (through a buffer) into the
/// temporary file: large files need not be held in memory.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::config(format!("{} is not a file path", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        write(&mut f)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })?;
    remove_stale_temporaries(&dir, &name.to_string_lossy());
    Ok(())
}

/// Removes `.NAME.tmp-PID` files in `dir` whose writer process no longer runs (it was killed
/// mid-write). Only on Linux, where /proc tells whether a process runs; elsewhere they stay.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
