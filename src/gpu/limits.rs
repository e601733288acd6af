//! The device limits gpu-mlp asks for, in one place. wgpu rejects a device request outright if
//! any requested limit is beyond the adapter's, and its graphics-oriented defaults
//! (`Limits::default()`: 16 inter-stage variables, 8 colour attachments, 256 invocations...)
//! exceed some adapters gpu-mlp could run on (wgpu's GL adapter can report 15 inter-stage
//! variables; some Vulkan devices sit at Vulkan's minimums). So the request starts from wgpu's
//! downlevel defaults, raises only the limits gpu-mlp's kernels use ([`USED`]), and is clamped,
//! field by field, to what the adapter offers; a limit that then falls short of what gpu-mlp
//! needs is named in the error.
//!
//! A new kernel that needs more of something (workgroup memory, storage buffers) changes its
//! row of [`USED`], and nothing else.

use super::layout::{IMAGE_BINDINGS, ROW_GROUP, TILE, TILED_SIDE, TILE_K};

/// How much of a limit to ask for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Ask {
    /// What gpu-mlp needs, or the downlevel default where that is more.
    Need,
    /// As much as the adapter offers, up to the cap.
    Adapter { cap: u64 },
}

/// A device limit gpu-mlp's kernels depend on.
pub(crate) struct UsedLimit {
    /// wgpu's name of the field (as its own errors spell it).
    pub name: &'static str,
    /// What it counts, for messages.
    pub what: &'static str,
    /// The least value gpu-mlp can run with.
    pub need: u64,
    pub ask: Ask,
    pub get: fn(&wgpu::Limits) -> u64,
    pub set: fn(&mut wgpu::Limits, u64),
}

/// Metal reports a storage-binding limit equal to its buffer limit, and clamps binding sizes
/// over 4 GiB in its bounds checks: no binding is asked for beyond 2³¹ bytes.
pub(crate) const MAX_BINDING_BYTES: u64 = 1 << 31;

/// Bytes of workgroup memory matmul.wgsl stages: one TILE×TILE_K tile of A and one TILE_K×TILE
/// tile of B, f32.
const TILED_WORKGROUP_BYTES: u64 = 2 * (TILE * TILE_K) as u64 * 4;

/// The storage buffers of gather.wgsl's group 1, the widest: the order, the batch it writes and
/// the image bindings.
const GATHER_STORAGE_BUFFERS: u64 = 2 + IMAGE_BINDINGS as u64;
/// The storage buffers of the widest per-layer pipeline: gather's, and group 0's step records.
const MOST_STORAGE_BUFFERS: u64 = 1 + GATHER_STORAGE_BUFFERS;
/// Storage buffers a fused training pipeline binds: records, orders, parameters, two optimizer
/// slots, labels, images and the dispatch marks (src/gpu/fused/pipelines.rs).
pub(crate) const FUSED_STORAGE_BUFFERS: u64 = 8;

macro_rules! field {
    ($name:ident, $what:expr, $need:expr, $ask:expr) => {
        UsedLimit {
            name: stringify!($name),
            what: $what,
            need: $need as u64,
            ask: $ask,
            get: |l| l.$name as u64,
            // `value` never exceeds the adapter's own value of the field, so it fits its type.
            set: |l, value| l.$name = value as _,
        }
    };
}

