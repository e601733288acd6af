// Training steps of whole small networks, one workgroup per member, `chunk.count` steps per
// dispatch (fused_common.wgsl holds the forward pass). Step s of member m reads its record
// records[(chunk.first + s)·members + m] (its batch size, where its samples sit in `order`, and
// its η, λ/n, optimizer constants), and makes the four equations over its mini-batch:
//   BP1  δᴸ = ∇ₐC ⊙ σ'(zᴸ)                   output_error.wgsl, one invocation per sample
//   BP2  δˡ = ((Wˡ⁺¹)ᵀδˡ⁺¹) ⊙ aˡ(1 − aˡ)       from Wˡ⁺¹ before it changes
//   BP3  ∂C/∂bˡ = Σ_b δˡ[b]                   summed over the batch in row order
//   BP4  ∂C/∂Wˡ = Σ_b δˡ[b]·(aˡ⁻¹[b])ᵀ         summed over the batch in row order
// (each sum in the order written below, whichever invocation computes it)
// and hands each parameter's g (gradient.wgsl) to the optimizer's update(index, g, w), which
// returns the new value (update_sgd / update_momentum / update_adam: the same fragments the
// per-layer path uses, with their state slots at bindings 4 and 5). A record with rows = 0 leaves its member as it
// is (a member that stopped early). Barriers separate the phases; between steps a storage
// barrier makes the updated parameters visible to the next forward pass.

@group(1) @binding(1) var<storage, read> records: array<Step>;
@group(1) @binding(2) var<storage, read> order: array<u32>;
@group(1) @binding(3) var<storage, read_write> params: array<vec4<f32>>;

// The record of the step being made (every invocation of the workgroup holds the same).
var<private> step: Step;

// δ of every layer after the input, laid out like `acts`.
var<workgroup> deltas: array<f32, FUSED_BATCH * FUSED_ACTS>;

fn sample_at(b: u32) -> u32 {
    return order[step.order_offset + b];
}

fn set_delta(i: u32, delta: f32) {
    deltas[i] = delta;
}

// Stores float i of the parameters.
fn set_param(i: u32, value: f32) {
    params[i / 4u][i % 4u] = value;
}

// BP2 for the input side of layer l (l ≥ 1), row b, input k:
//   δˡ⁻¹[b][k] = (Σ_j δˡ[b][j]·Wˡ[j][k]) · aˡ⁻¹(1 − aˡ⁻¹), summed over j in order.
fn backprop_at(l: u32, b: u32, k: u32, member_base: u32) {
    let info = layer(l);
    let inputs = info.x;
    let w0 = member_base + info.z;
    var acc = 0.0;
    for (var j = 0u; j < info.y; j = j + 1u) {
        acc = acc + deltas[b * FUSED_ACTS + info.w + j] * param(w0 + j * inputs + k);
    }
    let at = b * FUSED_ACTS + layer(l - 1u).w + k;
    deltas[at] = acc * sigmoid_prime_from_activation(acts[at]);
}

fn backprop_layer(l: u32, rows: u32, member_base: u32, lid: u32) {
    let inputs = layer(l).x;
    for (var item = lid; item < rows * inputs; item = item + FUSED_GROUP) {
        backprop_at(l, item / inputs, item % inputs, member_base);
    }
}

// The new value of weight `index` from the sum over the batch of δ·a (BP4): g, then the
// optimizer.
fn new_weight(index: u32, sum: f32, w: f32) -> f32 {
    return update(index, weight_gradient(sum, w), w);
}

// BP4 and the update for one unit's four weights W[j][4w .. 4w+3] (row starting at `row`),
// from their sums over the batch.
fn update_row4(row: u32, inputs: u32, w: u32, sums: vec4<f32>) {
    let current = weights4(row, inputs, w);
    let k = 4u * w;
    if (inputs % 4u == 0u) {
        // Four weights of one aligned vec4: one store.
        params[row / 4u + w] = vec4<f32>(
            new_weight(row + k, sums.x, current.x),
            new_weight(row + k + 1u, sums.y, current.y),
            new_weight(row + k + 2u, sums.z, current.z),
            new_weight(row + k + 3u, sums.w, current.w),
        );
        return;
    }
    for (var c = 0u; c < 4u; c = c + 1u) {
        if (k + c < inputs) {
            set_param(row + k + c, new_weight(row + k + c, sums[c], current[c]));
        }
    }
}

