// What the fused small-network kernels share (fused_train.wgsl, fused_eval.wgsl): one workgroup
// holds one member's whole network for a tile of up to FUSED_BATCH samples, with the input
// pixels, activations and errors in workgroup memory and the parameters in storage, and runs
// the forward pass
//   zˡ = Wˡ·aˡ⁻¹ + bˡ,   aˡ = σ(zˡ)   (the output layer keeps z; a⁰ = pixel/255)
// layer after layer, with a barrier between layers. Each z is summed over k in one fixed order
// by one invocation (no atomics, no cross-invocation reduction), so the result does not depend
// on the workgroup size or the blocking, and the same seed gives the same bits run after run.
// The FUSED_* constants are generated per network by src/gpu/fused/shape.rs; the including
// kernel defines `sample_at(b)` (which sample is row b of the tile) and declares `params`, the
// members' parameters as vec4 (one load for four weights; `param(i)` reads float i).
// Every sum runs in the order the functions below write it, whichever invocation computes it,
// so the workgroup size does not change the bits.
// Bindings of group 1: 3 params (declared by the kernel), 6 labels, 7 images (one binding: the
// fused path needs the set in one storage binding), 10 the dispatch marks.

// The network is in the generated constants: FUSED_MEMBER_FLOATS (floats of one member's
// parameters; member m's block starts at m·FUSED_MEMBER_FLOATS), FUSED_CLASSES (the output
// width), and `layer(l)`, per weight layer l: (inputs, outputs, where W_l starts in a member's
// block (b_l follows W_l), where layer l's activations start in a row of `acts`). Being
// constants, they fold into the code once it is specialised for each layer, so branches on the
// layer (the first one reads pixels; rows of W start aligned or not) cost nothing.

