//! Where an output path really writes, and whether it may be written there.
//!
//! The rules every output follows (`fs::write_atomically_with` applies them, and the pre-flight
//! check `fs::check_output` applies them before a run does any work):
//! - A symbolic link is followed to the file it names (a chain of them too, up to 40), and that
//!   file is replaced; the link itself stays a link. A dangling link creates the file it names.
//! - A path that exists must be a regular file. A directory, a character or block device
//!   (`/dev/null`, `/dev/full`), a fifo or a socket is refused: replacing it with a file would
//!   destroy something that is not gpu-mlp's (as root, a device node).
//! - An existing file's permission bits are kept (and its owner and group, where the process
//!   may set them), so replacing it changes its content only.
//! - A file with other hard links is replaced under this name only: the other names keep the
//!   old content, and the writer says so on stderr (`note: ...`).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// How many symbolic links a path may go through (Linux's own limit, ELOOP).
const MAX_LINKS: usize = 40;

/// An output path resolved to the file it writes.
#[derive(Clone, Debug)]
pub struct Target {
    /// The path as given.
    pub given: PathBuf,
    /// The file written: `given` with symbolic links followed.
    pub path: PathBuf,
    /// `path`'s directory ("." for a bare name) and file name.
    pub dir: PathBuf,
    pub name: OsString,
    /// The regular file there now, if any.
    pub existing: Option<std::fs::Metadata>,
}

impl Target {
    /// Follows `given` through symbolic links and checks what is there. The error says why the
    /// path cannot be an output (a message for one line, after the path).
    pub fn resolve(given: &Path) -> io::Result<Target> {
        let mut path = given.to_path_buf();
        let mut links = 0;
        let existing = loop {
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(refusal(format!(
                            "goes through more than {MAX_LINKS} symbolic links"
                        )));
                    }
                    let link = std::fs::read_link(&path)?;
                    path = match path.parent() {
                        Some(dir) if link.is_relative() => dir.join(link),
                        _ => link,
                    };
                }
                Ok(m) => break Some(m),
                Err(e) if e.kind() == io::ErrorKind::NotFound => break None,
                Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                    return Err(refusal(format!(
                        "{} is not a directory",
                        path.parent().unwrap_or(Path::new("")).display()
                    )))
                }
                Err(e) => return Err(e),
            }
        };
        if let Some(kind) = existing.as_ref().and_then(not_regular) {
            let what = if links > 0 {
                format!("leads to {}, {kind}", path.display())
            } else {
                format!("is {kind}")
            };
            return Err(refusal(format!(
                "{what}, not a regular file; gpu-mlp writes outputs only as regular files, which it replaces whole"
            )));
        }
        let name = path
            .file_name()
            .filter(|_| !path.as_os_str().as_encoded_bytes().ends_with(b"/"))
            .ok_or_else(|| refusal("names no file (it ends in a directory)".into()))?
            .to_os_string();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(Target {
            given: given.to_path_buf(),
            path,
            dir,
            name,
            existing,
        })
    }

    /// How many names the existing file has (1 for a new file).
    pub fn hard_links(&self) -> u64 {
        self.existing
            .as_ref()
            .map_or(1, super::platform::hard_links)
    }

    /// A key that is the same for two paths that write the same file: the directory with its
    /// own links followed, and the name.
    pub fn identity(&self) -> PathBuf {
        std::fs::canonicalize(&self.dir)
            .unwrap_or_else(|_| self.dir.clone())
            .join(&self.name)
    }
}

/// What a file is, in words, when it is not a regular file.
pub use super::platform::not_regular;

/// An error that is a refusal, not a failure of the system.
pub fn refusal(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}
