//! One writer per output: an advisory lock (flock) that a run holds for its lifetime on each
//! file it writes again and again (a checkpoint, a metrics log) or on a directory it fills (a
//! download, later a sweep's members).
//!
//! The lock cannot be the output itself: every save replaces that file by a rename, so a lock
//! on it would be on a file that is gone after the first save. It is a hidden file beside the
//! output, `.NAME.lock` (for a directory, `DIR/.gpu-mlp.lock`), holding the holder's process
//! id so that a second run can name it. flock semantics: the kernel drops the lock when its
//! holder dies, so a lock left by a killed run never blocks; its file is reused. The holder
//! removes the file when it finishes, still holding the lock, and whoever locks a file checks
//! that it is still the one at that path (a file removed between its open and its lock is
//! locked by no one that matters), so two runs can never both hold it.

use super::siblings::{self, Sibling};
use super::target::Target;
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file of a directory output.
pub const DIR_LOCK: &str = ".gpu-mlp.lock";

/// A held lock; dropping it releases it and removes its file.
#[derive(Debug)]
pub struct OutputLock {
    path: PathBuf,
    file: File,
}

impl OutputLock {
    /// Locks the output file `path` (the file it resolves to through symbolic links) for
    /// `flag`, or fails at once naming the run that holds it.
    pub fn file(flag: &str, path: &Path) -> Result<OutputLock> {
        let target = Target::resolve(path).map_err(|e| Error::output(flag, path, e.to_string()))?;
        let lock = siblings::path(&target.dir, &target.name, Sibling::Lock);
        Self::acquire(flag, path, lock)
    }

    /// Locks the directory `dir`, which a run fills with outputs, for `flag`.
    pub fn dir(flag: &str, dir: &Path) -> Result<OutputLock> {
        Self::acquire(flag, dir, dir.join(DIR_LOCK))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn acquire(flag: &str, output: &Path, lock: PathBuf) -> Result<OutputLock> {
        let fail = |e: std::io::Error| {
            Error::output(
                flag,
                output,
                format!("cannot take the lock {}: {e}", lock.display()),
            )
        };
        // A few tries: each failure means another process removed the file in between.
        for _ in 0..16 {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock)
                .map_err(fail)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    // The holder writes its pid just after it takes the lock: a file still
                    // empty is read again for a moment before the pid is called unknown.
                    let mut holder = String::new();
                    for _ in 0..50 {
                        holder.clear();
                        let _ = file.rewind().and_then(|_| file.read_to_string(&mut holder));
                        if !holder.trim().is_empty() {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    let holder = match holder.trim() {
                        "" => "pid unknown".to_string(),
                        pid => format!("pid {pid}"),
                    };
                    return Err(Error::output(
                        flag,
                        output,
                        format!(
                            "is being written by another gpu-mlp run ({holder}, holding {}); wait for it to finish or choose another path",
                            lock.display()
                        ),
                    ));
                }
                Err(TryLockError::Error(e)) => return Err(fail(e)),
            }
            let same = match (file.metadata(), std::fs::metadata(&lock)) {
                (Ok(a), Ok(b)) => super::platform::same_file(&a, &b),
                _ => false,
            };
            if !same {
                continue;
            }
            file.set_len(0)
                .and_then(|_| file.rewind())
                .and_then(|_| writeln!(file, "{}", std::process::id()))
                .and_then(|_| file.flush())
                .map_err(fail)?;
            return Ok(OutputLock { path: lock, file });
        }
        Err(fail(std::io::Error::other(
            "it kept being removed while being locked",
        )))
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked; the lock goes with the file handle right after.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}
