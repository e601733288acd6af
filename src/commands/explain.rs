//! `gpu-mlp explain`: resolves the network, the sample and the step's constants from the flags,
//! runs `explain::explain` (and the same step on a GPU with `--backend`) and prints it.

use crate::checkpoint::Checkpoint;
use crate::cli::ExplainArgs;
use crate::config::{NetworkConfig, Preset, TrainConfig};
use crate::data;
use crate::error::{Error, Result};
use crate::explain::{self, Estimates, Sample, MAX_PRINTED_WEIGHTS};
use crate::model::{Layer, OptimizerState, Params};

/// The network, its parameters and optimizer state, and the configuration the step's
/// constants start from.
struct Start {
    net: NetworkConfig,
    params: Params,
    /// The checkpoint's optimizer state, if it has one.
    saved_state: Option<(crate::config::OptimizerKind, OptimizerState)>,
    base: TrainConfig,
}

/// Parses colon-separated layers of comma-separated numbers (`--weights`, `--biases`) into
/// one list per layer, each as long as `lengths` says.
fn layer_values(flag: &str, text: &str, lengths: &[usize]) -> Result<Vec<Vec<f32>>> {
    let layers: Vec<&str> = text.split(':').collect();
    if layers.len() != lengths.len() {
        return Err(Error::config(format!(
            "{flag} gives {} layers (separated by ':') but the network has {} weight layers",
            layers.len(),
            lengths.len()
        )));
    }
    layers
        .iter()
        .zip(lengths)
        .enumerate()
        .map(|(l, (layer, &want))| {
            let values = layer
                .split(',')
                .map(|v| {
                    v.trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| {
                            Error::config(format!(
                                "{flag}: {v:?} in layer {} is not a finite number",
                                l + 1
                            ))
                        })
                })
                .collect::<Result<Vec<f32>>>()?;
            if values.len() != want {
                return Err(Error::config(format!(
                    "{flag}: layer {} has {} values, expected {want}",
                    l + 1,
                    values.len()
                )));
            }
            Ok(values)
        })
        .collect()
}

fn start(args: &ExplainArgs) -> Result<Start> {
    let mut base = Preset::Nielsen.config();
    if let Some(path) = &args.model {
        let ck = Checkpoint::load(path)?;
        if let Some((cfg, progress)) = &ck.train {
            base = cfg.clone();
            base.eta = progress.eta;
        }
        base.network = ck.network.clone();
        return Ok(Start {
            net: ck.network,
            params: ck.params,
            saved_state: ck.optimizer,
            base,
        });
    }
    let net = NetworkConfig {
        layers: args
            .layers
            .clone()
            .unwrap_or_else(|| base.network.layers.clone()),
        output: args.output.unwrap_or(base.network.output),
        cost: args.cost.unwrap_or(base.network.cost),
        init: args.init.unwrap_or(base.network.init),
    };
    let (inputs, outputs) = (
        net.layers.first().copied().unwrap_or(0),
        net.layers.last().copied().unwrap_or(0),
    );
    net.validate(inputs, outputs)?;
    let params = match &args.weights {
        None => Params::init(&net, args.seed.unwrap_or(1)),
        Some(w) => {
            let shapes: Vec<(usize, usize)> = net.shapes().collect();
            let weights = layer_values(
                "--weights",
                w,
                &shapes.iter().map(|(i, o)| i * o).collect::<Vec<_>>(),
            )?;
            let biases = match &args.biases {
                Some(b) => layer_values(
                    "--biases",
                    b,
                    &shapes.iter().map(|&(_, o)| o).collect::<Vec<_>>(),
                )?,
                None => shapes.iter().map(|&(_, o)| vec![0.0; o]).collect(),
            };
            Params {
                layers: shapes
                    .iter()
                    .zip(weights.into_iter().zip(biases))
                    .map(|(&(inputs, outputs), (weight, bias))| Layer {
                        inputs,
                        outputs,
                        weight,
                        bias,
                    })
                    .collect(),
            }
        }
    };
    base.network = net.clone();
    Ok(Start {
        net,
        params,
        saved_state: None,
        base,
    })
}

