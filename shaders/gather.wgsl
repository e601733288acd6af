// The batch gather: X[i, p] = image_{s(i)}[p] · (1/255), the input activations of one mini-batch,
// where s(i) = order[order_offset + i] (training, the epoch's shuffled index list) or
// order_offset + i (evaluation, storage order). Images are stored as u8 pixels packed four to a
// u32 (little-endian: pixel 4w + b is byte b of word w), each image padded to whole words, and
// split over up to IMAGE_BINDINGS bindings of whole images when the set exceeds one binding.
// One invocation per (sample, word): it writes the word's four pixels.

// The host's copy is GatherDims in src/gpu/layout.rs.
struct GatherDims {
    pixels: u32,
    words_per_image: u32,
    images_per_chunk: u32,
    // Member m's batch starts at float m·batch_stride of batch_out.
    batch_stride: u32,
}

@group(1) @binding(0) var<uniform> gather_dims: GatherDims;
@group(1) @binding(1) var<storage, read> order: array<u32>;
@group(1) @binding(2) var<storage, read_write> batch_out: array<f32>;
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

@compute @workgroup_size(ROW_GROUP, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    begin_member(id.z);
    let word = id.x;
    let row = id.y;
    if (row >= step.rows || word >= gather_dims.words_per_image) {
        return;
    }
    var sample = step.order_offset + row;
    if (step.sequential == 0u) {
        sample = order[sample];
    }
    let chunk = sample / gather_dims.images_per_chunk;
    let local = sample % gather_dims.images_per_chunk;
    let packed = image_word(chunk, local * gather_dims.words_per_image + word);
    let pixels = gather_dims.pixels;
    for (var b = 0u; b < 4u; b = b + 1u) {
        let p = word * 4u + b;
        if (p < pixels) {
            batch_out[member * gather_dims.batch_stride + row * pixels + p] = f32((packed >> (8u * b)) & 0xffu) * (1.0 / 255.0);
        }
    }
}
