//! One sample's forward and backward pass through the CPU reference's own backprop core
//! (`cpu::backprop`), for any target y: the core takes a class label (a one-hot y), so for
//! another y the pass runs once per one-hot target e_c and once for y = 0 (label = the class
//! count, which no output matches) and is combined. δᴸ is affine in y for every output/cost
//! pair (a − y, (a − y)⊙a(1−a), the softmax Jacobian times a − y), and BP2–BP4 are linear in
//! δᴸ, so g(y) = (1 − Σ_c y_c)·g(0) + Σ_c y_c·g(e_c) exactly (up to rounding).

use crate::config::{NetworkConfig, Output};
use crate::cpu::backprop::{backward, forward, Gradients, LayerRef, Workspace};
use crate::cpu::Real;

/// One sample's pass through the library's backprop: aˡ of every layer (acts[0] the input),
/// zᴸ, δ of every weight layer, and the gradients.
pub(super) struct Pass<T> {
    pub acts: Vec<Vec<T>>,
    pub z_out: Vec<T>,
    pub deltas: Vec<Vec<T>>,
    pub grads: Gradients<T>,
}

/// The library's forward and backward pass of one sample with target `y` (see the module
/// doc for how a y that is not one-hot is handled).
pub(super) fn backprop<T: Real>(
    net: &NetworkConfig,
    layers: &[LayerRef<T>],
    input: &[T],
    target: &[T],
    label: Option<usize>,
) -> Pass<T> {
    let mut ws = Workspace::new(&net.layers, 1);
    ws.input_mut(1).copy_from_slice(input);
    forward(layers, net.output, &mut ws, 1, 1);
    let (acts, z_out) = (ws.acts.clone(), ws.z_out.clone());
    let mut run = |label: u8| {
        let mut grads = Gradients::zeros(&net.layers);
        backward(
            layers,
            net.output,
            net.cost,
            &[label],
            &mut ws,
            &mut grads,
            1,
        );
        (ws.deltas.clone(), grads)
    };
    let n = target.len();
    let terms: Vec<(u8, T)> = match label {
        Some(c) => vec![(c as u8, T::one())],
        None => {
            let sum = target.iter().fold(T::zero(), |s, &y| s + y);
            let mut t: Vec<(u8, T)> = (0..n).map(|c| (c as u8, target[c])).collect();
            t.push((n as u8, T::one() - sum));
            t.retain(|&(_, w)| w != T::zero());
            t
        }
    };
    let mut deltas: Vec<Vec<T>> = net.layers[1..]
        .iter()
        .map(|&n| vec![T::zero(); n])
        .collect();
    let mut grads = Gradients::zeros(&net.layers);
    let axpy = |acc: &mut [T], x: &[T], w: T| {
        acc.iter_mut().zip(x).for_each(|(a, &x)| *a = *a + w * x);
    };
    for (class, w) in terms {
        let (d, g) = run(class);
        for (acc, x) in deltas.iter_mut().zip(&d) {
            axpy(acc, x, w);
        }
        for (acc, x) in grads.weight.iter_mut().zip(&g.weight) {
            axpy(acc, x, w);
        }
        for (acc, x) in grads.bias.iter_mut().zip(&g.bias) {
            axpy(acc, x, w);
        }
    }
    Pass {
        acts,
        z_out,
        deltas,
        grads,
    }
}

/// zˡ of every layer: the library's forward pass over layers 2..=l, whose last z it keeps.
pub(super) fn every_z(
    net: &NetworkConfig,
    layers: &[LayerRef<f64>],
    input: &[f64],
) -> Vec<Vec<f64>> {
    (1..=layers.len())
        .map(|count| {
            let mut ws = Workspace::new(&net.layers[..=count], 1);
            ws.input_mut(1).copy_from_slice(input);
            let output = if count == layers.len() {
                net.output
            } else {
                Output::Sigmoid
            };
            forward(&layers[..count], output, &mut ws, 1, 1);
            ws.z_out.clone()
        })
        .collect()
}
