//! Same seed, same adapter → the same GPU weights, bit for bit: every reduction runs in a
//! fixed order in one invocation (no float atomics), so there is no tolerance here. The
//! self-test's `determinism` family (src/selftest/training.rs): the same short run twice with
//! each multiply, and with the data set over four bindings, every product over several
//! dispatches, and one step per command buffer, each against the plain run.

mod gpu_support;

use gpu_support::*;

/// Two runs from the same seed, and runs whose data, products or command buffers are split
/// differently, train to the same bits.
#[test]
fn same_seed_same_weights_however_the_work_is_split() {
    family("determinism");
}