// BP4 and the update for the weights of units j0 .. j0+FUSED_GRAD_UNITS−1 and inputs
// 4w0 .. 4(w0+FUSED_GRAD_WORDS)−1: each the sum over the batch's rows, in row order, of
// δˡ[b][j]·aˡ⁻¹[b][k]. Per row it loads the block's δ and inputs once for all its products.
fn update_block(l: u32, j0: u32, w0: u32, rows: u32, member_base: u32) {
    let info = layer(l);
    let inputs = info.x;
    let outputs = info.y;
    let words = (inputs + 3u) / 4u;
    var acc: array<vec4<f32>, FUSED_GRAD_UNITS * FUSED_GRAD_WORDS>;
    for (var b = 0u; b < rows; b = b + 1u) {
        var x: array<vec4<f32>, FUSED_GRAD_WORDS>;
        for (var v = 0u; v < FUSED_GRAD_WORDS; v = v + 1u) {
            x[v] = inputs4(l, inputs, b, min(w0 + v, words - 1u));
        }
        let at = b * FUSED_ACTS + info.w;
        for (var c = 0u; c < FUSED_GRAD_UNITS; c = c + 1u) {
            let d = deltas[at + min(j0 + c, outputs - 1u)];
            for (var v = 0u; v < FUSED_GRAD_WORDS; v = v + 1u) {
                let i = c * FUSED_GRAD_WORDS + v;
                acc[i] = acc[i] + d * x[v];
            }
        }
    }
    let first = member_base + info.z;
    for (var c = 0u; c < FUSED_GRAD_UNITS; c = c + 1u) {
        let j = j0 + c;
        for (var v = 0u; v < FUSED_GRAD_WORDS; v = v + 1u) {
            if (j < outputs && w0 + v < words) {
                update_row4(first + j * inputs, inputs, w0 + v, acc[c * FUSED_GRAD_WORDS + v]);
            }
        }
    }
}

// BP3 and the update for bias bˡ[j]: Σ_b δˡ[b][j] in row order.
fn update_bias(l: u32, j: u32, rows: u32, member_base: u32) {
    let info = layer(l);
    var sum = 0.0;
    for (var b = 0u; b < rows; b = b + 1u) {
        sum = sum + deltas[b * FUSED_ACTS + info.w + j];
    }
    let index = member_base + info.z + info.y * info.x + j;
    set_param(index, update(index, bias_gradient(sum), param(index)));
}

// Layer l's parameter update: (FUSED_GRAD_UNITS units, 4·FUSED_GRAD_WORDS inputs) per item,
// then the biases.
fn update_layer(l: u32, rows: u32, member_base: u32, lid: u32) {
    let info = layer(l);
    let word_blocks = ((info.x + 3u) / 4u + FUSED_GRAD_WORDS - 1u) / FUSED_GRAD_WORDS;
    let unit_blocks = (info.y + FUSED_GRAD_UNITS - 1u) / FUSED_GRAD_UNITS;
    for (var item = lid; item < unit_blocks * word_blocks; item = item + FUSED_GROUP) {
        let j0 = FUSED_GRAD_UNITS * (item / word_blocks);
        let w0 = FUSED_GRAD_WORDS * (item % word_blocks);
        update_block(l, j0, w0, rows, member_base);
    }
    for (var j = lid; j < info.y; j = j + FUSED_GROUP) {
        update_bias(l, j, rows, member_base);
    }
}

@compute @workgroup_size(FUSED_GROUP, 1, 1)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let member = group.x;
    let member_base = member * FUSED_MEMBER_FLOATS;
    for (var s = 0u; s < chunk.count; s = s + 1u) {
        let record = (chunk.first + s) * chunk.members + member;
        let rows = records[record].rows;
        if (rows == 0u) {
            continue;
        }
        step = records[record];
        load_tile(rows, lid);
        forward(rows, member_base, lid);
        for (var b = lid; b < rows; b = b + FUSED_GROUP) {
            output_error_row(output_base(b), FUSED_CLASSES, row_labels[b]);
        }
        workgroupBarrier();
        for (var i = 0u; i < FUSED_LAYERS; i = i + 1u) {
            let l = FUSED_LAYERS - 1u - i;
            if (l > 0u) {
                backprop_layer(l, rows, member_base, lid);
                // δˡ⁻¹ is complete, and every read of Wˡ is done before Wˡ changes.
                workgroupBarrier();
                storageBarrier();
            }
            // Layer l's update reads δˡ and aˡ⁻¹, which nothing below writes, and writes only
            // Wˡ, which nothing below reads: no barrier is needed until the step ends.
            update_layer(l, rows, member_base, lid);
        }
        // The next step's forward pass reads the new parameters and reuses the tile's memory.
        storageBarrier();
        workgroupBarrier();
    }
    mark_done(member, lid);
}
