// The step record of the per-layer kernels: one record per step, chosen by the dynamic offset
// of bind group 0 (src/gpu/layout.rs's step_group).

@group(0) @binding(0) var<uniform> step: Step;
