//! The CPU reference backend: whole mini-batches as matrices through the `gemm` crate, in f32
//! for training. The backprop core is generic over f32 and f64 so that `gradcheck` can hold the
//! very same code, run in f64, against finite differences.

pub mod activation;
pub mod backprop;
pub mod isa;
mod large_batch;
pub mod matmul;
pub mod members;
pub mod optimizer;
mod simd;
mod small_batch;

use crate::backend::{check_batches, Backend, Evaluation, Split};
use crate::config::{NetworkConfig, OptimizerKind, StepHyper};
use crate::data::{Dataset, Splits};
use crate::error::Result;
use crate::model::{OptimizerState, Params};
use backprop::{backward, forward, Gradients, LayerRef, Workspace};
use optimizer::UpdateRule;
use small_batch::SmallBatch;
use std::sync::Arc;

/// The float types the reference runs in: f32 (training) and f64 (gradient checking).
pub trait Real: num_traits::Float + Send + Sync + 'static {}
impl Real for f32 {}
impl Real for f64 {}

/// Rows per forward pass when evaluating a whole split.
const EVAL_CHUNK: usize = 1000;

/// The CPU reference trainer.
pub struct CpuBackend {
    net: NetworkConfig,
    params: Params,
    state: OptimizerState,
    kind: OptimizerKind,
    data: Arc<Splits>,
    threads: usize,
    train_ws: Workspace<f32>,
    eval_ws: Option<Workspace<f32>>,
    grads: Gradients<f32>,
    /// Buffers of the fused path for small SGD mini-batches (`small_batch.rs`).
    small: SmallBatch,
}

impl CpuBackend {
    /// A backend training `params` with optimizer `kind` on `data`, using `threads` threads for
    /// the large matrix products. `batch_size` sizes the workspace.
    pub fn new(
        net: &NetworkConfig,
        params: Params,
        kind: OptimizerKind,
        data: Arc<Splits>,
        batch_size: usize,
        threads: usize,
    ) -> Result<Self> {
        params.check_shape(&net.layers, "the initial parameters")?;
        Ok(CpuBackend {
            train_ws: Workspace::new(&net.layers, batch_size.max(1)),
            eval_ws: None,
            grads: Gradients::zeros(&net.layers),
            small: SmallBatch::new(&net.layers),
            state: OptimizerState::new(net, kind.state_slots()),
            net: net.clone(),
            params,
            kind,
            data,
            threads: threads.max(1),
        })
    }

    /// One mini-batch: forward, backward, update. `batch` lists training-set indices.
    fn step(&mut self, batch: &[u32], hyper: &StepHyper) {
        let train = &self.data.train;
        let m = batch.len();
        if hyper.optimizer.kind == OptimizerKind::Sgd {
            // SGD never stores the gradient: see small_batch.rs and large_batch.rs.
            self.state.step += 1;
            let rule = UpdateRule::new(hyper, m, self.state.step);
            let (output, cost) = (self.net.output, self.net.cost);
            if SmallBatch::takes(m, rule.kind) {
                self.small
                    .sgd_step(&mut self.params, output, cost, train, batch, &rule);
            } else {
                fill_inputs(train, batch, self.train_ws.input_mut(m));
                let labels: Vec<u8> = batch.iter().map(|&i| train.labels[i as usize]).collect();
                let ws = &mut self.train_ws;
                large_batch::sgd_step(
                    &mut self.params,
                    output,
                    cost,
                    &labels,
                    ws,
                    &rule,
                    self.threads,
                );
            }
            return;
        }
        fill_inputs(train, batch, self.train_ws.input_mut(m));
        let labels: Vec<u8> = batch.iter().map(|&i| train.labels[i as usize]).collect();
        {
            let layers = layer_refs(&self.params);
            forward(
                &layers,
                self.net.output,
                &mut self.train_ws,
                m,
                self.threads,
            );
            backward(
                &layers,
                self.net.output,
                self.net.cost,
                &labels,
                &mut self.train_ws,
                &mut self.grads,
                self.threads,
            );
        }
        self.state.step += 1;
        let rule = UpdateRule::new(hyper, m, self.state.step);
        for (l, layer) in self.params.layers.iter_mut().enumerate() {
            let mut w_slots: Vec<&mut [f32]> = Vec::with_capacity(2);
            let mut b_slots: Vec<&mut [f32]> = Vec::with_capacity(2);
            for slot in self.state.slots.iter_mut() {
                let s = &mut slot.layers[l];
                w_slots.push(&mut s.weight);
                b_slots.push(&mut s.bias);
            }
            rule.apply(&mut layer.weight, &self.grads.weight[l], &mut w_slots);
            rule.without_decay()
                .apply(&mut layer.bias, &self.grads.bias[l], &mut b_slots);
        }
    }
}

