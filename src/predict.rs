//! Your own digit images made to look like MNIST, and classified.
//!
//! MNIST's digits were size-normalised to fit a 20x20 box (keeping their aspect ratio, with
//! anti-aliasing) and then centred in a 28x28 field by their centre of mass; ink is light on a
//! dark background. [`mnist_style`] does the same to any picture: grey levels, the background
//! found from the border and made dark (inverting dark-on-light drawings), faint noise dropped,
//! the ink's bounding box scaled into 20x20, then placed so that its centre of mass is at the
//! field's centre.

use crate::checkpoint::Checkpoint;
use crate::config::Output;
use crate::cpu::activation::argmax;
use crate::cpu::backprop::{forward, Workspace};
use crate::error::{Error, Result};
use image::imageops::FilterType;
use image::{ImageBuffer, Luma};
use std::path::Path;

/// The side of an MNIST image.
pub const SIDE: usize = 28;
/// The side of the box the digit is scaled into.
pub const BOX: u32 = 20;
/// The most pixels a picture given to `predict` may have (a 40-megapixel photo).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The most pixels one byte of a PNG or JPEG can stand for (deflate expands a byte at most
/// 1032-fold, into 8 one-bit pixels each; a JPEG block costs at least a few bits).
pub const MAX_PIXELS_PER_BYTE: u64 = 10_000;
/// Grey levels (0..1, after the background is removed) below this count as background.
const NOISE: f32 = 0.1;
/// Grey levels above this count as ink when finding the digit's bounding box.
const INK: f32 = 0.25;

/// A picture read from a file as grey levels in [0, 1] (0 black, 1 white), transparent parts
/// shown over white paper.
#[derive(Clone, Debug, PartialEq)]
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

impl Gray {
    /// Reads a PNG or JPEG (told apart by content).
    pub fn open(path: &Path) -> Result<Gray> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Gray::from_bytes(&bytes, path)
    }

    /// Decodes PNG or JPEG bytes; `origin` only names the source in errors. The size in the
    /// header is checked before anything is decoded: at most [`MAX_PIXELS`], and no more than
    /// [`MAX_PIXELS_PER_BYTE`] per byte of the file, so a few bytes claiming a huge picture
    /// are an error, not an allocation.
    pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<Gray> {
        // The decoders' messages can span lines; errors are one line.
        let unreadable = |e: &dyn std::fmt::Display| {
            let e = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            Error::bad_data(
                origin,
                format!("cannot read it as a PNG or JPEG image ({e})"),
            )
        };
        let reader = || {
            image::ImageReader::new(std::io::Cursor::new(bytes))
                .with_guessed_format()
                .map_err(|e| Error::io(origin, e))
        };
        let (w, h) = reader()?.into_dimensions().map_err(|e| unreadable(&e))?;
        let pixels = w as u64 * h as u64;
        let justified = (bytes.len() as u64).saturating_mul(MAX_PIXELS_PER_BYTE);
        if pixels > MAX_PIXELS || pixels > justified {
            return Err(Error::bad_data(
                origin,
                format!(
                    "the image claims {w}x{h} pixels; predict reads at most {} megapixels, and a {}-byte file cannot hold more than {justified}: scale it down, or the file is damaged",
                    MAX_PIXELS / 1_000_000,
                    bytes.len()
                ),
            ));
        }
        let decoded = reader()?.decode().map_err(|e| unreadable(&e))?;
        // Pixel by pixel, so no second whole copy of the picture is made.
        use image::GenericImageView;
        let values = decoded
            .pixels()
            .map(|(_, _, p)| {
                let [r, g, b, a] = p.0.map(|c| c as f32 / 255.0);
                let luma = 0.299 * r + 0.587 * g + 0.114 * b;
                (luma * a + (1.0 - a)).clamp(0.0, 1.0)
            })
            .collect();
        Ok(Gray {
            width: decoded.width() as usize,
            height: decoded.height() as usize,
            values,
        })
    }

    /// The median grey level of the outermost ring of pixels.
    fn border_median(&self) -> f32 {
        let (w, h) = (self.width, self.height);
        let mut border: Vec<f32> = (0..w)
            .flat_map(|x| [self.values[x], self.values[(h - 1) * w + x]])
            .chain((0..h).flat_map(|y| [self.values[y * w], self.values[y * w + w - 1]]))
            .collect();
        border.sort_by(f32::total_cmp);
        border[border.len() / 2]
    }
}

