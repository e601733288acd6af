//! The GPU backend (wgpu + WGSL). Being written; see issue 3.
