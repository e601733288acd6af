//! The seam between the host and the shaders, in one place: every number and struct layout
//! both sides must agree on is defined here once.
//!
//! - Constants (tile and block sizes, workgroup sizes, the image bindings) are Rust constants;
//!   the shaders never define them but receive them from [`wgsl_constants`], which
//!   `kernels.rs` prepends to every pipeline's source. Where a shader's code is written for one
//!   value (the 8×8 block of matmul_blocked.wgsl is unrolled by hand), the shader says so with
//!   a `const_assert`, so changing the Rust constant alone fails the shader's compilation.
//! - Structs (`StepRecord`, `ChunkRecord`, `MatDims`, `OutputDims`, `GatherDims`) are the host
//!   copies of the WGSL structs `Step`, `Chunk`, `Dims`, `OutputDims`, `GatherDims`. Their sizes are asserted at
//!   compile time, and the tests at the end of this file parse every pipeline's source with
//!   naga and hold each WGSL member's offset against the Rust field's.
//! - How the buffers are laid out: a layer's parameters (W then b, [`layer_bytes`]) and the
//!   per-step records ([`steps_buffer`], [`step_group`]).

use super::context::GpuContext;
use super::input_slots::GATHER_STEPS;
use crate::config::{StepConstants, StepHyper};
use crate::model::Layer;
#[cfg(test)]
use std::mem::offset_of;
use std::mem::size_of;

/// Side of matmul.wgsl's square output tile.
pub(crate) const TILE: u32 = 16;
/// The slice of the inner dimension k that matmul.wgsl stages through workgroup memory at a
/// time.
pub(crate) const TILE_K: u32 = 32;
/// Invocations along each side of a matmul.wgsl workgroup; each computes a 2×2 piece of the
/// tile, so the tile's side is twice this.
pub(crate) const TILED_SIDE: u32 = 8;
/// Rows and columns of the result per invocation of matmul_blocked.wgsl.
pub(crate) const BLOCK: u32 = 8;
/// Rows and columns of the result per invocation of matmul_blocked_k4.wgsl.
pub(crate) const BLOCK_K4: u32 = 4;
/// Invocations per workgroup of matmul_blocked.wgsl and matmul_blocked_k4.wgsl (along N). Small
/// workgroups spread the few dozen invocations of a small product over a CPU driver's threads
/// (BENCHMARKS.md, "GPU path on lavapipe").
pub(crate) const BLOCKED_GROUP: u32 = 16;
/// The subgroup size the subgroup kernels (matmul_lanes.wgsl, matmul_lanes_k4.wgsl,
/// gradient_lanes.wgsl) are written for, llvmpipe's on 256-bit SIMD: they are used only on
/// software adapters whose subgroups are exactly this size (multiply::has_lanes).
pub(crate) const LANES: u32 = 8;
/// Columns of the result per lane of matmul_lanes.wgsl (LANES apart).
pub(crate) const LANE_COLS: u32 = 2;
/// Columns of the result per lane of matmul_lanes_k4.wgsl (LANES apart).
pub(crate) const LANE_COLS_K4: u32 = 4;
/// Invocations per workgroup of the row-wise kernels (output_delta, evaluate).
pub(crate) const ROW_GROUP: u32 = 64;
/// Invocations per workgroup of gather.wgsl, one workgroup per image: an MNIST image's 196
/// words of packed pixels are 12 or 13 per invocation.
pub(crate) const GATHER_GROUP: u32 = 16;
/// How many storage bindings gather.wgsl reads a data set's images from.
pub(crate) const IMAGE_BINDINGS: u32 = 4;
/// The size of the per-step record, step.wgsl's `Step`.
pub(crate) const STEP_BYTES: u64 = 64;
/// The most weight layers a network trained by the fused kernels may have. Host-only: each
/// fused pipeline's layer table is generated for its own network (fused/shape.rs) as a switch
/// of at most this many cases; deeper networks keep the per-layer kernels.
pub(crate) const FUSED_MAX_LAYERS: u32 = 8;

