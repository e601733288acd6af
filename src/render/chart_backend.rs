//! A plotters drawing backend for charts: plotters' RGB bitmap backend for lines, shapes and
//! fills, with text drawn by [`super::text`] from the built-in font (plotters' own text needs
//! system fonts through fontconfig, which a bare machine may not have).

use super::text;
use plotters::prelude::{BitMapBackend, DrawingBackend};
use plotters_backend::{
    text_anchor::{HPos, VPos},
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};
use plotters_bitmap::BitMapBackendError;

/// An RGB bitmap backend that renders text with the built-in font.
pub struct ChartBackend<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> ChartBackend<'a> {
    /// Draws into `buffer`, `size.0 × size.1` RGB8 pixels.
    pub fn new(buffer: &'a mut [u8], size: (u32, u32)) -> Self {
        ChartBackend {
            inner: BitMapBackend::with_buffer(buffer, size),
        }
    }
}

type Drawn = Result<(), DrawingErrorKind<BitMapBackendError>>;

fn font_error(e: crate::error::Error) -> DrawingErrorKind<BitMapBackendError> {
    DrawingErrorKind::FontError(Box::new(e))
}

impl DrawingBackend for ChartBackend<'_> {
    type ErrorType = BitMapBackendError;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Drawn {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Drawn {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Drawn {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Drawn {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Drawn {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Drawn {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Drawn {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Drawn {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Drawn {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<T: BackendTextStyle>(
        &self,
        text: &str,
        style: &T,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let b = text::measure(text, style.size() as f32).map_err(font_error)?;
        Ok((b.width, b.height))
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Drawn {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let size = style.size() as f32;
        let b = text::measure(text, size).map_err(font_error)?;
        let (w, h) = (b.width as i32, b.height as i32);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Center => -w / 2,
            HPos::Right => -w,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -h / 2,
            VPos::Bottom => -h,
        };
        let transform = style.transform();
        let mut pixels = Vec::new();
        text::rasterise(text, size, |x, y, coverage| pixels.push((x, y, coverage)))
            .map_err(font_error)?;
        for (x, y, coverage) in pixels {
            let (tx, ty) = transform.transform(x + dx, y + dy);
            self.inner.draw_pixel(
                (pos.0 + tx, pos.1 + ty),
                BackendColor {
                    alpha: color.alpha * f64::from(coverage),
                    rgb: color.rgb,
                },
            )?;
        }
        Ok(())
    }
}
