//! Strided matrix views and C = αC + β·A·B through the `gemm` crate. Views carry row and
//! column strides, so the transposes the backward pass needs (Wᵀ, δᵀ) are free: no copy.

use super::Real;

/// A read-only view of a `rows × cols` matrix inside a slice, element (i, j) at
/// `i*row_stride + j*col_stride`.
#[derive(Clone, Copy)]
pub struct MatRef<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A contiguous row-major `rows × cols` matrix.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, as a view of the same memory.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
                < self.data.len()
    }
}

/// Below this many multiply-adds a product runs on one thread: splitting a small product
/// costs more in synchronisation than it saves.
const PARALLEL_MIN_MACS: usize = 1 << 20;

/// `dst = keep·dst + scale·(a·b)` with `dst` row-major `a.rows × b.cols`; `keep = None`
/// overwrites `dst` (its old content is not read). Uses up to `threads` threads.
pub fn gemm<T: Real>(
    dst: &mut [T],
    keep: Option<T>,
    a: MatRef<T>,
    b: MatRef<T>,
    scale: T,
    threads: usize,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "inner dimensions of a product must agree");
    assert!(
        dst.len() >= m * n && a.fits() && b.fits(),
        "matrix view out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        let keep = keep.unwrap_or(T::zero());
        dst[..m * n].iter_mut().for_each(|v| *v = *v * keep);
        return;
    }
    let parallelism = if threads > 1 && m * n * k >= PARALLEL_MIN_MACS {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: every view was bounds-checked above (`fits`), `dst` holds m×n elements, and `dst`
    // is a unique borrow that cannot alias `a` or `b`. T is f32 or f64 (the `Real` impls),
    // both supported by `gemm`, whose convention is dst := alpha·dst + beta·lhs·rhs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            keep.is_some(),
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            keep.unwrap_or(T::zero()),
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: MatRef<f64>, b: MatRef<f64>) -> Vec<f64> {
        let mut out = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for p in 0..a.cols {
                    out[i * b.cols + j] += a.data[i * a.row_stride + p * a.col_stride]
                        * b.data[p * b.row_stride + j * b.col_stride];
                }
            }
        }
        out
    }

    /// Every transpose combination agrees with a triple loop (f64, exact up to summation
    /// order: 1e-12 relative).
    #[test]
    fn strided_products_match_the_triple_loop() {
        let (m, k, n) = (7, 13, 5);
        let x: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let y: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
        for ta in [false, true] {
            for tb in [false, true] {
                let a = if ta {
                    MatRef::row_major(&x, k, m).t()
                } else {
                    MatRef::row_major(&x, m, k)
                };
                let b = if tb {
                    MatRef::row_major(&y, n, k).t()
                } else {
                    MatRef::row_major(&y, k, n)
                };
                let mut dst = vec![1.0; m * n];
                gemm(&mut dst, Some(2.0), a, b, 0.5, 2);
                let want = naive(a, b);
                for (d, w) in dst.iter().zip(&want) {
                    assert!((d - (2.0 + 0.5 * w)).abs() < 1e-12);
                }
            }
        }
    }
}
