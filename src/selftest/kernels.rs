//! Each kernel alone against the f64 reference: the gather, every multiply variant in every
//! transpose form it is used in (forward A·Wᵀ: TRANS_B; backward δ·W: none; gradient δᵀ·A with
//! the ones column: TRANS_A), each epilogue, each update rule, and the products split over
//! several dispatches. The shapes are not multiples of the 16-wide tile (1, 7, 30, 100, 784,
//! 1025 in every position).

use super::compare::{dot_bound, plant, Comparison};
use super::data::{layer, random_set, rng, uniform, unit};
use super::{reference, Check, Session};
use crate::config::{Optimizer, OptimizerKind, StepHyper};
use crate::error::Result;
use crate::gpu::kernels::{Pipeline, OPTIMIZERS};
use crate::gpu::multiply::{has_lanes, Multiply};
use crate::model::Layer;
use rand_chacha::ChaCha8Rng;

/// (rows, inputs, outputs) of the multiply checks.
pub(crate) const SHAPES: [(usize, usize, usize); 6] = [
    (1, 1, 1),
    (7, 784, 30),
    (30, 7, 100),
    (100, 1025, 7),
    (13, 100, 1025),
    (1025, 30, 1),
];

/// The quick plan's multiply shapes: each of 1, 7, 30, 100, 784, 1025 still appears.
const QUICK_SHAPES: [(usize, usize, usize); 3] = [(1, 1, 1), (7, 784, 30), (100, 1025, 7)];

fn shapes(s: &Session) -> &'static [(usize, usize, usize)] {
    if s.plan.quick {
        &QUICK_SHAPES
    } else {
        &SHAPES
    }
}

fn shape(rows: usize, inputs: usize, outputs: usize, dispatches: usize) -> String {
    let split = if dispatches > 1 {
        format!(" in {dispatches} dispatches")
    } else {
        String::new()
    };
    format!("{rows}x{inputs}->{outputs}{split}")
}

/// The gather is exact: u8 · (1/255) in f32 is one rounding on both sides.
pub(crate) fn gather(s: &mut Session) -> Result<Vec<Check>> {
    let mut rng = rng(5);
    let all: &[(usize, usize)] = &[(1, 1), (30, 7), (100, 30), (40, 784), (9, 1025)];
    let quick: &[(usize, usize)] = &[(1, 1), (30, 7), (40, 784)];
    let mut checks = Vec::new();
    for &(n, pixels) in if s.plan.quick { quick } else { all } {
        let set = random_set(&mut rng, n, pixels, 10);
        let mut order: Vec<u32> = (0..n as u32).rev().collect();
        order.rotate_left(n / 3);
        let image_bytes = pixels.div_ceil(4) as u64 * 4;
        // One binding for all, and the smallest binding that keeps within four.
        for (bindings, binding) in [(1, 1 << 27), (n.min(4), image_bytes * n.div_ceil(4) as u64)] {
            let offset = n / 4;
            let rows = n - offset;
            let mut got = s.probe().gather(&set, &order, offset, rows, binding)?;
            plant(s.planted(), "gather", &mut got);
            let mut c = Comparison::default();
            for r in 0..rows {
                let image = set.image(order[offset + r] as usize);
                for p in 0..pixels {
                    let want = image[p] as f32 * (1.0 / 255.0);
                    let at = || format!("row {r} (image {}) pixel {p}", order[offset + r]);
                    c.add(at, got[r * pixels + p] as f64, want as f64, 0.0);
                }
            }
            let shape = format!("{rows} of {n} images of {pixels} px, {bindings} binding(s)");
            checks.push(c.finish("gather", "gather".into(), shape, vec![Pipeline::Gather]));
        }
    }
    Ok(checks)
}

/// A forward product's inputs A [rows, i] and a layer of i → o.
fn forward_inputs(rng: &mut ChaCha8Rng, (rows, i, o): (usize, usize, usize)) -> (Vec<f32>, Layer) {
    let a = uniform(rng, rows * i, 1.0);
    (a, layer(rng, i, o))
}

