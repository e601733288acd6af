//! What a command will write, checked before it does any work: every output path against the
//! writer's rules ([`crate::fs::check_output`]: not a device, fifo, socket or directory; its
//! directory there and writable; its name not too long once the temporary suffix is added),
//! no two outputs on the same file, no output over a file the command reads (save where the
//! identity is the point: `train --resume X --save X`), and, for a command that writes for a
//! long time, a lock on each output for its lifetime ([`crate::fs::OutputLock`]). An output the
//! user did not name (a command's default path, [`Outputs::writes_default`]) must not exist
//! yet: nothing the user has is replaced without being asked.
//!
//! A command lists its paths with the flag that gave each, so that every message names the
//! flag:
//!
//! ```no_run
//! # use gpu_mlp::outputs::Outputs;
//! # use std::path::Path;
//! # fn f(resume: Option<&Path>, save: Option<&Path>, metrics: Option<&Path>) -> gpu_mlp::Result<()> {
//! let _held = Outputs::new()
//!     .reads("--resume", resume)
//!     .writes_over("--save", save, "--resume")
//!     .writes("--metrics", metrics)
//!     .check()?
//!     .lock()?;
//! # Ok(()) }
//! ```

use crate::error::{Error, Result};
use crate::fs::{self, OutputLock, Target};
use std::path::{Path, PathBuf};

/// One path a command writes.
#[derive(Clone, Debug)]
struct Output {
    flag: String,
    path: PathBuf,
    /// The flag of an input this output may be the same file as.
    may_replace: Option<String>,
    /// A path the command chose, not the user: refused if anything is there.
    default: bool,
}

/// The paths a command reads and writes, before they are checked.
#[derive(Clone, Debug, Default)]
pub struct Outputs {
    inputs: Vec<(String, PathBuf)>,
    files: Vec<Output>,
    dirs: Vec<(String, PathBuf)>,
}

/// Outputs that passed every check.
#[derive(Debug)]
pub struct Checked {
    targets: Vec<(String, Target)>,
    dirs: Vec<(String, PathBuf)>,
}

/// The locks a run holds on its outputs until it is dropped.
#[derive(Debug)]
pub struct Held {
    locks: Vec<OutputLock>,
}

impl Held {
    /// The lock files held.
    pub fn lock_files(&self) -> Vec<&Path> {
        self.locks.iter().map(|l| l.path()).collect()
    }
}

impl Outputs {
    pub fn new() -> Self {
        Self::default()
    }

    /// A file the command reads (none if `path` is None): no output may be it.
    pub fn reads(mut self, flag: &str, path: Option<&Path>) -> Self {
        if let Some(p) = path {
            self.inputs.push((flag.to_string(), p.to_path_buf()));
        }
        self
    }

    /// A file the command writes.
    pub fn writes(mut self, flag: &str, path: Option<&Path>) -> Self {
        if let Some(p) = path {
            self.files.push(Output {
                flag: flag.to_string(),
                path: p.to_path_buf(),
                may_replace: None,
                default: false,
            });
        }
        self
    }

    /// A file the command writes, which may be the file `input_flag` reads (a checkpoint that
    /// a resumed run saves over).
    pub fn writes_over(mut self, flag: &str, path: Option<&Path>, input_flag: &str) -> Self {
        if let Some(p) = path {
            self.files.push(Output {
                flag: flag.to_string(),
                path: p.to_path_buf(),
                may_replace: Some(input_flag.to_string()),
                default: false,
            });
        }
        self
    }

    /// A file the command writes at a path it chose because `flag` was not given: refused (exit
    /// 3) where anything exists already, so that a default never replaces a user's file.
    pub fn writes_default(mut self, flag: &str, path: &Path) -> Self {
        self.files.push(Output {
            flag: flag.to_string(),
            path: path.to_path_buf(),
            may_replace: None,
            default: true,
        });
        self
    }

    /// A directory the command fills (created if missing); list its files with `writes`.
    pub fn fills_dir(mut self, flag: &str, dir: Option<&Path>) -> Self {
        if let Some(d) = dir {
            self.dirs.push((flag.to_string(), d.to_path_buf()));
        }
        self
    }

    /// Checks everything: the directories (created when missing), then that no two outputs
    /// and no output and input are one file (a configuration error, exit 2), then each output
    /// path against the writer's rules (exit 3, naming the flag).
    pub fn check(self) -> Result<Checked> {
        for (flag, dir) in &self.dirs {
            fs::check_output_dir(flag, dir)?;
        }
        let mut resolved = Vec::new();
        for o in &self.files {
            if o.default && std::fs::symlink_metadata(&o.path).is_ok() {
                return Err(Error::output(
                    "",
                    &o.path,
                    format!(
                        "exists already; it is where the output goes without {}, and an existing file is not replaced unless named: give {} PATH (this path, to replace it)",
                        o.flag, o.flag
                    ),
                ));
            }
            let target = Target::resolve(&o.path)
                .map_err(|e| Error::output(&o.flag, &o.path, e.to_string()))?;
            resolved.push((o, target));
        }
        for (i, (a, ta)) in resolved.iter().enumerate() {
            for (b, tb) in &resolved[..i] {
                if ta.identity() == tb.identity() {
                    return Err(Error::config(format!(
                        "{} {} and {} {} are the same file; give each output its own path",
                        b.flag,
                        b.path.display(),
                        a.flag,
                        a.path.display()
                    )));
                }
            }
            for (flag, input) in &self.inputs {
                if a.may_replace.as_deref() == Some(flag.as_str()) {
                    continue;
                }
                if same_existing_file(input, &ta.path) {
                    return Err(Error::config(format!(
                        "{} {} is the file {flag} {} reads; writing it would replace the input",
                        a.flag,
                        a.path.display(),
                        input.display()
                    )));
                }
            }
        }
        let mut targets = Vec::new();
        for (o, _) in resolved {
            targets.push((o.flag.clone(), fs::check_output(&o.flag, &o.path)?));
        }
        Ok(Checked {
            targets,
            dirs: self.dirs,
        })
    }
}

impl Checked {
    /// Where each output goes, in the order listed.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter().map(|(_, t)| t)
    }

    /// Locks every output for as long as the returned value lives: directories as a whole,
    /// files each. Fails at once, naming the holder's process id, if another run holds one.
    /// A directory given to two flags (a sweep's `--save DIR --metrics DIR`) is locked once.
    pub fn lock(self) -> Result<Held> {
        let mut locks = Vec::new();
        let mut locked_dirs = Vec::new();
        for (flag, dir) in &self.dirs {
            let identity = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
            if locked_dirs.contains(&identity) {
                continue;
            }
            locks.push(OutputLock::dir(flag, dir)?);
            locked_dirs.push(identity);
        }
        for (flag, t) in &self.targets {
            locks.push(OutputLock::file(flag, &t.given)?);
        }
        Ok(Held { locks })
    }
}

/// Whether `input` and `output` are one existing file (the same device and inode, so that
/// symbolic and hard links count as the same).
fn same_existing_file(input: &Path, output: &Path) -> bool {
    match (std::fs::metadata(input), std::fs::metadata(output)) {
        (Ok(a), Ok(b)) => crate::fs::same_file(&a, &b),
        _ => false,
    }
}
