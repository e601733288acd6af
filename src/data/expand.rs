//! The textbook's expanded training set: every training image followed by its four one-pixel
//! shifts (up, down, left, right; the row or column shifted in is blank), so MNIST's 50,000
//! training images become 250,000. Generated from the shipped files at run time rather than
//! stored: `gpu-mlp expand-data --out DIR` writes IDX files that `train --data-dir DIR` reads.
//!
//! The output's training file holds the expanded images first and then the last
//! `validation` images of the source unchanged, so the usual split (`--train-size 250000
//! --validation-size 10000`) trains on the expanded set and validates on untouched images.

use super::{find, load_pair, Dataset};
use crate::error::{Error, Result};
use crate::fs::write_atomically_with;
use std::io::Write;
use std::path::Path;

/// (Δrow, Δcol) of the four shifts, in the order they follow each image.
pub const SHIFTS: [(isize, isize); 4] = [(-1, 0), (1, 0), (0, -1), (0, 1)];

/// `image` (rows × cols) moved by (dy, dx) pixels into `out`; pixels moved in from outside are 0.
pub fn shift(image: &[u8], rows: usize, cols: usize, (dy, dx): (isize, isize), out: &mut [u8]) {
    for r in 0..rows {
        for c in 0..cols {
            let (sr, sc) = (r as isize - dy, c as isize - dx);
            out[r * cols + c] =
                if (0..rows as isize).contains(&sr) && (0..cols as isize).contains(&sc) {
                    image[sr as usize * cols + sc as usize]
                } else {
                    0
                };
        }
    }
}

/// How many images the expanded training file holds for a source of `n` training images of
/// which the last `validation` validate.
pub fn expanded_len(n: usize, validation: usize) -> usize {
    (n - validation) * (1 + SHIFTS.len()) + validation
}

/// Writes the expanded training set of `source_dir` and a copy of its test set to `out_dir`,
/// keeping the last `validation` training images as they are. Returns the number of training
/// images written. Files are streamed, and each appears whole or not at all.
pub fn expand_dir(source_dir: &Path, out_dir: &Path, validation: usize) -> Result<usize> {
    let images = find(source_dir, "train-images-idx3-ubyte")?;
    let labels = find(source_dir, "train-labels-idx1-ubyte")?;
    let set = load_pair(&images, &labels)?;
    if validation > set.len() {
        return Err(Error::config(format!(
            "--validation-size {validation} is more than the {} images in {}",
            set.len(),
            images.display()
        )));
    }
    let same_dir = match (
        std::fs::canonicalize(source_dir),
        std::fs::canonicalize(out_dir),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same_dir {
        return Err(Error::config(format!(
            "--out {} is the directory the data set is read from; expand-data would replace its training files: choose another directory",
            out_dir.display()
        )));
    }
    let test_files = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        .map(|stem| find(source_dir, stem))
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let test_outputs: Vec<_> = test_files
        .iter()
        .map(|from| out_dir.join(from.file_name().unwrap_or_default()))
        .collect();
    // Every output checked before the expansion is written (`outputs`).
    let mut outputs = crate::outputs::Outputs::new().fills_dir("--out", Some(out_dir));
    for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
        outputs = outputs.writes("--out", Some(&out_dir.join(name)));
    }
    for p in &test_outputs {
        outputs = outputs.writes("--out", Some(p));
    }
    outputs.check()?;
    // The readers prefer NAME.gz to NAME: an older compressed copy must not shadow the new one.
    for stem in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
        let stale = out_dir.join(format!("{stem}.gz"));
        if stale.is_file() {
            std::fs::remove_file(&stale).map_err(|e| Error::io(&stale, e))?;
        }
    }
    let total = expanded_len(set.len(), validation);
    let count = u32::try_from(total).map_err(|_| {
        Error::config(format!(
            "the expanded set would hold {total} images, more than an IDX file can count"
        ))
    })?;
    write_atomically_with(&out_dir.join("train-images-idx3-ubyte"), |w| {
        write_images(w, &set, validation, count)
    })?;
    write_atomically_with(&out_dir.join("train-labels-idx1-ubyte"), |w| {
        w.write_all(&0x0000_0801u32.to_be_bytes())?;
        w.write_all(&count.to_be_bytes())?;
        let keep = set.len() - validation;
        for &label in &set.labels[..keep] {
            w.write_all(&[label; 1 + SHIFTS.len()])?;
        }
        w.write_all(&set.labels[keep..])
    })?;
    for (from, to) in test_files.iter().zip(&test_outputs) {
        let bytes = std::fs::read(from).map_err(|e| Error::io(from, e))?;
        write_atomically_with(to, |w| w.write_all(&bytes))?;
    }
    Ok(total)
}

fn write_images(
    w: &mut dyn Write,
    set: &Dataset,
    validation: usize,
    count: u32,
) -> std::io::Result<()> {
    for v in [0x0000_0803, count, set.rows as u32, set.cols as u32] {
        w.write_all(&v.to_be_bytes())?;
    }
    let keep = set.len() - validation;
    let mut moved = vec![0u8; set.pixels()];
    for i in 0..keep {
        let image = set.image(i);
        w.write_all(image)?;
        for s in SHIFTS {
            shift(image, set.rows, set.cols, s, &mut moved);
            w.write_all(&moved)?;
        }
    }
    for i in keep..set.len() {
        w.write_all(set.image(i))?;
    }
    Ok(())
}