/// A backward product's inputs: δ_next [rows, o], the activations [rows, i] and a layer of
/// i → o.
fn backprop_inputs(
    rng: &mut ChaCha8Rng,
    (rows, i, o): (usize, usize, usize),
) -> (Vec<f32>, Vec<f32>, Layer) {
    let d = uniform(rng, rows * o, 1.0);
    let act = unit(rng, rows * i);
    (d, act, layer(rng, i, o))
}

/// z = A·Wᵀ + b (output layer) or σ(z) (hidden) through `multiply`; σ' ≤ 1/4, so z's bound
/// carries over to σ(z).
fn check_forward(
    s: &mut Session,
    rng: &mut ChaCha8Rng,
    family: &'static str,
    multiply: Multiply,
    (rows, i, o): (usize, usize, usize),
) -> Result<Vec<Check>> {
    let (a, l) = forward_inputs(rng, (rows, i, o));
    let want = reference::forward(&a, rows, &l);
    let dispatches = s.probe().dispatches(multiply, rows, o, i);
    let mut checks = Vec::new();
    for hidden in [true, false] {
        let pipeline = Pipeline::Forward { hidden, multiply };
        let mut got = s.probe().forward(multiply, hidden, &a, rows, &l)?;
        plant(s.planted(), &pipeline.name(), &mut got);
        let mut c = Comparison::default();
        for (x, sum) in want.iter().enumerate() {
            let w = if hidden {
                reference::sigmoid(sum.value)
            } else {
                sum.value
            };
            let at = || format!("[{}, {}]", x / o, x % o);
            c.add(at, got[x] as f64, w, dot_bound(i, sum.abs, w));
        }
        checks.push(c.finish(
            family,
            pipeline.name(),
            shape(rows, i, o, dispatches),
            vec![pipeline],
        ));
    }
    Ok(checks)
}

/// δ = (δ_next·W) ⊙ a(1 − a) through `multiply`; the bound of the sum over the outputs, whose
/// factor a(1 − a) ≤ 1/4 only shrinks it.
fn check_backprop(
    s: &mut Session,
    rng: &mut ChaCha8Rng,
    family: &'static str,
    multiply: Multiply,
    (rows, i, o): (usize, usize, usize),
) -> Result<Check> {
    let (d, act, l) = backprop_inputs(rng, (rows, i, o));
    let pipeline = Pipeline::Backprop(multiply);
    let dispatches = s.probe().dispatches(multiply, rows, i, o);
    let mut got = s.probe().backprop(multiply, &d, rows, &l, &act)?;
    plant(s.planted(), &pipeline.name(), &mut got);
    let mut c = Comparison::default();
    for (x, sum) in reference::backprop(&d, rows, &l).iter().enumerate() {
        let a = act[x] as f64;
        let want = sum.value * a * (1.0 - a);
        let at = || format!("[{}, {}]", x / i, x % i);
        c.add(at, got[x] as f64, want, dot_bound(o, sum.abs, want));
    }
    Ok(c.finish(
        family,
        pipeline.name(),
        shape(rows, i, o, dispatches),
        vec![pipeline],
    ))
}

/// W and b of a layer as one list (the order its buffer holds them).
fn flat(x: &Layer) -> Vec<f32> {
    [x.weight.as_slice(), x.bias.as_slice()].concat()
}

/// An update check's inputs: δ [rows, o], a_prev [rows, i], a layer of i → o, optimizer state
/// that is not zero and the constants, drawn from the rng in one fixed order; the update runs
/// as number 3 (so Adam's bias corrections are not trivial).
struct UpdateCase {
    h: StepHyper,
    rows: usize,
    d: Vec<f32>,
    prev: Vec<f32>,
    l: Layer,
    slots: Vec<Layer>,
}

impl UpdateCase {
    const T: u64 = 3;

    fn new(rng: &mut ChaCha8Rng, kind: OptimizerKind, (rows, i, o): (usize, usize, usize)) -> Self {
        let h = hyper(kind);
        let d = uniform(rng, rows * o, 1.0);
        let prev = unit(rng, rows * i);
        let l = layer(rng, i, o);
        let slots = random_slots(rng, kind, i, o);
        UpdateCase {
            h,
            rows,
            d,
            prev,
            l,
            slots,
        }
    }

