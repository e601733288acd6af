//! Which matrix multiply a product runs through, decided once per product: the variant names
//! the shader, and the pipeline and the dispatch grid both follow from it.

use super::context::GpuContext;
use super::layout::{BLOCK, BLOCKED_GROUP, BLOCK_K4, LANES, LANE_COLS, LANE_COLS_K4, TILE};

const MATMUL_TILED: &str = include_str!("../../shaders/matmul.wgsl");
const MATMUL_OPERANDS: &str = include_str!("../../shaders/matmul_operands.wgsl");
const MATMUL_BLOCKED: &str = include_str!("../../shaders/matmul_blocked.wgsl");
const MATMUL_BLOCKED_K4: &str = include_str!("../../shaders/matmul_blocked_k4.wgsl");
const MATMUL_OPERANDS_B4: &str = include_str!("../../shaders/matmul_operands_b4.wgsl");
const MATMUL_LANES: &str = include_str!("../../shaders/matmul_lanes.wgsl");
const MATMUL_LANES_K4: &str = include_str!("../../shaders/matmul_lanes_k4.wgsl");
const GRADIENT_LANES: &str = include_str!("../../shaders/gradient_lanes.wgsl");
const BLOCKED_STORE: &str = include_str!("../../shaders/blocked_store.wgsl");
const LANES_STORE: &str = include_str!("../../shaders/lanes_store.wgsl");

/// A multiply variant (each composed after matmul_common.wgsl, before an epilogue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Multiply {
    /// matmul.wgsl: TILE×TILE tiles staged through workgroup memory (real GPUs).
    Tiled,
    /// matmul_blocked.wgsl: BLOCK×BLOCK register blocks, no workgroup memory (CPU drivers).
    Blocked,
    /// matmul_blocked_k4.wgsl: BLOCK_K4×BLOCK_K4 blocks loaded as vec4 along k; the forward
    /// product on the blocked path when the layer's input count is a multiple of 4.
    BlockedK4,
    /// matmul_blocked.wgsl with B read as vec4 (matmul_operands_b4.wgsl) and the parameters
    /// updated four at a time (outer_product_vec4.wgsl): the gradient product on the blocked
    /// path when the layer's input count is a multiple of 4.
    GradientVec4,
    /// matmul_lanes.wgsl: the products of Blocked (the same sums in the same order) with each
    /// row of A loaded by one lane and shared by subgroup broadcast; on the blocked path where
    /// the adapter has subgroups of [`LANES`] invocations.
    Lanes,
    /// matmul_lanes_k4.wgsl: the forward product of matmul_blocked_k4.wgsl (the same sums in
    /// the same order) with each row of A loaded by one lane and shared by subgroup broadcast;
    /// on the blocked path where the adapter has subgroups of [`LANES`] invocations.
    LanesK4,
    /// gradient_lanes.wgsl: the gradient product of GradientVec4 (the same sums in the same
    /// order, the same vec4 update) with each row's δ loaded by one lane and shared by
    /// subgroup broadcast; on the blocked path where the adapter has subgroups of [`LANES`]
    /// invocations.
    GradientLanes,
}

impl Multiply {
    #[cfg(test)]
    pub const ALL: [Multiply; 7] = [
        Multiply::Tiled,
        Multiply::Blocked,
        Multiply::BlockedK4,
        Multiply::GradientVec4,
        Multiply::Lanes,
        Multiply::LanesK4,
        Multiply::GradientLanes,
    ];

    /// The multiply of the backward product (and the general one of the forward and gradient
    /// products): tiled, or on the blocked path the subgroup one where `lanes` (the adapter
    /// has subgroups of [`LANES`]), else blocked.
    pub fn general(tiled: bool, lanes: bool) -> Self {
        match (tiled, lanes) {
            (true, _) => Multiply::Tiled,
            (false, true) => Multiply::Lanes,
            (false, false) => Multiply::Blocked,
        }
    }