/// How a picture was turned into an MNIST-style image.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    /// 28x28 grey levels, 0 background, 255 full ink, row-major.
    pub pixels: Vec<u8>,
    /// Whether the picture was dark ink on light paper and was inverted.
    pub inverted: bool,
    /// The ink's bounding box in the picture: x, y, width, height.
    pub ink_box: (usize, usize, usize, usize),
}

/// Makes `picture` look like an MNIST digit (see the module documentation).
pub fn mnist_style(picture: &Gray, origin: &Path) -> Result<Prepared> {
    if picture.width < 2 || picture.height < 2 {
        return Err(Error::bad_data(
            origin,
            format!(
                "the image is {}x{} pixels; a digit needs at least 2x2",
                picture.width, picture.height
            ),
        ));
    }
    let background = picture.border_median();
    let inverted = background > 0.5;
    let mut v: Vec<f32> = picture
        .values
        .iter()
        .map(|&g| if inverted { 1.0 - g } else { g })
        .collect();
    let bg = if inverted {
        1.0 - background
    } else {
        background
    };
    let peak = v.iter().copied().fold(0.0, f32::max);
    if peak - bg < 0.2 {
        return Err(Error::bad_data(
            origin,
            "finds no digit: the ink hardly differs from the background",
        ));
    }
    for g in v.iter_mut() {
        let level = ((*g - bg) / (peak - bg)).clamp(0.0, 1.0);
        *g = if level < NOISE { 0.0 } else { level };
    }
    let (w, h) = (picture.width, picture.height);
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if v[y * w + x] > INK {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    if x0 > x1 {
        return Err(Error::bad_data(origin, "finds no digit in the image"));
    }
    let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
    let crop = ImageBuffer::<Luma<f32>, Vec<f32>>::from_fn(bw as u32, bh as u32, |x, y| {
        Luma([v[(y0 + y as usize) * w + x0 + x as usize]])
    });
    // The longer side becomes 20 pixels, the shorter one keeps the aspect ratio.
    let scale = BOX as f64 / bw.max(bh) as f64;
    let nw = ((bw as f64 * scale).round() as u32).clamp(1, BOX);
    let nh = ((bh as f64 * scale).round() as u32).clamp(1, BOX);
    let small = image::imageops::resize(&crop, nw, nh, FilterType::Lanczos3);
    let patch: Vec<f32> = small.pixels().map(|p| p.0[0].clamp(0.0, 1.0)).collect();
    let mass: f32 = patch.iter().sum();
    let (mut cx, mut cy) = (0.0f32, 0.0f32);
    for (i, &p) in patch.iter().enumerate() {
        cx += (i % nw as usize) as f32 * p;
        cy += (i / nw as usize) as f32 * p;
    }
    let (cx, cy) = if mass > 0.0 {
        (cx / mass, cy / mass)
    } else {
        ((nw as f32 - 1.0) / 2.0, (nh as f32 - 1.0) / 2.0)
    };
    // The field's centre in pixel-index coordinates is 13.5; the patch stays inside the field.
    let centre = (SIDE as f32 - 1.0) / 2.0;
    let ox = ((centre - cx).round() as i64).clamp(0, (SIDE as u32 - nw) as i64) as usize;
    let oy = ((centre - cy).round() as i64).clamp(0, (SIDE as u32 - nh) as i64) as usize;
    let mut pixels = vec![0u8; SIDE * SIDE];
    for (i, &p) in patch.iter().enumerate() {
        let (x, y) = (ox + i % nw as usize, oy + i / nw as usize);
        pixels[y * SIDE + x] = (p * 255.0).round() as u8;
    }
    Ok(Prepared {
        pixels,
        inverted,
        ink_box: (x0, y0, bw, bh),
    })
}

/// The network's answer for one image.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The arg-max class.
    pub class: usize,
    /// Class probabilities: the softmax output, or the sigmoid outputs scaled to sum to 1.
    pub probabilities: Vec<f64>,
    /// The output layer's activations as the network computed them.
    pub outputs: Vec<f64>,
}

