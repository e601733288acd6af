//! One SGD step for a mini-batch of at most [`MAX_ROWS`] samples, in f32, with kernels made for
//! that shape instead of general matrix products: at batch 10 each of gemm's products is a few
//! microseconds of arithmetic, and packing W, dispatching and the separate passes for the bias,
//! σ, σ' and the update cost as much again.
//!
//! With m samples as rows (batch-major), W of layer l `n × k` row-major, read where it lies:
//! - forward, dot form: z[r][j] = Σ_p a[r][p]·W[j][p] + b[j], over register tiles of rows ×
//!   outputs whose sums run along p in vector lanes and are added across lanes at the end;
//!   then σ over the hidden layer's m × n values in vector lanes (`Simd::sigmoid`);
//! - (BP1) δᴸ from aᴸ and the label, row by row, as the reference does;
//! - (BP2) δˡ[r][q] = (Σ_j δˡ⁺¹[r][j]·Wˡ⁺¹[j][q]) · a[r][q](1 − a[r][q]), vectors along q
//!   (the rows of Wˡ⁺¹), tiles of 4 rows × 4 (AVX2: 2) vectors, σ' applied before the tile is
//!   stored;
//! - (BP3, BP4 and the update, fused) for each tile of 4 outputs × 4 (AVX2: 2) vectors of
//!   inputs, Σ_r δ[r][j]·a[r][p] in registers, then straight away
//!   W ← (1 − ηλ/n)W − (η/m)Σ, the SGD rule rearranged as `large_batch.rs` has gemm apply it:
//!   the gradient is never stored, and W is read once and written once.
//!
//! The tiles are 5 × 4 sums with AVX-512 (32 registers) and 4 × 3 with AVX2 (16). The BP2 and
//! BP4 sums add their terms in the order gemm's kernels do (one fused multiply-add per unit or
//! sample, from zero); the forward sums run in vector lanes and then across them, and the
//! update rounds once where the reference's rounds three times, so the results differ from
//! the gemm path's in the last bits, and σ is the vector one, within 8 ulp of the scalar σ
//! (the unit tests bound each kernel against f64, and σ against the scalar σ). δᴸ, the output
//! activation and the bias update are the reference's own functions.

use super::activation::{activate_output, output_delta_in_place};
use super::isa::Isa;
use super::optimizer::UpdateRule;
#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::simd::{Portable, Simd};
use crate::config::{Cost, OptimizerKind, Output};
use crate::data::Dataset;
use crate::model::Params;

/// The largest mini-batch this path takes; larger ones go through gemm, whose packing pays
/// for itself there.
pub const MAX_ROWS: usize = 64;

/// Rows of a BP2 tile, and outputs of an update tile (their width is `Simd::TILE_VECS`).
const BP_ROWS: usize = 4;
const UPD_OUTS: usize = 4;

/// The activations and errors of one small mini-batch.
pub struct SmallBatch {
    isa: Isa,
    /// acts[0]: the inputs; acts[l]: aˡ, `m × width(l)`.
    acts: Vec<Vec<f32>>,
    /// deltas[l]: δ of weight layer l, `m × outputs(l)`.
    deltas: Vec<Vec<f32>>,
}

impl SmallBatch {
    /// Buffers for a network of layer widths `sizes`, with this processor's kernels.
    pub fn new(sizes: &[usize]) -> Self {
        SmallBatch::with_isa(sizes, Isa::detected())
    }

    /// The same with the kernels of `isa`, which must be no wider than [`Isa::detected`].
    pub(crate) fn with_isa(sizes: &[usize], isa: Isa) -> Self {
        SmallBatch {
            isa,
            acts: sizes.iter().map(|&n| vec![0.0; n * MAX_ROWS]).collect(),
            deltas: sizes[1..]
                .iter()
                .map(|&n| vec![0.0; n * MAX_ROWS])
                .collect(),
        }
    }

    /// Whether a step of `m` samples with `kind` runs here.
    pub fn takes(m: usize, kind: OptimizerKind) -> bool {
        kind == OptimizerKind::Sgd && (1..=MAX_ROWS).contains(&m)
    }