/// The WGSL declarations of the constants above, prepended to every pipeline's source.
pub(crate) fn wgsl_constants() -> String {
    let constants = [
        ("TILE", TILE),
        ("TILE_K", TILE_K),
        ("TILED_SIDE", TILED_SIDE),
        ("BLOCK", BLOCK),
        ("BLOCK_K4", BLOCK_K4),
        ("BLOCKED_GROUP", BLOCKED_GROUP),
        ("LANES", LANES),
        ("LANE_COLS", LANE_COLS),
        ("LANE_COLS_K4", LANE_COLS_K4),
        ("ROW_GROUP", ROW_GROUP),
        ("GATHER_GROUP", GATHER_GROUP),
        ("IMAGE_BINDINGS", IMAGE_BINDINGS),
    ];
    let mut s = String::from(
        "// Generated from the constants in src/gpu/layout.rs; no shader defines these itself.\n",
    );
    for (name, value) in constants {
        s += &format!("const {name}: u32 = {value}u;\n");
    }
    s
}

/// step.wgsl's `Step`: which samples a step covers, and the constants of its update.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct StepRecord {
    pub rows: u32,
    pub order_offset: u32,
    /// 1: the batch is samples `order_offset..` in storage order (evaluation); 0: sample i of
    /// the batch is `order[order_offset + i]` (training).
    pub sequential: u32,
    /// The record's position in the step buffer, and the serial number of the run of steps it
    /// belongs to: the submit mark (submit_mark.wgsl) writes `marks[index] = serial`. No
    /// kernel that computes reads them.
    pub index: u32,
    /// The update's constants, members `eta` to `rho` of `Step`.
    pub c: StepConstants,
    pub serial: u32,
    /// 1: the member stopped early, and the per-layer kernels leave its parameters and
    /// optimizer state as they are.
    pub frozen: u32,
}

const _: () = assert!(size_of::<StepRecord>() as u64 == STEP_BYTES);

impl StepRecord {
    /// The record of update number `t` (from 1) over `rows` samples starting at
    /// `order_offset` of the epoch's order.
    pub fn training(hyper: &StepHyper, rows: usize, order_offset: usize, t: u64) -> Self {
        StepRecord {
            rows: rows as u32,
            order_offset: order_offset as u32,
            c: hyper.constants(rows, t),
            ..StepRecord::default()
        }
    }

    /// The record of an evaluation batch: `rows` samples from `first` in storage order.
    pub fn sequential(rows: usize, first: usize) -> Self {
        StepRecord {
            rows: rows as u32,
            order_offset: first as u32,
            sequential: 1,
            ..StepRecord::default()
        }
    }

    /// (WGSL member, byte offset) of every field but the padding.
    #[cfg(test)]
    fn members() -> Vec<(&'static str, usize)> {
        let c = offset_of!(StepRecord, c);
        vec![
            ("rows", offset_of!(StepRecord, rows)),
            ("order_offset", offset_of!(StepRecord, order_offset)),
            ("sequential", offset_of!(StepRecord, sequential)),
            ("index", offset_of!(StepRecord, index)),
            ("serial", offset_of!(StepRecord, serial)),
            ("frozen", offset_of!(StepRecord, frozen)),
            ("eta", c + offset_of!(StepConstants, eta)),
            ("inv_rows", c + offset_of!(StepConstants, inv_rows)),
            ("decay", c + offset_of!(StepConstants, decay)),
            ("momentum", c + offset_of!(StepConstants, momentum)),
            ("beta1", c + offset_of!(StepConstants, beta1)),
            ("beta2", c + offset_of!(StepConstants, beta2)),
            ("epsilon", c + offset_of!(StepConstants, epsilon)),
            (
                "bias_correction1",
                c + offset_of!(StepConstants, bias_correction1),
            ),
            (
                "bias_correction2",
                c + offset_of!(StepConstants, bias_correction2),
            ),
            ("rho", c + offset_of!(StepConstants, rho)),
        ]
    }
}

