//! The named configurations: the textbook's two networks (`--preset`) and the three
//! benchmark configurations (`bench --configs`), each a complete [`TrainConfig`].

use super::{Cost, Init, Monitor, NetworkConfig, Optimizer, Output, Schedule, TrainConfig};
use clap::ValueEnum;

/// Named configurations from the textbook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// 784-30-10, sigmoid output, quadratic cost, η=3.0, batch 10, 30 epochs, N(0,1) init.
    Nielsen,
    /// 784-100-10, sigmoid output, cross-entropy, η=0.5, λ=5.0, batch 10, scaled init, 30 epochs.
    Network2,
}

impl Preset {
    pub fn config(self) -> TrainConfig {
        let base = TrainConfig {
            network: NetworkConfig {
                layers: vec![784, 30, 10],
                output: Output::Sigmoid,
                cost: Cost::Quadratic,
                init: Init::Normal,
            },
            eta: 3.0,
            lambda: 0.0,
            batch_size: 10,
            epochs: 30,
            optimizer: Optimizer::default(),
            schedule: Schedule::Constant,
            early_stop: None,
            seed: 1,
            monitor: Monitor::default(),
        };
        match self {
            Preset::Nielsen => base,
            Preset::Network2 => TrainConfig {
                network: NetworkConfig {
                    layers: vec![784, 100, 10],
                    output: Output::Sigmoid,
                    cost: Cost::CrossEntropy,
                    init: Init::Scaled,
                },
                eta: 0.5,
                lambda: 5.0,
                ..base
            },
        }
    }
}

/// The benchmark configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BenchConfig {
    /// 784-30-10, sigmoid, quadratic, batch 10, η=3.
    Nielsen,
    /// 784-100-10, sigmoid, cross-entropy, λ=5, batch 10, η=0.5.
    Network2,
    /// 784-1024-1024-10, softmax, cross-entropy, batch 256, η=0.1.
    Wide,
}

impl BenchConfig {
    pub fn config(self) -> TrainConfig {
        match self {
            BenchConfig::Nielsen => Preset::Nielsen.config(),
            BenchConfig::Network2 => Preset::Network2.config(),
            BenchConfig::Wide => {
                let mut c = Preset::Nielsen.config();
                c.network = NetworkConfig {
                    layers: vec![784, 1024, 1024, 10],
                    output: Output::Softmax,
                    cost: Cost::CrossEntropy,
                    init: Init::Scaled,
                };
                c.eta = 0.1;
                c.batch_size = 256;
                c
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BenchConfig::Nielsen => "nielsen",
            BenchConfig::Network2 => "network2",
            BenchConfig::Wide => "wide",
        }
    }
}