    /// One SGD step on the images `batch` of `set`: forward, backward and the update of
    /// `params` by `rule` (whose `kind` must be SGD), without storing a gradient.
    pub fn sgd_step(
        &mut self,
        params: &mut Params,
        output: Output,
        cost: Cost,
        set: &Dataset,
        batch: &[u32],
        rule: &UpdateRule,
    ) {
        let m = batch.len();
        assert!(Self::takes(m, rule.kind), "not a small SGD batch");
        let p = set.pixels();
        for (row, &i) in self.acts[0][..m * p].chunks_exact_mut(p).zip(batch) {
            gather_row(self.isa, set.image(i as usize), row);
        }
        self.forward(params, output, m);
        let last = params.layers.len() - 1;
        let n_out = params.layers[last].outputs;
        let delta = &mut self.deltas[last][..m * n_out];
        delta.copy_from_slice(&self.acts[last + 1][..m * n_out]);
        for (row, &i) in delta.chunks_exact_mut(n_out).zip(batch) {
            output_delta_in_place(output, cost, row, set.labels[i as usize] as usize);
        }
        self.backward_and_update(params, m, rule);
    }

    /// Fills every aˡ for the first `m` rows of `acts[0]`.
    fn forward(&mut self, params: &Params, output: Output, m: usize) {
        let last = params.layers.len() - 1;
        for (l, layer) in params.layers.iter().enumerate() {
            let (before, after) = self.acts.split_at_mut(l + 1);
            let (k, n) = (layer.inputs, layer.outputs);
            let out = &mut after[0][..m * n];
            forward_layer(
                self.isa,
                m,
                &before[l][..m * k],
                &layer.weight,
                &layer.bias,
                out,
                l < last,
            );
            if l == last {
                for row in out.chunks_exact_mut(n) {
                    activate_output(output, row);
                }
            }
        }
    }

    /// BP2 from the top down with the weights as they were, then the fused update per layer.
    fn backward_and_update(&mut self, params: &mut Params, m: usize, rule: &UpdateRule) {
        let last = params.layers.len() - 1;
        for l in (0..last).rev() {
            let upper = &params.layers[l + 1];
            let (lower, higher) = self.deltas.split_at_mut(l + 1);
            delta_layer(
                self.isa,
                m,
                &higher[0][..m * upper.outputs],
                &upper.weight,
                &self.acts[l + 1][..m * upper.inputs],
                &mut lower[l][..m * upper.inputs],
            );
        }
        let bias_rule = rule.without_decay();
        let mut bias_grad = Vec::new();
        for (l, layer) in params.layers.iter_mut().enumerate() {
            let (k, n) = (layer.inputs, layer.outputs);
            let delta = &self.deltas[l][..m * n];
            sgd_update_layer(
                self.isa,
                m,
                delta,
                &self.acts[l][..m * k],
                &mut layer.weight,
                rule,
            );
            // (BP3) ∂C/∂b = Σ_rows δ, in row order from zero as the reference sums it.
            bias_grad.clear();
            bias_grad.resize(n, 0.0f32);
            for row in delta.chunks_exact(n) {
                bias_grad.iter_mut().zip(row).for_each(|(g, &d)| *g += d);
            }
            bias_rule.apply(&mut layer.bias, &bias_grad, &mut []);
        }
    }
}

/// Asks the processor to bring the images `batch` of `set` into its caches, for a step that
/// comes after the current one. The images lie anywhere in a training set larger than the
/// last-level cache (50,000 × 784 bytes), and at batch 10 a step reads them sooner than the
/// misses, one image after another, can be served: fetched a step ahead, they are there.
pub fn prefetch_images(set: &Dataset, batch: &[u32]) {
    for &i in batch {
        prefetch(set.image(i as usize));
    }
}

