//! What the writer's rules need from the operating system beyond the portable `std::fs`: file
//! kinds, hard-link counts, file identity, owner and mode. Unix has them all; elsewhere the
//! rules fall back to what can be known (a non-regular file is refused without its kind, hard
//! links are not counted, only the read-only flag is kept).

use std::fs::{File, Metadata};
use std::io;

/// What a file is, in words, when it is not a regular file.
#[cfg(unix)]
pub fn not_regular(m: &Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    Some(if t.is_file() {
        return None;
    } else if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a fifo (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    })
}

#[cfg(not(unix))]
pub fn not_regular(m: &Metadata) -> Option<&'static str> {
    let t = m.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else {
        Some("not a file")
    }
}

/// How many names a file has.
#[cfg(unix)]
pub fn hard_links(m: &Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    m.nlink()
}

#[cfg(not(unix))]
pub fn hard_links(_: &Metadata) -> u64 {
    1
}

/// Whether two files' metadata are of one file (the same device and inode).
#[cfg(unix)]
pub fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
pub fn same_file(a: &Metadata, b: &Metadata) -> bool {
    a.len() == b.len()
        && a.modified().ok() == b.modified().ok()
        && a.created().ok() == b.created().ok()
}

/// Gives `file` the existing file's owner and group (where this process may: as its owner or
/// as root) and then its permission bits (after the owner, which would clear set-id bits).
#[cfg(unix)]
pub fn keep_owner_and_mode(file: &File, existing: &Metadata) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let _ = std::os::unix::fs::fchown(file, Some(existing.uid()), Some(existing.gid()));
    file.set_permissions(std::fs::Permissions::from_mode(existing.mode() & 0o7777))
}

#[cfg(not(unix))]
pub fn keep_owner_and_mode(file: &File, existing: &Metadata) -> io::Result<()> {
    file.set_permissions(existing.permissions())
}
