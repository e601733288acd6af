use super::*;
use crate::gpu::kernels::pipeline_sources;

fn module(name: &str, source: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name} does not validate: {e:?}"));
    module
}

/// (size, member offsets) of the WGSL struct `name`, if the module declares it.
fn wgsl_struct(module: &naga::Module, name: &str) -> Option<(u32, Vec<(String, u32)>)> {
    module.types.iter().find_map(|(_, ty)| match &ty.inner {
        naga::TypeInner::Struct { members, span } if ty.name.as_deref() == Some(name) => Some((
            *span,
            members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                .collect(),
        )),
        _ => None,
    })
}

/// A host struct as the shaders must see it: WGSL name, size, (member, offset) pairs.
struct Host {
    wgsl: &'static str,
    size: usize,
    members: Vec<(&'static str, usize)>,
}

fn host_structs() -> [Host; 6] {
    let host = |wgsl, size, members| Host {
        wgsl,
        size,
        members,
    };
    [
        host("Step", size_of::<StepRecord>(), StepRecord::members()),
        host("Chunk", size_of::<ChunkRecord>(), ChunkRecord::members()),
        host("Dims", size_of::<MatDims>(), MatDims::members()),
        host("OutputDims", size_of::<OutputDims>(), OutputDims::members()),
        host("GatherDims", size_of::<GatherDims>(), GatherDims::members()),
        host("FusedChunk", size_of::<FusedChunk>(), FusedChunk::members()),
    ]
}

/// Every way `module`'s copies of the host structs differ from the host's, and the names
/// of the structs it declares.
fn disagreements(module: &naga::Module) -> (Vec<String>, Vec<&'static str>) {
    let mut found = Vec::new();
    let mut seen = Vec::new();
    for h in host_structs() {
        let Some((span, members)) = wgsl_struct(module, h.wgsl) else {
            continue;
        };
        seen.push(h.wgsl);
        if span as usize != h.size {
            found.push(format!("{} is {span} bytes, the host's {}", h.wgsl, h.size));
        }
        for (member, offset) in &h.members {
            let at = members.iter().find(|(n, _)| n == member).map(|(_, o)| *o);
            if at != Some(*offset as u32) {
                found.push(format!(
                    "{}.{member} is at {at:?}, the host's at {offset}",
                    h.wgsl
                ));
            }
        }
    }
    (found, seen)
}

#[test]
fn every_pipeline_validates_and_agrees_with_the_host_structs() {
    let mut seen = std::collections::BTreeSet::new();
    let sources = pipeline_sources();
    assert!(
        sources.len() >= 10,
        "expected every pipeline, got {}",
        sources.len()
    );
    for (name, source) in &sources {
        let (found, structs) = disagreements(&module(name, source));
        assert!(found.is_empty(), "{name}: {found:?}");
        seen.extend(structs);
    }
    assert_eq!(seen.len(), host_structs().len(), "structs found: {seen:?}");
}

/// A disagreement is caught: a `Step` with two members swapped fails the comparison.
#[test]
fn the_layout_check_can_fail() {
    let step = crate::gpu::kernels::STEP_SOURCE;
    let swapped = step.replace(
        "rows: u32,\n    order_offset: u32,",
        "order_offset: u32,\n    rows: u32,",
    );
    assert_ne!(swapped, step, "the swap applies");
    let (found, _) = disagreements(&module("swapped step.wgsl", &swapped));
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn no_shader_defines_a_host_constant() {
    let files = crate::gpu::kernels::SHADER_FILES
        .iter()
        .chain(crate::gpu::fused::SHADER_FILES.iter());
    for (file, text) in files {
        for name in [
            "TILE",
            "TILE_K",
            "TILED_SIDE",
            "BLOCK",
            "BLOCK_K4",
            "BLOCKED_GROUP",
            "ROW_GROUP",
            "LANES",
            "LANE_COLS",
            "LANE_COLS_K4",
            "GATHER_GROUP",
            "IMAGE_BINDINGS",
            "FUSED_MAX_LAYERS",
            "FUSED_LAYERS",
            "FUSED_BATCH",
            "FUSED_WORDS",
            "FUSED_ACTS",
            "FUSED_GROUP",
            "FUSED_MEMBER_FLOATS",
            "FUSED_CLASSES",
        ] {
            for keyword in ["const", "override", "let", "var"] {
                let decl = format!("{keyword} {name}:");
                let decl_eq = format!("{keyword} {name} =");
                assert!(
                    !text.contains(&decl) && !text.contains(&decl_eq),
                    "{file} declares {name}; it comes from src/gpu/layout.rs"
                );
            }
        }
    }
}
