//! The small-batch kernels' entry points (see the parent module for the math): the generic
//! kernels of `generic.rs` compiled once per instruction set, each under its `target_feature`.

use super::*;

// ---- entry points: the generic kernels compiled for each instruction set ------------------

/// The four entry points (`$fwd`, `$sig`, `$delta`, `$update`) of the generic kernels for `$s`,
/// each compiled with `$feat`.
macro_rules! entry_points {
    ($s:ty, $feat:literal, $fwd:ident, $sig:ident, $delta:ident, $update:ident) => {
        #[target_feature(enable = $feat)]
        #[allow(clippy::too_many_arguments)]
        pub(super) unsafe fn $fwd(
            a: &[f32],
            w: &[f32],
            b: &[f32],
            out: &mut [f32],
            m: usize,
            k: usize,
            n: usize,
        ) {
            forward_generic::<$s>(a, w, b, out, m, k, n)
        }

        #[target_feature(enable = $feat)]
        pub(super) unsafe fn $sig(out: &mut [f32]) {
            sigmoid_in_place::<$s>(out)
        }

        #[target_feature(enable = $feat)]
        pub(super) unsafe fn $delta(
            d_up: &[f32],
            w_up: &[f32],
            a: &[f32],
            d: &mut [f32],
            m: usize,
            n_up: usize,
            n: usize,
        ) {
            delta_generic::<$s>(d_up, w_up, a, d, m, n_up, n)
        }

        #[target_feature(enable = $feat)]
        pub(super) unsafe fn $update(
            delta: &[f32],
            a: &[f32],
            w: &mut [f32],
            m: usize,
            n: usize,
            k: usize,
            c: Step,
        ) {
            update_generic::<$s>(delta, a, w, m, n, k, c)
        }
    };
}

#[cfg(target_arch = "x86_64")]
entry_points!(
    Avx512,
    "avx512f",
    forward_avx512,
    sigmoid_avx512,
    delta_avx512,
    update_avx512
);
#[cfg(target_arch = "x86_64")]
entry_points!(
    Avx2,
    "avx2,fma",
    forward_avx2,
    sigmoid_avx2,
    delta_avx2,
    update_avx2
);

/// The tile kernels for one instruction set. With AVX, each shape of tile is a function of
/// its own, compiled for the instruction set and not inlined: inlined, all of them into one
/// function with the loops around them, they made the register allocator spill the
/// accumulators of the 5 × 4 forward tile to the stack (nielsen's epoch 20–50% slower).
pub(super) trait Tiles: Simd {
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
