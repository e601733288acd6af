//! Seeded inputs for the checks: random matrices and layers, random data sets, and the data of
//! the end-to-end run (the shipped MNIST where it is found, else a learnable synthetic set).

use crate::data::{self, Dataset, Source, SplitSizes, Splits};
use crate::model::Layer;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `n` values uniform in (−scale, scale).
pub(crate) fn uniform(rng: &mut ChaCha8Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * scale)
        .collect()
}

/// `n` values uniform in [0, 1): activations.
pub(crate) fn unit(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random::<f32>()).collect()
}

/// A layer with weights and biases uniform in (−0.5, 0.5).
pub(crate) fn layer(rng: &mut ChaCha8Rng, inputs: usize, outputs: usize) -> Layer {
    Layer {
        inputs,
        outputs,
        weight: uniform(rng, inputs * outputs, 0.5),
        bias: uniform(rng, outputs, 0.5),
    }
}

/// Random images of `pixels` pixels and labels below `classes`.
pub(crate) fn random_set(rng: &mut ChaCha8Rng, n: usize, pixels: usize, classes: usize) -> Dataset {
    Dataset {
        rows: 1,
        cols: pixels,
        images: (0..n * pixels).map(|_| rng.random::<u8>()).collect(),
        labels: (0..n).map(|_| rng.random_range(0..classes) as u8).collect(),
    }
}

/// Random training (`n`), validation and test sets (n/2 + 1 each).
pub(crate) fn random_splits(seed: u64, n: usize, pixels: usize, classes: usize) -> Arc<Splits> {
    let mut rng = rng(seed);
    let mut train = random_set(&mut rng, n, pixels, classes);
    // The largest label is present, so `classes` comes out right.
    train.labels[0] = (classes - 1) as u8;
    Arc::new(Splits {
        validation: random_set(&mut rng, n / 2 + 1, pixels, classes),
        test: random_set(&mut rng, n / 2 + 1, pixels, classes),
        train,
        classes,
    })
}

/// The end-to-end run's data, what it is ("MNIST" or "synthetic"), and why it is not MNIST
/// where it is not.
pub(crate) struct EndToEndData {
    pub splits: Arc<Splits>,
    pub origin: &'static str,
    pub note: Option<String>,
}

/// `train` training and `test` test images of the shipped MNIST (looked up as `train` does:
/// data/mnist under the working directory, then in the checkout gpu-mlp was built from); where
/// it cannot be read, a synthetic 28×28 set of ten classes as learnable as MNIST's first epoch.
pub(crate) fn end_to_end(train: usize, test: usize) -> EndToEndData {
    let sizes = SplitSizes {
        train,
        validation: 1,
        test: Some(test),
    };
    match data::load(&Source::Mnist, sizes) {
        Ok(splits) => EndToEndData {
            splits: Arc::new(splits),
            origin: "MNIST",
            note: None,
        },
        Err(e) => EndToEndData {
            splits: Arc::new(synthetic(train, test)),
            origin: "synthetic",
            note: Some(format!(
                "a synthetic data set: MNIST could not be read ({e}); run selftest where \
                 data/mnist is to train on MNIST"
            )),
        },
    }
}

/// Ten classes of 28×28 images, dark with bright strokes as MNIST's are: each class a fixed
/// random pattern of bright pixels (a tenth of them); each image keeps [`KEPT`] of its class's
/// pattern and lights [`NOISE`] of all pixels at random, so that one epoch of 2,000 images
/// learns it about as well as MNIST (77% of the test images, against MNIST's 80%).
fn synthetic(train: usize, test: usize) -> Splits {
    const PIXELS: usize = 784;
    const CLASSES: usize = 10;
    const BRIGHT: f32 = 0.1;
    const KEPT: f32 = 0.15;
    const NOISE: f32 = 0.1;
    let mut rng = rng(28);
    let patterns: Vec<Vec<u8>> = (0..CLASSES)
        .map(|_| {
            (0..PIXELS)
                .map(|_| if rng.random::<f32>() < BRIGHT { 255 } else { 0 })
                .collect()
        })
        .collect();
    let mut set = |n: usize| {
        let mut images = Vec::with_capacity(n * PIXELS);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let class = i % CLASSES;
            labels.push(class as u8);
            for &p in &patterns[class] {
                let kept = p > 0 && rng.random::<f32>() < KEPT;
                let lit = rng.random::<f32>() < NOISE;
                images.push(match (kept, lit) {
                    (true, _) => p,
                    (false, true) => rng.random::<u8>(),
                    (false, false) => 0,
                });
            }
        }
        Dataset {
            rows: 28,
            cols: 28,
            images,
            labels,
        }
    };
    let train = set(train);
    let validation = set(1);
    let test = set(test);
    Splits {
        train,
        validation,
        test,
        classes: CLASSES,
    }
}
