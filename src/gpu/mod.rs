//! The GPU backend: backpropagation as WGSL compute shaders (`shaders/`) through wgpu.
//!
//! - `adapters`: the APIs, the `devices` listing, `--backend auto`'s ranking and fallback;
//! - `context`: an opened device, error routing, waits with a timeout;
//! - `layout`: the host side of the host–shader seam: constants the shaders are built with,
//!   the host copies of the shader structs, how buffers are laid out;
//! - `multiply`: which multiply variant a product runs through, and its dispatch grid;
//! - `kernels`: the pipelines, each composed from the shader files;
//! - `dataset`: the data sets on the device (packed u8 images, split over bindings);
//! - `buffers`: buffer creation and readback;
//! - `trainer`: [`GpuBackend`]: the parameters, optimizer state and batch buffers on the device,
//!   of one network or of a sweep's group (one block per member, one z layer of every grid);
//! - `group_sizes`: how many members one group holds, and its evaluation batches;
//! - `groups`: the bind groups over those buffers;
//! - `input_slots`: several steps' batches gathered by one dispatch;
//! - `record`: one step's dispatches, and recording whole epochs of steps;
//! - `backend`: the [`crate::backend::Backend`] (one network) and [`crate::backend::Members`]
//!   (a group) implementations;
//! - `timing`: per-kernel timestamps;
//! - `fused`: whole small networks in one workgroup each, many steps per dispatch, several
//!   members at once;
//! - `limits`: the device limits gpu-mlp asks for, in one place;
//! - `chunks`: products too large for one dispatch, split into several;
//! - `submits`: command buffers bounded by time, waits with a timeout, the submit marks;
//! - `probe`: one kernel run alone, for the self-test (`crate::selftest`).

mod adapters;
mod backend;
mod buffers;
pub(crate) mod chunks;
pub(crate) mod context;
mod dataset;
pub mod fused;
mod group_sizes;
mod groups;
mod input_slots;
pub(crate) mod kernels;
mod layout;
pub(crate) mod limits;
pub(crate) mod multiply;
pub(crate) mod probe;
mod record;
pub(crate) mod submits;
pub mod timing;
mod trainer;

pub use adapters::{
    find_adapters, list_devices, no_adapter_error, AutoChoice, DeviceInfo, FoundAdapter, GpuApi,
};
pub use context::GpuContext;
pub use fused::FusedBackend;
pub use trainer::{GpuBackend, GpuOptions};
