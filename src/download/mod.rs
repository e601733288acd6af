//! Fetching a data set's four IDX files from its public mirrors.
//!
//! Each file is tried on every mirror in turn (the user's `--mirror`s first). A transfer goes
//! to a hidden `.NAME.part` file beside the target; when it breaks, the next attempt asks for
//! the rest with an HTTP Range request and appends (a server that answers with the whole file
//! instead restarts it). A finished file must match its published checksum before it is synced
//! and installed on the target by the one writer's rules (`fs::install_file`: a regular file or
//! nothing there, symbolic links written through, permission bits kept), so a target is either
//! absent, a previous good file, or a new good one. A corrupt copy is deleted and the next
//! mirror tried.
//!
//! Every transfer is bounded:
//! - **In size.** No file can need more than [`RemoteFile::max_bytes`]; a server announcing
//!   more is refused before its body is read, and one sending more is cut off there. Sooner
//!   still, the bytes are checked as they arrive ([`checksum::Checksum`]) and the transfer
//!   stops as soon as they cannot be the file (not gzip and past the published size, more
//!   content than the file holds, bytes after the gzip stream's end); the partial copy is
//!   deleted. Checksums are computed while streaming, never by reading a file back whole.
//! - **In time.** A connection or a read that waits `--timeout` seconds fails, and each file
//!   gets [`Downloader::deadline`] on each mirror, all its attempts together: `--timeout` plus
//!   one second per [`MIN_BYTES_PER_SECOND`] bytes of the published `.gz`. A server that
//!   trickles bytes (one every few seconds keeps every read alive) is given up at the
//!   deadline and the next mirror tried. A broken transfer is tried again after a wait that
//!   doubles from 1 s ([`network::backoff`]), within the deadline.
//!
//! When no mirror could even be connected to (DNS or connection failures only), the error says
//! the network is unreachable; every failed download exits 7 ([`Error::Network`]).

mod catalogue;
pub mod checksum;
pub mod network;

pub use catalogue::{largest_gzip, Catalogue, RemoteFile, FASHION_MNIST, MNIST};

use crate::error::{Error, Result};
use crate::fs::siblings::{self, Sibling};
use crate::fs::Target;
use checksum::Checksum;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Transfers tried per mirror before moving on (each one resuming the last).
pub const ATTEMPTS_PER_MIRROR: usize = 3;

/// The slowest average rate a mirror may deliver a file at: 16 KiB/s (a file's deadline).
pub const MIN_BYTES_PER_SECOND: u64 = 16 * 1024;

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// The target was there already and matched its checksum.
    AlreadyPresent,
    /// Downloaded from this URL after `attempts` transfers (more than one: resumed).
    Downloaded { url: String, attempts: usize },
}

/// Something worth telling the user as it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A transfer starts: `offset` bytes are already there (a resume when > 0), `total` is the
    /// whole file's length when the server says it.
    Start {
        url: String,
        offset: u64,
        total: Option<u64>,
    },
    /// Bytes arrived.
    Progress(u64),
    /// A mirror or an attempt failed; the next one is tried.
    Failed { url: String, reason: String },
}

/// Fetches files over HTTP(S) with a per-read timeout and a per-file deadline.
pub struct Downloader {
    agent: ureq::Agent,
    timeout: Duration,
}

/// Why one transfer did not produce a complete file.
enum Broken {
    /// Worth trying the same mirror again (connection dropped, timeout, short body).
    Retry(String),
    /// This mirror will not serve the file (404, other HTTP errors, too many bytes, too slow).
    GiveUp(String),
    /// The server could not be reached (DNS, connection refused or timed out): tried again.
    Unreachable(String),
}

/// Why a mirror did not give a file, and whether it could not be reached at all.
struct Failure {
    reason: String,
    unreachable: bool,
}

