//! The GPU backend: backpropagation as WGSL compute shaders (`shaders/`) through wgpu.
//!
//! - `context`: adapter and device selection, the `devices` listing, error routing;
//! - `layout`: the host side of the host–shader seam: constants the shaders are built with,
//!   the host copies of the shader structs, how buffers are laid out;
//! - `multiply`: which multiply variant a product runs through, and its dispatch grid;
//! - `kernels`: the pipelines, each composed from the shader files;
//! - `dataset`: the data sets on the device (packed u8 images, split over bindings);
//! - `buffers`: buffer creation and readback;
//! - `trainer`: [`GpuBackend`]: the parameters, optimizer state and batch buffers on the device;
//! - `groups`: the bind groups over those buffers;
//! - `record`: one step's dispatches, and recording whole epochs of steps;
//! - `backend`: the [`crate::backend::Backend`] implementation;
//! - `timing`: per-kernel timestamps;
//! - `fused`: whole small networks in one workgroup each, many steps per dispatch, several
//!   members at once;
//! - `probe`: one kernel run alone, for the kernel tests.

mod backend;
mod buffers;
mod context;
mod dataset;
pub mod fused;
mod groups;
mod kernels;
mod layout;
mod multiply;
#[doc(hidden)]
pub mod probe;
mod record;
pub mod timing;
mod trainer;

pub use context::{list_devices, DeviceInfo, GpuApi, GpuContext};
pub use fused::FusedBackend;
pub use trainer::{GpuBackend, GpuOptions};
