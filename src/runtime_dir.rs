//! A private `XDG_RUNTIME_DIR` for the process when the environment has none that works.
//!
//! Mesa's Vulkan and GL drivers (through libwayland) print "error: XDG_RUNTIME_DIR is invalid
//! or not set in the environment" whenever they load without one (a container, `sudo`, cron,
//! CI): noise on every GPU command that is the driver's, not gpu-mlp's. libwayland only wants
//! an absolute path; nothing is written there by a compute-only program. So when the variable
//! is unset, empty, relative or not a directory, the process gets a fresh directory of its
//! own: created with `mkdir` under the temporary directory with a random name (so it cannot be
//! a file or link someone placed in advance: `mkdir` fails on any existing name), mode 0700,
//! set before any thread or wgpu starts, and removed when [`RuntimeDir`] is dropped at exit.

use std::path::{Path, PathBuf};

/// The variable the drivers read.
pub const VAR: &str = "XDG_RUNTIME_DIR";

/// The directory made for this process; dropping it removes the directory.
#[derive(Debug)]
pub struct RuntimeDir(PathBuf);

impl RuntimeDir {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// True when `value` is a runtime directory the drivers accept: an absolute path to an
/// existing directory.
pub fn usable(value: Option<&std::ffi::OsStr>) -> bool {
    value
        .filter(|v| !v.is_empty())
        .map(Path::new)
        .is_some_and(|p| p.is_absolute() && p.is_dir())
}

/// Sets [`VAR`] to a private directory when the environment has no usable one; `None` when
/// it has one (or none could be made: the drivers' warning is then all that is lost). Call it
/// first thing in `main`, while the process has one thread: changing the environment is only
/// sound before other threads read it.
pub fn ensure() -> Option<RuntimeDir> {
    if usable(std::env::var_os(VAR).as_deref()) {
        return None;
    }
    let dir = create_private(&std::env::temp_dir())?;
    std::env::set_var(VAR, dir.path());
    Some(dir)
}

/// A new directory under `base` with a random name, readable only by this user.
#[cfg(unix)]
fn create_private(base: &Path) -> Option<RuntimeDir> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    for _ in 0..16 {
        let path = base.join(format!("gpu-mlp-runtime-{:016x}", rand::random::<u64>()));
        match std::fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => {
                let dir = RuntimeDir(path);
                // The umask can only have taken bits away; make it exactly 0700.
                std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                    .ok()?;
                return Some(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => return None,
        }
    }
    None
}

/// Elsewhere (Windows, macOS without Wayland) no driver asks for the variable.
#[cfg(not(unix))]
fn create_private(_base: &Path) -> Option<RuntimeDir> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unset, empty, relative and missing values are replaced; an existing absolute directory
    /// is kept.
    #[test]
    fn only_a_missing_or_unusable_value_is_replaced() {
        let tmp = std::env::temp_dir();
        assert!(usable(Some(tmp.as_os_str())));
        assert!(!usable(None));
        assert!(!usable(Some("".as_ref())));
        assert!(!usable(Some("relative/dir".as_ref())));
        assert!(!usable(Some(tmp.join("gpu-mlp-no-such-dir").as_os_str())));
    }

    /// The directory is new, 0700, and gone once dropped.
    #[cfg(unix)]
    #[test]
    fn the_private_directory_is_0700_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        let dir = create_private(base.path()).unwrap();
        let path = dir.path().to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::write(path.join("socket"), b"x").unwrap();
        drop(dir);
        assert!(!path.exists());
    }
}
