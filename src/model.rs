//! The network's parameters and their initialisation.

use crate::config::{Init, NetworkConfig, OptimizerKind};
use crate::error::{Error, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// One weight layer: z = W·a + b with W shaped [outputs, inputs], row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub inputs: usize,
    pub outputs: usize,
    /// W, `outputs × inputs`, row-major: W[j][k] connects input k to unit j.
    pub weight: Vec<f32>,
    /// b, `outputs`.
    pub bias: Vec<f32>,
}

impl Layer {
    pub fn zeros(inputs: usize, outputs: usize) -> Self {
        Layer {
            inputs,
            outputs,
            weight: vec![0.0; inputs * outputs],
            bias: vec![0.0; outputs],
        }
    }
}

/// All the weights and biases of a network, input layer first.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub layers: Vec<Layer>,
}

impl Params {
    /// Zeros in the network's shape (the starting state of optimizer slots).
    pub fn zeros(net: &NetworkConfig) -> Self {
        Params {
            layers: net.shapes().map(|(i, o)| Layer::zeros(i, o)).collect(),
        }
    }

    /// Draws the initial parameters from a ChaCha8 stream seeded with `seed`: per layer, the
    /// weights row by row, then the biases. Biases ~ N(0,1); weights ~ N(0,1) (`normal`) or
    /// N(0,1/n_in) (`scaled`). The same seed gives the same bits on every machine.
    pub fn init(net: &NetworkConfig, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layers = net
            .shapes()
            .map(|(inputs, outputs)| {
                let scale = match net.init {
                    Init::Normal => 1.0,
                    Init::Scaled => 1.0 / (inputs as f64).sqrt(),
                };
                let weight = (0..inputs * outputs)
                    .map(|_| {
                        let x: f64 = StandardNormal.sample(&mut rng);
                        (x * scale) as f32
                    })
                    .collect::<Vec<f32>>();
                let bias = (0..outputs)
                    .map(|_| {
                        let x: f64 = StandardNormal.sample(&mut rng);
                        x as f32
                    })
                    .collect();
                Layer {
                    inputs,
                    outputs,
                    weight,
                    bias,
                }
            })
            .collect();
        Params { layers }
    }

    /// The layer widths these parameters imply, e.g. [784, 30, 10].
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes: Vec<usize> = self.layers.iter().map(|l| l.inputs).take(1).collect();
        sizes.extend(self.layers.iter().map(|l| l.outputs));
        sizes
    }

    /// Checks that these parameters are a network of widths `layers` (e.g. [784, 30, 10]):
    /// the same layer count and sizes, and every W and b as long as its shape says. `what`
    /// names them in the error ("the loaded parameters", "optimizer slot 1").
    pub fn check_shape(&self, layers: &[usize], what: &str) -> Result<()> {
        let whole = self
            .layers
            .iter()
            .all(|l| l.weight.len() == l.inputs * l.outputs && l.bias.len() == l.outputs);
        let chained = self.layers.windows(2).all(|w| w[0].outputs == w[1].inputs);
        if whole && chained && self.sizes() == layers {
            return Ok(());
        }
        let sizes = self
            .sizes()
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let want = layers
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",");
        Err(Error::config(if whole && chained {
            format!("{what} are a {sizes} network but the network is {want}")
        } else {
            format!("{what} are not a whole network: a layer's weights or biases do not match its sizes (the network is {want})")
        }))
    }

    /// Σ‖W‖² over all layers (the L2 term's sum; biases are not regularised).
    pub fn weight_norm_sq(&self) -> f64 {
        self.layers
            .iter()
            .flat_map(|l| l.weight.iter())
            .map(|&w| (w as f64) * (w as f64))
            .sum()
    }

    /// True if every weight and bias is finite.
    pub fn is_finite(&self) -> bool {
        self.layers
            .iter()
            .all(|l| l.weight.iter().chain(l.bias.iter()).all(|v| v.is_finite()))
    }

    /// The largest |weight| or |bias| (NaN counts as nothing: check [`Params::is_finite`]).
    pub fn max_abs(&self) -> f32 {
        self.layers
            .iter()
            .flat_map(|l| l.weight.iter().chain(&l.bias))
            .fold(0.0f32, |m, v| m.max(v.abs()))
    }

    /// The largest |ΔW| and |Δb| per layer between two parameter sets of the same shape.
    pub fn max_abs_diff(&self, other: &Params) -> Vec<(f32, f32)> {
        self.layers
            .iter()
            .zip(&other.layers)
            .map(|(a, b)| {
                (
                    max_abs_diff(&a.weight, &b.weight),
                    max_abs_diff(&a.bias, &b.bias),
                )
            })
            .collect()
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The optimizer's state: momentum's velocity (one slot), Adam's first and second moments
/// (two slots), AdaGrad's sum of squares or RMSprop's mean square (one slot), each shaped like
/// the parameters, and the number of updates taken.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState {
    pub step: u64,
    pub slots: Vec<Params>,
}

impl OptimizerState {
    /// Checks that this is the state of optimizer `kind` for a network of widths `layers`:
    /// as many slots as the optimizer keeps, each shaped like the parameters.
    pub fn check_shape(&self, layers: &[usize], kind: OptimizerKind) -> Result<()> {
        if self.slots.len() != kind.state_slots() {
            return Err(Error::config(format!(
                "the optimizer state has {} slot(s) but {kind:?} keeps {}",
                self.slots.len(),
                kind.state_slots()
            )));
        }
        for (i, slot) in self.slots.iter().enumerate() {
            slot.check_shape(layers, &format!("optimizer slot {i}"))?;
        }
        Ok(())
    }

    pub fn new(net: &NetworkConfig, slots: usize) -> Self {
        OptimizerState {
            step: 0,
            slots: (0..slots).map(|_| Params::zeros(net)).collect(),
        }
    }
}