/// Every limit gpu-mlp's kernels depend on: what they need and what is asked for.
pub(crate) const USED: [UsedLimit; 13] = [
    // The per-layer kernels need MOST_STORAGE_BUFFERS; the fused kernels one or two more
    // (FUSED_STORAGE_BUFFERS), asked for where the adapter has them.
    field!(
        max_storage_buffers_per_shader_stage,
        "storage buffers per shader stage",
        MOST_STORAGE_BUFFERS,
        Ask::Adapter {
            cap: FUSED_STORAGE_BUFFERS
        }
    ),
    // A data set is one binding where the adapter allows it (else up to IMAGE_BINDINGS).
    field!(
        max_storage_buffer_binding_size,
        "bytes per storage binding",
        1u64 << 24,
        Ask::Adapter {
            cap: MAX_BINDING_BYTES
        }
    ),
    field!(
        max_buffer_size,
        "bytes per buffer",
        1u64 << 24,
        Ask::Adapter { cap: u64::MAX }
    ),
    // The tiled multiply needs its tiles; the fused small-network kernels keep a tile of a
    // whole network there, as much as the adapter has (src/gpu/fused/shape.rs decides from the
    // device's value whether a network fits).
    field!(
        max_compute_workgroup_storage_size,
        "bytes of workgroup memory",
        TILED_WORKGROUP_BYTES,
        Ask::Adapter { cap: u64::MAX }
    ),
    field!(
        max_compute_invocations_per_workgroup,
        "invocations per workgroup",
        ROW_GROUP,
        Ask::Need
    ),
    field!(
        max_compute_workgroup_size_x,
        "invocations along x",
        ROW_GROUP,
        Ask::Need
    ),
    field!(
        max_compute_workgroup_size_y,
        "invocations along y",
        TILED_SIDE,
        Ask::Need
    ),
    // The batch's rows are dispatched along y (gather.wgsl): the largest batch follows.
    field!(
        max_compute_workgroups_per_dimension,
        "workgroups per dimension",
        1024u64,
        Ask::Adapter { cap: u64::MAX }
    ),
    // Group 0 (the step's records and the dispatch's chunk) and group 1 (the kernel's buffers).
    field!(max_bind_groups, "bind groups", 2u64, Ask::Need),
    // The chunk (the fused kernels' chunk too).
    field!(
        max_dynamic_uniform_buffers_per_pipeline_layout,
        "dynamic uniform buffers",
        1u64,
        Ask::Need
    ),
    // The step's records, one per member.
    field!(
        max_dynamic_storage_buffers_per_pipeline_layout,
        "dynamic storage buffers",
        1u64,
        Ask::Need
    ),
    // The chunk and a kernel's dims.
    field!(
        max_uniform_buffers_per_shader_stage,
        "uniform buffers per shader stage",
        2u64,
        Ask::Need
    ),
    field!(
        max_bindings_per_bind_group,
        "bindings per bind group",
        1 + GATHER_STORAGE_BUFFERS,
        Ask::Need
    ),
];

/// A limit of the adapter below what gpu-mlp needs.
#[derive(Debug, PartialEq)]
pub(crate) struct Shortfall {
    pub name: &'static str,
    pub what: &'static str,
    pub offered: u64,
    pub need: u64,
}

/// The limits to request of an adapter that offers `adapter`: the downlevel defaults, each
/// [`USED`] limit raised as it asks, every field clamped to the adapter; or the first used
/// limit the adapter cannot meet.
pub(crate) fn device_limits(adapter: &wgpu::Limits) -> Result<wgpu::Limits, Shortfall> {
    let mut want = wgpu::Limits::downlevel_defaults();
    for u in &USED {
        let value = match u.ask {
            Ask::Need => (u.get)(&want).max(u.need),
            Ask::Adapter { cap } => (u.get)(adapter).min(cap),
        };
        (u.set)(&mut want, value);
    }
    let limits = want.or_worse_values_from(adapter);
    for u in &USED {
        let offered = (u.get)(&limits);
        if offered < u.need {
            return Err(Shortfall {
                name: u.name,
                what: u.what,
                offered,
                need: u.need,
            });
        }
    }
    Ok(limits)
}

/// "6 storage buffers per shader stage, ..." of the used limits of an opened device.
pub(crate) fn describe(limits: &wgpu::Limits) -> Vec<(&'static str, u64)> {
    USED.iter().map(|u| (u.name, (u.get)(limits))).collect()
}

/// Held against adapters described by hand (no GPU needed): the request never exceeds the
/// adapter in any field (wgpu would refuse it), raises what gpu-mlp uses, caps bindings at
/// 2³¹ bytes, and names the limit an adapter lacks.
#[cfg(test)]
mod tests {
    use super::*;

    fn within(request: &wgpu::Limits, adapter: &wgpu::Limits) -> Vec<String> {
        let mut over = Vec::new();
        request.check_limits_with_fail_fn(adapter, false, |name, r, a| {
            over.push(format!("{name}: {r} > {a}"))
        });
        over
    }

