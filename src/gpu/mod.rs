//! The GPU backend: backpropagation as WGSL compute shaders (`shaders/`) through wgpu.
//!
//! - `context`: adapter and device selection, the `devices` listing, error routing;
//! - `kernels`: the pipelines, each composed from the shader files;
//! - `dataset`: the data sets on the device (packed u8 images, split over bindings);
//! - `buffers`: buffer creation and readback;
//! - `trainer`: [`GpuBackend`], the [`crate::backend::Backend`] that records whole epochs;
//! - `timing`: per-kernel timestamps.

mod buffers;
mod context;
mod dataset;
mod kernels;
#[doc(hidden)]
pub mod probe;
pub mod timing;
mod trainer;

pub use context::{list_devices, DeviceInfo, GpuApi, GpuContext};
pub use trainer::{GpuBackend, GpuOptions};
