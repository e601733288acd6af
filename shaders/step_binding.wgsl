// The step record of the per-layer kernels: one record per step, chosen by the dynamic offset
// of bind group 0 (src/gpu/layout.rs's step_group).

@group(0) @binding(0) var<uniform> step: Step;

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