    /// The multiply of a layer's forward product Z = A·Wᵀ with `inputs` inputs: on the blocked
    /// path, a vec4 one when `inputs` is a multiple of 4 (rows of A and W then start
    /// vec4-aligned), the subgroup one where `lanes` (the adapter has subgroups of [`LANES`]).
    pub fn forward(tiled: bool, lanes: bool, inputs: usize) -> Self {
        match Multiply::general(tiled, lanes) {
            Multiply::Lanes if inputs.is_multiple_of(4) => Multiply::LanesK4,
            Multiply::Blocked if inputs.is_multiple_of(4) => Multiply::BlockedK4,
            m => m,
        }
    }

    /// The multiply of the gradient product G = δᵀ·[A_prev | 1] of a layer with `inputs`
    /// inputs: on the blocked path, a vec4 one when `inputs` is a multiple of 4 (rows of
    /// A_prev and W then start vec4-aligned), the subgroup one where `lanes`.
    pub fn gradient(tiled: bool, lanes: bool, inputs: usize) -> Self {
        match Multiply::general(tiled, lanes) {
            Multiply::Lanes if inputs.is_multiple_of(4) => Multiply::GradientLanes,
            Multiply::Blocked if inputs.is_multiple_of(4) => Multiply::GradientVec4,
            m => m,
        }
    }

    /// The variants the gradient products of a pipeline set for this choice of `tiled` and
    /// `lanes` may run.
    pub fn gradients(tiled: bool, lanes: bool) -> &'static [Multiply] {
        match (tiled, lanes) {
            (true, _) => &[Multiply::Tiled],
            (false, true) => &[Multiply::Lanes, Multiply::GradientLanes],
            (false, false) => &[Multiply::Blocked, Multiply::GradientVec4],
        }
    }

    /// Whether the variant is a gradient product only (its epilogue is the vec4 update).
    #[cfg(test)]
    pub fn is_gradient_only(self) -> bool {
        matches!(self, Multiply::GradientVec4 | Multiply::GradientLanes)
    }

    /// Whether the variant is a forward product only.
    #[cfg(test)]
    pub fn is_forward_only(self) -> bool {
        matches!(self, Multiply::BlockedK4 | Multiply::LanesK4)
    }

    /// The variants the forward products of a pipeline set for this choice of `tiled` and
    /// `lanes` may run.
    pub fn used(tiled: bool, lanes: bool) -> &'static [Multiply] {
        match (tiled, lanes) {
            (true, _) => &[Multiply::Tiled],
            (false, true) => &[Multiply::Lanes, Multiply::LanesK4],
            (false, false) => &[Multiply::Blocked, Multiply::BlockedK4],
        }
    }

    /// The shader fragments of the variant.
    pub fn sources(self) -> &'static [&'static str] {
        match self {
            Multiply::Tiled => &[MATMUL_OPERANDS, MATMUL_TILED],
            Multiply::Blocked => &[MATMUL_OPERANDS, MATMUL_BLOCKED, BLOCKED_STORE],
            Multiply::BlockedK4 => &[MATMUL_BLOCKED_K4, BLOCKED_STORE],
            // Its store fragment, outer_product_vec4.wgsl, is the update's epilogue.
            Multiply::GradientVec4 => &[MATMUL_OPERANDS_B4, MATMUL_BLOCKED],
            Multiply::Lanes => &[MATMUL_OPERANDS, MATMUL_LANES, LANES_STORE],
            Multiply::LanesK4 => &[MATMUL_LANES_K4, LANES_STORE],
            // Its store fragment, outer_product_vec4.wgsl, is the update's epilogue.
            Multiply::GradientLanes => &[MATMUL_OPERANDS_B4, GRADIENT_LANES],
        }
    }

    /// Whether the variant reads A and B as vec4s: it needs K a multiple of 4.
    pub fn reads_vec4(self) -> bool {
        matches!(
            self,
            Multiply::BlockedK4
                | Multiply::GradientVec4
                | Multiply::LanesK4
                | Multiply::GradientLanes
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Multiply::Tiled => "tiled",
            Multiply::Blocked => "blocked",
            Multiply::BlockedK4 => "blocked_k4",
            Multiply::GradientVec4 => "gradient_vec4",
            Multiply::Lanes => "lanes",
            Multiply::LanesK4 => "lanes_k4",
            Multiply::GradientLanes => "gradient_lanes",
        }
    }

    /// Rows of the result one workgroup row of the grid covers.
    pub fn rows_per_group(self) -> u32 {
        match self {
            Multiply::Tiled => TILE,
            Multiply::Blocked | Multiply::GradientVec4 | Multiply::GradientLanes => BLOCK,
            Multiply::BlockedK4 => BLOCK_K4,
            Multiply::Lanes | Multiply::LanesK4 => LANES,
        }
    }

    /// Workgroups for an M × N result: one per tile (tiled), or workgroups of BLOCKED_GROUP
    /// invocations along N, each invocation one block (blocked).
    pub fn grid(self, m: usize, n: usize) -> [u32; 3] {
        match self {
            Multiply::Tiled => [groups_of(n, TILE), groups_of(m, TILE), 1],
            Multiply::Blocked | Multiply::GradientVec4 => blocked_grid(m, n, BLOCK),
            Multiply::BlockedK4 => blocked_grid(m, n, BLOCK_K4),
            // One subgroup per workgroup, LANES rows by LANES·LANE_COLS columns.
            Multiply::Lanes => [groups_of(n, LANES * LANE_COLS), groups_of(m, LANES), 1],
            Multiply::LanesK4 => [groups_of(n, LANES * LANE_COLS_K4), groups_of(m, LANES), 1],
            // One subgroup per workgroup, each lane one BLOCK x BLOCK block.
            Multiply::GradientLanes => [groups_of(n, LANES * BLOCK), groups_of(m, BLOCK), 1],
        }
    }
}