impl Downloader {
    /// A downloader that counts a transfer as broken after `timeout` without data.
    pub fn new(timeout: Duration) -> Downloader {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(timeout))
            .timeout_per_read(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("gpu-mlp/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Downloader { agent, timeout }
    }

    /// How long `file` may take on one mirror, all attempts together: the timeout plus one
    /// second per [`MIN_BYTES_PER_SECOND`] bytes of the published `.gz`.
    pub fn deadline(&self, file: &RemoteFile) -> Duration {
        self.timeout + Duration::from_secs_f64(file.gz_size as f64 / MIN_BYTES_PER_SECOND as f64)
    }

    /// Makes sure `dir/file.name` holds the file, trying `mirrors` in order.
    pub fn fetch(
        &self,
        file: &RemoteFile,
        mirrors: &[String],
        dir: &Path,
        mut event: impl FnMut(Event),
    ) -> Result<Fetched> {
        let path = dir.join(file.name);
        let target = Target::resolve(&path).map_err(|e| Error::io(&path, e))?;
        if target.existing.is_some() && matches_checksum(&target.path, file)? {
            return Ok(Fetched::AlreadyPresent);
        }
        let part = siblings::path(&target.dir, &target.name, Sibling::Part);
        check_part(&part)?;
        let mut failures = Vec::new();
        let mut reached = false;
        for base in mirrors {
            let url = format!("{}/{}", base.trim_end_matches('/'), file.name);
            match self.fetch_from(&url, file, &part, &target, &mut event)? {
                Ok(attempts) => return Ok(Fetched::Downloaded { url, attempts }),
                Err(Failure {
                    reason,
                    unreachable,
                }) => {
                    reached |= !unreachable;
                    event(Event::Failed {
                        url: url.clone(),
                        reason: reason.clone(),
                    });
                    failures.push(format!("{url}: {reason}"));
                }
            }
        }
        let failures = failures.join("; ");
        Err(Error::Network(match reached {
            false => format!(
                "{}: the network is unreachable: no mirror could be connected to ({failures}); check the connection (and any proxy: HTTPS_PROXY), or add a reachable mirror with --mirror URL",
                path.display()
            ),
            true => format!(
                "{}: could not be downloaded from any mirror ({failures}); add one with --mirror URL",
                path.display()
            ),
        }))
    }

    /// Gets the file from one URL onto `target`: the number of transfers it took, or why this
    /// mirror failed.
    fn fetch_from(
        &self,
        url: &str,
        file: &RemoteFile,
        part: &Path,
        target: &Target,
        event: &mut impl FnMut(Event),
    ) -> Result<std::result::Result<usize, Failure>> {
        let deadline = Instant::now() + self.deadline(file);
        // Bytes left by an earlier run or mirror are resumed; should the result not match, this
        // mirror gets one more go from scratch (the bytes may come from a mirror that
        // compresses differently).
        let mut fresh_start_left = part.is_file();
        loop {
            let mut attempts = 0;
            let outcome = loop {
                attempts += 1;
                match self.transfer(url, file, part, deadline, event) {
                    Ok(check) => break Ok(check),
                    Err(Broken::Retry(reason) | Broken::Unreachable(reason))
                        if attempts < ATTEMPTS_PER_MIRROR =>
                    {
                        let left = deadline.saturating_duration_since(Instant::now());
                        let wait = network::backoff(attempts + 1, left);
                        event(Event::Failed {
                            url: url.to_string(),
                            reason: format!(
                                "{reason}; trying again in {:.0} s",
                                wait.as_secs_f64()
                            ),
                        });
                        std::thread::sleep(wait);
                    }
                    Err(Broken::Unreachable(reason)) => {
                        break Err(Failure {
                            reason,
                            unreachable: true,
                        })
                    }
                    Err(Broken::Retry(reason) | Broken::GiveUp(reason)) => {
                        break Err(Failure {
                            reason,
                            unreachable: false,
                        })
                    }
                }
            };
            let check = match outcome {
                Ok(check) => check,
                Err(failure) => return Ok(Err(failure)),
            };
            if check.matches() {
                File::open(part)
                    .and_then(|f| f.sync_all())
                    .and_then(|_| crate::fs::install_file(part, target))
                    .map_err(|e| Error::io(&target.given, e))?;
                return Ok(Ok(attempts));
            }
            let _ = std::fs::remove_file(part);
            if !fresh_start_left {
                return Ok(Err(Failure {
                    reason: format!(
                        "checksum mismatch (expected MD5 {} of the .gz or {} of its content); the copy was deleted",
                        file.gz_md5, file.content_md5
                    ),
                    unreachable: false,
                }));
            }
            fresh_start_left = false;
            event(Event::Failed {
                url: url.to_string(),
                reason: "the resumed file does not match its checksum; starting over".into(),
            });
        }
    }

    /// One HTTP request: resumes `part` if it holds bytes that can still be the file, else
    /// starts it. Returns the checks over the whole part once the body has ended.
    fn transfer(
        &self,
        url: &str,
        file: &RemoteFile,
        part: &Path,
        deadline: Instant,
        event: &mut impl FnMut(Event),
    ) -> std::result::Result<Checksum, Broken> {
        let io =
            |e: std::io::Error| Broken::GiveUp(format!("cannot write {}: {e}", part.display()));
        let mut check = match part.is_file() {
            true => match Checksum::of_file(part, file).map_err(io)? {
                Ok(check) => check,
                Err(_) => {
                    std::fs::remove_file(part).map_err(io)?;
                    Checksum::new(file)
                }
            },
            false => Checksum::new(file),
        };
        let have = check.len();
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.too_slow(file, have));
        }
        let mut request = self
            .agent
            .get(url)
            .config()
            .timeout_global(Some(left))
            .build();
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        let response = request
            .call()
            .map_err(|e| match Instant::now() >= deadline {
                true => self.too_slow(file, have),
                false if network::unreachable(&e) => {
                    Broken::Unreachable(format!("cannot connect: {e}"))
                }
                false => Broken::Retry(format!("request failed: {e}")),
            })?;
        let status = response.status().as_u16();
        let length = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let (append, offset) = match status {
            206 if have > 0 => (true, have),
            200 => (false, 0),
            // The part already holds the whole file (the last attempt broke after the end).
            416 if have > 0 => return Ok(check),
            404 => return Err(Broken::GiveUp("not found (HTTP 404)".into())),
            s if s >= 500 => return Err(Broken::Retry(format!("server error (HTTP {s})"))),
            s => return Err(Broken::GiveUp(format!("unexpected HTTP status {s}"))),
        };
        if !append {
            check = Checksum::new(file);
        }
        let total = length.map(|l| l + offset);
        if let Some(t) = total.filter(|&t| t > file.max_bytes()) {
            let _ = std::fs::remove_file(part);
            return Err(Broken::GiveUp(format!(
                "announces {t} bytes, more than the {} any copy of {} can have; not downloaded",
                file.max_bytes(),
                file.name
            )));
        }
        event(Event::Start {
            url: url.to_string(),
            offset,
            total,
        });
        let mut out = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(part)
            .map_err(io)?;
        let mut body = response.into_body().into_reader();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut received = 0u64;
        loop {
            let n = match body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    out.flush().map_err(io)?;
                    if Instant::now() >= deadline {
                        return Err(self.too_slow(file, offset + received));
                    }
                    return Err(Broken::Retry(format!(
                        "transfer broke after {} bytes: {e}",
                        offset + received
                    )));
                }
            };
            if let Err(why) = check.update(&buffer[..n]) {
                drop(out);
                let _ = std::fs::remove_file(part);
                return Err(Broken::GiveUp(format!(
                    "{why}; stopped there and discarded"
                )));
            }
            out.write_all(&buffer[..n]).map_err(io)?;
            received += n as u64;
            event(Event::Progress(n as u64));
        }
        out.flush().map_err(io)?;
        match length {
            Some(l) if received < l => Err(Broken::Retry(format!(
                "transfer ended after {received} of {l} bytes"
            ))),
            _ => Ok(check),
        }
    }

    fn too_slow(&self, file: &RemoteFile, have: u64) -> Broken {
        Broken::GiveUp(format!(
            "too slow: {have} of about {} bytes within the deadline of {:.0} s ({} s --timeout plus 1 s per {} KiB)",
            file.gz_size,
            self.deadline(file).as_secs_f64(),
            self.timeout.as_secs(),
            MIN_BYTES_PER_SECOND / 1024
        ))
    }
}

