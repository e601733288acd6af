// The step records of the per-layer kernels: one record per member of the group for each step,
// members side by side, the step's first chosen by the dynamic offset of bind group 0
// (src/gpu/layout.rs's step_group). A dispatch covers every member: its grid's z is the member
// (workgroup_id.z), and each kernel's entry point calls begin_member first, so the fragments
// below it read their member's record as `step` and address their member's block of each
// buffer with `member`. Every member's record of a step has the same rows, so control flow
// that a barrier sits in depends only on group_rows(), which is uniform. The binding goes on
// past the step's records to the next GATHER_STEPS − 1 steps' (layout.rs's step_group), which
// the gather reads when it fills several steps' batches (gather.wgsl).

@group(0) @binding(0) var<storage, read> steps: array<Step>;

var<private> member: u32;
var<private> step: Step;

fn begin_member(m: u32) {
    member = m;
    step = steps[m];
}

// The step's batch size m, the same for every member.
fn group_rows() -> u32 {
    return steps[0].rows;
}

// Which part of its grid a dispatch covers. A product too large for one dispatch is split along
// y into dispatches of whole workgroup rows (src/gpu/chunks.rs); each adds its first row,
// group_offset, to workgroup_id.y, so every result is computed by the same invocation code in
// the same order as in one dispatch. 0 for every other dispatch. The host's copy is ChunkRecord.
struct Chunk {
    group_offset: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(1) var<uniform> chunk: Chunk;