/// Runs 784-pixel images (0..255) through the checkpoint's network on the CPU reference.
pub fn classify(ck: &Checkpoint, images: &[Vec<u8>]) -> Result<Vec<Prediction>> {
    let inputs = ck.network.layers[0];
    let classes = *ck.network.layers.last().unwrap_or(&0);
    if let Some(bad) = images.iter().find(|i| i.len() != inputs) {
        return Err(Error::config(format!(
            "the model takes {inputs} pixels per image, the image has {}",
            bad.len()
        )));
    }
    let layers = crate::cpu::layer_refs(&ck.params);
    let m = images.len();
    if m == 0 {
        return Ok(Vec::new());
    }
    let mut ws = Workspace::<f32>::new(&ck.network.layers, m);
    for (row, image) in ws.input_mut(m).chunks_exact_mut(inputs).zip(images) {
        for (v, &p) in row.iter_mut().zip(image) {
            *v = f32::from(p) / 255.0;
        }
    }
    forward(&layers, ck.network.output, &mut ws, m, 1);
    Ok(ws
        .output(m)
        .chunks_exact(classes)
        .map(|a| {
            let outputs: Vec<f64> = a.iter().map(|&x| f64::from(x)).collect();
            let probabilities = match ck.network.output {
                Output::Softmax => outputs.clone(),
                Output::Sigmoid => {
                    let sum: f64 = outputs.iter().sum();
                    outputs
                        .iter()
                        .map(|o| o / sum.max(f64::MIN_POSITIVE))
                        .collect()
                }
            };
            Prediction {
                class: argmax(a),
                probabilities,
                outputs,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(width: usize, height: usize, f: impl Fn(usize, usize) -> f32) -> Gray {
        Gray {
            width,
            height,
            values: (0..width * height)
                .map(|i| f(i % width, i / width))
                .collect(),
        }
    }

    #[test]
    fn dark_ink_on_white_is_inverted_boxed_and_centred() {
        // A thick black bar, off-centre, on white paper.
        let picture = gray(100, 60, |x, y| {
            if (10..20).contains(&x) && (5..55).contains(&y) {
                0.0
            } else {
                1.0
            }
        });
        let p = mnist_style(&picture, Path::new("bar")).unwrap();
        assert!(p.inverted);
        assert_eq!(p.ink_box, (10, 5, 10, 50));
        // The bar is 50 tall: it becomes 20 tall and 4 wide, centred.
        let rows: Vec<usize> = (0..SIDE)
            .filter(|y| p.pixels[y * SIDE..(y + 1) * SIDE].iter().any(|&v| v > 128))
            .collect();
        assert_eq!(rows.len(), 20, "{rows:?}");
        assert!(rows[0] >= 3 && *rows.last().unwrap() <= 24);
        let cols: Vec<usize> = (0..SIDE)
            .filter(|x| (0..SIDE).any(|y| p.pixels[y * SIDE + x] > 128))
            .collect();
        let mid = (cols[0] + cols[cols.len() - 1]) as f32 / 2.0;
        assert!((mid - 13.5).abs() <= 1.0, "{cols:?}");
    }

    #[test]
    fn a_blank_image_is_an_error() {
        let blank = gray(30, 30, |_, _| 1.0);
        let e = mnist_style(&blank, Path::new("blank.png")).unwrap_err();
        assert!(e.to_string().contains("blank.png"), "{e}");
    }
}