/// A partial file must be a regular file of gpu-mlp's own, or absent: never followed through a
/// symbolic link, never a fifo (opening which would block).
fn check_part(part: &Path) -> Result<()> {
    match std::fs::symlink_metadata(part) {
        Ok(m) if !m.file_type().is_file() => Err(Error::io(
            part,
            crate::fs::target::refusal(format!(
                "is {}, not the regular file download keeps its partial transfer in; remove it",
                crate::fs::target::not_regular(&m).unwrap_or("a symbolic link")
            )),
        )),
        _ => Ok(()),
    }
}

/// Whether `path` holds `file`: its bytes are the published `.gz`, or a gzip stream whose
/// content has the content MD5. Read in pieces, and only as far as they can still be the file.
pub fn matches_checksum(path: &Path, file: &RemoteFile) -> Result<bool> {
    Ok(Checksum::of_file(path, file)
        .map_err(|e| Error::io(path, e))?
        .is_ok_and(Checksum::matches))
}

/// The mirrors to try: the user's first, then the built-in ones.
pub fn mirrors(catalogue: &Catalogue, extra: &[String]) -> Vec<String> {
    extra
        .iter()
        .cloned()
        .chain(catalogue.mirrors.iter().map(|m| m.to_string()))
        .collect()
}

/// The directory for a catalogue when no --dir is given.
pub fn default_dir(catalogue: &Catalogue) -> PathBuf {
    PathBuf::from(catalogue.default_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_mnist_matches_its_checksums() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
        for f in &MNIST.files {
            assert!(
                matches_checksum(&dir.join(f.name), f).unwrap(),
                "{}",
                f.name
            );
        }
        // A file is not accepted under another file's checksums.
        assert!(!matches_checksum(&dir.join(MNIST.files[1].name), &MNIST.files[3]).unwrap());
    }

    /// The streaming check accepts the file fed in any pieces, and stops bytes after the gzip
    /// stream (past the published size) and bytes that are not gzip at once.
    #[test]
    fn the_streaming_check_stops_bytes_that_cannot_be_the_file() {
        let f = &MNIST.files[3];
        let good = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data/mnist")
                .join(f.name),
        )
        .unwrap();
        for piece in [1, 7, 4096, good.len()] {
            let mut c = Checksum::new(f);
            for chunk in good.chunks(piece) {
                c.update(chunk).unwrap();
            }
            assert!(c.matches(), "pieces of {piece}");
        }
        let mut c = Checksum::new(f);
        c.update(&good).unwrap();
        let why = c.update(&[0u8; 4096]).unwrap_err();
        assert!(why.contains("after the end of the gzip stream"), "{why}");
        let why = Checksum::new(f)
            .update(b"this is not a gzip file")
            .unwrap_err();
        assert!(why.contains("not a gzip stream"), "{why}");
    }
}
