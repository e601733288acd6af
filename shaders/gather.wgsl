// The batch gather: X[i, p] = image_{s(i)}[p] · (1/255), the input activations of one mini-batch,
// where s(i) = order[order_offset + i] (training, the epoch's shuffled index list) or
// order_offset + i (evaluation, storage order). Images are stored as u8 pixels packed four to a
// u32 (little-endian: pixel 4w + b is byte b of word w), each image padded to whole words, and
// split over up to IMAGE_BINDINGS bindings of whole images when the set exceeds one binding.
// One dispatch may gather the batches of several consecutive steps (src/gpu/input_slots.rs:
// on llvmpipe a dispatch's fixed cost is more than a gather's work): step j of the dispatch
// (its record j steps after the dispatch's first in group 0's window, step_binding.wgsl)
// writes member m's rows from row j·slot_rows of the member's block, where that step's forward
// and gradient products find them through their bind group's offset.
// One workgroup of GATHER_GROUP invocations per (step, member, sample); invocation i writes the
// pixels of words i, i + GATHER_GROUP, ... of the image (neighbouring invocations, neighbouring
// words). On llvmpipe each invocation's fixed work (the index lookup, the bounds, the per-lane
// loops of its loads) costs as much as its pixels, so an invocation takes many words: an MNIST
// image in 16 invocations of 12 or 13 words takes a third fewer instructions per batch than
// one invocation per word did (BENCHMARKS.md).

// The host's copy is GatherDims in src/gpu/layout.rs.
struct GatherDims {
    pixels: u32,
    words_per_image: u32,
    images_per_chunk: u32,
    // Member m's batch starts at float m·batch_stride of batch_out.
    batch_stride: u32,
    // Step j of the dispatch writes its rows from row j·slot_rows of each member's block.
    slot_rows: u32,
    // Workgroup z is step·members + member.
    members: u32,
    // Records between consecutive steps in `steps` (the step buffer's stride / 64 bytes).
    records_per_step: u32,
    _pad: u32,
}

@group(1) @binding(0) var<uniform> gather_dims: GatherDims;
@group(1) @binding(1) var<storage, read> order: array<u32>;
// Viewed as vec4s: where a row's pixels start on a multiple of 4 floats (pixels and the
// member stride multiples of 4, as for MNIST's 784), a word's four pixels are one vec4 store
// (on llvmpipe every store is a loop over the SIMD lanes, so one store costs what one f32
// store does); elsewhere each pixel is stored as one component. The buffer's size is a
// multiple of 16 bytes (layout.rs's activation buffers).
@group(1) @binding(2) var<storage, read_write> batch_out: array<vec4<f32>>;
@group(1) @binding(3) var<storage, read> images0: array<u32>;
@group(1) @binding(4) var<storage, read> images1: array<u32>;
@group(1) @binding(5) var<storage, read> images2: array<u32>;
@group(1) @binding(6) var<storage, read> images3: array<u32>;

// The four bindings above are IMAGE_BINDINGS (src/gpu/layout.rs), the most a set is split over.
const_assert IMAGE_BINDINGS == 4u;

fn image_word(chunk: u32, index: u32) -> u32 {
    switch chunk {
        case 0u: { return images0[index]; }
        case 1u: { return images1[index]; }
        case 2u: { return images2[index]; }
        default: { return images3[index]; }
    }
}

// Word `word` of the row's image (its first word at `image` of binding `chunk`), its four
// pixels from float `first` of batch_out.
fn gather_word(chunk: u32, image: u32, word: u32, first: u32) {
    let pixels = gather_dims.pixels;
    let packed = image_word(chunk, image + word);
    let bytes = (vec4<u32>(packed) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
    let values = vec4<f32>(bytes) * (1.0 / 255.0);
    if (first % 4u == 0u && word * 4u + 4u <= pixels) {
        batch_out[first / 4u] = values;
        return;
    }
    for (var b = 0u; b < 4u; b = b + 1u) {
        if (word * 4u + b < pixels) {
            let at = first + b;
            batch_out[at / 4u][at % 4u] = values[b];
        }
    }
}

@compute @workgroup_size(GATHER_GROUP, 1, 1)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
) {
    let j = group.z / gather_dims.members;
    begin_member(group.z % gather_dims.members);
    // Step j's record of this member (j = 0: `step` itself).
    let record = steps[j * gather_dims.records_per_step + member];
    let row = group.y;
    if (row >= record.rows) {
        return;
    }
    var sample = record.order_offset + row;
    if (record.sequential == 0u) {
        sample = order[sample];
    }
    // Where the image sits: its binding and its first word there (once per invocation).
    let chunk = sample / gather_dims.images_per_chunk;
    let image = (sample % gather_dims.images_per_chunk) * gather_dims.words_per_image;
    let row_first = member * gather_dims.batch_stride
        + (j * gather_dims.slot_rows + row) * gather_dims.pixels;
    // Invocation i takes words i, i + GATHER_GROUP, ...: neighbours read neighbouring words.
    for (var word = local.x; word < gather_dims.words_per_image; word = word + GATHER_GROUP) {
        gather_word(chunk, image, word, row_first + word * 4u);
    }
}
