//! Same seed, same adapter → the same GPU weights, bit for bit: every reduction runs in a
//! fixed order in one invocation (no float atomics), so there is no tolerance here. The
//! self-test's `determinism` family (src/selftest/training.rs): the same short run twice with
//! each multiply, and with the data set over four bindings, every product over several
//! dispatches, one step per command buffer and one step per gather, each against the plain
//! run; and a sigmoid network's run with δᴸ in a dispatch of its own against the default,
//! which computes it in the output layer's forward epilogue.

mod gpu_support;

use gpu_support::*;

/// Two runs from the same seed, and runs whose data, products or command buffers are split
/// differently, train to the same bits.
#[test]
fn same_seed_same_weights_however_the_work_is_split() {
    family("determinism");
}

/// A GPU run of AdaGrad or RMSprop saved to checkpoint bytes after one epoch, read back and
/// resumed on a fresh backend for the second epoch ends with exactly the parameters
/// and optimizer state (the sums and means of squares, which the checkpoint carries as
/// `optimizer.sum.*` and `optimizer.square_avg.*`) of an uninterrupted two-epoch run, with the
/// per-layer and with the fused kernels. A resume that lost the state would restart it at
/// zero and end elsewhere.
#[test]
fn adagrad_and_rmsprop_resume_on_the_gpu_bit_identically() {
    use gpu_mlp::backend::Backend;
    use gpu_mlp::checkpoint::Checkpoint;
    use gpu_mlp::config::{Cost, OptimizerKind, Output};
    use gpu_mlp::data::epoch_order;
    use gpu_mlp::gpu::fused::fused_plan;
    use gpu_mlp::gpu::{FusedBackend, GpuBackend};
    use gpu_mlp::model::{OptimizerState, Params};
    let Some(ctx) = context() else { return };
    let (n, batch) = (60, 7);
    let data = random_splits(4, n, 20, 10);
    let net = net(&[20, 30, 10], Output::Sigmoid, Cost::CrossEntropy);
    for kind in [OptimizerKind::Adagrad, OptimizerKind::Rmsprop] {
        let h = hyper(kind, 0.01, 1.0, n, batch);
        for fused in [false, true] {
            let backend = |params: Params| -> Box<dyn Backend> {
                if fused {
                    let shape = fused_plan(&ctx, &net, batch, &data).expect("20-30-10 fits");
                    Box::new(FusedBackend::solo(&ctx, &net, shape, params, kind, &data).unwrap())
                } else {
                    Box::new(GpuBackend::new(&ctx, &net, params, kind, &data).unwrap())
                }
            };
            let train = |b: &mut Box<dyn Backend>, epochs: std::ops::Range<usize>| {
                for epoch in epochs {
                    b.train_batches(&epoch_order(n, 3, epoch), &h).unwrap();
                }
                (b.params().unwrap(), b.optimizer_state().unwrap())
            };
            // One backend trains both epochs, saving after the first; a second resumes there.
            let mut first = backend(Params::init(&net, 2));
            let (params, state) = train(&mut first, 0..1);
            let whole = train(&mut first, 1..2);
            let ck = Checkpoint {
                network: net.clone(),
                params,
                optimizer: Some((kind, state)),
                train: None,
                data: None,
            };
            let bytes = ck.to_bytes().unwrap();
            let back = Checkpoint::from_bytes(&bytes, std::path::Path::new("mem")).unwrap();
            assert_eq!(
                back, ck,
                "{kind:?}: the state round-trips through the checkpoint"
            );
            let (_, loaded): (_, OptimizerState) = back.optimizer.unwrap();
            let mut resumed = backend(back.params.clone());
            resumed.load_state(&back.params, &loaded).unwrap();
            let after = train(&mut resumed, 1..2);
            let what = format!("{kind:?}, fused {fused}");
            assert_ne!(after.0, back.params, "{what}: the second epoch trains");
            assert_eq!(after, whole, "{what}: parameters and state after resuming");
            assert!(
                whole.1.slots[0].weight_norm_sq() > 0.0,
                "{what}: the state is kept"
            );
        }
    }
}