/// Runs `f` with f32/f64 subnormals flushed to zero on this thread (x86 FTZ+DAZ, aarch64 FZ),
/// restoring the previous mode afterwards.
///
/// Weights fed only by always-zero border pixels, and optimizer state that stops receiving
/// gradient, shrink geometrically into the subnormal range (below 1.2e-38), where every x86
/// operation that touches one takes a much slower microcode path (BENCHMARKS.md, "Optimizers,
/// and subnormal floats", has what it cost Adam). GPUs flush f32 subnormals to zero as well, so this also keeps the reference closer to them.
fn without_subnormals<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    {
        // SAFETY: the guard sets the thread's floating-point control register for the closure
        // only and restores it on return. Rust documents changing that register as undefined
        // behaviour because code compiled under the default mode may observe the difference;
        // here the only observable difference is that subnormal values read or produced inside
        // `f` become zero, which the training code tolerates by design.
        unsafe { no_denormals::no_denormals(f) }
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    {
        f()
    }
}

/// Borrowed views of `params`' layers, the form the backprop core takes.
pub fn layer_refs(params: &Params) -> Vec<LayerRef<'_, f32>> {
    params
        .layers
        .iter()
        .map(|l| LayerRef {
            inputs: l.inputs,
            outputs: l.outputs,
            weight: &l.weight,
            bias: &l.bias,
        })
        .collect()
}

/// Writes the images `indices` of `set` as rows of pixel/255 into `out`.
fn fill_inputs<T: Real>(set: &Dataset, indices: &[u32], out: &mut [T]) {
    let p = set.pixels();
    let scale = T::one() / T::from(255.0).unwrap_or_else(T::one);
    for (row, &i) in out.chunks_exact_mut(p).zip(indices) {
        for (v, &px) in row.iter_mut().zip(set.image(i as usize)) {
            *v = T::from(px).unwrap_or_else(T::zero) * scale;
        }
    }
}

/// Runs every sample of `set` through `params` (f32) in chunks; returns the summed cost,
/// the correct count and the predictions.
pub fn evaluate_set(
    net: &NetworkConfig,
    params: &Params,
    set: &Dataset,
    ws: &mut Workspace<f32>,
    threads: usize,
) -> Evaluation {
    let layers = layer_refs(params);
    let n_out = *net.layers.last().unwrap_or(&0);
    let mut eval = Evaluation {
        cost_sum: 0.0,
        correct: 0,
        count: set.len(),
        predictions: Vec::with_capacity(set.len()),
    };
    let indices: Vec<u32> = (0..set.len() as u32).collect();
    for chunk in indices.chunks(ws.capacity()) {
        let m = chunk.len();
        fill_inputs(set, chunk, ws.input_mut(m));
        forward(&layers, net.output, ws, m, threads);
        let out = ws.output(m);
        for (r, &i) in chunk.iter().enumerate() {
            let label = set.labels[i as usize] as usize;
            let a = &out[r * n_out..(r + 1) * n_out];
            let z = &ws.z_out[r * n_out..(r + 1) * n_out];
            eval.cost_sum += activation::cost(net.output, net.cost, z, a, label) as f64;
            let predicted = activation::argmax(a);
            eval.correct += usize::from(predicted == label);
            eval.predictions.push(predicted as u8);
        }
    }
    eval
}

impl Backend for CpuBackend {
    fn describe(&self) -> String {
        format!(
            "cpu ({} threads, {} kernels)",
            self.threads,
            isa::Isa::detected().name()
        )
    }

    fn train_batches(&mut self, order: &[u32], hyper: &StepHyper) -> Result<()> {
        check_batches(order, self.data.train.len(), hyper.batch_size)?;
        let m = hyper.batch_size;
        if m > self.train_ws.capacity() {
            self.train_ws = Workspace::new(&self.net.layers, m);
        }
        without_subnormals(|| {
            let mut batches = order.chunks(m).peekable();
            while let Some(batch) = batches.next() {
                if let Some(next) = batches.peek() {
                    small_batch::prefetch_images(&self.data.train, next);
                }
                self.step(batch, hyper);
            }
        });
        Ok(())
    }

    fn evaluate(&mut self, split: Split) -> Result<Evaluation> {
        let set = self.data.get(split);
        let ws = self
            .eval_ws
            .get_or_insert_with(|| Workspace::new(&self.net.layers, EVAL_CHUNK));
        Ok(evaluate_set(&self.net, &self.params, set, ws, self.threads))
    }

    fn params(&mut self) -> Result<Params> {
        Ok(self.params.clone())
    }

    fn optimizer_state(&mut self) -> Result<OptimizerState> {
        Ok(self.state.clone())
    }

    fn load_state(&mut self, params: &Params, state: &OptimizerState) -> Result<()> {
        params.check_shape(&self.net.layers, "the loaded parameters")?;
        state.check_shape(&self.net.layers, self.kind)?;
        self.params = params.clone();
        self.state = state.clone();
        Ok(())
    }
}
