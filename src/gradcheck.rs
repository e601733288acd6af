//! Finite-difference gradient checking: backprop's gradients against central differences
//! ∂C/∂θ ≈ (C(θ+h) − C(θ−h)) / 2h, both in f64, for every output/cost combination.
//!
//! The backprop code checked is the reference's own (`cpu::backprop`), instantiated at f64; the
//! finite differences use only its forward pass and the cost, so a mistake in any of the four
//! backward equations shows up as a large relative error.

use crate::config::{Cost, Init, NetworkConfig, Output};
use crate::cpu::activation::cost;
use crate::cpu::backprop::{backward, forward, Gradients, LayerRef, Workspace};
use crate::model::Params;
use serde::Serialize;

/// The largest relative error of one layer's gradients.
#[derive(Clone, Debug, Serialize)]
pub struct LayerError {
    pub output: Output,
    pub cost: Cost,
    pub layer: usize,
    pub weight: f64,
    pub bias: f64,
}

/// Step for the central differences. The error of (C(θ+h) − C(θ−h))/2h is about
/// ε|C|/h (rounding, ε ≈ 1.1e-16) plus h²|C'''|/6 (truncation); at h = 1e-4 both are ~1e-12 to
/// 1e-10, and measured over h ∈ {1e-5, 1e-4, 1e-3} the largest relative error is smallest here.
pub const H: f64 = 1e-4;

/// The largest relative error `gradcheck` passes. Measured errors are ≤ 1e-5 (f64 backprop vs
/// f64 differences with h = 1e-4, whose own error is ~1e-10 absolute; the worst ratios come
/// from entries near the relative floor). A wrong equation (a missing σ', a transposed W, an
/// unsummed batch) gives errors of order 1e-1 to 1, so 1e-4 separates right from wrong by
/// three orders of magnitude.
pub const THRESHOLD: f64 = 1e-4;

/// Checks a network of `hidden` sizes between the samples' width and `classes`, initialised
/// from `seed` with scaled weights (so that no unit saturates and every gradient is
/// measurable), on `inputs` (rows of pixel/255) with `labels`.
pub fn check(
    inputs: &[Vec<f64>],
    labels: &[u8],
    hidden: &[usize],
    classes: usize,
    seed: u64,
) -> Vec<LayerError> {
    check_with_progress(inputs, labels, hidden, classes, seed, &mut |_| {})
}

/// The output/cost pairs a check covers.
const PAIRS: usize = 4;

/// [`check`], calling `progress` with the number of parameters checked so far (of
/// [`parameters_checked`] in all) after each one.
pub fn check_with_progress(
    inputs: &[Vec<f64>],
    labels: &[u8],
    hidden: &[usize],
    classes: usize,
    seed: u64,
    progress: &mut dyn FnMut(usize),
) -> Vec<LayerError> {
    let sizes = layer_sizes(inputs, hidden, classes);
    let mut rows = Vec::new();
    let mut done = 0;
    for output in [Output::Sigmoid, Output::Softmax] {
        for cost_kind in [Cost::Quadratic, Cost::CrossEntropy] {
            let net = network(&sizes, output, cost_kind);
            let mut step = || {
                done += 1;
                progress(done);
            };
            rows.extend(check_one(
                &net,
                &Params::init(&net, seed),
                inputs,
                labels,
                &mut step,
            ));
        }
    }
    rows
}

fn layer_sizes(inputs: &[Vec<f64>], hidden: &[usize], classes: usize) -> Vec<usize> {
    let width = inputs.first().map_or(0, Vec::len);
    let mut sizes = vec![width];
    sizes.extend_from_slice(hidden);
    sizes.push(classes);
    sizes
}

fn network(sizes: &[usize], output: Output, cost: Cost) -> NetworkConfig {
    NetworkConfig {
        layers: sizes.to_vec(),
        output,
        cost,
        init: Init::Scaled,
    }
}

/// How many parameters a check perturbs, over all output/cost pairs: each costs two
/// evaluations of the summed cost over the samples.
pub fn parameters_checked(width: usize, hidden: &[usize], classes: usize) -> usize {
    let mut sizes = vec![width];
    sizes.extend_from_slice(hidden);
    sizes.push(classes);
    PAIRS * network(&sizes, Output::Sigmoid, Cost::Quadratic).parameter_count()
}