    /// The layer and optimizer slots after the update through `multiply`.
    fn run(&self, s: &mut Session, multiply: Multiply) -> Result<(Layer, Vec<Layer>)> {
        let UpdateCase {
            h,
            rows,
            d,
            prev,
            l,
            slots,
        } = self;
        s.probe()
            .update(multiply, d, prev, *rows, l, slots, h, Self::T)
    }
}

/// The update's constants: λ > 0 exercises the L2 term.
fn hyper(kind: OptimizerKind) -> StepHyper {
    StepHyper {
        eta: 0.3,
        lambda: 2.0,
        n_train: 1000,
        batch_size: 0,
        optimizer: Optimizer {
            kind,
            ..Optimizer::default()
        },
    }
}

/// The gradient Σ δᵀ·a_prev, Σ δ and the optimizer's update through `multiply`, as update
/// number 3 (so Adam's bias corrections are not trivial), from state that is not zero.
fn check_update(
    s: &mut Session,
    rng: &mut ChaCha8Rng,
    family: &'static str,
    multiply: Multiply,
    kind: OptimizerKind,
    (rows, i, o): (usize, usize, usize),
) -> Result<Check> {
    let case = UpdateCase::new(rng, kind, (rows, i, o));
    let UpdateCase {
        h,
        d,
        prev,
        l,
        slots,
        ..
    } = &case;
    let pipeline = Pipeline::Update(multiply, kind);
    let dispatches = s.probe().dispatches(multiply, o, i + 1, rows);
    let (new, new_slots) = case.run(s, multiply)?;
    let (old, mut got) = (flat(l), flat(&new));
    plant(s.planted(), &pipeline.name(), &mut got);
    let old_slots: Vec<Vec<f32>> = slots.iter().map(flat).collect();
    let got_slots: Vec<Vec<f32>> = new_slots.iter().map(flat).collect();
    let (m, eta) = (rows as f64, h.eta as f64);
    let decay = h.lambda as f64 / h.n_train as f64;
    let mut c = Comparison::default();
    for (x, sum) in reference::gradient(d, prev, rows, l).iter().enumerate() {
        let is_bias = x >= o * i;
        let w = old[x];
        let g = sum.value / m + if is_bias { 0.0 } else { decay * w as f64 };
        let before: Vec<f32> = old_slots.iter().map(|q| q[x]).collect();
        let (want, want_slots) = reference::update(h, UpdateCase::T, g, w, &before);
        // The gradient's error (the dot-product bound over m, scaled by η/m) plus a few ulp
        // of the update arithmetic; Adam divides by √v̂, which can amplify the gradient's
        // relative error by up to ~1, hence the relative term. AdaGrad and RMSprop divide g
        // by √s with s ≥ 0.05 here: the gradient's error reaches the update times up to
        // 1/√s, and the state (s = s₀ + g², ρv + (1−ρ)g²) gets 2|g| times it.
        let grad_err = 2.0 * (m + 1.0) * 2f64.powi(-24) * sum.abs / m;
        let amplify = match kind {
            OptimizerKind::Adagrad | OptimizerKind::Rmsprop => {
                1.0f64.max(1.0 / want_slots[0].sqrt()) + 2.0 * g.abs()
            }
            _ => 1.0,
        };
        let tol = grad_err * (1.0 + eta) * 10.0 * amplify + 2e-6 * (1.0 + want.abs());
        let what = |x: usize| match x.checked_sub(o * i) {
            Some(j) => format!("bias {j}"),
            None => format!("weight [{}, {}]", x / i, x % i),
        };
        c.add(|| what(x), got[x] as f64, want, tol);
        for (slot, ws) in want_slots.iter().enumerate() {
            let at = || format!("optimizer slot {slot} of {}", what(x));
            c.add(at, got_slots[slot][x] as f64, *ws, tol + 2e-6 * ws.abs());
        }
    }
    Ok(c.finish(
        family,
        pipeline.name(),
        shape(rows, i, o, dispatches),
        vec![pipeline],
    ))
}

