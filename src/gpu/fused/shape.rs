//! Whether a network trains through the fused kernels, and the shape they are built for: the
//! FUSED_* constants generated into fused_common.wgsl, the layer table, and where each layer's
//! parameters sit in a member's block.
//!
//! The decision depends on the network, the batch size, the data and the adapter, never on how
//! many members train together, so a member of a sweep runs exactly the kernels its solo run
//! does.

use crate::gpu::layout::FUSED_MAX_LAYERS;

/// The widest layer (after the input) the fused kernels take: a wider one has enough work per
/// product for the per-layer kernels' many workgroups.
pub(crate) const FUSED_MAX_WIDTH: usize = 256;
/// The largest batch the fused kernels take.
pub(crate) const FUSED_MAX_BATCH: usize = 64;
/// The most rows an evaluation tile holds.
const EVAL_MAX_ROWS: usize = 64;

/// The shape one fused pipeline is built for.
#[derive(Clone, Debug, PartialEq)]
pub struct FusedShape {
    /// Layer widths, input first.
    pub widths: Vec<usize>,
    /// Rows of a tile: the batch size when training, a larger tile when evaluating.
    pub rows: usize,
    /// u32 words of one packed image.
    pub words: usize,
    /// Invocations per workgroup.
    pub group: u32,
    /// How much work each invocation takes at a time.
    pub block: Blocking,
}

/// The blocks each invocation computes: rows × units of the forward pass, units × 4-input
/// words of the weight gradient. Larger blocks share each loaded input and weight among more
/// products (on a CPU driver every element a lane loads is a loop over the lanes, so loads are
/// what costs) but make the shader longer to compile. The results do not depend on them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Blocking {
    pub rows: u32,
    pub units: u32,
    pub grad_units: u32,
    pub grad_words: u32,
}

/// The blocking measured best on lavapipe (BENCHMARKS.md, "The fused kernels").
pub const BLOCKING: Blocking = Blocking {
    rows: 10,
    units: 4,
    grad_units: 4,
    grad_words: 2,
};

/// Invocations per workgroup for an adapter: on a CPU driver (llvmpipe runs a workgroup on one
/// thread, 8 lanes at a time) a few SIMD rows, so that barriers are cheap; on a GPU many.
/// The results do not depend on it: every sum runs in the order the kernel writes it,
/// whichever invocation computes it. (Workgroups of a single SIMD row of 8 computed wrong
/// results on lavapipe once a dispatch held more than 4 steps, and 32 from the 34th: each
/// SIMD row makes its share of the loops, and llvmpipe ends them all after 65,535 trips, so
/// the fewer rows the sooner. The trainer now probes how many steps a dispatch runs whole:
/// trainer/loop_budget.rs.)
fn group_size(software: bool) -> u32 {
    if software {
        32
    } else {
        256
    }
}

impl FusedShape {
    /// The training shape of `widths` with mini-batches of `batch`, on images of `pixels`.
    pub fn training(widths: &[usize], batch: usize, pixels: usize, software: bool) -> Self {
        FusedShape {
            widths: widths.to_vec(),
            rows: batch.max(1),
            words: pixels.div_ceil(4).max(1),
            group: group_size(software),
            block: BLOCKING,
        }
    }

    /// The evaluation shape for the same network: tiles as large as `limit` bytes of workgroup
    /// memory allow, at most [`EVAL_MAX_ROWS`].
    pub fn evaluation(&self, limit: u64) -> Self {
        let mut shape = FusedShape {
            rows: EVAL_MAX_ROWS,
            ..self.clone()
        };
        while shape.rows > 1 && shape.workgroup_bytes(false) > limit {
            shape.rows /= 2;
        }
        shape
    }

    /// Activations of one row after the input: Σ of the widths of layers 1..L.
    pub fn acts(&self) -> usize {
        self.widths[1..].iter().sum()
    }

    /// Workgroup memory the kernel declares: packed pixels, sample indices and labels, the
    /// activations and, when training, the errors δ of a tile; and the cut-short flag.
    pub fn workgroup_bytes(&self, training: bool) -> u64 {
        let per_row = self.words + 2 + self.acts() * if training { 2 } else { 1 };
        4 * (self.rows * per_row) as u64 + 4
    }

    /// Where W_l starts in a member's block (b_l follows W_l), each layer's block starting on
    /// a multiple of 4 floats.
    pub fn layer_offsets(&self) -> Vec<usize> {
        let mut at = 0;
        self.widths
            .windows(2)
            .map(|w| {
                let here = at;
                at += (w[0] * w[1] + w[1]).next_multiple_of(4);
                here
            })
            .collect()
    }

    /// Floats of one member's parameters, padded to 256 bytes.
    pub fn member_floats(&self) -> usize {
        let layers: usize = self
            .widths
            .windows(2)
            .map(|w| (w[0] * w[1] + w[1]).next_multiple_of(4))
            .sum();
        layers.next_multiple_of(64)
    }

    /// Per weight layer: inputs, outputs, where W starts in a member's block (b follows), where
    /// the layer's activations start in a row of the workgroup's `acts`.
    pub fn layer_table(&self) -> Vec<[usize; 4]> {
        let mut act = 0;
        self.widths
            .windows(2)
            .zip(self.layer_offsets())
            .map(|(w, offset)| {
                let row = [w[0], w[1], offset, act];
                act += w[1];
                row
            })
            .collect()
    }