/// Seconds one evaluation of the summed cost takes for this check's network on these samples
/// (the fastest of three), to estimate how long the whole check takes.
pub fn seconds_per_cost(
    inputs: &[Vec<f64>],
    labels: &[u8],
    hidden: &[usize],
    classes: usize,
    seed: u64,
) -> f64 {
    let net = network(
        &layer_sizes(inputs, hidden, classes),
        Output::Sigmoid,
        Cost::Quadratic,
    );
    let (p, mut ws) = Params64::with_inputs(&net, &Params::init(&net, seed), inputs);
    (0..3)
        .map(|_| {
            let t = std::time::Instant::now();
            total_cost(&net, &p, &mut ws, labels);
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// A network's parameters in f64, for the finite differences: W (row-major, `outputs ×
/// inputs`) and b of each layer.
pub struct Params64 {
    pub weight: Vec<Vec<f64>>,
    pub bias: Vec<Vec<f64>>,
}

impl Params64 {
    /// The f32 parameters, widened exactly.
    pub fn from_params(params: &Params) -> Self {
        let widen = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        Params64 {
            weight: params.layers.iter().map(|l| widen(&l.weight)).collect(),
            bias: params.layers.iter().map(|l| widen(&l.bias)).collect(),
        }
    }

    fn param(&mut self, is_weight: bool, layer: usize, i: usize) -> &mut f64 {
        if is_weight {
            &mut self.weight[layer][i]
        } else {
            &mut self.bias[layer][i]
        }
    }

    /// Borrowed views of the layers of a network of widths `sizes`, as the backprop core takes
    /// them.
    pub fn refs(&self, sizes: &[usize]) -> Vec<LayerRef<'_, f64>> {
        sizes
            .windows(2)
            .zip(self.weight.iter().zip(&self.bias))
            .map(|(s, (w, b))| LayerRef {
                inputs: s[0],
                outputs: s[1],
                weight: w,
                bias: b,
            })
            .collect()
    }
}

/// The central difference (C(θ+h) − C(θ−h)) / 2h of `cost` with respect to weight `i` of
/// `layer` (`is_weight`) or its bias `i`; θ is restored afterwards.
pub fn central_difference(
    p: &mut Params64,
    is_weight: bool,
    layer: usize,
    i: usize,
    mut cost: impl FnMut(&Params64) -> f64,
) -> f64 {
    let orig = *p.param(is_weight, layer, i);
    *p.param(is_weight, layer, i) = orig + H;
    let up = cost(p);
    *p.param(is_weight, layer, i) = orig - H;
    let down = cost(p);
    *p.param(is_weight, layer, i) = orig;
    (up - down) / (2.0 * H)
}

/// Σ over the samples of C(a, y).
fn total_cost(net: &NetworkConfig, p: &Params64, ws: &mut Workspace<f64>, labels: &[u8]) -> f64 {
    let m = labels.len();
    let n_out = *net.layers.last().unwrap_or(&0);
    forward(&p.refs(&net.layers), net.output, ws, m, 1);
    let a = ws.output(m).to_vec();
    (0..m)
        .map(|r| {
            let span = r * n_out..(r + 1) * n_out;
            cost(
                net.output,
                net.cost,
                &ws.z_out[span.clone()],
                &a[span],
                labels[r] as usize,
            )
        })
        .sum()
}

impl Params64 {
    /// The parameters in f64 and a workspace holding `inputs` (rows of pixel/255).
    fn with_inputs(
        net: &NetworkConfig,
        params: &Params,
        inputs: &[Vec<f64>],
    ) -> (Params64, Workspace<f64>) {
        let m = inputs.len();
        let p = Params64::from_params(params);
        let mut ws = Workspace::<f64>::new(&net.layers, m);
        let input = ws.input_mut(m);
        for (row, x) in input.chunks_exact_mut(net.layers[0]).zip(inputs) {
            row.copy_from_slice(x);
        }
        (p, ws)
    }
}

fn check_one(
    net: &NetworkConfig,
    params: &Params,
    inputs: &[Vec<f64>],
    labels: &[u8],
    step: &mut dyn FnMut(),
) -> Vec<LayerError> {
    let m = labels.len();
    let (mut p, mut ws) = Params64::with_inputs(net, params, inputs);
    let mut grads = Gradients::<f64>::zeros(&net.layers);
    {
        let refs = p.refs(&net.layers);
        forward(&refs, net.output, &mut ws, m, 1);
        backward(&refs, net.output, net.cost, labels, &mut ws, &mut grads, 1);
    }
    let mut numeric = |is_weight: bool, l: usize, i: usize, p: &mut Params64| {
        let d = central_difference(p, is_weight, l, i, |p| total_cost(net, p, &mut ws, labels));
        step();
        d
    };
    let mut out = Vec::new();
    for l in 0..net.layers.len() - 1 {
        let nw: Vec<f64> = (0..p.weight[l].len())
            .map(|i| numeric(true, l, i, &mut p))
            .collect();
        let nb: Vec<f64> = (0..p.bias[l].len())
            .map(|i| numeric(false, l, i, &mut p))
            .collect();
        out.push(LayerError {
            output: net.output,
            cost: net.cost,
            layer: l,
            weight: max_relative_error(&grads.weight[l], &nw),
            bias: max_relative_error(&grads.bias[l], &nb),
        });
    }
    out
}

/// max_i of [`relative_errors`].
pub fn max_relative_error(analytic: &[f64], numeric: &[f64]) -> f64 {
    relative_errors(analytic, numeric)
        .into_iter()
        .fold(0.0, f64::max)
}

/// |a_i − n_i| / max(|a_i|, |n_i|, floor) for each entry, with the floor at 1e-6 of the
/// layer's largest gradient so that entries that are numerically zero (an input pixel that is
/// always 0 gives ∂C/∂w = 0 exactly) do not turn rounding noise into a large ratio.
pub fn relative_errors(analytic: &[f64], numeric: &[f64]) -> Vec<f64> {
    let scale = analytic
        .iter()
        .chain(numeric)
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let floor = (scale * 1e-6).max(f64::MIN_POSITIVE);
    analytic
        .iter()
        .zip(numeric)
        .map(|(a, n)| (a - n).abs() / a.abs().max(n.abs()).max(floor))
        .collect()
}