/// Whether an adapter gets the tiled multiply. On a CPU driver (llvmpipe) each workgroup barrier
/// switches between the workgroup's SIMD rows and costs more than the reuse it buys, and every
/// storage-buffer load is a per-lane loop, so the register-blocked multiply without workgroup
/// memory is the faster one there (BENCHMARKS.md, "GPU path on lavapipe"). Real GPUs get
/// the tiled one.
pub(crate) fn prefer_tiled(ctx: &GpuContext) -> bool {
    !ctx.is_software()
}

/// Whether the blocked path's products share loads by subgroup broadcast (matmul_lanes.wgsl,
/// matmul_lanes_k4.wgsl, gradient_lanes.wgsl): a software adapter with wgpu's SUBGROUP
/// feature and subgroups of exactly [`LANES`] invocations (lavapipe on 256-bit SIMD; not wgpu's
/// GL backend). Those kernels take a workgroup of LANES invocations to be one subgroup, as
/// llvmpipe runs it (one SIMD row); Vulkan promises that only with full subgroups required,
/// which wgpu does not ask for, so a hardware adapter never gets them (nor does it take the
/// blocked path), and the self-test holds them to the blocked kernels' bits where they run.
pub(crate) fn has_lanes(ctx: &GpuContext) -> bool {
    ctx.is_software() && ctx.subgroups_of(LANES)
}

/// Workgroups of BLOCKED_GROUP invocations, each computing a `block` × `block` piece of an
/// M × N result.
fn blocked_grid(m: usize, n: usize, block: u32) -> [u32; 3] {
    let blocks = (n as u32).div_ceil(block) as usize;
    [groups_of(blocks, BLOCKED_GROUP), groups_of(m, block), 1]
}

/// ⌈n / size⌉, at least 1.
pub(crate) fn groups_of(n: usize, size: u32) -> u32 {
    (n as u32).div_ceil(size).max(1)
}
