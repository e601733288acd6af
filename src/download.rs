//! Fetching a data set's four IDX files from its public mirrors.
//!
//! Each file is tried on every mirror in turn (the user's `--mirror`s first). A transfer goes
//! to a hidden `.NAME.part` file beside the target; when it breaks, the next attempt asks for
//! the rest with an HTTP Range request and appends (a server that answers with the whole file
//! instead restarts it). A finished file must match its published MD5 before it is synced and
//! renamed onto the target, so a target is either absent, a previous good file, or a new good
//! one. A corrupt copy is deleted and the next mirror tried.
//!
//! Checksums: the MD5 of the `.gz` as published by the data set's authors, or, for mirrors that
//! recompress, the MD5 of the uncompressed content (MNIST: the published uncompressed MD5s;
//! Fashion-MNIST: computed from the content of the official files).

use crate::error::{Error, Result};
use md5::{Digest, Md5};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One file of a data set and its checksums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    pub name: &'static str,
    /// MD5 of the gzip file as the authors publish it.
    pub gz_md5: &'static str,
    /// MD5 of the uncompressed IDX content.
    pub content_md5: &'static str,
}

/// A data set's mirrors and files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Catalogue {
    pub name: &'static str,
    /// Base URLs; a file's URL is the base, a slash and its name.
    pub mirrors: &'static [&'static str],
    pub files: [RemoteFile; 4],
    /// Where `download` puts the files when no --dir is given.
    pub default_dir: &'static str,
}

pub const MNIST: Catalogue = Catalogue {
    name: "MNIST",
    mirrors: &[
        "https://ossci-datasets.s3.amazonaws.com/mnist",
        "https://storage.googleapis.com/cvdf-datasets/mnist",
    ],
    files: [
        RemoteFile {
            name: "train-images-idx3-ubyte.gz",
            gz_md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            content_md5: "6bbc9ace898e44ae57da46a324031adb",
        },
        RemoteFile {
            name: "train-labels-idx1-ubyte.gz",
            gz_md5: "d53e105ee54ea40749a09fcbcd1e9432",
            content_md5: "a25bea736e30d166cdddb491f175f624",
        },
        RemoteFile {
            name: "t10k-images-idx3-ubyte.gz",
            gz_md5: "9fb629c4189551a2d022fa330f9573f3",
            content_md5: "2646ac647ad5339dbf082846283269ea",
        },
        RemoteFile {
            name: "t10k-labels-idx1-ubyte.gz",
            gz_md5: "ec29112dd5afa0611ce80d1b7f02629c",
            content_md5: "27ae3e4e09519cfbb04c329615203637",
        },
    ],
    default_dir: "data/mnist",
};