    /// Adapters as wgpu's GL backend, a Vulkan device at the spec's minimums (but for its
    /// storage buffers: the spec allows 4, too few for the gather, `a_missing_limit_is_named`),
    /// lavapipe, and Metal on a large GPU report them.
    fn adapters() -> Vec<(&'static str, wgpu::Limits)> {
        let gl = wgpu::Limits {
            max_inter_stage_shader_variables: 15,
            max_color_attachments: 4,
            max_storage_buffers_per_shader_stage: 8,
            ..wgpu::Limits::downlevel_defaults()
        };
        let vulkan_minimum = wgpu::Limits {
            max_texture_dimension_2d: 4096,
            max_compute_workgroup_storage_size: 16384,
            max_compute_invocations_per_workgroup: 128,
            max_compute_workgroup_size_x: 128,
            max_compute_workgroup_size_y: 128,
            max_compute_workgroup_size_z: 64,
            max_storage_buffer_binding_size: 1 << 27,
            max_uniform_buffer_binding_size: 16384,
            max_storage_buffers_per_shader_stage: 8,
            ..wgpu::Limits::downlevel_defaults()
        };
        let lavapipe = wgpu::Limits {
            max_storage_buffer_binding_size: 1 << 27,
            max_buffer_size: 1 << 31,
            max_compute_workgroup_storage_size: 32768,
            max_compute_invocations_per_workgroup: 1024,
            ..wgpu::Limits::default()
        };
        let metal = wgpu::Limits {
            max_storage_buffer_binding_size: 1 << 35,
            max_buffer_size: 1 << 35,
            max_compute_workgroup_storage_size: 32768,
            ..wgpu::Limits::default()
        };
        vec![
            ("gl", gl),
            ("vulkan minimum", vulkan_minimum),
            ("lavapipe", lavapipe),
            ("metal", metal),
        ]
    }

    #[test]
    fn the_request_fits_every_adapter_and_raises_what_is_used() {
        for (name, adapter) in adapters() {
            let request = device_limits(&adapter).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(within(&request, &adapter), Vec::<String>::new(), "{name}");
            for u in &USED {
                assert!((u.get)(&request) >= u.need, "{name}: {}", u.name);
            }
            assert_eq!(
                request.max_storage_buffer_binding_size,
                adapter
                    .max_storage_buffer_binding_size
                    .min(MAX_BINDING_BYTES),
                "{name}"
            );
            assert_eq!(request.max_buffer_size, adapter.max_buffer_size, "{name}");
        }
    }

    #[test]
    fn bindings_are_capped_at_two_gibibytes() {
        let metal = &adapters()[3].1;
        assert_eq!(
            device_limits(metal)
                .unwrap()
                .max_storage_buffer_binding_size,
            1 << 31
        );
    }

    /// The full WebGPU defaults (what `open` asked for before) exceed the GL adapter in its
    /// inter-stage variables: the request that replaced them does not.
    #[test]
    fn the_webgpu_defaults_would_have_been_refused() {
        let gl = &adapters()[0].1;
        assert!(!within(&wgpu::Limits::default(), gl).is_empty());
        assert!(within(&device_limits(gl).unwrap(), gl).is_empty());
    }

    #[test]
    fn a_missing_limit_is_named() {
        let small = wgpu::Limits {
            max_storage_buffers_per_shader_stage: 4,
            ..wgpu::Limits::downlevel_defaults()
        };
        assert_eq!(
            device_limits(&small),
            Err(Shortfall {
                name: "max_storage_buffers_per_shader_stage",
                what: "storage buffers per shader stage",
                offered: 4,
                need: 7
            })
        );
    }

    /// The needs cover every pipeline: no pipeline binds more storage buffers, uniform
    /// buffers or bindings than [`USED`] says, counting group 0 (the step's records, a storage
    /// buffer, and the chunk, a uniform one) beside each pipeline's group 1.
    #[test]
    fn the_needs_cover_every_pipeline() {
        use crate::gpu::kernels::{pipeline_specs, Slot};
        let need = |name: &str| USED.iter().find(|u| u.name == name).unwrap().need;
        for spec in pipeline_specs() {
            let uniform = |(_, s): &&(u32, Slot)| matches!(s, Slot::Uniform);
            let storage = spec.slots.iter().filter(|s| !uniform(s)).count() as u64 + 1;
            let uniforms = spec.slots.iter().filter(uniform).count() as u64 + 1;
            assert!(
                storage <= need("max_storage_buffers_per_shader_stage"),
                "{}",
                spec.name
            );
            assert!(
                uniforms <= need("max_uniform_buffers_per_shader_stage"),
                "{}",
                spec.name
            );
            assert!(
                spec.slots.len() as u64 <= need("max_bindings_per_bind_group"),
                "{}",
                spec.name
            );
        }
    }
}
