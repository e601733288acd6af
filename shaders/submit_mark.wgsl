// The end-of-submit mark: the last dispatch of every command buffer writes
//   marks[step.index] = step.serial   (member 0's record, which every member's copies)
// for the last step it carries, and the host reads the marks back once the run of steps is done
// (src/gpu/submits.rs). A command buffer the driver dropped leaves its mark unwritten (on Metal,
// wgpu counts a command buffer that ended in an error, such as the GPU timeout, as completed), so
// a dropped submit becomes an error on every backend instead of silently lost training.
// `serial` is new for every run of steps, so a mark left by an earlier run never passes.

@group(1) @binding(0) var<storage, read_write> marks: array<u32>;

@compute @workgroup_size(1, 1, 1)
fn main() {
    marks[steps[0].index] = steps[0].serial;
}
