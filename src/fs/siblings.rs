//! The hidden files gpu-mlp keeps beside an output `NAME` in its directory: the temporary file a
//! write goes through (`.NAME.tmp-PID`), the probe that checks a directory before a run
//! (`.NAME.try-PID`), the lock of a run's lifetime (`.NAME.lock`) and a download's partial file
//! (`.NAME.part`); and the removal of those that dead writers left.
//!
//! A file name may have at most 255 bytes (Linux, every common file system). A legal name of up
//! to 255 bytes must not fail for want of room for the suffix, so when `.NAME.tmp-4294967295`
//! would be longer, NAME is cut to fit and followed by `~` and 16 hex digits of its MD5: the
//! same output always gets the same hidden names, and two long names that share a prefix do not
//! share them.

use md5::{Digest, Md5};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// The longest file name the file systems gpu-mlp writes to accept (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// Bytes after the stem in the longest hidden name: ".tmp-" and a 10-digit process id.
const LONGEST_SUFFIX: usize = ".tmp-".len() + 10;

/// What a hidden file beside an output is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sibling {
    /// The temporary file a write goes through, of process `pid`.
    Temporary(u32),
    /// The file a pre-flight check creates and removes, of process `pid`.
    Probe(u32),
    /// The advisory lock a run holds for its lifetime.
    Lock,
    /// A download's partial file, kept for resuming.
    Part,
}

impl Sibling {
    fn suffix(self) -> String {
        match self {
            Sibling::Temporary(pid) => format!(".tmp-{pid}"),
            // Ten digits, as long as the longest temporary name.
            Sibling::Probe(pid) => format!(".try-{pid:010}"),
            Sibling::Lock => ".lock".into(),
            Sibling::Part => ".part".into(),
        }
    }
}

/// The part of a hidden name that stands for `name`: `.NAME`, or `.PREFIX~HASH` when `name` is
/// too long to carry the longest suffix within [`NAME_MAX`] bytes.
fn stem(name: &OsStr) -> OsString {
    let bytes = name.as_encoded_bytes();
    if 1 + bytes.len() + LONGEST_SUFFIX <= NAME_MAX {
        let mut s = OsString::from(".");
        s.push(name);
        return s;
    }
    let hash: String = Md5::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let room = NAME_MAX - 1 - LONGEST_SUFFIX - 1 - hash.len();
    // The prefix is cut at a character boundary; a name that is not UTF-8 gets none (the hash
    // alone tells it apart), so the hidden name stays printable and within the limit.
    let prefix = match std::str::from_utf8(bytes) {
        Ok(text) => {
            let mut cut = room.min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            &text[..cut]
        }
        Err(_) => "",
    };
    OsString::from(format!(".{prefix}~{hash}"))
}

/// The hidden file of kind `kind` for the output `name` in `dir`.
pub fn path(dir: &Path, name: &OsStr, kind: Sibling) -> PathBuf {
    let mut file = stem(name);
    file.push(kind.suffix());
    dir.join(file)
}

/// Removes the temporary and probe files that writers of `name` in `dir` left when they were
/// killed, so that they neither fill the disk nor pile up. A file counts as left when its
/// process is gone and no process holds its lock: a writer locks its temporary file for as long
/// as it writes it (`fs::write_atomically_with`), and the lock dies with the process. On Linux
/// both are checked (/proc tells whether the process runs); elsewhere a file must also be a
/// minute old, so that one whose writer has created but not yet locked it is left alone.
pub fn remove_stale(dir: &Path, name: &OsStr) {
    let stem = stem(name);
    let prefixes = [
        [stem.as_encoded_bytes(), b".tmp-"].concat(),
        [stem.as_encoded_bytes(), b".try-"].concat(),
    ];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let have_proc = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = prefixes
            .iter()
            .find_map(|p| file_name.as_encoded_bytes().strip_prefix(p.as_slice()))
            .and_then(|p| std::str::from_utf8(p).ok())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let path = entry.path();
        // Only regular files: opening a fifo to test its lock would block.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.file_type().is_file() {
            continue;
        }
        let dead = if have_proc {
            !Path::new(&format!("/proc/{pid}")).exists()
        } else {
            meta.modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() >= 60)
        };
        if !dead {
            continue;
        }
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short names keep the readable `.NAME.tmp-PID` form the kill-and-resume test watches for.
    #[test]
    fn short_names_are_kept_whole() {
        let p = path(
            Path::new("d"),
            OsStr::new("ck.safetensors"),
            Sibling::Temporary(42),
        );
        assert_eq!(p, Path::new("d/.ck.safetensors.tmp-42"));
        let p = path(Path::new("d"), OsStr::new("ck.safetensors"), Sibling::Lock);
        assert_eq!(p, Path::new("d/.ck.safetensors.lock"));
    }

    /// A legal name of up to 255 bytes gets hidden names of at most 255 bytes, different for
    /// names that differ only after the cut, and the same every time.
    #[test]
    fn long_names_are_cut_and_hashed_within_name_max() {
        for len in [239, 240, 250, 255] {
            let a = "a".repeat(len - 1) + "x";
            let b = "a".repeat(len - 1) + "y";
            let kind = Sibling::Temporary(u32::MAX);
            let pa = path(Path::new(""), OsStr::new(&a), kind);
            let pb = path(Path::new(""), OsStr::new(&b), kind);
            assert!(pa.as_os_str().len() <= NAME_MAX, "{len}: {}", pa.display());
            assert_ne!(pa, pb);
            assert_eq!(pa, path(Path::new(""), OsStr::new(&a), kind));
        }
        // Multi-byte characters are not split.
        let name = "é".repeat(127);
        let p = path(Path::new(""), OsStr::new(&name), Sibling::Probe(7));
        assert!(p.to_str().is_some() && p.as_os_str().len() <= NAME_MAX);
    }
}
