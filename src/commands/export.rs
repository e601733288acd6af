//! `gpu-mlp export --onnx PATH`: a saved model as ONNX.

use crate::checkpoint::Checkpoint;
use crate::cli::ExportArgs;
use crate::error::Result;

pub fn run(args: &ExportArgs) -> Result<()> {
    crate::outputs::Outputs::new()
        .reads("--model", Some(&args.model))
        .writes("--onnx", Some(&args.onnx))
        .check()?;
    let ck = Checkpoint::load(&args.model)?;
    crate::export::onnx::write(&ck, &args.onnx)?;
    println!(
        "wrote {} ({} network, input \"input\" [N, {}] of pixel/255, output \"output\" [N, {}])",
        args.onnx.display(),
        ck.network.layers_string(),
        ck.network.layers[0],
        ck.network.layers.last().unwrap_or(&0)
    );
    Ok(())
}
