//! The generic register-tile kernels of the small-batch step (see the parent module for the
//! math), written once over the vector type ([`Simd`]) and inlined into each instruction
//! set's entry point (`tiles.rs`).

use super::*;

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
pub(super) unsafe fn forward_generic<S: Tiles>(
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
pub(super) unsafe fn sigmoid_in_place<S: Simd>(out: &mut [f32]) {
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
pub(super) unsafe fn forward_tile<S: Simd, const R: usize, const J: usize>(
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
pub(super) enum Cols {
    Four,
    Two,
    One,
    Part,
}

/// The column tiles of a row of `width`: (first column, shape), `S::TILE_VECS` full vectors
/// at a time, then single vectors, then the partial tail.
#[inline(always)]
pub(super) fn column_tiles<S: Simd>(width: usize) -> impl Iterator<Item = (usize, Cols)> {
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
pub(super) unsafe fn load_col<S: Simd, const PARTIAL: bool>(p: *const f32, rest: usize) -> S::V {
    if PARTIAL {
        S::load_first(p, rest)
    } else {
        S::load(p)
    }
}

#[inline(always)]
pub(super) unsafe fn store_col<S: Simd, const PARTIAL: bool>(p: *mut f32, v: S::V, rest: usize) {
    if PARTIAL {
        S::store_first(p, v, rest)
    } else {
        S::store(p, v)
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn delta_generic<S: Tiles>(
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
pub(super) unsafe fn delta_tile<S: Simd, const R: usize, const C: usize, const PARTIAL: bool>(
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
pub(super) unsafe fn update_generic<S: Tiles>(
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
pub(super) unsafe fn update_tile<S: Simd, const J: usize, const C: usize, const PARTIAL: bool>(
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
