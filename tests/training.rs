//! Training on the CPU reference: determinism, resuming, and that it learns.

mod common;

use gpu_mlp::backend::{Backend, Split};
use gpu_mlp::checkpoint::Checkpoint;
use gpu_mlp::config::{OptimizerKind, Preset, TrainConfig};
use gpu_mlp::cpu::CpuBackend;
use gpu_mlp::model::Params;
use gpu_mlp::train::{train, TrainingState};

fn small(kind: OptimizerKind) -> TrainConfig {
    let mut c = Preset::Network2.config();
    c.epochs = 3;
    c.optimizer.kind = kind;
    c.eta = match kind {
        OptimizerKind::Adam | OptimizerKind::Rmsprop => 1e-3,
        OptimizerKind::Adagrad => 0.01,
        _ => c.eta,
    };
    c
}

fn run(
    cfg: &TrainConfig,
    data: &std::sync::Arc<gpu_mlp::data::Splits>,
    epochs: usize,
    from: Option<&Checkpoint>,
) -> (Params, Checkpoint) {
    let (params, progress) = match from {
        Some(ck) => (ck.params.clone(), ck.train.clone().unwrap().1),
        None => (
            Params::init(&cfg.network, cfg.seed),
            TrainingState::start(cfg),
        ),
    };
    let mut b = CpuBackend::new(
        &cfg.network,
        params.clone(),
        cfg.optimizer.kind,
        data.clone(),
        cfg.batch_size,
        2,
    )
    .unwrap();
    if let Some(ck) = from {
        b.load_state(&params, &ck.optimizer.as_ref().unwrap().1)
            .unwrap();
    }
    let mut c = cfg.clone();
    c.epochs = epochs;
    let out = train(&c, &mut b, data.train.len(), progress, |_, _, _| Ok(())).unwrap();
    let p = b.params().unwrap();
    let ck = Checkpoint {
        network: cfg.network.clone(),
        params: p.clone(),
        optimizer: Some((cfg.optimizer.kind, b.optimizer_state().unwrap())),
        train: Some((cfg.clone(), out.state)),
        data: None,
    };
    (p, ck)
}

/// The same seed twice gives bit-identical weights (the products split work over rows and
/// columns, never over the summed dimension, so thread timing cannot change a sum's order).
#[test]
fn same_seed_gives_identical_weights() {
    let data = common::mnist_subset(2000, 500, 500);
    let cfg = small(OptimizerKind::Sgd);
    let (a, _) = run(&cfg, &data, 2, None);
    let (b, _) = run(&cfg, &data, 2, None);
    assert_eq!(a, b);
    let mut other = cfg.clone();
    other.seed = 2;
    let (c, _) = run(&other, &data, 2, None);
    assert_ne!(a, c, "a different seed must give different weights");
}

/// Stopping after epoch 1, saving, reading back and resuming for epochs 2–3 ends with exactly
/// the weights of an uninterrupted 3-epoch run, for every optimizer (their state is saved:
/// momentum's velocity, Adam's moments, AdaGrad's sum and RMSprop's mean of squares).
#[test]
fn resume_continues_exactly() {
    let data = common::mnist_subset(1500, 300, 300);
    let dir = tempfile::tempdir().unwrap();
    for kind in OptimizerKind::ALL {
        let cfg = small(kind);
        let (full, _) = run(&cfg, &data, 3, None);
        let (_, ck1) = run(&cfg, &data, 1, None);
        let path = dir.path().join("ck.safetensors");
        ck1.save(&path).unwrap();
        let loaded = Checkpoint::load(&path).unwrap();
        assert_eq!(loaded, ck1, "checkpoint round trip");
        let (resumed, _) = run(&cfg, &data, 3, Some(&loaded));
        assert_eq!(resumed, full, "{kind:?}");
    }
}

/// Two runs with the same seed write byte-identical checkpoint files, so `sha256sum` can
/// stand in for comparing tensors. (safetensors writes its metadata from a `HashMap`, whose order
/// changes from map to map; the header is rewritten with sorted keys.)
#[test]
fn identical_runs_write_identical_files() {
    let data = common::mnist_subset(1000, 200, 200);
    let cfg = small(OptimizerKind::Adam);
    let (_, a) = run(&cfg, &data, 1, None);
    let (_, b) = run(&cfg, &data, 1, None);
    let first = a.to_bytes().unwrap();
    for _ in 0..8 {
        assert_eq!(
            a.to_bytes().unwrap(),
            first,
            "the same checkpoint serialised twice"
        );
    }
    assert_eq!(b.to_bytes().unwrap(), first, "a second identical run");
    let back = Checkpoint::from_bytes(&first, std::path::Path::new("mem")).unwrap();
    assert_eq!(back, a, "the rewritten header still reads back");
}

/// One epoch of the nielsen preset on 10,000 images classifies well over half the test digits (measured: 77.6%; a
/// network that does not learn stays near 10%).
#[test]
fn nielsen_learns_in_one_epoch() {
    let data = common::mnist_subset(10_000, 1000, 1000);
    let mut cfg = Preset::Nielsen.config();
    cfg.epochs = 1;
    let mut b = CpuBackend::new(
        &cfg.network,
        Params::init(&cfg.network, 1),
        cfg.optimizer.kind,
        data.clone(),
        10,
        2,
    )
    .unwrap();
    train(
        &cfg,
        &mut b,
        data.train.len(),
        TrainingState::start(&cfg),
        |_, _, _| Ok(()),
    )
    .unwrap();
    let acc = b.evaluate(Split::Test).unwrap().accuracy();
    assert!(
        acc > 0.60,
        "test accuracy after one epoch on 10k images: {acc}"
    );
}

/// Momentum, Adam, AdaGrad and RMSprop reduce the training cost too.
#[test]
fn every_optimizer_reduces_the_cost() {
    let data = common::mnist_subset(2000, 200, 200);
    for kind in OptimizerKind::ALL {
        let mut cfg = small(kind);
        if kind == OptimizerKind::Momentum {
            cfg.eta = 0.05;
        }
        let mut b = CpuBackend::new(
            &cfg.network,
            Params::init(&cfg.network, 3),
            kind,
            data.clone(),
            10,
            2,
        )
        .unwrap();
        let before = b.evaluate(Split::Train).unwrap().cost_sum;
        cfg.epochs = 2;
        train(
            &cfg,
            &mut b,
            data.train.len(),
            TrainingState::start(&cfg),
            |_, _, _| Ok(()),
        )
        .unwrap();
        let after = b.evaluate(Split::Train).unwrap().cost_sum;
        assert!(after < 0.5 * before, "{kind:?}: cost {before} -> {after}");
    }
}
