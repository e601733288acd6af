//! `gpu-mlp predict`: classify PNG/JPEG images after making them look like MNIST digits.

use crate::checkpoint::Checkpoint;
use crate::cli::PredictArgs;
use crate::error::{Error, Result};
use crate::predict::{classify, mnist_style, Gray, SIDE};
use serde_json::json;

pub fn run(args: &PredictArgs) -> Result<()> {
    let ck = Checkpoint::load(&args.model)?;
    if ck.network.layers[0] != SIDE * SIDE {
        return Err(Error::bad_checkpoint(
            &args.model,
            format!(
                "the network takes {} inputs; predict makes {SIDE}x{SIDE} = {} pixel images",
                ck.network.layers[0],
                SIDE * SIDE
            ),
        ));
    }
    let prepared = args
        .images
        .iter()
        .map(|path| mnist_style(&Gray::open(path)?, path))
        .collect::<Result<Vec<_>>>()?;
    if let Some(dir) = &args.save_preprocessed {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for (path, p) in args.images.iter().zip(&prepared) {
            let name = path
                .file_stem()
                .map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
            let out = dir.join(format!("{name}.28x28.png"));
            let rgb: Vec<u8> = p.pixels.iter().flat_map(|&v| [v, v, v]).collect();
            crate::render::write_png(&out, &rgb, (SIDE as u32, SIDE as u32))?;
        }
    }
    let pixels: Vec<Vec<u8>> = prepared.iter().map(|p| p.pixels.clone()).collect();
    let predictions = classify(&ck, &pixels)?;
    for ((path, p), pred) in args.images.iter().zip(&prepared).zip(&predictions) {
        if args.json {
            let line = json!({
                "image": path.display().to_string(),
                "class": pred.class,
                "probability": pred.probabilities[pred.class],
                "probabilities": pred.probabilities,
                "outputs": pred.outputs,
                "output_activation": ck.network.output,
                "inverted": p.inverted,
            });
            println!("{line}");
        } else {
            let all: Vec<String> = pred
                .probabilities
                .iter()
                .enumerate()
                .map(|(c, q)| format!("{c}: {q:.3}"))
                .collect();
            println!(
                "{}: {} (probability {:.3})   [{}]",
                path.display(),
                pred.class,
                pred.probabilities[pred.class],
                all.join(", ")
            );
        }
    }
    Ok(())
}