    /// The FUSED_* constants of fused_common.wgsl for this shape.
    pub fn wgsl_constants(&self) -> String {
        let constants = [
            ("FUSED_LAYERS", self.widths.len() as u32 - 1),
            ("FUSED_BATCH", self.rows as u32),
            ("FUSED_WORDS", self.words as u32),
            ("FUSED_ACTS", self.acts() as u32),
            ("FUSED_GROUP", self.group),
            ("FUSED_BLOCK_ROWS", self.block.rows.min(self.rows as u32)),
            ("FUSED_BLOCK_UNITS", self.block.units),
            ("FUSED_GRAD_UNITS", self.block.grad_units),
            ("FUSED_GRAD_WORDS", self.block.grad_words),
            ("FUSED_MEMBER_FLOATS", self.member_floats() as u32),
            (
                "FUSED_CLASSES",
                self.widths.last().copied().unwrap_or(0) as u32,
            ),
        ];
        let mut s = String::from("// Generated for this network by src/gpu/fused/shape.rs.\n");
        for (name, value) in constants {
            s += &format!("const {name}: u32 = {value}u;\n");
        }
        s += "fn layer(l: u32) -> vec4<u32> {\n    switch l {\n";
        for (l, [i, o, p, a]) in self.layer_table().into_iter().enumerate() {
            s += &format!("        case {l}u: {{ return vec4<u32>({i}u, {o}u, {p}u, {a}u); }}\n");
        }
        s += "        default: { return vec4<u32>(0u); }\n    }\n}\n";
        s
    }
}

/// What the fused path needs of the adapter and the data, beside the network's shape.
pub(crate) struct FusedNeeds {
    /// The adapter's workgroup memory per workgroup.
    pub workgroup_bytes: u64,
    /// The largest storage binding, and the packed training set's size.
    pub max_binding: u64,
    pub largest_set_bytes: u64,
    /// Invocations per workgroup the adapter allows.
    pub invocations: u32,
    /// Storage buffers a shader may bind on the device.
    pub storage_buffers: u32,
}

/// The fused training shape for `widths` and `batch`, or why the network takes the per-layer
/// kernels instead (a line for `--verbose`).
pub(crate) fn plan(
    widths: &[usize],
    batch: usize,
    pixels: usize,
    software: bool,
    needs: &FusedNeeds,
) -> Result<FusedShape, String> {
    let layers = widths.len().saturating_sub(1);
    if layers == 0 || layers > FUSED_MAX_LAYERS as usize {
        return Err(format!(
            "{layers} weight layers; the fused kernels take 1 to {FUSED_MAX_LAYERS}"
        ));
    }
    if let Some(&w) = widths[1..].iter().find(|&&w| w > FUSED_MAX_WIDTH) {
        return Err(format!(
            "a layer of {w} units; the fused kernels take layers of at most {FUSED_MAX_WIDTH}"
        ));
    }
    if batch > FUSED_MAX_BATCH {
        return Err(format!(
            "a batch of {batch}; the fused kernels take at most {FUSED_MAX_BATCH}"
        ));
    }
    let shape = FusedShape::training(widths, batch, pixels, software);
    let bytes = shape.workgroup_bytes(true);
    if bytes > needs.workgroup_bytes {
        return Err(format!(
            "{bytes} bytes of workgroup memory needed, the adapter has {}",
            needs.workgroup_bytes
        ));
    }
    if shape.group > needs.invocations {
        return Err(format!(
            "{} invocations per workgroup needed, the adapter allows {}",
            shape.group, needs.invocations
        ));
    }
    let storage = crate::gpu::limits::FUSED_STORAGE_BUFFERS as u32;
    if needs.storage_buffers < storage {
        return Err(format!(
            "{storage} storage buffers per shader needed, the device allows {}",
            needs.storage_buffers
        ));
    }
    if needs.largest_set_bytes > needs.max_binding {
        return Err(format!(
            "a data set of {} MiB packed does not fit one {} MiB storage binding",
            needs.largest_set_bytes >> 20,
            needs.max_binding >> 20
        ));
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_blocks_are_aligned_and_the_table_says_where_they_are() {
        let shape = FusedShape::training(&[7, 30, 10], 10, 7, true);
        assert_eq!(shape.layer_offsets(), vec![0, 240]);
        assert_eq!(shape.member_floats(), 576);
        let table = shape.layer_table();
        assert_eq!(table, vec![[7, 30, 0, 0], [30, 10, 240, 30]]);
        assert_eq!(shape.acts(), 40);
    }

    #[test]
    fn the_line_is_drawn_by_width_batch_and_memory() {
        let needs = FusedNeeds {
            workgroup_bytes: 32768,
            max_binding: 1 << 27,
            largest_set_bytes: 39 << 20,
            invocations: 256,
            storage_buffers: 8,
        };
        assert!(plan(&[784, 30, 10], 10, 784, true, &needs).is_ok());
        assert!(plan(&[784, 100, 10], 10, 784, true, &needs).is_ok());
        let wide = plan(&[784, 1024, 10], 10, 784, true, &needs).unwrap_err();
        assert!(wide.contains("1024 units"), "{wide}");
        assert!(plan(&[784, 30, 10], 65, 784, true, &needs).is_err());
        let small = FusedNeeds {
            workgroup_bytes: 16384,
            ..needs
        };
        let memory = plan(&[784, 256, 256, 10], 64, 784, true, &small).unwrap_err();
        assert!(memory.contains("workgroup memory"), "{memory}");
    }
}
