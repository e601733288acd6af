//! `gpu-mlp predict`: classify PNG/JPEG images after making them look like MNIST digits.

use crate::checkpoint::Checkpoint;
use crate::cli::PredictArgs;
use crate::error::{Error, Result};
use crate::outputs::Outputs;
use crate::predict::{classify, mnist_style, Gray, SIDE};
use serde_json::json;
use std::io::Write;
use std::path::Path;

/// A prediction whose class has a probability below this is flagged as uncertain: no class
/// has the majority of the network's belief.
pub const UNCERTAIN_BELOW: f64 = 0.5;

pub fn run(args: &PredictArgs) -> Result<()> {
    let preprocessed = |path: &Path| {
        let dir = args.save_preprocessed.as_deref()?;
        let name = path
            .file_stem()
            .map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
        Some(dir.join(format!("{name}.28x28.png")))
    };
    let mut outputs = Outputs::new()
        .reads("--model", Some(&args.model))
        .fills_dir("--save-preprocessed", args.save_preprocessed.as_deref());
    for path in &args.images {
        outputs = outputs.reads(&format!("IMAGE {}", path.display()), Some(path));
    }
    for path in &args.images {
        let flag = format!("--save-preprocessed (for {})", path.display());
        outputs = outputs.writes(&flag, preprocessed(path).as_deref());
    }
    outputs.check()?;
    let ck = Checkpoint::load(&args.model)?;
    if let Some(note) = super::model_data::predict_note(&args.model, ck.data.as_ref()) {
        eprintln!("{note}");
    }
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
    // Each image on its own: one that cannot be read is reported in its place, and the others
    // are still classified (all together, as one batch).
    let mut prepared: Vec<Result<_>> = args
        .images
        .iter()
        .map(|path| mnist_style(&Gray::open(path)?, path))
        .collect();
    if prepared.len() == 1 && prepared[0].is_err() {
        return prepared.remove(0).map(|_| ());
    }
    for (path, p) in args.images.iter().zip(&prepared) {
        if let (Some(out), Ok(p)) = (preprocessed(path), p) {
            let rgb: Vec<u8> = p.pixels.iter().flat_map(|&v| [v, v, v]).collect();
            crate::render::write_png(&out, &rgb, (SIDE as u32, SIDE as u32))?;
        }
    }
    let pixels: Vec<Vec<u8>> = prepared
        .iter()
        .flatten()
        .map(|p| p.pixels.clone())
        .collect();
    let mut predictions = classify(&ck, &pixels)?.into_iter();
    let mut failed = Vec::new();
    for (path, p) in args.images.iter().zip(&prepared) {
        let p = match p {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                failed.push(path);
                continue;
            }
        };
        let Some(pred) = predictions.next() else {
            return Err(Error::internal("fewer predictions than images"));
        };
        let probability = pred.probabilities[pred.class];
        let uncertain = probability < UNCERTAIN_BELOW;
        if args.json {
            let line = json!({
                "image": path.display().to_string(),
                "class": pred.class,
                "probability": probability,
                "uncertain": uncertain,
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
            let flag = match uncertain {
                true => format!(", uncertain: below {UNCERTAIN_BELOW}"),
                false => String::new(),
            };
            println!(
                "{}: {} (probability {probability:.3}{flag})   [{}]",
                path.display(),
                pred.class,
                all.join(", ")
            );
        }
        // Each result reaches the terminal before the next image's error.
        let _ = std::io::stdout().flush();
    }
    match failed.first() {
        None => Ok(()),
        Some(first) => Err(Error::bad_data(
            first.as_path(),
            format!(
                "{} of {} images could not be classified (each error is above)",
                failed.len(),
                args.images.len()
            ),
        )),
    }
}
