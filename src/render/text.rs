//! Text on bitmaps: glyphs of the DejaVu Sans font shipped in assets/fonts (its licence beside
//! it), laid out and rasterised by ab_glyph. Used for chart labels and image-grid captions, so
//! that pictures look the same on every machine whatever fonts it has installed.

use crate::error::{Error, Result};
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use std::sync::OnceLock;

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn font() -> Result<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
        .ok_or_else(|| Error::config("the built-in font assets/fonts/DejaVuSans.ttf is not a font"))
}

/// A laid-out line of text: its size in pixels and where the baseline sits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextBox {
    pub width: u32,
    pub height: u32,
    /// Pixels from the top of the box to the baseline.
    pub ascent: f32,
}

/// The box `text` takes at `size` pixels (the font's ascent-to-descent height).
pub fn measure(text: &str, size: f32) -> Result<TextBox> {
    let f = font()?.as_scaled(PxScale::from(size));
    let mut x = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = previous {
            x += f.kern(p, id);
        }
        x += f.h_advance(id);
        previous = Some(id);
    }
    Ok(TextBox {
        width: x.ceil() as u32,
        height: (f.ascent() - f.descent()).ceil() as u32,
        ascent: f.ascent(),
    })
}

/// Rasterises `text` at `size` pixels with the box's top-left corner at (0, 0); `plot` gets each
/// covered pixel (which may lie a little outside the measured box) and its coverage in (0, 1].
pub fn rasterise(text: &str, size: f32, mut plot: impl FnMut(i32, i32, f32)) -> Result<()> {
    let font = font()?;
    let f = font.as_scaled(PxScale::from(size));
    let mut x = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = previous {
            x += f.kern(p, id);
        }
        let glyph = id.with_scale_and_position(size, ab_glyph::point(x, f.ascent()));
        x += f.h_advance(id);
        previous = Some(id);
        if let Some(outlined) = font.outline_glyph(glyph) {
            let b = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                if coverage > 0.0 {
                    plot(
                        b.min.x as i32 + gx as i32,
                        b.min.y as i32 + gy as i32,
                        coverage.min(1.0),
                    );
                }
            });
        }
    }
    Ok(())
}

/// Draws `text` onto an RGB8 buffer `width` pixels wide, top-left corner at (x, y), blending
/// `color` by coverage; pixels outside the buffer are skipped.
pub fn draw_on_rgb(
    buffer: &mut [u8],
    width: u32,
    (x, y): (i32, i32),
    text: &str,
    size: f32,
    color: [u8; 3],
) -> Result<()> {
    let height = (buffer.len() / 3) as i64 / i64::from(width.max(1));
    rasterise(text, size, |px, py, coverage| {
        let (px, py) = (x + px, y + py);
        if px < 0 || py < 0 || px as u32 >= width || i64::from(py) >= height {
            return;
        }
        let i = (py as usize * width as usize + px as usize) * 3;
        for (channel, &c) in buffer[i..i + 3].iter_mut().zip(&color) {
            let blended = f32::from(*channel) * (1.0 - coverage) + f32::from(c) * coverage;
            *channel = blended.round() as u8;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_has_a_size_and_ink() {
        let b = measure("7→2", 20.0).unwrap();
        assert!(b.width > 20 && b.height >= 20, "{b:?}");
        let mut covered = 0;
        rasterise("7→2", 20.0, |_, _, _| covered += 1).unwrap();
        assert!(covered > 50, "{covered}");
    }
}
