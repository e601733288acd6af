//! The IDX reader (raw and gzip) and the train / validation / test split: see harness::idx.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::idx(data));