// Which records (training: steps; evaluation: tiles) one dispatch covers. The host's copy is
// FusedChunk in src/gpu/layout.rs; chosen per dispatch by a dynamic offset.
struct FusedChunk {
    first: u32,
    count: u32,
    members: u32,
    // Evaluation: the split's size.
    set_len: u32,
    // Always 2: the iterations of loops_ran_whole's loop.
    loop_check: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> chunk: FusedChunk;
@group(1) @binding(6) var<storage, read> labels: array<u32>;
@group(1) @binding(7) var<storage, read> images: array<u32>;
// Per member two counts: [2m] the dispatches its workgroup finished, [2m + 1] those in which
// the driver cut its loops short. The host clears the marks, then checks after a run that
// every dispatch ran (a dropped command buffer is an error, not weights silently left
// untrained) and that none was cut short. One workgroup per member per dispatch, and
// dispatches run in queue order, so the counts need no atomics.
@group(1) @binding(10) var<storage, read_write> marks: array<u32>;

// Whether every loop of this invocation ran to its end. llvmpipe gives a run of a shader a
// budget of loop trips shared by all its loops (src/gpu/fused/trainer/loop_budget.rs) and,
// once it is spent, ends every loop after its current trip without a word: a loop of two
// iterations then makes one. Its count comes from the uniform (the host's
// FusedChunk::LOOP_CHECK), so no compiler knows it and unrolls the loop away.
fn loops_ran_whole() -> bool {
    var ran = 0u;
    for (var i = 0u; i < chunk.loop_check; i = i + 1u) {
        ran = ran + 1u;
    }
    return ran == chunk.loop_check;
}

// Set by any invocation of the workgroup whose loops were cut short.
var<workgroup> cut_short: atomic<u32>;

// Counts the dispatch as done, once every invocation is past its last barrier, and as cut
// short where any invocation's loops were.
fn mark_done(member: u32, lid: u32) {
    let whole = loops_ran_whole();
    if (lid == 0u) {
        atomicStore(&cut_short, 0u);
    }
    workgroupBarrier();
    if (!whole) {
        atomicStore(&cut_short, 1u);
    }
    workgroupBarrier();
    if (lid == 0u) {
        marks[2u * member] = marks[2u * member] + 1u;
        marks[2u * member + 1u] = marks[2u * member + 1u] + atomicLoad(&cut_short);
    }
}

// The tile: its samples' packed pixels (four u8 to a word, FUSED_WORDS words per image), labels,
// and per row the activations of every layer after the input (FUSED_ACTS floats a row).
var<workgroup> x_words: array<u32, FUSED_BATCH * FUSED_WORDS>;
var<workgroup> row_samples: array<u32, FUSED_BATCH>;
var<workgroup> row_labels: array<u32, FUSED_BATCH>;
var<workgroup> acts: array<f32, FUSED_BATCH * FUSED_ACTS>;

// The tile's rows' sample indices and labels, then their pixels. Ends with a barrier.
fn load_tile(rows: u32, lid: u32) {
    for (var b = lid; b < rows; b = b + FUSED_GROUP) {
        let sample = sample_at(b);
        row_samples[b] = sample;
        row_labels[b] = labels[sample];
    }
    workgroupBarrier();
    for (var i = lid; i < rows * FUSED_WORDS; i = i + FUSED_GROUP) {
        let b = i / FUSED_WORDS;
        x_words[i] = images[row_samples[b] * FUSED_WORDS + i % FUSED_WORDS];
    }
    workgroupBarrier();
}

// The four inputs k = 4w .. 4w+3 of weight layer l for row b: pixels/255 for the first layer
// (an image's padding bytes are 0), the activations of layer l − 1 otherwise, 0 past `inputs`.
fn inputs4(l: u32, inputs: u32, b: u32, w: u32) -> vec4<f32> {
    if (l == 0u) {
        let word = x_words[b * FUSED_WORDS + w];
        let bytes = vec4<f32>(
            f32(word & 0xffu),
            f32((word >> 8u) & 0xffu),
            f32((word >> 16u) & 0xffu),
            f32(word >> 24u),
        );
        return bytes * (1.0 / 255.0);
    }
    let base = b * FUSED_ACTS + layer(l - 1u).w;
    let k = 4u * w;
    return vec4<f32>(
        act_or_zero(base, k, inputs),
        act_or_zero(base, k + 1u, inputs),
        act_or_zero(base, k + 2u, inputs),
        act_or_zero(base, k + 3u, inputs),
    );
}

fn act_or_zero(base: u32, k: u32, inputs: u32) -> f32 {
    return select(0.0, acts[base + min(k, inputs - 1u)], k < inputs);
}

// Wˡ[j][4w .. 4w+3] (row j of W starting at `row`), 0 past `inputs`: one vec4 load where the
// rows start on a multiple of 4 floats (the layer's inputs are a multiple of 4; member blocks
// and layer blocks are aligned so), four loads otherwise.
fn weights4(row: u32, inputs: u32, w: u32) -> vec4<f32> {
    if (inputs % 4u == 0u) {
        return params[row / 4u + w];
    }
    let k = 4u * w;
    return vec4<f32>(
        weight_or_zero(row, k, inputs),
        weight_or_zero(row, k + 1u, inputs),
        weight_or_zero(row, k + 2u, inputs),
        weight_or_zero(row, k + 3u, inputs),
    );
}

fn weight_or_zero(row: u32, k: u32, inputs: u32) -> f32 {
    return select(0.0, param(row + min(k, inputs - 1u)), k < inputs);
}

// Float i of the parameters.
fn param(i: u32) -> f32 {
    return params[i / 4u][i % 4u];
}

// Where row j of Wˡ starts, clamped to the layer's last unit.
fn weight_row(w0: u32, j: u32, outputs: u32, inputs: u32) -> u32 {
    return w0 + min(j, outputs - 1u) * inputs;
}

// zˡ = Wˡ·aˡ⁻¹ + bˡ and aˡ = σ(zˡ) (z for the output layer) for rows b0 .. b0+FUSED_BLOCK_ROWS−1
// of the tile and units j0 .. j0+FUSED_BLOCK_UNITS−1, each z summed over k four at a time in
// order:  z[b][j] = Σ_w dot(a[b][4w..4w+3], W[j][4w..4w+3]), then + b_j.
// Per four k it loads the block's inputs and weights once for all its products: on a CPU
// driver, where every element a lane loads is a loop over the lanes, loads are what costs.
// Rows and units past the edge are clamped for loading and never written.
fn forward_block(l: u32, rows: u32, b0: u32, j0: u32, member_base: u32) {
    let info = layer(l);
    let inputs = info.x;
    let outputs = info.y;
    let w0 = member_base + info.z;
    let last = rows - 1u;
    var acc: array<f32, FUSED_BLOCK_ROWS * FUSED_BLOCK_UNITS>;
    for (var w = 0u; w < (inputs + 3u) / 4u; w = w + 1u) {
        var x: array<vec4<f32>, FUSED_BLOCK_ROWS>;
        for (var r = 0u; r < FUSED_BLOCK_ROWS; r = r + 1u) {
            x[r] = inputs4(l, inputs, min(b0 + r, last), w);
        }
        for (var c = 0u; c < FUSED_BLOCK_UNITS; c = c + 1u) {
            let wc = weights4(weight_row(w0, j0 + c, outputs, inputs), inputs, w);
            for (var r = 0u; r < FUSED_BLOCK_ROWS; r = r + 1u) {
                let i = r * FUSED_BLOCK_UNITS + c;
                acc[i] = acc[i] + dot(x[r], wc);
            }
        }
    }
    let bias = w0 + outputs * inputs;
    let hidden = l + 1u < FUSED_LAYERS;
    for (var r = 0u; r < FUSED_BLOCK_ROWS; r = r + 1u) {
        let b = b0 + r;
        for (var c = 0u; c < FUSED_BLOCK_UNITS; c = c + 1u) {
            let j = j0 + c;
            if (b < rows && j < outputs) {
                let z = acc[r * FUSED_BLOCK_UNITS + c] + param(bias + j);
                acts[b * FUSED_ACTS + info.w + j] = select(z, sigmoid(z), hidden);
            }
        }
    }
}

// Layer l's forward pass over the tile's rows, a block of (FUSED_BLOCK_ROWS rows,
// FUSED_BLOCK_UNITS units) per item. Ends with a barrier.
fn forward_layer(l: u32, rows: u32, member_base: u32, lid: u32) {
    let unit_blocks = (layer(l).y + FUSED_BLOCK_UNITS - 1u) / FUSED_BLOCK_UNITS;
    let items = ((rows + FUSED_BLOCK_ROWS - 1u) / FUSED_BLOCK_ROWS) * unit_blocks;
    for (var item = lid; item < items; item = item + FUSED_GROUP) {
        let b0 = FUSED_BLOCK_ROWS * (item / unit_blocks);
        let j0 = FUSED_BLOCK_UNITS * (item % unit_blocks);
        forward_block(l, rows, b0, j0, member_base);
    }
    workgroupBarrier();
}

// The forward pass of the whole network over the tile's rows.
fn forward(rows: u32, member_base: u32, lid: u32) {
    for (var l = 0u; l < FUSED_LAYERS; l = l + 1u) {
        forward_layer(l, rows, member_base, lid);
    }
}

// The output layer's z of row b, element j, as output_activation.wgsl reads it.
fn z_at(i: u32) -> f32 {
    return acts[i];
}

// Where row b's output z starts in `acts`.
fn output_base(b: u32) -> u32 {
    return b * FUSED_ACTS + layer(FUSED_LAYERS - 1u).w;
}
