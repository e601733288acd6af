//! gpu-mlp: a multilayer-perceptron trainer whose forward and backward passes run as WGSL
//! compute shaders through wgpu, held against a plain CPU reference.
//!
//! The flow: `data` reads IDX files into [`data::Splits`]; `config` says what to train;
//! `train` runs the epoch loop and drives a [`backend::Backend`], either the CPU reference
//! (`cpu`) or the GPU (`gpu`); `model` holds the parameters and `checkpoint` stores them as
//! safetensors, written through `fs` (one writer for every output; `outputs` checks what a
//! command will write before it starts). `cli` and `commands` are the command line on top.

pub mod backend;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod cpu;
pub mod data;
pub mod download;
pub mod error;
pub mod evaluation;
pub mod explain;
pub mod export;
pub mod fs;
pub mod gpu;
pub mod gradcheck;
pub mod interrupt;
pub mod model;
pub mod outputs;
pub mod plot;
pub mod predict;
pub mod progress;
pub mod render;
pub mod runtime_dir;
pub mod selftest;
pub mod sweep;
pub mod tensorboard;
pub mod train;
pub mod words;

pub use error::{Error, Result};