/// step.wgsl's `Chunk`: the first workgroup row of a dispatch's part of its grid (a product
/// split over several dispatches, `chunks.rs`); 0 for a dispatch that covers its whole grid.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct ChunkRecord {
    pub group_offset: u32,
    pub _pad: [u32; 3],
}

/// The size of step.wgsl's `Chunk`.
pub(crate) const CHUNK_BYTES: u64 = 16;

const _: () = assert!(size_of::<ChunkRecord>() as u64 == CHUNK_BYTES);

impl ChunkRecord {
    #[cfg(test)]
    fn members() -> Vec<(&'static str, usize)> {
        vec![("group_offset", offset_of!(ChunkRecord, group_offset))]
    }
}

/// matmul_common.wgsl's `Dims`: the shapes of one product C[M,N] = Σ_k A(m,k)·B(k,n). A
/// dimension of 0 stands for the step's batch size m (`Step.rows`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct MatDims {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub lda: u32,
    pub ldb: u32,
    /// Floats between consecutive members' blocks of A, of B and of the epilogue's buffers.
    pub a_stride: u32,
    pub b_stride: u32,
    pub c_stride: u32,
}

const _: () = assert!(size_of::<MatDims>() == 32);

/// The batch size, as a dimension of [`MatDims`].
const ROWS: u32 = 0;

impl MatDims {
    fn new(m: u32, n: u32, k: u32, lda: u32, ldb: u32) -> Self {
        MatDims {
            m,
            n,
            k,
            lda,
            ldb,
            a_stride: 0,
            b_stride: 0,
            c_stride: 0,
        }
    }

    /// The same product with members' blocks `a`, `b` and `c` floats apart
    /// ([`member_stride`]).
    pub fn with_strides(self, a: usize, b: usize, c: usize) -> Self {
        MatDims {
            a_stride: a as u32,
            b_stride: b as u32,
            c_stride: c as u32,
            ..self
        }
    }

    /// The forward product of a layer, Z[m,out] = A[m,in]·Wᵀ: B = W stored [N=out, K=in].
    pub fn forward(inputs: usize, outputs: usize) -> Self {
        let (i, o) = (inputs as u32, outputs as u32);
        MatDims::new(ROWS, o, i, i, i)
    }

    /// The backward product, D[m,in] = δ[m,out]·W: B = W stored [K=out, N=in].
    pub fn backprop(inputs: usize, outputs: usize) -> Self {
        let (i, o) = (inputs as u32, outputs as u32);
        MatDims::new(ROWS, i, o, o, i)
    }

    /// The gradient product, G[out,in+1] = δᵀ·[A_prev | 1]: A = δ stored [K=m, M=out], and the
    /// ones column gives Σδ (the bias gradient).
    pub fn gradient(inputs: usize, outputs: usize) -> Self {
        let (i, o) = (inputs as u32, outputs as u32);
        MatDims::new(o, i + 1, ROWS, o, i)
    }

    #[cfg(test)]
    fn members() -> Vec<(&'static str, usize)> {
        vec![
            ("m", offset_of!(MatDims, m)),
            ("n", offset_of!(MatDims, n)),
            ("k", offset_of!(MatDims, k)),
            ("lda", offset_of!(MatDims, lda)),
            ("ldb", offset_of!(MatDims, ldb)),
            ("a_stride", offset_of!(MatDims, a_stride)),
            ("b_stride", offset_of!(MatDims, b_stride)),
            ("c_stride", offset_of!(MatDims, c_stride)),
        ]
    }
}

/// output_dims.wgsl's `OutputDims`: the output layer's width, and how far apart members'
/// blocks of z and δᴸ (`z_stride`) and of the evaluation's costs and predictions
/// (`eval_stride`) are.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct OutputDims {
    pub n: u32,
    pub z_stride: u32,
    pub eval_stride: u32,
    pub _pad: u32,
}

