//! Bounding the work of one dispatch. A display GPU's watchdog resets the device when one
//! dispatch runs too long (Windows' TDR after about 2 s), and one multiply of a wide layer over
//! a large batch can: the gradient product, for one, sums the whole batch inside each
//! invocation. So a product of more than [`MAX_DISPATCH_MACS`] multiply-adds runs as several
//! dispatches, each a band of whole workgroup rows of the same grid: the dispatch that starts
//! at workgroup row r reads r from its chunk record (step.wgsl's `Chunk`) and adds it to
//! `workgroup_id.y`. Every result is still computed by one invocation summing in the same order,
//! so splitting changes no bit of any result (tests/gpu_determinism.rs trains with every
//! product split and compares).
//!
//! The chunk records live in one small uniform buffer, one record per distinct first row,
//! [`ChunkTable`]; every dispatch binds the record of its first row at a dynamic offset (the
//! record of row 0 for a dispatch that covers its whole grid).

use super::context::GpuContext;
use super::layout::{record_stride, records_buffer, ChunkRecord, CHUNK_BYTES};
use super::multiply::Multiply;
use crate::error::{Error, Result};

/// The most multiply-adds one dispatch may do: 2³¹ (4.3 GFLOP) is well under a tenth of a
/// second on any GPU of the last decade at the multiply kernels' speeds, against a watchdog of
/// about 2 s. Products below it (every one of the benchmark networks' at their batch sizes)
/// stay one dispatch.
pub const MAX_DISPATCH_MACS: u64 = 1 << 31;

/// One dispatch of a product: workgroup rows `group_offset..group_offset + grid[1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub group_offset: u32,
    pub grid: [u32; 3],
}

/// The dispatches of the product C[M,N] = Σ_k A·B with `m` = M, `n` = N and `k` = K through
/// `multiply`, each at most `max_macs` multiply-adds (and at least one workgroup row).
pub(crate) fn split(multiply: Multiply, m: usize, n: usize, k: usize, max_macs: u64) -> Vec<Chunk> {
    let grid = multiply.grid(m, n);
    let rows = grid[1];
    // One workgroup row of the grid covers `rows_per_group` rows of C, all N columns, all K.
    let per_row = multiply.rows_per_group() as u64 * n.max(1) as u64 * k.max(1) as u64;
    let band = (max_macs / per_row).clamp(1, rows as u64) as u32;
    (0..rows.div_ceil(band))
        .map(|c| {
            let first = c * band;
            Chunk {
                group_offset: first,
                grid: [grid[0], band.min(rows - first), grid[2]],
            }
        })
        .collect()
}

/// The chunk records on the device: one per distinct first workgroup row in use, `stride`
/// bytes apart (the dynamic-offset alignment).
pub(crate) struct ChunkTable {
    offsets: Vec<u32>,
    pub buffer: wgpu::Buffer,
    capacity: usize,
    stride: u64,
}

impl ChunkTable {
    /// A table holding the record of row 0.
    pub fn new(ctx: &GpuContext) -> ChunkTable {
        let stride = record_stride(ctx);
        let mut table = ChunkTable {
            offsets: Vec::new(),
            buffer: records_buffer(ctx, "chunk records", 1, stride),
            capacity: 1,
            stride,
        };
        table.include(ctx, [0]);
        table
    }

    /// Adds a record for each first row in `offsets` not yet in the table. True when the
    /// buffer was replaced by a larger one (bind groups over it must then be built again).
    pub fn include(&mut self, ctx: &GpuContext, offsets: impl IntoIterator<Item = u32>) -> bool {
        let before = self.offsets.len();
        for o in offsets {
            if !self.offsets.contains(&o) {
                self.offsets.push(o);
            }
        }
        let added = self.offsets.len() > before;
        let grown = self.offsets.len() > self.capacity;
        if grown {
            self.capacity = self.offsets.len().next_power_of_two();
            self.buffer = records_buffer(ctx, "chunk records", self.capacity, self.stride);
        }
        if added || grown {
            let stride = self.stride as usize;
            let mut bytes = vec![0u8; self.offsets.len() * stride];
            for (i, &o) in self.offsets.iter().enumerate() {
                let record = ChunkRecord {
                    group_offset: o,
                    ..ChunkRecord::default()
                };
                bytes[i * stride..i * stride + CHUNK_BYTES as usize]
                    .copy_from_slice(bytemuck::bytes_of(&record));
            }
            ctx.queue.write_buffer(&self.buffer, 0, &bytes);
        }
        grown
    }

    /// The dynamic offset of the record of first row `group_offset`.
    pub fn dynamic_offset(&self, group_offset: u32) -> Result<u32> {
        match self.offsets.iter().position(|&o| o == group_offset) {
            Some(i) => Ok((i as u64 * self.stride) as u32),
            None => Err(Error::internal(format!(
                "no chunk record for workgroup row {group_offset} was written"
            ))),
        }
    }
}

/// The split covers each product's grid exactly once, in bands within the bound.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_the_grid_once_within_the_bound() {
        for multiply in Multiply::ALL {
            for &(m, n, k) in &[(1, 1, 1), (1025, 30, 7), (256, 1025, 1024), (7, 1, 65535)] {
                for max in [1u64, 1000, 1 << 20, MAX_DISPATCH_MACS] {
                    let grid = multiply.grid(m, n);
                    let chunks = split(multiply, m, n, k, max);
                    let mut next = 0;
                    for c in &chunks {
                        assert_eq!(c.group_offset, next);
                        assert_eq!((c.grid[0], c.grid[2]), (grid[0], grid[2]));
                        assert!(c.grid[1] >= 1);
                        let macs = c.grid[1] as u64
                            * multiply.rows_per_group() as u64
                            * n as u64
                            * k as u64;
                        assert!(c.grid[1] == 1 || macs <= max, "{multiply:?} {m}x{n}x{k}");
                        next += c.grid[1];
                    }
                    assert_eq!(next, grid[1], "{multiply:?} {m}x{n}x{k} max {max}");
                }
            }
        }
    }

    #[test]
    fn a_small_product_is_one_dispatch() {
        let chunks = split(Multiply::Tiled, 10, 30, 784, MAX_DISPATCH_MACS);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].group_offset, 0);
    }
}
