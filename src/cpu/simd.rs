//! The few vector operations the small-batch kernels need, once per instruction set: 16 f32
//! lanes with AVX-512F, 8 with AVX2+FMA, and a portable 8-lane version in plain Rust that the
//! compiler vectorizes where it can (NEON on aarch64).
//!
//! A kernel is written once, generic over [`Simd`], with every function on its path marked
//! `#[inline(always)]`, and entered through a function compiled with the instruction set's
//! `#[target_feature]`, so that the intrinsics inline into it (see `small_batch.rs`). Callers
//! must have checked [`super::isa::Isa::detected`] before entering an AVX path.
//!
//! Every operation takes raw pointers: the kernels check their slices' lengths once, up front.
//! A partial load or store touches only the first `n` lanes' memory (masked on x86, which
//! suppresses faults on the masked-off lanes), so it is safe at the end of a slice.

/// One vector of f32 lanes and its operations.
///
/// # Safety
/// Every method is `unsafe`: pointers must be valid for the lanes touched, and the AVX
/// implementations may only run where the processor has those instructions.
pub trait Simd: Copy {
    /// f32 lanes per vector.
    const LANES: usize;
    /// Register tiles of the small-batch kernels, sized so that accumulators, operands and a
    /// broadcast fit the registers (16 with AVX2, 32 with AVX-512): a forward tile is
    /// `FWD_ROWS × FWD_OUTS` sums; BP2 and update tiles are 4 rows (outputs) × `TILE_VECS`
    /// vectors.
    const FWD_ROWS: usize;
    const FWD_OUTS: usize;
    const TILE_VECS: usize;
    type V: Copy;
    unsafe fn zero() -> Self::V;
    unsafe fn splat(x: f32) -> Self::V;
    /// Loads `LANES` values from `p`.
    unsafe fn load(p: *const f32) -> Self::V;
    /// Loads the first `n` (< `LANES`) values from `p`; the other lanes are 0.
    unsafe fn load_first(p: *const f32, n: usize) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    /// Stores the first `n` (< `LANES`) lanes of `v` to `p`.
    unsafe fn store_first(p: *mut f32, v: Self::V, n: usize);
    /// a·b + c, rounded once where the instruction set has FMA (twice in the portable version).
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// The sum of the lanes, in a fixed order (a tree of pairwise adds).
    unsafe fn sum(v: Self::V) -> f32;
    /// σ(z) = 1/(1 + e^(−z)) in every lane; see [`sigmoid_error`] for how far it may be from
    /// the scalar `activation::sigmoid`.
    unsafe fn sigmoid(z: Self::V) -> Self::V;
}

/// How e^x is computed in vector lanes (Cephes' expf): n = round(x·log₂e), r = x − n·ln 2 in
/// two parts (so r is exact to f32), e^r ≈ 1 + r + r²·p(r) with p of degree 5 on
/// |r| ≤ ln2/2, and e^x = e^r·2ⁿ (relative error below 1.7e-7, under 3 ulp). x is first
/// clamped to [−87.3, 89]: below, e^x < 2⁻¹²⁶ and σ = 1/(1 + e^x) rounds to 1 as the scalar σ
/// does; above, e^x overflows to ∞ in f32 as it does in scalar code, and σ is 0.
const EXP_LO: f32 = -87.3;
const EXP_HI: f32 = 89.0;
const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
const EXP_P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_2e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5, // Cephes' 5.0000001201e-1, which rounds to 0.5 in f32
];