const _: () = assert!(size_of::<OutputDims>() == 16);

impl OutputDims {
    pub fn new(classes: usize, z_stride: usize, eval_stride: usize) -> Self {
        OutputDims {
            n: classes as u32,
            z_stride: z_stride as u32,
            eval_stride: eval_stride as u32,
            _pad: 0,
        }
    }

    #[cfg(test)]
    fn members() -> Vec<(&'static str, usize)> {
        vec![
            ("n", offset_of!(OutputDims, n)),
            ("z_stride", offset_of!(OutputDims, z_stride)),
            ("eval_stride", offset_of!(OutputDims, eval_stride)),
        ]
    }
}

/// gather.wgsl's `GatherDims`: how a data set's packed images are laid out, and where a
/// dispatch's batches go.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct GatherDims {
    pub pixels: u32,
    pub words_per_image: u32,
    pub images_per_chunk: u32,
    /// Floats between consecutive members' batches of input activations.
    pub batch_stride: u32,
    /// Rows between consecutive steps' batches in a member's block, where one dispatch
    /// gathers several steps' batches (input_slots.rs).
    pub slot_rows: u32,
    /// The members of the group: workgroup z of a gather is step·members + member.
    pub members: u32,
    /// Records between consecutive steps in the step buffer (its stride over STEP_BYTES).
    pub records_per_step: u32,
    pub _pad: u32,
}

const _: () = assert!(size_of::<GatherDims>() == 32);

impl GatherDims {
    #[cfg(test)]
    fn members() -> Vec<(&'static str, usize)> {
        vec![
            ("pixels", offset_of!(GatherDims, pixels)),
            ("words_per_image", offset_of!(GatherDims, words_per_image)),
            ("images_per_chunk", offset_of!(GatherDims, images_per_chunk)),
            ("batch_stride", offset_of!(GatherDims, batch_stride)),
            ("slot_rows", offset_of!(GatherDims, slot_rows)),
            ("members", offset_of!(GatherDims, members)),
            ("records_per_step", offset_of!(GatherDims, records_per_step)),
        ]
    }
}

/// fused_common.wgsl's `FusedChunk`: the steps (training) or tiles (evaluation) one fused
/// dispatch covers.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct FusedChunk {
    pub first: u32,
    pub count: u32,
    pub members: u32,
    /// Evaluation: the split's size.
    pub set_len: u32,
    /// Always [`FusedChunk::LOOP_CHECK`]: the iterations of `loops_ran_whole`'s loop, read
    /// from the uniform so that no compiler knows the count (or a bound of it) and unrolls
    /// the loop away.
    pub loop_check: u32,
    pub _pad: [u32; 3],
}

const _: () = assert!(size_of::<FusedChunk>() == 32);

impl FusedChunk {
    pub const LOOP_CHECK: u32 = 2;

    /// The dispatch of items `first .. first + count` for `members` members (evaluation:
    /// of a split of `set_len` samples; training: 0).
    pub fn new(first: usize, count: usize, members: usize, set_len: usize) -> Self {
        FusedChunk {
            first: first as u32,
            count: count as u32,
            members: members as u32,
            set_len: set_len as u32,
            loop_check: Self::LOOP_CHECK,
            _pad: [0; 3],
        }
    }
}

#[cfg(test)]
impl FusedChunk {
    fn members() -> Vec<(&'static str, usize)> {
        vec![
            ("first", offset_of!(FusedChunk, first)),
            ("count", offset_of!(FusedChunk, count)),
            ("members", offset_of!(FusedChunk, members)),
            ("set_len", offset_of!(FusedChunk, set_len)),
            ("loop_check", offset_of!(FusedChunk, loop_check)),
        ]
    }
}