/// (rows, inputs, outputs) of the subgroup products' bit checks: rows on either side of their
/// 8-row workgroups, outputs of their 16-, 32- and 64-column ones, inputs a multiple of 4 (for
/// the vec4 ones) and not.
const LANES_SHAPES: [(usize, usize, usize); 8] = [
    (1, 4, 1),
    (9, 8, 17),
    (7, 784, 30),
    (33, 100, 30),
    (8, 36, 40),
    (10, 30, 10),
    (13, 7, 100),
    (17, 1, 9),
];

/// The subgroup variants where the adapter has subgroups of their width, each with the
/// variant whose sums it computes in the same order (so whose bits it must give).
fn lanes_pairs(s: &Session) -> &'static [(Multiply, Multiply)] {
    if has_lanes(s.ctx) {
        &[
            (Multiply::Lanes, Multiply::Blocked),
            (Multiply::LanesK4, Multiply::BlockedK4),
            (Multiply::GradientLanes, Multiply::GradientVec4),
        ]
    } else {
        &[]
    }
}

/// `base` and the subgroup variants that stand in for its members where the adapter has them.
fn with_lanes(s: &Session, base: &[Multiply]) -> Vec<Multiply> {
    let mut all = base.to_vec();
    for &(lanes, like) in lanes_pairs(s) {
        if base.contains(&like) {
            all.push(lanes);
        }
    }
    all
}

/// Adds `got` against `want` with a bound of 0 on their bits: 1 where they differ.
fn same_bits(c: &mut Comparison, what: impl Fn(usize) -> String, got: &[f32], want: &[f32]) {
    for (x, (g, w)) in got.iter().zip(want).enumerate() {
        let at = || {
            format!(
                "{} (bits {:#x} against {:#x})",
                what(x),
                g.to_bits(),
                w.to_bits()
            )
        };
        let differ = if g.to_bits() == w.to_bits() { 0.0 } else { 1.0 };
        c.add(at, differ, 0.0, 0.0);
    }
}

/// Every multiply variant's forward product with both epilogues (the vec4 variants where the
/// input count is a multiple of 4, as training uses them; the subgroup ones where the adapter
/// has subgroups of their width, which must also give the bits of the variants they stand in
/// for).
pub(crate) fn forward(s: &mut Session) -> Result<Vec<Check>> {
    let mut rng = rng(1);
    let mut checks = Vec::new();
    let base = [Multiply::Tiled, Multiply::Blocked, Multiply::BlockedK4];
    for multiply in with_lanes(s, &base) {
        for &dims in shapes(s) {
            if multiply.reads_vec4() && !dims.1.is_multiple_of(4) {
                continue;
            }
            checks.extend(check_forward(s, &mut rng, "forward", multiply, dims)?);
        }
    }
    for &(multiply, like) in lanes_pairs(s) {
        if multiply == Multiply::GradientLanes {
            continue;
        }
        for dims in LANES_SHAPES {
            if multiply.reads_vec4() && !dims.1.is_multiple_of(4) {
                continue;
            }
            checks.push(check_forward_bits(s, &mut rng, multiply, like, dims)?);
        }
    }
    Ok(checks)
}

/// The forward product (σ epilogue) through `multiply` gives exactly the bits of `like` on the
/// same inputs: the two compute the same sums in the same order, so the bound is 0.
fn check_forward_bits(
    s: &mut Session,
    rng: &mut ChaCha8Rng,
    multiply: Multiply,
    like: Multiply,
    (rows, i, o): (usize, usize, usize),
) -> Result<Check> {
    let (a, l) = forward_inputs(rng, (rows, i, o));
    let dispatches = s.probe().dispatches(multiply, rows, o, i);
    let pipeline = Pipeline::Forward {
        hidden: true,
        multiply,
    };
    let want = s.probe().forward(like, true, &a, rows, &l)?;
    let mut got = s.probe().forward(multiply, true, &a, rows, &l)?;
    plant(s.planted(), &pipeline.name(), &mut got);
    let mut c = Comparison::default();
    same_bits(&mut c, |x| format!("[{}, {}]", x / o, x % o), &got, &want);
    let name = format!("{}=={}", pipeline.name(), like.name());
    Ok(c.finish(
        "forward",
        name,
        shape(rows, i, o, dispatches),
        vec![pipeline],
    ))
}

