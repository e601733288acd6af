//! Several steps' input batches gathered by one dispatch.
//!
//! A training step's first dispatch gathers its mini-batch into the input activations
//! (gather.wgsl), which its forward product and its first layer's gradient product then read.
//! On llvmpipe a dispatch has a fixed cost (its worker threads woken and waited for) larger
//! than a gather's work (an empty gather dispatch cost as much as a full one; BENCHMARKS.md),
//! and on a real GPU a small network's step is dispatch latency. So where the activation
//! buffer has room, one gather dispatch fills the batches of up to [`GATHER_STEPS`]
//! consecutive steps ([`GATHER_BYTES`] of them at most): step j of the run's chunk
//! writes its rows from row j·slot_rows of each member's block ("slot" j), and that step's
//! layer-0 forward and gradient products read them through a bind group whose binding of the
//! buffer starts j·slot_rows rows in. Every member's block moves by the same rows, so the
//! kernels, their indexing and their sums are the ones of a step with its own gather: the
//! same floats in the same order, the same bits.

use super::context::GpuContext;
use super::groups::{forward_group, update_group};
use super::kernels::Kernels;
use super::trainer::DeviceBuffers;
use crate::error::Result;

/// The most steps whose batches one gather dispatch fills.
pub(crate) const GATHER_STEPS: usize = 32;
/// The most bytes those batches take together, all members': a few MiB, about what a CPU
/// keeps in cache for llvmpipe's products to read back (8 nielsen members trained no faster
/// or slower with 1 MiB or 32 MiB here; BENCHMARKS.md).
pub(crate) const GATHER_BYTES: u64 = 4 << 20;

/// Where consecutive steps' batches of `rows` rows of `inputs` floats sit in blocks of
/// `capacity` rows: `slot_rows` rows apart (at least `rows`, and a whole number of the
/// device's `align` bytes of binding offset apart), `count` of them (1: no room, or one step
/// a gather).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotPlan {
    pub slot_rows: usize,
    pub count: usize,
}

impl SlotPlan {
    /// The plan for batches of `rows` rows; `max_groups_z`: the device's workgroups per
    /// dimension (a gather's grid has members × count z layers).
    pub fn new(
        rows: usize,
        capacity: usize,
        inputs: usize,
        align: u64,
        members: usize,
        max_groups_z: u32,
    ) -> SlotPlan {
        let row_bytes = (inputs.max(1) * 4) as u64;
        // The fewest rows whose bytes are a multiple of the alignment.
        let align = align.max(4);
        let step = (align / gcd(align, row_bytes)) as usize;
        let slot_rows = rows.max(1).next_multiple_of(step);
        let by_z = (max_groups_z as usize / members.max(1)).max(1);
        let slot_bytes = members.max(1) as u64 * slot_rows as u64 * row_bytes;
        let by_bytes = (GATHER_BYTES / slot_bytes).max(1) as usize;
        let count = (capacity / slot_rows)
            .clamp(1, GATHER_STEPS)
            .min(by_z)
            .min(by_bytes);
        SlotPlan { slot_rows, count }
    }

    /// Byte offset of slot `j` in the activation buffer of `inputs`-float rows.
    pub fn offset(&self, j: usize, inputs: usize) -> u64 {
        (j * self.slot_rows * inputs * 4) as u64
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The layer-0 bind groups of each slot of a plan with more than one.
pub(crate) struct InputSlots {
    pub plan: SlotPlan,
    pub forward: Vec<wgpu::BindGroup>,
    pub update: Vec<wgpu::BindGroup>,
}

impl InputSlots {
    /// Layer 0's forward and gradient bind groups for each slot of `plan` (groups.rs's, with
    /// the input activations bound from the slot's first row). Every slot's
    /// binding is `(count − 1)·slot_rows` rows shorter than the buffer (slot j's ends
    /// `(count − 1 − j)·slot_rows` rows before the buffer does); the last member's rows of any
    /// slot end inside it because a member's block holds `capacity ≥ count·slot_rows` rows.
    pub fn new(
        ctx: &GpuContext,
        k: &Kernels,
        b: &DeviceBuffers,
        plan: SlotPlan,
    ) -> Result<InputSlots> {
        let inputs = b.layers[0].inputs;
        let acts = &b.acts[0];
        let size = acts.size() - plan.offset(plan.count - 1, inputs);
        let view = |j: usize| wgpu::BufferBinding {
            buffer: acts,
            offset: plan.offset(j, inputs),
            size: wgpu::BufferSize::new(size),
        };
        let mut forward = Vec::with_capacity(plan.count);
        let mut update = Vec::with_capacity(plan.count);
        for j in 0..plan.count {
            forward.push(forward_group(ctx, k, b, 0, view(j))?);
            update.push(update_group(ctx, k, b, 0, view(j))?);
        }
        Ok(InputSlots {
            plan,
            forward,
            update,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots start on the binding-offset alignment, hold a whole batch, fit in the block,
    /// keep the gather's grid within the device's limit and its batches within GATHER_BYTES.
    #[test]
    fn slots_are_aligned_hold_a_batch_and_fit() {
        for rows in [1, 7, 10, 32, 64, 256] {
            for inputs in [1, 7, 30, 784, 785, 1024] {
                for align in [4, 16, 64, 256] {
                    for capacity in [rows, rows + 3, 1000, 10_000] {
                        for members in [1, 8, 24, 3000] {
                            let p = SlotPlan::new(rows, capacity, inputs, align, members, 65_535);
                            assert!(p.slot_rows >= rows);
                            assert_eq!(p.offset(1, inputs) % align, 0, "{p:?} {inputs} {align}");
                            assert!((1..=GATHER_STEPS).contains(&p.count));
                            assert!(p.count == 1 || p.count * p.slot_rows <= capacity);
                            assert!(p.count * members <= 65_535 || p.count == 1);
                            let bytes = (p.count * members * p.slot_rows * inputs * 4) as u64;
                            assert!(bytes <= GATHER_BYTES || p.count == 1);
                        }
                    }
                }
            }
        }
    }

    /// The nielsen preset's batches of 10 rows of 784 pixels: 12 rows apart on the 256-byte
    /// alignment gpu-mlp's devices have (3,136 bytes a row; the limit asked for is the
    /// downlevel default, 256, whatever less the adapter allows), 10 on an alignment of 16;
    /// 32 to a gather for one network, 13 for 8 members (301,056 bytes a step, GATHER_BYTES
    /// in all), 16 for 8 members 10 rows apart.
    #[test]
    fn nielsen_batches() {
        assert_eq!(
            SlotPlan::new(10, 1000, 784, 256, 1, 65_535),
            SlotPlan {
                slot_rows: 12,
                count: 32
            }
        );
        assert_eq!(
            SlotPlan::new(10, 1000, 784, 256, 8, 65_535),
            SlotPlan {
                slot_rows: 12,
                count: 13
            }
        );
        assert_eq!(
            SlotPlan::new(10, 1000, 784, 16, 8, 65_535),
            SlotPlan {
                slot_rows: 10,
                count: 16
            }
        );
        // No room for a second batch: one step a gather, as before.
        assert_eq!(SlotPlan::new(10, 15, 784, 16, 8, 65_535).count, 1);
    }
}
