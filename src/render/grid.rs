//! A grid of small square images, each enlarged and captioned underneath: misclassified test
//! digits ("7→2": truth→prediction) or a layer's weights (one tile per unit).
//!
//! The layout is fixed and public so that tests can find each tile's pixels.

use super::text;
use crate::error::{Error, Result};

/// One captioned tile: `side × side` RGB8 pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Tile {
    pub rgb: Vec<u8>,
    pub caption: String,
}

impl Tile {
    /// A tile from grey-level pixels (0 black, 255 white), shown as they are.
    pub fn from_gray(pixels: &[u8], caption: impl Into<String>) -> Tile {
        Tile {
            rgb: pixels.iter().flat_map(|&p| [p, p, p]).collect(),
            caption: caption.into(),
        }
    }

    /// A tile from signed values on a diverging scale: 0 white, +max full red, −max full blue,
    /// `max` being the largest magnitude among `values`.
    pub fn from_signed(values: &[f32], caption: impl Into<String>) -> Tile {
        let max = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let rgb = values
            .iter()
            .flat_map(|&v| {
                let t = if max > 0.0 {
                    (v / max).clamp(-1.0, 1.0)
                } else {
                    0.0
                };
                let fade = |t: f32| (255.0 * (1.0 - t.abs())).round() as u8;
                if t >= 0.0 {
                    [255, fade(t), fade(t)]
                } else {
                    [fade(t), fade(t), 255]
                }
            })
            .collect();
        Tile {
            rgb,
            caption: caption.into(),
        }
    }
}

/// Where each tile goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridLayout {
    /// Pixels per side of a source tile (28 for MNIST).
    pub side: u32,
    /// Each source pixel becomes `scale × scale` pixels.
    pub scale: u32,
    pub columns: u32,
    pub rows: u32,
    /// Height of the caption band under each tile.
    pub caption_height: u32,
    /// Space around and between tiles.
    pub gap: u32,
}

/// Caption text size in pixels.
const CAPTION_SIZE: f32 = 15.0;

impl GridLayout {
    /// The layout for `count` tiles of `side` pixels: up to 10 columns, each pixel shown 3x3.
    pub fn for_tiles(count: usize, side: u32) -> GridLayout {
        let columns = count.clamp(1, 10) as u32;
        GridLayout {
            side,
            scale: 3,
            columns,
            rows: (count.max(1) as u32).div_ceil(columns),
            caption_height: 20,
            gap: 8,
        }
    }

    /// The picture's width and height.
    pub fn size(&self) -> (u32, u32) {
        let tile = self.side * self.scale;
        (
            self.gap + self.columns * (tile + self.gap),
            self.gap + self.rows * (tile + self.caption_height + self.gap),
        )
    }

    /// The top-left corner of tile `i`'s image (row-major order).
    pub fn origin(&self, i: usize) -> (u32, u32) {
        let tile = self.side * self.scale;
        let (c, r) = (i as u32 % self.columns, i as u32 / self.columns);
        (
            self.gap + c * (tile + self.gap),
            self.gap + r * (tile + self.caption_height + self.gap),
        )
    }
}

/// Renders `tiles` into an RGB8 buffer on a white background; returns it and its size.
pub fn render(tiles: &[Tile], layout: &GridLayout) -> Result<(Vec<u8>, (u32, u32))> {
    let (w, h) = layout.size();
    let side = layout.side as usize;
    let mut buffer = vec![255u8; w as usize * h as usize * 3];
    for (i, tile) in tiles.iter().enumerate() {
        if tile.rgb.len() != side * side * 3 {
            return Err(Error::config(format!(
                "tile {i} has {} bytes, expected {side}x{side} RGB pixels",
                tile.rgb.len()
            )));
        }
        let (ox, oy) = layout.origin(i);
        for y in 0..side * layout.scale as usize {
            for x in 0..side * layout.scale as usize {
                let s = ((y / layout.scale as usize) * side + x / layout.scale as usize) * 3;
                let d = ((oy as usize + y) * w as usize + ox as usize + x) * 3;
                buffer[d..d + 3].copy_from_slice(&tile.rgb[s..s + 3]);
            }
        }
        let tile_px = layout.side * layout.scale;
        let b = text::measure(&tile.caption, CAPTION_SIZE)?;
        let x = ox as i32 + (tile_px as i32 - b.width as i32) / 2;
        let y = (oy + tile_px) as i32 + (layout.caption_height as i32 - b.height as i32) / 2;
        text::draw_on_rgb(
            &mut buffer,
            w,
            (x, y),
            &tile.caption,
            CAPTION_SIZE,
            [0, 0, 0],
        )?;
    }
    Ok((buffer, (w, h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_land_where_the_layout_says() {
        let tiles: Vec<Tile> = (0..12)
            .map(|i| Tile::from_gray(&[i as u8 * 20; 4], format!("{i}")))
            .collect();
        let layout = GridLayout::for_tiles(tiles.len(), 2);
        assert_eq!((layout.columns, layout.rows), (10, 2));
        let (rgb, (w, _)) = render(&tiles, &layout).unwrap();
        for (i, _) in tiles.iter().enumerate() {
            let (x, y) = layout.origin(i);
            let p = ((y * w + x) * 3) as usize;
            assert_eq!(rgb[p], i as u8 * 20);
        }
    }

    #[test]
    fn signed_tiles_are_red_for_positive_blue_for_negative() {
        let t = Tile::from_signed(&[1.0, -0.5, 0.0, -1.0], "");
        assert_eq!(&t.rgb[0..3], &[255, 0, 0]);
        assert_eq!(&t.rgb[3..6], &[128, 128, 255]);
        assert_eq!(&t.rgb[6..9], &[255, 255, 255]);
        assert_eq!(&t.rgb[9..12], &[0, 0, 255]);
    }
}
