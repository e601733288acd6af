//! The IDX file format (LeCun's MNIST format), raw or gzip-compressed.
//!
//! Layout, big-endian: a 4-byte magic `0x0000 TT ND` (TT = 0x08 for u8 data, ND = number of
//! dimensions), ND u32 dimension sizes, then the product of the sizes in u8 values.
//! Images are `0x00000803, count, rows, cols`; labels are `0x00000801, count`.
//!
//! Every size is checked before anything is allocated for it: the payload is read in pieces and
//! a buffer only ever grows by what has actually arrived, so a 16-byte header that claims 2³²
//! images of 65,535×65,535 pixels is an error, not an allocation.

use crate::error::{Error, Result};
use byteorder::{BigEndian, ReadBytesExt};
use flate2::read::GzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Images from an IDX3 file: `count` images of `rows × cols` u8 pixels, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

/// The largest payload gpu-mlp reads from one IDX file (16 GiB).
pub const MAX_PAYLOAD_BYTES: u64 = 16 << 30;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads an IDX3 image file (gzip-compressed or raw, told apart by content, not by name).
pub fn read_images(path: &Path) -> Result<IdxImages> {
    let bytes = open(path)?;
    parse_images(bytes, path)
}

/// Reads an IDX1 label file (gzip-compressed or raw).
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    let bytes = open(path)?;
    parse_labels(bytes, path)
}

/// Parses IDX3 images from any reader; `path` only names the source in errors.
pub fn parse_images(mut r: impl Read, path: &Path) -> Result<IdxImages> {
    let magic = read_u32(&mut r, path, "the magic number")?;
    if magic != IMAGES_MAGIC {
        return Err(bad_magic(path, magic, IMAGES_MAGIC, "an image file"));
    }
    let count = read_u32(&mut r, path, "the image count")? as u64;
    let rows = read_u32(&mut r, path, "the row count")? as u64;
    let cols = read_u32(&mut r, path, "the column count")? as u64;
    if rows == 0 || cols == 0 {
        return Err(Error::bad_data(
            path,
            format!("images of {rows}x{cols} pixels: both dimensions must be at least 1"),
        ));
    }
    let total = count
        .checked_mul(rows)
        .and_then(|v| v.checked_mul(cols))
        .filter(|&v| v <= MAX_PAYLOAD_BYTES)
        .ok_or_else(|| {
            Error::bad_data(
                path,
                format!(
                    "header claims {count} images of {rows}x{cols} pixels, more than the {} GiB gpu-mlp reads from one file",
                    MAX_PAYLOAD_BYTES >> 30
                ),
            )
        })?;
    let pixels = read_payload(
        &mut r,
        total,
        path,
        &format!("{count} images of {rows}x{cols}"),
    )?;
    Ok(IdxImages {
        count: count as usize,
        rows: rows as usize,
        cols: cols as usize,
        pixels,
    })
}

/// Parses IDX1 labels from any reader; `path` only names the source in errors.
pub fn parse_labels(mut r: impl Read, path: &Path) -> Result<Vec<u8>> {
    let magic = read_u32(&mut r, path, "the magic number")?;
    if magic != LABELS_MAGIC {
        return Err(bad_magic(path, magic, LABELS_MAGIC, "a label file"));
    }
    let count = read_u32(&mut r, path, "the label count")? as u64;
    read_payload(&mut r, count, path, &format!("{count} labels"))
}

fn open(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    decompress(BufReader::new(file)).map_err(|e| Error::io(path, e))
}

/// The bytes of an IDX file as they are stored, or gunzipped when they start with gzip's magic
/// number (the format is told by content, never by name).
pub fn decompress<R: BufRead + 'static>(mut reader: R) -> std::io::Result<Box<dyn Read>> {
    let head = reader.fill_buf()?;
    if head.len() >= 2 && head[..2] == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::new(GzDecoder::new(reader))))
    } else {
        Ok(Box::new(reader))
    }
}

fn read_u32(r: &mut impl Read, path: &Path, what: &str) -> Result<u32> {
    r.read_u32::<BigEndian>().map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => Error::bad_data(
            path,
            format!("file ends inside the IDX header, before {what}"),
        ),
        _ => Error::bad_data(path, format!("cannot read {what}: {e}")),
    })
}

fn bad_magic(path: &Path, found: u32, expected: u32, what: &str) -> Error {
    Error::bad_data(
        path,
        format!(
            "not {what} in IDX format: magic number is 0x{found:08x}, expected 0x{expected:08x}"
        ),
    )
}

/// The payload buffer grows by at least the first and at most the second of these at a time
/// (otherwise by what has arrived so far): big files take few reallocations, and a header's
/// false promise costs at most as much again as the data that did arrive.
const GROWTH: (u64, u64) = (64 << 10, 64 << 20);

/// Reads exactly `len` payload bytes and checks that nothing follows them. The buffer grows
/// only by what the reader delivers, never by what the header claims, in exact reservations
/// of [`GROWTH`], so a payload of n bytes ends in a buffer of exactly n bytes rather than the
/// up to 2n a doubling vector can reach.
fn read_payload(r: &mut impl Read, len: u64, path: &Path, what: &str) -> Result<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut got = 0u64;
    while got < len {
        let want = (len - got).min(got.clamp(GROWTH.0, GROWTH.1));
        out.reserve_exact(want as usize);
        let n = r
            .take(want)
            .read_to_end(&mut out)
            .map_err(|e| Error::bad_data(path, format!("cannot read {what}: {e}")))?;
        got += n as u64;
        if (n as u64) < want {
            break;
        }
    }
    if got < len {
        return Err(Error::bad_data(
            path,
            format!("truncated: header promises {what} ({len} bytes) but only {got} bytes follow"),
        ));
    }
    let mut extra = [0u8; 1];
    match r.read(&mut extra) {
        Ok(0) => Ok(out),
        Ok(_) => Err(Error::bad_data(
            path,
            format!("{what} take {len} bytes, but the file holds more data after them"),
        )),
        Err(e) => Err(Error::bad_data(
            path,
            format!("cannot read past {what}: {e}"),
        )),
    }
}