/// The backward product of the tiled and blocked multiplies and the subgroup one where the
/// adapter has it (the vec4 ones do only the forward or the gradient product); the subgroup
/// one must also give the blocked one's bits.
pub(crate) fn backprop(s: &mut Session) -> Result<Vec<Check>> {
    let mut rng = rng(2);
    let mut checks = Vec::new();
    for multiply in with_lanes(s, &[Multiply::Tiled, Multiply::Blocked]) {
        for &dims in shapes(s) {
            checks.push(check_backprop(s, &mut rng, "backprop", multiply, dims)?);
        }
    }
    if has_lanes(s.ctx) {
        for (rows, i, o) in LANES_SHAPES {
            let (d, act, l) = backprop_inputs(&mut rng, (rows, i, o));
            let pipeline = Pipeline::Backprop(Multiply::Lanes);
            let dispatches = s.probe().dispatches(Multiply::Lanes, rows, i, o);
            let want = s.probe().backprop(Multiply::Blocked, &d, rows, &l, &act)?;
            let mut got = s.probe().backprop(Multiply::Lanes, &d, rows, &l, &act)?;
            plant(s.planted(), &pipeline.name(), &mut got);
            let mut c = Comparison::default();
            same_bits(&mut c, |x| format!("[{}, {}]", x / i, x % i), &got, &want);
            let name = format!("{}==backprop_blocked", pipeline.name());
            checks.push(c.finish(
                "backprop",
                name,
                shape(rows, i, o, dispatches),
                vec![pipeline],
            ));
        }
    }
    Ok(checks)
}

/// The gradient product and each update rule, through the tiled and blocked multiplies and
/// the vec4 one (where the input count is a multiple of 4, as training uses it), and the
/// subgroup ones where the adapter has subgroups of their width, which must also leave the
/// bits, parameters and optimizer slots, of the variants they stand in for.
pub(crate) fn update(s: &mut Session) -> Result<Vec<Check>> {
    let mut rng = rng(3);
    let mut checks = Vec::new();
    let base = [Multiply::Tiled, Multiply::Blocked, Multiply::GradientVec4];
    let variants = with_lanes(s, &base);
    for kind in OPTIMIZERS {
        for &multiply in &variants {
            for &dims in shapes(s) {
                if multiply.reads_vec4() && !dims.1.is_multiple_of(4) {
                    continue;
                }
                checks.push(check_update(s, &mut rng, "update", multiply, kind, dims)?);
            }
        }
        for &(multiply, like) in lanes_pairs(s) {
            if multiply == Multiply::LanesK4 {
                continue;
            }
            for dims in LANES_SHAPES {
                if multiply.reads_vec4() && !dims.1.is_multiple_of(4) {
                    continue;
                }
                checks.push(check_update_same_bits(
                    s, &mut rng, multiply, like, kind, dims,
                )?);
            }
        }
    }
    Ok(checks)
}

/// Optimizer state for `kind` on a layer like `l`: random, and non-negative where the slot
/// holds squares (see check_update).
fn random_slots(rng: &mut ChaCha8Rng, kind: OptimizerKind, i: usize, o: usize) -> Vec<Layer> {
    (0..kind.state_slots())
        .map(|slot| {
            let mut x = layer(rng, i, o);
            if reference::squares_slot(kind, slot) {
                // A second moment (Adam) or sum/mean of squares (AdaGrad, RMSprop) is
                // non-negative; AdaGrad's and RMSprop's are kept ≥ 0.05 so that 1/√s, which
                // scales the gradient's rounding error, stays below 4.5 (Adam's v̂ is v/(1−β₂³),
                // already large).
                let floor = if kind == OptimizerKind::Adam {
                    0.0
                } else {
                    0.05
                };
                x.weight
                    .iter_mut()
                    .chain(x.bias.iter_mut())
                    .for_each(|v| *v = floor + v.abs() * 0.1);
            }
            x
        })
        .collect()
}

