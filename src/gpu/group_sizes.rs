//! How large a group's buffers are: how many members one group holds on a device, and the rows
//! of its evaluation batches, so that every member's block of every buffer fits one storage
//! binding (each block rounded up to [`member_stride`] floats).

use super::context::GpuContext;
use super::layout::member_stride;
use super::trainer::{GpuBackend, GpuOptions};
use crate::config::NetworkConfig;
use crate::data::Splits;

impl GpuBackend {
    /// The most members of `net` trained in batches of `batch` on `data` that one group holds
    /// on this device: every buffer of theirs must fit one storage binding, and the members
    /// one grid's z. Larger sweeps train as several groups.
    pub fn group_capacity(
        ctx: &GpuContext,
        net: &NetworkConfig,
        batch: usize,
        data: &Splits,
        options: &GpuOptions,
    ) -> usize {
        let limits = ctx.device.limits();
        let binding = binding_bytes(ctx, options);
        let params = net
            .layers
            .windows(2)
            .map(|w| member_stride(w[0] * w[1] + w[1]));
        let acts = net.layers.iter().map(|&w| member_stride(batch.max(1) * w));
        let sets = [data.train.len(), data.validation.len(), data.test.len()];
        let per_member = params
            .chain(acts)
            .chain([
                member_stride(sets.into_iter().max().unwrap_or(0)),
                data.train.len(),
            ])
            .max()
            .unwrap_or(1)
            .max(1) as u64
            * 4;
        ((binding / per_member) as usize)
            .min(limits.max_compute_workgroups_per_dimension as usize)
            .max(1)
    }
}

/// The largest storage binding the buffers may take: the device's, or less where `options`
/// say (tests use it to force the multi-binding path).
pub(super) fn binding_bytes(ctx: &GpuContext, options: &GpuOptions) -> u64 {
    let limits = ctx.device.limits();
    options
        .max_binding_bytes
        .unwrap_or(limits.max_storage_buffer_binding_size)
        .min(limits.max_storage_buffer_binding_size)
        .min(limits.max_buffer_size)
}

/// Rows of an evaluation batch: as many as `asked`, but few enough that `members` blocks of the
/// widest layer's activations, each rows·`widest` floats rounded up to [`member_stride`] (by at
/// most 63), fit a binding of `binding` bytes; at least one.
pub(super) fn eval_rows(asked: usize, binding: u64, members: usize, widest: usize) -> usize {
    let per_member = binding / 4 / members.max(1) as u64;
    let fit = per_member.saturating_sub(63) / widest.max(1) as u64;
    asked.max(1).min(fit.max(1) as usize)
}

#[cfg(test)]
mod tests {
    use super::{eval_rows, member_stride};

    /// Every group's evaluation batch fits the binding with each member's block rounded up,
    /// over awkward bindings, member counts and widths (where the rows are not clamped to 1).
    #[test]
    fn evaluation_batches_fit_the_binding_with_the_rounding() {
        for binding in [960u64, 4096, 100_003, 1 << 27, (1 << 31) - 4] {
            for members in [1usize, 2, 3, 7, 127, 691] {
                for widest in [1usize, 8, 10, 30, 784, 1024] {
                    let rows = eval_rows(1000, binding, members, widest);
                    let bytes = (members * member_stride(rows * widest) * 4) as u64;
                    assert!(
                        rows == 1 || bytes <= binding,
                        "{members} members, width {widest}, {rows} rows: {bytes} > {binding}"
                    );
                }
            }
        }
        assert_eq!(eval_rows(1000, 1 << 27, 1, 784), 1000);
    }
}