/// The vector σ's distance from the scalar one, relative to σ: e^x within 3 ulp of exact (the
/// polynomial) and the scalar libm e^x within 1, then 1 + e and 1/(·) each round once in both,
/// and a relative error of e carries at most 1:1 into σ = 1/(1 + e). So 8u·σ, plus the
/// smallest normal float for the values that flush to zero.
#[cfg(test)]
pub fn sigmoid_error(sigma: f32) -> f32 {
    8.0 * (f32::EPSILON / 2.0) * sigma.abs() + f32::MIN_POSITIVE
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Simd, EXP_HI, EXP_LO, EXP_P, LN2_HI, LN2_LO, LOG2E};
    use std::arch::x86_64::*;

    /// AVX-512F: 16 lanes, masked partial loads and stores.
    #[derive(Clone, Copy)]
    pub struct Avx512;

    impl Simd for Avx512 {
        const LANES: usize = 16;
        // 20 + 4 + 1 and 16 + 4 + 1 of the 32 registers
        const FWD_ROWS: usize = 5;
        const FWD_OUTS: usize = 4;
        const TILE_VECS: usize = 4;
        type V = __m512;
        #[inline(always)]
        unsafe fn zero() -> __m512 {
            _mm512_setzero_ps()
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            _mm512_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            _mm512_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f32, n: usize) -> __m512 {
            _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            _mm512_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn store_first(p: *mut f32, v: __m512, n: usize) {
            _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask16, v)
        }
        #[inline(always)]
        unsafe fn mul_add(a: __m512, b: __m512, c: __m512) -> __m512 {
            _mm512_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn sub(a: __m512, b: __m512) -> __m512 {
            _mm512_sub_ps(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            _mm512_mul_ps(a, b)
        }
        #[inline(always)]
        unsafe fn sum(v: __m512) -> f32 {
            // The tree of Avx2::sum (i + i⁺⁸, then + i⁺⁴, + i⁺², + i⁺¹) in 512-bit operations
            // only: a 256- or 128-bit VEX instruction can address only registers 0–15 without
            // AVX-512VL, and feeding one from the accumulators made the compiler keep all of
            // them there and spill the rest of a 5 × 4 tile.
            let v = _mm512_add_ps(v, _mm512_shuffle_f32x4::<0b01_00_11_10>(v, v));
            let v = _mm512_add_ps(v, _mm512_shuffle_f32x4::<0b10_11_00_01>(v, v));
            let v = _mm512_add_ps(v, _mm512_permute_ps::<0b01_00_11_10>(v));
            let v = _mm512_add_ps(v, _mm512_permute_ps::<0b10_11_00_01>(v));
            _mm512_cvtss_f32(v)
        }
        #[inline(always)]
        unsafe fn sigmoid(z: __m512) -> __m512 {
            // max/min with the constant first: a NaN z stays NaN.
            let x = _mm512_sub_ps(_mm512_setzero_ps(), z);
            let x = _mm512_min_ps(
                _mm512_set1_ps(EXP_HI),
                _mm512_max_ps(_mm512_set1_ps(EXP_LO), x),
            );
            let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                _mm512_mul_ps(x, _mm512_set1_ps(LOG2E)),
            );
            let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
            let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
            let mut p = _mm512_set1_ps(EXP_P[0]);
            for &c in &EXP_P[1..] {
                p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
            }
            let one = _mm512_set1_ps(1.0);
            let er = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, one));
            // e^r·2ⁿ, overflowing to ∞ as e^x does
            let e = _mm512_scalef_ps(er, n);
            _mm512_div_ps(one, _mm512_add_ps(one, e))
        }
    }

    /// AVX2 with FMA: 8 lanes; partial loads and stores through AVX's masked moves.
    #[derive(Clone, Copy)]
    pub struct Avx2;

    /// Eight −1s then eight 0s: the 8 ints from offset 8 − n are the mask of the first n lanes.
    static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

    #[inline(always)]
    unsafe fn first_lanes(n: usize) -> __m256i {
        _mm256_loadu_si256(MASKS.as_ptr().add(8 - n) as *const __m256i)
    }

    #[inline(always)]
    unsafe fn sum8(v: __m256) -> f32 {
        let x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let x = _mm_add_ps(x, _mm_movehl_ps(x, x));
        let x = _mm_add_ss(x, _mm_movehdup_ps(x));
        _mm_cvtss_f32(x)
    }

    impl Simd for Avx2 {
        const LANES: usize = 8;
        // 12 + 3 + 1 and 8 + 2 + 1 of the 16 registers
        const FWD_ROWS: usize = 4;
        const FWD_OUTS: usize = 3;
        const TILE_VECS: usize = 2;
        type V = __m256;
        #[inline(always)]
        unsafe fn zero() -> __m256 {
            _mm256_setzero_ps()
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m256 {
            _mm256_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            _mm256_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f32, n: usize) -> __m256 {
            _mm256_maskload_ps(p, first_lanes(n))
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            _mm256_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn store_first(p: *mut f32, v: __m256, n: usize) {
            _mm256_maskstore_ps(p, first_lanes(n), v)
        }
        #[inline(always)]
        unsafe fn mul_add(a: __m256, b: __m256, c: __m256) -> __m256 {
            _mm256_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn sub(a: __m256, b: __m256) -> __m256 {
            _mm256_sub_ps(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            _mm256_mul_ps(a, b)
        }
        #[inline(always)]
        unsafe fn sum(v: __m256) -> f32 {
            sum8(v)
        }
        #[inline(always)]
        unsafe fn sigmoid(z: __m256) -> __m256 {
            let x = _mm256_sub_ps(_mm256_setzero_ps(), z);
            let x = _mm256_min_ps(
                _mm256_set1_ps(EXP_HI),
                _mm256_max_ps(_mm256_set1_ps(EXP_LO), x),
            );
            let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                _mm256_mul_ps(x, _mm256_set1_ps(LOG2E)),
            );
            let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
            let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
            let mut p = _mm256_set1_ps(EXP_P[0]);
            for &c in &EXP_P[1..] {
                p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
            }
            let one = _mm256_set1_ps(1.0);
            let er = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, one));
            // e^r·2ⁿ as (e^r·2ⁿ⁻¹)·2: n − 1 ∈ [−127, 127] has an exponent field, and n = 128
            // overflows to ∞ in the last multiply as e^x does.
            let n1 = _mm256_sub_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(1));
            let scale = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
                n1,
                _mm256_set1_epi32(127),
            )));
            let e = _mm256_mul_ps(_mm256_mul_ps(er, scale), _mm256_set1_ps(2.0));
            _mm256_div_ps(one, _mm256_add_ps(one, e))
        }
    }
}