pub const FASHION_MNIST: Catalogue = Catalogue {
    name: "Fashion-MNIST",
    mirrors: &[
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion",
    ],
    files: [
        RemoteFile {
            name: "train-images-idx3-ubyte.gz",
            gz_md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            content_md5: "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        },
        RemoteFile {
            name: "train-labels-idx1-ubyte.gz",
            gz_md5: "25c81989df183df01b3e8a0aad5dffbe",
            content_md5: "9018921c3c673c538a1fc5bad174d6f9",
        },
        RemoteFile {
            name: "t10k-images-idx3-ubyte.gz",
            gz_md5: "bef4ecab320f06d8554ea6380940ec79",
            content_md5: "8181f5470baa50b63fa0f6fddb340f0a",
        },
        RemoteFile {
            name: "t10k-labels-idx1-ubyte.gz",
            gz_md5: "bb300cfdad3c16e7a12a480ee83cd310",
            content_md5: "15d484375f8d13e6eb1aabb0c3f46965",
        },
    ],
    default_dir: "data/fashion-mnist",
};

/// Transfers tried per mirror before moving on (each one resuming the last).
pub const ATTEMPTS_PER_MIRROR: usize = 3;

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

/// Fetches files over HTTP(S) with a per-read timeout.
pub struct Downloader {
    agent: ureq::Agent,
}

/// Why one transfer did not produce a complete file.
enum Broken {
    /// Worth trying the same mirror again (connection dropped, timeout, short body).
    Retry(String),
    /// This mirror will not serve the file (404, other HTTP errors).
    GiveUp(String),
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
        Downloader { agent }
    }

    /// Makes sure `dir/file.name` holds the file, trying `mirrors` in order.
    pub fn fetch(
        &self,
        file: &RemoteFile,
        mirrors: &[String],
        dir: &Path,
        mut event: impl FnMut(Event),
    ) -> Result<Fetched> {
        let target = dir.join(file.name);
        if target.is_file() && matches_checksum(&target, file)? {
            return Ok(Fetched::AlreadyPresent);
        }
        let part = dir.join(format!(".{}.part", file.name));
        let mut failures = Vec::new();
        for base in mirrors {
            let url = format!("{}/{}", base.trim_end_matches('/'), file.name);
            match self.fetch_from(&url, file, &part, &target, &mut event)? {
                Ok(attempts) => return Ok(Fetched::Downloaded { url, attempts }),
                Err(reason) => {
                    event(Event::Failed {
                        url: url.clone(),
                        reason: reason.clone(),
                    });
                    failures.push(format!("{url}: {reason}"));
                }
            }
        }
        Err(Error::bad_data(
            &target,
            format!(
                "could not be downloaded from any mirror ({}); add one with --mirror URL",
                failures.join("; ")
            ),
        ))
    }

    /// Gets the file from one URL into `target`: the number of transfers it took, or why this
    /// mirror failed.
    fn fetch_from(
        &self,
        url: &str,
        file: &RemoteFile,
        part: &Path,
        target: &Path,
        event: &mut impl FnMut(Event),
    ) -> Result<std::result::Result<usize, String>> {
        // Bytes left by an earlier run or mirror are resumed; should the result not match, this
        // mirror gets one more go from scratch (the bytes may come from a mirror that
        // compresses differently).
        let mut fresh_start_left = part.is_file();
        loop {
            let mut attempts = 0;
            let outcome = loop {
                attempts += 1;
                match self.transfer(url, part, event) {
                    Ok(()) => break Ok(()),
                    Err(Broken::Retry(reason)) if attempts < ATTEMPTS_PER_MIRROR => {
                        event(Event::Failed {
                            url: url.to_string(),
                            reason: format!("{reason}; trying again"),
                        });
                    }
                    Err(Broken::Retry(reason) | Broken::GiveUp(reason)) => break Err(reason),
                }
            };
            if let Err(reason) = outcome {
                return Ok(Err(reason));
            }
            if matches_checksum(part, file)? {
                install(part, target)?;
                return Ok(Ok(attempts));
            }
            let _ = std::fs::remove_file(part);
            if !fresh_start_left {
                return Ok(Err(format!(
                    "checksum mismatch (expected MD5 {} of the .gz or {} of its content); the copy was deleted",
                    file.gz_md5, file.content_md5
                )));
            }
            fresh_start_left = false;
            event(Event::Failed {
                url: url.to_string(),
                reason: "the resumed file does not match its checksum; starting over".into(),
            });
        }
    }

    /// One HTTP request: resumes `part` if it holds bytes, else starts it.
    fn transfer(
        &self,
        url: &str,
        part: &Path,
        event: &mut impl FnMut(Event),
    ) -> std::result::Result<(), Broken> {
        let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let mut request = self.agent.get(url);
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        let response = request
            .call()
            .map_err(|e| Broken::Retry(format!("request failed: {e}")))?;
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
            416 if have > 0 => return Ok(()),
            404 => return Err(Broken::GiveUp("not found (HTTP 404)".into())),
            s if s >= 500 => return Err(Broken::Retry(format!("server error (HTTP {s})"))),
            s => return Err(Broken::GiveUp(format!("unexpected HTTP status {s}"))),
        };
        event(Event::Start {
            url: url.to_string(),
            offset,
            total: length.map(|l| l + offset),
        });
        let io =
            |e: std::io::Error| Broken::GiveUp(format!("cannot write {}: {e}", part.display()));
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
                    return Err(Broken::Retry(format!(
                        "transfer broke after {} bytes: {e}",
                        offset + received
                    )));
                }
            };
            out.write_all(&buffer[..n]).map_err(io)?;
            received += n as u64;
            event(Event::Progress(n as u64));
        }
        out.flush().map_err(io)?;
        match length {
            Some(l) if received < l => Err(Broken::Retry(format!(
                "transfer ended after {received} of {l} bytes"
            ))),
            _ => Ok(()),
        }
    }
}

/// Whether `path` holds `file`: its bytes have the published MD5, or it is a gzip stream whose
/// content has the content MD5.
pub fn matches_checksum(path: &Path, file: &RemoteFile) -> Result<bool> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if hex(&Md5::digest(&bytes)) == file.gz_md5 {
        return Ok(true);
    }
    let mut content = Md5::new();
    let mut decoder = flate2::read::GzDecoder::new(bytes.as_slice());
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        match decoder.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => content.update(&buffer[..n]),
            // Not gzip, or a damaged stream: it cannot be the file.
            Err(_) => return Ok(false),
        }
    }
    Ok(hex(&content.finalize()) == file.content_md5)
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Syncs `part` and renames it onto `target`.
fn install(part: &Path, target: &Path) -> Result<()> {
    File::open(part)
        .and_then(|f| f.sync_all())
        .and_then(|_| std::fs::rename(part, target))
        .map_err(|e| Error::io(target, e))?;
    if let Some(dir) = target.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
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
}
