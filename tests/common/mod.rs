//! Helpers shared by the integration tests.
#![allow(dead_code)]

use gpu_mlp::data::{self, Source, SplitSizes, Splits};
use std::sync::Arc;

/// The first `train` training images, the last `validation` and the first `test` of t10k.
pub fn mnist_subset(train: usize, validation: usize, test: usize) -> Arc<Splits> {
    let sizes = SplitSizes {
        train,
        validation,
        test: Some(test),
    };
    Arc::new(data::load(&Source::Mnist, sizes).expect("the shipped MNIST in data/mnist"))
}
