//! `gpu-mlp show-weights`: the first layer's weights, one image per hidden unit (red positive,
//! blue negative, white zero; each unit on its own scale).

use crate::checkpoint::Checkpoint;
use crate::cli::ShowWeightsArgs;
use crate::error::{Error, Result};
use crate::render::grid::{self, GridLayout, Tile};

pub fn run(args: &ShowWeightsArgs) -> Result<()> {
    // Without -o the image goes beside the model: m.safetensors → m-weights.png.
    let outputs = crate::outputs::Outputs::new().reads("--model", Some(&args.model));
    let (outputs, output) = match &args.output {
        Some(o) => (outputs.writes("--output", Some(o)), o.clone()),
        None => {
            let stem = args
                .model
                .file_stem()
                .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
            let default = args.model.with_file_name(format!("{stem}-weights.png"));
            (outputs.writes_default("-o/--output", &default), default)
        }
    };
    outputs.check()?;
    let ck = Checkpoint::load(&args.model)?;
    let first = ck
        .params
        .layers
        .first()
        .ok_or_else(|| Error::bad_checkpoint(&args.model, "holds no layers"))?;
    let side = (first.inputs as f64).sqrt().round() as usize;
    if side * side != first.inputs {
        return Err(Error::bad_checkpoint(
            &args.model,
            format!(
                "the first layer has {} inputs, not a square image's pixel count",
                first.inputs
            ),
        ));
    }
    if args.max_units == 0 {
        return Err(Error::config("--max-units must be at least 1"));
    }
    let units = first.outputs.min(args.max_units);
    let tiles: Vec<Tile> = (0..units)
        .map(|u| {
            let row = &first.weight[u * first.inputs..(u + 1) * first.inputs];
            Tile::from_signed(row, format!("unit {u}"))
        })
        .collect();
    let layout = GridLayout::for_tiles(tiles.len(), side as u32);
    let (rgb, size) = grid::render(&tiles, &layout)?;
    crate::render::write_png(&output, &rgb, size)?;
    println!(
        "wrote {units} of {} first-layer units ({side}x{side} each, red positive, blue negative) to {}",
        first.outputs,
        output.display()
    );
    Ok(())
}