/// The sample: --input/--target, or image --sample of --split.
fn sample(args: &ExplainArgs, net: &NetworkConfig) -> Result<Sample> {
    if let (Some(x), Some(y)) = (&args.input, &args.target) {
        return Ok(Sample::new(x.clone(), y.clone(), "--input/--target".into()));
    }
    let n = args.sample.unwrap_or(0);
    let splits = data::load(&args.data.source(), args.data.sizes())?;
    let set = splits.get(args.split);
    if n >= set.len() {
        return Err(Error::config(format!(
            "--sample {n}: the {} split has {} images (0..={})",
            args.split.name(),
            set.len(),
            set.len().saturating_sub(1)
        )));
    }
    let classes = *net.layers.last().unwrap_or(&0);
    let label = set.labels[n] as usize;
    if label >= classes {
        return Err(Error::config(format!(
            "--sample {n} has label {label} but the network has {classes} outputs"
        )));
    }
    // As the CPU backend fills a batch: pixel · (1/255) in f32.
    let scale = 1.0f32 / 255.0;
    let input = set.image(n).iter().map(|&p| p as f32 * scale).collect();
    let target = (0..classes)
        .map(|j| if j == label { 1.0 } else { 0.0 })
        .collect();
    let what = format!("{} image {n} (label {label})", args.split.name());
    Ok(Sample::new(input, target, what))
}

pub fn run(args: &ExplainArgs) -> Result<()> {
    let Start {
        net,
        params,
        saved_state,
        mut base,
    } = start(args)?;
    let sample = sample(args, &net)?;
    base.eta = args.eta.unwrap_or(base.eta);
    base.lambda = args.lambda.unwrap_or(base.lambda);
    base.batch_size = 1;
    let o = &mut base.optimizer;
    o.kind = args.optimizer.unwrap_or(o.kind);
    o.momentum = args.momentum.unwrap_or(o.momentum);
    o.beta1 = args.beta1.unwrap_or(o.beta1);
    o.beta2 = args.beta2.unwrap_or(o.beta2);
    o.epsilon = args.adam_epsilon.unwrap_or(o.epsilon);
    o.rho = args.rho.unwrap_or(o.rho);
    o.adagrad_epsilon = args.adagrad_epsilon.unwrap_or(o.adagrad_epsilon);
    o.rmsprop_epsilon = args.rmsprop_epsilon.unwrap_or(o.rmsprop_epsilon);
    let n_train = args.data.train_size;
    base.validate(n_train.max(1))?;
    let kind = base.optimizer.kind;
    let (state, state_source) = match saved_state {
        Some((k, s)) if k == kind => {
            let what = format!("the checkpoint's {kind:?} state after {} updates", s.step);
            (s, what)
        }
        _ => (
            OptimizerState::new(&net, kind.state_slots()),
            "fresh (zeros)".to_string(),
        ),
    };
    let weights: usize = net.shapes().map(|(i, o)| i * o).sum();
    let estimates = if args.full || weights <= MAX_PRINTED_WEIGHTS {
        Estimates::All
    } else {
        Estimates::Largest
    };
    let hyper = base.step_hyper(base.eta, n_train);
    let mut e = explain::explain(&net, &params, &state, &sample, &hyper, estimates)?;
    e.state_source = state_source;
    if let Some(ctx) = super::gpu_context(args.backend, args.adapter.as_deref(), !args.json)? {
        if let Some(cpu) = &e.f32_step {
            let d = explain::on_device(&ctx, &net, &params, &state, &sample, &hyper, cpu)?;
            e.device = Some(d);
        }
    }
    if args.json {
        let s = serde_json::to_string_pretty(&e)
            .map_err(|err| Error::internal(format!("cannot encode JSON: {err}")))?;
        println!("{s}");
    } else {
        explain::print(&e);
    }
    Ok(())
}
