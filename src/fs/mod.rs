//! Writing the files gpu-mlp produces (checkpoints, metrics, PNGs, ONNX models, IDX files,
//! downloads): one writer for all of them, with the same rules everywhere.
//!
//! - Atomic: the bytes go to a synced temporary file in the same directory, renamed over the
//!   target, so a crash mid-write never leaves a broken file where a good one was, and a reader
//!   sees either the old file or the new one.
//! - Only regular files are written; symbolic links are written through; permission bits are
//!   kept; a broken hard link is reported ([`target`] has the rules and why).
//! - Temporary files that killed writers left are removed before a write (and after it), so a
//!   leftover never fills the disk a new write needs; a write that still runs out of space names
//!   its temporary file.
//! - [`check_output`] applies the same rules before a run does any work, and creates and
//!   removes a file under the temporary name, so that a missing or read-only directory, or a
//!   name too long, fails at once instead of after the last epoch.
//! - [`lock::OutputLock`] keeps a second run off an output a run is writing.

pub mod lock;
mod platform;
pub mod siblings;
pub mod target;

pub use lock::OutputLock;
pub use platform::same_file;
pub use target::Target;

use crate::error::{Error, Result};
use siblings::Sibling;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Test hook: milliseconds to pause halfway through writing the temporary file, so that a test
/// can kill the process while a checkpoint is being written (tests/kill_resume.rs). Unset in
/// normal use.
pub const WRITE_PAUSE_ENV: &str = "GPU_MLP_TEST_CHECKPOINT_WRITE_PAUSE_MS";

/// Writes `bytes` to `path` through a synced temporary file in the same directory and a rename.
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
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let target = Target::resolve(path).map_err(|e| Error::io(path, e))?;
    siblings::remove_stale(&target.dir, &target.name);
    let tmp = siblings::path(
        &target.dir,
        &target.name,
        Sibling::Temporary(std::process::id()),
    );
    let mut written = 0u64;
    let result = (|| -> io::Result<()> {
        let file = create_temporary(&tmp)?;
        if let Some(m) = &target.existing {
            platform::keep_owner_and_mode(&file, m)?;
        }
        let mut counted = Counted {
            inner: io::BufWriter::new(file),
            written: &mut written,
        };
        write(&mut counted)?;
        let file = counted.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        install(&tmp, &target)?;
        drop(file);
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, named_failure(e, &tmp, written)));
    }
    siblings::remove_stale(&target.dir, &target.name);
    Ok(())
}

/// Removes what killed writers of `path` left beside it (its temporary and probe files whose
/// process is gone and whose lock is free, [`siblings::remove_stale`]), without writing `path`:
/// a run that owns outputs it may not write again (a resumed sweep's finished members) clears
/// them when it starts.
pub fn remove_left_behind(path: &Path) {
    if let Ok(target) = Target::resolve(path) {
        siblings::remove_stale(&target.dir, &target.name);
    }
}

/// Replaces `path` with `initial` (as [`write_atomically`] does) and opens the new file for
/// appending: a log that grows line by line (`train --metrics`) starts under the same rules as
/// every other output, in a file of its own (a hard link is broken at the start, not written
/// through).
pub fn start_appending(path: &Path, initial: &[u8]) -> Result<File> {
    write_atomically(path, initial)?;
    let target = Target::resolve(path).map_err(|e| Error::io(path, e))?;
    OpenOptions::new()
        .append(true)
        .open(&target.path)
        .map_err(|e| Error::io(path, e))
}

/// Moves the finished temporary file `tmp` (synced by its writer, in `target.dir`) onto
/// `target`: the existing file's permission bits and owner carried over, a hard link that
/// breaks reported, the directory synced. Downloads install their partial file through this.
pub fn install_file(tmp: &Path, target: &Target) -> io::Result<()> {
    if let Some(m) = &target.existing {
        platform::keep_owner_and_mode(&File::open(tmp)?, m)?;
    }
    install(tmp, target)
}

