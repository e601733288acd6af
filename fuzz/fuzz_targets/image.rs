//! The picture reader of `predict` (PNG/JPEG decoding and the MNIST-style preprocessing): see
//! harness::image.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::image(data));
