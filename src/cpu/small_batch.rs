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

// ---- entry points: the generic kernels compiled for each instruction set ------------------

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_avx512(
    a: &[f32],
    w: &[f32],
    b: &[f32],
    out: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    forward_generic::<Avx512>(a, w, b, out, m, k, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn sigmoid_avx512(out: &mut [f32]) {
    sigmoid_in_place::<Avx512>(out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_avx2(
    a: &[f32],
    w: &[f32],
    b: &[f32],
    out: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    forward_generic::<Avx2>(a, w, b, out, m, k, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sigmoid_avx2(out: &mut [f32]) {
    sigmoid_in_place::<Avx2>(out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn delta_avx512(
    d_up: &[f32],
    w_up: &[f32],
    a: &[f32],
    d: &mut [f32],
    m: usize,
    n_up: usize,
    n: usize,
) {
    delta_generic::<Avx512>(d_up, w_up, a, d, m, n_up, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn delta_avx2(
    d_up: &[f32],
    w_up: &[f32],
    a: &[f32],
    d: &mut [f32],
    m: usize,
    n_up: usize,
    n: usize,
) {
    delta_generic::<Avx2>(d_up, w_up, a, d, m, n_up, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn update_avx512(
    delta: &[f32],
    a: &[f32],
    w: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    c: Step,
) {
    update_generic::<Avx512>(delta, a, w, m, n, k, c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn update_avx2(
    delta: &[f32],
    a: &[f32],
    w: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    c: Step,
) {
    update_generic::<Avx2>(delta, a, w, m, n, k, c)
}

/// The tile kernels for one instruction set. With AVX, each shape of tile is a function of
/// its own, compiled for the instruction set and not inlined: inlined, all of them into one
/// function with the loops around them, they made the register allocator spill the
/// accumulators of the 5 × 4 forward tile to the stack (nielsen's epoch 20–50% slower).
trait Tiles: Simd {
    #[allow(clippy::too_many_arguments)]
    unsafe fn forward_tile<const R: usize, const J: usize>(
        a: &[f32],
        w: &[f32],
        b: &[f32],
        out: &mut [f32],
        k: usize,
        n: usize,
        r0: usize,
        j0: usize,
    );
    #[allow(clippy::too_many_arguments)]
    unsafe fn delta_tile<const R: usize, const C: usize, const PARTIAL: bool>(
        d_up: &[f32],
        w_up: &[f32],
        a: &[f32],
        d: &mut [f32],
        n_up: usize,
        n: usize,
        r0: usize,
        q0: usize,
    );
    #[allow(clippy::too_many_arguments)]
    unsafe fn update_tile<const J: usize, const C: usize, const PARTIAL: bool>(
        delta: &[f32],
        a: &[f32],
        w: &mut [f32],
        m: usize,
        n: usize,
        k: usize,
        j0: usize,
        p0: usize,
        c: Step,
    );
}

/// Implements [`Tiles`] for `$s` through functions compiled with `$feat` (`$fwd`, `$delta`,
/// `$update` name them); the portable version inline.
macro_rules! tiles_for {
    ($s:ty) => {
        impl Tiles for $s {
            #[inline(always)]
            unsafe fn forward_tile<const R: usize, const J: usize>(
                a: &[f32],
                w: &[f32],
                b: &[f32],
                out: &mut [f32],
                k: usize,
                n: usize,
                r0: usize,
                j0: usize,
            ) {
                forward_tile::<$s, R, J>(a, w, b, out, k, n, r0, j0)
            }
            #[inline(always)]
            unsafe fn delta_tile<const R: usize, const C: usize, const PARTIAL: bool>(
                d_up: &[f32],
                w_up: &[f32],
                a: &[f32],
                d: &mut [f32],
                n_up: usize,
                n: usize,
                r0: usize,
                q0: usize,
            ) {
                delta_tile::<$s, R, C, PARTIAL>(d_up, w_up, a, d, n_up, n, r0, q0)
            }
            #[inline(always)]
            unsafe fn update_tile<const J: usize, const C: usize, const PARTIAL: bool>(
                delta: &[f32],
                a: &[f32],
                w: &mut [f32],
                m: usize,
                n: usize,
                k: usize,
                j0: usize,
                p0: usize,
                c: Step,
            ) {
                update_tile::<$s, J, C, PARTIAL>(delta, a, w, m, n, k, j0, p0, c)
            }
        }
    };
    ($s:ty, $feat:literal, $fwd:ident, $delta:ident, $update:ident) => {
        impl Tiles for $s {
            #[inline(always)]
            unsafe fn forward_tile<const R: usize, const J: usize>(
                a: &[f32],
                w: &[f32],
                b: &[f32],
                out: &mut [f32],
                k: usize,
                n: usize,
                r0: usize,
                j0: usize,
            ) {
                $fwd::<R, J>(a, w, b, out, k, n, r0, j0)
            }
            #[inline(always)]
            unsafe fn delta_tile<const R: usize, const C: usize, const PARTIAL: bool>(
                d_up: &[f32],
                w_up: &[f32],
                a: &[f32],
                d: &mut [f32],
                n_up: usize,
                n: usize,
                r0: usize,
                q0: usize,
            ) {
                $delta::<R, C, PARTIAL>(d_up, w_up, a, d, n_up, n, r0, q0)
            }
            #[inline(always)]
            unsafe fn update_tile<const J: usize, const C: usize, const PARTIAL: bool>(
                delta: &[f32],
                a: &[f32],
                w: &mut [f32],
                m: usize,
                n: usize,
                k: usize,
                j0: usize,
                p0: usize,
                c: Step,
            ) {
                $update::<J, C, PARTIAL>(delta, a, w, m, n, k, j0, p0, c)
            }
        }
        #[target_feature(enable = $feat)]
        #[inline(never)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $fwd<const R: usize, const J: usize>(
            a: &[f32],
            w: &[f32],
            b: &[f32],
            out: &mut [f32],
            k: usize,
            n: usize,
            r0: usize,
            j0: usize,
        ) {
            forward_tile::<$s, R, J>(a, w, b, out, k, n, r0, j0)
        }
        #[target_feature(enable = $feat)]
        #[inline(never)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $delta<const R: usize, const C: usize, const PARTIAL: bool>(
            d_up: &[f32],
            w_up: &[f32],
            a: &[f32],
            d: &mut [f32],
            n_up: usize,
            n: usize,
            r0: usize,
            q0: usize,
        ) {
            delta_tile::<$s, R, C, PARTIAL>(d_up, w_up, a, d, n_up, n, r0, q0)
        }
        #[target_feature(enable = $feat)]
        #[inline(never)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $update<const J: usize, const C: usize, const PARTIAL: bool>(
            delta: &[f32],
            a: &[f32],
            w: &mut [f32],
            m: usize,
            n: usize,
            k: usize,
            j0: usize,
            p0: usize,
            c: Step,
        ) {
            update_tile::<$s, J, C, PARTIAL>(delta, a, w, m, n, k, j0, p0, c)
        }
    };
}

tiles_for!(Portable);
#[cfg(target_arch = "x86_64")]
tiles_for!(
    Avx512,
    "avx512f",
    forward_tile_avx512,
    delta_tile_avx512,
    update_tile_avx512
);
#[cfg(target_arch = "x86_64")]
tiles_for!(
    Avx2,
    "avx2,fma",
    forward_tile_avx2,
    delta_tile_avx2,
    update_tile_avx2
);

// ---- the kernels -------------------------------------------------------------------------

/// Calls `S::$f::<R, J>` (see [`Tiles`]) with the const R, J matching the runtime `$r` ∈ 1..=5, `$j` ∈ 1..=4.
macro_rules! tile_dispatch {
    ($r:expr, $j:expr, $f:ident::<$s:ty>($($arg:expr),*)) => {
        match ($r, $j) {
            (5, 4) => <$s as Tiles>::$f::<5, 4>($($arg),*),
            (5, 3) => <$s as Tiles>::$f::<5, 3>($($arg),*),
            (5, 2) => <$s as Tiles>::$f::<5, 2>($($arg),*),
            (5, 1) => <$s as Tiles>::$f::<5, 1>($($arg),*),
            (4, 4) => <$s as Tiles>::$f::<4, 4>($($arg),*),
            (4, 3) => <$s as Tiles>::$f::<4, 3>($($arg),*),
            (4, 2) => <$s as Tiles>::$f::<4, 2>($($arg),*),
            (4, 1) => <$s as Tiles>::$f::<4, 1>($($arg),*),
            (3, 4) => <$s as Tiles>::$f::<3, 4>($($arg),*),
            (3, 3) => <$s as Tiles>::$f::<3, 3>($($arg),*),
            (3, 2) => <$s as Tiles>::$f::<3, 2>($($arg),*),
            (3, 1) => <$s as Tiles>::$f::<3, 1>($($arg),*),
            (2, 4) => <$s as Tiles>::$f::<2, 4>($($arg),*),
            (2, 3) => <$s as Tiles>::$f::<2, 3>($($arg),*),
            (2, 2) => <$s as Tiles>::$f::<2, 2>($($arg),*),
            (2, 1) => <$s as Tiles>::$f::<2, 1>($($arg),*),
            (1, 4) => <$s as Tiles>::$f::<1, 4>($($arg),*),
            (1, 3) => <$s as Tiles>::$f::<1, 3>($($arg),*),
            (1, 2) => <$s as Tiles>::$f::<1, 2>($($arg),*),
            _ => <$s as Tiles>::$f::<1, 1>($($arg),*),
        }
    };
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_generic<S: Tiles>(
    a: &[f32],
    w: &[f32],
    b: &[f32],
    out: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    let mut r0 = 0;
    while r0 < m {
        let rows = S::FWD_ROWS.min(m - r0);
        let mut j0 = 0;
        while j0 < n {
            let outs = S::FWD_OUTS.min(n - j0);
            tile_dispatch!(rows, outs, forward_tile::<S>(a, w, b, out, k, n, r0, j0));
            j0 += outs;
        }
        r0 += rows;
    }
}

/// out ← σ(out), a vector at a time.
#[inline(always)]
unsafe fn sigmoid_in_place<S: Simd>(out: &mut [f32]) {
    let p = out.as_mut_ptr();
    let full = out.len() - out.len() % S::LANES;
    let mut i = 0;
    while i < full {
        S::store(p.add(i), S::sigmoid(S::load(p.add(i))));
        i += S::LANES;
    }
    let rest = out.len() - full;
    if rest > 0 {
        S::store_first(p.add(i), S::sigmoid(S::load_first(p.add(i), rest)), rest);
    }
}

/// R rows × J outputs of the forward pass: R·J sums along p in the lanes of as many vectors,
/// then z = Σ + b.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_tile<S: Simd, const R: usize, const J: usize>(
    a: &[f32],
    w: &[f32],
    b: &[f32],
    out: &mut [f32],
    k: usize,
    n: usize,
    r0: usize,
    j0: usize,
) {
    let a = a.as_ptr().add(r0 * k);
    let w = w.as_ptr().add(j0 * k);
    let mut acc = [[S::zero(); J]; R];
    let full = k - k % S::LANES;
    let mut p = 0;
    while p < full {
        let wv: [S::V; J] = std::array::from_fn(|j| S::load(w.add(j * k + p)));
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let av = S::load(a.add(r * k + p));
            for (acc_rj, &wj) in acc_r.iter_mut().zip(&wv) {
                *acc_rj = S::mul_add(av, wj, *acc_rj);
            }
        }
        p += S::LANES;
    }
    let rest = k - full;
    if rest > 0 {
        let wv: [S::V; J] = std::array::from_fn(|j| S::load_first(w.add(j * k + p), rest));
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let av = S::load_first(a.add(r * k + p), rest);
            for (acc_rj, &wj) in acc_r.iter_mut().zip(&wv) {
                *acc_rj = S::mul_add(av, wj, *acc_rj);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let row = out.as_mut_ptr().add((r0 + r) * n + j0);
        for (j, &v) in acc_r.iter().enumerate() {
            let z = S::sum(v) + *b.get_unchecked(j0 + j);
            *row.add(j) = z;
        }
    }
}

/// Calls `S::$f::<R, C, PARTIAL>` (see [`Tiles`]) for the runtime `$r` ∈ 1..=4 and one of the column
/// shapes: four or two full vectors, one full vector, one partial vector.
macro_rules! cols_dispatch {
    ($r:expr, $cols:expr, $f:ident::<$s:ty>($($arg:expr),*)) => {
        match ($r, $cols) {
            (4, Cols::Four) => <$s as Tiles>::$f::<4, 4, false>($($arg),*),
            (4, Cols::Two) => <$s as Tiles>::$f::<4, 2, false>($($arg),*),
            (4, Cols::One) => <$s as Tiles>::$f::<4, 1, false>($($arg),*),
            (4, Cols::Part) => <$s as Tiles>::$f::<4, 1, true>($($arg),*),
            (3, Cols::Four) => <$s as Tiles>::$f::<3, 4, false>($($arg),*),
            (3, Cols::Two) => <$s as Tiles>::$f::<3, 2, false>($($arg),*),
            (3, Cols::One) => <$s as Tiles>::$f::<3, 1, false>($($arg),*),
            (3, Cols::Part) => <$s as Tiles>::$f::<3, 1, true>($($arg),*),
            (2, Cols::Four) => <$s as Tiles>::$f::<2, 4, false>($($arg),*),
            (2, Cols::Two) => <$s as Tiles>::$f::<2, 2, false>($($arg),*),
            (2, Cols::One) => <$s as Tiles>::$f::<2, 1, false>($($arg),*),
            (2, Cols::Part) => <$s as Tiles>::$f::<2, 1, true>($($arg),*),
            (_, Cols::Four) => <$s as Tiles>::$f::<1, 4, false>($($arg),*),
            (_, Cols::Two) => <$s as Tiles>::$f::<1, 2, false>($($arg),*),
            (_, Cols::One) => <$s as Tiles>::$f::<1, 1, false>($($arg),*),
            (_, Cols::Part) => <$s as Tiles>::$f::<1, 1, true>($($arg),*),
        }
    };
}

/// How many vectors a tile spans along a row: `TILE_VECS` (four or two) full ones, one full
/// one, or the row's partial tail.
#[derive(Clone, Copy)]
enum Cols {
    Four,
    Two,
    One,
    Part,
}

/// The column tiles of a row of `width`: (first column, shape), `S::TILE_VECS` full vectors
/// at a time, then single vectors, then the partial tail.
#[inline(always)]
fn column_tiles<S: Simd>(width: usize) -> impl Iterator<Item = (usize, Cols)> {
    let (lanes, vecs) = (S::LANES, S::TILE_VECS);
    let wide = if vecs == 4 { Cols::Four } else { Cols::Two };
    let tiles = width / (vecs * lanes);
    let after_tiles = tiles * vecs * lanes;
    let single = (width - after_tiles) / lanes;
    let after_single = after_tiles + single * lanes;
    (0..tiles)
        .map(move |i| (i * vecs * lanes, wide))
        .chain((0..single).map(move |i| (after_tiles + i * lanes, Cols::One)))
        .chain((after_single < width).then_some((after_single, Cols::Part)))
}

/// Loads vector c of a tile starting at `p` (the partial tail has `rest` lanes).
#[inline(always)]
unsafe fn load_col<S: Simd, const PARTIAL: bool>(p: *const f32, rest: usize) -> S::V {
    if PARTIAL {
        S::load_first(p, rest)
    } else {
        S::load(p)
    }
}

#[inline(always)]
unsafe fn store_col<S: Simd, const PARTIAL: bool>(p: *mut f32, v: S::V, rest: usize) {
    if PARTIAL {
        S::store_first(p, v, rest)
    } else {
        S::store(p, v)
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn delta_generic<S: Tiles>(
    d_up: &[f32],
    w_up: &[f32],
    a: &[f32],
    d: &mut [f32],
    m: usize,
    n_up: usize,
    n: usize,
) {
    let mut r0 = 0;
    while r0 < m {
        let rows = BP_ROWS.min(m - r0);
        for (q0, cols) in column_tiles::<S>(n) {
            cols_dispatch!(
                rows,
                cols,
                delta_tile::<S>(d_up, w_up, a, d, n_up, n, r0, q0)
            );
        }
        r0 += rows;
    }
}

/// R rows × C vectors of δ: Σ_j δ_up[r][j]·W_up[j][q] from zero in j order, then ⊙ a(1 − a).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn delta_tile<S: Simd, const R: usize, const C: usize, const PARTIAL: bool>(
    d_up: &[f32],
    w_up: &[f32],
    a: &[f32],
    d: &mut [f32],
    n_up: usize,
    n: usize,
    r0: usize,
    q0: usize,
) {
    let rest = n - q0;
    let mut acc = [[S::zero(); C]; R];
    let du = d_up.as_ptr().add(r0 * n_up);
    for j in 0..n_up {
        let wrow = w_up.as_ptr().add(j * n + q0);
        let wv: [S::V; C] =
            std::array::from_fn(|c| load_col::<S, PARTIAL>(wrow.add(c * S::LANES), rest));
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let dv = S::splat(*du.add(r * n_up + j));
            for (acc_rc, &wc) in acc_r.iter_mut().zip(&wv) {
                *acc_rc = S::mul_add(dv, wc, *acc_rc);
            }
        }
    }
    let one = S::splat(1.0);
    for (r, acc_r) in acc.iter().enumerate() {
        let at = (r0 + r) * n + q0;
        for (c, &v) in acc_r.iter().enumerate() {
            let av = load_col::<S, PARTIAL>(a.as_ptr().add(at + c * S::LANES), rest);
            // (d·a)·(1 − a), as the reference multiplies.
            let dv = S::mul(S::mul(v, av), S::sub(one, av));
            store_col::<S, PARTIAL>(d.as_mut_ptr().add(at + c * S::LANES), dv, rest);
        }
    }
}

#[inline(always)]
unsafe fn update_generic<S: Tiles>(
    delta: &[f32],
    a: &[f32],
    w: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    c: Step,
) {
    for (p0, cols) in column_tiles::<S>(k) {
        let mut j0 = 0;
        while j0 < n {
            let outs = UPD_OUTS.min(n - j0);
            cols_dispatch!(
                outs,
                cols,
                update_tile::<S>(delta, a, w, m, n, k, j0, p0, c)
            );
            j0 += outs;
        }
    }
}

/// J outputs × C vectors of inputs: Σ_r δ[r][j]·a[r][p] from zero in row order, then
/// w ← (1 − ηλ/n)·w − (η/m)·Σ.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn update_tile<S: Simd, const J: usize, const C: usize, const PARTIAL: bool>(
    delta: &[f32],
    a: &[f32],
    w: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    j0: usize,
    p0: usize,
    c: Step,
) {
    let rest = k - p0;
    let mut acc = [[S::zero(); C]; J];
    for r in 0..m {
        let arow = a.as_ptr().add(r * k + p0);
        let av: [S::V; C] =
            std::array::from_fn(|i| load_col::<S, PARTIAL>(arow.add(i * S::LANES), rest));
        let drow = delta.as_ptr().add(r * n + j0);
        for (j, acc_j) in acc.iter_mut().enumerate() {
            let dv = S::splat(*drow.add(j));
            for (acc_ji, &ai) in acc_j.iter_mut().zip(&av) {
                *acc_ji = S::mul_add(dv, ai, *acc_ji);
            }
        }
    }
    let (keep, scale) = (S::splat(c.keep), S::splat(c.scale));
    for (j, acc_j) in acc.iter().enumerate() {
        let wrow = w.as_mut_ptr().add((j0 + j) * k + p0);
        for (i, &g_sum) in acc_j.iter().enumerate() {
            let wp = wrow.add(i * S::LANES);
            let wv = load_col::<S, PARTIAL>(wp, rest);
            // keep·w is exact when λ = 0 (keep = 1): then one rounding in all, the FMA's.
            store_col::<S, PARTIAL>(wp, S::mul_add(scale, g_sum, S::mul(keep, wv)), rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Optimizer, StepHyper};
    use crate::cpu::activation::sigmoid;
    use crate::cpu::backprop::{backward, forward, Gradients, Workspace};
    use crate::cpu::simd::sigmoid_error;
    use crate::model::Layer;

    /// u = 2⁻²⁴, the unit roundoff of f32: one correctly rounded operation on exact inputs
    /// errs by at most u relative to its result.
    const U: f64 = f32::EPSILON as f64 / 2.0;

    /// Every instruction set this processor can run, the portable one included.
    fn isas() -> Vec<Isa> {
        let mut v = vec![Isa::Portable];
        if matches!(Isa::detected(), Isa::Avx2Fma | Isa::Avx512) && cfg!(target_arch = "x86_64") {
            v.push(Isa::Avx2Fma);
        }
        if Isa::detected() == Isa::Avx512 && cfg!(target_arch = "x86_64") {
            v.push(Isa::Avx512);
        }
        v
    }

    fn values(len: usize, salt: f32, scale: f32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i as f32 + salt) * 0.7310).sin() * scale)
            .collect()
    }

    /// Shapes (m, k, n) with every tail the tiles have: rows not a multiple of 4, outputs not
    /// a multiple of 3 or 4, widths below one vector, between one and two, and above.
    const SHAPES: [(usize, usize, usize); 7] = [
        (1, 1, 1),
        (10, 784, 30),
        (10, 30, 10),
        (7, 37, 19),
        (13, 100, 10),
        (64, 17, 5),
        (3, 5, 33),
    ];

    /// z = Σ_p a·w + b against an f64 sum of the same f32 values, within the bound for an
    /// f32 sum of k products plus the bias in any order, (k+1)·u·(Σ|a·w| + |b|) + u·|z| (the
    /// γ bound to first order; the terms of order u² are far below the margin the + u·|z|
    /// leaves). With σ, the hidden layer gets the scalar σ of that z to within `sigmoid_error`.
    #[test]
    fn forward_layer_is_within_the_dot_product_bound_of_f64() {
        for isa in isas() {
            for (m, k, n) in SHAPES {
                let a = values(m * k, 0.3, 1.0);
                let w = values(n * k, 1.7, 0.2);
                let b = values(n, 2.9, 1.0);
                let mut z = vec![f32::NAN; m * n];
                forward_layer(isa, m, &a, &w, &b, &mut z, false);
                let mut s = vec![f32::NAN; m * n];
                forward_layer(isa, m, &a, &w, &b, &mut s, true);
                for r in 0..m {
                    for j in 0..n {
                        let terms =
                            (0..k).map(|p| f64::from(a[r * k + p]) * f64::from(w[j * k + p]));
                        let exact = terms.clone().sum::<f64>() + f64::from(b[j]);
                        let size = terms.map(f64::abs).sum::<f64>() + f64::from(b[j]).abs();
                        let bound = (k as f64 + 1.0) * U * size + U * exact.abs();
                        let got = f64::from(z[r * n + j]);
                        assert!(
                            (got - exact).abs() <= bound,
                            "{isa:?} m={m} k={k} n={n}: z[{r}][{j}] = {got}, f64 {exact}, bound {bound}"
                        );
                        let want = sigmoid(z[r * n + j]);
                        assert!(
                            (s[r * n + j] - want).abs() <= sigmoid_error(want),
                            "{isa:?} σ at [{r}][{j}]: {} vs the scalar σ's {want}",
                            s[r * n + j]
                        );
                    }
                }
            }
        }
    }

    /// The vector σ against the scalar one, within `sigmoid_error` (its argument is in
    /// simd.rs), over the whole range and the edges of e^x's: where it overflows (z < −88.7),
    /// where it leaves the normal floats (z > 87.3), and ±∞; NaN stays NaN.
    #[test]
    fn vector_sigmoid_is_within_its_bound_of_the_scalar_sigmoid() {
        let mut zs: Vec<f32> = (-24_000..=24_000).map(|i| i as f32 * 0.005).collect();
        zs.extend([
            0.0,
            -0.0,
            87.2,
            87.4,
            88.0,
            88.5,
            88.8,
            89.5,
            103.0,
            1e30,
            f32::MAX,
            f32::INFINITY,
        ]);
        let neg: Vec<f32> = zs.iter().map(|z| -z).collect();
        zs.extend(neg);
        for isa in isas() {
            let mut s = zs.clone();
            let m = s.len(); // not a multiple of 8 or 16: the σ pass has a partial tail
            let w = vec![1.0f32];
            let b = vec![0.0f32];
            // a 1-input, 1-output layer with w = 1, b = 0 gives z = a exactly
            let mut out = vec![0.0f32; m];
            forward_layer(isa, m, &s[..m], &w, &b, &mut out, true);
            s[..m].copy_from_slice(&out);
            for (&z, &got) in zs[..m].iter().zip(&s[..m]) {
                let want = sigmoid(z);
                assert!(
                    (got - want).abs() <= sigmoid_error(want),
                    "{isa:?} σ({z}) = {got}, the scalar σ {want}"
                );
            }
            let mut nan = vec![0.0f32; 1];
            forward_layer(isa, 1, &[f32::NAN], &w, &b, &mut nan, true);
            assert!(nan[0].is_nan(), "{isa:?} σ(NaN) = {}", nan[0]);
        }
    }

    /// δ = (Σ_j δ_up·W) ⊙ a(1 − a) against f64 from the same f32 values: the sum of n_up
    /// products errs by at most n_up·u·Σ|δ_up·W| (first order), and the two products and the
    /// 1 − a add u each relative to |S|·a·(1 − a): (n_up + 3)·u·Σ|δ_up·W|·a(1 − a), and + 1
    /// for the second-order terms.
    #[test]
    fn delta_layer_is_within_the_dot_product_bound_of_f64() {
        for isa in isas() {
            for (m, n, n_up) in SHAPES {
                let d_up = values(m * n_up, 0.1, 0.5);
                let w_up = values(n_up * n, 4.2, 0.3);
                // activations in (0, 1), as σ makes them
                let a: Vec<f32> = values(m * n, 3.3, 1.0)
                    .iter()
                    .map(|v| 0.5 + 0.49 * v)
                    .collect();
                let mut d = vec![f32::NAN; m * n];
                delta_layer(isa, m, &d_up, &w_up, &a, &mut d);
                for r in 0..m {
                    for q in 0..n {
                        let terms = (0..n_up)
                            .map(|j| f64::from(d_up[r * n_up + j]) * f64::from(w_up[j * n + q]));
                        let av = f64::from(a[r * n + q]);
                        let exact = terms.clone().sum::<f64>() * av * (1.0 - av);
                        let size = terms.map(f64::abs).sum::<f64>() * av * (1.0 - av);
                        let bound = (n_up as f64 + 4.0) * U * size;
                        let got = f64::from(d[r * n + q]);
                        assert!(
                            (got - exact).abs() <= bound,
                            "{isa:?} m={m} n_up={n_up} n={n}: δ[{r}][{q}] = {got}, f64 {exact}, bound {bound}"
                        );
                    }
                }
            }
        }
    }

    /// w ← w − η(Σ_r δ·a/m + (λ/n)·w) against f64 from the same f32 values of η, 1/m, λ/n:
    /// the sum of m products errs by at most m·u·Σ|δ·a|; keep = 1 − ηλ/n (two roundings),
    /// scale = −η/m, keep·w and the final FMA add u each of their results, so
    /// |error| ≤ η/m·(m + 2)·u·Σ|δ·a| + 4u·|w| + u·|w'|.
    #[test]
    fn sgd_update_is_within_the_bound_of_f64() {
        let hyper = StepHyper {
            eta: 0.5,
            lambda: 5.0,
            n_train: 1000,
            batch_size: 10,
            optimizer: Optimizer::default(),
        };
        for isa in isas() {
            for (m, k, n) in SHAPES {
                let rule = UpdateRule::new(&hyper, m, 1);
                let delta = values(m * n, 0.9, 0.4);
                let a = values(m * k, 5.1, 1.0);
                let w0 = values(n * k, 6.6, 1.0);
                let mut w = w0.clone();
                sgd_update_layer(isa, m, &delta, &a, &mut w, &rule);
                let (eta, inv_m, decay) = (
                    f64::from(rule.c.eta),
                    f64::from(rule.c.inv_rows),
                    f64::from(rule.c.decay),
                );
                for j in 0..n {
                    for p in 0..k {
                        let terms =
                            (0..m).map(|r| f64::from(delta[r * n + j]) * f64::from(a[r * k + p]));
                        let wv = f64::from(w0[j * k + p]);
                        let g = terms.clone().sum::<f64>() * inv_m + decay * wv;
                        let exact = wv - eta * g;
                        let size = terms.map(f64::abs).sum::<f64>();
                        let bound = eta * inv_m * (m as f64 + 2.0) * U * size
                            + 4.0 * U * wv.abs()
                            + U * exact.abs();
                        let got = f64::from(w[j * k + p]);
                        assert!(
                            (got - exact).abs() <= bound,
                            "{isa:?} m={m} k={k} n={n}: w[{j}][{p}] = {got}, f64 {exact}, bound {bound}"
                        );
                    }
                }
            }
        }
    }

    /// The whole fused step against the reference's (gemm forward and backward, then
    /// UpdateRule::apply) for every output and cost, on a network with every tile tail:
    /// the two differ only in the order of the forward sums (each within (k+1)·u of exact,
    /// above), which one step of η = 0.5 on O(1) values carries into the weights at ~1e-6;
    /// 1e-5 relative to 1 + |w| leaves margin and is far below a wrong term (≥ 1e-3).
    #[test]
    fn a_fused_step_tracks_the_reference_step() {
        let sizes = [37, 19, 5];
        let (pixels, count) = (37, 70);
        let set = Dataset {
            rows: 1,
            cols: pixels,
            images: (0..pixels * count)
                .map(|i| ((i * 37) % 256) as u8)
                .collect(),
            labels: (0..count).map(|i| (i % 5) as u8).collect(),
        };
        let hyper = StepHyper {
            eta: 0.5,
            lambda: 5.0,
            n_train: count,
            batch_size: 13,
            optimizer: Optimizer::default(),
        };
        let start = Params {
            layers: sizes
                .windows(2)
                .enumerate()
                .map(|(l, s)| Layer {
                    inputs: s[0],
                    outputs: s[1],
                    weight: values(s[0] * s[1], l as f32, 0.4),
                    bias: values(s[1], 10.0 + l as f32, 0.5),
                })
                .collect(),
        };
        for isa in isas() {
            for (output, cost) in [
                (Output::Sigmoid, Cost::Quadratic),
                (Output::Sigmoid, Cost::CrossEntropy),
                (Output::Softmax, Cost::CrossEntropy),
                (Output::Softmax, Cost::Quadratic),
            ] {
                for m in [1, 13, MAX_ROWS] {
                    let batch: Vec<u32> = (0..m as u32).map(|i| (i * 7) % count as u32).collect();
                    let rule = UpdateRule::new(&hyper, m, 1);
                    let mut fused = start.clone();
                    SmallBatch::with_isa(&sizes, isa)
                        .sgd_step(&mut fused, output, cost, &set, &batch, &rule);

                    let mut reference = start.clone();
                    let mut ws = Workspace::new(&sizes, MAX_ROWS);
                    let scale = 1.0f32 / 255.0;
                    for (row, &i) in ws.input_mut(m).chunks_exact_mut(pixels).zip(&batch) {
                        for (v, &px) in row.iter_mut().zip(set.image(i as usize)) {
                            *v = f32::from(px) * scale;
                        }
                    }
                    let labels: Vec<u8> = batch.iter().map(|&i| set.labels[i as usize]).collect();
                    let mut grads = Gradients::zeros(&sizes);
                    {
                        let layers = crate::cpu::layer_refs(&reference);
                        forward(&layers, output, &mut ws, m, 1);
                        backward(&layers, output, cost, &labels, &mut ws, &mut grads, 1);
                    }
                    for (l, layer) in reference.layers.iter_mut().enumerate() {
                        rule.apply(&mut layer.weight, &grads.weight[l], &mut []);
                        rule.without_decay()
                            .apply(&mut layer.bias, &grads.bias[l], &mut []);
                    }
                    for (l, (f, r)) in fused.layers.iter().zip(&reference.layers).enumerate() {
                        for (what, x, y) in [("W", &f.weight, &r.weight), ("b", &f.bias, &r.bias)] {
                            for (i, (&x, &y)) in x.iter().zip(y).enumerate() {
                                assert!(
                                    (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                                    "{isa:?} {output:?}/{cost:?} m={m} layer {l} {what}[{i}]: fused {x}, reference {y}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