/// row = pixels/255, as the reference's gather computes it, in the widest vectors there are
/// (the loop is the same; compiled for AVX-512F it converts 16 pixels per instruction).
fn gather_row(isa: Isa, pixels: &[u8], row: &mut [f32]) {
    #[inline(always)]
    fn convert(pixels: &[u8], row: &mut [f32]) {
        let scale = 1.0f32 / 255.0;
        for (v, &px) in row.iter_mut().zip(pixels) {
            *v = f32::from(px) * scale;
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn convert_avx512(pixels: &[u8], row: &mut [f32]) {
        convert(pixels, row)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn convert_avx2(pixels: &[u8], row: &mut [f32]) {
        convert(pixels, row)
    }
    match isa {
        // SAFETY: only where the processor has the instructions (the contract of `with_isa`).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { convert_avx512(pixels, row) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { convert_avx2(pixels, row) },
        _ => convert(pixels, row),
    }
}

/// Hints the processor to bring every cache line of `bytes` towards the core.
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        // SAFETY: a prefetch is a hint: it reads nothing architecturally and cannot fault;
        // the address is inside `bytes` anyway.
        unsafe {
            std::arch::x86_64::_mm_prefetch(
                line.as_ptr() as *const i8,
                std::arch::x86_64::_MM_HINT_T1,
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// out[r][j] = Σ_p a[r][p]·w[j][p] + b[j], σ of that where `hidden`; `a` is `m × k`, `w` is
/// `n × k`, `out` `m × n`.
pub(crate) fn forward_layer(
    isa: Isa,
    m: usize,
    a: &[f32],
    w: &[f32],
    b: &[f32],
    out: &mut [f32],
    hidden: bool,
) {
    let n = b.len();
    let k = a.len() / m.max(1);
    assert!(
        m > 0 && n > 0 && k > 0 && a.len() == m * k && w.len() == n * k && out.len() == m * n,
        "forward_layer: shapes do not agree"
    );
    // SAFETY: the lengths were checked above; the AVX kernels run only where `isa` is no
    // wider than what the processor has (the contract of `with_isa`).
    unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => forward_avx512(a, w, b, out, m, k, n),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => forward_avx2(a, w, b, out, m, k, n),
            _ => forward_generic::<Portable>(a, w, b, out, m, k, n),
        }
    }
    // σ in a pass of its own over the m × n values (in L1): inside the same function as the
    // tiles it made the compiler spill their accumulators.
    if hidden {
        sigmoid_all(isa, out);
    }
}

/// out ← σ(out) in vector lanes (within `simd::sigmoid_error` of the scalar σ).
pub(crate) fn sigmoid_all(isa: Isa, out: &mut [f32]) {
    // SAFETY: the kernels touch only `out`; AVX only where `isa` allows it (see forward_layer).
    unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => sigmoid_avx512(out),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => sigmoid_avx2(out),
            _ => sigmoid_in_place::<Portable>(out),
        }
    }
}

/// d[r][q] = (Σ_j d_up[r][j]·w_up[j][q]) · a[r][q](1 − a[r][q]); `d_up` is `m × n_up`,
/// `w_up` `n_up × n`, `a` and `d` `m × n`.
pub(crate) fn delta_layer(
    isa: Isa,
    m: usize,
    d_up: &[f32],
    w_up: &[f32],
    a: &[f32],
    d: &mut [f32],
) {
    let n_up = d_up.len() / m.max(1);
    let n = a.len() / m.max(1);
    assert!(
        m > 0
            && n_up > 0
            && n > 0
            && d_up.len() == m * n_up
            && w_up.len() == n_up * n
            && a.len() == m * n
            && d.len() == m * n,
        "delta_layer: shapes do not agree"
    );
    // SAFETY: as in forward_layer.
    unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => delta_avx512(d_up, w_up, a, d, m, n_up, n),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => delta_avx2(d_up, w_up, a, d, m, n_up, n),
            _ => delta_generic::<Portable>(d_up, w_up, a, d, m, n_up, n),
        }
    }
}

/// W ← (1 − ηλ/n)·W − (η/m)·Σ_r δ[r][j]·a[r][p]: the SGD rule w ← w − η(∂C/∂w / m + (λ/n)w)
/// of `optimizer.rs` rearranged (as `large_batch.rs` has gemm apply it), with ∂C/∂W never
/// stored; `delta` is `m × n`, `a` `m × k`, `w` `n × k`.
pub(crate) fn sgd_update_layer(
    isa: Isa,
    m: usize,
    delta: &[f32],
    a: &[f32],
    w: &mut [f32],
    rule: &UpdateRule,
) {
    let n = delta.len() / m.max(1);
    let k = a.len() / m.max(1);
    assert!(
        m > 0 && n > 0 && k > 0 && delta.len() == m * n && a.len() == m * k && w.len() == n * k,
        "sgd_update_layer: shapes do not agree"
    );
    let c = Step {
        keep: 1.0 - rule.c.eta * rule.c.decay,
        scale: -rule.c.eta * rule.c.inv_rows,
    };
    // SAFETY: as in forward_layer.
    unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => update_avx512(delta, a, w, m, n, k, c),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => update_avx2(delta, a, w, m, n, k, c),
            _ => update_generic::<Portable>(delta, a, w, m, n, k, c),
        }
    }
}

/// The constants of the SGD update w ← keep·w + scale·Σ: keep = 1 − ηλ/n, scale = −η/m.
#[derive(Clone, Copy)]
struct Step {
    keep: f32,
    scale: f32,
}

mod generic;
mod tiles;
use generic::*;
use tiles::*;

#[cfg(test)]
mod tests;
