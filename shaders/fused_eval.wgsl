// Evaluation of one split by whole small networks, one workgroup per member: tiles of
// FUSED_BATCH consecutive samples, `chunk.count` tiles per dispatch from tile `chunk.first`,
// each run forward (fused_common.wgsl) and scored per sample (output_cost.wgsl): member m's
// cost and prediction of sample i land at m·set_len + i, and the host sums the costs in f64 in
// index order, so the total is deterministic.

@group(1) @binding(3) var<storage, read> params: array<vec4<f32>>;
@group(1) @binding(8) var<storage, read_write> costs: array<f32>;
@group(1) @binding(9) var<storage, read_write> predictions: array<u32>;

// The first sample of the tile being evaluated.
var<private> tile_first: u32;

fn sample_at(b: u32) -> u32 {
    return tile_first + b;
}

@compute @workgroup_size(FUSED_GROUP, 1, 1)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let member = group.x;
    let member_base = member * FUSED_MEMBER_FLOATS;
    for (var t = 0u; t < chunk.count; t = t + 1u) {
        let first = (chunk.first + t) * FUSED_BATCH;
        if (first >= chunk.set_len) {
            break;
        }
        tile_first = first;
        let rows = min(FUSED_BATCH, chunk.set_len - first);
        load_tile(rows, lid);
        forward(rows, member_base, lid);
        for (var b = lid; b < rows; b = b + FUSED_GROUP) {
            let outcome = row_outcome(output_base(b), FUSED_CLASSES, row_labels[b]);
            let at = member * chunk.set_len + first + b;
            costs[at] = outcome.cost;
            predictions[at] = outcome.prediction;
        }
        // The next tile reuses the tile's memory.
        workgroupBarrier();
    }
    mark_done(member, lid);
}