/// A layer's parameter buffer: W [out,in] row-major, then b [out], zero-padded to a multiple
/// of 16 bytes so that a vec4 view of the buffer (matmul_blocked_k4.wgsl) reaches the last
/// bias. The optimizer's slots use the same layout.
pub(crate) fn layer_bytes(layer: &Layer) -> Vec<u8> {
    let mut bytes = Vec::with_capacity((layer.weight.len() + layer.bias.len() + 3) * 4);
    bytes.extend_from_slice(bytemuck::cast_slice(&layer.weight));
    bytes.extend_from_slice(bytemuck::cast_slice(&layer.bias));
    bytes.resize(bytes.len().next_multiple_of(16), 0);
    bytes
}

/// The layer of `inputs` × `outputs` whose buffer read back as `floats` (the inverse of
/// [`layer_bytes`]; padding past W and b is ignored).
pub(crate) fn layer_from_floats(inputs: usize, outputs: usize, floats: &[f32]) -> Layer {
    let w = outputs * inputs;
    Layer {
        inputs,
        outputs,
        weight: floats[..w].to_vec(),
        bias: floats[w..w + outputs].to_vec(),
    }
}

/// Floats between consecutive members' blocks of a buffer whose one member holds `floats`:
/// rounded up to 64 floats (256 bytes), so every block starts vec4-aligned
/// (matmul_blocked_k4.wgsl reads B and A four floats at a time).
pub(crate) fn member_stride(floats: usize) -> usize {
    floats.next_multiple_of(64)
}

/// Bytes between consecutive chunk records: a record, rounded up to the device's alignment
/// of dynamic uniform offsets.
pub(crate) fn record_stride(ctx: &GpuContext) -> u64 {
    STEP_BYTES.max(ctx.device.limits().min_uniform_buffer_offset_alignment as u64)
}

/// Bytes between consecutive steps in the step buffer: the step's `members` records side by
/// side, rounded up to the device's alignment of dynamic storage offsets.
pub(crate) fn step_stride(ctx: &GpuContext, members: usize) -> u64 {
    let align = ctx.device.limits().min_storage_buffer_offset_alignment as u64;
    (members.max(1) as u64 * STEP_BYTES).next_multiple_of(align.max(4))
}

/// A uniform buffer of `capacity` records, `stride` bytes apart.
pub(crate) fn records_buffer(
    ctx: &GpuContext,
    label: &str,
    capacity: usize,
    stride: u64,
) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: capacity.max(1) as u64 * stride,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A storage buffer of `capacity` steps, `stride` bytes apart ([`step_stride`]), and room for
/// the `GATHER_STEPS − 1` steps past the last that [`step_group`]'s window reaches.
pub(crate) fn steps_buffer(ctx: &GpuContext, capacity: usize, stride: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("step records"),
        size: (capacity.max(1) + GATHER_STEPS - 1) as u64 * stride,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// The bind group 0 of every per-layer kernel: one step's `members` records of `steps` and
/// one record of `chunks`, each chosen per dispatch by a dynamic offset. The step window
/// reaches the records of the `GATHER_STEPS − 1` steps after it too (`stride` bytes apart),
/// which a gather filling several steps' batches reads (input_slots.rs).
pub(crate) fn step_group(
    ctx: &GpuContext,
    layout: &wgpu::BindGroupLayout,
    steps: &wgpu::Buffer,
    members: usize,
    stride: u64,
    chunks: &wgpu::Buffer,
) -> wgpu::BindGroup {
    let window = (GATHER_STEPS - 1) as u64 * stride + members.max(1) as u64 * STEP_BYTES;
    let entry = |binding, buffer, size| wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset: 0,
            size: wgpu::BufferSize::new(size),
        }),
    };
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("step"),
        layout,
        entries: &[entry(0, steps, window), entry(1, chunks, CHUNK_BYTES)],
    })
}

/// The host and the shaders agree: every pipeline's source, as `kernels.rs` composes it,
/// parses and validates, and each WGSL struct the host mirrors has the host's size and member
/// offsets. Runs without a GPU (naga is the shader compiler wgpu itself uses).
#[cfg(test)]
mod tests;
