//! Checking a file against its published checksums while its bytes stream in, without holding
//! it in memory or reading it back: the MD5 of the bytes themselves (the published `.gz`), and
//! the MD5 of what they decompress to (a mirror's recompressed copy), both computed as the
//! bytes arrive. The check also says as soon as the bytes can no longer be the file — not a
//! gzip stream, more content than the file holds, bytes after the gzip stream's end beyond the
//! published size, more than any copy can have — so that a transfer is stopped there instead
//! of at its end.

use super::RemoteFile;
use flate2::write::GzDecoder;
use md5::{Digest, Md5};
use std::io::{self, Read, Write};
use std::path::Path;

/// The running checks of one file's bytes.
pub struct Checksum {
    file: RemoteFile,
    raw: Md5,
    raw_len: u64,
    /// The decompressed content's check; None once the bytes cannot be a gzip of the content.
    content: Option<GzDecoder<ContentSink>>,
    /// Bytes came after the end of the gzip stream.
    trailing: bool,
}

/// Where decompressed content goes: its MD5 and length, refusing more than the file holds.
struct ContentSink {
    md5: Md5,
    len: u64,
    limit: u64,
}

impl Write for ContentSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.len += buf.len() as u64;
        if self.len > self.limit {
            return Err(io::Error::other("more content than the file holds"));
        }
        self.md5.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Checksum {
    pub fn new(file: &RemoteFile) -> Checksum {
        Checksum {
            file: *file,
            raw: Md5::new(),
            raw_len: 0,
            content: Some(GzDecoder::new(ContentSink {
                md5: Md5::new(),
                len: 0,
                limit: file.content_size,
            })),
            trailing: false,
        }
    }

    /// Bytes seen so far.
    pub fn len(&self) -> u64 {
        self.raw_len
    }

    /// Whether no bytes were seen.
    pub fn is_empty(&self) -> bool {
        self.raw_len == 0
    }

    /// Takes the next bytes. An error says why the bytes so far cannot be the file, whatever
    /// follows. The published `.gz` is a valid gzip stream of the content, so bytes that are
    /// not one, or decompress to more than the content, are neither copy.
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.raw.update(bytes);
        self.raw_len += bytes.len() as u64;
        if let Some(decoder) = &mut self.content {
            let mut rest = bytes;
            while !rest.is_empty() {
                match decoder.write(rest) {
                    Ok(0) => {
                        self.trailing = true;
                        break;
                    }
                    Ok(n) => rest = &rest[n..],
                    Err(e) => {
                        let why = if decoder.get_ref().len > decoder.get_ref().limit {
                            format!(
                                "decompresses to more than the {} bytes of {}'s content",
                                self.file.content_size, self.file.name
                            )
                        } else {
                            format!("is not a gzip stream ({e})")
                        };
                        self.content = None;
                        return Err(why);
                    }
                }
            }
        }
        if self.trailing && self.raw_len > self.file.gz_size {
            return Err(format!(
                "sent bytes after the end of the gzip stream, {} in all, more than the published {} bytes of {}",
                self.raw_len, self.file.gz_size, self.file.name
            ));
        }
        if self.raw_len > self.file.max_bytes() {
            return Err(format!(
                "sent more than the {} bytes any copy of {} can have",
                self.file.max_bytes(),
                self.file.name
            ));
        }
        Ok(())
    }

    /// Whether the bytes seen are the file: the published `.gz` (its length and MD5), or a
    /// complete gzip stream (trailer checked) whose content has the content's length and MD5.
    pub fn matches(self) -> bool {
        let raw =
            self.raw_len == self.file.gz_size && hex(&self.raw.finalize()) == self.file.gz_md5;
        if raw {
            return true;
        }
        let Some(decoder) = self.content.filter(|_| !self.trailing) else {
            return false;
        };
        let Ok(sink) = decoder.finish() else {
            return false;
        };
        sink.len == self.file.content_size && hex(&sink.md5.finalize()) == self.file.content_md5
    }

    /// The checks over a file's bytes, read in 256 KiB pieces; stops early when they cannot be
    /// the file.
    pub fn of_file(path: &Path, file: &RemoteFile) -> io::Result<Result<Checksum, String>> {
        let mut check = Checksum::new(file);
        let mut f = std::fs::File::open(path)?;
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = f.read(&mut buffer)?;
            if n == 0 {
                return Ok(Ok(check));
            }
            if let Err(why) = check.update(&buffer[..n]) {
                return Ok(Err(why));
            }
        }
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