/// The update through `multiply` leaves exactly the parameters and optimizer slots that `like`
/// does from the same state and inputs: the bound is 0.
fn check_update_same_bits(
    s: &mut Session,
    rng: &mut ChaCha8Rng,
    multiply: Multiply,
    like: Multiply,
    kind: OptimizerKind,
    (rows, i, o): (usize, usize, usize),
) -> Result<Check> {
    let case = UpdateCase::new(rng, kind, (rows, i, o));
    let pipeline = Pipeline::Update(multiply, kind);
    let dispatches = s.probe().dispatches(multiply, o, i + 1, rows);
    let (want, want_slots) = case.run(s, like)?;
    let (got, got_slots) = case.run(s, multiply)?;
    let mut got_all: Vec<Vec<f32>> = vec![flat(&got)];
    got_all.extend(got_slots.iter().map(flat));
    plant(s.planted(), &pipeline.name(), &mut got_all[0]);
    let mut want_all: Vec<Vec<f32>> = vec![flat(&want)];
    want_all.extend(want_slots.iter().map(flat));
    let mut c = Comparison::default();
    for (slot, (g, w)) in got_all.iter().zip(&want_all).enumerate() {
        let what = |x: usize| match slot {
            0 => format!("parameter {x}"),
            _ => format!("optimizer slot {} of parameter {x}", slot - 1),
        };
        same_bits(&mut c, what, g, w);
    }
    let name = format!("{}=={}", pipeline.name(), like.name());
    Ok(c.finish(
        "update",
        name,
        shape(rows, i, o, dispatches),
        vec![pipeline],
    ))
}

/// The products split over several dispatches of whole workgroup rows (as training splits a
/// product too large for one dispatch): the same bounds, and a lost or doubled band of rows
/// is off by O(1).
pub(crate) fn split_dispatches(s: &mut Session) -> Result<Vec<Check>> {
    let mut rng = rng(6);
    let all: &[(usize, usize, usize)] = &[(1025, 30, 7), (100, 30, 1025)];
    let dims_list = if s.plan.quick { &all[..1] } else { all };
    // 50,000 multiply-adds a dispatch splits every product of these shapes.
    s.probe().set_max_dispatch_macs(50_000);
    let mut checks = Vec::new();
    let general = with_lanes(s, &[Multiply::Tiled, Multiply::Blocked]);
    let result = (|| {
        for multiply in general {
            for &dims in dims_list {
                let forward = check_forward(s, &mut rng, "split_dispatches", multiply, dims)?;
                checks.push(forward[0].clone());
                checks.push(check_backprop(
                    s,
                    &mut rng,
                    "split_dispatches",
                    multiply,
                    dims,
                )?);
                checks.push(check_update(
                    s,
                    &mut rng,
                    "split_dispatches",
                    multiply,
                    OptimizerKind::Sgd,
                    dims,
                )?);
            }
        }
        // The vec4 update (an input count that is a multiple of 4), its 1025 rows of G in
        // bands of one or two workgroup rows.
        checks.push(check_update(
            s,
            &mut rng,
            "split_dispatches",
            Multiply::GradientVec4,
            OptimizerKind::Momentum,
            (100, 32, 1025),
        )?);
        if has_lanes(s.ctx) {
            checks.push(check_update(
                s,
                &mut rng,
                "split_dispatches",
                Multiply::GradientLanes,
                OptimizerKind::Momentum,
                (100, 32, 1025),
            )?);
        }
        // The vec4 forward products (and the subgroup one where it runs), 1025 rows of A in
        // bands of workgroup rows.
        let mut vec4_forward = vec![Multiply::BlockedK4];
        if has_lanes(s.ctx) {
            vec4_forward.push(Multiply::LanesK4);
        }
        for multiply in vec4_forward {
            let dims = (1025, 100, 7);
            let forward = check_forward(s, &mut rng, "split_dispatches", multiply, dims)?;
            checks.push(forward[0].clone());
        }
        Ok(())
    })();
    s.probe()
        .set_max_dispatch_macs(crate::gpu::chunks::MAX_DISPATCH_MACS);
    result.map(|()| checks)
}