/// Plain Rust over `[f32; 8]`: any processor. Multiply and add round separately here (a
/// software fused multiply-add would be far slower where the hardware has none).
#[derive(Clone, Copy)]
pub struct Portable;

impl Simd for Portable {
    const LANES: usize = 8;
    const FWD_ROWS: usize = 4;
    const FWD_OUTS: usize = 3;
    const TILE_VECS: usize = 2;
    type V = [f32; 8];
    #[inline(always)]
    unsafe fn zero() -> [f32; 8] {
        [0.0; 8]
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> [f32; 8] {
        [x; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 8] {
        std::ptr::read_unaligned(p as *const [f32; 8])
    }
    #[inline(always)]
    unsafe fn load_first(p: *const f32, n: usize) -> [f32; 8] {
        let mut v = [0.0; 8];
        std::ptr::copy_nonoverlapping(p, v.as_mut_ptr(), n);
        v
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; 8]) {
        std::ptr::write_unaligned(p as *mut [f32; 8], v)
    }
    #[inline(always)]
    unsafe fn store_first(p: *mut f32, v: [f32; 8], n: usize) {
        std::ptr::copy_nonoverlapping(v.as_ptr(), p, n);
    }
    #[inline(always)]
    unsafe fn mul_add(a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] * b[i] + c[i])
    }
    #[inline(always)]
    unsafe fn sub(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] - b[i])
    }
    #[inline(always)]
    unsafe fn mul(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] * b[i])
    }
    #[inline(always)]
    unsafe fn sum(v: [f32; 8]) -> f32 {
        // The same tree as Avx2::sum: (0+4, 1+5, 2+6, 3+7), then (0+2, 1+3), then 0+1.
        let x: [f32; 4] = std::array::from_fn(|i| v[i] + v[i + 4]);
        let (a, b) = (x[0] + x[2], x[1] + x[3]);
        a + b
    }
    #[inline(always)]
    unsafe fn sigmoid(z: [f32; 8]) -> [f32; 8] {
        // the scalar σ itself, lane by lane
        z.map(crate::cpu::activation::sigmoid)
    }
}