fn install(tmp: &Path, target: &Target) -> io::Result<()> {
    // What is at the target now (it may have changed since the write began) is checked again.
    let now = Target::resolve(&target.given)?;
    if now.path != target.path {
        return Err(io::Error::other(format!(
            "{} changed to lead elsewhere while it was being written",
            target.given.display()
        )));
    }
    let links = now.hard_links();
    std::fs::rename(tmp, &target.path)?;
    if links > 1 {
        eprintln!(
            "note: {} had {links} hard links; it was replaced under this name only, and its other {} keep the previous content",
            target.path.display(),
            if links == 2 { "name" } else { "names" }
        );
    }
    if let Ok(d) = File::open(&target.dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates the temporary file and locks it for as long as this process writes it (a file whose
/// lock anyone can take is a dead writer's: `siblings::remove_stale`). One of this process's own
/// left by an earlier failure is replaced.
fn create_temporary(tmp: &Path) -> io::Result<File> {
    let create = || OpenOptions::new().write(true).create_new(true).open(tmp);
    let file = match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(tmp)?;
            create()?
        }
        other => other?,
    };
    file.lock()?;
    Ok(file)
}

/// A write's failure with the temporary file named, so that "no space left" says which file
/// took the space and that the target is as it was.
fn named_failure(e: io::Error, tmp: &Path, written: u64) -> io::Error {
    if e.kind() == io::ErrorKind::InvalidInput {
        return e;
    }
    io::Error::new(
        e.kind(),
        format!(
            "{e} (writing the temporary file {}, {written} bytes in; the file itself is unchanged)",
            tmp.display()
        ),
    )
}

/// Counts the bytes that reach the buffer, for the failure message.
struct Counted<'a, W: Write> {
    inner: W,
    written: &'a mut u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        *self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Checks, before a run does its work, that `path` can be written as the output of `flag`:
/// it is a regular file or absent (symbolic links followed), its directory exists and a file
/// can be created there under the longest hidden name the writer uses. The error names the
/// flag. Returns where the output will go.
pub fn check_output(flag: &str, path: &Path) -> Result<Target> {
    let out = |m: String| Error::output(flag, path, m);
    let target = Target::resolve(path).map_err(|e| out(e.to_string()))?;
    match std::fs::metadata(&target.dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(out(format!("{} is not a directory", target.dir.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(out(format!(
                "its directory {} does not exist",
                target.dir.display()
            )))
        }
        Err(e) => return Err(out(format!("{}: {e}", target.dir.display()))),
    }
    probe_dir(&target.dir, &target.name).map_err(out)?;
    if target.existing.is_some() {
        // Replacing needs only the directory; a file the user cannot write is theirs to keep.
        OpenOptions::new()
            .write(true)
            .open(&target.path)
            .map_err(|e| out(format!("cannot be replaced: {e}")))?;
    }
    Ok(target)
}

/// Checks that `dir` exists (or creates it, with its parents) and takes new files: the output
/// directory of `flag`.
pub fn check_output_dir(flag: &str, dir: &Path) -> Result<PathBuf> {
    let out = |m: String| Error::output(flag, dir, m);
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(m) => {
            let kind = target::not_regular(&m).unwrap_or("a regular file");
            return Err(out(format!("is {kind}, not a directory")));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| out(format!("cannot be created: {e}")))?
        }
        Err(e) => return Err(out(e.to_string())),
    }
    probe_dir(dir, std::ffi::OsStr::new("gpu-mlp")).map_err(out)?;
    Ok(dir.to_path_buf())
}

/// Creates and removes the probe file for `name` in `dir`; the message says what stops it.
fn probe_dir(dir: &Path, name: &std::ffi::OsStr) -> std::result::Result<(), String> {
    siblings::remove_stale(dir, name);
    let probe = siblings::path(dir, name, Sibling::Probe(std::process::id()));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(f) => {
            drop(f);
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::InvalidFilename => Err(format!(
            "the name is too long for this file system once the temporary suffix is added ({e})"
        )),
        Err(e) => Err(format!("cannot create files in {}: {e}", dir.display())),
    }
}
