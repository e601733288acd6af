//! Pictures: PNG writing, grids of small labelled images (misclassified digits, first-layer
//! weights), chart text. Charts themselves are in [`crate::plot`].

pub mod chart_backend;
pub mod grid;
pub mod text;

use crate::error::{Error, Result};
use image::{codecs::png::PngEncoder, ImageEncoder};
use std::path::Path;

/// Encodes an RGB8 buffer of `size` pixels as PNG.
pub fn png_bytes(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(rgb, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| Error::internal(format!("cannot encode a {w}x{h} PNG: {e}")))?;
    Ok(out)
}

/// Writes an RGB8 buffer as a PNG file, atomically (a half-written PNG never appears).
pub fn write_png(path: &Path, rgb: &[u8], size: (u32, u32)) -> Result<()> {
    crate::fs::write_atomically(path, &png_bytes(rgb, size)?)
}
