// The per-step record every kernel reads (the per-layer kernels at @group(0) @binding(0)
// through a dynamic offset, step_binding.wgsl; the fused kernels from a buffer of records):
// the mini-batch's size m and where its samples sit in the epoch's order, plus the update
// constants η, 1/m, λ/n, μ, β₁, β₂, ε (Adam's, AdaGrad's or RMSprop's), the Adam bias
// corrections 1−β₁ᵗ, 1−β₂ᵗ of its step t and RMSprop's ρ.
// One record per step lets a whole epoch be recorded at once with no host round trip per step.
// The host's copy is StepRecord in src/gpu/layout.rs (eta .. rho are
// config::StepConstants, the same numbers the CPU's update rule applies). `index` and `serial`
// are read only by submit_mark.wgsl.

struct Step {
    rows: u32,
    order_offset: u32,
    // 1: the batch is samples order_offset.. in storage order (evaluation);
    // 0: sample i of the batch is order[order_offset + i] (training).
    sequential: u32,
    index: u32,
    eta: f32,
    inv_rows: f32,
    decay: f32,
    momentum: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    bias_correction1: f32,
    bias_correction2: f32,
    rho: f32,
    serial: u32,
    // 1: the member stopped (early stopping) and its step leaves it as it is; only the
    // per-layer kernels read it (the fused ones give such a member a record of no rows).
    frozen: u32,
}
